//! The data layer end to end: downloading from local mirrors (a tiny HTTP server inside the
//! test serving good, broken and failing mirrors), then loading what was downloaded; and,
//! where MNIST_DATA_DIR points at the real files, loading and verifying real MNIST.

use crate::common;

use common::server::{Reply, Server};

use std::collections::HashMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::{load_mnist, mnist_files};
use mnist_mlp::data::catalog::Dataset;
use mnist_mlp::data::catalog::{Checksum, ExpectedFile};
use mnist_mlp::data::download::{
    MinThroughput, content_sha256, download_missing_files, ensure_data,
};
use mnist_mlp::data::idx::{write_idx_images, write_idx_labels};
use mnist_mlp::data::images::{Images, NUM_CLASSES};
use mnist_mlp::data::names::{
    MNIST_FILE_NAMES, Split, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, find_file,
};
use mnist_mlp::data::source::DataSource;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------
// Synthetic MNIST-shaped files.
// ---------------------------------------------------------------------------------------

/// Small valid IDX files under the four MNIST names, their bytes (gzip) and checksums (the
/// sha256 and size of their content).
struct Fixture {
    files: Vec<(&'static str, Vec<u8>)>,
    checksums: Vec<(&'static str, String, u64)>,
    train: (Images, Vec<u8>),
    test: (Images, Vec<u8>),
}

fn images(count: usize, seed: u8) -> Images {
    Images {
        rows: 4,
        cols: 3,
        pixels: (0..count * 12)
            .map(|i| (i as u8).wrapping_mul(seed))
            .collect(),
    }
}

fn labels(count: usize) -> Vec<u8> {
    (0..count).map(|i| (i * 7 % NUM_CLASSES) as u8).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let train = (images(6, 3), labels(6));
        let test = (images(4, 5), labels(4));
        let mut files = Vec::new();
        let mut checksums = Vec::new();
        for (name, images, labels) in [
            (TRAIN_IMAGES, Some(&train.0), None),
            (TRAIN_LABELS, None, Some(&train.1)),
            (TEST_IMAGES, Some(&test.0), None),
            (TEST_LABELS, None, Some(&test.1)),
        ] {
            let (raw, gz) = (dir.path().join("raw"), dir.path().join(name));
            for (path, gzip) in [(&raw, false), (&gz, true)] {
                match (images, labels) {
                    (Some(images), _) => write_idx_images(path, images, gzip).unwrap(),
                    (_, Some(labels)) => write_idx_labels(path, labels, gzip).unwrap(),
                    _ => unreachable!(),
                }
            }
            // The checksum is of the decompressed content, i.e. of the raw file.
            let content = fs::read(&raw).unwrap();
            checksums.push((name, sha256_hex(&content), content.len() as u64));
            files.push((name, fs::read(&gz).unwrap()));
        }
        Fixture {
            files,
            checksums,
            train,
            test,
        }
    }

    fn expected(&self) -> Vec<ExpectedFile<'_>> {
        self.checksums
            .iter()
            .map(|(name, sha256, size)| ExpectedFile {
                name,
                checksum: Checksum::ContentSha256 {
                    sha256,
                    size: *size,
                },
            })
            .collect()
    }

    /// Routes for mirrors: `fail` answers 404 (images) and 500 (labels), `corrupt` serves
    /// valid gzip of the wrong content, `short` breaks off every transfer, `good` serves the
    /// right files.
    fn routes(&self) -> HashMap<String, Reply> {
        let mut routes = HashMap::new();
        for (name, bytes) in &self.files {
            let code = if name.contains("images") { 404 } else { 500 };
            routes.insert(format!("/fail/{name}"), Reply::Status(code));
            let other =
                &self.files[(self.files.iter().position(|f| f.0 == *name).unwrap() + 1) % 4];
            routes.insert(format!("/corrupt/{name}"), Reply::Body(other.1.clone()));
            routes.insert(format!("/short/{name}"), Reply::CutShort(bytes.clone()));
            routes.insert(format!("/good/{name}"), Reply::Body(bytes.clone()));
        }
        routes
    }
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

/// A URL on which nothing listens: connecting is refused at once.
fn refused_mirror() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/nothing/")
}

// ---------------------------------------------------------------------------------------
// Downloads
// ---------------------------------------------------------------------------------------

