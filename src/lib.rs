//! mnist-mlp: a multilayer perceptron for MNIST written by hand on `ndarray`:
//! every forward pass, gradient, loss, activation and optimizer step lives in this crate.

pub mod analysis;
pub mod atomic;
pub mod augment;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod dataset;
pub mod denormals;
pub mod download;
pub mod evaluate;
pub mod export;
pub mod idx;
pub mod input;
pub mod interrupt;
pub mod layers;
pub mod linalg;
pub mod metrics;
pub mod mlp;
pub mod model;
pub mod optim;
pub mod plot;
pub mod plot_analysis;
pub mod predict;
pub mod report;
pub mod rng;
pub mod runlog;
pub mod schedule;
pub mod train;
pub mod variants;
pub mod weights;
