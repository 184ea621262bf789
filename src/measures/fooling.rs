//! Maximum fooling sets: the largest sets of `value`-entries no two of which fit in one
//! `value`-monochromatic rectangle. A fooling set `S` proves `C^value ≥ |S|`, and a 1-fooling set
//! with a 0-fooling set proves `D(f) ≥ ceil(log2(|S1| + |S0|))`.
//!
//! The fooling sets are exactly the cliques of the *compatibility graph*: its vertices are the
//! entries with `f = value`, and `(x1, y1)`, `(x2, y2)` are adjacent when `f(x1, y2) ≠ value` or
//! `f(x2, y1) ≠ value`. Two entries in one row (or one column) are never adjacent, and neither
//! are two entries in identical rows (or identical columns), so the search runs on the matrix with
//! duplicate rows and columns removed — and with the rows and columns that hold no
//! `value`-entry dropped — which has the same maximum cliques, mapped back through the class
//! representatives. The same fact caps the answer at `min(distinct rows, distinct columns)` of
//! that matrix, and the search stops as soon as it meets this cap.
//!
//! The clique search is an exact branch and bound in the style of Tomita's MCQ/MCS as done with
//! bitsets by San Segundo (BBMC): vertices numbered by non-increasing degree, candidate sets as
//! `u64` bitsets, and at each node a greedy sequential colouring of the candidates whose colour
//! numbers bound the clique each candidate can still reach. A greedy clique is the starting
//! incumbent.
//!
//! Cost: one sequential pass over the rows, stopped as soon as the count of `value`-entries
//! passes `Limits::fooling_max_entries`; then `V` vertices take `V²/8` bytes of adjacency
//! (2 MiB at the default 4096), built in `O(V²/64)` word operations. Each search node costs
//! `O(V · V/64)` word operations at worst (the colouring), about 1 µs for a few hundred
//! vertices. The search is exponential in the worst case and stops after
//! `Limits::search_nodes` nodes.

use std::collections::{HashMap, HashSet};

use crate::certificate::FoolingSetCert;
use crate::matrix::{CommMatrix, words_for};
use crate::measures::Limits;

/// Maximum fooling set for output `value` (a 1-fooling set when `value` is true).
///
/// Returns `None` when the matrix has more than `limits.fooling_max_entries` entries equal to
/// `value` (counted in the matrix as given, before duplicates are removed). When it has none,
/// the answer is `Some` with no pairs, `proven_maximum: true` and no search nodes.
///
/// The search stops after `limits.search_nodes` nodes; it then returns the largest fooling set
/// found with `proven_maximum: false`. `pairs` are `(row, column)` indices of `m`, sorted.
pub fn max_fooling_set(m: &CommMatrix, value: bool, limits: &Limits) -> Option<FoolingSetCert> {
    let cert = |pairs, proven_maximum, search_nodes| FoolingSetCert {
        value: u8::from(value),
        pairs,
        proven_maximum,
        search_nodes,
    };
    let graph = Graph::new(m, value, limits.fooling_max_entries)?;
    if graph.entry.is_empty() {
        return Some(cert(Vec::new(), true, 0));
    }
    let mut search = CliqueSearch::new(&graph.adj, graph.words, limits.search_nodes);
    search.target = graph.cap;
    search.run();

    let mut pairs: Vec<(u64, u64)> = search
        .best
        .iter()
        .map(|&v| {
            let (x, y) = graph.entry[v];
            (x as u64, y as u64)
        })
        .collect();
    pairs.sort_unstable();
    Some(cert(pairs, !search.aborted, search.nodes))
}

/// The compatibility graph on the `value`-entries of the reduced matrix.
struct Graph {
    /// Bitset words per vertex set.
    words: usize,
    /// Row `v` (`words` words) is the neighbourhood of vertex `v`. Vertices are numbered by
    /// non-increasing degree.
    adj: Vec<u64>,
    /// The entry of `m` (class representatives) behind each vertex.
    entry: Vec<(usize, usize)>,
    /// No clique is larger: `min(distinct rows, distinct columns)` of the reduced matrix.
    cap: usize,
}

