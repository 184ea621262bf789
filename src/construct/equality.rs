//! Thm 6: string equality with a two-layer, one-head softmax Transformer of width
//! `k + 2|Σ| + 3` (`k = O(log N)`) at `O(log N)` bits per number, reading the task's own one-hot
//! tokens `x_0 … x_{n−1} | y_0 … y_{n−1}` (the `equality` reduction: |Σ| = 2, N = 2n symbols,
//! `T = 2n + 1` positions) so that `ccsep run` and `check` apply to it unchanged.
//!
//! The construction, block by block (names of [`Residual`] blocks in `code` font):
//! - embedding: the token's symbol one-hot into `symbol`; the positional table writes the sign
//!   code `T(i)` (entries ±1, `k` of them) of the *pair index* `i` into `pos_code` — position `i`
//!   of the first half and position `n + 1 + i` of the second share `T(i)`, the separator has
//!   `T(n)` — and `1` into `second_half` at the positions of `y`;
//! - layer 1 attention: `q = η·pos_code`, `k = pos_code`. The largest score of position `t` is
//!   at the keys that share its code: `i` and `n + 1 + i` in the second half, `t` itself
//!   elsewhere; every other key scores at least `c·η·k·(1 − γ)` lower (`γ` the worst
//!   normalised inner product of the codes, `c = 1/√k` the model's own score scale), which `η`
//!   makes large enough that the other weights round to exactly 0. The value is `symbol`, so
//!   `pair_mean = (e(x_i) + e(y_i)) / 2` in the second half;
//! - layer 1 MLP: `mismatch = second_half − Σ_s 2·relu(pair_mean_s + second_half − 3/2)`, i.e.
//!   `[x_i ≠ y_i]` (the XOR of the two bits for |Σ| = 2) in the second half and `0` elsewhere;
//! - layer 2 attention: zero queries, so uniform weights `p = round(1/T)` over all positions;
//!   the value is `mismatch`, so `mismatch_mean = p · #{i : x_i ≠ y_i}`;
//! - head: `out = p̂ − 2·mismatch_mean` with `p̂ = round(1/T)`: positive exactly when no
//!   position differs (decoded by `model::decode` as "equal").
//!
//! The paper uses two heads; one suffices here because the pair shares one code, so a single
//! head lands on both halves at once. `proofs/thm6-equality.md` derives every constant.
//!
//! The helpers shared with `disjointness` and `nearest` (the score gap that makes a softmax hard
//! at a precision, sign codes, the verification tally, parameter counts) live here too.

use std::time::{Duration, Instant};

use serde_json::json;

use super::subspace::Residual;
use super::vectors::{codes, worst_inner};
use super::{ConstructOptions, ConstructReport, Construction, Progress, SizePoint};
use crate::error::InputError;
use crate::model::decode;
use crate::model::{Block, Linear, Matrix, Model, PosCode, Transformer};
use crate::numeric::{Format, Precision, Rounding, Stats};
use crate::task::{EqVariant, Equality, Task, Token, example_rng};

/// The paper's result this module realises.
pub const RESULT: &str = "Thm 6";

/// Symbols of the reduction's alphabet.
const ALPHABET: usize = 2;

/// Largest `n` (bits per party) checked on every pair `(x, y)`: `4^8 = 65536` instances.
pub const EXHAUSTIVE_MAX_N: usize = 8;

/// Largest `n` accepted (the positional table has `2n + 1` rows).
pub const MAX_N: usize = 1 << 15;

/// Most operations one verification may cost before it is refused (about five minutes on two
/// cores). An operation is a multiply-add or a rounding of the fast final pass, about 0.6 ns on
/// one core (the estimates are calibrated on `construct equality --n 4096`).
pub const MAX_WORK: f64 = 1e12;

/// Operations per position of one instance of the Thm 6 or Thm 13 model through the fast final
/// pass (measured: about 50 ns a position on one core at `n = 4096`).
pub(crate) const OPS_PER_POSITION: f64 = 100.0;

/// Most sequences run through the model per call of `final_outputs_flat`.
const CHUNK: usize = 2048;

/// Most input numbers per call of `final_outputs_flat` (fewer sequences when they are long).
const CHUNK_NUMBERS: usize = 1 << 24;

/// The design of one Thm 6 Transformer: everything the weights are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// Bits per party (`N = 2n` symbols, `T = 2n + 1` positions).
    pub n: usize,
    /// Symbols of the alphabet (`2` for the reduction).
    pub alphabet: usize,
    /// The pair codes `T(0) … T(n)`, one per row, entries ±1.
    pub codes: Matrix,
    /// The worst normalised inner product `max_{i≠j} |<T(i), T(j)>| / k` of the codes.
    pub gamma: f64,
    /// The query scale of layer 1 (a weight of `W_q`, on the precision's grid).
    pub eta: f64,
    /// The head's bias `p̂ = round(1/T)`: the uniform attention weight of layer 2.
    pub threshold: f64,
}

impl Design {
    /// The design for `n` bits per party at `prec` with the given ±1 codes (`n + 1` rows, one
    /// per pair index and one for the separator). Fails when a code row is repeated (γ ≥ 1) or
    /// when the precision rounds `1/√k` or `1/T` to zero, with what to change.
    pub fn new(n: usize, codes: Matrix, prec: &Precision) -> Result<Self, InputError> {
        check_n(n)?;
        if codes.rows() != n + 1 || codes.cols() == 0 {
            return Err(InputError::new(format!(
                "equality: need n + 1 = {} code rows of length ≥ 1, got {}×{}",
                n + 1,
                codes.rows(),
                codes.cols()
            )));
        }
        let k = codes.cols();
        let gamma = worst_inner(&codes) / k as f64;
        if gamma >= 1.0 {
            return Err(InputError::new(format!(
                "equality: two of the {} pair codes of length {k} coincide or are opposite (γ = {gamma}); use longer codes",
                n + 1
            )));
        }
        let len = 2 * n + 1;
        let c = score_scale(prec, k)?;
        let g = hard_gap(prec, len, 1.0 / (8.0 * (n * ALPHABET) as f64));
        // The gap of the rounded scores loses at most one grid step at the score's magnitude
        // per rounding (two roundings of each of two scores).
        let nominal = g / (c * k as f64 * (1.0 - gamma));
        let slack = 4.0 * step_at(prec, nominal * k as f64 * c);
        let eta = round_up(prec, (g + slack) / (c * k as f64 * (1.0 - gamma)));
        let threshold = uniform_weight(prec, len)?;
        Ok(Design {
            n,
            alphabet: ALPHABET,
            codes,
            gamma,
            eta,
            threshold,
        })
    }

    /// The residual stream's named blocks.
    pub fn layout(&self) -> Residual {
        let mut r = Residual::new();
        r.add("symbol", self.alphabet);
        r.add("pos_code", self.codes.cols());
        r.add("second_half", 1);
        r.add("pair_mean", self.alphabet);
        r.add("mismatch", 1);
        r.add("mismatch_mean", 1);
        r
    }

