#!/usr/bin/env python3
"""Peer: the homework MLP with torch tensor operations only, float32, on the CPU.

No autograd (everything runs under torch.no_grad() on plain tensors, .backward() is never
called), no torch.nn, no built-in loss, activation or optimizer. Same algorithm as
numpy_mlp.py: ReLU hidden layers, stable softmax + cross-entropy, dZ = (softmax - onehot) / B,
SGD with momentum (v = mu*v + g; p -= lr*v; plain SGD when mu = 0), He-normal weights and
zero biases, inputs pixel/255, batches reshuffled every epoch, test accuracy after every
epoch (not counted in the epoch's training seconds).

    python3 torch_mlp.py --hidden 256 --batch 128 --lr 0.1 --momentum 0.9 --epochs 20 --threads 2
"""
import os
import sys
import time

T_START = time.perf_counter()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

common.pin_threads(sys.argv)  # before torch loads its OpenMP runtime

import torch  # noqa: E402

from idx import load_mnist  # noqa: E402  (NumPy arrays, shared with the NumPy peer)


def forward(x, weights, biases):
    """Activations [x, h1, ..., h_last] and the logits."""
    activations = [x]
    a = x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = torch.addmm(b, a, w)  # a @ w + b
        if i < last:
            a = z.clamp_min_(0.0)  # ReLU, in place
            activations.append(a)
        else:
            a = z
    return activations, a


def main():
    args = common.parse_args("Homework MNIST MLP with torch tensor ops (manual gradients, no autograd)")
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    sizes = [784] + args.hidden_sizes + [10]

    t0 = time.perf_counter()
    try:
        arrays = load_mnist(args.data_dir)
    except (OSError, ValueError) as e:
        sys.exit(f"error: {e}")
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in arrays)
    load_secs = time.perf_counter() - t0
    n = x_train.shape[0]

    # He-normal weights: N(0, 2 / fan_in); zero biases. Plain tensors: requires_grad is False.
    weights = [torch.randn(fan_in, fan_out, generator=gen) * (2.0 / fan_in) ** 0.5
               for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
    biases = [torch.zeros(fan_out) for fan_out in sizes[1:]]
    use_momentum = args.momentum != 0.0
    vel_w = [torch.zeros_like(w) for w in weights]
    vel_b = [torch.zeros_like(b) for b in biases]
    lr, mu = args.lr, args.momentum

    print(f"torch {torch.__version__} threads={torch.get_num_threads()} "
          f"cpu_capability={torch.backends.cpu.get_cpu_capability()} sizes={sizes} "
          f"batch={args.batch} lr={args.lr} momentum={args.momentum} seed={args.seed} "
          f"load={load_secs:.2f}s", flush=True)

    epoch_secs, accs, losses = [], [], []
    for epoch in range(1, args.epochs + 1):
        t_epoch = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        loss_total = torch.zeros((), dtype=torch.float64)  # summed without a per-batch sync
        batches = 0
        for start in range(0, n, args.batch):
            idx = order[start:start + args.batch]
            xb, yb = x_train[idx], y_train[idx]
            bsz = xb.shape[0]
            rows = torch.arange(bsz)
            activations, logits = forward(xb, weights, biases)

            # Stable softmax + cross-entropy: log-sum-exp of the shifted logits.
            logits.sub_(logits.max(dim=1, keepdim=True).values)
            exp = logits.exp()
            sum_exp = exp.sum(dim=1, keepdim=True)
            loss_total += (sum_exp.log().squeeze(1) - logits[rows, yb]).mean()
            batches += 1

            # dZ = (softmax - onehot) / B
            grad = exp.div_(sum_exp)
            grad[rows, yb] -= 1.0
            grad.mul_(1.0 / bsz)

            for i in range(len(weights) - 1, -1, -1):
                a_prev = activations[i]
                grad_w = a_prev.t() @ grad
                grad_b = grad.sum(dim=0)
                if i > 0:  # the input layer needs no input gradient
                    grad = (grad @ weights[i].t()).mul_(a_prev > 0)  # ReLU'
                if use_momentum:
                    grad_w = vel_w[i].mul_(mu).add_(grad_w)
                    grad_b = vel_b[i].mul_(mu).add_(grad_b)
                weights[i].sub_(grad_w, alpha=lr)
                biases[i].sub_(grad_b, alpha=lr)
        secs = time.perf_counter() - t_epoch

        _, test_logits = forward(x_test, weights, biases)
        acc = (test_logits.argmax(dim=1) == y_test).double().mean().item()
        loss = (loss_total / batches).item()
        epoch_secs.append(secs)
        accs.append(acc)
        losses.append(loss)
        common.epoch_line(epoch, secs, loss, acc)

    assert all(w.dtype == torch.float32 and not w.requires_grad for w in weights)
    common.summary("torch", args, epoch_secs, accs, losses, time.perf_counter() - T_START,
                   {"torch": torch.__version__,
                    "cpu_capability": torch.backends.cpu.get_cpu_capability()})


if __name__ == "__main__":
    with torch.no_grad():
        main()
