//! The prefix / suffix protocol of a recurrent model (Thm 2), run on every instance.
//!
//! Alice's inputs share prefixes, so the enumeration walks the trie of her token sequences depth
//! by depth, carrying the set of *distinct* states, each with the Alice inputs that reach it
//! (their partial bit strings): a state is stepped once per possible next token, however many
//! inputs share it, and states that coincide (at low precision many do) merge. Without any
//! merging this costs about `2^(n+1)` model steps for `n` bits, not `n·2^n`. Bob then runs each
//! of his inputs once from each distinct message (`#messages × #Bob` suffix runs, in 16-lane
//! blocks in parallel), and the accuracy over all instances is summed exactly: for message `m`
//! and Bob input `y` the answer is right on the inputs `x` of `m`'s class with `f(x, y)` equal to
//! it. The same pass finds a collision witness. Bob's suffixes are embedded a chunk of his inputs at
//! a time, and a reduction where Bob alone has more inputs than the runs allowed is refused before
//! anything is built (a sample draws Alice's inputs only).
//!
//! The walk needs Alice's token at each position to depend on a few bits of `x` (one for the
//! bit-string reductions, two for a Dyck bracket; at most `MAX_TOKEN_BITS`), branching once per
//! value of those bits; this is probed at the start and a reduction that breaks it is refused. Results do not depend on the thread count: classes are
//! kept in first-seen order of a deterministic walk and every sum is taken in that order.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{
    CheckOptions, CheckReport, Mismatch, SampleInfo, Split, Verdict, VerdictTag, Witness,
    answer_bit, prepare,
};
use crate::certificate::Direction;
use crate::error::{InputError, Setting};
use crate::measures::one_way::one_way;
use crate::model::{Model, Prepared};
use crate::numeric::{Precision, Stats};
use crate::task::{Owner, Reduction};

/// Default ceiling on the suffix runs of one check (`#messages × #Bob`).
pub const DEFAULT_MAX_RUNS: u64 = 1 << 26;
/// Ceiling on the model steps of Alice's walk, assuming no state ever merges.
pub const MAX_ALICE_STEPS: u64 = 1 << 27;
/// Ceiling on the memory for the distinct states of one depth.
pub const MAX_STATE_BYTES: u64 = 6 << 30;
/// Instances compared with the plain forward pass: all when at most this many, else a sample of it.
pub const FORWARD_CHECKS: u64 = 4096;

/// Alice's token at one depth: fixed, or chosen by a few bits of `x`.
enum Depth {
    Fixed(Vec<f64>),
    /// `tokens[v]` where bit `j` of `v` is bit `bits[j]` of `x`.
    Bits {
        bits: Vec<u32>,
        tokens: Vec<Vec<f64>>,
    },
}

/// Most bits of `x` one of Alice's tokens may depend on (a Dyck bracket: 2).
const MAX_TOKEN_BITS: usize = 6;

impl Depth {
    /// The value of this depth's bits in `x`, restricted to the bits in `mask` (over `j`).
    fn value(bits: &[u32], x: u64, mask: u32) -> usize {
        bits.iter()
            .enumerate()
            .filter(|&(j, _)| mask >> j & 1 == 1)
            .map(|(j, &b)| (((x >> b) & 1) as usize) << j)
            .sum()
    }

    /// `x` with this depth's bits outside `mask` set as in `v`.
    fn with_value(bits: &[u32], x: u64, v: usize, mask: u32) -> u64 {
        bits.iter()
            .enumerate()
            .filter(|&(j, _)| mask >> j & 1 == 0 && v >> j & 1 == 1)
            .fold(x, |x, (_, &b)| x | 1 << b)
    }
}

/// Bob's inputs with suffixes of one length, each with its embedded suffix.
type SuffixGroup = Vec<(u64, Vec<Vec<f64>>)>;

/// The reduction as the protocol sees it: Alice's depths, and where Bob's suffix starts. Bob's
/// suffixes are embedded when they are run ([`Layout::suffix`]), a chunk of Bob's inputs at a
/// time, never all at once: Bob may have `2^40` inputs.
struct Layout<'r> {
    reduction: &'r Reduction,
    depths: Vec<Depth>,
    /// Positions Alice feeds (Bob's suffix starts here).
    prefix_len: usize,
}

fn embedded(r: &Reduction, x: u64, y: u64) -> Result<Vec<Vec<f64>>, InputError> {
    let inst = r.instance(x, y)?;
    r.task().embed(&inst.tokens, &[])
}

