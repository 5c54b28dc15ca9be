//! Whether a run fits in memory: an estimate of what training allocates, checked against
//! the machine's memory before anything is allocated, so that a network too large to train
//! (e.g. `--hidden 100000,100000`) is refused with the estimate instead of aborting the
//! process when an allocation fails.

use std::fmt;

use crate::model::EVAL_BATCH;
use crate::nn::mlp::Architecture;
use crate::train::stepper::shards_per_batch;

/// The bytes of one parameter or activation (training is in `f32`).
const VALUE_BYTES: usize = std::mem::size_of::<f32>();
/// Copies of the parameters that exist besides the per-shard gradients: the network, the
/// network kept so far, and the optimizer's state (two moments for Adam).
const PARAMETER_COPIES: usize = 4;
/// Buffers per unit and training image in a mini-batch: each layer's pre-activation,
/// activation, dropout mask and gradient.
const TRAINING_ACTIVATIONS: usize = 4;
/// Buffers per unit and image of an evaluation chunk: pre-activation and activation.
const EVALUATION_ACTIVATIONS: usize = 2;
/// The memory assumed where the machine's cannot be read.
const ASSUMED_MEMORY: u64 = 16 << 30;

/// A network too large to train here.
#[derive(Debug, thiserror::Error)]
#[error(
    "the network {arch} needs {needed} of memory to train in mini-batches of {batch} images \
     (its parameters, gradients, optimizer state and activations), and {whose} {available}: \
     choose fewer or smaller --hidden layers or a smaller --batch-size"
)]
pub struct TooLarge {
    /// The architecture, described ("784-100000-10 relu").
    pub arch: String,
    pub batch: usize,
    pub needed: Bytes,
    pub available: Bytes,
    /// Whose memory `available` is: "this machine has", …
    pub whose: &'static str,
}

/// A number of bytes, shown in binary units ("1.5 GiB"); `None` is more than a `u64` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub Option<u64>);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(bytes) = self.0 else {
            return write!(f, "more than 16 EiB");
        };
        const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let mut value = bytes as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        match unit {
            0 => write!(f, "{bytes} bytes"),
            _ => write!(f, "about {value:.1} {}", UNITS[unit]),
        }
    }
}

/// Refuses to train `arch` in mini-batches of `batch` images when the estimate of its memory
/// ([`training_bytes`]) exceeds the machine's memory.
pub fn check_fits(arch: &Architecture, batch: usize) -> Result<(), TooLarge> {
    let (available, whose) = match machine_memory() {
        Some(bytes) => (bytes, "this machine has"),
        None => (ASSUMED_MEMORY, "this machine's memory is unknown, assumed"),
    };
    let needed = training_bytes(arch, batch, rayon::current_num_threads());
    if needed.is_some_and(|n| n <= available) {
        return Ok(());
    }
    Err(TooLarge {
        arch: arch.describe(),
        batch,
        needed: Bytes(needed),
        available: Bytes(Some(available)),
        whose,
    })
}

/// An estimate of the bytes that training `arch` allocates with mini-batches of `batch`
/// images and evaluation on `threads` threads: the parameters' copies (per-shard gradients
/// included) and the activations of a mini-batch and of an evaluation chunk per thread.
/// `None` when it exceeds a `u64`.
pub fn training_bytes(arch: &Architecture, batch: usize, threads: usize) -> Option<u64> {
    let sizes = arch.layer_sizes();
    let parameters = sizes.windows(2).try_fold(0u64, |sum, w| {
        let (inputs, outputs) = (w[0] as u64, w[1] as u64);
        sum.checked_add(inputs.checked_add(1)?.checked_mul(outputs)?)
    })?;
    let units = sizes
        .iter()
        .try_fold(0u64, |sum, &n| sum.checked_add(n as u64))?;
    let parameter_copies = PARAMETER_COPIES as u64 + shards_per_batch(batch.max(1)) as u64;
    let activation_rows = (TRAINING_ACTIVATIONS as u64)
        .checked_mul(batch as u64)?
        .checked_add((EVALUATION_ACTIVATIONS * EVAL_BATCH) as u64 * threads as u64)?;
    parameters
        .checked_mul(parameter_copies)?
        .checked_add(units.checked_mul(activation_rows)?)?
        .checked_mul(VALUE_BYTES as u64)
}

/// The memory the process may use: the machine's (`MemTotal` of /proc/meminfo), or its
/// control group's limit (cgroup v2 `memory.max`) when lower. `None` where unreadable.
fn machine_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text))?;
    let limit = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    Some(limit.map_or(total, |limit| limit.min(total)))
}

/// The `MemTotal` of a /proc/meminfo text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::Activation;

    fn arch(hidden: &[usize]) -> Architecture {
        Architecture {
            input_size: 784,
            hidden: hidden.to_vec(),
            num_classes: 10,
            activation: Activation::Relu,
        }
    }

    #[test]
    fn the_estimate_counts_parameter_copies_and_activations() {
        let a = arch(&[256]);
        let parameters = a.parameter_count() as u64;
        let shards = shards_per_batch(128) as u64;
        let units = (784 + 256 + 10) as u64;
        let expected = 4
            * (parameters * (PARAMETER_COPIES as u64 + shards)
                + units * (TRAINING_ACTIVATIONS as u64 * 128 + 2 * EVAL_BATCH as u64 * 2));
        assert_eq!(training_bytes(&a, 128, 2), Some(expected));
    }

    #[test]
    fn sizes_beyond_u64_have_no_estimate() {
        assert_eq!(training_bytes(&arch(&[1 << 60]), 128, 2), None);
        assert_eq!(training_bytes(&arch(&[usize::MAX]), 128, 2), None);
        assert_eq!(training_bytes(&arch(&[8]), usize::MAX, 2), None);
    }

    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(Bytes(Some(512)).to_string(), "512 bytes");
        assert_eq!(Bytes(Some(3 << 29)).to_string(), "about 1.5 GiB");
        assert_eq!(Bytes(None).to_string(), "more than 16 EiB");
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        let meminfo = "MemTotal:       24684084 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(meminfo), Some(24684084 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
    }
}
