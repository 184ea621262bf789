//! **Index lookup, |Σ| = 2** ([`index_rnn`], [`index`]): `N` units form a rotating register.
//! A symbol token rotates the register by one and writes its bit into unit 0, so after the
//! `N` symbols unit `j` holds `s_{N−1−j}`; the query `@q` rotates once more and zeroes every
//! unit but `(N − q) mod N`, which then holds `s_q`; the head sums the units. The weights have
//! `O(N)` nonzeros (an input bias of −1 does the zeroing; the query column only touches unit
//! 0 and unit `(N − q) mod N`) and are held sparse (`SparseMatrix`), so the model takes
//! `O(N)` memory and a step `O(N)` time, bit for bit the dense model's. State `N`
//! numbers of 2 bits (`fixed:1.0`): `m·p = 2N`, against Thm 3's `m·p ≥ N`, so Thm 3 is tight
//! up to the sign bit. Verified on all `2^N` strings × `N` queries for `N ≤ 16`; beyond, on the
//! strings with at most one 1 or at most one 0 and seeded random strings, every query, with
//! the weights checked to be exact after rounding (which the proof needs). Where the whole
//! family exceeds the work limit [`MAX_INDEX_WORK`], a seeded sample of it is run and every
//! report says "sampled" ([`index_plan`]); from `N = 2^14` even the smallest sample, one
//! block of 16 strings, exceeds it and is run all the same up to [`MAX_INDEX_BLOCK_WORK`]
//! (`N = 2^16`, about 20 CPU-minutes); wider is refused.
//!
//! [`index_smallest`]: the smallest fixed-point precision at which the construction is correct
//! at length `N`, beside Thm 3's bound.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::json;

use super::super::kit::tally::Stop;
use super::super::{Built, ConstructOptions, SizePoint};
use super::{
    RnnCheck, RnnReport, Trial, choose_precision, one_hot, rnn_built, size_bits, weights_exact,
};
use crate::error::InputError;
use crate::model::decode;
use crate::model::{
    Arith, Cell, Linear, Matrix, Model, Nonlinearity, Prepared, RecurrentLayer, Rnn, SparseMatrix,
};
use crate::numeric::{Precision, Stats};
use crate::task::{IndexLookup, MAX_LENGTH, Task, Token};

/// Largest `N` at which [`index`] runs all `2^N` strings × `N` queries.
pub const INDEX_EXHAUSTIVE_MAX: usize = 16;

/// Most multiply-add equivalents the index RNN's check may take (its estimate, with the
/// sparse step, [`index_plan`]): about a minute of two cores (the full check at `N = 1024`,
/// 4.5e10, took 89 CPU-seconds). Beyond it the check runs a sample.
pub const MAX_INDEX_WORK: f64 = 5e10;

/// Most work of the smallest sample, one block of 16 strings, which the check runs even over
/// [`MAX_INDEX_WORK`] (from `N = 2^14`): 1.2e12, so that the size curve can reach `N = 2^16`
/// (9.6e11); beyond it the width is refused. Measured (see `index_step_work`): `2^14` took
/// 62 CPU-seconds, `2^15` 281; `2^16` should take about 20 CPU-minutes, of which the `N`
/// symbol steps (half) run on one core and the `N` queries on all of them, so about fifteen
/// minutes on two free cores.
pub const MAX_INDEX_BLOCK_WORK: f64 = 1.2e12;

/// Most memory the index RNN may hold while it is checked: 4 GiB, within a CI runner and
/// leaving room on a 24 GiB machine. With its weights held sparse the model and its check grow
/// as `N` (`INDEX_BYTES_PER_UNIT` a unit), so every width up to the task's limit
/// (`MAX_LENGTH = 2^20`) fits, which the assertion below keeps true; nothing checks it at run
/// time, and the work limits refuse far earlier.
pub const MAX_INDEX_MEMORY: f64 = 4.0 * GIB;

const _: () = assert!(INDEX_BYTES_PER_UNIT * MAX_LENGTH as f64 <= MAX_INDEX_MEMORY);

const GIB: f64 = (1u64 << 30) as f64;

/// `Prepared::run_many`'s `outputs` argument: the output at the last input too (a query).
const WITH_OUTPUTS: bool = true;

/// `Prepared::run_many`'s `outputs` argument: the states only (the symbols before a query).
const STATES_ONLY: bool = false;

/// Strings a block of lanes runs together (`model::LANES`): the smallest sample worth running.
const LANES_PER_BLOCK: u64 = 16;

/// Strings run through the model at once in the index check (bounds memory).
const INDEX_CHUNK: usize = 64;

/// The width-`n` rotating-register RNN for index lookup over |Σ| = 2 (inputs: the one-hot
/// tokens `0`, `1`, `@0 … @{n−1}` of `IndexLookup::new(2, n)`), with `O(n)` nonzero weights,
/// all in {−1, 0, 1}. Unit `j` computes `ReLU(h_{(j−1) mod n} + u_j(x) − [j ≥ 1])` (the `−1` is
/// the input bias `b_ih`), where the symbol columns give `u_j(0) = [j ≥ 1]`,
/// `u_j(1) = 1`, and the query column of `@q`, with `j* = (n − q) mod n`, gives
/// `u_j(@q) = [j = j* ≥ 1] − [j = 0 ≠ j*]`: a symbol shifts the register and writes its bit into
/// unit 0 (every other unit's `+1 − 1` cancels), a query keeps unit `j*` alone (its `+1`
/// cancels its bias; unit 0's bias is 0, so it gets the `−1` unless `j* = 0`). The head is
/// `Σ_j h_j`. `W_hh` (`n` ones) and `W_ih` (`4n − 3` nonzeros) are held sparse
/// (`SparseMatrix`: only their nonzeros, bit for bit the dense product). Errors for `n = 0` or
/// `n` beyond the task's limit (every width within it fits [`MAX_INDEX_MEMORY`]), checked
/// before anything is allocated.
pub fn index_rnn(n: usize) -> Result<Model, InputError> {
    let task = IndexLookup::new(2, n)?;
    let (zero, one) = (task.symbol(0) as usize, task.symbol(1) as usize);
    let mut ih = Vec::with_capacity(4 * n);
    ih.push((0, one, 1.0));
    for j in 1..n {
        ih.push((j, zero, 1.0));
        ih.push((j, one, 1.0));
    }
    for q in 0..n {
        let j = (n - q) % n;
        if j != 0 {
            let col = task.position(q) as usize;
            ih.push((j, col, 1.0));
            ih.push((0, col, -1.0));
        }
    }
    let w_ih = SparseMatrix::from_entries(n, task.vocab().len(), ih)?;
    let w_hh = SparseMatrix::from_entries(n, n, (0..n).map(|j| (j, (j + n - 1) % n, 1.0)))?;
    let b_ih = (0..n).map(|j| if j == 0 { 0.0 } else { -1.0 }).collect();
    let head = Linear::new(Matrix::new(1, n, vec![1.0; n])?, None)?;
    let layer = RecurrentLayer {
        w_ih: w_ih.into(),
        w_hh: w_hh.into(),
        b_ih: Some(b_ih),
        b_hh: None,
    };
    Ok(Model::Rnn(Rnn::new(
        vec![layer],
        Nonlinearity::Relu,
        Some(head),
    )?))
}

