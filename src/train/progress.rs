//! The resumable state of a run: [`Progress`], everything needed to continue a run stopped
//! between two mini-batches.

use serde::{Deserialize, Serialize};

use crate::data::input::InputScaling;
use crate::model::Evaluation;
use crate::nn::mlp::Params;
use crate::nn::optim::{OptimizerState, RestoreError};
use crate::nn::rng::RngState;
use crate::train::metrics::{EpochMetrics, EpochTiming};

/// A run stopped between two mini-batches: everything [`train_from`](super::train_from)
/// needs to continue it as if it had not stopped. The dropout masks need nothing: their
/// streams are fixed by the step and the shard.
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

/// The network kept so far (see
/// [`TrainOutcome::classifier`](super::TrainOutcome::classifier)), in a [`Progress`].
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

/// A [`Progress`] that cannot continue the run it is handed to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error(
        "the checkpoint stands at batch {batches_done} of epoch {epoch}, outside a run of \
         {epochs} epochs of {batches} batches: it is damaged or of another run; start afresh \
         (without --resume)"
    )]
    Position {
        batches_done: usize,
        epoch: usize,
        epochs: usize,
        batches: usize,
    },
    #[error(
        "the checkpoint records {recorded} epochs of metrics but {finished} finished: it is \
         damaged; start afresh (without --resume)"
    )]
    History { recorded: usize, finished: usize },
    #[error(
        "the checkpoint's batch order is not an order of this run's training images: resume \
         it on the data it was trained on"
    )]
    Order,
    #[error(
        "the checkpoint's tensors hold {saved:?} values, the network needs {needed:?}: it is \
         of another network; start afresh (without --resume)"
    )]
    Tensors {
        saved: Vec<usize>,
        needed: Vec<usize>,
    },
    #[error("{0}: the checkpoint is damaged or of another run; start afresh (without --resume)")]
    Optimizer(#[from] RestoreError),
}

/// Copies flat tensors into `params`, checking their number and sizes.
pub(super) fn params_from(params: &mut Params<f32>, saved: &[Vec<f32>]) -> Result<(), ResumeError> {
    let needed: Vec<usize> = params.tensors().map(<[f32]>::len).collect();
    let sizes: Vec<usize> = saved.iter().map(Vec::len).collect();
    if sizes != needed {
        return Err(ResumeError::Tensors {
            saved: sizes,
            needed,
        });
    }
    params
        .tensors_mut()
        .zip(saved)
        .for_each(|(t, s)| t.copy_from_slice(s));
    Ok(())
}

pub(super) fn flat(params: &Params<f32>) -> Vec<Vec<f32>> {
    params.tensors().map(<[f32]>::to_vec).collect()
}
