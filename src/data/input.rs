//! Turning u8 images into the network's f32 inputs, one batch at a time (the data set stays
//! u8 in memory; nothing holds a float copy of it): a dense matrix, or sparse rows that
//! leave out the background pixels (see [`BatchForm`]).

use ndarray::{Array2, ArrayViewMut2, s};
use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::data::augment::Transform;
use crate::data::images::{Images, LabeledImages};
use crate::nn::mlp::Inputs;
use crate::nn::sparse::SparseRows;

/// How pixel values 0..=255 become network inputs; recorded in the weights file so that
/// evaluation scales exactly as training did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum InputScaling {
    /// x = pixel / 255, in [0, 1].
    UnitInterval,
    /// x = (pixel / 255 − mean) / std, with the pixel mean and std of the images trained on
    /// (the validation images left out).
    Standardized { mean: f32, std: f32 },
}

/// The least std of a standardisation: images of (nearly) one grey level are scaled as if
/// their pixels varied this much, instead of divided by (nearly) zero.
pub const MIN_STD: f32 = 1e-6;

/// The choice of scaling on the command line; the statistics come from the training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalingKind {
    Unit,
    Standardize,
}

impl Choice for ScalingKind {
    const ALL: &'static [Self] = &[Self::Unit, Self::Standardize];

    fn name(self) -> &'static str {
        match self {
            ScalingKind::Unit => "unit",
            ScalingKind::Standardize => "standardize",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            ScalingKind::Unit => "pixel / 255",
            ScalingKind::Standardize => {
                "(pixel / 255 − mean) / std over the pixels trained on (not --val-split's)"
            }
        })
    }
}

impl InputScaling {
    /// Resolves the command-line choice against all the training images.
    pub fn fit(kind: ScalingKind, train: &Images) -> Self {
        Self::fit_with(kind, |histogram| {
            train
                .pixels
                .iter()
                .for_each(|&p| histogram[p as usize] += 1)
        })
    }

    /// Resolves the command-line choice against the training images at `indices` only
    /// (those trained on, without the validation images).
    pub fn fit_subset(kind: ScalingKind, train: &Images, indices: &[usize]) -> Self {
        Self::fit_with(kind, |histogram| {
            for &i in indices {
                train
                    .image(i)
                    .iter()
                    .for_each(|&p| histogram[p as usize] += 1);
            }
        })
    }

    /// The scaling of `kind`; for standardisation, from the pixel statistics of the
    /// histogram of pixel values that `count` fills (the mean and std of 256 weighted
    /// values instead of a pass over every pixel in floating point).
    fn fit_with(kind: ScalingKind, count: impl FnOnce(&mut [u64; 256])) -> Self {
        match kind {
            ScalingKind::Unit => InputScaling::UnitInterval,
            ScalingKind::Standardize => {
                let mut histogram = [0u64; 256];
                count(&mut histogram);
                let n = histogram.iter().sum::<u64>().max(1) as f64;
                let mean = (0..256)
                    .map(|v| v as f64 / 255.0 * histogram[v] as f64)
                    .sum::<f64>()
                    / n;
                let var = (0..256)
                    .map(|v| (v as f64 / 255.0 - mean).powi(2) * histogram[v] as f64)
                    .sum::<f64>()
                    / n;
                InputScaling::Standardized {
                    mean: mean as f32,
                    std: var.sqrt().max(f64::from(MIN_STD)) as f32,
                }
            }
        }
    }

    /// Checks a scaling read from a file: the mean of values in [0, 1] lies in [0, 1], and
    /// the std is at least [`MIN_STD`] (the least that [`InputScaling::fit`] records), so
    /// that every input is a finite number.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            InputScaling::UnitInterval => Ok(()),
            InputScaling::Standardized { mean, std } => {
                if !(0.0..=1.0).contains(&mean) {
                    return Err(format!(
                        "the input scaling's mean is {mean}, but a mean of pixel / 255 lies in [0, 1]"
                    ));
                }
                if !(std.is_finite() && std >= MIN_STD) {
                    return Err(format!(
                        "the input scaling's std is {std}, but it must be a finite number of at \
                         least {MIN_STD}"
                    ));
                }
                Ok(())
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            InputScaling::UnitInterval => "pixel / 255 (range [0, 1])".to_string(),
            InputScaling::Standardized { mean, std } => {
                format!("(pixel / 255 − {mean:.4}) / {std:.4}")
            }
        }
    }

    /// (scale, offset) such that input = pixel · scale + offset: one multiply-add per
    /// pixel, which vectorises.
    pub fn affine(&self) -> (f32, f32) {
        match *self {
            InputScaling::UnitInterval => (1.0 / 255.0, 0.0),
            InputScaling::Standardized { mean, std } => (1.0 / (255.0 * std), -mean / std),
        }
    }
}

