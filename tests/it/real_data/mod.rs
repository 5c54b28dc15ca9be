//! Training and evaluating on the real data sets, where their folders are given.

mod fashion_mnist;
mod mnist;
