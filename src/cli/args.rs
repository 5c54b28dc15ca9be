//! The clap definitions, the only place that knows clap. Doc comments are the help text.

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::choice::Choice;
use crate::data::augment::Augment;
use crate::data::catalog::Dataset;
use crate::data::input::ScalingKind;
use crate::data::source::DataRequest;
use crate::nn::layers::Activation;
use crate::nn::optim::OptimizerKind;
use crate::nn::schedule::Schedule;
use crate::report::ReportInputs;
use crate::store::export::ExportFormat;
use crate::train::config::{
    CONFIG_FLAGS, Preset, Recipe, TrainConfig, TrainMetrics, train_config_table,
};

/// Train and evaluate a hand-written multilayer perceptron on MNIST.
#[derive(Debug, Parser)]
#[command(name = "mnist-mlp", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Worker threads (default: one per CPU core). Results are the same for any number.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

impl Cli {
    /// Parses the process's arguments (exiting with clap's message on bad ones), noting
    /// which `train` flags were given, so that a preset yields to them.
    pub fn parse_args() -> Self {
        Self::from_matches(Self::command().get_matches()).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::parse_args`] on given arguments.
    pub fn try_parse_args_from<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::from_matches(Self::command().try_get_matches_from(argv)?)
    }

    fn from_matches(matches: ArgMatches) -> Result<Self, clap::Error> {
        let mut cli = Self::from_arg_matches(&matches)?;
        if let (Command::Train(args), Some(("train", sub))) =
            (&mut cli.command, matches.subcommand())
        {
            let given =
                |id: &&clap::Id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine);
            args.given = sub.ids().filter(given).map(|id| id.to_string()).collect();
        }
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a network; writes the weights, the metrics CSV and the accuracy plot.
    #[command(args_override_self = true)]
    Train(Box<TrainArgs>),
    /// Print the test accuracy of a trained network (the homework's evaluate_hw1).
    #[command(name = "evaluate-hw1")]
    EvaluateHw1(EvaluateArgs),
    /// Download a data set's files into its data folder (verified by checksum).
    Download(DownloadArgs),
    /// Classify your own images (PNG, JPEG, PGM; any size, colour or grey), prepared as
    /// MNIST's digits were: bright ink on black, scaled into 20×20, centred in 28×28.
    Predict(PredictArgs),
    /// Error analysis of a trained network on the test set: per-class precision, recall and
    /// F1, the confusion matrix, and pictures of it and of the most confident mistakes.
    Analyze(AnalyzeArgs),
    /// Write a trained network's weights for use from Python (safetensors or NumPy .npz).
    Export(ExportArgs),
    /// Write the homework's report from the run itself: the gradient derivation, the model,
    /// the training procedure, the convergence plot and the attempts of the run log, as
    /// Markdown (and as a PDF when built with `--features pdf`).
    Report(ReportArgs),
    /// Compare training settings on validation images held out of the training set (never
    /// the test set): each flag set trains once per seed, each run adds a line to the sweep's
    /// run log, and a table ranks the settings by their mean validation accuracy.
    Sweep(SweepArgs),
    /// Build the homework's hand-in zip: the report as a PDF with the authors' names, the
    /// weights as a PyTorch .pkl with the evaluate_hw1.py that grades them, the code and
    /// HOW_TO_RUN.txt. Needs the `pdf` feature.
    Handin(HandinArgs),
}

/// Which data set, where its files are, and where to download them from.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The data set (default: mnist, or whatever --data-dir is recognised to hold).
    #[arg(long, value_parser = choice::<Dataset>())]
    pub dataset: Option<Dataset>,
    /// Folder with the IDX files (gzip or raw). Default: data/<dataset>, and for MNIST the
    /// environment variable MNIST_DATA_DIR when it is set.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A mirror to download from, tried in the order given (repeatable).
    /// Default: the data set's own mirrors (torchvision's).
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
}

impl DataArgs {
    /// The data these flags ask for, with `MNIST_DATA_DIR` from the environment.
    pub fn request(&self) -> DataRequest {
        let env = std::env::var_os("MNIST_DATA_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        DataRequest::new(self.dataset, self.data_dir.clone(), env)
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Never download: fail if the data files are missing.
    #[arg(long)]
    pub offline: bool,
    /// Start from a bundle of settings (the flags below without it show the defaults).
    #[arg(long, value_parser = choice::<Preset>())]
    pub preset: Option<Preset>,
    /// Number of passes over the training set.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    pub epochs: usize,
    /// Hidden layer widths, comma-separated (e.g. 256 or 512,256).
    #[arg(long, value_delimiter = ',', action = clap::ArgAction::Set, default_values_t = TrainConfig::default().hidden)]
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers.
    #[arg(long, value_parser = choice::<Activation>(), default_value = TrainConfig::default().activation.name())]
    pub activation: Activation,
    /// Samples per mini-batch.
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    pub batch_size: usize,
    /// Base (peak) learning rate. Custom data's recipe: 0.05.
    #[arg(long = "lr", id = "lr", value_name = "LR", default_value_t = TrainConfig::default().learning_rate, allow_negative_numbers = true)]
    pub learning_rate: f64,
    /// How the learning rate changes over the run.
    #[arg(long, value_parser = choice::<Schedule>(), default_value = TrainConfig::default().lr_schedule.name())]
    pub lr_schedule: Schedule,
    /// Epochs of linear learning-rate warm-up (for one-cycle: of the rise; default 30%).
    #[arg(long, default_value_t = TrainConfig::default().warmup_epochs)]
    pub warmup_epochs: usize,
    /// The update rule.
    #[arg(long, value_parser = choice::<OptimizerKind>(), default_value = TrainConfig::default().optimizer.name())]
    pub optimizer: OptimizerKind,
    /// Momentum of the SGD variants (0 for plain SGD).
    #[arg(long, default_value_t = TrainConfig::default().momentum, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Weight decay λ (L2 penalty; decoupled for adamw).
    #[arg(long, default_value_t = TrainConfig::default().weight_decay, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Rescale each mini-batch gradient to at most this global L2 norm.
    #[arg(long, allow_negative_numbers = true)]
    pub clip_grad_norm: Option<f64>,
    /// Keep every unit's incoming weight vector at most this long (max-norm constraint).
    #[arg(long, allow_negative_numbers = true)]
    pub max_norm: Option<f64>,
    /// Seed of the initial weights and of the batch order.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    pub seed: u64,
    /// Probability of dropping each hidden unit while training (0: no dropout). Custom
    /// data's recipe: 0.2.
    #[arg(long, default_value_t = TrainConfig::default().dropout, allow_negative_numbers = true)]
    pub dropout: f64,
    /// ε of label smoothing: targets (1 − ε)·onehot + ε/classes.
    #[arg(long, default_value_t = TrainConfig::default().label_smoothing, allow_negative_numbers = true)]
    pub label_smoothing: f64,
    /// Training images held out as a validation set (e.g. 5000); the network kept is then
    /// the one of the epoch with the best validation accuracy.
    #[arg(long, default_value_t = TrainConfig::default().val_split)]
    pub val_split: usize,
    /// How training images are varied on the fly. The recipes of Fashion-MNIST and of custom
    /// data (files that are no known data set's): none.
    #[arg(long, value_parser = choice::<Augment>(), default_value = TrainConfig::default().augment.name())]
    pub augment: Augment,
    /// How the per-epoch train loss and accuracy are measured: over the epoch's mini-batches
    /// as trained (free), or by a separate pass with the end-of-epoch weights.
    #[arg(long, value_parser = choice::<TrainMetrics>(), default_value = TrainConfig::default().train_metrics.name())]
    pub train_metrics: TrainMetrics,
    /// How pixels become inputs. Custom data's recipe: standardize.
    #[arg(long, value_parser = choice::<ScalingKind>(), default_value = TrainConfig::default().input_scaling.name())]
    pub input_scaling: ScalingKind,
    /// Where to write the trained network.
    #[arg(long, default_value = "weights/mnist-mlp.bin")]
    pub weights: PathBuf,
    /// Where to write the accuracy-per-epoch plot (PNG).
    #[arg(long, default_value = "plots/accuracy.png")]
    pub plot: PathBuf,
    /// Where to write the per-epoch metrics (CSV).
    #[arg(long, default_value = "plots/metrics.csv")]
    pub metrics: PathBuf,
    /// Where to save the checkpoint that --resume continues from: written atomically after
    /// every epoch and when Ctrl-C or SIGTERM stops the run (after the batch in progress),
    /// removed when the run finishes. Default: the weights path with the extension .ckpt.
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
    /// Continue the run saved in this checkpoint; the result is the same, bit for bit, as
    /// if it had never stopped. The configuration comes from the checkpoint, so the flags
    /// that shape the run (--preset, --epochs, --hidden, --lr, --seed, --augment, …) are
    /// refused with it; the data must be the same. Allowed: --data-dir, --dataset, --mirror,
    /// --offline, --threads, --json, --checkpoint, and --weights, --plot, --metrics (by
    /// default the run's own).
    #[arg(long, value_name = "CHECKPOINT")]
    pub resume: Option<PathBuf>,
    /// End with one line of JSON on stdout summarising the run.
    #[arg(long)]
    pub json: bool,
    /// The run log this run appends one line of JSON to (configuration, final figures,
    /// time, machine), which `mnist-mlp report` reads.
    #[arg(long, value_name = "PATH", default_value = crate::store::runlog::DEFAULT_RUN_LOG)]
    pub run_log: PathBuf,
    /// The ids of the flags given on the command line (filled by [`Cli::parse_args`]).
    #[arg(skip)]
    pub given: Vec<String>,
}

impl TrainArgs {
    /// The `train` arguments of `flags` (e.g. ["--lr", "0.05"]), with the others' defaults.
    pub fn from_flags<'a>(flags: impl IntoIterator<Item = &'a str>) -> Result<Self, clap::Error> {
        let argv = ["mnist-mlp", "train"].into_iter().chain(flags);
        match Cli::try_parse_args_from(argv)?.command {
            Command::Train(args) => Ok(*args),
            _ => unreachable!("the arguments start with `train`"),
        }
    }

    /// The ids of the flags given on the command line that are not training settings (nor
    /// --preset): data, output and reporting flags.
    pub fn flags_beyond_settings(&self) -> Vec<String> {
        let settings: Vec<String> = std::iter::once("preset")
            .chain(CONFIG_FLAGS.iter().copied())
            .map(|flag| flag.replace('-', "_"))
            .collect();
        (self.given.iter())
            .filter(|id| !settings.contains(id))
            .map(|id| format!("--{}", id.replace('_', "-")))
            .collect()
    }

    /// The training configuration these flags ask for (not yet validated): every flag's
    /// value, or with `--preset`, the preset's settings and the flags given on top.
    pub fn config(&self) -> TrainConfig {
        let flags = self.flag_values();
        let Some(preset) = self.preset else {
            return flags;
        };
        TrainConfig::overlay(preset.config(), flags, |flag| self.flag_given(flag))
    }

    /// The training configuration of these flags on data of `recipe`: every flag given,
    /// and the preset's (for that data) or the recipe's settings for the rest.
    pub fn config_for(&self, recipe: Recipe) -> TrainConfig {
        let base = match self.preset {
            Some(preset) => preset.config_for(recipe),
            None => recipe.config(),
        };
        TrainConfig::overlay(base, self.flag_values(), |flag| self.flag_given(flag))
    }

    /// The flags given on the command line that shape the training run (all but the data,
    /// output and reporting flags), as `--name`: `--resume` refuses them.
    pub fn run_flags_given(&self) -> Vec<String> {
        std::iter::once("preset")
            .chain(CONFIG_FLAGS.iter().copied())
            .filter(|flag| self.flag_given(flag))
            .map(|flag| format!("--{flag}"))
            .collect()
    }

    /// Whether the flag with id `id` (e.g. "augment") was given on the command line.
    pub fn was_given(&self, id: &str) -> bool {
        self.given.iter().any(|g| g == id)
    }

    /// Whether the setting of `--flag` (e.g. "augment") was chosen: given on the command
    /// line, or set by the preset (on data of `recipe`) to other than the recipe's value. The
    /// recipe sets the rest.
    pub fn chosen(&self, flag: &str, recipe: Recipe) -> bool {
        let preset_sets = |preset: Preset| {
            preset.config_for(recipe).setting(flag) != recipe.config().setting(flag)
        };
        self.flag_given(flag) || self.preset.is_some_and(preset_sets)
    }

    /// Whether `--flag` (e.g. "batch-size") was given on the command line.
    fn flag_given(&self, flag: &str) -> bool {
        self.was_given(&flag.replace('-', "_"))
    }

    /// The configuration of the flags' values, defaults included: each field of
    /// [`train_config_table`] from the field of the same name here.
    fn flag_values(&self) -> TrainConfig {
        macro_rules! from_flags {
            ($args:ident; $(
                $(#[$attr:meta])*
                $field:ident: $ty:ty = $default:expr, $flag:literal, $kind:ident;
            )*) => {
                TrainConfig { $($field: $args.$field.clone(),)* }
            };
        }
        let args = self;
        train_config_table!(from_flags, args)
    }
}

/// A trained network and the test set to measure it on.
#[derive(Debug, Args)]
pub struct TestSetArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Never download: fail if the data files are missing.
    #[arg(long)]
    pub offline: bool,
    /// The trained network.
    #[arg(long, default_value = "weights/mnist-mlp.bin")]
    pub weights: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub test: TestSetArgs,
    /// Print one line of JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub test: TestSetArgs,
    /// Where to write the heat map of the confusion matrix (PNG).
    #[arg(long, default_value = "plots/confusion.png")]
    pub confusion: PathBuf,
    /// Where to write the grid of the most confident mistakes (PNG).
    #[arg(long, default_value = "plots/mistakes.png")]
    pub mistakes: PathBuf,
    /// How many mistakes the grid shows, the most confident first.
    #[arg(long, value_name = "N", default_value_t = 48,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub mistakes_count: u16,
    /// Print everything as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The image files to classify.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// The trained network.
    #[arg(long, default_value = "weights/mnist-mlp.bin")]
    pub weights: PathBuf,
    /// Print one line of JSON per image instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file format (default: from the output's extension, .safetensors, .npz or .pkl).
    /// With pkl, evaluate_hw1.py is written beside the output.
    #[arg(long, value_parser = choice::<ExportFormat>())]
    pub format: Option<ExportFormat>,
    /// The trained network to export.
    #[arg(long, default_value = "weights/mnist-mlp.bin")]
    pub weights: PathBuf,
    /// Where to write the exported weights.
    #[arg(long)]
    pub output: PathBuf,
}

/// What a report is made from: the network, the confusion picture, the run log, the authors
/// and the title (`report` and `handin` alike).
#[derive(Debug, Args)]
pub struct ReportSourceArgs {
    /// The trained network (its architecture, configuration and per-epoch history come from
    /// this file).
    #[arg(long, default_value = "weights/mnist-mlp.bin")]
    pub weights: PathBuf,
    /// The confusion-matrix picture of `mnist-mlp analyze`, included when the file exists.
    #[arg(long, value_name = "PNG", default_value = "plots/confusion.png")]
    pub confusion: PathBuf,
    /// The run log that `train` appends to: the run's time and machine, and the attempts.
    #[arg(long, value_name = "PATH", default_value = crate::store::runlog::DEFAULT_RUN_LOG)]
    pub run_log: PathBuf,
    /// The log of `mnist-mlp sweep`: its ranking of settings by validation accuracy, on the
    /// network's data set, goes into the attempts (left out when the file is missing).
    #[arg(long, value_name = "PATH", default_value = crate::store::sweeplog::DEFAULT_SWEEP_LOG)]
    pub sweep_log: PathBuf,
    /// An author as "Full Name, ID" (repeatable: the homework is done in pairs).
    #[arg(long = "author", value_name = "NAME, ID")]
    pub authors: Vec<String>,
    /// The report's title.
    #[arg(
        long,
        default_value = "An MNIST classifier: a multilayer perceptron written by hand"
    )]
    pub title: String,
}

impl ReportSourceArgs {
    /// The report's inputs, dated today.
    pub fn inputs(&self) -> ReportInputs {
        ReportInputs {
            weights: self.weights.clone(),
            confusion: self.confusion.clone(),
            run_log: self.run_log.clone(),
            sweep_log: self.sweep_log.clone(),
            authors: self.authors.clone(),
            title: self.title.clone(),
            date: crate::report::today_utc(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: ReportSourceArgs,
    /// The folder to write report.md, report.typ, the pictures and report.pdf into.
    #[arg(long, default_value = "report")]
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Never download: fail if the training files are missing. The test files are never
    /// read.
    #[arg(long)]
    pub offline: bool,
    /// `train` flags every run shares, as one string (e.g. "--preset best --epochs 30").
    #[arg(
        long,
        value_name = "FLAGS",
        default_value = "",
        allow_hyphen_values = true
    )]
    pub base: String,
    /// One axis of the sweep: alternative `train` flag sets separated by `|` (e.g.
    /// "--lr 0.05 | --lr 0.1"). Repeat it for a grid: every combination of one alternative
    /// per axis runs.
    #[arg(long, value_name = "ALTERNATIVES", allow_hyphen_values = true)]
    pub vary: Vec<String>,
    /// The seeds each flag set runs with; each seed holds out its own validation images.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub seeds: Vec<u64>,
    /// Training images held out for validation in every run.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub val_split: usize,
    /// The sweep's run log: one line of JSON per run. A run whose configuration it already
    /// holds (same data, same version) is taken from it instead of trained again, so an
    /// interrupted sweep continues where it stopped.
    #[arg(long, value_name = "PATH", default_value = crate::store::sweeplog::DEFAULT_SWEEP_LOG)]
    pub run_log: PathBuf,
    /// Also write the command and the ranking table to this Markdown file.
    #[arg(long, value_name = "PATH")]
    pub table: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HandinArgs {
    #[command(flatten)]
    pub source: ReportSourceArgs,
    /// The zip to write.
    #[arg(long, default_value = "hw1.zip")]
    pub output: PathBuf,
    /// The project folder whose src/, benches/, Cargo.toml, Cargo.lock and README.md are handed
    /// in.
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
}

/// The value parser of a [`Choice`]: its names are the possible values, listed with their
/// help, and parse to the value of that name.
fn choice<T: Choice>() -> ChoiceParser<T> {
    ChoiceParser(PhantomData)
}

#[derive(Debug, Clone, Copy)]
struct ChoiceParser<T>(PhantomData<fn() -> T>);

fn possible_value<T: Choice>(value: T) -> PossibleValue {
    let possible = PossibleValue::new(value.name());
    match value.help() {
        Some(help) => possible.help(help),
        None => possible,
    }
}

impl<T: Choice + Send + Sync> TypedValueParser for ChoiceParser<T> {
    type Value = T;

    /// As clap's parser of a `ValueEnum`: a name not known, or not UTF-8, is an invalid value
    /// (shown lossily) with the possible values listed.
    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let names = PossibleValuesParser::new(T::ALL.iter().map(|v| possible_value(*v)));
        let name = names.parse_ref(cmd, arg, OsStr::new(value.to_string_lossy().as_ref()))?;
        let ignore_case = arg.is_some_and(|a| a.is_ignore_case_set());
        Ok(T::ALL
            .iter()
            .copied()
            .find(|v| possible_value(*v).matches(&name, ignore_case))
            .expect("the name is a possible value"))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(T::ALL.iter().map(|v| possible_value(*v))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// `--flag` of `sub` offers the names of `T`, each parsing to its value; others are refused.
    fn check_choice<T: Choice + Send + Sync + PartialEq + std::fmt::Debug>(sub: &str, flag: &str) {
        let mut cli = Cli::command();
        cli.build();
        let cmd = cli.find_subcommand(sub).unwrap();
        let arg = cmd.get_arguments().find(|a| a.get_id() == flag).unwrap();
        let offered: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|p| p.get_name().to_owned())
            .collect();
        let names: Vec<&str> = T::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(offered, names);
        for &v in T::ALL {
            let parsed = choice::<T>().parse_ref(cmd, Some(arg), OsStr::new(v.name()));
            assert_eq!(parsed.unwrap(), v);
        }
        let unknown = choice::<T>().parse_ref(cmd, Some(arg), OsStr::new("no-such-name"));
        assert_eq!(
            unknown.unwrap_err().kind(),
            clap::error::ErrorKind::InvalidValue
        );
    }

    /// The run log (serde's JSON) spells the values of `T` as the command line does.
    fn check_serde_names<T: Choice + serde::Serialize>() {
        for &v in T::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.name()));
        }
    }

    #[test]
    fn choices_match_the_command_line_and_the_run_log() {
        check_choice::<Dataset>("train", "dataset");
        check_choice::<Dataset>("download", "dataset");
        check_choice::<Preset>("train", "preset");
        check_choice::<Activation>("train", "activation");
        check_choice::<Schedule>("train", "lr_schedule");
        check_choice::<OptimizerKind>("train", "optimizer");
        check_choice::<Augment>("train", "augment");
        check_choice::<TrainMetrics>("train", "train_metrics");
        check_choice::<ScalingKind>("train", "input_scaling");
        check_choice::<ExportFormat>("export", "format");
        check_serde_names::<Dataset>();
        check_serde_names::<Preset>();
        check_serde_names::<Activation>();
        check_serde_names::<Schedule>();
        check_serde_names::<OptimizerKind>();
        check_serde_names::<Augment>();
        check_serde_names::<TrainMetrics>();
        check_serde_names::<ScalingKind>();
    }

    #[test]
    fn a_preset_yields_to_the_flags_given() {
        let argv = [
            "mnist-mlp",
            "train",
            "--preset",
            "best",
            "--epochs",
            "3",
            "--lr",
            "0.1",
        ];
        let Command::Train(args) = Cli::try_parse_args_from(argv).unwrap().command else {
            panic!("not train")
        };
        let config = args.config();
        let best = Preset::Best.config();
        assert_eq!((config.epochs, config.learning_rate), (3, 0.1));
        assert_eq!(
            (config.hidden, config.dropout, config.augment),
            (best.hidden, best.dropout, best.augment)
        );
        // A flag left at its default does not undo the preset.
        assert_eq!(config.val_split, best.val_split);
    }

    #[test]
    fn what_a_preset_chooses_depends_on_the_recipe_of_the_data() {
        let argv = ["mnist-mlp", "train", "--preset", "best", "--lr", "0.02"];
        let Command::Train(args) = Cli::try_parse_args_from(argv).unwrap().command else {
            panic!("not train")
        };
        // On clothes, best keeps the recipe's network and sets its own dropout.
        let clothes = Recipe::Clothes;
        assert!(args.chosen("dropout", clothes) && args.chosen("epochs", clothes));
        assert!(!args.chosen("hidden", clothes) && !args.chosen("augment", clothes));
        assert!(args.chosen("lr", clothes), "given");
        let changed: Vec<&str> = (clothes.changes(|flag| args.chosen(flag, clothes)).iter())
            .map(|(flag, _)| *flag)
            .collect();
        assert_eq!(changed, ["hidden", "augment"]);
        let config = args.config_for(clothes);
        assert_eq!((config.learning_rate, config.dropout), (0.02, 0.2));
        // On handwriting, best sets the network and the distortions.
        let digits = Recipe::Handwriting;
        assert!(args.chosen("hidden", digits) && args.chosen("augment", digits));
        assert!(!args.chosen("dropout", digits));
    }

    #[test]
    fn defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["mnist-mlp", "train"]).unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not train")
        };
        assert_eq!(args.config(), TrainConfig::default());
    }

    #[test]
    fn the_configuration_table_names_train_flags() {
        let cli = Cli::command();
        let train = cli.find_subcommand("train").unwrap();
        for flag in CONFIG_FLAGS {
            let arg = train.get_arguments().find(|a| a.get_long() == Some(flag));
            let arg = arg.unwrap_or_else(|| panic!("train has no --{flag}"));
            assert_eq!(arg.get_id().as_str(), flag.replace('-', "_"));
        }
    }

    #[test]
    fn the_settings_of_a_configuration_are_flags_that_give_it_back() {
        let config = TrainConfig {
            hidden: vec![64, 32],
            activation: Activation::Tanh,
            learning_rate: 0.05,
            lr_schedule: Schedule::Onecycle,
            optimizer: OptimizerKind::Adamw,
            clip_grad_norm: Some(1.5),
            input_scaling: ScalingKind::Standardize,
            augment: Augment::Elastic,
            ..TrainConfig::default()
        };
        let mut argv = vec!["mnist-mlp".to_string(), "train".to_string()];
        for (flag, value) in config.settings() {
            if value != "off" {
                argv.extend([format!("--{flag}"), value]);
            }
        }
        let Command::Train(args) = Cli::try_parse_args_from(argv).unwrap().command else {
            panic!("not train")
        };
        assert_eq!(args.config(), config);
    }

    #[test]
    fn hidden_takes_a_comma_separated_list() {
        let cli = Cli::try_parse_from(["mnist-mlp", "train", "--hidden", "512,256"]).unwrap();
        let Command::Train(args) = cli.command else {
            panic!("not train")
        };
        assert_eq!(args.hidden, vec![512, 256]);
    }

    #[test]
    fn a_repeated_flag_replaces_the_earlier_one() {
        let argv = ["mnist-mlp", "train", "--hidden", "32", "--hidden", "64,16"];
        let Command::Train(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not train")
        };
        assert_eq!(args.hidden, vec![64, 16]);
        let argv = [
            "mnist-mlp",
            "train",
            "--epochs",
            "3",
            "--lr",
            "0.5",
            "--epochs",
            "7",
        ];
        let Command::Train(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not train")
        };
        assert_eq!((args.epochs, args.learning_rate), (7, 0.5));
    }
}
