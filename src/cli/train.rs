//! `mnist-mlp train`: training with per-epoch output, checkpoints, Ctrl-C, and the outputs
//! (weights, metrics, plot, run log) written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::args::TrainArgs;
use crate::cli::common::{accuracy_line, prepare_data, stderr_is_terminal};
use crate::cli::interrupt::{StopRequest, Stopped};
use crate::data::names::Split;
use crate::data::source::DataInfo;
use crate::io::digest::file_sha256;
use crate::io::outputs::{FileArg, OutputError, check_outputs, same_file};
use crate::io::paths::lossy;
use crate::model::Classifier;
use crate::plot::{accuracy_title, plot_accuracy};
use crate::store::checkpoint::{self, Checkpoint, DataFingerprint, RunInfo};
use crate::store::runlog::{self, FinishedRun, RunRecord};
use crate::store::weights::{self, SavedRun};
use crate::train::config::{Recipe, TrainConfig};
use crate::train::metrics::{EpochMetrics, EpochTiming, write_metrics_csv};
use crate::train::progress::Progress;
use crate::train::{ObserverError, TrainError, TrainObserver, train_from};

/// Where a training run writes.
struct Outputs {
    weights: PathBuf,
    plot: PathBuf,
    metrics: PathBuf,
    checkpoint: PathBuf,
    run_log: PathBuf,
}

impl Outputs {
    /// The outputs of a run of `args`, or of the run `resumed` continues: a resumed run
    /// writes to its own outputs unless told otherwise.
    fn new(args: &TrainArgs, resumed: Option<&Checkpoint>) -> Self {
        let output = |id: &str, given: &PathBuf, saved: fn(&RunInfo) -> &PathBuf| match resumed {
            Some(c) if !args.was_given(id) => saved(&c.run).clone(),
            _ => given.clone(),
        };
        let weights = output("weights", &args.weights, |r| &r.weights);
        Outputs {
            checkpoint: args
                .checkpoint
                .clone()
                .unwrap_or_else(|| checkpoint::default_path(&weights)),
            plot: output("plot", &args.plot, |r| &r.plot),
            metrics: output("metrics", &args.metrics, |r| &r.metrics),
            weights,
            run_log: args.run_log.clone(),
        }
    }

    /// Refuses outputs that are the same file, or that cannot be written.
    fn check(&self) -> Result<(), OutputError> {
        check_outputs(&[
            FileArg::replaced("--weights", &self.weights),
            FileArg::replaced("--checkpoint", &self.checkpoint),
            FileArg::replaced("--metrics", &self.metrics),
            FileArg::replaced("--plot", &self.plot),
            FileArg::appended("--run-log", &self.run_log),
        ])
    }
}

/// Reports each epoch and, once training has kept a network, rewrites the weights, metrics
/// and plot after it, so that a run stopped at any point leaves the outputs of its last
/// finished epoch, and a run that never keeps a network (one that is not learning) leaves
/// those of an earlier run untouched; saves a checkpoint after every epoch and when a
/// signal asks training to stop.
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
    /// Whether training has kept a network (this run, or the run it resumes): until then
    /// no output is written.
    has_kept: bool,
    /// The sha256 of the last weights file this process wrote, for the run log: the file on
    /// disk may since be another run's.
    weights_sha256: Option<String>,
    /// The sha256 of the last checkpoint this process wrote (or resumed from, at the same
    /// path): only that file is removed at the end.
    checkpoint_sha256: Option<String>,
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
    ) -> Result<(), ObserverError> {
        self.write_epoch(classifier, history, timing, kept)
            .map_err(ObserverError::new)
    }

    fn stop_requested(&mut self) -> bool {
        self.stop.requested()
    }

    fn checkpoints_every_epoch(&self) -> bool {
        true
    }

    fn checkpoint(&mut self, progress: &Progress) -> Result<(), ObserverError> {
        self.save_checkpoint(progress).map_err(ObserverError::new)
    }
}

