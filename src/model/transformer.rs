//! A softmax Transformer: `L` layers, `H` heads, residual connections, an optional ReLU MLP,
//! optional pre-LN layer norm, a positional code, causal or full attention, an output head.
//!
//! For inputs `x_0 … x_{T−1}` (vectors of size `I`):
//! ```text
//! X_t   = embed(x_t) + pos_t                              (pos_t = 0 without a positional code)
//! per layer:
//!   A_t = LN1(X_t)  (or X_t)      q_t, k_t, v_t = W_q A_t + b_q, W_k A_t + b_k, W_v A_t + b_v
//!   per head h: s_tj = (q_t^h ⋅ k_j^h) · c,  c = 1/√d_k,  j ≤ t if causal else all j
//!               p_tj = exp(s_tj − max_j s_tj) / Σ_j exp(s_tj − max_j s_tj),  u_t^h = Σ_j p_tj v_j^h
//!   X_t  += W_o [u_t^1 … u_t^H] + b_o
//!   X_t  += W_2 relu(W_1 LN2(X_t) + b_1) + b_2            (if the layer has an MLP)
//! hidden_t = LN_f(X_t) (or X_t),   output_t = head(hidden_t) (or hidden_t)
//! ```
//! `LN(x) = (x − mean) / √(var + ε) ⊙ w + b` with the biased variance, as `nn.LayerNorm`.
//!
//! Rounding (see `kernel`): every `Linear` as one rounded dot product per row then a rounded bias
//! add; each score one rounded dot product, then `round(s · c)` with `c` rounded like a weight;
//! the max is exact; `round(exp(round(s − max)))`; the normaliser `Σ_j` one rounded sum;
//! `round(e / Σ)`; `u` one rounded dot product over `j` per coordinate; every residual add rounded.
//! LayerNorm: `mean = round(round(Σ x) / n)`, `d = round(x − mean)`,
//! `var = round(round(d ⋅ d) / n)`, `σ = round(√round(var + ε))`, `round(round(round(d / σ) · w) + b)`.
//! The positional code is rounded to the format (it is a parameter), as is `ε`.
//!
//! In a `Trace` the *state* at position `t` is the residual stream `X_t` after the last layer
//! (`d_model` numbers), *hidden* is `LN_f(X_t)`, *outputs* the head's output.
//!
//! Weights (the ccsep scheme; `scripts/export_torch.py` writes it), possibly under a prefix:
//! - `embed.weight` `[d_model, I]`, `embed.bias` `[d_model]` (optional);
//! - `pos.weight` `[max_len, d_model]`: a learned table or given vectors (metadata
//!   `ccsep.pos = table`); `ccsep.pos = sinusoidal` uses `pos_t[2i] = sin(t / 10000^(2i/d))`,
//!   `pos_t[2i+1] = cos(t / 10000^(2i/d))` (computed in `f64`); `none` (the default without
//!   `pos.weight`) adds nothing;
//! - per layer `l = 0, 1, …`: `layers.{l}.attn.{q,k}.weight` `[H·d_k, d_model]`,
//!   `layers.{l}.attn.v.weight` `[H·d_v, d_model]`, `layers.{l}.attn.o.weight` `[d_model, H·d_v]`,
//!   each with an optional `.bias`; `layers.{l}.ln1.{weight,bias}`, `layers.{l}.ln2.{weight,bias}`
//!   `[d_model]` (optional); `layers.{l}.mlp.fc1.weight` `[d_ff, d_model]`,
//!   `layers.{l}.mlp.fc2.weight` `[d_model, d_ff]` with optional biases (optional: no MLP);
//! - `ln_f.{weight,bias}` `[d_model]` (optional); `head.weight` `[O, d_model]`, `head.bias`
//!   (optional);
//! - metadata: `ccsep.heads` (required, or the load option), `ccsep.causal` (`true` by default),
//!   `ccsep.pos`, `ccsep.ln_eps` (default `1e-5`).

use rand_chacha::ChaCha8Rng;

use super::kernel::{Act, Arith};
use super::linear::{Linear, Matrix, buf, rounded_vec};
use super::weights::{TensorWriter, Tensors};
use crate::error::InputError;
use crate::numeric::Stats;

/// Default `ε` of the layer norms (PyTorch's).
pub const DEFAULT_LN_EPS: f64 = 1e-5;

