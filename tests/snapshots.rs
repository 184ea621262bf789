//! What a user sees, pinned: every subcommand's table and JSON on a corpus of small commands.
//!
//! Each case runs the real binary and snapshots its exit code, stdout and stderr together
//! (`tests/snapshots/`). A refactor that changes any of them fails here; a deliberate change is
//! reviewed with `cargo insta review` (or by reading the `.snap.new` file insta writes) and
//! committed with the code that made it. Temporary paths are written as `[tmp]` and the
//! repository's own path as `[repo]`, so the snapshots do not depend on where the tests run.

use std::path::{Path, PathBuf};

/// The `ccsep` binary of this build.
fn ccsep() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("ccsep").expect("the ccsep binary builds")
}

/// One command of the corpus: `{tmp}` in an argument is a fresh temporary folder shared by the
/// steps of one case, `{repo}` the repository root, and an argument ending in `/*.json` is
/// expanded to the sorted JSON files of that folder (as a shell would).
struct Step<'a> {
    args: &'a [&'a str],
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expand(arg: &str, tmp: &Path) -> Vec<String> {
    let arg = arg
        .replace("{tmp}", tmp.to_str().unwrap())
        .replace("{repo}", repo().to_str().unwrap());
    match arg.strip_suffix("/*.json") {
        Some(dir) => {
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{dir}: {e}"))
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .map(|p| p.to_str().unwrap().to_string())
                .collect();
            files.sort();
            files
        }
        None => vec![arg],
    }
}

/// Runs the steps of one case in one temporary folder and returns what a user saw, in order.
fn transcript(steps: &[Step]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = String::new();
    for step in steps {
        let args: Vec<String> = step
            .args
            .iter()
            .flat_map(|a| expand(a, tmp.path()))
            .collect();
        let shown: Vec<&str> = step.args.to_vec();
        let out = ccsep()
            .current_dir(repo())
            .env("NO_COLOR", "1")
            .args(&args)
            .output()
            .unwrap();
        let text = format!(
            "$ ccsep {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            shown.join(" "),
            out.status
                .code()
                .map_or("signal".to_string(), |c| c.to_string()),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        seen.push_str(
            &text
                .replace(tmp.path().to_str().unwrap(), "[tmp]")
                .replace(repo().to_str().unwrap(), "[repo]"),
        );
        seen.push('\n');
    }
    seen
}

/// Snapshots every case of a group under `GROUP__CASE`.
fn pin(group: &str, cases: &[(&str, &[Step])]) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(repo().join("tests/snapshots"));
    // Wall-clock seconds are the only part of an output that may differ between runs.
    settings.add_filter(r"\b\d+(\.\d+)? ?(s|ms|µs) (wall|elapsed)\b", "[time]");
    settings.add_filter(
        r#""(seconds|wall_s|elapsed_s)": ?[0-9.e-]+"#,
        r#""$1": [time]"#,
    );
    settings.bind(|| {
        for (name, steps) in cases {
            insta::assert_snapshot!(format!("{group}__{name}"), transcript(steps));
        }
    });
}

macro_rules! steps {
    ($([$($arg:expr),* $(,)?]),* $(,)?) => {
        &[$(Step { args: &[$($arg),*] }),*]
    };
}

#[test]
fn cc_outputs() {
    pin(
        "cc",
        &[
            ("eq3_table", steps![["cc", "eq", "--n", "3"]]),
            ("eq3_json", steps![["cc", "eq", "--n", "3", "--json"]]),
            ("index4_table", steps![["cc", "index", "--n", "4"]]),
            ("index5_json", steps![["cc", "index", "--n", "5", "--json"]]),
            ("disj2_table", steps![["cc", "disj", "--n", "2"]]),
            ("gt2_json", steps![["cc", "gt", "--n", "2", "--json"]]),
            ("ip2_table", steps![["cc", "ip", "--n", "2"]]),
            (
                "matrix_table",
                steps![["cc", "--matrix", "proofs/matrices/search-needed.txt"]],
            ),
            (
                "matrix_json",
                steps![[
                    "cc",
                    "--matrix",
                    "proofs/matrices/search-needed.txt",
                    "--json"
                ]],
            ),
            (
                "certify_then_verify",
                steps![
                    ["cc", "eq", "--n", "3", "--certify", "{tmp}/eq3"],
                    ["verify", "{tmp}/eq3/*.json"],
                    ["verify", "--json", "{tmp}/eq3/*.json"],
                ],
            ),
            (
                "verify_committed",
                steps![["verify", "{repo}/proofs/certificates/gt3/*.json"]],
            ),
        ],
    );
}

