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
//! `proofs/thm13-disjointness.md` derives every constant.

use serde_json::json;

use super::super::kit::budget::OPS_PER_POSITION;
use super::super::kit::budget::{refuse_search, refuse_work};
use super::super::kit::grid::{
    given_or_design, hard_gap, round_up, score_scale, step_at, uniform_weight,
};
use super::super::kit::residual::Residual;
use super::super::kit::search::{
    CodeCandidate, SizeSearch, code_candidates, integer_bits_hint, search_sizes,
};
use super::super::kit::tally::{Depth, Stop, Tally, indices, indices_words};
use super::super::vectors::{sign_codes, worst_inner};
use super::super::{Built, ConstructOptions, SizePoint};
use super::equality::design_precision;
use super::two_party::{PairInstances, all_pairs, verify_pairs};
use super::{CAUSAL, Verified, finish};
use crate::error::InputError;
use crate::model::{Block, Linear, Matrix, Model, PosCode, Transformer};
use crate::numeric::Precision;
use crate::task::{Disjointness, Token};

/// The paper's result this module realises.
pub const RESULT: &str = "Thm 13";

/// Largest `n` (bits per party) checked on every pair `(x, y)`: `4^8 = 65536` instances.
pub const EXHAUSTIVE_MAX_N: usize = 8;

/// Largest `n` accepted (the positional table has `2n + 1` rows).
pub const MAX_N: usize = 1 << 15;

/// Heads: one per index of a feature.
const HEADS: usize = 2;

/// The design of one Thm 13 Transformer for DISJ.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// Bits per party (`T = 2n + 1` positions).
    pub n: usize,
    /// The position codes `T(0) … T(2n)`, one per row, entries ±1.
    pub codes: Matrix,
    /// The worst normalised inner product of the codes.
    pub gamma: f64,
    /// The query scale of both layer-1 heads (on the precision's grid).
    pub eta: f64,
    /// The head's bias `p̂ = round(1/T)`.
    pub threshold: f64,
}

impl Design {
    /// The design for `n` bits per party at `prec` with `2n + 1` position codes of entries ±1.
    /// Fails when two codes coincide (γ ≥ 1) or the precision rounds `1/√k` or `1/T` to 0.
    pub fn new(n: usize, codes: Matrix, prec: &Precision) -> Result<Self, InputError> {
        check_n(n)?;
        let len = 2 * n + 1;
        if codes.rows() != len || codes.cols() == 0 {
            return Err(InputError::new(format!(
                "disjointness: need 2n + 1 = {len} code rows of length ≥ 1, got {}×{}",
                codes.rows(),
                codes.cols()
            )));
        }
        let k = codes.cols();
        let gamma = worst_inner(&codes) / k as f64;
        if gamma >= 1.0 {
            return Err(InputError::new(format!(
                "disjointness: two of the {len} position codes of length {k} coincide or are opposite; use longer codes"
            )));
        }
        let c = score_scale(prec, k)?;
        let g = hard_gap(prec, len, leak(n));
        let nominal = g / (c * k as f64 * (1.0 - gamma));
        let slack = 4.0 * step_at(prec, nominal * k as f64 * c);
        let eta = round_up(prec, (g + slack) / (c * k as f64 * (1.0 - gamma)));
        let threshold = uniform_weight(prec, len)?;
        Ok(Design {
            n,
            codes,
            gamma,
            eta,
            threshold,
        })
    }

    /// The residual stream's named blocks.
    pub fn layout(&self) -> Residual {
        let k = self.codes.cols();
        let mut r = Residual::new();
        r.add("bit", 1);
        r.add("pos_code", k);
        r.add("first_index_code", k);
        r.add("host", 1);
        r.add("first_bit", 1);
        r.add("second_bit", 1);
        r.add("feature", 1);
        r.add("feature_mean", 1);
        r
    }

