//! `ccsep run`: a model loaded from safetensors, run at a precision on one input sequence; its
//! states and outputs per step.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{InputError, Setting};
use crate::input;
use crate::model::{self, Arch, LoadOptions, Nonlinearity, Trace};
use crate::numeric::{Precision, Stats};

/// What `ccsep run` is asked for.
#[derive(Clone, Debug)]
pub struct RunRequest {
    pub arch: Arch,
    pub weights: PathBuf,
    pub precision: Precision,
    pub inputs: PathBuf,
    /// Prefix of the tensor names.
    pub prefix: Option<String>,
    pub nonlinearity: Option<Nonlinearity>,
    pub heads: Option<usize>,
    /// The `--names` list (`LoadOptions::with_names`).
    pub names: Option<String>,
}

impl RunRequest {
    /// Refuses flags that only some architectures read on the others (as `check` does), rather
    /// than ignoring them.
    pub fn new(
        arch: Arch,
        files: RunFiles,
        precision: Precision,
        nonlinearity: Option<Nonlinearity>,
        heads: Option<usize>,
    ) -> Result<Self, InputError> {
        if nonlinearity.is_some() && arch != Arch::Rnn {
            return Err(InputError::new(format!(
                "{} applies to an rnn (an Elman RNN's activation), not to {}; drop it",
                Setting::Nonlinearity,
                arch.name()
            )));
        }
        if heads.is_some() && arch != Arch::Transformer {
            return Err(InputError::new(format!(
                "{} applies to a transformer, not to {}; drop it",
                Setting::Heads,
                arch.name()
            )));
        }
        Ok(RunRequest {
            arch,
            weights: files.weights,
            precision,
            inputs: files.inputs,
            prefix: files.prefix,
            nonlinearity,
            heads,
            names: files.names,
        })
    }
}

/// The files `ccsep run` reads: the weights (with the prefix of their tensor names) and the
/// inputs.
#[derive(Clone, Debug)]
pub struct RunFiles {
    pub weights: PathBuf,
    pub inputs: PathBuf,
    pub prefix: Option<String>,
    /// The `--names` list: which tensors play which role, and what the file does not record.
    pub names: Option<String>,
}

/// What `ccsep run` reports (its JSON keys in this order).
#[derive(Clone, Debug, Serialize)]
pub struct RunOutput {
    pub arch: Arch,
    /// The full recurrent state after each step.
    pub full_states: Vec<Vec<f64>>,
    pub nan: u64,
    pub outputs: Vec<Vec<f64>>,
    pub precision: String,
    pub saturated: u64,
    /// The last layer's hidden vector after each step.
    pub states: Vec<Vec<f64>>,
}

impl RunOutput {
    fn new(arch: Arch, precision: String, trace: Trace, stats: &Stats) -> Self {
        RunOutput {
            arch,
            full_states: trace.states,
            nan: stats.nan,
            outputs: trace.outputs,
            precision,
            saturated: stats.saturated,
            states: trace.hidden,
        }
    }
}

/// Loads the model and runs it on the inputs.
pub fn run(req: &RunRequest) -> Result<RunOutput, InputError> {
    let mut options = match &req.names {
        Some(list) => LoadOptions::default().with_names(list)?,
        None => LoadOptions::default(),
    };
    for (given, named, setting) in [
        (
            req.prefix.is_some(),
            options.prefix.is_some(),
            Setting::Prefix,
        ),
        (
            req.nonlinearity.is_some(),
            options.nonlinearity.is_some(),
            Setting::Nonlinearity,
        ),
        (req.heads.is_some(), options.heads.is_some(), Setting::Heads),
    ] {
        if given && named {
            return Err(InputError::new(format!(
                "{setting} and {} give the same setting twice; drop one",
                Setting::Names
            )));
        }
    }
    options.prefix = options.prefix.or_else(|| req.prefix.clone());
    options.nonlinearity = options.nonlinearity.or(req.nonlinearity);
    options.heads = options.heads.or(req.heads);
    let inputs = read_inputs(&req.inputs)?;
    let model = model::load(req.arch.name(), &req.weights, &options)?;
    let mut stats = Stats::default();
    let trace = model.forward(&inputs, &req.precision, &mut stats)?;
    Ok(RunOutput::new(
        model.arch(),
        req.precision.name(),
        trace,
        &stats,
    ))
}

/// Most bytes of a `run --inputs` file: 64 MiB, millions of steps.
const MAX_INPUTS_BYTES: u64 = 64 << 20;
/// The `run --inputs` file: a JSON list of steps, each a list of numbers, streamed and bounded
/// (a binary file or a device is refused at its first bad byte), with at least one step.
fn read_inputs(path: &Path) -> Result<Vec<Vec<f64>>, InputError> {
    let mut file = input::open_bounded(
        path,
        "inputs",
        MAX_INPUTS_BYTES,
        "split the sequence into several runs",
    )?;
    let parsed = serde_json::from_reader(std::io::BufReader::new(&mut file));
    let inputs: Vec<Vec<f64>> = match parsed {
        Ok(v) => v,
        Err(_) if file.over() => {
            return Err(InputError::new(format!(
                "could not read inputs {}: {}",
                path.display(),
                file.over_message()
            )));
        }
        Err(e) => {
            return Err(InputError::new(format!(
                "{}: expected a JSON list of input vectors (one list of numbers per step): {e}",
                path.display()
            )));
        }
    };
    if inputs.is_empty() {
        return Err(InputError::new(format!(
            "{} is an empty list: give at least one step, e.g. [[0.5, -1.0]] for one step of two numbers",
            path.display()
        )));
    }
    Ok(inputs)
}
