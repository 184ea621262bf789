//! The check-grid figure: a heatmap of a `ccsep check --width A..B --precision P1..P2 --out
//! FILE` grid, width × bits per number `p`, each cell coloured by the model's accuracy and
//! marked with the check's verdict (cross: must err; ring: enough messages; `?`: inconclusive,
//! a sample without a witness), outlined where the model is right on every instance; and the
//! staircase above which `m·p` reaches the bound the lines carry (the one-way CC for the
//! prefix / suffix protocol, `m·p = N` for INDEX; Thm 4's two-way lower bound for a
//! Transformer). Several grids (the lines' `grid.config` differs: another model, seed or `N`)
//! are drawn as one panel each, side by side on one colour scale.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::check_lines::{CheckLine, VerdictTag, read_check_lines};
use super::heatmap::{Cell, KeyEntry, Mark, Panel, draw_colorbar, draw_key, draw_panel, panels};
use super::{Drawn, Figure, csv_field, render};
use crate::error::InputError;

/// Most panels one figure draws.
const MAX_PANELS: usize = 8;

/// One grid of the figure: its key, its lines, and its panel.
struct GridPanel {
    panel: Panel,
    /// CSV rows.
    rows: Vec<String>,
}

/// The panels of the figure from check lines (one per `grid.config`, in the order first met).
fn grid_panels(lines: &[(String, CheckLine)]) -> Result<Vec<GridPanel>, InputError> {
    let mut configs: Vec<String> = Vec::new();
    for (at, l) in lines {
        let Some(g) = &l.grid else {
            return Err(InputError::new(format!(
                "{at}: not a grid line (no \"grid\"); check-grid draws `ccsep check --width A..B --precision P1..P2 --out FILE` files"
            )));
        };
        if l.bits_per_number.is_none() {
            return Err(InputError::new(format!(
                "{at}: the line has no bits_per_number, so it has no row of the grid"
            )));
        }
        if !configs.contains(&g.config) {
            configs.push(g.config.clone());
        }
    }
    if configs.len() > MAX_PANELS {
        return Err(InputError::new(format!(
            "the files hold {} grids (models, seeds or lengths N), more than one figure draws ({MAX_PANELS}); give fewer files",
            configs.len()
        )));
    }
    let mut out = Vec::new();
    for config in &configs {
        let mine: Vec<&(String, CheckLine)> = lines
            .iter()
            .filter(|(_, l)| l.grid.as_ref().is_some_and(|g| &g.config == config))
            .collect();
        let widths: BTreeSet<Option<u64>> = mine.iter().map(|(_, l)| l.width()).collect();
        let widths: Vec<Option<u64>> = widths.into_iter().collect();
        let precisions: BTreeSet<(u32, String)> = mine
            .iter()
            .map(|(_, l)| (l.bits_per_number.unwrap_or(0), l.precision.clone()))
            .collect();
        let precisions: Vec<(u32, String)> = precisions.into_iter().collect();
        let first = &mine[0].1;
        let bound = first.bound();
        let mut cells: Vec<Cell> = Vec::new();
        let mut rows = Vec::new();
        let mut reach = vec![precisions.len(); widths.len()];
        let title = format!(
            "{}{}: {}",
            first.problem,
            if first.exhaustive { "" } else { " (sampled)" },
            first.model.describe()
        );
        for (at, l) in &mine {
            let w = l.width();
            let col = widths.iter().position(|&x| x == w).unwrap_or(0);
            let key = (l.bits_per_number.unwrap_or(0), l.precision.clone());
            let row = precisions.iter().position(|x| *x == key).unwrap_or(0);
            if cells.iter().any(|c| c.col == col && c.row == row) {
                return Err(InputError::new(format!(
                    "{at}: width {} at {} appears twice in the grid; give each results file once",
                    width_label(w),
                    l.precision
                )));
            }
            cells.push(Cell {
                col,
                row,
                value: Some(l.accuracy),
                mark: match l.verdict.tag {
                    VerdictTag::MustErr => Mark::Cross,
                    VerdictTag::EnoughMessages => Mark::Ring,
                    VerdictTag::Inconclusive => Mark::Query,
                },
                outline: l.accuracy == 1.0,
            });
            if let (Some(b), Some((bound, _))) = (l.bits_available, bound)
                && b >= u64::from(bound)
            {
                reach[col] = reach[col].min(row);
            }
            rows.push(format!(
                "{},{},{},{},{},{},{},{},{},{}",
                csv_field(&title),
                opt(w),
                csv_field(&l.precision),
                l.bits_per_number.unwrap_or(0),
                l.accuracy,
                verdict_name(l.verdict.tag),
                opt(l.bits_available),
                opt(bound.map(|b| b.0)),
                l.distinct_messages,
                opt(l.distinct_rows)
            ));
        }
        out.push(GridPanel {
            panel: Panel {
                title,
                x_desc: "width m (hidden size)".into(),
                y_desc: "bits per number p".into(),
                x_labels: widths.iter().map(|&w| width_label(w)).collect(),
                y_labels: precisions
                    .iter()
                    .map(|(p, name)| format!("{p} ({name})"))
                    .collect(),
                cells,
                boundary: bound.map(|_| reach),
            },
            rows,
        });
    }
    Ok(out)
}

