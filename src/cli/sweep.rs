//! `mnist-mlp sweep`: training settings compared on validation images only. Only the
//! training split is loaded; the test files are never opened.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::args::{SweepArgs, TrainArgs};
use crate::cli::common::{prepare_data, stderr_is_terminal};
use crate::cli::interrupt::StopRequest;
use crate::data::names::Split;
use crate::io::atomic::write_atomically;
use crate::io::outputs::{FileArg, check_outputs};
use crate::model::Classifier;
use crate::store::runlog::{self, Machine};
use crate::store::sweeplog::{SweepRecord, markdown_table, rank};
use crate::train::config::{Recipe, TrainConfig};
use crate::train::metrics::{EpochMetrics, EpochTiming};
use crate::train::sweep::Validation;
use crate::train::{ObserverError, TrainError, TrainObserver};

/// A sweep stopped by a signal; the process ends with the status of a stopped `train`.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped by {signal} in run {run} of {runs}; the runs finished so far ({finished}) are in \
     {}: the same command continues the sweep",
    run_log.display()
)]
pub struct SweepStopped {
    signal: &'static str,
    run: usize,
    runs: usize,
    finished: usize,
    run_log: PathBuf,
}

/// A flag set of the sweep: the flags that set it apart, and its `train` arguments.
struct Setting {
    label: String,
    args: TrainArgs,
}

/// The flag sets of `args`: the base flags with one alternative of every `--vary` axis, in
/// every combination (the first axis varying slowest).
fn settings(args: &SweepArgs) -> anyhow::Result<Vec<Setting>> {
    let mut labels = vec![String::new()];
    for axis in &args.vary {
        let alternatives: Vec<&str> = axis.split('|').map(str::trim).collect();
        labels = labels
            .iter()
            .flat_map(|label| {
                alternatives
                    .iter()
                    .map(move |alt| [label.as_str(), alt].join(" ").trim().to_string())
            })
            .collect();
    }
    labels
        .into_iter()
        .map(|label| {
            let flags = args.base.split_whitespace().chain(label.split_whitespace());
            let train_args = TrainArgs::from_flags(flags)
                .map_err(|e| anyhow::anyhow!("the flag set {:?}: {}", label, e.render()))?;
            let beyond = train_args.flags_beyond_settings();
            if !beyond.is_empty() {
                bail!(
                    "the flag set {label:?} gives {}: a sweep's flag sets take only training \
                     settings (the sweep writes no weights, plots or metrics)",
                    beyond.join(", ")
                );
            }
            for (id, by) in [("seed", "--seeds"), ("val_split", "--val-split")] {
                if train_args.was_given(id) {
                    bail!(
                        "the flag set {label:?} gives --{}: the sweep sets it (use its {by})",
                        id.replace('_', "-")
                    );
                }
            }
            Ok(Setting {
                label,
                args: train_args,
            })
        })
        .collect()
}

/// Shows the run's progress on a terminal, and stops it on Ctrl-C or SIGTERM.
struct SweepObserver {
    stop: StopRequest,
    progress: ProgressBar,
    /// "run 3/8", for the progress line.
    run: String,
    epochs: usize,
}

impl TrainObserver for SweepObserver {
    fn batch_done(&mut self, done: usize, total: usize) {
        self.progress.set_length(total as u64);
        self.progress.set_position(done as u64);
    }

    fn epoch_done(
        &mut self,
        _: &Classifier,
        history: &[EpochMetrics],
        _: EpochTiming,
        _: bool,
    ) -> Result<(), ObserverError> {
        if let Some(m) = history.last() {
            self.progress.set_message(format!(
                "{}: epoch {}/{}, validation {:.2}%",
                self.run,
                m.epoch,
                self.epochs,
                100.0 * m.test_accuracy
            ));
        }
        Ok(())
    }

    fn stop_requested(&mut self) -> bool {
        self.stop.requested()
    }
}