    /// The Transformer (one head, causal, no layer norm) with these constants.
    pub fn model(&self) -> Result<Model, InputError> {
        let res = self.layout();
        let d = res.dim();
        let (sym, code, second) = (
            res.range("symbol"),
            res.range("pos_code"),
            res.range("second_half").start,
        );
        let (pair, mism, mean) = (
            res.range("pair_mean"),
            res.range("mismatch").start,
            res.range("mismatch_mean").start,
        );
        let (n, a, k) = (self.n, self.alphabet, self.codes.cols());
        let len = 2 * n + 1;
        // Tokens 0 … |Σ|−1 are symbols, token |Σ| the separator (reads nothing).
        let mut embed = Matrix::zeros(d, a + 1);
        for s in 0..a {
            embed.set(sym.start + s, s, 1.0);
        }
        let mut pos = Matrix::zeros(len, d);
        for t in 0..len {
            let pair_index = if t > n { t - n - 1 } else { t };
            for e in 0..k {
                pos.set(t, code.start + e, self.codes.get(pair_index, e));
            }
            if t > n {
                pos.set(t, second, 1.0);
            }
        }
        let q1 = select(k, d, code.start, self.eta);
        let k1 = select(k, d, code.start, 1.0);
        let v1 = select(a, d, sym.start, 1.0);
        let o1 = place(d, a, pair.start);
        // Hidden unit s < |Σ|: relu(pair_mean_s + second_half − 3/2); unit |Σ|: relu(second_half).
        let mut fc1 = Matrix::zeros(a + 1, d);
        let mut b1 = vec![-1.5; a];
        b1.push(0.0);
        for s in 0..a {
            fc1.set(s, pair.start + s, 1.0);
            fc1.set(s, second, 1.0);
        }
        fc1.set(a, second, 1.0);
        let mut fc2 = Matrix::zeros(d, a + 1);
        for s in 0..a {
            fc2.set(mism, s, -2.0);
        }
        fc2.set(mism, a, 1.0);
        let layer1 = Block {
            ln1: None,
            q: Linear::new(q1, None)?,
            k: Linear::new(k1, None)?,
            v: Linear::new(v1, None)?,
            o: Linear::new(o1, None)?,
            ln2: None,
            mlp: Some((Linear::new(fc1, Some(b1))?, Linear::new(fc2, None)?)),
        };
        let layer2 = Block {
            ln1: None,
            q: Linear::new(Matrix::zeros(1, d), None)?,
            k: Linear::new(Matrix::zeros(1, d), None)?,
            v: Linear::new(select(1, d, mism, 1.0), None)?,
            o: Linear::new(place(d, 1, mean), None)?,
            ln2: None,
            mlp: None,
        };
        let mut head = Matrix::zeros(1, d);
        head.set(0, mean, -2.0);
        let tr = Transformer::new(
            Linear::new(embed, None)?,
            PosCode::Table(pos),
            vec![layer1, layer2],
            None,
            Some(Linear::new(head, Some(vec![self.threshold]))?),
            1,
            true,
        )?;
        Ok(Model::Transformer(tr))
    }

    /// Operations of one instance through `final_outputs_flat` (for the refusal estimate):
    /// about [`OPS_PER_POSITION`] per position (the fast pass keeps about a dozen rows there —
    /// symbols, pair means, layer 1's values and MLP, the mismatch, layer 2's value — of a few
    /// weights each, each rounded), whatever the code length.
    fn work(&self) -> f64 {
        (2 * self.n + 1) as f64 * OPS_PER_POSITION
    }

    /// Operations computed once per verification: layer 1's position-only attention weights,
    /// `T²/2` scores of `k` multiply-adds (vectorised: `k/8`) and the softmax's passes over
    /// each (about 6).
    fn setup_work(&self) -> f64 {
        let t = (2 * self.n + 1) as f64;
        t * t / 2.0 * (self.codes.cols() as f64 / 8.0 + 6.0)
    }
}

/// What a verification found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Instances run.
    pub instances: u64,
    /// Instances answered wrongly.
    pub errors: u64,
    /// The first wrong instance: its tokens, the right answer and the model's.
    pub first_error: Option<String>,
    /// Roundings that saturated, over the whole verification.
    pub saturated: u64,
}

/// How far a verification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Every instance of the family, every error counted (`construct`).
    Full,
    /// Every instance, stopping at the first error (the size search's final check: a size
    /// counts only once it passed).
    Search,
    /// The size search's screen of a candidate: the structured worst cases at most
    /// [`SCREEN_INDICES`] indices (evenly spread, both ends included), stopping at the first
    /// error.
    Screen,
}

impl Depth {
    pub(crate) fn full(self) -> bool {
        self != Depth::Screen
    }

    pub(crate) fn stops(self) -> bool {
        self != Depth::Full
    }

    /// The size search's depth of a trial (`search_sizes` passes `full`).
    pub(crate) fn of_trial(full: bool) -> Depth {
        if full { Depth::Search } else { Depth::Screen }
    }
}

/// Most indices (flipped bits, features, nearest points) a screen checks.
pub(crate) const SCREEN_INDICES: usize = 256;

/// The indices `0 … n−1` a verification at `depth` runs its per-index cases at: all, or for a
/// screen at most [`SCREEN_INDICES`] of them, evenly spread with both ends.
pub(crate) fn indices(n: usize, depth: Depth) -> Vec<usize> {
    if depth.full() {
        return (0..n).collect();
    }
    spread(n, SCREEN_INDICES)
}

/// `k ≥ 2` of the indices `0 … n−1`, evenly spread with both ends (all of them when `n ≤ k`).
pub(crate) fn spread(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..k).map(|i| i * (n - 1) / (k - 1)).collect();
    v.dedup();
    v
}

/// How the per-index cases were chosen, for the report.
pub(crate) fn indices_words(n: usize, depth: Depth, what: &str) -> String {
    let i = indices(n, depth).len();
    if i == n {
        format!("each of the {n} {what}")
    } else {
        format!("{i} of the {n} {what} (evenly spread)")
    }
}

/// One instance to check: the model's inputs, the right answer and the tokens as text.
pub(crate) struct Case<'a> {
    /// The input vectors, one position after another (`T · I` numbers).
    pub inputs: Vec<f64>,
    /// The task's label, as a bit.
    pub expected: bool,
    /// The instance as text, for `first_error` (rendered for that instance only).
    pub text: Box<dyn Fn() -> String + 'a>,
}

/// The one-hot inputs of `tokens` over a vocabulary of `size` tokens, one position after
/// another: `Vocab::one_hot`, flat. Tokens outside the vocabulary are an error.
pub(crate) fn one_hot_flat(tokens: &[Token], size: usize) -> Result<Vec<f64>, InputError> {
    let mut v = vec![0.0; tokens.len() * size];
    for (t, &tok) in tokens.iter().enumerate() {
        if tok as usize >= size {
            return Err(InputError::new(format!(
                "token {tok} at position {t} is outside the vocabulary of {size}"
            )));
        }
        v[t * size + tok as usize] = 1.0;
    }
    Ok(v)
}

