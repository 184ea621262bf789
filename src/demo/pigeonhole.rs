//! `ccsep demo pigeonhole`: a small Elman RNN at 3 bits of state on index lookup (INDEX_n with
//! `n ≥ 4`). Alice's `2^n` prefixes reach fewer distinct states than that ([`alice_messages`]:
//! the walk `ccsep check` runs), so two of them collide; `ccsep check` finds a pair that Bob's
//! query separates, and the plain forward pass run on both instances gives one answer to two
//! different right answers. With `--witness-out` the pair is written as `ccsep check` writes
//! witnesses, for `ccsep verify`.

use crate::app::ModelSource;
use crate::app::witness::{WitnessFile, verify};
use crate::model::Model;
use crate::numeric::{Precision, Stats};
use crate::protocol::rnn::{self as rnn_protocol, alice_messages};
use crate::protocol::{CheckOptions, Split, score};
use crate::task::{Owner, Reduction, ReductionKind};

use super::Options;
use super::term::Art;
use super::term::{Line, Span, Step, Tone, Walkthrough, bits, span, table};

/// The model shown: an Elman RNN (tanh) of width 1, seed 4, whose head reads one number.
fn source() -> ModelSource {
    ModelSource::Random {
        arch: "rnn".into(),
        width: 1,
        layers: 1,
        output: 1,
        seed: 4,
        heads: None,
    }
}

/// The precision shown: `fixed:1.1`, 3 bits per number.
const PRECISION: &str = "fixed:1.1";

/// A state as the lecturer reads it.
fn numbers(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", items.join(", "))
}

/// An instance as two lines: its tokens (Alice's and Bob's coloured, the position `mark`
/// marked) and under each who holds it (`A`, `B`, or `·` for a public token), so that the
/// split reads without colour too.
pub fn instance_art(r: &Reduction, x: u64, y: u64, mark: Option<usize>) -> anyhow::Result<Art> {
    let inst = r.instance(x, y)?;
    let task = r.task();
    let (mut tokens, mut owners) = (Line::new(), Line::new());
    for (i, (&t, &o)) in inst.tokens.iter().zip(&inst.owners).enumerate() {
        let name = task.vocab().render(&[t]);
        let (who, tone) = match o {
            Owner::Alice => ("A", Tone::Alice),
            Owner::Bob => ("B", Tone::Bob),
            Owner::Public => ("·", Tone::Dim),
        };
        let w = name.chars().count();
        tokens.push(
            format!("{name} "),
            if Some(i) == mark { Tone::Mark } else { tone },
        );
        owners.push(format!("{who:<w$} "), tone);
    }
    Ok(Art::new("an instance", vec![tokens, owners]))
}

/// The tokens of an instance on one line, Alice's and Bob's coloured, `mark` marked.
pub fn tokens_line(r: &Reduction, x: u64, y: u64, mark: Option<usize>) -> anyhow::Result<Line> {
    Ok(instance_art(r, x, y, mark)?
        .variants
        .swap_remove(0)
        .swap_remove(0))
}

