//! Data augmentation: the training images varied on the fly, differently in every epoch,
//! from a seeded stream (so a seed still gives the same weights).

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::nn::rng::SeededRng;

/// How training images are varied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Augment {
    None,
    Shift,
    Affine,
    Elastic,
    Mirror,
}

impl Choice for Augment {
    const ALL: &'static [Self] = &[
        Self::None,
        Self::Shift,
        Self::Affine,
        Self::Elastic,
        Self::Mirror,
    ];

    fn name(self) -> &'static str {
        match self {
            Augment::None => "none",
            Augment::Shift => "shift",
            Augment::Affine => "affine",
            Augment::Elastic => "elastic",
            Augment::Mirror => "mirror",
        }
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            Augment::None => "The images as they are",
            Augment::Shift => {
                "Each image moved by a random whole number of pixels, up to 2 in each direction"
            }
            Augment::Affine => {
                "Each image rotated (±12°), scaled (0.9–1.1), sheared (±0.15) and moved (±2 \
                 pixels) at random about its centre, resampled bilinearly"
            }
            Augment::Elastic => {
                "The affine transform plus an elastic distortion: a smooth random displacement \
                 field (interpolated from a 5×5 grid of displacements of about 1 pixel), after \
                 Simard et al. 2003"
            }
            Augment::Mirror => {
                "Each image mirrored left to right with probability 1/2: for images whose \
                 mirror image is of the same class, as clothes are and digits are not"
            }
        })
    }
}

impl Augment {
    /// A random transform of this kind.
    pub fn draw(self, rng: &mut SeededRng) -> Transform {
        match self {
            Augment::None => Transform::NONE,
            Augment::Shift => Transform::Shift(Shift::random(rng)),
            Augment::Affine => Transform::Affine(Affine::random(rng), Field::ZERO),
            Augment::Elastic => Transform::Affine(Affine::random(rng), Field::random(rng)),
            Augment::Mirror => match rng.below(2) {
                0 => Transform::NONE,
                _ => Transform::Mirror,
            },
        }
    }
}

/// What is done to one image before it becomes network input.
// One per sample of a mini-batch, in a reused vector: boxing the field would allocate.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    Shift(Shift),
    /// An affine map and a displacement field, both applied to where each pixel is read.
    Affine(Affine, Field),
    /// The image mirrored left to right.
    Mirror,
}

impl Transform {
    pub const NONE: Transform = Transform::Shift(Shift::NONE);

    /// out ← f(the transformed image), `f` mapping a pixel value (0–255, fractional after
    /// resampling) to an input.
    pub fn apply(
        &self,
        out: &mut [f32],
        image: &[u8],
        dims: (usize, usize),
        f: impl Fn(f32) -> f32,
    ) {
        self.for_each_pixel(image, dims, |i, p| out[i] = f(p));
    }

    /// Calls `put(i, value)` for every pixel i of the transformed image, in order: the pixel
    /// values (0–255, fractional after resampling) as they are made, for a caller that keeps
    /// only some of them.
    pub fn for_each_pixel(
        &self,
        image: &[u8],
        dims: (usize, usize),
        mut put: impl FnMut(usize, f32),
    ) {
        match self {
            Transform::Shift(shift) => {
                shift_image(image, dims, *shift, |i, p| put(i, f32::from(p)))
            }
            Transform::Affine(affine, field) => affine_image(image, dims, affine, field, put),
            Transform::Mirror => mirror_image(image, dims, |i, p| put(i, f32::from(p))),
        }
    }
}

/// An affine map from output pixel coordinates to input ones, about the image centre:
/// source = M·(target − centre) + centre − t, so that the image content moves by t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// M, row-major over (row, col) coordinates.
    pub m: [[f32; 2]; 2],
    /// t = (rows, cols) pixels the content moves by.
    pub t: [f32; 2],
}

impl Affine {
    pub const IDENTITY: Affine = Affine {
        m: [[1.0, 0.0], [0.0, 1.0]],
        t: [0.0, 0.0],
    };

    /// Rotation by up to ±12°, scale 0.9–1.1, shear up to ±0.15, translation up to ±2 pixels,
    /// each uniform. (The map is inverted from content to coordinates: sampling at
    /// (R·S·H)⁻¹ is the same family of transforms, drawn directly.)
    pub fn random(rng: &mut SeededRng) -> Self {
        let mut uniform = |half_width: f64| ((2.0 * rng.uniform() - 1.0) * half_width) as f32;
        let angle = uniform(12f64.to_radians());
        let scale = 1.0 + uniform(0.1);
        let shear = uniform(0.15);
        let t = [uniform(2.0), uniform(2.0)];
        let (sin, cos) = angle.sin_cos();
        // Rotation · shear, divided by the scale (coordinates shrink when content grows).
        let m = [
            [cos / scale, (cos * shear - sin) / scale],
            [sin / scale, (sin * shear + cos) / scale],
        ];
        Affine { m, t }
    }
}

