#!/usr/bin/env python3
"""What averaging several networks would give, measured on validation images only.

Holds out the last --holdout images of the training files as validation images (written as
the test files of a temporary data folder, so `mnist-mlp train` evaluates on them and never
sees the real test set), trains one network per seed with the same flags, exports each to
.npz, and prints a Markdown table: each network's validation accuracy, then every ensemble
of two or more of them, averaging their logits (what one joined MLP would compute) and their
probabilities.

    python3 bench/ensemble.py --data-dir data/mnist --seeds 11,12,13 --jobs 2 --flags \\
        "--epochs 40 --hidden 1024,1024 --lr 0.05 --augment elastic --dropout 0"

Needs NumPy. The temporary folder's files match no known data set's checksums, so `train`
gives them the recipe of custom data (standardised inputs, dropout 0.2, no augmentation, lr
0.05) wherever the flags are silent: write every setting that differs from it, as the default
flags do for `--preset best` on MNIST. Presets are no shortcut here: `--preset best` holds out
validation images of its own and would be built on the custom recipe. Each network runs
--val-split 0 and --input-scaling unit unless the flags say otherwise, so it ends at its last
epoch.
"""

import argparse
import gzip
import itertools
import os
import shlex
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = {
    "images": "train-images-idx3-ubyte",
    "labels": "train-labels-idx1-ubyte",
}


def read_idx(folder, name):
    """The raw bytes of an IDX file, gzipped or not."""
    for path, opener in ((os.path.join(folder, name + ".gz"), gzip.open),
                         (os.path.join(folder, name), open)):
        if os.path.exists(path):
            with opener(path, "rb") as f:
                return f.read()
    sys.exit(f"ensemble.py: no {name}(.gz) in {folder}")


def split_idx(raw):
    """(header dims, body) of an IDX file."""
    ndim = raw[3]
    dims = list(struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim]))
    return raw[:4], dims, raw[4 + 4 * ndim:]


def write_idx(path, magic, dims, body):
    with open(path, "wb") as f:
        f.write(magic + struct.pack(">" + "I" * len(dims), *dims) + body)


def validation_folder(data_dir, holdout, out):
    """Writes the training files minus their last `holdout` images as training files and those
    images as test files into `out`; returns the validation images and labels."""
    parts = {}
    for kind, name in FILES.items():
        magic, dims, body = split_idx(read_idx(data_dir, name))
        n = dims[0]
        if holdout >= n:
            sys.exit(f"ensemble.py: --holdout {holdout} leaves no training images of {n}")
        per_item = len(body) // n
        cut = (n - holdout) * per_item
        write_idx(os.path.join(out, name), magic, [n - holdout] + dims[1:], body[:cut])
        test_name = name.replace("train", "t10k")
        write_idx(os.path.join(out, test_name), magic, [holdout] + dims[1:], body[cut:])
        parts[kind] = np.frombuffer(body[cut:], np.uint8).reshape([holdout] + dims[1:])
    return parts["images"].reshape(holdout, -1).astype(np.float32), parts["labels"]


def logits(npz_path, images):
    """The exported network's logits, computed as its `forward` entry says."""
    z = np.load(npz_path)
    h = (images / 255.0 - z["input_mean"]) / z["input_std"]
    layers = sum(1 for k in z.files if k.startswith("w") and k[1:].isdigit())
    activation = str(z["activation"])
    for l in range(1, layers + 1):
        h = h @ z[f"w{l}"] + z[f"b{l}"]
        if l < layers:
            if activation == "relu":
                h = np.maximum(h, 0)
            elif activation == "tanh":
                h = np.tanh(h)
            else:
                h = 1 / (1 + np.exp(-h))
    return h


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="folder with the training IDX files")
    p.add_argument("--seeds", default="11,12,13", help="one network per seed")
    p.add_argument("--flags", default="--epochs 50 --hidden 1024,1024 --lr 0.05 "
                   "--augment elastic --dropout 0", help="the train flags of every network")
    p.add_argument("--holdout", type=int, default=5000, help="validation images")
    p.add_argument("--jobs", type=int, default=1, help="networks trained side by side")
    p.add_argument("--threads", type=int, default=1, help="threads per network")
    p.add_argument("--binary", default=os.path.join(REPO_DIR, "target/release/mnist-mlp"))
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "validation")
        os.mkdir(data)
        images, labels = validation_folder(args.data_dir, args.holdout, data)

        def train(seed):
            out = os.path.join(tmp, f"seed-{seed}")
            cmd = [args.binary, "train", "--data-dir", data, "--offline",
                   "--seed", str(seed), "--threads", str(args.threads),
                   "--val-split", "0", "--input-scaling", "unit",
                   "--weights", out + ".bin", "--plot", out + ".png",
                   "--metrics", out + ".csv", "--run-log", out + ".jsonl",
                   *shlex.split(args.flags)]
            print("$ " + shlex.join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            subprocess.run([args.binary, "export", "--weights", out + ".bin",
                            "--output", out + ".npz"], check=True, stdout=subprocess.DEVNULL)
            return logits(out + ".npz", images)

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outputs = dict(zip(seeds, pool.map(train, seeds)))

    def accuracy(scores):
        return 100.0 * float(np.mean(scores.argmax(axis=1) == labels))

    print(f"Validation: the last {args.holdout} training images of {args.data_dir}; "
          f"flags: `{args.flags}`\n")
    print("| networks (seeds) | logits averaged | probabilities averaged |")
    print("|---|---:|---:|")
    for k in range(1, len(seeds) + 1):
        for group in itertools.combinations(seeds, k):
            by_logits = accuracy(sum(outputs[s] for s in group))
            by_probabilities = accuracy(sum(softmax(outputs[s]) for s in group))
            name = " + ".join(map(str, group))
            print(f"| {name} | {by_logits:.2f}% | {by_probabilities:.2f}% |")


if __name__ == "__main__":
    main()
