//! The data layer end to end: downloading from local mirrors (a tiny HTTP server inside the
//! test serving good, broken and failing mirrors), then loading what was downloaded; and,
//! where MNIST_DATA_DIR points at the real files, loading and verifying real MNIST.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mnist_mlp::dataset::{
    DataSource, Images, MNIST_FILE_NAMES, NUM_CLASSES, Split, TEST_IMAGES, TEST_LABELS,
    TRAIN_IMAGES, TRAIN_LABELS, find_file, load_split,
};
use mnist_mlp::download::{
    Checksum, ExpectedFile, MNIST_FILES, content_sha256, download_missing_files, ensure_data,
};
use mnist_mlp::idx::{write_idx_images, write_idx_labels};
use mnist_mlp::variants::Dataset;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one request per connection, a fixed table of responses.
// ---------------------------------------------------------------------------------------

/// What the server sends for a path.
#[derive(Clone)]
enum Reply {
    /// A status code with a short text body.
    Status(u16),
    /// 200 with these bytes.
    Body(Vec<u8>),
    /// 200 announcing the full length, but only the first half of the bytes, then closing.
    CutShort(Vec<u8>),
}

/// A server on 127.0.0.1 that answers at most `MAX_CONNECTIONS` connections and stops when
/// dropped. It records every path requested.
struct Server {
    base: String,
    requested: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

/// Bound on the connections one test server answers, so it can never run away.
const MAX_CONNECTIONS: usize = 100;

impl Server {
    fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requested = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requested);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming().take(MAX_CONNECTIONS) {
                let Ok(stream) = stream else { continue };
                match request_path(&stream) {
                    Some(path) if path == "/stop" => return,
                    Some(path) => {
                        let reply = routes.get(&path).cloned().unwrap_or(Reply::Status(404));
                        log.lock().unwrap().push(path);
                        let _ = respond(stream, &reply);
                    }
                    None => {}
                }
            }
        });
        Server {
            base,
            requested,
            thread: Some(thread),
        }
    }

    /// The URL of a mirror folder on this server.
    fn mirror(&self, folder: &str) -> String {
        format!("{}/{folder}/", self.base)
    }

    fn requested(&self) -> Vec<String> {
        self.requested.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let stop = TcpStream::connect(self.base.trim_start_matches("http://"))
            .and_then(|mut s| s.write_all(b"GET /stop HTTP/1.1\r\n\r\n"));
        if let (Ok(()), Some(thread)) = (stop, self.thread.take()) {
            let _ = thread.join();
        }
    }
}

/// Reads a request head and returns its path.
fn request_path(stream: &TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut first_line = String::new();
    reader.read_line(&mut first_line).ok()?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
    }
    first_line.split_whitespace().nth(1).map(String::from)
}

fn respond(mut stream: TcpStream, reply: &Reply) -> std::io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let (status, body, sent) = match reply {
        Reply::Status(code) => (*code, b"failure".to_vec(), 7),
        Reply::Body(bytes) => (200, bytes.clone(), bytes.len()),
        Reply::CutShort(bytes) => (200, bytes.clone(), bytes.len() / 2),
    };
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body[..sent])?;
    stream.flush()
}

// ---------------------------------------------------------------------------------------
// Synthetic MNIST-shaped files.
// ---------------------------------------------------------------------------------------

/// Small valid IDX files under the four MNIST names, their bytes (gzip) and checksums.
struct Fixture {
    files: Vec<(&'static str, Vec<u8>)>,
    checksums: Vec<(&'static str, String)>,
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
            checksums.push((name, sha256_hex(&fs::read(&raw).unwrap())));
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
            .map(|(name, sha256)| ExpectedFile {
                name,
                checksum: Checksum::ContentSha256(sha256),
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

/// The names of the entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
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
        entries(&dir),
        sorted(&MNIST_FILE_NAMES),
        "temporary files left behind"
    );
    for (name, sha256) in &fixture.checksums {
        assert_eq!(&content_sha256(&dir.join(name)).unwrap(), sha256, "{name}");
    }
    let train = load_split(&dir, Split::Train).unwrap();
    assert_eq!((train.images, train.labels), fixture.train);
    let test = load_split(&dir, Split::Test).unwrap();
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
        entries(dir.path()).is_empty(),
        "left behind: {:?}",
        entries(dir.path())
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
        load_split(dir.path(), Split::Train).unwrap().images,
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

    let err = ensure_data(&mnist_in(dir.path()), true, &[], false)
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
    ensure_data(&source, true, &[], false).unwrap();
    ensure_data(&source, false, &[refused_mirror()], false).unwrap();
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
    // Says loudly that the test did not run, or fails under CI, when MNIST_DATA_DIR is unset.
    let Some(dir) = common::real_mnist_dir("real_mnist_loads_and_matches_its_checksums") else {
        return;
    };
    for (split, count) in [(Split::Train, 60_000), (Split::Test, 10_000)] {
        let data = load_split(&dir, split).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((data.images.len(), data.labels.len()), (count, count));
        assert_eq!((data.images.rows, data.images.cols), (28, 28));
    }
    for file in MNIST_FILES {
        let path = find_file(&dir, file.name).unwrap();
        assert_eq!(
            content_sha256(&path).unwrap(),
            file.checksum.expected(),
            "{}",
            path.display()
        );
    }
}
