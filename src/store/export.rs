//! Exporting a trained network for use from Python: safetensors, NumPy's .npz, or a PyTorch
//! checkpoint (.pkl, written by [`crate::store::torch`]) with the `evaluate_hw1.py` that grades
//! it ([`crate::store::python`]).
//!
//! safetensors and .npz hold the tensors `w1, b1, w2, b2, …` as f32 in row-major order, w_l[I,O] and b_l[O],
//! so that the logits are `x @ w + b` (the homework's `{'w1': w1, 'w2': w2}` convention), and
//! the same metadata ([`metadata`]): layer sizes, activation, input scaling, class names, …
//! In safetensors the metadata is the `__metadata__` string map (lists as JSON arrays); in
//! .npz each entry is one more array (unicode, int64 or float), so `numpy.load` needs no
//! pickle. The .pkl holds only the dict `{'w1': w1, 'b1': b1, …}` of torch tensors that the
//! homework asks for; the script carries what the metadata would say (activation, scaling).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

use crate::choice::Choice;
use crate::data::input::InputScaling;
use crate::io::atomic::{WriteError, write_bytes_atomically};
use crate::store::torch;
use crate::store::weights::{SavedRun, tensor_names};

pub use crate::store::python::{SCRIPT_NAME, evaluate_hw1_script};

/// The layout of the exported files (tensor names and metadata keys): raised when it
/// changes in a way a reader would notice.
pub const EXPORT_VERSION: i64 = 1;

/// A file format the network can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Safetensors,
    Npz,
    /// A PyTorch checkpoint: what `torch.save` writes for the dict of tensors.
    Pkl,
}

impl Choice for ExportFormat {
    const ALL: &'static [Self] = &[Self::Safetensors, Self::Npz, Self::Pkl];

    fn name(self) -> &'static str {
        self.extension()
    }

    fn help(self) -> Option<&'static str> {
        Some(match self {
            ExportFormat::Safetensors => {
                "safetensors (Hugging Face): `safetensors.torch.load_file`, or a few lines of Python"
            }
            ExportFormat::Npz => "NumPy's .npz: `numpy.load(path, allow_pickle=False)`",
            ExportFormat::Pkl => {
                "PyTorch's checkpoint: `torch.load(path)`; evaluate_hw1.py is written beside it"
            }
        })
    }
}

impl ExportFormat {
    /// The file extension of this format, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Safetensors => "safetensors",
            ExportFormat::Npz => "npz",
            ExportFormat::Pkl => "pkl",
        }
    }

    /// The format whose extension `path` ends in, if any (case-insensitive).
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::ALL.iter().copied().find(|f| f.extension() == ext)
    }

    /// The format to write `path` in: `requested` (from `--format`) unless the name ends in
    /// the other format's extension, else the one the extension names.
    pub fn resolve(requested: Option<Self>, path: &Path) -> Result<Self, ExportError> {
        let problem = match (requested, Self::from_path(path)) {
            (Some(format), Some(named)) if format != named => ExportProblem::Mismatch {
                format: format.extension(),
                extension: named.extension(),
            },
            (Some(format), _) | (None, Some(format)) => return Ok(format),
            (None, None) => ExportProblem::UnknownFormat,
        };
        Err(ExportError::Export {
            path: path.to_path_buf(),
            problem,
        })
    }
}

