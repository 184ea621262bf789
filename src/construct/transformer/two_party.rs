//! The two-party two-layer Transformer of Thm 6 (equality) and Thm 13 (disjointness), built
//! once and parameterised by its [`Comparison`]. Both read the task's one-hot tokens
//! `x_0 … x_{n−1} | y_0 … y_{n−1}` (`T = 2n + 1` positions) with a table of ±1 codes:
//!
//! - layer 1 (the comparison's own): hard attention on the codes brings the two bits of each
//!   index `i` to one position, and an MLP writes their comparison into the `compared` block
//!   (`[x_i ≠ y_i]` for equality, `x_i ∧ y_i` for disjointness) — 0 at every other position;
//! - layer 2 (shared): zero queries, so uniform weights `p = round(1/T)` over all positions,
//!   reading `compared` into its mean `p · #{i : compared}`;
//! - head (shared): `p̂ − 2·mean` with `p̂ = round(1/T)`, positive exactly when no index
//!   compared true (decoded as "equal", "disjoint").
//!
//! The temperature `η` of layer 1 is derived the same way for both (the score gap that makes
//! the softmax exactly hard at the precision, plus the rounding slack); so are the precision the
//! derivation asks for, the verification through the task's own tokens, the refusal estimates,
//! the report and the size search.

use std::marker::PhantomData;

use serde_json::json;

use super::super::kit::budget::{OPS_PER_POSITION, refuse_search, refuse_work};
use super::super::kit::grid::{
    fixed_point, given_or_design, hard_gap, round_up, score_scale, step_at, uniform_weight,
};
use super::super::kit::residual::Residual;
use super::super::kit::search::{
    CodeCandidate, SizeSearch, code_candidates, integer_bits_hint, search_sizes,
};
use super::super::kit::tally::{Depth, Stop, Tally, bit_case, tally};
use super::super::vectors::{sign_codes, worst_inner};
use super::super::{Built, ConstructOptions, SizePoint};
use super::{CAUSAL, Verified, finish};
use crate::error::{InputError, Setting};
use crate::model::{Block, Linear, Matrix, Model, PosCode, Transformer};
use crate::numeric::Precision;
use crate::task::{Task, Token, example_rng};

/// Largest `n` (bits per party) checked on every pair `(x, y)`: `4^8 = 65536` instances.
pub const EXHAUSTIVE_MAX_N: usize = 8;

/// Largest `n` accepted (the positional table has `2n + 1` rows).
pub const MAX_N: usize = 1 << 15;

/// What one two-party construction compares, and everything of it that is not shared: its
/// names, codes, first layer, instances and bound.
pub trait Comparison: Sized {
    /// The construction's name and the paper's result it realises.
    const NAME: &'static str;
    const RESULT: &'static str;
    /// Heads of the model (layer 2 uses the first; the others are idle).
    const HEADS: usize;
    /// The block layer 1 writes the comparison of index `i` into, and the block of its mean.
    const COMPARED: &'static str;
    const MEAN: &'static str;
    /// The task the model reads.
    type Task: Task;
    /// The pairs of a verification.
    type Pairs: PairFamily;

    /// Code rows for `n` bits per party, and the formula in words (for an error).
    fn code_rows(n: usize) -> usize;
    const CODE_ROWS: &'static str;
    /// The error when two codes coincide or are opposite.
    fn codes_collide(n: usize, k: usize, gamma: f64) -> InputError;
    /// The total weight a float format may leak past a hard head.
    fn leak(n: usize) -> f64;
    /// The residual stream's named blocks for codes of length `k`; it ends with
    /// [`Comparison::COMPARED`] and [`Comparison::MEAN`].
    fn layout(k: usize) -> Residual;
    /// The embedding, the positional table and layer 1 of `design`, on `res`.
    fn first_layer(
        design: &Design<Self>,
        res: &Residual,
    ) -> Result<(Matrix, Matrix, Block), InputError>;
    /// The task at `n` bits per party, and a pair `(x, y)` as its tokens.
    fn task(n: usize) -> Result<Self::Task, InputError>;
    fn tokens(task: &Self::Task, x: &[bool], y: &[bool]) -> Vec<Token>;
    /// The instances a verification at `n` runs at `depth`.
    fn plan(n: usize, opts: &ConstructOptions, depth: Depth) -> Plan<Self::Pairs>;
    /// Figures of the report's details beyond the shared ones.
    fn details(n: usize) -> serde_json::Value;
    /// The lower bound set beside a size point, in bits, and what it is.
    fn other_bound(n: usize) -> (f64, String);
}

