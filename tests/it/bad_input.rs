//! The table of bad inputs, through the real binary: every one must end with a non-zero
//! exit status (never a panic), a message that names the file or flag and the problem, and
//! no half-written output.
//!
//! One `#[test]` per row; the helpers below build the cases.

use crate::common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;
use flate2::Compression;
use flate2::write::GzEncoder;
use mnist_mlp::data::input::InputScaling;
use mnist_mlp::data::source::DataInfo;
use mnist_mlp::model::Classifier;
use mnist_mlp::nn::mlp::Mlp;
use mnist_mlp::store::framed::{CHECKSUM_LEN, HEADER_LEN};
use mnist_mlp::store::weights::{self, SavedRun};
use mnist_mlp::train::config::TrainConfig;
use sha2::{Digest, Sha256};

/// The test images file of the synthetic data, the one most cases damage.
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";

/// The flags of a quick `train` on a [`Case`]'s data: three epochs of 10 steps of a
/// 144-8-10 network (for 12×12 images), without the shifts that would blur the classes'
/// bars, a pixel apart at this size, into each other; enough to leave chance.
const QUICK_TRAIN: [&str; 8] = [
    "--epochs",
    "3",
    "--hidden",
    "8",
    "--batch-size",
    "10",
    "--augment",
    "none",
];

/// A temp folder with small synthetic MNIST-named data (`side`×`side` images) in `data/`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(side: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        common::write_synthetic_mnist(&dir.path().join("data"), 100, 50, side);
        Case { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn data(&self, name: &str) -> PathBuf {
        self.path("data").join(name)
    }

    /// `mnist-mlp <sub> --offline --data-dir data`, run in the folder.
    fn cmd(&self, sub: &str) -> assert_cmd::Command {
        let mut cmd = cargo_bin_cmd!("mnist-mlp");
        cmd.current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .args([sub, "--offline", "--data-dir", "data"]);
        cmd
    }

    /// A quick `train` ([`QUICK_TRAIN`]) with `extra` flags.
    fn train(&self, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.cmd("train");
        cmd.args(QUICK_TRAIN).args(extra);
        cmd
    }

    /// `train` run in a shell whose file-size limit is `kib` KiB: writing past it fails as
    /// on a full disk (EFBIG; the binary ignores SIGXFSZ).
    #[cfg(unix)]
    fn train_with_file_limit(&self, kib: u32, extra: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new("bash");
        cmd.current_dir(self.dir.path())
            .env_remove("MNIST_DATA_DIR")
            .arg("-c")
            .arg(format!("ulimit -f {kib} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_mnist-mlp"))
            .args(["train", "--offline", "--data-dir", "data"])
            .args(QUICK_TRAIN)
            .args(extra);
        cmd
    }

    /// Replaces the data file `name` with `bytes`.
    fn replace(&self, name: &str, bytes: &[u8]) {
        fs::write(self.data(name), bytes).unwrap();
    }

    /// Writes a weights file `name` for 28×28 images, after `damage` changed the run.
    fn weights(&self, name: &str, damage: impl FnOnce(&mut SavedRun)) -> PathBuf {
        let mut run = valid_run(784);
        damage(&mut run);
        let path = self.path(name);
        weights::save(&path, &run).unwrap();
        path
    }

    /// `evaluate-hw1` of the weights file `path`.
    fn evaluate(&self, path: &Path) -> assert_cmd::Command {
        let mut cmd = self.cmd("evaluate-hw1");
        cmd.arg("--weights").arg(path);
        cmd
    }

    /// The names of temporary files (of interrupted atomic writes) left anywhere inside.
    fn temp_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".tmp-")
                {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.dir.path(), &mut found);
        found
    }
}

/// An untrained 784-8-10 network as `train` would save it.
fn valid_run(inputs: usize) -> SavedRun {
    let config = TrainConfig {
        hidden: vec![8],
        ..TrainConfig::default()
    };
    let arch = config.architecture(inputs, 10);
    SavedRun {
        classifier: Classifier {
            mlp: Mlp::initial(arch, 1),
            input_scaling: InputScaling::UnitInterval,
        },
        config,
        history: vec![],
        data: DataInfo::mnist(),
    }
}

/// Runs `cmd` and checks that it failed with `code` (1 for our errors, 2 for clap's), did
/// not panic, and said every one of `needles` on stderr. Returns stderr.
fn refused_with(cmd: &mut assert_cmd::Command, code: i32, needles: &[&str]) -> String {
    let Output { status, stderr, .. } = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    // Shown with --nocapture: the table's messages at a glance.
    eprint!("{stderr}");
    assert_eq!(
        status.code(),
        Some(code),
        "status {status}; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    assert!(
        stderr.matches("(os error").count() <= 1,
        "the cause is repeated:\n{stderr}"
    );
    for needle in needles {
        assert!(stderr.contains(needle), "no {needle:?} in:\n{stderr}");
    }
    stderr
}

