//! ccsep's forward passes against PyTorch's, on the committed fixtures of
//! `tests/fixtures/make_fixtures.py` (PyTorch is not needed to run this test).
//!
//! At `f32` every state, hidden vector and output agrees with PyTorch float32 within a relative
//! 1e-5; at `f64` with PyTorch float64 within a relative 1e-12. "Relative" is normwise per step:
//! `max_i |ours_i − torch_i| ≤ tol · max_i |torch_i|`. Component by component, cancellation
//! makes `f32` noise look larger (a LayerNorm output `0.02 = 1.50 − 1.48` carries the rounding
//! of its terms): there the test checks instead that ccsep at `f32` is about as close to the
//! exact values (the fixture's float64 run of the same weights and inputs) as PyTorch `f32` is.

use std::path::PathBuf;

use ccsep::model::{self, LoadOptions, Trace};
use ccsep::numeric::{Precision, Stats};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    arch: String,
    inputs: Vec<Vec<f64>>,
    states: Vec<Vec<f64>>,
    hidden: Vec<Vec<f64>>,
    outputs: Vec<Vec<f64>>,
    /// The same weights and inputs run by PyTorch in float64.
    exact: Exact,
}

#[derive(Deserialize)]
struct Exact {
    states: Vec<Vec<f64>>,
    hidden: Vec<Vec<f64>>,
    outputs: Vec<Vec<f64>>,
}

const NAMES: [&str; 8] = [
    "rnn_tanh",
    "rnn_relu",
    "lstm",
    "gru",
    "ssm",
    "linear_attention",
    "transformer2",
    "transformer1",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The largest normwise relative error `max_i |a_i − b_i| / max_i |b_i|` over the steps of a
/// table, after checking its shape.
fn normwise(what: &str, ours: &[Vec<f64>], torch: &[Vec<f64>]) -> f64 {
    assert_eq!(ours.len(), torch.len(), "{what}: number of steps");
    let mut w = 0.0f64;
    for (t, (a, b)) in ours.iter().zip(torch).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: size at step {t}");
        let scale = b.iter().fold(f64::MIN_POSITIVE, |m, y| m.max(y.abs()));
        let err = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        w = w.max(err / scale);
    }
    w
}

/// The largest componentwise relative error `|a_i − b_i| / max(|b_i|, 0.01 · max_j |b_j|)`.
fn worst(what: &str, ours: &[Vec<f64>], torch: &[Vec<f64>]) -> f64 {
    assert_eq!(ours.len(), torch.len(), "{what}: number of steps");
    let mut w = 0.0f64;
    for (t, (a, b)) in ours.iter().zip(torch).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: size at step {t}");
        let scale = b.iter().fold(0.0f64, |m, y| m.max(y.abs()));
        for (x, y) in a.iter().zip(b) {
            w = w.max((x - y).abs() / y.abs().max(0.01 * scale).max(f64::MIN_POSITIVE));
        }
    }
    w
}

fn check(name: &str, dtype: &str, tol: f64) {
    let stem = format!("{name}_{dtype}");
    let fx: Fixture =
        serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{stem}.json"))).unwrap())
            .unwrap();
    let path = dir().join(format!("{stem}.safetensors"));
    let m = model::load(&fx.arch, &path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{stem}: {e}"));
    let prec = Precision::parse(dtype).unwrap();
    let mut stats = Stats::default();
    let tr: Trace = m.forward(&fx.inputs, &prec, &mut stats).unwrap();
    assert_eq!(stats, Stats::default(), "{stem}: nothing saturates");
    for (what, ours, torch, exact) in [
        ("states", &tr.states, &fx.states, &fx.exact.states),
        ("hidden", &tr.hidden, &fx.hidden, &fx.exact.hidden),
        ("outputs", &tr.outputs, &fx.outputs, &fx.exact.outputs),
    ] {
        let w = normwise(&format!("{stem} {what}"), ours, torch);
        assert!(w <= tol, "{stem} {what}: relative error {w:e} > {tol:e}");
        if dtype == "f64" {
            continue; // the float64 run is the exact one
        }
        let (ours_exact, torch_exact) = (worst(what, ours, exact), worst(what, torch, exact));
        assert!(
            ours_exact <= 4.0 * torch_exact + 1e-6,
            "{stem} {what}: componentwise from the exact values, ccsep {ours_exact:e}, PyTorch {torch_exact:e}"
        );
    }
}

#[test]
fn every_architecture_matches_pytorch_float32() {
    for name in NAMES {
        check(name, "f32", 1e-5);
    }
}

#[test]
fn every_architecture_matches_pytorch_float64() {
    for name in NAMES {
        check(name, "f64", 1e-12);
    }
}

/// The batched path (lane blocks, rayon) gives PyTorch's final outputs too.
#[test]
fn batched_final_outputs_match_pytorch() {
    for name in NAMES {
        let stem = format!("{name}_f32");
        let fx: Fixture = serde_json::from_str(
            &std::fs::read_to_string(dir().join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        let m = model::load(
            &fx.arch,
            &dir().join(format!("{stem}.safetensors")),
            &LoadOptions::default(),
        )
        .unwrap();
        let mut stats = Stats::default();
        let pm = m
            .prepare(&Precision::parse("f32").unwrap(), &mut stats)
            .unwrap();
        let batch = vec![fx.inputs.clone(); 20];
        let outs = pm.final_outputs(&batch, &mut stats).unwrap();
        let last = fx.outputs.last().unwrap().clone();
        let w = normwise(&stem, &outs, &vec![last; 20]);
        assert!(w <= 1e-5, "{stem}: relative error {w:e}");
    }
}
