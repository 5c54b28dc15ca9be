"""Runs mnist-mlp's exported networks in NumPy, as the README shows, for tests/it/export/python.rs.

Usage: python numpy_predict.py NPZ SAFETENSORS TEST_IMAGES TEST_LABELS COUNT

Loads the .npz (without pickle) and the .safetensors file (parsed by hand: no safetensors
package needed), checks that both hold the same tensors and metadata, prepares the first
COUNT test images exactly as mnist-mlp does, and prints one line of JSON: for each export,
the class probabilities of every image and the accuracy.
"""

import gzip
import json
import sys

import numpy as np


def load_npz(path):
    """The tensors {'w1': …, 'b1': …, …} and the metadata of an .npz export."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    tensors = {k: v for k, v in arrays.items() if k[0] in "wb" and k[1:].isdigit()}
    meta = {k: v for k, v in arrays.items() if k not in tensors}
    for name, a in arrays.items():
        assert a.dtype != object, f"{name} would need pickle"
    return tensors, {
        "layer_sizes": [int(s) for s in meta["layer_sizes"]],
        "activation": str(meta["activation"]),
        "input_scaling": str(meta["input_scaling"]),
        "input_mean": float(meta["input_mean"]),
        "input_std": float(meta["input_std"]),
        "class_names": [str(c) for c in meta["class_names"]],
    }


def load_safetensors(path):
    """The tensors and metadata of a .safetensors export: an 8-byte little-endian header
    length, a JSON header, then the raw little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__")
    data = raw[8 + n :]
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])
    return tensors, {
        "layer_sizes": json.loads(meta["layer_sizes"]),
        "activation": meta["activation"],
        "input_scaling": meta["input_scaling"],
        "input_mean": float(np.float32(meta["input_mean"])),
        "input_std": float(np.float32(meta["input_std"])),
        "class_names": json.loads(meta["class_names"]),
    }


def read_idx(path, offset):
    """The bytes of an IDX file (gzip or raw) after its `offset`-byte header, and the
    header's magic number."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return int.from_bytes(raw[:4], "big"), np.frombuffer(raw, dtype=np.uint8, offset=offset)


def prepare(pixels, meta):
    """x = (pixel / 255 - mean) / std, as mnist-mlp scales its inputs."""
    x = pixels.astype(np.float32) / np.float32(255)
    return (x - np.float32(meta["input_mean"])) / np.float32(meta["input_std"])


ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
}


def probabilities(x, tensors, meta):
    """softmax of the logits: hidden layers h = act(h @ w + b), then h @ w_L + b_L."""
    act = ACTIVATIONS[meta["activation"]]
    layers = len(meta["layer_sizes"]) - 1
    h = x
    for l in range(1, layers + 1):
        h = h @ tensors[f"w{l}"] + tensors[f"b{l}"]
        if l < layers:
            h = act(h)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    npz_path, st_path, images_path, labels_path, count = sys.argv[1:]
    count = int(count)
    exports = {"npz": load_npz(npz_path), "safetensors": load_safetensors(st_path)}
    (npz_t, npz_meta), (st_t, st_meta) = exports["npz"], exports["safetensors"]
    assert npz_meta == st_meta, (npz_meta, st_meta)
    assert sorted(npz_t) == sorted(st_t), (sorted(npz_t), sorted(st_t))
    for name, a in npz_t.items():
        assert a.dtype == np.dtype("<f4") and a.flags.c_contiguous, name
        assert np.array_equal(a, st_t[name]), name
    sizes = npz_meta["layer_sizes"]
    for l in range(1, len(sizes)):
        assert npz_t[f"w{l}"].shape == (sizes[l - 1], sizes[l])
        assert npz_t[f"b{l}"].shape == (sizes[l],)
    assert len(npz_meta["class_names"]) == sizes[-1]

    magic, images = read_idx(images_path, 16)
    assert magic == 2051, f"{images_path} is not an IDX images file"
    magic, labels = read_idx(labels_path, 8)
    assert magic == 2049, f"{labels_path} is not an IDX labels file"
    images = images.reshape(-1, sizes[0])[:count]
    labels = labels[:count]

    report = {}
    for name, (tensors, meta) in exports.items():
        p = probabilities(prepare(images, meta), tensors, meta)
        report[name] = {
            "probabilities": p.tolist(),
            "accuracy": float((p.argmax(axis=1) == labels).mean()),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
