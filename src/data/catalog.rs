//! The MNIST variants this tool knows: where each is downloaded from and how its files are
//! checked, how its files are named, how its images and labels differ from MNIST's, and the
//! names of its classes. Mirrors and checksums are the ones torchvision uses
//! (`torchvision/datasets/mnist.py`).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::choice::Choice;
use crate::data::idx::{content_reader, images_content_sha256, labels_content_sha256};
use crate::data::images::LabeledImages;
use crate::data::names::{MNIST_FILE_NAMES, Split, find_file};
use crate::io::digest::hex_digest;

/// A known dataset of 28×28 greyscale images in IDX files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    #[default]
    Mnist,
    FashionMnist,
    Kmnist,
    EmnistDigits,
    EmnistLetters,
    EmnistBalanced,
    Qmnist,
}

/// How the content of a downloaded file is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum<'a> {
    /// sha256 (hex) of the decompressed content, and the content's size in bytes: any
    /// compression of the right data passes, and no more than `size + 1` bytes are
    /// decompressed to find out (a small gzip file can expand without end).
    ContentSha256 { sha256: &'a str, size: u64 },
    /// md5 (hex) of the file exactly as the mirrors serve it (torchvision's checksums).
    FileMd5(&'a str),
}

/// A file to download: its name on the mirrors and in the data folder, and its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedFile<'a> {
    pub name: &'a str,
    pub checksum: Checksum<'a>,
}

type RemoteFile = ExpectedFile<'static>;

/// Where a dataset's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Each of the four files downloaded on its own from the first mirror that has it.
    Files {
        mirrors: &'static [&'static str],
        files: [RemoteFile; 4],
    },
    /// One zip archive holding the four files (and others): downloaded, checked, and the
    /// four `members` extracted under the dataset's file names.
    Archive {
        mirrors: &'static [&'static str],
        archive: RemoteFile,
        members: [&'static str; 4],
    },
}

const MNIST_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];
const FASHION_MIRRORS: &[&str] = &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];
const KMNIST_MIRRORS: &[&str] = &["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"];
const EMNIST_MIRRORS: &[&str] = &[
    "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/",
    "https://biometrics.nist.gov/cs_links/EMNIST/",
];
const QMNIST_MIRRORS: &[&str] =
    &["https://raw.githubusercontent.com/facebookresearch/qmnist/master/"];

/// The four files in the order train images, train labels, test images, test labels.
const fn four(names: [&'static str; 4], checksums: [Checksum<'static>; 4]) -> [RemoteFile; 4] {
    [
        RemoteFile {
            name: names[0],
            checksum: checksums[0],
        },
        RemoteFile {
            name: names[1],
            checksum: checksums[1],
        },
        RemoteFile {
            name: names[2],
            checksum: checksums[2],
        },
        RemoteFile {
            name: names[3],
            checksum: checksums[3],
        },
    ]
}

use Checksum::{ContentSha256, FileMd5};

/// MNIST's canonical file names, shared by Fashion-MNIST and KMNIST.
pub const MNIST_NAMES: [&str; 4] = MNIST_FILE_NAMES;

const QMNIST_NAMES: [&str; 4] = [
    "qmnist-train-images-idx3-ubyte.gz",
    "qmnist-train-labels-idx2-int.gz",
    "qmnist-test-images-idx3-ubyte.gz",
    "qmnist-test-labels-idx2-int.gz",
];

/// The EMNIST archive, with torchvision's md5.
const EMNIST_ARCHIVE: RemoteFile = RemoteFile {
    name: "gzip.zip",
    checksum: FileMd5("58c8d27c78d21e728a6bc7b3cc06412e"),
};

macro_rules! emnist_names {
    ($split:literal) => {
        [
            concat!("emnist-", $split, "-train-images-idx3-ubyte.gz"),
            concat!("emnist-", $split, "-train-labels-idx1-ubyte.gz"),
            concat!("emnist-", $split, "-test-images-idx3-ubyte.gz"),
            concat!("emnist-", $split, "-test-labels-idx1-ubyte.gz"),
        ]
    };
}

