//! Dense matrices and affine maps, the parameters every architecture is made of.
//!
//! A `Matrix` is row-major and its data length is checked at construction; a `Linear` is a
//! `Matrix` with an optional bias whose length is checked against the rows. Applying a `Linear`
//! follows the rounding contract: one rounded dot product per output, then a rounded add of the
//! bias (PyTorch's `nn.Linear`, `y = W x + b`).
//!
//! A recurrent layer's weights are a `Weight`: a dense `Matrix`, or a `SparseMatrix` that holds
//! only its entries other than `+0` (for constructions whose dense `N × N` matrices would not
//! fit in memory). Both multiply with the same bits (`Arith::matvec_csr`).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::kernel::{Arith, Csr, Sparsity};
use crate::error::InputError;
use crate::numeric::Stats;

/// A `rows × cols` row-major matrix.
///
/// A prepared matrix (`rounded`) also keeps its `Sparsity`, so that `matvec` can skip its
/// zeros; it is derived from `data` and dropped by `set`, so it always describes `data`, and
/// equality compares shapes and entries only.
#[derive(Clone, Debug)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
    sparsity: Option<Sparsity>,
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows && self.cols == other.cols && self.data == other.data
    }
}

impl Matrix {
    /// Fails unless `data.len() == rows · cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, InputError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(InputError::new(format!(
                "a {rows}×{cols} matrix needs {} numbers, got {}",
                rows.saturating_mul(cols),
                data.len()
            )));
        }
        Ok(Matrix {
            rows,
            cols,
            data,
            sparsity: None,
        })
    }

    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
            sparsity: None,
        }
    }

    /// From a list of equally long rows.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self, InputError> {
        let cols = rows.first().map_or(0, Vec::len);
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != cols) {
            return Err(InputError::new(format!(
                "matrix row {i} has {} numbers, row 0 has {cols}",
                r.len()
            )));
        }
        Ok(Matrix {
            rows: rows.len(),
            cols,
            data: rows.concat(),
            sparsity: None,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn data(&self) -> &[f64] {
        &self.data
    }

    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    /// Sets one entry (and forgets the sparsity found by `rounded`, which may no longer hold).
    pub fn set(&mut self, r: usize, c: usize, v: f64) {
        self.data[r * self.cols + c] = v;
        self.sparsity = None;
    }

    /// Every entry rounded to the precision, with the sparsity of the result (`Sparsity::of`),
    /// so that `matvec` on the prepared matrix can skip zeros.
    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        let mut data = self.data.clone();
        ar.round_slice(&mut data, stats);
        let sparsity = Sparsity::of(&data, self.rows, self.cols);
        Matrix {
            rows: self.rows,
            cols: self.cols,
            data,
            sparsity,
        }
    }

    /// Whether this (prepared) matrix keeps its compressed row form (for tests).
    #[cfg(test)]
    pub(crate) fn is_compressed(&self) -> bool {
        self.sparsity.as_ref().is_some_and(Sparsity::is_compressed)
    }

    /// `out = W x` for `L` lanes (`x`: `cols · L`, `out`: `rows · L`), rounded as
    /// `Arith::matvec`, with the same bits and counts; on a prepared matrix it skips the
    /// products that are exactly zero (`Arith::matvec_sparse`).
    pub(crate) fn matvec(
        &self,
        ar: &Arith,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        match &self.sparsity {
            Some(sp) => ar.matvec_sparse((&self.data, self.cols), sp, x, lanes, out, stats),
            None => ar.matvec(&self.data, self.cols, x, lanes, out, stats),
        }
    }

    /// Entries uniform in `[−bound, bound)`.
    pub(crate) fn uniform(rows: usize, cols: usize, bound: f64, rng: &mut ChaCha8Rng) -> Self {
        let data = uniform_vec(rows * cols, bound, rng);
        Matrix {
            rows,
            cols,
            data,
            sparsity: None,
        }
    }
}

/// A `rows × cols` matrix held as its entries other than `+0` only, in compressed rows
/// (`8` bytes a row and `12` an entry): the dense matrix it stands for has `+0` everywhere else.
/// `−0` and every other value are kept, so it stands for any dense matrix exactly. Its product
/// (`matvec`) has the bits and counts of `Matrix::matvec` on the dense matrix, which is never
/// built; it is the storage of recurrent weights too large to hold dense (`Weight::Sparse`).
#[derive(Clone, Debug)]
pub struct SparseMatrix {
    rows: usize,
    cols: usize,
    csr: Csr,
}

