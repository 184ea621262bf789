//! Sequence tasks: what a model reads, what it must answer, and how examples are drawn.
//!
//! The paper's separations are stated for concrete tasks — index lookup, associative recall,
//! bounded Dyck languages, string equality, disjointness and nearest neighbour. This module gives
//! each task
//! - a **vocabulary** ([`Vocab`]): named tokens (symbols, brackets, the separator `|`, the query
//!   marker `?`, position tokens `@i`), with [`Vocab::one_hot`] as the tokenisation a model reads
//!   (one vector per step; nearest neighbour reads real vectors instead);
//! - an exact **label** of any token sequence (`label`), which is the ground truth every generator,
//!   reduction and model check is compared with;
//! - a **seeded generator** following the paper's distributions (each task's module says which), with its settings
//!   validated when the task is built (`new` returns [`InputError`] for out-of-range values).
//!
//! Determinism: example `i` of a run with seed `s` is drawn from its own ChaCha8 stream
//! ([`example_rng`]), so the same seed gives the same examples whatever the thread count or the
//! order in which examples are generated ([`generate_many`]).
//!
//! [`reduction`] maps instances of the communication problems INDEX / EQ / DISJ to token
//! sequences of these tasks, with the party that owns each position; [`premises`] checks by
//! brute force the facts about tasks that the lower bounds rest on (Lemma 1's bijection, the
//! margin of Thm 8's vectors).

pub mod disjointness;
pub mod dyck;
pub mod equality;
pub mod index_lookup;
pub mod nearest;
pub mod premises;
pub mod recall;
pub mod reduction;

use std::fmt;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{InputError, Setting};

pub use disjointness::Disjointness;
pub use dyck::{Dfa, Dyck};
pub use equality::{EqVariant, Equality};
pub use index_lookup::IndexLookup;
pub use nearest::Nearest;
pub use recall::Recall;
pub use reduction::{Instance, Owner, Reduction, ReductionKind};

/// A token: an index into its task's [`Vocab`].
pub type Token = u32;

/// Largest length parameter any generator accepts (sequence lengths, alphabet sizes): keeps every
/// token id inside `u32` and every allocation bounded.
pub const MAX_LENGTH: usize = 1 << 20;

/// Most examples one call to [`sample`] draws.
pub const MAX_COUNT: usize = 1 << 20;

/// Most tokens (or, for nearest neighbour, numbers) one call to [`sample`] produces, roughly.
pub const MAX_SAMPLE_SIZE: usize = 1 << 26;

/// A task's vocabulary: token `t` is named `names[t]`; names are distinct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    names: Vec<String>,
}

impl Vocab {
    /// Builds a vocabulary. The tasks only build it from distinct names they generate themselves.
    pub(crate) fn new(names: Vec<String>) -> Self {
        debug_assert!(
            {
                let mut sorted: Vec<&String> = names.iter().collect();
                sorted.sort();
                sorted.windows(2).all(|w| w[0] != w[1])
            },
            "vocabulary names must be distinct"
        );
        Vocab { names }
    }

    /// Number of tokens (the one-hot dimension).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the vocabulary has no tokens (never, for a built task).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// All names, indexed by token.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The name of a token, if it is in the vocabulary.
    pub fn name(&self, t: Token) -> Option<&str> {
        self.names.get(t as usize).map(String::as_str)
    }

