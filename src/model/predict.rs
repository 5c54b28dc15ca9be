//! Classifying the user's own images: decode them, prepare them the way MNIST was prepared
//! (bright ink on black, the ink scaled into a 20×20 box, centred by its centre of mass in
//! 28×28), and report the most probable classes.

use std::io::{self, Cursor};
use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageFormat, ImageReader};
use ndarray::ArrayView1;
use serde::Serialize;

use crate::data::images::{Images, LabeledImages};
use crate::io::regular::read_regular;
use crate::model::{Classifier, MismatchError, NonFiniteOutputs};

/// How many of the most probable classes `predict` reports.
pub const TOP_CLASSES: usize = 3;
/// Side of a prepared image, as in MNIST.
pub const SIDE: usize = 28;
/// Pixels of a prepared image.
pub const PIXELS: usize = SIDE * SIDE;
/// The ink's longer side after scaling, as in MNIST (the digits were fitted in 20×20).
pub const INK_BOX: u32 = 20;
/// Where the ink's centre of mass lands (column and row index). Measured on the MNIST test
/// images: their mean centre of mass is at (14.00, 13.99).
const CENTRE: f64 = 14.0;
/// Ink is at least this bright (0–255) once the background is black and the contrast
/// stretched; fainter pixels (paper texture, compression noise) are set to black.
pub const INK_THRESHOLD: u8 = 32;
/// The least difference (0–255) between the background and the brightest ink for an image
/// to count as having any ink at all.
pub const MIN_CONTRAST: u8 = 32;

/// The most pixels an image may have: far more than a photo of a digit needs (a 12-megapixel
/// phone photo is a quarter of it), few enough that decoding stays within a few hundred MB.
pub const MAX_PIXELS: u64 = 50_000_000;
/// The longest image file read: the pixel limit at 8 bytes a pixel (16-bit RGBA, stored
/// uncompressed), and a megabyte for headers and metadata.
const MAX_FILE_LEN: u64 = 8 * MAX_PIXELS + (1 << 20);

/// An image that cannot be classified, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct ImageError {
    pub path: PathBuf,
    pub problem: ImageProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageProblem {
    #[error("cannot read the file: {0}")]
    Read(io::Error),
    #[error("unsupported image format{}; predict reads PNG, JPEG and PNM (PGM, PPM, PBM)", .0.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Unsupported(Option<String>),
    #[error("cannot decode the image: {0}")]
    Decode(image::ImageError),
    #[error(
        "the image is {width}x{height} = {} pixels, more than the {MAX_PIXELS} predict reads; \
         scale it down",
        u64::from(*width) * u64::from(*height)
    )]
    TooLarge { width: u32, height: u32 },
    #[error("the image is {width}x{height}: it has no pixels")]
    Empty { width: u32, height: u32 },
    #[error("no ink found: the image is (nearly) a single colour")]
    NoInk,
}

/// Why a set of images cannot be classified.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("the network cannot classify {SIDE}×{SIDE} images: {0}")]
    Network(#[from] MismatchError),
    #[error(transparent)]
    Outputs(#[from] NonFiniteOutputs),
    #[error("{names} class names given for a network with {classes} classes")]
    ClassNames { names: usize, classes: usize },
}

/// One class and how probable the network finds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    pub class: usize,
    pub name: String,
    pub probability: f32,
}

/// What the network makes of one image: its most probable classes, most probable first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    #[serde(serialize_with = "crate::io::paths::lossy")]
    pub path: PathBuf,
    /// The most probable class (`top[0]`).
    pub class: usize,
    pub name: String,
    pub top: Vec<ClassScore>,
}

/// The `k` most probable classes of one row of probabilities, most probable first (ties:
/// the lower class first).
pub fn top_k(probs: ArrayView1<f32>, names: &[String], k: usize) -> Vec<ClassScore> {
    let mut classes: Vec<usize> = (0..probs.len()).collect();
    classes.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    classes
        .into_iter()
        .take(k)
        .map(|class| ClassScore {
            class,
            name: names[class].clone(),
            probability: probs[class],
        })
        .collect()
}

