//! `ccsep check`: the model a request names (random, from weights, or a construction) run as
//! the protocol it induces, at one point — with its witness file — or over a grid of widths ×
//! precisions, one JSON line per point, appended to a resumable file. A grid with several
//! precisions is a precision sweep: after its points comes a [`SweepSummary`] per width, the
//! smallest bits per number `p` from which the model stays correct, its `m·p` beside the bound.

use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::files::check_output_file;
use super::source::ModelSource;
use super::witness::WitnessFile;
use super::{CheckReport, LineSink, Spell, Status};
use crate::construct::{ConstructOptions, Construction};
use crate::error::{EXIT_BAD_INPUT, EXIT_OK, InputError, Setting};
use crate::model::Arch;
use crate::numeric::Precision;
use crate::protocol::rnn as rnn_protocol;
use crate::protocol::transformer as transformer_protocol;
use crate::protocol::{CheckOptions, ProtocolKind, Split, reduction_kind};
use crate::sweep;
use crate::task::Reduction;

/// Which of the flags that size a random model were given on the command line.
#[derive(Clone, Copy, Debug, Default)]
pub struct SizesGiven {
    pub width: bool,
    pub layers: bool,
    pub outputs: bool,
    pub heads: bool,
}

/// What `ccsep check` is asked for.
#[derive(Clone, Debug)]
pub struct CheckRequest {
    pub task: Option<String>,
    pub arch: Option<Arch>,
    /// A width, or a grid axis of widths.
    pub width: String,
    pub layers: usize,
    pub heads: Option<usize>,
    pub outputs: usize,
    /// A precision, or a grid axis of precisions (`None`: a construction's own).
    pub precision: Option<String>,
    pub n: u32,
    pub init: Option<String>,
    pub construct: Option<Construction>,
    pub seed: u64,
    pub weights: Option<PathBuf>,
    /// The `--names` list for a weights file (`LoadOptions::with_names`).
    pub names: Option<String>,
    pub sample: Option<u64>,
    pub out: Option<PathBuf>,
    pub witness_out: Option<PathBuf>,
    pub given: SizesGiven,
}

/// What a check run gave: one report (its witness written where asked), or a grid whose lines
/// went to the sink or the `--out` file.
pub enum Outcome {
    Point(Box<CheckReport>),
    Grid(GridSummary),
}

/// A finished grid: how many points it has, how many were already in `out`, whether a point
/// failed on its own, every point as a row, and a [`SweepSummary`] per width when the grid has
/// several precisions.
pub struct GridSummary {
    pub points: usize,
    pub skipped: usize,
    pub out: Option<PathBuf>,
    pub failed: bool,
    /// The task, its `n`, the model and the problem (from the first point that ran), for a
    /// table's heading.
    pub task: String,
    pub n: u32,
    pub model: String,
    pub problem: Option<String>,
    /// Whether the grid has several widths (a table then shows a width column).
    pub several_widths: bool,
    /// Every point, in grid order (widths, then precisions as given).
    pub rows: Vec<PointRow>,
    /// One per width, in width order; none unless the grid has several precisions.
    pub sweeps: Vec<SweepSummary>,
}

/// One grid point as a sweep reads it, from its JSON line (run now, or found in `--out`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointRow {
    pub width: usize,
    pub precision: String,
    /// Bits per number `p` (`paper:K` resolved at the longest instance); `None` where the format
    /// cannot be resolved (the point then failed).
    pub p: Option<u32>,
    /// Whether the point's line was already in `--out` (not run again).
    pub resumed: bool,
    /// What the check found, or why the point failed.
    pub outcome: Result<PointResult, String>,
}