impl EpochWriter<'_> {
    /// Prints the epoch's line and rewrites the outputs (the weights if `kept`), once a
    /// network has been kept.
    fn write_epoch(
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
        self.has_kept |= kept;
        if !self.has_kept {
            return Ok(());
        }
        if kept {
            let run = SavedRun {
                classifier: classifier.clone(),
                config: self.run.config.clone(),
                history: history.to_vec(),
                data: self.run.data.clone(),
            };
            self.weights_sha256 = Some(weights::save(&self.outputs.weights, &run)?);
        }
        write_metrics_csv(&self.outputs.metrics, history, &self.timings)?;
        plot_accuracy(&self.outputs.plot, history, &self.title)?;
        Ok(())
    }

    /// Saves the checkpoint, and when a signal stops the run, the metrics and plot so far
    /// (if a network has been kept).
    fn save_checkpoint(&mut self, progress: &Progress) -> anyhow::Result<()> {
        self.checkpoint_sha256 = Some(checkpoint::save(
            &self.outputs.checkpoint,
            self.run,
            progress,
        )?);
        if self.stop.requested() && progress.kept.is_some() {
            // Already written after the last epoch, unless this run resumed without one.
            write_metrics_csv(&self.outputs.metrics, &progress.history, &progress.timings)?;
            plot_accuracy(&self.outputs.plot, &progress.history, &self.title)?;
        }
        Ok(())
    }
}

/// What `train --json` prints, as one line: the run's record in the run log, with the
/// outputs the log does not record, and the record's `epochs_run` and `wall_seconds` also
/// under the names `epochs` and `seconds`.
#[derive(Serialize)]
struct JsonSummary<'a> {
    #[serde(flatten)]
    record: &'a RunRecord,
    epochs: usize,
    seconds: f64,
    #[serde(serialize_with = "lossy")]
    plot: &'a Path,
    #[serde(serialize_with = "lossy")]
    metrics: &'a Path,
}

/// Why `train` did not finish, when the library's error does not say enough.
#[derive(Debug, thiserror::Error)]
pub enum TrainCommandError {
    #[error(
        "--resume continues the run with the settings saved in its checkpoint: leave out \
         {0} (only the data location, --threads, --json and the output paths may be given)"
    )]
    ResumeFlags(String),
    #[error(
        "{} holds the checkpoint of an unfinished run (stopped, or still running), which this \
         run would overwrite: continue it with `{resume}`, or delete {} to start a new run",
        checkpoint.display(),
        checkpoint.display()
    )]
    UnfinishedRun { checkpoint: PathBuf, resume: String },
    #[error(
        "{} holds a run on {} ({}), but the data here is {} ({}): resume it with that \
         run's data (--data-dir, --dataset)",
        checkpoint.display(), saved.describe(), saved_images.describe(), found.describe(),
        found_images.describe()
    )]
    OtherData {
        checkpoint: PathBuf,
        saved: Box<DataInfo>,
        saved_images: Box<DataFingerprint>,
        found: Box<DataInfo>,
        found_images: Box<DataFingerprint>,
    },
}

/// The command that continues the run saved in `checkpoint`, on the data given to this one.
fn resume_command(args: &TrainArgs, checkpoint: &Path) -> String {
    let mut resume = format!("mnist-mlp train --resume {}", checkpoint.display());
    if let Some(dir) = &args.data.data_dir {
        resume += &format!(" --data-dir {}", dir.display());
    }
    if args.offline {
        resume += " --offline";
    }
    resume
}

/// Removes the checkpoint at `path` if it is still the file this run wrote last (sha256
/// `own`): the checkpoint of another run writing to the same path stays.
fn remove_own_checkpoint(path: &Path, own: Option<&str>) {
    if own.is_none() || file_sha256(path).ok().as_deref() != own {
        return;
    }
    if let Err(e) = std::fs::remove_file(path) {
        eprintln!("note: cannot remove the checkpoint {}: {e}", path.display());
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

/// The report of `train` on stdout, which its reader may close (`mnist-mlp train … | head`):
/// once a write finds the pipe closed, the rest of the report is dropped, and training goes
/// on to write its files, which are the command's job.
struct ReportOut<'a> {
    out: &'a mut dyn Write,
    closed: bool,
}

impl ReportOut<'_> {
    /// `result` of a write to `out`, with a closed pipe taken as the end of the report.
    fn unless_closed<T>(&mut self, result: std::io::Result<T>, ok: T) -> std::io::Result<T> {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(ok)
            }
            other => other,
        }
    }
}