impl SparseMatrix {
    /// From `(row, column, value)` entries in any order; of several entries for one place the
    /// last wins, and `+0` values are not stored. Fails for an entry outside `rows × cols` or
    /// more than `2^32` columns (the compressed form's column indices are `u32`).
    pub fn from_entries(
        rows: usize,
        cols: usize,
        entries: impl IntoIterator<Item = (usize, usize, f64)>,
    ) -> Result<Self, InputError> {
        if u32::try_from(cols).is_err() {
            return Err(InputError::new(format!(
                "a sparse matrix has at most 2^32 columns, got {cols}"
            )));
        }
        let mut list: Vec<(usize, u32, f64)> = Vec::new();
        for (r, c, v) in entries {
            if r >= rows || c >= cols {
                return Err(InputError::new(format!(
                    "entry ({r}, {c}) is outside a {rows}×{cols} matrix"
                )));
            }
            list.push((r, c as u32, v));
        }
        // Stable: of equal places the last given stays last; keep it.
        list.sort_by_key(|&(r, c, _)| (r, c));
        let mut csr = Csr {
            starts: Vec::with_capacity(rows + 1),
            cols: Vec::with_capacity(list.len()),
            vals: Vec::with_capacity(list.len()),
        };
        csr.starts.push(0);
        let mut row = 0;
        for (i, &(r, c, v)) in list.iter().enumerate() {
            if list
                .get(i + 1)
                .is_some_and(|&(r2, c2, _)| (r2, c2) == (r, c))
            {
                continue;
            }
            while row < r {
                csr.starts.push(csr.cols.len());
                row += 1;
            }
            if v.to_bits() != 0 {
                csr.cols.push(c);
                csr.vals.push(v);
            }
        }
        while row < rows {
            csr.starts.push(csr.cols.len());
            row += 1;
        }
        Ok(SparseMatrix { rows, cols, csr })
    }

    /// The entries of a dense matrix other than `+0`.
    pub fn from_dense(m: &Matrix) -> Result<Self, InputError> {
        let cols = m.cols();
        Self::from_entries(
            m.rows(),
            cols,
            m.data()
                .iter()
                .enumerate()
                .filter(|(_, v)| v.to_bits() != 0)
                .map(|(i, &v)| (i / cols, i % cols, v)),
        )
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Entries stored (those other than `+0`).
    pub fn nnz(&self) -> usize {
        self.csr.vals.len()
    }

    /// Row `r`'s stored entries (column, value), columns ascending; none for `r ≥ rows`.
    pub fn row_entries(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let span = if r < self.rows {
            self.csr.starts[r]..self.csr.starts[r + 1]
        } else {
            0..0
        };
        self.csr.cols[span.clone()]
            .iter()
            .zip(&self.csr.vals[span])
            .map(|(&k, &v)| (k as usize, v))
    }

    /// Where entry `(r, c)` is stored, or where it would go (`Err`); `None` out of range.
    fn find(&self, r: usize, c: usize) -> Option<Result<usize, usize>> {
        if r >= self.rows || c >= self.cols {
            return None;
        }
        let (lo, hi) = (self.csr.starts[r], self.csr.starts[r + 1]);
        Some(
            self.csr.cols[lo..hi]
                .binary_search(&(c as u32))
                .map(|i| lo + i)
                .map_err(|i| lo + i),
        )
    }

    /// Entry `(r, c)` (`+0` where nothing is stored); `None` outside the matrix.
    pub fn get(&self, r: usize, c: usize) -> Option<f64> {
        self.find(r, c)
            .map(|at| at.map_or(0.0, |i| self.csr.vals[i]))
    }

    /// Sets entry `(r, c)` (`+0` removes it; `O(nnz + rows)`); fails outside the matrix.
    pub fn set(&mut self, r: usize, c: usize, v: f64) -> Result<(), InputError> {
        let Some(at) = self.find(r, c) else {
            return Err(InputError::new(format!(
                "entry ({r}, {c}) is outside a {}×{} matrix",
                self.rows, self.cols
            )));
        };
        let keep = v.to_bits() != 0;
        let shift: isize = match (at, keep) {
            (Ok(i), true) => {
                self.csr.vals[i] = v;
                0
            }
            (Ok(i), false) => {
                self.csr.cols.remove(i);
                self.csr.vals.remove(i);
                -1
            }
            (Err(i), true) => {
                self.csr.cols.insert(i, c as u32);
                self.csr.vals.insert(i, v);
                1
            }
            (Err(_), false) => 0,
        };
        for s in &mut self.csr.starts[r + 1..] {
            *s = s.wrapping_add_signed(shift);
        }
        Ok(())
    }

    /// Bytes of the dense `f64` matrix it stands for.
    pub fn dense_bytes(&self) -> u128 {
        self.rows as u128 * self.cols as u128 * 8
    }

    /// Every stored entry rounded to the precision (the `+0`s round to themselves and count
    /// nothing, so `stats` is what rounding the dense matrix counts); entries that round to `+0`
    /// are dropped. The result is sparse too.
    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        let mut vals = self.csr.vals.clone();
        ar.round_slice(&mut vals, stats);
        let mut csr = Csr {
            starts: Vec::with_capacity(self.rows + 1),
            cols: Vec::with_capacity(vals.len()),
            vals: Vec::with_capacity(vals.len()),
        };
        csr.starts.push(0);
        for r in 0..self.rows {
            let span = self.csr.starts[r]..self.csr.starts[r + 1];
            for (&c, &v) in self.csr.cols[span.clone()].iter().zip(&vals[span]) {
                if v.to_bits() != 0 {
                    csr.cols.push(c);
                    csr.vals.push(v);
                }
            }
            csr.starts.push(csr.cols.len());
        }
        SparseMatrix {
            rows: self.rows,
            cols: self.cols,
            csr,
        }
    }

