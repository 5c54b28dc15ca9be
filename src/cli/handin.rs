//! `mnist-mlp handin`: the homework's zip, built in memory and written atomically.

use std::io::Write;

use crate::cli::args::HandinArgs;
use crate::handin::{self, HandinInputs};
use crate::io::atomic::write_bytes_atomically;
use crate::io::outputs::{FileArg, check_outputs};
use crate::store::export::SCRIPT_NAME;

pub fn handin_command(args: &HandinArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let source = &args.source;
    check_outputs(&[
        FileArg::read("--weights", &source.weights),
        FileArg::read("--confusion", &source.confusion),
        FileArg::read("--run-log", &source.run_log),
        FileArg::replaced("--output", &args.output),
    ])?;
    let authors = &args.source.authors;
    if authors.len() == 1 {
        eprintln!("warning: one --author: the homework is done in pairs; pass --author for each");
    }
    let inputs = HandinInputs {
        report: args.source.inputs(),
        project: args.project.clone(),
    };
    let built = handin::build(&inputs)?;
    write_bytes_atomically(&args.output, &built.zip)?;
    let code = built
        .entries
        .iter()
        .filter(|e| e.starts_with("code/"))
        .count();
    let s = if built.pages == 1 { "" } else { "s" };
    writeln!(
        out,
        "wrote {}: report.pdf ({} page{s}, by {}), {}, {}, HOW_TO_RUN.txt and {code} files of code",
        args.output.display(),
        built.pages,
        authors.join("; "),
        handin::PKL_NAME,
        SCRIPT_NAME,
    )?;
    Ok(())
}
