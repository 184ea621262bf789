//! Collision witnesses as files, and their independent check.
//!
//! A witness says: the model, at the precision, sends one message for Alice's inputs `x` and
//! `x'`, and Bob's input `y` separates them (`f(x, y) ≠ f(x', y)`), so the model's single answer
//! is wrong on one of the two instances. The file records everything needed to rebuild the
//! model (weights path, or architecture, sizes and seed) and the instance. [`verify`] trusts
//! none of the protocol code: it rebuilds the model, runs the plain forward pass
//! (`Model::forward`) on both whole sequences, and checks that the answers agree and that `f`
//! differs, so one answer is wrong.

use serde::{Deserialize, Serialize};

use super::Spell;
use super::source::{MAX_RANDOM_WIDTH, ModelSource};
use crate::certificate::check::Verified;
use crate::error::{InputError, Setting};
use crate::model::{Arch, Model};
use crate::numeric::{Accumulate, Format, Precision, Rounding, Stats};
use crate::problem::{DEFAULT_MAX_MEMORY, human_bytes};
use crate::protocol::{reduction_kind, score};
use crate::task::Reduction;

/// Format version of witness files (the key that marks a file as a witness).
pub const WITNESS_VERSION: u32 = 1;

/// A witness file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WitnessFile {
    pub ccsep_witness: u32,
    pub model: ModelSource,
    pub precision: Precision,
    /// The reduction's name (e.g. `index-lookup`).
    pub task: String,
    pub n: u32,
    pub x: u64,
    pub x_prime: u64,
    pub y: u64,
    /// Bob's input of the second instance (Thm 4 witnesses); `y` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_prime: Option<u64>,
    /// `[f(x, y), f(x', y')]`.
    pub expected: [bool; 2],
    /// The model's answers on `(x, y)` and `(x', y')` (equal).
    pub answers: [bool; 2],
}

impl WitnessFile {
    /// The witness of a check report about a model from `source` run at `precision`, if the
    /// check found one: what `ccsep check --witness-out` writes.
    pub fn of_check(
        source: &ModelSource,
        precision: Precision,
        report: &super::CheckReport,
    ) -> Option<Self> {
        let w = report.witness.as_ref()?;
        Some(WitnessFile {
            ccsep_witness: WITNESS_VERSION,
            model: source.with_absolute_path(),
            precision,
            task: report.task.clone(),
            n: report.n,
            x: w.x,
            x_prime: w.x_prime,
            y: w.y,
            y_prime: w.y_prime,
            expected: [w.f_x, w.f_x_prime],
            answers: [w.answer, w.answer],
        })
    }

    /// Writes the witness as pretty JSON to `path` (whose writability the caller checked
    /// before its work, with `files::check_output_file`; what fails now is the disk).
    pub fn write(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let text = serde_json::to_string_pretty(self).expect("witnesses serialise");
        std::fs::write(path, text)
            .with_context(|| format!("could not write witness file {}", path.display()))
    }
}

/// Whether a JSON value is a witness file (by its marker key).
pub fn is_witness(v: &serde_json::Value) -> bool {
    v.get("ccsep_witness").is_some()
}

/// What [`admit`] found the file to describe: the reduction, and the precision the check ran
/// at (`paper:K` resolved for the task's longest instance, as `ccsep check` resolves it).
#[derive(Clone, Debug)]
pub struct Admitted {
    reduction: Reduction,
    precision: Precision,
}

/// Bytes per random-model parameter while a witness is re-run: the weights, and their rounded
/// copy in the prepared model.
const BYTES_PER_PARAMETER: u128 = 16;

