//! `mnist-mlp report`: the homework's report from the run log and the weights file.

use std::io::Write;

use crate::cli::args::ReportArgs;
use crate::report::{self, ReportInputs};

pub fn report_command(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let inputs = ReportInputs {
        weights: args.weights.clone(),
        confusion: args.confusion.clone(),
        run_log: args.run_log.clone(),
        authors: args.authors.clone(),
        title: args.title.clone(),
        date: report::today_utc(),
    };
    let written = report::write_report(&inputs, &args.out_dir)?;
    for path in &written.files {
        writeln!(out, "wrote {}", path.display())?;
    }
    match &written.pdf {
        Some((path, pages)) => {
            let s = if *pages == 1 { "" } else { "s" };
            writeln!(out, "wrote {} ({pages} page{s})", path.display())?;
            if *pages > 2 {
                writeln!(out, "note: the homework asks for two pages at most")?;
            }
        }
        None => writeln!(
            out,
            "no PDF: this mnist-mlp was built without the `pdf` feature; \
             `cargo run --release --features pdf -- report …` also typesets report.pdf"
        )?,
    }
    if args.authors.is_empty() {
        writeln!(
            out,
            "note: no --author given; pass --author \"Name, ID\" for each author"
        )?;
    }
    Ok(())
}
