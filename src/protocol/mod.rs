//! The protocol a model induces on a communication problem, run exhaustively.
//!
//! A reduction (`task::reduction`) turns an instance `(x, y)` into tokens with the owner of each
//! position. For a recurrent model and a prefix / suffix split (Thm 2), Alice feeds her prefix
//! and sends the model's whole recurrent state (all layers; LSTM `h` and `c`), which is already
//! on the precision's grid; Bob continues from it with his suffix and reads the model's answer.
//! [`rnn::check`] runs that protocol on every instance (or a labelled sample), counts the
//! distinct messages, measures accuracy, sets them beside the problem's one-way CC, and finds a
//! collision witness where the messages are too few. For a one-layer Transformer and any
//! partition of the positions, [`transformer::check`] runs the protocol of Thm 4 (last token,
//! maxima, partial normalisers and numerators per head), compares it with the forward pass on
//! every instance, and counts transcripts against a fooling set. The model is built by the caller
//! (`app::ModelSource`), which also hands in the description the report carries as `model`.
//!
//! Conventions:
//! - Messages are compared as bit patterns of `f64` after mapping `-0.0` to `0.0` and every NaN
//!   to one NaN. Bits available = state numbers × the precision's bits per number.
//! - Decoding ([`decode`], defined in `model`): the model's output after the last token is read
//!   as a bit, the model's guess of `f(x, y)`: with one output number, `out[0] > 0`; with two or more,
//!   `out[1] > out[0]` (the argmax of the first two; a tie reads as 0). For `index-lookup` the
//!   bit is "the symbol is `1`", for `equality` "the halves are equal", for `disjointness` "the
//!   sets are disjoint" — that is, always `f` of the reduction's problem. `mqar` is scored as the
//!   task defines it ([`score`]): an answer per query, read at the query's position (for a head
//!   with one number per token, the larger of `v0`'s and `v1`'s), right when every answer is; its
//!   bit is "no answer is `v1`" (DISJ), so messages against DISJ's rows still bound it.
//! - Alice feeds every position up to her last one; public positions after it (a separator, a
//!   query marker) are Bob's to feed, so every Bob input adds at least one position.

pub mod rnn;
pub mod transformer;

use serde::Serialize;

use crate::error::{InputError, Setting};
use crate::matrix::CommMatrix;
use crate::model::{Model, Prepared};
use crate::numeric::{Format, Precision, Stats};
use crate::problem::DEFAULT_MAX_MEMORY;
use crate::task::{Reduction, ReductionKind};

pub use crate::model::decode;

/// MQAR's answer to one query from the output at its position: whether it is `v1` (so `x_i = 1`
/// for the query `k_i`). An output with one number per vocabulary token (a language-model head)
/// compares the two values' entries, `out[v1] > out[v0]`; any other output is read as
/// [`decode`] reads it (one number: `> 0`; two or more: `out[1] > out[0]`).
pub fn query_answer(out: &[f64], vocab: usize, v0: usize, v1: usize) -> bool {
    if out.len() == vocab && vocab > v1.max(v0) {
        out[v1] > out[v0]
    } else {
        decode(out)
    }
}

/// The answer bit a check reads off a model's output after the last token of an instance of
/// `r`: [`decode`], except for recall, whose answer is a value token: an output with one number
/// per vocabulary token (what `ccsep train` gives recall models) is read as `out[v1] > out[v0]`
/// (the bit `x_i`), as [`query_answer`] reads MQAR's answers.
pub fn answer_bit(r: &Reduction, out: &[f64]) -> bool {
    match (r.kind(), r.task()) {
        (ReductionKind::RecallIndex, crate::task::AnyTask::Recall(t)) => query_answer(
            out,
            r.task().vocab().len(),
            t.value(0) as usize,
            t.value(1) as usize,
        ),
        _ => decode(out),
    }
}

/// For MQAR: the vocabulary size and the tokens `v0`, `v1` ([`query_answer`]'s arguments).
pub fn mqar_values(r: &Reduction) -> Option<(usize, usize, usize)> {
    match (r.kind(), r.task()) {
        (ReductionKind::Mqar, crate::task::AnyTask::Recall(t)) => Some((
            r.task().vocab().len(),
            t.value(0) as usize,
            t.value(1) as usize,
        )),
        _ => None,
    }
}

