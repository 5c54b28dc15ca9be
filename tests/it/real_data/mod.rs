//! Training and evaluating on the real data sets, where their folders are given, and on
//! variants of MNIST made from its real files.

mod fashion_mnist;
mod mnist;
mod variants;
