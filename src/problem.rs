//! Communication problems `f : X × Y → {0,1}` and their matrices.
//!
//! Inputs are `n`-bit strings stored as integers: bit `i` of the integer `x` is `x_i`
//! (position `i`, counted from 0). INDEX's Bob input is a position `i ∈ {0, …, n−1}`.
//! A `ProblemSpec` is the serialisable name of a problem; certificates carry it so the checker can
//! rebuild the matrix it is about without trusting anything else in the certificate.

use serde::{Deserialize, Serialize};

use crate::error::{InputError, Setting};
use crate::matrix::{CommMatrix, words_for};

/// Largest `n` accepted for the built-in problems before the size check: beyond this the
/// dimensions no longer fit the index types.
const MAX_N: u32 = 40;

/// Default ceiling on the memory a matrix may take (bytes); `--max-memory` overrides it.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;

/// A named communication problem, or an explicit matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemSpec {
    /// INDEX_n: Alice `x ∈ {0,1}^n`, Bob `i ∈ [n]`, `f = x_i`.
    Index { n: u32 },
    /// EQ_n: `f = [x = y]`.
    Eq { n: u32 },
    /// DISJ_n: `f = [x ∧ y = 0]` (1 when the sets are disjoint).
    Disj { n: u32 },
    /// GT_n: `f = [x > y]` as unsigned integers.
    Gt { n: u32 },
    /// IP_n: `f = Σ x_i y_i mod 2`.
    Ip { n: u32 },
    /// An explicit matrix, one string of `0`/`1` per row.
    Matrix { rows: Vec<String> },
}

/// What it would cost to build a matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizeEstimate {
    pub rows: u128,
    pub cols: u128,
    pub bytes: u128,
    /// Rough build time on one core at ~1 ns per entry (0.1 ns per entry for word-built rows).
    pub seconds: f64,
}

impl ProblemSpec {
    /// Parses a problem name (`index`, `eq`, `disj`, `gt`, `ip`) with its size.
    pub fn named(name: &str, n: u32) -> Result<Self, InputError> {
        check_n(n)?;
        Ok(match name.to_ascii_lowercase().as_str() {
            "index" => ProblemSpec::Index { n },
            "eq" => ProblemSpec::Eq { n },
            "disj" => ProblemSpec::Disj { n },
            "gt" => ProblemSpec::Gt { n },
            "ip" => ProblemSpec::Ip { n },
            other => {
                return Err(InputError::new(format!(
                    "unknown problem {other:?}: choose one of index, eq, disj, gt, ip, or pass {} FILE",
                    Setting::Matrix
                )));
            }
        })
    }

    /// Checks what deserialisation cannot: `1 <= n <= 40` for the built-in problems, and an
    /// explicit matrix non-empty and rectangular. Certificates come from files, so the checker
    /// calls this before building anything.
    pub fn validate(&self) -> Result<(), InputError> {
        match self {
            ProblemSpec::Index { n }
            | ProblemSpec::Eq { n }
            | ProblemSpec::Disj { n }
            | ProblemSpec::Gt { n }
            | ProblemSpec::Ip { n } => check_n(*n),
            ProblemSpec::Matrix { rows } => {
                let cols = rows.first().map_or(0, String::len);
                if cols == 0 || rows.iter().any(|r| r.len() != cols) {
                    return Err(InputError::new(
                        "an explicit matrix needs rows of equal, non-zero length",
                    ));
                }
                Ok(())
            }
        }
    }

    /// A short name such as `EQ_4` or `matrix 8x8`.
    pub fn label(&self) -> String {
        match self {
            ProblemSpec::Index { n } => format!("INDEX_{n}"),
            ProblemSpec::Eq { n } => format!("EQ_{n}"),
            ProblemSpec::Disj { n } => format!("DISJ_{n}"),
            ProblemSpec::Gt { n } => format!("GT_{n}"),
            ProblemSpec::Ip { n } => format!("IP_{n}"),
            ProblemSpec::Matrix { rows } => format!(
                "matrix {}x{}",
                rows.len(),
                rows.first().map_or(0, String::len)
            ),
        }
    }