/// A family of pairs `(x, y)`, made as they are checked.
pub trait PairFamily {
    /// How many pairs the family holds.
    fn count(&self) -> u64;
    /// The pairs, made one at a time.
    fn iter(&self) -> Box<dyn Iterator<Item = (Vec<bool>, Vec<bool>)> + '_>;
}

/// The instances a verification runs, and their description.
pub struct Plan<P> {
    pub pairs: P,
    pub samples: u64,
    pub exhaustive: bool,
    pub words: String,
}

/// The design of one two-party Transformer: everything its weights are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Design<C> {
    /// Bits per party (`N = 2n` symbols, `T = 2n + 1` positions).
    pub n: usize,
    /// The codes, one per row, entries ±1 ([`Comparison::code_rows`] of them).
    pub codes: Matrix,
    /// The worst normalised inner product `max_{i≠j} |<T(i), T(j)>| / k` of the codes.
    pub gamma: f64,
    /// The query scale of layer 1 (a weight of `W_q`, on the precision's grid).
    pub eta: f64,
    /// The head's bias `p̂ = round(1/T)`: the uniform attention weight of layer 2.
    pub threshold: f64,
    comparison: PhantomData<C>,
}

impl<C: Comparison> Design<C> {
    /// The design for `n` bits per party at `prec` with the given ±1 codes. Fails when a code
    /// row is repeated (γ ≥ 1) or when the precision rounds `1/√k` or `1/T` to zero, with what
    /// to change.
    pub fn new(n: usize, codes: Matrix, prec: &Precision) -> Result<Self, InputError> {
        check_n::<C>(n)?;
        let rows = C::code_rows(n);
        if codes.rows() != rows || codes.cols() == 0 {
            return Err(InputError::new(format!(
                "{}: need {} = {rows} code rows of length ≥ 1, got {}×{}",
                C::NAME,
                C::CODE_ROWS,
                codes.rows(),
                codes.cols()
            )));
        }
        let k = codes.cols();
        let gamma = worst_inner(&codes) / k as f64;
        if gamma >= 1.0 {
            return Err(C::codes_collide(n, k, gamma));
        }
        let len = 2 * n + 1;
        let c = score_scale(prec, k)?;
        let g = hard_gap(prec, len, C::leak(n));
        // The gap of the rounded scores loses at most one grid step at the score's magnitude
        // per rounding (two roundings of each of two scores).
        let nominal = g / (c * k as f64 * (1.0 - gamma));
        let slack = 4.0 * step_at(prec, nominal * k as f64 * c);
        let eta = round_up(prec, (g + slack) / (c * k as f64 * (1.0 - gamma)));
        let threshold = uniform_weight(prec, len)?;
        Ok(Design {
            n,
            codes,
            gamma,
            eta,
            threshold,
            comparison: PhantomData,
        })
    }

    /// The residual stream's named blocks.
    pub fn layout(&self) -> Residual {
        C::layout(self.codes.cols())
    }

    /// The Transformer (causal, no layer norm) with these constants: the comparison's first
    /// layer, then the shared uniform mean and threshold.
    pub fn model(&self) -> Result<Model, InputError> {
        let res = self.layout();
        let d = res.dim();
        let (embed, pos, layer1) = C::first_layer(self, &res)?;
        // Layer 2: head 1 uniform over the comparison, the other heads idle.
        let mut v2 = Matrix::zeros(C::HEADS, d);
        res.set_row(&mut v2, 0, C::COMPARED, &[1.0]);
        let mut o2 = Matrix::zeros(d, C::HEADS);
        res.set_col(&mut o2, 0, C::MEAN, &[1.0]);
        let layer2 = Block {
            ln1: None,
            q: Linear::new(Matrix::zeros(C::HEADS, d), None)?,
            k: Linear::new(Matrix::zeros(C::HEADS, d), None)?,
            v: Linear::new(v2, None)?,
            o: Linear::new(o2, None)?,
            ln2: None,
            mlp: None,
        };
        let mut head = Matrix::zeros(1, d);
        res.set_row(&mut head, 0, C::MEAN, &[-2.0]);
        let tr = Transformer::new(
            Linear::new(embed, None)?,
            PosCode::Table(pos),
            vec![layer1, layer2],
            None,
            Some(Linear::new(head, Some(vec![self.threshold]))?),
            C::HEADS,
            CAUSAL,
        )?;
        Ok(Model::Transformer(tr))
    }

