//! The pictures of the error analysis: the confusion matrix as a heat map, and a grid of the
//! most confident mistakes. Both are laid out from the class count and the class names (up to
//! 47 classes with long names), drawn with the embedded font and written atomically as PNG.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform};

use crate::data::images::Images;
use crate::model::analysis::{ConfusionMatrix, Mistake, abbreviate};
use crate::plot::{FONT, PlotError, draw_error, font_is_registered, require_font, write_png};

const MARGIN: u32 = 16;
const MIN_WIDTH: u32 = 640;
const TITLE_FONT: f64 = 20.0;
const CAPTION_FONT: f64 = 14.0;
const AXIS_FONT: f64 = 17.0;
const TICK_FONT: f64 = 12.0;
/// Class names longer than this are abbreviated on the pictures.
const MAX_NAME_CHARS: usize = 16;

const INK: RGBColor = RGBColor(30, 30, 30);
const GREY: RGBColor = RGBColor(110, 110, 110);
const GRID: RGBColor = RGBColor(215, 215, 215);

/// Width in pixels of `text` in the embedded font at `size` (bold or not); a rough estimate
/// if the font cannot be loaded (then nothing is drawn anyway).
fn text_width(text: &str, size: f64, bold: bool) -> u32 {
    font_is_registered();
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    FontDesc::new(FontFamily::Name(FONT), size, style)
        .box_size(text)
        .map(|(w, _)| w)
        .unwrap_or((0.6 * size * text.chars().count() as f64) as u32)
}

fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal)
}

fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold)
}

fn anchored(font: FontDesc<'static>, color: &RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    font.color(color).pos(Pos::new(h, v))
}

