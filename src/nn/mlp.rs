//! The network: its architecture, its parameters (and gradients, of the same type), and the
//! forward and backward passes through all layers.
//!
//! Dimension key as in `layers`: B = batch, I/O = a layer's inputs/outputs, C = classes.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Zip, s};
use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::nn::layers::{
    Activation, dense_backward, dense_forward, dense_parameter_gradient,
    softmax_cross_entropy_backward, softmax_cross_entropy_forward,
};
use crate::nn::linalg::Real;
use crate::nn::rng::SeededRng;
use crate::nn::sparse::{SparseRows, sparse_forward, sparse_parameter_gradient};

/// The shape of an MLP: input → hidden layers (with one activation) → class logits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    pub input_size: usize,
    pub hidden: Vec<usize>,
    pub num_classes: usize,
    pub activation: Activation,
}

impl Architecture {
    /// [input, hidden…, classes]: layer l maps sizes[l] → sizes[l + 1].
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.input_size];
        sizes.extend(&self.hidden);
        sizes.push(self.num_classes);
        sizes
    }

    pub fn num_layers(&self) -> usize {
        self.hidden.len() + 1
    }

    pub fn parameter_count(&self) -> usize {
        self.layer_sizes()
            .windows(2)
            .map(|w| w[0] * w[1] + w[1])
            .sum()
    }

    /// "784-256-10 relu"
    pub fn describe(&self) -> String {
        let sizes: Vec<String> = self.layer_sizes().iter().map(|s| s.to_string()).collect();
        format!("{} {}", sizes.join("-"), self.activation.name())
    }
}

/// One dense layer's parameters — or their gradients, or optimizer state of the same shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense<T> {
    /// w[I,O]
    pub w: Array2<T>,
    /// b[O]
    pub b: Array1<T>,
}

/// All layers' parameters (or gradients, or optimizer state), first layer first.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<T> {
    pub layers: Vec<Dense<T>>,
}

impl<T: Real> Params<T> {
    pub fn zeros(arch: &Architecture) -> Self {
        let sizes = arch.layer_sizes();
        let layers = sizes
            .windows(2)
            .map(|io| Dense {
                w: Array2::zeros((io[0], io[1])),
                b: Array1::zeros(io[1]),
            })
            .collect();
        Params { layers }
    }

    /// Initial weights from the seeded generator, biases zero: He-normal
    /// (std √(2/I)) for ReLU, Xavier/Glorot-normal (std √(2/(I+O))) for tanh and sigmoid.
    pub fn initial(arch: &Architecture, seed: u64) -> Self {
        let mut params = Self::zeros(arch);
        let mut rng = SeededRng::derive(seed, 0);
        for layer in &mut params.layers {
            let (fan_in, fan_out) = layer.w.dim();
            let std = match arch.activation {
                Activation::Relu => (2.0 / fan_in as f64).sqrt(),
                Activation::Tanh | Activation::Sigmoid => (2.0 / (fan_in + fan_out) as f64).sqrt(),
            };
            layer
                .w
                .mapv_inplace(|_| T::from_f64(std * rng.standard_normal()));
        }
        params
    }

    /// Every tensor as a flat slice, in a fixed order (w1, b1, w2, b2, …).
    pub fn tensors(&self) -> impl Iterator<Item = &[T]> {
        self.layers.iter().flat_map(|l| {
            [
                l.w.as_slice().expect("parameters are contiguous"),
                l.b.as_slice().expect("parameters are contiguous"),
            ]
        })
    }

    /// Every tensor as a flat mutable slice, in the order of [`Params::tensors`].
    pub fn tensors_mut(&mut self) -> impl Iterator<Item = &mut [T]> {
        self.layers.iter_mut().flat_map(|l| {
            [
                l.w.as_slice_mut().expect("parameters are contiguous"),
                l.b.as_slice_mut().expect("parameters are contiguous"),
            ]
        })
    }

    /// How many tensors [`Params::tensors`] yields (two per layer).
    pub fn tensor_count(&self) -> usize {
        2 * self.layers.len()
    }

