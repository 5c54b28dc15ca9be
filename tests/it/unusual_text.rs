//! Text the user or a file hands us that is not plain: paths that are not UTF-8, and
//! names and titles holding control characters. Through the real binary, on small
//! synthetic data.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

/// A temp folder to run the binary in.
struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new() -> Self {
        Folder {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `mnist-mlp <sub>`, run in the folder.
    fn cmd(&self, sub: &str) -> assert_cmd::Command {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .arg(sub);
        cmd
    }

    /// A quick `train` on 12×12 synthetic data in `data` (relative to the folder).
    fn train(&self, data: &Path, weights: &Path) -> assert_cmd::Command {
        let mut cmd = self.cmd("train");
        cmd.arg("--offline")
            .arg("--data-dir")
            .arg(data)
            .arg("--weights")
            .arg(weights)
            .args(["--epochs", "3", "--hidden", "8", "--batch-size", "10"])
            .args(["--augment", "none"]);
        cmd
    }
}

/// Runs `cmd`, which must succeed without a warning, and returns its stdout.
fn quiet_success(cmd: &mut assert_cmd::Command) -> String {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}; stderr:\n{stderr}",
        output.status
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// The JSON object on the last line of `stdout`.
fn last_json(stdout: &str) -> Value {
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[cfg(unix)]
#[test]
fn paths_that_are_not_utf8_are_written_lossily_and_never_panic() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let folder = Folder::new();
    let data = PathBuf::from(OsStr::from_bytes(b"data\xfe"));
    let out = PathBuf::from(OsStr::from_bytes(b"out\xff"));
    fs::create_dir(folder.path(&data)).unwrap();
    fs::create_dir(folder.path(&out)).unwrap();
    common::write_synthetic_mnist(&folder.path(&data), 100, 50, 12);
    let weights = out.join("w.bin");
    let (lossy_data, lossy_weights) = ("data\u{fffd}", "out\u{fffd}/w.bin");

    // Three epochs: the checkpoint, which records the outputs, is written between them.
    let stdout = quiet_success(folder.train(&data, &weights).arg("--json"));
    let summary = last_json(&stdout);
    assert_eq!(summary["weights"], lossy_weights, "{summary}");
    assert_eq!(summary["data_name"], lossy_data, "{summary}");
    quiet_success(&mut folder.train(&data, &weights));
    let log = fs::read_to_string(folder.path("report/runs.jsonl")).unwrap();
    let records: Vec<Value> = log.lines().map(last_json).collect();
    assert_eq!(records.len(), 2, "one record per run:\n{log}");
    assert!(
        records.iter().all(|r| r["weights"] == lossy_weights),
        "{log}"
    );

    let tested = |sub: &str| {
        let mut cmd = folder.cmd(sub);
        cmd.arg("--offline")
            .arg("--data-dir")
            .arg(&data)
            .arg("--weights")
            .arg(&weights)
            .arg("--json");
        cmd
    };
    let evaluation = last_json(&quiet_success(&mut tested("evaluate-hw1")));
    assert_eq!(evaluation["weights"], lossy_weights, "{evaluation}");
    assert_eq!(evaluation["data_dir"], lossy_data, "{evaluation}");
    let analysis = last_json(&quiet_success(
        tested("analyze")
            .arg("--confusion")
            .arg(out.join("confusion.png"))
            .arg("--mistakes")
            .arg(out.join("mistakes.png")),
    ));
    assert_eq!(analysis["data_dir"], lossy_data, "{analysis}");
    assert_eq!(analysis["confusion_plot"], "out\u{fffd}/confusion.png");
    assert!(folder.path(out.join("confusion.png")).is_file());
}

/// How text outputs show the escape sequence of [`hostile_class_name`].
const SHOWN: &str = "\\u{1b}[2J";

/// A class name that would clear a terminal and, in a report, start a list item.
fn hostile_class_name(class: usize) -> String {
    format!("\u{1b}[2J{class}\n- item")
}

/// Asserts that `text` holds no raw control character but line breaks, and shows the
/// hostile class names escaped, their clear-screen sequence as `escaped`.
fn assert_names_escaped(text: &str, escaped: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reaches the output:\n{text:?}"
    );
    assert!(text.contains(escaped), "{text:?}");
    assert!(!text.lines().any(|l| l.starts_with("- item")), "{text}");
}

#[test]
fn control_characters_in_class_names_authors_and_titles_are_escaped() {
    use mnist_mlp::store::weights;

    let folder = Folder::new();
    fs::create_dir(folder.path("data")).unwrap();
    common::write_synthetic_mnist(&folder.path("data"), 100, 50, 28);
    quiet_success(&mut folder.train(Path::new("data"), Path::new("w.bin")));
    let mut run = weights::load(&folder.path("w.bin")).unwrap();
    run.data.class_names = (0..10).map(hostile_class_name).collect();
    weights::save(&folder.path("hostile.bin"), &run).unwrap();

    // A bright vertical bar on black, like the synthetic class 0.
    let image =
        image::GrayImage::from_fn(28, 28, |x, _| image::Luma([if x < 6 { 0 } else { 220 }]));
    image.save(folder.path("bar.png")).unwrap();
    let predicted =
        quiet_success(
            folder
                .cmd("predict")
                .args(["--weights", "hostile.bin", "bar.png"]),
        );
    assert_names_escaped(&predicted, SHOWN);
    assert_eq!(predicted.lines().count(), 1, "{predicted}");

    let analysed = quiet_success(folder.cmd("analyze").args([
        "--offline",
        "--data-dir",
        "data",
        "--weights",
        "hostile.bin",
    ]));
    assert_names_escaped(&analysed, SHOWN);

    quiet_success(folder.cmd("report").args([
        "--weights",
        "hostile.bin",
        "--author",
        "Ada Lovelace, 1\n- injected item",
        "--title",
        "A title\n# injected heading",
    ]));
    let markdown = fs::read_to_string(folder.path("report/report.md")).unwrap();
    // Markdown escapes the backslash and the bracket again, to show them as they are.
    assert_names_escaped(&markdown, "\\\\u{1b}\\[2J");
    assert!(
        !markdown
            .lines()
            .any(|l| l.starts_with("- injected") || l.starts_with("# injected")),
        "{markdown}"
    );
    assert!(
        markdown.contains("Ada Lovelace, 1\\\\n- injected item"),
        "{markdown}"
    );
}
