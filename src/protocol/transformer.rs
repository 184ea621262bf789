//! The protocol of a one-layer Transformer for any partition of the positions (Thm 4), run on
//! every instance and checked against the model's own forward pass.
//!
//! Only the output at the last position is read, and in one layer it depends on the other
//! positions only through that position's attention. Per head `h`, with `T` the last position:
//! 1. whoever holds `x_T` sends its token and its position `T` (in `mqar` the length depends on
//!    Bob's input), so both can form `q_T` (and the residual `X_T`);
//! 2. each party sends the largest score over its own positions, `M_A^h` and `M_B^h`; both take
//!    `M = max(M_A, M_B)`, so every `e_j = round(exp(round(s_j − M)))` is at most 1;
//! 3. each sends its partial normaliser `Z_A = Σ_{j∈A} e_j` (and `Z_B`); both form
//!    `Z = round(Z_A + Z_B)` and the weights `p_j = round(e_j / Z)`;
//! 4. each sends its partial numerator `U_A = Σ_{j∈A} p_j v_j` (`d_v` numbers, and `U_B`); both
//!    form `u = round(U_A + U_B)`, then the output projection, residual, MLP, final layer norm
//!    and head on position `T` alone.
//!
//! Public positions (fixed tokens) are summed by Alice. The partial sums follow the precision's
//! accumulation mode: `wide` keeps them exact in `f64` (a fixed-point sum of `T` grid values needs
//! `p + ⌈log2 T⌉` bits), `format` rounds after every addition as the forward pass does. With
//! `wide` and a fixed-point format the split sums equal the forward pass's single sum, because
//! those `f64` additions are exact; with `format` (or float formats, whose `f64` sums can round)
//! they may not, and every instance where the protocol's output differs from the forward pass is
//! reported as a mismatch, not hidden.
//!
//! Bits sent (counted by [`Thm4::bits`]): `⌈log2 |V|⌉ + ⌈log2 L⌉` for the last token and its
//! position (`L` possible lengths) when a party holds it, and per head `2p` for the maxima,
//! `2(p + ⌈log2 T⌉)` for the normalisers and `2·d_v·(p + F + ⌈log2 T⌉)` for the numerators, `p`
//! the precision's bits per number and `F` its fraction bits (fixed point) — the paper's
//! `≈ 3·m·(p + log N)·H`.
//!
//! Each message depends only on its sender's positions and on the messages before it, so the
//! instances with one transcript form a rectangle `A × B` of inputs and the *protocol* gives one
//! answer on all of it. [`check`] groups every instance covered by its transcript. The verdict
//! about the model rests only on what the forward pass confirms: `must_err` needs a witness of
//! two instances with one transcript, different `f`, that the forward pass itself answers alike
//! (so the model errs on one, whatever its protocol computes elsewhere). Where the protocol's
//! output differs from the forward pass (`protocol_mismatch_count > 0`) one transcript can carry
//! different forward answers; a pair on which only the protocol's answer is shared is reported
//! as `protocol_witness` (the protocol errs) with no verdict about the model (`inconclusive`).
//! A fooling set with more entries than the transcripts it meets yields such a pair.

use std::collections::HashMap;

use rayon::prelude::*;

use super::rnn::message_key;
use super::{
    CheckOptions, CheckReport, FoolingCheck, Mismatch, SampleInfo, Verdict, VerdictTag, Witness,
    answer_bit, prepare,
};
use crate::certificate::Direction;
use crate::error::{InputError, Setting};
use crate::measures::one_way::one_way;
use crate::model::{
    Act, Arith, FinishBufs, Model, Transformer, transformer_layer_norm as layer_norm,
};
use crate::numeric::Stats;
use crate::task::reduction::odd_even_fooling_set;
use crate::task::{Owner, Reduction, ReductionKind, Token};

/// Most instances one check covers (each is a protocol run and a forward pass).
pub const MAX_INSTANCES: u64 = 1 << 22;
/// Largest fooling set whose transcripts are counted.
pub const MAX_FOOLING: u64 = 1 << 22;
/// Mismatches listed in a report (all are counted).
const LISTED_MISMATCHES: usize = 100;

/// The per-position quantities a party computes for its own positions.
struct PositionData {
    /// The residual `X_t = embed(x_t) + pos_t`.
    x: Vec<f64>,
    q: Vec<f64>,
    k: Vec<f64>,
    v: Vec<f64>,
}

/// The Thm 4 protocol of one rounded one-layer Transformer.
pub struct Thm4<'a> {
    tr: &'a Transformer,
    ar: &'a Arith,
    /// `data[t · |V| + token]`, for every position up to the longest instance.
    data: Vec<PositionData>,
    vocab: usize,
    scale: f64,
}

/// One run of the protocol: the transcript (as comparable bits) and the output at `T`.
pub struct Run {
    pub transcript: Vec<u64>,
    pub output: Vec<f64>,
}

impl<'a> Thm4<'a> {
    /// Tabulates every (position, token) pair up to `max_len` positions. `embed(token)` is the
    /// task's input vector of a token (already rounded to the format).
    pub fn new(
        tr: &'a Transformer,
        ar: &'a Arith,
        vocab: usize,
        max_len: usize,
        embed: impl Fn(Token) -> Vec<f64>,
        stats: &mut Stats,
    ) -> Result<Self, InputError> {
        if tr.blocks().len() != 1 {
            return Err(InputError::new(format!(
                "the Thm 4 protocol is for one-layer Transformers; this one has {} layers, and ccsep runs Thm 4's one-layer protocol only (Lemma 5: no protocol of o(m·p·H·N / log² N) bits simulates every two-layer Transformer)",
                tr.blocks().len()
            )));
        }
        tr.check_len(max_len)?;
        let blk = &tr.blocks()[0];
        let d = tr.d_model();
        let dk = blk.q.out_size() / tr.heads();
        let scale = ar.round(1.0 / (dk as f64).sqrt(), stats);
        let mut data = Vec::with_capacity(max_len * vocab);
        let mut a = vec![0.0; d];
        let mut small = vec![0.0; 1];
        let embedded: Vec<Vec<f64>> = (0..vocab as Token).map(&embed).collect();
        for t in 0..max_len {
            let pos = tr.pos_row(t, ar, stats);
            for e in &embedded {
                let mut x = vec![0.0; d];
                tr.embed().apply(ar, e, 1, &mut x, stats);
                if let Some(p) = &pos {
                    ar.add_bias(&mut x, p, 1, stats);
                }
                let inp: &[f64] = match tr.attn_norm(blk) {
                    Some(n) => {
                        layer_norm(ar, n, &x, 1, &mut a, &mut small, stats);
                        &a
                    }
                    None => &x,
                };
                let mut q = vec![0.0; blk.q.out_size()];
                let mut k = vec![0.0; blk.k.out_size()];
                let mut v = vec![0.0; blk.v.out_size()];
                blk.q.apply(ar, inp, 1, &mut q, stats);
                blk.k.apply(ar, inp, 1, &mut k, stats);
                blk.v.apply(ar, inp, 1, &mut v, stats);
                data.push(PositionData { x, q, k, v });
            }
        }
        Ok(Thm4 {
            tr,
            ar,
            data,
            vocab,
            scale,
        })
    }

