//! The epoch loop on tiny synthetic sets: which images the input scaling is fitted on,
//! which labels are refused, and the learning check: runs that are not learning or that
//! collapse stop, and networks near chance are never kept.

use super::*;
use crate::data::augment::Augment;
use crate::data::images::Images;
use crate::data::input::ScalingKind;
use crate::nn::schedule::Schedule;
use crate::train::learning;
use crate::train::learning::Set;

/// Pixels per side of [`tiny_set`]'s images.
const SIDE: usize = 6;
/// Classes of [`tiny_set`].
const CLASSES: usize = 4;

/// `count` images of 6×6 pixels in 4 classes drawn from a stream seeded by `seed`: class c
/// is a bright row c + 1 over faint noise, which a network learns in a few dozen steps.
fn tiny_set(count: usize, seed: u64) -> LabeledImages {
    let mut rng = SeededRng::new(seed);
    let mut pixels = Vec::with_capacity(count * SIDE * SIDE);
    let mut labels = Vec::with_capacity(count);
    for _ in 0..count {
        let class = rng.below(CLASSES);
        for row in 0..SIDE {
            for _ in 0..SIDE {
                let noise = (rng.uniform() * 40.0) as u8;
                pixels.push(if row == class + 1 { 200 + noise } else { noise });
            }
        }
        labels.push(class as u8);
    }
    LabeledImages {
        images: Images {
            rows: SIDE,
            cols: SIDE,
            pixels,
        },
        labels,
    }
}

/// [`tiny_set`] with a share `noise` of its labels (1: all) drawn apart from their image.
fn noisy_labels(count: usize, seed: u64, noise: f64) -> LabeledImages {
    let mut set = tiny_set(count, seed);
    let mut rng = SeededRng::new(seed + 100);
    for label in &mut set.labels {
        if rng.uniform() < noise {
            *label = rng.below(CLASSES) as u8;
        }
    }
    set
}

/// A small network trained on [`tiny_set`] without augmentation (shifts would move its
/// rows), in batches of 10.
fn tiny_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        hidden: vec![8],
        batch_size: 10,
        augment: Augment::None,
        ..TrainConfig::default()
    }
}

/// An observer that records the epochs it is handed: their metrics and whether their
/// network was kept.
#[derive(Default)]
struct Record {
    epochs: Vec<(EpochMetrics, bool)>,
}

impl TrainObserver for Record {
    fn epoch_done(
        &mut self,
        _: &Classifier,
        history: &[EpochMetrics],
        _: EpochTiming,
        kept: bool,
    ) -> Result<(), ObserverError> {
        self.epochs.push((*history.last().expect("an epoch"), kept));
        Ok(())
    }
}

impl Record {
    fn kept(&self) -> Vec<bool> {
        self.epochs.iter().map(|e| e.1).collect()
    }
}

#[test]
fn standardisation_is_fitted_on_the_trained_images_only() {
    let mut data = tiny_set(200, 1);
    let config = TrainConfig {
        input_scaling: ScalingKind::Standardize,
        val_split: 50,
        ..tiny_config(4)
    };
    let (trained, held_out) = split_validation(200, 50, config.seed).unwrap();
    // White validation images: fitted on them too, the mean would move up.
    for &i in &held_out {
        data.images.pixels[i * SIDE * SIDE..(i + 1) * SIDE * SIDE].fill(255);
    }
    let test_set = tiny_set(100, 2);
    let outcome = train(&config, &data, &test_set, CLASSES, &mut Record::default()).unwrap();
    let kind = ScalingKind::Standardize;
    let fitted = InputScaling::fit_subset(kind, &data.images, &trained);
    assert_eq!(outcome.classifier.input_scaling, fitted);
    assert_ne!(fitted, InputScaling::fit(kind, &data.images));
}

#[test]
fn training_labels_out_of_range_are_refused_naming_the_training_set() {
    let mut data = tiny_set(40, 1);
    data.labels[7] = CLASSES as u8;
    let test_set = tiny_set(20, 2);
    let mut count = Record::default();
    let err = train(&tiny_config(1), &data, &test_set, CLASSES, &mut count)
        .err()
        .expect("labels out of range refused");
    assert!(
        matches!(
            err,
            TrainError::TrainingSet(MismatchError::Label {
                label: 4,
                classes: 4
            })
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the training set does not fit the network: label 4 is out of range for a \
             network with 4 classes"
        ) && text.contains("check the training labels file"),
        "{text}"
    );
    assert!(count.epochs.is_empty(), "trained before refusing");
}

