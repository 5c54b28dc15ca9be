//! Downloading a data set from a list of mirrors, verified by checksum.
//!
//! Each missing file is fetched from the mirrors in order; any failure (no connection, an
//! HTTP error status, a broken-off transfer, a damaged gzip stream, a wrong checksum) moves
//! on to the next mirror. A download goes to a temporary file in the data folder and is
//! renamed into place only once its checksum is verified, so the folder never holds a
//! partial or wrong file under a data set's name; the temporary file goes when the download
//! fails or SIGINT or SIGTERM ends it, and so does a data folder the download created (if
//! still empty). A transfer slower than [`MinThroughput`] moves on to the next mirror, and
//! a gzip file is decompressed, to check its content, no further than its expected size
//! (see [`Checksum::of`]). A data set shipped as one zip archive
//! (EMNIST) is downloaded and verified the same way, then the split's four files are
//! extracted from it, each also through a temporary file, and the archive is removed.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

use tempfile::NamedTempFile;

use crate::data::catalog::{Checksum, ExpectedFile};
use crate::data::catalog::{Dataset, Source};
use crate::data::idx::content_reader;
use crate::data::names::{self, Split};
use crate::data::source::{DataRequest, DataSource, SourceError, resolve_source};
use crate::io::atomic::temp_file_builder;
use crate::io::on_signal::RemoveOnSignal;

/// The mirrors of `dataset`, tried in order unless the user gives others.
pub fn default_mirrors(dataset: Dataset) -> Vec<String> {
    let (Source::Files { mirrors, .. } | Source::Archive { mirrors, .. }) = dataset.source();
    mirrors.iter().map(|m| m.to_string()).collect()
}
/// Time allowed to open a connection to a mirror.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one whole request, generous for the 10 MB file on a slow link.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// No MNIST file comes near this size, compressed or not; a larger body is refused.
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

/// The least a transfer must deliver: at least `bytes` in every `window`, or it moves on to
/// the next mirror. Without it a server that trickles (a byte every few seconds) would hold
/// a download until the request's overall limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinThroughput {
    pub bytes: u64,
    pub window: Duration,
}

impl MinThroughput {
    /// 32 KiB in every 30 s, about 1 KiB/s.
    pub const DEFAULT: MinThroughput = MinThroughput {
        bytes: 32 << 10,
        window: Duration::from_secs(30),
    };
    /// Replaces the default rule, as `BYTES/SECONDS` (for tests, which need a strict rule
    /// to act within seconds).
    pub const ENV_VAR: &str = "MNIST_MLP_MIN_THROUGHPUT";

    /// The rule [`Self::ENV_VAR`] gives, else the default (with a warning, once, if it
    /// cannot be read).
    fn from_env() -> Self {
        static RULE: OnceLock<MinThroughput> = OnceLock::new();
        *RULE.get_or_init(Self::read_env)
    }

    fn read_env() -> Self {
        let Some(value) = std::env::var_os(Self::ENV_VAR) else {
            return Self::DEFAULT;
        };
        let parsed = value.to_str().and_then(|text| {
            let (bytes, seconds) = text.split_once('/')?;
            let window = Duration::try_from_secs_f64(seconds.trim().parse().ok()?).ok()?;
            let bytes = bytes.trim().parse().ok()?;
            (!window.is_zero()).then_some(MinThroughput { bytes, window })
        });
        parsed.unwrap_or_else(|| {
            eprintln!(
                "warning: ignoring {}={}: expected BYTES/SECONDS",
                Self::ENV_VAR,
                value.to_string_lossy()
            );
            Self::DEFAULT
        })
    }
}

/// A reader that fails once a window of its rule's length delivers fewer bytes than the
/// rule asks.
struct Throughput<R> {
    inner: R,
    rule: MinThroughput,
    window_start: Instant,
    window_bytes: u64,
}

