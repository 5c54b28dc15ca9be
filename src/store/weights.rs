//! The weights file: the trained network with everything needed to use and to explain it.
//!
//! Layout: the 8 bytes `MNISTMLP`, the format version as a little-endian u32, then a bincode
//! (serde, standard configuration) payload holding the architecture, the input scaling, the
//! training configuration, the per-epoch metrics and the tensors `w1, b1, w2, b2, …`, then
//! (from version 3) the data set trained on and its class names. From version 6 the SHA-256
//! of the payload sits between the version and the payload (see `framed`).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::data::catalog::Dataset;
use crate::data::input::InputScaling;
use crate::data::source::DataInfo;
use crate::io::atomic::WriteError;
use crate::model::Classifier;
use crate::nn::mlp::{Architecture, Mlp, Params};
use crate::store::framed::{self, CHECKSUM_MISMATCH, Frame, FrameProblem, decode_whole};
use crate::train::config::TrainConfig;
use crate::train::metrics::EpochMetrics;

pub const MAGIC: [u8; 8] = *b"MNISTMLP";
/// 2: the training configuration records the optimizer and learning-rate schedule.
/// 3: the data set and its class names follow the network (version 2 files are read as
/// MNIST networks).
/// 4: the data's name follows the data set, for custom data (version 3 files without a
/// data set are read as custom data named "unrecognised").
/// 5: each epoch's metrics add the running train figures and how many training images the
/// train figures were evaluated on (older files read as `None`: not recorded).
/// 6: the SHA-256 of the payload follows the version, and is verified on load (older files
/// load unverified, with a note).
pub const FORMAT_VERSION: u32 = 6;
/// Written in the current version; read back to version 2.
const FRAME: Frame = Frame {
    magic: MAGIC,
    version: FORMAT_VERSION,
    oldest: 2,
    checksummed: 6,
};

/// The longest class name a weights file may hold, in characters: far longer than any data
/// set's (the longest known is 11), short enough for every table and picture to show.
pub const MAX_CLASS_NAME_CHARS: usize = 100;
/// The most classes a network may have: labels are bytes.
pub const MAX_CLASSES: usize = 256;

/// A trained network with its history, as stored in a weights file.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRun {
    pub classifier: Classifier,
    pub config: TrainConfig,
    pub history: Vec<EpochMetrics>,
    /// What the network was trained on, and the names of its outputs.
    pub data: DataInfo,
}

/// The payload of versions 4 to 6: a version-2 payload, then the data set. Versions 2–4
/// record each epoch as [`EpochMetricsV4`].
#[derive(Serialize, Deserialize)]
struct Payload<M = EpochMetrics> {
    network: NetworkPayload<M>,
    data: DataInfo,
}

/// The payload of version 3: the data set had no name of its own.
#[derive(Deserialize)]
struct PayloadV3 {
    network: NetworkPayload<EpochMetricsV4>,
    dataset: Option<Dataset>,
    class_names: Vec<String>,
}

/// The payload of version 2.
#[derive(Serialize, Deserialize)]
struct NetworkPayload<M = EpochMetrics> {
    architecture: Architecture,
    input_scaling: InputScaling,
    config: TrainConfig,
    history: Vec<M>,
    tensors: Vec<Tensor>,
}

/// An epoch's metrics as versions 2–4 record them: without the running train figures, nor
/// what the train figures were measured on.
#[derive(Serialize, Deserialize)]
struct EpochMetricsV4 {
    epoch: usize,
    train_loss: f64,
    train_accuracy: f64,
    test_loss: f64,
    test_accuracy: f64,
    val_loss: Option<f64>,
    val_accuracy: Option<f64>,
}

impl From<EpochMetricsV4> for EpochMetrics {
    fn from(m: EpochMetricsV4) -> Self {
        EpochMetrics {
            epoch: m.epoch,
            train_loss: m.train_loss,
            train_accuracy: m.train_accuracy,
            test_loss: m.test_loss,
            test_accuracy: m.test_accuracy,
            val_loss: m.val_loss,
            val_accuracy: m.val_accuracy,
            running_train_loss: None,
            running_train_accuracy: None,
            train_images: None,
        }
    }
}

