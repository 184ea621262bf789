//! The facts about tasks that the paper's lower bounds rest on, checked by brute force at small
//! sizes: Lemma 1's odd / even bijection for Dyck-(2,2), and the margin of the vectors that
//! Thm 8's reduction from DISJ feeds the nearest-neighbour task.
//!
//! Neither check trusts the code it is about: Lemma 1 is checked against the task's stack
//! membership test (`Dyck::is_member`) on every one of the `4^N` bracket strings, not against
//! the automaton or the enumeration the fooling set is built from; the margin is computed from
//! integer Hamming distances, then the task's own `Nearest::label` is asked the answer of every
//! query.

use serde::Serialize;

use super::{Dyck, Label, Nearest, Token};
use crate::error::InputError;

/// Longest string [`check_odd_even_bijection`] takes: `4^14 ≈ 2.7·10^8` strings, seconds.
pub const MAX_BIJECTION_LENGTH: usize = 14;

/// Lemma 1 at one even length `N`, by brute force over all `4^N` bracket strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OddEvenBijection {
    /// The string length `N`.
    pub length: usize,
    /// Bracket strings tried: `4^N`, every pair (odd half, even half).
    pub strings_checked: u64,
    /// Strings of Dyck-(2,2) among them.
    pub members: u64,
    /// `2^(N−1)`, the count Lemma 1 states.
    pub expected_members: u64,
    /// Distinct odd halves (Alice's inputs) among the members.
    pub distinct_odd_halves: u64,
    /// Distinct even halves (Bob's inputs) among the members.
    pub distinct_even_halves: u64,
    /// No two members share their odd half: the odd positions fix the even ones.
    pub odd_fixes_even: bool,
    /// No two members share their even half: the even positions fix the odd ones.
    pub even_fixes_odd: bool,
    /// All three: the count, and both maps injective. Then the members are a 1-fooling set
    /// of size `2^(N−1)` for the odd / even split.
    pub holds: bool,
}

/// Checks Lemma 1 at length `length` (even, `2 ≤ N ≤` [`MAX_BIJECTION_LENGTH`]): every string
/// `w` of `{ ( ) [ ] }^N` is tested with the stack check; among the members, the number of
/// distinct odd halves and of distinct even halves is counted. O(4^N · N).
pub fn check_odd_even_bijection(length: usize) -> Result<OddEvenBijection, InputError> {
    if length < 2 || length % 2 == 1 || length > MAX_BIJECTION_LENGTH {
        return Err(InputError::new(format!(
            "Lemma 1's check needs an even string length 2 ≤ N ≤ {MAX_BIJECTION_LENGTH}, \
             got {length}"
        )));
    }
    bijection_at_depth(2, length)
}

/// The brute force of [`check_odd_even_bijection`] for Dyck-(2, `depth`) (the tests run it at
/// depth 3, where it must fail).
fn bijection_at_depth(depth: usize, length: usize) -> Result<OddEvenBijection, InputError> {
    let dyck = Dyck::new(2, depth, length)?;
    let half = length / 2;
    let halves = 1usize << (2 * half);
    let mut per_odd = vec![0u32; halves];
    let mut per_even = vec![0u32; halves];
    let mut tokens: Vec<Token> = vec![0; length];
    let mut members = 0u64;
    for (x, odd_count) in per_odd.iter_mut().enumerate() {
        for j in 0..half {
            tokens[2 * j] = ((x >> (2 * j)) & 3) as Token;
        }
        for (y, even_count) in per_even.iter_mut().enumerate() {
            for j in 0..half {
                tokens[2 * j + 1] = ((y >> (2 * j)) & 3) as Token;
            }
            if dyck.is_member(&tokens)? {
                members += 1;
                *odd_count += 1;
                *even_count += 1;
            }
        }
    }
    let distinct = |counts: &[u32]| counts.iter().filter(|&&c| c > 0).count() as u64;
    let distinct_odd_halves = distinct(&per_odd);
    let distinct_even_halves = distinct(&per_even);
    let expected_members = 1u64 << (length - 1);
    let odd_fixes_even = distinct_odd_halves == members;
    let even_fixes_odd = distinct_even_halves == members;
    Ok(OddEvenBijection {
        length,
        strings_checked: (halves as u64) * (halves as u64),
        members,
        expected_members,
        distinct_odd_halves,
        distinct_even_halves,
        odd_fixes_even,
        even_fixes_odd,
        holds: members == expected_members && odd_fixes_even && even_fixes_odd,
    })
}

/// Lemma 1 at every even length `2, 4, …, up_to`.
pub fn check_odd_even_bijections(up_to: usize) -> Result<Vec<OddEvenBijection>, InputError> {
    if !(2..=MAX_BIJECTION_LENGTH).contains(&up_to) {
        return Err(InputError::new(format!(
            "Lemma 1's check takes a string length 2 ≤ N ≤ {MAX_BIJECTION_LENGTH} (it checks \
             every even length up to N), got {up_to}"
        )));
    }
    (2..=up_to)
        .step_by(2)
        .map(check_odd_even_bijection)
        .collect()
}

