//! The communication matrix of a two-party function, bit-packed, and what is read straight off it.
//!
//! Row `x` is Alice's input, column `y` is Bob's, entry `M[x][y] = f(x, y)`. Storage is one
//! `bitvec` buffer of `u64` words, each row padded to a whole number of words (`stride`), so a
//! row is a `&[u64]` slice the rank and search code can work on word-at-a-time.
//!
//! Invariants (checked at construction, relied on everywhere else):
//! - `rows >= 1` and `cols >= 1`;
//! - the padding bits of every row (positions `cols..stride*64`) are zero, so two rows are equal
//!   exactly when their word slices are equal.

use bitvec::prelude::*;
use rayon::prelude::*;

use crate::error::{InputError, Setting};

/// A dense 0/1 matrix, `rows × cols`, bit-packed row by row.
#[derive(Clone, PartialEq, Eq)]
pub struct CommMatrix {
    rows: usize,
    cols: usize,
    stride: usize,
    bits: BitVec<u64, Lsb0>,
}

/// Rows (or columns) grouped into classes of identical ones.
///
/// `class_of[i]` is the class of row `i`; classes are numbered in the order of their first row, and
/// `representatives[c]` is that first row. So `representatives` is strictly increasing and
/// `class_of[representatives[c]] == c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classes {
    pub class_of: Vec<u32>,
    pub representatives: Vec<usize>,
}

impl Classes {
    /// Number of distinct rows (or columns).
    pub fn count(&self) -> usize {
        self.representatives.len()
    }
}

impl std::fmt::Debug for CommMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "CommMatrix {}x{}", self.rows, self.cols)?;
        for r in 0..self.rows.min(16) {
            writeln!(f, "  {}", self.row_string(r))?;
        }
        Ok(())
    }
}

/// Number of `u64` words that hold `cols` bits.
pub fn words_for(cols: usize) -> usize {
    cols.div_ceil(64)
}

impl CommMatrix {
    /// Builds the matrix `M[x][y] = f(x, y)`, rows in parallel.
    ///
    /// Cost: `rows × cols` calls of `f`, spread over the rayon pool. The result does not depend
    /// on the number of threads.
    pub fn from_fn<F>(rows: usize, cols: usize, f: F) -> Result<Self, InputError>
    where
        F: Fn(usize, usize) -> bool + Sync,
    {
        Self::check_dims(rows, cols)?;
        let stride = words_for(cols);
        let mut words = vec![0u64; rows * stride];
        words
            .par_chunks_mut(stride)
            .enumerate()
            .for_each(|(x, row)| {
                for y in 0..cols {
                    if f(x, y) {
                        row[y / 64] |= 1u64 << (y % 64);
                    }
                }
            });
        Ok(Self::from_words_unchecked(rows, cols, words))
    }

    /// Builds the matrix from whole rows of words, as `word_row(x, out)` writes them.
    /// `out` arrives zeroed and has `stride` words; bits at or past `cols` must stay zero
    /// (they are cleared here regardless).
    pub fn from_row_words<F>(rows: usize, cols: usize, word_row: F) -> Result<Self, InputError>
    where
        F: Fn(usize, &mut [u64]) + Sync,
    {
        Self::check_dims(rows, cols)?;
        let stride = words_for(cols);
        let mut words = vec![0u64; rows * stride];
        let tail = tail_mask(cols);
        words
            .par_chunks_mut(stride)
            .enumerate()
            .for_each(|(x, row)| {
                word_row(x, row);
                row[stride - 1] &= tail;
            });
        Ok(Self::from_words_unchecked(rows, cols, words))
    }

