//! `mnist-mlp export --format pkl`: the PyTorch checkpoint read back by a standard-library
//! unpickler (no torch, no NumPy), and the generated evaluate_hw1.py run with NumPy on the
//! test files beside it, printing what `mnist-mlp evaluate-hw1` prints.
//!
//! The first test needs a Python (`MNIST_MLP_PYTHON`, else `python3`), the second one with
//! NumPy; without them they say loudly that they did not run, and fail under CI. The torch
//! path of evaluate_hw1.py is not run here (torch is not in the CI environment).

use crate::common;
use crate::export::python::{python_importing, python_with_numpy};

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;

fn shipped_weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-mlp.bin")
}

fn export_pkl(weights: &Path, output: &Path) -> assert_cmd::assert::Assert {
    cargo_bin_cmd!("mnist-mlp")
        .arg("export")
        .arg("--weights")
        .arg(weights)
        .arg("--output")
        .arg(output)
        .assert()
}

fn run_python(python: &str, args: &[&Path], cwd: &Path) -> String {
    let output = Command::new(python)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{python} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_pkl_reads_back_bit_for_bit_with_the_standard_library() {
    let test = "the_pkl_reads_back_bit_for_bit_with_the_standard_library";
    let Some(python) = python_importing(test, "zipfile, pickle, struct") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pkl = dir.path().join("weights.pkl");
    export_pkl(&shipped_weights(), &pkl)
        .success()
        .stdout(predicate::str::contains("(pkl, 784-256-10 relu)"))
        .stdout(predicate::str::contains("evaluate_hw1.py"));
    assert_eq!(
        common::entries(dir.path()),
        ["evaluate_hw1.py", "weights.pkl"]
    );

    let reader = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/export/read_pkl.py");
    let report: serde_json::Value =
        serde_json::from_str(&run_python(&python, &[&reader, &pkl], dir.path())).unwrap();
    let records: Vec<&str> = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(records[0], "archive/data.pkl");
    assert_eq!(records.last(), Some(&"archive/version"));

    let run = mnist_mlp::store::weights::load(&shipped_weights()).unwrap();
    let ours = mnist_mlp::store::export::tensors(&run);
    let theirs = report["tensors"].as_array().unwrap();
    assert_eq!(theirs.len(), ours.len());
    for (mine, their) in ours.iter().zip(theirs) {
        assert_eq!(their[0].as_str(), Some(mine.name.as_str()));
        let shape: Vec<usize> = serde_json::from_value(their[1]["shape"].clone()).unwrap();
        assert_eq!(shape, mine.shape, "{}", mine.name);
        let bits: Vec<u32> = serde_json::from_value(their[1]["bits"].clone()).unwrap();
        let my_bits: Vec<u32> = mine.values.iter().map(|v| v.to_bits()).collect();
        assert!(bits == my_bits, "{}: the values differ", mine.name);
    }
}

/// Trains a small network on the synthetic data in `data` with `flags`, into `weights`.
fn train(data: &Path, weights: &Path, flags: &[&str]) {
    cargo_bin_cmd!("mnist-mlp")
        .env_remove("MNIST_DATA_DIR")
        .current_dir(weights.parent().unwrap()) // the run log goes there, not into the repository
        .args(["train", "--offline", "--epochs", "3", "--batch-size", "20"])
        .arg("--data-dir")
        .arg(data)
        .arg("--weights")
        .arg(weights)
        .arg("--plot")
        .arg(weights.with_extension("png"))
        .arg("--metrics")
        .arg(weights.with_extension("csv"))
        .args(flags)
        .assert()
        .success();
}

#[test]
fn evaluate_hw1_py_prints_what_evaluate_hw1_prints() {
    let test = "evaluate_hw1_py_prints_what_evaluate_hw1_prints";
    let Some(python) = python_with_numpy(test) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    common::write_synthetic_mnist(&data, 600, 500, 28);
    let sigmoid = work.path().join("sigmoid.bin");
    train(
        &data,
        &sigmoid,
        &[
            "--hidden",
            "24,12",
            "--activation",
            "sigmoid",
            "--input-scaling",
            "standardize",
        ],
    );
    let tanh = work.path().join("tanh.bin");
    train(&data, &tanh, &["--hidden", "16", "--activation", "tanh"]);

    for weights in [shipped_weights(), sigmoid, tanh] {
        let expected = cargo_bin_cmd!("mnist-mlp")
            .env_remove("MNIST_DATA_DIR")
            .args(["evaluate-hw1", "--offline", "--data-dir"])
            .arg(&data)
            .arg("--weights")
            .arg(&weights)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let expected = String::from_utf8(expected).unwrap();

        // The hand-in's folder: the script, the .pkl and the test files only.
        let folder = tempfile::tempdir().unwrap();
        for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            std::fs::copy(data.join(name), folder.path().join(name)).unwrap();
        }
        export_pkl(&weights, &folder.path().join("weights.pkl")).success();
        let script = folder.path().join("evaluate_hw1.py");
        let printed = run_python(&python, &[&script], folder.path());
        eprintln!("{}: {}", weights.display(), printed.trim());
        assert_eq!(printed, expected, "{}", weights.display());
    }
}