fn layout(split: &Split, seed: u64) -> Result<Layout<'_>, InputError> {
    let r = &split.reduction;
    let k = split.prefix_len;
    let n = r.n();
    let y0 = r.bob_inputs().end - 1;
    let base = embedded(r, 0, y0)?;
    let flips: Vec<Vec<Vec<f64>>> = (0..n)
        .map(|i| embedded(r, 1 << i, y0))
        .collect::<Result<_, _>>()?;
    let mut depths = Vec::with_capacity(k);
    for d in 0..k {
        let movers: Vec<u32> = (0..n)
            .filter(|&i| flips[i as usize][d] != base[d])
            .collect();
        if movers.is_empty() {
            depths.push(Depth::Fixed(base[d].clone()));
            continue;
        }
        if movers.len() > MAX_TOKEN_BITS {
            return Err(InputError::new(format!(
                "{}: Alice's token at position {d} depends on {} bits; the trie walk allows {MAX_TOKEN_BITS}",
                r.kind(),
                movers.len()
            )));
        }
        let tokens = (0..1usize << movers.len())
            .map(|v| {
                let x = Depth::with_value(&movers, 0, v, 0);
                embedded(r, x, y0).map(|e| e[d].clone())
            })
            .collect::<Result<_, _>>()?;
        depths.push(Depth::Bits {
            bits: movers,
            tokens,
        });
    }
    let lay = Layout {
        reduction: r,
        depths,
        prefix_len: k,
    };
    // Probe the structure on random instances: the sequence is prefix(x) ++ suffix(y).
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    for _ in 0..32 {
        let x = rng.random_range(r.alice_inputs());
        let y = rng.random_range(r.bob_inputs());
        if embedded(r, x, y)? != lay.sequence(x, y)? {
            return Err(InputError::new(format!(
                "{}: the instance ({x}, {y}) is not Alice's prefix followed by Bob's suffix as probed",
                r.kind()
            )));
        }
    }
    Ok(lay)
}

impl Layout<'_> {
    /// Bob's embedded suffix for `y`, checked: the instance splits after Alice's prefix, and Bob
    /// adds at least one position.
    fn suffix(&self, y: u64) -> Result<Vec<Vec<f64>>, InputError> {
        let (r, k) = (self.reduction, self.prefix_len);
        let inst = r.instance(0, y)?;
        if inst.owners.len() < k
            || inst.owners[..k].contains(&Owner::Bob)
            || inst.owners[k..].contains(&Owner::Alice)
        {
            return Err(InputError::new(format!(
                "{}: instance (0, {y}) does not split after position {k}",
                r.kind()
            )));
        }
        let suffix = r.task().embed(&inst.tokens, &[])?.split_off(k);
        if suffix.is_empty() {
            return Err(InputError::new(format!(
                "{}: Bob's input {y} adds no position, so Bob has nothing to run",
                r.kind()
            )));
        }
        Ok(suffix)
    }

    /// The embedded suffixes of Bob's inputs `ys`, grouped by length (the model runs equal
    /// lengths together), in first-seen order.
    fn suffix_groups(&self, ys: std::ops::Range<u64>) -> Result<Vec<SuffixGroup>, InputError> {
        let mut groups: Vec<SuffixGroup> = Vec::new();
        for y in ys {
            let suffix = self.suffix(y)?;
            match groups.iter_mut().find(|g| g[0].1.len() == suffix.len()) {
                Some(g) => g.push((y, suffix)),
                None => groups.push(vec![(y, suffix)]),
            }
        }
        Ok(groups)
    }

    /// Most model steps Alice's walk over `inputs` of her inputs may take, assuming no state
    /// ever merges: a fixed depth steps every class, a depth that reads bits splits the classes
    /// (at most `inputs` of them).
    fn walk_steps_bound(&self, inputs: u64) -> u64 {
        let mut classes = 1u64;
        let mut steps = 0u64;
        let mut read = 0u32;
        for d in &self.depths {
            match d {
                Depth::Fixed(_) => steps = steps.saturating_add(classes),
                Depth::Bits { bits, .. } => {
                    read += bits.len() as u32;
                    classes = (1u64 << read.min(63)).min(inputs);
                    steps = steps.saturating_add(classes);
                }
            }
        }
        steps
    }

    fn prefix(&self, x: u64) -> Vec<Vec<f64>> {
        self.depths
            .iter()
            .map(|d| match d {
                Depth::Fixed(v) => v.clone(),
                Depth::Bits { bits, tokens } => tokens[Depth::value(bits, x, u32::MAX)].clone(),
            })
            .collect()
    }

    fn sequence(&self, x: u64, y: u64) -> Result<Vec<Vec<f64>>, InputError> {
        let mut s = self.prefix(x);
        s.extend(self.suffix(y)?);
        Ok(s)
    }
}

/// A message as comparable bits: `-0.0` as `0.0`, every NaN as one NaN.
pub fn message_key(state: &[f64]) -> Vec<u64> {
    let mut key = Vec::with_capacity(state.len());
    message_key_into(state, &mut key);
    key
}

/// [`message_key`] into a reused buffer.
pub fn message_key_into(state: &[f64], key: &mut Vec<u64>) {
    key.clear();
    key.extend(state.iter().map(|&v| {
        if v == 0.0 {
            0
        } else if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            v.to_bits()
        }
    }));
}

/// Distinct messages and their class, hashed with a fixed (seedless) hasher: lookups only, so
/// nothing depends on its order.
pub(crate) type MessageIndex = HashMap<Vec<u64>, usize, foldhash::fast::FixedState>;

/// A distinct state and the (partial) Alice inputs that reach it.
struct Class {
    state: Vec<f64>,
    members: Vec<u64>,
}

fn too_large(what: String) -> InputError {
    InputError::new(format!(
        "{what}; pass {} K to check K seeded Alice inputs against every Bob input instead",
        Setting::Sample
    ))
}

