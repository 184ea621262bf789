//! Thm 7: nearest neighbour (NSTNB) with a two-layer, one-head softmax Transformer of width
//! `d + 3b + 5` (`b = ⌈log2 n⌉` address bits) at `O(log n)` bits per number, reading the task's
//! own inputs `x_1, y_1, …, x_n, y_n, x_q` (`Nearest::embed`: a point is `[x, 0, 0]`, a label
//! `[0_d, 1, y]`) so that `ccsep run` and `check` apply to it unchanged. The output is positive
//! exactly when the label of the point most similar to the query is 1.
//!
//! The construction, block by block:
//! - embedding: `point` = `x`; `is_label` and `label_bit` from the two label coordinates; `one`
//!   = 1 (the embedding's bias). The positional table writes the address `S(i) ∈ {±1}^b` (the
//!   bits of `i`, `+1` for a 1) of label `i` into `addr` at point `i` and at label `i`, and `1`
//!   into `query_slot` at the last position;
//! - layer 1 attention: `q = (η/c)·[point, one]`, `k = [point, −is_label − 2·query_slot]`
//!   (`c = round(1/√(d+1))`, the model's score scale), so the scores are
//!   `η·<x_q, x_j>` at the points, `−η` at the labels and `η(|x_q|² − 2)` at the query itself:
//!   every key but the nearest point scores at least `η·γ` below it. With
//!   `η = ln(18n)/γ_eff` the nearest point gets weight `> 9/10`; the value is `addr`, so each
//!   coordinate of `addr_read` has the sign of the nearest point's address and magnitude `≥ 0.8`;
//! - layer 1 MLP, a clipped ReLU per address bit:
//!   `addr_query_r = relu(2u_r + 1) − relu(2u_r − 1) − 1`, exactly `sign(u_r)` when `|u_r| ≥ 1/2`;
//! - layer 2 attention: `q = (η₂/c₂)·[addr_query, one]`, `k = [addr, is_label]`: the label with
//!   that address scores `η₂(b + 1)`, point `j*` `η₂·b` and every other key at most `η₂(b − 1)`;
//!   `η₂ = roundup(ln(8n))` puts weight `> 0.85` on it. The value is `label_bit`, into `answer`;
//! - head: `out = answer − 1/2`.
//!
//! `γ_eff` is the task's margin less what rounding the inputs can take off a similarity gap.
//! `proofs/thm7-nearest-neighbour.md` derives every constant. The dimension and margin are the
//! `nearest` task's defaults (`d = 16`, `γ = 0.1`): `ConstructOptions` carries neither.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::json;

use super::super::kit::budget::{refuse_search, refuse_work, work_limit};
use super::super::kit::grid::{fixed_point, given_or_design, round_up, score_scale, step_at};
use super::super::kit::residual::Residual;
use super::super::kit::search::{SizeSearch, search_sizes};
use super::super::kit::tally::{
    Case, Depth, SCREEN_INDICES, Tally, indices, indices_words, spread, tally,
};
use super::super::{Built, ConstructOptions, SizePoint};
use super::{CAUSAL, ONE_HEAD, Verified, finish};
use crate::error::{InputError, Setting};
use crate::model::{Block, Linear, Matrix, Model, PosCode, Transformer};
use crate::numeric::{Precision, Rounding};
use crate::task::{Nearest, example_rng};

/// The paper's result this module realises.
pub const RESULT: &str = "Thm 7";

/// The dimension of the points: the `nearest` task's default.
pub const DIM: usize = 16;

/// The margin γ between the nearest point's similarity and the others': the `nearest` task's
/// default.
pub const MARGIN: f64 = 0.1;

/// Largest number of labelled points accepted.
pub const MAX_N: usize = 1 << 15;

/// The weight layer 1 puts on the nearest point, at least (the paper's 9/10).
const NEAREST_WEIGHT: f64 = 0.9;

/// The random stream of adversarial instance `i` (in the order of [`Instance::index`]) is
/// `ADVERSARIAL_STREAM − i`: one stream per instance, far above the random instances' streams
/// `0 … samples − 1`, so that instances are made in parallel and an instance is the same
/// whichever subset of the family is run.
const ADVERSARIAL_STREAM: u64 = u64::MAX;

/// Most nearest points the adversarial family takes when every point's instances together
/// exceed the work limit: as many evenly spread points (both ends) as fit the limit, at most
/// this many and at least [`SCREEN_INDICES`] (a sample that does not fit then is refused); the
/// report says `sampled`.
const SAMPLED_POINTS: usize = 512;

/// The task's slack below the margin, kept by the adversarial instances too.
const SLACK: f64 = 1e-9;