impl Graph {
    /// `None` when `m` has more than `max_entries` entries equal to `value`.
    ///
    /// Sequential and proportional to the entries read: the count stops as soon as it passes
    /// `max_entries`, and the duplicates are found by hashing rows and column patterns.
    fn new(m: &CommMatrix, value: bool, max_entries: u64) -> Option<Graph> {
        // Rows holding a `value`-entry, and the count. Flipping the words for `value = false`
        // turns "holds a 0" into "holds a 1"; the padding bits past `cols` are masked off.
        let stride = m.stride();
        let tail = match m.cols() % 64 {
            0 => u64::MAX,
            r => (1u64 << r) - 1,
        };
        let flip = if value { 0 } else { u64::MAX };
        let word = |x: usize, k: usize| {
            (m.row_words(x)[k] ^ flip) & if k + 1 == stride { tail } else { u64::MAX }
        };
        let mut entries = 0u64;
        let mut rows_v = Vec::new();
        for x in 0..m.rows() {
            let n: u64 = (0..stride)
                .map(|k| u64::from(word(x, k).count_ones()))
                .sum();
            if n > 0 {
                rows_v.push(x);
                entries += n;
                if entries > max_entries {
                    return None;
                }
            }
        }

        // Distinct rows among those. Rows without a `value`-entry are constant, so two rows
        // agree on the columns that matter exactly when they are equal.
        let mut seen: HashSet<&[u64]> = HashSet::new();
        let row_reps: Vec<usize> = rows_v
            .into_iter()
            .filter(|&x| seen.insert(m.row_words(x)))
            .collect();
        let dr = row_reps.len();

        // Each column's pattern on the distinct rows: the set of rows where it holds `value`.
        let rw = words_for(dr);
        let mut pattern: HashMap<usize, Vec<u64>> = HashMap::new();
        for (i, &x) in row_reps.iter().enumerate() {
            for k in 0..stride {
                let mut w = word(x, k);
                while w != 0 {
                    let y = k * 64 + w.trailing_zeros() as usize;
                    w &= w - 1;
                    pattern.entry(y).or_insert_with(|| vec![0; rw])[i / 64] |= 1 << (i % 64);
                }
            }
        }
        let mut cols_v: Vec<usize> = pattern.keys().copied().collect();
        cols_v.sort_unstable();
        let mut col_seen: HashSet<&[u64]> = HashSet::new();
        let col_reps: Vec<usize> = cols_v
            .into_iter()
            .filter(|y| col_seen.insert(&pattern[y]))
            .collect();
        let dc = col_reps.len();
        let mut cells: Vec<(usize, usize)> = Vec::new();
        for (j, y) in col_reps.iter().enumerate() {
            for (k, &w) in pattern[y].iter().enumerate() {
                let mut w = w;
                while w != 0 {
                    cells.push((k * 64 + w.trailing_zeros() as usize, j));
                    w &= w - 1;
                }
            }
        }

        // Build once in entry order to get the degrees, then again in degree order.
        let words = words_for(cells.len());
        let first = adjacency(&cells, dr, dc, words);
        let mut order: Vec<usize> = (0..cells.len()).collect();
        let degree = |v: usize| -> u32 {
            first[v * words..(v + 1) * words]
                .iter()
                .map(|w| w.count_ones())
                .sum()
        };
        order.sort_by_key(|&v| (std::cmp::Reverse(degree(v)), v));
        let cells: Vec<(usize, usize)> = order.iter().map(|&v| cells[v]).collect();
        let adj = adjacency(&cells, dr, dc, words);
        let entry = cells
            .iter()
            .map(|&(i, j)| (row_reps[i], col_reps[j]))
            .collect();
        Some(Graph {
            words,
            adj,
            entry,
            cap: dr.min(dc),
        })
    }
}

