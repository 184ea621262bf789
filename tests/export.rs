//! `--format csv` against `--json`: the CSV of a command parses with the `csv` crate, has one
//! row per JSON object or line, and holds the same values; `--json` with `--format` is refused.

mod common;

use common::{ccsep, success_json, success_stdout};

/// The header and rows of a CSV document.
fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            r.expect("a CSV record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    (header, rows)
}

/// The JSON lines of a command's standard output.
fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The value of `column` in `row`.
fn cell<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column:?} in {header:?}"));
    &row[i]
}

fn run(args: &[&str]) -> Vec<u8> {
    success_stdout(ccsep().args(args))
}

#[test]
fn a_precision_sweep_has_a_csv_row_per_json_line_with_the_same_values() {
    let args = [
        "check",
        "--task",
        "index",
        "--arch",
        "rnn",
        "--n",
        "3",
        "--width",
        "1,2",
        "--precision",
        "fixed:1.1..fixed:1.4",
        "--init",
        "random",
    ];
    let lines = json_lines(&run(&[&args[..], &["--json"]].concat()));
    let (header, rows) = parse_csv(&run(&[&args[..], &["--format", "csv"]].concat()));
    assert_eq!(rows.len(), lines.len());
    assert_eq!(header[0], "section");
    let (points, sweeps): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r[0] == "points");
    let (point_lines, sweep_lines): (Vec<_>, Vec<_>) =
        lines.iter().partition(|l| l.get("kind").is_none());
    assert_eq!((points.len(), sweeps.len()), (8, 2));
    assert_eq!(point_lines.len(), points.len());
    for (row, line) in points.iter().zip(&point_lines) {
        let accuracy: f64 = cell(&header, row, "accuracy").parse().unwrap();
        assert_eq!(accuracy, line["accuracy"].as_f64().unwrap());
        assert_eq!(cell(&header, row, "precision"), line["precision"]);
        assert_eq!(
            cell(&header, row, "distinct messages"),
            line["distinct_messages"].to_string()
        );
        assert_eq!(cell(&header, row, "verdict"), line["verdict"]["tag"]);
    }
    for (row, line) in sweeps.iter().zip(&sweep_lines) {
        assert_eq!(cell(&header, row, "width"), line["width"].to_string());
        let from = &line["stays_correct_from"];
        let expected = if from.is_null() {
            String::new()
        } else {
            from["p"].to_string()
        };
        assert_eq!(cell(&header, row, "stays correct from p (bits)"), expected);
    }
}

#[test]
fn one_check_is_one_csv_row_with_the_json_values() {
    let args = [
        "check",
        "--task",
        "index",
        "--arch",
        "gru",
        "--n",
        "3",
        "--precision",
        "fixed:2.3",
        "--init",
        "random",
    ];
    let json: serde_json::Value =
        serde_json::from_slice(&run(&[&args[..], &["--json"]].concat())).expect("one JSON object");
    let (header, rows) = parse_csv(&run(&[&args[..], &["--format", "csv"]].concat()));
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        cell(&header, row, "instances"),
        json["instances"].to_string()
    );
    assert_eq!(cell(&header, row, "correct"), json["correct"].to_string());
    assert_eq!(
        cell(&header, row, "m·p (bits)"),
        json["bits_available"].to_string()
    );
    assert_eq!(
        cell(&header, row, "witness"),
        (!json["witness"].is_null()).to_string()
    );
}

#[test]
fn a_size_curve_has_a_csv_row_per_json_line() {
    let args = ["construct", "index-rnn", "--curve", "1..3"];
    let lines = json_lines(&run(&args));
    let (header, rows) = parse_csv(&run(&[&args[..], &["--format", "csv"]].concat()));
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(&lines) {
        assert_eq!(cell(&header, row, "n"), line["n"].to_string());
        assert_eq!(
            cell(&header, row, "size (bits)"),
            line["size_bits"].to_string()
        );
    }
}

