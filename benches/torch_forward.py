#!/usr/bin/env python3
"""PyTorch's forward throughput on the shapes of benches/models.rs, on this CPU, 2 threads:
65,536 sequences of length 16, width 32; an nn.LSTM(32, 32) and a 1-layer Transformer (4 heads,
MLP 128, pre-LN, learned positions, causal) built as scripts/export_torch.py's reference module
but batched. float32, no autograd. Prints the median of 3 runs after a warm-up.

    python benches/torch_forward.py
"""

import math
import statistics
import time

import torch
from torch import nn

B, T, D, H, FF = 65_536, 16, 32, 4, 128


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(D, D)
        self.pos = nn.Embedding(T, D)
        self.ln1 = nn.LayerNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.ln2 = nn.LayerNorm(D)
        self.fc1, self.fc2 = nn.Linear(D, FF), nn.Linear(FF, D)
        self.ln_f = nn.LayerNorm(D)
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1))

    def forward(self, x, sdpa=False):  # [B, T, D]
        h = self.embed(x) + self.pos.weight
        a = self.ln1(h)
        split = lambda u: u.view(B, T, H, D // H).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(a)), split(self.k(a)), split(self.v(a))
        if sdpa:
            u = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D // H))
            p = torch.softmax(s.masked_fill(self.mask, float("-inf")), dim=-1)
            u = p @ v
        u = u.transpose(1, 2).reshape(B, T, D)
        h = h + self.o(u)
        h = h + self.fc2(torch.relu(self.fc1(self.ln2(h))))
        return self.ln_f(h)[:, -1]


def timeit(f, x):
    with torch.no_grad():
        f(x)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            f(x)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    x = torch.rand(B, T, D) * 2 - 1
    lstm = nn.LSTM(D, D, batch_first=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"lstm_65536x16        f32  {timeit(lambda x: lstm(x)[0][:, -1], x):.3f} s")
    tr = Transformer()
    print(f"transformer_65536x16 f32  {timeit(tr, x):.3f} s  (explicit softmax attention)")
    print(f"transformer_65536x16 f32  {timeit(lambda x: tr(x, sdpa=True), x):.3f} s  (scaled_dot_product_attention)")


if __name__ == "__main__":
    main()
