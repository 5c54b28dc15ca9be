//! IDX files (LeCun's MNIST format), gzip-compressed or raw.
//!
//! An IDX file is a big-endian header followed by the data:
//! a magic number `00 00 TT NN` (TT = data type, NN = number of dimensions),
//! then NN dimensions as u32, then the product of the dimensions in elements.
//! Only type 0x08 (unsigned bytes) is supported, which is what MNIST uses.
//! Whether a file is gzip-compressed is decided by its first two bytes, never by its name.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use byteorder::{BigEndian, ByteOrder};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::atomic::{WriteError, write_atomically};
use crate::dataset::Images;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The IDX data type code for unsigned bytes, the only one supported.
const TYPE_U8: u8 = 0x08;

/// Deflate never expands data by more than this factor (about 1032:1), so a gzip file of
/// `n` bytes decompresses to at most `n * MAX_GZIP_RATIO` bytes.
const MAX_GZIP_RATIO: u64 = 1032;

/// The largest buffer allocated up front for a gzip file's payload; beyond this the buffer
/// grows only as decompressed data actually arrives.
const MAX_PREALLOCATION: u64 = 256 << 20;

/// What an IDX file holds; each kind has its own number of dimensions and magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxKind {
    /// `count × rows × cols` bytes, magic 2051 (0x00000803).
    Images,
    /// `count` bytes, magic 2049 (0x00000801).
    Labels,
}

impl IdxKind {
    /// Number of dimensions in the header.
    pub fn ndims(self) -> usize {
        match self {
            IdxKind::Images => 3,
            IdxKind::Labels => 1,
        }
    }

    /// The magic number that starts a file of this kind.
    pub fn magic(self) -> u32 {
        (u32::from(TYPE_U8) << 8) | self.ndims() as u32
    }

    /// "image" or "label", for messages.
    fn noun(self) -> &'static str {
        match self {
            IdxKind::Images => "image",
            IdxKind::Labels => "label",
        }
    }

    /// Header length in bytes: the magic number and one u32 per dimension.
    fn header_len(self) -> u64 {
        4 * (1 + self.ndims() as u64)
    }

    /// Describes what a header announces, e.g. "60000 images of 28x28 = 47040000 bytes".
    fn describe(self, dims: &[u32], bytes: u64) -> String {
        match dims {
            [count, rows, cols] => format!("{count} images of {rows}x{cols} = {bytes} bytes"),
            [count] => format!("{count} labels = {bytes} bytes"),
            _ => format!("dimensions {dims:?} = {bytes} bytes"),
        }
    }
}

/// Errors from reading IDX files and from locating or loading MNIST splits.
/// Every message names the file (or folder) and says what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },

    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error(
        "cannot decompress {}: {source}; the file is damaged or incomplete, \
         delete it and download it again",
        path.display()
    )]
    Gzip { path: PathBuf, source: io::Error },

    #[error("{} is empty; delete it and download it again", path.display())]
    Empty { path: PathBuf },

    #[error(
        "{} ends inside its header: it is not an IDX {noun} file, or it is truncated",
        path.display()
    )]
    HeaderTruncated { path: PathBuf, noun: &'static str },

    #[error(
        "{} is not an IDX {noun} file (magic 0x{found:08x}, expected {expected}); \
         check that this is the right file",
        path.display()
    )]
    BadMagic {
        path: PathBuf,
        noun: &'static str,
        found: u32,
        expected: u32,
    },

    #[error(
        "{} holds IDX data type 0x{type_code:02x}; only 0x08 (unsigned bytes, as in MNIST) \
         is supported",
        path.display()
    )]
    UnsupportedType { path: PathBuf, type_code: u8 },

    #[error(
        "{}: header says images of {rows}x{cols}; rows and columns must be nonzero, \
         the file is damaged",
        path.display()
    )]
    ZeroSize { path: PathBuf, rows: u32, cols: u32 },

    #[error(
        "{}: header dimensions {dims:?} describe more data than can be addressed; \
         the file is damaged",
        path.display()
    )]
    Overflow { path: PathBuf, dims: Vec<u32> },

    #[error(
        "{} is truncated: header says {announced}, file has {actual}; \
         delete it and download it again",
        path.display()
    )]
    Truncated {
        path: PathBuf,
        announced: String,
        actual: u64,
    },

    #[error(
        "{} is damaged: header says {announced}, more than a gzip file of {file_len} bytes \
         can hold; delete it and download it again",
        path.display()
    )]
    TooLargeForFile {
        path: PathBuf,
        announced: String,
        file_len: u64,
    },

    #[error(
        "{} has unexpected data after the {announced} its header announces; \
         the file is damaged or not MNIST, delete it and download it again",
        path.display()
    )]
    TrailingData { path: PathBuf, announced: String },

    #[error(
        "{}: label {label} at index {index} is out of range for {num_classes} classes",
        path.display()
    )]
    LabelOutOfRange {
        path: PathBuf,
        label: u8,
        index: usize,
        num_classes: usize,
    },

    #[error(
        "{} holds {images} images but {} holds {labels} labels; the two files must come \
         from the same split (replace the wrong one, e.g. with `mnist-mlp download`)",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        images_path: PathBuf,
        images: usize,
        labels_path: PathBuf,
        labels: usize,
    },

    #[error(
        "{} holds no images; a split needs at least one, delete the file and download it again",
        path.display()
    )]
    NoImages { path: PathBuf },

    #[error(
        "the MNIST {split} files are not in {}: looked for {looked_for}. \
         Run `mnist-mlp download` to fetch them, or point --data-dir (or MNIST_DATA_DIR) \
         at the folder that holds them",
        dir.display()
    )]
    SplitNotFound {
        dir: PathBuf,
        split: &'static str,
        /// The names looked for, already formatted for the message.
        looked_for: String,
    },
}

