//! Exact deterministic communication complexity `D(f)` by search over protocol trees.
//!
//! A protocol tree splits the current rectangle `R × C`: Alice splits `R` in two, or Bob splits
//! `C`; a leaf is a monochromatic rectangle. `D` is the least depth (bits, the answer included, so
//! `D(EQ_n) = n + 1`).
//!
//! The search decides "is `D(R × C) ≤ d`?" with memoisation on the canonical form of the
//! rectangle and prunes with two bounds computed per rectangle:
//! - lower: `ceil(log2(rank₂(M) + rank₂(J − M)))` — a tree with `L` leaves partitions `M` into
//!   1-rectangles and `J − M` into 0-rectangles, and a sum of `k` rank-one 0/1 matrices has rank
//!   at most `k` over GF(2) as over any field;
//! - upper: `1 + ceil(log2 #distinct rows)` (and columns): the one-way protocol plus the answer.
//!
//! Canonical form: identical rows (restricted to `C`) are merged into the first of them, and
//! likewise columns. Merging loses nothing: a protocol for the merged rectangle runs on the full
//! one by sending every row the way its twin goes, and the merged one is a sub-rectangle, so both
//! have the same `D`.
//!
//! The outer loop tries `d = lower, lower + 1, …` below the one-way upper bound and stops at the
//! first `d` that works, so a run ends as soon as the best lower bound meets the best upper bound.
//! Search works on at most 64 distinct rows and 64 distinct columns (`u64` masks); cost is
//! exponential in those counts in the worst case and bounded by `Limits::search_nodes`.

use std::collections::HashMap;

use crate::certificate::{Direction, ProtocolNode};
use crate::matrix::CommMatrix;
use crate::measures::{Limits, ceil_log2};

/// The outcome of the protocol-tree search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchOutcome {
    /// `D ≥ lower`: the caller's lower bound, raised by every depth the search refuted.
    pub lower: u32,
    /// `D ≤ upper`, with `tree` of that depth.
    pub upper: u32,
    pub tree: ProtocolNode,
    /// Search steps taken: rectangles expanded plus splits tried (what the budget counts).
    pub nodes: u64,
    /// Whether the search refuted at least one depth (so the lower bound rests on the search).
    pub lower_from_search: bool,
    /// Whether the node budget ran out before `lower == upper`.
    pub budget_exhausted: bool,
}

/// Searches for `D(m)` given a lower bound already proven (`known_lower`, e.g. from fooling sets
/// or ranks). Returns `None` when the matrix has more than `limits.protocol_max_classes` distinct
/// rows or columns (or more than 64).
///
/// Cost: exponential in the number of distinct rows and columns in the worst case; each depth
/// tried is a memoised search, and the whole run stops after `limits.search_nodes` steps (a step
/// is a rectangle expanded or a split tried, so time and memo size are linear in the budget).
pub fn search(m: &CommMatrix, known_lower: u32, limits: &Limits) -> Option<SearchOutcome> {
    let row_classes = m.row_classes();
    let col_classes = m.col_classes();
    let max_classes = limits.protocol_max_classes.min(64);
    if row_classes.count() > max_classes || col_classes.count() > max_classes {
        return None;
    }
    let small = Small::new(
        m,
        &row_classes.representatives,
        &col_classes.representatives,
    );
    let full_r = low_bits(small.rows.len());
    let full_c = low_bits(small.cols.len());
    let mut s = Searcher {
        small: &small,
        memo: HashMap::new(),
        nodes: 0,
        budget: limits.search_nodes,
    };
    let (r, c) = s.canonical(full_r, full_c);
    let (static_lower, upper) = s.bounds(r, c);
    let mut lower = known_lower.max(static_lower);
    let mut lower_from_search = false;
    let mut budget_exhausted = false;
    let mut depth = upper;
    while lower < upper {
        match s.solvable(r, c, lower) {
            Some(true) => {
                depth = lower;
                break;
            }
            Some(false) => {
                lower += 1;
                lower_from_search = true;
            }
            None => {
                budget_exhausted = true;
                break;
            }
        }
    }
    if lower >= upper {
        depth = upper;
        lower = upper;
    } else if !budget_exhausted {
        // Found a tree of depth `lower`.
        debug_assert_eq!(depth, lower);
    }
    let one_way_depth = upper;
    let upper = if budget_exhausted { upper } else { depth };
    let nodes = s.nodes;
    let tree = if upper == one_way_depth {
        // The one-way protocol of the side with fewer classes has this depth; rebuilding it
        // through `split_for` could search afresh (the memo need not hold the one-way splits).
        let speaker = if row_classes.count() <= col_classes.count() {
            Direction::AliceToBob
        } else {
            Direction::BobToAlice
        };
        one_way_tree(m, speaker)
    } else {
        // A tree of depth `upper < one_way_depth` was found by the search: every query of the
        // rebuild is answered from the memo, so the budget no longer applies.
        s.budget = u64::MAX;
        let rows: Vec<usize> = (0..m.rows()).collect();
        let cols: Vec<usize> = (0..m.cols()).collect();
        s.build(
            &rows,
            &cols,
            &row_classes.class_of,
            &col_classes.class_of,
            upper,
        )
    };
    Some(SearchOutcome {
        lower,
        upper,
        tree,
        nodes,
        lower_from_search,
        budget_exhausted,
    })
}