    /// The Transformer (two heads, causal, no layer norm) with these constants.
    pub fn model(&self) -> Result<Model, InputError> {
        let res = self.layout();
        let d = res.dim();
        let (n, k) = (self.n, self.codes.cols());
        let len = 2 * n + 1;
        let at = |name: &str| res.range(name).start;
        let (bit, code, first_code, host) = (
            at("bit"),
            at("pos_code"),
            at("first_index_code"),
            at("host"),
        );
        let (first_bit, second_bit, feature, mean) = (
            at("first_bit"),
            at("second_bit"),
            at("feature"),
            at("feature_mean"),
        );
        // Tokens: 0, 1, | — only `1` writes.
        let mut embed = Matrix::zeros(d, 3);
        embed.set(bit, Disjointness::bit(true) as usize, 1.0);
        let mut pos = Matrix::zeros(len, d);
        for t in 0..len {
            let first = if t > n { t - n - 1 } else { t };
            for e in 0..k {
                pos.set(t, code + e, self.codes.get(t, e));
                pos.set(t, first_code + e, self.codes.get(first, e));
            }
            if t > n {
                pos.set(t, host, 1.0);
            }
        }
        // Head h reads rows h·k … (h+1)·k − 1 of q and k.
        let mut q1 = Matrix::zeros(HEADS * k, d);
        let mut k1 = Matrix::zeros(HEADS * k, d);
        for e in 0..k {
            q1.set(e, first_code + e, self.eta);
            q1.set(k + e, code + e, self.eta);
            k1.set(e, code + e, 1.0);
            k1.set(k + e, code + e, 1.0);
        }
        let mut v1 = Matrix::zeros(HEADS, d);
        v1.set(0, bit, 1.0);
        v1.set(1, bit, 1.0);
        let mut o1 = Matrix::zeros(d, HEADS);
        o1.set(first_bit, 0, 1.0);
        o1.set(second_bit, 1, 1.0);
        let mut fc1 = Matrix::zeros(1, d);
        fc1.set(0, first_bit, 1.0);
        fc1.set(0, second_bit, 1.0);
        fc1.set(0, host, 1.0);
        let layer1 = Block {
            ln1: None,
            q: Linear::new(q1, None)?,
            k: Linear::new(k1, None)?,
            v: Linear::new(v1, None)?,
            o: Linear::new(o1, None)?,
            ln2: None,
            mlp: Some((
                Linear::new(fc1, Some(vec![-2.0]))?,
                Linear::new(res.write("feature"), None)?,
            )),
        };
        // Layer 2: head 1 uniform over `feature`, head 2 idle.
        let mut v2 = Matrix::zeros(HEADS, d);
        v2.set(0, feature, 1.0);
        let mut o2 = Matrix::zeros(d, HEADS);
        o2.set(mean, 0, 1.0);
        let layer2 = Block {
            ln1: None,
            q: Linear::new(Matrix::zeros(HEADS, d), None)?,
            k: Linear::new(Matrix::zeros(HEADS, d), None)?,
            v: Linear::new(v2, None)?,
            o: Linear::new(o2, None)?,
            ln2: None,
            mlp: None,
        };
        let mut head = Matrix::zeros(1, d);
        head.set(0, mean, -2.0);
        let tr = Transformer::new(
            Linear::new(embed, None)?,
            PosCode::Table(pos),
            vec![layer1, layer2],
            None,
            Some(Linear::new(head, Some(vec![self.threshold]))?),
            HEADS,
            CAUSAL,
        )?;
        Ok(Model::Transformer(tr))
    }

    /// Operations of one instance through `final_outputs_flat` (for the refusal estimate):
    /// about `OPS_PER_POSITION` per position (the rows the fast pass keeps: the bit, the host,
    /// layer 1's two values and their sums over the stored weights, the feature, layer 2's
    /// value), whatever the code length.
    fn work(&self) -> f64 {
        (2 * self.n + 1) as f64 * OPS_PER_POSITION
    }

    /// Operations computed once per verification: both layer-1 heads' position-only attention
    /// weights, `T²/2` scores of `k` multiply-adds each (vectorised: `k/8`) and the softmax's
    /// passes over each (about 6).
    fn setup_work(&self) -> f64 {
        let t = (2 * self.n + 1) as f64;
        HEADS as f64 * t * t / 2.0 * (self.codes.cols() as f64 / 8.0 + 6.0)
    }
}

/// The total weight float formats may leak past a hard head: a quarter of one feature over
/// all `n` hosts.
fn leak(n: usize) -> f64 {
    1.0 / (8.0 * n as f64)
}

fn check_n(n: usize) -> Result<(), InputError> {
    if (1..=MAX_N).contains(&n) {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "disjointness: --n is the bits per party, between 1 and {MAX_N}; got {n}"
        )))
    }
}

fn tokens(x: &[bool], y: &[bool]) -> Vec<Token> {
    x.iter()
        .map(|&b| Disjointness::bit(b))
        .chain([Disjointness::separator()])
        .chain(y.iter().map(|&b| Disjointness::bit(b)))
        .collect()
}

/// The instances a verification at `n` runs, and their description.
struct Plan {
    pairs: Pairs,
    samples: u64,
    exhaustive: bool,
    words: String,
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
enum Pairs {
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

