#!/usr/bin/env python3
"""Benchmark mnist-mlp against its NumPy and PyTorch peers on one configuration.

Runs every contender in turn, alternating (A B C A B C ...) for --runs rounds, then prints a
Markdown report: the command line, the machine, and one table row per contender with the median
training seconds per epoch (epochs 2..N, every program timing its own training loop), the median
whole-process wall seconds (measured here, from start to exit), the final test accuracy, the
peak resident memory (from the child's rusage), and the ratio peer time / mnist-mlp time.

--scaling instead times mnist-mlp alone over a grid of hidden sizes and batch sizes (3-epoch
runs, median of epochs 2..3) and prints seconds per epoch and GFLOP/s, on one or more data sets
(--scaling-data), each with its density: the fraction of pixels that differ from the most
common value, which decides whether the first layer takes the sparse path.

Standard library only; the peers run under --python (default: this interpreter). Progress goes
to stderr, the report to stdout. See bench/README.md.
"""
import argparse
import csv
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
PEERS_DIR = os.path.join(BENCH_DIR, "peers")

# name -> (label in the table, script in peers/, modules it imports)
PEERS = {
    "numpy": ("NumPy peer", "numpy_mlp.py", ["numpy"]),
    "torch": ("PyTorch peer", "torch_mlp.py", ["numpy", "torch"]),
}
MNIST_MLP = "mnist-mlp"
MNIST_STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
TRAIN_SAMPLES = 60000
INPUTS = 784
CLASSES = 10
SCALING_HIDDEN = ["128", "256", "512", "1024", "512,256"]
SCALING_BATCH = [64, 128, 256, 512]
NOISY_LOAD = 0.2  # cores busy with other processes, on average over a run, before we warn
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(f"error: {msg}")
    sys.exit(1)


def parse_args():
    p = argparse.ArgumentParser(
        description="mnist-mlp vs. NumPy / PyTorch peers on one configuration (or --scaling).")
    p.add_argument("--hidden", default="256", help="hidden widths, comma-separated (default: 256)")
    p.add_argument("--batch", type=int, default=128, help="mini-batch size (default: 128)")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default: 0.1)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default: 0.9)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per run (default: 20; with --scaling: 3)")
    p.add_argument("--runs", type=int, default=None,
                   help="rounds of alternated runs (default: 3; with --scaling: 1)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for every contender: the peers' --threads, mnist-mlp's --threads "
                        "if it has one, and OMP/OPENBLAS/MKL/RAYON_NUM_THREADS for all (default: 2)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed passed to every contender (default: each program's own default)")
    p.add_argument("--data-dir", default=None,
                   help="folder with the MNIST IDX files (default: $MNIST_DATA_DIR, else data/mnist "
                        "in the repository)")
    p.add_argument("--binary", default=None,
                   help="the mnist-mlp executable (default: target/release/mnist-mlp in the repository)")
    p.add_argument("--peers", default="numpy,torch",
                   help="comma-separated peers to run: numpy, torch; empty for none (default: numpy,torch)")
    p.add_argument("--python", default=sys.executable,
                   help="Python interpreter for the peers: needs numpy, and torch for the PyTorch peer "
                        "(default: the one running this script)")
    p.add_argument("--scaling", action="store_true",
                   help="time mnist-mlp alone over hidden sizes x batch sizes; report s/epoch and GFLOP/s")
    p.add_argument("--scaling-hidden", nargs="+", default=SCALING_HIDDEN, metavar="H",
                   help="hidden configurations for --scaling, each comma-separated "
                        "(default: 128 256 512 1024 512,256)")
    p.add_argument("--scaling-batch", nargs="+", type=int, default=SCALING_BATCH, metavar="B",
                   help="batch sizes for --scaling (default: 64 128 256 512)")
    p.add_argument("--scaling-data", nargs="+", default=None, metavar="NAME=DIR",
                   help="data sets for --scaling, each a name and a folder of IDX files "
                        "(default: mnist=the --data-dir folder)")
    p.add_argument("--keep-temp", action="store_true",
                   help="keep the folder with every run's stdout, stderr and outputs, and print its path")
    args = p.parse_args()

    if args.epochs is None:
        args.epochs = 3 if args.scaling else 20
    if args.runs is None:
        args.runs = 1 if args.scaling else 3
    if args.epochs < 1 or args.runs < 1 or args.batch < 1 or args.threads < 1:
        p.error("--epochs, --runs, --batch and --threads must be positive")
    for h in [args.hidden] + args.scaling_hidden:
        if not re.fullmatch(r"\d+(,\d+)*", h) or any(int(x) == 0 for x in h.split(",")):
            p.error(f"hidden configuration {h!r}: expected positive widths separated by commas")
    args.peer_names = [s.strip() for s in args.peers.split(",") if s.strip()]
    for name in args.peer_names:
        if name not in PEERS:
            p.error(f"--peers: unknown peer {name!r} (known: {', '.join(PEERS)})")
    if args.data_dir is None:
        args.data_dir = os.environ.get("MNIST_DATA_DIR") or os.path.join(REPO_DIR, "data", "mnist")
    if args.binary is None:
        args.binary = os.path.join(REPO_DIR, "target", "release", "mnist-mlp")
    if args.scaling_data is None:
        args.scaling_data = [f"mnist={args.data_dir}"]
    data_sets = []
    for entry in args.scaling_data:
        name, sep, folder = entry.partition("=")
        if not sep or not name or not folder:
            p.error(f"--scaling-data {entry!r}: expected NAME=DIR")
        data_sets.append((name, os.path.abspath(folder)))
    args.scaling_data = data_sets
    # The children run inside a scratch folder: make the paths given here absolute.
    args.data_dir = os.path.abspath(args.data_dir)
    args.binary = os.path.abspath(args.binary)
    if os.sep in args.python:
        args.python = os.path.abspath(args.python)
    return args


