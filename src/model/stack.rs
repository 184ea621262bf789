//! The layer stack shared by the Elman RNN, the LSTM and the GRU: PyTorch's parameters and names.
//!
//! Layer `k` has `weight_ih_l{k}` `[G·H, in_k]`, `weight_hh_l{k}` `[G·H, H]` and optionally
//! `bias_ih_l{k}`, `bias_hh_l{k}` `[G·H]`, where `G` is the number of gates (RNN 1, GRU 3,
//! LSTM 4, stacked in PyTorch's order), `H` the hidden size, `in_0` the input size and
//! `in_k = H` above. These are exactly the names in a `torch.nn.RNN/GRU/LSTM` state dict
//! (possibly under a prefix such as `rnn.`). Bidirectional layers (`_reverse`) and LSTM
//! projections (`weight_hr_l{k}`) are refused.

use rand_chacha::ChaCha8Rng;

use super::kernel::Arith;
use super::linear::{Linear, Matrix, Weight, rounded_vec, uniform_vec};
use super::weights::{MAX_DENSE_SAVE_BYTES, MIB, TensorWriter, Tensors};
use crate::error::InputError;
use crate::numeric::Stats;

/// One layer's parameters, in PyTorch's layout (gates stacked along the rows). The weights
/// are dense when loaded or drawn at random; a construction may hold them sparse
/// (`Weight::Sparse`), which runs with the same bits.
#[derive(Clone, Debug, PartialEq)]
pub struct RecurrentLayer {
    pub w_ih: Weight,
    pub w_hh: Weight,
    pub b_ih: Option<Vec<f64>>,
    pub b_hh: Option<Vec<f64>>,
}

/// Layers whose shapes fit together: valid by construction.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stack {
    layers: Vec<RecurrentLayer>,
    gates: usize,
    input: usize,
    hidden: usize,
}

impl Stack {
    /// Checks every shape against layer 0's `[G·H, input]`.
    pub fn new(layers: Vec<RecurrentLayer>, gates: usize) -> Result<Self, InputError> {
        let first = layers
            .first()
            .ok_or_else(|| InputError::new("a recurrent model needs at least one layer"))?;
        let rows = first.w_ih.rows();
        if rows == 0 || rows % gates != 0 {
            return Err(InputError::new(format!(
                "weight_ih_l0 has {rows} rows, expected a positive multiple of {gates} (gates × hidden size)"
            )));
        }
        let hidden = rows / gates;
        let input = first.w_ih.cols();
        for (k, l) in layers.iter().enumerate() {
            let in_k = if k == 0 { input } else { hidden };
            let check = |name: &str, got: (usize, usize), want: (usize, usize)| {
                if got == want {
                    Ok(())
                } else {
                    Err(InputError::new(format!(
                        "{name}_l{k} has shape [{}, {}], expected [{}, {}]",
                        got.0, got.1, want.0, want.1
                    )))
                }
            };
            check("weight_ih", (l.w_ih.rows(), l.w_ih.cols()), (rows, in_k))?;
            check("weight_hh", (l.w_hh.rows(), l.w_hh.cols()), (rows, hidden))?;
            for (name, b) in [("bias_ih", &l.b_ih), ("bias_hh", &l.b_hh)] {
                if let Some(b) = b {
                    check(name, (b.len(), 1), (rows, 1))?;
                }
            }
        }
        Ok(Stack {
            layers,
            gates,
            input,
            hidden,
        })
    }

    pub fn layers(&self) -> &[RecurrentLayer] {
        &self.layers
    }

