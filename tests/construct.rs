//! `ccsep construct` and `ccsep check --construct`: the constructions as a user runs them, their
//! saved weights re-checked through `--weights`, size curves as resumable JSON lines, bad input.

use predicates::prelude::*;

mod common;
use common::{ccsep, success_json};

#[test]
fn vectors_report_both_families_beside_hoeffding() {
    let v = success_json(ccsep().args([
        "construct",
        "vectors",
        "--n",
        "100",
        "--gamma",
        "0.25",
        "--json",
    ]));
    assert_eq!(v["correct"], true);
    let hoeffding = v["details"]["hoeffding_k"].as_f64().unwrap();
    assert_eq!(hoeffding, (8.0 / 0.0625 * 200f64.ln()).ceil());
    let families = v["details"]["families"].as_array().unwrap();
    assert_eq!(families.len(), 2);
    for f in families {
        assert!(f["worst_inner"].as_f64().unwrap() <= 0.25);
        assert!((f["k"].as_f64().unwrap()) < hoeffding);
    }
}

/// The Dyck RNN is correct on every string up to length 20, and as a protocol on the
/// contiguous split it keeps every row apart with a constant-size state and errs nowhere.
#[test]
fn dyck_rnn_is_correct_and_passes_the_contiguous_split() {
    let v = success_json(ccsep().args(["construct", "dyck-rnn", "--n", "20", "--json"]));
    assert_eq!(v["correct"], true);
    assert_eq!(v["errors"], 0);
    let c = success_json(ccsep().args([
        "check",
        "--task",
        "dyck-halves",
        "--construct",
        "dyck-rnn",
        "--precision",
        v["precision"].as_str().unwrap(),
        "--n",
        "8",
        "--json",
    ]));
    assert_eq!(c["accuracy"], 1.0);
    assert_eq!(c["exhaustive"], true);
    assert_eq!(c["verdict"]["tag"], "enough_messages");
    assert!(c["distinct_messages"].as_u64().unwrap() <= 7);
    // Without --task and --precision the check takes the construction's own: the same check.
    let bare =
        success_json(ccsep().args(["check", "--construct", "dyck-rnn", "--n", "8", "--json"]));
    assert_eq!(bare, c);
}

/// `check --construct NAME --n N` alone checks the one-layer index-lookup Transformer on INDEX
/// at the precision `construct` reports, through the Thm 4 protocol; constructions that are no
/// one-hot token model are refused with the reason.
#[test]
fn check_takes_the_task_and_precision_of_the_construction() {
    let v = success_json(ccsep().args(["construct", "index-lookup", "--n", "8", "--json"]));
    let c =
        success_json(ccsep().args(["check", "--construct", "index-lookup", "--n", "8", "--json"]));
    assert_eq!(c["precision"], v["precision"]);
    assert_eq!(c["task"], "index-lookup");
    assert_eq!(c["accuracy"], 1.0);
    assert_eq!(c["protocol"], "thm4-any-partition");
    for (name, why) in [("nearest", "real-valued"), ("vectors", "not a model")] {
        ccsep()
            .args(["check", "--construct", name, "--n", "4"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(why));
        // Refused for the same reason whatever the task.
        ccsep()
            .args(["check", "--construct", name, "--task", "index", "--n", "4"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(why));
    }
    ccsep()
        .args(["check", "--task", "index", "--n", "4", "--init", "random"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--precision"));
}

/// The width-N index RNN saved to safetensors is the same model when `check --weights` loads
/// it: perfect on INDEX, with as many messages as INDEX has rows.
#[test]
fn saved_index_rnn_checks_through_weights() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("index.safetensors");
    let v = success_json(
        ccsep()
            .args(["construct", "index-rnn", "--n", "8", "--json", "--save"])
            .arg(&w),
    );
    assert_eq!(v["correct"], true);
    let prec = v["precision"].as_str().unwrap().to_string();
    let c = success_json(
        ccsep()
            .args([
                "check",
                "--task",
                "index",
                "--arch",
                "rnn",
                "--precision",
                &prec,
                "--n",
                "8",
                "--json",
                "--weights",
            ])
            .arg(&w),
    );
    assert_eq!(c["accuracy"], 1.0);
    assert_eq!(c["distinct_messages"], 256);
    assert_eq!(c["one_way_cc"], 8);
}

#[test]
fn curve_lines_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("curve.jsonl");
    let run = || {
        ccsep()
            .args(["construct", "index-rnn", "--curve", "2..4", "--out"])
            .arg(&out)
            .assert()
            .success();
    };
    run();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (v, n) in lines.iter().zip([4, 8, 16]) {
        assert_eq!(v["n"], n);
        assert_eq!(v["length"], n, "index lookup's task length is N itself");
        assert_eq!(v["correct"], true);
        assert_eq!(v["exhaustive"], true, "N ≤ 16 is checked on every string");
        assert!(v["verified_on"].as_str().unwrap().starts_with("all 2^"));
        assert!(v["other_bound_bits"].as_f64().unwrap() > 0.0);
    }
    std::fs::write(&out, text.lines().next().unwrap().to_string() + "\n").unwrap();
    run();
    let again = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        again, text,
        "the rerun adds exactly the missing lines, in order"
    );
}

#[test]
fn two_party_curve_points_count_both_strings_in_the_length() {
    let out = ccsep()
        .args(["construct", "equality", "--curve", "2..2"])
        .assert()
        .success();
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.get_output().stdout).trim()).unwrap();
    assert_eq!(line["n"], 4);
    assert_eq!(line["length"], 8, "N = 2n symbols: x and y");
    assert_eq!(line["correct"], true);
    assert_eq!(line["exhaustive"], true, "n ≤ 8 is checked on every pair");
}

