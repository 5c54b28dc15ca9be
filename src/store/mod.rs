//! What is written to disk and read back: the weights file, the checkpoint, the exports for
//! Python, the run log.

pub mod checkpoint;
pub mod export;
pub mod framed;
pub mod runlog;
pub mod weights;