    /// The token with this name.
    pub fn token(&self, name: &str) -> Option<Token> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| i as Token)
    }

    /// Checks that every token is in the vocabulary.
    pub fn check(&self, tokens: &[Token]) -> Result<(), InputError> {
        match tokens.iter().position(|&t| t as usize >= self.len()) {
            None => Ok(()),
            Some(i) => Err(InputError::new(format!(
                "token {} at position {i} is not in the vocabulary of {} tokens",
                tokens[i],
                self.len()
            ))),
        }
    }

    /// Renders tokens as text: concatenated when every name is one character, else separated by
    /// spaces. Tokens outside the vocabulary render as `<t>`.
    pub fn render(&self, tokens: &[Token]) -> String {
        let single = self.names.iter().all(|n| n.chars().count() == 1);
        let names: Vec<String> = tokens
            .iter()
            .map(|&t| {
                self.name(t)
                    .map_or_else(|| format!("<{t}>"), str::to_string)
            })
            .collect();
        names.join(if single { "" } else { " " })
    }

    /// Parses text written as [`render`](Self::render) writes it: whitespace-separated names, or,
    /// when every name is one character and the text has no whitespace, one token per character.
    pub fn parse(&self, text: &str) -> Result<Vec<Token>, InputError> {
        let single = self.names.iter().all(|n| n.chars().count() == 1);
        let pieces: Vec<String> = if single && !text.contains(char::is_whitespace) {
            text.chars().map(String::from).collect()
        } else {
            text.split_whitespace().map(str::to_string).collect()
        };
        pieces
            .iter()
            .map(|p| {
                self.token(p).ok_or_else(|| {
                    InputError::new(format!(
                        "unknown token {p:?}; the vocabulary is {}",
                        self.names.join(" ")
                    ))
                })
            })
            .collect()
    }

    /// One-hot tokenisation: one vector of length [`len`](Self::len) per token.
    pub fn one_hot(&self, tokens: &[Token]) -> Result<Vec<Vec<f64>>, InputError> {
        self.check(tokens)?;
        Ok(tokens
            .iter()
            .map(|&t| {
                let mut v = vec![0.0; self.len()];
                v[t as usize] = 1.0;
                v
            })
            .collect())
    }

    fn named(&self, t: Token) -> String {
        self.name(t)
            .map_or_else(|| format!("<{t}>"), str::to_string)
    }
}

/// What a model must answer for one sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Label {
    /// A yes/no answer: Dyck membership, equality, disjointness, the nearest point's label bit.
    Bit { value: bool },
    /// One token: the symbol at the queried index, the value of the queried key.
    Symbol { token: Token, name: String },
    /// One token per query (multi-query associative recall), in query order.
    Symbols {
        tokens: Vec<Token>,
        names: Vec<String>,
    },
    /// A target at every position (`None`: no loss there): the copying variant of equality,
    /// trained by next-token prediction.
    NextTokens {
        targets: Vec<Option<Token>>,
        names: Vec<Option<String>>,
    },
}

impl Label {
    pub(crate) fn bit(value: bool) -> Self {
        Label::Bit { value }
    }

    pub(crate) fn symbol(vocab: &Vocab, token: Token) -> Self {
        Label::Symbol {
            token,
            name: vocab.named(token),
        }
    }

    pub(crate) fn symbols(vocab: &Vocab, tokens: Vec<Token>) -> Self {
        let names = tokens.iter().map(|&t| vocab.named(t)).collect();
        Label::Symbols { tokens, names }
    }

    pub(crate) fn next_tokens(vocab: &Vocab, targets: Vec<Option<Token>>) -> Self {
        let names = targets.iter().map(|t| t.map(|t| vocab.named(t))).collect();
        Label::NextTokens { targets, names }
    }

    /// The bit of a [`Label::Bit`].
    pub fn as_bit(&self) -> Option<bool> {
        match self {
            Label::Bit { value } => Some(*value),
            _ => None,
        }
    }
}

impl fmt::Display for Label {
    /// `1`/`0` for a bit, the token's name for a symbol, names separated by spaces for several
    /// symbols, and `_` where a per-position target is absent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Bit { value } => write!(f, "{}", u8::from(*value)),
            Label::Symbol { name, .. } => write!(f, "{name}"),
            Label::Symbols { names, .. } => write!(f, "{}", names.join(" ")),
            Label::NextTokens { names, .. } => {
                let parts: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("_")).collect();
                write!(f, "{}", parts.join(" "))
            }
        }
    }
}

/// One example: a token sequence and its label.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Example {
    /// The task's name (`index`, `recall`, `dyck`, `equality`, `disjointness`, `nearest`).
    pub task: &'static str,
    /// Token ids in the task's vocabulary.
    pub tokens: Vec<Token>,
    /// The tokens rendered with [`Vocab::render`].
    pub text: String,
    /// Nearest neighbour only: the unit vector of each point token, in order (empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<Vec<f64>>,
    pub label: Label,
}