/// The positional code added to the embedded input.
#[derive(Clone, Debug, PartialEq)]
pub enum PosCode {
    None,
    /// A `[max_len, d_model]` table: learned, or given vectors such as nearly orthogonal codes.
    Table(Matrix),
    /// The sinusoidal code of Vaswani et al., for any length.
    Sinusoidal,
}

/// `nn.LayerNorm(d)` with its affine parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm {
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
    pub eps: f64,
}

/// One layer: attention (and its layer norm), then the optional MLP (and its layer norm).
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub ln1: Option<LayerNorm>,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub ln2: Option<LayerNorm>,
    pub mlp: Option<(Linear, Linear)>,
}

/// The Transformer: valid by construction (every shape checked in `new`).
#[derive(Clone, Debug, PartialEq)]
pub struct Transformer {
    embed: Linear,
    pos: PosCode,
    blocks: Vec<Block>,
    ln_f: Option<LayerNorm>,
    head: Option<Linear>,
    heads: usize,
    causal: bool,
}

/// Per-position vectors of a lane block: `[position][dim · L]`.
pub(crate) struct LaneTrace {
    pub states: Vec<Vec<f64>>,
    pub hidden: Vec<Vec<f64>>,
    pub outputs: Vec<Vec<f64>>,
}

fn err(msg: String) -> InputError {
    InputError::new(msg)
}

impl Transformer {
    pub fn new(
        embed: Linear,
        pos: PosCode,
        blocks: Vec<Block>,
        ln_f: Option<LayerNorm>,
        head: Option<Linear>,
        heads: usize,
        causal: bool,
    ) -> Result<Self, InputError> {
        let d = embed.out_size();
        if d == 0 || embed.in_size() == 0 || heads == 0 {
            return Err(err(format!(
                "a Transformer needs d_model, input size and heads ≥ 1 (got {d}, {}, {heads})",
                embed.in_size()
            )));
        }
        if let PosCode::Table(t) = &pos
            && t.cols() != d
        {
            return Err(err(format!(
                "positional table has {} columns, d_model is {d}",
                t.cols()
            )));
        }
        let ln_ok = |ln: &Option<LayerNorm>, what: &str| match ln {
            Some(n)
                if n.weight.len() != d || n.bias.len() != d || n.eps.is_nan() || n.eps <= 0.0 =>
            {
                Err(err(format!(
                    "{what}: layer norm needs weight and bias of size {d} and eps > 0"
                )))
            }
            _ => Ok(()),
        };
        let lin = |l: &Linear, what: &str, input: usize, output: Option<usize>| {
            if l.in_size() != input || output.is_some_and(|o| o != l.out_size()) {
                Err(err(format!(
                    "{what} has shape [{}, {}], expected [{}, {input}]",
                    l.out_size(),
                    l.in_size(),
                    output.map_or("*".to_string(), |o| o.to_string())
                )))
            } else {
                Ok(())
            }
        };
        for (i, b) in blocks.iter().enumerate() {
            let w = |s: &str| format!("layer {i} {s}");
            ln_ok(&b.ln1, &w("ln1"))?;
            ln_ok(&b.ln2, &w("ln2"))?;
            let qk = b.q.out_size();
            if qk == 0 || qk % heads != 0 || b.v.out_size() == 0 || b.v.out_size() % heads != 0 {
                return Err(err(format!(
                    "layer {i}: q and v need H·d_k and H·d_v rows with H = {heads} (got {qk} and {})",
                    b.v.out_size()
                )));
            }
            lin(&b.q, &w("attn.q.weight"), d, None)?;
            lin(&b.k, &w("attn.k.weight"), d, Some(qk))?;
            lin(&b.v, &w("attn.v.weight"), d, None)?;
            lin(&b.o, &w("attn.o.weight"), b.v.out_size(), Some(d))?;
            if let Some((f1, f2)) = &b.mlp {
                lin(f1, &w("mlp.fc1.weight"), d, None)?;
                lin(f2, &w("mlp.fc2.weight"), f1.out_size(), Some(d))?;
            }
        }
        ln_ok(&ln_f, "ln_f")?;
        if let Some(h) = &head {
            lin(h, "head.weight", d, None)?;
        }
        Ok(Transformer {
            embed,
            pos,
            blocks,
            ln_f,
            head,
            heads,
            causal,
        })
    }

    pub fn embed(&self) -> &Linear {
        &self.embed
    }