#[test]
fn run_outputs() {
    pin(
        "run",
        &[
            (
                "rnn_table",
                steps![[
                    "run",
                    "--arch",
                    "rnn",
                    "--weights",
                    "tests/fixtures/rnn_tanh_f32.safetensors",
                    "--precision",
                    "fixed:2.6",
                    "--inputs",
                    "tests/fixtures/inputs/rnn_tanh.json"
                ]],
            ),
            (
                "lstm_table",
                steps![[
                    "run",
                    "--arch",
                    "lstm",
                    "--weights",
                    "tests/fixtures/lstm_f32.safetensors",
                    "--precision",
                    "bf16",
                    "--inputs",
                    "tests/fixtures/inputs/lstm.json"
                ]],
            ),
            (
                "lstm_json",
                steps![[
                    "run",
                    "--arch",
                    "lstm",
                    "--weights",
                    "tests/fixtures/lstm_f32.safetensors",
                    "--precision",
                    "e4m3",
                    "--inputs",
                    "tests/fixtures/inputs/lstm.json",
                    "--json"
                ]],
            ),
            (
                "gru_table",
                steps![[
                    "run",
                    "--arch",
                    "gru",
                    "--weights",
                    "tests/fixtures/gru_f32.safetensors",
                    "--precision",
                    "paper:4",
                    "--inputs",
                    "tests/fixtures/inputs/gru.json"
                ]],
            ),
            (
                "ssm_table",
                steps![[
                    "run",
                    "--arch",
                    "ssm",
                    "--weights",
                    "tests/fixtures/ssm_f32.safetensors",
                    "--precision",
                    "f16",
                    "--inputs",
                    "tests/fixtures/inputs/ssm.json"
                ]],
            ),
            (
                "linear_attention_json",
                steps![[
                    "run",
                    "--arch",
                    "linear-attention",
                    "--weights",
                    "tests/fixtures/linear_attention_f32.safetensors",
                    "--precision",
                    "f32",
                    "--inputs",
                    "tests/fixtures/inputs/linear_attention.json",
                    "--json"
                ]],
            ),
            (
                "transformer1_table",
                steps![[
                    "run",
                    "--arch",
                    "transformer",
                    "--weights",
                    "tests/fixtures/transformer1_f32.safetensors",
                    "--precision",
                    "float:5.7",
                    "--rounding",
                    "down",
                    "--inputs",
                    "tests/fixtures/inputs/transformer1.json"
                ]],
            ),
            (
                "transformer2_json",
                steps![[
                    "run",
                    "--arch",
                    "transformer",
                    "--weights",
                    "tests/fixtures/transformer2_f32.safetensors",
                    "--precision",
                    "f32",
                    "--accumulate",
                    "format",
                    "--inputs",
                    "tests/fixtures/inputs/transformer2.json",
                    "--json"
                ]],
            ),
        ],
    );
}

