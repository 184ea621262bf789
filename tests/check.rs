//! `ccsep check` and witness verification: the paper's RNN cases at low precision, the
//! one-layer Transformer's Thm 4 protocol (Dyck-(2,2) odd / even against Lemma 1's fooling set,
//! INEQ, DISJ, and index lookup where the one-way bound does not bind), a wide model that keeps
//! every row apart, determinism across thread counts, and bad input.

use ccsep::app::{CheckReport, ModelSource};
use ccsep::model::Model;
use ccsep::numeric::Precision;
use ccsep::protocol::rnn::check;
use ccsep::protocol::{CheckOptions, Split, VerdictTag};
use ccsep::task::{Reduction, ReductionKind};
use predicates::prelude::*;

mod common;
use common::{ccsep, success_json, success_stdout};

/// A random one-layer model with one output, checked exhaustively on the reduction.
struct Checked {
    reduction: Reduction,
    model: Model,
    precision: Precision,
    report: CheckReport,
}

fn check_random(
    kind: ReductionKind,
    n: u32,
    arch: &str,
    width: usize,
    prec: &str,
    seed: u64,
) -> Checked {
    let reduction = Reduction::new(kind, n).unwrap();
    let source = ModelSource::Random {
        arch: arch.into(),
        width,
        layers: 1,
        output: 1,
        seed,
        heads: None,
    };
    let model = source.build(reduction.task().input_dim()).unwrap();
    let split = Split::new(reduction.clone()).unwrap();
    let precision = Precision::parse(prec).unwrap();
    let report = check(
        &model,
        &source,
        &precision,
        &split,
        &CheckOptions::default(),
        &|_| {},
    )
    .unwrap();
    Checked {
        reduction,
        model,
        precision,
        report,
    }
}

fn run_lib(kind: ReductionKind, n: u32, arch: &str, width: usize, prec: &str, seed: u64) {
    let rep = check_random(kind, n, arch, width, prec, seed).report;
    assert!(rep.exhaustive);
    assert!(rep.protocol_mismatches.is_empty(), "{rep:?}");
    let bits = rep.bits_available.unwrap();
    assert!(bits >= 63 || rep.distinct_messages <= 1 << bits);
    let rows = rep.distinct_rows.unwrap();
    if rep.distinct_messages < rows {
        assert_eq!(rep.verdict.tag, VerdictTag::MustErr);
        let w = rep
            .witness
            .as_ref()
            .expect("pigeonhole: a witness must exist");
        assert_ne!(w.f_x, w.f_x_prime);
        assert!(!rep.verdict.perfect);
    } else {
        assert_eq!(rep.verdict.tag, VerdictTag::EnoughMessages);
    }
}

#[test]
fn paper_cases_low_precision_pigeonhole() {
    for arch in ["rnn", "lstm", "gru"] {
        for seed in 0..3 {
            for n in 8..=10 {
                run_lib(ReductionKind::IndexLookup, n, arch, 2, "fixed:1.2", seed);
            }
            run_lib(ReductionKind::Equality, 6, arch, 2, "fixed:1.2", seed);
            run_lib(ReductionKind::Disjointness, 5, arch, 2, "fixed:1.2", seed);
            run_lib(ReductionKind::Mqar, 4, arch, 2, "fixed:1.2", seed);
            run_lib(ReductionKind::RecallIndex, 6, arch, 2, "fixed:1.2", seed);
        }
    }
}

/// `ccsep verify` accepts the witness `w`, and rejects a copy of it with `tamper` applied.
fn witness_verifies_and_tampering_is_caught(w: &std::path::Path, tamper: &[(&str, &str)]) {
    ccsep()
        .arg("verify")
        .arg(w)
        .assert()
        .success()
        .stdout(predicate::str::contains("ACCEPTED"));
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w).unwrap()).unwrap();
    for (key, from) in tamper {
        file[*key] = file[*from].clone();
    }
    let bad = w.with_extension("tampered.json");
    std::fs::write(&bad, file.to_string()).unwrap();
    ccsep()
        .arg("verify")
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REJECTED"));
}

