//! Any bytes as a weights file: an error or a network whose tensors fit its architecture,
//! never a panic or an allocation that a length field asks for beyond the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(run) = mnist_mlp::store::weights::decode(data) {
        let arch = &run.classifier.mlp.arch;
        assert_eq!(run.data.class_names.len(), arch.num_classes);
        assert_eq!(run.classifier.mlp.params.layers.len(), arch.num_layers());
    }
});
