//! What each subcommand does: the glue between the command line and the library.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::interrupt::{self, StopRequest};
use crate::cli::{
    AnalyzeArgs, Cli, Command, DataArgs, DownloadArgs, EvaluateArgs, ExportArgs, PredictArgs,
    ReportArgs, TrainArgs,
};
use crate::data::augment::Augment;
use crate::data::download::{download_missing, prepare_source};
use crate::data::names::Split;
use crate::data::source::resolve_source;
use crate::data::source::{DataInfo, DataSource};
use crate::evaluate::{evaluate_test_set, load_with_test_set};
use crate::model::analysis::{Analysis, json_report, text_report};
use crate::model::predict::{PredictError, TOP_CLASSES, predict_files};
use crate::model::{Classifier, Evaluation, accuracy_text};
use crate::plot::analysis::{plot_confusion, plot_mistakes};
use crate::plot::plot_accuracy;
use crate::report::{self, ReportInputs};
use crate::store::checkpoint::{self, Checkpoint, DataFingerprint, RunInfo};
use crate::store::export::{self, ExportFormat};
use crate::store::runlog::{self, FinishedRun, RunRecord};
use crate::store::weights::{self, SavedRun};
use crate::train::metrics::{EpochMetrics, EpochTiming, write_metrics_csv};
use crate::train::{Progress, TrainConfig, TrainError, TrainObserver, train_from};

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
        Command::Predict(args) => predict_command(&args, out),
        Command::Analyze(args) => analyze_command(&args, out),
        Command::Export(args) => export_command(&args, out),
        Command::Report(args) => report_command(&args, out),
    }
}

fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The folder and data set the flags ask for, with its files in place.
fn prepare_data(data: &DataArgs, offline: bool) -> anyhow::Result<DataSource> {
    Ok(prepare_source(
        &data.request(),
        offline,
        &data.mirrors,
        stderr_is_terminal(),
    )?)
}

fn download_command(args: &DownloadArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let source = resolve_source(&args.data.request())?;
    let fetched = download_missing(&source, &args.data.mirrors, stderr_is_terminal())?;
    if fetched.is_empty() {
        writeln!(
            out,
            "all {} files already in {}",
            source.describe(),
            source.dir.display()
        )?;
    }
    for path in fetched {
        writeln!(out, "downloaded {}", path.display())?;
    }
    Ok(())
}

fn accuracy_line(eval: &Evaluation) -> String {
    format!("test {}", accuracy_text(eval.correct, eval.total))
}

fn evaluate_command(args: &EvaluateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let test = &args.test;
    let source = prepare_data(&test.data, test.offline)?;
    let eval = evaluate_test_set(&source, &test.weights)?;
    if args.json {
        let json = serde_json::json!({
            "accuracy": eval.accuracy(),
            "correct": eval.correct,
            "total": eval.total,
            "loss": eval.loss,
            "weights": test.weights,
            "dataset": source.dataset,
            "data_dir": source.dir,
        });
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "{}", accuracy_line(&eval))?;
    }
    Ok(())
}

fn analyze_command(args: &AnalyzeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let source = prepare_data(&args.test.data, args.test.offline)?;
    let (run, test) = load_with_test_set(&source, &args.test.weights)?;
    let names = &run.data.class_names;
    let probabilities = run.classifier.probabilities(&test);
    let analysis = Analysis::new(&test.labels, probabilities.view())?;
    let title = format!(
        "mnist-mlp {}: test {}",
        run.classifier.mlp.arch.describe(),
        analysis.accuracy_line()
    );
    plot_confusion(&args.confusion, &analysis.confusion, names, &title)?;
    let count = args.mistakes_count.into();
    plot_mistakes(
        &args.mistakes,
        &test.images,
        &analysis.mistakes,
        count,
        names,
    )?;
    if args.json {
        let mut json = json_report(&analysis, names, count)?;
        json["weights"] = serde_json::json!(args.test.weights);
        json["dataset"] = serde_json::json!(source.dataset);
        json["data_dir"] = serde_json::json!(source.dir);
        json["confusion_plot"] = serde_json::json!(args.confusion);
        json["mistakes_plot"] = serde_json::json!(args.mistakes);
        writeln!(out, "{json}")?;
    } else {
        write!(out, "{}", text_report(&analysis, names)?)?;
        writeln!(
            out,
            "\nwrote {} and {}",
            args.confusion.display(),
            args.mistakes.display()
        )?;
    }
    Ok(())
}

