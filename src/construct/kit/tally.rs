//! The verification tally: running a model on a stream of instances in batches and counting
//! instances, wrong answers (with the first one, as text) and saturated roundings; and which
//! instances a verification at a given depth runs (every index, or a screen's spread of them).

use std::time::{Duration, Instant};

use super::super::Progress;
use crate::error::InputError;
use crate::model::{Model, decode};
use crate::numeric::{Precision, Stats};
use crate::task::{Task, Token};

/// Most sequences run through the model per call of `final_outputs_flat`.
pub const CHUNK: usize = 2048;

/// Most input numbers per call of `final_outputs_flat` (fewer sequences when they are long).
const CHUNK_NUMBERS: usize = 1 << 24;

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
    /// The query of the first wrong instance, where instances have queries (index lookup).
    pub first_error_query: Option<usize>,
    /// The output margins of multi-bit answers ([`Tally::record_bits`]).
    pub margins: Margins,
}

/// The margins of answers read as bits, one output per bit (`[out_b > 0]`): over the instances
/// recorded, the smallest output whose bit is 1 (it must be positive) and the largest whose
/// bit is 0 (it must not be); `None` where there is none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Margins {
    pub min_one: Option<f64>,
    pub max_zero: Option<f64>,
}

impl Margins {
    /// Both margins over `self`'s instances and `o`'s.
    fn merge(&mut self, o: Margins) {
        self.min_one = match (self.min_one, o.min_one) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max_zero = match (self.max_zero, o.max_zero) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

impl Tally {
    /// Records one instance of query `query` whose answer has the bits `want`: the model's
    /// outputs `out` (output `b` for bit `b`, which go into the margins) and its answer `got`
    /// read from them; a wrong answer is counted, and the first one described (`describe`
    /// runs for that instance only) with its query.
    pub fn record_bits(
        &mut self,
        query: usize,
        want: usize,
        got: usize,
        out: &[f64],
        describe: impl FnOnce() -> String,
    ) {
        self.instances += 1;
        for (b, &o) in out.iter().enumerate() {
            if (want >> b) & 1 == 1 {
                self.margins.min_one = Some(self.margins.min_one.map_or(o, |m| m.min(o)));
            } else {
                self.margins.max_zero = Some(self.margins.max_zero.map_or(o, |m| m.max(o)));
            }
        }
        if got != want {
            self.errors += 1;
            if self.first_error.is_none() {
                self.first_error = Some(describe());
                self.first_error_query = Some(query);
            }
        }
    }

    /// Adds the tally `o` of the instances after `self`'s (a parallel reduction, merged in
    /// order): the first error stays `self`'s when it has one.
    pub fn merge(&mut self, o: Tally) {
        self.instances += o.instances;
        self.errors += o.errors;
        self.saturated += o.saturated;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
            self.first_error_query = o.first_error_query;
        }
        self.margins.merge(o.margins);
    }
}

/// How far a verification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
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
    /// Whether every instance of the family runs (not a screen).
    pub fn full(self) -> bool {
        self != Depth::Screen
    }

    /// Whether the verification stops at its first error.
    pub fn stop(self) -> Stop {
        if self == Depth::Full {
            Stop::Never
        } else {
            Stop::AtFirstError
        }
    }
}

/// Whether a [`tally`] stops at the first wrong answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every instance runs and every error is counted.
    Never,
    /// No batch after the first wrong answer runs; batches start small and double.
    AtFirstError,
}

/// Most indices (flipped bits, features, nearest points) a screen checks.
pub const SCREEN_INDICES: usize = 256;

/// The indices `0 … n−1` a verification at `depth` runs its per-index cases at: all, or for a
/// screen at most [`SCREEN_INDICES`] of them, evenly spread with both ends.
pub fn indices(n: usize, depth: Depth) -> Vec<usize> {
    if depth.full() {
        return (0..n).collect();
    }
    spread(n, SCREEN_INDICES)
}

/// `k ≥ 2` of the indices `0 … n−1`, evenly spread with both ends (all of them when `n ≤ k`).
pub fn spread(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..k).map(|i| i * (n - 1) / (k - 1)).collect();
    v.dedup();
    v
}

/// How the per-index cases were chosen, for the report.
pub fn indices_words(n: usize, depth: Depth, what: &str) -> String {
    let i = indices(n, depth).len();
    if i == n {
        format!("each of the {n} {what}")
    } else {
        format!("{i} of the {n} {what} (evenly spread)")
    }
}

/// One instance to check: the model's inputs, the right answer and the tokens as text.
pub struct Case<'a> {
    /// The input vectors, one position after another (`T · I` numbers).
    pub inputs: Vec<f64>,
    /// The task's label, as a bit.
    pub expected: bool,
    /// The instance as text, for `first_error` (rendered for that instance only).
    pub text: Box<dyn Fn() -> String + 'a>,
}

/// The one-hot inputs of `tokens` over a vocabulary of `size` tokens, one position after
/// another: `Vocab::one_hot`, flat. Tokens outside the vocabulary are an error.
pub fn one_hot_flat(tokens: &[Token], size: usize) -> Result<Vec<f64>, InputError> {
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
pub fn bit_case<T: Task>(task: &T, tokens: Vec<Token>) -> Result<Case<'_>, InputError> {
    let expected = task.label(&tokens)?.as_bit().ok_or_else(|| {
        InputError::new(format!("{}: the task's label is not a bit", task.name()))
    })?;
    Ok(Case {
        inputs: one_hot_flat(&tokens, task.vocab().len())?,
        expected,
        text: Box::new(move || task.vocab().render(&tokens)),
    })
}

/// Runs `model` at `prec` on every case (batched, `final_outputs_flat`) and counts wrong
/// answers, reading each output with [`decode`]; with [`Stop::AtFirstError`], no batch after the first wrong
/// answer is run, and the batches start at one block of 16 and double (a model that fails,
/// often on its first instances, then costs little even where each instance is dear).
/// Every `progress.interval()` (30 s unless set) a long tally says how far it is (`total`:
/// the instances it will run unless it stops). Stopping at the first error (a search's check) it runs nothing
/// when the first instance's length needs a position-only attention layer computed the plain
/// way (`Prepared::dense_attention`): the tally then has no instance, so the report is not
/// correct, and `first_error` says why.
pub fn tally<'a>(
    model: &Model,
    prec: &Precision,
    cases: impl Iterator<Item = Result<Case<'a>, InputError>>,
    stop: Stop,
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
    let stop = stop == Stop::AtFirstError;
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
