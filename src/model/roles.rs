//! Which tensors of a state dict are the embedding table, the output head and the positional
//! table: matched by role and shape under the names people give them, any prefix, so that a
//! PyTorch checkpoint loads without renaming.
//!
//! The layers of the architecture are read first (their names are fixed: PyTorch's for the RNN,
//! LSTM, GRU and `nn.TransformerEncoderLayer`, the ccsep scheme for the others) and *claimed*.
//! Among the 2-d `*.weight` tensors left over, a role takes:
//! 1. the module the load options name (`--names embedding=enc.tok,head=cls`; `none`: the model
//!    has no such stage), which must have the role's shape;
//! 2. else the one whose module's last name is one of the role's usual names
//!    ([`EMBEDDING_NAMES`], [`HEAD_NAMES`], [`POS_NAMES`]); such a tensor of the wrong shape is
//!    an error that says which shape was expected;
//! 3. else (embedding and head only) the one tensor with no usual name whose shape fits the
//!    role and no other role still looked for (a positional table included): an embedding
//!    `[V, E]` (no bias) with `E` the numbers the first layer reads, a head `[O, H]` with `H`
//!    the hidden size.
//!
//! Two candidates for one role, or one tensor that fits two roles, is an error that lists them
//! and asks for `--names`. A role nothing matches is absent.

use std::collections::BTreeSet;

use super::Embedding;
use super::linear::Linear;
use super::weights::Tensors;
use crate::error::{InputError, Setting};

/// The usual names of an embedding table's module (`nn.Embedding`).
pub const EMBEDDING_NAMES: [&str; 10] = [
    "embedding",
    "embeddings",
    "embed",
    "emb",
    "tok_emb",
    "token_embedding",
    "tok_embeddings",
    "word_embeddings",
    "encoder",
    "wte",
];

/// The usual names of an output head's module (`nn.Linear`).
pub const HEAD_NAMES: [&str; 9] = [
    "head",
    "fc",
    "out",
    "output",
    "linear",
    "classifier",
    "decoder",
    "lm_head",
    "proj",
];

/// The usual names of a learned positional table's module (`nn.Embedding(max_len, d)`).
pub const POS_NAMES: [&str; 8] = [
    "pos",
    "pos_emb",
    "pos_embed",
    "pos_embedding",
    "position_embedding",
    "position_embeddings",
    "pos_encoder",
    "wpe",
];

/// A stage found by role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Embedding,
    Head,
    Pos,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Embedding, Role::Head, Role::Pos];

    /// The role's name in `--names`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Embedding => "embedding",
            Role::Head => "head",
            Role::Pos => "pos",
        }
    }

    fn usual(self) -> &'static [&'static str] {
        match self {
            Role::Embedding => &EMBEDDING_NAMES,
            Role::Head => &HEAD_NAMES,
            Role::Pos => &POS_NAMES,
        }
    }

    fn shape(self, cols: usize) -> String {
        match self {
            Role::Embedding => format!("[V, {cols}] (an embedding table)"),
            Role::Head => format!("[O, {cols}] (an output head)"),
            Role::Pos => format!("[max_len, {cols}] (a positional table)"),
        }
    }

    /// The role whose usual names hold `module`'s last name, if any.
    fn of_module(module: &str) -> Option<Role> {
        let last = module.rsplit('.').next().unwrap_or(module);
        Role::ALL.into_iter().find(|r| r.usual().contains(&last))
    }
}

/// What one role looks for: the columns its weight must have and the module the load options
/// name (`Some("none")`: absent).
pub(crate) struct Want<'a> {
    pub role: Role,
    pub cols: usize,
    pub given: Option<&'a str>,
}

/// The embedding and head found for a recurrent model.
#[derive(Debug, Default)]
pub(crate) struct Stages {
    pub embedding: Option<Embedding>,
    pub head: Option<Linear>,
}

/// Finds modules by role among the tensors not claimed by the architecture's layers.
pub(crate) struct Matcher<'a> {
    t: &'a Tensors,
    claimed: BTreeSet<String>,
}

