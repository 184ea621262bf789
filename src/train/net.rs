//! The architectures as differentiable candle graphs, with parameters under the names ccsep's
//! loader reads, so that a trained model is saved once and then run, checked and rounded by
//! ccsep's own forward pass.
//!
//! Each architecture computes what its module in `model` documents (at `f32`, without the
//! rounding), after an embedding table `embedding.weight` `[V, E]` that maps each token to a
//! vector:
//! - `rnn` / `lstm` / `gru`: PyTorch's equations and names under `rnn.` (`rnn.weight_ih_l0`,
//!   gates `i, f, g, o` / `r, z, n`), then `head.weight` `[O, H]`, `head.bias`;
//! - `ssm`: `h_t = a ⊙ h_{t−1} + B x_t`, output `C h_t` (`ssm.a`, `ssm.B`, `ssm.C`: `C` is the head);
//! - `linear-attention`: `φ = elu + 1`, causal, `ε = 1e-6`, computed in its parallel form
//!   (`out_t = Σ_{j≤t} (φ(q_t)·φ(k_j)) v_j / (Σ_{j≤t} φ(q_t)·φ(k_j) + ε)`, the same sums as the
//!   recurrent form); `head`;
//! - `transformer`: a learned positional table `pos.weight` `[T, d]`, pre-LN blocks
//!   (`layers.{l}.ln1`, `attn.{q,k,v,o}`, `ln2`, `mlp.fc1`, `mlp.fc2` with ReLU), causal
//!   attention scaled by `1/√d_k`, `ln_f`, `head`.
//!
//! Only ops that carry gradients are used: layer norm and softmax are written out from
//! elementary ops (candle's fused `LayerNorm` and `softmax_last_dim` give their input no
//! gradient), and a test checks that every parameter receives one.

use candle_core::{D, DType, Device, Result, Tensor};

use crate::model::Arch;

/// How a parameter starts (drawn by `params`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Uniform on `[−b, b]`.
    Uniform(f64),
    /// Normal with this standard deviation.
    Normal(f64),
    /// Every entry this value.
    Constant(f64),
    /// Uniform on `[lo, hi]`.
    Range(f64, f64),
}

/// One parameter: name, shape and initialisation.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
}

/// The sizes a network is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct NetShape {
    pub arch: Arch,
    /// Tokens in the vocabulary (`V`).
    pub vocab: usize,
    /// Embedding size (`E`).
    pub embed: usize,
    /// Hidden size / state size / `d_model`.
    pub width: usize,
    pub layers: usize,
    pub heads: usize,
    /// Transformer MLP width (0: none).
    pub d_ff: usize,
    /// Output numbers (`O`).
    pub outputs: usize,
    /// Sequence length (the Transformer's positional table has this many rows).
    pub length: usize,
    /// Elman RNN: ReLU instead of `tanh`.
    pub relu: bool,
}

/// Layer norm `ε` (PyTorch's default, ccsep's `DEFAULT_LN_EPS`).
pub const LN_EPS: f64 = 1e-5;
/// Linear attention's `ε` (ccsep's default).
pub const LA_EPS: f64 = 1e-6;

fn spec(name: impl Into<String>, shape: Vec<usize>, init: Init) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        shape,
        init,
    }
}

/// `name.weight` `[out, inp]` and `name.bias` `[out]`, PyTorch's `nn.Linear` initialisation.
fn linear_specs(out: &mut Vec<ParamSpec>, name: &str, inp: usize, outp: usize) {
    let b = 1.0 / (inp as f64).sqrt();
    out.push(spec(
        format!("{name}.weight"),
        vec![outp, inp],
        Init::Uniform(b),
    ));
    out.push(spec(format!("{name}.bias"), vec![outp], Init::Uniform(b)));
}

fn ln_specs(out: &mut Vec<ParamSpec>, name: &str, d: usize) {
    out.push(spec(format!("{name}.weight"), vec![d], Init::Constant(1.0)));
    out.push(spec(format!("{name}.bias"), vec![d], Init::Constant(0.0)));
}

impl NetShape {
    /// Gates of a recurrent architecture.
    fn gates(&self) -> usize {
        match self.arch {
            Arch::Lstm => 4,
            Arch::Gru => 3,
            _ => 1,
        }
    }

