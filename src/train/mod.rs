//! The training loop: mini-batch SGD over reshuffled epochs, with the train and test sets
//! evaluated after every epoch.

pub mod metrics;

use std::ops::Range;
use std::time::Instant;

use arrayvec::ArrayVec;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::data::augment::{Augment, Transform};
use crate::data::images::LabeledImages;
use crate::data::input::{InputScaling, ScalingKind, fill_batch};
use crate::model::{Classifier, Evaluation, MismatchError};
use crate::nn::denormals;
use crate::nn::layers::{Activation, bias_gradient, dense_weight_gradient};
use crate::nn::mlp::{Architecture, Dense, Mlp, Params, Workspace, count_correct};
use crate::nn::optim::{
    MAX_SHARDS, Optimizer, OptimizerConfig, OptimizerKind, OptimizerState, apply_max_norm,
};
use crate::nn::rng::{RngState, SeededRng};
use crate::nn::schedule::{Schedule, learning_rate};
use crate::train::metrics::{EpochMetrics, EpochTiming};

/// Everything that determines a training run; recorded in the weights file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Widths of the hidden layers, first to last.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub batch_size: usize,
    /// The base (peak) learning rate.
    pub learning_rate: f64,
    pub lr_schedule: Schedule,
    /// Epochs of linear warm-up at the start (the rise, for one-cycle).
    pub warmup_epochs: usize,
    pub optimizer: OptimizerKind,
    /// μ of the SGD variants.
    pub momentum: f64,
    pub weight_decay: f64,
    pub clip_grad_norm: Option<f64>,
    /// Longest L2 norm each unit's incoming weights may have after a step.
    pub max_norm: Option<f64>,
    pub seed: u64,
    pub input_scaling: ScalingKind,
    pub augment: Augment,
    /// Probability of dropping each hidden unit during training (inverted dropout).
    pub dropout: f64,
    /// ε of label smoothing.
    pub label_smoothing: f64,
    /// Training images held out for validation, which chooses the network kept.
    pub val_split: usize,
    /// How the per-epoch train loss and accuracy are measured. Reporting only: it does not
    /// change the weights, so the weights file does not record it.
    #[serde(skip)]
    pub train_metrics: TrainMetrics,
}

/// How each epoch's train loss and accuracy are measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainMetrics {
    #[default]
    Running,
    Full,
}

impl Choice for TrainMetrics {
    const ALL: &'static [Self] = &[Self::Running, Self::Full];

    fn name(self) -> &'static str {
        match self {
            TrainMetrics::Running => "running",
            TrainMetrics::Full => "full",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            TrainMetrics::Running => {
                "Over the epoch's mini-batches as they were trained on (with their augmentation \
                 and dropout, by the weights of the moment): free, as the training passes \
                 compute them"
            }
            TrainMetrics::Full => {
                "A separate pass over the training images with the end-of-epoch weights (about \
                 0.12 s an epoch for 784-256-10 on two cores)"
            }
        })
    }
}

impl Default for TrainConfig {
    /// The defaults of `mnist-mlp train`: 784-256-10 ReLU, SGD 0.1 with momentum 0.9 on a
    /// cosine schedule, batches of 128, images shifted by up to 2 pixels, 20 epochs (98.7%
    /// on MNIST).
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            hidden: vec![256],
            activation: Activation::Relu,
            batch_size: 128,
            learning_rate: 0.1,
            lr_schedule: Schedule::Cosine,
            warmup_epochs: 0,
            optimizer: OptimizerKind::Sgd,
            momentum: 0.9,
            weight_decay: 0.0,
            clip_grad_norm: None,
            max_norm: None,
            seed: 42,
            input_scaling: ScalingKind::Unit,
            augment: Augment::Shift,
            dropout: 0.0,
            label_smoothing: 0.0,
            val_split: 0,
            train_metrics: TrainMetrics::Running,
        }
    }
}

/// Named bundles of settings; any flag given on the command line still overrides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Fast,
    Best,
}

