//! Reading and writing model weights in safetensors.
//!
//! `Tensors` holds every tensor of a file as `f64` (from `F64`, `F32`, `F16` or `BF16`, all
//! exactly) with its shape, and the file's string metadata. Each architecture asks it for the
//! tensors it needs by name and shape; a missing tensor or a wrong shape is an `InputError` that
//! names the tensor, the file, and both shapes. `TensorWriter` writes `F64` tensors (so nothing is
//! lost) and the metadata `ccsep.*` keys that carry what shapes alone cannot (heads, activation,
//! positional code, …). The names each architecture uses are documented in its module.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use super::linear::{Linear, Matrix, Weight};
use crate::error::InputError;

/// Most bytes of dense tensors a model whose recurrent weights are held sparse may write
/// (`TensorWriter::weight`, `Stack::save`): 1 GiB. A file holds every matrix dense, so a sparse
/// model of width `N` writes about `16·N²` bytes (`N = 4096` fits; `N = 8192` does not).
pub const MAX_DENSE_SAVE_BYTES: u128 = 1 << 30;

/// Bytes in a MiB, for messages.
pub(crate) const MIB: f64 = (1u64 << 20) as f64;

/// A tensor: shape and values (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// All tensors of one safetensors file, converted to `f64`.
#[derive(Clone, Debug)]
pub struct Tensors {
    path: PathBuf,
    tensors: BTreeMap<String, Tensor>,
    metadata: HashMap<String, String>,
}

fn shape_str(shape: &[usize]) -> String {
    format!("{shape:?}")
}

