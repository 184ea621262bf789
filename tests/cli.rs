//! The real binary on the commands the README shows, and on bad input.

use predicates::prelude::*;

mod common;
use common::{ccsep, success_json, success_stdout};

#[test]
fn readme_main_job_certifies_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    ccsep()
        .args(["cc", "eq", "--n", "4", "--certify"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("D(EQ_4) = 5 bits"));
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(files.len() >= 8, "{files:?}");
    ccsep()
        .arg("verify")
        .args(&files)
        .assert()
        .success()
        .stdout(predicate::str::contains("REJECTED").not());
    assert!(out.join("protocol.dot").exists());
}

#[test]
fn json_has_the_documented_keys() {
    let v = success_json(ccsep().args(["cc", "index", "--n", "6", "--json"]));
    for key in [
        "rows",
        "cols",
        "one_way_alice_to_bob",
        "one_way_bob_to_alice",
        "rank_gf2",
        "rank_rational",
        "max_fooling_set_1",
        "max_fooling_set_0",
        "partition_number",
        "deterministic_cc",
        "exact",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["rows"], 64);
    assert_eq!(v["one_way_alice_to_bob"], 6);
    assert_eq!(v["one_way_bob_to_alice"], 3);
    assert_eq!(v["deterministic_cc"], 4);
    assert_eq!(v["exact"]["deterministic_cc"], true);
    // Over the default limits: reported as null, never as a number.
    assert!(v["partition_number"].is_null());
}

#[test]
fn matrix_file_with_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.txt");
    std::fs::write(&path, "# EQ_1 complement\n0 1\n1 0\n").unwrap();
    let certs = dir.path().join("c");
    ccsep()
        .args(["cc", "--matrix"])
        .arg(&path)
        .arg("--certify")
        .arg(&certs)
        .assert()
        .success()
        .stdout(predicate::str::contains("= 2 bits"));
    ccsep()
        .arg("verify")
        .arg(certs.join("protocol.json"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ACCEPTED"));
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["cc", "eq", "--n", "0"], "at least 1"),
        (vec!["cc", "eq", "--n", "20"], "--max-memory"),
        (vec!["cc", "eq"], "--n"),
        (vec!["cc", "nope", "--n", "3"], "unknown problem"),
        (
            vec!["cc", "--matrix", "/nonexistent/m.txt"],
            "could not read",
        ),
        (
            vec!["cc", "eq", "--n", "3", "--protocol-classes", "65"],
            "65",
        ),
    ];
    for (args, msg) in cases {
        ccsep()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
}

