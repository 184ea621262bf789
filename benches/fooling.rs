//! Fooling-set and rectangle searches on the matrices the tests use as closed forms, and on a
//! seeded random 8×8. Run with `cargo bench --bench fooling`.

use ccsep::certificate::RectangleKind;
use ccsep::matrix::CommMatrix;
use ccsep::measures::Limits;
use ccsep::measures::fooling::max_fooling_set;
use ccsep::measures::rectangles::min_rectangles;
use ccsep::problem::ProblemSpec;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

/// A random 8×8 with entries 1 at probability 1/2, from a fixed seed.
fn random_8x8() -> CommMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let bits: Vec<bool> = (0..64).map(|_| rng.random_bool(0.5)).collect();
    CommMatrix::from_fn(8, 8, |x, y| bits[x * 8 + y]).expect("8x8 is a valid size")
}

/// The maximum 1-fooling set of DISJ_n (size 2^n).
#[divan::bench(args = [3, 4, 5], sample_count = 20)]
fn disj_one_fooling(bencher: divan::Bencher, n: u32) {
    let m = ProblemSpec::Disj { n }.matrix().expect("small DISJ");
    let limits = Limits::default();
    bencher.bench(|| max_fooling_set(divan::black_box(&m), true, &limits));
}

/// The maximum 0-fooling set of DISJ_n (size n): here the search has to prove the bound.
#[divan::bench(args = [3, 4, 5], sample_count = 20)]
fn disj_zero_fooling(bencher: divan::Bencher, n: u32) {
    let m = ProblemSpec::Disj { n }.matrix().expect("small DISJ");
    let limits = Limits::default();
    bencher.bench(|| max_fooling_set(divan::black_box(&m), false, &limits));
}

/// EQ_6: 1-fooling (the diagonal, 64) and 0-fooling (a triangle, 3, among 4032 entries).
#[divan::bench(args = [true, false], sample_count = 10)]
fn eq6_fooling(bencher: divan::Bencher, value: bool) {
    let m = ProblemSpec::Eq { n: 6 }.matrix().expect("small EQ");
    let limits = Limits::default();
    bencher.bench(|| max_fooling_set(divan::black_box(&m), value, &limits));
}

/// IP_4 1-fooling: a search of some ten thousand nodes.
#[divan::bench(sample_count = 10)]
fn ip4_one_fooling(bencher: divan::Bencher) {
    let m = ProblemSpec::Ip { n: 4 }.matrix().expect("small IP");
    let limits = Limits::default();
    bencher.bench(|| max_fooling_set(divan::black_box(&m), true, &limits));
}

/// Partition, 1-cover and 0-cover numbers of the seeded random 8×8.
#[divan::bench(args = ["partition", "cover1", "cover0"], sample_count = 20)]
fn random_8x8_rectangles(bencher: divan::Bencher, kind: &str) {
    let kind = match kind {
        "partition" => RectangleKind::Partition,
        "cover1" => RectangleKind::Cover1,
        _ => RectangleKind::Cover0,
    };
    let m = random_8x8();
    let limits = Limits::default();
    bencher.bench(|| min_rectangles(divan::black_box(&m), kind, &limits, None));
}

/// The 0-cover number of EQ_3 (5, against a fooling bound of 3): a search of ~150k nodes.
#[divan::bench(sample_count = 5)]
fn eq3_zero_cover(bencher: divan::Bencher) {
    let m = ProblemSpec::Eq { n: 3 }.matrix().expect("small EQ");
    let limits = Limits::default();
    bencher.bench(|| min_rectangles(divan::black_box(&m), RectangleKind::Cover0, &limits, None));
}

/// The hardest partition among 20,000 random matrices of 64 cells tried: 16 rectangles, against a
/// root lower bound one short, so the search must rule out 15 (a few hundred thousand nodes).
#[divan::bench(sample_count = 3)]
fn hard_8x8_partition(bencher: divan::Bencher) {
    let m = CommMatrix::parse(
        "00000111\n00001100\n00110101\n00010101\n00101011\n11110111\n10111100\n10101110",
    )
    .expect("a valid matrix");
    let limits = Limits::default();
    bencher.bench(|| {
        min_rectangles(
            divan::black_box(&m),
            RectangleKind::Partition,
            &limits,
            None,
        )
    });
}