/// What a sweep reads from a point's check report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointResult {
    pub protocol: String,
    pub instances: u64,
    pub correct: u64,
    pub accuracy: f64,
    pub exhaustive: bool,
    pub distinct_messages: u64,
    pub distinct_rows: Option<u64>,
    /// `m`: numbers in one message.
    pub message_numbers: u64,
    /// `m·p`.
    pub bits_available: Option<u64>,
    pub bits_available_upper_bound: bool,
    /// The bound that binds the protocol: the one-way CC Alice → Bob for prefix / suffix, the
    /// two-way (fooling-set) lower bound for Thm 4.
    pub bound: Option<u32>,
    /// The verdict's tag (`must_err`, `enough_messages`, `inconclusive`).
    pub verdict: String,
    pub witness: bool,
    /// The problem's label (`INDEX_6`).
    pub problem: String,
}

impl PointResult {
    /// Reads a check report's JSON object (a grid line); `None` when it lacks a field.
    fn from_line(v: &serde_json::Value) -> Option<Self> {
        let protocol = v.get("protocol")?.as_str()?.to_string();
        let bound_field = if protocol == ProtocolKind::Thm4AnyPartition.name() {
            "two_way_cc_lower_bound"
        } else {
            "one_way_cc"
        };
        let u32_of = |key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_u64)
                .and_then(|b| u32::try_from(b).ok())
        };
        Some(PointResult {
            instances: v.get("instances")?.as_u64()?,
            correct: v.get("correct")?.as_u64()?,
            accuracy: v.get("accuracy")?.as_f64()?,
            exhaustive: v.get("exhaustive")?.as_bool()?,
            distinct_messages: v.get("distinct_messages")?.as_u64()?,
            distinct_rows: v.get("distinct_rows")?.as_u64(),
            message_numbers: v.get("message_numbers")?.as_u64()?,
            bits_available: v.get("bits_available")?.as_u64(),
            bits_available_upper_bound: v.get("bits_available_upper_bound")?.as_bool()?,
            bound: u32_of(bound_field),
            verdict: v.get("verdict")?.get("tag")?.as_str()?.to_string(),
            witness: !v.get("witness")?.is_null(),
            problem: v.get("problem")?.as_str()?.to_string(),
            protocol,
        })
    }

    /// Right on every instance covered.
    pub fn all_correct(&self) -> bool {
        self.instances > 0 && self.correct == self.instances
    }
}

/// The line that closes a precision sweep (JSON: one line, told from the point lines by its
/// `"kind"`, which they lack): the smallest `p` of the range at which the model is right on
/// every instance and stays right at every larger `p` of it, its `m·p`, and the bound.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepSummary {
    /// Always [`SWEEP_SUMMARY_KIND`].
    pub kind: &'static str,
    pub task: String,
    pub n: u32,
    /// The width of a random model (`None`: a model with its own sizes).
    pub width: Option<usize>,
    /// The model, as a grid table's heading names it (`lstm from FILE`, `random rnn of width 4
    /// (seed 0)`, `the index-rnn construction`): what a figure labels the sweep with.
    pub model: String,
    pub protocol: Option<String>,
    /// Points of this width, and the precisions among them that failed (no result).
    pub points: usize,
    pub failed: Vec<String>,
    /// The smallest and largest `p` of the range.
    pub p_min: Option<u32>,
    pub p_max: Option<u32>,
    /// Whether the points checked a `--sample` of Alice's inputs only.
    pub sampled: bool,
    /// The `p`s at which the model is right on every instance covered.
    pub correct_at: Vec<u32>,
    /// The smallest `p` from which the model stays right up to the end of the range.
    pub stays_correct_from: Option<SweepPick>,
    /// The bound beside `m·p`, and which one it is.
    pub bound: Option<u32>,
    pub bound_kind: &'static str,
    pub sentence: String,
}

/// The value of [`SweepSummary::kind`].
pub const SWEEP_SUMMARY_KIND: &str = "precision_sweep_summary";

/// The point a sweep's verdict names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPick {
    pub p: u32,
    /// The precisions at that `p` (several when a list holds formats of equal width).
    pub precisions: Vec<String>,
    /// `m`, and `m·p` (whether it bounds the bits sent: see the check report).
    pub message_numbers: u64,
    pub bits_available: Option<u64>,
    pub bits_available_upper_bound: bool,
    /// `m·p ≥ bound`.
    pub meets_bound: Option<bool>,
}

