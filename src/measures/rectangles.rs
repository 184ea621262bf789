//! Partition and cover numbers: the fewest monochromatic rectangles that partition the matrix
//! (`C^P`), or that cover its 1s (`C^1`) or its 0s (`C^0`). A protocol tree's leaves partition
//! the matrix, so `D(f) ≥ ceil(log2 C^P) ≥ ceil(log2(C^1 + C^0))`.
//!
//! Both searches run on the matrix with duplicate rows and columns removed. That loses nothing:
//! a partition (or cover) of the reduced matrix becomes one of the full matrix by giving every
//! rectangle all the rows of its row classes and all the columns of its column classes — the
//! entries there are copies of the reduced ones, so the rectangles stay monochromatic, and the
//! cell `(x, y)` lies in exactly the rectangles that hold `(class(x), class(y))`, so a partition
//! stays a partition and a cover a cover. Conversely, cutting the rectangles of any partition (or
//! cover) of the full matrix down to the representative rows and columns gives one of the reduced
//! matrix with no more rectangles. So the numbers agree, and the certificate lists the expanded
//! rectangles in the indices of the original matrix. The reduced matrix is then oriented so that
//! it has no more columns than rows, and a set of columns is one `u64`.
//!
//! **Covers** (`C^b`): every rectangle of a cover can be grown to a *maximal* `b`-rectangle, so
//! only those are used. They are the closed pairs `R × C` (`C` = the columns where all rows of
//! `R` are `b`, and `R` = the rows that are `b` on all of `C`); their column sets are the
//! non-empty intersections of rows' `b`-sets, enumerated by intersecting one row at a time (at
//! most `2^min(rows, cols)` of them). An exact minimum set cover follows by branch and bound:
//! branch on the uncovered cell that the fewest allowed rectangles contain, try those rectangles
//! (most new cells first), and forbid each in its later siblings (every cover using it was
//! already seen). The lower bound is a greedy set of uncovered cells no two of which lie in one
//! allowed rectangle — a fooling set of what remains.
//!
//! **Partition** (`C^P`): the rectangles need not be maximal, so the search branches on *every*
//! monochromatic rectangle of uncovered cells that holds one chosen uncovered cell — the one
//! that can share a rectangle with the fewest others. Every partition is met once (its rectangle
//! through the chosen cell is unique). A transposition table of covered sets prunes states reached again with no fewer rectangles. The lower bound on what remains is,
//! for each value `b`, the largest of the rank over GF(2) and modulo a prime of the uncovered
//! `b`-cells (the remaining `b`-rectangles sum to exactly that 0/1 matrix, so there are at least
//! its rank of them) and a greedy fooling set of those cells.
//!
//! Cost: both searches are exponential in the worst case; each stops after
//! `Limits::search_nodes` nodes (the cover counts the intersections of its enumeration among
//! them) and then returns the best solution found. A node costs `O(cells · rectangles / 64)`
//! word operations for covers and `O(rows · cols²)` for the partition bounds. The partition's
//! transposition table holds at most 2^20 states.

use std::collections::{HashMap, HashSet};

use crate::certificate::{Rectangle, RectangleKind, RectanglesCert};
use crate::matrix::{CommMatrix, words_for};
use crate::measures::Limits;

/// Minimum number of monochromatic rectangles: a partition (`C^P`), or a cover of the 1s
/// (`C^1`) or of the 0s (`C^0`).
///
/// Returns `None` when `distinct rows × distinct columns > limits.rectangle_max_cells`, or when
/// both the distinct rows and the distinct columns number more than 64 (possible only with a
/// ceiling above 4096 cells). The search stops after `limits.search_nodes` nodes; it then returns
/// the best solution found with `proven_minimum: false`.
///
/// `upper_bound` is the size of a solution known to exist (for a partition, the leaves of a
/// protocol tree; for `C^b`, its `b`-leaves): the search then looks only for solutions of at most
/// that size. A hint smaller than the true number costs a second search but never a wrong answer.
///
/// The rectangles are in the indices of `m`, rows and columns sorted; a cover of a matrix with no
/// `b` entries is empty.
pub fn min_rectangles(
    m: &CommMatrix,
    kind: RectangleKind,
    limits: &Limits,
    upper_bound: Option<u64>,
) -> Option<RectanglesCert> {
    let red = Reduced::new(m, limits.rectangle_max_cells)?;
    let hint = upper_bound.map_or(usize::MAX, |u| usize::try_from(u).unwrap_or(usize::MAX));
    let outcome = match kind {
        RectangleKind::Partition => partition(&red, limits.search_nodes, hint),
        RectangleKind::Cover1 => cover(&red, true, limits.search_nodes, hint),
        RectangleKind::Cover0 => cover(&red, false, limits.search_nodes, hint),
    };
    Some(RectanglesCert {
        kind,
        rectangles: outcome.rects.iter().map(|r| red.expand(r)).collect(),
        proven_minimum: outcome.proven,
        search_nodes: outcome.nodes,
    })
}

/// A rectangle of the reduced, oriented matrix.
#[derive(Clone, Debug)]
struct Rect {
    rows: Vec<u32>,
    cols: u64,
    value: bool,
}

struct Outcome {
    rects: Vec<Rect>,
    proven: bool,
    nodes: u64,
}

