//! The first layer on sparse inputs: most pixels of a handwriting image are background, and
//! each of the first layer's two products only needs the others.
//!
//! A batch is held as x[B, I] = s + c·11ᵀ: s is sparse (row by row: the inputs that differ
//! from the background, and by how much) and c is the input the background becomes. With
//! that, both products skip the background:
//! - forward, out = x·W + b = s·W + (b + c·1ᵀW): each entry of s adds one scaled row of W;
//! - weight gradient, dW = xᵀ·δ = sᵀ·δ + c·1(1ᵀδ): input i's row of dW adds one scaled row of
//!   δ per sample in which i is not background, and c times the bias gradient 1ᵀδ.
//!
//! Both are the one kernel [`combine_rows`]: out[j, :] = a·start + Σ v · m[k, :] over a list
//! of (k, v), with the row of `out` held in registers.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};

use crate::nn::layers::bias_gradient;
use crate::nn::linalg::Real;

/// A batch of inputs x[B, I] = s + offset, with s stored row by row (compressed sparse rows):
/// row r's entries are (indices[k], values[k]) for k in starts[r]..starts[r + 1], indices
/// increasing. The buffers only grow, so refilling a batch allocates nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRows<T> {
    width: usize,
    starts: Vec<usize>,
    /// The entries are the first `starts[B]` of `indices` and `values`; the rest is room.
    indices: Vec<u32>,
    values: Vec<T>,
    /// column_counts[i]: how many rows have an entry at input i.
    column_counts: Vec<u32>,
    offset: T,
}

impl<T: Real> SparseRows<T> {
    /// An empty batch of rows `width` inputs wide.
    pub fn new(width: usize) -> Self {
        assert!(
            u32::try_from(width).is_ok(),
            "{width} inputs do not fit u32 indices"
        );
        SparseRows {
            width,
            starts: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
            column_counts: vec![0; width],
            offset: T::zero(),
        }
    }

    /// Empties the batch, whose rows' background inputs are `offset` from now on.
    pub fn clear(&mut self, offset: T) {
        self.starts.truncate(1);
        self.column_counts.fill(0);
        self.offset = offset;
    }

    /// Adds a row: `fill(row)` calls [`RowWriter::put`] for inputs in increasing order, and
    /// the row gets the entries put with `keep`.
    pub fn push_row(&mut self, fill: impl FnOnce(&mut RowWriter<T>)) {
        let start = self.entries();
        if self.indices.len() < start + self.width {
            self.indices.resize(start + self.width, 0);
            self.values.resize(start + self.width, T::zero());
        }
        let mut row = RowWriter {
            indices: &mut self.indices[start..],
            values: &mut self.values[start..],
            column_counts: &mut self.column_counts,
            end: 0,
        };
        fill(&mut row);
        let end = row.end;
        self.starts.push(start + end);
    }

    /// The inputs (from the dense form) that differ from `offset`, row by row.
    pub fn from_dense(x: ArrayView2<T>, offset: T) -> Self {
        let mut sparse = SparseRows::new(x.ncols());
        sparse.clear(offset);
        for row in x.rows() {
            sparse.push_row(|writer| {
                for (i, &v) in row.iter().enumerate() {
                    writer.put(i, v - offset, v != offset);
                }
            });
        }
        sparse
    }

    /// B, the number of rows.
    pub fn rows(&self) -> usize {
        self.starts.len() - 1
    }

    /// I, the number of inputs per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The input every position without an entry holds.
    pub fn offset(&self) -> T {
        self.offset
    }

    /// How many entries the batch holds.
    pub fn entries(&self) -> usize {
        self.starts[self.rows()]
    }

    /// Row r's entries: input indices, and the values added to the offset there.
    pub fn row(&self, r: usize) -> (&[u32], &[T]) {
        let range = self.starts[r]..self.starts[r + 1];
        (&self.indices[range.clone()], &self.values[range])
    }
}

/// Writes one row of [`SparseRows`], with room for every input of it.
pub struct RowWriter<'a, T> {
    indices: &'a mut [u32],
    values: &'a mut [T],
    column_counts: &'a mut [u32],
    end: usize,
}

impl<T: Copy> RowWriter<'_, T> {
    /// Input i (inputs in increasing order) is offset + value, and is an entry if `keep`.
    /// Nothing branches on `keep`: each input is written in the next free place, which the
    /// next input overwrites if this one is not kept, so rows whose background comes and
    /// goes unpredictably cost no mispredicted branches.
    #[inline(always)]
    pub fn put(&mut self, i: usize, value: T, keep: bool) {
        self.indices[self.end] = i as u32;
        self.values[self.end] = value;
        self.column_counts[i] += u32::from(keep);
        self.end += usize::from(keep);
    }
}

