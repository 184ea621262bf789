//! Figures for papers, drawn with `plotters` as SVG and PNG, each with its data beside it as CSV.
//!
//! Text is set in DejaVu Sans, bundled (`assets/DejaVuSans.ttf`, registered once), so a PNG
//! renders the same on a machine without system fonts. Colours are the Okabe–Ito palette, which
//! stays distinct for the common kinds of colour blindness; series also differ by marker (filled:
//! verified on every instance; hollow: on a labelled sample).
//!
//! A figure is a reader of result files (the JSON lines `check --out`, `construct --curve --out`
//! and `train` write), never a new computation: one module per figure, each a row of
//! [`FIGURES`], drawn through [`render`] (both backends, then the CSV).
//!
//! Invariant: the same files give the same SVG and CSV bytes (no timestamps, no map order).

mod check_grid;
mod check_lines;
mod codes;
mod heatmap;
mod matrix;
mod messages;
mod protocol_tree;
mod separation;
mod trained;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::InputError;

pub use separation::{Point, points_csv, separation_points};

/// The bundled font.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Okabe–Ito: orange, sky blue, bluish green, blue, vermillion, reddish purple, yellow, black.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Registers the bundled font under the family name the figures use (once per process).
fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; a failure here is a broken build, not bad input.
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            panic!("the bundled font does not load");
        }
    });
}

/// The files a figure wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Drawn {
    pub svg: PathBuf,
    pub png: PathBuf,
    pub csv: PathBuf,
}

/// A figure's drawing function: result files and the folder in, the files written and the
/// input lines skipped out.
pub type DrawFn = fn(&[PathBuf], &Path) -> anyhow::Result<(Drawn, usize)>;

/// What one figure module provides: its name (`ccsep plot NAME`), a line of help, and the
/// function that reads the result files and draws into a folder, returning the files written
/// and how many lines of the input it skipped (error lines of a grid or curve file).
pub struct FigureEntry {
    pub name: &'static str,
    pub help: &'static str,
    pub draw: DrawFn,
}

/// Every figure `ccsep plot` draws, in the order `--help` lists them.
pub const FIGURES: &[FigureEntry] = &[
    FigureEntry {
        name: "separation",
        help: "bits against N, log-log, from `construct --curve --out` files (and trained models' smallest correct m·p from `check --precision A..B --json` sweep summaries)",
        draw: separation::separation,
    },
    FigureEntry {
        name: "check-grid",
        help: "accuracy over width × bits per number p, with each point's verdict and the m·p bound, from `check --width A..B --precision P1..P2 --out` files",
        draw: check_grid::check_grid,
    },
    FigureEntry {
        name: "messages",
        help: "distinct messages against N beside 2^N rows and the 2^(m·p) ceiling, from `check --n K --out FILE` runs at several N appending to one file",
        draw: messages::messages,
    },
    FigureEntry {
        name: "trained",
        help: "best trained accuracy over N × width per task and architecture, from `train` JSON lines",
        draw: trained::trained,
    },
    FigureEntry {
        name: "matrix",
        help: "a communication matrix with a fooling set or a partition / cover drawn over it, \
               from the certificates `cc --certify DIR` writes",
        draw: matrix::matrix,
    },
    FigureEntry {
        name: "protocol-tree",
        help: "an optimal protocol tree, from the `protocol.json` certificate `cc --certify DIR` \
               writes",
        draw: protocol_tree::protocol_tree,
    },
    FigureEntry {
        name: "codes",
        help: "code length k against N per family of nearly orthogonal codes, beside \
               Hoeffding's k = (8/γ²)·ln(2N), from `construct vectors --n N --json` reports",
        draw: codes::codes,
    },
];

/// The figure called `name`, or an error listing the figures there are.
pub fn figure(name: &str) -> Result<&'static FigureEntry, InputError> {
    FIGURES.iter().find(|f| f.name == name).ok_or_else(|| {
        let names: Vec<&str> = FIGURES.iter().map(|f| f.name).collect();
        InputError::new(format!(
            "unknown figure {name:?}: the figures are {}",
            names.join(", ")
        ))
    })
}

