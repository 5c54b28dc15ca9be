//! The MNIST files in a data folder: which files make up each split, and loading them.

use std::path::{Path, PathBuf};

use crate::idx::{DataError, read_idx_images, read_idx_labels};

/// Number of classes in MNIST (digits 0–9).
pub const NUM_CLASSES: usize = 10;

/// Greyscale images kept as u8 in memory, row-major, one image after another.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    pub rows: usize,
    pub cols: usize,
    /// `len() * rows * cols` bytes.
    pub pixels: Vec<u8>,
}

impl Images {
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }
    pub fn len(&self) -> usize {
        self.pixels
            .len()
            .checked_div(self.pixels_per_image())
            .unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// Images with one label each (labels are class indices below the class count).
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledImages {
    pub images: Images,
    pub labels: Vec<u8>,
}

/// Which half of MNIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
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

/// The canonical names of the MNIST files absent from `dir` under every accepted name.
pub fn missing_files(dir: &Path) -> Vec<&'static str> {
    MNIST_FILE_NAMES
        .into_iter()
        .filter(|name| find_file(dir, name).is_none())
        .collect()
}

/// Finds the (images, labels) files of a split in `dir`, under any accepted name.
pub fn locate_split(dir: &Path, split: Split) -> Result<(PathBuf, PathBuf), DataError> {
    let (images_name, labels_name) = split.file_names();
    match (find_file(dir, images_name), find_file(dir, labels_name)) {
        (Some(images), Some(labels)) => Ok((images, labels)),
        (images, labels) => {
            let missing = [(images, images_name), (labels, labels_name)]
                .into_iter()
                .filter(|(found, _)| found.is_none())
                .map(|(_, name)| describe_names(name))
                .collect::<Vec<_>>();
            Err(DataError::SplitNotFound {
                dir: dir.to_path_buf(),
                split: split.name(),
                looked_for: missing.join(" and "),
            })
        }
    }
}

/// "a.gz (or a, a'.gz, a')": the accepted names of one file, for messages.
fn describe_names(canonical: &str) -> String {
    let names = accepted_names(canonical);
    format!("{} (or {})", names[0], names[1..].join(", "))
}

/// Loads and validates a split from `dir`: both files readable, as many images as labels,
/// at least one image, every label below [`NUM_CLASSES`].
pub fn load_split(dir: &Path, split: Split) -> Result<LabeledImages, DataError> {
    let (images_path, labels_path) = locate_split(dir, split)?;
    load_files(&images_path, &labels_path)
}

/// Loads an images file and a labels file that belong together, and checks that they match.
pub fn load_files(images_path: &Path, labels_path: &Path) -> Result<LabeledImages, DataError> {
    let images = read_idx_images(images_path)?;
    let labels = read_idx_labels(labels_path, NUM_CLASSES)?;
    if images.len() != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            images: images.len(),
            labels_path: labels_path.to_path_buf(),
            labels: labels.len(),
        });
    }
    if images.is_empty() {
        return Err(DataError::NoImages {
            path: images_path.to_path_buf(),
        });
    }
    Ok(LabeledImages { images, labels })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::{write_idx_images, write_idx_labels};

    fn images(count: usize) -> Images {
        Images {
            rows: 2,
            cols: 3,
            pixels: (0..count * 6).map(|i| i as u8).collect(),
        }
    }

    /// Writes a split of `count` images and labels under the given names.
    fn write_split(dir: &Path, names: (&str, &str), count: usize) {
        write_idx_images(&dir.join(names.0), &images(count), true).unwrap();
        let labels: Vec<u8> = (0..count).map(|i| (i % NUM_CLASSES) as u8).collect();
        write_idx_labels(&dir.join(names.1), &labels, false).unwrap();
    }

    #[test]
    fn accepted_names_cover_the_usual_spellings() {
        assert_eq!(
            accepted_names(TEST_LABELS),
            [
                "t10k-labels-idx1-ubyte.gz",
                "t10k-labels-idx1-ubyte",
                "t10k-labels.idx1-ubyte.gz",
                "t10k-labels.idx1-ubyte"
            ]
        );
    }

    #[test]
    fn loads_a_split_under_any_accepted_name() {
        let dir = tempfile::tempdir().unwrap();
        write_split(
            dir.path(),
            ("train-images.idx3-ubyte", "train-labels-idx1-ubyte.gz"),
            5,
        );
        let split = load_split(dir.path(), Split::Train).unwrap();
        assert_eq!(split.images, images(5));
        assert_eq!(split.labels, [0, 1, 2, 3, 4]);
        assert_eq!(missing_files(dir.path()), [TEST_IMAGES, TEST_LABELS]);
    }

    #[test]
    fn prefers_the_canonical_name() {
        let dir = tempfile::tempdir().unwrap();
        write_split(
            dir.path(),
            ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
            1,
        );
        write_split(dir.path(), Split::Test.file_names(), 1);
        let (images, labels) = locate_split(dir.path(), Split::Test).unwrap();
        assert_eq!(images, dir.path().join(TEST_IMAGES));
        assert_eq!(labels, dir.path().join(TEST_LABELS));
    }

    #[test]
    fn missing_split_names_the_folder_the_names_and_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), ("t10k-images-idx3-ubyte.gz", "unrelated"), 1);
        let err = load_split(dir.path(), Split::Test).unwrap_err().to_string();
        for needle in [
            "test files",
            &dir.path().display().to_string(),
            "t10k-labels-idx1-ubyte.gz (or t10k-labels-idx1-ubyte, t10k-labels.idx1-ubyte.gz",
            "mnist-mlp download",
            "--data-dir",
        ] {
            assert!(err.contains(needle), "missing {needle:?} in: {err}");
        }
        assert!(
            !err.contains("t10k-images"),
            "the images file was found: {err}"
        );
    }

    #[test]
    fn a_folder_with_a_file_name_is_not_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(TRAIN_IMAGES)).unwrap();
        assert_eq!(missing_files(dir.path()), MNIST_FILE_NAMES);
    }

    #[test]
    fn count_mismatch_names_both_files_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Test.file_names(), 3);
        write_idx_labels(&dir.path().join(TEST_LABELS), &[1, 2], true).unwrap();
        let err = load_split(dir.path(), Split::Test).unwrap_err().to_string();
        for needle in [TEST_IMAGES, "3 images", TEST_LABELS, "2 labels"] {
            assert!(err.contains(needle), "missing {needle:?} in: {err}");
        }
    }

    #[test]
    fn label_out_of_range_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Train.file_names(), 2);
        write_idx_labels(&dir.path().join(TRAIN_LABELS), &[3, 10], true).unwrap();
        let err = load_split(dir.path(), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("label 10 at index 1 is out of range for 10 classes"),
            "{err}"
        );
    }

    #[test]
    fn empty_split_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Train.file_names(), 0);
        let err = load_split(dir.path(), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no images"), "{err}");
    }
}