/// The case of an instance `tokens` of a two-party bit task (equality, disjointness): its
/// one-hot inputs over the task's vocabulary, and the task's own label as the answer.
pub(crate) fn bit_case<T: Task>(task: &T, tokens: Vec<Token>) -> Result<Case<'_>, InputError> {
    let expected = task.label(&tokens)?.as_bit().ok_or_else(|| {
        InputError::new(format!("{}: the task's label is not a bit", task.name()))
    })?;
    Ok(Case {
        inputs: one_hot_flat(&tokens, task.vocab().len())?,
        expected,
        text: Box::new(move || task.vocab().render(&tokens)),
    })
}

/// Every pair `(x, y)` of `n`-bit strings (`4^n` of them), `x` major, bit `i` of a string
/// being bit `i` of its number.
pub(crate) fn all_pairs(n: usize) -> impl Iterator<Item = (Vec<bool>, Vec<bool>)> {
    let bits = move |v: u64| (0..n).map(|i| (v >> i) & 1 == 1).collect::<Vec<bool>>();
    let all = 1u64 << n;
    (0..all).flat_map(move |x| (0..all).map(move |y| (bits(x), bits(y))))
}

/// Verifies `model` at `prec` on the `count` pairs of `pairs` (each written as an instance of
/// `task` by `tokens`), then on `samples` of the task's own random instances (instance `i`
/// drawn from `example_rng(opts.seed, i)`): the [`tally`] of the verifications of equality and
/// disjointness, which differ only in their pairs and tokens.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_pairs<'a, T: Task>(
    model: &Model,
    prec: &Precision,
    task: &'a T,
    pairs: impl Iterator<Item = (Vec<bool>, Vec<bool>)> + 'a,
    count: u64,
    tokens: impl Fn(&[bool], &[bool]) -> Vec<Token> + 'a,
    samples: u64,
    opts: &ConstructOptions,
    stop: bool,
) -> Result<Tally, InputError> {
    let fixed = pairs.map(move |(x, y)| bit_case(task, tokens(&x, &y)));
    let seed = opts.seed;
    let random = (0..samples).map(move |i| {
        let ex = task.generate(&mut example_rng(seed, i));
        bit_case(task, ex.tokens)
    });
    tally(
        model,
        prec,
        fixed.chain(random),
        stop,
        count + samples,
        &opts.progress,
    )
}

/// Runs `model` at `prec` on every case (batched, `final_outputs_flat`) and counts wrong
/// answers, reading each output with [`decode`]; with `stop`, no batch after the first wrong
/// answer is run, and the batches start at one block of 16 and double (a model that fails,
/// often on its first instances, then costs little even where each instance is dear).
/// Every `progress.interval()` (30 s unless set) a long tally says how far it is (`total`:
/// the instances it will run unless it stops). With `stop` (a search's check) it runs nothing
/// when the first instance's length needs a position-only attention layer computed the plain
/// way (`Prepared::dense_attention`): the tally then has no instance, so the report is not
/// correct, and `first_error` says why.
pub(crate) fn tally<'a>(
    model: &Model,
    prec: &Precision,
    cases: impl Iterator<Item = Result<Case<'a>, InputError>>,
    stop: bool,
    total: u64,
    progress: &Progress,
) -> Result<Tally, InputError> {
    let start = Instant::now();
    let mut said = Duration::ZERO;
    let mut stats = Stats::default();
    let prepared = model.prepare(prec, &mut stats)?;
    let mut out = Tally::default();
    let mut chunk: Vec<Case> = Vec::new();
    let mut numbers = 0;
    let mut limit = if stop { 16 } else { CHUNK };
    let flush = |chunk: &mut Vec<Case>, out: &mut Tally| -> Result<(), InputError> {
        let batch: Vec<Vec<f64>> = chunk
            .iter_mut()
            .map(|c| std::mem::take(&mut c.inputs))
            .collect();
        let mut st = Stats::default();
        let outs = prepared.final_outputs_flat(&batch, &mut st)?;
        out.saturated += st.saturated;
        for (case, o) in chunk.iter().zip(&outs) {
            out.instances += 1;
            let got = decode(o);
            if got != case.expected {
                out.errors += 1;
                if out.first_error.is_none() {
                    out.first_error = Some(format!(
                        "{} -> expected {}, model {} (output {:?})",
                        (case.text)(),
                        u8::from(case.expected),
                        u8::from(got),
                        o
                    ));
                }
            }
        }
        chunk.clear();
        Ok(())
    };
    let mut first = true;
    for case in cases {
        let case = case?;
        if std::mem::take(&mut first) && stop {
            let len = case.inputs.len() / model.input_size().max(1);
            if prepared.dense_attention(len) {
                out.first_error = Some(format!(
                    "not run: at {} a position-only attention layer keeps too many nonzero weights at length {len} (its softmax is far from hard), so each instance would cost O(T²·d); a search counts the precision as failed",
                    prec.name()
                ));
                return Ok(out);
            }
        }
        numbers += case.inputs.len();
        chunk.push(case);
        if chunk.len() == limit || numbers >= CHUNK_NUMBERS {
            flush(&mut chunk, &mut out)?;
            if start.elapsed() >= said + progress.interval() {
                said = start.elapsed();
                progress.say(|| {
                    format!(
                        "  {} of {total} instances checked, {} wrong ({:.0} s)",
                        out.instances,
                        out.errors,
                        said.as_secs_f64()
                    )
                });
            }
            numbers = 0;
            limit = (2 * limit).min(CHUNK);
            if stop && out.errors > 0 {
                chunk.clear();
                break;
            }
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk, &mut out)?;
    }
    out.saturated += stats.saturated;
    Ok(out)
}

/// The precision to verify at: the given one (`paper:K` resolved for `len` positions), or the
/// design's own when none is given.
pub(crate) fn resolve(
    given: Option<Precision>,
    len: usize,
    own: impl FnOnce() -> Result<Precision, InputError>,
) -> Result<Precision, InputError> {
    match given {
        Some(p) => p.for_length(len as u64),
        None => own(),
    }
}

/// `fixed:I.F` with the default rounding.
pub(crate) fn fixed(int_bits: u32, frac_bits: u32) -> Result<Precision, InputError> {
    Precision::parse(&format!("fixed:{int_bits}.{frac_bits}"))
}

/// The spacing of the precision's grid near `x` (0 for `f64`, where nothing is rounded).
pub(crate) fn step_at(prec: &Precision, x: f64) -> f64 {
    match prec.format() {
        Format::Fixed { frac_bits, .. } => 2f64.powi(-(frac_bits as i32)),
        Format::PaperGrid { scale, .. } => 1.0 / scale,
        Format::Float {
            exp_bits, man_bits, ..
        } => {
            let emin = 2 - (1i32 << (exp_bits - 1));
            let e = if x == 0.0 {
                emin
            } else {
                (x.abs().log2().floor() as i32).max(emin)
            };
            2f64.powi(e - man_bits as i32)
        }
        Format::F64 | Format::Paper { .. } => 0.0,
    }
}

