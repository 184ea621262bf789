//! Benchmarks of the whole-matrix measures: building matrices, one-way CC, and D(f).
//! Run with `cargo bench --bench measures`.

use ccsep::certificate::Direction;
use ccsep::matrix::CommMatrix;
use ccsep::measures::summary::summarize;
use ccsep::measures::{Limits, deterministic, one_way};
use ccsep::problem::ProblemSpec;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

fn random_matrix(rows: usize, cols: usize, seed: u64) -> CommMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let bits: Vec<bool> = (0..rows * cols).map(|_| rng.random_bool(0.5)).collect();
    CommMatrix::from_fn(rows, cols, |x, y| bits[x * cols + y]).unwrap()
}

/// Target: one-way CC of INDEX_24 (16.7M rows) ≤ 5 s and ≤ 1 GiB, matrix build included.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn one_way_index_24() -> u32 {
    let m = ProblemSpec::Index { n: 24 }.matrix().unwrap();
    one_way::one_way(&m, Direction::AliceToBob).bits
}

/// Target: D(f) of any 8×8 matrix ≤ 1 s. Ten seeded random matrices per sample.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn d_random_8x8_times_10() -> u32 {
    (0..10)
        .map(|seed| {
            let m = random_matrix(8, 8, seed);
            deterministic::search(&m, 0, &Limits::default())
                .unwrap()
                .upper
        })
        .sum()
}

/// Target: D(f) of EQ_4, DISJ_4, GT_4, IP_4 ≤ 10 s, here through the whole `ccsep cc` pipeline.
#[divan::bench(args = ["eq", "disj", "gt", "ip"], sample_count = 3, sample_size = 1)]
fn cc_all_measures_n4(name: &str) -> Option<u32> {
    let spec = ProblemSpec::named(name, 4).unwrap();
    let m = spec.matrix().unwrap();
    summarize(&spec, &m, &Limits::default(), true, &|_| {}).deterministic_cc
}

/// The protocol-tree search alone on the n = 4 problems (bounds given as 0, so it must refute
/// every smaller depth itself).
#[divan::bench(args = ["eq", "disj", "gt", "ip"], sample_count = 3, sample_size = 1)]
fn d_search_only_n4(name: &str) -> u32 {
    let m = ProblemSpec::named(name, 4).unwrap().matrix().unwrap();
    deterministic::search(&m, 0, &Limits::default())
        .unwrap()
        .upper
}
