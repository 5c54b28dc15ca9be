//! Paths removed when SIGINT or SIGTERM ends the process: a download's temporary file and
//! the folder it created, which would otherwise be left behind by a signal that arrives
//! mid-transfer.
//!
//! The first [`RemoveOnSignal`] starts a thread that waits for the signals. On one, it
//! removes the paths registered at that moment (files, then folders if empty, the latest
//! first) and then does what the signal would have done without it: end the process — unless
//! [`stop_handled_elsewhere`] said that the program now stops gracefully on its own (a
//! training run, which saves a checkpoint).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// What a registered path is, for how to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    /// Removed only if empty.
    Folder,
}

/// The paths to remove on a signal, in the order registered; `next_id` tells them apart.
struct Pending {
    paths: Vec<(u64, PathBuf, Kind)>,
    next_id: u64,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    paths: Vec::new(),
    next_id: 0,
});
static HANDLED_ELSEWHERE: AtomicBool = AtomicBool::new(false);
/// Whether the thread waiting for the signals has started.
static WATCHING: Mutex<bool> = Mutex::new(false);

/// A path removed if a signal ends the process while this value lives; dropping it
/// forgets the path (and leaves it where it is).
#[derive(Debug)]
pub struct RemoveOnSignal {
    id: u64,
}

impl RemoveOnSignal {
    /// Registers the file at `path`.
    pub fn file(path: &Path) -> io::Result<Self> {
        Self::register(path, Kind::File)
    }

    /// Registers the folder at `path`, removed only if empty by then.
    pub fn folder(path: &Path) -> io::Result<Self> {
        Self::register(path, Kind::Folder)
    }

    fn register(path: &Path, kind: Kind) -> io::Result<Self> {
        start_watcher()?;
        let mut pending = lock();
        let id = pending.next_id;
        pending.next_id += 1;
        pending.paths.push((id, path.to_path_buf(), kind));
        Ok(RemoveOnSignal { id })
    }
}

impl Drop for RemoveOnSignal {
    fn drop(&mut self) {
        lock().paths.retain(|(id, _, _)| *id != self.id);
    }
}

/// From now on a signal only removes the registered paths and leaves the process running:
/// the program has its own handlers that stop it (see `cli::interrupt`).
pub fn stop_handled_elsewhere() {
    HANDLED_ELSEWHERE.store(true, Ordering::SeqCst);
}

/// The registered paths; a panic elsewhere while holding the lock leaves them usable.
fn lock() -> std::sync::MutexGuard<'static, Pending> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the thread that waits for SIGINT and SIGTERM, once per process.
fn start_watcher() -> io::Result<()> {
    let mut watching = WATCHING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if *watching {
        return Ok(());
    }
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("remove-on-signal".into())
        .spawn(move || {
            for signal in signals.forever() {
                remove_pending();
                if !HANDLED_ELSEWHERE.load(Ordering::SeqCst) {
                    // Ends the process as the signal's default action does.
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            }
        })?;
    *watching = true;
    Ok(())
}

/// Removes the registered paths, the latest first (a folder after the files in it).
fn remove_pending() {
    let mut pending = lock();
    for (_, path, kind) in pending.paths.drain(..).rev() {
        // Best effort: the process is ending, and a path may already be gone.
        let _ = match kind {
            Kind::File => std::fs::remove_file(&path),
            Kind::Folder => std::fs::remove_dir(&path),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_guard_forgets_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"x").unwrap();
        let guard = RemoveOnSignal::file(&path).unwrap();
        assert!(lock().paths.iter().any(|(_, p, _)| *p == path));
        drop(guard);
        assert!(!lock().paths.iter().any(|(_, p, _)| *p == path));
        assert!(path.exists(), "forgetting a path leaves it in place");
    }
}
