//! The shard-parallel mini-batch step: forward and backward passes over the shards of a
//! mini-batch, the reduction of their gradients, and the optimizer's update.

use std::ops::Range;

use arrayvec::ArrayVec;
use ndarray::{Array2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use crate::data::augment::Transform;
use crate::data::images::LabeledImages;
use crate::data::input::{BatchForm, fill_batch, fill_sparse_batch};
use crate::model::Classifier;
use crate::nn::layers::{bias_gradient, dense_weight_gradient};
use crate::nn::linalg::Real;
use crate::nn::mlp::{Architecture, Dense, Inputs, Params, Workspace, count_correct};
use crate::nn::optim::{Optimizer, apply_max_norm};
use crate::nn::rng::SeededRng;
use crate::nn::schedule::learning_rate;
use crate::nn::sparse::{SparseColumns, SparseRows, sparse_weight_gradient};
use crate::train::config::TrainConfig;

/// The most shards a mini-batch is split into.
pub const MAX_SHARDS: usize = 8;

/// Rows per shard up to which a mini-batch is split into as few shards as possible: matrix
/// products of this height run near full speed, so larger shards gain little.
const SHARD_ROWS: usize = 128;

/// Into how many shards a mini-batch of `batch` samples is split: at least two (every
/// machine this runs on has two cores), more for large batches, at most [`MAX_SHARDS`].
/// The shards' gradients are computed independently (in parallel where there are threads)
/// and added in shard order, so the result depends on the batch size only, never on the
/// number of threads.
pub fn shards_per_batch(batch: usize) -> usize {
    batch.div_ceil(SHARD_ROWS).clamp(2, MAX_SHARDS).min(batch)
}

/// The first of the seeded streams that draw dropout masks (0–2 are the initial weights,
/// the batch order and the augmentation, 3 picks the validation images).
const DROPOUT_STREAMS: u64 = 4;

/// One shard's buffers: its activations, and its loss and correct predictions.
struct Shard {
    ws: Workspace<f32>,
    loss_sum: f64,
    correct: usize,
}

/// The mini-batch in training: inputs, labels and ∂L/∂z₀ of every sample, one row each;
/// shard k owns the consecutive rows [`shard_rows`] gives it. The inputs are in `x` for
/// dense batches, in `sparse[k]` (shard k's rows) for sparse ones.
struct MiniBatch {
    form: BatchForm,
    x: Array2<f32>,
    sparse: Vec<SparseRows<f32>>,
    labels: Vec<u8>,
    first_layer_delta: Array2<f32>,
    /// For sparse batches: `sparse[k]` column by column, for the first layer's gradient.
    columns: Vec<SparseColumns<f32>>,
}

/// The rows of a mini-batch of `len` samples that shard `k` of `shards` computes.
fn shard_rows(k: usize, shards: usize, len: usize) -> Range<usize> {
    k * len / shards..(k + 1) * len / shards
}

/// Splits m[rows, ..] into consecutive blocks of rows, one per range in `parts`.
fn split_rows<'a>(
    mut m: ArrayViewMut2<'a, f32>,
    parts: impl Iterator<Item = Range<usize>>,
) -> ArrayVec<ArrayViewMut2<'a, f32>, MAX_SHARDS> {
    let mut blocks = ArrayVec::new();
    for part in parts {
        let (head, tail) = m.split_at(Axis(0), part.len());
        blocks.push(head);
        m = tail;
    }
    blocks
}