/// How the model did on the instance `(x, y)`, from its outputs `outputs[t]` after each token `t`
/// (for MQAR at least up to the last query; otherwise the last one suffices): its answer read as
/// the bit `f` (see the module documentation) and whether it is right *as the task defines it*.
/// For every task but MQAR that is the bit against `f(x, y)`. MQAR answers each query `k_i`
/// (Bob's queries, in increasing `i`) with a value at the query's position; the instance is
/// right when every answer is `v_{x_i}`, and the bit is DISJ read off the answers (no answer is
/// `v1`), so a model right on every instance computes DISJ.
pub fn score(r: &Reduction, x: u64, y: u64, outputs: &[Vec<f64>]) -> (bool, bool) {
    match mqar_values(r) {
        Some((vocab, v0, v1)) => {
            let n = r.n() as usize;
            // Alice's n pairs, then the marker, then the queries.
            let first = 2 * n + 1;
            let mut right = true;
            let mut any_one = false;
            for (j, i) in (0..n).filter(|&i| (y >> i) & 1 == 1).enumerate() {
                let a = outputs
                    .get(first + j)
                    .is_some_and(|o| query_answer(o, vocab, v0, v1));
                right &= a == ((x >> i) & 1 == 1);
                any_one |= a;
            }
            (!any_one, right)
        }
        None => {
            let bit = answer_bit(r, outputs.last().map_or(&[][..], Vec::as_slice));
            let f = r.value(x, y).unwrap_or(!bit);
            (bit, bit == f)
        }
    }
}

/// The reduction a `--task` name selects: `index` (index-lookup), `recall` (recall-index),
/// `equality` / `eq` / `ineq`, `mqar`, `disjointness` / `disj`, or any reduction's own name.
pub fn reduction_kind(task: &str) -> Result<ReductionKind, InputError> {
    Ok(match task.to_ascii_lowercase().as_str() {
        "index" => ReductionKind::IndexLookup,
        "recall" => ReductionKind::RecallIndex,
        "eq" | "ineq" => ReductionKind::Equality,
        "disj" => ReductionKind::Disjointness,
        "dyck" => ReductionKind::DyckOddEven,
        "dyck-halves" => ReductionKind::DyckHalves,
        other => other.parse()?,
    })
}