impl<'a> Matcher<'a> {
    /// A matcher over `t` where the tensors `claimed` says are the layers' are not candidates.
    pub fn new(t: &'a Tensors, claimed: impl Fn(&str) -> bool) -> Self {
        let claimed = t.names().filter(|n| claimed(n)).map(String::from).collect();
        Matcher { t, claimed }
    }

    /// The unclaimed 2-d weights: `(module, rows, cols, has bias)`.
    fn leftover(&self) -> Vec<(String, usize, usize, bool)> {
        self.t
            .names()
            .filter(|n| !self.claimed.contains(*n))
            .filter_map(|n| {
                let module = n.strip_suffix(".weight")?;
                match self.t.shape(n)? {
                    [r, c] => Some((
                        module.to_string(),
                        *r,
                        *c,
                        self.t.contains(&format!("{module}.bias")),
                    )),
                    _ => None,
                }
            })
            .collect()
    }

    fn claim(&mut self, module: &str) {
        self.claimed.insert(format!("{module}.weight"));
        self.claimed.insert(format!("{module}.bias"));
    }

    fn fits(want: &Want, cols: usize, bias: bool) -> bool {
        cols == want.cols && !(want.role == Role::Embedding && bias)
    }

    fn ambiguous(&self, role: Role, found: &[String]) -> InputError {
        InputError::new(format!(
            "'{}' has several tensors that could be the {} ({}); name the one to use with {} {}=MODULE (or {}=none)",
            self.t.path().display(),
            role.name(),
            found
                .iter()
                .map(|m| format!(
                    "'{m}.weight' {:?}",
                    self.t.shape(&format!("{m}.weight")).unwrap_or(&[])
                ))
                .collect::<Vec<_>>()
                .join(", "),
            Setting::Names,
            role.name(),
            role.name()
        ))
    }

    /// The module of each role of `wants` (`None`: absent), in their order.
    pub fn find(&mut self, wants: &[Want]) -> Result<Vec<Option<String>>, InputError> {
        let mut found: Vec<Option<String>> = vec![None; wants.len()];
        let mut open = vec![true; wants.len()];
        // 1. Named by the options.
        for (i, w) in wants.iter().enumerate() {
            let Some(given) = w.given else { continue };
            open[i] = false;
            if given == "none" {
                continue;
            }
            let module = given.strip_suffix(".weight").unwrap_or(given);
            let name = format!("{module}.weight");
            match self.t.shape(&name) {
                Some([_, c]) if *c == w.cols => {}
                Some(shape) => {
                    return Err(InputError::new(format!(
                        "tensor '{name}' in '{}' has shape {shape:?}; as the {} ({} {}={given}) it needs shape {}",
                        self.t.path().display(),
                        w.role.name(),
                        Setting::Names,
                        w.role.name(),
                        w.role.shape(w.cols)
                    )));
                }
                None => {
                    return Err(InputError::new(format!(
                        "{} {}={given}: '{}' has no tensor '{name}'; tensors there: {}",
                        Setting::Names,
                        w.role.name(),
                        self.t.path().display(),
                        self.t.listing()
                    )));
                }
            }
            self.claim(module);
            found[i] = Some(module.to_string());
        }
        // 2. Under a usual name.
        for (i, w) in wants.iter().enumerate() {
            if !open[i] {
                continue;
            }
            let named: Vec<(String, usize, usize, bool)> = self
                .leftover()
                .into_iter()
                .filter(|(m, ..)| Role::of_module(m) == Some(w.role))
                .collect();
            match named.as_slice() {
                [] => continue,
                [(m, r, c, bias)] => {
                    if !Self::fits(w, *c, *bias) {
                        let why = if *c == w.cols {
                            " and no bias".to_string()
                        } else {
                            String::new()
                        };
                        return Err(InputError::new(format!(
                            "tensor '{m}.weight' in '{}' has shape [{r}, {c}]; as the {} it needs shape {}{why} (name another module with {} {}=MODULE, or {}=none)",
                            self.t.path().display(),
                            w.role.name(),
                            w.role.shape(w.cols),
                            Setting::Names,
                            w.role.name(),
                            w.role.name()
                        )));
                    }
                    let m = m.clone();
                    self.claim(&m);
                    found[i] = Some(m);
                    open[i] = false;
                }
                many => {
                    let ms: Vec<String> = many.iter().map(|x| x.0.clone()).collect();
                    return Err(self.ambiguous(w.role, &ms));
                }
            }
        }
        // 3. By shape alone (not a positional table).
        let left = self.leftover();
        for (i, w) in wants.iter().enumerate() {
            if !open[i] || w.role == Role::Pos {
                continue;
            }
            let fit: Vec<&(String, usize, usize, bool)> = left
                .iter()
                .filter(|(m, _, c, bias)| {
                    Role::of_module(m).is_none()
                        && !self.claimed.contains(&format!("{m}.weight"))
                        && Self::fits(w, *c, *bias)
                })
                .collect();
            match fit.as_slice() {
                [] => {}
                [(m, _, c, bias)] => {
                    // A positional table is never taken by shape, but a tensor that could be one
                    // is not taken for another role either.
                    let other = wants
                        .iter()
                        .enumerate()
                        .find(|(j, o)| *j != i && open[*j] && Self::fits(o, *c, *bias));
                    if let Some((_, o)) = other {
                        return Err(InputError::new(format!(
                            "tensor '{m}.weight' in '{}' could be the {} or the {}; say which with {} {}={m} (or {}={m})",
                            self.t.path().display(),
                            w.role.name(),
                            o.role.name(),
                            Setting::Names,
                            w.role.name(),
                            o.role.name()
                        )));
                    }
                    let m = m.clone();
                    self.claim(&m);
                    found[i] = Some(m);
                    open[i] = false;
                }
                many => {
                    let ms: Vec<String> = many.iter().map(|x| x.0.clone()).collect();
                    return Err(self.ambiguous(w.role, &ms));
                }
            }
        }
        Ok(found)
    }
}

