//! Sequence models with a forward pass at a `Precision`, exposing the state after every step.
//!
//! Architectures: the Elman RNN (`tanh`, ReLU), the LSTM and the GRU with PyTorch's equations,
//! gate order and parameter names (multi-layer), a diagonal linear state-space model, linear
//! attention run as an RNN, and a softmax Transformer (`L` layers, `H` heads, ReLU or GELU MLP,
//! residuals, optional pre-LN or post-LN layer norms, learned / sinusoidal / given positional
//! code, causal or full attention). A recurrent model may read an embedding table before its
//! first layer (`embedding`). Each module documents its equations, where it rounds and its
//! weight names.
//!
//! How a model runs at a precision:
//! - `Model::prepare` rounds every parameter to the format (a `p`-bit model has `p`-bit weights;
//!   saturation is counted in `Stats`) and returns a `Prepared` model; inputs are rounded too.
//! - every operation then rounds as `numeric`'s contract says (see `kernel`): after each dot
//!   product and each elementwise operation, activations evaluated in `f64` and rounded once.
//!   At `f64` rounding is the identity and the models compute what PyTorch's `float64` does.
//! - `Trace` records, per step, the full recurrent state (all layers; LSTM `h` and `c`), the last
//!   layer's hidden vector and the output (head, or the hidden vector without one).
//!
//! Recurrent models (all but the Transformer) can also be run one step at a time from any
//! state (`Prepared::step`, `Prepared::run_from`), which is what a prefix/suffix protocol needs.
//! `Prepared::final_outputs` (and `final_outputs_flat`, for sequences stored flat) runs a batch:
//! blocks of 16 sequences in lane layout, blocks in parallel with rayon; every lane computes
//! exactly what a lone run computes, and `Stats` is summed in a fixed order, so results do not
//! depend on the thread count. A pre-LN Transformer computes there only what reaches its last
//! position (`last_position`), bit for bit as the forward pass; a post-LN one, for which the
//! fast path is not written, runs the plain forward pass there.
//!
//! `Prepared::prefix_cache` and `Prepared::last_outputs` run a Transformer on many sequences
//! that share a prefix of one-hot tokens (up to a few replaced positions) and differ in their
//! last token, computing only the last position, bit for bit as `forward`.
//!
//! Weights load from safetensors (`load`, see `weights`): the RNN, LSTM and GRU read a PyTorch
//! state dict as is (`weight_ih_l0`, …, under any prefix such as `rnn.`); the SSM, linear
//! attention and Transformer read the ccsep scheme documented in their modules, which
//! `scripts/export_torch.py` writes. Beside the layers, `roles` finds by role and shape, under
//! the names people give them, an embedding table `[V, E]` (`embedding.weight`, `emb.weight`,
//! `wte.weight`, …; a recurrent model then runs it as a stage before its first layer, see
//! `embedding`, and a Transformer as its `embed`) and an output head `[O, H]` (`head`, `fc`,
//! `classifier`, …); `LoadOptions` names them where the names and shapes do not tell.

mod embedding;
mod kernel;
mod last_position;
mod layer_finish;
mod linear;
mod linear_attention;
mod parameters;
mod recurrent;
pub mod roles;
mod ssm;
mod stack;
#[doc(hidden)]
pub mod testing;
mod transformer;
pub mod weights;

use std::path::Path;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

pub use embedding::Embedding;
pub(crate) use kernel::Act;
pub use kernel::Arith;
pub(crate) use layer_finish::FinishBufs;
pub use linear::{Linear, Matrix, SparseMatrix, Weight};
pub use linear_attention::LinearAttention;
pub use recurrent::{Elman, Gates, Gru, GruGates, Lstm, LstmGates, Nonlinearity, Recurrent, Rnn};
pub use ssm::Ssm;
pub use stack::RecurrentLayer;
pub(crate) use transformer::layer_norm as transformer_layer_norm;
pub use transformer::{
    Activation, AttentionWeights, Block, Continuation, LayerNorm, PosCode, Transformer, sinusoid,
};

use crate::error::{InputError, Setting};
use crate::numeric::{Format, Precision, Stats};
use kernel::LANES;
use linear::Workspace;
use recurrent::RecurrentSizes;
use roles::{Role, Stages};
use weights::{TensorWriter, Tensors};

/// What a forward pass records, one entry per step (position).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Trace {
    /// The full recurrent state after the step (all layers; LSTM `[h_0, c_0, h_1, c_1, …]`);
    /// for the Transformer the residual stream after the last layer.
    pub states: Vec<Vec<f64>>,
    /// The last layer's hidden vector `h` (Transformer: after the final layer norm).
    pub hidden: Vec<Vec<f64>>,
    /// The output head's output, or `hidden` when the model has no head.
    pub outputs: Vec<Vec<f64>>,
}

/// The architectures, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    Rnn,
    Lstm,
    Gru,
    Ssm,
    LinearAttention,
    Transformer,
}

impl Arch {
    pub const ALL: [Arch; 6] = [
        Arch::Rnn,
        Arch::Lstm,
        Arch::Gru,
        Arch::Ssm,
        Arch::LinearAttention,
        Arch::Transformer,
    ];

    pub fn parse(s: &str) -> Result<Self, InputError> {
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                InputError::new(format!(
                    "unknown architecture {s:?}: use one of {}",
                    Arch::ALL.map(Arch::name).join(", ")
                ))
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::Rnn => "rnn",
            Arch::Lstm => "lstm",
            Arch::Gru => "gru",
            Arch::Ssm => "ssm",
            Arch::LinearAttention => "linear-attention",
            Arch::Transformer => "transformer",
        }
    }
}

/// A model of any architecture.
#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    Rnn(Rnn),
    Lstm(Lstm),
    Gru(Gru),
    Ssm(Ssm),
    LinearAttention(LinearAttention),
    Transformer(Transformer),
}