macro_rules! emnist_members {
    ($split:literal) => {
        [
            concat!("gzip/emnist-", $split, "-train-images-idx3-ubyte.gz"),
            concat!("gzip/emnist-", $split, "-train-labels-idx1-ubyte.gz"),
            concat!("gzip/emnist-", $split, "-test-images-idx3-ubyte.gz"),
            concat!("gzip/emnist-", $split, "-test-labels-idx1-ubyte.gz"),
        ]
    };
}

/// The sha256 of the decompressed content of MNIST's four files (train images, train
/// labels, test images, test labels): a folder holds MNIST when its files' content has
/// these digests, however the files are compressed.
const MNIST_CONTENT: [&str; 4] = [
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
];

/// The decompressed sizes of the four files of MNIST and Fashion-MNIST: an IDX header (16
/// bytes for images, 8 for labels) and one byte per pixel or label, for 60000 training and
/// 10000 test images of 28×28 pixels.
const MNIST_CONTENT_SIZES: [u64; 4] =
    [16 + 60_000 * 784, 8 + 60_000, 16 + 10_000 * 784, 8 + 10_000];

/// The same for Fashion-MNIST, whose mirror publishes only the md5 of its gzip files: the
/// content of the files that have those md5s.
const FASHION_CONTENT: [&str; 4] = [
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
];

/// What identifies a folder of MNIST-named files as one dataset: the checksums its test
/// labels file may have (md5 as served, or sha256 of the decompressed content).
const TEST_LABEL_FINGERPRINTS: [(Dataset, [Checksum<'static>; 2]); 3] = [
    (
        Dataset::Mnist,
        [
            FileMd5("ec29112dd5afa0611ce80d1b7f02629c"),
            ContentSha256 {
                sha256: MNIST_CONTENT[3],
                size: MNIST_CONTENT_SIZES[3],
            },
        ],
    ),
    (
        Dataset::FashionMnist,
        [
            FileMd5("bb300cfdad3c16e7a12a480ee83cd310"),
            ContentSha256 {
                sha256: FASHION_CONTENT[3],
                size: MNIST_CONTENT_SIZES[3],
            },
        ],
    ),
    (
        Dataset::Kmnist,
        [
            FileMd5("7320c461ea6c1c855c0b718fb2a4b134"),
            FileMd5("7320c461ea6c1c855c0b718fb2a4b134"),
        ],
    ),
];

impl Choice for Dataset {
    const ALL: &'static [Self] = &[
        Dataset::Mnist,
        Dataset::FashionMnist,
        Dataset::Kmnist,
        Dataset::EmnistDigits,
        Dataset::EmnistLetters,
        Dataset::EmnistBalanced,
        Dataset::Qmnist,
    ];

    /// The name on the command line, and of the default data folder `data/<name>`.
    fn name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
            Dataset::Kmnist => "kmnist",
            Dataset::EmnistDigits => "emnist-digits",
            Dataset::EmnistLetters => "emnist-letters",
            Dataset::EmnistBalanced => "emnist-balanced",
            Dataset::Qmnist => "qmnist",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            Dataset::Mnist => "Handwritten digits (LeCun, Cortes, Burges)",
            Dataset::FashionMnist => "Zalando's clothing images, 10 classes",
            Dataset::Kmnist => "Kuzushiji-MNIST: 10 cursive Japanese characters",
            Dataset::EmnistDigits => {
                "EMNIST digits: 280,000 handwritten digits from NIST Special Database 19"
            }
            Dataset::EmnistLetters => {
                "EMNIST letters: 26 classes, upper and lower case merged, labelled 1 to 26"
            }
            Dataset::EmnistBalanced => {
                "EMNIST balanced: 47 classes of digits and letters, the same count per class"
            }
            Dataset::Qmnist => {
                "QMNIST: MNIST's images regenerated from NIST, with a 60,000-image test set"
            }
        })
    }
}

impl Dataset {
    /// The names of the classes, in the order of the class indices.
    pub fn class_names(self) -> Vec<String> {
        let strings = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        let chars = |chars: &mut dyn Iterator<Item = char>| chars.map(String::from).collect();
        match self {
            Dataset::Mnist | Dataset::EmnistDigits | Dataset::Qmnist => chars(&mut ('0'..='9')),
            Dataset::FashionMnist => strings(&[
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ]),
            Dataset::Kmnist => {
                strings(&["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"])
            }
            Dataset::EmnistLetters => chars(&mut ('a'..='z')),
            // Digits, capitals, then the lower-case letters whose shape differs from their
            // capital's (the other 15 are merged into the capital's class).
            Dataset::EmnistBalanced => {
                chars(&mut ('0'..='9').chain('A'..='Z').chain("abdefghnqrt".chars()))
            }
        }
    }

