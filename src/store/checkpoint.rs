//! The checkpoint file: a training run stopped between two mini-batches, which
//! `mnist-mlp train --resume` continues exactly.
//!
//! Layout: the 8 bytes `MNISTCKP`, the format version as a little-endian u32, (from version
//! 4) the SHA-256 of the payload, then a bincode
//! (serde, standard configuration) payload: what the run is ([`RunInfo`]: the configuration,
//! the data set and a fingerprint of its images, the output paths) and where it stands
//! ([`Progress`]: weights, optimizer state, random streams, batch position, metrics so far).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::images::LabeledImages;
use crate::data::source::DataInfo;
use crate::io::atomic::WriteError;
use crate::store::framed::{self, CHECKSUM_MISMATCH, Frame, FrameProblem, decode_whole};
use crate::train::config::{TrainConfig, TrainMetrics};
use crate::train::progress::Progress;

pub const MAGIC: [u8; 8] = *b"MNISTCKP";
/// 2: the data trained on has a name (custom data's is its folder's).
/// 3: each epoch's metrics add the running train figures and how many training images the
/// train figures were evaluated on.
/// 4: the SHA-256 of the payload follows the version, and is verified on load (version 3
/// checkpoints, otherwise the same, load unverified, with a note).
pub const FORMAT_VERSION: u32 = 4;
/// Written in the current version; version 3 is still read.
const FRAME: Frame = Frame {
    magic: MAGIC,
    version: FORMAT_VERSION,
    oldest: 3,
    checksummed: 4,
};

/// What a checkpointed run is: everything but where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The mnist-mlp version that wrote it (another version may train differently).
    pub version: String,
    pub config: TrainConfig,
    /// Not part of [`TrainConfig`]'s serialized form, but it changes the recorded metrics.
    pub train_metrics: TrainMetrics,
    pub data: DataInfo,
    pub fingerprint: DataFingerprint,
    /// The run's outputs, as given to it; a resumed run writes to them unless told otherwise.
    #[serde(with = "crate::io::paths::exact")]
    pub weights: PathBuf,
    #[serde(with = "crate::io::paths::exact")]
    pub plot: PathBuf,
    #[serde(with = "crate::io::paths::exact")]
    pub metrics: PathBuf,
}

/// A checkpoint as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub run: RunInfo,
    pub progress: Progress,
}

/// Identifies the images a run trains and tests on: the set sizes and image size, and a
/// sha256 over all labels and a sample of the images (every 16th, whole), which tells data
/// sets apart at a fraction of the cost of hashing every pixel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    pub train_images: usize,
    pub test_images: usize,
    pub rows: usize,
    pub cols: usize,
    pub sha256: [u8; 32],
}

/// Images of the sample: every `SAMPLE_STRIDE`th.
const SAMPLE_STRIDE: usize = 16;

impl DataFingerprint {
    pub fn of(train: &LabeledImages, test: &LabeledImages) -> Self {
        let mut hash = Sha256::new();
        for set in [train, test] {
            hash.update(&set.labels);
            for i in (0..set.images.len()).step_by(SAMPLE_STRIDE) {
                hash.update(set.images.image(i));
            }
        }
        DataFingerprint {
            train_images: train.labels.len(),
            test_images: test.labels.len(),
            rows: train.images.rows,
            cols: train.images.cols,
            sha256: hash.finalize().into(),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} training and {} test images of {}x{}",
            self.train_images, self.test_images, self.rows, self.cols
        )
    }
}

/// Where the checkpoint goes when `--checkpoint` is not given: beside the weights, with the
/// extension `.ckpt` (`weights/mnist-mlp.bin` → `weights/mnist-mlp.ckpt`).
pub fn default_path(weights: &Path) -> PathBuf {
    let path = weights.with_extension("ckpt");
    if path == weights {
        let mut name = weights.as_os_str().to_owned();
        name.push(".ckpt");
        return PathBuf::from(name);
    }
    path
}

/// A checkpoint that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct CheckpointError {
    pub path: PathBuf,
    pub problem: CheckpointProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointProblem {
    #[error("cannot read the checkpoint: {0}")]
    Read(io::Error),
    #[error(
        "not an mnist-mlp checkpoint (it does not start with \"MNISTCKP\"); `--resume` takes \
         the .ckpt file that an interrupted `mnist-mlp train` wrote"
    )]
    NotCheckpoint,
    #[error(
        "written by a newer mnist-mlp (checkpoint version {found}, this build reads version \
         {FORMAT_VERSION}): resume it with that version"
    )]
    Newer { found: u32 },
    #[error(
        "checkpoint version {found} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    Unsupported { found: u32 },
    #[error(
        "truncated or corrupt checkpoint ({0}); start the run again without --resume, or \
         resume from another checkpoint"
    )]
    Corrupt(String),
    #[error("the checkpoint's {0} hold a NaN or infinite value")]
    NonFinite(&'static str),
    #[error("{0}; start the run again without --resume")]
    Scaling(String),
}

/// Writes the checkpoint to `path` atomically; returns the sha256 (lowercase hex) of the
/// file written. A state holding a NaN or an infinite value is refused: nothing could
/// continue from it.
pub fn save(path: &Path, run: &RunInfo, progress: &Progress) -> Result<String, WriteError> {
    if let Some((what, _)) = progress
        .tensors()
        .find(|(_, t)| t.iter().any(|v| !v.is_finite()))
    {
        return Err(WriteError::Refused {
            path: path.to_path_buf(),
            problem: format!("the {what} hold a NaN or infinite value"),
        });
    }
    FRAME.save(path, &(run, progress))
}