impl Choice for Preset {
    const ALL: &'static [Self] = &[Self::Fast, Self::Best];

    fn name(self) -> &'static str {
        match self {
            Preset::Fast => "fast",
            Preset::Best => "best",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            Preset::Fast => {
                "The quickest way to 98%: 4 epochs of the default network on a one-cycle \
                 schedule peaking at 0.3, without augmentation (98.2% in about 2 seconds)"
            }
            Preset::Best => {
                "Two layers of 1024, elastic distortions, cosine schedule from 0.05, 50 epochs, \
                 keeping the best epoch on 5,000 validation images (99.3–99.4% in about 6 \
                 minutes)"
            }
        })
    }
}

impl Preset {
    pub fn config(self) -> TrainConfig {
        let defaults = TrainConfig::default();
        match self {
            Preset::Fast => TrainConfig {
                epochs: 4,
                learning_rate: 0.3,
                lr_schedule: Schedule::Onecycle,
                augment: Augment::None,
                ..defaults
            },
            Preset::Best => TrainConfig {
                epochs: 50,
                hidden: vec![1024, 1024],
                learning_rate: 0.05,
                lr_schedule: Schedule::Cosine,
                augment: Augment::Elastic,
                val_split: 5000,
                ..defaults
            },
        }
    }
}

/// A training configuration that cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("--epochs must be at least 1")]
    NoEpochs,
    #[error("--hidden needs at least one hidden layer (e.g. --hidden 256 or --hidden 512,256)")]
    NoHiddenLayer,
    #[error("--hidden: every hidden layer needs at least 1 unit, got {0:?}")]
    EmptyHiddenLayer(Vec<usize>),
    #[error("--batch-size must be at least 1")]
    NoBatch,
    #[error("--lr must be a positive finite number, got {0}")]
    LearningRate(f64),
    #[error("--momentum must be in [0, 1), got {0}")]
    Momentum(f64),
    #[error("--weight-decay must be a finite number ≥ 0, got {0}")]
    WeightDecay(f64),
    #[error("--clip-grad-norm must be a positive finite number, got {0}")]
    ClipGradNorm(f64),
    #[error("--max-norm must be a positive finite number, got {0}")]
    MaxNorm(f64),
    #[error("--dropout must be in [0, 1), got {0}")]
    Dropout(f64),
    #[error("--label-smoothing must be in [0, 1), got {0}")]
    LabelSmoothing(f64),
    #[error("--warmup-epochs ({warmup}) must be fewer than --epochs ({epochs})")]
    Warmup { warmup: usize, epochs: usize },
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.epochs == 0 {
            return Err(ConfigError::NoEpochs);
        }
        if self.hidden.is_empty() {
            return Err(ConfigError::NoHiddenLayer);
        }
        if self.hidden.contains(&0) {
            return Err(ConfigError::EmptyHiddenLayer(self.hidden.clone()));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::NoBatch);
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ConfigError::LearningRate(self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(ConfigError::Momentum(self.momentum));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ConfigError::Dropout(self.dropout));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(ConfigError::LabelSmoothing(self.label_smoothing));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(ConfigError::WeightDecay(self.weight_decay));
        }
        let invalid = |n: &f64| !(n.is_finite() && *n > 0.0);
        if let Some(norm) = self.clip_grad_norm.filter(invalid) {
            return Err(ConfigError::ClipGradNorm(norm));
        }
        if let Some(norm) = self.max_norm.filter(invalid) {
            return Err(ConfigError::MaxNorm(norm));
        }
        if self.warmup_epochs >= self.epochs && self.warmup_epochs > 0 {
            return Err(ConfigError::Warmup {
                warmup: self.warmup_epochs,
                epochs: self.epochs,
            });
        }
        Ok(())
    }

    /// The optimizer's settings.
    pub fn optimizer_config(&self) -> OptimizerConfig {
        OptimizerConfig {
            kind: self.optimizer,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            clip_grad_norm: self.clip_grad_norm,
            ..OptimizerConfig::sgd(self.momentum)
        }
    }

    /// The network this configuration trains on images of `input_size` pixels.
    pub fn architecture(&self, input_size: usize, num_classes: usize) -> Architecture {
        Architecture {
            input_size,
            hidden: self.hidden.clone(),
            num_classes,
            activation: self.activation,
        }
    }
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the training set is empty")]
    EmptyTrainingSet,
    #[error("--val-split {held_out} leaves no training images out of {n}")]
    ValSplit { held_out: usize, n: usize },
    #[error("the test set does not fit the network: {0}")]
    TestSet(#[from] MismatchError),
    #[error(
        "{what} in epoch {epoch} (batch {batch}): training diverged; try a smaller --lr \
         (now {lr}). The weights file keeps the network of the last finished epoch (none \
         is written if no epoch finished)"
    )]
    Diverged {
        /// What went wrong: "the loss became NaN", "the weights became NaN or infinite", …
        what: String,
        epoch: usize,
        batch: usize,
        lr: f64,
    },
    #[error("interrupted in epoch {epoch} after {batches_done} of its {batches} batches")]
    Interrupted {
        epoch: usize,
        batches_done: usize,
        batches: usize,
    },
    #[error("cannot resume: {0}")]
    Resume(String),
    #[error(transparent)]
    Observer(anyhow::Error),
}

