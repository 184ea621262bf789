//! The trained figure (the paper's heatmaps): for each task and architecture (and layer count),
//! the best validation accuracy `ccsep train` reached at each length `N` and width, over the
//! learning rates and seeds of its search — read from `ccsep train`'s JSON lines (one line per
//! run, and a `"kind":"min_width"` line closing each width search). A dot marks the cells where
//! some run reached the target; an outline, the search's `min_width`; grey cells were not trained
//! (a search stops at the first width that reaches the target).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use super::heatmap::{Cell, KeyEntry, Mark, Panel, draw_colorbar, draw_key, draw_panel, panels};
use super::{Drawn, Figure, csv_field, read_json_lines, render};
use crate::error::InputError;

const HINT: &str = "give the JSON lines `ccsep train` writes (e.g. plots/data/paper-small-*.jsonl)";

#[derive(Clone, Debug, Deserialize)]
struct RunConfig {
    task: String,
    n: u64,
    arch: String,
    layers: u64,
    width: u64,
    target: f64,
}

/// One training run's line (the fields drawn).
#[derive(Clone, Debug, Deserialize)]
struct RunLine {
    config: RunConfig,
    best_accuracy: Option<f64>,
}

/// The line that closes a width search.
#[derive(Clone, Debug, Deserialize)]
struct MinWidthLine {
    task: String,
    n: u64,
    arch: String,
    min_width: Option<u64>,
}

/// A panel's key: task, architecture, layers.
type PanelKey = (String, String, u64);

/// What the runs at one `(N, width)` of a panel reached.
#[derive(Clone, Debug, Default)]
struct CellRuns {
    best: Option<f64>,
    runs: usize,
    reached: bool,
    min_width: bool,
}

struct Data {
    panels: BTreeMap<PanelKey, BTreeMap<(u64, u64), CellRuns>>,
    targets: Vec<f64>,
}

fn read(files: &[PathBuf]) -> Result<(Data, usize), InputError> {
    let mut data = Data {
        panels: BTreeMap::new(),
        targets: Vec::new(),
    };
    let mut skipped = 0;
    let mut summaries = Vec::new();
    // Each run's file, task, architecture, N, width and layers (to place a search's summary).
    let mut runs: Vec<(PathBuf, String, String, u64, u64, u64)> = Vec::new();
    for line in read_json_lines(files, "training results file", HINT)? {
        match line.value.get("kind").and_then(serde_json::Value::as_str) {
            Some("min_width") => {
                let m: MinWidthLine = line.parse("min_width line", HINT)?;
                summaries.push((line.file.clone(), line.at(), m));
                continue;
            }
            Some(other) => {
                return Err(InputError::new(format!(
                    "{}: a line of kind {other:?}, which no training run writes; {HINT}",
                    line.at()
                )));
            }
            None => {}
        }
        let r: RunLine = line.parse("training run line", HINT)?;
        let c = &r.config;
        if !(c.target > 0.0 && c.target <= 1.0) || c.width == 0 {
            return Err(InputError::new(format!(
                "{}: target {} and width {} are out of range",
                line.at(),
                c.target,
                c.width
            )));
        }
        let Some(best) = r.best_accuracy else {
            skipped += 1;
            continue;
        };
        if !(0.0..=1.0).contains(&best) {
            return Err(InputError::new(format!(
                "{}: best_accuracy {best} is not in 0..1",
                line.at()
            )));
        }
        if !data.targets.contains(&c.target) {
            data.targets.push(c.target);
        }
        runs.push((
            line.file.clone(),
            c.task.clone(),
            c.arch.clone(),
            c.n,
            c.width,
            c.layers,
        ));
        let cell = data
            .panels
            .entry((c.task.clone(), c.arch.clone(), c.layers))
            .or_default()
            .entry((c.n, c.width))
            .or_default();
        cell.best = Some(cell.best.map_or(best, |b: f64| b.max(best)));
        cell.runs += 1;
        cell.reached |= best >= c.target;
    }
    // A search's summary lacks the layer count: it is that of its runs at min_width, which
    // the search wrote to the same file (skipped where that file has several layer counts).
    for (file, at, m) in summaries {
        let Some(w) = m.min_width else { continue };
        let mut layers: Vec<u64> = runs
            .iter()
            .filter(|(f, t, a, n, width, _)| {
                *f == file && *t == m.task && *a == m.arch && *n == m.n && *width == w
            })
            .map(|r| r.5)
            .collect();
        layers.sort_unstable();
        layers.dedup();
        match layers.as_slice() {
            [l] => {
                if let Some(cell) = data
                    .panels
                    .get_mut(&(m.task.clone(), m.arch.clone(), *l))
                    .and_then(|p| p.get_mut(&(m.n, w)))
                {
                    cell.min_width = true;
                }
            }
            [] => {
                return Err(InputError::new(format!(
                    "{at}: min_width {w} for {} N = {} {} has no run line of that width in its file; give the search's whole file",
                    m.task, m.n, m.arch
                )));
            }
            _ => skipped += 1,
        }
    }
    if data.panels.is_empty() {
        return Err(InputError::new(format!(
            "the files hold no training run to draw; {HINT}"
        )));
    }
    data.targets.sort_by(f64::total_cmp);
    Ok((data, skipped))
}

