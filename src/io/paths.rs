//! Paths in serialized records. A Unix path is bytes and need not be UTF-8, which serde's
//! own `Path` support refuses: JSON outputs, which hold text, write such a path lossily
//! ([`lossy`]: each invalid byte sequence becomes U+FFFD), and binary formats keep its bytes
//! exactly ([`exact`]).

use std::path::Path;

use serde::Serializer;

/// Serializes `path` as text, replacing what is not UTF-8 by U+FFFD (`#[serde(serialize_with
/// = "lossy")]`).
pub fn lossy<P, S>(path: &P, serializer: S) -> Result<S::Ok, S::Error>
where
    P: AsRef<Path> + ?Sized,
    S: Serializer,
{
    serializer.serialize_str(&path.as_ref().to_string_lossy())
}

/// A path as a JSON string, lossily (see [`lossy`]).
pub fn lossy_json(path: &Path) -> serde_json::Value {
    serde_json::Value::String(path.to_string_lossy().into_owned())
}

/// A path as its bytes (`#[serde(with = "exact")]`). In bincode a sequence of bytes is
/// encoded as a string is (its length, then the bytes), so files written before stay
/// readable.
pub mod exact {
    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(path.as_os_str().as_encoded_bytes())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
        let bytes = Vec::<u8>::deserialize(deserializer)?;
        Ok(path_from_bytes(bytes))
    }

    #[cfg(unix)]
    fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }

    #[cfg(not(unix))]
    fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Exact(#[serde(with = "super::exact")] PathBuf);

    #[derive(Serialize, Deserialize)]
    struct AsString(PathBuf);

    fn encode<T: Serialize>(value: &T) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap()
    }

    #[test]
    fn exact_paths_are_encoded_as_serde_encodes_utf8_paths() {
        let path = PathBuf::from("out/weights.bin");
        assert_eq!(encode(&Exact(path.clone())), encode(&AsString(path)));
    }

    #[cfg(unix)]
    #[test]
    fn exact_paths_keep_bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(b"out\xff/w.bin"));
        let bytes = encode(&Exact(path.clone()));
        let (back, _): (Exact, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, Exact(path));
    }

    #[cfg(unix)]
    #[test]
    fn lossy_paths_replace_bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::OsStr::from_bytes(b"out\xff/w.bin");
        assert_eq!(super::lossy_json(path.as_ref()), "out\u{fffd}/w.bin");
    }
}
