//! `ccsep construct`: one of the paper's constructions built at a length, verified at a
//! precision and optionally saved; or its size curve over `N = 2^A .. 2^B`, one JSON line per
//! length, appended to a resumable file.

use std::path::PathBuf;

use anyhow::Context;

use crate::construct::{self, ConstructOptions, ConstructReport, Progress};
use crate::error::{EXIT_BAD_INPUT, EXIT_OK, InputError};
use crate::sweep;

use super::files::check_output_file;

/// What `ccsep construct` is asked for.
#[derive(Clone, Debug)]
pub struct ConstructRequest {
    /// The construction's name.
    pub name: String,
    pub n: Option<usize>,
    /// The precision to verify at, as given (`None`: the construction's own).
    pub precision: Option<String>,
    pub gamma: Option<f64>,
    pub seed: u64,
    pub samples: u64,
    pub save: Option<PathBuf>,
    /// `A..B`: the size curve instead of one build.
    pub curve: Option<String>,
    pub out: Option<PathBuf>,
    pub max_work: Option<f64>,
}

/// Where a construction's messages go: `status` the spinner's stage, `progress` the
/// construction's own lines.
pub struct Ui<'a> {
    pub status: super::Status<'a>,
    pub progress: Progress,
}

/// The options of one build at length `n`, validated: `--gamma` only where the construction
/// reads it and strictly between 0 and 1, `--max-work` positive.
pub fn options(
    req: &ConstructRequest,
    n: usize,
    progress: Progress,
) -> Result<ConstructOptions, InputError> {
    let gamma = match req.gamma {
        Some(_)
            if construct::NAMES.contains(&req.name.as_str())
                && !construct::reads_gamma(&req.name) =>
        {
            return Err(InputError::new(format!(
                "--gamma sets the margin of nearly orthogonal codes, and {} has none{}: drop --gamma",
                req.name,
                if req.name == "nearest" {
                    " (it uses the nearest task's margin 0.1)"
                } else {
                    ""
                }
            )));
        }
        Some(g) if !(g > 0.0 && g < 1.0) => {
            return Err(InputError::new(format!(
                "--gamma {g}: the margin must be strictly between 0 and 1"
            )));
        }
        Some(g) => g,
        None => ConstructOptions::default().gamma,
    };
    if let Some(w) = req.max_work
        && !(w.is_finite() && w > 0.0)
    {
        return Err(InputError::new(format!(
            "--max-work {w}: the work limit must be a positive number of operations (e.g. 2e12)"
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
        return Err(InputError::new(
            "--out appends a size curve's lines: add --curve A..B, or drop --out (one construction prints its report; --save writes its weights)",
        )
        .into());
    }
    let Some(n) = req.n else {
        return Err(InputError::new(format!(
            "{} needs a length: add --n N (e.g. ccsep construct {} --n 16), or --curve A..B",
            req.name, req.name
        ))
        .into());
    };
    if let Some(path) = &req.save {
        // `vectors` is the one construction that builds codes, not a model: refused before the
        // build rather than after it (the check after the build stays, for any other).
        if req.name == "vectors" {
            return Err(InputError::new(
                "vectors builds codes, not a model, so there is nothing to --save; drop --save",
            )
            .into());
        }
        check_output_file(path, "--save")?;
    }
    let opts = options(req, n, ui.progress.clone())?;
    (ui.status)(format!("building and verifying {} at n = {n}", req.name));
    let built = construct::construct(&req.name, &opts)?;
    if let Some(path) = &req.save {
        let Some(model) = &built.model else {
            return Err(InputError::new(format!(
                "{} builds no model, so there is nothing to --save",
                req.name
            ))
            .into());
        };
        model
            .save(path)
            .with_context(|| format!("could not save the model to {}", path.display()))?;
    }
    Ok(built.report)
}

/// The size curve: one JSON line per length `2^e`, to `emit` or appended to `--out`; returns
/// the exit code (bad input when a length failed on its own).
pub fn curve(
    req: &ConstructRequest,
    curve: &str,
    ui: &Ui,
    emit: super::LineSink,
) -> anyhow::Result<i32> {
    let exps = sweep::parse_usize_axis("--curve", curve)?;
    if let Some(&e) = exps.iter().find(|&&e| e >= 40) {
        return Err(InputError::new(format!(
            "--curve {curve}: exponent {e} is too large (lengths are 2^A .. 2^B with B < 40)"
        ))
        .into());
    }
    let margin = construct::margin_setting(
        &req.name,
        req.gamma.unwrap_or(ConstructOptions::default().gamma),
    )
    .map(|m| format!(" {m}"))
    .unwrap_or_default();
    let config = format!(
        "name={}{margin} seed={} samples={} precision={:?}",
        req.name, req.seed, req.samples, req.precision
    );
    let key_of = |v: &serde_json::Value| {
        let c = v.get("curve")?.as_str()?;
        Some(format!("{c}|{}", v.get("n")?.as_u64()?))
    };
    // The options are the same at every length: refused once, before anything runs; so are
    // the lengths the construction does not take.
    options(req, 1, Progress::default())?;
    if let Some(max) = construct::curve_max_n(&req.name)?
        && let Some(&e) = exps.iter().find(|&&e| 1usize << e > max)
    {
        return Err(InputError::new(format!(
            "--curve {curve}: {} takes n ≤ {max}, and 2^{e} = {} is larger; end the curve at {}",
            req.name,
            1usize << e,
            max.ilog2()
        ))
        .into());
    }
    let mut results = match &req.out {
        Some(path) => Some(sweep::Results::open(path, key_of)?),
        None => None,
    };
    let mut failed = false;
    for e in exps {
        let n = 1usize << e;
        if results
            .as_ref()
            .is_some_and(|r| r.is_done(&format!("{config}|{n}")))
        {
            continue;
        }
        (ui.status)(format!("{} at n = 2^{e} = {n}", req.name));
        let mut line = match construct::smallest(&req.name, &options(req, n, ui.progress.clone())?)
        {
            Ok(point) => serde_json::to_value(&point).expect("size points serialise"),
            Err(err) => {
                failed = true;
                serde_json::json!({"name": req.name, "n": n, "error": err.message})
            }
        };
        line["curve"] = serde_json::Value::String(config.clone());
        match &mut results {
            Some(r) => r.append(&line)?,
            None => emit(&line)?,
        }
    }
    Ok(if failed { EXIT_BAD_INPUT } else { EXIT_OK })
}
