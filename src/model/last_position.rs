//! A Transformer's output at the last position of a batch of sequences, computed without the
//! parts of the forward pass that cannot reach it, bit for bit as `Transformer::forward_lanes`
//! (behind `Prepared::final_outputs`).
//!
//! `forward_lanes` computes every layer at every position, `O(T²·d)` per sequence. The output at
//! the last position `T − 1` needs much less:
//! - (a) the last layer only at `T − 1`: its keys and values everywhere, one query;
//! - (b) a layer below the last only where a later layer reads what it writes: the keys and
//!   values of every later layer are read at every position (the last query attends to them),
//!   and so are the queries, MLP and layer-norm inputs of a later layer needed at every
//!   position. [`Plan`] follows this backwards over the residual coordinates (a `Linear`'s row
//!   reads the columns where it has a nonzero weight, a layer norm reads every coordinate, a
//!   layer writes the rows of `W_o` and `W_2` with a nonzero weight or bias) and keeps, at the
//!   positions before the last, only the coordinates and rows something above reads;
//! - (c) a layer without `ln1` whose queries and keys read only coordinates that no column of
//!   the embedding and no earlier layer writes has, at a given length, the same attention
//!   weights for every sequence. They are computed once per length from the embedding of an
//!   all-zero input plus the positional code ([`Entry`]), kept where they are nonzero (a few per
//!   row for a hard head; a budget of [`PATTERN_BYTES`] bounds them, and a layer over it is
//!   computed the plain way), and each output is a sum over the kept weights.
//!
//! Cost per sequence: the rows the plan keeps at the `T − 1` earlier positions (nonzero
//! weights only), `nnz·d_v` for the position-only layers, `T²·d_k` for a layer needed at every
//! position whose weights depend on the tokens, and `T·d_k` per layer at the last position;
//! plus `O(T²·d_k)` once per length for the position-only weights.
//!
//! Why the bits are the forward pass's. Write `a ≈ b` when `a` and `b` are equal or both zeros
//! (of any sign). Every operation of the pass maps `≈` inputs to `≈` outputs (sums and products
//! of finite numbers; `exp(±0) = 1`; the softmax's maximum; a division only by a softmax sum,
//! never zero, or by a layer norm's `σ`, computed from a variance that is never `−0`), and the
//! softmax maps `≈` scores to *equal* weights. What the fast pass leaves out is, in each case,
//! a sum of zeros `0·x` with `x` finite:
//! - (c): a coordinate no token and no earlier layer writes holds `round(±0 + b) + pos_t` plus
//!   additions of `round(0·u + 0) = ±0`, so the scores are `≈` the reference's and the weights
//!   are equal. A weight that is `+0` adds `+0·v_j = ±0` to the value sum: with
//!   `Accumulate::Format` (from `+0`, every partial sum rounded, so a zero partial sum is `+0`
//!   and rounding is idempotent on the grid) skipping it changes nothing; with
//!   `Accumulate::Wide` (from `−0`) it changes nothing but the sign of a zero sum, which is `−0`
//!   exactly when every product is `−0`, and [`weighted_sum`] restores it from a count of the
//!   values whose sign bit is clear. So (a) and (c) alone are exact.
//! - (b) and the rows restricted to their nonzero weights give values `≈` the forward pass's,
//!   not equal: in `Wide` a dropped `0·x` can flip the sign of a zero. The last position is
//!   computed in full, so its output is `≈` the forward pass's output, and equal to it unless
//!   an entry is zero. An output with a zero (or NaN) entry is therefore recomputed by the
//!   exact plan (every row, every column, every layer at every position; only (a) and (c)).
//!
//! The MLP's activation (ReLU or GELU) maps a zero of either sign to a zero of the same sign and
//! finite numbers to finite numbers, so either keeps `≈`. Post-LN layers are not covered: their
//! norms follow the residual adds, which the plan's reading of the layer does not model, so
//! `Model::prepare` gives such a model no fast pass (it runs the plain forward pass).
//!
//! Both need the left-out `x` finite. The exact plan checks it as it goes (the inputs of the
//! layers with stored weights and their values; the plain forward pass takes over if not).
//! The sliced plan ([`finite_everywhere`]) is used only where no value of the forward pass can
//! be infinite or NaN: a saturating format (not `f64`) whose largest value is at most `2^200`
//! (so every product, sum, exponential and quotient of the pass stays finite before it is
//! rounded), layer norms whose `ε` does not round to 0 (so `σ > 0`), and inputs without NaN.
//!
//! `Stats` counts the rounding events of the operations performed: fewer than the forward pass
//! counts, none for the cached weights, and nothing twice (a block that falls back to the exact
//! plan drops what the sliced plan counted).

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::kernel::{Act, Arith};
use super::layer_finish::FinishBufs;
use super::linear::{Linear, buf};
use super::transformer::{
    Block, KEY_BLOCK, Transformer, fused_products, layer_norm, raw_scores, softmax_lanes,
};
use crate::numeric::{Accumulate, Format, Stats};

/// Largest total size of one length's stored attention weights (12 bytes per weight).
const PATTERN_BYTES: usize = 1 << 30;

/// Largest total size of the per-length data a [`LastPass`] keeps (it forgets everything when
/// a new length would exceed it).
const CACHE_BYTES: usize = 2 << 30;

/// Numbers (positions × lanes) per tile of the row operations, so that a tile's arrays stay in
/// cache.
const TILE: usize = 4096;

/// The fast final-output pass of one prepared Transformer: what its weights allow to skip
/// (decided once) and, per sequence length, the plan and the position-only attention weights
/// (computed on first use, kept behind a lock that is never held while computing). Results do
/// not depend on the number of threads: everything cached is a deterministic function of the
/// model and the length.
#[derive(Debug)]
pub(crate) struct LastPass {
    /// The sliced plan is exact up to signed zeros ([`finite_everywhere`]).
    finite: bool,
    /// Layers whose attention weights can only depend on the position (c).
    position_only: Vec<bool>,
    /// Largest size of one length's stored weights ([`PATTERN_BYTES`]; tests lower it).
    budget: usize,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    map: HashMap<(usize, bool), Arc<Entry>>,
    bytes: usize,
}

/// One output row of a `Linear` restricted to the columns it reads: `round(Σ w·in[col])` in
/// increasing column order (`Σ` as `Arith::matvec` sums), then `round(· + bias)` when the
/// `Linear` has a bias. `out` is where the row goes (a slot, a row or a unit, by context).
#[derive(Clone, Debug)]
struct Row {
    out: usize,
    cols: Vec<(usize, f64)>,
    bias: Option<f64>,
}

impl Row {
    /// Row `r` of `lin`, its columns renamed by `map`: every column (`dense`) or the nonzero
    /// weights only.
    fn of(lin: &Linear, r: usize, out: usize, dense: bool, map: &dyn Fn(usize) -> usize) -> Row {
        Row {
            out,
            cols: lin
                .weight()
                .row(r)
                .iter()
                .enumerate()
                .filter(|(_, w)| dense || **w != 0.0)
                .map(|(c, &w)| (map(c), w))
                .collect(),
            bias: lin.bias().map(|b| b[r]),
        }
    }
}

/// What one layer computes at the positions before the last.
#[derive(Clone, Debug, Default)]
struct LayerPlan {
    /// The attention weights come from the stored position-only weights.
    stored: bool,
    /// Position-only attention whose weights were not stored (over the budget): the same for
    /// every lane, so one lane's are computed.
    shared: bool,
    /// Query rows (of `heads` only; `out` = row), for a layer needed everywhere whose weights
    /// depend on the tokens.
    q: Vec<Row>,
    /// Key rows (all; none when `stored`), `out` = row.
    k: Vec<Row>,
    /// Value rows (all), `out` = row.
    v: Vec<Row>,
    /// Heads whose attention output is needed before the last position.
    heads: Vec<usize>,
    /// Rows of `W_o` to add into the residual (`out` = slot, columns over the value rows).
    o: Vec<Row>,
    /// MLP hidden units (`out` = unit) and rows of `W_2` to add (`out` = slot).
    fc1: Vec<Row>,
    fc2: Vec<Row>,
}

