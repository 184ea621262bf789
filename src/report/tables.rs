//! Each result of `cc`, `check`, `construct` and `train` described once as [`Table`]s: what the
//! CSV and LaTeX renderers write, and the aligned text of the results that have no table of
//! their own (a size curve, training runs). Units are in the headers; a list of values in one
//! cell is space-separated.

use std::io;

use super::table::{Cell, Table, write_text};
use super::{Report, Tabular, measure_rows};
use crate::app::CheckReport;
use crate::app::check::GridSummary;
use crate::app::construct::CurveSummary;
use crate::app::train::SearchReport;
use crate::construct::ConstructReport;
use crate::measures::summary::Summary;
use crate::train::run::RunRecord;

/// The name serde gives a unit variant (`must_err`, `reached`): what JSON shows, so CSV agrees.
fn tag(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Values separated by spaces, in one cell (missing when there are none).
fn list<T: ToString>(values: &[T]) -> Cell {
    if values.is_empty() {
        return Cell::Missing;
    }
    Cell::Text(
        values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `ccsep cc`: the measures (a row each, with whether it is exact), then the bounds on `D`.
impl Tabular for Summary {
    fn tables(&self) -> Vec<Table> {
        let heading = format!("{} — {} x {} matrix", self.problem, self.rows, self.cols);
        let mut measures = Table::new(
            "measures",
            format!("{heading}: measures"),
            &["measure", "value", "exact"],
        );
        for (name, value, exact) in measure_rows(self) {
            measures.push(vec![
                name.into(),
                Cell::opt(value),
                value.map_or(Cell::Missing, |_| exact.into()),
            ]);
        }
        let mut bounds = Table::new(
            "bounds",
            format!("{heading}: bounds on D"),
            &["bound on D", "side", "bits", "certified"],
        );
        for b in &self.bounds {
            bounds.push(vec![
                b.bound.as_str().into(),
                b.side.name().into(),
                b.bits.into(),
                b.certified.into(),
            ]);
        }
        vec![measures, bounds]
    }
}

/// `ccsep check` at one point: one row.
impl Tabular for CheckReport {
    fn tables(&self) -> Vec<Table> {
        let title = format!(
            "{} ({}, n = {}) with {} at {}, protocol {}",
            self.task,
            self.problem,
            self.n,
            self.model.arch(),
            self.precision,
            self.protocol
        );
        vec![Table::record(
            "check",
            title,
            vec![
                ("task", self.task.as_str().into()),
                ("problem", self.problem.as_str().into()),
                ("n", self.n.into()),
                ("model", self.model.arch().into()),
                ("precision", self.precision.as_str().into()),
                ("protocol", self.protocol.name().into()),
                ("instances", self.instances.into()),
                ("exhaustive", self.exhaustive.into()),
                (
                    "sampled Alice inputs",
                    Cell::opt(self.sample.as_ref().map(|s| s.alice_inputs)),
                ),
                ("correct", self.correct.into()),
                ("accuracy", Cell::real(self.accuracy, 6)),
                ("distinct messages", self.distinct_messages.into()),
                ("log2 messages", Cell::real(self.log2_messages, 3)),
                ("numbers per message m", self.message_numbers.into()),
                ("bits per number p (bits)", Cell::opt(self.bits_per_number)),
                ("m·p (bits)", Cell::opt(self.bits_available)),
                (
                    "m·p bounds the bits sent",
                    self.bits_available_upper_bound.into(),
                ),
                ("one-way CC A->B (bits)", Cell::opt(self.one_way_cc)),
                (
                    "one-way CC B->A (bits)",
                    Cell::opt(self.one_way_cc_bob_to_alice),
                ),
                (
                    "two-way CC lower bound (bits)",
                    Cell::opt(self.two_way_cc_lower_bound),
                ),
                ("distinct rows", Cell::opt(self.distinct_rows)),
                ("protocol checked", self.protocol_checked.into()),
                ("protocol mismatches", self.protocol_mismatch_count.into()),
                ("verdict", tag(&self.verdict.tag).into()),
                ("witness", self.witness.is_some().into()),
            ],
        )]
    }
}

/// A grid of checks: a row per point (its error where it failed), then a row per precision
/// sweep (none unless the grid has several precisions).
impl Tabular for GridSummary {
    fn tables(&self) -> Vec<Table> {
        let heading = format!(
            "{} ({}, n = {}) with {}",
            self.task,
            self.problem.as_deref().unwrap_or("-"),
            self.n,
            self.model
        );
        let width: &[&str] = if self.several_widths { &["width"] } else { &[] };
        let columns: Vec<&str> = width
            .iter()
            .copied()
            .chain([
                "p (bits)",
                "precision",
                "protocol",
                "accuracy",
                "distinct messages",
                "distinct rows",
                "m",
                "m·p (bits)",
                "m·p bounds the bits sent",
                "bound (bits)",
                "verdict",
                "witness",
                "resumed",
                "error",
            ])
            .collect();
        let mut points = Table::new(
            "points",
            format!("{heading}: {} points", self.points),
            &columns,
        );
        for r in &self.rows {
            let mut row: Vec<Cell> = Vec::new();
            if self.several_widths {
                row.push(r.width.into());
            }
            row.extend([Cell::opt(r.p), r.precision.as_str().into()]);
            match &r.outcome {
                Ok(o) => row.extend([
                    o.protocol.as_str().into(),
                    Cell::real(o.accuracy, 6),
                    o.distinct_messages.into(),
                    Cell::opt(o.distinct_rows),
                    o.message_numbers.into(),
                    Cell::opt(o.bits_available),
                    o.bits_available_upper_bound.into(),
                    Cell::opt(o.bound),
                    o.verdict.as_str().into(),
                    o.witness.into(),
                    r.resumed.into(),
                    Cell::Missing,
                ]),
                Err(e) => {
                    row.extend(std::iter::repeat_n(Cell::Missing, 10));
                    row.extend([r.resumed.into(), e.as_str().into()]);
                }
            }
            points.push(row);
        }
        let mut tables = vec![points];
        if !self.sweeps.is_empty() {
            let mut sweeps = Table::new(
                "sweeps",
                format!("{heading}: precision sweeps"),
                &[
                    "width",
                    "protocol",
                    "points",
                    "failed",
                    "p min (bits)",
                    "p max (bits)",
                    "sampled",
                    "correct at p (bits)",
                    "stays correct from p (bits)",
                    "precisions at it",
                    "m",
                    "m·p (bits)",
                    "meets bound",
                    "bound (bits)",
                    "bound kind",
                ],
            );
            for s in &self.sweeps {
                let pick = s.stays_correct_from.as_ref();
                sweeps.push(vec![
                    Cell::opt(s.width),
                    Cell::opt(s.protocol.clone()),
                    s.points.into(),
                    list(&s.failed),
                    Cell::opt(s.p_min),
                    Cell::opt(s.p_max),
                    s.sampled.into(),
                    list(&s.correct_at),
                    Cell::opt(pick.map(|k| k.p)),
                    pick.map_or(Cell::Missing, |k| list(&k.precisions)),
                    Cell::opt(pick.map(|k| k.message_numbers)),
                    Cell::opt(pick.and_then(|k| k.bits_available)),
                    Cell::opt(pick.and_then(|k| k.meets_bound)),
                    Cell::opt(s.bound),
                    s.bound_kind.into(),
                ]);
            }
            tables.push(sweeps);
        }
        tables
    }
}

/// The cell of a construction's detail: scalars as themselves; a list or an object (a layout)
/// is in the JSON only.
fn detail(v: &serde_json::Value) -> Option<Cell> {
    match v {
        serde_json::Value::Null => Some(Cell::Missing),
        serde_json::Value::Bool(b) => Some(Cell::Bool(*b)),
        serde_json::Value::Number(x) => Some(match x.as_i64() {
            Some(i) => i.into(),
            None => x.as_u64().map_or(Cell::real(x.as_f64()?, 6), Cell::from),
        }),
        serde_json::Value::String(s) => Some(s.as_str().into()),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => None,
    }
}

/// `ccsep construct`, one build: one row (the construction's scalar details last).
impl Tabular for ConstructReport {
    fn tables(&self) -> Vec<Table> {
        let mut fields: Vec<(&str, Cell)> = vec![
            ("construction", self.name.as_str().into()),
            ("result", self.result.as_str().into()),
            ("n", self.n.into()),
            ("correct", self.correct.into()),
            ("exhaustive", self.exhaustive.into()),
            ("instances", self.instances.into()),
            ("errors", self.errors.into()),
            ("verified on", self.verified_on.as_str().into()),
            ("first error", Cell::opt(self.first_error.clone())),
            ("width", self.width.into()),
            ("heads", self.heads.into()),
            ("layers", self.layers.into()),
            ("precision", Cell::opt(self.precision.clone())),
            ("bits per number (bits)", Cell::opt(self.bits_per_number)),
            ("parameters", self.parameters.into()),
            ("parameters (bits)", Cell::opt(self.parameter_bits)),
            ("state / messages (bits)", Cell::opt(self.state_bits)),
        ];
        if let Some(map) = self.details.as_object() {
            for (k, v) in map {
                if let Some(c) = detail(v) {
                    fields.push((k.as_str(), c));
                }
            }
        }
        let title = format!("{} ({}), n = {}", self.name, self.result, self.n);
        vec![Table::record("construct", title, fields)]
    }
}

/// A size curve: a row per length (its error where it failed).
impl Tabular for CurveSummary {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "curve",
            format!("{} size curve: {}", self.name, self.config),
            &[
                "n",
                "length N",
                "correct",
                "exhaustive",
                "width",
                "heads",
                "layers",
                "precision",
                "bits per number (bits)",
                "size (bits)",
                "other bound (bits)",
                "other bound",
                "verified on",
                "resumed",
                "error",
            ],
        );
        for r in &self.rows {
            let mut row: Vec<Cell> = vec![r.n.into()];
            match &r.outcome {
                Ok(p) => row.extend([
                    p.length.into(),
                    p.correct.into(),
                    p.exhaustive.into(),
                    p.width.into(),
                    p.heads.into(),
                    p.layers.into(),
                    p.precision.as_str().into(),
                    p.bits_per_number.into(),
                    p.size_bits.into(),
                    Cell::real(p.other_bound_bits, 2),
                    p.other_bound.as_str().into(),
                    p.verified_on.as_str().into(),
                    r.resumed.into(),
                    Cell::Missing,
                ]),
                Err(e) => {
                    row.extend(std::iter::repeat_n(Cell::Missing, 12));
                    row.extend([r.resumed.into(), e.as_str().into()]);
                }
            }
            t.push(row);
        }
        vec![t]
    }
}

/// A curve's table is the shared text table; its JSON lines were streamed (or written to
/// `--out`) as each length finished, so its JSON is nothing more.
impl Report for CurveSummary {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(write_text(&self.tables()).as_bytes())
    }
    fn json(&self, _out: &mut dyn io::Write) -> io::Result<()> {
        Ok(())
    }
}

