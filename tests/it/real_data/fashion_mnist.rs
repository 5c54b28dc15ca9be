//! On the real Fashion-MNIST files (where `FASHION_MNIST_DATA_DIR` points to them, as in
//! CI, or in `data/fashion-mnist`): the folder is recognised, and the default training run
//! reaches 90%.

use crate::common;

use assert_cmd::cargo::cargo_bin_cmd;

#[test]
fn default_training_on_fashion_mnist_reaches_90_percent() {
    let test = "default_training_on_fashion_mnist_reaches_90_percent";
    let var = "FASHION_MNIST_DATA_DIR";
    let Some(data) = common::real_data_dir(var, "Fashion-MNIST", "fashion-mnist", test) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut cmd = cargo_bin_cmd!("mnist-mlp");
    cmd.current_dir(out.path())
        .env_remove("MNIST_DATA_DIR")
        .args(["train", "--offline", "--json", "--data-dir"])
        .arg(&data);
    let summary = common::json_summary(&mut cmd);
    eprintln!("default run on Fashion-MNIST: {summary}");
    assert_eq!(summary["dataset"], "fashion-mnist");
    assert_eq!(summary["config"]["augment"], "none");
    assert_eq!(summary["config"]["hidden"], serde_json::json!([1024, 512]));
    let accuracy = summary["test_accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.90, "default training reached only {accuracy}");

    let run = mnist_mlp::store::weights::load(&out.path().join("weights/mnist-mlp.bin")).unwrap();
    assert_eq!(run.data.class_names[0], "T-shirt/top");
}
