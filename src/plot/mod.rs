//! PNG charts of the training history, and the helpers every chart shares (the embedded
//! font, the PNG writer).
//!
//! Everything is drawn into an in-memory RGB buffer with an embedded font (DejaVu Sans), so the
//! output does not depend on the fonts installed on the machine, then encoded as PNG and written
//! atomically: a failed run never leaves a half-written picture behind.

pub mod analysis;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, ImageError};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use plotters_backend::{BackendCoord, DrawingErrorKind};

use crate::data::source::DataInfo;
use crate::io::atomic::{WriteError, write_atomically};
use crate::nn::mlp::Architecture;
use crate::train::metrics::EpochMetrics;

/// Size of the PNGs in pixels.
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 600;

/// The family name under which the embedded font is registered with plotters.
pub(crate) const FONT: &str = "DejaVu Sans";

const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180); // blue
const TEST_COLOR: RGBColor = RGBColor(214, 39, 40); // red
const VAL_COLOR: RGBColor = RGBColor(44, 160, 44); // green

/// Errors from drawing a chart, always naming the file it was meant for.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot plot {}: the training history is empty", path.display())]
    EmptyHistory { path: PathBuf },
    #[error("cannot plot {}: epoch {epoch} has a non-finite {what} value", path.display())]
    NotFinite {
        path: PathBuf,
        epoch: usize,
        what: String,
    },
    #[error("cannot plot {}: {names} class names were given for {classes} classes", path.display())]
    ClassNames {
        path: PathBuf,
        names: usize,
        classes: usize,
    },
    #[error("cannot plot {}: the confusion matrix has no classes", path.display())]
    NoClasses { path: PathBuf },
    #[error("cannot plot {}: image {image} is not in the set of {images} images", path.display())]
    NoSuchImage {
        path: PathBuf,
        image: usize,
        images: usize,
    },
    #[error("cannot plot {}: the embedded font could not be loaded", path.display())]
    Font { path: PathBuf },
    #[error("cannot draw {}: {source}", path.display())]
    Draw {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The accuracy plot's title: the network and the data it trained on.
pub fn accuracy_title(arch: &Architecture, data: &DataInfo) -> String {
    format!("mnist-mlp {} on {}", arch.describe(), data.describe())
}

/// Draws train and test accuracy (in percent) against the epoch number and writes the chart
/// to `path` as a PNG. The train curve's legend says what its figures are
/// ([`EpochMetrics::train_label`] of the last epoch). The y axis starts a little below the
/// lowest accuracy so that curves close to 100% stay apart.
pub fn plot_accuracy(path: &Path, history: &[EpochMetrics], title: &str) -> Result<(), PlotError> {
    let train_label = history
        .last()
        .map_or_else(|| "train".to_string(), EpochMetrics::train_label);
    let curve = |name, color, marker, accuracy: fn(&EpochMetrics) -> f64| Series {
        name,
        color,
        marker,
        points: history
            .iter()
            .map(|m| (m.epoch as f64, 100.0 * accuracy(m)))
            .collect(),
    };
    let mut series = vec![curve(&train_label, TRAIN_COLOR, Marker::Circle, |m| {
        m.train_accuracy
    })];
    if history.iter().all(|m| m.val_accuracy.is_some()) && !history.is_empty() {
        series.push(curve("validation", VAL_COLOR, Marker::Square, |m| {
            m.val_accuracy.unwrap_or(f64::NAN)
        }));
    }
    series.push(curve("test", TEST_COLOR, Marker::Triangle, |m| {
        m.test_accuracy
    }));
    plot_series(path, title, "epoch", "accuracy (%)", &series)
}

/// Marker shape drawn at each point of a curve, so curves differ in more than colour.
#[derive(Debug, Clone, Copy)]
enum Marker {
    Circle,
    Triangle,
    Square,
}

/// One named curve of (epoch, value) points.
struct Series<'a> {
    name: &'a str,
    color: RGBColor,
    marker: Marker,
    points: Vec<(f64, f64)>,
}