/// Bytes per unit the index RNN's check holds beyond the exhaustive range (the exhaustive
/// check's `2^N` states of `N` numbers add at most 16 MiB, at `N = 16`): the model and its prepared copy (about `4N` + `N` stored weights at 12
/// bytes, row starts, bias and head: about 190 bytes a unit), and the check's buffers, which
/// dominate: [`INDEX_CHUNK`] strings of `N` symbols (512 bytes a unit), and per block of 16
/// strings in flight and per share of its queries a state, an input, a hidden vector and a
/// workspace in lane layout (about 768 bytes a unit each); rounded up. Measured peaks: 40 MiB
/// at `N = 2^14`, 73 MiB at `2^15` (about 2.3 KiB a unit).
const INDEX_BYTES_PER_UNIT: f64 = 4096.0;

/// What the index RNN's check found.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexCheck {
    /// (string, query) instances run through the model.
    pub instances: u64,
    /// Instances whose decoded answer differs from the task's label.
    pub errors: u64,
    /// The first wrong instance's tokens.
    pub first_error: Option<Vec<Token>>,
    /// All `2^N × N` instances were run.
    pub exhaustive: bool,
    /// Strings run, each with every query: all `2^N` when exhaustive; otherwise the strings of
    /// the family of `2N + 2` with at most one 1 or at most one 0 that were run
    /// (`family_strings`), then the random ones.
    pub strings: u64,
    /// Strings of the `2N + 2` family run (0 when exhaustive).
    pub family_strings: u64,
    /// Only a seeded sample of the family (and of the random strings asked for) fitted the
    /// work limit ([`index_plan`]): the check did not run the whole family the proof's premise
    /// check uses. Never true when exhaustive.
    pub sampled: bool,
    /// The sample is one block of 16 strings run over [`MAX_INDEX_WORK`] (within
    /// [`MAX_INDEX_BLOCK_WORK`]): the least the check runs.
    pub over_limit: bool,
    /// Rounding to the precision left every weight unchanged.
    pub weights_exact: bool,
    /// The model's rounding events during the check.
    pub stats: Stats,
}

/// Which strings the index check runs beyond `N = INDEX_EXHAUSTIVE_MAX`.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexPlan {
    /// Indices into the family of `2N + 2` strings (`index_family_string`), ascending: all
    /// of them, or a seeded sample.
    pub family: Vec<usize>,
    /// Seeded random strings.
    pub random: u64,
    /// Fewer family or random strings than the full check (the family and `samples`).
    pub sampled: bool,
    /// Even the smallest sample, one block of 16 strings, exceeds the sampled work limit; it
    /// is run because it fits the one-block limit ([`MAX_INDEX_BLOCK_WORK`]).
    pub over_limit: bool,
}

/// The `i`-th string of the family of `2N + 2` (`i < 2N + 2`): all 0s, all 1s, then for each
/// position `p` the string with a single 1 at `p` and the one with a single 0 at `p`.
fn index_family_string(n: usize, i: usize) -> Vec<usize> {
    match i {
        0 => vec![0; n],
        1 => vec![1; n],
        _ => {
            let (p, single_one) = ((i - 2) / 2, i.is_multiple_of(2));
            let mut s = vec![usize::from(!single_one); n];
            s[p] = usize::from(single_one);
            s
        }
    }
}

/// Multiply-add equivalents per string and step of the index check: the weights are held
/// sparse, so a step is `O(N)`: the products over `W_hh`'s `N` and `W_ih`'s `4N` stored
/// entries, and the elementwise work around them (rounding, bias, add, ReLU, state copies).
/// Counted as `7N`, the unit the limits are set in: measured on the sparse model
/// (`ccsep construct index-rnn`, blocks of 16 strings), about `9·10^8` of them take one
/// CPU-second (`N = 2^13`: 53 strings, `5·10^10`, 50 CPU-seconds; `N = 2^14`: 16 strings,
/// `6·10^10`, 62; `N = 2^15`: `2.4·10^11`, 281).
fn index_step_work(n: usize) -> f64 {
    7.0 * n as f64
}

/// The work estimate of the exhaustive check (`n ≤ INDEX_EXHAUSTIVE_MAX`): about `2 · 2^N`
/// prefix steps and `2^N · N` query steps.
fn index_exhaustive_work(n: usize) -> f64 {
    let count = (1u64 << n) as f64;
    (2.0 * count + count * n as f64) * index_step_work(n)
}

/// The work estimate of one string beyond the exhaustive range: `N` symbol steps and `N`
/// query steps (each query is one step from the stored state).
fn index_string_work(n: usize) -> f64 {
    2.0 * n as f64 * index_step_work(n)
}

/// The strings to check at `n > INDEX_EXHAUSTIVE_MAX` within `max_work`: the whole family of
/// `2N + 2` and `samples` random strings when they fit; otherwise a sample: the budget of
/// `max_work / index_string_work(n)` strings goes to the family first up to half of it (more
/// if fewer random strings were asked for), the rest to random strings, and the family's
/// strings are a seeded uniform sample (`seed`, drawn after the random strings from the same
/// generator, so the random strings are the same as in a full check). Where the budget is less
/// than one block of 16 strings, one block is run all the same if it fits `block_work` (the
/// smallest sample: 8 family strings and 8 random ones when `samples ≥ 8`); errors when not
/// even that fits (lower N).
pub fn index_plan(
    n: usize,
    samples: u64,
    seed: u64,
    max_work: f64,
    block_work: f64,
) -> Result<IndexPlan, InputError> {
    let family = 2 * n + 2;
    let per_string = index_string_work(n);
    let full = (family as f64 + samples as f64) * per_string;
    if full <= max_work {
        return Ok(IndexPlan {
            family: (0..family).collect(),
            random: samples,
            sampled: false,
            over_limit: false,
        });
    }
    let mut budget = (max_work / per_string).floor() as u64;
    // Not even one block fits the work limit: the block runs up to a limit of its own.
    let over_limit = budget < LANES_PER_BLOCK;
    if over_limit {
        let block = LANES_PER_BLOCK as f64 * per_string;
        if block > block_work {
            let mut fits = n;
            while fits > 1 && LANES_PER_BLOCK as f64 * index_string_work(fits) > block_work {
                fits /= 2;
            }
            return Err(InputError::new(format!(
                "index-rnn at N = {n}: even the smallest sample, one block of {LANES_PER_BLOCK} \
                 strings, needs about {block:.1e} multiply-adds (limit {block_work:.1e} for one \
                 block, about 20 CPU-minutes); lower N (N = {fits} fits)"
            )));
        }
        budget = LANES_PER_BLOCK;
    }
    let from_family = (family as u64).min((budget / 2).max(budget.saturating_sub(samples)));
    let random = samples.min(budget - from_family);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..random {
        for _ in 0..n {
            rng.random_bool(0.5);
        }
    }
    let mut picked = rand::seq::index::sample(&mut rng, family, from_family as usize).into_vec();
    picked.sort_unstable();
    Ok(IndexPlan {
        family: picked,
        random,
        sampled: true,
        over_limit,
    })
}

