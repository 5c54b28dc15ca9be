#!/usr/bin/env python3
"""Peer: the homework MLP in NumPy, float32, gradients written by hand.

ReLU hidden layers, softmax + cross-entropy with the row maximum subtracted, output gradient
dZ = (softmax - onehot) / B, mini-batch SGD with momentum (v = mu*v + g; p -= lr*v; plain
SGD when mu = 0), He-normal weights and zero biases, inputs pixel/255, batches reshuffled
every epoch, test accuracy after every epoch (not counted in the epoch's training seconds).

    python3 numpy_mlp.py --hidden 256 --batch 128 --lr 0.1 --momentum 0.9 --epochs 20 --threads 2
"""
import os
import sys
import time

T_START = time.perf_counter()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

common.pin_threads(sys.argv)  # before numpy loads its BLAS

import numpy as np  # noqa: E402

from idx import load_mnist  # noqa: E402


def blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    pools = [f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')} "
             f"threads={d.get('num_threads')}"
             for d in threadpool_info() if d.get("user_api") == "blas"]
    return "; ".join(pools) or "no BLAS pool found"


def forward(x, weights, biases):
    """Activations [x, h1, ..., h_last] and the logits."""
    activations = [x]
    a = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w
        z += b
        if i < last:
            a = np.maximum(z, np.float32(0.0), out=z)  # ReLU, in place
            activations.append(a)
        else:
            a = z
    return activations, a


def main():
    args = common.parse_args("Homework MNIST MLP in NumPy (manual gradients)")
    rng = np.random.default_rng(args.seed)
    sizes = [784] + args.hidden_sizes + [10]

    t0 = time.perf_counter()
    try:
        x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    except (OSError, ValueError) as e:
        sys.exit(f"error: {e}")
    load_secs = time.perf_counter() - t0
    n = x_train.shape[0]

    # He-normal weights: N(0, 2 / fan_in); zero biases.
    weights = [rng.standard_normal((fan_in, fan_out), dtype=np.float32)
               * np.float32(np.sqrt(2.0 / fan_in))
               for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(fan_out, dtype=np.float32) for fan_out in sizes[1:]]
    use_momentum = args.momentum != 0.0
    vel_w = [np.zeros_like(w) for w in weights]
    vel_b = [np.zeros_like(b) for b in biases]
    lr = np.float32(args.lr)
    mu = np.float32(args.momentum)

    print(f"numpy {np.__version__} blas=[{blas_description()}] sizes={sizes} batch={args.batch} "
          f"lr={args.lr} momentum={args.momentum} seed={args.seed} load={load_secs:.2f}s", flush=True)

    epoch_secs, accs, losses = [], [], []
    for epoch in range(1, args.epochs + 1):
        t_epoch = time.perf_counter()
        order = rng.permutation(n)
        loss_total, batches = 0.0, 0
        for start in range(0, n, args.batch):
            idx = order[start:start + args.batch]
            xb, yb = x_train[idx], y_train[idx]
            bsz = xb.shape[0]
            rows = np.arange(bsz)
            activations, logits = forward(xb, weights, biases)

            # Stable softmax + cross-entropy: log-sum-exp of the shifted logits.
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            sum_exp = exp.sum(axis=1, keepdims=True)
            loss_total += float(np.mean(np.log(sum_exp[:, 0]) - logits[rows, yb]))
            batches += 1

            # dZ = (softmax - onehot) / B
            grad = exp
            grad /= sum_exp
            grad[rows, yb] -= np.float32(1.0)
            grad *= np.float32(1.0 / bsz)

            for i in range(len(weights) - 1, -1, -1):
                a_prev = activations[i]
                grad_w = a_prev.T @ grad
                grad_b = grad.sum(axis=0)
                if i > 0:  # the input layer needs no input gradient
                    grad = grad @ weights[i].T
                    grad *= a_prev > 0  # ReLU'
                if use_momentum:
                    vel_w[i] *= mu
                    vel_w[i] += grad_w
                    vel_b[i] *= mu
                    vel_b[i] += grad_b
                    grad_w, grad_b = vel_w[i], vel_b[i]
                weights[i] -= lr * grad_w
                biases[i] -= lr * grad_b
        secs = time.perf_counter() - t_epoch

        _, test_logits = forward(x_test, weights, biases)
        acc = float(np.mean(test_logits.argmax(axis=1) == y_test))
        loss = loss_total / batches
        epoch_secs.append(secs)
        accs.append(acc)
        losses.append(loss)
        common.epoch_line(epoch, secs, loss, acc)

    assert all(w.dtype == np.float32 for w in weights), "weights must stay float32"
    common.summary("numpy", args, epoch_secs, accs, losses, time.perf_counter() - T_START,
                   {"numpy": np.__version__, "blas": blas_description()})


if __name__ == "__main__":
    main()
