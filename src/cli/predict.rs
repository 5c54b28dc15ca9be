//! `mnist-mlp predict`: classify image files of your own.

use std::io::Write;

use crate::cli::args::PredictArgs;
use crate::model::predict::{PredictError, TOP_CLASSES, predict_files};
use crate::store::weights::{self, SavedRun};
use crate::text::escape_controls;

pub fn predict_command(args: &PredictArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let SavedRun {
        classifier, data, ..
    } = weights::load(&args.weights)?;
    let names = data.class_names;
    let predictions =
        predict_files(&classifier, &names, &args.images, TOP_CLASSES).map_err(|e| match e {
            PredictError::Network(_) | PredictError::Outputs(_) => {
                anyhow::Error::new(e).context(args.weights.display().to_string())
            }
            e => e.into(),
        })?;
    for prediction in predictions {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&prediction)?)?;
        } else {
            let top: Vec<String> = prediction
                .top
                .iter()
                .map(|s| {
                    let name = escape_controls(&s.name);
                    format!("{name} ({:.2}%)", 100.0 * s.probability)
                })
                .collect();
            let path = prediction.path.display().to_string();
            writeln!(out, "{}: {}", escape_controls(&path), top.join(", "))?;
        }
    }
    Ok(())
}
