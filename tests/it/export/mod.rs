//! `mnist-mlp export`: choosing the format, the exported files used from NumPy, and the .pkl
//! with its evaluate_hw1.py.

mod format_choice;
mod pkl;
pub(crate) mod python;
