//! The files of a data set in a data folder: which files make up each split, and loading
//! them into MNIST's layout whatever the variant stores (transposed images, labels from 1,
//! rows of integer labels).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::choice::Choice;
use crate::data::catalog::Dataset;
use crate::data::idx::{DataError, class_indices, read_idx_images, read_idx_label_values};
use crate::data::images::{LabeledImages, MAX_CLASSES};
use crate::data::names::{Split, accepted_names, find_file};
use crate::text::escape_controls;

/// Which data the user asked for: a data set, a folder, both or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataRequest {
    pub dataset: Option<Dataset>,
    /// The folder named on the command line, or for MNIST by `MNIST_DATA_DIR`.
    pub dir: Option<PathBuf>,
}

impl DataRequest {
    /// The request of `--dataset` and `--data-dir`; MNIST (asked for, or by default) is
    /// looked for in the folder `mnist_data_dir` (the environment's `MNIST_DATA_DIR`) when
    /// no folder is named.
    pub fn new(
        dataset: Option<Dataset>,
        data_dir: Option<PathBuf>,
        mnist_data_dir: Option<PathBuf>,
    ) -> Self {
        let mnist = matches!(dataset, None | Some(Dataset::Mnist));
        DataRequest {
            dataset,
            dir: data_dir.or(mnist_data_dir.filter(|_| mnist)),
        }
    }

    /// The folder to use: the one asked for, or `data/<dataset>`.
    pub fn folder(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| Path::new("data").join(self.dataset.unwrap_or_default().name()))
    }
}

/// The folder and data set `request` means, for a command that reads `splits`. A named
/// folder without `--dataset` holds whatever it is recognised to hold; an unrecognised folder
/// with the MNIST-named files of `splits` is used as it is, and one without them is MNIST's.
/// With `--dataset`, a folder recognised to hold another data set is refused.
pub fn resolve_source(request: &DataRequest, splits: &[Split]) -> Result<DataSource, SourceError> {
    let dir = request.folder();
    let recognized = match request.dir {
        Some(_) => Dataset::recognize(&dir),
        None => None,
    };
    let dataset = match (request.dataset, recognized) {
        (Some(asked), Some(found)) if asked != found => {
            return Err(SourceError::WrongDataset { dir, asked, found });
        }
        (Some(asked), _) => Some(asked),
        (None, Some(found)) => Some(found),
        (None, None) => {
            let unknown = DataSource {
                dir: dir.clone(),
                dataset: None,
            };
            match request.dir.is_some() && unknown.missing_files(splits).is_empty() {
                true => return Ok(unknown),
                false => Some(Dataset::Mnist),
            }
        }
    };
    Ok(DataSource { dir, dataset })
}

/// A folder that holds another data set than the one asked for.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "--dataset {asked} was asked for, but {} holds {found}: drop --dataset, or point \
         --data-dir at a folder of {asked}",
        dir.display()
    )]
    WrongDataset {
        dir: PathBuf,
        asked: Dataset,
        found: Dataset,
    },
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

    /// The canonical names of the files of `splits` (images, then labels, split by split).
    pub fn split_file_names(&self, splits: &[Split]) -> Vec<&'static str> {
        let dataset = self.dataset.unwrap_or(Dataset::Mnist);
        let pairs = splits.iter().map(|&split| dataset.split_files(split));
        pairs
            .flat_map(|(images, labels)| [images, labels])
            .collect()
    }

    /// The canonical names of the files of `splits` absent from the folder under every
    /// accepted name.
    pub fn missing_files(&self, splits: &[Split]) -> Vec<&'static str> {
        self.split_file_names(splits)
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

    /// What the loaded `splits` hold: the folder's data set when every split is that set's
    /// own (by its checksums, see [`Dataset::holds_own_split`]); otherwise custom data,
    /// named after the folder, whose classes are "0", "1", … up to the largest label of the
    /// first split given (the training split, where there is one). A variant of a known set
    /// (its images inverted, say) is custom data.
    pub fn identify(&self, splits: &[(Split, &LabeledImages)]) -> DataInfo {
        let known = self.dataset.filter(|&d| {
            (splits.par_iter()).all(|&(split, set)| d.holds_own_split(&self.dir, split, set))
        });
        match known {
            Some(d) => DataInfo::known(d),
            None => {
                let labels = splits.first().map_or(&[][..], |(_, set)| &set.labels[..]);
                let classes = labels.iter().max().map_or(1, |&l| usize::from(l) + 1);
                DataInfo {
                    dataset: None,
                    name: custom_name(&self.dir),
                    class_names: (0..classes).map(|c| c.to_string()).collect(),
                }
            }
        }
    }
}

