//! `ccsep train`: one training run, or a search for the smallest width, from a config built of
//! a TOML file and flags (flags win).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::error::InputError;
use crate::train::config::TrainConfig;
use crate::train::run::{RunOptions, RunRecord, prepare, train};
use crate::train::search::{SearchSpec, SearchSummary, search};

/// A finished width search: every run's record, in the order they were reported, and the
/// search's answer.
pub struct SearchReport {
    pub runs: Vec<RunRecord>,
    pub summary: SearchSummary,
}

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

/// Refuses, before any work, a weights path that cannot be written (a directory, a missing
/// folder, a read-only place, a device), or whose checkpoint path cannot.
pub fn check_out(out: &std::path::Path) -> Result<(), InputError> {
    use crate::error::Setting;
    if std::fs::metadata(out).is_ok_and(|m| !m.is_file()) {
        return Err(InputError::new(format!(
            "{} {}: not a regular file; name a file for the weights",
            Setting::Out,
            out.display()
        )));
    }
    super::files::check_output_file(out, Setting::Out)?;
    super::files::check_output_file(&crate::train::run::checkpoint_path(out), Setting::Out)
}

/// Runs a width search; every run's record goes to `record` as it is known.
pub fn run_search(
    base: &TrainConfig,
    spec: &SearchSpec,
    record: &mut dyn FnMut(&RunRecord) -> anyhow::Result<()>,
    status: super::Status<'_>,
    stop: Option<Arc<AtomicBool>>,
) -> anyhow::Result<SearchSummary> {
    search(base, spec, record, status, stop)
}

/// The summary line a finished search left as the last line of `path`, if it did.
pub fn finished_summary(path: &std::path::Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let last: serde_json::Value = serde_json::from_str(text.lines().last()?).ok()?;
    (last["kind"] == "min_width" && last["interrupted"] == false).then_some(last)
}

/// The `ccsep check` command line that runs a trained model as the protocol of its task's
/// communication problem, where `check` has one: `check --n` counts one party's bits, so
/// equality and disjointness trained at `n` (both halves) are checked at `n / 2`. `None` for
/// the tasks and models `check` does not take (recall with other than its two values, an
/// alphabet other than 2, the copy variant, a Transformer of more than one layer).
pub fn check_command(c: &TrainConfig, weights: &str) -> Option<String> {
    use crate::task::EqVariant;
    let transformer = c.arch == "transformer";
    if transformer && c.layers != 1 {
        return None;
    }
    let (task, n) = match c.task.as_str() {
        "index" | "index-lookup" if c.alphabet.unwrap_or(2) == 2 => ("index", c.n),
        "equality" | "eq"
            if c.variant.is_none_or(|v| v != EqVariant::Copy) && c.alphabet.unwrap_or(2) == 2 =>
        {
            ("eq", c.n / 2)
        }
        "disjointness" | "disj" => ("disj", c.n / 2),
        "dyck" if c.types.unwrap_or(2) == 2 && c.depth.unwrap_or(2) == 2 => {
            (if transformer { "dyck" } else { "dyck-halves" }, c.n)
        }
        _ => return None,
    };
    Some(format!(
        "ccsep check --task {task} --arch {} --weights {weights} --n {n} --precision fixed:2.1..fixed:2.12",
        c.arch
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printed `check` command names check's own `--n` (one party's bits) and task, and is
    /// absent for what `check` cannot run.
    #[test]
    fn the_suggested_check_command_fits_check() {
        let c = TrainConfig::new("equality", 8, "lstm");
        let cmd = check_command(&c, "w.st").unwrap();
        assert!(
            cmd.contains("--task eq ") && cmd.contains("--n 4 "),
            "{cmd}"
        );
        let c = TrainConfig::new("dyck", 8, "lstm");
        assert!(
            check_command(&c, "w")
                .unwrap()
                .contains("--task dyck-halves")
        );
        let c = TrainConfig::new("dyck", 8, "transformer");
        assert!(check_command(&c, "w").unwrap().contains("--task dyck "));
        let mut c = TrainConfig::new("index", 8, "transformer");
        assert!(check_command(&c, "w").unwrap().contains("--n 8 "));
        c.layers = 2;
        assert_eq!(check_command(&c, "w"), None);
        let mut c = TrainConfig::new("index", 8, "lstm");
        c.alphabet = Some(64);
        assert_eq!(check_command(&c, "w"), None);
        assert_eq!(
            check_command(&TrainConfig::new("recall", 3, "lstm"), "w"),
            None
        );
    }
}
