//! Thm 1: index lookup with a one-layer, one-head softmax Transformer of width `2k + 3B`
//! (`k = O(log N)` the code length, `B = ⌈log2 |Σ|⌉`) at `O(log N)` bits per number, built as an
//! ordinary [`Transformer`] that reads the task's own one-hot tokens (`task::IndexLookup`:
//! symbols `0 … |Σ|−1`, then `@q` = token `|Σ| + q`; a sequence is `s_0 … s_{N−1} @q`), so that
//! `run`, `check` and the plots apply to it unchanged.
//!
//! The residual stream, block by block (names of [`Residual`] blocks in `code` font), in the
//! paper's layout (data token `[ρ(s_i), 0_k, T(i)]`, query token `[0, T(q), 0_k]`):
//! - embedding: symbol `s` writes its binary code `ρ(s)` (bit `b` of `s` in row `b`) into
//!   `symbol_bits`; the query token `@q` writes `√k·T(q)` (the sign code of `q`, entries ±1)
//!   into `query_code`. The positional table writes `√k·T(i)` into `pos_code` at positions
//!   `0 … N−1`; its row `N` (the query's position) is zero.
//! - attention: `q = w·query_code` with `w = η/√k` (this folds the model's score scale
//!   `1/√d_k`, `d_k = k`, into `W_q`: the score is `η·<T(q), T(j)>`), `k = pos_code` (zero at
//!   the query token), `v = symbol_bits` (zero at the query token), written by `W_o` into
//!   `looked_up`: the attended average of the symbols' bits, `≈ ρ(s_q)`.
//! - MLP: `answer_b = relu(2·looked_up_b − 1)`, which thresholds bit `b` at `1/2`.
//! - head: `out_b = answer_b`.
//!
//! **Output convention**: `out_b > 0` ⇔ bit `b` of the answer is 1 (`out_b` is exactly that bit
//! when the attention is hard). With |Σ| = 2 there is one output and `model::decode` reads it
//! (`out[0] > 0` ⇔ symbol 1); for larger alphabets the answer is `Σ_b [out_b > 0]·2^b`.
//!
//! Temperature ([`eta`]): the paper's `η > ln(3N)/(1 − 2γ)` (`2·ln(3N)` at `γ = 1/4`), the
//! smallest integer above it; codes ([`vectors::codes`]) have every `|<T(i), T(j)>| ≤ γ`. With
//! these the softmax puts more than 3/4 of its weight on the target in exact arithmetic; at a
//! bounded precision nothing is assumed: [`verify`] runs the model's own forward pass.
//!
//! Verification ([`verify`]) always runs the model at the precision (`Model::prepare`, then
//! `Prepared::prefix_cache` / `Prepared::last_outputs`, which equal `Prepared::forward` bit for
//! bit): on every instance when there are at most [`EXHAUSTIVE_MAX_INSTANCES`], otherwise on the
//! worst-case family for every query and bit plus whole random strings × all `N` queries.
//! `proofs/thm1-index-lookup.md` argues that the worst-case family is exact: the model is
//! correct on every string if and only if it is correct on that family, at every precision and
//! both accumulation modes.
//!
//! Searches: [`smallest_fixed`] (the fewest fraction bits, then integer bits, of `fixed:I.F`),
//! [`smallest_paper`] (the smallest `paper:K`), and [`smallest`] (the size curve's point: the
//! code length bisected below the paper's, then the precision again).
//!
//! Sizes in the report: width `d_model = 2k + 3B`, one head, one layer; parameters count every
//! stored number (zeros included; the one-hot embedding has `|Σ| + N` columns and the positional
//! table `N + 1` rows); `state_bits` are the Thm 4 message bits `3·m·(p + ⌈log2(N+1)⌉)·H` with
//! `m = d_model`, `p` the bits per number, `H = 1` and `N + 1` the sequence length.

use rand::RngExt;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
/// String `r` of the random strings of `seed`.
fn random_string(alphabet: usize, n: usize, seed: u64, r: u64) -> Vec<usize> {
    let mut rng = example_rng(seed, r);
    (0..n).map(|_| rng.random_range(0..alphabet)).collect()
}

use super::super::kit::budget;
use super::super::kit::grid::{fixed_point, for_positions};
use super::super::kit::residual::Residual;
use super::super::kit::tally::{Stop, Tally};
use super::super::vectors::{self, random_signs, worst_inner};
use super::super::{Built, ConstructOptions, ConstructReport, Progress, SizePoint};
use super::{CAUSAL, ONE_HEAD};
use crate::error::{InputError, Setting};
use crate::model::decode;
use crate::model::{Block, Continuation, Linear, Matrix, Model, PosCode, Prepared, Transformer};
use crate::numeric::{Accumulate, Format, Precision, Rounding, Stats};
use crate::problem::human_seconds;
use crate::task::{IndexLookup, Label, Task, example_rng};

/// The construction's name (one of `construct::NAMES`).
pub const NAME: &str = "index-lookup";

/// The paper's result this module realises.
pub const RESULT: &str = "Thm 1";

/// Largest `N`: the longest list of codes `vectors::codes` makes.
pub const MAX_N: usize = vectors::MAX_N;

/// Most instances (`|Σ|^N · N`) checked one by one; above, the worst-case family and random
/// strings are checked instead.
pub const EXHAUSTIVE_MAX_INSTANCES: u64 = 1 << 20;

/// Most multiply-adds one verification may cost before it is refused unless `--max-work`
/// says otherwise (about 1e10 run per second on two cores, so a few minutes; see [`work`]).
pub const MAX_WORK: f64 = 2e12;

/// Largest integer bits of the fixed-point search.
pub const MAX_INT_BITS: u32 = 24;

/// Largest fraction bits of the fixed-point search.
pub const MAX_FRAC_BITS: u32 = 24;

/// Continuations run per call of `Prepared::last_outputs` (a stop at the first error waits for
/// at most this many).
const CHUNK: usize = 4096;

/// How much slower `Accumulate::Format` runs than `Accumulate::Wide` (every product and partial
/// sum rounded one at a time; measured about 130 at N = 2^10), for the work estimate.
const FORMAT_SLOWDOWN: f64 = 150.0;

/// Bits of the binary code `ρ` of a symbol: `B = ⌈log2 |Σ|⌉` (at least 1).
pub fn symbol_bits(alphabet: usize) -> usize {
    (usize::BITS - (alphabet.max(2) - 1).leading_zeros()) as usize
}

/// The paper's temperature: the smallest integer `η > ln(3N)/(1 − 2γ)` (`2·ln(3N)` at
/// `γ = 1/4`). With codes of margin `γ` the target's logit is at least `(1 − γ)·η` and every other
/// at most `γ·η` (the paper's `3η/4` and `η/4`), so every other weight is below `1/(3N)` times the
/// target's. Fails unless `0 < γ < 1/2` and `N ≥ 1`.
pub fn eta(n: usize, gamma: f64) -> Result<f64, InputError> {
    if n == 0 || gamma.is_nan() || gamma <= 0.0 || gamma >= 0.5 {
        return Err(InputError::new(format!(
            "index lookup: needs N ≥ 1 and a code margin 0 < γ < 1/2 (the logit gap (1 − 2γ)·η \
             must be positive); got N = {n}, γ = {gamma}"
        )));
    }
    Ok(((3.0 * n as f64).ln() / (1.0 - 2.0 * gamma)).floor() + 1.0)
}

/// Everything the weights of one Thm 1 Transformer are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// |Σ|, the symbols of the task.
    pub alphabet: usize,
    /// `N`, the symbols before the query.
    pub n: usize,
    /// The positional codes `√k·T(0) … √k·T(N−1)`, one per row, entries ±1.
    pub codes: Matrix,
    /// The temperature `η`: the score of position `j` for query `q` is `η·<T(q), T(j)>`.
    pub eta: f64,
}

