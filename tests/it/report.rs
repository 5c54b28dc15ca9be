//! The run log that `train` appends to, and `mnist-mlp report`: the Markdown of the shipped
//! run and of synthetic runs, and with the `pdf` feature the PDF (at most two pages, the
//! authors and the accuracy in its text).

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;

const SHIPPED_WEIGHTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/weights/mnist-mlp.bin");
const SHIPPED_CONFUSION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plots/confusion.png");
const AUTHORS: [&str; 2] = ["Ada Lovelace, 000000001", "Alan Turing, 000000002"];

/// A temp folder with synthetic MNIST in `data/`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    common::write_synthetic_mnist(&dir.path().join("data"), 600, 200, 28);
    dir
}

fn mnist_mlp(dir: &Path) -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("mnist-mlp");
    cmd.current_dir(dir).env_remove("MNIST_DATA_DIR");
    cmd
}

/// A 2-epoch run on the synthetic data with `extra` flags; its JSON summary.
fn train(dir: &Path, extra: &[&str]) -> Value {
    let mut cmd = mnist_mlp(dir);
    cmd.args(["train", "--offline", "--data-dir", "data", "--json"])
        .args(["--epochs", "2", "--hidden", "16"])
        .args(extra);
    common::json_summary(&mut cmd)
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect()
}

#[test]
fn each_training_run_appends_one_well_formed_line_to_the_run_log() {
    let dir = workdir();
    let log = dir.path().join("report/runs.jsonl");
    let summary = train(dir.path(), &[]);
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 1, "the default log is report/runs.jsonl");
    let run = &lines[0];
    let stamp = run["timestamp"].as_str().unwrap();
    assert_eq!(stamp.len(), 20, "{stamp}");
    assert!(stamp.ends_with('Z') && &stamp[10..11] == "T", "{stamp}");
    assert_eq!(run["architecture"], "784-16-10 relu");
    assert_eq!(run["layer_sizes"], serde_json::json!([784, 16, 10]));
    assert_eq!(run["parameters"], 784 * 16 + 16 + 16 * 10 + 10);
    assert_eq!(run["dataset"], summary["dataset"]);
    assert_eq!(run["config"], summary["config"]);
    assert_eq!(
        (run["epochs_run"].as_u64(), run["kept_epoch"].as_u64()),
        (Some(2), Some(2))
    );
    for key in ["test_accuracy", "train_accuracy", "train_loss", "test_loss"] {
        assert_eq!(run[key], summary[key], "{key}");
    }
    assert_eq!(run["test_correct"], summary["test_correct"]);
    assert!(run["val_accuracy"].is_null());
    assert!(run["wall_seconds"].as_f64().unwrap() > 0.0);
    assert!(run["seconds_per_epoch"].as_f64().unwrap() > 0.0);
    assert_eq!(run["weights"], "weights/mnist-mlp.bin");
    let sha =
        mnist_mlp::io::digest::file_sha256(&dir.path().join("weights/mnist-mlp.bin")).unwrap();
    assert_eq!(run["weights_sha256"], sha.as_str());
    assert!(run["machine"]["cores"].as_u64().unwrap() >= 1);

    // A second run: a second line; the first is untouched.
    train(dir.path(), &["--lr", "0.05", "--weights", "b.bin"]);
    let again = log_lines(&log);
    assert_eq!(again.len(), 2);
    assert_eq!(again[0], lines[0]);
    assert_eq!(again[1]["config"]["learning_rate"], 0.05);
    assert_eq!(again[1]["weights"], "b.bin");

    // --run-log elsewhere.
    train(dir.path(), &["--run-log", "other/log.jsonl"]);
    assert_eq!(log_lines(&dir.path().join("other/log.jsonl")).len(), 1);
    assert_eq!(log_lines(&log).len(), 2);
}

