//! What several subcommands share: the data their flags ask for, whether progress can be
//! drawn, the accuracy line.

use std::io::IsTerminal;

use crate::cli::args::DataArgs;
use crate::data::download::prepare_source;
use crate::data::source::DataSource;
use crate::model::{Evaluation, accuracy_text};

pub(super) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The folder and data set the flags ask for, with its files in place.
pub(super) fn prepare_data(data: &DataArgs, offline: bool) -> anyhow::Result<DataSource> {
    Ok(prepare_source(
        &data.request(),
        offline,
        &data.mirrors,
        stderr_is_terminal(),
    )?)
}

pub(super) fn accuracy_line(eval: &Evaluation) -> String {
    format!("test {}", accuracy_text(eval.correct, eval.total))
}
