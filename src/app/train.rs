//! `ccsep train`: one training run, or a search for the smallest width, from a config built of
//! a TOML file and flags (flags win).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::error::InputError;
use crate::train::config::TrainConfig;
use crate::train::run::{RunOptions, RunRecord, prepare, train};
use crate::train::search::{SearchSpec, SearchSummary, search};

/// One run.
pub struct TrainRequest {
    pub config: TrainConfig,
    /// Best weights go here; `None`: the default name (`default_out`).
    pub out: Option<PathBuf>,
    pub resume: bool,
    pub progress: bool,
    pub stop: Option<Arc<AtomicBool>>,
}

/// The weights file a run writes when `--out` is not given:
/// `<arch>-<task>-n<n>-w<width>-s<seed>.safetensors` in the current directory.
pub fn default_out(c: &TrainConfig) -> PathBuf {
    PathBuf::from(format!(
        "{}-{}-n{}-w{}-s{}.safetensors",
        c.arch, c.task, c.n, c.width, c.seed
    ))
}

/// Runs one training run. The config is validated (and the output path checked) before any
/// model is built.
pub fn run(req: &TrainRequest) -> anyhow::Result<RunRecord> {
    prepare(&req.config)?;
    let out = req.out.clone().unwrap_or_else(|| default_out(&req.config));
    if !req.resume && out.is_dir() {
        return Err(InputError::new(format!(
            "--out '{}' is a directory; name a file",
            out.display()
        ))
        .into());
    }
    let opts = RunOptions {
        out: Some(out),
        resume: req.resume,
        progress: req.progress,
        stop: req.stop.clone(),
    };
    train(&req.config, &opts)
}

/// Runs a width search; every run's record goes to `record` as it is known.
pub fn run_search(
    base: &TrainConfig,
    spec: &SearchSpec,
    record: &mut dyn FnMut(&RunRecord) -> anyhow::Result<()>,
    status: super::Status<'_>,
) -> anyhow::Result<SearchSummary> {
    search(base, spec, record, status)
}

/// The summary line a finished search left as the last line of `path`, if it did.
pub fn finished_summary(path: &std::path::Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let last: serde_json::Value = serde_json::from_str(text.lines().last()?).ok()?;
    (last["kind"] == "min_width").then_some(last)
}
