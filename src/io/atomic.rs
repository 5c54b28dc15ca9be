//! Writing output files so that a crash, a full disk or a `kill -9` never leaves a
//! half-written file in place: the bytes go to a temporary file in the same folder,
//! are flushed to disk, and only then renamed over the destination.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
}

/// Writes the bytes that `fill` produces to `path` atomically: the destination is either
/// left untouched (on any error) or replaced by the complete new contents.
/// Missing parent folders are created.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent).map_err(|source| WriteError::CreateDir {
        path: parent.to_path_buf(),
        file: path.to_path_buf(),
        source,
    })?;
    let write_err = |source| WriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(write_err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a folder, not a file",
        )));
    }
    let mut tmp = temp_file_builder(".tmp-")
        .tempfile_in(parent)
        .map_err(write_err)?;
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        fill(&mut buffered).map_err(write_err)?;
        buffered.flush().map_err(write_err)?;
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    // On error the temporary file is deleted when `tmp` drops.
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
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
}
