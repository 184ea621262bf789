//! Heatmap panels on categorical axes, laid out in pixels (each cell one value of the colour
//! scale, with a marker), a colour bar and a key: what the `check-grid` and `trained` figures
//! share. Axes are categories (the widths, precisions or lengths a file holds, in order), so a
//! cell is one result, never an interpolation.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A marker drawn on a cell (black on a white halo, visible on every colour of the scale).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    None,
    /// A cross.
    Cross,
    /// A ring.
    Ring,
    /// A question mark.
    Query,
    /// A filled dot.
    Dot,
}

/// One cell: its column and row (row 0 at the bottom), its value (`None`: no result, drawn
/// grey), its marker and whether it is outlined.
#[derive(Clone, Debug)]
pub struct Cell {
    pub col: usize,
    pub row: usize,
    pub value: Option<f64>,
    pub mark: Mark,
    pub outline: bool,
}

/// One panel: its title, the axes' categories and descriptions, the cells, and an optional
/// boundary (per column, the row from which the cells are above it; `nrows`: none is).
pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_labels: Vec<String>,
    pub y_labels: Vec<String>,
    pub cells: Vec<Cell>,
    pub boundary: Option<Vec<usize>>,
}

/// The boundary's colour (Okabe–Ito vermillion).
pub const BOUNDARY: RGBColor = super::PALETTE[4];
/// A cell without a result.
const EMPTY: RGBColor = RGBColor(225, 225, 225);