/// [`refused_with`] for an error of ours: status 1 and a message starting with "error:".
fn refused(cmd: &mut assert_cmd::Command, needles: &[&str]) -> String {
    let stderr = refused_with(cmd, 1, needles);
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// A raw IDX image file: the header (magic 0x00000803 unless `type_code` differs) and
/// `payload`.
fn idx_images(type_code: u8, [count, rows, cols]: [u32; 3], payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, type_code, 3];
    for d in [count, rows, cols] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The raw content of a gzip data file.
fn gunzip(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(fs::File::open(path).unwrap()),
        &mut bytes,
    )
    .unwrap();
    bytes
}

/// A training run with damaged data must write nothing.
fn assert_no_output(case: &Case) {
    for name in ["weights", "plots"] {
        assert!(!case.path(name).exists(), "a refused run wrote {name}/");
    }
    assert_eq!(case.temp_files(), Vec::<PathBuf>::new());
}

// ---- data files ----

#[test]
fn missing_file() {
    let case = Case::new(12);
    fs::remove_file(case.data(TEST_LABELS)).unwrap();
    refused(&mut case.train(&[]), &[TEST_LABELS, "missing in", "data"]);
    assert_no_output(&case);
}

#[test]
fn missing_data_directory() {
    let case = Case::new(12);
    let mut cmd = case.train(&["--data-dir", "nowhere"]);
    refused(
        &mut cmd,
        &["files missing in nowhere (the folder does not exist)"],
    );
    assert_no_output(&case);
}

#[test]
fn a_directory_where_a_file_is_expected() {
    let case = Case::new(12);
    fs::remove_file(case.data(TEST_IMAGES)).unwrap();
    fs::create_dir(case.data(TEST_IMAGES)).unwrap();
    // A folder is never taken for the file: the file is missing.
    refused(&mut case.train(&[]), &[TEST_IMAGES, "missing in"]);
    assert_no_output(&case);
}

#[test]
fn empty_file() {
    let case = Case::new(12);
    case.replace(TEST_IMAGES, b"");
    refused(&mut case.train(&[]), &[TEST_IMAGES, "is empty"]);
    assert_no_output(&case);
}

#[test]
fn wrong_magic() {
    let case = Case::new(12);
    case.replace(TEST_IMAGES, b"<html><body>Not Found</body></html>");
    let stderr = refused(
        &mut case.train(&[]),
        &[TEST_IMAGES, "is not an IDX image file"],
    );
    assert!(stderr.contains("expected 2051"), "{stderr}");
    assert_no_output(&case);
}

#[test]
fn images_of_another_type_than_u8() {
    let case = Case::new(12);
    case.replace(TEST_IMAGES, &idx_images(0x0d, [1, 2, 2], &[0; 16]));
    refused(
        &mut case.train(&[]),
        &[TEST_IMAGES, "data type 0x0d", "images must be 0x08"],
    );
    assert_no_output(&case);
}

#[test]
fn dimensions_whose_product_overflows() {
    let case = Case::new(12);
    case.replace(TEST_IMAGES, &idx_images(8, [u32::MAX; 3], &[0; 16]));
    refused(
        &mut case.train(&[]),
        &[TEST_IMAGES, "more data than can be addressed"],
    );
    assert_no_output(&case);
}

#[test]
fn dimensions_that_exceed_the_raw_file() {
    let case = Case::new(12);
    case.replace(
        TEST_IMAGES,
        &idx_images(8, [4_000_000_000, 28, 28], &[0; 16]),
    );
    refused(
        &mut case.train(&[]),
        &[
            TEST_IMAGES,
            "header says 4000000000 images of 28x28",
            "file has 16",
        ],
    );
    assert_no_output(&case);
}

#[test]
fn dimensions_that_exceed_the_gzip_file() {
    let case = Case::new(12);
    let gz = gzip(&idx_images(8, [4_000_000_000, 28, 28], &[0; 16]));
    case.replace(TEST_IMAGES, &gz);
    refused(
        &mut case.train(&[]),
        &[TEST_IMAGES, "more than a gzip file of"],
    );
    assert_no_output(&case);
}

#[test]
fn truncated_raw_payload() {
    let case = Case::new(12);
    let raw = gunzip(&case.data(TEST_IMAGES));
    case.replace(TEST_IMAGES, &raw[..raw.len() - 100]);
    let stderr = refused(&mut case.train(&[]), &[TEST_IMAGES, "is truncated"]);
    assert!(
        stderr.contains("50 images of 12x12 = 7200 bytes, file has 7100"),
        "{stderr}"
    );
    assert_no_output(&case);
}

#[test]
fn truncated_gzip_payload() {
    let case = Case::new(12);
    let gz = fs::read(case.data(TEST_IMAGES)).unwrap();
    case.replace(TEST_IMAGES, &gz[..gz.len() / 2]);
    refused(
        &mut case.train(&[]),
        &[TEST_IMAGES, "cannot decompress", "damaged or incomplete"],
    );
    assert_no_output(&case);
}

#[test]
fn corrupt_gzip_stream() {
    let case = Case::new(12);
    let mut gz = fs::read(case.data(TEST_IMAGES)).unwrap();
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    case.replace(TEST_IMAGES, &gz);
    refused(
        &mut case.train(&[]),
        &[TEST_IMAGES, "cannot decompress", "damaged or incomplete"],
    );
    assert_no_output(&case);
}

