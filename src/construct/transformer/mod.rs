//! The Transformer constructions, and the report every one of them fills the same way.
//!
//! - [`index_lookup`]: Thm 1, one layer, one head;
//! - [`equality`] and [`disjointness`]: Thm 6 and Thm 13, the two-party two-layer design
//!   ([`two_party`]: their shared pairs and verification);
//! - [`nearest`]: Thm 7, two layers over real-valued points.

pub mod disjointness;
pub mod equality;
pub mod index_lookup;
pub mod nearest;
pub mod two_party;

use super::kit::tally::Tally;
use super::{Built, ConstructReport};
use crate::model::Model;
use crate::numeric::Precision;

/// The head count of a one-head construction (an argument of `Transformer::new`).
pub(crate) const ONE_HEAD: usize = 1;

/// Causal attention (an argument of `Transformer::new`): every construction reads only the past.
pub(crate) const CAUSAL: bool = true;

/// What a verification of a Transformer construction found, for its report.
pub(crate) struct Verified<'a> {
    /// The construction's name and the paper's result it realises.
    pub name: &'a str,
    pub result: &'a str,
    /// Its size parameter `--n`.
    pub n: usize,
    /// What was checked, in words, and whether it was every instance.
    pub verified_on: String,
    pub exhaustive: bool,
    pub tally: &'a Tally,
    /// Built-specific figures.
    pub details: serde_json::Value,
}

/// The verified construction, with the report fields every Transformer construction fills the
/// same way.
pub(crate) fn finish(v: Verified, model: Model, prec: &Precision) -> Built {
    let report = report(v, &model, prec);
    Built {
        model: Some(model),
        precision: Some(*prec),
        report,
    }
}

fn report(v: Verified, model: &Model, prec: &Precision) -> ConstructReport {
    let (width, heads, layers) = match model {
        Model::Transformer(tr) => (tr.d_model(), tr.heads(), tr.blocks().len()),
        _ => (0, 0, 0),
    };
    let parameters = model.parameter_count() as u64;
    let bits = prec.bits();
    let t = v.tally;
    ConstructReport {
        name: v.name.to_string(),
        result: v.result.to_string(),
        n: v.n,
        correct: t.errors == 0 && t.instances > 0,
        verified_on: v.verified_on,
        exhaustive: v.exhaustive,
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
        details: v.details,
    }
}