fn export_command(args: &ExportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let format = ExportFormat::resolve(args.format, &args.output)?;
    let run = weights::load(&args.weights)?;
    export::export(&run, format, &args.output)?;
    writeln!(
        out,
        "wrote {} ({}, {})",
        args.output.display(),
        format.extension(),
        run.classifier.mlp.arch.describe()
    )?;
    Ok(())
}

fn report_command(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let inputs = ReportInputs {
        weights: args.weights.clone(),
        confusion: args.confusion.clone(),
        run_log: args.run_log.clone(),
        authors: args.authors.clone(),
        title: args.title.clone(),
        date: report::today_utc(),
    };
    let written = report::write_report(&inputs, &args.out_dir)?;
    for path in &written.files {
        writeln!(out, "wrote {}", path.display())?;
    }
    match &written.pdf {
        Some((path, pages)) => {
            let s = if *pages == 1 { "" } else { "s" };
            writeln!(out, "wrote {} ({pages} page{s})", path.display())?;
            if *pages > 2 {
                writeln!(out, "note: the homework asks for two pages at most")?;
            }
        }
        None => writeln!(
            out,
            "no PDF: this mnist-mlp was built without the `pdf` feature; \
             `cargo run --release --features pdf -- report …` also typesets report.pdf"
        )?,
    }
    if args.authors.is_empty() {
        writeln!(
            out,
            "note: no --author given; pass --author \"Name, ID\" for each author"
        )?;
    }
    Ok(())
}

/// Where a training run writes.
struct Outputs {
    weights: PathBuf,
    plot: PathBuf,
    metrics: PathBuf,
    checkpoint: PathBuf,
}

/// Reports each epoch and rewrites the weights, metrics and plot after it, so that a run
/// stopped at any point leaves the outputs of its last finished epoch; saves a checkpoint
/// after every epoch and when a signal asks training to stop.
struct EpochWriter<'a> {
    outputs: &'a Outputs,
    /// What the checkpoints record besides the run's state.
    run: &'a RunInfo,
    out: &'a mut dyn Write,
    progress: ProgressBar,
    timings: Vec<EpochTiming>,
    stop: StopRequest,
    /// The plot's title.
    title: String,
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
                self.run.config.epochs,
                m.train_loss,
                100.0 * m.train_accuracy,
                m.test_loss,
                100.0 * m.test_accuracy,
                timing.train_seconds,
                timing.eval_seconds
            )?;
            // Read line by line by whoever watches the run (e.g. to interrupt it).
            self.out.flush()
        })?;
        if kept {
            let run = SavedRun {
                classifier: classifier.clone(),
                config: self.run.config.clone(),
                history: history.to_vec(),
                data: self.run.data.clone(),
            };
            weights::save(&self.outputs.weights, &run)?;
        }
        write_metrics_csv(&self.outputs.metrics, history, &self.timings)?;
        plot_accuracy(&self.outputs.plot, history, &self.title)?;
        Ok(())
    }

    fn stop_requested(&mut self) -> bool {
        self.stop.requested()
    }

    fn checkpoints_every_epoch(&self) -> bool {
        true
    }

    fn checkpoint(&mut self, progress: &Progress) -> anyhow::Result<()> {
        checkpoint::save(&self.outputs.checkpoint, self.run, progress)?;
        if self.stop.requested() && !progress.history.is_empty() {
            // Already written after the last epoch, unless this run resumed without one.
            write_metrics_csv(&self.outputs.metrics, &progress.history, &progress.timings)?;
            plot_accuracy(&self.outputs.plot, &progress.history, &self.title)?;
        }
        Ok(())
    }
}

