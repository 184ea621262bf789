//! `ccsep check --precision A..B`: a precision sweep of one model, exhaustive at small N, and its
//! summary — the smallest `p` from which the model stays correct, its `m·p` beside the bound —
//! checked against the single points run one by one, for a saved recurrent construction, a saved
//! one-layer Transformer (Thm 4 protocol) and a random model; resumed from `--out`, the same
//! whatever the thread count, and ill-formed ranges refused.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

mod common;
use common::{ccsep, success_json, success_stdout};

/// Saves the construction `name` at `n` into `dir` and returns its path.
fn saved(dir: &Path, name: &str, n: &str) -> PathBuf {
    let path = dir.join(format!("{name}.safetensors"));
    ccsep()
        .args(["construct", name, "--n", n, "--save"])
        .arg(&path)
        .assert()
        .success();
    path
}

/// `check` of the model in `weights` (architecture `arch`) on INDEX at `n` and `precision`.
fn check(arch: &str, weights: &Path, n: &str, precision: &str) -> assert_cmd::Command {
    let mut cmd = ccsep();
    cmd.args(["check", "--task", "index", "--arch", arch, "--n", n])
        .args(["--precision", precision, "--weights"])
        .arg(weights);
    cmd
}

/// A sweep's JSON lines: the point lines, then its summary (the last line, the only one with
/// `"kind"`).
fn sweep_json(cmd: &mut assert_cmd::Command) -> (Vec<serde_json::Value>, serde_json::Value) {
    let out = String::from_utf8(success_stdout(cmd.arg("--json"))).unwrap();
    let mut lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["kind"], "precision_sweep_summary", "{summary}");
    for l in &lines {
        assert!(l.get("kind").is_none() && l.get("grid").is_some(), "{l}");
    }
    (lines, summary)
}

/// The smallest `p` from which every point at `p` or above is right, from single checks of
/// each precision (`p` = the report's bits per number).
fn smallest_staying_p(singles: &[(u32, bool)]) -> Option<u32> {
    let mut ps: Vec<u32> = singles.iter().map(|&(p, _)| p).collect();
    ps.sort_unstable();
    ps.into_iter()
        .find(|&p| singles.iter().filter(|&&(q, _)| q >= p).all(|&(_, ok)| ok))
}

/// Runs each precision as a single check and returns `(p, right on every instance)`.
fn singles(arch: &str, weights: &Path, n: &str, precisions: &[&str]) -> Vec<(u32, bool)> {
    precisions
        .iter()
        .map(|p| {
            let v = success_json(check(arch, weights, n, p).arg("--json"));
            let bits = u32::try_from(v["bits_per_number"].as_u64().unwrap()).unwrap();
            (bits, v["correct"] == v["instances"])
        })
        .collect()
}

/// The index-rnn construction is wrong below `fixed:0.4` (it needs the value 1, and `fixed:0.F`
/// tops out below it, with too few messages) and right there: the sweep's `p` is 5, as single
/// checks of each point say; its `m·p` is 6 × 5 beside the one-way CC N = 6.
#[test]
fn recurrent_sweep_finds_the_smallest_p_of_the_single_points() {
    let dir = tempfile::tempdir().unwrap();
    let w = saved(dir.path(), "index-rnn", "6");
    let (points, s) = sweep_json(&mut check("rnn", &w, "6", "fixed:0.1..fixed:0.4"));
    assert_eq!(points.len(), 4);
    let precisions = ["fixed:0.1", "fixed:0.2", "fixed:0.3", "fixed:0.4"];
    let single = singles("rnn", &w, "6", &precisions);
    assert_eq!(smallest_staying_p(&single), Some(5));
    assert_eq!(s["stays_correct_from"]["p"], 5);
    assert_eq!(s["stays_correct_from"]["precisions"][0], "fixed:0.4");
    assert_eq!(s["stays_correct_from"]["bits_available"], 30);
    assert_eq!(s["stays_correct_from"]["meets_bound"], true);
    assert_eq!(s["bound"], 6);
    assert_eq!(s["bound_kind"], "one_way_cc");
    assert_eq!(s["protocol"], "prefix-suffix");
    assert_eq!(s["sampled"], false);
    assert_eq!(s["correct_at"], serde_json::json!([5]));
    // Each point line is the single check's report plus its grid key.
    for (line, (p, ok)) in points.iter().zip(&single) {
        assert_eq!(line["bits_per_number"], *p);
        assert_eq!(line["correct"] == line["instances"], *ok);
    }
    let table = String::from_utf8(success_stdout(&mut check(
        "rnn",
        &w,
        "6",
        "fixed:0.1..fixed:0.4",
    )))
    .unwrap();
    assert!(
        table.contains("sweep: correct from p = 5 (fixed:0.4), the range's largest p: m·p = 6 × 5 = 30 bits ≥ 6 bits, the one-way CC A->B"),
        "{table}"
    );
}