    /// A design of code length `k` with no constants, for the refusal estimates.
    fn probe(n: usize, k: usize) -> Self {
        Design {
            n,
            codes: Matrix::zeros(C::code_rows(n), k),
            gamma: 0.0,
            eta: 0.0,
            threshold: 0.0,
            comparison: PhantomData,
        }
    }

    /// Operations of one instance through `final_outputs_flat` (for the refusal estimate):
    /// about [`OPS_PER_POSITION`] per position (the fast pass keeps about a dozen rows there,
    /// of a few weights each, each rounded), whatever the code length.
    fn work(&self) -> f64 {
        (2 * self.n + 1) as f64 * OPS_PER_POSITION
    }

    /// Operations computed once per verification: each layer-1 head's position-only attention
    /// weights, `T²/2` scores of `k` multiply-adds (vectorised: `k/8`) and the softmax's passes
    /// over each (about 6).
    fn setup_work(&self) -> f64 {
        let t = (2 * self.n + 1) as f64;
        C::HEADS as f64 * t * t / 2.0 * (self.codes.cols() as f64 / 8.0 + 6.0)
    }
}

fn check_n<C: Comparison>(n: usize) -> Result<(), InputError> {
    if (1..=MAX_N).contains(&n) {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "{}: {} is the bits per party, between 1 and {MAX_N}; got {n}",
            C::NAME,
            Setting::N
        )))
    }
}

/// The precision the derivation asks for at `n` with codes of length `k` and worst inner
/// product `gamma`: `F = ⌈log2 T⌉ + 1` fraction bits (so `round(1/T)` is within a quarter of
/// `1/T`) and the integer bits that hold the largest pre-scale score `η·k` and the softmax
/// normaliser `T`.
pub fn design_precision(n: usize, k: usize, gamma: f64) -> Result<Precision, InputError> {
    let len = 2 * n + 1;
    let f = (len as f64).log2().ceil() as u32 + 1;
    let holds_len = (len as f64 + 1.0).log2().ceil() as u32;
    fixed_point(integer_bits_hint(f, k, gamma).max(holds_len).max(2), f)
}

/// Verifies `model` (built for `n`) at `prec` on the plan's instances.
pub(crate) fn verify<C: Comparison>(
    model: &Model,
    prec: &Precision,
    n: usize,
    opts: &ConstructOptions,
    p: &Plan<C::Pairs>,
    stop: Stop,
) -> Result<Tally, InputError> {
    let task = C::task(n)?;
    let inst = PairInstances {
        task: &task,
        pairs: p.pairs.iter(),
        count: p.pairs.count(),
        tokens: |x: &[bool], y: &[bool]| C::tokens(&task, x, y),
        samples: p.samples,
    };
    verify_pairs(model, prec, inst, opts, stop)
}

/// `ccsep construct NAME --n N`: builds the design for `n` bits per party with codes of margin
/// `opts.gamma`, and verifies it at `opts.precision` (default: the derivation's
/// [`design_precision`]) — on every pair for `n ≤ 8`, else on the structured worst cases plus
/// `opts.samples` random instances.
pub fn construct<C: Comparison>(opts: &ConstructOptions) -> Result<Built, InputError> {
    let n = opts.n;
    check_n::<C>(n)?;
    let (codes, gamma) = sign_codes(C::code_rows(n), opts.gamma, opts.seed)?;
    let k = codes.cols();
    let prec = given_or_design(opts.precision, 2 * n + 1, || design_precision(n, k, gamma))?;
    let design = Design::<C>::new(n, codes, &prec)?;
    build_and_verify(&design, &prec, opts, Depth::Full)
}

pub(crate) fn build_and_verify<C: Comparison>(
    design: &Design<C>,
    prec: &Precision,
    opts: &ConstructOptions,
    depth: Depth,
) -> Result<Built, InputError> {
    let n = design.n;
    let p = C::plan(n, opts, depth);
    refuse_work(
        C::NAME,
        n,
        p.pairs.count() + p.samples,
        design.work(),
        design.setup_work(),
        opts,
    )?;
    let model = design.model()?;
    let t = verify::<C>(&model, prec, n, opts, &p, depth.stop())?;
    let k = design.codes.cols();
    let mut details = json!({
        "code_length_k": k,
        "code_rows": design.codes.rows(),
        "gamma": opts.gamma,
        "worst_inner_product": design.gamma,
        "eta": design.eta,
        "score_scale": score_scale(prec, k).ok(),
        "hard_gap": hard_gap(prec, 2 * n + 1, C::leak(n)),
        "threshold": design.threshold,
        "positions": 2 * n + 1,
        "saturated_roundings": t.saturated,
        "layout": design.layout().to_json(),
        "seed": opts.seed,
    });
    if let (Some(all), serde_json::Value::Object(own)) = (details.as_object_mut(), C::details(n)) {
        all.extend(own);
    }
    Ok(finish(
        Verified {
            name: C::NAME,
            result: C::RESULT,
            n,
            verified_on: p.words,
            exhaustive: p.exhaustive,
            tally: &t,
            details,
        },
        model,
        prec,
    ))
}

