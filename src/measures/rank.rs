//! Rank of the communication matrix over GF(2) and over the rationals, with certificates.
//!
//! A protocol tree for `f` has at least `rank(M)` 1-leaves and `rank(J − M)` 0-leaves over any
//! field, so ranks bound `D(f)` from below; this module computes them and writes a `RankCert`
//! that `certificate::check` can re-verify without repeating the elimination.
//!
//! Every routine works on the distinct rows (`CommMatrix::row_classes`); a duplicate has the
//! dependency of its class representative, and a zero row the empty one. Basis rows are
//! reported as original row indices (class representatives) in increasing order, and the
//! witness of the lower bound is the minor on `basis_rows × pivot_cols`. When every row is a
//! basis row, `dependencies` is `Some(vec![])`; when `rank = cols < rows` and dependencies are
//! `None`, the upper bound still holds trivially (`rank ≤ min(rows, cols)`).
//!
//! - GF(2): Gaussian elimination on the packed `u64` words with the method of four Russians,
//!   one 64-column word at a time: the pivots of that word are found on the word alone, reduced
//!   Gauss–Jordan style, combined into eight lookup tables of 256 XOR combinations each, and
//!   every other row is cleared with at most eight table rows (rayon across rows). Combinations
//!   of basis rows are tracked by appending an identity part to each row.
//! - Rationals: elimination modulo the prime `2^31 − 1` on `u32` entries, in panels of 64 pivots
//!   applied to each remaining row with delayed Mersenne reduction (rayon across rows). A minor
//!   non-singular mod p is non-singular over the rationals, so the rank mod p is a certified
//!   lower bound. The upper bound comes from exact integer dependencies: solved mod `2^61 − 1`,
//!   recovered by rational reconstruction and checked over the integers in `i128`. If a row is
//!   found outside the span mod `2^61 − 1` (tested on a pseudo-random combination of the
//!   columns), the first prime was unlucky and the elimination is redone mod `2^61 − 1`.

use rayon::prelude::*;

use super::Limits;
use crate::certificate::{Dependency, Field, Of, RankCert};
use crate::matrix::{Classes, CommMatrix};

/// Most bits (`distinct rows × rank`) that `certify_gf2` spends on tracking which basis rows
/// make up each other row; beyond this its `dependencies` are `None` (8 MiB of tracking).
pub const GF2_TRACK_MAX_BITS: u64 = 1 << 26;

/// Most `(basis_index, numerator)` terms a certificate's dependencies may hold in all, counting
/// every duplicate row; beyond this `dependencies` are `None`.
pub const MAX_DEPENDENCY_TERMS: u64 = 1 << 24;

/// Largest rank for which `certify_rational` looks for exact dependencies.
pub const RATIONAL_DEP_MAX_RANK: usize = 512;

/// `certify_rational` spends at most this many times `Limits::rational_max_entries` basic
/// operations (`rank³ + non-basis rows × rank × (rank + cols)`) on dependencies.
pub const RATIONAL_DEP_WORK_FACTOR: u64 = 64;

/// The prime of the fast elimination, `2^31 − 1`.
pub const P31: u64 = (1 << 31) - 1;

/// The prime dependencies are solved modulo, and the fallback elimination prime, `2^61 − 1`.
pub const P61: u64 = (1 << 61) - 1;

/// Rank over GF(2), fast (method of four Russians, rayon across rows). No certificate.
///
/// Cost: a sort of the rows into classes, then per 64 columns at most eight table-row XORs into
/// each remaining row (about `3 × distinct rows × stride²` word operations for a square
/// full-rank matrix, far fewer once the rank saturates), spread over the rayon pool; memory one
/// copy of the distinct rows plus `8 × 256 × stride` words of tables. Random 8192 × 8192: about
/// 0.1 s on two cores.
pub fn gf2_rank(m: &CommMatrix) -> u64 {
    let classes = m.row_classes();
    eliminate_gf2(m, &classes.representatives, None).basis.len() as u64
}

/// Rank over GF(2) with certificate: `basis_rows`, `pivot_cols`, and for every other row its
/// dependency (the XOR of basis rows it equals: denominator 1, numerators 1).
///
/// `dependencies` is `Some(vec![])` when every row is a basis row, and `None` when tracking the
/// combinations would take more than `GF2_TRACK_MAX_BITS` bits (`distinct rows × rank`) or the
/// dependencies would hold more than `MAX_DEPENDENCY_TERMS` terms. `of` is only recorded.
///
/// Cost: that of `gf2_rank`, twice when the rank may exceed 64 (a first pass finds the rank,
/// the second tracks combinations of that many basis rows, adding `rank / 64` words per row).
pub fn certify_gf2(m: &CommMatrix, of: Of) -> RankCert {
    let classes = m.row_classes();
    let reps = &classes.representatives;
    let distinct = reps.len();
    let width = distinct.min(m.cols());
    let track_bits = |r: usize| (distinct as u64).saturating_mul(r as u64);
    let ech = if width <= 64 && track_bits(width) <= GF2_TRACK_MAX_BITS {
        eliminate_gf2(m, reps, Some(width))
    } else {
        let first = eliminate_gf2(m, reps, None);
        let r = first.basis.len();
        if r < m.rows() && track_bits(r) <= GF2_TRACK_MAX_BITS {
            eliminate_gf2(m, reps, Some(r))
        } else {
            first
        }
    };
    let sorted = SortedBasis::new(&ech.basis, &ech.pivot_cols);
    let dependencies = if sorted.rows.len() == m.rows() {
        Some(Vec::new())
    } else {
        ech.combos.and_then(|combos| {
            let per_rep = combos
                .into_iter()
                .map(|(row, members)| {
                    let mut terms: Vec<(u32, i64)> = members
                        .iter()
                        .map(|&t| (sorted.index_of_found[t as usize], 1))
                        .collect();
                    terms.sort_unstable();
                    (row, 1, terms)
                })
                .collect();
            expand_dependencies(m.rows(), &classes, &sorted.rows, per_rep)
        })
    };
    sorted.into_cert(Field::Gf2, of, None, dependencies)
}

/// Exact rank over the rationals by modular elimination, with certificate (`modulus: Some(p)`).
///
/// Lower bound: the `basis_rows × pivot_cols` minor is non-singular mod `p` (prime), so the
/// rational rank is at least `rank`. Upper bound: when some row is not a basis row,
/// `dependencies` gives each one as `denominator · row = Σ numerator · basis row` with `i64`
/// integers, checked exactly over the integers (in `i128`) before being returned; `None` when
/// they could not be found or verified within limits, and then `rank` is only a certified lower
/// bound. `of` is only recorded.
///
/// Limits: when `distinct rows × cols` exceeds `limits.rational_max_entries`, no full
/// elimination is done: the GF(2) basis (a minor with odd determinant) is cut to `k × k` with
/// `k² ≤ rational_max_entries` and eliminated mod `2^31 − 1`, which gives a lower bound of at
/// most `min(GF(2) rank, k)` and no dependencies. Dependencies are only attempted for
/// rank ≤ `RATIONAL_DEP_MAX_RANK` and within `RATIONAL_DEP_WORK_FACTOR ×
/// rational_max_entries` operations; they fail when the coefficients need denominators beyond
/// about `2^30` or a common denominator beyond `i64`.
///
/// Cost: the elimination is that of `rational_rank_mod_p` (about `distinct rows × cols × rank /
/// 3` multiply-adds, `4 × distinct rows × cols` bytes); dependencies add an inverse of the
/// `rank × rank` minor mod `2^61 − 1` and `rank × cols` work per non-basis row.
pub fn certify_rational(m: &CommMatrix, of: Of, limits: &Limits) -> RankCert {
    let classes = m.row_classes();
    let reps = &classes.representatives;
    let entries = (reps.len() as u64).saturating_mul(m.cols() as u64);
    if entries > limits.rational_max_entries {
        return rational_lower_bound_from_gf2(m, of, &classes, limits);
    }
    let all_cols: Vec<usize> = (0..m.cols()).collect();
    let ech = eliminate_mod_p::<M31>(m, reps, &all_cols);
    let sorted = SortedBasis::new(&ech.basis, &ech.pivot_cols);
    if sorted.rows.len() == m.rows() {
        return sorted.into_cert(Field::Rational, of, Some(P31), Some(Vec::new()));
    }
    match rational_dependencies(m, &classes, &sorted, limits) {
        Ok(deps) => sorted.into_cert(Field::Rational, of, Some(P31), deps),
        Err(OutsideSpan) => {
            // 2^31 − 1 divides a minor that is non-zero over the rationals: redo mod 2^61 − 1,
            // whose rank is then strictly larger.
            let ech = eliminate_mod_p::<M61>(m, reps, &all_cols);
            let sorted = SortedBasis::new(&ech.basis, &ech.pivot_cols);
            let deps = if sorted.rows.len() == m.rows() {
                Some(Vec::new())
            } else {
                rational_dependencies(m, &classes, &sorted, limits).unwrap_or(None)
            };
            sorted.into_cert(Field::Rational, of, Some(P61), deps)
        }
    }
}

