#!/usr/bin/env python3
"""What each training ingredient is worth: mnist-mlp runs that differ from a base by one
setting, each over several seeds, as a Markdown table of mean test accuracy, spread and time.

    python3 bench/ablation.py --data-dir data/mnist                  # the default network
    python3 bench/ablation.py --data-dir data/mnist --suite best     # the best preset, shorter

Standard library only. Every run writes its outputs to a temporary folder.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, flags added to the base)
SUITES = {
    "default": {
        "base": [],
        "runs": [
            ("homework network: constant rate, no augmentation",
             ["--lr-schedule", "constant", "--augment", "none"]),
            ("+ cosine schedule only", ["--augment", "none"]),
            ("+ shifted images only", ["--lr-schedule", "constant"]),
            ("**default** (cosine + shifted images)", []),
            ("default, affine instead of shifts", ["--augment", "affine"]),
            ("default, elastic instead of shifts", ["--augment", "elastic"]),
            ("default + dropout 0.2", ["--dropout", "0.2"]),
            ("default + label smoothing 0.1", ["--label-smoothing", "0.1"]),
            ("default, Adam lr 0.001", ["--optimizer", "adam", "--lr", "0.001"]),
            ("default, Nesterov momentum", ["--optimizer", "nesterov"]),
            ("default, hidden 1024", ["--hidden", "1024"]),
            ("default, hidden 1024,1024", ["--hidden", "1024,1024"]),
        ],
    },
    # The best preset at a shorter budget, one ingredient changed at a time.
    "best": {
        "base": ["--preset", "best", "--epochs", "20"],
        "runs": [
            ("**best, 20 epochs**", []),
            ("+ dropout 0.2", ["--dropout", "0.2"]),
            ("affine instead of elastic", ["--augment", "affine"]),
            ("shifts instead of elastic", ["--augment", "shift"]),
            ("no augmentation", ["--augment", "none"]),
            ("one hidden layer of 1024", ["--hidden", "1024"]),
            ("constant rate", ["--lr-schedule", "constant"]),
        ],
    },
}


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", choices=sorted(SUITES), default="default")
    p.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR", "data/mnist"))
    p.add_argument("--binary", default=os.path.join(REPO_DIR, "target", "release", "mnist-mlp"))
    p.add_argument("--only", type=int, nargs="+", metavar="I",
                   help="run only these rows of the suite (0-based)")
    return p.parse_args()


def run(binary, data_dir, flags, seed, out_dir):
    cmd = [binary, "train", "--offline", "--data-dir", data_dir, "--json", "--seed", str(seed),
           "--weights", os.path.join(out_dir, "w.bin"), "--plot", os.path.join(out_dir, "p.png"),
           "--metrics", os.path.join(out_dir, "m.csv")] + flags
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary["test_accuracy"], wall


def main():
    args = parse()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary}: build it first with `cargo build --release`")
    suite = SUITES[args.suite]
    rows = [r for i, r in enumerate(suite["runs"]) if args.only is None or i in args.only]
    base = " ".join(suite["base"]) or "(defaults)"
    print(f"Base: `mnist-mlp train {base}`; seeds {', '.join(map(str, args.seeds))}.\n")
    print("| run | flags | test accuracy, mean | min – max | whole process, mean |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as out_dir:
        for label, flags in rows:
            results = [run(args.binary, args.data_dir, suite["base"] + flags, seed, out_dir)
                       for seed in args.seeds]
            accs = [100 * a for a, _ in results]
            walls = [w for _, w in results]
            print(f"| {label} | `{' '.join(flags) or '—'}` | {statistics.mean(accs):.2f}% | "
                  f"{min(accs):.2f} – {max(accs):.2f}% | {statistics.mean(walls):.1f} s |",
                  flush=True)


if __name__ == "__main__":
    main()