/// The design of one Thm 7 Transformer.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// Labelled points (`T = 2n + 1` positions).
    pub n: usize,
    /// Dimension of the points.
    pub dim: usize,
    /// The task's margin γ.
    pub margin: f64,
    /// Address bits `b = max(1, ⌈log2 n⌉)`.
    pub bits: usize,
    /// The margin left after rounding, `γ_eff`.
    pub margin_eff: f64,
    /// Layer 1's temperature `η` (scores are `η·<x_q, x_j>`).
    pub eta: f64,
    /// Layer 2's temperature `η₂`.
    pub eta2: f64,
    /// The slope of the clipped ReLU (2: exact for `|u| ≥ 1/2`).
    pub clip_slope: f64,
}

impl Design {
    /// The design for `n` points of dimension `dim` with margin `margin`, at `prec`. Fails when
    /// rounding the inputs can eat the margin, or the precision rounds a score scale to 0.
    pub fn new(n: usize, dim: usize, margin: f64, prec: &Precision) -> Result<Self, InputError> {
        check_n(n)?;
        let bits = (usize::BITS - (n.max(2) - 1).leading_zeros()) as usize;
        let delta = step_at(prec, 1.0);
        // Each input coordinate moves by at most e = δ/2 (δ when rounding down): a similarity
        // by at most 2√d·e + d·e², a gap by twice that; the scores' own rounding costs less
        // than 2δ of similarity (for η ≥ 2).
        let e = if prec.rounding() == Rounding::Down {
            delta
        } else {
            delta / 2.0
        };
        let dim_f = dim as f64;
        let loss = 2.0 * (2.0 * dim_f.sqrt() * e + dim_f * e * e);
        let margin_eff = margin - loss - 2.0 * delta;
        if margin_eff <= 0.0 {
            return Err(InputError::new(format!(
                "{}: rounding the points can take {loss:.3} off the margin γ = {margin}; use more fraction bits",
                prec.name()
            )));
        }
        let others = (2 * n) as f64;
        let eta = round_up(
            prec,
            (others * NEAREST_WEIGHT / (1.0 - NEAREST_WEIGHT)).ln() / margin_eff,
        );
        let eta2 = round_up(prec, (8.0 * n as f64).ln());
        score_scale(prec, dim + 1)?;
        score_scale(prec, bits + 1)?;
        Ok(Design {
            n,
            dim,
            margin,
            bits,
            margin_eff,
            eta,
            eta2,
            clip_slope: 2.0,
        })
    }

    /// The residual stream's named blocks.
    pub fn layout(&self) -> Residual {
        let mut r = Residual::new();
        r.add("point", self.dim);
        r.add("is_label", 1);
        r.add("label_bit", 1);
        r.add("one", 1);
        r.add("query_slot", 1);
        r.add("addr", self.bits);
        r.add("addr_read", self.bits);
        r.add("addr_query", self.bits);
        r.add("answer", 1);
        r
    }

    /// The address code `S(i)`: bit `r` of `i` as `±1`.
    pub fn address(&self, i: usize, r: usize) -> f64 {
        if (i >> r) & 1 == 1 { 1.0 } else { -1.0 }
    }