/// Reads an IDX image file (magic 2051, u8 pixels), gzip-compressed or raw.
pub fn read_idx_images(path: &Path) -> Result<Images, DataError> {
    let (dims, pixels) = read_idx(path, IdxKind::Images)?;
    let (rows, cols) = (dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::ZeroSize {
            path: path.to_path_buf(),
            rows,
            cols,
        });
    }
    Ok(Images {
        rows: rows as usize,
        cols: cols as usize,
        pixels,
    })
}

/// Reads an IDX label file (magic 2049, u8 labels), gzip-compressed or raw, and checks
/// that every label is below `num_classes`.
pub fn read_idx_labels(path: &Path, num_classes: usize) -> Result<Vec<u8>, DataError> {
    let (_, labels) = read_idx(path, IdxKind::Labels)?;
    let out_of_range = labels
        .iter()
        .position(|&label| usize::from(label) >= num_classes);
    match out_of_range {
        Some(index) => Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            label: labels[index],
            index,
            num_classes,
        }),
        None => Ok(labels),
    }
}

/// Writes `images` as an IDX image file, gzip-compressed if `gzip`, atomically.
pub fn write_idx_images(path: &Path, images: &Images, gzip: bool) -> Result<(), WriteError> {
    write_atomically(path, |w| {
        check_whole_images(images)?;
        let dims = [images.len(), images.rows, images.cols];
        write_idx(w, IdxKind::Images, &dims, &images.pixels, gzip)
    })
}

/// Refuses images that an IDX file cannot describe: zero rows or columns, or a pixel
/// count that is not a whole number of images.
fn check_whole_images(images: &Images) -> io::Result<()> {
    let per_image = images.pixels_per_image();
    if per_image == 0 || !images.pixels.len().is_multiple_of(per_image) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} pixels do not make whole images of {}x{}",
                images.pixels.len(),
                images.rows,
                images.cols
            ),
        ));
    }
    Ok(())
}

/// Writes `labels` as an IDX label file, gzip-compressed if `gzip`, atomically.
pub fn write_idx_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<(), WriteError> {
    write_atomically(path, |w| {
        write_idx(w, IdxKind::Labels, &[labels.len()], labels, gzip)
    })
}

/// Opens `file` for reading its content: through a gzip decoder when it starts with the
/// gzip magic bytes, as it is otherwise. Returns the reader and whether it decompresses.
pub(crate) fn content_reader(mut file: File) -> io::Result<(Box<dyn Read>, bool)> {
    let mut start = Vec::with_capacity(GZIP_MAGIC.len());
    (&mut file)
        .take(GZIP_MAGIC.len() as u64)
        .read_to_end(&mut start)?;
    file.rewind()?;
    if start == GZIP_MAGIC {
        Ok((Box::new(MultiGzDecoder::new(file)), true))
    } else {
        Ok((Box::new(file), false))
    }
}

