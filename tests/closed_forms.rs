//! The closed forms of the classical problems, for every n the engine reaches within the default
//! limits, through the same `summarize` the CLI runs; every certificate it writes is re-checked.

use ccsep::certificate::check::check;
use ccsep::measures::summary::{Summary, summarize};
use ccsep::measures::{Limits, ceil_log2};
use ccsep::problem::ProblemSpec;

fn run(spec: ProblemSpec) -> Summary {
    let m = spec.matrix().unwrap();
    let s = summarize(&spec, &m, &Limits::default(), true, &|_| {});
    for (name, cert) in &s.certificates {
        if let Err(e) = check(cert) {
            panic!("{} {name}: {e}", spec.label());
        }
    }
    s
}

fn settled(s: &Summary) -> u32 {
    assert!(s.exact.deterministic_cc, "{}: D not settled", s.problem);
    s.deterministic_cc.unwrap()
}

#[test]
fn equality() {
    for n in 1..=9u32 {
        let s = run(ProblemSpec::Eq { n });
        let full = 1u64 << n;
        assert_eq!(settled(&s), n + 1, "D(EQ_{n})");
        assert_eq!(s.rank_gf2, Some(full));
        assert_eq!(s.rank_rational, Some(full));
        assert!(s.exact.rank_rational);
        assert_eq!(s.max_fooling_set_1, Some(full), "EQ_{n} 1-fooling");
        assert!(s.exact.max_fooling_set_1);
        assert_eq!(s.one_way_alice_to_bob, Some(n));
        assert_eq!(
            s.rank_gf2_complement,
            Some(full),
            "J - I is non-singular mod 2 too"
        );
        assert_eq!(s.rank_rational_complement, Some(full));
        assert_eq!(s.deterministic_cc_lower, s.deterministic_cc_upper);
    }
    // Rectangle numbers within the default 64-cell limit: C^1 = 2^n, C^P = 2^(n+1), and C^0 the
    // least k with binomial(k, k/2) >= 2^n (Sperner): 2, 4, 5 for n = 1, 2, 3.
    for (n, c0) in [(1u32, 2u64), (2, 4), (3, 5)] {
        let s = run(ProblemSpec::Eq { n });
        assert_eq!(s.cover_number_1, Some(1 << n), "C^1(EQ_{n})");
        assert_eq!(s.cover_number_0, Some(c0), "C^0(EQ_{n})");
        assert_eq!(s.partition_number, Some(2 << n), "C^P(EQ_{n})");
        assert!(s.exact.cover_number_1 && s.exact.cover_number_0 && s.exact.partition_number);
    }
}

#[test]
fn disjointness() {
    for n in 1..=9u32 {
        let s = run(ProblemSpec::Disj { n });
        assert_eq!(settled(&s), n + 1, "D(DISJ_{n})");
        assert_eq!(s.rank_rational, Some(1 << n));
        assert_eq!(s.rank_gf2, Some(1 << n));
        assert!(s.exact.rank_rational);
    }
}

#[test]
fn greater_than() {
    for n in 1..=9u32 {
        let s = run(ProblemSpec::Gt { n });
        assert_eq!(settled(&s), n + 1, "D(GT_{n})");
        assert_eq!(s.rank_rational, Some((1 << n) - 1), "rank GT_{n}");
        assert!(
            s.exact.rank_rational,
            "GT_{n}: the zero row's dependency certifies the rank"
        );
    }
}

#[test]
fn inner_product() {
    for n in 1..=9u32 {
        let s = run(ProblemSpec::Ip { n });
        assert_eq!(s.rank_gf2, Some(u64::from(n)), "GF(2) rank IP_{n}");
        assert_eq!(s.rank_rational, Some((1 << n) - 1), "rational rank IP_{n}");
        assert!(s.exact.rank_rational);
        assert_eq!(settled(&s), n + 1, "D(IP_{n})");
    }
}

#[test]
fn index() {
    for n in 1..=16u32 {
        let s = run(ProblemSpec::Index { n });
        assert_eq!(s.one_way_alice_to_bob, Some(n), "INDEX_{n} Alice->Bob");
        assert_eq!(
            s.one_way_bob_to_alice,
            Some(ceil_log2(u64::from(n))),
            "INDEX_{n} Bob->Alice"
        );
        assert_eq!(s.rank_rational, Some(u64::from(n)));
        assert_eq!(settled(&s), ceil_log2(u64::from(n)) + 1, "D(INDEX_{n})");
    }
}
