//! Comparing training settings on validation images only: each setting trains on the
//! training images less a held-out validation split, and is judged by its best epoch on
//! that split. The test set takes no part: [`Validation`] is made from the training split
//! alone, so a sweep that chooses a setting never loads the test images or their labels.
//!
//! The split is the one `train --val-split N --seed S` holds out, and a setting's figures
//! are those that `train` reports for its validation images.

use serde::{Deserialize, Serialize};

use crate::data::images::LabeledImages;
use crate::train::config::TrainConfig;
use crate::train::metrics::EpochMetrics;
use crate::train::{TrainError, TrainObserver, split_validation, train};

/// The training images of one seed's split: those trained on and those held out.
pub struct Validation {
    pub seed: u64,
    pub held_out: usize,
    fit: LabeledImages,
    validation: LabeledImages,
}

impl Validation {
    /// Holds `held_out` of `train_set`'s images out, as `train --val-split held_out --seed
    /// seed` does.
    pub fn split(
        train_set: &LabeledImages,
        held_out: usize,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let (fit, validation) = split_validation(train_set.labels.len(), held_out, seed)?;
        Ok(Validation {
            seed,
            held_out,
            fit: train_set.subset(&fit),
            validation: train_set.subset(&validation),
        })
    }

    /// Trains as `config` says (its seed and validation split must be this split's) and
    /// evaluates every epoch on the validation images.
    pub fn run(
        &self,
        config: &TrainConfig,
        classes: usize,
        observer: &mut dyn TrainObserver,
    ) -> Result<ValidationRun, TrainError> {
        assert_eq!(
            (config.seed, config.val_split),
            (self.seed, self.held_out),
            "a setting runs on the split of its own seed and size"
        );
        // Inside, the validation images take the place of the test set, and no images are
        // held out of the rest.
        let inner = TrainConfig {
            val_split: 0,
            ..config.clone()
        };
        let outcome = train(&inner, &self.fit, &self.validation, classes, observer)?;
        let seconds: f64 = outcome.timings.iter().map(|t| t.train_seconds).sum();
        Ok(ValidationRun::of(
            &outcome.history,
            seconds / outcome.timings.len().max(1) as f64,
        ))
    }
}

/// How a setting did on the validation images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRun {
    /// The epoch with the highest validation accuracy (the earliest on ties): the one
    /// `train --val-split` keeps.
    pub best_epoch: usize,
    pub val_accuracy: f64,
    pub val_loss: f64,
    /// The train accuracy of the best epoch, as `--train-metrics` measured it.
    pub train_accuracy: f64,
    /// The validation accuracy after each epoch.
    pub val_curve: Vec<f64>,
    /// Mean training time of an epoch (evaluation excluded).
    pub seconds_per_epoch: f64,
}

impl ValidationRun {
    /// From the history of a run whose "test" figures are those of the validation images.
    fn of(history: &[EpochMetrics], seconds_per_epoch: f64) -> Self {
        let best = history
            .iter()
            .reduce(|best, m| {
                if m.test_accuracy > best.test_accuracy {
                    m
                } else {
                    best
                }
            })
            .expect("a finished run has at least one epoch");
        ValidationRun {
            best_epoch: best.epoch,
            val_accuracy: best.test_accuracy,
            val_loss: best.test_loss,
            train_accuracy: best.train_accuracy,
            val_curve: history.iter().map(|m| m.test_accuracy).collect(),
            seconds_per_epoch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, val: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: 0.1,
            train_accuracy: 0.99,
            test_loss: 1.0 - val,
            test_accuracy: val,
            val_loss: None,
            val_accuracy: None,
            running_train_loss: None,
            running_train_accuracy: None,
            train_images: None,
        }
    }

    #[test]
    fn the_best_epoch_is_the_earliest_of_the_highest_validation_accuracy() {
        let history = [
            epoch(1, 0.9),
            epoch(2, 0.95),
            epoch(3, 0.95),
            epoch(4, 0.93),
        ];
        let run = ValidationRun::of(&history, 1.0);
        assert_eq!((run.best_epoch, run.val_accuracy), (2, 0.95));
        assert_eq!(run.val_curve, vec![0.9, 0.95, 0.95, 0.93]);
    }
}
