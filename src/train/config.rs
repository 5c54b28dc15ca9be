//! The training configuration: [`TrainConfig`], its validation, and the presets.
//!
//! The settings are listed once, in [`train_config_table`]: the struct, its defaults, the
//! names of the `train` flags that set them, the overlay of given flags on a preset and the
//! (flag, value) list of the report are all generated from that table.

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::data::augment::Augment;
use crate::data::catalog::Dataset;
use crate::data::input::ScalingKind;
use crate::data::source::DataInfo;
use crate::nn::layers::Activation;
use crate::nn::mlp::Architecture;
use crate::nn::optim::{OptimizerConfig, OptimizerKind};
use crate::nn::schedule::Schedule;

/// The table of the training settings, handed to the macro `$callback` (after `$args`, then
/// a `;`): one row per field of [`TrainConfig`], in the order the weights file records them,
/// as `field: type = default, "flag", kind;` with the field's doc comment and attributes
/// above it. `flag` is the `train` option that sets the field (without `--`); `kind` is
/// `setting` for what shapes the run, `reporting` for what only changes what is measured
/// (left out of [`TrainConfig::settings`]).
macro_rules! train_config_table {
    ($callback:ident $(, $args:tt)*) => {
        $callback! { $($args)* ;
            /// Passes over the training set.
            epochs: usize = 20, "epochs", setting;
            /// Widths of the hidden layers, first to last.
            hidden: Vec<usize> = vec![256], "hidden", setting;
            activation: Activation = Activation::Relu, "activation", setting;
            batch_size: usize = 128, "batch-size", setting;
            /// The base (peak) learning rate.
            learning_rate: f64 = 0.1, "lr", setting;
            lr_schedule: Schedule = Schedule::Cosine, "lr-schedule", setting;
            /// Epochs of linear warm-up at the start (the rise, for one-cycle).
            warmup_epochs: usize = 0, "warmup-epochs", setting;
            optimizer: OptimizerKind = OptimizerKind::Sgd, "optimizer", setting;
            /// μ of the SGD variants.
            momentum: f64 = 0.9, "momentum", setting;
            weight_decay: f64 = 0.0, "weight-decay", setting;
            clip_grad_norm: Option<f64> = None, "clip-grad-norm", setting;
            /// Longest L2 norm each unit's incoming weights may have after a step.
            max_norm: Option<f64> = None, "max-norm", setting;
            seed: u64 = 42, "seed", setting;
            input_scaling: ScalingKind = ScalingKind::Unit, "input-scaling", setting;
            augment: Augment = Augment::Shift, "augment", setting;
            /// Probability of dropping each hidden unit during training (inverted dropout).
            dropout: f64 = 0.0, "dropout", setting;
            /// ε of label smoothing.
            label_smoothing: f64 = 0.0, "label-smoothing", setting;
            /// Training images held out for validation, which chooses the network kept.
            val_split: usize = 0, "val-split", setting;
            /// How the per-epoch train loss and accuracy are measured. Reporting only: it
            /// does not change the weights, so the weights file does not record it.
            #[serde(skip)]
            train_metrics: TrainMetrics = TrainMetrics::Sample, "train-metrics", reporting;
        }
    };
}
pub(crate) use train_config_table;

