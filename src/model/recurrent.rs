//! The Elman RNN, the LSTM and the GRU as one recurrent model, [`Recurrent`], generic over its
//! gate kind ([`Gates`]): the layer stack (`stack`: PyTorch's parameters and names), the
//! accessors, rounding and the layer loop are written once; a gate kind supplies its number of
//! gates, its state per layer and its cell equations. Each instance is monomorphised, so the
//! layer loop and the cell equations compile to one straight-line step per architecture.
//!
//! Common to all three: layer `k > 0` reads layer `k − 1`'s new `h`; the gate pre-activations are
//! rounded as `gi = round(round(W_ih x) + b_ih)`, `gh = round(round(W_hh h) + b_hh)` (see
//! `kernel` and `Stack::pre`); the hidden vector is `h_{L−1}`. Weights: PyTorch's names (see
//! `stack`), an optional embedding table before layer 0 (`embedding`) and an optional head
//! `head.weight`/`head.bias` (other usual names are matched too, see `roles`).
//!
//! - **Elman RNN** ([`Rnn`], `torch.nn.RNN`), `tanh` or ReLU:
//!   `h' = act(W_ih x + b_ih + W_hh h + b_hh)`, rounded `h' = round(act(round(gi + gh)))`.
//!   State `[h_0, …, h_{L−1}]` (`L · H` numbers). The metadata `ccsep.nonlinearity` = `tanh` |
//!   `relu` records the activation (a PyTorch state dict does not; the load option overrides it;
//!   default `tanh`).
//! - **LSTM** ([`Lstm`], `torch.nn.LSTM`, gates stacked `i, f, g, o` in `weight_ih_l{k}`):
//!   `i = σ(·), f = σ(·), g = tanh(·), o = σ(·)` of `W_ih x + b_ih + W_hh h + b_hh`,
//!   `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')`. Rounded: each activation rounded,
//!   `c' = round(round(f ⊙ c) + round(i ⊙ g))`, `h' = round(o ⊙ round(tanh(c')))`.
//!   State `[h_0, c_0, h_1, c_1, …]` (`2 · L · H` numbers).
//! - **GRU** ([`Gru`], `torch.nn.GRU`, gates stacked `r, z, n` in `weight_ih_l{k}`):
//!   `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
//!   `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`. Rounded:
//!   `r, z = round(σ(round(gi + gh)))`; `n = round(tanh(round(gi_n + round(r ⊙ gh_n))))`;
//!   `h' = round(round(round(1 − z) ⊙ n) + round(z ⊙ h))`. State `[h_0, …, h_{L−1}]`.

use std::fmt::Debug;

use rand_chacha::ChaCha8Rng;

use super::Cell;
use super::embedding::{Embedding, check_embedding};
use super::kernel::{Act, Arith};
use super::linear::{Linear, Workspace, buf};
use super::stack::{RecurrentLayer, Stack};
use super::weights::{TensorWriter, Tensors};
use crate::error::InputError;
use crate::numeric::Stats;

/// What distinguishes the Elman RNN, the LSTM and the GRU: the gates, the state each layer keeps
/// and the cell equations. Sealed: [`Elman`], [`LstmGates`] and [`GruGates`] are the kinds.
pub trait Gates: sealed::Sealed + Clone + Debug + PartialEq + Send + Sync {
    /// Gates stacked along the rows of `weight_ih_l{k}` (`G` in `G·H`).
    const GATES: usize;
    /// Vectors of `H` numbers each layer keeps in the state, `h` first (the LSTM adds `c`).
    const STATE_VECTORS: usize;

    /// One layer's cell: from the pre-activations `(gi, gh)` (`GATES · hl` numbers each, already
    /// `round(W x + b)`, where `hl = H · lanes`) updates the layer's state `layer`
    /// (`STATE_VECTORS · hl` numbers, `h` first); `scratch` is a spare buffer.
    fn cell(
        &self,
        ar: &Arith,
        pre: (&mut [f64], &mut [f64]),
        layer: &mut [f64],
        scratch: &mut Vec<f64>,
        stats: &mut Stats,
    );

    /// Metadata the weights file records beside the tensors (the Elman RNN's activation).
    fn save_meta(&self, _w: &mut TensorWriter) {}
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Elman {}
    impl Sealed for super::LstmGates {}
    impl Sealed for super::GruGates {}
}

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

/// The Elman RNN's cell: one gate and its activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elman {
    nonlinearity: Nonlinearity,
}

impl Gates for Elman {
    const GATES: usize = 1;
    const STATE_VECTORS: usize = 1;