/// What every query on some strings found; merged in a fixed order (the first error is the
/// first one of the earliest part).
#[derive(Clone, Debug, Default, PartialEq)]
struct QueryTally {
    instances: u64,
    errors: u64,
    first_error: Option<Vec<Token>>,
    stats: Stats,
}

impl QueryTally {
    fn merge(&mut self, other: QueryTally) {
        self.instances += other.instances;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.stats.merge(other.stats);
    }
}

/// Every query on a block of at most 16 strings (`strings[b]` in lane `b`), through the
/// prepared model's own step and head exactly as `Prepared::run_many` runs them (inputs
/// rounded, `Cell::step_lanes` on lane layout from the zero state, the head on the last hidden
/// vector: the same bits and counts), but keeping the block's state in lane layout between
/// steps instead of copying it in and out of a call per step: the `N` symbol steps, then from
/// that state one step and output per query, the queries split among threads (in order when
/// merged). A one-hot input's zeros round to themselves and count nothing, so its rounding is
/// that of the value 1, counted once per lane and step. With [`Stop::AtFirstError`] each share of the
/// queries stops at its first error. Order of the instances: query by query, lane by lane.
fn index_block(
    cell: &dyn Cell,
    ar: &Arith,
    task: &IndexLookup,
    strings: &[Vec<usize>],
    stop: Stop,
) -> Result<QueryTally, InputError> {
    let (n, l) = (task.length(), strings.len());
    let (width, inputs, hidden) = (cell.state_size(), cell.input_size(), cell.hidden_size());
    let mut tally = QueryTally::default();
    let mut one_stats = Stats::default();
    let one = ar.round(1.0, &mut one_stats);
    let lanes_stats = |stats: &mut Stats| (0..l).for_each(|_| stats.merge(one_stats));
    let symbols = [task.symbol(0) as usize, task.symbol(1) as usize];
    let mut state = vec![0.0; width * l];
    let mut x = vec![0.0; inputs * l];
    let mut h = vec![0.0; hidden * l];
    let mut ws = Default::default();
    for t in 0..n {
        for (b, s) in strings.iter().enumerate() {
            let bit = usize::from(s[t] != 0);
            x[symbols[bit] * l + b] = one;
            x[symbols[1 - bit] * l + b] = 0.0;
        }
        lanes_stats(&mut tally.stats);
        cell.step_lanes(ar, &mut state, &x, l, &mut h, &mut ws, &mut tally.stats);
    }
    drop((x, h, ws));
    let threads = rayon::current_num_threads().max(1);
    let share = n.div_ceil(4 * threads).max(1);
    let shares: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(share)
        .map(|q| q..(q + share).min(n))
        .collect();
    let state = &state;
    let parts: Vec<Result<QueryTally, InputError>> = shares
        .into_par_iter()
        .map(|range| {
            let mut part = QueryTally::default();
            let mut tokens = strings
                .iter()
                .map(|s| task.sequence(s, 0))
                .collect::<Result<Vec<_>, _>>()?;
            let mut st = vec![0.0; width * l];
            let mut x = vec![0.0; inputs * l];
            let mut h = vec![0.0; hidden * l];
            let mut ws = Default::default();
            let mut out = Vec::new();
            let mut lane_out = Vec::new();
            for q in range {
                let col = task.position(q) as usize;
                x[col * l..(col + 1) * l].fill(one);
                lanes_stats(&mut part.stats);
                st.copy_from_slice(state);
                cell.step_lanes(ar, &mut st, &x, l, &mut h, &mut ws, &mut part.stats);
                x[col * l..(col + 1) * l].fill(0.0);
                match cell.head() {
                    Some(head) => {
                        out.resize(head.out_size() * l, 0.0);
                        head.apply(ar, &h, l, &mut out, &mut part.stats);
                    }
                    None => out.clone_from(&h),
                }
                for (b, tok) in tokens.iter_mut().enumerate() {
                    lane_out.clear();
                    lane_out.extend(out.iter().skip(b).step_by(l));
                    tok[n] = task.position(q);
                    let want = task.label(tok)?;
                    let got = u32::from(decode(&lane_out));
                    part.instances += 1;
                    if !matches!(want, crate::task::Label::Symbol { token, .. } if token == got) {
                        part.errors += 1;
                        part.first_error.get_or_insert_with(|| tok.clone());
                        if stop == Stop::AtFirstError {
                            return Ok(part);
                        }
                    }
                }
            }
            Ok(part)
        })
        .collect();
    for part in parts {
        tally.merge(part?);
    }
    Ok(tally)
}