/// Rank modulo `2^31 − 1` only, no certificate: a lower bound on the rational rank, and equal
/// to it unless the prime divides every maximal non-zero minor.
///
/// Cost: about `distinct rows × cols × rank / 3` multiply-adds mod `2^31 − 1` (rayon across
/// rows, AVX2 when the CPU has it) and `4 × distinct rows × cols` bytes; a dense 2048 × 2048
/// takes about a second on two cores. No limit is applied.
pub fn rational_rank_mod_p(m: &CommMatrix) -> u64 {
    let classes = m.row_classes();
    let all_cols: Vec<usize> = (0..m.cols()).collect();
    eliminate_mod_p::<M31>(m, &classes.representatives, &all_cols)
        .basis
        .len() as u64
}

/// Basis rows sorted by index, and the pivot columns permuted alongside.
struct SortedBasis {
    rows: Vec<usize>,
    cols: Vec<usize>,
    /// `index_of_found[t]`: where the `t`-th basis row found by the elimination sits in `rows`.
    index_of_found: Vec<u32>,
}

impl SortedBasis {
    fn new(basis: &[usize], pivot_cols: &[usize]) -> Self {
        let mut order: Vec<usize> = (0..basis.len()).collect();
        order.sort_unstable_by_key(|&t| basis[t]);
        let mut index_of_found = vec![0u32; basis.len()];
        for (k, &t) in order.iter().enumerate() {
            index_of_found[t] = k as u32;
        }
        SortedBasis {
            rows: order.iter().map(|&t| basis[t]).collect(),
            cols: order.iter().map(|&t| pivot_cols[t]).collect(),
            index_of_found,
        }
    }

    fn into_cert(
        self,
        field: Field,
        of: Of,
        modulus: Option<u64>,
        dependencies: Option<Vec<Dependency>>,
    ) -> RankCert {
        RankCert {
            field,
            of,
            rank: self.rows.len() as u64,
            basis_rows: self.rows.iter().map(|&r| r as u64).collect(),
            pivot_cols: self.cols.iter().map(|&c| c as u64).collect(),
            modulus,
            dependencies,
        }
    }
}

/// `(denominator, terms)` of a dependency, terms as `(basis_index, numerator)`.
type Combination = (i64, Vec<(u32, i64)>);

/// One dependency of a distinct row: `(row, denominator, terms)`.
type RepDependency = (usize, i64, Vec<(u32, i64)>);

/// Turns the dependencies of the non-basis class representatives into one `Dependency` per
/// non-basis row of the matrix, in row order. `None` when some representative has none or the
/// total would exceed `MAX_DEPENDENCY_TERMS`.
fn expand_dependencies(
    rows: usize,
    classes: &Classes,
    basis_rows: &[usize],
    per_rep: Vec<RepDependency>,
) -> Option<Vec<Dependency>> {
    let count = classes.count();
    let mut basis_index: Vec<Option<u32>> = vec![None; count];
    for (k, &b) in basis_rows.iter().enumerate() {
        basis_index[classes.class_of[b] as usize] = Some(k as u32);
    }
    let mut rep_dep: Vec<Option<Combination>> = vec![None; count];
    for (row, den, terms) in per_rep {
        rep_dep[classes.class_of[row] as usize] = Some((den, terms));
    }
    let is_basis = |row: usize| {
        let c = classes.class_of[row] as usize;
        basis_index[c].is_some() && classes.representatives[c] == row
    };
    let mut total = 0u64;
    for row in (0..rows).filter(|&row| !is_basis(row)) {
        let c = classes.class_of[row] as usize;
        total += match (&basis_index[c], &rep_dep[c]) {
            (Some(_), _) => 1,
            (None, Some((_, terms))) => terms.len() as u64,
            (None, None) => return None,
        };
    }
    if total > MAX_DEPENDENCY_TERMS {
        return None;
    }
    let deps = (0..rows)
        .filter(|&row| !is_basis(row))
        .map(|row| {
            let c = classes.class_of[row] as usize;
            let (denominator, terms) = match (&basis_index[c], &rep_dep[c]) {
                (Some(k), _) => (1, vec![(*k, 1)]),
                (None, Some((den, terms))) => (*den, terms.clone()),
                (None, None) => unreachable!("checked above"),
            };
            Dependency {
                row: row as u64,
                denominator,
                terms,
            }
        })
        .collect();
    Some(deps)
}

// ---------------------------------------------------------------------------------------------
// GF(2)

/// The outcome of a GF(2) elimination. Rows are original row indices.
struct Gf2Echelon {
    /// Basis rows in the order found.
    basis: Vec<usize>,
    /// One pivot column per basis row (the minor `basis × pivot_cols` is non-singular; see
    /// `eliminate_gf2`).
    pivot_cols: Vec<usize>,
    /// When tracked (and within `MAX_DEPENDENCY_TERMS` terms in all): every non-basis row
    /// given, with the positions (in `basis`) of the basis rows whose XOR it equals.
    combos: Option<Vec<(usize, Vec<u32>)>>,
}