#[test]
fn verbose_prints_each_trial_of_a_size_search() {
    let out = ccsep()
        .args(["construct", "disjointness", "--curve", "4..4", "--verbose"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.get_output().stdout).trim()).unwrap();
    // Each trial is announced, then its outcome with the time it took; the point found is the
    // last full verification that came out correct.
    assert!(
        err.contains("(screen)") && err.contains("(full verification)"),
        "{err}"
    );
    let found = format!(
        "width {} at {} (full verification): correct on",
        line["width"].as_u64().unwrap(),
        line["precision"].as_str().unwrap()
    );
    assert!(err.contains(&found), "{found} not in {err}");
    assert!(err.lines().any(|l| l.contains(" s)")), "{err}");
    // Without --verbose nothing of it reaches stderr.
    let quiet = ccsep()
        .args(["construct", "disjointness", "--curve", "4..4"])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&quiet.get_output().stderr).contains("screen"));
}

/// The one-layer and recurrent searches say their trials too: a trial line names the width
/// and precision index-lookup keeps as a correct full verification, and the precision each RNN
/// reports as correct.
#[test]
fn verbose_prints_the_trials_of_index_lookup_and_the_rnns() {
    let out = ccsep()
        .args(["construct", "index-lookup", "--curve", "3..3", "-v"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.get_output().stdout).trim()).unwrap();
    let found = format!(
        "index-lookup N = 8: width {} (k = ",
        line["width"].as_u64().unwrap()
    );
    let kept = format!(
        "at {} (full verification): correct on",
        line["precision"].as_str().unwrap()
    );
    assert!(
        err.lines().any(|l| l.contains(&found) && l.contains(&kept)),
        "{found} … {kept} not in {err}"
    );
    for name in ["dyck-rnn", "index-rnn"] {
        let out = ccsep()
            .args(["construct", name, "--n", "8", "--json", "-v"])
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        let said = format!(
            "{name} n = 8: at {}: correct",
            v["precision"].as_str().unwrap()
        );
        assert!(err.contains(&said), "{said} not in {err}");
    }
}

#[test]
fn a_verification_over_the_work_limit_is_refused_with_the_way_to_raise_it() {
    ccsep()
        .args(["construct", "equality", "--n", "64", "--max-work", "1e5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-work"))
        .stderr(predicate::str::contains("limit 1e5"));
    ccsep()
        .args(["construct", "equality", "--n", "64", "--max-work", "1e9"])
        .assert()
        .success();
    ccsep()
        .args(["construct", "equality", "--n", "64", "--max-work=-3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("positive"));
}

#[test]
fn bad_input_exits_2() {
    ccsep()
        .args(["construct", "nonsense", "--n", "4"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dyck-rnn"));
    ccsep()
        .args(["construct", "dyck-rnn"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--n"));
    ccsep()
        .args(["construct", "vectors", "--n", "10", "--gamma", "1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gamma"));
    // A margin the construction does not read is refused, not silently ignored (nearest checks
    // the task's own margin, 0.1; the RNNs have none).
    for (name, says) in [("nearest", "margin 0.1"), ("dyck-rnn", "drop --gamma")] {
        ccsep()
            .args(["construct", name, "--n", "4", "--gamma", "0.3"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    ccsep()
        .args(["construct", "dyck-rnn", "--curve", "3..50"])
        .assert()
        .code(2);
    ccsep()
        .args([
            "check",
            "--task",
            "eq",
            "--construct",
            "dyck-rnn",
            "--precision",
            "fixed:1.0",
            "--n",
            "4",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one-hot"));
}

/// A size curve's lengths are refused before any of them runs when the construction does not
/// take them (it used to compute 2^1 … 2^17 and then write an error line per larger length), and
/// a construction without a curve is refused once, not once per length.
#[test]
fn a_curve_is_refused_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.jsonl");
    ccsep()
        .args(["construct", "dyck-rnn", "--curve", "1..39", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("end the curve at 20"));
    assert!(std::fs::read_to_string(&out).unwrap_or_default().is_empty());
    ccsep()
        .args(["construct", "vectors", "--curve", "1..3"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no size curve"));
}

/// Every construction's name parses back to it (an unknown name lists them all), and every
/// construction with a model reports the size `Model::parameter_count` gives.
#[test]
fn every_construction_is_named_once_and_reports_its_model_parameter_count() {
    use ccsep::construct::{ConstructOptions, Construction, NAMES};
    assert_eq!(NAMES.len(), Construction::ALL.len());
    for c in Construction::ALL {
        assert_eq!(c.name().parse::<Construction>().unwrap(), c);
        let opts = ConstructOptions {
            n: 4,
            samples: 20,
            ..ConstructOptions::default()
        };
        let built = c.build(&opts).unwrap();
        assert!(built.report.correct, "{c}");
        if let Some(model) = &built.model {
            assert_eq!(
                built.report.parameters,
                model.parameter_count() as u64,
                "{c}"
            );
        }
    }
    let err = "lookup".parse::<Construction>().unwrap_err();
    assert_eq!(
        err.message,
        "unknown construction \"lookup\"; choose one of vectors, index-lookup, equality, disjointness, nearest, dyck-rnn, index-rnn"
    );
}
