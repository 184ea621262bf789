//! The matrix figure: a communication matrix drawn as a grid of cells (rows: Alice's inputs,
//! columns: Bob's; dark 1, light 0) with a certificate drawn over it — a fooling set's pairs
//! marked, or each rectangle of a partition / cover framed and numbered in its own colour.
//!
//! The matrix is rebuilt from the certificate's `problem` (a built-in problem from its
//! definition, a user matrix from the rows the certificate stores). The figure checks that the
//! overlay fits that matrix (indices in range, every marked cell of the value claimed, a
//! partition covering every cell once, a cover every cell of its value), since its title says
//! so; whether a fooling set fools (and whether anything is optimal) is `ccsep verify`'s to check.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Drawn, Figure, PALETTE, render};
use crate::certificate::{CertificateFile, Claim, FORMAT_VERSION, RectangleKind};
use crate::error::InputError;
use crate::matrix::CommMatrix;
use crate::problem::ProblemSpec;

pub(super) const HINT: &str =
    "give certificate files `ccsep cc PROBLEM --n N --certify DIR` writes";

/// Most rows and columns drawn: a cell of a larger matrix is under 5 pixels and the marks of an
/// overlay can no longer be told apart.
pub const MAX_SIDE: u128 = 128;

/// The colour of a 1 and of a 0.
const ONE: RGBColor = RGBColor(70, 70, 70);
const ZERO: RGBColor = RGBColor(232, 232, 232);

/// Frame colours of rectangles, in turn (Okabe–Ito without black, which vanishes beside a
/// dark cell; yellow last, the faintest on white).
const FRAMES: [RGBColor; 7] = [
    PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], PALETTE[4], PALETTE[5], PALETTE[6],
];

/// Marks of fooling sets, in turn.
const MARKS: [RGBColor; 2] = [PALETTE[4], PALETTE[1]];

/// Reads one certificate file (format version and problem checked).
pub(super) fn read_certificate(path: &Path) -> Result<CertificateFile, InputError> {
    let bytes = crate::input::read_bytes(path, "certificate", 64 << 20, HINT)?;
    let cert: CertificateFile = serde_json::from_slice(&bytes).map_err(|e| {
        InputError::new(format!(
            "'{}': not a ccsep certificate ({e}); {HINT}",
            path.display()
        ))
    })?;
    if cert.ccsep_certificate != FORMAT_VERSION {
        return Err(InputError::new(format!(
            "'{}': certificate format {} (this ccsep reads {FORMAT_VERSION})",
            path.display(),
            cert.ccsep_certificate
        )));
    }
    cert.problem
        .validate()
        .map_err(|e| InputError::new(format!("'{}': {e}", path.display())))?;
    Ok(cert)
}

/// How the inputs along one side of a matrix are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Inputs {
    /// `n`-bit strings, written as binary numbers (most significant bit first).
    Bits(u32),
    /// Plain indices (INDEX's positions, a user matrix's rows and columns).
    Index,
}

impl Inputs {
    pub(super) fn write(self, i: u64) -> String {
        match self {
            Inputs::Bits(n) => format!("{i:0width$b}", width = n as usize),
            Inputs::Index => i.to_string(),
        }
    }
}

/// The inputs of the rows and of the columns, with their names (`x`, `y`, `i`, `row`,
/// `column`).
pub(super) fn sides(spec: &ProblemSpec) -> [(Inputs, &'static str); 2] {
    match spec {
        ProblemSpec::Index { n } => [(Inputs::Bits(*n), "x"), (Inputs::Index, "i")],
        ProblemSpec::Eq { n }
        | ProblemSpec::Disj { n }
        | ProblemSpec::Gt { n }
        | ProblemSpec::Ip { n } => [(Inputs::Bits(*n), "x"), (Inputs::Bits(*n), "y")],
        ProblemSpec::Matrix { .. } => [(Inputs::Index, "row"), (Inputs::Index, "column")],
    }
}

/// What is drawn over the matrix.
#[derive(Clone, Debug)]
enum Overlay {
    /// A fooling set for `value`: its pairs (row, column).
    Fooling { value: u8, pairs: Vec<(u64, u64)> },
    /// Rectangles `rows × cols` of one value each.
    Rectangles {
        kind: RectangleKind,
        rects: Vec<(Vec<u64>, Vec<u64>, u8)>,
    },
}

impl Overlay {
    /// The CSV column it fills.
    fn column(&self) -> String {
        match self {
            Overlay::Fooling { value, .. } => format!("fooling_set_{value}"),
            Overlay::Rectangles { kind, .. } => kind_name(*kind).into(),
        }
    }
}

fn kind_name(kind: RectangleKind) -> &'static str {
    match kind {
        RectangleKind::Partition => "partition",
        RectangleKind::Cover1 => "cover_1",
        RectangleKind::Cover0 => "cover_0",
    }
}

