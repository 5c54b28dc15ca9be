//! Downloading MNIST from a list of mirrors, verified by sha256.
//!
//! Each missing file is fetched from the mirrors in order; any failure (no connection, an
//! HTTP error status, a broken-off transfer, a damaged gzip stream, a wrong checksum) moves
//! on to the next mirror. A download goes to a temporary file in the data folder and is
//! renamed into place only once the sha256 of its decompressed content is verified, so the
//! folder never holds a partial or wrong file under an MNIST name.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::atomic::temp_file_builder;
use crate::dataset::{self, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use crate::idx::content_reader;

/// Mirrors serving the four MNIST files under their canonical names, tried in order.
pub const DEFAULT_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// A file to download: its name on the mirrors (and in the data folder), and the sha256
/// (hex) of its decompressed content, which every good copy shares whatever its compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedFile<'a> {
    pub name: &'a str,
    pub sha256: &'a str,
}

/// The four MNIST files and the sha256 of their decompressed content.
pub const MNIST_FILES: [ExpectedFile<'static>; 4] = [
    ExpectedFile {
        name: TRAIN_IMAGES,
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    ExpectedFile {
        name: TRAIN_LABELS,
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    ExpectedFile {
        name: TEST_IMAGES,
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    ExpectedFile {
        name: TEST_LABELS,
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// Time allowed to open a connection to a mirror.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A transfer that stalls this long without receiving a byte moves on to the next mirror.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for one whole request, generous for the 10 MB file on a slow link.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// No MNIST file comes near this size, compressed or not; a larger body is refused.
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

/// What failed at one mirror, for the error listing all mirrors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFailure {
    pub url: String,
    pub reason: String,
}

/// Errors from getting the data files in place.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("no download mirror given: pass at least one mirror URL")]
    NoMirrors,

    #[error("cannot create the data folder {}: {source}", dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },

    #[error(
        "could not download {name} into {}; every mirror failed:{}\n\
         Check the network connection and try again, or put a copy of {name} in that folder \
         by hand",
        dir.display(),
        list_failures(failures)
    )]
    AllMirrorsFailed {
        name: String,
        dir: PathBuf,
        failures: Vec<MirrorFailure>,
    },

    #[error(
        "MNIST files missing in {}: {}. Working offline, so nothing was downloaded: \
         run `mnist-mlp download` with network access, put the files in that folder by hand, \
         or point --data-dir (or MNIST_DATA_DIR) at a folder that holds them",
        dir.display(),
        missing.join(", ")
    )]
    Offline { dir: PathBuf, missing: Vec<String> },
}

/// One indented line per failed mirror.
fn list_failures(failures: &[MirrorFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("\n  {}: {}", f.url, f.reason))
        .collect()
}

/// Makes sure the four MNIST files are in `dir`: does nothing if they are all there
/// (under any accepted name), downloads the missing ones unless `offline`.
pub fn ensure_data(
    dir: &Path,
    offline: bool,
    mirrors: &[String],
    show_progress: bool,
) -> Result<(), DownloadError> {
    let missing = dataset::missing_files(dir);
    if missing.is_empty() {
        return Ok(());
    }
    if offline {
        return Err(DownloadError::Offline {
            dir: dir.to_path_buf(),
            missing: missing.into_iter().map(String::from).collect(),
        });
    }
    download_missing(dir, mirrors, show_progress).map(|_| ())
}

/// Downloads the MNIST files missing from `dir`, trying `mirrors` in order for each, and
/// returns the paths of the files downloaded. `show_progress` draws a progress bar (for a
/// terminal); otherwise one plain line per file goes to stderr.
pub fn download_missing(
    dir: &Path,
    mirrors: &[String],
    show_progress: bool,
) -> Result<Vec<PathBuf>, DownloadError> {
    download_missing_files(dir, &MNIST_FILES, mirrors, show_progress)
}