/// Reads a whole IDX file of `kind`: returns its dimensions and its payload, after checking
/// the header against the file and the payload length against the header.
fn read_idx(path: &Path, kind: IdxKind) -> Result<(Vec<u32>, Vec<u8>), DataError> {
    let (file, file_len) = open_file(path)?;
    let (mut reader, gzip) = content_reader(file).map_err(|e| stream_error(path, false, e))?;
    let dims = read_header(&mut reader, path, kind, gzip)?;
    let expected = payload_len(path, kind, &dims, file_len, gzip)?;
    let mut payload = Vec::with_capacity(expected.min(MAX_PREALLOCATION) as usize);
    reader
        .take(expected + 1)
        .read_to_end(&mut payload)
        .map_err(|e| stream_error(path, gzip, e))?;
    let announced = kind.describe(&dims, expected);
    check_payload_len(path, announced, expected, payload.len() as u64)?;
    Ok((dims, payload))
}

/// An error of the byte stream: of decompression for a gzip file, of the disk otherwise.
fn stream_error(path: &Path, gzip: bool, source: io::Error) -> DataError {
    let path = path.to_path_buf();
    if gzip {
        DataError::Gzip { path, source }
    } else {
        DataError::Read { path, source }
    }
}

/// Opens `path` as a regular, nonempty file and returns it with its length.
fn open_file(path: &Path) -> Result<(File, u64), DataError> {
    let open_err = |source| DataError::Open {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(open_err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a folder, not a file",
        )));
    }
    let file = File::open(path).map_err(open_err)?;
    let len = file.metadata().map_err(open_err)?.len();
    if len == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((file, len))
}

/// Reads and checks the magic number and the dimensions of a `kind` header.
fn read_header(
    reader: &mut dyn Read,
    path: &Path,
    kind: IdxKind,
    gzip: bool,
) -> Result<Vec<u32>, DataError> {
    let header = read_up_to(reader, kind.header_len()).map_err(|e| stream_error(path, gzip, e))?;
    if header.len() < 4 {
        return Err(header_truncated(path, kind));
    }
    check_magic(BigEndian::read_u32(&header), path, kind)?;
    if (header.len() as u64) < kind.header_len() {
        return Err(header_truncated(path, kind));
    }
    Ok(header[4..]
        .chunks_exact(4)
        .map(BigEndian::read_u32)
        .collect())
}

/// Checks a magic number: two zero bytes, type 0x08, and the number of dimensions of `kind`.
fn check_magic(magic: u32, path: &Path, kind: IdxKind) -> Result<(), DataError> {
    let type_code = (magic >> 8) as u8;
    if magic >> 16 == 0 && type_code != TYPE_U8 && magic & 0xff == kind.ndims() as u32 {
        return Err(DataError::UnsupportedType {
            path: path.to_path_buf(),
            type_code,
        });
    }
    if magic != kind.magic() {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            noun: kind.noun(),
            found: magic,
            expected: kind.magic(),
        });
    }
    Ok(())
}

fn header_truncated(path: &Path, kind: IdxKind) -> DataError {
    DataError::HeaderTruncated {
        path: path.to_path_buf(),
        noun: kind.noun(),
    }
}

/// The payload length that `dims` announce, checked against what a file of `file_len`
/// bytes can hold, so that a damaged or hostile header never causes a huge allocation.
fn payload_len(
    path: &Path,
    kind: IdxKind,
    dims: &[u32],
    file_len: u64,
    gzip: bool,
) -> Result<u64, DataError> {
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)))
        .filter(|&n| usize::try_from(n).is_ok() && n < u64::MAX)
        .ok_or_else(|| DataError::Overflow {
            path: path.to_path_buf(),
            dims: dims.to_vec(),
        })?;
    if gzip {
        if expected > file_len.saturating_mul(MAX_GZIP_RATIO) {
            return Err(DataError::TooLargeForFile {
                path: path.to_path_buf(),
                announced: kind.describe(dims, expected),
                file_len,
            });
        }
    } else {
        let actual = file_len.saturating_sub(kind.header_len());
        check_payload_len(path, kind.describe(dims, expected), expected, actual)?;
    }
    Ok(expected)
}