/// Generates [`TrainConfig`] and what is derived from its table.
macro_rules! define_train_config {
    (; $(
        $(#[$attr:meta])*
        $field:ident: $ty:ty = $default:expr, $flag:literal, $kind:ident;
    )*) => {
        /// Everything that determines a training run; recorded in the weights file.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct TrainConfig {
            $($(#[$attr])* pub $field: $ty,)*
        }

        impl Default for TrainConfig {
            /// The defaults of `mnist-mlp train`: 784-256-10 ReLU, SGD 0.1 with momentum 0.9
            /// on a cosine schedule, batches of 128, images shifted by up to 2 pixels, 20
            /// epochs.
            fn default() -> Self {
                TrainConfig { $($field: $default,)* }
            }
        }

        /// The `train` flags (without `--`) that set the fields of [`TrainConfig`], in its
        /// order.
        pub const CONFIG_FLAGS: &[&str] = &[$($flag),*];

        impl TrainConfig {
            /// `flags`, except that each field whose flag `given` does not name comes from
            /// `base` (e.g. the flags given on the command line on top of a preset).
            pub fn overlay(
                base: TrainConfig,
                flags: TrainConfig,
                given: impl Fn(&str) -> bool,
            ) -> TrainConfig {
                TrainConfig {
                    $($field: if given($flag) { flags.$field } else { base.$field },)*
                }
            }

            /// The value of the setting of `--flag` as the flag takes it (`None` for a flag
            /// that is no setting).
            pub fn setting(&self, flag: &str) -> Option<String> {
                self.settings().into_iter().find(|(f, _)| *f == flag).map(|(_, v)| v)
            }

            /// Every setting that shapes the run, as (flag, value as the flag takes it), in
            /// the order of [`TrainConfig`]'s fields.
            pub fn settings(&self) -> Vec<(&'static str, String)> {
                let settings = [$(define_train_config!(@$kind $flag, &self.$field)),*];
                settings.into_iter().flatten().collect()
            }
        }
    };
    (@setting $flag:literal, $value:expr) => {
        Some(($flag, FlagText::flag_text($value)))
    };
    (@reporting $flag:literal, $value:expr) => {
        None
    };
}

train_config_table!(define_train_config);

/// A setting's value as the `train` flag that sets it takes it.
trait FlagText {
    fn flag_text(&self) -> String;
}

macro_rules! flag_text_by_display {
    ($($ty:ty),*) => {$(
        impl FlagText for $ty {
            fn flag_text(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
flag_text_by_display!(usize, u64, f64);

/// The value names of the choices are their serialised names.
macro_rules! flag_text_by_name {
    ($($ty:ty),*) => {$(
        impl FlagText for $ty {
            fn flag_text(&self) -> String {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(name)) => name,
                    _ => unreachable!("a choice serialises as its name"),
                }
            }
        }
    )*};
}
flag_text_by_name!(
    Activation,
    Schedule,
    OptimizerKind,
    ScalingKind,
    Augment,
    TrainMetrics
);

impl FlagText for Option<f64> {
    fn flag_text(&self) -> String {
        self.map_or_else(|| "off".to_string(), |v| v.flag_text())
    }
}

impl FlagText for Vec<usize> {
    fn flag_text(&self) -> String {
        let widths: Vec<String> = self.iter().map(usize::to_string).collect();
        widths.join(",")
    }
}

/// Training images in the sample that [`TrainMetrics::Sample`] evaluates (all of them when
/// fewer are trained on).
pub const TRAIN_SAMPLE: usize = 10_000;

/// How each epoch's train loss and accuracy (those plotted and printed) are measured. The
/// running figures are recorded beside them whatever the choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainMetrics {
    Running,
    #[default]
    Sample,
    Full,
}

impl Choice for TrainMetrics {
    const ALL: &'static [Self] = &[Self::Running, Self::Sample, Self::Full];

    fn name(self) -> &'static str {
        match self {
            TrainMetrics::Running => "running",
            TrainMetrics::Sample => "sample",
            TrainMetrics::Full => "full",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            TrainMetrics::Running => {
                "Over the epoch's mini-batches as they were trained on (with their augmentation \
                 and dropout, by the weights of the moment): free, as the training passes \
                 compute them"
            }
            TrainMetrics::Sample => {
                "A pass over a fixed random sample of 10,000 of the images trained on (all of \
                 them when fewer), un-augmented, with the end-of-epoch weights, as the test set \
                 is evaluated"
            }
            TrainMetrics::Full => {
                "A pass over all the images trained on, un-augmented, with the end-of-epoch \
                 weights"
            }
        })
    }
}

/// Named bundles of settings; any flag given on the command line still overrides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Fast,
    Best,
}

impl Choice for Preset {
    const ALL: &'static [Self] = &[Self::Fast, Self::Best];

    fn name(self) -> &'static str {
        match self {
            Preset::Fast => "fast",
            Preset::Best => "best",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            Preset::Fast => {
                "4 epochs of the default network on a one-cycle schedule peaking at 0.3, \
                 without augmentation"
            }
            Preset::Best => {
                "Two layers of 1024, elastic distortions, cosine schedule from 0.05, 50 epochs, \
                 keeping the best epoch on 5,000 validation images (on Fashion-MNIST: its \
                 recipe for 50 epochs with dropout 0.2)"
            }
        })
    }
}

impl Preset {
    /// The preset on data of `recipe`: the recipe's settings with the preset's changes, or
    /// for Fashion-MNIST's clothes, a `best` of their own.
    pub fn config_for(self, recipe: Recipe) -> TrainConfig {
        match (self, recipe) {
            (Preset::Best, Recipe::Clothes) => clothes_best(),
            _ => {
                let (preset, defaults) = (self.config(), TrainConfig::default());
                let set_by_preset = |flag: &str| preset.setting(flag) != defaults.setting(flag);
                TrainConfig::overlay(recipe.config(), preset.clone(), set_by_preset)
            }
        }
    }