/// Adjacency of the compatibility graph on `cells` (reduced `(row, col)` pairs, in vertex
/// order). `(i1, j1)` and `(i2, j2)` are *not* adjacent exactly when `(i1, j2)` and `(i2, j1)`
/// are vertices too, i.e. when vertex 2 lies in a column of some vertex of row `i1` and in a
/// row of some vertex of column `j1`; so the non-neighbours of `(i, j)` are
/// `in_cols_of_row[i] ∩ in_rows_of_col[j]`, which includes the vertex itself.
fn adjacency(cells: &[(usize, usize)], dr: usize, dc: usize, words: usize) -> Vec<u64> {
    let mut in_row = vec![0u64; dr * words];
    let mut in_col = vec![0u64; dc * words];
    for (v, &(i, j)) in cells.iter().enumerate() {
        in_row[i * words + v / 64] |= 1 << (v % 64);
        in_col[j * words + v / 64] |= 1 << (v % 64);
    }
    let mut in_cols_of_row = vec![0u64; dr * words];
    let mut in_rows_of_col = vec![0u64; dc * words];
    for &(i, j) in cells {
        for k in 0..words {
            in_cols_of_row[i * words + k] |= in_col[j * words + k];
            in_rows_of_col[j * words + k] |= in_row[i * words + k];
        }
    }
    let n = cells.len();
    let mut adj = vec![0u64; n * words];
    for (v, &(i, j)) in cells.iter().enumerate() {
        for k in 0..words {
            let valid = if (k + 1) * 64 <= n {
                u64::MAX
            } else {
                (1u64 << (n % 64)) - 1
            };
            adj[v * words + k] =
                !(in_cols_of_row[i * words + k] & in_rows_of_col[j * words + k]) & valid;
        }
    }
    adj
}

/// Exact maximum clique by bitset branch and bound (BBMC).
struct CliqueSearch<'a> {
    adj: &'a [u64],
    words: usize,
    budget: u64,
    nodes: u64,
    aborted: bool,
    /// Stop as soon as the incumbent reaches this size (a known upper bound).
    target: usize,
    clique: Vec<usize>,
    best: Vec<usize>,
    /// Scratch per depth: the colour-ordered candidates `(vertex, colour)`.
    order: Vec<Vec<(u32, u32)>>,
}

impl<'a> CliqueSearch<'a> {
    fn new(adj: &'a [u64], words: usize, budget: u64) -> Self {
        CliqueSearch {
            adj,
            words,
            budget,
            nodes: 0,
            aborted: false,
            target: usize::MAX,
            clique: Vec::new(),
            best: Vec::new(),
            order: Vec::new(),
        }
    }

    fn n(&self) -> usize {
        self.adj.len() / self.words.max(1)
    }

    fn neighbours(&self, v: usize) -> &[u64] {
        &self.adj[v * self.words..(v + 1) * self.words]
    }

    fn run(&mut self) {
        let n = self.n();
        let mut all = vec![0u64; self.words];
        for v in 0..n {
            all[v / 64] |= 1 << (v % 64);
        }
        // Greedy incumbent: take vertices in degree order while they stay adjacent to all taken.
        let mut cand = all.clone();
        for v in 0..n {
            if cand[v / 64] >> (v % 64) & 1 == 1 {
                self.best.push(v);
                for (c, &a) in cand.iter_mut().zip(self.neighbours(v)) {
                    *c &= a;
                }
            }
        }
        if self.best.len() < self.target {
            self.expand(0, &mut all);
        }
    }

    fn done(&self) -> bool {
        self.aborted || self.best.len() >= self.target
    }

    /// Extends `self.clique` by cliques of the candidates `p` (all adjacent to the clique).
    /// Consumes `p`: vertices are removed from it as their branches are finished.
    fn expand(&mut self, depth: usize, p: &mut [u64]) {
        if self.nodes >= self.budget {
            self.aborted = true;
            return;
        }
        self.nodes += 1;
        if self.order.len() <= depth {
            self.order.push(Vec::new());
        }
        let mut order = std::mem::take(&mut self.order[depth]);
        // Only colours `k` with `|clique| + k > |best|` can lead to a larger clique.
        let kmin = (self.best.len() + 1).saturating_sub(self.clique.len()) as u32;
        self.colour_sort(p, kmin, &mut order);

        let mut child = vec![0u64; self.words];
        for &(v, k) in order.iter().rev() {
            if self.clique.len() + k as usize <= self.best.len() {
                break;
            }
            let v = v as usize;
            let mut any = 0;
            for (c, (&a, &b)) in child.iter_mut().zip(p.iter().zip(self.neighbours(v))) {
                *c = a & b;
                any |= *c;
            }
            self.clique.push(v);
            if any == 0 {
                if self.clique.len() > self.best.len() {
                    self.best.clone_from(&self.clique);
                }
            } else {
                self.expand(depth + 1, &mut child);
            }
            self.clique.pop();
            if self.done() {
                break;
            }
            p[v / 64] &= !(1 << (v % 64));
        }
        self.order[depth] = order;
    }

