"""What the two peers share besides the IDX reader: flags, thread pinning, the summary lines.

Standard library only, so that it can run before numpy or torch is imported (the BLAS and
OpenMP thread pools read their environment variables when the library loads).
"""
import argparse
import json
import os
import statistics


def pin_threads(argv, default=2):
    """Set OPENBLAS/OMP/MKL_NUM_THREADS to the --threads of argv; returns that count."""
    threads = str(default)
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            threads = argv[i + 1]
        elif a.startswith("--threads="):
            threads = a.split("=", 1)[1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads
    return int(threads)


def default_data_dir():
    """$MNIST_DATA_DIR, else data/mnist at the repository root (two folders above this one)."""
    env = os.environ.get("MNIST_DATA_DIR")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(repo, "data", "mnist")


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default=default_data_dir(),
                   help="folder with the MNIST IDX files (default: $MNIST_DATA_DIR, else data/mnist)")
    p.add_argument("--hidden", default="128", help="hidden widths, comma-separated, e.g. 256,128")
    p.add_argument("--batch", type=int, default=64, help="samples per mini-batch")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate")
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (0: plain SGD)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="BLAS / intra-op threads")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    args.hidden_sizes = [int(h) for h in args.hidden.split(",") if h.strip()]
    if not args.hidden_sizes:
        p.error("--hidden needs at least one hidden layer")
    if args.batch < 1 or args.epochs < 1 or args.threads < 1:
        p.error("--batch, --epochs and --threads must be positive")
    return args


def epoch_line(epoch, secs, loss, acc):
    print(f"epoch {epoch:3d}  train_secs {secs:7.3f}  train_loss {loss:.4f}  "
          f"test_acc {acc * 100:.2f}%", flush=True)


def summary(peer, args, epoch_secs, accs, losses, total_wall, extra=None):
    """The closing lines: a human one, then 'RESULT {json}' for bench/compare.py."""
    med = statistics.median(epoch_secs[1:]) if len(epoch_secs) > 1 else epoch_secs[0]
    print(f"total_wall {total_wall:.2f}s  mean_epoch {statistics.mean(epoch_secs):.3f}s  "
          f"median_epoch_2..N {med:.3f}s  final_test_acc {accs[-1] * 100:.2f}%")
    result = {
        "peer": peer, "hidden": args.hidden_sizes, "batch": args.batch, "lr": args.lr,
        "momentum": args.momentum, "epochs": args.epochs, "threads": args.threads,
        "seed": args.seed, "epoch_secs": [round(s, 4) for s in epoch_secs],
        "median_epoch_2N": round(med, 4), "final_acc": accs[-1], "final_loss": losses[-1],
        "total_wall": round(total_wall, 3),
    }
    result.update(extra or {})
    print("RESULT " + json.dumps(result), flush=True)
