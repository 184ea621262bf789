//! Collision witnesses as files, and their independent check.
//!
//! A witness says: the model, at the precision, sends one message for Alice's inputs `x` and
//! `x'`, and Bob's input `y` separates them (`f(x, y) ≠ f(x', y)`), so the model's single answer
//! is wrong on one of the two instances. The file records everything needed to rebuild the
//! model (weights path, or architecture, sizes and seed) and the instance. [`verify`] trusts
//! none of the protocol code: it rebuilds the model, runs the plain forward pass
//! (`Model::forward`) on both whole sequences, and checks that the answers agree and that `f`
//! differs, so one answer is wrong.

use serde::{Deserialize, Serialize};

use super::{ModelSource, decode, reduction_kind};
use crate::certificate::check::Verified;
use crate::numeric::{Precision, Stats};
use crate::task::Reduction;

/// Format version of witness files (the key that marks a file as a witness).
pub const WITNESS_VERSION: u32 = 1;

/// A witness file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WitnessFile {
    pub ccsep_witness: u32,
    pub model: ModelSource,
    pub precision: Precision,
    /// The reduction's name (e.g. `index-lookup`).
    pub task: String,
    pub n: u32,
    pub x: u64,
    pub x_prime: u64,
    pub y: u64,
    /// Bob's input of the second instance (Thm 4 witnesses); `y` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_prime: Option<u64>,
    /// `[f(x, y), f(x', y')]`.
    pub expected: [bool; 2],
    /// The model's answers on `(x, y)` and `(x', y')` (equal).
    pub answers: [bool; 2],
}

/// Whether a JSON value is a witness file (by its marker key).
pub fn is_witness(v: &serde_json::Value) -> bool {
    v.get("ccsep_witness").is_some()
}

/// Re-runs the model on both instances with the plain forward pass and checks the claim.
pub fn verify(w: &WitnessFile) -> Result<Verified, String> {
    if w.ccsep_witness != WITNESS_VERSION {
        return Err(format!(
            "unknown witness format version {}",
            w.ccsep_witness
        ));
    }
    let kind = reduction_kind(&w.task).map_err(|e| e.message)?;
    let r = Reduction::new(kind, w.n).map_err(|e| e.message)?;
    let task = r.task();
    let model = w
        .model
        .build(task.input_dim())
        .map_err(|e| format!("could not rebuild the model: {e}"))?;
    let mut answers = [false; 2];
    let mut values = [false; 2];
    let y_prime = w.y_prime.unwrap_or(w.y);
    for (i, (x, y)) in [(w.x, w.y), (w.x_prime, y_prime)].into_iter().enumerate() {
        let inst = r.instance(x, y).map_err(|e| e.message)?;
        let inputs = task.embed(&inst.tokens, &[]).map_err(|e| e.message)?;
        let trace = model
            .forward(&inputs, &w.precision, &mut Stats::default())
            .map_err(|e| e.message)?;
        answers[i] = decode(trace.outputs.last().map_or(&[][..], Vec::as_slice));
        values[i] = r.value(x, y).map_err(|e| e.message)?;
    }
    if (w.x, w.y) == (w.x_prime, y_prime) {
        return Err("(x, y) and (x', y') are the same instance".into());
    }
    if values[0] == values[1] {
        return Err(format!(
            "f(x, y) = f(x', y') = {}: the two instances do not differ in f",
            u8::from(values[0])
        ));
    }
    if answers[0] != answers[1] {
        return Err(format!(
            "the model answers {} on (x, y) and {} on (x', y'): the inputs are not confused",
            u8::from(answers[0]),
            u8::from(answers[1])
        ));
    }
    if values != w.expected || answers != w.answers {
        return Err(format!(
            "the file records f = {:?} and answers {:?}, the re-run gives f = {values:?} and answers {answers:?}",
            w.expected, w.answers
        ));
    }
    let wrong = if answers[0] == values[0] { "x'" } else { "x" };
    Ok(Verified {
        statement: format!(
            "{} at {}: the model answers {} on both (x = {}, y = {}) and (x' = {}, y' = {}) of {} n = {}, but f differs, so it is wrong on {wrong}",
            w.model.arch(),
            w.precision.name(),
            u8::from(answers[0]),
            w.x,
            w.y,
            w.x_prime,
            y_prime,
            w.task,
            w.n
        ),
        unchecked: vec![],
    })
}