    /// Every parameter, in no particular order (`params` sorts them by name).
    pub fn params(&self) -> Vec<ParamSpec> {
        let (v, e, h) = (self.vocab, self.embed, self.width);
        let mut out = vec![spec("embedding.weight", vec![v, e], Init::Normal(1.0))];
        match self.arch {
            Arch::Rnn | Arch::Lstm | Arch::Gru => {
                let g = self.gates();
                let b = 1.0 / (h as f64).sqrt();
                for k in 0..self.layers {
                    let inp = if k == 0 { e } else { h };
                    out.push(spec(
                        format!("rnn.weight_ih_l{k}"),
                        vec![g * h, inp],
                        Init::Uniform(b),
                    ));
                    out.push(spec(
                        format!("rnn.weight_hh_l{k}"),
                        vec![g * h, h],
                        Init::Uniform(b),
                    ));
                    out.push(spec(
                        format!("rnn.bias_ih_l{k}"),
                        vec![g * h],
                        Init::Uniform(b),
                    ));
                    out.push(spec(
                        format!("rnn.bias_hh_l{k}"),
                        vec![g * h],
                        Init::Uniform(b),
                    ));
                }
                linear_specs(&mut out, "head", h, self.outputs);
            }
            Arch::Ssm => {
                out.push(spec("ssm.a", vec![h], Init::Range(0.5, 0.99)));
                let b = 1.0 / (e as f64).sqrt();
                out.push(spec("ssm.B", vec![h, e], Init::Uniform(b)));
                let c = 1.0 / (h as f64).sqrt();
                out.push(spec("ssm.C", vec![self.outputs, h], Init::Uniform(c)));
            }
            Arch::LinearAttention => {
                for m in ["q", "k", "v"] {
                    linear_specs(&mut out, &format!("linear_attention.{m}"), e, h);
                }
                linear_specs(&mut out, "head", h, self.outputs);
            }
            Arch::Transformer => {
                out.push(spec("pos.weight", vec![self.length, h], Init::Normal(0.1)));
                for l in 0..self.layers {
                    let p = |s: &str| format!("layers.{l}.{s}");
                    ln_specs(&mut out, &p("ln1"), h);
                    for m in ["q", "k", "v", "o"] {
                        linear_specs(&mut out, &p(&format!("attn.{m}")), h, h);
                    }
                    if self.d_ff > 0 {
                        ln_specs(&mut out, &p("ln2"), h);
                        linear_specs(&mut out, &p("mlp.fc1"), h, self.d_ff);
                        linear_specs(&mut out, &p("mlp.fc2"), self.d_ff, h);
                    }
                }
                ln_specs(&mut out, "ln_f", h);
                linear_specs(&mut out, "head", h, self.outputs);
            }
        }
        out
    }

    /// Numbers in all parameters (counted without building them).
    pub fn parameter_count(&self) -> u128 {
        self.params()
            .iter()
            .map(|p| p.shape.iter().map(|&d| d as u128).product::<u128>())
            .sum()
    }

    /// The outputs `[B, T, O]` for tokens `[B, T]` (`u32`), every position.
    pub fn forward(&self, p: &dyn Fn(&str) -> Tensor, tokens: &Tensor) -> Result<Tensor> {
        let (b, t) = tokens.dims2()?;
        match self.arch {
            Arch::Rnn | Arch::Lstm | Arch::Gru => {
                let mut xs = self.embed_steps(p, tokens)?;
                for k in 0..self.layers {
                    xs = self.recurrent_layer(p, k, &xs)?;
                }
                linear(
                    &Tensor::stack(&xs, 1)?,
                    &p("head.weight"),
                    Some(&p("head.bias")),
                )
            }
            Arch::Ssm => {
                let xs = self.embed_steps(p, tokens)?;
                let (a, w_b) = (p("ssm.a"), p("ssm.B"));
                let w_bt = w_b.t()?;
                let mut h = Tensor::zeros((b, self.width), DType::F32, tokens.device())?;
                let mut hs = Vec::with_capacity(t);
                for x_s in &xs {
                    h = (h.broadcast_mul(&a)? + x_s.matmul(&w_bt)?)?;
                    hs.push(h.clone());
                }
                linear(&Tensor::stack(&hs, 1)?, &p("ssm.C"), None)
            }
            _ => {
                let x = p("embedding.weight")
                    .index_select(&tokens.flatten_all()?, 0)?
                    .reshape((b, t, self.embed))?;
                self.parallel(p, &x, tokens.device())
            }
        }
    }

    /// The embedded input of every position, one `[B, E]` tensor per position, each gathered
    /// from the table by its column of tokens.
    ///
    /// The recurrent loops read their input a position at a time; taking position `s` out of
    /// one `[B, T, ·]` tensor with `narrow` would cost the backward pass a zero-padded copy of
    /// the whole tensor per position (candle's `narrow` gradient), `T²·B·E` numbers in all.
    /// The tokens carry no gradient, and a gather's gradient is a scatter into the `[V, E]`
    /// table.
    fn embed_steps(&self, p: &dyn Fn(&str) -> Tensor, tokens: &Tensor) -> Result<Vec<Tensor>> {
        let t = tokens.dim(1)?;
        let emb = p("embedding.weight");
        let cols = tokens.t()?.contiguous()?;
        (0..t).map(|s| emb.index_select(&cols.get(s)?, 0)).collect()
    }