    /// Builds a matrix from rows of booleans; every row must have the same length.
    pub fn from_rows(rows: &[Vec<bool>]) -> Result<Self, InputError> {
        let cols = rows.first().map_or(0, Vec::len);
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != cols) {
            return Err(InputError::new(format!(
                "ragged matrix: row {} has {} entries but row 1 has {}",
                i + 1,
                r.len(),
                cols
            )));
        }
        Self::from_fn(rows.len(), cols, |x, y| rows[x][y])
    }

    fn check_dims(rows: usize, cols: usize) -> Result<(), InputError> {
        if rows == 0 || cols == 0 {
            return Err(InputError::new(format!(
                "a communication matrix needs at least one row and one column (got {rows} x {cols})"
            )));
        }
        Ok(())
    }

    fn from_words_unchecked(rows: usize, cols: usize, words: Vec<u64>) -> Self {
        let stride = words_for(cols);
        debug_assert_eq!(words.len(), rows * stride);
        CommMatrix {
            rows,
            cols,
            stride,
            bits: BitVec::from_vec(words),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Words per row.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// All words, row after row (`rows × stride`).
    pub fn words(&self) -> &[u64] {
        self.bits.as_raw_slice()
    }

    /// Row `x` as words; bits past `cols` are zero.
    pub fn row_words(&self, x: usize) -> &[u64] {
        &self.words()[x * self.stride..(x + 1) * self.stride]
    }

    /// Row `x` as a bit slice of exactly `cols` bits.
    pub fn row(&self, x: usize) -> &BitSlice<u64, Lsb0> {
        let start = x * self.stride * 64;
        &self.bits[start..start + self.cols]
    }

    /// Entry `M[x][y]`.
    pub fn get(&self, x: usize, y: usize) -> bool {
        debug_assert!(x < self.rows && y < self.cols);
        self.bits[x * self.stride * 64 + y]
    }

    /// Row `x` as a string of `0`/`1`.
    pub fn row_string(&self, x: usize) -> String {
        self.row(x)
            .iter()
            .map(|b| if *b { '1' } else { '0' })
            .collect()
    }

    /// The transpose: Bob's view, rows indexed by `y`.
    pub fn transpose(&self) -> CommMatrix {
        let (rows, cols) = (self.cols, self.rows);
        CommMatrix::from_row_words(rows, cols, |y, out| {
            for x in 0..cols {
                if self.get(x, y) {
                    out[x / 64] |= 1u64 << (x % 64);
                }
            }
        })
        .expect("transpose of a valid matrix is valid")
    }

    /// `J − M`: every entry flipped.
    pub fn complement(&self) -> CommMatrix {
        let tail = tail_mask(self.cols);
        let stride = self.stride;
        let words: Vec<u64> = self
            .words()
            .par_iter()
            .enumerate()
            .map(|(i, w)| {
                if i % stride == stride - 1 {
                    !w & tail
                } else {
                    !w
                }
            })
            .collect();
        Self::from_words_unchecked(self.rows, self.cols, words)
    }

    /// The sub-matrix on the given rows and columns, in the order given.
    pub fn submatrix(&self, rows: &[usize], cols: &[usize]) -> CommMatrix {
        CommMatrix::from_fn(rows.len(), cols.len(), |i, j| self.get(rows[i], cols[j]))
            .expect("sub-matrix needs at least one row and one column")
    }

    /// Number of 1 entries.
    pub fn count_ones(&self) -> u64 {
        self.words()
            .par_iter()
            .map(|w| u64::from(w.count_ones()))
            .sum()
    }

    /// `Some(b)` when every entry equals `b`.
    pub fn constant_value(&self) -> Option<bool> {
        let ones = self.count_ones();
        if ones == 0 {
            Some(false)
        } else if ones == (self.rows as u64) * (self.cols as u64) {
            Some(true)
        } else {
            None
        }
    }

    /// Groups identical rows.
    ///
    /// Cost: a parallel sort of the row indices by row contents, `O(rows · log rows · stride)`,
    /// plus `4 · rows` bytes for the answer and `8 · rows` transiently.
    pub fn row_classes(&self) -> Classes {
        let mut order: Vec<u32> = (0..self.rows as u32).collect();
        if self.stride == 1 {
            let w = self.words();
            order.par_sort_unstable_by_key(|&i| (w[i as usize], i));
        } else {
            order.par_sort_unstable_by(|&a, &b| {
                self.row_words(a as usize)
                    .cmp(self.row_words(b as usize))
                    .then(a.cmp(&b))
            });
        }
        // Each run of equal rows is one class; its representative is the run's first (smallest)
        // index because ties were broken by index.
        let mut group_of = vec![0u32; self.rows];
        let mut reps: Vec<usize> = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let rep = order[start] as usize;
            let mut end = start + 1;
            while end < order.len() && self.row_words(order[end] as usize) == self.row_words(rep) {
                end += 1;
            }
            let g = reps.len() as u32;
            for &i in &order[start..end] {
                group_of[i as usize] = g;
            }
            reps.push(rep);
            start = end;
        }
        // Renumber groups by their representative so classes follow first occurrence.
        let mut by_rep: Vec<u32> = (0..reps.len() as u32).collect();
        by_rep.sort_unstable_by_key(|&g| reps[g as usize]);
        let mut new_id = vec![0u32; reps.len()];
        for (id, &g) in by_rep.iter().enumerate() {
            new_id[g as usize] = id as u32;
        }
        let class_of: Vec<u32> = group_of.par_iter().map(|&g| new_id[g as usize]).collect();
        let representatives = by_rep.iter().map(|&g| reps[g as usize]).collect();
        Classes {
            class_of,
            representatives,
        }
    }

    /// Groups identical columns (the row classes of the transpose).
    pub fn col_classes(&self) -> Classes {
        self.transpose().row_classes()
    }

    /// Parses the text format: one row per line of `0`/`1`; spaces and tabs are ignored, `#`
    /// starts a comment that runs to the end of the line, blank lines are skipped. Lines end at
    /// `\n`, `\r\n` or a lone `\r` (old Mac files); a leading UTF-8 byte-order mark is skipped.
    pub fn parse(text: &str) -> Result<CommMatrix, InputError> {
        Self::read(text.as_bytes())
    }

    /// [`CommMatrix::parse`] on a stream: the bytes are read once, in chunks, and the first byte
    /// that cannot be in a matrix file ends the read with an error naming its line and column, so
    /// a binary file or a device is refused at once. Rows are packed as they are read. An error
    /// of the reader (a file over a limit) is passed on in the message.
    pub fn read<R: std::io::Read>(reader: R) -> Result<CommMatrix, InputError> {
        Self::read_within(reader, u64::MAX)
    }

    /// [`CommMatrix::read`], refused as soon as the rows read so far would take more than
    /// `max_bytes` held as a matrix and as the row strings a problem keeps of it (about
    /// `rows × (⌈cols/64⌉·8 + cols + 48)` bytes): a file of short rows takes many times its size.
    pub fn read_within<R: std::io::Read>(
        reader: R,
        max_bytes: u64,
    ) -> Result<CommMatrix, InputError> {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
        let mut p = RowParser {
            max_bytes,
            ..RowParser::default()
        };
        let mut first = true;
        loop {
            let chunk = match reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(InputError::new(e.to_string())),
            };
            if chunk.is_empty() {
                break;
            }
            // A UTF-8 byte-order mark, as Windows editors write, is no entry.
            if std::mem::take(&mut first) && chunk.starts_with(b"\xef\xbb\xbf") {
                reader.consume(3);
                continue;
            }
            let n = chunk.len();
            p.feed(chunk)?;
            reader.consume(n);
        }
        p.finish()
    }
}