    pub fn pos(&self) -> &PosCode {
        &self.pos
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn ln_f(&self) -> Option<&LayerNorm> {
        self.ln_f.as_ref()
    }

    pub fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    pub fn heads(&self) -> usize {
        self.heads
    }

    pub fn causal(&self) -> bool {
        self.causal
    }

    pub fn d_model(&self) -> usize {
        self.embed.out_size()
    }

    pub fn input_size(&self) -> usize {
        self.embed.in_size()
    }

    pub fn output_size(&self) -> usize {
        self.head.as_ref().map_or(self.d_model(), Linear::out_size)
    }

    /// The longest input the positional code covers.
    pub fn max_len(&self) -> Option<usize> {
        match &self.pos {
            PosCode::Table(t) => Some(t.rows()),
            _ => None,
        }
    }

    pub(crate) fn load(
        t: &Tensors,
        prefix: &str,
        heads: Option<usize>,
        causal: Option<bool>,
    ) -> Result<Self, InputError> {
        let n = |s: &str| format!("{prefix}{s}");
        let path = t.path().display().to_string();
        let (d, input) = t.dims2(&n("embed.weight"))?;
        let embed = t.linear(&n("embed"), input, d)?;
        let heads = match heads {
            Some(h) => h,
            None => t.meta_parse("ccsep.heads")?.ok_or_else(|| {
                err(format!(
                    "'{path}' does not say how many heads the Transformer has (metadata ccsep.heads); give it as an option"
                ))
            })?,
        };
        let causal = match causal {
            Some(c) => c,
            None => t.meta_parse("ccsep.causal")?.unwrap_or(true),
        };
        let eps = t.meta_parse("ccsep.ln_eps")?.unwrap_or(DEFAULT_LN_EPS);
        let pos_kind = t.meta("ccsep.pos").map(str::to_string).unwrap_or_else(|| {
            if t.contains(&n("pos.weight")) {
                "table".into()
            } else {
                "none".into()
            }
        });
        let pos = match pos_kind.as_str() {
            "none" => PosCode::None,
            "sinusoidal" => PosCode::Sinusoidal,
            "table" | "learned" | "given" => {
                let (rows, _) = t.dims2(&n("pos.weight"))?;
                PosCode::Table(t.matrix(&n("pos.weight"), rows, d)?)
            }
            other => {
                return Err(err(format!(
                    "'{path}': metadata ccsep.pos = {other:?}; use none, table or sinusoidal"
                )));
            }
        };
        let ln = |name: &str| -> Result<Option<LayerNorm>, InputError> {
            let w = t.get_opt(&n(&format!("{name}.weight")), &[d])?;
            let b = t.get_opt(&n(&format!("{name}.bias")), &[d])?;
            match (w, b) {
                (None, None) => Ok(None),
                (w, b) => Ok(Some(LayerNorm {
                    weight: w.unwrap_or_else(|| vec![1.0; d]),
                    bias: b.unwrap_or_else(|| vec![0.0; d]),
                    eps,
                })),
            }
        };
        let mut blocks = Vec::new();
        for l in 0.. {
            let p = |s: &str| format!("layers.{l}.{s}");
            if !t.contains(&n(&p("attn.q.weight"))) {
                break;
            }
            let (qk, _) = t.dims2(&n(&p("attn.q.weight")))?;
            let (vd, _) = t.dims2(&n(&p("attn.v.weight")))?;
            let mlp = match t.linear_opt(&n(&p("mlp.fc1")), d)? {
                None => None,
                Some(f1) => {
                    let f2 = t.linear(&n(&p("mlp.fc2")), f1.out_size(), d)?;
                    Some((f1, f2))
                }
            };
            blocks.push(Block {
                ln1: ln(&p("ln1"))?,
                q: t.linear(&n(&p("attn.q")), d, qk)?,
                k: t.linear(&n(&p("attn.k")), d, qk)?,
                v: t.linear(&n(&p("attn.v")), d, vd)?,
                o: t.linear(&n(&p("attn.o")), vd, d)?,
                ln2: ln(&p("ln2"))?,
                mlp,
            });
        }
        let ln_f = ln("ln_f")?;
        let head = t.linear_opt(&n("head"), d)?;
        Transformer::new(embed, pos, blocks, ln_f, head, heads, causal)
    }

    pub(crate) fn save(&self, w: &mut TensorWriter) {
        w.linear("embed", &self.embed);
        let ln = |w: &mut TensorWriter, name: &str, n: &LayerNorm| {
            w.vector(format!("{name}.weight"), &n.weight);
            w.vector(format!("{name}.bias"), &n.bias);
        };
        let mut eps = None;
        match &self.pos {
            PosCode::None => w.meta("ccsep.pos", "none"),
            PosCode::Sinusoidal => w.meta("ccsep.pos", "sinusoidal"),
            PosCode::Table(t) => {
                w.matrix("pos.weight", t);
                w.meta("ccsep.pos", "table");
            }
        }
        for (l, b) in self.blocks.iter().enumerate() {
            let p = |s: &str| format!("layers.{l}.{s}");
            for (name, n) in [("ln1", &b.ln1), ("ln2", &b.ln2)] {
                if let Some(n) = n {
                    ln(w, &p(name), n);
                    eps = Some(n.eps);
                }
            }
            w.linear(&p("attn.q"), &b.q);
            w.linear(&p("attn.k"), &b.k);
            w.linear(&p("attn.v"), &b.v);
            w.linear(&p("attn.o"), &b.o);
            if let Some((f1, f2)) = &b.mlp {
                w.linear(&p("mlp.fc1"), f1);
                w.linear(&p("mlp.fc2"), f2);
            }
        }
        if let Some(n) = &self.ln_f {
            ln(w, "ln_f", n);
            eps = Some(n.eps);
        }
        if let Some(h) = &self.head {
            w.linear("head", h);
        }
        w.meta("ccsep.heads", self.heads);
        w.meta("ccsep.causal", self.causal);
        w.meta("ccsep.ln_eps", eps.unwrap_or(DEFAULT_LN_EPS));
    }

    /// Random weights as PyTorch would initialise the same modules (layer norms at `w = 1`,
    /// `b = 0`, a learned table `N(0, 1)`-like uniform in `±1`).
    pub(crate) fn random(
        spec: &super::TransformerSpec,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, InputError> {
        let s = spec;
        let d = s.d_model;
        if s.heads == 0 || !d.is_multiple_of(s.heads.max(1)) {
            return Err(err(format!(
                "d_model = {d} must be a positive multiple of heads = {}",
                s.heads
            )));
        }
        let ln = || {
            s.layer_norm.then(|| LayerNorm {
                weight: vec![1.0; d],
                bias: vec![0.0; d],
                eps: DEFAULT_LN_EPS,
            })
        };
        let embed = Linear::random(s.input, d, true, rng);
        let pos = match s.pos {
            super::PosSpec::None => PosCode::None,
            super::PosSpec::Sinusoidal => PosCode::Sinusoidal,
            super::PosSpec::Learned { max_len } => {
                PosCode::Table(Matrix::uniform(max_len, d, 1.0, rng))
            }
        };
        let blocks = (0..s.layers)
            .map(|_| Block {
                ln1: ln(),
                q: Linear::random(d, d, true, rng),
                k: Linear::random(d, d, true, rng),
                v: Linear::random(d, d, true, rng),
                o: Linear::random(d, d, true, rng),
                ln2: ln(),
                mlp: s.d_ff.map(|f| {
                    (
                        Linear::random(d, f, true, rng),
                        Linear::random(f, d, true, rng),
                    )
                }),
            })
            .collect();
        let head = s.output.map(|o| Linear::random(d, o, true, rng));
        Transformer::new(embed, pos, blocks, ln(), head, s.heads, s.causal)
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        let ln = |n: &Option<LayerNorm>, stats: &mut Stats| {
            n.as_ref().map(|n| LayerNorm {
                weight: rounded_vec(&n.weight, ar, stats),
                bias: rounded_vec(&n.bias, ar, stats),
                eps: ar.round(n.eps, stats),
            })
        };
        let blocks = self
            .blocks
            .iter()
            .map(|b| Block {
                ln1: ln(&b.ln1, stats),
                q: b.q.rounded(ar, stats),
                k: b.k.rounded(ar, stats),
                v: b.v.rounded(ar, stats),
                o: b.o.rounded(ar, stats),
                ln2: ln(&b.ln2, stats),
                mlp: b
                    .mlp
                    .as_ref()
                    .map(|(f1, f2)| (f1.rounded(ar, stats), f2.rounded(ar, stats))),
            })
            .collect();
        Transformer {
            embed: self.embed.rounded(ar, stats),
            pos: match &self.pos {
                PosCode::Table(t) => PosCode::Table(t.rounded(ar, stats)),
                other => other.clone(),
            },
            blocks,
            ln_f: ln(&self.ln_f, stats),
            head: self.head.as_ref().map(|h| h.rounded(ar, stats)),
            heads: self.heads,
            causal: self.causal,
        }
    }

    /// Checks that the positional code covers `len` positions.
    pub(crate) fn check_len(&self, len: usize) -> Result<(), InputError> {
        match self.max_len() {
            Some(m) if len > m => Err(err(format!(
                "the input has {len} positions; the positional table covers {m}"
            ))),
            _ => Ok(()),
        }
    }

    /// The positional code at position `t`, rounded to the format.
    pub(crate) fn pos_row(&self, t: usize, ar: &Arith, stats: &mut Stats) -> Option<Vec<f64>> {
        match &self.pos {
            PosCode::None => None,
            PosCode::Table(m) => Some(m.row(t).to_vec()),
            PosCode::Sinusoidal => {
                let mut row = sinusoid(t, self.d_model());
                ar.round_slice(&mut row, stats);
                Some(row)
            }
        }
    }

    /// The forward pass of `L` lanes over `T = xs.len()` positions (`xs[t]` has `I · L` numbers,
    /// already rounded). Cost: `O(T · (params) · L + T² · d_model · L)` per layer.
    pub(crate) fn forward_lanes(
        &self,
        ar: &Arith,
        xs: &[Vec<f64>],
        lanes: usize,
        stats: &mut Stats,
    ) -> LaneTrace {
        let (l, d, tn) = (lanes, self.d_model(), xs.len());
        let mut x: Vec<Vec<f64>> = Vec::with_capacity(tn);
        for (t, xt) in xs.iter().enumerate() {
            let mut e = vec![0.0; d * l];
            self.embed.apply(ar, xt, l, &mut e, stats);
            if let Some(p) = self.pos_row(t, ar, stats) {
                ar.add_bias(&mut e, &p, l, stats);
            }
            x.push(e);
        }
        let mut a = vec![0.0; d * l];
        let mut scores = Vec::new();
        let mut col = Vec::new();
        let mut small = vec![0.0; l];
        for blk in &self.blocks {
            let (qk, vd) = (blk.q.out_size(), blk.v.out_size());
            let (dk, dv) = (qk / self.heads, vd / self.heads);
            let scale = ar.round(1.0 / (dk as f64).sqrt(), stats);
            let mut q = vec![vec![0.0; qk * l]; tn];
            let mut k = vec![vec![0.0; qk * l]; tn];
            let mut v = vec![vec![0.0; vd * l]; tn];
            for t in 0..tn {
                let inp: &[f64] = match &blk.ln1 {
                    Some(n) => {
                        layer_norm(ar, n, &x[t], l, &mut a, &mut small, stats);
                        &a
                    }
                    None => &x[t],
                };
                blk.q.apply(ar, inp, l, &mut q[t], stats);
                blk.k.apply(ar, inp, l, &mut k[t], stats);
                blk.v.apply(ar, inp, l, &mut v[t], stats);
            }
            let mut u = vec![0.0; vd * l];
            let mut o = vec![0.0; d * l];
            for t in 0..tn {
                let keys = if self.causal { t + 1 } else { tn };
                let s = buf(&mut scores, keys * l);
                for h in 0..self.heads {
                    let qh = &q[t][h * dk * l..(h + 1) * dk * l];
                    for (j, kj) in k.iter().enumerate().take(keys) {
                        let kh = &kj[h * dk * l..(h + 1) * dk * l];
                        ar.dot_lanes(qh, kh, l, &mut s[j * l..(j + 1) * l], stats);
                    }
                    ar.scale(s, scale, stats);
                    softmax_lanes(ar, s, l, &mut small, stats);
                    let c = buf(&mut col, keys * l);
                    for e in 0..dv {
                        let row = h * dv + e;
                        for (j, vj) in v.iter().enumerate().take(keys) {
                            c[j * l..(j + 1) * l].copy_from_slice(&vj[row * l..(row + 1) * l]);
                        }
                        ar.dot_lanes(s, c, l, &mut u[row * l..(row + 1) * l], stats);
                    }
                }
                blk.o.apply(ar, &u, l, &mut o, stats);
                ar.add(&mut x[t], &o, stats);
            }
            if let Some((f1, f2)) = &blk.mlp {
                let mut hdn = vec![0.0; f1.out_size() * l];
                for xt in x.iter_mut() {
                    let inp: &[f64] = match &blk.ln2 {
                        Some(n) => {
                            layer_norm(ar, n, xt, l, &mut a, &mut small, stats);
                            &a
                        }
                        None => xt,
                    };
                    f1.apply(ar, inp, l, &mut hdn, stats);
                    ar.act(&mut hdn, Act::Relu, stats);
                    f2.apply(ar, &hdn, l, &mut o, stats);
                    ar.add(xt, &o, stats);
                }
            }
        }
        let hidden: Vec<Vec<f64>> = match &self.ln_f {
            Some(n) => x
                .iter()
                .map(|xt| {
                    let mut y = vec![0.0; d * l];
                    layer_norm(ar, n, xt, l, &mut y, &mut small, stats);
                    y
                })
                .collect(),
            None => x.clone(),
        };
        let outputs = match &self.head {
            Some(hd) => hidden
                .iter()
                .map(|ht| {
                    let mut y = vec![0.0; hd.out_size() * l];
                    hd.apply(ar, ht, l, &mut y, stats);
                    y
                })
                .collect(),
            None => hidden.clone(),
        };
        LaneTrace {
            states: x,
            hidden,
            outputs,
        }
    }
}

/// `pos_t[2i] = sin(t / 10000^(2i/d))`, `pos_t[2i+1] = cos(t / 10000^(2i/d))`, in `f64`.
pub fn sinusoid(t: usize, d: usize) -> Vec<f64> {
    (0..d)
        .map(|c| {
            let i2 = (c - c % 2) as f64;
            let angle = t as f64 / 10000f64.powf(i2 / d as f64);
            if c % 2 == 0 { angle.sin() } else { angle.cos() }
        })
        .collect()
}

/// In place over `s` (`[j][L]`): `round(e_j / Σ e)` with `e_j = round(exp(round(s_j − max s)))`.
fn softmax_lanes(ar: &Arith, s: &mut [f64], l: usize, z: &mut [f64], stats: &mut Stats) {
    z.fill(f64::NEG_INFINITY);
    for row in s.chunks_exact(l) {
        for (m, &v) in z.iter_mut().zip(row) {
            *m = m.max(v);
        }
    }
    for row in s.chunks_exact_mut(l) {
        for (v, &m) in row.iter_mut().zip(z.iter()) {
            *v -= m;
        }
    }
    ar.round_slice(s, stats);
    ar.act(s, Act::Exp, stats);
    ar.sum_lanes(s, l, z, stats);
    for row in s.chunks_exact_mut(l) {
        for (v, &t) in row.iter_mut().zip(z.iter()) {
            *v /= t;
        }
    }
    ar.round_slice(s, stats);
}

/// `out = LN(x)` for `L` lanes; `tmp` holds `L` numbers.
pub(crate) fn layer_norm(
    ar: &Arith,
    n: &LayerNorm,
    x: &[f64],
    l: usize,
    out: &mut [f64],
    tmp: &mut [f64],
    stats: &mut Stats,
) {
    let d = n.weight.len() as f64;
    ar.sum_lanes(x, l, tmp, stats);
    tmp.iter_mut().for_each(|m| *m /= d);
    ar.round_slice(tmp, stats);
    for (o, xr) in out.chunks_exact_mut(l).zip(x.chunks_exact(l)) {
        for ((o, &xv), &m) in o.iter_mut().zip(xr).zip(tmp.iter()) {
            *o = xv - m;
        }
    }
    ar.round_slice(out, stats);
    ar.dot_lanes(out, out, l, tmp, stats);
    tmp.iter_mut().for_each(|v| *v /= d);
    ar.round_slice(tmp, stats);
    ar.add_scalar(tmp, n.eps, stats);
    ar.act(tmp, Act::Sqrt, stats);
    for o in out.chunks_exact_mut(l) {
        for (v, &s) in o.iter_mut().zip(tmp.iter()) {
            *v /= s;
        }
    }
    ar.round_slice(out, stats);
    ar.mul_rows(out, &n.weight, l, stats);
    ar.add_bias(out, &n.bias, l, stats);
}
