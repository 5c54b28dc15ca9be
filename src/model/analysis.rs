//! Error analysis of a trained classifier on a labelled set: the confusion matrix,
//! per-class precision, recall and F1, the most common confusions and the most confident
//! mistakes, and their text and JSON reports.
//!
//! Everything here is a pure function of the labels and the predicted class probabilities.
//! A figure that is undefined (the precision of a class the network never predicts, the
//! recall of a class absent from the set) is `None`: shown as "—" in text and `null` in JSON,
//! never silently 0.

use std::fmt::Write as _;

use ndarray::{Array2, ArrayView2};
use serde_json::{Value, json};

use crate::model::accuracy_text;
use crate::text::escape_controls;

/// Why labels and probabilities cannot be analysed together.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("there are {labels} labels but probabilities for {rows} images")]
    Count { labels: usize, rows: usize },
    #[error("there are no classes to analyse")]
    NoClasses,
    #[error("image {image} has label {label}, but there are only {classes} classes")]
    Label {
        image: usize,
        label: usize,
        classes: usize,
    },
    #[error(
        "image {image} is predicted as class {predicted}, but there are only {classes} classes"
    )]
    Predicted {
        image: usize,
        predicted: usize,
        classes: usize,
    },
    #[error("image {image} has a non-finite class probability")]
    NotFinite { image: usize },
    #[error("{names} class names were given for {classes} classes")]
    ClassNames { names: usize, classes: usize },
}

/// The network's answer for one image: the most probable class and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub confidence: f32,
}

/// The most probable class of every row of p[N, C] (the lowest class on ties).
pub fn predictions(probabilities: ArrayView2<f32>) -> Result<Vec<Prediction>, AnalysisError> {
    if probabilities.ncols() == 0 {
        return Err(AnalysisError::NoClasses);
    }
    probabilities
        .rows()
        .into_iter()
        .enumerate()
        .map(|(image, row)| {
            if row.iter().any(|p| !p.is_finite()) {
                return Err(AnalysisError::NotFinite { image });
            }
            let (class, &confidence) = row
                .iter()
                .enumerate()
                .reduce(|best, next| if next.1 > best.1 { next } else { best })
                .expect("at least one class");
            Ok(Prediction { class, confidence })
        })
        .collect()
}

/// counts[true class, predicted class] over all images: rows are true classes, columns
/// predicted ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    /// counts[C, C].
    pub counts: Array2<usize>,
}

impl ConfusionMatrix {
    /// Counts each (label, prediction) pair; `labels` are class indices below `classes`.
    pub fn new(
        labels: &[usize],
        predicted: &[usize],
        classes: usize,
    ) -> Result<Self, AnalysisError> {
        if labels.len() != predicted.len() {
            return Err(AnalysisError::Count {
                labels: labels.len(),
                rows: predicted.len(),
            });
        }
        if classes == 0 {
            return Err(AnalysisError::NoClasses);
        }
        let mut counts = Array2::zeros((classes, classes));
        for (image, (&label, &pred)) in labels.iter().zip(predicted).enumerate() {
            if label >= classes {
                return Err(AnalysisError::Label {
                    image,
                    label,
                    classes,
                });
            }
            if pred >= classes {
                return Err(AnalysisError::Predicted {
                    image,
                    predicted: pred,
                    classes,
                });
            }
            counts[[label, pred]] += 1;
        }
        Ok(ConfusionMatrix { counts })
    }

    pub fn classes(&self) -> usize {
        self.counts.nrows()
    }

    pub fn total(&self) -> usize {
        self.counts.sum()
    }

    /// The images classified correctly: the diagonal's sum.
    pub fn correct(&self) -> usize {
        self.counts.diag().sum()
    }