/// A column's label: the random model's width, or `its own` (weights, a construction).
fn width_label(w: Option<u64>) -> String {
    w.map_or("its own".to_string(), |w| w.to_string())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

fn verdict_name(t: VerdictTag) -> &'static str {
    match t {
        VerdictTag::MustErr => "must_err",
        VerdictTag::EnoughMessages => "enough_messages",
        VerdictTag::Inconclusive => "inconclusive",
    }
}

/// The figure: panels, a colour bar and the key.
struct CheckGrid {
    panels: Vec<GridPanel>,
    scale: (f64, f64),
    /// The bounds, for the key.
    bounds: Vec<String>,
}

impl Figure for CheckGrid {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w - KEY_WIDTH);
        let cols = self.panels.len().min(2);
        for (area, p) in panels(&left, self.panels.len(), cols)
            .iter()
            .zip(&self.panels)
        {
            draw_panel(&area.margin(8, 8, 8, 8), &p.panel, self.scale)?;
        }
        let (bar, key) = right.split_vertically(260);
        let (lo, hi) = self.scale;
        draw_colorbar(
            &bar,
            self.scale,
            "accuracy",
            &[
                (lo, format!("{lo:.2}")),
                ((lo + hi) / 2.0, format!("{:.2}", (lo + hi) / 2.0)),
                (hi, format!("{hi:.2}")),
            ],
        )?;
        let mut entries = vec![
            (
                KeyEntry::Mark(Mark::Cross),
                "must err (a witness)".to_string(),
            ),
            (KeyEntry::Mark(Mark::Ring), "enough messages".to_string()),
            (
                KeyEntry::Mark(Mark::Query),
                "inconclusive (sample)".to_string(),
            ),
            (KeyEntry::Outline, "right on every instance".to_string()),
            (KeyEntry::Empty, "not in the file".to_string()),
        ];
        if !self.bounds.is_empty() {
            entries.push((
                KeyEntry::Boundary,
                "above: m·p reaches the bound".to_string(),
            ));
            for b in &self.bounds {
                entries.push((KeyEntry::Text, b.clone()));
            }
        }
        draw_key(&key, &entries)?;
        root.present().map_err(|e| e.to_string())
    }
}

const KEY_WIDTH: u32 = 290;

/// Draws the check-grid figure from check grid files into `dir` as `check-grid.{svg,png,csv}`.
pub fn check_grid(files: &[PathBuf], dir: &Path) -> anyhow::Result<(Drawn, usize)> {
    let (lines, skipped) = read_check_lines(files)?;
    let panels = grid_panels(&lines)?;
    let lo = lines.iter().map(|(_, l)| l.accuracy).fold(0.5, f64::min);
    let mut bounds: Vec<String> = Vec::new();
    for (_, l) in &lines {
        if let Some((b, name)) = l.bound() {
            let s = format!("{name} of {}", l.problem);
            if !bounds.iter().any(|x| x.starts_with(&s)) {
                bounds.push(format!("{s} = {b} bits"));
            }
        }
    }
    let mut csv = String::from(
        "panel,width,precision,p,accuracy,verdict,bits_available,bound,distinct_messages,distinct_rows\n",
    );
    for p in &panels {
        for r in &p.rows {
            csv.push_str(r);
            csv.push('\n');
        }
    }
    let cols = panels.len().min(2) as u32;
    let rows = panels.len().div_ceil(2) as u32;
    let figure = CheckGrid {
        panels,
        scale: (lo, 1.0),
        bounds,
    };
    let size = (cols * 560 + KEY_WIDTH, (rows * 440).max(500));
    let drawn = render(dir, "check-grid", size, &figure, &csv)?;
    Ok((drawn, skipped))
}