/// Chance on [`tiny_set`]-like labels, as the check measures it.
fn chance_of(set: &LabeledImages) -> learning::Chance {
    learning::Chance::of(set.labels.iter().copied(), CLASSES, 0.0)
}

#[test]
fn random_labels_stop_the_run_as_not_learning_naming_the_flags() {
    // 40 steps an epoch: judged after epoch 3.
    let (data, test_set) = (noisy_labels(400, 1, 1.0), noisy_labels(100, 2, 1.0));
    let mut record = Record::default();
    let err = train(&tiny_config(10), &data, &test_set, CLASSES, &mut record)
        .err()
        .expect("random labels cannot be learnt");
    let TrainError::NotLearning(stuck) = &err else {
        panic!("{err:?}");
    };
    assert_eq!((stuck.epoch, stuck.steps, stuck.kept), (3, 120, None));
    assert_eq!(stuck.chance, chance_of(&data));
    assert!(stuck.chance.near(stuck.train_accuracy), "{err}");
    // The judged epoch is not handed over, nor kept, and neither are those before it.
    assert_eq!(record.kept(), [false, false]);
    let text = err.to_string();
    for flag in [
        "--lr",
        "--input-scaling standardize",
        "--epochs",
        "--batch-size",
        "check the labels file",
    ] {
        assert!(text.contains(flag), "{flag:?} not in {text}");
    }
}

#[test]
fn a_learning_rate_that_kills_the_network_stops_the_run() {
    // The loss stays finite (it is no divergence), but the network stays at chance.
    let config = TrainConfig {
        learning_rate: 10.0,
        ..tiny_config(10)
    };
    let (data, test_set) = (tiny_set(400, 1), tiny_set(100, 2));
    let mut record = Record::default();
    let err = train(&config, &data, &test_set, CLASSES, &mut record)
        .err()
        .expect("lr 10 kills the network");
    assert!(
        matches!(err, TrainError::NotLearning(_) | TrainError::Collapsed(_)),
        "{err:?}"
    );
    let chance = chance_of(&data);
    for (epoch, kept) in &record.epochs {
        assert!(epoch.train_loss.is_finite());
        assert!(
            !kept || !chance.near(learning::train_figures(epoch).0),
            "{epoch:?} kept"
        );
    }
}

#[test]
fn a_run_that_falls_back_to_chance_collapses_keeping_the_last_good_epoch() {
    // Warm-up to a learning rate that kills the network: it learns, then dies. (Noisy labels
    // keep the gradient from vanishing once the images are told apart.)
    let config = TrainConfig {
        learning_rate: 3.0,
        warmup_epochs: 4,
        lr_schedule: Schedule::Constant,
        hidden: vec![32],
        ..tiny_config(10)
    };
    let (data, test_set) = (noisy_labels(400, 1, 0.3), tiny_set(100, 2));
    let mut record = Record::default();
    let err = train(&config, &data, &test_set, CLASSES, &mut record)
        .err()
        .expect("the network collapses");
    let TrainError::Collapsed(collapsed) = &err else {
        panic!("{err:?}");
    };
    // Every epoch before the collapse was handed over; the last one kept is named.
    let (before, kept) = record.epochs.last().expect("epochs before the collapse");
    assert!(*kept);
    assert_eq!(collapsed.epoch, before.epoch + 1);
    assert_eq!(collapsed.kept, Some(before.epoch));
    assert_eq!(collapsed.before_epoch, before.epoch);
    let chance = match collapsed.set {
        Set::Train => chance_of(&data),
        Set::Test => chance_of(&test_set),
    };
    assert!(chance.near(collapsed.after) && !chance.near(collapsed.before));
    let text = err.to_string();
    for flag in [
        "--lr, now 3",
        "--clip-grad-norm 1",
        "more --warmup-epochs (now 4)",
    ] {
        assert!(text.contains(flag), "{flag:?} not in {text}");
    }
}