/// Builds the walk-through for INDEX_n, `n = o.n`.
pub fn build(o: &Options) -> anyhow::Result<Walkthrough> {
    let n = o.n;
    let r = Reduction::new(ReductionKind::IndexLookup, n)?;
    let task = r.task();
    let src = source();
    let model: Model = src.build(task.input_dim())?;
    let prec = Precision::parse(PRECISION)?;
    let p = prec.bits().unwrap_or(0);
    let m = model.state_size().unwrap_or(0);
    let state_bits = m as u32 * p;
    let split = Split::new(r.clone())?;
    let messages = alice_messages(&model, &prec, &split)?;
    let report = rnn_protocol::check(
        &model,
        &src,
        &prec,
        &split,
        &CheckOptions::default(),
        &|_| {},
    )?;

    let example = instance_art(&r, 0b1011 & ((1 << n) - 1), 2, None)?;
    let first = Step::new("more inputs than states")
        .text(format!(
            "Index lookup: the model reads {n} bits x_0 … x_{}, then a query @i, and must output \
             x_i. Alice (A) holds the bits, Bob (B) the query:",
            n - 1
        ))
        .art(example)
        .text(format!(
            "Our RNN is an Elman network (tanh) of width {m}, random weights (seed 4), run at \
             {PRECISION}: every number it stores has {p} bits, so its whole state is {m}·{p} = \
             {state_bits} bits and it can be in at most 2^{state_bits} = {} states. When Alice \
             has fed her {n} bits, the state is all that carries them to Bob's query. She has \
             2^{n} = {} inputs: by the pigeonhole principle, two of them must end in one state.",
            1u64 << state_bits,
            1u64 << n
        ));

    let rows: Vec<Vec<Span>> = messages
        .iter()
        .map(|msg| {
            let shared = msg.inputs.len() > 1;
            let who: Vec<String> = msg.inputs.iter().map(|&x| bits(x, n)).collect();
            vec![
                span(numbers(&msg.state), Tone::Bold),
                span(
                    format!("{:>3}", msg.inputs.len()),
                    if shared { Tone::Bad } else { Tone::Good },
                ),
                span(who.join(" "), Tone::Alice),
            ]
        })
        .collect();
    let second = Step::new("Alice's states")
        .text(format!(
            "ccsep runs the model on all {} of Alice's inputs (as `ccsep check` does, merging \
             equal states as it goes) and groups them by the state they reach:",
            1u64 << n
        ))
        .art(table(
            "Alice's states",
            &["state", "inputs", "Alice's inputs x (bit 0 first)"],
            &rows,
        ))
        .text(format!(
            "{} inputs, {} distinct states (at most {} were possible). Every row of INDEX_{n} \
             is different, so a correct model would need {} states.",
            1u64 << n,
            messages.len(),
            1u64 << state_bits,
            report
                .distinct_rows
                .map_or("—".to_string(), |d| d.to_string())
        ));

    let Some(w) = report.witness.clone() else {
        anyhow::bail!(
            "the check of this RNN found no witness ({}); the demo needs one",
            report.verdict.sentence
        );
    };
    let (x, x2, y) = (w.x, w.x_prime, w.y);
    let shared = messages
        .iter()
        .find(|msg| msg.inputs.contains(&x))
        .map(|msg| numbers(&msg.state))
        .unwrap_or_default();
    let mut pair_lines = Vec::new();
    for (name, v) in [("x ", x), ("x'", x2)] {
        let mut l = Line::new();
        l.push(format!("{name} = "), Tone::Bold);
        l.extend(tokens_line(&r, v, y, Some(y as usize))?);
        l.push(format!("  f = x_{y} = {}", (v >> y) & 1), Tone::Plain);
        pair_lines.push(l);
    }
    let third = Step::new("a colliding pair")
        .text(format!(
            "ccsep check picks two of Alice's inputs in one state whose rows differ, and a query \
             that tells them apart: x = {} and x' = {} both reach the state {shared}, and they \
             differ at position {y}. Bob asks for it:",
            bits(x, n),
            bits(x2, n)
        ))
        .art(Art::new("the colliding pair", pair_lines))
        .text(
            "Bob continues from the state alone, so he cannot tell which of the two he is in: \
             the model's answer is the same on both, and the right answers differ.",
        );

    let mut stats = Stats::default();
    let mut traces = Vec::new();
    for v in [x, x2] {
        let inst = r.instance(v, y)?;
        let inputs = task.embed(&inst.tokens, &[])?;
        let t = model.forward(&inputs, &prec, &mut stats)?;
        let (bit, right) = score(&r, v, y, &t.outputs);
        traces.push((inst, t, bit, right));
    }
    let mut run_rows = Vec::new();
    for pos in 0..traces[0].0.tokens.len() {
        let cell = |k: usize| {
            let (inst, t, _, _) = &traces[k];
            (
                task.vocab().render(&[inst.tokens[pos]]),
                numbers(&t.states[pos]),
            )
        };
        let (a, sa) = cell(0);
        let (b, sb) = cell(1);
        let same = sa == sb;
        let tone = if same { Tone::Bad } else { Tone::Plain };
        let who = match traces[0].0.owners[pos] {
            Owner::Alice => Tone::Alice,
            Owner::Bob => Tone::Bob,
            Owner::Public => Tone::Dim,
        };
        run_rows.push(vec![
            span(format!("{pos:>3}"), Tone::Dim),
            span(a, who),
            span(sa, tone),
            span(b, who),
            span(sb, tone),
        ]);
    }
    let outs = |k: usize| numbers(traces[k].1.outputs.last().map_or(&[][..], Vec::as_slice));
    let file = WitnessFile::of_check(&src, prec, &report)
        .ok_or_else(|| anyhow::anyhow!("the check's witness could not be written as a file"))?;
    let reverified = match verify(&file, o.spell) {
        Ok(v) => format!(
            "ccsep verify, which re-runs the model from scratch, agrees: {}.",
            v.statement
        ),
        Err(e) => format!("ccsep verify REJECTS the pair: {e}."),
    };
    if let Some(path) = &o.witness_out {
        file.write(path)?;
    }
    let wrong = if traces[0].3 { "x'" } else { "x" };
    let mut fourth = Step::new("the wrong answer, by running the model")
        .text(
            "Now the plain forward pass, on both whole sequences, step by step (the state after \
             each token; the same state in red):",
        )
        .art(table(
            "the two runs",
            &["pos", "x", "state", "x'", "state"],
            &run_rows,
        ))
        .text(format!(
            "Outputs after the query: {} and {}, read as the answer {} both times. But f = {} \
             on x and {} on x': the model is wrong on {wrong}. {reverified}",
            outs(0),
            outs(1),
            u8::from(traces[0].2),
            u8::from(w.f_x),
            u8::from(w.f_x_prime)
        ));
    if let Some(path) = &o.witness_out {
        fourth = fourth.text(format!(
            "The pair is written to {} (check it again with: ccsep verify {}).",
            path.display(),
            path.display()
        ));
    }

    Ok(Walkthrough {
        name: "pigeonhole",
        title: format!(
            "Pigeonhole: an RNN with {state_bits} bits of state cannot do index lookup on {n} bits"
        ),
        steps: vec![first, second, third, fourth],
        question: format!(
            "This RNN stores {state_bits} bits. How many bits of state must any RNN have to be \
             right on every instance of index lookup with {n} bits, and would more bits alone \
             be enough?"
        ),
        answer: format!(
            "At least {n}: Alice's 2^{n} inputs have 2^{n} different rows, each needs its own \
             state, so m·p ≥ {n} (Thm 3: m ≥ N/p). It is necessary, not sufficient: more states \
             only make a correct model possible. One exists at m·p = O(N): `ccsep construct \
             index-rnn --n {n}` builds an RNN of width {n} that stores every bit and is checked \
             on every instance."
        ),
    })
}