/// The same entries column by column (compressed sparse columns): column i's entries are
/// (rows[k], values[k]) for k in starts[i]..starts[i + 1], rows increasing. Rebuilt for
/// every mini-batch into the same buffers.
#[derive(Debug)]
pub struct SparseColumns<T> {
    starts: Vec<usize>,
    rows: Vec<u32>,
    values: Vec<T>,
    /// Scratch of [`SparseColumns::gather`].
    next: Vec<usize>,
}

impl<T> Default for SparseColumns<T> {
    fn default() -> Self {
        SparseColumns {
            starts: Vec::new(),
            rows: Vec::new(),
            values: Vec::new(),
            next: Vec::new(),
        }
    }
}

impl<T: Real> SparseColumns<T> {
    /// Fills the columns from the rows of `x`, numbered from `first_row` on (a shard's rows
    /// in its mini-batch): a counting sort by column, with the counts `x` kept while it was
    /// filled.
    pub fn gather(&mut self, x: &SparseRows<T>, first_row: usize) {
        self.starts.clear();
        self.starts.push(0);
        for (c, &count) in x.column_counts.iter().enumerate() {
            self.starts.push(self.starts[c] + count as usize);
        }
        self.rows.resize(x.entries(), 0);
        self.values.resize(x.entries(), T::zero());
        // next[c]: column c's next free place while filling.
        self.next.clear();
        self.next.extend_from_slice(&self.starts[..x.width()]);
        for r in 0..x.rows() {
            let (indices, values) = x.row(r);
            for (&i, &v) in indices.iter().zip(values) {
                let place = &mut self.next[i as usize];
                self.rows[*place] = (first_row + r) as u32;
                self.values[*place] = v;
                *place += 1;
            }
        }
    }

    /// Column c's entries: rows, and values.
    fn column(&self, c: usize) -> (&[u32], &[T]) {
        let range = self.starts[c]..self.starts[c + 1];
        (&self.rows[range.clone()], &self.values[range])
    }
}

/// out[B, O] = x[B, I] · w[I, O] + b[O] for sparse x: each row starts from
/// b + offset · Σ_i w[i, :] (computed into `start`, a buffer kept between calls) and adds
/// value · w[i, :] per entry.
pub fn sparse_forward<T: Real>(
    out: ArrayViewMut2<T>,
    x: &SparseRows<T>,
    w: ArrayView2<T>,
    b: ArrayView1<T>,
    start: &mut Vec<T>,
) {
    assert_eq!((out.nrows(), w.nrows()), (x.rows(), x.width()));
    start.clear();
    start.extend(b.iter());
    if x.offset != T::zero() {
        for row in w.rows() {
            for (s, &w) in start.iter_mut().zip(row) {
                *s = *s + x.offset * w;
            }
        }
    }
    combine_rows(out, start, T::one(), w, |r| [x.row(r)]);
}

/// dw[I, O] = xᵀ·dout and db[O] = Σ_rows dout for sparse x.
pub fn sparse_parameter_gradient<T: Real>(
    dw: ArrayViewMut2<T>,
    mut db: ArrayViewMut1<T>,
    dout: ArrayView2<T>,
    x: &SparseRows<T>,
) {
    bias_gradient(db.view_mut(), dout);
    let mut columns = SparseColumns::default();
    columns.gather(x, 0);
    let columns = std::slice::from_ref(&columns);
    sparse_weight_gradient(dw, columns, 0, x.offset(), dout, db.view());
}

/// dw[J, O] = x[:, J]ᵀ · dout for the block J = first..first + dw.nrows() of the inputs of
/// a sparse x, whose rows are in `shards` (each gathered into columns, with its rows
/// numbered as in dout), given db = Σ_rows dout: each row of dw starts from offset · db and
/// adds value · dout[r, :] per entry of its column, shard by shard.
pub fn sparse_weight_gradient<T: Real>(
    dw: ArrayViewMut2<T>,
    shards: &[SparseColumns<T>],
    first: usize,
    offset: T,
    dout: ArrayView2<T>,
    db: ArrayView1<T>,
) {
    let db = db.as_slice().expect("a contiguous bias gradient");
    combine_rows(dw, db, offset, dout, |c| {
        shards.iter().map(move |shard| shard.column(first + c))
    });
}