/// A recurrent architecture, stepped over `L` lanes at a time (state and vectors in lane layout,
/// see `kernel`). The initial state is all zeros.
pub(crate) trait Cell: Sync {
    /// Numbers per input: the embedding's `V`, or what the first layer reads without one.
    fn input_size(&self) -> usize {
        self.embedding()
            .map_or_else(|| self.core_input_size(), Embedding::vocab)
    }
    /// Numbers the first layer reads (after the embedding, if any).
    fn core_input_size(&self) -> usize;
    /// The embedding stage before the first layer, if any.
    fn embedding(&self) -> Option<&Embedding>;
    fn hidden_size(&self) -> usize;
    fn state_size(&self) -> usize;
    fn head(&self) -> Option<&Linear>;
    /// Advances `state` (`state_size · L`) by one input `x` (`core_input_size · L`, rounded,
    /// already through the embedding) and writes the step's hidden vector (`hidden_size · L`).
    #[allow(clippy::too_many_arguments)]
    fn step_core(
        &self,
        ar: &Arith,
        state: &mut [f64],
        x: &[f64],
        lanes: usize,
        hidden: &mut [f64],
        ws: &mut Workspace,
        stats: &mut Stats,
    );
    /// Advances `state` (`state_size · L`) by one input `x` (`input_size · L`, rounded): the
    /// embedding (if any, `round(E^T x)`), then the layers (`step_core`).
    #[allow(clippy::too_many_arguments)]
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
        match self.embedding() {
            None => self.step_core(ar, state, x, lanes, hidden, ws, stats),
            Some(e) => {
                let mut embedded = std::mem::take(&mut ws.e);
                let ex = linear::buf(&mut embedded, e.dim() * lanes);
                e.apply(ar, x, lanes, ex, stats);
                self.step_core(ar, state, ex, lanes, hidden, ws, stats);
                ws.e = embedded;
            }
        }
    }
}

pub(crate) fn check_head(head: &Option<Linear>, hidden: usize) -> Result<(), InputError> {
    match head {
        Some(h) if h.in_size() != hidden || h.out_size() == 0 => Err(InputError::new(format!(
            "head.weight has shape [{}, {}], expected [O, {hidden}] with O ≥ 1",
            h.out_size(),
            h.in_size()
        ))),
        _ => Ok(()),
    }
}

impl Model {
    pub fn arch(&self) -> Arch {
        match self {
            Model::Rnn(_) => Arch::Rnn,
            Model::Lstm(_) => Arch::Lstm,
            Model::Gru(_) => Arch::Gru,
            Model::Ssm(_) => Arch::Ssm,
            Model::LinearAttention(_) => Arch::LinearAttention,
            Model::Transformer(_) => Arch::Transformer,
        }
    }

    /// This recurrent model with `embedding` before its first layer (`None` removes it): it
    /// then reads one-hot inputs of the table's `V` rows. A Transformer's embedding is its
    /// `embed` (`Embedding::linear`), given when it is built; refused here.
    pub fn with_embedding(self, embedding: Option<Embedding>) -> Result<Model, InputError> {
        Ok(match self {
            Model::Rnn(m) => Model::Rnn(m.with_embedding(embedding)?),
            Model::Lstm(m) => Model::Lstm(m.with_embedding(embedding)?),
            Model::Gru(m) => Model::Gru(m.with_embedding(embedding)?),
            Model::Ssm(m) => Model::Ssm(m.with_embedding(embedding)?),
            Model::LinearAttention(m) => Model::LinearAttention(m.with_embedding(embedding)?),
            Model::Transformer(_) => {
                return Err(InputError::new(
                    "a Transformer's embedding is its input projection embed: build it with Embedding::linear",
                ));
            }
        })
    }

    /// A recurrent model's embedding stage, if it has one.
    pub fn embedding(&self) -> Option<&Embedding> {
        self.cell().and_then(Cell::embedding)
    }

    /// The recurrent cell (every architecture but the Transformer).
    pub(crate) fn cell(&self) -> Option<&dyn Cell> {
        match self {
            Model::Rnn(m) => Some(m),
            Model::Lstm(m) => Some(m),
            Model::Gru(m) => Some(m),
            Model::Ssm(m) => Some(m),
            Model::LinearAttention(m) => Some(m),
            Model::Transformer(_) => None,
        }
    }

    /// Numbers per input vector.
    pub fn input_size(&self) -> usize {
        match self {
            Model::Transformer(t) => t.input_size(),
            m => m.cell().map_or(0, Cell::input_size),
        }
    }

    /// Numbers per output vector.
    pub fn output_size(&self) -> usize {
        match self {
            Model::Transformer(t) => t.output_size(),
            m => m
                .cell()
                .map_or(0, |c| c.head().map_or(c.hidden_size(), Linear::out_size)),
        }
    }

    /// Numbers in the recurrent state; `None` for the Transformer, which has none.
    pub fn state_size(&self) -> Option<usize> {
        self.cell().map(Cell::state_size)
    }

    /// The state before the first input (all zeros); `None` for the Transformer.
    pub fn initial_state(&self) -> Option<Vec<f64>> {
        self.state_size().map(|n| vec![0.0; n])
    }

    /// This model with every parameter rounded to `prec`, ready to run at it. Fails for
    /// `paper:K` before its length is resolved (`Precision::for_length`).
    pub fn prepare(&self, prec: &Precision, stats: &mut Stats) -> Result<Prepared, InputError> {
        let ar = Arith::new(prec)?;
        let model = match self {
            Model::Rnn(m) => Model::Rnn(m.rounded(&ar, stats)),
            Model::Lstm(m) => Model::Lstm(m.rounded(&ar, stats)),
            Model::Gru(m) => Model::Gru(m.rounded(&ar, stats)),
            Model::Ssm(m) => Model::Ssm(m.rounded(&ar, stats)),
            Model::LinearAttention(m) => Model::LinearAttention(m.rounded(&ar, stats)),
            Model::Transformer(m) => Model::Transformer(m.rounded(&ar, stats)),
        };
        let last = match &model {
            Model::Transformer(t) if t.fast_path_layout() => {
                Some(Arc::new(last_position::LastPass::new(t, &ar)))
            }
            _ => None,
        };
        Ok(Prepared { model, ar, last })
    }

    /// The forward pass over `inputs` (one vector per step) at `prec`. `paper:K` is resolved
    /// with `N = inputs.len()`. Weight rounding is counted in `stats` too.
    pub fn forward(
        &self,
        inputs: &[Vec<f64>],
        prec: &Precision,
        stats: &mut Stats,
    ) -> Result<Trace, InputError> {
        let prec = match prec.format() {
            Format::Paper { .. } => prec.for_length(inputs.len() as u64)?,
            _ => *prec,
        };
        self.prepare(&prec, stats)?.forward(inputs, stats)
    }