/// The matrix and its overlays, checked to fit each other.
struct MatrixFigure {
    spec: ProblemSpec,
    m: CommMatrix,
    overlays: Vec<Overlay>,
    /// Per overlay, per cell (row-major): the 1-based numbers of the rectangles holding it,
    /// or `[1]` for a fooling set's pair.
    members: Vec<Vec<Vec<usize>>>,
}

/// Per cell (row-major), what of `o` holds it.
fn members(o: &Overlay, cols: usize, cells: usize) -> Vec<Vec<usize>> {
    let mut at = vec![Vec::new(); cells];
    match o {
        Overlay::Fooling { pairs, .. } => {
            for &(x, y) in pairs {
                at[x as usize * cols + y as usize].push(1);
            }
        }
        Overlay::Rectangles { rects, .. } => {
            for (k, (rs, cs, _)) in rects.iter().enumerate() {
                for &x in rs {
                    for &y in cs {
                        at[x as usize * cols + y as usize].push(k + 1);
                    }
                }
            }
        }
    }
    at
}

/// Reads the certificates, rebuilds their matrix and checks that every overlay fits it.
fn read(files: &[PathBuf]) -> Result<MatrixFigure, InputError> {
    let mut spec: Option<(ProblemSpec, &PathBuf)> = None;
    let mut overlays = Vec::new();
    for f in files {
        let cert = read_certificate(f)?;
        match &spec {
            None => spec = Some((cert.problem.clone(), f)),
            Some((s, first)) if *s != cert.problem => {
                return Err(InputError::new(format!(
                    "'{}' is about {} and '{}' about {}: one matrix per figure",
                    first.display(),
                    s.label(),
                    f.display(),
                    cert.problem.label()
                )));
            }
            Some(_) => {}
        }
        let overlay = match cert.claim {
            Claim::FoolingSet(fs) => Overlay::Fooling {
                value: fs.value,
                pairs: fs.pairs,
            },
            Claim::Rectangles(r) => Overlay::Rectangles {
                kind: r.kind,
                rects: r
                    .rectangles
                    .into_iter()
                    .map(|r| (r.rows, r.cols, r.value))
                    .collect(),
            },
            other => {
                let kind = match other {
                    Claim::OneWay(_) => "a one-way",
                    Claim::Rank(_) => "a rank",
                    _ => "a protocol",
                };
                return Err(InputError::new(format!(
                    "'{}' is {kind} certificate: the matrix figure draws a fooling set \
                     (fooling_set_*.json) or a partition / cover (partition.json, cover_*.json){}",
                    f.display(),
                    if kind == "a protocol" {
                        "; `ccsep plot protocol-tree` draws protocol.json"
                    } else {
                        ""
                    }
                )));
            }
        };
        if overlays
            .iter()
            .any(|o: &Overlay| o.column() == overlay.column())
        {
            return Err(InputError::new(format!(
                "'{}': a second {} certificate for the same matrix; give one",
                f.display(),
                overlay.column().replace('_', " ")
            )));
        }
        if matches!(overlay, Overlay::Rectangles { .. })
            && overlays
                .iter()
                .any(|o| matches!(o, Overlay::Rectangles { .. }))
        {
            return Err(InputError::new(format!(
                "'{}': a second set of rectangles; the matrix figure draws one partition or cover",
                f.display()
            )));
        }
        overlays.push(overlay);
    }
    let (spec, _) = spec.ok_or_else(|| InputError::new(format!("no certificate given; {HINT}")))?;
    let (rows, cols) = spec.dims();
    if rows > MAX_SIDE || cols > MAX_SIDE {
        return Err(InputError::new(format!(
            "{} is {rows} x {cols}: the matrix figure draws at most {MAX_SIDE} x {MAX_SIDE} \
             (a cell of a larger matrix is under 5 pixels and its marks cannot be told apart); \
             take a smaller n",
            spec.label()
        )));
    }
    let m = spec.matrix()?;
    for o in &overlays {
        fits(&spec, &m, o)?;
    }
    let members = overlays
        .iter()
        .map(|o| members(o, m.cols(), m.rows() * m.cols()))
        .collect();
    Ok(MatrixFigure {
        spec,
        m,
        overlays,
        members,
    })
}