/// out[j, :] = scale · start + Σ_k values[k] · m[indices[k], :] for every row j, over the lists
/// (indices, values) that entries(j) yields: the kernel of both sparse products, compiled
/// for the widest vector instructions the processor has.
fn combine_rows<'a, T: Real, I: IntoIterator<Item = (&'a [u32], &'a [T])>>(
    out: ArrayViewMut2<T>,
    start: &[T],
    scale: T,
    m: ArrayView2<T>,
    entries: impl Fn(usize) -> I,
) {
    assert!(start.len() == out.ncols() && m.ncols() == out.ncols());
    assert!(m.is_standard_layout() && out.is_standard_layout());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has the instructions the function is compiled for.
            return unsafe { combine_rows_avx512(out, start, scale, m, entries) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { combine_rows_avx2(out, start, scale, m, entries) };
        }
    }
    combine_rows_in::<T, I, 16, false>(out, start, scale, m, entries)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn combine_rows_avx512<'a, T: Real, I: IntoIterator<Item = (&'a [u32], &'a [T])>>(
    out: ArrayViewMut2<T>,
    start: &[T],
    scale: T,
    m: ArrayView2<T>,
    entries: impl Fn(usize) -> I,
) {
    // 16 of the 32 registers of 16 floats hold 256 outputs.
    combine_rows_in::<T, I, 256, true>(out, start, scale, m, entries)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn combine_rows_avx2<'a, T: Real, I: IntoIterator<Item = (&'a [u32], &'a [T])>>(
    out: ArrayViewMut2<T>,
    start: &[T],
    scale: T,
    m: ArrayView2<T>,
    entries: impl Fn(usize) -> I,
) {
    // 8 registers of 8 floats hold 64 outputs.
    combine_rows_in::<T, I, 64, true>(out, start, scale, m, entries)
}