    /// One step of a recurrent model from `state` (convenience: prepares the model at `prec`
    /// on every call; for many steps use `prepare` once and `Prepared::step`).
    pub fn step(
        &self,
        state: &[f64],
        x: &[f64],
        prec: &Precision,
        stats: &mut Stats,
    ) -> Result<Vec<f64>, InputError> {
        self.prepare(prec, stats)?.step(state, x, stats)
    }

    /// Writes the model as safetensors in the names `load` reads, with `ccsep.*` metadata.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut w = TensorWriter::new();
        w.meta("ccsep.arch", self.arch().name());
        match self {
            Model::Rnn(m) => m.save(&mut w)?,
            Model::Lstm(m) => m.save(&mut w)?,
            Model::Gru(m) => m.save(&mut w)?,
            Model::Ssm(m) => m.save(&mut w),
            Model::LinearAttention(m) => m.save(&mut w),
            Model::Transformer(m) => m.save(&mut w),
        }
        if let Some(e) = self.cell().and_then(Cell::embedding) {
            w.matrix("embedding.weight", &e.table());
        }
        if let Some(h) = self.rnn_head() {
            w.linear("head", h);
        }
        w.write(path)
    }

    fn rnn_head(&self) -> Option<&Linear> {
        match self {
            Model::Rnn(m) => m.head.as_ref(),
            Model::Lstm(m) => m.head.as_ref(),
            Model::Gru(m) => m.head.as_ref(),
            _ => None,
        }
    }

    fn check_inputs(&self, inputs: &[Vec<f64>]) -> Result<(), InputError> {
        let n = self.input_size();
        if let Some((t, x)) = inputs.iter().enumerate().find(|(_, x)| x.len() != n) {
            return Err(InputError::new(format!(
                "input {t} has {} numbers; the model takes {n} per step",
                x.len()
            )));
        }
        if let Model::Transformer(tr) = self {
            tr.check_len(inputs.len())?;
        }
        Ok(())
    }
}

/// The results of [`Prepared::run_many_flat`]: run `i`'s state is
/// `states[i·state_size..(i+1)·state_size]`, its output likewise (`output_size` is 0 when
/// outputs were not asked for or the inputs were empty).
#[derive(Clone, Debug, Default)]
pub struct FlatRuns {
    pub state_size: usize,
    pub output_size: usize,
    pub states: Vec<f64>,
    pub outputs: Vec<f64>,
}

/// A model at a precision: parameters rounded, arithmetic fixed.
#[derive(Clone, Debug)]
pub struct Prepared {
    model: Model,
    ar: Arith,
    /// A Transformer's fast final-output pass (what its weights let it skip, and per length
    /// its plan and position-only attention weights); `None` for the other architectures.
    last: Option<Arc<last_position::LastPass>>,
}

/// Transposes a block of sequences (all of length `t`) into lane layout for step `s`.
fn gather(seqs: &[&[Vec<f64>]], s: usize, n: usize, out: &mut [f64]) {
    let l = seqs.len();
    for (b, seq) in seqs.iter().enumerate() {
        for (i, &v) in seq[s].iter().enumerate().take(n) {
            out[i * l + b] = v;
        }
    }
}

fn scatter(v: &[f64], l: usize, b: usize) -> Vec<f64> {
    v.iter().skip(b).step_by(l).copied().collect()
}

impl Prepared {
    /// The model with its rounded parameters.
    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn precision(&self) -> &Precision {
        self.ar.precision()
    }

    /// The arithmetic every op of this model rounds with.
    pub fn arith(&self) -> &Arith {
        &self.ar
    }

    /// The forward pass from the initial state (any architecture).
    pub fn forward(&self, inputs: &[Vec<f64>], stats: &mut Stats) -> Result<Trace, InputError> {
        match &self.model {
            Model::Transformer(t) => {
                self.model.check_inputs(inputs)?;
                let xs = self.rounded_inputs(inputs, stats);
                let lt = t.forward_lanes(&self.ar, &xs, 1, stats);
                Ok(Trace {
                    states: lt.states,
                    hidden: lt.hidden,
                    outputs: lt.outputs,
                })
            }
            m => {
                let s0 = m.initial_state().unwrap_or_default();
                self.run_from(&s0, inputs, stats)
            }
        }
    }

    /// A Transformer's forward pass with the attention weights it used,
    /// `weights[layer][head][t][j]` (see `Transformer::forward_with_attention`): the same
    /// trace, bit for bit, as [`Prepared::forward`]. An error for the recurrent models, which
    /// have no attention.
    pub fn attention(
        &self,
        inputs: &[Vec<f64>],
        stats: &mut Stats,
    ) -> Result<(Trace, AttentionWeights), InputError> {
        let Model::Transformer(t) = &self.model else {
            return Err(InputError::new(format!(
                "the {} model has no attention weights: only a Transformer has them",
                self.model.arch().name()
            )));
        };
        self.model.check_inputs(inputs)?;
        let xs = self.rounded_inputs(inputs, stats);
        let (lt, weights) = t.forward_with_attention(&self.ar, &xs, stats);
        let trace = Trace {
            states: lt.states,
            hidden: lt.hidden,
            outputs: lt.outputs,
        };
        Ok((trace, weights))
    }

    fn rounded_inputs(&self, inputs: &[Vec<f64>], stats: &mut Stats) -> Vec<Vec<f64>> {
        inputs
            .iter()
            .map(|x| {
                let mut x = x.clone();
                self.ar.round_slice(&mut x, stats);
                x
            })
            .collect()
    }

    fn recurrent(&self) -> Result<&dyn Cell, InputError> {
        self.model.cell().ok_or_else(|| {
            InputError::new("the Transformer is not recurrent: it has no state to step from")
        })
    }

    /// A recurrent model's forward pass from `state` (rounded to the format first).
    pub fn run_from(
        &self,
        state: &[f64],
        inputs: &[Vec<f64>],
        stats: &mut Stats,
    ) -> Result<Trace, InputError> {
        let cell = self.recurrent()?;
        self.model.check_inputs(inputs)?;
        let mut state = self.checked_state(cell, state, stats)?;
        let mut hidden = vec![0.0; cell.hidden_size()];
        let mut ws = Workspace::default();
        let mut trace = Trace::default();
        for x in self.rounded_inputs(inputs, stats) {
            cell.step_lanes(&self.ar, &mut state, &x, 1, &mut hidden, &mut ws, stats);
            trace.states.push(state.clone());
            trace.outputs.push(self.output(cell, &hidden, 1, stats));
            trace.hidden.push(hidden.clone());
        }
        Ok(trace)
    }

