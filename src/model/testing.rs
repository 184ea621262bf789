//! Checks of the Transformer's fast last-position pass (`last_position`) and of the sparse
//! products, for the unit tests in `model` and the integration tests in `tests/` that run them
//! on the paper's constructions (which `model` does not use, even in tests). Not part of the
//! interface: hidden from the documentation, and nothing outside tests calls it.

use super::kernel::LANES;
use super::last_position::LastPass;
use super::{Model, Prepared, scatter};
use crate::numeric::Stats;

/// `a` and `b` equal bit for bit (NaN matching NaN).
pub fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// `a` and `b` equal but for the signs of zeros (NaN matching NaN).
pub fn same_up_to_signed_zeros(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.to_bits() == y.to_bits() || (*x == 0.0 && *y == 0.0) || (x.is_nan() && y.is_nan())
        })
}

/// Checks a prepared Transformer's `final_outputs` on `batch` (sequences of one length) against
/// the last output of `forward`, bit for bit; and, block by block, the exact plan bit for bit
/// and the sliced plan before its zero guard up to signed zeros. Panics on a difference.
pub fn check_final_pass(pm: &Prepared, batch: &[Vec<Vec<f64>>], what: &str) {
    let mut st = Stats::default();
    let outs = pm.final_outputs(batch, &mut st).unwrap();
    let wants: Vec<Vec<f64>> = batch
        .iter()
        .map(|s| pm.forward(s, &mut st).unwrap().outputs.pop().unwrap())
        .collect();
    for (i, (o, w)) in outs.iter().zip(&wants).enumerate() {
        assert!(same_bits(o, w), "{what}: sequence {i}: {o:?} vs {w:?}");
    }
    let Model::Transformer(tr) = pm.model() else {
        panic!("{what}: a Transformer")
    };
    let last = pm.last.as_ref().expect("a Transformer has the fast pass");
    for (c, chunk) in batch.chunks(LANES).enumerate() {
        let l = chunk.len();
        let flat: Vec<Vec<f64>> = chunk.iter().map(|s| s.concat()).collect();
        let seqs: Vec<&[f64]> = flat.iter().map(Vec::as_slice).collect();
        let (sliced, exact) = last.tiers(tr, &pm.ar, &seqs);
        // With no budget for stored weights, position-only layers share one lane's weights.
        let (shared, _) = LastPass::with_budget(tr, &pm.ar, 0).tiers(tr, &pm.ar, &seqs);
        for b in 0..l {
            let want = &wants[c * LANES + b];
            if let Some(e) = &exact {
                let got = scatter(e, l, b);
                assert!(
                    same_bits(&got, want),
                    "{what}: exact plan, sequence {}: {got:?} vs {want:?}",
                    c * LANES + b
                );
            }
            for (plan, out) in [("sliced", &sliced), ("shared", &shared)] {
                if let Some(s) = out {
                    let got = scatter(s, l, b);
                    assert!(
                        same_up_to_signed_zeros(&got, want),
                        "{what}: {plan} plan, sequence {}: {got:?} vs {want:?}",
                        c * LANES + b
                    );
                }
            }
        }
    }
}

/// What the sliced plan of a prepared Transformer carries at length `len`: the residual
/// coordinates kept, per layer whether its attention weights are stored, and per layer whether
/// it runs at the earlier positions. `None` when the plan is not used (not a Transformer, or a
/// format where values can be infinite).
pub fn plan_shape(pm: &Prepared, len: usize) -> Option<(usize, Vec<bool>, Vec<bool>)> {
    let (Model::Transformer(tr), Some(last)) = (pm.model(), pm.last.as_ref()) else {
        return None;
    };
    last.shape(tr, &pm.ar, len)
}

/// [`Prepared::dense_attention`] with no budget for stored weights: whether some layer's
/// position-only attention must then be computed the plain way.
pub fn dense_without_budget(pm: &Prepared, len: usize) -> bool {
    let Model::Transformer(tr) = pm.model() else {
        return false;
    };
    LastPass::with_budget(tr, &pm.ar, 0).dense(tr, &pm.ar, len)
}

/// Runs `f` with the sparse products off (every product dense), one such call at a time: the
/// results must be the same bits.
pub fn dense_only<T>(f: impl FnOnce() -> T) -> T {
    super::kernel::dense_only(f)
}
