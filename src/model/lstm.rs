//! The LSTM, as `torch.nn.LSTM` (gates stacked `i, f, g, o` in `weight_ih_l{k}`):
//! `i = σ(·), f = σ(·), g = tanh(·), o = σ(·)` of `W_ih x + b_ih + W_hh h + b_hh`,
//! `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')`; layer `k > 0` reads layer `k − 1`'s new `h`.
//!
//! Rounding (see `kernel`): the gate pre-activations as in `rnn`, each activation rounded,
//! `c' = round(round(f ⊙ c) + round(i ⊙ g))`, `h' = round(o ⊙ round(tanh(c')))`.
//! State: `[h_0, c_0, h_1, c_1, …]` (`2 · L · H` numbers); the hidden vector is `h_{L−1}`.
//! Weights: PyTorch's names (see `stack`) and the optional head `head.weight`/`head.bias`.

use super::Cell;
use super::kernel::{Act, Arith};
use super::linear::{Linear, Workspace, buf};
use super::stack::{RecurrentLayer, Stack};
use crate::error::InputError;
use crate::numeric::Stats;

/// A multi-layer LSTM with an optional linear head.
#[derive(Clone, Debug, PartialEq)]
pub struct Lstm {
    pub(crate) stack: Stack,
    pub(crate) head: Option<Linear>,
}

impl Lstm {
    /// Checks the layer shapes (`4H` gate rows) and that the head reads `H` numbers.
    pub fn new(layers: Vec<RecurrentLayer>, head: Option<Linear>) -> Result<Self, InputError> {
        let stack = Stack::new(layers, 4)?;
        super::check_head(&head, stack.hidden())?;
        Ok(Lstm { stack, head })
    }

    pub fn layers(&self) -> &[RecurrentLayer] {
        self.stack.layers()
    }

    pub fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        Lstm {
            stack: self.stack.rounded(ar, stats),
            head: self.head.as_ref().map(|h| h.rounded(ar, stats)),
        }
    }
}

impl Cell for Lstm {
    fn input_size(&self) -> usize {
        self.stack.input()
    }

    fn hidden_size(&self) -> usize {
        self.stack.hidden()
    }

    fn state_size(&self) -> usize {
        2 * self.stack.depth() * self.stack.hidden()
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
                buf(c, hl).copy_from_slice(&state[2 * (k - 1) * hl..(2 * k - 1) * hl]);
            }
            let inp: &[f64] = if k == 0 { x } else { &c[..hl] };
            let (gi, gh) = (buf(a, 4 * hl), buf(b, 4 * hl));
            let (h, cell) = state[2 * k * hl..2 * (k + 1) * hl].split_at_mut(hl);
            self.stack.pre(k, ar, inp, h, lanes, gi, gh, stats);
            ar.add(gi, gh, stats);
            let (i, rest) = gi.split_at_mut(hl);
            let (f, rest) = rest.split_at_mut(hl);
            let (g, o) = rest.split_at_mut(hl);
            ar.act(i, Act::Sigmoid, stats);
            ar.act(f, Act::Sigmoid, stats);
            ar.act(g, Act::Tanh, stats);
            ar.act(o, Act::Sigmoid, stats);
            // c' = f ⊙ c + i ⊙ g
            ar.mul(f, cell, stats);
            ar.mul(i, g, stats);
            ar.add(f, i, stats);
            cell.copy_from_slice(f);
            // h' = o ⊙ tanh(c')
            let t = buf(d, hl);
            t.copy_from_slice(f);
            ar.act(t, Act::Tanh, stats);
            ar.mul(o, t, stats);
            h.copy_from_slice(o);
        }
        let last = self.stack.depth() - 1;
        hidden.copy_from_slice(&state[2 * last * hl..(2 * last + 1) * hl]);
    }
}
