//! The smallest width at which an architecture learns a task within a step budget, over a small
//! grid of learning rates and seeds: at each listed width (in increasing order) every learning
//! rate with every seed, the runs in parallel (one thread each); a width counts as reached when
//! any of its runs reaches the target validation accuracy (confirmed on a second fresh draw),
//! and the search stops at the first such width, so widths above it are not tried. "Not
//! reached" means not within the steps, learning rates and seeds tried, not that the width
//! cannot represent the task. Search runs save no weights: train the width found with
//! `ccsep train` to check it.

use serde::Serialize;

use super::config::TrainConfig;
use super::run::{RunOptions, RunRecord, Status, prepare, train};
use crate::error::InputError;

/// Stack of a search's worker threads (the main thread's usual 8 MiB).
pub const TRAIN_STACK_BYTES: usize = 8 << 20;

/// Most runs one search may take (widths × learning rates × seeds).
pub const MAX_RUNS: usize = 4096;

/// What to search over.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchSpec {
    pub widths: Vec<usize>,
    pub lrs: Vec<f64>,
    pub seeds: Vec<u64>,
    /// Runs at a time.
    pub jobs: usize,
}

/// One width's runs.
#[derive(Clone, Debug, Serialize)]
pub struct WidthOutcome {
    pub width: usize,
    pub runs: usize,
    /// Runs that reached the target.
    pub reached: usize,
    pub diverged: usize,
    pub best_accuracy: f64,
    /// The learning rates at which some seed reached the target.
    pub lrs_reached: Vec<f64>,
}

/// The search's answer (printed as the last JSON line, `"kind": "min_width"`).
#[derive(Clone, Debug, Serialize)]
pub struct SearchSummary {
    pub kind: &'static str,
    pub task: String,
    pub arch: String,
    pub n: usize,
    pub target: f64,
    /// The step budget of every run.
    pub steps: u64,
    /// The smallest width that reached the target; `None`: not reached at any width searched.
    pub min_width: Option<usize>,
    /// Stopped by Ctrl-C: widths above the last one were not searched, and its runs may have
    /// stopped early.
    pub interrupted: bool,
    pub widths: Vec<WidthOutcome>,
    pub lrs: Vec<f64>,
    pub seeds: Vec<u64>,
}

impl SearchSummary {
    /// One line for a person.
    pub fn sentence(&self) -> String {
        let s = self.verdict();
        if self.interrupted {
            format!("{s} (INTERRUPTED: the search stopped early, so this is not its answer)")
        } else {
            s
        }
    }

    fn verdict(&self) -> String {
        match self.min_width {
            Some(w) => format!(
                "{} on {} (n = {}): smallest width reaching accuracy {} is {w}",
                self.arch, self.task, self.n, self.target
            ),
            None => format!(
                "{} on {} (n = {}): not reached at any width of {:?} (best accuracy {:.3})",
                self.arch,
                self.task,
                self.n,
                self.widths.iter().map(|w| w.width).collect::<Vec<_>>(),
                self.widths
                    .iter()
                    .map(|w| w.best_accuracy)
                    .fold(0.0, f64::max)
            ),
        }
    }
}

/// Checks a search before any run starts: every width's config is valid and fits.
pub fn validate(base: &TrainConfig, spec: &SearchSpec) -> Result<(), InputError> {
    if spec.widths.is_empty() || spec.lrs.is_empty() || spec.seeds.is_empty() {
        return Err(InputError::new(
            "a width search needs at least one width, learning rate and seed",
        ));
    }
    let runs = spec.widths.len() * spec.lrs.len() * spec.seeds.len();
    if runs > MAX_RUNS {
        return Err(InputError::new(format!(
            "the search would take {runs} runs, more than {MAX_RUNS}; give fewer widths, learning rates or seeds"
        )));
    }
    for &w in &spec.widths {
        for &lr in &spec.lrs {
            let mut c = base.clone();
            c.width = w;
            c.lr = lr;
            prepare(&c)?;
        }
    }
    Ok(())
}

/// Runs the search; `record` gets each run's record, in (width, learning rate, seed) order.
pub fn search(
    base: &TrainConfig,
    spec: &SearchSpec,
    record: &mut dyn FnMut(&RunRecord) -> anyhow::Result<()>,
    status: &(dyn Fn(String) + Sync),
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> anyhow::Result<SearchSummary> {
    use rayon::prelude::*;
    validate(base, spec)?;
    let mut widths = spec.widths.clone();
    widths.sort_unstable();
    widths.dedup();
    let mut lrs: Vec<f64> = Vec::new();
    for &lr in &spec.lrs {
        if !lrs.contains(&lr) {
            lrs.push(lr);
        }
    }
    let mut seeds: Vec<u64> = Vec::new();
    for &s in &spec.seeds {
        if !seeds.contains(&s) {
            seeds.push(s);
        }
    }
    // Worker stacks as large as the main thread's, for the backward pass's deep graph walk.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(spec.jobs.max(1))
        .stack_size(TRAIN_STACK_BYTES)
        .build()?;
    let mut outcomes = Vec::new();
    let mut min_width = None;
    let mut interrupted = false;
    for &w in &widths {
        if stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            interrupted = true;
            break;
        }
        let configs: Vec<TrainConfig> = lrs
            .iter()
            .flat_map(|&lr| {
                seeds.iter().map(move |&seed| {
                    let mut c = base.clone();
                    c.width = w;
                    c.lr = lr;
                    c.seed = seed;
                    c
                })
            })
            .collect();
        status(format!("width {w}: {} runs", configs.len()));
        let records: Vec<anyhow::Result<RunRecord>> = pool.install(|| {
            configs
                .par_iter()
                .map(|c| {
                    train(
                        c,
                        &RunOptions {
                            stop: stop.clone(),
                            ..RunOptions::default()
                        },
                    )
                })
                .collect()
        });
        let mut o = WidthOutcome {
            width: w,
            runs: records.len(),
            reached: 0,
            diverged: 0,
            best_accuracy: 0.0,
            lrs_reached: Vec::new(),
        };
        for r in records {
            let r = r?;
            record(&r)?;
            o.best_accuracy = o.best_accuracy.max(r.best_accuracy);
            match r.status {
                Status::Reached => {
                    o.reached += 1;
                    if !o.lrs_reached.contains(&r.config.lr) {
                        o.lrs_reached.push(r.config.lr);
                    }
                }
                Status::Diverged => o.diverged += 1,
                Status::Interrupted => interrupted = true,
                Status::Completed => {}
            }
        }
        let reached = o.reached > 0;
        outcomes.push(o);
        if reached {
            min_width = Some(w);
            break;
        }
        if interrupted {
            break;
        }
    }
    Ok(SearchSummary {
        kind: "min_width",
        task: base.task.clone(),
        arch: base.arch.clone(),
        n: base.n,
        target: base.target,
        steps: base.steps,
        min_width,
        interrupted,
        widths: outcomes,
        lrs,
        seeds,
    })
}
