//! Renders results for people (aligned tables) and for programs (JSON, CSV, LaTeX).
//!
//! Nothing else in the crate formats output. Every result type implements [`Report`]: its table
//! for people and its JSON (serde's). The results of `cc`, `check`, `construct` and `train`
//! also describe themselves once as [`Table`]s ([`Tabular`], in `tables.rs`), and each other
//! format is one renderer over that structure, written once: [`csv`], [`latex`], and the aligned
//! text of [`table::write_text`] for a result with no table of its own. [`render`] picks the
//! renderer of a [`Format`] (`--format`, or `--json`).

pub mod csv;
pub mod latex;
pub mod premises;
pub mod table;
mod tables;

pub use table::{Cell, Table};

use std::fmt::Write;
use std::io;

use crate::app::CheckReport;
use crate::app::check::{GridSummary, PointRow};
use crate::app::run::RunOutput;
use crate::app::verify::{Outcome, Verdict};
use crate::certificate::check::Verified;
use crate::construct::ConstructReport;
use crate::measures::summary::Summary;
use crate::task::Example;

/// How a result is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// JSON for programs.
    Json,
    /// CSV: one document, one header row ([`csv`]); [`Tabular`] results only.
    Csv,
    /// booktabs LaTeX tabulars ([`latex`]); [`Tabular`] results only.
    Latex,
}

impl Format {
    /// `Json` when `--json` was given.
    pub fn from_json_flag(json: bool) -> Self {
        if json { Format::Json } else { Format::Table }
    }
}

/// A result that renders as a table for people and as JSON for programs.
pub trait Report {
    /// The table, as people read it.
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()>;
    /// The JSON document, newline-terminated.
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()>;

    /// Renders as a table, or as JSON (`Csv` and `Latex` are for [`Tabular`] results: see
    /// [`render`]; asked of this method they give JSON).
    fn render(&self, format: Format, out: &mut dyn io::Write) -> io::Result<()> {
        match format {
            Format::Table => self.table(out),
            Format::Json | Format::Csv | Format::Latex => self.json(out),
        }
    }
}

/// A result that also describes itself as tables, main one first: what the CSV and LaTeX
/// renderers write.
pub trait Tabular: Report {
    fn tables(&self) -> Vec<Table>;
}

/// Renders a [`Tabular`] result in any format; `made_by` is the command line that made it,
/// which LaTeX names in a comment.
pub fn render(
    result: &(impl Tabular + ?Sized),
    format: Format,
    made_by: &str,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Table => result.table(out),
        Format::Json => result.json(out),
        Format::Csv => csv::write(&result.tables(), out),
        Format::Latex => latex::write(&result.tables(), made_by, out),
    }
}

/// Writes `value` as pretty JSON and a newline.
fn pretty(out: &mut dyn io::Write, value: &impl serde::Serialize) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).expect("results serialise");
    writeln!(out, "{text}")
}

impl Report for Summary {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(summary_table(self).as_bytes())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        pretty(out, self)
    }
}

impl Report for CheckReport {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(check_table(self).as_bytes())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        pretty(out, self)
    }
}

/// A finished grid of checks: its points as a table, one row each, and each precision sweep's
/// verdict; in JSON, the sweeps' summary lines only (one compact line each, `"kind":
/// "precision_sweep_summary"`), since the point lines were streamed or written to `--out`.
impl Report for GridSummary {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(grid_table(self).as_bytes())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        for s in &self.sweeps {
            let line = serde_json::to_string(s).expect("summaries serialise");
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

impl Report for ConstructReport {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(construct_table(self).as_bytes())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        pretty(out, self)
    }
}

impl Report for RunOutput {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(trace_table(self).as_bytes())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        pretty(out, self)
    }
}

/// Sampled examples of a task: one line each, or a JSON list.
impl Report for [Example] {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        for e in self {
            writeln!(out, "{e}")?;
        }
        Ok(())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        pretty(out, &self)
    }
}

/// One file's verdict: its line (a refused file has none: its error goes to stderr), or its
/// JSON object.
impl Report for Verdict {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        match &self.outcome {
            Outcome::Refused(_) => Ok(()),
            Outcome::Checked(result) => out.write_all(verdict_text(&self.file, result).as_bytes()),
        }
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        pretty(out, &verdict_value(self))
    }
}

/// Every file's verdict: their lines, or one JSON list.
impl Report for [Verdict] {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        for v in self {
            v.table(out)?;
        }
        Ok(())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        let values: Vec<serde_json::Value> = self.iter().map(verdict_value).collect();
        pretty(out, &values)
    }
}