/// `x` rounded up to the precision's grid (a weight that is at least `x`).
pub(crate) fn round_up(prec: &Precision, x: f64) -> f64 {
    let mut stats = Stats::default();
    let r = prec.round(x, &mut stats);
    if r >= x {
        r
    } else {
        prec.round(r + step_at(prec, r), &mut stats)
    }
}

/// The score gap `g` above which a softmax over `keys` keys is hard at `prec`: on a fixed-point
/// or the paper's grid `exp(−g)` rounds to exactly 0 (below half a step when rounding to
/// nearest, below a step when rounding down), so the maximal keys share the whole weight; for a
/// float format, whose tiny values do not round to 0, the other keys' total weight
/// `keys·exp(−g)` stays below `leak`.
pub(crate) fn hard_gap(prec: &Precision, keys: usize, leak: f64) -> f64 {
    let ln2 = std::f64::consts::LN_2;
    let down = prec.rounding() == Rounding::Down;
    match prec.format() {
        Format::Fixed { frac_bits, .. } => {
            (f64::from(frac_bits) + if down { 0.0 } else { 1.0 }) * ln2 + 1e-3
        }
        Format::PaperGrid { scale, .. } => scale.ln() + if down { 0.0 } else { ln2 } + 1e-3,
        Format::Float { .. } | Format::F64 | Format::Paper { .. } => {
            (keys.max(1) as f64 / leak).ln()
        }
    }
}

/// The model's own score scale `round(1/√d_k)`; an error when the precision rounds it to 0.
pub(crate) fn score_scale(prec: &Precision, dk: usize) -> Result<f64, InputError> {
    let c = prec.round(1.0 / (dk as f64).sqrt(), &mut Stats::default());
    if c > 0.0 {
        Ok(c)
    } else {
        Err(InputError::new(format!(
            "{} rounds the attention scale 1/√{dk} to 0; use more fraction bits",
            prec.name()
        )))
    }
}

/// The weight `round(1/round(T))` that uniform attention over `len` keys gives each key at
/// `prec` (what the softmax computes when all scores are equal); an error when it is 0.
pub(crate) fn uniform_weight(prec: &Precision, len: usize) -> Result<f64, InputError> {
    let mut st = Stats::default();
    let z = prec.round(len as f64, &mut st);
    let p = prec.round(1.0 / z, &mut st);
    if p > 0.0 {
        Ok(p)
    } else {
        Err(InputError::new(format!(
            "{} rounds the uniform attention weight 1/{len} to 0; use about {} fraction bits",
            prec.name(),
            (len as f64).log2().ceil()
        )))
    }
}

/// `rows` nearly orthogonal codes with every `|<T_i, T_j>| ≤ gamma` ([`codes`]: the shorter of
/// seeded random signs and Reed–Solomon ∘ Hadamard), as entries exactly ±1, with their worst
/// normalised inner product ([`worst_inner`]).
pub(crate) fn sign_codes(rows: usize, gamma: f64, seed: u64) -> Result<(Matrix, f64), InputError> {
    let c = codes(rows, gamma, seed)?;
    let worst = worst_inner(&c);
    Ok((to_signs(&c), worst))
}

/// The signs of a code's entries, as ±1.
fn to_signs(m: &Matrix) -> Matrix {
    let data = m
        .data()
        .iter()
        .map(|&v| if v > 0.0 { 1.0 } else { -1.0 })
        .collect();
    Matrix::new(m.rows(), m.cols(), data).expect("same shape")
}

/// A `rows × d` matrix that reads the block starting at `from` (times `w`): row `r` has `w` in
/// column `from + r`.
pub(crate) fn select(rows: usize, d: usize, from: usize, w: f64) -> Matrix {
    let mut m = Matrix::zeros(rows, d);
    for r in 0..rows {
        m.set(r, from + r, w);
    }
    m
}

/// A `d × cols` matrix that writes its input into the block starting at `to`.
pub(crate) fn place(d: usize, cols: usize, to: usize) -> Matrix {
    let mut m = Matrix::zeros(d, cols);
    for c in 0..cols {
        m.set(to + c, c, 1.0);
    }
    m
}

/// Every number of a Transformer (weights, biases, positional table), zeros included.
pub(crate) fn parameters(model: &Model) -> u64 {
    let Model::Transformer(t) = model else {
        return 0;
    };
    let lin = |l: &Linear| (l.weight().data().len() + l.bias().map_or(0, <[f64]>::len)) as u64;
    let mut n = lin(t.embed());
    if let PosCode::Table(m) = t.pos() {
        n += m.data().len() as u64;
    }
    for b in t.blocks() {
        n += lin(&b.q) + lin(&b.k) + lin(&b.v) + lin(&b.o);
        if let Some((f1, f2)) = &b.mlp {
            n += lin(f1) + lin(f2);
        }
    }
    n + t.head().map_or(0, lin)
}

/// The verified construction, with the report fields every Transformer construction fills the
/// same way.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    name: &str,
    result: &str,
    n: usize,
    model: Model,
    prec: &Precision,
    verified_on: String,
    exhaustive: bool,
    t: &Tally,
    details: serde_json::Value,
) -> Construction {
    let report = report(
        name,
        result,
        n,
        &model,
        prec,
        verified_on,
        exhaustive,
        t,
        details,
    );
    Construction {
        model: Some(model),
        precision: Some(*prec),
        report,
    }
}

/// The work limit of `opts`: `--max-work`, or [`MAX_WORK`].
pub(crate) fn work_limit(opts: &ConstructOptions) -> f64 {
    opts.max_work.unwrap_or(MAX_WORK)
}

/// Refuses verifying construction `name` at `n` on `instances` instances of `per_instance`
/// operations each, after `setup` operations once (the fast pass's attention weights), when
/// that exceeds the work limit of `opts` ([`work_limit`]).
pub(crate) fn refuse_work(
    name: &str,
    n: usize,
    instances: u64,
    per_instance: f64,
    setup: f64,
    opts: &ConstructOptions,
) -> Result<(), InputError> {
    let work = setup + per_instance * instances as f64;
    let limit = work_limit(opts);
    if work > limit {
        return Err(InputError::new(format!(
            "verifying the {name} construction at n = {n} on {instances} instances costs about {work:.1e} operations (limit {limit:.0e}, about {} on two cores); lower --n or --samples, or raise --max-work",
            minutes(limit)
        )));
    }
    Ok(())
}