    /// Bits the protocol sends on inputs of at most `len` positions (`lengths` distinct
    /// lengths) at `bits` bits per number, when a party (not the public) holds the last token.
    /// A partial normaliser is a sum of at most `T` grid values: `p + ⌈log2 T⌉` bits. A partial
    /// numerator sums products of two grid values, which have `frac` more fraction bits (the
    /// fixed-point format's `F`; 0 for floats, whose exact partial sums are counted at
    /// `p + ⌈log2 T⌉` bits, a lower figure than their exact `f64` needs).
    pub fn bits(
        &self,
        len: usize,
        lengths: usize,
        bits: u32,
        frac: u32,
        last_token_sent: bool,
    ) -> u64 {
        let blk = &self.tr.blocks()[0];
        let h = self.tr.heads() as u64;
        let dv = (blk.v.out_size() / self.tr.heads()) as u64;
        let log_t = u64::from(ceil_log2(len as u64));
        let p = u64::from(bits);
        let token = if last_token_sent {
            u64::from(ceil_log2(self.vocab as u64)) + u64::from(ceil_log2(lengths as u64))
        } else {
            0
        };
        token + h * (2 * p + 2 * (p + log_t) + 2 * dv * (p + u64::from(frac) + log_t))
    }

    /// Numbers in a transcript (the last token and its position counted as two).
    pub fn transcript_numbers(&self) -> usize {
        let blk = &self.tr.blocks()[0];
        let dv = blk.v.out_size() / self.tr.heads();
        2 + self.tr.heads() * (4 + 2 * dv)
    }

    /// Runs the protocol on one instance.
    pub fn run(&self, tokens: &[Token], owners: &[Owner], stats: &mut Stats) -> Run {
        let ar = self.ar;
        let tr = self.tr;
        let blk = &tr.blocks()[0];
        let (heads, qk, vd) = (tr.heads(), blk.q.out_size(), blk.v.out_size());
        let (dk, dv) = (qk / heads, vd / heads);
        let last = tokens.len() - 1;
        let at = |t: usize| &self.data[t * self.vocab + tokens[t] as usize];
        let bob = |t: usize| owners[t] == Owner::Bob;
        // Round 1: the last token.
        // The last token and its position: where the length depends on an input (mqar), the
        // position is part of what its holder sends.
        let mut transcript = vec![
            match owners[last] {
                Owner::Public => u64::MAX,
                _ => u64::from(tokens[last]),
            },
            last as u64,
        ];
        let q = &at(last).q;
        let keys = tokens.len();
        let mut u = vec![0.0; vd];
        let mut s = vec![0.0; keys];
        let mut one = [0.0];
        for h in 0..heads {
            let qh = &q[h * dk..(h + 1) * dk];
            for (j, sj) in s.iter_mut().enumerate() {
                ar.dot_lanes(qh, &at(j).k[h * dk..(h + 1) * dk], 1, &mut one, stats);
                *sj = one[0];
            }
            ar.scale(&mut s, self.scale, stats);
            // Round 2: the maxima.
            let max_of = |of_bob: bool| {
                s.iter()
                    .enumerate()
                    .filter(|&(j, _)| bob(j) == of_bob)
                    .fold(f64::NEG_INFINITY, |m, (_, &v)| m.max(v))
            };
            let (max_a, max_b) = (max_of(false), max_of(true));
            let m = max_a.max(max_b);
            let mut e: Vec<f64> = s.iter().map(|&v| v - m).collect();
            ar.round_slice(&mut e, stats);
            ar.act(&mut e, Act::Exp, stats);
            // Round 3: the partial normalisers.
            let z_a = self.partial(
                e.iter()
                    .enumerate()
                    .filter(|&(j, _)| !bob(j))
                    .map(|(_, &v)| (v, 1.0)),
                stats,
            );
            let z_b = self.partial(
                e.iter()
                    .enumerate()
                    .filter(|&(j, _)| bob(j))
                    .map(|(_, &v)| (v, 1.0)),
                stats,
            );
            let z = ar.round(z_a + z_b, stats);
            for v in e.iter_mut() {
                *v /= z;
            }
            ar.round_slice(&mut e, stats);
            transcript.extend(message_key(&[max_a, max_b, z_a, z_b]));
            // Round 4: the partial numerators.
            let mut u_b = Vec::with_capacity(dv);
            for c in 0..dv {
                let row = h * dv + c;
                let part = |of_bob: bool, stats: &mut Stats| {
                    self.partial(
                        (0..keys)
                            .filter(|&j| bob(j) == of_bob)
                            .map(|j| (e[j], at(j).v[row])),
                        stats,
                    )
                };
                let (ua, ub) = (part(false, stats), part(true, stats));
                u[row] = ar.round(ua + ub, stats);
                transcript.extend(message_key(&[ua]));
                u_b.push(ub);
            }
            transcript.extend(message_key(&u_b));
        }
        // Both parties now finish position T alone.
        let mut x = at(last).x.clone();
        let mut bufs = FinishBufs::default();
        tr.finish_layer(ar, blk, &u, &mut x, &mut bufs, stats);
        let output = tr.final_output(ar, x, &mut bufs, stats);
        Run { transcript, output }
    }

    /// A party's partial sum `Σ a·b` in the accumulation mode of the forward pass: exact in
    /// `f64` (`wide`, rounded only when the two parts are combined) or rounded after every
    /// product and addition (`format`).
    fn partial(&self, terms: impl Iterator<Item = (f64, f64)>, stats: &mut Stats) -> f64 {
        match self.ar.precision().accumulate() {
            crate::numeric::Accumulate::Wide => terms.fold(-0.0, |acc, (a, b)| acc + a * b),
            crate::numeric::Accumulate::Format => terms.fold(0.0, |acc, (a, b)| {
                let p = self.ar.round(a * b, stats);
                self.ar.round(acc + p, stats)
            }),
        }
    }
}

fn ceil_log2(v: u64) -> u32 {
    if v <= 1 {
        0
    } else {
        64 - (v - 1).leading_zeros()
    }
}

/// A fooling set: entries `(x, y)` all with `f = value`, and for two entries a cross pair
/// without it.
pub struct FoolingSet {
    pub entries: Vec<(u64, u64)>,
    pub value: bool,
    /// What the set is, in words.
    pub description: String,
}