/// [`download_missing`] for any list of files and checksums.
pub fn download_missing_files(
    dir: &Path,
    files: &[ExpectedFile],
    mirrors: &[String],
    show_progress: bool,
) -> Result<Vec<PathBuf>, DownloadError> {
    let missing: Vec<_> = files
        .iter()
        .filter(|file| dataset::find_file(dir, file.name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    if mirrors.is_empty() {
        return Err(DownloadError::NoMirrors);
    }
    fs::create_dir_all(dir).map_err(|source| DownloadError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let agent = new_agent();
    missing
        .into_iter()
        .map(|file| download_file(&agent, dir, file, mirrors, show_progress))
        .collect()
}

/// The sha256 (lowercase hex) of a file's content, decompressed first if it is gzip.
pub fn content_sha256(path: &Path) -> io::Result<String> {
    hash_content(File::open(path)?).map(|(sha, _)| sha)
}

/// An HTTP client with the timeouts above.
fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(STALL_TIMEOUT))
        .timeout_global(Some(REQUEST_TIMEOUT))
        .user_agent(concat!("mnist-mlp/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Fetches one file from the first mirror that delivers it intact, noting each failure on
/// stderr; returns where the file now is.
fn download_file(
    agent: &ureq::Agent,
    dir: &Path,
    file: &ExpectedFile,
    mirrors: &[String],
    show_progress: bool,
) -> Result<PathBuf, DownloadError> {
    let mut failures = Vec::new();
    for mirror in mirrors {
        let url = file_url(mirror, file.name);
        match fetch_verified(agent, dir, &url, file, show_progress) {
            Ok(path) => return Ok(path),
            Err(reason) => {
                eprintln!("note: {url}: {reason}");
                failures.push(MirrorFailure {
                    url,
                    reason: reason.to_string(),
                });
            }
        }
    }
    Err(DownloadError::AllMirrorsFailed {
        name: file.name.to_string(),
        dir: dir.to_path_buf(),
        failures,
    })
}

/// The URL of `name` on `mirror`, with or without a trailing slash on the mirror.
fn file_url(mirror: &str, name: &str) -> String {
    format!("{}/{name}", mirror.trim_end_matches('/'))
}

/// Why one mirror failed to deliver a file.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("{0}")]
    Http(#[from] ureq::Error),
    #[error("the transfer broke off: {0}")]
    Transfer(io::Error),
    #[error("cannot write a temporary file in the data folder: {0}")]
    TempFile(io::Error),
    #[error("the file is damaged: {0}")]
    Damaged(io::Error),
    #[error("checksum mismatch: the content has sha256 {actual}, expected {expected}")]
    Checksum { expected: String, actual: String },
    #[error("cannot move the download into place as {}: {source}", path.display())]
    Persist { path: PathBuf, source: io::Error },
}

/// Downloads `url` into a temporary file in `dir`, checks the sha256 of its decompressed
/// content, and renames it into place. The temporary file is removed on any failure.
fn fetch_verified(
    agent: &ureq::Agent,
    dir: &Path,
    url: &str,
    file: &ExpectedFile,
    show_progress: bool,
) -> Result<PathBuf, AttemptError> {
    let response = agent.get(url).call()?;
    let length = response.body().content_length();
    let mut tmp = temp_file_builder(".download-")
        .tempfile_in(dir)
        .map_err(AttemptError::TempFile)?;
    let progress = Progress::start(file.name, url, length, show_progress);
    let body = response
        .into_body()
        .into_with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .reader();
    let copied = copy_body(progress.wrap(body), tmp.as_file_mut());
    progress.finish(copied.is_ok());
    copied?;
    tmp.as_file().sync_all().map_err(AttemptError::TempFile)?;

    let (actual, gzip) = hash_content(tmp.reopen().map_err(AttemptError::TempFile)?)
        .map_err(AttemptError::Damaged)?;
    if !actual.eq_ignore_ascii_case(file.sha256) {
        return Err(AttemptError::Checksum {
            expected: file.sha256.to_string(),
            actual,
        });
    }
    let path = dir.join(stored_name(file.name, gzip));
    tmp.persist(&path).map_err(|e| AttemptError::Persist {
        path: path.clone(),
        source: e.error,
    })?;
    Ok(path)
}

/// The name to store a download under: `name`, less a `.gz` suffix if the content is not
/// gzip (a server may send the file decompressed).
fn stored_name(name: &str, gzip: bool) -> &str {
    match gzip {
        true => name,
        false => name.strip_suffix(".gz").unwrap_or(name),
    }
}

/// Copies a response body into `out`, telling a broken transfer from a failing disk.
fn copy_body(mut body: impl Read, out: &mut File) -> Result<(), AttemptError> {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = body.read(&mut buffer).map_err(AttemptError::Transfer)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buffer[..n])
            .map_err(AttemptError::TempFile)?;
    }
}

/// The sha256 (lowercase hex) of a file's content, decompressed if gzip, and whether it was.
fn hash_content(file: File) -> io::Result<(String, bool)> {
    let (mut reader, gzip) = content_reader(file)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, gzip))
}

