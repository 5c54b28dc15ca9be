//! On the real MNIST files (where `MNIST_DATA_DIR` points to them, as in CI, or in
//! `data/mnist`): the default training run reaches the promised accuracy, the shipped
//! network scores what the README says, and a diverging or interrupted run fails well.

use crate::common;

use assert_cmd::cargo::cargo_bin_cmd;
use mnist_mlp::data::catalog::Dataset;
use mnist_mlp::data::names::Split;
use mnist_mlp::data::source::{DataInfo, DataSource};

#[test]
fn default_training_reaches_98_5_percent_and_evaluate_hw1_agrees() {
    let Some(data) = common::real_mnist_dir("default_training_reaches_98_5_percent") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let run = |subcommand: &str| {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(out.path())
            .args([subcommand, "--offline", "--json", "--data-dir"]);
        common::json_summary(cmd.arg(&data))
    };
    let summary = run("train");
    let accuracy = summary["test_accuracy"].as_f64().unwrap();
    eprintln!("default run: {summary}");
    assert_eq!(summary["epochs"], 20);
    assert!(
        accuracy >= 0.985,
        "default training reached only {accuracy}"
    );

    let eval = run("evaluate-hw1");
    assert_eq!(eval["correct"], summary["test_correct"]);
    assert_eq!(eval["accuracy"].as_f64().unwrap(), accuracy);
    assert_eq!(
        (&summary["dataset"], &eval["dataset"]),
        (&"mnist".into(), &"mnist".into())
    );
}

#[test]
fn real_mnist_is_known_by_its_content_and_one_changed_pixel_makes_it_custom_data() {
    let Some(data) = common::real_mnist_dir("real_mnist_is_known_by_its_content") else {
        return;
    };
    let source = DataSource {
        dir: data.clone(),
        dataset: Some(Dataset::Mnist),
    };
    let mut test = source.load(Split::Test).unwrap();
    assert_eq!(source.identify(&[(Split::Test, &test)]), DataInfo::mnist());
    test.images.pixels[1000] ^= 0x80;
    let changed = source.identify(&[(Split::Test, &test)]);
    assert_eq!(changed.dataset, None);
    assert_eq!(changed.name, data.file_name().unwrap().to_string_lossy());
}

#[test]
fn the_fast_preset_reaches_98_percent_in_4_epochs() {
    let Some(data) = common::real_mnist_dir("the_fast_preset_reaches_98_percent") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut cmd = cargo_bin_cmd!("mnist-mlp");
    cmd.current_dir(out.path())
        .args([
            "train",
            "--preset",
            "fast",
            "--offline",
            "--json",
            "--data-dir",
        ])
        .arg(&data);
    let summary = common::json_summary(&mut cmd);
    eprintln!("fast preset: {summary}");
    assert_eq!(summary["epochs"], 4);
    let accuracy = summary["test_accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.98, "the fast preset reached only {accuracy}");
}

/// The README states the shipped network's score as "**98.xx%** (NNNN/10000)".
fn readme_figure() -> (String, u64) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let marker = "The shipped network `weights/mnist-mlp.bin` scores **";
    let start = readme
        .find(marker)
        .expect("README states the shipped network's accuracy")
        + marker.len();
    let rest = &readme[start..];
    let percent = rest[..rest.find("%**").unwrap()].to_string();
    let open = rest.find('(').unwrap() + 1;
    let correct = rest[open..rest.find('/').unwrap()].parse().unwrap();
    (percent, correct)
}

#[test]
fn shipped_weights_score_what_the_readme_says() {
    let Some(data) = common::real_mnist_dir("shipped_weights_score_what_the_readme_says") else {
        return;
    };
    let (percent, correct) = readme_figure();
    let weights = concat!(env!("CARGO_MANIFEST_DIR"), "/weights/mnist-mlp.bin");
    let accuracy = mnist_mlp::evaluate::evaluate_hw1(&data, weights.as_ref()).unwrap();
    assert_eq!(format!("{:.2}", 100.0 * accuracy), percent);
    assert_eq!((accuracy * 10000.0).round() as u64, correct);
}

#[test]
fn lr_100_diverges_and_an_interrupted_run_resumes_to_the_same_sha256() {
    let Some(data) = common::real_mnist_dir("lr_100_diverges_and_an_interrupted_run_resumes")
    else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let train = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mnist-mlp"));
        cmd.current_dir(out.path())
            .args(["train", "--offline", "--data-dir"])
            .arg(&data)
            .args(args);
        cmd
    };
    let diverged = train(&["--epochs", "3", "--lr", "100", "--weights", "d.bin"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&diverged.stderr);
    assert_eq!(diverged.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in epoch 1 (batch ")
            && stderr.contains("training diverged; try a smaller --lr (now 100)"),
        "{stderr}"
    );
    assert!(!out.path().join("d.bin").exists());

    let uninterrupted = train(&["--epochs", "3", "--weights", "a.bin"])
        .output()
        .unwrap();
    assert!(uninterrupted.status.success(), "{uninterrupted:?}");
    let mut cmd = train(&["--epochs", "3", "--weights", "b.bin"]);
    let (mut child, rest) = common::start_until(&mut cmd, "epoch   1/3");
    common::send_signal(&child, "-INT");
    rest.for_each(drop);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let resumed = train(&["--resume", "b.ckpt"]).output().unwrap();
    assert!(resumed.status.success(), "{resumed:?}");
    let sha = |name: &str| common::sha256_of(&out.path().join(name));
    assert_eq!(sha("b.bin"), sha("a.bin"));
}
