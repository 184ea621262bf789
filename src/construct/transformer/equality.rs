//! Thm 6: string equality with a two-layer, one-head softmax Transformer of width
//! `k + 2|Σ| + 3` (`k = O(log N)`) at `O(log N)` bits per number, reading the task's own one-hot
//! tokens `x_0 … x_{n−1} | y_0 … y_{n−1}` (the `equality` reduction: |Σ| = 2, N = 2n symbols,
//! `T = 2n + 1` positions) so that `ccsep run` and `check` apply to it unchanged.
//!
//! The construction, block by block (names of [`Residual`] blocks in `code` font):
//! - embedding: the token's symbol one-hot into `symbol`; the positional table writes the sign
//!   code `T(i)` (entries ±1, `k` of them) of the *pair index* `i` into `pos_code` — position `i`
//!   of the first half and position `n + 1 + i` of the second share `T(i)`, the separator has
//!   `T(n)` — and `1` into `second_half` at the positions of `y`;
//! - layer 1 attention: `q = η·pos_code`, `k = pos_code`. The largest score of position `t` is
//!   at the keys that share its code: `i` and `n + 1 + i` in the second half, `t` itself
//!   elsewhere; every other key scores at least `c·η·k·(1 − γ)` lower (`γ` the worst
//!   normalised inner product of the codes, `c = 1/√k` the model's own score scale), which `η`
//!   makes large enough that the other weights round to exactly 0. The value is `symbol`, so
//!   `pair_mean = (e(x_i) + e(y_i)) / 2` in the second half;
//! - layer 1 MLP: `mismatch = second_half − Σ_s 2·relu(pair_mean_s + second_half − 3/2)`, i.e.
//!   `[x_i ≠ y_i]` (the XOR of the two bits for |Σ| = 2) in the second half and `0` elsewhere;
//! - layer 2 attention: zero queries, so uniform weights `p = round(1/T)` over all positions;
//!   the value is `mismatch`, so `mismatch_mean = p · #{i : x_i ≠ y_i}`;
//! - head: `out = p̂ − 2·mismatch_mean` with `p̂ = round(1/T)`: positive exactly when no
//!   position differs (decoded by `model::decode` as "equal").
//!
//! The paper uses two heads; one suffices here because the pair shares one code, so a single
//! head lands on both halves at once. `proofs/thm6-equality.md` derives every constant.
//!
//! Layer 2 and the head are [`two_party`]'s, shared with disjointness; this
//! module is the comparison [`Equal`]: its codes, first layer and instances.

use serde_json::json;

use super::super::kit::residual::Residual;
use super::super::kit::tally::{Depth, indices, indices_words};
use super::super::{Built, ConstructOptions, SizePoint};
use super::ONE_HEAD;
use super::two_party::{self, Comparison, EXHAUSTIVE_MAX_N, PairFamily, Plan, all_pairs};
use crate::error::InputError;
use crate::model::{Block, Linear, Matrix};
use crate::task::{EqVariant, Equality, Token};

pub use super::two_party::{MAX_N, design_precision};

/// The paper's result this module realises.
pub const RESULT: &str = "Thm 6";

/// Symbols of the reduction's alphabet.
const ALPHABET: usize = 2;

/// The comparison of string equality: `[x_i ≠ y_i]` at the second half's positions, and the
/// answer "no position differs".
#[derive(Clone, Debug, PartialEq)]
pub struct Equal;

/// The design of one Thm 6 Transformer.
pub type Design = two_party::Design<Equal>;

impl Comparison for Equal {
    const NAME: &'static str = "equality";
    const RESULT: &'static str = RESULT;
    const HEADS: usize = ONE_HEAD;
    const COMPARED: &'static str = "mismatch";
    const MEAN: &'static str = "mismatch_mean";
    const CODE_ROWS: &'static str = "n + 1";
    type Task = Equality;
    type Pairs = Pairs;

    /// One pair code per index, and one for the separator.
    fn code_rows(n: usize) -> usize {
        n + 1
    }

    fn codes_collide(n: usize, k: usize, gamma: f64) -> InputError {
        InputError::new(format!(
            "equality: two of the {} pair codes of length {k} coincide or are opposite (γ = {gamma}); use longer codes",
            n + 1
        ))
    }