/// Decodes, prepares and classifies the images at `paths`, giving the `k` most probable
/// classes of each (named by `names`, one per class of the network). Fails on the first
/// image that cannot be read or has no ink, before classifying any.
pub fn predict_files(
    classifier: &Classifier,
    names: &[String],
    paths: &[PathBuf],
    k: usize,
) -> Result<Vec<Prediction>, PredictError> {
    let classes = classifier.mlp.arch.num_classes;
    if names.len() != classes {
        return Err(PredictError::ClassNames {
            names: names.len(),
            classes,
        });
    }
    let mut images = Images {
        rows: SIDE,
        cols: SIDE,
        pixels: Vec::with_capacity(paths.len() * PIXELS),
    };
    let data = LabeledImages {
        images: images.clone(),
        labels: Vec::new(),
    };
    classifier.check_compatible(&data)?;
    for path in paths {
        images.pixels.extend_from_slice(&load_mnist_style(path)?);
    }
    let data = LabeledImages {
        labels: vec![0; images.len()],
        images,
    };
    let probs = classifier.probabilities(&data)?;
    Ok(paths
        .iter()
        .zip(probs.rows())
        .map(|(path, row)| {
            let top = top_k(row, names, k);
            Prediction {
                path: path.clone(),
                class: top[0].class,
                name: top[0].name.clone(),
                top,
            }
        })
        .collect())
}

/// Reads the image file at `path` (PNG, JPEG or PNM) and prepares it with
/// [`prepare_mnist_style`].
pub fn load_mnist_style(path: &Path) -> Result<[u8; PIXELS], ImageError> {
    let fail = |problem| ImageError {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = read_regular(path, MAX_FILE_LEN).map_err(|e| fail(ImageProblem::Read(e)))?;
    let image = decode(&bytes).map_err(fail)?;
    prepare_mnist_style(&image).map_err(fail)
}

/// Decodes a PNG, JPEG or PNM image from its bytes (the format is told by its content),
/// after reading its dimensions from its header: an image of more than [`MAX_PIXELS`] is
/// refused before it is decoded.
fn decode(bytes: &[u8]) -> Result<DynamicImage, ImageProblem> {
    let format = image::guess_format(bytes).map_err(|_| ImageProblem::Unsupported(None))?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Pnm
    ) {
        return Err(ImageProblem::Unsupported(Some(format!("{format:?}"))));
    }
    let reader = || ImageReader::with_format(Cursor::new(bytes), format);
    let problem = |e| match e {
        image::ImageError::Unsupported(u) => ImageProblem::Unsupported(Some(u.to_string())),
        e => ImageProblem::Decode(e),
    };
    let (width, height) = reader().into_dimensions().map_err(problem)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageProblem::TooLarge { width, height });
    }
    reader().decode().map_err(problem)
}

/// Prepares an image of any size, colour or grey, as the MNIST digits were prepared:
/// 1. greyscale (luma), with transparent parts taken as background;
/// 2. inverted if the background is light (the median of the outermost rows and columns
///    is above 127), so that the ink is bright on black; the background level becomes 0
///    and the brightest ink 255, and pixels below [`INK_THRESHOLD`] become 0;
/// 3. cropped to the ink's bounding box;
/// 4. scaled (antialiased) so that its longer side is [`INK_BOX`] pixels, keeping the
///    aspect ratio;
/// 5. pasted into a black 28×28 canvas with the ink's centre of mass at (14, 14).
///
/// Returns the 28×28 pixels row by row, or [`ImageProblem::NoInk`] if the image has no
/// ink (it is nearly a single colour).
pub fn prepare_mnist_style(image: &DynamicImage) -> Result<[u8; PIXELS], ImageProblem> {
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 {
        return Err(ImageProblem::Empty { width, height });
    }
    let grey = ink_on_black(&flatten_alpha(image))?;
    let (x, y, w, h) = ink_bounds(&grey).ok_or(ImageProblem::NoInk)?;
    let ink = imageops::crop_imm(&grey, x, y, w, h).to_image();
    let longer = w.max(h);
    let scaled_side = |side: u32| ((side * INK_BOX) as f64 / longer as f64).round().max(1.0) as u32;
    let boxed = imageops::resize(&ink, scaled_side(w), scaled_side(h), FilterType::Triangle);
    Ok(centre_by_mass(&boxed))
}

