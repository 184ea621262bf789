//! The separation figure (the headline): bits of state or size against N, log–log — each
//! construction's smallest verified size from the size-curve files `ccsep construct --curve
//! --out` writes, and dashed beside it the lower bound that curve's file sets (identical bound
//! lines drawn once). Given the summary lines of precision sweeps too (`ccsep check --weights
//! FILE --precision A..B --json` prints one per width, `"kind":"precision_sweep_summary"`), it
//! draws each swept model's smallest correct `m·p` as a triangle beside the bounds; the sweep's
//! point lines in the same file are passed over, and a sweep correct at no `p` of its range is
//! not drawn (counted among the skipped lines).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Deserialize;

use super::{Drawn, Figure, PALETTE, csv_field, read_json_lines, render};
use crate::error::InputError;

const HINT: &str = "give files written by `ccsep construct --curve --out` (and, optionally, `ccsep check --precision A..B --json` output)";

/// The summary line of a precision sweep (the fields the figure reads).
#[derive(Clone, Debug, Deserialize)]
struct SweepLine {
    task: String,
    n: u64,
    model: String,
    sampled: bool,
    stays_correct_from: Option<SweepPick>,
}

#[derive(Clone, Debug, Deserialize)]
struct SweepPick {
    bits_available: Option<u64>,
}

/// The `"kind"` of a sweep's summary line.
const SWEEP_KIND: &str = "precision_sweep_summary";

/// Series names of swept models start with this.
const SWEPT: &str = "smallest correct m·p: ";

/// One line of a size-curve file (the fields the figure reads).
#[derive(Clone, Debug, Deserialize)]
struct CurveLine {
    name: Option<String>,
    length: Option<u64>,
    size_bits: Option<f64>,
    other_bound_bits: Option<f64>,
    other_bound: Option<String>,
    exhaustive: Option<bool>,
    error: Option<String>,
}

/// Series names of bounds start with this, then the theorem, then [`BESIDE`] and the
/// construction's name.
const BOUND: &str = "lower bound, ";
const BESIDE: &str = " | beside ";

/// How a bound is labelled: the first `Thm K` / `Lemma K` / `Prop K` its text names, and whose
/// bound it is in which units (`RNN, m·p`, or the 1-layer Transformer's in `m·H·(p + log₂N)`,
/// which is not the bits of the y axis): `Thm 5: 1-layer Transformer, in m·H·(p + log₂N)`;
/// `bound` when the text names neither.
fn theorem(text: Option<&str>) -> String {
    let t = text.unwrap_or("");
    let mut thm = None;
    for word in ["Thm ", "Lemma ", "Prop "] {
        if let Some(i) = t.find(word) {
            let num: String = t[i + word.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if !num.is_empty() {
                thm = Some(format!("{word}{num}"));
                break;
            }
        }
    }
    let whose = if t.contains("1-layer Transformer") && t.contains("m·H·(p + log") {
        Some("1-layer Transformer, in m·H·(p + log₂N)")
    } else if t.contains("RNN") {
        Some("RNN, m·p")
    } else {
        None
    };
    match (thm, whose) {
        (Some(thm), Some(whose)) => format!("{thm}: {whose}"),
        (Some(thm), None) => thm,
        (None, Some(whose)) => whose.to_string(),
        (None, None) => "bound".into(),
    }
}

/// The largest size or bound the figure draws, in bits: far above anything ccsep can verify,
/// and low enough that the axis' headroom stays finite.
const MAX_BITS: f64 = 1e30;

/// A point of the separation figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The series: a construction's name, or `bound: …`.
    pub series: String,
    pub n: u64,
    pub bits: f64,
    /// Verified on every instance (a bound is exact by definition).
    pub exhaustive: bool,
}

