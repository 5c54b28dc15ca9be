//! The layers of the MLP, each forward pass beside its backward pass.
//!
//! Dimension key: B = batch size, I = a layer's inputs (fan-in), O = its outputs (fan-out),
//! C = classes. Matrices are row-major with one sample per row. Backward passes *write*
//! parameter gradients (`=`), so gradient buffers never need clearing.

use std::fmt::Debug;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Zip};
use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::nn::linalg::{Real, matmul};

// ---------------------------------------------------------------------------------------
// Dense: y = x W + b

/// out[B,O] = x[B,I] · w[I,O] + b[O]
pub fn dense_forward<T: Real>(
    mut out: ArrayViewMut2<T>,
    x: ArrayView2<T>,
    w: ArrayView2<T>,
    b: ArrayView1<T>,
) {
    for mut row in out.rows_mut() {
        row.assign(&b);
    }
    matmul(T::one(), &x, &w, T::one(), &mut out);
}

/// Given dout[B,O] = ∂L/∂y: dw[I,O] = xᵀ·dout, db[O] = Σ_rows dout, and, when asked,
/// dx[B,I] = dout · wᵀ (the first layer needs no input gradient, so it passes `None`).
pub fn dense_backward<T: Real>(
    dx: Option<ArrayViewMut2<T>>,
    dw: ArrayViewMut2<T>,
    db: ArrayViewMut1<T>,
    dout: ArrayView2<T>,
    x: ArrayView2<T>,
    w: ArrayView2<T>,
) {
    dense_parameter_gradient(dw, db, dout, x);
    if let Some(mut dx) = dx {
        matmul(T::one(), &dout, &w.t(), T::zero(), &mut dx);
    }
}

/// dw[I,O] = xᵀ·dout, db[O] = Σ_rows dout.
pub fn dense_parameter_gradient<T: Real>(
    dw: ArrayViewMut2<T>,
    db: ArrayViewMut1<T>,
    dout: ArrayView2<T>,
    x: ArrayView2<T>,
) {
    dense_weight_gradient(dw, dout, x);
    bias_gradient(db, dout);
}

/// dw[I,O] = xᵀ·dout. Also for a block J of the inputs: dw[J, :] needs only x[:, J].
pub fn dense_weight_gradient<T: Real>(
    mut dw: ArrayViewMut2<T>,
    dout: ArrayView2<T>,
    x: ArrayView2<T>,
) {
    matmul(T::one(), &x.t(), &dout, T::zero(), &mut dw);
}

/// db[O] = Σ_rows dout
pub fn bias_gradient<T: Real>(mut db: ArrayViewMut1<T>, dout: ArrayView2<T>) {
    db.fill(T::zero());
    for row in dout.rows() {
        Zip::from(&mut db)
            .and(&row)
            .for_each(|db, &d| *db = *db + d);
    }
}

// ---------------------------------------------------------------------------------------
// Activations, applied in place. The backward passes use the activation's *output* a,
// from which each derivative is cheap: ReLU' = [a > 0], tanh' = 1 − a², σ' = a(1 − a).

/// The hidden layers' nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
}

impl Choice for Activation {
    const ALL: &'static [Self] = &[Self::Relu, Self::Tanh, Self::Sigmoid];

    fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

impl Activation {
    /// z[B,O] → a[B,O] in place.
    pub fn forward<T: Real>(self, mut z: ArrayViewMut2<T>) {
        match self {
            Activation::Relu => z.mapv_inplace(|v| if v > T::zero() { v } else { T::zero() }),
            Activation::Tanh => z.mapv_inplace(|v| v.tanh()),
            Activation::Sigmoid => z.mapv_inplace(|v| T::one() / (T::one() + (-v).exp())),
        }
    }

