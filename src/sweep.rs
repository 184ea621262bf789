//! Grids of runs written as JSON lines: the axes (`1..16`, `fixed:1.1..fixed:1.7`, lists), and
//! an append-only results file that a rerun resumes.
//!
//! Invariant of a results file: every line is one complete JSON object, written and flushed
//! before the next point starts, so an interrupted grid keeps every finished point. Only the last
//! line can be torn (a run killed while writing it): on resume it is cut off, with a note, and
//! its point is run again. Any other line that is not a result of the command (not JSON, binary,
//! JSON of another shape) is corruption or another file: the resume is refused, naming the line.
//! A point is done when a line with its key and no `"error"` exists.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{InputError, Setting};
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
                if a > b {
                    return Err(InputError::new(format!(
                        "{what} {spec:?}: the range {part} is reversed; write the smaller end first ({b}..{a})"
                    )));
                }
                if b - a >= MAX_POINTS {
                    return Err(too_many(what, spec, (b - a) as u128 + 1));
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
        if out.len() > MAX_POINTS {
            return Err(too_many(what, spec, out.len() as u128));
        }
    }
    dedup_in_order(&mut out);
    Ok(out)
}

fn too_many(what: &str, spec: &str, values: u128) -> InputError {
    InputError::new(format!(
        "{what} {spec:?} has {values} values, more than one run takes ({MAX_POINTS}); split it into several runs over narrower ranges"
    ))
}

/// A precision, a comma list, or a range within one family of formats, inclusive, in which one
/// parameter grows by one per step: `fixed:I.F..fixed:I'.F'` (exactly one of `I`, `F`
/// changes), `float:E.M..float:E'.M'` (likewise; the named floats are ends too, so
/// `bf16..f32` is `float:8.7..float:8.23`; the `fn` variants range among themselves) and
/// `paper:K..paper:K'`. A range is a precision sweep: the bits per number `p` grow along it.
pub fn parse_precision_axis(spec: &str) -> Result<Vec<Precision>, InputError> {
    let mut out: Vec<Precision> = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        match part.split_once("..") {
            None => out.push(Precision::parse(part)?),
            Some((a, b)) => {
                for f in precision_range(part, a.trim(), b.trim())? {
                    out.push(f);
                }
            }
        }
        if out.len() > MAX_POINTS {
            return Err(too_many(
                &Setting::Precision.to_string(),
                spec,
                out.len() as u128,
            ));
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.name()));
    Ok(out)
}

/// The formats of one range `a..b` (`part`), in order.
fn precision_range(part: &str, a: &str, b: &str) -> Result<Vec<Precision>, InputError> {
    const EXAMPLES: &str = "fixed:1.1..fixed:1.7, float:8.1..float:8.23 or paper:1..paper:4";
    if a.is_empty() || b.is_empty() || b.contains("..") {
        return Err(InputError::new(format!(
            "{} range {part:?}: a range has two ends, the smaller first, e.g. {EXAMPLES}",
            Setting::Precision
        )));
    }
    // Each end in the range's words: an end past its family's limits is named as such.
    let end = |s: &str| {
        Precision::parse(s).map_err(|e| {
            InputError::new(format!(
                "{} range {part:?}: its end {s:?} is no format ({}); end the range within the family's limits",
                Setting::Precision,
                e.message
            ))
        })
    };
    let (pa, pb) = (end(a)?, end(b)?);
    let reversed = || {
        InputError::new(format!(
            "{} range {part:?} is reversed; write the smaller format first ({b}..{a})",
            Setting::Precision
        ))
    };
    // One of two parameters grows: the values between, or why not.
    let two = |(x0, y0): (u32, u32), (x1, y1): (u32, u32), what: &str| {
        if x0 == x1 && y0 <= y1 {
            Ok((y0..=y1).map(|y| (x0, y)).collect::<Vec<_>>())
        } else if y0 == y1 && x0 <= x1 {
            Ok((x0..=x1).map(|x| (x, y0)).collect())
        } else if x0 == x1 || y0 == y1 {
            Err(reversed())
        } else {
            Err(InputError::new(format!(
                "{} range {part:?}: exactly one of the {what} may change, upwards ({EXAMPLES})",
                Setting::Precision
            )))
        }
    };
    let names: Vec<String> = match (pa.format(), pb.format()) {
        (
            Format::Fixed {
                int_bits: i0,
                frac_bits: f0,
            },
            Format::Fixed {
                int_bits: i1,
                frac_bits: f1,
            },
        ) => two((i0, f0), (i1, f1), "integer and fraction bits")?
            .into_iter()
            .map(|(i, f)| format!("fixed:{i}.{f}"))
            .collect(),
        (
            Format::Float {
                exp_bits: e0,
                man_bits: m0,
                finite_only: fn0,
            },
            Format::Float {
                exp_bits: e1,
                man_bits: m1,
                finite_only: fn1,
            },
        ) if fn0 == fn1 => two((e0, m0), (e1, m1), "exponent and mantissa bits")?
            .into_iter()
            .map(|(e, m)| format!("float:{e}.{m}{}", if fn0 { "fn" } else { "" }))
            .collect(),
        (Format::Paper { k: k0 }, Format::Paper { k: k1 }) => {
            if k0 > k1 {
                return Err(reversed());
            }
            (k0..=k1).map(|k| format!("paper:{k}")).collect()
        }
        _ => {
            return Err(InputError::new(format!(
                "{} range {part:?}: both ends must be of one family (fixed:I.F, float:E.M, float:E.Mfn or paper:K), e.g. {EXAMPLES}; list formats of different families with commas",
                Setting::Precision
            )));
        }
    };
    // Every format between two valid ends is valid, but parse each as the command line would.
    names.iter().map(|n| Precision::parse(n)).collect()
}

