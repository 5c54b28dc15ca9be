//! File plumbing under every layer: outputs written atomically.

pub mod atomic;