    /// `out = W x` for `L` lanes, with the bits and counts of `Matrix::matvec` on the dense
    /// matrix (`Arith::matvec_csr`): about `nnz · L` for a finite `x`.
    pub(crate) fn matvec(
        &self,
        ar: &Arith,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        ar.matvec_csr(&self.csr, self.cols, x, lanes, out, stats);
    }
}

/// Whether two rows given as `(column, value)` entries in increasing column order (a column
/// not listed holds `+0`) are equal entry by entry (`f64` equality: `−0 = +0`, NaN never
/// equal). A dense row is every column's entry.
fn same_row(a: impl Iterator<Item = (usize, f64)>, b: impl Iterator<Item = (usize, f64)>) -> bool {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    loop {
        let (x, y) = match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return true,
            (Some((i, x)), Some((j, y))) if i == j => {
                a.next();
                b.next();
                (x, y)
            }
            (Some((i, x)), Some((j, _))) if i < j => {
                a.next();
                (x, 0.0)
            }
            (Some((_, x)), None) => {
                a.next();
                (x, 0.0)
            }
            (_, Some((_, y))) => {
                b.next();
                (0.0, y)
            }
        };
        if x != y {
            return false;
        }
    }
}

/// Equal when the dense matrices they stand for are (`f64` equality entry by entry, as
/// `Matrix`'s: `−0 = +0`, NaN never equal).
impl PartialEq for SparseMatrix {
    fn eq(&self, other: &Self) -> bool {
        (self.rows, self.cols) == (other.rows, other.cols)
            && (0..self.rows).all(|r| same_row(self.row_entries(r), other.row_entries(r)))
    }
}

/// A recurrent layer's weight matrix: dense, or held as its entries other than `+0` only
/// (`SparseMatrix`). Both run with the same bits; a dense one runs exactly as a `Matrix`.
#[derive(Clone, Debug)]
pub enum Weight {
    Dense(Matrix),
    Sparse(SparseMatrix),
}

impl From<Matrix> for Weight {
    fn from(m: Matrix) -> Self {
        Weight::Dense(m)
    }
}

impl From<SparseMatrix> for Weight {
    fn from(m: SparseMatrix) -> Self {
        Weight::Sparse(m)
    }
}

/// Equal when the dense matrices they stand for are, whatever their storage.
impl PartialEq for Weight {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Weight::Dense(a), Weight::Dense(b)) => a == b,
            (Weight::Sparse(a), Weight::Sparse(b)) => a == b,
            (Weight::Dense(d), Weight::Sparse(s)) | (Weight::Sparse(s), Weight::Dense(d)) => {
                (d.rows(), d.cols()) == (s.rows(), s.cols())
                    && (0..d.rows())
                        .all(|r| same_row(d.row(r).iter().copied().enumerate(), s.row_entries(r)))
            }
        }
    }
}