/// `k` distinct Alice inputs of `r` drawn with a ChaCha8 stream seeded by `seed`, in increasing
/// order (every input when `k` covers them all). The same draw for every protocol's check.
pub fn sample_alice(r: &Reduction, k: u64, seed: u64) -> Vec<u64> {
    use rand::{RngExt, SeedableRng};
    if k >= r.alice_inputs().end {
        return r.alice_inputs().collect();
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut set = std::collections::BTreeSet::new();
    while (set.len() as u64) < k {
        set.insert(rng.random_range(r.alice_inputs()));
    }
    set.into_iter().collect()
}

/// Largest matrix of a Dyck reduction built for its one-way CC (cells).
const MAX_DYCK_CELLS: u64 = 1 << 28;

/// The name of the reduction's `f`: its problem's label, or Dyck-(2,2) membership.
pub fn problem_label(r: &Reduction) -> String {
    match (r.problem(), r.kind()) {
        (Some(p), _) => p.label(),
        (None, ReductionKind::DyckHalves) => "Dyck-(2,2) membership, halves".into(),
        (None, _) => "Dyck-(2,2) membership, odd / even".into(),
    }
}

/// The communication matrix of the reduction's `f` where it fits in memory: the problem's own,
/// or for a Dyck reduction built from membership (`dyck-halves` through the automaton's state
/// after Alice's half). `None` past the caps.
pub fn reduction_matrix(r: &Reduction) -> Result<Option<CommMatrix>, InputError> {
    if let Some(p) = r.problem() {
        return Ok(match p.check_size(DEFAULT_MAX_MEMORY) {
            Ok(_) => Some(p.matrix()?),
            Err(_) => None,
        });
    }
    let (rows, cols) = (r.alice_inputs().end, r.bob_inputs().end);
    if rows.saturating_mul(cols) > MAX_DYCK_CELLS {
        return Ok(None);
    }
    let m = if r.kind() == ReductionKind::DyckHalves {
        let dfa = crate::task::Dfa::dyck22();
        let half = r.n() as usize / 2;
        let code = |v: u64, j: usize| ((v >> (2 * j)) & 3) as crate::task::Token;
        let run = |start: Option<usize>, v: u64| {
            (0..half).try_fold(start?, |q, j| dfa.step(q, code(v, j)))
        };
        let after: Vec<Option<usize>> = (0..rows).map(|x| run(Some(dfa.start()), x)).collect();
        CommMatrix::from_fn(rows as usize, cols as usize, |x, y| {
            run(after[x], y as u64).is_some_and(|q| dfa.is_accepting(q))
        })?
    } else {
        CommMatrix::from_fn(rows as usize, cols as usize, |x, y| {
            r.value(x as u64, y as u64).expect("inputs in range")
        })?
    };
    Ok(Some(m))
}

/// A reduction that splits as Alice prefix / Bob suffix, with the split found and checked.
#[derive(Clone, Debug)]
pub struct Split {
    pub reduction: Reduction,
    /// Positions Alice feeds: up to her last one (public positions after it are Bob's to feed).
    pub prefix_len: usize,
}

impl Split {
    /// Refuses a reduction that is not prefix / suffix.
    pub fn new(reduction: Reduction) -> Result<Self, InputError> {
        if !reduction.is_prefix_suffix() {
            return Err(InputError::new(format!(
                "the {} reduction does not split as an Alice prefix and a Bob suffix, so a recurrent model induces no one-way protocol on it; a one-layer Transformer does ({} transformer: the Thm 4 protocol for any partition)",
                reduction.kind(),
                Setting::Arch
            )));
        }
        let y_last = reduction.bob_inputs().end - 1;
        let inst = reduction.instance(0, y_last)?;
        let prefix_len = inst
            .owners
            .iter()
            .rposition(|&o| o == crate::task::Owner::Alice)
            .map_or(0, |p| p + 1);
        Ok(Split {
            reduction,
            prefix_len,
        })
    }
}

/// How to run a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Sample this many Alice inputs (seeded) instead of all of them.
    pub sample: Option<u64>,
    /// Seed of the samples (Alice inputs, and the instances compared with the forward pass).
    pub seed: u64,
    /// Refuse when `#messages × #Bob` exceeds this.
    pub max_runs: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            sample: None,
            seed: 0,
            max_runs: rnn::DEFAULT_MAX_RUNS,
        }
    }
}

/// A sampled check: which Alice inputs were covered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleInfo {
    /// Distinct Alice inputs drawn (every Bob input is run against each).
    pub alice_inputs: u64,
    pub seed: u64,
}

/// Whether the model's size allows it to be right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictTag {
    /// Fewer distinct messages than distinct rows (or a witness in a sample): it must err.
    MustErr,
    /// As many distinct messages as distinct rows: the size does not force an error.
    EnoughMessages,
    /// A sample without a witness: no conclusion about the whole problem.
    Inconclusive,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub tag: VerdictTag,
    /// Accuracy 1 on the instances covered.
    pub perfect: bool,
    pub sentence: String,
}

/// Two instances with one message (one transcript), so one answer, and different values of
/// `f`: `(x, y)` and `(x', y')`, with `y' = y` for the prefix / suffix protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witness {
    pub x: u64,
    pub x_prime: u64,
    pub y: u64,
    /// Bob's input of the second instance, where it differs from `y` (Thm 4 transcripts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_prime: Option<u64>,
    /// `f(x, y)` and `f(x', y')`: different.
    pub f_x: bool,
    pub f_x_prime: bool,
    /// The model's answer on both (one message, one answer).
    pub answer: bool,
    /// The input on which the answer is wrong.
    pub wrong: WrongInput,
}

/// Which input of a [`Witness`] the single answer is wrong on (`x` or `x_prime` in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WrongInput {
    X,
    XPrime,
}

