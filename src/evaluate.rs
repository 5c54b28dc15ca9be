//! The homework's `evaluate_hw1()`: load the MNIST test set and the trained network, return
//! the average test accuracy.

use std::path::Path;

use anyhow::{Context, bail};

use crate::data::images::LabeledImages;
use crate::data::names::Split;
use crate::data::source::DataSource;
use crate::data::source::{DataRequest, resolve_source};
use crate::model::Evaluation;
use crate::store::weights::{self, SavedRun};

/// The average accuracy (a fraction in [0, 1]) of the network in `weights` on the test set
/// in `data_dir` (MNIST's, or any variant's that the folder is recognised to hold).
pub fn evaluate_hw1(data_dir: &Path, weights: &Path) -> anyhow::Result<f64> {
    let source = resolve_source(&DataRequest {
        dataset: None,
        dir: Some(data_dir.to_path_buf()),
    })?;
    Ok(evaluate_test_set(&source, weights)?.accuracy())
}

/// Correct count, total and mean loss of the network in `weights` on the test set of
/// `source`: the same computation `train` reports after each epoch.
pub fn evaluate_test_set(source: &DataSource, weights: &Path) -> anyhow::Result<Evaluation> {
    let (run, test) = load_with_test_set(source, weights)?;
    Ok(run.classifier.evaluate(&test))
}

/// The network in `weights` and the test set of `source`, checked to fit each other:
/// refuses a test set of another image size, or of a known data set with another number
/// of classes.
pub fn load_with_test_set(
    source: &DataSource,
    weights: &Path,
) -> anyhow::Result<(SavedRun, LabeledImages)> {
    let run = weights::load(weights)?;
    let test = source.load(Split::Test)?;
    let outputs = run.classifier.mlp.arch.num_classes;
    let misfit = || {
        format!(
            "the network in {} (trained on {}) does not fit the {} test set in {}",
            weights.display(),
            run.data.describe(),
            source.describe(),
            source.dir.display()
        )
    };
    if let Some(dataset) = source.dataset
        && dataset.num_classes() != outputs
    {
        bail!(
            "{}: the network has {outputs} classes, {dataset} has {}",
            misfit(),
            dataset.num_classes()
        );
    }
    run.classifier
        .check_compatible(&test)
        .with_context(misfit)?;
    Ok((run, test))
}
