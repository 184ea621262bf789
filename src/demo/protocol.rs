//! `ccsep demo protocol`: an optimal deterministic protocol for GREATER-THAN, as the tree
//! `ccsep cc gt --certify` writes (with the lower bound that proves no shallower tree exists),
//! then walked down one bit at a time for one input pair, the rectangle of what is still
//! possible shrinking on the matrix until a leaf gives the answer.

use crate::certificate::check::check;
use crate::certificate::{Claim, LowerBoundWitness, ProtocolCert, ProtocolNode};
use crate::error::{InputError, Setting};
use crate::measures::Limits;
use crate::measures::summary::summarize;
use crate::problem::ProblemSpec;

use super::Options;
use super::term::{Art, Line, Mark, Step, Tone, Walkthrough, matrix};

/// The input pair followed: `--x` / `--y`, or one where the tree has work to do.
fn pair(o: &Options, size: u64) -> Result<(u64, u64), InputError> {
    let x =
        o.x.unwrap_or(if size < 4 { size - 1 } else { size / 2 + 1 });
    let y = o.y.unwrap_or(size / 2);
    for (s, v) in [(Setting::X, x), (Setting::Y, y)] {
        if v >= size {
            return Err(InputError::new(format!(
                "{s} {v}: GT_{n} has inputs 0 … {} (n = {n} bits per party)",
                size - 1,
                n = size.trailing_zeros()
            )));
        }
    }
    Ok((x, y))
}

fn set_words(ones: &[u64]) -> String {
    let items: Vec<String> = ones.iter().map(u64::to_string).collect();
    format!("{{{}}}", items.join(", "))
}

/// The tree drawn with box lines, one node a line.
fn tree_lines(node: &ProtocolNode, prefix: &str, edge: &str, out: &mut Vec<Line>) {
    let mut l = Line::new();
    l.push(format!("{prefix}{edge}"), Tone::Dim);
    match node {
        ProtocolNode::Leaf { output } => {
            l.push(format!("answer {output}"), Tone::Good);
            out.push(l);
        }
        ProtocolNode::Alice { ones, zero, one } | ProtocolNode::Bob { ones, zero, one } => {
            let alice = matches!(node, ProtocolNode::Alice { .. });
            let (who, tone, var) = if alice {
                ("Alice", Tone::Alice, "x")
            } else {
                ("Bob", Tone::Bob, "y")
            };
            l.push(format!("{who}: {var} in {}?", set_words(ones)), tone);
            out.push(l);
            let child = match edge {
                "" => String::new(),
                e if e.starts_with('├') => "│     ".to_string(),
                _ => "      ".to_string(),
            };
            let p = format!("{prefix}{child}");
            tree_lines(zero, &p, "├─0── ", out);
            tree_lines(one, &p, "└─1── ", out);
        }
    }
}

