//! The GRU, as `torch.nn.GRU` (gates stacked `r, z, n` in `weight_ih_l{k}`):
//! `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
//! `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`.
//!
//! Rounding (see `kernel`): `gi`, `gh` as in `rnn`; `r, z = round(σ(round(gi + gh)))`;
//! `n = round(tanh(round(gi_n + round(r ⊙ gh_n))))`;
//! `h' = round(round(round(1 − z) ⊙ n) + round(z ⊙ h))`.
//! State: `[h_0, …, h_{L−1}]`; the hidden vector is `h_{L−1}`.
//! Weights: PyTorch's names (see `stack`) and the optional head `head.weight`/`head.bias`.

use super::Cell;
use super::kernel::{Act, Arith};
use super::linear::{Linear, Workspace, buf};
use super::stack::{RecurrentLayer, Stack};
use crate::error::InputError;
use crate::numeric::Stats;

/// A multi-layer GRU with an optional linear head.
#[derive(Clone, Debug, PartialEq)]
pub struct Gru {
    pub(crate) stack: Stack,
    pub(crate) head: Option<Linear>,
}

impl Gru {
    /// Checks the layer shapes (`3H` gate rows) and that the head reads `H` numbers.
    pub fn new(layers: Vec<RecurrentLayer>, head: Option<Linear>) -> Result<Self, InputError> {
        let stack = Stack::new(layers, 3)?;
        super::check_head(&head, stack.hidden())?;
        Ok(Gru { stack, head })
    }

    pub fn layers(&self) -> &[RecurrentLayer] {
        self.stack.layers()
    }

    pub fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        Gru {
            stack: self.stack.rounded(ar, stats),
            head: self.head.as_ref().map(|h| h.rounded(ar, stats)),
        }
    }
}

impl Cell for Gru {
    fn input_size(&self) -> usize {
        self.stack.input()
    }

    fn hidden_size(&self) -> usize {
        self.stack.hidden()
    }

    fn state_size(&self) -> usize {
        self.stack.depth() * self.stack.hidden()
    }

    fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    fn step_lanes(
        &self,
        ar: &Arith,
        state: &mut [f64],
        x: &[f64],
        lanes: usize,
        hidden: &mut [f64],
        ws: &mut Workspace,
        stats: &mut Stats,
    ) {
        let hl = self.stack.hidden() * lanes;
        let Workspace { a, b, c, d } = ws;
        for k in 0..self.stack.depth() {
            if k > 0 {
                buf(c, hl).copy_from_slice(&state[(k - 1) * hl..k * hl]);
            }
            let inp: &[f64] = if k == 0 { x } else { &c[..hl] };
            let (gi, gh) = (buf(a, 3 * hl), buf(b, 3 * hl));
            let h = &mut state[k * hl..(k + 1) * hl];
            self.stack.pre(k, ar, inp, h, lanes, gi, gh, stats);
            let (gi_rz, gi_n) = gi.split_at_mut(2 * hl);
            let (gh_rz, gh_n) = gh.split_at_mut(2 * hl);
            ar.add(gi_rz, gh_rz, stats);
            ar.act(gi_rz, Act::Sigmoid, stats);
            let (r, z) = gi_rz.split_at_mut(hl);
            // n = tanh(gi_n + r ⊙ gh_n)
            ar.mul(gh_n, r, stats);
            ar.add(gi_n, gh_n, stats);
            ar.act(gi_n, Act::Tanh, stats);
            // h' = (1 − z) ⊙ n + z ⊙ h
            let zh = buf(d, hl);
            zh.copy_from_slice(z);
            ar.mul(zh, h, stats);
            ar.act(z, Act::OneMinus, stats);
            ar.mul(z, gi_n, stats);
            ar.add(z, zh, stats);
            h.copy_from_slice(z);
        }
        let last = self.stack.depth() - 1;
        hidden.copy_from_slice(&state[last * hl..(last + 1) * hl]);
    }
}