impl WrongInput {
    /// The input an `answer` given on both is wrong on, when `f(x, y) = f_x` (and `f` differs on
    /// the other instance).
    pub fn of(answer: bool, f_x: bool) -> Self {
        if answer == f_x {
            WrongInput::XPrime
        } else {
            WrongInput::X
        }
    }

    /// Its name in reports: `x` or `x_prime`.
    pub fn name(self) -> &'static str {
        match self {
            WrongInput::X => "x",
            WrongInput::XPrime => "x_prime",
        }
    }
}

impl std::fmt::Display for WrongInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which protocol a check ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProtocolKind {
    /// Alice's prefix, then Bob's suffix from her state (Thm 2, recurrent models).
    #[serde(rename = "prefix-suffix")]
    PrefixSuffix,
    /// The Thm 4 protocol of a one-layer Transformer, for any partition of the positions.
    #[serde(rename = "thm4-any-partition")]
    Thm4AnyPartition,
}

impl ProtocolKind {
    /// Its name in reports (as in JSON).
    pub fn name(self) -> &'static str {
        match self {
            ProtocolKind::PrefixSuffix => "prefix-suffix",
            ProtocolKind::Thm4AnyPartition => "thm4-any-partition",
        }
    }
}

impl std::fmt::Display for ProtocolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An instance where the protocol's answer differs from the model's own forward pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub x: u64,
    pub y: u64,
    pub protocol: bool,
    pub forward: bool,
}

/// What `ccsep check` reports, about a model described by `M` (where it came from: the caller's
/// description, carried into the report as it is given).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport<M> {
    pub task: String,
    pub problem: String,
    pub n: u32,
    pub model: M,
    pub precision: String,
    /// The prefix / suffix protocol (Thm 2, recurrent models) or Thm 4's (one-layer Transformer).
    pub protocol: ProtocolKind,
    /// Instances `(x, y)` covered.
    pub instances: u64,
    pub exhaustive: bool,
    pub sample: Option<SampleInfo>,
    pub correct: u64,
    pub accuracy: f64,
    pub distinct_messages: u64,
    pub log2_messages: f64,
    /// Numbers in one message: the recurrent state, or a Thm 4 transcript.
    pub message_numbers: usize,
    pub bits_per_number: Option<u32>,
    pub bits_available: Option<u64>,
    /// Whether `bits_available` bounds the bits the protocol really sends. False for the Thm 4
    /// protocol at a float or `paper` format with `wide` accumulation: its partial sums are
    /// exact `f64` values that need more bits than the format's `p + ⌈log2 T⌉` counted.
    pub bits_available_upper_bound: bool,
    /// One-way CC Alice → Bob of the problem, and its distinct rows (`None` past the memory cap).
    pub one_way_cc: Option<u32>,
    /// One-way CC Bob → Alice (reported by the Thm 4 check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_way_cc_bob_to_alice: Option<u32>,
    pub distinct_rows: Option<u64>,
    /// Thm 4 check: a lower bound on the deterministic (two-way) CC of the problem under the
    /// reduction's partition, `⌈log2 |S|⌉` for the fooling set `S` (Dyck odd / even: Lemma 1's
    /// `N − 1`). The bound that binds the Thm 4 protocol, in which both parties speak; the
    /// one-way figures bind only protocols where one party alone speaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub two_way_cc_lower_bound: Option<u32>,
    /// The transcripts a fooling set meets (Thm 4 check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fooling_set: Option<FoolingCheck>,
    pub verdict: Verdict,
    /// Two instances with one message and different `f` that the model's forward pass answers
    /// alike: the model errs on one (what `ccsep verify` re-checks).
    pub witness: Option<Witness>,
    /// Thm 4 check, where the protocol's output differs from the forward pass: two instances
    /// with one transcript and different `f`, on which the *protocol* errs but the forward pass
    /// does not answer alike, so it proves nothing about the model (`answer` is the protocol's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_witness: Option<Witness>,
    /// Why a bound does or does not apply, where that needs saying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Instances on which the protocol was compared with the plain forward pass.
    pub protocol_checked: u64,
    /// Instances where the protocol's output differs from the forward pass (the first ones
    /// are listed in `protocol_mismatches`).
    pub protocol_mismatch_count: u64,
    pub protocol_mismatches: Vec<Mismatch>,
    /// Work done by the prefix / suffix protocol: model steps in Alice's walk, suffix runs in
    /// Bob's phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alice_steps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix_runs: Option<u64>,
    pub saturated: u64,
    pub nan: u64,
}

