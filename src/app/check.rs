//! `ccsep check`: the model a request names (random, from weights, or a construction) run as
//! the protocol it induces, at one point — with its witness file — or over a grid of widths ×
//! precisions, one JSON line per point, appended to a resumable file.

use std::path::PathBuf;

use anyhow::Context;

use super::files::check_output_file;
use super::source::ModelSource;
use super::witness::{WITNESS_VERSION, WitnessFile};
use super::{CheckReport, LineSink, Spell, Status};
use crate::construct::{ConstructOptions, Construction};
use crate::error::{EXIT_BAD_INPUT, EXIT_OK, InputError, Setting};
use crate::model::Arch;
use crate::numeric::Precision;
use crate::protocol::rnn as rnn_protocol;
use crate::protocol::transformer as transformer_protocol;
use crate::protocol::{CheckOptions, Split, reduction_kind};
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

/// A finished grid: how many points it has, how many were already in `out`, and whether a
/// point failed on its own.
pub struct GridSummary {
    pub points: usize,
    pub skipped: usize,
    pub out: Option<PathBuf>,
    pub failed: bool,
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
            // Absolute, so that a witness file re-runs from any directory.
            path: std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
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
    let options = CheckOptions {
        sample: req.sample,
        seed: req.seed,
        ..CheckOptions::default()
    };
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
    if let (Some(path), Some(w)) = (&req.witness_out, &report.witness) {
        let file = WitnessFile {
            ccsep_witness: WITNESS_VERSION,
            model: source.clone(),
            precision,
            task: report.task.clone(),
            n: report.n,
            x: w.x,
            x_prime: w.x_prime,
            y: w.y,
            y_prime: w.y_prime,
            expected: [w.f_x, w.f_x_prime],
            answers: [w.answer, w.answer],
        };
        let text = serde_json::to_string_pretty(&file).expect("witnesses serialise");
        // Writability was checked before the work; what fails now is the disk.
        std::fs::write(path, text)
            .with_context(|| format!("could not write witness file {}", path.display()))?;
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
    // Sources are validated before any point runs.
    for &(w, p) in &points {
        source(req, w, p)?;
    }
    Ok(points)
}

/// `ccsep check` over widths × precisions: one JSON line per point (the check's JSON object plus
/// `"grid": {"width", "precision"}`), to `emit` or appended to `--out`, which a rerun resumes.
/// A point that fails on its own (a size that will not fit) gets a line with `"error"`; the
/// others still run, and the exit code is then 2.
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
        Some(grid_key(
            g.get("config")?.as_str()?,
            usize::try_from(g.get("width")?.as_u64()?).ok()?,
            g.get("precision")?.as_str()?,
        ))
    };
    let mut results = match &req.out {
        Some(path) => Some(sweep::Results::open(path, key_of)?),
        None => None,
    };
    let mut failed = false;
    let mut skipped = 0;
    for (i, &(width, precision)) in points.iter().enumerate() {
        let key = grid_key(&config, width, &precision.name());
        if results.as_ref().is_some_and(|r| r.is_done(&key)) {
            skipped += 1;
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
        let line = match point(req, &source, precision, grid.reduction, &|m| {
            status(format!("{label}: {m}"))
        }) {
            Ok(report) => {
                let mut v = serde_json::to_value(&report).expect("reports serialise");
                v["grid"] = grid_value;
                v
            }
            Err(e) => {
                failed = true;
                serde_json::json!({"grid": grid_value, "error": e.render(spell)})
            }
        };
        match &mut results {
            Some(r) => r.append(&line)?,
            None => emit(&line)?,
        }
    }
    Ok(GridSummary {
        points: points.len(),
        skipped,
        out: req.out.clone(),
        failed,
    })
}