/// A fooling set of the reduction's problem (a closed form per reduction; Lemma 1's for Dyck
/// split odd / even). `None` for `dyck-halves`, whose contiguous split has only a handful of
/// distinct rows (the automaton's states).
pub fn fooling_set(r: &Reduction) -> Result<Option<FoolingSet>, InputError> {
    let n = r.n();
    let all = |bits: u32| 0..1u64 << bits;
    let mask = (1u64 << n) - 1;
    let (entries, value, description) = match r.kind() {
        ReductionKind::IndexLookup | ReductionKind::RecallIndex => (
            (0..u64::from(n)).map(|i| (1 << i, i)).collect(),
            true,
            format!("{{(e_i, i)}}: INDEX_{n}'s {n} one-hot strings with their own index"),
        ),
        ReductionKind::Equality => (
            all(n).map(|x| (x, x)).collect(),
            true,
            format!("the diagonal {{(x, x)}} of EQ_{n}"),
        ),
        ReductionKind::Disjointness | ReductionKind::Mqar => (
            all(n).map(|x| (x, !x & mask)).collect(),
            true,
            format!("{{(x, complement of x)}} of DISJ_{n}"),
        ),
        ReductionKind::DyckOddEven => (
            odd_even_fooling_set(n as usize)?,
            true,
            format!("Lemma 1: every string of Dyck-(2,2) of length {n}, split odd / even"),
        ),
        ReductionKind::DyckHalves => return Ok(None),
    };
    Ok(Some(FoolingSet {
        entries,
        value,
        description,
    }))
}

/// The number of entries [`fooling_set`] gives, without building it (`None`: it gives none).
pub fn fooling_size(r: &Reduction) -> Option<u64> {
    let n = r.n();
    match r.kind() {
        ReductionKind::IndexLookup | ReductionKind::RecallIndex => Some(u64::from(n)),
        ReductionKind::Equality | ReductionKind::Disjointness | ReductionKind::Mqar => {
            Some(1u64 << n)
        }
        // Lemma 1: 2^(N−1) strings.
        ReductionKind::DyckOddEven => Some(1u64 << (n - 1)),
        ReductionKind::DyckHalves => None,
    }
}

/// The instances of one Alice input: Bob's inputs in order.
struct Evaluated {
    x: u64,
    y: u64,
    f: bool,
    transcript: Vec<u64>,
    protocol: Vec<f64>,
    /// The forward pass's output at the last position.
    forward: Vec<f64>,
    /// The forward pass's answer as the bit `f`, and whether it is right as the task defines it
    /// ([`super::score`]; MQAR reads every query's position).
    answer: bool,
    right: bool,
}

/// Runs the protocol and the forward pass on `pairs`, in parallel blocks, in order.
fn evaluate(
    r: &Reduction,
    proto: &Thm4,
    prepared: &crate::model::Prepared,
    pairs: &[(u64, u64)],
    stats: &mut Stats,
) -> Result<Vec<Evaluated>, InputError> {
    let task = r.task();
    let results: Vec<Result<(Vec<Evaluated>, Stats), InputError>> = pairs
        .par_chunks(256)
        .map(|chunk| {
            let mut st = Stats::default();
            let mut seqs = Vec::with_capacity(chunk.len());
            let mut runs = Vec::with_capacity(chunk.len());
            for &(x, y) in chunk {
                let inst = r.instance(x, y)?;
                runs.push((
                    proto.run(&inst.tokens, &inst.owners, &mut st),
                    r.value(x, y)?,
                ));
                seqs.push(task.embed(&inst.tokens, &[])?);
            }
            // Every position's output where the task answers at several (MQAR), else the last.
            let forward: Vec<Vec<Vec<f64>>> = if r.kind() == ReductionKind::Mqar {
                seqs.iter()
                    .map(|s| prepared.forward(s, &mut st).map(|t| t.outputs))
                    .collect::<Result<_, _>>()?
            } else {
                prepared
                    .final_outputs(&seqs, &mut st)?
                    .into_iter()
                    .map(|o| vec![o])
                    .collect()
            };
            let ev = chunk
                .iter()
                .zip(runs)
                .zip(forward)
                .map(|((&(x, y), (run, f)), mut outs)| {
                    let (answer, right) = super::score(r, x, y, &outs);
                    Evaluated {
                        x,
                        y,
                        f,
                        transcript: run.transcript,
                        protocol: run.output,
                        forward: outs.pop().unwrap_or_default(),
                        answer,
                        right,
                    }
                })
                .collect();
            Ok((ev, st))
        })
        .collect();
    let mut out = Vec::with_capacity(pairs.len());
    for res in results {
        let (ev, st) = res?;
        stats.merge(st);
        out.extend(ev);
    }
    Ok(out)
}

/// Runs a one-layer Transformer as the Thm 4 protocol of the reduction's partition on every
/// instance (or every Bob input against a seeded sample of Alice inputs), compares it with the
/// forward pass on each, groups the instances by transcript, and counts the transcripts a
/// fooling set meets.
///
/// Cost: per instance one protocol run (`O(T·H·d_k + T·d_v + MLP)`) and one forward pass
/// (`O(T²·d)`); memory: one transcript per distinct transcript. Refuses more than
/// [`MAX_INSTANCES`] instances (suggesting `--sample`).
pub fn check<M: Clone>(
    model: &Model,
    source: &M,
    precision: &crate::numeric::Precision,
    r: &Reduction,
    options: &CheckOptions,
    progress: &(dyn Fn(String) + Sync),
) -> Result<CheckReport<M>, InputError> {
    let Model::Transformer(_) = model else {
        return Err(InputError::new(
            "the Thm 4 protocol needs a Transformer; recurrent models use the prefix / suffix protocol",
        ));
    };
    let coverage = coverage(r, options)?;
    let mut stats = Stats::default();
    let prepared = prepare(model, precision, r, &mut stats)?;
    let Model::Transformer(tr) = prepared.model() else {
        unreachable!("prepare keeps the architecture")
    };
    let task = r.task();
    let vocab = task.vocab().len();
    let y_last = r.bob_inputs().end - 1;
    let longest = r.instance(0, y_last)?;
    let max_len = longest.tokens.len();
    let ar = prepared.arith();
    let embed = |t: Token| {
        let mut v = task.embed(&[t], &[]).expect("vocabulary tokens embed")[0].clone();
        ar.round_slice(&mut v, &mut Stats::default());
        v
    };
    let proto = Thm4::new(tr, ar, vocab, max_len, embed, &mut stats)?;
    let run = Runner {
        r,
        proto: &proto,
        prepared: &prepared,
    };

    // The Alice inputs covered (the count was checked above).
    let xs: Vec<u64> = match options.sample {
        Some(k) => super::sample_alice(r, k, options.seed),
        None => r.alice_inputs().collect(),
    };
    debug_assert_eq!(xs.len() as u64, coverage.covered);
    let mut sweep = run.sweep(&xs, coverage.instances, progress, &mut stats)?;

    // MQAR's answers are read at every query position, and the protocol simulates the last
    // one only: its transcripts do not carry the answer, so neither a fooling set's collapse
    // nor a protocol witness says anything there (a model witness still does: it rests on the
    // forward pass's answers alone).
    let mqar = r.kind() == ReductionKind::Mqar;
    let fooling = if mqar {
        None
    } else {
        run.fooling(&mut sweep.found, progress, &mut stats)?
    };
    if mqar {
        sweep.found.protocol = None;
    }
    let bounds = bounds(r, &proto, &prepared, &longest.owners)?;
    Ok(report(
        r,
        source,
        &prepared,
        Outcome {
            coverage,
            sweep,
            fooling,
            bounds,
            message_numbers: proto.transcript_numbers(),
            seed: options.seed,
            stats,
        },
    ))
}