/// The smallest `d_model × heads × bits` found at `opts.n` (see [`search_sizes`]): the code
/// candidates are `vectors::codes` at the margins `GAMMAS` (the model of a point is rebuilt by
/// `ccsep construct NAME --n N --gamma γ --precision P`, with γ in the report's details),
/// beside the comparison's [`Comparison::other_bound`].
pub fn smallest<C: Comparison>(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    let n = opts.n;
    check_n::<C>(n)?;
    let len = 2 * n + 1;
    let rows = C::code_rows(n);
    let f_min = ((len as f64).log2().floor() as u32).saturating_sub(1);
    let k_guess = 4 * ((rows as f64).log2().ceil() as usize + 2);
    let probe = Design::<C>::probe(n, k_guess);
    refuse_search(
        C::NAME,
        60.0,
        probe.work() * C::plan(n, opts, Depth::Screen).pairs.count() as f64 + probe.setup_work(),
        probe.work() * (C::plan(n, opts, Depth::Search).pairs.count() + opts.samples) as f64
            + probe.setup_work(),
        opts,
    )?;
    let candidates = code_candidates(rows, opts.seed);
    let width = |c: &CodeCandidate| C::layout(c.codes.cols()).dim();
    let hint = |c: &CodeCandidate, f: u32| integer_bits_hint(f, c.codes.cols(), c.worst);
    let trial = |c: &CodeCandidate, prec: &Precision, depth: Depth| {
        let Ok(design) = Design::<C>::new(n, c.codes.clone(), prec) else {
            return Ok(None);
        };
        let opts = ConstructOptions {
            gamma: c.gamma,
            ..opts.clone()
        };
        build_and_verify(&design, prec, &opts, depth).map(Some)
    };
    let search = SizeSearch {
        name: C::NAME,
        n,
        f_min,
        heads: C::HEADS,
        progress: &opts.progress,
    };
    let (size, c) = search_sizes(&search, candidates, width, hint, trial)?;
    let (bound_bits, bound) = C::other_bound(n);
    Ok(SizePoint::of(&c.report, size, bound_bits, bound))
}

/// Every pair `(x, y)` of `n`-bit strings (`4^n` of them), `x` major, bit `i` of a string
/// being bit `i` of its number.
pub(crate) fn all_pairs(n: usize) -> impl Iterator<Item = (Vec<bool>, Vec<bool>)> {
    let bits = move |v: u64| (0..n).map(|i| (v >> i) & 1 == 1).collect::<Vec<bool>>();
    let all = 1u64 << n;
    (0..all).flat_map(move |x| (0..all).map(move |y| (bits(x), bits(y))))
}

/// The instances of a two-party verification: `count` pairs `(x, y)`, each written as an
/// instance of `task` by `tokens`, then `samples` of the task's own random instances.
pub(crate) struct PairInstances<'a, T, I, F> {
    pub task: &'a T,
    pub pairs: I,
    pub count: u64,
    pub tokens: F,
    pub samples: u64,
}

/// Verifies `model` at `prec` on the instances of `inst` (random instance `i` drawn from
/// `example_rng(opts.seed, i)`): the [`tally`] of the verifications of equality and
/// disjointness, which differ only in their pairs and tokens.
pub(crate) fn verify_pairs<'a, T, I, F>(
    model: &Model,
    prec: &Precision,
    inst: PairInstances<'a, T, I, F>,
    opts: &ConstructOptions,
    stop: Stop,
) -> Result<Tally, InputError>
where
    T: Task,
    I: Iterator<Item = (Vec<bool>, Vec<bool>)> + 'a,
    F: Fn(&[bool], &[bool]) -> Vec<Token> + 'a,
{
    let PairInstances {
        task,
        pairs,
        count,
        tokens,
        samples,
    } = inst;
    let given = pairs.map(move |(x, y)| bit_case(task, tokens(&x, &y)));
    let seed = opts.seed;
    let random = (0..samples).map(move |i| {
        let ex = task.generate(&mut example_rng(seed, i));
        bit_case(task, ex.tokens)
    });
    tally(
        model,
        prec,
        given.chain(random),
        stop,
        count + samples,
        &opts.progress,
    )
}