/// Draws percentage curves against integer epochs and writes the PNG atomically.
fn plot_series(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), PlotError> {
    let points = || series.iter().flat_map(|s| s.points.iter().copied());
    if points().next().is_none() {
        return Err(PlotError::EmptyHistory { path: path.into() });
    }
    for s in series {
        if let Some(&(epoch, _)) = s
            .points
            .iter()
            .find(|(x, y)| !x.is_finite() || !y.is_finite())
        {
            return Err(PlotError::NotFinite {
                path: path.into(),
                epoch: epoch as usize,
                what: s.name.to_string(),
            });
        }
    }
    require_font(path)?;

    let last_epoch = points().map(|(x, _)| x).fold(1.0, f64::max);
    let lowest = points().map(|(_, y)| y).fold(f64::INFINITY, f64::min);
    let highest = points().map(|(_, y)| y).fold(f64::NEG_INFINITY, f64::max);

    let x_axis = Axis::epochs(last_epoch);
    let y_axis = Axis::percent(lowest, highest);
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    draw(
        &mut rgb,
        title,
        (x_label, x_axis),
        (y_label, y_axis),
        series,
    )
    .map_err(draw_error(path))?;
    write_png(path, (WIDTH, HEIGHT), &rgb)
}

/// Encodes `rgb` (width × height × 3 bytes, row-major) as a PNG and writes it to `path`
/// atomically.
pub(crate) fn write_png(
    path: &Path,
    (width, height): (u32, u32),
    rgb: &[u8],
) -> Result<(), PlotError> {
    write_atomically(path, |w| {
        // The png crate's own defaults (image's encoder defaults to fast, larger files).
        PngEncoder::new_with_quality(w, CompressionType::Default, FilterType::Adaptive)
            .write_image(rgb, width, height, ExtendedColorType::Rgb8)
            .map_err(|e| match e {
                ImageError::IoError(e) => e,
                other => std::io::Error::other(other),
            })
    })?;
    Ok(())
}

/// The error for a failure while drawing the picture meant for `path`.
pub(crate) fn draw_error<E: std::error::Error + Send + Sync + 'static>(
    path: &Path,
) -> impl FnOnce(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.into(),
        source: Box::new(e),
    }
}

/// Makes sure the embedded font is registered with plotters, or says which picture could not
/// be drawn without it.
pub(crate) fn require_font(path: &Path) -> Result<(), PlotError> {
    if font_is_registered() {
        Ok(())
    } else {
        Err(PlotError::Font { path: path.into() })
    }
}

/// Registers the embedded font with plotters once per process; false if it could not be parsed.
pub(crate) fn font_is_registered() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    })
}

/// Renders the chart into `rgb` (WIDTH x HEIGHT x 3 bytes).
fn draw(
    rgb: &mut [u8],
    title: &str,
    (x_label, x_axis): (&str, Axis),
    (y_label, y_axis): (&str, Axis),
    series: &[Series],
) -> DrawResult<(), BitMapBackend<'static>> {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;

    let mut chart = ChartBuilder::on(&root)
        // (`FontDesc::style` would keep the regular glyphs; the style must be chosen on creation.)
        .caption(
            title,
            FontDesc::new(FontFamily::Name(FONT), 24.0, FontStyle::Bold),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_axis, y_axis)?;

    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&percent_label)
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05))
        .draw()?;

    // Markers shrink when there are many epochs, so that they do not merge into a band.
    let epochs_shown = chart.x_range().end - chart.x_range().start;
    let marker_size = (f64::from(WIDTH) / epochs_shown / 4.0).clamp(2.0, 4.0) as u32;
    for s in series {
        let (color, shape) = (s.color, s.marker);
        chart.draw_series(LineSeries::new(
            s.points.iter().copied(),
            color.stroke_width(2),
        ))?;
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|&p| Glyph::marker(p, shape, marker_size, color)),
            )?
            .label(s.name)
            .legend(move |(x, y)| Glyph::legend((x + 12, y), shape, color));
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .margin(12)
        .draw()?;

    root.present()?;
    Ok(())
}

/// A curve's marker at one point, optionally on a short stretch of the curve's line (which is
/// how the legend shows a curve). Plotters' composed elements cannot do the latter here: they
/// carry the backend type, which borrows our pixel buffer, and `draw_series` needs it 'static.
struct Glyph<C> {
    at: C,
    shape: Marker,
    /// Circle radius in pixels; triangles are scaled to look about as heavy.
    size: u32,
    color: RGBColor,
    /// Half the length of the line through the marker; 0 for none.
    line_half_length: i32,
}

impl<C> Glyph<C> {
    fn marker(at: C, shape: Marker, size: u32, color: RGBColor) -> Self {
        let line_half_length = 0;
        Glyph {
            at,
            shape,
            size,
            color,
            line_half_length,
        }
    }

