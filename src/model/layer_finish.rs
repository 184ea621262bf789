//! What a Transformer computes at a position once its attention output `u` is known, written
//! once: the output projection and residual `X += W_o u + b_o`, the MLP with its layer norm
//! `X += W_2 act(W_1 LN2(X) + b_1) + b_2` (ReLU or GELU; post-LN: `LN1`, `LN2` after each
//! residual add instead), and after the last layer the final layer norm and
//! the head (`hidden = LN_f(X)`, `output = head(hidden)`).
//!
//! The forward pass (`Transformer::forward_lanes`), the continuations of a cached prefix
//! (`Transformer::last_outputs`), the last-position fast path (`last_position`) and the Thm 4
//! protocol (`protocol::transformer`) all call these functions, so they perform the same
//! operations in the same order, and give the same bits, by construction. Rounding is as the
//! `transformer` module documents.

use super::kernel::Arith;
use super::linear::buf;
use super::transformer::{Block, LayerNorm, Transformer, layer_norm};
use crate::numeric::Stats;

/// Scratch buffers for [`Transformer::finish_layer`] and [`Transformer::final_hidden`], grown
/// on first use and reused.
#[derive(Default)]
pub(crate) struct FinishBufs {
    /// The output projection's and the MLP's update of the residual stream.
    update: Vec<f64>,
    /// `LN2(X)`.
    normed: Vec<f64>,
    /// The MLP's hidden layer.
    hidden: Vec<f64>,
    /// The layer norm's per-lane numbers.
    small: Vec<f64>,
}

/// `x = LN(x)` in place (post-LN), through the buffers `(normed, small)`.
fn renorm(
    ar: &Arith,
    n: &LayerNorm,
    x: &mut [f64],
    (normed, small): (&mut Vec<f64>, &mut Vec<f64>),
    stats: &mut Stats,
) {
    let l = x.len() / n.weight.len();
    let a = buf(normed, x.len());
    layer_norm(ar, n, x, l, a, buf(small, l), stats);
    x.copy_from_slice(a);
}

impl Transformer {
    /// The rest of layer `blk` after attention, in place on the residual stream `x`
    /// (`d_model · L` numbers, lane layout) from the attention output `u` (`H·d_v · L`):
    /// `x = round(x + round(W_o u + b_o))`, then, with an MLP,
    /// `x = round(x + W_2 round(act(W_1 LN2(x) + b_1)) + b_2)` (pre-LN). Post-LN
    /// (`norm_first` off): `x = LN1(round(x + round(W_o u + b_o)))`, then with an MLP
    /// `x = LN2(round(x + W_2 round(act(W_1 x + b_1)) + b_2))`.
    pub(crate) fn finish_layer(
        &self,
        ar: &Arith,
        blk: &Block,
        u: &[f64],
        x: &mut [f64],
        bufs: &mut FinishBufs,
        stats: &mut Stats,
    ) {
        let d = self.d_model();
        let l = x.len() / d;
        let FinishBufs {
            update,
            normed,
            hidden,
            small,
        } = bufs;
        let post = !self.norm_first();
        let o = buf(update, d * l);
        blk.o.apply(ar, u, l, o, stats);
        ar.add(x, o, stats);
        if let (true, Some(n)) = (post, &blk.ln1) {
            renorm(ar, n, x, (normed, small), stats);
        }
        if let Some((f1, f2)) = &blk.mlp {
            let hdn = buf(hidden, f1.out_size() * l);
            let inp: &[f64] = match (&blk.ln2, post) {
                (Some(n), false) => {
                    let a = buf(normed, d * l);
                    layer_norm(ar, n, x, l, a, buf(small, l), stats);
                    a
                }
                _ => x,
            };
            f1.apply(ar, inp, l, hdn, stats);
            ar.act(hdn, self.activation().act(), stats);
            f2.apply(ar, hdn, l, o, stats);
            ar.add(x, o, stats);
            if let (true, Some(n)) = (post, &blk.ln2) {
                renorm(ar, n, x, (normed, small), stats);
            }
        }
    }

    /// The hidden vector from the residual stream after the last layer (`d_model · L` numbers):
    /// `LN_f(x)`, or `x` itself without a final layer norm.
    pub(crate) fn final_hidden(
        &self,
        ar: &Arith,
        x: Vec<f64>,
        bufs: &mut FinishBufs,
        stats: &mut Stats,
    ) -> Vec<f64> {
        match self.ln_f() {
            Some(n) => {
                let l = x.len() / self.d_model();
                let mut y = vec![0.0; x.len()];
                layer_norm(ar, n, &x, l, &mut y, buf(&mut bufs.small, l), stats);
                y
            }
            None => x,
        }
    }

    /// The output from the hidden vector (`d_model · L` numbers): `round(W_h hidden + b_h)`, or
    /// the hidden vector itself without a head.
    pub(crate) fn head_output(&self, ar: &Arith, hidden: Vec<f64>, stats: &mut Stats) -> Vec<f64> {
        match self.head() {
            Some(hd) => {
                let l = hidden.len() / self.d_model();
                let mut y = vec![0.0; hd.out_size() * l];
                hd.apply(ar, &hidden, l, &mut y, stats);
                y
            }
            None => hidden,
        }
    }

    /// The output from the residual stream after the last layer: [`Transformer::final_hidden`]
    /// then [`Transformer::head_output`].
    pub(crate) fn final_output(
        &self,
        ar: &Arith,
        x: Vec<f64>,
        bufs: &mut FinishBufs,
        stats: &mut Stats,
    ) -> Vec<f64> {
        let hidden = self.final_hidden(ar, x, bufs, stats);
        self.head_output(ar, hidden, stats)
    }
}