impl Example {
    pub(crate) fn new(task: &'static str, vocab: &Vocab, tokens: Vec<Token>, label: Label) -> Self {
        Example {
            task,
            text: vocab.render(&tokens),
            tokens,
            points: Vec::new(),
            label,
        }
    }
}

impl fmt::Display for Example {
    /// `TOKENS -> LABEL`, e.g. `([])() -> 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.text, self.label)
    }
}

/// A task over discrete tokens.
pub trait Task {
    /// Short name (`index`, `recall`, `dyck`, `equality`, `disjointness`).
    fn name(&self) -> &'static str;
    /// The task's vocabulary.
    fn vocab(&self) -> &Vocab;
    /// Draws one example from the task's distribution.
    fn generate(&self, rng: &mut ChaCha8Rng) -> Example;
    /// The exact label of a sequence; an error when the sequence is not of the task's form.
    fn label(&self, tokens: &[Token]) -> Result<Label, InputError>;
    /// One-hot tokenisation into model inputs: one vector per step, of length `vocab().len()`.
    fn embed_one_hot(&self, tokens: &[Token]) -> Result<Vec<Vec<f64>>, InputError> {
        self.vocab().one_hot(tokens)
    }
}

/// The RNG of example `index` in a run seeded with `seed`: ChaCha8 seeded with `seed`, on stream
/// `index`. Streams are independent, so examples do not depend on generation order or threads.
pub fn example_rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// Examples `start .. start + count` of the run seeded with `seed`, generated in parallel; the
/// result does not depend on the number of threads.
pub fn generate_many(task: &AnyTask, seed: u64, start: u64, count: usize) -> Vec<Example> {
    (0..count as u64)
        .into_par_iter()
        .map(|i| task.generate(&mut example_rng(seed, start + i)))
        .collect()
}

/// Any of the tasks, for code that chooses one at run time.
#[derive(Clone, Debug)]
pub enum AnyTask {
    IndexLookup(IndexLookup),
    Recall(Recall),
    Dyck(Dyck),
    Equality(Equality),
    Disjointness(Disjointness),
    Nearest(Nearest),
}

/// Settings for [`AnyTask::from_name`] beyond the length `n`; `None` takes the default. A setting
/// that the chosen task does not use is an error rather than silently ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskOptions {
    /// Alphabet size |Σ|: index lookup (default 64, as in the paper's experiments) and equality
    /// (default 2).
    pub alphabet: Option<usize>,
    /// Dyck: number of bracket types k (default 2).
    pub types: Option<usize>,
    /// Dyck: depth bound m (default 2).
    pub depth: Option<usize>,
    /// Recall: number of distinct keys in the vocabulary (default n).
    pub keys: Option<usize>,
    /// Recall: number of distinct values (default 64).
    pub values: Option<usize>,
    /// Recall: number of queries (default 1: single-query associative recall).
    pub queries: Option<usize>,
    /// Equality: `random`, `one` or `copy` (default `random`).
    pub variant: Option<EqVariant>,
    /// Nearest neighbour: dimension d of the unit vectors (default 16).
    pub dim: Option<usize>,
    /// Nearest neighbour: margin γ (default 0.1).
    pub margin: Option<f64>,
}

/// Task names [`AnyTask::from_name`] accepts (first of each group is the canonical name).
pub const TASK_NAMES: &[&str] = &[
    "index",
    "recall",
    "dyck",
    "equality",
    "disjointness",
    "nearest",
];