#[test]
fn label_count_differs_from_image_count() {
    let case = Case::new(12);
    mnist_mlp::data::idx::write_idx_labels(&case.data(TEST_LABELS), &[1; 49], true).unwrap();
    refused(
        &mut case.train(&[]),
        &[
            TEST_IMAGES,
            "holds 50 images but",
            TEST_LABELS,
            "holds 49 labels",
        ],
    );
    assert_no_output(&case);
}

#[test]
fn label_out_of_range_for_the_class_count() {
    let case = Case::new(12);
    let mut labels = vec![1; 50];
    labels[7] = 12;
    mnist_mlp::data::idx::write_idx_labels(&case.data(TEST_LABELS), &labels, true).unwrap();
    refused(
        &mut case.train(&["--dataset", "mnist"]),
        &[
            TEST_LABELS,
            "label 12 at index 7 is out of range for 10 classes",
        ],
    );
    assert_no_output(&case);
}

#[test]
fn images_of_another_size_than_the_network_takes() {
    let case = Case::new(28);
    let weights = case.weights("small.bin", |run| *run = valid_run(144));
    refused(
        &mut case.evaluate(&weights),
        &["the images are 28x28 = 784 pixels but the network takes 144 inputs"],
    );
}

// ---- weights files ----

#[test]
fn weights_file_missing() {
    let case = Case::new(28);
    refused(
        &mut case.evaluate(&case.path("absent.bin")),
        &["absent.bin", "cannot read the weights file"],
    );
}

#[test]
fn weights_file_is_a_directory() {
    let case = Case::new(28);
    fs::create_dir(case.path("folder.bin")).unwrap();
    refused(
        &mut case.evaluate(&case.path("folder.bin")),
        &["folder.bin", "cannot read the weights file"],
    );
}

#[test]
fn weights_file_empty() {
    let case = Case::new(28);
    fs::write(case.path("empty.bin"), b"").unwrap();
    refused(
        &mut case.evaluate(&case.path("empty.bin")),
        &["empty.bin", "not an mnist-mlp weights file"],
    );
}

#[test]
fn weights_file_truncated() {
    let case = Case::new(28);
    let path = case.weights("cut.bin", |_| {});
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    refused(
        &mut case.evaluate(&path),
        &["cut.bin", "truncated or corrupt weights file"],
    );
}

#[test]
fn weights_file_of_another_format() {
    let case = Case::new(28);
    let png = case.path("picture.png");
    fs::write(
        &png,
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0",
    )
    .unwrap();
    refused(
        &mut case.evaluate(&png),
        &["picture.png", "not an mnist-mlp weights file"],
    );
}

#[test]
fn weights_file_of_a_newer_version() {
    let case = Case::new(28);
    let path = case.weights("newer.bin", |_| {});
    let mut bytes = fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&(weights::FORMAT_VERSION + 1).to_le_bytes());
    fs::write(&path, bytes).unwrap();
    refused(
        &mut case.evaluate(&path),
        &[
            "newer.bin",
            "written by a newer mnist-mlp",
            "update mnist-mlp",
        ],
    );
}

#[test]
fn weights_file_of_another_architecture() {
    let case = Case::new(28);
    let path = case.weights("other.bin", |run| {
        run.classifier.mlp.params.layers[1].w = ndarray::Array2::zeros((3, 4));
    });
    refused(
        &mut case.evaluate(&path),
        &[
            "other.bin",
            "w2 is 3x4 (12 values) but the architecture 784-8-10 relu needs 8x10",
        ],
    );
}

#[test]
fn weights_file_with_a_transposed_tensor() {
    // PyTorch's layout (fan-out × fan-in): as many values, another network.
    let case = Case::new(28);
    let path = case.weights("transposed.bin", |run| {
        run.classifier.mlp.params.layers[0].w = ndarray::Array2::zeros((8, 784));
    });
    refused(
        &mut case.evaluate(&path),
        &[
            "transposed.bin",
            "w1 is 8x784 (6272 values) but the architecture 784-8-10 relu needs 784x8",
        ],
    );
}

/// A weights file `name` whose input scaling is standardisation by `mean` and `std`.
fn weights_with_scaling(case: &Case, name: &str, mean: f32, std: f32) -> PathBuf {
    case.weights(name, |run| {
        run.classifier.input_scaling = InputScaling::Standardized { mean, std };
    })
}

#[test]
fn weights_file_with_a_zero_input_std() {
    let case = Case::new(28);
    let path = weights_with_scaling(&case, "std0.bin", 0.13, 0.0);
    refused(
        &mut case.evaluate(&path),
        &[
            "std0.bin",
            "the input scaling's std is 0, but it must be a finite number of at least 0.000001",
        ],
    );
}

#[test]
fn weights_file_with_an_infinite_input_mean() {
    let case = Case::new(28);
    let path = weights_with_scaling(&case, "mean-inf.bin", f32::INFINITY, 0.3);
    refused(
        &mut case.evaluate(&path),
        &[
            "mean-inf.bin",
            "the input scaling's mean is inf, but a mean of pixel / 255 lies in [0, 1]",
        ],
    );
}

