//! The one file, in a temporary folder outside the repository, that the targets of
//! readers that work on files (IDX, predict's images) rewrite with each input.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Writes `data` to the scratch file and returns its path.
pub fn write_input(data: &[u8]) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"));
    let path = dir.path().join("input.idx");
    std::fs::write(&path, data).expect("the scratch file is writable");
    path
}