    /// Tensor `t` in the order of [`Params::tensors`], as a flat slice.
    pub fn tensor(&self, t: usize) -> &[T] {
        let layer = &self.layers[t / 2];
        let tensor = if t.is_multiple_of(2) {
            layer.w.as_slice()
        } else {
            layer.b.as_slice()
        };
        tensor.expect("parameters are contiguous")
    }

    /// Tensor `t` in the order of [`Params::tensors`], as a flat mutable slice.
    pub fn tensor_mut(&mut self, t: usize) -> &mut [T] {
        let layer = &mut self.layers[t / 2];
        let tensor = if t.is_multiple_of(2) {
            layer.w.as_slice_mut()
        } else {
            layer.b.as_slice_mut()
        };
        tensor.expect("parameters are contiguous")
    }

    pub fn fill_zero(&mut self) {
        self.tensors_mut().for_each(|t| t.fill(T::zero()));
    }

    /// The same parameters in another float type (f32 ↔ f64).
    pub fn cast<U: Real>(&self) -> Params<U> {
        let convert = |v: &T| U::from_f64(v.to_f64().expect("floats convert to f64"));
        Params {
            layers: self
                .layers
                .iter()
                .map(|l| Dense {
                    w: l.w.map(convert),
                    b: l.b.map(convert),
                })
                .collect(),
        }
    }
}

/// Buffers for one batch's forward and backward pass, allocated once for the largest batch;
/// smaller batches use their first rows.
pub struct Workspace<T> {
    /// outputs[l][B, O_l]: layer l's activation; for the last layer, its logits.
    outputs: Vec<Array2<T>>,
    /// deltas[l][B, O_l]: ∂L/∂z_l, the gradient at layer l's pre-activation.
    deltas: Vec<Array2<T>>,
    /// probs[B, C]: the softmax of the logits.
    probs: Array2<T>,
    /// Inverted dropout on the hidden layers, when training with it: masks[l][B, O_l] holds
    /// 0 (dropped) or 1/(1 − p) (kept), and dropped[l] = outputs[l] ⊙ masks[l] feeds layer
    /// l + 1. Empty when off (evaluation).
    masks: Vec<Array2<T>>,
    dropped: Vec<Array2<T>>,
    /// ε of label smoothing: the target is (1 − ε)·onehot + ε/C.
    label_smoothing: T,
    /// Where the first layer's rows start on sparse inputs (see `sparse_forward`).
    first_layer_start: Vec<T>,
}

impl<T: Real> Workspace<T> {
    pub fn new(arch: &Architecture, max_batch: usize) -> Self {
        let sizes = arch.layer_sizes();
        let buffers = || {
            sizes[1..]
                .iter()
                .map(|&o| Array2::zeros((max_batch, o)))
                .collect()
        };
        Workspace {
            outputs: buffers(),
            deltas: buffers(),
            probs: Array2::zeros((max_batch, arch.num_classes)),
            masks: Vec::new(),
            dropped: Vec::new(),
            label_smoothing: T::zero(),
            first_layer_start: Vec::with_capacity(sizes[1]),
        }
    }

    /// A workspace for training with dropout (probability `dropout` of dropping each hidden
    /// unit; 0 for none) and label smoothing ε.
    pub fn for_training(
        arch: &Architecture,
        max_batch: usize,
        dropout: f64,
        label_smoothing: f64,
    ) -> Self {
        let mut ws = Self::new(arch, max_batch);
        if dropout > 0.0 {
            let hidden = || {
                arch.hidden
                    .iter()
                    .map(|&h| Array2::zeros((max_batch, h)))
                    .collect()
            };
            ws.masks = hidden();
            ws.dropped = hidden();
        }
        ws.label_smoothing = T::from_f64(label_smoothing);
        ws
    }

    /// Draws new dropout masks for the next `batch` rows: each unit dropped with probability
    /// p, the kept ones scaled by 1/(1 − p) so that expectations match evaluation.
    pub fn draw_dropout_masks(&mut self, rng: &mut SeededRng, p: f64, batch: usize) {
        let keep = T::from_f64(1.0 / (1.0 - p));
        for mask in &mut self.masks {
            mask.slice_mut(s![..batch, ..])
                .mapv_inplace(|_| if rng.uniform() < p { T::zero() } else { keep });
        }
    }