/// The matrix with duplicate rows and columns removed, oriented so that `cols ≤ rows` and
/// `cols ≤ 64`.
struct Reduced {
    rows: usize,
    cols: usize,
    /// Per row, the columns holding a 1.
    ones: Vec<u64>,
    /// Per row, the columns holding a 0.
    zeros: Vec<u64>,
    /// The indices of `m` behind each reduced row and column (after orientation).
    row_members: Vec<Vec<u64>>,
    col_members: Vec<Vec<u64>>,
    /// Reduced rows are the columns of `m`.
    transposed: bool,
}

impl Reduced {
    /// Sequential: rows are hashed (stopping as soon as there are more distinct ones than
    /// `max_cells`), then each column's pattern on the distinct rows is read off their words and
    /// hashed. `O(rows · stride + cols · distinct rows / 64)` word operations.
    fn new(m: &CommMatrix, max_cells: u64) -> Option<Reduced> {
        let mut row_class: HashMap<&[u64], u32> = HashMap::new();
        let mut row_reps: Vec<usize> = Vec::new();
        let mut row_members: Vec<Vec<u64>> = Vec::new();
        for x in 0..m.rows() {
            let next = row_reps.len() as u32;
            let c = *row_class.entry(m.row_words(x)).or_insert(next);
            if c == next {
                if next as u64 >= max_cells {
                    return None;
                }
                row_reps.push(x);
                row_members.push(Vec::new());
            }
            row_members[c as usize].push(x as u64);
        }
        let dr = row_reps.len();
        // Column y's pattern: the distinct rows holding a 1 in it.
        let pw = words_for(dr);
        let mut pattern = vec![0u64; m.cols() * pw];
        for (i, &x) in row_reps.iter().enumerate() {
            for (k, &w) in m.row_words(x).iter().enumerate() {
                for b in bits(w) {
                    pattern[(k * 64 + b) * pw + i / 64] |= 1 << (i % 64);
                }
            }
        }
        let mut col_class: HashMap<&[u64], u32> = HashMap::new();
        let mut col_reps: Vec<usize> = Vec::new();
        let mut col_members: Vec<Vec<u64>> = Vec::new();
        for y in 0..m.cols() {
            let next = col_reps.len() as u32;
            let c = *col_class
                .entry(&pattern[y * pw..(y + 1) * pw])
                .or_insert(next);
            if c == next {
                col_reps.push(y);
                col_members.push(Vec::new());
            }
            col_members[c as usize].push(y as u64);
        }
        let dc = col_reps.len();
        if (dr as u64).saturating_mul(dc as u64) > max_cells || dr.min(dc) > 64 {
            return None;
        }
        let transposed = dc > dr;
        let (rows, cols) = if transposed { (dc, dr) } else { (dr, dc) };
        if transposed {
            std::mem::swap(&mut row_members, &mut col_members);
        }
        let one = |i: usize, j: usize| pattern[col_reps[j] * pw + i / 64] >> (i % 64) & 1 == 1;
        let ones: Vec<u64> = (0..rows)
            .map(|i| {
                (0..cols).fold(0u64, |acc, j| {
                    let bit = if transposed { one(j, i) } else { one(i, j) };
                    acc | u64::from(bit) << j
                })
            })
            .collect();
        let full = low_bits(cols);
        let zeros = ones.iter().map(|&w| !w & full).collect();
        Some(Reduced {
            rows,
            cols,
            ones,
            zeros,
            row_members,
            col_members,
            transposed,
        })
    }

    /// Per row, the columns holding `b`.
    fn masks(&self, b: bool) -> &[u64] {
        if b { &self.ones } else { &self.zeros }
    }

    /// The rectangle in the indices of the original matrix.
    fn expand(&self, r: &Rect) -> Rectangle {
        let mut rows: Vec<u64> = r
            .rows
            .iter()
            .flat_map(|&i| self.row_members[i as usize].iter().copied())
            .collect();
        let mut cols: Vec<u64> = (0..self.cols)
            .filter(|&j| r.cols >> j & 1 == 1)
            .flat_map(|j| self.col_members[j].iter().copied())
            .collect();
        if self.transposed {
            std::mem::swap(&mut rows, &mut cols);
        }
        rows.sort_unstable();
        cols.sort_unstable();
        Rectangle {
            rows,
            cols,
            value: u8::from(r.value),
        }
    }
}

/// The low `n` bits set (`n ≤ 64`).
fn low_bits(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

fn bits(mut w: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (w != 0).then(|| {
            let b = w.trailing_zeros() as usize;
            w &= w - 1;
            b
        })
    })
}

/// Runs `search(limit)` looking for solutions of at most `min(trivial − 1, hint)` rectangles,
/// where `trivial` is the size of the starting solution. If the hint was below the true number
/// (the search proved there is no solution that small), searches again without it.
fn with_hint<T>(
    trivial: usize,
    hint: usize,
    mut search: impl FnMut(usize) -> (Option<T>, bool),
) -> (Option<T>, bool) {
    let first = (trivial - 1).min(hint);
    let (found, complete) = search(first);
    if found.is_some() || !complete || first == trivial - 1 {
        return (found, complete);
    }
    search(trivial - 1)
}

// ---------------------------------------------------------------------------------------------
// Covers.

