//! File plumbing under every layer: outputs written atomically, digests as hex, paths in
//! serialized records.

pub mod atomic;
pub mod digest;
pub mod paths;
