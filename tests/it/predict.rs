//! `mnist-mlp predict` on image files as a user would have them: real MNIST test digits
//! drawn large in black on white (where `MNIST_DATA_DIR` points to the real files), a
//! synthetic digit, and bad input.

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, Rgb, RgbImage};
use mnist_mlp::data::names::Split;
use mnist_mlp::model::predict::{PIXELS, SIDE, load_mnist_style};
use predicates::prelude::*;
use serde_json::Value;

/// The network shipped in the repository (784-256-10).
fn shipped_weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-mlp.bin")
}

/// `mnist-mlp predict --json` with `weights` on `images`: one JSON object per image.
fn predict_json(weights: &Path, images: &[PathBuf]) -> Vec<Value> {
    let output = cargo_bin_cmd!("mnist-mlp")
        .arg("predict")
        .arg("--json")
        .arg("--weights")
        .arg(weights)
        .args(images)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), images.len(), "{text}");
    lines
}

/// A 28×28 MNIST digit as a user would have it: enlarged to 180×180, black ink on white,
/// off centre in a 240×220 page.
fn as_user_drawing(digit: &[u8]) -> GrayImage {
    let small = GrayImage::from_raw(SIDE as u32, SIDE as u32, digit.to_vec()).unwrap();
    let mut large = imageops::resize(&small, 180, 180, FilterType::Triangle);
    imageops::invert(&mut large);
    let mut page = GrayImage::from_pixel(240, 220, Luma([255]));
    imageops::replace(&mut page, &large, 45, 10);
    page
}

#[test]
fn real_mnist_digits_drawn_as_user_images_are_recognised() {
    let Some(data) = common::real_mnist_dir("real_mnist_digits_drawn_as_user_images") else {
        return;
    };
    const DIGITS: usize = 20;
    let test = common::load_mnist(&data, Split::Test).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for extension in ["png", "jpg", "pgm"] {
        for i in 0..DIGITS {
            let path = dir.path().join(format!("digit{i:02}.{extension}"));
            as_user_drawing(test.images.image(i)).save(&path).unwrap();
            paths.push(path);
        }
    }
    let predictions = predict_json(&shipped_weights(), &paths);
    for (format, chunk) in predictions.chunks(DIGITS).enumerate() {
        let mut wrong = Vec::new();
        for (i, prediction) in chunk.iter().enumerate() {
            if prediction["class"] != test.labels[i] {
                wrong.push(format!("#{i} (a {}): {prediction}", test.labels[i]));
            }
        }
        eprintln!(
            "{}: {}/{DIGITS} correct",
            ["png", "jpg", "pgm"][format],
            DIGITS - wrong.len()
        );
        // Measured: 20/20 in each format.
        assert!(wrong.len() <= 1, "wrong: {wrong:#?}");
    }
}

/// A synthetic "7": a thick top bar and a slanted stroke, in dark blue on a pale page.
fn synthetic_seven() -> RgbImage {
    RgbImage::from_fn(150, 170, |x, y| {
        let (x, y) = (x as f64, y as f64);
        let bar = (35.0..115.0).contains(&x) && (30.0..45.0).contains(&y);
        // The stroke from (112, 38) down to (60, 140), 14 pixels wide.
        let t = ((y - 38.0) / (140.0 - 38.0)).clamp(0.0, 1.0);
        let stroke_x = 112.0 + t * (60.0 - 112.0);
        let stroke = (38.0..140.0).contains(&y) && (x - stroke_x).abs() < 7.0;
        if bar || stroke {
            Rgb([30, 40, 110])
        } else {
            Rgb([245, 240, 225])
        }
    })
}

