//! Ranks against naive references (dense elimination over GF(2), Bareiss, elimination mod a
//! large prime), closed forms, and the certificates' checks.

use super::prime::{M31, M61, PANEL, PrimeField, eliminate_mod_p};
use super::rational::{OutsideSpan, rational_reconstruct, solve_dependencies};
use super::*;
use crate::matrix::CommMatrix;
use crate::measures::Limits;
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
