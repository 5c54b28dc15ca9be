//! What each subcommand does: the glue between the command line and the library.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, Command, DataArgs, DownloadArgs, EvaluateArgs, ExportArgs, TrainArgs};
use crate::dataset::{Split, load_split};
use crate::download::{DEFAULT_MIRRORS, download_missing, ensure_data};
use crate::evaluate::evaluate_test_set;
use crate::export::{self, ExportFormat};
use crate::metrics::{EpochMetrics, EpochTiming, write_metrics_csv};
use crate::model::{Classifier, Evaluation};
use crate::plot::plot_accuracy;
use crate::train::{TrainConfig, TrainObserver, train};
use crate::weights::{self, SavedRun};

/// Runs the parsed command, writing its report to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.into())
            .build_global()
            .context("cannot start the worker threads")?;
    }
    match cli.command {
        Command::Train(args) => train_command(&args, out),
        Command::EvaluateHw1(args) => evaluate_command(&args, out),
        Command::Download(args) => download_command(&args, out),
        Command::Export(args) => export_command(&args, out),
    }
}

fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn mirrors(data: &DataArgs) -> Vec<String> {
    if data.mirrors.is_empty() {
        DEFAULT_MIRRORS.iter().map(|m| m.to_string()).collect()
    } else {
        data.mirrors.clone()
    }
}

fn prepare_data(data: &DataArgs, offline: bool) -> anyhow::Result<()> {
    ensure_data(
        &data.data_dir,
        offline,
        &mirrors(data),
        stderr_is_terminal(),
    )?;
    Ok(())
}

fn download_command(args: &DownloadArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let fetched = download_missing(
        &args.data.data_dir,
        &mirrors(&args.data),
        stderr_is_terminal(),
    )?;
    if fetched.is_empty() {
        writeln!(
            out,
            "all MNIST files already in {}",
            args.data.data_dir.display()
        )?;
    }
    for path in fetched {
        writeln!(out, "downloaded {}", path.display())?;
    }
    Ok(())
}

fn accuracy_line(eval: &Evaluation) -> String {
    format!(
        "test accuracy: {:.2}% ({}/{})",
        100.0 * eval.accuracy(),
        eval.correct,
        eval.total
    )
}

fn evaluate_command(args: &EvaluateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    prepare_data(&args.data, args.offline)?;
    let eval = evaluate_test_set(&args.data.data_dir, &args.weights)?;
    if args.json {
        let json = serde_json::json!({
            "accuracy": eval.accuracy(),
            "correct": eval.correct,
            "total": eval.total,
            "loss": eval.loss,
            "weights": args.weights,
            "data_dir": args.data.data_dir,
        });
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "{}", accuracy_line(&eval))?;
    }
    Ok(())
}

fn export_command(args: &ExportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let format = ExportFormat::resolve(args.format, &args.output)?;
    let run = weights::load(&args.weights)?;
    export::export(&run, &export::class_names(&run), format, &args.output)?;
    writeln!(
        out,
        "wrote {} ({}, {})",
        args.output.display(),
        format.extension(),
        run.classifier.mlp.arch.describe()
    )?;
    Ok(())
}

/// Reports each epoch and rewrites the weights, metrics and plot after it, so that a run
/// stopped at any point leaves the outputs of its last finished epoch.
struct EpochWriter<'a> {
    args: &'a TrainArgs,
    config: &'a TrainConfig,
    out: &'a mut dyn Write,
    progress: ProgressBar,
    timings: Vec<EpochTiming>,
}

impl TrainObserver for EpochWriter<'_> {
    fn batch_done(&mut self, done: usize, total: usize) {
        self.progress.set_length(total as u64);
        self.progress.set_position(done as u64);
    }

    fn epoch_done(
        &mut self,
        classifier: &Classifier,
        history: &[EpochMetrics],
        timing: EpochTiming,
        kept: bool,
    ) -> anyhow::Result<()> {
        self.progress.reset();
        self.timings.push(timing);
        let m = history.last().expect("called after an epoch");
        let validation = match m.val_accuracy {
            Some(acc) => format!(
                "  val acc {:6.2}%{}",
                100.0 * acc,
                if kept { " (best)" } else { "" }
            ),
            None => String::new(),
        };
        self.progress.suspend(|| {
            writeln!(
                self.out,
                "epoch {:>3}/{}  train loss {:.4} acc {:6.2}%  test loss {:.4} acc {:6.2}%{validation}  {:.2} s (+{:.2} s eval)",
                m.epoch,
                self.config.epochs,
                m.train_loss,
                100.0 * m.train_accuracy,
                m.test_loss,
                100.0 * m.test_accuracy,
                timing.train_seconds,
                timing.eval_seconds
            )
        })?;
        if kept {
            let run = SavedRun {
                classifier: classifier.clone(),
                config: self.config.clone(),
                history: history.to_vec(),
            };
            weights::save(&self.args.weights, &run)?;
        }
        write_metrics_csv(&self.args.metrics, history, &self.timings)?;
        let title = format!("mnist-mlp {}", classifier.mlp.arch.describe());
        plot_accuracy(&self.args.plot, history, &title)?;
        Ok(())
    }
}

fn train_command(args: &TrainArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = args.config();
    config.validate()?;
    prepare_data(&args.data, args.offline)?;
    let dir = &args.data.data_dir;
    let train_set = load_split(dir, Split::Train)?;
    let test_set = load_split(dir, Split::Test)?;
    writeln!(
        out,
        "training {}-{}-10 {} on {} images ({} test) from {}",
        train_set.images.pixels_per_image(),
        config
            .hidden
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        config.activation.name(),
        train_set.labels.len(),
        test_set.labels.len(),
        dir.display()
    )?;
    let progress = if stderr_is_terminal() {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} batches {elapsed}<{eta}")
                .expect("the template is valid"),
        )
    } else {
        ProgressBar::hidden()
    };
    let mut writer = EpochWriter {
        args,
        config: &config,
        out,
        progress,
        timings: Vec::new(),
    };
    let outcome = train(&config, &train_set, &test_set, &mut writer)?;
    writer.progress.finish_and_clear();
    let kept = &outcome.history[outcome.kept_epoch - 1];
    let test = outcome.final_test;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(val) = kept.val_accuracy {
        let epoch = kept.epoch;
        writeln!(
            out,
            "kept epoch {epoch}, the best on the validation images ({:.2}%)",
            100.0 * val
        )?;
    }
    writeln!(out, "{}", accuracy_line(&test))?;
    writeln!(
        out,
        "wrote {}, {} and {} in {seconds:.1} s",
        args.weights.display(),
        args.metrics.display(),
        args.plot.display()
    )?;
    if args.json {
        let json = serde_json::json!({
            "epochs": outcome.history.len(),
            "kept_epoch": kept.epoch,
            "train_accuracy": kept.train_accuracy,
            "test_accuracy": kept.test_accuracy,
            "val_accuracy": kept.val_accuracy,
            "train_loss": kept.train_loss,
            "test_loss": kept.test_loss,
            "test_correct": test.correct,
            "test_total": test.total,
            "seconds": seconds,
            "seconds_per_epoch": outcome.timings.iter().map(|t| t.train_seconds).sum::<f64>()
                / outcome.timings.len() as f64,
            "weights": args.weights,
            "plot": args.plot,
            "metrics": args.metrics,
            "config": config,
        });
        writeln!(out, "{json}")?;
    }
    Ok(())
}

/// Whether an error chain ends in a closed pipe (e.g. `mnist-mlp … | head`), which is
/// not a failure of ours.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
