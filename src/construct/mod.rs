//! The paper's constructions (the upper bounds of every separation), built as ordinary
//! [`Model`]s so that `run`, `check` and the plots apply to them unchanged, and verified at a
//! bounded precision with the model's own forward pass.
//!
//! | name | result | model | module |
//! |---|---|---|---|
//! | name | result | model | module |
//! |---|---|---|---|
//! | `vectors` | nearly orthogonal codes (used by the Transformers) | — | [`vectors`] |
//! | `index-lookup` | Thm 1: index lookup, 1 layer, 1 head | Transformer | [`transformer::index_lookup`] |
//! | `equality` | Thm 6: string equality, 2 layers (one head suffices: see the module) | Transformer | [`transformer::equality`] |
//! | `disjointness` | Thm 13: disjointness through k-sparse features, 2 layers | Transformer | [`transformer::disjointness`] |
//! | `nearest` | Thm 7: nearest neighbour, 2 layers | Transformer | [`transformer::nearest`] |
//! | `dyck-rnn` | App. E: the 7-state DFA of Dyck-(2,2) | Elman RNN | [`recurrent::dyck`] |
//! | `index-rnn` | Thm 3 is tight: width `N` stores every bit | Elman RNN | [`recurrent::index`] |
//!
//! The names are one enum, [`Construction`], whose `Construction::entry` is the one table of
//! what each construction is: how it is built, its size search and curve range, its margin
//! setting and the task `check` runs it on. A new construction is a module under
//! [`transformer`] or [`recurrent`] and a variant with its row there.
//!
//! Every construction reports the same [`ConstructReport`]: whether it is correct and on what
//! (every instance, or which family of instances), its sizes (its parameters counted by
//! [`Model::parameter_count`]), and the bits of its parameters and of its state or messages.
//! They are built from the [`kit`]: the residual stream of a Transformer construction is laid
//! out in named subspaces ([`kit::residual::Residual`]), the way tracr names basis directions.

pub mod kit;
pub mod recurrent;
pub mod transformer;
pub mod vectors;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{InputError, Setting};
use crate::model::Model;
use crate::numeric::Precision;

/// A construction, by name: the rows of the table above, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Construction {
    Vectors,
    IndexLookup,
    Equality,
    Disjointness,
    Nearest,
    DyckRnn,
    IndexRnn,
}

/// Every construction name, in the order of the table above.
pub const NAMES: [&str; Construction::ALL.len()] = {
    let mut names = [""; Construction::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Construction::ALL[i].name();
        i += 1;
    }
    names
};

/// What a construction's margin setting is (see [`Construction::margin_setting`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Margin {
    /// It reads [`ConstructOptions::gamma`], the codes' `|<T_i, T_j>| ≤ γ`.
    Gamma,
    /// Its own fixed margin, whatever `gamma` says.
    Fixed(f64),
    /// It has no margin (the RNNs).
    None,
}

/// The size curve of a construction.
#[derive(Clone, Copy)]
enum Curve {
    /// None of its own (vectors: its code lengths are its output).
    No,
    /// The smallest correct size at each `n`, up to `max_n` where the construction has a fixed
    /// range (`None`: only its cost estimates, checked at each length, bound it).
    Searched {
        smallest: fn(&ConstructOptions) -> Result<SizePoint, InputError>,
        max_n: Option<usize>,
    },
}

/// One row of the registry: everything the rest of ccsep asks of a construction.
struct Entry {
    name: &'static str,
    build: fn(&ConstructOptions) -> Result<Built, InputError>,
    curve: Curve,
    margin: Margin,
    /// The task's length in input symbols per unit of the size parameter `n` (see
    /// [`SizePoint::length`]).
    symbols_per_n: usize,
    /// The `ccsep check` task it is built for, or why there is none.
    check_task: Result<&'static str, fn() -> String>,
}

impl Construction {
    /// Every construction, in the order of the table above.
    pub const ALL: [Construction; 7] = [
        Construction::Vectors,
        Construction::IndexLookup,
        Construction::Equality,
        Construction::Disjointness,
        Construction::Nearest,
        Construction::DyckRnn,
        Construction::IndexRnn,
    ];