/// Checks that `o` fits `m`: indices in range, each marked cell of the value claimed, no pair
/// or index listed twice, and rectangles that partition the matrix (a partition) or cover every
/// cell of their value (a cover) — what the figure's title says they do.
fn fits(spec: &ProblemSpec, m: &CommMatrix, o: &Overlay) -> Result<(), InputError> {
    let label = spec.label();
    let mismatch = |what: String| {
        InputError::new(format!(
            "the {} certificate does not fit {label}: {what} (forged, or for another matrix; \
             `ccsep verify` checks certificates)",
            o.column().replace('_', " ")
        ))
    };
    let (rows, cols) = (m.rows() as u64, m.cols() as u64);
    let cell = |x: u64, y: u64, value: u8| -> Result<(), InputError> {
        if x >= rows || y >= cols {
            return Err(mismatch(format!(
                "cell ({x}, {y}) is outside its {rows} x {cols} matrix"
            )));
        }
        let f = u8::from(m.get(x as usize, y as usize));
        if f != value {
            return Err(mismatch(format!(
                "f({x}, {y}) = {f}, but the certificate marks it as a {value}"
            )));
        }
        Ok(())
    };
    match o {
        Overlay::Fooling { value, pairs } => {
            if *value > 1 {
                return Err(mismatch(format!("value {value} is not 0 or 1")));
            }
            let mut seen = std::collections::BTreeSet::new();
            for &(x, y) in pairs {
                cell(x, y, *value)?;
                if !seen.insert((x, y)) {
                    return Err(mismatch(format!("pair ({x}, {y}) is listed twice")));
                }
            }
        }
        Overlay::Rectangles { kind, rects } => {
            if rects.len() as u64 > rows * cols {
                return Err(mismatch(format!(
                    "{} rectangles for {} cells",
                    rects.len(),
                    rows * cols
                )));
            }
            let mut covered = vec![0u32; (rows * cols) as usize];
            for (rs, cs, _) in rects {
                for &x in rs.iter().filter(|&&x| x < rows) {
                    for &y in cs.iter().filter(|&&y| y < cols) {
                        covered[(x * cols + y) as usize] += 1;
                    }
                }
            }
            for x in 0..rows {
                for y in 0..cols {
                    let times = covered[(x * cols + y) as usize];
                    let f = u8::from(m.get(x as usize, y as usize));
                    let wrong = match kind {
                        RectangleKind::Partition => times != 1,
                        RectangleKind::Cover1 => f == 1 && times == 0,
                        RectangleKind::Cover0 => f == 0 && times == 0,
                    };
                    if wrong {
                        return Err(mismatch(format!(
                            "cell ({x}, {y}) is in {times} of its rectangles, so they are not {}",
                            match kind {
                                RectangleKind::Partition => "a partition",
                                RectangleKind::Cover1 => "a cover of the 1s",
                                RectangleKind::Cover0 => "a cover of the 0s",
                            }
                        )));
                    }
                }
            }
            for (k, (rs, cs, value)) in rects.iter().enumerate() {
                let want = match kind {
                    RectangleKind::Partition => *value,
                    RectangleKind::Cover1 => 1,
                    RectangleKind::Cover0 => 0,
                };
                if *value != want || *value > 1 {
                    return Err(mismatch(format!(
                        "rectangle {} has value {value} in a {}",
                        k + 1,
                        kind_name(*kind).replace('_', " of ")
                    )));
                }
                if rs.is_empty() || cs.is_empty() {
                    return Err(mismatch(format!("rectangle {} is empty", k + 1)));
                }
                for (what, list) in [("row", rs), ("column", cs)] {
                    let set: std::collections::BTreeSet<_> = list.iter().collect();
                    if set.len() != list.len() {
                        return Err(mismatch(format!(
                            "rectangle {} lists a {what} twice",
                            k + 1
                        )));
                    }
                }
                for &x in rs {
                    for &y in cs {
                        cell(x, y, *value)?;
                    }
                }
            }
        }
    }
    Ok(())
}