#[test]
fn check_outputs() {
    pin(
        "check",
        &[
            (
                "index_lstm_table",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "lstm",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.2",
                    "--n",
                    "6",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "index_lstm_json",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "lstm",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.2",
                    "--n",
                    "6",
                    "--init",
                    "random",
                    "--seed",
                    "1",
                    "--json"
                ]],
            ),
            (
                "index_rnn_two_layers",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "rnn",
                    "--width",
                    "3",
                    "--layers",
                    "2",
                    "--precision",
                    "fixed:2.3",
                    "--n",
                    "5",
                    "--init",
                    "random",
                    "--seed",
                    "2"
                ]],
            ),
            (
                "index_gru_outputs2_json",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "gru",
                    "--width",
                    "2",
                    "--outputs",
                    "2",
                    "--precision",
                    "bf16",
                    "--n",
                    "5",
                    "--init",
                    "random",
                    "--seed",
                    "3",
                    "--json"
                ]],
            ),
            (
                "index_ssm",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "ssm",
                    "--width",
                    "3",
                    "--precision",
                    "fixed:2.2",
                    "--n",
                    "5",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "index_linear_attention",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "linear-attention",
                    "--width",
                    "2",
                    "--precision",
                    "e5m2",
                    "--n",
                    "5",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "equality_lstm",
                steps![[
                    "check",
                    "--task",
                    "equality",
                    "--arch",
                    "lstm",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.3",
                    "--n",
                    "3",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "disjointness_gru_json",
                steps![[
                    "check",
                    "--task",
                    "disj",
                    "--arch",
                    "gru",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.3",
                    "--n",
                    "3",
                    "--init",
                    "random",
                    "--seed",
                    "4",
                    "--json"
                ]],
            ),
            (
                "recall_rnn",
                steps![[
                    "check",
                    "--task",
                    "recall",
                    "--arch",
                    "rnn",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.2",
                    "--n",
                    "3",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "mqar_lstm_json",
                steps![[
                    "check",
                    "--task",
                    "mqar",
                    "--arch",
                    "lstm",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.2",
                    "--n",
                    "3",
                    "--init",
                    "random",
                    "--seed",
                    "1",
                    "--json"
                ]],
            ),
            (
                "dyck_transformer_table",
                steps![[
                    "check",
                    "--task",
                    "dyck",
                    "--arch",
                    "transformer",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.2",
                    "--n",
                    "6",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "dyck_transformer_json",
                steps![[
                    "check",
                    "--task",
                    "dyck",
                    "--arch",
                    "transformer",
                    "--width",
                    "2",
                    "--precision",
                    "e4m3",
                    "--accumulate",
                    "format",
                    "--n",
                    "6",
                    "--init",
                    "random",
                    "--seed",
                    "1",
                    "--json"
                ]],
            ),
            (
                "index_transformer_two_heads",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "transformer",
                    "--width",
                    "4",
                    "--heads",
                    "2",
                    "--precision",
                    "fixed:2.2",
                    "--n",
                    "4",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "dyck_halves_rnn",
                steps![[
                    "check",
                    "--task",
                    "dyck-halves",
                    "--arch",
                    "rnn",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.2",
                    "--n",
                    "6",
                    "--init",
                    "random",
                    "--seed",
                    "1"
                ]],
            ),
            (
                "sampled",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "gru",
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.2",
                    "--n",
                    "8",
                    "--init",
                    "random",
                    "--seed",
                    "1",
                    "--sample",
                    "5"
                ]],
            ),
            (
                "grid_json_lines",
                steps![
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "gru",
                        "--width",
                        "1..2",
                        "--precision",
                        "fixed:1.1,fixed:1.2",
                        "--n",
                        "4",
                        "--init",
                        "random",
                        "--seed",
                        "1",
                        "--out",
                        "{tmp}/grid.jsonl"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "gru",
                        "--width",
                        "1..3",
                        "--precision",
                        "fixed:1.1,fixed:1.2",
                        "--n",
                        "4",
                        "--init",
                        "random",
                        "--seed",
                        "1",
                        "--out",
                        "{tmp}/grid.jsonl"
                    ],
                ],
            ),
            (
                "construct_dyck_rnn",
                steps![["check", "--construct", "dyck-rnn", "--n", "8"]],
            ),
            (
                "construct_index_lookup_json",
                steps![["check", "--construct", "index-lookup", "--n", "4", "--json"]],
            ),
            (
                "construct_index_rnn",
                steps![["check", "--construct", "index-rnn", "--n", "6"]],
            ),
            (
                "witness_then_verify",
                steps![
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "lstm",
                        "--width",
                        "2",
                        "--precision",
                        "fixed:1.2",
                        "--n",
                        "6",
                        "--init",
                        "random",
                        "--seed",
                        "1",
                        "--witness-out",
                        "{tmp}/w.json"
                    ],
                    ["verify", "{tmp}/w.json"],
                    ["verify", "--json", "{tmp}/w.json"],
                ],
            ),
        ],
    );
}

