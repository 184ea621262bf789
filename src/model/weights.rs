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

/// Most numbers (elements of all tensors together) a weights file may declare to be loaded:
/// 2^28, 2 GiB as `f64`: twice what [`MAX_DENSE_SAVE_BYTES`] lets a model save.
pub const MAX_LOAD_NUMBERS: u128 = 1 << 28;

/// The safetensors format's limit on its JSON header.
const MAX_HEADER_BYTES: u64 = 100_000_000;

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
    /// The tensors whose values were read (`get`), so a loader can tell what it left out.
    read: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

fn shape_str(shape: &[usize]) -> String {
    format!("{shape:?}")
}

impl Tensors {
    /// Reads a file. Unreadable files, malformed headers and unsupported dtypes are input errors.
    ///
    /// The file is read as its header declares, not to its end: the 8-byte header length (at
    /// most the format's 100 MB), the header, then exactly the tensor bytes it declares, refused
    /// first if they hold more than [`MAX_LOAD_NUMBERS`] numbers. So `/dev/zero`, `/dev/urandom`
    /// or an endless pipe is refused after a few bytes, and a truncated file or one with bytes
    /// past its tensors says which.
    pub fn read(path: &Path) -> Result<Self, InputError> {
        Self::read_from(crate::input::open(path, "weights file")?, path)
    }