    /// Rows × columns of the matrix, without building it.
    pub fn dims(&self) -> (u128, u128) {
        let pow = |n: &u32| 1u128 << *n;
        match self {
            ProblemSpec::Index { n } => (pow(n), u128::from(*n)),
            ProblemSpec::Eq { n }
            | ProblemSpec::Disj { n }
            | ProblemSpec::Gt { n }
            | ProblemSpec::Ip { n } => (pow(n), pow(n)),
            ProblemSpec::Matrix { rows } => (
                rows.len() as u128,
                rows.first().map_or(0, String::len) as u128,
            ),
        }
    }

    /// Memory and time to build the matrix.
    pub fn estimate(&self) -> SizeEstimate {
        let (rows, cols) = self.dims();
        let words = cols.div_ceil(64);
        let bytes = rows * words * 8;
        let entries = rows as f64 * cols as f64;
        SizeEstimate {
            rows,
            cols,
            bytes,
            seconds: entries * 1e-10,
        }
    }

    /// Refuses a matrix that would take more than `max_memory` bytes, with the estimate and the
    /// flag that overrides the ceiling.
    pub fn check_size(&self, max_memory: u64) -> Result<SizeEstimate, InputError> {
        let est = self.estimate();
        let limit = usize::MAX as u128;
        // The most a `--max-memory` suggestion may be: one a machine could have (1 PiB).
        const MOST_SUGGESTED: u128 = 1 << 50;
        if est.bytes > MOST_SUGGESTED || est.rows > limit || est.cols > limit {
            return Err(InputError::new(format!(
                "{} has {} x {} = {:.3e} entries: about {} of memory, more than any machine \
                 has; choose a smaller {n_flag}",
                self.label(),
                est.rows,
                est.cols,
                est.rows as f64 * est.cols as f64,
                human_bytes(est.bytes),
                n_flag = Setting::N,
            )));
        }
        if est.bytes > u128::from(max_memory) {
            return Err(InputError::new(format!(
                "{} has {} x {} = {:.3e} entries: about {} of memory and {} to build; \
                 that is over the limit of {}. Choose a smaller {n_flag}, or raise the limit with \
                 {memory} BYTES (e.g. {memory} {}) if the machine has the memory",
                self.label(),
                est.rows,
                est.cols,
                est.rows as f64 * est.cols as f64,
                human_bytes(est.bytes),
                human_seconds(est.seconds),
                human_bytes(u128::from(max_memory)),
                est.bytes.next_power_of_two(),
                n_flag = Setting::N,
                memory = Setting::MaxMemory,
            )));
        }
        Ok(est)
    }

    /// Builds the communication matrix. Call `check_size` first for user-supplied sizes.
    pub fn matrix(&self) -> Result<CommMatrix, InputError> {
        let (rows, cols) = self.dims();
        let (rows, cols) = (rows as usize, cols as usize);
        match self {
            ProblemSpec::Index { n } => {
                let mask = low_mask(*n);
                CommMatrix::from_row_words(rows, cols, |x, out| out[0] = x as u64 & mask)
            }
            ProblemSpec::Eq { .. } => CommMatrix::from_row_words(rows, cols, |x, out| {
                out[x / 64] |= 1u64 << (x % 64);
            }),
            ProblemSpec::Disj { .. } => {
                word_rows(rows, cols, |x, y0| disj_word(x as u64, y0 as u64))
            }
            ProblemSpec::Gt { .. } => word_rows(rows, cols, |x, y0| gt_word(x as u64, y0 as u64)),
            ProblemSpec::Ip { .. } => word_rows(rows, cols, |x, y0| ip_word(x as u64, y0 as u64)),
            ProblemSpec::Matrix { rows: text } => {
                let parsed: Vec<Vec<bool>> = text
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        r.chars()
                            .map(|c| match c {
                                '0' => Ok(false),
                                '1' => Ok(true),
                                other => Err(InputError::new(format!(
                                    "matrix row {}: unexpected character {other:?}",
                                    i + 1
                                ))),
                            })
                            .collect()
                    })
                    .collect::<Result<_, _>>()?;
                CommMatrix::from_rows(&parsed)
            }
        }
    }

    /// The spec of an explicit matrix.
    pub fn from_matrix(m: &CommMatrix) -> Self {
        ProblemSpec::Matrix {
            rows: (0..m.rows()).map(|r| m.row_string(r)).collect(),
        }
    }

    /// `f(x, y)` straight from the definition, without the matrix (for the checker and tests).
    /// Returns `None` for an explicit matrix.
    pub fn value(&self, x: u64, y: u64) -> Option<bool> {
        Some(match self {
            ProblemSpec::Index { .. } => (x >> y) & 1 == 1,
            ProblemSpec::Eq { .. } => x == y,
            ProblemSpec::Disj { .. } => x & y == 0,
            ProblemSpec::Gt { .. } => x > y,
            ProblemSpec::Ip { .. } => (x & y).count_ones() % 2 == 1,
            ProblemSpec::Matrix { .. } => return None,
        })
    }
}