    /// The name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Construction::Vectors => "vectors",
            Construction::IndexLookup => "index-lookup",
            Construction::Equality => "equality",
            Construction::Disjointness => "disjointness",
            Construction::Nearest => "nearest",
            Construction::DyckRnn => "dyck-rnn",
            Construction::IndexRnn => "index-rnn",
        }
    }

    /// The registry: the one table of what each construction is.
    fn entry(self) -> Entry {
        use transformer::{disjointness, equality, index_lookup, nearest};
        fn nearest_is_real_valued() -> String {
            format!(
                "nearest reads real-valued points, and `ccsep check` runs one-hot token tasks: verify it with `ccsep construct nearest {} N`",
                Setting::N
            )
        }
        fn vectors_are_not_a_model() -> String {
            "`vectors` builds codes, not a model: there is nothing to check as a protocol".into()
        }
        let name = self.name();
        match self {
            Construction::Vectors => Entry {
                name,
                build: vectors::construct,
                curve: Curve::No,
                margin: Margin::Gamma,
                symbols_per_n: 1,
                check_task: Err(vectors_are_not_a_model),
            },
            Construction::IndexLookup => Entry {
                name,
                build: index_lookup::construct,
                curve: Curve::Searched {
                    smallest: index_lookup::smallest,
                    max_n: Some(index_lookup::MAX_N),
                },
                margin: Margin::Gamma,
                symbols_per_n: 1,
                check_task: Ok("index"),
            },
            Construction::Equality => Entry {
                name,
                build: equality::construct,
                curve: Curve::Searched {
                    smallest: equality::smallest,
                    max_n: Some(equality::MAX_N),
                },
                margin: Margin::Gamma,
                symbols_per_n: 2,
                check_task: Ok("equality"),
            },
            Construction::Disjointness => Entry {
                name,
                build: disjointness::construct,
                curve: Curve::Searched {
                    smallest: disjointness::smallest,
                    max_n: Some(disjointness::MAX_N),
                },
                margin: Margin::Gamma,
                symbols_per_n: 2,
                check_task: Ok("disjointness"),
            },
            Construction::Nearest => Entry {
                name,
                build: nearest::construct,
                curve: Curve::Searched {
                    smallest: nearest::smallest,
                    max_n: Some(nearest::MAX_N),
                },
                margin: Margin::Fixed(nearest::MARGIN),
                symbols_per_n: 2,
                check_task: Err(nearest_is_real_valued),
            },
            Construction::DyckRnn => Entry {
                name,
                build: recurrent::dyck::dyck,
                curve: Curve::Searched {
                    smallest: recurrent::dyck::dyck_smallest,
                    max_n: Some(recurrent::dyck::MAX_DYCK_N),
                },
                margin: Margin::None,
                symbols_per_n: 1,
                check_task: Ok("dyck-halves"),
            },
            Construction::IndexRnn => Entry {
                name,
                build: recurrent::index::index,
                curve: Curve::Searched {
                    smallest: recurrent::index::index_smallest,
                    max_n: None,
                },
                margin: Margin::None,
                symbols_per_n: 1,
                check_task: Ok("index"),
            },
        }
    }

    /// Builds and verifies the construction.
    pub fn build(self, opts: &ConstructOptions) -> Result<Built, InputError> {
        (self.entry().build)(opts)
    }

    /// The smallest correct size at length `opts.n` (searching widths and precisions as the
    /// construction allows), for the size curves.
    pub fn smallest(self, opts: &ConstructOptions) -> Result<SizePoint, InputError> {
        let Curve::Searched { smallest, .. } = self.entry().curve else {
            return Err(vectors_have_no_curve());
        };
        let mut point = smallest(opts)?;
        point.length = self.task_length(point.n);
        Ok(point)
    }

    /// The task's length in input symbols at size parameter `n` (see [`SizePoint::length`]).
    pub fn task_length(self, n: usize) -> usize {
        self.entry().symbols_per_n * n
    }

    /// The margin it is built with, as `key=value` for the settings a size curve records:
    /// `gamma=…` (the codes' `|<T_i, T_j>| ≤ γ`) for those that read
    /// [`ConstructOptions::gamma`], nearest's own fixed margin `margin=0.1` (it ignores
    /// `gamma`), and `None` for the RNNs, which have no margin.
    pub fn margin_setting(self, gamma: f64) -> Option<String> {
        match self.entry().margin {
            Margin::Gamma => Some(format!("gamma={gamma}")),
            Margin::Fixed(m) => Some(format!("margin={m}")),
            Margin::None => None,
        }
    }

    /// Whether it reads [`ConstructOptions::gamma`] (the others ignore it).
    pub fn reads_gamma(self) -> bool {
        self.entry().margin == Margin::Gamma
    }

    /// The largest size parameter `n` it takes, for refusing a size curve's lengths before any
    /// of them runs: `Some(max)` where it has a fixed range, `None` where only its cost
    /// estimates (checked at each length) bound it (index-rnn), and an error where it has no
    /// curve (vectors).
    pub fn curve_max_n(self) -> Result<Option<usize>, InputError> {
        match self.entry().curve {
            Curve::No => Err(vectors_have_no_curve()),
            Curve::Searched { max_n, .. } => Ok(max_n),
        }
    }

    /// The `ccsep check` task it is built for (what `check --construct NAME` runs when it
    /// names no `--task`): index lookup for both index constructions, the halves split of
    /// Dyck-(2,2) for the Dyck RNN (its contiguous split), and each two-party construction's own
    /// task (whose two-layer models the check then explains it cannot turn into a protocol).
    /// An error for a construction `check` cannot run on any task (nearest, vectors).
    pub fn check_task(self) -> Result<&'static str, InputError> {
        self.entry()
            .check_task
            .map_err(|why| InputError::new(why()))
    }
}

