//! Whether a run is learning ([`LearningCheck`]): what a network that ignores its images
//! scores ([`Chance`]), when the epoch loop first judges a run ([`check_epoch`]), and why it
//! stops a run that is not learning or has collapsed ([`NotLearning`], [`Collapsed`]).

use std::fmt;

use crate::data::input::ScalingKind;
use crate::train::config::TrainConfig;
use crate::train::metrics::EpochMetrics;

/// Optimizer steps a run takes before the learning check judges it: a fresh network needs
/// some steps to leave chance, so fewer say little about whether it can learn.
pub const MIN_STEPS: usize = 50;

/// The first epoch to judge a run by: the first that is at least the third (or the last,
/// for shorter runs) and by whose end [`MIN_STEPS`] steps have been taken; `None` when the
/// run ends before that many steps.
pub fn check_epoch(epochs: usize, batches_per_epoch: usize) -> Option<usize> {
    let epoch = epochs
        .min(3)
        .max(MIN_STEPS.div_ceil(batches_per_epoch.max(1)));
    (epoch <= epochs).then_some(epoch)
}

/// What a network that ignores its input scores on a set of labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chance {
    /// The share of the most frequent class: the accuracy of always answering it.
    pub accuracy: f64,
    /// The mean loss of answering the class frequencies for every image: their entropy in
    /// nats (ln C for C balanced classes), against the training targets.
    pub loss: f64,
    /// The least mean loss any network can reach against those targets: 0, or with label
    /// smoothing the entropy of a smoothed target.
    pub floor: f64,
}

impl Chance {
    /// Chance on `labels`, classes of a network of `classes` outputs, whose loss is
    /// measured against the targets (1 − ε)·onehot + ε/C (ε = `smoothing`; 0 for plain
    /// cross-entropy). With ε = 0 the loss is the entropy of the class frequencies.
    pub fn of(labels: impl IntoIterator<Item = u8>, classes: usize, smoothing: f64) -> Chance {
        let mut counts = vec![0usize; classes.max(1)];
        let mut total = 0usize;
        for label in labels {
            if let Some(count) = counts.get_mut(usize::from(label)) {
                *count += 1;
            }
            total += 1;
        }
        let total = total.max(1) as f64;
        let spread = smoothing / counts.len() as f64;
        // The targets averaged over the labels: the best answer that ignores the images.
        let mean_target = counts
            .iter()
            .map(|&c| (1.0 - smoothing) * c as f64 / total + spread);
        let right = 1.0 - smoothing + spread;
        let one_target =
            std::iter::once(right).chain(std::iter::repeat_n(spread, counts.len() - 1));
        Chance {
            accuracy: counts.iter().copied().max().unwrap_or(0) as f64 / total,
            loss: entropy(mean_target),
            floor: entropy(one_target),
        }
    }

    /// Whether `accuracy` is near chance: less than a tenth of the way from chance to 100%.
    pub fn near(&self, accuracy: f64) -> bool {
        accuracy < self.accuracy + 0.1 * (1.0 - self.accuracy)
    }

    /// Whether a mean `loss` has not moved from chance: it has come less than 5% of the way
    /// from [`Chance::loss`] down to [`Chance::floor`]. Never for labels of one class,
    /// where the two are equal.
    pub fn loss_unmoved(&self, loss: f64) -> bool {
        self.loss > self.floor && loss >= self.floor + 0.95 * (self.loss - self.floor)
    }
}

/// −Σ p ln p in nats, with 0 ln 0 = 0.
fn entropy(p: impl IntoIterator<Item = f64>) -> f64 {
    p.into_iter()
        .filter(|&p| p > 0.0)
        .fold(0.0, |sum, p| sum - p * p.ln())
}