    pub fn input(&self) -> usize {
        self.input
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Reads layers `0, 1, …` under `prefix` until `weight_ih_l{k}` is absent.
    pub fn load(t: &Tensors, prefix: &str, gates: usize) -> Result<Self, InputError> {
        for n in t.names() {
            if let Some(rest) = n.strip_prefix(prefix)
                && (rest.contains("_reverse") || rest.starts_with("weight_hr_l"))
            {
                return Err(InputError::new(format!(
                    "tensor '{n}' in '{}': bidirectional layers and LSTM projections are not supported",
                    t.path().display()
                )));
            }
        }
        let name0 = format!("{prefix}weight_ih_l0");
        let (rows, input) = t.dims2(&name0)?;
        if rows == 0 || rows % gates != 0 {
            return Err(InputError::new(format!(
                "tensor '{name0}' in '{}' has {rows} rows, expected a positive multiple of {gates} (gates × hidden size)",
                t.path().display()
            )));
        }
        let hidden = rows / gates;
        let mut layers = Vec::new();
        for k in 0.. {
            let name = |s: &str| format!("{prefix}{s}_l{k}");
            if !t.contains(&name("weight_ih")) {
                break;
            }
            let in_k = if k == 0 { input } else { hidden };
            layers.push(RecurrentLayer {
                w_ih: t.matrix(&name("weight_ih"), rows, in_k)?.into(),
                w_hh: t.matrix(&name("weight_hh"), rows, hidden)?.into(),
                b_ih: t.get_opt(&name("bias_ih"), &[rows])?,
                b_hh: t.get_opt(&name("bias_hh"), &[rows])?,
            });
        }
        Stack::new(layers, gates)
    }

    /// Writes every layer in PyTorch's names, each weight as a dense tensor. Fails, before
    /// writing anything, for a stack holding a sparse weight whose dense weight tensors would
    /// exceed [`MAX_DENSE_SAVE_BYTES`] together (the file, and the buffers that make it, would
    /// be far larger than the model in memory).
    pub fn save(&self, w: &mut TensorWriter) -> Result<(), InputError> {
        let weights = || self.layers.iter().flat_map(|l| [&l.w_ih, &l.w_hh]);
        if weights().any(|m| m.as_dense().is_none()) {
            let bytes: u128 = weights().map(|m| u128::from(m.size()) * 8).sum();
            if bytes > MAX_DENSE_SAVE_BYTES {
                let shapes: Vec<String> = weights()
                    .map(|m| format!("{}×{}", m.rows(), m.cols()))
                    .collect();
                return Err(InputError::new(format!(
                    "this model holds its recurrent weights sparse (only their nonzeros), but a \
                     safetensors file holds them dense: {} matrices, about {:.1} MiB (limit \
                     {:.0} MiB = 1 GiB); save a smaller model (lower N)",
                    shapes.join(", "),
                    bytes as f64 / MIB,
                    MAX_DENSE_SAVE_BYTES as f64 / MIB
                )));
            }
        }
        for (k, l) in self.layers.iter().enumerate() {
            w.weight(format!("weight_ih_l{k}"), &l.w_ih)?;
            w.weight(format!("weight_hh_l{k}"), &l.w_hh)?;
            if let Some(b) = &l.b_ih {
                w.vector(format!("bias_ih_l{k}"), b);
            }
            if let Some(b) = &l.b_hh {
                w.vector(format!("bias_hh_l{k}"), b);
            }
        }
        Ok(())
    }

    /// PyTorch's initialisation: every parameter uniform in `±1/√H`.
    pub fn random(
        input: usize,
        hidden: usize,
        depth: usize,
        gates: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, InputError> {
        if hidden == 0 || input == 0 || depth == 0 {
            return Err(InputError::new(
                "input size, hidden size and number of layers must be at least 1",
            ));
        }
        let bound = 1.0 / (hidden as f64).sqrt();
        let layers = (0..depth)
            .map(|k| {
                let in_k = if k == 0 { input } else { hidden };
                RecurrentLayer {
                    w_ih: Matrix::uniform(gates * hidden, in_k, bound, rng).into(),
                    w_hh: Matrix::uniform(gates * hidden, hidden, bound, rng).into(),
                    b_ih: Some(uniform_vec(gates * hidden, bound, rng)),
                    b_hh: Some(uniform_vec(gates * hidden, bound, rng)),
                }
            })
            .collect();
        Stack::new(layers, gates)
    }

    /// Every parameter rounded to `ar`'s precision: the prepared stack. Each dense weight
    /// matrix keeps its sparsity beside it (`Matrix::rounded`), found here once; a sparse one
    /// stays sparse (`Weight::rounded`).
    pub fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        let layers = self
            .layers
            .iter()
            .map(|l| RecurrentLayer {
                w_ih: l.w_ih.rounded(ar, stats),
                w_hh: l.w_hh.rounded(ar, stats),
                b_ih: l.b_ih.as_ref().map(|b| rounded_vec(b, ar, stats)),
                b_hh: l.b_hh.as_ref().map(|b| rounded_vec(b, ar, stats)),
            })
            .collect();
        Stack { layers, ..*self }
    }

    /// `gi = round(round(W_ih x) + b_ih)` and `gh = round(round(W_hh h) + b_hh)` for layer `k`.
    /// On a prepared stack (`rounded`) the products skip exact zeros (`Matrix::matvec`): a
    /// sparse `W_hh` costs `nnz · L` and a one-hot `x` about `(nonzero columns) · G·H · L`
    /// instead of the dense `G·H · cols · L`, with the same bits; a weight held sparse costs
    /// `nnz · L` (`SparseMatrix::matvec`).
    #[allow(clippy::too_many_arguments)]
    pub fn pre(
        &self,
        k: usize,
        ar: &Arith,
        x: &[f64],
        h: &[f64],
        lanes: usize,
        gi: &mut [f64],
        gh: &mut [f64],
        stats: &mut Stats,
    ) {
        let l = &self.layers[k];
        l.w_ih.matvec(ar, x, lanes, gi, stats);
        if let Some(b) = &l.b_ih {
            ar.add_bias(gi, b, lanes, stats);
        }
        l.w_hh.matvec(ar, h, lanes, gh, stats);
        if let Some(b) = &l.b_hh {
            ar.add_bias(gh, b, lanes, stats);
        }
    }
}

/// Reads the optional output head `head.weight` `[O, H]`, `head.bias` `[O]`: at the top level of
/// the file, or under `prefix`.
pub(crate) fn load_head(
    t: &Tensors,
    head: &str,
    prefix: &str,
    hidden: usize,
) -> Result<Option<Linear>, InputError> {
    if let Some(l) = t.linear_opt(head, hidden)? {
        return Ok(Some(l));
    }
    if prefix.is_empty() {
        return Ok(None);
    }
    t.linear_opt(&format!("{prefix}{head}"), hidden)
}

/// Finds the prefix under which `anchor` appears (`""` if at the top level); `given` wins.
pub(crate) fn find_prefix(
    t: &Tensors,
    anchor: &str,
    given: Option<&str>,
) -> Result<String, InputError> {
    if let Some(p) = given {
        return Ok(p.to_string());
    }
    let found: Vec<&str> = t
        .names()
        .filter_map(|n| n.strip_suffix(anchor))
        .filter(|p| p.is_empty() || p.ends_with('.'))
        .collect();
    match found.as_slice() {
        [p] => Ok(p.to_string()),
        [] => Err(InputError::new(format!(
            "no tensor named '{anchor}' (under any prefix) in '{}'; tensors there: {}",
            t.path().display(),
            t.names().collect::<Vec<_>>().join(", ")
        ))),
        many => Err(InputError::new(format!(
            "'{}' holds several models ({}); choose one with a prefix",
            t.path().display(),
            many.iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::kernel::{Arith, LANES, dense_only};
    use super::*;
    use crate::construct::recurrent::{Stop, index_rnn, verify_index};
    use crate::numeric::{Accumulate, Precision};

    /// A prepared two-layer LSTM-shaped stack (4 gates, hidden 32, input 40) with a sparse
    /// `W_hh` (about 10% nonzero: the compressed path) and a dense `W_ih` (the zero-column path
    /// on one-hot inputs, dense otherwise): `pre` gives the same bits and counts with zero
    /// skipping on and off, at fixed point (both accumulations), `bf16`, `f32` and `f64`.
    #[test]
    fn pre_gives_the_same_bits_with_and_without_zero_skipping() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut stack = Stack::random(40, 32, 2, 4, &mut rng).unwrap();
        for l in &mut stack.layers {
            for r in 0..l.w_hh.rows() {
                for c in 0..l.w_hh.cols() {
                    if rng.random_bool(0.9) {
                        l.w_hh
                            .set(r, c, if rng.random_bool(0.5) { 0.0 } else { -0.0 })
                            .unwrap();
                    }
                }
            }
        }
        for (spec, acc) in [
            ("fixed:2.5", Accumulate::Wide),
            ("fixed:2.5", Accumulate::Format),
            ("bf16", Accumulate::Wide),
            ("f32", Accumulate::Format),
            ("f64", Accumulate::Wide),
        ] {
            let prec = Precision::parse(spec).unwrap().with_accumulate(acc);
            let ar = Arith::new(&prec).unwrap();
            let prepared = stack.rounded(&ar, &mut Stats::default());
            assert!(
                prepared.layers[0].w_hh.is_compressed() && !prepared.layers[0].w_ih.is_compressed()
            );
            for one_hot in [true, false] {
                for k in 0..2 {
                    let cols = if k == 0 { 40 } else { 32 };
                    let x: Vec<f64> = (0..cols * LANES)
                        .map(|i| match (one_hot, i / LANES == (i % LANES) * 2) {
                            (true, hot) => f64::from(u8::from(hot)),
                            (false, _) => rng.random_range(-1.0..1.0),
                        })
                        .collect();
                    let h: Vec<f64> = (0..32 * LANES)
                        .map(|_| {
                            if rng.random_bool(0.3) {
                                rng.random_range(-1.0..1.0)
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    let run = || {
                        let (mut gi, mut gh) = (vec![0.0; 128 * LANES], vec![0.0; 128 * LANES]);
                        let mut st = Stats::default();
                        prepared.pre(k, &ar, &x, &h, LANES, &mut gi, &mut gh, &mut st);
                        let bits = |v: &[f64]| v.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
                        (bits(&gi), bits(&gh), st)
                    };
                    let sparse = run();
                    let dense = dense_only(run);
                    assert!(
                        sparse == dense,
                        "{spec} {acc:?} one-hot {one_hot} layer {k}"
                    );
                }
            }
        }
    }

    /// The index RNN at `N = 64` (beyond the exhaustive range; its weights are held sparse, and
    /// stay so when prepared) checked with zero skipping and without (where the held-sparse
    /// product runs the dense `matvec` on blocks of rows) gives the same `IndexCheck`, correct
    /// or broken, at two precisions.
    #[test]
    fn index_rnn_check_is_the_same_through_the_sparse_and_dense_paths() {
        let n = 64;
        let model = index_rnn(n).unwrap();
        let crate::model::Model::Rnn(rnn) = &model else {
            panic!("the index model is an RNN")
        };
        let ar = Arith::new(&Precision::parse("fixed:1.0").unwrap()).unwrap();
        let prepared = rnn.stack.rounded(&ar, &mut Stats::default());
        // Both held sparse after rounding: no dense copy was made.
        assert!(prepared.layers[0].w_hh.as_dense().is_none());
        assert!(prepared.layers[0].w_ih.as_dense().is_none());
        let mut broken = model.clone();
        if let crate::model::Model::Rnn(rnn) = &mut broken {
            rnn.stack.layers[0].w_hh.set(7, 6, 0.0).unwrap();
        }
        for m in [&model, &broken] {
            for spec in ["fixed:1.0", "bf16"] {
                let prec = Precision::parse(spec).unwrap();
                let run = || verify_index(m, n, &prec, 8, 3, Stop::Never).unwrap();
                let sparse = run();
                let dense = dense_only(run);
                assert_eq!(sparse, dense, "{spec}");
                assert!(sparse.instances > 0 && !sparse.exhaustive);
            }
        }
    }
    /// A model whose recurrent weights are held sparse saves as dense tensors (written from
    /// the stored entries) and loads back as the same model, dense; one whose dense tensors
    /// would exceed 1 GiB is refused with an `InputError` (exit code 2), before any file is
    /// written or any dense matrix built.
    #[test]
    fn sparse_models_save_dense_or_are_refused_when_too_large() {
        use crate::model::{Model, Nonlinearity, Rnn, SparseMatrix, load};
        let dir = tempfile::tempdir().unwrap();
        let model = index_rnn(40).unwrap();
        let path = dir.path().join("index.safetensors");
        model.save(&path).unwrap();
        let back = load("rnn", &path, &Default::default()).unwrap();
        let Model::Rnn(rnn) = &back else {
            panic!("an RNN")
        };
        assert!(rnn.layers()[0].w_ih.as_dense().is_some() && back == model);
        // 16384² numbers are 2 GiB: refused, whichever matrix is sparse.
        let n = 1 << 14;
        let rotation = || SparseMatrix::from_entries(n, n, (0..n).map(|j| (j, j, 1.0))).unwrap();
        let layer = RecurrentLayer {
            w_ih: SparseMatrix::from_entries(n, 3, [(0, 0, 1.0)])
                .unwrap()
                .into(),
            w_hh: rotation().into(),
            b_ih: None,
            b_hh: None,
        };
        let huge = Model::Rnn(Rnn::new(vec![layer], Nonlinearity::Relu, None).unwrap());
        let path = dir.path().join("huge.safetensors");
        let err = huge.save(&path).unwrap_err();
        let input = err.downcast_ref::<InputError>().expect("an InputError");
        assert!(
            input.message.contains("about 2048.4 MiB")
                && input.message.contains("limit 1024 MiB = 1 GiB")
                && input.message.contains(&format!("{n}×{n}")),
            "{input}"
        );
        assert!(!path.exists());
        // One tensor alone over the limit is refused by the writer too.
        let mut w = TensorWriter::new();
        assert!(w.weight("w", &rotation().into()).is_err());
        assert!(w.weight("w", &Weight::from(Matrix::zeros(2, 2))).is_ok());
    }
}
