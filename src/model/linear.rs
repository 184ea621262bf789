//! Dense matrices and affine maps, the parameters every architecture is made of.
//!
//! A `Matrix` is row-major and its data length is checked at construction; a `Linear` is a
//! `Matrix` with an optional bias whose length is checked against the rows. Applying a `Linear`
//! follows the rounding contract: one rounded dot product per output, then a rounded add of the
//! bias (PyTorch's `nn.Linear`, `y = W x + b`).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::kernel::{Arith, Sparsity};
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
            Some(sp) => ar.matvec_sparse(&self.data, self.cols, sp, x, lanes, out, stats),
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
}

/// The first `n` numbers of `v`, growing it if needed.
pub(crate) fn buf(v: &mut Vec<f64>, n: usize) -> &mut [f64] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}
