//! Linear attention run as an RNN (Katharopoulos et al. 2020), one head:
//! `q, k, v = W_q x + b_q, W_k x + b_k, W_v x + b_v`, `φ(u) = elu(u) + 1` elementwise,
//! `S_t = S_{t−1} + φ(k_t) v_tᵀ`, `z_t = z_{t−1} + φ(k_t)`,
//! `out_t = S_tᵀ φ(q_t) / (z_tᵀ φ(q_t) + ε)` (the current position attends to itself).
//!
//! Rounding (see `kernel`): `φ(k) = round(φ(round(W_k x + b_k)))` (as a `Linear`, then `φ`
//! once); `S = round(S + round(φ(k)_i v_j))`, `z = round(z + φ(k))`; numerator and `z ⋅ φ(q)`
//! one rounded dot product each; `den = round(z ⋅ φ(q) + ε)`, `out = round(num / den)`; `ε` is
//! rounded to the format like a weight.
//! State: `S` (`d_k × d_v`, row-major, `S[i][j]` at `i·d_v + j`) then `z` (`d_k`); the hidden
//! vector is `out_t` (`d_v`, not part of the state: it depends on `q_t`).
//! Weights (the ccsep scheme): `linear_attention.{q,k}.weight` `[d_k, I]`,
//! `linear_attention.v.weight` `[d_v, I]`, each with an optional `.bias`; the optional head
//! `head.weight` `[O, d_v]`, `head.bias` and the optional embedding table before it (any usual
//! names, see `roles`); metadata `ccsep.eps` (default `1e-6`).

use rand_chacha::ChaCha8Rng;

use super::Cell;
use super::embedding::{Embedding, check_embedding};
use super::kernel::{Act, Arith};
use super::linear::{Linear, Workspace, buf};
use super::weights::{TensorWriter, Tensors};
use crate::error::InputError;
use crate::numeric::Stats;

/// Default `ε` of the normaliser.
pub const DEFAULT_EPS: f64 = 1e-6;

/// Single-head causal linear attention as a recurrent model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearAttention {
    embedding: Option<Embedding>,
    q: Linear,
    k: Linear,
    v: Linear,
    head: Option<Linear>,
    eps: f64,
}

impl LinearAttention {
    /// `q`, `k` map `I → d_k`, `v` maps `I → d_v`, the head (if any) reads `d_v`; `eps > 0`.
    pub fn new(
        q: Linear,
        k: Linear,
        v: Linear,
        head: Option<Linear>,
        eps: f64,
    ) -> Result<Self, InputError> {
        let i = q.in_size();
        if i == 0
            || k.in_size() != i
            || v.in_size() != i
            || k.out_size() != q.out_size()
            || q.out_size() == 0
            || v.out_size() == 0
        {
            return Err(InputError::new(format!(
                "linear attention shapes do not fit: q [{}, {}], k [{}, {}], v [{}, {}]; need q, k [d_k, I], v [d_v, I]",
                q.out_size(),
                q.in_size(),
                k.out_size(),
                k.in_size(),
                v.out_size(),
                v.in_size()
            )));
        }
        super::check_head(&head, v.out_size())?;
        if !(eps.is_finite() && eps > 0.0) {
            return Err(InputError::new(format!(
                "linear attention eps must be positive, got {eps}"
            )));
        }
        Ok(LinearAttention {
            embedding: None,
            q,
            k,
            v,
            head,
            eps,
        })
    }

    /// This model with `embedding` before it (its vectors must be the `I` numbers `q`, `k`
    /// and `v` read); `None` removes it.
    pub fn with_embedding(mut self, embedding: Option<Embedding>) -> Result<Self, InputError> {
        check_embedding(embedding.as_ref(), self.q.in_size())?;
        self.embedding = embedding;
        Ok(self)
    }

    pub fn q(&self) -> &Linear {
        &self.q
    }

    pub fn k(&self) -> &Linear {
        &self.k
    }

    pub fn v(&self) -> &Linear {
        &self.v
    }

    pub fn eps(&self) -> f64 {
        self.eps
    }

    fn dk(&self) -> usize {
        self.q.out_size()
    }

    fn dv(&self) -> usize {
        self.v.out_size()
    }

