//! Verification speed of the constructions. Thm 1 (index lookup, one layer, one head) at
//! `N = 2^10, 2^12, 2^14` with the paper's design (`construct::transformer::index_lookup::paper_design`:
//! codes of margin 1/4, `η` from the paper) at `fixed:10.6`:
//! - `index_lookup_verify`: the whole verification beyond the exhaustive range: the worst-case
//!   strings for every query (two prefixes × all `N` queries) plus one random string × all `N`
//!   queries, `3N` instances, through `Prepared::prefix_cache` / `Prepared::last_outputs`;
//! - `index_lookup_one_string`: one random string against all `N` queries (the fast path
//!   alone: cached keys and values, the blocked score product);
//! - `index_lookup_plain_forward`: one instance through the plain `Prepared::forward` at
//!   `N = 2^10`, for scale (all `N` queries would cost `N` times this).
//!
//! Thm 6 (equality, two layers) at `n = 2^10, 2^12` bits per party (`T = 2n + 1` positions),
//! its design's own codes (margin 1/4) and precision:
//! - `equality_final_outputs`: 64 random instances through `Prepared::final_outputs`, the
//!   verification's inner loop (the fast final pass: layer 1's position-only weights, computed
//!   once per length, are computed outside the timed part by a first call);
//! - `equality_first_call`: one instance on a freshly prepared model at `n = 2^12, 2^14`: the
//!   one-off cost of a length (layer 1's position-only weights, `T²/2` scores and softmaxes);
//! - `equality_verify`: the whole `construct equality` verification at `n = 2^12` (the
//!   structured worst cases and 1000 random instances, 17 392 instances, and the weights).
//!
//! Thm 7 (nearest neighbour, two layers) at `n = 256` labelled points:
//! - `nearest_verify`: the whole `construct nearest` verification (the adversarial family over
//!   every point, 13 824 instances, and 1000 random ones; its instances are made as they are
//!   checked, `n` random unit vectors each, so the time includes making them), against the
//!   work estimate behind `--max-work`.
//!
//! The design, the model and the prepared model are built outside the timed part. The target
//! is `index_lookup_verify` at `N = 2^14` within 60 s on two cores.

use std::hint::black_box;

use ccsep::construct::kit::tally::Stop;
use ccsep::construct::transformer::index_lookup::{Check, Design, paper_design, verify};
use ccsep::construct::transformer::{equality, nearest};
use ccsep::construct::{ConstructOptions, vectors};
use ccsep::model::{Continuation, Matrix, Model, Prepared};
use ccsep::numeric::{Precision, Stats};
use ccsep::task::{IndexLookup, Task};
use divan::Bencher;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PRECISION: &str = "fixed:10.6";

fn main() {
    divan::main();
}

fn design(n: usize) -> (Design, Model) {
    let opts = ConstructOptions {
        n,
        ..ConstructOptions::default()
    };
    let d = paper_design(&opts).expect("N within the codes' range");
    let m = d.model().expect("a valid design");
    (d, m)
}

fn prepared(m: &Model) -> Prepared {
    let prec = Precision::parse(PRECISION).expect("a valid precision");
    m.prepare(&prec, &mut Stats::default())
        .expect("a resolved precision")
}

fn random_symbols(n: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..n).map(|_| rng.random_range(0..2)).collect()
}

#[divan::bench(args = [1 << 10, 1 << 12, 1 << 14], sample_count = 3, sample_size = 1)]
fn index_lookup_verify(bencher: Bencher, n: usize) {
    let (_, model) = design(n);
    let prec = Precision::parse(PRECISION).expect("a valid precision");
    let check = Check {
        samples: 1,
        seed: 0,
        stop: Stop::Never,
        max_work: None,
    };
    bencher.bench(|| black_box(verify(&model, 2, n, &prec, &check).expect("verifies")));
}