/// Refuses a walk over `covered` Alice inputs that may take more than `MAX_ALICE_STEPS`.
fn refuse_walk(lay: &Layout<'_>, covered: u64) -> Result<(), InputError> {
    let alice_steps_bound = lay.walk_steps_bound(covered);
    if alice_steps_bound > MAX_ALICE_STEPS {
        return Err(too_large(format!(
            "{} with n = {}: Alice's walk over {covered} inputs may take {alice_steps_bound} model steps (limit {MAX_ALICE_STEPS})",
            lay.reduction.kind(),
            lay.reduction.n()
        )));
    }
    Ok(())
}

/// The refusals of [`check`] that depend on the sizes alone (`n`, `--sample`), not on the
/// model or its precision: what a grid of checks tries once, before any point runs, so that a
/// size too large for the check is refused as such instead of failing at every point.
pub fn refuse_sizes(split: &Split, options: &CheckOptions) -> Result<(), InputError> {
    refuse_bob_beyond_runs(split, options)?;
    let lay = layout(split, options.seed)?;
    let covered = match draw_sample(&lay, options)? {
        Some(sample) => sample.len() as u64,
        None => split.reduction.alice_inputs().end,
    };
    refuse_walk(&lay, covered)
}

/// Runs `model` as the prefix / suffix protocol of `split` on every instance (or a sample) and
/// reports messages, accuracy, the bound and a witness. `progress` receives stage messages.
///
/// Cost: Alice's walk is at most `Σ_d (#classes at d) × (tokens at d)` model steps (about
/// `2^(n+1)` with no merging); Bob's phase `#messages × #Bob` suffix runs; the exact accuracy
/// `#Alice × #Bob` evaluations of `f`. Memory: the distinct states of one depth.
///
/// Phases: the refusals that need nothing built, the model and the layout, the sample, Alice's
/// walk, Bob's phase, the comparison with the plain forward pass, and the report.
pub fn check<M: Clone>(
    model: &Model,
    source: &M,
    precision: &Precision,
    split: &Split,
    options: &CheckOptions,
    progress: &(dyn Fn(String) + Sync),
) -> Result<CheckReport<M>, InputError> {
    let r = &split.reduction;
    let label = super::problem_label(r);
    let state_size = model.state_size().ok_or_else(|| {
        InputError::new(
            "the Transformer has no recurrent state: a one-layer Transformer runs as the Thm 4 protocol instead",
        )
    })?;
    refuse_bob_beyond_runs(split, options)?;
    let mut stats = Stats::default();
    let prepared = prepare(model, precision, r, &mut stats)?;
    let lay = layout(split, options.seed)?;
    let sample = draw_sample(&lay, options)?;
    let run = PrefixSuffix {
        r,
        lay,
        prepared,
        state_size,
        bob_total: r.bob_inputs().end,
        mqar: super::mqar_values(r),
        options,
        progress,
    };
    let covered = sample
        .as_ref()
        .map_or(r.alice_inputs().end, |s| s.len() as u64);
    run.refuse_walk_beyond_steps(covered)?;
    let walk = run.alice_walk(sample.as_deref(), &mut stats)?;
    let runs = run.bob_runs(walk.classes.len() as u64)?;
    let tally = run.bob_phase(&walk.classes, runs, &mut stats)?;
    let comparison = run.compare_with_forward(&walk.classes, sample.as_deref(), covered)?;
    run.report(
        source,
        label,
        Findings {
            exhaustive: sample.is_none() || covered == r.alice_inputs().end,
            covered,
            walk,
            runs,
            tally,
            comparison,
            stats,
        },
    )
}

/// One message of the prefix / suffix protocol: the model's whole recurrent state after
/// Alice's prefix, and every Alice input that sends it.
#[derive(Clone, Debug, PartialEq)]
pub struct AliceMessage {
    pub state: Vec<f64>,
    /// Alice's inputs that reach `state`, increasing.
    pub inputs: Vec<u64>,
}

/// Alice's distinct messages over every one of her inputs: the classes of the walk [`check`]
/// runs (same refusals, same states, same first-seen order), each with its inputs sorted, so
/// their number is the report's `distinct_messages`. What a reader needs to *see* the
/// pigeonhole: which inputs share a state.
///
/// Cost: Alice's walk alone (no Bob phase), at most `MAX_ALICE_STEPS` model steps.
pub fn alice_messages(
    model: &Model,
    precision: &Precision,
    split: &Split,
) -> Result<Vec<AliceMessage>, InputError> {
    let r = &split.reduction;
    let state_size = model.state_size().ok_or_else(|| {
        InputError::new("the Transformer has no recurrent state: Alice sends no single message")
    })?;
    let options = CheckOptions::default();
    let mut stats = Stats::default();
    let run = PrefixSuffix {
        r,
        lay: layout(split, options.seed)?,
        prepared: prepare(model, precision, r, &mut stats)?,
        state_size,
        bob_total: r.bob_inputs().end,
        mqar: super::mqar_values(r),
        options: &options,
        progress: &|_| {},
    };
    run.refuse_walk_beyond_steps(r.alice_inputs().end)?;
    let walk = run.alice_walk(None, &mut stats)?;
    Ok(walk
        .classes
        .into_iter()
        .map(|c| {
            let mut inputs = c.members;
            inputs.sort_unstable();
            AliceMessage {
                state: c.state,
                inputs,
            }
        })
        .collect())
}

