//! Reading the files a user names (matrices, weights, inputs, results files) with a bound.
//!
//! A path may name anything: `/dev/zero`, `/dev/urandom`, a FIFO that never ends, a directory.
//! Everything read from a named file goes through [`Bounded`], which stops with an error past a
//! byte limit instead of reading (and allocating) without end; the parsers on top of it stream, so
//! a file that is not of its kind is refused at its first bad byte.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::InputError;
use crate::problem::human_bytes;

/// Opens `path` for reading as `what` (e.g. "matrix file"); a directory is refused with a
/// message that says so.
pub fn open(path: &Path, what: &str) -> Result<File, InputError> {
    let file = File::open(path)
        .map_err(|e| InputError::new(format!("could not read {what} {}: {e}", path.display())))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(InputError::new(format!(
            "could not read {what} {}: it is a directory; name a file",
            path.display()
        )));
    }
    Ok(file)
}

/// A reader that fails with an explanatory I/O error once more than `limit` bytes would be read
/// (it reads one byte past the limit to tell "exactly `limit` bytes" from "more").
pub struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
    hint: String,
    over: bool,
}

impl<R: Read> Bounded<R> {
    /// `hint` says what to do about a file over the limit (e.g. "raise --max-memory").
    pub fn new(inner: R, limit: u64, hint: impl Into<String>) -> Self {
        Bounded {
            inner,
            left: limit,
            limit,
            hint: hint.into(),
            over: false,
        }
    }

    /// Whether the limit was hit.
    pub fn over(&self) -> bool {
        self.over
    }

    /// The message of a file over the limit.
    pub fn over_message(&self) -> String {
        format!(
            "it is longer than {} ({} bytes), the most ccsep reads from it; {}",
            human_bytes(u128::from(self.limit)),
            self.limit,
            self.hint
        )
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the limit: one more byte means the file is too long.
            let mut probe = [0u8; 1];
            let got = loop {
                match self.inner.read(&mut probe) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            if got == 0 {
                return Ok(0);
            }
            self.over = true;
            return Err(io::Error::other(self.over_message()));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..want])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// Opens `path` as `what`, bounded to `limit` bytes.
pub fn open_bounded(
    path: &Path,
    what: &str,
    limit: u64,
    hint: impl Into<String>,
) -> Result<Bounded<File>, InputError> {
    Ok(Bounded::new(open(path, what)?, limit, hint))
}

/// The whole of `path` (at most `limit` bytes), as `what`.
pub fn read_bytes(
    path: &Path,
    what: &str,
    limit: u64,
    hint: impl Into<String>,
) -> Result<Vec<u8>, InputError> {
    let mut r = open_bounded(path, what, limit, hint)?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)
        .map_err(|e| InputError::new(format!("could not read {what} {}: {e}", path.display())))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_reads_up_to_the_limit_and_refuses_past_it() {
        let mut out = Vec::new();
        let mut r = Bounded::new(&b"abcd"[..], 4, "h");
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        assert!(!r.over());
        let mut r = Bounded::new(&b"abcde"[..], 4, "use a smaller file");
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(r.over());
        assert!(e.to_string().contains("4 bytes"), "{e}");
        assert!(e.to_string().contains("use a smaller file"), "{e}");
    }

    #[test]
    fn an_endless_device_stops_at_the_limit() {
        let mut r = Bounded::new(io::repeat(b'0'), 1000, "h");
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert!(r.over());
    }

    #[test]
    fn directories_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_bytes(dir.path(), "matrix file", 10, "h").unwrap_err();
        assert!(e.message.contains("is a directory"), "{e}");
    }
}