/// Builds the walk-through for GT with `o.n` bits per party.
pub fn build(o: &Options) -> anyhow::Result<Walkthrough> {
    let n = o.n;
    let spec = ProblemSpec::Gt { n };
    let size = 1u64 << n;
    let (x, y) = pair(o, size)?;
    let m = spec.matrix()?;
    let summary = summarize(&spec, &m, &Limits::default(), true, &|_| {});
    let cert = summary
        .certificates
        .iter()
        .find_map(|(_, c)| match &c.claim {
            Claim::Protocol(p) => Some((c.clone(), p.clone())),
            _ => None,
        })
        .ok_or_else(|| anyhow::anyhow!("the search found no protocol tree for GT_{n}"))?;
    let (
        file,
        ProtocolCert {
            depth,
            tree,
            lower_bound,
        },
    ) = cert;
    let verdict = check(&file);
    let labels: Vec<String> = (0..size).map(|v| v.to_string()).collect();
    let draw = |rows: &[bool], cols: &[bool]| -> Art {
        matrix(
            &format!("the GT_{n} matrix"),
            &labels,
            &labels,
            &|r, c| m.get(r, c),
            &|r, c| {
                if (r as u64, c as u64) == (x, y) {
                    Mark::Highlight
                } else if rows[r] && cols[c] {
                    Mark::Normal
                } else {
                    Mark::Faded
                }
            },
        )
    };
    let everyone = vec![true; size as usize];
    let mut steps =
        vec![Step::new("the GT matrix")
        .text(format!(
            "Alice holds a number x, Bob a number y, both below {size} ({n} bits each); f(x, \
             y) = 1 when x > y. Rows are Alice's x, columns Bob's y, █ is 1 and · is 0. We \
             follow the pair x = {x}, y = {y} (◆)."
        ))
        .art(draw(&everyone, &everyone))];

    let why = match &lower_bound {
        LowerBoundWitness::Trivial => "the matrix is not constant, so at least one bit".to_string(),
        LowerBoundWitness::FoolingSets { one, zero } => format!(
            "a 1-fooling set of {} entries and a 0-fooling set of {} need that many leaves, \
             and fewer bits give fewer leaves",
            one.pairs.len(),
            zero.pairs.len()
        ),
        LowerBoundWitness::Ranks { matrix, complement } => format!(
            "rank M + rank(J − M) = {} + {} leaves at least",
            matrix.rank, complement.rank
        ),
        LowerBoundWitness::Search { nodes } => {
            format!("the exhaustive search ({nodes} steps) found no shallower tree")
        }
    };
    let checked = match &verdict {
        Ok(v) => format!("The independent checker accepts the tree: {}.", v.statement),
        Err(r) => format!("The independent checker REJECTS the tree: {}.", r.0),
    };
    let mut lines = Vec::new();
    tree_lines(&tree, "", "", &mut lines);
    steps.push(
        Step::new("an optimal protocol tree")
            .text(format!(
                "ccsep searches every protocol tree and finds one of depth {depth}: no protocol \
                 for GT_{n} sends fewer bits, because {why}. At each node one party says \
                 whether their input is in a set (1) or not (0); each leaf is the answer."
            ))
            .art(Art::new(format!("the protocol tree of GT_{n}"), lines))
            .text(checked),
    );

    let mut rows = everyone.clone();
    let mut cols = everyone.clone();
    let mut node = &tree;
    let mut sent = String::new();
    let mut bit_no = 0;
    while let ProtocolNode::Alice { ones, zero, one } | ProtocolNode::Bob { ones, zero, one } = node
    {
        bit_no += 1;
        let alice = matches!(node, ProtocolNode::Alice { .. });
        let (who, mine, keep) = if alice {
            ("Alice", x, &mut rows)
        } else {
            ("Bob", y, &mut cols)
        };
        let bit = ones.contains(&mine);
        for (v, k) in keep.iter_mut().enumerate() {
            *k &= ones.contains(&(v as u64)) == bit;
        }
        sent.push(if bit { '1' } else { '0' });
        let left: usize = rows.iter().filter(|r| **r).count();
        let right: usize = cols.iter().filter(|c| **c).count();
        steps.push(
            Step::new(format!("bit {bit_no}: {who} speaks"))
                .text(format!(
                    "{who} asks: is my input {mine} in {}? {}, so {who} sends {}. Bits sent so \
                     far: {sent}. What is still possible is {left} of Alice's inputs × {right} \
                     of Bob's (the unfaded rectangle).",
                    set_words(ones),
                    if bit { "Yes" } else { "No" },
                    u8::from(bit)
                ))
                .art(draw(&rows, &cols)),
        );
        node = if bit { one } else { zero };
    }
    let ProtocolNode::Leaf { output } = node else {
        unreachable!("the walk stops at a leaf")
    };
    let f = m.get(x as usize, y as usize);
    let mono = (0..size as usize).filter(|&r| rows[r]).all(|r| {
        (0..size as usize)
            .filter(|&c| cols[c])
            .all(|c| m.get(r, c) == f)
    });
    steps.push(Step::new("the leaf").text(format!(
        "After {bit_no} bits ({sent}) the protocol reaches a leaf that answers {output}; \
             f({x}, {y}) = {}, so it is {}. The rectangle left is {}: every pair in it gets \
             this answer, which is why a leaf can answer without looking further.",
        u8::from(f),
        if (*output == 1) == f {
            "right"
        } else {
            "WRONG"
        },
        if mono {
            "all one value"
        } else {
            "NOT of one value"
        }
    )));

    Ok(Walkthrough {
        name: "protocol",
        title: format!(
            "An optimal protocol for GREATER-THAN on {n} bits, walked for x = {x}, y = {y}"
        ),
        steps,
        question: "Every leaf of a protocol tree is a rectangle of one value. How many leaves \
                   must any protocol tree for GT have at least, and what does that say about \
                   its depth?"
            .into(),
        answer: format!(
            "At least as many as the fewest rectangles of one value that partition the matrix \
             (the partition number, {} here), and at least rank M + rank(J − M) by the rank \
             argument; a tree of depth d has at most 2^d leaves, so d ≥ log2 of either. For \
             GT_{n} this tree of depth {depth} is optimal.",
            summary
                .partition_number
                .map_or("not computed".to_string(), |p| p.to_string())
        ),
    })
}