/// The JSON object of one verdict.
fn verdict_value(v: &Verdict) -> serde_json::Value {
    match &v.outcome {
        Outcome::Refused(reason) => serde_json::json!({
            "file": v.file, "accepted": false, "reason": reason,
        }),
        Outcome::Checked(result) => verdict_json(&v.file, result),
    }
}

/// The measures of a `ccsep cc` summary: name, value (`None`: not computed within the
/// limits) and whether the value is exact (or a bound), in the table's order.
fn measure_rows(s: &Summary) -> Vec<(&'static str, Option<u64>, bool)> {
    let e = &s.exact;
    vec![
        (
            "one-way CC Alice->Bob (bits)",
            s.one_way_alice_to_bob.map(u64::from),
            e.one_way_alice_to_bob,
        ),
        (
            "one-way CC Bob->Alice (bits)",
            s.one_way_bob_to_alice.map(u64::from),
            e.one_way_bob_to_alice,
        ),
        ("rank over GF(2)", s.rank_gf2, e.rank_gf2),
        (
            "rank of J-M over GF(2)",
            s.rank_gf2_complement,
            e.rank_gf2_complement,
        ),
        ("rank over Q", s.rank_rational, e.rank_rational),
        (
            "rank of J-M over Q",
            s.rank_rational_complement,
            e.rank_rational_complement,
        ),
        (
            "max 1-fooling set",
            s.max_fooling_set_1,
            e.max_fooling_set_1,
        ),
        (
            "max 0-fooling set",
            s.max_fooling_set_0,
            e.max_fooling_set_0,
        ),
        ("1-cover number C^1", s.cover_number_1, e.cover_number_1),
        ("0-cover number C^0", s.cover_number_0, e.cover_number_0),
        (
            "partition number C^P",
            s.partition_number,
            e.partition_number,
        ),
        (
            "deterministic CC D (bits)",
            s.deterministic_cc.map(u64::from),
            e.deterministic_cc,
        ),
    ]
}

/// The `ccsep cc` table.
fn summary_table(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {} x {} matrix\n", s.problem, s.rows, s.cols);
    let rows = measure_rows(s);
    let _ = writeln!(out, "  {:<30} {:>8}  exact", "measure", "value");
    for (name, value, exact) in rows {
        let (v, x) = match value {
            Some(v) => (v.to_string(), if exact { "yes" } else { "no (bound)" }),
            None => ("-".to_string(), "not computed (limit)"),
        };
        let _ = writeln!(out, "  {name:<30} {v:>8}  {x}");
    }
    let _ = writeln!(out, "\n  bounds on D{:<57} side   bits  certified", "");
    for b in &s.bounds {
        let _ = writeln!(
            out,
            "  {:<68} {:<5} {:>5}  {}",
            b.bound,
            b.side.name(),
            b.bits,
            if b.certified { "yes" } else { "search record" }
        );
    }
    let _ = writeln!(out);
    match s.deterministic_cc {
        Some(d) => {
            let _ = writeln!(out, "  D({}) = {d} bits", s.problem);
        }
        None => {
            let _ = writeln!(
                out,
                "  D({}) not settled: {} <= D <= {}",
                s.problem, s.deterministic_cc_lower, s.deterministic_cc_upper
            );
        }
    }
    if !s.limits_hit.is_empty() {
        let _ = writeln!(out, "\n  limits:");
        for l in &s.limits_hit {
            let _ = writeln!(out, "  - {l}");
        }
    }
    if !s.certificate_files.is_empty() {
        let _ = writeln!(
            out,
            "\n  certificates ({}; check each with `ccsep verify FILE`):",
            s.certificate_files.len()
        );
        for f in &s.certificate_files {
            let _ = writeln!(out, "  - {f}");
        }
    }
    out
}

/// One line (plus notes) per checked certificate.
fn verdict_text(file: &str, result: &Result<Verified, String>) -> String {
    match result {
        Ok(v) => {
            let mut out = format!("ACCEPTED {file}: {}\n", v.statement);
            for u in &v.unchecked {
                let _ = writeln!(out, "  not re-derived: {u}");
            }
            out
        }
        Err(why) => format!("REJECTED {file}: {why}\n"),
    }
}

/// The `ccsep verify --json` object for one file.
fn verdict_json(file: &str, result: &Result<Verified, String>) -> serde_json::Value {
    match result {
        Ok(v) => serde_json::json!({
            "file": file, "accepted": true, "statement": v.statement, "unchecked": v.unchecked,
        }),
        Err(why) => serde_json::json!({ "file": file, "accepted": false, "reason": why }),
    }
}

