//! IDX files (LeCun's MNIST format), gzip-compressed or raw.
//!
//! An IDX file is a big-endian header followed by the data:
//! a magic number `00 00 TT NN` (TT = data type, NN = number of dimensions),
//! then NN dimensions as u32, then the product of the dimensions in elements.
//! Images must be unsigned bytes (type 0x08), as in every MNIST variant; labels may be of
//! any IDX type (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64) and one value per
//! image (1 dimension) or a row of values per image whose first is the class (2 dimensions,
//! as QMNIST's `idx2-int` files).
//! Whether a file is gzip-compressed is decided by its first two bytes, never by its name.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use byteorder::{BigEndian, ByteOrder};
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::data::images::Images;
use crate::io::atomic::{WriteError, write_atomically};
use crate::io::regular::open_regular;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The type of an IDX file's elements: the third byte of its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    U8,
    I8,
    I16,
    I32,
    F32,
    F64,
}

impl ElementType {
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0x08 => Some(Self::U8),
            0x09 => Some(Self::I8),
            0x0B => Some(Self::I16),
            0x0C => Some(Self::I32),
            0x0D => Some(Self::F32),
            0x0E => Some(Self::F64),
            _ => None,
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Self::U8 => 0x08,
            Self::I8 => 0x09,
            Self::I16 => 0x0B,
            Self::I32 => 0x0C,
            Self::F32 => 0x0D,
            Self::F64 => 0x0E,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 => 2,
            Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// The big-endian element at the start of `bytes` (at least [`ElementType::size`] long).
    fn value(self, bytes: &[u8]) -> f64 {
        match self {
            Self::U8 => f64::from(bytes[0]),
            Self::I8 => f64::from(bytes[0] as i8),
            Self::I16 => f64::from(BigEndian::read_i16(bytes)),
            Self::I32 => f64::from(BigEndian::read_i32(bytes)),
            Self::F32 => f64::from(BigEndian::read_f32(bytes)),
            Self::F64 => BigEndian::read_f64(bytes),
        }
    }
}

/// What an IDX header says: the element type and the dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    element: ElementType,
    dims: Vec<u32>,
}

/// Deflate never expands data by more than this factor (about 1032:1), so a gzip file of
/// `n` bytes decompresses to at most `n * MAX_GZIP_RATIO` bytes.
const MAX_GZIP_RATIO: u64 = 1032;

/// The largest payload read: far above every published MNIST variant (EMNIST Digits'
/// training images, the largest, are 188 MB), so that a header whose counts a gzip file
/// really fills (at deflate's best ratio) cannot make a command hold gigabytes.
const MAX_PAYLOAD: u64 = 1 << 30;

/// The largest buffer allocated up front for a gzip file's payload; beyond this the buffer
/// grows only as decompressed data actually arrives.
const MAX_PREALLOCATION: u64 = 256 << 20;

/// What an IDX file holds; each kind has its own number of dimensions and magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxKind {
    /// `count × rows × cols` bytes, magic 2051 (0x00000803).
    Images,
    /// `count` values, magic 2049 (0x00000801) for bytes, or `count × k` values whose
    /// first in each row is the label (QMNIST), of any element type.
    Labels,
}

impl IdxKind {
    /// Number of dimensions of the MNIST file of this kind.
    pub fn ndims(self) -> usize {
        match self {
            IdxKind::Images => 3,
            IdxKind::Labels => 1,
        }
    }

    /// Whether a file of this kind may have `ndims` dimensions.
    fn accepts_ndims(self, ndims: usize) -> bool {
        match self {
            IdxKind::Images => ndims == 3,
            IdxKind::Labels => ndims == 1 || ndims == 2,
        }
    }

    /// Whether a file of this kind may hold elements of type `element`.
    fn accepts(self, element: ElementType) -> bool {
        self == IdxKind::Labels || element == ElementType::U8
    }