    /// The Transformer (one head, causal, no layer norm) with these constants, at `prec` (the
    /// score scales `c` it folds into `W_q` are the precision's own).
    pub fn model(&self, prec: &Precision) -> Result<Model, InputError> {
        let res = self.layout();
        let d = res.dim();
        let (n, dim, b) = (self.n, self.dim, self.bits);
        let len = 2 * n + 1;
        let mut embed = Matrix::zeros(d, dim + 2);
        res.write_from(&mut embed, 0, "point");
        res.set_col(&mut embed, dim, "is_label", &[1.0]);
        res.set_col(&mut embed, dim + 1, "label_bit", &[1.0]);
        let mut bias = vec![0.0; d];
        bias[res.one("one")] = 1.0;
        let mut pos = Matrix::zeros(len, d);
        for i in 0..n {
            let code: Vec<f64> = (0..b).map(|r| self.address(i, r)).collect();
            res.set_row(&mut pos, 2 * i, "addr", &code);
            res.set_row(&mut pos, 2 * i + 1, "addr", &code);
        }
        res.set_row(&mut pos, len - 1, "query_slot", &[1.0]);
        // Layer 1: scores η·<x_q, x_j> − η·(is_label_j + 2·query_slot_j).
        let c1 = score_scale(prec, dim + 1)?;
        let w1 = self.eta / c1;
        let mut q1 = Matrix::zeros(dim + 1, d);
        let mut k1 = Matrix::zeros(dim + 1, d);
        res.read_into(&mut q1, 0, "point", w1);
        res.read_into(&mut k1, 0, "point", 1.0);
        res.set_row(&mut q1, dim, "one", &[w1]);
        res.set_row(&mut k1, dim, "is_label", &[-1.0]);
        res.set_row(&mut k1, dim, "query_slot", &[-2.0]);
        // The MLP clips each read address coordinate to ±1 (two ReLUs a coordinate) and writes
        // it into `addr_query`.
        let mut fc1 = Matrix::zeros(2 * b, d);
        let mut b1 = vec![0.0; 2 * b];
        let mut fc2 = Matrix::zeros(d, 2 * b);
        let mut b2 = vec![0.0; d];
        for r in 0..b {
            let (read, query) = (res.at("addr_read", r), res.at("addr_query", r));
            fc1.set(2 * r, read, self.clip_slope);
            fc1.set(2 * r + 1, read, self.clip_slope);
            b1[2 * r] = 1.0;
            b1[2 * r + 1] = -1.0;
            fc2.set(query, 2 * r, 1.0);
            fc2.set(query, 2 * r + 1, -1.0);
            b2[query] = -1.0;
        }
        let layer1 = Block {
            ln1: None,
            q: Linear::new(q1, None)?,
            k: Linear::new(k1, None)?,
            v: Linear::new(res.read("addr", 1.0), None)?,
            o: Linear::new(res.write("addr_read"), None)?,
            ln2: None,
            mlp: Some((Linear::new(fc1, Some(b1))?, Linear::new(fc2, Some(b2))?)),
        };
        // Layer 2: scores η₂·(<S_q, S_j> + is_label_j).
        let c2 = score_scale(prec, b + 1)?;
        let w2 = self.eta2 / c2;
        let mut q2 = Matrix::zeros(b + 1, d);
        let mut k2 = Matrix::zeros(b + 1, d);
        res.read_into(&mut q2, 0, "addr_query", w2);
        res.read_into(&mut k2, 0, "addr", 1.0);
        res.set_row(&mut q2, b, "one", &[w2]);
        res.set_row(&mut k2, b, "is_label", &[1.0]);
        let layer2 = Block {
            ln1: None,
            q: Linear::new(q2, None)?,
            k: Linear::new(k2, None)?,
            v: Linear::new(res.read("label_bit", 1.0), None)?,
            o: Linear::new(res.write("answer"), None)?,
            ln2: None,
            mlp: None,
        };
        let mut head = Matrix::zeros(1, d);
        res.set_row(&mut head, 0, "answer", &[1.0]);
        let tr = Transformer::new(
            Linear::new(embed, Some(bias))?,
            PosCode::Table(pos),
            vec![layer1, layer2],
            None,
            Some(Linear::new(head, Some(vec![-0.5]))?),
            ONE_HEAD,
            CAUSAL,
        )?;
        Ok(Model::Transformer(tr))
    }

    /// Operations of one instance (for the refusal estimate). Layer 2 reads only what the
    /// embedding writes, so before the last position the fast final pass keeps the embedding's
    /// rows and both layers' keys and values (about `2d + 2b + 20` operations per position); at
    /// the last position each layer attends over all `T` keys (`d + 1` and `b + 1`
    /// multiply-adds per score, and the softmax, about 16 operations). Making the instance
    /// costs about as much again: `n` random unit vectors of dimension `d` (about `40·d`
    /// operations each; calibrated on `construct nearest --n 1024`).
    fn work(&self) -> f64 {
        let d = self.layout().dim() as f64;
        let (t, dim, b) = ((2 * self.n + 1) as f64, self.dim as f64, self.bits as f64);
        t * (2.0 * d + 2.0 * b + 20.0) + t * (dim + b + 34.0) + self.n as f64 * 40.0 * dim
    }
}

fn check_n(n: usize) -> Result<(), InputError> {
    if (1..=MAX_N).contains(&n) {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "nearest: {} is the number of labelled points, between 1 and {MAX_N}; got {n}",
            Setting::N
        )))
    }
}

/// The precision the derivation asks for: `F` with `2√d·2^−F ≤ γ/8` (rounding the inputs
/// takes at most a quarter of the margin) and `2T·2^−F ≤ 0.3` (the softmaxes' own rounding
/// moves an attention output by less than the 0.3 of slack), and the integer bits that hold the
/// largest pre-scale scores, `η·√(d+1)` in layer 1 and `η₂·(b+1)^{3/2}` in layer 2.
pub fn design_precision(n: usize, dim: usize, margin: f64) -> Result<Precision, InputError> {
    let len = (2 * n + 1) as f64;
    let f_margin = (16.0 * (dim as f64).sqrt() / margin).log2().ceil();
    let f_softmax = (len / 0.15).log2().ceil();
    let f = f_margin.max(f_softmax).max(1.0) as u32;
    let guess = fixed_point(20, f)?;
    let d = Design::new(n, dim, margin, &guess)?;
    let layer1 = d.eta * ((dim + 1) as f64).sqrt();
    let layer2 = d.eta2 * ((d.bits + 1) as f64).powf(1.5);
    let top = 1.25 * layer1.max(layer2) + 4.0;
    fixed_point(top.log2().ceil() as u32, f)
}

