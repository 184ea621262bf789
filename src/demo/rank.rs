//! `ccsep demo rank`: the rank lower bound beside the one-way bound. On INDEX the one-way cost
//! Alice → Bob is `n` (every row distinct) while the rank of its matrix is only `n`, so the
//! log-rank bound allows about `log n` bits — and Bob → Alice does it in `⌈log2 n⌉ + 1`. Then
//! the same measures side by side for the other built-in problems, where the bounds meet.

use crate::certificate::Direction;
use crate::certificate::Of;
use crate::measures::one_way::one_way;
use crate::measures::rank::certify_rational;
use crate::measures::summary::{Summary, summarize};
use crate::measures::{Limits, ceil_log2};
use crate::problem::ProblemSpec;

use super::Options;
use super::term::{Mark, Span, Step, Tone, Walkthrough, bits, matrix, span, table};

fn bits_of(v: Option<u32>) -> String {
    v.map_or("—".to_string(), |b| b.to_string())
}

fn count_of(v: Option<u64>) -> String {
    v.map_or("—".to_string(), |b| b.to_string())
}

/// `⌈log2(rank M + rank(J − M))⌉` from a summary's rational ranks.
fn log_rank(s: &Summary) -> Option<u32> {
    Some(ceil_log2(s.rank_rational? + s.rank_rational_complement?))
}

/// One row of the side-by-side table.
fn row(s: &Summary) -> Vec<Span> {
    let r = |t: String| span(format!("{t:>6}"), Tone::Plain);
    vec![
        span(s.problem.clone(), Tone::Bold),
        r(count_of(s.rank_rational)),
        r(count_of(s.rank_rational_complement)),
        span(format!("{:>6}", bits_of(log_rank(s))), Tone::Alice),
        span(
            format!("{:>6}", bits_of(s.one_way_alice_to_bob.map(|b| b + 1))),
            Tone::Bob,
        ),
        span(
            format!("{:>6}", bits_of(s.one_way_bob_to_alice.map(|b| b + 1))),
            Tone::Bob,
        ),
        span(format!("{:>4}", bits_of(s.deterministic_cc)), Tone::Good),
    ]
}

