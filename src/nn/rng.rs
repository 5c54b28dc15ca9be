//! The project's one source of randomness: a seeded ChaCha8 stream, turned into uniform
//! and normal numbers and shuffles by formulas written here, so that a seed gives the same
//! initial weights and batch order on every platform and every future version of `rand`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_core::Rng as _;
use serde::{Deserialize, Serialize};

/// The position of a [`SeededRng`]: ChaCha8's key, stream number and offset in 32-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    pub key: [u8; 32],
    pub stream: u64,
    pub word_pos: u128,
}

/// A seeded, portable random stream.
pub struct SeededRng {
    inner: ChaCha8Rng,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A stream derived from this one's seed for an independent purpose (e.g. one for the
    /// initial weights, one for shuffling), so that changing one use does not shift the other.
    pub fn derive(seed: u64, purpose: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(purpose);
        Self { inner: rng }
    }

    /// Where the stream stands, to be continued later by [`SeededRng::from_state`] with
    /// exactly the numbers it would have given next.
    pub fn state(&self) -> RngState {
        RngState {
            key: self.inner.get_seed(),
            stream: self.inner.get_stream(),
            word_pos: self.inner.get_word_pos(),
        }
    }

    /// The stream at a position [`SeededRng::state`] recorded.
    pub fn from_state(state: RngState) -> Self {
        let mut inner = ChaCha8Rng::from_seed(state.key);
        inner.set_stream(state.stream);
        inner.set_word_pos(state.word_pos);
        Self { inner }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n) by Lemire's multiply-shift (bias below 2^-64 · n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Standard normal by the Box–Muller transform (one value per call; simple over fast,
    /// since it only runs at initialisation).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1], so ln never sees 0
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_purposes_differ() {
        let a: Vec<u64> = (0..4).map(|_| SeededRng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = SeededRng::derive(7, 1);
        let mut y = SeededRng::derive(7, 2);
        assert_ne!(x.next_u64(), y.next_u64());
    }

    #[test]
    fn a_saved_state_continues_the_stream_exactly() {
        let mut rng = SeededRng::derive(9, 2);
        // Odd and even word offsets, inside and across ChaCha's 4-block buffer.
        for draws in [0, 1, 3, 31, 32, 33, 100] {
            for _ in 0..draws {
                rng.next_u64();
            }
            let mut copy = SeededRng::from_state(rng.state());
            let ahead: Vec<u64> = (0..70).map(|_| rng.next_u64()).collect();
            let again: Vec<u64> = (0..70).map(|_| copy.next_u64()).collect();
            assert_eq!(ahead, again, "after {draws} more draws");
        }
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        let mut rng = SeededRng::new(1);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.standard_normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<usize> = (0..1000).collect();
        SeededRng::new(3).shuffle(&mut v);
        assert_ne!(v, (0..1000).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
    }
}
