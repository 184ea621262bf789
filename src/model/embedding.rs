//! The embedding stage of a recurrent model: a table `[V, E]` (`nn.Embedding`) read before the
//! first recurrent layer, so that the model reads one-hot inputs of size `V`.
//!
//! It runs as a bias-free `Linear` `[E, V]` (the table transposed) applied to each input:
//! `e = round(E^T x)`, one rounded dot product per coordinate, as every `Linear`. For a one-hot
//! `x` that dot product has one nonzero term, so `e` is the (already rounded) table row, as
//! PyTorch's lookup gives; any other input is the rounded product. The stage is its own op: it
//! is not folded into `W_ih` (at a low precision `round(W_ih round(E^T x))` and
//! `round((W_ih E^T) x)` differ). Weights: `embedding.weight` `[V, E]` (what `Model::save`
//! writes); on load any name the role matcher (`roles`) accepts.

use super::kernel::Arith;
use super::linear::{Linear, Matrix};
use crate::error::InputError;
use crate::numeric::Stats;

/// An embedding table held as the bias-free `Linear` `[E, V]` that applies it (boxed: a
/// model without one pays a pointer).
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding {
    lin: Box<Linear>,
}

/// `m` transposed.
pub(crate) fn transpose(m: &Matrix) -> Matrix {
    let (r, c) = (m.rows(), m.cols());
    let data = (0..c)
        .flat_map(|j| (0..r).map(move |i| (i, j)))
        .map(|(i, j)| m.data()[i * c + j])
        .collect();
    Matrix::new(c, r, data).expect("a transposed matrix has the same number of entries")
}

impl Embedding {
    /// The stage of a table `[V, E]` (row `v` is token `v`'s vector); `V, E ≥ 1`.
    pub fn from_table(table: &Matrix) -> Result<Self, InputError> {
        if table.rows() == 0 || table.cols() == 0 {
            return Err(InputError::new(format!(
                "an embedding table has shape [V, E] with V, E ≥ 1, not [{}, {}]",
                table.rows(),
                table.cols()
            )));
        }
        Ok(Embedding {
            lin: Box::new(Linear::new(transpose(table), None)?),
        })
    }

    /// The table `[V, E]`.
    pub fn table(&self) -> Matrix {
        transpose(self.lin.weight())
    }

    /// `V`: the size of the one-hot inputs.
    pub fn vocab(&self) -> usize {
        self.lin.in_size()
    }

    /// `E`: the numbers the next stage reads.
    pub fn dim(&self) -> usize {
        self.lin.out_size()
    }

    /// The `Linear` `[E, V]` that applies the table.
    pub fn linear(&self) -> &Linear {
        &self.lin
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        Embedding {
            lin: Box::new(self.lin.rounded(ar, stats)),
        }
    }

    /// `out = round(E^T x)` for `L` lanes (`x`: `V · L`, `out`: `E · L`).
    pub(crate) fn apply(
        &self,
        ar: &Arith,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        self.lin.apply(ar, x, lanes, out, stats);
    }
}

/// Refuses an embedding whose vectors are not the `input` numbers the next stage reads.
pub(crate) fn check_embedding(e: Option<&Embedding>, input: usize) -> Result<(), InputError> {
    match e {
        Some(e) if e.dim() != input => Err(InputError::new(format!(
            "the embedding table has shape [{}, {}], but the first layer reads {input} numbers: expected [V, {input}]",
            e.vocab(),
            e.dim()
        ))),
        _ => Ok(()),
    }
}