#[test]
fn a_run_log_that_cannot_be_written_is_refused_before_training() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("blocker"),
        b"a file where a folder should be",
    )
    .unwrap();
    mnist_mlp(dir.path())
        .args(["train", "--offline", "--data-dir", "data", "--epochs", "1"])
        .args(["--hidden", "8", "--batch-size", "32"])
        .args(["--run-log", "blocker/runs.jsonl"])
        .assert()
        .failure()
        .stdout(predicate::str::contains("epoch").not())
        .stderr(predicate::str::contains(
            "error: --run-log: cannot create the folder blocker for blocker/runs.jsonl",
        ));
    assert!(!dir.path().join("weights").exists());
}

/// `mnist-mlp report` in `dir` with `args`; its stdout.
fn report(dir: &Path, args: &[&str]) -> String {
    let out = mnist_mlp(dir)
        .arg("report")
        .args(AUTHORS.iter().flat_map(|a| ["--author", a]))
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_report_of_the_shipped_run_has_every_section_and_the_runs_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(
        dir.path(),
        &[
            "--weights",
            SHIPPED_WEIGHTS,
            "--confusion",
            SHIPPED_CONFUSION,
            "--out-dir",
            "out",
        ],
    );
    let md = read(dir.path().join("out/report.md"));
    for section in [
        "## 1. The gradient of the softmax cross-entropy loss",
        "## 2. The model",
        "## 3. The training procedure",
        "## 4. Convergence and results",
        "## 5. Attempts and conclusions",
    ] {
        assert!(md.contains(section), "missing {section}\n{md}");
    }
    for author in AUTHORS {
        assert!(md.contains(author), "missing {author}");
    }
    // The derivation, in GitHub math.
    for formula in [
        r"\hat y_i (\delta_{ij} - \hat y_j)",
        r"= \hat y_j - y_j",
        r"\left(\delta_{k+1} W_{k+1}^{\top}\right) \odot \sigma'(z_k)",
        r"\frac{\partial L}{\partial W_k} = H_{k-1}^{\top} \Delta_k",
        r"\Delta_K = \tfrac{1}{B}(\hat Y - Y)",
    ] {
        assert!(md.contains(formula), "missing {formula}");
    }
    for function in [
        "`softmax_cross_entropy_backward`",
        "`dense_backward`",
        "`Activation::backward`",
        "`Mlp::backprop_to_first_layer`",
    ] {
        assert!(md.contains(function), "missing {function}");
    }
    // The shipped network: 784-256-10 ReLU, 203,530 parameters, 98.74% on the test set.
    for fact in [
        "| 1 (hidden) | 784 → 256 | ReLU |",
        "| 2 (output) | 256 → 10 | softmax |",
        "200,960",
        "**203,530**",
        "0.0505",
        "test accuracy 98.74%",
        "pixel / 255",
        "ChaCha8 stream seeded with 42",
    ] {
        assert!(md.contains(fact), "missing {fact}\n{md}");
    }
    // Its hyperparameters, from the weights file.
    for setting in [
        "| epochs | 20 |",
        "| hidden | 256 |",
        "| batch-size | 128 |",
        "| lr | 0.1 |",
        "| lr-schedule | cosine |",
        "| momentum | 0.9 |",
        "| augment | shift |",
    ] {
        assert!(md.contains(setting), "missing {setting}");
    }
    // No run log here: the time is unknown and the conclusions say there are too few runs.
    assert!(md.contains("wall time and machine are unknown"));
    assert!(md.contains("The run log holds no runs yet"));
    assert!(md.contains("too few to say"));
    // The pictures sit beside the Markdown, referenced relatively.
    assert!(md.contains("](accuracy.png)") && md.contains("](confusion.png)"));
    for picture in ["accuracy.png", "confusion.png"] {
        let png = std::fs::read(dir.path().join("out").join(picture)).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    assert!(out.contains("wrote out/report.md"), "{out}");
    let typ = read(dir.path().join("out/report.typ"));
    assert!(typ.contains("dot.circle") && typ.contains(r#"image("accuracy.png""#));
    check_pdf(dir.path(), &out, &["98.74%", "203,530"]);
}

#[test]
fn the_report_lists_the_runs_of_the_log_and_compares_them() {
    let dir = workdir();
    let a = train(dir.path(), &["--weights", "a.bin"]);
    train(dir.path(), &["--weights", "b.bin", "--lr", "0.02"]);
    let c = train(dir.path(), &["--weights", "c.bin", "--seed", "7"]);
    // No confusion picture here: that part is left out.
    let out = report(dir.path(), &["--weights", "c.bin"]);
    let md = read(dir.path().join("report/report.md"));
    assert!(md.contains("The run log holds 3 runs."), "{md}");
    assert!(md.contains("| **3 (this)** |"), "{md}");
    assert!(md.contains("`--epochs 2 --hidden 16 --lr 0.02`"), "{md}");
    assert!(md.contains("`--epochs 2 --hidden 16 --seed 7`"), "{md}");
    let accuracy = format!("{:.2}%", 100.0 * c["test_accuracy"].as_f64().unwrap());
    assert!(md.contains(&format!("test accuracy {accuracy}")), "{md}");
    assert!(md.contains("per the run log"), "{md}");
    assert!(
        md.contains("--lr 0.05 → 0.02 moved test accuracy by"),
        "{md}"
    );
    // Runs 1 and 3 differ in the seed only.
    let seed_effect =
        (c["test_accuracy"].as_f64().unwrap() - a["test_accuracy"].as_f64().unwrap()).abs();
    let expected = match seed_effect {
        0.0 => "Changing only the seed did not move it".to_string(),
        d => format!(
            "Changing only the seed moved it by up to {:.2} points",
            100.0 * d
        ),
    };
    assert!(md.contains(&expected), "{expected}\n{md}");
    assert!(md.contains("**Conclusions.** The network"), "{md}");
    assert!(!md.contains("confusion.png"));
    check_pdf(dir.path(), &out, &[&accuracy]);
}

#[test]
fn the_report_ranks_the_settings_a_sweep_compared_on_validation_images() {
    let dir = workdir();
    mnist_mlp(dir.path())
        .args([
            "sweep",
            "--offline",
            "--data-dir",
            "data",
            "--val-split",
            "100",
        ])
        .args(["--base", "--epochs 2 --hidden 16", "--seeds", "3,4"])
        .args(["--vary", "--lr 0.02 | --lr 0.2"])
        .assert()
        .success();
    let log = dir.path().join("report/sweeps.jsonl");
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 4);
    // A run on another data set, in the same log, is left out of this report; a setting and
    // seed logged again (e.g. by another version) counts once, with its latest figures.
    let mut other = lines[0].clone();
    other["dataset"] = "fashion-mnist".into();
    let mut again = lines[0].clone();
    again["val_accuracy"] = 0.5.into();
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&format!("{other}\n{again}\n"));
    std::fs::write(&log, text).unwrap();
    let mut lines = lines;
    lines[0] = again;
    // The ranking, worked out here from the log.
    let mean = |lr: f64| {
        let runs = lines.iter().filter(|r| r["config"]["learning_rate"] == lr);
        let accuracies: Vec<f64> = runs.map(|r| r["val_accuracy"].as_f64().unwrap()).collect();
        assert_eq!(accuracies.len(), 2);
        accuracies.iter().sum::<f64>() / 2.0
    };
    let (first, second) = match mean(0.2) > mean(0.02) {
        true => (0.2, 0.02),
        false => (0.02, 0.2),
    };
    let label = |lr: f64| format!("--epochs 2 --hidden 16 --lr {lr} --val-split 100");

    // The reported network has the second setting, with a seed the sweep did not run.
    train(
        dir.path(),
        &[
            "--lr",
            &second.to_string(),
            "--val-split",
            "100",
            "--seed",
            "9",
        ],
    );
    let out = report(dir.path(), &[]);
    let md = read(dir.path().join("report/report.md"));
    assert!(
        md.contains("4 runs of `mnist-mlp sweep` on this data set compared 2 settings."),
        "{md}"
    );
    assert!(md.contains("held out 100 of the training images"), "{md}");
    let row =
        |rank: usize, lr: f64| format!("| {rank} | `{}` | {:.2}% |", label(lr), 100.0 * mean(lr));
    assert!(md.contains(&row(1, first)), "{}\n{md}", row(1, first));
    assert!(md.contains(&row(2, second)), "{}\n{md}", row(2, second));
    assert!(
        md.contains(&format!("the sweep ranked first {} (", label(first))),
        "{md}"
    );
    assert!(
        md.contains("The network reported here has the setting ranked 2."),
        "{md}"
    );
    check_pdf(dir.path(), &out, &[]);
}

#[test]
fn report_of_a_missing_weights_file_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    mnist_mlp(dir.path())
        .args(["report", "--weights", "nothing.bin"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("nothing.bin").and(predicate::str::contains("panicked").not()),
        );
    assert!(!dir.path().join("report/report.md").exists());
}

/// Without the feature: no PDF, and the command says how to get one.
#[cfg(not(feature = "pdf"))]
fn check_pdf(dir: &Path, stdout: &str, _texts: &[&str]) {
    assert!(stdout.contains("--features pdf"), "{stdout}");
    let folders = [dir.join("out"), dir.join("report")];
    assert!(folders.iter().all(|f| !f.join("report.pdf").exists()));
}

/// With the feature: a PDF of at most two pages whose text holds the authors and `texts`.
#[cfg(feature = "pdf")]
fn check_pdf(dir: &Path, stdout: &str, texts: &[&str]) {
    let folder = [dir.join("out"), dir.join("report")]
        .into_iter()
        .find(|f| f.join("report.pdf").is_file())
        .expect("report.pdf written");
    let path = folder.join("report.pdf");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    assert!(bytes.len() < 500_000, "{} bytes", bytes.len());
    let pages = stdout
        .lines()
        .find_map(|l| l.strip_suffix(" pages)").or(l.strip_suffix(" page)")))
        .and_then(|l| l.rsplit('(').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no page count in {stdout}"));
    assert!((1..=2).contains(&pages), "{pages} pages");
    match std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.matches('\u{c}').count(), pages, "form feeds = pages");
            for wanted in AUTHORS.iter().chain(texts) {
                assert!(
                    text.contains(wanted),
                    "the PDF's text lacks {wanted}:\n{text}"
                );
            }
        }
        _ => {
            eprintln!(
                "*** pdftotext IS MISSING (apt-get install poppler-utils): the text of {} \
                 was NOT checked for the authors and the accuracy ***",
                path.display()
            );
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs pdftotext to check the PDF's text"
            );
        }
    }
}