    /// Sets every dropout mask entry (for gradient checks with a fixed mask).
    pub fn masks_mut(&mut self) -> &mut [Array2<T>] {
        &mut self.masks
    }

    pub fn max_batch(&self) -> usize {
        self.probs.nrows()
    }

    /// ∂L/∂z₀[B, O₀], the gradient at the first layer's pre-activation, after a backward
    /// pass over a batch of `batch` rows.
    pub fn first_layer_delta(&self, batch: usize) -> ArrayView2<'_, T> {
        self.deltas[0].slice(s![..batch, ..])
    }

    /// logits[B, C] of the last forward pass over a batch of `batch` rows.
    pub fn logits(&self, batch: usize) -> ArrayView2<'_, T> {
        let last = self.outputs.len() - 1;
        self.outputs[last].slice(s![..batch, ..])
    }

    /// probs[B, C] of the last forward pass over a batch of `batch` rows.
    pub fn probs(&self, batch: usize) -> ArrayView2<'_, T> {
        self.probs.slice(s![..batch, ..])
    }
}

/// A batch of network inputs x[B, I]: a dense matrix, or sparse rows whose background is
/// skipped by the first layer (see `sparse`).
#[derive(Debug, Clone, Copy)]
pub enum Inputs<'a, T> {
    Dense(ArrayView2<'a, T>),
    Sparse(&'a SparseRows<T>),
}

impl<T: Real> Inputs<'_, T> {
    /// B, the number of samples.
    pub fn rows(&self) -> usize {
        match self {
            Inputs::Dense(x) => x.nrows(),
            Inputs::Sparse(x) => x.rows(),
        }
    }
}

impl<'a, T> From<ArrayView2<'a, T>> for Inputs<'a, T> {
    fn from(x: ArrayView2<'a, T>) -> Self {
        Inputs::Dense(x)
    }
}

impl<'a, T> From<&'a SparseRows<T>> for Inputs<'a, T> {
    fn from(x: &'a SparseRows<T>) -> Self {
        Inputs::Sparse(x)
    }
}

/// A multilayer perceptron: architecture and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp<T> {
    pub arch: Architecture,
    pub params: Params<T>,
}

impl<T: Real> Mlp<T> {
    pub fn initial(arch: Architecture, seed: u64) -> Self {
        let params = Params::initial(&arch, seed);
        Mlp { arch, params }
    }

