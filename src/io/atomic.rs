//! Writing output files so that a crash, a full disk or a `kill -9` never leaves a
//! half-written file in place: the bytes go to a temporary file in the same folder,
//! are flushed to disk, and only then renamed over the destination.
//!
//! The destination is the file the path names after following its symbolic links (so a
//! link keeps pointing at the new contents); an existing destination that is not a regular
//! file (a folder, a device, a pipe, a socket) is refused, never replaced. Temporary files
//! are named `.tmp-mnist-mlp-<pid>-<random>`; those of processes that are no longer
//! running (killed in the middle of a write) are removed on the next write to their folder.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::io::digest::hex;

/// Errors from writing an output file, always naming the file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create the folder {} for {}: {source}", path.display(), file.display())]
    CreateDir {
        path: PathBuf,
        file: PathBuf,
        source: io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// The contents are unusable (e.g. NaN weights): nothing was written.
    #[error("refusing to write {}: {problem}", path.display())]
    Refused { path: PathBuf, problem: String },
    /// The destination exists and is not a regular file: replacing it would destroy it.
    #[error(
        "refusing to write {}: it is {kind}, not a regular file; outputs replace whole \
         files, so give the path of a regular file or of a new one",
        path.display()
    )]
    NotRegularFile { path: PathBuf, kind: &'static str },
}

/// How many symbolic links [`destination`] follows before giving up (Linux's own limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// The file a write to `path` lands in: `path` itself, or the file its chain of symbolic
/// links ends at (which need not exist yet).
pub fn destination(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = folder_of(&current).join(target);
            }
            Err(e) if !is_missing(&e) => return Err(e),
            _ => return Ok(current),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_SYMLINK_HOPS} symbolic links in a row"
    )))
}