/// The `ccsep run` table: one line per step with the last layer's hidden vector and the output.
fn trace_table(r: &RunOutput) -> String {
    let precision = &r.precision;
    let fmt = |v: &[f64]| {
        let shown: Vec<String> = v.iter().take(8).map(|x| format!("{x:.6}")).collect();
        let more = if v.len() > 8 {
            format!(" … ({} in all)", v.len())
        } else {
            String::new()
        };
        format!("[{}]{more}", shown.join(", "))
    };
    let mut out = format!("precision {precision}\n");
    for (i, (h, o)) in r.states.iter().zip(&r.outputs).enumerate() {
        let _ = writeln!(out, "step {i:>3}  h = {}", fmt(h));
        let _ = writeln!(out, "          out = {}", fmt(o));
    }
    let _ = writeln!(out, "saturated {}, NaN {}", r.saturated, r.nan);
    out
}

/// The `ccsep check` table.
fn check_table(r: &CheckReport) -> String {
    let mut out = String::new();
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let _ = writeln!(
        out,
        "{} ({}, n = {}) with {} at {}, protocol {}\n",
        r.task,
        r.problem,
        r.n,
        r.model.arch(),
        r.precision,
        r.protocol
    );
    let covered = match &r.sample {
        None => "all".to_string(),
        Some(s) => format!("sample of {} Alice inputs, seed {}", s.alice_inputs, s.seed),
    };
    let _ = writeln!(out, "  instances          {} ({covered})", r.instances);
    let _ = writeln!(
        out,
        "  accuracy           {:.6} ({} right)",
        r.accuracy, r.correct
    );
    let _ = writeln!(
        out,
        "  distinct messages  {} (log2 {:.3})",
        r.distinct_messages, r.log2_messages
    );
    let _ = writeln!(
        out,
        "  bits available     {} ({} numbers at {} bits{})",
        opt(r.bits_available),
        r.message_numbers,
        opt(r.bits_per_number.map(u64::from)),
        if r.bits_available_upper_bound {
            ""
        } else {
            "; no upper bound here: the exact f64 partial sums of this format need more bits"
        }
    );
    // The Thm 4 protocol is two-way: the one-way figures bind only protocols where one party
    // alone speaks, and the bound that applies is the two-way (fooling-set) one.
    let two_way = r.protocol == crate::protocol::ProtocolKind::Thm4AnyPartition;
    let _ = writeln!(
        out,
        "  one-way CC A->B    {} bits ({} distinct rows{})",
        opt(r.one_way_cc.map(u64::from)),
        opt(r.distinct_rows),
        if two_way {
            "; binds only protocols where Alice alone speaks"
        } else {
            ""
        }
    );
    if let Some(c) = r.one_way_cc_bob_to_alice {
        let _ = writeln!(out, "  one-way CC B->A    {c} bits");
    }
    if two_way {
        let _ = writeln!(
            out,
            "  two-way CC         >= {} bits (fooling-set bound for this partition: it binds every protocol computing f, two-way ones included)",
            opt(r.two_way_cc_lower_bound.map(u64::from))
        );
    }
    if let Some(fs) = &r.fooling_set {
        let _ = writeln!(
            out,
            "  fooling set        {} entries (log2 {:.3}), {} distinct transcripts: {}",
            fs.size, fs.log2_size, fs.distinct_transcripts, fs.description
        );
    }
    let _ = writeln!(
        out,
        "  protocol = model   {} of {} instances checked agree",
        r.protocol_checked - r.protocol_mismatch_count,
        r.protocol_checked
    );
    for m in r.protocol_mismatches.iter().take(5) {
        let _ = writeln!(
            out,
            "    MISMATCH x = {}, y = {}: protocol {}, forward {}",
            m.x,
            m.y,
            u8::from(m.protocol),
            u8::from(m.forward)
        );
    }
    if let Some(note) = &r.note {
        let _ = writeln!(out, "\nnote: {note}");
    }
    let _ = writeln!(
        out,
        "\nverdict: {:?} — {}",
        r.verdict.tag, r.verdict.sentence
    );
    // The two instances of a witness, as both witness lines name them.
    let pair = |w: &crate::protocol::Witness| {
        format!(
            "(x = {}, y = {}) and (x' = {}, y' = {})",
            w.x,
            w.y,
            w.x_prime,
            w.y_prime.unwrap_or(w.y)
        )
    };
    if let Some(w) = &r.witness {
        let _ = writeln!(
            out,
            "witness: {}: f = {} / {}, the model answers {} on both; wrong on {}",
            pair(w),
            u8::from(w.f_x),
            u8::from(w.f_x_prime),
            u8::from(w.answer),
            w.wrong
        );
    }
    if let Some(w) = &r.protocol_witness {
        let _ = writeln!(
            out,
            "protocol witness: {}: one transcript, f = {} / {}, the protocol answers {} on both (the forward pass does not answer them alike: no witness about the model)",
            pair(w),
            u8::from(w.f_x),
            u8::from(w.f_x_prime),
            u8::from(w.answer)
        );
    }
    out
}

