//! The network's mathematics: a finite-difference check of every gradient, and sanity
//! properties of a freshly initialised and a trained network.

use mnist_mlp::nn::layers::Activation;
use mnist_mlp::nn::mlp::{Architecture, Inputs, Mlp, Params, Workspace, argmax};
use mnist_mlp::nn::optim::{Optimizer, OptimizerConfig};
use mnist_mlp::nn::rng::SeededRng;
use mnist_mlp::nn::sparse::SparseRows;
use ndarray::Array2;

fn random_inputs(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = SeededRng::new(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.uniform())
}

/// What the loss includes beyond plain cross-entropy.
#[derive(Clone, Copy)]
struct Regularization {
    /// A fixed dropout mask (units with (row + column) % 3 == 0 dropped, the others scaled
    /// by 1.5), instead of none.
    dropout: bool,
    label_smoothing: f64,
}

const PLAIN: Regularization = Regularization {
    dropout: false,
    label_smoothing: 0.0,
};

fn workspace(arch: &Architecture, rows: usize, reg: Regularization) -> Workspace<f64> {
    let dropout = if reg.dropout { 1.0 / 3.0 } else { 0.0 };
    let mut ws = Workspace::for_training(arch, rows, dropout, reg.label_smoothing);
    for mask in ws.masks_mut() {
        mask.indexed_iter_mut()
            .for_each(|((r, c), m)| *m = if (r + c) % 3 == 0 { 0.0 } else { 1.5 });
    }
    ws
}

/// Mean loss of `mlp` on one batch.
fn mean_loss(mlp: &Mlp<f64>, x: Inputs<f64>, labels: &[u8], reg: Regularization) -> f64 {
    let mut ws = workspace(&mlp.arch, x.rows(), reg);
    mlp.forward(&mut ws, x, labels) / x.rows() as f64
}

/// Compares the analytic gradient of every entry of every tensor (weights and biases of
/// every layer) with the centred difference (f(θ+h) − f(θ−h)) / 2h, by relative error.
fn gradient_check(hidden: Vec<usize>, activation: Activation) {
    gradient_check_with(hidden, activation, PLAIN);
}

fn gradient_check_with(hidden: Vec<usize>, activation: Activation, reg: Regularization) {
    let x = random_inputs(3, 6, 2);
    gradient_check_on(hidden, activation, reg, Inputs::Dense(x.view()));
}

fn gradient_check_on(
    hidden: Vec<usize>,
    activation: Activation,
    reg: Regularization,
    x: Inputs<f64>,
) -> Params<f64> {
    let arch = Architecture {
        input_size: 6,
        hidden,
        num_classes: 4,
        activation,
    };
    let mut mlp = Mlp::<f64>::initial(arch.clone(), 11);
    // Non-zero biases, so that their gradients are exercised away from the initial state.
    let mut rng = SeededRng::new(5);
    for layer in &mut mlp.params.layers {
        layer.b.mapv_inplace(|_| 0.1 * rng.standard_normal());
    }
    let labels = [0u8, 3, 1];

    let mut grads = Params::zeros(&arch);
    let mut ws = workspace(&arch, 3, reg);
    mlp.loss_and_gradient(&mut ws, &mut grads, x, &labels, 3);
    let analytic: Vec<Vec<f64>> = grads.tensors().map(|t| t.to_vec()).collect();

    let h = 1e-5;
    let mut worst = 0.0f64;
    for (t, analytic_tensor) in analytic.iter().enumerate() {
        for (i, &a) in analytic_tensor.iter().enumerate() {
            let probe = |delta: f64| {
                let mut shifted = mlp.clone();
                shifted.params.tensors_mut().nth(t).unwrap()[i] += delta;
                mean_loss(&shifted, x, &labels, reg)
            };
            let numeric = (probe(h) - probe(-h)) / (2.0 * h);
            let scale = a.abs() + numeric.abs();
            let err = if scale < 1e-10 {
                0.0
            } else {
                (a - numeric).abs() / scale
            };
            assert!(
                err < 1e-6,
                "{} {:?}: tensor {t} entry {i}: analytic {a:e}, numeric {numeric:e}, rel. error {err:e}",
                arch.describe(),
                arch.hidden
            );
            worst = worst.max(err);
        }
    }
    // Every tensor took part: no gradient is identically zero.
    for (t, g) in analytic.iter().enumerate() {
        assert!(
            g.iter().any(|v| v.abs() > 1e-8),
            "tensor {t} has an all-zero gradient"
        );
    }
    eprintln!("{}: worst relative error {worst:e}", arch.describe());
    grads
}

