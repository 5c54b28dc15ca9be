//! The MNIST variants end to end on synthetic files in each variant's own format: EMNIST's
//! zip archive of transposed images (letters labelled from 1), QMNIST's rows of int labels,
//! downloaded from a local mirror and loaded upright with class indices from 0; then training
//! and evaluating through the binary.

use crate::common;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use md5::{Digest, Md5};
use mnist_mlp::data::catalog::Dataset;
use mnist_mlp::data::catalog::{Checksum, ExpectedFile};
use mnist_mlp::data::download::{download_from_archive, download_missing_files};
use mnist_mlp::data::idx::{ElementType, write_idx_array, write_idx_images};
use mnist_mlp::data::images::Images;
use mnist_mlp::data::names::Split;
use mnist_mlp::data::source::DataSource;
use mnist_mlp::store::weights;
use predicates::prelude::*;

use common::server::{Reply, Server};

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The gzip bytes of an IDX file written by `write`.
fn idx_bytes(write: impl FnOnce(&Path)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    write(&path);
    fs::read(path).unwrap()
}

/// A split as a variant stores it: images transposed if `transposed`, labels shifted by
/// `first_label`, as one u8 per image or (QMNIST) rows of 8 big-endian i32 with the class
/// first. Returns the (images, labels) file bytes.
fn stored_split(
    images: &Images,
    labels: &[u8],
    transposed: bool,
    first_label: u8,
    int_rows: bool,
) -> (Vec<u8>, Vec<u8>) {
    let stored = if transposed {
        images.transposed()
    } else {
        images.clone()
    };
    let images_file = idx_bytes(|p| write_idx_images(p, &stored, true).unwrap());
    let labels_file = idx_bytes(|p| {
        if int_rows {
            let rows: Vec<u8> = labels
                .iter()
                .flat_map(|&l| [i32::from(l), 7, 1, 2, 3, 4, 5, 6])
                .flat_map(|v| v.to_be_bytes())
                .collect();
            write_idx_array(p, ElementType::I32, &[labels.len(), 8], &rows, true).unwrap()
        } else {
            let shifted: Vec<u8> = labels.iter().map(|l| l + first_label).collect();
            write_idx_array(p, ElementType::U8, &[labels.len()], &shifted, true).unwrap()
        }
    });
    (images_file, labels_file)
}

/// Writes synthetic train and test splits of `dataset` in its own format into `dir`, under
/// its file names; returns the upright (train, test) data.
fn write_variant(dir: &Path, dataset: Dataset) -> [(Images, Vec<u8>); 2] {
    let splits = [
        common::synthetic_images(600, 28, 1),
        common::synthetic_images(200, 28, 2),
    ];
    let names = dataset.file_names();
    for (i, (images, labels)) in splits.iter().enumerate() {
        let (images_file, labels_file) = stored_split(
            images,
            labels,
            dataset.transposed(),
            dataset.first_label() as u8,
            dataset == Dataset::Qmnist,
        );
        fs::write(dir.join(names[2 * i]), images_file).unwrap();
        fs::write(dir.join(names[2 * i + 1]), labels_file).unwrap();
    }
    splits
}