/// How a download shows its progress: a bar on a terminal, one plain line otherwise.
enum Progress {
    Bar(ProgressBar),
    Line,
}

impl Progress {
    fn start(name: &str, url: &str, length: Option<u64>, show_bar: bool) -> Self {
        if !show_bar {
            let size = length
                .map(|n| format!(" ({})", HumanBytes(n)))
                .unwrap_or_default();
            eprintln!("downloading {url}{size}");
            return Progress::Line;
        }
        let (bar, template) = match length {
            Some(n) => (
                ProgressBar::new(n),
                "{msg:26} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{msg} {spinner} {bytes} {bytes_per_sec}",
            ),
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(name.to_string());
        Progress::Bar(bar)
    }

    /// `body`, counted by the bar if there is one.
    fn wrap(&self, body: impl Read + 'static) -> Box<dyn Read> {
        match self {
            Progress::Bar(bar) => Box::new(bar.wrap_read(body)),
            Progress::Line => Box::new(body),
        }
    }

    /// Leaves a full bar after a complete transfer, removes it after a failed one.
    fn finish(&self, complete: bool) {
        if let Progress::Bar(bar) = self {
            if complete {
                bar.finish();
            } else {
                bar.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(file_url("http://h/m/", "a.gz"), "http://h/m/a.gz");
        assert_eq!(file_url("http://h/m", "a.gz"), "http://h/m/a.gz");
    }

    #[test]
    fn stored_name_follows_the_content() {
        assert_eq!(stored_name(TRAIN_IMAGES, true), TRAIN_IMAGES);
        assert_eq!(stored_name(TRAIN_IMAGES, false), "train-images-idx3-ubyte");
    }

    #[test]
    fn mnist_files_are_the_canonical_names() {
        let names: Vec<_> = MNIST_FILES.iter().map(|f| f.name).collect();
        assert_eq!(names, dataset::MNIST_FILE_NAMES);
    }

    #[test]
    fn content_hash_is_the_same_for_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, gz) = (dir.path().join("raw"), dir.path().join("gz"));
        crate::idx::write_idx_labels(&raw, &[1, 2, 3], false).unwrap();
        crate::idx::write_idx_labels(&gz, &[1, 2, 3], true).unwrap();
        let expected: String = Sha256::digest(fs::read(&raw).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(content_sha256(&raw).unwrap(), expected);
        assert_eq!(content_sha256(&gz).unwrap(), expected);
    }

    #[test]
    fn no_mirrors_is_an_error_only_when_something_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = download_missing(dir.path(), &[], false).unwrap_err();
        assert!(matches!(err, DownloadError::NoMirrors), "{err}");
        let nothing: [ExpectedFile; 0] = [];
        assert!(
            download_missing_files(dir.path(), &nothing, &[], false)
                .unwrap()
                .is_empty()
        );
    }
}