/// Checks everything about a witness that needs no model: the format version, the task and
/// `n`, the inputs in range, the model's source consistent with the task (a construction is
/// checked at the task's own `n`, for the witness's precision) and small enough for
/// `max_memory`, and the precision's grid. Nothing is built. An error here means the file is
/// malformed or over the limit (bad input, exit 2), not that its claim is false; it names the
/// field that is wrong.
pub fn admit(w: &WitnessFile, max_memory: u64) -> Result<Admitted, InputError> {
    let field = |name: &str, msg: String| InputError::new(format!("field `{name}`: {msg}"));
    if w.ccsep_witness != WITNESS_VERSION {
        return Err(field(
            "ccsep_witness",
            format!(
                "format version {} is not the version this checker reads ({WITNESS_VERSION})",
                w.ccsep_witness
            ),
        ));
    }
    let kind = reduction_kind(&w.task).map_err(|e| field("task", e.message))?;
    let r = Reduction::new(kind, w.n).map_err(|e| field("n", e.message))?;
    let (alice, bob) = (r.alice_inputs(), r.bob_inputs());
    let y_prime = w.y_prime.unwrap_or(w.y);
    for (name, v, range) in [
        ("x", w.x, &alice),
        ("x_prime", w.x_prime, &alice),
        ("y", w.y, &bob),
        ("y_prime", y_prime, &bob),
    ] {
        if !range.contains(&v) {
            return Err(field(
                name,
                format!(
                    "{v} is not an input of {kind} with n = {}: it must be below {}",
                    w.n, range.end
                ),
            ));
        }
    }
    admit_model(&w.model, &r, &w.precision, max_memory)?;
    let precision = match w.precision.format() {
        Format::Paper { .. } => {
            let len = longest_instance(&r)?;
            w.precision.for_length(len).map_err(|e| {
                field(
                    "precision",
                    format!(
                        "{} for this task's length N = {len}: {e}",
                        w.precision.name()
                    ),
                )
            })?
        }
        Format::PaperGrid { k, n, .. } => {
            let len = longest_instance(&r)?;
            if n != len {
                return Err(field(
                    "precision",
                    format!(
                        "paper:{k} is resolved for N = {n}, but {kind} with n = {} has instances of length {len}, the N `ccsep check` resolves it for",
                        w.n
                    ),
                ));
            }
            w.precision
        }
        _ => w.precision,
    };
    Ok(Admitted {
        reduction: r,
        precision,
    })
}

/// The length `ccsep check` resolves `paper:K` for: the task's longest instance.
fn longest_instance(r: &Reduction) -> Result<u64, InputError> {
    let y = r.bob_inputs().end - 1;
    Ok(r.instance(0, y)?.tokens.len() as u64)
}