fn dedup_in_order(v: &mut Vec<usize>) {
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(*x));
}

/// Largest results file a resume reads: 256 MiB, some ten thousand times a full grid's lines.
pub const MAX_RESULTS_BYTES: u64 = 256 << 20;

/// How a results file ends.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    /// With a newline (or empty).
    Clean,
    /// With a complete result but no newline.
    Unterminated,
    /// With a torn line: keep the first `keep` bytes.
    Torn { keep: u64 },
}

/// What a results file holds: the keys done (with what was kept of each line), the number of
/// lines, how it ends.
struct Scan<T> {
    done: HashMap<String, T>,
    lines: usize,
    tail: Tail,
}

/// Reads the lines of a results file; `Err((line, why))` for a line other than the last that is
/// not a result (blank lines are skipped).
fn scan_results<T>(
    bytes: &[u8],
    key: &impl Fn(&serde_json::Value) -> Option<(String, T)>,
) -> Result<Scan<T>, (usize, String)> {
    let mut done = HashMap::new();
    let mut tail = Tail::Clean;
    let mut start = 0usize;
    let mut lines = 0usize;
    while start < bytes.len() {
        let (line, terminated) = match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(end) => (&bytes[start..start + end], true),
            None => (&bytes[start..], false),
        };
        lines += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            if !terminated {
                // Blank bytes after the last newline: cut them off.
                tail = Tail::Torn { keep: start as u64 };
            }
        } else {
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(v) => {
                    let Some((k, kept)) = key(&v) else {
                        return Err((
                            lines,
                            "a JSON line that is not a result of this command (it lacks the keys of a point)"
                                .to_string(),
                        ));
                    };
                    if v.get("error").is_none() {
                        done.insert(k, kept);
                    }
                    if !terminated {
                        tail = Tail::Unterminated;
                    }
                }
                // The last line, unterminated, and a prefix of a JSON line: a torn write.
                Err(_) if !terminated && is_torn_json(line) => {
                    tail = Tail::Torn { keep: start as u64 };
                }
                Err(e) if line.contains(&0) || std::str::from_utf8(line).is_err() => {
                    return Err((lines, format!("binary bytes, not a JSON line ({e})")));
                }
                Err(e) => return Err((lines, format!("not a complete JSON line ({e})"))),
            }
        }
        start += line.len() + 1;
    }
    Ok(Scan { done, lines, tail })
}

/// Whether `line` is the start of a JSON value cut off by a killed write: text (up to a
/// multi-byte character cut at its end) on which the parser runs out of input. A line of
/// binary bytes or NULs (a block zeroed by a crash) is no such prefix.
fn is_torn_json(line: &[u8]) -> bool {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t,
        // Cut inside the last character: what comes before it.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.contains('\0')
        && serde_json::from_str::<serde_json::Value>(text).is_err_and(|e| e.is_eof())
}