#[test]
fn gradients_one_hidden_layer_relu() {
    gradient_check(vec![5], Activation::Relu);
}

#[test]
fn gradients_one_hidden_layer_tanh() {
    gradient_check(vec![5], Activation::Tanh);
}

#[test]
fn gradients_one_hidden_layer_sigmoid() {
    gradient_check(vec![5], Activation::Sigmoid);
}

#[test]
fn gradients_two_hidden_layers_relu() {
    gradient_check(vec![5, 3], Activation::Relu);
}

#[test]
fn gradients_two_hidden_layers_tanh() {
    gradient_check(vec![5, 3], Activation::Tanh);
}

#[test]
fn gradients_two_hidden_layers_sigmoid() {
    gradient_check(vec![5, 3], Activation::Sigmoid);
}

#[test]
fn gradients_with_a_fixed_dropout_mask() {
    let reg = Regularization {
        dropout: true,
        label_smoothing: 0.0,
    };
    gradient_check_with(vec![5, 4], Activation::Tanh, reg);
    gradient_check_with(vec![5, 4], Activation::Relu, reg);
}

#[test]
fn gradients_with_label_smoothing() {
    let reg = Regularization {
        dropout: false,
        label_smoothing: 0.1,
    };
    gradient_check_with(vec![5], Activation::Sigmoid, reg);
    gradient_check_with(
        vec![5, 3],
        Activation::Relu,
        Regularization {
            dropout: true,
            ..reg
        },
    );
}

/// The first layer's sparse path (background inputs skipped, `offset` folded in as a
/// rank-one correction): its gradients against finite differences of its own loss, and
/// against the dense path's gradients on the same inputs.
#[test]
fn gradients_on_sparse_inputs() {
    for offset in [0.0, -0.7] {
        let mut rng = SeededRng::new(3);
        let x = Array2::from_shape_fn((3, 6), |(r, c)| match (r + c) % 3 {
            0 => rng.uniform(),
            _ => offset,
        });
        let sparse = SparseRows::from_dense(x.view(), offset);
        assert_eq!(sparse.entries(), 6, "a third of the inputs are entries");
        for (hidden, activation) in [(vec![5], Activation::Relu), (vec![5, 3], Activation::Tanh)] {
            let from_sparse =
                gradient_check_on(hidden.clone(), activation, PLAIN, Inputs::Sparse(&sparse));
            let from_dense = gradient_check_on(hidden, activation, PLAIN, Inputs::Dense(x.view()));
            for (a, b) in from_sparse
                .tensors()
                .flatten()
                .zip(from_dense.tensors().flatten())
            {
                approx::assert_abs_diff_eq!(a, b, epsilon = 1e-12);
            }
        }
    }
}

#[test]
fn gradients_overwrite_what_the_buffer_held() {
    let arch = Architecture {
        input_size: 6,
        hidden: vec![5],
        num_classes: 4,
        activation: Activation::Tanh,
    };
    let mlp = Mlp::<f64>::initial(arch.clone(), 1);
    let x = random_inputs(2, 6, 9);
    let mut fresh = Params::zeros(&arch);
    let mut reused = Params::zeros(&arch);
    reused.tensors_mut().flatten().for_each(|g| *g = f64::NAN);
    let mut ws = Workspace::new(&arch, 2);
    mlp.loss_and_gradient(&mut ws, &mut fresh, x.view(), &[1, 2], 2);
    mlp.loss_and_gradient(&mut ws, &mut reused, x.view(), &[1, 2], 2);
    mlp.loss_and_gradient(&mut ws, &mut reused, x.view(), &[1, 2], 2);
    assert_eq!(fresh, reused);
}

