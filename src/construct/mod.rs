//! The paper's constructions (the upper bounds of every separation), built as ordinary
//! [`Model`]s so that `run`, `check` and the plots apply to them unchanged, and verified at a
//! bounded precision with the model's own forward pass.
//!
//! | name | result | model | module |
//! |---|---|---|---|
//! | `vectors` | nearly orthogonal codes (used by the Transformers) | — | [`vectors`] |
//! | `index-lookup` | Thm 1: index lookup, 1 layer, 1 head | Transformer | [`index_lookup`] |
//! | `equality` | Thm 6: string equality, 2 layers (one head suffices: see the module) | Transformer | [`equality`] |
//! | `disjointness` | Thm 13: disjointness through k-sparse features, 2 layers | Transformer | [`disjointness`] |
//! | `nearest` | Thm 7: nearest neighbour, 2 layers | Transformer | [`nearest`] |
//! | `dyck-rnn` | App. E: the 7-state DFA of Dyck-(2,2) | Elman RNN | [`recurrent`] |
//! | `index-rnn` | Thm 3 is tight: width `N` stores every bit | Elman RNN | [`recurrent`] |
//!
//! Every construction reports the same [`ConstructReport`]: whether it is correct and on what
//! (every instance, or which family of instances), its sizes, and the bits of its parameters and
//! of its state or messages. The residual stream of a Transformer construction is laid out in
//! named blocks ([`subspace::Residual`]), the way tracr names basis directions.

pub mod disjointness;
pub mod equality;
pub mod index_lookup;
pub mod nearest;
pub mod recurrent;
pub mod subspace;
pub mod vectors;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::InputError;
use crate::model::Model;
use crate::numeric::Precision;

/// Every construction name, in the order of the table above.
pub const NAMES: [&str; 7] = [
    "vectors",
    "index-lookup",
    "equality",
    "disjointness",
    "nearest",
    "dyck-rnn",
    "index-rnn",
];

/// What a construction is built and verified with.
#[derive(Clone, Debug)]
pub struct ConstructOptions {
    /// The length parameter `N` (the task's length, or the number of vectors).
    pub n: usize,
    /// The precision to verify at; `None` lets the construction choose (and report) its own.
    pub precision: Option<Precision>,
    /// The margin of nearly orthogonal codes: all `|<T_i, T_j>| ≤ gamma` for `i ≠ j`.
    pub gamma: f64,
    /// Seed of random codes and of random test instances.
    pub seed: u64,
    /// Random instances checked on top of the worst-case family when `N` is too large to be
    /// exhaustive.
    pub samples: u64,
    /// The most work (the construction's estimate, in operations) a verification may cost
    /// before it is refused; `None`: the construction's default. Used by the two-layer
    /// constructions (`equality`, `disjointness`, `nearest`).
    pub max_work: Option<f64>,
    /// Where a long build or size search says what it is doing (silent by default).
    pub progress: Progress,
}

/// A sink for progress lines of long work (each trial of a size search, with its outcome and
/// time), for a spinner or a log; silent when empty. It only receives text: nothing it does
/// can change a result.
#[derive(Clone)]
pub struct Progress {
    sink: Option<Arc<Sink>>,
    /// How often a long verification says how many instances it has checked.
    every: Duration,
}

/// What receives progress lines.
type Sink = dyn Fn(&str) + Send + Sync;

/// How often a long verification reports its count of instances checked, by default.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(30);

impl Default for Progress {
    fn default() -> Self {
        Progress {
            sink: None,
            every: PROGRESS_EVERY,
        }
    }
}

impl Progress {
    /// Progress lines go to `sink`; counts every [`PROGRESS_EVERY`].
    pub fn to(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Progress {
            sink: Some(Arc::new(sink)),
            every: PROGRESS_EVERY,
        }
    }

    /// The same sink, with a long verification's count every `every` instead.
    pub fn every(self, every: Duration) -> Self {
        Progress { every, ..self }
    }

    /// How often a long verification says how many instances it has checked.
    pub fn interval(&self) -> Duration {
        self.every
    }

    /// Sends the line `line()` (made only when someone listens).
    pub fn say(&self, line: impl FnOnce() -> String) {
        if let Some(sink) = &self.sink {
            sink(&line());
        }
    }

