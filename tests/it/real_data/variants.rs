//! Variants of MNIST made from the real files (issue 13: the defaults must learn on whatever
//! variant of MNIST the tool is handed). A variant is a list of steps applied in order to both
//! splits alike, written as MNIST's four files, uncompressed, into a folder named after it.
//!
//! [`SUITE`] is trained on by one test each below: 10 epochs of the default recipe must reach
//! 97% test accuracy, and the run must not be recorded as MNIST. [`UNSEEN`] holds variants of
//! the same kinds with other parameters, kept out of the suite so that a recipe tuned on the
//! suite can be checked on them later. The ignored test `write_variants_for_measurement`
//! writes both lists into the folder `MNIST_VARIANTS_OUT` names, one subfolder per variant:
//!
//! ```sh
//! MNIST_DATA_DIR=… MNIST_VARIANTS_OUT=… cargo test --release --test it \
//!     real_data::variants::write_variants_for_measurement -- --ignored
//! ```

use crate::common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use assert_cmd::cargo::cargo_bin_cmd;
use mnist_mlp::data::idx::{write_idx_images, write_idx_labels};
use mnist_mlp::data::images::{Images, LabeledImages};
use mnist_mlp::data::names::Split;
use mnist_mlp::nn::rng::SeededRng;

/// One transformation of a split.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Every pixel p becomes `f(p)`, whose formula is `formula`.
    Pixels(&'static str, fn(u8) -> u8),
    /// Gaussian noise of standard deviation `sigma` added to every pixel, rounded and clipped
    /// to 0..=255; the noise of each split is its own stream of `seed`.
    Noise { sigma: f64, seed: u64 },
    /// The pixels of every image reordered by one permutation drawn from `seed`.
    Permute { seed: u64 },
    /// Rotated anticlockwise by `degrees` about the image's centre, bilinear, 0 outside.
    Rotate { degrees: f64 },
    /// Put on a black `side`×`side` canvas with the image's top-left corner at (`top`, `left`).
    Pad {
        side: usize,
        top: usize,
        left: usize,
    },
    /// Resized to `side`×`side`: by area averaging to shrink, bilinearly to enlarge.
    Resize { side: usize },
    /// Mirrored left to right.
    Flip,
    /// Only the images of these classes, with their labels as they were.
    Classes(&'static [u8]),
    /// Every label c becomes `p[c]`, for a permutation p of 0..10 drawn from `seed` that moves
    /// every class.
    Relabel { seed: u64 },
}

/// A named variant: its folder's name and its steps.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub name: &'static str,
    pub steps: &'static [Step],
}

fn invert(p: u8) -> u8 {
    255 - p
}
fn offset_100(p: u8) -> u8 {
    p.saturating_add(100)
}
fn offset_50(p: u8) -> u8 {
    p.saturating_add(50)
}
/// 96 + p·64/255, rounded: the ink's full range squeezed into 96..=160.
fn low_contrast(p: u8) -> u8 {
    (96.0 + f64::from(p) * 64.0 / 255.0).round() as u8
}
fn half(p: u8) -> u8 {
    p / 2
}

/// The variants the CI suite trains on.
pub const SUITE: &[Variant] = &[
    Variant {
        name: "inverted",
        steps: &[Step::Pixels("255 − p", invert)],
    },
    Variant {
        name: "offset",
        steps: &[Step::Pixels("min(255, p + 100)", offset_100)],
    },
    Variant {
        name: "low-contrast",
        steps: &[Step::Pixels("96 + p·64/255", low_contrast)],
    },
    Variant {
        name: "noise",
        steps: &[Step::Noise {
            sigma: 25.0,
            seed: 25,
        }],
    },
    Variant {
        name: "permuted",
        steps: &[Step::Permute { seed: 784 }],
    },
    Variant {
        name: "rotated",
        steps: &[Step::Rotate { degrees: 30.0 }],
    },
    Variant {
        name: "padded-32",
        steps: &[Step::Pad {
            side: 32,
            top: 2,
            left: 2,
        }],
    },
    Variant {
        name: "resized-20",
        steps: &[Step::Resize { side: 20 }],
    },
    Variant {
        name: "digits-0-4",
        steps: &[Step::Classes(&[0, 1, 2, 3, 4])],
    },
    Variant {
        name: "shuffled-labels",
        steps: &[Step::Relabel { seed: 10 }],
    },
];