# ---------------------------------------------------------------- the machine and the inputs

def cpu_description():
    model, flags, cores = None, set(), set()
    physical = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and model is None:
                    model = value
                elif key == "flags" and not flags:
                    flags = set(value.split())
                elif key == "physical id":
                    physical = value
                elif key == "core id":
                    cores.add((physical, value))
    except OSError:
        pass
    if model is None:
        import platform
        model = platform.processor() or platform.machine() or "unknown CPU"
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
    logical = os.cpu_count() or 0
    parts = [f"{logical} logical CPUs"]
    if cores:
        parts.append(f"{len(cores)} physical cores")
    if hasattr(os, "sched_getaffinity"):
        usable = len(os.sched_getaffinity(0))
        if usable != logical:
            parts.append(f"{usable} usable by this process")
    return model + (f" ({isa})" if isa else ""), ", ".join(parts)


def check_data_dir(data_dir):
    missing = []
    for stem in MNIST_STEMS:
        dotted = stem.replace("-idx", ".idx", 1)
        if not any(os.path.isfile(os.path.join(data_dir, n))
                   for n in (stem + ".gz", stem, dotted + ".gz", dotted)):
            missing.append(stem + ".gz")
    if missing:
        die(f"{data_dir}: missing MNIST file(s) {', '.join(missing)}; pass --data-dir or set "
            f"MNIST_DATA_DIR (or fetch them with `{MNIST_MLP} download`)")


def density(data_dir, sample=1024):
    """The fraction of pixels that differ from the most common value, over the first `sample`
    training images: what decides whether the first layer takes the sparse path."""
    import gzip
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte",
                 "train-images.idx3-ubyte.gz", "train-images.idx3-ubyte"):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            break
    else:
        return None
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        header = f.read(16)
        rows, cols = int.from_bytes(header[8:12], "big"), int.from_bytes(header[12:16], "big")
        pixels = f.read(sample * rows * cols)
    counts = [0] * 256
    for p in pixels:
        counts[p] += 1
    return 1 - max(counts) / max(len(pixels), 1)


def check_binary(binary):
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        die(f"{binary}: no such executable; build it with `cargo build --release` or pass --binary")
    help_text = subprocess.run([binary, "train", "--help"], capture_output=True, text=True).stdout
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    version = version.splitlines()[0] if version else "unknown version"
    return bool(re.search(r"--threads\b", help_text)), version