impl Weight {
    pub fn rows(&self) -> usize {
        match self {
            Weight::Dense(m) => m.rows(),
            Weight::Sparse(m) => m.rows(),
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            Weight::Dense(m) => m.cols(),
            Weight::Sparse(m) => m.cols(),
        }
    }

    /// `rows · cols`: every entry, zeros included (saturating).
    pub fn size(&self) -> u64 {
        (self.rows() as u64).saturating_mul(self.cols() as u64)
    }

    /// The dense matrix, if that is how it is held.
    pub fn as_dense(&self) -> Option<&Matrix> {
        match self {
            Weight::Dense(m) => Some(m),
            Weight::Sparse(_) => None,
        }
    }

    /// Entry `(r, c)`; `None` outside the matrix.
    pub fn get(&self, r: usize, c: usize) -> Option<f64> {
        match self {
            Weight::Dense(m) => (r < m.rows() && c < m.cols()).then(|| m.get(r, c)),
            Weight::Sparse(m) => m.get(r, c),
        }
    }

    /// Sets entry `(r, c)`; fails outside the matrix.
    pub fn set(&mut self, r: usize, c: usize, v: f64) -> Result<(), InputError> {
        match self {
            Weight::Dense(m) if r < m.rows() && c < m.cols() => {
                m.set(r, c, v);
                Ok(())
            }
            Weight::Dense(m) => Err(InputError::new(format!(
                "entry ({r}, {c}) is outside a {}×{} matrix",
                m.rows(),
                m.cols()
            ))),
            Weight::Sparse(m) => m.set(r, c, v),
        }
    }

    /// Every entry rounded to the precision; a sparse weight stays sparse.
    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        match self {
            Weight::Dense(m) => Weight::Dense(m.rounded(ar, stats)),
            Weight::Sparse(m) => Weight::Sparse(m.rounded(ar, stats)),
        }
    }

    /// Whether this (prepared) weight multiplies through compressed rows (for tests).
    #[cfg(test)]
    pub(crate) fn is_compressed(&self) -> bool {
        match self {
            Weight::Dense(m) => m.is_compressed(),
            Weight::Sparse(_) => true,
        }
    }

    /// `out = W x` for `L` lanes: `Matrix::matvec`, or its bits from the stored entries.
    pub(crate) fn matvec(
        &self,
        ar: &Arith,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        match self {
            Weight::Dense(m) => m.matvec(ar, x, lanes, out, stats),
            Weight::Sparse(m) => m.matvec(ar, x, lanes, out, stats),
        }
    }
}

pub(crate) fn uniform_vec(n: usize, bound: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n)
        .map(|_| {
            if bound > 0.0 {
                rng.random_range(-bound..bound)
            } else {
                0.0
            }
        })
        .collect()
}

pub(crate) fn rounded_vec(v: &[f64], ar: &Arith, stats: &mut Stats) -> Vec<f64> {
    let mut v = v.to_vec();
    ar.round_slice(&mut v, stats);
    v
}

/// `y = W x + b`, `W` of shape `[out, in]` as in `nn.Linear`.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    weight: Matrix,
    bias: Option<Vec<f64>>,
}

impl Linear {
    /// Fails unless the bias (if any) has one entry per row of `weight`.
    pub fn new(weight: Matrix, bias: Option<Vec<f64>>) -> Result<Self, InputError> {
        if let Some(b) = &bias
            && b.len() != weight.rows()
        {
            return Err(InputError::new(format!(
                "bias of length {} for a weight with {} rows",
                b.len(),
                weight.rows()
            )));
        }
        Ok(Linear { weight, bias })
    }

    pub fn weight(&self) -> &Matrix {
        &self.weight
    }

    pub fn bias(&self) -> Option<&[f64]> {
        self.bias.as_deref()
    }

    pub fn in_size(&self) -> usize {
        self.weight.cols()
    }

    pub fn out_size(&self) -> usize {
        self.weight.rows()
    }

