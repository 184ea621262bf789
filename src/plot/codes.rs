//! The codes figure: nearly orthogonal codes (every `|<T_i, T_j>| ≤ γ`) — the code length `k`
//! each family needed against the number of vectors `N`, log `N` axis, beside Hoeffding's
//! `k = (8/γ²)·ln(2N)` (a straight line on this axis).
//!
//! It reads the reports `ccsep construct vectors --n N --json` prints (one per `N`; several may
//! follow each other in one file), which carry each family's `k`, its exact worst inner product
//! and whether it met γ, and the Hoeffding length at that `N`. `construct vectors` has no
//! `--curve`; a loop over `N` makes the data:
//! `for N in 8 16 … 4096; do ccsep construct vectors --n $N --json; done > codes.json`.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use super::{Drawn, Figure, PALETTE, csv_field, read_json_values, render};
use crate::error::InputError;

const HINT: &str = "give the output of `ccsep construct vectors --n N --json` (one report per N)";

/// The report fields the figure reads.
#[derive(Deserialize)]
struct Report {
    name: String,
    n: usize,
    details: Details,
}

#[derive(Deserialize)]
struct Details {
    gamma: f64,
    hoeffding_k: f64,
    families: Vec<FamilyLine>,
}

#[derive(Deserialize)]
struct FamilyLine {
    family: String,
    k: Option<u64>,
    worst_inner: Option<f64>,
    met_gamma: bool,
}

/// One point: a family's code length at `n` (the series `hoeffding` for the formula).
#[derive(Clone, Debug, PartialEq)]
struct Point {
    series: String,
    n: usize,
    k: f64,
    worst_inner: Option<f64>,
    met_gamma: bool,
}

const HOEFFDING: &str = "Hoeffding";

/// The points, sorted by series then `n`, the margin γ, and how many families found no code.
fn points(files: &[PathBuf]) -> Result<(Vec<Point>, f64, usize), InputError> {
    let mut out: Vec<Point> = Vec::new();
    let mut gamma: Option<(f64, String)> = None;
    let mut skipped = 0;
    for v in read_json_values(files, "vectors report", HINT)? {
        let r: Report = v.parse("`construct vectors` report", HINT)?;
        if r.name != "vectors" {
            return Err(InputError::new(format!(
                "{}: a report of construction {:?}, not of vectors; {HINT}",
                v.at(),
                r.name
            )));
        }
        let d = r.details;
        match &gamma {
            None => gamma = Some((d.gamma, v.at())),
            Some((g, at)) if *g != d.gamma => {
                return Err(InputError::new(format!(
                    "{at} has γ = {g} and {} γ = {}: one γ per figure",
                    v.at(),
                    d.gamma
                )));
            }
            Some(_) => {}
        }
        if r.n < 2 || !(d.hoeffding_k.is_finite() && d.hoeffding_k > 0.0) {
            return Err(InputError::new(format!(
                "{}: N = {} and hoeffding_k = {} (N ≥ 2 and a positive length expected)",
                v.at(),
                r.n,
                d.hoeffding_k
            )));
        }
        let mut add = |p: Point| {
            if out.iter().any(|q| q.series == p.series && q.n == p.n) {
                return Err(InputError::new(format!(
                    "{}: N = {} of {} appears twice; give each N once",
                    v.at(),
                    p.n,
                    p.series
                )));
            }
            out.push(p);
            Ok(())
        };
        add(Point {
            series: HOEFFDING.into(),
            n: r.n,
            k: d.hoeffding_k,
            worst_inner: None,
            met_gamma: true,
        })?;
        for f in d.families {
            let Some(k) = f.k.filter(|&k| k > 0) else {
                skipped += 1;
                continue;
            };
            add(Point {
                series: f.family,
                n: r.n,
                k: k as f64,
                worst_inner: f.worst_inner,
                met_gamma: f.met_gamma,
            })?;
        }
    }
    let Some((gamma, _)) = gamma else {
        return Err(InputError::new(format!("no report to draw; {HINT}")));
    };
    // Families in the order first seen, the formula last; each by N.
    let mut order: Vec<String> = Vec::new();
    for p in &out {
        if p.series != HOEFFDING && !order.contains(&p.series) {
            order.push(p.series.clone());
        }
    }
    order.push(HOEFFDING.into());
    out.sort_by_key(|p| (order.iter().position(|s| *s == p.series), p.n));
    Ok((out, gamma, skipped))
}