impl MatrixFigure {
    /// Whether fooling set `o` has the pair `(x, y)`.
    fn marked(&self, o: usize, x: usize, y: usize) -> bool {
        !self.members[o][x * self.m.cols() + y].is_empty()
    }

    /// The 1-based numbers of overlay `o`'s rectangles that hold `(x, y)`.
    fn rects_at(&self, o: usize, x: usize, y: usize) -> &[usize] {
        &self.members[o][x * self.m.cols() + y]
    }

    /// One row per cell, row-major: `row,col,value`, then per overlay whether the cell is a
    /// fooling-set pair (`true`/`false`) or the numbers of the rectangles holding it
    /// (`;`-separated, empty when none).
    fn csv(&self) -> String {
        let [(ri, _), (ci, _)] = sides(&self.spec);
        let mut s = String::from("row,col,row_input,col_input,value");
        for o in &self.overlays {
            s.push(',');
            s.push_str(&o.column());
        }
        s.push('\n');
        for x in 0..self.m.rows() {
            for y in 0..self.m.cols() {
                s.push_str(&format!(
                    "{x},{y},{},{},{}",
                    ri.write(x as u64),
                    ci.write(y as u64),
                    u8::from(self.m.get(x, y))
                ));
                for (k, o) in self.overlays.iter().enumerate() {
                    s.push(',');
                    match o {
                        Overlay::Fooling { .. } => s.push_str(&self.marked(k, x, y).to_string()),
                        Overlay::Rectangles { .. } => {
                            let ks: Vec<String> = self
                                .rects_at(k, x, y)
                                .iter()
                                .map(usize::to_string)
                                .collect();
                            s.push_str(&ks.join(";"));
                        }
                    }
                }
                s.push('\n');
            }
        }
        s
    }

    fn title(&self) -> String {
        let parts: Vec<String> = self
            .overlays
            .iter()
            .map(|o| match o {
                Overlay::Fooling { value, pairs } => {
                    format!("a fooling set of {} pairs (f = {value})", pairs.len())
                }
                Overlay::Rectangles { kind, rects } => format!(
                    "{} {} rectangles",
                    match kind {
                        RectangleKind::Partition => "a partition into",
                        RectangleKind::Cover1 => "the 1s covered by",
                        RectangleKind::Cover0 => "the 0s covered by",
                    },
                    rects.len()
                ),
            })
            .collect();
        if parts.is_empty() {
            self.spec.label()
        } else {
            format!("{} with {}", self.spec.label(), parts.join(" and "))
        }
    }
}

/// The geometry of the figure, in pixels.
struct Layout {
    cell: i32,
    /// Font size of the input labels.
    font: i32,
    /// Label every `step`-th row / column.
    row_step: usize,
    col_step: usize,
    left: i32,
    top: i32,
    legend_x: i32,
    width: u32,
    height: u32,
}

const TITLE_H: i32 = 78;
const LEGEND_W: i32 = 400;

/// Width of `chars` characters of digits at `font` pixels (DejaVu Sans digits are 0.64 em).
fn text_w(chars: usize, font: i32) -> i32 {
    (chars as f64 * 0.64 * font as f64).ceil() as i32
}

