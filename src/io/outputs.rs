//! A command's outputs, checked before it starts its work: no two of them — nor an output
//! and an input — are the same file, and each can be written, so that a run does not fail,
//! or destroy one file with another, after its work is done.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::io::atomic::{
    WriteError, check_replaceable, destination, folder_of, our_temp_file_builder,
};
use crate::io::regular::check_appendable;

/// How a command writes an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Replaced whole, atomically (see [`crate::io::atomic`]): the destination must be a
    /// regular file or not exist, and its folder must take a new file.
    Replace,
    /// Appended to (the run log): the file must open for appending, or its folder take it.
    Append,
    /// Read, not written: an input, which no output may overwrite.
    Read,
}

/// A file a command reads or writes: the flag that names it, its path, and how it is used.
#[derive(Debug, Clone, Copy)]
pub struct FileArg<'a> {
    pub flag: &'a str,
    pub path: &'a Path,
    pub mode: Mode,
}

impl<'a> FileArg<'a> {
    pub fn replaced(flag: &'a str, path: &'a Path) -> Self {
        FileArg {
            flag,
            path,
            mode: Mode::Replace,
        }
    }

    pub fn appended(flag: &'a str, path: &'a Path) -> Self {
        FileArg {
            flag,
            path,
            mode: Mode::Append,
        }
    }

    pub fn read(flag: &'a str, path: &'a Path) -> Self {
        FileArg {
            flag,
            path,
            mode: Mode::Read,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{first} {} and {second} {} are the same file: give each a path of its own",
        first_path.display(),
        second_path.display()
    )]
    SameFile {
        first: String,
        first_path: PathBuf,
        second: String,
        second_path: PathBuf,
    },
    #[error("{flag}: {source}")]
    Unwritable { flag: String, source: WriteError },
}

/// Refuses two of `files` that are the same file (compared by their canonical paths, so
/// `./x.bin` and `x.bin`, or a link and its target, are one file) where one is an output,
/// then outputs that cannot be written. Creates nothing: missing folders are only checked
/// to be creatable in the nearest folder that exists.
pub fn check_outputs(files: &[FileArg]) -> Result<(), OutputError> {
    let mut seen: Vec<(PathBuf, &FileArg)> = Vec::new();
    for file in files {
        let canonical = canonical(file.path).map_err(|source| unwritable(file, source))?;
        let clash = |(path, first): &&(PathBuf, &FileArg)| {
            *path == canonical && (first.mode != Mode::Read || file.mode != Mode::Read)
        };
        if let Some((_, first)) = seen.iter().find(clash) {
            return Err(OutputError::SameFile {
                first: first.flag.to_string(),
                first_path: first.path.to_path_buf(),
                second: file.flag.to_string(),
                second_path: file.path.to_path_buf(),
            });
        }
        seen.push((canonical, file));
    }
    for output in files.iter().filter(|f| f.mode != Mode::Read) {
        check_writable(output).map_err(|source| OutputError::Unwritable {
            flag: output.flag.to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Whether `a` and `b` name the same file (compared as [`check_outputs`] does); false when
/// either cannot be resolved.
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((canonical(a), canonical(b)), (Ok(a), Ok(b)) if a == b)
}

fn unwritable(output: &FileArg, source: io::Error) -> OutputError {
    OutputError::Unwritable {
        flag: output.flag.to_string(),
        source: WriteError::Write {
            path: output.path.to_path_buf(),
            source,
        },
    }
}

/// The file `path` names, absolute, with every symbolic link resolved; the part that does
/// not exist yet is normalised by its names (`.` dropped, `..` going up).
fn canonical(path: &Path) -> io::Result<PathBuf> {
    let mut resolved = PathBuf::new();
    let mut exists = true;
    for component in std::path::absolute(destination(path)?)?.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if !exists => {
                resolved.pop();
                exists = fs::symlink_metadata(&resolved).is_ok();
            }
            _ => {
                resolved.push(component);
                if exists {
                    match fs::canonicalize(&resolved) {
                        Ok(real) => resolved = real,
                        Err(_) => exists = false,
                    }
                }
            }
        }
    }
    Ok(resolved)
}

/// Whether `output` can be written: its destination (see [`check_replaceable`]) or the
/// file appended to, and the folder that takes it — or the nearest existing folder above,
/// where the missing ones will be created — tried with a temporary file.
fn check_writable(output: &FileArg) -> Result<(), WriteError> {
    let path = output.path;
    let write_err = |source| WriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = destination(path).map_err(write_err)?;
    match output.mode {
        Mode::Read => return Ok(()),
        Mode::Replace => check_replaceable(path, &file)?,
        Mode::Append if file.exists() => {
            // Any file that opens for appending will do, `/dev/null` included; but a FIFO
            // would block the opening until something reads it.
            check_appendable(&file).map_err(write_err)?;
            OpenOptions::new()
                .append(true)
                .open(&file)
                .map_err(write_err)?;
            return Ok(());
        }
        Mode::Append => {}
    }
    let folder = folder_of(&file);
    let absolute = std::path::absolute(folder).map_err(write_err)?;
    let existing = absolute
        .ancestors()
        .find(|a| fs::symlink_metadata(a).is_ok())
        .unwrap_or(&absolute);
    let create_dir_err = |source| WriteError::CreateDir {
        path: folder.to_path_buf(),
        file: path.to_path_buf(),
        source,
    };
    if !existing.is_dir() {
        return Err(create_dir_err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{} is a file, not a folder", existing.display()),
        )));
    }
    match our_temp_file_builder().tempfile_in(existing) {
        Ok(_) => Ok(()),
        Err(source) if existing == absolute => Err(write_err(source)),
        Err(source) => Err(create_dir_err(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_dir(dir: &Path, outputs: &[(&str, &str)]) -> Result<(), OutputError> {
        let paths: Vec<PathBuf> = outputs.iter().map(|(_, p)| dir.join(p)).collect();
        let outputs: Vec<FileArg> = outputs
            .iter()
            .zip(&paths)
            .map(|((flag, _), path)| FileArg::replaced(flag, path))
            .collect();
        check_outputs(&outputs)
    }

    #[test]
    fn the_same_file_under_two_names_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("w")).unwrap();
        for other in ["./w/x.bin", "w/../w/x.bin", "new/../w/x.bin"] {
            let err = in_dir(dir.path(), &[("--weights", "w/x.bin"), ("--plot", other)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("--weights") && err.contains("--plot"), "{err}");
            assert!(err.contains("are the same file"), "{err}");
        }
        in_dir(
            dir.path(),
            &[("--weights", "w/x.bin"), ("--plot", "w/x.png")],
        )
        .unwrap();
        assert_eq!(fs::read_dir(dir.path().join("w")).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_and_its_target_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("x.bin", dir.path().join("link")).unwrap();
        let err = in_dir(dir.path(), &[("--weights", "x.bin"), ("--metrics", "link")]);
        assert!(matches!(err, Err(OutputError::SameFile { .. })), "{err:?}");
    }

    #[test]
    fn a_file_in_the_way_of_a_folder_is_refused_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("blocker"), b"").unwrap();
        let err = in_dir(dir.path(), &[("--plot", "blocker/sub/p.png")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--plot: cannot create the folder"), "{err}");
        assert!(err.contains("blocker is a file, not a folder"), "{err}");
        in_dir(dir.path(), &[("--plot", "new/sub/p.png")]).unwrap();
        assert!(!dir.path().join("new").exists());
    }
}