    /// Fraction classified correctly; `None` on an empty set.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.correct(), self.total())
    }

    /// The largest count off the diagonal (0 when there are no mistakes).
    pub fn max_off_diagonal(&self) -> usize {
        self.off_diagonal().map(|(_, _, n)| n).max().unwrap_or(0)
    }

    /// Precision, recall, F1 and support of every class.
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        (0..self.classes())
            .map(|c| {
                let correct = self.counts[[c, c]];
                let support = self.counts.row(c).sum();
                let predicted = self.counts.column(c).sum();
                let precision = ratio(correct, predicted);
                let recall = ratio(correct, support);
                let f1 = match (precision, recall) {
                    (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
                    (Some(_), Some(_)) => Some(0.0),
                    _ => None,
                };
                ClassMetrics {
                    support,
                    predicted,
                    correct,
                    precision,
                    recall,
                    f1,
                }
            })
            .collect()
    }

    /// The non-zero off-diagonal cells (true, predicted, count), most frequent first, ties
    /// in row-major order.
    pub fn confusions(&self) -> Vec<(usize, usize, usize)> {
        let mut cells: Vec<_> = self.off_diagonal().filter(|&(_, _, n)| n > 0).collect();
        cells.sort_by_key(|&(t, p, n)| (std::cmp::Reverse(n), t, p));
        cells
    }

    fn off_diagonal(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.counts
            .indexed_iter()
            .filter(|((t, p), _)| t != p)
            .map(|((t, p), &n)| (t, p, n))
    }
}

/// How one class fared. Undefined ratios are `None`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassMetrics {
    /// Images of this class in the set.
    pub support: usize,
    /// Images predicted as this class.
    pub predicted: usize,
    /// Images of this class predicted as it.
    pub correct: usize,
    /// correct / predicted: `None` when the class is never predicted.
    pub precision: Option<f64>,
    /// correct / support, the class's accuracy: `None` when the class has no images.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall (0 when both are 0): `None` when either is.
    pub f1: Option<f64>,
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// A misclassified image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mistake {
    /// Index of the image in the set.
    pub image: usize,
    pub label: usize,
    pub predicted: usize,
    /// The probability the network gave its (wrong) answer.
    pub confidence: f32,
}

/// Every misclassified image, the most confident mistakes first (ties by image index).
pub fn mistakes(labels: &[usize], predictions: &[Prediction]) -> Vec<Mistake> {
    let mut wrong: Vec<Mistake> = labels
        .iter()
        .zip(predictions)
        .enumerate()
        .filter(|(_, (label, p))| **label != p.class)
        .map(|(image, (&label, p))| Mistake {
            image,
            label,
            predicted: p.class,
            confidence: p.confidence,
        })
        .collect();
    wrong.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.image.cmp(&b.image))
    });
    wrong
}

/// Everything the analysis finds on one labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub confusion: ConfusionMatrix,
    pub per_class: Vec<ClassMetrics>,
    /// All mistakes, the most confident first.
    pub mistakes: Vec<Mistake>,
}

impl Analysis {
    /// Analyses the predictions p[N, C] of the images with the given labels.
    pub fn new(labels: &[u8], probabilities: ArrayView2<f32>) -> Result<Self, AnalysisError> {
        if labels.len() != probabilities.nrows() {
            return Err(AnalysisError::Count {
                labels: labels.len(),
                rows: probabilities.nrows(),
            });
        }
        let predictions = predictions(probabilities)?;
        let labels: Vec<usize> = labels.iter().map(|&l| l.into()).collect();
        let predicted: Vec<usize> = predictions.iter().map(|p| p.class).collect();
        let confusion = ConfusionMatrix::new(&labels, &predicted, probabilities.ncols())?;
        Ok(Analysis {
            per_class: confusion.per_class(),
            mistakes: mistakes(&labels, &predictions),
            confusion,
        })
    }

    /// "accuracy: 98.74% (9874/10000)", as `evaluate-hw1` reports it.
    pub fn accuracy_line(&self) -> String {
        accuracy_text(self.confusion.correct(), self.confusion.total())
    }
}

/// Checks that there is one name per class.
pub fn check_class_names(names: &[String], classes: usize) -> Result<(), AnalysisError> {
    if names.len() == classes {
        Ok(())
    } else {
        Err(AnalysisError::ClassNames {
            names: names.len(),
            classes,
        })
    }
}

/// A percentage with two decimals, or "—" when undefined.
pub fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{:.2}%", 100.0 * v),
        None => "—".to_string(),
    }
}

/// Confusions listed in the text report.
pub const TOP_CONFUSIONS: usize = 10;