#[test]
fn a_synthetic_digit_gets_three_classes_in_descending_probability() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("seven.png");
    let jpeg = dir.path().join("seven.jpg");
    synthetic_seven().save(&png).unwrap();
    synthetic_seven().save(&jpeg).unwrap();

    // The preparation: 28×28, the ink's longer side 20 pixels, black borders.
    let prepared = load_mnist_style(&png).unwrap();
    assert_eq!(prepared.len(), PIXELS);
    let rows_with_ink = (0..SIDE)
        .filter(|r| prepared[r * SIDE..(r + 1) * SIDE].iter().any(|&v| v > 0))
        .count();
    assert_eq!(rows_with_ink, 20);
    assert!(prepared[..SIDE].iter().all(|&v| v == 0));
    assert_eq!(prepared.iter().max(), Some(&255));

    for prediction in predict_json(&shipped_weights(), &[png.clone(), jpeg]) {
        let top = prediction["top"].as_array().unwrap();
        assert_eq!(top.len(), 3, "{prediction}");
        let probs: Vec<f64> = top
            .iter()
            .map(|s| s["probability"].as_f64().unwrap())
            .collect();
        assert!(probs.windows(2).all(|p| p[0] >= p[1]), "{prediction}");
        assert!(probs.iter().all(|&p| p >= 0.0), "{prediction}");
        assert!(probs.iter().sum::<f64>() <= 1.0 + 1e-6, "{prediction}");
        assert_eq!(prediction["class"], top[0]["class"]);
        assert_eq!(prediction["name"], top[0]["name"]);
        let classes: Vec<&Value> = top.iter().map(|s| &s["class"]).collect();
        assert!(classes[0] != classes[1] && classes[1] != classes[2] && classes[0] != classes[2]);
        // Measured: a 7 with probability above 0.99 in both formats.
        assert_eq!(prediction["class"], 7, "{prediction}");
        assert!(prediction["path"].as_str().unwrap().contains("seven."));
    }

    // The text form: the path, then three "class (p%)".
    cargo_bin_cmd!("mnist-mlp")
        .arg("predict")
        .arg("--weights")
        .arg(shipped_weights())
        .arg(&png)
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r"seven\.png: 7 \(\d+\.\d\d%\), \d \(\d+\.\d\d%\), \d \(\d+\.\d\d%\)\n$",
            )
            .unwrap(),
        );
}

fn no_panic() -> impl Predicate<str> {
    predicate::str::contains("panicked").not()
}

#[test]
fn bad_images_and_networks_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("seven.png");
    synthetic_seven().save(&good).unwrap();
    let blank = dir.path().join("blank.png");
    GrayImage::from_pixel(64, 64, Luma([255]))
        .save(&blank)
        .unwrap();
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "a shopping list").unwrap();
    let missing = dir.path().join("missing.png");

    let predict = |weights: &Path, image: &Path| {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.arg("predict")
            .arg("--weights")
            .arg(weights)
            .arg(&good)
            .arg(image);
        cmd
    };
    for (image, message) in [
        (&blank, "blank.png: no ink found"),
        (&text, "notes.jpg: unsupported image format"),
        (&missing, "missing.png: cannot read the file"),
    ] {
        predict(&shipped_weights(), image)
            .assert()
            .failure()
            .stdout("")
            .stderr(predicate::str::contains(message).and(no_panic()));
    }

    // A network trained on 12×12 images cannot take 28×28 ones. (Shifts would blur the
    // classes' bars, a pixel apart at this size, into each other: without them three epochs
    // of 10 steps leave chance.)
    common::write_synthetic_mnist(dir.path(), 200, 50, 12);
    let small = dir.path().join("small.bin");
    cargo_bin_cmd!("mnist-mlp")
        .current_dir(dir.path())
        .env_remove("MNIST_DATA_DIR")
        .args(["train", "--offline", "--data-dir", "."])
        .args(["--epochs", "3", "--hidden", "8", "--batch-size", "20"])
        .args(["--augment", "none"])
        .arg("--weights")
        .arg(&small)
        .assert()
        .success();
    predict(&small, &good).assert().failure().stderr(
        predicate::str::contains("small.bin: the network cannot classify 28×28 images")
            .and(predicate::str::contains("takes 144 inputs"))
            .and(no_panic()),
    );

    cargo_bin_cmd!("mnist-mlp")
        .arg("predict")
        .assert()
        .failure()
        .stderr(predicate::str::contains("IMAGE"));
    cargo_bin_cmd!("mnist-mlp")
        .args(["predict", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--json").and(predicate::str::contains("--weights")));
}
