//! Rank over the rationals: the modular elimination gives the certified lower bound, exact
//! integer dependencies (solved modulo `2^61 − 1`, reconstructed, checked in `i128`) the upper.

use rayon::prelude::*;

use super::gf2::eliminate_gf2;
use super::prime::{M31, M61, P31, P61, PrimeField, eliminate_mod_p, invert_mod_p};
use super::{
    Combination, MAX_DEPENDENCY_TERMS, RepDependency, SortedBasis, expand_dependencies, set_bits,
};
use crate::certificate::{Dependency, Field, Of, RankCert};
use crate::matrix::{Classes, CommMatrix};
use crate::measures::Limits;

/// Largest rank for which `certify_rational` looks for exact dependencies.
pub const RATIONAL_DEP_MAX_RANK: usize = 512;

/// `certify_rational` spends at most this many times `Limits::rational_max_entries` basic
/// operations (`rank³ + non-basis rows × rank × (rank + cols)`) on dependencies.
pub const RATIONAL_DEP_WORK_FACTOR: u64 = 64;

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

/// Some row is outside the span of the basis modulo `2^61 − 1`, so the rational rank is larger
/// than the basis: the elimination prime was unlucky.
pub(super) struct OutsideSpan;

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
pub(super) fn solve_dependencies(
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
pub(super) fn rational_reconstruct(a: u64, p: u64, bound: i64) -> Option<(i64, i64)> {
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