/// A uniformly random unit vector (normalised Gaussian), orthogonal to `against` if given.
fn unit(rng: &mut ChaCha8Rng, dim: usize, against: Option<&[f64]>) -> Vec<f64> {
    loop {
        let mut v: Vec<f64> = (0..dim)
            .map(|_| {
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random();
                (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            })
            .collect();
        for _ in 0..2 {
            if let Some(q) = against {
                let c: f64 = v.iter().zip(q).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(x, q)| *x -= c * q);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-6 {
            v.iter_mut().for_each(|x| *x /= norm);
            return v;
        }
    }
}

/// One instance of the adversarial family: the point `nearest` at similarity `tops[top]` to the
/// query, pulled against address bit `bit` (`None`: against all bits at once), its label
/// `label`.
#[derive(Clone, Copy, Debug)]
struct Instance {
    nearest: usize,
    bit: Option<usize>,
    top: usize,
    label: bool,
}

impl Instance {
    /// Its place in the whole family (every point, every bit then `None`, every similarity of
    /// [`tops`], both labels), which names its random stream.
    fn index(&self, bits: usize) -> u64 {
        let bit = self.bit.unwrap_or(bits);
        (((self.nearest * (bits + 1) + bit) * 3 + self.top) * 2 + usize::from(self.label)) as u64
    }
}

/// The tokens and vectors of adversarial instance `inst` (from its own stream): the query; the
/// nearest point at similarity `tops(margin)[inst.top]`; every point whose address differs from
/// the nearest's in `inst.bit` (every other point, for `None`) at exactly `top − γ − 10⁻⁹`, all
/// of them at the margin and pulling `addr_read` the wrong way in that bit; every other point
/// at similarity −1 (exactly `−query`); label `inst.label` for the nearest point and the
/// opposite for all others.
fn adversarial(
    n: usize,
    dim: usize,
    margin: f64,
    inst: Instance,
    seed: u64,
) -> (Vec<u32>, Vec<Vec<f64>>) {
    let bits = address_bits(n);
    let mut rng = example_rng(seed, ADVERSARIAL_STREAM - inst.index(bits));
    let top = tops(margin)[inst.top];
    let query = unit(&mut rng, dim, None);
    let mut points: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let c = if i == inst.nearest {
                top
            } else if inst
                .bit
                .is_none_or(|r| (i >> r) & 1 != (inst.nearest >> r) & 1)
            {
                (top - margin - SLACK).max(-1.0)
            } else {
                -1.0
            };
            if c == -1.0 {
                return query.iter().map(|q| -q).collect();
            }
            let u = unit(&mut rng, dim, Some(&query));
            let s = (1.0 - c * c).max(0.0).sqrt();
            query.iter().zip(&u).map(|(q, u)| c * q + s * u).collect()
        })
        .collect();
    let mut tokens = Vec::with_capacity(2 * n + 1);
    for i in 0..n {
        tokens.push(0);
        tokens.push(Nearest::label_token(if i == inst.nearest {
            inst.label
        } else {
            !inst.label
        }));
    }
    tokens.push(0);
    points.push(query);
    (tokens, points)
}

/// Address bits of `n` labelled points: `⌈log2 n⌉`, at least 1.
fn address_bits(n: usize) -> usize {
    (usize::BITS - (n.max(2) - 1).leading_zeros()) as usize
}

/// The model's inputs and the task's answer of an instance (what [`Case`] holds besides its
/// text), made in parallel.
fn inputs_and_label(
    task: &Nearest,
    tokens: &[u32],
    points: &[Vec<f64>],
) -> Result<(Vec<f64>, bool), InputError> {
    let expected = task
        .label(tokens, points)?
        .as_bit()
        .ok_or_else(|| InputError::new("nearest: the task's label is not a bit"))?;
    Ok((task.embed(tokens, points)?.concat(), expected))
}

/// The instance as text, for `first_error`.
fn render(task: &Nearest, tokens: &[u32], points: &[Vec<f64>]) -> String {
    let sims = task.similarities(tokens, points).unwrap_or_default();
    format!(
        "{} (similarities {:?})",
        task.vocab().render(tokens),
        sims.iter()
            .map(|s| (s * 1e4).round() / 1e4)
            .collect::<Vec<f64>>()
    )
}

fn case(task: &Nearest, tokens: Vec<u32>, points: Vec<Vec<f64>>) -> Result<Case<'_>, InputError> {
    let (inputs, expected) = inputs_and_label(task, &tokens, &points)?;
    Ok(Case {
        inputs,
        expected,
        text: Box::new(move || render(task, &tokens, &points)),
    })
}

/// The similarities of the nearest point in the adversarial family: at the bottom (the labels
/// and the query itself then sit at the margin too), in the middle, at the top.
fn tops(margin: f64) -> [f64; 3] {
    [-1.0 + margin + 1e-6, 0.0, 1.0]
}

