//! Optimizers: one flat loop over (parameter, gradient, state) per tensor.
//!
//! Every step takes the mini-batch gradient. Large tensors are updated in parallel halves;
//! each element's arithmetic is the same whichever thread does it.

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::nn::linalg::Real;
use crate::nn::mlp::{Architecture, Params};

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    Nesterov,
    Adam,
    Adamw,
}

impl Choice for OptimizerKind {
    const ALL: &'static [Self] = &[Self::Sgd, Self::Nesterov, Self::Adam, Self::Adamw];

    fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Nesterov => "nesterov",
            Self::Adam => "adam",
            Self::Adamw => "adamw",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            Self::Sgd => {
                "SGD with heavy-ball momentum (PyTorch's convention): v ← μv + g;  θ ← θ − ηv"
            }
            Self::Nesterov => "SGD with Nesterov momentum: v ← μv + g;  θ ← θ − η(g + μv)",
            Self::Adam => "Adam (Kingma & Ba 2015), weight decay added to the gradient (L2)",
            Self::Adamw => {
                "AdamW (Loshchilov & Hutter 2019): Adam with weight decay applied to θ directly"
            }
        })
    }
}

/// An optimizer's settings; the learning rate comes with every step (see `schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    /// μ of the SGD variants.
    pub momentum: f64,
    /// β₁, β₂ and ε of the Adam variants.
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    /// λ: L2 penalty λθ added to the gradient (SGD variants, Adam), or decoupled decay
    /// θ ← θ − ηλθ (AdamW).
    pub weight_decay: f64,
    /// Rescale the mini-batch gradient to this global L2 norm when it is larger.
    pub clip_grad_norm: Option<f64>,
}

impl OptimizerConfig {
    /// SGD with momentum μ and nothing else.
    pub fn sgd(momentum: f64) -> Self {
        OptimizerConfig {
            kind: OptimizerKind::Sgd,
            momentum,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
            clip_grad_norm: None,
        }
    }
}

/// An optimizer's state as plain vectors (tensors in [`Params::tensors`] order), for
/// checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState<T> {
    pub steps: u64,
    pub first: Vec<Vec<T>>,
    pub second: Option<Vec<Vec<T>>>,
}

/// An [`OptimizerState`] that does not fit the optimizer it is restored into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("the optimizer state is of an {saved} optimizer, not of this one")]
    Kind { saved: &'static str },
    #[error(
        "the optimizer's {moment} has tensors of {saved:?} values, the network needs {needed:?}"
    )]
    Sizes {
        moment: &'static str,
        saved: Vec<usize>,
        needed: Vec<usize>,
    },
}

/// An optimizer with its state.
pub struct Optimizer<T> {
    config: OptimizerConfig,
    /// Steps taken so far (Adam's bias correction needs it).
    steps: u64,
    /// The SGD variants' velocity v, or Adam's first moment m; one tensor per parameter.
    first: Params<T>,
    /// Adam's second moment; none for the SGD variants.
    second: Option<Params<T>>,
}

impl<T: Real> Optimizer<T> {
    pub fn new(arch: &Architecture, config: OptimizerConfig) -> Self {
        let adam = matches!(config.kind, OptimizerKind::Adam | OptimizerKind::Adamw);
        Optimizer {
            config,
            steps: 0,
            first: Params::zeros(arch),
            second: adam.then(|| Params::zeros(arch)),
        }
    }

    /// One update with learning rate `lr` and the mini-batch gradient `grad`.
    pub fn step(&mut self, lr: T, params: &mut Params<T>, grad: &Params<T>) {
        self.steps += 1;
        let scale = match self.config.clip_grad_norm {
            Some(max_norm) => {
                let mut squared = T::zero();
                for &g in grad.tensors().flatten() {
                    squared = squared + g * g;
                }
                let (norm, max_norm) = (squared.sqrt(), T::from_f64(max_norm));
                if norm > max_norm {
                    max_norm / norm
                } else {
                    T::one()
                }
            }
            None => T::one(),
        };
        let rule = self.rule(lr, scale);
        for t in 0..params.tensor_count() {
            let second = self.second.as_mut().map(|s| s.tensor_mut(t));
            update(
                rule,
                params.tensor_mut(t),
                grad.tensor(t),
                self.first.tensor_mut(t),
                second,
            );
        }
    }

    /// The state a checkpoint keeps: the step count and the moment buffers.
    pub fn state(&self) -> OptimizerState<T> {
        let flat = |p: &Params<T>| p.tensors().map(<[T]>::to_vec).collect();
        OptimizerState {
            steps: self.steps,
            first: flat(&self.first),
            second: self.second.as_ref().map(flat),
        }
    }

