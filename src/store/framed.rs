//! The framing shared by the store's binary files (the weights file, the checkpoint): 8 magic
//! bytes, the format version as a little-endian u32, from the version that introduced it the
//! SHA-256 of the payload (32 bytes), then the payload: one bincode value (serde, standard
//! configuration) with nothing after it.
//!
//! The checksum is verified before anything is decoded, so a changed bit is an error instead
//! of a silently different network. Files of the versions before it load unverified.
//!
//! Decoding is bounded by the payload's length, so a damaged length field inside it is
//! refused instead of allocated. What the magic and versions mean, and the words of the
//! errors, belong to each file: [`FrameProblem`] says what is wrong and the file's own error
//! type says it to the user.

use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::io::atomic::{WriteError, write_atomically_sha256};
use crate::io::regular::read_regular;

/// The bytes of the magic and the version, which every version starts with.
pub const HEADER_LEN: usize = 8 + 4;

/// The bytes of the checksum after the version: a SHA-256.
pub const CHECKSUM_LEN: usize = 32;

/// Bound on what decoding may allocate: far above any network this tool trains, far below
/// what a corrupt length field could ask for.
const PAYLOAD_LIMIT: usize = 1 << 31;

/// The bytes of the framed file at `path`: a regular file no longer than a header and the
/// largest payload.
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    read_regular(path, (HEADER_LEN + CHECKSUM_LEN + PAYLOAD_LIMIT) as u64)
}

/// The bincode configuration of every payload.
pub(crate) fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<PAYLOAD_LIMIT>()
}

/// bincode counts a decoded value by its size in memory (8 bytes for a `usize` that took one
/// byte in the file), so a payload of `n` bytes may count up to this many times `n`.
const DECODED_PER_ENCODED_BYTE: usize = 8;

/// Decodes `bytes` with a bincode limit proportional to their length: a corrupt length
/// field can then never make decoding allocate more than a small multiple of the input
/// (bincode allocates a string's bytes before reading them). The limit is a compile-time
/// constant, hence the tiers; the last is [`PAYLOAD_LIMIT`].
fn decode_bounded<T: DeserializeOwned>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    use bincode::serde::decode_from_slice;
    let standard = bincode::config::standard();
    match bytes.len().saturating_mul(DECODED_PER_ENCODED_BYTE) {
        0..=0x1_0000 => decode_from_slice(bytes, standard.with_limit::<0x1_0000>()),
        0x1_0001..=0x10_0000 => decode_from_slice(bytes, standard.with_limit::<0x10_0000>()),
        0x10_0001..=0x100_0000 => decode_from_slice(bytes, standard.with_limit::<0x100_0000>()),
        0x100_0001..=0x1000_0000 => decode_from_slice(bytes, standard.with_limit::<0x1000_0000>()),
        _ => decode_from_slice(bytes, bincode_config()),
    }
}

/// One kind of framed file: its magic bytes, the version it is written in, the oldest
/// version that is still read and the first version with a checksum.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub magic: [u8; 8],
    pub version: u32,
    pub oldest: u32,
    pub checksummed: u32,
}

/// Why bytes are not a usable frame of some kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameProblem {
    /// The bytes do not start with the magic.
    WrongMagic,
    /// Written in a version above [`Frame::version`].
    Newer { found: u32 },
    /// Written in a version below [`Frame::oldest`].
    Unsupported { found: u32 },
    /// Cut short, or a payload that does not decode (the text says how).
    Corrupt(String),
    /// The payload is not the one its checksum was computed from.
    ChecksumMismatch,
}

/// How a file's error says that its payload does not match its checksum (a changed bit, or
/// a file cut short).
pub const CHECKSUM_MISMATCH: &str = "its contents do not match its checksum";

impl Frame {
    /// Encodes `payload` and writes header, checksum and payload to `path` atomically;
    /// returns the sha256 (lowercase hex) of the bytes written.
    pub fn save<T: Serialize>(&self, path: &Path, payload: &T) -> Result<String, WriteError> {
        let bytes = bincode::serde::encode_to_vec(payload, bincode_config()).map_err(|e| {
            WriteError::Write {
                path: path.to_path_buf(),
                source: io::Error::other(e),
            }
        })?;
        write_atomically_sha256(path, |w| self.write(w, self.version, &bytes))
    }

    /// Writes a file of `version` holding the encoded `payload`: the header, the checksum
    /// where the version has one, the payload.
    fn write(&self, w: &mut dyn Write, version: u32, payload: &[u8]) -> io::Result<()> {
        w.write_all(&self.magic)?;
        w.write_all(&version.to_le_bytes())?;
        if version >= self.checksummed {
            w.write_all(&Sha256::digest(payload))?;
        }
        w.write_all(payload)
    }

    /// The bytes of a file of `version` holding the encoded `payload`, for tests that build
    /// files of older versions or with damaged payloads.
    #[cfg(test)]
    pub(crate) fn file_of(&self, version: u32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write(&mut bytes, version, payload)
            .expect("writing to memory succeeds");
        bytes
    }

