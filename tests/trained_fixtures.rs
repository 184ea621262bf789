//! Checkpoints written the way people write them, against PyTorch: the trained fixtures of
//! `tests/fixtures/make_trained_fixtures.py` (an `nn.Embedding` + `nn.LSTM` + `nn.Linear`
//! named `fc`, and an `nn.TransformerEncoder` of one post-LN GELU layer with an embedding
//! table, a positional table and a head named `classifier`, each `state_dict()` saved with
//! safetensors, no ccsep metadata). PyTorch is not needed to run this test.
//!
//! ccsep loads them without renaming; its forward pass equals PyTorch's at `f64` (relative
//! 1e-12, normwise per position) and at `f32` (relative 1e-5), and `ccsep check --task index
//! --n 6` scores exactly as PyTorch does over the same 384 instances (the script stores
//! PyTorch's count, every decision at least 1e-3 from a tie).

use std::path::PathBuf;

use assert_cmd::Command;
use ccsep::model::{self, LoadOptions};
use ccsep::numeric::{Precision, Stats};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    /// The `--names` list the model needs (what its state dict does not record).
    names: Option<String>,
    task: String,
    n: u32,
    inputs: Vec<Vec<Vec<f64>>>,
    /// PyTorch float32's outputs at every position of each input.
    outputs: Vec<Vec<Vec<f64>>>,
    /// The same in float64.
    exact: Vec<Vec<Vec<f64>>>,
    check: Check,
}

#[derive(Deserialize)]
struct Check {
    instances: u64,
    correct_f32: u64,
    correct_f64: u64,
}

const FIXTURES: [(&str, &str); 2] = [("trained_lstm", "lstm"), ("trained_encoder", "transformer")];

fn path(name: &str, ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.{ext}"))
}

fn fixture(name: &str) -> Fixture {
    serde_json::from_str(&std::fs::read_to_string(path(name, "json")).unwrap()).unwrap()
}

fn options(fx: &Fixture) -> LoadOptions {
    match &fx.names {
        Some(list) => LoadOptions::default().with_names(list).unwrap(),
        None => LoadOptions::default(),
    }
}

fn ccsep() -> Command {
    Command::cargo_bin("ccsep").unwrap()
}

#[test]
fn the_forward_pass_equals_pytorchs_at_f64_and_f32() {
    for (name, arch) in FIXTURES {
        let fx = fixture(name);
        let m = model::load(arch, &path(name, "safetensors"), &options(&fx))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.input_size(), 2 + fx.n as usize, "{name}: one-hot tokens");
        for (prec, torch, tol) in [("f64", &fx.exact, 1e-12), ("f32", &fx.outputs, 1e-5)] {
            for (inputs, want) in fx.inputs.iter().zip(torch) {
                let mut st = Stats::default();
                let prec = Precision::parse(prec).unwrap();
                let got = m.forward(inputs, &prec, &mut st).unwrap().outputs;
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(want) {
                    let scale = w.iter().fold(f64::MIN_POSITIVE, |a, y| a.max(y.abs()));
                    let err = g
                        .iter()
                        .zip(w)
                        .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
                    assert!(err <= tol * scale, "{name} {prec:?}: {g:?} vs {w:?}");
                }
            }
        }
    }
}

#[test]
fn ccsep_check_scores_as_pytorch_does() {
    for (name, arch) in FIXTURES {
        let fx = fixture(name);
        for (prec, want) in [("f32", fx.check.correct_f32), ("f64", fx.check.correct_f64)] {
            let mut cmd = ccsep();
            cmd.args([
                "check",
                "--arch",
                arch,
                "--task",
                &fx.task,
                "--precision",
                prec,
            ])
            .args(["--n", &fx.n.to_string(), "--json", "--weights"])
            .arg(path(name, "safetensors"));
            if let Some(list) = &fx.names {
                cmd.args(["--names", list]);
            }
            let out = cmd.assert().success().get_output().stdout.clone();
            let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(report["instances"], fx.check.instances, "{name} {prec}");
            assert_eq!(report["correct"], want, "{name} {prec}");
            // The report records the --names list, so that a witness re-runs the same model.
            assert_eq!(
                report["model"].get("names").and_then(|v| v.as_str()),
                fx.names.as_deref(),
                "{name}"
            );
        }
        // Trained, not perfect: the score tells this model from a constant one.
        assert!(fx.check.correct_f32 < fx.check.instances);
        assert!(fx.check.correct_f32 * 3 > fx.check.instances * 2);
    }
}