    /// Continues from a saved [`OptimizerState`], which must be one of this optimizer's kind
    /// and network.
    pub fn restore(&mut self, state: &OptimizerState<T>) -> Result<(), RestoreError> {
        fn fill<T: Real>(
            p: &mut Params<T>,
            saved: &[Vec<T>],
            moment: &'static str,
        ) -> Result<(), RestoreError> {
            let needed: Vec<usize> = p.tensors().map(<[T]>::len).collect();
            let saved: &[Vec<T>] = saved;
            let sizes: Vec<usize> = saved.iter().map(Vec::len).collect();
            if sizes != needed {
                return Err(RestoreError::Sizes {
                    moment,
                    saved: sizes,
                    needed,
                });
            }
            p.tensors_mut()
                .zip(saved)
                .for_each(|(t, s)| t.copy_from_slice(s));
            Ok(())
        }
        match (&mut self.second, &state.second) {
            (Some(second), Some(saved)) => fill(second, saved, "second moment")?,
            (None, None) => {}
            (None, Some(_)) => return Err(RestoreError::Kind { saved: "Adam" }),
            (Some(_), None) => return Err(RestoreError::Kind { saved: "SGD" }),
        }
        fill(&mut self.first, &state.first, "first moment")?;
        self.steps = state.steps;
        Ok(())
    }

    fn rule(&self, lr: T, scale: T) -> Rule<T> {
        let c = &self.config;
        let f = T::from_f64;
        let wd = f(c.weight_decay);
        match c.kind {
            OptimizerKind::Sgd | OptimizerKind::Nesterov => Rule::Momentum {
                lr,
                scale,
                mu: f(c.momentum),
                wd,
                nesterov: c.kind == OptimizerKind::Nesterov,
            },
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                let t = self.steps as i32;
                Rule::Adam {
                    lr,
                    scale,
                    b1: f(c.beta1),
                    b2: f(c.beta2),
                    eps: f(c.epsilon),
                    // 1/(1 − βᵗ): Adam's bias corrections of the moments.
                    c1: f(1.0 / (1.0 - c.beta1.powi(t))),
                    c2: f(1.0 / (1.0 - c.beta2.powi(t))),
                    wd,
                    decoupled: c.kind == OptimizerKind::Adamw,
                }
            }
        }
    }
}

/// The max-norm constraint (Srivastava et al. 2014): every unit's incoming weight vector
/// (a column of w[I,O]) is rescaled to L2 norm `max_norm` when it is longer. `scratch` holds
/// one value per column; pass the same vector every step so that nothing is allocated.
pub fn apply_max_norm<T: Real>(params: &mut Params<T>, max_norm: f64, scratch: &mut Vec<T>) {
    let max_norm = T::from_f64(max_norm);
    for layer in &mut params.layers {
        scratch.clear();
        scratch.resize(layer.w.ncols(), T::zero());
        for row in layer.w.rows() {
            scratch
                .iter_mut()
                .zip(row)
                .for_each(|(s, &w)| *s = *s + w * w);
        }
        // Squared norms → the factor each column is multiplied by.
        for s in scratch.iter_mut() {
            let norm = s.sqrt();
            *s = if norm > max_norm {
                max_norm / norm
            } else {
                T::one()
            };
        }
        for mut row in layer.w.rows_mut() {
            row.iter_mut()
                .zip(scratch.iter())
                .for_each(|(w, &k)| *w = *w * k);
        }
    }
}

/// One step's update rule with its constants, applied element by element.
#[derive(Debug, Clone, Copy)]
enum Rule<T> {
    Momentum {
        lr: T,
        scale: T,
        mu: T,
        wd: T,
        nesterov: bool,
    },
    Adam {
        lr: T,
        scale: T,
        b1: T,
        b2: T,
        eps: T,
        c1: T,
        c2: T,
        wd: T,
        decoupled: bool,
    },
}

/// x, or 0 where x is subnormal. The optimizer's moments decay geometrically where the
/// gradient is 0 (the weights of pixels that are always background), down through the
/// subnormal range, where arithmetic on some processors (Intel's among them) takes a slow
/// microcode path; flushed here, they reach 0 and stay there.
#[inline(always)]
fn flush_subnormal<T: Real>(x: T) -> T {
    if x.abs() < T::min_positive_value() {
        T::zero()
    } else {
        x
    }
}

/// Parameters per task below which splitting the update further costs more than it gains.
const PARALLEL_MIN: usize = 1 << 15;