/// Most labelled points [`check_nearest_reduction`] takes (its work is `O(n²·d)`).
pub const MAX_REDUCTION_POINTS: usize = 4096;

/// Most dimensions [`check_nearest_reduction`] takes (a vector's signs are the bits of a `u64`).
pub const MAX_REDUCTION_DIM: usize = 64;

/// The vectors of Thm 8's reduction at one size, and whether they meet the task's margin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NearestReductionMargin {
    /// Labelled points `n` (the bits of each party in DISJ_n).
    pub points: usize,
    /// Dimension `d` of the unit vectors.
    pub dim: usize,
    /// The margin γ the task asks for.
    pub margin: f64,
    /// How the vectors are made.
    pub vectors: String,
    /// The largest `d·<v_i, v_j>` over `i ≠ j`: an integer, `d − 2·(Hamming distance)`.
    pub worst_numerator: i64,
    /// `worst_numerator / d`, the largest similarity of a query to another point.
    pub worst_similarity: f64,
    /// `d − worst_numerator`: the nearest point's lead, times `d`.
    pub margin_numerator: i64,
    /// `margin_numerator / d`: the lead of the queried point over every other one.
    pub attained_margin: f64,
    /// `attained_margin ≥ γ`, compared exactly (γ as the exact value of its binary float).
    pub margin_holds: bool,
    /// Instances put to the task's own `Nearest::label`: each query with two labellings.
    pub instances_checked: usize,
    /// Instances where the task's label was not the queried point's label.
    pub label_errors: usize,
    /// `margin_holds` and no label errors.
    pub holds: bool,
}

/// Coordinate `r` of `v_i`, times `√d`: `+1` when bit `r` of `i` is 0, `−1` when it is 1.
fn sign(i: usize, r: usize) -> f64 {
    if (i >> r) & 1 == 0 { 1.0 } else { -1.0 }
}

/// Whether the fraction `num / den` (`num ≥ 0`, `den ≥ 1`) is at least `gamma` (finite,
/// positive), exactly: `gamma = m·2^e` with integers `m`, `e`.
fn fraction_at_least(num: u64, den: u64, gamma: f64) -> bool {
    if num == 0 {
        return false;
    }
    let bits = gamma.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mantissa, exp) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    // num / den ≥ mantissa · 2^exp  ⟺  num · 2^(−exp) ≥ mantissa · den (exp < 0 here: γ < 2).
    let rhs = u128::from(mantissa) * u128::from(den);
    if exp >= 0 {
        return u128::from(num) >= rhs << exp;
    }
    let shift = -exp;
    if shift >= 70 {
        // num · 2^70 ≥ 2^70 > 2^53 · 2^7 > mantissa · den.
        return true;
    }
    (u128::from(num) << shift) >= rhs
}