/// Most panels one figure draws.
const MAX_PANELS: usize = 16;

const KEY_WIDTH: u32 = 300;
const COLS: usize = 4;

struct Trained {
    panels: Vec<Panel>,
    scale: (f64, f64),
    targets: Vec<f64>,
}

impl Figure for Trained {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w - KEY_WIDTH);
        let cols = self.panels.len().min(COLS);
        for (area, p) in panels(&left, self.panels.len(), cols)
            .iter()
            .zip(&self.panels)
        {
            draw_panel(&area.margin(8, 8, 8, 8), p, self.scale)?;
        }
        let (bar, key) = right.split_vertically(320);
        let (lo, hi) = self.scale;
        let mut ticks = vec![(lo, format!("{lo}")), (hi, format!("{hi}"))];
        for &t in &self.targets {
            ticks.push((t, format!("target {t}")));
        }
        draw_colorbar(&bar, self.scale, "best validation accuracy", &ticks)?;
        draw_key(
            &key,
            &[
                (KeyEntry::Mark(Mark::Dot), "a run reached the target".into()),
                (KeyEntry::Outline, "the search's min_width".into()),
                (KeyEntry::Empty, "not trained".into()),
            ],
        )?;
        root.present().map_err(|e| e.to_string())
    }
}

/// Draws the trained figure from `ccsep train` JSON lines into `dir` as
/// `trained.{svg,png,csv}`.
pub fn trained(files: &[PathBuf], dir: &Path) -> anyhow::Result<(Drawn, usize)> {
    let (data, skipped) = read(files)?;
    if data.panels.len() > MAX_PANELS {
        return Err(InputError::new(format!(
            "the files hold {} task × architecture panels, more than one figure draws ({MAX_PANELS}); give fewer files",
            data.panels.len()
        ))
        .into());
    }
    let mut csv =
        String::from("task,arch,layers,n,width,best_accuracy,runs,reached_target,min_width\n");
    let mut lo: f64 = 0.5;
    let mut drawn_panels = Vec::new();
    // One width axis for every panel, so that panels compare row by row.
    let mut widths: Vec<u64> = data
        .panels
        .values()
        .flat_map(|c| c.keys().map(|k| k.1))
        .collect();
    widths.sort_unstable();
    widths.dedup();
    for ((task, arch, layers), cells) in &data.panels {
        let mut ns: Vec<u64> = cells.keys().map(|k| k.0).collect();
        ns.dedup();
        let mut out = Vec::new();
        for (&(n, w), c) in cells {
            lo = lo.min(c.best.unwrap_or(1.0));
            out.push(Cell {
                col: ns.iter().position(|&x| x == n).unwrap_or(0),
                row: widths.iter().position(|&x| x == w).unwrap_or(0),
                value: c.best,
                mark: if c.reached { Mark::Dot } else { Mark::None },
                outline: c.min_width,
            });
            csv.push_str(&format!(
                "{},{},{layers},{n},{w},{},{},{},{}\n",
                csv_field(task),
                csv_field(arch),
                c.best.map_or(String::new(), |b| b.to_string()),
                c.runs,
                c.reached,
                c.min_width
            ));
        }
        let layers_text = if *layers > 1 {
            format!(", {layers} layers")
        } else {
            String::new()
        };
        drawn_panels.push(Panel {
            title: format!("{task}: {arch}{layers_text}"),
            x_desc: "N (input length)".into(),
            y_desc: "width".into(),
            x_labels: ns.iter().map(u64::to_string).collect(),
            y_labels: widths.iter().map(u64::to_string).collect(),
            cells: out,
            boundary: None,
        });
    }
    let cols = drawn_panels.len().min(COLS) as u32;
    let rows = drawn_panels.len().div_ceil(COLS) as u32;
    let figure = Trained {
        panels: drawn_panels,
        scale: (lo, 1.0),
        targets: data.targets,
    };
    let size = (cols * 330 + KEY_WIDTH, (rows * 320).max(440));
    let drawn = render(dir, "trained", size, &figure, &csv)?;
    Ok((drawn, skipped))
}
