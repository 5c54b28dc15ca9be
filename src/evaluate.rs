//! The homework's `evaluate_hw1()`: load the MNIST test set and the trained network, return
//! the average test accuracy.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::data::catalog::Dataset;
use crate::data::idx::DataError;
use crate::data::images::LabeledImages;
use crate::data::names::Split;
use crate::data::source::DataSource;
use crate::data::source::{DataRequest, SourceError, resolve_source};
use crate::model::{Evaluation, MismatchError, NonFiniteOutputs};
use crate::store::weights::{self, SavedRun, WeightsError};

/// Why a network could not be evaluated on a test set.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{misfit}: the network has {outputs} classes, {dataset} has {}", dataset.num_classes())]
    ClassCount {
        misfit: Box<Misfit>,
        outputs: usize,
        dataset: Dataset,
    },
    #[error("{misfit}")]
    Mismatch {
        misfit: Box<Misfit>,
        #[source]
        source: MismatchError,
    },
    #[error("{}", weights.display())]
    Outputs {
        weights: PathBuf,
        #[source]
        source: NonFiniteOutputs,
    },
}

impl EvaluateError {
    /// The error of the network in `weights` whose outputs overflow.
    pub fn outputs(weights: &Path) -> impl FnOnce(NonFiniteOutputs) -> Self + '_ {
        |source| EvaluateError::Outputs {
            weights: weights.to_path_buf(),
            source,
        }
    }
}

/// A network and a test set that do not fit each other: which network, trained on what,
/// and which test set, in which folder.
#[derive(Debug)]
pub struct Misfit {
    pub weights: PathBuf,
    pub trained_on: String,
    pub test_set: String,
    pub dir: PathBuf,
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the network in {} (trained on {}) does not fit the {} test set in {}",
            self.weights.display(),
            self.trained_on,
            self.test_set,
            self.dir.display()
        )
    }
}

/// The average accuracy (a fraction in [0, 1]) of the network in `weights` on the test set
/// in `data_dir` (MNIST's, or any variant's that the folder is recognised to hold).
pub fn evaluate_hw1(data_dir: &Path, weights: &Path) -> Result<f64, EvaluateError> {
    let request = DataRequest {
        dataset: None,
        dir: Some(data_dir.to_path_buf()),
    };
    let source = resolve_source(&request, &[Split::Test])?;
    Ok(evaluate_test_set(&source, weights)?.accuracy())
}

/// Correct count, total and mean loss of the network in `weights` on the test set of
/// `source`: the same computation `train` reports after each epoch.
pub fn evaluate_test_set(source: &DataSource, weights: &Path) -> Result<Evaluation, EvaluateError> {
    let (run, test) = load_with_test_set(source, weights)?;
    let evaluation = run.classifier.evaluate(&test);
    evaluation.map_err(EvaluateError::outputs(weights))
}

/// The network in `weights` and the test set of `source`, checked to fit each other:
/// refuses a test set of another image size, or of a known data set with another number
/// of classes.
pub fn load_with_test_set(
    source: &DataSource,
    weights: &Path,
) -> Result<(SavedRun, LabeledImages), EvaluateError> {
    let run = weights::load(weights)?;
    let test = source.load(Split::Test)?;
    let outputs = run.classifier.mlp.arch.num_classes;
    let misfit = || {
        Box::new(Misfit {
            weights: weights.to_path_buf(),
            trained_on: run.data.describe(),
            test_set: source.describe(),
            dir: source.dir.clone(),
        })
    };
    if let Some(dataset) = source.dataset
        && dataset.num_classes() != outputs
    {
        return Err(EvaluateError::ClassCount {
            misfit: misfit(),
            outputs,
            dataset,
        });
    }
    if let Err(mismatch) = run.classifier.check_compatible(&test) {
        return Err(EvaluateError::Mismatch {
            misfit: misfit(),
            source: mismatch,
        });
    }
    Ok((run, test))
}
