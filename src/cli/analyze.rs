//! `mnist-mlp analyze`: per-class figures, the confusion matrix and the worst mistakes.

use std::io::Write;

use crate::cli::args::AnalyzeArgs;
use crate::cli::common::{note_other_data, prepare_data};
use crate::data::names::Split;
use crate::evaluate::{EvaluateError, load_with_test_set};
use crate::io::outputs::{FileArg, check_outputs};
use crate::io::paths::lossy_json;
use crate::model::analysis::{Analysis, json_report, text_report};
use crate::plot::analysis::{plot_confusion, plot_mistakes};

pub fn analyze_command(args: &AnalyzeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    check_outputs(&[
        FileArg::read("--weights", &args.test.weights),
        FileArg::replaced("--confusion", &args.confusion),
        FileArg::replaced("--mistakes", &args.mistakes),
    ])?;
    let source = prepare_data(&args.test.data, &[Split::Test], args.test.offline)?;
    let (run, test) = load_with_test_set(&source, &args.test.weights)?;
    let data = source.identify(&[(Split::Test, &test)]);
    note_other_data(&run.data, &data);
    let names = &run.data.class_names;
    let probabilities = (run.classifier.probabilities(&test))
        .map_err(EvaluateError::outputs(&args.test.weights))?;
    let analysis = Analysis::new(&test.labels, probabilities.view())?;
    let title = format!(
        "mnist-mlp {}: test {}",
        run.classifier.mlp.arch.describe(),
        analysis.accuracy_line()
    );
    plot_confusion(&args.confusion, &analysis.confusion, names, &title)?;
    let count = args.mistakes_count.into();
    plot_mistakes(
        &args.mistakes,
        &test.images,
        &analysis.mistakes,
        count,
        names,
    )?;
    if args.json {
        let mut json = json_report(&analysis, names, count)?;
        json["weights"] = lossy_json(&args.test.weights);
        json["dataset"] = serde_json::json!(data.dataset);
        json["data_name"] = serde_json::json!(data.name);
        json["data_dir"] = lossy_json(&source.dir);
        json["confusion_plot"] = lossy_json(&args.confusion);
        json["mistakes_plot"] = lossy_json(&args.mistakes);
        writeln!(out, "{json}")?;
    } else {
        write!(out, "{}", text_report(&analysis, names)?)?;
        writeln!(
            out,
            "\nwrote {} and {}",
            args.confusion.display(),
            args.mistakes.display()
        )?;
    }
    Ok(())
}