/// Precision sweeps (`check --precision A..B`): a table row per point and the sweep's verdict,
/// or the point lines and one summary line in JSON; saved models and random ones, sampled,
/// resumed from `--out`, and refused.
#[test]
fn sweep_outputs() {
    pin(
        "sweep",
        &[
            (
                "recurrent_weights",
                steps![
                    [
                        "construct",
                        "index-rnn",
                        "--n",
                        "6",
                        "--save",
                        "{tmp}/m.safetensors"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--weights",
                        "{tmp}/m.safetensors",
                        "--n",
                        "6",
                        "--precision",
                        "fixed:0.1..fixed:0.4"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--weights",
                        "{tmp}/m.safetensors",
                        "--n",
                        "6",
                        "--precision",
                        "fixed:0.1..fixed:0.4",
                        "--json"
                    ],
                ],
            ),
            (
                "transformer_weights",
                steps![
                    [
                        "construct",
                        "index-lookup",
                        "--n",
                        "4",
                        "--save",
                        "{tmp}/t.safetensors"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "transformer",
                        "--weights",
                        "{tmp}/t.safetensors",
                        "--n",
                        "4",
                        "--precision",
                        "fixed:2.1..fixed:2.6"
                    ],
                ],
            ),
            (
                "random_float_widths",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "gru",
                    "--init",
                    "random",
                    "--width",
                    "2,6",
                    "--n",
                    "6",
                    "--precision",
                    "float:3.1..float:3.4"
                ]],
            ),
            (
                "sampled_paper",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "lstm",
                    "--init",
                    "random",
                    "--width",
                    "3",
                    "--n",
                    "8",
                    "--precision",
                    "paper:1..paper:2",
                    "--sample",
                    "3"
                ]],
            ),
            (
                "resumed",
                steps![
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--init",
                        "random",
                        "--n",
                        "4",
                        "--precision",
                        "fixed:1.1..fixed:1.2",
                        "--out",
                        "{tmp}/s.jsonl"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--init",
                        "random",
                        "--n",
                        "4",
                        "--precision",
                        "fixed:1.1..fixed:1.4",
                        "--out",
                        "{tmp}/s.jsonl",
                        "--json"
                    ],
                ],
            ),
            (
                "refused",
                steps![
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--init",
                        "random",
                        "--n",
                        "4",
                        "--precision",
                        "fixed:1.1..float:8.3"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--init",
                        "random",
                        "--n",
                        "4",
                        "--precision",
                        "fixed:1.1.."
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--init",
                        "random",
                        "--n",
                        "4",
                        "--precision",
                        "float:8.20..float:8.60"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "lstm",
                        "--init",
                        "random",
                        "--n",
                        "40",
                        "--precision",
                        "fixed:1.1..fixed:1.8"
                    ],
                ],
            ),
        ],
    );
}

