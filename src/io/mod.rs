//! File plumbing under every layer: outputs written atomically, digests. digests as hex.

pub mod atomic;
pub mod digest;