impl Design {
    /// The design for `alphabet` symbols and length `n` with sign codes `codes` (`n` rows of
    /// entries `±c`, as `vectors::codes` and `vectors::random_signs` make them) and
    /// temperature `eta`. Fails on shapes that do not fit, entries that are not signs, or a
    /// temperature that is not positive and finite.
    pub fn new(alphabet: usize, n: usize, codes: &Matrix, eta: f64) -> Result<Self, InputError> {
        IndexLookup::new(alphabet, n)?;
        if codes.rows() != n || codes.cols() == 0 {
            return Err(InputError::new(format!(
                "index lookup: needs one code per position ({n} rows of length k ≥ 1), got a {}×{} matrix",
                codes.rows(),
                codes.cols()
            )));
        }
        let c = codes.data()[0].abs();
        if c == 0.0 || !c.is_finite() || codes.data().iter().any(|x| x.abs() != c) {
            return Err(InputError::new(
                "index lookup: the codes must be sign vectors (every entry ±c for one c > 0); \
                 use vectors::codes or vectors::random_signs",
            ));
        }
        if !(eta.is_finite() && eta > 0.0) {
            return Err(InputError::new(format!(
                "index lookup: the temperature η must be positive and finite, got {eta}"
            )));
        }
        let signs = codes
            .data()
            .iter()
            .map(|&x| if x > 0.0 { 1.0 } else { -1.0 })
            .collect();
        Ok(Design {
            alphabet,
            n,
            codes: Matrix::new(n, codes.cols(), signs)?,
            eta,
        })
    }

    /// The code length `k` (`d_k`).
    pub fn k(&self) -> usize {
        self.codes.cols()
    }

    /// `B = ⌈log2 |Σ|⌉`, the model's outputs.
    pub fn bits(&self) -> usize {
        symbol_bits(self.alphabet)
    }

    /// The worst normalised inner product `max_{i≠j} |<T(i), T(j)>|` of the codes.
    pub fn worst_inner(&self) -> f64 {
        worst_inner(&self.codes) / self.k() as f64
    }

    /// The residual stream's blocks, in order: `symbol_bits` (B), `query_code` (k), `pos_code`
    /// (k), `looked_up` (B), `answer` (B).
    pub fn layout(&self) -> Residual {
        let mut r = Residual::new();
        r.add("symbol_bits", self.bits());
        r.add("query_code", self.k());
        r.add("pos_code", self.k());
        r.add("looked_up", self.bits());
        r.add("answer", self.bits());
        r
    }

    /// The weight of `W_q`: `w = η·√d_k / k = η/√k` (the codes in the residual are `√k·T`).
    pub fn query_weight(&self) -> f64 {
        self.eta / (self.k() as f64).sqrt()
    }

    /// The temperature the model has at `prec` (`paper:K` resolved with `N + 1`):
    /// `round(w)·k·round(1/√k)`, the score of a key equal to the query.
    pub fn eta_at(&self, prec: &Precision) -> Result<f64, InputError> {
        let prec = for_positions(prec, self.n + 1)?;
        let mut st = Stats::default();
        let k = self.k() as f64;
        Ok(prec.round(self.query_weight(), &mut st) * k * prec.round(1.0 / k.sqrt(), &mut st))
    }

    /// The Transformer (one layer, one head, causal attention, ReLU MLP, no layer norm).
    pub fn model(&self) -> Result<Model, InputError> {
        let res = self.layout();
        let (d, b, n, a) = (res.dim(), self.bits(), self.n, self.alphabet);
        let mut embed = Matrix::zeros(d, a + n);
        for s in 0..a {
            let bits: Vec<f64> = (0..b).map(|bit| ((s >> bit) & 1) as f64).collect();
            res.set_col(&mut embed, s, "symbol_bits", &bits);
        }
        let mut table = Matrix::zeros(n + 1, d);
        for i in 0..n {
            res.set_col(&mut embed, a + i, "query_code", self.codes.row(i));
            res.set_row(&mut table, i, "pos_code", self.codes.row(i));
        }
        let block = Block {
            ln1: None,
            q: Linear::new(res.read("query_code", self.query_weight()), None)?,
            k: Linear::new(res.read("pos_code", 1.0), None)?,
            v: Linear::new(res.read("symbol_bits", 1.0), None)?,
            o: Linear::new(res.write("looked_up"), None)?,
            ln2: None,
            mlp: Some((
                Linear::new(res.read("looked_up", 2.0), Some(vec![-1.0; b]))?,
                Linear::new(res.write("answer"), None)?,
            )),
        };
        let head = Linear::new(res.read("answer", 1.0), None)?;
        Ok(Model::Transformer(Transformer::new(
            Linear::new(embed, None)?,
            PosCode::Table(table),
            vec![block],
            None,
            Some(head),
            ONE_HEAD,
            CAUSAL,
        )?))
    }
}

/// How to verify a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Random instances on top of the worst-case family (when not exhaustive), rounded up to
    /// whole random strings, each with all `N` queries.
    pub samples: u64,
    /// Seed of the random strings (string `r` is drawn from `task::example_rng(seed, r)`).
    pub seed: u64,
    /// Whether to stop at the first wrong answer (the searches); counts then cover what was
    /// checked.
    pub stop: Stop,
    /// The most multiply-adds ([`work`]) the verification may cost before it is refused
    /// (`--max-work`); `None`: [`MAX_WORK`].
    pub max_work: Option<f64>,
}

impl Check {
    /// Whether a verification that has counted `tally` so far stops here.
    fn stopped(&self, tally: &Tally) -> bool {
        self.stop == Stop::AtFirstError && tally.errors > 0
    }
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    /// No wrong answer on any instance checked, and at least one instance checked.
    pub correct: bool,
    /// Every instance was checked.
    pub exhaustive: bool,
    /// Instances (string, query) checked.
    pub instances: u64,
    /// Instances answered wrongly.
    pub errors: u64,
    /// The first wrong instance in the order checked, as tokens (long strings run-length
    /// encoded, random ones by their seed).
    pub first_error: Option<String>,
    /// The query of the first wrong instance.
    pub first_error_query: Option<usize>,
    /// What was checked, in words.
    pub verified_on: String,
    /// The smallest output `out_b` over checked instances whose answer has bit `b` = 1 (`None`
    /// if there is none): it must be positive.
    pub min_output_bit_one: Option<f64>,
    /// The largest output `out_b` over checked instances whose answer has bit `b` = 0: it must
    /// not be positive.
    pub max_output_bit_zero: Option<f64>,
    /// Saturation and NaN counts of the parameters' rounding and the operations run.
    pub stats: Stats,
}

/// The model's answer from its outputs: `decode` with one output (|Σ| = 2), else the bits
/// `[out_b > 0]`.
fn answer(out: &[f64]) -> usize {
    match out {
        [_] => usize::from(decode(out)),
        _ => out
            .iter()
            .enumerate()
            .map(|(b, &o)| usize::from(o > 0.0) << b)
            .sum(),
    }
}

/// `work`'s inputs: the prefixes and continuations one verification runs.
fn plan_size(alphabet: usize, n: usize, samples: u64) -> (bool, f64, f64) {
    let total = (alphabet as f64).powi(n.min(1000) as i32) * n as f64;
    if total <= EXHAUSTIVE_MAX_INSTANCES as f64 {
        return (true, total / n as f64, total);
    }
    let b = symbol_bits(alphabet) as f64;
    let strings = samples.div_ceil(n as u64) as f64;
    (false, 1.0 + b + strings, (2.0 * b + strings) * n as f64)
}

/// Multiply-adds one verification of a design with code length `k` costs, about: per prefix
/// the key projections (`N·d·k`), per continuation the scores (`(N + 1)·k`), the softmax and
/// value sums and its own projections (`2·d·k`); about 150 times that with format
/// accumulation.
pub fn work(alphabet: usize, n: usize, k: usize, samples: u64, accumulate: Accumulate) -> f64 {
    let (_, prefixes, items) = plan_size(alphabet, n, samples);
    let d = (2 * k + 3 * symbol_bits(alphabet)) as f64;
    let (n, k) = (n as f64, k as f64);
    let w = prefixes * n * d * (k + 1.0) + items * ((n + 1.0) * (k + 8.0) + 2.0 * d * k);
    match accumulate {
        Accumulate::Wide => w,
        Accumulate::Format => w * FORMAT_SLOWDOWN,
    }
}