/// What the epoch loop checks after each epoch: that the train and test accuracies do not
/// fall back to chance once above it ([`LearningCheck::collapse`]), and that by the epoch
/// [`check_epoch`] names the run has left chance ([`LearningCheck::judge`]).
///
/// The train figures it judges are always the running ones (over the epoch's mini-batches
/// as they were trained on), whatever `--train-metrics` plots: they are measured on every
/// image trained on, whatever the choice, so which network is kept and whether the run
/// stops never depend on how the train curve is measured. [`train_figures`] names them.
#[derive(Debug, Clone)]
pub struct LearningCheck {
    /// Chance on the images trained on, against the running train loss (with label
    /// smoothing when the run uses it).
    pub train: Chance,
    /// Chance on the test images.
    pub test: Chance,
    /// The epoch that judges the run, if it takes enough steps.
    judged_at: Option<usize>,
    batches_per_epoch: usize,
    flags: Flags,
}

impl LearningCheck {
    /// The check of a run of `config` with `batches_per_epoch` steps an epoch, trained on
    /// `train_labels` (the validation images left out), tested on `test_labels`.
    pub fn new(
        config: &TrainConfig,
        train_labels: impl IntoIterator<Item = u8>,
        test_labels: impl IntoIterator<Item = u8>,
        classes: usize,
        batches_per_epoch: usize,
    ) -> Self {
        LearningCheck {
            train: Chance::of(train_labels, classes, config.label_smoothing),
            test: Chance::of(test_labels, classes, 0.0),
            judged_at: check_epoch(config.epochs, batches_per_epoch),
            batches_per_epoch,
            flags: Flags::of(config),
        }
    }

    /// Whether an epoch's train accuracy is out of chance, so that its network may be kept.
    pub fn learned(&self, epoch: &EpochMetrics) -> bool {
        !self.train.near(train_figures(epoch).0)
    }

    /// After the last epoch of `history`: whether its train accuracy, else its test
    /// accuracy, is near chance when an earlier epoch's was not. `kept` is the epoch whose
    /// network the run keeps.
    pub fn collapse(&self, history: &[EpochMetrics], kept: Option<usize>) -> Option<Collapsed> {
        let (last, earlier) = history.split_last()?;
        [Set::Train, Set::Test].into_iter().find_map(|set| {
            let chance = match set {
                Set::Train => &self.train,
                Set::Test => &self.test,
            };
            if !chance.near(set.accuracy(last)) {
                return None;
            }
            let before = earlier
                .iter()
                .rev()
                .find(|m| !chance.near(set.accuracy(m)))?;
            Some(Collapsed {
                set,
                epoch: last.epoch,
                before_epoch: before.epoch,
                before: set.accuracy(before),
                after: set.accuracy(last),
                chance: chance.accuracy,
                flags: self.flags,
                kept,
            })
        })
    }

    /// After the last epoch of `history`: when it is the epoch that judges the run, whether
    /// its train accuracy is near chance or its train loss has not moved.
    pub fn judge(&self, history: &[EpochMetrics], kept: Option<usize>) -> Option<NotLearning> {
        let last = history.last()?;
        let (accuracy, loss) = train_figures(last);
        let stuck = self.train.near(accuracy) || self.train.loss_unmoved(loss);
        (Some(last.epoch) == self.judged_at && stuck).then(|| self.not_learning(last, kept))
    }

    /// Why a run that ended with no epoch out of chance failed, `last` being its last epoch.
    pub fn never_learned(&self, last: &EpochMetrics) -> NotLearning {
        self.not_learning(last, None)
    }

    fn not_learning(&self, last: &EpochMetrics, kept: Option<usize>) -> NotLearning {
        let (train_accuracy, train_loss) = train_figures(last);
        NotLearning {
            epoch: last.epoch,
            steps: last.epoch * self.batches_per_epoch,
            train_accuracy,
            train_loss,
            chance: self.train,
            flags: self.flags,
            kept,
        }
    }
}

/// The (accuracy, loss) on the train images that the learning check judges: the running
/// figures. An epoch read from a weights file too old to record them gives its plotted
/// figures instead.
pub fn train_figures(epoch: &EpochMetrics) -> (f64, f64) {
    (
        epoch.running_train_accuracy.unwrap_or(epoch.train_accuracy),
        epoch.running_train_loss.unwrap_or(epoch.train_loss),
    )
}

