//! The real binary on small synthetic IDX files: train, evaluate-hw1, and bad input.

use crate::common;

use std::path::PathBuf;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;

/// A temp folder holding synthetic MNIST in `data/` and room for outputs.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(side: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        common::write_synthetic_mnist(&dir.path().join("data"), 600, 200, side);
        Workdir { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn data(&self) -> PathBuf {
        self.path("data")
    }
    /// `mnist-mlp <sub>` run inside the folder, offline, on its data.
    fn cmd(&self, sub: &str) -> assert_cmd::Command {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .arg(sub);
        if sub != "download" {
            cmd.arg("--offline");
        }
        cmd.arg("--data-dir").arg(self.data());
        cmd
    }
    fn train(&self, extra: &[&str]) -> Value {
        let mut cmd = self.cmd("train");
        cmd.args(["--epochs", "3", "--hidden", "32", "--json"])
            .args(extra);
        common::json_summary(&mut cmd)
    }
}

fn no_panic() -> impl Predicate<str> {
    predicate::str::contains("panicked").not()
}

#[test]
fn help_works_for_every_subcommand() {
    for sub in [
        vec!["--help"],
        vec!["train", "--help"],
        vec!["evaluate-hw1", "--help"],
        vec!["download", "--help"],
        vec!["predict", "--help"],
        vec!["analyze", "--help"],
        vec!["export", "--help"],
    ] {
        cargo_bin_cmd!("mnist-mlp")
            .args(&sub)
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
}

#[test]
fn train_writes_weights_metrics_and_plot_and_reports_each_epoch() {
    let w = Workdir::new(28);
    let out = w
        .cmd("train")
        .args(["--epochs", "3", "--hidden", "32"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let epoch_lines = text.lines().filter(|l| l.starts_with("epoch")).count();
    assert_eq!(epoch_lines, 3, "{text}");
    // Default output paths, relative to the working folder.
    assert!(w.path("weights/mnist-mlp.bin").is_file());
    let csv = std::fs::read_to_string(w.path("plots/metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let png = std::fs::read(w.path("plots/accuracy.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn json_summary_and_evaluate_hw1_agree() {
    let w = Workdir::new(28);
    let summary = w.train(&[]);
    for key in [
        "epochs",
        "train_accuracy",
        "test_accuracy",
        "train_loss",
        "test_loss",
        "seconds",
        "weights",
        "plot",
    ] {
        assert!(summary.get(key).is_some(), "missing {key} in {summary}");
    }
    assert_eq!(summary["epochs"], 3);
    let train_acc = summary["test_accuracy"].as_f64().unwrap();
    assert!(train_acc > 0.9, "synthetic data should be easy: {summary}");

    let eval = common::json_summary(w.cmd("evaluate-hw1").arg("--json"));
    assert_eq!(eval["accuracy"].as_f64().unwrap(), train_acc);
    assert_eq!(eval["correct"], summary["test_correct"]);
    assert_eq!(eval["total"], 200);

    // The text forms print the very same line.
    let train_line = format!(
        "test accuracy: {:.2}% ({}/200)",
        100.0 * train_acc,
        summary["test_correct"]
    );
    w.cmd("evaluate-hw1")
        .assert()
        .success()
        .stdout(predicate::str::contains(train_line));
}

#[test]
fn test_only_commands_need_only_the_test_files() {
    let w = Workdir::new(28);
    let summary = w.train(&[]);
    let test_only = w.path("test-only");
    std::fs::create_dir(&test_only).unwrap();
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(w.data().join(name), test_only.join(name)).unwrap();
    }
    // Online, with a mirror that refuses every connection: any download attempt would fail.
    for offline in [false, true] {
        for sub in ["evaluate-hw1", "analyze"] {
            let mut cmd = cargo_bin_cmd!("mnist-mlp");
            cmd.current_dir(w.dir.path())
                .env_remove("MNIST_DATA_DIR")
                .args([sub, "--json", "--data-dir"])
                .arg(&test_only)
                .args(["--mirror", "http://127.0.0.1:9/"]);
            if offline {
                cmd.arg("--offline");
            }
            let out = common::json_summary(&mut cmd);
            assert_eq!(out["correct"], summary["test_correct"], "{sub}: {out}");
        }
    }
    assert_eq!(
        common::entries(&test_only),
        ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
        "nothing downloaded or written beside the test files"
    );
    let accuracy =
        mnist_mlp::evaluate::evaluate_hw1(&test_only, &w.path("weights/mnist-mlp.bin")).unwrap();
    assert_eq!(accuracy, summary["test_accuracy"].as_f64().unwrap());
}

#[test]
fn same_seed_gives_identical_weights_files() {
    let w = Workdir::new(28);
    w.train(&["--weights", "a.bin", "--seed", "5"]);
    w.train(&["--weights", "b.bin", "--seed", "5"]);
    w.train(&["--weights", "c.bin", "--seed", "6"]);
    let read = |n: &str| std::fs::read(w.path(n)).unwrap();
    assert_eq!(read("a.bin"), read("b.bin"));
    assert_ne!(read("a.bin"), read("c.bin"));
}

#[test]
fn the_number_of_threads_does_not_change_the_weights() {
    let w = Workdir::new(28);
    // Batches of 256 are split into 4 shards, which 1, 2 or 3 threads share out differently.
    for threads in ["1", "2", "3"] {
        let weights = format!("t{threads}.bin");
        w.train(&[
            "--weights",
            &weights,
            "--batch-size",
            "256",
            "--threads",
            threads,
        ]);
    }
    let read = |n: &str| std::fs::read(w.path(n)).unwrap();
    assert_eq!(read("t1.bin"), read("t2.bin"));
    assert_eq!(read("t1.bin"), read("t3.bin"));
}

#[test]
fn train_metrics_measure_differently_train_the_same_and_the_csv_keeps_both() {
    let w = Workdir::new(28);
    let run = |choice: &str| {
        let (weights, csv) = (format!("{choice}.bin"), format!("{choice}.csv"));
        let summary = w.train(&[
            "--weights",
            &weights,
            "--metrics",
            &csv,
            "--train-metrics",
            choice,
        ]);
        let text = std::fs::read_to_string(w.path(&csv)).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let rows: Vec<Vec<String>> = lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect();
        let column = move |name: &str| -> Vec<String> {
            let at = header.iter().position(|h| h == name).expect(name);
            rows.iter().map(|r| r[at].clone()).collect()
        };
        (summary, column)
    };
    let (running, running_csv) = run("running");
    let (sample, sample_csv) = run("sample");
    let (full, full_csv) = run("full");
    for key in ["test_accuracy", "test_loss", "test_correct"] {
        assert_eq!(running[key], sample[key], "{key}");
        assert_eq!(running[key], full[key], "{key}");
    }
    // The running figures are in every CSV, the same whatever the choice; with `running`
    // they are also the plotted ones.
    for name in ["running_train_loss", "running_train_accuracy"] {
        assert_eq!(running_csv(name), sample_csv(name), "{name}");
        assert_eq!(running_csv(name), full_csv(name), "{name}");
    }
    assert_eq!(
        running_csv("train_accuracy"),
        running_csv("running_train_accuracy")
    );
    assert!(running_csv("train_images").iter().all(String::is_empty));
    // Fewer than 10,000 images are trained on, so the sample is all of them: as `full`.
    assert_eq!(sample_csv("train_accuracy"), full_csv("train_accuracy"));
    assert_eq!(sample_csv("train_images"), full_csv("train_images"));
    assert!(sample_csv("train_images").iter().all(|n| !n.is_empty()));
    // Epoch 1's running figure includes the untrained start; the end-of-epoch pass measures
    // the end-of-epoch network only.
    let first = |values: Vec<String>| -> f64 { values[0].parse().unwrap() };
    let (r, s) = (
        first(sample_csv("running_train_accuracy")),
        first(sample_csv("train_accuracy")),
    );
    assert!(r > 0.1 && r < s, "running {r} vs sample {s}");
}

#[test]
fn every_activation_and_two_hidden_layers_train() {
    let w = Workdir::new(28);
    for act in ["relu", "tanh", "sigmoid"] {
        let s = w.train(&[
            "--activation",
            act,
            "--hidden",
            "32,16",
            "--lr",
            "0.05",
            "--input-scaling",
            "standardize",
        ]);
        assert!(s["test_accuracy"].as_f64().unwrap() > 0.5, "{act}: {s}");
    }
}

#[test]
fn every_optimizer_schedule_and_augmentation_trains() {
    let w = Workdir::new(28);
    for (optimizer, lr) in [
        ("sgd", "0.1"),
        ("nesterov", "0.1"),
        ("adam", "0.003"),
        ("adamw", "0.003"),
    ] {
        for schedule in ["constant", "step", "cosine", "onecycle"] {
            let s = w.train(&[
                "--optimizer",
                optimizer,
                "--lr",
                lr,
                "--lr-schedule",
                schedule,
                "--weight-decay",
                "0.0005",
                "--clip-grad-norm",
                "5",
                "--warmup-epochs",
                "1",
            ]);
            let accuracy = s["test_accuracy"].as_f64().unwrap();
            assert!(accuracy > 0.8, "{optimizer} {schedule}: {s}");
            assert_eq!(s["config"]["optimizer"], optimizer);
        }
    }
}

#[test]
fn a_preset_bundles_settings_and_flags_override_it() {
    let w = Workdir::new(28);
    let s = w.train(&["--preset", "fast", "--epochs", "2"]);
    assert_eq!(s["epochs"], 2);
    assert_eq!(s["config"]["augment"], "none");
    assert_eq!(s["config"]["lr_schedule"], "onecycle");
    assert_eq!(s["config"]["learning_rate"], 0.3);
    // The weights file records the resolved configuration, not the preset's name.
    let saved = mnist_mlp::store::weights::load(&w.path("weights/mnist-mlp.bin")).unwrap();
    assert_eq!(saved.config.epochs, 2);
    assert_eq!(
        saved.config.augment,
        mnist_mlp::data::augment::Augment::None
    );
}

#[test]
fn a_validation_split_chooses_the_network_kept() {
    let w = Workdir::new(28);
    let s = w.train(&["--val-split", "100", "--epochs", "4"]);
    let kept = s["kept_epoch"].as_u64().unwrap() as usize;
    assert!((1..=4).contains(&kept), "{s}");
    let csv = std::fs::read_to_string(w.path("plots/metrics.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // The kept epoch has the best validation accuracy (column 6), the earliest on ties.
    let val: Vec<f64> = rows.iter().map(|r| r[6].parse().unwrap()).collect();
    let best = val.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(
        val.iter().position(|&v| v == best).unwrap() + 1,
        kept,
        "{csv}"
    );
    // The weights file holds that epoch's network: evaluate-hw1 agrees with its test figure.
    let test_accuracy: f64 = rows[kept - 1][4].parse().unwrap();
    let eval = common::json_summary(w.cmd("evaluate-hw1").arg("--json"));
    assert!((eval["accuracy"].as_f64().unwrap() - test_accuracy).abs() < 1e-6);
    assert_eq!(eval["accuracy"], s["test_accuracy"]);
    assert_fails(
        w.cmd("train").args(["--val-split", "600"]),
        "--val-split 600 leaves no training images",
    );
}

fn assert_fails(cmd: &mut assert_cmd::Command, message: &str) {
    cmd.assert()
        .failure()
        .stderr(predicate::str::contains(message).and(no_panic()));
}

#[test]
fn bad_hyperparameters_are_refused() {
    let w = Workdir::new(28);
    for (flag, value, message) in [
        ("--epochs", "0", "--epochs must be at least 1"),
        ("--lr", "-1", "--lr must be a positive"),
        ("--hidden", "0", "at least 1 unit"),
        ("--batch-size", "0", "--batch-size must be at least 1"),
        ("--momentum", "1.5", "--momentum must be in [0, 1)"),
        ("--activation", "swish", "invalid value 'swish'"),
        (
            "--weight-decay",
            "-1",
            "--weight-decay must be a finite number",
        ),
        (
            "--clip-grad-norm",
            "0",
            "--clip-grad-norm must be a positive",
        ),
        (
            "--warmup-epochs",
            "20",
            "--warmup-epochs (20) must be fewer than --epochs (20)",
        ),
        ("--optimizer", "lbfgs", "invalid value 'lbfgs'"),
        ("--lr-schedule", "linear", "invalid value 'linear'"),
    ] {
        assert_fails(w.cmd("train").args([flag, value]), message);
    }
    assert!(!w.path("weights").exists(), "a refused run wrote output");
}

#[test]
fn missing_data_offline_says_where_to_put_it() {
    let w = Workdir::new(28);
    let empty = w.path("empty");
    std::fs::create_dir(&empty).unwrap();
    for sub in ["train", "evaluate-hw1"] {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(w.dir.path())
            .args([sub, "--offline", "--data-dir"])
            .arg(&empty);
        assert_fails(&mut cmd, "empty");
    }
}

#[test]
fn truncated_images_file_is_named() {
    let w = Workdir::new(28);
    let path = w.data().join("t10k-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_fails(&mut w.cmd("train"), "t10k-images-idx3-ubyte.gz");
}

#[test]
fn bad_weights_files_are_refused_clearly() {
    let w = Workdir::new(28);
    let missing = w.path("nope.bin");
    assert_fails(
        w.cmd("evaluate-hw1").arg("--weights").arg(&missing),
        "nope.bin",
    );
    let garbage = w.path("garbage.bin");
    std::fs::write(&garbage, b"this is not a network").unwrap();
    assert_fails(
        w.cmd("evaluate-hw1").arg("--weights").arg(&garbage),
        "not an mnist-mlp weights file",
    );
    let empty = w.path("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    assert_fails(
        w.cmd("evaluate-hw1").arg("--weights").arg(&empty),
        "not an mnist-mlp weights file",
    );
}

#[test]
fn a_network_for_other_image_sizes_is_refused() {
    let small = Workdir::new(12);
    small.train(&["--weights", "small.bin"]);
    let big = Workdir::new(28);
    let weights = small.path("small.bin");
    assert_fails(
        big.cmd("evaluate-hw1").arg("--weights").arg(&weights),
        "the images are 28x28 = 784 pixels but the network takes 144 inputs",
    );
}

#[test]
fn unwritable_output_is_an_error_not_a_panic() {
    let w = Workdir::new(28);
    std::fs::write(w.path("blocker"), b"a file where a folder should be").unwrap();
    assert_fails(
        w.cmd("train")
            .args(["--epochs", "1", "--weights", "blocker/w.bin"]),
        "blocker",
    );
}

#[test]
fn data_dir_comes_from_the_environment_when_no_flag_is_given() {
    let w = Workdir::new(28);
    w.train(&["--weights", "env.bin"]);
    cargo_bin_cmd!("mnist-mlp")
        .current_dir(w.dir.path())
        .env("MNIST_DATA_DIR", w.data())
        .args(["evaluate-hw1", "--offline", "--weights", "env.bin"])
        .assert()
        .success()
        .stdout(predicate::str::contains("test accuracy:"));
}

#[test]
fn custom_data_trains_with_its_recipe_and_says_so_unless_flags_or_a_preset_choose() {
    let w = Workdir::new(28);
    let mut cmd = w.cmd("train");
    cmd.args(["--epochs", "2", "--hidden", "16", "--json"]);
    let output = cmd.assert().success().get_output().stdout.clone();
    let text = String::from_utf8_lossy(&output);
    let recipe = text.lines().find(|l| l.starts_with("recipe:")).unwrap();
    assert!(
        recipe.contains("custom data \"data\"")
            && recipe
                .contains("--lr 0.05 --input-scaling standardize --augment none --dropout 0.2"),
        "{text}"
    );
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        (&summary["dataset"], &summary["data_name"]),
        (&Value::Null, &"data".into())
    );
    let config = &summary["config"];
    assert_eq!(
        (&config["input_scaling"], &config["augment"]),
        (&"standardize".into(), &"none".into())
    );

    // A flag given keeps its value, and the line names only what the recipe set.
    let mut cmd = w.cmd("train");
    cmd.args(["--epochs", "2", "--hidden", "16", "--augment", "shift"]);
    let stdout = cmd.assert().success().get_output().stdout.clone();
    let recipe = String::from_utf8_lossy(&stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(!recipe.contains("--augment"), "{recipe}");
    let given = w.train(&["--augment", "shift"]);
    assert_eq!(given["config"]["augment"], "shift");
    assert_eq!(given["config"]["input_scaling"], "standardize");

    // A preset's settings stand: fast's learning rate and schedule, the recipe's scaling.
    let fast = w.train(&["--preset", "fast"]);
    assert_eq!(
        (
            &fast["config"]["learning_rate"],
            &fast["config"]["lr_schedule"]
        ),
        (&0.3.into(), &"onecycle".into())
    );
    assert_eq!(fast["config"]["input_scaling"], "standardize");
}