/// Gaussian elimination over GF(2) of the given rows of `m`, 64 columns (one word) at a time.
///
/// Per word: a greedy XOR basis of that word over the remaining rows picks at most 64 pivot
/// rows, which are moved to the front and reduced Gauss–Jordan style on the word; eight tables
/// of all XOR combinations of eight pivot rows then clear the word in every other remaining row.
/// Remaining rows are zero in all earlier words, so only words from the current one on are
/// touched. The reduced pivot rows are unit-triangular on the pivot columns and span the same
/// space as the original basis rows, so the minor `basis × pivot_cols` is non-singular.
///
/// With `track = Some(t)`, each row carries `t` extra bits (`t ≥` the final rank): bit `b` is set
/// when the `b`-th basis row found has been XORed into it, so a row that ends up zero equals
/// the XOR of those original basis rows.
fn eliminate_gf2(m: &CommMatrix, rows: &[usize], track: Option<usize>) -> Gf2Echelon {
    let w = m.stride();
    let tw = track.map_or(0, |bits| bits.div_ceil(64));
    let sw = w + tw;
    let n = rows.len();
    let mut buf = vec![0u64; n * sw];
    buf.par_chunks_mut(sw)
        .zip(rows.par_iter())
        .for_each(|(dst, &x)| dst[..w].copy_from_slice(m.row_words(x)));
    let mut id = rows.to_vec();
    let max_rank = n.min(m.cols());
    let mut r = 0;
    let mut pivot_cols = Vec::with_capacity(max_rank);
    let mut tables: Vec<u64> = Vec::new();
    let zeros = vec![0u64; sw];
    for wi in 0..w {
        if r >= max_rank {
            break;
        }
        let l = sw - wi;
        let active = &mut buf[r * sw..];
        let or_all = active
            .par_chunks(sw)
            .map(|row| row[wi])
            .reduce(|| 0, |a, b| a | b);
        if or_all == 0 {
            continue;
        }
        let found = xor_basis_rows(active, sw, wi, or_all.count_ones() as usize);
        let k = found.len();
        for (t, &i) in found.iter().enumerate() {
            // `found` is increasing, so position `i ≥ t` still holds the row found there.
            if i != t {
                let (lo, hi) = active.split_at_mut(i * sw);
                lo[t * sw..(t + 1) * sw].swap_with_slice(&mut hi[..sw]);
                id.swap(r + t, r + i);
            }
            if tw > 0 {
                let b = r + t;
                active[t * sw + w + b / 64] |= 1u64 << (b % 64);
            }
        }
        let (block, rest) = active.split_at_mut(k * sw);
        let bits = gauss_jordan_word(block, sw, wi, k);
        pivot_cols.extend(bits.iter().map(|&b| wi * 64 + b as usize));
        if rest.is_empty() {
            r += k;
            continue;
        }
        let groups = k.div_ceil(8);
        tables.clear();
        tables.resize(groups * 256 * l, 0);
        for (g, tab) in tables.chunks_mut(256 * l).enumerate() {
            let kg = (k - 8 * g).min(8);
            for mask in 1usize..(1 << kg) {
                let low = mask.trailing_zeros() as usize;
                let prev = mask & (mask - 1);
                let (done, cur) = tab.split_at_mut(mask * l);
                let cur = &mut cur[..l];
                cur.copy_from_slice(&done[prev * l..(prev + 1) * l]);
                let p = 8 * g + low;
                xor_into(cur, &block[p * sw + wi..(p + 1) * sw]);
            }
        }
        let (tables, bits, zeros) = (&tables, &bits, &zeros[..l]);
        rest.par_chunks_mut(sw)
            .with_min_len((4096 / l).max(1))
            .for_each(|row| {
                let x = row[wi];
                if x == 0 {
                    return;
                }
                let mut sel: [&[u64]; 8] = [zeros; 8];
                for (g, (slot, gbits)) in sel.iter_mut().zip(bits.chunks(8)).enumerate() {
                    let mask = gbits.iter().enumerate().fold(0usize, |acc, (i, &b)| {
                        acc | ((((x >> b) & 1) as usize) << i)
                    });
                    let at = (g * 256 + mask) * l;
                    *slot = &tables[at..at + l];
                }
                let row = &mut row[wi..];
                xor4_into(row, [sel[0], sel[1], sel[2], sel[3]]);
                if groups > 4 {
                    xor4_into(row, [sel[4], sel[5], sel[6], sel[7]]);
                }
            });
        r += k;
    }
    let terms = || -> u64 {
        buf[r * sw..]
            .par_chunks(sw)
            .map(|row| {
                row[w..]
                    .iter()
                    .map(|t| u64::from(t.count_ones()))
                    .sum::<u64>()
            })
            .sum()
    };
    let combos = (track.is_some() && terms() <= MAX_DEPENDENCY_TERMS).then(|| {
        (r..n)
            .map(|i| {
                let t = &buf[i * sw + w..(i + 1) * sw];
                let members = t
                    .iter()
                    .enumerate()
                    .flat_map(|(j, &word)| set_bits(word).map(move |b| (j * 64 + b) as u32))
                    .collect();
                (id[i], members)
            })
            .collect()
    });
    id.truncate(r);
    Gf2Echelon {
        basis: id,
        pivot_cols,
        combos,
    }
}

/// Positions (increasing) of rows of `active` whose word `wi` is independent of the words of
/// the earlier positions chosen: a basis of the span of that word over all rows. Stops once
/// `target` (the number of columns present in the word, an upper bound on the span) are found.
fn xor_basis_rows(active: &[u64], sw: usize, wi: usize, target: usize) -> Vec<usize> {
    let mut slot = [0u64; 64];
    let mut found = Vec::with_capacity(target);
    for (i, row) in active.chunks(sw).enumerate() {
        let mut x = row[wi];
        while x != 0 {
            let b = 63 - x.leading_zeros() as usize;
            if slot[b] == 0 {
                slot[b] = x;
                found.push(i);
                break;
            }
            x ^= slot[b];
        }
        if found.len() == target {
            break;
        }
    }
    found
}

/// Gauss–Jordan on the `k` rows of `block` (words `wi..`), whose word `wi` values are linearly
/// independent: afterwards pivot row `t` has a 1 at bit `bits[t]` of word `wi` and every other
/// pivot row a 0 there. Returns `bits`.
fn gauss_jordan_word(block: &mut [u64], sw: usize, wi: usize, k: usize) -> Vec<u32> {
    let mut bits = Vec::with_capacity(k);
    let mut prow = vec![0u64; sw - wi];
    for t in 0..k {
        let x = block[t * sw + wi];
        debug_assert_ne!(x, 0, "pivot rows of a word are independent on it");
        let b = x.trailing_zeros();
        bits.push(b);
        prow.copy_from_slice(&block[t * sw + wi..(t + 1) * sw]);
        for (u, row) in block.chunks_mut(sw).enumerate() {
            if u != t && (row[wi] >> b) & 1 == 1 {
                xor_into(&mut row[wi..], &prow);
            }
        }
    }
    bits
}