    /// Greedy sequential colouring of `p` in vertex order: colour classes are built one at a
    /// time, each taking every remaining vertex not adjacent to one already in it. Writes the
    /// vertices of colour `≥ kmin`, class by class, with their colour.
    fn colour_sort(&self, p: &[u64], kmin: u32, out: &mut Vec<(u32, u32)>) {
        out.clear();
        let mut uncoloured = p.to_vec();
        let mut class = vec![0u64; self.words];
        let mut k = 0u32;
        let mut first_word = 0;
        loop {
            while first_word < self.words && uncoloured[first_word] == 0 {
                first_word += 1;
            }
            if first_word == self.words {
                break;
            }
            k += 1;
            class[first_word..].copy_from_slice(&uncoloured[first_word..]);
            let mut w = first_word;
            while w < self.words {
                if class[w] == 0 {
                    w += 1;
                    continue;
                }
                let v = w * 64 + class[w].trailing_zeros() as usize;
                uncoloured[w] &= !(1 << (v % 64));
                let nb = self.neighbours(v);
                for q in w..self.words {
                    class[q] &= !nb[q];
                }
                class[w] &= !(1 << (v % 64));
                if k >= kmin {
                    out.push((v as u32, k));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemSpec;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn limits() -> Limits {
        Limits::default()
    }

    fn is_fooling(m: &CommMatrix, value: bool, pairs: &[(u64, u64)]) -> bool {
        let f = |x: u64, y: u64| m.get(x as usize, y as usize) == value;
        pairs.iter().all(|&(x, y)| f(x, y))
            && pairs.iter().enumerate().all(|(a, &(x1, y1))| {
                pairs[a + 1..]
                    .iter()
                    .all(|&(x2, y2)| !f(x1, y2) || !f(x2, y1))
            })
    }

    /// Largest fooling set by trying every subset of the `value`-entries (at most ~16 of them).
    fn brute_force(m: &CommMatrix, value: bool) -> usize {
        let entries: Vec<(u64, u64)> = (0..m.rows())
            .flat_map(|x| (0..m.cols()).map(move |y| (x as u64, y as u64)))
            .filter(|&(x, y)| m.get(x as usize, y as usize) == value)
            .collect();
        assert!(entries.len() <= 16);
        (0u32..1 << entries.len())
            .filter(|s| {
                let pick: Vec<_> = (0..entries.len())
                    .filter(|&k| s >> k & 1 == 1)
                    .map(|k| entries[k])
                    .collect();
                is_fooling(m, value, &pick)
            })
            .map(u32::count_ones)
            .max()
            .unwrap() as usize
    }

    /// Largest fooling set by plain recursion over entries, no bounds (for medium sizes).
    fn naive_clique(m: &CommMatrix, value: bool) -> usize {
        fn grow(
            m: &CommMatrix,
            value: bool,
            rest: &[(u64, u64)],
            set: &mut Vec<(u64, u64)>,
        ) -> usize {
            let mut best = set.len();
            for (k, &e) in rest.iter().enumerate() {
                set.push(e);
                if is_fooling(m, value, set) {
                    best = best.max(grow(m, value, &rest[k + 1..], set));
                }
                set.pop();
            }
            best
        }
        let entries: Vec<(u64, u64)> = (0..m.rows())
            .flat_map(|x| (0..m.cols()).map(move |y| (x as u64, y as u64)))
            .filter(|&(x, y)| m.get(x as usize, y as usize) == value)
            .collect();
        grow(m, value, &entries, &mut Vec::new())
    }

    fn solve(m: &CommMatrix, value: bool) -> FoolingSetCert {
        let cert = max_fooling_set(m, value, &limits()).unwrap();
        assert!(is_fooling(m, value, &cert.pairs), "{m:?} {cert:?}");
        assert_eq!(cert.value, u8::from(value));
        cert
    }

    #[test]
    fn eq_and_disj_one_fooling_sets_have_2_to_the_n() {
        for n in 1..=5 {
            for spec in [ProblemSpec::Eq { n }, ProblemSpec::Disj { n }] {
                let cert = solve(&spec.matrix().unwrap(), true);
                assert_eq!(cert.pairs.len(), 1 << n, "{}", spec.label());
                assert!(cert.proven_maximum);
            }
        }
    }

    #[test]
    fn gt_fooling_sets_match_the_closed_form_and_brute_force() {
        // 1-fooling: {(i+1, i)}, size 2^n − 1; 0-fooling: the diagonal, size 2^n.
        for n in 1..=4 {
            let m = ProblemSpec::Gt { n }.matrix().unwrap();
            let one = solve(&m, true);
            let zero = solve(&m, false);
            assert_eq!(one.pairs.len(), (1 << n) - 1);
            assert_eq!(zero.pairs.len(), 1 << n);
            assert!(one.proven_maximum && zero.proven_maximum);
            if n <= 2 {
                assert_eq!(brute_force(&m, true), one.pairs.len());
                assert_eq!(brute_force(&m, false), zero.pairs.len());
            } else if n == 3 {
                assert_eq!(naive_clique(&m, true), one.pairs.len());
                assert_eq!(naive_clique(&m, false), zero.pairs.len());
            }
        }
    }

    #[test]
    fn eq_zero_fooling_sets_are_triangles() {
        // (a,b), (b,c), (c,a) is a 0-fooling set; no 4 off-diagonal entries are.
        let m = ProblemSpec::Eq { n: 2 }.matrix().unwrap();
        assert_eq!(brute_force(&m, false), 3);
        for n in 2..=5 {
            let m = ProblemSpec::Eq { n }.matrix().unwrap();
            let cert = solve(&m, false);
            assert_eq!(cert.pairs.len(), 3, "EQ_{n}");
            assert!(cert.proven_maximum);
        }
    }

    #[test]
    fn random_matrices_agree_with_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300 {
            let rows = rng.random_range(1..=4);
            let cols = rng.random_range(1..=4);
            let density = rng.random_range(0.1..0.9);
            let bits: Vec<bool> = (0..rows * cols).map(|_| rng.random_bool(density)).collect();
            let m = CommMatrix::from_fn(rows, cols, |x, y| bits[x * cols + y]).unwrap();
            for value in [true, false] {
                let count = bits.iter().filter(|&&b| b == value).count();
                if count > 12 {
                    continue;
                }
                let cert = solve(&m, value);
                assert!(cert.proven_maximum);
                assert_eq!(
                    cert.pairs.len(),
                    brute_force(&m, value),
                    "{m:?} value {value}"
                );
            }
        }
    }

    #[test]
    fn random_medium_matrices_agree_with_naive_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..30 {
            let rows = rng.random_range(3..=6);
            let cols = rng.random_range(3..=6);
            let density = rng.random_range(0.2..0.8);
            let bits: Vec<bool> = (0..rows * cols).map(|_| rng.random_bool(density)).collect();
            let m = CommMatrix::from_fn(rows, cols, |x, y| bits[x * cols + y]).unwrap();
            for value in [true, false] {
                let cert = solve(&m, value);
                assert!(cert.proven_maximum);
                assert_eq!(
                    cert.pairs.len(),
                    naive_clique(&m, value),
                    "{m:?} value {value}"
                );
            }
        }
    }

    #[test]
    fn duplicate_rows_and_columns_do_not_change_the_answer() {
        let m = CommMatrix::parse("1100\n1100\n0011\n1010\n0011").unwrap();
        for value in [true, false] {
            assert_eq!(solve(&m, value).pairs.len(), naive_clique(&m, value));
        }
    }

    #[test]
    fn limits_and_empty_cases() {
        let eq = ProblemSpec::Eq { n: 3 }.matrix().unwrap();
        let small = Limits {
            fooling_max_entries: 7,
            ..Limits::default()
        };
        assert!(max_fooling_set(&eq, true, &small).is_none());
        let ones = CommMatrix::parse("11\n11").unwrap();
        let cert = max_fooling_set(&ones, false, &limits()).unwrap();
        assert!(cert.pairs.is_empty() && cert.proven_maximum);
        assert_eq!(solve(&ones, true).pairs.len(), 1);
    }

    #[test]
    fn node_budget_stops_the_search_with_a_valid_set() {
        let m = ProblemSpec::Ip { n: 4 }.matrix().unwrap();
        let full = solve(&m, true);
        assert!(full.proven_maximum);
        for budget in [0, 1, 5] {
            let limits = Limits {
                search_nodes: budget,
                ..Limits::default()
            };
            let cert = max_fooling_set(&m, true, &limits).unwrap();
            assert!(is_fooling(&m, true, &cert.pairs));
            assert!(cert.search_nodes <= budget);
            assert!(cert.pairs.len() <= full.pairs.len());
            if cert.proven_maximum {
                assert_eq!(cert.pairs.len(), full.pairs.len());
            }
        }
    }
}
