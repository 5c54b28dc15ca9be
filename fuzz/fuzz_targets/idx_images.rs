//! Any bytes, raw or gzip (the reader decides by the first bytes), as an IDX image file:
//! an error or images, never a panic, a hang or an allocation beyond the input's bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/scratch.rs"]
mod scratch;

fuzz_target!(|data: &[u8]| {
    let path = scratch::write_input(data);
    if let Ok(images) = mnist_mlp::data::idx::read_idx_images(&path) {
        assert_eq!(
            images.pixels.len(),
            images.len() * images.pixels_per_image()
        );
    }
});