/// The protocol "the speaker names their class in `ceil(log2 #classes)` bits, the other party
/// answers with one bit", as a tree over the original indices. Depth `ceil(log2 k) + 1` at most
/// (no answer bit where the row is constant).
///
/// Cost: `O(rows · cols)` for the answers plus the index lists, which hold each input once per
/// level: `O((rows + cols) · log k)` indices.
pub fn one_way_tree(m: &CommMatrix, speaker: Direction) -> ProtocolNode {
    let (classes, other_len) = match speaker {
        Direction::AliceToBob => (m.row_classes(), m.cols()),
        Direction::BobToAlice => (m.col_classes(), m.rows()),
    };
    let mut members: Vec<Vec<u64>> = vec![Vec::new(); classes.count()];
    for (i, &c) in classes.class_of.iter().enumerate() {
        members[c as usize].push(i as u64);
    }
    let entry = |speaker_input: usize, other: usize| match speaker {
        Direction::AliceToBob => m.get(speaker_input, other),
        Direction::BobToAlice => m.get(other, speaker_input),
    };
    let answer = |class: usize| -> ProtocolNode {
        let rep = classes.representatives[class];
        let ones: Vec<u64> = (0..other_len)
            .filter(|&o| entry(rep, o))
            .map(|o| o as u64)
            .collect();
        if ones.is_empty() {
            ProtocolNode::Leaf { output: 0 }
        } else if ones.len() == other_len {
            ProtocolNode::Leaf { output: 1 }
        } else {
            split_node(
                speaker_other(speaker),
                ones,
                ProtocolNode::Leaf { output: 0 },
                ProtocolNode::Leaf { output: 1 },
            )
        }
    };
    fn halves(
        lo: usize,
        hi: usize,
        speaker: Direction,
        members: &[Vec<u64>],
        answer: &dyn Fn(usize) -> ProtocolNode,
    ) -> ProtocolNode {
        if hi - lo == 1 {
            return answer(lo);
        }
        let mid = lo + (hi - lo).div_ceil(2);
        let ones: Vec<u64> = members[mid..hi].iter().flatten().copied().collect();
        split_node(
            speaker,
            ones,
            halves(lo, mid, speaker, members, answer),
            halves(mid, hi, speaker, members, answer),
        )
    }
    halves(0, classes.count(), speaker, &members, &answer)
}

fn speaker_other(d: Direction) -> Direction {
    match d {
        Direction::AliceToBob => Direction::BobToAlice,
        Direction::BobToAlice => Direction::AliceToBob,
    }
}

fn split_node(
    speaker: Direction,
    mut ones: Vec<u64>,
    zero: ProtocolNode,
    one: ProtocolNode,
) -> ProtocolNode {
    ones.sort_unstable();
    let (zero, one) = (Box::new(zero), Box::new(one));
    match speaker {
        Direction::AliceToBob => ProtocolNode::Alice { ones, zero, one },
        Direction::BobToAlice => ProtocolNode::Bob { ones, zero, one },
    }
}

/// Depth of a protocol tree.
pub fn depth(t: &ProtocolNode) -> u32 {
    match t {
        ProtocolNode::Leaf { .. } => 0,
        ProtocolNode::Alice { zero, one, .. } | ProtocolNode::Bob { zero, one, .. } => {
            1 + depth(zero).max(depth(one))
        }
    }
}

