//! `mnist-mlp evaluate-hw1`: the test accuracy of a weights file.

use std::io::Write;

use crate::cli::args::EvaluateArgs;
use crate::cli::common::{accuracy_line, prepare_data};
use crate::data::names::Split;
use crate::evaluate::evaluate_test_set;

pub fn evaluate_command(args: &EvaluateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let test = &args.test;
    let source = prepare_data(&test.data, &[Split::Test], test.offline)?;
    let eval = evaluate_test_set(&source, &test.weights)?;
    if args.json {
        let json = serde_json::json!({
            "accuracy": eval.accuracy(),
            "correct": eval.correct,
            "total": eval.total,
            "loss": eval.loss,
            "weights": test.weights,
            "dataset": source.dataset,
            "data_dir": source.dir,
        });
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "{}", accuracy_line(&eval))?;
    }
    Ok(())
}
