//! Images and labels in memory, as every data set is loaded.

/// Number of classes in MNIST (digits 0–9).
pub const NUM_CLASSES: usize = 10;

/// The most classes a folder of unrecognised files may have: labels are stored as u8.
pub const MAX_CLASSES: usize = 256;

/// Greyscale images kept as u8 in memory, row-major, one image after another.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    pub rows: usize,
    pub cols: usize,
    /// `len() * rows * cols` bytes.
    pub pixels: Vec<u8>,
}

impl Images {
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }
    pub fn len(&self) -> usize {
        self.pixels
            .len()
            .checked_div(self.pixels_per_image())
            .unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The images with rows and columns swapped: what EMNIST stores column by column
    /// becomes upright.
    pub fn transposed(&self) -> Images {
        let (rows, cols) = (self.rows, self.cols);
        let mut pixels = vec![0; self.pixels.len()];
        for (from, to) in self
            .pixels
            .chunks_exact(rows * cols)
            .zip(pixels.chunks_exact_mut(rows * cols))
        {
            for r in 0..rows {
                for c in 0..cols {
                    to[c * rows + r] = from[r * cols + c];
                }
            }
        }
        Images {
            rows: cols,
            cols: rows,
            pixels,
        }
    }
}

/// Images with one label each (labels are class indices below the class count).
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledImages {
    pub images: Images,
    pub labels: Vec<u8>,
}

impl LabeledImages {
    /// The images and labels at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> LabeledImages {
        let mut pixels = Vec::with_capacity(indices.len() * self.images.pixels_per_image());
        for &i in indices {
            pixels.extend_from_slice(self.images.image(i));
        }
        LabeledImages {
            images: Images {
                rows: self.images.rows,
                cols: self.images.cols,
                pixels,
            },
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposing_swaps_rows_and_columns_of_each_image() {
        let images = Images {
            rows: 2,
            cols: 3,
            pixels: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        };
        let t = images.transposed();
        assert_eq!((t.rows, t.cols), (3, 2));
        assert_eq!(t.pixels, [1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12]);
        assert_eq!(t.transposed(), images);
    }
}
