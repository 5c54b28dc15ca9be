"""MNIST IDX reader shared by the two peers (numpy_mlp.py, torch_mlp.py).

Accepts the same folders as mnist-mlp: each file gzip-compressed or raw (told apart by its
first two bytes, not its name), under the usual name (train-images-idx3-ubyte.gz) or the
dotted one (train-images.idx3-ubyte), with or without .gz.
"""
import gzip
import os
import struct

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
GZIP_MAGIC = b"\x1f\x8b"


def accepted_names(stem):
    """'train-images-idx3-ubyte' -> the four spellings mnist-mlp accepts, in its order."""
    dotted = stem.replace("-idx", ".idx", 1)
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def find_file(data_dir, stem):
    for name in accepted_names(stem):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"{data_dir}: none of {', '.join(accepted_names(stem))} exists "
        f"(pass --data-dir or set MNIST_DATA_DIR)")


def read_idx(path, expected_magic):
    """The ubyte array of one IDX file, shaped by its header; checks magic and length."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    if len(data) < 4:
        raise ValueError(f"{path}: too short for an IDX header")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise ValueError(f"{path}: magic number {magic}, expected {expected_magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    if len(data) != header + int(np.prod(dims)):
        raise ValueError(f"{path}: {len(data) - header} data bytes, header says {int(np.prod(dims))}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_split(data_dir, prefix):
    """(images f32 [n, 784] scaled to [0, 1], labels int64 [n]) of 'train' or 't10k'."""
    images = read_idx(find_file(data_dir, f"{prefix}-images-idx3-ubyte"), IMAGES_MAGIC)
    labels = read_idx(find_file(data_dir, f"{prefix}-labels-idx1-ubyte"), LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{data_dir}: {images.shape[0]} {prefix} images but {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{data_dir}: a {prefix} label is not a digit")
    x = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0)
    return x, labels.astype(np.int64)


def load_mnist(data_dir):
    """(x_train, y_train, x_test, y_test): f32 inputs in [0, 1], int64 labels."""
    x_train, y_train = load_split(data_dir, "train")
    x_test, y_test = load_split(data_dir, "t10k")
    return x_train, y_train, x_test, y_test

