//! Any bytes, raw or gzip, as an IDX label file of any element type and one or two
//! dimensions: an error or labels, never a panic, a hang or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/scratch.rs"]
mod scratch;

fuzz_target!(|data: &[u8]| {
    let path = scratch::write_input(data);
    if let Ok(labels) = mnist_mlp::data::idx::read_idx_label_values(&path) {
        // The labels a split keeps are checked against its classes the same way.
        let _ = mnist_mlp::data::idx::class_indices(&path, &labels, 0, 10);
    }
});