/// A zip archive holding `files` (name, bytes), stored the way EMNIST's is (deflated).
fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn emnist_letters_come_from_a_zip_archive_upright_and_numbered_from_zero() {
    let dataset = Dataset::EmnistLetters;
    let staging = tempfile::tempdir().unwrap();
    let upright = write_variant(staging.path(), dataset);
    let names = dataset.file_names();
    // The archive holds the split's four files under gzip/, and another split's file.
    let mut members: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| {
            (
                format!("gzip/{n}"),
                fs::read(staging.path().join(n)).unwrap(),
            )
        })
        .collect();
    members.push((
        "gzip/emnist-digits-test-labels-idx1-ubyte.gz".into(),
        vec![1, 2],
    ));
    let archive = zip_of(&members);
    let md5 = md5_hex(&archive);
    let mut damaged = archive.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    let server = Server::start(HashMap::from([
        ("/bad/gzip.zip".to_string(), Reply::Body(damaged)),
        ("/good/gzip.zip".to_string(), Reply::Body(archive)),
    ]));

    let dir = tempfile::tempdir().unwrap();
    let expected = ExpectedFile {
        name: "gzip.zip",
        checksum: Checksum::FileMd5(&md5),
    };
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .map(|n| (&*members.iter().find(|m| m.0.ends_with(n)).unwrap().0, *n))
        .collect();
    let mirrors = [server.mirror("bad"), server.mirror("good")];
    let written = download_from_archive(dir.path(), &expected, &pairs, &mirrors, false).unwrap();
    assert_eq!(written.len(), 4);
    // The four files and nothing else: no archive, no temporary files.
    let mut wanted: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    wanted.sort();
    assert_eq!(common::entries(dir.path()), wanted);
    assert_eq!(Dataset::recognize(dir.path()), Some(dataset));

    let source = DataSource {
        dir: dir.path().to_path_buf(),
        dataset: Some(dataset),
    };
    for (split, (images, labels)) in [Split::Train, Split::Test].into_iter().zip(&upright) {
        let loaded = source.load(split).unwrap();
        assert_eq!(&loaded.images, images, "{split:?} images are upright");
        assert_eq!(&loaded.labels, labels, "{split:?} labels start at 0");
    }
    // EMNIST's files are known by their names (only the archive's checksum is published).
    let train = source.load(Split::Train).unwrap();
    let info = source.identify(&[(Split::Train, &train)]);
    assert_eq!(info.dataset, Some(dataset));
    assert_eq!(info.class_names.len(), 26);

    // Present files are not fetched again: no mirror is needed.
    assert!(
        download_from_archive(dir.path(), &expected, &pairs, &[], false)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_archive_with_the_wrong_checksum_or_member_is_refused_and_leaves_nothing() {
    let archive = zip_of(&[("gzip/other.gz".to_string(), vec![1, 2, 3])]);
    let server = Server::start(HashMap::from([(
        "/m/gzip.zip".to_string(),
        Reply::Body(archive.clone()),
    )]));
    let dir = tempfile::tempdir().unwrap();
    let pairs = [("gzip/emnist-digits-test-labels-idx1-ubyte.gz", "labels.gz")];
    let wrong = ExpectedFile {
        name: "gzip.zip",
        checksum: Checksum::FileMd5("0123456789abcdef0123456789abcdef"),
    };
    let err = download_from_archive(dir.path(), &wrong, &pairs, &[server.mirror("m")], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checksum mismatch: the md5 is"), "{err}");
    assert!(
        common::entries(dir.path()).is_empty(),
        "{:?}",
        common::entries(dir.path())
    );

    let md5 = md5_hex(&archive);
    let right = ExpectedFile {
        name: "gzip.zip",
        checksum: Checksum::FileMd5(&md5),
    };
    let err = download_from_archive(dir.path(), &right, &pairs, &[server.mirror("m")], false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot extract gzip/emnist-digits-test-labels-idx1-ubyte.gz"),
        "{err}"
    );
    assert!(
        common::entries(dir.path()).is_empty(),
        "{:?}",
        common::entries(dir.path())
    );
}

#[test]
fn qmnist_files_download_by_md5_and_their_int_label_rows_load() {
    let dataset = Dataset::Qmnist;
    let staging = tempfile::tempdir().unwrap();
    let upright = write_variant(staging.path(), dataset);
    let names = dataset.file_names();
    let bytes: Vec<Vec<u8>> = names
        .iter()
        .map(|n| fs::read(staging.path().join(n)).unwrap())
        .collect();
    let sums: Vec<String> = bytes.iter().map(|b| md5_hex(b)).collect();
    let routes = names
        .iter()
        .zip(&bytes)
        .map(|(n, b)| (format!("/q/{n}"), Reply::Body(b.clone())))
        .collect();
    let server = Server::start(routes);
    let expected: Vec<ExpectedFile> = names
        .iter()
        .zip(&sums)
        .map(|(name, sum)| ExpectedFile {
            name,
            checksum: Checksum::FileMd5(sum),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    download_missing_files(dir.path(), &expected, &[server.mirror("q")], false).unwrap();
    assert_eq!(Dataset::recognize(dir.path()), Some(dataset));
    let source = DataSource {
        dir: dir.path().to_path_buf(),
        dataset: Some(dataset),
    };
    let test = source.load(Split::Test).unwrap();
    assert_eq!(test.images, upright[1].0);
    assert_eq!(test.labels, upright[1].1, "the first value of each row");
}

fn mnist_mlp(dir: &Path) -> assert_cmd::Command {
    let mut cmd = cargo_bin_cmd!("mnist-mlp");
    cmd.current_dir(dir).env_remove("MNIST_DATA_DIR");
    cmd
}

#[test]
fn a_variant_trains_with_its_classes_and_refuses_another_class_count() {
    let work = tempfile::tempdir().unwrap();
    let (letters, digits) = (work.path().join("letters"), work.path().join("digits"));
    fs::create_dir(&letters).unwrap();
    fs::create_dir(&digits).unwrap();
    write_variant(&letters, Dataset::EmnistLetters);
    common::write_synthetic_mnist(&digits, 600, 200, 28);

    // The folder is recognised by its file names: 26 classes, named a to z.
    let out = mnist_mlp(work.path())
        .args([
            "train",
            "--offline",
            "--data-dir",
            "letters",
            "--epochs",
            "2",
        ])
        .args(["--hidden", "32", "--weights", "letters.bin"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.contains("784-32-26 relu on 600 emnist-letters images"),
        "{out}"
    );
    let run = weights::load(&work.path().join("letters.bin")).unwrap();
    assert_eq!(run.data.dataset, Some(Dataset::EmnistLetters));
    assert_eq!(run.data.class_names, Dataset::EmnistLetters.class_names());
    let accuracy = run.history.last().unwrap().test_accuracy;
    assert!(accuracy > 0.5, "the bars are learnable: {accuracy}");

    // Evaluated on its own test set it works; on MNIST (10 classes) it is refused.
    mnist_mlp(work.path())
        .args(["evaluate-hw1", "--offline", "--data-dir", "letters"])
        .args(["--weights", "letters.bin"])
        .assert()
        .success()
        .stdout(predicate::str::contains("test accuracy"));
    mnist_mlp(work.path())
        .args([
            "evaluate-hw1",
            "--offline",
            "--dataset",
            "mnist",
            "--data-dir",
            "digits",
        ])
        .args(["--weights", "letters.bin"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("trained on emnist-letters")
                .and(predicate::str::contains(
                    "the network has 26 classes, mnist has 10",
                ))
                .and(predicate::str::contains("panicked").not()),
        );

    // Asking for one data set in a folder of another is refused.
    mnist_mlp(work.path())
        .args([
            "train",
            "--offline",
            "--dataset",
            "qmnist",
            "--data-dir",
            "letters",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--dataset qmnist was asked for, but letters holds emnist-letters",
        ));
}

#[test]
fn the_default_folder_is_named_after_the_data_set() {
    let work = tempfile::tempdir().unwrap();
    mnist_mlp(work.path())
        .args(["train", "--offline", "--dataset", "fashion-mnist"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("fashion-mnist files missing in data/fashion-mnist")
                .and(predicate::str::contains("t10k-labels-idx1-ubyte.gz")),
        );
    // MNIST_DATA_DIR points at MNIST only: another data set keeps its own folder.
    mnist_mlp(work.path())
        .env("MNIST_DATA_DIR", work.path().join("elsewhere"))
        .args(["evaluate-hw1", "--offline", "--dataset", "kmnist"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "kmnist files missing in data/kmnist",
        ));
}

#[test]
fn download_checks_a_variant_against_torchvision_s_md5() {
    // Synthetic QMNIST files cannot have the real files' md5: every one is refused, and
    // nothing is left: not even the data folder the download created.
    let staging = tempfile::tempdir().unwrap();
    write_variant(staging.path(), Dataset::Qmnist);
    let routes = Dataset::Qmnist
        .file_names()
        .iter()
        .map(|n| {
            let bytes = fs::read(staging.path().join(n)).unwrap();
            (format!("/q/{n}"), Reply::Body(bytes))
        })
        .collect();
    let server = Server::start(routes);
    let work = tempfile::tempdir().unwrap();
    mnist_mlp(work.path())
        .args([
            "download",
            "--dataset",
            "qmnist",
            "--mirror",
            &server.mirror("q"),
        ])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("could not download qmnist-train-images-idx3-ubyte.gz")
                .and(predicate::str::contains("checksum mismatch: the md5 is"))
                .and(predicate::str::contains(
                    "expected ed72d4157d28c017586c42bc6afe6370",
                )),
        );
    assert!(
        !work.path().join("data").exists(),
        "{:?}",
        common::entries(work.path())
    );
}