/// The columns of a training run (wall time and speed are left to JSON: the tables are the
/// same bytes on every rerun).
fn run_fields(r: &RunRecord) -> Vec<(&'static str, Cell)> {
    let c = &r.config;
    vec![
        ("task", c.task.as_str().into()),
        ("n", c.n.into()),
        ("arch", c.arch.as_str().into()),
        ("width", c.width.into()),
        ("layers", c.layers.into()),
        ("heads", c.heads.into()),
        ("lr", Cell::exact(c.lr)),
        ("seed", r.seed.into()),
        ("status", tag(&r.status).into()),
        ("steps", r.steps.into()),
        ("parameters", r.parameters.into()),
        ("best accuracy", Cell::real(r.best_accuracy, 4)),
        ("best step", r.best_step.into()),
        ("final accuracy", Cell::real(r.final_accuracy, 4)),
        ("final loss", Cell::real(r.final_loss, 4)),
        ("weights", Cell::opt(r.weights.clone())),
    ]
}

/// The table of training runs.
fn runs_table(title: String, runs: &[RunRecord]) -> Table {
    let columns: Vec<&str> = runs
        .first()
        .map(|r| run_fields(r).into_iter().map(|(h, _)| h).collect())
        .unwrap_or_default();
    let mut t = Table::new("runs", title, &columns);
    for r in runs {
        t.push(run_fields(r).into_iter().map(|(_, c)| c).collect());
    }
    t
}