#[test]
fn falls_through_bad_mirrors_to_the_good_one() {
    let fixture = Fixture::new();
    let server = Server::start(fixture.routes());
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("mnist"); // created by the download
    let mirrors = [
        refused_mirror(),
        server.mirror("fail"),
        server.mirror("corrupt"),
        server.mirror("short"),
        server.mirror("good"),
    ];

    let downloaded = download_missing_files(&dir, &fixture.expected(), &mirrors, false).unwrap();

    let expected_paths: Vec<PathBuf> = MNIST_FILE_NAMES.iter().map(|n| dir.join(n)).collect();
    assert_eq!(downloaded, expected_paths);
    assert_eq!(
        common::entries(&dir),
        sorted(&MNIST_FILE_NAMES),
        "temporary files left behind"
    );
    for (name, sha256, _) in &fixture.checksums {
        assert_eq!(&content_sha256(&dir.join(name)).unwrap(), sha256, "{name}");
    }
    let train = load_mnist(&dir, Split::Train).unwrap();
    assert_eq!((train.images, train.labels), fixture.train);
    let test = load_mnist(&dir, Split::Test).unwrap();
    assert_eq!((test.images, test.labels), fixture.test);
    // Every server mirror was asked for every file, in mirror order.
    let requested = server.requested();
    for name in MNIST_FILE_NAMES {
        let order: Vec<_> = requested
            .iter()
            .filter(|p| p.ends_with(name))
            .map(|p| p.split('/').nth(1).unwrap())
            .collect();
        assert_eq!(order, ["fail", "corrupt", "short", "good"], "{name}");
    }
}

#[test]
fn an_error_names_every_failed_mirror_and_leaves_nothing_behind() {
    let fixture = Fixture::new();
    let server = Server::start(fixture.routes());
    let dir = tempfile::tempdir().unwrap();
    let refused = refused_mirror();
    let mirrors = [
        server.mirror("fail"),
        server.mirror("corrupt"),
        refused.clone(),
        server.mirror("short"),
    ];

    let err = download_missing_files(dir.path(), &fixture.expected(), &mirrors, false)
        .unwrap_err()
        .to_string();

    for needle in [
        TRAIN_IMAGES,
        &dir.path().display().to_string(),
        &format!("{}{TRAIN_IMAGES}: http status: 404", mirrors[0]),
        &format!("{}{TRAIN_IMAGES}: checksum mismatch", mirrors[1]),
        &format!("{refused}{TRAIN_IMAGES}: "),
        &format!("{}{TRAIN_IMAGES}: ", mirrors[3]),
    ] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    assert!(
        common::entries(dir.path()).is_empty(),
        "left behind: {:?}",
        common::entries(dir.path())
    );
}

#[test]
fn files_already_present_are_not_downloaded_again() {
    let fixture = Fixture::new();
    let server = Server::start(fixture.routes());
    let dir = tempfile::tempdir().unwrap();
    // The training images are there already, under another accepted name and uncompressed.
    write_idx_images(
        &dir.path().join("train-images.idx3-ubyte"),
        &fixture.train.0,
        false,
    )
    .unwrap();

    let downloaded = download_missing_files(
        dir.path(),
        &fixture.expected(),
        &[server.mirror("good")],
        false,
    )
    .unwrap();

    assert_eq!(downloaded.len(), 3);
    assert!(!downloaded.iter().any(|p| p.ends_with(TRAIN_IMAGES)));
    assert!(!server.requested().iter().any(|p| p.ends_with(TRAIN_IMAGES)));
    assert_eq!(
        load_mnist(dir.path(), Split::Train).unwrap().images,
        fixture.train.0
    );

    // A second run finds everything in place and asks the server for nothing.
    let before = server.requested().len();
    let again = download_missing_files(
        dir.path(),
        &fixture.expected(),
        &[server.mirror("good")],
        false,
    )
    .unwrap();
    assert!(again.is_empty());
    assert_eq!(server.requested().len(), before);
}