/// Mean loss per sample above which a mini-batch counts as diverged: the network then gives
/// the right class a probability below e^-10000, which only exploding weights do (a fresh
/// network's loss is ln(classes), 2.3 for ten).
const EXPLODED_LOSS: f32 = 1e4;

/// What a mini-batch's mean `loss` says went wrong.
fn loss_divergence(loss: f64) -> String {
    if loss.is_nan() {
        "the loss became NaN".into()
    } else if loss.is_infinite() {
        "the loss became infinite".into()
    } else {
        format!("the loss exploded to {loss:.3e} per sample")
    }
}

/// Told about progress while training runs.
pub trait TrainObserver {
    /// After each batch: `done` of `total` batches of the current epoch.
    fn batch_done(&mut self, _done: usize, _total: usize) {}
    /// After each epoch, with the network as it is now, the metrics of all epochs so far,
    /// the timing of this one, and whether this network is now the one kept (the last, or
    /// the best on the validation images). An error stops training.
    fn epoch_done(
        &mut self,
        classifier: &Classifier,
        history: &[EpochMetrics],
        timing: EpochTiming,
        kept: bool,
    ) -> anyhow::Result<()>;
    /// Asked after each batch: whether to stop after it (e.g. on Ctrl-C). Training then
    /// hands [`TrainObserver::checkpoint`] its state and returns
    /// [`TrainError::Interrupted`].
    fn stop_requested(&mut self) -> bool {
        false
    }
    /// Whether to be handed a checkpoint after every epoch but the last, too.
    fn checkpoints_every_epoch(&self) -> bool {
        false
    }
    /// The run's state, from which [`train_from`] continues it exactly.
    fn checkpoint(&mut self, _progress: &Progress) -> anyhow::Result<()> {
        Ok(())
    }
}

/// A run stopped between two mini-batches: everything [`train_from`] needs to continue it
/// as if it had not stopped. The dropout masks need nothing: their streams are fixed by
/// the step and the shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The epoch in progress, or the next to start when `batches_done` is 0 (1-based).
    pub epoch: usize,
    /// The mini-batches of `epoch` already trained on.
    pub batches_done: usize,
    pub input_scaling: InputScaling,
    /// The network's tensors in [`Params::tensors`] order (w1, b1, w2, …).
    pub params: Vec<Vec<f32>>,
    pub optimizer: OptimizerState<f32>,
    /// The batch order of `epoch`; with `batches_done` 0, that of the epoch before, which
    /// the next epoch reshuffles.
    pub order: Vec<u32>,
    /// The batch-order and augmentation streams.
    pub shuffler: RngState,
    pub augmenter: RngState,
    /// The running train metrics and training seconds of `epoch` so far.
    pub running_loss_sum: f64,
    pub running_correct: usize,
    pub train_seconds: f64,
    /// The finished epochs'.
    pub history: Vec<EpochMetrics>,
    pub timings: Vec<EpochTiming>,
    pub kept: Option<KeptProgress>,
}

