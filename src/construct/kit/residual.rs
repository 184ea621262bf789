//! Named blocks of a residual stream (as tracr names basis directions): a construction lays out
//! its stream as named subspaces and writes its weights through them — `res.read("pos_code", η)`
//! for a projection that reads a block, `res.write("pair_mean")` for one that writes into it,
//! `res.set_row(&mut table, t, "pos_code", code)` for a block's value in a row — instead of
//! `set(r, c)` arithmetic on offsets.
//!
//! Invariant: blocks are disjoint, contiguous and in the order they were added; `dim()` is the
//! sum of their sizes.

use std::ops::Range;

use crate::model::Matrix;

/// The layout of a residual stream: named, disjoint, contiguous blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Residual {
    blocks: Vec<(String, Range<usize>)>,
}

impl Residual {
    pub fn new() -> Self {
        Residual::default()
    }

    /// Appends a block of `size` directions named `name` and returns its range.
    ///
    /// Panics if the name is already used: layouts are written by constructions, not users.
    pub fn add(&mut self, name: &str, size: usize) -> Range<usize> {
        assert!(
            self.blocks.iter().all(|(n, _)| n != name),
            "subspace {name:?} added twice"
        );
        let start = self.dim();
        self.blocks.push((name.to_string(), start..start + size));
        start..start + size
    }

    /// The range of block `name`. Panics on an unknown name (a bug in the construction).
    pub fn range(&self, name: &str) -> Range<usize> {
        self.blocks
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no subspace named {name:?}"))
    }

    /// Direction `i` of block `name` (its coordinate in the stream). Panics when `i` is outside
    /// the block (a bug in the construction).
    pub fn at(&self, name: &str, i: usize) -> usize {
        let r = self.range(name);
        assert!(
            i < r.len(),
            "subspace {name:?} has {} directions, not {}",
            r.len(),
            i + 1
        );
        r.start + i
    }

    /// The one direction of block `name`, which must have size 1.
    pub fn one(&self, name: &str) -> usize {
        let r = self.range(name);
        assert_eq!(r.len(), 1, "subspace {name:?} is not one direction");
        r.start
    }

    /// A `size × dim` projection that reads block `name` scaled by `scale`: output `r` is
    /// `scale` times the block's direction `r` (a query, key, value or MLP input).
    pub fn read(&self, name: &str, scale: f64) -> Matrix {
        let r = self.range(name);
        let mut m = Matrix::zeros(r.len(), self.dim());
        for (row, dir) in r.enumerate() {
            m.set(row, dir, scale);
        }
        m
    }

    /// A `dim × size` projection that writes its input into block `name`: input `c` lands on
    /// the block's direction `c` (an attention output or MLP output).
    pub fn write(&self, name: &str) -> Matrix {
        let r = self.range(name);
        let mut m = Matrix::zeros(self.dim(), r.len());
        for (col, dir) in r.enumerate() {
            m.set(dir, col, 1.0);
        }
        m
    }

    /// Writes `scale` times block `name` into `m`, whose columns are the stream, from row
    /// `first` on: row `first + i` reads the block's direction `i` (a projection of several
    /// blocks, stacked).
    pub fn read_into(&self, m: &mut Matrix, first: usize, name: &str, scale: f64) {
        for (i, dir) in self.range(name).enumerate() {
            m.set(first + i, dir, scale);
        }
    }

    /// Writes columns `first …` of `m`, whose rows are the stream, into block `name`: column
    /// `first + i` lands on the block's direction `i` (an embedding of several inputs).
    pub fn write_from(&self, m: &mut Matrix, first: usize, name: &str) {
        for (i, dir) in self.range(name).enumerate() {
            m.set(dir, first + i, 1.0);
        }
    }

    /// Writes `values` (one per direction, at most the block's size) into row `row` of `m`,
    /// whose columns are the stream (a positional table, a head, a projection reading it).
    pub fn set_row(&self, m: &mut Matrix, row: usize, name: &str, values: &[f64]) {
        for (dir, &v) in self.directions(name, values.len()).zip(values) {
            m.set(row, dir, v);
        }
    }

    /// Writes `values` into column `col` of `m`, whose rows are the stream (an embedding, a
    /// projection writing into it).
    pub fn set_col(&self, m: &mut Matrix, col: usize, name: &str, values: &[f64]) {
        for (dir, &v) in self.directions(name, values.len()).zip(values) {
            m.set(dir, col, v);
        }
    }

    /// The first `count` directions of block `name` (looked up once), which must have at least
    /// that many.
    fn directions(&self, name: &str, count: usize) -> Range<usize> {
        let r = self.range(name);
        assert!(
            count <= r.len(),
            "subspace {name:?} has {} directions, not {count}",
            r.len()
        );
        r.start..r.start + count
    }

    /// Total dimension.
    pub fn dim(&self) -> usize {
        self.blocks.last().map_or(0, |(_, r)| r.end)
    }

    /// The blocks in order, for reports.
    pub fn blocks(&self) -> impl Iterator<Item = (&str, Range<usize>)> {
        self.blocks.iter().map(|(n, r)| (n.as_str(), r.clone()))
    }

    /// The layout for a report: `[{"block", "start", "end"}, …]` in order.
    pub fn to_json(&self) -> serde_json::Value {
        self.blocks()
            .map(|(name, r)| serde_json::json!({"block": name, "start": r.start, "end": r.end}))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_contiguous_and_named() {
        let mut r = Residual::new();
        assert_eq!(r.add("symbol", 3), 0..3);
        assert_eq!(r.add("position", 5), 3..8);
        assert_eq!(r.range("symbol"), 0..3);
        assert_eq!(r.dim(), 8);
        assert_eq!(r.blocks().count(), 2);
        assert_eq!(r.at("position", 2), 5);
        let read = r.read("position", 2.0);
        assert_eq!((read.rows(), read.cols(), read.get(1, 4)), (5, 8, 2.0));
        let write = r.write("symbol");
        assert_eq!((write.rows(), write.cols(), write.get(2, 2)), (8, 3, 1.0));
        let mut table = Matrix::zeros(2, 8);
        r.set_row(&mut table, 1, "position", &[7.0, 9.0]);
        assert_eq!((table.get(1, 3), table.get(1, 4)), (7.0, 9.0));
        let mut stacked = Matrix::zeros(6, 8);
        r.read_into(&mut stacked, 1, "position", 3.0);
        assert_eq!(
            (stacked.get(1, 3), stacked.get(5, 7), stacked.get(0, 3)),
            (3.0, 3.0, 0.0)
        );
        let mut embed = Matrix::zeros(8, 4);
        r.write_from(&mut embed, 1, "symbol");
        assert_eq!(
            (embed.get(0, 1), embed.get(2, 3), embed.get(0, 0)),
            (1.0, 1.0, 0.0)
        );
    }
}