fn cover(red: &Reduced, b: bool, budget: u64, hint: usize) -> Outcome {
    let masks = red.masks(b);
    if masks.iter().all(|&w| w == 0) {
        return Outcome {
            rects: Vec::new(),
            proven: true,
            nodes: 0,
        };
    }
    // Column sets of the maximal b-rectangles: intersections of rows' b-sets.
    let mut nodes = 0u64;
    let mut seen = HashSet::new();
    let mut intents: Vec<u64> = Vec::new();
    let mut complete = true;
    'rows: for &w in masks.iter().filter(|&&w| w != 0) {
        for k in 0..intents.len() {
            if nodes >= budget {
                complete = false;
                break 'rows;
            }
            nodes += 1;
            let j = intents[k] & w;
            if j != 0 && seen.insert(j) {
                intents.push(j);
            }
        }
        if seen.insert(w) {
            intents.push(w);
        }
    }
    if !complete {
        // Fall back to the rows' own b-sets: still maximal rectangles, and they cover.
        seen.clear();
        intents = masks
            .iter()
            .copied()
            .filter(|&w| w != 0 && seen.insert(w))
            .collect();
    }
    let rects: Vec<Rect> = intents
        .iter()
        .map(|&c| Rect {
            rows: (0..red.rows)
                .filter(|&r| masks[r] & c == c)
                .map(|r| r as u32)
                .collect(),
            cols: c,
            value: b,
        })
        .collect();

    let greedy = greedy_cover(masks, &rects);
    if !complete {
        return Outcome {
            rects: greedy.iter().map(|&t| rects[t].clone()).collect(),
            proven: false,
            nodes,
        };
    }
    let mut search = CoverSearch::new(red, masks, &rects, budget);
    search.nodes = nodes;
    let (found, proven) = with_hint(greedy.len(), hint, |limit| {
        search.reset(masks, limit);
        search.dfs();
        (search.best.take(), !search.aborted)
    });
    let chosen = found.unwrap_or(greedy);
    Outcome {
        rects: chosen.iter().map(|&t| rects[t].clone()).collect(),
        proven,
        nodes: search.nodes,
    }
}

/// Greedy set cover: repeatedly the rectangle with the most uncovered cells.
fn greedy_cover(masks: &[u64], rects: &[Rect]) -> Vec<usize> {
    let mut unc = masks.to_vec();
    let mut chosen = Vec::new();
    while unc.iter().any(|&w| w != 0) {
        let gain = |r: &Rect| -> u32 {
            r.rows
                .iter()
                .map(|&i| (unc[i as usize] & r.cols).count_ones())
                .sum()
        };
        let t = (0..rects.len())
            .max_by_key(|&t| (gain(&rects[t]), std::cmp::Reverse(t)))
            .expect("a non-empty cover problem has rectangles");
        for &i in &rects[t].rows {
            unc[i as usize] &= !rects[t].cols;
        }
        chosen.push(t);
    }
    chosen
}

/// Exact minimum cover of the b-cells by the given (maximal) rectangles.
struct CoverSearch<'a> {
    cols: usize,
    rects: &'a [Rect],
    /// Words of a set of rectangles.
    rw: usize,
    /// Per cell `r * cols + c`, the rectangles holding it.
    cell_rects: Vec<u64>,
    unc: Vec<u64>,
    allowed: Vec<u64>,
    chosen: Vec<usize>,
    /// Only solutions of at most `limit` rectangles are still of interest.
    limit: usize,
    best: Option<Vec<usize>>,
    nodes: u64,
    budget: u64,
    aborted: bool,
}

impl<'a> CoverSearch<'a> {
    fn new(red: &Reduced, masks: &[u64], rects: &'a [Rect], budget: u64) -> Self {
        let rw = words_for(rects.len());
        let mut cell_rects = vec![0u64; red.rows * red.cols * rw];
        for (t, r) in rects.iter().enumerate() {
            for &i in &r.rows {
                for c in bits(r.cols) {
                    cell_rects[(i as usize * red.cols + c) * rw + t / 64] |= 1 << (t % 64);
                }
            }
        }
        CoverSearch {
            cols: red.cols,
            rects,
            rw,
            cell_rects,
            unc: masks.to_vec(),
            allowed: Vec::new(),
            chosen: Vec::new(),
            limit: 0,
            best: None,
            nodes: 0,
            budget,
            aborted: false,
        }
    }

    fn reset(&mut self, masks: &[u64], limit: usize) {
        self.unc.copy_from_slice(masks);
        self.allowed = vec![0u64; self.rw];
        for t in 0..self.rects.len() {
            self.allowed[t / 64] |= 1 << (t % 64);
        }
        self.chosen.clear();
        self.limit = limit;
        self.best = None;
    }

    fn rects_of(&self, cell: usize) -> &[u64] {
        &self.cell_rects[cell * self.rw..(cell + 1) * self.rw]
    }

    /// Number of allowed rectangles holding both cells (`a == b` for one cell), or whether any.
    fn shared(&self, a: usize, b: usize) -> u32 {
        let (ra, rb) = (self.rects_of(a), self.rects_of(b));
        (0..self.rw)
            .map(|k| (ra[k] & rb[k] & self.allowed[k]).count_ones())
            .sum()
    }

