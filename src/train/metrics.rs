//! Per-epoch training metrics and the CSV file that records them.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::io::atomic::{WriteError, write_atomically};

/// What one epoch of training achieved. Accuracies are fractions in [0, 1]; losses are mean
/// cross-entropy per sample (against the smoothed targets, for the running train loss of a
/// run with label smoothing).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// The train figures that are plotted and printed, as `--train-metrics` measured them:
    /// the running ones, or an evaluation of [`EpochMetrics::train_images`] training images.
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    /// On the validation images held out of training (`--val-split`), if any.
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Over the epoch's mini-batches as they were trained on (with their augmentation and
    /// dropout, by the weights of the moment), whatever `--train-metrics` says; `None` in
    /// weights files written before format version 5.
    pub running_train_loss: Option<f64>,
    pub running_train_accuracy: Option<f64>,
    /// How many training images the train figures were evaluated on, un-augmented and with
    /// the end-of-epoch weights; `None` when they are the running figures, or when a weights
    /// file written before format version 5 does not say.
    pub train_images: Option<usize>,
}

impl EpochMetrics {
    /// What the train figures are, as a curve's name: e.g. "train (10,000 images, end of
    /// epoch)", "train (running, over the epoch's batches)", or "train" when unknown.
    pub fn train_label(&self) -> String {
        match (self.train_images, self.running_train_accuracy) {
            (Some(n), _) => format!("train ({} images, end of epoch)", thousands(n)),
            (None, Some(_)) => "train (running, over the epoch's batches)".to_string(),
            (None, None) => "train".to_string(),
        }
    }
}

/// `n` with a comma between groups of three digits: 200960 → "200,960".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// How long one epoch took. Kept apart from [`EpochMetrics`], which a seed determines
/// exactly and which the weights file records, so that equal runs give equal files.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EpochTiming {
    /// Wall-clock seconds of the epoch's training steps (evaluation excluded).
    pub train_seconds: f64,
    /// Wall-clock seconds of the end-of-epoch evaluation on the train and test sets.
    pub eval_seconds: f64,
}

const CSV_HEADER: &str = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,\
val_loss,val_accuracy,train_seconds,eval_seconds,running_train_loss,running_train_accuracy,\
train_images";

/// Rewrites the whole metrics CSV (header + one row per epoch) atomically. `train_loss` and
/// `train_accuracy` are the plotted train figures, `train_images` how many images they were
/// evaluated on (empty for the running figures), and the running figures have their own
/// columns (empty when unknown).
pub fn write_metrics_csv(
    path: &Path,
    history: &[EpochMetrics],
    timings: &[EpochTiming],
) -> Result<(), WriteError> {
    write_atomically(path, |w| {
        writeln!(w, "{CSV_HEADER}")?;
        for (m, t) in history.iter().zip(timings) {
            let optional = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
            writeln!(
                w,
                "{},{:.6},{:.6},{:.6},{:.6},{},{},{:.3},{:.3},{},{},{}",
                m.epoch,
                m.train_loss,
                m.train_accuracy,
                m.test_loss,
                m.test_accuracy,
                optional(m.val_loss),
                optional(m.val_accuracy),
                t.train_seconds,
                t.eval_seconds,
                optional(m.running_train_loss),
                optional(m.running_train_accuracy),
                m.train_images.map(|n| n.to_string()).unwrap_or_default()
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_and_one_row_per_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        let m = EpochMetrics {
            epoch: 1,
            train_loss: 0.5,
            train_accuracy: 0.9,
            test_loss: 0.4,
            test_accuracy: 0.91,
            val_loss: None,
            val_accuracy: None,
            running_train_loss: Some(0.6),
            running_train_accuracy: Some(0.85),
            train_images: Some(10_000),
        };
        let t = EpochTiming {
            train_seconds: 1.25,
            eval_seconds: 0.5,
        };
        // The running figures and the sample size unknown, as in an old weights file.
        let second = EpochMetrics {
            epoch: 2,
            val_loss: Some(0.3),
            val_accuracy: Some(0.92),
            running_train_loss: None,
            running_train_accuracy: None,
            train_images: None,
            ..m
        };
        write_metrics_csv(&path, &[m, second], &[t, t]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1],
            "1,0.500000,0.900000,0.400000,0.910000,,,1.250,0.500,0.600000,0.850000,10000"
        );
        assert_eq!(
            lines[2],
            "2,0.500000,0.900000,0.400000,0.910000,0.300000,0.920000,1.250,0.500,,,"
        );
    }

    #[test]
    fn the_train_label_says_what_the_train_figures_are() {
        let m = EpochMetrics {
            epoch: 1,
            train_loss: 0.5,
            train_accuracy: 0.9,
            test_loss: 0.4,
            test_accuracy: 0.91,
            val_loss: None,
            val_accuracy: None,
            running_train_loss: Some(0.6),
            running_train_accuracy: Some(0.85),
            train_images: Some(10_000),
        };
        assert_eq!(m.train_label(), "train (10,000 images, end of epoch)");
        let all = EpochMetrics {
            train_images: Some(1_234_567),
            ..m
        };
        assert_eq!(all.train_label(), "train (1,234,567 images, end of epoch)");
        let few = EpochMetrics {
            train_images: Some(400),
            ..m
        };
        assert_eq!(few.train_label(), "train (400 images, end of epoch)");
        let running = EpochMetrics {
            train_images: None,
            ..m
        };
        assert_eq!(
            running.train_label(),
            "train (running, over the epoch's batches)"
        );
    }
}