/// The points of the separation figure from size-curve files: each construction's smallest
/// verified size in bits, and the lower bound each line sets beside it (labelled by the
/// theorem its text names). Lines with an `error` are skipped (and counted).
pub fn separation_points(files: &[PathBuf]) -> Result<(Vec<Point>, usize), InputError> {
    for (i, f) in files.iter().enumerate() {
        if files[..i].contains(f) {
            return Err(InputError::new(format!(
                "'{}' is given twice; give each results file once",
                f.display()
            )));
        }
    }
    let mut points = Vec::new();
    let mut skipped = 0;
    for line in read_json_lines(files, "curve file", HINT)? {
        match line.value.get("kind").and_then(serde_json::Value::as_str) {
            Some(SWEEP_KIND) => {
                let s: SweepLine = line.parse("precision sweep summary", HINT)?;
                match s.stays_correct_from.and_then(|p| p.bits_available) {
                    Some(bits) if s.n > 0 && bits > 0 => points.push(Point {
                        series: format!("{SWEPT}{} ({}, N = {})", s.model, s.task, s.n),
                        n: s.n,
                        bits: bits as f64,
                        exhaustive: !s.sampled,
                    }),
                    _ => skipped += 1,
                }
                continue;
            }
            Some(other) => {
                return Err(InputError::new(format!(
                    "{}: a line of kind {other:?}; {HINT}",
                    line.at()
                )));
            }
            // A sweep's point lines (they carry "grid") sit beside its summary.
            None if line.value.get("grid").is_some() => continue,
            None => {}
        }
        let c: CurveLine = line.parse("size-curve line", HINT)?;
        if c.error.is_some() {
            skipped += 1;
            continue;
        }
        let (Some(name), Some(n), Some(bits)) = (c.name, c.length, c.size_bits) else {
            return Err(InputError::new(format!(
                "{}: a size-curve line needs name, length and size_bits",
                line.at()
            )));
        };
        if n == 0 || !(bits.is_finite() && bits > 0.0) {
            return Err(InputError::new(format!(
                "{}: length {n} and size_bits {bits} must be positive",
                line.at()
            )));
        }
        if bits > MAX_BITS || c.other_bound_bits.is_some_and(|b| b > MAX_BITS) {
            return Err(InputError::new(format!(
                "{}: size_bits {bits:e} or other_bound_bits {:e} is beyond {MAX_BITS:e} bits, more \
                 than any size ccsep verifies; the line is not one `ccsep construct --curve` wrote",
                line.at(),
                c.other_bound_bits.unwrap_or(0.0)
            )));
        }
        points.push(Point {
            series: name.clone(),
            n,
            bits,
            exhaustive: c.exhaustive.unwrap_or(false),
        });
        if let Some(b) = c.other_bound_bits.filter(|b| b.is_finite() && *b > 0.0) {
            points.push(Point {
                series: format!("{BOUND}{}{BESIDE}{name}", theorem(c.other_bound.as_deref())),
                n,
                bits: b,
                exhaustive: true,
            });
        }
    }
    if points.is_empty() {
        return Err(InputError::new(format!(
            "the files hold no point to draw; {HINT}"
        )));
    }
    Ok((points, skipped))
}

/// The CSV of a figure's points: `series,n,bits,exhaustive`, in the order drawn.
pub fn points_csv(points: &[Point]) -> String {
    let mut s = String::from("series,n,bits,exhaustive\n");
    for p in points {
        s.push_str(&format!(
            "{},{},{},{}\n",
            csv_field(&series_label(&p.series)),
            p.n,
            p.bits,
            p.exhaustive
        ));
    }
    s
}

/// A series' name as a reader sees it: `lower bound (Thm 11) beside equality`.
fn series_label(series: &str) -> String {
    match series
        .strip_prefix(BOUND)
        .and_then(|r| r.split_once(BESIDE))
    {
        Some(("bound", who)) => format!("lower bound beside {who}"),
        Some((thm, who)) => format!("lower bound ({thm}) beside {who}"),
        None => match series.strip_prefix(SWEPT) {
            Some(model) => format!("{model}: smallest correct m·p"),
            None => series.to_string(),
        },
    }
}

/// A bound drawn once: its points (`n`, bits as `f64` bits), theorem, the constructions it
/// stands beside, its colour.
type BoundLine = (Vec<(u64, u64)>, String, Vec<String>, RGBColor);

/// The figure's points, drawn.
struct Separation<'a>(&'a [Point]);

impl Figure for Separation<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        draw_separation(root, self.0)
    }
}