def check_peer(python, name):
    """None if the peer's modules import with `python`, else the reason it cannot run."""
    modules = PEERS[name][2]
    code = "import " + ", ".join(modules)
    try:
        r = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"cannot run {python}: {e}"
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        return f"`{code}` failed with {python}: {lines[-1] if lines else 'exit ' + str(r.returncode)}"
    return None


# ---------------------------------------------------------------- running one process

class RunFailed(Exception):
    pass


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy since boot (None without /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    ticks = [int(x) for x in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def run_process(cmd, env, out_dir, tag):
    """Runs cmd with stdout/stderr in files. Returns (stdout text, a dict with the wall seconds,
    the peak RSS in MiB, the child's CPU seconds and the other processes' average load)."""
    out_path = os.path.join(out_dir, tag + ".stdout")
    err_path = os.path.join(out_dir, tag + ".stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        busy_before = busy_cpu_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, cwd=out_dir)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        busy_after = busy_cpu_seconds()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4: keep Popen from waiting again
    with open(out_path, errors="replace") as f:
        stdout = f.read()
    if code != 0:
        with open(err_path, errors="replace") as f:
            tail = f.read().strip().splitlines()[-8:] or ["(nothing on stderr)"]
        raise RunFailed(f"exit status {code}: {shlex.join(cmd)}\n    " + "\n    ".join(tail))
    cpu = usage.ru_utime + usage.ru_stime
    other = None
    if busy_before is not None and busy_after is not None and wall > 0:
        # Busy CPU time of the machine not spent by the child: the others' average load, in cores.
        other = max(0.0, (busy_after - busy_before - cpu) / wall)
    # Linux reports ru_maxrss in KiB.
    return stdout, {"wall": wall, "rss": usage.ru_maxrss / 1024.0, "cpu": cpu, "other_load": other}


def child_env(threads):
    env = dict(os.environ)
    for var in THREAD_ENV:
        env[var] = str(threads)
    return env


def median_2n(epoch_secs):
    """Median of epochs 2..N (epoch 1 alone if there is only one)."""
    return statistics.median(epoch_secs[1:] if len(epoch_secs) > 1 else epoch_secs)


def mnist_mlp_command(args, has_threads, hidden, batch, epochs, out_dir, data_dir=None):
    cmd = [args.binary, "train", "--offline", "--data-dir", data_dir or args.data_dir,
           "--epochs", str(epochs), "--hidden", hidden, "--batch-size", str(batch),
           "--lr", str(args.lr), "--momentum", str(args.momentum), "--json",
           # What the peers do: a constant rate, the images as they are, pixel / 255, no
           # dropout (given, so that other data sets' recipes do not change them).
           "--lr-schedule", "constant", "--augment", "none", "--input-scaling", "unit",
           "--dropout", "0",
           "--weights", os.path.join(out_dir, "w.bin"), "--plot", os.path.join(out_dir, "p.png"),
           "--metrics", os.path.join(out_dir, "m.csv")]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    if has_threads:
        cmd += ["--threads", str(args.threads)]
    return cmd


def run_mnist_mlp(args, has_threads, hidden, batch, epochs, out_dir, tag, data_dir=None):
    cmd = mnist_mlp_command(args, has_threads, hidden, batch, epochs, out_dir, data_dir)
    stdout, measured = run_process(cmd, child_env(args.threads), out_dir, tag)
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    try:
        summary = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise RunFailed(f"the last stdout line of {MNIST_MLP} is not JSON: {lines[-1:]}")
    with open(os.path.join(out_dir, "m.csv"), newline="") as f:
        epoch_secs = [float(row["train_seconds"]) for row in csv.DictReader(f)]
    if len(epoch_secs) != epochs:
        raise RunFailed(f"{MNIST_MLP} wrote {len(epoch_secs)} epochs to its metrics CSV, expected {epochs}")
    return dict(measured, cmd=cmd, epoch_secs=epoch_secs, s_epoch=median_2n(epoch_secs),
                acc=float(summary["test_accuracy"]), self_seconds=summary.get("seconds"))


def run_peer(args, name, out_dir, tag):
    cmd = [args.python, os.path.join(PEERS_DIR, PEERS[name][1]), "--hidden", args.hidden,
           "--batch", str(args.batch), "--lr", str(args.lr), "--momentum", str(args.momentum),
           "--epochs", str(args.epochs), "--threads", str(args.threads),
           "--data-dir", args.data_dir]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    stdout, measured = run_process(cmd, child_env(args.threads), out_dir, tag)
    results = [ln[len("RESULT "):] for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    if not results:
        raise RunFailed(f"{name} peer printed no RESULT line")
    result = json.loads(results[-1])
    info = stdout.splitlines()[0] if stdout else ""
    return dict(measured, cmd=cmd, epoch_secs=result["epoch_secs"],
                s_epoch=median_2n(result["epoch_secs"]), acc=float(result["final_acc"]),
                self_seconds=result.get("total_wall"), info=info)


# ---------------------------------------------------------------- formatting

def pct(x):
    return f"{x * 100:.2f}%"


def accuracy_cell(accs):
    lo, hi = min(accs), max(accs)
    if hi - lo < 5e-5:
        return pct(statistics.median(accs))
    return f"{pct(statistics.median(accs))} ({pct(lo)}–{pct(hi)})"


def header(args, title):
    model, cores = cpu_description()
    argv = [os.path.basename(sys.executable) or "python3"] + sys.argv
    return [f"## {title}", "",
            f"- command: `{shlex.join(argv)}`",
            f"- CPU: {model}; {cores}"]


def report_compare(args, has_threads, version, contenders, results, skipped, failures):
    out = header(args, "mnist-mlp vs. NumPy and PyTorch peers")
    out.append(f"- configuration: hidden {args.hidden}, batch {args.batch}, lr {args.lr}, "
               f"momentum {args.momentum}, {args.epochs} epochs, {args.threads} threads, seed "
               f"{args.seed if args.seed is not None else 'each program’s default'}; "
               f"{args.runs} round(s) of alternated runs")
    threads_note = (f"`--threads {args.threads}`" if has_threads else
                    f"no `--threads` flag (it gets only the environment variables)")
    out.append(f"- {MNIST_MLP}: {version}, {threads_note}; every contender runs with "
               + ", ".join(f"{v}={args.threads}" for v in THREAD_ENV))
    for name in contenders:
        infos = [r["info"] for r in results[name] if r.get("info")]
        if infos:
            out.append(f"- {PEERS[name][0]}: {infos[0]}")
    for name, reason in skipped.items():
        out.append(f"- **SKIPPED {PEERS[name][0]}**: {reason}")
    for name, reason in failures.items():
        label = PEERS[name][0] if name in PEERS else name
        out.append(f"- **FAILED {label}**: {reason}")
    out.append("")

    base = results.get(MNIST_MLP) or []
    base_epoch = statistics.median([s for r in base for s in r["epoch_secs"][1:]]
                                   or [r["s_epoch"] for r in base]) if base else None
    base_wall = statistics.median([r["wall"] for r in base]) if base else None

    out.append("| run | s/epoch (median, epochs 2..N) | fastest epoch | whole process s (median) "
               "| test accuracy | peak RSS MiB | peer/mnist-mlp s/epoch | peer/mnist-mlp whole process |")
    out.append("|---|---|---|---|---|---|---|---|")
    for name in contenders:
        runs = results[name]
        label = f"`{MNIST_MLP} train`" if name == MNIST_MLP else PEERS[name][0]
        if not runs:
            out.append(f"| {label} | failed | | | | | | |")
            continue
        pooled = [s for r in runs for s in (r["epoch_secs"][1:] or r["epoch_secs"])]
        s_epoch = statistics.median(pooled)
        wall = statistics.median([r["wall"] for r in runs])
        if name == MNIST_MLP:
            r_epoch = r_wall = "1 (baseline)"
        elif base_epoch:
            r_epoch, r_wall = f"{s_epoch / base_epoch:.2f}×", f"{wall / base_wall:.2f}×"
        else:
            r_epoch = r_wall = "n/a"
        out.append(f"| {label} | {s_epoch:.3f} | {min(pooled):.3f} | {wall:.2f} | "
                   f"{accuracy_cell([r['acc'] for r in runs])} | "
                   f"{max(r['rss'] for r in runs):.0f} | {r_epoch} | {r_wall} |")
    for name, reason in skipped.items():
        out.append(f"| {PEERS[name][0]} | skipped: {reason.split(':')[0]} | | | | | | |")
    out += ["",
            "Ratios are peer time / mnist-mlp time: above 1 means mnist-mlp is faster. "
            "s/epoch is each program's own timing of its training loop (evaluation excluded), "
            "pooled over epochs 2..N of every run; whole process is measured by the harness from "
            "start to exit, so it includes start-up, data loading, every epoch's evaluation "
            "(all three evaluate the test set and report the train loss over the epoch's "
            f"mini-batches; `{MNIST_MLP}` also its train accuracy) and writing outputs "
            f"(`{MNIST_MLP}` rewrites its weights, metrics and plot after every epoch). Peak RSS is the largest over the runs.", ""]

    out.append("Per run, in order (s/epoch median 2..N / whole process s / CPU s of the process / "
               "average load of other processes, in cores):")
    out.append("")
    for name in contenders:
        label = MNIST_MLP if name == MNIST_MLP else PEERS[name][0]
        cells = [f"{r['s_epoch']:.3f} / {r['wall']:.2f} / {r['cpu']:.1f} / {load_text(r)}"
                 for r in results[name]]
        out.append(f"- {label}: " + (", ".join(cells) if cells else "none"))
    out += quiet_warning([r for name in contenders for r in results[name]])
    return "\n".join(out)


def load_text(r):
    return "?" if r.get("other_load") is None else f"{r['other_load']:.2f}"


def quiet_warning(runs):
    """A loud line when other processes were busy during the runs (then the times mean little)."""
    loads = [r["other_load"] for r in runs if r.get("other_load") is not None]
    if loads and max(loads) > NOISY_LOAD:
        return ["", f"**Warning: the machine was not quiet: other processes kept on average up to "
                    f"{max(loads):.2f} cores busy during a run (threshold {NOISY_LOAD}). "
                    f"Rerun on a quiet machine before quoting these times.**"]
    return []


def flops_per_epoch(hidden):
    """Executed FLOPs of one epoch: forward, weight gradient and input gradient of every layer,
    less the input gradient of the first layer."""
    sizes = [INPUTS] + [int(h) for h in hidden.split(",")] + [CLASSES]
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return TRAIN_SAMPLES * 2 * (3 * macs - INPUTS * sizes[1])


def report_scaling(args, has_threads, version, grid, runs, failures):
    out = header(args, f"{MNIST_MLP} scaling: training seconds per epoch and GFLOP/s")
    out.append(f"- {MNIST_MLP}: {version}, lr {args.lr}, momentum {args.momentum}, "
               f"{args.epochs}-epoch runs, median of epochs 2..{args.epochs}, {args.runs} run(s) each, "
               + (f"`--threads {args.threads}`" if has_threads else "no `--threads` flag")
               + "; environment " + ", ".join(f"{v}={args.threads}" for v in THREAD_ENV))
    for key, reason in failures.items():
        out.append(f"- **FAILED** {key[0]} hidden {key[1]} batch {key[2]}: {reason}")
    out.append("")
    out.append("| data (density) | hidden \\ batch | " + " | ".join(str(b) for b in args.scaling_batch)
               + " | GFLOP per epoch |")
    out.append("|---|---|" + "---|" * (len(args.scaling_batch) + 1))
    for name, folder in args.scaling_data:
        d = density(folder)
        label = f"{name} ({d:.2f})" if d is not None else name
        for hidden in args.scaling_hidden:
            flops = flops_per_epoch(hidden)
            cells = []
            for batch in args.scaling_batch:
                times = grid.get((name, hidden, batch))
                if not times:
                    cells.append("failed")
                    continue
                s = statistics.median(times)
                cells.append(f"{s:.3f} s ({flops / s / 1e9:.0f} GFLOP/s)")
            out.append(f"| {label} | {hidden} | " + " | ".join(cells) + f" | {flops / 1e9:.1f} |")
    out += quiet_warning(runs)
    out += ["",
            "Each cell: median training seconds per epoch (the `train_seconds` of the metrics CSV), "
            "and in brackets the dense-equivalent FLOP rate, FLOPs per epoch = 60000 × 2 × "
            "(3 × Σ fan_in·fan_out − 784 × h1): forward, weight gradient and input gradient of "
            "every layer except the first layer's input gradient, as dense products would execute "
            "them (the sparse first layer skips the background's share). Density: the fraction of "
            "pixels away from the most common value in the first 1,024 training images."]
    return "\n".join(out)


# ---------------------------------------------------------------- main

def main():
    args = parse_args()
    check_data_dir(args.data_dir)
    has_threads, version = check_binary(args.binary)
    tmp = tempfile.mkdtemp(prefix="mnist-mlp-bench-")
    try:
        if args.scaling:
            report, failed = scaling(args, has_threads, version, tmp)
        else:
            report, failed = compare(args, has_threads, version, tmp)
        print(report)
    finally:
        if args.keep_temp:
            log(f"kept every run's stdout, stderr and outputs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        log("error: some runs failed; see the FAILED lines of the report")
        sys.exit(1)


def compare(args, has_threads, version, tmp):
    skipped = {}
    for name in args.peer_names:
        reason = check_peer(args.python, name)
        if reason:
            skipped[name] = reason
            log(f"*** SKIPPING the {PEERS[name][0]}: {reason}")
    contenders = [MNIST_MLP] + [n for n in args.peer_names if n not in skipped]
    results = {name: [] for name in contenders}
    failures = {}
    for rnd in range(1, args.runs + 1):
        for name in contenders:
            if name in failures:
                continue
            out_dir = os.path.join(tmp, f"{name}-{rnd}")
            os.mkdir(out_dir)
            log(f"[round {rnd}/{args.runs}] {name} ...")
            try:
                if name == MNIST_MLP:
                    r = run_mnist_mlp(args, has_threads, args.hidden, args.batch, args.epochs,
                                      out_dir, "run")
                else:
                    r = run_peer(args, name, out_dir, "run")
            except (RunFailed, OSError, KeyError, ValueError) as e:
                failures[name] = str(e)
                log(f"*** {name} FAILED: {e}")
                continue
            if rnd == 1:
                log(f"    command: {shlex.join(r['cmd'])}")
            log(f"    {r['s_epoch']:.3f} s/epoch, {r['wall']:.2f} s whole process, "
                f"test accuracy {pct(r['acc'])}, peak RSS {r['rss']:.0f} MiB, "
                f"CPU {r['cpu']:.1f} s, other processes' load {load_text(r)} cores")
            results[name].append(r)
    report = report_compare(args, has_threads, version, contenders, results, skipped, failures)
    return report, bool(failures)


def scaling(args, has_threads, version, tmp):
    grid, failures, runs = {}, {}, []
    total = (args.runs * len(args.scaling_data) * len(args.scaling_hidden)
             * len(args.scaling_batch))
    done = 0
    for rnd in range(1, args.runs + 1):
        for name, folder in args.scaling_data:
            for hidden in args.scaling_hidden:
                for batch in args.scaling_batch:
                    done += 1
                    key = (name, hidden, batch)
                    if key in failures:
                        continue
                    out_dir = os.path.join(
                        tmp, f"scaling-{name}-{hidden.replace(',', '-')}-{batch}-{rnd}")
                    os.mkdir(out_dir)
                    log(f"[{done}/{total}] {name}, hidden {hidden}, batch {batch} ...")
                    try:
                        r = run_mnist_mlp(args, has_threads, hidden, batch, args.epochs, out_dir,
                                          "run", folder)
                    except (RunFailed, OSError, KeyError, ValueError) as e:
                        failures[key] = str(e)
                        log(f"*** FAILED: {e}")
                        continue
                    log(f"    {r['s_epoch']:.3f} s/epoch, "
                        f"{flops_per_epoch(hidden) / r['s_epoch'] / 1e9:.0f} GFLOP/s, "
                        f"other processes' load {load_text(r)} cores")
                    grid.setdefault(key, []).append(r["s_epoch"])
                    runs.append(r)
    return report_scaling(args, has_threads, version, grid, runs, failures), bool(failures)


if __name__ == "__main__":
    main()
