//! What several subcommands share: the data they ask for, prepared; their accuracy line;
//! whether stderr is a terminal (for progress bars).

use std::io::IsTerminal;

use crate::cli::args::DataArgs;
use crate::data::download::prepare_source;
use crate::data::names::Split;
use crate::data::source::{DataInfo, DataSource};
use crate::model::{Evaluation, accuracy_text};

/// Whether stderr is a terminal, where progress bars are drawn.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The folder and data set the flags ask for, with its files in place.
pub fn prepare_data(
    data: &DataArgs,
    splits: &[Split],
    offline: bool,
) -> anyhow::Result<DataSource> {
    Ok(prepare_source(
        &data.request(),
        splits,
        offline,
        &data.mirrors,
        stderr_is_terminal(),
    )?)
}

/// The test accuracy as every command prints it: "test accuracy: 50.00% (1/2)".
pub fn accuracy_line(eval: &Evaluation) -> String {
    format!("test {}", accuracy_text(eval.correct, eval.total))
}

/// Says on stderr when a network trained on one data set is tested on another (e.g. on a
/// variant of it, which is custom data): allowed, but worth knowing.
pub fn note_other_data(trained_on: &DataInfo, tested_on: &DataInfo) {
    if trained_on != tested_on {
        eprintln!(
            "note: the network was trained on {}; this test set is {}",
            trained_on.describe(),
            tested_on.describe()
        );
    }
}
