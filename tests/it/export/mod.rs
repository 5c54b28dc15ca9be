//! `mnist-mlp export`: choosing the format, and the exported files used from NumPy.

mod format_choice;
mod python;
