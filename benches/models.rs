//! Forward throughput of the models at a precision: a batch of 65,536 sequences of length 16,
//! width 32, through `Prepared::final_outputs` (blocks of 16 lanes, rayon across blocks), for an
//! LSTM and a 1-layer Transformer (4 heads, MLP 128, pre-LN, learned positions, causal), at `f32`
//! and at two emulated 8-bit formats. `benches/torch_forward.py` times PyTorch on the same shapes
//! (2 threads), so the two can be set side by side. Models and inputs are built outside the
//! timed part.

use std::hint::black_box;
use std::sync::LazyLock;

use ccsep::model::{Model, PosSpec, Spec, TransformerSpec, random_init};
use ccsep::numeric::{Precision, Stats};
use divan::Bencher;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BATCH: usize = 65_536;
const LEN: usize = 16;
const WIDTH: usize = 32;

fn main() {
    divan::main();
}

static INPUTS: LazyLock<Vec<Vec<Vec<f64>>>> = LazyLock::new(|| {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..BATCH)
        .map(|_| {
            (0..LEN)
                .map(|_| (0..WIDTH).map(|_| rng.random_range(-1.0..1.0)).collect())
                .collect()
        })
        .collect()
});

fn lstm() -> Model {
    let spec = Spec::Lstm {
        input: WIDTH,
        hidden: WIDTH,
        layers: 1,
        output: None,
    };
    random_init(&spec, 0).expect("valid spec")
}

fn transformer() -> Model {
    let spec = Spec::Transformer(TransformerSpec {
        input: WIDTH,
        d_model: WIDTH,
        heads: 4,
        layers: 1,
        d_ff: Some(4 * WIDTH),
        output: None,
        layer_norm: true,
        pos: PosSpec::Learned { max_len: LEN },
        causal: true,
    });
    random_init(&spec, 0).expect("valid spec")
}

fn run(bencher: Bencher, model: Model, prec: &str) {
    let mut stats = Stats::default();
    let prec = Precision::parse(prec).expect("valid precision");
    let prepared = model
        .prepare(&prec, &mut stats)
        .expect("resolved precision");
    let inputs = &*INPUTS;
    bencher.bench(|| {
        let mut stats = Stats::default();
        black_box(
            prepared
                .final_outputs(inputs, &mut stats)
                .expect("valid inputs"),
        )
    });
}

#[divan::bench(args = ["f32", "e4m3", "fixed:1.6"], sample_count = 3, sample_size = 1)]
fn lstm_65536x16(bencher: Bencher, prec: &str) {
    run(bencher, lstm(), prec);
}

#[divan::bench(args = ["f32", "e4m3", "fixed:1.6"], sample_count = 3, sample_size = 1)]
fn transformer_65536x16(bencher: Bencher, prec: &str) {
    run(bencher, transformer(), prec);
}
