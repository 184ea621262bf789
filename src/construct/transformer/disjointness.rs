//! Thm 13 for DISJ: a threshold of `n` 2-sparse features `φ_i = x_i ∧ y_i`, computed by a
//! two-layer softmax Transformer with one head per feature index (two heads), width `2k + 6`
//! (`k = O(log N)`) and `O(log N)` bits per number, reading the task's own one-hot tokens
//! `x_0 … x_{n−1} | y_0 … y_{n−1}` (the `disjointness` reduction: `N = 2n` bits, `T = 2n + 1`
//! positions). The output is positive exactly when the sets are disjoint.
//!
//! Feature `i` depends on the positions `i` (its first index) and `n + 1 + i` (its second), and
//! is computed at its *host* `n + 1 + i`. The construction, block by block:
//! - embedding: `bit` is 1 on a token `1`; the positional table writes the sign code `T(t)`
//!   (±1 entries, one distinct code per position) into `pos_code`, the code of the host's first
//!   index `T(i)` into `first_index_code` (its own code at positions that host no feature), and
//!   `1` into `host` at the hosts;
//! - layer 1, head 1 (first index): `q = η·first_index_code`, `k = pos_code`, value `bit` into
//!   `first_bit`; head 2 (second index, here the host itself): `q = η·pos_code`, `k = pos_code`,
//!   value `bit` into `second_bit`. `η` makes both heads exactly hard at the precision;
//! - layer 1 MLP: `feature = relu(first_bit + second_bit + host − 2)`, i.e. `x_i ∧ y_i` at the
//!   hosts and 0 elsewhere (the generic Thm 13 MLP would tabulate any function of the `k` bits);
//! - layer 2, head 1: uniform attention (zero queries) reading `feature` into `feature_mean`
//!   `= p·|x ∩ y|`; head 2 is idle (zero weights), since the model's head count is per model;
//! - head: `out = p̂ − 2·feature_mean` with `p̂ = round(1/T)`: the threshold "no feature is 1".
//!
//! `proofs/thm13-disjointness.md` derives every constant. Layer 2 and the head are
//! [`two_party`]'s, shared with equality; this module is the comparison
//! [`Disjoint`]: its codes, first layer and instances.

use serde_json::json;

use super::super::kit::residual::Residual;
use super::super::kit::tally::{Depth, indices, indices_words};
use super::super::{Built, ConstructOptions, SizePoint};
use super::two_party::{self, Comparison, EXHAUSTIVE_MAX_N, PairFamily, Plan, all_pairs};
use crate::error::InputError;
use crate::model::{Block, Linear, Matrix};
use crate::task::{Disjointness, Token};

pub use super::two_party::MAX_N;

/// The paper's result this module realises.
pub const RESULT: &str = "Thm 13";

/// Heads: one per index of a feature.
const HEADS: usize = 2;

/// The comparison of disjointness: the feature `x_i ∧ y_i` at its host, and the answer "no
/// feature is 1".
#[derive(Clone, Debug, PartialEq)]
pub struct Disjoint;

/// The design of one Thm 13 Transformer for DISJ.
pub type Design = two_party::Design<Disjoint>;

impl Comparison for Disjoint {
    const NAME: &'static str = "disjointness";
    const RESULT: &'static str = RESULT;
    const HEADS: usize = HEADS;
    const COMPARED: &'static str = "feature";
    const MEAN: &'static str = "feature_mean";
    const CODE_ROWS: &'static str = "2n + 1";
    type Task = Disjointness;
    type Pairs = Pairs;

    /// One position code per position.
    fn code_rows(n: usize) -> usize {
        2 * n + 1
    }

    fn codes_collide(n: usize, k: usize, _gamma: f64) -> InputError {
        InputError::new(format!(
            "disjointness: two of the {} position codes of length {k} coincide or are opposite; use longer codes",
            2 * n + 1
        ))
    }

    /// A quarter of one feature over all `n` hosts.
    fn leak(n: usize) -> f64 {
        1.0 / (8.0 * n as f64)
    }

    fn layout(k: usize) -> Residual {
        let mut r = Residual::new();
        r.add("bit", 1);
        r.add("pos_code", k);
        r.add("first_index_code", k);
        r.add("host", 1);
        r.add("first_bit", 1);
        r.add("second_bit", 1);
        r.add(Self::COMPARED, 1);
        r.add(Self::MEAN, 1);
        r
    }