/// Students' names for the hand-in, which refuses the documentation's examples.
const STUDENTS: [&str; 2] = ["Grace Hopper, 300000001", "Edsger Dijkstra, 300000002"];

/// `mnist-mlp handin` in `dir`, handing in this crate's code.
fn handin(dir: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    mnist_mlp(dir)
        .args(["handin", "--project", env!("CARGO_MANIFEST_DIR")])
        .args(extra)
        .assert()
}

#[test]
fn handin_refuses_without_students_and_writes_nothing() {
    let dir = workdir();
    train(dir.path(), &[]);
    handin(dir.path(), &[])
        .failure()
        .stderr(predicate::str::contains("--author \"Full Name, ID\""));
    handin(
        dir.path(),
        &["--author", STUDENTS[0], "--author", AUTHORS[1]],
    )
    .failure()
    .stderr(predicate::str::contains("the documentation's example"));
    assert!(!dir.path().join("hw1.zip").exists());
}

#[cfg(not(feature = "pdf"))]
#[test]
fn handin_without_the_pdf_feature_says_how_to_build_it() {
    let dir = workdir();
    train(dir.path(), &[]);
    handin(
        dir.path(),
        &["--author", STUDENTS[0], "--author", STUDENTS[1]],
    )
    .failure()
    .stderr(predicate::str::contains(
        "cargo run --release --features pdf -- handin",
    ));
    assert!(!dir.path().join("hw1.zip").exists());
}