/// Variants of the same kinds with other parameters, kept out of the suite.
pub const UNSEEN: &[Variant] = &[
    Variant {
        name: "inverted-permuted",
        steps: &[
            Step::Pixels("255 − p", invert),
            Step::Permute { seed: 2024 },
        ],
    },
    Variant {
        name: "offset-50",
        steps: &[Step::Pixels("min(255, p + 50)", offset_50)],
    },
    Variant {
        name: "contrast-half",
        steps: &[Step::Pixels("p/2", half)],
    },
    Variant {
        name: "noise-40",
        steps: &[Step::Noise {
            sigma: 40.0,
            seed: 40,
        }],
    },
    Variant {
        name: "rotated-90",
        steps: &[Step::Rotate { degrees: 90.0 }],
    },
    Variant {
        name: "rotated-15",
        steps: &[Step::Rotate { degrees: 15.0 }],
    },
    Variant {
        name: "resized-14",
        steps: &[Step::Resize { side: 14 }],
    },
    Variant {
        name: "upsized-36",
        steps: &[Step::Resize { side: 36 }],
    },
    Variant {
        name: "flipped",
        steps: &[Step::Flip],
    },
    Variant {
        name: "classes-3-5-8",
        steps: &[Step::Classes(&[3, 5, 8])],
    },
    Variant {
        name: "padded-36-offcentre",
        steps: &[Step::Pad {
            side: 36,
            top: 2,
            left: 6,
        }],
    },
];

impl Variant {
    /// The variant of `split`, whose data is `data`.
    pub fn build(&self, split: Split, data: &LabeledImages) -> LabeledImages {
        let mut data = data.clone();
        for step in self.steps {
            data = step.apply(split, data);
        }
        data
    }

    /// Writes the variant of both splits of `mnist` (train, test) into `dir` as MNIST's
    /// four files, uncompressed.
    pub fn write(&self, mnist: &[LabeledImages; 2], dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (split, data) in Split::BOTH.into_iter().zip(mnist) {
            let variant = self.build(split, data);
            let (images, labels) = split.file_names();
            let plain = |name: &str| dir.join(name.strip_suffix(".gz").unwrap());
            write_idx_images(&plain(images), &variant.images, false).unwrap();
            write_idx_labels(&plain(labels), &variant.labels, false).unwrap();
        }
    }
}

