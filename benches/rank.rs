//! Rank benchmarks: GF(2) rank of IP_13 (rank 13) and of a random dense 8192 × 8192 matrix;
//! the rank mod 2^31 − 1 and the rational certificate of DISJ_11 (2048 × 2048, full rank, whose
//! elimination stays sparse) and of GT_11 (2048 × 2048, rank 2047, dense elimination); the
//! rational certificate of IP_10. Matrices are built outside the timed part.

use std::hint::black_box;

use ccsep::certificate::Of;
use ccsep::matrix::CommMatrix;
use ccsep::measures::Limits;
use ccsep::measures::rank;
use ccsep::problem::ProblemSpec;
use divan::Bencher;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

fn problem(spec: ProblemSpec) -> CommMatrix {
    spec.matrix().expect("built-in problem")
}

/// A dense matrix of fair coin flips, the same on every run.
fn random_dense(n: usize, seed: u64) -> CommMatrix {
    CommMatrix::from_row_words(n, n, |x, out| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ x as u64);
        for w in out.iter_mut() {
            *w = rng.random();
        }
    })
    .expect("non-empty")
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn gf2_rank_ip_13(bencher: Bencher) {
    let m = problem(ProblemSpec::Ip { n: 13 });
    bencher.bench(|| rank::gf2_rank(black_box(&m)));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn gf2_rank_random_8192(bencher: Bencher) {
    let m = random_dense(8192, 2026);
    bencher.bench(|| rank::gf2_rank(black_box(&m)));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn certify_gf2_random_8192(bencher: Bencher) {
    let m = random_dense(8192, 2026);
    bencher.bench(|| rank::certify_gf2(black_box(&m), Of::Matrix));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn rational_rank_mod_p_disj_11(bencher: Bencher) {
    let m = problem(ProblemSpec::Disj { n: 11 });
    bencher.bench(|| rank::rational_rank_mod_p(black_box(&m)));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn certify_rational_disj_11(bencher: Bencher) {
    let m = problem(ProblemSpec::Disj { n: 11 });
    let limits = Limits::default();
    bencher.bench(|| rank::certify_rational(black_box(&m), Of::Matrix, &limits));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn rational_rank_mod_p_gt_11(bencher: Bencher) {
    let m = problem(ProblemSpec::Gt { n: 11 });
    bencher.bench(|| rank::rational_rank_mod_p(black_box(&m)));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn certify_rational_ip_10(bencher: Bencher) {
    let m = problem(ProblemSpec::Ip { n: 10 });
    let limits = Limits::default();
    bencher.bench(|| rank::certify_rational(black_box(&m), Of::Matrix, &limits));
}