impl Write for ReportOut<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = self.out.write(buf);
        self.unless_closed(result, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.out.flush();
        self.unless_closed(result, ())
    }
}

pub fn train_command(args: &TrainArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let started = Instant::now();
    let out = &mut ReportOut { out, closed: false };
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
    let outputs = Outputs::new(args, resumed.as_ref());
    outputs.check()?;
    let resumes_its_checkpoint = args
        .resume
        .as_deref()
        .is_some_and(|path| same_file(path, &outputs.checkpoint));
    if !resumes_its_checkpoint && outputs.checkpoint.exists() {
        return Err(TrainCommandError::UnfinishedRun {
            checkpoint: outputs.checkpoint.clone(),
            resume: resume_command(args, &outputs.checkpoint),
        }
        .into());
    }
    let resumed_checkpoint_sha256 = resumes_its_checkpoint
        .then(|| file_sha256(&outputs.checkpoint).ok())
        .flatten();
    let source = prepare_data(&args.data, &Split::BOTH, args.offline)?;
    // Each split's files are decoded on a thread of their own.
    let (train_set, test_set) =
        rayon::join(|| source.load(Split::Train), || source.load(Split::Test));
    let (train_set, test_set) = (train_set?, test_set?);
    let data = source.identify(&[(Split::Train, &train_set), (Split::Test, &test_set)]);
    let fingerprint = DataFingerprint::of(&train_set, &test_set);
    if let (Some(saved), Some(path)) = (&resumed, &args.resume)
        && (saved.run.data != data || saved.run.fingerprint != fingerprint)
    {
        return Err(TrainCommandError::OtherData {
            checkpoint: path.clone(),
            saved: Box::new(saved.run.data.clone()),
            saved_images: Box::new(saved.run.fingerprint.clone()),
            found: Box::new(data),
            found_images: Box::new(fingerprint),
        }
        .into());
    }
    if resumed.is_none() {
        let recipe = Recipe::for_data(&data);
        let chosen = |flag: &str| args.chosen(flag, recipe);
        writeln!(out, "{}", recipe.describe(&data, &recipe.changes(chosen)))?;
        config = args.config_for(recipe);
    }
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
        data.describe(),
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
        title: accuracy_title(&arch, &data),
        has_kept: resumed.as_ref().is_some_and(|c| c.progress.kept.is_some()),
        weights_sha256: None,
        checkpoint_sha256: resumed_checkpoint_sha256,
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
    let own_checkpoint = writer.checkpoint_sha256;
    // A resumed run that kept no better network wrote no weights: its file is the one the
    // interrupted run wrote.
    let weights_sha256 = writer
        .weights_sha256
        .or_else(|| file_sha256(&outputs.weights).ok());
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
            return Err(Stopped {
                signal: stop.signal_name().unwrap_or("a signal"),
                position,
                checkpoint: outputs.checkpoint.clone(),
                resume: resume_command(args, &outputs.checkpoint),
            }
            .into());
        }
        // An output could not be written: the checkpoint continues the run once it can.
        Err(e @ TrainError::Observer(_)) => return Err(e.into()),
        // Diverged, not learning, …: continuing would end the same way.
        Err(e) => {
            remove_own_checkpoint(&outputs.checkpoint, own_checkpoint.as_deref());
            return Err(e.into());
        }
    };
    // The run is complete: its checkpoint has nothing left to continue.
    remove_own_checkpoint(&outputs.checkpoint, own_checkpoint.as_deref());
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
        weights_sha256,
    });
    if let Err(err) = runlog::append(&outputs.run_log, &record) {
        eprintln!("warning: {err} (the training itself succeeded)");
    }
    if args.json {
        let summary = JsonSummary {
            record: &record,
            epochs: record.epochs_run,
            seconds: record.wall_seconds,
            plot: &outputs.plot,
            metrics: &outputs.metrics,
        };
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    }
    Ok(())
}