    /// [`Tensors::read`] from a stream (`path` only names it in messages).
    pub fn read_from(mut file: impl std::io::Read, path: &Path) -> Result<Self, InputError> {
        use std::io::Read;
        let bad = |why: String| {
            InputError::new(format!(
                "'{}' is not a valid safetensors file: {why}",
                path.display()
            ))
        };
        let io = |e: std::io::Error| {
            InputError::new(format!(
                "could not read weights file '{}': {e}",
                path.display()
            ))
        };
        // Reads up to `n` more bytes onto `bytes`; how many came.
        let mut take = |bytes: &mut Vec<u8>, n: u64| -> Result<u64, InputError> {
            (&mut file)
                .take(n)
                .read_to_end(bytes)
                .map_err(io)
                .map(|k| k as u64)
        };
        let mut bytes = Vec::new();
        if take(&mut bytes, 8)? < 8 {
            return Err(bad(format!(
                "it is {} bytes long, shorter than the 8-byte header length that starts one",
                bytes.len()
            )));
        }
        let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        if n > MAX_HEADER_BYTES {
            return Err(bad(format!(
                "its first 8 bytes declare a header of {n} bytes, more than the format allows ({MAX_HEADER_BYTES})"
            )));
        }
        let got = take(&mut bytes, n)?;
        if got < n {
            return Err(bad(format!(
                "it ends {got} bytes into its header of {n} bytes: the file is truncated (copy or save it again)"
            )));
        }
        let header: safetensors::tensor::Metadata = serde_json::from_slice(&bytes[8..])
            .map_err(|e| bad(format!("its header is not valid: {e}")))?;
        let numbers = header.tensors().values().try_fold(0u128, |acc, info| {
            info.shape
                .iter()
                .try_fold(1u128, |p, &d| p.checked_mul(d as u128))
                .and_then(|k| acc.checked_add(k))
        });
        if numbers.is_none_or(|k| k > MAX_LOAD_NUMBERS) {
            return Err(InputError::new(format!(
                "'{}' declares {} numbers in its tensors, more than ccsep loads ({MAX_LOAD_NUMBERS}, {:.0} MiB as f64); use a smaller model",
                path.display(),
                numbers.map_or_else(|| "more than 2^128".to_string(), |k| k.to_string()),
                (MAX_LOAD_NUMBERS * 8) as f64 / MIB
            )));
        }
        let data = header.data_len() as u64;
        // One byte past the declared end tells a file with trailing bytes.
        let got = take(&mut bytes, data + 1)?;
        if got < data {
            return Err(bad(format!(
                "its header declares {data} bytes of tensor data but the file ends after {got}: the file is truncated (copy or save it again)"
            )));
        }
        if got > data {
            return Err(bad(format!(
                "it has bytes past the {data} bytes of tensor data its header declares (two files joined, or a damaged copy?)"
            )));
        }
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
            // A NaN or infinite weight is a damaged or mis-exported file: every output it reaches
            // is NaN or saturated, which a run would only report as a count.
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                return Err(InputError::new(format!(
                    "tensor '{name}' in '{}' holds {} at flat index {i} (shape {}); weights must be finite numbers: check how the file was exported",
                    path.display(),
                    data[i],
                    shape_str(view.shape())
                )));
            }
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
            read: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Every tensor with its shape, for messages: `a [2, 3], b [4]`.
    pub fn listing(&self) -> String {
        self.tensors
            .iter()
            .map(|(n, t)| format!("{n} {}", shape_str(&t.shape)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Starts counting reads afresh (before a model is built from these tensors).
    pub fn forget_reads(&self) {
        self.read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The tensors whose values were not read since [`Tensors::forget_reads`], in name order.
    pub fn unread(&self) -> Vec<String> {
        let read = self
            .read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.names()
            .filter(|n| !read.contains(*n))
            .map(str::to_string)
            .collect()
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
            Some(t) => {
                self.read
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(name.to_string());
                Ok(&t.data)
            }
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
                self.listing()
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
        let bytes = safetensors::serialize(views, Some(self.metadata.clone()))?;
        Ok(with_sorted_header(bytes))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes)
            .with_context(|| format!("could not write weights file '{}'", path.display()))
    }
}

/// `bytes` (a safetensors file) with its JSON header's keys in sorted order. `safetensors` writes
/// the metadata from a `HashMap`, whose order changes from run to run; sorted, the same model
/// gives the same file. The sorted header has the same content and so the same length (serde_json
/// writes both compactly, and `Value`'s map is ordered by key), and the padding after it is kept;
/// a header that does not parse back to the same length is left as it was.
fn with_sorted_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    else {
        return bytes;
    };
    let Some(header) = bytes.get(8..8 + len) else {
        return bytes;
    };
    let text = header.trim_ascii_end();
    let sorted = serde_json::from_slice::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok());
    if let Some(sorted) = sorted.filter(|s| s.len() == text.len()) {
        bytes[8..8 + sorted.len()].copy_from_slice(&sorted);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn small_file() -> Vec<u8> {
        let mut w = TensorWriter::new();
        w.tensor("a", vec![2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        w.meta("ccsep.arch", "rnn");
        w.to_bytes().unwrap()
    }

    fn read(bytes: impl Read) -> Result<Tensors, String> {
        Tensors::read_from(bytes, Path::new("w.safetensors")).map_err(|e| e.message)
    }

    /// Each writer's metadata map has its own random order; the files are the same bytes, and
    /// they read back.
    #[test]
    fn the_same_tensors_and_metadata_give_the_same_bytes() {
        let file = || {
            let mut w = TensorWriter::new();
            w.tensor("b", vec![2], &[1.0, 2.0]);
            w.tensor("a", vec![1], &[3.0]);
            for k in 0..12 {
                w.meta(&format!("ccsep.key{k}"), k * 7);
            }
            w.to_bytes().unwrap()
        };
        let first = file();
        for _ in 0..8 {
            assert_eq!(file(), first);
        }
        let t = read(&first[..]).unwrap();
        assert_eq!(t.meta("ccsep.key3"), Some("21"));
        assert_eq!(t.get("b", &[2]).unwrap(), &[1.0, 2.0]);
    }

    #[test]
    fn a_whole_file_reads_as_written() {
        let t = read(&small_file()[..]).unwrap();
        assert_eq!(
            t.get("a", &[2, 3]).unwrap(),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(t.meta("ccsep.arch"), Some("rnn"));
    }

    #[test]
    fn endless_streams_stop_after_the_declared_bytes() {
        // /dev/zero: a header of length 0, which is no header.
        let e = read(std::io::repeat(0)).unwrap_err();
        assert!(e.contains("header is not valid"), "{e}");
        // /dev/urandom-like: a header length far past the format's limit.
        let e = read(std::io::repeat(0xff)).unwrap_err();
        assert!(e.contains("more than the format allows"), "{e}");
        // A valid file followed by endless bytes.
        let e = read((&small_file()[..]).chain(std::io::repeat(0))).unwrap_err();
        assert!(e.contains("bytes past"), "{e}");
    }

    #[test]
    fn non_finite_weights_are_refused_by_name_and_index() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut w = TensorWriter::new();
            w.tensor("ok", vec![1], &[0.5]);
            w.tensor("layer.weight", vec![2, 2], &[1.0, 2.0, bad, 4.0]);
            let e = read(&w.to_bytes().unwrap()[..]).unwrap_err();
            assert!(e.contains("'layer.weight'") && e.contains("index 2"), "{e}");
            assert!(e.contains("finite"), "{e}");
        }
        // In half precision too.
        let raw = half::f16::NAN.to_le_bytes();
        let header = br#"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&raw);
        assert!(read(&bytes[..]).unwrap_err().contains("'h'"));
    }

    #[test]
    fn truncated_files_say_so() {
        let bytes = small_file();
        for cut in [0, 5, 12, bytes.len() - 1] {
            let e = read(&bytes[..cut]).unwrap_err();
            assert!(
                e.contains("truncated") || e.contains("shorter"),
                "{cut}: {e}"
            );
        }
    }

    #[test]
    fn huge_declared_shapes_are_refused_before_their_data_is_read() {
        // Consistent offsets for 2^29 F64 numbers (4 GiB), and no data behind them: refused on
        // the declaration, without reading (or allocating) the 4 GiB.
        let header =
            br#"{"a":{"dtype":"F64","shape":[32768,16384],"data_offsets":[0,4294967296]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        let e = read(&bytes[..]).unwrap_err();
        assert!(
            e.contains("536870912 numbers") && e.contains("smaller model"),
            "{e}"
        );
        let header = br#"{"a":{"dtype":"F64","shape":[4611686018427387904,4611686018427387904,16],"data_offsets":[0,0]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        assert!(read(&bytes[..]).is_err());
    }
}
