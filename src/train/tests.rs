//! The epoch loop on tiny synthetic sets: which images the input scaling is fitted on, and
//! which labels are refused.

use super::*;
use crate::data::augment::Augment;
use crate::data::images::Images;
use crate::data::input::ScalingKind;

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

/// An observer that only counts epochs.
#[derive(Default)]
struct Count {
    epochs: usize,
}

impl TrainObserver for Count {
    fn epoch_done(
        &mut self,
        _: &Classifier,
        _: &[EpochMetrics],
        _: EpochTiming,
        _: bool,
    ) -> Result<(), ObserverError> {
        self.epochs += 1;
        Ok(())
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
    let outcome = train(&config, &data, &test_set, CLASSES, &mut Count::default()).unwrap();
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
    let mut count = Count::default();
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
    assert_eq!(count.epochs, 0, "trained before refusing");
}
