//! The precision grid a construction's constants must live on: the grid's spacing, rounding a
//! constant up onto it, the score gap that makes a softmax exactly hard, the weights the model's
//! own arithmetic gives (`1/√d_k`, `1/T`), and the two ways a construction names a precision
//! (a fixed-point format by its bits, and a user's precision made concrete for a length).

use crate::error::InputError;
use crate::numeric::{Accumulate, Format, Precision, Rounding, Stats};

/// `prec` made concrete for inputs of `len` positions: the grid of `paper:K` depends on the
/// length (step and range `len^∓K`); every other format is returned unchanged.
pub fn for_positions(prec: &Precision, len: usize) -> Result<Precision, InputError> {
    prec.for_length(len as u64)
}

/// The precision to verify at: the user's ([`for_positions`] `len`), or the design's own
/// (`own`) when none is given.
pub fn given_or_design(
    given: Option<Precision>,
    len: usize,
    own: impl FnOnce() -> Result<Precision, InputError>,
) -> Result<Precision, InputError> {
    match given {
        Some(p) => for_positions(&p, len),
        None => own(),
    }
}

/// The fixed-point format `fixed:I.F` (`I` integer and `F` fraction bits) with round to
/// nearest even and wide accumulation: the precisions the size searches try.
pub fn fixed_point(int_bits: u32, frac_bits: u32) -> Result<Precision, InputError> {
    Precision::new(
        Format::Fixed {
            int_bits,
            frac_bits,
        },
        Rounding::NearestEven,
        Accumulate::Wide,
    )
}

/// The spacing of the precision's grid near `x` (0 for `f64`, where nothing is rounded).
pub fn step_at(prec: &Precision, x: f64) -> f64 {
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
pub fn round_up(prec: &Precision, x: f64) -> f64 {
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
pub fn hard_gap(prec: &Precision, keys: usize, leak: f64) -> f64 {
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
pub fn score_scale(prec: &Precision, dk: usize) -> Result<f64, InputError> {
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
pub fn uniform_weight(prec: &Precision, len: usize) -> Result<f64, InputError> {
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
