//! The point lines of `ccsep check` (its `--out` file, or its `--json` lines on stdout) as the
//! `check-grid` and `messages` figures read them: the fields they draw, the verdict as an enum,
//! and a short description of the model. Lines with an `"error"` are counted, not drawn;
//! precision-sweep summary lines (with a `"kind"`) are passed over (the separation figure draws
//! them).

use std::path::PathBuf;

use serde::Deserialize;

use super::read_json_lines;
use crate::error::InputError;

/// The verdict a check line carries (`verdict.tag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictTag {
    /// Fewer distinct messages than distinct rows (or a witness in a sample): the model errs.
    MustErr,
    /// As many distinct messages as rows: the size does not force an error.
    EnoughMessages,
    /// A sample without a witness.
    Inconclusive,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Verdict {
    pub tag: VerdictTag,
}

/// The model a line names (`"model"`: random, weights or construct).
#[derive(Clone, Debug, Deserialize)]
pub struct ModelLine {
    pub kind: String,
    pub arch: Option<String>,
    pub width: Option<u64>,
    pub layers: Option<u64>,
    pub seed: Option<u64>,
    pub path: Option<String>,
    pub name: Option<String>,
}

impl ModelLine {
    /// `random lstm, seed 0` / `lstm from w.safetensors` / `the index-rnn construction`
    /// (the width is left out: it is an axis or a series of the figures).
    pub fn describe(&self) -> String {
        let arch = self.arch.as_deref().unwrap_or("?");
        let layers = match self.layers {
            Some(l) if l > 1 => format!(", {l} layers"),
            _ => String::new(),
        };
        match self.kind.as_str() {
            "random" => format!("random {arch}{layers}, seed {}", self.seed.unwrap_or(0)),
            "weights" => {
                let path = self.path.as_deref().unwrap_or("?");
                let file = std::path::Path::new(path)
                    .file_name()
                    .map_or(path.to_string(), |f| f.to_string_lossy().into_owned());
                format!("{arch} from {file}")
            }
            _ => format!("the {} construction", self.name.as_deref().unwrap_or("?")),
        }
    }
}

/// `"grid"`: the settings every point of a grid shares.
#[derive(Clone, Debug, Deserialize)]
pub struct GridKey {
    pub config: String,
}

/// One point line of `ccsep check` (the fields the figures read).
#[derive(Clone, Debug, Deserialize)]
pub struct CheckLine {
    pub problem: String,
    pub n: u32,
    pub model: ModelLine,
    pub precision: String,
    pub bits_per_number: Option<u32>,
    pub accuracy: f64,
    pub exhaustive: bool,
    pub distinct_messages: u64,
    pub distinct_rows: Option<u64>,
    pub bits_available: Option<u64>,
    pub one_way_cc: Option<u32>,
    pub two_way_cc_lower_bound: Option<u32>,
    pub verdict: Verdict,
    pub grid: Option<GridKey>,
}

impl CheckLine {
    /// The bound that binds the line's protocol: Thm 4's two-way lower bound where the line
    /// carries one, else the one-way CC Alice → Bob; with its name.
    pub fn bound(&self) -> Option<(u32, &'static str)> {
        match (self.two_way_cc_lower_bound, self.one_way_cc) {
            (Some(b), _) => Some((b, "two-way CC lower bound")),
            (None, Some(b)) => Some((b, "one-way CC")),
            _ => None,
        }
    }

    /// A random model's width (a model from weights or a construction has its own, which the
    /// line does not carry; the grid's `width` is then the unused flag's).
    pub fn width(&self) -> Option<u64> {
        self.model.width
    }
}

pub const HINT: &str = "give files written by `ccsep check ... --out FILE` (or its `--json` lines)";

/// The check point lines of `files` with where each came from (`'FILE' line K`), and how many
/// error lines were skipped.
pub fn read_check_lines(
    files: &[PathBuf],
) -> Result<(Vec<(String, CheckLine)>, usize), InputError> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for line in read_json_lines(files, "check results file", HINT)? {
        if line.value.get("kind").is_some() {
            continue;
        }
        if line.value.get("error").is_some() {
            skipped += 1;
            continue;
        }
        let c: CheckLine = line.parse("check point line", HINT)?;
        if !(0.0..=1.0).contains(&c.accuracy) {
            return Err(InputError::new(format!(
                "{}: accuracy {} is not in 0..1",
                line.at(),
                c.accuracy
            )));
        }
        out.push((line.at(), c));
    }
    if out.is_empty() {
        return Err(InputError::new(format!(
            "the files hold no check point to draw; {HINT}"
        )));
    }
    Ok((out, skipped))
}
