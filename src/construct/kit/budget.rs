//! The work budget of a verification: what `--max-work` counts (operations of the fast final
//! pass, estimated before anything runs) and the refusals, with what to change, of a
//! verification or size search that would exceed it. A refusal happens before any model runs.

use super::super::ConstructOptions;
use crate::error::{InputError, Setting};

/// Most operations one verification of a two-layer construction (`equality`, `disjointness`,
/// `nearest`) may cost before it is refused (about five minutes on two
/// cores). An operation is a multiply-add or a rounding of the fast final pass, about 0.6 ns on
/// one core (the estimates are calibrated on `construct equality --n 4096`).
pub const MAX_WORK: f64 = 1e12;

/// Operations per position of one instance of the Thm 6 or Thm 13 model through the fast final
/// pass (measured: about 50 ns a position on one core at `n = 4096`).
pub const OPS_PER_POSITION: f64 = 100.0;

/// The work limit of `opts`: `--max-work`, or [`MAX_WORK`].
pub fn work_limit(opts: &ConstructOptions) -> f64 {
    limit(opts.max_work, MAX_WORK)
}

/// The work limit `--max-work` sets, or a construction's own `default` when it is not given.
pub fn limit(max_work: Option<f64>, default: f64) -> f64 {
    max_work.unwrap_or(default)
}

/// Refuses verifying construction `name` at `n` on `instances` instances of `per_instance`
/// operations each, after `setup` operations once (the fast pass's attention weights), when
/// that exceeds the work limit of `opts` ([`work_limit`]).
pub fn refuse_work(
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
            "verifying the {name} construction at n = {n} on {instances} instances costs about {work:.1e} operations (limit {limit:.0e}, about {} on two cores); lower {} or {}, or raise {}",
            on_two_cores(limit),
            Setting::N,
            Setting::Samples,
            Setting::MaxWork
        )));
    }
    Ok(())
}

/// Refuses a size search whose trials (`trials` of `trial` operations each) and final
/// verification (`full`) would not finish in a few minutes (ten times the work limit of
/// `opts`), or whose final verification alone [`refuse_work`] would refuse (before any trial
/// runs).
pub fn refuse_search(
    name: &str,
    trials: f64,
    trial: f64,
    full: f64,
    opts: &ConstructOptions,
) -> Result<(), InputError> {
    let limit = work_limit(opts);
    if full > limit {
        return Err(InputError::new(format!(
            "the {name} size search's final verification costs about {full:.1e} operations (limit {limit:.0e}, about {} on two cores); lower {} or {}, or raise {}",
            on_two_cores(limit),
            Setting::N,
            Setting::Samples,
            Setting::MaxWork
        )));
    }
    let work = trials * trial + full;
    if work > 10.0 * limit {
        return Err(InputError::new(format!(
            "the {name} size search costs about {work:.1e} operations (limit {:.0e}: ten times {}); lower {} or {}, or raise {}",
            10.0 * limit,
            Setting::MaxWork,
            Setting::N,
            Setting::Samples,
            Setting::MaxWork
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
pub fn on_two_cores(work: f64) -> String {
    let secs = work / OPS_PER_POSITION * 130e-9 / 2.0;
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.0} min", secs / 60.0)
    }
}