#[test]
fn a_width_search_has_a_csv_row_per_json_line() {
    let args = [
        "train",
        "--task",
        "index",
        "--n",
        "2",
        "--arch",
        "rnn",
        "--widths",
        "2,3",
        "--lrs",
        "0.01",
        "--seeds",
        "0,1",
        "--steps",
        "3",
        "--eval-every",
        "3",
        "--eval-size",
        "32",
    ];
    let lines = json_lines(&run(&args));
    let (header, rows) = parse_csv(&run(&[&args[..], &["--format", "csv"]].concat()));
    assert_eq!(rows.len(), lines.len());
    assert_eq!(lines.len(), 5);
    for (row, line) in rows.iter().zip(&lines[..4]) {
        assert_eq!(cell(&header, row, "section"), "runs");
        assert_eq!(
            cell(&header, row, "width"),
            line["config"]["width"].to_string()
        );
        assert_eq!(cell(&header, row, "steps"), line["steps"].to_string());
        let best: f64 = cell(&header, row, "best accuracy").parse().unwrap();
        assert_eq!(best, line["best_accuracy"].as_f64().unwrap());
    }
    assert_eq!(cell(&header, &rows[4], "section"), "search");
    assert_eq!(lines[4]["kind"], "min_width");
}

#[test]
fn cc_csv_holds_every_bound_of_the_json() {
    let json = success_json(ccsep().args(["cc", "ip", "--n", "2", "--json"]));
    let (header, rows) = parse_csv(&run(&["cc", "ip", "--n", "2", "--format", "csv"]));
    let bounds: Vec<_> = rows.iter().filter(|r| r[0] == "bounds").collect();
    assert_eq!(bounds.len(), json["bounds"].as_array().unwrap().len());
    let d = rows
        .iter()
        .find(|r| cell(&header, r, "measure") == "deterministic CC D (bits)")
        .unwrap();
    assert_eq!(
        cell(&header, d, "value"),
        json["deterministic_cc"].to_string()
    );
}

#[test]
fn json_with_a_format_is_refused_with_exit_2() {
    for args in [
        &["cc", "eq", "--n", "2", "--json", "--format", "csv"][..],
        &[
            "construct",
            "dyck-rnn",
            "--n",
            "4",
            "--format",
            "latex",
            "--json",
        ],
        &[
            "check",
            "--task",
            "index",
            "--arch",
            "rnn",
            "--n",
            "2",
            "--precision",
            "f32",
            "--init",
            "random",
            "--json",
            "--format",
            "json",
        ],
    ] {
        ccsep()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("cannot be used with"));
    }
}

#[test]
fn json_as_a_format_is_the_json_output() {
    let args = ["construct", "dyck-rnn", "--n", "4"];
    assert_eq!(
        run(&[&args[..], &["--format", "json"]].concat()),
        run(&[&args[..], &["--json"]].concat())
    );
}

/// The LaTeX of every command compiles in a document that loads booktabs. Needs `pdflatex`
/// (Debian: texlive-latex-base and texlive-latex-recommended), so it runs only when asked:
/// `cargo test --release --test export -- --ignored`.
#[test]
#[ignore = "needs pdflatex"]
fn latex_compiles_with_pdflatex() {
    let dir = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &["cc", "disj", "--n", "2"],
        &[
            "check",
            "--task",
            "index",
            "--arch",
            "rnn",
            "--n",
            "3",
            "--width",
            "1,2",
            "--precision",
            "fixed:1.1..fixed:1.4",
            "--init",
            "random",
        ],
        &[
            "check",
            "--task",
            "dyck",
            "--arch",
            "transformer",
            "--n",
            "4",
            "--precision",
            "fixed:2.4",
            "--init",
            "random",
        ],
        &["construct", "index-lookup", "--n", "4"],
        &["construct", "nearest", "--n", "4"],
        &["construct", "dyck-rnn", "--curve", "2..3"],
        &[
            "train", "--task", "index", "--n", "2", "--arch", "rnn", "--widths", "2", "--lrs",
            "0.01", "--seeds", "0", "--steps", "2",
        ],
    ];
    for (i, args) in commands.iter().enumerate() {
        let latex = run(&[args, &["--format", "latex"][..]].concat());
        std::fs::write(dir.path().join(format!("t{i}.tex")), latex).unwrap();
        let doc = format!(
            "\\documentclass{{article}}\n\\usepackage{{booktabs}}\n\\begin{{document}}\n\\input{{t{i}.tex}}\n\\end{{document}}\n"
        );
        std::fs::write(dir.path().join(format!("doc{i}.tex")), doc).unwrap();
        let status = std::process::Command::new("pdflatex")
            .args([
                "-interaction=nonstopmode",
                "-halt-on-error",
                &format!("doc{i}.tex"),
            ])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pdflatex runs");
        assert!(status.success(), "{args:?}: pdflatex failed");
        let log = std::fs::read_to_string(dir.path().join(format!("doc{i}.log"))).unwrap();
        assert!(!log.contains("Missing character"), "{args:?}: {log}");
    }
}
