//! File plumbing under every layer: outputs written atomically, inputs read only from
//! regular files of bounded size, digests as hex.

pub mod atomic;
pub mod digest;
pub mod regular;