/// Weights of finite values so large that the logits overflow to infinity.
fn overflowing_weights(case: &Case) -> PathBuf {
    case.weights("huge.bin", |run| {
        for tensor in run.classifier.mlp.params.tensors_mut() {
            tensor.fill(3e38);
        }
    })
}

/// Runs `cmd` on the [`overflowing_weights`] at `weights` and checks that it failed with
/// an error naming them (after a note that they were trained on MNIST, for other data).
fn refused_for_overflow(cmd: &mut assert_cmd::Command, weights: &Path) -> String {
    let error = format!(
        "error: {}: the network's outputs are NaN or infinite",
        weights.display()
    );
    refused_with(cmd, 1, &[&error])
}

#[test]
fn weights_whose_outputs_overflow_in_evaluate() {
    let case = Case::new(28);
    let path = overflowing_weights(&case);
    let stderr = refused_for_overflow(case.evaluate(&path).arg("--json"), &path);
    assert!(!stderr.contains("\"loss\""), "{stderr}");
}

#[test]
fn weights_whose_outputs_overflow_in_analyze() {
    let case = Case::new(28);
    let path = overflowing_weights(&case);
    refused_for_overflow(case.cmd("analyze").arg("--weights").arg(&path), &path);
    assert!(!case.path("plots/confusion.png").exists());
}

#[test]
fn weights_whose_outputs_overflow_in_predict() {
    let case = Case::new(28);
    overflowing_weights(&case);
    // A dark bar on white: an image with ink.
    let stroke = image::GrayImage::from_fn(40, 40, |x, y| {
        let ink = (15..25).contains(&x) && (5..35).contains(&y);
        image::Luma([if ink { 0 } else { 255 }])
    });
    stroke.save(case.path("stroke.png")).unwrap();
    let mut predict = cargo_bin_cmd!("mnist-mlp");
    predict
        .current_dir(case.dir.path())
        .args(["predict", "--weights", "huge.bin", "stroke.png"]);
    let stderr = refused_for_overflow(&mut predict, Path::new("huge.bin"));
    assert!(!stderr.contains("stroke.png"), "{stderr}");
}

#[test]
fn weights_file_with_class_names_too_long() {
    // Ten names of 20,000 characters: refused at load, not fitted into the pictures.
    let case = Case::new(28);
    let path = case.weights("long-names.bin", |run| {
        for (class, name) in run.data.class_names.iter_mut().enumerate() {
            *name = format!("{class}").repeat(20_000);
        }
    });
    let mut analyze = case.cmd("analyze");
    analyze.arg("--weights").arg(&path).timeout(HANG_TIMEOUT);
    refused(
        &mut analyze,
        &[
            "long-names.bin: class name 0 is 20000 characters long, more than the 100 a class \
             name may have",
        ],
    );
    assert!(!case.path("plots").exists());
}

#[test]
fn weights_file_with_a_changed_bit() {
    let case = Case::new(28);
    let path = case.weights("flipped.bin", |run| {
        run.classifier.mlp.params.layers[0].w[[3, 2]] = MARKER;
    });
    // The lowest bit of a weight: a slightly different network, with finite values.
    let mut bytes = fs::read(&path).unwrap();
    let at = marker_at(&bytes);
    bytes[at] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    refused(
        &mut case.evaluate(&path),
        &[
            "flipped.bin: truncated or corrupt weights file",
            "its contents do not match its checksum",
        ],
    );
}

