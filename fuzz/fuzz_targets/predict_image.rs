//! Any bytes as an image file for `predict` (PNG, JPEG or PNM, told by the content):
//! decoded and prepared the MNIST way, or an error; never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/scratch.rs"]
mod scratch;

fuzz_target!(|data: &[u8]| {
    let path = scratch::write_input(data);
    // Either outcome is fine: what is checked is that it comes, without a panic.
    let _ = mnist_mlp::model::predict::load_mnist_style(&path);
});