    fn legend(at: C, shape: Marker, color: RGBColor) -> Self {
        let (size, line_half_length) = (4, 12);
        Glyph {
            at,
            shape,
            size,
            color,
            line_half_length,
        }
    }
}

impl<'a, C: 'a> PointCollection<'a, C> for &'a Glyph<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for Glyph<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut points: I,
        backend: &mut DB,
        _parent_dim: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = points.next() else {
            return Ok(());
        };
        let half = self.line_half_length;
        if half > 0 {
            backend.draw_line((x - half, y), (x + half, y), &self.color.stroke_width(2))?;
        }
        match self.shape {
            Marker::Circle => backend.draw_circle((x, y), self.size, &self.color.filled(), true),
            Marker::Triangle => {
                // Pointing up; a circumradius of 1.5 radii looks about as heavy as the circle.
                let r = 1.5 * f64::from(self.size);
                let vertex = |degrees: f64| {
                    let (sin, cos) = degrees.to_radians().sin_cos();
                    (x + (r * cos).round() as i32, y + (r * sin).round() as i32)
                };
                backend.fill_polygon([vertex(-90.0), vertex(30.0), vertex(150.0)], &self.color)
            }
            Marker::Square => {
                let half = self.size as i32;
                let (a, b) = ((x - half, y - half), (x + half, y + half));
                backend.draw_rect(a, b, &self.color.filled(), true)
            }
        }
    }
}

/// An axis on a continuous scale whose grid lines we choose ourselves: plotters' own f64 axes
/// would put ticks between whole epochs, and through rounding can drop the tick at 100%.
struct Axis {
    scale: RangedCoordf64,
    /// Labelled ticks with bold grid lines.
    ticks: Vec<f64>,
    /// Unlabelled light grid lines.
    light: Vec<f64>,
}

impl Axis {
    /// Epochs 1..=last with half an epoch (or 2% of the width) of room on both sides so the end
    /// markers are not cut by the frame, ticks at whole epochs (every one, or every 2nd, 5th,
    /// 10th, … so that there are at most 20) and no light lines.
    fn epochs(last_epoch: f64) -> Self {
        let pad = (0.02 * (last_epoch - 1.0)).max(0.5);
        let step = nice_step(last_epoch, 20.0).max(1.0);
        Axis {
            scale: ((1.0 - pad)..(last_epoch + pad)).into(),
            ticks: multiples(step, 1.0, last_epoch),
            light: Vec::new(),
        }
    }