/// How a batch of images reaches the first layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchForm {
    /// Every pixel, as a dense matrix.
    Dense,
    /// Only the pixels that differ from `background`, as sparse rows: the first layer then
    /// skips the rest.
    Sparse { background: u8 },
}

/// Images [`BatchForm::for_images`] looks at.
const FORM_SAMPLE: usize = 1024;

/// The largest fraction of pixels away from the background at which [`BatchForm::for_images`]
/// picks sparse batches: below it, the sparse products beat the dense ones (the benchmark
/// `first layer` compares them across densities).
pub const MAX_SPARSE_DENSITY: f64 = 0.35;

impl BatchForm {
    /// Sparse batches around the most common pixel value when few enough pixels differ from
    /// it, in up to [`FORM_SAMPLE`] images spread over the set; dense batches otherwise.
    pub fn for_images(images: &Images) -> Self {
        let step = images.len().div_ceil(FORM_SAMPLE).max(1);
        let mut histogram = [0u64; 256];
        for i in (0..images.len()).step_by(step) {
            images
                .image(i)
                .iter()
                .for_each(|&p| histogram[p as usize] += 1);
        }
        let total: u64 = histogram.iter().sum();
        let (background, &count) = (histogram.iter().enumerate())
            .max_by_key(|&(value, &count)| (count, std::cmp::Reverse(value)))
            .expect("256 values");
        let density = 1.0 - count as f64 / total.max(1) as f64;
        match total > 0 && density <= MAX_SPARSE_DENSITY {
            true => BatchForm::Sparse {
                background: background as u8,
            },
            false => BatchForm::Dense,
        }
    }
}

/// Calls `visit(k, image, transform)` for the k-th of the images at `samples` (index,
/// transform), in order.
fn for_each_image<'a>(
    images: &'a Images,
    samples: impl IntoIterator<Item = (usize, Transform)> + Clone,
    mut visit: impl FnMut(usize, &'a [u8], Transform),
) {
    // The images are scattered over a data set far larger than the caches: ask for those a
    // few samples ahead while converting this one (the conversion waits on memory otherwise).
    let mut ahead = samples.clone().into_iter();
    for (i, _) in ahead.by_ref().take(PREFETCH_AHEAD) {
        prefetch(images.image(i));
    }
    for (k, (i, transform)) in samples.into_iter().enumerate() {
        if let Some((next, _)) = ahead.next() {
            prefetch(images.image(next));
        }
        visit(k, images.image(i), transform);
    }
}

/// x[B, P] ← the scaled pixels of the B images at `samples` (index, transform), each image
/// transformed first (see `augment`).
pub fn fill_batch(
    mut x: ArrayViewMut2<f32>,
    images: &Images,
    samples: impl IntoIterator<Item = (usize, Transform)> + Clone,
    scaling: &InputScaling,
) {
    let (scale, offset) = scaling.affine();
    let dims = (images.rows, images.cols);
    for_each_image(images, samples, |k, image, transform| {
        let row = x
            .row_mut(k)
            .into_slice()
            .expect("batch rows are contiguous");
        transform.apply(row, image, dims, |p| p * scale + offset);
    });
}

/// rows ← [`fill_batch`]'s inputs as sparse rows around the input of the `background` pixel
/// value: each transformed image keeps, as it is made, the pixels that differ from it.
pub fn fill_sparse_batch(
    rows: &mut SparseRows<f32>,
    images: &Images,
    samples: impl IntoIterator<Item = (usize, Transform)> + Clone,
    scaling: &InputScaling,
    background: u8,
) {
    let (scale, offset) = scaling.affine();
    let (dims, background) = ((images.rows, images.cols), f32::from(background));
    rows.clear(background * scale + offset);
    for_each_image(images, samples, |_, image, transform| {
        rows.push_row(|row| {
            transform.for_each_pixel(image, dims, |i, p| {
                row.put(i, (p - background) * scale, p != background)
            })
        });
    });
}

/// How many samples ahead [`fill_batch`] asks for images.
const PREFETCH_AHEAD: usize = 4;

/// Hints that `bytes` will be read soon (a no-op where there is no such hint).
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch is only a hint; it never faults, and the address is in bounds.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// Reusable buffers that turn labelled u8 images into network inputs batch after batch.
pub struct BatchBuilder {
    scaling: InputScaling,
    form: BatchForm,
    /// x[max_batch, P], for dense batches.
    x: Array2<f32>,
    /// For sparse batches.
    sparse: SparseRows<f32>,
    labels: Vec<u8>,
}

