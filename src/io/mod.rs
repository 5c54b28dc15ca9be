//! File plumbing under every layer: outputs written atomically and checked before a command
//! starts, digests as hex.

pub mod atomic;
pub mod digest;
pub mod outputs;