#[test]
fn weights_file_without_a_checksum_loads_with_a_note() {
    // Not bad input: a file of the version before checksums, which still loads.
    let case = Case::new(28);
    let path = case.weights("old.bin", |_| {});
    let old = common::without_checksum(&fs::read(&path).unwrap(), weights::FORMAT_VERSION - 1);
    fs::write(&path, old).unwrap();
    let output = case.evaluate(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("old.bin has no checksum (weights format version 5;"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("accuracy: "));
}

/// A value no trained weight has, written where a test then puts a value `weights::save`
/// refuses to write (NaN, infinity).
const MARKER: f32 = 12345.678;

/// Where the one little-endian [`MARKER`] in `bytes` starts.
fn marker_at(bytes: &[u8]) -> usize {
    let marker = MARKER.to_le_bytes();
    let at = bytes.windows(4).position(|w| w == marker).unwrap();
    assert!(
        bytes[at + 4..].windows(4).all(|w| w != marker),
        "the marker is unique"
    );
    at
}

/// Replaces the one little-endian [`MARKER`] in the file at `path` with `value`, and the
/// checksum with that of the changed payload: a file as a writer that did not check for
/// NaN would have written it.
fn replace_marker(path: &Path, value: f32) {
    let mut bytes = fs::read(path).unwrap();
    let at = marker_at(&bytes);
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    let payload = HEADER_LEN + CHECKSUM_LEN;
    let checksum = Sha256::digest(&bytes[payload..]);
    bytes[HEADER_LEN..payload].copy_from_slice(&checksum);
    fs::write(path, bytes).unwrap();
}

#[test]
fn weights_file_with_nan() {
    let case = Case::new(28);
    let path = case.weights("nan.bin", |run| {
        run.classifier.mlp.params.layers[0].w[[3, 2]] = MARKER;
    });
    replace_marker(&path, f32::NAN);
    refused(
        &mut case.evaluate(&path),
        &["nan.bin", "tensor w1 holds a NaN or infinite value"],
    );
}

#[test]
fn weights_file_with_infinity() {
    let case = Case::new(28);
    let path = case.weights("inf.bin", |run| {
        run.classifier.mlp.params.layers[1].b[9] = MARKER;
    });
    replace_marker(&path, f32::NEG_INFINITY);
    refused(
        &mut case.evaluate(&path),
        &["inf.bin", "tensor b2 holds a NaN or infinite value"],
    );
}

// ---- special files and sizes ----

/// Opening a FIFO without a writer blocks, and reading a device may never end: a command
/// that regresses to either fails the test by this timeout instead of hanging it.
const HANG_TIMEOUT: Duration = Duration::from_secs(60);

/// Makes a FIFO at `path` with `mkfifo`; false, said on stderr, where that is impossible.
fn make_fifo(path: &Path) -> bool {
    match std::process::Command::new("mkfifo").arg(path).status() {
        Ok(status) if status.success() => true,
        outcome => {
            eprintln!(
                "SKIPPED: cannot make a FIFO with mkfifo ({outcome:?}), so this FIFO case is \
                 not tested on this machine"
            );
            false
        }
    }
}

/// Why a FIFO named where a file is meant is refused.
const NOT_REGULAR_FIFO: &str = "it is a FIFO (named pipe), not a regular file";

#[test]
fn weights_file_is_a_fifo() {
    let case = Case::new(28);
    let fifo = case.path("fifo.bin");
    if !make_fifo(&fifo) {
        return;
    }
    refused(
        case.evaluate(&fifo).timeout(HANG_TIMEOUT),
        &["fifo.bin: cannot read the weights file", NOT_REGULAR_FIFO],
    );
}

#[test]
fn weights_file_is_a_device() {
    let zero = Path::new("/dev/zero");
    if !zero.exists() {
        eprintln!("SKIPPED: there is no /dev/zero on this machine");
        return;
    }
    let case = Case::new(28);
    refused(
        case.evaluate(zero).timeout(HANG_TIMEOUT),
        &[
            "/dev/zero: cannot read the weights file",
            "it is a character device, not a regular file",
        ],
    );
}

#[test]
fn checkpoint_to_resume_is_a_fifo() {
    let case = Case::new(12);
    let fifo = case.path("fifo.ckpt");
    if !make_fifo(&fifo) {
        return;
    }
    let mut resume = case.cmd("train");
    resume.arg("--resume").arg(&fifo).timeout(HANG_TIMEOUT);
    refused(
        &mut resume,
        &["fifo.ckpt: cannot read the checkpoint", NOT_REGULAR_FIFO],
    );
}

#[test]
fn run_log_of_the_report_is_a_fifo() {
    let case = Case::new(28);
    case.weights("w.bin", |_| {});
    if !make_fifo(&case.path("runs.jsonl")) {
        return;
    }
    let mut report = cargo_bin_cmd!("mnist-mlp");
    report
        .current_dir(case.dir.path())
        .args(["report", "--author", "Ada Lovelace", "--weights", "w.bin"])
        .args(["--run-log", "runs.jsonl", "--out-dir", "out"])
        .timeout(HANG_TIMEOUT);
    refused(
        &mut report,
        &["cannot read the run log runs.jsonl", NOT_REGULAR_FIFO],
    );
    assert!(!case.path("out").exists());
}

#[test]
fn run_log_to_append_to_is_a_fifo() {
    // Refused with the other outputs, before any work: opening it would wait for a reader.
    let case = Case::new(12);
    if !make_fifo(&case.path("runs.jsonl")) {
        return;
    }
    let mut train = case.train(&["--run-log", "runs.jsonl"]);
    train.timeout(HANG_TIMEOUT);
    refused(
        &mut train,
        &[
            "runs.jsonl",
            "it is a FIFO (named pipe), which would block until something reads it",
        ],
    );
    assert!(!case.path("weights").exists());
}

#[test]
fn image_to_predict_is_a_fifo() {
    let case = Case::new(28);
    case.weights("w.bin", |_| {});
    if !make_fifo(&case.path("fifo.png")) {
        return;
    }
    let mut predict = cargo_bin_cmd!("mnist-mlp");
    predict
        .current_dir(case.dir.path())
        .args(["predict", "--weights", "w.bin", "fifo.png"])
        .timeout(HANG_TIMEOUT);
    refused(
        &mut predict,
        &["fifo.png: cannot read the file", NOT_REGULAR_FIFO],
    );
}

/// One PNG chunk: length, type, data, and the CRC of type and data.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc.sum().to_be_bytes());
    chunk
}