/// How many instances a check covers.
struct Coverage {
    /// Alice inputs covered (all, or the sample's size).
    covered: u64,
    /// Instances: the covered Alice inputs × every Bob input.
    instances: u64,
    /// Whether every Alice input is covered.
    exhaustive: bool,
}

/// The instances `options` asks for, refused before anything is drawn or allocated (the count
/// needs only the input ranges) where there are more than [`MAX_INSTANCES`].
/// The refusals of [`check`] that depend on the sizes alone (`n`, `--sample`), not on the
/// model or its precision: what a grid of checks tries once, before any point runs.
pub fn refuse_sizes(r: &Reduction, options: &CheckOptions) -> Result<(), InputError> {
    coverage(r, options).map(|_| ())
}

fn coverage(r: &Reduction, options: &CheckOptions) -> Result<Coverage, InputError> {
    let n = r.n();
    let alice_total = r.alice_inputs().end;
    let bob_total = r.bob_inputs().end;
    let covered = match options.sample {
        Some(0) => {
            return Err(InputError::new(format!(
                "{} must be at least 1",
                Setting::Sample
            )));
        }
        Some(k) => k.min(alice_total),
        None => alice_total,
    };
    let instances = covered.saturating_mul(bob_total);
    if bob_total > MAX_INSTANCES {
        return Err(InputError::new(format!(
            "{} with n = {n}: Bob alone has {bob_total} inputs, more than the {MAX_INSTANCES} instances one check covers, so no {} of Alice's inputs fits; choose a smaller n",
            r.kind(),
            Setting::Sample
        )));
    }
    if instances > MAX_INSTANCES {
        return Err(InputError::new(format!(
            "{} with n = {n}: {covered} Alice × {bob_total} Bob inputs = {instances} instances, each a protocol run and a forward pass (limit {MAX_INSTANCES}; listing the Alice inputs alone would take {}); pass {} K with K ≤ {} to check K seeded Alice inputs against every Bob input",
            r.kind(),
            crate::problem::human_bytes(u128::from(covered) * 8),
            Setting::Sample,
            (MAX_INSTANCES / bob_total).max(1)
        )));
    }
    Ok(Coverage {
        covered,
        instances,
        exhaustive: covered == alice_total,
    })
}

/// What running every covered instance finds.
struct Sweep {
    found: Found,
    /// Instances the model answers right.
    correct: u64,
    /// Distinct transcripts.
    transcripts: u64,
    /// The first [`LISTED_MISMATCHES`] instances where the protocol's output differs from the
    /// forward pass's, and how many there are.
    mismatches: Vec<Mismatch>,
    mismatch_count: u64,
}

/// The protocol and the forward pass of one check, and the reduction they run on.
struct Runner<'a> {
    r: &'a Reduction,
    proto: &'a Thm4<'a>,
    prepared: &'a crate::model::Prepared,
}

impl Runner<'_> {
    fn evaluate(
        &self,
        pairs: &[(u64, u64)],
        stats: &mut Stats,
    ) -> Result<Vec<Evaluated>, InputError> {
        evaluate(self.r, self.proto, self.prepared, pairs, stats)
    }

    /// Every Bob input against each of `xs`, in blocks, grouped by transcript.
    fn sweep(
        &self,
        xs: &[u64],
        instances: u64,
        progress: &(dyn Fn(String) + Sync),
        stats: &mut Stats,
    ) -> Result<Sweep, InputError> {
        let r = self.r;
        let bob_total = r.bob_inputs().end;
        let mut groups: HashMap<Vec<u64>, Group> = HashMap::new();
        let mut found = Found::default();
        let mut correct = 0u64;
        let mut mismatches = Vec::new();
        let mut mismatch_count = 0u64;
        let per_block = (1 << 16) / bob_total.max(1) + 1;
        let mut done = 0u64;
        for block in xs.chunks(per_block as usize) {
            let pairs: Vec<(u64, u64)> = block
                .iter()
                .flat_map(|&x| r.bob_inputs().map(move |y| (x, y)))
                .collect();
            for ev in self.evaluate(&pairs, stats)? {
                let answer = answer_bit(r, &ev.forward);
                if ev.right {
                    correct += 1;
                }
                if message_key(&ev.protocol) != message_key(&ev.forward) {
                    mismatch_count += 1;
                    if mismatches.len() < LISTED_MISMATCHES {
                        mismatches.push(Mismatch {
                            x: ev.x,
                            y: ev.y,
                            protocol: answer_bit(r, &ev.protocol),
                            forward: answer,
                        });
                    }
                }
                let inst = seen_of(&ev);
                match groups.entry(ev.transcript) {
                    std::collections::hash_map::Entry::Occupied(mut g) => {
                        found.merge(g.get_mut().add(inst));
                    }
                    std::collections::hash_map::Entry::Vacant(g) => {
                        g.insert(Group::new(inst, answer_bit(r, &ev.protocol)));
                    }
                }
            }
            done += pairs.len() as u64;
            progress(format!(
                "Thm 4 protocol: {done}/{instances} instances, {} transcripts",
                groups.len()
            ));
        }
        Ok(Sweep {
            found,
            correct,
            transcripts: groups.len() as u64,
            mismatches,
            mismatch_count,
        })
    }

    /// The fooling set, where it is small enough to run: its entries need distinct transcripts.
    /// Sized before it is built (DISJ's and EQ's sets have 2^n entries). Where two entries share
    /// a transcript, their crossings are run too, and the witnesses they complete take the place
    /// of `found`'s (the fooling set's own pair, where there is one, is the one reported).
    fn fooling(
        &self,
        found: &mut Found,
        progress: &(dyn Fn(String) + Sync),
        stats: &mut Stats,
    ) -> Result<Option<FoolingCheck>, InputError> {
        let fooling = match fooling_size(self.r) {
            Some(size) if size <= MAX_FOOLING => fooling_set(self.r)?,
            _ => None,
        };
        let Some(FoolingSet {
            entries: fset,
            value,
            description,
        }) = fooling
        else {
            return Ok(None);
        };
        progress(format!("fooling set: {} entries", fset.len()));
        let evs = self.evaluate(&fset, stats)?;
        let mut seen: HashMap<&[u64], usize> = HashMap::new();
        let mut collision = None;
        for (i, ev) in evs.iter().enumerate() {
            if let Some(&j) = seen.get(ev.transcript.as_slice()) {
                collision.get_or_insert((j, i));
            } else {
                seen.insert(&ev.transcript, i);
            }
        }
        let distinct = seen.len() as u64;
        let mut fooling_found = Found::default();
        if let Some((i, j)) = collision {
            fooling_found = self.rectangle(&evs[i], &evs[j], stats)?;
        }
        fooling_found.merge(std::mem::take(found));
        *found = fooling_found;
        Ok(Some(FoolingCheck {
            size: fset.len() as u64,
            value,
            description,
            log2_size: (fset.len() as f64).log2(),
            distinct_transcripts: distinct,
        }))
    }

    /// The witnesses in the rectangle of two instances `a`, `b` with one transcript: one of the
    /// cross instances has `f ≠ value`, and it shares the transcript.
    fn rectangle(
        &self,
        a: &Evaluated,
        b: &Evaluated,
        stats: &mut Stats,
    ) -> Result<Found, InputError> {
        let crosses = [(a.x, b.y), (b.x, a.y)];
        let cross = self.evaluate(&crosses, stats)?;
        // Every instance here shares one transcript (a rectangle), so one group: the
        // protocol's answer is that of `a`; a witness for the model needs two of them
        // that the forward pass itself answers alike.
        let mut group = Group::new(seen_of(a), answer_bit(self.r, &a.protocol));
        let mut found = Found::default();
        for c in std::iter::once(b).chain(&cross) {
            if c.transcript != a.transcript {
                return Err(InputError::new(format!(
                    "internal error: the Thm 4 transcripts of ({}, {}) and ({}, {}) differ although they form a rectangle with a shared transcript",
                    a.x, a.y, c.x, c.y
                )));
            }
            found.merge(group.add(seen_of(c)));
        }
        Ok(found)
    }
}

