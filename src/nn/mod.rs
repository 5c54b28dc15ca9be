//! The network by hand: the matrix product, each layer's forward and backward pass, the
//! MLP, the optimizers and learning-rate schedules, the seeded random streams.

pub mod denormals;
pub mod layers;
pub mod linalg;
pub mod mlp;
pub mod optim;
pub mod rng;
pub mod schedule;
pub mod sparse;
