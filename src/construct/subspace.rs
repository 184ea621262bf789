//! Named blocks of a residual stream (as tracr names basis directions), so a construction
//! writes `res.range("position")` instead of magic offsets.
//!
//! Invariant: blocks are disjoint, contiguous and in the order they were added; `dim()` is the
//! sum of their sizes.

use std::ops::Range;

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
    }
}
