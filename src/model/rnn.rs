//! The Elman RNN with `tanh` or ReLU, as `torch.nn.RNN`: `h' = act(W_ih x + b_ih + W_hh h + b_hh)`
//! per layer, layer `k > 0` reading layer `k − 1`'s new `h`.
//!
//! Rounding (see `kernel`): `gi = round(round(W_ih x) + b_ih)`, `gh = round(round(W_hh h) + b_hh)`,
//! `h' = round(act(round(gi + gh)))`.
//! State: `[h_0, …, h_{L−1}]` (`L · H` numbers); the hidden vector is `h_{L−1}`.
//! Weights: PyTorch's names (see `stack`), the optional head `head.weight`/`head.bias`, and the
//! metadata `ccsep.nonlinearity` = `tanh` | `relu` (a PyTorch state dict does not record it; the
//! load option overrides it; default `tanh`).

use super::Cell;
use super::kernel::{Act, Arith};
use super::linear::{Linear, Workspace, buf};
use super::stack::{RecurrentLayer, Stack};
use crate::error::InputError;
use crate::numeric::Stats;

/// The activation of an Elman RNN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nonlinearity {
    Tanh,
    Relu,
}

impl Nonlinearity {
    pub fn parse(s: &str) -> Result<Self, InputError> {
        match s {
            "tanh" => Ok(Nonlinearity::Tanh),
            "relu" => Ok(Nonlinearity::Relu),
            _ => Err(InputError::new(format!(
                "unknown nonlinearity {s:?}: use tanh or relu"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
        }
    }
}

/// A multi-layer Elman RNN with an optional linear head.
#[derive(Clone, Debug, PartialEq)]
pub struct Rnn {
    pub(crate) stack: Stack,
    pub(crate) nonlinearity: Nonlinearity,
    pub(crate) head: Option<Linear>,
}

impl Rnn {
    /// Checks the layer shapes and that the head reads `H` numbers.
    pub fn new(
        layers: Vec<RecurrentLayer>,
        nonlinearity: Nonlinearity,
        head: Option<Linear>,
    ) -> Result<Self, InputError> {
        let stack = Stack::new(layers, 1)?;
        super::check_head(&head, stack.hidden())?;
        Ok(Rnn {
            stack,
            nonlinearity,
            head,
        })
    }

    pub fn layers(&self) -> &[RecurrentLayer] {
        self.stack.layers()
    }

    pub fn nonlinearity(&self) -> Nonlinearity {
        self.nonlinearity
    }

    pub fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        Rnn {
            stack: self.stack.rounded(ar, stats),
            nonlinearity: self.nonlinearity,
            head: self.head.as_ref().map(|h| h.rounded(ar, stats)),
        }
    }
}

impl Cell for Rnn {
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
        let act = match self.nonlinearity {
            Nonlinearity::Tanh => Act::Tanh,
            Nonlinearity::Relu => Act::Relu,
        };
        let Workspace { a, b, c, .. } = ws;
        for k in 0..self.stack.depth() {
            if k > 0 {
                buf(c, hl).copy_from_slice(&state[(k - 1) * hl..k * hl]);
            }
            let inp: &[f64] = if k == 0 { x } else { &c[..hl] };
            let (gi, gh) = (buf(a, hl), buf(b, hl));
            let h = &mut state[k * hl..(k + 1) * hl];
            self.stack.pre(k, ar, inp, h, lanes, gi, gh, stats);
            ar.add(gi, gh, stats);
            ar.act(gi, act, stats);
            h.copy_from_slice(gi);
        }
        let last = self.stack.depth() - 1;
        hidden.copy_from_slice(&state[last * hl..(last + 1) * hl]);
    }
}