#[test]
fn image_to_predict_declares_too_many_pixels() {
    // A PNG declaring 22000x22000 grey pixels (484 megapixels), with its first 200 rows:
    // refused from the header, before anything is decoded.
    let case = Case::new(28);
    case.weights("w.bin", |_| {});
    let side: u32 = 22000;
    let mut header = side.to_be_bytes().to_vec();
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grey, deflate, no interlace
    let mut rows = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    let row = vec![0u8; side as usize + 1]; // the filter byte, then the pixels
    for _ in 0..200 {
        rows.write_all(&row).unwrap();
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &header));
    png.extend(png_chunk(b"IDAT", &rows.finish().unwrap()));
    png.extend(png_chunk(b"IEND", b""));
    fs::write(case.path("huge.png"), png).unwrap();
    let mut predict = cargo_bin_cmd!("mnist-mlp");
    predict
        .current_dir(case.dir.path())
        .args(["predict", "--weights", "w.bin", "huge.png"]);
    refused(
        &mut predict,
        &[
            "huge.png: the image is 22000x22000 = 484000000 pixels, more than the 50000000 \
             predict reads",
        ],
    );
}

#[test]
fn image_to_predict_has_no_pixels() {
    // A bitmap 7 pixels wide and 0 high, found by the predict_image fuzz target: it decodes,
    // and measuring its empty border panicked.
    let case = Case::new(28);
    case.weights("w.bin", |_| {});
    fs::write(case.path("empty.pbm"), b"P1\n7 0\n").unwrap();
    let mut predict = cargo_bin_cmd!("mnist-mlp");
    predict
        .current_dir(case.dir.path())
        .args(["predict", "--weights", "w.bin", "empty.pbm"]);
    refused(
        &mut predict,
        &["empty.pbm: the image is 7x0: it has no pixels"],
    );
}

#[test]
fn idx_images_larger_than_any_mnist_variant() {
    // A raw image file that really holds the 1.1 GB its header announces (sparse, so it
    // takes no disk space): refused from the header, not read into memory.
    let case = Case::new(28);
    let count: u32 = 1_400_000;
    let header = idx_images(0x08, [count, 28, 28], &[]);
    let path = case.data("t10k-images-idx3-ubyte");
    fs::remove_file(case.data(TEST_IMAGES)).unwrap();
    let file = fs::File::create(&path).unwrap();
    (&file).write_all(&header).unwrap();
    file.set_len(header.len() as u64 + u64::from(count) * 28 * 28)
        .unwrap();
    refused(
        case.evaluate(&case.weights("w.bin", |_| {}))
            .timeout(HANG_TIMEOUT),
        &[
            "t10k-images-idx3-ubyte: header says 1400000 images of 28x28 = 1097600000 bytes, \
             more than the 1073741824 bytes mnist-mlp reads from one file",
        ],
    );
}

// ---- outputs ----

/// A file where the output's folder should be: the output cannot be created.
fn unwritable_output(flag: &str, name: &str) {
    let case = Case::new(12);
    fs::write(case.path("blocker"), b"a file, not a folder").unwrap();
    let target = format!("blocker/{name}");
    let problem = format!("{flag}: cannot create the folder blocker for {target}");
    refused(
        &mut case.train(&[flag, &target]),
        &[&problem, "blocker is a file, not a folder"],
    );
    // Refused before training: no epoch wrote the other outputs.
    assert_no_output(&case);
    assert_eq!(
        fs::read(case.path("blocker")).unwrap(),
        b"a file, not a folder"
    );
    assert_eq!(case.temp_files(), Vec::<PathBuf>::new());
}

#[test]
fn unwritable_weights_path() {
    unwritable_output("--weights", "w.bin");
}

#[test]
fn unwritable_plot_path() {
    unwritable_output("--plot", "accuracy.png");
}

#[test]
fn unwritable_metrics_path() {
    unwritable_output("--metrics", "metrics.csv");
}

#[test]
fn unwritable_run_log_path() {
    unwritable_output("--run-log", "runs.jsonl");
}

#[cfg(unix)]
#[test]
fn output_folder_without_write_permission() {
    use std::os::unix::fs::PermissionsExt;
    let case = Case::new(12);
    let folder = case.path("locked");
    fs::create_dir(&folder).unwrap();
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o555)).unwrap();
    if fs::write(folder.join("probe"), b"").is_ok() {
        eprintln!("SKIPPED: running as root, a folder without write permission is writable");
        return;
    }
    refused(
        &mut case.train(&["--plot", "locked/accuracy.png"]),
        &[
            "--plot: cannot write locked/accuracy.png",
            "Permission denied",
        ],
    );
    assert_no_output(&case);
}

/// `train` with `flags` naming one file twice is refused before any work, naming both
/// flags, and leaves the file as it was.
fn colliding_outputs(flags: &[&str], first: &str, second: &str) {
    let case = Case::new(12);
    fs::write(case.path("x.bin"), b"an earlier output").unwrap();
    let stderr = refused(
        &mut case.train(flags),
        &[
            first,
            second,
            "are the same file: give each a path of its own",
        ],
    );
    assert!(!stderr.contains("wrote"), "{stderr}");
    assert_eq!(fs::read(case.path("x.bin")).unwrap(), b"an earlier output");
    assert_no_output(&case);
}