/// The model's source, checked without building it.
fn admit_model(
    model: &ModelSource,
    r: &Reduction,
    precision: &Precision,
    max_memory: u64,
) -> Result<(), InputError> {
    let field = |name: &str, msg: String| InputError::new(format!("field `{name}`: {msg}"));
    match model {
        ModelSource::Construct {
            name,
            n,
            precision: built_for,
            ..
        } => {
            let task =
                crate::construct::check_task(name).map_err(|e| field("model.name", e.message))?;
            let kind = reduction_kind(task).map_err(|e| field("model.name", e.message))?;
            if kind != r.kind() {
                return Err(field(
                    "model.name",
                    format!(
                        "the construction {name} is built for the task {kind}, but the witness's task is {}",
                        r.kind()
                    ),
                ));
            }
            if u64::try_from(*n).ok() != Some(u64::from(r.n())) {
                return Err(field(
                    "model.n",
                    format!(
                        "is {n}, but the task's n is {}: `ccsep check {}` builds the construction at the task's n",
                        r.n(),
                        Setting::Construct
                    ),
                ));
            }
            if let Some(p) = built_for {
                let p = Precision::parse(p).map_err(|e| field("model.precision", e.message))?;
                if p.name() != precision.name() {
                    return Err(field(
                        "model.precision",
                        format!(
                            "the construction is built for {}, but the witness runs it at {}: `ccsep check {}` builds it for the precision it runs at",
                            p.name(),
                            precision.name(),
                            Setting::Construct
                        ),
                    ));
                }
            }
        }
        ModelSource::Random {
            arch,
            width,
            layers,
            output,
            heads,
            ..
        } => admit_random(arch, (*width, *layers, *output), *heads, r, max_memory)?,
        ModelSource::Weights { arch, path, .. } => {
            Arch::parse(arch).map_err(|e| field("model.arch", e.message))?;
            let meta = std::fs::metadata(path)
                .map_err(|e| field("model.path", format!("could not read {path}: {e}")))?;
            // A device or a pipe has no length to check and may never end.
            if !meta.is_file() {
                return Err(field(
                    "model.path",
                    format!("{path} is not a regular file: a weights file is a safetensors file"),
                ));
            }
            let len = meta.len();
            // Weights are read, widened to f64 and rounded into a copy: up to 8 bytes in memory
            // for every byte of a 16-bit file.
            let bytes = u128::from(len) * 8;
            if bytes > u128::from(max_memory) {
                return Err(field(
                    "model.path",
                    format!(
                        "{path} is {} and may take {} to load and run, over the limit of {}; `ccsep verify {} BYTES` raises it if the machine has the memory",
                        human_bytes(u128::from(len)),
                        human_bytes(bytes),
                        human_bytes(u128::from(max_memory)),
                        Setting::MaxMemory
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A random model's source: its sizes in range and consistent with its architecture, and
/// small enough to rebuild within `max_memory`.
fn admit_random(
    arch: &str,
    (width, layers, output): (usize, usize, usize),
    heads: Option<usize>,
    r: &Reduction,
    max_memory: u64,
) -> Result<(), InputError> {
    let field = |name: &str, msg: String| InputError::new(format!("field `{name}`: {msg}"));
    let a = Arch::parse(arch).map_err(|e| field("model.arch", e.message))?;
    for (name, v, most) in [
        ("model.width", width, MAX_RANDOM_WIDTH),
        ("model.layers", layers, 64),
        ("model.output", output, MAX_RANDOM_WIDTH),
        ("model.heads", heads.unwrap_or(1), MAX_RANDOM_WIDTH),
    ] {
        if v == 0 || v > most {
            return Err(field(name, format!("{v}: must be between 1 and {most}")));
        }
    }
    if heads.is_some() && a != Arch::Transformer {
        return Err(field(
            "model.heads",
            format!("heads apply to a transformer, not to {arch}"),
        ));
    }
    if let Some(h) = heads
        && width % h != 0
    {
        return Err(field(
            "model.heads",
            format!("{h} heads do not divide the width {width}"),
        ));
    }
    if layers != 1 && matches!(a, Arch::Ssm | Arch::LinearAttention) {
        return Err(field(
            "model.layers",
            format!("is {layers}, but the {arch} model has one layer"),
        ));
    }
    // Every architecture has at most 8 weight matrices of `width × (input + width)` per
    // layer (an LSTM 4, a Transformer's attention and MLP 8), and the head.
    let input = r.task().input_dim() as u128;
    let (w, l, o) = (width as u128, layers as u128, output as u128);
    let params = l * 8 * w * (input + w) + o * w;
    let bytes = params * BYTES_PER_PARAMETER;
    if bytes > u128::from(max_memory) {
        return Err(field(
            "model",
            format!(
                "a random {arch} of width {width} with {layers} layers takes about {} to rebuild and run, over the limit of {}; `ccsep verify {} BYTES` raises it if the machine has the memory",
                human_bytes(bytes),
                human_bytes(u128::from(max_memory)),
                Setting::MaxMemory
            ),
        ));
    }
    Ok(())
}

/// Re-runs the model on both instances with the plain forward pass and checks the claim
/// ([`admit`] first, with the default memory limit).
pub fn verify(w: &WitnessFile, spell: Spell) -> Result<Verified, String> {
    let admitted = admit(w, DEFAULT_MAX_MEMORY).map_err(|e| e.render(spell))?;
    verify_admitted(w, &admitted, spell)
}

/// Rebuilds the admitted witness's model. An error means the file names a model that cannot be
/// rebuilt (a weights file that is not one, a construction that reads other tokens): bad input,
/// not a false claim.
pub fn rebuild(w: &WitnessFile, a: &Admitted) -> Result<Model, InputError> {
    w.model.build(a.reduction.task().input_dim()).map_err(|e| {
        InputError::new(format!(
            "field `model`: could not rebuild the model: {}",
            e.message
        ))
    })
}

/// Rebuilds the model and re-runs it on both instances of an admitted witness.
pub fn verify_admitted(w: &WitnessFile, a: &Admitted, spell: Spell) -> Result<Verified, String> {
    let model = rebuild(w, a).map_err(|e| e.render(spell))?;
    verify_model(w, a, &model, spell)
}

/// Re-runs `model` (rebuilt from the witness) on both instances with the plain forward pass and
/// checks the claim: an error here means the claim is false.
pub fn verify_model(
    w: &WitnessFile,
    a: &Admitted,
    model: &Model,
    spell: Spell,
) -> Result<Verified, String> {
    let r = &a.reduction;
    let y_prime = w.y_prime.unwrap_or(w.y);
    if (w.x, w.y) == (w.x_prime, y_prime) {
        return Err("(x, y) and (x', y') are the same instance".into());
    }
    let task = r.task();
    let mut answers = [false; 2];
    let mut values = [false; 2];
    for (i, (x, y)) in [(w.x, w.y), (w.x_prime, y_prime)].into_iter().enumerate() {
        let inst = r.instance(x, y).map_err(|e| e.render(spell))?;
        let inputs = task.embed(&inst.tokens, &[]).map_err(|e| e.render(spell))?;
        let trace = model
            .forward(&inputs, &a.precision, &mut Stats::default())
            .map_err(|e| e.render(spell))?;
        // The answer as the bit f, as the check scores it: the last output, or for MQAR DISJ
        // read off the answers to every query (a model right on the instance has it right).
        answers[i] = score(r, x, y, &trace.outputs).0;
        values[i] = r.value(x, y).map_err(|e| e.render(spell))?;
    }
    if values[0] == values[1] {
        return Err(format!(
            "f(x, y) = f(x', y') = {}: the two instances do not differ in f",
            u8::from(values[0])
        ));
    }
    if answers[0] != answers[1] {
        return Err(format!(
            "the model answers {} on (x, y) and {} on (x', y'): the inputs are not confused",
            u8::from(answers[0]),
            u8::from(answers[1])
        ));
    }
    if values != w.expected || answers != w.answers {
        return Err(format!(
            "the file records f = {:?} and answers {:?}, the re-run gives f = {values:?} and answers {answers:?}",
            w.expected, w.answers
        ));
    }
    let wrong = if answers[0] == values[0] { "x'" } else { "x" };
    let mut unchecked = vec![];
    if let ModelSource::Weights { path, .. } = &w.model {
        unchecked.push(format!(
            "the weights are those in {path} now; the witness records no digest of the file `ccsep check` read"
        ));
    }
    Ok(Verified {
        statement: format!(
            "{} at {}: the model answers {} on both (x = {}, y = {}) and (x' = {}, y' = {}) of {} n = {}, but f differs, so it is wrong on {wrong}",
            w.model.arch(),
            precision_words(&a.precision),
            u8::from(answers[0]),
            w.x,
            w.y,
            w.x_prime,
            y_prime,
            w.task,
            w.n
        ),
        unchecked,
    })
}

/// The precision's name, with its grid length and any mode other than the defaults `parse`
/// gives (which is all `ccsep check` writes).
fn precision_words(p: &Precision) -> String {
    let mut words = p.name();
    let mut notes = vec![];
    if let Format::PaperGrid { n, .. } = p.format() {
        notes.push(format!("N = {n}"));
    }
    if let Ok(default) = Precision::parse(&p.name()) {
        if p.rounding() != default.rounding() {
            notes.push(match p.rounding() {
                Rounding::Down => "rounding down".to_string(),
                Rounding::NearestEven => "rounding to nearest-even".to_string(),
            });
        }
        if p.accumulate() != default.accumulate() {
            notes.push(match p.accumulate() {
                Accumulate::Format => "every partial sum rounded".to_string(),
                Accumulate::Wide => "dot products summed wide".to_string(),
            });
        }
    }
    if !notes.is_empty() {
        words = format!("{words} ({})", notes.join(", "));
    }
    words
}