/// `run_many`'s `outputs` argument: Alice's walk needs only the states.
const STATES_ONLY: bool = false;
/// `run_many`'s `outputs` argument: Bob's runs and the comparison read the outputs.
const WITH_OUTPUTS: bool = true;

/// Pairs (class, Bob input) a batch of Bob's phase runs at once.
const BATCH: usize = 1 << 15;
/// Bob's inputs are embedded this many at a time: only one chunk's suffixes are held.
const BOB_CHUNK: u64 = 1 << 12;

/// Bob runs each of his inputs from every distinct message, so there are at least `#Bob`
/// suffix runs whatever the sample: refused before anything is built.
fn refuse_bob_beyond_runs(split: &Split, options: &CheckOptions) -> Result<(), InputError> {
    let r = &split.reduction;
    let bob_total = r.bob_inputs().end;
    if bob_total > options.max_runs {
        return Err(InputError::new(format!(
            "{} with n = {}: Bob has {bob_total} inputs and runs each from every distinct message, so Bob's phase needs at least {bob_total} suffix runs of about {} steps (limit {} runs); {} draws Alice's inputs only and cannot reduce this: choose a smaller n",
            r.kind(),
            r.n(),
            r.instance(0, bob_total - 1)?.tokens.len() - split.prefix_len,
            options.max_runs,
            Setting::Sample
        )));
    }
    Ok(())
}

/// The sample of Alice's inputs `--sample` asks for (`None`: all of them), refused before it is
/// drawn when its walk may take more than `MAX_ALICE_STEPS` model steps.
fn draw_sample(lay: &Layout<'_>, options: &CheckOptions) -> Result<Option<Vec<u64>>, InputError> {
    let r = lay.reduction;
    match options.sample {
        None => Ok(None),
        Some(0) => Err(InputError::new(format!(
            "{} must be at least 1",
            Setting::Sample
        ))),
        Some(k) => {
            // Refuse before drawing: the draw itself holds k inputs.
            let steps = lay.walk_steps_bound(k.min(r.alice_inputs().end));
            if steps > MAX_ALICE_STEPS {
                return Err(InputError::new(format!(
                    "{} with n = {}: a sample of {k} Alice inputs may take {steps} model steps (limit {MAX_ALICE_STEPS}); choose a smaller {}",
                    r.kind(),
                    r.n(),
                    Setting::Sample
                )));
            }
            Ok(Some(super::sample_alice(r, k, options.seed)))
        }
    }
}

/// What the phases of [`check`] share: the reduction as the protocol sees it, the model
/// prepared at its precision, and the options.
struct PrefixSuffix<'a> {
    r: &'a Reduction,
    lay: Layout<'a>,
    prepared: Prepared,
    state_size: usize,
    bob_total: u64,
    /// MQAR's `(vocab, v0, v1)`: its answers are read at every query position.
    mqar: Option<(usize, usize, usize)>,
    options: &'a CheckOptions,
    progress: &'a (dyn Fn(String) + Sync),
}

/// The outcome of Alice's walk: the distinct messages with the inputs that send each.
struct Walk {
    classes: Vec<Class>,
    alice_steps: u64,
}

/// The exact count of Bob's phase and its first collision witness.
struct Tally {
    correct: u64,
    witness: Option<Witness>,
}

/// The protocol against the plain forward pass.
struct Comparison {
    checked: u64,
    mismatches: Vec<Mismatch>,
}

/// Everything the report is made of.
struct Findings {
    exhaustive: bool,
    /// Alice inputs covered (all, or the sample's).
    covered: u64,
    walk: Walk,
    runs: u64,
    tally: Tally,
    comparison: Comparison,
    /// The statistics of the protocol's runs (not the comparison's).
    stats: Stats,
}

/// One batch of Bob's runs: pairs (class, position in the suffix group), each with its start
/// state and suffix.
struct Batch<'b> {
    pairs: Vec<(usize, usize)>,
    starts: Vec<&'b [f64]>,
    inputs: Vec<&'b [Vec<f64>]>,
}