/// One training run: one row.
impl Tabular for RunRecord {
    fn tables(&self) -> Vec<Table> {
        let title = format!(
            "{} on {} (n = {}), width {}",
            self.config.arch, self.config.task, self.config.n, self.config.width
        );
        vec![runs_table(title, std::slice::from_ref(self))]
    }
}

/// A run's table is the shared text table; its JSON the one line `ccsep train` prints.
impl Report for RunRecord {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(write_text(&self.tables()).as_bytes())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        let line = serde_json::to_value(self).expect("run records serialise");
        writeln!(out, "{line}")
    }
}

/// A width search: a row per run, in the order they were reported, then the search's answer.
impl Tabular for SearchReport {
    fn tables(&self) -> Vec<Table> {
        let s = &self.summary;
        let heading = format!("{} on {} (n = {})", s.arch, s.task, s.n);
        let runs = runs_table(format!("{heading}: {} runs", self.runs.len()), &self.runs);
        let widths: Vec<usize> = s.widths.iter().map(|w| w.width).collect();
        let search = Table::record(
            "search",
            format!("{heading}: {}", s.sentence()),
            vec![
                ("task", s.task.as_str().into()),
                ("n", s.n.into()),
                ("arch", s.arch.as_str().into()),
                ("target accuracy", Cell::exact(s.target)),
                ("steps", s.steps.into()),
                ("min width", Cell::opt(s.min_width)),
                ("interrupted", s.interrupted.into()),
                ("widths", list(&widths)),
                ("lrs", list(&s.lrs)),
                ("seeds", list(&s.seeds)),
            ],
        );
        vec![runs, search]
    }
}

/// A search's table is the shared text table; its JSON the summary line (`"kind":
/// "min_width"`), the run lines having been printed as each run finished.
impl Report for SearchReport {
    fn table(&self, out: &mut dyn io::Write) -> io::Result<()> {
        out.write_all(write_text(&self.tables()).as_bytes())
    }
    fn json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        let line = serde_json::to_value(&self.summary).expect("summaries serialise");
        writeln!(out, "{line}")
    }
}