    /// Runs `work`, announcing it as `what` and then its outcome (`outcome` of the result) and
    /// how long it took.
    pub fn timed<T>(
        &self,
        what: impl FnOnce() -> String,
        work: impl FnOnce() -> T,
        outcome: impl FnOnce(&T) -> String,
    ) -> T {
        if self.sink.is_none() {
            return work();
        }
        let what = what();
        self.say(|| format!("{what} …"));
        let start = Instant::now();
        let out = work();
        self.say(|| {
            format!(
                "{what}: {} ({:.1} s)",
                outcome(&out),
                start.elapsed().as_secs_f64()
            )
        });
        out
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.sink.is_some() {
            "Progress(on)"
        } else {
            "Progress(off)"
        })
    }
}

impl Default for ConstructOptions {
    fn default() -> Self {
        ConstructOptions {
            n: 16,
            precision: None,
            gamma: 0.25,
            seed: 0,
            samples: 1000,
            max_work: None,
            progress: Progress::default(),
        }
    }
}

/// How a construction was verified and what it costs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConstructReport {
    /// The construction's name (one of [`NAMES`]).
    pub name: String,
    /// The paper's result it realises (e.g. `Thm 1`).
    pub result: String,
    pub n: usize,
    /// No error on any instance checked.
    pub correct: bool,
    /// What was checked, in words: "all 2^8 strings × 8 queries", "worst-case strings for every
    /// query, plus 1000 random strings".
    pub verified_on: String,
    /// Every instance of the task was checked.
    pub exhaustive: bool,
    pub instances: u64,
    pub errors: u64,
    /// The first instance with a wrong answer, as the task's tokens.
    pub first_error: Option<String>,
    /// Width (`d_model`, or the RNN's hidden size), heads and layers (0 where not a model).
    pub width: usize,
    pub heads: usize,
    pub layers: usize,
    /// The precision verified at, by name.
    pub precision: Option<String>,
    pub bits_per_number: Option<u32>,
    /// Parameters (numbers), and their total bits at the precision.
    pub parameters: u64,
    pub parameter_bits: Option<u64>,
    /// Bits of the recurrent state (RNN) or of the Thm 4 messages (1-layer Transformer).
    pub state_bits: Option<u64>,
    /// Construction-specific figures (code length, worst inner product, temperature, …).
    pub details: serde_json::Value,
}

/// A built construction: the model (none for `vectors`) and its report.
#[derive(Clone, Debug)]
pub struct Construction {
    pub model: Option<Model>,
    pub precision: Option<Precision>,
    pub report: ConstructReport,
}

/// One point of a size curve: the smallest correct size found at length `n`, beside a lower
/// bound (`other_bound` says which, and in what units).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizePoint {
    pub name: String,
    /// The construction's own size parameter (`--n`): the length for index lookup and Dyck,
    /// the bits per party for equality and disjointness, the labelled points for nearest.
    pub n: usize,
    /// The task's length `N` in input symbols at this point (what the curve's `N = 2^e` axis
    /// means across constructions): `n` for index lookup and Dyck, `2n` for equality and
    /// disjointness (both parties' strings), `2n` for nearest (a point and a label each).
    pub length: usize,
    pub correct: bool,
    /// Every instance was checked (otherwise `verified_on` says which family and samples).
    pub exhaustive: bool,
    /// What the final verification ran, in words (from the construction's report).
    pub verified_on: String,
    pub width: usize,
    pub heads: usize,
    pub layers: usize,
    pub precision: String,
    pub bits_per_number: u32,
    /// `width × bits_per_number` (× heads where it applies): the size the bounds constrain.
    pub size_bits: u64,
    /// The lower bound set beside this point (usually the other architecture's) and what it is:
    /// its formula and units.
    pub other_bound_bits: f64,
    pub other_bound: String,
}

impl SizePoint {
    /// The point of a verified construction: its sizes from `report`, `size_bits` as the
    /// construction counts them, and the other architecture's bound.
    pub fn of(
        report: &ConstructReport,
        size_bits: u64,
        other_bound_bits: f64,
        other_bound: String,
    ) -> Self {
        SizePoint {
            name: report.name.clone(),
            n: report.n,
            length: report.n,
            correct: report.correct,
            exhaustive: report.exhaustive,
            verified_on: report.verified_on.clone(),
            width: report.width,
            heads: report.heads,
            layers: report.layers,
            precision: report.precision.clone().unwrap_or_default(),
            bits_per_number: report.bits_per_number.unwrap_or(0),
            size_bits,
            other_bound_bits,
            other_bound,
        }
    }
}