/// [`combine_rows`] with the outputs in blocks of `WIDTH` columns, each block summed in a
/// local array the compiler keeps in vector registers; `FUSED` rounds each multiply-add once
/// (where the processor has fused multiply-add).
#[inline(always)]
fn combine_rows_in<'a, T, I, const WIDTH: usize, const FUSED: bool>(
    mut out: ArrayViewMut2<T>,
    start: &[T],
    scale: T,
    m: ArrayView2<T>,
    entries: impl Fn(usize) -> I,
) where
    T: Real,
    I: IntoIterator<Item = (&'a [u32], &'a [T])>,
{
    let width = out.ncols();
    let m = m.as_slice().expect("rows of m are contiguous");
    let multiply_add = |v: T, x: T, acc: T| {
        if FUSED {
            v.mul_add(x, acc)
        } else {
            acc + v * x
        }
    };
    for (j, mut out_row) in out.axis_iter_mut(Axis(0)).enumerate() {
        let out_row = out_row.as_slice_mut().expect("rows of out are contiguous");
        let mut column = 0;
        while column < width {
            let block = WIDTH.min(width - column);
            let out_block = &mut out_row[column..column + block];
            let start = &start[column..column + block];
            if block == WIDTH {
                // Whole blocks, of a length known when compiling: the sums stay in registers.
                let mut acc: [T; WIDTH] = start.try_into().expect("WIDTH values");
                acc.iter_mut().for_each(|a| *a = *a * scale);
                for (&k, &v) in entries(j).into_iter().flat_map(|(i, v)| i.iter().zip(v)) {
                    let row: &[T; WIDTH] = m[k as usize * width + column..][..WIDTH]
                        .try_into()
                        .expect("WIDTH values");
                    for (a, &x) in acc.iter_mut().zip(row) {
                        *a = multiply_add(v, x, *a);
                    }
                }
                out_block.copy_from_slice(&acc);
            } else {
                for (o, &s) in out_block.iter_mut().zip(start) {
                    *o = s * scale;
                }
                for (&k, &v) in entries(j).into_iter().flat_map(|(i, v)| i.iter().zip(v)) {
                    let row = &m[k as usize * width + column..][..block];
                    for (a, &x) in out_block.iter_mut().zip(row) {
                        *a = multiply_add(v, x, *a);
                    }
                }
            }
            column += block;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::{dense_forward, dense_weight_gradient};
    use crate::nn::rng::SeededRng;
    use ndarray::{Array1, Array2};

    /// x[rows, cols] with about `density` of the inputs away from `offset`.
    fn sparse_input(rows: usize, cols: usize, density: f64, offset: f64, seed: u64) -> Array2<f64> {
        let mut rng = SeededRng::new(seed);
        Array2::from_shape_fn((rows, cols), |_| {
            if rng.uniform() < density {
                offset + rng.standard_normal()
            } else {
                offset
            }
        })
    }

    fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut rng = SeededRng::new(seed);
        Array2::from_shape_fn((rows, cols), |_| rng.standard_normal())
    }

    fn assert_close(a: &Array2<f64>, b: &Array2<f64>) {
        assert_eq!(a.dim(), b.dim());
        for (x, y) in a.iter().zip(b) {
            approx::assert_abs_diff_eq!(x, y, epsilon = 1e-12);
        }
    }

    #[test]
    fn sparse_rows_keep_what_differs_from_the_offset() {
        let x = ndarray::array![[0.5, 2.0, 0.5], [0.5, 0.5, 0.5], [1.0, 0.5, -1.0]];
        let sparse = SparseRows::from_dense(x.view(), 0.5);
        assert_eq!((sparse.rows(), sparse.width(), sparse.entries()), (3, 3, 3));
        assert_eq!(sparse.row(0), (&[1u32][..], &[1.5][..]));
        assert_eq!(sparse.row(1), (&[][..], &[][..]));
        assert_eq!(sparse.row(2), (&[0u32, 2][..], &[0.5, -1.5][..]));
    }

    #[test]
    fn forward_matches_the_dense_product_with_and_without_an_offset() {
        // 300 outputs: two whole blocks of 128 and a partial one, or 18 blocks of 16 and more.
        for offset in [0.0, -0.42] {
            let x = sparse_input(9, 50, 0.2, offset, 1);
            let (w, b) = (random(50, 300, 2), random(1, 300, 3).row(0).to_owned());
            let mut dense = Array2::zeros((9, 300));
            dense_forward(dense.view_mut(), x.view(), w.view(), b.view());
            let mut sparse = Array2::from_elem((9, 300), f64::NAN);
            let rows = SparseRows::from_dense(x.view(), offset);
            sparse_forward(
                sparse.view_mut(),
                &rows,
                w.view(),
                b.view(),
                &mut Vec::new(),
            );
            assert_close(&sparse, &dense);
        }
    }

    #[test]
    fn weight_gradient_matches_the_dense_product_in_any_blocks() {
        for offset in [0.0, 1.5] {
            let x = sparse_input(11, 40, 0.3, offset, 4);
            let delta = random(11, 70, 5);
            let mut dense = Array2::zeros((40, 70));
            dense_weight_gradient(dense.view_mut(), delta.view(), x.view());
            let mut db = Array1::zeros(70);
            bias_gradient(db.view_mut(), delta.view());
            // The rows of x split over two shards, as over those of a mini-batch.
            let shards: Vec<_> = [(0, ndarray::s![..4, ..]), (4, ndarray::s![4.., ..])]
                .into_iter()
                .map(|(first_row, rows)| {
                    let mut columns = SparseColumns::default();
                    columns.gather(&SparseRows::from_dense(x.slice(rows), offset), first_row);
                    columns
                })
                .collect();
            for block in [40, 13, 1] {
                let mut sparse = Array2::from_elem((40, 70), f64::NAN);
                for (first, dw) in (0..40)
                    .step_by(block)
                    .zip(sparse.axis_chunks_iter_mut(Axis(0), block))
                {
                    sparse_weight_gradient(dw, &shards, first, offset, delta.view(), db.view());
                }
                assert_close(&sparse, &dense);
            }
        }
    }

    #[test]
    fn f32_kernels_agree_with_the_dense_product() {
        let x = sparse_input(16, 784, 0.2, 0.0, 6).mapv(|v| v as f32);
        let w = random(784, 256, 7).mapv(|v| v as f32);
        let b = Array1::<f32>::zeros(256);
        let mut dense = Array2::zeros((16, 256));
        dense_forward(dense.view_mut(), x.view(), w.view(), b.view());
        let mut sparse = Array2::zeros((16, 256));
        sparse_forward(
            sparse.view_mut(),
            &SparseRows::from_dense(x.view(), 0.0),
            w.view(),
            b.view(),
            &mut Vec::new(),
        );
        for (s, d) in sparse.iter().zip(&dense) {
            approx::assert_abs_diff_eq!(s, d, epsilon = 1e-4);
        }
    }
}
