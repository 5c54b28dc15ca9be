use std::process::ExitCode;

use mnist_mlp::cli::Cli;
use mnist_mlp::commands::{exit_code, is_broken_pipe, run};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    match run(cli, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            exit_code(&err)
        }
    }
}