impl<R> Throughput<R> {
    fn new(inner: R, rule: MinThroughput) -> Self {
        Throughput {
            inner,
            rule,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }
}

impl<R: Read> Read for Throughput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.window_bytes += n as u64;
        let elapsed = self.window_start.elapsed();
        // The end of the body (`n == 0`) completes the transfer, however slow its last bytes.
        if n > 0 && elapsed >= self.rule.window {
            if self.window_bytes < self.rule.bytes {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the mirror is too slow: {} bytes in {}, fewer than the {} required in \
                         every {}",
                        self.window_bytes,
                        humantime::format_duration(Duration::from_secs(elapsed.as_secs())),
                        self.rule.bytes,
                        humantime::format_duration(self.rule.window)
                    ),
                ));
            }
            self.window_start = Instant::now();
            self.window_bytes = 0;
        }
        Ok(n)
    }
}

/// A temporary file in the data folder: removed when dropped, and when SIGINT or SIGTERM
/// ends the process.
struct TempDownload {
    file: NamedTempFile,
    _on_signal: RemoveOnSignal,
}

impl TempDownload {
    /// A new temporary file in `dir` whose name starts with `prefix`.
    fn create(dir: &Path, prefix: &'static str) -> io::Result<Self> {
        let file = temp_file_builder(prefix).tempfile_in(dir)?;
        let on_signal = RemoveOnSignal::file(file.path())?;
        Ok(TempDownload {
            file,
            _on_signal: on_signal,
        })
    }
}

/// The folders a download created (the data folder and any missing parents): removed again
/// if still empty when the download fails or a signal ends it, unless [`Self::keep`] says
/// it succeeded.
struct CreatedFolders {
    /// Innermost first.
    folders: Vec<PathBuf>,
    _on_signal: Vec<RemoveOnSignal>,
    keep: bool,
}

impl CreatedFolders {
    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for CreatedFolders {
    fn drop(&mut self) {
        if !self.keep {
            for folder in &self.folders {
                // Only an empty folder goes; one that holds files stays as it is.
                let _ = fs::remove_dir(folder);
            }
        }
    }
}

/// What failed at one mirror, for the error listing all mirrors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFailure {
    pub url: String,
    pub reason: String,
}

/// Whether a data folder exists, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderState {
    Present,
    Missing,
    File,
}

impl FolderState {
    pub fn of(dir: &Path) -> Self {
        match (dir.is_dir(), dir.exists()) {
            (true, _) => FolderState::Present,
            (false, true) => FolderState::File,
            (false, false) => FolderState::Missing,
        }
    }
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
        "{what} files missing in {}{}: {}. Working offline, so nothing was downloaded: \
         run `mnist-mlp download` with network access, put the files in that folder by hand, \
         or point --data-dir (or MNIST_DATA_DIR) at a folder that holds them",
        dir.display(),
        match folder { FolderState::Missing => " (the folder does not exist)",
                       FolderState::File => " (it is a file, not a folder)",
                       FolderState::Present => "" },
        missing.join(", ")
    )]
    Offline {
        what: String,
        dir: PathBuf,
        folder: FolderState,
        missing: Vec<String>,
    },

    #[error(
        "cannot extract {member} from the archive downloaded from {url} into {}: {reason}",
        dir.display()
    )]
    Extract {
        url: String,
        member: String,
        dir: PathBuf,
        reason: String,
    },

    #[error(
        "the files in {} are missing and their data set is not known, so they cannot be \
         downloaded: name it with --dataset",
        dir.display()
    )]
    Unknown { dir: PathBuf },

    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Resolves `request` to a folder and its data set, then downloads the files of `splits`
/// that are missing unless `offline`. `mirrors` replace the data set's own when not empty.
pub fn prepare_source(
    request: &DataRequest,
    splits: &[Split],
    offline: bool,
    mirrors: &[String],
    show_progress: bool,
) -> Result<DataSource, DownloadError> {
    let source = resolve_source(request, splits)?;
    ensure_data(&source, splits, offline, mirrors, show_progress)?;
    Ok(source)
}

