//! Where a model comes from — a random initialisation, a weights file, or one of the paper's
//! constructions — recorded in enough detail to rebuild it exactly (check reports and witness
//! files carry it), and the building itself.

use serde::{Deserialize, Serialize};

use crate::error::{InputError, Setting};
use crate::model::{Arch, Model, Nonlinearity, Spec, random_init};
use crate::numeric::Precision;

/// Widest random model `check` builds (its weights then take about 1 GiB for an LSTM).
pub const MAX_RANDOM_WIDTH: usize = 1 << 12;

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
        /// Heads of a Transformer (`None`: one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heads: Option<usize>,
    },
    /// A safetensors file (`model::load` with the options of a `--names` list, if any).
    Weights {
        arch: String,
        path: String,
        /// The `--names` list (`LoadOptions::with_names`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        names: Option<String>,
    },
    /// One of the paper's constructions (`construct::construct`) at length `n`, seed `seed`,
    /// designed for `precision` (its constants depend on it; `None`: its own choice).
    Construct {
        name: String,
        n: usize,
        seed: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        precision: Option<String>,
    },
}

impl ModelSource {
    /// The same source with a weights file's path made absolute (when the file exists), so
    /// that a file recording it (a witness) re-runs from any directory. Results keep the path
    /// as given, so that they read the same wherever the command ran.
    pub fn with_absolute_path(&self) -> ModelSource {
        match self {
            ModelSource::Weights { arch, path, names } => ModelSource::Weights {
                arch: arch.clone(),
                path: std::fs::canonicalize(path)
                    .map_or_else(|_| path.clone(), |p| p.display().to_string()),
                names: names.clone(),
            },
            other => other.clone(),
        }
    }

    /// The architecture's name (a construction's own name).
    pub fn arch(&self) -> &str {
        match self {
            ModelSource::Random { arch, .. } | ModelSource::Weights { arch, .. } => arch,
            ModelSource::Construct { name, .. } => name,
        }
    }

    /// Builds the model for inputs of `input` numbers. A random Transformer has `d_model =
    /// width`, pre-LN layer norms, a ReLU MLP of width `2·width`, sinusoidal positions and
    /// causal attention.
    pub fn build(&self, input: usize) -> Result<Model, InputError> {
        if let ModelSource::Construct {
            name,
            n,
            seed,
            precision,
        } = self
        {
            return construction(name, *n, *seed, precision.as_deref(), input);
        }
        let arch = Arch::parse(self.arch())?;
        let model = match self {
            ModelSource::Random {
                width,
                layers,
                output,
                seed,
                heads,
                ..
            } => {
                let spec = random_spec(arch, input, (*width, *layers, *output), *heads)?;
                random_init(&spec, *seed)?
            }
            ModelSource::Weights { arch, path, names } => {
                let options = match names {
                    Some(list) => crate::model::LoadOptions::default().with_names(list)?,
                    None => Default::default(),
                };
                crate::model::load(arch, std::path::Path::new(path), &options)?
            }
            ModelSource::Construct { .. } => unreachable!("built above"),
        };
        if model.input_size() != input {
            return Err(InputError::new(format!(
                "the model reads {} numbers per step, but the task's tokens are one-hot of size {input}{}",
                model.input_size(),
                match (self, model.embedding(), &model) {
                    (_, Some(e), _) => format!(
                        " (its embedding table has {} rows: give the task and n its tokens were made for)",
                        e.vocab()
                    ),
                    (ModelSource::Weights { .. }, None, m)
                        if !matches!(m, Model::Transformer(_)) =>
                    {
                        format!(
                            " (a model with an embedding table [{input}, E] before its layers reads them; name the table with {} embedding=MODULE if it is not found)",
                            Setting::Names
                        )
                    }
                    _ => String::new(),
                }
            )));
        }
        Ok(model)
    }
}

/// A construction's model at length `n`, refused unless it reads the task's one-hot tokens of
/// size `input`.
fn construction(
    name: &str,
    n: usize,
    seed: u64,
    precision: Option<&str>,
    input: usize,
) -> Result<Model, InputError> {
    let opts = crate::construct::ConstructOptions {
        n,
        seed,
        precision: precision.map(Precision::parse).transpose()?,
        ..Default::default()
    };
    let built = crate::construct::construct(name, &opts)?;
    let model = built.model.ok_or_else(|| {
        InputError::new(format!("the construction {name} builds no model to check"))
    })?;
    if model.input_size() != input {
        return Err(InputError::new(format!(
            "the construction {name} at n = {n} reads {} numbers per step, but this task's tokens are one-hot of size {input}: pick the task it is built for",
            model.input_size()
        )));
    }
    Ok(model)
}

/// The spec of a random `arch` model of sizes `(hidden, layers, output)`, refused when a size is
/// out of range or does not apply to `arch`.
fn random_spec(
    arch: Arch,
    input: usize,
    (hidden, layers, output): (usize, usize, usize),
    heads: Option<usize>,
) -> Result<Spec, InputError> {
    if heads.is_some() && arch != Arch::Transformer {
        return Err(InputError::new(format!(
            "{} applies to a transformer, not to {}; drop it",
            Setting::Heads,
            arch.name()
        )));
    }
    if hidden == 0 || layers == 0 || output == 0 {
        return Err(InputError::new(format!(
            "{}, {} and the output size must be at least 1",
            Setting::Width,
            Setting::Layers
        )));
    }
    if hidden > MAX_RANDOM_WIDTH || layers > 64 || output > MAX_RANDOM_WIDTH {
        return Err(InputError::new(format!(
            "{} {hidden}, {} {layers}, {} {output}: a random model is at most {MAX_RANDOM_WIDTH} wide, with at most 64 layers",
            Setting::Width,
            Setting::Layers,
            Setting::Outputs
        )));
    }
    if heads == Some(0) {
        return Err(InputError::new(format!(
            "{} must be at least 1",
            Setting::Heads
        )));
    }
    if layers != 1 && matches!(arch, Arch::Ssm | Arch::LinearAttention) {
        return Err(InputError::new(format!(
            "{} {layers}: the {} model has one layer; drop {}",
            Setting::Layers,
            arch.name(),
            Setting::Layers
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
        Arch::Transformer => Spec::Transformer(crate::model::TransformerSpec {
            input,
            d_model: hidden,
            heads: heads.unwrap_or(1),
            layers,
            d_ff: Some(2 * hidden),
            output: Some(output),
            layer_norm: true,
            pos: crate::model::PosSpec::Sinusoidal,
            causal: true,
        }),
    };
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_misplaced_heads() {
        let s = ModelSource::Random {
            arch: "lstm".into(),
            width: 2,
            layers: 1,
            output: 1,
            seed: 0,
            heads: Some(2),
        };
        assert!(s.build(3).unwrap_err().settings().contains(&Setting::Heads));
    }
}
