//! Tests of training: gradients reach every parameter, runs are reproducible, a tiny model
//! learns, and bad configs are refused.

use super::config::TrainConfig;
use super::data::{Stream, batch};
use super::net::NetShape;
use super::params::Params;
use super::run::{RunOptions, Status, prepare, train};
use crate::model::Arch;

fn cfg(task: &str, n: usize, arch: Arch) -> TrainConfig {
    let mut c = TrainConfig::new(task, n, arch.name());
    c.width = 8;
    c.embed = if arch == Arch::Transformer {
        None
    } else {
        Some(6)
    };
    c.layers = if matches!(arch, Arch::Ssm | Arch::LinearAttention) {
        1
    } else {
        2
    };
    c.heads = if arch == Arch::Transformer { 2 } else { 1 };
    c.batch = 8;
    c.eval_size = 16;
    c
}

fn shape_of(c: &TrainConfig) -> NetShape {
    let (_, s) = prepare(c).unwrap();
    s
}

#[test]
fn every_parameter_receives_a_gradient() {
    for arch in Arch::ALL {
        for task in ["index", "recall"] {
            let c = cfg(task, 4, arch);
            let (t, shape) = prepare(&c).unwrap();
            let params = Params::init(&shape, 1).unwrap();
            let batch = batch(&t, Stream::Train, 1, 0, 8, shape.length).unwrap();
            let out = shape.forward(&|n| params.get(n), &batch.tokens).unwrap();
            let loss = out.sqr().unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            for (name, var) in params.vars() {
                let g = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{} {task}: {name} has no gradient", arch.name()));
                let norm: f32 = g.sqr().unwrap().sum_all().unwrap().to_scalar().unwrap();
                assert!(
                    norm > 0.0 && norm.is_finite(),
                    "{} {task}: {name} has gradient norm {norm}",
                    arch.name()
                );
            }
        }
    }
}

#[test]
fn same_seed_gives_the_same_weights_and_run() {
    let mut c = cfg("index", 4, Arch::Lstm);
    c.steps = 5;
    c.eval_every = 5;
    let run = |c: &TrainConfig| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("w.safetensors");
        let r = train(
            c,
            &RunOptions {
                out: Some(out.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        (r.final_loss, std::fs::read(out).unwrap())
    };
    let a = run(&c);
    assert_eq!(a, run(&c));
    c.seed = 1;
    assert_ne!(a.1, run(&c).1, "another seed gives other weights");
}

#[test]
fn initialisation_follows_the_seed() {
    let c = cfg("dyck", 4, Arch::Transformer);
    let s = shape_of(&c);
    let a = Params::init(&s, 3).unwrap();
    let b = Params::init(&s, 3).unwrap();
    let d = Params::init(&s, 4).unwrap();
    for (name, _) in a.vars() {
        assert_eq!(a.values(name).unwrap(), b.values(name).unwrap());
    }
    assert_ne!(
        a.values("head.weight").unwrap(),
        d.values("head.weight").unwrap()
    );
}

#[test]
fn a_small_lstm_learns_index_lookup() {
    let mut c = TrainConfig::new("index", 4, "lstm");
    c.width = 16;
    c.steps = 1500;
    c.lr = 1e-2;
    c.eval_every = 100;
    c.target = 0.99;
    let r = train(&c, &RunOptions::default()).unwrap();
    assert_eq!(r.status, Status::Reached, "{r:?}");
}

#[test]
fn a_huge_learning_rate_is_recorded_as_diverged_not_a_crash() {
    let mut c = cfg("index", 4, Arch::Rnn);
    c.nonlinearity = "relu".into();
    c.lr = 10.0;
    c.clip = 0.0;
    c.steps = 300;
    c.warmup = 0;
    c.decay = super::config::Decay::None;
    let r = train(&c, &RunOptions::default()).unwrap();
    assert!(
        matches!(r.status, Status::Diverged | Status::Completed),
        "{r:?}"
    );
}

#[test]
fn bad_configs_are_refused_before_building() {
    let mut c = cfg("index", 4, Arch::Transformer);
    c.heads = 3;
    assert!(
        prepare(&c)
            .unwrap_err()
            .to_string()
            .contains("--heads 3 does not divide --width 8")
    );
    let mut c = cfg("index", 4, Arch::Lstm);
    c.width = 0;
    assert!(
        prepare(&c)
            .unwrap_err()
            .to_string()
            .contains("--width 0 is out of range")
    );
    let c = cfg("nearest", 4, Arch::Lstm);
    assert!(prepare(&c).unwrap_err().to_string().contains("nearest"));
    let mut c = cfg("index", 4, Arch::Lstm);
    c.width = 4096;
    c.layers = 16;
    assert!(prepare(&c).unwrap_err().to_string().contains("parameters"));
    assert!(
        TrainConfig::from_toml(
            "task = 'index'\nn = 4\narch = 'lstm'\nwidht = 3\n",
            "x.toml"
        )
        .unwrap_err()
        .to_string()
        .contains("widht")
    );
    let t = TrainConfig::from_toml(
        "task = 'index'\nn = 4\narch = 'lstm'\nwidth = 3\n",
        "x.toml",
    )
    .unwrap();
    assert_eq!(t.width, 3);
}

/// ccsep's own forward pass at `f32` on the saved weights gives what candle computed, within
/// 1e-5, on every architecture: the trained network is the network ccsep checks.
#[test]
fn ccsep_forward_at_f32_equals_the_trained_network() {
    use crate::model::{LoadOptions, load};
    use crate::numeric::{Precision, Stats};
    use crate::task::generate_many;
    let f32p = Precision::parse("f32").unwrap();
    for arch in Arch::ALL {
        for task in ["index", "dyck", "recall"] {
            let mut c = cfg(task, 4, arch);
            c.steps = 20;
            c.eval_every = 20;
            c.lr = 1e-2;
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("w.safetensors");
            train(
                &c,
                &RunOptions {
                    out: Some(out.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
            let (t, shape) = prepare(&c).unwrap();
            let tensors = crate::model::weights::Tensors::read(&out).unwrap();
            let params = Params::from_tensors(&shape, &tensors).unwrap();
            let model = load(arch.name(), &out, &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{} {task}: {e}", arch.name()));
            let examples = generate_many(&t, 9, 0, 6);
            let tokens: Vec<u32> = examples.iter().flat_map(|e| e.tokens.clone()).collect();
            let batch = candle_core::Tensor::from_vec(
                tokens,
                (examples.len(), shape.length),
                &candle_core::Device::Cpu,
            )
            .unwrap();
            let theirs: Vec<Vec<Vec<f32>>> = shape
                .forward(&|n| params.get(n), &batch)
                .unwrap()
                .to_vec3()
                .unwrap();
            for (ex, want) in examples.iter().zip(&theirs) {
                let inputs = t.vocab().one_hot(&ex.tokens).unwrap();
                let trace = model
                    .forward(&inputs, &f32p, &mut Stats::default())
                    .unwrap();
                for (pos, (got, want)) in trace.outputs.iter().zip(want).enumerate() {
                    for (g, w) in got.iter().zip(want) {
                        let tol = 1e-5 * (1.0 + f64::from(w.abs()));
                        assert!(
                            (g - f64::from(*w)).abs() <= tol,
                            "{} {task}: position {pos}: ccsep {g} against candle {w}",
                            arch.name()
                        );
                    }
                }
            }
        }
    }
}