impl Step {
    fn apply(&self, split: Split, data: LabeledImages) -> LabeledImages {
        let LabeledImages { images, labels } = data;
        let (rows, cols) = (images.rows, images.cols);
        let images = match *self {
            Step::Pixels(_, f) => Images {
                pixels: images.pixels.iter().map(|&p| f(p)).collect(),
                ..images
            },
            Step::Noise { sigma, seed } => {
                let mut rng = SeededRng::derive(seed, split as u64);
                let mut noisy = |p: u8| to_pixel(f64::from(p) + sigma * rng.standard_normal());
                Images {
                    pixels: images.pixels.iter().map(|&p| noisy(p)).collect(),
                    ..images
                }
            }
            Step::Permute { seed } => {
                let order = permutation(rows * cols, seed);
                per_image(&images, rows, cols, |from, to| {
                    for (t, &i) in to.iter_mut().zip(&order) {
                        *t = from[i];
                    }
                })
            }
            Step::Rotate { degrees } => {
                let (sin, cos) = degrees.to_radians().sin_cos();
                let (cy, cx) = ((rows as f64 - 1.0) / 2.0, (cols as f64 - 1.0) / 2.0);
                per_image(&images, rows, cols, |from, to| {
                    for r in 0..rows {
                        for c in 0..cols {
                            // The source of (r, c): (r, c) turned back by the angle
                            // (rows grow downwards, so the signs of an upward y flip).
                            let (dy, dx) = (r as f64 - cy, c as f64 - cx);
                            let x = cx + cos * dx - sin * dy;
                            let y = cy + sin * dx + cos * dy;
                            to[r * cols + c] = to_pixel(bilinear(from, rows, cols, y, x));
                        }
                    }
                })
            }
            Step::Pad { side, top, left } => {
                assert!(top + rows <= side && left + cols <= side);
                per_image(&images, side, side, |from, to| {
                    for r in 0..rows {
                        let at = (top + r) * side + left;
                        to[at..at + cols].copy_from_slice(&from[r * cols..(r + 1) * cols]);
                    }
                })
            }
            Step::Resize { side } => {
                let (down, across) = (resampling(rows, side), resampling(cols, side));
                per_image(&images, side, side, |from, to| {
                    for (r, row_taps) in down.iter().enumerate() {
                        for (c, col_taps) in across.iter().enumerate() {
                            let mut sum = 0.0;
                            for &(i, wi) in row_taps {
                                for &(j, wj) in col_taps {
                                    sum += wi * wj * f64::from(from[i * cols + j]);
                                }
                            }
                            to[r * side + c] = to_pixel(sum);
                        }
                    }
                })
            }
            Step::Flip => per_image(&images, rows, cols, |from, to| {
                for (t, f) in to.chunks_exact_mut(cols).zip(from.chunks_exact(cols)) {
                    t.iter_mut().zip(f.iter().rev()).for_each(|(t, f)| *t = *f);
                }
            }),
            Step::Classes(classes) => {
                let keep: Vec<usize> = (0..labels.len())
                    .filter(|&i| classes.contains(&labels[i]))
                    .collect();
                let pixels = keep.iter().flat_map(|&i| images.image(i)).copied();
                return LabeledImages {
                    images: Images {
                        pixels: pixels.collect(),
                        ..images
                    },
                    labels: keep.iter().map(|&i| labels[i]).collect(),
                };
            }
            Step::Relabel { seed } => {
                let map = class_permutation(seed);
                let labels = labels.iter().map(|&l| map[usize::from(l)]).collect();
                return LabeledImages { images, labels };
            }
        };
        LabeledImages { images, labels }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Pixels(formula, _) => write!(f, "p → {formula}"),
            Step::Noise { sigma, seed } => write!(f, "Gaussian noise σ = {sigma} (seed {seed})"),
            Step::Permute { seed } => write!(f, "pixels permuted (seed {seed})"),
            Step::Rotate { degrees } => write!(f, "rotated {degrees}° anticlockwise"),
            Step::Pad { side, top, left } => {
                write!(f, "padded to {side}×{side} at ({top}, {left})")
            }
            Step::Resize { side } => write!(f, "resized to {side}×{side}"),
            Step::Flip => write!(f, "mirrored left to right"),
            Step::Classes(classes) => write!(f, "classes {classes:?} only"),
            Step::Relabel { seed } => write!(f, "labels c → {:?}[c]", class_permutation(*seed)),
        }
    }
}

/// The images of `images`, each made into a `rows`×`cols` one (starting black) by `f(from, to)`.
fn per_image(
    images: &Images,
    rows: usize,
    cols: usize,
    mut f: impl FnMut(&[u8], &mut [u8]),
) -> Images {
    let mut pixels = vec![0; images.len() * rows * cols];
    for (i, to) in pixels.chunks_exact_mut(rows * cols).enumerate() {
        f(images.image(i), to);
    }
    Images { rows, cols, pixels }
}

/// A permutation of 0..n drawn from `seed`.
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    SeededRng::new(seed).shuffle(&mut order);
    order
}

/// A permutation of the 10 classes drawn from `seed` that moves every class: drawn again
/// from the same stream until it does.
pub fn class_permutation(seed: u64) -> [u8; 10] {
    let mut rng = SeededRng::new(seed);
    let mut map: [u8; 10] = std::array::from_fn(|c| c as u8);
    loop {
        rng.shuffle(&mut map);
        if map.iter().enumerate().all(|(c, &to)| usize::from(to) != c) {
            return map;
        }
    }
}

/// The image `from` (`rows`×`cols`) at the point (y, x), bilinearly; 0 outside it.
fn bilinear(from: &[u8], rows: usize, cols: usize, y: f64, x: f64) -> f64 {
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = (y - y0, x - x0);
    let at = |r: f64, c: f64| {
        let inside = (0.0..rows as f64).contains(&r) && (0.0..cols as f64).contains(&c);
        if inside {
            f64::from(from[r as usize * cols + c as usize])
        } else {
            0.0
        }
    };
    (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x0 + 1.0))
        + fy * ((1.0 - fx) * at(y0 + 1.0, x0) + fx * at(y0 + 1.0, x0 + 1.0))
}

fn to_pixel(value: f64) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}