/// Checks the geometric premise of Thm 8's reduction for `points` labelled points in dimension
/// `dim` with margin `margin`: the agreed vectors are `v_i = (±1/√d)`, the signs of coordinate
/// `r` the bits `r` of `i` (`i < n ≤ 2^d`, so they are distinct unit vectors). For a query
/// `v_i` the similarity to `v_j` is `(d − 2·h(i, j))/d` with `h` the Hamming distance, so the
/// queried point leads every other by `2·h(i, j)/d ≥ 2/d`. The worst lead is computed over all
/// pairs with integers and compared with γ exactly; then every query `v_i` is put to the task's
/// `Nearest::label` with the labels `e_i` and `1 − e_i`, which must answer `1` and `0`.
/// O(n²·d).
pub fn check_nearest_reduction(
    points: usize,
    dim: usize,
    margin: f64,
) -> Result<NearestReductionMargin, InputError> {
    let task = Nearest::new(points, dim, margin)?;
    if !(2..=MAX_REDUCTION_POINTS).contains(&points) {
        return Err(InputError::new(format!(
            "Thm 8's reduction check takes 2 ≤ n ≤ {MAX_REDUCTION_POINTS} labelled points, got {points}"
        )));
    }
    if dim > MAX_REDUCTION_DIM || (dim < usize::BITS as usize && points > 1usize << dim) {
        return Err(InputError::new(format!(
            "Thm 8's reduction check needs n ≤ 2^d distinct sign vectors and d ≤ {MAX_REDUCTION_DIM}: \
             n = {points}, d = {dim}; raise d (it is the task's dimension)"
        )));
    }
    let d = dim as i64;
    let mut worst = i64::MIN;
    for i in 0..points {
        for j in i + 1..points {
            let h = ((i ^ j) as u64).count_ones() as i64;
            worst = worst.max(d - 2 * h);
        }
    }
    let margin_numerator = d - worst;
    let margin_holds = fraction_at_least(margin_numerator as u64, dim as u64, margin);
    let scale = 1.0 / (dim as f64).sqrt();
    let vectors: Vec<Vec<f64>> = (0..points)
        .map(|i| (0..dim).map(|r| sign(i, r) * scale).collect())
        .collect();
    let mut tokens: Vec<Token> = Vec::with_capacity(2 * points + 1);
    let mut label_errors = 0;
    let mut instances_checked = 0;
    for i in 0..points {
        for one_hot in [true, false] {
            tokens.clear();
            for j in 0..points {
                tokens.push(0);
                tokens.push(Nearest::label_token((j == i) == one_hot));
            }
            tokens.push(0);
            let mut with_query = vectors.clone();
            with_query.push(vectors[i].clone());
            if task.label(&tokens, &with_query)? != Label::bit(one_hot) {
                label_errors += 1;
            }
            instances_checked += 1;
        }
    }
    Ok(NearestReductionMargin {
        points,
        dim,
        margin,
        vectors: "v_i = (±1/√d)^d, coordinate r negative where bit r of i is 1".into(),
        worst_numerator: worst,
        worst_similarity: worst as f64 / dim as f64,
        margin_numerator,
        attained_margin: margin_numerator as f64 / dim as f64,
        margin_holds,
        instances_checked,
        label_errors,
        holds: margin_holds && label_errors == 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lemma_1_holds_up_to_12_with_the_stated_counts() {
        let rows = check_odd_even_bijections(12).unwrap();
        assert_eq!(rows.len(), 6);
        for r in &rows {
            assert!(r.holds, "{r:?}");
            assert_eq!(r.members, 1 << (r.length - 1));
            assert_eq!(r.distinct_odd_halves, r.members);
            assert_eq!(r.distinct_even_halves, r.members);
            assert_eq!(r.strings_checked, 1 << (2 * r.length));
        }
        // The count agrees with the language's own counter.
        for r in &rows {
            assert_eq!(
                u128::from(r.members),
                super::super::dyck::count_strings(2, 2, r.length)
            );
        }
    }

    #[test]
    fn bad_lengths_are_refused() {
        for n in [0, 1, 3, 13, 16] {
            assert!(check_odd_even_bijection(n).is_err(), "{n}");
        }
        assert!(check_odd_even_bijections(0).is_err());
        assert!(check_odd_even_bijections(16).is_err());
    }

    /// The check can fail: Dyck-(2,3) of length 10 has `34·2^5 = 1088` strings (34 bracket
    /// shapes of depth ≤ 3, two types for each of the 5 pairs) but only `4^5 = 1024` odd halves
    /// exist, so two members share one, and the same brute force reports it.
    #[test]
    fn the_brute_force_sees_a_shared_half_at_depth_3() {
        let r = bijection_at_depth(3, 10).unwrap();
        assert!(!r.odd_fixes_even && !r.holds, "{r:?}");
        assert!(r.members > r.distinct_odd_halves);
    }

    #[test]
    fn exact_fraction_comparison() {
        // 0.1 as a binary float is slightly above 1/10, so 1/10 is not at least it.
        assert!(!fraction_at_least(1, 10, 0.1));
        assert!(fraction_at_least(1, 8, 0.1));
        assert!(fraction_at_least(1, 8, 0.125));
        assert!(!fraction_at_least(1, 8, 0.125000001));
        assert!(fraction_at_least(2, 2, 1.0));
        assert!(!fraction_at_least(1, 2, 1.0));
        assert!(!fraction_at_least(0, 2, 1e-300));
        assert!(fraction_at_least(1, 64, 1e-300));
        assert!(fraction_at_least(3, 2, 1.5) && !fraction_at_least(3, 2, 1.5000001));
    }

    #[test]
    fn reduction_vectors_meet_the_default_margin_and_fail_a_larger_one() {
        let ok = check_nearest_reduction(64, 16, 0.1).unwrap();
        assert!(ok.holds, "{ok:?}");
        assert_eq!(ok.worst_numerator, 14);
        assert_eq!(ok.margin_numerator, 2);
        assert_eq!(ok.instances_checked, 128);
        assert_eq!(ok.label_errors, 0);
        let tight = check_nearest_reduction(64, 16, 0.125).unwrap();
        assert!(tight.holds);
        let too_much = check_nearest_reduction(64, 16, 0.2).unwrap();
        assert!(!too_much.margin_holds && !too_much.holds);
        // Fewer points than 2^(d−1) can all differ in two or more signs? No: i and i ^ 1 are
        // both present, so the lead stays 2/d; with n = 2 it is 2·h(0, 1)/d = 2/d too.
        assert_eq!(
            check_nearest_reduction(2, 4, 0.1).unwrap().margin_numerator,
            2
        );
    }

    #[test]
    fn reduction_sizes_are_refused() {
        assert!(check_nearest_reduction(1, 16, 0.1).is_err());
        assert!(check_nearest_reduction(MAX_REDUCTION_POINTS + 1, 16, 0.1).is_err());
        assert!(check_nearest_reduction(17, 4, 0.1).is_err());
        assert!(check_nearest_reduction(16, 4, 0.1).is_ok());
        assert!(check_nearest_reduction(8, 65, 0.1).is_err());
        assert!(check_nearest_reduction(8, 16, 0.0).is_err());
    }
}