/// The text report: the accuracy, the per-class table, the most common confusions and the
/// confusion matrix, all aligned. `names` has one name per class; their control characters
/// are shown as escapes.
pub fn text_report(analysis: &Analysis, names: &[String]) -> Result<String, AnalysisError> {
    let m = &analysis.confusion;
    check_class_names(names, m.classes())?;
    let names: Vec<String> = names.iter().map(|n| escape_controls(n).into()).collect();
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "test {}", analysis.accuracy_line());
    s.push('\n');

    let name_width = names.iter().map(|n| width(n)).max().unwrap_or(0).max(5);
    let header = ["support", "correct", "precision", "recall", "F1"];
    let _ = write!(s, "{}", pad_right("class", name_width));
    for h in header {
        let _ = write!(s, "  {h:>9}");
    }
    s.push('\n');
    for (name, c) in names.iter().zip(&analysis.per_class) {
        let cells = [
            c.support.to_string(),
            c.correct.to_string(),
            percent(c.precision),
            percent(c.recall),
            percent(c.f1),
        ];
        let _ = write!(s, "{}", pad_right(name, name_width));
        for cell in cells {
            let _ = write!(s, "  {}", pad_left(&cell, 9));
        }
        s.push('\n');
    }
    s.push_str(
        "(recall = the class's accuracy; — = undefined: no precision for a class never \
         predicted, no recall for one without images)\n",
    );

    let confusions = m.confusions();
    if !confusions.is_empty() {
        let _ = writeln!(s, "\nmost common confusions (true → predicted):");
        for &(t, p, n) in confusions.iter().take(TOP_CONFUSIONS) {
            let share = percent(
                analysis.per_class[t]
                    .recall
                    .map(|_| n as f64 / analysis.per_class[t].support as f64),
            );
            let _ = writeln!(
                s,
                "  {} → {}  {n:>5}  ({share} of {})",
                pad_left(&names[t], name_width),
                pad_right(&names[p], name_width),
                names[t]
            );
        }
    }

    let _ = writeln!(
        s,
        "\nconfusion matrix (rows: true class, columns: predicted):"
    );
    let column_names: Vec<String> = names.iter().map(|n| abbreviate(n, 8)).collect();
    let digits = m.counts.iter().max().map_or(1, |n| n.to_string().len());
    let col_width = column_names
        .iter()
        .map(|n| width(n))
        .max()
        .unwrap_or(0)
        .max(digits);
    let _ = write!(s, "{}", pad_right("true \\ pred", name_width.max(11)));
    for n in &column_names {
        let _ = write!(s, " {}", pad_left(n, col_width));
    }
    s.push('\n');
    for (name, row) in names.iter().zip(m.counts.rows()) {
        let _ = write!(s, "{}", pad_right(name, name_width.max(11)));
        for n in row {
            let _ = write!(s, " {n:>col_width$}");
        }
        s.push('\n');
    }
    Ok(s)
}

/// The whole analysis as one JSON object; the `top` most confident mistakes are listed.
pub fn json_report(
    analysis: &Analysis,
    names: &[String],
    top: usize,
) -> Result<Value, AnalysisError> {
    let m = &analysis.confusion;
    check_class_names(names, m.classes())?;
    let per_class: Vec<Value> = names
        .iter()
        .zip(&analysis.per_class)
        .map(|(name, c)| {
            json!({
                "class": name,
                "support": c.support,
                "predicted": c.predicted,
                "correct": c.correct,
                "precision": c.precision,
                "recall": c.recall,
                "f1": c.f1,
            })
        })
        .collect();
    let confusions: Vec<Value> = m
        .confusions()
        .iter()
        .map(|&(t, p, n)| json!({"true": names[t], "predicted": names[p], "count": n}))
        .collect();
    let mistakes: Vec<Value> = analysis
        .mistakes
        .iter()
        .take(top)
        .map(|k| {
            json!({
                "image": k.image,
                "true": names[k.label],
                "predicted": names[k.predicted],
                "confidence": k.confidence,
            })
        })
        .collect();
    let rows: Vec<Vec<usize>> = m.counts.rows().into_iter().map(|r| r.to_vec()).collect();
    Ok(json!({
        "accuracy": m.accuracy(),
        "correct": m.correct(),
        "total": m.total(),
        "classes": names,
        "per_class": per_class,
        "confusion": rows,
        "confusions": confusions,
        "mistakes": mistakes,
        "mistakes_total": analysis.mistakes.len(),
    }))
}

