//! What the report's sections share: the data it is made from, and how figures and settings
//! are written in it.

use std::path::PathBuf;

use crate::store::runlog::RunRecord;
use crate::store::sweeplog::SweepRecord;
use crate::store::weights::SavedRun;
use crate::train::config::TrainConfig;

/// The runs the attempts table shows at most (the latest), so that the report keeps to two
/// pages.
pub const MAX_RUNS_SHOWN: usize = 10;
/// The settings of the sweep table the report shows at most (the best), for the same reason.
pub const MAX_SETTINGS_SHOWN: usize = 5;

/// Everything the content is built from, read and checked.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub run: SavedRun,
    pub weights_path: PathBuf,
    /// The run log's runs, oldest first, and how many lines could not be read.
    pub runs: Vec<RunRecord>,
    pub unreadable_runs: usize,
    /// The sweep log's runs on the network's data set, oldest first, and how many of its
    /// lines could not be read.
    pub sweeps: Vec<SweepRecord>,
    pub unreadable_sweeps: usize,
    /// The run log entry of this weights file, if any: the run that wrote it (same sha256),
    /// else the latest run with the same settings, data set and test accuracy.
    pub this_run: Option<usize>,
    /// Whether that entry wrote this very file (false: a reproduction of it).
    pub this_run_exact: bool,
    pub has_confusion: bool,
    pub authors: Vec<String>,
    pub title: String,
    pub date: String,
}

/// A fraction as a percentage with two decimals: 0.98737 → "98.74%".
pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

pub use crate::train::metrics::thousands;

/// "9.2 s", "5 min 34 s"
pub fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let s = seconds.round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A float as the command line would take it: 0.1, 0.0001, 5e-6.
pub fn number(x: f64) -> String {
    format!("{x}")
}

/// Every setting of a configuration as (flag, value), in the order of its fields.
pub fn settings(c: &TrainConfig) -> Vec<(&'static str, String)> {
    c.settings()
}

/// The settings of `c` that differ from `base`, as flags (`--hidden 512 --lr 0.05`).
pub fn differences(c: &TrainConfig, base: &TrainConfig) -> Vec<String> {
    settings(c)
        .into_iter()
        .zip(settings(base))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((flag, value), _)| format!("--{flag} {value}"))
        .collect()
}

/// The epoch whose network the weights file holds: the best on the validation images, or
/// without them the last.
pub fn kept_epoch(run: &SavedRun) -> usize {
    if run.config.val_split > 0 {
        let best = run
            .history
            .iter()
            .filter_map(|m| m.val_accuracy.map(|v| (m.epoch, v)))
            .fold(None, |best: Option<(usize, f64)>, (e, v)| match best {
                Some((_, b)) if b >= v => best,
                _ => Some((e, v)),
            });
        if let Some((epoch, _)) = best {
            return epoch;
        }
    }
    run.history.last().map_or(0, |m| m.epoch)
}