    /// The types a file of this kind may hold, for messages.
    fn supported_types(self) -> &'static str {
        match self {
            IdxKind::Images => "images must be 0x08 (unsigned bytes, as in MNIST)",
            IdxKind::Labels => "labels may be 0x08, 0x09 or 0x0B to 0x0E",
        }
    }

    /// The magic number that starts the MNIST file of this kind (unsigned bytes).
    pub fn magic(self) -> u32 {
        (u32::from(ElementType::U8.code()) << 8) | self.ndims() as u32
    }

    /// "image" or "label", for messages.
    fn noun(self) -> &'static str {
        match self {
            IdxKind::Images => "image",
            IdxKind::Labels => "label",
        }
    }
}

impl Header {
    /// Header length in bytes: the magic number and one u32 per dimension.
    fn len(&self) -> u64 {
        4 * (1 + self.dims.len() as u64)
    }

    /// Describes what the header announces, e.g. "60000 images of 28x28 = 47040000 bytes".
    fn describe(&self, bytes: u64) -> String {
        match self.dims[..] {
            [count, rows, cols] => format!("{count} images of {rows}x{cols} = {bytes} bytes"),
            [count] => format!("{count} labels = {bytes} bytes"),
            [count, width] => format!("{count} label rows of {width} values = {bytes} bytes"),
            _ => format!("dimensions {:?} = {bytes} bytes", self.dims),
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

    #[error("{} holds IDX data type 0x{type_code:02x}; {supported}", path.display())]
    UnsupportedType {
        path: PathBuf,
        type_code: u8,
        supported: &'static str,
    },

    #[error(
        "{}: label rows of {width} values have no label; the file is damaged",
        path.display()
    )]
    EmptyLabelRows { path: PathBuf, width: u32 },

    #[error(
        "{}: label {value} at index {index} is not a whole number; the file is damaged",
        path.display()
    )]
    FractionalLabel {
        path: PathBuf,
        value: f64,
        index: usize,
    },

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
        "{}: header says {announced}, more than the {} bytes mnist-mlp reads from one file; \
         the file is damaged or not an MNIST variant",
        path.display(),
        MAX_PAYLOAD
    )]
    TooLarge { path: PathBuf, announced: String },

    #[error(
        "{} has unexpected data after the {announced} its header announces; \
         the file is damaged or not MNIST, delete it and download it again",
        path.display()
    )]
    TrailingData { path: PathBuf, announced: String },

    #[error(
        "{}: label {label} at index {index} is out of range for {num_classes} classes{}",
        path.display(),
        match first_label { 0 => String::new(), first => format!(" numbered from {first}") }
    )]
    LabelOutOfRange {
        path: PathBuf,
        label: i64,
        index: usize,
        num_classes: usize,
        first_label: i64,
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
        "the {what} {split} files are not in {}: looked for {looked_for}. \
         Run `mnist-mlp download` to fetch them, or point --data-dir (or MNIST_DATA_DIR) \
         at the folder that holds them",
        dir.display()
    )]
    SplitNotFound {
        dir: PathBuf,
        /// The data set, e.g. "MNIST" or "fashion-mnist".
        what: String,
        split: &'static str,
        /// The names looked for, already formatted for the message.
        looked_for: String,
    },
}

/// Reads an IDX image file (magic 2051, u8 pixels), gzip-compressed or raw.
pub fn read_idx_images(path: &Path) -> Result<Images, DataError> {
    let (header, pixels) = read_idx(path, IdxKind::Images)?;
    let (rows, cols) = (header.dims[1], header.dims[2]);
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
    class_indices(path, &read_idx_label_values(path)?, 0, num_classes)
}

