//! Runs that are not learning, through the real binary: a run that never leaves chance or
//! that falls back to it fails with a message naming the figures and the flags to try, and
//! leaves the outputs of an earlier run, or of its last good epoch, as they were; a healthy
//! run is unaffected.

use crate::common;

use std::path::{Path, PathBuf};

use mnist_mlp::data::idx::write_idx_labels;
use mnist_mlp::nn::rng::SeededRng;
use mnist_mlp::store::weights;
use mnist_mlp::train::learning::Chance;

const BIN: &str = env!("CARGO_BIN_EXE_mnist-mlp");

/// The settings that decide how fast a network learns, given to every run here so that the
/// runs do not depend on the defaults chosen for their data.
const SETTINGS: [&str; 8] = [
    "--lr",
    "0.1",
    "--input-scaling",
    "unit",
    "--augment",
    "shift",
    "--dropout",
    "0",
];

/// The outputs of every run here, in `out/`.
const OUTPUTS: [&str; 6] = [
    "--weights",
    "out/w.bin",
    "--plot",
    "out/p.png",
    "--metrics",
    "out/m.csv",
];

/// A temp folder with synthetic MNIST (600 training and 200 test images of 28×28) in
/// `data/`, and the same images with labels drawn apart from them in `random/`.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for name in ["data", "random"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            common::write_synthetic_mnist(&dir.path().join(name), 600, 200, 28);
        }
        let mut rng = SeededRng::new(9);
        for (split, count) in [("train", 600), ("t10k", 200)] {
            let labels: Vec<u8> = (0..count).map(|_| rng.below(10) as u8).collect();
            let path = dir
                .path()
                .join(format!("random/{split}-labels-idx1-ubyte.gz"));
            write_idx_labels(&path, &labels, true).unwrap();
        }
        Workdir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `mnist-mlp train --offline --data-dir <data> <SETTINGS> <OUTPUTS> <args>` run in the
    /// folder (`args` override `SETTINGS`): (exit code, stdout, stderr).
    fn train(&self, data: &str, args: &[&str]) -> (Option<i32>, String, String) {
        let out = std::process::Command::new(BIN)
            .current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args(["train", "--offline", "--data-dir", data])
            .args(SETTINGS)
            .args(OUTPUTS)
            .args(args)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }

    /// The sha256 of each output, `None` where there is none.
    fn outputs(&self) -> Vec<Option<String>> {
        ["out/w.bin", "out/p.png", "out/m.csv"]
            .map(|name| {
                let path = self.path(name);
                path.exists().then(|| common::sha256_of(&path))
            })
            .to_vec()
    }

    /// The epochs of the metrics CSV's rows.
    fn metrics_epochs(&self) -> Vec<usize> {
        let text = std::fs::read_to_string(self.path("out/m.csv")).unwrap();
        let rows = text.lines().skip(1);
        rows.map(|row| row.split(',').next().unwrap().parse().unwrap())
            .collect()
    }
}

/// Asserts that `stderr` is one error of ours, without a panic.
fn one_error(code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// No temporary file of an interrupted write is left in `dir`.
fn no_temporaries(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with(".tmp-"), "{name} left behind");
    }
}

#[test]
fn random_labels_fail_naming_the_flags_and_leave_the_earlier_outputs_byte_identical() {
    let w = Workdir::new();
    // 38 steps an epoch: judged after epoch 3.
    let run = ["--epochs", "5", "--hidden", "32", "--batch-size", "16"];
    let (code, stdout, stderr) = w.train("data", &run);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let before = w.outputs();
    assert!(before.iter().all(Option::is_some), "{before:?}");

    let (code, stdout, stderr) = w.train("random", &run);
    one_error(code, &stderr);
    eprintln!("{}", stderr.trim());
    for needle in [
        "error: the network is not learning: after epoch 3 (114 optimizer steps) its train \
         accuracy",
        "of always answering the most frequent class",
        "of answering the class frequencies",
        "try a smaller --lr; now 0.1",
        "try --input-scaling standardize",
        "try more --epochs, or a smaller --batch-size",
        "check the labels file",
        "no weights, metrics or plot were written (those of an earlier run are left as they \
         were)",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in\n{stderr}");
    }
    // The epochs before the judged one were reported.
    assert!(
        stdout.contains("epoch   2/5") && !stdout.contains("epoch   3/5"),
        "{stdout}"
    );
    assert_eq!(w.outputs(), before, "the earlier run's outputs changed");
    no_temporaries(&w.path("out"));
}