impl GridSummary {
    /// Bad input when a point failed on its own.
    pub fn exit_code(&self) -> i32 {
        if self.failed { EXIT_BAD_INPUT } else { EXIT_OK }
    }
}

/// The model of one check: a `--construct` construction, from `--weights`, or random at
/// `width`.
fn source(
    req: &CheckRequest,
    width: usize,
    precision: &Precision,
) -> Result<ModelSource, InputError> {
    if let Some(name) = req.construct {
        return Ok(ModelSource::Construct {
            name: name.name().to_string(),
            n: req.n as usize,
            seed: req.seed,
            precision: Some(precision.name()),
        });
    }
    let arch = req.arch.map(Arch::name).unwrap_or_default().to_string();
    match (&req.weights, req.init.as_deref()) {
        (Some(path), _) => Ok(ModelSource::Weights {
            arch,
            path: path.display().to_string(),
            names: req.names.clone(),
        }),
        (None, Some("random")) => Ok(ModelSource::Random {
            arch,
            width,
            layers: req.layers,
            output: req.outputs,
            seed: req.seed,
            heads: req.heads,
        }),
        (None, Some(other)) => Err(InputError::new(format!(
            "{} {other:?}: only random is supported (or pass {} FILE)",
            Setting::Init,
            Setting::Weights
        ))),
        (None, None) => Err(InputError::new(format!(
            "name the model: {} random {} S, {} FILE, or {} NAME",
            Setting::Init,
            Setting::Seed,
            Setting::Weights,
            Setting::Construct
        ))),
    }
}

/// One check: the Thm 4 protocol for a Transformer, prefix / suffix for a recurrent model.
fn point(
    req: &CheckRequest,
    source: &ModelSource,
    precision: &Precision,
    reduction: &Reduction,
    progress: Status,
) -> Result<CheckReport, InputError> {
    let model = source.build(reduction.task().input_dim())?;
    let options = check_options(req);
    if model.state_size().is_none() {
        transformer_protocol::check(&model, source, precision, reduction, &options, progress)
    } else {
        let split = Split::new(reduction.clone())?;
        rnn_protocol::check(&model, source, precision, &split, &options, progress)
    }
}

/// Refuses what can be refused before any work: unwritable output files, and random-model
/// sizes given for a model that has its own.
fn refuse_early(req: &CheckRequest) -> Result<(), InputError> {
    if let Some(path) = &req.witness_out {
        check_output_file(path, Setting::WitnessOut)?;
    }
    // Before a --construct model is built to learn its precision (the grid reads the file later).
    if let Some(path) = &req.out {
        check_output_file(path, Setting::Out)?;
    }
    let g = req.given;
    if req.construct.is_some() && (g.width || g.layers || g.outputs || g.heads) {
        return Err(InputError::new(format!(
            "{}, {}, {} and {} size a random model; a {} model has its own sizes, so drop them",
            Setting::Width,
            Setting::Layers,
            Setting::Outputs,
            Setting::Heads,
            Setting::Construct
        )));
    }
    if req.weights.is_some() && (g.layers || g.outputs || g.heads) {
        return Err(InputError::new(format!(
            "{}, {} and {} size a random model; a {} model has its own sizes (heads from the file's metadata), so drop them",
            Setting::Layers,
            Setting::Outputs,
            Setting::Heads,
            Setting::Weights
        )));
    }
    Ok(())
}

