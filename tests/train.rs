//! `ccsep train` as a user runs it: a run's JSON line and weights, TOML configs with flags over
//! them, refusals (exit 2), resuming a run exactly, Ctrl-C, a width search.

use predicates::prelude::*;

mod common;
use common::{ccsep, success_json, success_stdout};

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

const SMALL: &[&str] = &[
    "train",
    "--task",
    "index",
    "--n",
    "4",
    "--arch",
    "lstm",
    "--width",
    "8",
    "--batch",
    "16",
    "--eval-size",
    "32",
];

#[test]
fn a_run_prints_one_json_line_and_saves_its_best_weights() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.safetensors");
    let got = lines(&success_stdout(
        ccsep()
            .args(SMALL)
            .args(["--steps", "30", "--eval-every", "10", "--out"])
            .arg(&out),
    ));
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r["steps"], 30);
    assert_eq!(r["seed"], 0);
    assert_eq!(r["config"]["width"], 8);
    assert!(["completed", "reached"].contains(&r["status"].as_str().unwrap()));
    assert_eq!(r["weights"], out.display().to_string());
    for key in [
        "wall_s",
        "best_accuracy",
        "final_accuracy",
        "parameters",
        "best_step",
    ] {
        assert!(r.get(key).is_some(), "{key} missing from {r}");
    }
    assert!(out.exists());
    assert!(dir.path().join("w.safetensors.ckpt").exists());
}

#[test]
fn a_toml_config_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        "task = 'dyck'\nn = 8\narch = 'gru'\nwidth = 6\nsteps = 500\neval_every = 5\nbatch = 8\neval_size = 16\nlr = 0.003\n",
    )
    .unwrap();
    let got = lines(&success_stdout(
        ccsep()
            .arg("train")
            .arg("--config")
            .arg(&cfg)
            .args(["--steps", "10", "--out"])
            .arg(dir.path().join("w.safetensors")),
    ));
    let c = &got[0]["config"];
    assert_eq!(
        (c["task"].as_str(), c["arch"].as_str()),
        (Some("dyck"), Some("gru"))
    );
    assert_eq!(
        (c["width"].as_u64(), c["steps"].as_u64()),
        (Some(6), Some(10))
    );
    assert_eq!(c["lr"], 0.003);
}

#[test]
fn bad_configs_exit_2_and_say_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "task = 'index'\nn = 4\narch = 'lstm'\nwidht = 8\n").unwrap();
    ccsep()
        .arg("train")
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("widht"));
    for (args, says) in [
        (
            &["train", "--task", "index", "--n", "4"][..],
            "needs --arch",
        ),
        (
            &[
                "train",
                "--task",
                "index",
                "--n",
                "4",
                "--arch",
                "transformer",
                "--width",
                "8",
                "--heads",
                "3",
            ],
            "--heads 3 does not divide --width 8",
        ),
        (
            &[
                "train", "--task", "index", "--n", "4", "--arch", "lstm", "--lr=-1",
            ],
            "--lr",
        ),
        (
            &[
                "train",
                "--task",
                "index",
                "--n",
                "4",
                "--arch",
                "lstm",
                "--optimizer",
                "sgd",
            ],
            "adam or adamw",
        ),
        (
            &["train", "--task", "nope", "--n", "4", "--arch", "lstm"],
            "unknown task",
        ),
        (
            &[
                "train", "--task", "index", "--n", "4", "--arch", "lstm", "--width", "4096",
                "--layers", "16",
            ],
            "parameters",
        ),
        (&["train", "--preset", "paper-huge"], "unknown preset"),
        (
            &[
                "train", "--task", "index", "--n", "4", "--arch", "lstm", "--seeds", "1,2",
            ],
            "--widths",
        ),
    ] {
        ccsep()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    ccsep()
        .args(SMALL)
        .arg("--resume")
        .arg("--out")
        .arg(dir.path().join("none.safetensors"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("none.safetensors.ckpt"));
}

#[test]
fn a_resumed_run_continues_exactly_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, steps: &str, resume: bool| {
        let out = dir.path().join(name);
        let mut cmd = ccsep();
        cmd.args(SMALL)
            .args([
                "--decay",
                "none",
                "--eval-every",
                "10",
                "--target",
                "1.0",
                "--steps",
                steps,
                "--out",
            ])
            .arg(&out);
        if resume {
            cmd.arg("--resume");
        }
        let r = lines(&success_stdout(&mut cmd)).remove(0);
        (
            r,
            std::fs::read(dir.path().join(format!("{name}.ckpt"))).unwrap(),
        )
    };
    let (straight, straight_ckpt) = run("a.safetensors", "40", false);
    run("b.safetensors", "20", false);
    let (resumed, resumed_ckpt) = run("b.safetensors", "40", true);
    assert_eq!(resumed["resumed_from"], 20);
    assert_eq!(resumed["steps"], 40);
    assert_eq!(resumed["final_loss"], straight["final_loss"]);
    assert!(
        straight_ckpt == resumed_ckpt,
        "the resumed run's state differs from the straight run's"
    );
}