/// Builds and verifies the construction `name`.
pub fn construct(name: &str, opts: &ConstructOptions) -> Result<Construction, InputError> {
    match name {
        "vectors" => vectors::construct(opts),
        "index-lookup" => index_lookup::construct(opts),
        "equality" => equality::construct(opts),
        "disjointness" => disjointness::construct(opts),
        "nearest" => nearest::construct(opts),
        "dyck-rnn" => recurrent::dyck(opts),
        "index-rnn" => recurrent::index(opts),
        other => Err(unknown(other)),
    }
}

/// The smallest correct size of construction `name` at length `n` (searching widths and
/// precisions as the construction allows), for the size curves.
pub fn smallest(name: &str, opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    let mut point = smallest_of(name, opts)?;
    point.length = task_length(name, point.n);
    Ok(point)
}

/// The task's length in input symbols of construction `name` at size parameter `n` (see
/// [`SizePoint::length`]).
pub fn task_length(name: &str, n: usize) -> usize {
    match name {
        "equality" | "disjointness" | "nearest" => 2 * n,
        _ => n,
    }
}

fn smallest_of(name: &str, opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    match name {
        "index-lookup" => index_lookup::smallest(opts),
        "equality" => equality::smallest(opts),
        "disjointness" => disjointness::smallest(opts),
        "nearest" => nearest::smallest(opts),
        "dyck-rnn" => recurrent::dyck_smallest(opts),
        "index-rnn" => recurrent::index_smallest(opts),
        "vectors" => Err(vectors_have_no_curve()),
        other => Err(unknown(other)),
    }
}

/// The margin construction `name` is built with, as `key=value` for the settings a size curve
/// records: `gamma=…` (the codes' `|<T_i, T_j>| ≤ γ`) for those that read
/// [`ConstructOptions::gamma`], nearest's own fixed margin `margin=0.1` (it ignores `gamma`), and
/// `None` for the RNNs, which have no margin.
pub fn margin_setting(name: &str, gamma: f64) -> Option<String> {
    if reads_gamma(name) {
        Some(format!("gamma={gamma}"))
    } else if name == "nearest" {
        Some(format!("margin={}", nearest::MARGIN))
    } else {
        None
    }
}

/// Whether construction `name` reads [`ConstructOptions::gamma`] (the others ignore it).
pub fn reads_gamma(name: &str) -> bool {
    matches!(
        name,
        "vectors" | "index-lookup" | "equality" | "disjointness"
    )
}

/// The largest size parameter `n` a construction takes, for refusing a size curve's lengths before
/// any of them runs: `Some(max)` where the construction has a fixed range, `None` where only its
/// cost estimates (checked at each length) bound it (index-rnn), and an error for a name with no
/// curve (vectors) or no construction at all.
pub fn curve_max_n(name: &str) -> Result<Option<usize>, InputError> {
    match name {
        "index-lookup" => Ok(Some(index_lookup::MAX_N)),
        "equality" => Ok(Some(equality::MAX_N)),
        "disjointness" => Ok(Some(disjointness::MAX_N)),
        "nearest" => Ok(Some(nearest::MAX_N)),
        "dyck-rnn" => Ok(Some(recurrent::MAX_DYCK_N)),
        "index-rnn" => Ok(None),
        "vectors" => Err(vectors_have_no_curve()),
        other => Err(unknown(other)),
    }
}

fn vectors_have_no_curve() -> InputError {
    InputError::new(
        "`vectors` has no size curve of its own: its code lengths are in `ccsep construct vectors`",
    )
}

/// The `ccsep check` task a construction is built for (what `check --construct NAME` runs
/// when it names no `--task`): index lookup for both index constructions, the halves split of
/// Dyck-(2,2) for the Dyck RNN (its contiguous split), and each two-party construction's own
/// task (whose two-layer models the check then explains it cannot turn into a protocol). An
/// error for a construction `check` cannot run on any task (nearest, vectors).
pub fn check_task(name: &str) -> Result<&'static str, InputError> {
    match name {
        "index-lookup" | "index-rnn" => Ok("index"),
        "dyck-rnn" => Ok("dyck-halves"),
        "equality" => Ok("equality"),
        "disjointness" => Ok("disjointness"),
        "nearest" => Err(InputError::new(
            "nearest reads real-valued points, and `ccsep check` runs one-hot token tasks: verify it with `ccsep construct nearest --n N`",
        )),
        "vectors" => Err(InputError::new(
            "`vectors` builds codes, not a model: there is nothing to check as a protocol",
        )),
        other => Err(unknown(other)),
    }
}

fn unknown(name: &str) -> InputError {
    InputError::new(format!(
        "unknown construction {name:?}; choose one of {}",
        NAMES.join(", ")
    ))
}