#[test]
fn a_learning_rate_that_kills_the_network_fails_keeping_the_last_good_epoch() {
    let w = Workdir::new();
    // Warm-up to a learning rate high enough to kill the network, not to make it NaN.
    let (code, stdout, stderr) = w.train(
        "data",
        &[
            "--epochs",
            "6",
            "--hidden",
            "32",
            "--batch-size",
            "16",
            "--lr",
            "3",
            "--warmup-epochs",
            "4",
            "--lr-schedule",
            "constant",
        ],
    );
    one_error(code, &stderr);
    eprintln!("{}", stderr.trim());
    assert!(
        stderr.starts_with("error: the network collapsed in epoch ")
            || stderr.starts_with("error: the network is not learning: "),
        "{stderr}"
    );
    assert!(stderr.contains("--lr, now 3") || stderr.contains("--lr; now 3"));
    let failed: usize = stderr
        .split(" epoch ")
        .nth(1)
        .and_then(|rest| rest.split([':', ' ']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no epoch in {stderr}"));
    assert!(
        !stdout.contains(&format!("epoch {failed:>3}/6")),
        "{stdout}"
    );
    // The outputs are those of the epochs before the failed one, the weights the kept
    // network's, or there are none.
    match stderr.split("keeps the network of epoch ").nth(1) {
        Some(rest) => {
            let kept: usize = rest.split(',').next().unwrap().parse().unwrap();
            let saved = weights::load(&w.path("out/w.bin")).unwrap();
            assert_eq!(saved.history.len(), kept);
            assert_eq!(w.metrics_epochs(), (1..failed).collect::<Vec<_>>());
            image::open(w.path("out/p.png")).unwrap();
        }
        None => assert_eq!(w.outputs(), [None, None, None]),
    }
    no_temporaries(&w.path("out"));
    // Continuing would collapse again: the checkpoint goes, and leaves the way free for a
    // run with a smaller --lr.
    assert!(
        !w.path("out/w.ckpt").exists(),
        "the collapsed run left its checkpoint"
    );
}

#[test]
fn a_one_epoch_run_that_stays_at_chance_asks_for_more_epochs_and_writes_nothing() {
    let w = Workdir::new();
    // 5 steps of a slow learner.
    let (code, _, stderr) = w.train("data", &["--epochs", "1", "--hidden", "8", "--lr", "0.02"]);
    one_error(code, &stderr);
    assert!(
        stderr.contains(
            "Likely causes: only 5 optimizer steps were taken: too few steps (try more \
             --epochs"
        ),
        "{stderr}"
    );
    assert!(!w.path("out").exists(), "a run that never learnt wrote");
}

#[test]
fn a_healthy_tiny_run_is_unaffected() {
    let w = Workdir::new();
    let (code, stdout, stderr) = w.train(
        "data",
        &["--epochs", "3", "--hidden", "32", "--batch-size", "32"],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("epoch   3/3") && stdout.contains("test accuracy: "));
    assert_eq!(
        weights::load(&w.path("out/w.bin")).unwrap().history.len(),
        3
    );
    assert_eq!(w.metrics_epochs(), [1, 2, 3]);
    assert!(!w.path("out/w.ckpt").exists());

    // A first epoch near chance is not kept, but once an epoch is, the metrics and plot
    // show every epoch.
    let (code, stdout, stderr) = w.train("data", &["--epochs", "3", "--hidden", "8"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(w.metrics_epochs(), [1, 2, 3]);
    let labels = common::synthetic_images(600, 28, 1).1;
    let chance = Chance::of(labels, 10, 0.0);
    let first = &weights::load(&w.path("out/w.bin")).unwrap().history[0];
    // The check judges the running figures.
    let running = first.running_train_accuracy.expect("recorded");
    assert!(chance.near(running), "{first:?}");
    assert_eq!(
        weights::load(&w.path("out/w.bin")).unwrap().history.len(),
        3
    );
}
