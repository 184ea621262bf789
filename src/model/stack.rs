//! The layer stack of the Elman RNN, the LSTM and the GRU (`recurrent`): PyTorch's parameters
//! and names.
//!
//! Layer `k` has `weight_ih_l{k}` `[G·H, in_k]`, `weight_hh_l{k}` `[G·H, H]` and optionally
//! `bias_ih_l{k}`, `bias_hh_l{k}` `[G·H]`, where `G` is the number of gates (RNN 1, GRU 3,
//! LSTM 4, stacked in PyTorch's order), `H` the hidden size, `in_0` the input size and
//! `in_k = H` above. These are exactly the names in a `torch.nn.RNN/GRU/LSTM` state dict
//! (possibly under a prefix such as `rnn.`). Bidirectional layers (`_reverse`) and LSTM
//! projections (`weight_hr_l{k}`) are refused.

use rand_chacha::ChaCha8Rng;

use super::kernel::Arith;
use super::linear::{Matrix, Weight, rounded_vec, uniform_vec};
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

    /// `(gi, gh)`: `gi = round(round(W_ih x) + b_ih)` and `gh = round(round(W_hh h) + b_hh)` for
    /// layer `k` from `(x, h)`.
    /// On a prepared stack (`rounded`) the products skip exact zeros (`Matrix::matvec`): a
    /// sparse `W_hh` costs `nnz · L` and a one-hot `x` about `(nonzero columns) · G·H · L`
    /// instead of the dense `G·H · cols · L`, with the same bits; a weight held sparse costs
    /// `nnz · L` (`SparseMatrix::matvec`).
    pub fn pre(
        &self,
        k: usize,
        ar: &Arith,
        (x, h): (&[f64], &[f64]),
        lanes: usize,
        (gi, gh): (&mut [f64], &mut [f64]),
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
            t.listing()
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
                        prepared.pre(k, &ar, (&x, &h), LANES, (&mut gi, &mut gh), &mut st);
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
}