    /// The embedding (`bit`), the positional table (the position's code, its host's first
    /// index's code, and `host`), and layer 1: head 1 reads the first index's bit, head 2 the
    /// host's own, and the MLP their AND.
    fn first_layer(design: &Design, res: &Residual) -> Result<(Matrix, Matrix, Block), InputError> {
        let (d, n, k) = (res.dim(), design.n, design.codes.cols());
        let len = 2 * n + 1;
        let bit = res.one("bit");
        // Tokens: 0, 1, | — only `1` writes.
        let mut embed = Matrix::zeros(d, 3);
        embed.set(bit, Disjointness::bit(true) as usize, 1.0);
        let mut pos = Matrix::zeros(len, d);
        for t in 0..len {
            let first = if t > n { t - n - 1 } else { t };
            res.set_row(&mut pos, t, "pos_code", design.codes.row(t));
            res.set_row(&mut pos, t, "first_index_code", design.codes.row(first));
            if t > n {
                pos.set(t, res.one("host"), 1.0);
            }
        }
        // Head h reads rows h·k … (h+1)·k − 1 of q and k.
        let mut q1 = Matrix::zeros(HEADS * k, d);
        let mut k1 = Matrix::zeros(HEADS * k, d);
        for e in 0..k {
            q1.set(e, res.at("first_index_code", e), design.eta);
            q1.set(k + e, res.at("pos_code", e), design.eta);
            k1.set(e, res.at("pos_code", e), 1.0);
            k1.set(k + e, res.at("pos_code", e), 1.0);
        }
        let mut v1 = Matrix::zeros(HEADS, d);
        v1.set(0, bit, 1.0);
        v1.set(1, bit, 1.0);
        let mut o1 = Matrix::zeros(d, HEADS);
        o1.set(res.one("first_bit"), 0, 1.0);
        o1.set(res.one("second_bit"), 1, 1.0);
        // feature = relu(first_bit + second_bit + host − 2).
        let mut fc1 = Matrix::zeros(1, d);
        for block in ["first_bit", "second_bit", "host"] {
            fc1.set(0, res.one(block), 1.0);
        }
        let layer1 = Block {
            ln1: None,
            q: Linear::new(q1, None)?,
            k: Linear::new(k1, None)?,
            v: Linear::new(v1, None)?,
            o: Linear::new(o1, None)?,
            ln2: None,
            mlp: Some((
                Linear::new(fc1, Some(vec![-2.0]))?,
                Linear::new(res.write(Self::COMPARED), None)?,
            )),
        };
        Ok((embed, pos, layer1))
    }

    fn task(n: usize) -> Result<Disjointness, InputError> {
        Disjointness::new(2 * n)
    }

    fn tokens(_task: &Disjointness, x: &[bool], y: &[bool]) -> Vec<Token> {
        x.iter()
            .map(|&b| Disjointness::bit(b))
            .chain([Disjointness::separator()])
            .chain(y.iter().map(|&b| Disjointness::bit(b)))
            .collect()
    }

    fn plan(n: usize, opts: &ConstructOptions, depth: Depth) -> Plan<Pairs> {
        plan(n, opts, depth)
    }

    fn details(n: usize) -> serde_json::Value {
        json!({ "features": n, "sparsity": 2 })
    }

    /// An RNN needs `m·p ≥ n` (the one-way CC of DISJ_n is `n`).
    fn other_bound(n: usize) -> (f64, String) {
        (
            n as f64,
            format!("RNN: m·p ≥ n = {n} bits (the one-way CC of DISJ_{n}: every x is its own row)"),
        )
    }
}

/// Sets as bit vectors: all, none, evens, odds, the first half.
fn patterns(n: usize) -> Vec<Vec<bool>> {
    vec![
        vec![true; n],
        vec![false; n],
        (0..n).map(|i| i % 2 == 0).collect(),
        (0..n).map(|i| i % 2 == 1).collect(),
        (0..n).map(|i| i < n / 2).collect(),
    ]
}

