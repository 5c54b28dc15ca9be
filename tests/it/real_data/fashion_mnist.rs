//! On the real Fashion-MNIST files (where `FASHION_MNIST_DATA_DIR` points to them, as in
//! CI, or in `data/fashion-mnist`): the folder is recognised, and the default training run
//! reaches 89%.

use crate::common;

use assert_cmd::cargo::cargo_bin_cmd;

#[test]
fn default_training_on_fashion_mnist_reaches_89_percent() {
    let test = "default_training_on_fashion_mnist_reaches_89_percent";
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
    let accuracy = summary["test_accuracy"].as_f64().unwrap();
    assert!(accuracy >= 0.89, "default training reached only {accuracy}");

    let run = mnist_mlp::store::weights::load(&out.path().join("weights/mnist-mlp.bin")).unwrap();
    assert_eq!(run.data.class_names[0], "T-shirt/top");
}
