//! How many numbers a [`Model`] holds: every weight and bias of every architecture, layer
//! norms, embeddings, positional tables and heads included, zeros included. The one count every
//! size a construction reports is made of, so that sizes of different constructions compare.

use super::{Cell, Linear, Model, PosCode, RecurrentLayer, Weight};

/// One stored tensor of a model: its values where they are held densely, or a sparse weight
/// (counted at its full `rows × cols` size, its stored nonzeros for [`Model::nonzero_parameter_count`]).
enum Tensor<'a> {
    Values(&'a [f64]),
    Weight(&'a Weight),
}

impl Tensor<'_> {
    fn size(&self) -> usize {
        match self {
            Tensor::Values(v) => v.len(),
            Tensor::Weight(w) => usize::try_from(w.size()).unwrap_or(usize::MAX),
        }
    }

    fn nonzero(&self) -> usize {
        match self {
            Tensor::Values(v) => v.iter().filter(|x| **x != 0.0).count(),
            Tensor::Weight(Weight::Dense(m)) => m.data().iter().filter(|x| **x != 0.0).count(),
            Tensor::Weight(Weight::Sparse(s)) => s.nnz(),
        }
    }
}

fn linear(l: &Linear) -> impl Iterator<Item = Tensor<'_>> {
    std::iter::once(Tensor::Values(l.weight().data())).chain(l.bias().map(Tensor::Values))
}

fn recurrent<'a>(
    layers: &'a [RecurrentLayer],
    head: Option<&'a Linear>,
) -> impl Iterator<Item = Tensor<'a>> {
    layers
        .iter()
        .flat_map(|l| {
            [Tensor::Weight(&l.w_ih), Tensor::Weight(&l.w_hh)]
                .into_iter()
                .chain(l.b_ih.as_deref().map(Tensor::Values))
                .chain(l.b_hh.as_deref().map(Tensor::Values))
        })
        .chain(head.into_iter().flat_map(linear))
}

impl Model {
    /// Every tensor the model holds, in no particular order.
    fn tensors(&self) -> Vec<Tensor<'_>> {
        let mut v = self.layer_tensors();
        if let Some(e) = self.cell().and_then(Cell::embedding) {
            v.push(Tensor::Values(e.linear().weight().data()));
        }
        v
    }

    /// Every tensor but a recurrent model's embedding.
    fn layer_tensors(&self) -> Vec<Tensor<'_>> {
        match self {
            Model::Rnn(m) => recurrent(m.layers(), m.head()).collect(),
            Model::Lstm(m) => recurrent(m.layers(), m.head()).collect(),
            Model::Gru(m) => recurrent(m.layers(), m.head()).collect(),
            Model::Ssm(m) => vec![
                Tensor::Values(m.a()),
                Tensor::Values(m.b().data()),
                Tensor::Values(m.c().data()),
            ],
            Model::LinearAttention(m) => [m.q(), m.k(), m.v()]
                .into_iter()
                .chain(Cell::head(m))
                .flat_map(linear)
                .collect(),
            Model::Transformer(t) => {
                let mut v: Vec<Tensor> = linear(t.embed()).collect();
                if let PosCode::Table(m) = t.pos() {
                    v.push(Tensor::Values(m.data()));
                }
                let norms = t
                    .blocks()
                    .iter()
                    .flat_map(|b| [b.ln1.as_ref(), b.ln2.as_ref()])
                    .chain([t.ln_f()])
                    .flatten();
                for ln in norms {
                    v.push(Tensor::Values(&ln.weight));
                    v.push(Tensor::Values(&ln.bias));
                }
                for b in t.blocks() {
                    for l in [&b.q, &b.k, &b.v, &b.o] {
                        v.extend(linear(l));
                    }
                    if let Some((f1, f2)) = &b.mlp {
                        v.extend(linear(f1).chain(linear(f2)));
                    }
                }
                v.extend(t.head().into_iter().flat_map(linear));
                v
            }
        }
    }

    /// Every number of the model: weights, biases, layer norms' scales and shifts, the
    /// embedding, a positional table and the head, zeros included (a sparse weight counts
    /// `rows × cols`).
    pub fn parameter_count(&self) -> usize {
        self.tensors()
            .iter()
            .map(Tensor::size)
            .fold(0, usize::saturating_add)
    }

    /// The numbers of [`Model::parameter_count`] that are not zero.
    pub fn nonzero_parameter_count(&self) -> usize {
        self.tensors().iter().map(Tensor::nonzero).sum()
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Block, LayerNorm, Linear, Matrix, Model, PosCode, Transformer};

    #[test]
    fn a_transformer_counts_layer_norms_embedding_table_and_head() {
        let lin = |r, c, bias: bool| Linear::new(Matrix::zeros(r, c), bias.then(|| vec![1.0; r]));
        let ln = |d| LayerNorm {
            weight: vec![1.0; d],
            bias: vec![0.0; d],
            eps: 1e-5,
        };
        let d = 4;
        let block = Block {
            ln1: Some(ln(d)),
            q: lin(d, d, false).unwrap(),
            k: lin(d, d, false).unwrap(),
            v: lin(d, d, false).unwrap(),
            o: lin(d, d, true).unwrap(),
            ln2: Some(ln(d)),
            mlp: Some((lin(8, d, true).unwrap(), lin(d, 8, false).unwrap())),
        };
        let t = Transformer::new(
            lin(d, 3, false).unwrap(),
            PosCode::Table(Matrix::zeros(5, d)),
            vec![block],
            Some(ln(d)),
            Some(lin(1, d, true).unwrap()),
            1,
            true,
        )
        .unwrap();
        let m = Model::Transformer(t);
        let want = 4 * 3 + 5 * 4 + 3 * 2 * 4 + 4 * 16 + 4 + (32 + 8) + 32 + (4 + 1);
        assert_eq!(m.parameter_count(), want);
        // The ones: 4 of o's bias, 8 of fc1's, 1 of the head's, 3 layer norms' scales.
        assert_eq!(m.nonzero_parameter_count(), 4 + 8 + 1 + 3 * 4);
    }
}