#[test]
fn weights_and_checkpoint_are_the_same_file() {
    colliding_outputs(
        &["--weights", "x.bin", "--checkpoint", "./x.bin"],
        "--weights x.bin",
        "--checkpoint ./x.bin",
    );
}

#[test]
fn weights_and_plot_are_the_same_file() {
    colliding_outputs(
        &["--weights", "x.bin", "--plot", "x.bin"],
        "--weights",
        "--plot",
    );
}

#[test]
fn weights_and_metrics_are_the_same_file() {
    colliding_outputs(
        &["--weights", "x.bin", "--metrics", "data/../x.bin"],
        "--weights",
        "--metrics",
    );
}

#[test]
fn weights_and_run_log_are_the_same_file() {
    colliding_outputs(
        &["--weights", "x.bin", "--run-log", "x.bin"],
        "--weights",
        "--run-log",
    );
}

#[test]
fn checkpoint_and_plot_are_the_same_file() {
    colliding_outputs(
        &[
            "--checkpoint",
            "x.bin",
            "--plot",
            "x.bin",
            "--weights",
            "w.bin",
        ],
        "--checkpoint",
        "--plot",
    );
}

#[cfg(unix)]
#[test]
fn weights_and_a_symlink_to_them_are_the_same_file() {
    let case = Case::new(12);
    std::os::unix::fs::symlink("x.bin", case.path("link.bin")).unwrap();
    refused(
        &mut case.train(&["--weights", "x.bin", "--metrics", "link.bin"]),
        &["--weights x.bin and --metrics link.bin are the same file"],
    );
}

#[test]
fn analyze_plots_are_the_same_file() {
    let case = Case::new(28);
    case.weights("w.bin", |_| {});
    let mut analyze = case.cmd("analyze");
    analyze.args([
        "--weights",
        "w.bin",
        "--confusion",
        "p.png",
        "--mistakes",
        "./p.png",
    ]);
    refused(
        &mut analyze,
        &["--confusion p.png and --mistakes ./p.png are the same file"],
    );
    assert!(!case.path("p.png").exists());
}

#[test]
fn analyze_plot_over_its_weights() {
    let case = Case::new(28);
    case.weights("w.bin", |_| {});
    let before = fs::read(case.path("w.bin")).unwrap();
    let mut analyze = case.cmd("analyze");
    analyze.args(["--weights", "w.bin", "--mistakes", "./w.bin"]);
    refused(
        &mut analyze,
        &["--weights w.bin and --mistakes ./w.bin are the same file"],
    );
    assert_eq!(fs::read(case.path("w.bin")).unwrap(), before);
}

#[test]
fn export_pkl_named_like_its_script() {
    let case = Case::new(28);
    case.weights("w.bin", |_| {});
    let mut export = cargo_bin_cmd!("mnist-mlp");
    export.current_dir(case.dir.path()).args([
        "export",
        "--weights",
        "w.bin",
        "--format",
        "pkl",
        "--output",
        "evaluate_hw1.py",
    ]);
    refused(
        &mut export,
        &["--output evaluate_hw1.py and its evaluate_hw1 script evaluate_hw1.py are the same file"],
    );
    assert!(!case.path("evaluate_hw1.py").exists());
}

#[test]
fn output_path_is_a_directory() {
    let case = Case::new(12);
    fs::create_dir(case.path("out.bin")).unwrap();
    refused(
        &mut case.train(&["--weights", "out.bin"]),
        &["cannot write", "out.bin", "it is a folder, not a file"],
    );
    assert_eq!(case.temp_files(), Vec::<PathBuf>::new());
}

/// Makes a special file at `path` with `tool` (`mkfifo`, or `mknod` and its arguments);
/// false, after saying so, when this system does not allow it (e.g. `mknod` without root).
#[cfg(unix)]
fn make_special_file(tool: &[&str], path: &Path) -> bool {
    let made = std::process::Command::new(tool[0])
        .arg(path)
        .args(&tool[1..])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!(
            "SKIPPED: `{}` cannot make {} here (it needs root, or the tool is missing)",
            tool.join(" "),
            path.display()
        );
    }
    made
}

/// `train` refuses an output that is a special file, before training, and leaves it.
#[cfg(unix)]
fn special_output_is_refused(tool: &[&str], kind: &str) {
    use std::os::unix::fs::FileTypeExt;
    let case = Case::new(12);
    let path = case.path("special");
    if !make_special_file(tool, &path) {
        return;
    }
    refused(
        &mut case.train(&["--weights", "special"]),
        &[
            "refusing to write special",
            &format!("it is {kind}, not a regular file"),
        ],
    );
    let kind = fs::symlink_metadata(&path).unwrap().file_type();
    assert!(
        kind.is_fifo() || kind.is_char_device(),
        "replaced: {kind:?}"
    );
    assert_no_output(&case);
}

#[cfg(unix)]
#[test]
fn output_path_is_a_named_pipe() {
    special_output_is_refused(&["mkfifo"], "a named pipe");
}