/// The pairs `(x, y)` of a verification, made as they are checked (at `n = 2^14` the
/// structured family alone would hold 3 GiB).
pub enum Pairs {
    /// Every pair of `n`-bit sets.
    All(usize),
    /// Structured worst cases: disjoint pairs with maximal sets (`y = ¬x` for every pattern
    /// `x` of `pats`, which include the empty pair); pairs meeting in exactly index `i`, for
    /// every `i` of `at` (`{i}` against `{i}`, and `S ∪ {i}` against `¬S ∪ {i}` for every
    /// pattern `S`); and `x = y = all`, which meets everywhere.
    Structured {
        pats: Vec<Vec<bool>>,
        at: Vec<usize>,
    },
}

impl Pairs {
    /// The structured family: every pattern and index, or for a screen (`Depth::Screen`) the
    /// patterns all / none and at most `SCREEN_INDICES` indices.
    fn structured(n: usize, depth: Depth) -> Pairs {
        let mut pats = patterns(n);
        if !depth.full() {
            pats.truncate(2);
        }
        Pairs::Structured {
            pats,
            at: indices(n, depth),
        }
    }
}

impl PairFamily for Pairs {
    fn count(&self) -> u64 {
        match self {
            Pairs::All(n) => 1 << (2 * n),
            Pairs::Structured { pats, at } => (1 + pats.len() + at.len() * (1 + pats.len())) as u64,
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (Vec<bool>, Vec<bool>)> + '_> {
        let not = |v: &[bool]| v.iter().map(|b| !b).collect::<Vec<bool>>();
        match self {
            &Pairs::All(n) => Box::new(all_pairs(n)),
            Pairs::Structured { pats, at } => {
                let n = pats[0].len();
                let disjoint = pats.iter().map(move |s| (s.clone(), not(s)));
                let meeting = at.iter().flat_map(move |&i| {
                    let mut single = vec![false; n];
                    single[i] = true;
                    std::iter::once((single.clone(), single)).chain(pats.iter().map(move |s| {
                        let (mut x, mut y) = (s.clone(), not(s));
                        x[i] = true;
                        y[i] = true;
                        (x, y)
                    }))
                });
                Box::new(
                    std::iter::once((vec![true; n], vec![true; n]))
                        .chain(disjoint)
                        .chain(meeting),
                )
            }
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
                "every pair (x, y) of {n}-bit sets ({} instances)",
                1u64 << (2 * n)
            ),
        };
    }
    let pairs = Pairs::structured(n, depth);
    let samples = if full { opts.samples } else { 0 };
    let words = format!(
        "disjoint pairs with maximal sets (y = ¬x for x = {}), pairs meeting in exactly one index ({}: {{i}} vs {{i}}, S ∪ {{i}} vs ¬S ∪ {{i}} for those S), x = y = all{}",
        if full {
            "all, none, evens, odds, first half"
        } else {
            "all, none"
        },
        indices_words(n, depth, "indices"),
        if full {
            format!(", plus {samples} random instances (seed {})", opts.seed)
        } else {
            String::new()
        }
    );
    Plan {
        pairs,
        samples,
        exhaustive: false,
        words,
    }
}

/// `ccsep construct disjointness --n N`: builds the Thm 13 Transformer for DISJ on `n` bits per
/// party with position codes of margin `opts.gamma`, and verifies it
/// ([`two_party::construct`]).
pub fn construct(opts: &ConstructOptions) -> Result<Built, InputError> {
    two_party::construct::<Disjoint>(opts)
}

/// The smallest `d_model × heads × bits` found at `opts.n` ([`two_party::smallest`]).
pub fn smallest(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    two_party::smallest::<Disjoint>(opts)
}

#[cfg(test)]
mod tests {
    use super::super::super::kit::grid::fixed_point;
    use super::super::super::kit::search::code_candidates;
    use super::super::super::kit::tally::{Stop, Tally};
    use super::super::super::vectors::sign_codes;
    use super::*;
    use crate::model::Model;
    use crate::model::decode;
    use crate::numeric::Precision;
    use crate::numeric::Stats;
    use crate::task::Task;

    fn verify(
        model: &Model,
        prec: &Precision,
        n: usize,
        opts: &ConstructOptions,
        p: &Plan<Pairs>,
        stop: Stop,
    ) -> Result<Tally, InputError> {
        two_party::verify::<Disjoint>(model, prec, n, opts, p, stop)
    }

    fn opts(n: usize) -> ConstructOptions {
        ConstructOptions {
            n,
            samples: 200,
            ..ConstructOptions::default()
        }
    }