    #[inline(always)]
    fn cell(
        &self,
        ar: &Arith,
        (gi, gh): (&mut [f64], &mut [f64]),
        h: &mut [f64],
        _scratch: &mut Vec<f64>,
        stats: &mut Stats,
    ) {
        let act = match self.nonlinearity {
            Nonlinearity::Tanh => Act::Tanh,
            Nonlinearity::Relu => Act::Relu,
        };
        ar.add(gi, gh, stats);
        ar.act(gi, act, stats);
        h.copy_from_slice(gi);
    }

    fn save_meta(&self, w: &mut TensorWriter) {
        w.meta("ccsep.nonlinearity", self.nonlinearity.name());
    }
}

/// The LSTM's cell: gates `i, f, g, o`, state `h, c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmGates;

impl Gates for LstmGates {
    const GATES: usize = 4;
    const STATE_VECTORS: usize = 2;

    #[inline(always)]
    fn cell(
        &self,
        ar: &Arith,
        (gi, gh): (&mut [f64], &mut [f64]),
        layer: &mut [f64],
        scratch: &mut Vec<f64>,
        stats: &mut Stats,
    ) {
        let hl = layer.len() / 2;
        let (h, cell) = layer.split_at_mut(hl);
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
        let t = buf(scratch, hl);
        t.copy_from_slice(f);
        ar.act(t, Act::Tanh, stats);
        ar.mul(o, t, stats);
        h.copy_from_slice(o);
    }
}

/// The GRU's cell: gates `r, z, n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GruGates;

impl Gates for GruGates {
    const GATES: usize = 3;
    const STATE_VECTORS: usize = 1;

    #[inline(always)]
    fn cell(
        &self,
        ar: &Arith,
        (gi, gh): (&mut [f64], &mut [f64]),
        h: &mut [f64],
        scratch: &mut Vec<f64>,
        stats: &mut Stats,
    ) {
        let hl = h.len();
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
        let zh = buf(scratch, hl);
        zh.copy_from_slice(z);
        ar.mul(zh, h, stats);
        ar.act(z, Act::OneMinus, stats);
        ar.mul(z, gi_n, stats);
        ar.add(z, zh, stats);
        h.copy_from_slice(z);
    }
}

/// The sizes of a random recurrent model (`Recurrent::random`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecurrentSizes {
    pub input: usize,
    pub hidden: usize,
    pub layers: usize,
    /// The head's outputs (`None`: no head).
    pub output: Option<usize>,
}

/// A multi-layer recurrent model of gate kind `G` with an optional embedding before the first
/// layer and an optional linear head.
#[derive(Clone, Debug, PartialEq)]
pub struct Recurrent<G> {
    pub(crate) embedding: Option<Embedding>,
    pub(crate) stack: Stack,
    pub(crate) gates: G,
    pub(crate) head: Option<Linear>,
}

/// A multi-layer Elman RNN with an optional linear head.
pub type Rnn = Recurrent<Elman>;
/// A multi-layer LSTM with an optional linear head.
pub type Lstm = Recurrent<LstmGates>;
/// A multi-layer GRU with an optional linear head.
pub type Gru = Recurrent<GruGates>;

impl Recurrent<Elman> {
    /// Checks the layer shapes and that the head reads `H` numbers.
    pub fn new(
        layers: Vec<RecurrentLayer>,
        nonlinearity: Nonlinearity,
        head: Option<Linear>,
    ) -> Result<Self, InputError> {
        Recurrent::checked(layers, Elman { nonlinearity }, head)
    }

    pub fn nonlinearity(&self) -> Nonlinearity {
        self.gates.nonlinearity
    }

    /// The gate kind of an Elman RNN with `nonlinearity`.
    pub(crate) fn gates(nonlinearity: Nonlinearity) -> Elman {
        Elman { nonlinearity }
    }
}

impl Recurrent<LstmGates> {
    /// Checks the layer shapes (`4H` gate rows) and that the head reads `H` numbers.
    pub fn new(layers: Vec<RecurrentLayer>, head: Option<Linear>) -> Result<Self, InputError> {
        Recurrent::checked(layers, LstmGates, head)
    }
}

impl Recurrent<GruGates> {
    /// Checks the layer shapes (`3H` gate rows) and that the head reads `H` numbers.
    pub fn new(layers: Vec<RecurrentLayer>, head: Option<Linear>) -> Result<Self, InputError> {
        Recurrent::checked(layers, GruGates, head)
    }
}

