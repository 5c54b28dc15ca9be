//! The homework's `evaluate_hw1()`: load the MNIST test set and the trained network, return
//! the average test accuracy.

use std::path::Path;

use anyhow::Context;

use crate::dataset::{LabeledImages, Split, load_split};
use crate::model::Evaluation;
use crate::weights::{self, SavedRun};

/// The average accuracy (a fraction in [0, 1]) of the network in `weights` on the MNIST test
/// set in `data_dir`.
pub fn evaluate_hw1(data_dir: &Path, weights: &Path) -> anyhow::Result<f64> {
    Ok(evaluate_test_set(data_dir, weights)?.accuracy())
}

/// Correct count, total and mean loss of the network in `weights` on the test set in
/// `data_dir`: the same computation `train` reports after each epoch.
pub fn evaluate_test_set(data_dir: &Path, weights: &Path) -> anyhow::Result<Evaluation> {
    let (run, test) = load_with_test_set(data_dir, weights)?;
    Ok(run.classifier.evaluate(&test))
}

/// The network in `weights` and the test set in `data_dir`, checked to fit each other.
pub fn load_with_test_set(
    data_dir: &Path,
    weights: &Path,
) -> anyhow::Result<(SavedRun, LabeledImages)> {
    let run = weights::load(weights)?;
    let test = load_split(data_dir, Split::Test)?;
    run.classifier.check_compatible(&test).with_context(|| {
        format!(
            "the network in {} does not fit the test set in {}",
            weights.display(),
            data_dir.display()
        )
    })?;
    Ok((run, test))
}