/// The similarities (indices into [`tops`]) of the nearest point a check uses: all three, or
/// for the search's screen the bottom only, where every kind of key sits at the margin.
fn tops_for(full: bool) -> &'static [usize] {
    if full { &[0, 1, 2] } else { &[0] }
}

/// Instances in the adversarial family over `points` nearest points with `bits` address bits.
fn family_count(points: usize, bits: usize, full: bool) -> u64 {
    (points * (bits + 1) * 2 * tops_for(full).len()) as u64
}

/// The nearest points of the adversarial family at `depth`, and whether they are a sample:
/// every point (the screen's evenly spread ones for `Depth::Screen`), or, when every point's
/// instances and `samples` random ones would exceed the work limit of `opts`, as many evenly
/// spread ones as fit it, between [`SCREEN_INDICES`] and [`SAMPLED_POINTS`].
fn family_points(
    d: &Design,
    depth: Depth,
    samples: u64,
    opts: &ConstructOptions,
) -> (Vec<usize>, bool) {
    let all = indices(d.n, depth);
    if !depth.full() || d.n <= SAMPLED_POINTS {
        return (all, false);
    }
    let count = family_count(all.len(), d.bits, true) + samples;
    let limit = work_limit(opts);
    if d.work() * count as f64 <= limit {
        return (all, false);
    }
    let fit = (limit / d.work()).floor() as u64;
    let points = (fit.saturating_sub(samples) / family_count(1, d.bits, true)) as usize;
    (
        spread(d.n, points.clamp(SCREEN_INDICES, SAMPLED_POINTS)),
        true,
    )
}

/// The instances a verification at `depth` runs: the adversarial family over the nearest points
/// `points` (an evenly spread sample of them when `sampled`), then `samples` random instances.
struct Plan {
    depth: Depth,
    points: Vec<usize>,
    sampled: bool,
    samples: u64,
}

impl Plan {
    /// The plan at `depth`: the random instances only for a full verification.
    fn new(d: &Design, depth: Depth, opts: &ConstructOptions) -> Plan {
        let samples = if depth.full() { opts.samples } else { 0 };
        let (points, sampled) = family_points(d, depth, samples, opts);
        Plan {
            depth,
            points,
            sampled,
            samples,
        }
    }

    /// How many instances the plan runs (`bits`: the design's address bits).
    fn instances(&self, bits: usize) -> u64 {
        family_count(self.points.len(), bits, self.depth.full()) + self.samples
    }
}

/// The plan's adversarial family (each instance from its own stream, made in parallel a block
/// at a time) then its random instances, through the model; and what was run, in words.
fn verify(
    d: &Design,
    model: &Model,
    prec: &Precision,
    opts: &ConstructOptions,
    plan: &Plan,
) -> Result<(Tally, String), InputError> {
    let task = Nearest::new(d.n, d.dim, d.margin)?;
    let task = &task;
    let Plan {
        depth,
        ref points,
        sampled,
        samples,
    } = *plan;
    let full = depth.full();
    let (n, dim, margin, seed) = (d.n, d.dim, d.margin, opts.seed);
    let family: Vec<Instance> = points
        .iter()
        .flat_map(|&nearest| {
            (0..d.bits).map(Some).chain([None]).flat_map(move |bit| {
                tops_for(full).iter().flat_map(move |&top| {
                    [false, true].map(move |label| Instance {
                        nearest,
                        bit,
                        top,
                        label,
                    })
                })
            })
        })
        .collect();
    // About 2^19 points made at once (a block holds its instances' inputs).
    let block = ((1usize << 19) / n.max(1)).clamp(16, 1024);
    let adv = family.chunks(block).flat_map(move |insts| {
        let made: Vec<Result<(Vec<f64>, bool), InputError>> = insts
            .par_iter()
            .map(|&inst| {
                let (tokens, points) = adversarial(n, dim, margin, inst, seed);
                inputs_and_label(task, &tokens, &points)
            })
            .collect();
        insts
            .iter()
            .zip(made)
            .map(move |(&inst, r)| {
                r.map(|(inputs, expected)| Case {
                    inputs,
                    expected,
                    text: Box::new(move || {
                        let (tokens, points) = adversarial(n, dim, margin, inst, seed);
                        render(task, &tokens, &points)
                    }),
                })
            })
            .collect::<Vec<_>>()
    });
    let random = (0..samples).map(|i| {
        let ex = task.generate(&mut example_rng(opts.seed, i));
        case(task, ex.tokens, ex.points)
    });
    let total = family.len() as u64 + samples;
    let t = tally(
        model,
        prec,
        adv.chain(random),
        depth.stop(),
        total,
        &opts.progress,
    )?;
    let words = format!(
        "{}adversarial: {} as the nearest at similarity {:?}, for each of the {} address bits every point with the other value of that bit at exactly γ = {} below it (the rest at −1), and every other point at the margin; its label 0 or 1 and all others' the opposite ({} instances){}",
        if sampled {
            "sampled (every point's instances together exceed the work limit at this n; --max-work raises it): "
        } else {
            ""
        },
        if sampled {
            format!("{} of the {n} points (evenly spread)", points.len())
        } else {
            indices_words(n, depth, "points")
        },
        tops_for(full)
            .iter()
            .map(|&i| tops(d.margin)[i])
            .collect::<Vec<f64>>(),
        d.bits,
        d.margin,
        family.len(),
        if samples > 0 {
            format!(
                ", plus {samples} random instances of the task's generator (seed {})",
                opts.seed
            )
        } else {
            String::new()
        }
    );
    Ok((t, words))
}