/// One indented line per failed mirror.
fn list_failures(failures: &[MirrorFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("\n  {}: {}", f.url, f.reason))
        .collect()
}

/// Makes sure the four files of `source` are in its folder: does nothing if they are all
/// there (under any accepted name), downloads the missing ones unless `offline`.
/// `mirrors` replace the data set's own when not empty.
pub fn ensure_data(
    source: &DataSource,
    splits: &[Split],
    offline: bool,
    mirrors: &[String],
    show_progress: bool,
) -> Result<(), DownloadError> {
    let missing = source.missing_files(splits);
    if missing.is_empty() {
        return Ok(());
    }
    if offline {
        return Err(DownloadError::Offline {
            what: source.describe(),
            dir: source.dir.clone(),
            folder: FolderState::of(&source.dir),
            missing: missing.into_iter().map(String::from).collect(),
        });
    }
    download_missing(source, splits, mirrors, show_progress).map(|_| ())
}

/// Downloads the files of `source` missing from its folder, trying the mirrors in order,
/// and returns the paths of the files downloaded. `mirrors` replace the data set's own when
/// not empty. `show_progress` draws a progress bar (for a terminal); otherwise one plain
/// line per file goes to stderr.
pub fn download_missing(
    source: &DataSource,
    splits: &[Split],
    mirrors: &[String],
    show_progress: bool,
) -> Result<Vec<PathBuf>, DownloadError> {
    let dir = &source.dir;
    let wanted = source.split_file_names(splits);
    let Some(dataset) = source.dataset else {
        return match source.missing_files(splits).is_empty() {
            true => Ok(Vec::new()),
            false => Err(DownloadError::Unknown { dir: dir.clone() }),
        };
    };
    let mirrors = match mirrors.is_empty() {
        true => default_mirrors(dataset),
        false => mirrors.to_vec(),
    };
    match dataset.source() {
        Source::Files { files, .. } => {
            let files: Vec<_> = files
                .into_iter()
                .filter(|f| wanted.contains(&f.name))
                .collect();
            download_missing_files(dir, &files, &mirrors, show_progress)
        }
        Source::Archive {
            archive, members, ..
        } => {
            let members: Vec<_> = (members.into_iter().zip(dataset.file_names()))
                .filter(|(_, name)| wanted.contains(name))
                .collect();
            download_from_archive(dir, &archive, &members, &mirrors, show_progress)
        }
    }
}

/// Downloads the zip archive `archive` if any of the files named by the (member, name)
/// pairs is missing from `dir`, then extracts the missing ones; the archive itself is not
/// kept. Returns the paths of the files extracted.
pub fn download_from_archive(
    dir: &Path,
    archive: &ExpectedFile,
    members: &[(&str, &str)],
    mirrors: &[String],
    show_progress: bool,
) -> Result<Vec<PathBuf>, DownloadError> {
    let wanted: Vec<(&str, &str)> = members
        .iter()
        .copied()
        .filter(|(_, name)| names::find_file(dir, name).is_none())
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    if mirrors.is_empty() {
        return Err(DownloadError::NoMirrors);
    }
    let created = create_dir(dir)?;
    let agent = new_agent();
    let (zip, url) = download_verified(&agent, dir, archive, mirrors, show_progress)?;
    let extracted = extract_members(zip, &url, &wanted, dir)?;
    created.keep();
    Ok(extracted)
}