fn draw_separation<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[Point],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: &dyn std::fmt::Display| x.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let xmax = points.iter().map(|p| p.n).max().unwrap_or(2) as f64;
    let xmin = points.iter().map(|p| p.n).min().unwrap_or(1) as f64;
    let ymax = points.iter().map(|p| p.bits).fold(1.0, f64::max);
    let ymin = points.iter().map(|p| p.bits).fold(f64::INFINITY, f64::min);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Bits of state / size against input length N",
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(
            ((xmin / 1.5)..(xmax * 1.5)).log_scale(),
            // Headroom above the data for the legend.
            ((ymin / 2.0).max(0.5)..(ymax * 300.0)).log_scale(),
        )
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("N (input length, log scale)")
        .y_desc("bits (log scale)")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .x_label_formatter(&|x| format!("{}", x.round() as u64))
        .y_label_formatter(&|y| format!("{}", y.round() as u64))
        .draw()
        .map_err(|x| e(&x))?;
    let mut names: Vec<&str> = Vec::new();
    for p in points {
        if !names.contains(&p.series.as_str()) {
            names.push(&p.series);
        }
    }
    // Constructions first, then their bounds, each bound in its construction's colour, dashed.
    let constructions: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.starts_with(BOUND) && !n.starts_with(SWEPT))
        .collect();
    for (k, name) in constructions.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let mut pts: Vec<&Point> = points.iter().filter(|p| p.series == *name).collect();
        pts.sort_by_key(|p| p.n);
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.n as f64, p.bits)),
                color.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label(format!("{name}: smallest verified size (hollow: sampled)"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|p| {
                let style = if p.exhaustive {
                    color.filled()
                } else {
                    color.stroke_width(2)
                };
                Circle::new((p.n as f64, p.bits), 5, style)
            }))
            .map_err(|x| e(&x))?;
    }
    // Bounds, dashed; bounds that are the same line (the RNN's m·p ≥ n beside several
    // constructions) are drawn once, labelled with every construction they stand beside.
    let mut drawn: Vec<BoundLine> = Vec::new();
    for name in names.iter().filter(|n| n.starts_with(BOUND)) {
        let (thm, beside) = name[BOUND.len()..].split_once(BESIDE).unwrap_or((name, ""));
        let mut bp: Vec<&Point> = points.iter().filter(|p| p.series == *name).collect();
        bp.sort_by_key(|p| p.n);
        let key: Vec<(u64, u64)> = bp.iter().map(|p| (p.n, p.bits.to_bits())).collect();
        let k = constructions.iter().position(|c| *c == beside).unwrap_or(0);
        match drawn
            .iter_mut()
            .find(|(kk, t, _, _)| *kk == key && t == thm)
        {
            Some((_, _, who, _)) => who.push(beside.to_string()),
            None => drawn.push((
                key,
                thm.to_string(),
                vec![beside.to_string()],
                PALETTE[k % PALETTE.len()],
            )),
        }
    }
    for (key, thm, who, color) in drawn {
        let color = if who.len() > 1 { PALETTE[7] } else { color };
        chart
            .draw_series(DashedLineSeries::new(
                key.iter().map(|&(n, b)| (n as f64, f64::from_bits(b))),
                8,
                5,
                color.stroke_width(2),
            ))
            .map_err(|x| e(&x))?
            .label(if thm == "bound" {
                format!("lower bound beside {}", who.join(", "))
            } else {
                format!("lower bound ({thm}) beside {}", who.join(", "))
            })
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(1))
            });
    }
    // Swept models: one triangle each, black first (the palette's yellow is too pale for a
    // lone marker), then the palette from its start.
    for (k, name) in names.iter().filter(|n| n.starts_with(SWEPT)).enumerate() {
        let color = PALETTE[(PALETTE.len() - 1 + k) % PALETTE.len()];
        let pts: Vec<&Point> = points.iter().filter(|p| p.series == *name).collect();
        chart
            .draw_series(pts.iter().map(|p| {
                let style = if p.exhaustive {
                    color.filled()
                } else {
                    color.stroke_width(2)
                };
                TriangleMarker::new((p.n as f64, p.bits), 9, style)
            }))
            .map_err(|x| e(&x))?
            .label(series_label(name))
            .legend(move |(x, y)| TriangleMarker::new((x + 11, y), 7, color.filled()));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

/// Draws the separation figure from size-curve files into `dir` as `separation.svg`,
/// `separation.png` and `separation.csv`; returns the paths and the lines skipped.
pub fn separation(files: &[PathBuf], dir: &Path) -> anyhow::Result<(Drawn, usize)> {
    let (points, skipped) = separation_points(files)?;
    let drawn = render(
        dir,
        "separation",
        (1000, 700),
        &Separation(&points),
        &points_csv(&points),
    )?;
    Ok((drawn, skipped))
}