/// Refuses a verification whose [`work`] exceeds `max_work` (`None`: [`MAX_WORK`]).
fn check_work(
    alphabet: usize,
    n: usize,
    k: usize,
    samples: u64,
    prec: &Precision,
    max_work: Option<f64>,
) -> Result<(), InputError> {
    let w = work(alphabet, n, k, samples, prec.accumulate());
    let limit = budget::limit(max_work, MAX_WORK);
    if w > limit {
        return Err(InputError::new(format!(
            "index lookup: verifying N = {n}, k = {k} at {} ({:?} accumulation) would take about \
             {w:.1e} multiply-adds, about {} on two cores (limit {limit:.0e}); choose a \
             smaller N or fewer {}{}, or raise {}",
            prec.name(),
            prec.accumulate(),
            human_seconds(w / 1e10),
            Setting::Samples,
            match prec.accumulate() {
                Accumulate::Format => ", or wide accumulation",
                Accumulate::Wide => "",
            },
            Setting::MaxWork
        )));
    }
    Ok(())
}

/// The shortest code any `N` unit vectors with every `|<T_i, T_j>| ≤ γ` can have (Welch's
/// bound: `γ² ≥ (N − k) / (k·(N − 1))`, so `k ≥ N / (1 + γ²·(N − 1))`), rounded down: what
/// [`construct`] refuses on before it builds the codes.
fn shortest_code(n: usize, gamma: f64) -> usize {
    let n = n as f64;
    (n / (1.0 + gamma * gamma * (n - 1.0))).floor().max(1.0) as usize
}

/// One string family sharing a prefix: instances are the prefix with at most one symbol
/// replaced, and a query.
struct Family {
    prefix: Vec<usize>,
    /// `(q, replaced (position, symbol))`.
    instances: Vec<(usize, Option<(usize, usize)>)>,
    /// How a string of the family is named in `first_error` when it is long.
    random: Option<u64>,
}

