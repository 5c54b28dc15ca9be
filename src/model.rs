//! A trained classifier (network + the input scaling it was trained with) and its
//! evaluation on a labelled data set.

use ndarray::Array2;

use crate::dataset::LabeledImages;
use crate::input::{InputScaling, fill_batch};
use crate::mlp::{Mlp, Workspace, argmax};

/// Rows per forward pass when evaluating: large, for fast matrix products.
pub const EVAL_BATCH: usize = 1000;

/// A network ready to classify u8 images.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    pub mlp: Mlp<f32>,
    pub input_scaling: InputScaling,
}

/// How a classifier did on a labelled set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub correct: usize,
    pub total: usize,
    /// Mean cross-entropy per sample.
    pub loss: f64,
}

impl Evaluation {
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// Why a data set cannot be fed to a network.
#[derive(Debug, thiserror::Error)]
pub enum MismatchError {
    #[error("the images are {rows}x{cols} = {pixels} pixels but the network takes {inputs} inputs")]
    ImageSize {
        rows: usize,
        cols: usize,
        pixels: usize,
        inputs: usize,
    },
    #[error("label {label} is out of range for a network with {classes} classes")]
    Label { label: u8, classes: usize },
}

impl Classifier {
    /// Checks that `data` has the network's image size and only labels it can predict.
    pub fn check_compatible(&self, data: &LabeledImages) -> Result<(), MismatchError> {
        let arch = &self.mlp.arch;
        let images = &data.images;
        if images.pixels_per_image() != arch.input_size {
            return Err(MismatchError::ImageSize {
                rows: images.rows,
                cols: images.cols,
                pixels: images.pixels_per_image(),
                inputs: arch.input_size,
            });
        }
        match data
            .labels
            .iter()
            .find(|&&l| l as usize >= arch.num_classes)
        {
            Some(&label) => Err(MismatchError::Label {
                label,
                classes: arch.num_classes,
            }),
            None => Ok(()),
        }
    }

    /// Accuracy and mean loss over the whole set, in batches of [`EVAL_BATCH`].
    /// The caller has checked compatibility.
    pub fn evaluate(&self, data: &LabeledImages) -> Evaluation {
        let total = data.labels.len();
        let inputs = self.mlp.arch.input_size;
        let batch = EVAL_BATCH.min(total.max(1));
        let mut ws = Workspace::new(&self.mlp.arch, batch);
        let mut x = Array2::<f32>::zeros((batch, inputs));
        let table = self.input_scaling.lookup_table();
        let (mut correct, mut loss_sum) = (0, 0.0f64);
        for start in (0..total).step_by(batch) {
            let end = (start + batch).min(total);
            let labels = &data.labels[start..end];
            let mut xb = x.slice_mut(ndarray::s![..end - start, ..]);
            fill_batch(xb.view_mut(), &data.images, start..end, &table);
            loss_sum += self.mlp.forward(&mut ws, xb.view(), labels) as f64;
            correct += (ws.probs(end - start).rows().into_iter().map(argmax))
                .zip(labels)
                .filter(|&(predicted, &label)| predicted == label as usize)
                .count();
        }
        Evaluation {
            correct,
            total,
            loss: loss_sum / total.max(1) as f64,
        }
    }
}