/// Luma of every pixel; where the image is (partly) transparent, composited over a backdrop
/// that contrasts with its opaque content (white under dark content, black under light), so
/// that transparency reads as background.
fn flatten_alpha(image: &DynamicImage) -> GrayImage {
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let luma_alpha = image.to_luma_alpha8();
    let (mut weighted, mut opacity) = (0.0f64, 0.0f64);
    for p in luma_alpha.pixels() {
        let alpha = p[1] as f64 / 255.0;
        weighted += alpha * p[0] as f64;
        opacity += alpha;
    }
    let content_is_dark = opacity > 0.0 && weighted / opacity < 128.0;
    let backdrop = if content_is_dark { 255.0 } else { 0.0 };
    GrayImage::from_fn(luma_alpha.width(), luma_alpha.height(), |x, y| {
        let p = luma_alpha.get_pixel(x, y);
        let alpha = p[1] as f64 / 255.0;
        image::Luma([(alpha * p[0] as f64 + (1.0 - alpha) * backdrop).round() as u8])
    })
}

/// The median of the outermost rows and columns: the background level.
fn border_median(grey: &GrayImage) -> u8 {
    let (w, h) = grey.dimensions();
    let mut border: Vec<u8> = grey
        .enumerate_pixels()
        .filter(|(x, y, _)| *x == 0 || *y == 0 || *x + 1 == w || *y + 1 == h)
        .map(|(_, _, p)| p[0])
        .collect();
    let middle = border.len() / 2;
    *border.select_nth_unstable(middle).1
}

/// The image with bright ink on a black background: inverted if the background is light,
/// stretched so that the background is 0 and the brightest ink 255, faint pixels zeroed.
fn ink_on_black(grey: &GrayImage) -> Result<GrayImage, ImageProblem> {
    let light = border_median(grey) > 127;
    let mut ink = grey.clone();
    if light {
        imageops::invert(&mut ink);
    }
    let background = border_median(&ink);
    let brightest = ink.pixels().map(|p| p[0]).max().unwrap_or(0);
    if brightest.saturating_sub(background) < MIN_CONTRAST {
        return Err(ImageProblem::NoInk);
    }
    let range = (brightest - background) as f64;
    for p in ink.pixels_mut() {
        let v = (p[0].saturating_sub(background) as f64 * 255.0 / range).round() as u8;
        p[0] = if v < INK_THRESHOLD { 0 } else { v };
    }
    Ok(ink)
}

