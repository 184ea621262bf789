//! `ccsep demo fooling`: the matrix of EQUALITY, a maximum 1-fooling set found on it (and
//! re-checked by the independent checker), why its entries need a leaf each, and the bound on
//! `D` this gives beside every other bound `ccsep cc` computes: `D(EQ_n) = n + 1`.

use crate::certificate::check::check;
use crate::certificate::{CertificateFile, Claim};
use crate::measures::summary::summarize;
use crate::measures::{Limits, ceil_log2, fooling::max_fooling_set};
use crate::problem::ProblemSpec;

use super::Options;
use super::term::{Mark, Step, Tone, Walkthrough, bits, matrix, span, table};

/// Builds the walk-through for EQ with `o.n` bits per party.
pub fn build(o: &Options) -> anyhow::Result<Walkthrough> {
    let n = o.n;
    let spec = ProblemSpec::Eq { n };
    let m = spec.matrix()?;
    let size = m.rows();
    let labels: Vec<String> = (0..size as u64).map(|x| bits(x, n)).collect();
    let limits = Limits::default();
    let one = max_fooling_set(&m, true, &limits).ok_or_else(|| {
        anyhow::anyhow!("EQ_{n} has more 1-entries than the fooling-set search takes")
    })?;
    let zero = max_fooling_set(&m, false, &limits).ok_or_else(|| {
        anyhow::anyhow!("EQ_{n} has more 0-entries than the fooling-set search takes")
    })?;
    let verdict = check(&CertificateFile::new(
        spec.clone(),
        Claim::FoolingSet(one.clone()),
    ));
    let summary = summarize(&spec, &m, &limits, false, &|_| {});
    let in_set = |r: usize, c: usize| one.pairs.contains(&(r as u64, c as u64));

    let draw = |marked: bool| {
        matrix(
            &format!("the EQ_{n} matrix"),
            &labels,
            &labels,
            &|r, c| m.get(r, c),
            &|r, c| {
                if marked && in_set(r, c) {
                    Mark::Highlight
                } else {
                    Mark::Normal
                }
            },
        )
    };
    let first = Step::new("the EQ matrix")
        .text(format!(
            "Alice holds a string x of {n} bits, Bob holds y, and together they must say whether \
             x = y. Write every answer in one table: a row for each of Alice's {size} strings, \
             a column for each of Bob's, █ where f(x, y) = 1 (x = y) and · where it is 0. \
             Strings are written bit 0 first."
        ))
        .art(draw(false));

    let pairs = &one.pairs;
    let crossed: Vec<Vec<_>> = pairs
        .iter()
        .zip(pairs.iter().skip(1))
        .take(3)
        .map(|(&(x1, y1), &(x2, y2))| {
            let f = |x: u64, y: u64| m.get(x as usize, y as usize);
            let zero_or_one = |v: bool| if v { "1" } else { "0" };
            vec![
                span(format!("({}, {})", bits(x1, n), bits(y1, n)), Tone::Mark),
                span(format!("({}, {})", bits(x2, n), bits(y2, n)), Tone::Mark),
                span(zero_or_one(f(x1, y2)), Tone::Bad),
                span(zero_or_one(f(x2, y1)), Tone::Bad),
            ]
        })
        .collect();
    let checked = match &verdict {
        Ok(v) => format!(
            "The independent checker (the one `ccsep verify` runs) accepts it: {}.",
            v.statement
        ),
        Err(r) => format!("The independent checker REJECTS it: {}.", r.0),
    };
    let second = Step::new("a fooling set")
        .text(format!(
            "ccsep's clique search finds a largest 1-fooling set: {} entries ◆, all with f = 1, \
             such that for any two of them, (x, y) and (x', y'), one of the crossed entries \
             f(x, y') or f(x', y) is 0. {} Here it is the whole diagonal.",
            pairs.len(),
            if one.proven_maximum {
                "The search proved no larger one exists."
            } else {
                "The search stopped before proving it the largest."
            }
        ))
        .art(draw(true))
        .text(checked)
        .art(table(
            "the crossed entries of the first pairs",
            &["entry", "entry'", "f(x, y')", "f(x', y)"],
            &crossed,
        ));

    let leaves = pairs.len() as u64 + zero.pairs.len() as u64;
    let third = Step::new("why each needs its own leaf")
        .text(
            "A deterministic protocol is a tree: every bit sent halves what is still possible, \
             and the inputs (x, y) that reach one leaf form a rectangle R × C — Alice's inputs \
             R that sent those bits, times Bob's C — on which the protocol gives one answer.",
        )
        .text(format!(
            "If two fooling-set entries (x, x) and (x', x') reached the same leaf, its rectangle \
             would hold the crossed entry (x, x') too, and the leaf would answer 1 where f is 0. \
             So the {} entries need {} different leaves answering 1. The largest 0-fooling set \
             has {} entries, so the leaves answering 0 are at least {} more.",
            pairs.len(),
            pairs.len(),
            zero.pairs.len(),
            zero.pairs.len()
        ))
        .text(format!(
            "A tree of depth d has at most 2^d leaves, so d ≥ ⌈log2({} + {})⌉ = {} bits.",
            pairs.len(),
            zero.pairs.len(),
            ceil_log2(leaves)
        ));
    let rows: Vec<Vec<_>> = summary
        .bounds
        .iter()
        .map(|b| {
            vec![
                span(
                    b.side.name(),
                    if b.side.name() == "lower" {
                        Tone::Alice
                    } else {
                        Tone::Bob
                    },
                ),
                span(format!("{:>4}", b.bits), Tone::Bold),
                span(b.bound.clone(), Tone::Plain),
                span(if b.certified { "yes" } else { "search record" }, Tone::Dim),
            ]
        })
        .collect();
    let d = summary
        .deterministic_cc
        .map_or("not settled".to_string(), |d| format!("{d} bits"));
    let fourth = Step::new("n + 1 bits, and no fewer")
        .text(format!(
            "And n + 1 bits are enough: Alice sends her {n} bits, Bob answers with one. Every \
             bound `ccsep cc eq --n {n}` computes, side by side:"
        ))
        .art(table(
            &format!("the bounds on D(EQ_{n})"),
            &["side", "bits", "from", "certified"],
            &rows,
        ))
        .text(format!(
            "The fooling-set bound ({} bits) {} the one-way upper bound ({} bits): D(EQ_{n}) = \
             {d}. A matrix this small could be searched exhaustively; the fooling set is what \
             proves it for every n.",
            ceil_log2(leaves),
            if Some(ceil_log2(leaves)) == summary.one_way_alice_to_bob.map(|b| b + 1) {
                "meets"
            } else {
                "does not meet"
            },
            summary
                .one_way_alice_to_bob
                .map_or("—".to_string(), |b| (b + 1).to_string())
        ));

    Ok(Walkthrough {
        name: "fooling",
        title: format!("A fooling set of EQUALITY forces n + 1 bits (n = {n})"),
        steps: vec![first, second, third, fourth],
        question: "The fooling set forces n + 1 bits on every deterministic protocol for EQ. Yet \
                   there is a randomised protocol for EQ with O(log n) bits. Which step of the \
                   argument fails for a randomised protocol?"
            .into(),
        answer: "The step 'one leaf, one answer on its whole rectangle'. A randomised protocol \
                 may be wrong with small probability: Alice sends a short fingerprint of x (x \
                 modulo a random prime, or its inner products with a few random strings), Bob \
                 compares it with y's. For a fixed random choice, (x, x) and (x', x') can share \
                 a leaf; the protocol then errs on (x, x'), but only for the few random choices \
                 where the fingerprints of x and x' collide. Bounds that bind randomised \
                 protocols need other arguments (INDEX and DISJ have them; EQ has none)."
            .into(),
    })
}