/// The run's settings that the messages suggest changing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flags {
    pub lr: f64,
    pub input_scaling: ScalingKind,
    pub warmup_epochs: usize,
    pub clip_grad_norm: Option<f64>,
}

impl Flags {
    pub fn of(config: &TrainConfig) -> Self {
        Flags {
            lr: config.learning_rate,
            input_scaling: config.input_scaling,
            warmup_epochs: config.warmup_epochs,
            clip_grad_norm: config.clip_grad_norm,
        }
    }
}

/// A run that has not done better than chance on its training images: stopped at the
/// epoch that [`check_epoch`] names, or at its end when no epoch left chance.
#[derive(Debug, Clone, PartialEq)]
pub struct NotLearning {
    /// The epoch after which the run was judged.
    pub epoch: usize,
    /// The optimizer steps taken by then.
    pub steps: usize,
    /// The running train figures ([`train_figures`]).
    pub train_accuracy: f64,
    pub train_loss: f64,
    /// Chance on the images trained on.
    pub chance: Chance,
    pub flags: Flags,
    /// The epoch whose network the run keeps, if any did better than chance.
    pub kept: Option<usize>,
}

impl std::error::Error for NotLearning {}

impl fmt::Display for NotLearning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chance = &self.chance;
        let (accuracy, chance_accuracy) = (percent(self.train_accuracy), percent(chance.accuracy));
        let accuracy = if chance.near(self.train_accuracy) {
            format!(
                "its train accuracy over the epoch's batches {accuracy} has not gone a tenth of the way from the \
                 {chance_accuracy} of always answering the most frequent class to 100%"
            )
        } else {
            format!(
                "its train accuracy over the epoch's batches is {accuracy} (always the most frequent class: {chance_accuracy})"
            )
        };
        let (loss, chance_loss) = (self.train_loss, chance.loss);
        let loss = match (chance.loss_unmoved(loss), chance.floor > 0.0) {
            (false, _) => format!(
                "its train loss {loss:.4} is below the {chance_loss:.4} of answering the class \
                 frequencies"
            ),
            (true, false) => format!(
                "its train loss {loss:.4} is not 5% below the {chance_loss:.4} of answering the \
                 class frequencies"
            ),
            (true, true) => format!(
                "its train loss {loss:.4} has not come 5% of the way from the {chance_loss:.4} of \
                 answering the class frequencies down to the {:.4} that label smoothing allows",
                chance.floor
            ),
        };
        let steps = match self.steps {
            1 => "1 optimizer step".to_string(),
            n => format!("{n} optimizer steps"),
        };
        write!(
            f,
            "the network is not learning: after epoch {} ({steps}) {accuracy}, and {loss}. \
             Likely causes: ",
            self.epoch
        )?;
        let mut causes = Vec::new();
        let too_few = "too few steps (try more --epochs, or a smaller --batch-size for more \
                       steps per epoch)";
        if self.steps < MIN_STEPS {
            causes.push(format!("only {steps} were taken: {too_few}"));
        }
        causes.push(format!(
            "a learning rate too high for these inputs (try a smaller --lr; now {})",
            self.flags.lr
        ));
        if self.flags.input_scaling == ScalingKind::Unit {
            causes
                .push("inputs not scaled for the network (try --input-scaling standardize)".into());
        }
        if self.steps >= MIN_STEPS {
            causes.push(too_few.into());
        }
        causes.push("labels that do not depend on the images (check the labels file)".into());
        write!(
            f,
            "{}. {}",
            causes.join("; "),
            kept_text(self.kept, self.epoch)
        )
    }
}

/// Which accuracy collapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Train,
    Test,
}

impl Set {
    /// The epoch's accuracy on this set.
    pub fn accuracy(self, epoch: &EpochMetrics) -> f64 {
        match self {
            Set::Train => train_figures(epoch).0,
            Set::Test => epoch.test_accuracy,
        }
    }
}