    pub fn num_classes(self) -> usize {
        self.class_names().len()
    }

    /// The label of class 0 in the files: 1 for EMNIST letters (labels 1–26), 0 otherwise.
    pub fn first_label(self) -> i64 {
        match self {
            Dataset::EmnistLetters => 1,
            _ => 0,
        }
    }

    /// Whether moving and distorting the images makes better training data: true for
    /// handwriting, false for Fashion-MNIST's clothes, which fill the frame in a fixed pose.
    pub fn suits_distortions(self) -> bool {
        self != Dataset::FashionMnist
    }

    /// Whether the images are stored transposed (column by column), as EMNIST's are.
    pub fn transposed(self) -> bool {
        matches!(
            self,
            Dataset::EmnistDigits | Dataset::EmnistLetters | Dataset::EmnistBalanced
        )
    }

    /// The canonical names of the four files in the data folder, in the order train
    /// images, train labels, test images, test labels.
    pub fn file_names(self) -> [&'static str; 4] {
        match self {
            Dataset::Mnist | Dataset::FashionMnist | Dataset::Kmnist => MNIST_NAMES,
            Dataset::EmnistDigits => emnist_names!("digits"),
            Dataset::EmnistLetters => emnist_names!("letters"),
            Dataset::EmnistBalanced => emnist_names!("balanced"),
            Dataset::Qmnist => QMNIST_NAMES,
        }
    }

    /// The canonical names of a split's (images, labels) files.
    pub fn split_files(self, split: Split) -> (&'static str, &'static str) {
        let names = self.file_names();
        match split {
            Split::Train => (names[0], names[1]),
            Split::Test => (names[2], names[3]),
        }
    }