/// A figure that draws itself on any `plotters` backend (SVG and PNG share one drawing).
pub trait Figure {
    /// Draws the whole figure on `root`; the error is plotters' message.
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` into `dir` as `STEM.svg` and `STEM.png` (`size` pixels) and writes `csv`
/// beside them as `STEM.csv`; the folder is created if missing.
pub fn render(
    dir: &Path,
    stem: &str,
    size: (u32, u32),
    figure: &impl Figure,
    csv: &str,
) -> anyhow::Result<Drawn> {
    use anyhow::Context;
    register_font();
    std::fs::create_dir_all(dir).map_err(|e| {
        InputError::new(format!(
            "--out {}: could not create the folder ({e}); name a folder you can write",
            dir.display()
        ))
    })?;
    let drawn = Drawn {
        svg: dir.join(format!("{stem}.svg")),
        png: dir.join(format!("{stem}.png")),
        csv: dir.join(format!("{stem}.csv")),
    };
    figure
        .draw(SVGBackend::new(&drawn.svg, size).into_drawing_area())
        .map_err(|m| anyhow::anyhow!("could not draw '{}': {m}", drawn.svg.display()))?;
    figure
        .draw(BitMapBackend::new(&drawn.png, size).into_drawing_area())
        .map_err(|m| anyhow::anyhow!("could not draw '{}': {m}", drawn.png.display()))?;
    std::fs::write(&drawn.csv, csv)
        .with_context(|| format!("could not write '{}'", drawn.csv.display()))?;
    Ok(drawn)
}

/// One non-blank line of a JSON-lines result file, with where it came from (for messages).
pub struct JsonLine {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    pub value: serde_json::Value,
}

impl JsonLine {
    /// `'FILE' line N` for messages.
    pub fn at(&self) -> String {
        format!("'{}' line {}", self.file.display(), self.line)
    }

    /// Parses this line as `T` (the fields a figure reads), or says which line is not `what`
    /// and which command writes such files (`hint`).
    pub fn parse<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        hint: &str,
    ) -> Result<T, InputError> {
        serde_json::from_value(self.value.clone())
            .map_err(|e| InputError::new(format!("{}: not a {what} ({e}); {hint}", self.at())))
    }
}

/// Reads every non-blank line of `files` as JSON (each file at most 64 MiB, UTF-8); `what`
/// names the kind of file in messages, `hint` says which command writes it.
pub fn read_json_lines(
    files: &[PathBuf],
    what: &str,
    hint: &str,
) -> Result<Vec<JsonLine>, InputError> {
    let mut out = Vec::new();
    for f in files {
        let bytes = crate::input::read_bytes(f, what, 64 << 20, hint)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| InputError::new(format!("{what} '{}' is not UTF-8 text", f.display())))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let value = serde_json::from_str(line).map_err(|e| {
                InputError::new(format!(
                    "'{}' line {}: not JSON ({e}); {hint}",
                    f.display(),
                    i + 1
                ))
            })?;
            out.push(JsonLine {
                file: f.clone(),
                line: i + 1,
                value,
            });
        }
    }
    Ok(out)
}

/// Reads every JSON value in `files`, one after another (pretty-printed reports as
/// `ccsep ... --json` prints them, or JSON lines); `line` is the line each value starts on.
pub fn read_json_values(
    files: &[PathBuf],
    what: &str,
    hint: &str,
) -> Result<Vec<JsonLine>, InputError> {
    let mut out = Vec::new();
    for f in files {
        let bytes = crate::input::read_bytes(f, what, 64 << 20, hint)?;
        let mut stream = serde_json::Deserializer::from_slice(&bytes).into_iter();
        loop {
            let start = stream.byte_offset();
            let Some(next) = stream.next() else { break };
            let line = 1 + bytes[..start].iter().filter(|&&b| b == b'\n').count();
            let value = next.map_err(|e| {
                InputError::new(format!("{what} '{}': not JSON ({e}); {hint}", f.display()))
            })?;
            // The value starts after the whitespace that precedes it.
            let skipped = bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .filter(|&&b| b == b'\n')
                .count();
            out.push(JsonLine {
                file: f.clone(),
                line: line + skipped,
                value,
            });
        }
    }
    Ok(out)
}

/// Quotes a CSV field (RFC 4180: in double quotes, inner quotes doubled).
pub fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