    /// x[B, I] → ws.probs[B, C]; returns the summed cross-entropy over the batch (in f64).
    /// Panics if B exceeds the workspace (a programming error, not an input error).
    pub fn forward<'x>(
        &self,
        ws: &mut Workspace<T>,
        x: impl Into<Inputs<'x, T>>,
        labels: &[u8],
    ) -> f64
    where
        T: 'x,
    {
        let x = x.into();
        let batch = x.rows();
        assert!(batch <= ws.max_batch() && labels.len() == batch);
        let last = self.params.layers.len() - 1;
        for (l, layer) in self.params.layers.iter().enumerate() {
            let (before, rest) = ws.outputs.split_at_mut(l);
            let mut z = rest[0].slice_mut(s![..batch, ..]);
            let (w, b) = (layer.w.view(), layer.b.view());
            match (l, x) {
                (0, Inputs::Dense(x)) => dense_forward(z.view_mut(), x, w, b),
                (0, Inputs::Sparse(x)) => {
                    sparse_forward(z.view_mut(), x, w, b, &mut ws.first_layer_start)
                }
                _ => {
                    let input = match ws.masks.is_empty() {
                        true => &before[l - 1],
                        false => &ws.dropped[l - 1],
                    };
                    dense_forward(z.view_mut(), input.slice(s![..batch, ..]), w, b);
                }
            }
            if l < last {
                self.arch.activation.forward(z.view_mut());
                if let (Some(mask), Some(dropped)) = (ws.masks.get(l), ws.dropped.get_mut(l)) {
                    Zip::from(dropped.slice_mut(s![..batch, ..]))
                        .and(&z)
                        .and(mask.slice(s![..batch, ..]))
                        .for_each(|d, &a, &m| *d = a * m);
                }
            }
        }
        let logits = ws.outputs[last].slice(s![..batch, ..]);
        let probs = ws.probs.slice_mut(s![..batch, ..]);
        softmax_cross_entropy_forward(probs, logits, labels, ws.label_smoothing)
    }

    /// Forward and backward pass over one batch of B samples that is part (or all) of a
    /// mini-batch of `minibatch` samples: writes ∂(mean loss over the mini-batch)/∂θ of
    /// these samples into `grads` and returns their summed cross-entropy.
    pub fn loss_and_gradient<'x>(
        &self,
        ws: &mut Workspace<T>,
        grads: &mut Params<T>,
        x: impl Into<Inputs<'x, T>>,
        labels: &[u8],
        minibatch: usize,
    ) -> f64
    where
        T: 'x,
    {
        let x = x.into();
        let loss_sum = self.backprop_to_first_layer(ws, grads, x, labels, minibatch);
        let (first, delta) = (&mut grads.layers[0], ws.first_layer_delta(x.rows()));
        let (dw, db) = (first.w.view_mut(), first.b.view_mut());
        match x {
            Inputs::Dense(x) => dense_parameter_gradient(dw, db, delta, x),
            Inputs::Sparse(x) => sparse_parameter_gradient(dw, db, delta, x),
        }
        loss_sum
    }

    /// [`Self::loss_and_gradient`] but for the first layer's parameter gradient, which is
    /// left for the caller to compute from x and [`Workspace::first_layer_delta`] (the
    /// training loop does it once over the whole mini-batch instead of once per shard).
    pub fn backprop_to_first_layer<'x>(
        &self,
        ws: &mut Workspace<T>,
        grads: &mut Params<T>,
        x: impl Into<Inputs<'x, T>>,
        labels: &[u8],
        minibatch: usize,
    ) -> f64
    where
        T: 'x,
    {
        let x = x.into();
        let batch = x.rows();
        let loss_sum = self.forward(ws, x, labels);
        let last = self.params.layers.len() - 1;
        softmax_cross_entropy_backward(
            ws.deltas[last].slice_mut(s![..batch, ..]),
            ws.probs.slice(s![..batch, ..]),
            labels,
            minibatch,
            ws.label_smoothing,
        );
        for l in (1..=last).rev() {
            let (before, rest) = ws.deltas.split_at_mut(l);
            let dout = rest[0].slice(s![..batch, ..]);
            let grad = &mut grads.layers[l];
            let (dw, db) = (grad.w.view_mut(), grad.b.view_mut());
            let w = self.params.layers[l].w.view();
            let activation = ws.outputs[l - 1].slice(s![..batch, ..]);
            let mut dx = before[l - 1].slice_mut(s![..batch, ..]);
            match (ws.masks.get(l - 1), ws.dropped.get(l - 1)) {
                (Some(mask), Some(dropped)) => {
                    let input = dropped.slice(s![..batch, ..]);
                    dense_backward(Some(dx.view_mut()), dw, db, dout, input, w);
                    // Back through the dropout: a dropped unit passed nothing on.
                    Zip::from(&mut dx)
                        .and(mask.slice(s![..batch, ..]))
                        .for_each(|d, &m| *d = *d * m);
                }
                _ => dense_backward(Some(dx.view_mut()), dw, db, dout, activation, w),
            }
            self.arch.activation.backward(dx, activation);
        }
        loss_sum
    }
}

/// How many rows of probs[B, C] have their largest value at their label.
pub fn count_correct<T: Real>(probs: ArrayView2<T>, labels: &[u8]) -> usize {
    (probs.rows().into_iter().map(argmax))
        .zip(labels)
        .filter(|&(predicted, &label)| predicted == label as usize)
        .count()
}

/// The index of the largest entry (the first, on ties): the predicted class of a row.
pub fn argmax<T: Real>(row: ArrayView1<T>) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}
