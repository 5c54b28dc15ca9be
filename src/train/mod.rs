//! The training loop: mini-batch SGD over reshuffled epochs, with the train and test sets
//! evaluated after every epoch ([`train`], [`train_from`]); the configuration is in
//! [`config`], the resumable state in [`progress`], the mini-batch step in [`stepper`], the
//! check that the run is learning in [`learning`].

pub mod config;
pub mod learning;
pub mod memory;
pub mod metrics;
pub mod progress;
pub mod stepper;
pub mod sweep;

use std::time::Instant;

use crate::data::images::LabeledImages;
use crate::data::input::{BatchForm, InputScaling};
use crate::model::{Classifier, Evaluation, MismatchError, NonFiniteOutputs};
use crate::nn::mlp::{Mlp, Params};
use crate::nn::rng::SeededRng;
use crate::train::config::{ConfigError, TRAIN_SAMPLE, TrainConfig, TrainMetrics};
use crate::train::learning::{Collapsed, LearningCheck, NotLearning};
use crate::train::memory::{TooLarge, check_fits};
use crate::train::metrics::{EpochMetrics, EpochTiming};
use crate::train::progress::{KeptProgress, Progress, ResumeError, flat, params_from};
use crate::train::stepper::Stepper;

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the training set is empty")]
    EmptyTrainingSet,
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    #[error("--val-split {held_out} leaves no training images out of {n}")]
    ValSplit { held_out: usize, n: usize },
    #[error(
        "the training set does not fit the network: {0}; every training label must be one \
         of the data set's classes: check the training labels file"
    )]
    TrainingSet(MismatchError),
    #[error("the test set does not fit the network: {0}")]
    TestSet(#[from] MismatchError),
    #[error(
        "{what} in epoch {epoch} (batch {batch}): training diverged; try a smaller --lr \
         (now {lr}). The weights file keeps the last network kept (none is written if no \
         finished epoch did better than chance)"
    )]
    Diverged {
        /// What went wrong: "the loss became NaN", "the weights became NaN or infinite", …
        what: String,
        epoch: usize,
        batch: usize,
        lr: f64,
    },
    /// The train accuracy had not left chance by the epoch that judges the run (or by its
    /// end), or the train loss had not moved.
    #[error(transparent)]
    NotLearning(NotLearning),
    /// The train or test accuracy fell back to chance after an epoch above it.
    #[error(transparent)]
    Collapsed(Collapsed),
    #[error("interrupted in epoch {epoch} after {batches_done} of its {batches} batches")]
    Interrupted {
        epoch: usize,
        batches_done: usize,
        batches: usize,
    },
    #[error("cannot resume: {0}")]
    Resume(#[from] ResumeError),
    #[error(transparent)]
    Observer(#[from] ObserverError),
}

/// A [`TrainObserver`]'s failure (e.g. a file it writes could not be written), which stops
/// training; its message and causes are those of the error it wraps.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ObserverError(Box<dyn std::error::Error + Send + Sync>);

impl ObserverError {
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ObserverError(err.into())
    }
}

/// Mean loss per sample above which a mini-batch counts as diverged: the network then gives
/// the right class a probability below e^-10000, which only exploding weights do (a fresh
/// network's loss is ln(classes), 2.3 for ten).
const EXPLODED_LOSS: f64 = 1e4;

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
    /// the best on the validation images; never one whose train accuracy is near chance).
    /// An epoch that stops the run for not learning or for collapsing is not handed over.
    /// An error stops training.
    fn epoch_done(
        &mut self,
        classifier: &Classifier,
        history: &[EpochMetrics],
        timing: EpochTiming,
        kept: bool,
    ) -> Result<(), ObserverError>;
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
    fn checkpoint(&mut self, _progress: &Progress) -> Result<(), ObserverError> {
        Ok(())
    }
}

fn all_finite(params: &Params<f32>) -> bool {
    params.tensors().flatten().all(|v| v.is_finite())
}