impl fmt::Display for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Set::Train => "train",
            Set::Test => "test",
        })
    }
}

/// A run whose train or test accuracy fell back to chance after an epoch above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Collapsed {
    pub set: Set,
    /// The epoch that fell to chance.
    pub epoch: usize,
    /// The last epoch before it whose accuracy was above chance, and that accuracy.
    pub before_epoch: usize,
    pub before: f64,
    /// The accuracy of `epoch`.
    pub after: f64,
    /// Chance's accuracy on that set.
    pub chance: f64,
    pub flags: Flags,
    /// The epoch whose network the run keeps, if any did better than chance.
    pub kept: Option<usize>,
}

impl std::error::Error for Collapsed {}

impl fmt::Display for Collapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = &self.flags;
        let clip = match flags.clip_grad_norm {
            None => "--clip-grad-norm 1".to_string(),
            Some(norm) => format!("a smaller --clip-grad-norm (now {norm})"),
        };
        let warmup = match flags.warmup_epochs {
            0 => "--warmup-epochs 2".to_string(),
            n => format!("more --warmup-epochs (now {n})"),
        };
        write!(
            f,
            "the network collapsed in epoch {}: its {} accuracy fell from {} in epoch {} to \
             {}, near the {} of always answering the most frequent class. Likely cause: a \
             learning rate too high for the schedule (try a smaller --lr, now {}; or {clip}; \
             or {warmup}). {}",
            self.epoch,
            self.set,
            percent(self.before),
            self.before_epoch,
            percent(self.after),
            percent(self.chance),
            flags.lr,
            kept_text(self.kept, self.epoch)
        )
    }
}

/// "12.34%".
fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