    fn checked_state(
        &self,
        cell: &dyn Cell,
        state: &[f64],
        stats: &mut Stats,
    ) -> Result<Vec<f64>, InputError> {
        if state.len() != cell.state_size() {
            return Err(InputError::new(format!(
                "a state of {} numbers; the model's state has {}",
                state.len(),
                cell.state_size()
            )));
        }
        let mut s = state.to_vec();
        self.ar.round_slice(&mut s, stats);
        Ok(s)
    }

    fn output(&self, cell: &dyn Cell, hidden: &[f64], lanes: usize, stats: &mut Stats) -> Vec<f64> {
        match cell.head() {
            Some(h) => {
                let mut out = vec![0.0; h.out_size() * lanes];
                h.apply(&self.ar, hidden, lanes, &mut out, stats);
                out
            }
            None => hidden.to_vec(),
        }
    }

    /// One step of a recurrent model: the state after reading `x` from `state`.
    pub fn step(
        &self,
        state: &[f64],
        x: &[f64],
        stats: &mut Stats,
    ) -> Result<Vec<f64>, InputError> {
        let cell = self.recurrent()?;
        let mut state = self.checked_state(cell, state, stats)?;
        let x = self.rounded_inputs(std::slice::from_ref(&x.to_vec()), stats);
        self.model.check_inputs(&x)?;
        let mut hidden = vec![0.0; cell.hidden_size()];
        let mut ws = Workspace::default();
        cell.step_lanes(&self.ar, &mut state, &x[0], 1, &mut hidden, &mut ws, stats);
        Ok(state)
    }

    /// The output after the last step of every sequence of `batch` (each non-empty), computed in
    /// blocks of up to 16 sequences of equal length, the blocks in parallel. Equal to the last
    /// entry of `forward(...).outputs` for each sequence, bit for bit, and independent of the
    /// number of threads.
    ///
    /// A Transformer computes only what reaches the last position (see `last_position`: the
    /// last layer at the last position only, the lower layers only where something above reads
    /// them, position-only attention weights once per length, kept sparse), about
    /// `O(T·nnz + T²·d_k)` per sequence instead of `O(T²·d)`; `stats` then counts the rounding
    /// events of the operations performed, fewer than `forward` counts.
    pub fn final_outputs(
        &self,
        batch: &[Vec<Vec<f64>>],
        stats: &mut Stats,
    ) -> Result<Vec<Vec<f64>>, InputError> {
        for (i, seq) in batch.iter().enumerate() {
            if seq.is_empty() {
                return Err(InputError::new(format!(
                    "sequence {i} of the batch is empty"
                )));
            }
            self.model
                .check_inputs(seq)
                .map_err(|e| InputError::new(format!("sequence {i} of the batch: {e}")))?;
        }
        let flat: Vec<Vec<f64>> = batch.iter().map(|s| s.concat()).collect();
        Ok(self.outputs_of_flat(&flat, stats))
    }

    /// Whether [`final_outputs`](Self::final_outputs) on sequences of `len` positions must
    /// compute some position-only attention layer the plain way, `O(T²·d)` per sequence,
    /// because its nonzero weights exceed the pass's budget (a softmax that is far from hard,
    /// e.g. over saturated scores). Computes and keeps what those outputs then reuse. `false`
    /// for models other than Transformers.
    pub fn dense_attention(&self, len: usize) -> bool {
        match (&self.model, &self.last) {
            (Model::Transformer(t), Some(last)) => last.dense(t, &self.ar, len),
            _ => false,
        }
    }

    /// [`final_outputs`](Self::final_outputs) on sequences given flat: sequence `i` is its
    /// inputs one after another (`T · I` numbers, `T ≥ 1`), one allocation per sequence however
    /// long it is.
    pub fn final_outputs_flat(
        &self,
        batch: &[Vec<f64>],
        stats: &mut Stats,
    ) -> Result<Vec<Vec<f64>>, InputError> {
        let n = self.model.input_size();
        for (i, seq) in batch.iter().enumerate() {
            if seq.is_empty() || seq.len() % n != 0 {
                return Err(InputError::new(format!(
                    "sequence {i} of the batch has {} numbers; the model takes {n} per step and a sequence at least one step",
                    seq.len()
                )));
            }
            if let Model::Transformer(tr) = &self.model {
                tr.check_len(seq.len() / n)
                    .map_err(|e| InputError::new(format!("sequence {i} of the batch: {e}")))?;
            }
        }
        Ok(self.outputs_of_flat(batch, stats))
    }

    /// The final outputs of checked flat sequences: blocks of up to 16 of equal length, the
    /// blocks in parallel, `stats` summed in block order.
    fn outputs_of_flat(&self, batch: &[Vec<f64>], stats: &mut Stats) -> Vec<Vec<f64>> {
        let n = self.model.input_size();
        if let (Model::Transformer(t), Some(last)) = (&self.model, &self.last) {
            let mut lens: Vec<usize> = batch.iter().map(|s| s.len() / n).collect();
            lens.sort_unstable();
            lens.dedup();
            for len in lens {
                last.prefetch(t, &self.ar, len);
            }
        }
        let mut blocks = Vec::new();
        let mut start = 0;
        while start < batch.len() {
            let len = batch[start].len();
            let mut end = start + 1;
            while end < batch.len() && end - start < LANES && batch[end].len() == len {
                end += 1;
            }
            blocks.push(start..end);
            start = end;
        }
        let results: Vec<(Vec<Vec<f64>>, Stats)> = blocks
            .into_par_iter()
            .map(|r| {
                let seqs: Vec<&[f64]> = batch[r].iter().map(Vec::as_slice).collect();
                let mut st = Stats::default();
                let out = self.block_outputs(&seqs, &mut st);
                (out, st)
            })
            .collect();
        let mut outs = Vec::with_capacity(batch.len());
        for (o, st) in results {
            outs.extend(o);
            stats.merge(st);
        }
        outs
    }