impl NetworkPayload<EpochMetricsV4> {
    fn upgrade(self) -> NetworkPayload {
        NetworkPayload {
            architecture: self.architecture,
            input_scaling: self.input_scaling,
            config: self.config,
            history: self.history.into_iter().map(EpochMetrics::from).collect(),
            tensors: self.tensors,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Tensor {
    name: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// A weights file that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct WeightsError {
    pub path: PathBuf,
    pub problem: WeightsProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsProblem {
    #[error("cannot read the weights file: {0}")]
    Read(io::Error),
    #[error(
        "not an mnist-mlp weights file (it does not start with \"MNISTMLP\"); \
         run `mnist-mlp train` to make one"
    )]
    NotWeights,
    #[error(
        "written by a newer mnist-mlp (format version {found}, this build reads version \
         {FORMAT_VERSION}): update mnist-mlp, or re-run `mnist-mlp train`"
    )]
    Newer { found: u32 },
    #[error("format version {found} is not supported (this build reads version {FORMAT_VERSION})")]
    Unsupported { found: u32 },
    #[error("truncated or corrupt weights file ({0}); re-run `mnist-mlp train` to regenerate it")]
    Corrupt(String),
    #[error("inconsistent weights file: {0}")]
    Shape(String),
    #[error("tensor {0} holds a NaN or infinite value")]
    NonFinite(String),
    #[error("{0}; re-run `mnist-mlp train` to regenerate the file")]
    Scaling(String),
    #[error(
        "class name {index} is {chars} characters long, more than the {MAX_CLASS_NAME_CHARS} \
         a class name may have"
    )]
    ClassName { index: usize, chars: usize },
}

/// The names of layer `layer`'s (0-based) tensors: ("w1", "b1"), ("w2", "b2"), …
pub fn tensor_names(layer: usize) -> (String, String) {
    (format!("w{}", layer + 1), format!("b{}", layer + 1))
}

/// Writes the run to `path` atomically (the old file stays until the new one is complete);
/// returns the sha256 (lowercase hex) of the file written.
/// A network holding a NaN or an infinite value is refused (loading would refuse it).
pub fn save(path: &Path, run: &SavedRun) -> Result<String, WriteError> {
    let mlp = &run.classifier.mlp;
    let mut tensors = Vec::new();
    for (l, layer) in mlp.params.layers.iter().enumerate() {
        let (w_name, b_name) = tensor_names(l);
        if layer.w.iter().chain(&layer.b).any(|v| !v.is_finite()) {
            return Err(WriteError::Refused {
                path: path.to_path_buf(),
                problem: format!("{w_name} or {b_name} holds a NaN or infinite value"),
            });
        }
        tensors.push(Tensor {
            name: w_name,
            shape: layer.w.shape().to_vec(),
            data: layer.w.iter().copied().collect(),
        });
        tensors.push(Tensor {
            name: b_name,
            shape: layer.b.shape().to_vec(),
            data: layer.b.to_vec(),
        });
    }
    let payload = Payload {
        network: NetworkPayload {
            architecture: mlp.arch.clone(),
            input_scaling: run.classifier.input_scaling,
            config: run.config.clone(),
            history: run.history.clone(),
            tensors,
        },
        data: run.data.clone(),
    };
    FRAME.save(path, &payload)
}