    /// The preset's settings as they are for handwriting (MNIST and its kin).
    pub fn config(self) -> TrainConfig {
        let defaults = TrainConfig::default();
        match self {
            Preset::Fast => TrainConfig {
                epochs: 4,
                learning_rate: 0.3,
                lr_schedule: Schedule::Onecycle,
                augment: Augment::None,
                ..defaults
            },
            Preset::Best => TrainConfig {
                epochs: 50,
                hidden: vec![1024, 1024],
                learning_rate: 0.05,
                lr_schedule: Schedule::Cosine,
                augment: Augment::Elastic,
                val_split: 5000,
                ..defaults
            },
        }
    }
}

/// `--preset best` on Fashion-MNIST: the clothes' recipe for 50 epochs with dropout 0.2,
/// keeping the best epoch on 5,000 validation images. Chosen on validation images
/// (docs/sweeps).
fn clothes_best() -> TrainConfig {
    TrainConfig {
        epochs: 50,
        dropout: 0.2,
        val_split: 5000,
        ..Recipe::Clothes.config()
    }
}

/// The defaults that suit the data a run trains on, for the settings that no flag and no
/// preset sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// MNIST and the other handwriting sets: the defaults as they are, tuned on MNIST.
    Handwriting,
    /// Fashion-MNIST: a wider, deeper network (1024 and 512 hidden units) with light
    /// dropout and a lower learning rate, without augmentation: its clothes fill the frame in a
    /// fixed pose, and moved images make worse training data. Chosen on validation images
    /// (docs/sweeps).
    Clothes,
    /// Custom data, which may be any images: inputs standardised on the training images, so
    /// that inverted, offset or low-contrast pixels reach the network alike; no augmentation,
    /// since a shift means nothing to images whose pixels are permuted or resized; the
    /// learning rate that standardised inputs tolerate; and dropout in place of the
    /// regularisation that augmentation gave. Chosen on validation images of MNIST variants
    /// (docs/data.md).
    Custom,
}

/// The hidden layers of [`Recipe::Clothes`].
const CLOTHES_HIDDEN: [usize; 2] = [1024, 512];
/// The learning rate of [`Recipe::Clothes`].
const CLOTHES_LEARNING_RATE: f64 = 0.05;
/// The dropout of [`Recipe::Clothes`].
const CLOTHES_DROPOUT: f64 = 0.1;

/// The learning rate of [`Recipe::Custom`].
const CUSTOM_LEARNING_RATE: f64 = 0.05;
/// The dropout of [`Recipe::Custom`].
const CUSTOM_DROPOUT: f64 = 0.2;

impl Recipe {
    /// The recipe for `data`: by its data set, known by its files' checksums.
    pub fn for_data(data: &DataInfo) -> Self {
        Self::for_dataset(data.dataset)
    }

    /// The recipe for a known data set, or (`None`) for custom data.
    pub fn for_dataset(dataset: Option<Dataset>) -> Self {
        match dataset {
            None => Recipe::Custom,
            Some(d) if d.suits_distortions() => Recipe::Handwriting,
            Some(_) => Recipe::Clothes,
        }
    }

    /// The recipe's settings: the defaults with its changes.
    pub fn config(self) -> TrainConfig {
        let defaults = TrainConfig::default();
        match self {
            Recipe::Handwriting => defaults,
            Recipe::Clothes => TrainConfig {
                hidden: CLOTHES_HIDDEN.to_vec(),
                learning_rate: CLOTHES_LEARNING_RATE,
                dropout: CLOTHES_DROPOUT,
                augment: Augment::None,
                ..defaults
            },
            Recipe::Custom => TrainConfig {
                input_scaling: ScalingKind::Standardize,
                augment: Augment::None,
                learning_rate: CUSTOM_LEARNING_RATE,
                dropout: CUSTOM_DROPOUT,
                ..defaults
            },
        }
    }

    /// The settings the recipe changes from the defaults, as (flag, value), except those
    /// `chosen` names (given on the command line or set by a preset).
    pub fn changes(self, chosen: impl Fn(&str) -> bool) -> Vec<(&'static str, String)> {
        let defaults = TrainConfig::default().settings();
        let recipe = self.config().settings();
        let changed = recipe.into_iter().zip(defaults).filter(|(r, d)| r != d);
        changed
            .map(|(r, _)| r)
            .filter(|(flag, _)| !chosen(flag))
            .collect()
    }