/// Runs the check: one point, or a grid (several widths or precisions, or `--out`) whose lines
/// go to `emit` or the `--out` file; a grid point's error names settings as `spell` writes them.
pub fn run(
    req: &CheckRequest,
    status: Status,
    emit: LineSink,
    spell: Spell,
) -> anyhow::Result<Outcome> {
    refuse_early(req)?;
    let task = check_task(req)?;
    let widths = sweep::parse_usize_axis(&Setting::Width.to_string(), &req.width)?;
    if widths.contains(&0) {
        return Err(InputError::new(format!(
            "{w} {}: every width must be at least 1 (e.g. {w} 1..{})",
            req.width,
            widths.iter().max().copied().unwrap_or(1).max(1),
            w = Setting::Width
        ))
        .into());
    }
    let reduction = Reduction::new(reduction_kind(&task)?, req.n)?;
    let precisions = sweep::parse_precision_axis(&check_precision(req)?)?;
    if widths.len() > 1 || precisions.len() > 1 || req.out.is_some() {
        let grid = Grid {
            task: &task,
            widths: &widths,
            precisions: &precisions,
            reduction: &reduction,
        };
        return Ok(Outcome::Grid(run_grid(req, &grid, status, emit, spell)?));
    }
    let (width, precision) = (widths[0], precisions[0]);
    let source = source(req, width, &precision)?;
    let report = point(req, &source, &precision, &reduction, status)?;
    if let (Some(path), Some(file)) = (
        &req.witness_out,
        WitnessFile::of_check(&source, precision, &report),
    ) {
        file.write(path)?;
    }
    Ok(Outcome::Point(Box::new(report)))
}

/// The check's `--task`; with `--construct`, the task the construction is built for when none
/// is given ([`Construction::check_task`], which also refuses a construction that is no one-hot
/// token model, whatever the task).
fn check_task(req: &CheckRequest) -> Result<String, InputError> {
    let own = req.construct.map(Construction::check_task).transpose()?;
    // clap requires --task without --construct.
    Ok(req
        .task
        .clone()
        .or(own.map(str::to_string))
        .unwrap_or_default())
}

/// The check's `--precision`; with `--construct` and none given, the precision `ccsep
/// construct NAME --n N --seed S` reports (the construction is built here to learn it, and
/// again by the check at that precision).
fn check_precision(req: &CheckRequest) -> Result<String, InputError> {
    match (&req.precision, req.construct) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(name)) => {
            let opts = ConstructOptions {
                n: req.n as usize,
                seed: req.seed,
                ..ConstructOptions::default()
            };
            name.build(&opts)?.report.precision.ok_or_else(|| {
                InputError::new(format!(
                    "the construction {name} reports no precision: give one with {}",
                    Setting::Precision
                ))
            })
        }
        // clap requires --precision without --construct.
        (None, None) => Ok(String::new()),
    }
}

/// The key of a grid point in a results line: its settings, width and precision.
fn grid_key(config: &str, width: usize, precision: &str) -> String {
    format!("{config}|{width}|{precision}")
}

/// Everything but the axes that a grid point's result depends on, as one string: lines of a
/// results file written with other settings are not taken for this grid's points.
fn grid_config(req: &CheckRequest, task: &str) -> String {
    format!(
        "task={} n={} arch={:?} init={:?} weights={:?} construct={:?} seed={} layers={} outputs={} heads={:?} sample={:?}",
        task,
        req.n,
        req.arch.map(Arch::name),
        req.init,
        req.weights,
        req.construct.map(Construction::name),
        req.seed,
        req.layers,
        req.outputs,
        req.heads,
        req.sample
    )
}

/// A grid's axes and what every point shares.
struct Grid<'a> {
    task: &'a str,
    widths: &'a [usize],
    precisions: &'a [Precision],
    reduction: &'a Reduction,
}