    /// Linear attention and the Transformer, on the embedded input `[B, T, E]`.
    fn parallel(&self, p: &dyn Fn(&str) -> Tensor, x: &Tensor, dev: &Device) -> Result<Tensor> {
        let t = x.dim(1)?;
        match self.arch {
            Arch::LinearAttention => {
                let lin = |m: &str| {
                    let n = format!("linear_attention.{m}");
                    linear(
                        x,
                        &p(&format!("{n}.weight")),
                        Some(&p(&format!("{n}.bias"))),
                    )
                };
                let (q, k, v) = (feature(&lin("q")?)?, feature(&lin("k")?)?, lin("v")?);
                // scores[b, t, j] = φ(q_t)·φ(k_j), kept for j ≤ t.
                let mask = causal_keep(t, dev)?;
                let s = q
                    .matmul(&k.transpose(1, 2)?.contiguous()?)?
                    .broadcast_mul(&mask)?;
                let num = s.matmul(&v)?;
                let den = (s.sum_keepdim(D::Minus1)? + LA_EPS)?;
                let out = num.broadcast_div(&den)?;
                linear(&out, &p("head.weight"), Some(&p("head.bias")))
            }
            _ => self.transformer(p, x),
        }
    }

    /// One recurrent layer over the inputs of every position (`[B, ·]` each): the hidden state
    /// of every position.
    fn recurrent_layer(
        &self,
        p: &dyn Fn(&str) -> Tensor,
        k: usize,
        xs: &[Tensor],
    ) -> Result<Vec<Tensor>> {
        let b = xs[0].dim(0)?;
        let h_size = self.width;
        let n = |s: &str| p(&format!("rnn.{s}_l{k}"));
        let (w_ih, b_ih) = (n("weight_ih"), n("bias_ih"));
        let (w_hh, b_hh) = (n("weight_hh"), n("bias_hh"));
        let (w_iht, w_hht) = (w_ih.t()?, w_hh.t()?);
        let (b_ih, b_hh) = (rows_of(&b_ih, b)?, rows_of(&b_hh, b)?);
        let mut h = Tensor::zeros((b, h_size), DType::F32, xs[0].device())?;
        let mut c = h.clone();
        let mut hs = Vec::with_capacity(xs.len());
        for x_s in xs {
            let gi_s = (x_s.matmul(&w_iht)? + &b_ih)?;
            let gh = (h.matmul(&w_hht)? + &b_hh)?;
            let gate = |g: &Tensor, i: usize| g.narrow(1, i * h_size, h_size);
            h = match self.arch {
                Arch::Rnn => {
                    let z = (gi_s + gh)?;
                    if self.relu { z.relu()? } else { z.tanh()? }
                }
                Arch::Lstm => {
                    let z = (gi_s + gh)?;
                    let i = sigmoid(&gate(&z, 0)?)?;
                    let f = sigmoid(&gate(&z, 1)?)?;
                    let g = gate(&z, 2)?.tanh()?;
                    let o = sigmoid(&gate(&z, 3)?)?;
                    c = ((f * &c)? + (i * g)?)?;
                    (o * c.tanh()?)?
                }
                _ => {
                    let r = sigmoid(&(gate(&gi_s, 0)? + gate(&gh, 0)?)?)?;
                    let z = sigmoid(&(gate(&gi_s, 1)? + gate(&gh, 1)?)?)?;
                    let nn = (gate(&gi_s, 2)? + (r * gate(&gh, 2)?)?)?.tanh()?;
                    let one_minus_z = z.affine(-1.0, 1.0)?;
                    ((one_minus_z * nn)? + (z * &h)?)?
                }
            };
            hs.push(h.clone());
        }
        Ok(hs)
    }

