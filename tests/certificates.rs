//! Laws of the certificates: every certificate the measures produce is accepted by the
//! independent checker, and a corrupted one is rejected.

use ccsep::certificate::check::check;
use ccsep::certificate::{CertificateFile, Claim, LowerBoundWitness, ProtocolNode};
use ccsep::matrix::CommMatrix;
use ccsep::measures::Limits;
use ccsep::measures::summary::summarize;
use ccsep::problem::ProblemSpec;
use proptest::prelude::*;

fn certificates(m: &CommMatrix) -> Vec<(String, CertificateFile)> {
    let spec = ProblemSpec::from_matrix(m);
    summarize(&spec, m, &Limits::default(), true, &|_| {}).certificates
}

fn matrix_strategy() -> impl Strategy<Value = CommMatrix> {
    (1usize..=6, 1usize..=6)
        .prop_flat_map(|(r, c)| {
            proptest::collection::vec(any::<bool>(), r * c).prop_map(move |b| (r, c, b))
        })
        .prop_map(|(r, c, b)| CommMatrix::from_fn(r, c, |x, y| b[x * c + y]).unwrap())
}

/// Flips the output of the first leaf.
fn flip_first_leaf(t: &mut ProtocolNode) -> bool {
    match t {
        ProtocolNode::Leaf { output } => {
            *output ^= 1;
            true
        }
        ProtocolNode::Alice { zero, .. } | ProtocolNode::Bob { zero, .. } => flip_first_leaf(zero),
    }
}

/// A corruption that must make the certificate false; `None` if this certificate has nothing
/// to corrupt (e.g. a one-row matrix's one-way certificate with a single message).
fn corrupt(file: &CertificateFile, m: &CommMatrix) -> Option<CertificateFile> {
    let mut f = file.clone();
    match &mut f.claim {
        Claim::OneWay(c) => {
            // Claim one message fewer by merging the last message into message 0.
            if c.messages < 2 {
                return None;
            }
            let last = (c.messages - 1) as u32;
            for msg in &mut c.message_of {
                if *msg == last {
                    *msg = 0;
                }
            }
            c.messages -= 1;
            c.bits = ccsep::measures::ceil_log2(c.messages);
        }
        Claim::Rank(c) => {
            // Claim one more than the rank by adding a row and column to the minor.
            let r = c.rank as usize;
            if r >= m.rows().min(m.cols()) {
                return None;
            }
            let row = (0..m.rows() as u64).find(|x| !c.basis_rows.contains(x))?;
            let col = (0..m.cols() as u64).find(|y| !c.pivot_cols.contains(y))?;
            c.basis_rows.push(row);
            c.pivot_cols.push(col);
            c.rank += 1;
        }
        Claim::FoolingSet(c) => {
            let &first = c.pairs.first()?;
            c.pairs.push(first);
        }
        Claim::Rectangles(c) => {
            let rect = c.rectangles.first_mut()?;
            rect.value ^= 1;
        }
        Claim::Protocol(c) => {
            if matches!(c.lower_bound, LowerBoundWitness::Search { .. }) && c.depth == 0 {
                return None;
            }
            flip_first_leaf(&mut c.tree);
        }
    }
    Some(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_certificate_produced_is_accepted(m in matrix_strategy()) {
        for (name, cert) in certificates(&m) {
            prop_assert!(check(&cert).is_ok(), "{name} rejected: {:?} on {m:?}", check(&cert));
        }
    }

    #[test]
    fn corrupted_certificates_are_rejected(m in matrix_strategy()) {
        for (name, cert) in certificates(&m) {
            if let Some(bad) = corrupt(&cert, &m) {
                prop_assert!(check(&bad).is_err(), "corrupted {name} accepted on {m:?}");
            }
        }
    }
}

#[test]
fn certificates_survive_a_json_round_trip() {
    let m = ProblemSpec::Disj { n: 3 }.matrix().unwrap();
    for (name, cert) in summarize(
        &ProblemSpec::Disj { n: 3 },
        &m,
        &Limits::default(),
        true,
        &|_| {},
    )
    .certificates
    {
        let text = serde_json::to_string(&cert).unwrap();
        let back: CertificateFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back, cert, "{name}");
        assert!(check(&back).is_ok(), "{name}");
    }
}