/// Which residual coordinates and rows the positions before the last carry (see the module
/// doc). `exact`: all of them, every column, every layer below the last in full.
#[derive(Clone, Debug)]
struct Plan {
    exact: bool,
    /// The residual coordinates kept, increasing; slot `s` holds coordinate `keep[s]`.
    keep: Vec<usize>,
    /// Embedding rows of the kept coordinates (`out` = slot, columns over the inputs).
    embed: Vec<Row>,
    layers: Vec<LayerPlan>,
}

/// The stored attention weights of one head: rows `first …` of the `T × T` matrix, nonzero
/// entries only, in increasing key order. Row `first + r` is either its entries
/// `start[r] … start[r+1]`, or, when its nonzero weights are one value `w` on a run of at least
/// [`MIN_RUN`] consecutive keys `lo … hi − 1` (uniform attention, as saturated scores give),
/// just `runs[r] = (lo, hi, w)` (`hi = 0` otherwise).
#[derive(Clone, Debug)]
struct HeadWeights {
    first: usize,
    start: Vec<usize>,
    keys: Vec<u32>,
    weights: Vec<f64>,
    runs: Vec<(u32, u32, f64)>,
}

/// Shortest run of equal weights stored as a run.
const MIN_RUN: usize = 32;

/// One row of stored weights: entries `(keys, weights)`, or a run `(lo, hi, w)` (`hi > 0`).
type WeightRow<'a> = (&'a [u32], &'a [f64], (u32, u32, f64));

impl HeadWeights {
    fn row(&self, t: usize) -> WeightRow<'_> {
        let r = t - self.first;
        let (a, b) = (self.start[r], self.start[r + 1]);
        (&self.keys[a..b], &self.weights[a..b], self.runs[r])
    }

    /// Appends the next row from its nonzero weights (key order).
    fn push(&mut self, row: &[(u32, f64)]) {
        let run = row.len() >= MIN_RUN
            && row.iter().all(|e| e.1.to_bits() == row[0].1.to_bits())
            && row[row.len() - 1].0 - row[0].0 == row.len() as u32 - 1;
        if run {
            self.runs
                .push((row[0].0, row[row.len() - 1].0 + 1, row[0].1));
        } else {
            self.runs.push((0, 0, 0.0));
            self.keys.extend(row.iter().map(|e| e.0));
            self.weights.extend(row.iter().map(|e| e.1));
        }
        self.start.push(self.keys.len());
    }
}

/// Everything the pass keeps for one sequence length and plan kind.
#[derive(Debug)]
struct Entry {
    plan: Plan,
    /// Per layer, per head: the stored weights of the layers the plan marks `stored`.
    weights: Vec<Option<Vec<HeadWeights>>>,
    /// `pos[s·T + t]`: the rounded positional code of kept slot `s` at position `t` (empty
    /// without a positional code).
    pos: Vec<f64>,
    bytes: usize,
    /// A position-only layer's weights did not fit the budget: it is computed the plain way,
    /// `O(T²·d)` per sequence.
    dense: bool,
}

/// Whether no value of the forward pass can be infinite or NaN, whatever the (non-NaN) inputs:
/// the format saturates (every rounded value is finite; not `f64`), its largest value is at
/// most `2^200` (products, sums of them, `exp` of a non-positive score difference and `d/σ`
/// with `σ` at least the smallest positive value stay finite before rounding), and every
/// layer norm of a layer keeps `ε > 0` after rounding (then `σ ≥ round(√ε) > 0`).
fn finite_everywhere(tr: &Transformer, ar: &Arith) -> bool {
    let prec = ar.precision();
    let bounded = !matches!(prec.format(), Format::F64 | Format::Paper { .. })
        && prec.max_finite() <= 2f64.powi(200);
    bounded
        && tr
            .blocks()
            .iter()
            .flat_map(|b| [&b.ln1, &b.ln2])
            .flatten()
            .all(|n| n.eps > 0.0)
}

/// The columns where some row of `rows` has a nonzero (or NaN) weight.
fn nonzero_cols(lin: &Linear, rows: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
    let w = lin.weight();
    rows.into_iter()
        .flat_map(|r| {
            w.row(r)
                .iter()
                .enumerate()
                .filter(|(_, x)| **x != 0.0)
                .map(|(c, _)| c)
        })
        .collect()
}

/// The rows a `Linear` writes: a nonzero weight or a nonzero bias (a zero row with a zero bias
/// adds `±0`).
fn written(lin: &Linear) -> BTreeSet<usize> {
    let w = lin.weight();
    (0..w.rows())
        .filter(|&r| w.row(r).iter().any(|x| *x != 0.0) || lin.bias().is_some_and(|b| b[r] != 0.0))
        .collect()
}