/// What a PyTorch encoder's state dict does not record is asked for by name (exit 2).
#[test]
fn an_encoder_without_its_settings_is_refused_with_the_settings_needed() {
    let out = ccsep()
        .args([
            "check",
            "--arch",
            "transformer",
            "--task",
            "index",
            "--n",
            "6",
        ])
        .args(["--precision", "f32", "--weights"])
        .arg(path("trained_encoder", "safetensors"))
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    for s in [
        "--names",
        "heads=H",
        "norm-first=",
        "activation=",
        "causal=",
    ] {
        assert!(err.contains(s), "{err}");
    }
}

/// A file whose embedding and head have unusual names of the same shape: the error lists the
/// candidates and asks for `--names`; with it, `ccsep run` reads one-hot tokens of the table's
/// size.
#[test]
fn unusual_names_are_named_with_names() {
    use ccsep::model::weights::TensorWriter;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.safetensors");
    let mut w = TensorWriter::new();
    let vals = |n: usize| {
        (0..n)
            .map(|i| (i as f64 * 0.7).cos() / 2.0)
            .collect::<Vec<_>>()
    };
    w.tensor("enc.tok.weight", vec![5, 4], &vals(20));
    w.tensor("cell.weight_ih_l0", vec![12, 4], &vals(48));
    w.tensor("cell.weight_hh_l0", vec![12, 4], &vals(48));
    w.tensor("cls.weight", vec![2, 4], &vals(8));
    w.write(&file).unwrap();
    let inputs = dir.path().join("in.json");
    std::fs::write(&inputs, "[[0,0,1,0,0],[1,0,0,0,0]]").unwrap();
    let run = |names: Option<&str>| {
        let mut cmd = ccsep();
        cmd.args([
            "run",
            "--arch",
            "gru",
            "--precision",
            "f64",
            "--json",
            "--weights",
        ])
        .arg(&file)
        .arg("--inputs")
        .arg(&inputs);
        if let Some(n) = names {
            cmd.args(["--names", n]);
        }
        cmd.assert()
    };
    let err = run(None).code(2).get_output().stderr.clone();
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains("'enc.tok.weight'") && err.contains("--names"),
        "{err}"
    );
    let out = run(Some("embedding=enc.tok,head=cls"))
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["outputs"][1].as_array().unwrap().len(), 2);
    // A role nothing in the file has lists the tensors there with their shapes.
    let err = run(Some("embedding=emb,head=cls"))
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains("cls.weight [2, 4]") && err.contains("enc.tok.weight [5, 4]"),
        "{err}"
    );
}

/// A witness of a checkpoint loaded with `--names` records the list, and `ccsep verify`
/// rebuilds the same model from it; the same file without the list is refused on re-run.
#[test]
fn a_witness_carries_the_names_it_was_loaded_with() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.json");
    ccsep()
        .args(["check", "--arch", "lstm", "--task", "index", "--n", "6"])
        .args([
            "--precision",
            "fixed:0.2",
            "--names",
            "embedding=embedding,head=fc",
        ])
        .arg("--weights")
        .arg(path("trained_lstm", "safetensors"))
        .arg("--witness-out")
        .arg(&w)
        .assert()
        .success();
    let text = std::fs::read_to_string(&w).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["model"]["names"], "embedding=embedding,head=fc");
    ccsep().arg("verify").arg(&w).assert().success();
    // Naming no embedding makes another model (8 inputs, not 6+2 one-hot tokens read
    // through the table): the re-run cannot build it for the task.
    let other = text.replace("embedding=embedding,head=fc", "embedding=none,head=fc");
    std::fs::write(&w, other).unwrap();
    ccsep().arg("verify").arg(&w).assert().code(2);
}

/// `ccsep run` refuses a setting given both by its own flag and in `--names`.
#[test]
fn a_setting_given_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in.json");
    std::fs::write(&inputs, "[[0,0,1,0,0,0,0,0]]").unwrap();
    let err = ccsep()
        .args([
            "run",
            "--arch",
            "lstm",
            "--prefix",
            "rnn.",
            "--names",
            "layers=rnn",
        ])
        .arg("--weights")
        .arg(path("trained_lstm", "safetensors"))
        .arg("--inputs")
        .arg(&inputs)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("--prefix") && err.contains("--names"), "{err}");
    // Either alone reads the same model.
    for extra in [["--prefix", "rnn."], ["--names", "layers=rnn"]] {
        ccsep()
            .args(["run", "--arch", "lstm"])
            .args(extra)
            .arg("--weights")
            .arg(path("trained_lstm", "safetensors"))
            .arg("--inputs")
            .arg(&inputs)
            .assert()
            .success();
    }
}
