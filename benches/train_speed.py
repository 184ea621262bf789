#!/usr/bin/env python3
"""PyTorch's training throughput on the shapes `ccsep train` is timed at (benches/README.md):
the index task at n = 63 (alphabet 2: vocabulary 65 tokens, sequences of 64), batch 64, width 64,
the loss read at the last position over 65 classes (ccsep's head has one output per vocabulary
token for a task whose answer is a token), AdamW at lr 1e-3 with the gradient's global norm
clipped to 1.0. The two networks are src/train/net.rs's:

- lstm: nn.Embedding(65, 64) -> nn.LSTM(64, 64) (PyTorch's equations, both biases) -> Linear(64, 65)
  on every position (as ccsep computes it), the last one scored;
- transformer: nn.Embedding(65, 64) + a learned positional table [64, 64], one pre-LN block
  (LayerNorm, attention with q/k/v/o Linear(64, 64) with biases, 1 head, causal, scaled by
  1/sqrt(d_k); LayerNorm, MLP 64 -> 256 -> 64 with ReLU), final LayerNorm, Linear(64, 65).

Random tokens and random targets (the timing does not depend on the data). float32. Warms up
for 10 steps, then times --steps steps, --reps times, and prints one JSON line per network with
the median steps/s.

    python3 benches/train_speed.py --threads 1 --steps 200
"""

import argparse
import json
import math
import os
import statistics
import time

import torch
from torch import nn

V, T, D, FF, B, OUT = 65, 64, 64, 256, 64, 65


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, D)
        self.rnn = nn.LSTM(D, D, batch_first=True)
        self.head = nn.Linear(D, OUT)

    def forward(self, tokens):  # [B, T] -> [B, T, OUT]
        h, _ = self.rnn(self.embedding(tokens))
        return self.head(h)


class Transformer(nn.Module):
    def __init__(self, heads=1):
        super().__init__()
        self.heads = heads
        self.embedding = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.randn(T, D) * 0.1)
        self.ln1 = nn.LayerNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.ln2 = nn.LayerNorm(D)
        self.fc1, self.fc2 = nn.Linear(D, FF), nn.Linear(FF, D)
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, OUT)
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1))

    def forward(self, tokens):  # [B, T] -> [B, T, OUT]
        b, t = tokens.shape
        x = self.embedding(tokens) + self.pos[:t]
        a = self.ln1(x)
        h, dk = self.heads, D // self.heads
        split = lambda u: u.view(b, t, h, dk).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(a)), split(self.k(a)), split(self.v(a))
        s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dk))
        p = torch.softmax(s.masked_fill(self.mask[:t, :t], float("-inf")), dim=-1)
        u = (p @ v).transpose(1, 2).reshape(b, t, D)
        x = x + self.o(u)
        x = x + self.fc2(torch.relu(self.fc1(self.ln2(x))))
        return self.head(self.ln_f(x))


def steps_per_s(model, steps, reps, warmup, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        tokens = torch.randint(0, 2, (B, T), generator=g)
        tokens[:, -1] = 2 + torch.randint(0, T - 1, (B,), generator=g)  # a query token
        targets = torch.randint(0, 2, (B,), generator=g)
        logits = model(tokens)[:, -1]  # every position computed, the last scored
        loss = loss_fn(logits, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - t0))
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--steps", type=int, default=200, help="timed steps per repetition")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (the median is reported)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--arch", choices=["lstm", "transformer", "both"], default="both")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    archs = ["lstm", "transformer"] if a.arch == "both" else [a.arch]
    for arch in archs:
        model = Lstm() if arch == "lstm" else Transformer()
        rates = steps_per_s(model, a.steps, a.reps, a.warmup, a.seed)
        print(
            json.dumps(
                {
                    "framework": f"torch {torch.__version__}",
                    "arch": arch,
                    "threads": a.threads,
                    "batch": B,
                    "length": T,
                    "width": D,
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "steps": a.steps,
                    "steps_per_s": statistics.median(rates),
                    "steps_per_s_all": rates,
                    "loadavg": os.getloadavg()[0],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
