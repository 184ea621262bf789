//! What one training run is: task, architecture, sizes, optimiser and schedule, read from flags
//! or a TOML file, validated before anything is built.
//!
//! Every field has a default except the task, `n` and the architecture; a TOML file holds the
//! same keys as the flags (with `_` for `-`). [`TrainConfig::validate`] refuses out-of-range
//! values with the setting's name and the range, before any model or batch is allocated.

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::model::{Arch, Nonlinearity};

use crate::task::{AnyTask, EqVariant, TaskOptions};

/// Largest width, embedding size or MLP width a training run accepts.
pub const MAX_WIDTH: usize = 4096;
/// Largest number of layers.
pub const MAX_LAYERS: usize = 16;
/// Largest batch.
pub const MAX_BATCH: usize = 65_536;
/// Most optimiser steps one run takes.
pub const MAX_STEPS: u64 = 10_000_000;
/// Most parameters a trained model may have (2^26, 256 MiB as f32 plus the optimiser's 2×).
pub const MAX_PARAMETERS: u128 = 1 << 26;
/// Most numbers in one batch's activations, roughly (batch × length × width × layers × 8).
pub const MAX_ACTIVATIONS: u128 = 1 << 30;

/// Adam (L2 penalty added to the gradient) or AdamW (decoupled weight decay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    Adamw,
}

/// How the learning rate falls after the warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decay {
    /// Constant after the warm-up.
    None,
    /// Linearly to 0 at the last step.
    Linear,
    /// Half a cosine to 0 at the last step.
    Cosine,
}

/// One training run. Field names are the TOML keys; the flags spell them with `-`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// `index`, `dyck`, `equality`, `recall` (`mqar` with `queries > 1`), `disjointness`.
    pub task: String,
    /// The task's length parameter (as `ccsep tasks sample --n`).
    pub n: usize,
    /// Index lookup / equality: alphabet size (index default 2 here: the INDEX instances
    /// `check` runs; the paper's experiments use 64).
    #[serde(default)]
    pub alphabet: Option<usize>,
    /// Dyck: bracket types (default 2).
    #[serde(default)]
    pub types: Option<usize>,
    /// Dyck: depth bound (default 2).
    #[serde(default)]
    pub depth: Option<usize>,
    /// Recall: distinct keys (default n).
    #[serde(default)]
    pub keys: Option<usize>,
    /// Recall: distinct values (default 64).
    #[serde(default)]
    pub values: Option<usize>,
    /// Recall: queries (default 1; more is MQAR).
    #[serde(default)]
    pub queries: Option<usize>,
    /// Equality: `random`, `one` or `copy` (next-token prediction of the copy).
    #[serde(default)]
    pub variant: Option<EqVariant>,
    /// `rnn`, `lstm`, `gru`, `ssm`, `linear-attention`, `transformer`.
    pub arch: String,
    /// Hidden size (state size for `ssm`, `d_model` for `transformer`, `d_k = d_v` for
    /// linear attention).
    #[serde(default = "default_width")]
    pub width: usize,
    /// Recurrent layers (rnn / lstm / gru) or Transformer layers.
    #[serde(default = "one")]
    pub layers: usize,
    /// Transformer heads (must divide `width`).
    #[serde(default = "one")]
    pub heads: usize,
    /// Embedding size (default: `width`).
    #[serde(default)]
    pub embed: Option<usize>,
    /// Transformer MLP width as a multiple of `width` (0: attention only).
    #[serde(default = "default_ff")]
    pub ff: usize,
    /// Elman RNN activation.
    #[serde(default = "default_nonlinearity")]
    pub nonlinearity: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    /// Peak learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default)]
    pub weight_decay: f64,
    /// Steps of linear warm-up from 0 to `lr`.
    #[serde(default)]
    pub warmup: u64,
    #[serde(default = "default_decay")]
    pub decay: Decay,
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Optimiser steps (the most; early stop may end sooner).
    #[serde(default = "default_steps")]
    pub steps: u64,
    /// Stop once the validation accuracy reaches this (1.0: every fresh example right).
    #[serde(default = "default_target")]
    pub target: f64,
    /// Evaluate every this many steps (and at the end).
    #[serde(default = "default_eval_every")]
    pub eval_every: u64,
    /// Fresh examples per evaluation.
    #[serde(default = "default_eval_size")]
    pub eval_size: usize,
    /// Clip the gradient's global L2 norm to this (0: no clipping).
    #[serde(default = "default_clip")]
    pub clip: f64,
}

fn default_width() -> usize {
    32
}
fn one() -> usize {
    1
}
fn default_ff() -> usize {
    4
}
fn default_nonlinearity() -> String {
    "tanh".to_string()
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adamw
}
fn default_lr() -> f64 {
    1e-3
}
fn default_decay() -> Decay {
    Decay::Cosine
}
fn default_batch() -> usize {
    64
}
fn default_steps() -> u64 {
    2000
}
fn default_target() -> f64 {
    1.0
}
fn default_eval_every() -> u64 {
    100
}
fn default_eval_size() -> usize {
    512
}
fn default_clip() -> f64 {
    1.0
}