/// Builds a square `2^n × 2^n` matrix 64 columns at a time from `word(x, y0)`, whose bit `k` is
/// `f(x, y0 + k)`.
fn word_rows(
    rows: usize,
    cols: usize,
    word: impl Fn(usize, usize) -> u64 + Sync,
) -> Result<CommMatrix, InputError> {
    let stride = words_for(cols);
    CommMatrix::from_row_words(rows, cols, |x, out| {
        for (w, slot) in out.iter_mut().enumerate().take(stride) {
            *slot = word(x, w * 64);
        }
    })
}

fn check_n(n: u32) -> Result<(), InputError> {
    if n == 0 {
        return Err(InputError::new(format!(
            "{} must be at least 1: the inputs are n-bit strings",
            Setting::N
        )));
    }
    if n > MAX_N {
        return Err(InputError::new(format!(
            "{} {n} is beyond what ccsep can enumerate (at most {MAX_N}, and far less for most problems)",
            Setting::N
        )));
    }
    Ok(())
}

fn low_mask(n: u32) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

fn disj_word(x: u64, y0: u64) -> u64 {
    (0..64).fold(0, |acc, k| acc | (u64::from(x & (y0 + k) == 0) << k))
}

fn gt_word(x: u64, y0: u64) -> u64 {
    // Bits k with y0 + k < x.
    if x <= y0 {
        0
    } else if x - y0 >= 64 {
        u64::MAX
    } else {
        (1u64 << (x - y0)) - 1
    }
}

fn ip_word(x: u64, y0: u64) -> u64 {
    (0..64).fold(0, |acc, k| {
        acc | (u64::from((x & (y0 + k)).count_ones() % 2 == 1) << k)
    })
}

/// `1.5 GiB`-style rendering.
pub fn human_bytes(b: u128) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// `3.2 s`, `4.0 min`, `2.1 h`, `3.0e5 years`-style rendering.
pub fn human_seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 86400.0 * 365.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1e} years", s / (86400.0 * 365.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_agree_with_the_definition() {
        for spec in [
            ProblemSpec::Index { n: 5 },
            ProblemSpec::Eq { n: 7 },
            ProblemSpec::Disj { n: 7 },
            ProblemSpec::Gt { n: 7 },
            ProblemSpec::Ip { n: 7 },
        ] {
            let m = spec.matrix().unwrap();
            for x in 0..m.rows() {
                for y in 0..m.cols() {
                    assert_eq!(
                        m.get(x, y),
                        spec.value(x as u64, y as u64).unwrap(),
                        "{} at ({x},{y})",
                        spec.label()
                    );
                }
            }
        }
    }

    #[test]
    fn sizes_are_checked() {
        assert!(ProblemSpec::named("eq", 0).is_err());
        assert!(ProblemSpec::named("nope", 3).is_err());
        let e = ProblemSpec::named("eq", 20)
            .unwrap()
            .check_size(DEFAULT_MAX_MEMORY)
            .unwrap_err();
        assert!(e.to_string().contains("max-memory"), "{e}");
        // Past what any machine has, no --max-memory is suggested.
        let e = ProblemSpec::named("eq", 30)
            .unwrap()
            .check_size(u64::MAX)
            .unwrap_err();
        assert!(e.to_string().contains("smaller n"), "{e}");
        assert!(
            ProblemSpec::named("index", 24)
                .unwrap()
                .check_size(DEFAULT_MAX_MEMORY)
                .is_ok()
        );
    }
}
