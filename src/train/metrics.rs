//! Per-epoch training metrics and the CSV file that records them.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::io::atomic::{WriteError, write_atomically};

/// What one epoch of training achieved, measured with the end-of-epoch weights.
/// Accuracies are fractions in [0, 1]; losses are mean cross-entropy per sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    /// On the validation images held out of training (`--val-split`), if any.
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
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
val_loss,val_accuracy,train_seconds,eval_seconds";

/// Rewrites the whole metrics CSV (header + one row per epoch) atomically.
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
                "{},{:.6},{:.6},{:.6},{:.6},{},{},{:.3},{:.3}",
                m.epoch,
                m.train_loss,
                m.train_accuracy,
                m.test_loss,
                m.test_accuracy,
                optional(m.val_loss),
                optional(m.val_accuracy),
                t.train_seconds,
                t.eval_seconds
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
        };
        let t = EpochTiming {
            train_seconds: 1.25,
            eval_seconds: 0.5,
        };
        let second = EpochMetrics {
            epoch: 2,
            val_loss: Some(0.3),
            val_accuracy: Some(0.92),
            ..m
        };
        write_metrics_csv(&path, &[m, second], &[t, t]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1],
            "1,0.500000,0.900000,0.400000,0.910000,,,1.250,0.500"
        );
        assert_eq!(
            lines[2],
            "2,0.500000,0.900000,0.400000,0.910000,0.300000,0.920000,1.250,0.500"
        );
    }
}
