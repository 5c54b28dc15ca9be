//! The weights as a PyTorch checkpoint: the file `torch.save({'w1': w1, 'b1': b1, …}, path)`
//! writes, made without Python, so that `torch.load(path)` opens it with its default
//! `weights_only=True`.
//!
//! The format follows torch/serialization.py (`_save`) and the C++ `PyTorchStreamWriter`
//! (caffe2/serialize/inline_container.cc) of PyTorch 2.x: a zip, every record stored
//! uncompressed under one folder (`archive/`, the name torch gives an archive written to a
//! buffer) and its data aligned to 64 bytes (torch pads the local header's extra field, id
//! `FB`; the zip crate pads with the same id, its padding bytes differ). The records, in
//! torch's order:
//!
//! ```text
//! archive/data.pkl            the pickle (protocol 2) of the dict, see below
//! archive/.format_version     "1": the storages are numbered in the order they were met
//! archive/.storage_alignment  "64"
//! archive/byteorder           "little"
//! archive/data/0, data/1, …   each tensor's storage: its f32 values, little-endian, C order
//! archive/version             "3\n", written last by the C++ writer
//! ```
//!
//! torch's writer also adds `archive/.data/serialization_id`, a hash of the records that
//! `torch.load` does not read; it is left out, so equal networks give equal files.
//!
//! data.pkl is the pickle of `{'w1': tensor, 'b1': tensor, …}` as Python's pickler writes it
//! at protocol 2 (opcodes, memo and all): each tensor is
//! `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`, the
//! storage a persistent id `('storage', torch.FloatStorage, key, 'cpu', numel)` that names
//! the record `data/<key>`. Every opcode used is one the `weights_only` unpickler accepts.

use std::io::{Cursor, Write};

/// A tensor to save: its name in the dict, its shape, and its f32 values in C order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tensor<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub values: &'a [f32],
}

/// The folder every record is in.
pub const ARCHIVE: &str = "archive";

/// The alignment of each record's data in the zip, as torch's writer aligns it.
pub const ALIGNMENT: u16 = 64;

/// The id of the extra field torch pads the local headers with: "FB", little-endian.
const PADDING_FIELD_ID: u16 = u16::from_le_bytes(*b"FB");

/// The file format version torch's writer records for `torch.save` (its minimum produced).
pub const FILE_FORMAT_VERSION: &str = "3\n";