/// Characters as displayed (class names may hold non-ASCII letters).
fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad_right(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

/// `name` cut to at most `max` characters, the last one an ellipsis if it was cut.
pub fn abbreviate(name: &str, max: usize) -> String {
    if width(name) <= max {
        name.to_string()
    } else {
        let kept: String = name.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", kept.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|c| c.to_string()).collect()
    }

    /// 3 classes, 8 images. True 0: 0,0,1; true 1: 1,1,0,0; true 2: 1 — class 2 is never
    /// predicted and class 1 absorbs it.
    fn example() -> ConfusionMatrix {
        let labels = [0, 0, 0, 1, 1, 1, 1, 2];
        let predicted = [0, 0, 1, 1, 1, 0, 0, 1];
        ConfusionMatrix::new(&labels, &predicted, 3).unwrap()
    }

    #[test]
    fn the_confusion_matrix_counts_true_rows_and_predicted_columns() {
        let m = example();
        assert_eq!(m.counts, array![[2, 1, 0], [2, 2, 0], [0, 1, 0]]);
        assert_eq!((m.correct(), m.total()), (4, 8));
        assert_eq!(m.accuracy(), Some(0.5));
        assert_eq!(m.max_off_diagonal(), 2);
        assert_eq!(m.confusions(), vec![(1, 0, 2), (0, 1, 1), (2, 1, 1)]);
    }

    #[test]
    fn per_class_figures_match_the_hand_computed_ones() {
        let c = example().per_class();
        // Class 0: 2 of 3 found (recall 2/3), 2 of 4 predictions right (precision 1/2).
        assert_eq!((c[0].support, c[0].predicted, c[0].correct), (3, 4, 2));
        assert_abs_diff_eq!(c[0].precision.unwrap(), 0.5);
        assert_abs_diff_eq!(c[0].recall.unwrap(), 2.0 / 3.0);
        // F1 = 2·(1/2)(2/3)/(1/2 + 2/3) = 4/7.
        assert_abs_diff_eq!(c[0].f1.unwrap(), 4.0 / 7.0, epsilon = 1e-12);
        // Class 1: recall 2/4, precision 2/4, F1 1/2.
        assert_abs_diff_eq!(c[1].precision.unwrap(), 0.5);
        assert_abs_diff_eq!(c[1].recall.unwrap(), 0.5);
        assert_abs_diff_eq!(c[1].f1.unwrap(), 0.5);
    }

    #[test]
    fn a_class_never_predicted_has_no_precision_and_no_f1() {
        let c = example().per_class()[2];
        assert_eq!((c.support, c.predicted, c.correct), (1, 0, 0));
        assert_eq!(c.precision, None);
        assert_eq!(c.recall, Some(0.0));
        assert_eq!(c.f1, None);
    }

    #[test]
    fn a_class_absent_from_the_set_has_no_recall() {
        // Class 1 has no images but is predicted once (wrongly): precision 0, recall none.
        let m = ConfusionMatrix::new(&[0, 0], &[0, 1], 2).unwrap();
        let c = m.per_class()[1];
        assert_eq!((c.precision, c.recall, c.f1), (Some(0.0), None, None));
    }

    #[test]
    fn precision_and_recall_both_zero_give_f1_zero() {
        // Class 0 is predicted once, wrongly, and its one image is missed.
        let m = ConfusionMatrix::new(&[0, 1], &[1, 0], 2).unwrap();
        assert_eq!(m.per_class()[0].f1, Some(0.0));
    }

    #[test]
    fn predictions_take_the_most_probable_class_and_mistakes_sort_by_confidence() {
        let p = array![
            [0.7f32, 0.2, 0.1], // 0, right
            [0.1, 0.3, 0.6],    // 2, wrong (true 1)
            [0.05, 0.9, 0.05],  // 1, wrong (true 0)
            [0.4, 0.4, 0.2],    // tie: the lower class, 0; right
        ];
        let preds = predictions(p.view()).unwrap();
        let classes: Vec<_> = preds.iter().map(|p| p.class).collect();
        assert_eq!(classes, [0, 2, 1, 0]);
        let wrong = mistakes(&[0, 1, 0, 0], &preds);
        assert_eq!(wrong.len(), 2);
        assert_eq!(
            (wrong[0].image, wrong[0].label, wrong[0].predicted),
            (2, 0, 1)
        );
        assert_eq!(wrong[0].confidence, 0.9);
        assert_eq!(wrong[1].image, 1);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let p = array![[0.5f32, 0.5], [f32::NAN, 1.0]];
        assert!(matches!(
            Analysis::new(&[0, 1], p.view()),
            Err(AnalysisError::NotFinite { image: 1 })
        ));
        assert!(matches!(
            Analysis::new(&[0], p.view()),
            Err(AnalysisError::Count { labels: 1, rows: 2 })
        ));
        let p = array![[0.5f32, 0.5]];
        let err = Analysis::new(&[2], p.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image 0 has label 2, but there are only 2 classes"
        );
        let a = Analysis::new(&[0], p.view()).unwrap();
        assert!(text_report(&a, &names(3)).is_err());
    }

    #[test]
    fn the_text_report_is_aligned_and_shows_undefined_figures_as_a_dash() {
        let p = array![
            [0.9f32, 0.1, 0.0],
            [0.8, 0.2, 0.0],
            [0.1, 0.9, 0.0],
            [0.1, 0.9, 0.0],
        ];
        let a = Analysis::new(&[0, 1, 1, 2], p.view()).unwrap();
        let names = ["zero", "one", "a long name"].map(String::from);
        let text = text_report(&a, &names).unwrap();
        assert!(text.starts_with("test accuracy: 50.00% (2/4)\n"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let header = lines.iter().position(|l| l.starts_with("class")).unwrap();
        let table = &lines[header..header + 4];
        // Every table row is as long as the header.
        for (line, name) in table[1..].iter().zip(&names) {
            assert!(line.starts_with(name.as_str()), "{text}");
            assert_eq!(width(line), width(table[0]), "{text}");
        }
        // Class 2 is never predicted: precision and F1 undefined.
        let cells: Vec<&str> = table[3].split_whitespace().collect();
        assert_eq!(cells[3..], ["1", "0", "—", "0.00%", "—"], "{text}");
        assert!(text.contains("        one → zero"), "{text}");
        // The matrix: a header and one line per class, all of one width.
        let start = lines
            .iter()
            .position(|l| l.starts_with("true \\ pred"))
            .unwrap();
        let matrix = &lines[start..];
        assert_eq!(matrix.len(), 4, "{text}");
        assert!(
            matrix.iter().all(|l| width(l) == width(matrix[0])),
            "{text}"
        );
        let counts: Vec<&str> = matrix[2].split_whitespace().collect();
        assert_eq!(counts, ["one", "1", "1", "0"], "{text}");
    }

    #[test]
    fn the_json_report_uses_null_for_undefined_figures() {
        let p = array![[0.9f32, 0.1], [0.8, 0.2]];
        let a = Analysis::new(&[0, 1], p.view()).unwrap();
        let j = json_report(&a, &names(2), 10).unwrap();
        assert_eq!(j["confusion"], json!([[1, 0], [1, 0]]));
        assert_eq!(j["per_class"][1]["precision"], Value::Null);
        assert_eq!(j["per_class"][0]["precision"], json!(0.5));
        assert_eq!(j["mistakes"][0]["image"], 1);
        assert_eq!(j["mistakes_total"], 1);
        assert_eq!(j["accuracy"], json!(0.5));
    }

    #[test]
    fn abbreviate_cuts_long_names_with_an_ellipsis() {
        assert_eq!(abbreviate("Ankle boot", 8), "Ankle b…");
        assert_eq!(abbreviate("T-shirt/top", 11), "T-shirt/top");
        assert_eq!(abbreviate("Bag", 8), "Bag");
        assert_eq!(abbreviate("ab cdefg", 4), "ab…");
    }
}
