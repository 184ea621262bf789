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
//!
//! One file per field, the shared pieces here: `gf2` (the packed elimination and its
//! certificate), `prime` (arithmetic and elimination modulo `2^31 − 1` and `2^61 − 1`) and
//! `rational` (the rational certificate: modular rank, exact dependencies). This file holds
//! the basis sorting and the expansion of dependencies to every row that both certificates use.

mod gf2;
mod prime;
mod rational;
#[cfg(test)]
mod tests;

pub use gf2::{GF2_TRACK_MAX_BITS, certify_gf2, gf2_rank};
pub use prime::{P31, P61};
pub use rational::{
    RATIONAL_DEP_MAX_RANK, RATIONAL_DEP_WORK_FACTOR, certify_rational, rational_rank_mod_p,
};

use crate::certificate::{Dependency, Field, Of, RankCert};
use crate::matrix::Classes;

/// Most `(basis_index, numerator)` terms a certificate's dependencies may hold in all, counting
/// every duplicate row; beyond this `dependencies` are `None`.
pub const MAX_DEPENDENCY_TERMS: u64 = 1 << 24;

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

/// The positions of the set bits of `word`, lowest first.
#[inline]
fn set_bits(mut word: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (word != 0).then(|| {
            let b = word.trailing_zeros() as usize;
            word &= word - 1;
            b
        })
    })
}