type Res = Result<(), String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Viridis at nine evenly spaced points (matplotlib's table): perceptually uniform, readable
/// in grey and for the common colour blindnesses.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// The colour of `v` on the scale `lo..hi` (viridis: dark purple low, yellow high), linear
/// between the table's points.
pub fn color(v: f64, (lo, hi): (f64, f64)) -> RGBColor {
    let h = if hi > lo { (v - lo) / (hi - lo) } else { 1.0 };
    let t = h.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (t.floor() as usize).min(VIRIDIS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    (x, y): (i32, i32),
    size: u32,
    pos: Pos,
    rotate: bool,
) -> Res {
    let mut style = ("sans-serif", size).into_font().color(&BLACK).pos(pos);
    if rotate {
        style = style.transform(FontTransform::Rotate270);
    }
    area.draw(&Text::new(s.to_string(), (x, y), style))
        .map_err(err)
}

/// Draws `mark` centred at `(x, y)`, `r` pixels across half.
pub fn draw_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    mark: Mark,
    (x, y): (i32, i32),
    r: i32,
) -> Res {
    let (halo, ink) = (WHITE.stroke_width(5), BLACK.stroke_width(2));
    match mark {
        Mark::None => {}
        Mark::Cross => {
            for style in [halo, ink] {
                area.draw(&PathElement::new(
                    vec![(x - r, y - r), (x + r, y + r)],
                    style,
                ))
                .map_err(err)?;
                area.draw(&PathElement::new(
                    vec![(x - r, y + r), (x + r, y - r)],
                    style,
                ))
                .map_err(err)?;
            }
        }
        Mark::Ring => {
            area.draw(&Circle::new((x, y), r as u32, halo))
                .map_err(err)?;
            area.draw(&Circle::new((x, y), r as u32, ink))
                .map_err(err)?;
        }
        Mark::Dot => {
            area.draw(&Circle::new((x, y), (r / 2 + 2) as u32, WHITE.filled()))
                .map_err(err)?;
            area.draw(&Circle::new((x, y), (r / 2) as u32, BLACK.filled()))
                .map_err(err)?;
        }
        Mark::Query => {
            area.draw(&Circle::new((x, y), r as u32 + 1, WHITE.filled()))
                .map_err(err)?;
            text(area, "?", (x, y), (2 * r + 2) as u32, center(), false)?;
        }
    }
    Ok(())
}

fn center() -> Pos {
    Pos::new(HPos::Center, VPos::Center)
}

/// Draws `panel` filling `area`, its cells coloured on `scale`.
pub fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    scale: (f64, f64),
) -> Res {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let longest = panel
        .y_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1) as i32;
    let (left, right, top, bottom) = (34 + 8 * longest + 8, 10, 34, 58);
    text(area, &panel.title, (w / 2, 14), 17, center(), false)?;
    let (nc, nr) = (panel.x_labels.len() as i32, panel.y_labels.len() as i32);
    let (pw, ph) = ((w - left - right).max(nc), (h - top - bottom).max(nr));
    let (cw, ch) = (pw / nc.max(1), ph / nr.max(1));
    let (gw, gh) = (cw * nc, ch * nr);
    let x0 = left + (pw - gw) / 2;
    let y0 = top;
    let cell_px = |c: i32, r: i32| (x0 + c * cw, y0 + (nr - 1 - r) * ch);
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + gw, y0 + gh)],
        EMPTY.filled(),
    ))
    .map_err(err)?;
    for c in &panel.cells {
        let (x, y) = cell_px(c.col as i32, c.row as i32);
        let fill = c.value.map_or(EMPTY, |v| color(v, scale));
        area.draw(&Rectangle::new([(x, y), (x + cw, y + ch)], fill.filled()))
            .map_err(err)?;
    }
    // Grid lines between cells.
    for c in 0..=nc {
        area.draw(&PathElement::new(
            vec![(x0 + c * cw, y0), (x0 + c * cw, y0 + gh)],
            WHITE.stroke_width(1),
        ))
        .map_err(err)?;
    }
    for r in 0..=nr {
        area.draw(&PathElement::new(
            vec![(x0, y0 + r * ch), (x0 + gw, y0 + r * ch)],
            WHITE.stroke_width(1),
        ))
        .map_err(err)?;
    }
    for c in panel.cells.iter().filter(|c| c.outline) {
        let (x, y) = cell_px(c.col as i32, c.row as i32);
        area.draw(&Rectangle::new(
            [(x + 2, y + 2), (x + cw - 2, y + ch - 2)],
            BLACK.stroke_width(2),
        ))
        .map_err(err)?;
    }
    let r = (cw.min(ch) / 4).clamp(3, 9);
    for c in &panel.cells {
        let (x, y) = cell_px(c.col as i32, c.row as i32);
        draw_mark(area, c.mark, (x + cw / 2, y + ch / 2), r)?;
    }
    if let Some(rows) = &panel.boundary {
        // A staircase along the cell edges: above it, the cells at or past the bound.
        let mut path = Vec::new();
        for (c, &row) in rows.iter().enumerate() {
            let y = y0 + (nr - row as i32) * ch;
            path.push((x0 + c as i32 * cw, y));
            path.push((x0 + (c as i32 + 1) * cw, y));
        }
        area.draw(&PathElement::new(path.clone(), WHITE.stroke_width(7)))
            .map_err(err)?;
        area.draw(&PathElement::new(path, BOUNDARY.stroke_width(4)))
            .map_err(err)?;
    }
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + gw, y0 + gh)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    for (c, l) in panel.x_labels.iter().enumerate() {
        let x = x0 + c as i32 * cw + cw / 2;
        text(area, l, (x, y0 + gh + 12), 14, center(), false)?;
    }
    for (r, l) in panel.y_labels.iter().enumerate() {
        let y = y0 + (nr - 1 - r as i32) * ch + ch / 2;
        text(
            area,
            l,
            (x0 - 6, y),
            14,
            Pos::new(HPos::Right, VPos::Center),
            false,
        )?;
    }
    text(
        area,
        &panel.x_desc,
        (x0 + gw / 2, y0 + gh + 38),
        15,
        center(),
        false,
    )?;
    text(area, &panel.y_desc, (12, y0 + gh / 2), 15, center(), true)?;
    Ok(())
}