fn build_and_verify(
    design: &Design,
    prec: &Precision,
    opts: &ConstructOptions,
    depth: Depth,
) -> Result<Built, InputError> {
    let plan = Plan::new(design, depth, opts);
    let instances = plan.instances(design.bits);
    refuse_work("nearest", design.n, instances, design.work(), 0.0, opts)?;
    let model = design.model(prec)?;
    let (t, words) = verify(design, &model, prec, opts, &plan)?;
    let details = json!({
        "dim": design.dim,
        "margin": design.margin,
        "margin_after_rounding": design.margin_eff,
        "address_bits": design.bits,
        "eta": design.eta,
        "eta2": design.eta2,
        "nearest_weight_target": NEAREST_WEIGHT,
        "clip_slope": design.clip_slope,
        "positions": 2 * design.n + 1,
        "saturated_roundings": t.saturated,
        "layout": design.layout().to_json(),
        "seed": opts.seed,
    });
    Ok(finish(
        Verified {
            name: "nearest",
            result: RESULT,
            n: design.n,
            verified_on: words,
            exhaustive: false,
            tally: &t,
            details,
        },
        model,
        prec,
    ))
}

/// `ccsep construct nearest --n N`: builds the Thm 7 Transformer for `n` labelled points (the
/// task's defaults `d = 16`, `γ = 0.1`) and verifies it at `opts.precision` (default: the
/// derivation's [`design_precision`]) on the adversarial family plus `opts.samples` random
/// instances. Never exhaustive: the inputs are real vectors.
pub fn construct(opts: &ConstructOptions) -> Result<Built, InputError> {
    let n = opts.n;
    check_n(n)?;
    let prec = given_or_design(opts.precision, 2 * n + 1, || {
        design_precision(n, DIM, MARGIN)
    })?;
    let design = Design::new(n, DIM, MARGIN, &prec)?;
    build_and_verify(&design, &prec, opts, Depth::Full)
}