/// An export that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{}: {problem}", path.display())]
    Export {
        path: PathBuf,
        problem: ExportProblem,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What is wrong with an export (the file is named by [`ExportError`]).
#[derive(Debug, thiserror::Error)]
pub enum ExportProblem {
    #[error(
        "cannot tell the export format from the file name: give --format safetensors, npz \
         or pkl, or end the name in .safetensors, .npz or .pkl"
    )]
    UnknownFormat,
    #[error("--format {format} does not match the extension .{extension}: change one of them")]
    Mismatch {
        format: &'static str,
        extension: &'static str,
    },
    #[error("cannot encode the safetensors file: {0}")]
    Safetensors(#[from] safetensors::SafeTensorError),
    #[error("cannot sort the safetensors header: {0}")]
    Header(#[from] serde_json::Error),
    #[error("cannot encode the npz file: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("cannot encode the npz file: {0}")]
    Npy(#[from] io::Error),
    #[error("cannot encode the pkl file: {0}")]
    Pkl(zip::result::ZipError),
    #[error("evaluate_hw1.py needs a file name in UTF-8 for the .pkl")]
    ScriptName,
}

/// Writes `run`'s network to `path` in `format` atomically (no half-written file is left on
/// any error).
pub fn export(run: &SavedRun, format: ExportFormat, path: &Path) -> Result<(), ExportError> {
    let bytes = encode(run, format).map_err(|problem| ExportError::Export {
        path: path.to_path_buf(),
        problem,
    })?;
    write_bytes_atomically(path, &bytes)?;
    Ok(())
}

/// The bytes of [`export`]'s file.
pub fn encode(run: &SavedRun, format: ExportFormat) -> Result<Vec<u8>, ExportProblem> {
    let tensors = tensors(run);
    let metadata = metadata(run);
    match format {
        ExportFormat::Safetensors => safetensors_bytes(&tensors, &metadata),
        ExportFormat::Npz => npz_bytes(&tensors, &metadata),
        ExportFormat::Pkl => {
            let tensors: Vec<torch::Tensor> = tensors
                .iter()
                .map(|t| torch::Tensor {
                    name: &t.name,
                    shape: &t.shape,
                    values: t.values,
                })
                .collect();
            torch::checkpoint_bytes(&tensors).map_err(ExportProblem::Pkl)
        }
    }
}

/// Where [`write_evaluate_script`] puts the script of the pickle `pkl`: beside it.
pub fn evaluate_script_path(pkl: &Path) -> PathBuf {
    pkl.with_file_name(SCRIPT_NAME)
}

/// Writes [`evaluate_hw1_script`] for the .pkl at `pkl` beside it, as `evaluate_hw1.py`,
/// atomically; returns the script's path.
pub fn write_evaluate_script(run: &SavedRun, pkl: &Path) -> Result<PathBuf, ExportError> {
    let name = pkl
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ExportError::Export {
            path: pkl.to_path_buf(),
            problem: ExportProblem::ScriptName,
        })?;
    let script = evaluate_script_path(pkl);
    write_bytes_atomically(&script, evaluate_hw1_script(run, name).as_bytes())?;
    Ok(script)
}

/// One parameter tensor of the network, f32, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: &'a [f32],
}

impl NamedTensor<'_> {
    fn le_bytes(&self) -> Vec<u8> {
        self.values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

/// w1[I,O], b1[O], w2, b2, … of `run`'s network.
pub fn tensors(run: &SavedRun) -> Vec<NamedTensor<'_>> {
    let mut tensors = Vec::new();
    for (l, layer) in run.classifier.mlp.params.layers.iter().enumerate() {
        let (w_name, b_name) = tensor_names(l);
        let contiguous = "parameters are contiguous";
        tensors.push(NamedTensor {
            name: w_name,
            shape: layer.w.shape().to_vec(),
            values: layer.w.as_slice().expect(contiguous),
        });
        tensors.push(NamedTensor {
            name: b_name,
            shape: layer.b.shape().to_vec(),
            values: layer.b.as_slice().expect(contiguous),
        });
    }
    tensors
}

/// A metadata value. In safetensors it becomes a string (lists as JSON arrays); in .npz
/// an array: 0-d for one value, 1-d for a list, unicode (`<U…`), int64 or float.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    Text(String),
    Texts(Vec<String>),
    Int(i64),
    Ints(Vec<i64>),
    /// An f32 as the network uses it (`<f4`, and the shortest decimal that reads back as it).
    F32(f32),
    F64(f64),
}

impl MetaValue {
    /// The value as a safetensors metadata string.
    pub fn to_text(&self) -> String {
        match self {
            MetaValue::Text(s) => s.clone(),
            MetaValue::Texts(v) => serde_json::to_string(v).expect("strings serialize"),
            MetaValue::Int(i) => i.to_string(),
            MetaValue::Ints(v) => serde_json::to_string(v).expect("integers serialize"),
            MetaValue::F32(x) => x.to_string(),
            MetaValue::F64(x) => x.to_string(),
        }
    }
}

