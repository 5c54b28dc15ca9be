//! Tests of the IDX reader and writer: round trips, and every malformed file refused with a
//! message naming the file and the problem.

use super::*;
use std::fs;

fn sample_images() -> Images {
    Images {
        rows: 3,
        cols: 2,
        pixels: (0..4 * 6).map(|i| (i * 11) as u8).collect(),
    }
}

fn raw_images_file(count: u32, rows: u32, cols: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 8, 3];
    for d in [count, rows, cols] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes `bytes` to a file in a fresh temporary folder and returns both.
fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.idx");
    fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn images_error(bytes: &[u8]) -> String {
    let (_dir, path) = file_with(bytes);
    let err = read_idx_images(&path).unwrap_err().to_string();
    assert!(
        err.contains("data.idx"),
        "message does not name the file: {err}"
    );
    err
}

#[test]
fn images_round_trip_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let images = sample_images();
    for gz in [false, true] {
        // The name never decides the format: the raw file carries a .gz name.
        let path = dir.path().join(if gz { "images" } else { "images.gz" });
        write_idx_images(&path, &images, gz).unwrap();
        assert_eq!(fs::read(&path).unwrap().starts_with(&GZIP_MAGIC), gz);
        assert_eq!(read_idx_images(&path).unwrap(), images);
    }
}

#[test]
fn labels_round_trip_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let labels = vec![0, 9, 3, 3, 7];
    for gz in [false, true] {
        let path = dir.path().join(format!("labels-{gz}"));
        write_idx_labels(&path, &labels, gz).unwrap();
        assert_eq!(read_idx_labels(&path, 10).unwrap(), labels);
    }
}

#[test]
fn empty_sets_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    write_idx_labels(&path, &[], true).unwrap();
    assert!(read_idx_labels(&path, 10).unwrap().is_empty());
}

#[test]
fn raw_file_layout_is_big_endian_idx() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("images");
    write_idx_images(&path, &sample_images(), false).unwrap();
    let expected = raw_images_file(4, 3, 2, &sample_images().pixels);
    assert_eq!(fs::read(&path).unwrap(), expected);
}

#[test]
fn writer_refuses_ragged_images() {
    let dir = tempfile::tempdir().unwrap();
    let ragged = Images {
        rows: 2,
        cols: 2,
        pixels: vec![1; 5],
    };
    let err = write_idx_images(&dir.path().join("x"), &ragged, false).unwrap_err();
    assert!(err.to_string().contains("whole images"), "{err}");
}

#[test]
fn wrong_magic() {
    let mut bytes = raw_images_file(1, 1, 1, &[0]);
    bytes[3] = 1;
    let err = images_error(&bytes);
    assert!(
        err.contains("not an IDX image file (magic 0x00000801, expected 2051)"),
        "{err}"
    );
    let err = images_error(b"<html><body>Not Found</body></html>");
    assert!(
        err.contains("not an IDX image file (magic 0x3c68746d"),
        "{err}"
    );
}

#[test]
fn labels_file_rejects_image_magic() {
    let (_dir, path) = file_with(&raw_images_file(1, 1, 1, &[0]));
    let err = read_idx_labels(&path, 10).unwrap_err().to_string();
    assert!(err.contains("not an IDX label file"), "{err}");
    assert!(err.contains("expected 2049"), "{err}");
}

#[test]
fn wrong_type_code() {
    let mut bytes = raw_images_file(1, 1, 1, &[0; 4]);
    bytes[2] = 0x0d; // float
    let err = images_error(&bytes);
    assert!(err.contains("data type 0x0d"), "{err}");
}