#[cfg(feature = "pdf")]
#[test]
fn handin_refuses_a_missing_network_and_a_report_over_two_pages() {
    let dir = workdir();
    let students = ["--author", STUDENTS[0], "--author", STUDENTS[1]];
    handin(dir.path(), &students)
        .failure()
        .stderr(predicate::str::contains("weights/mnist-mlp.bin"));
    train(dir.path(), &[]);
    mnist_mlp(dir.path())
        .args(["handin", "--project", "data"])
        .args(students)
        .assert()
        .failure()
        .stderr(predicate::str::contains("not the mnist-mlp project folder"));
    let title = "A title long enough to push the report past its two pages. ".repeat(150);
    handin(dir.path(), &[&students[..], &["--title", &title]].concat())
        .failure()
        .stderr(predicate::str::contains("the homework allows 2"));
    assert!(!dir.path().join("hw1.zip").exists());
}

#[cfg(feature = "pdf")]
#[test]
fn handin_builds_the_zip_the_course_asks_for() {
    use std::io::Read;
    let dir = workdir();
    train(dir.path(), &[]);
    let out = handin(
        dir.path(),
        &[
            "--author",
            STUDENTS[0],
            "--author",
            STUDENTS[1],
            "--output",
            "hw1.zip",
        ],
    )
    .success()
    .stderr(predicate::str::contains("pairs").not());
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.starts_with("wrote hw1.zip: report.pdf ("),
        "{stdout}"
    );

    let file = std::fs::File::open(dir.path().join("hw1.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(
        names[..4],
        [
            "report.pdf",
            "weights.pkl",
            "evaluate_hw1.py",
            "HOW_TO_RUN.txt"
        ]
    );
    for code in [
        "code/Cargo.toml",
        "code/Cargo.lock",
        "code/README.md",
        "code/src/main.rs",
        "code/src/handin.rs",
        "code/benches/kernels.rs",
    ] {
        assert!(names.iter().any(|n| n == code), "{code} missing: {names:?}");
    }
    let mut read = |name: &str| {
        let mut bytes = Vec::new();
        zip.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
        bytes
    };
    let how = String::from_utf8(read("HOW_TO_RUN.txt")).unwrap();
    assert!(
        how.contains("cargo run --release -- train --epochs 2 --hidden 16 "),
        "{how}"
    );
    assert!(read("report.pdf").starts_with(b"%PDF"));
    let folder = dir.path().join("handed-in");
    std::fs::create_dir(&folder).unwrap();
    for name in ["weights.pkl", "evaluate_hw1.py"] {
        std::fs::write(folder.join(name), read(name)).unwrap();
    }
    assert!(
        read("weights.pkl").starts_with(b"PK"),
        "a torch zip checkpoint"
    );
    drop(zip);

    // The script, run as the grader would with the test files beside it, prints what
    // `evaluate-hw1` prints.
    let Some(python) = crate::export::python::python_with_numpy("handin_builds_the_zip") else {
        return;
    };
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(dir.path().join("data").join(name), folder.join(name)).unwrap();
    }
    let graded = std::process::Command::new(python)
        .arg("evaluate_hw1.py")
        .current_dir(&folder)
        .output()
        .unwrap();
    assert!(graded.status.success(), "{graded:?}");
    let ours = mnist_mlp(dir.path())
        .args(["evaluate-hw1", "--offline", "--data-dir", "data"])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&graded.stdout).trim(),
        String::from_utf8_lossy(&ours.get_output().stdout).trim()
    );
}

#[cfg(feature = "pdf")]
#[test]
fn handin_with_one_author_warns_that_the_homework_is_done_in_pairs() {
    let dir = workdir();
    train(dir.path(), &[]);
    handin(dir.path(), &["--author", STUDENTS[0]])
        .success()
        .stderr(predicate::str::contains("the homework is done in pairs"));
    assert!(dir.path().join("hw1.zip").is_file());
}
