//! Kernel benchmarks: one training step, one epoch, evaluation, IDX decoding.
//! Throughputs are given in FLOPs where it makes sense: criterion's "Gelem/s" reads as
//! GFLOP/s (executed FLOPs: forward, weight gradients, and input gradients of every layer
//! but the first).

// The integration tests' helpers, for their synthetic data and `Quiet`; the rest goes unused.
#[allow(dead_code)]
#[path = "../tests/it/common/mod.rs"]
mod common;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mnist_mlp::data::augment::Transform;
use mnist_mlp::data::idx::{read_idx_images, write_idx_images};
use mnist_mlp::data::images::LabeledImages;
use mnist_mlp::data::input::{BatchBuilder, BatchForm, InputScaling};
use mnist_mlp::model::Classifier;
use mnist_mlp::nn::layers::{Activation, dense_forward, dense_parameter_gradient};
use mnist_mlp::nn::mlp::{Architecture, Mlp, Params, Workspace};
use mnist_mlp::nn::optim::{Optimizer, OptimizerConfig};
use mnist_mlp::nn::rng::SeededRng;
use mnist_mlp::nn::sparse::{SparseRows, sparse_forward, sparse_parameter_gradient};
use mnist_mlp::train::config::TrainConfig;
use mnist_mlp::train::train;
use ndarray::{Array1, Array2};

const HIDDEN: usize = 256;
const BATCH: usize = 128;

fn arch() -> Architecture {
    Architecture {
        input_size: 784,
        hidden: vec![HIDDEN],
        num_classes: 10,
        activation: Activation::Relu,
    }
}

/// Multiply-adds of one forward pass per sample: Σ fan_in · fan_out.
fn products() -> usize {
    arch().layer_sizes().windows(2).map(|w| w[0] * w[1]).sum()
}

/// Executed FLOPs of a forward pass over `rows` samples.
fn forward_flops(rows: usize) -> u64 {
    (2 * rows * products()) as u64
}

/// Executed FLOPs of one training step on `rows` samples: forward, every weight gradient,
/// every input gradient but the first layer's.
fn step_flops(rows: usize) -> u64 {
    (2 * rows * (3 * products() - 784 * HIDDEN)) as u64
}

fn synthetic(count: usize, seed: u64) -> LabeledImages {
    let (images, labels) = common::synthetic_images(count, 28, seed);
    LabeledImages { images, labels }
}

fn training_step(c: &mut Criterion) {
    let data = synthetic(BATCH, 1);
    let mut mlp = Mlp::<f32>::initial(arch(), 1);
    let mut builder = BatchBuilder::new(&InputScaling::UnitInterval, BatchForm::Dense, 784, BATCH);
    let mut ws = Workspace::new(&arch(), BATCH);
    let mut grads = Params::zeros(&arch());
    let mut sgd = Optimizer::new(&arch(), OptimizerConfig::sgd(0.9));
    let mut group = c.benchmark_group("train_step 784-256-10, batch 128, one thread");
    group.throughput(Throughput::Elements(step_flops(BATCH)));
    group.bench_function("forward + backward + SGD", |b| {
        b.iter(|| {
            let (x, labels) = builder.fill(&data, (0..BATCH).map(|i| (i, Transform::NONE)));
            mlp.loss_and_gradient(&mut ws, &mut grads, x, labels, BATCH);
            sgd.step(0.01, &mut mlp.params, &grads);
        })
    });
    group.finish();
}

/// The first layer's two products on one batch, forward and weight gradient, dense against
/// sparse at several densities (the fraction of inputs away from the background): where
/// the sparse products stop paying is where `BatchForm::for_images` stops choosing them.
fn first_layer(c: &mut Criterion) {
    let mut rng = SeededRng::new(8);
    let w = Array2::from_shape_fn((784, HIDDEN), |_| rng.standard_normal() as f32 * 0.05);
    let b = Array1::<f32>::zeros(HIDDEN);
    let delta = Array2::from_shape_fn((BATCH, HIDDEN), |_| rng.standard_normal() as f32);
    let (mut out, mut dw, mut db) = (
        Array2::zeros((BATCH, HIDDEN)),
        Array2::zeros((784, HIDDEN)),
        Array1::zeros(HIDDEN),
    );
    let mut start = Vec::new();
    let mut group = c.benchmark_group("first layer 784-256, batch 128, one thread");
    group.throughput(Throughput::Elements((4 * BATCH * 784 * HIDDEN) as u64));
    for density in [0.05, 0.1, 0.2, 0.35, 0.5, 0.7] {
        let x = Array2::from_shape_fn((BATCH, 784), |_| {
            if rng.uniform() < density {
                rng.uniform() as f32
            } else {
                0.0
            }
        });
        let sparse = SparseRows::from_dense(x.view(), 0.0);
        group.bench_function(format!("sparse, density {density}"), |bench| {
            bench.iter(|| {
                sparse_forward(out.view_mut(), &sparse, w.view(), b.view(), &mut start);
                sparse_parameter_gradient(dw.view_mut(), db.view_mut(), delta.view(), &sparse);
            })
        });
        if density == 0.05 {
            group.bench_function("dense, any density", |bench| {
                bench.iter(|| {
                    dense_forward(out.view_mut(), x.view(), w.view(), b.view());
                    dense_parameter_gradient(dw.view_mut(), db.view_mut(), delta.view(), x.view());
                })
            });
        }
    }
    group.finish();
}

fn one_epoch(c: &mut Criterion) {
    let (train_set, test_set) = (synthetic(10_000, 2), synthetic(1_000, 3));
    let config = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    let mut group = c.benchmark_group("epoch on 10,000 synthetic images, with evaluation");
    group.sample_size(10);
    // Training steps, then a forward pass over both sets.
    group.throughput(Throughput::Elements(
        step_flops(10_000) + forward_flops(11_000),
    ));
    group.bench_function("train 1 epoch, all threads", |b| {
        b.iter(|| train(&config, &train_set, &test_set, 10, &mut common::Quiet).unwrap())
    });
    group.finish();
}

fn evaluation(c: &mut Criterion) {
    let data = synthetic(10_000, 4);
    let classifier = Classifier {
        mlp: Mlp::initial(arch(), 5),
        input_scaling: InputScaling::UnitInterval,
    };
    let mut group = c.benchmark_group("evaluate 10,000 images");
    group.throughput(Throughput::Elements(forward_flops(10_000)));
    group.bench_function("forward, all threads", |b| {
        b.iter(|| classifier.evaluate(&data))
    });
    group.finish();
}

fn idx_decode(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic(10_000, 6);
    let (gz, raw) = (dir.path().join("images.gz"), dir.path().join("images.raw"));
    write_idx_images(&gz, &data.images, true).unwrap();
    write_idx_images(&raw, &data.images, false).unwrap();
    let mut group = c.benchmark_group("IDX decode, 10,000 images of 28x28");
    group.throughput(Throughput::Bytes(data.images.pixels.len() as u64));
    for (name, path) in [("gzip", &gz), ("raw", &raw)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || (),
                |_| read_idx_images(path).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    training_step,
    first_layer,
    one_epoch,
    evaluation,
    idx_decode
);
criterion_main!(benches);