#[test]
fn tasks_outputs() {
    pin(
        "tasks",
        &[
            (
                "index",
                steps![[
                    "tasks", "sample", "--task", "index", "--n", "6", "--count", "3"
                ]],
            ),
            (
                "index_alphabet_json",
                steps![[
                    "tasks",
                    "sample",
                    "--task",
                    "index",
                    "--n",
                    "5",
                    "--alphabet",
                    "4",
                    "--count",
                    "2",
                    "--json"
                ]],
            ),
            (
                "recall",
                steps![[
                    "tasks", "sample", "--task", "recall", "--n", "3", "--count", "3"
                ]],
            ),
            (
                "dyck",
                steps![[
                    "tasks", "sample", "--task", "dyck", "--n", "12", "--count", "4"
                ]],
            ),
            (
                "equality_copy",
                steps![[
                    "tasks",
                    "sample",
                    "--task",
                    "equality",
                    "--n",
                    "4",
                    "--variant",
                    "copy",
                    "--count",
                    "3"
                ]],
            ),
            (
                "disjointness_json",
                steps![[
                    "tasks",
                    "sample",
                    "--task",
                    "disjointness",
                    "--n",
                    "5",
                    "--count",
                    "3",
                    "--json"
                ]],
            ),
            (
                "nearest",
                steps![[
                    "tasks", "sample", "--task", "nearest", "--n", "3", "--dim", "4", "--count",
                    "2"
                ]],
            ),
            (
                "dyck_bijection",
                steps![
                    ["tasks", "dyck-bijection", "--n", "6"],
                    ["tasks", "dyck-bijection", "--n", "4", "--json"]
                ],
            ),
            (
                "nearest_margin",
                steps![
                    [
                        "tasks",
                        "nearest-margin",
                        "--n",
                        "8",
                        "--dim",
                        "4",
                        "--margin",
                        "0.5"
                    ],
                    [
                        "tasks",
                        "nearest-margin",
                        "--n",
                        "8",
                        "--dim",
                        "4",
                        "--json"
                    ],
                    // 2/4 < 0.6: the check fails, exit code 1.
                    [
                        "tasks",
                        "nearest-margin",
                        "--n",
                        "8",
                        "--dim",
                        "4",
                        "--margin",
                        "0.6"
                    ]
                ],
            ),
        ],
    );
}

#[test]
fn construct_outputs() {
    pin(
        "construct",
        &[
            ("vectors", steps![["construct", "vectors", "--n", "100"]]),
            (
                "vectors_json",
                steps![[
                    "construct",
                    "vectors",
                    "--n",
                    "50",
                    "--gamma",
                    "0.3",
                    "--json"
                ]],
            ),
            (
                "index_lookup_table",
                steps![["construct", "index-lookup", "--n", "8"]],
            ),
            (
                "index_lookup_json",
                steps![["construct", "index-lookup", "--n", "6", "--json"]],
            ),
            (
                "equality_table",
                steps![["construct", "equality", "--n", "4"]],
            ),
            (
                "disjointness_table",
                steps![["construct", "disjointness", "--n", "4"]],
            ),
            (
                "disjointness_json",
                steps![["construct", "disjointness", "--n", "3", "--json"]],
            ),
            (
                "nearest_table",
                steps![["construct", "nearest", "--n", "4"]],
            ),
            (
                "dyck_rnn_table",
                steps![["construct", "dyck-rnn", "--n", "8"]],
            ),
            (
                "index_rnn_json",
                steps![["construct", "index-rnn", "--n", "8", "--json"]],
            ),
            (
                "index_rnn_curve",
                steps![["construct", "index-rnn", "--curve", "2..3"]],
            ),
            (
                "dyck_rnn_curve",
                steps![["construct", "dyck-rnn", "--curve", "2..3"]],
            ),
            (
                "equality_curve",
                steps![["construct", "equality", "--curve", "1..2"]],
            ),
            (
                "at_a_precision",
                steps![[
                    "construct",
                    "index-lookup",
                    "--n",
                    "4",
                    "--precision",
                    "fixed:3.3"
                ]],
            ),
            (
                "save_then_run",
                steps![
                    [
                        "construct",
                        "dyck-rnn",
                        "--n",
                        "4",
                        "--save",
                        "{tmp}/dyck.safetensors"
                    ],
                    [
                        "check",
                        "--weights",
                        "{tmp}/dyck.safetensors",
                        "--arch",
                        "rnn",
                        "--task",
                        "dyck-halves",
                        "--n",
                        "4",
                        "--precision",
                        "fixed:4.0"
                    ],
                ],
            ),
        ],
    );
}

