//! File plumbing under every layer: outputs written atomically and checked before a command
//! starts, inputs read only from regular files of bounded size, digests as hex, paths in
//! serialized records, paths removed when a signal ends the process.

pub mod atomic;
pub mod digest;
pub mod on_signal;
pub mod outputs;
pub mod paths;
pub mod regular;