/// The names of the records in the order they are written, without the `archive/` folder.
pub fn record_names(tensor_count: usize) -> Vec<String> {
    let mut names: Vec<String> = [
        "data.pkl",
        ".format_version",
        ".storage_alignment",
        "byteorder",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend((0..tensor_count).map(|key| format!("data/{key}")));
    names.push("version".into());
    names
}

/// The checkpoint file of `tensors` (in order: `w1, b1, w2, b2, …`).
pub fn checkpoint_bytes(tensors: &[Tensor]) -> Result<Vec<u8>, zip::result::ZipError> {
    let storages = tensors.iter().map(|t| {
        t.values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    });
    let mut records: Vec<Vec<u8>> = vec![
        data_pkl(tensors),
        b"1".to_vec(),
        ALIGNMENT.to_string().into_bytes(),
        b"little".to_vec(),
    ];
    records.extend(storages);
    records.push(FILE_FORMAT_VERSION.as_bytes().to_vec());

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .with_alignment_and_header_id(ALIGNMENT, PADDING_FIELD_ID);
    for (name, data) in record_names(tensors.len()).iter().zip(&records) {
        zip.start_file(format!("{ARCHIVE}/{name}"), options)?;
        zip.write_all(data)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The pickle opcodes used (pickletools' names), all accepted by torch's `weights_only`
/// unpickler.
mod op {
    pub const PROTO: u8 = 0x80;
    pub const STOP: u8 = b'.';
    pub const MARK: u8 = b'(';
    pub const EMPTY_DICT: u8 = b'}';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const SETITEMS: u8 = b'u';
    pub const TUPLE: u8 = b't';
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWFALSE: u8 = 0x89;
    pub const GLOBAL: u8 = b'c';
    pub const REDUCE: u8 = b'R';
    pub const BINPERSID: u8 = b'Q';
    pub const BINUNICODE: u8 = b'X';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
}

/// Objects that Python's pickler writes once and then fetches from its memo, because the
/// same Python object recurs: the interned strings 'storage' and 'cpu' and the globals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shared {
    Storage,
    Cpu,
    RebuildTensor,
    FloatStorage,
    OrderedDict,
}

/// A protocol-2 pickle being written, with Python's memo numbering.
struct Pickle {
    out: Vec<u8>,
    memo_len: u32,
    shared: Vec<(Shared, u32)>,
}

impl Pickle {
    fn new() -> Self {
        Pickle {
            out: vec![op::PROTO, 2],
            memo_len: 0,
            shared: Vec::new(),
        }
    }

    /// Stores the object on top of the stack in the next memo slot (BINPUT).
    fn put(&mut self) -> u32 {
        let index = self.memo_len;
        match u8::try_from(index) {
            Ok(i) => self.out.extend([op::BINPUT, i]),
            Err(_) => {
                self.out.push(op::LONG_BINPUT);
                self.out.extend(index.to_le_bytes());
            }
        }
        self.memo_len += 1;
        index
    }

    fn get(&mut self, index: u32) {
        match u8::try_from(index) {
            Ok(i) => self.out.extend([op::BINGET, i]),
            Err(_) => {
                self.out.push(op::LONG_BINGET);
                self.out.extend(index.to_le_bytes());
            }
        }
    }

    /// A new str object (memoized, as Python does).
    fn str(&mut self, s: &str) {
        self.out.push(op::BINUNICODE);
        self.out
            .extend(u32::try_from(s.len()).expect("short names").to_le_bytes());
        self.out.extend(s.as_bytes());
        self.put();
    }

    /// A non-negative int, in the shortest form Python picks (ints are not memoized).
    fn int(&mut self, v: usize) {
        if let Ok(v) = u8::try_from(v) {
            self.out.extend([op::BININT1, v]);
        } else if let Ok(v) = u16::try_from(v) {
            self.out.push(op::BININT2);
            self.out.extend(v.to_le_bytes());
        } else {
            let v = i32::try_from(v).expect("tensor sizes fit in an i32");
            self.out.push(op::BININT);
            self.out.extend(v.to_le_bytes());
        }
    }

    /// A tuple of ints: TUPLE1..3 for up to three items, else MARK … TUPLE; memoized.
    fn int_tuple(&mut self, items: &[usize]) {
        let mark = items.len() > 3;
        if mark {
            self.out.push(op::MARK);
        }
        for &v in items {
            self.int(v);
        }
        self.out.push(match items.len() {
            0 => op::EMPTY_TUPLE,
            1 => op::TUPLE1,
            2 => op::TUPLE2,
            3 => op::TUPLE3,
            _ => op::TUPLE,
        });
        if !items.is_empty() {
            self.put();
        }
    }

    /// An object that recurs: written the first time, fetched from the memo afterwards.
    fn shared(&mut self, object: Shared) {
        if let Some(&(_, index)) = self.shared.iter().find(|(o, _)| *o == object) {
            self.get(index);
            return;
        }
        match object {
            Shared::Storage => self.str_unmemoized("storage"),
            Shared::Cpu => self.str_unmemoized("cpu"),
            Shared::RebuildTensor => self.global("torch._utils", "_rebuild_tensor_v2"),
            Shared::FloatStorage => self.global("torch", "FloatStorage"),
            Shared::OrderedDict => self.global("collections", "OrderedDict"),
        }
        let index = self.put();
        self.shared.push((object, index));
    }

    fn str_unmemoized(&mut self, s: &str) {
        self.out.push(op::BINUNICODE);
        self.out
            .extend(u32::try_from(s.len()).expect("short").to_le_bytes());
        self.out.extend(s.as_bytes());
    }

    fn global(&mut self, module: &str, name: &str) {
        self.out.push(op::GLOBAL);
        self.out.extend(format!("{module}\n{name}\n").bytes());
    }

    /// `_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())` with the storage
    /// the persistent id `('storage', FloatStorage, key, 'cpu', numel)`.
    fn tensor(&mut self, key: usize, shape: &[usize]) {
        let numel = shape.iter().product();
        // C order: each dimension's stride is the product of the sizes after it.
        let mut stride = vec![1; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * shape[d + 1];
        }
        self.shared(Shared::RebuildTensor);
        self.out.push(op::MARK); // the six arguments
        self.out.push(op::MARK); // the persistent id
        self.shared(Shared::Storage);
        self.shared(Shared::FloatStorage);
        self.str(&key.to_string());
        self.shared(Shared::Cpu);
        self.int(numel);
        self.out.push(op::TUPLE);
        self.put();
        self.out.push(op::BINPERSID);
        self.int(0); // storage_offset
        self.int_tuple(shape);
        self.int_tuple(&stride);
        self.out.push(op::NEWFALSE); // requires_grad
        self.shared(Shared::OrderedDict); // backward_hooks = OrderedDict()
        self.out.push(op::EMPTY_TUPLE);
        self.out.push(op::REDUCE);
        self.put();
        self.out.push(op::TUPLE);
        self.put();
        self.out.push(op::REDUCE);
        self.put();
    }
}

/// The pickle of the dict `{name: tensor}`, the storage of the k-th tensor being `data/k`.
pub fn data_pkl(tensors: &[Tensor]) -> Vec<u8> {
    let mut pickle = Pickle::new();
    pickle.out.push(op::EMPTY_DICT);
    pickle.put();
    // Python writes SETITEM for a dict of one item; the network has at least w1 and b1.
    pickle.out.push(op::MARK);
    for (key, t) in tensors.iter().enumerate() {
        pickle.str(t.name);
        pickle.tensor(key, t.shape);
    }
    pickle.out.push(op::SETITEMS);
    pickle.out.push(op::STOP);
    pickle.out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn tensors<'a>(w: &'a [f32], b: &'a [f32]) -> Vec<Tensor<'a>> {
        vec![
            Tensor {
                name: "w1",
                shape: &[3, 2],
                values: w,
            },
            Tensor {
                name: "b1",
                shape: &[2],
                values: b,
            },
        ]
    }

    const W: [f32; 6] = [0.5, -1.25, 3.0e-8, f32::MAX, -0.0, 1.0 / 3.0];
    const B: [f32; 2] = [0.1, -7.5];

    /// The bytes Python 3's `pickle.dumps(d, protocol=2)` gives for this dict of two
    /// tensors when torch.save's persistent_id names the storages, written out opcode by
    /// opcode (pickletools.dis of a torch.save checkpoint shows the same sequence).
    fn expected_pickle() -> Vec<u8> {
        let mut e: Vec<u8> = vec![0x80, 2, b'}', b'q', 0, b'('];
        let s = |text: &str| {
            let mut v = vec![b'X'];
            v.extend((text.len() as u32).to_le_bytes());
            v.extend(text.bytes());
            v
        };
        e.extend(s("w1"));
        e.extend([b'q', 1]);
        e.extend(b"ctorch._utils\n_rebuild_tensor_v2\nq\x02((");
        e.extend(s("storage"));
        e.extend([b'q', 3]);
        e.extend(b"ctorch\nFloatStorage\nq\x04");
        e.extend(s("0"));
        e.extend([b'q', 5]);
        e.extend(s("cpu"));
        e.extend([b'q', 6, b'K', 6, b't', b'q', 7, b'Q', b'K', 0]);
        e.extend([
            b'K', 3, b'K', 2, 0x86, b'q', 8, b'K', 2, b'K', 1, 0x86, b'q', 9, 0x89,
        ]);
        e.extend(b"ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0d");
        e.extend(s("b1"));
        e.extend([b'q', 14, b'h', 2, b'(', b'(', b'h', 3, b'h', 4]);
        e.extend(s("1"));
        e.extend([b'q', 15, b'h', 6, b'K', 2, b't', b'q', 16, b'Q', b'K', 0]);
        e.extend([b'K', 2, 0x85, b'q', 17, b'K', 1, 0x85, b'q', 18, 0x89]);
        e.extend(b"h\x0a)Rq\x13tq\x14Rq\x15u.");
        e
    }

    #[test]
    fn the_pickle_is_what_python_writes_for_the_dict() {
        assert_eq!(data_pkl(&tensors(&W, &B)), expected_pickle());
    }

    #[test]
    fn large_sizes_use_two_and_four_byte_ints() {
        let mut p = Pickle::new();
        p.int(784);
        p.int(70_000);
        assert_eq!(
            &p.out[2..],
            &[b'M', 0x10, 0x03, b'J', 0x70, 0x11, 0x01, 0x00]
        );
    }

    #[test]
    fn the_zip_holds_torch_records_in_order_stored_and_aligned() {
        let bytes = checkpoint_bytes(&tensors(&W, &B)).unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04", "torch checks the first bytes");
        let mut zip = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        let names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "archive/data.pkl",
                "archive/.format_version",
                "archive/.storage_alignment",
                "archive/byteorder",
                "archive/data/0",
                "archive/data/1",
                "archive/version",
            ]
        );
        let mut read = |name: &str| {
            let mut member = zip.by_name(&format!("archive/{name}")).unwrap();
            assert_eq!(member.compression(), zip::CompressionMethod::Stored);
            assert_eq!(
                member.data_start().unwrap() % 64,
                0,
                "{name} aligned to 64 bytes"
            );
            let mut data = Vec::new();
            member.read_to_end(&mut data).unwrap();
            data
        };
        assert_eq!(read("data.pkl"), expected_pickle());
        assert_eq!(read(".format_version"), b"1");
        assert_eq!(read(".storage_alignment"), b"64");
        assert_eq!(read("byteorder"), b"little");
        assert_eq!(read("version"), b"3\n");
        let le = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        assert_eq!(read("data/0"), le(&W));
        assert_eq!(read("data/1"), le(&B));
    }

    #[test]
    fn equal_tensors_give_equal_files() {
        assert_eq!(
            checkpoint_bytes(&tensors(&W, &B)).unwrap(),
            checkpoint_bytes(&tensors(&W, &B)).unwrap()
        );
    }
}