/// What a run that failed in epoch `failed` leaves behind, `kept` being the epoch whose
/// network it keeps.
fn kept_text(kept: Option<usize>, failed: usize) -> String {
    match kept {
        Some(epoch) => format!(
            "The weights file keeps the network of epoch {epoch}, and the metrics and plot \
             stop at epoch {}",
            failed.saturating_sub(1)
        ),
        None => "No network was kept (none did better than chance on the train images), so no \
                 weights, metrics or plot were written (those of an earlier run are left as \
                 they were)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn chance_of_balanced_classes_is_one_in_c_and_ln_c() {
        let chance = Chance::of((0..100).map(|i| (i % 10) as u8), 10, 0.0);
        assert_abs_diff_eq!(chance.accuracy, 0.1, epsilon = 1e-12);
        assert_abs_diff_eq!(chance.loss, 10f64.ln(), epsilon = 1e-12);
        assert_eq!(chance.floor, 0.0);
        // Near chance: below 0.1 + 0.1 · 0.9 = 0.19.
        assert!(chance.near(0.189) && !chance.near(0.191));
        // Not moved: at least 0.95 · ln 10.
        assert!(chance.loss_unmoved(0.951 * 10f64.ln()) && !chance.loss_unmoved(2.1));
    }

    #[test]
    fn chance_of_skewed_classes_is_the_most_frequent_share_and_the_entropy() {
        // 3 of class 2, 1 of class 0, none of class 1.
        let chance = Chance::of([2, 0, 2, 2], 3, 0.0);
        assert_abs_diff_eq!(chance.accuracy, 0.75, epsilon = 1e-12);
        let entropy = -(0.75f64 * 0.75f64.ln() + 0.25 * 0.25f64.ln());
        assert_abs_diff_eq!(chance.loss, entropy, epsilon = 1e-12);
        assert!(chance.near(0.77) && !chance.near(0.78));
    }

    #[test]
    fn label_smoothing_raises_both_the_chance_loss_and_the_floor() {
        let (classes, eps) = (4, 0.2);
        let chance = Chance::of([0, 1, 2, 3], classes, eps);
        // Balanced classes: the smoothed mean target is still uniform.
        assert_abs_diff_eq!(chance.loss, 4f64.ln(), epsilon = 1e-12);
        let (right, other) = (0.8f64 + 0.05, 0.05f64);
        let floor = -(right * right.ln() + 3.0 * other * other.ln());
        assert_abs_diff_eq!(chance.floor, floor, epsilon = 1e-12);
        // 5% of the way down from chance is the threshold.
        let threshold = floor + 0.95 * (4f64.ln() - floor);
        assert!(chance.loss_unmoved(threshold + 1e-9) && !chance.loss_unmoved(threshold - 1e-9));
    }

    #[test]
    fn one_class_has_no_loss_to_move() {
        let chance = Chance::of([1, 1, 1], 2, 0.0);
        assert_eq!((chance.accuracy, chance.loss), (1.0, 0.0));
        assert!(!chance.loss_unmoved(0.0) && !chance.loss_unmoved(5.0));
        assert!(!chance.near(1.0) && chance.near(0.99));
    }

    #[test]
    fn the_check_waits_for_the_third_epoch_and_enough_steps() {
        assert_eq!(check_epoch(20, 469), Some(3));
        assert_eq!(check_epoch(2, 469), Some(2));
        assert_eq!(check_epoch(1, 469), Some(1));
        assert_eq!(check_epoch(20, 5), Some(10)); // 50 steps at the end of epoch 10
        assert_eq!(check_epoch(20, 7), Some(8));
        assert_eq!(check_epoch(5, 5), None); // 25 steps in all
        assert_eq!(check_epoch(3, 50), Some(3));
    }

    #[test]
    fn messages_name_the_figures_the_flags_and_what_was_kept() {
        let chance = Chance::of((0..10).map(|i| i as u8), 10, 0.0);
        let not_learning = NotLearning {
            epoch: 3,
            steps: 60,
            train_accuracy: 0.104,
            train_loss: 2.3,
            chance,
            flags: Flags {
                lr: 0.1,
                input_scaling: ScalingKind::Unit,
                warmup_epochs: 0,
                clip_grad_norm: None,
            },
            kept: None,
        };
        let text = not_learning.to_string();
        for part in [
            "after epoch 3 (60 optimizer steps)",
            "10.40% has not gone a tenth of the way from the 10.00% of always answering",
            "its train loss 2.3000 is not 5% below the 2.3026",
            "--lr; now 0.1",
            "--input-scaling standardize",
            "more --epochs, or a smaller --batch-size",
            "check the labels file",
            "no weights, metrics or plot were written (those of an earlier run are left",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
        let few = NotLearning {
            steps: 5,
            flags: Flags {
                input_scaling: ScalingKind::Standardize,
                ..not_learning.flags
            },
            kept: Some(2),
            ..not_learning
        }
        .to_string();
        assert!(
            few.contains("Likely causes: only 5 optimizer steps were taken: too few"),
            "{few}"
        );
        assert!(!few.contains("--input-scaling"), "{few}");
        assert!(
            few.contains("keeps the network of epoch 2, and the metrics and plot stop at epoch 2"),
            "{few}"
        );

        let collapsed = Collapsed {
            set: Set::Test,
            epoch: 4,
            before_epoch: 3,
            before: 0.9,
            after: 0.098,
            chance: 0.1135,
            flags: Flags {
                lr: 2.0,
                ..not_learning.flags
            },
            kept: Some(3),
        };
        let text = collapsed.to_string();
        for part in [
            "collapsed in epoch 4",
            "test accuracy fell from 90.00% in epoch 3 to 9.80%",
            "11.35%",
            "--lr, now 2",
            "--clip-grad-norm 1",
            "--warmup-epochs 2",
            "keeps the network of epoch 3, and the metrics and plot stop at epoch 3",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
        // Flags already given are asked to change, not to be given.
        let text = Collapsed {
            flags: Flags {
                warmup_epochs: 3,
                clip_grad_norm: Some(2.0),
                ..collapsed.flags
            },
            ..collapsed
        }
        .to_string();
        assert!(
            text.contains("a smaller --clip-grad-norm (now 2)")
                && text.contains("more --warmup-epochs (now 3)"),
            "{text}"
        );
    }
}