/// The index-lookup Transformer from a file, as the Thm 4 protocol: right at `fixed:2.1`, wrong
/// at `fixed:2.2`, right from `fixed:2.3` on, so it *stays* correct from p = 6, not 4; the bound
/// beside it is the two-way one.
#[test]
fn transformer_sweep_stays_correct_only_from_above_its_last_error() {
    let dir = tempfile::tempdir().unwrap();
    let w = saved(dir.path(), "index-lookup", "4");
    let (points, s) = sweep_json(&mut check("transformer", &w, "4", "fixed:2.1..fixed:2.6"));
    assert_eq!(points.len(), 6);
    let precisions = [
        "fixed:2.1",
        "fixed:2.2",
        "fixed:2.3",
        "fixed:2.4",
        "fixed:2.5",
        "fixed:2.6",
    ];
    let single = singles("transformer", &w, "4", &precisions);
    let expected = smallest_staying_p(&single).expect("right at the top of the range");
    assert_eq!(s["stays_correct_from"]["p"], expected);
    let correct_at: Vec<u32> = single.iter().filter(|s| s.1).map(|s| s.0).collect();
    assert_eq!(s["correct_at"], serde_json::json!(correct_at));
    assert!(correct_at.first() < Some(&expected), "{correct_at:?}");
    assert_eq!(s["protocol"], "thm4-any-partition");
    assert_eq!(s["bound_kind"], "two_way_cc_lower_bound");
    assert_eq!(s["bound"], points[0]["two_way_cc_lower_bound"]);
}

/// A random model is right at no `p`: the summary says so, in JSON (no pick) and in the table,
/// where every point is one row.
#[test]
fn a_random_model_is_correct_at_no_p() {
    let args = [
        "check",
        "--task",
        "index",
        "--arch",
        "gru",
        "--init",
        "random",
        "--width",
        "3",
        "--n",
        "6",
        "--precision",
        "fixed:1.1..fixed:1.6",
    ];
    let (points, s) = sweep_json(ccsep().args(args));
    assert_eq!(points.len(), 6);
    assert!(s["stays_correct_from"].is_null(), "{s}");
    assert_eq!(s["correct_at"], serde_json::json!([]));
    assert_eq!(s["width"], 3);
    let table = String::from_utf8(success_stdout(ccsep().args(args))).unwrap();
    assert!(
        table.contains("sweep: not correct at any p in the range (p = 3 .. 8)"),
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.contains(" fixed:1.")).count(),
        6,
        "{table}"
    );
}

/// A sweep resumed from `--out` summarises the points found there with those it runs: the same
/// summary as one uninterrupted run, and the same bytes whatever the thread count.
#[test]
fn resumed_and_threaded_sweeps_agree() {
    let dir = tempfile::tempdir().unwrap();
    let w = saved(dir.path(), "index-rnn", "6");
    let out = dir.path().join("sweep.jsonl");
    let full = "fixed:0.1..fixed:0.4";
    let (_, fresh) = sweep_json(&mut check("rnn", &w, "6", full));
    success_stdout(
        check("rnn", &w, "6", "fixed:0.1..fixed:0.2")
            .arg("--out")
            .arg(&out),
    );
    let resumed = success_stdout(
        check("rnn", &w, "6", full)
            .arg("--json")
            .arg("--out")
            .arg(&out),
    );
    let resumed: serde_json::Value = serde_json::from_slice(&resumed).unwrap();
    assert_eq!(resumed, fresh);
    let table = success_stdout(check("rnn", &w, "6", full).arg("--out").arg(&out));
    let table = String::from_utf8(table).unwrap();
    assert_eq!(
        table.matches("(from the results file)").count(),
        4,
        "{table}"
    );
    let one = success_stdout(check("rnn", &w, "6", full).args(["--threads", "1"]));
    let two = success_stdout(check("rnn", &w, "6", full).args(["--threads", "2"]));
    assert_eq!(one, two);
}

/// Ill-formed ranges and sizes too large for the check are refused (exit 2) before any point
/// runs, once, with what to change.
#[test]
fn bad_sweeps_are_refused_before_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let w = saved(dir.path(), "index-rnn", "6");
    for (range, says) in [
        ("fixed:0.1..", "two ends"),
        ("fixed:0.4..fixed:0.1", "fixed:0.1..fixed:0.4"),
        ("fixed:0.1..float:8.3", "one family"),
        ("float:8.1..float:8.60", "within the family's limits"),
        ("fixed:1.1..fixed:2.3", "exactly one"),
    ] {
        check("rnn", &w, "6", range)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(says).and(predicate::str::contains("--precision")));
    }
    let out = dir.path().join("never.jsonl");
    let assert = ccsep()
        .args([
            "check", "--task", "index", "--arch", "lstm", "--init", "random",
        ])
        .args(["--n", "40", "--precision", "fixed:1.1..fixed:1.8", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--sample K"));
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.matches("error").count(), 1, "{stderr}");
    assert!(!out.exists() || std::fs::read(&out).unwrap().is_empty());
}
