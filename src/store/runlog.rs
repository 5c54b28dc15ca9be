//! The run log: every `mnist-mlp train` appends one line of JSON describing the run (its
//! configuration, final figures, time and machine), so that `mnist-mlp report` can tell the
//! attempts made, not only the network kept.
//!
//! Appending is atomic enough for a log: the file is opened in append mode and each record
//! is one `write` of one line, so concurrent runs never interleave within a line.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::data::catalog::Dataset;
use crate::data::source::DataInfo;
use crate::io::regular::{check_appendable, read_regular};
use crate::nn::mlp::Architecture;
use crate::train::TrainOutcome;
use crate::train::config::TrainConfig;

/// The longest run log read: a line is a few kilobytes, so tens of thousands of runs.
const RUN_LOG_LIMIT: u64 = 64 << 20;

/// The default run log, relative to the working folder.
pub const DEFAULT_RUN_LOG: &str = "report/runs.jsonl";

/// One training run, as one line of the run log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// When the run ended, UTC, RFC 3339 (`2026-11-27T05:24:59Z`).
    pub timestamp: String,
    /// The mnist-mlp version that trained.
    pub version: String,
    /// The known data set, by its files' checksums (`null` for custom data).
    pub dataset: Option<Dataset>,
    /// The data's name: the known set's, or custom data's (its folder's name). Empty in
    /// the records of versions that did not write it.
    #[serde(default)]
    pub data_name: String,
    /// "784-256-10 relu"
    pub architecture: String,
    pub layer_sizes: Vec<usize>,
    pub parameters: usize,
    pub config: TrainConfig,
    pub epochs_run: usize,
    /// The epoch whose network was written (the last, or the best on validation images).
    pub kept_epoch: usize,
    /// The kept epoch's figures; accuracies are fractions.
    pub train_accuracy: f64,
    pub train_loss: f64,
    pub test_accuracy: f64,
    pub test_loss: f64,
    pub test_correct: usize,
    pub test_total: usize,
    pub val_accuracy: Option<f64>,
    pub val_loss: Option<f64>,
    /// The whole command, data loading included.
    pub wall_seconds: f64,
    /// Mean training time of an epoch (evaluation excluded).
    pub seconds_per_epoch: f64,
    /// The weights file as given on the command line, and the sha256 of what was written
    /// there (`report` finds a weights file's run by it). Written lossily when not UTF-8.
    #[serde(serialize_with = "crate::io::paths::lossy")]
    pub weights: PathBuf,
    pub weights_sha256: Option<String>,
    pub machine: Machine,
}

/// Where a run ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU model from /proc/cpuinfo, where readable.
    pub cpu: Option<String>,
    /// Logical cores available to the process.
    pub cores: usize,
}

impl Machine {
    pub fn this() -> Self {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| cpu_model(&text));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine { cpu, cores }
    }

    /// "AMD EPYC 7B13, 2 cores", or "2 cores" when the model is unknown.
    pub fn describe(&self) -> String {
        let cores = format!(
            "{} core{}",
            self.cores,
            if self.cores == 1 { "" } else { "s" }
        );
        match &self.cpu {
            Some(cpu) => format!("{cpu}, {cores}"),
            None => cores,
        }
    }
}

/// The first `model name` of a /proc/cpuinfo text (x86), else its `Hardware` or `Processor`
/// line (some ARM kernels).
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Hardware", "Processor"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        })
        .map(|model| model.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl RunRecord {
    /// Whether the run trained on `data`: the same known data set, or custom data of the
    /// same name.
    pub fn same_data(&self, data: &DataInfo) -> bool {
        data.is(self.dataset, &self.data_name)
    }
}

/// What `train` knows at its end, for the record.
pub struct FinishedRun<'a> {
    pub config: &'a TrainConfig,
    pub data: &'a DataInfo,
    pub arch: &'a Architecture,
    pub outcome: &'a TrainOutcome,
    pub wall_seconds: f64,
    pub weights: &'a Path,
    /// The sha256 of the weights file the run wrote, if known.
    pub weights_sha256: Option<String>,
}