/// Compares the payload length found with the one the header announced.
fn check_payload_len(
    path: &Path,
    announced: String,
    expected: u64,
    actual: u64,
) -> Result<(), DataError> {
    let path = path.to_path_buf();
    match actual.cmp(&expected) {
        std::cmp::Ordering::Less => Err(DataError::Truncated {
            path,
            announced,
            actual,
        }),
        std::cmp::Ordering::Greater => Err(DataError::TrailingData { path, announced }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// Reads up to `limit` bytes; fewer only if the stream ends first.
fn read_up_to(reader: &mut dyn Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(limit as usize);
    reader.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Writes an IDX header and payload to `w`, through gzip if `gzip`.
fn write_idx(
    w: &mut dyn Write,
    kind: IdxKind,
    dims: &[usize],
    payload: &[u8],
    gzip: bool,
) -> io::Result<()> {
    let header = encode_header(kind, dims)?;
    if gzip {
        let mut encoder = GzEncoder::new(w, Compression::default());
        encoder.write_all(&header)?;
        encoder.write_all(payload)?;
        encoder.finish()?;
    } else {
        w.write_all(&header)?;
        w.write_all(payload)?;
    }
    Ok(())
}

/// The header bytes: magic number, then each dimension as a big-endian u32.
fn encode_header(kind: IdxKind, dims: &[usize]) -> io::Result<Vec<u8>> {
    let mut header = kind.magic().to_be_bytes().to_vec();
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "dimension {d} does not fit in an IDX header (at most {})",
                    u32::MAX
                ),
            )
        })?;
        header.extend_from_slice(&d.to_be_bytes());
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn sample_images() -> Images {
        Images {
            rows: 3,
            cols: 2,
            pixels: (0..4 * 6).map(|i| (i * 11) as u8).collect(),
        }
    }

    fn raw_images_file(count: u32, rows: u32, cols: u32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, 8, 3];
        for d in [count, rows, cols] {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(payload);
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Writes `bytes` to a file in a fresh temporary folder and returns both.
    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.idx");
        fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn images_error(bytes: &[u8]) -> String {
        let (_dir, path) = file_with(bytes);
        let err = read_idx_images(&path).unwrap_err().to_string();
        assert!(
            err.contains("data.idx"),
            "message does not name the file: {err}"
        );
        err
    }

    #[test]
    fn images_round_trip_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let images = sample_images();
        for gz in [false, true] {
            // The name never decides the format: the raw file carries a .gz name.
            let path = dir.path().join(if gz { "images" } else { "images.gz" });
            write_idx_images(&path, &images, gz).unwrap();
            assert_eq!(fs::read(&path).unwrap().starts_with(&GZIP_MAGIC), gz);
            assert_eq!(read_idx_images(&path).unwrap(), images);
        }
    }

    #[test]
    fn labels_round_trip_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let labels = vec![0, 9, 3, 3, 7];
        for gz in [false, true] {
            let path = dir.path().join(format!("labels-{gz}"));
            write_idx_labels(&path, &labels, gz).unwrap();
            assert_eq!(read_idx_labels(&path, 10).unwrap(), labels);
        }
    }

    #[test]
    fn empty_sets_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels");
        write_idx_labels(&path, &[], true).unwrap();
        assert!(read_idx_labels(&path, 10).unwrap().is_empty());
    }

    #[test]
    fn raw_file_layout_is_big_endian_idx() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images");
        write_idx_images(&path, &sample_images(), false).unwrap();
        let expected = raw_images_file(4, 3, 2, &sample_images().pixels);
        assert_eq!(fs::read(&path).unwrap(), expected);
    }

    #[test]
    fn writer_refuses_ragged_images() {
        let dir = tempfile::tempdir().unwrap();
        let ragged = Images {
            rows: 2,
            cols: 2,
            pixels: vec![1; 5],
        };
        let err = write_idx_images(&dir.path().join("x"), &ragged, false).unwrap_err();
        assert!(err.to_string().contains("whole images"), "{err}");
    }

    #[test]
    fn wrong_magic() {
        let mut bytes = raw_images_file(1, 1, 1, &[0]);
        bytes[3] = 1;
        let err = images_error(&bytes);
        assert!(
            err.contains("not an IDX image file (magic 0x00000801, expected 2051)"),
            "{err}"
        );
        let err = images_error(b"<html><body>Not Found</body></html>");
        assert!(
            err.contains("not an IDX image file (magic 0x3c68746d"),
            "{err}"
        );
    }

    #[test]
    fn labels_file_rejects_image_magic() {
        let (_dir, path) = file_with(&raw_images_file(1, 1, 1, &[0]));
        let err = read_idx_labels(&path, 10).unwrap_err().to_string();
        assert!(err.contains("not an IDX label file"), "{err}");
        assert!(err.contains("expected 2049"), "{err}");
    }

    #[test]
    fn wrong_type_code() {
        let mut bytes = raw_images_file(1, 1, 1, &[0; 4]);
        bytes[2] = 0x0d; // float
        let err = images_error(&bytes);
        assert!(err.contains("data type 0x0d"), "{err}");
    }

    #[test]
    fn zero_rows() {
        let err = images_error(&raw_images_file(1, 0, 28, &[]));
        assert!(err.contains("images of 0x28"), "{err}");
    }

    #[test]
    fn truncated_raw() {
        let err = images_error(&raw_images_file(60000, 28, 28, &[0; 1234]));
        assert!(
            err.contains(
                "truncated: header says 60000 images of 28x28 = 47040000 bytes, file has 1234"
            ),
            "{err}"
        );
    }

    #[test]
    fn truncated_header() {
        let err = images_error(&raw_images_file(1, 1, 1, &[])[..10]);
        assert!(err.contains("ends inside its header"), "{err}");
        let err = images_error(&[0, 0]);
        assert!(err.contains("ends inside its header"), "{err}");
    }

    #[test]
    fn truncated_gzip() {
        let gz = gzip(&raw_images_file(10, 28, 28, &[7; 7840]));
        let err = images_error(&gz[..gz.len() / 2]);
        assert!(err.contains("cannot decompress"), "{err}");
    }

    #[test]
    fn gzip_with_short_content() {
        let err = images_error(&gzip(&raw_images_file(10, 28, 28, &[7; 100])));
        assert!(err.contains("truncated"), "{err}");
        assert!(err.contains("file has 100"), "{err}");
    }

    #[test]
    fn corrupt_gzip() {
        let payload: Vec<u8> = (0..7840u32).map(|i| (i * i % 251) as u8).collect();
        let good = gzip(&raw_images_file(10, 28, 28, &payload));
        // A wrong CRC in the trailer.
        let mut gz = good.clone();
        let crc = gz.len() - 8;
        gz[crc] ^= 0xff;
        let err = images_error(&gz);
        assert!(err.contains("cannot decompress"), "{err}");
        // Garbled deflate data: depending on the damage, a decoding error or wrong lengths.
        let mut gz = good;
        let middle = gz.len() / 2;
        for byte in &mut gz[middle..middle + 16] {
            *byte ^= 0x5a;
        }
        let err = images_error(&gz);
        assert!(err.contains("damaged"), "{err}");
    }

    #[test]
    fn garbage_after_gzip_stream() {
        let mut gz = gzip(&raw_images_file(1, 1, 1, &[5]));
        gz.extend_from_slice(b"garbage");
        let err = images_error(&gz);
        assert!(err.contains("cannot decompress"), "{err}");
    }

    #[test]
    fn trailing_bytes_raw_and_gzip() {
        let bytes = raw_images_file(1, 2, 2, &[1, 2, 3, 4, 5]);
        let err = images_error(&bytes);
        assert!(
            err.contains("unexpected data after the 1 images of 2x2"),
            "{err}"
        );
        let err = images_error(&gzip(&bytes));
        assert!(err.contains("unexpected data after"), "{err}");
    }

    #[test]
    fn label_out_of_range() {
        let (_dir, path) = file_with(&[]);
        write_idx_labels(&path, &[1, 2, 3, 4, 5, 12, 0], true).unwrap();
        let err = read_idx_labels(&path, 10).unwrap_err().to_string();
        assert!(
            err.contains("label 12 at index 5 is out of range for 10 classes"),
            "{err}"
        );
    }

    #[test]
    fn header_too_large_for_the_file() {
        // 4 billion images, raw: refused from the file length, before any allocation.
        let err = images_error(&raw_images_file(4_000_000_000, 28, 28, &[0; 16]));
        assert!(err.contains("truncated"), "{err}");
        assert!(err.contains("4000000000 images of 28x28"), "{err}");
        // The same header, gzip: more than a small gzip file can ever decompress to.
        let err = images_error(&gzip(&raw_images_file(4_000_000_000, 28, 28, &[0; 16])));
        assert!(err.contains("more than a gzip file of"), "{err}");
        // A product that overflows.
        let err = images_error(&raw_images_file(u32::MAX, u32::MAX, u32::MAX, &[]));
        assert!(err.contains("more data than can be addressed"), "{err}");
    }

    #[test]
    fn empty_file() {
        let err = images_error(&[]);
        assert!(err.contains("is empty"), "{err}");
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.idx");
        let err = read_idx_labels(&path, 10).unwrap_err().to_string();
        assert!(
            err.contains("cannot open") && err.contains("absent.idx"),
            "{err}"
        );
    }

    #[test]
    fn directory_instead_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_idx_images(dir.path()).unwrap_err().to_string();
        assert!(err.contains("folder, not a file"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }
}