#[test]
fn epochs_near_chance_are_not_kept_and_a_run_that_leaves_chance_is_unaffected() {
    // A learning rate low enough for the first epoch to stay near chance.
    let config = TrainConfig {
        learning_rate: 0.001,
        ..tiny_config(4)
    };
    let (data, test_set) = (tiny_set(400, 1), tiny_set(100, 2));
    let mut record = Record::default();
    let outcome = train(&config, &data, &test_set, CLASSES, &mut record).unwrap();
    assert_eq!(record.kept(), [false, true, true, true]);
    assert!(chance_of(&data).near(learning::train_figures(&record.epochs[0].0).0));
    assert_eq!(outcome.kept_epoch, 4);
    assert_eq!(outcome.history.len(), 4);
}

#[test]
fn a_short_run_that_never_leaves_chance_asks_for_more_epochs() {
    // One epoch of 40 steps, too slow to leave chance.
    let config = TrainConfig {
        learning_rate: 0.001,
        ..tiny_config(1)
    };
    let (data, test_set) = (tiny_set(400, 1), tiny_set(100, 2));
    let mut record = Record::default();
    let err = train(&config, &data, &test_set, CLASSES, &mut record)
        .err()
        .expect("no epoch out of chance");
    let TrainError::NotLearning(stuck) = &err else {
        panic!("{err:?}");
    };
    assert_eq!((stuck.epoch, stuck.steps, stuck.kept), (1, 40, None));
    assert_eq!(record.kept(), [false]);
    let text = err.to_string();
    assert!(
        text.contains(
            "Likely causes: only 40 optimizer steps were taken: too few steps (try more --epochs"
        ),
        "{text}"
    );
}

#[test]
fn the_default_train_figures_are_an_unaugmented_sample_at_the_end_of_the_epoch() {
    // More images than the sample holds, and dropout heavy enough that the running figures,
    // measured through it, fall well below.
    let config = TrainConfig {
        dropout: 0.5,
        ..tiny_config(1)
    };
    assert_eq!(config.train_metrics, TrainMetrics::Sample);
    let count = TRAIN_SAMPLE + 2_000;
    let (data, test_set) = (tiny_set(count, 1), tiny_set(100, 2));
    let outcome = train(&config, &data, &test_set, CLASSES, &mut Record::default()).unwrap();
    let epoch = outcome.history[0];

    let all: Vec<usize> = (0..count).collect();
    let sample = train_sample(&all, config.seed);
    assert_eq!(sample.len(), TRAIN_SAMPLE);
    assert!(
        sample.windows(2).all(|w| w[0] < w[1]),
        "ascending, no repeats"
    );
    assert_ne!(
        sample,
        all[..TRAIN_SAMPLE],
        "a random sample, not the first images"
    );
    assert_eq!(sample, train_sample(&all, config.seed), "fixed by the seed");
    // The plotted figures are exactly an evaluation of those images by the network kept
    // (the last epoch's), as the test set is evaluated.
    let explicit = outcome.classifier.evaluate_subset(&data, &sample).unwrap();
    assert_eq!(epoch.train_accuracy, explicit.accuracy());
    assert_eq!(epoch.train_loss, explicit.loss);
    assert_eq!(epoch.train_images, Some(TRAIN_SAMPLE));
    // The running figures are recorded beside them, and differ.
    let running = epoch.running_train_accuracy.expect("recorded");
    assert!(
        running + 0.05 < epoch.train_accuracy,
        "running {running} vs sample {}",
        epoch.train_accuracy
    );
    assert!(
        epoch
            .running_train_loss
            .is_some_and(|l| l > epoch.train_loss)
    );
}

#[test]
fn the_sample_is_every_trained_image_when_fewer_and_never_a_validation_image() {
    let (trained, held_out) = split_validation(12_500, 2_000, 7).unwrap();
    let sample = train_sample(&trained, 7);
    assert_eq!(sample.len(), TRAIN_SAMPLE);
    assert!(sample.iter().all(|i| held_out.binary_search(i).is_err()));
    let few: Vec<usize> = (0..300).collect();
    assert_eq!(train_sample(&few, 7), few);
}
