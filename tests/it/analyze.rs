//! `mnist-mlp analyze` through the real binary: on small synthetic IDX files with a tiny
//! network trained for the test, and on the real MNIST test set (where `MNIST_DATA_DIR`
//! points to it) with the shipped network.

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use mnist_mlp::plot::analysis::{HeatmapLayout, MistakesLayout};
use predicates::prelude::*;
use serde_json::Value;

/// The width and height of a PNG file, decoding it whole.
fn png_size(path: &Path) -> (u32, u32) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let picture = image::load(file, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    (picture.width(), picture.height())
}

fn digit_names() -> Vec<String> {
    (0..10).map(|c| c.to_string()).collect()
}

/// The confusion matrix of a JSON report as rows of counts.
fn matrix(report: &Value) -> Vec<Vec<u64>> {
    report["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .collect()
        })
        .collect()
}

/// Checks what every report must hold; returns (total, diagonal).
fn check_report(report: &Value, mistakes_shown: usize) -> (u64, u64) {
    let m = matrix(report);
    assert_eq!(m.len(), 10, "{report}");
    assert!(m.iter().all(|row| row.len() == 10), "{report}");
    let total: u64 = m.iter().flatten().sum();
    let diagonal: u64 = (0..10).map(|c| m[c][c]).sum();
    assert_eq!(report["total"], total);
    assert_eq!(report["correct"], diagonal);
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!((accuracy - diagonal as f64 / total as f64).abs() < 1e-12);
    // Support is the row sum; recall is the diagonal over it.
    for (c, row) in report["per_class"].as_array().unwrap().iter().enumerate() {
        assert_eq!(row["support"], m[c].iter().sum::<u64>(), "{row}");
        assert_eq!(row["correct"], m[c][c], "{row}");
    }
    let mistakes = report["mistakes"].as_array().unwrap();
    assert_eq!(
        report["mistakes_total"].as_u64().unwrap(),
        total - diagonal,
        "{report}"
    );
    assert_eq!(
        mistakes.len(),
        mistakes_shown.min((total - diagonal) as usize)
    );
    let confidences: Vec<f64> = mistakes
        .iter()
        .map(|k| k["confidence"].as_f64().unwrap())
        .collect();
    assert!(
        confidences.windows(2).all(|w| w[0] >= w[1]),
        "{confidences:?}"
    );
    (total, diagonal)
}

fn check_pictures(dir: &Path, shown: usize) {
    let names = digit_names();
    assert_eq!(
        png_size(&dir.join("plots/confusion.png")),
        HeatmapLayout::new(&names).size
    );
    assert_eq!(
        png_size(&dir.join("plots/mistakes.png")),
        MistakesLayout::new((28, 28), shown, &names).size
    );
}

#[test]
fn analyze_on_synthetic_data_reports_figures_that_add_up_and_draws_both_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    common::write_synthetic_mnist(&data, 600, 200, 28);
    let cmd = |sub: &str| {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args([sub, "--offline", "--data-dir"])
            .arg(&data);
        cmd
    };
    // One epoch of a tiny network, in batches of 16 for enough steps to leave chance: good,
    // but with mistakes to show. (The settings that decide how fast it learns are given, so
    // that the run does not depend on the defaults chosen for the data.)
    let trained = common::json_summary(
        cmd("train")
            .args(["--epochs", "1", "--hidden", "8", "--batch-size", "16"])
            .args(["--lr", "0.02", "--input-scaling", "unit"])
            .args(["--augment", "shift", "--dropout", "0", "--json"]),
    );

    let report = common::json_summary(cmd("analyze").args(["--json", "--mistakes-count", "5"]));
    let (total, diagonal) = check_report(&report, 5);
    assert_eq!(total, 200);
    assert!(
        diagonal < 195,
        "too few mistakes to fill the grid: {report}"
    );
    assert_eq!(report["correct"], trained["test_correct"]);
    assert_eq!(report["accuracy"], trained["test_accuracy"]);
    check_pictures(dir.path(), 5.min((total - diagonal) as usize));

    // The text form: the same accuracy line as evaluate-hw1, the table and the matrix.
    let text = cmd("analyze")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    let line = format!(
        "test accuracy: {:.2}% ({diagonal}/200)",
        100.0 * report["accuracy"].as_f64().unwrap()
    );
    assert!(text.starts_with(&line), "{text}");
    for needle in [
        "class    support    correct  precision     recall         F1",
        "confusion matrix (rows: true class, columns: predicted):",
        "wrote plots/confusion.png and plots/mistakes.png",
    ] {
        assert!(text.contains(needle), "no {needle:?} in\n{text}");
    }
    check_pictures(dir.path(), 48.min((total - diagonal) as usize));
}

#[test]
fn analyze_refuses_bad_flags_and_unwritable_outputs_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    common::write_synthetic_mnist(&data, 100, 50, 28);
    let weights = concat!(env!("CARGO_MANIFEST_DIR"), "/weights/mnist-mlp.bin");
    let cmd = || {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args(["analyze", "--offline", "--weights", weights, "--data-dir"])
            .arg(&data);
        cmd
    };
    let fails = |cmd: &mut assert_cmd::Command, message: &str| {
        cmd.assert().failure().stderr(
            predicate::str::contains(message).and(predicate::str::contains("panicked").not()),
        );
    };
    fails(cmd().args(["--mistakes-count", "0"]), "--mistakes-count");
    std::fs::write(dir.path().join("blocker"), b"a file, not a folder").unwrap();
    fails(cmd().args(["--confusion", "blocker/c.png"]), "blocker");
    fails(cmd().args(["--mistakes", "blocker/m.png"]), "blocker");
    let mut missing = cargo_bin_cmd!("mnist-mlp");
    missing
        .current_dir(dir.path())
        .args([
            "analyze",
            "--offline",
            "--weights",
            "nope.bin",
            "--data-dir",
        ])
        .arg(&data);
    fails(&mut missing, "nope.bin");
    cargo_bin_cmd!("mnist-mlp")
        .args(["analyze", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--mistakes-count"));
}

#[test]
fn the_shipped_network_on_the_real_test_set() {
    let Some(data) = common::real_mnist_dir("the_shipped_network_on_the_real_test_set") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let weights: PathBuf = concat!(env!("CARGO_MANIFEST_DIR"), "/weights/mnist-mlp.bin").into();
    let cmd = || {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(out.path())
            .args(["analyze", "--offline", "--weights"])
            .arg(&weights)
            .arg("--data-dir")
            .arg(&data);
        cmd
    };
    let report = common::json_summary(cmd().arg("--json"));
    assert_eq!(check_report(&report, 48), (10000, 9874));
    assert_eq!(report["accuracy"], 0.9874);
    check_pictures(out.path(), 48);

    let text = cmd().assert().success().get_output().stdout.clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.starts_with("test accuracy: 98.74% (9874/10000)\n"),
        "{text}"
    );
}