fn check_args(task: &str, arch: &str, width: &str, prec: &str, n: &str) -> Vec<String> {
    [
        "check",
        "--task",
        task,
        "--arch",
        arch,
        "--width",
        width,
        "--precision",
        prec,
        "--n",
        n,
        "--init",
        "random",
        "--seed",
        "1",
        "--json",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn witness_verifies_and_tampered_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for (task, arch, n) in [
        ("index", "rnn", "9"),
        ("index", "lstm", "8"),
        ("eq", "gru", "6"),
    ] {
        let w = dir.path().join(format!("{task}-{arch}.json"));
        let v = success_json(
            ccsep()
                .args(check_args(task, arch, "2", "fixed:1.2", n))
                .arg("--witness-out")
                .arg(&w),
        );
        for key in [
            "instances",
            "exhaustive",
            "accuracy",
            "distinct_messages",
            "bits_available",
            "one_way_cc",
            "verdict",
            "witness",
            "protocol_mismatches",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["verdict"]["tag"], "must_err");
        witness_verifies_and_tampering_is_caught(&w, &[("x_prime", "x")]);
    }
}

#[test]
fn wide_model_keeps_every_row_apart() {
    let v = success_json(ccsep().args(check_args("index", "lstm", "16", "f32", "6")));
    assert_eq!(v["distinct_messages"], 64);
    assert_eq!(v["verdict"]["tag"], "enough_messages");
    assert!(v["witness"].is_null());
}

#[test]
fn same_bytes_whatever_the_threads() {
    let run = |t: &str| {
        success_stdout(ccsep().args(["--threads", t]).args(check_args(
            "eq",
            "lstm",
            "3",
            "fixed:1.3",
            "6",
        )))
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn sampled_run_says_so() {
    let v = success_json(
        ccsep()
            .args(check_args("index", "gru", "2", "fixed:1.2", "12"))
            .args(["--sample", "100"]),
    );
    assert_eq!(v["exhaustive"], false);
    assert_eq!(v["sample"]["alice_inputs"], 100);
    assert_eq!(v["instances"], 1200);
}

#[test]
fn bad_input_exits_2() {
    ccsep()
        .args(check_args("eq", "transformer", "2", "f32", "4"))
        .args(["--layers", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one-layer"));
    ccsep()
        .args(check_args("dyck", "transformer", "2", "f32", "16"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--sample"));
    ccsep()
        .args(check_args("dyck", "rnn", "2", "f32", "6"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("prefix"));
    ccsep()
        .args(check_args("index", "rnn", "2", "f32", "30"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--sample"));
    ccsep()
        .args([
            "check",
            "--task",
            "index",
            "--arch",
            "rnn",
            "--precision",
            "f32",
            "--n",
            "6",
        ])
        .assert()
        .code(2);
}

#[test]
fn weights_file_model_and_its_witness() {
    let dir = tempfile::tempdir().unwrap();
    let r = Reduction::new(ReductionKind::IndexLookup, 8).unwrap();
    let model = ccsep::model::random_init(
        &ccsep::model::Spec::Gru {
            input: r.task().input_dim(),
            hidden: 2,
            layers: 1,
            output: Some(2),
        },
        5,
    )
    .unwrap();
    let weights = dir.path().join("gru.safetensors");
    model.save(&weights).unwrap();
    let w = dir.path().join("w.json");
    ccsep()
        .args([
            "check",
            "--task",
            "index",
            "--arch",
            "gru",
            "--precision",
            "fixed:1.2",
            "--n",
            "8",
            "--weights",
        ])
        .arg(&weights)
        .arg("--witness-out")
        .arg(&w)
        .assert()
        .success()
        .stdout(predicate::str::contains("MustErr"));
    ccsep()
        .arg("verify")
        .arg(&w)
        .assert()
        .success()
        .stdout(predicate::str::contains("ACCEPTED"));
}

/// The accuracy `check` counts from message classes equals a direct count: the plain forward
/// pass on every whole instance, decoded, against f.
#[test]
fn accuracy_equals_a_direct_count_over_every_instance() {
    use ccsep::numeric::Stats;
    for (kind, n, arch, width, prec) in [
        (ReductionKind::IndexLookup, 5, "lstm", 3, "fixed:1.3"),
        (ReductionKind::Equality, 4, "gru", 2, "e4m3"),
        (ReductionKind::Disjointness, 3, "rnn", 4, "bf16"),
        // Two bits per token: the trie walk branches four ways.
        (ReductionKind::DyckHalves, 6, "lstm", 3, "fixed:2.3"),
        (ReductionKind::DyckHalves, 4, "gru", 2, "fixed:1.2"),
    ] {
        let Checked {
            reduction: r,
            model,
            precision: p,
            report: rep,
        } = check_random(kind, n, arch, width, prec, 11);
        let task = r.task();
        let mut correct = 0u64;
        let mut instances = 0u64;
        for x in r.alice_inputs() {
            for y in r.bob_inputs() {
                let inst = r.instance(x, y).unwrap();
                let inputs = task.embed(&inst.tokens, &[]).unwrap();
                let trace = model.forward(&inputs, &p, &mut Stats::default()).unwrap();
                let answer = ccsep::protocol::decode(trace.outputs.last().unwrap());
                correct += u64::from(answer == r.value(x, y).unwrap());
                instances += 1;
            }
        }
        assert_eq!(rep.instances, instances, "{arch} {kind:?}");
        assert_eq!(rep.correct, correct, "{arch} {kind:?}");
        // Distinct messages never exceed the Alice inputs, and are at least one.
        assert!((1..=r.alice_inputs().end).contains(&rep.distinct_messages));
    }
}

/// Dyck-(2,2) split odd / even (Lemma 1, Thm 5): a small one-layer Transformer at low precision
/// gives Lemma 1's 2^(N−1) strings fewer transcripts than strings, and the witness it reports
/// verifies with the plain forward pass; a tampered witness is rejected.
#[test]
fn transformer_dyck_odd_even_against_lemma_1() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("dyck.json");
    let v = success_json(
        ccsep()
            .args(check_args("dyck", "transformer", "2", "fixed:1.2", "8"))
            .arg("--witness-out")
            .arg(&w),
    );
    assert_eq!(v["protocol"], "thm4-any-partition");
    assert_eq!(v["instances"], 1 << 16);
    assert_eq!(v["exhaustive"], true);
    assert_eq!(v["fooling_set"]["size"], 128);
    assert_eq!(v["protocol_mismatch_count"], 0);
    let distinct = v["fooling_set"]["distinct_transcripts"].as_u64().unwrap();
    assert!(distinct < 128, "{v}");
    assert_eq!(v["verdict"]["tag"], "must_err");
    assert!(
        v["verdict"]["sentence"]
            .as_str()
            .unwrap()
            .contains("fooling set")
    );
    assert!(v["witness"]["y_prime"].is_u64());
    witness_verifies_and_tampering_is_caught(&w, &[("y_prime", "y"), ("x_prime", "x")]);
}

/// A wider Transformer at f32 keeps Lemma 1's strings apart: one transcript each, and every
/// transcript class has one value of f.
#[test]
fn transformer_wide_keeps_the_fooling_set_apart() {
    let v = success_json(
        ccsep()
            .args(check_args("dyck", "transformer", "8", "f32", "6"))
            .args(["--heads", "2"]),
    );
    assert_eq!(v["fooling_set"]["distinct_transcripts"], 32);
    assert_eq!(v["verdict"]["tag"], "enough_messages");
    assert_eq!(v["protocol_mismatch_count"], 0);
}

/// INEQ and DISJ (prefix / suffix, so both protocols apply): the Thm 4 protocol agrees with the
/// forward pass on every instance, and its verdict follows its transcripts.
#[test]
fn transformer_ineq_and_disj() {
    use ccsep::numeric::Stats;
    let dir = tempfile::tempdir().unwrap();
    for (task, kind) in [
        ("ineq", ReductionKind::Equality),
        ("disj", ReductionKind::Disjointness),
    ] {
        // At fixed:1.1 the 32 fooling entries collapse to a few transcripts (must err, with a
        // witness that verifies); at fixed:2.4 they stay apart.
        for (prec, must_err) in [("fixed:1.1", true), ("fixed:2.4", false)] {
            let w = dir.path().join(format!("{task}.json"));
            let v = success_json(
                ccsep()
                    .args(check_args(task, "transformer", "4", prec, "5"))
                    .arg("--witness-out")
                    .arg(&w),
            );
            assert_eq!(v["instances"], 1024);
            assert_eq!(v["protocol_mismatch_count"], 0);
            assert_eq!(v["fooling_set"]["size"], 32);
            let distinct = v["fooling_set"]["distinct_transcripts"].as_u64().unwrap();
            assert_eq!(distinct < 32, must_err, "{task} {prec}");
            let tag = if must_err {
                "must_err"
            } else {
                "enough_messages"
            };
            assert_eq!(v["verdict"]["tag"], tag, "{task} {prec}");
            assert_eq!(v["witness"].is_object(), must_err);
            if must_err {
                ccsep().arg("verify").arg(&w).assert().success();
            }
            // The accuracy is the model's own, counted here with the plain forward pass.
            let r = Reduction::new(kind, 5).unwrap();
            let source = ModelSource::Random {
                arch: "transformer".into(),
                width: 4,
                layers: 1,
                output: 1,
                seed: 1,
                heads: None,
            };
            let model = source.build(r.task().input_dim()).unwrap();
            let p = Precision::parse(prec).unwrap();
            let mut correct = 0u64;
            for x in r.alice_inputs() {
                for y in r.bob_inputs() {
                    let inst = r.instance(x, y).unwrap();
                    let inputs = r.task().embed(&inst.tokens, &[]).unwrap();
                    let trace = model.forward(&inputs, &p, &mut Stats::default()).unwrap();
                    let answer = ccsep::protocol::decode(trace.outputs.last().unwrap());
                    correct += u64::from(answer == r.value(x, y).unwrap());
                }
            }
            assert_eq!(v["correct"], correct, "{task} {prec}");
        }
    }
}

/// Index lookup with a one-layer Transformer: the query is Bob's, so the report says why the
/// one-way Alice → Bob bound (n bits) does not bind and gives the Bob → Alice cost.
#[test]
fn transformer_index_lookup_explains_the_bound() {
    let v = success_json(ccsep().args(check_args("index", "transformer", "4", "f32", "8")));
    assert_eq!(v["one_way_cc"], 8);
    assert_eq!(v["one_way_cc_bob_to_alice"], 3);
    let note = v["note"].as_str().unwrap();
    assert!(note.contains("Bob speaks first"), "{note}");
    assert_eq!(v["protocol_mismatch_count"], 0);
}

/// A grid writes one JSON line per point; a rerun after an interruption (here: the file cut in
/// the middle of a line) keeps every finished line and runs only the missing points.
#[test]
fn grid_writes_json_lines_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.jsonl");
    let grid = |path: &std::path::Path| {
        let mut args = check_args("index", "gru", "1..3", "fixed:1.1..fixed:1.2", "6");
        args.retain(|a| a != "--json");
        ccsep().args(args).arg("--out").arg(path).assert().success();
    };
    grid(&out);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    let points: Vec<(u64, String)> = lines
        .iter()
        .map(|v| {
            assert!(v["verdict"]["tag"].is_string());
            (
                v["grid"]["width"].as_u64().unwrap(),
                v["grid"]["precision"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(points[0], (1, "fixed:1.1".to_string()));
    assert_eq!(points[5], (3, "fixed:1.2".to_string()));
    // Interrupt: keep two full lines and half of the third.
    let cut: usize = text.lines().take(2).map(|l| l.len() + 1).sum::<usize>() + 30;
    std::fs::write(&out, &text[..cut]).unwrap();
    grid(&out);
    let resumed = std::fs::read_to_string(&out).unwrap();
    let parsed: Vec<serde_json::Value> = resumed
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(parsed.len(), 6, "every point exactly once after the rerun");
    assert_eq!(parsed[..2], lines[..2], "finished lines are kept");
    // Same points, same results as the uninterrupted run.
    let mut a: Vec<String> = lines.iter().map(|v| v.to_string()).collect();
    let mut b: Vec<String> = parsed.iter().map(|v| v.to_string()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

/// Lines written with other settings are not taken for this grid's points: every point runs.
#[test]
fn grid_ignores_lines_of_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.jsonl");
    let run = |task: &str, arch: &str| {
        let mut args = check_args(task, arch, "1..2", "fixed:1.1", "5");
        args.retain(|a| a != "--json");
        ccsep().args(args).arg("--out").arg(&out).assert().success();
    };
    run("index", "gru");
    run("eq", "lstm");
    let text = std::fs::read_to_string(&out).unwrap();
    let tasks: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["task"].to_string())
        .collect();
    assert_eq!(tasks.len(), 4);
    assert_eq!(tasks.iter().filter(|t| t.contains("equality")).count(), 2);
}

/// A point that does not fit gets an error line and the others still run (exit 2); bad axes
/// are refused before anything runs.
#[test]
fn grid_errors() {
    let args = check_args("index", "rnn", "1,2", "f32", "6");
    let out = ccsep()
        .args(&args)
        .args(["--layers", "0"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| l.contains("\"error\"")));
    ccsep()
        .args(check_args("index", "rnn", "3..1", "f32", "6"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("range"));
    ccsep()
        .args(check_args("index", "rnn", "2", "bf16..fixed:1.4", "6"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one family"));
}

/// Sizes past the check's limits are refused with exit code 2 before anything is allocated
/// (at n = 40 the list of Alice's inputs alone would take 8 TiB): for the Transformer on every
/// task and the index-lookup construction, and for recurrent models whose Bob inputs alone
/// exceed the runs allowed, even with `--sample 1`; each message says what to do.
#[test]
fn large_n_is_refused_before_allocating() {
    for task in [
        "eq",
        "disj",
        "mqar",
        "dyck",
        "dyck-halves",
        "index",
        "recall",
    ] {
        ccsep()
            .args(check_args(task, "transformer", "2", "fixed:2.4", "40"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--sample").or(predicate::str::contains("smaller n")));
    }
    ccsep()
        .args(["check", "--construct", "index-lookup", "--n", "40"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--sample K with K ≤"));
    for task in ["eq", "disj", "mqar", "dyck-halves"] {
        ccsep()
            .args(check_args(task, "lstm", "2", "fixed:2.4", "40"))
            .args(["--sample", "1"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("choose a smaller n"));
    }
    ccsep()
        .args([
            "check",
            "--construct",
            "dyck-rnn",
            "--n",
            "40",
            "--sample",
            "1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("choose a smaller n"));
}

/// The Thm 4 protocol is two-way: its report gives the fooling-set bound of the partition
/// (Dyck-(2,2) odd / even at N = 8: Lemma 1's N − 1 = 7 bits) beside the one-way figures, which
/// it marks as binding only one-speaker protocols; at a float format with wide accumulation the
/// bits counted are no upper bound, and the report says so (table and JSON).
#[test]
fn transformer_report_gives_the_two_way_bound() {
    let v = success_json(ccsep().args(check_args("dyck", "transformer", "2", "fixed:1.2", "8")));
    assert_eq!(v["two_way_cc_lower_bound"], 7);
    assert_eq!(v["one_way_cc"], 8);
    assert_eq!(v["bits_available_upper_bound"], true);
    let mut args = check_args("dyck", "transformer", "2", "fixed:1.2", "8");
    args.pop();
    let table = String::from_utf8(success_stdout(ccsep().args(&args))).unwrap();
    assert!(table.contains("two-way CC         >= 7 bits"), "{table}");
    assert!(
        table.contains("binds only protocols where Alice alone speaks"),
        "{table}"
    );
    assert!(!table.contains("no upper bound"), "{table}");

    let v = success_json(ccsep().args(check_args("dyck", "transformer", "2", "bf16", "6")));
    assert_eq!(v["bits_available_upper_bound"], false);
    assert_eq!(v["two_way_cc_lower_bound"], 5);
    let mut args = check_args("dyck", "transformer", "2", "bf16", "6");
    args.pop();
    let table = String::from_utf8(success_stdout(ccsep().args(&args))).unwrap();
    assert!(table.contains("no upper bound here"), "{table}");
    // A recurrent model's message is its state: the count is exact, and no two-way line.
    let v = success_json(ccsep().args(check_args("eq", "lstm", "2", "bf16", "4")));
    assert_eq!(v["bits_available_upper_bound"], true);
    assert!(v.get("two_way_cc_lower_bound").is_none());
}

/// MQAR is scored as the task defines it: an answer per query, read at the query's position
/// (here a head with one number per token: `v1` when its entry beats `v0`'s), right when every
/// answer is the queried key's value. Counted here directly with the forward pass, for the
/// prefix / suffix protocol (LSTM) and the Thm 4 protocol (one-layer Transformer).
#[test]
fn mqar_is_scored_per_query() {
    use ccsep::numeric::Stats;
    let r = Reduction::new(ReductionKind::Mqar, 4).unwrap();
    let task = r.task();
    let vocab = task.vocab().len();
    let ccsep::task::AnyTask::Recall(recall) = &task else {
        panic!("mqar is recall")
    };
    let (v0, v1) = (recall.value(0) as usize, recall.value(1) as usize);
    let p = Precision::parse("fixed:2.4").unwrap();
    for (arch, seed) in [("lstm", 7), ("transformer", 1)] {
        let source = ModelSource::Random {
            arch: arch.into(),
            width: 6,
            layers: 1,
            output: vocab,
            seed,
            heads: None,
        };
        let model = source.build(task.input_dim()).unwrap();
        let rep = if arch == "lstm" {
            let split = Split::new(r.clone()).unwrap();
            check(
                &model,
                &source,
                &p,
                &split,
                &CheckOptions::default(),
                &|_| {},
            )
            .unwrap()
        } else {
            ccsep::protocol::transformer::check(
                &model,
                &source,
                &p,
                &r,
                &CheckOptions::default(),
                &|_| {},
            )
            .unwrap()
        };
        let (mut correct, mut disj_bit) = (0u64, 0u64);
        for x in r.alice_inputs() {
            for y in r.bob_inputs() {
                let inst = r.instance(x, y).unwrap();
                let inputs = task.embed(&inst.tokens, &[]).unwrap();
                let outs = model
                    .forward(&inputs, &p, &mut Stats::default())
                    .unwrap()
                    .outputs;
                // Queries follow the 4 pairs and the marker, in increasing key order.
                let right = (0..4)
                    .filter(|i| (y >> i) & 1 == 1)
                    .enumerate()
                    .all(|(j, i)| {
                        let o = &outs[9 + j];
                        (o[v1] > o[v0]) == ((x >> i) & 1 == 1)
                    });
                correct += u64::from(right);
                let last = ccsep::protocol::decode(outs.last().unwrap());
                disj_bit += u64::from(last == r.value(x, y).unwrap());
            }
        }
        assert_eq!(rep.correct, correct, "{arch}");
        // The old reading (the last output as the DISJ bit) counts something else here.
        assert_ne!(
            rep.correct, disj_bit,
            "{arch}: the test cannot tell the readings apart"
        );
    }
}

/// An MQAR witness records what `ccsep verify` re-derives (the last output as a bit; one
/// message and one suffix give identical outputs everywhere), so it verifies.
#[test]
fn mqar_witness_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("mqar.json");
    let v = success_json(
        ccsep()
            .args(check_args("mqar", "lstm", "2", "fixed:1.1", "4"))
            .arg("--witness-out")
            .arg(&w),
    );
    assert_eq!(v["verdict"]["tag"], "must_err");
    ccsep().arg("verify").arg(&w).assert().success();
}

/// `verify` reads an MQAR witness as the check scores MQAR: the answer bit is DISJ read off the
/// answers to every query, not the last output. A model right on both (x = 00, y = 11: answers
/// 0, 0) and (x' = 01, y = 11: answers 1, 0) answers 0 at the last query of both, so a witness
/// built from the last output ("the model answers 0 on both, f differs") was accepted about a
/// model right on both; it is rejected now.
#[test]
fn verify_scores_an_mqar_witness_by_its_queries() {
    use ccsep::numeric::Stats;
    use ccsep::protocol::score;
    let r = Reduction::new(ReductionKind::Mqar, 2).unwrap();
    let task = r.task();
    let prec = Precision::parse("f32").unwrap();
    let (x, x_prime, y) = (0b00u64, 0b01u64, 0b11u64);
    let run = |model: &Model, x: u64| {
        let inst = r.instance(x, y).unwrap();
        let inputs = task.embed(&inst.tokens, &[]).unwrap();
        model
            .forward(&inputs, &prec, &mut Stats::default())
            .unwrap()
            .outputs
    };
    // The first seeded random LSTM right on both instances (the search is deterministic).
    let (source, model) = (0..2000u64)
        .map(|seed| {
            let source = ModelSource::Random {
                arch: "lstm".into(),
                width: 3,
                layers: 1,
                output: 1,
                seed,
                heads: None,
            };
            let model = source.build(task.input_dim()).unwrap();
            (source, model)
        })
        .find(|(_, m)| score(&r, x, y, &run(m, x)).1 && score(&r, x_prime, y, &run(m, x_prime)).1)
        .expect("a random LSTM right on both instances");
    let last = |x| ccsep::protocol::decode(run(&model, x).last().unwrap());
    assert_eq!((last(x), last(x_prime)), (false, false));
    let witness = serde_json::json!({
        "ccsep_witness": 1,
        "model": serde_json::to_value(&source).unwrap(),
        "precision": serde_json::to_value(prec).unwrap(),
        "task": "mqar",
        "n": 2,
        "x": x, "x_prime": x_prime, "y": y,
        "expected": [true, false],
        "answers": [false, false],
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    std::fs::write(&path, witness.to_string()).unwrap();
    ccsep()
        .arg("verify")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not confused").or(predicate::str::contains("re-run")));
}

/// The table's witness line names the instances of the JSON witness (nothing else checked the
/// printed line).
#[test]
fn the_table_prints_the_json_witness() {
    let args = [
        "check",
        "--task",
        "dyck",
        "--arch",
        "transformer",
        "--init",
        "random",
        "--seed",
        "1",
        "--width",
        "2",
        "--precision",
        "fixed:1.2",
        "--n",
        "8",
    ];
    let v = success_json(ccsep().args(args).arg("--json"));
    let w = &v["witness"];
    let y_prime = w
        .get("y_prime")
        .and_then(|y| y.as_u64())
        .or(w["y"].as_u64());
    let line = format!(
        "witness: (x = {}, y = {}) and (x' = {}, y' = {}): f = {} / {}, the model answers {} on both; wrong on {}",
        w["x"],
        w["y"],
        w["x_prime"],
        y_prime.unwrap(),
        u8::from(w["f_x"] == true),
        u8::from(w["f_x_prime"] == true),
        u8::from(w["answer"] == true),
        w["wrong"].as_str().unwrap()
    );
    let table = String::from_utf8(success_stdout(ccsep().args(args))).unwrap();
    assert!(table.lines().any(|l| l == line), "{line}\n{table}");
}
