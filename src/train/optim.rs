//! Adam and AdamW with their moments in the open (so a checkpoint can hold them), global-norm
//! gradient clipping, and the learning-rate schedule.
//!
//! candle-nn's `AdamW` keeps its moments private and has no clipping; a run that resumes from a
//! checkpoint must continue exactly where it stopped, so the update is written here with candle
//! tensor ops: `m = β₁m + (1−β₁)g`, `v = β₂v + (1−β₂)g²`, `θ -= lr · m̂ / (√v̂ + ε)` with bias
//! correction; Adam adds `λθ` to `g` first, AdamW multiplies `θ` by `1 − lr·λ` first.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use super::config::{Decay, OptimizerKind};
use super::params::{Params, cerr};

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

/// The optimiser's state.
pub struct Adam {
    kind: OptimizerKind,
    weight_decay: f64,
    /// Steps taken.
    pub t: u64,
    /// First and second moments, by parameter name.
    pub moments: BTreeMap<String, (Tensor, Tensor)>,
}

impl Adam {
    pub fn new(kind: OptimizerKind, weight_decay: f64, params: &Params) -> anyhow::Result<Self> {
        let mut moments = BTreeMap::new();
        for (name, var) in params.vars() {
            let z = var.as_tensor().zeros_like().map_err(cerr)?;
            moments.insert(name.clone(), (z.clone(), z));
        }
        Ok(Adam {
            kind,
            weight_decay,
            t: 0,
            moments,
        })
    }

    /// One update at learning rate `lr` with the gradients in `grads` (already clipped).
    pub fn step(
        &mut self,
        params: &Params,
        grads: &BTreeMap<String, Tensor>,
        lr: f64,
    ) -> anyhow::Result<()> {
        self.t += 1;
        let c1 = 1.0 - BETA1.powi(self.t as i32);
        let c2 = 1.0 - BETA2.powi(self.t as i32);
        for (name, var) in params.vars() {
            let Some(g) = grads.get(name) else { continue };
            let theta = var.as_tensor();
            let update = |var: &Var, m: &mut Tensor, v: &mut Tensor| -> candle_core::Result<()> {
                let g = match self.kind {
                    OptimizerKind::Adam if self.weight_decay > 0.0 => {
                        (g + (theta * self.weight_decay)?)?
                    }
                    _ => g.clone(),
                };
                *m = ((&*m * BETA1)? + (&g * (1.0 - BETA1))?)?;
                *v = ((&*v * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
                let mhat = (&*m / c1)?;
                let vhat = (&*v / c2)?;
                let step = (mhat / (vhat.sqrt()? + EPS)?)?;
                let decayed = match self.kind {
                    OptimizerKind::Adamw if self.weight_decay > 0.0 => {
                        (theta * (1.0 - lr * self.weight_decay))?
                    }
                    _ => theta.clone(),
                };
                var.set(&(decayed - (step * lr)?)?)
            };
            let (m, v) = self.moments.get_mut(name).expect("a moment per parameter");
            update(var, m, v).map_err(cerr)?;
        }
        Ok(())
    }
}

/// The gradients of every parameter by name (a parameter the loss does not reach is absent),
/// scaled so that their global L2 norm is at most `clip` (0: unclipped); and the norm before.
pub fn gradients(
    params: &Params,
    store: &GradStore,
    clip: f64,
) -> anyhow::Result<(BTreeMap<String, Tensor>, f64)> {
    let mut grads = BTreeMap::new();
    let mut sq = 0.0f64;
    for (name, var) in params.vars() {
        if let Some(g) = store.get(var.as_tensor()) {
            sq += f64::from(
                g.sqr()
                    .and_then(|s| s.sum_all())
                    .and_then(|s| s.to_scalar::<f32>())
                    .map_err(cerr)?,
            );
            grads.insert(name.clone(), g.clone());
        }
    }
    let norm = sq.sqrt();
    if clip > 0.0 && norm > clip {
        let s = clip / norm;
        for g in grads.values_mut() {
            *g = (&*g * s).map_err(cerr)?;
        }
    }
    Ok((grads, norm))
}

/// The learning rate at step `t` (0-based) of `steps`: linear warm-up over `warmup` steps to
/// `lr`, then `decay` to 0 at the last step.
pub fn learning_rate(lr: f64, t: u64, steps: u64, warmup: u64, decay: Decay) -> f64 {
    if t < warmup {
        return lr * (t + 1) as f64 / warmup as f64;
    }
    let span = steps.saturating_sub(warmup).max(1) as f64;
    let frac = ((t - warmup) as f64 / span).min(1.0);
    match decay {
        Decay::None => lr,
        Decay::Linear => lr * (1.0 - frac),
        Decay::Cosine => lr * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()),
    }
}