#[cfg(unix)]
#[test]
fn output_path_is_a_device_node() {
    // The kernel's "full" device (1, 7): writes fail with "No space left on device".
    special_output_is_refused(&["mknod", "c", "1", "7"], "a character device");
}

#[cfg(unix)]
#[test]
fn output_path_is_a_symlink_to_a_special_file() {
    let case = Case::new(12);
    let fifo = case.path("fifo");
    if !make_special_file(&["mkfifo"], &fifo) {
        return;
    }
    std::os::unix::fs::symlink("fifo", case.path("plot.png")).unwrap();
    refused(
        &mut case.train(&["--plot", "plot.png"]),
        &["refusing to write plot.png", "it is a named pipe"],
    );
    assert!(
        fs::symlink_metadata(case.path("plot.png"))
            .unwrap()
            .is_symlink()
    );
}

/// Every file the train command writes, with content the failed run must leave as it was.
#[cfg(unix)]
fn old_outputs(case: &Case) -> Vec<(PathBuf, &'static [u8])> {
    let old: [(&str, &[u8]); 3] = [
        ("weights/mnist-mlp.bin", b"old weights"),
        ("plots/metrics.csv", b"old metrics"),
        ("plots/accuracy.png", b"old plot"),
    ];
    old.into_iter()
        .map(|(name, bytes)| {
            let path = case.path(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn disk_full_while_writing_the_weights() {
    let case = Case::new(12);
    let old = old_outputs(&case);
    // 144-512-10 weights take about 300 KiB, more than the 64 KiB allowed.
    let mut cmd = case.train_with_file_limit(64, &["--hidden", "512"]);
    refused(
        &mut cmd,
        &["cannot write", "weights/mnist-mlp.bin", "File too large"],
    );
    for (path, bytes) in old {
        assert_eq!(fs::read(&path).unwrap(), bytes, "{}", path.display());
    }
    assert_eq!(case.temp_files(), Vec::<PathBuf>::new());
}

#[cfg(unix)]
#[test]
fn disk_full_while_writing_the_plot() {
    let case = Case::new(12);
    let old = old_outputs(&case);
    // 144-8-10 weights (5 KiB) and the metrics fit in 10 KiB; the plot (a PNG of about
    // 15 KiB) does not.
    let mut cmd = case.train_with_file_limit(10, &[]);
    refused(
        &mut cmd,
        &["cannot write", "plots/accuracy.png", "File too large"],
    );
    let plot = &old[2];
    assert_eq!(fs::read(&plot.0).unwrap(), plot.1);
    assert_eq!(case.temp_files(), Vec::<PathBuf>::new());
}

// ---- hyperparameters ----

#[test]
fn zero_epochs() {
    let case = Case::new(12);
    refused(
        &mut case.train(&["--epochs", "0"]),
        &["--epochs must be at least 1"],
    );
    assert_no_output(&case);
}

#[test]
fn negative_learning_rate() {
    let case = Case::new(12);
    refused(
        &mut case.train(&["--lr", "-1"]),
        &["--lr must be a positive", "-1"],
    );
    assert_no_output(&case);
}

#[test]
fn zero_hidden_units() {
    let case = Case::new(12);
    refused(
        &mut case.train(&["--hidden", "0"]),
        &["--hidden", "at least 1 unit"],
    );
    assert_no_output(&case);
}

#[test]
fn zero_batch_size() {
    let case = Case::new(12);
    refused(
        &mut case.train(&["--batch-size", "0"]),
        &["--batch-size must be at least 1"],
    );
    assert_no_output(&case);
}

#[test]
fn unknown_activation() {
    let case = Case::new(12);
    refused_with(
        &mut case.train(&["--activation", "swish"]),
        2,
        &["invalid value 'swish' for '--activation", "relu"],
    );
    assert_no_output(&case);
}

#[test]
fn hidden_layers_too_large_for_memory() {
    let case = Case::new(12);
    // About 10^12 parameters: terabytes, more than any machine here has.
    refused(
        &mut case.train(&["--hidden", "1000000,1000000"]),
        &[
            "144-1000000-1000000-10",
            "needs about",
            "TiB of memory",
            "this machine has",
            "--hidden",
        ],
    );
    assert_no_output(&case);
}

#[test]
fn hidden_layer_size_beyond_any_memory() {
    let case = Case::new(12);
    refused(
        &mut case.train(&["--hidden", "1152921504606846976"]),
        &["needs more than 16 EiB of memory", "--hidden"],
    );
    assert_no_output(&case);
}

#[cfg(unix)]
#[test]
fn epochs_beyond_any_run_start_and_stop_on_sigterm() {
    let case = Case::new(12);
    let epochs = usize::MAX.to_string();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mnist-mlp"));
    cmd.current_dir(case.dir.path())
        .env_remove("MNIST_DATA_DIR")
        .args(["train", "--offline", "--data-dir", "data"])
        .args(QUICK_TRAIN)
        .args(["--epochs", &epochs]);
    let first_epoch = format!("epoch   1/{epochs}");
    let (mut child, rest) = common::start_until(&mut cmd, &first_epoch);
    common::send_signal(&child, "-TERM");
    rest.for_each(drop);
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
}
