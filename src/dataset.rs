//! The files of a data set in a data folder: which files make up each split, and loading
//! them into MNIST's layout whatever the variant stores (transposed images, labels from 1,
//! rows of integer labels).

use std::path::{Path, PathBuf};

use crate::idx::{DataError, class_indices, read_idx_images, read_idx_label_values};
use crate::variants::Dataset;

/// Number of classes in MNIST (digits 0–9).
pub const NUM_CLASSES: usize = 10;

/// The most classes a folder of unrecognised files may have: labels are stored as u8.
pub const MAX_CLASSES: usize = 256;

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

    /// The images with rows and columns swapped: what EMNIST stores column by column
    /// becomes upright.
    pub fn transposed(&self) -> Images {
        let (rows, cols) = (self.rows, self.cols);
        let mut pixels = vec![0; self.pixels.len()];
        for (from, to) in self
            .pixels
            .chunks_exact(rows * cols)
            .zip(pixels.chunks_exact_mut(rows * cols))
        {
            for r in 0..rows {
                for c in 0..cols {
                    to[c * rows + r] = from[r * cols + c];
                }
            }
        }
        Images {
            rows: cols,
            cols: rows,
            pixels,
        }
    }
}

/// Images with one label each (labels are class indices below the class count).
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledImages {
    pub images: Images,
    pub labels: Vec<u8>,
}

/// A data folder and the data set its files hold: a known one, or (`None`) MNIST-named
/// files of an unrecognised set, whose classes are then numbered by their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    pub dir: PathBuf,
    pub dataset: Option<Dataset>,
}

impl DataSource {
    /// The canonical names of the four files (MNIST's for an unrecognised set).
    pub fn file_names(&self) -> [&'static str; 4] {
        self.dataset.unwrap_or(Dataset::Mnist).file_names()
    }

    /// The canonical names of the files absent from the folder under every accepted name.
    pub fn missing_files(&self) -> Vec<&'static str> {
        self.file_names()
            .into_iter()
            .filter(|name| find_file(&self.dir, name).is_none())
            .collect()
    }

    /// "fashion-mnist", or a phrase for an unrecognised set, for messages.
    pub fn describe(&self) -> String {
        match self.dataset {
            Some(d) => d.to_string(),
            None => "unrecognised MNIST-style".to_string(),
        }
    }

    /// Loads and validates a split: both files readable, as many images as labels, at
    /// least one image, every label a class of the data set; EMNIST's images turned upright.
    pub fn load(&self, split: Split) -> Result<LabeledImages, DataError> {
        let names = self.dataset.unwrap_or(Dataset::Mnist).split_files(split);
        let (images_path, labels_path) = locate_files(&self.dir, split, names, &self.describe())?;
        let (first_label, num_classes) = match self.dataset {
            Some(d) => (d.first_label(), d.num_classes()),
            None => (0, MAX_CLASSES),
        };
        let mut data = load_files(&images_path, &labels_path, first_label, num_classes)?;
        if self.dataset.is_some_and(Dataset::transposed) {
            data.images = data.images.transposed();
        }
        Ok(data)
    }

    /// The data set and its class names: the known set's, or for an unrecognised one
    /// "0", "1", … up to the largest label of `train`.
    pub fn info(&self, train: &LabeledImages) -> DataInfo {
        let class_names = match self.dataset {
            Some(d) => d.class_names(),
            None => {
                let classes = train.labels.iter().max().map_or(1, |&l| usize::from(l) + 1);
                (0..classes).map(|c| c.to_string()).collect()
            }
        };
        DataInfo {
            dataset: self.dataset,
            class_names,
        }
    }
}

/// What a network was trained on: the data set (`None` for an unrecognised folder) and the
/// names of its classes, recorded in the weights file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataInfo {
    pub dataset: Option<Dataset>,
    pub class_names: Vec<String>,
}

impl DataInfo {
    pub fn mnist() -> Self {
        DataInfo {
            dataset: Some(Dataset::Mnist),
            class_names: Dataset::Mnist.class_names(),
        }
    }

    /// The data set's name, or "an unrecognised data set", for messages.
    pub fn describe(&self) -> String {
        self.dataset
            .map_or("an unrecognised data set".to_string(), |d| d.to_string())
    }
}

/// Which half of a data set.
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

/// Finds the (images, labels) MNIST files of a split in `dir`, under any accepted name.
pub fn locate_split(dir: &Path, split: Split) -> Result<(PathBuf, PathBuf), DataError> {
    locate_files(dir, split, split.file_names(), "MNIST")
}

/// Finds the files `(images_name, labels_name)` of a split of the data set `what` in `dir`.
fn locate_files(
    dir: &Path,
    split: Split,
    (images_name, labels_name): (&str, &str),
    what: &str,
) -> Result<(PathBuf, PathBuf), DataError> {
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
                what: what.to_string(),
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

/// Loads and validates a split of MNIST from `dir`: both files readable, as many images as
/// labels, at least one image, every label below [`NUM_CLASSES`].
pub fn load_split(dir: &Path, split: Split) -> Result<LabeledImages, DataError> {
    DataSource {
        dir: dir.to_path_buf(),
        dataset: Some(Dataset::Mnist),
    }
    .load(split)
}

/// Loads an images file and a labels file that belong together, and checks that they match
/// and that every label is one of `num_classes` classes numbered from `first_label`.
pub fn load_files(
    images_path: &Path,
    labels_path: &Path,
    first_label: i64,
    num_classes: usize,
) -> Result<LabeledImages, DataError> {
    let images = read_idx_images(images_path)?;
    let values = read_idx_label_values(labels_path)?;
    let labels = class_indices(labels_path, &values, first_label, num_classes)?;
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

    #[test]
    fn transposing_swaps_rows_and_columns_of_each_image() {
        let images = Images {
            rows: 2,
            cols: 3,
            pixels: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        };
        let t = images.transposed();
        assert_eq!((t.rows, t.cols), (3, 2));
        assert_eq!(t.pixels, [1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12]);
        assert_eq!(t.transposed(), images);
    }

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
