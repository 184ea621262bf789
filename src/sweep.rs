//! Grids of runs written as JSON lines: the axes (`1..16`, `fixed:1.1..fixed:1.7`, lists), and
//! an append-only results file that a rerun resumes.
//!
//! Invariant of a results file: every line is one complete JSON object, written and flushed
//! before the next point starts, so an interrupted grid keeps every finished point; a line that
//! does not parse (a torn last write) is ignored on resume and its point is run again. A point
//! is done when a line with its key and no `"error"` exists.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::InputError;
use crate::numeric::{Format, Precision};

/// Most points one grid may have.
pub const MAX_POINTS: usize = 4096;

/// `"W"`, `"A..B"` (inclusive) or a comma list of those: the values in order, deduplicated.
pub fn parse_usize_axis(what: &str, spec: &str) -> Result<Vec<usize>, InputError> {
    let bad = || {
        InputError::new(format!(
            "{what} {spec:?}: expected a number, a range A..B (inclusive) or a comma list, e.g. 1..16 or 2,4,8"
        ))
    };
    let mut out = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        match part.split_once("..") {
            Some((a, b)) => {
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b || b - a >= MAX_POINTS {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    dedup_in_order(&mut out);
    Ok(out)
}

/// A precision, a comma list, or a range of fixed-point formats `fixed:I.F..fixed:I'.F'` in
/// which exactly one of `I`, `F` changes (inclusive).
pub fn parse_precision_axis(spec: &str) -> Result<Vec<Precision>, InputError> {
    let mut out: Vec<Precision> = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        match part.split_once("..") {
            None => out.push(Precision::parse(part)?),
            Some((a, b)) => {
                let (pa, pb) = (Precision::parse(a.trim())?, Precision::parse(b.trim())?);
                let (
                    Format::Fixed {
                        int_bits: i0,
                        frac_bits: f0,
                    },
                    Format::Fixed {
                        int_bits: i1,
                        frac_bits: f1,
                    },
                ) = (pa.format(), pb.format())
                else {
                    return Err(InputError::new(format!(
                        "precision range {part:?}: ranges are of fixed-point formats (fixed:1.1..fixed:1.7); list other formats with commas"
                    )));
                };
                let formats: Vec<String> = if i0 == i1 && f0 <= f1 {
                    (f0..=f1).map(|f| format!("fixed:{i0}.{f}")).collect()
                } else if f0 == f1 && i0 <= i1 {
                    (i0..=i1).map(|i| format!("fixed:{i}.{f0}")).collect()
                } else {
                    return Err(InputError::new(format!(
                        "precision range {part:?}: exactly one of the integer and fraction bits may change, upwards (fixed:1.1..fixed:1.7 or fixed:1.4..fixed:4.4)"
                    )));
                };
                for f in formats {
                    out.push(Precision::parse(&f)?);
                }
            }
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.name()));
    Ok(out)
}

fn dedup_in_order(v: &mut Vec<usize>) {
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(*x));
}

/// An append-only JSON-lines results file, with the keys of the points already done.
pub struct Results {
    path: PathBuf,
    file: File,
    done: HashSet<String>,
}

impl Results {
    /// Opens (creating) `path` and reads the points already done; `key` names a point from its
    /// line.
    pub fn open(
        path: &Path,
        key: impl Fn(&serde_json::Value) -> Option<String>,
    ) -> Result<Self, InputError> {
        let io = |e: std::io::Error| {
            InputError::new(format!(
                "could not open the results file {}: {e}",
                path.display()
            ))
        };
        let mut done = HashSet::new();
        let mut torn = false;
        if path.exists() {
            // Bytes, not text: a line torn inside a multi-byte character is skipped too.
            let bytes = std::fs::read(path).map_err(io)?;
            for line in bytes.split(|&b| b == b'\n') {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line)
                    && v.get("error").is_none()
                    && let Some(k) = key(&v)
                {
                    done.insert(k);
                }
            }
            torn = bytes.last().is_some_and(|&b| b != b'\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // A torn last line (no newline) must not glue onto the next record.
        if torn {
            file.write_all(b"\n").map_err(io)?;
        }
        Ok(Results {
            path: path.to_path_buf(),
            file,
            done,
        })
    }

    /// Whether the point `key` is already in the file.
    pub fn is_done(&self, key: &str) -> bool {
        self.done.contains(key)
    }

    /// Appends one line and flushes it.
    pub fn append(&mut self, line: &serde_json::Value) -> anyhow::Result<()> {
        use anyhow::Context;
        writeln!(self.file, "{line}")
            .and_then(|_| self.file.flush())
            .with_context(|| format!("could not write to {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_parse() {
        assert_eq!(parse_usize_axis("w", "3").unwrap(), vec![3]);
        assert_eq!(
            parse_usize_axis("w", "1..4,2,8").unwrap(),
            vec![1, 2, 3, 4, 8]
        );
        assert!(parse_usize_axis("w", "4..1").is_err());
        assert!(parse_usize_axis("w", "a").is_err());
        let p: Vec<String> = parse_precision_axis("fixed:1.1..fixed:1.3,bf16")
            .unwrap()
            .iter()
            .map(Precision::name)
            .collect();
        assert_eq!(p, ["fixed:1.1", "fixed:1.2", "fixed:1.3", "bf16"]);
        assert_eq!(
            parse_precision_axis("fixed:1.4..fixed:3.4").unwrap().len(),
            3
        );
        assert!(parse_precision_axis("fixed:1.1..fixed:2.3").is_err());
        assert!(parse_precision_axis("bf16..f32").is_err());
    }

    #[test]
    fn results_resume_and_skip_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let key = |v: &serde_json::Value| v.get("k").map(|k| k.to_string());
        {
            let mut r = Results::open(&path, key).unwrap();
            r.append(&serde_json::json!({"k": 1})).unwrap();
            r.append(&serde_json::json!({"k": 2, "error": "x"}))
                .unwrap();
        }
        // A torn write, cut inside a multi-byte character.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"k\": 3, \"s\": \"\xe2\x89").unwrap();
        let mut r = Results::open(&path, key).unwrap();
        assert!(r.is_done("1"));
        assert!(!r.is_done("2"));
        assert!(!r.is_done("3"));
        r.append(&serde_json::json!({"k": 4})).unwrap();
        let r = Results::open(&path, key).unwrap();
        // Exactly the two complete, error-free lines are done.
        assert!(r.is_done("1") && r.is_done("4"));
        assert!(!r.is_done("2") && !r.is_done("3"));
    }
}