/// Why `train` did not finish, when the library's error does not say enough.
#[derive(Debug, thiserror::Error)]
pub enum TrainCommandError {
    #[error(
        "stopped by {signal} {position}; the run is saved in {}: continue it with \
         `{resume}`",
        checkpoint.display()
    )]
    Interrupted {
        signal: &'static str,
        position: String,
        checkpoint: PathBuf,
        resume: String,
    },
    #[error(
        "--resume continues the run with the settings saved in its checkpoint: leave out \
         {0} (only the data location, --threads, --json and the output paths may be given)"
    )]
    ResumeFlags(String),
    #[error(
        "{} holds a run on {} ({}), but the data here is {} ({}): resume it with that \
         run's data (--data-dir, --dataset)",
        checkpoint.display(), saved.describe(), saved_images.describe(), found.describe(),
        found_images.describe()
    )]
    OtherData {
        checkpoint: PathBuf,
        saved: DataInfo,
        saved_images: DataFingerprint,
        found: DataInfo,
        found_images: DataFingerprint,
    },
}

/// The exit status of a failed command: 130 when a signal stopped training, else 1.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    match err.downcast_ref::<TrainCommandError>() {
        Some(TrainCommandError::Interrupted { .. }) => ExitCode::from(interrupt::EXIT_STATUS),
        _ => ExitCode::FAILURE,
    }
}

/// The checkpoint `--resume` names, after refusing the flags that would change its run.
fn checkpoint_to_resume(args: &TrainArgs, path: &Path) -> anyhow::Result<Checkpoint> {
    let refused = args.run_flags_given();
    if !refused.is_empty() {
        return Err(TrainCommandError::ResumeFlags(refused.join(", ")).into());
    }
    let saved = checkpoint::load(path)?;
    let version = env!("CARGO_PKG_VERSION");
    if saved.run.version != version {
        eprintln!(
            "note: {} was written by mnist-mlp {}, this is {version}: the result may differ \
             from that of an uninterrupted run",
            path.display(),
            saved.run.version
        );
    }
    Ok(saved)
}

