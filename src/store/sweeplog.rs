//! The sweep log: one line of JSON per run of `mnist-mlp sweep`, and the ranking of its
//! settings by validation accuracy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::catalog::Dataset;
use crate::data::source::DataInfo;
use crate::store::runlog::{Machine, rfc3339_utc};
use crate::train::config::TrainConfig;
use crate::train::sweep::ValidationRun;

/// Where `mnist-mlp sweep` logs its runs and `mnist-mlp report` reads them, unless told.
pub const DEFAULT_SWEEP_LOG: &str = "report/sweeps.jsonl";

/// One run of a sweep, as one line of its run log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// When the run ended, UTC, RFC 3339.
    pub timestamp: String,
    pub version: String,
    /// The known data set, by its files' checksums (`null` for custom data).
    pub dataset: Option<Dataset>,
    pub data_name: String,
    /// The flags that set this run apart within its sweep (what the table shows).
    pub flags: String,
    /// The whole configuration, with the seed and the validation split.
    pub config: TrainConfig,
    pub validation_images: usize,
    pub epochs_run: usize,
    #[serde(flatten)]
    pub result: ValidationRun,
    /// The run's training and evaluation, data loading excluded.
    pub wall_seconds: f64,
    pub machine: Machine,
}

impl SweepRecord {
    pub fn new(
        flags: &str,
        config: &TrainConfig,
        data: &DataInfo,
        result: ValidationRun,
        wall_seconds: f64,
    ) -> Self {
        SweepRecord {
            timestamp: rfc3339_utc(std::time::SystemTime::now()),
            version: env!("CARGO_PKG_VERSION").to_string(),
            dataset: data.dataset,
            data_name: data.name.clone(),
            flags: flags.to_string(),
            config: config.clone(),
            validation_images: config.val_split,
            epochs_run: result.val_curve.len(),
            result,
            wall_seconds,
            machine: Machine::this(),
        }
    }

    /// Whether this record is the run of `config` on `data` by this version, so that a
    /// sweep started again can take its figures instead of training again.
    pub fn answers(&self, config: &TrainConfig, data: &DataInfo) -> bool {
        self.version == env!("CARGO_PKG_VERSION")
            && self.dataset == data.dataset
            && self.data_name == data.name
            && &self.config == config
    }

    /// Whether the run trained on `data`: the same known data set, or custom data of the
    /// same name.
    pub fn same_data(&self, data: &DataInfo) -> bool {
        data.is(self.dataset, &self.data_name)
    }
}

/// One setting of a sweep over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingSummary {
    pub flags: String,
    /// The seeds run, and each one's validation accuracy and best epoch, in the order run.
    pub seeds: Vec<u64>,
    pub accuracies: Vec<f64>,
    pub best_epochs: Vec<usize>,
    pub mean_accuracy: f64,
    pub mean_wall_seconds: f64,
}

/// The settings of `records`, best mean validation accuracy first (ties keep their order).
pub fn rank(records: &[SweepRecord]) -> Vec<SettingSummary> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_flags: BTreeMap<&str, Vec<&SweepRecord>> = BTreeMap::new();
    for r in records {
        let runs = by_flags.entry(&r.flags).or_default();
        if runs.is_empty() {
            order.push(&r.flags);
        }
        runs.push(r);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut settings: Vec<SettingSummary> = order
        .into_iter()
        .map(|flags| {
            let runs = &by_flags[flags];
            let accuracies: Vec<f64> = runs.iter().map(|r| r.result.val_accuracy).collect();
            let seconds: Vec<f64> = runs.iter().map(|r| r.wall_seconds).collect();
            SettingSummary {
                flags: flags.to_string(),
                seeds: runs.iter().map(|r| r.config.seed).collect(),
                mean_accuracy: mean(&accuracies),
                accuracies,
                best_epochs: runs.iter().map(|r| r.result.best_epoch).collect(),
                mean_wall_seconds: mean(&seconds),
            }
        })
        .collect();
    settings.sort_by(|a, b| b.mean_accuracy.total_cmp(&a.mean_accuracy));
    settings
}

/// The ranking as a Markdown table: rank, flags, mean validation accuracy, the accuracy of
/// each seed (with its best epoch), and the mean seconds per run.
pub fn markdown_table(settings: &[SettingSummary], seeds: &[u64]) -> String {
    let mut table = String::from("| rank | flags | validation accuracy (mean) |");
    for seed in seeds {
        table.push_str(&format!(" seed {seed} (best epoch) |"));
    }
    table.push_str(" seconds per run |\n|---:|---|---:|");
    table.push_str(&"---:|".repeat(seeds.len()));
    table.push_str("---:|\n");
    for (rank, s) in settings.iter().enumerate() {
        let flags = match s.flags.as_str() {
            "" => "(the base flags only)".to_string(),
            flags => format!("`{flags}`"),
        };
        table.push_str(&format!(
            "| {} | {flags} | {:.2}% |",
            rank + 1,
            100.0 * s.mean_accuracy
        ));
        for (accuracy, epoch) in s.accuracies.iter().zip(&s.best_epochs) {
            table.push_str(&format!(" {:.2}% ({epoch}) |", 100.0 * accuracy));
        }
        table.push_str(&format!(" {:.0} |\n", s.mean_wall_seconds));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(flags: &str, seed: u64, accuracy: f64) -> SweepRecord {
        let config = TrainConfig {
            seed,
            ..TrainConfig::default()
        };
        let data = DataInfo::known(Dataset::Mnist);
        let result = ValidationRun {
            best_epoch: 1,
            val_accuracy: accuracy,
            val_loss: 1.0 - accuracy,
            train_accuracy: 0.99,
            val_curve: vec![accuracy],
            seconds_per_epoch: 1.0,
        };
        SweepRecord::new(flags, &config, &data, result, 2.0)
    }

    #[test]
    fn settings_rank_by_their_mean_over_seeds() {
        let records = [
            record("--lr 0.1", 1, 0.97),
            record("--lr 0.05", 1, 0.96),
            record("--lr 0.1", 2, 0.93),
            record("--lr 0.05", 2, 0.98),
        ];
        let ranked = rank(&records);
        let flags: Vec<&str> = ranked.iter().map(|s| s.flags.as_str()).collect();
        assert_eq!(flags, ["--lr 0.05", "--lr 0.1"]);
        assert_eq!(ranked[0].accuracies, vec![0.96, 0.98]);
        assert!((ranked[0].mean_accuracy - 0.97).abs() < 1e-12);
        let table = markdown_table(&ranked, &[1, 2]);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[2],
            "| 1 | `--lr 0.05` | 97.00% | 96.00% (1) | 98.00% (1) | 2 |"
        );
    }

    #[test]
    fn a_record_answers_only_its_own_configuration_and_data() {
        let r = record("", 1, 0.9);
        let mnist = DataInfo::known(Dataset::Mnist);
        let fashion = DataInfo::known(Dataset::FashionMnist);
        assert!(r.answers(&r.config.clone(), &mnist));
        assert!(!r.answers(&r.config.clone(), &fashion));
        let other = TrainConfig {
            seed: 2,
            ..r.config.clone()
        };
        assert!(!r.answers(&other, &mnist));
    }
}
