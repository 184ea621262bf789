//! The measures of a communication matrix, each returned with a certificate.
//!
//! One file per measure: `one_way` (distinct rows / columns), `rank` (GF(2) and rational),
//! `fooling` (maximum fooling sets), `rectangles` (partition and cover numbers), and
//! `deterministic` (exact `D(f)` by search over protocol trees). `summary` runs them all within
//! `Limits` and sets the bounds on `D` side by side. Nothing here prints.

pub mod deterministic;
pub mod fooling;
pub mod one_way;
pub mod rank;
pub mod rectangles;
pub mod summary;

/// Ceilings on the expensive measures. A measure that would exceed its ceiling is skipped (its
/// value is `None`) and the report says which limit stopped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most entries of one value (vertices of the compatibility graph) a fooling-set search takes.
    pub fooling_max_entries: u64,
    /// Node budget of each branch-and-bound search (fooling sets, rectangles, protocol trees).
    pub search_nodes: u64,
    /// Most cells (`distinct rows × distinct cols`) for partition and cover numbers.
    pub rectangle_max_cells: u64,
    /// Most distinct rows and distinct columns for the protocol-tree search.
    pub protocol_max_classes: usize,
    /// Most entries (`distinct rows × cols`) for the exact rational rank.
    pub rational_max_entries: u64,
    /// Most word operations ([`gf2_work`]) for the GF(2) ranks.
    pub gf2_max_work: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fooling_max_entries: 4096,
            search_nodes: 2_000_000,
            rectangle_max_cells: 64,
            protocol_max_classes: 64,
            rational_max_entries: 1 << 24,
            gf2_max_work: 1 << 31,
        }
    }
}

/// The work of one GF(2) elimination of a matrix with `distinct_rows` distinct rows and `cols`
/// columns, in 64-bit word operations: `distinct rows × ⌈cols/64⌉ × ⌈min(distinct rows,
/// cols)/64⌉` (each of at most `min(..)/64` pivot words clears every row; `rank::gf2_rank`).
/// It is cubic in the side of a square matrix (EQ_14: about 1.1e9, a few seconds on two cores;
/// EQ_16: 6.9e10) and small for a tall one (INDEX_24: 1.7e7), which is why the limit is on
/// work and not on entries. Saturating.
pub fn gf2_work(distinct_rows: u64, cols: u64) -> u64 {
    distinct_rows
        .saturating_mul(cols.div_ceil(64))
        .saturating_mul(distinct_rows.min(cols).div_ceil(64))
}

/// `ceil(log2 k)` for `k ≥ 1`; 0 for `k ≤ 1`.
pub fn ceil_log2(k: u64) -> u32 {
    if k <= 1 {
        0
    } else {
        64 - (k - 1).leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ceil_log2_small() {
        let got: Vec<u32> = [0, 1, 2, 3, 4, 5, 8, 9, 1 << 20]
            .map(super::ceil_log2)
            .to_vec();
        assert_eq!(got, vec![0, 0, 1, 2, 2, 3, 3, 4, 20]);
    }

    /// The GF(2) work of the built-in problems: EQ_14 within the default limit, EQ_15 over it,
    /// INDEX_24 (tall, every row distinct) far within it.
    #[test]
    fn gf2_work_is_cubic_for_square_matrices_only() {
        let limit = super::Limits::default().gf2_max_work;
        assert_eq!(super::gf2_work(1 << 14, 1 << 14), 1 << 30);
        assert!(super::gf2_work(1 << 14, 1 << 14) <= limit);
        assert!(super::gf2_work(1 << 15, 1 << 15) > limit);
        assert_eq!(super::gf2_work(1 << 24, 24), 1 << 24);
        assert_eq!(super::gf2_work(u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(super::gf2_work(0, 5), 0);
    }
}