/// The precision a check of `reduction` runs at: `paper:K` resolved with the length of the
/// longest instance, any other format as it is.
pub fn resolve(precision: &Precision, reduction: &Reduction) -> Result<Precision, InputError> {
    match precision.format() {
        Format::Paper { .. } => {
            let y = reduction.bob_inputs().end - 1;
            let len = reduction.instance(0, y)?.tokens.len() as u64;
            precision.for_length(len)
        }
        _ => Ok(*precision),
    }
}

/// Prepares the model at `precision`, resolving `paper:K` with the length of the longest instance.
pub fn prepare(
    model: &Model,
    precision: &Precision,
    reduction: &Reduction,
    stats: &mut Stats,
) -> Result<Prepared, InputError> {
    model.prepare(&resolve(precision, reduction)?, stats)
}

/// A fooling set and the transcripts its entries meet: a correct protocol gives every entry its
/// own transcript, so fewer transcripts than entries prove an error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FoolingCheck {
    /// Entries `(x, y)`, all with `f = value`.
    pub size: u64,
    pub value: bool,
    pub log2_size: f64,
    /// What the set is.
    pub description: String,
    pub distinct_transcripts: u64,
}

#[cfg(test)]
mod tests {
    use super::rnn::message_key;
    use super::*;

    #[test]
    fn decode_convention() {
        assert!(decode(&[0.5]));
        assert!(!decode(&[0.0]));
        assert!(decode(&[0.1, 0.2, 9.0]));
        assert!(!decode(&[0.2, 0.2]));
    }

    #[test]
    fn negative_zero_is_zero_in_messages() {
        assert_eq!(message_key(&[-0.0, 1.0]), message_key(&[0.0, 1.0]));
        assert_ne!(message_key(&[0.25]), message_key(&[-0.25]));
    }

    #[test]
    fn refuses_non_prefix_split() {
        let r = Reduction::new(ReductionKind::DyckOddEven, 6).unwrap();
        assert!(Split::new(r).is_err());
    }

    /// The protocol's batched suffix runs compute exactly what a lone `run_from` computes.
    #[test]
    fn run_many_equals_run_from() {
        use crate::numeric::{Precision, Stats};
        let spec = crate::model::Spec::Lstm {
            input: 4,
            hidden: 3,
            layers: 2,
            output: Some(2),
        };
        let m = crate::model::random_init(&spec, 7).unwrap();
        let p = m
            .prepare(
                &Precision::parse("fixed:2.5").unwrap(),
                &mut Stats::default(),
            )
            .unwrap();
        let seqs: Vec<Vec<Vec<f64>>> = (0..37)
            .map(|i| {
                (0..3)
                    .map(|t| {
                        (0..4)
                            .map(|k| f64::from((i * 7 + t * 3 + k) % 5) - 2.0)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let starts: Vec<Vec<f64>> = (0..37)
            .map(|i| {
                (0..12)
                    .map(|k| f64::from((i + k) % 9) / 8.0 - 0.5)
                    .collect()
            })
            .collect();
        let sr: Vec<&[f64]> = starts.iter().map(Vec::as_slice).collect();
        let ir: Vec<&[Vec<f64>]> = seqs.iter().map(Vec::as_slice).collect();
        let many = p.run_many(&sr, &ir, true, &mut Stats::default()).unwrap();
        for (i, (state, out)) in many.iter().enumerate() {
            let t = p
                .run_from(&starts[i], &seqs[i], &mut Stats::default())
                .unwrap();
            assert_eq!(Some(state), t.states.last());
            assert_eq!(out.as_ref(), t.outputs.last());
        }
    }
}
