//! The recurrent constructions: Elman RNNs (ReLU) that solve Dyck-(2,2) with a constant-size
//! state (no biases) and index lookup with a width-`N` state (an input bias), built as ordinary
//! [`Model::Rnn`]s and verified with the model's own rounded forward pass. Proofs and the
//! commands that check them: `proofs/dyck-rnn.md`.
//!
//! - [`dyck`]: Dyck-(2,2) with a constant-size state, through any DFA compiled to a ReLU RNN;
//! - [`index`]: index lookup with a width-`N` rotating register (Thm 3 is tight).
//!
//! What they share lives here: the fixed-point precisions their searches try, the choice of the
//! precision to verify at, and the report fields every RNN construction fills the same way.

pub mod dyck;
pub mod index;

pub use super::kit::tally::Stop;
pub use dyck::{dfa_rnn, dyck_model};
pub use index::{index_plan, index_rnn, verify_index};

use serde_json::json;

use super::kit::grid::fixed_point;
use super::{Built, ConstructOptions, ConstructReport};
use crate::error::InputError;
use crate::model::Model;
use crate::numeric::{Precision, Stats};
use crate::task::{Token, Vocab};

/// Widest fixed-point format the precision search tries.
const MAX_SEARCH_BITS: u32 = 16;

/// The fixed-point formats with `1 + I + F = 2 … 16` bits, fewest bits first, then fewest
/// integer bits.
fn fixed_formats() -> impl Iterator<Item = Precision> {
    (2..=MAX_SEARCH_BITS)
        .flat_map(|bits| (0..bits).filter_map(move |i| fixed_point(i, bits - 1 - i).ok()))
}

/// A precision search's verdict on one format.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Trial {
    Correct,
    Wrong,
    /// Not correct without running it, for the reason given.
    NotRun(&'static str),
}

impl Trial {
    fn of(correct: bool) -> Trial {
        if correct {
            Trial::Correct
        } else {
            Trial::Wrong
        }
    }
}

/// The first fixed-point format (fewest bits) at which `trial` is correct, and every format
/// tried with its verdict (`"correct": false` for one not run).
fn smallest_fixed(
    mut trial: impl FnMut(&Precision) -> Result<Trial, InputError>,
) -> Result<(Option<Precision>, Vec<serde_json::Value>), InputError> {
    let mut tried = Vec::new();
    for p in fixed_formats() {
        let ok = trial(&p)? == Trial::Correct;
        tried.push(json!({ "precision": p.name(), "correct": ok }));
        if ok {
            return Ok((Some(p), tried));
        }
    }
    Ok((None, tried))
}

/// The precision to verify at: the one asked for (with `paper:K` resolved at length `n`), or
/// the smallest fixed-point format found correct (with the formats tried, each said with its
/// verdict on `opts.progress`), or `f64` when none up to 16 bits is.
fn choose_precision(
    name: &str,
    opts: &ConstructOptions,
    mut trial: impl FnMut(&Precision) -> Result<Trial, InputError>,
) -> Result<(Precision, serde_json::Value), InputError> {
    match opts.precision {
        Some(p) => Ok((
            p.for_length(opts.n as u64)?,
            json!({ "requested": p.name() }),
        )),
        None => {
            let (found, tried) = smallest_fixed(|p| {
                opts.progress.timed(
                    || format!("{name} n = {}: at {}", opts.n, p.name()),
                    || trial(p),
                    |r| match r {
                        Ok(Trial::Correct) => "correct".to_string(),
                        Ok(Trial::Wrong) => "wrong".to_string(),
                        Ok(Trial::NotRun(why)) => format!("not run: {why}"),
                        Err(e) => format!("error: {e}"),
                    },
                )
            })?;
            let p = found.unwrap_or_else(|| Precision::parse("f64").expect("f64 parses"));
            Ok((
                p,
                json!({
                    "smallest_fixed": found.map(|p| p.name()),
                    "tried": tried,
                }),
            ))
        }
    }
}

/// Whether rounding every parameter to `prec` leaves the model unchanged.
fn weights_exact(model: &Model, prec: &Precision) -> Result<bool, InputError> {
    let mut stats = Stats::default();
    Ok(model.prepare(prec, &mut stats)?.model() == model)
}

/// What an RNN construction's verification found, for its report.
struct RnnCheck {
    correct: bool,
    /// What was checked, in words, and whether it was every instance.
    verified_on: String,
    exhaustive: bool,
    instances: u64,
    errors: u64,
    /// The first wrong instance, as the task's tokens.
    first_error: Option<String>,
}

/// The report of an RNN construction: its name, the paper's result, its size parameter, its
/// width, what its verification found and its own details.
struct RnnReport<'a> {
    name: &'a str,
    result: &'a str,
    n: usize,
    width: usize,
    check: RnnCheck,
    details: serde_json::Value,
}

/// The built construction: the model at its precision, with the report fields every RNN
/// construction shares.
fn rnn_built(r: RnnReport, model: Model, prec: Precision) -> Built {
    let report = rnn_report(r, &model, &prec);
    Built {
        model: Some(model),
        precision: Some(prec),
        report,
    }
}

/// An RNN construction's size on the curve: `m·p`, its width times the bits of one number.
fn size_bits(report: &ConstructReport) -> u64 {
    report.width as u64 * u64::from(report.bits_per_number.unwrap_or(0))
}

/// The report fields every RNN construction shares.
fn rnn_report(r: RnnReport, model: &Model, prec: &Precision) -> ConstructReport {
    let RnnReport {
        name,
        result,
        n,
        width,
        check,
        details,
    } = r;
    let RnnCheck {
        correct,
        verified_on,
        exhaustive,
        instances,
        errors,
        first_error,
    } = check;
    let bits = prec.bits();
    let params = model.parameter_count() as u64;
    let state = model.state_size().unwrap_or(0) as u64;
    ConstructReport {
        name: name.into(),
        result: result.into(),
        n,
        correct,
        verified_on,
        exhaustive,
        instances,
        errors,
        first_error,
        width,
        heads: 0,
        layers: 1,
        precision: Some(prec.name()),
        bits_per_number: bits,
        parameters: params,
        parameter_bits: bits.map(|b| params * u64::from(b)),
        state_bits: bits.map(|b| state * u64::from(b)),
        details,
    }
}

/// The one-hot input of token `t`.
fn one_hot(vocab: &Vocab, t: Token) -> Result<Vec<f64>, InputError> {
    Ok(vocab.one_hot(&[t])?.remove(0))
}