/// Bytes in a MiB, for messages.
const MIB: f64 = (1u64 << 20) as f64;

/// The state of [`CommMatrix::read`]: the rows packed so far and the row being read.
#[derive(Default)]
struct RowParser {
    /// Rows done, `stride` words each (`stride` is known once the first row ends).
    words: Vec<u64>,
    rows: usize,
    /// Entries of the first row, and the line it was on.
    cols: Option<(usize, usize)>,
    /// The row being read, and its number of entries.
    cur: Vec<u64>,
    cur_len: usize,
    /// 1-based line number, and bytes of it seen so far (its column).
    line: usize,
    col: usize,
    in_comment: bool,
    /// The last byte was a `\r`: a `\n` right after it ends no further line.
    after_cr: bool,
    /// Most bytes the rows may take held (see [`CommMatrix::read_within`]).
    max_bytes: u64,
}

impl RowParser {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), InputError> {
        for (i, &b) in chunk.iter().enumerate() {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            if b == b'\n' || b == b'\r' {
                self.end_line()?;
                self.after_cr = b == b'\r';
                continue;
            }
            self.col += 1;
            if self.in_comment {
                continue;
            }
            match b {
                b'#' => self.in_comment = true,
                b'0' | b'1' => {
                    let k = self.cur_len;
                    if k / 64 == self.cur.len() {
                        self.cur.push(0);
                    }
                    self.cur[k / 64] |= u64::from(b - b'0') << (k % 64);
                    self.cur_len += 1;
                }
                b' ' | b'\t' => {}
                _ => {
                    let what = match std::str::from_utf8(&chunk[i..chunk.len().min(i + 4)]) {
                        _ if b.is_ascii() => format!("character {:?}", b as char),
                        Ok(s) => format!("character {:?}", s.chars().next().unwrap_or('?')),
                        Err(e) if e.valid_up_to() > 0 => {
                            let s = std::str::from_utf8(&chunk[i..i + e.valid_up_to()])
                                .unwrap_or_default();
                            format!("character {:?}", s.chars().next().unwrap_or('?'))
                        }
                        Err(_) => format!("byte 0x{b:02x} (this is not a text file)"),
                    };
                    return Err(InputError::new(format!(
                        "line {}, column {}: unexpected {what}; a matrix file holds only 0, 1, spaces and # comments",
                        self.line(),
                        self.col
                    )));
                }
            }
        }
        Ok(())
    }

    fn line(&self) -> usize {
        self.line + 1
    }

    /// Ends the current line: a row if it had entries.
    fn end_line(&mut self) -> Result<(), InputError> {
        if self.cur_len > 0 {
            match self.cols {
                Some((cols, first_line)) if cols != self.cur_len => {
                    return Err(InputError::new(format!(
                        "line {}: ragged matrix: this row has {} entries but the first row (line {}) has {}",
                        self.line(),
                        self.cur_len,
                        first_line,
                        cols
                    )));
                }
                Some(_) => {}
                None => self.cols = Some((self.cur_len, self.line())),
            }
            let per_row = words_for(self.cur_len) as u128 * 8 + self.cur_len as u128 + 48;
            let held = (self.rows as u128 + 1) * per_row;
            if held > u128::from(self.max_bytes) {
                return Err(InputError::new(format!(
                    "line {}: {} rows of {} entries would take about {:.1} MiB held (as a \
                     matrix and as the row strings certificates keep), over the limit of {:.1} \
                     MiB; raise {} BYTES if the machine has the memory",
                    self.line(),
                    self.rows + 1,
                    self.cur_len,
                    held as f64 / MIB,
                    self.max_bytes as f64 / MIB,
                    Setting::MaxMemory
                )));
            }
            self.cur.resize(words_for(self.cur_len), 0);
            self.words.append(&mut self.cur);
            self.rows += 1;
            self.cur_len = 0;
        }
        self.line += 1;
        self.col = 0;
        self.in_comment = false;
        Ok(())
    }

    fn finish(mut self) -> Result<CommMatrix, InputError> {
        self.end_line()?;
        let Some((cols, _)) = self.cols else {
            return Err(InputError::new(
                "the matrix file has no rows: write one row per line of 0/1",
            ));
        };
        CommMatrix::check_dims(self.rows, cols)?;
        Ok(CommMatrix::from_words_unchecked(
            self.rows, cols, self.words,
        ))
    }
}