/// The network kept so far (see [`TrainOutcome::classifier`]), in a [`Progress`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptProgress {
    pub epoch: usize,
    pub val_accuracy: f64,
    pub test: Evaluation,
    pub params: Vec<Vec<f32>>,
}

impl Progress {
    /// Every tensor of the networks and of the optimizer, with what it is, for checks.
    pub fn tensors(&self) -> impl Iterator<Item = (&'static str, &[f32])> + '_ {
        let second = self
            .optimizer
            .second
            .iter()
            .flat_map(|s| named("optimizer state", s));
        let kept = self
            .kept
            .iter()
            .flat_map(|k| named("kept weights", &k.params));
        named("weights", &self.params)
            .chain(named("optimizer state", &self.optimizer.first))
            .chain(second)
            .chain(kept)
    }
}

fn named<'a>(
    name: &'static str,
    tensors: &'a [Vec<f32>],
) -> impl Iterator<Item = (&'static str, &'a [f32])> + 'a {
    tensors.iter().map(move |t| (name, t.as_slice()))
}

/// Copies flat tensors into `params`, checking their number and sizes.
fn params_from(params: &mut Params<f32>, saved: &[Vec<f32>]) -> Result<(), TrainError> {
    let sizes: Vec<usize> = params.tensors().map(<[f32]>::len).collect();
    let saved_sizes: Vec<usize> = saved.iter().map(Vec::len).collect();
    if sizes != saved_sizes {
        return Err(TrainError::Resume(format!(
            "the checkpoint's tensors hold {saved_sizes:?} values, the network needs {sizes:?}"
        )));
    }
    params
        .tensors_mut()
        .zip(saved)
        .for_each(|(t, s)| t.copy_from_slice(s));
    Ok(())
}

fn flat(params: &Params<f32>) -> Vec<Vec<f32>> {
    params.tensors().map(<[f32]>::to_vec).collect()
}

fn all_finite(params: &Params<f32>) -> bool {
    params.tensors().flatten().all(|v| v.is_finite())
}

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

/// The seeded stream that picks the validation images, and the first of those that draw
/// dropout masks (0–2 are the initial weights, the batch order and the augmentation).
const VALIDATION_STREAM: u64 = 3;
const DROPOUT_STREAMS: u64 = 4;

/// One shard's buffers: its activations, and its loss and correct predictions.
struct Shard {
    ws: Workspace<f32>,
    loss_sum: f32,
    correct: usize,
}

