//! `mnist-mlp sweep` on synthetic IDX files: settings judged on the validation images that
//! `train` holds out, never on the test set, one run-log line per run, and a sweep that
//! continues from its log.

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

const SIDE: usize = 10;

fn data_dir(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    common::write_synthetic_mnist(&data, 600, 200, SIDE);
    data
}

fn sweep(dir: &Path, data: &Path, extra: &[&str]) -> String {
    let output = cargo_bin_cmd!("mnist-mlp")
        .current_dir(dir)
        .env_remove("MNIST_DATA_DIR")
        .args(["sweep", "--offline", "--data-dir"])
        .arg(data)
        .args(["--base", "--epochs 3 --hidden 32", "--val-split", "100"])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(output).unwrap()
}

fn records(log: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The validation accuracy column of a metrics CSV.
fn val_column(csv: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "val_accuracy").unwrap();
    lines
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_sweep_judges_a_setting_on_the_validation_images_train_holds_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path());
    let out = sweep(
        dir.path(),
        &data,
        &["--vary", "--lr 0.05 | --lr 0.2", "--seeds", "5,6"],
    );
    assert!(out.contains("the test set is not read"), "{out}");
    let logged = records(&dir.path().join("report/sweeps.jsonl"));
    assert_eq!(logged.len(), 4, "one line per run");
    let run = logged
        .iter()
        .find(|r| r["flags"] == "--lr 0.05" && r["config"]["seed"] == 6)
        .unwrap();
    let curve: Vec<f64> = serde_json::from_value(run["val_curve"].clone()).unwrap();
    assert_eq!(curve.len(), 3);

    // The same setting trained by `train` with the same seed and split.
    let summary = common::json_summary(
        cargo_bin_cmd!("mnist-mlp")
            .current_dir(dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args(["train", "--offline", "--data-dir"])
            .arg(&data)
            .args([
                "--epochs", "3", "--hidden", "32", "--lr", "0.05", "--seed", "6",
            ])
            .args(["--val-split", "100", "--json", "--run-log", "train.jsonl"]),
    );
    let train_curve = val_column(&dir.path().join("plots/metrics.csv"));
    for (swept, trained) in curve.iter().zip(&train_curve) {
        assert!(
            (swept - trained).abs() < 5e-7,
            "{curve:?} vs {train_curve:?}"
        );
    }
    assert_eq!(run["val_accuracy"], summary["val_accuracy"]);
    assert_eq!(run["best_epoch"], summary["kept_epoch"]);
}

#[test]
fn a_sweep_never_opens_the_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path());
    // Test files that are not IDX at all: reading them would fail.
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::write(data.join(name), b"not an IDX file").unwrap();
    }
    let out = sweep(dir.path(), &data, &["--vary", "--lr 0.1"]);
    assert!(out.contains("run 1/1"), "{out}");
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::remove_file(data.join(name)).unwrap();
    }
    let out = sweep(dir.path(), &data, &["--vary", "--lr 0.2"]);
    assert!(out.contains("run 1/1"), "{out}");
}

#[test]
fn a_sweep_started_again_takes_its_finished_runs_from_the_log_and_ranks_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path());
    let args = [
        "--vary",
        "--lr 0.01 | --lr 0.2",
        "--seeds",
        "3",
        "--table",
        "table.md",
    ];
    let first = sweep(dir.path(), &data, &args);
    assert!(!first.contains("from the run log"), "{first}");
    let second = sweep(dir.path(), &data, &args);
    assert_eq!(second.matches("(from the run log)").count(), 2, "{second}");
    let logged = records(&dir.path().join("report/sweeps.jsonl"));
    assert_eq!(logged.len(), 2, "no run trained twice");

    let accuracy = |flags: &str| {
        let r = logged.iter().find(|r| r["flags"] == flags).unwrap();
        r["val_accuracy"].as_f64().unwrap()
    };
    let (slow, fast) = (accuracy("--lr 0.01"), accuracy("--lr 0.2"));
    assert_ne!(slow, fast);
    let table = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
    assert!(table.contains("mnist-mlp sweep --offline"), "{table}");
    let first_row = table.lines().find(|l| l.starts_with("| 1 |")).unwrap();
    let winner = if fast > slow { "--lr 0.2" } else { "--lr 0.01" };
    assert!(first_row.contains(winner), "{table}");
}

#[test]
fn a_flag_set_with_an_output_flag_is_refused_before_any_training() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path());
    let assert = cargo_bin_cmd!("mnist-mlp")
        .current_dir(dir.path())
        .args(["sweep", "--offline", "--data-dir"])
        .arg(&data)
        .args(["--vary", "--lr 0.1 | --lr 0.2 --weights w.bin"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("--weights"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("report").exists());
}

#[test]
fn a_sweep_stopped_by_sigterm_keeps_its_finished_runs_and_the_same_command_continues_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_dir(dir.path());
    let command = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mnist-mlp"));
        cmd.current_dir(dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args(["sweep", "--offline", "--data-dir"])
            .arg(&data)
            .args(["--base", "--hidden 32 --epochs 40", "--val-split", "100"])
            .args(["--vary", "--lr 0.05 | --lr 0.1"]);
        cmd
    };
    let (child, _) = common::start_until(&mut command(), "run 1/2");
    common::send_signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopped by SIGTERM in run 2 of 2"),
        "{stderr}"
    );
    let log = dir.path().join("report/sweeps.jsonl");
    assert_eq!(records(&log).len(), 1);

    let (child, _) = common::start_until(&mut command(), "run 1/2");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let logged = records(&log);
    assert_eq!(logged.len(), 2, "the first run is not trained again");
    assert_eq!(logged[0]["flags"], "--lr 0.05");
    assert_eq!(logged[1]["flags"], "--lr 0.1");
}
