//! What the two-party constructions (`equality`, `disjointness`) share: the pairs `(x, y)` of
//! `n`-bit strings they are verified on, and their verification through the task's own tokens.

use super::super::ConstructOptions;
use super::super::kit::tally::{Stop, Tally, bit_case, tally};
use crate::error::InputError;
use crate::model::Model;
use crate::numeric::Precision;
use crate::task::{Task, Token, example_rng};

/// Every pair `(x, y)` of `n`-bit strings (`4^n` of them), `x` major, bit `i` of a string
/// being bit `i` of its number.
pub(crate) fn all_pairs(n: usize) -> impl Iterator<Item = (Vec<bool>, Vec<bool>)> {
    let bits = move |v: u64| (0..n).map(|i| (v >> i) & 1 == 1).collect::<Vec<bool>>();
    let all = 1u64 << n;
    (0..all).flat_map(move |x| (0..all).map(move |y| (bits(x), bits(y))))
}

/// The instances of a two-party verification: `count` pairs `(x, y)`, each written as an
/// instance of `task` by `tokens`, then `samples` of the task's own random instances.
pub(crate) struct PairInstances<'a, T, I, F> {
    pub task: &'a T,
    pub pairs: I,
    pub count: u64,
    pub tokens: F,
    pub samples: u64,
}

/// Verifies `model` at `prec` on the instances of `inst` (random instance `i` drawn from
/// `example_rng(opts.seed, i)`): the [`tally`] of the verifications of equality and
/// disjointness, which differ only in their pairs and tokens.
pub(crate) fn verify_pairs<'a, T, I, F>(
    model: &Model,
    prec: &Precision,
    inst: PairInstances<'a, T, I, F>,
    opts: &ConstructOptions,
    stop: Stop,
) -> Result<Tally, InputError>
where
    T: Task,
    I: Iterator<Item = (Vec<bool>, Vec<bool>)> + 'a,
    F: Fn(&[bool], &[bool]) -> Vec<Token> + 'a,
{
    let PairInstances {
        task,
        pairs,
        count,
        tokens,
        samples,
    } = inst;
    let given = pairs.map(move |(x, y)| bit_case(task, tokens(&x, &y)));
    let seed = opts.seed;
    let random = (0..samples).map(move |i| {
        let ex = task.generate(&mut example_rng(seed, i));
        bit_case(task, ex.tokens)
    });
    tally(
        model,
        prec,
        given.chain(random),
        stop,
        count + samples,
        &opts.progress,
    )
}