    #[test]
    fn exhaustive_small_n_is_correct() {
        for n in [1, 2, 4, 6] {
            let c = construct(&opts(n)).unwrap();
            let r = &c.report;
            assert!(r.correct, "n = {n}: {:?}", r.first_error);
            assert!(r.exhaustive);
            assert_eq!(r.instances, 1 << (2 * n));
            assert_eq!((r.heads, r.layers), (2, 2));
        }
    }

    #[test]
    fn larger_n_on_worst_cases_and_samples() {
        let n = 20;
        let c = construct(&opts(n)).unwrap();
        assert!(c.report.correct, "{:?}", c.report.first_error);
        assert!(!c.report.exhaustive);
        assert_eq!(c.report.instances, (1 + 5 + 6 * n + 200) as u64);
    }

    #[test]
    fn the_model_agrees_with_a_lone_forward_pass() {
        let c = construct(&opts(3)).unwrap();
        let (model, prec) = (c.model.unwrap(), c.precision.unwrap());
        let task = Disjointness::new(6).unwrap();
        for (text, disjoint) in [
            ("101|010", true),
            ("101|001", false),
            ("000|111", true),
            ("111|111", false),
        ] {
            let inputs = task
                .embed_one_hot(&task.vocab().parse(text).unwrap())
                .unwrap();
            let trace = model
                .forward(&inputs, &prec, &mut Stats::default())
                .unwrap();
            assert_eq!(decode(trace.outputs.last().unwrap()), disjoint, "{text}");
        }
    }

    fn design(n: usize, prec: &Precision) -> Design {
        let (codes, _) = sign_codes(2 * n + 1, 0.25, 0).unwrap();
        Design::new(n, codes, prec).unwrap()
    }

    fn check(d: &Design, prec: &Precision) -> Tally {
        let p = plan(d.n, &opts(d.n), Depth::Full);
        verify(&d.model().unwrap(), prec, d.n, &opts(d.n), &p, Stop::Never).unwrap()
    }

    #[test]
    fn eta_too_small_is_caught() {
        let prec = fixed_point(8, 6).unwrap();
        let mut d = design(4, &prec);
        assert_eq!(check(&d, &prec).errors, 0);
        d.eta = 0.25;
        let t = check(&d, &prec);
        assert!(t.errors > 0 && t.first_error.is_some(), "{t:?}");
    }

    #[test]
    fn a_perturbed_code_row_is_caught() {
        let prec = fixed_point(8, 6).unwrap();
        let mut d = design(4, &prec);
        // Position 1 now carries position 0's code: feature 1 reads x_0 (or both) instead of x_1.
        let row0 = d.codes.row(0).to_vec();
        for (e, v) in row0.into_iter().enumerate() {
            d.codes.set(1, e, v);
        }
        let t = check(&d, &prec);
        assert!(t.errors > 0, "{t:?}");
    }

    #[test]
    fn a_wrong_threshold_is_caught() {
        let prec = fixed_point(8, 6).unwrap();
        let mut d = design(4, &prec);
        d.threshold *= 3.0;
        assert!(check(&d, &prec).errors > 0);
        d.threshold = 0.0;
        assert!(check(&d, &prec).errors > 0);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(construct(&opts(0)).is_err());
        assert!(construct(&opts(MAX_N + 1)).is_err());
        assert!(
            construct(&ConstructOptions {
                gamma: 0.0,
                ..opts(4)
            })
            .is_err()
        );
        let huge = ConstructOptions {
            samples: u64::MAX / 2,
            ..opts(40)
        };
        assert!(construct(&huge).unwrap_err().message.contains("operations"));
    }

    #[test]
    fn smallest_is_correct_and_beaten_by_nothing_one_bit_shorter() {
        let o = opts(4);
        let s = smallest(&o).unwrap();
        assert!(s.correct && s.heads == 2);
        assert_eq!(
            s.size_bits,
            (s.width * s.heads) as u64 * u64::from(s.bits_per_number)
        );
        let crate::numeric::Format::Fixed {
            int_bits,
            frac_bits,
        } = Precision::parse(&s.precision).unwrap().format()
        else {
            panic!("fixed point")
        };
        let cand = code_candidates(9, o.seed)
            .map(Result::unwrap)
            .find(|c| 2 * c.codes.cols() + 6 == s.width)
            .unwrap();
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