/// MNIST-like inputs: mostly zero, some ink in [0, 1].
fn mnist_like_inputs(rows: usize, seed: u64) -> Array2<f32> {
    let mut rng = SeededRng::new(seed);
    Array2::from_shape_fn((rows, 784), |_| {
        if rng.uniform() < 0.8 {
            0.0
        } else {
            rng.uniform() as f32
        }
    })
}

#[test]
fn initial_loss_is_about_ln_10() {
    for activation in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
        let arch = Architecture {
            input_size: 784,
            hidden: vec![256],
            num_classes: 10,
            activation,
        };
        let mlp = Mlp::<f32>::initial(arch.clone(), 42);
        let x = mnist_like_inputs(500, 3);
        let labels: Vec<u8> = (0..500).map(|i| (i % 10) as u8).collect();
        let mut ws = Workspace::new(&arch, 500);
        let loss = mlp.forward(&mut ws, x.view(), &labels) / 500.0;
        let ln10 = 10f32.ln();
        // Sigmoid outputs are not centred (mean ≈ 0.5), which spreads the initial logits
        // more; the others start within a few percent of a uniform guess.
        let tolerance = if activation == Activation::Sigmoid {
            0.4
        } else {
            0.15
        };
        assert!(
            (loss - ln10).abs() < tolerance,
            "{activation:?}: initial loss {loss}, ln 10 = {ln10}"
        );
    }
}

#[test]
fn overfits_twenty_samples_to_full_accuracy() {
    let arch = Architecture {
        input_size: 784,
        hidden: vec![64],
        num_classes: 10,
        activation: Activation::Relu,
    };
    let mut mlp = Mlp::<f32>::initial(arch.clone(), 7);
    let x = mnist_like_inputs(20, 4);
    let labels: Vec<u8> = (0..20).map(|i| ((i * 7) % 10) as u8).collect();
    let mut ws = Workspace::new(&arch, 20);
    let mut grads = Params::zeros(&arch);
    let mut sgd = Optimizer::new(&arch, OptimizerConfig::sgd(0.9));
    let mut loss = f32::INFINITY;
    for _ in 0..200 {
        loss = mlp.loss_and_gradient(&mut ws, &mut grads, x.view(), &labels, 20) / 20.0;
        sgd.step(0.1, &mut mlp.params, &grads);
    }
    mlp.forward(&mut ws, x.view(), &labels);
    let correct = ws
        .probs(20)
        .rows()
        .into_iter()
        .map(argmax)
        .zip(&labels)
        .filter(|&(p, &l)| p == l as usize)
        .count();
    assert_eq!(correct, 20, "final loss {loss}");
    assert!(loss < 0.01, "loss {loss}");
}

#[test]
fn shard_gradients_add_up_to_the_whole_batch_gradient() {
    let arch = Architecture {
        input_size: 6,
        hidden: vec![5, 4],
        num_classes: 3,
        activation: Activation::Tanh,
    };
    let mlp = Mlp::<f64>::initial(arch.clone(), 3);
    let x = random_inputs(7, 6, 4);
    let labels = [0u8, 1, 2, 2, 1, 0, 1];
    let mut whole = Params::zeros(&arch);
    let mut ws = Workspace::new(&arch, 7);
    let loss = mlp.loss_and_gradient(&mut ws, &mut whole, x.view(), &labels, 7);
    let mut shards = Params::zeros(&arch);
    let mut shard_loss = 0.0;
    for rows in [0..3, 3..7] {
        let part = x.slice(ndarray::s![rows.clone(), ..]);
        let mut grads = Params::zeros(&arch);
        shard_loss += mlp.loss_and_gradient(&mut ws, &mut grads, part, &labels[rows], 7);
        for (sum, g) in shards.tensors_mut().zip(grads.tensors()) {
            sum.iter_mut().zip(g).for_each(|(s, g)| *s += g);
        }
    }
    approx::assert_abs_diff_eq!(loss, shard_loss, epsilon = 1e-12);
    for (a, b) in whole.tensors().zip(shards.tensors()) {
        for (a, b) in a.iter().zip(b) {
            approx::assert_abs_diff_eq!(a, b, epsilon = 1e-12);
        }
    }
}
