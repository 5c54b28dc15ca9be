//! Training that fails well: divergence, Ctrl-C and `--resume`, outputs that survive
//! `kill -9`, and bit-identical reruns, checked on the real binary (and the library) with
//! synthetic data.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mnist_mlp::data::images::LabeledImages;
use mnist_mlp::data::input::BatchForm;
use mnist_mlp::data::names::Split;
use mnist_mlp::model::Classifier;
use mnist_mlp::nn::rng::SeededRng;
use mnist_mlp::store::checkpoint;
use mnist_mlp::store::weights;
use mnist_mlp::train::config::TrainConfig;
use mnist_mlp::train::metrics::{EpochMetrics, EpochTiming};
use mnist_mlp::train::progress::Progress;
use mnist_mlp::train::{ObserverError, TrainError, TrainObserver, train, train_from};

const BIN: &str = env!("CARGO_BIN_EXE_mnist-mlp");

/// A temp folder with synthetic MNIST of `n_train` training images in `data/`.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(n_train: usize) -> Self {
        Self::with_noise(n_train, true)
    }
    /// Data whose background is noise (dense inputs), or clean (sparse inputs).
    fn with_noise(n_train: usize, noise: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        common::write_synthetic_mnist_with(&dir.path().join("data"), n_train, 200, 28, noise);
        Workdir { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// `mnist-mlp train --offline --data-dir data <args>`, run in the folder.
    fn train(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args(["train", "--offline", "--data-dir", "data"])
            .args(args);
        cmd
    }
    /// Runs it to the end: (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.train(args).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }
    fn run_ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, Some(0), "{args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }
    fn sha256(&self, name: &str) -> String {
        common::sha256_of(&self.path(name))
    }
}

#[test]
fn divergence_names_the_epoch_and_lr_and_keeps_the_last_good_weights() {
    let w = Workdir::new(600);
    w.run_ok(&["--epochs", "2", "--hidden", "32", "--weights", "w.bin"]);
    let good = w.sha256("w.bin");
    let (code, stdout, stderr) = w.run(&[
        "--epochs",
        "2",
        "--hidden",
        "32",
        "--weights",
        "w.bin",
        "--lr",
        "100",
    ]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("in epoch 1 (batch ")
            && stderr.contains("training diverged; try a smaller --lr (now 100)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        w.sha256("w.bin"),
        good,
        "the last good weights were replaced"
    );
    weights::load(&w.path("w.bin")).unwrap();
    // No epoch finished: nothing to resume from, and nothing NaN written anywhere.
    assert!(!w.path("w.ckpt").exists());
    // Without an earlier file, none is written.
    let (code, _, _) = w.run(&["--hidden", "32", "--weights", "fresh.bin", "--lr", "100"]);
    assert_eq!(code, Some(1));
    assert!(!w.path("fresh.bin").exists());
}

/// A run that exercises every random stream: shuffling, affine augmentation, dropout, the
/// validation split; and Adam's state.
const RUN: [&str; 16] = [
    "--epochs",
    "4",
    "--hidden",
    "128",
    "--batch-size",
    "16",
    "--augment",
    "affine",
    "--dropout",
    "0.2",
    "--optimizer",
    "adam",
    "--lr",
    "0.002",
    "--val-split",
    "300",
];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    RUN.iter().copied().chain(extra.iter().copied()).collect()
}

#[test]
fn interrupted_by_sigint_or_killed_then_resumed_gives_the_same_weights_sha256() {
    let w = Workdir::new(3000);
    w.run_ok(&with(&["--weights", "a.bin"]));
    let uninterrupted = w.sha256("a.bin");

    // Ctrl-C once the first epoch is reported.
    let mut cmd = w.train(&with(&["--weights", "b.bin"]));
    let (mut child, rest) = common::start_until(&mut cmd, "epoch   1/4");
    // A moment later, so that it usually lands mid-epoch (any moment must do).
    std::thread::sleep(Duration::from_millis(20));
    common::send_signal(&child, "-INT");
    rest.for_each(drop);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopped by SIGINT") && stderr.contains("mnist-mlp train --resume b.ckpt"),
        "{stderr}"
    );
    eprintln!("interrupted: {}", stderr.trim());
    let saved = checkpoint::load(&w.path("b.ckpt")).unwrap();
    assert!(saved.progress.epoch >= 2, "{:?}", saved.progress.epoch);
    // The weights of a finished epoch (the best on the validation images) are on disk.
    let partial = weights::load(&w.path("b.bin")).unwrap();
    assert!((1..saved.progress.epoch).contains(&partial.history.len()));

    // Other data is refused, naming both.
    std::fs::create_dir(w.path("other")).unwrap();
    common::write_synthetic_mnist(&w.path("other"), 2000, 200, 28);
    let (code, _, stderr) = w.run(&["--resume", "b.ckpt", "--data-dir", "other"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("3000 training") && stderr.contains("but the data here is"),
        "{stderr}"
    );
    assert!(stderr.contains("2000 training"), "{stderr}");
    // Flags that would change the run are refused; the checkpoint stays.
    let (code, _, stderr) = w.run(&["--resume", "b.ckpt", "--lr", "0.5", "--seed", "3"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("leave out --lr, --seed"), "{stderr}");
    let stdout = w.run_ok(&["--resume", "b.ckpt"]);
    assert!(stdout.contains("resuming from b.ckpt"), "{stdout}");
    assert_eq!(w.sha256("b.bin"), uninterrupted, "SIGINT + resume differs");
    assert!(
        !w.path("b.ckpt").exists(),
        "a finished run keeps its checkpoint"
    );

    // kill -9 after the second epoch: resume from the end-of-epoch checkpoint left.
    let mut cmd = w.train(&with(&["--weights", "c.bin"]));
    let (mut child, _rest) = common::start_until(&mut cmd, "epoch   2/4");
    child.kill().unwrap();
    child.wait().unwrap();
    let saved = checkpoint::load(&w.path("c.ckpt")).unwrap();
    assert_eq!(saved.progress.batches_done, 0, "an end-of-epoch checkpoint");
    w.run_ok(&["--resume", "c.ckpt"]);
    assert_eq!(w.sha256("c.bin"), uninterrupted, "SIGKILL + resume differs");
}

#[test]
fn a_checkpoint_with_a_changed_bit_is_refused_and_one_without_a_checksum_resumes() {
    let w = Workdir::new(3000);
    // kill -9 after the second epoch: an end-of-epoch checkpoint stays.
    let mut cmd = w.train(&with(&["--weights", "a.bin"]));
    let (mut child, _rest) = common::start_until(&mut cmd, "epoch   2/4");
    child.kill().unwrap();
    child.wait().unwrap();
    let bytes = std::fs::read(w.path("a.ckpt")).unwrap();
    assert_eq!(bytes[8..12], checkpoint::FORMAT_VERSION.to_le_bytes());

    // One bit of the float data (the weights and the optimizer's state fill most of it).
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x01;
    std::fs::write(w.path("flipped.ckpt"), &flipped).unwrap();
    let (code, stdout, stderr) = w.run(&["--resume", "flipped.ckpt"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.starts_with("error: flipped.ckpt: truncated or corrupt checkpoint")
            && stderr.contains("its contents do not match its checksum"),
        "{stderr}"
    );

    // The same checkpoint as version 3 wrote it resumes, unverified, with a note.
    let old = common::without_checksum(&bytes, checkpoint::FORMAT_VERSION - 1);
    std::fs::write(w.path("a.ckpt"), old).unwrap();
    let (code, stdout, stderr) = w.run(&["--resume", "a.ckpt"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("note: a.ckpt has no checksum (checkpoint version 3;"),
        "{stderr}"
    );
}

/// Stops training once, after `after` batches of epoch `epoch` (0: before the epoch's
/// first batch, right after the epoch before it), and keeps the checkpoint it is handed.
struct StopAt {
    epoch: usize,
    after: usize,
    batches_seen: usize,
    epochs_done: usize,
    saved: Option<Progress>,
}

impl TrainObserver for StopAt {
    fn batch_done(&mut self, done: usize, _total: usize) {
        self.batches_seen = done;
    }
    fn epoch_done(
        &mut self,
        _: &Classifier,
        history: &[EpochMetrics],
        _: EpochTiming,
        _: bool,
    ) -> Result<(), ObserverError> {
        self.epochs_done = history.len();
        self.batches_seen = 0;
        Ok(())
    }
    fn stop_requested(&mut self) -> bool {
        self.saved.is_none()
            && self.epochs_done + 1 == self.epoch
            && self.batches_seen == self.after
    }
    fn checkpoint(&mut self, progress: &Progress) -> Result<(), ObserverError> {
        self.saved = Some(progress.clone());
        Ok(())
    }
}

fn synthetic(count: usize, seed: u64) -> LabeledImages {
    let (images, labels) = common::synthetic_images(count, 12, seed);
    LabeledImages { images, labels }
}

#[test]
fn resuming_mid_epoch_continues_exactly() {
    use mnist_mlp::data::augment::Augment;
    use mnist_mlp::nn::optim::OptimizerKind;
    use mnist_mlp::nn::schedule::Schedule;
    let (train_set, test_set) = (synthetic(500, 1), synthetic(100, 2));
    let configs = [
        // Wide enough to leave chance within three epochs through elastic distortions and
        // dropout on 12×12 images.
        TrainConfig {
            epochs: 3,
            hidden: vec![64, 32],
            batch_size: 32,
            optimizer: OptimizerKind::Adamw,
            learning_rate: 0.005,
            weight_decay: 0.01,
            dropout: 0.2,
            augment: Augment::Elastic,
            val_split: 100,
            ..TrainConfig::default()
        },
        TrainConfig {
            epochs: 3,
            hidden: vec![24],
            batch_size: 50,
            optimizer: OptimizerKind::Nesterov,
            lr_schedule: Schedule::Onecycle,
            clip_grad_norm: Some(1.0),
            max_norm: Some(3.0),
            label_smoothing: 0.1,
            augment: Augment::Shift,
            ..TrainConfig::default()
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    for config in configs {
        let whole = train(&config, &train_set, &test_set, 10, &mut common::Quiet).unwrap();
        // Mid-epoch, and at an epoch's start.
        for (epoch, after) in [(2, 3), (3, 1), (2, 0)] {
            let mut stop = StopAt {
                epoch,
                after,
                batches_seen: 0,
                epochs_done: 0,
                saved: None,
            };
            let err = train(&config, &train_set, &test_set, 10, &mut stop).err();
            assert!(
                matches!(err, Some(TrainError::Interrupted { .. })),
                "{err:?}"
            );
            let progress = stop.saved.expect("a checkpoint when stopped");
            // Through the file, as the command does.
            let path = dir.path().join("c.ckpt");
            let run = checkpoint::RunInfo {
                version: String::new(),
                config: config.clone(),
                train_metrics: config.train_metrics,
                data: mnist_mlp::data::source::DataInfo::mnist(),
                fingerprint: checkpoint::DataFingerprint::of(&train_set, &test_set),
                weights: "w".into(),
                plot: "p".into(),
                metrics: "m".into(),
            };
            checkpoint::save(&path, &run, &progress).unwrap();
            let progress = checkpoint::load(&path).unwrap().progress;
            let resumed = train_from(
                &config,
                &train_set,
                &test_set,
                10,
                Some(progress),
                &mut common::Quiet,
            )
            .unwrap();
            assert_eq!(resumed.classifier, whole.classifier, "{epoch} {after}");
            assert_eq!(resumed.history, whole.history);
            assert_eq!(resumed.kept_epoch, whole.kept_epoch);
        }
    }
}

#[test]
fn same_seed_gives_the_same_sha256_for_any_thread_count() {
    // The first layer's dense path on data with a noisy background, its sparse path on data
    // with a clean one.
    for noise in [true, false] {
        let w = Workdir::with_noise(600, noise);
        let train_set = common::load_mnist(&w.path("data"), Split::Train).unwrap();
        let form = BatchForm::for_images(&train_set.images);
        assert_eq!(matches!(form, BatchForm::Sparse { .. }), !noise, "{form:?}");
        same_seed_gives_the_same_sha256_for_any_thread_count_on(w);
    }
}

fn same_seed_gives_the_same_sha256_for_any_thread_count_on(w: Workdir) {
    // Batches of 256 are 4 shards; elastic distortions and dropout draw random numbers.
    let run = |name: &str, threads: &str, seed: &str| {
        w.run_ok(&[
            "--epochs",
            "3",
            "--hidden",
            "32",
            "--batch-size",
            "256",
            "--augment",
            "elastic",
            "--dropout",
            "0.2",
            "--seed",
            seed,
            "--threads",
            threads,
            "--weights",
            name,
        ]);
        w.sha256(name)
    };
    let reference = run("a.bin", "2", "5");
    assert_eq!(run("b.bin", "2", "5"), reference, "same seed and threads");
    assert_eq!(run("t1.bin", "1", "5"), reference, "1 thread");
    assert_eq!(run("t3.bin", "3", "5"), reference, "3 threads");
    assert_ne!(run("other.bin", "2", "6"), reference, "another seed");
}

/// Checks what a killed run left in the folder: every output loads, and nothing else is
/// there but hidden temporary files. Returns how many of those there are.
fn check_outputs(dir: &Path) -> usize {
    let weights_path = dir.join("out/w.bin");
    if weights_path.exists() {
        weights::load(&weights_path).unwrap();
    }
    let ckpt = dir.join("out/w.ckpt");
    if ckpt.exists() {
        checkpoint::load(&ckpt).unwrap();
    }
    let csv = dir.join("out/m.csv");
    if csv.exists() {
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("epoch,train_loss"));
        for (i, line) in lines.enumerate() {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 12, "{line}");
            assert_eq!(fields[0].parse::<usize>().unwrap(), i + 1);
            for f in [1, 2, 3, 4, 7, 8, 9, 10, 11] {
                fields[f].parse::<f64>().unwrap();
            }
        }
    }
    let png_path = dir.join("out/p.png");
    if png_path.exists() {
        image::open(&png_path).unwrap();
    }
    let mut temporaries = 0;
    for entry in std::fs::read_dir(dir.join("out")).into_iter().flatten() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with(".tmp-") {
            temporaries += 1;
        } else {
            assert!(
                ["w.bin", "w.ckpt", "m.csv", "p.png"].contains(&name.as_str()),
                "unexpected file {name}"
            );
        }
    }
    temporaries
}

#[test]
fn outputs_survive_kill_9_at_any_moment() {
    let w = Workdir::new(600);
    let outputs = [
        "--weights",
        "out/w.bin",
        "--plot",
        "out/p.png",
        "--metrics",
        "out/m.csv",
    ];
    let mut rng = SeededRng::new(2024);
    let kills = 40;
    let (mut survived, mut resumed, mut temporaries) = (0, 0, 0);
    for i in 0..kills {
        // Every third run continues the checkpoint the last one left, when there is one.
        let resume = i % 3 == 2 && w.path("out/w.ckpt").exists();
        let mut cmd = if resume {
            resumed += 1;
            w.train(&["--resume", "out/w.ckpt"])
        } else {
            // A new run refuses to overwrite an unfinished run's checkpoint: delete it, as
            // the refusal says.
            let _ = std::fs::remove_file(w.path("out/w.ckpt"));
            let mut args = vec!["--epochs", "5000", "--hidden", "32", "--augment", "none"];
            args.extend(outputs);
            w.train(&args)
        };
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = 50 + rng.below(700) as u64;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        temporaries = check_outputs(w.dir.path());
        survived += 1;
    }
    eprintln!(
        "kill -9: {survived} of {kills} kills left loadable outputs ({resumed} of the runs \
         resumed a checkpoint); {temporaries} temporary files left by killed writers"
    );
    assert!(
        w.path("out/w.bin").exists(),
        "no run got as far as an epoch"
    );
    assert!(temporaries <= kills, "{temporaries} temporary files");
}