/// The smallest `d_model × bits` found at `opts.n`: the width is fixed by `d` and `b`, so only
/// `fixed:I.F` is searched (the search of `equality`, candidates on the adversarial family, the
/// winner also on `opts.samples` random instances). The other bound: an RNN needs `m·p ≥ n`
/// (Thm 8: `n` labelled points carry DISJ_n).
pub fn smallest(opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    let n = opts.n;
    check_n(n)?;
    let probe = Design {
        n,
        dim: DIM,
        margin: MARGIN,
        bits: address_bits(n),
        margin_eff: MARGIN,
        eta: 1.0,
        eta2: 1.0,
        clip_slope: 2.0,
    };
    refuse_search(
        "nearest",
        20.0,
        probe.work() * Plan::new(&probe, Depth::Screen, opts).instances(probe.bits) as f64,
        probe.work() * Plan::new(&probe, Depth::Search, opts).instances(probe.bits) as f64,
        opts,
    )?;
    let width = probe.layout().dim();
    let hint = |_: &(), f: u32| {
        fixed_point(20, f)
            .and_then(|p| Design::new(n, DIM, MARGIN, &p))
            .map_or(1, |d| {
                (d.eta * ((DIM + 1) as f64).sqrt() + 2.0).log2().ceil() as u32
            })
    };
    let trial = |_: &(), prec: &Precision, depth: Depth| {
        let Ok(design) = Design::new(n, DIM, MARGIN, prec) else {
            return Ok(None);
        };
        build_and_verify(&design, prec, opts, depth).map(Some)
    };
    let search = SizeSearch {
        name: "nearest",
        n,
        f_min: 1,
        heads: ONE_HEAD,
        progress: &opts.progress,
    };
    let (size, c) = search_sizes(
        &search,
        std::iter::once(Ok(())),
        move |_| width,
        hint,
        trial,
    )?;
    Ok(SizePoint::of(
        &c.report,
        size,
        n as f64,
        format!(
            "RNN: m·p ≥ n = {n} bits (Thm 8: n labelled points and their queries carry DISJ_{n}; N/2 for N ≈ 2n tokens)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode;
    use crate::numeric::Stats;

    fn opts(n: usize) -> ConstructOptions {
        ConstructOptions {
            n,
            samples: 300,
            ..ConstructOptions::default()
        }
    }

    /// The full verification of `model` (built from `d` for `n`) with `samples` random
    /// instances.
    fn full_verify(d: &Design, model: &Model, prec: &Precision, n: usize, samples: u64) -> Tally {
        let o = ConstructOptions { samples, ..opts(n) };
        let plan = Plan::new(d, Depth::Full, &o);
        verify(d, model, prec, &o, &plan).unwrap().0
    }

    #[test]
    fn correct_on_adversarial_and_random_instances() {
        for n in [1, 2, 5, 16] {
            let c = construct(&opts(n)).unwrap();
            let r = &c.report;
            assert!(r.correct, "n = {n}: {:?}", r.first_error);
            assert!(!r.exhaustive);
            let bits = (usize::BITS - (n.max(2) - 1).leading_zeros()) as u64;
            assert_eq!(r.instances, 6 * n as u64 * (bits + 1) + 300);
            assert_eq!((r.heads, r.layers), (1, 2));
        }
    }

    #[test]
    fn the_model_agrees_with_a_lone_forward_pass() {
        let c = construct(&opts(3)).unwrap();
        let (model, prec) = (c.model.unwrap(), c.precision.unwrap());
        let task = Nearest::new(3, DIM, MARGIN).unwrap();
        for i in 0..50 {
            let ex = task.generate(&mut example_rng(99, i));
            let inputs = task.embed(&ex.tokens, &ex.points).unwrap();
            let trace = model
                .forward(&inputs, &prec, &mut Stats::default())
                .unwrap();
            let want = ex.label.as_bit().unwrap();
            assert_eq!(decode(trace.outputs.last().unwrap()), want, "{}", ex.text);
        }
    }

    fn check(d: &Design, prec: &Precision) -> Tally {
        let model = d.model(prec).unwrap();
        full_verify(d, &model, prec, d.n, 300)
    }

    #[test]
    fn eta_too_small_is_caught() {
        let prec = design_precision(8, DIM, MARGIN).unwrap();
        let mut d = Design::new(8, DIM, MARGIN, &prec).unwrap();
        assert_eq!(check(&d, &prec).errors, 0);
        // The paper's temperature with the margin not corrected... and then far too cold.
        d.eta = 2.0;
        let t = check(&d, &prec);
        assert!(t.errors > 0 && t.first_error.is_some(), "{t:?}");
    }

    #[test]
    fn a_broken_clip_or_threshold_is_caught() {
        let prec = design_precision(8, DIM, MARGIN).unwrap();
        let mut d = Design::new(8, DIM, MARGIN, &prec).unwrap();
        // Slope 1/20: |u| ≤ 1 gives |addr_query| ≤ 1/20 instead of exactly 1, so layer 2's
        // scores no longer single out the label.
        d.clip_slope = 0.05;
        assert!(check(&d, &prec).errors > 0);
        let d = Design::new(8, DIM, MARGIN, &prec).unwrap();
        let Model::Transformer(t) = d.model(&prec).unwrap() else {
            unreachable!()
        };
        // The head's bias at +1/2 instead of −1/2: every answer reads 1.
        let head = t.head().unwrap();
        let broken = Transformer::new(
            t.embed().clone(),
            t.pos().clone(),
            t.blocks().to_vec(),
            None,
            Some(Linear::new(head.weight().clone(), Some(vec![0.5])).unwrap()),
            ONE_HEAD,
            CAUSAL,
        )
        .unwrap();
        let t = full_verify(&d, &Model::Transformer(broken), &prec, 8, 50);
        assert!(t.errors > 0);
    }

    #[test]
    fn a_perturbed_address_is_caught() {
        let prec = design_precision(4, DIM, MARGIN).unwrap();
        let d = Design::new(4, DIM, MARGIN, &prec).unwrap();
        let Model::Transformer(t) = d.model(&prec).unwrap() else {
            unreachable!()
        };
        // Label 1 carries label 0's address: a query near point 1 reads label 0.
        let PosCode::Table(mut pos) = t.pos().clone() else {
            unreachable!()
        };
        let addr = d.layout().range("addr");
        for r in addr.clone() {
            pos.set(3, r, pos.get(1, r));
        }
        let broken = Transformer::new(
            t.embed().clone(),
            PosCode::Table(pos),
            t.blocks().to_vec(),
            None,
            t.head().cloned(),
            ONE_HEAD,
            CAUSAL,
        )
        .unwrap();
        let t = full_verify(&d, &Model::Transformer(broken), &prec, 4, 0);
        assert!(t.errors > 0);
    }

    #[test]
    fn too_coarse_a_precision_is_refused_or_fails() {
        // fixed:10.4: rounding the points can eat the whole margin γ = 0.1.
        let e = Design::new(4, DIM, MARGIN, &fixed_point(10, 4).unwrap()).unwrap_err();
        assert!(e.message.contains("fraction bits"));
        // Enough fraction bits but too few integer bits for the scores: wrong answers.
        let prec = fixed_point(3, 10).unwrap();
        let d = Design::new(8, DIM, MARGIN, &prec).unwrap();
        assert!(check(&d, &prec).errors > 0);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(construct(&opts(0)).is_err());
        assert!(construct(&opts(MAX_N + 1)).is_err());
        let huge = ConstructOptions {
            samples: u64::MAX / 2,
            ..opts(8)
        };
        assert!(construct(&huge).unwrap_err().message.contains("operations"));
        // A search whose final verification would be refused is refused before any trial
        // (even the sample of points is over this limit).
        let tight = ConstructOptions {
            max_work: Some(1e6),
            ..opts(4096)
        };
        let e = smallest(&tight).unwrap_err();
        assert!(e.message.contains("final verification"), "{e}");
        assert!(e.settings().contains(&Setting::MaxWork), "{e}");
    }

    #[test]
    fn over_the_work_limit_the_family_is_a_labelled_sample_of_spread_points() {
        let prec = design_precision(600, DIM, MARGIN).unwrap();
        let d = Design::new(600, DIM, MARGIN, &prec).unwrap();
        // Every point's instances fit the default limit; under 90% of their work 512 spread
        // points do.
        let (all, sampled) = family_points(&d, Depth::Full, 0, &opts(600));
        assert_eq!((all.len(), sampled), (600, false));
        let family = family_count(600, d.bits, true) as f64 * d.work();
        let low = ConstructOptions {
            max_work: Some(family * 0.9),
            samples: 0,
            ..opts(600)
        };
        let (some, sampled) = family_points(&d, Depth::Full, 0, &low);
        assert!(sampled);
        assert_eq!(some, spread(600, SAMPLED_POINTS));
        assert_eq!((some[0], some[SAMPLED_POINTS - 1]), (0, 599));
        // Under a lower limit, as many as fit (here 300), and never fewer than the screen's.
        let per_point = family_count(1, d.bits, true) as f64 * d.work();
        let fits_300 = ConstructOptions {
            max_work: Some(300.5 * per_point),
            samples: 0,
            ..opts(600)
        };
        assert_eq!(
            family_points(&d, Depth::Full, 0, &fits_300).0,
            spread(600, 300)
        );
        let tiny = ConstructOptions {
            max_work: Some(10.0 * per_point),
            ..fits_300.clone()
        };
        assert_eq!(
            family_points(&d, Depth::Full, 0, &tiny).0.len(),
            SCREEN_INDICES
        );
        assert!(build_and_verify(&d, &prec, &tiny, Depth::Full).is_err());
        let c = build_and_verify(&d, &prec, &low, Depth::Full).unwrap();
        assert!(c.report.correct, "{:?}", c.report.first_error);
        assert!(
            c.report.verified_on.starts_with("sampled"),
            "{}",
            c.report.verified_on
        );
        assert!(c.report.verified_on.contains("512 of the 600 points"));
        assert_eq!(
            c.report.instances,
            family_count(SAMPLED_POINTS, d.bits, true)
        );
    }

    #[test]
    fn an_instance_is_the_same_in_a_sample_and_in_the_whole_family() {
        let inst = Instance {
            nearest: 5,
            bit: Some(2),
            top: 1,
            label: true,
        };
        let (t1, p1) = adversarial(9, DIM, MARGIN, inst, 3);
        let (t2, p2) = adversarial(9, DIM, MARGIN, inst, 3);
        assert_eq!((t1, p1.clone()), (t2, p2));
        let other = Instance {
            label: false,
            ..inst
        };
        assert_ne!(adversarial(9, DIM, MARGIN, other, 3).1, p1);
        // Streams never meet the random instances' streams 0 … samples − 1.
        let last = Instance {
            nearest: MAX_N - 1,
            bit: None,
            top: 2,
            label: true,
        };
        assert!(ADVERSARIAL_STREAM - last.index(address_bits(MAX_N)) > 1 << 40);
    }

    #[test]
    fn smallest_is_correct_and_one_bit_less_fails() {
        let o = opts(4);
        let s = smallest(&o).unwrap();
        assert!(s.correct);
        let crate::numeric::Format::Fixed {
            int_bits,
            frac_bits,
        } = Precision::parse(&s.precision).unwrap().format()
        else {
            panic!("fixed point")
        };
        let fewer = [
            int_bits.checked_sub(1).map(|i| (i, frac_bits)),
            frac_bits.checked_sub(1).map(|f| (int_bits, f)),
        ];
        for (i, f) in fewer.into_iter().flatten() {
            let Ok(prec) = fixed_point(i, f) else {
                continue;
            };
            if let Ok(d) = Design::new(4, DIM, MARGIN, &prec) {
                let model = d.model(&prec).unwrap();
                let t = full_verify(&d, &model, &prec, 4, 0);
                assert!(t.errors > 0, "{} also works", prec.name());
            }
        }
    }
}
