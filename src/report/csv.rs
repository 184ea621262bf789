//! CSV (RFC 4180: quoted where needed, CRLF line ends) of a result's tables, written with the
//! `csv` crate.
//!
//! One document per command, with one header row: a result of one table is that table; a
//! result of several (a grid's points and its sweep verdicts, a width search's runs and its
//! answer) is one table whose first column, `section`, names the table each row comes from,
//! and whose other columns are every table's columns, in the order first met (a column two
//! tables share, such as `width`, is one column); a cell a row's table lacks is empty.
//!
//! Numbers are written in full, as Rust writes them (the shortest text that reads back as the
//! same `f64`: no thousands separators, no units, which are in the headers); a missing value is
//! an empty cell; yes / no are `true` / `false`.

use std::io;

use super::table::{Cell, Table};

/// The cell as CSV holds it.
fn field(cell: &Cell) -> String {
    match cell {
        Cell::Int(v) => v.to_string(),
        Cell::Real(v, _) => v.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Text(s) => s.clone(),
        Cell::Missing => String::new(),
    }
}

/// The header and the rows of `tables` as one CSV document.
fn records(tables: &[Table]) -> (Vec<String>, Vec<Vec<String>>) {
    if let [table] = tables {
        let rows = table
            .rows
            .iter()
            .map(|r| r.iter().map(field).collect())
            .collect();
        return (table.columns.clone(), rows);
    }
    let mut header = vec!["section".to_string()];
    for t in tables {
        for c in &t.columns {
            if !header.contains(c) {
                header.push(c.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for t in tables {
        let at: Vec<usize> = t
            .columns
            .iter()
            .map(|c| {
                header
                    .iter()
                    .position(|h| h == c)
                    .expect("every column is in the header")
            })
            .collect();
        for r in &t.rows {
            let mut row = vec![String::new(); header.len()];
            row[0] = t.name.to_string();
            for (cell, &i) in r.iter().zip(&at) {
                row[i] = field(cell);
            }
            rows.push(row);
        }
    }
    (header, rows)
}

/// Writes `tables` as one CSV document.
pub fn write(tables: &[Table], out: &mut dyn io::Write) -> io::Result<()> {
    let (header, rows) = records(tables);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(&header)?;
    for r in &rows {
        w.write_record(r)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(tables: &[Table]) -> String {
        let mut out = Vec::new();
        write(tables, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_table_is_its_header_and_rows_with_numbers_in_full() {
        let mut t = Table::new("runs", "runs", &["name", "size (bits)", "accuracy", "ok"]);
        t.push(vec![
            "a, \"b\"".into(),
            1234567u64.into(),
            Cell::real(0.1, 2),
            true.into(),
        ]);
        t.push(vec![
            "line\nbreak".into(),
            Cell::Missing,
            Cell::real(f64::NAN, 2),
            false.into(),
        ]);
        assert_eq!(
            text(&[t]),
            "name,size (bits),accuracy,ok\r\n\"a, \"\"b\"\"\",1234567,0.1,true\r\n\"line\nbreak\",,NaN,false\r\n"
        );
    }

    #[test]
    fn several_tables_share_columns_under_a_section_column() {
        let mut points = Table::new("points", "p", &["width", "p"]);
        points.push(vec![2u64.into(), 3u64.into()]);
        let mut sweeps = Table::new("sweeps", "s", &["width", "verdict"]);
        sweeps.push(vec![2u64.into(), "fine".into()]);
        assert_eq!(
            text(&[points, sweeps]),
            "section,width,p,verdict\r\npoints,2,3,\r\nsweeps,2,,fine\r\n"
        );
    }

    #[test]
    fn what_is_written_reads_back_with_the_csv_crate() {
        let mut t = Table::new("t", "t", &["x", "y"]);
        t.push(vec!["\r\n,\"".into(), Cell::real(1e-300, 3)]);
        let written = text(&[t]);
        let mut reader = csv::Reader::from_reader(written.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][0], "\r\n,\"");
        assert_eq!(rows[0][1].parse::<f64>().unwrap(), 1e-300);
    }
}