    /// Percent, from a little below the lowest value, rounded down to a round number that
    /// suits the spread of the data, up to 100 plus a sliver so markers at 100% are not cut by
    /// the frame. The axis spans at least one percent, so curves at 97–99% stay apart.
    fn percent(lowest: f64, highest: f64) -> Self {
        let top = highest.max(100.0);
        let span = (top - lowest).max(1.0);
        let grid = 10f64.powf(span.log10().floor()) / 2.0;
        let bottom = (((lowest - 0.1 * span) / grid).floor() * grid).max(0.0);
        let top = top + 0.015 * (top - bottom);
        let step = nice_step(top - bottom, 10.0);
        // Light lines split a step of 1 or 5 into fifths and a step of 2 into quarters.
        let is_two = (step / 10f64.powf(step.log10().floor()) - 2.0).abs() < 1e-9;
        let light_step = if is_two { step / 4.0 } else { step / 5.0 };
        Axis {
            scale: (bottom..top).into(),
            ticks: multiples(step, bottom, top),
            light: multiples(light_step, bottom, top),
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.scale.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.scale.range()
    }
}

/// The smallest of 1, 2, 5 times a power of ten that divides `span` into at most `max_steps`.
fn nice_step(span: f64, max_steps: f64) -> f64 {
    let raw = span / max_steps;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// The multiples of `step` in [lo, hi], each computed as k * step so that no error accumulates.
fn multiples(step: f64, lo: f64, hi: f64) -> Vec<f64> {
    let (first, last) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A y tick label: whole percents without decimals, finer ticks with one (the axis spans at
/// least one percent, so ticks are never closer than 0.1).
fn percent_label(y: &f64) -> String {
    if (y - y.round()).abs() < 1e-6 {
        format!("{y:.0}")
    } else {
        format!("{y:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` epochs with train accuracy rising from `train.0` to `train.1`, test likewise.
    fn history(n: usize, train: (f64, f64), test: (f64, f64)) -> Vec<EpochMetrics> {
        let at = |(a, b): (f64, f64), i: usize| {
            let t = if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                1.0
            };
            // Fast rise, then flattening, like a real training run.
            a + (b - a) * (1.0 - (1.0 - t).powi(3))
        };
        (0..n)
            .map(|i| EpochMetrics {
                epoch: i + 1,
                train_loss: 0.1,
                train_accuracy: at(train, i),
                test_loss: 0.1,
                test_accuracy: at(test, i),
                val_loss: None,
                val_accuracy: None,
                running_train_loss: None,
                running_train_accuracy: None,
                train_images: None,
            })
            .collect()
    }

    fn decoded_size(path: &Path) -> (u32, u32) {
        let picture = image::open(path).unwrap();
        (picture.width(), picture.height())
    }

    #[test]
    fn writes_a_png_that_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plots/accuracy.png");
        let h = history(20, (0.95, 0.999), (0.955, 0.982));
        plot_accuracy(&path, &h, "MLP on MNIST").unwrap();
        assert_eq!(decoded_size(&path), (WIDTH, HEIGHT));
    }

    #[test]
    fn a_single_epoch_works() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.png");
        plot_accuracy(&path, &history(1, (0.9, 0.9), (0.91, 0.91)), "one").unwrap();
        assert_eq!(decoded_size(&path), (WIDTH, HEIGHT));
    }

    #[test]
    fn an_empty_history_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.png");
        let err = plot_accuracy(&path, &[], "empty").unwrap_err();
        assert!(matches!(err, PlotError::EmptyHistory { .. }), "{err:?}");
        assert!(err.to_string().contains("empty.png"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn a_non_finite_accuracy_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = history(3, (0.9, 0.95), (0.9, 0.95));
        h[1].test_accuracy = f64::NAN;
        let err = plot_accuracy(&dir.path().join("nan.png"), &h, "nan").unwrap_err();
        assert!(err.to_string().contains("epoch 2"), "{err}");
    }

    #[test]
    fn a_failed_write_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, b"x").unwrap();
        let path = blocker.join("accuracy.png");
        let err = plot_accuracy(&path, &history(5, (0.9, 0.99), (0.9, 0.98)), "t").unwrap_err();
        assert!(matches!(err, PlotError::Write(_)), "{err:?}");
        assert!(err.to_string().contains("not-a-folder"), "{err}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "stray files: {names:?}");
    }

    #[test]
    fn a_failed_write_keeps_the_previous_picture() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accuracy.png");
        plot_accuracy(&path, &history(5, (0.9, 0.99), (0.9, 0.98)), "t").unwrap();
        let before = std::fs::read(&path).unwrap();
        plot_accuracy(&path, &[], "t").unwrap_err();
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn epoch_ticks_are_whole_and_at_most_twenty() {
        assert_eq!(Axis::epochs(1.0).ticks, [1.0]);
        assert_eq!(
            Axis::epochs(20.0).ticks,
            (1..=20).map(f64::from).collect::<Vec<_>>()
        );
        let ticks = Axis::epochs(137.0).ticks;
        assert_eq!(ticks.first(), Some(&10.0));
        assert_eq!(ticks.last(), Some(&130.0));
    }

    #[test]
    fn the_percent_axis_zooms_in_on_high_accuracies_and_ends_at_100() {
        let start = |lowest, highest| Axis::percent(lowest, highest).range().start;
        assert_eq!(start(95.0, 99.9), 94.5);
        assert_eq!(start(99.05, 99.95), 98.5);
        assert_eq!(start(100.0, 100.0), 99.5);
        assert_eq!(start(10.0, 50.0), 0.0);
        assert_eq!(start(30.0, 99.0), 20.0);
        for (lowest, highest) in [(95.0, 99.9), (99.05, 99.95), (100.0, 100.0), (10.0, 50.0)] {
            let axis = Axis::percent(lowest, highest);
            let Range { start, end } = axis.range();
            assert!(
                end > 100.0 && end - 100.0 < 0.02 * (end - start),
                "{start}..{end}"
            );
            assert_eq!(axis.ticks.last().map(percent_label), Some("100".into()));
            assert!(axis.ticks.len() <= 11, "{:?}", axis.ticks);
        }
    }
}
