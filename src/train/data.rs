//! Training and evaluation batches drawn from `task`'s seeded generators.
//!
//! Example `i` of batch `s` comes from `task::example_rng(stream_seed, s · batch + i)`, so a
//! batch depends only on the seed and the step (a resumed run sees the same batches) and never
//! on the thread count. Training and evaluation use different seeds, and every evaluation makes
//! a fresh draw (fresh draws, not unseen examples: a small task such as index lookup at n = 4
//! has only 64 distinct sequences, all of which training sees).
//!
//! What the loss reads: a yes/no task (Dyck, equality, disjointness) has two outputs read at
//! the last position (class 1 = yes, so `out[1] > out[0]` is ccsep's decoding); a task whose
//! answer is a token (index lookup, recall, the copy variant of equality) has one output per
//! vocabulary token, read at each position that has a target (the last; MQAR's query
//! positions; every copied position).

use candle_core::{Device, Tensor};

use super::params::cerr;
use crate::task::{AnyTask, Example, Label, Token, generate_many};

/// The two example streams of a run: batches to train on, and draws to evaluate on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Train,
    Eval,
}

impl Stream {
    /// What the run's seed is XORed with for this stream.
    fn offset(self) -> u64 {
        match self {
            Stream::Train => 0x7472_6169_6e00_0000,
            Stream::Eval => 0x6576_616c_0000_0000,
        }
    }
}

/// What a task's answers look like to the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    /// Outputs the head has (2 for a bit, else the vocabulary size).
    pub outputs: usize,
    /// Tokens per example (every example of a task at one `n` has the same length).
    pub length: usize,
    /// Vocabulary size (the embedding's rows).
    pub vocab: usize,
}

impl Readout {
    /// The readout of `task`, from its first example.
    pub fn of(task: &AnyTask) -> Self {
        let ex = &generate_many(task, 0, 0, 1)[0];
        let vocab = task.vocab().len();
        Readout {
            outputs: if matches!(ex.label, Label::Bit { .. }) {
                2
            } else {
                vocab
            },
            length: ex.tokens.len(),
            vocab,
        }
    }
}

/// A batch: tokens and, for every scored position, its target class.
pub struct Batch {
    /// `[B, T]` token ids (`u32`).
    pub tokens: Tensor,
    /// Scored positions as flat indices `b · T + t`, grouped by example.
    pub rows: Vec<u32>,
    /// Target class of each scored position.
    pub targets: Vec<u32>,
    /// The example each scored position belongs to.
    pub example: Vec<usize>,
    /// Examples in the batch.
    pub size: usize,
}

/// `(position, class)` pairs an example is scored at.
fn targets(ex: &Example) -> Vec<(usize, u32)> {
    let last = ex.tokens.len() - 1;
    match &ex.label {
        Label::Bit { value } => vec![(last, u32::from(*value))],
        Label::Symbol { token, .. } => vec![(last, *token)],
        Label::Symbols { tokens, .. } => {
            let first = ex.tokens.len() - tokens.len();
            tokens
                .iter()
                .enumerate()
                .map(|(j, &t)| (first + j, t))
                .collect()
        }
        Label::NextTokens { targets, .. } => targets
            .iter()
            .enumerate()
            .filter_map(|(t, c)| c.map(|c: Token| (t, c)))
            .collect(),
    }
}

fn batch_of(examples: &[Example], length: usize) -> anyhow::Result<Batch> {
    let mut tokens = Vec::with_capacity(examples.len() * length);
    let (mut rows, mut classes, mut example) = (Vec::new(), Vec::new(), Vec::new());
    for (b, ex) in examples.iter().enumerate() {
        anyhow::ensure!(
            ex.tokens.len() == length,
            "the task drew an example of {} tokens, not {length}: training needs a fixed length",
            ex.tokens.len()
        );
        tokens.extend_from_slice(&ex.tokens);
        for (t, c) in targets(ex) {
            rows.push((b * length + t) as u32);
            classes.push(c);
            example.push(b);
        }
    }
    Ok(Batch {
        tokens: Tensor::from_vec(tokens, (examples.len(), length), &Device::Cpu).map_err(cerr)?,
        rows,
        targets: classes,
        example,
        size: examples.len(),
    })
}

/// Batch number `k` of `stream` in a run seeded with `seed` (training step `k`, or the `k`-th
/// evaluation: fresh examples for every `k`).
pub fn batch(
    task: &AnyTask,
    stream: Stream,
    seed: u64,
    k: u64,
    size: usize,
    length: usize,
) -> anyhow::Result<Batch> {
    let examples = generate_many(task, seed ^ stream.offset(), k * size as u64, size);
    batch_of(&examples, length)
}