    /// Runs `inputs[i]` from `starts[i]` for every `i` (all input sequences of one length, the
    /// states already rounded to the format, as a protocol's messages are) and returns the
    /// state after the last input of each, with the output there when `outputs` is set
    /// (`None` for an empty sequence). Blocks of 16 lanes, the blocks in parallel; every lane
    /// computes exactly what `run_from` computes, and `Stats` is summed in a fixed order.
    #[allow(clippy::type_complexity)]
    pub fn run_many(
        &self,
        starts: &[&[f64]],
        inputs: &[&[Vec<f64>]],
        outputs: bool,
        stats: &mut Stats,
    ) -> Result<Vec<(Vec<f64>, Option<Vec<f64>>)>, InputError> {
        let len = inputs.first().map_or(0, |s| s.len());
        let flat = self.run_many_flat(starts, inputs, outputs, stats)?;
        let (ss, os) = (flat.state_size, flat.output_size);
        Ok((0..starts.len())
            .map(|i| {
                (
                    flat.states[i * ss..(i + 1) * ss].to_vec(),
                    (outputs && len > 0).then(|| flat.outputs[i * os..(i + 1) * os].to_vec()),
                )
            })
            .collect())
    }

    /// [`run_many`](Self::run_many) without a vector per run: the states (and outputs) of all
    /// runs one after another, for the protocol's millions of short runs. The inputs are
    /// checked as in `run_many`.
    pub fn run_many_flat(
        &self,
        starts: &[&[f64]],
        inputs: &[&[Vec<f64>]],
        outputs: bool,
        stats: &mut Stats,
    ) -> Result<FlatRuns, InputError> {
        let cell = self.recurrent()?;
        if starts.len() != inputs.len() {
            return Err(InputError::new(
                "run_many: one input sequence per start state",
            ));
        }
        let len = inputs.first().map_or(0, |s| s.len());
        for (i, (s, seq)) in starts.iter().zip(inputs).enumerate() {
            if s.len() != cell.state_size() || seq.len() != len {
                return Err(InputError::new(format!(
                    "run_many: sequence {i} has a state of {} numbers and {} inputs; expected {} and {len}",
                    s.len(),
                    seq.len(),
                    cell.state_size()
                )));
            }
            self.model.check_inputs(seq)?;
        }
        let (ss, n) = (cell.state_size(), self.model.input_size());
        let os = if outputs && len > 0 {
            self.model.output_size()
        } else {
            0
        };
        let chunks: Vec<usize> = (0..starts.len()).step_by(LANES).collect();
        let results: Vec<(Vec<f64>, Vec<f64>, Stats)> = chunks
            .into_par_iter()
            .map(|c| {
                let end = (c + LANES).min(starts.len());
                let l = end - c;
                let mut st = Stats::default();
                let mut state = vec![0.0; ss * l];
                for (b, s) in starts[c..end].iter().enumerate() {
                    for (i, &v) in s.iter().enumerate() {
                        state[i * l + b] = v;
                    }
                }
                let mut hidden = vec![0.0; cell.hidden_size() * l];
                let mut ws = Workspace::default();
                let mut x = vec![0.0; n * l];
                for s in 0..len {
                    gather(&inputs[c..end], s, n, &mut x);
                    self.ar.round_slice(&mut x, &mut st);
                    cell.step_lanes(&self.ar, &mut state, &x, l, &mut hidden, &mut ws, &mut st);
                }
                let out = (os > 0).then(|| self.output(cell, &hidden, l, &mut st));
                let mut states = Vec::with_capacity(ss * l);
                let mut outs = Vec::with_capacity(os * l);
                for b in 0..l {
                    states.extend(state.iter().skip(b).step_by(l));
                    if let Some(o) = &out {
                        outs.extend(o.iter().skip(b).step_by(l));
                    }
                }
                (states, outs, st)
            })
            .collect();
        let mut flat = FlatRuns {
            state_size: ss,
            output_size: os,
            states: Vec::with_capacity(ss * starts.len()),
            outputs: Vec::with_capacity(os * starts.len()),
        };
        for (s, o, st) in results {
            flat.states.extend(s);
            flat.outputs.extend(o);
            stats.merge(st);
        }
        Ok(flat)
    }

    /// Final outputs of a block of equally long, checked flat sequences.
    fn block_outputs(&self, seqs: &[&[f64]], stats: &mut Stats) -> Vec<Vec<f64>> {
        let (l, n) = (seqs.len(), self.model.input_size());
        let last = match (&self.model, self.model.cell(), &self.last) {
            (Model::Transformer(tr), _, Some(last)) => last.outputs(tr, &self.ar, seqs, stats),
            (model, cell, _) => {
                // Every step's inputs in lane layout, one step after another (`T · I · L`).
                let t = seqs[0].len() / n;
                let mut xs = vec![0.0; t * n * l];
                for (b, seq) in seqs.iter().enumerate() {
                    for (j, &v) in seq.iter().enumerate() {
                        xs[j * l + b] = v;
                    }
                }
                self.ar.round_slice(&mut xs, stats);
                match (model, cell) {
                    (Model::Transformer(tr), _) => {
                        let steps: Vec<Vec<f64>> =
                            xs.chunks_exact(n * l).map(<[f64]>::to_vec).collect();
                        let mut lt = tr.forward_lanes(&self.ar, &steps, l, stats);
                        lt.outputs.pop().unwrap_or_default()
                    }
                    (_, Some(cell)) => {
                        let mut state = vec![0.0; cell.state_size() * l];
                        let mut hidden = vec![0.0; cell.hidden_size() * l];
                        let mut ws = Workspace::default();
                        for x in xs.chunks_exact(n * l) {
                            cell.step_lanes(
                                &self.ar,
                                &mut state,
                                x,
                                l,
                                &mut hidden,
                                &mut ws,
                                stats,
                            );
                        }
                        self.output(cell, &hidden, l, stats)
                    }
                    (_, None) => unreachable!("every model but the Transformer is a cell"),
                }
            }
        };
        (0..l).map(|b| scatter(&last, l, b)).collect()
    }
}