/// Bounds of the problem and the protocol's size.
struct Bounds {
    /// One-way CC both ways and the distinct rows, where the problem's matrix fits.
    one_way_cc: Option<u32>,
    distinct_rows: Option<u64>,
    reverse: Option<u32>,
    bits_per_number: Option<u32>,
    bits_available: Option<u64>,
    bits_available_upper_bound: bool,
}

fn bounds(
    r: &Reduction,
    proto: &Thm4,
    prepared: &crate::model::Prepared,
    owners: &[Owner],
) -> Result<Bounds, InputError> {
    let (one_way_cc, distinct_rows, reverse) = match super::reduction_matrix(r)? {
        Some(m) => {
            let ab = one_way(&m, Direction::AliceToBob);
            let ba = one_way(&m, Direction::BobToAlice);
            (Some(ab.bits), Some(ab.messages), Some(ba.bits))
        }
        None => (None, None, None),
    };
    let max_len = owners.len();
    let bits_per_number = prepared.precision().bits();
    let last_sent = owners[max_len - 1] != Owner::Public;
    let lengths = if r.kind() == ReductionKind::Mqar {
        r.n() as usize + 1
    } else {
        1
    };
    let frac = match prepared.precision().format() {
        crate::numeric::Format::Fixed { frac_bits, .. } => frac_bits,
        _ => 0,
    };
    let bits_available = bits_per_number.map(|b| proto.bits(max_len, lengths, b, frac, last_sent));
    // A fixed-point partial sum is exact in `p + F + ⌈log2 T⌉` bits, and with `format`
    // accumulation every partial sum is a format value, as is every `f64` number (64 bits
    // counted); a narrower float's (or `paper` grid's) exact `f64` partial sum needs more than
    // the bits counted.
    let bits_available_upper_bound = matches!(
        prepared.precision().format(),
        crate::numeric::Format::Fixed { .. } | crate::numeric::Format::F64
    ) || prepared.precision().accumulate()
        == crate::numeric::Accumulate::Format;
    Ok(Bounds {
        one_way_cc,
        distinct_rows,
        reverse,
        bits_per_number,
        bits_available,
        bits_available_upper_bound,
    })
}

/// Everything a check found, for [`report`].
struct Outcome {
    coverage: Coverage,
    sweep: Sweep,
    fooling: Option<FoolingCheck>,
    bounds: Bounds,
    message_numbers: usize,
    seed: u64,
    stats: Stats,
}

/// The check's report: the verdict, and which witness is reported.
fn report<M: Clone>(
    r: &Reduction,
    source: &M,
    prepared: &crate::model::Prepared,
    o: Outcome,
) -> CheckReport<M> {
    let Outcome {
        coverage,
        sweep,
        fooling,
        bounds,
        message_numbers,
        seed,
        stats,
    } = o;
    let instances = coverage.instances;
    let two_way_cc_lower_bound = fooling
        .as_ref()
        .map(|fs| ceil_log2(fs.size))
        .or_else(|| fooling_size(r).map(ceil_log2));
    let exhaustive = coverage.exhaustive;
    let perfect = sweep.correct == instances;
    let note = matches!(
        r.kind(),
        ReductionKind::IndexLookup | ReductionKind::RecallIndex
    )
    .then(|| {
        format!(
            "the query is Bob's last token, so Bob speaks first: the one-way Alice -> Bob bound ({} bits) binds only protocols where Alice alone speaks and does not apply; one-way Bob -> Alice needs only {} bits, and the Thm 4 protocol sends {} bits in both directions",
            bounds.one_way_cc.map_or("n".into(), |c| c.to_string()),
            bounds.reverse.map_or("log2 n".into(), |c: u32| c.to_string()),
            bounds.bits_available.map_or("-".into(), |b| b.to_string())
        )
    });
    let verdict = verdict(
        exhaustive,
        perfect,
        fooling.as_ref(),
        &sweep.found,
        sweep.mismatch_count,
    );
    let Found {
        model: witness,
        protocol: protocol_witness,
    } = sweep.found;
    // A protocol witness is reported apart only where it is not also the model's.
    let protocol_witness = if witness.is_some() {
        None
    } else {
        protocol_witness
    };
    let transcripts = sweep.transcripts;
    CheckReport {
        task: r.kind().name().to_string(),
        problem: super::problem_label(r),
        n: r.n(),
        model: source.clone(),
        precision: prepared.precision().name(),
        protocol: super::ProtocolKind::Thm4AnyPartition,
        instances,
        exhaustive,
        sample: (!exhaustive).then_some(SampleInfo {
            alice_inputs: coverage.covered,
            seed,
        }),
        correct: sweep.correct,
        accuracy: sweep.correct as f64 / instances as f64,
        distinct_messages: transcripts,
        log2_messages: (transcripts as f64).log2(),
        message_numbers,
        bits_per_number: bounds.bits_per_number,
        bits_available: bounds.bits_available,
        bits_available_upper_bound: bounds.bits_available_upper_bound,
        one_way_cc: bounds.one_way_cc,
        one_way_cc_bob_to_alice: bounds.reverse,
        two_way_cc_lower_bound,
        distinct_rows: bounds.distinct_rows,
        fooling_set: fooling,
        verdict,
        witness,
        protocol_witness,
        note,
        protocol_checked: instances,
        protocol_mismatch_count: sweep.mismatch_count,
        protocol_mismatches: sweep.mismatches,
        alice_steps: None,
        suffix_runs: None,
        saturated: stats.saturated,
        nan: stats.nan,
    }
}