fn layout(fig: &MatrixFigure) -> Layout {
    let (rows, cols) = (fig.m.rows(), fig.m.cols());
    let cell = (576 / rows.max(cols) as i32).clamp(5, 64);
    let font = ((cell as f64 * 0.45) as i32).clamp(13, 19);
    let [(ri, _), (ci, _)] = sides(&fig.spec);
    let row_chars = ri.write(rows as u64 - 1).len();
    let col_chars = ci.write(cols as u64 - 1).len();
    // The smallest power-of-two step at which labels do not touch.
    let step = |room: i32, need: i32| {
        let mut s = 1usize;
        while (s as i32) * room < need {
            s *= 2;
        }
        s
    };
    let row_step = step(cell, font + 2);
    let col_step = step(cell, text_w(col_chars, font) + 6);
    let left = 24 + text_w(row_chars, font).max(text_w(6, 18)) + 10;
    let top = TITLE_H + 28 + font + 8;
    let legend_x = left + cell * cols as i32 + 28;
    let width = (legend_x + LEGEND_W) as u32;
    let legend_h = 40 + 30 * (2 + legend_rows(fig)) as i32;
    let height = (top + (cell * rows as i32).max(legend_h) + 24) as u32;
    Layout {
        cell,
        font,
        row_step,
        col_step,
        left,
        top,
        legend_x,
        width,
        height,
    }
}

/// Rows of the legend after the two cell colours.
fn legend_rows(fig: &MatrixFigure) -> usize {
    fig.overlays
        .iter()
        .map(|o| match o {
            Overlay::Fooling { .. } => 1,
            Overlay::Rectangles { .. } => 2,
        })
        .sum()
}