/// Custom data's name: its folder's (the last component of the path as given, or of the
/// absolute path for `.` and the like), or "custom" for a folder without a name (`/`).
fn custom_name(dir: &Path) -> String {
    let named = |path: &Path| path.file_name().map(|n| n.to_string_lossy().into_owned());
    named(dir)
        .or_else(|| dir.canonicalize().ok().as_deref().and_then(named))
        .unwrap_or_else(|| "custom".to_string())
}

/// What a network was trained on, recorded in the weights file: a known data set, or
/// custom data, with the names of its classes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataInfo {
    /// The known data set whose files these are, by their checksums; `None` for custom data.
    pub dataset: Option<Dataset>,
    /// The known set's name ("mnist"), or custom data's: its folder's ("inverted").
    pub name: String,
    pub class_names: Vec<String>,
}

impl DataInfo {
    /// Whether a record of data set `dataset` named `name` (as run logs keep them) is of this
    /// data: the same known data set, or custom data of the same name.
    pub fn is(&self, dataset: Option<Dataset>, name: &str) -> bool {
        self.dataset == dataset && (dataset.is_some() || self.name == name)
    }

    /// The known data set `dataset`, with its class names.
    pub fn known(dataset: Dataset) -> Self {
        DataInfo {
            dataset: Some(dataset),
            name: dataset.name().to_string(),
            class_names: dataset.class_names(),
        }
    }

    pub fn mnist() -> Self {
        Self::known(Dataset::Mnist)
    }

    /// "mnist", or "custom data \"inverted\"", for messages and titles.
    pub fn describe(&self) -> String {
        match self.dataset {
            Some(d) => d.to_string(),
            None => format!("custom data \"{}\"", escape_controls(&self.name)),
        }
    }
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
    use crate::data::idx::{write_idx_images, write_idx_labels};
    use crate::data::images::{Images, NUM_CLASSES};
    use crate::data::names::{
        MNIST_FILE_NAMES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
    };

    /// The folder `dir` as MNIST's.
    fn mnist(dir: &Path) -> DataSource {
        DataSource {
            dir: dir.to_path_buf(),
            dataset: Some(Dataset::Mnist),
        }
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
        let split = mnist(dir.path()).load(Split::Train).unwrap();
        assert_eq!(split.images, images(5));
        assert_eq!(split.labels, [0, 1, 2, 3, 4]);
        assert_eq!(
            mnist(dir.path()).missing_files(&Split::BOTH),
            [TEST_IMAGES, TEST_LABELS]
        );
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
        let (images, labels) =
            locate_files(dir.path(), Split::Test, Split::Test.file_names(), "MNIST").unwrap();
        assert_eq!(images, dir.path().join(TEST_IMAGES));
        assert_eq!(labels, dir.path().join(TEST_LABELS));
    }

    #[test]
    fn missing_split_names_the_folder_the_names_and_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), ("t10k-images-idx3-ubyte.gz", "unrelated"), 1);
        let err = mnist(dir.path()).load(Split::Test).unwrap_err().to_string();
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
        assert_eq!(
            mnist(dir.path()).missing_files(&Split::BOTH),
            MNIST_FILE_NAMES
        );
    }

    #[test]
    fn count_mismatch_names_both_files_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Test.file_names(), 3);
        write_idx_labels(&dir.path().join(TEST_LABELS), &[1, 2], true).unwrap();
        let err = mnist(dir.path()).load(Split::Test).unwrap_err().to_string();
        for needle in [TEST_IMAGES, "3 images", TEST_LABELS, "2 labels"] {
            assert!(err.contains(needle), "missing {needle:?} in: {err}");
        }
    }

    #[test]
    fn label_out_of_range_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Train.file_names(), 2);
        write_idx_labels(&dir.path().join(TRAIN_LABELS), &[3, 10], true).unwrap();
        let err = mnist(dir.path())
            .load(Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("label 10 at index 1 is out of range for 10 classes"),
            "{err}"
        );
    }

    #[test]
    fn files_that_are_not_a_known_sets_own_are_custom_data_named_after_their_folder() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("inverted");
        std::fs::create_dir(&dir).unwrap();
        write_split(&dir, Split::Test.file_names(), 3);
        let source = mnist(&dir);
        let test = source.load(Split::Test).unwrap();
        let info = source.identify(&[(Split::Test, &test)]);
        assert_eq!(info.dataset, None);
        assert_eq!(info.name, "inverted");
        assert_eq!(info.class_names, ["0", "1", "2"]);
        assert_eq!(info.describe(), "custom data \"inverted\"");
    }

    #[test]
    fn custom_data_in_a_folder_without_a_name_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        let folder = dir.path().file_name().unwrap().to_string_lossy();
        assert_eq!(custom_name(&inner.join("..")), folder);
        assert_eq!(custom_name(Path::new("/")), "custom");
        assert_eq!(custom_name(Path::new("data/rotated/")), "rotated");
    }

    #[test]
    fn empty_split_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Train.file_names(), 0);
        let err = mnist(dir.path())
            .load(Split::Train)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no images"), "{err}");
    }
}
