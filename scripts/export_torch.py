#!/usr/bin/env python3
"""Write PyTorch models as safetensors files that `ccsep` loads (`ccsep run --weights W`).

The RNN, LSTM and GRU need nothing special: a `torch.nn.RNN/LSTM/GRU` state dict (under any
prefix such as `rnn.`, with an optional `head = nn.Linear(H, O)` beside it) loads as is;
`export` only adds the `ccsep.*` metadata. The SSM, linear attention and Transformer follow the
ccsep scheme, which the reference modules below produce by their attribute names:

  Transformer (module doc of src/model/transformer.rs)
    embed.weight [d, I] (+ .bias); pos.weight [max_len, d] if the code is a table;
    layers.{l}.ln1.{weight,bias}, layers.{l}.attn.{q,k,v,o}.{weight,bias},
    layers.{l}.ln2.{weight,bias}, layers.{l}.mlp.fc1.{weight,bias}, layers.{l}.mlp.fc2.{weight,bias};
    ln_f.{weight,bias}; head.{weight,bias}
    metadata: ccsep.heads, ccsep.causal, ccsep.pos (none | table | sinusoidal), ccsep.ln_eps
  DiagonalSSM: ssm.a [N], ssm.B [N, I], ssm.C [O, N]
  LinearAttention: linear_attention.{q,k,v}.{weight,bias}, head.{weight,bias}; metadata ccsep.eps

Usage as a script: export a state dict saved with `torch.save(model.state_dict(), IN)`:
  python scripts/export_torch.py IN.pt OUT.safetensors --arch transformer --heads 2 [--full]
"""

import argparse
import math

import torch
from torch import nn
from safetensors.torch import save_file


def sinusoid(length, d, dtype=torch.float64):
    """pos[t, 2i] = sin(t / 10000^(2i/d)), pos[t, 2i+1] = cos(...), computed in float64."""
    rows = []
    for t in range(length):
        row = []
        for c in range(d):
            angle = t / 10000 ** ((c - c % 2) / d)
            row.append(math.sin(angle) if c % 2 == 0 else math.cos(angle))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64).to(dtype)


class Attention(nn.Module):
    def __init__(self, d, heads, dk, dv):
        super().__init__()
        self.heads, self.dk, self.dv = heads, dk, dv
        self.q = nn.Linear(d, heads * dk)
        self.k = nn.Linear(d, heads * dk)
        self.v = nn.Linear(d, heads * dv)
        self.o = nn.Linear(heads * dv, d)

    def forward(self, a, causal):
        t = a.shape[0]
        q = self.q(a).view(t, self.heads, self.dk).transpose(0, 1)
        k = self.k(a).view(t, self.heads, self.dk).transpose(0, 1)
        v = self.v(a).view(t, self.heads, self.dv).transpose(0, 1)
        s = (q @ k.transpose(1, 2)) * (1.0 / math.sqrt(self.dk))
        if causal:
            mask = torch.ones(t, t, dtype=torch.bool).triu(1)
            s = s.masked_fill(mask, float("-inf"))
        p = torch.softmax(s, dim=-1)
        u = (p @ v).transpose(0, 1).reshape(t, self.heads * self.dv)
        return self.o(u)