/// Number of leaves of a protocol tree.
pub fn leaves(t: &ProtocolNode) -> u64 {
    match t {
        ProtocolNode::Leaf { .. } => 1,
        ProtocolNode::Alice { zero, one, .. } | ProtocolNode::Bob { zero, one, .. } => {
            leaves(zero) + leaves(one)
        }
    }
}

fn low_bits(k: usize) -> u64 {
    if k >= 64 { u64::MAX } else { (1u64 << k) - 1 }
}

/// The matrix of distinct rows × distinct columns as masks: `rows[i]` has bit `j` set when entry
/// `(i, j)` is 1, and `cols[j]` likewise over rows.
struct Small {
    rows: Vec<u64>,
    cols: Vec<u64>,
}

impl Small {
    fn new(m: &CommMatrix, row_reps: &[usize], col_reps: &[usize]) -> Self {
        let mut rows = vec![0u64; row_reps.len()];
        let mut cols = vec![0u64; col_reps.len()];
        for (i, &x) in row_reps.iter().enumerate() {
            for (j, &y) in col_reps.iter().enumerate() {
                if m.get(x, y) {
                    rows[i] |= 1 << j;
                    cols[j] |= 1 << i;
                }
            }
        }
        Small { rows, cols }
    }
}

/// Known bounds on the depth of one canonical rectangle: `lower ≤ D ≤ upper`.
#[derive(Clone, Copy)]
struct Known {
    lower: u32,
    upper: u32,
}

struct Searcher<'a> {
    small: &'a Small,
    memo: HashMap<(u64, u64), Known>,
    nodes: u64,
    budget: u64,
}

/// Keeps the first of each group of masks equal on `within`; returns the kept set.
fn dedupe(set: u64, masks: &[u64], within: u64) -> u64 {
    let mut kept = 0u64;
    let mut seen: Vec<u64> = Vec::with_capacity(set.count_ones() as usize);
    let mut rest = set;
    while rest != 0 {
        let i = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        let p = masks[i] & within;
        if !seen.contains(&p) {
            seen.push(p);
            kept |= 1 << i;
        }
    }
    kept
}

fn members(set: u64) -> Vec<usize> {
    let mut v = Vec::with_capacity(set.count_ones() as usize);
    let mut rest = set;
    while rest != 0 {
        v.push(rest.trailing_zeros() as usize);
        rest &= rest - 1;
    }
    v
}

fn gf2_rank(mut vs: Vec<u64>) -> u32 {
    let mut rank = 0;
    for i in 0..vs.len() {
        let v = vs[i];
        if v == 0 {
            continue;
        }
        rank += 1;
        let pivot = v & v.wrapping_neg();
        for w in vs[i + 1..].iter_mut() {
            if *w & pivot != 0 {
                *w ^= v;
            }
        }
    }
    rank
}

