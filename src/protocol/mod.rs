//! The protocol a model induces on a communication problem, run exhaustively.
//!
//! A reduction (`task::reduction`) turns an instance `(x, y)` into tokens with the owner of each
//! position. For a recurrent model and a prefix / suffix split (Thm 2), Alice feeds her prefix
//! and sends the model's whole recurrent state (all layers; LSTM `h` and `c`), which is already
//! on the precision's grid; Bob continues from it with his suffix and reads the model's answer.
//! [`rnn::check`] runs that protocol on every instance (or a labelled sample), counts the
//! distinct messages, measures accuracy, sets them beside the problem's one-way CC, and finds a
//! collision witness where the messages are too few. [`witness`] writes and re-checks witnesses
//! with the plain forward pass. The one-layer Transformer protocol of Thm 4 is not here yet
//! (issue 4).
//!
//! Conventions:
//! - Messages are compared as bit patterns of `f64` after mapping `-0.0` to `0.0` and every NaN
//!   to one NaN. Bits available = state numbers × the precision's bits per number.
//! - Decoding ([`decode`]): the model's output after the last token is read as a bit, the
//!   model's guess of `f(x, y)`: with one output number, `out[0] > 0`; with two or more,
//!   `out[1] > out[0]` (the argmax of the first two; a tie reads as 0). For `index-lookup` the
//!   bit is "the symbol is `1`", for `equality` "the halves are equal", for `mqar` and
//!   `disjointness` "the sets are disjoint" — that is, always `f` of the reduction's problem.
//! - Alice feeds every position up to her last one; public positions after it (a separator, a
//!   query marker) are Bob's to feed, so every Bob input adds at least one position.

pub mod rnn;
pub mod witness;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::model::{Arch, Model, Nonlinearity, Spec, random_init};
use crate::task::{Reduction, ReductionKind};

/// The model's answer bit from its output vector (see the module documentation).
pub fn decode(out: &[f64]) -> bool {
    match out {
        [] => false,
        [a] => *a > 0.0,
        [a, b, ..] => b > a,
    }
}

/// The reduction a `--task` name selects: `index` (index-lookup), `recall` (recall-index),
/// `equality` / `eq` / `ineq`, `mqar`, `disjointness` / `disj`, or any reduction's own name.
pub fn reduction_kind(task: &str) -> Result<ReductionKind, InputError> {
    Ok(match task.to_ascii_lowercase().as_str() {
        "index" => ReductionKind::IndexLookup,
        "recall" => ReductionKind::RecallIndex,
        "eq" | "ineq" => ReductionKind::Equality,
        "disj" => ReductionKind::Disjointness,
        "dyck" => ReductionKind::DyckOddEven,
        other => other.parse()?,
    })
}

/// Where a checked model comes from: enough to rebuild it exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelSource {
    /// `random_init` with the task's input size, hidden size `width`, `layers` layers and a head
    /// of `output` numbers.
    Random {
        arch: String,
        width: usize,
        layers: usize,
        output: usize,
        seed: u64,
    },
    /// A safetensors file (`model::load` with default options).
    Weights { arch: String, path: String },
}

impl ModelSource {
    pub fn arch(&self) -> &str {
        match self {
            ModelSource::Random { arch, .. } | ModelSource::Weights { arch, .. } => arch,
        }
    }

    /// Builds the model for inputs of `input` numbers. Refuses the Transformer (its protocol,
    /// Thm 4, is issue 4's other half).
    pub fn build(&self, input: usize) -> Result<Model, InputError> {
        let arch = Arch::parse(self.arch())?;
        if arch == Arch::Transformer {
            return Err(InputError::new(
                "--arch transformer is not supported by `ccsep check` yet: the one-layer Transformer protocol (Thm 4) is still open in issue 4; use rnn, lstm, gru, ssm or linear-attention",
            ));
        }
        let model = match self {
            ModelSource::Random {
                width,
                layers,
                output,
                seed,
                ..
            } => {
                let (hidden, layers, output) = (*width, *layers, *output);
                if hidden == 0 || layers == 0 || output == 0 {
                    return Err(InputError::new(
                        "--width, --layers and the output size must be at least 1",
                    ));
                }
                if layers != 1 && matches!(arch, Arch::Ssm | Arch::LinearAttention) {
                    return Err(InputError::new(format!(
                        "--layers {layers}: the {} model has one layer; drop --layers",
                        arch.name()
                    )));
                }
                let spec = match arch {
                    Arch::Rnn => Spec::Rnn {
                        input,
                        hidden,
                        layers,
                        output: Some(output),
                        nonlinearity: Nonlinearity::Tanh,
                    },
                    Arch::Lstm => Spec::Lstm {
                        input,
                        hidden,
                        layers,
                        output: Some(output),
                    },
                    Arch::Gru => Spec::Gru {
                        input,
                        hidden,
                        layers,
                        output: Some(output),
                    },
                    Arch::Ssm => Spec::Ssm {
                        input,
                        state: hidden,
                        output,
                    },
                    Arch::LinearAttention => Spec::LinearAttention {
                        input,
                        key: hidden,
                        value: hidden,
                        output: Some(output),
                    },
                    Arch::Transformer => unreachable!("refused above"),
                };
                random_init(&spec, *seed)?
            }
            ModelSource::Weights { arch, path } => {
                crate::model::load(arch, std::path::Path::new(path), &Default::default())?
            }
        };
        if model.input_size() != input {
            return Err(InputError::new(format!(
                "the model reads {} numbers per step, but the task's tokens are one-hot of size {input}",
                model.input_size()
            )));
        }
        Ok(model)
    }
}

