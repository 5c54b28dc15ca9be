//! What is written to disk and read back: the weights file, the checkpoint, the exports for
//! Python (.npz, .safetensors, and the PyTorch .pkl with its evaluate_hw1.py), the run log and
//! the sweep log.

pub mod checkpoint;
pub mod export;
pub mod framed;
pub mod python;
pub mod runlog;
pub mod sweeplog;
pub mod torch;
pub mod weights;