/// Reads and checks a checkpoint file.
pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let fail = |problem| CheckpointError {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = framed::read_file(path).map_err(|e| fail(CheckpointProblem::Read(e)))?;
    let checkpoint = decode(&bytes).map_err(fail)?;
    FRAME.note_if_unverified(path, "checkpoint", &bytes);
    Ok(checkpoint)
}

/// [`load`] on bytes already in memory.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, CheckpointProblem> {
    let (_, payload) = FRAME.open(bytes)?;
    let (run, progress): (RunInfo, Progress) = decode_whole(payload)?;
    if let Some((what, _)) = progress
        .tensors()
        .find(|(_, t)| t.iter().any(|v| !v.is_finite()))
    {
        return Err(CheckpointProblem::NonFinite(what));
    }
    progress
        .input_scaling
        .check()
        .map_err(CheckpointProblem::Scaling)?;
    Ok(Checkpoint { run, progress })
}

impl From<FrameProblem> for CheckpointProblem {
    fn from(problem: FrameProblem) -> Self {
        match problem {
            FrameProblem::WrongMagic => CheckpointProblem::NotCheckpoint,
            FrameProblem::Newer { found } => CheckpointProblem::Newer { found },
            FrameProblem::Unsupported { found } => CheckpointProblem::Unsupported { found },
            FrameProblem::Corrupt(why) => CheckpointProblem::Corrupt(why),
            FrameProblem::ChecksumMismatch => CheckpointProblem::Corrupt(CHECKSUM_MISMATCH.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::images::Images;
    use crate::data::input::{InputScaling, ScalingKind};
    use crate::nn::optim::OptimizerState;
    use crate::nn::rng::SeededRng;

    fn checkpoint() -> Checkpoint {
        let set = LabeledImages {
            images: Images {
                rows: 2,
                cols: 2,
                pixels: vec![0, 1, 2, 3, 4, 5, 6, 7],
            },
            labels: vec![3, 5],
        };
        let run = RunInfo {
            version: "0.1.0".into(),
            config: TrainConfig::default(),
            train_metrics: TrainMetrics::Full,
            data: DataInfo::mnist(),
            fingerprint: DataFingerprint::of(&set, &set),
            weights: "w.bin".into(),
            plot: "p.png".into(),
            metrics: "m.csv".into(),
        };
        let progress = Progress {
            epoch: 2,
            batches_done: 1,
            input_scaling: InputScaling::fit(ScalingKind::Unit, &set.images),
            params: vec![vec![0.5, -1.0], vec![0.25]],
            optimizer: OptimizerState {
                steps: 3,
                first: vec![vec![0.1, 0.2], vec![0.3]],
                second: None,
            },
            order: vec![1, 0],
            shuffler: SeededRng::derive(1, 1).state(),
            augmenter: SeededRng::derive(1, 2).state(),
            running_loss_sum: 1.5,
            running_correct: 1,
            train_seconds: 0.25,
            history: vec![],
            timings: vec![],
            kept: None,
        };
        Checkpoint { run, progress }
    }

    fn saved_bytes(c: &Checkpoint) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ckpt");
        save(&path, &c.run, &c.progress).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn save_then_load_is_the_identity() {
        let c = checkpoint();
        assert_eq!(decode(&saved_bytes(&c)).unwrap(), c);
    }

    #[test]
    fn version_3_checkpoints_load_without_a_checksum_and_a_changed_bit_is_refused() {
        let c = checkpoint();
        let bytes = saved_bytes(&c);
        let (_, payload) = FRAME.open(&bytes).unwrap();
        assert_eq!(decode(&FRAME.file_of(3, payload)).unwrap(), c);
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01;
        let err = decode(&flipped).unwrap_err().to_string();
        assert!(err.contains(CHECKSUM_MISMATCH), "{err}");
    }

    #[test]
    fn rejects_other_files_newer_versions_and_truncation() {
        let bytes = saved_bytes(&checkpoint());
        let problem = |b: &[u8]| decode(b).unwrap_err().to_string();
        assert!(problem(b"MNISTMLP\x03\0\0\0").contains("not an mnist-mlp checkpoint"));
        let mut newer = bytes.clone();
        newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(problem(&newer).contains("newer"));
        for cut in [10, 13, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                problem(&bytes[..cut]).contains("truncated or corrupt"),
                "{cut}"
            );
        }
    }

    #[test]
    fn refuses_to_save_nan_state() {
        let mut c = checkpoint();
        c.progress.optimizer.first[1][0] = f32::INFINITY;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ckpt");
        let err = save(&path, &c.run, &c.progress).unwrap_err().to_string();
        assert!(
            err.contains("optimizer state hold a NaN or infinite"),
            "{err}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn the_default_path_sits_beside_the_weights() {
        let p = |s: &str| default_path(Path::new(s));
        assert_eq!(
            p("weights/mnist-mlp.bin"),
            Path::new("weights/mnist-mlp.ckpt")
        );
        assert_eq!(p("run"), Path::new("run.ckpt"));
        assert_eq!(p("a.ckpt"), Path::new("a.ckpt.ckpt"));
    }
}