    fn transformer(&self, p: &dyn Fn(&str) -> Tensor, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let pos = p("pos.weight").narrow(0, 0, t)?;
        let mut x = (x + rows_of(&pos, b)?.reshape((b, t, d))?)?;
        let heads = self.heads;
        let dk = d / heads;
        let scale = 1.0 / (dk as f64).sqrt();
        let keep = causal_keep(t, x.device())?;
        // Masked scores get −1e9: exp underflows to exactly 0, as ccsep's sum over j ≤ t.
        let block = keep.affine(1e9, -1e9)?;
        for l in 0..self.layers {
            let n = |s: &str| p(&format!("layers.{l}.{s}"));
            let lin = |x: &Tensor, s: &str| {
                linear(
                    x,
                    &n(&format!("{s}.weight")),
                    Some(&n(&format!("{s}.bias"))),
                )
            };
            let a = layer_norm(&x, &n("ln1.weight"), &n("ln1.bias"))?;
            let split = |y: Tensor| -> Result<Tensor> {
                y.reshape((b, t, heads, dk))?.transpose(1, 2)?.contiguous()
            };
            let q = split(lin(&a, "attn.q")?)?;
            let k = split(lin(&a, "attn.k")?)?;
            let v = split(lin(&a, "attn.v")?)?;
            let s =
                (q.matmul(&k.transpose(2, 3)?.contiguous()?)? * scale)?.broadcast_add(&block)?;
            let attn = softmax_last(&s)?;
            let u = attn
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b, t, d))?;
            x = (x + lin(&u, "attn.o")?)?;
            if self.d_ff > 0 {
                let a = layer_norm(&x, &n("ln2.weight"), &n("ln2.bias"))?;
                let hdn = lin(&a, "mlp.fc1")?.relu()?;
                x = (x + lin(&hdn, "mlp.fc2")?)?;
            }
        }
        let hidden = layer_norm(&x, &p("ln_f.weight"), &p("ln_f.bias"))?;
        linear(&hidden, &p("head.weight"), Some(&p("head.bias")))
    }
}

/// `x W^T + b` over the last dimension of `x` (any rank ≥ 2).
fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let inp = *dims.last().expect("rank ≥ 1");
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let y = x.reshape((rows, inp))?.matmul(&w.t()?)?;
    let y = match b {
        Some(b) => (y + rows_of(b, rows)?)?,
        None => y,
    };
    let mut out = dims;
    *out.last_mut().expect("rank ≥ 1") = w.dim(0)?;
    y.reshape(out)
}

/// `σ(x) = 1 / (1 + e^{−x})` from elementary ops.
fn sigmoid(x: &Tensor) -> Result<Tensor> {
    (x.neg()?.exp()? + 1.0)?.recip()
}

/// `φ(u) = elu(u) + 1 = max(u, 0) + exp(min(u, 0))`, from ops that carry gradients.
fn feature(u: &Tensor) -> Result<Tensor> {
    let neg = u.neg()?.relu()?.neg()?;
    u.relu()? + neg.exp()?
}

/// Softmax over the last dimension from elementary ops.
fn softmax_last(s: &Tensor) -> Result<Tensor> {
    let m = s.max_keepdim(D::Minus1)?.detach();
    let e = s.broadcast_sub(&m)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

/// Log-softmax over the last dimension from elementary ops.
pub fn log_softmax_last(s: &Tensor) -> Result<Tensor> {
    let m = s.max_keepdim(D::Minus1)?.detach();
    let z = s.broadcast_sub(&m)?;
    z.broadcast_sub(&z.exp()?.sum_keepdim(D::Minus1)?.log()?)
}

/// `nn.LayerNorm` over the last dimension (biased variance) from elementary ops.
fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let d = x.broadcast_sub(&mean)?;
    let var = d.sqr()?.mean_keepdim(D::Minus1)?;
    let y = d.broadcast_div(&(var + LN_EPS)?.sqrt()?)?;
    let dims = y.dims().to_vec();
    let n = *dims.last().expect("rank ≥ 1");
    let rows = y.elem_count() / n;
    let y = y.reshape((rows, n))?;
    ((y * rows_of(w, rows)?)? + rows_of(b, rows)?)?.reshape(dims)
}

/// `v` (any shape, `n` numbers) repeated as `rows` rows, `[rows, n]`: the product of a column
/// of ones and `v`, so every entry is exactly `1·v_j`.
///
/// Adding or multiplying by this instead of broadcasting `v` computes the same numbers, and
/// the gradient of `v` (a sum over the rows) becomes a matrix product, where candle sums a
/// broadcast's gradient over leading dimensions one element at a time with a division per
/// element (most of the backward pass's time outside the matrix products).
fn rows_of(v: &Tensor, rows: usize) -> Result<Tensor> {
    let ones = Tensor::ones((rows, 1), v.dtype(), v.device())?;
    ones.matmul(&v.reshape((1, v.elem_count()))?)
}

/// `[T, T]` with 1 where `j ≤ t` (row `t`, column `j`), else 0.
fn causal_keep(t: usize, dev: &Device) -> Result<Tensor> {
    let v: Vec<f32> = (0..t * t)
        .map(|i| if i % t <= i / t { 1.0 } else { 0.0 })
        .collect();
    Tensor::from_vec(v, (t, t), dev)
}
