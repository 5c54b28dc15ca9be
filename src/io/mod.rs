//! File plumbing under every layer: outputs written atomically, digests as hex.

pub mod atomic;
pub mod digest;
