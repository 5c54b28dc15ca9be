use std::process::ExitCode;

use mnist_mlp::cli::args::Cli;
use mnist_mlp::cli::{exit_code, is_broken_pipe, run};

fn main() -> ExitCode {
    ignore_file_size_signal();
    let cli = Cli::parse_args();
    match run(cli, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            exit_code(&err)
        }
    }
}

/// The error and its causes, joined by ": ", each cause left out when the text already says
/// it (many messages quote their source, e.g. "cannot write a.bin: File too large").
fn error_chain(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1).map(|c| c.to_string()) {
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// A write past the file-size limit (`ulimit -f`) would kill the process with SIGXFSZ,
/// leaving no message. With a handler registered (one that only sets a flag nobody reads),
/// the signal no longer kills and the write fails with EFBIG ("File too large") instead,
/// which becomes an error naming the file, like a full disk.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Registration fails only for signals that cannot be caught; SIGXFSZ can.
        let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, flag);
    }
}
