//! `mnist-mlp download`: fetch a data set's files into its folder.

use std::io::Write;

use crate::cli::args::DownloadArgs;
use crate::cli::common::stderr_is_terminal;
use crate::data::download::download_missing;
use crate::data::names::Split;
use crate::data::source::resolve_source;

pub fn download_command(args: &DownloadArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let source = resolve_source(&args.data.request(), &Split::BOTH)?;
    let fetched = download_missing(
        &source,
        &Split::BOTH,
        &args.data.mirrors,
        stderr_is_terminal(),
    )?;
    if fetched.is_empty() {
        writeln!(
            out,
            "all {} files already in {}",
            source.describe(),
            source.dir.display()
        )?;
    }
    for path in fetched {
        writeln!(out, "downloaded {}", path.display())?;
    }
    Ok(())
}