/// A smooth displacement field over the image: displacements (rows, cols) in pixels at a
/// GRID×GRID lattice spanning the image, interpolated bilinearly in between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    pub grid: [[[f32; 2]; Field::GRID]; Field::GRID],
}

impl Field {
    pub const GRID: usize = 5;
    pub const ZERO: Field = Field {
        grid: [[[0.0; 2]; Field::GRID]; Field::GRID],
    };
    /// Standard deviation of each lattice displacement, in pixels.
    const STD: f64 = 1.0;

    pub fn random(rng: &mut SeededRng) -> Self {
        let mut field = Field::ZERO;
        for point in field.grid.iter_mut().flatten() {
            *point = [
                (Self::STD * rng.standard_normal()) as f32,
                (Self::STD * rng.standard_normal()) as f32,
            ];
        }
        field
    }

    /// Where coordinate x (of `len` along its axis) falls in the lattice: the cell's first
    /// lattice index and the fraction of the way to the next.
    fn lattice(x: usize, len: usize) -> (usize, f32) {
        let last = (Self::GRID - 1) as f32;
        let g = (x as f32 / (len as f32 - 1.0).max(1.0) * last).clamp(0.0, last);
        let cell = (g as usize).min(Self::GRID - 2);
        (cell, g - cell as f32)
    }

    /// The displacement at a point given its [`Field::lattice`] row and column positions.
    fn at(&self, (r0, fr): (usize, f32), (c0, fc): (usize, f32)) -> [f32; 2] {
        let g = &self.grid;
        let along = |k: usize| {
            let top = g[r0][c0][k] * (1.0 - fc) + g[r0][c0 + 1][k] * fc;
            let bottom = g[r0 + 1][c0][k] * (1.0 - fc) + g[r0 + 1][c0 + 1][k] * fc;
            top * (1.0 - fr) + bottom * fr
        };
        [along(0), along(1)]
    }
}

/// put(r·cols + c, bilinear sample of the image at the source of (r, c)) for every pixel in
/// order: the affine map's source, moved by the displacement field. Pixels outside the image
/// read as 0.
pub fn affine_image(
    image: &[u8],
    (rows, cols): (usize, usize),
    affine: &Affine,
    field: &Field,
    mut put: impl FnMut(usize, f32),
) {
    let (cr, cc) = ((rows as f32 - 1.0) / 2.0, (cols as f32 - 1.0) / 2.0);
    let pixel = |r: isize, c: isize| {
        if (0..rows as isize).contains(&r) && (0..cols as isize).contains(&c) {
            f32::from(image[r as usize * cols + c as usize])
        } else {
            0.0
        }
    };
    let [[a, b], [d, e]] = affine.m;
    // The lattice positions of the columns, computed once per image (28 of them for MNIST).
    let displaced = *field != Field::ZERO;
    let mut column_cells = [(0, 0.0); MAX_SIDE];
    for (c, cell) in column_cells.iter_mut().enumerate().take(cols.min(MAX_SIDE)) {
        *cell = Field::lattice(c, cols);
    }
    for r in 0..rows {
        let dr = r as f32 - cr;
        let row_cell = Field::lattice(r, rows);
        for c in 0..cols {
            let dc = c as f32 - cc;
            let [fr, fc] = match (displaced, column_cells.get(c)) {
                (false, _) => [0.0, 0.0],
                (true, Some(&column_cell)) => field.at(row_cell, column_cell),
                (true, None) => field.at(row_cell, Field::lattice(c, cols)),
            };
            let sr = a * dr + b * dc + cr - affine.t[0] + fr;
            let sc = d * dr + e * dc + cc - affine.t[1] + fc;
            let (r0, c0) = (floor(sr), floor(sc));
            let (fr, fc) = (sr - r0, sc - c0);
            let (r0, c0) = (r0 as isize, c0 as isize);
            let top = pixel(r0, c0) * (1.0 - fc) + pixel(r0, c0 + 1) * fc;
            let bottom = pixel(r0 + 1, c0) * (1.0 - fc) + pixel(r0 + 1, c0 + 1) * fc;
            put(r * cols + c, top * (1.0 - fr) + bottom * fr);
        }
    }
}