/// What `work` operations of the two-layer verifications take on two cores, in words (about
/// 130 ns of one core per position at 100 operations a position, measured on the 2-core dev
/// machine). It holds while an instance fits in cache and is optimistic beyond: nearest
/// neighbour on a quiet machine took 1.06 ns of a core per operation at `n = 256`
/// (`benches/construct.rs`), 1.32 ns at `n = 4096` (20 280 instances, 59 s), but 3.07 ns at
/// `n = 2^15` (26 824 instances of 65 537 positions, 35 MB of inputs each: 1531 s against the
/// 650 s this gives).
fn minutes(work: f64) -> String {
    let secs = work / OPS_PER_POSITION * 130e-9 / 2.0;
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.0} min", secs / 60.0)
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    name: &str,
    result: &str,
    n: usize,
    model: &Model,
    prec: &Precision,
    verified_on: String,
    exhaustive: bool,
    t: &Tally,
    details: serde_json::Value,
) -> ConstructReport {
    let (width, heads, layers) = match model {
        Model::Transformer(tr) => (tr.d_model(), tr.heads(), tr.blocks().len()),
        _ => (0, 0, 0),
    };
    let parameters = parameters(model);
    let bits = prec.bits();
    ConstructReport {
        name: name.to_string(),
        result: result.to_string(),
        n,
        correct: t.errors == 0 && t.instances > 0,
        verified_on,
        exhaustive,
        instances: t.instances,
        errors: t.errors,
        first_error: t.first_error.clone(),
        width,
        heads,
        layers,
        precision: Some(prec.name()),
        bits_per_number: bits,
        parameters,
        parameter_bits: bits.map(|b| parameters * u64::from(b)),
        state_bits: None,
        details,
    }
}

fn check_n(n: usize) -> Result<(), InputError> {
    if (1..=MAX_N).contains(&n) {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "equality: --n is the bits per party, between 1 and {MAX_N}; got {n}"
        )))
    }
}

/// The precision the derivation asks for at `n` with codes of worst inner product `gamma`:
/// `F = ⌈log2 T⌉ + 1` fraction bits (so `round(1/T)` is within a quarter of `1/T`) and the
/// integer bits that hold the largest pre-scale score `η·k` and the softmax normaliser `T`.
pub fn design_precision(n: usize, k: usize, gamma: f64) -> Result<Precision, InputError> {
    let len = 2 * n + 1;
    let f = (len as f64).log2().ceil() as u32 + 1;
    let holds_len = (len as f64 + 1.0).log2().ceil() as u32;
    fixed(integer_bits_hint(f, k, gamma).max(holds_len).max(2), f)
}

/// The task the model reads.
fn task(n: usize) -> Result<Equality, InputError> {
    Equality::new(ALPHABET, 2 * n, EqVariant::Random)
}

fn bits_to_tokens(task: &Equality, x: &[bool], y: &[bool]) -> Vec<Token> {
    x.iter()
        .map(|&b| task.symbol(usize::from(b)))
        .chain([task.separator()])
        .chain(y.iter().map(|&b| task.symbol(usize::from(b))))
        .collect()
}

/// The pairs `(x, y)` of a verification, made as they are checked (at `n = 2^15` the
/// structured family alone would hold 8 GiB).
enum Pairs {
    /// Every pair of `n`-bit strings.
    All(usize),
    /// For each string `x`: `y = x`, `y = ¬x`, and `y = x` with bit `i` flipped for each `i`
    /// of `flips`.
    Structured {
        xs: Vec<Vec<bool>>,
        flips: Vec<usize>,
    },
}