/// A reduction that splits as Alice prefix / Bob suffix, with the split found and checked.
#[derive(Clone, Debug)]
pub struct Split {
    pub reduction: Reduction,
    /// Positions Alice feeds: up to her last one (public positions after it are Bob's to feed).
    pub prefix_len: usize,
}

impl Split {
    /// Refuses a reduction that is not prefix / suffix, and one without a problem.
    pub fn new(reduction: Reduction) -> Result<Self, InputError> {
        if !reduction.is_prefix_suffix() || reduction.problem().is_none() {
            return Err(InputError::new(format!(
                "the {} reduction does not split as an Alice prefix and a Bob suffix, so a recurrent model induces no one-way protocol on it (its partition needs the Transformer protocol of Thm 4, issue 4)",
                reduction.kind()
            )));
        }
        let y_last = reduction.bob_inputs().end - 1;
        let inst = reduction.instance(0, y_last)?;
        let prefix_len = inst
            .owners
            .iter()
            .rposition(|&o| o == crate::task::Owner::Alice)
            .map_or(0, |p| p + 1);
        Ok(Split {
            reduction,
            prefix_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::rnn::message_key;
    use super::*;

    #[test]
    fn decode_convention() {
        assert!(decode(&[0.5]));
        assert!(!decode(&[0.0]));
        assert!(decode(&[0.1, 0.2, 9.0]));
        assert!(!decode(&[0.2, 0.2]));
    }

    #[test]
    fn negative_zero_is_zero_in_messages() {
        assert_eq!(message_key(&[-0.0, 1.0]), message_key(&[0.0, 1.0]));
        assert_ne!(message_key(&[0.25]), message_key(&[-0.25]));
    }

    #[test]
    fn refuses_non_prefix_and_transformer() {
        let r = Reduction::new(ReductionKind::DyckOddEven, 6).unwrap();
        assert!(Split::new(r).is_err());
        let s = ModelSource::Random {
            arch: "transformer".into(),
            width: 2,
            layers: 1,
            output: 1,
            seed: 0,
        };
        assert!(s.build(3).unwrap_err().message.contains("issue 4"));
    }

    /// The protocol's batched suffix runs compute exactly what a lone `run_from` computes.
    #[test]
    fn run_many_equals_run_from() {
        use crate::numeric::{Precision, Stats};
        let s = ModelSource::Random {
            arch: "lstm".into(),
            width: 3,
            layers: 2,
            output: 2,
            seed: 7,
        };
        let m = s.build(4).unwrap();
        let p = m
            .prepare(
                &Precision::parse("fixed:2.5").unwrap(),
                &mut Stats::default(),
            )
            .unwrap();
        let seqs: Vec<Vec<Vec<f64>>> = (0..37)
            .map(|i| {
                (0..3)
                    .map(|t| {
                        (0..4)
                            .map(|k| f64::from((i * 7 + t * 3 + k) % 5) - 2.0)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let starts: Vec<Vec<f64>> = (0..37)
            .map(|i| {
                (0..12)
                    .map(|k| f64::from((i + k) % 9) / 8.0 - 0.5)
                    .collect()
            })
            .collect();
        let sr: Vec<&[f64]> = starts.iter().map(Vec::as_slice).collect();
        let ir: Vec<&[Vec<f64>]> = seqs.iter().map(Vec::as_slice).collect();
        let many = p.run_many(&sr, &ir, true, &mut Stats::default()).unwrap();
        for (i, (state, out)) in many.iter().enumerate() {
            let t = p
                .run_from(&starts[i], &seqs[i], &mut Stats::default())
                .unwrap();
            assert_eq!(Some(state), t.states.last());
            assert_eq!(out.as_ref(), t.outputs.last());
        }
    }
}