impl TrainConfig {
    /// A config with every default, for `task`, `n` and `arch`.
    pub fn new(task: &str, n: usize, arch: &str) -> Self {
        TrainConfig {
            task: task.to_string(),
            n,
            alphabet: None,
            types: None,
            depth: None,
            keys: None,
            values: None,
            queries: None,
            variant: None,
            arch: arch.to_string(),
            width: default_width(),
            layers: 1,
            heads: 1,
            embed: None,
            ff: default_ff(),
            nonlinearity: default_nonlinearity(),
            seed: 0,
            optimizer: default_optimizer(),
            lr: default_lr(),
            weight_decay: 0.0,
            warmup: 0,
            decay: default_decay(),
            batch: default_batch(),
            steps: default_steps(),
            target: default_target(),
            eval_every: default_eval_every(),
            eval_size: default_eval_size(),
            clip: default_clip(),
        }
    }

    /// Reads a TOML file's text (`what` names it in messages).
    pub fn from_toml(text: &str, what: &str) -> Result<Self, InputError> {
        toml::from_str(text).map_err(|e| {
            InputError::new(format!(
                "{what} is not a valid training config: {}",
                e.to_string().trim_end()
            ))
        })
    }

    /// The architecture.
    pub fn arch(&self) -> Result<Arch, InputError> {
        Arch::parse(&self.arch)
    }

    /// The Elman RNN's activation.
    pub fn nonlinearity(&self) -> Result<Nonlinearity, InputError> {
        Nonlinearity::parse(&self.nonlinearity)
    }

    /// The task's settings beyond `n`.
    pub fn task_options(&self) -> TaskOptions {
        TaskOptions {
            alphabet: match self.task.as_str() {
                "index" | "index-lookup" => Some(self.alphabet.unwrap_or(2)),
                _ => self.alphabet,
            },
            types: self.types,
            depth: self.depth,
            keys: self.keys,
            values: self.values,
            queries: self.queries,
            variant: self.variant,
            dim: None,
            margin: None,
        }
    }

    /// The task, built (its own settings validated).
    pub fn build_task(&self) -> Result<AnyTask, InputError> {
        let task = AnyTask::from_name(&self.task, self.n, &self.task_options())?;
        if let AnyTask::Nearest(_) = task {
            return Err(InputError::new(
                "training on nearest neighbour is not supported (it reads real vectors, not tokens); use index, dyck, equality, recall or disjointness",
            ));
        }
        Ok(task)
    }

    /// The embedding size.
    pub fn embed_size(&self) -> usize {
        self.embed.unwrap_or(self.width)
    }

    /// Checks every setting's range (not the task's, which `build_task` checks).
    pub fn validate(&self) -> Result<(), InputError> {
        let arch = self.arch()?;
        self.nonlinearity()?;
        let range = |name: &str, v: usize, lo: usize, hi: usize| {
            if v < lo || v > hi {
                Err(InputError::new(format!(
                    "--{name} {v} is out of range: use {lo} to {hi}"
                )))
            } else {
                Ok(())
            }
        };
        range("width", self.width, 1, MAX_WIDTH)?;
        range("embed", self.embed_size(), 1, MAX_WIDTH)?;
        range("layers", self.layers, 1, MAX_LAYERS)?;
        range("heads", self.heads, 1, MAX_WIDTH)?;
        range("batch", self.batch, 1, MAX_BATCH)?;
        range("eval-size", self.eval_size, 1, MAX_BATCH)?;
        range("ff", self.ff, 0, 16)?;
        if arch == Arch::Transformer && !self.width.is_multiple_of(self.heads) {
            return Err(InputError::new(format!(
                "--heads {} does not divide --width {}: each head takes width / heads dimensions",
                self.heads, self.width
            )));
        }
        if arch != Arch::Transformer && self.heads != 1 {
            return Err(InputError::new(format!(
                "--heads applies to the transformer only, not {}",
                arch.name()
            )));
        }
        if arch != Arch::Rnn && self.nonlinearity != "tanh" {
            return Err(InputError::new(format!(
                "--nonlinearity applies to the rnn only, not {}",
                arch.name()
            )));
        }
        if arch != Arch::Transformer && self.ff != default_ff() {
            return Err(InputError::new(format!(
                "--ff applies to the transformer only, not {}",
                arch.name()
            )));
        }
        if matches!(arch, Arch::Ssm | Arch::LinearAttention) && self.layers != 1 {
            return Err(InputError::new(format!(
                "--layers: {} has one layer in ccsep",
                arch.name()
            )));
        }
        if self.steps == 0 || self.steps > MAX_STEPS {
            return Err(InputError::new(format!(
                "--steps {} is out of range: use 1 to {MAX_STEPS}",
                self.steps
            )));
        }
        if self.eval_every == 0 {
            return Err(InputError::new("--eval-every must be at least 1"));
        }
        let positive = |name: &str, v: f64, lo: f64, hi: f64| {
            if !(v.is_finite() && v >= lo && v <= hi) {
                Err(InputError::new(format!(
                    "--{name} {v} is out of range: use a number from {lo} to {hi}"
                )))
            } else {
                Ok(())
            }
        };
        positive("lr", self.lr, 0.0, 10.0)?;
        if self.lr == 0.0 {
            return Err(InputError::new("--lr must be above 0"));
        }
        positive("weight-decay", self.weight_decay, 0.0, 10.0)?;
        positive("target", self.target, 0.0, 1.0)?;
        positive("clip", self.clip, 0.0, 1e6)?;
        Ok(())
    }
}
