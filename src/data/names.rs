//! How the files of a data set are named on disk: the canonical names of each split's files
//! and the other spellings under which they are accepted.

use std::path::{Path, PathBuf};

/// Which half of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// Both splits: what training needs.
    pub const BOTH: [Split; 2] = [Split::Train, Split::Test];

    /// "training" or "test", for messages.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "training",
            Split::Test => "test",
        }
    }

    /// The canonical names of the split's (images, labels) files.
    pub fn file_names(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => (TRAIN_IMAGES, TRAIN_LABELS),
            Split::Test => (TEST_IMAGES, TEST_LABELS),
        }
    }
}

/// The canonical names of the four MNIST files, as the mirrors serve them.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte.gz";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte.gz";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";
pub const MNIST_FILE_NAMES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The names under which a file with canonical name `canonical` is accepted, preferred first:
/// the canonical name, without `.gz`, and the dotted spelling (`train-images.idx3-ubyte`)
/// with and without `.gz`. Whether a file is compressed is read from its content, not its name.
pub fn accepted_names(canonical: &str) -> Vec<String> {
    let plain = canonical.strip_suffix(".gz").unwrap_or(canonical);
    let dotted = plain.replacen("-idx", ".idx", 1);
    let mut names = vec![
        canonical.to_string(),
        plain.to_string(),
        format!("{dotted}.gz"),
        dotted,
    ];
    names.dedup();
    names
}

/// The file in `dir` with canonical name `canonical`, under the first accepted name present.
pub fn find_file(dir: &Path, canonical: &str) -> Option<PathBuf> {
    accepted_names(canonical)
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}