impl BatchBuilder {
    pub fn new(
        scaling: &InputScaling,
        form: BatchForm,
        pixels_per_image: usize,
        max_batch: usize,
    ) -> Self {
        let dense_rows = match form {
            BatchForm::Dense => max_batch,
            BatchForm::Sparse { .. } => 0,
        };
        BatchBuilder {
            scaling: *scaling,
            form,
            x: Array2::zeros((dense_rows, pixels_per_image)),
            sparse: SparseRows::new(pixels_per_image),
            labels: Vec::with_capacity(max_batch),
        }
    }

    /// The inputs and labels of the B samples at `samples` (index, transform).
    pub fn fill(
        &mut self,
        data: &LabeledImages,
        samples: impl IntoIterator<Item = (usize, Transform)> + Clone,
    ) -> (Inputs<'_, f32>, &[u8]) {
        self.labels.clear();
        self.labels
            .extend(samples.clone().into_iter().map(|(i, _)| data.labels[i]));
        let batch = self.labels.len();
        let (images, scaling) = (&data.images, &self.scaling);
        let inputs = match self.form {
            BatchForm::Dense => {
                fill_batch(self.x.slice_mut(s![..batch, ..]), images, samples, scaling);
                Inputs::Dense(self.x.slice(s![..batch, ..]))
            }
            BatchForm::Sparse { background } => {
                fill_sparse_batch(&mut self.sparse, images, samples, scaling, background);
                Inputs::Sparse(&self.sparse)
            }
        };
        (inputs, &self.labels)
    }

    /// [`BatchBuilder::fill`] with the images as they are (for evaluation).
    pub fn fill_untransformed(
        &mut self,
        data: &LabeledImages,
        samples: impl Iterator<Item = usize> + Clone,
    ) -> (Inputs<'_, f32>, &[u8]) {
        self.fill(data, samples.map(|i| (i, Transform::NONE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn unit_scaling_maps_0_and_255_to_the_ends() {
        let images = Images {
            rows: 1,
            cols: 3,
            pixels: vec![0, 255, 51],
        };
        let mut x = Array2::zeros((1, 3));
        fill_batch(
            x.view_mut(),
            &images,
            [(0, Transform::NONE)],
            &InputScaling::UnitInterval,
        );
        assert_eq!((x[[0, 0]], x[[0, 1]]), (0.0, 1.0));
        approx::assert_abs_diff_eq!(x[[0, 2]], 0.2, epsilon = 1e-7);
    }

    #[test]
    fn standardized_inputs_have_zero_mean_and_unit_std() {
        let images = Images {
            rows: 2,
            cols: 2,
            pixels: vec![0, 255, 10, 100, 7, 7, 200, 1],
        };
        let scaling = InputScaling::fit(ScalingKind::Standardize, &images);
        let mut x = Array2::zeros((2, 4));
        fill_batch(
            x.view_mut(),
            &images,
            [(0, Transform::NONE), (1, Transform::NONE)],
            &scaling,
        );
        let mean = x.mean().unwrap();
        let std = x.std(0.0);
        assert!(
            mean.abs() < 1e-5 && (std - 1.0).abs() < 1e-4,
            "{mean} {std}"
        );
    }

    #[test]
    fn a_subset_is_standardised_on_its_own_images() {
        let images = Images {
            rows: 1,
            cols: 2,
            pixels: vec![0, 255, 255, 255, 0, 0, 51, 102],
        };
        let kind = ScalingKind::Standardize;
        let all = InputScaling::fit(kind, &images);
        assert_eq!(InputScaling::fit_subset(kind, &images, &[0, 1, 2, 3]), all);
        // Images 0 and 2: pixels 0, 255, 0, 0, so mean 1/4 and std √3/4.
        let InputScaling::Standardized { mean, std } =
            InputScaling::fit_subset(kind, &images, &[2, 0])
        else {
            panic!("standardisation asked for");
        };
        approx::assert_abs_diff_eq!(mean, 0.25, epsilon = 1e-7);
        approx::assert_abs_diff_eq!(std, 3f32.sqrt() / 4.0, epsilon = 1e-7);
        assert_ne!(InputScaling::fit_subset(kind, &images, &[2, 0]), all);
    }

    #[test]
    fn batches_follow_the_indices() {
        let images = Images {
            rows: 1,
            cols: 2,
            pixels: vec![0, 51, 102, 255],
        };
        let mut x = Array2::zeros((2, 2));
        let samples = [(1, Transform::NONE), (0, Transform::NONE)];
        fill_batch(x.view_mut(), &images, samples, &InputScaling::UnitInterval);
        let expected = ndarray::array![[0.4, 1.0], [0.0, 0.2]];
        x.iter()
            .zip(&expected)
            .for_each(|(a, b)| approx::assert_abs_diff_eq!(a, b, epsilon = 1e-7));
    }
}