impl std::fmt::Display for Construction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Construction {
    type Err = InputError;

    /// The construction named `name`; an error naming every construction otherwise.
    fn from_str(name: &str) -> Result<Self, InputError> {
        Construction::ALL
            .into_iter()
            .find(|c| c.entry().name == name)
            .ok_or_else(|| unknown(name))
    }
}

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
pub struct Built {
    pub model: Option<Model>,
    pub precision: Option<Precision>,
    pub report: ConstructReport,
}

/// One point of a size curve: the smallest correct size found at length `n`, beside a lower
/// bound (`other_bound` says which, and in what units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
pub fn construct(name: &str, opts: &ConstructOptions) -> Result<Built, InputError> {
    name.parse::<Construction>()?.build(opts)
}

/// The smallest correct size of construction `name` at length `n` ([`Construction::smallest`]).
pub fn smallest(name: &str, opts: &ConstructOptions) -> Result<SizePoint, InputError> {
    name.parse::<Construction>()?.smallest(opts)
}

/// The margin construction `name` is built with ([`Construction::margin_setting`]); `None`
/// for an unknown name too.
pub fn margin_setting(name: &str, gamma: f64) -> Option<String> {
    name.parse::<Construction>().ok()?.margin_setting(gamma)
}

/// Whether construction `name` reads [`ConstructOptions::gamma`] ([`Construction::reads_gamma`]).
pub fn reads_gamma(name: &str) -> bool {
    name.parse::<Construction>()
        .is_ok_and(Construction::reads_gamma)
}

/// The largest size parameter of construction `name` ([`Construction::curve_max_n`]).
pub fn curve_max_n(name: &str) -> Result<Option<usize>, InputError> {
    name.parse::<Construction>()?.curve_max_n()
}

fn vectors_have_no_curve() -> InputError {
    InputError::new(
        "`vectors` has no size curve of its own: its code lengths are in `ccsep construct vectors`",
    )
}

/// The `ccsep check` task construction `name` is built for ([`Construction::check_task`]).
pub fn check_task(name: &str) -> Result<&'static str, InputError> {
    name.parse::<Construction>()?.check_task()
}

fn unknown(name: &str) -> InputError {
    InputError::new(format!(
        "unknown construction {name:?}; choose one of {}",
        NAMES.join(", ")
    ))
}
