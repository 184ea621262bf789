#!/usr/bin/env python3
"""A batched PyTorch reference of `ccsep check --task index --arch lstm` (the prefix / suffix
protocol of an LSTM on INDEX_n), to time ccsep's enumeration against.

It runs the same enumeration ccsep runs, as well as PyTorch allows: Alice's inputs depth by
depth (the trie of her bit strings), the LSTM stepped once per distinct state and next bit, the
states rounded to fixed:I.F after every op exactly as ccsep's LSTM rounds (gate pre-activations,
each activation, f*c, i*g, their sum, tanh(c), o*tanh(c)), merged with torch.unique; then every
distinct message runs every Bob query (one step with the token @i) and the exact accuracy is
counted over all 2^n * n instances. float64 throughout: with values on a fixed-point grid every
product and sum is exact, so the states match ccsep's bit for bit except where an activation
lands exactly on a rounding tie (PyTorch's and ccsep's exp differ in the last ulp).

    python benches/check_torch.py --n 24 --width 32 --int 1 --frac 6 [--threads 2] \
        [--save W.safetensors]

`--save` writes the random weights (PyTorch's names, plus head.weight / head.bias) so that
`ccsep check --task index --arch lstm --weights W.safetensors --precision fixed:1.6 --n 24`
checks the same model; the script prints distinct messages and accuracy to compare.
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn


def quantiser(int_bits, frac_bits):
    scale = 2.0**frac_bits
    top = 2.0**int_bits - 2.0**-frac_bits

    def q(x):
        return torch.clamp(torch.round(x * scale) / scale, -top, top)

    return q


def run(args, lstm, head):
    q = quantiser(args.int, args.frac)
    n, hdim = args.n, args.width
    w_ih = q(lstm.weight_ih_l0.detach().double())
    w_hh = q(lstm.weight_hh_l0.detach().double())
    b_ih = q(lstm.bias_ih_l0.detach().double())
    b_hh = q(lstm.bias_hh_l0.detach().double())
    hw = q(head.weight.detach().double())
    hb = q(head.bias.detach().double())
    vocab = 2 + n

    def step(h, c, token):
        # Pre-activations as ccsep: round(W_ih x) + b_ih rounded, same for h, then their sum.
        x = w_ih[:, token]  # one-hot input: the column of the token
        gi = q(q(x) + b_ih)
        gh = q(q(h @ w_hh.T) + b_hh)
        g = q(gi + gh)
        i, f, gg, o = g.split(hdim, dim=1)
        i, f, o = q(torch.sigmoid(i)), q(torch.sigmoid(f)), q(torch.sigmoid(o))
        gg = q(torch.tanh(gg))
        c2 = q(q(f * c) + q(i * gg))
        h2 = q(o * q(torch.tanh(c2)))
        return h2, c2

    start = time.perf_counter()
    h = torch.zeros(1, hdim, dtype=torch.float64)
    c = torch.zeros(1, hdim, dtype=torch.float64)
    cls = torch.zeros(1, dtype=torch.int64)  # class of every Alice input read so far
    for d in range(n):
        h0, c0 = step(h, c, 0)
        h1, c1 = step(h, c, 1)
        hs = torch.cat([h0, h1])
        cs = torch.cat([c0, c1])
        states, inverse = torch.unique(torch.cat([hs, cs], dim=1), dim=0, return_inverse=True)
        k = h.shape[0]
        # Input x (bits 0..d) extends x mod 2^d with bit d: child index bit * k + class.
        cls = torch.cat([inverse[cls], inverse[k + cls]])
        h, c = states[:, :hdim].contiguous(), states[:, hdim:].contiguous()
    messages = h.shape[0]
    correct = 0
    xs = torch.arange(1 << n, dtype=torch.int64)
    for i in range(n):
        hq, _ = step(h, c, 2 + i)
        out = q(q(hq @ hw.T) + hb)[:, 0]
        answer = out > 0
        bits = ((xs >> i) & 1).bool()
        correct += int((answer[cls] == bits).sum())
    elapsed = time.perf_counter() - start
    return elapsed, messages, correct / ((1 << n) * n), vocab


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--int", type=int, default=1)
    ap.add_argument("--frac", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--save", help="write the weights here (safetensors) for ccsep")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vocab = 2 + args.n
    lstm = nn.LSTM(vocab, args.width)
    head = nn.Linear(args.width, 1)
    if args.save:
        from safetensors.torch import save_file

        tensors = {k: v.detach().contiguous() for k, v in lstm.state_dict().items()}
        tensors["head.weight"] = head.weight.detach().contiguous()
        tensors["head.bias"] = head.bias.detach().contiguous()
        save_file(tensors, args.save)
    times = []
    for _ in range(args.runs):
        with torch.no_grad():
            t, messages, accuracy, _ = run(args, lstm, head)
        times.append(t)
    print(
        json.dumps(
            {
                "n": args.n,
                "width": args.width,
                "precision": f"fixed:{args.int}.{args.frac}",
                "threads": args.threads,
                "median_s": statistics.median(times),
                "runs_s": times,
                "distinct_messages": messages,
                "accuracy": accuracy,
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