impl PrefixSuffix<'_> {
    /// Refuses a walk over `covered` Alice inputs that may take more than `MAX_ALICE_STEPS`.
    fn refuse_walk_beyond_steps(&self, covered: u64) -> Result<(), InputError> {
        refuse_walk(&self.lay, covered)
    }

    /// Alice's walk over the trie of her token sequences, depth by depth: every class steps
    /// once per token its members can read next, and equal states merge.
    fn alice_walk(&self, sample: Option<&[u64]>, stats: &mut Stats) -> Result<Walk, InputError> {
        let n = self.r.n();
        let mut read: Vec<bool> = vec![sample.is_some(); n as usize];
        let mut classes = vec![Class {
            state: vec![0.0; self.state_size],
            members: sample.map_or_else(|| vec![0], <[u64]>::to_vec),
        }];
        let mut alice_steps = 0u64;
        for (d, depth) in self.lay.depths.iter().enumerate() {
            let children = branch(&mut classes, depth, &read);
            if let Depth::Bits { bits, .. } = depth {
                for &b in bits {
                    read[b as usize] = true;
                }
            }
            let bytes = (children.len() as u64) * (self.state_size as u64) * 8 * 2;
            if bytes > MAX_STATE_BYTES {
                return Err(too_large(format!(
                    "{} with n = {n}: {} distinct states at depth {d} would take {} of memory",
                    self.r.kind(),
                    children.len(),
                    crate::problem::human_bytes(u128::from(bytes))
                )));
            }
            alice_steps += children.len() as u64;
            classes = self.step_and_merge(&classes, children, stats)?;
            (self.progress)(format!(
                "Alice's walk: depth {}/{}, {} distinct states",
                d + 1,
                self.lay.depths.len(),
                classes.len()
            ));
        }
        Ok(Walk {
            classes,
            alice_steps,
        })
    }

    /// Steps every child (class, token, members) once and merges equal states into the classes
    /// of the next depth, in first-seen order.
    fn step_and_merge(
        &self,
        classes: &[Class],
        children: Vec<Child<'_>>,
        stats: &mut Stats,
    ) -> Result<Vec<Class>, InputError> {
        let starts: Vec<&[f64]> = children
            .iter()
            .map(|(c, _, _)| classes[*c].state.as_slice())
            .collect();
        let input_refs: Vec<&[Vec<f64>]> = children
            .iter()
            .map(|(_, v, _)| std::slice::from_ref(*v))
            .collect();
        let stepped = self
            .prepared
            .run_many_flat(&starts, &input_refs, STATES_ONLY, stats)?;
        let mut next: Vec<Class> = Vec::new();
        let mut index: MessageIndex = MessageIndex::default();
        let mut key = Vec::with_capacity(self.state_size);
        for (state, (_, _, members)) in stepped.states.chunks_exact(self.state_size).zip(children) {
            message_key_into(state, &mut key);
            match index.get(key.as_slice()) {
                Some(&c) => next[c].members.extend(members),
                None => {
                    index.insert(key.clone(), next.len());
                    next.push(Class {
                        state: state.to_vec(),
                        members,
                    });
                }
            }
        }
        Ok(next)
    }

    /// Bob's phase runs each of his inputs from each of `messages`: refused over
    /// `CheckOptions::max_runs`. Returns the number of suffix runs.
    fn bob_runs(&self, messages: u64) -> Result<u64, InputError> {
        let bob_total = self.bob_total;
        let runs = messages * bob_total;
        if runs > self.options.max_runs {
            return Err(too_large(format!(
                "{} with n = {}: Alice's walk found {messages} distinct messages; Bob's phase would need {messages} × {bob_total} = {runs} suffix runs (limit {})",
                self.r.kind(),
                self.r.n(),
                self.options.max_runs
            )));
        }
        Ok(runs)
    }

    /// Bob's phase, in batches of pairs (class, Bob input), with the exact count per pair and
    /// the witness of the smallest (class, Bob input) whose class `f` splits.
    fn bob_phase(
        &self,
        classes: &[Class],
        runs: u64,
        stats: &mut Stats,
    ) -> Result<Tally, InputError> {
        let bob_total = self.bob_total;
        let mut correct = 0u64;
        let mut witness: Option<(usize, u64, Witness)> = None;
        let mut done = 0u64;
        for y0 in (0..bob_total).step_by(BOB_CHUNK as usize) {
            let groups = self
                .lay
                .suffix_groups(y0..(y0 + BOB_CHUNK).min(bob_total))?;
            for group in &groups {
                let total = classes.len() * group.len();
                for start in (0..total).step_by(BATCH) {
                    let pairs: Vec<(usize, usize)> = (start..(start + BATCH).min(total))
                        .map(|i| (i / group.len(), i % group.len()))
                        .collect();
                    let batch = Batch {
                        starts: pairs
                            .iter()
                            .map(|&(c, _)| classes[c].state.as_slice())
                            .collect(),
                        inputs: pairs.iter().map(|&(_, g)| group[g].1.as_slice()).collect(),
                        pairs,
                    };
                    let answers = self.answers(&batch, group, stats)?;
                    let tallies = self.tally(classes, &batch.pairs, group, &answers);
                    for (&(c, _), (right, w)) in batch.pairs.iter().zip(tallies) {
                        correct += right;
                        if let Some(w) = w {
                            let key = (c, w.y);
                            if witness.as_ref().is_none_or(|(c0, y0, _)| key < (*c0, *y0)) {
                                witness = Some((c, w.y, w));
                            }
                        }
                    }
                    done += batch.pairs.len() as u64;
                    (self.progress)(format!("Bob's phase: {done}/{runs} suffix runs"));
                }
            }
        }
        Ok(Tally {
            correct,
            witness: witness.map(|(_, _, w)| w),
        })
    }

    /// Per pair of the batch: the answer as the bit f, and for MQAR the answers to the queries
    /// as a mask over Bob's query indices (bit i: the answer to k_i is v1).
    fn answers(
        &self,
        batch: &Batch<'_>,
        group: &[(u64, Vec<Vec<f64>>)],
        stats: &mut Stats,
    ) -> Result<Vec<(bool, u64)>, InputError> {
        Ok(match self.mqar {
            None => {
                let outs = self.prepared.run_many_flat(
                    &batch.starts,
                    &batch.inputs,
                    WITH_OUTPUTS,
                    stats,
                )?;
                let os = outs.output_size;
                outs.outputs
                    .chunks(os.max(1))
                    .take(batch.pairs.len())
                    .map(|o| (answer_bit(self.r, &o[..os]), 0))
                    .collect()
            }
            Some(values) => mqar_answers(&self.prepared, batch, group, values, stats)?,
        })
    }

    /// Per pair (class, Bob input) and its answer: how many of the class's inputs it is right
    /// on, and a collision witness when `f` splits the class.
    fn tally(
        &self,
        classes: &[Class],
        pairs: &[(usize, usize)],
        group: &[(u64, Vec<Vec<f64>>)],
        answers: &[(bool, u64)],
    ) -> Vec<(u64, Option<Witness>)> {
        let r = self.r;
        let f = |x: u64, y: u64| match r.problem() {
            Some(p) => p.value(x, y).expect("named problems have a value"),
            None => r.value(x, y).expect("inputs in range"),
        };
        let mqar = self.mqar;
        pairs
            .par_iter()
            .zip(answers)
            .map(|(&(c, g), &(answer, mask))| {
                let y = group[g].0;
                let members = &classes[c].members;
                let ones = members.iter().filter(|&&x| f(x, y)).count() as u64;
                let right = if mqar.is_some() {
                    // Right when every query's answer is x's value there.
                    members.iter().filter(|&&x| x & y == mask).count() as u64
                } else if answer {
                    ones
                } else {
                    members.len() as u64 - ones
                };
                let w = (ones > 0 && ones < members.len() as u64).then(|| {
                    let x = members[0];
                    let fx = f(x, y);
                    let x_prime = *members.iter().find(|&&m| f(m, y) != fx).expect("split");
                    Witness {
                        x,
                        x_prime,
                        y,
                        y_prime: None,
                        f_x: fx,
                        f_x_prime: !fx,
                        // The answer as the bit f, as `ccsep verify` re-derives it
                        // (for MQAR: DISJ read off the answers to the queries). One
                        // message and one suffix give identical outputs at every
                        // position, so both instances have it.
                        answer,
                        wrong: super::WrongInput::of(answer, fx),
                    }
                });
                (right, w)
            })
            .collect()
    }

    /// The protocol against the plain forward pass: on every instance when at most
    /// `FORWARD_CHECKS`, else on a seeded sample of that many.
    fn compare_with_forward(
        &self,
        classes: &[Class],
        sample: Option<&[u64]>,
        covered: u64,
    ) -> Result<Comparison, InputError> {
        let r = self.r;
        (self.progress)("comparing the protocol with the forward pass".into());
        let x_at = |i: u64| sample.map_or(i, |s| s[i as usize]);
        let pairs: Vec<(u64, u64)> = if covered * self.bob_total <= FORWARD_CHECKS {
            (0..covered)
                .flat_map(|i| r.bob_inputs().map(move |y| (x_at(i), y)))
                .collect()
        } else {
            let mut rng = ChaCha8Rng::seed_from_u64(self.options.seed ^ 0xf0f0);
            (0..FORWARD_CHECKS)
                .map(|_| {
                    (
                        x_at(rng.random_range(0..covered)),
                        rng.random_range(r.bob_inputs()),
                    )
                })
                .collect()
        };
        let wanted: std::collections::HashSet<u64> = pairs.iter().map(|p| p.0).collect();
        let mut class_of: HashMap<u64, usize> = HashMap::new();
        for (c, class) in classes.iter().enumerate() {
            for &x in &class.members {
                if wanted.contains(&x) {
                    class_of.insert(x, c);
                }
            }
        }
        let mut mismatches = Vec::new();
        let mut fstats = Stats::default();
        for chunk in pairs.chunks(BATCH) {
            let seqs: Vec<Vec<Vec<f64>>> = chunk
                .iter()
                .map(|&(x, y)| embedded(r, x, y))
                .collect::<Result<_, _>>()?;
            let forward = self.prepared.final_outputs(&seqs, &mut fstats)?;
            for (&(x, y), fo) in chunk.iter().zip(forward) {
                let c = class_of[&x];
                let out = self.prepared.run_many(
                    &[classes[c].state.as_slice()],
                    &[self.lay.suffix(y)?.as_slice()],
                    WITH_OUTPUTS,
                    &mut fstats,
                )?;
                let protocol = answer_bit(self.r, out[0].1.as_deref().unwrap_or(&[]));
                let fwd = answer_bit(self.r, &fo);
                if protocol != fwd {
                    mismatches.push(Mismatch {
                        x,
                        y,
                        protocol,
                        forward: fwd,
                    });
                }
            }
        }
        Ok(Comparison {
            checked: pairs.len() as u64,
            mismatches,
        })
    }

    /// The bound (the one-way CC of the problem's matrix when it can be built), the verdict and
    /// the report.
    fn report<M: Clone>(
        &self,
        source: &M,
        label: String,
        found: Findings,
    ) -> Result<CheckReport<M>, InputError> {
        let r = self.r;
        let (one_way_cc, distinct_rows) = match super::reduction_matrix(r)? {
            Some(m) => {
                let c = one_way(&m, Direction::AliceToBob);
                (Some(c.bits), Some(c.messages))
            }
            None => (None, None),
        };
        let bits_per_number = self.prepared.precision().bits();
        let bits_available = bits_per_number.map(|b| u64::from(b) * self.state_size as u64);
        let instances = found.covered * self.bob_total;
        let correct = found.tally.correct;
        let messages = found.walk.classes.len() as u64;
        let witness = found.tally.witness;
        let exhaustive = found.exhaustive;
        let verdict = verdict(
            exhaustive,
            messages,
            distinct_rows,
            witness.as_ref(),
            correct == instances,
            &label,
        );
        let mismatches = found.comparison.mismatches;
        Ok(CheckReport {
            task: r.kind().name().to_string(),
            problem: label,
            n: r.n(),
            model: source.clone(),
            precision: self.prepared.precision().name(),
            protocol: super::ProtocolKind::PrefixSuffix,
            instances,
            exhaustive,
            sample: (!exhaustive).then_some(SampleInfo {
                alice_inputs: found.covered,
                seed: self.options.seed,
            }),
            correct,
            accuracy: correct as f64 / instances as f64,
            distinct_messages: messages,
            log2_messages: (messages as f64).log2(),
            message_numbers: self.state_size,
            bits_per_number,
            bits_available,
            // The message is the state: that many numbers of the format.
            bits_available_upper_bound: true,
            one_way_cc,
            distinct_rows,
            two_way_cc_lower_bound: None,
            verdict,
            witness,
            protocol_witness: None,
            one_way_cc_bob_to_alice: None,
            fooling_set: None,
            note: None,
            protocol_checked: found.comparison.checked,
            protocol_mismatch_count: mismatches.len() as u64,
            protocol_mismatches: mismatches,
            alice_steps: Some(found.walk.alice_steps),
            suffix_runs: Some(found.runs),
            saturated: found.stats.saturated,
            nan: found.stats.nan,
        })
    }
}