/// Mask of the valid bits in the last word of a row of `cols` bits.
fn tail_mask(cols: usize) -> u64 {
    match cols % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short rows take many times their text held (a word and a row string each): the rows are
    /// counted against the limit as they are read, and `cc --matrix` of `yes 1` stops there
    /// instead of aborting on an 8 GiB allocation.
    #[test]
    fn rows_over_the_memory_limit_are_refused_while_read() {
        let tall = "1\n".repeat(1000);
        assert!(CommMatrix::read_within(tall.as_bytes(), 1 << 20).is_ok());
        let e = CommMatrix::read_within(tall.as_bytes(), 10_000).unwrap_err();
        assert!(e.to_string().contains("max-memory"), "{e}");
    }

    #[test]
    fn parse_accepts_comments_and_spaces() {
        let m = CommMatrix::parse("# eq_1\n1 0\n0 1 # diagonal\n\n").unwrap();
        assert_eq!((m.rows(), m.cols()), (2, 2));
        assert!(m.get(0, 0) && !m.get(0, 1) && m.get(1, 1));
    }

    #[test]
    fn parse_reports_line_and_column() {
        let e = CommMatrix::parse("10\n1x\n").unwrap_err();
        assert!(e.to_string().contains("line 2, column 2"), "{e}");
        let e = CommMatrix::parse("10\n101\n").unwrap_err();
        assert!(e.to_string().contains("ragged"), "{e}");
        assert!(CommMatrix::parse("# nothing\n").is_err());
    }

    #[test]
    fn every_line_ending_separates_rows() {
        // A lone \r (old Mac files) ends a line like \n and \r\n; before, CR-only rows merged
        // into one (2x4 read as 1x8).
        for text in [
            "1010\r0101\r",
            "1010\n0101\n",
            "1010\r\n0101\r\n",
            "1010\r\n\r\n0101",
        ] {
            let m = CommMatrix::parse(text).unwrap();
            assert_eq!((m.rows(), m.cols()), (2, 4), "{text:?}");
            assert_eq!(m.row_string(1), "0101", "{text:?}");
        }
        // As Notepad saves it: a byte-order mark, CRLF.
        let m = CommMatrix::read(&b"\xef\xbb\xbf1010\r\n0101\r\n"[..]).unwrap();
        assert_eq!((m.rows(), m.cols()), (2, 4));
        let e = CommMatrix::parse("10\r1x\r\n").unwrap_err();
        assert!(e.to_string().contains("line 2, column 2"), "{e}");
        let e = CommMatrix::parse("10\r\n01\r101").unwrap_err();
        assert!(e.to_string().contains("line 3: ragged"), "{e}");
    }

    #[test]
    fn binary_bytes_are_refused_where_they_are() {
        let e = CommMatrix::read(&b"01\n1\xff0\n"[..]).unwrap_err();
        assert!(e.to_string().contains("line 2, column 2"), "{e}");
        assert!(e.to_string().contains("0xff"), "{e}");
        let e = CommMatrix::read(&b"\0\0\0"[..]).unwrap_err();
        assert!(e.to_string().contains("line 1, column 1"), "{e}");
        let e = CommMatrix::parse("01\n1\u{e9}\n").unwrap_err();
        assert!(e.to_string().contains("'\u{e9}'"), "{e}");
        // Comments may hold anything but a line end.
        let m = CommMatrix::read(&b"# \xff\xfe caf\xc3\xa9\n01\n"[..]).unwrap();
        assert_eq!((m.rows(), m.cols()), (1, 2));
    }

    #[test]
    fn an_endless_stream_stops_at_the_readers_limit() {
        // An endless row of 0s (a FIFO, say) is cut off by the bounded reader, not read forever.
        let endless =
            crate::input::Bounded::new(std::io::repeat(b'0'), 1 << 20, "use a smaller file");
        let e = CommMatrix::read(endless).unwrap_err();
        assert!(e.to_string().contains("use a smaller file"), "{e}");
    }

    #[test]
    fn rows_wider_than_a_word_pack_as_from_fn_does() {
        let text: String = (0..3)
            .map(|x| {
                (0..130)
                    .map(|y| if (x * y) % 7 == 1 { '1' } else { '0' })
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        let m = CommMatrix::parse(&text).unwrap();
        let want = CommMatrix::from_fn(3, 130, |x, y| (x * y) % 7 == 1).unwrap();
        assert_eq!(m, want);
        let one = CommMatrix::parse("0 1 1 0").unwrap();
        assert_eq!((one.rows(), one.cols()), (1, 4));
    }

    #[test]
    fn classes_follow_first_occurrence() {
        let m = CommMatrix::parse("01\n10\n01\n11\n10").unwrap();
        let c = m.row_classes();
        assert_eq!(c.class_of, vec![0, 1, 0, 2, 1]);
        assert_eq!(c.representatives, vec![0, 1, 3]);
        let t = m.col_classes();
        assert_eq!(t.count(), 2);
    }

    #[test]
    fn complement_keeps_padding_zero() {
        let m = CommMatrix::from_fn(3, 70, |x, y| (x + y) % 3 == 0).unwrap();
        let c = m.complement();
        assert_eq!(c.count_ones() + m.count_ones(), 3 * 70);
        assert_eq!(c.complement(), m);
        assert_eq!(m.transpose().transpose(), m);
    }
}