/// The tokens of `symbols` then `@q`, as text: the task's rendering up to 64 symbols, longer
/// strings run-length encoded (`0^4095 1 0^12288 @4095`).
fn render(task: &IndexLookup, symbols: &[usize], q: usize) -> String {
    if symbols.len() <= 64 {
        let tokens = task.sequence(symbols, q).expect("a valid instance");
        return task.vocab().render(&tokens);
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < symbols.len() {
        let j = (i..symbols.len())
            .find(|&j| symbols[j] != symbols[i])
            .unwrap_or(symbols.len());
        parts.push(if j - i == 1 {
            symbols[i].to_string()
        } else {
            format!("{}^{}", symbols[i], j - i)
        });
        i = j;
    }
    parts.push(format!("@{q}"));
    parts.join(" ")
}

/// Checks `model` on index lookup over `alphabet` symbols and length `n` at `prec` (`paper:K`
/// is resolved with the input length `N + 1`), with the model's own forward pass: every
/// instance when `|Σ|^N·N ≤` [`EXHAUSTIVE_MAX_INSTANCES`]; otherwise, for every query `q` and
/// bit `b`, the two worst-case strings (bit `b` of `s_q` is 1 and of every other symbol 0:
/// `s_q = 2^b`, the rest `0`; and the complement: `s_q = 0`, the rest `2^b`), plus
/// `⌈samples/N⌉` random strings × all `N` queries. The worst-case family decides correctness
/// on every string (`proofs/thm1-index-lookup.md`); the random strings are a sanity check.
///
/// Fails when the model does not read this task's tokens (`|Σ| + N` inputs, `N + 1`
/// positions, `B` outputs) or the work estimate exceeds [`MAX_WORK`].
pub fn verify(
    model: &Model,
    alphabet: usize,
    n: usize,
    prec: &Precision,
    check: &Check,
) -> Result<Verification, InputError> {
    verify_queries(model, alphabet, n, prec, check, None)
}

/// [`verify`], or with `screen` a search's screening check: the worst-case family restricted
/// to the queries in `screen` (no random strings, never exhaustive). A screen passed is not a
/// verification; the searches verify what they keep on every query.
fn verify_queries(
    model: &Model,
    alphabet: usize,
    n: usize,
    prec: &Precision,
    check: &Check,
    screen: Option<&[usize]>,
) -> Result<Verification, InputError> {
    let task = IndexLookup::new(alphabet, n)?;
    let b = symbol_bits(alphabet);
    let Model::Transformer(t) = model else {
        return Err(InputError::new("index lookup: verify needs a Transformer"));
    };
    if model.input_size() != alphabet + n
        || model.output_size() != b
        || t.max_len().is_some_and(|m| m < n + 1)
    {
        return Err(InputError::new(format!(
            "index lookup: the model must read {} one-hot inputs over {} positions and give {b} outputs",
            alphabet + n,
            n + 1
        )));
    }
    let k = t
        .blocks()
        .first()
        .map_or(t.d_model(), |blk| blk.q.out_size());
    let prec = for_positions(prec, n + 1)?;
    check_work(alphabet, n, k, check.samples, &prec, check.max_work)?;
    let mut stats = Stats::default();
    let pm = model.prepare(&prec, &mut stats)?;
    let (exhaustive, _, _) = plan_size(alphabet, n, check.samples);
    let mut tally = Tally::default();
    let verified_on = if let Some(queries) = screen {
        for fam in worst_case(alphabet, n, Some(queries)) {
            if check.stopped(&tally) {
                break;
            }
            run_family(&pm, &task, &fam, check, &mut tally, &mut stats)?;
        }
        format!(
            "screening only: the worst-case strings for {} of the {n} queries",
            queries.len()
        )
    } else if exhaustive {
        exhaustive_check(&pm, &task, check, &mut tally, &mut stats)?;
        format!(
            "all {alphabet}^{n} strings × {n} queries ({} instances)",
            tally.instances
        )
    } else {
        let strings = check.samples.div_ceil(n as u64);
        let mut families = worst_case(alphabet, n, None);
        families.extend((0..strings).map(|r| Family {
            prefix: random_string(alphabet, n, check.seed, r),
            instances: (0..n).map(|q| (q, None)).collect(),
            random: Some(r),
        }));
        for fam in &families {
            if check.stopped(&tally) {
                break;
            }
            run_family(&pm, &task, fam, check, &mut tally, &mut stats)?;
        }
        format!(
            "the worst-case strings for every query and bit (2·{b}·{n} = {} instances) plus \
             {strings} random strings × all {n} queries (seed {})",
            2 * b * n,
            check.seed
        )
    };
    Ok(Verification {
        correct: tally.errors == 0 && tally.instances > 0,
        exhaustive: exhaustive && screen.is_none() && !check.stopped(&tally),
        instances: tally.instances,
        errors: tally.errors,
        first_error: tally.first_error,
        first_error_query: tally.first_error_query,
        verified_on,
        min_output_bit_one: tally.margins.min_one,
        max_output_bit_zero: tally.margins.max_zero,
        stats,
    })
}

/// The worst-case family: for every bit `b`, the strings `s_q = 2^b`, others `0` (one prefix of
/// zeros, an edit at `q`) and `s_q = 0`, others `2^b` (a prefix of `2^b`, an edit at `q`); for
/// every query, or for those of `screen` only.
fn worst_case(alphabet: usize, n: usize, screen: Option<&[usize]>) -> Vec<Family> {
    let b = symbol_bits(alphabet);
    let queries: Vec<usize> = screen.map_or_else(|| (0..n).collect(), <[usize]>::to_vec);
    let mut fams = vec![Family {
        prefix: vec![0; n],
        instances: (0..b)
            .flat_map(|bit| queries.iter().map(move |&q| (q, Some((q, 1 << bit)))))
            .collect(),
        random: None,
    }];
    fams.extend((0..b).map(|bit| Family {
        prefix: vec![1 << bit; n],
        instances: queries.iter().map(|&q| (q, Some((q, 0)))).collect(),
        random: None,
    }));
    fams
}

/// Runs one family in chunks of [`CHUNK`] continuations.
fn run_family(
    pm: &Prepared,
    task: &IndexLookup,
    fam: &Family,
    check: &Check,
    tally: &mut Tally,
    stats: &mut Stats,
) -> Result<(), InputError> {
    let prefix: Vec<u32> = fam.prefix.iter().map(|&s| task.symbol(s)).collect();
    let cache = pm.prefix_cache(&prefix, stats)?;
    for chunk in fam.instances.chunks(CHUNK) {
        let items: Vec<Continuation> = chunk
            .iter()
            .map(|&(q, edit)| Continuation {
                edits: edit.map(|(p, s)| (p, task.symbol(s))).into_iter().collect(),
                last: task.position(q),
            })
            .collect();
        let outs = pm.last_outputs(&cache, &items, stats)?;
        for (&(q, edit), out) in chunk.iter().zip(&outs) {
            let symbol_at = |j: usize| match edit {
                Some((p, s)) if p == j => s,
                _ => fam.prefix[j],
            };
            tally.record_bits(q, symbol_at(q), answer(out), out, || {
                let symbols: Vec<usize> = (0..fam.prefix.len()).map(symbol_at).collect();
                match fam.random {
                    Some(r) if symbols.len() > 64 => format!(
                        "random string #{r} of seed {} (s_j drawn in order by \
                         task::example_rng(seed, {r}).random_range(0..{})), query @{q}, s_q = {}",
                        check.seed,
                        task.alphabet(),
                        symbols[q]
                    ),
                    _ => render(task, &symbols, q),
                }
            });
        }
        if check.stopped(tally) {
            break;
        }
    }
    Ok(())
}

/// Every string (string `m` has `s_j` = digit `j` of `m` in base |Σ|) × every query, the
/// answers taken from the task's own `label`; strings in parallel, tallied in order.
fn exhaustive_check(
    pm: &Prepared,
    task: &IndexLookup,
    check: &Check,
    tally: &mut Tally,
    stats: &mut Stats,
) -> Result<(), InputError> {
    let (a, n) = (task.alphabet(), task.length());
    let count = (a as u64).pow(n as u32);
    let strings: Vec<u64> = (0..count).collect();
    for block in strings.chunks(1 << 12) {
        let parts: Vec<Result<(Tally, Stats), InputError>> = block
            .par_chunks(64)
            .map(|ms| {
                let mut t = Tally::default();
                let mut st = Stats::default();
                for &m in ms {
                    let symbols: Vec<usize> = (0..n)
                        .map(|j| ((m / (a as u64).pow(j as u32)) % a as u64) as usize)
                        .collect();
                    let prefix: Vec<u32> = symbols.iter().map(|&s| task.symbol(s)).collect();
                    let cache = pm.prefix_cache(&prefix, &mut st)?;
                    let items: Vec<Continuation> = (0..n)
                        .map(|q| Continuation {
                            edits: Vec::new(),
                            last: task.position(q),
                        })
                        .collect();
                    let outs = pm.last_outputs(&cache, &items, &mut st)?;
                    for (q, out) in outs.iter().enumerate() {
                        let tokens = task.sequence(&symbols, q)?;
                        let want = match task.label(&tokens)? {
                            Label::Symbol { token, .. } => token as usize,
                            other => unreachable!("index lookup labels are symbols, got {other:?}"),
                        };
                        t.record_bits(q, want, answer(out), out, || render(task, &symbols, q));
                    }
                }
                Ok((t, st))
            })
            .collect();
        for part in parts {
            let (t, st) = part?;
            tally.merge(t);
            stats.merge(st);
        }
        if check.stopped(tally) {
            break;
        }
    }
    Ok(())
}

/// What a precision search runs with: the seed of its random strings, and where it says each
/// trial and its outcome.
pub struct Search {
    pub seed: u64,
    pub progress: Progress,
    /// The work limit of each check (`--max-work`; `None`: [`MAX_WORK`]).
    pub max_work: Option<f64>,
}

impl Search {
    /// A search of `opts`: its seed and its progress sink.
    pub fn of(opts: &ConstructOptions) -> Search {
        Search {
            seed: opts.seed,
            progress: opts.progress.clone(),
            max_work: opts.max_work,
        }
    }

    /// A search with `seed` that says nothing.
    pub fn quiet(seed: u64) -> Search {
        Search {
            seed,
            progress: Progress::default(),
            max_work: None,
        }
    }

    /// Runs the check `work` of `design` at `prec` (`what`: which instances), saying it and
    /// its outcome.
    fn trial(
        &self,
        design: &Design,
        prec: &Precision,
        what: &str,
        work: impl FnOnce() -> Result<Verification, InputError>,
    ) -> Result<Verification, InputError> {
        self.progress.timed(
            || {
                format!(
                    "{NAME} N = {}: width {} (k = {}) at {} ({what})",
                    design.n,
                    design.layout().dim(),
                    design.k(),
                    prec.name()
                )
            },
            work,
            |r| match r {
                Ok(v) if v.correct => format!("correct on {} instances", v.instances),
                Ok(v) => format!("wrong ({} errors in {} instances)", v.errors, v.instances),
                Err(e) => format!("error: {e}"),
            },
        )
    }
}

/// A search check: the worst-case family (or every instance) on every query, or on the
/// queries of `screen`, stopping at the first error ([`stop_early`], said as a trial).
fn search_check(
    design: &Design,
    prec: &Precision,
    search: &Search,
    screen: Option<&[usize]>,
) -> Result<Verification, InputError> {
    let what = match screen {
        Some(q) => format!("screen of {} queries", q.len()),
        None => "every query".to_string(),
    };
    search.trial(design, prec, &what, || {
        stop_early(design, prec, search, screen)
    })
}

/// Whether [`search_check`] finds `design` correct at `prec`.
fn passes(
    design: &Design,
    prec: &Precision,
    search: &Search,
    screen: Option<&[usize]>,
) -> Result<bool, InputError> {
    Ok(search_check(design, prec, search, screen)?.correct)
}

/// [`verify_queries`] with no random strings, stopping at the first error.
fn stop_early(
    design: &Design,
    prec: &Precision,
    search: &Search,
    screen: Option<&[usize]>,
) -> Result<Verification, InputError> {
    let check = Check {
        samples: 0,
        seed: search.seed,
        stop: Stop::AtFirstError,
        max_work: search.max_work,
    };
    verify_queries(
        &design.model()?,
        design.alphabet,
        design.n,
        prec,
        &check,
        screen,
    )
}

/// Queries a search screens a candidate on when `N` is larger: the ones against which the
/// other positions' codes get the most softmax mass ([`vectors::row_leaks`] at the design's
/// `η`).
pub const SCREEN_QUERIES: usize = 1024;

/// Rounds of "search on the screen, verify on every query, add the query that failed" before
/// a search reports what it found as it is.
const SCREEN_ROUNDS: usize = 6;

/// The screen of a search on `design`: `None` (every query) up to [`SCREEN_QUERIES`]
/// positions, otherwise the [`SCREEN_QUERIES`] heaviest queries by [`vectors::row_leaks`]
/// (ties by index) with `extra` (queries that failed a full check) added, in increasing order.
fn screen_of(design: &Design, extra: &[usize]) -> Option<Vec<usize>> {
    if design.n <= SCREEN_QUERIES {
        return None;
    }
    let leaks = vectors::row_leaks(&design.codes, design.eta)?;
    let mut order: Vec<usize> = (0..design.n).collect();
    order.sort_by(|&a, &b| leaks[b].total_cmp(&leaks[a]).then(a.cmp(&b)));
    order.truncate(SCREEN_QUERIES);
    order.extend_from_slice(extra);
    order.sort_unstable();
    order.dedup();
    Some(order)
}

/// The F-then-I search of [`smallest_fixed`] on one screen (`None`: every query).
fn search_fixed(
    design: &Design,
    search: &Search,
    screen: Option<&[usize]>,
) -> Result<Option<Precision>, InputError> {
    for f in 0..=MAX_FRAC_BITS {
        if passes(design, &fixed_point(MAX_INT_BITS, f)?, search, screen)? {
            for i in 0..MAX_INT_BITS {
                if i + f >= 1 && passes(design, &fixed_point(i, f)?, search, screen)? {
                    return Ok(Some(fixed_point(i, f)?));
                }
            }
            return Ok(Some(fixed_point(MAX_INT_BITS, f)?));
        }
    }
    Ok(None)
}

/// The precision search behind [`smallest_fixed`] and [`smallest`], then `confirm` on every
/// query: at large `N` the search runs on the screen ([`screen_of`]); when `confirm` then
/// fails, the failing query joins the screen and the search runs again, up to
/// [`SCREEN_ROUNDS`] times. Returns the precision with `confirm`'s verification (which may
/// still be incorrect after the last round), or `None` when no precision passed the screen.
fn search_confirmed(
    design: &Design,
    search: &Search,
    confirm: impl Fn(&Precision) -> Result<Verification, InputError>,
) -> Result<Option<(Precision, Verification)>, InputError> {
    let mut extra = Vec::new();
    for round in 0..=SCREEN_ROUNDS {
        let screen = screen_of(design, &extra);
        let Some(prec) = search_fixed(design, search, screen.as_deref())? else {
            return Ok(None);
        };
        let v = confirm(&prec)?;
        match (screen, v.first_error_query) {
            (Some(_), Some(q)) if !v.correct && round < SCREEN_ROUNDS && !extra.contains(&q) => {
                extra.push(q);
            }
            _ => return Ok(Some((prec, v))),
        }
    }
    unreachable!("the last round returns")
}

/// The smallest fixed-point precision `fixed:I.F` (nearest-even rounding, wide accumulation) at
/// which `design` is correct on the worst-case family: the smallest `F ≤` [`MAX_FRAC_BITS`]
/// that passes with `I =` [`MAX_INT_BITS`], then the smallest `I` that passes with that `F`
/// (each tried in increasing order, so the first pass is the smallest; failures stop at their
/// first error). Above [`SCREEN_QUERIES`] positions the candidates are screened on the
/// hardest queries and the result is checked on all of them (`search_confirmed`), so the
/// result is the smallest that passed the last screen. `None` when no `F` passes, or when the
/// result still fails the full check after the last round.
pub fn smallest_fixed(design: &Design, search: &Search) -> Result<Option<Precision>, InputError> {
    if design.n <= SCREEN_QUERIES {
        // No screen: the search's checks already ran every query.
        return search_fixed(design, search, None);
    }
    let found = search_confirmed(design, search, |p| search_check(design, p, search, None))?;
    Ok(found.and_then(|(p, v)| v.correct.then_some(p)))
}

/// The smallest `paper:K` (the paper's grid: step and range `(N + 1)^∓K`, rounding down) at
/// which `design` is correct, trying `K = 1, 2, …` while the grid fits in `f64`; `None` when
/// none does.
pub fn smallest_paper(design: &Design, search: &Search) -> Result<Option<Precision>, InputError> {
    for k in 1..=8 {
        let Ok(prec) = Precision::new(Format::Paper { k }, Rounding::Down, Accumulate::Wide)
            .and_then(|p| for_positions(&p, design.n + 1))
        else {
            break;
        };
        if passes(design, &prec, search, None)? {
            return Ok(Some(prec));
        }
    }
    Ok(None)
}

fn check_opts(opts: &ConstructOptions) -> Result<(), InputError> {
    if !(1..=MAX_N).contains(&opts.n) {
        return Err(InputError::new(format!(
            "index lookup: N = {} is out of range; choose 1 ≤ N ≤ {MAX_N} (the codes' limit)",
            opts.n
        )));
    }
    eta(opts.n, opts.gamma).map(|_| ())
}

/// The paper's design at `opts`: |Σ| = 2, codes `vectors::codes(N, γ, seed)`, `η` = [`eta`].
pub fn paper_design(opts: &ConstructOptions) -> Result<Design, InputError> {
    check_opts(opts)?;
    let codes = vectors::codes(opts.n, opts.gamma, opts.seed)?;
    Design::new(2, opts.n, &codes, eta(opts.n, opts.gamma)?)
}

/// `opts.precision` resolved, or the smallest fixed point found for `design`.
fn precision_for(
    design: &Design,
    opts: &ConstructOptions,
) -> Result<Option<Precision>, InputError> {
    match &opts.precision {
        Some(p) => for_positions(p, design.n + 1).map(Some),
        None => smallest_fixed(design, &Search::of(opts)),
    }
}

/// The Thm 4 message bits of a one-layer Transformer: `3·m·(p + ⌈log2 T⌉)·H` with `m` the
/// width, `p` the bits per number, `T = N + 1` the sequence length and `H` the heads.
pub fn message_bits(width: usize, bits: u32, n: usize, heads: usize) -> u64 {
    let log_t = u64::from((n + 1).next_power_of_two().trailing_zeros());
    3 * width as u64 * (u64::from(bits) + log_t) * heads as u64
}

/// Builds `design` and verifies it at `prec` with `check`, as a report.
pub fn report(design: &Design, prec: &Precision, check: &Check) -> Result<Built, InputError> {
    let model = design.model()?;
    let v = verify(&model, design.alphabet, design.n, prec, check)?;
    let prec = for_positions(prec, design.n + 1)?;
    let Model::Transformer(t) = &model else {
        unreachable!("the design is a Transformer")
    };
    let (parameters, nonzero) = (
        model.parameter_count() as u64,
        model.nonzero_parameter_count() as u64,
    );
    let bits = prec.bits();
    let report = ConstructReport {
        name: NAME.to_string(),
        result: RESULT.to_string(),
        n: design.n,
        correct: v.correct,
        verified_on: v.verified_on.clone(),
        exhaustive: v.exhaustive,
        instances: v.instances,
        errors: v.errors,
        first_error: v.first_error.clone(),
        width: t.d_model(),
        heads: t.heads(),
        layers: t.blocks().len(),
        precision: Some(prec.name()),
        bits_per_number: bits,
        parameters,
        parameter_bits: bits.map(|p| parameters * u64::from(p)),
        state_bits: bits.map(|p| message_bits(t.d_model(), p, design.n, t.heads())),
        details: json!({
            "alphabet": design.alphabet,
            "symbol_bits": design.bits(),
            "k": design.k(),
            "code_worst_inner": design.worst_inner(),
            "eta": design.eta,
            "eta_at_precision": design.eta_at(&prec)?,
            "query_weight": design.query_weight(),
            "layout": design.layout().to_json(),
            "nonzero_parameters": nonzero,
            "min_output_bit_one": v.min_output_bit_one,
            "max_output_bit_zero": v.max_output_bit_zero,
            "rounding": prec.rounding(),
            "accumulate": prec.accumulate(),
            "saturated": v.stats.saturated,
            "nan": v.stats.nan,
            "state_bits_formula": "3·m·(p + ⌈log2(N+1)⌉)·H (Thm 4 messages)",
        }),
    };
    Ok(Built {
        model: Some(model),
        precision: Some(prec),
        report,
    })
}

/// `ccsep construct index-lookup`: the paper's design (|Σ| = 2, codes of margin `opts.gamma`,
/// `η` = [`eta`]) built at `opts.precision`, or at the smallest fixed point found
/// ([`smallest_fixed`]) when none is given, and verified with `opts.samples` random instances
/// on top of the worst-case family (or on every instance at small `N`).
pub fn construct(opts: &ConstructOptions) -> Result<Built, InputError> {
    check_opts(opts)?;
    // Refuse before the precision search when the final verification would be refused, and
    // before the codes are built (which takes up to a minute at the largest N) when even the
    // shortest code possible would be.
    let planned = match &opts.precision {
        Some(p) => for_positions(p, opts.n + 1)?,
        None => fixed_point(MAX_INT_BITS, 0)?,
    };
    let shortest = shortest_code(opts.n, opts.gamma);
    check_work(2, opts.n, shortest, opts.samples, &planned, opts.max_work)?;
    let design = paper_design(opts)?;
    check_work(2, opts.n, design.k(), opts.samples, &planned, opts.max_work)?;
    let check = Check {
        samples: opts.samples,
        seed: opts.seed,
        stop: Stop::Never,
        max_work: opts.max_work,
    };
    match precision_for(&design, opts)? {
        Some(prec) => report(&design, &prec, &check),
        None => {
            let mut c = report(&design, &fixed_point(MAX_INT_BITS, MAX_FRAC_BITS)?, &check)?;
            c.report.details["search"] = json!(format!(
                "no fixed:{MAX_INT_BITS}.F with F ≤ {MAX_FRAC_BITS} was correct"
            ));
            Ok(c)
        }
    }
}

/// The smallest correct size found at `opts.n` (|Σ| = 2), searched as follows.
/// 1. The paper's design ([`paper_design`]) gives the code length `k_γ`, and (unless
///    `opts.precision` is given) the smallest fixed point `fixed:I₀.F₀` at which it passes.
/// 2. The code length: bisection over `k ≤ k_γ` with the codes `random_signs(N, k, seed)`, each
///    checked at `opts.precision` or at `fixed:MAX_INT_BITS.F₀` (generous integer bits, so
///    that saturation does not decide). Correctness is not monotone in `k` (every `k` has its
///    own random codes), so this finds a boundary, not the global minimum.
/// 3. The precision again at that `k`, verified with `opts.samples` random instances on top of
///    the worst-case family (or every instance); the paper's design is verified the same way
///    only when its size (`width × bits` at `fixed:I₀.F₀`) is smaller, and the smaller correct
///    point is kept.
///
/// Above [`SCREEN_QUERIES`] positions, steps 1–3 check candidates on a screen of the hardest
/// queries (`screen_of`) and only the kept point on every query (`search_confirmed`): a
/// point counts only after that full verification. `other_bound_bits = N`: an RNN needs
/// `m·p ≥ N` bits of state (Thm 3).
pub fn smallest(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    check_opts(opts)?;
    // The first check of the search (no random strings, at the given precision or at
    // fixed:24.0) costs at least this with the shortest code possible: when even that is over
    // the limit, the search would be refused at its first check, so refuse before the codes
    // are built (the same error, without the wait).
    let planned = match &opts.precision {
        Some(p) => for_positions(p, opts.n + 1)?,
        None => fixed_point(MAX_INT_BITS, 0)?,
    };
    let shortest = shortest_code(opts.n, opts.gamma);
    check_work(2, opts.n, shortest, 0, &planned, opts.max_work)?;
    let paper = paper_design(opts)?;
    let search = &Search::of(opts);
    let seed = opts.seed;
    let paper_prec = match &opts.precision {
        Some(p) => Some(for_positions(p, opts.n + 1)?),
        None => search_fixed(&paper, search, screen_of(&paper, &[]).as_deref())?,
    };
    let Some(paper_prec) = paper_prec else {
        return Ok(size_point(
            &paper,
            &fixed_point(MAX_INT_BITS, MAX_FRAC_BITS)?,
            None,
        ));
    };
    let probe = match (opts.precision, paper_prec.format()) {
        (None, Format::Fixed { frac_bits, .. }) => fixed_point(MAX_INT_BITS, frac_bits)?,
        _ => paper_prec,
    };
    let check = Check {
        samples: opts.samples,
        seed,
        stop: Stop::Never,
        max_work: opts.max_work,
    };
    // The design at its precision (given, or searched then confirmed), fully verified.
    let settle = |d: &Design| -> Result<Option<(Precision, Verification)>, InputError> {
        let model = d.model()?;
        let what = "full verification";
        let full =
            |p: &Precision| search.trial(d, p, what, || verify(&model, 2, opts.n, p, &check));
        match opts.precision {
            Some(_) => Ok(Some((paper_prec, full(&paper_prec)?))),
            None => search_confirmed(d, search, full),
        }
    };
    let size = |d: &Design, p: &Precision| {
        d.layout().dim() as u64 * u64::from(p.bits().unwrap_or(u32::MAX))
    };
    let mut kept: Option<(Design, Precision, Verification)> = None;
    if passes(&paper, &probe, search, screen_of(&paper, &[]).as_deref())? {
        let random = |k: usize| Design::new(2, opts.n, &random_signs(opts.n, k, seed), paper.eta);
        let (mut lo, mut hi) = (0, paper.k());
        let mut design = paper.clone();
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let d = random(mid)?;
            if passes(&d, &probe, search, screen_of(&d, &[]).as_deref())? {
                hi = mid;
                design = d;
            } else {
                lo = mid;
            }
        }
        kept = settle(&design)?.map(|(p, v)| (design, p, v));
    }
    // The paper's design is verified only when it could be the smaller correct point.
    let worth_paper = match &kept {
        None => true,
        Some((d, p, v)) => *d != paper && (!v.correct || size(&paper, &paper_prec) < size(d, p)),
    };
    if worth_paper {
        match settle(&paper) {
            Ok(Some((p, v))) => {
                let paper_wins = match &kept {
                    None => true,
                    Some((d, q, w)) => v.correct && (!w.correct || size(&paper, &p) < size(d, q)),
                };
                if paper_wins {
                    kept = Some((paper.clone(), p, v));
                }
            }
            Ok(None) => {}
            // Its full verification refused by the work limit: the point found stands.
            Err(_) if kept.is_some() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(match &kept {
        Some((d, p, v)) => size_point(d, p, Some(v)),
        None => size_point(&paper, &paper_prec, None),
    })
}

/// The size point of `design` at `prec`, with the final verification `v` (`None` when no
/// precision up to the search's limits passed: not correct, nothing verified).
fn size_point(design: &Design, prec: &Precision, v: Option<&Verification>) -> SizePoint {
    let width = design.layout().dim();
    let bits = prec.bits().unwrap_or(0);
    SizePoint {
        name: NAME.to_string(),
        n: design.n,
        length: design.n,
        correct: v.is_some_and(|v| v.correct),
        exhaustive: v.is_some_and(|v| v.exhaustive),
        verified_on: v.map_or_else(
            || {
                format!(
                    "nothing: no fixed-point precision up to fixed:{MAX_INT_BITS}.{MAX_FRAC_BITS}                      passed the worst-case family"
                )
            },
            |v| v.verified_on.clone(),
        ),
        width,
        heads: 1,
        layers: 1,
        precision: prec.name(),
        bits_per_number: bits,
        size_bits: width as u64 * u64::from(bits),
        other_bound_bits: design.n as f64,
        other_bound: format!(
            "Thm 3: an RNN solving index lookup at N = {} needs m·p ≥ N = {} bits of state \
             (one-way communication of INDEX_N)",
            design.n, design.n
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Precision {
        Precision::parse(s).unwrap()
    }

    fn opts(n: usize) -> ConstructOptions {
        ConstructOptions {
            n,
            samples: 200,
            ..ConstructOptions::default()
        }
    }

    fn all_instances() -> Check {
        Check {
            samples: 0,
            seed: 0,
            stop: Stop::Never,
            max_work: None,
        }
    }

    #[test]
    fn eta_is_the_smallest_integer_above_the_papers_bound() {
        for n in [1, 7, 100, 1 << 14] {
            let e = eta(n, 0.25).unwrap();
            let bound = 2.0 * (3.0 * n as f64).ln();
            assert!(
                e > bound && e - 1.0 <= bound,
                "N = {n}: η = {e}, bound {bound}"
            );
        }
        assert!(eta(8, 0.5).is_err() && eta(8, 0.0).is_err() && eta(0, 0.25).is_err());
        assert_eq!(symbol_bits(2), 1);
        assert_eq!(symbol_bits(3), 2);
        assert_eq!(symbol_bits(4), 2);
        assert_eq!(symbol_bits(5), 3);
    }

    #[test]
    fn exhaustive_small_n_is_correct() {
        for (alphabet, n) in [(2, 1), (2, 2), (2, 5), (2, 8), (3, 4), (4, 4), (5, 3)] {
            let codes = vectors::codes(n, 0.25, 3).unwrap();
            let design = Design::new(alphabet, n, &codes, eta(n, 0.25).unwrap()).unwrap();
            for prec in ["f32", "fixed:10.8", "bf16", "paper:2"] {
                let v = verify(
                    &design.model().unwrap(),
                    alphabet,
                    n,
                    &p(prec),
                    &all_instances(),
                )
                .unwrap();
                let total = (alphabet as u64).pow(n as u32) * n as u64;
                assert!(
                    v.correct && v.exhaustive,
                    "|Σ| = {alphabet}, N = {n}, {prec}: {v:?}"
                );
                assert_eq!((v.instances, v.errors), (total, 0));
                assert!(v.min_output_bit_one.unwrap() > 0.0);
                assert!(v.max_output_bit_zero.unwrap() <= 0.0);
            }
        }
    }

    #[test]
    fn verification_agrees_with_the_plain_forward_pass() {
        // Low precisions and a cold temperature, where some answers are wrong: the error count
        // of `verify` is a direct count over `Prepared::forward` on every instance.
        let (alphabet, n) = (3, 4);
        let task = IndexLookup::new(alphabet, n).unwrap();
        let codes = vectors::codes(n, 0.25, 1).unwrap();
        let mut errors_seen = 0;
        for (prec, eta) in [
            ("fixed:3.2", 3.0),
            ("e4m3", 1.0),
            ("fixed:4.4", 2.0),
            ("f32", 9.0),
        ] {
            let design = Design::new(alphabet, n, &codes, eta).unwrap();
            let model = design.model().unwrap();
            let v = verify(&model, alphabet, n, &p(prec), &all_instances()).unwrap();
            let mut st = Stats::default();
            let pm = model.prepare(&p(prec), &mut st).unwrap();
            let mut errors = 0;
            for m in 0..(alphabet as u64).pow(n as u32) {
                let s: Vec<usize> = (0..n)
                    .map(|j| ((m / (alphabet as u64).pow(j as u32)) % alphabet as u64) as usize)
                    .collect();
                for q in 0..n {
                    let tokens = task.sequence(&s, q).unwrap();
                    let xs = task.vocab().one_hot(&tokens).unwrap();
                    let out = pm.forward(&xs, &mut st).unwrap().outputs.pop().unwrap();
                    errors += u64::from(answer(&out) != s[q]);
                }
            }
            assert_eq!(v.errors, errors, "{prec}, η = {eta}");
            errors_seen += errors;
        }
        assert!(errors_seen > 0, "some setting must have errors to compare");
    }

    #[test]
    fn broken_variants_are_reported_with_a_first_error() {
        let n = 8;
        let codes = vectors::codes(n, 0.25, 0).unwrap();
        let cold = Design::new(2, n, &codes, 0.5).unwrap();
        let v = verify(&cold.model().unwrap(), 2, n, &p("f32"), &all_instances()).unwrap();
        assert!(!v.correct && v.errors > 0, "{v:?}");
        let first = v.first_error.unwrap();
        assert!(
            first.ends_with(|c: char| c.is_ascii_digit()) && first.contains('@'),
            "{first}"
        );
        // Position 5 gets the code of position 2: queries @2 and @5 cannot tell them apart.
        let mut twin = paper_design(&opts(n)).unwrap();
        for c in 0..twin.k() {
            let x = twin.codes.get(2, c);
            twin.codes.set(5, c, x);
        }
        let v = verify(&twin.model().unwrap(), 2, n, &p("f32"), &all_instances()).unwrap();
        assert!(!v.correct, "{v:?}");
        let first = v.first_error.unwrap();
        assert!(first.ends_with("@2") || first.ends_with("@5"), "{first}");
        // The same at a large N, through the worst-case family.
        let n = 300;
        let mut twin = paper_design(&opts(n)).unwrap();
        for c in 0..twin.k() {
            let x = twin.codes.get(7, c);
            twin.codes.set(250, c, x);
        }
        let check = Check {
            samples: 0,
            seed: 0,
            stop: Stop::Never,
            max_work: None,
        };
        let v = verify(&twin.model().unwrap(), 2, n, &p("f32"), &check).unwrap();
        assert!(!v.correct && !v.exhaustive, "{v:?}");
        let first = v.first_error.unwrap();
        assert!(first.ends_with("@7"), "{first}");
    }

    /// Outputs on every string × query (`[m][q]`) and on the worst-case family (`worst_case`):
    /// for bit `b`, `ones[b][q]` (s_q = 2^b, the rest 0) and `zeros[b][q]` (s_q = 0, the rest
    /// 2^b).
    #[allow(clippy::type_complexity)]
    fn outputs(
        pm: &Prepared,
        task: &IndexLookup,
    ) -> (Vec<Vec<Vec<f64>>>, Vec<Vec<Vec<f64>>>, Vec<Vec<Vec<f64>>>) {
        let (a, n) = (task.alphabet(), task.length());
        let mut st = Stats::default();
        let run = |s: &[usize], st: &mut Stats| {
            let prefix: Vec<u32> = s.iter().map(|&x| task.symbol(x)).collect();
            let cache = pm.prefix_cache(&prefix, st).unwrap();
            let items: Vec<Continuation> = (0..n)
                .map(|q| Continuation {
                    edits: vec![],
                    last: task.position(q),
                })
                .collect();
            pm.last_outputs(&cache, &items, st).unwrap()
        };
        let all = (0..(a as u64).pow(n as u32))
            .map(|m| {
                let s: Vec<usize> = (0..n)
                    .map(|j| ((m / (a as u64).pow(j as u32)) % a as u64) as usize)
                    .collect();
                run(&s, &mut st)
            })
            .collect();
        let b = symbol_bits(a);
        let mut ones = vec![vec![Vec::new(); n]; b];
        let mut zeros = vec![vec![Vec::new(); n]; b];
        for fam in worst_case(a, n, None) {
            for &(q, edit) in &fam.instances {
                let (pos, x) = edit.unwrap();
                let mut s = fam.prefix.clone();
                s[pos] = x;
                let out = run(&s, &mut st).swap_remove(q);
                if fam.prefix.iter().all(|&v| v == 0) {
                    ones[x.trailing_zeros() as usize][q] = out;
                } else {
                    zeros[fam.prefix[0].trailing_zeros() as usize][q] = out;
                }
            }
        }
        (all, ones, zeros)
    }

    /// The worst-case argument, checked against every string: for each query `q` and bit `b`,
    /// `out_b` on any string is at least its value on the worst "one" string when bit `b` of
    /// `s_q` is 1, and at most its value on the worst "zero" string when it is 0; so every error
    /// the exhaustive check finds, the worst-case family finds (same query, same bit).
    #[test]
    fn worst_case_family_bounds_every_string() {
        let mut errors = 0;
        let mut found = 0;
        for (alphabet, n) in [(2, 7), (4, 4)] {
            let task = IndexLookup::new(alphabet, n).unwrap();
            let codes = vectors::codes(n, 0.25, 2).unwrap();
            for eta in [1.0, 3.0, eta(n, 0.25).unwrap()] {
                let model = Design::new(alphabet, n, &codes, eta)
                    .unwrap()
                    .model()
                    .unwrap();
                for name in ["fixed:2.1", "fixed:3.3", "e4m3", "e5m2", "bf16", "paper:1"] {
                    for acc in [Accumulate::Wide, Accumulate::Format] {
                        let prec = for_positions(&p(name).with_accumulate(acc), n + 1).unwrap();
                        let pm = model.prepare(&prec, &mut Stats::default()).unwrap();
                        let (all, ones, zeros) = outputs(&pm, &task);
                        for (m, per_q) in all.iter().enumerate() {
                            for (q, out) in per_q.iter().enumerate() {
                                let s_q = (m / alphabet.pow(q as u32)) % alphabet;
                                for (b, &o) in out.iter().enumerate() {
                                    let (bound, one) = if (s_q >> b) & 1 == 1 {
                                        (ones[b][q][b], true)
                                    } else {
                                        (zeros[b][q][b], false)
                                    };
                                    let setting =
                                        format!("{name} {acc:?} η = {eta} m = {m} q = {q} b = {b}");
                                    if one {
                                        assert!(o >= bound, "{setting}: {o} < {bound}");
                                    } else {
                                        assert!(o <= bound, "{setting}: {o} > {bound}");
                                    }
                                    let wrong = (o > 0.0) != one;
                                    errors += u64::from(wrong);
                                    found += u64::from(wrong && ((bound > 0.0) != one));
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(errors > 0, "some setting must be too coarse to be correct");
        assert_eq!(
            found, errors,
            "every error is also an error of the worst-case family"
        );
    }

    #[test]
    fn construct_reports_the_sizes() {
        let c = construct(&opts(8)).unwrap();
        let r = &c.report;
        assert!(r.correct && r.exhaustive, "{r:?}");
        let k = r.details["k"].as_u64().unwrap() as usize;
        assert_eq!((r.width, r.heads, r.layers), (2 * k + 3, 1, 1));
        assert_eq!(r.instances, 256 * 8);
        let bits = r.bits_per_number.unwrap();
        assert_eq!(r.parameter_bits, Some(r.parameters * u64::from(bits)));
        assert_eq!(
            r.state_bits,
            Some(3 * r.width as u64 * (u64::from(bits) + 4))
        );
        // embedding [d, 2 + 8], table [9, d], q and k [k, d], v [1, d], o [d, 1],
        // fc1 [1, d] + 1, fc2 [d, 1], head [1, d].
        let d = r.width as u64;
        let k = k as u64;
        assert_eq!(
            r.parameters,
            d * 10 + 9 * d + 2 * k * d + d + d + d + 1 + d + d
        );
        let prec = c.precision.unwrap();
        assert!(matches!(prec.format(), Format::Fixed { .. }), "{prec:?}");
        // The precision found is the smallest: one fraction bit fewer (at the largest integer
        // part) or one integer bit fewer fails.
        let Format::Fixed {
            int_bits,
            frac_bits,
        } = prec.format()
        else {
            unreachable!()
        };
        let design = paper_design(&opts(8)).unwrap();
        if frac_bits > 0 {
            assert!(
                !passes(
                    &design,
                    &fixed_point(MAX_INT_BITS, frac_bits - 1).unwrap(),
                    &Search::quiet(0),
                    None
                )
                .unwrap()
            );
        }
        if int_bits > 0 && int_bits + frac_bits > 1 {
            assert!(
                !passes(
                    &design,
                    &fixed_point(int_bits - 1, frac_bits).unwrap(),
                    &Search::quiet(0),
                    None
                )
                .unwrap()
            );
        }
        // Beyond the exhaustive range: the worst-case family and random strings.
        let mut o = opts(100);
        o.precision = Some(p("f32"));
        let r = construct(&o).unwrap().report;
        assert!(r.correct && !r.exhaustive, "{r:?}");
        assert_eq!(
            r.instances,
            2 * 100 + 2 * 100,
            "worst case, then 2 random strings × 100"
        );
        assert!(r.verified_on.contains("worst-case"), "{}", r.verified_on);
    }

    #[test]
    fn smallest_is_correct_and_no_wider_than_the_papers_design() {
        let o = opts(12);
        let s = smallest(&o).unwrap();
        let paper = construct(&o).unwrap().report;
        assert!(s.correct, "{s:?}");
        assert!(s.width <= paper.width, "{} > {}", s.width, paper.width);
        assert_eq!(s.size_bits, s.width as u64 * u64::from(s.bits_per_number));
        assert_eq!(s.other_bound_bits, 12.0);
        assert_eq!((s.heads, s.layers), (1, 1));
    }

    #[test]
    fn paper_grid_search_finds_the_smallest_k() {
        let design = paper_design(&opts(8)).unwrap();
        let prec = smallest_paper(&design, &Search::quiet(0)).unwrap().unwrap();
        let Format::PaperGrid { k, n, .. } = prec.format() else {
            panic!("{prec:?}")
        };
        assert_eq!(n, 9, "resolved with the input length N + 1");
        assert!(passes(&design, &prec, &Search::quiet(0), None).unwrap());
        if k > 1 {
            let smaller = for_positions(&p(&format!("paper:{}", k - 1)), 8 + 1).unwrap();
            assert!(!passes(&design, &smaller, &Search::quiet(0), None).unwrap());
        }
        // A design too cold for any grid is found at none.
        let cold = Design::new(2, 8, &design.codes, 0.25).unwrap();
        assert_eq!(smallest_paper(&cold, &Search::quiet(0)).unwrap(), None);
    }

    #[test]
    fn screens_hold_the_heaviest_queries_and_a_failed_full_check_searches_again() {
        let small = Design::new(2, SCREEN_QUERIES, &random_signs(SCREEN_QUERIES, 16, 0), 9.0);
        assert_eq!(
            screen_of(&small.unwrap(), &[]),
            None,
            "every query up to the limit"
        );
        let n = 2 * SCREEN_QUERIES;
        let design = paper_design(&opts(n)).unwrap();
        let screen = screen_of(&design, &[3]).unwrap();
        assert!(screen.windows(2).all(|w| w[0] < w[1]) && screen.contains(&3));
        let leaks = vectors::row_leaks(&design.codes, design.eta).unwrap();
        let lightest_kept = screen
            .iter()
            .filter(|&&q| q != 3)
            .map(|&q| leaks[q])
            .fold(f64::INFINITY, f64::min);
        let heavier_left_out = (0..n)
            .filter(|q| !screen.contains(q))
            .any(|q| leaks[q] > lightest_kept);
        assert!(!heavier_left_out, "the screen keeps the heaviest queries");
        // A full check that fails once on a query outside the screen: the search runs again
        // with it, and what it returns is the second full check.
        let outside = (0..n).find(|q| !screen.contains(q)).unwrap();
        let calls = std::cell::Cell::new(0);
        let (prec, v) = search_confirmed(&design, &Search::quiet(0), |p| {
            calls.set(calls.get() + 1);
            let mut v = stop_early(&design, p, &Search::quiet(0), None)?;
            if calls.get() == 1 {
                v.correct = false;
                v.first_error_query = Some(outside);
            }
            Ok(v)
        })
        .unwrap()
        .unwrap();
        assert_eq!(calls.get(), 2);
        assert!(v.correct && !v.exhaustive && v.first_error_query.is_none());
        assert_eq!(
            smallest_fixed(&design, &Search::quiet(0)).unwrap(),
            Some(prec)
        );
        assert!(
            stop_early(&design, &prec, &Search::quiet(0), None)
                .unwrap()
                .correct,
            "on every query"
        );
    }

    #[test]
    fn construct_refuses_before_searching_when_the_final_check_would_be_refused() {
        let mut o = opts(8192);
        o.precision = Some(p("fixed:7.2").with_accumulate(Accumulate::Format));
        let e = construct(&o).unwrap_err();
        assert!(
            e.message.contains("multiply-adds") && e.message.contains("wide"),
            "{e}"
        );
        o.precision = None;
        o.samples = 1 << 40;
        let e = construct(&o).unwrap_err();
        assert!(
            e.settings().contains(&Setting::Samples) && !e.message.contains("wide"),
            "{e}"
        );
    }

    /// `--max-work` is the limit of index lookup too (it used to be ignored there: the
    /// default 2e12 held whatever was given), both ways, and at a large N a limit that even
    /// the shortest code possible exceeds is refused before the codes are built.
    #[test]
    fn max_work_is_the_limit() {
        let mut o = opts(64);
        o.max_work = Some(1e3);
        let e = construct(&o).unwrap_err();
        assert!(e.settings().contains(&Setting::MaxWork), "{e}");
        assert!(e.message.contains("limit 1e3"), "{e}");
        let mut big = opts(MAX_N);
        big.max_work = Some(1e6);
        let e = construct(&big).unwrap_err();
        assert!(e.message.contains("multiply-adds"), "{e}");
        let e = smallest(&big).unwrap_err();
        assert!(e.settings().contains(&Setting::MaxWork), "{e}");
        // Over the default limit, under a raised one.
        let f = p("f32").with_accumulate(Accumulate::Format);
        assert!(check_work(2, 1 << 12, 100, 1 << 20, &f, None).is_err());
        assert!(check_work(2, 1 << 12, 100, 1 << 20, &f, Some(1e15)).is_ok());
    }

    /// Welch's bound is below every code `vectors::codes` finds.
    #[test]
    fn the_shortest_code_is_a_lower_bound() {
        for n in [1, 2, 8, 64, 500] {
            for gamma in [0.1, 0.25, 0.4] {
                let codes = vectors::codes(n, gamma, 0).unwrap();
                assert!(
                    shortest_code(n, gamma) <= codes.cols(),
                    "N = {n}, γ = {gamma}"
                );
            }
        }
        assert_eq!(shortest_code(1, 0.25), 1);
    }

    #[test]
    fn bad_input_is_refused_with_a_fix() {
        let mut o = opts(0);
        assert!(construct(&o).unwrap_err().message.contains("1 ≤ N"));
        o.n = MAX_N + 1;
        assert!(construct(&o).is_err());
        o.n = 8;
        o.gamma = 0.5;
        assert!(construct(&o).unwrap_err().message.contains("γ"));
        let codes = vectors::codes(8, 0.25, 0).unwrap();
        assert!(
            Design::new(2, 9, &codes, 3.0).is_err(),
            "one code per position"
        );
        assert!(Design::new(2, 8, &codes, f64::NAN).is_err());
        assert!(
            Design::new(2, 8, &Matrix::zeros(8, 4), 3.0).is_err(),
            "not signs"
        );
        let model = Design::new(2, 8, &codes, 3.0).unwrap().model().unwrap();
        assert!(
            verify(&model, 2, 9, &p("f32"), &all_instances()).is_err(),
            "another task"
        );
        let big = work(2, MAX_N, 4000, 1 << 20, Accumulate::Format);
        assert!(big > MAX_WORK);
        let e = check_work(
            2,
            MAX_N,
            4000,
            1 << 20,
            &p("f32").with_accumulate(Accumulate::Format),
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("multiply-adds"), "{e}");
    }
}