#[test]
fn ensure_data_offline_says_what_is_missing_and_what_to_do() {
    let fixture = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let (name, bytes) = &fixture.files[0];
    fs::write(dir.path().join(name), bytes).unwrap();

    let err = ensure_data(&mnist_in(dir.path()), &Split::BOTH, true, &[], false)
        .unwrap_err()
        .to_string();

    for needle in [
        TRAIN_LABELS,
        TEST_IMAGES,
        TEST_LABELS,
        &dir.path().display().to_string(),
        "mnist-mlp download",
        "--data-dir",
        "MNIST_DATA_DIR",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    assert!(
        !err.contains(TRAIN_IMAGES),
        "present file reported missing: {err}"
    );
}

#[test]
fn ensure_data_is_a_no_op_when_everything_is_there() {
    let fixture = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in &fixture.files {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    // Neither offline nor with a dead mirror does it try anything.
    let source = mnist_in(dir.path());
    ensure_data(&source, &Split::BOTH, true, &[], false).unwrap();
    ensure_data(&source, &Split::BOTH, false, &[refused_mirror()], false).unwrap();
}

fn mnist_in(dir: &Path) -> DataSource {
    DataSource {
        dir: dir.to_path_buf(),
        dataset: Some(Dataset::Mnist),
    }
}

// ---------------------------------------------------------------------------------------
// Real MNIST, where available
// ---------------------------------------------------------------------------------------

#[test]
fn real_mnist_loads_and_matches_its_checksums() {
    // Says loudly that the test did not run, or fails under CI, when neither MNIST_DATA_DIR
    // nor data/mnist gives the files.
    let Some(dir) = common::real_mnist_dir("real_mnist_loads_and_matches_its_checksums") else {
        return;
    };
    for (split, count) in [(Split::Train, 60_000), (Split::Test, 10_000)] {
        let data = load_mnist(&dir, split).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((data.images.len(), data.labels.len()), (count, count));
        assert_eq!((data.images.rows, data.images.cols), (28, 28));
    }
    for file in mnist_files() {
        let path = find_file(&dir, file.name).unwrap();
        assert_eq!(
            content_sha256(&path).unwrap(),
            file.checksum.expected(),
            "{}",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Slow, oversized and interrupted downloads, through the binary
// ---------------------------------------------------------------------------------------

/// `mnist-mlp download` of MNIST into `dir` from `mirror` only.
fn download_command(dir: &Path, mirror: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mnist-mlp"));
    cmd.env_remove("MNIST_DATA_DIR")
        .arg("download")
        .arg("--data-dir")
        .arg(dir)
        .args(["--mirror", mirror]);
    cmd
}

/// Routes serving `bytes` as each of the four MNIST files, under `/<folder>/`.
fn serving(folder: &str, reply: impl Fn() -> Reply) -> HashMap<String, Reply> {
    MNIST_FILE_NAMES
        .iter()
        .map(|name| (format!("/{folder}/{name}"), reply()))
        .collect()
}

#[test]
fn a_mirror_slower_than_the_minimum_throughput_fails_soon_and_leaves_no_folder() {
    let server = Server::start(serving("slow", || Reply::Trickle(vec![0; 1000])));
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("new/mnist");
    let started = std::time::Instant::now();
    // One byte per 100 ms against a rule of 100 bytes a second.
    let output = download_command(&dir, &server.mirror("slow"))
        .env(MinThroughput::ENV_VAR, "100/1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the mirror is too slow") && stderr.contains(TRAIN_IMAGES),
        "{stderr}"
    );
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    assert!(
        !data.path().join("new").exists(),
        "the folders the download created are left: {:?}",
        common::entries(data.path())
    );
}

#[test]
fn a_gzip_bomb_is_decompressed_no_further_than_the_expected_size() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    // 1 GiB of zeros: 1024 gzip members of 1 MiB each, about 1 KiB compressed apiece.
    let mut member = GzEncoder::new(Vec::new(), Compression::best());
    member.write_all(&vec![0; 1 << 20]).unwrap();
    let member = member.finish().unwrap();
    let bomb = member.repeat(1024);
    let server = Server::start(serving("bomb", || Reply::Body(bomb.clone())));
    let data = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let output = download_command(data.path(), &server.mirror("bomb"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let size = 16 + 60_000 * 784;
    assert!(
        stderr.contains(&format!("larger than the expected {size} bytes")),
        "{stderr}"
    );
    eprintln!("refused in {:?}", started.elapsed());
    assert!(common::entries(data.path()).is_empty(), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigterm_during_a_download_removes_its_temporary_file_and_new_folder() {
    let server = Server::start(serving("slow", || Reply::Trickle(vec![0; 1000])));
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("new/mnist");
    let mut child = download_command(&dir, &server.mirror("slow"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let temp_file_present = || {
        dir.is_dir()
            && common::entries(&dir)
                .iter()
                .any(|name| name.starts_with(".download-"))
    };
    while !temp_file_present() {
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    common::send_signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status}");
    assert!(
        !data.path().join("new").exists(),
        "left behind: {:?}",
        common::entries(&dir)
    );
}