    fn len(&self) -> u64 {
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

fn plan(n: usize, opts: &ConstructOptions, depth: Depth) -> Plan {
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

fn verify(
    model: &Model,
    prec: &Precision,
    n: usize,
    opts: &ConstructOptions,
    p: &Plan,
    stop: Stop,
) -> Result<Tally, InputError> {
    let task = Disjointness::new(2 * n)?;
    let (pairs, count) = (p.pairs.iter(), p.pairs.len());
    let inst = PairInstances {
        task: &task,
        pairs,
        count,
        tokens,
        samples: p.samples,
    };
    verify_pairs(model, prec, inst, opts, stop)
}

fn build_and_verify(
    design: &Design,
    prec: &Precision,
    opts: &ConstructOptions,
    depth: Depth,
) -> Result<Built, InputError> {
    let n = design.n;
    let p = plan(n, opts, depth);
    refuse_work(
        "disjointness",
        n,
        p.pairs.len() + p.samples,
        design.work(),
        design.setup_work(),
        opts,
    )?;
    let model = design.model()?;
    let t = verify(&model, prec, n, opts, &p, depth.stop())?;
    let k = design.codes.cols();
    let details = json!({
        "features": n,
        "sparsity": 2,
        "code_length_k": k,
        "code_rows": design.codes.rows(),
        "gamma": opts.gamma,
        "worst_inner_product": design.gamma,
        "eta": design.eta,
        "score_scale": score_scale(prec, k).ok(),
        "hard_gap": hard_gap(prec, 2 * n + 1, leak(n)),
        "threshold": design.threshold,
        "positions": 2 * n + 1,
        "saturated_roundings": t.saturated,
        "layout": design.layout().to_json(),
        "seed": opts.seed,
    });
    Ok(finish(
        Verified {
            name: "disjointness",
            result: RESULT,
            n,
            verified_on: p.words,
            exhaustive: p.exhaustive,
            tally: &t,
            details,
        },
        model,
        prec,
    ))
}

/// `ccsep construct disjointness --n N`: builds the Thm 13 Transformer for DISJ on `n` bits per
/// party with position codes of margin `opts.gamma`, and verifies it at `opts.precision`
/// (default: the derivation's precision, as for equality) — on every pair for `n ≤ 8`, else on
/// the structured worst cases plus `opts.samples` random instances.
pub fn construct(opts: &ConstructOptions) -> Result<Built, InputError> {
    let n = opts.n;
    check_n(n)?;
    let (codes, gamma) = sign_codes(2 * n + 1, opts.gamma, opts.seed)?;
    let k = codes.cols();
    let prec = given_or_design(opts.precision, 2 * n + 1, || design_precision(n, k, gamma))?;
    let design = Design::new(n, codes, &prec)?;
    build_and_verify(&design, &prec, opts, Depth::Full)
}

/// The smallest `d_model × heads × bits` found at `opts.n` (the search of `equality`). The
/// other bound: an RNN needs `m·p ≥ n` (the one-way CC of DISJ_n is `n`).
pub fn smallest(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    let n = opts.n;
    check_n(n)?;
    let len = 2 * n + 1;
    let f_min = ((len as f64).log2().floor() as u32).saturating_sub(1);
    let k_guess = 4 * ((len as f64).log2().ceil() as usize + 2);
    let probe = Design {
        n,
        codes: Matrix::zeros(len, k_guess),
        gamma: 0.0,
        eta: 0.0,
        threshold: 0.0,
    };
    refuse_search(
        "disjointness",
        60.0,
        probe.work() * Pairs::structured(n, Depth::Screen).len() as f64 + probe.setup_work(),
        probe.work() * (plan(n, opts, Depth::Search).pairs.len() + opts.samples) as f64
            + probe.setup_work(),
        opts,
    )?;
    let width = |c: &CodeCandidate| 2 * c.codes.cols() + 6;
    let hint = |c: &CodeCandidate, f: u32| integer_bits_hint(f, c.codes.cols(), c.worst);
    let trial = |c: &CodeCandidate, prec: &Precision, depth: Depth| {
        let Ok(design) = Design::new(n, c.codes.clone(), prec) else {
            return Ok(None);
        };
        let opts = ConstructOptions {
            gamma: c.gamma,
            ..opts.clone()
        };
        build_and_verify(&design, prec, &opts, depth).map(Some)
    };
    let candidates = code_candidates(len, opts.seed);
    let search = SizeSearch {
        name: "disjointness",
        n,
        f_min,
        heads: HEADS,
        progress: &opts.progress,
    };
    let (size, c) = search_sizes(&search, candidates, width, hint, trial)?;
    Ok(SizePoint::of(
        &c.report,
        size,
        n as f64,
        format!("RNN: m·p ≥ n = {n} bits (the one-way CC of DISJ_{n}: every x is its own row)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::super::kit::grid::fixed_point;
    use super::*;
    use crate::model::decode;
    use crate::numeric::Stats;
    use crate::task::Task;

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
