//! Rank over GF(2): Gaussian elimination on the packed `u64` words with the method of four
//! Russians, and the certificate whose dependencies are XORs of basis rows.

use rayon::prelude::*;

use super::{MAX_DEPENDENCY_TERMS, SortedBasis, expand_dependencies, set_bits};
use crate::certificate::{Field, Of, RankCert};
use crate::matrix::CommMatrix;

/// Most bits (`distinct rows × rank`) that `certify_gf2` spends on tracking which basis rows
/// make up each other row; beyond this its `dependencies` are `None` (8 MiB of tracking).
pub const GF2_TRACK_MAX_BITS: u64 = 1 << 26;

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

/// The outcome of a GF(2) elimination. Rows are original row indices.
pub(super) struct Gf2Echelon {
    /// Basis rows in the order found.
    pub(super) basis: Vec<usize>,
    /// One pivot column per basis row (the minor `basis × pivot_cols` is non-singular; see
    /// `eliminate_gf2`).
    pub(super) pivot_cols: Vec<usize>,
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
pub(super) fn eliminate_gf2(m: &CommMatrix, rows: &[usize], track: Option<usize>) -> Gf2Echelon {
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