/// A class of one depth, a token it reads next, and the members that read it.
type Child<'t> = (usize, &'t Vec<f64>, Vec<u64>);

/// The children of `classes` at `depth` (their members move to the children): bits of `x`
/// already `read` split a class's members, unread ones branch.
fn branch<'t>(classes: &mut [Class], depth: &'t Depth, read: &[bool]) -> Vec<Child<'t>> {
    let mut children: Vec<Child<'t>> = Vec::new();
    for (c, class) in classes.iter_mut().enumerate() {
        let members = std::mem::take(&mut class.members);
        match depth {
            Depth::Fixed(v) => children.push((c, v, members)),
            Depth::Bits { bits, tokens } => {
                // Bits already read split the members; unread ones branch.
                let known = bits
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| read[b as usize])
                    .fold(0u32, |m, (j, _)| m | 1 << j);
                let mut buckets: Vec<Vec<u64>> = vec![Vec::new(); tokens.len()];
                for &x in &members {
                    buckets[Depth::value(bits, x, known)].push(x);
                }
                for (v, token) in tokens.iter().enumerate() {
                    let of_v: Vec<u64> = buckets[v & known as usize]
                        .iter()
                        .map(|&x| Depth::with_value(bits, x, v, known))
                        .collect();
                    if !of_v.is_empty() {
                        children.push((c, token, of_v));
                    }
                }
            }
        }
    }
    children
}