/// Options for `load` that a weights file may not record; each overrides the file's metadata.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The prefix of the model's layer tensors (e.g. `rnn.`); found automatically if unique.
    pub prefix: Option<String>,
    /// The output head's module (e.g. `cls` for `cls.weight`; `none`: no head); default: found
    /// by role and shape (`roles`).
    pub head: Option<String>,
    /// The embedding table's module (`none`: no embedding); default: found by role and shape.
    pub embedding: Option<String>,
    /// A Transformer's positional table's module (`none`: no table); default: found by name.
    pub pos: Option<String>,
    /// The Elman RNN's activation (default: metadata `ccsep.nonlinearity`, else `tanh`).
    pub nonlinearity: Option<Nonlinearity>,
    /// The Transformer's number of heads (default: metadata `ccsep.heads`).
    pub heads: Option<usize>,
    /// Causal attention (default: metadata `ccsep.causal`, else `true` in the ccsep scheme;
    /// required for PyTorch's `nn.TransformerEncoderLayer` layout).
    pub causal: Option<bool>,
    /// The Transformer's layer norms before (`true`) or after each residual add (default:
    /// metadata `ccsep.norm_first`, else `true` in the ccsep scheme; required for PyTorch's
    /// layout).
    pub norm_first: Option<bool>,
    /// The Transformer MLP's activation (default: metadata `ccsep.activation`, else ReLU in the
    /// ccsep scheme; required for PyTorch's layout).
    pub activation: Option<Activation>,
    /// Modules (name prefixes) of the file the model is to run without; any other tensor the
    /// model does not read is refused, so that no part of a state dict is dropped silently.
    pub ignore: Vec<String>,
}

impl LoadOptions {
    /// These options with the settings of a `--names` list: `ROLE=MODULE` for `embedding`,
    /// `head`, `pos` (a module name, e.g. `cls` for `cls.weight`, or `none`) and `layers` (the
    /// prefix of the layer tensors), and what a state dict does not record: `heads=H`,
    /// `norm-first=true|false`, `activation=relu|gelu`, `causal=true|false`,
    /// `nonlinearity=tanh|relu`; `ignore=MODULE` (repeatable) for tensors to leave out; comma
    /// separated.
    pub fn with_names(mut self, list: &str) -> Result<Self, InputError> {
        let names = Setting::Names;
        let bad = |item: &str, why: &str| {
            InputError::new(format!(
                "{names} {item:?}: {why}; write ROLE=VALUE items separated by commas, e.g. {names} embedding=enc.tok,head=cls,heads=2"
            ))
        };
        let flag = |item: &str, v: &str| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad(item, "use true or false")),
        };
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| bad(item, "an item is ROLE=VALUE"))?;
            let module = || {
                if value.is_empty() {
                    Err(bad(item, "name a module (or none)"))
                } else {
                    Ok(Some(value.to_string()))
                }
            };
            match key {
                "embedding" => self.embedding = module()?,
                "head" => self.head = module()?,
                "pos" => self.pos = module()?,
                "ignore" => self.ignore.push(module()?.unwrap_or_default()),
                "layers" => {
                    self.prefix = Some(match value {
                        "" => String::new(),
                        v if v.ends_with('.') => v.to_string(),
                        v => format!("{v}."),
                    })
                }
                "heads" => {
                    self.heads = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|h| *h >= 1)
                            .ok_or_else(|| bad(item, "heads is a number ≥ 1"))?,
                    )
                }
                "norm-first" | "norm_first" => self.norm_first = Some(flag(item, value)?),
                "causal" => self.causal = Some(flag(item, value)?),
                "activation" => {
                    self.activation =
                        Some(Activation::parse(value).map_err(|e| bad(item, &e.message))?)
                }
                "nonlinearity" => {
                    self.nonlinearity =
                        Some(Nonlinearity::parse(value).map_err(|e| bad(item, &e.message))?)
                }
                _ => {
                    return Err(bad(
                        item,
                        "the roles are embedding, head, pos, layers, ignore, heads, norm-first, activation, causal and nonlinearity",
                    ));
                }
            }
        }
        Ok(self)
    }
}

/// Loads a model of architecture `arch` (a name `Arch::parse` reads) from a safetensors file.
/// A file whose metadata `ccsep.arch` names another architecture is refused.
pub fn load(arch: &str, path: &Path, options: &LoadOptions) -> Result<Model, InputError> {
    let arch = Arch::parse(arch)?;
    let t = Tensors::read(path)?;
    from_tensors(arch, &t, options)
}

/// The embedding (reading `input` numbers out) and head (reading `hidden`) of a recurrent
/// model whose layer tensors `claimed` says, found by role (`roles`).
fn find_stages(
    t: &Tensors,
    options: &LoadOptions,
    claimed: impl Fn(&str) -> bool,
    (input, hidden): (usize, Option<usize>),
) -> Result<Stages, InputError> {
    let mut m = roles::Matcher::new(t, claimed);
    let mut wants = vec![roles::Want {
        role: Role::Embedding,
        cols: input,
        given: options.embedding.as_deref(),
    }];
    if let Some(h) = hidden {
        wants.push(roles::Want {
            role: Role::Head,
            cols: h,
            given: options.head.as_deref(),
        });
    }
    let found = m.find(&wants)?;
    Ok(Stages {
        embedding: found[0]
            .as_deref()
            .map(|e| roles::embedding(t, e, input))
            .transpose()?,
        head: match (found.get(1), hidden) {
            (Some(Some(h)), Some(hd)) => Some(roles::head(t, h, hd)?),
            _ => None,
        },
    })
}

/// `load` on tensors already read.
pub fn from_tensors(arch: Arch, t: &Tensors, options: &LoadOptions) -> Result<Model, InputError> {
    if let Some(a) = t.meta("ccsep.arch")
        && a != arch.name()
    {
        return Err(InputError::new(format!(
            "'{}' holds a {a} model, not a {}",
            t.path().display(),
            arch.name()
        )));
    }
    t.forget_reads();
    let model = build(arch, t, options)?;
    let unused: Vec<String> = t
        .unread()
        .into_iter()
        .filter(|n| {
            !options
                .ignore
                .iter()
                .any(|m| n == m || n.starts_with(&format!("{m}.")))
        })
        .map(|n| format!("{n} {:?}", t.shape(&n).unwrap_or(&[])))
        .collect();
    if !unused.is_empty() {
        return Err(InputError::new(format!(
            "'{}' holds tensors the {} model would run without: {}; a part of the network it does not model (a second head, an extra norm) would be dropped. Remove them from the file, or leave them out knowingly with {} ignore=MODULE",
            t.path().display(),
            arch.name(),
            unused.join(", "),
            Setting::Names
        )));
    }
    Ok(model)
}