/// Builds the walk-through at `o.n` bits per party.
pub fn build(o: &Options) -> anyhow::Result<Walkthrough> {
    let n = o.n;
    let limits = Limits::default();
    let spec = ProblemSpec::Index { n };
    let m = spec.matrix()?;
    let a_to_b = one_way(&m, Direction::AliceToBob);
    let b_to_a = one_way(&m, Direction::BobToAlice);
    let rank = certify_rational(&m, Of::Matrix, &limits);
    let rank_c = certify_rational(&m.complement(), Of::Complement, &limits);
    // The table shows ranks, one-way costs and D: the fooling-set and rectangle searches are
    // left out (IP_5's fooling-set search alone runs its whole node budget, half a minute).
    let table_limits = Limits {
        fooling_max_entries: 0,
        rectangle_max_cells: 0,
        ..Limits::default()
    };
    let index = summarize(&spec, &m, &table_limits, false, &|_| {});
    let rows: Vec<String> = (0..m.rows() as u64).map(|x| bits(x, n)).collect();
    let cols: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let basis: Vec<usize> = rank.basis_rows.iter().map(|&r| r as usize).collect();
    let pivots: Vec<usize> = rank.pivot_cols.iter().map(|&c| c as usize).collect();
    let draw = |marked: bool| {
        matrix(
            &format!("the INDEX_{n} matrix"),
            &rows,
            &cols,
            &|r, c| m.get(r, c),
            &|r, c| {
                if marked && basis.contains(&r) && pivots.contains(&c) {
                    Mark::Highlight
                } else {
                    Mark::Normal
                }
            },
        )
    };

    let first = Step::new("INDEX, and the one-way bound")
        .text(format!(
            "INDEX_{n}: Alice holds x, {n} bits; Bob holds a position i; the answer is bit x_i. \
             Its matrix has a row per x ({} rows, bit 0 first) and a column per i.",
            m.rows()
        ))
        .art(draw(false))
        .text(format!(
            "If only Alice may speak, her message must tell apart every two different rows: \
             ccsep counts {} distinct rows, so she needs ⌈log2 {}⌉ = {} bits (then Bob knows \
             the answer). This one-way bound is what binds an RNN that reads x and then i: its \
             state is Alice's message.",
            a_to_b.messages, a_to_b.messages, a_to_b.bits
        ));

    let second = Step::new("the rank bound")
        .text(format!(
            "Every protocol tree splits the matrix into rectangles of one value, and a rectangle \
             of ones has rank 1; so the leaves answering 1 are at least rank M and those \
             answering 0 at least rank(J − M). ccsep computes both over the rationals, with a \
             certificate: rank M = {}, rank(J − M) = {}. The entries of the non-singular \
             minor that proves rank M are marked (◆ for a 1, ◇ for a 0).",
            rank.rank, rank_c.rank
        ))
        .art(draw(true))
        .text({
            let log_rank = ceil_log2(rank.rank + rank_c.rank);
            let compare = if log_rank < a_to_b.bits {
                format!("below the {} bits of the one-way bound", a_to_b.bits)
            } else {
                format!(
                    "no lower than the one-way bound's {} at this small n; the gap opens as n \
                     grows (rank M stays n, the rows double)",
                    a_to_b.bits
                )
            };
            format!(
                "So by this bound a two-way protocol may need as few as ⌈log2({} + {})⌉ = \
                 {log_rank} bits: {compare}.",
                rank.rank, rank_c.rank
            )
        });

    let third = Step::new("Bob speaks first").text(format!(
        "Talking the other way round meets it: Bob sends i in ⌈log2 {n}⌉ = {} bits, Alice \
         answers with x_i, {} bits in all. ccsep's exact search over protocol trees gives \
         D(INDEX_{n}) = {} bits. Who speaks first is everything: Alice alone needs {} bits.",
        b_to_a.bits,
        b_to_a.bits + 1,
        bits_of(index.deterministic_cc),
        a_to_b.bits
    ));

    let others: Vec<Summary> = [
        ProblemSpec::Eq { n },
        ProblemSpec::Gt { n },
        ProblemSpec::Disj { n },
        ProblemSpec::Ip { n },
    ]
    .iter()
    .map(|p| -> anyhow::Result<Summary> {
        Ok(summarize(p, &p.matrix()?, &table_limits, false, &|_| {}))
    })
    .collect::<anyhow::Result<_>>()?;
    let mut rows: Vec<Vec<Span>> = vec![row(&index)];
    rows.extend(others.iter().map(row));
    let fourth = Step::new("side by side")
        .text(format!(
            "The same measures for the other problems at n = {n}, each computed now: the ranks \
             over the rationals, the log-rank lower bound, the one-way protocols plus the \
             answer bit (upper bounds), and D itself."
        ))
        .art(table(
            &format!("the bounds at n = {n}"),
            &[
                "problem", "rank M", "rank J-M", "log-rk", "A→B+1", "B→A+1", "D",
            ],
            &rows,
        ))
        .text({
            let meet: Vec<&str> = others
                .iter()
                .filter(|s| {
                    let up = s.one_way_alice_to_bob.min(s.one_way_bob_to_alice);
                    log_rank(s).is_some() && log_rank(s) == up.map(|b| b + 1)
                })
                .map(|s| s.problem.as_str())
                .collect();
            format!(
                "Where the log-rank bound meets the cheaper one-way protocol ({}), nothing is \
                 gained by talking both ways. On INDEX the log-rank bound is {} bits, Alice \
                 alone needs {}.",
                if meet.is_empty() {
                    "none of the others here".to_string()
                } else {
                    meet.join(", ")
                },
                bits_of(log_rank(&index)),
                a_to_b.bits
            )
        });

    Ok(Walkthrough {
        name: "rank",
        title: format!("The rank bound against the one-way bound (n = {n})"),
        steps: vec![first, second, third, fourth],
        question: "On INDEX the rank bound allows about log n bits and Bob really needs only \
                   that many. Which bound binds an RNN that reads x_0 … x_{n−1} and then the \
                   query i, and why doesn't the small rank bound help it?"
            .into(),
        answer: "The one-way bound. An RNN run on Alice's prefix and then Bob's suffix is a \
                 one-way protocol (Thm 2): Alice's message is its state, m·p bits, and it must \
                 separate all 2^n distinct rows, so m·p ≥ n (Thm 3). The rank bound is for \
                 protocols where Bob may speak first; the RNN cannot let the query travel back \
                 to x. A Transformer's attention can — the query picks the position (Thm 1) — \
                 which is why it needs only O(log n) width."
            .into(),
    })
}