fn xor_into(dst: &mut [u64], src: &[u64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// `dst ^= a ^ b ^ c ^ d`, all of `dst`'s length.
fn xor4_into(dst: &mut [u64], [a, b, c, d]: [&[u64]; 4]) {
    let n = dst.len();
    let (a, b, c, d) = (&a[..n], &b[..n], &c[..n], &d[..n]);
    for ((((x, &a), &b), &c), &d) in dst.iter_mut().zip(a).zip(b).zip(c).zip(d) {
        *x ^= a ^ b ^ c ^ d;
    }
}

fn set_bits(mut word: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (word != 0).then(|| {
            let b = word.trailing_zeros() as usize;
            word &= word - 1;
            b
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Arithmetic modulo a prime

/// Arithmetic modulo a prime `P`, with the row update the elimination spends its time in.
trait PrimeField {
    type E: Copy + PartialEq + Send + Sync;
    const P: u64;
    const ZERO: Self::E;
    const ONE: Self::E;
    fn add(a: Self::E, b: Self::E) -> Self::E;
    fn sub(a: Self::E, b: Self::E) -> Self::E;
    fn mul(a: Self::E, b: Self::E) -> Self::E;
    /// `v ← v − Σ_t f[t] · pivots[t]` for at most `PANEL` pivots, each as long as `v`.
    fn sub_combination(v: &mut [Self::E], f: &[Self::E], pivots: &[&[Self::E]]);

    fn inv(a: Self::E) -> Self::E {
        debug_assert!(a != Self::ZERO);
        let (mut base, mut e, mut acc) = (a, Self::P - 2, Self::ONE);
        while e > 0 {
            if e & 1 == 1 {
                acc = Self::mul(acc, base);
            }
            base = Self::mul(base, base);
            e >>= 1;
        }
        acc
    }
}

/// Pivots applied to the remaining rows at once.
const PANEL: usize = 64;

/// Integers mod `2^31 − 1` in `u32`.
struct M31;

/// `x mod 2^31 − 1` for `x < 2^63`.
#[inline(always)]
fn reduce31(x: u64) -> u32 {
    let x = (x & P31) + (x >> 31);
    let x = ((x & P31) + (x >> 31)) as u32;
    if x >= P31 as u32 { x - P31 as u32 } else { x }
}

/// One block of `M31::sub_combination`, with `g[t] = P − f[t]`. Each product is folded
/// to below `2^32` and at most `PANEL = 64` of them are added to a value below `2^31`, so the
/// `u64` accumulators stay below `2^38` and need one reduction at the end.
#[inline(always)]
fn m31_block<const N: usize>(v: &mut [u32], g: &[u32], pivots: &[&[u32]], at: usize) {
    let v: &mut [u32; N] = v.try_into().expect("block of N columns");
    let mut acc = [0u64; N];
    for (a, &x) in acc.iter_mut().zip(v.iter()) {
        *a = u64::from(x);
    }
    for (&gt, p) in g.iter().zip(pivots) {
        let p: &[u32; N] = p[at..at + N].try_into().expect("block of N columns");
        for (a, &y) in acc.iter_mut().zip(p) {
            // Both factors are below 2^32, so this is one 32 × 32 → 64-bit multiply.
            let prod = u64::from(gt) * u64::from(y);
            *a += (prod & P31) + (prod >> 31);
        }
    }
    for (x, &a) in v.iter_mut().zip(&acc) {
        *x = reduce31(a);
    }
}

impl PrimeField for M31 {
    type E = u32;
    const P: u64 = P31;
    const ZERO: u32 = 0;
    const ONE: u32 = 1;

    fn add(a: u32, b: u32) -> u32 {
        let s = a + b;
        if s >= P31 as u32 { s - P31 as u32 } else { s }
    }

    fn sub(a: u32, b: u32) -> u32 {
        if a >= b { a - b } else { a + P31 as u32 - b }
    }

    fn mul(a: u32, b: u32) -> u32 {
        reduce31(u64::from(a) * u64::from(b))
    }

    fn sub_combination(v: &mut [u32], f: &[u32], pivots: &[&[u32]]) {
        debug_assert!(f.len() <= PANEL && f.len() == pivots.len());
        // Only the pivots with a non-zero factor, as g = P − f.
        let mut g = [0u32; PANEL];
        let mut used: [&[u32]; PANEL] = [&[]; PANEL];
        let mut k = 0;
        for (&ft, &p) in f.iter().zip(pivots) {
            if ft != 0 {
                g[k] = P31 as u32 - ft;
                used[k] = p;
                k += 1;
            }
        }
        let (g, used) = (&g[..k], &used[..k]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `m31_update_avx2` only requires AVX2, which the CPU was just found to have.
            unsafe { m31_update_avx2(v, g, used) };
            return;
        }
        m31_update::<16>(v, g, used);
    }
}

/// `m31_update` compiled for AVX2: four `u64` lanes per multiply instead of SSE2's two. (Blocks
/// of 16 columns: 32 would spill the accumulators.)
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn m31_update_avx2(v: &mut [u32], g: &[u32], pivots: &[&[u32]]) {
    m31_update::<16>(v, g, pivots);
}

/// `v ← v + Σ_t g[t] · pivots[t]` mod `2^31 − 1`, `N` columns at a time.
#[inline(always)]
fn m31_update<const N: usize>(v: &mut [u32], g: &[u32], pivots: &[&[u32]]) {
    let full = v.len() / N * N;
    let (body, tail) = v.split_at_mut(full);
    for (j, block) in body.chunks_exact_mut(N).enumerate() {
        m31_block::<N>(block, g, pivots, j * N);
    }
    for (i, x) in tail.iter_mut().enumerate() {
        let mut acc = u64::from(*x);
        for (&gt, p) in g.iter().zip(pivots) {
            let prod = u64::from(gt) * u64::from(p[full + i]);
            acc += (prod & P31) + (prod >> 31);
        }
        *x = reduce31(acc);
    }
}

/// Integers mod `2^61 − 1` in `u64`.
struct M61;

impl PrimeField for M61 {
    type E = u64;
    const P: u64 = P61;
    const ZERO: u64 = 0;
    const ONE: u64 = 1;

    fn add(a: u64, b: u64) -> u64 {
        let s = a + b;
        if s >= P61 { s - P61 } else { s }
    }

    fn sub(a: u64, b: u64) -> u64 {
        if a >= b { a - b } else { a + P61 - b }
    }

    fn mul(a: u64, b: u64) -> u64 {
        // a, b < P: the product is below 2^122 and never P·(2^61 + 1), so lo + hi < 2P.
        let prod = u128::from(a) * u128::from(b);
        let s = (prod as u64 & P61) + (prod >> 61) as u64;
        if s >= P61 { s - P61 } else { s }
    }

    fn sub_combination(v: &mut [u64], f: &[u64], pivots: &[&[u64]]) {
        for (&ft, p) in f.iter().zip(pivots) {
            if ft != 0 {
                for (x, &y) in v.iter_mut().zip(p.iter()) {
                    *x = Self::sub(*x, Self::mul(ft, y));
                }
            }
        }
    }
}

/// The outcome of a modular elimination: basis rows (original indices, in the order found,
/// which is the order given) and their pivot columns (original indices).
struct Echelon {
    basis: Vec<usize>,
    pivot_cols: Vec<usize>,
}

/// Gaussian elimination mod `F::P` of the sub-matrix `rows × cols` of `m`.
///
/// Rows are scanned in the order given; each is reduced by the pivots found so far and, if not
/// zero, becomes a pivot (normalised to 1 at its first non-zero column). Pivots are gathered in
/// panels of up to `PANEL`, made Gauss–Jordan within the panel, and then subtracted from every
/// remaining row in one pass (rayon across rows). Pivot columns are zero in every remaining row,
/// so once a quarter of the columns are spent they are dropped from the working copy. Each
/// reduced pivot row is its original row plus earlier basis rows and is zero at earlier pivot
/// columns, so the minor `basis × pivot_cols` is triangular-equivalent and non-singular mod P.
fn eliminate_mod_p<F: PrimeField>(m: &CommMatrix, rows: &[usize], cols: &[usize]) -> Echelon {
    let mut basis = Vec::new();
    let mut pivot_cols = Vec::new();
    let n = rows.len();
    let mut nc = cols.len();
    let max_rank = n.min(nc);
    if max_rank == 0 {
        return Echelon { basis, pivot_cols };
    }
    let mut col_id = cols.to_vec();
    let mut row_id = rows.to_vec();
    let mut a: Vec<F::E> = vec![F::ZERO; n * nc];
    a.par_chunks_mut(nc)
        .zip(rows.par_iter())
        .for_each(|(dst, &x)| {
            let words = m.row_words(x);
            for (d, &c) in dst.iter_mut().zip(cols) {
                if (words[c / 64] >> (c % 64)) & 1 == 1 {
                    *d = F::ONE;
                }
            }
        });
    let mut dead = vec![false; nc];
    let mut n_dead = 0;
    let (mut start, mut end) = (0, n);
    while start < end && basis.len() < max_rank {
        // Find the next panel of pivots, scanning rows in order.
        let mut panel: Vec<(usize, usize)> = Vec::with_capacity(PANEL);
        let mut i = start;
        while i < end && panel.len() < PANEL && basis.len() < max_rank {
            let (head, rest) = a.split_at_mut(i * nc);
            let row = &mut rest[..nc];
            for &(pr, pc) in &panel {
                let f = row[pc];
                if f != F::ZERO {
                    F::sub_combination(row, &[f], &[&head[pr * nc..(pr + 1) * nc]]);
                }
            }
            if let Some(j) = row.iter().position(|&x| x != F::ZERO) {
                let inv = F::inv(row[j]);
                for x in row.iter_mut() {
                    *x = F::mul(*x, inv);
                }
                panel.push((i, j));
                basis.push(row_id[i]);
                pivot_cols.push(col_id[j]);
            }
            i += 1;
        }
        start = i;
        if panel.is_empty() || start == end || basis.len() == max_rank {
            break;
        }
        // Gauss–Jordan within the panel: clear each pivot column in the earlier pivot rows.
        for t in (1..panel.len()).rev() {
            let (pt, jt) = panel[t];
            let (head, rest) = a.split_at_mut(pt * nc);
            let pivot = &rest[..nc];
            for &(ps, _) in &panel[..t] {
                let row = &mut head[ps * nc..(ps + 1) * nc];
                let f = row[jt];
                if f != F::ZERO {
                    F::sub_combination(row, &[f], &[pivot]);
                }
            }
        }
        // Subtract the panel from every remaining row.
        let (head, tail) = a.split_at_mut(start * nc);
        let pivots: Vec<&[F::E]> = panel
            .iter()
            .map(|&(pr, _)| &head[pr * nc..(pr + 1) * nc])
            .collect();
        let pcols: Vec<usize> = panel.iter().map(|&(_, pc)| pc).collect();
        tail[..(end - start) * nc].par_chunks_mut(nc).for_each(|v| {
            let mut f = [F::ZERO; PANEL];
            let mut any = false;
            for (ft, &pc) in f.iter_mut().zip(&pcols) {
                *ft = v[pc];
                any |= *ft != F::ZERO;
            }
            if any {
                F::sub_combination(v, &f[..pcols.len()], &pivots);
            }
        });
        for &pc in &pcols {
            dead[pc] = true;
        }
        n_dead += pcols.len();
        if n_dead * 4 >= nc {
            let live: Vec<usize> = (0..nc).filter(|&j| !dead[j]).collect();
            let nc2 = live.len();
            if nc2 == 0 {
                break;
            }
            let left = end - start;
            let mut b = vec![F::ZERO; left * nc2];
            b.par_chunks_mut(nc2)
                .zip(a[start * nc..end * nc].par_chunks(nc))
                .for_each(|(dst, src)| {
                    for (d, &j) in dst.iter_mut().zip(&live) {
                        *d = src[j];
                    }
                });
            a = b;
            col_id = live.iter().map(|&j| col_id[j]).collect();
            row_id.drain(..start);
            row_id.truncate(left);
            dead = vec![false; nc2];
            n_dead = 0;
            nc = nc2;
            start = 0;
            end = left;
        }
    }
    Echelon { basis, pivot_cols }
}

/// Inverse of the `r × r` matrix `a` (row-major) mod `F::P`, or `None` if it is singular.
///
/// Cost: `2 r³` multiply-adds (rayon across rows for each pivot), `2 r²` entries.
fn invert_mod_p<F: PrimeField>(a: &[F::E], r: usize) -> Option<Vec<F::E>> {
    let w = 2 * r;
    let mut aug = vec![F::ZERO; r * w];
    for (i, row) in aug.chunks_mut(w).enumerate() {
        row[..r].copy_from_slice(&a[i * r..(i + 1) * r]);
        row[r + i] = F::ONE;
    }
    for col in 0..r {
        let p = (col..r).find(|&i| aug[i * w + col] != F::ZERO)?;
        if p != col {
            let (lo, hi) = aug.split_at_mut(p * w);
            lo[col * w..(col + 1) * w].swap_with_slice(&mut hi[..w]);
        }
        let inv = F::inv(aug[col * w + col]);
        for x in &mut aug[col * w..(col + 1) * w] {
            *x = F::mul(*x, inv);
        }
        let pivot = aug[col * w..(col + 1) * w].to_vec();
        aug.par_chunks_mut(w).enumerate().for_each(|(i, row)| {
            let f = row[col];
            if i != col && f != F::ZERO {
                F::sub_combination(row, &[f], &[&pivot]);
            }
        });
    }
    Some(
        aug.chunks(w)
            .flat_map(|row| row[r..].iter().copied())
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Rational certificates

/// Some row is outside the span of the basis modulo `2^61 − 1`, so the rational rank is larger
/// than the basis: the elimination prime was unlucky.
struct OutsideSpan;

/// Exact dependencies of every non-basis row on the basis of `sorted`, expanded to all rows.
/// `Ok(None)` when over the limits or not found; `Err` when the basis does not span mod
/// `2^61 − 1`.
fn rational_dependencies(
    m: &CommMatrix,
    classes: &Classes,
    sorted: &SortedBasis,
    limits: &Limits,
) -> Result<Option<Vec<Dependency>>, OutsideSpan> {
    let r = sorted.rows.len();
    let in_basis = {
        let mut v = vec![false; classes.count()];
        for &b in &sorted.rows {
            v[classes.class_of[b] as usize] = true;
        }
        v
    };
    let (zero, targets): (Vec<usize>, Vec<usize>) = classes
        .representatives
        .iter()
        .enumerate()
        .filter(|&(c, _)| !in_basis[c])
        .map(|(_, &row)| row)
        .partition(|&row| m.row_words(row).iter().all(|&w| w == 0));
    let (nb, r64, cols) = (targets.len() as u64, r as u64, m.cols() as u64);
    let work = r64
        .pow(3)
        .saturating_add(nb.saturating_mul(r64).saturating_mul(r64 + cols));
    if !targets.is_empty()
        && (r > RATIONAL_DEP_MAX_RANK
            || nb.saturating_mul(r64) > MAX_DEPENDENCY_TERMS
            || work > RATIONAL_DEP_WORK_FACTOR.saturating_mul(limits.rational_max_entries))
    {
        return Ok(None);
    }
    let Some(mut per_rep) = solve_dependencies(m, &sorted.rows, &sorted.cols, &targets)? else {
        return Ok(None);
    };
    per_rep.extend(zero.into_iter().map(|row| (row, 1, Vec::new())));
    Ok(expand_dependencies(
        m.rows(),
        classes,
        &sorted.rows,
        per_rep,
    ))
}

/// For each target row `v`: integers with `den · v = Σ_k num_k · M[basis[k]]`, found by solving
/// `c · minor = v[pivots]` mod `2^61 − 1`, checking `c` against every column mod p, recovering
/// each `c_k` as a fraction with numerator and denominator at most `sqrt(p / 2)`, and checking
/// the result exactly in `i128`. `Ok(None)` when the minor is singular mod `2^61 − 1` or some
/// row has no such small combination; `Err` when some row is outside the span mod `2^61 − 1`.
fn solve_dependencies(
    m: &CommMatrix,
    basis: &[usize],
    pivots: &[usize],
    targets: &[usize],
) -> Result<Option<Vec<RepDependency>>, OutsideSpan> {
    let r = basis.len();
    if targets.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let bit = |row: usize, col: usize| (m.row_words(row)[col / 64] >> (col % 64)) & 1 == 1;
    let minor: Vec<u64> = basis
        .iter()
        .flat_map(|&b| pivots.iter().map(move |&c| u64::from(bit(b, c))))
        .collect();
    let Some(inverse) = invert_mod_p::<M61>(&minor, r) else {
        return Ok(None);
    };
    let basis_ones: Vec<Vec<usize>> = basis
        .iter()
        .map(|&b| {
            m.row_words(b)
                .iter()
                .enumerate()
                .flat_map(|(j, &w)| set_bits(w).map(move |i| j * 64 + i))
                .collect()
        })
        .collect();
    let bound = (P61 / 2).isqrt() as i64;
    // c = v[pivots] · minor⁻¹: the sum of the inverse's rows where v has a 1.
    let solve = |v: usize| {
        let mut c = vec![0u64; r];
        for (j, &pc) in pivots.iter().enumerate() {
            if bit(v, pc) {
                for (ck, &x) in c.iter_mut().zip(&inverse[j * r..(j + 1) * r]) {
                    *ck = M61::add(*ck, x);
                }
            }
        }
        c
    };
    // `c · M[basis] = M[v]` mod p, tested on a fixed pseudo-random combination `z` of the
    // columns: never fails for a row in the span, and passes a row outside it with probability
    // about 1/p. A wrong pass only costs the dependencies (the exact check below rejects them).
    let z: Vec<u64> = (0..m.cols() as u64).map(|j| splitmix64(j) % P61).collect();
    let dot_z =
        |ones: &mut dyn Iterator<Item = usize>| ones.fold(0, |acc, col| M61::add(acc, z[col]));
    let basis_z: Vec<u64> = basis_ones
        .iter()
        .map(|ones| dot_z(&mut ones.iter().copied()))
        .collect();
    let in_span = |v: usize| {
        let lhs = solve(v)
            .into_iter()
            .zip(&basis_z)
            .fold(0, |acc, (ck, &bz)| M61::add(acc, M61::mul(ck, bz)));
        let words = m.row_words(v);
        let rhs = dot_z(
            &mut words
                .iter()
                .enumerate()
                .flat_map(|(j, &w)| set_bits(w).map(move |b| j * 64 + b)),
        );
        lhs == rhs
    };
    // Every row in the span mod p first: if not, the rank is larger and that must be known.
    if !targets.par_iter().all(|&v| in_span(v)) {
        return Err(OutsideSpan);
    }
    // Then the exact combinations; the first row without one ends the search.
    Ok(targets
        .par_iter()
        .map(|&v| {
            exact_combination(m, v, &solve(v), &basis_ones, bound)
                .map(|(den, terms)| (v, den, terms))
        })
        .collect())
}

/// Rational reconstruction of each `c_k` (mod `2^61 − 1`), a common denominator, and the exact
/// check `den · M[v] = Σ num_k · M[basis_k]` over every column.
fn exact_combination(
    m: &CommMatrix,
    v: usize,
    c: &[u64],
    basis_ones: &[Vec<usize>],
    bound: i64,
) -> Option<Combination> {
    let fractions: Vec<(i64, i64)> = c
        .iter()
        .map(|&x| rational_reconstruct(x, P61, bound))
        .collect::<Option<_>>()?;
    let mut den: i64 = 1;
    for &(_, d) in &fractions {
        let g = gcd(den as u64, d as u64) as i64;
        den = (den / g).checked_mul(d)?;
    }
    let mut terms = Vec::new();
    for (k, &(num, d)) in fractions.iter().enumerate() {
        if num != 0 {
            terms.push((k as u32, num.checked_mul(den / d)?));
        }
    }
    let mut acc = vec![0i128; m.cols()];
    for &(k, num) in &terms {
        for &col in &basis_ones[k as usize] {
            acc[col] += i128::from(num);
        }
    }
    let words = m.row_words(v);
    let exact = acc.iter().enumerate().all(|(col, &x)| {
        let entry = i128::from((words[col / 64] >> (col % 64)) & 1 == 1);
        x == i128::from(den) * entry
    });
    exact.then_some((den, terms))
}

/// The fraction `num / den` (`den > 0`, both at most `bound` in absolute value, in lowest
/// terms) congruent to `a` mod `p` (`p < 2^62`), if there is one: extended Euclid stopped
/// half-way. All remainders and cofactors stay below `p` in absolute value.
fn rational_reconstruct(a: u64, p: u64, bound: i64) -> Option<(i64, i64)> {
    if a == 0 {
        return Some((0, 1));
    }
    if a == p - 1 {
        return Some((-1, 1));
    }
    let (mut r0, mut r1) = (p as i64, a as i64);
    let (mut t0, mut t1) = (0i64, 1i64);
    while r1 > bound {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (t0, t1) = (t1, t0 - q * t1);
    }
    if t1 == 0 || t1.abs() > bound {
        return None;
    }
    let (num, den) = if t1 < 0 { (-r1, -t1) } else { (r1, t1) };
    (gcd(num.unsigned_abs(), den.unsigned_abs()) == 1).then_some((num, den))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A fixed pseudo-random `u64` from `x` (SplitMix64's finaliser).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The rational lower bound when the full elimination is over `rational_max_entries`: the
/// first `k` GF(2) basis rows and pivot columns (`k² ≤ rational_max_entries`) eliminated mod
/// `2^31 − 1`. No dependencies unless every row is a basis row.
fn rational_lower_bound_from_gf2(
    m: &CommMatrix,
    of: Of,
    classes: &Classes,
    limits: &Limits,
) -> RankCert {
    let g = eliminate_gf2(m, &classes.representatives, None);
    let cap = usize::try_from(limits.rational_max_entries.isqrt()).unwrap_or(usize::MAX);
    let k = g.basis.len().min(cap);
    let ech = eliminate_mod_p::<M31>(m, &g.basis[..k], &g.pivot_cols[..k]);
    let sorted = SortedBasis::new(&ech.basis, &ech.pivot_cols);
    let deps = (sorted.rows.len() == m.rows()).then(Vec::new);
    sorted.into_cert(Field::Rational, of, Some(P31), deps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemSpec;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn spec_matrix(spec: ProblemSpec) -> CommMatrix {
        spec.matrix().expect("built-in problem")
    }

    fn dense(m: &CommMatrix) -> Vec<Vec<bool>> {
        (0..m.rows())
            .map(|x| (0..m.cols()).map(|y| m.get(x, y)).collect())
            .collect()
    }

    /// Textbook GF(2) elimination on booleans.
    fn naive_gf2_rank(mut a: Vec<Vec<bool>>) -> usize {
        let cols = a.first().map_or(0, Vec::len);
        let mut r = 0;
        for c in 0..cols {
            let Some(p) = (r..a.len()).find(|&i| a[i][c]) else {
                continue;
            };
            a.swap(r, p);
            let pivot = a[r].clone();
            for (i, row) in a.iter_mut().enumerate() {
                if i != r && row[c] {
                    for (x, &y) in row.iter_mut().zip(&pivot) {
                        *x ^= y;
                    }
                }
            }
            r += 1;
        }
        r
    }

    /// Fraction-free (Bareiss) elimination over the integers: the exact rational rank.
    fn bareiss_rank(a: &[Vec<bool>]) -> usize {
        let mut a: Vec<Vec<i128>> = a
            .iter()
            .map(|row| row.iter().map(|&b| i128::from(b)).collect())
            .collect();
        let cols = a.first().map_or(0, Vec::len);
        let (mut r, mut prev) = (0, 1i128);
        for c in 0..cols {
            let Some(p) = (r..a.len()).find(|&i| a[i][c] != 0) else {
                continue;
            };
            a.swap(r, p);
            for i in r + 1..a.len() {
                for j in c + 1..cols {
                    a[i][j] = (a[r][c] * a[i][j] - a[i][c] * a[r][j]) / prev;
                }
                a[i][c] = 0;
            }
            prev = a[r][c];
            r += 1;
        }
        r
    }

    /// Rank of an integer matrix mod `p` (naive, `u128` arithmetic).
    fn rank_mod(mut a: Vec<Vec<u128>>, p: u128) -> usize {
        let cols = a.first().map_or(0, Vec::len);
        let pow = |mut b: u128, mut e: u128| {
            let mut acc = 1u128;
            while e > 0 {
                if e & 1 == 1 {
                    acc = acc * b % p;
                }
                b = b * b % p;
                e >>= 1;
            }
            acc
        };
        let mut r = 0;
        for c in 0..cols {
            let Some(q) = (r..a.len()).find(|&i| !a[i][c].is_multiple_of(p)) else {
                continue;
            };
            a.swap(r, q);
            let inv = pow(a[r][c], p - 2);
            let pivot: Vec<u128> = a[r].iter().map(|&x| x * inv % p).collect();
            for (i, row) in a.iter_mut().enumerate() {
                if i != r && row[c] != 0 {
                    let f = row[c];
                    for (x, &y) in row.iter_mut().zip(&pivot) {
                        *x = (*x + p - f * y % p) % p;
                    }
                }
            }
            r += 1;
        }
        r
    }

    /// Re-checks a certificate from scratch: the minor, and every dependency.
    fn check_cert(m: &CommMatrix, cert: &RankCert) {
        let r = cert.rank as usize;
        assert_eq!(cert.basis_rows.len(), r);
        assert_eq!(cert.pivot_cols.len(), r);
        assert!(cert.basis_rows.windows(2).all(|w| w[0] < w[1]), "sorted");
        let minor: Vec<Vec<bool>> = cert
            .basis_rows
            .iter()
            .map(|&x| {
                cert.pivot_cols
                    .iter()
                    .map(|&y| m.get(x as usize, y as usize))
                    .collect()
            })
            .collect();
        match cert.field {
            Field::Gf2 => assert_eq!(naive_gf2_rank(minor), r, "GF(2) minor"),
            Field::Rational => {
                let p = cert.modulus.expect("rational cert has a modulus");
                let minor = minor
                    .iter()
                    .map(|row| row.iter().map(|&b| u128::from(b)).collect())
                    .collect();
                assert_eq!(rank_mod(minor, u128::from(p)), r, "minor mod {p}");
            }
        }
        let Some(deps) = &cert.dependencies else {
            return;
        };
        let non_basis: Vec<u64> = (0..m.rows() as u64)
            .filter(|x| !cert.basis_rows.contains(x))
            .collect();
        let rows: Vec<u64> = deps.iter().map(|d| d.row).collect();
        assert_eq!(rows, non_basis, "one dependency per non-basis row");
        for d in deps {
            for y in 0..m.cols() {
                let mut sum: i128 = 0;
                for &(k, num) in &d.terms {
                    if m.get(cert.basis_rows[k as usize] as usize, y) {
                        sum += i128::from(num);
                    }
                }
                let lhs = i128::from(d.denominator) * i128::from(m.get(d.row as usize, y));
                match cert.field {
                    Field::Gf2 => {
                        assert_eq!(d.denominator, 1);
                        assert!(d.terms.iter().all(|&(_, n)| n == 1));
                        assert_eq!(sum % 2, lhs, "row {} col {y}", d.row);
                    }
                    Field::Rational => assert_eq!(sum, lhs, "row {} col {y}", d.row),
                }
            }
        }
    }

    fn all_ranks(m: &CommMatrix) -> (u64, u64) {
        let g = certify_gf2(m, Of::Matrix);
        check_cert(m, &g);
        assert_eq!(g.rank, gf2_rank(m));
        let q = certify_rational(m, Of::Matrix, &Limits::default());
        check_cert(m, &q);
        assert_eq!(q.rank, rational_rank_mod_p(m));
        (g.rank, q.rank)
    }

    #[test]
    fn closed_forms() {
        for n in 1..=8u32 {
            let full = 1u64 << n;
            let eq = spec_matrix(ProblemSpec::Eq { n });
            assert_eq!(all_ranks(&eq), (full, full), "EQ_{n}");
            let disj = spec_matrix(ProblemSpec::Disj { n });
            assert_eq!(all_ranks(&disj), (full, full), "DISJ_{n}");
            let gt = spec_matrix(ProblemSpec::Gt { n });
            assert_eq!(all_ranks(&gt), (full - 1, full - 1), "GT_{n}");
            let ip = spec_matrix(ProblemSpec::Ip { n });
            assert_eq!(all_ranks(&ip), (u64::from(n), full - 1), "IP_{n}");
            let index = spec_matrix(ProblemSpec::Index { n });
            assert_eq!(all_ranks(&index), (u64::from(n), u64::from(n)), "INDEX_{n}");
        }
    }

    #[test]
    fn upper_bounds_are_certified_for_closed_forms() {
        for spec in [
            ProblemSpec::Gt { n: 6 },
            ProblemSpec::Ip { n: 6 },
            ProblemSpec::Index { n: 7 },
        ] {
            let m = spec_matrix(spec.clone());
            for cert in [
                certify_gf2(&m, Of::Matrix),
                certify_rational(&m, Of::Matrix, &Limits::default()),
                certify_gf2(&m.complement(), Of::Complement),
                certify_rational(&m.complement(), Of::Complement, &Limits::default()),
            ] {
                assert!(cert.dependencies.is_some(), "{}: {cert:?}", spec.label());
            }
        }
        let ip = spec_matrix(ProblemSpec::Ip { n: 5 });
        let cert = certify_rational(&ip, Of::Matrix, &Limits::default());
        // Only the zero row (x = 0) is outside the basis.
        let deps = cert.dependencies.expect("IP_5 dependencies");
        assert_eq!(deps.len(), 1);
        assert_eq!((deps[0].row, deps[0].terms.len()), (0, 0));
    }

    #[test]
    fn zero_rows_need_no_solve_at_any_rank() {
        // Rank 1023 is over RATIONAL_DEP_MAX_RANK, but the only non-basis row is zero.
        for spec in [ProblemSpec::Gt { n: 10 }, ProblemSpec::Ip { n: 10 }] {
            let m = spec_matrix(spec.clone());
            let cert = certify_rational(&m, Of::Matrix, &Limits::default());
            assert_eq!(cert.rank, 1023, "{}", spec.label());
            let deps = cert.dependencies.expect("the zero row's dependency");
            assert_eq!(deps.len(), 1);
            assert!(deps[0].terms.is_empty());
        }
    }

    /// A random matrix with planted structure: low rank, duplicate rows, zero rows.
    fn random_matrix(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> CommMatrix {
        let density = rng.random_range(0.05..0.95);
        let mut a: Vec<Vec<bool>> = (0..rows)
            .map(|_| (0..cols).map(|_| rng.random_bool(density)).collect())
            .collect();
        match rng.random_range(0..4) {
            0 => {}
            1 => {
                // Copies of a few rows.
                let k = rng.random_range(1..=rows);
                for i in k..rows {
                    a[i] = a[rng.random_range(0..k)].clone();
                }
            }
            2 => {
                // Rows that are sums of disjoint rows: a rational dependency with 0/1 entries.
                for i in 0..rows {
                    if rng.random_bool(0.3) {
                        let j = rng.random_range(0..rows);
                        let k = rng.random_range(0..rows);
                        a[i] = a[j].iter().zip(&a[k]).map(|(&x, &y)| x && !y).collect();
                    }
                }
            }
            _ => {
                // XOR of two rows (a GF(2) dependency) and zero rows.
                for i in 0..rows {
                    match rng.random_range(0..6) {
                        0 => a[i] = vec![false; cols],
                        1 => {
                            let j = rng.random_range(0..rows);
                            let k = rng.random_range(0..rows);
                            a[i] = a[j].iter().zip(&a[k]).map(|(&x, &y)| x ^ y).collect();
                        }
                        _ => {}
                    }
                }
            }
        }
        CommMatrix::from_rows(&a).expect("non-empty")
    }

    #[test]
    fn small_random_matrices_match_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..600 {
            let rows = rng.random_range(1..=12);
            let cols = rng.random_range(1..=12);
            let m = random_matrix(&mut rng, rows, cols);
            let a = dense(&m);
            let (g, q) = all_ranks(&m);
            assert_eq!(g as usize, naive_gf2_rank(a.clone()), "{m:?}");
            assert_eq!(q as usize, bareiss_rank(&a), "{m:?}");
            let reps = m.row_classes().representatives;
            let cols: Vec<usize> = (0..m.cols()).collect();
            assert_eq!(
                eliminate_mod_p::<M61>(&m, &reps, &cols).basis.len() as u64,
                q
            );
            // Small matrices are within every limit: the rational upper bound is certified.
            let cert = certify_rational(&m, Of::Matrix, &Limits::default());
            assert!(cert.dependencies.is_some(), "{m:?}");
        }
    }

    #[test]
    fn larger_random_gf2_matches_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (rows, cols) in [(300, 200), (200, 300), (130, 130), (70, 500), (1000, 65)] {
            for planted in [None, Some(5), Some(40), Some(100)] {
                // Rank at most `planted`: a product of random rows × k and k × cols matrices.
                let m = match planted {
                    None => random_matrix(&mut rng, rows, cols),
                    Some(k) => {
                        let left: Vec<Vec<bool>> = (0..rows)
                            .map(|_| (0..k).map(|_| rng.random_bool(0.5)).collect())
                            .collect();
                        let right: Vec<Vec<bool>> = (0..k)
                            .map(|_| (0..cols).map(|_| rng.random_bool(0.5)).collect())
                            .collect();
                        CommMatrix::from_fn(rows, cols, |x, y| {
                            (0..k).fold(false, |acc, t| acc ^ (left[x][t] && right[t][y]))
                        })
                        .expect("non-empty")
                    }
                };
                let cert = certify_gf2(&m, Of::Matrix);
                check_cert(&m, &cert);
                assert_eq!(cert.rank as usize, naive_gf2_rank(dense(&m)));
                assert_eq!(cert.rank, gf2_rank(&m));
                assert!(cert.dependencies.is_some());
            }
        }
    }

    #[test]
    fn larger_rational_certificates_hold() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for (rows, cols) in [(150, 90), (90, 150), (200, 200)] {
            let m = random_matrix(&mut rng, rows, cols);
            let cert = certify_rational(&m, Of::Matrix, &Limits::default());
            check_cert(&m, &cert);
            assert!(cert.rank >= certify_gf2(&m, Of::Matrix).rank);
            // The fallback prime's elimination finds the same rank and a valid minor.
            let reps = m.row_classes().representatives;
            let cols: Vec<usize> = (0..m.cols()).collect();
            let e = eliminate_mod_p::<M61>(&m, &reps, &cols);
            let sorted = SortedBasis::new(&e.basis, &e.pivot_cols);
            let alt = sorted.into_cert(Field::Rational, Of::Matrix, Some(P61), None);
            check_cert(&m, &alt);
            assert_eq!(alt.rank, cert.rank);
        }
        // Block structure: rows are unions of 12 disjoint column blocks (rank 12, many
        // dependencies with coefficients 1).
        let blocks: Vec<u32> = (0..300).map(|_| rng.random_range(0..12u32)).collect();
        let m = CommMatrix::from_fn(400, 300, |x, y| {
            ((x * 2654435761) >> (7 + blocks[y])) & 1 == 1
        })
        .expect("non-empty");
        let cert = certify_rational(&m, Of::Matrix, &Limits::default());
        check_cert(&m, &cert);
        assert_eq!(cert.rank, 12);
        assert!(cert.dependencies.is_some());
    }

    #[test]
    fn over_the_limit_gives_a_lower_bound() {
        let m = spec_matrix(ProblemSpec::Ip { n: 5 });
        let limits = Limits {
            rational_max_entries: 16,
            ..Limits::default()
        };
        let cert = certify_rational(&m, Of::Matrix, &limits);
        check_cert(&m, &cert);
        assert!(cert.rank >= 1 && cert.rank <= 4, "{cert:?}");
        assert!(cert.dependencies.is_none());
        let tiny = Limits {
            rational_max_entries: 0,
            ..Limits::default()
        };
        let cert = certify_rational(&m, Of::Matrix, &tiny);
        check_cert(&m, &cert);
        assert_eq!(cert.rank, 0);
    }

    #[test]
    fn a_basis_that_does_not_span_is_detected() {
        // Rows 1 and 2 of EQ_2 (rank 4) cannot express rows 0 and 3.
        let m = spec_matrix(ProblemSpec::Eq { n: 2 });
        let got = solve_dependencies(&m, &[1, 2], &[1, 2], &[0, 3]);
        assert!(matches!(got, Err(OutsideSpan)));
        // 2 · 111 = 110 + 011 + 101: a denominator.
        let m = CommMatrix::parse("110\n011\n101\n111").expect("valid");
        let got = solve_dependencies(&m, &[0, 1, 2], &[0, 1, 2], &[3]);
        let Ok(Some(deps)) = got else {
            panic!("dependency of 111 on 110, 011, 101");
        };
        assert_eq!(deps, vec![(3, 2, vec![(0, 1), (1, 1), (2, 1)])]);
    }

    #[test]
    fn reconstruction_recovers_small_fractions() {
        let bound = (P61 / 2).isqrt() as i64;
        for (num, den) in [
            (0i64, 1i64),
            (1, 1),
            (-1, 1),
            (-3, 7),
            (12345, 679),
            (-1, (1 << 30) - 1),
        ] {
            let inv = M61::inv(den as u64);
            let a = M61::mul(num.rem_euclid(P61 as i64) as u64, inv);
            assert_eq!(rational_reconstruct(a, P61, bound), Some((num, den)));
        }
        // Beyond the bound nothing (or something the exact check would reject) comes back.
        let a = M61::mul(1, M61::inv(1 << 40));
        assert_ne!(rational_reconstruct(a, P61, bound), Some((1, 1 << 40)));
    }

    #[test]
    fn m31_row_update_matches_scalar() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for len in [1, 31, 32, 33, 100] {
            let k = rng.random_range(1..=PANEL);
            let mut v: Vec<u32> = (0..len).map(|_| rng.random_range(0..P31 as u32)).collect();
            let f: Vec<u32> = (0..k).map(|_| rng.random_range(0..P31 as u32)).collect();
            let piv: Vec<Vec<u32>> = (0..k)
                .map(|_| (0..len).map(|_| rng.random_range(0..P31 as u32)).collect())
                .collect();
            let mut expect = v.clone();
            for (ft, p) in f.iter().zip(&piv) {
                for (x, &y) in expect.iter_mut().zip(p) {
                    *x = M31::sub(*x, M31::mul(*ft, y));
                }
            }
            let refs: Vec<&[u32]> = piv.iter().map(Vec::as_slice).collect();
            M31::sub_combination(&mut v, &f, &refs);
            assert_eq!(v, expect, "len {len}");
        }
    }
}