    pub(crate) fn load(
        t: &Tensors,
        prefix: &str,
        stages: super::Stages,
    ) -> Result<Self, InputError> {
        let name = |s: &str| format!("{prefix}linear_attention.{s}");
        let (dk, i) = t.dims2(&name("q.weight"))?;
        let (dv, _) = t.dims2(&name("v.weight"))?;
        let eps = t.meta_parse("ccsep.eps")?.unwrap_or(DEFAULT_EPS);
        LinearAttention::new(
            t.linear(&name("q"), i, dk)?,
            t.linear(&name("k"), i, dk)?,
            t.linear(&name("v"), i, dv)?,
            stages.head,
            eps,
        )?
        .with_embedding(stages.embedding)
    }

    pub(crate) fn save(&self, w: &mut TensorWriter) {
        w.linear("linear_attention.q", &self.q);
        w.linear("linear_attention.k", &self.k);
        w.linear("linear_attention.v", &self.v);
        if let Some(h) = &self.head {
            w.linear("head", h);
        }
        w.meta("ccsep.eps", self.eps);
    }

    pub(crate) fn random(
        input: usize,
        key: usize,
        value: usize,
        output: Option<usize>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, InputError> {
        let q = Linear::random(input, key, true, rng);
        let k = Linear::random(input, key, true, rng);
        let v = Linear::random(input, value, true, rng);
        let head = output.map(|o| Linear::random(value, o, true, rng));
        LinearAttention::new(q, k, v, head, DEFAULT_EPS)
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        LinearAttention {
            embedding: self.embedding.as_ref().map(|e| e.rounded(ar, stats)),
            q: self.q.rounded(ar, stats),
            k: self.k.rounded(ar, stats),
            v: self.v.rounded(ar, stats),
            head: self.head.as_ref().map(|h| h.rounded(ar, stats)),
            eps: ar.round(self.eps, stats),
        }
    }
}

impl Cell for LinearAttention {
    fn core_input_size(&self) -> usize {
        self.q.in_size()
    }

    fn embedding(&self) -> Option<&Embedding> {
        self.embedding.as_ref()
    }

    fn hidden_size(&self) -> usize {
        self.dv()
    }

    fn state_size(&self) -> usize {
        self.dk() * self.dv() + self.dk()
    }

    fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    fn step_core(
        &self,
        ar: &Arith,
        state: &mut [f64],
        x: &[f64],
        lanes: usize,
        hidden: &mut [f64],
        ws: &mut Workspace,
        stats: &mut Stats,
    ) {
        let (dk, dv, l) = (self.dk(), self.dv(), lanes);
        let Workspace { a, b, c, d, .. } = ws;
        let qkv = buf(a, (2 * dk + dv) * l);
        let (q, rest) = qkv.split_at_mut(dk * l);
        let (k, v) = rest.split_at_mut(dk * l);
        self.q.apply(ar, x, l, q, stats);
        self.k.apply(ar, x, l, k, stats);
        self.v.apply(ar, x, l, v, stats);
        ar.act(q, Act::EluPlusOne, stats);
        ar.act(k, Act::EluPlusOne, stats);
        let (s, z) = state.split_at_mut(dk * dv * l);
        // S += φ(k) vᵀ
        let outer = buf(b, dk * dv * l);
        for i in 0..dk {
            for j in 0..dv {
                let o = &mut outer[(i * dv + j) * l..(i * dv + j + 1) * l];
                for ((o, &ki), &vj) in o
                    .iter_mut()
                    .zip(&k[i * l..(i + 1) * l])
                    .zip(&v[j * l..(j + 1) * l])
                {
                    *o = ki * vj;
                }
            }
        }
        ar.round_slice(outer, stats);
        ar.add(s, outer, stats);
        ar.add(z, k, stats);
        // out_j = (Σ_i S[i][j] φ(q)_i) / (z ⋅ φ(q) + ε)
        let den = buf(d, l);
        ar.dot_lanes(z, q, l, den, stats);
        ar.add_scalar(den, self.eps, stats);
        let col = buf(c, dk * l);
        for j in 0..dv {
            for i in 0..dk {
                col[i * l..(i + 1) * l].copy_from_slice(&s[(i * dv + j) * l..(i * dv + j + 1) * l]);
            }
            ar.dot_lanes(col, q, l, &mut hidden[j * l..(j + 1) * l], stats);
        }
        for j in 0..dv {
            for (h, &dn) in hidden[j * l..(j + 1) * l].iter_mut().zip(den.iter()) {
                *h /= dn;
            }
        }
        ar.round_slice(hidden, stats);
    }
}