/// ⌊x⌋ for |x| < 2³¹, inline: the baseline x86-64 target has no rounding instruction, and
/// `f32::floor` is a library call there.
fn floor(x: f32) -> f32 {
    let t = x as i32 as f32; // rounds toward zero
    if t > x { t - 1.0 } else { t }
}

/// Image widths up to which the field's column positions are precomputed on the stack.
const MAX_SIDE: usize = 64;

/// A translation of one image by whole pixels: the pixel at (row, col) moves to
/// (row + dy, col + dx); what comes in from outside is background (0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shift {
    pub dx: i8,
    pub dy: i8,
}

/// The largest |dx| and |dy| of a random shift.
pub const MAX_SHIFT: i8 = 2;

impl Shift {
    pub const NONE: Shift = Shift { dx: 0, dy: 0 };

    /// Uniform over the (2·MAX_SHIFT + 1)² shifts.
    pub fn random(rng: &mut SeededRng) -> Self {
        let span = (2 * MAX_SHIFT + 1) as usize;
        let mut draw = || rng.below(span) as i8 - MAX_SHIFT;
        Shift {
            dx: draw(),
            dy: draw(),
        }
    }
}

/// put(r·cols + c, image[r·cols + (cols − 1 − c)]) for every pixel in order: the image
/// mirrored left to right.
pub fn mirror_image(image: &[u8], (rows, cols): (usize, usize), mut put: impl FnMut(usize, u8)) {
    for r in 0..rows {
        let row = &image[r * cols..][..cols];
        for (c, &p) in row.iter().rev().enumerate() {
            put(r * cols + c, p);
        }
    }
}

