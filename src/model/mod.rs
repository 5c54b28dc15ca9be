//! A trained classifier (network + the input scaling it was trained with) and its
//! evaluation on a labelled data set.

pub mod analysis;
pub mod predict;

use ndarray::{Array2, Axis};
use rayon::prelude::*;

use crate::data::images::LabeledImages;
use crate::data::input::{BatchBuilder, BatchForm, InputScaling};
use crate::nn::mlp::{Mlp, Workspace, count_correct};

/// Rows per forward pass when evaluating: large, for fast matrix products.
pub const EVAL_BATCH: usize = 1000;

/// A network ready to classify u8 images.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    pub mlp: Mlp<f32>,
    pub input_scaling: InputScaling,
}

/// How a classifier did on a labelled set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    pub correct: usize,
    pub total: usize,
    /// Mean cross-entropy per sample.
    pub loss: f64,
}

/// "accuracy: 98.74% (9874/10000)": how every command reports an accuracy (0% of nothing).
pub fn accuracy_text(correct: usize, total: usize) -> String {
    let accuracy = if total == 0 {
        0.0
    } else {
        correct as f64 / total as f64
    };
    format!("accuracy: {:.2}% ({correct}/{total})", 100.0 * accuracy)
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

/// A network whose outputs overflow: its logits (or their loss) are NaN or infinite, so
/// neither a prediction nor a loss means anything.
#[derive(Debug, thiserror::Error)]
#[error(
    "the network's outputs are NaN or infinite (its weights overflow the forward pass); \
     re-run `mnist-mlp train`"
)]
pub struct NonFiniteOutputs;

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

    /// Accuracy and mean loss over the whole set, in chunks of [`EVAL_BATCH`] images spread
    /// over the threads of the rayon pool. The chunks and the order their sums are added in
    /// are fixed, so the result does not depend on the number of threads.
    /// The caller has checked compatibility.
    pub fn evaluate(&self, data: &LabeledImages) -> Result<Evaluation, NonFiniteOutputs> {
        self.evaluate_samples(data, data.labels.len(), |k| k)
    }

    /// [`Classifier::evaluate`] on the images of `data` at `indices` only.
    pub fn evaluate_subset(
        &self,
        data: &LabeledImages,
        indices: &[usize],
    ) -> Result<Evaluation, NonFiniteOutputs> {
        self.evaluate_samples(data, indices.len(), |k| indices[k])
    }

    /// The class probabilities p[N, C] of every image in `data`, whose labels must be
    /// classes of the network (the caller has checked compatibility).
    pub fn probabilities(&self, data: &LabeledImages) -> Result<Array2<f32>, NonFiniteOutputs> {
        let chunks = self.forward_chunks(
            data,
            data.labels.len(),
            |k| k,
            |ws, labels, _| ws.probs(labels.len()).to_owned(),
        )?;
        let mut probs = Array2::zeros((0, self.mlp.arch.num_classes));
        for chunk in chunks {
            probs
                .append(Axis(0), chunk.view())
                .expect("every chunk has C columns");
        }
        Ok(probs)
    }

    /// Evaluates the images `sample(0) .. sample(total − 1)` of `data`.
    fn evaluate_samples(
        &self,
        data: &LabeledImages,
        total: usize,
        sample: impl Fn(usize) -> usize + Sync,
    ) -> Result<Evaluation, NonFiniteOutputs> {
        let chunks = self.forward_chunks(data, total, sample, |ws, labels, loss_sum| {
            let correct = count_correct(ws.probs(labels.len()), labels);
            (correct, loss_sum)
        })?;
        let correct = chunks.iter().map(|c| c.0).sum();
        let loss_sum: f64 = chunks.iter().map(|c| c.1).sum();
        Ok(Evaluation {
            correct,
            total,
            loss: loss_sum / total.max(1) as f64,
        })
    }

    /// The forward pass over the images `sample(0) .. sample(total − 1)` of `data` in
    /// chunks of [`EVAL_BATCH`] spread over the threads of the rayon pool; `per_chunk` turns
    /// each chunk's workspace, labels and summed loss into a result. The chunks are fixed
    /// and their results come in order, whatever the number of threads. A chunk whose
    /// logits or loss are NaN or infinite is an error.
    fn forward_chunks<R: Send>(
        &self,
        data: &LabeledImages,
        total: usize,
        sample: impl Fn(usize) -> usize + Sync,
        per_chunk: impl Fn(&Workspace<f32>, &[u8], f64) -> R + Sync + Send,
    ) -> Result<Vec<R>, NonFiniteOutputs> {
        let batch = EVAL_BATCH.min(total.max(1));
        let (form, inputs) = (
            BatchForm::for_images(&data.images),
            self.mlp.arch.input_size,
        );
        (0..total.div_ceil(batch))
            .into_par_iter()
            .map_init(
                || {
                    let builder = BatchBuilder::new(&self.input_scaling, form, inputs, batch);
                    (builder, Workspace::new(&self.mlp.arch, batch))
                },
                |(builder, ws), c| {
                    let range = c * batch..((c + 1) * batch).min(total);
                    let samples = range.map(&sample);
                    let (inputs, labels) = builder.fill_untransformed(data, samples);
                    let loss_sum = self.mlp.forward(ws, inputs, labels);
                    let logits = ws.logits(labels.len());
                    if !loss_sum.is_finite() || logits.iter().any(|v| !v.is_finite()) {
                        return Err(NonFiniteOutputs);
                    }
                    Ok(per_chunk(ws, labels, loss_sum))
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::images::Images;
    use crate::nn::layers::Activation;
    use crate::nn::mlp::{Architecture, argmax};

    #[test]
    fn probabilities_are_rows_of_the_evaluation() {
        let arch = Architecture {
            input_size: 6,
            hidden: vec![5],
            num_classes: 3,
            activation: Activation::Relu,
        };
        let classifier = Classifier {
            mlp: Mlp::initial(arch, 7),
            input_scaling: InputScaling::UnitInterval,
        };
        let count = 2 * EVAL_BATCH + 3; // two whole chunks and a partial one
        let data = LabeledImages {
            images: Images {
                rows: 2,
                cols: 3,
                pixels: (0..count * 6).map(|i| (i * 37 % 256) as u8).collect(),
            },
            labels: (0..count).map(|i| (i % 3) as u8).collect(),
        };
        let probs = classifier.probabilities(&data).unwrap();
        assert_eq!(probs.dim(), (count, 3));
        for row in probs.rows() {
            approx::assert_abs_diff_eq!(row.sum(), 1.0, epsilon = 1e-5);
        }
        let correct = probs
            .rows()
            .into_iter()
            .zip(&data.labels)
            .filter(|(row, label)| argmax(row.view()) == **label as usize)
            .count();
        assert_eq!(correct, classifier.evaluate(&data).unwrap().correct);
    }
}
