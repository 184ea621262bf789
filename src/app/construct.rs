//! `ccsep construct`: one of the paper's constructions built at a length, verified at a
//! precision and optionally saved; or its size curve over `N = 2^A .. 2^B`, one JSON line per
//! length, appended to a resumable file.

use std::path::PathBuf;

use anyhow::Context;

use crate::construct::{ConstructOptions, ConstructReport, Construction, Progress, SizePoint};
use crate::error::{EXIT_BAD_INPUT, EXIT_OK, InputError, Setting};
use crate::sweep;

use super::files::check_output_file;

/// The margin `γ` of nearly orthogonal codes (every `|<T_i, T_j>| ≤ γ`), checked once, where
/// the request is built: strictly between 0 and 1. (The constructions keep their own range
/// checks as defensive asserts: `construct/vectors.rs` and `construct/transformer/two_party.rs`.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gamma(f64);

impl Gamma {
    /// `gamma`, refused unless strictly between 0 and 1.
    pub fn new(gamma: f64) -> Result<Gamma, InputError> {
        if gamma > 0.0 && gamma < 1.0 {
            Ok(Gamma(gamma))
        } else {
            Err(InputError::new(format!(
                "{} {gamma}: the margin must be strictly between 0 and 1",
                Setting::Gamma
            )))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// What `ccsep construct` is asked for.
#[derive(Clone, Debug)]
pub struct ConstructRequest {
    pub name: Construction,
    pub n: Option<usize>,
    /// The precision to verify at, as given (`None`: the construction's own).
    pub precision: Option<String>,
    pub gamma: Option<Gamma>,
    pub seed: u64,
    pub samples: u64,
    pub save: Option<PathBuf>,
    /// `A..B`: the size curve instead of one build.
    pub curve: Option<String>,
    pub out: Option<PathBuf>,
    pub max_work: Option<f64>,
}

/// Where a construction's messages go: `status` the spinner's stage, `progress` the
/// construction's own lines; `spell` how a curve line's error names a setting.
pub struct Ui<'a> {
    pub status: super::Status<'a>,
    pub progress: Progress,
    pub spell: super::Spell,
}

/// The options of one build at length `n`, validated: `--gamma` only where the construction
/// reads it (its range is [`Gamma`]'s), `--max-work` positive.
pub fn options(
    req: &ConstructRequest,
    n: usize,
    progress: Progress,
) -> Result<ConstructOptions, InputError> {
    let gamma = match req.gamma {
        Some(_) if !req.name.reads_gamma() => {
            return Err(InputError::new(format!(
                "{g} sets the margin of nearly orthogonal codes, and {} has none{}: drop {g}",
                req.name,
                if req.name == Construction::Nearest {
                    " (it uses the nearest task's margin 0.1)"
                } else {
                    ""
                },
                g = Setting::Gamma
            )));
        }
        Some(g) => g.get(),
        None => ConstructOptions::default().gamma,
    };
    if let Some(w) = req.max_work
        && !(w.is_finite() && w > 0.0)
    {
        return Err(InputError::new(format!(
            "{} {w}: the work limit must be a positive number of operations (e.g. 2e12)",
            Setting::MaxWork
        )));
    }
    Ok(ConstructOptions {
        n,
        precision: req
            .precision
            .as_deref()
            .map(crate::numeric::Precision::parse)
            .transpose()?,
        gamma,
        seed: req.seed,
        samples: req.samples,
        max_work: req.max_work,
        progress,
    })
}

/// Builds and verifies one construction, and saves its model where asked.
pub fn build(req: &ConstructRequest, ui: &Ui) -> anyhow::Result<ConstructReport> {
    if req.out.is_some() {
        return Err(InputError::new(format!(
            "{o} appends a size curve's lines: add {} A..B, or drop {o} (one construction prints its report; {} writes its weights)",
            Setting::Curve,
            Setting::Save,
            o = Setting::Out
        ))
        .into());
    }
    let Some(n) = req.n else {
        return Err(InputError::new(format!(
            "{name} needs a length: add {n_} N (e.g. ccsep construct {name} {n_} 16), or {} A..B",
            Setting::Curve,
            name = req.name,
            n_ = Setting::N
        ))
        .into());
    };
    if let Some(path) = &req.save {
        // `vectors` is the one construction that builds codes, not a model: refused before the
        // build rather than after it (the check after the build stays, for any other).
        if req.name == Construction::Vectors {
            return Err(InputError::new(format!(
                "vectors builds codes, not a model, so there is nothing to {s}; drop {s}",
                s = Setting::Save
            ))
            .into());
        }
        check_output_file(path, Setting::Save)?;
    }
    let opts = options(req, n, ui.progress.clone())?;
    (ui.status)(format!("building and verifying {} at n = {n}", req.name));
    let built = req.name.build(&opts)?;
    if let Some(path) = &req.save {
        let Some(model) = &built.model else {
            return Err(InputError::new(format!(
                "{} builds no model, so there is nothing to {}",
                req.name,
                Setting::Save
            ))
            .into());
        };
        model
            .save(path)
            .with_context(|| format!("could not save the model to {}", path.display()))?;
    }
    Ok(built.report)
}

/// A finished size curve: a row per length, in order (those already in `--out` included),
/// and whether a length failed on its own.
pub struct CurveSummary {
    pub name: Construction,
    /// The curve's settings as its lines record them (`"curve"`).
    pub config: String,
    pub rows: Vec<CurveRow>,
    pub failed: bool,
}

/// One length of a size curve: its smallest correct size, or why it failed.
pub struct CurveRow {
    pub n: usize,
    /// Whether its line was already in `--out` (not run again).
    pub resumed: bool,
    pub outcome: Result<SizePoint, String>,
}

impl CurveSummary {
    /// Bad input when a length failed on its own.
    pub fn exit_code(&self) -> i32 {
        if self.failed { EXIT_BAD_INPUT } else { EXIT_OK }
    }
}

/// The size curve: one JSON line per length `2^e`, to `emit` or appended to `--out`, and every
/// length as a row of the summary returned.
pub fn curve(
    req: &ConstructRequest,
    curve: &str,
    ui: &Ui,
    emit: super::LineSink,
) -> anyhow::Result<CurveSummary> {
    let exps = sweep::parse_usize_axis(&Setting::Curve.to_string(), curve)?;
    if let Some(&e) = exps.iter().find(|&&e| e >= 40) {
        return Err(InputError::new(format!(
            "{} {curve}: exponent {e} is too large (lengths are 2^A .. 2^B with B < 40)",
            Setting::Curve
        ))
        .into());
    }
    let margin = req
        .name
        .margin_setting(
            req.gamma
                .map_or(ConstructOptions::default().gamma, Gamma::get),
        )
        .map(|m| format!(" {m}"))
        .unwrap_or_default();
    let config = format!(
        "name={}{margin} seed={} samples={} precision={:?}",
        req.name, req.seed, req.samples, req.precision
    );
    // A line done keeps its point, for the summary's row.
    let key_of = |v: &serde_json::Value| {
        let c = v.get("curve")?.as_str()?;
        let point = serde_json::from_value::<SizePoint>(v.clone()).ok();
        Some((format!("{c}|{}", v.get("n")?.as_u64()?), point))
    };
    // The options are the same at every length: refused once, before anything runs; so are
    // the lengths the construction does not take.
    options(req, 1, Progress::default())?;
    if let Some(max) = req.name.curve_max_n()?
        && let Some(&e) = exps.iter().find(|&&e| 1usize << e > max)
    {
        return Err(InputError::new(format!(
            "{} {curve}: {} takes n ≤ {max}, and 2^{e} = {} is larger; end the curve at {}",
            Setting::Curve,
            req.name,
            1usize << e,
            max.ilog2()
        ))
        .into());
    }
    let mut results = match &req.out {
        Some(path) => Some(sweep::Results::open_keeping(path, key_of)?),
        None => None,
    };
    let mut failed = false;
    let mut rows = Vec::new();
    for e in exps {
        let n = 1usize << e;
        if let Some(kept) = results
            .as_ref()
            .and_then(|r| r.kept(&format!("{config}|{n}")))
        {
            let outcome = kept.clone().ok_or_else(|| {
                "its line in the results file is not a size point of this version".to_string()
            });
            rows.push(CurveRow {
                n,
                resumed: true,
                outcome,
            });
            continue;
        }
        (ui.status)(format!("{} at n = 2^{e} = {n}", req.name));
        let (mut line, outcome) = match req.name.smallest(&options(req, n, ui.progress.clone())?) {
            Ok(point) => (
                serde_json::to_value(&point).expect("size points serialise"),
                Ok(point),
            ),
            Err(err) => {
                failed = true;
                let why = err.render(ui.spell);
                (
                    serde_json::json!({"name": req.name.name(), "n": n, "error": why}),
                    Err(why),
                )
            }
        };
        line["curve"] = serde_json::Value::String(config.clone());
        match &mut results {
            Some(r) => r.append(&line)?,
            None => emit(&line)?,
        }
        rows.push(CurveRow {
            n,
            resumed: false,
            outcome,
        });
    }
    Ok(CurveSummary {
        name: req.name,
        config,
        rows,
        failed,
    })
}