    /// One line: the recipe for `data`, why, and the settings `changes` it made.
    pub fn describe(self, data: &DataInfo, changes: &[(&str, String)]) -> String {
        let flags: Vec<String> = changes
            .iter()
            .map(|(flag, value)| format!("--{flag} {value}"))
            .collect();
        let settings = match flags.is_empty() {
            true => " (each of its settings given otherwise)".to_string(),
            false => format!(" ({})", flags.join(" ")),
        };
        match self {
            Recipe::Handwriting => format!(
                "recipe: the defaults, tuned on MNIST, for {} (its files match its checksums)",
                data.describe()
            ),
            Recipe::Clothes => format!(
                "recipe: the one for clothes{settings}, chosen on validation images, for {} \
                 (its files match its checksums): moved clothes make worse training data",
                data.describe()
            ),
            Recipe::Custom => format!(
                "recipe: the one for custom data{settings}, for {} (its files match no known \
                 data set's checksums): it learns on any images; flags given override it",
                data.describe()
            ),
        }
    }
}

/// A training configuration that cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("--epochs must be at least 1")]
    NoEpochs,
    #[error("--hidden needs at least one hidden layer (e.g. --hidden 256 or --hidden 512,256)")]
    NoHiddenLayer,
    #[error("--hidden: every hidden layer needs at least 1 unit, got {0:?}")]
    EmptyHiddenLayer(Vec<usize>),
    #[error("--batch-size must be at least 1")]
    NoBatch,
    #[error("--lr must be a positive finite number, got {0}")]
    LearningRate(f64),
    #[error("--momentum must be in [0, 1), got {0}")]
    Momentum(f64),
    #[error("--weight-decay must be a finite number ≥ 0, got {0}")]
    WeightDecay(f64),
    #[error("--clip-grad-norm must be a positive finite number, got {0}")]
    ClipGradNorm(f64),
    #[error("--max-norm must be a positive finite number, got {0}")]
    MaxNorm(f64),
    #[error("--dropout must be in [0, 1), got {0}")]
    Dropout(f64),
    #[error("--label-smoothing must be in [0, 1), got {0}")]
    LabelSmoothing(f64),
    #[error("--warmup-epochs ({warmup}) must be fewer than --epochs ({epochs})")]
    Warmup { warmup: usize, epochs: usize },
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.epochs == 0 {
            return Err(ConfigError::NoEpochs);
        }
        if self.hidden.is_empty() {
            return Err(ConfigError::NoHiddenLayer);
        }
        if self.hidden.contains(&0) {
            return Err(ConfigError::EmptyHiddenLayer(self.hidden.clone()));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::NoBatch);
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ConfigError::LearningRate(self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(ConfigError::Momentum(self.momentum));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ConfigError::Dropout(self.dropout));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(ConfigError::LabelSmoothing(self.label_smoothing));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(ConfigError::WeightDecay(self.weight_decay));
        }
        let invalid = |n: &f64| !(n.is_finite() && *n > 0.0);
        if let Some(norm) = self.clip_grad_norm.filter(invalid) {
            return Err(ConfigError::ClipGradNorm(norm));
        }
        if let Some(norm) = self.max_norm.filter(invalid) {
            return Err(ConfigError::MaxNorm(norm));
        }
        if self.warmup_epochs >= self.epochs && self.warmup_epochs > 0 {
            return Err(ConfigError::Warmup {
                warmup: self.warmup_epochs,
                epochs: self.epochs,
            });
        }
        Ok(())
    }

    /// The optimizer's settings.
    pub fn optimizer_config(&self) -> OptimizerConfig {
        OptimizerConfig {
            kind: self.optimizer,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            clip_grad_norm: self.clip_grad_norm,
            ..OptimizerConfig::sgd(self.momentum)
        }
    }

    /// The network this configuration trains on images of `input_size` pixels.
    pub fn architecture(&self, input_size: usize, num_classes: usize) -> Architecture {
        Architecture {
            input_size,
            hidden: self.hidden.clone(),
            num_classes,
            activation: self.activation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_the_setting_flags_with_their_values() {
        let c = TrainConfig {
            hidden: vec![512, 256],
            clip_grad_norm: Some(1.5),
            ..TrainConfig::default()
        };
        let settings = c.settings();
        let flags: Vec<&str> = settings.iter().map(|(flag, _)| *flag).collect();
        let expected: Vec<&str> = CONFIG_FLAGS
            .iter()
            .copied()
            .filter(|flag| *flag != "train-metrics")
            .collect();
        assert_eq!(flags, expected);
        let value = |flag: &str| {
            let setting = settings.iter().find(|(f, _)| *f == flag);
            setting.map(|(_, v)| v.clone()).unwrap()
        };
        assert_eq!(value("hidden"), "512,256");
        assert_eq!(value("clip-grad-norm"), "1.5");
        assert_eq!(value("max-norm"), "off");
        assert_eq!(value("lr"), "0.1");
        assert_eq!(value("lr-schedule"), "cosine");
        assert_eq!(value("input-scaling"), "unit");
    }

    #[test]
    fn each_data_set_gets_its_recipe_and_flags_chosen_keep_their_values() {
        let custom = DataInfo {
            dataset: None,
            name: "inverted".into(),
            class_names: vec!["0".into(), "1".into()],
        };
        assert_eq!(Recipe::for_data(&custom), Recipe::Custom);
        assert_eq!(Recipe::for_data(&DataInfo::mnist()), Recipe::Handwriting);
        let fashion = DataInfo::known(Dataset::FashionMnist);
        assert_eq!(Recipe::for_data(&fashion), Recipe::Clothes);
        assert_eq!(Recipe::Handwriting.config(), TrainConfig::default());

        let nothing_chosen = Recipe::Custom.config();
        assert_eq!(nothing_chosen.input_scaling, ScalingKind::Standardize);
        assert_eq!(nothing_chosen.augment, Augment::None);
        assert_eq!(nothing_chosen.learning_rate, CUSTOM_LEARNING_RATE);
        assert_eq!(nothing_chosen.dropout, CUSTOM_DROPOUT);

        let given = TrainConfig {
            augment: Augment::Shift,
            epochs: 3,
            ..TrainConfig::default()
        };
        let chosen = |flag: &str| flag == "augment" || flag == "epochs";
        let config = TrainConfig::overlay(Recipe::Custom.config(), given, chosen);
        assert_eq!((config.augment, config.epochs), (Augment::Shift, 3));
        assert_eq!(config.input_scaling, ScalingKind::Standardize);
        let changed: Vec<&str> = Recipe::Custom
            .changes(chosen)
            .iter()
            .map(|(flag, _)| *flag)
            .collect();
        assert_eq!(changed, ["lr", "input-scaling", "dropout"]);
        let line = Recipe::Custom.describe(&custom, &Recipe::Custom.changes(chosen));
        assert!(
            line.contains("(--lr 0.05 --input-scaling standardize --dropout 0.2)")
                && line.contains("custom data \"inverted\""),
            "{line}"
        );
        assert!(Recipe::Handwriting.changes(|_| false).is_empty());
    }

    #[test]
    fn a_preset_goes_on_top_of_the_recipe_of_the_data() {
        assert_eq!(
            Preset::Best.config_for(Recipe::Handwriting),
            Preset::Best.config()
        );
        let fast_custom = Preset::Fast.config_for(Recipe::Custom);
        assert_eq!(
            (fast_custom.learning_rate, fast_custom.lr_schedule),
            (0.3, Schedule::Onecycle)
        );
        assert_eq!(
            (fast_custom.input_scaling, fast_custom.dropout),
            (ScalingKind::Standardize, CUSTOM_DROPOUT)
        );
        let fast_clothes = Preset::Fast.config_for(Recipe::Clothes);
        assert_eq!(
            (fast_clothes.epochs, fast_clothes.lr_schedule),
            (4, Schedule::Onecycle)
        );
        assert_eq!(fast_clothes.hidden, CLOTHES_HIDDEN);
        // Clothes are never distorted as digits are.
        let best_clothes = Preset::Best.config_for(Recipe::Clothes);
        assert!(best_clothes.val_split > 0);
        assert_eq!(best_clothes.hidden, CLOTHES_HIDDEN);
        assert!(
            ![Augment::Shift, Augment::Affine, Augment::Elastic].contains(&best_clothes.augment)
        );
    }

    #[test]
    fn an_overlay_takes_only_the_given_flags() {
        let base = Preset::Best.config();
        let flags = TrainConfig {
            epochs: 3,
            val_split: 0,
            ..TrainConfig::default()
        };
        let c = TrainConfig::overlay(base.clone(), flags, |flag| flag == "epochs");
        assert_eq!(c, TrainConfig { epochs: 3, ..base });
    }
}
