//! `ccsep check` end to end: INDEX n = 16 and n = 20 with a random LSTM of width 32 at 8-bit
//! fixed point (`fixed:1.6`), the whole exhaustive check (Alice's walk, Bob's phase, the exact
//! accuracy, the forward-pass comparison and the one-way CC).

use ccsep::app::ModelSource;
use ccsep::numeric::Precision;
use ccsep::protocol::CheckOptions;
use ccsep::protocol::Split;
use ccsep::protocol::rnn::check;
use ccsep::task::{Reduction, ReductionKind};

fn main() {
    divan::main();
}

#[divan::bench(args = [16, 20], sample_count = 3, sample_size = 1)]
fn index_lstm32_fixed_1_6(bencher: divan::Bencher, n: u32) {
    let r = Reduction::new(ReductionKind::IndexLookup, n).unwrap();
    let source = ModelSource::Random {
        arch: "lstm".into(),
        width: 32,
        layers: 1,
        output: 1,
        seed: 1,
        heads: None,
    };
    let model = source.build(r.task().input_dim()).unwrap();
    let split = Split::new(r).unwrap();
    let p = Precision::parse("fixed:1.6").unwrap();
    bencher.bench(|| {
        check(
            &model,
            &source,
            &p,
            &split,
            &CheckOptions::default(),
            &|_| {},
        )
        .unwrap()
    });
}