/// The bounding box (x, y, width, height) of the non-black pixels, if any.
fn ink_bounds(ink: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for (x, y, p) in ink.enumerate_pixels() {
        if p[0] > 0 {
            let (x0, y0, x1, y1) = bounds.unwrap_or((x, y, x, y));
            bounds = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
        }
    }
    bounds.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// The ink's centre of mass (column, row), in pixel indices; `None` if it is all black.
pub fn centre_of_mass(pixels: &[u8], width: usize) -> Option<(f64, f64)> {
    let (mut sum, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (i, &v) in pixels.iter().enumerate() {
        let v = v as f64;
        sum += v;
        sx += v * (i % width) as f64;
        sy += v * (i / width) as f64;
    }
    (sum > 0.0).then(|| (sx / sum, sy / sum))
}

/// `ink` pasted into a black 28×28 canvas, shifted by whole pixels so that its centre of
/// mass is as near (14, 14) as can be; whatever falls outside is clipped.
fn centre_by_mass(ink: &GrayImage) -> [u8; PIXELS] {
    let mut canvas = [0u8; PIXELS];
    let Some((cx, cy)) = centre_of_mass(ink.as_raw(), ink.width() as usize) else {
        return canvas;
    };
    let (dx, dy) = ((CENTRE - cx).round() as i64, (CENTRE - cy).round() as i64);
    for (x, y, p) in ink.enumerate_pixels() {
        let (cx, cy) = (x as i64 + dx, y as i64 + dy);
        if (0..SIDE as i64).contains(&cx) && (0..SIDE as i64).contains(&cy) {
            canvas[cy as usize * SIDE + cx as usize] = p[0];
        }
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::input::InputScaling;
    use crate::nn::layers::Activation;
    use crate::nn::mlp::{Architecture, Mlp};
    use image::{Luma, LumaA, Rgb, RgbImage};

    /// A `width`×`height` image of `background` with `ink` wherever `on(x, y)`.
    fn drawn(
        width: u32,
        height: u32,
        background: u8,
        ink: u8,
        on: impl Fn(u32, u32) -> bool,
    ) -> GrayImage {
        GrayImage::from_fn(width, height, |x, y| {
            Luma([if on(x, y) { ink } else { background }])
        })
    }

    /// The bounding box (x, y, width, height) of the non-black pixels of a prepared image.
    fn bounds(prepared: &[u8; PIXELS]) -> (u32, u32, u32, u32) {
        let image = GrayImage::from_raw(SIDE as u32, SIDE as u32, prepared.to_vec()).unwrap();
        ink_bounds(&image).expect("some ink")
    }

    /// An "L": a vertical bar and a foot to its right; its mass is off the box's centre.
    fn ell(x: u32, y: u32) -> bool {
        let bar = (30..42).contains(&x) && (20..100).contains(&y);
        let foot = (30..80).contains(&x) && (88..100).contains(&y);
        bar || foot
    }

    #[test]
    fn a_light_background_is_inverted_so_the_ink_is_bright_on_black() {
        let dark_on_light = drawn(120, 130, 240, 20, ell);
        let prepared = prepare_mnist_style(&DynamicImage::ImageLuma8(dark_on_light)).unwrap();
        assert_eq!(prepared[0], 0, "the background is black");
        assert_eq!(prepared[PIXELS - 1], 0);
        assert_eq!(prepared.iter().max(), Some(&255), "the ink is bright");
        // The same drawing already light on dark is prepared to the same pixels.
        let light_on_dark = drawn(120, 130, 15, 235, ell);
        let direct = prepare_mnist_style(&DynamicImage::ImageLuma8(light_on_dark)).unwrap();
        assert_eq!(prepared, direct);
    }

    #[test]
    fn the_ink_is_cropped_and_its_longer_side_scaled_to_20_pixels() {
        // A 24×60 rectangle somewhere in 300×200: 20 tall and 8 wide once prepared.
        let tall = drawn(300, 200, 0, 255, |x, y| {
            (200..224).contains(&x) && (30..90).contains(&y)
        });
        let (_, _, w, h) = bounds(&prepare_mnist_style(&DynamicImage::ImageLuma8(tall)).unwrap());
        assert_eq!((w, h), (8, 20));
        // Lying down, in a small image (scaled up): 20 wide and 10 tall.
        let wide = drawn(30, 30, 0, 200, |x, y| {
            (3..13).contains(&x) && (20..25).contains(&y)
        });
        let (_, _, w, h) = bounds(&prepare_mnist_style(&DynamicImage::ImageLuma8(wide)).unwrap());
        assert_eq!((w, h), (20, 10));
    }

    #[test]
    fn the_centre_of_mass_lands_on_14_14() {
        // Drawn near a corner, with its mass far from its box's centre.
        let corner = drawn(400, 300, 255, 0, |x, y| ell(x + 20, y + 15));
        let prepared = prepare_mnist_style(&DynamicImage::ImageLuma8(corner)).unwrap();
        let (cx, cy) = centre_of_mass(&prepared, SIDE).unwrap();
        assert!(
            (cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0,
            "{cx}, {cy}"
        );
        // The box is not centred: the foot pulls the mass right and down.
        let (x, y, w, h) = bounds(&prepared);
        let (box_x, box_y) = (
            x as f64 + (w - 1) as f64 / 2.0,
            y as f64 + (h - 1) as f64 / 2.0,
        );
        assert!(
            box_x > cx + 1.0 && box_y < cy - 1.0,
            "box centre {box_x}, {box_y}"
        );
    }

    #[test]
    fn an_image_without_ink_is_an_error() {
        for level in [0, 128, 255] {
            let blank = drawn(50, 40, level, level, |_, _| false);
            let result = prepare_mnist_style(&DynamicImage::ImageLuma8(blank));
            assert!(matches!(result, Err(ImageProblem::NoInk)), "level {level}");
        }
        // Faint noise is not ink either.
        let noisy = GrayImage::from_fn(50, 40, |x, y| Luma([250 - ((x * 7 + y * 13) % 9) as u8]));
        let result = prepare_mnist_style(&DynamicImage::ImageLuma8(noisy));
        assert!(matches!(result, Err(ImageProblem::NoInk)));
        // Fully transparent is blank too.
        let clear = image::GrayAlphaImage::from_pixel(20, 20, LumaA([0, 0]));
        let result = prepare_mnist_style(&DynamicImage::ImageLumaA8(clear));
        assert!(matches!(result, Err(ImageProblem::NoInk)));
    }

    #[test]
    fn a_colour_image_is_prepared_like_its_grey_version() {
        // Dark blue ink on a pale yellow background.
        let colour = RgbImage::from_fn(120, 130, |x, y| {
            if ell(x, y) {
                Rgb([20, 30, 120])
            } else {
                Rgb([250, 240, 200])
            }
        });
        let grey = DynamicImage::ImageRgb8(colour.clone()).to_luma8();
        let from_colour = prepare_mnist_style(&DynamicImage::ImageRgb8(colour)).unwrap();
        let from_grey = prepare_mnist_style(&DynamicImage::ImageLuma8(grey)).unwrap();
        assert_eq!(from_colour, from_grey);
        assert_eq!(bounds(&from_colour).3, 20);
        assert_eq!(from_colour[0], 0);
    }

    #[test]
    fn transparency_is_background_whatever_the_colour_of_the_ink() {
        let opaque = prepare_mnist_style(&DynamicImage::ImageLuma8(drawn(120, 130, 0, 255, ell)));
        for ink in [0, 255] {
            // Transparent pixels with black colour values, as many programs write them.
            let strokes = image::GrayAlphaImage::from_fn(120, 130, |x, y| {
                if ell(x, y) {
                    LumaA([ink, 255])
                } else {
                    LumaA([0, 0])
                }
            });
            let prepared = prepare_mnist_style(&DynamicImage::ImageLumaA8(strokes));
            assert_eq!(prepared.unwrap(), *opaque.as_ref().unwrap(), "ink {ink}");
        }
    }

    #[test]
    fn top_k_is_the_most_probable_first() {
        let probs = ndarray::arr1(&[0.1f32, 0.5, 0.05, 0.3, 0.05]);
        let names: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let top = top_k(probs.view(), &names, 3);
        let classes: Vec<(usize, &str)> = top.iter().map(|s| (s.class, s.name.as_str())).collect();
        assert_eq!(classes, [(1, "b"), (3, "d"), (0, "a")]);
        assert_eq!(top[0].probability, 0.5);
        assert_eq!(top_k(probs.view(), &names, 9).len(), 5);
    }

    fn classifier(input_size: usize) -> Classifier {
        let arch = Architecture {
            input_size,
            hidden: vec![8],
            num_classes: 10,
            activation: Activation::Relu,
        };
        Classifier {
            mlp: Mlp::initial(arch, 3),
            input_scaling: InputScaling::UnitInterval,
        }
    }

    #[test]
    fn bad_files_and_networks_are_errors_that_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let missing = dir.path().join("missing.png");
        let text = write("notes.png", b"not an image at all");
        let gif = write("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
        let truncated = write("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00");
        let white = dir.path().join("white.png");
        GrayImage::from_pixel(30, 30, Luma([255]))
            .save(&white)
            .unwrap();
        for (path, expected) in [
            (&missing, "cannot read the file"),
            (&text, "unsupported image format"),
            (&gif, "unsupported image format (Gif)"),
            (&truncated, "cannot decode the image"),
            (&white, "no ink found"),
        ] {
            let err = load_mnist_style(path).unwrap_err().to_string();
            assert!(err.starts_with(&path.display().to_string()), "{err}");
            assert!(err.contains(expected), "{err}");
        }

        let digits = crate::data::catalog::Dataset::Mnist.class_names();
        let err = predict_files(&classifier(100), &digits, &[], 3).unwrap_err();
        assert!(matches!(err, PredictError::Network(_)), "{err}");
        let err = predict_files(&classifier(PIXELS), &digits[..3], &[], 3).unwrap_err();
        assert!(
            matches!(
                err,
                PredictError::ClassNames {
                    names: 3,
                    classes: 10
                }
            ),
            "{err}"
        );
        let err = predict_files(&classifier(PIXELS), &digits, &[white], 3).unwrap_err();
        assert!(err.to_string().contains("white.png: no ink found"), "{err}");
    }
}