/// Reads the labels of an IDX label file of any element type: one value per image, or for
/// a two-dimensional file (QMNIST) the first value of each row. Every label must be a whole
/// number.
pub fn read_idx_label_values(path: &Path) -> Result<Vec<i64>, DataError> {
    let (header, payload) = read_idx(path, IdxKind::Labels)?;
    let width = header.dims.get(1).copied().unwrap_or(1);
    if width == 0 {
        return Err(DataError::EmptyLabelRows {
            path: path.to_path_buf(),
            width,
        });
    }
    let element = header.element;
    let row_bytes = width as usize * element.size();
    payload
        .chunks_exact(row_bytes)
        .enumerate()
        .map(|(index, row)| {
            let value = element.value(row);
            if value.fract() == 0.0 && value.abs() < 1e15 {
                Ok(value as i64)
            } else {
                Err(DataError::FractionalLabel {
                    path: path.to_path_buf(),
                    value,
                    index,
                })
            }
        })
        .collect()
}

/// The class indices `label − first_label` of the labels read from `path`, each checked to
/// be below `num_classes`.
pub fn class_indices(
    path: &Path,
    labels: &[i64],
    first_label: i64,
    num_classes: usize,
) -> Result<Vec<u8>, DataError> {
    let limit = num_classes.min(256) as i64;
    labels
        .iter()
        .enumerate()
        .map(|(index, &label)| match label - first_label {
            class @ 0.. if class < limit => Ok(class as u8),
            _ => Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                label,
                index,
                num_classes,
                first_label,
            }),
        })
        .collect()
}