#[test]
fn a_width_search_prints_every_run_then_its_answer() {
    let got = lines(&success_stdout(ccsep().args([
        "--threads",
        "2",
        "train",
        "--task",
        "index",
        "--n",
        "3",
        "--arch",
        "transformer",
        "--widths",
        "2,4",
        "--lrs",
        "0.01",
        "--seeds",
        "0,1",
        "--steps",
        "20",
        "--eval-every",
        "10",
        "--batch",
        "8",
        "--eval-size",
        "16",
    ])));
    let (runs, summary) = got.split_at(got.len() - 1);
    let summary = &summary[0];
    assert_eq!(summary["kind"], "min_width");
    let searched = summary["widths"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * searched.len());
    match summary["min_width"].as_u64() {
        Some(w) => assert_eq!(w, searched.last().unwrap()["width"].as_u64().unwrap()),
        None => assert_eq!(searched.len(), 2),
    }
    assert!(runs.iter().all(|r| r.get("status").is_some()));
}

#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_best_weights_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.safetensors");
    let bin = assert_cmd::cargo::cargo_bin("ccsep");
    let child = std::process::Command::new(&bin)
        .args(SMALL)
        .args([
            "--steps",
            "10000000",
            "--eval-every",
            "20",
            "--target",
            "1.0",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first evaluation to have written the weights, then interrupt.
    let t0 = std::time::Instant::now();
    while !out.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let r = lines(&output.stdout).remove(0);
    assert_eq!(r["status"], "interrupted");
    assert_eq!(r["weights"], out.display().to_string());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--resume"));
    let stopped = r["steps"].as_u64().unwrap();
    let more = (stopped + 5).to_string();
    let resumed = lines(&success_stdout(
        ccsep()
            .args(SMALL)
            .args([
                "--steps",
                &more,
                "--eval-every",
                "20",
                "--target",
                "1.0",
                "--resume",
                "--out",
            ])
            .arg(&out),
    ))
    .remove(0);
    assert_eq!(resumed["resumed_from"].as_u64(), Some(stopped));
}

/// A trained model is read by `check` as it was trained: a recall model answers with a value
/// token (one output per vocabulary token), so a model trained to every instance right is
/// scored right on every instance of the protocol too.
#[test]
fn check_reads_a_trained_model_as_training_scored_it() {
    let dir = tempfile::tempdir().unwrap();
    for (train_args, check_args) in [
        (
            &[
                "--task", "recall", "--n", "3", "--values", "2", "--arch", "lstm", "--width", "16",
            ][..],
            &["--task", "recall", "--arch", "lstm", "--n", "3"][..],
        ),
        (
            &[
                "--task",
                "index",
                "--n",
                "4",
                "--arch",
                "transformer",
                "--width",
                "8",
            ][..],
            &["--task", "index", "--arch", "transformer", "--n", "4"][..],
        ),
    ] {
        let out = dir.path().join("m.safetensors");
        let r = success_json(
            ccsep()
                .arg("train")
                .args(train_args)
                .args([
                    "--lr", "0.01", "--steps", "3000", "--target", "1.0", "--out",
                ])
                .arg(&out),
        );
        assert_eq!(r["status"], "reached", "{r}");
        let c = success_json(
            ccsep()
                .arg("check")
                .args(check_args)
                .args(["--precision", "f32", "--json", "--weights"])
                .arg(&out),
        );
        assert_eq!(c["accuracy"], 1.0, "{train_args:?}: {c}");
    }
}

/// The committed `paper-small` results are complete (every search ends in its summary) and a
/// rerun over them skips every search: nothing is trained, every summary is printed again.
#[test]
fn the_committed_preset_results_are_complete_and_a_rerun_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plots/data");
    let mut n = 0;
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("paper-small-") {
            std::fs::copy(&p, dir.path().join(&name)).unwrap();
            n += 1;
        }
    }
    assert_eq!(n, 19, "the preset has 19 searches");
    let got = lines(&success_stdout(
        ccsep()
            .args(["train", "--preset", "paper-small", "--out-dir"])
            .arg(dir.path()),
    ));
    assert_eq!(got.len(), 19);
    assert!(got.iter().all(|s| s["kind"] == "min_width"));
    let lstm = got
        .iter()
        .find(|s| s["task"] == "equality" && s["arch"] == "lstm" && s["n"] == 8)
        .unwrap();
    assert_eq!(lstm["min_width"], 8);
}