/// The grid's points, refused when there are more than one run takes.
fn grid_points<'a>(
    req: &CheckRequest,
    grid: &Grid<'a>,
) -> Result<Vec<(usize, &'a Precision)>, InputError> {
    if req.witness_out.is_some() {
        return Err(InputError::new(format!(
            "{wo} writes one witness; a grid keeps each point's witness in its JSON line, so drop {wo}",
            wo = Setting::WitnessOut
        )));
    }
    if req.weights.is_some() && grid.widths.len() > 1 {
        return Err(InputError::new(format!(
            "{} ranges apply to random models; a {} file has its own width",
            Setting::Width,
            Setting::Weights
        )));
    }
    let points: Vec<(usize, &Precision)> = grid
        .widths
        .iter()
        .flat_map(|&w| grid.precisions.iter().map(move |p| (w, p)))
        .collect();
    if points.len() > sweep::MAX_POINTS {
        return Err(InputError::new(format!(
            "the grid has {} widths x {} precisions = {} points, more than one run takes ({}); \
             split it into several runs over narrower {} or {} ranges (the same \
             {} FILE collects them all)",
            grid.widths.len(),
            grid.precisions.len(),
            points.len(),
            sweep::MAX_POINTS,
            Setting::Width,
            Setting::Precision,
            Setting::Out
        )));
    }
    // Sources are validated before any point runs, and so are the sizes: a size too large for
    // the check is refused once, not at every point (the protocol follows the architecture; a
    // construction's sizes are refused at its points).
    for &(w, p) in &points {
        source(req, w, p)?;
    }
    let options = check_options(req);
    match req.arch {
        Some(Arch::Transformer) => transformer_protocol::refuse_sizes(grid.reduction, &options)?,
        Some(_) => rnn_protocol::refuse_sizes(&Split::new(grid.reduction.clone())?, &options)?,
        None => {}
    }
    Ok(points)
}

/// The protocol's options a request sets.
fn check_options(req: &CheckRequest) -> CheckOptions {
    CheckOptions {
        sample: req.sample,
        seed: req.seed,
        ..CheckOptions::default()
    }
}

/// The model of a grid, for a table's heading (a random model's width where it has one).
fn describe_model(req: &CheckRequest, widths: &[usize]) -> String {
    let arch = req.arch.map(Arch::name).unwrap_or_default();
    match (req.construct, &req.weights, widths) {
        (Some(name), _, _) => format!("the {name} construction"),
        (None, Some(path), _) => format!("{arch} from {}", path.display()),
        (None, None, [w]) => format!("random {arch} of width {w} (seed {})", req.seed),
        (None, None, _) => format!("random {arch} (seed {})", req.seed),
    }
}

/// The summary of one width's points of a precision sweep (`rows`: that width's, in any
/// order). Levels are the distinct `p`; the model stays correct from `p` when every point at
/// `p` or above is right on every instance covered. A failed point counts as not correct.
fn summarise(
    req: &CheckRequest,
    task: &str,
    width: usize,
    rows: &[&PointRow],
    spell: Spell,
) -> SweepSummary {
    let results: Vec<&PointResult> = rows
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .collect();
    let protocol = results.first().map(|r| r.protocol.clone());
    let thm4 = protocol.as_deref() == Some(ProtocolKind::Thm4AnyPartition.name());
    let bound = results.iter().find_map(|r| r.bound);
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.outcome.is_err())
        .map(|r| r.precision.clone())
        .collect();
    let sampled = results.iter().any(|r| !r.exhaustive);
    let ok = |r: &&PointRow| r.outcome.as_ref().is_ok_and(PointResult::all_correct);
    let mut levels: Vec<u32> = rows.iter().filter_map(|r| r.p).collect();
    levels.sort_unstable();
    levels.dedup();
    let at = |p: u32| rows.iter().filter(move |r| r.p == Some(p));
    let correct_at: Vec<u32> = levels.iter().copied().filter(|&p| at(p).all(ok)).collect();
    let from = levels
        .iter()
        .copied()
        .find(|&p| rows.iter().filter(|r| r.p.is_some_and(|q| q >= p)).all(ok));
    let pick = from.map(|p| {
        let first = at(p)
            .find_map(|r| r.outcome.as_ref().ok())
            .expect("every point at this p is correct");
        SweepPick {
            p,
            precisions: at(p).map(|r| r.precision.clone()).collect(),
            message_numbers: first.message_numbers,
            bits_available: first.bits_available,
            bits_available_upper_bound: at(p)
                .filter_map(|r| r.outcome.as_ref().ok())
                .all(|r| r.bits_available_upper_bound),
            meets_bound: first
                .bits_available
                .zip(bound)
                .map(|(b, n)| b >= u64::from(n)),
        }
    });
    let (p_min, p_max) = (levels.first().copied(), levels.last().copied());
    let bound_kind = if thm4 {
        "two_way_cc_lower_bound"
    } else {
        "one_way_cc"
    };
    let sentence = sweep_sentence(&SentenceParts {
        pick: pick.as_ref(),
        correct_at: &correct_at,
        wrong_top: levels.iter().copied().rev().find(|&p| !at(p).all(ok)),
        range: (p_min, p_max),
        bound,
        thm4,
        sample: req.sample.filter(|_| sampled),
        failed: &failed,
        points: rows.len(),
        spell,
    });
    SweepSummary {
        kind: SWEEP_SUMMARY_KIND,
        task: task.to_string(),
        n: req.n,
        width: (req.weights.is_none() && req.construct.is_none()).then_some(width),
        model: describe_model(req, &[width]),
        protocol,
        points: rows.len(),
        failed,
        p_min,
        p_max,
        sampled,
        correct_at,
        stays_correct_from: pick,
        bound,
        bound_kind,
        sentence,
    }
}