    fn dfs(&mut self) {
        if self.nodes >= self.budget {
            self.aborted = true;
            return;
        }
        self.nodes += 1;
        let count = self.chosen.len();
        // Uncovered cells, each with the number of allowed rectangles holding it.
        let mut cells: Vec<(u32, usize)> = Vec::new();
        for (r, &w) in self.unc.iter().enumerate() {
            for c in bits(w) {
                let cell = r * self.cols + c;
                let n = self.shared(cell, cell);
                if n == 0 {
                    return;
                }
                cells.push((n, cell));
            }
        }
        if cells.is_empty() {
            if count <= self.limit {
                self.best = Some(self.chosen.clone());
                self.limit = count.saturating_sub(1);
            }
            return;
        }
        // Lower bound: cells pairwise in no common allowed rectangle.
        cells.sort_unstable();
        let mut independent: Vec<usize> = Vec::new();
        for &(_, cell) in &cells {
            if independent.iter().all(|&o| self.shared(cell, o) == 0) {
                independent.push(cell);
            }
        }
        let lb = independent.len();
        if count + lb > self.limit {
            return;
        }
        // Branch on the most constrained cell.
        let cell = cells[0].1;
        let mut cands: Vec<(u32, usize)> = Vec::new();
        for k in 0..self.rw {
            for t in bits(self.rects_of(cell)[k] & self.allowed[k]) {
                let t = k * 64 + t;
                let r = &self.rects[t];
                let gain = r
                    .rows
                    .iter()
                    .map(|&i| (self.unc[i as usize] & r.cols).count_ones())
                    .sum::<u32>();
                cands.push((gain, t));
            }
        }
        cands.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut saved: Vec<u64> = Vec::new();
        let mut forbidden: Vec<usize> = Vec::new();
        for &(_, t) in &cands {
            if count + lb > self.limit {
                break;
            }
            let rect = &self.rects[t];
            saved.clear();
            for &i in &rect.rows {
                saved.push(self.unc[i as usize]);
                self.unc[i as usize] &= !rect.cols;
            }
            self.chosen.push(t);
            self.dfs();
            self.chosen.pop();
            for (&i, &w) in rect.rows.iter().zip(&saved) {
                self.unc[i as usize] = w;
            }
            if self.aborted {
                break;
            }
            self.allowed[t / 64] &= !(1 << (t % 64));
            forbidden.push(t);
        }
        for t in forbidden {
            self.allowed[t / 64] |= 1 << (t % 64);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Partition.

/// Most states the partition search remembers.
const MEMO_CAP: usize = 1 << 20;

/// A prime below 2^31: products of two residues fit in a `u64`.
const PRIME: u64 = 2_147_483_647;

fn partition(red: &Reduced, budget: u64, hint: usize) -> Outcome {
    let trivial = trivial_partition(red);
    let mut search = PartitionSearch::new(red, budget);
    let (found, proven) = with_hint(trivial.len(), hint, |limit| {
        search.reset(limit);
        search.dfs();
        (search.best.take(), !search.aborted)
    });
    Outcome {
        rects: found.unwrap_or(trivial),
        proven,
        nodes: search.nodes,
    }
}

/// Each row (or each column, if fewer rectangles) split into its 1s and its 0s.
fn trivial_partition(red: &Reduced) -> Vec<Rect> {
    let by_rows: Vec<Rect> = (0..red.rows)
        .flat_map(|r| {
            [(red.ones[r], true), (red.zeros[r], false)]
                .into_iter()
                .filter(|&(w, _)| w != 0)
                .map(move |(cols, value)| Rect {
                    rows: vec![r as u32],
                    cols,
                    value,
                })
        })
        .collect();
    let by_cols: Vec<Rect> = (0..red.cols)
        .flat_map(|c| {
            [true, false].into_iter().filter_map(move |value| {
                let rows: Vec<u32> = (0..red.rows)
                    .filter(|&r| red.masks(value)[r] >> c & 1 == 1)
                    .map(|r| r as u32)
                    .collect();
                (!rows.is_empty()).then_some(Rect {
                    rows,
                    cols: 1 << c,
                    value,
                })
            })
        })
        .collect();
    if by_cols.len() < by_rows.len() {
        by_cols
    } else {
        by_rows
    }
}

/// States already searched, with the fewest rectangles they were reached with.
enum Memo {
    /// At most 64 cells: the uncovered set packed in one word.
    Small(HashMap<u64, u32>),
    Large(HashMap<Box<[u64]>, u32>),
}

struct PartitionSearch<'a> {
    red: &'a Reduced,
    unc: Vec<u64>,
    /// Chosen rectangles: their rows are `chosen_rows[start..end]`.
    chosen: Vec<(usize, usize, u64, bool)>,
    chosen_rows: Vec<u32>,
    limit: usize,
    best: Option<Vec<Rect>>,
    memo: Memo,
    nodes: u64,
    budget: u64,
    aborted: bool,
    /// Scratch for the rank modulo `PRIME`.
    dense: Vec<u64>,
}

impl<'a> PartitionSearch<'a> {
    fn new(red: &'a Reduced, budget: u64) -> Self {
        let memo = if red.rows * red.cols <= 64 {
            Memo::Small(HashMap::new())
        } else {
            Memo::Large(HashMap::new())
        };
        PartitionSearch {
            red,
            unc: Vec::new(),
            chosen: Vec::new(),
            chosen_rows: Vec::new(),
            limit: 0,
            best: None,
            memo,
            nodes: 0,
            budget,
            aborted: false,
            dense: Vec::new(),
        }
    }

    fn reset(&mut self, limit: usize) {
        self.unc = (0..self.red.rows)
            .map(|_| low_bits(self.red.cols))
            .collect();
        self.chosen.clear();
        self.chosen_rows.clear();
        self.limit = limit;
        self.best = None;
        match &mut self.memo {
            Memo::Small(h) => h.clear(),
            Memo::Large(h) => h.clear(),
        }
    }

    /// Records that the current state is searched with `count` rectangles; false when it
    /// already was with no more.
    fn visit(&mut self, count: usize) -> bool {
        let count = count as u32;
        let cols = self.red.cols;
        let check = |prev: Option<&mut u32>, len: usize| -> (bool, bool) {
            match prev {
                Some(p) if *p <= count => (false, false),
                Some(p) => {
                    *p = count;
                    (true, false)
                }
                None => (true, len < MEMO_CAP),
            }
        };
        match &mut self.memo {
            Memo::Small(h) => {
                let key = self
                    .unc
                    .iter()
                    .enumerate()
                    .fold(0u64, |k, (r, &w)| k | w << (r * cols));
                let len = h.len();
                let (go, insert) = check(h.get_mut(&key), len);
                if insert {
                    h.insert(key, count);
                }
                go
            }
            Memo::Large(h) => {
                let mut key = vec![0u64; words_for(self.unc.len() * cols)];
                for (r, &w) in self.unc.iter().enumerate() {
                    for c in bits(w) {
                        let i = r * cols + c;
                        key[i / 64] |= 1 << (i % 64);
                    }
                }
                let key = key.into_boxed_slice();
                let len = h.len();
                let (go, insert) = check(h.get_mut(&key), len);
                if insert {
                    h.insert(key, count);
                }
                go
            }
        }
    }

    fn dfs(&mut self) {
        if self.nodes >= self.budget {
            self.aborted = true;
            return;
        }
        self.nodes += 1;
        let count = self.chosen.len();
        if self.unc.iter().all(|&w| w == 0) {
            if count <= self.limit {
                self.best = Some(
                    self.chosen
                        .iter()
                        .map(|&(s, e, cols, value)| Rect {
                            rows: self.chosen_rows[s..e].to_vec(),
                            cols,
                            value,
                        })
                        .collect(),
                );
                self.limit = count.saturating_sub(1);
            }
            return;
        }
        if !self.visit(count) {
            return;
        }
        // Lower bound on the rectangles still needed, computed only as far as it takes to show
        // `count + bound > limit`: per value, the rank of its uncovered cells over GF(2), a
        // greedy fooling set of them, and their rank modulo a prime.
        let red = self.red;
        let u1: Vec<u64> = self.unc.iter().zip(&red.ones).map(|(a, b)| a & b).collect();
        let u0: Vec<u64> = self
            .unc
            .iter()
            .zip(&red.zeros)
            .map(|(a, b)| a & b)
            .collect();
        let (mut l1, mut l0) = (gf2_rank(&u1), gf2_rank(&u0));
        if count + l1 + l0 > self.limit {
            return;
        }
        let (p1, p0) = (partners(&u1), partners(&u0));
        l1 = l1.max(greedy_fooling(&u1, &p1));
        l0 = l0.max(greedy_fooling(&u0, &p0));
        if count + l1 + l0 > self.limit {
            return;
        }
        l1 = l1.max(rank_mod_p(&u1, red.cols, &mut self.dense));
        l0 = l0.max(rank_mod_p(&u0, red.cols, &mut self.dense));
        let lb = l1 + l0;
        if count + lb > self.limit {
            return;
        }
        // Branch on the cell with the fewest partners: its rectangle has the fewest choices.
        let (r0, c0, b) = match (p1.first(), p0.first()) {
            (Some(&(s1, r1, c1)), Some(&(s0, r0, c0))) if (s0, r0, c0) < (s1, r1, c1) => {
                (r0, c0, false)
            }
            (Some(&(_, r1, c1)), _) => (r1, c1, true),
            (None, Some(&(_, r0, c0))) => (r0, c0, false),
            (None, None) => unreachable!("some cell is uncovered"),
        };
        let avail: Vec<u64> = self
            .unc
            .iter()
            .zip(red.masks(b))
            .map(|(a, m)| a & m)
            .collect();
        let bit0 = 1u64 << c0;
        let rest = avail[r0] & !bit0;
        let mut extra: Vec<u32> = Vec::new();
        // Every column set C ∋ c0 of available cells in row r0, widest first; then every set of
        // other rows available on all of C.
        let mut s = rest;
        loop {
            let cols = s | bit0;
            extra.clear();
            extra.extend(
                (0..red.rows)
                    .filter(|&r| r != r0 && avail[r] & cols == cols)
                    .map(|r| r as u32),
            );
            if extra.len() >= 63 {
                // 2^63 rectangles: far beyond any node budget.
                self.aborted = true;
                return;
            }
            let mut t = low_bits(extra.len());
            loop {
                let start = self.chosen_rows.len();
                self.chosen_rows.push(r0 as u32);
                self.chosen_rows.extend(bits(t).map(|k| extra[k]));
                for k in start..self.chosen_rows.len() {
                    self.unc[self.chosen_rows[k] as usize] &= !cols;
                }
                self.chosen.push((start, self.chosen_rows.len(), cols, b));
                self.dfs();
                self.chosen.pop();
                for k in start..self.chosen_rows.len() {
                    self.unc[self.chosen_rows[k] as usize] |= cols;
                }
                self.chosen_rows.truncate(start);
                if self.aborted || count + lb > self.limit {
                    return;
                }
                if t == 0 {
                    break;
                }
                t -= 1;
            }
            if s == 0 {
                break;
            }
            s = (s - 1) & rest;
        }
    }
}

/// Rank over GF(2) of the rows (as bit vectors).
fn gf2_rank(rows: &[u64]) -> usize {
    let mut basis = [0u64; 64];
    let mut rank = 0;
    for &w in rows {
        let mut v = w;
        while v != 0 {
            let top = 63 - v.leading_zeros() as usize;
            if basis[top] == 0 {
                basis[top] = v;
                rank += 1;
                break;
            }
            v ^= basis[top];
        }
    }
    rank
}

/// Rank modulo `PRIME` of the 0/1 matrix whose rows are the bit vectors `rows` (`cols` bits).
/// Fraction-free elimination, so no inverses are needed.
fn rank_mod_p(rows: &[u64], cols: usize, a: &mut Vec<u64>) -> usize {
    a.clear();
    for &w in rows.iter().filter(|&&w| w != 0) {
        a.extend((0..cols).map(|c| w >> c & 1));
    }
    let n = a.len() / cols.max(1);
    let mut rank = 0;
    for c in 0..cols {
        let Some(p) = (rank..n).find(|&i| a[i * cols + c] != 0) else {
            continue;
        };
        if p != rank {
            for j in c..cols {
                a.swap(p * cols + j, rank * cols + j);
            }
        }
        let pv = a[rank * cols + c];
        for i in rank + 1..n {
            let f = a[i * cols + c];
            if f == 0 {
                continue;
            }
            for j in c..cols {
                let x = a[i * cols + j] * pv % PRIME;
                let y = f * a[rank * cols + j] % PRIME;
                a[i * cols + j] = (x + PRIME - y) % PRIME;
            }
        }
        rank += 1;
        if rank == n {
            break;
        }
    }
    rank
}

/// The cells of the 0/1 pattern `avail` (per row, a column mask) with the number of others each
/// can share an all-ones rectangle of `avail` with, as `(partners, row, col)`, fewest first.
/// `(r, c)` and `(r2, c2)` can share one exactly when `(r, c2)` and `(r2, c)` are in `avail`
/// too, so `(r, c)` has `Σ_{r2 : c ∈ avail[r2]} |avail[r] ∩ avail[r2]| − 1` partners.
fn partners(avail: &[u64]) -> Vec<(u32, usize, usize)> {
    let mut out = Vec::new();
    let mut score = [0u32; 64];
    for (r, &w) in avail.iter().enumerate() {
        if w == 0 {
            continue;
        }
        for c in bits(w) {
            score[c] = 0;
        }
        for &w2 in avail {
            let both = w & w2;
            let overlap = both.count_ones();
            for c in bits(both) {
                score[c] += overlap;
            }
        }
        out.extend(bits(w).map(|c| (score[c] - 1, r, c)));
    }
    out.sort_unstable();
    out
}

/// A greedy set of the cells of `avail` no two of which lie in one all-ones rectangle of
/// `avail`, taking the cells in the order of `cells` (from `partners`).
fn greedy_fooling(avail: &[u64], cells: &[(u32, usize, usize)]) -> usize {
    let mut set: Vec<(usize, usize)> = Vec::new();
    for &(_, r, c) in cells {
        if set
            .iter()
            .all(|&(r2, c2)| avail[r] >> c2 & 1 == 0 || avail[r2] >> c & 1 == 0)
        {
            set.push((r, c));
        }
    }
    set.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemSpec;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> CommMatrix {
        let density = rng.random_range(0.15..0.85);
        let bits: Vec<bool> = (0..rows * cols).map(|_| rng.random_bool(density)).collect();
        CommMatrix::from_fn(rows, cols, |x, y| bits[x * cols + y]).unwrap()
    }

    /// Checks the certificate against `m` independently of the search; returns its size.
    fn check(m: &CommMatrix, cert: &RectanglesCert) -> usize {
        let mut times = vec![0u32; m.rows() * m.cols()];
        for r in &cert.rectangles {
            assert!(!r.rows.is_empty() && !r.cols.is_empty(), "{r:?}");
            assert!(r.rows.windows(2).all(|w| w[0] < w[1]));
            assert!(r.cols.windows(2).all(|w| w[0] < w[1]));
            match cert.kind {
                RectangleKind::Cover1 => assert_eq!(r.value, 1),
                RectangleKind::Cover0 => assert_eq!(r.value, 0),
                RectangleKind::Partition => assert!(r.value <= 1),
            }
            for &x in &r.rows {
                for &y in &r.cols {
                    let (x, y) = (x as usize, y as usize);
                    assert_eq!(u8::from(m.get(x, y)), r.value, "({x},{y}) in {r:?}");
                    times[x * m.cols() + y] += 1;
                }
            }
        }
        for x in 0..m.rows() {
            for y in 0..m.cols() {
                let t = times[x * m.cols() + y];
                match cert.kind {
                    RectangleKind::Partition => assert_eq!(t, 1, "({x},{y})"),
                    RectangleKind::Cover1 => assert!(!m.get(x, y) || t >= 1, "({x},{y})"),
                    RectangleKind::Cover0 => assert!(m.get(x, y) || t >= 1, "({x},{y})"),
                }
            }
        }
        cert.rectangles.len()
    }

    fn solve(m: &CommMatrix, kind: RectangleKind) -> usize {
        let cert = min_rectangles(m, kind, &Limits::default(), None).unwrap();
        assert!(cert.proven_minimum, "{kind:?} {m:?}");
        check(m, &cert)
    }

    /// All monochromatic rectangles of `value`, as cell masks (`x * cols + y`).
    fn all_rects(m: &CommMatrix, value: bool) -> Vec<u32> {
        let (rows, cols) = (m.rows(), m.cols());
        let mut out = Vec::new();
        for rs in 1u32..1 << rows {
            for cs in 1u32..1 << cols {
                let cells: Vec<(usize, usize)> = (0..rows)
                    .filter(|&x| rs >> x & 1 == 1)
                    .flat_map(|x| {
                        (0..cols)
                            .filter(move |&y| cs >> y & 1 == 1)
                            .map(move |y| (x, y))
                    })
                    .collect();
                if cells.iter().all(|&(x, y)| m.get(x, y) == value) {
                    out.push(cells.iter().fold(0, |a, &(x, y)| a | 1 << (x * cols + y)));
                }
            }
        }
        out
    }

    /// Minimum partition by dynamic programming over all sets of cells.
    fn partition_reference(m: &CommMatrix) -> usize {
        let n = m.rows() * m.cols();
        let mut by_low: Vec<Vec<u32>> = vec![Vec::new(); n];
        for r in all_rects(m, true).into_iter().chain(all_rects(m, false)) {
            by_low[r.trailing_zeros() as usize].push(r);
        }
        let mut dp = vec![u32::MAX; 1 << n];
        dp[0] = 0;
        for s in 1u32..1 << n {
            let low = s.trailing_zeros() as usize;
            dp[s as usize] = by_low[low]
                .iter()
                .filter(|&&r| r & s == r)
                .map(|&r| dp[(s & !r) as usize] + 1)
                .min()
                .unwrap();
        }
        dp[(1usize << n) - 1] as usize
    }

    /// Minimum cover of the `value` cells by breadth-first search over unions of rectangles.
    fn cover_reference(m: &CommMatrix, value: bool) -> usize {
        let rects = all_rects(m, value);
        let target = (0..m.rows() * m.cols())
            .filter(|&k| m.get(k / m.cols(), k % m.cols()) == value)
            .fold(0u32, |a, k| a | 1 << k);
        let mut dist = vec![u32::MAX; 1 << (m.rows() * m.cols())];
        dist[0] = 0;
        let mut frontier = vec![0u32];
        let mut d = 0;
        while !frontier.contains(&target) {
            d += 1;
            let mut next = Vec::new();
            for &s in &frontier {
                for &r in &rects {
                    let t = s | r;
                    if dist[t as usize] == u32::MAX {
                        dist[t as usize] = d;
                        next.push(t);
                    }
                }
            }
            frontier = next;
        }
        d as usize
    }

    #[test]
    fn random_small_matrices_agree_with_exhaustive_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..150 {
            let (rows, cols) = (rng.random_range(1..=4), rng.random_range(1..=4));
            let m = random_matrix(&mut rng, rows, cols);
            assert_eq!(
                solve(&m, RectangleKind::Partition),
                partition_reference(&m),
                "{m:?}"
            );
            assert_eq!(
                solve(&m, RectangleKind::Cover1),
                cover_reference(&m, true),
                "{m:?}"
            );
            assert_eq!(
                solve(&m, RectangleKind::Cover0),
                cover_reference(&m, false),
                "{m:?}"
            );
        }
    }

    #[test]
    fn searched_20_cell_matrices_agree_with_exhaustive_search() {
        // Most random matrices are settled at the root (a trivial partition meets the rank
        // bound); keep those the search has to work on.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut searched = 0;
        for k in 0..3000 {
            let (rows, cols) = if k % 2 == 0 { (4, 5) } else { (5, 4) };
            let m = random_matrix(&mut rng, rows, cols);
            let cert =
                min_rectangles(&m, RectangleKind::Partition, &Limits::default(), None).unwrap();
            assert!(cert.proven_minimum);
            if cert.search_nodes <= 1 {
                continue;
            }
            assert_eq!(check(&m, &cert), partition_reference(&m), "{m:?}");
            assert_eq!(
                solve(&m, RectangleKind::Cover1),
                cover_reference(&m, true),
                "{m:?}"
            );
            assert_eq!(
                solve(&m, RectangleKind::Cover0),
                cover_reference(&m, false),
                "{m:?}"
            );
            searched += 1;
            if searched == 10 {
                break;
            }
        }
        assert_eq!(searched, 10);
    }

    #[test]
    fn closed_forms() {
        for n in 1..=3 {
            let eq = ProblemSpec::Eq { n }.matrix().unwrap();
            assert_eq!(solve(&eq, RectangleKind::Cover1), 1 << n);
            // Both the 2^n ones and the off-diagonal need 2^n rectangles (rank).
            assert_eq!(solve(&eq, RectangleKind::Partition), 2 << n);
            let gt = ProblemSpec::Gt { n }.matrix().unwrap();
            assert_eq!(solve(&gt, RectangleKind::Cover1), (1 << n) - 1);
            assert_eq!(solve(&gt, RectangleKind::Cover0), 1 << n);
            assert_eq!(solve(&gt, RectangleKind::Partition), (2 << n) - 1);
            let disj = ProblemSpec::Disj { n }.matrix().unwrap();
            assert_eq!(solve(&disj, RectangleKind::Cover1), 1 << n);
            // {x ∋ i} × {y ∋ i} for each position i.
            assert_eq!(solve(&disj, RectangleKind::Cover0), n as usize);
        }
        // Covering the off-diagonal of an N × N needs the least k with C(k, k/2) ≥ N (Sperner).
        let want = [2, 4, 5];
        for n in 1..=3 {
            let eq = ProblemSpec::Eq { n }.matrix().unwrap();
            assert_eq!(
                solve(&eq, RectangleKind::Cover0),
                want[n as usize - 1],
                "EQ_{n}"
            );
        }
        let eq2 = ProblemSpec::Eq { n: 2 }.matrix().unwrap();
        assert_eq!(cover_reference(&eq2, false), 4);
        assert_eq!(partition_reference(&eq2), 8);
    }

    #[test]
    fn random_8x8_partition_is_at_least_the_two_covers() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..6 {
            let m = random_matrix(&mut rng, 8, 8);
            let p = solve(&m, RectangleKind::Partition);
            let c1 = solve(&m, RectangleKind::Cover1);
            let c0 = solve(&m, RectangleKind::Cover0);
            assert!(p >= c1 + c0, "{m:?}: {p} < {c1} + {c0}");
        }
    }