/// Creates `dir` and its missing parents; returns the folders it created.
fn create_dir(dir: &Path) -> Result<CreatedFolders, DownloadError> {
    let fail = |source| DownloadError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    };
    let folders: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|folder| !folder.as_os_str().is_empty() && !folder.exists())
        .map(Path::to_path_buf)
        .collect();
    // Registered outermost first, so that a signal removes the innermost first.
    let on_signal = (folders.iter().rev())
        .map(|folder| RemoveOnSignal::folder(folder))
        .collect::<io::Result<_>>()
        .map_err(fail)?;
    let created = CreatedFolders {
        folders,
        _on_signal: on_signal,
        keep: false,
    };
    fs::create_dir_all(dir).map_err(fail)?;
    Ok(created)
}

/// Extracts the (member, name) pairs of the zip archive `zip` (downloaded from `url`) into
/// `dir`, each under its name through a temporary file; returns the paths written.
fn extract_members(
    zip: TempDownload,
    url: &str,
    wanted: &[(&str, &str)],
    dir: &Path,
) -> Result<Vec<PathBuf>, DownloadError> {
    let fail = |member: &str, reason: String| DownloadError::Extract {
        url: url.to_string(),
        member: member.to_string(),
        dir: dir.to_path_buf(),
        reason,
    };
    let file = zip
        .file
        .reopen()
        .map_err(|e| fail("the archive", e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| fail("the archive", e.to_string()))?;
    let mut written = Vec::new();
    for &(member, name) in wanted {
        let mut entry = archive
            .by_name(member)
            .map_err(|e| fail(member, e.to_string()))?;
        let mut tmp =
            TempDownload::create(dir, ".extract-").map_err(|e| fail(member, e.to_string()))?;
        io::copy(&mut entry, tmp.file.as_file_mut()).map_err(|e| fail(member, e.to_string()))?;
        tmp.file
            .as_file()
            .sync_all()
            .map_err(|e| fail(member, e.to_string()))?;
        let path = dir.join(name);
        tmp.file
            .persist(&path)
            .map_err(|e| fail(member, e.error.to_string()))?;
        written.push(path);
    }
    Ok(written)
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
        .filter(|file| names::find_file(dir, file.name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    if mirrors.is_empty() {
        return Err(DownloadError::NoMirrors);
    }
    let created = create_dir(dir)?;
    let agent = new_agent();
    let downloaded = missing
        .into_iter()
        .map(|file| download_file(&agent, dir, file, mirrors, show_progress))
        .collect::<Result<_, _>>()?;
    created.keep();
    Ok(downloaded)
}

/// The sha256 (lowercase hex) of a file's content, decompressed first if it is gzip.
pub fn content_sha256(path: &Path) -> io::Result<String> {
    Checksum::content_digest().of(File::open(path)?)
}

/// An HTTP client with the timeouts above; a read that waits a whole window of the
/// [`MinThroughput`] rule for a byte fails.
fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(MinThroughput::from_env().window))
        .timeout_global(Some(REQUEST_TIMEOUT))
        .user_agent(concat!("mnist-mlp/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Fetches one file from the first mirror that delivers it intact and renames it into
/// place; returns where it now is.
fn download_file(
    agent: &ureq::Agent,
    dir: &Path,
    file: &ExpectedFile,
    mirrors: &[String],
    show_progress: bool,
) -> Result<PathBuf, DownloadError> {
    let (tmp, url) = download_verified(agent, dir, file, mirrors, show_progress)?;
    let gzip = is_gzip(&tmp.file).map_err(|e| persist_failure(dir, file, &url, e))?;
    let path = dir.join(stored_name(file.name, gzip));
    tmp.file
        .persist(&path)
        .map_err(|e| persist_failure(dir, file, &url, e.error))?;
    Ok(path)
}

/// The error of a verified download that cannot be moved into place.
fn persist_failure(dir: &Path, file: &ExpectedFile, url: &str, source: io::Error) -> DownloadError {
    DownloadError::AllMirrorsFailed {
        name: file.name.to_string(),
        dir: dir.to_path_buf(),
        failures: vec![MirrorFailure {
            url: url.to_string(),
            reason: format!("cannot move the download into place: {source}"),
        }],
    }
}

/// Whether a file starts with the gzip magic bytes.
fn is_gzip(tmp: &NamedTempFile) -> io::Result<bool> {
    Ok(content_reader(tmp.reopen()?)?.1)
}

/// Fetches one file from the first mirror that delivers it intact into a temporary file in
/// `dir`, noting each failure on stderr; returns the file and the URL it came from.
fn download_verified(
    agent: &ureq::Agent,
    dir: &Path,
    file: &ExpectedFile,
    mirrors: &[String],
    show_progress: bool,
) -> Result<(TempDownload, String), DownloadError> {
    let mut failures = Vec::new();
    for mirror in mirrors {
        let url = file_url(mirror, file.name);
        match fetch_verified(agent, dir, &url, file, show_progress) {
            Ok(tmp) => return Ok((tmp, url)),
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
    #[error("checksum mismatch: the {what} is {actual}, expected {expected}")]
    Checksum {
        what: &'static str,
        expected: String,
        actual: String,
    },
}

/// Downloads `url` into a temporary file in `dir` and checks its checksum. The temporary
/// file is removed on any failure.
fn fetch_verified(
    agent: &ureq::Agent,
    dir: &Path,
    url: &str,
    file: &ExpectedFile,
    show_progress: bool,
) -> Result<TempDownload, AttemptError> {
    let response = agent.get(url).call()?;
    let length = response.body().content_length();
    let mut tmp = TempDownload::create(dir, ".download-").map_err(AttemptError::TempFile)?;
    let progress = Progress::start(file.name, url, length, show_progress);
    let body = response
        .into_body()
        .into_with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .reader();
    let body = Throughput::new(body, MinThroughput::from_env());
    let copied = copy_body(progress.wrap(body), tmp.file.as_file_mut());
    progress.finish(copied.is_ok());
    copied?;
    tmp.file
        .as_file()
        .sync_all()
        .map_err(AttemptError::TempFile)?;

    let actual = file
        .checksum
        .of(tmp.file.reopen().map_err(AttemptError::TempFile)?)
        .map_err(AttemptError::Damaged)?;
    if !actual.eq_ignore_ascii_case(file.checksum.expected()) {
        return Err(AttemptError::Checksum {
            what: file.checksum.describe(),
            expected: file.checksum.expected().to_string(),
            actual,
        });
    }
    Ok(tmp)
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
    use crate::data::names::TRAIN_IMAGES;
    use sha2::{Digest, Sha256};

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
        let names: Vec<_> = mnist_files().iter().map(|f| f.name).collect();
        assert_eq!(names, crate::data::names::MNIST_FILE_NAMES);
    }

    fn mnist_files() -> [ExpectedFile<'static>; 4] {
        match Dataset::Mnist.source() {
            Source::Files { files, .. } => files,
            Source::Archive { .. } => unreachable!("MNIST is four files"),
        }
    }

    #[test]
    fn content_hash_is_the_same_for_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, gz) = (dir.path().join("raw"), dir.path().join("gz"));
        crate::data::idx::write_idx_labels(&raw, &[1, 2, 3], false).unwrap();
        crate::data::idx::write_idx_labels(&gz, &[1, 2, 3], true).unwrap();
        let expected = crate::io::digest::hex(&Sha256::digest(fs::read(&raw).unwrap()));
        assert_eq!(content_sha256(&raw).unwrap(), expected);
        assert_eq!(content_sha256(&gz).unwrap(), expected);
    }

    #[test]
    fn no_mirrors_is_an_error_only_when_something_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = download_missing_files(dir.path(), &mnist_files(), &[], false).unwrap_err();
        assert!(matches!(err, DownloadError::NoMirrors), "{err}");
        let nothing: [ExpectedFile; 0] = [];
        assert!(
            download_missing_files(dir.path(), &nothing, &[], false)
                .unwrap()
                .is_empty()
        );
    }
}