fn build(arch: Arch, t: &Tensors, options: &LoadOptions) -> Result<Model, InputError> {
    let given = options.prefix.as_deref();
    Ok(match arch {
        Arch::Rnn | Arch::Lstm | Arch::Gru => {
            let prefix = stack::find_prefix(t, "weight_ih_l0", given)?;
            let layer = |n: &str| {
                n.strip_prefix(prefix.as_str())
                    .is_some_and(|r| r.starts_with("weight_") || r.starts_with("bias_"))
            };
            let stages = |i, h| find_stages(t, options, layer, (i, Some(h)));
            match arch {
                Arch::Rnn => Model::Rnn(Rnn::load(t, &prefix, stages, || {
                    Ok(Rnn::gates(match options.nonlinearity {
                        Some(n) => n,
                        None => t
                            .meta("ccsep.nonlinearity")
                            .map(Nonlinearity::parse)
                            .transpose()?
                            .unwrap_or(Nonlinearity::Tanh),
                    }))
                })?),
                Arch::Lstm => Model::Lstm(Lstm::load(t, &prefix, stages, || Ok(LstmGates))?),
                _ => Model::Gru(Gru::load(t, &prefix, stages, || Ok(GruGates))?),
            }
        }
        Arch::Ssm => {
            let prefix = stack::find_prefix(t, "ssm.B", given)?;
            let own = format!("{prefix}ssm.");
            let (n, _) = t.dims2(&format!("{prefix}ssm.B"))?;
            Model::Ssm(Ssm::load(t, &prefix, |i| {
                let st = find_stages(t, options, |x| x.starts_with(&own), (i, Some(n)))?;
                if st.head.is_some() {
                    // The SSM's output map is `ssm.C`; a head after it would be dropped.
                    return Err(InputError::new(format!(
                        "'{}' holds an output head beside the SSM's output map ssm.C [O, {n}]; an SSM has no separate head: save its output map as ssm.C (or name no head with {} head=none)",
                        t.path().display(),
                        Setting::Names
                    )));
                }
                Ok(st.embedding)
            })?)
        }
        Arch::LinearAttention => {
            let prefix = stack::find_prefix(t, "linear_attention.q.weight", given)?;
            let (dv, input) = t.dims2(&format!("{prefix}linear_attention.v.weight"))?;
            let own = format!("{prefix}linear_attention.");
            let stages = find_stages(t, options, |n| n.starts_with(&own), (input, Some(dv)))?;
            Model::LinearAttention(LinearAttention::load(t, &prefix, stages)?)
        }
        Arch::Transformer => Model::Transformer(Transformer::load(t, options)?),
    })
}

/// Where a Transformer's positions come from, for `random_init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PosSpec {
    None,
    Sinusoidal,
    Learned { max_len: usize },
}

/// The sizes of a Transformer for `random_init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransformerSpec {
    pub input: usize,
    pub d_model: usize,
    pub heads: usize,
    pub layers: usize,
    /// MLP width (`None`: attention only).
    pub d_ff: Option<usize>,
    pub output: Option<usize>,
    pub layer_norm: bool,
    pub pos: PosSpec,
    pub causal: bool,
}

/// An architecture and its sizes, for `random_init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    Rnn {
        input: usize,
        hidden: usize,
        layers: usize,
        output: Option<usize>,
        nonlinearity: Nonlinearity,
    },
    Lstm {
        input: usize,
        hidden: usize,
        layers: usize,
        output: Option<usize>,
    },
    Gru {
        input: usize,
        hidden: usize,
        layers: usize,
        output: Option<usize>,
    },
    Ssm {
        input: usize,
        state: usize,
        output: usize,
    },
    LinearAttention {
        input: usize,
        key: usize,
        value: usize,
        output: Option<usize>,
    },
    Transformer(TransformerSpec),
}

/// A model's answer bit from its output vector, the convention every check and construction
/// reads a model's guess of `f(x, y)` by: with one output number, `out[0] > 0`; with two or
/// more, `out[1] > out[0]` (the argmax of the first two; a tie reads as 0); no output reads as 0.
pub fn decode(out: &[f64]) -> bool {
    match out {
        [] => false,
        [a] => *a > 0.0,
        [a, b, ..] => b > a,
    }
}

/// Most memory a random model may take (bytes, as [`Spec::memory`] estimates it): 8 GiB, a
/// third of a 24 GiB machine. `ccsep check --init random` allows `--width 4096 --layers 64`,
/// whose weights alone would take about 69 GB.
pub const MAX_RANDOM_MODEL_BYTES: u128 = 8 << 30;

impl Spec {
    /// The numbers (weights, biases, positional table) of the model [`random_init`] builds,
    /// counted without building it (in `u128`, so that no size overflows).
    pub fn parameters(&self) -> u128 {
        let u = |x: usize| x as u128;
        // A `Linear` from `i` to `o` numbers, with its bias.
        let linear = |i: usize, o: usize| u(o) * (u(i) + 1);
        let head = |o: Option<usize>, h: usize| o.map_or(0, |o| linear(h, o));
        // A recurrent stack of `gates` gates: PyTorch's weights and both biases per layer.
        let stack = |input: usize, hidden: usize, layers: usize, gates: usize| {
            let rows = u(gates) * u(hidden);
            let first = rows * (u(input) + u(hidden) + 2);
            let above = rows * (2 * u(hidden) + 2);
            first + u(layers.saturating_sub(1)) * above
        };
        match *self {
            Spec::Rnn {
                input,
                hidden,
                layers,
                output,
                ..
            } => stack(input, hidden, layers, 1) + head(output, hidden),
            Spec::Lstm {
                input,
                hidden,
                layers,
                output,
            } => stack(input, hidden, layers, 4) + head(output, hidden),
            Spec::Gru {
                input,
                hidden,
                layers,
                output,
            } => stack(input, hidden, layers, 3) + head(output, hidden),
            Spec::Ssm {
                input,
                state,
                output,
            } => u(state) * (1 + u(input) + u(output)),
            Spec::LinearAttention {
                input,
                key,
                value,
                output,
            } => 2 * linear(input, key) + linear(input, value) + head(output, value),
            Spec::Transformer(t) => {
                let d = t.d_model;
                let norms = if t.layer_norm { 4 * u(d) } else { 0 };
                let mlp = t.d_ff.map_or(0, |f| linear(d, f) + linear(f, d));
                let block = 4 * linear(d, d) + norms + mlp;
                let pos = match t.pos {
                    PosSpec::Learned { max_len } => u(max_len) * u(d),
                    PosSpec::None | PosSpec::Sinusoidal => 0,
                };
                let ln_f = if t.layer_norm { 2 * u(d) } else { 0 };
                linear(t.input, d) + pos + u(t.layers) * block + ln_f + head(t.output, d)
            }
        }
    }

