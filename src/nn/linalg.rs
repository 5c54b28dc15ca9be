//! Matrix products for the layers: ndarray views in, the `gemm` crate's kernels (pure Rust,
//! AVX-512/AVX2/NEON chosen at run time) underneath. Single-threaded by design: the training
//! loop parallelises over batch shards itself, so that results do not depend on threads.

use std::fmt::Debug;

use ndarray::{ArrayView2, ArrayViewMut2, LinalgScalar, ScalarOperand};
use num_traits::Float;

/// The floating-point types the network runs in: f32 for training, f64 for gradient checks.
pub trait Real:
    Float + LinalgScalar + ScalarOperand + Into<f64> + Debug + Send + Sync + 'static
{
    fn from_f64(x: f64) -> Self;
}
impl Real for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}
impl Real for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
}

/// c[M,N] ← alpha · a[M,K] · b[K,N] + beta · c.  With beta = 0, c is overwritten without
/// being read (so it may hold anything, even NaN). Any strides work, so `.t()` views of
/// row-major matrices cost nothing.
pub fn matmul<T: Real>(
    alpha: T,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    beta: T,
    c: &mut ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul shapes {:?} · {:?} → {:?}",
        a.dim(),
        b.dim(),
        c.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    // gemm's kernels write columns of c; for a row-major c, gemm itself computes
    // cᵀ = bᵀ·aᵀ (same memory, no copy), so every layout goes in as it is.
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the pointers and strides come from live ndarray views whose shapes were checked
    // above, so every element gemm touches lies inside them; `c` is borrowed mutably
    // and cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            beta != T::zero(),
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,  // gemm's factor on the destination
            alpha, // gemm's factor on the product
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng::SeededRng;
    use ndarray::Array2;

    fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut rng = SeededRng::new(seed);
        Array2::from_shape_fn((rows, cols), |_| rng.standard_normal())
    }

    fn naive(a: &ArrayView2<f64>, b: &ArrayView2<f64>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).map(|k| a[[i, k]] * b[[k, j]]).sum()
        })
    }

    #[test]
    fn matches_a_naive_product_for_plain_and_transposed_views() {
        let a = random(37, 53, 1);
        let b = random(53, 19, 2);
        let at = a.t().to_owned(); // 53 x 37, so at.t() is a transposed view of a's values
        let bt = b.t().to_owned();
        let expected = naive(&a.view(), &b.view());
        for (a, b) in [
            (a.view(), b.view()),
            (at.t(), b.view()),
            (a.view(), bt.t()),
            (at.t(), bt.t()),
        ] {
            let mut c = Array2::from_elem((37, 19), f64::NAN);
            matmul(1.0, &a, &b, 0.0, &mut c.view_mut());
            for (x, y) in c.iter().zip(&expected) {
                approx::assert_abs_diff_eq!(x, y, epsilon = 1e-10);
            }
        }
    }

    #[test]
    fn writes_a_column_major_or_strided_destination() {
        let a = random(37, 53, 1);
        let b = random(53, 19, 2);
        let expected = naive(&a.view(), &b.view());
        let mut column_major = Array2::from_elem((19, 37), f64::NAN);
        matmul(
            1.0,
            &a.view(),
            &b.view(),
            0.0,
            &mut column_major.view_mut().reversed_axes(),
        );
        // Every other row and column of a larger buffer: neither stride is 1.
        let mut spaced = Array2::from_elem((74, 38), f64::NAN);
        let mut strided = spaced.slice_mut(ndarray::s![..;2, ..;2]);
        matmul(1.0, &a.view(), &b.view(), 0.0, &mut strided);
        for c in [column_major.t(), spaced.slice(ndarray::s![..;2, ..;2])] {
            for (x, y) in c.iter().zip(&expected) {
                approx::assert_abs_diff_eq!(x, y, epsilon = 1e-10);
            }
        }
    }

    #[test]
    fn accumulates_with_beta_one_and_scales_with_alpha() {
        let a = random(5, 7, 3);
        let b = random(7, 4, 4);
        let start = random(5, 4, 5);
        let mut c = start.clone();
        matmul(2.0, &a.view(), &b.view(), 1.0, &mut c.view_mut());
        let expected = &start + &(naive(&a.view(), &b.view()) * 2.0);
        for (x, y) in c.iter().zip(&expected) {
            approx::assert_abs_diff_eq!(x, y, epsilon = 1e-10);
        }
    }

    #[test]
    fn f32_agrees_with_f64() {
        let a = random(64, 784, 6).mapv(|v| v as f32);
        let b = random(784, 256, 7).mapv(|v| v as f32);
        let mut c = Array2::<f32>::zeros((64, 256));
        matmul(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        let exact = naive(&a.mapv(f64::from).view(), &b.mapv(f64::from).view());
        for (x, y) in c.iter().zip(&exact) {
            approx::assert_abs_diff_eq!(*x as f64, y, epsilon = 1e-3);
        }
    }
}