/// The mini-batch in training: inputs, labels and ∂L/∂z₀ of every sample, one row each;
/// shard k owns the consecutive rows [`shard_rows`] gives it.
struct MiniBatch {
    x: Array2<f32>,
    labels: Vec<u8>,
    first_layer_delta: Array2<f32>,
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
fn first_layer_gradient(
    grad: &mut Dense<f32>,
    x: ArrayView2<f32>,
    delta: ArrayView2<f32>,
    blocks: usize,
) {
    let height = grad.w.nrows().div_ceil(blocks);
    let mut parts: ArrayVec<_, MAX_SHARDS> = grad
        .w
        .axis_chunks_iter_mut(Axis(0), height)
        .zip(x.axis_chunks_iter(Axis(1), height))
        .collect();
    parts
        .as_mut_slice()
        .par_iter_mut()
        .for_each(|(dw, x)| dense_weight_gradient(dw.view_mut(), delta, x.view()));
    bias_gradient(grad.b.view_mut(), delta);
}

/// A finished run.
pub struct TrainOutcome {
    /// The network kept: the last epoch's, or with validation images the best on them.
    pub classifier: Classifier,
    pub kept_epoch: usize,
    pub history: Vec<EpochMetrics>,
    pub timings: Vec<EpochTiming>,
    /// The test-set evaluation of the kept network.
    pub final_test: Evaluation,
}

/// Trains a network of `num_classes` outputs as `config` says on `train_set`, evaluating it
/// on both sets after every epoch. Deterministic: the same config and data give the same
/// weights.
pub fn train(
    config: &TrainConfig,
    train_set: &LabeledImages,
    test_set: &LabeledImages,
    num_classes: usize,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome, TrainError> {
    train_from(config, train_set, test_set, num_classes, None, observer)
}

/// The state of a run between mini-batches, besides the stepper's.
struct Run {
    classifier: Classifier,
    order: Vec<usize>,
    shuffler: SeededRng,
    history: Vec<EpochMetrics>,
    timings: Vec<EpochTiming>,
    kept: Option<Kept>,
}

/// How far the epoch in progress has got.
#[derive(Debug, Clone, Copy, Default)]
struct EpochSoFar {
    batches_done: usize,
    loss_sum: f64,
    correct: usize,
    train_seconds: f64,
}

impl Run {
    fn progress(&self, stepper: &Stepper, epoch: usize, so_far: EpochSoFar) -> Progress {
        Progress {
            epoch,
            batches_done: so_far.batches_done,
            input_scaling: self.classifier.input_scaling,
            params: flat(&self.classifier.mlp.params),
            optimizer: stepper.optimizer.state(),
            order: self.order.iter().map(|&i| i as u32).collect(),
            shuffler: self.shuffler.state(),
            augmenter: stepper.augmenter.state(),
            running_loss_sum: so_far.loss_sum,
            running_correct: so_far.correct,
            train_seconds: so_far.train_seconds,
            history: self.history.clone(),
            timings: self.timings.clone(),
            kept: self.kept.as_ref().map(|k| KeptProgress {
                epoch: k.epoch,
                val_accuracy: k.val_accuracy,
                test: k.test,
                params: flat(&k.classifier.mlp.params),
            }),
        }
    }

    /// Takes over a saved run's state, after checking that it belongs to this run.
    fn restore(
        &mut self,
        stepper: &mut Stepper,
        saved: Progress,
        config: &TrainConfig,
        train_indices: &[usize],
        batches: usize,
    ) -> Result<EpochSoFar, TrainError> {
        let bad = |what: String| Err(TrainError::Resume(what));
        if !(1..=config.epochs).contains(&saved.epoch) || saved.batches_done >= batches {
            return bad(format!(
                "it stands at batch {} of epoch {}, outside a run of {} epochs of {batches} \
                 batches",
                saved.batches_done, saved.epoch, config.epochs
            ));
        }
        let finished = saved.epoch - 1;
        if saved.history.len() != finished || saved.timings.len() != finished {
            return bad(format!(
                "it records {} epochs of metrics but {finished} finished",
                saved.history.len()
            ));
        }
        let mut order: Vec<usize> = saved.order.iter().map(|&i| i as usize).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        if sorted != train_indices {
            return bad("its batch order is not an order of this run's training images".into());
        }
        params_from(&mut self.classifier.mlp.params, &saved.params)?;
        self.classifier.input_scaling = saved.input_scaling;
        stepper
            .optimizer
            .restore(&saved.optimizer)
            .map_err(TrainError::Resume)?;
        stepper.augmenter = SeededRng::from_state(saved.augmenter);
        std::mem::swap(&mut self.order, &mut order);
        self.shuffler = SeededRng::from_state(saved.shuffler);
        self.history = saved.history;
        self.timings = saved.timings;
        self.kept = match saved.kept {
            Some(k) => {
                let mut classifier = self.classifier.clone();
                params_from(&mut classifier.mlp.params, &k.params)?;
                Some(Kept {
                    classifier,
                    epoch: k.epoch,
                    val_accuracy: k.val_accuracy,
                    test: k.test,
                })
            }
            None => None,
        };
        Ok(EpochSoFar {
            batches_done: saved.batches_done,
            loss_sum: saved.running_loss_sum,
            correct: saved.running_correct,
            train_seconds: saved.train_seconds,
        })
    }
}

/// [`train`], or with `resume`, the continuation of a run stopped where that [`Progress`]
/// was taken (by the same config on the same data): the result is the same, bit for bit,
/// as that of the run that was not stopped.
pub fn train_from(
    config: &TrainConfig,
    train_set: &LabeledImages,
    test_set: &LabeledImages,
    num_classes: usize,
    resume: Option<Progress>,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome, TrainError> {
    config.validate()?;
    denormals::flush_on_all_threads();
    let n = train_set.labels.len();
    if n == 0 {
        return Err(TrainError::EmptyTrainingSet);
    }
    let (train_indices, val_indices) = split_validation(n, config.val_split, config.seed)?;
    let n = train_indices.len();
    let arch = config.architecture(train_set.images.pixels_per_image(), num_classes);
    let classifier = Classifier {
        input_scaling: InputScaling::fit(config.input_scaling, &train_set.images),
        mlp: Mlp::initial(arch.clone(), config.seed),
    };
    classifier.check_compatible(test_set)?;

    let batch = config.batch_size.min(n);
    let batches = n.div_ceil(batch);
    let mut stepper = Stepper::new(config, train_set, &arch, batch, batches);
    let mut run = Run {
        classifier,
        order: train_indices.clone(),
        shuffler: SeededRng::derive(config.seed, 1),
        history: Vec::with_capacity(config.epochs),
        timings: Vec::with_capacity(config.epochs),
        kept: None,
    };
    let mut first_epoch = 1;
    let mut resumed = None;
    if let Some(saved) = resume {
        first_epoch = saved.epoch;
        resumed = Some(run.restore(&mut stepper, saved, config, &train_indices, batches)?);
    }
    let diverged = |what: String, epoch, batch| TrainError::Diverged {
        what,
        epoch,
        batch,
        lr: config.learning_rate,
    };
    let weights_diverged = || "the weights became NaN or infinite".to_string();

    for epoch in first_epoch..=config.epochs {
        let started = Instant::now();
        // The running train metrics: sums over the epoch's mini-batches.
        let mut so_far = match resumed.take() {
            Some(so_far) if so_far.batches_done > 0 => so_far,
            _ => {
                run.shuffler.shuffle(&mut run.order);
                EpochSoFar::default()
            }
        };
        let earlier_seconds = so_far.train_seconds;
        let chunks = run.order.chunks(batch).enumerate();
        for (b, minibatch) in chunks.skip(so_far.batches_done) {
            let step = (epoch - 1) * batches + b;
            let (loss_sum, correct) = stepper.step(&mut run.classifier, minibatch, step);
            if !loss_sum.is_finite() || loss_sum > EXPLODED_LOSS * minibatch.len() as f32 {
                let loss = f64::from(loss_sum) / minibatch.len() as f64;
                return Err(diverged(loss_divergence(loss), epoch, b + 1));
            }
            so_far.loss_sum += f64::from(loss_sum);
            so_far.correct += correct;
            observer.batch_done(b + 1, batches);
            if b + 1 < batches && observer.stop_requested() {
                if !all_finite(&run.classifier.mlp.params) {
                    return Err(diverged(weights_diverged(), epoch, b + 1));
                }
                so_far.batches_done = b + 1;
                so_far.train_seconds = earlier_seconds + started.elapsed().as_secs_f64();
                observer
                    .checkpoint(&run.progress(&stepper, epoch, so_far))
                    .map_err(TrainError::Observer)?;
                return Err(TrainError::Interrupted {
                    epoch,
                    batches_done: b + 1,
                    batches,
                });
            }
        }
        let train_seconds = earlier_seconds + started.elapsed().as_secs_f64();
        // The loss is that of the weights before each step: the last step's result is
        // checked here, before anything is evaluated or saved.
        if !all_finite(&run.classifier.mlp.params) {
            return Err(diverged(weights_diverged(), epoch, batches));
        }

        let started = Instant::now();
        let classifier = &run.classifier;
        let on_train = match config.train_metrics {
            TrainMetrics::Running => Evaluation {
                correct: so_far.correct,
                total: n,
                loss: so_far.loss_sum / n as f64,
            },
            TrainMetrics::Full => classifier.evaluate_subset(train_set, &train_indices),
        };
        let on_val =
            (!val_indices.is_empty()).then(|| classifier.evaluate_subset(train_set, &val_indices));
        let on_test = classifier.evaluate(test_set);
        if !on_train.loss.is_finite() {
            return Err(diverged(loss_divergence(on_train.loss), epoch, batches));
        }
        run.history.push(EpochMetrics {
            epoch,
            train_loss: on_train.loss,
            train_accuracy: on_train.accuracy(),
            test_loss: on_test.loss,
            test_accuracy: on_test.accuracy(),
            val_loss: on_val.map(|v| v.loss),
            val_accuracy: on_val.map(|v| v.accuracy()),
        });
        let timing = EpochTiming {
            train_seconds,
            eval_seconds: started.elapsed().as_secs_f64(),
        };
        run.timings.push(timing);
        // Without validation images the last epoch is kept; with them, the best on them
        // (never the test set), the earliest on ties.
        let improves = match (&run.kept, on_val) {
            (Some(best), Some(val)) => val.accuracy() > best.val_accuracy,
            _ => true,
        };
        if improves {
            run.kept = Some(Kept {
                classifier: classifier.clone(),
                epoch,
                val_accuracy: on_val.map_or(0.0, |v| v.accuracy()),
                test: on_test,
            });
        }
        observer
            .epoch_done(&run.classifier, &run.history, timing, improves)
            .map_err(TrainError::Observer)?;
        if epoch < config.epochs {
            let stop = observer.stop_requested();
            if stop || observer.checkpoints_every_epoch() {
                let progress = run.progress(&stepper, epoch + 1, EpochSoFar::default());
                observer
                    .checkpoint(&progress)
                    .map_err(TrainError::Observer)?;
            }
            if stop {
                return Err(TrainError::Interrupted {
                    epoch: epoch + 1,
                    batches_done: 0,
                    batches,
                });
            }
        }
    }
    let kept = run.kept.expect("validated: at least one epoch");
    Ok(TrainOutcome {
        classifier: kept.classifier,
        kept_epoch: kept.epoch,
        history: run.history,
        timings: run.timings,
        final_test: kept.test,
    })
}

/// What a run's mini-batch steps need and keep: the shards' buffers, the mini-batch, the
/// gradients, the optimizer's state and the augmentation's random stream.
struct Stepper<'a> {
    config: &'a TrainConfig,
    train_set: &'a LabeledImages,
    shards: Vec<Shard>,
    minibatch: MiniBatch,
    /// One gradient per shard; the first also holds the first layer's whole gradient.
    grads: Vec<Params<f32>>,
    optimizer: Optimizer<f32>,
    augmenter: SeededRng,
    transforms: Vec<Transform>,
    max_norm_scratch: Vec<f32>,
    total_steps: usize,
    warmup_steps: usize,
}

impl<'a> Stepper<'a> {
    fn new(
        config: &'a TrainConfig,
        train_set: &'a LabeledImages,
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
                x: Array2::zeros((batch, arch.input_size)),
                labels: Vec::with_capacity(batch),
                first_layer_delta: Array2::zeros((batch, arch.layer_sizes()[1])),
            },
            grads: (0..shard_count).map(|_| Params::zeros(arch)).collect(),
            optimizer: Optimizer::new(arch, config.optimizer_config()),
            augmenter: SeededRng::derive(config.seed, 2),
            transforms: Vec::with_capacity(batch),
            max_norm_scratch: Vec::new(),
            total_steps: config.epochs * batches_per_epoch,
            warmup_steps: config.warmup_epochs * batches_per_epoch,
        }
    }