fn train_command(args: &TrainArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let started = Instant::now();
    let resumed = match &args.resume {
        Some(path) => Some(checkpoint_to_resume(args, path)?),
        None => None,
    };
    let mut config = match &resumed {
        Some(saved) => TrainConfig {
            train_metrics: saved.run.train_metrics,
            ..saved.run.config.clone()
        },
        None => args.config(),
    };
    config.validate()?;
    let source = prepare_data(&args.data, args.offline)?;
    let train_set = source.load(Split::Train)?;
    let test_set = source.load(Split::Test)?;
    let data = source.info(&train_set);
    let fingerprint = DataFingerprint::of(&train_set, &test_set);
    if let (Some(saved), Some(path)) = (&resumed, &args.resume)
        && (saved.run.data != data || saved.run.fingerprint != fingerprint)
    {
        return Err(TrainCommandError::OtherData {
            checkpoint: path.clone(),
            saved: saved.run.data.clone(),
            saved_images: saved.run.fingerprint.clone(),
            found: data,
            found_images: fingerprint,
        }
        .into());
    }
    if let Some(dataset) = source.dataset
        && resumed.is_none()
        && !dataset.suits_distortions()
        && !args.was_given("augment")
        && config.augment != Augment::None
    {
        config.augment = Augment::None;
        writeln!(
            out,
            "note: {dataset} is trained without augmentation (moving its images makes worse \
             training data); --augment overrides this"
        )?;
    }
    // A resumed run writes to its own outputs unless told otherwise.
    let output = |id: &str, given: &PathBuf, saved: fn(&RunInfo) -> &PathBuf| match &resumed {
        Some(c) if !args.was_given(id) => saved(&c.run).clone(),
        _ => given.clone(),
    };
    let weights_path = output("weights", &args.weights, |r| &r.weights);
    let outputs = Outputs {
        checkpoint: args
            .checkpoint
            .clone()
            .unwrap_or_else(|| checkpoint::default_path(&weights_path)),
        plot: output("plot", &args.plot, |r| &r.plot),
        metrics: output("metrics", &args.metrics, |r| &r.metrics),
        weights: weights_path,
    };
    let run = RunInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        config: config.clone(),
        train_metrics: config.train_metrics,
        data: data.clone(),
        fingerprint,
        weights: outputs.weights.clone(),
        plot: outputs.plot.clone(),
        metrics: outputs.metrics.clone(),
    };
    let arch = config.architecture(train_set.images.pixels_per_image(), data.class_names.len());
    writeln!(
        out,
        "training {} on {} {} images ({} test) from {}",
        arch.describe(),
        train_set.labels.len(),
        source.describe(),
        test_set.labels.len(),
        source.dir.display()
    )?;
    if let (Some(saved), Some(path)) = (&resumed, &args.resume) {
        let p = &saved.progress;
        writeln!(
            out,
            "resuming from {}: epoch {} of {}, {}",
            path.display(),
            p.epoch,
            config.epochs,
            match p.batches_done {
                0 => "from its start".to_string(),
                done => format!("after {done} batches"),
            }
        )?;
    }
    let progress = if stderr_is_terminal() {
        ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} batches {elapsed}<{eta}")
                .expect("the template is valid"),
        )
    } else {
        ProgressBar::hidden()
    };
    let stop = StopRequest::install().context("cannot install the Ctrl-C handler")?;
    let mut writer = EpochWriter {
        outputs: &outputs,
        run: &run,
        out,
        progress,
        timings: resumed
            .as_ref()
            .map_or_else(Vec::new, |c| c.progress.timings.clone()),
        stop: stop.clone(),
        title: format!("mnist-mlp {}", arch.describe()),
    };
    let result = train_from(
        &config,
        &train_set,
        &test_set,
        data.class_names.len(),
        resumed.map(|c| c.progress),
        &mut writer,
    );
    writer.progress.finish_and_clear();
    let out = writer.out;
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(TrainError::Interrupted {
            epoch,
            batches_done,
            batches,
        }) => {
            let position = match batches_done {
                0 => format!("after epoch {}", epoch - 1),
                done => format!("in epoch {epoch} after {done} of its {batches} batches"),
            };
            let mut resume = format!("mnist-mlp train --resume {}", outputs.checkpoint.display());
            if let Some(dir) = &args.data.data_dir {
                resume += &format!(" --data-dir {}", dir.display());
            }
            if args.offline {
                resume += " --offline";
            }
            return Err(TrainCommandError::Interrupted {
                signal: stop.signal_name().unwrap_or("a signal"),
                position,
                checkpoint: outputs.checkpoint.clone(),
                resume,
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    // The run is complete: its checkpoint has nothing left to continue.
    match std::fs::remove_file(&outputs.checkpoint) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            eprintln!(
                "note: cannot remove the checkpoint {}: {e}",
                outputs.checkpoint.display()
            );
        }
        _ => {}
    }
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
        outputs.weights.display(),
        outputs.metrics.display(),
        outputs.plot.display()
    )?;
    let record = RunRecord::new(&FinishedRun {
        config: &config,
        data: &data,
        arch: &outcome.classifier.mlp.arch,
        outcome: &outcome,
        wall_seconds: seconds,
        weights: &outputs.weights,
    });
    if let Err(err) = runlog::append(&args.run_log, &record) {
        eprintln!("warning: {err} (the training itself succeeded)");
    }
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
            "weights": outputs.weights,
            "plot": outputs.plot,
            "metrics": outputs.metrics,
            "dataset": data.dataset,
            "config": config,
        });
        writeln!(out, "{json}")?;
    }
    Ok(())
}

fn predict_command(args: &PredictArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let SavedRun {
        classifier, data, ..
    } = weights::load(&args.weights)?;
    let names = data.class_names;
    let predictions =
        predict_files(&classifier, &names, &args.images, TOP_CLASSES).map_err(|e| match e {
            PredictError::Network(_) => {
                anyhow::Error::new(e).context(args.weights.display().to_string())
            }
            e => e.into(),
        })?;
    for prediction in predictions {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&prediction)?)?;
        } else {
            let top: Vec<String> = prediction
                .top
                .iter()
                .map(|s| format!("{} ({:.2}%)", s.name, 100.0 * s.probability))
                .collect();
            writeln!(out, "{}: {}", prediction.path.display(), top.join(", "))?;
        }
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