/// Applies `rule` to one tensor θ given its gradient and optimizer state, halving the range
/// into parallel tasks while it is large.
fn update<T: Real>(
    rule: Rule<T>,
    p: &mut [T],
    grad: &[T],
    first: &mut [T],
    second: Option<&mut [T]>,
) {
    if p.len() > PARALLEL_MIN {
        let mid = p.len() / 2;
        let (p1, p2) = p.split_at_mut(mid);
        let (f1, f2) = first.split_at_mut(mid);
        let (s1, s2) = match second {
            Some(s) => {
                let (a, b) = s.split_at_mut(mid);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (g1, g2) = grad.split_at(mid);
        rayon::join(
            || update(rule, p1, g1, f1, s1),
            || update(rule, p2, g2, f2, s2),
        );
        return;
    }
    let (m, g) = (first, grad);
    match rule {
        Rule::Momentum {
            lr,
            scale,
            mu,
            wd,
            nesterov,
        } => {
            for ((p, v), &g) in p.iter_mut().zip(m.iter_mut()).zip(g.iter()) {
                let g = g * scale + wd * *p; // the gradient, with the L2 penalty's
                *v = flush_subnormal(mu * *v + g); // accumulate the running direction
                let step = if nesterov { g + mu * *v } else { *v }; // look ahead
                *p = *p - lr * step; // descend along it
            }
        }
        Rule::Adam {
            lr,
            scale,
            b1,
            b2,
            eps,
            c1,
            c2,
            wd,
            decoupled,
        } => {
            let v = second.expect("Adam keeps a second moment");
            let one = T::one();
            for (((p, m), v), &g) in p
                .iter_mut()
                .zip(m.iter_mut())
                .zip(v.iter_mut())
                .zip(g.iter())
            {
                let g = if decoupled {
                    g * scale
                } else {
                    g * scale + wd * *p
                };
                *m = flush_subnormal(b1 * *m + (one - b1) * g); // first moment
                *v = flush_subnormal(b2 * *v + (one - b2) * g * g); // second moment
                let decay = if decoupled { wd * *p } else { T::zero() };
                *p = *p - lr * ((*m * c1) / ((*v * c2).sqrt() + eps) + decay);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nn::layers::Activation;
    use approx::assert_abs_diff_eq;

    /// The smallest network: one input, one class, no hidden layer.
    pub(crate) fn tiny() -> Architecture {
        Architecture {
            input_size: 1,
            hidden: vec![],
            num_classes: 1,
            activation: Activation::Relu,
        }
    }

    /// Runs `steps` updates of one scalar weight θ (starting at θ₀) with gradient g each
    /// time and returns θ after each.
    fn trajectory(config: OptimizerConfig, lr: f64, theta0: f64, gradients: &[f64]) -> Vec<f64> {
        let arch = tiny();
        let mut params = Params::<f64>::zeros(&arch);
        params.layers[0].w[[0, 0]] = theta0;
        let mut grads = Params::<f64>::zeros(&arch);
        let mut opt = Optimizer::new(&arch, config);
        gradients
            .iter()
            .map(|&g| {
                grads.layers[0].w[[0, 0]] = g;
                opt.step(lr, &mut params, &grads);
                params.layers[0].w[[0, 0]]
            })
            .collect()
    }

    #[test]
    fn moments_that_decay_to_the_subnormal_range_become_zero() {
        let arch = tiny();
        let adam = OptimizerConfig {
            kind: OptimizerKind::Adam,
            ..OptimizerConfig::sgd(0.0)
        };
        for config in [OptimizerConfig::sgd(0.9), adam] {
            let mut params = Params::<f32>::zeros(&arch);
            let mut grads = Params::<f32>::zeros(&arch);
            let mut opt = Optimizer::new(&arch, config);
            grads.layers[0].w[[0, 0]] = 1e-30;
            opt.step(1e-3, &mut params, &grads);
            grads.layers[0].w[[0, 0]] = 0.0;
            for _ in 0..2000 {
                opt.step(1e-3, &mut params, &grads);
                let state = opt.state();
                let moments = state.first.iter().chain(state.second.iter().flatten());
                for &m in moments.flatten() {
                    assert!(!m.is_subnormal(), "{config:?}: a moment of {m:e}");
                }
            }
            assert_eq!(opt.state().first[0][0], 0.0, "{config:?}");
        }
    }

    #[test]
    fn momentum_accumulates_like_pytorch() {
        let th = trajectory(OptimizerConfig::sgd(0.9), 0.1, 0.0, &[1.0, 1.0]);
        assert_abs_diff_eq!(th[0], -0.1, epsilon = 1e-12); // v = 1
        assert_abs_diff_eq!(th[1], -0.29, epsilon = 1e-12); // v = 1.9
    }

    #[test]
    fn nesterov_looks_ahead() {
        let config = OptimizerConfig {
            kind: OptimizerKind::Nesterov,
            ..OptimizerConfig::sgd(0.9)
        };
        let th = trajectory(config, 0.1, 0.0, &[1.0, 1.0]);
        assert_abs_diff_eq!(th[0], -0.19, epsilon = 1e-12); // v = 1,   step g + μv = 1.9
        assert_abs_diff_eq!(th[1], -0.461, epsilon = 1e-12); // v = 1.9, step 1 + 1.71 = 2.71
    }

    #[test]
    fn sgd_weight_decay_adds_the_l2_gradient() {
        let config = OptimizerConfig {
            weight_decay: 0.5,
            ..OptimizerConfig::sgd(0.0)
        };
        let th = trajectory(config, 0.1, 2.0, &[0.0]);
        assert_abs_diff_eq!(th[0], 2.0 - 0.1 * 0.5 * 2.0, epsilon = 1e-12);
    }

    #[test]
    fn adam_first_step_moves_by_the_learning_rate() {
        // With bias correction, m̂ = g and v̂ = g², so the first step is lr · g/|g|.
        let config = OptimizerConfig {
            kind: OptimizerKind::Adam,
            ..OptimizerConfig::sgd(0.0)
        };
        let th = trajectory(config, 0.01, 1.0, &[4.0, -2.0]);
        assert_abs_diff_eq!(th[0], 1.0 - 0.01, epsilon = 1e-9);
        // Second step by hand.
        let (m, v) = (0.9 * 0.4 + 0.1 * -2.0, 0.999 * 0.016 + 0.001 * 4.0);
        let (mh, vh) = (m / (1.0 - 0.81), v / (1.0 - 0.999f64.powi(2)));
        assert_abs_diff_eq!(
            th[1],
            th[0] - 0.01 * mh / (vh.sqrt() + 1e-8),
            epsilon = 1e-12
        );
    }

    #[test]
    fn adamw_decays_the_weight_itself() {
        let config = OptimizerConfig {
            kind: OptimizerKind::Adamw,
            weight_decay: 0.1,
            ..OptimizerConfig::sgd(0.0)
        };
        let th = trajectory(config, 0.01, 2.0, &[0.0]);
        assert_abs_diff_eq!(th[0], 2.0 - 0.01 * 0.1 * 2.0, epsilon = 1e-12);
    }

    #[test]
    fn clipping_rescales_the_gradient_to_the_norm() {
        let config = OptimizerConfig {
            clip_grad_norm: Some(0.5),
            ..OptimizerConfig::sgd(0.0)
        };
        assert_abs_diff_eq!(
            trajectory(config, 1.0, 0.0, &[4.0])[0],
            -0.5,
            epsilon = 1e-12
        );
        assert_abs_diff_eq!(
            trajectory(config, 1.0, 0.0, &[0.25])[0],
            -0.25,
            epsilon = 1e-12
        );
    }

    #[test]
    fn a_restored_state_continues_like_the_original() {
        let config = OptimizerConfig {
            kind: OptimizerKind::Adam,
            ..OptimizerConfig::sgd(0.0)
        };
        let arch = tiny();
        let mut grads = Params::<f64>::zeros(&arch);
        let (mut p1, mut p2) = (Params::zeros(&arch), Params::zeros(&arch));
        let mut original = Optimizer::new(&arch, config);
        for g in [1.0, -3.0] {
            grads.layers[0].w[[0, 0]] = g;
            original.step(0.1, &mut p1, &grads);
        }
        p2.clone_from(&p1);
        let mut restored = Optimizer::new(&arch, config);
        restored.restore(&original.state()).unwrap();
        grads.layers[0].w[[0, 0]] = 2.0;
        original.step(0.1, &mut p1, &grads);
        restored.step(0.1, &mut p2, &grads);
        assert_eq!(p1, p2);
        let sgd = Optimizer::<f64>::new(&arch, OptimizerConfig::sgd(0.9));
        assert_eq!(
            restored.restore(&sgd.state()),
            Err(RestoreError::Kind { saved: "SGD" })
        );
    }

    #[test]
    fn max_norm_shortens_only_long_columns() {
        let arch = Architecture {
            input_size: 2,
            hidden: vec![],
            num_classes: 2,
            activation: Activation::Relu,
        };
        let mut params = Params::<f64>::zeros(&arch);
        params.layers[0].w = ndarray::array![[3.0, 0.3], [4.0, 0.4]]; // column norms 5 and 0.5
        apply_max_norm(&mut params, 2.0, &mut Vec::new());
        let w = &params.layers[0].w;
        assert_abs_diff_eq!(w[[0, 0]], 1.2, epsilon = 1e-12);
        assert_abs_diff_eq!(w[[1, 0]], 1.6, epsilon = 1e-12);
        assert_eq!((w[[0, 1]], w[[1, 1]]), (0.3, 0.4));
    }
}
