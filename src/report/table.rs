//! A result described as tables: the one structure every renderer of [`super::Tabular`]
//! results reads (aligned text here, [`super::csv`] and [`super::latex`]).
//!
//! A [`Table`] is a named section with column headers and rows of typed [`Cell`]s. Units go in
//! the headers (`size (bits)`), never in the cells, so that a number stays a number: each
//! renderer decides how it shows one (CSV: the full value; text and LaTeX: the digits a person
//! reads). A result with several sections (a grid's points and its sweep verdicts) is several
//! tables, main one first.

use std::fmt::Write;

/// One value of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A count or size.
    Int(i128),
    /// A real number, shown to people with this many decimals (`None`: as Rust writes it, the
    /// shortest text that reads back as the same value); CSV writes it in full.
    Real(f64, Option<usize>),
    Bool(bool),
    Text(String),
    /// No value (not computed, not applicable): empty in CSV, `-` in text, `--` in LaTeX.
    Missing,
}

impl Cell {
    /// A real number shown with `decimals` decimals.
    pub fn real(value: f64, decimals: usize) -> Cell {
        Cell::Real(value, Some(decimals))
    }

    /// A real number shown in full (a learning rate: `0.0003`, not `0.000`).
    pub fn exact(value: f64) -> Cell {
        Cell::Real(value, None)
    }

    /// A text cell.
    pub fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    /// `value`, or [`Cell::Missing`].
    pub fn opt<T: Into<Cell>>(value: Option<T>) -> Cell {
        value.map_or(Cell::Missing, Into::into)
    }

    /// Whether the cell holds a number (right-aligned, in math mode in LaTeX).
    pub fn is_number(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Real(..))
    }

    /// The cell as people read it (text table; LaTeX escapes this).
    pub fn shown(&self) -> String {
        match self {
            Cell::Int(v) => v.to_string(),
            Cell::Real(v, _) if !v.is_finite() => v.to_string(),
            Cell::Real(v, Some(d)) => format!("{v:.d$}"),
            Cell::Real(v, None) => v.to_string(),
            Cell::Bool(b) => (if *b { "yes" } else { "no" }).to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Missing => "-".to_string(),
        }
    }
}

macro_rules! int_cells {
    ($($t:ty),*) => { $(
        impl From<$t> for Cell {
            fn from(v: $t) -> Cell {
                Cell::Int(i128::from(v))
            }
        }
    )* };
}
int_cells!(u8, u16, u32, u64, i64);

impl From<usize> for Cell {
    fn from(v: usize) -> Cell {
        Cell::Int(v as i128)
    }
}

impl From<u128> for Cell {
    fn from(v: u128) -> Cell {
        i128::try_from(v).map_or_else(|_| Cell::Text(v.to_string()), Cell::Int)
    }
}

impl From<bool> for Cell {
    fn from(v: bool) -> Cell {
        Cell::Bool(v)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Text(v.to_string())
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Text(v)
    }
}

/// A section of a result: headers and rows of cells, each row as long as the headers.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// A short name (`points`, `sweeps`): the `section` column when a CSV holds several tables.
    pub name: &'static str,
    /// The heading people read above the table.
    pub title: String,
    /// Column headers, units in parentheses.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Most columns a one-row table is shown with as a row: beyond this, text and LaTeX show it
/// transposed (one line per column), so that one result fits a terminal or a page.
const MAX_ROW_COLUMNS: usize = 4;

impl Table {
    /// An empty table with these columns.
    pub fn new(name: &'static str, title: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            name,
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// A one-row table from `(header, cell)` pairs.
    pub fn record(
        name: &'static str,
        title: impl Into<String>,
        fields: Vec<(&str, Cell)>,
    ) -> Table {
        let (columns, row): (Vec<String>, Vec<Cell>) =
            fields.into_iter().map(|(h, c)| (h.to_string(), c)).unzip();
        Table {
            name,
            title: title.into(),
            columns,
            rows: vec![row],
        }
    }

    /// Adds a row; it must have one cell per column.
    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "a row has one cell per column"
        );
        self.rows.push(row);
    }

    /// Whether every value of column `c` is a number (missing values aside), and one is.
    pub fn numeric_column(&self, c: usize) -> bool {
        let cells = || self.rows.iter().map(|r| &r[c]);
        cells().any(Cell::is_number) && cells().all(|v| v.is_number() || *v == Cell::Missing)
    }

    /// The table as people read it: a one-row table of more than `MAX_ROW_COLUMNS` columns
    /// becomes two columns, `quantity` and `value`, one row per original column.
    pub fn for_people(&self) -> Table {
        if self.rows.len() != 1 || self.columns.len() <= MAX_ROW_COLUMNS {
            return self.clone();
        }
        Table {
            name: self.name,
            title: self.title.clone(),
            columns: vec!["quantity".to_string(), "value".to_string()],
            rows: self
                .columns
                .iter()
                .zip(&self.rows[0])
                .map(|(h, c)| vec![Cell::Text(h.clone()), c.clone()])
                .collect(),
        }
    }
}

/// Writes `tables` as aligned text: each table's title, a blank line, its header and rows
/// (numbers right-aligned, two spaces between columns), and a blank line between tables.
pub fn write_text(tables: &[Table]) -> String {
    let mut out = String::new();
    for (i, table) in tables.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let t = table.for_people();
        let _ = writeln!(out, "{}\n", t.title);
        let shown: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::shown).collect())
            .collect();
        let widths: Vec<usize> = (0..t.columns.len())
            .map(|c| {
                shown
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([t.columns[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let right: Vec<bool> = (0..t.columns.len()).map(|c| t.numeric_column(c)).collect();
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    let pad = " ".repeat(widths[c] - s.chars().count());
                    if right[c] {
                        format!("{pad}{s}")
                    } else {
                        format!("{s}{pad}")
                    }
                })
                .collect();
            format!("  {}", parts.join("  ").trim_end())
        };
        let _ = writeln!(out, "{}", line(&t.columns));
        for r in &shown {
            let _ = writeln!(out, "{}", line(r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new("runs", "two runs", &["name", "bits", "accuracy"]);
        t.push(vec!["a".into(), 12u64.into(), Cell::real(0.5, 3)]);
        t.push(vec!["long name".into(), Cell::Missing, Cell::real(1.0, 3)]);
        t
    }

    #[test]
    fn text_aligns_numbers_right_and_text_left() {
        assert_eq!(
            write_text(&[sample()]),
            "two runs\n\n  name       bits  accuracy\n  a            12     0.500\n  long name     -     1.000\n"
        );
    }

    #[test]
    fn a_wide_record_is_shown_transposed_and_a_narrow_one_is_not() {
        let fields = |k: usize| (0..k).map(|i| ("c", Cell::from(i))).collect::<Vec<_>>();
        let wide = Table::record("r", "t", fields(MAX_ROW_COLUMNS + 1)).for_people();
        assert_eq!(wide.columns, ["quantity", "value"]);
        assert_eq!(wide.rows.len(), MAX_ROW_COLUMNS + 1);
        let narrow = Table::record("r", "t", fields(MAX_ROW_COLUMNS)).for_people();
        assert_eq!(narrow.rows.len(), 1);
    }

    #[test]
    fn a_column_with_text_is_not_numeric() {
        let t = sample();
        assert!(!t.numeric_column(0));
        assert!(t.numeric_column(1));
        assert!(t.numeric_column(2));
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_short_row_is_a_bug() {
        sample().push(vec![Cell::Missing]);
    }
}