/// MQAR's answers on a batch of Bob runs of one suffix length (the marker, then the queries):
/// the suffix is run one position at a time from each start, reading the output at every query
/// position ([`super::query_answer`]). Per run: "no answer is v1" (the bit f) and the mask of
/// the query indices `i` answered `v1`.
fn mqar_answers(
    prepared: &Prepared,
    batch: &Batch<'_>,
    group: &[(u64, Vec<Vec<f64>>)],
    (vocab, v0, v1): (usize, usize, usize),
    stats: &mut Stats,
) -> Result<Vec<(bool, u64)>, InputError> {
    let Batch {
        pairs: chunk,
        starts,
        inputs,
    } = batch;
    let len = inputs.first().map_or(0, |s| s.len());
    let mut masks = vec![0u64; chunk.len()];
    let mut states: Vec<f64> = starts.iter().flat_map(|s| s.iter().copied()).collect();
    let ss = starts.first().map_or(0, |s| s.len());
    // The query index of each step after the marker, per run.
    let queries: Vec<Vec<u32>> = chunk
        .iter()
        .map(|&(_, g)| {
            let y = group[g].0;
            (0..64).filter(|&i| (y >> i) & 1 == 1).collect()
        })
        .collect();
    for t in 0..len {
        let st: Vec<&[f64]> = states.chunks_exact(ss.max(1)).take(chunk.len()).collect();
        let step: Vec<&[Vec<f64>]> = inputs.iter().map(|s| &s[t..t + 1]).collect();
        let o = prepared.run_many_flat(&st, &step, WITH_OUTPUTS, stats)?;
        let os = o.output_size;
        if t >= 1 {
            for (p, q) in queries.iter().enumerate() {
                let out = &o.outputs[p * os..(p + 1) * os];
                if let Some(&i) = q.get(t - 1)
                    && super::query_answer(out, vocab, v0, v1)
                {
                    masks[p] |= 1 << i;
                }
            }
        }
        states = o.states;
    }
    Ok(masks.into_iter().map(|m| (m == 0, m)).collect())
}

