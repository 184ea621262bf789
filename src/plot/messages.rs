//! The messages figure: the pigeonhole seen. Distinct messages a model sends against the input
//! length `N` (log₂ scale), one series per model and precision, from `ccsep check` point lines
//! at several `N`; beside them the problem's distinct rows (`2^N` for INDEX_N, the lines'
//! `distinct_rows`: what a correct one-way protocol must tell apart) and, dashed in the series'
//! colour, the ceiling `2^(m·p)` that `m` numbers of `p` bits can spell. A model below the rows
//! must err.
//!
//! Lines at several `N` come from several runs appending to one file:
//! `for n in 4 6 8 10; do ccsep check --task index --n $n --arch rnn --init random --width 2
//! --precision fixed:1.2 --out msgs.jsonl; done` (each `N` is a grid of its own in the file;
//! a rerun skips the points already there).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::check_lines::read_check_lines;
use super::{Drawn, Figure, PALETTE, csv_field, render};
use crate::error::InputError;

/// One point of a series: `N`, distinct messages, the problem's distinct rows, `m·p`.
#[derive(Clone, Debug)]
struct MessagePoint {
    n: u32,
    messages: u64,
    rows: Option<u64>,
    bits: Option<u64>,
}

/// One model at one precision across `N`.
struct Series {
    name: String,
    points: Vec<MessagePoint>,
}

/// Most series one figure draws (the palette's colours but black, which the rows take).
const MAX_SERIES: usize = 7;

fn series_of(files: &[PathBuf]) -> Result<(Vec<Series>, usize), InputError> {
    let (lines, skipped) = read_check_lines(files)?;
    let mut series: Vec<Series> = Vec::new();
    for (at, l) in &lines {
        let width = l.width().map_or(String::new(), |w| format!(", width {w}"));
        let name = format!("{}{width}, {}", l.model.describe(), l.precision);
        let point = MessagePoint {
            n: l.n,
            messages: l.distinct_messages,
            rows: l.distinct_rows,
            bits: l.bits_available,
        };
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => {
                if s.points.iter().any(|p| p.n == l.n) {
                    return Err(InputError::new(format!(
                        "{at}: {name} at N = {} appears twice; give each results file once",
                        l.n
                    )));
                }
                s.points.push(point);
            }
            None => series.push(Series {
                name,
                points: vec![point],
            }),
        }
    }
    if series.len() > MAX_SERIES {
        return Err(InputError::new(format!(
            "the files hold {} models × precisions, more than one figure tells apart ({MAX_SERIES}); give fewer",
            series.len()
        )));
    }
    for s in &mut series {
        s.points.sort_by_key(|p| p.n);
    }
    Ok((series, skipped))
}

/// `2^k` with `k` as superscript digits.
fn power_of_two(k: i64) -> String {
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits: String = k
        .unsigned_abs()
        .to_string()
        .chars()
        .map(|c| SUP[c as usize - '0' as usize])
        .collect();
    format!("2{}{digits}", if k < 0 { "⁻" } else { "" })
}

struct Messages {
    series: Vec<Series>,
    /// `(N, distinct rows)` of the problem, over every `N` in the files.
    rows: Vec<(u32, u64)>,
}

const LEGEND_WIDTH: u32 = 380;