class Mlp(nn.Module):
    def __init__(self, d, d_ff):
        super().__init__()
        self.fc1 = nn.Linear(d, d_ff)
        self.fc2 = nn.Linear(d_ff, d)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, d, heads, d_ff, layer_norm, eps):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=eps) if layer_norm else None
        self.attn = Attention(d, heads, d // heads, d // heads)
        self.ln2 = nn.LayerNorm(d, eps=eps) if (layer_norm and d_ff) else None
        self.mlp = Mlp(d, d_ff) if d_ff else None


class Transformer(nn.Module):
    """The ccsep Transformer: pre-LN, ReLU MLP, residuals; forward(x [T, I]) returns the
    residual stream after the last layer, the hidden vectors (after ln_f) and the outputs."""

    def __init__(self, input, d, heads, layers, d_ff=None, output=None, layer_norm=True,
                 pos="table", max_len=16, causal=True, eps=1e-5):
        super().__init__()
        self.heads, self.causal, self.pos_kind, self.eps = heads, causal, pos, eps
        self.embed = nn.Linear(input, d)
        self.pos = nn.Embedding(max_len, d) if pos == "table" else None
        self.layers = nn.ModuleList(Block(d, heads, d_ff, layer_norm, eps) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, eps=eps) if layer_norm else None
        self.head = nn.Linear(d, output) if output else None

    def forward(self, x):
        t = x.shape[0]
        h = self.embed(x)
        if self.pos_kind == "table":
            h = h + self.pos.weight[:t]
        elif self.pos_kind == "sinusoidal":
            h = h + sinusoid(t, h.shape[1], h.dtype)
        for blk in self.layers:
            a = blk.ln1(h) if blk.ln1 is not None else h
            h = h + blk.attn(a, self.causal)
            if blk.mlp is not None:
                b = blk.ln2(h) if blk.ln2 is not None else h
                h = h + blk.mlp(b)
        hidden = self.ln_f(h) if self.ln_f is not None else h
        out = self.head(hidden) if self.head is not None else hidden
        return h, hidden, out

    def metadata(self):
        return {"ccsep.arch": "transformer", "ccsep.heads": str(self.heads),
                "ccsep.causal": "true" if self.causal else "false",
                "ccsep.pos": self.pos_kind, "ccsep.ln_eps": repr(self.eps)}


class _SsmParams(nn.Module):
    def __init__(self, input, state, output):
        super().__init__()
        self.a = nn.Parameter(torch.rand(state) * 0.5 + 0.5)
        self.B = nn.Parameter(torch.randn(state, input) / math.sqrt(input))
        self.C = nn.Parameter(torch.randn(output, state) / math.sqrt(state))


class DiagonalSSM(nn.Module):
    """h_t = a * h_{t-1} + B x_t, y_t = C h_t; forward(x [T, I]) returns (states, outputs)."""

    def __init__(self, input, state, output):
        super().__init__()
        self.ssm = _SsmParams(input, state, output)

    def forward(self, x):
        p = self.ssm
        h = torch.zeros(p.a.shape[0], dtype=x.dtype)
        states, outs = [], []
        for xt in x:
            h = p.a * h + p.B @ xt
            states.append(h)
            outs.append(p.C @ h)
        return torch.stack(states), torch.stack(outs)

    def metadata(self):
        return {"ccsep.arch": "ssm"}


class _LinearAttentionParams(nn.Module):
    def __init__(self, input, key, value):
        super().__init__()
        self.q = nn.Linear(input, key)
        self.k = nn.Linear(input, key)
        self.v = nn.Linear(input, value)


class LinearAttention(nn.Module):
    """Causal linear attention with phi = elu + 1, run as an RNN; forward(x [T, I]) returns
    (states [T, dk*dv + dk], hidden [T, dv], outputs)."""

    def __init__(self, input, key, value, output=None, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.linear_attention = _LinearAttentionParams(input, key, value)
        self.head = nn.Linear(value, output) if output else None

    def forward(self, x):
        p = self.linear_attention
        phi = lambda u: torch.nn.functional.elu(u) + 1  # noqa: E731
        dk, dv = p.q.out_features, p.v.out_features
        s = torch.zeros(dk, dv, dtype=x.dtype)
        z = torch.zeros(dk, dtype=x.dtype)
        states, hidden, outs = [], [], []
        for xt in x:
            q, k, v = phi(p.q(xt)), phi(p.k(xt)), p.v(xt)
            s = s + torch.outer(k, v)
            z = z + k
            o = (s.T @ q) / (z @ q + self.eps)
            states.append(torch.cat([s.reshape(-1), z]))
            hidden.append(o)
            outs.append(self.head(o) if self.head is not None else o)
        return torch.stack(states), torch.stack(hidden), torch.stack(outs)

    def metadata(self):
        return {"ccsep.arch": "linear-attention", "ccsep.eps": repr(self.eps)}


def export(state_dict, path, metadata):
    """Writes a state dict (tensors made contiguous, dtype kept) with string metadata."""
    tensors = {k: v.detach().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(path), metadata={k: str(v) for k, v in metadata.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="a state dict saved with torch.save")
    ap.add_argument("output", help="the safetensors file to write")
    ap.add_argument("--arch", required=True,
                    choices=["rnn", "lstm", "gru", "ssm", "linear-attention", "transformer"])
    ap.add_argument("--heads", type=int, help="Transformer: number of heads")
    ap.add_argument("--full", action="store_true", help="Transformer: full (non-causal) attention")
    ap.add_argument("--pos", choices=["none", "table", "sinusoidal"], help="Transformer: positional code")
    ap.add_argument("--ln-eps", type=float, default=1e-5)
    ap.add_argument("--nonlinearity", choices=["tanh", "relu"], help="RNN: activation")
    ap.add_argument("--eps", type=float, default=1e-6, help="linear attention: eps")
    a = ap.parse_args()
    sd = torch.load(a.input, map_location="cpu", weights_only=True)
    meta = {"ccsep.arch": a.arch}
    if a.arch == "transformer":
        if a.heads is None:
            ap.error("--heads is required for a Transformer")
        pos = a.pos or ("table" if any(k.endswith("pos.weight") for k in sd) else "none")
        meta.update({"ccsep.heads": a.heads, "ccsep.causal": "false" if a.full else "true",
                     "ccsep.pos": pos, "ccsep.ln_eps": repr(a.ln_eps)})
    if a.arch == "rnn" and a.nonlinearity:
        meta["ccsep.nonlinearity"] = a.nonlinearity
    if a.arch == "linear-attention":
        meta["ccsep.eps"] = repr(a.eps)
    export(sd, a.output, meta)


if __name__ == "__main__":
    main()