/// Whether a lookup failed because the path does not exist (a missing name, or a file where
/// a folder on the way should be): the writer's folder check then says which.
fn is_missing(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// The folder a file `path` sits in (`.` for a bare name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Refuses a destination (as [`destination`] gives it) that exists and is not a regular
/// file; `path` is the name given, for the message.
pub fn check_replaceable(path: &Path, destination: &Path) -> Result<(), WriteError> {
    let meta = match fs::metadata(destination) {
        Ok(meta) => meta,
        Err(e) if is_missing(&e) => return Ok(()),
        Err(source) => {
            return Err(WriteError::Write {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.is_dir() {
        return Err(WriteError::Write {
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::IsADirectory, "it is a folder, not a file"),
        });
    }
    match special_file_kind(&meta) {
        Some(kind) => Err(WriteError::NotRegularFile {
            path: path.to_path_buf(),
            kind,
        }),
        None => Ok(()),
    }
}

/// What a file that is neither a regular file nor a folder is ("a character device", …).
fn special_file_kind(meta: &fs::Metadata) -> Option<&'static str> {
    if meta.is_file() || meta.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_char_device() {
            return Some("a character device");
        } else if kind.is_block_device() {
            return Some("a block device");
        } else if kind.is_fifo() {
            return Some("a named pipe");
        } else if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("a special file")
}

/// Writes the bytes that `fill` produces to `path` atomically: the destination is either
/// left untouched (on any error) or replaced by the complete new contents.
/// Missing parent folders are created.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    write_atomically_sha256(path, fill).map(drop)
}

/// [`write_atomically`], returning the sha256 (lowercase hex) of the bytes written: those of
/// this write, whatever another process puts at `path` afterwards.
pub fn write_atomically_sha256(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<String, WriteError> {
    let write_err = |source| WriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let target = destination(path).map_err(write_err)?;
    let parent = folder_of(&target);
    fs::create_dir_all(parent).map_err(|source| WriteError::CreateDir {
        path: parent.to_path_buf(),
        file: path.to_path_buf(),
        source,
    })?;
    check_replaceable(path, &target)?;
    remove_stale_temp_files(parent);
    let mut tmp = our_temp_file_builder()
        .tempfile_in(parent)
        .map_err(write_err)?;
    let sha256 = {
        let mut hashing = HashingWriter {
            inner: io::BufWriter::new(tmp.as_file_mut()),
            hasher: Sha256::new(),
        };
        fill(&mut hashing).map_err(write_err)?;
        hashing.inner.flush().map_err(write_err)?;
        hex(&hashing.hasher.finalize())
    };
    tmp.as_file().sync_all().map_err(write_err)?;
    // On error the temporary file is deleted when `tmp` drops.
    tmp.persist(&target).map_err(|e| write_err(e.error))?;
    Ok(sha256)
}

/// Passes writes on to `inner` and hashes what it accepted.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The start of the names of this program's temporary files: `.tmp-mnist-mlp-`, then the
/// writing process's id and `-`, then random letters.
const TEMP_PREFIX: &str = ".tmp-mnist-mlp-";

/// A builder of this process's temporary files for [`write_atomically`], named so that
/// [`remove_stale_temp_files`] can tell whose they are.
pub fn our_temp_file_builder() -> tempfile::Builder<'static, 'static> {
    static PREFIX: OnceLock<String> = OnceLock::new();
    temp_file_builder(PREFIX.get_or_init(|| format!("{TEMP_PREFIX}{}-", std::process::id())))
}

/// Removes the temporary files in `folder` that processes no longer running left behind (a
/// write killed before its rename). Best effort: a file that cannot be removed stays.
fn remove_stale_temp_files(folder: &Path) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name
            .to_str()
            .and_then(temp_file_owner)
            .is_some_and(|pid| !process_is_running(pid))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The id of the process that made the temporary file named `name`, if it is one of ours.
fn temp_file_owner(name: &str) -> Option<u32> {
    let (pid, random) = name.strip_prefix(TEMP_PREFIX)?.split_once('-')?;
    if random.is_empty() {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` is running, as far as this system tells: by its entry in /proc;
/// without /proc (not Linux) every process counts as running, so that nothing is removed.
fn process_is_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Hidden temporary files (`prefix` + random) for contents that will be renamed into place,
/// readable by all like any ordinary output (tempfile's default would be owner-only).
pub fn temp_file_builder(prefix: &'static str) -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o644));
    }
    builder
}

/// [`write_atomically`] for contents already in memory.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomically(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.bin");
        write_bytes_atomically(&path, b"first version, long").unwrap();
        write_bytes_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_bytes_atomically(&path, b"good").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("out.bin"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"good");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    }

    #[test]
    fn refuses_a_folder_as_destination() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_bytes_atomically(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("folder"), "{err}");
    }

    #[test]
    fn returns_the_sha256_of_the_bytes_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let sha256 = write_atomically_sha256(&path, |w| w.write_all(b"abc")).unwrap();
        assert_eq!(
            sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_keeps_pointing_at_the_new_contents() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/out.bin");
        write_bytes_atomically(&target, b"old").unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink("real/out.bin", &link).unwrap();
        write_bytes_atomically(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_device_and_leaves_it_alone() {
        let null = Path::new("/dev/null");
        if !fs::metadata(null).is_ok_and(|m| !m.is_file()) {
            eprintln!("SKIPPED: no /dev/null device on this system");
            return;
        }
        let err = write_bytes_atomically(null, b"x").unwrap_err().to_string();
        assert!(err.contains("it is a character device"), "{err}");
        assert!(!fs::metadata(null).unwrap().is_file());
    }

    #[test]
    fn removes_the_temporary_files_of_processes_no_longer_running() {
        let dir = tempfile::tempdir().unwrap();
        let ours = |pid: u32| format!("{TEMP_PREFIX}{pid}-a1B2c3");
        // A process that has ended: its id is free until the system hands it out again.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let ended = child.id();
        child.wait().unwrap();
        let kept = [
            ours(std::process::id()),
            ".tmp-other".into(),
            "out.bin".into(),
        ];
        for name in kept.iter().chain([&ours(ended)]) {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        write_bytes_atomically(&dir.path().join("out.bin"), b"new").unwrap();
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut expected = kept.to_vec();
        if !Path::new("/proc/self").exists() {
            eprintln!("SKIPPED the removal check: no /proc to tell running processes");
            expected.push(ours(ended));
        }
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn only_names_of_our_own_are_temporary_files_of_ours() {
        assert_eq!(temp_file_owner(".tmp-mnist-mlp-123-Ab9xYz"), Some(123));
        assert_eq!(temp_file_owner(".tmp-mnist-mlp-123-"), None);
        assert_eq!(temp_file_owner(".tmp-mnist-mlp-x1-Ab9xYz"), None);
        assert_eq!(temp_file_owner(".tmpAb9xYz"), None);
        assert_eq!(temp_file_owner(".tmp-Ab9xYz"), None);
    }
}