fn protocol_cert(problem: serde_json::Value, claim: serde_json::Value) -> CertificateFile {
    serde_json::from_value(serde_json::json!({
        "ccsep_certificate": 1, "problem": problem, "claim": claim,
    }))
    .unwrap()
}

/// Hand-made false certificates, one per rejection path that the corruptions above do not reach.
#[test]
fn hand_made_false_certificates_are_rejected() {
    let leaf = serde_json::json!({"node": "leaf", "output": 1});
    let cases = vec![
        (
            "n beyond the limit (would wrap the matrix size)",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 128}),
                serde_json::json!({"type": "protocol", "depth": 0, "tree": leaf, "lower_bound": {"method": "trivial"}}),
            ),
            "beyond",
        ),
        (
            "a search record contradicted by a shallower tree",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "protocol", "depth": 9, "lower_bound": {"method": "search", "nodes": 1},
                    "tree": {"node": "alice", "ones": [1],
                        "zero": {"node": "bob", "ones": [0], "zero": {"node": "leaf", "output": 0}, "one": {"node": "leaf", "output": 1}},
                        "one": {"node": "bob", "ones": [1], "zero": {"node": "leaf", "output": 0}, "one": {"node": "leaf", "output": 1}}}}),
            ),
            "not the claimed",
        ),
        (
            "a node sending 1 on an input outside its rectangle",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "protocol", "depth": 2, "lower_bound": {"method": "trivial"},
                    "tree": {"node": "alice", "ones": [1],
                        "zero": {"node": "alice", "ones": [1], "zero": {"node": "leaf", "output": 0}, "one": {"node": "leaf", "output": 1}},
                        "one": {"node": "leaf", "output": 1}}}),
            ),
            "not in its rectangle",
        ),
        (
            "a rational rank modulo a composite",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "rank", "field": "rational", "of": "matrix", "rank": 2,
                    "basis_rows": [0, 1], "pivot_cols": [0, 1], "modulus": 15, "dependencies": []}),
            ),
            "not a prime",
        ),
        (
            "a one-way certificate with too few bits",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 2}),
                serde_json::json!({"type": "one_way", "direction": "alice_to_bob", "messages": 4, "bits": 1,
                    "message_of": [0, 1, 2, 3]}),
            ),
            "need 2 bits",
        ),
        (
            "a message index beyond the claimed count",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "one_way", "direction": "alice_to_bob", "messages": 2, "bits": 1,
                    "message_of": [0, 5]}),
            ),
            "not below",
        ),
        (
            "a basis row out of range",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "rank", "field": "gf2", "of": "matrix", "rank": 1,
                    "basis_rows": [7], "pivot_cols": [0], "modulus": null, "dependencies": null}),
            ),
            "out of range",
        ),
        (
            "a false GF(2) dependency",
            protocol_cert(
                serde_json::json!({"kind": "matrix", "rows": ["10", "10", "01"]}),
                serde_json::json!({"type": "rank", "field": "gf2", "of": "matrix", "rank": 1,
                    "basis_rows": [0], "pivot_cols": [0], "modulus": null,
                    "dependencies": [{"row": 1, "denominator": 1, "terms": [[0, 1]]},
                                     {"row": 2, "denominator": 1, "terms": [[0, 1]]}]}),
            ),
            "differs from it in column",
        ),
        (
            "a GF(2) dependency with an even denominator",
            protocol_cert(
                serde_json::json!({"kind": "matrix", "rows": ["10", "10", "00"]}),
                serde_json::json!({"type": "rank", "field": "gf2", "of": "matrix", "rank": 1,
                    "basis_rows": [0], "pivot_cols": [0], "modulus": null,
                    "dependencies": [{"row": 1, "denominator": 2, "terms": [[0, 2]]},
                                     {"row": 2, "denominator": 1, "terms": []}]}),
            ),
            "even denominator",
        ),
        (
            "a fooling pair with the wrong value",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "fooling_set", "value": 1, "pairs": [[0, 1]],
                    "proven_maximum": false, "search_nodes": 0}),
            ),
            "is not 1",
        ),
        (
            "a partition that misses a cell",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "rectangles", "kind": "partition", "proven_minimum": false, "search_nodes": 0,
                    "rectangles": [{"rows": [0], "cols": [0], "value": 1}, {"rows": [1], "cols": [1], "value": 1},
                                   {"rows": [0], "cols": [1], "value": 0}]}),
            ),
            // Found from the sizes alone, before the matrix is built.
            "3 cells in all",
        ),
        (
            "a partition of the right size that covers a cell twice",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "rectangles", "kind": "partition", "proven_minimum": false, "search_nodes": 0,
                    "rectangles": [{"rows": [0], "cols": [0], "value": 1}, {"rows": [1], "cols": [1], "value": 1},
                                   {"rows": [0], "cols": [1], "value": 0}, {"rows": [0], "cols": [1], "value": 0}]}),
            ),
            "covered 2 times",
        ),
        (
            "a rectangle listing a row twice",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "rectangles", "kind": "cover1", "proven_minimum": false, "search_nodes": 0,
                    "rectangles": [{"rows": [0, 0], "cols": [0], "value": 1}, {"rows": [1], "cols": [1], "value": 1}]}),
            ),
            "twice",
        ),
        (
            "false dependencies beside a full rank (they were ignored)",
            protocol_cert(
                serde_json::json!({"kind": "matrix", "rows": ["10", "01", "10"]}),
                serde_json::json!({"type": "rank", "field": "gf2", "of": "matrix", "rank": 2,
                    "basis_rows": [0, 1], "pivot_cols": [0, 1], "modulus": null,
                    "dependencies": [{"row": 2, "denominator": 1, "terms": [[1, 1]]}]}),
            ),
            "differs from it in column",
        ),
        (
            "a GF(2) rank with a modulus (it was ignored)",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "rank", "field": "gf2", "of": "matrix", "rank": 2,
                    "basis_rows": [0, 1], "pivot_cols": [0, 1], "modulus": 4, "dependencies": null}),
            ),
            "no modulus",
        ),
        (
            "a rank above min(rows, cols), found before the minor is built",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "rank", "field": "rational", "of": "matrix", "rank": 3,
                    "basis_rows": [0, 1, 1], "pivot_cols": [0, 1, 1], "modulus": 2147483647, "dependencies": null}),
            ),
            "rank at most 2",
        ),
        (
            "a basis row listed twice",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 2}),
                serde_json::json!({"type": "rank", "field": "gf2", "of": "matrix", "rank": 2,
                    "basis_rows": [1, 1], "pivot_cols": [0, 1], "modulus": null, "dependencies": null}),
            ),
            "listed twice",
        ),
        (
            "a dependency with more terms than the basis has rows",
            protocol_cert(
                serde_json::json!({"kind": "matrix", "rows": ["10", "10"]}),
                serde_json::json!({"type": "rank", "field": "rational", "of": "matrix", "rank": 1,
                    "basis_rows": [0], "pivot_cols": [0], "modulus": 3,
                    "dependencies": [{"row": 1, "denominator": 1, "terms": [[0, 1], [0, 0]]}]}),
            ),
            "terms, but the basis has only 1",
        ),
        (
            "more fooling pairs than rows",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "fooling_set", "value": 1, "pairs": [[0, 0], [1, 1], [0, 0]],
                    "proven_maximum": false, "search_nodes": 0}),
            ),
            "at most 2",
        ),
        (
            "a tree deeper than claimed, found before the matrix is built",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 1}),
                serde_json::json!({"type": "protocol", "depth": 1, "lower_bound": {"method": "search", "nodes": 1},
                    "tree": {"node": "alice", "ones": [],
                        "zero": {"node": "alice", "ones": [], "zero": {"node": "leaf", "output": 0}, "one": {"node": "leaf", "output": 1}},
                        "one": {"node": "leaf", "output": 1}}}),
            ),
            "depth 2, not the claimed 1",
        ),
        (
            "a cover whose overlapping rectangles have more cells than the checker visits",
            protocol_cert(
                serde_json::json!({"kind": "eq", "n": 14}),
                serde_json::json!({"type": "rectangles", "kind": "cover1", "proven_minimum": false, "search_nodes": 0,
                    "rectangles": vec![serde_json::json!({"rows": (0..1u64 << 14).collect::<Vec<_>>(),
                        "cols": (0..1u64 << 14).collect::<Vec<_>>(), "value": 1}); 17]}),
            ),
            "more than the 4294967296",
        ),
    ];
    for (what, cert, msg) in cases {
        match check(&cert) {
            Ok(v) => panic!("{what}: accepted as {}", v.statement),
            Err(e) => assert!(
                e.0.contains(msg),
                "{what}: rejected for another reason: {}",
                e.0
            ),
        }
    }
}