/// An append-only JSON-lines results file, with the keys of the points already done and, for
/// each, what the caller keeps of its line (`T`; `()` for nothing).
pub struct Results<T = ()> {
    path: PathBuf,
    file: File,
    done: HashMap<String, T>,
}

impl Results<()> {
    /// [`Results::open_keeping`], keeping nothing of the lines but their keys.
    pub fn open(
        path: &Path,
        key: impl Fn(&serde_json::Value) -> Option<String>,
    ) -> Result<Self, InputError> {
        Self::open_keeping(path, |v| key(v).map(|k| (k, ())))
    }
}

impl<T> Results<T> {
    /// Opens (creating) `path` and reads the points already done; `key` names a point from its
    /// line with what to keep of it (a point's summary), and is `None` for a line this command
    /// did not write. Of two lines of one point, the later is kept.
    ///
    /// Refused, before anything is run or written: a path that is not a regular file (a
    /// directory, a device, a FIFO), a file over [`MAX_RESULTS_BYTES`], and a file with a line
    /// other than the last that is not one of this command's results (the message names the
    /// line). A torn last line is cut off with a note on stderr.
    pub fn open_keeping(
        path: &Path,
        key: impl Fn(&serde_json::Value) -> Option<(String, T)>,
    ) -> Result<Self, InputError> {
        let io = |e: std::io::Error| {
            InputError::new(format!(
                "could not open the results file {}: {e}",
                path.display()
            ))
        };
        let mut done = HashMap::new();
        let mut torn = false;
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
            Ok(meta) if !meta.is_file() => {
                return Err(InputError::new(format!(
                    "{} is not a regular file (a directory, device or pipe); a results file is read to resume and appended to: name a file",
                    path.display()
                )));
            }
            Ok(_) => {
                // Bytes, not text: a line torn inside a multi-byte character is handled too.
                let bytes = crate::input::read_bytes(
                    path,
                    "the results file",
                    MAX_RESULTS_BYTES,
                    format!("continue in a new file with another {}", Setting::Out),
                )?;
                let scan = scan_results(&bytes, &key).map_err(|(line, why)| {
                    InputError::new(format!(
                        "{}, line {line}: {why}. Only a last line cut off by a killed run is repaired; \
                         this line is not one, so the file is corrupt or not this command's: \
                         delete that line (or use a new {} file) and rerun",
                        path.display(),
                        Setting::Out
                    ))
                })?;
                done = scan.done;
                match scan.tail {
                    Tail::Clean => {}
                    Tail::Unterminated => torn = true,
                    Tail::Torn { keep } => {
                        eprintln!(
                            "note: {}: the last line (line {}) was cut off, as by a run killed while writing it; dropped it, and its point runs again",
                            path.display(),
                            scan.lines
                        );
                        OpenOptions::new()
                            .write(true)
                            .open(path)
                            .and_then(|f| f.set_len(keep))
                            .map_err(io)?;
                    }
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // A complete last line without its newline must not glue onto the next record.
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
        self.done.contains_key(key)
    }

    /// What was kept of the point `key`'s line, if it is in the file.
    pub fn kept(&self, key: &str) -> Option<&T> {
        self.done.get(key)
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
        let names = |spec: &str| -> Vec<String> {
            parse_precision_axis(spec)
                .unwrap()
                .iter()
                .map(Precision::name)
                .collect()
        };
        assert_eq!(
            names("float:8.5..float:8.7"),
            ["float:8.5", "float:8.6", "bf16"]
        );
        assert_eq!(names("bf16..f32").len(), 17);
        assert_eq!(
            names("float:3.2..float:5.2"),
            ["float:3.2", "float:4.2", "e5m2"]
        );
        assert_eq!(names("float:4.2fn..float:4.3fn"), ["float:4.2fn", "e4m3"]);
        assert_eq!(names("paper:1..paper:3"), ["paper:1", "paper:2", "paper:3"]);
    }

    #[test]
    fn ill_formed_precision_ranges_say_what_to_fix() {
        let msg = |spec: &str| parse_precision_axis(spec).unwrap_err().to_string();
        for (spec, says) in [
            ("fixed:1.1..", "two ends"),
            ("..fixed:1.4", "two ends"),
            ("fixed:1.1..fixed:1.3..fixed:1.5", "two ends"),
            ("fixed:1.1..float:8.3", "one family"),
            ("e4m3..float:4.5", "one family"),
            ("paper:3..paper:1", "reversed"),
            ("float:8.9..float:8.2", "float:8.2..float:8.9"),
            ("float:5.1..float:8.3", "exactly one"),
            ("float:8.1..float:8.60", "within the family's limits"),
            ("paper:1..paper:9", "within the family's limits"),
        ] {
            let m = msg(spec);
            assert!(m.contains(says), "{spec}: {m}");
        }
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
        // The torn bytes were cut off, not left in the middle of the file.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains("\"s\""), "{text}");
    }

    fn key(v: &serde_json::Value) -> Option<String> {
        v.get("k").map(|k| k.to_string())
    }

    /// Opens a results file holding `bytes`; the error message if refused.
    fn open_with(bytes: &[u8]) -> Result<Results, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, bytes).unwrap();
        Results::open(&path, key).map_err(|e| e.message)
    }