/// The `ccsep construct` table.
fn construct_table(r: &ConstructReport) -> String {
    let mut out = String::new();
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let _ = writeln!(out, "{} ({}), n = {}\n", r.name, r.result, r.n);
    let _ = writeln!(
        out,
        "  correct            {} ({} errors in {} instances{})",
        if r.correct { "yes" } else { "NO" },
        r.errors,
        r.instances,
        if r.exhaustive { ", exhaustive" } else { "" }
    );
    let _ = writeln!(out, "  verified on        {}", r.verified_on);
    if let Some(e) = &r.first_error {
        let _ = writeln!(out, "  first error        {e}");
    }
    let _ = writeln!(
        out,
        "  size               width {}, heads {}, layers {}",
        r.width, r.heads, r.layers
    );
    let _ = writeln!(
        out,
        "  precision          {} ({} bits per number)",
        r.precision.as_deref().unwrap_or("-"),
        opt(r.bits_per_number.map(u64::from))
    );
    let _ = writeln!(
        out,
        "  parameters         {} ({} bits)",
        r.parameters,
        opt(r.parameter_bits)
    );
    let _ = writeln!(out, "  state / messages   {} bits", opt(r.state_bits));
    if let Some(map) = r.details.as_object() {
        for (k, v) in map {
            let _ = writeln!(out, "  {k:<18} {v}");
        }
    }
    out
}

/// The table of a grid of checks: a heading, one row per point (`p`, accuracy, distinct
/// messages against distinct rows, `m·p`, the bound, the verdict, whether there is a witness),
/// and each precision sweep's verdict.
fn grid_table(g: &GridSummary) -> String {
    let mut out = String::new();
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let _ = writeln!(
        out,
        "{} ({}, n = {}) with {}: {} points\n",
        g.task,
        g.problem.as_deref().unwrap_or("-"),
        g.n,
        g.model,
        g.points
    );
    let thm4 = g.rows.iter().any(|r| {
        r.outcome
            .as_ref()
            .is_ok_and(|o| o.protocol == crate::protocol::ProtocolKind::Thm4AnyPartition.name())
    });
    let width = |r: Option<&PointRow>| {
        if g.several_widths {
            format!(
                "{:>6} ",
                r.map_or("width".to_string(), |r| r.width.to_string())
            )
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        out,
        "  {}{:>3}  {:<12} {:>9}  {:>17}  {:>6}  {:>5}  {:<15}  witness",
        width(None),
        "p",
        "precision",
        "accuracy",
        "messages / rows",
        "m·p",
        "bound",
        "verdict"
    );
    for r in &g.rows {
        let p = r.p.map_or("-".to_string(), |p| p.to_string());
        let head = format!("  {}{p:>3}  {:<12}", width(Some(r)), r.precision);
        match &r.outcome {
            Ok(o) => {
                let messages = format!("{} / {}", o.distinct_messages, opt(o.distinct_rows));
                let mp = format!(
                    "{}{}",
                    opt(o.bits_available),
                    if o.bits_available_upper_bound {
                        ""
                    } else {
                        "*"
                    }
                );
                let _ = writeln!(
                    out,
                    "{head} {:>9.6}  {messages:>17}  {mp:>6}  {:>5}  {:<15}  {}{}",
                    o.accuracy,
                    opt(o.bound.map(u64::from)),
                    o.verdict,
                    if o.witness { "yes" } else { "no" },
                    if r.resumed {
                        "  (from the results file)"
                    } else {
                        ""
                    }
                );
            }
            Err(e) => {
                let _ = writeln!(out, "{head} error: {e}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\n  messages / rows: distinct messages (transcripts) against the problem's distinct rows; m·p: the bits available, numbers per message × bits per number{}; bound: {}",
        if thm4 {
            " (with the extra bits of the Thm 4 sums)"
        } else {
            ""
        },
        if thm4 {
            "the two-way CC lower bound (fooling set) of the partition, the one the Thm 4 protocol must meet"
        } else {
            "the one-way CC A->B, the bits a correct one-way protocol must send"
        }
    );
    if g.rows.iter().any(|r| {
        r.outcome
            .as_ref()
            .is_ok_and(|o| !o.bits_available_upper_bound)
    }) {
        let _ = writeln!(
            out,
            "  *: no upper bound on the bits sent (the exact f64 partial sums of this format need more)"
        );
    }
    for s in &g.sweeps {
        let _ = match s.width.filter(|_| g.several_widths) {
            Some(w) => writeln!(out, "\nsweep (width {w}): {}", s.sentence),
            None => writeln!(out, "\nsweep: {}", s.sentence),
        };
    }
    out
}