/// put(r·cols + c, image[(r − dy)·cols + (c − dx)]) for every pixel in order, with 0 where
/// that lies outside the image: the shifted image of `rows`×`cols` pixels.
pub fn shift_image(
    image: &[u8],
    (rows, cols): (usize, usize),
    shift: Shift,
    mut put: impl FnMut(usize, u8),
) {
    if shift == Shift::NONE {
        image.iter().enumerate().for_each(|(i, &p)| put(i, p));
        return;
    }
    let (dx, dy) = (shift.dx as isize, shift.dy as isize);
    for r in 0..rows {
        let source_row = r as isize - dy;
        let source = (0..rows as isize)
            .contains(&source_row)
            .then(|| &image[source_row as usize * cols..][..cols]);
        for c in 0..cols {
            let source_col = c as isize - dx;
            let pixel = match source {
                Some(source) if (0..cols as isize).contains(&source_col) => {
                    source[source_col as usize]
                }
                _ => 0,
            };
            put(r * cols + c, pixel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Vec<u8> {
        (1..=12).collect() // 3 rows x 4 columns
    }

    fn shifted(shift: Shift) -> Vec<u8> {
        let mut out = vec![99; 12];
        shift_image(&image(), (3, 4), shift, |i, p| out[i] = p);
        out
    }

    /// [`shifted`] as the floats that `affine_image` writes.
    fn shifted_as_floats(shift: Shift) -> Vec<f32> {
        shifted(shift).into_iter().map(f32::from).collect()
    }

    #[test]
    fn no_shift_is_the_identity() {
        assert_eq!(shifted(Shift::NONE), image());
    }

    #[test]
    fn whole_pixel_shifts_move_the_image_exactly() {
        #[rustfmt::skip]
        assert_eq!(shifted(Shift { dx: 1, dy: 0 }), vec![0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11]);
        #[rustfmt::skip]
        assert_eq!(shifted(Shift { dx: 0, dy: -1 }), vec![5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0]);
        #[rustfmt::skip]
        assert_eq!(shifted(Shift { dx: -2, dy: 1 }), vec![0, 0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0]);
    }

    #[test]
    fn every_pixel_is_put_once_in_order_with_background_from_outside() {
        for transform in [
            Transform::Shift(Shift { dx: 4, dy: 0 }),
            Transform::Affine(
                Affine {
                    t: [0.0, 9.0],
                    ..Affine::IDENTITY
                },
                Field::ZERO,
            ),
        ] {
            let mut seen = Vec::new();
            transform.for_each_pixel(&image(), (3, 4), |i, p| seen.push((i, p)));
            assert_eq!(seen, (0..12).map(|i| (i, 0.0)).collect::<Vec<_>>());
        }
    }

    /// The floats `affine_image` puts, as an image.
    fn affine_out(image: &[u8], dims: (usize, usize), affine: &Affine, field: &Field) -> Vec<f32> {
        let mut out = vec![f32::NAN; dims.0 * dims.1];
        affine_image(image, dims, affine, field, |i, v| out[i] = v);
        out
    }

    #[test]
    fn the_identity_affine_returns_the_image_unchanged() {
        let out = affine_out(&image(), (3, 4), &Affine::IDENTITY, &Field::ZERO);
        assert_eq!(
            out,
            image().iter().map(|&p| f32::from(p)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_whole_pixel_affine_translation_matches_the_shift() {
        let moved = Affine {
            t: [1.0, -2.0],
            ..Affine::IDENTITY
        };
        let out = affine_out(&image(), (3, 4), &moved, &Field::ZERO);
        assert_eq!(out, shifted_as_floats(Shift { dx: -2, dy: 1 }));
    }

    #[test]
    fn a_half_pixel_move_averages_neighbours() {
        let moved = Affine {
            t: [0.0, 0.5],
            ..Affine::IDENTITY
        };
        let out = affine_out(&image(), (3, 4), &moved, &Field::ZERO);
        assert_eq!(&out[..4], &[0.5, 1.5, 2.5, 3.5]); // (0+1)/2, (1+2)/2, …
    }

    #[test]
    fn random_affines_stay_near_the_identity_and_keep_the_ink() {
        let mut rng = SeededRng::new(3);
        let mut digit = vec![0u8; 28 * 28];
        for r in 8..20 {
            for c in 12..16 {
                digit[r * 28 + c] = 255;
            }
        }
        for _ in 0..50 {
            let affine = Affine::random(&mut rng);
            let det = affine.m[0][0] * affine.m[1][1] - affine.m[0][1] * affine.m[1][0];
            assert!((0.7..1.4).contains(&det), "{affine:?}");
            let out = affine_out(&digit, (28, 28), &affine, &Field::random(&mut rng));
            let ink: f32 = out.iter().sum();
            let original = 48.0 * 255.0;
            assert!(
                (ink / original - 1.0).abs() < 0.35,
                "ink {ink} vs {original}: {affine:?}"
            );
        }
    }

    #[test]
    fn a_constant_field_moves_the_image() {
        let mut field = Field::ZERO;
        field
            .grid
            .iter_mut()
            .flatten()
            .for_each(|p| *p = [-1.0, 0.0]); // read one row up
        let out = affine_out(&image(), (3, 4), &Affine::IDENTITY, &field);
        assert_eq!(out, shifted_as_floats(Shift { dx: 0, dy: 1 }));
    }

    #[test]
    fn random_fields_are_smooth() {
        let mut rng = SeededRng::new(9);
        for _ in 0..20 {
            let field = Field::random(&mut rng);
            for r in 0..27 {
                for c in 0..27 {
                    let at = |r, c| field.at(Field::lattice(r, 28), Field::lattice(c, 28));
                    let (here, right, below) = (at(r, c), at(r, c + 1), at(r + 1, c));
                    for k in 0..2 {
                        // Neighbouring pixels move alike: less than a pixel apart.
                        assert!(
                            (here[k] - right[k]).abs() < 1.0 && (here[k] - below[k]).abs() < 1.0
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn mirroring_reverses_each_row() {
        let mut mirrored = vec![0.0; 12];
        Transform::Mirror.apply(&mut mirrored, &image(), (3, 4), |p| p);
        #[rustfmt::skip]
        assert_eq!(mirrored, [4., 3., 2., 1., 8., 7., 6., 5., 12., 11., 10., 9.]);
    }

    #[test]
    fn mirror_augmentation_mirrors_about_half_the_images() {
        let mut rng = SeededRng::new(3);
        let draws: Vec<Transform> = (0..1000).map(|_| Augment::Mirror.draw(&mut rng)).collect();
        let mirrored = draws.iter().filter(|t| **t == Transform::Mirror).count();
        assert!((430..570).contains(&mirrored), "{mirrored} of 1000");
        assert!(
            draws
                .iter()
                .all(|t| matches!(t, Transform::Mirror) || *t == Transform::NONE)
        );
    }

    #[test]
    fn random_shifts_cover_the_range_and_follow_the_seed() {
        let draw = |seed| {
            let mut rng = SeededRng::new(seed);
            (0..500)
                .map(|_| Shift::random(&mut rng))
                .collect::<Vec<_>>()
        };
        let shifts = draw(1);
        assert_eq!(shifts, draw(1));
        assert!(
            shifts
                .iter()
                .all(|s| s.dx.abs() <= MAX_SHIFT && s.dy.abs() <= MAX_SHIFT)
        );
        for d in -MAX_SHIFT..=MAX_SHIFT {
            assert!(shifts.iter().any(|s| s.dx == d) && shifts.iter().any(|s| s.dy == d));
        }
    }
}