/// What a sweep's sentence is made of.
struct SentenceParts<'a> {
    pick: Option<&'a SweepPick>,
    correct_at: &'a [u32],
    /// The largest `p` at which some point is not correct.
    wrong_top: Option<u32>,
    range: (Option<u32>, Option<u32>),
    bound: Option<u32>,
    thm4: bool,
    /// `--sample K` where the points are sampled.
    sample: Option<u64>,
    failed: &'a [String],
    points: usize,
    spell: Spell,
}

/// The sweep's verdict in a sentence: from which `p` the model stays correct and its `m·p`
/// beside the bound, or that it does at no `p` of the range; sampled and failed points said.
fn sweep_sentence(s: &SentenceParts) -> String {
    let list = |ps: &[u32]| ps.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let range = match s.range {
        (Some(a), Some(b)) if a == b => format!("p = {a}"),
        (Some(a), Some(b)) => format!("p = {a} .. {b}"),
        _ => "no p could be resolved".to_string(),
    };
    let bound_name = if s.thm4 {
        "the two-way CC lower bound (fooling set) of this partition"
    } else {
        "the one-way CC A->B"
    };
    let mut out = match s.sample {
        Some(k) => format!(
            "sampled ({} {k}: Alice's inputs drawn, not all), so on the instances covered only: ",
            (s.spell)(Setting::Sample)
        ),
        None => String::new(),
    };
    match s.pick {
        Some(pick) => {
            let _ = write!(
                out,
                "correct from p = {} ({}){}",
                pick.p,
                pick.precisions.join(", "),
                match s.range.1 {
                    Some(top) if top > pick.p => format!(" through the range's largest, p = {top}"),
                    _ => ", the range's largest p".to_string(),
                }
            );
            if let Some(mp) = pick.bits_available {
                // The Thm 4 transcript's sums carry more bits than p each: say how it is counted.
                let plain = pick.message_numbers * u64::from(pick.p);
                let how = if mp == plain {
                    format!("{} × {} = {mp} bits", pick.message_numbers, pick.p)
                } else {
                    format!(
                        "{mp} bits ({} numbers at p = {}, counted as the check counts the bits each number carries: {} than {} × {})",
                        pick.message_numbers,
                        pick.p,
                        if mp > plain { "more" } else { "fewer" },
                        pick.message_numbers,
                        pick.p
                    )
                };
                let _ = match s.bound {
                    Some(b) => {
                        let cmp = if mp >= u64::from(b) { "≥" } else { "<" };
                        write!(out, ": m·p = {how} {cmp} {b} bits, {bound_name}")
                    }
                    None => write!(
                        out,
                        ": m·p = {how}; no bound (the problem's matrix is past the memory cap)"
                    ),
                };
            }
            if !pick.bits_available_upper_bound {
                out.push_str(
                    " (m·p counts the format's bits; the protocol's exact f64 partial sums need more)",
                );
            }
        }
        None => {
            if s.correct_at.is_empty() {
                let _ = write!(out, "not correct at any p in the range ({range})");
            } else {
                let _ = write!(
                    out,
                    "correct at p = {} but not at p = {}: at no p of the range ({range}) does it stay correct",
                    list(s.correct_at),
                    s.wrong_top.map_or("-".to_string(), |p| p.to_string())
                );
            }
            if let Some(b) = s.bound {
                let _ = write!(out, "; the bound is {b} bits, {bound_name}");
            }
        }
    }
    if !s.failed.is_empty() {
        let _ = write!(
            out,
            "; {} of {} points failed ({}): no result there, counted as not correct (their lines carry the error)",
            s.failed.len(),
            s.points,
            s.failed.join(", ")
        );
    }
    out
}