/// The embedding table `[V, E]` of `module` as a stage.
pub(crate) fn embedding(t: &Tensors, module: &str, e: usize) -> Result<Embedding, InputError> {
    let name = format!("{module}.weight");
    let (v, _) = t.dims2(&name)?;
    Embedding::from_table(&t.matrix(&name, v, e)?)
}

/// The head `[O, H]` (with its bias if present) of `module`.
pub(crate) fn head(t: &Tensors, module: &str, h: usize) -> Result<Linear, InputError> {
    let (o, _) = t.dims2(&format!("{module}.weight"))?;
    t.linear(module, h, o)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::weights::TensorWriter;
    use super::super::{Arch, LoadOptions, Model, from_tensors};
    use super::*;

    /// A one-layer LSTM state dict (input `e`, hidden `h`) under `rnn.`, with an embedding
    /// table `[10, e]` named `emb` and a head `[2, h]` named `head` (with a bias).
    fn lstm_dict(e: usize, h: usize, emb: &str, head: &str) -> Tensors {
        let mut w = TensorWriter::new();
        let vals = |n: usize| (0..n).map(|i| (i as f64 * 0.37).sin()).collect::<Vec<_>>();
        w.tensor(format!("{emb}.weight"), vec![10, e], &vals(10 * e));
        w.tensor("rnn.weight_ih_l0", vec![4 * h, e], &vals(4 * h * e));
        w.tensor("rnn.weight_hh_l0", vec![4 * h, h], &vals(4 * h * h));
        w.tensor("rnn.bias_ih_l0", vec![4 * h], &vals(4 * h));
        w.tensor("rnn.bias_hh_l0", vec![4 * h], &vals(4 * h));
        w.tensor(format!("{head}.weight"), vec![2, h], &vals(2 * h));
        w.tensor(format!("{head}.bias"), vec![2], &vals(2));
        Tensors::from_bytes(&w.to_bytes().unwrap(), Path::new("m.safetensors")).unwrap()
    }

    fn load(t: &Tensors, o: &LoadOptions) -> Result<Model, String> {
        from_tensors(Arch::Lstm, t, o).map_err(|e| e.message)
    }

    fn sizes(m: &Model) -> (usize, Option<(usize, usize)>) {
        (m.input_size(), m.embedding().map(|e| (e.vocab(), e.dim())))
    }

    #[test]
    fn usual_names_load_as_embedding_and_head_even_when_e_equals_h() {
        for emb in [
            "embedding",
            "embed",
            "emb",
            "tok_emb",
            "encoder",
            "wte",
            "model.emb",
        ] {
            for head in [
                "head",
                "fc",
                "out",
                "classifier",
                "decoder",
                "lm_head",
                "model.proj",
            ] {
                let m = load(&lstm_dict(8, 8, emb, head), &LoadOptions::default()).unwrap();
                assert_eq!(sizes(&m), (10, Some((10, 8))), "{emb} {head}");
                assert_eq!(m.output_size(), 2, "{emb} {head}");
            }
        }
    }

    #[test]
    fn unusual_names_load_by_shape_when_the_shapes_tell_the_roles_apart() {
        let m = load(&lstm_dict(5, 8, "enc.tok", "cls"), &LoadOptions::default()).unwrap();
        assert_eq!(sizes(&m), (10, Some((10, 5))));
        assert_eq!(m.output_size(), 2);
    }

    #[test]
    fn unusual_names_of_one_shape_need_names_and_then_load() {
        let t = lstm_dict(8, 8, "enc.tok", "cls");
        let e = load(&t, &LoadOptions::default()).unwrap_err();
        assert!(e.contains("could be the embedding or the head"), "{e}");
        assert!(e.contains(&Setting::Names.to_string()), "{e}");
        let o = LoadOptions {
            embedding: Some("enc.tok".into()),
            head: Some("cls".into()),
            ..LoadOptions::default()
        };
        let m = load(&t, &o).unwrap();
        assert_eq!(sizes(&m), (10, Some((10, 8))));
        assert_eq!(m.output_size(), 2);
        // `none` leaves a stage out, and its tensor must then be left out knowingly.
        let o = LoadOptions {
            embedding: Some("none".into()),
            head: Some("cls".into()),
            ..LoadOptions::default()
        };
        assert!(load(&t, &o).unwrap_err().contains("enc.tok.weight [10, 8]"));
        let o = LoadOptions {
            ignore: vec!["enc.tok".into()],
            ..o
        };
        assert_eq!(sizes(&load(&t, &o).unwrap()), (8, None));
    }

    #[test]
    fn a_usual_name_of_the_wrong_shape_says_the_shape_expected() {
        // The head reads 8 numbers; `fc.weight` is `[2, 8]` but the hidden size is 6.
        let mut w = TensorWriter::new();
        w.tensor("rnn.weight_ih_l0", vec![24, 3], &[0.1; 72]);
        w.tensor("rnn.weight_hh_l0", vec![24, 6], &[0.1; 144]);
        w.tensor("fc.weight", vec![2, 8], &[0.1; 16]);
        let t = Tensors::from_bytes(&w.to_bytes().unwrap(), Path::new("m.safetensors")).unwrap();
        let e = load(&t, &LoadOptions::default()).unwrap_err();
        assert!(e.contains("'fc.weight'") && e.contains("[O, 6]"), "{e}");
        // A module the options name that is not there lists what is.
        let o = LoadOptions {
            head: Some("cls".into()),
            ..LoadOptions::default()
        };
        let e = load(&t, &o).unwrap_err();
        assert!(
            e.contains("no tensor 'cls.weight'") && e.contains("fc.weight [2, 8]"),
            "{e}"
        );
    }

    #[test]
    fn two_usual_heads_are_ambiguous() {
        let mut t = lstm_dict(4, 8, "embedding", "fc");
        let mut w = TensorWriter::new();
        for n in t.names() {
            let sh = t.shape(n).unwrap().to_vec();
            let len = sh.iter().product();
            w.tensor(n, sh, &vec![0.5; len]);
        }
        w.tensor("classifier.weight", vec![3, 8], &[0.5; 24]);
        t = Tensors::from_bytes(&w.to_bytes().unwrap(), Path::new("m.safetensors")).unwrap();
        let e = load(&t, &LoadOptions::default()).unwrap_err();
        assert!(
            e.contains("could be the head")
                && e.contains("'fc.weight'")
                && e.contains("'classifier.weight'"),
            "{e}"
        );
    }
}