    /// A quarter of one mismatch over all `n·|Σ|` symbol reads.
    fn leak(n: usize) -> f64 {
        1.0 / (8.0 * (n * ALPHABET) as f64)
    }

    fn layout(k: usize) -> Residual {
        let mut r = Residual::new();
        r.add("symbol", ALPHABET);
        r.add("pos_code", k);
        r.add("second_half", 1);
        r.add("pair_mean", ALPHABET);
        r.add(Self::COMPARED, 1);
        r.add(Self::MEAN, 1);
        r
    }

    /// The embedding (the symbol's one-hot), the positional table (the pair code, and
    /// `second_half`), and layer 1: attention on the pair codes averages the pair's two
    /// symbols into `pair_mean`, and the MLP reads their mismatch.
    fn first_layer(design: &Design, res: &Residual) -> Result<(Matrix, Matrix, Block), InputError> {
        let (d, n, a) = (res.dim(), design.n, ALPHABET);
        let len = 2 * n + 1;
        let second = res.one("second_half");
        // Tokens 0 … |Σ|−1 are symbols, token |Σ| the separator (reads nothing).
        let mut embed = Matrix::zeros(d, a + 1);
        for s in 0..a {
            embed.set(res.at("symbol", s), s, 1.0);
        }
        // Position `i` of the first half and `n + 1 + i` of the second share the code `T(i)`.
        let mut pos = Matrix::zeros(len, d);
        for t in 0..len {
            let pair_index = if t > n { t - n - 1 } else { t };
            res.set_row(&mut pos, t, "pos_code", design.codes.row(pair_index));
            if t > n {
                pos.set(t, second, 1.0);
            }
        }
        // Hidden unit s < |Σ|: relu(pair_mean_s + second_half − 3/2); unit |Σ|: relu(second_half).
        let mut fc1 = Matrix::zeros(a + 1, d);
        let mut b1 = vec![-1.5; a];
        b1.push(0.0);
        for s in 0..a {
            fc1.set(s, res.at("pair_mean", s), 1.0);
            fc1.set(s, second, 1.0);
        }
        fc1.set(a, second, 1.0);
        // mismatch = relu(second_half) − Σ_s 2·relu(pair_mean_s + second_half − 3/2).
        let mut fc2 = Matrix::zeros(d, a + 1);
        for s in 0..a {
            fc2.set(res.one(Self::COMPARED), s, -2.0);
        }
        fc2.set(res.one(Self::COMPARED), a, 1.0);
        let layer1 = Block {
            ln1: None,
            q: Linear::new(res.read("pos_code", design.eta), None)?,
            k: Linear::new(res.read("pos_code", 1.0), None)?,
            v: Linear::new(res.read("symbol", 1.0), None)?,
            o: Linear::new(res.write("pair_mean"), None)?,
            ln2: None,
            mlp: Some((Linear::new(fc1, Some(b1))?, Linear::new(fc2, None)?)),
        };
        Ok((embed, pos, layer1))
    }

    fn task(n: usize) -> Result<Equality, InputError> {
        Equality::new(ALPHABET, 2 * n, EqVariant::Random)
    }

    fn tokens(task: &Equality, x: &[bool], y: &[bool]) -> Vec<Token> {
        x.iter()
            .map(|&b| task.symbol(usize::from(b)))
            .chain([task.separator()])
            .chain(y.iter().map(|&b| task.symbol(usize::from(b))))
            .collect()
    }

    fn plan(n: usize, opts: &ConstructOptions, depth: Depth) -> Plan<Pairs> {
        plan(n, opts, depth)
    }

    fn details(_n: usize) -> serde_json::Value {
        json!({})
    }

    /// An RNN needs `m·p ≥ n` (Thm 11, one-way CC of EQ_n).
    fn other_bound(n: usize) -> (f64, String) {
        (
            n as f64,
            format!("RNN: m·p ≥ n = {n} bits (Thm 11: its state is a one-way message for EQ_{n})"),
        )
    }
}