/// Reads and checks a weights file: magic, version, and every tensor's name, shape and values.
pub fn load(path: &Path) -> Result<SavedRun, WeightsError> {
    let fail = |problem| WeightsError {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = framed::read_file(path).map_err(|e| fail(WeightsProblem::Read(e)))?;
    let run = decode(&bytes).map_err(fail)?;
    FRAME.note_if_unverified(path, "weights format", &bytes);
    Ok(run)
}

/// [`load`] on bytes already in memory.
pub fn decode(bytes: &[u8]) -> Result<SavedRun, WeightsProblem> {
    let (found, payload) = FRAME.open(bytes)?;
    let Payload { network, data } = match found {
        2 => Payload {
            network: decode_whole::<NetworkPayload<EpochMetricsV4>>(payload)?.upgrade(),
            data: DataInfo::mnist(),
        },
        3 => {
            let v3: PayloadV3 = decode_whole(payload)?;
            let name = v3.dataset.map_or("unrecognised", Dataset::name);
            Payload {
                network: v3.network.upgrade(),
                data: DataInfo {
                    dataset: v3.dataset,
                    name: name.to_string(),
                    class_names: v3.class_names,
                },
            }
        }
        4 => {
            let v4: Payload<EpochMetricsV4> = decode_whole(payload)?;
            Payload {
                network: v4.network.upgrade(),
                data: v4.data,
            }
        }
        _ => decode_whole(payload)?,
    };
    let NetworkPayload {
        architecture,
        input_scaling,
        config,
        history,
        tensors,
    } = network;
    let params = params_from_tensors(&architecture, tensors)?;
    input_scaling.check().map_err(WeightsProblem::Scaling)?;
    if let Some((index, chars)) = (data.class_names.iter())
        .map(|name| name.chars().count())
        .enumerate()
        .find(|&(_, chars)| chars > MAX_CLASS_NAME_CHARS)
    {
        return Err(WeightsProblem::ClassName { index, chars });
    }
    if data.class_names.len() != architecture.num_classes {
        return Err(WeightsProblem::Shape(format!(
            "{} class names for the {} outputs of {}",
            data.class_names.len(),
            architecture.num_classes,
            architecture.describe()
        )));
    }
    Ok(SavedRun {
        classifier: Classifier {
            mlp: Mlp {
                arch: architecture,
                params,
            },
            input_scaling,
        },
        config,
        history,
        data,
    })
}

impl From<FrameProblem> for WeightsProblem {
    fn from(problem: FrameProblem) -> Self {
        match problem {
            FrameProblem::WrongMagic => WeightsProblem::NotWeights,
            FrameProblem::Newer { found } => WeightsProblem::Newer { found },
            FrameProblem::Unsupported { found } => WeightsProblem::Unsupported { found },
            FrameProblem::Corrupt(why) => WeightsProblem::Corrupt(why),
            FrameProblem::ChecksumMismatch => WeightsProblem::Corrupt(CHECKSUM_MISMATCH.into()),
        }
    }
}

/// Checks that the stored tensors are exactly the ones `arch` needs and moves them in.
/// Everything is checked before the parameters are allocated, so an architecture that a
/// damaged file inflates is refused by the tensors' lengths (bounded by the file's) instead
/// of being allocated.
fn params_from_tensors(
    arch: &Architecture,
    tensors: Vec<Tensor>,
) -> Result<Params<f32>, WeightsProblem> {
    let shape_err = |msg: String| WeightsProblem::Shape(msg);
    if arch.input_size == 0 || arch.num_classes == 0 || arch.hidden.contains(&0) {
        return Err(shape_err(format!(
            "the architecture {} has an empty layer",
            arch.describe()
        )));
    }
    if arch.num_classes > MAX_CLASSES {
        return Err(shape_err(format!(
            "the architecture {} has {} outputs, more than the {MAX_CLASSES} classes a label \
             byte can name",
            arch.describe(),
            arch.num_classes
        )));
    }
    let expected = 2 * arch.num_layers();
    if tensors.len() != expected {
        return Err(shape_err(format!(
            "{} tensors stored, but the architecture {} needs {expected}",
            tensors.len(),
            arch.describe()
        )));
    }
    // The shape of each tensor, w1, b1, w2, …: w as fan-in × fan-out, b as fan-out.
    let shapes = arch
        .layer_sizes()
        .windows(2)
        .flat_map(|io| [vec![io[0], io[1]], vec![io[1]]])
        .collect::<Vec<_>>();
    let describe = |shape: &[usize]| {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        dims.join("x")
    };
    for (i, (tensor, needs)) in tensors.iter().zip(&shapes).enumerate() {
        let (w_name, b_name) = tensor_names(i / 2);
        let name = if i % 2 == 0 { w_name } else { b_name };
        if tensor.name != name {
            return Err(shape_err(format!(
                "tensor {} is named {:?}",
                name, tensor.name
            )));
        }
        // The shape must be exactly the architecture's (a transposed w holds as many
        // values but means another network), and the values must fill it.
        let size = needs.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if tensor.shape != *needs || Some(tensor.data.len()) != size {
            return Err(shape_err(format!(
                "{name} is {} ({} values) but the architecture {} needs {}",
                describe(&tensor.shape),
                tensor.data.len(),
                arch.describe(),
                describe(needs),
            )));
        }
        if tensor.data.iter().any(|v| !v.is_finite()) {
            return Err(WeightsProblem::NonFinite(name));
        }
    }
    let mut params = Params::<f32>::zeros(arch);
    for (slot, tensor) in params.tensors_mut().zip(tensors) {
        slot.copy_from_slice(&tensor.data);
    }
    Ok(params)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nn::layers::Activation;

    /// A small network (6-5-4-10) with standardised inputs, for tests of the file formats.
    pub(crate) fn run() -> SavedRun {
        let config = TrainConfig {
            hidden: vec![5, 4],
            ..TrainConfig::default()
        };
        let arch = config.architecture(6, 10);
        SavedRun {
            classifier: Classifier {
                mlp: Mlp::initial(arch, 3),
                input_scaling: InputScaling::Standardized {
                    mean: 0.1,
                    std: 0.3,
                },
            },
            config,
            history: vec![],
            data: DataInfo {
                dataset: None,
                name: "inverted".to_string(),
                class_names: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
                    .map(String::from)
                    .to_vec(),
            },
        }
    }

    #[test]
    fn save_then_load_is_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        let original = run();
        save(&path, &original).unwrap();
        assert_eq!(load(&path).unwrap(), original);
    }

    /// The bytes `save` writes for `run` (it saves whatever it is given, so tests can build
    /// files that loading must refuse).
    fn saved_bytes(run: &SavedRun) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        save(&path, run).unwrap();
        std::fs::read(path).unwrap()
    }

    /// The payload of the file `save` writes for `run`.
    fn saved_payload(run: &SavedRun) -> Vec<u8> {
        FRAME.open(&saved_bytes(run)).unwrap().1.to_vec()
    }

    fn problem(bytes: &[u8]) -> String {
        decode(bytes).unwrap_err().to_string()
    }

    #[test]
    fn rejects_other_files_newer_versions_and_truncation() {
        let bytes = saved_bytes(&run());
        assert!(problem(b"").contains("not an mnist-mlp weights file"));
        assert!(problem(b"\x89PNG\r\n\x1a\n....").contains("not an mnist-mlp weights file"));
        let mut newer = bytes.clone();
        newer[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert!(problem(&newer).contains("newer"));
        for cut in [10, 13, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                problem(&bytes[..cut]).contains("truncated or corrupt"),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(problem(&longer).contains(CHECKSUM_MISMATCH));
        let mut longer = saved_payload(&run());
        longer.push(0);
        let longer = FRAME.file_of(FORMAT_VERSION, &longer);
        assert!(problem(&longer).contains("unexpected bytes"));
    }

    #[test]
    fn version_5_files_load_without_a_checksum() {
        let original = run();
        let v5 = FRAME.file_of(5, &saved_payload(&original));
        assert_eq!(decode(&v5).unwrap(), original);
    }

    #[test]
    fn a_changed_bit_anywhere_after_the_header_is_refused() {
        let bytes = saved_bytes(&run());
        for at in framed::HEADER_LEN..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            assert!(
                problem(&flipped).contains(CHECKSUM_MISMATCH),
                "bit 0 of byte {at}"
            );
        }
    }

    #[test]
    fn a_huge_length_field_is_refused_before_allocating() {
        // The name "w1" (length 2) claims 2,130,706,432 bytes instead: refused by the limit
        // that the file's length sets, not allocated and then found missing.
        let payload = saved_payload(&run());
        let at = payload.windows(3).position(|w| w == b"\x02w1").unwrap();
        let mut huge = payload[..at].to_vec();
        huge.extend_from_slice(&[0xfc, 0, 0, 0, 0x7f]);
        huge.extend_from_slice(&payload[at + 1..]);
        let msg = problem(&FRAME.file_of(FORMAT_VERSION, &huge));
        assert!(msg.contains("LimitExceeded"), "{msg}");
    }

    #[test]
    fn an_inflated_architecture_is_refused_before_allocating() {
        // Found by the `weights` fuzzer: a 94-byte version-2 file whose architecture claims
        // layers so wide that allocating the parameters panicked in ndarray.
        let crash: &[u8] = &[
            0x4d, 0x4e, 0x49, 0x53, 0x54, 0x4d, 0x4c, 0x50, 0x02, 0x00, 0x00, 0x00, 0x60, 0x0e,
            0x05, 0x55, 0x55, 0x55, 0x55, 0xfd, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55,
            0x55, 0x4e, 0x49, 0x53, 0x54, 0x4d, 0x4c, 0x50, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xfe, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfa, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert!(decode(crash).is_err());
        // The same in a well-formed file: a 6-5-4-10 network recorded as 2^40 inputs wide.
        let mut inflated = run();
        inflated.classifier.mlp.arch.input_size = 1 << 40;
        let msg = problem(&saved_bytes(&inflated));
        assert!(msg.contains("w1 is 6x5 (30 values)"), "{msg}");
    }

    #[test]
    fn rejects_tensors_that_do_not_fit_the_architecture() {
        let mut other = run();
        other.classifier.mlp.params.layers[1].w = ndarray::Array2::zeros((3, 4));
        let bytes = saved_bytes(&other);
        let msg = problem(&bytes);
        assert!(
            msg.contains("w2 is 3x4") && msg.contains("6-5-4-10"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_a_w_of_the_right_size_but_another_shape() {
        // w1 of the 6-5-4-10 network is 6x5: the same 30 values in other shapes.
        for shape in [vec![5, 6], vec![1, 30], vec![30], vec![3, 2, 5]] {
            let mut payload: Payload = decode_whole(&saved_payload(&run())).unwrap();
            payload.network.tensors[0].shape = shape.clone();
            let config = crate::store::framed::bincode_config();
            let reshaped = bincode::serde::encode_to_vec(&payload, config).unwrap();
            let msg = problem(&FRAME.file_of(FORMAT_VERSION, &reshaped));
            assert!(
                msg.contains("(30 values)") && msg.contains("needs 6x5"),
                "{shape:?}: {msg}"
            );
        }
    }

    #[test]
    fn rejects_an_input_scaling_that_gives_no_finite_inputs() {
        for (mean, std) in [
            (0.1, 0.0),
            (0.1, f32::NAN),
            (0.1, f32::INFINITY),
            (0.1, -0.3),
            (0.1, 1e-45),
            (f32::INFINITY, 0.3),
            (-0.5, 0.3),
        ] {
            let mut bad = run();
            bad.classifier.input_scaling = InputScaling::Standardized { mean, std };
            let msg = problem(&saved_bytes(&bad));
            assert!(msg.contains("the input scaling's"), "{mean} {std}: {msg}");
        }
    }

    #[test]
    fn rejects_nan_weights() {
        let mut bad = run();
        bad.classifier.mlp.params.layers[0].b[2] = f32::NAN;
        // `save` refuses to write them: encode the file by hand.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        let err = save(&path, &bad).unwrap_err().to_string();
        assert!(err.contains("w1 or b1 holds a NaN"), "{err}");
        assert!(!path.exists());
        let mut marked = run();
        let good = 1234.5f32.to_le_bytes();
        marked.classifier.mlp.params.layers[0].b[2] = 1234.5;
        let mut payload = saved_payload(&marked);
        let at = payload.windows(4).position(|w| w == good).unwrap();
        payload[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        let bytes = FRAME.file_of(FORMAT_VERSION, &payload);
        assert!(problem(&bytes).contains("holds a NaN"));
    }

    #[test]
    fn version_2_files_are_read_as_mnist_networks() {
        let current = saved_payload(&run());
        let original = run();
        // A version-2 payload is the version-3 payload without the data set after it.
        let config = crate::store::framed::bincode_config();
        let data = bincode::serde::encode_to_vec(&original.data, config).unwrap();
        let v2 = FRAME.file_of(2, &current[..current.len() - data.len()]);
        let loaded = decode(&v2).unwrap();
        assert_eq!(loaded.data, DataInfo::mnist());
        assert_eq!(loaded.classifier, original.classifier);
        let v1 = FRAME.file_of(1, &current);
        assert!(problem(&v1).contains("format version 1 is not supported"));
    }

    #[test]
    fn version_3_files_name_their_data_by_the_data_set() {
        let original = run();
        let current = saved_payload(&original);
        let config = crate::store::framed::bincode_config();
        let data = bincode::serde::encode_to_vec(&original.data, config).unwrap();
        let network = &current[..current.len() - data.len()];
        for dataset in [Some(Dataset::FashionMnist), None] {
            let names = &original.data.class_names;
            let mut v3 = network.to_vec();
            v3.extend(bincode::serde::encode_to_vec((dataset, names), config).unwrap());
            let v3 = FRAME.file_of(3, &v3);
            let loaded = decode(&v3).unwrap();
            let name = dataset.map_or("unrecognised", Dataset::name);
            assert_eq!(loaded.data.dataset, dataset);
            assert_eq!(loaded.data.name, name);
            assert_eq!(&loaded.data.class_names, names);
            assert_eq!(loaded.classifier, original.classifier);
        }
    }

    #[test]
    fn version_4_files_load_without_the_running_train_figures() {
        let original = run();
        let config = crate::store::framed::bincode_config();
        let payload: Payload = decode_whole(&saved_payload(&original)).unwrap();
        let old_epoch = EpochMetricsV4 {
            epoch: 1,
            train_loss: 0.3,
            train_accuracy: 0.9,
            test_loss: 0.2,
            test_accuracy: 0.95,
            val_loss: None,
            val_accuracy: Some(0.94),
        };
        let network = NetworkPayload {
            history: vec![old_epoch],
            architecture: payload.network.architecture,
            input_scaling: payload.network.input_scaling,
            config: payload.network.config,
            tensors: payload.network.tensors,
        };
        let v4_payload = Payload {
            network,
            data: payload.data,
        };
        let v4_payload = bincode::serde::encode_to_vec(&v4_payload, config).unwrap();
        let v4 = FRAME.file_of(4, &v4_payload);
        let loaded = decode(&v4).unwrap();
        assert_eq!(loaded.classifier, original.classifier);
        assert_eq!(loaded.data, original.data);
        let epoch = loaded.history[0];
        assert_eq!((epoch.epoch, epoch.train_accuracy), (1, 0.9));
        assert_eq!((epoch.val_accuracy, epoch.test_loss), (Some(0.94), 0.2));
        assert_eq!(epoch.running_train_accuracy, None);
        assert_eq!(epoch.running_train_loss, None);
        assert_eq!(epoch.train_images, None);
        assert_eq!(epoch.train_label(), "train");
    }

    #[test]
    fn class_names_and_outputs_are_bounded() {
        let mut long = run();
        long.data.class_names[3] = "x".repeat(MAX_CLASS_NAME_CHARS);
        assert!(decode(&saved_bytes(&long)).is_ok());
        long.data.class_names[3].push('y');
        let msg = problem(&saved_bytes(&long));
        assert!(msg.contains("class name 3 is 101 characters long"), "{msg}");
        let mut many = run();
        many.classifier.mlp = Mlp::initial(many.config.architecture(6, MAX_CLASSES + 1), 3);
        many.data.class_names = vec!["c".to_string(); MAX_CLASSES + 1];
        let msg = problem(&saved_bytes(&many));
        assert!(
            msg.contains("257 outputs, more than the 256 classes"),
            "{msg}"
        );
    }

    #[test]
    fn class_names_must_match_the_outputs() {
        let mut bad = run();
        bad.data.class_names.pop();
        assert!(problem(&saved_bytes(&bad)).contains("9 class names for the 10 outputs"));
    }

    #[test]
    fn architecture_is_recorded() {
        let loaded = decode(&saved_bytes(&run())).unwrap();
        assert_eq!(loaded.classifier.mlp.arch.hidden, vec![5, 4]);
        assert_eq!(loaded.classifier.mlp.arch.activation, Activation::Relu);
    }
}