/// `words` broken into lines at most `width` pixels wide in the caption font.
fn wrap(words: &str, width: u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in words.split_whitespace() {
        match lines.last_mut() {
            Some(line) if text_width(&format!("{line} {word}"), CAPTION_FONT, false) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// `name` abbreviated (ellipsis) to the most characters that leave it at most `width`
/// pixels wide at `size` (one character at least). The width grows with the characters
/// kept, so a binary search measures about log₂(characters) abbreviations, not each length.
fn fit(name: &str, size: f64, width: u32) -> String {
    let fits = |text: &str| text_width(text, size, false) <= width;
    let chars = name.chars().count();
    if chars <= 1 || fits(name) {
        return name.to_string();
    }
    // Abbreviated to `kept` characters the name fits (or `kept` is 1); to `cut` it does not.
    let (mut kept, mut cut) = (1, chars);
    while cut - kept > 1 {
        let middle = kept + (cut - kept) / 2;
        if fits(&abbreviate(name, middle)) {
            kept = middle;
        } else {
            cut = middle;
        }
    }
    abbreviate(name, kept)
}

/// Linear blend of two colours, t in [0, 1].
fn lerp(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Blend through evenly spaced colour stops, t in [0, 1].
fn ramp(stops: &[RGBColor], t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (t.floor() as usize).min(stops.len() - 2);
    lerp(stops[i], stops[i + 1], t - i as f64)
}

/// White text on dark cells, dark text on light ones.
fn text_on(background: RGBColor) -> RGBColor {
    let luma = 0.299 * f64::from(background.0)
        + 0.587 * f64::from(background.1)
        + 0.114 * f64::from(background.2);
    if luma < 150.0 { WHITE } else { INK }
}

/// Correct counts (the diagonal): blues by the share of the true class's images.
const BLUES: [RGBColor; 3] = [
    RGBColor(222, 235, 247),
    RGBColor(107, 174, 214),
    RGBColor(8, 48, 107),
];
/// Mistakes (off the diagonal): reds by count on a log scale from 1 to the largest mistake.
const REDS: [RGBColor; 3] = [
    RGBColor(253, 208, 162),
    RGBColor(241, 105, 19),
    RGBColor(127, 39, 4),
];

/// Position of a mistake count on the red scale: 0 for 1, 1 for the largest.
fn mistake_shade(count: usize, largest: usize) -> f64 {
    if largest <= 1 {
        1.0
    } else {
        (count as f64).ln() / (largest as f64).ln()
    }
}

/// Where everything of the heat map goes, from the class names alone.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapLayout {
    /// Side of a cell in pixels.
    pub cell: u32,
    /// Font size of the class names.
    pub label_font: f64,
    /// The names as drawn (abbreviated beyond [`MAX_NAME_CHARS`]).
    pub names: Vec<String>,
    /// Column names drawn vertically (when the longest does not fit in a cell).
    pub rotated_columns: bool,
    /// Top-left corner of the grid.
    pub grid: (u32, u32),
    /// Left edge of the colour scales.
    pub scales_x: u32,
    /// Width of the text area under the title.
    pub text_width: u32,
    pub size: (u32, u32),
}

/// Width of the area right of the grid holding the two colour scales.
const SCALES_WIDTH: u32 = 2 * (14 + 6 + 40) + 20 + 24;
/// Height of the caption, in lines.
const CAPTION_LINES: u32 = 3;

impl HeatmapLayout {
    pub fn new(names: &[String]) -> Self {
        let n = names.len().max(1) as u32;
        let cell = (720 / n).clamp(18, 64);
        let label_font = (f64::from(cell) * 0.45).clamp(11.0, 16.0);
        let names: Vec<String> = names
            .iter()
            .map(|n| abbreviate(n, MAX_NAME_CHARS))
            .collect();
        let label_width = names
            .iter()
            .map(|n| text_width(n, label_font, false))
            .max()
            .unwrap_or(0);
        let rotated_columns = label_width + 6 > cell;
        let column_labels = if rotated_columns {
            label_width + 8
        } else {
            (label_font * 1.4) as u32 + 6
        };
        let axis = (AXIS_FONT * 1.4) as u32;
        let left = MARGIN + axis + 8 + label_width + 8;
        let top =
            MARGIN + (TITLE_FONT * 1.5) as u32 + CAPTION_LINES * (CAPTION_FONT * 1.35) as u32 + 16;
        let grid = n * cell;
        let width = (left + grid + SCALES_WIDTH + MARGIN).max(MIN_WIDTH);
        let height = top + grid + 6 + column_labels + 6 + axis + MARGIN;
        HeatmapLayout {
            cell,
            label_font,
            names,
            rotated_columns,
            grid: (left, top),
            scales_x: left + grid + 24,
            text_width: width - 2 * MARGIN,
            size: (width, height),
        }
    }

    /// Font size of the counts in the cells, `None` when they would be too small to read.
    fn count_font(&self, largest: usize) -> Option<f64> {
        let digits = largest.max(1).to_string().len() as f64;
        let cell = f64::from(self.cell);
        let size = (cell * 0.3).min((cell - 6.0) / (0.62 * digits)).min(18.0);
        (size >= 9.0).then_some(size)
    }
}

/// Draws the confusion matrix as a heat map (rows: true class, columns: predicted) and writes
/// it to `path` as a PNG. The diagonal is coloured blue by the share of the row it holds (the
/// class's recall), the mistakes red by count on their own logarithmic scale, so that a
/// handful of mistakes stays visible next to a thousand correct answers. Counts are written
/// in the cells when the cells are large enough.
pub fn plot_confusion(
    path: &Path,
    matrix: &ConfusionMatrix,
    names: &[String],
    title: &str,
) -> Result<(), PlotError> {
    let classes = matrix.classes();
    if classes == 0 {
        return Err(PlotError::NoClasses { path: path.into() });
    }
    if names.len() != classes {
        return Err(PlotError::ClassNames {
            path: path.into(),
            names: names.len(),
            classes,
        });
    }
    require_font(path)?;
    let layout = HeatmapLayout::new(names);
    let (width, height) = layout.size;
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    draw_heatmap(&mut rgb, &layout, matrix, title).map_err(draw_error(path))?;
    write_png(path, layout.size, &rgb)
}

fn draw_heatmap(
    rgb: &mut [u8],
    layout: &HeatmapLayout,
    matrix: &ConfusionMatrix,
    title: &str,
) -> DrawResult<(), BitMapBackend<'static>> {
    let root = BitMapBackend::with_buffer(rgb, layout.size).into_drawing_area();
    let (gx, gy) = (layout.grid.0 as i32, layout.grid.1 as i32);
    let cell = layout.cell as i32;
    let n = matrix.classes() as i32;
    let side = n * cell;
    let largest_mistake = matrix.max_off_diagonal();
    let per_class = matrix.per_class();

    // Title and caption.
    let m = MARGIN as i32;
    let left = anchored(bold(TITLE_FONT), &INK, HPos::Left, VPos::Top);
    root.draw(&Text::new(title.to_string(), (m, m), left))?;
    let count_font = layout.count_font(*matrix.counts.iter().max().unwrap_or(&0));
    let mut caption = format!(
        "Rows: true class; columns: predicted. Diagonal (correct): blue by the share of the \
         row's images. Off the diagonal (mistakes): orange to brown by count on their own \
         log scale from 1 to {largest_mistake}, so that rare mistakes stay visible; blank: none."
    );
    if count_font.is_none() {
        caption.push_str(" The cells are too small for their counts: see the text report.");
    }
    let line_height = (CAPTION_FONT * 1.35) as i32;
    let caption_top = m + (TITLE_FONT * 1.5) as i32;
    for (i, line) in wrap(&caption, layout.text_width)
        .iter()
        .take(CAPTION_LINES as usize)
        .enumerate()
    {
        let style = anchored(font(CAPTION_FONT), &GREY, HPos::Left, VPos::Top);
        root.draw(&Text::new(
            line.clone(),
            (m, caption_top + i as i32 * line_height),
            style,
        ))?;
    }

    // Cells.
    for ((t, p), &count) in matrix.counts.indexed_iter() {
        let (x, y) = (gx + p as i32 * cell, gy + t as i32 * cell);
        let color = if t == p {
            match per_class[t].recall {
                Some(recall) => ramp(&BLUES, recall),
                None => GRID,
            }
        } else if count > 0 {
            ramp(&REDS, mistake_shade(count, largest_mistake))
        } else {
            WHITE
        };
        root.draw(&Rectangle::new(
            [(x, y), (x + cell, y + cell)],
            color.filled(),
        ))?;
        root.draw(&Rectangle::new([(x, y), (x + cell, y + cell)], GRID))?;
        if let Some(size) = count_font.filter(|_| count > 0) {
            let style = anchored(font(size), &text_on(color), HPos::Center, VPos::Center);
            let centre = (x + cell / 2, y + cell / 2);
            root.draw(&Text::new(count.to_string(), centre, style))?;
        }
    }
    root.draw(&Rectangle::new([(gx, gy), (gx + side, gy + side)], GREY))?;

    // Class names: rows right-aligned left of the grid, columns under it.
    for (i, name) in layout.names.iter().enumerate() {
        let centre = i as i32 * cell + cell / 2;
        let style = anchored(font(layout.label_font), &INK, HPos::Right, VPos::Center);
        root.draw(&Text::new(name.clone(), (gx - 8, gy + centre), style))?;
        let below = (gx + centre, gy + side + 6);
        let style = if layout.rotated_columns {
            let rotated = font(layout.label_font).transform(FontTransform::Rotate270);
            anchored(rotated, &INK, HPos::Right, VPos::Center)
        } else {
            anchored(font(layout.label_font), &INK, HPos::Center, VPos::Top)
        };
        root.draw(&Text::new(name.clone(), below, style))?;
    }

    // Axis titles.
    let (_, height) = layout.size;
    let style = anchored(bold(AXIS_FONT), &INK, HPos::Center, VPos::Bottom);
    root.draw(&Text::new(
        "predicted",
        (gx + side / 2, height as i32 - m),
        style,
    ))?;
    let rotated = bold(AXIS_FONT).transform(FontTransform::Rotate270);
    let style = anchored(rotated, &INK, HPos::Center, VPos::Top);
    root.draw(&Text::new("true", (m, gy + side / 2), style))?;

    // Colour scales.
    let bar_height = side.clamp(120, 400);
    let x = layout.scales_x as i32;
    let correct_ticks: Vec<(f64, String)> = [0.0, 0.25, 0.5, 0.75, 1.0]
        .into_iter()
        .map(|t| (t, format!("{:.0}%", 100.0 * t)))
        .collect();
    color_scale(
        &root,
        (x, gy),
        bar_height,
        "correct",
        &BLUES,
        &correct_ticks,
    )?;
    if largest_mistake > 0 {
        let mut ticks: Vec<(f64, String)> = Vec::new();
        for step in [1, 2, 5].iter().cycle().zip(0..) {
            let value = step.0 * 10usize.pow(step.1 / 3);
            if value >= largest_mistake {
                break;
            }
            ticks.push((mistake_shade(value, largest_mistake), value.to_string()));
        }
        // Keep labels apart: drop the ones too close to the top label.
        let min_gap = 20.0 / f64::from(bar_height);
        ticks.retain(|(t, _)| 1.0 - t >= min_gap);
        ticks.push((1.0, largest_mistake.to_string()));
        let x = x + 14 + 6 + 40 + 20;
        color_scale(&root, (x, gy), bar_height, "mistakes", &REDS, &ticks)?;
    }
    root.present()?;
    Ok(())
}

/// A vertical colour bar (bottom: t = 0, top: t = 1) with labelled ticks and a name above.
fn color_scale<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    (x, y): (i32, i32),
    height: i32,
    name: &str,
    stops: &[RGBColor],
    ticks: &[(f64, String)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    const BAR: i32 = 14;
    let top = y + 24;
    for row in 0..height {
        let t = 1.0 - f64::from(row) / f64::from(height - 1);
        let color = ramp(stops, t);
        root.draw(&Rectangle::new(
            [(x, top + row), (x + BAR, top + row + 1)],
            color.filled(),
        ))?;
    }
    root.draw(&Rectangle::new([(x, top), (x + BAR, top + height)], GREY))?;
    let style = anchored(font(TICK_FONT), &INK, HPos::Left, VPos::Bottom);
    root.draw(&Text::new(name.to_string(), (x, y + 12), style))?;
    for (t, label) in ticks {
        let ty = top + ((1.0 - t) * f64::from(height - 1)).round() as i32;
        root.draw(&PathElement::new(
            vec![(x + BAR, ty), (x + BAR + 4, ty)],
            INK,
        ))?;
        let style = anchored(font(TICK_FONT), &INK, HPos::Left, VPos::Center);
        root.draw(&Text::new(label.clone(), (x + BAR + 6, ty), style))?;
    }
    Ok(())
}

/// How much each digit is enlarged on the mistakes grid (nearest neighbour).
pub const MISTAKE_SCALE: u32 = 3;
const TILE_WIDTH: u32 = 168;
const TILE_FONT: f64 = 13.0;
const INDEX_FONT: f64 = 11.0;
const TILE_COLUMNS: u32 = 8;

/// Where everything of the mistakes grid goes, from the image size, the number of tiles and
/// the class names alone.
#[derive(Debug, Clone, PartialEq)]
pub struct MistakesLayout {
    pub columns: u32,
    pub rows: u32,
    /// Side of an enlarged image.
    pub image: (u32, u32),
    /// Caption lines under each image: 1 when "true X → pred Y (97%)" fits the tile for
    /// every pair of names, else 2 ("true X" / "→ pred Y (97%)").
    pub caption_lines: u32,
    pub tile: (u32, u32),
    pub top: u32,
    pub size: (u32, u32),
}

impl MistakesLayout {
    pub fn new(image: (usize, usize), tiles: usize, names: &[String]) -> Self {
        let longest = |names: &[String]| {
            names
                .iter()
                .max_by_key(|n| text_width(n, TILE_FONT, false))
                .cloned()
                .unwrap_or_default()
        };
        let name = longest(names);
        let one_line = text_width(&caption(&name, &name, 1.0), TILE_FONT, false) <= TILE_WIDTH - 8;
        let caption_lines = if one_line { 1 } else { 2 };
        let image = (
            image.1 as u32 * MISTAKE_SCALE,
            image.0 as u32 * MISTAKE_SCALE,
        );
        let tile_width = TILE_WIDTH.max(image.0 + 8);
        let line = (TILE_FONT * 1.3) as u32;
        let tile_height = image.1 + 6 + caption_lines * line + (INDEX_FONT * 1.3) as u32 + 12;
        let tiles = tiles as u32;
        let columns = tiles.clamp(1, TILE_COLUMNS);
        let rows = tiles.div_ceil(columns).max(1);
        let top = MARGIN + (TITLE_FONT * 1.5) as u32 + (CAPTION_FONT * 1.35) as u32 + 12;
        let width = (2 * MARGIN + columns * tile_width).max(MIN_WIDTH);
        MistakesLayout {
            columns,
            rows,
            image,
            caption_lines,
            tile: (tile_width, tile_height),
            top,
            size: (width, top + rows * tile_height + MARGIN),
        }
    }
}

fn caption(truth: &str, predicted: &str, confidence: f32) -> String {
    format!(
        "true {truth} → pred {predicted} ({:.0}%)",
        100.0 * confidence
    )
}

/// Draws the first `count` of `mistakes` (most confident first) as a grid of enlarged
/// images, dark ink on white, each captioned "true X → pred Y (97%)" and its image index,
/// and writes it to `path` as a PNG.
pub fn plot_mistakes(
    path: &Path,
    images: &Images,
    mistakes: &[Mistake],
    count: usize,
    names: &[String],
) -> Result<(), PlotError> {
    let shown = &mistakes[..count.min(mistakes.len())];
    for k in shown {
        if k.image >= images.len() {
            return Err(PlotError::NoSuchImage {
                path: path.into(),
                image: k.image,
                images: images.len(),
            });
        }
        let class = k.label.max(k.predicted);
        if class >= names.len() {
            return Err(PlotError::ClassNames {
                path: path.into(),
                names: names.len(),
                classes: class + 1,
            });
        }
    }
    require_font(path)?;
    let layout = MistakesLayout::new((images.rows, images.cols), shown.len(), names);
    let (width, height) = layout.size;
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    for (i, k) in shown.iter().enumerate() {
        let (x, y) = tile_origin(&layout, i);
        let x = x + (layout.tile.0 - layout.image.0) / 2;
        blit_enlarged(&mut rgb, width, images, k.image, (x, y));
    }
    draw_mistake_captions(&mut rgb, &layout, shown, mistakes.len(), names)
        .map_err(draw_error(path))?;
    write_png(path, layout.size, &rgb)
}

fn tile_origin(layout: &MistakesLayout, i: usize) -> (u32, u32) {
    let (col, row) = (i as u32 % layout.columns, i as u32 / layout.columns);
    (
        MARGIN + col * layout.tile.0,
        layout.top + row * layout.tile.1,
    )
}

/// Copies image `index`, inverted (ink dark on white) and enlarged by [`MISTAKE_SCALE`], into
/// the RGB buffer `width` pixels wide with its top-left corner at `at`.
fn blit_enlarged(rgb: &mut [u8], width: u32, images: &Images, index: usize, at: (u32, u32)) {
    let pixels = images.image(index);
    let s = MISTAKE_SCALE as usize;
    let (w, x0, y0) = (width as usize, at.0 as usize, at.1 as usize);
    for r in 0..images.rows * s {
        for c in 0..images.cols * s {
            let ink = 255 - pixels[(r / s) * images.cols + c / s];
            let offset = ((y0 + r) * w + x0 + c) * 3;
            rgb[offset..offset + 3].fill(ink);
        }
    }
}

fn draw_mistake_captions(
    rgb: &mut [u8],
    layout: &MistakesLayout,
    shown: &[Mistake],
    total: usize,
    names: &[String],
) -> DrawResult<(), BitMapBackend<'static>> {
    let root = BitMapBackend::with_buffer(rgb, layout.size).into_drawing_area();
    let m = MARGIN as i32;
    let title = if shown.is_empty() {
        "No mistakes: every image is classified correctly".to_string()
    } else {
        format!(
            "The {} most confident of {total} mistakes on the test set",
            shown.len()
        )
    };
    let style = anchored(bold(TITLE_FONT), &INK, HPos::Left, VPos::Top);
    root.draw(&Text::new(title, (m, m), style))?;
    let subtitle = "Each image: its true class → the network's answer (the probability it \
                    gave that answer); below, the image's index in the test set.";
    let style = anchored(font(CAPTION_FONT), &GREY, HPos::Left, VPos::Top);
    root.draw(&Text::new(
        subtitle,
        (m, m + (TITLE_FONT * 1.5) as i32),
        style,
    ))?;

    let line = (TILE_FONT * 1.3) as i32;
    let room = layout.tile.0 - 8;
    for (i, k) in shown.iter().enumerate() {
        let (x, y) = tile_origin(layout, i);
        let (ix, iy) = (x + (layout.tile.0 - layout.image.0) / 2, y);
        let (ix, iy) = (ix as i32, iy as i32);
        let (w, h) = (layout.image.0 as i32, layout.image.1 as i32);
        root.draw(&Rectangle::new([(ix - 1, iy - 1), (ix + w, iy + h)], GRID))?;
        let (truth, predicted) = (&names[k.label], &names[k.predicted]);
        let lines = if layout.caption_lines == 1 {
            vec![caption(truth, predicted, k.confidence)]
        } else {
            let answer = format!("({:.0}%)", 100.0 * k.confidence);
            let answer_width = text_width(&format!("→ pred  {answer}"), TILE_FONT, false);
            vec![
                format!(
                    "true {}",
                    fit(
                        truth,
                        TILE_FONT,
                        room.saturating_sub(text_width("true ", TILE_FONT, false))
                    )
                ),
                format!(
                    "→ pred {} {answer}",
                    fit(predicted, TILE_FONT, room.saturating_sub(answer_width))
                ),
            ]
        };
        let centre = (x + layout.tile.0 / 2) as i32;
        let mut ty = iy + h + 6;
        for text in lines {
            let style = anchored(font(TILE_FONT), &INK, HPos::Center, VPos::Top);
            root.draw(&Text::new(text, (centre, ty), style))?;
            ty += line;
        }
        let style = anchored(font(INDEX_FONT), &GREY, HPos::Center, VPos::Top);
        root.draw(&Text::new(format!("#{}", k.image), (centre, ty), style))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn decoded_size(path: &Path) -> (u32, u32) {
        image::image_dimensions(path).unwrap()
    }

    fn digits() -> Vec<String> {
        (0..10).map(|c| c.to_string()).collect()
    }

    #[test]
    fn fit_keeps_the_most_characters_that_fit() {
        let long = "Ankle boot ".repeat(2000);
        for width in [0, 40, 90, 300] {
            let fitted = fit(&long, TICK_FONT, width);
            let kept = fitted.chars().count();
            assert!(fitted.ends_with('…'), "{fitted}");
            if kept > 1 {
                assert!(text_width(&fitted, TICK_FONT, false) <= width, "{fitted}");
            }
            // One more character would not fit (where it would not be trimmed away).
            let longer = abbreviate(&long, kept + 1);
            if longer.chars().count() > kept {
                assert!(text_width(&longer, TICK_FONT, false) > width, "{longer}");
            }
        }
        assert_eq!(fit("Bag", TICK_FONT, 300), "Bag");
        assert_eq!(fit("Bag", TICK_FONT, 0), "…");
    }

    #[test]
    fn the_heat_map_has_the_layout_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("confusion.png");
        let mut counts = Array2::from_elem((10, 10), 1usize);
        counts.diag_mut().fill(980);
        let m = ConfusionMatrix { counts };
        plot_confusion(&path, &m, &digits(), "test").unwrap();
        assert_eq!(decoded_size(&path), HeatmapLayout::new(&digits()).size);
    }

    #[test]
    fn many_classes_make_small_cells_rotated_labels_and_no_counts() {
        let names: Vec<String> = (0..47).map(|c| format!("class number {c}")).collect();
        let layout = HeatmapLayout::new(&names);
        assert_eq!(layout.cell, 18);
        assert!(layout.rotated_columns);
        assert_eq!(layout.count_font(1000), None);
        let few = HeatmapLayout::new(&digits());
        assert!(!few.rotated_columns);
        assert!(few.count_font(1135).is_some());
    }

    #[test]
    fn forty_seven_long_names_render_at_the_layout_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c47.png");
        let names: Vec<String> = (0..47).map(|c| format!("Ankle boot number {c}")).collect();
        let mut counts = Array2::from_shape_fn((47, 47), |(t, p)| (t * 7 + p * 3) % 5);
        counts.diag_mut().fill(400);
        plot_confusion(&path, &ConfusionMatrix { counts }, &names, "47").unwrap();
        assert_eq!(decoded_size(&path), HeatmapLayout::new(&names).size);
    }

    #[test]
    fn wrong_class_names_are_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.png");
        let m = ConfusionMatrix {
            counts: Array2::zeros((3, 3)),
        };
        let err = plot_confusion(&path, &m, &digits(), "t").unwrap_err();
        assert!(err.to_string().contains("c.png"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn the_mistake_scale_runs_from_one_to_the_largest() {
        assert_eq!(mistake_shade(1, 40), 0.0);
        assert_eq!(mistake_shade(40, 40), 1.0);
        assert_eq!(mistake_shade(1, 1), 1.0);
        assert_eq!(text_on(RGBColor(8, 48, 107)), WHITE);
        assert_eq!(text_on(WHITE), INK);
    }

    #[test]
    fn the_mistakes_grid_has_the_layout_size_even_without_mistakes() {
        let dir = tempfile::tempdir().unwrap();
        let images = Images {
            rows: 28,
            cols: 28,
            pixels: (0..3 * 784).map(|i| (i % 256) as u8).collect(),
        };
        let mistakes: Vec<Mistake> = (0..3)
            .map(|image| Mistake {
                image,
                label: image,
                predicted: 9 - image,
                confidence: 0.9,
            })
            .collect();
        let path = dir.path().join("m.png");
        plot_mistakes(&path, &images, &mistakes, 48, &digits()).unwrap();
        let layout = MistakesLayout::new((28, 28), 3, &digits());
        assert_eq!(layout.caption_lines, 1);
        assert_eq!(decoded_size(&path), layout.size);
        plot_mistakes(&path, &images, &[], 48, &digits()).unwrap();
        assert_eq!(
            decoded_size(&path),
            MistakesLayout::new((28, 28), 0, &digits()).size
        );
        let bad = [Mistake {
            image: 7,
            ..mistakes[0]
        }];
        let err = plot_mistakes(&path, &images, &bad, 48, &digits()).unwrap_err();
        assert!(err.to_string().contains("image 7"), "{err}");
    }
}