#[test]
fn malformed_matrix_file_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "0 1\n1 2\n").unwrap();
    ccsep()
        .args(["cc", "--matrix"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2, column 3"));
    let ragged = dir.path().join("ragged.txt");
    std::fs::write(&ragged, "0 1\n1\n").unwrap();
    ccsep()
        .args(["cc", "--matrix"])
        .arg(&ragged)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ragged"));
}

#[test]
fn verify_rejects_a_tampered_certificate_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    ccsep()
        .args(["cc", "gt", "--n", "2", "--certify"])
        .arg(dir.path())
        .assert()
        .success();
    let path = dir.path().join("protocol.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["claim"]["depth"] = serde_json::json!(2);
    std::fs::write(&path, v.to_string()).unwrap();
    ccsep()
        .arg("verify")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REJECTED"));
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{ not json").unwrap();
    ccsep().arg("verify").arg(&junk).assert().code(2);
    // A bad file does not hide the verdicts on the others.
    ccsep()
        .arg("verify")
        .arg(&junk)
        .arg(dir.path().join("rank_gf2.json"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("ACCEPTED"));
}

#[test]
fn output_does_not_depend_on_threads() {
    let run = |t: &str| {
        success_stdout(ccsep().args(["--threads", t, "cc", "disj", "--n", "3", "--json"]))
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn tasks_sample_is_seeded_and_validates_its_input() {
    let run = |seed: &str| {
        success_stdout(ccsep().args([
            "tasks", "sample", "--task", "dyck", "--n", "20", "--count", "5", "--seed", seed,
        ]))
    };
    let a = run("3");
    assert_eq!(a, run("3"));
    assert_ne!(a, run("4"));
    let text = String::from_utf8(a).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(
        text.lines()
            .all(|l| l.ends_with("-> 0") || l.ends_with("-> 1")),
        "{text}"
    );
    ccsep()
        .args(["tasks", "sample", "--task", "dyck", "--n", "21"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("even"));
    ccsep()
        .args([
            "tasks",
            "sample",
            "--task",
            "index",
            "--n",
            "8",
            "--variant",
            "one",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--variant"));
    let v = success_json(ccsep().args([
        "tasks", "sample", "--task", "equality", "--n", "8", "--count", "3", "--json",
    ]));
    assert_eq!(v.as_array().unwrap().len(), 3);
}

#[test]
fn run_matches_the_pytorch_fixture_and_rejects_bad_input() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("lstm_f64.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("x.json");
    std::fs::write(&inputs, fixture["inputs"].to_string()).unwrap();
    let weights = root.join("lstm_f64.safetensors");
    let got = success_json(
        ccsep()
            .args([
                "run",
                "--arch",
                "lstm",
                "--precision",
                "f64",
                "--json",
                "--weights",
            ])
            .arg(&weights)
            .arg("--inputs")
            .arg(&inputs),
    );
    for (key, want_key) in [("states", "hidden"), ("outputs", "outputs")] {
        let got = got[key].as_array().unwrap();
        let want = fixture[want_key].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{key}");
        for (g, w) in got
            .iter()
            .zip(want)
            .flat_map(|(g, w)| g.as_array().unwrap().iter().zip(w.as_array().unwrap()))
        {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{key}: {g} vs {w}"
            );
        }
    }
    let bad: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--arch", "gru"], "shape"),
        (
            vec!["--arch", "lstm", "--precision", "int3"],
            "unknown precision",
        ),
        (vec!["--arch", "cnn"], "cnn"),
    ];
    for (args, msg) in bad {
        ccsep()
            .arg("run")
            .args(&args)
            .arg("--weights")
            .arg(&weights)
            .arg("--inputs")
            .arg(&inputs)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
    std::fs::write(&inputs, "[[1, 2], oops").unwrap();
    ccsep()
        .args(["run", "--arch", "lstm", "--weights"])
        .arg(&weights)
        .arg("--inputs")
        .arg(&inputs)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("JSON list"));
}

/// A random model at the largest sizes the flags allow (`--width 4096 --layers 64`: about
/// 69 GB of LSTM weights; a Transformer as wide with 4096 heads) is refused with the memory
/// estimate and what to lower, before any weight is drawn (it used to abort).
#[test]
fn the_largest_random_models_are_refused_with_the_estimate() {
    for (arch, heads) in [("lstm", None), ("gru", None), ("transformer", Some("4096"))] {
        let mut cmd = ccsep();
        cmd.args([
            "check",
            "--task",
            "index",
            "--arch",
            arch,
            "--init",
            "random",
            "--width",
            "4096",
            "--layers",
            "64",
            "--precision",
            "f32",
            "--n",
            "4",
        ]);
        if let Some(h) = heads {
            cmd.args(["--heads", h]);
        }
        cmd.assert()
            .code(2)
            .stderr(predicate::str::contains("GiB of memory"))
            .stderr(predicate::str::contains("--width"))
            .stderr(predicate::str::contains("--layers"));
    }
}

/// `--depth` at its largest is Dyck with no effective bound (m ≥ N/2): the same examples as
/// m = N/2 (it used to reserve m stack slots and abort).
#[test]
fn tasks_sample_takes_the_largest_depth_bound() {
    let run = |depth: &str| {
        success_stdout(ccsep().args([
            "tasks", "sample", "--task", "dyck", "--n", "12", "--count", "20", "--depth", depth,
        ]))
    };
    let bounded = run("6");
    assert_eq!(run("4294967295"), bounded);
    assert_eq!(run("18446744073709551615"), bounded);
}

/// The GF(2) ranks have a work limit like the other measures: over it they are `null`, not
/// exact, and the limit says which flag raises it (EQ_15 and EQ_16 used to run for minutes).
#[test]
fn gf2_rank_over_its_limit_is_not_computed() {
    let v = success_json(ccsep().args(["cc", "eq", "--n", "8", "--json", "--gf2-work", "10"]));
    assert!(v["rank_gf2"].is_null(), "{v}");
    assert!(v["rank_gf2_complement"].is_null(), "{v}");
    assert_eq!(v["exact"]["rank_gf2"], false);
    let hit = v["limits_hit"].to_string();
    assert!(
        hit.contains("GF(2) rank") && hit.contains("--gf2-work"),
        "{hit}"
    );
    // The rational ranks still give the rank bound, and D is still settled.
    assert_eq!(v["rank_rational"], 256);
    assert_eq!(v["deterministic_cc"], 9);
    let full = success_json(ccsep().args(["cc", "eq", "--n", "8", "--json"]));
    assert_eq!(full["rank_gf2"], 256);
    assert_eq!(full["exact"]["rank_gf2"], true);
    let table = success_stdout(ccsep().args(["cc", "eq", "--n", "8", "--gf2-work", "10"]));
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("not computed (limit)"), "{table}");
}

/// `--threads` far above the cores is refused with the largest accepted (10000 threads made
/// `cc eq --n 3` take minutes).
#[test]
fn threads_far_above_the_cores_are_refused() {
    ccsep()
        .args(["--threads", "10000", "cc", "eq", "--n", "3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--threads 10000"))
        .stderr(predicate::str::contains("at most --threads"));
}

/// `construct index-lookup` obeys `--max-work` (it used to ignore it and keep its own 2e12).
#[test]
fn construct_index_lookup_obeys_max_work() {
    ccsep()
        .args([
            "construct",
            "index-lookup",
            "--n",
            "64",
            "--max-work",
            "1000",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("multiply-adds"))
        .stderr(predicate::str::contains("--max-work"));
}

#[test]
fn cr_only_line_endings_keep_the_rows_apart() {
    // Before, a file with lone \r line ends was read as one row (2x4 as 1x8), exit 0.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cr.txt");
    std::fs::write(&path, "1010\r0101\r").unwrap();
    let v = success_json(ccsep().args(["cc", "--json", "--matrix"]).arg(&path));
    assert_eq!((v["rows"].as_u64(), v["cols"].as_u64()), (Some(2), Some(4)));
}

#[test]
fn devices_and_binary_files_are_refused_at_their_first_bad_byte() {
    // Before, /dev/urandom as a matrix, inputs or weights file was read without end, and
    // /dev/zero until memory ran out. The timeout only turns such a hang into a failure; the
    // refusals take milliseconds.
    let hang_guard = std::time::Duration::from_secs(120);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let weights = root.join("lstm_f64.safetensors");
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("x.json");
    std::fs::write(&inputs, "[[1, 2, 3, 4]]").unwrap();
    for dev in ["/dev/zero", "/dev/urandom"] {
        if !std::path::Path::new(dev).exists() {
            continue;
        }
        // /dev/zero's first byte is bad; /dev/urandom's is a matrix character ('0', '1', a
        // blank, '#', a line end) about 3% of the time, so only the refusal is certain there.
        let refused = ccsep()
            .args(["cc", "--matrix", dev])
            .timeout(hang_guard)
            .assert()
            .code(2);
        if dev == "/dev/zero" {
            refused.stderr(predicate::str::contains("line 1, column 1"));
        }
        ccsep()
            .args(["run", "--arch", "lstm", "--inputs", dev, "--weights"])
            .arg(&weights)
            .timeout(hang_guard)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("JSON list"));
        ccsep()
            .args(["run", "--arch", "lstm", "--weights", dev, "--inputs"])
            .arg(&inputs)
            .timeout(hang_guard)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a valid safetensors file"));
    }
    let binary = dir.path().join("m.bin");
    std::fs::write(&binary, b"01\n1\xff\n").unwrap();
    ccsep()
        .args(["cc", "--matrix"])
        .arg(&binary)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "line 2, column 2: unexpected byte 0xff",
        ));
}

#[test]
fn a_truncated_weights_file_says_so() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bytes = std::fs::read(root.join("lstm_f64.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let inputs = dir.path().join("x.json");
    std::fs::write(&inputs, "[[1, 2, 3, 4]]").unwrap();
    ccsep()
        .args(["run", "--arch", "lstm", "--weights"])
        .arg(&cut)
        .arg("--inputs")
        .arg(&inputs)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("truncated"));
}

#[test]
fn run_refuses_flags_its_architecture_does_not_read() {
    // Before, `run` ignored them (where `check` refuses them) and exited 0.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("x.json");
    std::fs::write(&inputs, "[[1, 2, 3, 4]]").unwrap();
    let cases: [(&str, &str, [&str; 2], &str); 3] = [
        (
            "lstm",
            "lstm_f64",
            ["--nonlinearity", "relu"],
            "--nonlinearity applies to an rnn",
        ),
        (
            "rnn",
            "rnn_relu_f64",
            ["--heads", "2"],
            "--heads applies to a transformer",
        ),
        (
            "gru",
            "gru_f64",
            ["--heads", "1"],
            "--heads applies to a transformer",
        ),
    ];
    for (arch, file, flag, msg) in cases {
        ccsep()
            .args(["run", "--arch", arch])
            .args(flag)
            .arg("--weights")
            .arg(root.join(format!("{file}.safetensors")))
            .arg("--inputs")
            .arg(&inputs)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
    // An empty sequence printed nothing with exit 0.
    std::fs::write(&inputs, "[]").unwrap();
    ccsep()
        .args(["run", "--arch", "lstm", "--weights"])
        .arg(root.join("lstm_f64.safetensors"))
        .arg("--inputs")
        .arg(&inputs)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at least one step"));
}

#[test]
fn tasks_sample_refuses_count_zero() {
    ccsep()
        .args([
            "tasks", "sample", "--task", "dyck", "--n", "4", "--count", "0",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--count 1 or more"));
}

#[test]
fn unwritable_outputs_are_refused_before_the_work_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/w.json");
    ccsep()
        .args([
            "check",
            "--task",
            "index",
            "--arch",
            "rnn",
            "--init",
            "random",
            "--n",
            "3",
            "--precision",
            "fixed:1.1",
            "--witness-out",
        ])
        .arg(&missing)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--witness-out").and(predicate::str::contains("exists")));
    ccsep()
        .args(["construct", "equality", "--n", "4", "--save"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--save").and(predicate::str::contains("is a directory")));
    if std::path::Path::new("/proc/self").is_dir() {
        ccsep()
            .args(["cc", "eq", "--n", "3", "--certify", "/proc"])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("--certify /proc"));
    }
    // A construction without a model is refused on --save before it is built (here --n 0 would
    // have been the first complaint, after the build started).
    ccsep()
        .args(["construct", "vectors", "--n", "0", "--save"])
        .arg(dir.path().join("v.safetensors"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to --save"));
    // --out too, before a --construct model is built to learn its precision.
    ccsep()
        .args(["check", "--construct", "dyck-rnn", "--n", "8", "--out"])
        .arg(dir.path().join("no/such/dir/g.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out").and(predicate::str::contains("exists")));
    let file = dir.path().join("f.txt");
    std::fs::write(&file, "x").unwrap();
    ccsep()
        .args(["cc", "eq", "--n", "2", "--certify"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a directory"));
    // The probe leaves nothing behind when the run then writes nothing (here: a bad task).
    let w = dir.path().join("w.json");
    ccsep()
        .args([
            "check",
            "--task",
            "nope",
            "--arch",
            "rnn",
            "--init",
            "random",
            "--n",
            "2",
            "--precision",
            "f64",
            "--witness-out",
        ])
        .arg(&w)
        .assert()
        .code(2);
    assert!(!w.exists());
}

#[test]
fn reversed_and_overlong_ranges_say_so() {
    let check = [
        "check",
        "--task",
        "index",
        "--arch",
        "rnn",
        "--init",
        "random",
        "--n",
        "3",
        "--precision",
        "f32",
    ];
    ccsep()
        .args(check)
        .args(["--width", "16..1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reversed").and(predicate::str::contains("1..16")));
    ccsep()
        .args(check)
        .args(["--width", "1..10000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("10000 values").and(predicate::str::contains("split")));
    ccsep()
        .args(["construct", "vectors", "--curve", "10..4"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reversed").and(predicate::str::contains("4..10")));
}

#[test]
fn a_corrupt_line_in_the_middle_of_a_results_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.jsonl");
    let grid = [
        "check",
        "--task",
        "index",
        "--arch",
        "rnn",
        "--init",
        "random",
        "--n",
        "2",
        "--precision",
        "fixed:1.1,fixed:1.2",
        "--out",
    ];
    ccsep().args(grid).arg(&out).assert().success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 2);
    // A torn last line (a killed run): cut off with a note, and its point runs again.
    let first = text.lines().next().unwrap();
    std::fs::write(&out, format!("{first}\n{}", &first[..first.len() / 2])).unwrap();
    ccsep()
        .args(grid)
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("line 2").and(predicate::str::contains("cut off")));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    // The same torn bytes in the middle: corruption, refused by line, the file untouched.
    let lines: Vec<&str> = text.lines().collect();
    let corrupt = format!("{}\n{}\n{}\n", lines[0], &lines[1][..10], lines[1]);
    std::fs::write(&out, &corrupt).unwrap();
    ccsep()
        .args(grid)
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), corrupt);
}

/// A witness of a random RNN on index-lookup, n = 8, at `prec`, written by `ccsep check`.
fn witness_file(dir: &std::path::Path, prec: &str) -> (std::path::PathBuf, serde_json::Value) {
    let path = dir.join(format!("w-{}.json", prec.replace(':', "-")));
    ccsep()
        .args([
            "check",
            "--task",
            "index",
            "--arch",
            "rnn",
            "--width",
            "2",
            "--n",
            "8",
            "--init",
            "random",
            "--seed",
            "1",
            "--precision",
            prec,
            "--witness-out",
        ])
        .arg(&path)
        .assert()
        .success();
    let v = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (path, v)
}

/// Writes `v` next to `dir` as `name` and runs `ccsep verify` on it.
fn verify_value(
    dir: &std::path::Path,
    name: &str,
    v: &serde_json::Value,
) -> assert_cmd::assert::Assert {
    let path = dir.join(name);
    std::fs::write(&path, v.to_string()).unwrap();
    ccsep()
        .arg("verify")
        .arg(&path)
        // A guard against a runaway build, not a measure of speed: the refusals are instant.
        .timeout(std::time::Duration::from_secs(120))
        .assert()
}

/// A witness's precision is rebuilt from its format. Its `max` edited
/// to 0 made `verify` accept a false witness against a correct construction (index-lookup,
/// n = 8, fixed:2.1); -1, 1e12 and 1e300 panicked or aborted in the kernel; formats the command
/// line refuses were accepted. Each is now bad input (exit 2) naming the field, and nothing is
/// accepted.
#[test]
fn verify_refuses_a_forged_witness_precision() {
    let dir = tempfile::tempdir().unwrap();
    let (good, w) = witness_file(dir.path(), "fixed:2.1");
    ccsep().arg("verify").arg(&good).assert().success();
    let mut forged = w.clone();
    forged["model"] = serde_json::json!({"kind": "construct", "name": "index-lookup", "n": 8,
        "seed": 0, "precision": "fixed:2.1"});
    forged["precision"]["max"] = serde_json::json!(0.0);
    forged["answers"] = serde_json::json!([false, false]);
    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("max0", forged),
        ("max-neg", {
            let mut v = w.clone();
            v["precision"]["max"] = serde_json::json!(-1);
            v
        }),
        ("max-1e12", {
            let mut v = w.clone();
            v["precision"]["max"] = serde_json::json!(1e12);
            v
        }),
        ("max-1e300", {
            let mut v = w.clone();
            v["precision"]["max"] = serde_json::json!(1e300);
            v
        }),
        ("float-0-3", {
            let mut v = w.clone();
            v["precision"]["format"] = serde_json::json!({"kind": "float", "exp_bits": 0,
                "man_bits": 3, "finite_only": false});
            v
        }),
        ("fixed-huge", {
            let mut v = w.clone();
            v["precision"]["format"]["int_bits"] = serde_json::json!(4_294_967_295u64);
            v
        }),
        ("paper-with-max", {
            let mut v = w.clone();
            v["precision"]["format"] = serde_json::json!({"kind": "paper", "k": 2});
            v
        }),
    ];
    for (name, v) in edits {
        verify_value(dir.path(), &format!("{name}.json"), &v)
            .code(2)
            .stdout(predicate::str::contains("ACCEPTED").not())
            .stderr(predicate::str::contains("field `precision` of"))
            .stderr(predicate::str::contains("--precision").not());
    }
}

/// A `paper:K` witness records `max: null` (the unresolved grid has no largest value); it
/// could not be read back before. It verifies at the grid `ccsep check` resolved, and says so.
#[test]
fn verify_reads_back_a_paper_witness() {
    let dir = tempfile::tempdir().unwrap();
    let (path, w) = witness_file(dir.path(), "paper:1");
    assert!(w["precision"]["max"].is_null(), "{w}");
    ccsep()
        .arg("verify")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("ACCEPTED"))
        .stdout(predicate::str::contains("paper:1 (N = 9)"));
}

/// A witness is checked against its task before its model is built. A
/// construction for another task or another n (equality at n = 32768 started building), or a
/// random model over the memory limit, is bad input found at once; so are inputs out of range.
#[test]
fn verify_checks_a_witness_before_building_its_model() {
    let dir = tempfile::tempdir().unwrap();
    let (_, w) = witness_file(dir.path(), "fixed:2.1");
    let with = |key: &str, value: serde_json::Value| {
        let mut v = w.clone();
        v[key] = value;
        v
    };
    let cases = vec![
        (
            with(
                "model",
                serde_json::json!({"kind": "construct", "name": "equality", "n": 32768, "seed": 0}),
            ),
            "field `model.name`",
        ),
        (
            with(
                "model",
                serde_json::json!({"kind": "construct", "name": "index-lookup", "n": 32768, "seed": 0}),
            ),
            "field `model.n`",
        ),
        (
            with(
                "model",
                serde_json::json!({"kind": "random", "arch": "lstm", "width": 4096,
                "layers": 64, "output": 1, "seed": 1}),
            ),
            "verify --max-memory",
        ),
        (
            with(
                "model",
                serde_json::json!({"kind": "weights", "arch": "rnn", "path": "/dev/zero"}),
            ),
            "field `model.path`",
        ),
        (with("x_prime", serde_json::json!(256)), "field `x_prime`"),
        (with("n", serde_json::json!(0)), "field `n`"),
        (with("task", serde_json::json!("nope")), "field `task`"),
    ];
    for (v, msg) in cases {
        verify_value(dir.path(), "w.json", &v)
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
}

/// A certificate is sized before its matrix is built, with the
/// checker's working copies, and refused with the estimate and a flag `verify` has; its fields
/// are named, not the flags of `cc`. A one-way certificate relabelled to INDEX_29 built a 4 GiB
/// matrix (and a copy) and aborted.
#[test]
fn verify_sizes_a_certificate_before_building_it() {
    let dir = tempfile::tempdir().unwrap();
    ccsep()
        .args(["cc", "index", "--n", "6", "--certify"])
        .arg(dir.path())
        .assert()
        .success();
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(name)).unwrap()).unwrap()
    };
    let mut big = read("one_way_alice_to_bob.json");
    big["problem"] = serde_json::json!({"kind": "index", "n": 29});
    verify_value(dir.path(), "big.json", &big)
        .code(2)
        .stderr(predicate::str::contains("ccsep verify --max-memory"))
        .stderr(predicate::str::contains("INDEX_29"));
    let mut zero = read("rank_gf2.json");
    zero["problem"]["n"] = serde_json::json!(0);
    verify_value(dir.path(), "zero.json", &zero)
        .code(2)
        .stderr(predicate::str::contains("field `problem.n` of"))
        .stderr(predicate::str::contains("--n").not());
    // Relabelled within the limit: the claim's shape is wrong for INDEX_20, found from the
    // sizes (a false claim, exit 1).
    let mut relabelled = read("one_way_alice_to_bob.json");
    relabelled["problem"] = serde_json::json!({"kind": "index", "n": 20});
    verify_value(dir.path(), "relabelled.json", &relabelled)
        .code(1)
        .stdout(predicate::str::contains("message_of has 64 entries"));
    // A rank of 100,000 on a 64 x 6 matrix is refused before its minor is allocated.
    let mut rank = read("rank_rational.json");
    rank["claim"]["rank"] = serde_json::json!(100_000);
    rank["claim"]["basis_rows"] = serde_json::json!((0..100_000).collect::<Vec<u64>>());
    rank["claim"]["pivot_cols"] = serde_json::json!((0..100_000).collect::<Vec<u64>>());
    verify_value(dir.path(), "rank.json", &rank)
        .code(1)
        .stdout(predicate::str::contains("rank at most 6"));
    // The limit is verify's own flag.
    ccsep()
        .args(["verify", "--max-memory", "1000"])
        .arg(dir.path().join("rank_gf2.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ccsep verify --max-memory"));
}

/// `verify` reads a device with a bound: `/dev/zero` (whose size reads as 0) is refused at its
/// first byte (it used to be read until memory ran out); a file whose size is over
/// `--max-memory / 8` before it is read.
#[test]
fn verify_refuses_endless_files_at_once() {
    if !std::path::Path::new("/dev/zero").exists() {
        return;
    }
    ccsep()
        .args(["verify", "/dev/zero"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not JSON"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("braces.json");
    std::fs::write(&path, "{".repeat(10_000)).unwrap();
    ccsep()
        .args(["verify", "--max-memory", "8000"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-memory"));
}

/// A failed write to standard output (a full device) is an error message, not `print!`'s panic
/// (exit 101); the work's own exit code rules are unchanged otherwise.
#[test]
fn a_full_standard_output_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ccsep"))
        .args(["cc", "eq", "--n", "3"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not write to standard output") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// Flags that size a random model are refused with a model that has its own sizes, and
/// `construct --out` without `--curve`, instead of being silently ignored.
#[test]
fn flags_a_model_does_not_read_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("d.safetensors");
    ccsep()
        .args(["construct", "dyck-rnn", "--n", "8", "--save"])
        .arg(&weights)
        .assert()
        .success();
    for extra in [["--layers", "2"], ["--outputs", "2"], ["--heads", "2"]] {
        ccsep()
            .args([
                "check",
                "--task",
                "dyck-halves",
                "--arch",
                "rnn",
                "--n",
                "8",
            ])
            .args(["--precision", "f32", "--weights"])
            .arg(&weights)
            .args(extra)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("own sizes"));
    }
    ccsep()
        .args([
            "check",
            "--construct",
            "dyck-rnn",
            "--n",
            "8",
            "--heads",
            "2",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("own sizes"));
    ccsep()
        .args(["construct", "index-lookup", "--n", "8", "--out"])
        .arg(dir.path().join("x.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--curve"));
}

/// A grid with a width of 0 is refused before any point runs (it used to run the other points,
/// then write an error line for width 0 that every rerun wrote again).
#[test]
fn a_zero_width_in_a_grid_is_refused_before_it_runs() {
    ccsep()
        .args([
            "check", "--task", "index", "--arch", "gru", "--init", "random", "--n", "4",
        ])
        .args(["--precision", "fixed:1.2", "--width", "0..2"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("at least 1"));
}

/// A matrix no machine could hold is refused without suggesting a `--max-memory` that clap
/// cannot even parse (IP_40 used to suggest 151115727451828646838272).
#[test]
fn an_impossible_matrix_suggests_a_smaller_n_only() {
    ccsep()
        .args(["cc", "ip", "--n", "40"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("choose a smaller --n"))
        .stderr(predicate::str::contains("--max-memory").not());
}

#[test]
fn a_grid_point_error_in_the_out_file_spells_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.jsonl");
    ccsep()
        .args([
            "check", "--task", "index", "--arch", "rnn", "--width", "1,5000",
        ])
        .args([
            "--precision",
            "f32",
            "--n",
            "2",
            "--init",
            "random",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(2);
    let text = std::fs::read_to_string(&out).unwrap();
    let error = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find_map(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .expect("the width-5000 point has an error line");
    assert!(
        error.starts_with("--width 5000, --layers 1, --outputs 1: "),
        "{error:?}"
    );
    assert!(!error.contains(['\u{F8F0}', '\u{F8F1}']), "{error:?}");
}

/// A file with both marker keys is neither: refused, where the witness reading used to win.
#[test]
fn verify_refuses_a_file_that_claims_to_be_both() {
    let dir = tempfile::tempdir().unwrap();
    let (good, w) = witness_file(dir.path(), "fixed:2.1");
    ccsep().arg("verify").arg(&good).assert().success();
    let mut both = w.clone();
    both["ccsep_certificate"] = serde_json::json!(1);
    verify_value(dir.path(), "both.json", &both)
        .code(2)
        .stderr(predicate::str::contains(
            "has both `ccsep_witness` and `ccsep_certificate`",
        ));
}
