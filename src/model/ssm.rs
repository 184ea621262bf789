//! A diagonal linear state-space model: `h_t = a ⊙ h_{t−1} + B x_t`, `y_t = C h_t`.
//!
//! Rounding (see `kernel`): `h_t = round(round(a ⊙ h_{t−1}) + round(B x_t))` (each row of
//! `B x_t` one rounded dot product), `y_t = round(C h_t)`.
//! State: `h` (`N` numbers); the hidden vector is `h`, the output `y` (`C` is the head).
//! Weights (the ccsep scheme; `scripts/export_torch.py` writes it): `ssm.a` `[N]`,
//! `ssm.B` `[N, I]`, `ssm.C` `[O, N]`, possibly under a prefix, and an optional embedding table before `B`
//! (any usual name, see `roles`); metadata `ccsep.arch = ssm`.

use rand_chacha::ChaCha8Rng;

use super::Cell;
use super::embedding::{Embedding, check_embedding};
use super::kernel::Arith;
use super::linear::{Linear, Matrix, Workspace, buf, rounded_vec, uniform_vec};
use super::weights::{TensorWriter, Tensors};
use crate::error::InputError;
use crate::numeric::Stats;

/// A diagonal linear SSM.
#[derive(Clone, Debug, PartialEq)]
pub struct Ssm {
    embedding: Option<Embedding>,
    a: Vec<f64>,
    b: Matrix,
    c: Linear,
}

impl Ssm {
    /// `a` `[N]`, `b` `[N, I]`, `c` `[O, N]`.
    pub fn new(a: Vec<f64>, b: Matrix, c: Matrix) -> Result<Self, InputError> {
        let n = a.len();
        if n == 0 || b.rows() != n || c.cols() != n || b.cols() == 0 || c.rows() == 0 {
            return Err(InputError::new(format!(
                "SSM shapes do not fit: a [{n}], B [{}, {}], C [{}, {}]; need a [N], B [N, I], C [O, N] with N, I, O ≥ 1",
                b.rows(),
                b.cols(),
                c.rows(),
                c.cols()
            )));
        }
        Ok(Ssm {
            embedding: None,
            a,
            b,
            c: Linear::new(c, None)?,
        })
    }

    /// This model with `embedding` before it (its vectors must be the `I` numbers `B` reads);
    /// `None` removes it.
    pub fn with_embedding(mut self, embedding: Option<Embedding>) -> Result<Self, InputError> {
        check_embedding(embedding.as_ref(), self.b.cols())?;
        self.embedding = embedding;
        Ok(self)
    }

    pub fn a(&self) -> &[f64] {
        &self.a
    }

    pub fn b(&self) -> &Matrix {
        &self.b
    }

    pub fn c(&self) -> &Matrix {
        self.c.weight()
    }

    /// Reads `ssm.*` under `prefix`, then the embedding `embedding` finds for the input size.
    pub(crate) fn load(
        t: &Tensors,
        prefix: &str,
        embedding: impl FnOnce(usize) -> Result<Option<Embedding>, InputError>,
    ) -> Result<Self, InputError> {
        let name = |s: &str| format!("{prefix}ssm.{s}");
        let (n, i) = t.dims2(&name("B"))?;
        let (o, _) = t.dims2(&name("C"))?;
        let a = t.get(&name("a"), &[n])?.to_vec();
        Ssm::new(a, t.matrix(&name("B"), n, i)?, t.matrix(&name("C"), o, n)?)?
            .with_embedding(embedding(i)?)
    }

    pub(crate) fn save(&self, w: &mut TensorWriter) {
        w.vector("ssm.a", &self.a);
        w.matrix("ssm.B", &self.b);
        w.matrix("ssm.C", self.c.weight());
    }

    /// `a` uniform in `[0, 1)` (a stable system), `B`, `C` uniform in `±1/√fan_in`.
    pub(crate) fn random(
        input: usize,
        state: usize,
        output: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, InputError> {
        let a = uniform_vec(state, 0.5, rng)
            .iter()
            .map(|x| x + 0.5)
            .collect();
        let b = Matrix::uniform(state, input, 1.0 / (input.max(1) as f64).sqrt(), rng);
        let c = Matrix::uniform(output, state, 1.0 / (state.max(1) as f64).sqrt(), rng);
        Ssm::new(a, b, c)
    }

    pub(crate) fn rounded(&self, ar: &Arith, stats: &mut Stats) -> Self {
        Ssm {
            embedding: self.embedding.as_ref().map(|e| e.rounded(ar, stats)),
            a: rounded_vec(&self.a, ar, stats),
            b: self.b.rounded(ar, stats),
            c: self.c.rounded(ar, stats),
        }
    }
}

impl Cell for Ssm {
    fn core_input_size(&self) -> usize {
        self.b.cols()
    }

    fn embedding(&self) -> Option<&Embedding> {
        self.embedding.as_ref()
    }

    fn hidden_size(&self) -> usize {
        self.a.len()
    }

    fn state_size(&self) -> usize {
        self.a.len()
    }

    fn head(&self) -> Option<&Linear> {
        Some(&self.c)
    }

    fn step_core(
        &self,
        ar: &Arith,
        state: &mut [f64],
        x: &[f64],
        lanes: usize,
        hidden: &mut [f64],
        ws: &mut Workspace,
        stats: &mut Stats,
    ) {
        let bx = buf(&mut ws.a, self.a.len() * lanes);
        self.b.matvec(ar, x, lanes, bx, stats);
        ar.mul_rows(state, &self.a, lanes, stats);
        ar.add(state, bx, stats);
        hidden.copy_from_slice(state);
    }
}