impl Figure for Messages {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w - LEGEND_WIDTH);
        let all = self.series.iter().flat_map(|s| &s.points);
        let (nmin, nmax) = all
            .clone()
            .fold((u32::MAX, 0), |(a, b), p| (a.min(p.n), b.max(p.n)));
        let log2 = |v: u64| (v.max(1) as f64).log2();
        let data_top = all
            .clone()
            .map(|p| log2(p.messages))
            .chain(self.rows.iter().map(|&(_, r)| log2(r)))
            .fold(1.0, f64::max);
        // Ceilings far above the data are cut at twice its height (their value is in the key).
        let ceil_top = all
            .filter_map(|p| p.bits)
            .map(|b| (b as f64).min(2.0 * data_top))
            .fold(0.0, f64::max);
        let ytop = (data_top.max(ceil_top) + 1.0).ceil();
        let (x0, x1) = (f64::from(nmin) - 0.5, f64::from(nmax) + 0.5);
        let mut chart = ChartBuilder::on(&left)
            .caption(
                "Distinct messages against input length N",
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, -0.5..ytop)
            .map_err(|x| e(&x))?;
        let span = nmax - nmin;
        chart
            .configure_mesh()
            .x_desc("N (input length)")
            .y_desc("distinct messages (log scale)")
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(WHITE)
            .x_labels((span as usize + 1).min(16))
            .y_labels(((ytop as usize) + 1).min(12))
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| {
                if (y - y.round()).abs() < 1e-9 {
                    power_of_two(y.round() as i64)
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(|x| e(&x))?;
        let mut key: Vec<(RGBColor, bool, String)> = Vec::new();
        if !self.rows.is_empty() {
            let black = PALETTE[7];
            chart
                .draw_series(LineSeries::new(
                    self.rows.iter().map(|&(n, r)| (f64::from(n), log2(r))),
                    black.stroke_width(3),
                ))
                .map_err(|x| e(&x))?;
            key.push((
                black,
                false,
                "distinct rows of the problem (2ᴺ for INDEX_N)".into(),
            ));
        }
        for (k, s) in self.series.iter().enumerate() {
            let color = PALETTE[k % 7];
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (f64::from(p.n), log2(p.messages))),
                    color.stroke_width(2),
                ))
                .map_err(|x| e(&x))?;
            chart
                .draw_series(
                    s.points.iter().map(|p| {
                        Circle::new((f64::from(p.n), log2(p.messages)), 5, color.filled())
                    }),
                )
                .map_err(|x| e(&x))?;
            key.push((color, false, s.name.clone()));
            let ceil: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter_map(|p| p.bits.map(|b| (f64::from(p.n), (b as f64).min(ytop))))
                .collect();
            if !ceil.is_empty() {
                // A lone point's ceiling is drawn across half a step each side.
                let line = if ceil.len() == 1 {
                    vec![(ceil[0].0 - 0.4, ceil[0].1), (ceil[0].0 + 0.4, ceil[0].1)]
                } else {
                    ceil
                };
                chart
                    .draw_series(DashedLineSeries::new(line, 8, 5, color.stroke_width(2)))
                    .map_err(|x| e(&x))?;
                let mut bits: Vec<u64> = s.points.iter().filter_map(|p| p.bits).collect();
                bits.dedup();
                let value = match bits.as_slice() {
                    [b] => format!(" = {}", power_of_two(*b as i64)),
                    _ => String::new(),
                };
                key.push((color, true, format!("  ceiling 2^(m·p){value}")));
            }
        }
        for (i, (color, dashed, text)) in key.iter().enumerate() {
            let y = 60 + 24 * i as i32;
            let style = color.stroke_width(if *dashed { 2 } else { 3 });
            if *dashed {
                for s in 0..3 {
                    right
                        .draw(&PathElement::new(
                            vec![(10 + 10 * s, y), (16 + 10 * s, y)],
                            style,
                        ))
                        .map_err(|x| e(&x))?;
                }
            } else {
                right
                    .draw(&PathElement::new(vec![(8, y), (36, y)], style))
                    .map_err(|x| e(&x))?;
            }
            right
                .draw(&Text::new(
                    text.clone(),
                    (44, y),
                    ("sans-serif", 14)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .map_err(|x| e(&x))?;
        }
        root.present().map_err(|x| e(&x))?;
        Ok(())
    }
}

/// Draws the messages figure from check point lines into `dir` as `messages.{svg,png,csv}`.
pub fn messages(files: &[PathBuf], dir: &Path) -> anyhow::Result<(Drawn, usize)> {
    let (series, skipped) = series_of(files)?;
    let mut rows: Vec<(u32, u64)> = series
        .iter()
        .flat_map(|s| &s.points)
        .filter_map(|p| p.rows.map(|r| (p.n, r)))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    let mut csv = String::from("series,n,distinct_messages,distinct_rows,bits_available\n");
    for s in &series {
        for p in &s.points {
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                csv_field(&s.name),
                p.n,
                p.messages,
                p.rows.map_or(String::new(), |r| r.to_string()),
                p.bits.map_or(String::new(), |b| b.to_string())
            ));
        }
    }
    let figure = Messages { series, rows };
    let drawn = render(dir, "messages", (1000 + LEGEND_WIDTH, 640), &figure, &csv)?;
    Ok((drawn, skipped))
}