    /// ∂L/∂a[B,O] → ∂L/∂z[B,O] in place, given the forward output a[B,O].
    pub fn backward<T: Real>(self, grad: ArrayViewMut2<T>, a: ArrayView2<T>) {
        let zip = Zip::from(grad).and(a);
        match self {
            Activation::Relu => {
                zip.for_each(|g, &a| *g = if a > T::zero() { *g } else { T::zero() })
            }
            Activation::Tanh => zip.for_each(|g, &a| *g = *g * (T::one() - a * a)),
            Activation::Sigmoid => zip.for_each(|g, &a| *g = *g * a * (T::one() - a)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Softmax + cross-entropy, fused.

/// probs[B,C] = softmax(logits[B,C]) row by row; returns the summed cross-entropy
/// Σ_b Σ_j −y[b,j] ln p[b,j] against the targets y = (1 − ε)·onehot(label) + ε/C (ε = 0:
/// plain one-hot). Both use the log-sum-exp with the row maximum m subtracted, so huge
/// logits neither overflow nor give ln 0: −ln p_j = (m − z_j) + ln S with
/// S = Σ_k e^(z_k − m), and Σ_j y_j = 1 gives
/// loss_b = (1 − ε)(m − z_label) + (ε/C) Σ_j (m − z_j) + ln S.
/// Every term is ≥ 0, so no row's loss is the difference of large numbers, and the rows are
/// summed in f64, so a large loss does not swallow the small ones added to it.
pub fn softmax_cross_entropy_forward<T: Real>(
    mut probs: ArrayViewMut2<T>,
    logits: ArrayView2<T>,
    labels: &[u8],
    smoothing: T,
) -> f64 {
    let classes = T::from_f64(logits.ncols() as f64);
    let mut loss_sum = 0.0;
    for ((mut p, z), &label) in probs.rows_mut().into_iter().zip(logits.rows()).zip(labels) {
        let max = z.fold(T::neg_infinity(), |m, &v| m.max(v));
        let mut sum = T::zero();
        Zip::from(&mut p).and(&z).for_each(|p, &z| {
            *p = (z - max).exp();
            sum = sum + *p;
        });
        let inv = T::one() / sum;
        p.mapv_inplace(|v| v * inv);
        let below_max = max - z[label as usize];
        let target_below_max = if smoothing == T::zero() {
            below_max
        } else {
            let all_below_max = z.fold(T::zero(), |s, &v| s + (max - v));
            (T::one() - smoothing) * below_max + smoothing / classes * all_below_max
        };
        loss_sum += (target_below_max + sum.ln()).into();
    }
    loss_sum
}

/// dlogits[B,C] = (probs − y) / N with y = (1 − ε)·onehot(labels) + ε/C, the gradient of
/// the cross-entropy averaged over a mini-batch of N samples (these B rows may be a shard of
/// it) with respect to the logits: softmax's Jacobian ŷ_i(δ_ij − ŷ_j) times
/// ∂L/∂ŷ_i = −y_i/ŷ_i collapses to ŷ_j − y_j (as Σ_i y_i = 1), and averaging over the
/// mini-batch divides by N.
pub fn softmax_cross_entropy_backward<T: Real>(
    mut dlogits: ArrayViewMut2<T>,
    probs: ArrayView2<T>,
    labels: &[u8],
    minibatch: usize,
    smoothing: T,
) {
    let inv_batch = T::one() / T::from_f64(minibatch as f64);
    let spread = smoothing / T::from_f64(probs.ncols() as f64);
    dlogits.assign(&probs);
    for (mut row, &label) in dlogits.rows_mut().into_iter().zip(labels) {
        row[label as usize] = row[label as usize] - (T::one() - smoothing);
        row.mapv_inplace(|v| (v - spread) * inv_batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn softmax_rows_sum_to_one_and_gradient_rows_to_zero() {
        let logits = array![[1.0f64, 2.0, 3.0], [-5.0, 0.0, 5.0], [0.0, 0.0, 0.0]];
        let labels = [2u8, 0, 1];
        let mut probs = Array2::zeros((3, 3));
        softmax_cross_entropy_forward(probs.view_mut(), logits.view(), &labels, 0.0);
        let mut grad = Array2::zeros((3, 3));
        softmax_cross_entropy_backward(grad.view_mut(), probs.view(), &labels, 3, 0.0);
        for (p, g) in probs.rows().into_iter().zip(grad.rows()) {
            approx::assert_abs_diff_eq!(p.sum(), 1.0, epsilon = 1e-12);
            approx::assert_abs_diff_eq!(g.sum(), 0.0, epsilon = 1e-12);
        }
        approx::assert_abs_diff_eq!(probs[[2, 1]], 1.0 / 3.0, epsilon = 1e-12);
    }

    #[test]
    fn huge_logits_stay_finite() {
        let logits = array![[1e30f32, -1e30, 0.0], [8e4, 8e4, 8e4]];
        let mut probs = Array2::zeros((2, 3));
        let loss = softmax_cross_entropy_forward(probs.view_mut(), logits.view(), &[1, 2], 0.0);
        assert!(loss.is_finite(), "loss {loss}");
        assert!(probs.iter().all(|p| p.is_finite()));
        approx::assert_abs_diff_eq!(probs[[1, 0]], 1.0 / 3.0, epsilon = 1e-6);
        // −ln p for the wrong class at a 2e30 margin is the margin itself.
        approx::assert_relative_eq!(loss, 2e30, max_relative = 1e-6);
    }

    #[test]
    fn a_row_of_huge_logits_does_not_cancel_the_rows_before_it() {
        // Row 0's loss is 10 + ln(1 + e⁻¹⁰); row 1's logits are equal, its loss ln 2. Summed
        // as m + ln S − z_y in f32, row 1 adds and subtracts 1e8 and rounds row 0 away.
        let logits = array![[0.0f32, 10.0], [1e8, 1e8]];
        let mut probs = Array2::zeros((2, 2));
        let loss = softmax_cross_entropy_forward(probs.view_mut(), logits.view(), &[0, 0], 0.0);
        let expected = 10.0 + (-10.0f64).exp().ln_1p() + 2f64.ln();
        approx::assert_relative_eq!(loss, expected, max_relative = 1e-6);
    }

    #[test]
    fn many_small_losses_after_a_large_one_are_all_counted() {
        // 2²⁴ is where f32 stops resolving 1: eight losses of ln 2 added to it in f32 vanish.
        let mut logits = Array2::<f32>::zeros((9, 2));
        logits[[0, 1]] = 16_777_216.0;
        let mut probs = Array2::zeros((9, 2));
        let loss = softmax_cross_entropy_forward(probs.view_mut(), logits.view(), &[0; 9], 0.0);
        approx::assert_relative_eq!(loss, 16_777_216.0 + 8.0 * 2f64.ln(), max_relative = 1e-12);
    }

    #[test]
    fn label_smoothing_matches_the_definition_for_huge_logits() {
        let logits = array![[1e5f32, 1e5 - 4.0, 1e5 - 2.0], [0.5, -1.0, 2.0]];
        let (labels, smoothing) = ([1u8, 0], 0.1f32);
        let mut probs = Array2::zeros((2, 3));
        let loss =
            softmax_cross_entropy_forward(probs.view_mut(), logits.view(), &labels, smoothing);
        // −Σ_j y_j ln p_j on logits shifted by the row maximum, which leaves softmax alone.
        let shifted = [[0.0f64, -4.0, -2.0], [-1.5, -3.0, 0.0]];
        let expected: f64 = shifted
            .iter()
            .zip(labels)
            .map(|(z, label)| {
                let log_sum = z.iter().map(|v| v.exp()).sum::<f64>().ln();
                (0..3)
                    .map(|j| {
                        let onehot = if j == label as usize { 1.0 } else { 0.0 };
                        let y = 0.9 * onehot + 0.1 / 3.0;
                        y * (log_sum - z[j])
                    })
                    .sum::<f64>()
            })
            .sum();
        approx::assert_relative_eq!(loss, expected, max_relative = 1e-6);
    }

    #[test]
    fn cross_entropy_matches_the_definition() {
        let logits = array![[0.5f64, -1.0, 2.0]];
        let mut probs = Array2::zeros((1, 3));
        let loss = softmax_cross_entropy_forward(probs.view_mut(), logits.view(), &[0], 0.0);
        let denom: f64 = logits.iter().map(|z| z.exp()).sum();
        approx::assert_abs_diff_eq!(loss, -(0.5f64.exp() / denom).ln(), epsilon = 1e-12);
    }

    #[test]
    fn activation_derivatives_match_finite_differences() {
        let z0 = array![[-1.3f64, -0.2, 0.4, 2.1]];
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            let mut a = z0.clone();
            act.forward(a.view_mut());
            let mut grad = Array2::ones((1, 4));
            act.backward(grad.view_mut(), a.view());
            for j in 0..4 {
                let h = 1e-6;
                let f = |dz: f64| {
                    let mut z = z0.clone();
                    z[[0, j]] += dz;
                    act.forward(z.view_mut());
                    z[[0, j]]
                };
                let numeric = (f(h) - f(-h)) / (2.0 * h);
                approx::assert_abs_diff_eq!(grad[[0, j]], numeric, epsilon = 1e-8);
            }
        }
    }

    #[test]
    fn dense_matches_a_naive_product() {
        let x = array![[1.0f64, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let w = array![[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]];
        let b = array![0.1, 0.2, 0.3];
        let mut out = Array2::zeros((3, 3));
        dense_forward(out.view_mut(), x.view(), w.view(), b.view());
        for i in 0..3 {
            for j in 0..3 {
                let naive = x[[i, 0]] * w[[0, j]] + x[[i, 1]] * w[[1, j]] + b[j];
                approx::assert_abs_diff_eq!(out[[i, j]], naive, epsilon = 1e-12);
            }
        }
    }
}
