//! mnist-mlp: a multilayer perceptron for MNIST written by hand on `ndarray`:
//! every forward pass, gradient, loss, activation and optimizer step lives in this crate.

pub mod choice;
pub mod cli;
pub mod data;
pub mod evaluate;
pub mod io;
pub mod model;
pub mod nn;
pub mod plot;
pub mod report;
pub mod store;
pub mod train;