/// How the exported network computes, for a reader of the metadata.
const FORWARD: &str = "x = (pixel / 255 - input_mean) / input_std over the image's pixels \
    row by row; h = activation(h @ w_l + b_l) for each hidden layer l; \
    probabilities = softmax(h @ w_L + b_L); relu(z) = max(z, 0), \
    sigmoid(z) = 1 / (1 + exp(-z))";

/// Everything a user of the exported tensors needs besides them, in a fixed order.
pub fn metadata(run: &SavedRun) -> Vec<(&'static str, MetaValue)> {
    let arch = &run.classifier.mlp.arch;
    let (scaling, mean, std) = match run.classifier.input_scaling {
        InputScaling::UnitInterval => ("unit_interval", 0.0, 1.0),
        InputScaling::Standardized { mean, std } => ("standardized", mean, std),
    };
    let mut entries = vec![
        ("format", MetaValue::Text("mnist-mlp".into())),
        ("export_version", MetaValue::Int(EXPORT_VERSION)),
        (
            "mnist_mlp_version",
            MetaValue::Text(env!("CARGO_PKG_VERSION").into()),
        ),
        ("architecture", MetaValue::Text(arch.describe())),
        (
            "layer_sizes",
            MetaValue::Ints(arch.layer_sizes().iter().map(|&s| s as i64).collect()),
        ),
        ("activation", MetaValue::Text(arch.activation.name().into())),
        ("input_scaling", MetaValue::Text(scaling.into())),
        ("input_mean", MetaValue::F32(mean)),
        ("input_std", MetaValue::F32(std)),
        ("dataset", MetaValue::Text(run.data.describe())),
        (
            "class_names",
            MetaValue::Texts(run.data.class_names.clone()),
        ),
        ("forward", MetaValue::Text(FORWARD.into())),
        (
            "train_config",
            MetaValue::Text(serde_json::to_string(&run.config).expect("the config serializes")),
        ),
    ];
    // The weights file records the history up to the epoch whose network it holds.
    if let Some(kept) = run.history.last() {
        entries.push(("epoch", MetaValue::Int(kept.epoch as i64)));
        entries.push(("test_accuracy", MetaValue::F64(kept.test_accuracy)));
    }
    entries
}

/// The safetensors file: the tensors as F32 and the metadata as `__metadata__`.
fn safetensors_bytes(
    tensors: &[NamedTensor],
    metadata: &[(&'static str, MetaValue)],
) -> Result<Vec<u8>, ExportProblem> {
    let bytes: Vec<Vec<u8>> = tensors.iter().map(NamedTensor::le_bytes).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, data)| {
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                t.shape.clone(),
                data,
            )?;
            Ok((t.name.as_str(), view))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let info: HashMap<String, String> = metadata
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_text()))
        .collect();
    let bytes = safetensors::serialize(views, Some(info))?;
    with_sorted_header(&bytes)
}

/// The JSON header of a safetensors file, with every map in key order.
#[derive(serde::Serialize, serde::Deserialize)]
struct SortedHeader {
    #[serde(rename = "__metadata__")]
    metadata: BTreeMap<String, String>,
    #[serde(flatten)]
    tensors: BTreeMap<String, serde_json::Value>,
}

/// `bytes` (a safetensors file) with its header's keys sorted: the crate writes the metadata
/// in the random order of a `HashMap`, and equal networks should give equal files. The data
/// offsets count from the end of the header, so they stay valid; the header is padded with
/// spaces to a multiple of 8 bytes as the crate does.
fn with_sorted_header(bytes: &[u8]) -> Result<Vec<u8>, ExportProblem> {
    let (len, _) = safetensors::SafeTensors::read_metadata(bytes)?;
    let header: SortedHeader = serde_json::from_slice(&bytes[8..8 + len])?;
    let mut json = serde_json::to_vec(&header)?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut sorted = (json.len() as u64).to_le_bytes().to_vec();
    sorted.extend(json);
    sorted.extend(&bytes[8 + len..]);
    Ok(sorted)
}