impl Figure for MatrixFigure {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let l = layout(self);
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let text = |s: &str, at: (i32, i32), size: i32, pos: Pos, color: RGBColor| {
            root.draw(&Text::new(
                s.to_string(),
                at,
                ("sans-serif", size).into_font().color(&color).pos(pos),
            ))
            .map_err(|x| e(&x))
        };
        let left_top = Pos::new(HPos::Left, VPos::Top);
        let centre = Pos::new(HPos::Center, VPos::Center);
        let [(ri, rname), (ci, cname)] = sides(&self.spec);
        text(&self.title(), (24, 16), 26, left_top, BLACK)?;
        let written = |i: Inputs| match i {
            Inputs::Bits(_) => " (in binary)",
            Inputs::Index => "",
        };
        text(
            &format!(
                "rows: Alice's {rname}{}; columns: Bob's {cname}{}",
                written(ri),
                written(ci)
            ),
            (24, 48),
            17,
            left_top,
            RGBColor(60, 60, 60),
        )?;
        let (rows, cols) = (self.m.rows(), self.m.cols());
        let grid_w = l.cell * cols as i32;
        // Bob's inputs above the columns, Alice's left of the rows.
        text(
            &format!("Bob's {cname}"),
            (l.left + grid_w / 2, TITLE_H + 6),
            18,
            Pos::new(HPos::Center, VPos::Top),
            BLACK,
        )?;
        text(
            &format!("Alice's {rname}"),
            (l.left - 10, TITLE_H + 6),
            18,
            Pos::new(HPos::Right, VPos::Top),
            BLACK,
        )?;
        for y in (0..cols).step_by(l.col_step) {
            text(
                &ci.write(y as u64),
                (l.left + l.cell * y as i32 + l.cell / 2, l.top - 6),
                l.font,
                Pos::new(HPos::Center, VPos::Bottom),
                BLACK,
            )?;
        }
        for x in (0..rows).step_by(l.row_step) {
            text(
                &ri.write(x as u64),
                (l.left - 8, l.top + l.cell * x as i32 + l.cell / 2),
                l.font,
                Pos::new(HPos::Right, VPos::Center),
                BLACK,
            )?;
        }
        let gap = i32::from(l.cell >= 10);
        let rect = |x0: i32, y0: i32, x1: i32, y1: i32, c: RGBColor| {
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.filled()))
                .map_err(|x| e(&x))
        };
        let rect_overlay = self
            .overlays
            .iter()
            .position(|o| matches!(o, Overlay::Rectangles { .. }));
        let numbered = l.cell >= 24
            && !self
                .overlays
                .iter()
                .any(|o| matches!(o, Overlay::Fooling { .. }));
        let frame = (l.cell / 8).max(2);
        for x in 0..rows {
            for y in 0..cols {
                let (x0, y0) = (l.left + l.cell * y as i32, l.top + l.cell * x as i32);
                let (x1, y1) = (x0 + l.cell - gap, y0 + l.cell - gap);
                let one = self.m.get(x, y);
                let base = if one { ONE } else { ZERO };
                let ks = rect_overlay.map_or(&[][..], |o| self.rects_at(o, x, y));
                match ks.first() {
                    // A frame in the (first) rectangle's colour, the cell's value inside.
                    Some(&k) => {
                        rect(x0, y0, x1, y1, FRAMES[(k - 1) % FRAMES.len()])?;
                        rect(x0 + frame, y0 + frame, x1 - frame, y1 - frame, base)?;
                        if numbered {
                            let label: Vec<String> = ks.iter().map(usize::to_string).collect();
                            text(
                                &label.join(","),
                                ((x0 + x1) / 2, (y0 + y1) / 2),
                                (l.cell / 3).clamp(11, 18),
                                centre,
                                if one { WHITE } else { BLACK },
                            )?;
                        }
                    }
                    None => rect(x0, y0, x1, y1, base)?,
                }
                for (k, o) in (0..self.overlays.len())
                    .filter(|&o| matches!(self.overlays[o], Overlay::Fooling { .. }))
                    .enumerate()
                {
                    if self.marked(o, x, y) {
                        let c = ((x0 + x1) / 2, (y0 + y1) / 2);
                        let r = (l.cell * 3 / 10).max(2);
                        root.draw(&Circle::new(c, r + 2, WHITE.filled()))
                            .map_err(|x| e(&x))?;
                        root.draw(&Circle::new(c, r, MARKS[k % MARKS.len()].filled()))
                            .map_err(|x| e(&x))?;
                    }
                }
            }
        }
        // The legend.
        let (lx, mut ly) = (l.legend_x, l.top);
        let sw = 22;
        let entry = |ly: i32, s: &str| {
            text(
                s,
                (lx + sw + 10, ly + sw / 2),
                18,
                Pos::new(HPos::Left, VPos::Center),
                BLACK,
            )
        };
        rect(lx, ly, lx + sw, ly + sw, ONE)?;
        entry(ly, "f = 1")?;
        ly += 30;
        rect(lx, ly, lx + sw, ly + sw, ZERO)?;
        entry(ly, "f = 0")?;
        ly += 30;
        let mut marks = 0;
        for o in &self.overlays {
            match o {
                Overlay::Fooling { value, pairs } => {
                    let c = (lx + sw / 2, ly + sw / 2);
                    root.draw(&Circle::new(c, 8, MARKS[marks % MARKS.len()].filled()))
                        .map_err(|x| e(&x))?;
                    marks += 1;
                    entry(
                        ly,
                        &format!("fooling set, f = {value}: {} pairs", pairs.len()),
                    )?;
                    ly += 30;
                }
                Overlay::Rectangles { kind, rects } => {
                    let small = 14;
                    for (k, c) in FRAMES.iter().take(rects.len().min(3)).enumerate() {
                        let (x, y) = (lx + k as i32 * (small + 3), ly + (sw - small) / 2);
                        rect(x, y, x + small, y + small, *c)?;
                        rect(x + 3, y + 3, x + small - 3, y + small - 3, ZERO)?;
                    }
                    let what = match kind {
                        RectangleKind::Partition => "monochromatic rectangles (partition)",
                        RectangleKind::Cover1 => "1-rectangles (cover)",
                        RectangleKind::Cover0 => "0-rectangles (cover)",
                    };
                    text(
                        &format!("{} {what}", rects.len()),
                        (lx + 3 * 17 + 8, ly + sw / 2),
                        18,
                        Pos::new(HPos::Left, VPos::Center),
                        BLACK,
                    )?;
                    ly += 24;
                    text(
                        if numbered {
                            "one colour each, numbered"
                        } else {
                            "one frame colour each"
                        },
                        (lx + 3 * 17 + 8, ly + sw / 2),
                        15,
                        Pos::new(HPos::Left, VPos::Center),
                        RGBColor(60, 60, 60),
                    )?;
                    ly += 30;
                }
            }
        }
        root.present().map_err(|x| e(&x))?;
        Ok(())
    }
}

/// Draws the matrix figure from certificate files into `dir` as `matrix.svg`, `matrix.png`
/// and `matrix.csv`.
pub fn matrix(files: &[PathBuf], dir: &Path) -> anyhow::Result<(Drawn, usize)> {
    let fig = read(files)?;
    let l = layout(&fig);
    let drawn = render(dir, "matrix", (l.width, l.height), &fig, &fig.csv())?;
    Ok((drawn, 0))
}