    /// Memory the model takes while it is checked, about: 16 bytes a parameter, its `f64`
    /// weights and the rounded copy that `Model::prepare` makes of them.
    pub fn memory(&self) -> u128 {
        self.parameters().saturating_mul(16)
    }
}

/// Refuses a random model whose memory ([`Spec::memory`]) exceeds [`MAX_RANDOM_MODEL_BYTES`],
/// before anything is drawn.
fn check_random_size(spec: &Spec) -> Result<(), InputError> {
    let bytes = spec.memory();
    if bytes > MAX_RANDOM_MODEL_BYTES {
        return Err(InputError::new(format!(
            "a random model of this size has {} parameters: about {} of memory with the rounded \
             copy a check makes (limit {}); choose a smaller {} or fewer {}",
            spec.parameters(),
            crate::problem::human_bytes(bytes),
            crate::problem::human_bytes(MAX_RANDOM_MODEL_BYTES),
            Setting::Width,
            Setting::Layers,
        )));
    }
    Ok(())
}

/// A model with random weights drawn from a ChaCha8 stream seeded by `seed` (PyTorch's default
/// initialisation ranges). Same spec and seed, same weights. Refuses, before drawing anything,
/// a model over [`MAX_RANDOM_MODEL_BYTES`] ([`Spec::memory`]).
pub fn random_init(spec: &Spec, seed: u64) -> Result<Model, InputError> {
    check_random_size(spec)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sizes = |input, hidden, layers, output| RecurrentSizes {
        input,
        hidden,
        layers,
        output,
    };
    Ok(match *spec {
        Spec::Rnn {
            input,
            hidden,
            layers,
            output,
            nonlinearity,
        } => Model::Rnn(Rnn::random(
            sizes(input, hidden, layers, output),
            Rnn::gates(nonlinearity),
            &mut rng,
        )?),
        Spec::Lstm {
            input,
            hidden,
            layers,
            output,
        } => Model::Lstm(Lstm::random(
            sizes(input, hidden, layers, output),
            LstmGates,
            &mut rng,
        )?),
        Spec::Gru {
            input,
            hidden,
            layers,
            output,
        } => Model::Gru(Gru::random(
            sizes(input, hidden, layers, output),
            GruGates,
            &mut rng,
        )?),
        Spec::Ssm {
            input,
            state,
            output,
        } => Model::Ssm(Ssm::random(input, state, output, &mut rng)?),
        Spec::LinearAttention {
            input,
            key,
            value,
            output,
        } => Model::LinearAttention(LinearAttention::random(
            input, key, value, output, &mut rng,
        )?),
        Spec::Transformer(t) => Model::Transformer(Transformer::random(&t, &mut rng)?),
    })
}

/// The keys and values of a prefix of one-hot tokens at every layer of a prepared Transformer,
/// computed once for many continuations (`Prepared::last_outputs`). Valid only with the
/// `Prepared` model that made it.
#[derive(Clone, Debug)]
pub struct PrefixCache {
    kv: transformer::PrefixKv,
    input: usize,
    d_model: usize,
}

impl PrefixCache {
    /// The prefix's tokens.
    pub fn tokens(&self) -> &[u32] {
        self.kv.tokens()
    }
}

impl Prepared {
    /// The keys and values of `prefix` (tokens read one-hot, as `Vocab::one_hot` writes them)
    /// at every layer, for `last_outputs`. Transformers only. Cost: one embedding column, the
    /// key and value projections per position, and for every layer below the last the
    /// attention of each position over the ones before it.
    pub fn prefix_cache(
        &self,
        prefix: &[u32],
        stats: &mut Stats,
    ) -> Result<PrefixCache, InputError> {
        let Model::Transformer(t) = &self.model else {
            return Err(InputError::new(
                "prefix_cache needs a Transformer; run recurrent models with run_from",
            ));
        };
        let input = t.input_size();
        if let Some((i, tok)) = prefix
            .iter()
            .enumerate()
            .find(|(_, tok)| **tok as usize >= input)
        {
            return Err(InputError::new(format!(
                "prefix token {tok} at position {i} is outside the model's {input} one-hot inputs"
            )));
        }
        t.check_len(prefix.len() + 1)?;
        Ok(PrefixCache {
            kv: t.prefix_kv(&self.ar, prefix, stats),
            input,
            d_model: t.d_model(),
        })
    }

    /// The output after the last token of every continuation of `cache`'s prefix: bit for bit
    /// the last entry of `forward(...).outputs` on the one-hot sequence `prefix` (with the
    /// continuation's edits) then `last`. Only the last position is computed, with the cached
    /// keys and values; continuations run in blocks of 16 lanes, the blocks in parallel, and
    /// the result does not depend on the number of threads. `stats` counts the rounding events
    /// of the operations performed, fewer than a full forward pass performs. See
    /// `Transformer::last_outputs` for the cost and for when it falls back to the full pass.
    pub fn last_outputs(
        &self,
        cache: &PrefixCache,
        items: &[Continuation],
        stats: &mut Stats,
    ) -> Result<Vec<Vec<f64>>, InputError> {
        let Model::Transformer(t) = &self.model else {
            return Err(InputError::new("last_outputs needs a Transformer"));
        };
        if cache.input != t.input_size() || cache.d_model != t.d_model() {
            return Err(InputError::new(
                "the prefix cache was made by another model; build it with this model's prefix_cache",
            ));
        }
        let (len, input) = (cache.tokens().len(), cache.input);
        for (i, c) in items.iter().enumerate() {
            let bad_token =
                c.last as usize >= input || c.edits.iter().any(|e| e.1 as usize >= input);
            let mut positions: Vec<usize> = c.edits.iter().map(|e| e.0).collect();
            positions.sort_unstable();
            let repeated = positions.windows(2).any(|w| w[0] == w[1]);
            if bad_token || positions.last().is_some_and(|&p| p >= len) || repeated {
                return Err(InputError::new(format!(
                    "continuation {i}: tokens must be below {input} and edited positions distinct and below the prefix length {len}"
                )));
            }
        }
        Ok(t.last_outputs(&self.ar, &cache.kv, items, stats))
    }
}

#[cfg(test)]
mod tests;
