//! `mnist-mlp evaluate-hw1`: the test accuracy of a weights file.

use std::io::Write;

use crate::cli::args::EvaluateArgs;
use crate::cli::common::{accuracy_line, note_other_data, prepare_data};
use crate::data::names::Split;
use crate::evaluate::{EvaluateError, load_with_test_set};
use crate::io::paths::lossy_json;

pub fn evaluate_command(args: &EvaluateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let test = &args.test;
    let source = prepare_data(&test.data, &[Split::Test], test.offline)?;
    let (run, test_set) = load_with_test_set(&source, &test.weights)?;
    let data = source.identify(&[(Split::Test, &test_set)]);
    note_other_data(&run.data, &data);
    let eval =
        (run.classifier.evaluate(&test_set)).map_err(EvaluateError::outputs(&test.weights))?;
    if args.json {
        let json = serde_json::json!({
            "accuracy": eval.accuracy(),
            "correct": eval.correct,
            "total": eval.total,
            "loss": eval.loss,
            "weights": lossy_json(&test.weights),
            "dataset": data.dataset,
            "data_name": data.name,
            "data_dir": lossy_json(&source.dir),
        });
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "{}", accuracy_line(&eval))?;
    }
    Ok(())
}