    /// Step number `step` (from 0) on the training images at `samples`: returns their
    /// summed loss and how many were predicted right, both before the update.
    fn step(
        &mut self,
        classifier: &mut Classifier,
        samples: &[usize],
        step: usize,
    ) -> (f32, usize) {
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
            .collect();
        let (mlp, scaling) = (&classifier.mlp, &classifier.input_scaling);
        self.shards
            .par_iter_mut()
            .zip(self.grads.par_iter_mut())
            .zip(rows.as_mut_slice().par_iter_mut())
            .enumerate()
            .for_each(|(k, ((shard, grads), (x, delta)))| {
                let part = shard_rows(k, shard_count, len);
                let shard_samples = samples[part.clone()]
                    .iter()
                    .copied()
                    .zip(transforms[part.clone()].iter().copied());
                fill_batch(x.view_mut(), &train_set.images, shard_samples, scaling);
                let labels = &data.labels[part];
                if config.dropout > 0.0 {
                    // One stream per (step, shard): the same masks on any number of threads.
                    let stream = DROPOUT_STREAMS + (step * MAX_SHARDS + k) as u64;
                    let mut rng = SeededRng::derive(config.seed, stream);
                    shard
                        .ws
                        .draw_dropout_masks(&mut rng, config.dropout, labels.len());
                }
                let (ws, x) = (&mut shard.ws, x.view());
                shard.loss_sum = mlp.backprop_to_first_layer(ws, grads, x, labels, len);
                shard.correct = count_correct(ws.probs(labels.len()), labels);
                delta.assign(&ws.first_layer_delta(labels.len()));
            });
        drop(rows); // the shards' hold on the mini-batch's rows
        first_layer_gradient(
            &mut self.grads[0].layers[0],
            data.x.slice(s![..len, ..]),
            data.first_layer_delta.slice(s![..len, ..]),
            shard_count,
        );
        let lr = learning_rate(
            config.lr_schedule,
            config.learning_rate,
            step,
            self.total_steps,
            self.warmup_steps,
        );
        let params = &mut classifier.mlp.params;
        // The first layer's two tensors are whole in the first shard.
        self.optimizer.step(lr as f32, params, &self.grads, 2);
        if let Some(max_norm) = config.max_norm {
            apply_max_norm(params, max_norm, &mut self.max_norm_scratch);
        }
        let loss_sum = self.shards.iter().map(|s| s.loss_sum).sum();
        (loss_sum, self.shards.iter().map(|s| s.correct).sum())
    }
}