/// The pairs `(x, y)` of a verification, made as they are checked (at `n = 2^15` the
/// structured family alone would hold 8 GiB).
pub enum Pairs {
    /// Every pair of `n`-bit strings.
    All(usize),
    /// For each string `x`: `y = x`, `y = ¬x`, and `y = x` with bit `i` flipped for each `i`
    /// of `flips`.
    Structured {
        xs: Vec<Vec<bool>>,
        flips: Vec<usize>,
    },
}

impl PairFamily for Pairs {
    fn count(&self) -> u64 {
        match self {
            Pairs::All(n) => 1 << (2 * n),
            Pairs::Structured { xs, flips } => (xs.len() * (2 + flips.len())) as u64,
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (Vec<bool>, Vec<bool>)> + '_> {
        match self {
            &Pairs::All(n) => Box::new(all_pairs(n)),
            Pairs::Structured { xs, flips } => Box::new(xs.iter().flat_map(move |x| {
                let not = x.iter().map(|b| !b).collect();
                [(x.clone(), x.clone()), (x.clone(), not)]
                    .into_iter()
                    .chain(flips.iter().map(move |&i| {
                        let mut y = x.clone();
                        y[i] = !y[i];
                        (x.clone(), y)
                    }))
            })),
        }
    }
}

fn plan(n: usize, opts: &ConstructOptions, depth: Depth) -> Plan<Pairs> {
    let full = depth.full();
    if full && n <= EXHAUSTIVE_MAX_N {
        return Plan {
            pairs: Pairs::All(n),
            samples: 0,
            exhaustive: true,
            words: format!(
                "every pair (x, y) of {n}-bit strings ({} instances)",
                1u64 << (2 * n)
            ),
        };
    }
    let mut xs = vec![vec![false; n], vec![true; n]];
    if full {
        xs.push((0..n).map(|i| i % 2 == 0).collect());
        xs.push((0..n).map(|i| i % 2 == 1).collect());
    }
    let samples = if full { opts.samples } else { 0 };
    let words = format!(
        "for {} strings x (0…0, 1…1{}): y = x, y = ¬x and y = x with one bit flipped at {}{}",
        xs.len(),
        if full { ", 1010…, 0101…" } else { "" },
        indices_words(n, depth, "positions"),
        if full {
            format!(
                ", plus {samples} random Eq-random instances (seed {})",
                opts.seed
            )
        } else {
            String::new()
        }
    );
    Plan {
        pairs: Pairs::Structured {
            xs,
            flips: indices(n, depth),
        },
        samples,
        exhaustive: false,
        words,
    }
}

/// `ccsep construct equality --n N`: builds the Thm 6 Transformer for `n` bits per party with
/// codes of margin `opts.gamma`, and verifies it ([`two_party::construct`]).
pub fn construct(opts: &ConstructOptions) -> Result<Built, InputError> {
    two_party::construct::<Equal>(opts)
}

/// The smallest `d_model × bits` found at `opts.n` ([`two_party::smallest`]).
pub fn smallest(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    two_party::smallest::<Equal>(opts)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::super::Progress;
    use super::super::super::kit::grid::fixed_point;
    use super::super::super::kit::search::code_candidates;
    use super::super::super::kit::tally::{CHUNK, SCREEN_INDICES};
    use super::super::super::kit::tally::{Stop, Tally};
    use super::super::super::vectors::sign_codes;
    use super::*;
    use crate::model::Model;
    use crate::model::decode;
    use crate::numeric::Precision;
    use crate::numeric::{Format, Stats};
    use crate::task::Task;

    fn verify(
        model: &Model,
        prec: &Precision,
        n: usize,
        opts: &ConstructOptions,
        p: &Plan<Pairs>,
        stop: Stop,
    ) -> Result<Tally, InputError> {
        two_party::verify::<Equal>(model, prec, n, opts, p, stop)
    }

    fn opts(n: usize) -> ConstructOptions {
        ConstructOptions {
            n,
            samples: 200,
            ..ConstructOptions::default()
        }
    }

    #[test]
    fn a_long_verification_says_how_many_instances_it_has_checked() {
        use std::sync::{Arc, Mutex};
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        let o = ConstructOptions {
            samples: 5000,
            // A count after every batch of `CHUNK` instances instead of every 30 s.
            progress: Progress::to(move |l| sink.lock().unwrap().push(l.to_string()))
                .every(Duration::ZERO),
            ..opts(64)
        };
        let c = construct(&o).unwrap();
        let total = c.report.instances;
        let counts: Vec<u64> = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let (done, rest) = l.trim().split_once(" of ")?;
                assert!(
                    rest.starts_with(&format!("{total} instances checked, 0 wrong (")),
                    "{l}"
                );
                done.parse().ok()
            })
            .collect();
        let batches = (1..).map(|b| b * CHUNK as u64).take_while(|&c| c < total);
        assert_eq!(counts, batches.collect::<Vec<u64>>());
    }

    #[test]
    fn exhaustive_small_n_is_correct() {
        for n in [1, 2, 3, 5, 6] {
            let c = construct(&opts(n)).unwrap();
            let r = &c.report;
            assert!(r.correct, "n = {n}: {:?}", r.first_error);
            assert!(r.exhaustive);
            assert_eq!(r.instances, 1 << (2 * n));
            assert_eq!((r.heads, r.layers), (1, 2));
        }
    }

    #[test]
    fn larger_n_on_worst_cases_and_samples() {
        let c = construct(&opts(24)).unwrap();
        assert!(c.report.correct, "{:?}", c.report.first_error);
        assert!(!c.report.exhaustive);
        assert_eq!(c.report.instances, 4 * 26 + 200);
    }

    #[test]
    fn the_model_agrees_with_a_lone_forward_pass() {
        let c = construct(&opts(3)).unwrap();
        let (model, prec) = (c.model.unwrap(), c.precision.unwrap());
        let task = Equal::task(3).unwrap();
        for text in ["010|010", "010|011", "111|110", "000|000"] {
            let tokens = task.vocab().parse(text).unwrap();
            let inputs = task.embed_one_hot(&tokens).unwrap();
            let trace = model
                .forward(&inputs, &prec, &mut Stats::default())
                .unwrap();
            let equal = text[..3] == text[4..];
            assert_eq!(decode(trace.outputs.last().unwrap()), equal, "{text}");
        }
    }

    fn design(n: usize, prec: &Precision) -> Design {
        let (codes, _) = sign_codes(n + 1, 0.25, 0).unwrap();
        Design::new(n, codes, prec).unwrap()
    }

    fn check(d: &Design, prec: &Precision) -> Tally {
        let p = plan(d.n, &opts(d.n), Depth::Full);
        verify(&d.model().unwrap(), prec, d.n, &opts(d.n), &p, Stop::Never).unwrap()
    }

    #[test]
    fn screens_take_spread_indices_and_stop_at_the_first_error() {
        assert_eq!(indices(100, Depth::Screen), (0..100).collect::<Vec<_>>());
        assert_eq!(indices(1000, Depth::Search), (0..1000).collect::<Vec<_>>());
        let spread = indices(1000, Depth::Screen);
        assert_eq!(spread.len(), SCREEN_INDICES);
        assert_eq!((spread[0], spread[SCREEN_INDICES - 1]), (0, 999));
        assert!(spread.windows(2).all(|w| w[0] < w[1]));
        // A threshold of 0 reads every equal pair as unequal: the screen stops after its first
        // batch, the full verification counts every error.
        let prec = fixed_point(10, 12).unwrap();
        let mut d = design(300, &prec);
        d.threshold = 0.0;
        let o = ConstructOptions {
            samples: 3000,
            ..opts(300)
        };
        let run = |depth: Depth| {
            let p = plan(300, &o, depth);
            verify(&d.model().unwrap(), &prec, 300, &o, &p, depth.stop()).unwrap()
        };
        let (full, search) = (run(Depth::Full), run(Depth::Search));
        assert_eq!(full.instances, 4 * 302 + 3000);
        assert!(full.errors > search.errors && search.errors > 0);
        assert!(search.instances < full.instances, "{search:?}");
        let screen_size = 2 * (SCREEN_INDICES as u64 + 2);
        assert_eq!(plan(300, &o, Depth::Screen).pairs.count(), screen_size);
        let screen = run(Depth::Screen);
        assert!(
            screen.errors > 0 && screen.instances < screen_size,
            "{screen:?}"
        );
    }

    #[test]
    fn eta_too_small_is_caught() {
        let prec = fixed_point(8, 6).unwrap();
        let mut d = design(4, &prec);
        assert_eq!(check(&d, &prec).errors, 0);
        d.eta = 0.5;
        let t = check(&d, &prec);
        assert!(t.errors > 0 && t.first_error.is_some(), "{t:?}");
    }

    #[test]
    fn a_perturbed_code_row_is_caught() {
        let prec = fixed_point(8, 6).unwrap();
        let mut d = design(4, &prec);
        // Pair 2's second-half position now carries pair 0's code: it compares the wrong bits.
        let row0 = d.codes.row(0).to_vec();
        for (e, v) in row0.into_iter().enumerate() {
            d.codes.set(2, e, v);
        }
        let t = check(&d, &prec);
        assert!(t.errors > 0, "{t:?}");
        assert!(t.first_error.unwrap().contains("->"));
    }

    #[test]
    fn a_wrong_threshold_is_caught() {
        let prec = fixed_point(8, 6).unwrap();
        let mut d = design(4, &prec);
        d.threshold *= 3.0;
        let t = check(&d, &prec);
        assert!(t.errors > 0, "one mismatch must read as unequal: {t:?}");
        d.threshold = 0.0;
        let t = check(&d, &prec);
        assert!(t.errors > 0, "no mismatch must read as equal: {t:?}");
    }

    #[test]
    fn too_few_fraction_bits_fail_verification() {
        // fixed:8.1 rounds 1/T to 0 for T = 9: the design refuses it with a reason.
        let e = Design::new(
            4,
            sign_codes(5, 0.25, 0).unwrap().0,
            &fixed_point(8, 1).unwrap(),
        );
        assert!(e.unwrap_err().message.contains("fraction bits"));
        // Enough fraction bits for 1/T but too few integer bits for the scores: wrong answers.
        let prec = fixed_point(2, 5).unwrap();
        let d = design(4, &prec);
        assert!(check(&d, &prec).errors > 0);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(construct(&opts(0)).is_err());
        assert!(
            construct(&ConstructOptions {
                gamma: 1.5,
                ..opts(4)
            })
            .is_err()
        );
        let huge = ConstructOptions {
            samples: u64::MAX / 2,
            ..opts(64)
        };
        assert!(construct(&huge).unwrap_err().message.contains("operations"));
    }

    #[test]
    fn smallest_is_correct_rebuildable_and_one_bit_less_fails() {
        let o = opts(4);
        let s = smallest(&o).unwrap();
        assert!(s.correct);
        assert_eq!(s.size_bits, s.width as u64 * u64::from(s.bits_per_number));
        assert_eq!(s.other_bound_bits, 4.0);
        let Format::Fixed {
            int_bits,
            frac_bits,
        } = Precision::parse(&s.precision).unwrap().format()
        else {
            panic!("fixed point")
        };
        // The candidate of that width rebuilds the point through `construct`.
        let cand = code_candidates(5, o.seed)
            .map(Result::unwrap)
            .find(|c| c.codes.cols() + 2 * ALPHABET + 3 == s.width)
            .unwrap();
        let rebuilt = construct(&ConstructOptions {
            gamma: cand.gamma,
            precision: Some(Precision::parse(&s.precision).unwrap()),
            ..o.clone()
        })
        .unwrap();
        assert!(rebuilt.report.correct && rebuilt.report.width == s.width);
        // One bit fewer, integer or fraction, fails (or is refused by the design).
        let fewer = [
            int_bits.checked_sub(1).map(|i| (i, frac_bits)),
            frac_bits.checked_sub(1).map(|f| (int_bits, f)),
        ];
        for (i, f) in fewer.into_iter().flatten() {
            let prec = fixed_point(i, f).unwrap();
            if let Ok(d) = Design::new(4, cand.codes.clone(), &prec) {
                assert!(check(&d, &prec).errors > 0, "{} also works", prec.name());
            }
        }
    }
}