/// `series,n,k,worst_inner,met_gamma,gamma`, in the order drawn.
fn csv(points: &[Point], gamma: f64) -> String {
    let mut s = String::from("series,n,k,worst_inner,met_gamma,gamma\n");
    for p in points {
        s.push_str(&format!(
            "{},{},{},{},{},{gamma}\n",
            csv_field(&p.series),
            p.n,
            p.k,
            p.worst_inner.map(|w| w.to_string()).unwrap_or_default(),
            p.met_gamma
        ));
    }
    s
}

struct Codes {
    points: Vec<Point>,
    gamma: f64,
}

fn family_label(f: &str) -> String {
    match f {
        "random-signs" => "random signs (the paper's; smallest k for the seed)".into(),
        "reed-solomon-hadamard" => "Reed–Solomon ∘ Hadamard (deterministic)".into(),
        other => other.into(),
    }
}

impl Figure for Codes {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let nmin = self.points.iter().map(|p| p.n).min().unwrap_or(2) as f64;
        let nmax = self.points.iter().map(|p| p.n).max().unwrap_or(4) as f64;
        let kmax = self.points.iter().map(|p| p.k).fold(1.0, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Nearly orthogonal codes: length k for N vectors, |<Ti, Tj>| ≤ γ = {}",
                    self.gamma
                ),
                ("sans-serif", 24),
            )
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(72)
            .build_cartesian_2d(
                ((nmin / 1.4)..(nmax * 1.4)).log_scale(),
                // Headroom above the data for the legend.
                0.0..(kmax * 1.35),
            )
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("N (number of vectors, log scale)")
            .y_desc("code length k (dimension)")
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .x_label_formatter(&|x| format!("{}", x.round() as u64))
            .y_label_formatter(&|y| format!("{}", y.round() as u64))
            .draw()
            .map_err(|x| e(&x))?;
        let mut series: Vec<&str> = Vec::new();
        for p in &self.points {
            if !series.contains(&p.series.as_str()) {
                series.push(&p.series);
            }
        }
        let missed = if self.points.iter().any(|p| !p.met_gamma) {
            " (hollow: missed γ)"
        } else {
            ""
        };
        let mut k = 0;
        for name in series {
            let pts: Vec<&Point> = self.points.iter().filter(|p| p.series == name).collect();
            let line = pts.iter().map(|p| (p.n as f64, p.k));
            if name == HOEFFDING {
                let c = PALETTE[7];
                chart
                    .draw_series(DashedLineSeries::new(line, 8, 5, c.stroke_width(2)))
                    .map_err(|x| e(&x))?
                    .label("Hoeffding + union bound: k = (8/γ²)·ln(2N)")
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2))
                    });
                continue;
            }
            let c = [PALETTE[4], PALETTE[3], PALETTE[2], PALETTE[5]][k % 4];
            k += 1;
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(format!("{}{missed}", family_label(name)))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|p| {
                    let style = if p.met_gamma {
                        c.filled()
                    } else {
                        c.stroke_width(2)
                    };
                    Circle::new((p.n as f64, p.k), 5, style)
                }))
                .map_err(|x| e(&x))?;
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 17))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
        Ok(())
    }
}

/// Draws the codes figure from `construct vectors --json` reports into `dir` as `codes.svg`,
/// `.png` and `.csv`; returns the paths and how many families found no code (not drawn).
pub fn codes(files: &[PathBuf], dir: &Path) -> anyhow::Result<(Drawn, usize)> {
    let (points, gamma, skipped) = points(files)?;
    let drawn = render(
        dir,
        "codes",
        (1000, 700),
        &Codes {
            points: points.clone(),
            gamma,
        },
        &csv(&points, gamma),
    )?;
    Ok((drawn, skipped))
}
