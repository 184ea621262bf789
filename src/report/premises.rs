//! The reports of the premises commands: `ccsep tasks dyck-bijection` (Lemma 1's odd/even
//! bijection, both directions) and `ccsep tasks nearest-margin` (the margin of Thm 8's
//! reduction vectors), as a table and as JSON.

use super::Report;
use crate::task;

/// `ccsep tasks dyck-bijection`: one row per even length up to `up_to`.
#[derive(serde::Serialize)]
pub struct BijectionReport {
    pub up_to: usize,
    pub rows: Vec<task::premises::OddEvenBijection>,
}

impl BijectionReport {
    /// Every length passed.
    pub fn holds(&self) -> bool {
        self.rows.iter().all(|r| r.holds)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

impl Report for BijectionReport {
    fn table(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "Lemma 1: Dyck-(2,2), Alice the odd positions, Bob the even; every string of ( ) [ ] \
             of each length N, tested with the stack check\n"
        )?;
        writeln!(
            out,
            "  {:>3}  {:>12}  {:>7}  {:>7}  {:>10}  {:>11}  {:>12}  {:>12}",
            "N",
            "strings",
            "members",
            "2^(N-1)",
            "odd halves",
            "even halves",
            "odd fix even",
            "even fix odd"
        )?;
        for r in &self.rows {
            writeln!(
                out,
                "  {:>3}  {:>12}  {:>7}  {:>7}  {:>10}  {:>11}  {:>12}  {:>12}",
                r.length,
                r.strings_checked,
                r.members,
                r.expected_members,
                r.distinct_odd_halves,
                r.distinct_even_halves,
                yes_no(r.odd_fixes_even),
                yes_no(r.even_fixes_odd)
            )?;
        }
        if self.holds() {
            writeln!(
                out,
                "\nverdict: holds for every even N ≤ {}: 2^(N−1) members, and no two share their \
                 odd half or their even half, so they form a 1-fooling set of size 2^(N−1) \
                 (≥ N − 1 bits for any protocol)",
                self.up_to
            )
        } else {
            let bad: Vec<String> = self
                .rows
                .iter()
                .filter(|r| !r.holds)
                .map(|r| r.length.to_string())
                .collect();
            writeln!(out, "\nverdict: FAILS at N = {}", bad.join(", "))
        }
    }
    fn json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let value = serde_json::json!({
            "check": "lemma-1-odd-even-bijection",
            "up_to": self.up_to,
            "holds": self.holds(),
            "rows": self.rows,
        });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&value).expect("serialises")
        )
    }
}

/// `ccsep tasks nearest-margin`.
impl Report for task::premises::NearestReductionMargin {
    fn table(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let d = self.dim;
        writeln!(
            out,
            "Thm 8's reduction (DISJ_{n} → nearest neighbour): n = {n} points in d = {d}, \
             margin γ = {g}\n",
            n = self.points,
            g = self.margin
        )?;
        writeln!(out, "  vectors           {}", self.vectors)?;
        writeln!(
            out,
            "  worst similarity  {}/{d} = {} (the largest <v_i, v_j>, i ≠ j)",
            self.worst_numerator, self.worst_similarity
        )?;
        writeln!(
            out,
            "  attained margin   {}/{d} = {} (the queried point's lead over every other)",
            self.margin_numerator, self.attained_margin
        )?;
        writeln!(
            out,
            "  margin ≥ γ        {} (compared exactly)",
            yes_no(self.margin_holds)
        )?;
        writeln!(
            out,
            "  task's label      {} instances (each query v_i, labels e_i and 1 − e_i), {} wrong",
            self.instances_checked, self.label_errors
        )?;
        if self.holds {
            writeln!(
                out,
                "\nverdict: holds: every query v_i has v_i as its nearest point by at least γ, \
                 so the sequences of the reduction are instances of the task"
            )
        } else {
            writeln!(
                out,
                "\nverdict: FAILS: the reduction's sequences are not all instances of the task"
            )
        }
    }
    fn json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(self).expect("serialises")
        )
    }
}
