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
                "One cycle (Smith 2018), the learning rate of PyTorch's OneCycleLR with its \
                 defaults: up from base/25 to the base rate at the last step of the first 30% \
                 (or of the warm-up, if given), then down to base/25e4 at the last step, both \
                 along a half cosine. The momentum is not cycled: it stays at --momentum"
            }
        })
    }
}

/// Where on a half cosine from `from` (at fraction 0) to `to` (at fraction 1) we are.
fn cosine(from: f64, to: f64, fraction: f64) -> f64 {
    to + (from - to) * (1.0 + (std::f64::consts::PI * fraction.clamp(0.0, 1.0)).cos()) / 2.0
}

/// The learning rate of step `step` (0-based) of `total` steps. Schedules other than
/// one-cycle first rise linearly from 0 over `warmup` steps; one-cycle rises over them along
/// a half cosine instead (see [`one_cycle`]).
pub fn learning_rate(
    schedule: Schedule,
    base: f64,
    step: usize,
    total: usize,
    warmup: usize,
) -> f64 {
    let total = total.max(1);
    if schedule == Schedule::Onecycle {
        return one_cycle(base, step, total, warmup);
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

/// The learning rate of PyTorch's `OneCycleLR(max_lr = base, total_steps = total)` with its
/// defaults (`pct_start = 0.3`, `div_factor = 25`, `final_div_factor = 1e4`,
/// `anneal_strategy = "cos"`, two phases) at step `step`: the first phase ends at step
/// `pct_start · total − 1` (with a warm-up, `pct_start = warmup / total`), the second at
/// step `total − 1`, and within each the rate follows a half cosine from the phase's start
/// rate to its end rate. PyTorch also cycles the momentum (`cycle_momentum`); this schedule
/// gives the learning rate only.
fn one_cycle(base: f64, step: usize, total: usize, warmup: usize) -> f64 {
    let (start, end) = (base / 25.0, base / 25.0 / 1e4);
    let rise_steps = if warmup > 0 {
        warmup as f64
    } else {
        0.3 * total as f64
    };
    let (peak_step, last_step, step) = (rise_steps - 1.0, (total - 1) as f64, step as f64);
    // How far `step` has come from `from` to `to`; a phase of no length is already over
    // (where PyTorch would divide by zero).
    let progress = |from: f64, to: f64| {
        if to > from {
            (step - from) / (to - from)
        } else {
            1.0
        }
    };
    if step <= peak_step {
        cosine(start, base, progress(0.0, peak_step))
    } else {
        cosine(base, end, progress(peak_step, last_step))
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
    fn one_cycle_peaks_at_the_last_step_of_the_first_30_percent() {
        let lr = |s| learning_rate(Schedule::Onecycle, 1.0, s, 100, 0);
        assert_abs_diff_eq!(lr(0), 1.0 / 25.0, epsilon = 1e-12);
        // PyTorch: the first phase ends at step 0.3 · 100 − 1 = 29.
        assert_abs_diff_eq!(lr(29), 1.0, epsilon = 1e-12);
        assert!((1..30).all(|s| lr(s) > lr(s - 1)));
        assert!((30..100).all(|s| lr(s) < lr(s - 1)));
    }

    #[test]
    fn one_cycle_reaches_the_final_rate_at_the_last_step() {
        for total in [10, 100, 1_000] {
            let lr = learning_rate(Schedule::Onecycle, 0.5, total - 1, total, 0);
            assert_abs_diff_eq!(lr, 0.5 / 25.0 / 1e4, epsilon = 1e-15);
        }
    }

    #[test]
    fn one_cycle_matches_pytorch_between_the_ends() {
        // torch.optim.lr_scheduler.OneCycleLR(max_lr=1, total_steps=100): the rate of step s
        // is the cosine annealing `end + (start − end)(1 + cos(π·pct))/2`, pct counted from
        // step 0 to 29 in the first phase and from 29 to 99 in the second.
        let lr = |s| learning_rate(Schedule::Onecycle, 1.0, s, 100, 0);
        let anneal = |start: f64, end: f64, pct: f64| {
            end + (start - end) * (1.0 + (std::f64::consts::PI * pct).cos()) / 2.0
        };
        assert_abs_diff_eq!(lr(10), anneal(0.04, 1.0, 10.0 / 29.0), epsilon = 1e-12);
        assert_abs_diff_eq!(lr(64), anneal(1.0, 4e-6, 35.0 / 70.0), epsilon = 1e-12);
    }

    #[test]
    fn one_cycle_with_a_warm_up_peaks_at_its_last_step() {
        let lr = |s| learning_rate(Schedule::Onecycle, 1.0, s, 100, 10);
        assert_abs_diff_eq!(lr(9), 1.0, epsilon = 1e-12);
        assert!(lr(8) < lr(9) && lr(10) < lr(9));
        assert_abs_diff_eq!(lr(99), 4e-6, epsilon = 1e-15);
    }

    #[test]
    fn one_cycle_of_one_or_two_steps_stays_finite() {
        for total in [1, 2, 3] {
            for step in 0..total {
                let lr = learning_rate(Schedule::Onecycle, 1.0, step, total, 0);
                assert!(lr.is_finite() && lr > 0.0, "step {step} of {total}: {lr}");
            }
        }
        // Peak at step 0: a first phase of no length is already at the base rate.
        assert_abs_diff_eq!(
            learning_rate(Schedule::Onecycle, 1.0, 0, 10, 1),
            1.0,
            epsilon = 1e-12
        );
    }
}