/// A vertical colour bar of `scale` in `area`, titled `label`, with a tick at each of `ticks`
/// (value, text).
pub fn draw_colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: (f64, f64),
    label: &str,
    ticks: &[(f64, String)],
) -> Res {
    let (_, h) = area.dim_in_pixel();
    let (x0, x1, y0, y1) = (20, 44, 40, h as i32 - 40);
    text(
        area,
        label,
        (4, 16),
        14,
        Pos::new(HPos::Left, VPos::Center),
        false,
    )?;
    let steps = 100;
    for i in 0..steps {
        let v = scale.0 + (scale.1 - scale.0) * (i as f64 + 0.5) / steps as f64;
        let ya = y1 - (y1 - y0) * (i + 1) / steps;
        let yb = y1 - (y1 - y0) * i / steps;
        area.draw(&Rectangle::new(
            [(x0, ya), (x1, yb)],
            color(v, scale).filled(),
        ))
        .map_err(err)?;
    }
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))
        .map_err(err)?;
    let mut placed: Vec<(i32, &str)> = ticks
        .iter()
        .map(|(v, t)| {
            let f = if scale.1 > scale.0 {
                (v - scale.0) / (scale.1 - scale.0)
            } else {
                1.0
            };
            (
                y1 - ((y1 - y0) as f64 * f.clamp(0.0, 1.0)).round() as i32,
                t.as_str(),
            )
        })
        .collect();
    placed.sort_by_key(|&(y, _)| y);
    // Labels at least a line apart, pushed down where ticks are close.
    let mut last = i32::MIN;
    for (y, t) in placed {
        area.draw(&PathElement::new(
            vec![(x0 - 4, y), (x1 + 4, y)],
            BLACK.stroke_width(2),
        ))
        .map_err(err)?;
        let ty = y.max(last.saturating_add(16));
        text(
            area,
            t,
            (x1 + 8, ty),
            13,
            Pos::new(HPos::Left, VPos::Center),
            false,
        )?;
        last = ty;
    }
    Ok(())
}

/// One entry of a key: a marker, an outlined cell, a grey (empty) cell, or the boundary line.
pub enum KeyEntry {
    Mark(Mark),
    Outline,
    Empty,
    Boundary,
    /// Text only (a continuation of the entry above).
    Text,
}

/// The key: one line per entry, a symbol and its text, from the top of `area`.
pub fn draw_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(KeyEntry, String)],
) -> Res {
    for (i, (entry, label)) in entries.iter().enumerate() {
        let y = 14 + 26 * i as i32;
        let (x, s) = (16, 9);
        match entry {
            KeyEntry::Mark(m) => {
                area.draw(&Rectangle::new(
                    [(x - s - 2, y - s - 2), (x + s + 2, y + s + 2)],
                    color(0.5, (0.0, 1.0)).filled(),
                ))
                .map_err(err)?;
                draw_mark(area, *m, (x, y), 6)?;
            }
            KeyEntry::Outline => {
                area.draw(&Rectangle::new(
                    [(x - s, y - s), (x + s, y + s)],
                    BLACK.stroke_width(3),
                ))
                .map_err(err)?;
            }
            KeyEntry::Empty => {
                area.draw(&Rectangle::new(
                    [(x - s, y - s), (x + s, y + s)],
                    EMPTY.filled(),
                ))
                .map_err(err)?;
            }
            KeyEntry::Text => {}
            KeyEntry::Boundary => {
                area.draw(&PathElement::new(
                    vec![(x - s - 2, y), (x + s + 2, y)],
                    BOUNDARY.stroke_width(4),
                ))
                .map_err(err)?;
            }
        }
        text(
            area,
            label,
            (x + 18, y),
            14,
            Pos::new(HPos::Left, VPos::Center),
            false,
        )?;
    }
    Ok(())
}

/// Splits `area` into `n` panels, `cols` to a row, in reading order.
pub fn panels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    n: usize,
    cols: usize,
) -> Vec<DrawingArea<DB, Shift>> {
    let rows = n.div_ceil(cols.max(1)).max(1);
    let mut all = area.split_evenly((rows, cols.max(1)));
    all.truncate(n);
    all
}