impl AnyTask {
    /// Builds a task by name with length `n`:
    /// - `index` (`index-lookup`): `n` symbols then a query index;
    /// - `recall` (`mqar`, `ar`): `n` key–value pairs then the queries;
    /// - `dyck`: strings of length `n` (even);
    /// - `equality` (`eq`): two strings of `n/2` symbols each (`n` even) around `|`;
    /// - `disjointness` (`disj`): two bit strings of `n/2` bits each (`n` even) around `|`;
    /// - `nearest` (`nstnb`): `n` labelled points then a query point.
    pub fn from_name(name: &str, n: usize, options: &TaskOptions) -> Result<Self, InputError> {
        let canonical = match name.to_ascii_lowercase().as_str() {
            "index" | "index-lookup" | "index_lookup" => "index",
            "recall" | "mqar" | "ar" | "associative-recall" => "recall",
            "dyck" => "dyck",
            "equality" | "eq" => "equality",
            "disjointness" | "disj" => "disjointness",
            "nearest" | "nstnb" | "nearest-neighbour" | "nearest-neighbor" => "nearest",
            other => {
                return Err(InputError::new(format!(
                    "unknown task {other:?}: choose one of {}",
                    TASK_NAMES.join(", ")
                )));
            }
        };
        let used: &[&str] = match canonical {
            "index" => &["alphabet"],
            "recall" => &["keys", "values", "queries"],
            "dyck" => &["types", "depth"],
            "equality" => &["alphabet", "variant"],
            "nearest" => &["dim", "margin"],
            _ => &[],
        };
        let given = [
            ("alphabet", options.alphabet.is_some()),
            ("types", options.types.is_some()),
            ("depth", options.depth.is_some()),
            ("keys", options.keys.is_some()),
            ("values", options.values.is_some()),
            ("queries", options.queries.is_some()),
            ("variant", options.variant.is_some()),
            ("dim", options.dim.is_some()),
            ("margin", options.margin.is_some()),
        ];
        if let Some((opt, _)) = given.iter().find(|(o, g)| *g && !used.contains(o)) {
            return Err(InputError::new(format!(
                "--{opt} does not apply to task {canonical} (it takes {})",
                if used.is_empty() {
                    "no options besides --n".to_string()
                } else {
                    used.iter()
                        .map(|o| format!("--{o}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
        Ok(match canonical {
            "index" => AnyTask::IndexLookup(IndexLookup::new(options.alphabet.unwrap_or(64), n)?),
            "recall" => AnyTask::Recall(Recall::new(
                options.keys.unwrap_or(n),
                options.values.unwrap_or(64),
                n,
                options.queries.unwrap_or(1),
            )?),
            "dyck" => AnyTask::Dyck(Dyck::new(
                options.types.unwrap_or(2),
                options.depth.unwrap_or(2),
                n,
            )?),
            "equality" => AnyTask::Equality(Equality::new(
                options.alphabet.unwrap_or(2),
                n,
                options.variant.unwrap_or(EqVariant::Random),
            )?),
            "disjointness" => AnyTask::Disjointness(Disjointness::new(n)?),
            _ => AnyTask::Nearest(Nearest::new(
                n,
                options.dim.unwrap_or(16),
                options.margin.unwrap_or(0.1),
            )?),
        })
    }

    /// The discrete task behind `self`, or nearest neighbour (which reads vectors).
    fn split(&self) -> Result<&dyn Task, &Nearest> {
        match self {
            AnyTask::IndexLookup(t) => Ok(t),
            AnyTask::Recall(t) => Ok(t),
            AnyTask::Dyck(t) => Ok(t),
            AnyTask::Equality(t) => Ok(t),
            AnyTask::Disjointness(t) => Ok(t),
            AnyTask::Nearest(t) => Err(t),
        }
    }

    /// The task's short name.
    pub fn name(&self) -> &'static str {
        match self.split() {
            Ok(t) => t.name(),
            Err(t) => t.name(),
        }
    }

    /// The task's vocabulary.
    pub fn vocab(&self) -> &Vocab {
        match self.split() {
            Ok(t) => t.vocab(),
            Err(t) => t.vocab(),
        }
    }

    /// Length of each model input vector [`embed`](Self::embed) produces.
    pub fn input_dim(&self) -> usize {
        match self.split() {
            Ok(t) => t.vocab().len(),
            Err(t) => t.input_dim(),
        }
    }

    /// Draws one example.
    pub fn generate(&self, rng: &mut ChaCha8Rng) -> Example {
        match self.split() {
            Ok(t) => t.generate(rng),
            Err(t) => t.generate(rng),
        }
    }

    /// The exact label of a sequence (`points`: nearest neighbour's vectors; empty for the others).
    pub fn label(&self, tokens: &[Token], points: &[Vec<f64>]) -> Result<Label, InputError> {
        match self.split() {
            Ok(t) => {
                no_points(t, points)?;
                t.label(tokens)
            }
            Err(t) => t.label(tokens, points),
        }
    }

    /// Model inputs for a sequence: one-hot for the discrete tasks, real vectors for nearest
    /// neighbour.
    pub fn embed(
        &self,
        tokens: &[Token],
        points: &[Vec<f64>],
    ) -> Result<Vec<Vec<f64>>, InputError> {
        match self.split() {
            Ok(t) => {
                no_points(t, points)?;
                t.embed_one_hot(tokens)
            }
            Err(t) => t.embed(tokens, points),
        }
    }
}

fn no_points(task: &dyn Task, points: &[Vec<f64>]) -> Result<(), InputError> {
    if points.is_empty() {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "task {} reads tokens only, but {} vectors were given",
            task.name(),
            points.len()
        )))
    }
}

/// Draws `count` examples of the task `task_name` with length `n` (see [`AnyTask::from_name`] for
/// what `n` means per task), seeded: example `i` comes from [`example_rng`]`(seed, i)`.
/// This is what `ccsep tasks sample --task T --n N --count C [--seed S]` prints.
pub fn sample(
    task_name: &str,
    n: usize,
    count: usize,
    seed: u64,
    options: &TaskOptions,
) -> Result<Vec<Example>, InputError> {
    if count > MAX_COUNT {
        return Err(InputError::new(format!(
            "{} {count} is too many: at most {MAX_COUNT} examples per call",
            Setting::Count
        )));
    }
    let task = AnyTask::from_name(task_name, n, options)?;
    let per_example = match &task {
        AnyTask::Nearest(t) => (2 * n + 1).saturating_mul(t.input_dim()),
        _ => 2 * n + 1,
    };
    if count.saturating_mul(per_example) > MAX_SAMPLE_SIZE {
        return Err(InputError::new(format!(
            "{count} examples of task {} with n = {n} would hold about {} tokens or numbers \
             (at most {MAX_SAMPLE_SIZE}); choose a smaller {} or {}",
            task.name(),
            count.saturating_mul(per_example),
            Setting::Count,
            Setting::N
        )));
    }
    Ok(generate_many(&task, seed, 0, count))
}

/// Checks a length-like setting: `lo ≤ value ≤ MAX_LENGTH`.
pub(crate) fn check_range(what: &str, value: usize, lo: usize) -> Result<(), InputError> {
    if value < lo {
        return Err(InputError::new(format!(
            "{what} must be at least {lo}, got {value}"
        )));
    }
    if value > MAX_LENGTH {
        return Err(InputError::new(format!(
            "{what} = {value} is too large (at most {MAX_LENGTH})"
        )));
    }
    Ok(())
}

/// Checks that a length is even.
pub(crate) fn check_even(what: &str, value: usize) -> Result<(), InputError> {
    if value % 2 == 1 {
        Err(InputError::new(format!("{what} must be even, got {value}")))
    } else {
        Ok(())
    }
}

/// Decimal names `0, 1, …, k−1`.
pub(crate) fn numbered(prefix: &str, k: usize) -> impl Iterator<Item = String> + '_ {
    (0..k).map(move |i| format!("{prefix}{i}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_seeded_and_independent_of_threads() {
        for name in TASK_NAMES {
            let n = if *name == "nearest" { 5 } else { 20 };
            let a = sample(name, n, 50, 7, &TaskOptions::default()).unwrap();
            let b = sample(name, n, 50, 7, &TaskOptions::default()).unwrap();
            assert_eq!(a, b, "{name}");
            let c = sample(name, n, 50, 8, &TaskOptions::default()).unwrap();
            assert_ne!(a, c, "{name}: another seed gives other examples");
            let task = AnyTask::from_name(name, n, &TaskOptions::default()).unwrap();
            let one_thread = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(|| generate_many(&task, 7, 0, 50));
            assert_eq!(a, one_thread, "{name}: one thread");
            let sequential: Vec<Example> = (0..50)
                .rev()
                .map(|i| task.generate(&mut example_rng(7, i)))
                .rev()
                .collect();
            assert_eq!(a, sequential, "{name}: any order");
            let tail = generate_many(&task, 7, 30, 20);
            assert_eq!(a[30..], tail[..], "{name}: a later slice");
        }
    }

    #[test]
    fn every_example_has_its_tasks_label_and_embeds() {
        for name in TASK_NAMES {
            let n = if *name == "nearest" { 6 } else { 20 };
            let task = AnyTask::from_name(name, n, &TaskOptions::default()).unwrap();
            for ex in generate_many(&task, 1, 0, 200) {
                assert_eq!(
                    task.label(&ex.tokens, &ex.points).unwrap(),
                    ex.label,
                    "{name}"
                );
                let inputs = task.embed(&ex.tokens, &ex.points).unwrap();
                assert_eq!(inputs.len(), ex.tokens.len());
                assert!(inputs.iter().all(|v| v.len() == task.input_dim()));
                assert_eq!(task.vocab().parse(&ex.text).unwrap(), ex.tokens);
            }
        }
    }

    #[test]
    fn display_and_json() {
        let ex = &sample("dyck", 6, 1, 3, &TaskOptions::default()).unwrap()[0];
        let shown = ex.to_string();
        assert!(shown.starts_with(&ex.text), "{shown}");
        assert!(
            shown.ends_with(" -> 1") || shown.ends_with(" -> 0"),
            "{shown}"
        );
        let json = serde_json::to_value(ex).unwrap();
        assert_eq!(json["task"], "dyck");
        assert_eq!(json["label"]["kind"], "bit");
        assert!(json.get("points").is_none());
        let nn = &sample("nearest", 3, 1, 3, &TaskOptions::default()).unwrap()[0];
        let json = serde_json::to_value(nn).unwrap();
        assert_eq!(json["points"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn bad_options_are_input_errors() {
        let o = TaskOptions::default();
        assert!(
            sample("nope", 4, 1, 0, &o)
                .unwrap_err()
                .message
                .contains("unknown task")
        );
        let depth = TaskOptions {
            depth: Some(3),
            ..TaskOptions::default()
        };
        let e = sample("index", 4, 1, 0, &depth).unwrap_err();
        assert!(e.message.contains("--depth"), "{e}");
        assert!(sample("dyck", 4, MAX_COUNT + 1, 0, &o).is_err());
        assert!(
            sample("dyck", 5, 1, 0, &o)
                .unwrap_err()
                .message
                .contains("even")
        );
        assert!(
            sample("equality", 7, 1, 0, &o)
                .unwrap_err()
                .message
                .contains("even")
        );
        let m0 = TaskOptions {
            depth: Some(0),
            ..TaskOptions::default()
        };
        assert!(sample("dyck", 4, 1, 0, &m0).is_err());
        let sigma1 = TaskOptions {
            alphabet: Some(1),
            ..TaskOptions::default()
        };
        assert!(sample("index", 4, 1, 0, &sigma1).is_err());
        assert!(sample("index", MAX_LENGTH + 1, 1, 0, &o).is_err());
        let e = sample("dyck", 1 << 20, 1 << 10, 0, &o).unwrap_err();
        assert!(e.to_string().contains("count"), "{e}");
        assert!(sample("dyck", 4, 0, 0, &o).unwrap().is_empty());
    }

    #[test]
    fn vocab_round_trips() {
        let v = Vocab::new(vec!["(".into(), ")".into()]);
        assert_eq!(v.parse("(())").unwrap(), vec![0, 0, 1, 1]);
        assert_eq!(v.parse("( ( ) )").unwrap(), vec![0, 0, 1, 1]);
        assert!(v.parse("(x").is_err());
        assert!(v.one_hot(&[2]).is_err());
        assert_eq!(v.one_hot(&[1]).unwrap(), vec![vec![0.0, 1.0]]);
        let w = Vocab::new(vec!["k0".into(), "k1".into()]);
        assert_eq!(w.render(&[1, 0]), "k1 k0");
        assert_eq!(w.parse("k1 k0").unwrap(), vec![1, 0]);
    }
}
