//! Ctrl-C (SIGINT) and SIGTERM while training: the first asks training to stop after the
//! mini-batch in progress and save a checkpoint; a second ends the process at once with
//! status 130.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// The exit status of a run stopped by a signal (128 + SIGINT's number, as shells report).
pub const EXIT_STATUS: u8 = 130;

/// A run stopped by a signal, saved in a checkpoint; the process ends with [`EXIT_STATUS`].
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped by {signal} {position}; the run is saved in {}: continue it with `{resume}`",
    checkpoint.display()
)]
pub struct Stopped {
    pub signal: &'static str,
    pub position: String,
    pub checkpoint: PathBuf,
    pub resume: String,
}

/// Set by the first SIGINT or SIGTERM; cheap to poll between mini-batches.
#[derive(Clone)]
pub struct StopRequest {
    stop: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl StopRequest {
    /// Installs the handlers of SIGINT and SIGTERM for the rest of the process (a download's
    /// removal of its temporary files on a signal stays, but no longer ends the process).
    pub fn install() -> io::Result<Self> {
        let request = StopRequest {
            stop: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicUsize::new(0)),
        };
        for signal in [SIGINT, SIGTERM] {
            // Run in this order: a signal that finds the flag already set ends the process.
            let code = i32::from(EXIT_STATUS);
            flag::register_conditional_shutdown(signal, code, Arc::clone(&request.stop))?;
            flag::register_usize(signal, Arc::clone(&request.signal), signal as usize)?;
            flag::register(signal, Arc::clone(&request.stop))?;
        }
        crate::io::on_signal::stop_handled_elsewhere();
        Ok(request)
    }

    pub fn requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The name of the signal received ("SIGINT" for Ctrl-C), if one was.
    pub fn signal_name(&self) -> Option<&'static str> {
        match self.signal.load(Ordering::Relaxed) as i32 {
            SIGINT => Some("SIGINT (Ctrl-C)"),
            SIGTERM => Some("SIGTERM"),
            _ => None,
        }
    }
}