#[test]
fn refusals() {
    pin(
        "refuse",
        &[
            ("cc_n_too_large", steps![["cc", "eq", "--n", "99"]]),
            ("cc_unknown_problem", steps![["cc", "xor", "--n", "3"]]),
            (
                "threads_too_many",
                steps![["--threads", "100000", "cc", "eq", "--n", "2"]],
            ),
            (
                "check_unknown_arch",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "cnn",
                    "--precision",
                    "f32",
                    "--n",
                    "4",
                    "--init",
                    "random"
                ]],
            ),
            (
                "check_bad_precision",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "rnn",
                    "--precision",
                    "fixed:0.0",
                    "--n",
                    "4",
                    "--init",
                    "random"
                ]],
            ),
            (
                "check_dyck_needs_transformer",
                steps![[
                    "check",
                    "--task",
                    "dyck",
                    "--arch",
                    "lstm",
                    "--precision",
                    "f32",
                    "--n",
                    "6",
                    "--init",
                    "random"
                ]],
            ),
            (
                "check_construct_with_arch",
                steps![[
                    "check",
                    "--construct",
                    "dyck-rnn",
                    "--arch",
                    "rnn",
                    "--n",
                    "8"
                ]],
            ),
            (
                "construct_unknown",
                steps![["construct", "lookup", "--n", "8"]],
            ),
            (
                "construct_gamma_unused",
                steps![["construct", "nearest", "--n", "8", "--gamma", "0.2"]],
            ),
            (
                "construct_gamma_out_of_range",
                steps![["construct", "vectors", "--n", "8", "--gamma", "1.5"]],
            ),
            (
                "verify_missing_file",
                steps![["verify", "{tmp}/nothing.json"]],
            ),
            ("verify_not_json", steps![["verify", "{repo}/Cargo.toml"]]),
            (
                "run_missing_weights",
                steps![[
                    "run",
                    "--arch",
                    "lstm",
                    "--weights",
                    "{tmp}/none.safetensors",
                    "--inputs",
                    "tests/fixtures/inputs/lstm.json"
                ]],
            ),
            (
                "tasks_unknown",
                steps![["tasks", "sample", "--task", "sorting", "--n", "4"]],
            ),
            (
                "tasks_premises_sizes",
                steps![
                    ["tasks", "dyck-bijection", "--n", "7"],
                    ["tasks", "dyck-bijection", "--n", "16"],
                    ["tasks", "nearest-margin", "--n", "17", "--dim", "4"],
                    ["tasks", "nearest-margin", "--n", "8", "--margin", "0"]
                ],
            ),
            (
                "check_over_limit_suggests_sample",
                steps![[
                    "check",
                    "--task",
                    "equality",
                    "--arch",
                    "transformer",
                    "--precision",
                    "f32",
                    "--n",
                    "16",
                    "--init",
                    "random"
                ]],
            ),
            (
                "grid_point_errors",
                steps![
                    [
                        "check",
                        "--task",
                        "equality",
                        "--arch",
                        "transformer",
                        "--width",
                        "1,2",
                        "--precision",
                        "f32",
                        "--n",
                        "16",
                        "--init",
                        "random"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--width",
                        "1,5000",
                        "--precision",
                        "f32",
                        "--n",
                        "2",
                        "--init",
                        "random",
                        "--out",
                        "{tmp}/grid.jsonl"
                    ],
                    [
                        "check",
                        "--task",
                        "index",
                        "--arch",
                        "rnn",
                        "--width",
                        "5000",
                        "--precision",
                        "f32",
                        "--n",
                        "2",
                        "--init",
                        "random"
                    ],
                ],
            ),
            (
                "check_construct_default_width_given",
                steps![[
                    "check",
                    "--construct",
                    "dyck-rnn",
                    "--n",
                    "8",
                    "--width",
                    "2"
                ]],
            ),
            (
                "check_weights_layers_given",
                steps![[
                    "check",
                    "--task",
                    "index",
                    "--arch",
                    "lstm",
                    "--weights",
                    "tests/fixtures/lstm_f32.safetensors",
                    "--precision",
                    "f32",
                    "--n",
                    "4",
                    "--layers",
                    "1"
                ]],
            ),
            (
                "verify_over_memory",
                steps![[
                    "verify",
                    "--max-memory",
                    "100",
                    "tests/fixtures/gru_f32.json"
                ]],
            ),
        ],
    );
}

#[test]
fn paper_outputs() {
    pin(
        "paper",
        &[
            ("quick_list", steps![["paper", "--quick", "--list"]]),
            ("full_list", steps![["paper", "--list"]]),
        ],
    );
}
