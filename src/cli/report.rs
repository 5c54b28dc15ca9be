//! `mnist-mlp report`: the homework's report from the run log and the weights file.

use std::io::Write;

use crate::cli::args::ReportArgs;
use crate::report;

pub fn report_command(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let written = report::write_report(&args.source.inputs(), &args.out_dir)?;
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
    if args.source.authors.is_empty() {
        writeln!(
            out,
            "note: no --author given; pass --author \"Name, ID\" for each author"
        )?;
    }
    Ok(())
}