/// For each of `to` output positions along one axis of `from` pixels, the input pixels and
/// their weights (which add up to 1). Shrinking averages the area each output pixel covers;
/// enlarging interpolates linearly between the two nearest pixel centres.
fn resampling(from: usize, to: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = from as f64 / to as f64;
    (0..to)
        .map(|i| {
            if to < from {
                let (start, end) = (i as f64 * scale, (i + 1) as f64 * scale);
                (start.floor() as usize..(end.ceil() as usize).min(from))
                    .map(|j| {
                        let overlap = end.min(j as f64 + 1.0) - start.max(j as f64);
                        (j, overlap / scale)
                    })
                    .filter(|&(_, w)| w > 0.0)
                    .collect()
            } else {
                let x = ((i as f64 + 0.5) * scale - 0.5).clamp(0.0, (from - 1) as f64);
                let j = x.floor() as usize;
                let f = x - j as f64;
                vec![(j, 1.0 - f), ((j + 1).min(from - 1), f)]
            }
        })
        .collect()
}

/// The real MNIST in `dir`, train and test, loaded once per test process.
fn real_mnist(dir: &Path) -> &'static [LabeledImages; 2] {
    static MNIST: OnceLock<[LabeledImages; 2]> = OnceLock::new();
    MNIST.get_or_init(|| Split::BOTH.map(|split| common::load_mnist(dir, split).unwrap()))
}

/// The suite: one test per variant of [`SUITE`], named after it.
macro_rules! suite {
    ($($test:ident: $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                defaults_learn($name, stringify!($test));
            }
        )*
        /// The variants the tests above train on.
        const TESTED: &[&str] = &[$($name),*];
    };
}

suite! {
    defaults_learn_inverted: "inverted",
    defaults_learn_offset: "offset",
    defaults_learn_low_contrast: "low-contrast",
    defaults_learn_noise: "noise",
    defaults_learn_permuted: "permuted",
    defaults_learn_rotated: "rotated",
    defaults_learn_padded_32: "padded-32",
    defaults_learn_resized_20: "resized-20",
    defaults_learn_digits_0_4: "digits-0-4",
    defaults_learn_shuffled_labels: "shuffled-labels",
}

#[test]
fn every_suite_variant_has_its_test() {
    let suite: Vec<&str> = SUITE.iter().map(|v| v.name).collect();
    assert_eq!(suite, TESTED);
}

/// Builds the suite's variant `name` from the real MNIST, trains on it with the default
/// recipe for 10 epochs, and checks that the network reaches 97% test accuracy and that the
/// run is not recorded as MNIST (the folder's files are not MNIST's).
fn defaults_learn(name: &str, test: &str) {
    let Some(dir) = common::real_mnist_dir(test) else {
        return;
    };
    let variant = SUITE.iter().find(|v| v.name == name).unwrap();
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join(name);
    variant.write(real_mnist(&dir), &data);

    let start = Instant::now();
    let mut cmd = cargo_bin_cmd!("mnist-mlp");
    cmd.current_dir(work.path())
        .env_remove("MNIST_DATA_DIR")
        .args([
            "train",
            "--offline",
            "--epochs",
            "10",
            "--json",
            "--data-dir",
        ])
        .arg(&data)
        .args(["--weights", "w.bin", "--plot", "accuracy.png"])
        .args(["--metrics", "metrics.csv", "--run-log", "runs.jsonl"]);
    let summary = common::json_summary(&mut cmd);
    let accuracy = summary["test_accuracy"].as_f64().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "{name}: test accuracy {:.2}% in {seconds:.1} s, dataset {}",
        100.0 * accuracy,
        summary["dataset"]
    );

    let mut problems = Vec::new();
    if accuracy < 0.97 {
        problems.push(format!("test accuracy {accuracy} < 0.97"));
    }
    if summary["dataset"] == "mnist" {
        problems.push("recorded as MNIST".to_string());
    }
    if summary["data_name"] != name {
        problems.push(format!("recorded under the name {}", summary["data_name"]));
    }
    assert!(
        problems.is_empty(),
        "{name}: {}; {summary}",
        problems.join(", ")
    );
}