pub fn sweep_command(args: &SweepArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let settings = settings(args)?;
    if args.seeds.is_empty() {
        bail!("--seeds needs at least one seed");
    }
    if args.val_split == 0 {
        bail!("--val-split must be at least 1: the sweep judges settings on validation images");
    }
    let mut outputs = vec![FileArg::appended("--run-log", &args.run_log)];
    if let Some(table) = &args.table {
        outputs.push(FileArg::replaced("--table", table));
    }
    check_outputs(&outputs)?;
    let source = prepare_data(&args.data, &[Split::Train], args.offline)?;
    let train_set = source.load(Split::Train)?;
    let data = source.identify(&[(Split::Train, &train_set)]);
    let recipe = Recipe::for_data(&data);
    let configs = (settings.iter())
        .map(|s| {
            let config = s.args.config_for(recipe);
            config
                .validate()
                .with_context(|| format!("the flag set {:?}", s.label))?;
            Ok(config)
        })
        .collect::<anyhow::Result<Vec<TrainConfig>>>()?;
    let (logged, _) = runlog::read::<SweepRecord>(&args.run_log)?;
    let runs = settings.len() * args.seeds.len();
    writeln!(
        out,
        "sweep: {} flag set{} × {} seed{} on {} ({} training images, {} held out for \
         validation; the test set is not read), {}",
        settings.len(),
        plural(settings.len()),
        args.seeds.len(),
        plural(args.seeds.len()),
        data.describe(),
        train_set.labels.len(),
        args.val_split,
        Machine::this().describe()
    )?;
    let stop = StopRequest::install().context("cannot install the Ctrl-C handler")?;
    let progress = if stderr_is_terminal() {
        let style = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} batches")
            .expect("the template is valid");
        ProgressBar::new(0).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let mut observer = SweepObserver {
        stop: stop.clone(),
        progress,
        run: String::new(),
        epochs: 0,
    };
    let mut records = Vec::with_capacity(runs);
    for &seed in &args.seeds {
        let mut validation = None;
        for (setting, config) in settings.iter().zip(&configs) {
            let config = TrainConfig {
                seed,
                val_split: args.val_split,
                ..config.clone()
            };
            let label = &setting.label;
            let done = records.len() + 1;
            let known = logged.iter().find(|r| r.answers(&config, &data));
            let record = match known {
                Some(r) => SweepRecord {
                    flags: label.clone(),
                    ..r.clone()
                },
                None => {
                    let validation = match &mut validation {
                        Some(v) => v,
                        None => {
                            validation.insert(Validation::split(&train_set, args.val_split, seed)?)
                        }
                    };
                    let started = Instant::now();
                    observer.run = format!("run {done}/{runs}");
                    observer.epochs = config.epochs;
                    observer.progress.set_message(observer.run.clone());
                    let result =
                        match validation.run(&config, data.class_names.len(), &mut observer) {
                            Ok(result) => result,
                            Err(TrainError::Interrupted { .. }) => {
                                return Err(SweepStopped {
                                    signal: stop.signal_name().unwrap_or("a signal"),
                                    run: done,
                                    runs,
                                    finished: records.len(),
                                    run_log: args.run_log.clone(),
                                }
                                .into());
                            }
                            Err(e) => {
                                return Err(anyhow::Error::new(e)
                                    .context(format!("the flag set {label:?} with seed {seed}")));
                            }
                        };
                    let seconds = started.elapsed().as_secs_f64();
                    let record = SweepRecord::new(label, &config, &data, result, seconds);
                    runlog::append(&args.run_log, &record)?;
                    record
                }
            };
            let line = format!(
                "run {done}/{runs}  seed {seed}  {}: validation {:.2}% (epoch {} of {}) in {:.1} s{}",
                if label.is_empty() {
                    "(base flags)"
                } else {
                    label
                },
                100.0 * record.result.val_accuracy,
                record.result.best_epoch,
                record.epochs_run,
                record.wall_seconds,
                if known.is_some() {
                    " (from the run log)"
                } else {
                    ""
                }
            );
            observer.progress.suspend(|| {
                writeln!(out, "{line}")?;
                out.flush()
            })?;
            records.push(record);
        }
    }
    observer.progress.finish_and_clear();
    let table = markdown_table(&rank(&records), &args.seeds);
    writeln!(out, "\n{table}")?;
    if let Some(path) = &args.table {
        write_table(path, &table, &data.describe(), args)?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Writes the table with the command that made it, the data and the machine.
fn write_table(path: &Path, table: &str, data: &str, args: &SweepArgs) -> anyhow::Result<()> {
    // The program as its name, wherever it was run from.
    let arguments = std::env::args_os().skip(1);
    let command: Vec<String> = std::iter::once("mnist-mlp".to_string())
        .chain(arguments.map(|a| shell_quoted(&a.to_string_lossy())))
        .collect();
    let text = format!(
        "# Sweep on {data}\n\nCommand:\n\n```\n{}\n```\n\nValidation: {} training images \
         held out per seed; the test set was not read. Machine: {}. Run log: `{}`.\n\n{table}",
        command.join(" "),
        args.val_split,
        Machine::this().describe(),
        args.run_log.display()
    );
    write_atomically(path, |w| w.write_all(text.as_bytes()))?;
    Ok(())
}

/// `arg` as a POSIX shell reads it back: bare when it holds only safe characters, else in
/// single quotes.
fn shell_quoted(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};

    fn sweep_args(argv: &[&str]) -> SweepArgs {
        let argv = ["mnist-mlp", "sweep"].iter().chain(argv);
        match Cli::try_parse_args_from(argv).unwrap().command {
            Command::Sweep(args) => args,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_combination_of_the_axes_is_a_flag_set() {
        let args = sweep_args(&[
            "--base",
            "--epochs 3",
            "--vary",
            "--lr 0.05 | --lr 0.1",
            "--vary",
            "--hidden 64|--hidden 128,64",
        ]);
        let settings = settings(&args).unwrap();
        let labels: Vec<&str> = settings.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "--lr 0.05 --hidden 64",
                "--lr 0.05 --hidden 128,64",
                "--lr 0.1 --hidden 64",
                "--lr 0.1 --hidden 128,64"
            ]
        );
        let last = settings[3].args.config();
        assert_eq!((last.epochs, last.learning_rate), (3, 0.1));
        assert_eq!(last.hidden, vec![128, 64]);
    }

    #[test]
    fn flag_sets_take_only_training_settings() {
        for (vary, refused) in [
            ("--weights w.bin", "--weights"),
            ("--seed 3", "--seed"),
            ("--val-split 100", "--val-split"),
            ("--lr", "--lr"),
        ] {
            let err = settings(&sweep_args(&["--vary", vary])).err().unwrap();
            assert!(err.to_string().contains(refused), "{vary}: {err}");
        }
    }

    #[test]
    fn arguments_are_quoted_as_a_shell_reads_them() {
        assert_eq!(shell_quoted("--lr"), "--lr");
        assert_eq!(shell_quoted("--lr 0.1 | --lr 0.2"), "'--lr 0.1 | --lr 0.2'");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
        assert_eq!(shell_quoted(""), "''");
    }
}