#[divan::bench(args = [1 << 10, 1 << 12, 1 << 14], sample_count = 3, sample_size = 1)]
fn index_lookup_one_string(bencher: Bencher, n: usize) {
    let (_, model) = design(n);
    let pm = prepared(&model);
    let task = IndexLookup::new(2, n).expect("a valid task");
    let prefix: Vec<u32> = random_symbols(n).iter().map(|&s| task.symbol(s)).collect();
    let items: Vec<Continuation> = (0..n)
        .map(|q| Continuation {
            edits: Vec::new(),
            last: task.position(q),
        })
        .collect();
    bencher.bench(|| {
        let mut st = Stats::default();
        let cache = pm.prefix_cache(&prefix, &mut st).expect("valid tokens");
        black_box(
            pm.last_outputs(&cache, &items, &mut st)
                .expect("valid tokens"),
        )
    });
}

#[divan::bench(args = [1 << 10], sample_count = 3, sample_size = 1)]
fn index_lookup_plain_forward(bencher: Bencher, n: usize) {
    let (_, model) = design(n);
    let pm = prepared(&model);
    let task = IndexLookup::new(2, n).expect("a valid task");
    let tokens = task
        .sequence(&random_symbols(n), n / 2)
        .expect("a valid instance");
    let xs = task.vocab().one_hot(&tokens).expect("valid tokens");
    bencher.bench(|| {
        let mut st = Stats::default();
        black_box(pm.forward(&xs, &mut st).expect("valid inputs"))
    });
}

/// The Thm 6 model at `n` with the design's codes (margin 1/4, seed 0) and precision, built
/// without verifying it.
fn equality_model(n: usize) -> (Model, Precision) {
    let codes = vectors::codes(n + 1, 0.25, 0).expect("codes");
    let worst = vectors::worst_inner(&codes);
    let signs: Vec<f64> = codes
        .data()
        .iter()
        .map(|&v| if v > 0.0 { 1.0 } else { -1.0 })
        .collect();
    let signs = Matrix::new(codes.rows(), codes.cols(), signs).expect("same shape");
    let prec = equality::design_precision(n, signs.cols(), worst).expect("a precision");
    let d = equality::Design::new(n, signs, &prec).expect("a design");
    (d.model().expect("a model"), prec)
}

#[divan::bench(args = [1 << 10, 1 << 12], sample_count = 3, sample_size = 1)]
fn equality_final_outputs(bencher: Bencher, n: usize) {
    let (model, prec) = equality_model(n);
    let pm = model
        .prepare(&prec, &mut Stats::default())
        .expect("a resolved precision");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let batch: Vec<Vec<Vec<f64>>> = (0..64)
        .map(|_| {
            (0..2 * n + 1)
                .map(|_| {
                    let t = rng.random_range(0..3);
                    (0..3).map(|v| f64::from(u8::from(v == t))).collect()
                })
                .collect()
        })
        .collect();
    pm.final_outputs(&batch[..1], &mut Stats::default())
        .expect("valid inputs");
    bencher.bench(|| {
        let mut st = Stats::default();
        black_box(pm.final_outputs(&batch, &mut st).expect("valid inputs"))
    });
}

#[divan::bench(args = [1 << 12, 1 << 14], sample_count = 3, sample_size = 1)]
fn equality_first_call(bencher: Bencher, n: usize) {
    let (model, prec) = equality_model(n);
    let one: Vec<Vec<Vec<f64>>> = vec![(0..2 * n + 1).map(|_| vec![1.0, 0.0, 0.0]).collect()];
    bencher.bench(|| {
        let mut st = Stats::default();
        let pm = model.prepare(&prec, &mut st).expect("a resolved precision");
        black_box(pm.final_outputs(&one, &mut st).expect("valid inputs"))
    });
}

#[divan::bench(args = [1 << 12], sample_count = 3, sample_size = 1)]
fn equality_verify(bencher: Bencher, n: usize) {
    let opts = ConstructOptions {
        n,
        ..ConstructOptions::default()
    };
    bencher.bench(|| black_box(equality::construct(&opts).expect("verifies")));
}

#[divan::bench(args = [256], sample_count = 3, sample_size = 1)]
fn nearest_verify(bencher: Bencher, n: usize) {
    let opts = ConstructOptions {
        n,
        ..ConstructOptions::default()
    };
    bencher.bench(|| black_box(nearest::construct(&opts).expect("verifies")));
}