#[test]
fn labels_of_every_type_and_rows_of_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    // Each type's big-endian encoding of 3, 0, 7.
    let cases: [(ElementType, Vec<u8>); 6] = [
        (ElementType::U8, vec![3, 0, 7]),
        (ElementType::I8, vec![3, 0, 7]),
        (ElementType::I16, vec![0, 3, 0, 0, 0, 7]),
        (
            ElementType::I32,
            [3i32, 0, 7].iter().flat_map(|v| v.to_be_bytes()).collect(),
        ),
        (
            ElementType::F32,
            [3f32, 0., 7.]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
        ),
        (
            ElementType::F64,
            [3f64, 0., 7.]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
        ),
    ];
    for (element, payload) in cases {
        write_idx_array(&path, element, &[3], &payload, true).unwrap();
        assert_eq!(
            read_idx_label_values(&path).unwrap(),
            [3, 0, 7],
            "{element:?}"
        );
    }
    // QMNIST: rows of 8 i32 values per image, the class first.
    let rows: Vec<u8> = [[4i32, 9, 1, 2, 3, 4, 5, 6], [8, 9, 1, 2, 3, 4, 5, 6]]
        .iter()
        .flatten()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    write_idx_array(&path, ElementType::I32, &[2, 8], &rows, false).unwrap();
    assert_eq!(read_idx_label_values(&path).unwrap(), [4, 8]);
    assert_eq!(read_idx_labels(&path, 10).unwrap(), [4, 8]);
}

#[test]
fn labels_numbered_from_one_become_class_indices() {
    let path = Path::new("letters");
    assert_eq!(class_indices(path, &[1, 26, 3], 1, 26).unwrap(), [0, 25, 2]);
    let err = class_indices(path, &[1, 0], 1, 26).unwrap_err().to_string();
    assert!(
        err.contains("label 0 at index 1 is out of range for 26 classes numbered from 1"),
        "{err}"
    );
}

#[test]
fn fractional_and_unknown_typed_labels_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels");
    write_idx_array(&path, ElementType::F32, &[1], &2.5f32.to_be_bytes(), false).unwrap();
    let err = read_idx_labels(&path, 10).unwrap_err().to_string();
    assert!(
        err.contains("label 2.5 at index 0 is not a whole number"),
        "{err}"
    );
    fs::write(&path, [0, 0, 0x0a, 1, 0, 0, 0, 1, 5]).unwrap();
    let err = read_idx_labels(&path, 10).unwrap_err().to_string();
    assert!(err.contains("data type 0x0a; labels may be"), "{err}");
    write_idx_array(&path, ElementType::I32, &[2, 0], &[], false).unwrap();
    let err = read_idx_labels(&path, 10).unwrap_err().to_string();
    assert!(
        err.contains("label rows of 0 values have no label"),
        "{err}"
    );
}

#[test]
fn a_label_header_of_i32_is_sized_by_its_type() {
    // 2 labels of 4 bytes each, but only 5 bytes of payload: truncated, said in bytes.
    let (_dir, path) = file_with(&[0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0]);
    let err = read_idx_labels(&path, 10).unwrap_err().to_string();
    assert!(
        err.contains("header says 2 labels = 8 bytes, file has 5"),
        "{err}"
    );
}

#[test]
fn zero_rows() {
    let err = images_error(&raw_images_file(1, 0, 28, &[]));
    assert!(err.contains("images of 0x28"), "{err}");
}

#[test]
fn truncated_raw() {
    let err = images_error(&raw_images_file(60000, 28, 28, &[0; 1234]));
    assert!(
        err.contains(
            "truncated: header says 60000 images of 28x28 = 47040000 bytes, file has 1234"
        ),
        "{err}"
    );
}

#[test]
fn truncated_header() {
    let err = images_error(&raw_images_file(1, 1, 1, &[])[..10]);
    assert!(err.contains("ends inside its header"), "{err}");
    let err = images_error(&[0, 0]);
    assert!(err.contains("ends inside its header"), "{err}");
}

#[test]
fn truncated_gzip() {
    let gz = gzip(&raw_images_file(10, 28, 28, &[7; 7840]));
    let err = images_error(&gz[..gz.len() / 2]);
    assert!(err.contains("cannot decompress"), "{err}");
}