/// The .npz file: a zip (stored, like `numpy.savez`) of one `NAME.npy` per tensor and per
/// metadata entry.
fn npz_bytes(
    tensors: &[NamedTensor],
    metadata: &[(&'static str, MetaValue)],
) -> Result<Vec<u8>, ExportProblem> {
    let arrays = tensors
        .iter()
        .map(|t| {
            let array = NpyArray {
                descr: "<f4".into(),
                shape: t.shape.clone(),
                data: t.le_bytes(),
            };
            (t.name.as_str(), array)
        })
        .chain(metadata.iter().map(|(key, v)| (*key, NpyArray::from(v))));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, array) in arrays {
        zip.start_file(format!("{name}.npy"), options)?;
        array.write(&mut zip)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// An array for a .npy file: its dtype descriptor, shape and little-endian data in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// NumPy's dtype string: `<f4`, `<i8`, `<U5`, …
    pub descr: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

/// The .npy magic string; version 1.0 follows it.
pub const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

impl NpyArray {
    fn scalar_or_list<T>(
        values: Vec<T>,
        list: bool,
        descr: String,
        bytes: impl Fn(&T) -> Vec<u8>,
    ) -> Self {
        NpyArray {
            descr,
            shape: if list { vec![values.len()] } else { vec![] },
            data: values.iter().flat_map(bytes).collect(),
        }
    }

    /// Unicode strings as NumPy stores them: UTF-32LE, each padded with zeros to the
    /// longest (at least 1 character, as NumPy does for empty strings).
    fn unicode(strings: &[String], list: bool) -> Self {
        let width = strings
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(1);
        let encode = |s: &String| {
            let mut units: Vec<u8> = s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
            units.resize(4 * width, 0);
            units
        };
        Self::scalar_or_list(strings.to_vec(), list, format!("<U{width}"), encode)
    }

    /// The .npy header (format version 1.0): magic, version, header length (u16 LE) and the
    /// dictionary as Python literal, padded with spaces and a final newline to a multiple of
    /// 64 bytes so that the data is aligned.
    pub fn header(&self) -> io::Result<Vec<u8>> {
        let shape = match self.shape.as_slice() {
            [n] => format!("({n},)"),
            dims => {
                let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                format!("({})", dims.join(", "))
            }
        };
        let dict = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
            self.descr
        );
        let unpadded = NPY_MAGIC.len() + 2 + 2 + dict.len() + 1;
        let len = dict.len() + 1 + unpadded.next_multiple_of(64) - unpadded;
        let len_field = u16::try_from(len)
            .map_err(|_| io::Error::other(format!("the .npy header is too long: {dict}")))?;
        let mut header = NPY_MAGIC.to_vec();
        header.extend([1, 0]);
        header.extend(len_field.to_le_bytes());
        header.extend(dict.bytes());
        header.resize(NPY_MAGIC.len() + 4 + len - 1, b' ');
        header.push(b'\n');
        Ok(header)
    }

    /// Writes the whole .npy file: header, then data.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.header()?)?;
        out.write_all(&self.data)
    }
}

impl From<&MetaValue> for NpyArray {
    fn from(value: &MetaValue) -> Self {
        let le8 = |v: &i64| v.to_le_bytes().to_vec();
        match value {
            MetaValue::Text(s) => NpyArray::unicode(std::slice::from_ref(s), false),
            MetaValue::Texts(v) => NpyArray::unicode(v, true),
            MetaValue::Int(i) => Self::scalar_or_list(vec![*i], false, "<i8".into(), le8),
            MetaValue::Ints(v) => Self::scalar_or_list(v.clone(), true, "<i8".into(), le8),
            MetaValue::F32(x) => {
                Self::scalar_or_list(vec![*x], false, "<f4".into(), |x| x.to_le_bytes().to_vec())
            }
            MetaValue::F64(x) => {
                Self::scalar_or_list(vec![*x], false, "<f8".into(), |x| x.to_le_bytes().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::train::config::TrainConfig;
    use crate::train::metrics::EpochMetrics;

    /// The weights module's test network, with MNIST's input statistics and one epoch of
    /// history.
    fn run() -> SavedRun {
        let mut run = crate::store::weights::tests::run();
        run.classifier.input_scaling = InputScaling::Standardized {
            mean: 0.1307,
            std: 0.3081,
        };
        run.history = vec![EpochMetrics {
            epoch: 7,
            train_loss: 0.1,
            train_accuracy: 0.99,
            test_loss: 0.2,
            test_accuracy: 0.9812,
            val_loss: None,
            val_accuracy: None,
            running_train_loss: None,
            running_train_accuracy: None,
            train_images: None,
        }];
        run.data = crate::data::source::DataInfo::mnist();
        run
    }

    fn encoded(run: &SavedRun, format: ExportFormat) -> Vec<u8> {
        encode(run, format).unwrap()
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    fn le_f32_bits(bytes: &[u8]) -> Vec<u32> {
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn safetensors_parses_back_with_names_shapes_values_and_metadata() {
        let run = run();
        let bytes = encoded(&run, ExportFormat::Safetensors);
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut names = file.names();
        names.sort();
        assert_eq!(names, ["b1", "b2", "b3", "w1", "w2", "w3"]);
        for (l, layer) in run.classifier.mlp.params.layers.iter().enumerate() {
            let w = file.tensor(&format!("w{}", l + 1)).unwrap();
            let b = file.tensor(&format!("b{}", l + 1)).unwrap();
            assert_eq!(
                (w.dtype(), b.dtype()),
                (safetensors::Dtype::F32, safetensors::Dtype::F32)
            );
            assert_eq!(w.shape(), layer.w.shape());
            assert_eq!(b.shape(), layer.b.shape());
            assert_eq!(le_f32_bits(w.data()), bits(layer.w.as_slice().unwrap()));
            assert_eq!(le_f32_bits(b.data()), bits(layer.b.as_slice().unwrap()));
        }
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().as_ref().unwrap();
        let get = |key: &str| meta.get(key).unwrap_or_else(|| panic!("no {key}")).as_str();
        assert_eq!(get("format"), "mnist-mlp");
        assert_eq!(get("export_version"), "1");
        assert_eq!(get("layer_sizes"), "[6,5,4,10]");
        assert_eq!(get("activation"), "relu");
        assert_eq!(get("input_scaling"), "standardized");
        assert_eq!(get("input_mean").parse::<f32>().unwrap(), 0.1307);
        assert_eq!(get("input_std").parse::<f32>().unwrap(), 0.3081);
        assert_eq!(
            get("class_names"),
            r#"["0","1","2","3","4","5","6","7","8","9"]"#
        );
        assert_eq!(get("epoch"), "7");
        assert_eq!(get("test_accuracy"), "0.9812");
        let config: TrainConfig = serde_json::from_str(get("train_config")).unwrap();
        assert_eq!(config, run.config);
    }

    /// A .npy header read independently of the writer: (descr, fortran_order, shape), after
    /// checking the magic, the version, the length field and the 64-byte alignment.
    fn parse_npy_header(bytes: &[u8]) -> (String, String, String, usize) {
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        assert_eq!(&bytes[6..8], &[1, 0], "version 1.0");
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let data_start = 10 + len;
        assert_eq!(data_start % 64, 0, "data aligned to 64 bytes");
        assert_eq!(bytes[data_start - 1], b'\n');
        let dict = std::str::from_utf8(&bytes[10..data_start])
            .unwrap()
            .trim_end();
        let field = |key: &str, end: char| {
            let start = dict.find(&format!("'{key}': ")).unwrap() + key.len() + 4;
            let rest = &dict[start..];
            rest[..rest.find(end).unwrap() + end.len_utf8()].to_string()
        };
        (
            field("descr", ',')
                .trim_end_matches(',')
                .trim_matches('\'')
                .to_string(),
            field("fortran_order", ',')
                .trim_end_matches(',')
                .to_string(),
            field("shape", ')'),
            data_start,
        )
    }

    fn npz_members(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut member = archive.by_index(i).unwrap();
                assert_eq!(member.compression(), zip::CompressionMethod::Stored);
                let mut data = Vec::new();
                member.read_to_end(&mut data).unwrap();
                (member.name().unwrap().to_string(), data)
            })
            .collect()
    }

    #[test]
    fn npz_members_are_npy_files_with_correct_headers_and_identical_data() {
        let run = run();
        let members = npz_members(&encoded(&run, ExportFormat::Npz));
        for (l, layer) in run.classifier.mlp.params.layers.iter().enumerate() {
            let (i, o) = layer.w.dim();
            for (name, shape, values) in [
                (
                    format!("w{}.npy", l + 1),
                    format!("({i}, {o})"),
                    layer.w.as_slice(),
                ),
                (
                    format!("b{}.npy", l + 1),
                    format!("({o},)"),
                    layer.b.as_slice(),
                ),
            ] {
                let npy = &members[&name];
                let (descr, fortran, parsed_shape, start) = parse_npy_header(npy);
                assert_eq!(
                    (descr.as_str(), fortran.as_str()),
                    ("<f4", "False"),
                    "{name}"
                );
                assert_eq!(parsed_shape, shape, "{name}");
                assert_eq!(le_f32_bits(&npy[start..]), bits(values.unwrap()), "{name}");
            }
        }
        let meta = |name: &str| {
            let npy = &members[&format!("{name}.npy")];
            let (descr, _, shape, start) = parse_npy_header(npy);
            (descr, shape, npy[start..].to_vec())
        };
        let sizes: Vec<u8> = [6i64, 5, 4, 10]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(meta("layer_sizes"), ("<i8".into(), "(4,)".into(), sizes));
        let relu: Vec<u8> = "relu"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        assert_eq!(meta("activation"), ("<U4".into(), "()".into(), relu));
        let (descr, shape, data) = meta("class_names");
        assert_eq!(
            (descr.as_str(), shape.as_str(), data.len()),
            ("<U1", "(10,)", 40)
        );
        assert_eq!(&data[36..], &('9' as u32).to_le_bytes());
        let mean = 0.1307f32.to_le_bytes().to_vec();
        assert_eq!(meta("input_mean"), ("<f4".into(), "()".into(), mean));
        let accuracy = 0.9812f64.to_le_bytes().to_vec();
        assert_eq!(meta("test_accuracy"), ("<f8".into(), "()".into(), accuracy));
        assert_eq!(members.len(), 6 + metadata(&run).len());
    }

    #[test]
    fn unicode_arrays_pad_every_string_to_the_longest_in_utf32() {
        let names = MetaValue::Texts(vec!["a".into(), "数字".into(), String::new()]);
        let array = NpyArray::from(&names);
        assert_eq!(
            (array.descr.as_str(), array.shape.as_slice()),
            ("<U2", &[3][..])
        );
        let chars: Vec<u32> = array
            .data
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(chars, ['a' as u32, 0, '数' as u32, '字' as u32, 0, 0]);
    }

    #[test]
    fn unit_interval_scaling_exports_mean_0_and_std_1() {
        let mut run = run();
        run.classifier.input_scaling = InputScaling::UnitInterval;
        run.history.clear();
        let meta = metadata(&run);
        let get = |key: &str| meta.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        assert_eq!(
            get("input_scaling"),
            Some(MetaValue::Text("unit_interval".into()))
        );
        assert_eq!(
            (get("input_mean"), get("input_std")),
            (Some(MetaValue::F32(0.0)), Some(MetaValue::F32(1.0)))
        );
        assert_eq!(get("test_accuracy"), None);
    }

    #[test]
    fn the_format_comes_from_the_flag_or_the_extension_and_they_must_agree() {
        use ExportFormat::{Npz, Safetensors};
        let resolve = |flag, name: &str| ExportFormat::resolve(flag, Path::new(name));
        assert_eq!(resolve(None, "out/w.npz").unwrap(), Npz);
        assert_eq!(resolve(None, "W.SafeTensors").unwrap(), Safetensors);
        assert_eq!(resolve(Some(Npz), "weights.bin").unwrap(), Npz);
        assert_eq!(
            resolve(Some(Safetensors), "w.safetensors").unwrap(),
            Safetensors
        );
        let mismatch = resolve(Some(Npz), "w.safetensors").unwrap_err().to_string();
        assert!(
            mismatch.contains("--format npz") && mismatch.contains(".safetensors"),
            "{mismatch}"
        );
        let unknown = resolve(None, "weights").unwrap_err().to_string();
        assert!(
            unknown.contains("--format") && unknown.starts_with("weights: "),
            "{unknown}"
        );
    }

    #[test]
    fn errors_name_the_file_and_leave_nothing_behind() {
        let run = run();
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, b"").unwrap();
        let inside = blocked.join("w.npz");
        let err = export(&run, ExportFormat::Npz, &inside).unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn export_writes_what_encode_returns_the_same_every_time() {
        let run = run();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        export(&run, ExportFormat::Safetensors, &path).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            encoded(&run, ExportFormat::Safetensors)
        );
    }
}