/// The first layer's parameter gradient over the whole mini-batch, dw₀ = xᵀ·δ₀ and
/// db₀ = Σ_rows δ₀, with dw₀ in `blocks` fixed blocks of rows (of inputs) computed in
/// parallel. One product with k = batch runs faster than one per shard with k =
/// batch/shards, and leaves nothing to add up; the blocks depend on the batch only, so the
/// result does not depend on the threads.
fn first_layer_gradient(grad: &mut Dense<f32>, batch: &MiniBatch, len: usize, blocks: usize) {
    let delta = batch.first_layer_delta.slice(s![..len, ..]);
    bias_gradient(grad.b.view_mut(), delta);
    let height = grad.w.nrows().div_ceil(blocks);
    let dw_blocks = grad.w.axis_chunks_iter_mut(Axis(0), height);
    match batch.form {
        BatchForm::Dense => {
            let x = batch.x.slice(s![..len, ..]);
            let mut parts: ArrayVec<_, MAX_SHARDS> =
                dw_blocks.zip(x.axis_chunks_iter(Axis(1), height)).collect();
            parts
                .as_mut_slice()
                .par_iter_mut()
                .for_each(|(dw, x)| dense_weight_gradient(dw.view_mut(), delta, x.view()));
        }
        BatchForm::Sparse { .. } => {
            let (shards, db) = (&batch.columns[..], grad.b.view());
            let offset = batch.sparse[0].offset();
            let mut parts: ArrayVec<_, MAX_SHARDS> = dw_blocks.enumerate().collect();
            parts.as_mut_slice().par_iter_mut().for_each(|(k, dw)| {
                sparse_weight_gradient(dw.view_mut(), shards, *k * height, offset, delta, db)
            });
        }
    }
}

/// Gradient values added per task when the shards' gradients are reduced.
const REDUCE_CHUNK: usize = 1 << 12;

/// Adds the shards' gradients into the first, shard by shard in shard order (so the sum
/// does not depend on the threads), except the first `whole` tensors (in
/// [`Params::tensors`] order), whose gradient over the whole mini-batch is already in the
/// first shard.
fn reduce_shards<T: Real>(grads: &mut [Params<T>], whole: usize) {
    let Some((sum, rest)) = grads.split_first_mut() else {
        return;
    };
    if rest.is_empty() {
        return;
    }
    for t in whole..sum.tensor_count() {
        let rest: &[Params<T>] = rest;
        sum.tensor_mut(t)
            .par_chunks_mut(REDUCE_CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| {
                let start = i * REDUCE_CHUNK;
                for shard in rest {
                    let shard = &shard.tensor(t)[start..start + chunk.len()];
                    for (s, &g) in chunk.iter_mut().zip(shard) {
                        *s = *s + g;
                    }
                }
            });
    }
}

/// What a run's mini-batch steps need and keep: the shards' buffers, the mini-batch, the
/// gradients, the optimizer's state and the augmentation's random stream.
pub(super) struct Stepper<'a> {
    config: &'a TrainConfig,
    train_set: &'a LabeledImages,
    shards: Vec<Shard>,
    minibatch: MiniBatch,
    /// One gradient per shard; the first also holds the first layer's whole gradient.
    grads: Vec<Params<f32>>,
    pub(super) optimizer: Optimizer<f32>,
    pub(super) augmenter: SeededRng,
    transforms: Vec<Transform>,
    max_norm_scratch: Vec<f32>,
    total_steps: usize,
    warmup_steps: usize,
}

impl<'a> Stepper<'a> {
    /// `form` is how the mini-batches reach the first layer (see [`BatchForm::for_images`]).
    pub(super) fn new(
        config: &'a TrainConfig,
        train_set: &'a LabeledImages,
        form: BatchForm,
        arch: &Architecture,
        batch: usize,
        batches_per_epoch: usize,
    ) -> Self {
        let shard_count = shards_per_batch(batch);
        let (dropout, smoothing) = (config.dropout, config.label_smoothing);
        let shard_batch = batch.div_ceil(shard_count);
        Stepper {
            config,
            train_set,
            shards: (0..shard_count)
                .map(|_| Shard {
                    ws: Workspace::for_training(arch, shard_batch, dropout, smoothing),
                    loss_sum: 0.0,
                    correct: 0,
                })
                .collect(),
            minibatch: MiniBatch {
                form,
                x: Array2::zeros((batch, arch.input_size)),
                sparse: (0..shard_count)
                    .map(|_| SparseRows::new(arch.input_size))
                    .collect(),
                labels: Vec::with_capacity(batch),
                first_layer_delta: Array2::zeros((batch, arch.layer_sizes()[1])),
                columns: (0..shard_count).map(|_| SparseColumns::default()).collect(),
            },
            grads: (0..shard_count).map(|_| Params::zeros(arch)).collect(),
            optimizer: Optimizer::new(arch, config.optimizer_config()),
            augmenter: SeededRng::derive(config.seed, 2),
            transforms: Vec::with_capacity(batch),
            max_norm_scratch: Vec::new(),
            // Saturating: a run of more steps than a usize holds never reaches its end.
            total_steps: config.epochs.saturating_mul(batches_per_epoch),
            warmup_steps: config.warmup_epochs.saturating_mul(batches_per_epoch),
        }
    }