/// Writes every variant, of the suite and the unseen list, into the folder
/// `MNIST_VARIANTS_OUT` names (one subfolder each, and a README.md listing them), for
/// measuring training recipes on them by hand.
#[test]
#[ignore = "writes every variant into the folder MNIST_VARIANTS_OUT names"]
fn write_variants_for_measurement() {
    let out = PathBuf::from(
        std::env::var_os("MNIST_VARIANTS_OUT")
            .expect("set MNIST_VARIANTS_OUT to the folder to write the variants into"),
    );
    let dir = common::real_mnist_dir("write_variants_for_measurement")
        .expect("write_variants_for_measurement needs the real MNIST files");
    let mnist = real_mnist(&dir);
    let mut index = String::from(
        "# MNIST variants\n\nWritten by `write_variants_for_measurement` \
         (tests/it/real_data/variants.rs) from the real MNIST files.\n\n\
         | variant | list | steps | train | test | image |\n|---|---|---|---|---|---|\n",
    );
    for (list, variants) in [("suite", SUITE), ("unseen", UNSEEN)] {
        for variant in variants {
            let start = Instant::now();
            variant.write(mnist, &out.join(variant.name));
            let [train, test] = Split::BOTH.map(|split| {
                common::load_mnist(&out.join(variant.name), split).unwrap_or_else(|e| {
                    panic!("{}: the written {} split: {e}", variant.name, split.name())
                })
            });
            let n = variant.name;
            let steps = variant
                .steps
                .iter()
                .map(Step::to_string)
                .collect::<Vec<_>>();
            let steps = steps.join(", then ");
            let (rows, cols) = (train.images.rows, train.images.cols);
            let (n_train, n_test) = (train.labels.len(), test.labels.len());
            writeln!(
                index,
                "| {n} | {list} | {steps} | {n_train} | {n_test} | {rows}×{cols} |"
            )
            .unwrap();
            eprintln!("{n}: written in {:.1} s", start.elapsed().as_secs_f64());
        }
    }
    std::fs::write(out.join("README.md"), index).unwrap();
}

// The steps, on synthetic images: what each promises, exactly where it can be exact.

/// Two synthetic splits of `count` images of 28×28.
fn synthetic(count: usize) -> [LabeledImages; 2] {
    [1, 2].map(|seed| {
        let (images, labels) = common::synthetic_images(count, 28, seed);
        LabeledImages { images, labels }
    })
}

fn one_step(step: Step, data: &LabeledImages) -> LabeledImages {
    step.apply(Split::Train, data.clone())
}

#[test]
fn pixel_formulas_hold_at_their_ends() {
    assert_eq!((invert(0), invert(255)), (255, 0));
    assert_eq!(
        (offset_100(0), offset_100(155), offset_100(200)),
        (100, 255, 255)
    );
    assert_eq!(
        (low_contrast(0), low_contrast(128), low_contrast(255)),
        (96, 128, 160)
    );
    assert_eq!((half(255), offset_50(250)), (127, 255));
}

#[test]
fn rotating_by_0_is_the_identity_and_by_90_turns_the_rows_into_columns() {
    let [data, _] = synthetic(5);
    let same = one_step(Step::Rotate { degrees: 0.0 }, &data);
    assert_eq!(same, data);
    let turned = one_step(Step::Rotate { degrees: 90.0 }, &data);
    for i in 0..5 {
        let (from, to) = (data.images.image(i), turned.images.image(i));
        for r in 0..28 {
            for c in 0..28 {
                // Anticlockwise: the top row becomes the left column, read upwards.
                assert_eq!(
                    to[r * 28 + c],
                    from[c * 28 + 27 - r],
                    "image {i} at ({r}, {c})"
                );
            }
        }
    }
}

#[test]
fn padding_puts_the_image_at_its_corner_on_black() {
    let [data, _] = synthetic(3);
    let padded = one_step(
        Step::Pad {
            side: 36,
            top: 2,
            left: 6,
        },
        &data,
    );
    assert_eq!((padded.images.rows, padded.images.cols), (36, 36));
    for i in 0..3 {
        let (from, to) = (data.images.image(i), padded.images.image(i));
        for r in 0..36 {
            for c in 0..36 {
                let inside = (2..30).contains(&r) && (6..34).contains(&c);
                let want = if inside {
                    from[(r - 2) * 28 + c - 6]
                } else {
                    0
                };
                assert_eq!(to[r * 36 + c], want, "image {i} at ({r}, {c})");
            }
        }
    }
}

#[test]
fn shrinking_by_half_averages_2x2_blocks_and_constants_stay_constant() {
    let [data, _] = synthetic(3);
    let small = one_step(Step::Resize { side: 14 }, &data);
    for i in 0..3 {
        let (from, to) = (data.images.image(i), small.images.image(i));
        for r in 0..14 {
            for c in 0..14 {
                let at = |dr, dc| u32::from(from[(2 * r + dr) * 28 + 2 * c + dc]);
                let sum = at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1);
                assert_eq!(u32::from(to[r * 14 + c]), (sum as f64 / 4.0).round() as u32);
            }
        }
    }
    let grey = LabeledImages {
        images: Images {
            rows: 28,
            cols: 28,
            pixels: vec![77; 2 * 784],
        },
        labels: vec![0, 1],
    };
    for side in [14, 20, 36] {
        let resized = one_step(Step::Resize { side }, &grey);
        assert_eq!(
            resized.images.pixels,
            vec![77; 2 * side * side],
            "side {side}"
        );
    }
}