    #[test]
    fn duplicates_and_transposition_are_expanded_back() {
        // Wide with repeated rows and columns: the reduction transposes it.
        let m = CommMatrix::parse("1101101\n0110110\n1101101\n0000000").unwrap();
        let t = m.transpose();
        for kind in [
            RectangleKind::Partition,
            RectangleKind::Cover1,
            RectangleKind::Cover0,
        ] {
            assert_eq!(solve(&m, kind), solve(&t, kind));
        }
    }

    #[test]
    fn upper_bound_hints_are_used_and_survive_being_wrong() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..20 {
            let m = random_matrix(&mut rng, 5, 5);
            for kind in [
                RectangleKind::Partition,
                RectangleKind::Cover1,
                RectangleKind::Cover0,
            ] {
                let best = solve(&m, kind) as u64;
                for hint in [best, best + 3, best.saturating_sub(1), 0] {
                    let cert = min_rectangles(&m, kind, &Limits::default(), Some(hint)).unwrap();
                    assert!(cert.proven_minimum);
                    assert_eq!(check(&m, &cert) as u64, best, "{kind:?} hint {hint}");
                }
            }
        }
    }

    #[test]
    fn limits_and_empty_covers() {
        let eq4 = ProblemSpec::Eq { n: 4 }.matrix().unwrap();
        for kind in [RectangleKind::Partition, RectangleKind::Cover1] {
            assert!(min_rectangles(&eq4, kind, &Limits::default(), None).is_none());
        }
        let wide = Limits {
            rectangle_max_cells: 256,
            ..Limits::default()
        };
        let cert = min_rectangles(&eq4, RectangleKind::Cover1, &wide, None).unwrap();
        assert_eq!(check(&eq4, &cert), 16);
        // 128 distinct rows alone exceed the ceiling.
        let index = ProblemSpec::Index { n: 7 }.matrix().unwrap();
        assert!(min_rectangles(&index, RectangleKind::Cover0, &Limits::default(), None).is_none());

        let ones = CommMatrix::parse("111\n111").unwrap();
        let cert = min_rectangles(&ones, RectangleKind::Cover0, &Limits::default(), None).unwrap();
        assert!(cert.rectangles.is_empty() && cert.proven_minimum);
        assert_eq!(solve(&ones, RectangleKind::Partition), 1);
        assert_eq!(solve(&ones, RectangleKind::Cover1), 1);
    }

    #[test]
    fn node_budget_stops_with_a_valid_answer() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let m = random_matrix(&mut rng, 8, 8);
        for kind in [
            RectangleKind::Partition,
            RectangleKind::Cover1,
            RectangleKind::Cover0,
        ] {
            let best = solve(&m, kind);
            for budget in [0, 1, 10] {
                let limits = Limits {
                    search_nodes: budget,
                    ..Limits::default()
                };
                let cert = min_rectangles(&m, kind, &limits, None).unwrap();
                assert!(cert.search_nodes <= budget);
                let size = check(&m, &cert);
                assert!(size >= best);
                if cert.proven_minimum {
                    assert_eq!(size, best);
                }
            }
        }
    }
}