    /// Step number `step` (from 0) on the training images at `samples`: returns their
    /// summed loss and how many were predicted right, both before the update.
    pub(super) fn step(
        &mut self,
        classifier: &mut Classifier,
        samples: &[usize],
        step: usize,
    ) -> (f64, usize) {
        let (config, train_set) = (self.config, self.train_set);
        let (len, shard_count) = (samples.len(), self.shards.len());
        // Drawn here, in sample order, so that they do not depend on the threads.
        let augmenter = &mut self.augmenter;
        self.transforms.clear();
        (self.transforms).extend(samples.iter().map(|_| config.augment.draw(augmenter)));
        let transforms = &self.transforms;
        let data = &mut self.minibatch;
        data.labels.clear();
        data.labels
            .extend(samples.iter().map(|&i| train_set.labels[i]));
        // Each shard takes a fixed slice of the mini-batch, whichever thread runs it.
        let parts = || (0..shard_count).map(|k| shard_rows(k, shard_count, len));
        let mut rows: ArrayVec<_, MAX_SHARDS> = split_rows(data.x.view_mut(), parts())
            .into_iter()
            .zip(split_rows(data.first_layer_delta.view_mut(), parts()))
            .zip(data.sparse.iter_mut().zip(data.columns.iter_mut()))
            .collect();
        let (mlp, scaling, form) = (&classifier.mlp, &classifier.input_scaling, data.form);
        let images = &train_set.images;
        self.shards
            .par_iter_mut()
            .zip(self.grads.par_iter_mut())
            .zip(rows.as_mut_slice().par_iter_mut())
            .enumerate()
            .for_each(|(k, ((shard, grads), ((x, delta), (sparse, columns))))| {
                let part = shard_rows(k, shard_count, len);
                let shard_samples = samples[part.clone()]
                    .iter()
                    .copied()
                    .zip(transforms[part.clone()].iter().copied());
                let inputs = match form {
                    BatchForm::Dense => {
                        fill_batch(x.view_mut(), images, shard_samples, scaling);
                        Inputs::Dense(x.view())
                    }
                    BatchForm::Sparse { background } => {
                        fill_sparse_batch(sparse, images, shard_samples, scaling, background);
                        columns.gather(sparse, part.start);
                        Inputs::Sparse(sparse)
                    }
                };
                let labels = &data.labels[part];
                if config.dropout > 0.0 {
                    // One stream per (step, shard): the same masks on any number of threads.
                    let stream = DROPOUT_STREAMS + (step * MAX_SHARDS + k) as u64;
                    let mut rng = SeededRng::derive(config.seed, stream);
                    shard
                        .ws
                        .draw_dropout_masks(&mut rng, config.dropout, labels.len());
                }
                let ws = &mut shard.ws;
                shard.loss_sum = mlp.backprop_to_first_layer(ws, grads, inputs, labels, len);
                shard.correct = count_correct(ws.probs(labels.len()), labels);
                delta.assign(&ws.first_layer_delta(labels.len()));
            });
        drop(rows); // the shards' hold on the mini-batch's rows
        first_layer_gradient(&mut self.grads[0].layers[0], data, len, shard_count);
        let lr = learning_rate(
            config.lr_schedule,
            config.learning_rate,
            step,
            self.total_steps,
            self.warmup_steps,
        );
        let params = &mut classifier.mlp.params;
        // The first layer's two tensors are whole in the first shard.
        reduce_shards(&mut self.grads, 2);
        self.optimizer.step(lr as f32, params, &self.grads[0]);
        if let Some(max_norm) = config.max_norm {
            apply_max_norm(params, max_norm, &mut self.max_norm_scratch);
        }
        let loss_sum = self.shards.iter().map(|s| s.loss_sum).sum();
        (loss_sum, self.shards.iter().map(|s| s.correct).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::dense_parameter_gradient;
    use crate::nn::optim::OptimizerConfig;
    use crate::nn::optim::tests::tiny;
    use ndarray::Array1;

    #[test]
    fn shard_gradients_are_summed_except_whole_tensors() {
        let arch = tiny();
        for config in [
            OptimizerConfig::sgd(0.0),
            OptimizerConfig {
                clip_grad_norm: Some(10.0),
                ..OptimizerConfig::sgd(0.0)
            },
        ] {
            let mut one = Params::<f64>::zeros(&arch);
            let mut two = [Params::<f64>::zeros(&arch), Params::<f64>::zeros(&arch)];
            one.layers[0].w[[0, 0]] = 4.0;
            one.layers[0].b[0] = 3.0;
            two[0].layers[0].w[[0, 0]] = 4.0; // whole: the other shard's value is ignored
            two[1].layers[0].w[[0, 0]] = 100.0;
            two[0].layers[0].b[0] = 1.0;
            two[1].layers[0].b[0] = 2.0;
            reduce_shards(&mut two, 1);
            let (mut p1, mut p2) = (Params::zeros(&arch), Params::zeros(&arch));
            Optimizer::new(&arch, config).step(0.5, &mut p1, &one);
            Optimizer::new(&arch, config).step(0.5, &mut p2, &two[0]);
            assert_eq!(p1, p2);
            assert_eq!(p2.layers[0].b[0], -1.5);
            assert_eq!(p2.layers[0].w[[0, 0]], -2.0);
        }
    }

    #[test]
    fn clipping_measures_the_norm_of_the_summed_shards() {
        let arch = tiny();
        let config = OptimizerConfig {
            clip_grad_norm: Some(1.0),
            ..OptimizerConfig::sgd(0.0)
        };
        let mut two = [Params::<f64>::zeros(&arch), Params::<f64>::zeros(&arch)];
        two[0].layers[0].w[[0, 0]] = 1.0;
        two[1].layers[0].w[[0, 0]] = 2.0; // summed: 3
        two[0].layers[0].b[0] = 4.0; // the whole gradient (3, 4) has norm 5
        reduce_shards(&mut two, 0);
        let mut p = Params::zeros(&arch);
        Optimizer::new(&arch, config).step(1.0, &mut p, &two[0]);
        approx::assert_abs_diff_eq!(p.layers[0].w[[0, 0]], -0.6, epsilon = 1e-12);
        approx::assert_abs_diff_eq!(p.layers[0].b[0], -0.8, epsilon = 1e-12);
    }

    /// A mini-batch of 9 rows of 50 inputs, about a third of them away from `background`
    /// (dense inputs in `x`, and the same rows as sparse rows split over two shards).
    fn minibatch(form: BatchForm) -> MiniBatch {
        let mut rng = SeededRng::new(5);
        let background = match form {
            BatchForm::Dense => 0.0,
            BatchForm::Sparse { background } => f32::from(background) / 255.0,
        };
        let x = Array2::from_shape_fn((9, 50), |_| match rng.uniform() < 0.3 {
            true => rng.uniform() as f32,
            false => background,
        });
        let sparse: Vec<_> = [s![..4, ..], s![4.., ..]]
            .into_iter()
            .map(|rows| SparseRows::from_dense(x.slice(rows), background))
            .collect();
        let columns = (sparse.iter().zip([0, 4]))
            .map(|(rows, first_row)| {
                let mut columns = SparseColumns::default();
                columns.gather(rows, first_row);
                columns
            })
            .collect();
        MiniBatch {
            form,
            first_layer_delta: Array2::from_shape_fn((9, 7), |_| rng.standard_normal() as f32),
            x,
            sparse,
            labels: Vec::new(),
            columns,
        }
    }

    #[test]
    fn first_layer_gradient_in_blocks_equals_the_whole_product() {
        for form in [BatchForm::Dense, BatchForm::Sparse { background: 51 }] {
            let whole_batch = minibatch(form);
            let mut whole = Dense {
                w: Array2::zeros((50, 7)),
                b: Array1::zeros(7),
            };
            dense_parameter_gradient(
                whole.w.view_mut(),
                whole.b.view_mut(),
                whole_batch.first_layer_delta.view(),
                whole_batch.x.view(),
            );
            for blocks in [1, 2, 3, 8] {
                let batch = minibatch(form);
                let mut blocked = Dense {
                    w: Array2::from_elem((50, 7), f32::NAN),
                    b: Array1::from_elem(7, f32::NAN),
                };
                first_layer_gradient(&mut blocked, &batch, 9, blocks);
                for (a, b) in whole
                    .w
                    .iter()
                    .chain(&whole.b)
                    .zip(blocked.w.iter().chain(&blocked.b))
                {
                    approx::assert_abs_diff_eq!(a, b, epsilon = 1e-5);
                }
            }
        }
    }

    /// `count` images of 6×6 pixels, mostly background 0 with a few bright pixels, in
    /// 10 classes.
    fn sparse_images(count: usize) -> LabeledImages {
        let mut rng = SeededRng::new(11);
        LabeledImages {
            images: crate::data::images::Images {
                rows: 6,
                cols: 6,
                pixels: (0..count * 36)
                    .map(|_| match rng.uniform() < 0.2 {
                        true => rng.below(256) as u8,
                        false => 0,
                    })
                    .collect(),
            },
            labels: (0..count).map(|_| rng.below(10) as u8).collect(),
        }
    }

    /// What training runs, [`Stepper::step`] (shards, the blocked first-layer gradient, the
    /// optimizer's whole/sum split), against one SGD step on the gradient of the whole
    /// mini-batch computed plainly, in f64, by `Mlp::loss_and_gradient`.
    #[test]
    fn one_step_over_shards_is_one_plain_sgd_step() {
        use crate::data::augment::{Augment, Transform};
        use crate::data::input::{InputScaling, fill_batch};
        use crate::nn::schedule::Schedule;
        let data = sparse_images(300);
        // The standardisation makes background pixels nonzero inputs: the sparse path's
        // offset correction is exercised.
        let scaling = InputScaling::Standardized {
            mean: 0.2,
            std: 0.4,
        };
        for form in [BatchForm::Dense, BatchForm::Sparse { background: 0 }] {
            for batch in [20, 300] {
                let config = TrainConfig {
                    hidden: vec![16],
                    batch_size: batch,
                    learning_rate: 0.5,
                    lr_schedule: Schedule::Constant,
                    momentum: 0.0,
                    augment: Augment::None,
                    ..TrainConfig::default()
                };
                let arch = config.architecture(36, 10);
                let mut classifier = Classifier {
                    mlp: crate::nn::mlp::Mlp::initial(arch.clone(), 3),
                    input_scaling: scaling,
                };
                let plain_mlp = classifier.mlp.clone();
                let samples: Vec<usize> = (0..batch).rev().collect();
                let mut stepper = Stepper::new(&config, &data, form, &arch, batch, 1);
                assert!(shards_per_batch(batch) >= 2);
                let (loss_sum, _) = stepper.step(&mut classifier, &samples, 0);

                let mut x = Array2::zeros((batch, 36));
                let plain_samples = samples.iter().map(|&i| (i, Transform::NONE));
                fill_batch(x.view_mut(), &data.images, plain_samples, &scaling);
                let labels: Vec<u8> = samples.iter().map(|&i| data.labels[i]).collect();
                let mlp = crate::nn::mlp::Mlp {
                    arch: arch.clone(),
                    params: plain_mlp.params.cast::<f64>(),
                };
                let mut ws = Workspace::new(&arch, batch);
                let mut grads = Params::zeros(&arch);
                let x = x.mapv(f64::from);
                let plain_loss =
                    mlp.loss_and_gradient(&mut ws, &mut grads, x.view(), &labels, batch);
                approx::assert_relative_eq!(loss_sum, plain_loss, max_relative = 1e-5);
                let stepped = classifier.mlp.params.cast::<f64>();
                for ((p, g), q) in mlp
                    .params
                    .tensors()
                    .zip(grads.tensors())
                    .zip(stepped.tensors())
                {
                    for ((&p, &g), &q) in p.iter().zip(g).zip(q) {
                        approx::assert_abs_diff_eq!(p - 0.5 * g, q, epsilon = 1e-5);
                    }
                }
            }
        }
    }
}