    /// PyTorch's default initialisation: uniform in `±1/√in` for weight and bias.
    pub(crate) fn random(input: usize, output: usize, bias: bool, rng: &mut ChaCha8Rng) -> Self {
        let bound = 1.0 / (input.max(1) as f64).sqrt();
        let weight = Matrix::uniform(output, input, bound, rng);
        let bias = bias.then(|| uniform_vec(output, bound, rng));
        Linear { weight, bias }
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        Linear {
            weight: self.weight.rounded(ar, stats),
            bias: self.bias.as_ref().map(|b| rounded_vec(b, ar, stats)),
        }
    }

    /// `out = round(round(W x) + b)` for `L` lanes (`x`: `in · L`, `out`: `out · L`).
    pub(crate) fn apply(
        &self,
        ar: &Arith,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        self.weight.matvec(ar, x, lanes, out, stats);
        if let Some(b) = &self.bias {
            ar.add_bias(out, b, lanes, stats);
        }
    }
}

/// Scratch space reused across steps, so that the step loop does not allocate.
#[derive(Default)]
pub(crate) struct Workspace {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub c: Vec<f64>,
    pub d: Vec<f64>,
    /// The embedded input (`Cell::step_lanes`).
    pub e: Vec<f64>,
}

/// The first `n` numbers of `v`, growing it if needed.
pub(crate) fn buf(v: &mut Vec<f64>, n: usize) -> &mut [f64] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::numeric::{Accumulate, Precision};

    /// A random `rows × cols` matrix: mostly `+0`, some `−0`, values of both signs, and (with
    /// `huge`) values that round to the format's largest or overflow.
    fn random_dense(rng: &mut ChaCha8Rng, rows: usize, cols: usize, huge: bool) -> Matrix {
        let data = (0..rows * cols)
            .map(|_| match rng.random_range(0..20) {
                0 => -0.0,
                1..=3 => rng.random_range(-2.0..2.0),
                4 => 1.0,
                5 if huge => 1e300,
                _ => 0.0,
            })
            .collect();
        Matrix::new(rows, cols, data).unwrap()
    }

    /// Inputs in lane layout: one-hot, sparse with signed zeros, dense, or with a NaN and an
    /// infinity (where `+0 · ∞` makes the dense product NaN).
    fn random_input(rng: &mut ChaCha8Rng, kind: usize, cols: usize, lanes: usize) -> Vec<f64> {
        let mut x: Vec<f64> = (0..cols * lanes)
            .map(|i| match kind {
                0 => f64::from(u8::from(i / lanes == (i % lanes) * 7 % cols)),
                1 if rng.random_bool(0.1) => rng.random_range(-3.0..3.0),
                1 => {
                    if rng.random_bool(0.5) {
                        0.0
                    } else {
                        -0.0
                    }
                }
                _ => rng.random_range(-3.0..3.0),
            })
            .collect();
        if kind == 3 {
            x[(5 % cols) * lanes] = f64::NAN;
            x[(9 % cols) * lanes + lanes - 1] = f64::INFINITY;
        }
        x
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter()
            .map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() })
            .collect()
    }

    /// A matrix held sparse stands for its dense copy exactly: the same entries (`−0` kept,
    /// `+0` not stored), equal to it, rounded to the same matrix (and still sparse) with the
    /// same counts, and its product has the dense product's bits and counts on random inputs
    /// (one-hot, sparse, dense, non-finite; 1, 3 and 16 lanes; fixed point with both
    /// accumulations, `e4m3`, `bf16` and `f64`; sizes on both sides of the sparse paths'
    /// thresholds, and one whose non-finite inputs run the dense fallback in several blocks
    /// of rows).
    #[test]
    fn sparse_matrix_multiplies_as_its_dense_copy_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (rows, cols) in [(7, 5), (70, 90), (130, 66), (130, 1100)] {
            for huge in [false, true] {
                let dense = random_dense(&mut rng, rows, cols, huge);
                let sparse = SparseMatrix::from_dense(&dense).unwrap();
                let stored = dense.data().iter().filter(|v| v.to_bits() != 0).count();
                assert_eq!(sparse.nnz(), stored);
                for r in 0..rows {
                    for c in 0..cols {
                        let got = sparse.get(r, c).unwrap();
                        assert_eq!(got.to_bits(), dense.get(r, c).to_bits());
                    }
                }
                let (d, s) = (Weight::from(dense.clone()), Weight::from(sparse.clone()));
                // Both orders of the mixed comparison, and a sparse one with itself.
                assert!(d == s);
                assert!(s == d);
                assert!(sparse == sparse.clone());
                for (spec, acc) in [
                    ("fixed:2.3", Accumulate::Wide),
                    ("fixed:2.3", Accumulate::Format),
                    ("e4m3", Accumulate::Wide),
                    ("bf16", Accumulate::Format),
                    ("f64", Accumulate::Wide),
                ] {
                    let prec = Precision::parse(spec).unwrap().with_accumulate(acc);
                    let ar = Arith::new(&prec).unwrap();
                    let (mut st_d, mut st_s) = (Stats::default(), Stats::default());
                    let (rd, rs) = (d.rounded(&ar, &mut st_d), s.rounded(&ar, &mut st_s));
                    assert_eq!(st_d, st_s, "{spec}");
                    assert!(rd == rs && matches!(rs, Weight::Sparse(_)), "{spec}");
                    for lanes in [1, 3, 16] {
                        for kind in 0..4 {
                            let mut x = random_input(&mut rng, kind, cols, lanes);
                            ar.round_slice(&mut x, &mut Stats::default());
                            let run = |w: &Weight| {
                                let mut out = vec![7.0; rows * lanes];
                                let mut st = Stats::default();
                                w.matvec(&ar, &x, lanes, &mut out, &mut st);
                                (bits(&out), st)
                            };
                            assert_eq!(
                                run(&rd),
                                run(&rs),
                                "{rows}×{cols} {spec} {acc:?} lanes {lanes} input {kind}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Building, reading and editing a sparse matrix: the last of repeated entries wins, `+0`
    /// is not stored (setting it removes an entry), `−0` is, out-of-range places are errors
    /// (never a panic), and equality is that of the dense matrices.
    #[test]
    fn sparse_matrix_entries_and_edits() {
        let m = SparseMatrix::from_entries(
            3,
            4,
            [
                (2, 1, 5.0),
                (0, 3, 1.0),
                (2, 1, 6.0),
                (1, 0, -0.0),
                (0, 0, 0.0),
            ],
        )
        .unwrap();
        assert_eq!((m.rows(), m.cols(), m.nnz()), (3, 4, 3));
        assert_eq!(m.get(2, 1), Some(6.0));
        assert!(m.get(1, 0).unwrap().is_sign_negative() && m.get(0, 0) == Some(0.0));
        assert_eq!((m.get(3, 0), m.get(0, 4)), (None, None));
        assert_eq!(m.row_entries(0).collect::<Vec<_>>(), vec![(3, 1.0)]);
        assert_eq!(m.row_entries(9).count(), 0);
        let mut e = m.clone();
        e.set(0, 1, 2.0).unwrap();
        e.set(2, 1, 0.0).unwrap();
        e.set(1, 3, 0.0).unwrap();
        assert_eq!(e.nnz(), 3);
        assert_eq!(
            e.row_entries(0).collect::<Vec<_>>(),
            vec![(1, 2.0), (3, 1.0)]
        );
        assert_eq!(e.row_entries(2).count(), 0);
        assert!(e.set(3, 0, 1.0).is_err() && e.set(0, 4, 1.0).is_err());
        assert!(SparseMatrix::from_entries(2, 2, [(2, 0, 1.0)]).is_err());
        let mut w = Weight::from(m.clone());
        assert!(w.set(0, 9, 1.0).is_err() && w.get(0, 9).is_none());
        let mut d = Weight::from(Matrix::zeros(3, 4));
        assert!(d.set(3, 0, 1.0).is_err() && d.get(0, 4).is_none());
        // −0 equals +0 (as `f64`), so the dense matrix of `m` equals it with or without it.
        let mut dense = Matrix::zeros(3, 4);
        dense.set(0, 3, 1.0);
        dense.set(2, 1, 6.0);
        assert!(Weight::from(dense.clone()) == Weight::from(m.clone()));
        dense.set(1, 2, f64::NAN);
        assert!(Weight::from(dense) != Weight::from(m.clone()));
        let mut other = m.clone();
        other.set(1, 1, 1.0).unwrap();
        assert!(other != m);
        assert!(m != other);
        assert_eq!(w.size(), 12);
        w.set(0, 0, 3.0).unwrap();
        assert_eq!(w.get(0, 0), Some(3.0));
    }
}