impl Tensors {
    /// Reads a file. Unreadable files, malformed headers and unsupported dtypes are input errors.
    pub fn read(path: &Path) -> Result<Self, InputError> {
        let bytes = std::fs::read(path).map_err(|e| {
            InputError::new(format!(
                "could not read weights file '{}': {e}",
                path.display()
            ))
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses the bytes of a safetensors file (`path` only names it in messages).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, InputError> {
        let bad = |e: &dyn std::fmt::Display| {
            InputError::new(format!(
                "'{}' is not a valid safetensors file: {e}",
                path.display()
            ))
        };
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(&e))?;
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(&e))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let mut tensors = BTreeMap::new();
        for (name, view) in st.iter() {
            let raw = view.data();
            let data: Vec<f64> = match view.dtype() {
                Dtype::F64 => raw
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
                Dtype::F32 => raw
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
                    .collect(),
                Dtype::F16 => raw
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64())
                    .collect(),
                Dtype::BF16 => raw
                    .chunks_exact(2)
                    .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f64())
                    .collect(),
                other => {
                    return Err(InputError::new(format!(
                        "tensor '{name}' in '{}' has dtype {other:?}; ccsep reads F64, F32, F16 and BF16",
                        path.display()
                    )));
                }
            };
            tensors.insert(
                name.to_string(),
                Tensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(Tensors {
            path: path.to_path_buf(),
            tensors,
            metadata,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// The tensor `name`, which must have exactly `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&[f64], InputError> {
        match self.tensors.get(name) {
            None => Err(InputError::new(format!(
                "tensor '{name}' (expected shape {}) is missing from '{}'",
                shape_str(shape),
                self.path.display()
            ))),
            Some(t) if t.shape != shape => Err(self.wrong_shape(name, shape, &t.shape)),
            Some(t) => Ok(&t.data),
        }
    }

    /// The tensor `name` if present (it must then have `shape`).
    pub fn get_opt(&self, name: &str, shape: &[usize]) -> Result<Option<Vec<f64>>, InputError> {
        if self.contains(name) {
            self.get(name, shape).map(|d| Some(d.to_vec()))
        } else {
            Ok(None)
        }
    }

    pub fn wrong_shape(&self, name: &str, expected: &[usize], found: &[usize]) -> InputError {
        InputError::new(format!(
            "tensor '{name}' in '{}' has shape {}, expected {}",
            self.path.display(),
            shape_str(found),
            shape_str(expected)
        ))
    }

    /// A 2-d tensor of any shape: its `[rows, cols]`.
    pub fn dims2(&self, name: &str) -> Result<(usize, usize), InputError> {
        match self.shape(name) {
            Some([r, c]) => Ok((*r, *c)),
            Some(other) => Err(InputError::new(format!(
                "tensor '{name}' in '{}' has shape {}, expected a matrix [rows, cols]",
                self.path.display(),
                shape_str(other)
            ))),
            None => Err(InputError::new(format!(
                "tensor '{name}' is missing from '{}' (tensors there: {})",
                self.path.display(),
                self.names().collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Matrix, InputError> {
        Matrix::new(rows, cols, self.get(name, &[rows, cols])?.to_vec())
    }

    /// `{name}.weight` of shape `[out, in]` and `{name}.bias` of shape `[out]` if present.
    pub fn linear(&self, name: &str, input: usize, output: usize) -> Result<Linear, InputError> {
        let w = self.matrix(&format!("{name}.weight"), output, input)?;
        let b = self.get_opt(&format!("{name}.bias"), &[output])?;
        Linear::new(w, b)
    }

    /// Like `linear`, `None` if `{name}.weight` is absent; the input size must be `input`, the
    /// output size is read from the tensor.
    pub fn linear_opt(&self, name: &str, input: usize) -> Result<Option<Linear>, InputError> {
        let wname = format!("{name}.weight");
        if !self.contains(&wname) {
            return Ok(None);
        }
        let (out, _) = self.dims2(&wname)?;
        self.linear(name, input, out).map(Some)
    }

    /// A metadata value parsed, or `None` if absent.
    pub fn meta_parse<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, InputError> {
        match self.meta(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                InputError::new(format!(
                    "metadata '{key}' = {v:?} in '{}' is not valid",
                    self.path.display()
                ))
            }),
        }
    }
}

/// Tensors and metadata to be written as one safetensors file (`F64`).
#[derive(Default)]
pub struct TensorWriter {
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
    metadata: HashMap<String, String>,
}

impl TensorWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn tensor(&mut self, name: impl Into<String>, shape: Vec<usize>, data: &[f64]) {
        let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.tensors.push((name.into(), shape, bytes));
    }

    pub fn matrix(&mut self, name: impl Into<String>, m: &Matrix) {
        self.tensor(name, vec![m.rows(), m.cols()], m.data());
    }

    /// A recurrent weight as a dense `[rows, cols]` tensor; a sparse one is written dense
    /// (zero bytes, then its stored entries) without building the dense `f64` matrix, and is
    /// refused when that tensor alone would exceed [`MAX_DENSE_SAVE_BYTES`] (`Stack::save`
    /// bounds all of a model's together).
    pub fn weight(&mut self, name: impl Into<String>, w: &Weight) -> Result<(), InputError> {
        match w {
            Weight::Dense(m) => self.matrix(name, m),
            Weight::Sparse(m) => {
                let name = name.into();
                if m.dense_bytes() > MAX_DENSE_SAVE_BYTES {
                    return Err(InputError::new(format!(
                        "tensor '{name}' is held sparse but is written dense: {}×{} numbers, \
                         about {:.1} MiB (limit {:.0} MiB = 1 GiB); save a smaller model",
                        m.rows(),
                        m.cols(),
                        m.dense_bytes() as f64 / MIB,
                        MAX_DENSE_SAVE_BYTES as f64 / MIB
                    )));
                }
                let cols = m.cols();
                let mut bytes = vec![0u8; m.rows() * cols * 8];
                for r in 0..m.rows() {
                    for (c, v) in m.row_entries(r) {
                        let at = (r * cols + c) * 8;
                        bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
                    }
                }
                self.tensors.push((name, vec![m.rows(), cols], bytes));
            }
        }
        Ok(())
    }

    pub fn vector(&mut self, name: impl Into<String>, v: &[f64]) {
        self.tensor(name, vec![v.len()], v);
    }

    pub fn linear(&mut self, name: &str, l: &Linear) {
        self.matrix(format!("{name}.weight"), l.weight());
        if let Some(b) = l.bias() {
            self.vector(format!("{name}.bias"), b);
        }
    }

    pub fn meta(&mut self, key: &str, value: impl ToString) {
        self.metadata.insert(key.to_string(), value.to_string());
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let views = self
            .tensors
            .iter()
            .map(|(n, s, d)| {
                Ok((
                    n.clone(),
                    safetensors::tensor::TensorView::new(Dtype::F64, s.clone(), d)?,
                ))
            })
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
        Ok(safetensors::serialize(views, Some(self.metadata.clone()))?)
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes)
            .with_context(|| format!("could not write weights file '{}'", path.display()))
    }
}