impl Searcher<'_> {
    fn canonical(&self, r: u64, c: u64) -> (u64, u64) {
        let r = dedupe(r, &self.small.rows, c);
        let c = dedupe(c, &self.small.cols, r);
        (r, c)
    }

    /// Static bounds of a canonical rectangle: (rank lower bound, one-way upper bound).
    fn bounds(&self, r: u64, c: u64) -> (u32, u32) {
        let (kr, kc) = (r.count_ones(), c.count_ones());
        if kr == 1 && kc == 1 {
            return (0, 0);
        }
        let upper = 1 + ceil_log2(u64::from(kr)).min(ceil_log2(u64::from(kc)));
        let rows: Vec<u64> = members(r).iter().map(|&i| self.small.rows[i] & c).collect();
        let flipped: Vec<u64> = rows.iter().map(|&p| !p & c).collect();
        let sum = gf2_rank(rows) + gf2_rank(flipped);
        (ceil_log2(u64::from(sum)).max(1), upper)
    }

    /// Is `D(r × c) ≤ d`? `None` when the node budget ran out.
    fn solvable(&mut self, r: u64, c: u64, d: u32) -> Option<bool> {
        let (r, c) = self.canonical(r, c);
        let known = match self.memo.get(&(r, c)) {
            Some(&k) => k,
            None => {
                let (lower, upper) = self.bounds(r, c);
                let k = Known { lower, upper };
                self.memo.insert((r, c), k);
                k
            }
        };
        if known.upper <= d {
            return Some(true);
        }
        if known.lower > d {
            return Some(false);
        }
        self.nodes += 1;
        if self.nodes > self.budget {
            return None;
        }
        let found = self.split_for(r, c, d)?.is_some();
        let entry = self.memo.get_mut(&(r, c)).expect("inserted above");
        if found {
            entry.upper = entry.upper.min(d);
        } else {
            entry.lower = entry.lower.max(d + 1);
        }
        Some(found)
    }

    /// A split of the canonical rectangle `r × c` whose two halves both have depth `≤ d − 1`:
    /// `Some(Some((alice_speaks, part)))`, `Some(None)` when there is none, `None` when the budget
    /// ran out.
    fn split_for(&mut self, r: u64, c: u64, d: u32) -> Option<Option<(bool, u64)>> {
        for alice in [true, false] {
            let set = if alice { r } else { c };
            let list = members(set);
            let k = list.len();
            if k < 2 {
                continue;
            }
            // Parts always contain list[0]; `sub` picks the rest from list[1..]. The balanced
            // split goes first: it is the one-way protocol's, and often right.
            let all = (1u64 << (k - 1)) - 1;
            // Part = list[0..k/2]: bits 0..k/2-1 of `sub` stand for list[1..k/2].
            let balanced = (1u64 << (k / 2 - 1)) - 1;
            let order = std::iter::once(balanced).chain((0..all).filter(move |&s| s != balanced));
            for sub in order {
                // Every split tried counts against the budget, so the budget bounds time and
                // memory (a rectangle with k classes has 2^(k-1) splits per side).
                self.nodes += 1;
                if self.nodes > self.budget {
                    return None;
                }
                let mut part = 1u64 << list[0];
                for (b, &idx) in list[1..].iter().enumerate() {
                    if sub >> b & 1 == 1 {
                        part |= 1 << idx;
                    }
                }
                let rest = set & !part;
                let (a, b) = if alice {
                    ((part, c), (rest, c))
                } else {
                    ((r, part), (r, rest))
                };
                if self.solvable(a.0, a.1, d - 1)? && self.solvable(b.0, b.1, d - 1)? {
                    return Some(Some((alice, part)));
                }
            }
        }
        Some(None)
    }

    /// Builds a tree of depth `≤ d` for the rectangle `rows × cols` (original indices), which
    /// must be solvable in `d`. `row_class` / `col_class` map original indices to the distinct
    /// rows / columns of `Small`.
    fn build(
        &mut self,
        rows: &[usize],
        cols: &[usize],
        row_class: &[u32],
        col_class: &[u32],
        d: u32,
    ) -> ProtocolNode {
        let r_all = rows.iter().fold(0u64, |a, &x| a | 1 << row_class[x]);
        let c_all = cols.iter().fold(0u64, |a, &y| a | 1 << col_class[y]);
        let (r, c) = self.canonical(r_all, c_all);
        if r.count_ones() == 1 && c.count_ones() == 1 {
            let i = r.trailing_zeros() as usize;
            let output = u8::from(self.small.rows[i] & c != 0);
            return ProtocolNode::Leaf { output };
        }
        let (alice, part) = match self.split_for(r, c, d) {
            Some(Some(s)) => s,
            _ => unreachable!("build is called only on rectangles proven solvable in depth d"),
        };
        // Every original input follows the canonical representative with its pattern.
        let (inputs, classes, masks, within, kept) = if alice {
            (rows, row_class, &self.small.rows, c, r)
        } else {
            (cols, col_class, &self.small.cols, r, c)
        };
        let rep_goes_one = |class: usize| -> bool {
            let p = masks[class] & within;
            let rep = members(kept)
                .into_iter()
                .find(|&i| masks[i] & within == p)
                .expect("every class has a kept representative with its pattern");
            part >> rep & 1 == 1
        };
        let (mut ones, mut zeros) = (Vec::new(), Vec::new());
        for &x in inputs {
            if rep_goes_one(classes[x] as usize) {
                ones.push(x);
            } else {
                zeros.push(x);
            }
        }
        let (zero, one) = if alice {
            (
                self.build(&zeros, cols, row_class, col_class, d - 1),
                self.build(&ones, cols, row_class, col_class, d - 1),
            )
        } else {
            (
                self.build(rows, &zeros, row_class, col_class, d - 1),
                self.build(rows, &ones, row_class, col_class, d - 1),
            )
        };
        let speaker = if alice {
            Direction::AliceToBob
        } else {
            Direction::BobToAlice
        };
        split_node(speaker, ones.iter().map(|&x| x as u64).collect(), zero, one)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemSpec;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// D by the plain recursion over all splits of all sub-rectangles (no merging, no bounds).
    fn brute_d(m: &CommMatrix) -> u32 {
        fn go(m: &CommMatrix, r: u64, c: u64, memo: &mut HashMap<(u64, u64), u32>) -> u32 {
            if let Some(&v) = memo.get(&(r, c)) {
                return v;
            }
            let cells: Vec<bool> = members(r)
                .iter()
                .flat_map(|&x| members(c).into_iter().map(move |y| m.get(x, y)))
                .collect();
            let best = if cells.iter().all(|&b| b) || cells.iter().all(|&b| !b) {
                0
            } else {
                let mut best = u32::MAX;
                for (set, alice) in [(r, true), (c, false)] {
                    let mut sub = (set - 1) & set;
                    while sub != 0 {
                        let rest = set & !sub;
                        if sub < rest {
                            let v = if alice {
                                go(m, sub, c, memo).max(go(m, rest, c, memo))
                            } else {
                                go(m, r, sub, memo).max(go(m, r, rest, memo))
                            };
                            best = best.min(1 + v);
                        }
                        sub = (sub - 1) & set;
                    }
                }
                best
            };
            memo.insert((r, c), best);
            best
        }
        go(
            m,
            low_bits(m.rows()),
            low_bits(m.cols()),
            &mut HashMap::new(),
        )
    }

    fn d_of(m: &CommMatrix) -> u32 {
        let out = search(m, 0, &Limits::default()).unwrap();
        assert!(!out.budget_exhausted);
        assert_eq!(out.lower, out.upper);
        assert!(depth(&out.tree) <= out.upper);
        out.upper
    }

    #[test]
    fn closed_forms() {
        for n in 1..=4u32 {
            for spec in [
                ProblemSpec::Eq { n },
                ProblemSpec::Disj { n },
                ProblemSpec::Gt { n },
            ] {
                assert_eq!(d_of(&spec.matrix().unwrap()), n + 1, "{}", spec.label());
            }
            let idx = ProblemSpec::Index { n }.matrix().unwrap();
            assert_eq!(d_of(&idx), ceil_log2(u64::from(n)) + 1, "INDEX_{n}");
        }
    }

    #[test]
    fn agrees_with_brute_force_on_random_matrices() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..60 {
            let rows = rng.random_range(1..=5);
            let cols = rng.random_range(1..=5);
            let bits: Vec<bool> = (0..rows * cols).map(|_| rng.random_bool(0.5)).collect();
            let m = CommMatrix::from_fn(rows, cols, |x, y| bits[x * cols + y]).unwrap();
            assert_eq!(d_of(&m), brute_d(&m), "{m:?}");
        }
    }

    /// A matrix with 41 x 35 distinct rows/columns on which the search used to run for hours
    /// within its budget (splits were not counted). Now the budget stops it.
    #[test]
    fn budget_bounds_the_work() {
        let text = include_str!("../../tests/fixtures/search_budget_41x35.txt");
        let m = CommMatrix::parse(text).unwrap();
        let limits = Limits {
            search_nodes: 100_000,
            ..Limits::default()
        };
        let out = search(&m, 0, &limits).unwrap();
        assert!(out.nodes <= limits.search_nodes + 1);
        assert!(out.lower <= out.upper);
        assert!(depth(&out.tree) <= out.upper);
        // After the budget ran out, the tree of the one-way bound used to be rebuilt by an
        // unbounded search (here: Bob's side is the cheap one, Alice's splits come first).
        let text = include_str!("../../tests/fixtures/rebuild_after_budget_64x9.txt");
        let m = CommMatrix::parse(text).unwrap();
        let tight = Limits {
            search_nodes: 1,
            ..Limits::default()
        };
        let out = search(&m, 0, &tight).unwrap();
        assert!(out.budget_exhausted);
        assert_eq!(depth(&out.tree), out.upper);
    }

    #[test]
    fn one_way_tree_has_the_one_way_depth() {
        let m = ProblemSpec::Index { n: 5 }.matrix().unwrap();
        assert_eq!(depth(&one_way_tree(&m, Direction::BobToAlice)), 3 + 1);
        assert_eq!(depth(&one_way_tree(&m, Direction::AliceToBob)), 5 + 1);
    }
}