    /// Checks the header of `bytes` and, from [`Frame::checksummed`] on, the payload's
    /// checksum: the version found, and the payload.
    pub fn open<'a>(&self, bytes: &'a [u8]) -> Result<(u32, &'a [u8]), FrameProblem> {
        if bytes.len() < self.magic.len() || bytes[..self.magic.len()] != self.magic {
            return Err(FrameProblem::WrongMagic);
        }
        let version: [u8; 4] = bytes
            .get(self.magic.len()..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| FrameProblem::Corrupt("the header is cut short".into()))?;
        let found = u32::from_le_bytes(version);
        if found > self.version {
            return Err(FrameProblem::Newer { found });
        }
        if found < self.oldest {
            return Err(FrameProblem::Unsupported { found });
        }
        let rest = &bytes[HEADER_LEN..];
        if found < self.checksummed {
            return Ok((found, rest));
        }
        let (checksum, payload) = rest
            .split_at_checked(CHECKSUM_LEN)
            .ok_or_else(|| FrameProblem::Corrupt("the checksum is cut short".into()))?;
        if Sha256::digest(payload)[..] != *checksum {
            return Err(FrameProblem::ChecksumMismatch);
        }
        Ok((found, payload))
    }

    /// Says on stderr that the file at `path`, a `what` whose `bytes` [`Frame::open`]
    /// accepted, has no checksum: it was loaded unverified.
    pub fn note_if_unverified(&self, path: &Path, what: &str, bytes: &[u8]) {
        let version = bytes
            .get(self.magic.len()..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes);
        if let Some(found) = version.filter(|&v| v < self.checksummed) {
            eprintln!(
                "note: {} has no checksum ({what} version {found}; checksums came with version \
                 {}), so damage to it cannot be detected: it was loaded unverified",
                path.display(),
                self.checksummed
            );
        }
    }
}

/// Decodes `payload` as one `T` with nothing after it.
pub fn decode_whole<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameProblem> {
    let (value, used): (T, usize) =
        decode_bounded(payload).map_err(|e| FrameProblem::Corrupt(e.to_string()))?;
    if used != payload.len() {
        return Err(FrameProblem::Corrupt(format!(
            "{} unexpected bytes after the end of the data",
            payload.len() - used
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Frame = Frame {
        magic: *b"TESTTEST",
        version: 3,
        oldest: 2,
        checksummed: 3,
    };

    fn framed(version: u32, payload: &[u8]) -> Vec<u8> {
        FRAME.file_of(version, payload)
    }

    #[test]
    fn the_header_is_checked_before_the_payload() {
        assert_eq!(FRAME.open(b"TEST"), Err(FrameProblem::WrongMagic));
        assert_eq!(FRAME.open(b"OTHERMAGIC.."), Err(FrameProblem::WrongMagic));
        assert!(matches!(
            FRAME.open(b"TESTTEST\x03\0"),
            Err(FrameProblem::Corrupt(_))
        ));
        assert_eq!(
            FRAME.open(&framed(4, b"")),
            Err(FrameProblem::Newer { found: 4 })
        );
        assert_eq!(
            FRAME.open(&framed(1, b"")),
            Err(FrameProblem::Unsupported { found: 1 })
        );
        assert_eq!(FRAME.open(&framed(2, b"xy")), Ok((2, &b"xy"[..])));
        assert_eq!(FRAME.open(&framed(3, b"xy")), Ok((3, &b"xy"[..])));
    }

    #[test]
    fn a_changed_bit_or_a_cut_checksum_is_refused() {
        let bytes = framed(3, b"payload");
        for at in HEADER_LEN..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert_eq!(
                FRAME.open(&flipped),
                Err(FrameProblem::ChecksumMismatch),
                "bit flipped in byte {at}"
            );
        }
        assert!(matches!(
            FRAME.open(&bytes[..HEADER_LEN + CHECKSUM_LEN - 1]),
            Err(FrameProblem::Corrupt(_))
        ));
        // The version before checksums has none to check.
        let mut old = framed(2, b"payload");
        old[HEADER_LEN] ^= 0x10;
        assert_eq!(FRAME.open(&old), Ok((2, &b"`ayload"[..])));
    }

    #[test]
    fn save_then_open_and_decode_is_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let value = (String::from("w1"), vec![1.5f32, -2.0]);
        FRAME.save(&path, &value).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"TESTTEST");
        let (version, payload) = FRAME.open(&bytes).unwrap();
        assert_eq!(version, 3);
        assert_eq!(decode_whole::<(String, Vec<f32>)>(payload).unwrap(), value);
        let mut longer = payload.to_vec();
        longer.push(0);
        assert_eq!(
            decode_whole::<(String, Vec<f32>)>(&longer),
            Err(FrameProblem::Corrupt(
                "1 unexpected bytes after the end of the data".into()
            ))
        );
    }
}