impl RunRecord {
    /// The record of a finished run, stamped now.
    pub fn new(run: &FinishedRun) -> Self {
        let outcome = run.outcome;
        let kept = &outcome.history[outcome.kept_epoch - 1];
        let epochs = outcome.timings.len().max(1) as f64;
        RunRecord {
            timestamp: rfc3339_utc(SystemTime::now()),
            version: env!("CARGO_PKG_VERSION").to_string(),
            dataset: run.data.dataset,
            data_name: run.data.name.clone(),
            architecture: run.arch.describe(),
            layer_sizes: run.arch.layer_sizes(),
            parameters: run.arch.parameter_count(),
            config: run.config.clone(),
            epochs_run: outcome.history.len(),
            kept_epoch: kept.epoch,
            train_accuracy: kept.train_accuracy,
            train_loss: kept.train_loss,
            test_accuracy: kept.test_accuracy,
            test_loss: kept.test_loss,
            test_correct: outcome.final_test.correct,
            test_total: outcome.final_test.total,
            val_accuracy: kept.val_accuracy,
            val_loss: kept.val_loss,
            wall_seconds: run.wall_seconds,
            seconds_per_epoch: outcome.timings.iter().map(|t| t.train_seconds).sum::<f64>()
                / epochs,
            weights: run.weights.to_path_buf(),
            weights_sha256: run.weights_sha256.clone(),
            machine: Machine::this(),
        }
    }
}

/// A run log that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RunLogError {
    #[error("cannot append to the run log {}: {source}", path.display())]
    Append { path: PathBuf, source: io::Error },
    #[error("cannot read the run log {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
}

/// Appends `record` to the log at `path` as one line (creating the file and its folder).
pub fn append(path: &Path, record: &impl Serialize) -> Result<(), RunLogError> {
    let fail = |source| RunLogError::Append {
        path: path.to_path_buf(),
        source,
    };
    let mut line = serde_json::to_string(record).map_err(|e| fail(io::Error::other(e)))?;
    line.push('\n');
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    check_appendable(path).map_err(fail)?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    // One write of the whole line: with O_APPEND it lands at the end in one piece.
    let written = file.write(line.as_bytes()).map_err(fail)?;
    if written != line.len() {
        return Err(fail(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("only {written} of {} bytes written", line.len()),
        )));
    }
    Ok(())
}

/// The runs of a log, oldest first, and how many of its lines could not be read as runs
/// (written by another version, or damaged). A missing log holds no runs.
pub fn read<R: DeserializeOwned>(path: &Path) -> Result<(Vec<R>, usize), RunLogError> {
    let text = match read_regular(path, RUN_LOG_LIMIT).and_then(|bytes| {
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(source) => {
            return Err(RunLogError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut runs = Vec::new();
    let mut unreadable = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(run) => runs.push(run),
            Err(_) => unreadable += 1,
        }
    }
    Ok((runs, unreadable))
}

/// `time` as RFC 3339 in UTC to the second, e.g. `2026-11-27T05:24:59Z`; a time before
/// 1970 reads as 1970-01-01T00:00:00Z.
pub fn rfc3339_utc(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time.max(UNIX_EPOCH)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |secs| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_798_342_299), "2026-12-27T03:31:39Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn the_cpu_model_comes_from_model_name() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R)  Xeon(R) \
                    CPU @ 2.20GHz\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            cpu_model(text).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(cpu_model("processor\t: 0\n"), None);
        let machine = Machine {
            cpu: None,
            cores: 1,
        };
        assert_eq!(machine.describe(), "1 core");
    }

    #[test]
    fn a_missing_log_holds_no_runs_and_bad_lines_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.jsonl");
        assert_eq!(read::<RunRecord>(&path).unwrap(), (Vec::new(), 0));
        fs::write(&path, "{\"not\": \"a run\"}\n\nnot json\n").unwrap();
        assert_eq!(read::<RunRecord>(&path).unwrap(), (Vec::new(), 2));
    }
}