/// The network kept so far, and how it did.
struct Kept {
    classifier: Classifier,
    epoch: usize,
    val_accuracy: f64,
    test: Evaluation,
}

/// Splits the n training images into those trained on and `held_out` validation images,
/// chosen by a seeded shuffle (so a sorted data set is split fairly). Both lists ascend.
fn split_validation(
    n: usize,
    held_out: usize,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), TrainError> {
    if held_out >= n {
        return Err(TrainError::ValSplit { held_out, n });
    }
    let mut all: Vec<usize> = (0..n).collect();
    if held_out > 0 {
        SeededRng::derive(seed, VALIDATION_STREAM).shuffle(&mut all);
    }
    let mut val = all.split_off(n - held_out);
    all.sort_unstable();
    val.sort_unstable();
    Ok((all, val))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::dense_parameter_gradient;
    use ndarray::Array1;

    #[test]
    fn first_layer_gradient_in_blocks_equals_the_whole_product() {
        let mut rng = SeededRng::new(5);
        let x = Array2::from_shape_fn((9, 50), |_| rng.uniform() as f32);
        let delta = Array2::from_shape_fn((9, 7), |_| rng.standard_normal() as f32);
        let mut whole = Dense {
            w: Array2::zeros((50, 7)),
            b: Array1::zeros(7),
        };
        dense_parameter_gradient(
            whole.w.view_mut(),
            whole.b.view_mut(),
            delta.view(),
            x.view(),
        );
        for blocks in [1, 2, 3, 8] {
            let mut blocked = Dense {
                w: Array2::from_elem((50, 7), f32::NAN),
                b: Array1::from_elem(7, f32::NAN),
            };
            first_layer_gradient(&mut blocked, x.view(), delta.view(), blocks);
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
