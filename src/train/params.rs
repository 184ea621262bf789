//! A network's parameters as named candle variables: seeded initialisation, and the
//! safetensors file ccsep's loader reads.
//!
//! Initialisation is reproducible whatever the device does (candle's CPU device cannot be
//! seeded): parameters are drawn in sorted name order from one ChaCha8 stream seeded with the
//! run's seed, so the same seed gives the same weights, bit for bit.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::net::{Init, NetShape, ParamSpec};
use crate::error::InputError;
use crate::model::weights::{TensorWriter, Tensors};

/// The parameters, by name.
pub struct Params {
    vars: BTreeMap<String, Var>,
}

/// A standard normal draw (Box–Muller; two uniforms per draw, so the stream is fixed).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn draw(spec: &ParamSpec, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n: usize = spec.shape.iter().product();
    (0..n)
        .map(|_| match spec.init {
            Init::Uniform(b) => rng.random_range(-b..=b) as f32,
            Init::Normal(s) => (s * normal(rng)) as f32,
            Init::Constant(c) => c as f32,
            Init::Range(lo, hi) => rng.random_range(lo..=hi) as f32,
        })
        .collect()
}

/// Converts a candle error (a bug or an exhausted allocation here, not bad input) to text.
pub fn cerr(e: candle_core::Error) -> anyhow::Error {
    anyhow::anyhow!("candle: {e}")
}

impl Params {
    /// Fresh parameters for `shape`, drawn from `seed`.
    pub fn init(shape: &NetShape, seed: u64) -> anyhow::Result<Self> {
        let mut specs = shape.params();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut vars = BTreeMap::new();
        for s in &specs {
            let data = draw(s, &mut rng);
            let t = Tensor::from_vec(data, s.shape.as_slice(), &Device::Cpu).map_err(cerr)?;
            vars.insert(s.name.clone(), Var::from_tensor(&t).map_err(cerr)?);
        }
        Ok(Params { vars })
    }

    /// Parameters read back from a file this module wrote (to resume a run); every tensor of
    /// `shape` must be there with its shape.
    pub fn from_tensors(shape: &NetShape, t: &Tensors) -> Result<Self, InputError> {
        let mut vars = BTreeMap::new();
        for s in shape.params() {
            let data: Vec<f32> = t
                .get(&s.name, &s.shape)?
                .iter()
                .map(|&v| v as f32)
                .collect();
            let var = Tensor::from_vec(data, s.shape.as_slice(), &Device::Cpu)
                .and_then(|t| Var::from_tensor(&t))
                .map_err(|e| InputError::new(format!("could not rebuild '{}': {e}", s.name)))?;
            vars.insert(s.name, var);
        }
        Ok(Params { vars })
    }

    /// The parameter `name` as a tensor in the graph (a bug if absent: names come from the shape).
    pub fn get(&self, name: &str) -> Tensor {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("parameter {name} is not defined"))
            .as_tensor()
            .clone()
    }

    /// Every parameter, in name order.
    pub fn vars(&self) -> impl Iterator<Item = (&String, &Var)> {
        self.vars.iter()
    }

    /// A parameter's values.
    pub fn values(&self, name: &str) -> anyhow::Result<Vec<f32>> {
        self.get(name)
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .map_err(cerr)
    }

    /// Adds every parameter to `w` (as `F64`, exactly the `f32` values).
    pub fn write_into(&self, w: &mut TensorWriter, prefix: &str) -> anyhow::Result<()> {
        for (name, var) in &self.vars {
            let t = var.as_tensor();
            let data: Vec<f64> = t
                .flatten_all()
                .and_then(|t| t.to_dtype(DType::F64))
                .and_then(|t| t.to_vec1())
                .map_err(cerr)?;
            w.tensor(format!("{prefix}{name}"), t.dims().to_vec(), &data);
        }
        Ok(())
    }
}
