//! The integration tests, as one test binary (the crate is linked once): one module per area,
//! and the helpers they share in `common`.

mod analyze;
mod bad_input;
mod common;
mod divergence_and_interruption;
mod downloads;
mod export;
mod gradients;
mod layout;
mod not_learning;
mod outputs;
mod predict;
mod real_data;
mod report;
mod sweep;
mod train_and_evaluate;
mod unusual_text;
mod variants;