/// Writes `images` as an IDX image file, gzip-compressed if `gzip`, atomically.
pub fn write_idx_images(path: &Path, images: &Images, gzip: bool) -> Result<(), WriteError> {
    write_atomically(path, |w| {
        check_whole_images(images)?;
        let dims = [images.len(), images.rows, images.cols];
        write_idx(w, IdxKind::Images.magic(), &dims, &images.pixels, gzip)
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
    write_idx_array(path, ElementType::U8, &[labels.len()], labels, gzip)
}

/// The sha256 (lowercase hex) of the IDX content that stores `images` as one byte a pixel:
/// what [`write_idx_images`] writes before compressing. The published files of a data set
/// have this digest exactly when these are their images.
pub fn images_content_sha256(images: &Images) -> Option<String> {
    let dims = [images.len(), images.rows, images.cols];
    content_sha256(IdxKind::Images.magic(), &dims, &images.pixels)
}

/// The sha256 (lowercase hex) of the IDX content that stores `labels` as one byte a label:
/// what [`write_idx_labels`] writes before compressing.
pub fn labels_content_sha256(labels: &[u8]) -> Option<String> {
    let magic = (u32::from(ElementType::U8.code()) << 8) | 1;
    content_sha256(magic, &[labels.len()], labels)
}

/// The sha256 of the header of `magic` and `dims` followed by `payload`; `None` when a
/// dimension does not fit a header.
fn content_sha256(magic: u32, dims: &[usize], payload: &[u8]) -> Option<String> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(encode_header(magic, dims).ok()?);
    hash.update(payload);
    Some(crate::io::digest::hex(&hash.finalize()))
}

/// Writes an IDX file of any element type: `payload` holds the big-endian elements whose
/// dimensions are `dims`. Gzip-compressed if `gzip`, atomically.
pub fn write_idx_array(
    path: &Path,
    element: ElementType,
    dims: &[usize],
    payload: &[u8],
    gzip: bool,
) -> Result<(), WriteError> {
    let magic = (u32::from(element.code()) << 8) | dims.len() as u32;
    write_atomically(path, |w| write_idx(w, magic, dims, payload, gzip))
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

/// Reads a whole IDX file of `kind`: returns its header and its payload, after checking
/// the header against the file and the payload length against the header.
fn read_idx(path: &Path, kind: IdxKind) -> Result<(Header, Vec<u8>), DataError> {
    let (file, file_len) = open_file(path)?;
    let (mut reader, gzip) = content_reader(file).map_err(|e| stream_error(path, false, e))?;
    let header = read_header(&mut reader, path, kind, gzip)?;
    let expected = payload_len(path, &header, file_len, gzip)?;
    let mut payload = Vec::with_capacity(expected.min(MAX_PREALLOCATION) as usize);
    reader
        .take(expected + 1)
        .read_to_end(&mut payload)
        .map_err(|e| stream_error(path, gzip, e))?;
    let announced = header.describe(expected);
    check_payload_len(path, announced, expected, payload.len() as u64)?;
    Ok((header, payload))
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
    let (file, len) = open_regular(path).map_err(|source| DataError::Open {
        path: path.to_path_buf(),
        source,
    })?;
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
) -> Result<Header, DataError> {
    let read_err = |e| stream_error(path, gzip, e);
    let magic = read_up_to(reader, 4).map_err(read_err)?;
    if magic.len() < 4 {
        return Err(header_truncated(path, kind));
    }
    let (element, ndims) = check_magic(BigEndian::read_u32(&magic), path, kind)?;
    let dims = read_up_to(reader, 4 * ndims as u64).map_err(read_err)?;
    if dims.len() < 4 * ndims {
        return Err(header_truncated(path, kind));
    }
    Ok(Header {
        element,
        dims: dims.chunks_exact(4).map(BigEndian::read_u32).collect(),
    })
}

/// Checks a magic number (two zero bytes, a type code, a number of dimensions) against
/// what a file of `kind` may hold; returns the element type and the number of dimensions.
fn check_magic(magic: u32, path: &Path, kind: IdxKind) -> Result<(ElementType, usize), DataError> {
    let type_code = (magic >> 8) as u8;
    let ndims = (magic & 0xff) as usize;
    if magic >> 16 == 0 && kind.accepts_ndims(ndims) {
        match ElementType::from_code(type_code) {
            Some(element) if kind.accepts(element) => return Ok((element, ndims)),
            _ => {
                return Err(DataError::UnsupportedType {
                    path: path.to_path_buf(),
                    type_code,
                    supported: kind.supported_types(),
                });
            }
        }
    }
    Err(DataError::BadMagic {
        path: path.to_path_buf(),
        noun: kind.noun(),
        found: magic,
        expected: kind.magic(),
    })
}

fn header_truncated(path: &Path, kind: IdxKind) -> DataError {
    DataError::HeaderTruncated {
        path: path.to_path_buf(),
        noun: kind.noun(),
    }
}

/// The payload length that the header announces, checked against what a file of `file_len`
/// bytes can hold and against [`MAX_PAYLOAD`], so that a damaged or hostile header never
/// causes a huge allocation.
fn payload_len(path: &Path, header: &Header, file_len: u64, gzip: bool) -> Result<u64, DataError> {
    let dims = &header.dims;
    let expected = dims
        .iter()
        .try_fold(header.element.size() as u64, |acc, &d| {
            acc.checked_mul(u64::from(d))
        })
        .filter(|&n| usize::try_from(n).is_ok() && n < u64::MAX)
        .ok_or_else(|| DataError::Overflow {
            path: path.to_path_buf(),
            dims: dims.to_vec(),
        })?;
    if gzip {
        if expected > file_len.saturating_mul(MAX_GZIP_RATIO) {
            return Err(DataError::TooLargeForFile {
                path: path.to_path_buf(),
                announced: header.describe(expected),
                file_len,
            });
        }
    } else {
        let actual = file_len.saturating_sub(header.len());
        check_payload_len(path, header.describe(expected), expected, actual)?;
    }
    if expected > MAX_PAYLOAD {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            announced: header.describe(expected),
        });
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
    magic: u32,
    dims: &[usize],
    payload: &[u8],
    gzip: bool,
) -> io::Result<()> {
    let header = encode_header(magic, dims)?;
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
fn encode_header(magic: u32, dims: &[usize]) -> io::Result<Vec<u8>> {
    let mut header = magic.to_be_bytes().to_vec();
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
mod tests;