/// An instance as a transcript group keeps it: inputs, `f`, and the forward pass's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    x: u64,
    y: u64,
    f: bool,
    forward: bool,
}

fn seen_of(ev: &Evaluated) -> Seen {
    Seen {
        x: ev.x,
        y: ev.y,
        f: ev.f,
        forward: ev.answer,
    }
}

/// The witnesses found so far (the first of each kind is kept).
#[derive(Debug, Default)]
struct Found {
    /// Two instances with one transcript and different `f` that the forward pass itself answers
    /// alike: the model errs on one of them, whatever the protocol computes elsewhere.
    model: Option<Witness>,
    /// Two instances with one transcript and different `f`: the protocol's answer (a function of
    /// the transcript) is wrong on one. About the model only where it equals the protocol.
    protocol: Option<Witness>,
}

impl Found {
    fn merge(&mut self, other: Found) {
        self.model = self.model.take().or(other.model);
        self.protocol = self.protocol.take().or(other.protocol);
    }
}

/// The instances of one transcript. The protocol's answer is a function of the transcript, so
/// it is the first instance's; the forward pass's answers can differ within a group where the
/// protocol differs from the model (`protocol_mismatch_count > 0`), so a witness about the model
/// is taken only from two instances the forward pass answers alike: `by[f][answer]` keeps the
/// first instance of each value of `f` and forward answer.
struct Group {
    first: Seen,
    protocol: bool,
    by: [[Option<Seen>; 2]; 2],
}

impl Group {
    fn new(first: Seen, protocol: bool) -> Self {
        let mut by = [[None; 2]; 2];
        by[usize::from(first.f)][usize::from(first.forward)] = Some(first);
        Group {
            first,
            protocol,
            by,
        }
    }

    /// Adds an instance of the transcript; returns the witnesses it completes.
    fn add(&mut self, inst: Seen) -> Found {
        let protocol = (inst.f != self.first.f).then(|| {
            pair_witness(
                (self.first.x, self.first.y, self.first.f),
                (inst.x, inst.y, inst.f),
                self.protocol,
            )
        });
        let (f, a) = (usize::from(inst.f), usize::from(inst.forward));
        let model = self.by[1 - f][a].map(|other| {
            pair_witness(
                (other.x, other.y, other.f),
                (inst.x, inst.y, inst.f),
                inst.forward,
            )
        });
        self.by[f][a].get_or_insert(inst);
        Found { model, protocol }
    }
}

/// Two instances with one transcript (so one answer) and different values of `f`.
fn pair_witness(a: (u64, u64, bool), b: (u64, u64, bool), answer: bool) -> Witness {
    Witness {
        x: a.0,
        x_prime: b.0,
        y: a.1,
        y_prime: Some(b.1),
        f_x: a.2,
        f_x_prime: b.2,
        answer,
        wrong: super::WrongInput::of(answer, a.2),
    }
}

