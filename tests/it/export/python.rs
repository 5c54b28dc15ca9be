//! The exports work from Python: NumPy loads the shipped network exported as .npz (without
//! pickle) and as .safetensors (parsed by hand), prepares the real MNIST test images from the
//! metadata, and predicts what mnist-mlp predicts.
//!
//! Needs a Python with NumPy (`MNIST_MLP_PYTHON`, else `python3`) and the real MNIST files
//! (`MNIST_DATA_DIR`, or `data/mnist`). Without either the test says so loudly and passes, except under CI
//! (the `CI` variable set), where it fails.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;
use mnist_mlp::data::images::{Images, LabeledImages};
use mnist_mlp::data::names::{Split, TEST_IMAGES, TEST_LABELS, find_file};
use mnist_mlp::nn::mlp::argmax;

/// How many test images Python classifies.
const COUNT: usize = 1000;
/// The largest difference allowed between NumPy's and mnist-mlp's probabilities.
const TOLERANCE: f64 = 1e-4;

/// The Python to run (`MNIST_MLP_PYTHON`, else `python3`) if it can import NumPy; otherwise
/// `None` after saying loudly that the test did not run. Under CI it fails instead.
pub(crate) fn python_with_numpy(test: &str) -> Option<String> {
    python_importing(test, "numpy")
}

/// The Python to run (`MNIST_MLP_PYTHON`, else `python3`) if it runs and can import
/// `module` (a standard-library one needs no more than a Python); otherwise `None` after
/// saying loudly that the test did not run. Under CI it fails instead.
pub(super) fn python_importing(test: &str, module: &str) -> Option<String> {
    let python = std::env::var("MNIST_MLP_PYTHON").unwrap_or_else(|_| "python3".into());
    let check = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output();
    let problem = match check {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => format!(
            "{python} cannot import {module}: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => format!("cannot run {python}: {e}"),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {problem}; CI needs a Python with {module} (set MNIST_MLP_PYTHON to one)"
    );
    let _ = writeln!(
        std::io::stderr(),
        "\n*** {test} DID NOT RUN: {problem}; set MNIST_MLP_PYTHON to a Python with {module} ***\n"
    );
    None
}

/// The first `count` images of `data`.
fn first(data: &LabeledImages, count: usize) -> LabeledImages {
    let count = count.min(data.labels.len());
    let pixels = data.images.pixels_per_image();
    LabeledImages {
        images: Images {
            rows: data.images.rows,
            cols: data.images.cols,
            pixels: data.images.pixels[..count * pixels].to_vec(),
        },
        labels: data.labels[..count].to_vec(),
    }
}

fn export(weights: &Path, output: &Path) {
    cargo_bin_cmd!("mnist-mlp")
        .arg("export")
        .arg("--weights")
        .arg(weights)
        .arg("--output")
        .arg(output)
        .assert()
        .success();
}

#[test]
fn numpy_predicts_what_mnist_mlp_predicts_from_both_exports() {
    let test = "numpy_predicts_what_mnist_mlp_predicts_from_both_exports";
    let Some(data_dir) = common::real_mnist_dir(test) else {
        return;
    };
    let Some(python) = python_with_numpy(test) else {
        return;
    };
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-mlp.bin");
    let out = tempfile::tempdir().unwrap();
    let (npz, safetensors) = (out.path().join("w.npz"), out.path().join("w.safetensors"));
    export(&weights, &npz);
    export(&weights, &safetensors);

    let run = mnist_mlp::store::weights::load(&weights).unwrap();
    let images = first(&common::load_mnist(&data_dir, Split::Test).unwrap(), COUNT);
    let ours = run.classifier.probabilities(&images).unwrap();
    let our_correct = ours
        .rows()
        .into_iter()
        .zip(&images.labels)
        .filter(|(p, l)| argmax(p.view()) == **l as usize)
        .count();

    let (images_path, labels_path) = (
        find_file(&data_dir, TEST_IMAGES).unwrap(),
        find_file(&data_dir, TEST_LABELS).unwrap(),
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/export/numpy_predict.py");
    let output = Command::new(&python)
        .arg(&script)
        .args([&npz, &safetensors, &images_path, &labels_path])
        .arg(COUNT.to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    for format in ["npz", "safetensors"] {
        let theirs = report[format]["probabilities"].as_array().unwrap();
        assert_eq!(theirs.len(), images.labels.len(), "{format}");
        let mut agree = 0;
        let mut max_diff = 0f64;
        for (row, (mine, their)) in ours.rows().into_iter().zip(theirs).enumerate() {
            let their: Vec<f64> = their
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_f64().unwrap())
                .collect();
            assert_eq!(their.len(), mine.len(), "{format} row {row}");
            let their_class =
                (0..their.len()).fold(0, |best, j| if their[j] > their[best] { j } else { best });
            agree += usize::from(their_class == argmax(mine.view()));
            for (a, b) in mine.iter().zip(&their) {
                max_diff = max_diff.max((f64::from(*a) - b).abs());
            }
        }
        let accuracy = report[format]["accuracy"].as_f64().unwrap();
        eprintln!(
            "{format}: {agree}/{} predictions agree, max probability difference {max_diff:.2e}, \
             NumPy accuracy {accuracy:.4} (mnist-mlp {:.4})",
            images.labels.len(),
            our_correct as f64 / images.labels.len() as f64
        );
        assert_eq!(agree, images.labels.len(), "{format}: predictions differ");
        assert!(
            max_diff <= TOLERANCE,
            "{format}: probabilities differ by {max_diff}"
        );
        assert_eq!(
            (accuracy * images.labels.len() as f64).round() as usize,
            our_correct,
            "{format}: accuracy"
        );
    }
}
