//! What the tests share: synthetic MNIST-shaped data sets (small, learnable, written as real
//! IDX files), running the binary and reading its output, the real data's folders, and (in
//! `server`) a local HTTP mirror. The benches use the synthetic data and `Quiet` too.

pub mod server;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mnist_mlp::data::catalog::{Dataset, ExpectedFile, Source};
use mnist_mlp::data::idx::DataError;
use mnist_mlp::data::idx::{write_idx_images, write_idx_labels};
use mnist_mlp::data::images::{Images, LabeledImages};
use mnist_mlp::data::names::{MNIST_FILE_NAMES, Split, find_file};
use mnist_mlp::data::source::DataSource;
use mnist_mlp::model::Classifier;
use mnist_mlp::nn::rng::SeededRng;
use mnist_mlp::train::metrics::{EpochMetrics, EpochTiming};
use mnist_mlp::train::{ObserverError, TrainObserver};
use sha2::{Digest, Sha256};

/// `count` images of `side`×`side` pixels; class c is a bright 4-pixel-wide bar whose
/// position depends on c (vertical for even c, horizontal for odd), over faint noise.
pub fn synthetic_images(count: usize, side: usize, seed: u64) -> (Images, Vec<u8>) {
    let mut rng = SeededRng::new(seed);
    let mut pixels = Vec::with_capacity(count * side * side);
    let mut labels = Vec::with_capacity(count);
    for _ in 0..count {
        let class = rng.below(10);
        let offset = 2 + (class / 2) * (side - 6) / 5;
        for r in 0..side {
            for c in 0..side {
                let along = if class.is_multiple_of(2) { c } else { r };
                let on_bar = (offset..offset + 4).contains(&along);
                let noise = (rng.uniform() * 40.0) as u8;
                pixels.push(if on_bar { 200 + noise / 2 } else { noise });
            }
        }
        labels.push(class as u8);
    }
    (
        Images {
            rows: side,
            cols: side,
            pixels,
        },
        labels,
    )
}

/// Writes a synthetic train (`n_train`) and test (`n_test`) split into `dir` under the usual
/// gzip names.
pub fn write_synthetic_mnist(dir: &Path, n_train: usize, n_test: usize, side: usize) {
    write_synthetic_mnist_with(dir, n_train, n_test, side, true);
}

/// [`write_synthetic_mnist`], with the faint noise between the bars, or with a clean
/// background of 0 like MNIST's (sparse inputs).
pub fn write_synthetic_mnist_with(
    dir: &Path,
    n_train: usize,
    n_test: usize,
    side: usize,
    noise: bool,
) {
    for (name, count, seed) in [("train", n_train, 1), ("t10k", n_test, 2)] {
        let (mut images, labels) = synthetic_images(count, side, seed);
        if !noise {
            images
                .pixels
                .iter_mut()
                .for_each(|p| *p = if *p < 100 { 0 } else { *p });
        }
        write_idx_images(
            &dir.join(format!("{name}-images-idx3-ubyte.gz")),
            &images,
            true,
        )
        .unwrap();
        write_idx_labels(
            &dir.join(format!("{name}-labels-idx1-ubyte.gz")),
            &labels,
            true,
        )
        .unwrap();
    }
}

/// The names of the entries of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs a command that must succeed and returns the JSON object on the last line of its
/// stdout (the `--json` summary).
pub fn json_summary(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let stdout = cmd.assert().success().get_output().stdout.clone();
    let text = String::from_utf8_lossy(&stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {text}"))
}

/// The real MNIST folder: `MNIST_DATA_DIR`, else the crate's `data/mnist` (where `train` and
/// `download` put it) if it holds the four files; otherwise `None` after saying loudly that
/// the test did not run. Under CI (the `CI` variable set) a missing folder fails the test.
pub fn real_mnist_dir(test: &str) -> Option<PathBuf> {
    real_data_dir("MNIST_DATA_DIR", "MNIST", "mnist", test)
}

/// The folder of the real `what` IDX files: the one the environment variable `var` names,
/// else the crate's `data/<folder>` if it holds the four files (under any accepted name);
/// otherwise `None` after saying loudly that the test did not run. Under CI (the `CI`
/// variable set) a missing folder fails the test instead.
pub fn real_data_dir(var: &str, what: &str, folder: &str, test: &str) -> Option<PathBuf> {
    use std::io::Write;
    if let Some(dir) = std::env::var_os(var) {
        return Some(PathBuf::from(dir));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(folder);
    if MNIST_FILE_NAMES
        .iter()
        .all(|name| find_file(&local, name).is_some())
    {
        return Some(local);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {var} is unset and data/{folder} lacks the {what} files, and CI needs the \
         real-data tests to run"
    );
    // Written to the process's stderr directly: the harness does not capture it.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** {test} DID NOT RUN: set {var} to a folder with the {what} IDX files, \
         or put them in data/{folder} ***\n"
    );
    None
}

/// The sha256 of a file, in hex.
pub fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    sha256_of_bytes(&bytes)
}

/// The sha256 of `bytes`, in hex.
pub fn sha256_of_bytes(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Starts `cmd` with its stdout piped, and waits until it prints a line starting with
/// `prefix`; returns the child and the rest of its stdout.
pub fn start_until(cmd: &mut Command, prefix: &str) -> (Child, impl Iterator<Item = String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap);
    for line in lines.by_ref() {
        if line.starts_with(prefix) {
            return (child, lines);
        }
    }
    let out = child.wait_with_output().unwrap();
    panic!(
        "no line starting with {prefix:?}; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} failed");
}

/// A split of the MNIST files in `dir`, loaded as `mnist-mlp` loads them.
pub fn load_mnist(dir: &Path, split: Split) -> Result<LabeledImages, DataError> {
    DataSource {
        dir: dir.to_path_buf(),
        dataset: Some(Dataset::Mnist),
    }
    .load(split)
}

/// MNIST's four files with their checksums, as the catalogue lists them.
pub fn mnist_files() -> [ExpectedFile<'static>; 4] {
    match Dataset::Mnist.source() {
        Source::Files { files, .. } => files,
        Source::Archive { .. } => unreachable!("MNIST is four files"),
    }
}

/// A training observer that reports nothing and never stops the run.
pub struct Quiet;

impl TrainObserver for Quiet {
    fn epoch_done(
        &mut self,
        _: &Classifier,
        _: &[EpochMetrics],
        _: EpochTiming,
        _: bool,
    ) -> Result<(), ObserverError> {
        Ok(())
    }
}

/// The bytes of a file of the checksummed frame (magic, version, SHA-256, payload) written
/// in the version before checksums: without the checksum, and with that version.
pub fn without_checksum(bytes: &[u8], old_version: u32) -> Vec<u8> {
    use mnist_mlp::store::framed::{CHECKSUM_LEN, HEADER_LEN};
    let mut old = bytes[..HEADER_LEN - 4].to_vec();
    old.extend_from_slice(&old_version.to_le_bytes());
    old.extend_from_slice(&bytes[HEADER_LEN + CHECKSUM_LEN..]);
    old
}