/// The verdict about the model. It rests only on what the forward pass confirms: `must_err`
/// needs a model witness (two instances of one transcript, different `f`, answered alike by the
/// forward pass itself), so it stays sound where the protocol's output differs from the forward
/// pass. A pair on which only the protocol's answer is known to be shared (a protocol witness)
/// proves that the protocol errs, not the model: no verdict (`inconclusive`), and the sentence
/// says so.
fn verdict(
    exhaustive: bool,
    perfect: bool,
    fooling: Option<&FoolingCheck>,
    found: &Found,
    mismatches: u64,
) -> Verdict {
    let collapsed = fooling.filter(|fs| fs.distinct_transcripts < fs.size);
    let fooling_part = |fs: &FoolingCheck| {
        format!(
            "the fooling set ({}) has {} entries, but the protocol gives them only {} distinct transcripts: two share one",
            fs.description, fs.size, fs.distinct_transcripts
        )
    };
    let (tag, sentence) = match (&found.model, &found.protocol) {
        (Some(_), _) => (
            VerdictTag::MustErr,
            format!(
                "{}two instances with one transcript have different values of f and the forward pass answers them alike, so the model errs on one of them (witness below){}",
                collapsed.map_or(String::new(), |fs| format!("{}; ", fooling_part(fs))),
                if exhaustive {
                    ""
                } else {
                    " — the pair may lie outside the sampled instances (the fooling set's entries and their crossings are run whatever the sample)"
                }
            ),
        ),
        (None, Some(_)) => (
            VerdictTag::Inconclusive,
            format!(
                "{}: the Thm 4 protocol errs on one of a pair of instances with one transcript (protocol witness below), but the model's forward pass differs from the protocol on {mismatches} instances and answers no such pair alike, so nothing is proven about the model; the verdict rests only on pairs the forward pass confirms",
                collapsed.map_or("two instances with one transcript differ in f".to_string(), fooling_part)
            ),
        ),
        (None, None) if exhaustive => (
            VerdictTag::EnoughMessages,
            if mismatches > 0 {
                format!(
                    "every transcript's instances share one value of f: the protocol's size does not force an error (the protocol differs from the forward pass on {mismatches} instances)"
                )
            } else {
                "every transcript's instances share one value of f: the protocol's size does not force an error".to_string()
            },
        ),
        _ => (
            VerdictTag::Inconclusive,
            "no two instances of the sample with one transcript differ in f; a sample proves no bound".to_string(),
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
    use std::collections::{BTreeSet, HashMap};

    use super::*;
    use crate::app::ModelSource;
    use crate::model::{PosSpec, Spec, TransformerSpec, random_init};
    use crate::numeric::Precision;

    fn model(input: usize, d: usize, heads: usize, ln: bool, causal: bool, seed: u64) -> Model {
        random_init(
            &Spec::Transformer(TransformerSpec {
                input,
                d_model: d,
                heads,
                layers: 1,
                d_ff: Some(2 * d),
                output: Some(2),
                layer_norm: ln,
                pos: PosSpec::Sinusoidal,
                causal,
            }),
            seed,
        )
        .unwrap()
    }

    /// Every transcript and output of every instance of a small reduction.
    fn runs(r: &Reduction, m: &Model, prec: &str) -> Vec<(u64, u64, Run, Vec<f64>)> {
        let mut stats = Stats::default();
        let prepared = prepare(m, &Precision::parse(prec).unwrap(), r, &mut stats).unwrap();
        let Model::Transformer(tr) = prepared.model() else {
            unreachable!()
        };
        let task = r.task();
        let len = r.instance(0, r.bob_inputs().end - 1).unwrap().tokens.len();
        let ar = prepared.arith();
        let proto = Thm4::new(
            tr,
            ar,
            task.vocab().len(),
            len,
            |t| task.embed(&[t], &[]).unwrap()[0].clone(),
            &mut stats,
        )
        .unwrap();
        let mut out = Vec::new();
        for x in r.alice_inputs() {
            for y in r.bob_inputs() {
                let inst = r.instance(x, y).unwrap();
                let run = proto.run(&inst.tokens, &inst.owners, &mut stats);
                let seq = task.embed(&inst.tokens, &[]).unwrap();
                let fwd = prepared.forward(&seq, &mut stats).unwrap();
                out.push((x, y, run, fwd.outputs.last().unwrap().clone()));
            }
        }
        out
    }

    fn small_reductions() -> Vec<Reduction> {
        [
            (ReductionKind::DyckOddEven, 4),
            (ReductionKind::IndexLookup, 4),
            (ReductionKind::Equality, 3),
            (ReductionKind::Disjointness, 3),
            (ReductionKind::Mqar, 3),
        ]
        .into_iter()
        .map(|(k, n)| Reduction::new(k, n).unwrap())
        .collect()
    }

    /// With wide accumulation and a format of at most 26 significant bits the split sums are
    /// exact in `f64`, so the protocol's output is the forward pass's output bit for bit, for any
    /// partition, with or without layer norm and causal mask. At `f64` the split sums round
    /// differently (the mismatch the check reports), but only in the last bits.
    #[test]
    fn protocol_output_equals_forward_pass() {
        let mut seed = 0;
        for r in small_reductions() {
            let input = r.task().input_dim();
            for (heads, ln, causal) in [(1, false, true), (2, true, true), (2, true, false)] {
                seed += 1;
                let m = model(input, 4, heads, ln, causal, seed);
                for prec in ["fixed:2.4", "fixed:1.2", "bf16", "f32"] {
                    for (x, y, run, fwd) in runs(&r, &m, prec) {
                        assert_eq!(
                            message_key(&run.output),
                            message_key(&fwd),
                            "{} at {prec}, heads {heads}, ln {ln}: instance ({x}, {y})",
                            r.kind()
                        );
                    }
                }
                for (_, _, run, fwd) in runs(&r, &m, "f64") {
                    for (a, b) in run.output.iter().zip(&fwd) {
                        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0));
                    }
                }
            }
        }
    }

    /// The instances of one transcript form a rectangle `A × B` (what makes a transcript class
    /// a witness of error when `f` is not constant on it).
    #[test]
    fn transcript_classes_are_rectangles() {
        let mut more = small_reductions();
        more.push(Reduction::new(ReductionKind::RecallIndex, 3).unwrap());
        more.push(Reduction::new(ReductionKind::DyckHalves, 4).unwrap());
        for r in more {
            for (seed, prec) in [(9, "fixed:1.2"), (4, "fixed:1.0"), (12, "fixed:2.1")] {
                let m = model(r.task().input_dim(), 4, 2, true, true, seed);
                // Per transcript: its instances, and the output of the first one.
                type Class = (BTreeSet<(u64, u64)>, Vec<u64>);
                let mut classes: HashMap<Vec<u64>, Class> = HashMap::new();
                for (x, y, run, _) in runs(&r, &m, prec) {
                    let out = message_key(&run.output);
                    let class = classes
                        .entry(run.transcript)
                        .or_insert_with(|| (BTreeSet::new(), out.clone()));
                    class.0.insert((x, y));
                    // One transcript, one output: what makes a class a witness.
                    assert_eq!(class.1, out, "{} at {prec}: ({x}, {y})", r.kind());
                }
                if prec == "fixed:1.2" {
                    assert!(
                        classes.len() > 1,
                        "{}: a single class tests nothing",
                        r.kind()
                    );
                }
                for (set, _) in classes.values() {
                    let xs: BTreeSet<u64> = set.iter().map(|p| p.0).collect();
                    let ys: BTreeSet<u64> = set.iter().map(|p| p.1).collect();
                    assert_eq!(set.len(), xs.len() * ys.len(), "{}", r.kind());
                }
            }
        }
    }

    /// Every fooling set given is one: all entries have the value, and for two entries a cross
    /// pair does not.
    #[test]
    fn fooling_sets_are_fooling_sets() {
        for (kind, n) in [
            (ReductionKind::IndexLookup, 5),
            (ReductionKind::RecallIndex, 4),
            (ReductionKind::Equality, 4),
            (ReductionKind::Disjointness, 4),
            (ReductionKind::Mqar, 3),
            (ReductionKind::DyckOddEven, 8),
        ] {
            let r = Reduction::new(kind, n).unwrap();
            let FoolingSet {
                entries: set,
                value,
                ..
            } = fooling_set(&r).unwrap().unwrap();
            assert!(set.len() >= n as usize, "{kind}");
            assert_eq!(fooling_size(&r), Some(set.len() as u64), "{kind}");
            for (i, &(x, y)) in set.iter().enumerate() {
                assert_eq!(r.value(x, y).unwrap(), value, "{kind}");
                for &(x2, y2) in &set[..i] {
                    let cross =
                        r.value(x, y2).unwrap() != value || r.value(x2, y).unwrap() != value;
                    assert!(cross, "{kind}: ({x}, {y}) and ({x2}, {y2})");
                }
            }
        }
    }

    #[test]
    fn refuses_two_layers_and_counts_bits() {
        let r = Reduction::new(ReductionKind::Equality, 3).unwrap();
        let input = r.task().input_dim();
        let two = random_init(
            &Spec::Transformer(TransformerSpec {
                input,
                d_model: 4,
                heads: 1,
                layers: 2,
                d_ff: None,
                output: Some(1),
                layer_norm: false,
                pos: PosSpec::Sinusoidal,
                causal: true,
            }),
            0,
        )
        .unwrap();
        let source = ModelSource::Random {
            arch: "transformer".into(),
            width: 4,
            layers: 2,
            output: 1,
            seed: 0,
            heads: None,
        };
        let prec = Precision::parse("fixed:2.2").unwrap();
        let e = check(&two, &source, &prec, &r, &CheckOptions::default(), &|_| {}).unwrap_err();
        assert!(e.message.contains("Lemma 5"), "{}", e.message);
        // One head, d_v = 4, fixed:2.2 (p = 5 bits, F = 2) on EQ_3's 7 positions (⌈log2 7⌉ = 3
        // bits): the token (vocabulary of 3: 2 bits), 2 maxima of 5 bits, 2 normalisers of
        // 5 + 3 bits, 2 × 4 numerator coordinates of 5 + 2 + 3 bits (products of two grid
        // values have 2F fraction bits).
        let m = model(input, 4, 1, false, true, 3);
        let rep = check(&m, &source, &prec, &r, &CheckOptions::default(), &|_| {}).unwrap();
        assert_eq!(r.instance(0, 0).unwrap().tokens.len(), 7);
        assert_eq!(r.task().vocab().len(), 3);
        assert_eq!(rep.bits_available, Some(2 + 10 + 16 + 80));
    }

    /// A random model whose Thm 4 protocol, run with the forward pass's `format` accumulation at
    /// a float format, differs from the forward pass: a transcript can then carry instances the
    /// forward pass answers differently.
    fn mismatched(kind: ReductionKind, n: u32, seed: u64) -> (Reduction, Model, Precision) {
        let r = Reduction::new(kind, n).unwrap();
        let m = random_init(
            &Spec::Transformer(TransformerSpec {
                input: r.task().input_dim(),
                d_model: 4,
                heads: 1,
                layers: 1,
                d_ff: Some(8),
                output: Some(1),
                layer_norm: true,
                pos: PosSpec::Sinusoidal,
                causal: true,
            }),
            seed,
        )
        .unwrap();
        let p = Precision::parse("e4m3")
            .unwrap()
            .with_accumulate(crate::numeric::Accumulate::Format);
        (r, m, p)
    }

    /// The forward pass's answer on one instance.
    fn forward_answer(r: &Reduction, m: &Model, p: &Precision, x: u64, y: u64) -> bool {
        let inst = r.instance(x, y).unwrap();
        let seq = r.task().embed(&inst.tokens, &[]).unwrap();
        let t = m.forward(&seq, p, &mut Stats::default()).unwrap();
        crate::protocol::decode(t.outputs.last().unwrap())
    }

    /// Where the protocol's output differs from the forward pass, a `must_err` verdict comes
    /// only with a witness the forward pass itself confirms (both instances answered alike, `f`
    /// different); a pair known only to share the protocol's answer is reported apart, with no
    /// verdict about the model. (Before, the group's answer was its first instance's forward
    /// answer, and these cases reported `must_err` with a witness the forward pass refutes.)
    #[test]
    fn mismatches_give_no_unsound_witness() {
        for (kind, n, seed) in [
            (ReductionKind::Disjointness, 3, 29),
            (ReductionKind::Equality, 3, 29),
            (ReductionKind::DyckOddEven, 6, 0),
        ] {
            let (r, m, p) = mismatched(kind, n, seed);
            let source = ModelSource::Random {
                arch: "transformer".into(),
                width: 4,
                layers: 1,
                output: 1,
                seed,
                heads: None,
            };
            let rep = check(&m, &source, &p, &r, &CheckOptions::default(), &|_| {}).unwrap();
            assert!(
                rep.protocol_mismatch_count > 0,
                "{kind}: no mismatch to test"
            );
            if rep.verdict.tag == VerdictTag::MustErr {
                let w = rep.witness.as_ref().expect("must_err comes with a witness");
                let y2 = w.y_prime.unwrap_or(w.y);
                assert_ne!(r.value(w.x, w.y).unwrap(), r.value(w.x_prime, y2).unwrap());
                assert_eq!(
                    forward_answer(&r, &m, &p, w.x, w.y),
                    w.answer,
                    "{kind}: {w:?}"
                );
                assert_eq!(
                    forward_answer(&r, &m, &p, w.x_prime, y2),
                    w.answer,
                    "{kind}: {w:?}"
                );
            } else {
                assert!(rep.witness.is_none(), "{kind}");
            }
            if let Some(w) = &rep.protocol_witness {
                assert_eq!(rep.verdict.tag, VerdictTag::Inconclusive, "{kind}");
                assert!(rep.witness.is_none(), "{kind}");
                let y2 = w.y_prime.unwrap_or(w.y);
                assert_ne!(
                    forward_answer(&r, &m, &p, w.x, w.y),
                    forward_answer(&r, &m, &p, w.x_prime, y2),
                    "{kind}: a pair the forward pass answers alike is a model witness"
                );
                assert!(
                    rep.verdict
                        .sentence
                        .contains("nothing is proven about the model")
                );
            }
        }
    }

    /// A transcript group decides a model witness from forward answers alone, a protocol witness
    /// from the protocol's answer alone.
    #[test]
    fn group_separates_protocol_and_model_witnesses() {
        let seen = |x, f, forward| Seen {
            x,
            y: 0,
            f,
            forward,
        };
        // The protocol answers 0 on the whole transcript; the forward pass answers 1 then 0.
        let mut g = Group::new(seen(1, false, true), false);
        let found = g.add(seen(2, true, false));
        assert!(found.model.is_none());
        let pw = found.protocol.unwrap();
        assert_eq!((pw.x, pw.x_prime, pw.answer), (1, 2, false));
        // As the first instance: nothing new.
        let again = g.add(seen(3, false, true));
        assert!(again.model.is_none() && again.protocol.is_none());
        // f = 1 answered 1, like x = 1 (f = 0): the model errs on one of them.
        let mw = g.add(seen(4, true, true)).model.unwrap();
        assert_eq!((mw.x, mw.x_prime, mw.answer), (1, 4, true));
        assert_eq!(mw.wrong, crate::protocol::WrongInput::X);
        // With only the protocol's pair, the verdict says nothing about the model.
        let only = Found {
            model: None,
            protocol: Some(pw),
        };
        let v = verdict(true, false, None, &only, 7);
        assert_eq!(v.tag, VerdictTag::Inconclusive);
        assert!(
            v.sentence
                .contains("differs from the protocol on 7 instances")
        );
        let both = Found {
            model: Some(mw),
            protocol: None,
        };
        assert_eq!(
            verdict(true, false, None, &both, 7).tag,
            VerdictTag::MustErr
        );
    }
}
