//! The command line: the clap definitions ([`args`], the only place that knows clap), one
//! module per subcommand, and [`run`], which dispatches to them.

pub mod analyze;
pub mod args;
pub mod common;
pub mod download;
pub mod evaluate;
pub mod export;
pub mod handin;
pub mod interrupt;
pub mod predict;
pub mod report;
pub mod sweep;
pub mod train;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::args::{Cli, Command};
use crate::cli::interrupt::Stopped;

/// Runs the parsed command, writing its report to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.into())
            .build_global()
            .context("cannot start the worker threads")?;
    }
    match cli.command {
        Command::Train(args) => train::train_command(&args, out),
        Command::EvaluateHw1(args) => evaluate::evaluate_command(&args, out),
        Command::Download(args) => download::download_command(&args, out),
        Command::Predict(args) => predict::predict_command(&args, out),
        Command::Analyze(args) => analyze::analyze_command(&args, out),
        Command::Export(args) => export::export_command(&args, out),
        Command::Report(args) => report::report_command(&args, out),
        Command::Sweep(args) => sweep::sweep_command(&args, out),
        Command::Handin(args) => handin::handin_command(&args, out),
    }
}

/// The exit status of a failed command: 130 when a signal stopped training or a sweep, else
/// 1.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    if err.downcast_ref::<Stopped>().is_some()
        || err.downcast_ref::<sweep::SweepStopped>().is_some()
    {
        ExitCode::from(interrupt::EXIT_STATUS)
    } else {
        ExitCode::FAILURE
    }
}

/// Whether an error chain ends in a closed pipe (e.g. `mnist-mlp … | head`), which is
/// not a failure of ours.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
