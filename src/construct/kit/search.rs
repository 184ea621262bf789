//! The size search: the smallest `width × heads × bits` at which a construction passes its
//! verification, over candidate codes (nearly orthogonal codes at decreasing margins) and
//! fixed-point precisions `fixed:I.F`, screening candidates cheaply and counting a size only
//! once it passed the full verification.

use super::super::{Built, Progress};
use super::grid::fixed_point;
use super::tally::Depth;
use crate::construct::vectors::sign_codes;
use crate::error::InputError;
use crate::model::Matrix;
use crate::numeric::Precision;

/// The code margins the size searches try, loosest first (shortest codes first).
pub const GAMMAS: [f64; 19] = [
    0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15,
    0.1, 0.05,
];

/// One code a size search tries: `codes` at margin `gamma`.
pub struct CodeCandidate {
    /// The margin asked of `codes`.
    pub gamma: f64,
    /// The codes, entries ±1, one row per position (or pair).
    pub codes: Matrix,
    /// The codes' worst normalised inner product (at most `gamma`).
    pub worst: f64,
}

/// The codes at each margin of [`GAMMAS`] (entries ±1), skipping a margin whose code is no
/// longer than the previous one's; computed lazily, so a search that stops early never builds
/// the long codes.
pub fn code_candidates(
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
pub fn trial_outcome(r: &Result<Option<Built>, InputError>) -> String {
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
fn saturated(c: &Built) -> u64 {
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

/// The integer bits that hold the largest pre-scale score `g·√k/(1 − γ)` of a hard head at
/// `F` fraction bits (rounding to nearest): where [`search_sizes`] starts looking.
pub fn integer_bits_hint(frac_bits: u32, k: usize, gamma: f64) -> u32 {
    let g = (f64::from(frac_bits) + 1.0) * std::f64::consts::LN_2;
    let top = g * (k as f64).sqrt() / (1.0 - gamma).max(1e-3) + 2.0;
    (top.log2().floor() as u32 + 1).clamp(1, BITS_MAX)
}

/// What a size search is of: the construction's name and size parameter `n`, the fewest
/// fraction bits `F` worth trying, and the heads its width is multiplied by.
pub struct SizeSearch<'a> {
    pub name: &'a str,
    pub n: usize,
    pub f_min: u32,
    pub heads: usize,
    /// Where each trial is announced with its outcome.
    pub progress: &'a Progress,
}

/// The smallest `width(c) · heads · (1 + I + F)` found over the candidates `c` (in order of
/// increasing width) and `fixed:I.F` with `F ≥ f_min`. For each candidate: the fewest fraction
/// bits `F` for which some `I ≤ 24` that could still beat the best size passes the screen
/// (`trial(c, prec, Depth::Screen)`: the structured worst cases at up to
/// [`SCREEN_INDICES`](super::tally::SCREEN_INDICES) indices, stopping at the first error; `None` when the design refuses the
/// precision), the fewest such `I` (starting at `hint(c, F)`, stepping down while correct, else
/// bisecting upwards), and then the full verification (`trial(c, prec,
/// Depth::Search)`) at that `I` or, where it fails, at up to three more integer bits. A size
/// counts only once it passed the full verification. It stops at the first candidate too wide
/// to beat the best size.
/// The bisection assumes more integer bits never hurt at a fixed `F` (the weights do not
/// change, only the range grows); the full verification does not rely on it.
/// Once a size is found, a candidate whose `hint(c, F)` exceeds the most integer bits that could
/// still beat it by more than `HINT_SLACK` is dropped without a trial: the hint grows with `F`
/// (a finer grid needs a larger temperature to keep the softmax hard, so larger scores) and that
/// cap shrinks. This is a heuristic that saves the wider codes' hopeless trials (each costs
/// `O(T²)` at length `T` for the position-only attention); it may miss a smaller size, never
/// admits a wrong one.
pub fn search_sizes<C>(
    of: &SizeSearch,
    candidates: impl Iterator<Item = Result<C, InputError>>,
    width: impl Fn(&C) -> usize,
    hint: impl Fn(&C, u32) -> u32,
    trial: impl Fn(&C, &Precision, Depth) -> Result<Option<Built>, InputError>,
) -> Result<(u64, Built), InputError> {
    let &SizeSearch {
        name,
        n,
        f_min,
        heads,
        progress,
    } = of;
    let passes = |c: &C, i: u32, f: u32, depth: Depth| -> Result<Option<Built>, InputError> {
        let prec = fixed_point(i, f)?;
        let out = progress.timed(
            || {
                format!(
                    "{name} n = {n}: width {} at {} ({})",
                    width(c),
                    prec.name(),
                    if depth.full() {
                        "full verification"
                    } else {
                        "screen"
                    }
                )
            },
            || trial(c, &prec, depth),
            trial_outcome,
        )?;
        Ok(out.filter(|c| c.report.correct))
    };
    let correct =
        |c: &C, i: u32, f: u32| Ok::<bool, InputError>(passes(c, i, f, Depth::Screen)?.is_some());
    let mut best: Option<(u64, Built)> = None;
    let mut failed = Vec::new();
    for cand in candidates {
        let cand = cand?;
        let w = (width(&cand) * heads) as u64;
        let beats =
            |size: u64, best: &Option<(u64, Built)>| best.as_ref().is_none_or(|(b, _)| size < *b);
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
                match passes(&cand, i, f, Depth::Search)? {
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
