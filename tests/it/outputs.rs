//! Where `train` writes, through the real binary: symbolic links followed, temporary files
//! of killed writers cleaned up, the run log's hash of the weights this run wrote, an
//! unfinished run's checkpoint kept from a new run, files written when stdout is closed.

use crate::common;

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use mnist_mlp::store::weights;

/// The flags of a quick `train` on 12×12 synthetic data: two epochs of 10 steps of a
/// 144-8-10 network (later flags override them).
const QUICK_TRAIN: [&str; 8] = [
    "--epochs",
    "2",
    "--hidden",
    "8",
    "--batch-size",
    "10",
    "--augment",
    "none",
];

/// A temp folder with small synthetic MNIST in `data/`.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        common::write_synthetic_mnist(&dir.path().join("data"), 100, 50, 12);
        Workdir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `train` in the folder, offline, on its data, with `args`.
    fn bare_train(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mnist-mlp"));
        cmd.current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args(["train", "--data-dir", "data", "--offline"])
            .args(args);
        cmd
    }

    /// A quick `train` ([`QUICK_TRAIN`]) with `extra` flags.
    fn train(&self, extra: &[&str]) -> Command {
        let mut cmd = self.bare_train(&QUICK_TRAIN);
        cmd.args(extra);
        cmd
    }
}

/// Runs `cmd`, which must succeed.
fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
}

#[cfg(unix)]
#[test]
fn a_symlinked_output_has_its_target_replaced() {
    let w = Workdir::new();
    fs::create_dir(w.path("store")).unwrap();
    fs::write(w.path("store/w.bin"), b"old weights").unwrap();
    std::os::unix::fs::symlink("store/w.bin", w.path("w.bin")).unwrap();
    // A dangling link is a file to create, where it points.
    std::os::unix::fs::symlink("store/plot.png", w.path("plot.png")).unwrap();
    run_ok(&mut w.train(&["--weights", "w.bin", "--plot", "plot.png"]));
    for link in ["w.bin", "plot.png"] {
        assert!(
            fs::symlink_metadata(w.path(link)).unwrap().is_symlink(),
            "{link}"
        );
    }
    weights::load(&w.path("store/w.bin")).unwrap();
    image::open(w.path("store/plot.png")).unwrap();
}

/// The temporary file a writer of ours would leave in `folder` if killed while process
/// `pid` wrote.
fn left_temp_file(folder: &std::path::Path, pid: u32) -> PathBuf {
    let path = folder.join(format!(".tmp-mnist-mlp-{pid}-Xy12Zw"));
    fs::write(&path, b"half a file").unwrap();
    path
}

#[test]
fn temporary_files_of_killed_writers_are_removed_on_the_next_write() {
    if !std::path::Path::new("/proc/self").exists() {
        eprintln!("SKIPPED: no /proc here to tell which processes still run");
        return;
    }
    let w = Workdir::new();
    fs::create_dir(w.path("out")).unwrap();
    let mut ended = Command::new("true").spawn().unwrap();
    let ended_pid = ended.id();
    ended.wait().unwrap();
    let stale = left_temp_file(&w.path("out"), ended_pid);
    // Still being written by a running process (this one), and another program's file.
    let in_progress = left_temp_file(&w.path("out"), std::process::id());
    fs::write(w.path("out/.tmp-other"), b"not ours").unwrap();
    run_ok(&mut w.train(&["--weights", "out/w.bin"]));
    assert!(!stale.exists(), "the killed writer's file is still there");
    assert!(in_progress.exists(), "a running writer's file was removed");
    assert!(
        w.path("out/.tmp-other").exists(),
        "another program's file was removed"
    );
}

#[test]
fn the_run_log_hashes_the_weights_this_run_wrote_not_the_file_found_at_its_end() {
    let w = Workdir::new();
    let mut cmd = w.train(&["--epochs", "3", "--weights", "w.bin", "--json"]);
    let (mut child, rest) = common::start_until(&mut cmd, "epoch   3/3");
    // The line comes before the last weights are written: wait for them (renamed into
    // place whole, so each read is one version or the other).
    let written = (0..10_000)
        .find_map(|_| {
            let bytes = fs::read(w.path("w.bin")).unwrap();
            let last = weights::decode(&bytes).is_ok_and(|run| run.history.len() == 3);
            std::thread::sleep(Duration::from_millis(1));
            last.then(|| common::sha256_of_bytes(&bytes))
        })
        .expect("the weights of epoch 3 were never written");
    // Another run's weights land at the same path while this one finishes.
    fs::write(w.path("other.bin"), b"another run's weights").unwrap();
    fs::rename(w.path("other.bin"), w.path("w.bin")).unwrap();
    let last = rest.last().unwrap_or_default();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(summary["weights_sha256"], written.as_str(), "{last}");
    let log = fs::read_to_string(w.path("report/runs.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(record["weights_sha256"], written.as_str(), "{log}");
}

#[cfg(unix)]
#[test]
fn a_new_run_keeps_the_checkpoint_of_an_unfinished_one_and_says_how_to_resume() {
    let w = Workdir::new();
    // Stopped by Ctrl-C after its first epoch, long before its last.
    let mut cmd = w.train(&["--epochs", "60", "--weights", "w.bin"]);
    let (mut child, rest) = common::start_until(&mut cmd, "epoch   1/60");
    common::send_signal(&child, "-INT");
    rest.for_each(drop);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let saved = common::sha256_of(&w.path("w.ckpt"));

    let out = w.train(&["--weights", "w.bin"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: w.ckpt holds the checkpoint of an unfinished run"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "continue it with `mnist-mlp train --resume w.ckpt --data-dir data --offline`"
        ) && stderr.contains("or delete w.ckpt to start a new run"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("epoch"));
    assert_eq!(common::sha256_of(&w.path("w.ckpt")), saved);

    // The advice works: resumed, the run finishes and its checkpoint goes.
    run_ok(&mut w.bare_train(&["--resume", "w.ckpt"]));
    assert!(!w.path("w.ckpt").exists());
    assert_eq!(weights::load(&w.path("w.bin")).unwrap().history.len(), 60);
    // With no checkpoint in the way, a new run starts.
    run_ok(&mut w.train(&["--weights", "w.bin"]));
}

#[test]
fn a_closed_stdout_does_not_stop_train_writing_its_files() {
    let w = Workdir::new();
    let mut child = w
        .train(&["--weights", "w.bin", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the first line, as in `mnist-mlp train … | true`.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert_eq!(weights::load(&w.path("w.bin")).unwrap().history.len(), 2);
    image::open(w.path("plots/accuracy.png")).unwrap();
    let csv = fs::read_to_string(w.path("plots/metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let log = fs::read_to_string(w.path("report/runs.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
}

#[test]
fn a_finished_run_leaves_another_runs_checkpoint_at_its_path() {
    let w = Workdir::new();
    let mut cmd = w.train(&["--epochs", "3", "--weights", "w.bin"]);
    let (mut child, rest) = common::start_until(&mut cmd, "epoch   3/3");
    // This run's last checkpoint came before its last epoch; another run's takes its place.
    fs::write(w.path("other.ckpt"), b"another run's checkpoint").unwrap();
    fs::rename(w.path("other.ckpt"), w.path("w.ckpt")).unwrap();
    rest.for_each(drop);
    assert!(child.wait().unwrap().success());
    assert_eq!(
        fs::read(w.path("w.ckpt")).unwrap(),
        b"another run's checkpoint"
    );
}
