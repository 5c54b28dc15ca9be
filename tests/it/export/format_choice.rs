//! `mnist-mlp export` through the real binary: the format from the flag or the extension,
//! and clear failures that leave no file behind.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;

fn shipped_weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/mnist-mlp.bin")
}

fn export(weights: &Path, output: &Path, format: Option<&str>) -> assert_cmd::assert::Assert {
    let mut cmd = cargo_bin_cmd!("mnist-mlp");
    cmd.arg("export").arg("--weights").arg(weights);
    cmd.arg("--output").arg(output);
    if let Some(format) = format {
        cmd.args(["--format", format]);
    }
    cmd.assert()
}

#[test]
fn exports_in_the_format_of_the_flag_or_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("w.npz");
    export(&shipped_weights(), &npz, None)
        .success()
        .stdout(predicate::str::contains("(npz, 784-"));
    assert_eq!(&std::fs::read(&npz).unwrap()[..4], b"PK\x03\x04");
    let other = dir.path().join("w.weights");
    export(&shipped_weights(), &other, Some("safetensors"))
        .success()
        .stdout(predicate::str::contains("safetensors"));
    let bytes = std::fs::read(&other).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert!(bytes[8..8 + header_len].starts_with(b"{\"__metadata__\""));
}

#[test]
fn a_bad_choice_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mismatch = dir.path().join("w.safetensors");
    export(&shipped_weights(), &mismatch, Some("npz"))
        .failure()
        .stderr(predicate::str::contains(
            "w.safetensors: --format npz does not match the extension .safetensors",
        ));
    let unknown = dir.path().join("w.bin");
    export(&shipped_weights(), &unknown, None)
        .failure()
        .stderr(predicate::str::contains("cannot tell the export format"));
    let missing = dir.path().join("missing.bin");
    export(&missing, &dir.path().join("w.npz"), None)
        .failure()
        .stderr(predicate::str::contains(
            "missing.bin: cannot read the weights file",
        ));
    export(&shipped_weights(), &dir.path().join("w.npz"), Some("onnx"))
        .failure()
        .stderr(predicate::str::contains("invalid value 'onnx'"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
