//! Opening and reading the files a command is given: only regular files, and no more bytes
//! than their format allows.
//!
//! A FIFO, a device (`/dev/zero`) or a folder named where a file is meant is refused before
//! it is opened: opening a FIFO blocks until a writer comes, and a device may never end.

use std::fs::{File, FileType, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` if it is a regular file; returns the file and its length.
pub fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    check_regular(&std::fs::metadata(path)?)?;
    let file = File::open(path)?;
    // Checked again on what was opened, in case the path changed in between.
    let metadata = file.metadata()?;
    check_regular(&metadata)?;
    Ok((file, metadata.len()))
}

/// Refuses a FIFO or a socket at `path`, which opening to append to would wait on until a
/// reader comes; a regular file, a device such as `/dev/null`, or nothing at all is fine.
pub fn check_appendable(path: &Path) -> io::Result<()> {
    let file_type = match std::fs::metadata(path) {
        Ok(metadata) => metadata.file_type(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() || file_type.is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "it is {}, which would block until something reads it",
                    describe(file_type)
                ),
            ));
        }
    }
    let _ = file_type;
    Ok(())
}

/// The bytes of the regular file at `path`, which may hold at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let (file, len) = open_regular(path)?;
    let too_long = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is longer than the {limit} bytes a file of its kind can hold"),
        )
    };
    if len > limit {
        return Err(too_long());
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // One byte past the limit tells a file that grew since it was measured.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_long());
    }
    Ok(bytes)
}

/// Refuses anything but a regular file, saying what it is instead.
fn check_regular(metadata: &Metadata) -> io::Result<()> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    if file_type.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a folder, not a file",
        ));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {}, not a regular file", describe(file_type)),
    ))
}

/// "a FIFO", "a character device", …: what a file that is not regular is.
fn describe(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    let _ = file_type;
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abcd").unwrap();
        assert_eq!(read_regular(&path, 4).unwrap(), b"abcd");
        let err = read_regular(&path, 3).unwrap_err().to_string();
        assert_eq!(
            err,
            "it is longer than the 3 bytes a file of its kind can hold"
        );
    }

    #[test]
    fn refuses_folders_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_regular(dir.path(), 10).unwrap_err().to_string();
        assert_eq!(err, "it is a folder, not a file");
        #[cfg(unix)]
        {
            let err = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
            assert_eq!(
                err.to_string(),
                "it is a character device, not a regular file"
            );
        }
    }
}