    /// Where the files come from and how they are checked.
    pub const fn source(self) -> Source {
        match self {
            Dataset::Mnist => Source::Files {
                mirrors: MNIST_MIRRORS,
                // The content's sha256, so that a recompressed copy passes too.
                files: four(
                    MNIST_NAMES,
                    [
                        ContentSha256 {
                            sha256: MNIST_CONTENT[0],
                            size: MNIST_CONTENT_SIZES[0],
                        },
                        ContentSha256 {
                            sha256: MNIST_CONTENT[1],
                            size: MNIST_CONTENT_SIZES[1],
                        },
                        ContentSha256 {
                            sha256: MNIST_CONTENT[2],
                            size: MNIST_CONTENT_SIZES[2],
                        },
                        ContentSha256 {
                            sha256: MNIST_CONTENT[3],
                            size: MNIST_CONTENT_SIZES[3],
                        },
                    ],
                ),
            },
            Dataset::FashionMnist => Source::Files {
                mirrors: FASHION_MIRRORS,
                files: four(
                    MNIST_NAMES,
                    [
                        FileMd5("8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                        FileMd5("25c81989df183df01b3e8a0aad5dffbe"),
                        FileMd5("bef4ecab320f06d8554ea6380940ec79"),
                        FileMd5("bb300cfdad3c16e7a12a480ee83cd310"),
                    ],
                ),
            },
            Dataset::Kmnist => Source::Files {
                mirrors: KMNIST_MIRRORS,
                files: four(
                    MNIST_NAMES,
                    [
                        FileMd5("bdb82020997e1d708af4cf47b453dcf7"),
                        FileMd5("e144d726b3acfaa3e44228e80efcd344"),
                        FileMd5("5c965bf0a639b31b8f53240b1b52f4d7"),
                        FileMd5("7320c461ea6c1c855c0b718fb2a4b134"),
                    ],
                ),
            },
            Dataset::EmnistDigits => Source::Archive {
                mirrors: EMNIST_MIRRORS,
                archive: EMNIST_ARCHIVE,
                members: emnist_members!("digits"),
            },
            Dataset::EmnistLetters => Source::Archive {
                mirrors: EMNIST_MIRRORS,
                archive: EMNIST_ARCHIVE,
                members: emnist_members!("letters"),
            },
            Dataset::EmnistBalanced => Source::Archive {
                mirrors: EMNIST_MIRRORS,
                archive: EMNIST_ARCHIVE,
                members: emnist_members!("balanced"),
            },
            Dataset::Qmnist => Source::Files {
                mirrors: QMNIST_MIRRORS,
                files: four(
                    QMNIST_NAMES,
                    [
                        FileMd5("ed72d4157d28c017586c42bc6afe6370"),
                        FileMd5("0058f8dd561b90ffdd0f734c6a30e5e4"),
                        FileMd5("1394631089c404de565df7b7aeaf9412"),
                        FileMd5("5b5b05890a5e13444e108efe57b788aa"),
                    ],
                ),
            },
        }
    }

    /// The sha256 of the decompressed content of the four files, where this tool knows it.
    fn content_sha256(self) -> Option<[&'static str; 4]> {
        match self {
            Dataset::Mnist => Some(MNIST_CONTENT),
            Dataset::FashionMnist => Some(FASHION_CONTENT),
            _ => None,
        }
    }

    /// Whether `set`, loaded from the files of `split` in `dir`, is this data set's own
    /// split: by the sha256 of its content where this tool knows it (MNIST, Fashion-MNIST),
    /// else by the checksums of the files as the mirrors serve them. EMNIST's files are
    /// taken by their names: only the checksum of the archive that holds them is published.
    pub fn holds_own_split(self, dir: &Path, split: Split, set: &LabeledImages) -> bool {
        let (images, labels) = match split {
            Split::Train => (0, 1),
            Split::Test => (2, 3),
        };
        if let Some(content) = self.content_sha256() {
            return images_content_sha256(&set.images).as_deref() == Some(content[images])
                && labels_content_sha256(&set.labels).as_deref() == Some(content[labels]);
        }
        match self.source() {
            Source::Files { files, .. } => [&files[images], &files[labels]].iter().all(|file| {
                find_file(dir, file.name)
                    .is_some_and(|path| file.checksum.matches(&path).unwrap_or(false))
            }),
            Source::Archive { .. } => true,
        }
    }

    /// The dataset whose files are in `dir`, if it can be told: by the file names for
    /// EMNIST and QMNIST, by the checksum of the test labels for the MNIST-named ones.
    /// `None` for a folder of MNIST-named files that matches no known test set.
    pub fn recognize(dir: &Path) -> Option<Dataset> {
        let has_all = |d: Dataset| d.file_names().iter().all(|n| find_file(dir, n).is_some());
        let by_name = Self::ALL
            .iter()
            .copied()
            .filter(|d| d.file_names() != MNIST_NAMES)
            .find(|&d| has_all(d));
        if by_name.is_some() {
            return by_name;
        }
        let test_labels = find_file(dir, MNIST_NAMES[3])?;
        TEST_LABEL_FINGERPRINTS
            .iter()
            .find(|(_, checks)| {
                checks
                    .iter()
                    .any(|c| c.matches(&test_labels).unwrap_or(false))
            })
            .map(|(d, _)| *d)
    }
}

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Checksum<'_> {
    /// Whether the file at `path` has this checksum.
    pub fn matches(&self, path: &Path) -> io::Result<bool> {
        let actual = self.of(File::open(path)?)?;
        Ok(actual.eq_ignore_ascii_case(self.expected()))
    }

    /// The hex digest this checksum expects.
    pub fn expected(&self) -> &str {
        match self {
            ContentSha256 { sha256: hex, .. } | FileMd5(hex) => hex,
        }
    }

