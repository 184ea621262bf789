//! Named sets of width searches that reproduce the paper's comparisons at CPU scale.
//!
//! `paper-small`: index lookup (one-layer Transformer against the LSTM and the diagonal SSM as
//! N grows), Dyck-(2,2) (LSTM against the one-layer Transformer) and string equality with
//! random negatives (LSTM against one- and two-layer Transformers), each a smallest-width
//! search over a small width, learning-rate and seed grid, sized to finish within 30 minutes on
//! two cores. ccsep's diagonal SSM is linear from the one-hot inputs to its output (`C h_t`
//! with `h_t = Σ a^k B x_{t−k}`), and index lookup is not linearly separable, so its "not
//! reached" there reflects the architecture, not its width. Each search writes its run records and its summary as JSON lines to its own file,
//! so a rerun skips the searches whose file already ends in a summary.

use super::config::TrainConfig;
use super::search::SearchSpec;

/// One search of a preset.
#[derive(Clone, Debug)]
pub struct PresetSearch {
    /// File stem under the output folder (`<name>.jsonl`, e.g. `paper-small-index-n8-lstm-l1`).
    pub name: String,
    pub base: TrainConfig,
    pub spec: SearchSpec,
}

/// Names `preset` accepts.
pub const PRESETS: &[&str] = &["paper-small"];

fn base(task: &str, n: usize, arch: &str, layers: usize, steps: u64) -> TrainConfig {
    let mut c = TrainConfig::new(task, n, arch);
    c.layers = layers;
    c.steps = steps;
    c.target = 0.99;
    c.eval_every = 100;
    c.eval_size = 512;
    c.warmup = 50;
    c
}

/// The searches of a preset, or `None` for an unknown name.
pub fn preset(name: &str, jobs: usize) -> Option<Vec<PresetSearch>> {
    if name != "paper-small" {
        return None;
    }
    let widths = vec![4, 8, 16, 32, 64];
    let spec = |lrs: &[f64]| SearchSpec {
        widths: widths.clone(),
        lrs: lrs.to_vec(),
        seeds: vec![0],
        jobs,
    };
    let mut out = Vec::new();
    let mut add = |task: &str, n: usize, arch: &str, layers: usize, steps: u64, lrs: &[f64]| {
        out.push(PresetSearch {
            name: format!("paper-small-{task}-n{n}-{arch}-l{layers}"),
            base: base(task, n, arch, layers, steps),
            spec: spec(lrs),
        });
    };
    for n in [8, 16, 32] {
        add("index", n, "transformer", 1, 2000, &[3e-3, 1e-2]);
        add("index", n, "lstm", 1, 2000, &[3e-3, 1e-2]);
        add("index", n, "ssm", 1, 2000, &[3e-3, 1e-2]);
    }
    for n in [16, 32] {
        add("dyck", n, "lstm", 1, 2000, &[3e-3, 1e-2]);
        add("dyck", n, "transformer", 1, 2000, &[3e-3, 1e-2]);
    }
    for n in [8, 16] {
        add("equality", n, "lstm", 1, 2000, &[3e-3, 1e-2]);
        add("equality", n, "transformer", 1, 2000, &[3e-3, 1e-2]);
        add("equality", n, "transformer", 2, 2000, &[3e-3, 1e-2]);
    }
    Some(out)
}