/// `ccsep check` over widths × precisions: one JSON line per point (the check's JSON object plus
/// `"grid": {"width", "precision"}`), to `emit` or appended to `--out`, which a rerun resumes.
/// A point that fails on its own (a size that will not fit) gets a line with `"error"`; the
/// others still run, and the exit code is then 2. Every point, run or resumed, becomes a row
/// of the summary; with several precisions, each width's rows a [`SweepSummary`].
fn run_grid(
    req: &CheckRequest,
    grid: &Grid,
    status: Status,
    emit: LineSink,
    spell: Spell,
) -> anyhow::Result<GridSummary> {
    let points = grid_points(req, grid)?;
    let config = grid_config(req, grid.task);
    let key_of = |v: &serde_json::Value| {
        let g = v.get("grid")?;
        let key = grid_key(
            g.get("config")?.as_str()?,
            usize::try_from(g.get("width")?.as_u64()?).ok()?,
            g.get("precision")?.as_str()?,
        );
        Some((key, PointResult::from_line(v)))
    };
    let mut results = match &req.out {
        Some(path) => Some(sweep::Results::open_keeping(path, key_of)?),
        None => None,
    };
    let mut failed = false;
    let mut skipped = 0;
    let mut rows = Vec::with_capacity(points.len());
    for (i, &(width, precision)) in points.iter().enumerate() {
        let key = grid_key(&config, width, &precision.name());
        let p = crate::protocol::resolve(precision, grid.reduction)
            .ok()
            .and_then(|q| q.bits());
        let row = |resumed, outcome| PointRow {
            width,
            precision: precision.name(),
            p,
            resumed,
            outcome,
        };
        if let Some(kept) = results.as_ref().and_then(|r| r.kept(&key)) {
            skipped += 1;
            let outcome = kept.clone().ok_or_else(|| {
                "its line in the results file lacks fields of a check report".to_string()
            });
            rows.push(row(true, outcome));
            continue;
        }
        let label = format!(
            "point {}/{}: width {width}, {}",
            i + 1,
            points.len(),
            precision.name()
        );
        status(label.clone());
        let source = source(req, width, precision)?;
        let grid_value =
            serde_json::json!({"width": width, "precision": precision.name(), "config": config});
        let (line, outcome) = match point(req, &source, precision, grid.reduction, &|m| {
            status(format!("{label}: {m}"))
        }) {
            Ok(report) => {
                let mut v = serde_json::to_value(&report).expect("reports serialise");
                v["grid"] = grid_value;
                let result = PointResult::from_line(&v).expect("a report has every field");
                (v, Ok(result))
            }
            Err(e) => {
                failed = true;
                let message = e.render(spell);
                (
                    serde_json::json!({"grid": grid_value, "error": message}),
                    Err(message),
                )
            }
        };
        match &mut results {
            Some(r) => r.append(&line)?,
            None => emit(&line)?,
        }
        rows.push(row(false, outcome));
    }
    let sweeps = if grid.precisions.len() > 1 {
        grid.widths
            .iter()
            .map(|&w| {
                let mine: Vec<&PointRow> = rows.iter().filter(|r| r.width == w).collect();
                summarise(req, grid.task, w, &mine, spell)
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(GridSummary {
        points: points.len(),
        skipped,
        out: req.out.clone(),
        failed,
        task: grid.task.to_string(),
        n: req.n,
        model: describe_model(req, grid.widths),
        problem: rows
            .iter()
            .find_map(|r| r.outcome.as_ref().ok().map(|o| o.problem.clone())),
        several_widths: grid.widths.len() > 1,
        rows,
        sweeps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> CheckRequest {
        CheckRequest {
            task: Some("index".into()),
            arch: Some(Arch::Rnn),
            width: "2".into(),
            layers: 1,
            heads: None,
            outputs: 1,
            precision: None,
            n: 4,
            init: Some("random".into()),
            construct: None,
            seed: 0,
            weights: None,
            names: None,
            sample: None,
            out: None,
            witness_out: None,
            given: SizesGiven::default(),
        }
    }

    /// A row at `p`: right on every instance, wrong on some, or failed.
    fn row(p: u32, outcome: Option<bool>) -> PointRow {
        PointRow {
            width: 2,
            precision: format!("fixed:1.{}", p - 2),
            p: Some(p),
            resumed: false,
            outcome: match outcome {
                None => Err("failed".into()),
                Some(right) => Ok(PointResult {
                    protocol: "prefix-suffix".into(),
                    instances: 64,
                    correct: if right { 64 } else { 40 },
                    accuracy: if right { 1.0 } else { 0.625 },
                    exhaustive: true,
                    distinct_messages: 16,
                    distinct_rows: Some(16),
                    message_numbers: 2,
                    bits_available: Some(2 * u64::from(p)),
                    bits_available_upper_bound: true,
                    bound: Some(4),
                    verdict: "enough_messages".into(),
                    witness: false,
                    problem: "INDEX_4".into(),
                }),
            },
        }
    }

    fn summary(rows: &[PointRow]) -> SweepSummary {
        let refs: Vec<&PointRow> = rows.iter().collect();
        summarise(&req(), "index", 2, &refs, spell)
    }

    fn spell(s: Setting) -> String {
        s.name().to_string()
    }

    #[test]
    fn stays_correct_from_above_the_last_error() {
        let s = summary(&[
            row(3, Some(true)),
            row(4, Some(false)),
            row(5, Some(true)),
            row(6, Some(true)),
        ]);
        let pick = s.stays_correct_from.as_ref().unwrap();
        assert_eq!(pick.p, 5);
        assert_eq!(pick.bits_available, Some(10));
        assert_eq!(pick.meets_bound, Some(true));
        assert_eq!(s.correct_at, [3, 5, 6]);
        // The model the sweep is of, as a figure labels it.
        assert_eq!(s.model, "random rnn of width 2 (seed 0)");
        assert!(
            s.sentence
                .starts_with("correct from p = 5 (fixed:1.3) through the range's largest, p = 6: m·p = 2 × 5 = 10 bits ≥ 4 bits"),
            "{}",
            s.sentence
        );
    }

    /// A failed point counts as not correct and is named; a wrong top means no p stays correct.
    #[test]
    fn failed_points_are_said_and_break_the_chain() {
        let s = summary(&[row(3, Some(true)), row(4, None), row(5, Some(true))]);
        assert_eq!(s.stays_correct_from.as_ref().map(|p| p.p), Some(5));
        assert_eq!(s.failed, ["fixed:1.2"]);
        assert!(
            s.sentence.contains("1 of 3 points failed (fixed:1.2)"),
            "{}",
            s.sentence
        );
        let s = summary(&[row(3, Some(true)), row(4, Some(false))]);
        assert!(s.stays_correct_from.is_none());
        assert!(
            s.sentence.starts_with("correct at p = 3 but not at p = 4"),
            "{}",
            s.sentence
        );
        let s = summary(&[row(3, Some(false)), row(4, Some(false))]);
        assert!(
            s.sentence
                .starts_with("not correct at any p in the range (p = 3 .. 4)"),
            "{}",
            s.sentence
        );
    }
}