impl LastPass {
    /// The pass for `tr` (its weights already rounded to `ar`'s precision): which layers have
    /// position-only attention (c), and whether the sliced plan applies. Nothing per length is
    /// computed yet.
    pub(crate) fn new(tr: &Transformer, ar: &Arith) -> Self {
        let d = tr.d_model();
        let tokens = token_rows(tr.embed());
        let mut below: BTreeSet<usize> = (0..d).filter(|&c| tokens[c]).collect();
        let position_only = tr
            .blocks()
            .iter()
            .map(|b| {
                let reads = nonzero_cols(&b.q, 0..b.q.out_size())
                    .union(&nonzero_cols(&b.k, 0..b.k.out_size()))
                    .copied()
                    .collect::<BTreeSet<usize>>();
                let po = b.ln1.is_none() && reads.is_disjoint(&below);
                below.extend(written(&b.o));
                if let Some((_, f2)) = &b.mlp {
                    below.extend(written(f2));
                }
                po
            })
            .collect();
        LastPass {
            finite: finite_everywhere(tr, ar),
            position_only,
            budget: PATTERN_BYTES,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Computes what sequences of length `len` need (the sliced plan's data), so that the
    /// blocks running in parallel find it ready.
    pub(crate) fn prefetch(&self, tr: &Transformer, ar: &Arith, len: usize) {
        if self.finite && len > 0 {
            self.entry(tr, ar, len, false);
        }
    }

    /// The outputs at the last position of `L` sequences of `T ≥ 1` positions (`seqs[b]`: its
    /// inputs one position after another, `T · I` numbers, not yet rounded), in lane layout
    /// (`O · L`): bit for bit the last entry of `forward_lanes`' outputs. The sliced plan where
    /// it applies, else (or for a block with a zero or NaN output) the exact plan one sequence
    /// at a time, else the forward pass.
    pub(crate) fn outputs(
        &self,
        tr: &Transformer,
        ar: &Arith,
        seqs: &[&[f64]],
        stats: &mut Stats,
    ) -> Vec<f64> {
        let (l, ni) = (seqs.len(), tr.input_size());
        let tn = seqs[0].len() / ni;
        if self.finite {
            let mut st = Stats::default();
            let inputs = Inputs::new(ar, seqs, ni, &mut st);
            if !inputs.has_nan()
                && let Some(out) = run(tr, ar, &self.entry(tr, ar, tn, false), &inputs, &mut st)
                && out.iter().all(|&v| v != 0.0 && !v.is_nan())
            {
                stats.merge(st);
                return out;
            }
        }
        let e = self.entry(tr, ar, tn, true);
        let mut out = vec![0.0; tr.output_size() * l];
        for (b, seq) in seqs.iter().enumerate() {
            let mut st = Stats::default();
            let inputs = Inputs::new(ar, &[seq], ni, &mut st);
            let o = match run(tr, ar, &e, &inputs, &mut st) {
                Some(o) => {
                    stats.merge(st);
                    o
                }
                None => {
                    let mut steps: Vec<Vec<f64>> =
                        seq.chunks_exact(ni).map(<[f64]>::to_vec).collect();
                    steps.iter_mut().for_each(|x| ar.round_slice(x, stats));
                    tr.forward_lanes(ar, &steps, 1, stats)
                        .outputs
                        .pop()
                        .unwrap_or_default()
                }
            };
            for (r, v) in o.into_iter().enumerate() {
                out[r * l + b] = v;
            }
        }
        out
    }

    /// Whether sequences of length `len` have a position-only layer whose attention weights
    /// do not fit the budget (so that each costs `O(T²·d)` for it): the weights are computed
    /// (and kept for the outputs) until they overflow it.
    pub(crate) fn dense(&self, tr: &Transformer, ar: &Arith, len: usize) -> bool {
        len > 0 && self.entry(tr, ar, len, !self.finite).dense
    }

    /// The plan and stored weights for length `len` (`exact`: the exact plan's), from the
    /// cache or computed (outside the lock; a concurrent duplicate is identical and dropped).
    fn entry(&self, tr: &Transformer, ar: &Arith, len: usize, exact: bool) -> Arc<Entry> {
        let key = (len, exact);
        if let Some(e) = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.map.get(&key).cloned())
        {
            return e;
        }
        let e = Arc::new(self.build(tr, ar, len, exact));
        if let Ok(mut c) = self.cache.lock()
            && !c.map.contains_key(&key)
            && e.bytes <= CACHE_BYTES
        {
            if c.bytes + e.bytes > CACHE_BYTES {
                c.map.clear();
                c.bytes = 0;
            }
            c.bytes += e.bytes;
            c.map.insert(key, e.clone());
        }
        e
    }

    fn build(&self, tr: &Transformer, ar: &Arith, tn: usize, exact: bool) -> Entry {
        let mut st = Stats::default();
        let d = tr.d_model();
        let pos_rows: Vec<Vec<f64>> = (0..tn)
            .into_par_iter()
            .filter_map(|t| tr.pos_row(t, ar, &mut Stats::default()))
            .collect();
        // The reference residual: an all-zero input embedded, plus the positional code, with
        // the positions as lanes (`d · T`).
        let xref = self.position_only.iter().any(|&p| p).then(|| {
            let zeros = vec![0.0; tr.input_size() * tn];
            let mut e = vec![0.0; d * tn];
            tr.embed().apply(ar, &zeros, tn, &mut e, &mut st);
            if !pos_rows.is_empty() {
                for c in 0..d {
                    for (t, p) in pos_rows.iter().enumerate() {
                        e[c * tn + t] += p[c];
                    }
                }
                ar.round_slice(&mut e, &mut st);
            }
            e
        });
        let mut budget = self.budget;
        let mut weights = vec![None; tr.blocks().len()];
        let mut dense = false;
        let plan = Plan::new(tr, exact, &self.position_only, |li, all_rows| {
            if !self.position_only[li] {
                return false;
            }
            let Some(xref) = &xref else { return false };
            weights[li] = head_weights(tr, ar, li, xref, tn, all_rows, &mut budget);
            dense |= weights[li].is_none();
            weights[li].is_some()
        });
        let pos: Vec<f64> = if pos_rows.is_empty() {
            Vec::new()
        } else {
            plan.keep
                .iter()
                .flat_map(|&c| pos_rows.iter().map(move |p| p[c]))
                .collect()
        };
        let bytes = self.budget - budget + pos.len() * 8;
        Entry {
            plan,
            weights,
            pos,
            bytes,
            dense,
        }
    }
}

/// Whether each row of `lin` (the embedding: each residual coordinate) has a nonzero weight.
fn token_rows(lin: &Linear) -> Vec<bool> {
    let w = lin.weight();
    (0..w.rows())
        .map(|r| w.row(r).iter().any(|x| *x != 0.0))
        .collect()
}

/// What one layer computes at the positions before the last, by coordinate (the backward
/// analysis of [`Plan::needs`]).
struct LayerNeeds {
    /// Its attention weights are stored.
    stored: bool,
    /// Heads whose attention output is needed there.
    heads: Vec<usize>,
    /// Rows of `W_o`, MLP hidden units and rows of `W_2` needed there.
    o_rows: Vec<usize>,
    units: Vec<usize>,
    fc2_rows: Vec<usize>,
}

impl Plan {
    /// The plan for `tr`: `exact`, or sliced by the backward analysis of the module doc. From
    /// the top layer down, `stored(layer, every_row)` is asked whether the layer's attention
    /// weights are stored (for every position, or for the last one only) and stores them.
    fn new(
        tr: &Transformer,
        exact: bool,
        position_only: &[bool],
        stored: impl FnMut(usize, bool) -> bool,
    ) -> Plan {
        let (needs, keep) = Plan::needs(tr, exact, stored);
        let mut slot = vec![usize::MAX; tr.d_model()];
        for (s, &c) in keep.iter().enumerate() {
            slot[c] = s;
        }
        let embed = keep
            .iter()
            .enumerate()
            .map(|(s, &c)| Row::of(tr.embed(), c, s, exact, &|c| c))
            .collect();
        let layers = tr
            .blocks()
            .iter()
            .zip(needs)
            .zip(position_only)
            .map(|((blk, needs), &position_only)| {
                let rows = PlanRows {
                    exact,
                    slot: &slot,
                    dk: blk.q.out_size() / tr.heads(),
                };
                rows.layer(blk, needs, position_only)
            })
            .collect();
        Plan {
            exact,
            keep,
            embed,
            layers,
        }
    }

    /// The backward analysis: from the top layer down, what each layer must compute at the
    /// positions before the last, and so which residual coordinates its input needs there.
    /// Returns the layers' needs (bottom first) and the coordinates the embedding must keep.
    fn needs(
        tr: &Transformer,
        exact: bool,
        mut stored: impl FnMut(usize, bool) -> bool,
    ) -> (Vec<LayerNeeds>, Vec<usize>) {
        let d = tr.d_model();
        let heads = tr.heads();
        let blocks = tr.blocks();
        let all: BTreeSet<usize> = (0..d).collect();
        let mut needs: Vec<LayerNeeds> = Vec::with_capacity(blocks.len());
        // Coordinates needed at the input of the layer above (at the positions before the last).
        let mut need: BTreeSet<usize> = BTreeSet::new();
        for (li, blk) in blocks.iter().enumerate().rev() {
            let top = li + 1 == blocks.len();
            let dv = blk.v.out_size() / heads;
            let (o_rows, units, fc2_rows, hs, mid) = if top {
                (
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    BTreeSet::new(),
                )
            } else if exact {
                let f = blk.mlp.as_ref().map_or(0, |(f1, _)| f1.out_size());
                let fc2 = if blk.mlp.is_some() { d } else { 0 };
                (
                    (0..d).collect(),
                    (0..f).collect(),
                    (0..fc2).collect(),
                    (0..heads).collect(),
                    all.clone(),
                )
            } else {
                let (fc2_rows, units, mut mid) = match &blk.mlp {
                    Some((f1, f2)) => {
                        let rows: Vec<usize> = written(f2).intersection(&need).copied().collect();
                        let units: Vec<usize> =
                            nonzero_cols(f2, rows.iter().copied()).into_iter().collect();
                        let mut mid = need.clone();
                        if !units.is_empty() {
                            if blk.ln2.is_some() {
                                mid = all.clone();
                            } else {
                                mid.extend(nonzero_cols(f1, units.iter().copied()));
                            }
                        }
                        (rows, units, mid)
                    }
                    None => (Vec::new(), Vec::new(), need.clone()),
                };
                let o_rows: Vec<usize> = written(&blk.o).intersection(&mid).copied().collect();
                let hs: BTreeSet<usize> = nonzero_cols(&blk.o, o_rows.iter().copied())
                    .into_iter()
                    .map(|u| u / dv)
                    .collect();
                mid.extend(o_rows.iter().copied());
                (o_rows, units, fc2_rows, hs.into_iter().collect(), mid)
            };
            let full = !o_rows.is_empty() || !fc2_rows.is_empty();
            let st = stored(li, full);
            let mut inn = mid;
            if exact || blk.ln1.is_some() {
                inn = all.clone();
            } else {
                inn.extend(nonzero_cols(&blk.v, 0..blk.v.out_size()));
                if !st {
                    inn.extend(nonzero_cols(&blk.k, 0..blk.k.out_size()));
                    let dk = blk.q.out_size() / heads;
                    inn.extend(nonzero_cols(
                        &blk.q,
                        hs.iter().flat_map(|&h| h * dk..(h + 1) * dk),
                    ));
                }
            }
            needs.push(LayerNeeds {
                stored: st,
                heads: hs,
                o_rows,
                units,
                fc2_rows,
            });
            need = inn;
        }
        needs.reverse();
        (needs, need.into_iter().collect())
    }
}

/// How a layer's rows are cut from its `Linear`s: every column (`exact`) or the nonzero weights,
/// residual coordinates renamed to their slots (`slot[c]`), `d_k` numbers per head.
struct PlanRows<'a> {
    exact: bool,
    slot: &'a [usize],
    dk: usize,
}

impl PlanRows<'_> {
    /// The rows of `blk` that `needs` asks for.
    fn layer(&self, blk: &Block, needs: LayerNeeds, position_only: bool) -> LayerPlan {
        let LayerNeeds {
            stored: st,
            heads: hs,
            o_rows,
            units,
            fc2_rows,
        } = needs;
        let (exact, slot, dk) = (self.exact, self.slot, self.dk);
        let to_slot = |c: usize| slot[c];
        let same = |c: usize| c;
        let rows = |lin: &Linear, rs: &mut dyn Iterator<Item = usize>| -> Vec<Row> {
            rs.map(|r| Row::of(lin, r, r, exact, &to_slot)).collect()
        };
        let (q, k) = if st {
            (Vec::new(), Vec::new())
        } else {
            (
                rows(&blk.q, &mut hs.iter().flat_map(|&h| h * dk..(h + 1) * dk)),
                rows(&blk.k, &mut (0..blk.k.out_size())),
            )
        };
        let (fc1, fc2) = match &blk.mlp {
            Some((f1, f2)) => (
                rows(f1, &mut units.iter().copied()),
                fc2_rows
                    .iter()
                    .map(|&c| Row::of(f2, c, slot[c], exact, &same))
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        LayerPlan {
            stored: st,
            shared: position_only && !st,
            q,
            k,
            v: rows(&blk.v, &mut (0..blk.v.out_size())),
            heads: hs,
            o: o_rows
                .iter()
                .map(|&c| Row::of(&blk.o, c, slot[c], exact, &same))
                .collect(),
            fc1,
            fc2,
        }
    }
}

/// The attention weights of position-only layer `li` at length `tn`, per head: every row
/// (`every_row`) or the last one, from the reference residual `xref` (`d · T`, positions as
/// lanes) with the operations of `forward_lanes` (scores as `raw_scores` or the format's dot,
/// rounded, scaled, `softmax_lanes` per row), keeping the nonzero weights. `None` when they
/// would take more than `budget` bytes (what they take is subtracted from it).
fn head_weights(
    tr: &Transformer,
    ar: &Arith,
    li: usize,
    xref: &[f64],
    tn: usize,
    every_row: bool,
    budget: &mut usize,
) -> Option<Vec<HeadWeights>> {
    let blk = &tr.blocks()[li];
    let mut st = Stats::default();
    let (qk, heads) = (blk.q.out_size(), tr.heads());
    let dk = qk / heads;
    let scale = ar.round(1.0 / (dk as f64).sqrt(), &mut st);
    let mut q = vec![0.0; qk * tn];
    let mut k = vec![0.0; qk * tn];
    blk.q.apply(ar, xref, tn, &mut q, &mut st);
    blk.k.apply(ar, xref, tn, &mut k, &mut st);
    let wide = ar.precision().accumulate() == Accumulate::Wide;
    let fused = fused_products(ar.precision());
    let first = if every_row { 0 } else { tn - 1 };
    let cutoff = exp_cutoff(ar.precision());
    let nb = tn.div_ceil(KEY_BLOCK);
    // Row blocks per parallel batch: at most about 64 MiB of dense rows collected at once.
    let batch_blocks = ((64usize << 20) / (256 * tn)).max(1);
    let mut left = *budget;
    let mut out = Vec::with_capacity(heads);
    for h in 0..heads {
        let mut panels = vec![0.0; nb * dk * KEY_BLOCK];
        for i in 0..dk {
            for j in 0..tn {
                panels[((j / KEY_BLOCK) * dk + i) * KEY_BLOCK + j % KEY_BLOCK] =
                    k[(h * dk + i) * tn + j];
            }
        }
        let mut hw = HeadWeights {
            first,
            start: vec![0],
            keys: Vec::new(),
            weights: Vec::new(),
            runs: Vec::new(),
        };
        let blocks: Vec<usize> = (first..tn).step_by(16).collect();
        for batch in blocks.chunks(batch_blocks) {
            let rows: Vec<Vec<(u32, f64)>> = batch
                .par_iter()
                .flat_map_iter(|&t0| {
                    let t1 = (t0 + 16).min(tn);
                    let lanes = t1 - t0;
                    let keys_max = if tr.causal() { t1 } else { tn };
                    let mut qv = vec![0.0; dk * lanes];
                    for i in 0..dk {
                        qv[i * lanes..(i + 1) * lanes]
                            .copy_from_slice(&q[(h * dk + i) * tn + t0..(h * dk + i) * tn + t1]);
                    }
                    let mut raw = vec![0.0; keys_max * lanes];
                    let mut st = Stats::default();
                    if wide {
                        raw_scores(&panels, dk, keys_max, &qv, lanes, &mut raw, fused);
                    } else {
                        for j in 0..keys_max {
                            for b in 0..lanes {
                                let mut acc = 0.0;
                                for i in 0..dk {
                                    let p = ar.round(
                                        qv[i * lanes + b] * k[(h * dk + i) * tn + j],
                                        &mut st,
                                    );
                                    acc = ar.round(acc + p, &mut st);
                                }
                                raw[j * lanes + b] = acc;
                            }
                        }
                    }
                    // One row per query, its keys contiguous.
                    let mut rows = vec![0.0; lanes * keys_max];
                    for (j, r) in raw.chunks_exact(lanes).enumerate() {
                        for (b, &v) in r.iter().enumerate() {
                            rows[b * keys_max + j] = v;
                        }
                    }
                    drop(raw);
                    (0..lanes)
                        .map(|b| {
                            let keys = if tr.causal() { t0 + b + 1 } else { tn };
                            let s = &mut rows[b * keys_max..b * keys_max + keys];
                            if wide {
                                ar.round_slice(s, &mut st);
                            }
                            ar.scale(s, scale, &mut st);
                            sparse_softmax(ar, s, cutoff, &mut st)
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            for r in rows {
                let before = hw.keys.len();
                hw.push(&r);
                let cost = (hw.keys.len() - before) * 12 + 32;
                if cost > left {
                    return None;
                }
                left -= cost;
            }
        }
        out.push(hw);
    }
    *budget = left;
    Some(out)
}

/// Below what (rounded, non-positive) score difference `y` the softmax's `round(exp(y))` is 0:
/// `exp(y)` is then under half the smallest positive value of the format (rounding to nearest)
/// or under it (rounding down), with a margin of `10⁻⁶` for the few ulp of `exp`. `−∞` for
/// `f64`, which keeps every weight.
fn exp_cutoff(prec: &crate::numeric::Precision) -> f64 {
    let smallest = match prec.format() {
        Format::Fixed { frac_bits, .. } => 2f64.powi(-(frac_bits as i32)),
        Format::PaperGrid { scale, .. } => 1.0 / scale,
        Format::Float {
            exp_bits, man_bits, ..
        } => 2f64.powi(2 - (1i32 << (exp_bits - 1)) - man_bits as i32),
        Format::F64 | Format::Paper { .. } => return f64::NEG_INFINITY,
    };
    let below = match prec.rounding() {
        crate::numeric::Rounding::NearestEven => smallest / 2.0,
        crate::numeric::Rounding::Down => smallest,
    };
    below.ln() - 1e-6
}

/// `softmax_lanes` on one row of rounded, scaled scores `s` (`s` is overwritten), returning
/// its nonzero weights `(key, weight)` in key order. The same operations in the same order,
/// except that the exponential, the sum and the division are skipped for the score
/// differences below `cutoff` ([`exp_cutoff`]), whose `round(exp)` is `+0`: a `+0` leaves the
/// sum's nonzero partial sums as they are (the largest score's term is `round(1) > 0`, so the
/// sum is never a zero whose sign could change) and its quotient is `+0`. A row with a score
/// that is not finite takes `softmax_lanes` itself.
fn sparse_softmax(ar: &Arith, s: &mut [f64], cutoff: f64, stats: &mut Stats) -> Vec<(u32, f64)> {
    let nonzero = |s: &[f64]| -> Vec<(u32, f64)> {
        s.iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
            .map(|(j, &w)| (j as u32, w))
            .collect()
    };
    if !s.iter().all(|x| x.is_finite()) {
        softmax_lanes(ar, s, 1, &mut [0.0], stats);
        return nonzero(s);
    }
    let z = s.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    s.iter_mut().for_each(|v| *v -= z);
    ar.round_slice(s, stats);
    let keep: Vec<u32> = (0..s.len() as u32)
        .filter(|&j| s[j as usize] >= cutoff)
        .collect();
    let mut e: Vec<f64> = keep.iter().map(|&j| s[j as usize]).collect();
    ar.act(&mut e, Act::Exp, stats);
    let mut total = [0.0];
    ar.sum_lanes(&e, 1, &mut total, stats);
    e.iter_mut().for_each(|v| *v /= total[0]);
    ar.round_slice(&mut e, stats);
    keep.into_iter().zip(e).filter(|(_, w)| *w != 0.0).collect()
}

/// What [`weighted_sum`] derives from one value row (`v[j·L + b]`, every position), made on
/// first need: per lane, how many of the first `j` values have a clear sign bit
/// (`clear[j·L + b]`), and the values' sums `Σ_{j' < j} v_j'` (`prefix[j·L + b]`, exact where
/// [`Sums::exact_runs`] allows it).
#[derive(Default)]
struct Sums {
    clear: Option<Vec<u32>>,
    prefix: Option<Option<Vec<f64>>>,
}

impl Sums {
    fn clear(&mut self, v: &[f64], l: usize) -> &[u32] {
        self.clear.get_or_insert_with(|| {
            let n = v.len() / l;
            let mut c = vec![0u32; (n + 1) * l];
            for j in 0..n {
                for b in 0..l {
                    c[(j + 1) * l + b] = c[j * l + b] + u32::from(v[j * l + b].is_sign_positive());
                }
            }
            c
        })
    }

    /// The prefix sums, where a run's `Σ w·v_j` in `f64` is exact whatever the order: a
    /// fixed-point format (every value a multiple of `2^−F`, so every product `w·v_j` a
    /// multiple of `2^−2F`) and `|w| · max|v| · T · 2^2F < 2^52` (every product, partial sum
    /// and prefix sum then has an exact `f64`). Then `w·(P_hi − P_lo)` is the sum's exact value.
    fn exact_runs(&mut self, ar: &Arith, v: &[f64], l: usize) -> Option<&[f64]> {
        self.prefix
            .get_or_insert_with(|| {
                let Format::Fixed { frac_bits, .. } = ar.precision().format() else {
                    return None;
                };
                let n = v.len() / l;
                let vmax = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                // Weights are at most 1 (a softmax), after rounding at most `max(1, round(1))`.
                let bound = vmax * n as f64 * 2f64.powi(2 * frac_bits as i32);
                if bound.is_nan() || bound >= 2f64.powi(52) {
                    return None;
                }
                let mut p = vec![0.0; (n + 1) * l];
                for j in 0..n {
                    for b in 0..l {
                        p[(j + 1) * l + b] = p[j * l + b] + v[j * l + b];
                    }
                }
                Some(p)
            })
            .as_deref()
    }
}

/// One value row `v` (`v[j·L + b]`, every position, `L = l` lanes) of which the keys `j < keys`
/// are attended to.
#[derive(Clone, Copy)]
struct Values<'a> {
    v: &'a [f64],
    keys: usize,
    l: usize,
}

/// `out = round(Σ w·v_j)` over the stored weights of one row (`v` one value row, `v[j·L + b]`),
/// bit for bit `Arith::dot_lanes` over every key `j < keys` with the weights that are `+0`
/// included (see the module doc). In `Accumulate::Wide` a zero sum is `−0` exactly when every
/// product is, and with weights `≥ +0` that is when every `v_j`, `j < keys`, has its sign bit
/// set (a zero sum with a negative `v_j` would need a positive one to cancel it); the sum's
/// zero is set from that count. A run of equal weights is summed as `w·(P_hi − P_lo)` where
/// that is exact ([`Sums::exact_runs`]), else term by term.
fn weighted_sum(
    ar: &Arith,
    row: WeightRow<'_>,
    values: Values<'_>,
    out: &mut [f64],
    sums: &mut Sums,
    stats: &mut Stats,
) {
    let Values { v, keys, l } = values;
    let (js, ws, (lo, hi, w)) = row;
    let (lo, hi) = (lo as usize, hi as usize);
    let terms = || {
        js.iter()
            .map(|&j| j as usize)
            .zip(ws.iter().copied())
            .chain((lo..hi).map(move |j| (j, w)))
    };
    if ar.precision().accumulate() == Accumulate::Format {
        out.fill(0.0);
        for (j, w) in terms() {
            for (o, &x) in out.iter_mut().zip(&v[j * l..(j + 1) * l]) {
                let p = ar.round(w * x, stats);
                *o = ar.round(*o + p, stats);
            }
        }
        return;
    }
    out.fill(-0.0);
    match sums
        .exact_runs(ar, v, l)
        .filter(|_| hi > 0 && w.abs() <= 1.0)
    {
        Some(p) => {
            for (b, o) in out.iter_mut().enumerate() {
                *o = w * (p[hi * l + b] - p[lo * l + b]);
            }
        }
        None => {
            for (j, w) in terms() {
                for (o, &x) in out.iter_mut().zip(&v[j * l..(j + 1) * l]) {
                    *o += w * x;
                }
            }
        }
    }
    if out.contains(&0.0) {
        let clear = sums.clear(v, l);
        for (b, o) in out.iter_mut().enumerate() {
            if *o == 0.0 {
                *o = if clear[keys * l + b] == 0 { -0.0 } else { 0.0 };
            }
        }
    }
    ar.round_slice(out, stats);
}

/// `out = row · input` over elements `lo … hi` of slot-major arrays (`input[c·stride + e]`,
/// elements `e = t·L + b`), with `Arith::matvec`'s operations per element (then the bias).
/// The inputs are values of the format (rounded), so a row without weights (`±0`) or with
/// the one weight 1 (`±0 + x`) needs no rounding: it would leave the value as it is and count
/// nothing.
fn apply_row(
    ar: &Arith,
    row: &Row,
    (input, stride): (&[f64], usize),
    Range { start: lo, end: hi }: Range<usize>,
    out: &mut [f64],
    stats: &mut Stats,
) {
    let format = ar.precision().accumulate() == Accumulate::Format;
    // The sum's starting value: `+0` rounding every step, `−0` summing in `f64`.
    let zero = if format { 0.0 } else { -0.0 };
    if let [] | [(_, 1.0)] = row.cols[..] {
        match row.cols.first() {
            None => out.fill(zero),
            Some(&(c, _)) => {
                for (o, &x) in out.iter_mut().zip(&input[c * stride + lo..c * stride + hi]) {
                    *o = zero + x;
                }
            }
        }
    } else if format {
        out.fill(0.0);
        for &(c, w) in &row.cols {
            for (o, &x) in out.iter_mut().zip(&input[c * stride + lo..c * stride + hi]) {
                let p = ar.round(w * x, stats);
                *o = ar.round(*o + p, stats);
            }
        }
    } else {
        out.fill(-0.0);
        for &(c, w) in &row.cols {
            for (o, &x) in out.iter_mut().zip(&input[c * stride + lo..c * stride + hi]) {
                *o += w * x;
            }
        }
        ar.round_slice(out, stats);
    }
    if let Some(b) = row.bias {
        ar.add_scalar(out, b, stats);
    }
}

/// The keys of one head: rows `row0 … row0 + d_k − 1` of `kk` (`kk[r·stride + j·L + b]`,
/// `stride = T·L`, `L = l` lanes), the score scale, and with `shared` (a position-only layer of the sliced
/// plan, whose weights are the same for every lane: see the module doc) lane 0's keys
/// (`[r·T + j]`).
#[derive(Clone, Copy)]
struct HeadKeys<'a> {
    kk: &'a [f64],
    stride: usize,
    row0: usize,
    dk: usize,
    /// Lanes.
    l: usize,
    scale: f64,
    shared: Option<&'a [f64]>,
}

/// Unrounded-then-rounded scores `s[j·L + b]` of the `L` queries `q` (`d_k · L`, lane layout)
/// against the keys `j < keys` of `head` (`s` has `keys · L` numbers), as `dot_lanes` computes
/// each.
fn scores(ar: &Arith, q: &[f64], head: &HeadKeys, keys: usize, s: &mut [f64], stats: &mut Stats) {
    let HeadKeys {
        kk,
        stride,
        row0,
        dk,
        l,
        ..
    } = *head;
    if ar.precision().accumulate() == Accumulate::Format {
        s.fill(0.0);
        for i in 0..dk {
            let kr = &kk[(row0 + i) * stride..(row0 + i) * stride + keys * l];
            for (sj, kj) in s.chunks_exact_mut(l).zip(kr.chunks_exact(l)) {
                for b in 0..l {
                    let p = ar.round(q[i * l + b] * kj[b], stats);
                    sj[b] = ar.round(sj[b] + p, stats);
                }
            }
        }
    } else {
        s.fill(-0.0);
        // Blocks of keys, so that a block's partial sums stay in cache over all `i`.
        let block = (1024 / l).max(1);
        for j0 in (0..keys).step_by(block) {
            let j1 = (j0 + block).min(keys);
            let sb = &mut s[j0 * l..j1 * l];
            for i in 0..dk {
                let base = (row0 + i) * stride;
                let kr = &kk[base + j0 * l..base + j1 * l];
                let qi = &q[i * l..(i + 1) * l];
                for (sj, kj) in sb.chunks_exact_mut(l).zip(kr.chunks_exact(l)) {
                    for b in 0..l {
                        sj[b] += qi[b] * kj[b];
                    }
                }
            }
        }
        ar.round_slice(s, stats);
    }
}

/// The attention weights of one query over the keys `j < keys` of `head` for every lane, in
/// `s` (`s[j·L + b]`, lane layout, `keys · L` numbers): `scores`, scaled, `softmax_lanes`. With
/// `head.shared`, lane 0's weights are computed, against its keys, and copied to the others.
fn weights_of(
    ar: &Arith,
    q: &[f64],
    head: &HeadKeys,
    keys: usize,
    s: &mut [f64],
    stats: &mut Stats,
) {
    let l = head.l;
    if let Some(k0) = head.shared {
        let q0: Vec<f64> = (0..head.dk).map(|i| q[i * l]).collect();
        let lane0 = HeadKeys {
            kk: k0,
            stride: head.stride / l,
            l: 1,
            shared: None,
            ..*head
        };
        let mut w = vec![0.0; keys];
        scores(ar, &q0, &lane0, keys, &mut w, stats);
        ar.scale(&mut w, head.scale, stats);
        softmax_lanes(ar, &mut w, 1, &mut [0.0], stats);
        for (sj, &wj) in s.chunks_exact_mut(l).zip(&w) {
            sj.fill(wj);
        }
        return;
    }
    scores(ar, q, head, keys, s, stats);
    ar.scale(s, head.scale, stats);
    let mut small = vec![0.0; l];
    softmax_lanes(ar, s, l, &mut small, stats);
}

/// The first `p` positions in tiles of about [`TILE`] numbers: the ranges `lo … hi` of numbers
/// (`L` per position) that whole positions span.
fn tiles(p: usize, l: usize) -> impl Iterator<Item = (usize, usize)> {
    let step = (TILE / l.max(1)).max(1);
    (0..p)
        .step_by(step)
        .map(move |t| (t * l, (t + step).min(p) * l))
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// Positions per block of [`Inputs::new`]'s transpose.
const TRANSPOSE_BLOCK: usize = 256;

/// The rounded inputs of a block of `L` sequences of `T` positions: before the last position
/// one array per input coordinate (`early[i·(T−1)·L + t·L + b]`), and the last position in
/// lane layout (`last[i·L + b]`).
struct Inputs {
    tn: usize,
    l: usize,
    early: Vec<f64>,
    last: Vec<f64>,
}

impl Inputs {
    /// From flat sequences of equal length (`T · I` numbers each), rounded as `forward` rounds
    /// its inputs.
    fn new(ar: &Arith, seqs: &[&[f64]], ni: usize, stats: &mut Stats) -> Inputs {
        let l = seqs.len();
        let tn = seqs[0].len() / ni;
        let p = tn - 1;
        // A blocked transpose: each sequence is read once, in order, and a block's writes
        // (`ni` runs of `TRANSPOSE_BLOCK · L` numbers) stay in cache. Reading coordinate by
        // coordinate instead streamed every sequence `ni` times from memory at large `T`.
        let mut early = vec![0.0; ni * p * l];
        for t0 in (0..p).step_by(TRANSPOSE_BLOCK) {
            let t1 = (t0 + TRANSPOSE_BLOCK).min(p);
            for (b, s) in seqs.iter().enumerate() {
                for t in t0..t1 {
                    for (i, &v) in s[t * ni..(t + 1) * ni].iter().enumerate() {
                        early[(i * p + t) * l + b] = v;
                    }
                }
            }
        }
        let mut last = Vec::with_capacity(ni * l);
        for i in 0..ni {
            last.extend(seqs.iter().map(|s| s[p * ni + i]));
        }
        ar.round_slice(&mut early, stats);
        ar.round_slice(&mut last, stats);
        Inputs { tn, l, early, last }
    }

    /// Whether an input is NaN (rounding keeps NaN).
    fn has_nan(&self) -> bool {
        self.early.iter().chain(&self.last).any(|x| x.is_nan())
    }
}

/// The sizes of one block of sequences: `T` positions (`p = T − 1` before the last), `L`
/// lanes, `n = p·L` and `tl = T·L` numbers per row of the earlier / all positions.
#[derive(Clone, Copy)]
struct Dims {
    tn: usize,
    l: usize,
    p: usize,
    n: usize,
    tl: usize,
}

impl Dims {
    fn of(inputs: &Inputs) -> Self {
        let (tn, l) = (inputs.tn, inputs.l);
        let p = tn - 1;
        Dims {
            tn,
            l,
            p,
            n: p * l,
            tl: tn * l,
        }
    }
}

/// The outputs at the last position with `e`'s plan (`O · L`, lane layout); `None` when the
/// exact plan meets a value that is not finite where it skips zeros (see the module doc).
fn run(
    tr: &Transformer,
    ar: &Arith,
    e: &Entry,
    inputs: &Inputs,
    stats: &mut Stats,
) -> Option<Vec<f64>> {
    let plan = &e.plan;
    let dims = Dims::of(inputs);
    let mut x = embed_earlier(ar, e, inputs, dims, stats);
    let mut xl = vec![0.0; tr.d_model() * dims.l];
    tr.embed().apply(ar, &inputs.last, dims.l, &mut xl, stats);
    if let Some(pr) = tr.pos_row(dims.p, ar, stats) {
        ar.add_bias(&mut xl, &pr, dims.l, stats);
    }
    let mut finish = FinishBufs::default();
    let mut bufs = RunBufs {
        small: vec![0.0; dims.l],
        scores: Vec::new(),
        update: vec![0.0; TILE.max(dims.l)],
    };
    for (li, (blk, lp)) in tr.blocks().iter().zip(&plan.layers).enumerate() {
        let layer = Layer {
            tr,
            ar,
            blk,
            lp,
            dims,
            scale: ar.round(1.0 / ((blk.q.out_size() / tr.heads()) as f64).sqrt(), stats),
            stored: lp.stored.then(|| e.weights[li].as_deref()).flatten(),
        };
        if plan.exact && layer.stored.is_some() && !(all_finite(&x) && all_finite(&xl)) {
            return None;
        }
        let kv = layer.project(&x, &xl, &mut bufs.small, stats);
        if plan.exact && layer.stored.is_some() && !all_finite(&kv.vv) {
            return None;
        }
        let shared = lp.shared && !plan.exact;
        let (ul, uu) = layer.attend(&kv, shared, &mut bufs.scores, stats);
        drop(kv);
        tr.finish_layer(ar, blk, &ul, &mut xl, &mut finish, stats);
        layer.update_earlier(&uu, &mut x, (plan.keep.len(), &mut bufs.update), stats);
    }
    Some(tr.final_output(ar, xl, &mut finish, stats))
}

/// The kept residual coordinates at the positions before the last (`x[s·n + t·L + b]` for slot
/// `s`): the plan's embedding rows and the positional code.
fn embed_earlier(
    ar: &Arith,
    e: &Entry,
    inputs: &Inputs,
    dims: Dims,
    stats: &mut Stats,
) -> Vec<f64> {
    let Dims { tn, l, p, n, .. } = dims;
    let mut x = vec![0.0; e.plan.keep.len() * n];
    for (lo, hi) in tiles(p, l) {
        for r in &e.plan.embed {
            let o = &mut x[r.out * n + lo..r.out * n + hi];
            apply_row(ar, r, (&inputs.early, n), lo..hi, o, stats);
            if !e.pos.is_empty() {
                let pos = &e.pos[r.out * tn..(r.out + 1) * tn];
                for (t, chunk) in o.chunks_exact_mut(l).enumerate() {
                    let pv = pos[lo / l + t];
                    chunk.iter_mut().for_each(|v| *v += pv);
                }
                ar.round_slice(o, stats);
            }
        }
    }
    x
}

/// Buffers one run reuses across layers.
struct RunBufs {
    /// `L` numbers (a layer norm's per-lane numbers).
    small: Vec<f64>,
    /// Attention weights.
    scores: Vec<f64>,
    /// `max(TILE, L)` numbers: a row of residual updates.
    update: Vec<f64>,
}

/// One layer of the pass over a block of sequences.
struct Layer<'a> {
    tr: &'a Transformer,
    ar: &'a Arith,
    blk: &'a Block,
    lp: &'a LayerPlan,
    dims: Dims,
    /// `round(1/√d_k)`.
    scale: f64,
    /// The stored position-only attention weights, per head, where the plan uses them.
    stored: Option<&'a [HeadWeights]>,
}

/// One layer's projections: the last position's queries `ql` (`H·d_k · L`; none with stored
/// weights), and over every position (`[r·T·L + t·L + b]`, the last one's included) the keys
/// `kk` (none with stored weights) and values `vv`; the earlier positions' queries of the
/// plan's rows `qq` (`[r·p·L + t·L + b]`).
struct Projected {
    ql: Vec<f64>,
    kk: Vec<f64>,
    vv: Vec<f64>,
    qq: Vec<f64>,
}

impl Layer<'_> {
    /// The layer's queries, keys and values: the last position's from `xl` in full, the earlier
    /// positions' plan rows from the kept slots `x`.
    /// `small` holds `L` numbers.
    fn project(&self, x: &[f64], xl: &[f64], small: &mut [f64], stats: &mut Stats) -> Projected {
        let (ar, blk, lp) = (self.ar, self.blk, self.lp);
        let Dims { l, p, n, tl, .. } = self.dims;
        let d = self.tr.d_model();
        let (qk, vd) = (blk.q.out_size(), blk.v.out_size());
        // The last position's query, key and value.
        let mut al = vec![0.0; d * l];
        let inl: &[f64] = match &blk.ln1 {
            Some(nm) => {
                layer_norm(ar, nm, xl, l, &mut al, small, stats);
                &al
            }
            None => xl,
        };
        let mut ql = vec![0.0; qk * l];
        let mut kl = vec![0.0; qk * l];
        let mut vl = vec![0.0; vd * l];
        if self.stored.is_none() {
            blk.q.apply(ar, inl, l, &mut ql, stats);
            blk.k.apply(ar, inl, l, &mut kl, stats);
        }
        blk.v.apply(ar, inl, l, &mut vl, stats);
        // The earlier positions' keys and values (and queries where needed); the arrays run
        // over every position, the last one's from above.
        let mut a: Vec<f64>;
        let input: &[f64] = match &blk.ln1 {
            Some(nm) if n > 0 => {
                a = vec![0.0; d * n];
                layer_norm(ar, nm, x, n, &mut a, &mut vec![0.0; n], stats);
                &a
            }
            _ => x,
        };
        let mut kk = vec![0.0; if self.stored.is_some() { 0 } else { qk * tl }];
        let mut vv = vec![0.0; vd * tl];
        let mut qq = vec![0.0; if lp.q.is_empty() { 0 } else { qk * n }];
        for (lo, hi) in tiles(p, l) {
            // Each of k, v, q: its rows into `out` (a row every `stride` numbers).
            let mut rows = |rows: &[Row], out: &mut [f64], stride: usize| {
                for r in rows {
                    let at = r.out * stride;
                    apply_row(ar, r, (input, n), lo..hi, &mut out[at + lo..at + hi], stats);
                }
            };
            rows(&lp.k, &mut kk, tl);
            rows(&lp.v, &mut vv, tl);
            rows(&lp.q, &mut qq, n);
        }
        for r in 0..vd {
            vv[r * tl + n..(r + 1) * tl].copy_from_slice(&vl[r * l..(r + 1) * l]);
        }
        if self.stored.is_none() {
            for r in 0..qk {
                kk[r * tl + n..(r + 1) * tl].copy_from_slice(&kl[r * l..(r + 1) * l]);
            }
        }
        Projected { ql, kk, vv, qq }
    }

    /// The attention outputs: at the last position (`ul`, `H·d_v · L`, every head) and at the
    /// earlier positions for the heads the plan needs there (`uu`, `[r·p·L + t·L + b]`).
    /// `shared`: a position-only layer whose weights are the same for every lane.
    /// `sbuf` is scratch for the weights.
    fn attend(
        &self,
        kv: &Projected,
        shared: bool,
        sbuf: &mut Vec<f64>,
        stats: &mut Stats,
    ) -> (Vec<f64>, Vec<f64>) {
        let Dims { tn, l, p, n, tl } = self.dims;
        let heads = self.tr.heads();
        let (qk, vd) = (self.blk.q.out_size(), self.blk.v.out_size());
        let (dk, dv) = (qk / heads, vd / heads);
        let ar = self.ar;
        let mut sums: Vec<Sums> = (0..vd).map(|_| Sums::default()).collect();
        // Lane 0's keys (`[r·T + j]`) where every lane shares its weights.
        let lane0: Option<Vec<f64>> = (shared && l > 1 && self.stored.is_none()).then(|| {
            (0..qk)
                .flat_map(|r| (0..tn).map(move |j| (r, j)))
                .map(|(r, j)| kv.kk[r * tl + j * l])
                .collect()
        });
        let head_keys = |h: usize| HeadKeys {
            kk: &kv.kk,
            stride: tl,
            row0: h * dk,
            dk,
            l,
            scale: self.scale,
            shared: lane0.as_deref(),
        };
        let values = |r: usize, keys: usize| Values {
            v: &kv.vv[r * tl..(r + 1) * tl],
            keys,
            l,
        };
        // Attention at the last position: every head.
        let mut ul = vec![0.0; vd * l];
        for h in 0..heads {
            match self.stored {
                Some(w) => {
                    for r in h * dv..(h + 1) * dv {
                        let out = &mut ul[r * l..(r + 1) * l];
                        weighted_sum(ar, w[h].row(p), values(r, tn), out, &mut sums[r], stats);
                    }
                }
                None => {
                    let s = buf(sbuf, tl);
                    let q = &kv.ql[h * dk * l..(h + 1) * dk * l];
                    weights_of(ar, q, &head_keys(h), tn, s, stats);
                    for r in h * dv..(h + 1) * dv {
                        let out = &mut ul[r * l..(r + 1) * l];
                        ar.dot_lanes(s, &kv.vv[r * tl..(r + 1) * tl], l, out, stats);
                    }
                }
            }
        }
        // Attention at the earlier positions, for the heads the plan needs there.
        let mut uu = vec![0.0; if self.lp.heads.is_empty() { 0 } else { vd * n }];
        for &h in &self.lp.heads {
            match self.stored {
                Some(w) => {
                    for r in h * dv..(h + 1) * dv {
                        for t in 0..p {
                            let keys = if self.tr.causal() { t + 1 } else { tn };
                            let out = &mut uu[r * n + t * l..r * n + (t + 1) * l];
                            weighted_sum(
                                ar,
                                w[h].row(t),
                                values(r, keys),
                                out,
                                &mut sums[r],
                                stats,
                            );
                        }
                    }
                }
                None => {
                    let mut qt = vec![0.0; dk * l];
                    let mut ut = vec![0.0; l];
                    for t in 0..p {
                        let keys = if self.tr.causal() { t + 1 } else { tn };
                        for i in 0..dk {
                            let r = h * dk + i;
                            qt[i * l..(i + 1) * l]
                                .copy_from_slice(&kv.qq[r * n + t * l..r * n + (t + 1) * l]);
                        }
                        let s = buf(sbuf, keys * l);
                        weights_of(ar, &qt, &head_keys(h), keys, s, stats);
                        for r in h * dv..(h + 1) * dv {
                            ar.dot_lanes(s, &kv.vv[r * tl..r * tl + keys * l], l, &mut ut, stats);
                            uu[r * n + t * l..r * n + (t + 1) * l].copy_from_slice(&ut);
                        }
                    }
                }
            }
        }
        (ul, uu)
    }

    /// The residual updates the plan needs at the earlier positions, in place on the `slots`
    /// kept slots `x`: the output projection's rows of the attention outputs `uu`, then the
    /// MLP's.
    /// `obuf` holds `max(TILE, L)` numbers.
    fn update_earlier(
        &self,
        uu: &[f64],
        x: &mut [f64],
        (slots, obuf): (usize, &mut [f64]),
        stats: &mut Stats,
    ) {
        let (ar, blk, lp) = (self.ar, self.blk, self.lp);
        let Dims { l, p, n, .. } = self.dims;
        for (lo, hi) in tiles(p, l) {
            let o = &mut obuf[..hi - lo];
            for r in &lp.o {
                apply_row(ar, r, (uu, n), lo..hi, o, stats);
                ar.add(&mut x[r.out * n + lo..r.out * n + hi], o, stats);
            }
        }
        let Some((f1, _)) = blk.mlp.as_ref().filter(|_| n > 0 && !lp.fc2.is_empty()) else {
            return;
        };
        let d = self.tr.d_model();
        let normed = blk.ln2.as_ref().map(|nm| {
            let mut a2 = vec![0.0; d * n];
            layer_norm(ar, nm, x, n, &mut a2, &mut vec![0.0; n], stats);
            a2
        });
        let width = TILE.max(l);
        let mut hid = vec![0.0; f1.out_size() * width];
        let mut upd = vec![0.0; slots * width];
        for (lo, hi) in tiles(p, l) {
            let len = hi - lo;
            let input: &[f64] = normed.as_deref().unwrap_or(x);
            for r in &lp.fc1 {
                let hr = &mut hid[r.out * len..(r.out + 1) * len];
                apply_row(ar, r, (input, n), lo..hi, hr, stats);
                ar.act(hr, self.tr.activation().act(), stats);
            }
            for r in &lp.fc2 {
                let out = &mut upd[r.out * len..(r.out + 1) * len];
                apply_row(ar, r, (&hid, len), 0..len, out, stats);
            }
            for r in &lp.fc2 {
                ar.add(
                    &mut x[r.out * n + lo..r.out * n + hi],
                    &upd[r.out * len..(r.out + 1) * len],
                    stats,
                );
            }
        }
    }
}

/// What `model::testing` reads of the pass.
impl LastPass {
    /// The pass with a budget of `bytes` for stored weights (0: none is stored, and the
    /// position-only layers share one lane's weights instead).
    pub(super) fn with_budget(tr: &Transformer, ar: &Arith, bytes: usize) -> Self {
        LastPass {
            budget: bytes,
            ..LastPass::new(tr, ar)
        }
    }

    /// The sliced plan at length `len`: (coordinates kept before the last position, layers
    /// with stored weights, layers updated before the last position); `None` where only the
    /// exact plan applies.
    pub(super) fn shape(
        &self,
        tr: &Transformer,
        ar: &Arith,
        len: usize,
    ) -> Option<(usize, Vec<bool>, Vec<bool>)> {
        self.finite.then(|| {
            let e = self.entry(tr, ar, len, false);
            let p = &e.plan;
            (
                p.keep.len(),
                p.layers.iter().map(|l| l.stored).collect(),
                p.layers
                    .iter()
                    .map(|l| !l.o.is_empty() || !l.fc2.is_empty())
                    .collect(),
            )
        })
    }

    /// Both plans' outputs on one block (`seqs` as `outputs` takes them), before any fallback:
    /// the sliced plan's (`None` where it does not apply) and the exact plan's (`None` where it
    /// meets a value that is not finite).
    pub(super) fn tiers(
        &self,
        tr: &Transformer,
        ar: &Arith,
        seqs: &[&[f64]],
    ) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
        let mut st = Stats::default();
        let inputs = Inputs::new(ar, seqs, tr.input_size(), &mut st);
        let entry = |exact| self.entry(tr, ar, inputs.tn, exact);
        let sliced = self
            .finite
            .then(|| run(tr, ar, &entry(false), &inputs, &mut st))
            .flatten();
        let exact = run(tr, ar, &entry(true), &inputs, &mut st);
        (sliced, exact)
    }
}

#[cfg(test)]
impl LastPass {
    /// How many rows of stored weights at length `len` (sliced plan, else exact) are runs.
    pub(super) fn runs(&self, tr: &Transformer, ar: &Arith, len: usize) -> usize {
        let e = self.entry(tr, ar, len, !self.finite);
        e.weights
            .iter()
            .flatten()
            .flatten()
            .map(|h| h.runs.iter().filter(|r| r.1 > 0).count())
            .sum()
    }
}
