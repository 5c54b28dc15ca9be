//! Where `train` writes, through the real binary: symbolic links followed, temporary files
//! of killed writers cleaned up.

use crate::common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use mnist_mlp::store::weights;

/// The flags of a quick `train` on 12×12 synthetic data: two epochs of a 144-8-10 network.
const QUICK_TRAIN: [&str; 6] = ["--epochs", "2", "--hidden", "8", "--augment", "none"];

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

    /// A quick `train` ([`QUICK_TRAIN`]) in the folder, offline, with `extra` flags.
    fn train(&self, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mnist-mlp"));
        cmd.current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args(["train", "--offline", "--data-dir", "data"])
            .args(QUICK_TRAIN)
            .args(extra);
        cmd
    }

    /// Runs a quick `train` that must succeed; returns its stdout.
    fn train_ok(&self, extra: &[&str]) -> String {
        let out = self.train(extra).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", out.status);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
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
    w.train_ok(&["--weights", "w.bin", "--plot", "plot.png"]);
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
    w.train_ok(&["--weights", "out/w.bin"]);
    assert!(!stale.exists(), "the killed writer's file is still there");
    assert!(in_progress.exists(), "a running writer's file was removed");
    assert!(
        w.path("out/.tmp-other").exists(),
        "another program's file was removed"
    );
}
