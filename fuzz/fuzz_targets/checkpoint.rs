//! Any bytes as a checkpoint file: an error or a run to resume whose tensors are all
//! finite, never a panic or an allocation that a length field asks for beyond the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(checkpoint) = mnist_mlp::store::checkpoint::decode(data) {
        assert!(
            checkpoint
                .progress
                .tensors()
                .all(|(_, tensor)| tensor.iter().all(|v| v.is_finite()))
        );
    }
});