/// Runs every query from each state in `states` (state `i` after `strings[i]`) and compares the
/// decoded answer with the task's label.
fn index_queries(
    prepared: &Prepared,
    task: &IndexLookup,
    states: &[Vec<f64>],
    strings: &[Vec<usize>],
    check: &mut IndexCheck,
    stop: Stop,
    stats: &mut Stats,
) -> Result<(), InputError> {
    let n = task.length();
    for q in 0..n {
        let x = [one_hot(task.vocab(), task.position(q))?];
        let starts: Vec<&[f64]> = states.iter().map(Vec::as_slice).collect();
        let ins: Vec<&[Vec<f64>]> = vec![&x[..]; states.len()];
        let outs = prepared.run_many(&starts, &ins, WITH_OUTPUTS, stats)?;
        for (s, (_, out)) in strings.iter().zip(outs) {
            let tokens = task.sequence(s, q)?;
            let want = task.label(&tokens)?;
            let got = u32::from(out.as_deref().is_some_and(decode));
            check.instances += 1;
            if !matches!(want, crate::task::Label::Symbol { token, .. } if token == got) {
                check.errors += 1;
                check.first_error.get_or_insert(tokens);
                if stop == Stop::AtFirstError {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Checks an index-lookup model over |Σ| = 2 at length `n` and `prec` with its own rounded
/// steps: all `2^n` strings × `n` queries for `n ≤ 16` (prefix tree, one step per node);
/// otherwise every query on the strings [`index_plan`] picks within [`MAX_INDEX_WORK`]: the
/// `2n + 2` strings with at most one 1 or at most one 0 and `samples` seeded random strings,
/// or, where those do not fit, a seeded sample of both (`sampled`), at least one block of 16
/// (within [`MAX_INDEX_BLOCK_WORK`]). These run in blocks of 16 lanes through the model's own
/// step and head (`index_block`); the first error reported is the first in block order, then
/// query, then lane. With [`Stop::AtFirstError`] it returns at the first error (for the precision
/// search). Errors when the model does not read the task's inputs or not even one block fits
/// the block limit (lower N).
pub fn verify_index(
    model: &Model,
    n: usize,
    prec: &Precision,
    samples: u64,
    seed: u64,
    stop: Stop,
) -> Result<IndexCheck, InputError> {
    verify_index_within(
        model,
        n,
        prec,
        samples,
        seed,
        stop,
        (MAX_INDEX_WORK, MAX_INDEX_BLOCK_WORK),
    )
}

/// [`verify_index`] with the work limits `(max_work, block_work)` of [`index_plan`] (tests use
/// small ones).
fn verify_index_within(
    model: &Model,
    n: usize,
    prec: &Precision,
    samples: u64,
    seed: u64,
    stop: Stop,
    (max_work, block_work): (f64, f64),
) -> Result<IndexCheck, InputError> {
    let task = IndexLookup::new(2, n)?;
    let exhaustive = n <= INDEX_EXHAUSTIVE_MAX;
    let plan = if exhaustive {
        let work = index_exhaustive_work(n);
        if work > max_work {
            return Err(InputError::new(format!(
                "index-rnn at N = {n}: the exhaustive check needs about {work:.1e} \
                 multiply-adds (limit {max_work:.0e}, about a minute); lower N"
            )));
        }
        None
    } else {
        Some(index_plan(n, samples, seed, max_work, block_work)?)
    };
    let mut stats = Stats::default();
    let prepared = model.prepare(prec, &mut stats)?;
    let cell = prepared.model().cell().ok_or_else(|| {
        InputError::new("a Transformer has no state to run; the index check needs an RNN")
    })?;
    let mut check = IndexCheck {
        instances: 0,
        errors: 0,
        first_error: None,
        exhaustive,
        strings: 0,
        family_strings: 0,
        sampled: plan.as_ref().is_some_and(|p| p.sampled),
        over_limit: plan.as_ref().is_some_and(|p| p.over_limit),
        weights_exact: prepared.model() == model,
        stats: Stats::default(),
    };
    match plan {
        None => index_exhaustive(&prepared, cell, &task, &mut check, stop, &mut stats)?,
        Some(plan) => {
            let tally = index_planned(&prepared, cell, &task, &plan, seed, &mut check, stop)?;
            check.instances = tally.instances;
            check.errors = tally.errors;
            check.first_error = tally.first_error;
            stats.merge(tally.stats);
        }
    }
    check.stats = stats;
    Ok(check)
}

/// All `2^n` strings × `n` queries: the states of every prefix, level by level (one step per
/// node of the prefix tree), then every query from every state ([`index_queries`]).
fn index_exhaustive(
    prepared: &Prepared,
    cell: &dyn Cell,
    task: &IndexLookup,
    check: &mut IndexCheck,
    stop: Stop,
    stats: &mut Stats,
) -> Result<(), InputError> {
    let n = task.length();
    let symbols = [
        one_hot(task.vocab(), task.symbol(0))?,
        one_hot(task.vocab(), task.symbol(1))?,
    ];
    // Level t holds the states after every t-symbol prefix; index bit i is s_i.
    let mut states = vec![vec![0.0; cell.state_size()]];
    for _ in 0..n {
        let mut next = Vec::with_capacity(2 * states.len());
        for x in &symbols {
            let x = std::slice::from_ref(x);
            let starts: Vec<&[f64]> = states.iter().map(Vec::as_slice).collect();
            let ins: Vec<&[Vec<f64>]> = vec![x; states.len()];
            next.extend(
                prepared
                    .run_many(&starts, &ins, STATES_ONLY, stats)?
                    .into_iter()
                    .map(|(s, _)| s),
            );
        }
        states = next;
    }
    let strings: Vec<Vec<usize>> = (0..1usize << n)
        .map(|x| (0..n).map(|i| x >> i & 1).collect())
        .collect();
    check.strings = strings.len() as u64;
    index_queries(prepared, task, &states, &strings, check, stop, stats)?;
    Ok(())
}

/// The strings of `plan` (its family strings, then its seeded random ones) × every query, in
/// blocks of [`LANES_PER_BLOCK`] lanes ([`index_block`]), the blocks of a chunk in parallel
/// and merged in order; the counts and roundings are the returned tally's.
fn index_planned(
    prepared: &Prepared,
    cell: &dyn Cell,
    task: &IndexLookup,
    plan: &IndexPlan,
    seed: u64,
    check: &mut IndexCheck,
    stop: Stop,
) -> Result<QueryTally, InputError> {
    let n = task.length();
    let mut strings: Vec<Vec<usize>> = plan
        .family
        .iter()
        .map(|&i| index_family_string(n, i))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..plan.random {
        strings.push((0..n).map(|_| usize::from(rng.random_bool(0.5))).collect());
    }
    check.family_strings = plan.family.len() as u64;
    check.strings = strings.len() as u64;
    if cell.input_size() != task.vocab().len() {
        return Err(InputError::new(format!(
            "the model reads {} numbers a step; index lookup at N = {n} has {} tokens",
            cell.input_size(),
            task.vocab().len()
        )));
    }
    let mut tally = QueryTally::default();
    for chunk in strings.chunks(INDEX_CHUNK) {
        let blocks: Vec<&[Vec<usize>]> = chunk.chunks(LANES_PER_BLOCK as usize).collect();
        let parts: Vec<Result<QueryTally, InputError>> = blocks
            .into_par_iter()
            .map(|b| index_block(cell, prepared.arith(), task, b, stop))
            .collect();
        for part in parts {
            tally.merge(part?);
        }
        if stop == Stop::AtFirstError && tally.errors > 0 {
            break;
        }
    }
    Ok(tally)
}

/// No error, and every string covered: run exhaustively, or by the proof, whose premise (the
/// weights exact after rounding) was checked. A sampled check can be correct in this sense; it
/// says `sampled` wherever it is reported.
fn index_correct(c: &IndexCheck) -> bool {
    c.errors == 0 && (c.exhaustive || c.weights_exact)
}

/// What the index check ran, in words (the report's `verified_on`).
fn index_verified_on(c: &IndexCheck, n: usize, opts: &ConstructOptions) -> String {
    let exact = if c.weights_exact {
        "they are"
    } else {
        "they are not"
    };
    if c.exhaustive {
        format!("all 2^{n} strings × {n} queries, run through the model")
    } else if c.sampled {
        let limit = if c.over_limit {
            "the full family exceeds the work limit at this N, and so does this smallest \
             sample, one block of 16 strings, which runs up to a limit of its own"
        } else {
            "the full family exceeds the work limit at this N"
        };
        format!(
            "sampled ({limit}): every query on {} \
             strings run through the model: {} of the {} with at most one 1 or at most one 0 \
             (a seeded sample) and {} seeded random ones (seed {}); all 2^{n} strings by the \
             proof in proofs/dyck-rnn.md, which needs the weights exact after rounding ({exact}), \
             but its family was not run in full",
            c.strings,
            c.family_strings,
            2 * n + 2,
            c.strings - c.family_strings,
            opts.seed,
        )
    } else {
        format!(
            "every query on {} strings run through the model: the {} with at most one 1 or at \
             most one 0, and {} seeded random ones (seed {}); all 2^{n} strings by the proof in \
             proofs/dyck-rnn.md, which needs the weights exact after rounding ({exact})",
            c.strings,
            2 * n + 2,
            opts.samples,
            opts.seed,
        )
    }
}

/// `ccsep construct index-rnn --n N [--precision P] [--samples S] [--seed X]`: builds the
/// width-`N` index RNN ([`index_rnn`]) and checks it ([`verify_index`]) at `P`, or at the
/// smallest fixed-point format found correct when no precision is given (the search's last,
/// error-free check at that format is the final one: a check that stops at the first error
/// and finds none ran everything; beyond the exhaustive range a format that changes a weight
/// is not run, since the check could not be correct there). Refuses before building when not
/// even one block of 16 strings fits [`MAX_INDEX_BLOCK_WORK`].
pub fn index(opts: &ConstructOptions) -> Result<Built, InputError> {
    let n = opts.n;
    IndexLookup::new(2, n)?;
    if n <= INDEX_EXHAUSTIVE_MAX {
        let work = index_exhaustive_work(n);
        if work > MAX_INDEX_WORK {
            return Err(InputError::new(format!(
                "index-rnn at N = {n}: the exhaustive check needs about {work:.1e} \
                 multiply-adds (limit {MAX_INDEX_WORK:.0e}, about a minute); lower N"
            )));
        }
    } else {
        index_plan(
            n,
            opts.samples,
            opts.seed,
            MAX_INDEX_WORK,
            MAX_INDEX_BLOCK_WORK,
        )?;
    }
    let model = index_rnn(n)?;
    let mut last: Option<(Precision, IndexCheck)> = None;
    let (prec, search) = choose_precision("index-rnn", opts, |p| {
        // Beyond the exhaustive range `index_correct` needs the weights exact after rounding:
        // a format that changes one is not correct, whatever the run would find, so it is not
        // run (at `N = 2^16` that run alone would take minutes).
        if n > INDEX_EXHAUSTIVE_MAX && !weights_exact(&model, p)? {
            return Ok(Trial::NotRun("a weight changes when rounded"));
        }
        let c = verify_index(&model, n, p, opts.samples, opts.seed, Stop::AtFirstError)?;
        let ok = index_correct(&c);
        last = Some((*p, c));
        Ok(Trial::of(ok))
    })?;
    let c = match last {
        Some((p, c)) if p == prec && c.errors == 0 => c,
        _ => verify_index(&model, n, &prec, opts.samples, opts.seed, Stop::Never)?,
    };
    let task = IndexLookup::new(2, n)?;
    let verified_on = index_verified_on(&c, n, opts);
    let check = RnnCheck {
        correct: index_correct(&c),
        verified_on,
        exhaustive: c.exhaustive,
        instances: c.instances,
        errors: c.errors,
        first_error: c.first_error.as_ref().map(|s| task.vocab().render(s)),
    };
    let r = RnnReport {
        name: "index-rnn",
        result: "Thm 3 is tight: m·p = O(N) suffices for index lookup",
        n,
        width: n,
        check,
        details: json!({
            "nonlinearity": "relu",
            "alphabet": 2,
            "layout": "unit j holds s_{N−1−j} after the N symbols; the query @q leaves s_q in unit (N − q) mod N",
            "thm3_lower_bound_bits": n,
            "strings_run": c.strings,
            "family_strings_run": c.family_strings,
            "sampled": c.sampled,
            "sample_over_work_limit": c.over_limit,
            "weights_exact": c.weights_exact,
            "saturated": c.stats.saturated,
            "nan": c.stats.nan,
            "precision_search": search,
        }),
    };
    Ok(rnn_built(r, model, prec))
}

/// The index RNN's size at length `N`: width `N` at the smallest fixed-point precision found
/// correct (or the requested one). `other_bound_bits` is `N`, the RNN lower bound of Thm 3
/// itself (`m·p ≥ N`), which this construction meets up to the sign bit; the other
/// architecture, the one-layer Transformer, has an *upper* bound here (Thm 1: `m, p =
/// O(log N)`), not a lower one.
pub fn index_smallest(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    let c = index(opts)?;
    let n = opts.n;
    let size = size_bits(&c.report);
    Ok(SizePoint::of(
        &c.report,
        size,
        n as f64,
        format!(
            "Thm 3's RNN lower bound m·p ≥ N = {n} bits (one-way INDEX_N), shown for comparison: \
             the 1-layer Transformer's side is an upper bound (Thm 1, m, p = O(log N)), not a \
             lower bound"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::dyck::{MAX_DYCK_N, dyck};
    use super::*;
    use crate::model::Weight;
    use crate::numeric::Accumulate;

    fn p(s: &str) -> Precision {
        Precision::parse(s).unwrap()
    }

    fn with_layer(model: &Model, edit: impl FnOnce(&mut RecurrentLayer)) -> Model {
        let Model::Rnn(rnn) = model else {
            unreachable!("an RNN")
        };
        let mut layers = rnn.layers().to_vec();
        edit(&mut layers[0]);
        Model::Rnn(Rnn::new(layers, Nonlinearity::Relu, rnn.head().cloned()).unwrap())
    }

    #[test]
    fn index_rnn_is_exhaustively_correct_at_two_bits() {
        for n in [1, 2, 5, 9] {
            let model = index_rnn(n).unwrap();
            let c = verify_index(&model, n, &p("fixed:1.0"), 0, 0, Stop::Never).unwrap();
            assert!(c.exhaustive && c.weights_exact);
            assert_eq!((c.instances, c.errors), ((1u64 << n) * n as u64, 0));
            assert_eq!(c.stats, Stats::default());
            let bad = verify_index(&model, n, &p("fixed:0.1"), 0, 0, Stop::Never).unwrap();
            assert!(bad.errors > 0);
        }
    }

    #[test]
    fn index_rnn_with_a_broken_weight_fails() {
        let n = 6;
        let model = index_rnn(n).unwrap();
        // Unit 3 forgets what unit 2 held.
        let broken = with_layer(&model, |l| l.w_hh.set(3, 2, 0.0).unwrap());
        let c = verify_index(&broken, n, &p("fixed:1.0"), 0, 0, Stop::Never).unwrap();
        assert!(c.errors > 0 && c.first_error.is_some());
        // The same break is caught by the single-1 family at a length beyond the exhaustive one.
        let n = 20;
        let broken = with_layer(&index_rnn(n).unwrap(), |l| l.w_hh.set(7, 6, 0.0).unwrap());
        let c = verify_index(&broken, n, &p("fixed:1.0"), 0, 0, Stop::Never).unwrap();
        assert!(!c.exhaustive && c.errors > 0);
    }

    /// Every nonzero weight of the index RNN (recurrent, input, bias) matters: setting any one
    /// of them to 0 is caught by the exhaustive check at `N = 5`, and the `−1` of unit 0 in a
    /// query column, the query's `+1` and a unit's bias by the family at `N = 20`.
    #[test]
    fn index_rnn_every_nonzero_weight_set_to_zero_is_caught() {
        let n = 5;
        let model = index_rnn(n).unwrap();
        let Model::Rnn(rnn) = &model else {
            unreachable!("an RNN")
        };
        let layer = &rnn.layers()[0];
        let prec = p("fixed:1.0");
        let mut breaks = 0;
        for (which, cols) in [("w_ih", n + 2), ("w_hh", n)] {
            for r in 0..n {
                for c in 0..cols {
                    let w = if which == "w_ih" {
                        &layer.w_ih
                    } else {
                        &layer.w_hh
                    };
                    if w.get(r, c).unwrap() == 0.0 {
                        continue;
                    }
                    let broken = with_layer(&model, |l| {
                        let m = if which == "w_ih" {
                            &mut l.w_ih
                        } else {
                            &mut l.w_hh
                        };
                        m.set(r, c, 0.0).unwrap();
                    });
                    let check = verify_index(&broken, n, &prec, 0, 0, Stop::Never).unwrap();
                    assert!(check.errors > 0, "{which}[{r}][{c}] = 0 not caught");
                    breaks += 1;
                }
            }
        }
        assert_eq!(breaks, (4 * n - 3) + n);
        for j in 1..n {
            let broken = with_layer(&model, |l| l.b_ih.as_mut().unwrap()[j] = 0.0);
            assert!(
                verify_index(&broken, n, &prec, 0, 0, Stop::Never)
                    .unwrap()
                    .errors
                    > 0
            );
        }
        let n = 20;
        let model = index_rnn(n).unwrap();
        let task = IndexLookup::new(2, n).unwrap();
        let q = 5;
        let col = task.position(q) as usize;
        type Edit = Box<dyn Fn(&mut RecurrentLayer)>;
        let edits: [(&str, Edit); 3] = [
            (
                "the −1 of unit 0 for @5",
                Box::new(move |l| l.w_ih.set(0, col, 0.0).unwrap()),
            ),
            (
                "the +1 of unit N − 5 for @5",
                Box::new(move |l| l.w_ih.set(n - q, col, 0.0).unwrap()),
            ),
            (
                "the bias of unit 9",
                Box::new(|l| l.b_ih.as_mut().unwrap()[9] = 0.0),
            ),
        ];
        for (what, edit) in edits {
            let broken = with_layer(&model, edit);
            let c = verify_index(&broken, n, &prec, 0, 0, Stop::Never).unwrap();
            assert!(!c.exhaustive && c.errors > 0, "{what} not caught");
        }
    }

    /// The construction's shape: `W_hh` is the rotation (`N` ones), `W_ih` has `4N − 3`
    /// nonzeros, all weights are in {−1, 0, 1}, both matrices are held sparse (also when
    /// prepared), and the model is the same matrix as its dense copy (`Weight` equality).
    #[test]
    fn index_rnn_is_sparse_with_entries_in_minus_one_zero_one() {
        for n in [1, 2, 7, 64] {
            let model = index_rnn(n).unwrap();
            let Model::Rnn(rnn) = &model else {
                unreachable!("an RNN")
            };
            let l = &rnn.layers()[0];
            let (Weight::Sparse(ih), Weight::Sparse(hh)) = (&l.w_ih, &l.w_hh) else {
                panic!("the index RNN's weights are held sparse")
            };
            assert_eq!((ih.nnz(), hh.nnz()), (4 * n - 3, n));
            for m in [ih, hh] {
                for r in 0..m.rows() {
                    assert!(m.row_entries(r).all(|(_, v)| v == 1.0 || v == -1.0));
                }
            }
            let bias = l.b_ih.as_ref().unwrap();
            assert!(bias[0] == 0.0 && bias[1..].iter().all(|&b| b == -1.0));
            for j in 0..n {
                assert_eq!(hh.get(j, (j + n - 1) % n), Some(1.0));
            }
            let prepared = model
                .prepare(&p("fixed:1.0"), &mut Stats::default())
                .unwrap();
            let Model::Rnn(prnn) = prepared.model() else {
                unreachable!("an RNN")
            };
            assert!(matches!(prnn.layers()[0].w_ih, Weight::Sparse(_)));
            assert!(matches!(prnn.layers()[0].w_hh, Weight::Sparse(_)));
            assert!(prepared.model() == &model);
        }
    }

    /// The index RNN with its weights held sparse and the same RNN with dense copies of them
    /// give the same check (instances, errors, first error, rounding counts) at several
    /// precisions, exhaustively and on samples, correct or broken.
    #[test]
    fn index_rnn_sparse_and_dense_copies_check_the_same() {
        let densify = |model: &Model| {
            with_layer(model, |l| {
                for w in [&mut l.w_ih, &mut l.w_hh] {
                    let mut d = Matrix::zeros(w.rows(), w.cols());
                    for r in 0..w.rows() {
                        for c in 0..w.cols() {
                            d.set(r, c, w.get(r, c).unwrap());
                        }
                    }
                    *w = d.into();
                }
            })
        };
        for n in [6, 20, 70] {
            let model = index_rnn(n).unwrap();
            let broken = with_layer(&model, |l| l.w_ih.set(0, 2 + n / 2, 0.0).unwrap());
            for m in [&model, &broken] {
                let dense = densify(m);
                assert!(matches!(
                    &dense,
                    Model::Rnn(r) if r.layers()[0].w_ih.as_dense().is_some()
                ));
                assert!(&dense == m);
                for spec in ["fixed:1.0", "fixed:0.1", "bf16", "f64"] {
                    let prec = p(spec);
                    let sparse = verify_index(m, n, &prec, 5, 2, Stop::Never).unwrap();
                    let dense = verify_index(&dense, n, &prec, 5, 2, Stop::Never).unwrap();
                    assert_eq!(sparse, dense, "N = {n} {spec}");
                }
            }
        }
    }

    /// The tally of `index_block` computed the slow way, through `Prepared::run_many` one call
    /// per step (symbols from the zero state, then one call per query), in the same order.
    fn tally_by_run_many(
        prepared: &Prepared,
        task: &IndexLookup,
        strings: &[Vec<usize>],
    ) -> QueryTally {
        let n = task.length();
        let vocab = task.vocab();
        let symbols = [
            one_hot(vocab, task.symbol(0)).unwrap(),
            one_hot(vocab, task.symbol(1)).unwrap(),
        ];
        let width = prepared.model().state_size().unwrap();
        let mut tally = QueryTally::default();
        let mut states = vec![vec![0.0; width]; strings.len()];
        for t in 0..n {
            let starts: Vec<&[f64]> = states.iter().map(Vec::as_slice).collect();
            let ins: Vec<&[Vec<f64>]> = strings
                .iter()
                .map(|s| std::slice::from_ref(&symbols[s[t]]))
                .collect();
            states = prepared
                .run_many(&starts, &ins, STATES_ONLY, &mut tally.stats)
                .unwrap()
                .into_iter()
                .map(|(s, _)| s)
                .collect();
        }
        for q in 0..n {
            let x = [one_hot(vocab, task.position(q)).unwrap()];
            let starts: Vec<&[f64]> = states.iter().map(Vec::as_slice).collect();
            let ins: Vec<&[Vec<f64>]> = vec![&x[..]; states.len()];
            let outs = prepared
                .run_many(&starts, &ins, WITH_OUTPUTS, &mut tally.stats)
                .unwrap();
            for (s, (_, out)) in strings.iter().zip(outs) {
                let tokens = task.sequence(s, q).unwrap();
                let want = task.label(&tokens).unwrap();
                let got = u32::from(out.as_deref().is_some_and(decode));
                tally.instances += 1;
                if !matches!(want, crate::task::Label::Symbol { token, .. } if token == got) {
                    tally.errors += 1;
                    tally.first_error.get_or_insert(tokens);
                }
            }
        }
        tally
    }

    /// The block driver of the sampled check (state kept in lane layout, queries split among
    /// threads, the input's rounding counted once per lane) gives exactly what `run_many`
    /// gives, one call per step: same answers, first error and rounding counts, for full and
    /// partial blocks, correct and broken models, at formats that saturate the inputs
    /// (`fixed:0.1`), round the weights (`fixed:0.1`, `e4m3`) or not, with both accumulations.
    #[test]
    fn index_block_driver_equals_run_many_step_by_step() {
        let n = 21;
        let task = IndexLookup::new(2, n).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let strings: Vec<Vec<usize>> = (0..16)
            .map(|i| match i {
                0..4 => index_family_string(n, i),
                _ => (0..n).map(|_| usize::from(rng.random_bool(0.5))).collect(),
            })
            .collect();
        let model = index_rnn(n).unwrap();
        let broken = with_layer(&model, |l| l.w_hh.set(4, 3, 0.0).unwrap());
        let biased = with_layer(&model, |l| l.b_ih.as_mut().unwrap()[2] = 0.5);
        for m in [&model, &broken, &biased] {
            for spec in ["fixed:1.0", "fixed:0.1", "fixed:2.3", "e4m3", "f64"] {
                for acc in [Accumulate::Wide, Accumulate::Format] {
                    let prec = p(spec).with_accumulate(acc);
                    let prepared = m.prepare(&prec, &mut Stats::default()).unwrap();
                    let cell = prepared.model().cell().unwrap();
                    for block in [&strings[..], &strings[..5], &strings[3..4]] {
                        let fast =
                            index_block(cell, prepared.arith(), &task, block, Stop::Never).unwrap();
                        let slow = tally_by_run_many(&prepared, &task, block);
                        assert_eq!(fast, slow, "{spec} {acc:?} {} lanes", block.len());
                        assert_eq!(fast.instances, (block.len() * n) as u64);
                    }
                }
            }
        }
        // The broken models are wrong somewhere, and `Stop::AtFirstError` stops there.
        let prepared = broken
            .prepare(&p("fixed:1.0"), &mut Stats::default())
            .unwrap();
        let cell = prepared.model().cell().unwrap();
        let all = index_block(cell, prepared.arith(), &task, &strings, Stop::Never).unwrap();
        let early =
            index_block(cell, prepared.arith(), &task, &strings, Stop::AtFirstError).unwrap();
        assert!(all.errors > 0 && early.errors >= 1 && early.instances < all.instances);
    }

    #[test]
    fn index_construction_reports_sizes_and_tight_bound() {
        let opts = ConstructOptions {
            n: 24,
            samples: 20,
            ..ConstructOptions::default()
        };
        let c = index(&opts).unwrap();
        let r = &c.report;
        assert!(r.correct && !r.exhaustive);
        assert_eq!(r.instances, (2 * 24 + 2 + 20) * 24);
        assert_eq!(r.precision.as_deref(), Some("fixed:1.0"));
        assert_eq!(r.state_bits, Some(48));
        // W_ih, W_hh, b_ih and the head, zeros included.
        assert_eq!(r.parameters, 24 * 26 + 24 * 24 + 24 + 24);
        // The search skipped the run at `fixed:0.1` (it rounds the weights, so it cannot be
        // correct beyond the exhaustive range) and found `fixed:1.0`.
        assert_eq!(
            r.details["precision_search"]["tried"],
            json!([
                { "precision": "fixed:0.1", "correct": false },
                { "precision": "fixed:1.0", "correct": true },
            ])
        );
        let point = index_smallest(&opts).unwrap();
        assert_eq!(
            (point.width, point.size_bits, point.other_bound_bits),
            (24, 48, 24.0)
        );
    }

    /// Where the family and the random strings do not fit the work limit the plan is a seeded
    /// sample (the same for the same seed, within the family, half the budget at least), and
    /// the check run on it says so; where they fit, the plan is all of them.
    #[test]
    fn index_check_samples_the_family_where_it_does_not_fit() {
        let n = 20;
        let per_string = index_string_work(n);
        let full = index_plan(n, 5, 1, 1e12, 1e12).unwrap();
        assert_eq!(full.family, (0..2 * n + 2).collect::<Vec<_>>());
        assert!(!full.sampled && full.random == 5);
        let max = 32.5 * per_string;
        let plan = index_plan(n, 100, 1, max, max).unwrap();
        assert!(plan.sampled && plan.family.len() == 16 && plan.random == 16);
        assert!(
            !full.over_limit && !plan.over_limit,
            "32 strings fit the limit"
        );
        assert!(plan.family.windows(2).all(|w| w[0] < w[1]) && plan.family[15] < 2 * n + 2);
        assert_eq!(plan, index_plan(n, 100, 1, max, max).unwrap());
        assert_ne!(plan.family, index_plan(n, 100, 2, max, max).unwrap().family);
        // Few random strings asked for: the family takes the rest of the budget.
        let plan = index_plan(n, 4, 1, max, max).unwrap();
        assert_eq!((plan.family.len(), plan.random), (28, 4));
        let model = index_rnn(n).unwrap();
        let c = verify_index_within(&model, n, &p("fixed:1.0"), 100, 1, Stop::Never, (max, max))
            .unwrap();
        assert!(c.sampled && !c.exhaustive && index_correct(&c));
        assert_eq!((c.family_strings, c.strings), (16, 32));
        assert_eq!(c.instances, 32 * n as u64);
        let opts = ConstructOptions {
            n,
            ..ConstructOptions::default()
        };
        let words = index_verified_on(&c, n, &opts);
        assert!(words.starts_with("sampled") && !words.contains("limit of its own"));
        // The broken register weight is still caught on the sample (the all-1 string and the
        // single-1 strings are not needed for it).
        let broken = with_layer(&model, |l| l.w_hh.set(7, 6, 0.0).unwrap());
        let c = verify_index_within(&broken, n, &p("fixed:1.0"), 100, 1, Stop::Never, (max, max))
            .unwrap();
        assert!(c.errors > 0);
        // A full check is not sampled.
        let c = verify_index(&model, n, &p("fixed:1.0"), 3, 1, Stop::Never).unwrap();
        assert!(!c.sampled && c.family_strings == 2 * n as u64 + 2);
        assert!(!index_verified_on(&c, n, &opts).contains("sampled"));
    }

    /// Over the sampled work limit, one block of 16 strings still runs while it fits the block
    /// limit (8 of the family and 8 random, or 16 of the family without random strings); beyond
    /// that the width is refused with the estimate and the largest width that fits. At the real
    /// limits `N = 2^14 … 2^16` run one block and `2^17` is refused.
    #[test]
    fn index_plan_runs_one_block_over_the_limit_up_to_the_block_limit() {
        let n = 40;
        let per_string = index_string_work(n);
        let plan = index_plan(n, 100, 3, 5.0 * per_string, 16.0 * per_string).unwrap();
        assert!(plan.sampled && plan.over_limit && (plan.family.len(), plan.random) == (8, 8));
        let model = index_rnn(n).unwrap();
        let limits = (5.0 * per_string, 16.0 * per_string);
        let c =
            verify_index_within(&model, n, &p("fixed:1.0"), 100, 3, Stop::Never, limits).unwrap();
        let opts = ConstructOptions {
            n,
            ..ConstructOptions::default()
        };
        assert!(c.over_limit && index_verified_on(&c, n, &opts).contains("limit of its own"));
        let plan = index_plan(n, 0, 3, 5.0 * per_string, 16.0 * per_string).unwrap();
        assert!(plan.sampled && (plan.family.len(), plan.random) == (16, 0));
        let err = index_plan(n, 100, 3, 5.0 * per_string, 15.0 * per_string)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{:.1e}", 16.0 * per_string))
                && err.contains("lower N (N = 20 fits)"),
            "{err}"
        );
        for e in 14..=16 {
            let plan = index_plan(1 << e, 1000, 0, MAX_INDEX_WORK, MAX_INDEX_BLOCK_WORK).unwrap();
            assert!(
                plan.sampled && plan.family.len() as u64 + plan.random == 16,
                "2^{e}"
            );
        }
        let err = index_plan(1 << 17, 1000, 0, MAX_INDEX_WORK, MAX_INDEX_BLOCK_WORK)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lower N (N = 65536 fits)"), "{err}");
        let opts = ConstructOptions {
            n: 1 << 17,
            ..ConstructOptions::default()
        };
        assert!(index(&opts).is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let zero = ConstructOptions {
            n: 0,
            ..ConstructOptions::default()
        };
        assert!(dyck(&zero).is_err() && index(&zero).is_err());
        // Beyond the task's limit (2^20) the task refuses the width before anything is built.
        let huge = ConstructOptions {
            n: (1 << 20) + 1,
            ..ConstructOptions::default()
        };
        assert!(index(&huge).is_err() && index_rnn((1 << 20) + 1).is_err());
        // Not even 16 strings fit the work limits.
        let err = index_plan(400, 0, 0, 1e6, 1e6).unwrap_err().to_string();
        assert!(
            err.contains("16 strings") && err.contains("lower N"),
            "{err}"
        );
        let long = ConstructOptions {
            n: MAX_DYCK_N + 1,
            ..ConstructOptions::default()
        };
        assert!(dyck(&long).is_err());
        // The index check runs recurrent models only, on both of its paths.
        let opts = ConstructOptions {
            n: 8,
            ..ConstructOptions::default()
        };
        let transformer = crate::construct::transformer::index_lookup::paper_design(&opts)
            .unwrap()
            .model()
            .unwrap();
        for n in [8, 40] {
            let err = verify_index(&transformer, n, &p("f32"), 0, 0, Stop::Never).unwrap_err();
            assert!(err.to_string().contains("needs an RNN"), "{err}");
        }
    }
}