/// The seeded stream that picks the validation images (0–2 are the initial weights, the
/// batch order and the augmentation).
const VALIDATION_STREAM: u64 = 3;
/// The seeded stream that picks the training images of [`TrainMetrics::Sample`].
const TRAIN_SAMPLE_STREAM: u64 = 4;

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
    ) -> Result<EpochSoFar, ResumeError> {
        if !(1..=config.epochs).contains(&saved.epoch) || saved.batches_done >= batches {
            return Err(ResumeError::Position {
                batches_done: saved.batches_done,
                epoch: saved.epoch,
                epochs: config.epochs,
                batches,
            });
        }
        let finished = saved.epoch - 1;
        if saved.history.len() != finished || saved.timings.len() != finished {
            return Err(ResumeError::History {
                recorded: saved.history.len(),
                finished,
            });
        }
        let mut order: Vec<usize> = saved.order.iter().map(|&i| i as usize).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        if sorted != train_indices {
            return Err(ResumeError::Order);
        }
        params_from(&mut self.classifier.mlp.params, &saved.params)?;
        self.classifier.input_scaling = saved.input_scaling;
        stepper.optimizer.restore(&saved.optimizer)?;
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
    let n = train_set.labels.len();
    if n == 0 {
        return Err(TrainError::EmptyTrainingSet);
    }
    let (train_indices, val_indices) = split_validation(n, config.val_split, config.seed)?;
    let n = train_indices.len();
    // The training images whose evaluation gives the plotted train figures, if any.
    let train_measured = match config.train_metrics {
        TrainMetrics::Running => None,
        TrainMetrics::Sample => Some(train_sample(&train_indices, config.seed)),
        TrainMetrics::Full => Some(train_indices.clone()),
    };
    let arch = config.architecture(train_set.images.pixels_per_image(), num_classes);
    let batch = config.batch_size.min(n);
    check_fits(&arch, batch)?;
    let classifier = Classifier {
        input_scaling: InputScaling::fit_subset(
            config.input_scaling,
            &train_set.images,
            &train_indices,
        ),
        mlp: Mlp::initial(arch.clone(), config.seed),
    };
    classifier
        .check_compatible(train_set)
        .map_err(TrainError::TrainingSet)?;
    classifier.check_compatible(test_set)?;

    let batches = n.div_ceil(batch);
    let check = LearningCheck::new(
        config,
        train_indices.iter().map(|&i| train_set.labels[i]),
        test_set.labels.iter().copied(),
        num_classes,
        batches,
    );
    let form = BatchForm::for_images(&train_set.images);
    let mut stepper = Stepper::new(config, train_set, form, &arch, batch, batches);
    let mut run = Run {
        classifier,
        order: train_indices.clone(),
        shuffler: SeededRng::derive(config.seed, 1),
        // Grown as epochs finish: --epochs may be far more than will ever run.
        history: Vec::new(),
        timings: Vec::new(),
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
            if !loss_sum.is_finite() || loss_sum > EXPLODED_LOSS * minibatch.len() as f64 {
                let loss = loss_sum / minibatch.len() as f64;
                return Err(diverged(loss_divergence(loss), epoch, b + 1));
            }
            so_far.loss_sum += loss_sum;
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
        let running = Evaluation {
            correct: so_far.correct,
            total: n,
            loss: so_far.loss_sum / n as f64,
        };
        if !running.loss.is_finite() {
            return Err(diverged(loss_divergence(running.loss), epoch, batches));
        }
        let evaluated = |e: Result<Evaluation, NonFiniteOutputs>| {
            let what = "the network's outputs became NaN or infinite";
            e.map_err(|_| diverged(what.to_string(), epoch, batches))
        };
        let on_train = match &train_measured {
            Some(indices) => evaluated(classifier.evaluate_subset(train_set, indices))?,
            None => running,
        };
        let on_val = (!val_indices.is_empty())
            .then(|| evaluated(classifier.evaluate_subset(train_set, &val_indices)))
            .transpose()?;
        let on_test = evaluated(classifier.evaluate(test_set))?;
        let metrics = EpochMetrics {
            epoch,
            train_loss: on_train.loss,
            train_accuracy: on_train.accuracy(),
            test_loss: on_test.loss,
            test_accuracy: on_test.accuracy(),
            val_loss: on_val.map(|v| v.loss),
            val_accuracy: on_val.map(|v| v.accuracy()),
            running_train_loss: Some(running.loss),
            running_train_accuracy: Some(running.accuracy()),
            train_images: train_measured.as_ref().map(Vec::len),
        };
        run.history.push(metrics);
        let timing = EpochTiming {
            train_seconds,
            eval_seconds: started.elapsed().as_secs_f64(),
        };
        run.timings.push(timing);
        // A run that fell back to chance, or that has not left it by the epoch that judges
        // it, stops before this epoch reaches the observer.
        let kept_epoch = run.kept.as_ref().map(|k| k.epoch);
        if let Some(collapsed) = check.collapse(&run.history, kept_epoch) {
            return Err(TrainError::Collapsed(collapsed));
        }
        if let Some(stuck) = check.judge(&run.history, kept_epoch) {
            return Err(TrainError::NotLearning(stuck));
        }
        // Only a network out of chance on the train images is kept: without validation
        // images the last; with them, the best on them (never the test set), the earliest on
        // ties.
        let improves = check.learned(&metrics)
            && match (&run.kept, on_val) {
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
    let Some(kept) = run.kept else {
        let last = run.history.last().expect("validated: at least one epoch");
        return Err(TrainError::NotLearning(check.never_learned(last)));
    };
    Ok(TrainOutcome {
        classifier: kept.classifier,
        kept_epoch: kept.epoch,
        history: run.history,
        timings: run.timings,
        final_test: kept.test,
    })
}

/// The network kept so far, and how it did.
struct Kept {
    classifier: Classifier,
    epoch: usize,
    val_accuracy: f64,
    test: Evaluation,
}

/// The training images of [`TrainMetrics::Sample`]: [`TRAIN_SAMPLE`] of `train_indices` (all
/// of them when fewer) picked by a seeded shuffle on a stream of their own, so that the
/// sample is fixed for the run and drawing it changes no other random stream. Ascending.
fn train_sample(train_indices: &[usize], seed: u64) -> Vec<usize> {
    let mut sample = train_indices.to_vec();
    if sample.len() > TRAIN_SAMPLE {
        SeededRng::derive(seed, TRAIN_SAMPLE_STREAM).shuffle(&mut sample);
        sample.truncate(TRAIN_SAMPLE);
        sample.sort_unstable();
    }
    sample
}

/// Splits the n training images into those trained on and `held_out` validation images,
/// chosen by a seeded shuffle (so a sorted data set is split fairly). Both lists ascend.
pub(crate) fn split_validation(
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
mod tests;