impl<G: Gates> Recurrent<G> {
    /// Checks the layer shapes (`G·H` gate rows) and that the head reads `H` numbers.
    fn checked(
        layers: Vec<RecurrentLayer>,
        gates: G,
        head: Option<Linear>,
    ) -> Result<Self, InputError> {
        let stack = Stack::new(layers, G::GATES)?;
        super::check_head(&head, stack.hidden())?;
        Ok(Recurrent {
            embedding: None,
            stack,
            gates,
            head,
        })
    }

    /// This model with `embedding` before its first layer (its vectors must be the `I`
    /// numbers layer 0 reads); `None` removes it.
    pub fn with_embedding(mut self, embedding: Option<Embedding>) -> Result<Self, InputError> {
        check_embedding(embedding.as_ref(), self.stack.input())?;
        self.embedding = embedding;
        Ok(self)
    }

    pub fn embedding(&self) -> Option<&Embedding> {
        self.embedding.as_ref()
    }

    pub fn layers(&self) -> &[RecurrentLayer] {
        self.stack.layers()
    }

    pub fn head(&self) -> Option<&Linear> {
        self.head.as_ref()
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        Recurrent {
            embedding: self.embedding.as_ref().map(|e| e.rounded(ar, stats)),
            stack: self.stack.rounded(ar, stats),
            gates: self.gates.clone(),
            head: self.head.as_ref().map(|h| h.rounded(ar, stats)),
        }
    }

    /// Reads the layers under `prefix`, then the embedding and head the role matcher finds
    /// (`stages`, given the input and hidden sizes), then the gate kind (`gates`, which may read
    /// the file's metadata), in that order.
    pub(crate) fn load(
        t: &Tensors,
        prefix: &str,
        stages: impl FnOnce(usize, usize) -> Result<super::Stages, InputError>,
        gates: impl FnOnce() -> Result<G, InputError>,
    ) -> Result<Self, InputError> {
        let stack = Stack::load(t, prefix, G::GATES)?;
        let st = stages(stack.input(), stack.hidden())?;
        super::check_head(&st.head, stack.hidden())?;
        check_embedding(st.embedding.as_ref(), stack.input())?;
        Ok(Recurrent {
            embedding: st.embedding,
            stack,
            gates: gates()?,
            head: st.head,
        })
    }

    /// PyTorch's initialisation (`Stack::random`), then the head's (`Linear::random`), drawn
    /// from `rng` in that order.
    pub(crate) fn random(
        sizes: RecurrentSizes,
        gates: G,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, InputError> {
        let stack = Stack::random(sizes.input, sizes.hidden, sizes.layers, G::GATES, rng)?;
        let head = sizes
            .output
            .map(|o| Linear::random(sizes.hidden, o, true, rng));
        Ok(Recurrent {
            embedding: None,
            stack,
            gates,
            head,
        })
    }

    /// Writes the layers in PyTorch's names and the gate kind's metadata (the embedding and
    /// the head are written by `Model::save`).
    pub(crate) fn save(&self, w: &mut TensorWriter) -> Result<(), InputError> {
        self.stack.save(w)?;
        self.gates.save_meta(w);
        Ok(())
    }
}

impl<G: Gates> Cell for Recurrent<G> {
    fn core_input_size(&self) -> usize {
        self.stack.input()
    }

    fn embedding(&self) -> Option<&Embedding> {
        self.embedding.as_ref()
    }

    fn hidden_size(&self) -> usize {
        self.stack.hidden()
    }

    fn state_size(&self) -> usize {
        G::STATE_VECTORS * self.stack.depth() * self.stack.hidden()
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
        let hl = self.stack.hidden() * lanes;
        // Layer `k`'s state: `STATE_VECTORS · hl` numbers from `k · per_layer`, `h` first.
        let per_layer = G::STATE_VECTORS * hl;
        let Workspace { a, b, c, d, .. } = ws;
        for k in 0..self.stack.depth() {
            if k > 0 {
                let below = (k - 1) * per_layer;
                buf(c, hl).copy_from_slice(&state[below..below + hl]);
            }
            let inp: &[f64] = if k == 0 { x } else { &c[..hl] };
            let (gi, gh) = (buf(a, G::GATES * hl), buf(b, G::GATES * hl));
            let layer = &mut state[k * per_layer..(k + 1) * per_layer];
            self.stack.pre(
                k,
                ar,
                (inp, &layer[..hl]),
                lanes,
                (&mut *gi, &mut *gh),
                stats,
            );
            self.gates.cell(ar, (gi, gh), layer, d, stats);
        }
        let last = (self.stack.depth() - 1) * per_layer;
        hidden.copy_from_slice(&state[last..last + hl]);
    }
}