    #[test]
    fn a_bad_line_in_the_middle_is_refused_by_number() {
        // Before, each of these was skipped silently and the grid ran on.
        let torn = open_with(b"{\"k\": 1}\n{\"k\": 2, \"s\n{\"k\": 3}\n")
            .err()
            .unwrap();
        assert!(torn.contains("line 2: not a complete JSON line"), "{torn}");
        assert!(torn.contains("delete that line"), "{torn}");
        let binary = open_with(b"{\"k\": 1}\n\0\0\0\0\n{\"k\": 3}\n")
            .err()
            .unwrap();
        assert!(binary.contains("line 2: binary bytes"), "{binary}");
        let shape = open_with(b"{\"k\": 1}\n[1, 2]\n").err().unwrap();
        assert!(
            shape.contains("line 2: a JSON line that is not a result"),
            "{shape}"
        );
        // Complete JSON of the wrong shape is refused even as the last, unterminated line.
        let last = open_with(b"{\"k\": 1}\n{\"other\": 1}").err().unwrap();
        assert!(last.contains("line 2"), "{last}");
        // So are NULs (a block zeroed by a crash) or binary bytes there: no torn JSON line.
        let zeros = open_with(b"{\"k\": 1}\n\0\0\0\0").err().unwrap();
        assert!(zeros.contains("line 2: binary bytes"), "{zeros}");
        let junk = open_with(b"{\"k\": 1}\n{\"k\": \xff\xfe 2").err().unwrap();
        assert!(junk.contains("line 2"), "{junk}");
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, b"{\"k\": 1}\n\n{\"k\": 2}").unwrap();
        let mut r = Results::open(&path, key).unwrap();
        assert!(r.is_done("1") && r.is_done("2"));
        r.append(&serde_json::json!({"k": 3})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"k\": 1}\n\n{\"k\": 2}\n{\"k\":3}\n");
    }

    #[test]
    fn only_regular_files_are_results_files() {
        let dir = tempfile::tempdir().unwrap();
        let e = Results::open(dir.path(), key).err().unwrap();
        assert!(e.message.contains("not a regular file"), "{e}");
        if Path::new("/dev/zero").exists() {
            let e = Results::open(Path::new("/dev/zero"), key).err().unwrap();
            assert!(e.message.contains("not a regular file"), "{e}");
        }
    }

    #[test]
    fn axis_messages_say_what_is_wrong() {
        let e = parse_usize_axis("--width", "16..1").unwrap_err();
        assert!(
            e.message.contains("reversed") && e.message.contains("1..16"),
            "{e}"
        );
        let e = parse_usize_axis("--width", "1..100000").unwrap_err();
        assert!(
            e.message.contains("100000 values") && e.message.contains("split"),
            "{e}"
        );
        let e = parse_usize_axis("--width", "1..4000,5000..9000").unwrap_err();
        assert!(e.message.contains("split"), "{e}");
        let e = parse_precision_axis("fixed:1.7..fixed:1.1").unwrap_err();
        assert!(
            e.message.contains("reversed") && e.message.contains("fixed:1.1..fixed:1.7"),
            "{e}"
        );
    }
}