impl Pairs {
    fn len(&self) -> u64 {
        match self {
            Pairs::All(n) => 1 << (2 * n),
            Pairs::Structured { xs, flips } => (xs.len() * (2 + flips.len())) as u64,
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (Vec<bool>, Vec<bool>)> + '_> {
        match self {
            &Pairs::All(n) => Box::new(all_pairs(n)),
            Pairs::Structured { xs, flips } => Box::new(xs.iter().flat_map(move |x| {
                let not = x.iter().map(|b| !b).collect();
                [(x.clone(), x.clone()), (x.clone(), not)]
                    .into_iter()
                    .chain(flips.iter().map(move |&i| {
                        let mut y = x.clone();
                        y[i] = !y[i];
                        (x.clone(), y)
                    }))
            })),
        }
    }
}

/// The instances a verification at `n` runs, and their description.
struct Plan {
    pairs: Pairs,
    samples: u64,
    exhaustive: bool,
    words: String,
}

fn plan(n: usize, opts: &ConstructOptions, depth: Depth) -> Plan {
    let full = depth.full();
    if full && n <= EXHAUSTIVE_MAX_N {
        return Plan {
            pairs: Pairs::All(n),
            samples: 0,
            exhaustive: true,
            words: format!(
                "every pair (x, y) of {n}-bit strings ({} instances)",
                1u64 << (2 * n)
            ),
        };
    }
    let mut xs = vec![vec![false; n], vec![true; n]];
    if full {
        xs.push((0..n).map(|i| i % 2 == 0).collect());
        xs.push((0..n).map(|i| i % 2 == 1).collect());
    }
    let samples = if full { opts.samples } else { 0 };
    let words = format!(
        "for {} strings x (0…0, 1…1{}): y = x, y = ¬x and y = x with one bit flipped at {}{}",
        xs.len(),
        if full { ", 1010…, 0101…" } else { "" },
        indices_words(n, depth, "positions"),
        if full {
            format!(
                ", plus {samples} random Eq-random instances (seed {})",
                opts.seed
            )
        } else {
            String::new()
        }
    );
    Plan {
        pairs: Pairs::Structured {
            xs,
            flips: indices(n, depth),
        },
        samples,
        exhaustive: false,
        words,
    }
}

/// Verifies `model` (built for `n`) at `prec` on the plan's instances.
fn verify(
    model: &Model,
    prec: &Precision,
    n: usize,
    opts: &ConstructOptions,
    p: &Plan,
    stop: bool,
) -> Result<Tally, InputError> {
    let task = task(n)?;
    let tokens = |x: &[bool], y: &[bool]| bits_to_tokens(&task, x, y);
    let (pairs, count) = (p.pairs.iter(), p.pairs.len());
    verify_pairs(
        model, prec, &task, pairs, count, tokens, p.samples, opts, stop,
    )
}

/// `ccsep construct equality --n N`: builds the Thm 6 Transformer for `n` bits per party with
/// codes of margin `opts.gamma`, and verifies it at `opts.precision` (default: the derivation's
/// [`design_precision`]) — on every pair for `n ≤ 8`, else on the structured worst cases plus
/// `opts.samples` random instances.
pub fn construct(opts: &ConstructOptions) -> Result<Construction, InputError> {
    let n = opts.n;
    check_n(n)?;
    let (codes, gamma) = sign_codes(n + 1, opts.gamma, opts.seed)?;
    let k = codes.cols();
    let prec = resolve(opts.precision, 2 * n + 1, || design_precision(n, k, gamma))?;
    let design = Design::new(n, codes, &prec)?;
    build_and_verify(&design, &prec, opts, Depth::Full)
}

fn build_and_verify(
    design: &Design,
    prec: &Precision,
    opts: &ConstructOptions,
    depth: Depth,
) -> Result<Construction, InputError> {
    let n = design.n;
    let p = plan(n, opts, depth);
    refuse_work(
        "equality",
        n,
        p.pairs.len() + p.samples,
        design.work(),
        design.setup_work(),
        opts,
    )?;
    let model = design.model()?;
    let t = verify(&model, prec, n, opts, &p, depth.stops())?;
    let k = design.codes.cols();
    let details = json!({
        "code_length_k": k,
        "code_rows": design.codes.rows(),
        "gamma": opts.gamma,
        "worst_inner_product": design.gamma,
        "eta": design.eta,
        "score_scale": score_scale(prec, k).ok(),
        "hard_gap": hard_gap(prec, 2 * n + 1, 1.0 / (8.0 * (n * ALPHABET) as f64)),
        "threshold": design.threshold,
        "positions": 2 * n + 1,
        "saturated_roundings": t.saturated,
        "layout": design.layout().to_json(),
        "seed": opts.seed,
    });
    Ok(finish(
        "equality",
        RESULT,
        n,
        model,
        prec,
        p.words,
        p.exhaustive,
        &t,
        details,
    ))
}

/// The smallest `d_model × bits` found at `opts.n` (see `search_sizes`): the code
/// candidates are [`codes`] at the margins [`GAMMAS`] (the model of a point is rebuilt by
/// `ccsep construct equality --n N --gamma γ --precision P`, with γ in the report's details).
/// The other bound: an RNN needs `m·p ≥ n` (Thm 11, one-way CC of EQ_n).
pub fn smallest(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    let n = opts.n;
    check_n(n)?;
    let len = 2 * n + 1;
    let rows = n + 1;
    let f_min = ((len as f64).log2().floor() as u32).saturating_sub(1);
    let k_guess = 4 * ((rows as f64).log2().ceil() as usize + 2);
    let probe = Design {
        n,
        alphabet: ALPHABET,
        codes: Matrix::zeros(rows, k_guess),
        gamma: 0.0,
        eta: 0.0,
        threshold: 0.0,
    };
    refuse_search(
        "equality",
        60.0,
        probe.work() * plan(n, opts, Depth::Screen).pairs.len() as f64 + probe.setup_work(),
        probe.work() * (plan(n, opts, Depth::Search).pairs.len() + opts.samples) as f64
            + probe.setup_work(),
        opts,
    )?;
    let candidates = code_candidates(rows, opts.seed);
    let width = |c: &CodeCandidate| c.codes.cols() + 2 * ALPHABET + 3;
    let hint = |c: &CodeCandidate, f: u32| integer_bits_hint(f, c.codes.cols(), c.worst);
    let trial = |c: &CodeCandidate, prec: &Precision, full: bool| {
        let Ok(design) = Design::new(n, c.codes.clone(), prec) else {
            return Ok(None);
        };
        let opts = ConstructOptions {
            gamma: c.gamma,
            ..opts.clone()
        };
        build_and_verify(&design, prec, &opts, Depth::of_trial(full)).map(Some)
    };
    let (size, c) = search_sizes(
        "equality",
        n,
        candidates,
        f_min,
        width,
        1,
        hint,
        trial,
        &opts.progress,
    )?;
    Ok(SizePoint::of(
        &c.report,
        size,
        n as f64,
        format!("RNN: m·p ≥ n = {n} bits (Thm 11: its state is a one-way message for EQ_{n})"),
    ))
}

/// The code margins the size searches try, loosest first (shortest codes first).
pub const GAMMAS: [f64; 19] = [
    0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15,
    0.1, 0.05,
];

/// One code a size search tries: [`codes`] at margin `gamma`.
pub(crate) struct CodeCandidate {
    /// The margin asked of [`codes`].
    pub gamma: f64,
    /// The codes, entries ±1, one row per position (or pair).
    pub codes: Matrix,
    /// The codes' worst normalised inner product (at most `gamma`).
    pub worst: f64,
}

/// The codes at each margin of [`GAMMAS`] (entries ±1), skipping a margin whose code is no
/// longer than the previous one's; computed lazily, so a search that stops early never builds
/// the long codes.
pub(crate) fn code_candidates(
    rows: usize,
    seed: u64,
) -> impl Iterator<Item = Result<CodeCandidate, InputError>> {
    let mut last = 0;
    GAMMAS
        .into_iter()
        .filter_map(move |gamma| match sign_codes(rows, gamma, seed) {
            Err(e) => Some(Err(e)),
            Ok((codes, worst)) if codes.cols() > last => {
                last = codes.cols();
                Some(Ok(CodeCandidate {
                    gamma,
                    codes,
                    worst,
                }))
            }
            Ok(_) => None,
        })
}

/// A size-search trial's outcome in words, for progress lines.
pub(crate) fn trial_outcome(r: &Result<Option<Construction>, InputError>) -> String {
    match r {
        Ok(Some(c)) if c.report.correct => format!(
            "correct on {} instances, {} saturated roundings",
            c.report.instances,
            saturated(c)
        ),
        Ok(Some(c)) if c.report.instances == 0 => c.report.first_error.clone().unwrap_or_default(),
        Ok(Some(c)) => format!(
            "wrong ({} errors in {} instances, {} saturated roundings)",
            c.report.errors,
            c.report.instances,
            saturated(c)
        ),
        Ok(None) => "the design refuses this precision".into(),
        Err(e) => format!("error: {e}"),
    }
}

/// The roundings of a construction's verification that saturated (its report's
/// `saturated_roundings`; 0 when it does not say).
fn saturated(c: &Construction) -> u64 {
    c.report.details["saturated_roundings"]
        .as_u64()
        .unwrap_or(0)
}

/// How far below its integer-bits hint [`search_sizes`] still tries a code that can only beat
/// the best size with fewer integer bits than the hint says. On the equality and disjointness
/// curves to `n = 4096` the hint was 0 (16 searches), 1 (9) or 2 (1) bits above the integer
/// bits found, and the curves came out the same with and without this skip.
const HINT_SLACK: u32 = 2;

/// Largest integer or extra fraction bits [`search_sizes`] tries.
const BITS_MAX: u32 = 24;

/// Refuses a size search whose trials (`trials` of `trial` operations each) and final
/// verification (`full`) would not finish in a few minutes (ten times the work limit of
/// `opts`), or whose final verification alone [`refuse_work`] would refuse (before any trial
/// runs).
pub(crate) fn refuse_search(
    name: &str,
    trials: f64,
    trial: f64,
    full: f64,
    opts: &ConstructOptions,
) -> Result<(), InputError> {
    let limit = work_limit(opts);
    if full > limit {
        return Err(InputError::new(format!(
            "the {name} size search's final verification costs about {full:.1e} operations (limit {limit:.0e}, about {} on two cores); lower --n or --samples, or raise --max-work",
            minutes(limit)
        )));
    }
    let work = trials * trial + full;
    if work > 10.0 * limit {
        return Err(InputError::new(format!(
            "the {name} size search costs about {work:.1e} operations (limit {:.0e}: ten times --max-work); lower --n or --samples, or raise --max-work",
            10.0 * limit
        )));
    }
    Ok(())
}

/// The integer bits that hold the largest pre-scale score `g·√k/(1 − γ)` of a hard head at
/// `F` fraction bits (rounding to nearest): where [`search_sizes`] starts looking.
pub(crate) fn integer_bits_hint(frac_bits: u32, k: usize, gamma: f64) -> u32 {
    let g = (f64::from(frac_bits) + 1.0) * std::f64::consts::LN_2;
    let top = g * (k as f64).sqrt() / (1.0 - gamma).max(1e-3) + 2.0;
    (top.log2().floor() as u32 + 1).clamp(1, BITS_MAX)
}

/// The smallest `width(c) · heads · (1 + I + F)` found over the candidates `c` (in order of
/// increasing width) and `fixed:I.F` with `F ≥ f_min`. For each candidate: the fewest fraction
/// bits `F` for which some `I ≤ 24` that could still beat the best size passes the screen
/// (`trial(c, prec, false)`, [`Depth::Screen`]: the structured worst cases at up to
/// [`SCREEN_INDICES`] indices, stopping at the first error; `None` when the design refuses the
/// precision), the fewest such `I` (starting at `hint(c, F)`, stepping down while correct, else
/// bisecting upwards), and then the full verification (`trial(c, prec, true)`,
/// [`Depth::Search`]) at that `I` or, where it fails, at up to three more integer bits. A size
/// counts only once it passed the full verification. It stops at the first candidate too wide
/// to beat the best size.
/// The bisection assumes more integer bits never hurt at a fixed `F` (the weights do not
/// change, only the range grows); the full verification does not rely on it.
/// Once a size is found, a candidate whose `hint(c, F)` exceeds the most integer bits that could
/// still beat it by more than [`HINT_SLACK`] is dropped without a trial: the hint grows with `F`
/// (a finer grid needs a larger temperature to keep the softmax hard, so larger scores) and that
/// cap shrinks. This is a heuristic that saves the wider codes' hopeless trials (each costs
/// `O(T²)` at length `T` for the position-only attention); it may miss a smaller size, never
/// admits a wrong one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn search_sizes<C>(
    name: &str,
    n: usize,
    candidates: impl Iterator<Item = Result<C, InputError>>,
    f_min: u32,
    width: impl Fn(&C) -> usize,
    heads: usize,
    hint: impl Fn(&C, u32) -> u32,
    trial: impl Fn(&C, &Precision, bool) -> Result<Option<Construction>, InputError>,
    progress: &Progress,
) -> Result<(u64, Construction), InputError> {
    let passes = |c: &C, i: u32, f: u32, full: bool| -> Result<Option<Construction>, InputError> {
        let prec = fixed(i, f)?;
        let out = progress.timed(
            || {
                format!(
                    "{name} n = {n}: width {} at {} ({})",
                    width(c),
                    prec.name(),
                    if full { "full verification" } else { "screen" }
                )
            },
            || trial(c, &prec, full),
            trial_outcome,
        )?;
        Ok(out.filter(|c| c.report.correct))
    };
    let correct = |c: &C, i: u32, f: u32| Ok::<bool, InputError>(passes(c, i, f, false)?.is_some());
    let mut best: Option<(u64, Construction)> = None;
    let mut failed = Vec::new();
    for cand in candidates {
        let cand = cand?;
        let w = (width(&cand) * heads) as u64;
        let beats = |size: u64, best: &Option<(u64, Construction)>| {
            best.as_ref().is_none_or(|(b, _)| size < *b)
        };
        if !beats(w * u64::from(2 + f_min), &best) {
            break;
        }
        for f in f_min..=f_min + BITS_MAX {
            // The most integer bits that can still beat the best size.
            let cap = match &best {
                None => BITS_MAX,
                Some((b, _)) => {
                    (((b - 1) / w).saturating_sub(1 + u64::from(f)) as u32).min(BITS_MAX)
                }
            };
            if cap < 1 {
                break;
            }
            let needs = hint(&cand, f);
            if best.is_some() && needs > cap + HINT_SLACK {
                // The hint only grows with F and the cap only shrinks: no F left for this code.
                progress.say(|| {
                    format!(
                        "{name} n = {n}: width {} skipped from fixed:·.{f} on: it needs about {needs} integer bits, at most {cap} could beat the best size",
                        width(&cand)
                    )
                });
                break;
            }
            let start = needs.clamp(1, cap);
            let found = if correct(&cand, start, f)? {
                let mut i = start;
                while i > 1 && correct(&cand, i - 1, f)? {
                    i -= 1;
                }
                Some(i)
            } else if start < cap && correct(&cand, cap, f)? {
                let (mut lo, mut hi) = (start, cap);
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2;
                    if correct(&cand, mid, f)? {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                Some(hi)
            } else {
                None
            };
            let Some(i_min) = found else { continue };
            progress.say(|| {
                format!(
                    "{name} n = {n}: width {} at F = {f}: fewest integer bits {i_min} (hint {needs})",
                    width(&cand)
                )
            });
            let mut accepted = false;
            for i in i_min..=(i_min + 3).min(cap) {
                match passes(&cand, i, f, true)? {
                    Some(c) => {
                        best = Some((w * u64::from(1 + i + f), c));
                        accepted = true;
                        break;
                    }
                    None => failed.push(format!("width {} at fixed:{i}.{f}", w / heads as u64)),
                }
            }
            if accepted {
                break;
            }
        }
    }
    best.ok_or_else(|| {
        InputError::new(format!(
            "{name}: no correct size found at n = {n} (failed the full verification: {failed:?})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(n: usize) -> ConstructOptions {
        ConstructOptions {
            n,
            samples: 200,
            ..ConstructOptions::default()
        }
    }

    #[test]
    fn a_long_verification_says_how_many_instances_it_has_checked() {
        use std::sync::{Arc, Mutex};
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        let o = ConstructOptions {
            samples: 5000,
            // A count after every batch of `CHUNK` instances instead of every 30 s.
            progress: Progress::to(move |l| sink.lock().unwrap().push(l.to_string()))
                .every(Duration::ZERO),
            ..opts(64)
        };
        let c = construct(&o).unwrap();
        let total = c.report.instances;
        let counts: Vec<u64> = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let (done, rest) = l.trim().split_once(" of ")?;
                assert!(
                    rest.starts_with(&format!("{total} instances checked, 0 wrong (")),
                    "{l}"
                );
                done.parse().ok()
            })
            .collect();
        let batches = (1..).map(|b| b * CHUNK as u64).take_while(|&c| c < total);
        assert_eq!(counts, batches.collect::<Vec<u64>>());
    }

    #[test]
    fn exhaustive_small_n_is_correct() {
        for n in [1, 2, 3, 5, 6] {
            let c = construct(&opts(n)).unwrap();
            let r = &c.report;
            assert!(r.correct, "n = {n}: {:?}", r.first_error);
            assert!(r.exhaustive);
            assert_eq!(r.instances, 1 << (2 * n));
            assert_eq!((r.heads, r.layers), (1, 2));
        }
    }

    #[test]
    fn larger_n_on_worst_cases_and_samples() {
        let c = construct(&opts(24)).unwrap();
        assert!(c.report.correct, "{:?}", c.report.first_error);
        assert!(!c.report.exhaustive);
        assert_eq!(c.report.instances, 4 * 26 + 200);
    }

    #[test]
    fn the_model_agrees_with_a_lone_forward_pass() {
        let c = construct(&opts(3)).unwrap();
        let (model, prec) = (c.model.unwrap(), c.precision.unwrap());
        let task = task(3).unwrap();
        for text in ["010|010", "010|011", "111|110", "000|000"] {
            let tokens = task.vocab().parse(text).unwrap();
            let inputs = task.embed_one_hot(&tokens).unwrap();
            let trace = model
                .forward(&inputs, &prec, &mut Stats::default())
                .unwrap();
            let equal = text[..3] == text[4..];
            assert_eq!(decode(trace.outputs.last().unwrap()), equal, "{text}");
        }
    }

    fn design(n: usize, prec: &Precision) -> Design {
        let (codes, _) = sign_codes(n + 1, 0.25, 0).unwrap();
        Design::new(n, codes, prec).unwrap()
    }

    fn check(d: &Design, prec: &Precision) -> Tally {
        let p = plan(d.n, &opts(d.n), Depth::Full);
        verify(&d.model().unwrap(), prec, d.n, &opts(d.n), &p, false).unwrap()
    }

    #[test]
    fn screens_take_spread_indices_and_stop_at_the_first_error() {
        assert_eq!(indices(100, Depth::Screen), (0..100).collect::<Vec<_>>());
        assert_eq!(indices(1000, Depth::Search), (0..1000).collect::<Vec<_>>());
        let spread = indices(1000, Depth::Screen);
        assert_eq!(spread.len(), SCREEN_INDICES);
        assert_eq!((spread[0], spread[SCREEN_INDICES - 1]), (0, 999));
        assert!(spread.windows(2).all(|w| w[0] < w[1]));
        // A threshold of 0 reads every equal pair as unequal: the screen stops after its first
        // batch, the full verification counts every error.
        let prec = fixed(10, 12).unwrap();
        let mut d = design(300, &prec);
        d.threshold = 0.0;
        let o = ConstructOptions {
            samples: 3000,
            ..opts(300)
        };
        let run = |depth: Depth| {
            let p = plan(300, &o, depth);
            verify(&d.model().unwrap(), &prec, 300, &o, &p, depth.stops()).unwrap()
        };
        let (full, search) = (run(Depth::Full), run(Depth::Search));
        assert_eq!(full.instances, 4 * 302 + 3000);
        assert!(full.errors > search.errors && search.errors > 0);
        assert!(search.instances < full.instances, "{search:?}");
        let screen_size = 2 * (SCREEN_INDICES as u64 + 2);
        assert_eq!(plan(300, &o, Depth::Screen).pairs.len(), screen_size);
        let screen = run(Depth::Screen);
        assert!(
            screen.errors > 0 && screen.instances < screen_size,
            "{screen:?}"
        );
    }

    #[test]
    fn eta_too_small_is_caught() {
        let prec = fixed(8, 6).unwrap();
        let mut d = design(4, &prec);
        assert_eq!(check(&d, &prec).errors, 0);
        d.eta = 0.5;
        let t = check(&d, &prec);
        assert!(t.errors > 0 && t.first_error.is_some(), "{t:?}");
    }

    #[test]
    fn a_perturbed_code_row_is_caught() {
        let prec = fixed(8, 6).unwrap();
        let mut d = design(4, &prec);
        // Pair 2's second-half position now carries pair 0's code: it compares the wrong bits.
        let row0 = d.codes.row(0).to_vec();
        for (e, v) in row0.into_iter().enumerate() {
            d.codes.set(2, e, v);
        }
        let t = check(&d, &prec);
        assert!(t.errors > 0, "{t:?}");
        assert!(t.first_error.unwrap().contains("->"));
    }

    #[test]
    fn a_wrong_threshold_is_caught() {
        let prec = fixed(8, 6).unwrap();
        let mut d = design(4, &prec);
        d.threshold *= 3.0;
        let t = check(&d, &prec);
        assert!(t.errors > 0, "one mismatch must read as unequal: {t:?}");
        d.threshold = 0.0;
        let t = check(&d, &prec);
        assert!(t.errors > 0, "no mismatch must read as equal: {t:?}");
    }

    #[test]
    fn too_few_fraction_bits_fail_verification() {
        // fixed:8.1 rounds 1/T to 0 for T = 9: the design refuses it with a reason.
        let e = Design::new(4, sign_codes(5, 0.25, 0).unwrap().0, &fixed(8, 1).unwrap());
        assert!(e.unwrap_err().message.contains("fraction bits"));
        // Enough fraction bits for 1/T but too few integer bits for the scores: wrong answers.
        let prec = fixed(2, 5).unwrap();
        let d = design(4, &prec);
        assert!(check(&d, &prec).errors > 0);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(construct(&opts(0)).is_err());
        assert!(
            construct(&ConstructOptions {
                gamma: 1.5,
                ..opts(4)
            })
            .is_err()
        );
        let huge = ConstructOptions {
            samples: u64::MAX / 2,
            ..opts(64)
        };
        assert!(construct(&huge).unwrap_err().message.contains("operations"));
    }

    #[test]
    fn smallest_is_correct_rebuildable_and_one_bit_less_fails() {
        let o = opts(4);
        let s = smallest(&o).unwrap();
        assert!(s.correct);
        assert_eq!(s.size_bits, s.width as u64 * u64::from(s.bits_per_number));
        assert_eq!(s.other_bound_bits, 4.0);
        let Format::Fixed {
            int_bits,
            frac_bits,
        } = Precision::parse(&s.precision).unwrap().format()
        else {
            panic!("fixed point")
        };
        // The candidate of that width rebuilds the point through `construct`.
        let cand = code_candidates(5, o.seed)
            .map(Result::unwrap)
            .find(|c| c.codes.cols() + 2 * ALPHABET + 3 == s.width)
            .unwrap();
        let rebuilt = construct(&ConstructOptions {
            gamma: cand.gamma,
            precision: Some(Precision::parse(&s.precision).unwrap()),
            ..o.clone()
        })
        .unwrap();
        assert!(rebuilt.report.correct && rebuilt.report.width == s.width);
        // One bit fewer, integer or fraction, fails (or is refused by the design).
        let fewer = [
            int_bits.checked_sub(1).map(|i| (i, frac_bits)),
            frac_bits.checked_sub(1).map(|f| (int_bits, f)),
        ];
        for (i, f) in fewer.into_iter().flatten() {
            let prec = fixed(i, f).unwrap();
            if let Ok(d) = Design::new(4, cand.codes.clone(), &prec) {
                assert!(check(&d, &prec).errors > 0, "{} also works", prec.name());
            }
        }
    }
}