    /// "sha256 of the content" or "md5", for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            ContentSha256 { .. } => "sha256 of the decompressed content",
            FileMd5(_) => "md5",
        }
    }

    /// This checksum's digest (lowercase hex) of `file`: md5 of its bytes, or sha256 of its
    /// content, decompressed first if it is gzip. Content larger than the expected size is
    /// an `InvalidData` error, found after decompressing one byte more than that size.
    pub fn of(&self, file: File) -> io::Result<String> {
        match *self {
            ContentSha256 { size, .. } => {
                let (reader, _) = content_reader(file)?;
                let mut content = Read::take(reader, size.saturating_add(1));
                let digest = hex_digest::<Sha256>(&mut content)?;
                if content.limit() == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("its content is larger than the expected {size} bytes"),
                    ));
                }
                Ok(digest)
            }
            FileMd5(_) => hex_digest::<Md5>(file),
        }
    }

    /// A [`ContentSha256`] checksum that only computes digests: expects no digest and takes
    /// content of any size.
    pub const fn content_digest() -> Checksum<'static> {
        ContentSha256 {
            sha256: "",
            size: u64::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_command_line() {
        for &d in Dataset::ALL {
            assert_eq!(Dataset::from_name(d.name()), Some(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{d}\""));
        }
    }

    #[test]
    fn class_counts_are_the_published_ones() {
        let counts: Vec<usize> = Dataset::ALL.iter().map(|d| d.num_classes()).collect();
        assert_eq!(counts, [10, 10, 10, 10, 26, 47, 10]);
        let balanced = Dataset::EmnistBalanced.class_names();
        assert_eq!((&balanced[9][..], &balanced[10][..]), ("9", "A"));
        assert_eq!((&balanced[36][..], &balanced[46][..]), ("a", "t"));
        assert_eq!(Dataset::FashionMnist.class_names()[9], "Ankle boot");
    }

    #[test]
    fn every_dataset_names_four_distinct_files_and_checks_them() {
        for &d in Dataset::ALL {
            let names = d.file_names();
            for (i, a) in names.iter().enumerate() {
                assert!(a.ends_with(".gz"), "{a}");
                assert!(!names[i + 1..].contains(a), "{d}: {a} twice");
            }
            match d.source() {
                Source::Files { mirrors, files } => {
                    assert!(!mirrors.is_empty());
                    let served: Vec<_> = files.iter().map(|f| f.name).collect();
                    assert_eq!(served, names, "{d}");
                    for f in files {
                        assert_eq!(
                            f.checksum.expected().len(),
                            match f.checksum {
                                ContentSha256 { .. } => 64,
                                FileMd5(_) => 32,
                            }
                        );
                    }
                }
                Source::Archive { members, .. } => {
                    for (member, name) in members.iter().zip(names) {
                        assert_eq!(member.strip_prefix("gzip/"), Some(name));
                    }
                }
            }
        }
    }

    #[test]
    fn checksums_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels");
        crate::data::idx::write_idx_labels(&path, &[1, 2, 3], true).unwrap();
        let md5 = hex_digest::<Md5>(File::open(&path).unwrap()).unwrap();
        assert_eq!(md5.len(), 32);
        assert!(FileMd5(&md5).matches(&path).unwrap());
        assert!(
            !FileMd5("00000000000000000000000000000000")
                .matches(&path)
                .unwrap()
        );
        // The content hash ignores the compression.
        let raw = dir.path().join("raw");
        crate::data::idx::write_idx_labels(&raw, &[1, 2, 3], false).unwrap();
        let digest = Checksum::content_digest();
        let content = digest.of(File::open(&path).unwrap()).unwrap();
        assert_eq!(content, digest.of(File::open(&raw).unwrap()).unwrap());
        // Content beyond the expected size is refused.
        let three_labels = ContentSha256 {
            sha256: "",
            size: 8 + 3,
        };
        assert!(three_labels.of(File::open(&path).unwrap()).is_ok());
        let two_labels = ContentSha256 {
            sha256: "",
            size: 8 + 2,
        };
        let err = two_labels.of(File::open(&path).unwrap()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }

    #[test]
    fn folders_are_recognised_by_names_or_test_labels() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Dataset::recognize(dir.path()), None);
        for name in Dataset::EmnistLetters.file_names() {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(Dataset::recognize(dir.path()), Some(Dataset::EmnistLetters));
        let other = tempfile::tempdir().unwrap();
        crate::data::idx::write_idx_labels(&other.path().join(MNIST_NAMES[3]), &[1, 2], true)
            .unwrap();
        assert_eq!(
            Dataset::recognize(other.path()),
            None,
            "unknown test labels"
        );
    }
}