#[test]
fn the_permutation_and_the_mirror_move_pixels_without_changing_them() {
    let [data, _] = synthetic(4);
    let permuted = one_step(Step::Permute { seed: 784 }, &data);
    assert_ne!(permuted, data);
    let order = permutation(784, 784);
    for i in 0..4 {
        let (from, to) = (data.images.image(i), permuted.images.image(i));
        assert!((0..784).all(|k| to[k] == from[order[k]]));
    }
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..784).collect::<Vec<_>>());

    let flipped = one_step(Step::Flip, &data);
    assert_eq!(flipped.images.image(0)[0], data.images.image(0)[27]);
    assert_eq!(one_step(Step::Flip, &flipped), data);
}

#[test]
fn noise_is_the_same_every_time_differs_by_split_and_has_its_sigma() {
    let grey = LabeledImages {
        images: Images {
            rows: 28,
            cols: 28,
            pixels: vec![128; 50 * 784],
        },
        labels: vec![0; 50],
    };
    let step = Step::Noise {
        sigma: 25.0,
        seed: 25,
    };
    let train = one_step(step, &grey);
    assert_eq!(train, one_step(step, &grey));
    assert_ne!(train, step.apply(Split::Test, grey.clone()));
    let n = train.images.pixels.len() as f64;
    let mean = train
        .images
        .pixels
        .iter()
        .map(|&p| f64::from(p))
        .sum::<f64>()
        / n;
    let var = train
        .images
        .pixels
        .iter()
        .map(|&p| (f64::from(p) - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!((mean - 128.0).abs() < 0.5, "mean {mean}");
    assert!(
        (var.sqrt() - 25.0).abs() < 0.5,
        "standard deviation {}",
        var.sqrt()
    );
}

#[test]
fn class_steps_keep_images_with_their_labels() {
    let [data, _] = synthetic(200);
    let kept = one_step(Step::Classes(&[3, 5, 8]), &data);
    let wanted: Vec<usize> = (0..200)
        .filter(|&i| [3, 5, 8].contains(&data.labels[i]))
        .collect();
    assert!(!wanted.is_empty());
    assert_eq!(kept.labels.len(), wanted.len());
    for (k, &i) in wanted.iter().enumerate() {
        assert_eq!(kept.labels[k], data.labels[i]);
        assert_eq!(kept.images.image(k), data.images.image(i));
    }

    let map = class_permutation(10);
    let mut classes = map.to_vec();
    classes.sort_unstable();
    assert_eq!(classes, (0..10).collect::<Vec<u8>>());
    assert!((0..10).all(|c| usize::from(map[c]) != c));
    let relabelled = one_step(Step::Relabel { seed: 10 }, &data);
    assert_eq!(relabelled.images, data.images);
    assert!((0..200).all(|i| relabelled.labels[i] == map[usize::from(data.labels[i])]));
}

#[test]
fn a_written_variant_loads_back_as_built_for_both_splits() {
    let data = synthetic(20);
    let dir = tempfile::tempdir().unwrap();
    let variant = UNSEEN
        .iter()
        .find(|v| v.name == "inverted-permuted")
        .unwrap();
    variant.write(&data, dir.path());
    assert_eq!(
        common::entries(dir.path()),
        [
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte"
        ]
    );
    for (split, data) in Split::BOTH.into_iter().zip(&data) {
        let loaded = common::load_mnist(dir.path(), split).unwrap();
        assert_eq!(loaded, variant.build(split, data));
        assert_eq!(
            loaded.images.pixels[..784],
            *one_step(
                Step::Permute { seed: 2024 },
                &one_step(Step::Pixels("", invert), data)
            )
            .images
            .image(0)
        );
    }
}

#[test]
fn variant_names_are_distinct_folder_names() {
    let mut names: Vec<&str> = SUITE.iter().chain(UNSEEN).map(|v| v.name).collect();
    assert_eq!((SUITE.len(), UNSEEN.len()), (10, 11));
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 21);
    assert!(names.iter().all(|n| {
        n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }));
}
