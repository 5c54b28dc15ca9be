//! Learning-rate schedules: the learning rate of every step, from the base rate and how far
//! training has come.

use serde::{Deserialize, Serialize};

use crate::choice::Choice;

/// How the learning rate changes during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    Step,
    Cosine,
    Onecycle,
}

impl Choice for Schedule {
    const ALL: &'static [Self] = &[Self::Constant, Self::Step, Self::Cosine, Self::Onecycle];

    fn name(self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Step => "step",
            Schedule::Cosine => "cosine",
            Schedule::Onecycle => "onecycle",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            Schedule::Constant => "The base rate throughout (after any warm-up)",
            Schedule::Step => {
                "The base rate, multiplied by 0.1 at 50% and again at 75% of training"
            }
            Schedule::Cosine => "Cosine annealing from the base rate down to 0",
            Schedule::Onecycle => {
                "One cycle (Smith 2018, as PyTorch's OneCycleLR): up from base/25 to the base \
                 rate over the first 30% of steps (or the warm-up, if given), then down to \
                 base/25e4, both along a half cosine"
            }
        })
    }
}

/// Where on a half cosine from `from` (at fraction 0) to `to` (at fraction 1) we are.
fn cosine(from: f64, to: f64, fraction: f64) -> f64 {
    to + (from - to) * (1.0 + (std::f64::consts::PI * fraction.clamp(0.0, 1.0)).cos()) / 2.0
}

/// The learning rate of step `step` (0-based) of `total` steps. Schedules other than
/// one-cycle first rise linearly from 0 over `warmup` steps.
pub fn learning_rate(
    schedule: Schedule,
    base: f64,
    step: usize,
    total: usize,
    warmup: usize,
) -> f64 {
    let total = total.max(1);
    if schedule == Schedule::Onecycle {
        let rise = if warmup > 0 {
            warmup
        } else {
            (total * 3).div_ceil(10)
        };
        let (start, end) = (base / 25.0, base / 25.0 / 1e4);
        return if step < rise {
            cosine(start, base, step as f64 / rise as f64)
        } else {
            cosine(
                base,
                end,
                (step - rise) as f64 / (total - rise).max(1) as f64,
            )
        };
    }
    if step < warmup {
        return base * (step + 1) as f64 / warmup as f64;
    }
    let fraction = (step - warmup) as f64 / (total - warmup).max(1) as f64;
    match schedule {
        Schedule::Constant => base,
        Schedule::Step => base * 0.1f64.powi((fraction >= 0.5) as i32 + (fraction >= 0.75) as i32),
        Schedule::Cosine => cosine(base, 0.0, fraction),
        Schedule::Onecycle => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn constant_is_constant_after_a_linear_warm_up() {
        let lr = |s| learning_rate(Schedule::Constant, 0.1, s, 100, 10);
        assert_abs_diff_eq!(lr(0), 0.01, epsilon = 1e-12);
        assert_abs_diff_eq!(lr(4), 0.05, epsilon = 1e-12);
        assert_eq!((lr(10), lr(99)), (0.1, 0.1));
    }

    #[test]
    fn step_drops_tenfold_at_half_and_three_quarters() {
        let lr = |s| learning_rate(Schedule::Step, 1.0, s, 100, 0);
        assert_eq!(lr(49), 1.0);
        assert_abs_diff_eq!(lr(50), 0.1, epsilon = 1e-12);
        assert_abs_diff_eq!(lr(74), 0.1, epsilon = 1e-12);
        assert_abs_diff_eq!(lr(75), 0.01, epsilon = 1e-12);
    }

    #[test]
    fn cosine_falls_from_the_base_to_zero() {
        let lr = |s| learning_rate(Schedule::Cosine, 0.2, s, 100, 0);
        assert_abs_diff_eq!(lr(0), 0.2, epsilon = 1e-12);
        assert_abs_diff_eq!(lr(50), 0.1, epsilon = 1e-12);
        assert!(lr(99) > 0.0 && lr(99) < 1e-3);
        assert!((1..100).all(|s| lr(s) < lr(s - 1)));
    }

    #[test]
    fn one_cycle_rises_then_falls() {
        let lr = |s| learning_rate(Schedule::Onecycle, 1.0, s, 100, 0);
        assert_abs_diff_eq!(lr(0), 1.0 / 25.0, epsilon = 1e-12);
        assert_abs_diff_eq!(lr(30), 1.0, epsilon = 1e-12);
        assert!(lr(15) > lr(0) && lr(15) < lr(30));
        assert!(lr(99) < 1e-3 && lr(99) > 0.0);
        assert!((31..100).all(|s| lr(s) <= lr(s - 1)));
    }
}