#[test]
fn gzip_with_short_content() {
    let err = images_error(&gzip(&raw_images_file(10, 28, 28, &[7; 100])));
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("file has 100"), "{err}");
}

#[test]
fn corrupt_gzip() {
    let payload: Vec<u8> = (0..7840u32).map(|i| (i * i % 251) as u8).collect();
    let good = gzip(&raw_images_file(10, 28, 28, &payload));
    // A wrong CRC in the trailer.
    let mut gz = good.clone();
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    let err = images_error(&gz);
    assert!(err.contains("cannot decompress"), "{err}");
    // Garbled deflate data: depending on the damage, a decoding error or wrong lengths.
    let mut gz = good;
    let middle = gz.len() / 2;
    for byte in &mut gz[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    let err = images_error(&gz);
    assert!(err.contains("damaged"), "{err}");
}

#[test]
fn garbage_after_gzip_stream() {
    let mut gz = gzip(&raw_images_file(1, 1, 1, &[5]));
    gz.extend_from_slice(b"garbage");
    let err = images_error(&gz);
    assert!(err.contains("cannot decompress"), "{err}");
}

#[test]
fn trailing_bytes_raw_and_gzip() {
    let bytes = raw_images_file(1, 2, 2, &[1, 2, 3, 4, 5]);
    let err = images_error(&bytes);
    assert!(
        err.contains("unexpected data after the 1 images of 2x2"),
        "{err}"
    );
    let err = images_error(&gzip(&bytes));
    assert!(err.contains("unexpected data after"), "{err}");
}

#[test]
fn label_out_of_range() {
    let (_dir, path) = file_with(&[]);
    write_idx_labels(&path, &[1, 2, 3, 4, 5, 12, 0], true).unwrap();
    let err = read_idx_labels(&path, 10).unwrap_err().to_string();
    assert!(
        err.contains("label 12 at index 5 is out of range for 10 classes"),
        "{err}"
    );
}

#[test]
fn header_too_large_for_the_file() {
    // 4 billion images, raw: refused from the file length, before any allocation.
    let err = images_error(&raw_images_file(4_000_000_000, 28, 28, &[0; 16]));
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("4000000000 images of 28x28"), "{err}");
    // The same header, gzip: more than a small gzip file can ever decompress to.
    let err = images_error(&gzip(&raw_images_file(4_000_000_000, 28, 28, &[0; 16])));
    assert!(err.contains("more than a gzip file of"), "{err}");
    // A product that overflows.
    let err = images_error(&raw_images_file(u32::MAX, u32::MAX, u32::MAX, &[]));
    assert!(err.contains("more data than can be addressed"), "{err}");
}

#[test]
fn empty_file() {
    let err = images_error(&[]);
    assert!(err.contains("is empty"), "{err}");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.idx");
    let err = read_idx_labels(&path, 10).unwrap_err().to_string();
    assert!(
        err.contains("cannot open") && err.contains("absent.idx"),
        "{err}"
    );
}

#[test]
fn directory_instead_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_idx_images(dir.path()).unwrap_err().to_string();
    assert!(err.contains("folder, not a file"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
}

#[test]
fn content_digests_are_those_of_the_files_written_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let images = sample_images();
    let labels = vec![0, 9, 3, 3];
    for gz in [false, true] {
        let (images_path, labels_path) = (dir.path().join("i"), dir.path().join("l"));
        write_idx_images(&images_path, &images, gz).unwrap();
        write_idx_labels(&labels_path, &labels, gz).unwrap();
        let content = |path: &Path| {
            let (reader, _) = content_reader(File::open(path).unwrap()).unwrap();
            crate::io::digest::hex_digest::<sha2::Sha256>(reader).unwrap()
        };
        assert_eq!(images_content_sha256(&images), Some(content(&images_path)));
        assert_eq!(labels_content_sha256(&labels), Some(content(&labels_path)));
    }
    let mut other = images.clone();
    other.pixels[0] ^= 1;
    assert_ne!(
        images_content_sha256(&other),
        images_content_sha256(&images)
    );
}
