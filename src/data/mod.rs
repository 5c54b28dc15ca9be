//! The data: IDX files, the catalogue of known data sets, where a data set's files are and
//! how they are downloaded, input scaling and batches, augmentation.

pub mod augment;
pub mod catalog;
pub mod download;
pub mod idx;
pub mod images;
pub mod input;
pub mod names;
pub mod source;