fn verdict(
    exhaustive: bool,
    messages: u64,
    rows: Option<u64>,
    witness: Option<&Witness>,
    perfect: bool,
    p: &str,
) -> Verdict {
    let (tag, sentence) = match (exhaustive, rows, witness) {
        (true, Some(rows), _) if messages < rows => (
            VerdictTag::MustErr,
            format!(
                "{messages} distinct messages < {rows} distinct rows of {p}: two inputs with different rows share a message, so the model must err (witness below)"
            ),
        ),
        (_, _, Some(_)) => (
            VerdictTag::MustErr,
            format!("a witness within the covered inputs shows the model errs on {p}"),
        ),
        (true, Some(rows), None) => (
            VerdictTag::EnoughMessages,
            format!(
                "{messages} distinct messages ≥ {rows} distinct rows of {p}: the model's size does not force an error"
            ),
        ),
        (true, None, None) => (
            VerdictTag::EnoughMessages,
            format!("no two inputs with different rows of {p} share a message"),
        ),
        _ => (
            VerdictTag::Inconclusive,
            format!("no witness among the covered inputs of {p}; a sample proves no bound"),
        ),
    };
    Verdict {
        tag,
        perfect,
        sentence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::ModelSource;
    use crate::task::ReductionKind;

    fn lstm(input: usize) -> (Model, ModelSource) {
        let source = ModelSource::Random {
            arch: "lstm".into(),
            width: 2,
            layers: 1,
            output: 1,
            seed: 3,
            heads: None,
        };
        (source.build(input).unwrap(), source)
    }

    /// Bob's inputs alone can exceed the runs allowed, whatever the sample: the check refuses
    /// before it builds anything, says why a sample cannot help, and what to do instead.
    #[test]
    fn refuses_too_many_bob_inputs_before_running() {
        for kind in [
            ReductionKind::Equality,
            ReductionKind::Disjointness,
            ReductionKind::Mqar,
            ReductionKind::DyckHalves,
        ] {
            let r = Reduction::new(kind, 40).unwrap();
            let (model, source) = lstm(r.task().input_dim());
            let split = Split::new(r).unwrap();
            let options = CheckOptions {
                sample: Some(1),
                ..CheckOptions::default()
            };
            let prec = Precision::parse("fixed:2.4").unwrap();
            let e = check(&model, &source, &prec, &split, &options, &|_| {}).unwrap_err();
            assert!(e.message.contains("choose a smaller n"), "{}", e.message);
            assert!(e.message.contains("cannot reduce"), "{}", e.message);
        }
    }

    /// Bob's inputs are embedded a chunk at a time; over several chunks (and suffixes of many
    /// lengths, in MQAR) the exact count is the one a direct forward pass gives.
    #[test]
    fn chunked_bob_phase_counts_exactly() {
        let r = Reduction::new(ReductionKind::Mqar, 13).unwrap();
        assert!(r.bob_inputs().end >= 2 * (1 << 12));
        let (model, source) = lstm(r.task().input_dim());
        let prec = Precision::parse("fixed:1.2").unwrap();
        let options = CheckOptions {
            sample: Some(2),
            seed: 5,
            ..CheckOptions::default()
        };
        let split = Split::new(r.clone()).unwrap();
        let rep = check(&model, &source, &prec, &split, &options, &|_| {}).unwrap();
        let task = r.task();
        let mut correct = 0;
        for x in super::super::sample_alice(&r, 2, 5) {
            for y in r.bob_inputs() {
                let inst = r.instance(x, y).unwrap();
                let seq = task.embed(&inst.tokens, &[]).unwrap();
                let t = model.forward(&seq, &prec, &mut Stats::default()).unwrap();
                correct += u64::from(super::super::score(&r, x, y, &t.outputs).1);
            }
        }
        assert_eq!(rep.instances, 2 * r.bob_inputs().end);
        assert_eq!(rep.correct, correct);
        assert_eq!(rep.protocol_mismatch_count, 0);
    }

    /// Alice's messages partition her inputs, their number is the check's
    /// `distinct_messages`, and each is the state the plain forward pass reaches after her
    /// prefix, for every one of its inputs.
    #[test]
    fn alice_messages_are_the_checks_classes() {
        let r = Reduction::new(ReductionKind::IndexLookup, 5).unwrap();
        let (model, source) = lstm(r.task().input_dim());
        let prec = Precision::parse("fixed:1.1").unwrap();
        let split = Split::new(r.clone()).unwrap();
        let messages = alice_messages(&model, &prec, &split).unwrap();
        let rep = check(
            &model,
            &source,
            &prec,
            &split,
            &CheckOptions::default(),
            &|_| {},
        )
        .unwrap();
        assert_eq!(messages.len() as u64, rep.distinct_messages);
        let mut all: Vec<u64> = messages.iter().flat_map(|m| m.inputs.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, r.alice_inputs().collect::<Vec<_>>());
        let task = r.task();
        for m in &messages {
            assert!(m.inputs.windows(2).all(|w| w[0] < w[1]));
            for &x in &m.inputs {
                let inst = r.instance(x, 0).unwrap();
                let seq = task.embed(&inst.tokens, &[]).unwrap();
                let prefix = &seq[..split.prefix_len];
                let t = model.forward(prefix, &prec, &mut Stats::default()).unwrap();
                assert_eq!(message_key(t.states.last().unwrap()), message_key(&m.state));
            }
        }
    }
}
