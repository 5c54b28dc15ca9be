//! Data augmentation: the training images varied on the fly, differently in every epoch,
//! from a seeded stream (so a seed still gives the same weights).

use serde::{Deserialize, Serialize};

use crate::rng::SeededRng;

/// How training images are varied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Augment {
    /// The images as they are.
    None,
    /// Each image moved by a random whole number of pixels, up to 2 in each direction.
    Shift,
}

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

/// out[r·cols + c] ← f(image[(r − dy)·cols + (c − dx)]), and f(0) where that lies outside
/// the image: the shifted image of `rows`×`cols` pixels, each mapped through f.
pub fn shift_image<T: Copy>(
    out: &mut [T],
    image: &[u8],
    (rows, cols): (usize, usize),
    shift: Shift,
    f: impl Fn(u8) -> T,
) {
    let background = f(0);
    if shift == Shift::NONE {
        out.iter_mut().zip(image).for_each(|(o, &p)| *o = f(p));
        return;
    }
    let (dx, dy) = (shift.dx as isize, shift.dy as isize);
    for (r, out_row) in out.chunks_exact_mut(cols).take(rows).enumerate() {
        let source_row = r as isize - dy;
        if !(0..rows as isize).contains(&source_row) {
            out_row.fill(background);
            continue;
        }
        let source = &image[source_row as usize * cols..][..cols];
        for (c, o) in out_row.iter_mut().enumerate() {
            let source_col = c as isize - dx;
            *o = if (0..cols as isize).contains(&source_col) {
                f(source[source_col as usize])
            } else {
                background
            };
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
        shift_image(&mut out, &image(), (3, 4), shift, |p| p);
        out
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
    fn the_mapping_applies_to_background_too() {
        let mut out = vec![0.0f32; 12];
        shift_image(&mut out, &image(), (3, 4), Shift { dx: 4, dy: 0 }, |p| {
            p as f32 - 0.5
        });
        assert!(out.iter().all(|&v| v == -0.5));
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
