//! `ccsep plot`: the committed figure is what the command makes from the committed curves, and
//! bad input exits 2.

use predicates::prelude::*;

#[allow(dead_code)]
mod common;
use common::{ccsep, success_stdout};

fn curves() -> Vec<std::path::PathBuf> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plots/data");
    let mut v: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("curve-")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_committed_separation_figure_is_what_plot_makes() {
    let dir = tempfile::tempdir().unwrap();
    let printed = success_stdout(
        ccsep()
            .args(["plot", "separation", "--out"])
            .arg(dir.path())
            .arg("--data")
            .args(curves()),
    );
    // The three files it wrote, one path a line.
    assert_eq!(String::from_utf8(printed).unwrap().lines().count(), 3);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plots");
    for f in ["separation.csv", "separation.svg"] {
        let made = std::fs::read(dir.path().join(f)).unwrap();
        let committed = std::fs::read(root.join(f)).unwrap();
        assert!(
            made == committed,
            "{f} differs from what `ccsep plot separation` makes"
        );
    }
    let png = std::fs::read(dir.path().join("separation.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let csv = String::from_utf8(std::fs::read(dir.path().join("separation.csv")).unwrap()).unwrap();
    // Every curve line with a size is a row; the RNN's bound beside index lookup is N itself.
    assert!(
        csv.contains("\"lower bound (Thm 3) beside index-lookup\",16,16,true"),
        "{csv}"
    );
}

#[test]
fn bad_figures_and_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"a\": 1}\n").unwrap();
    ccsep()
        .args(["plot", "separation", "--data"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs name, length and size_bits"));
    std::fs::write(&bad, "not json\n").unwrap();
    ccsep()
        .args(["plot", "separation", "--data"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not JSON"));
    ccsep()
        .args(["plot", "heatmap", "--data"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown figure"));
    ccsep()
        .args(["plot", "separation", "--out"])
        .arg(&bad)
        .arg("--data")
        .args(curves())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("it is a file"));
}

/// A committed input of the figure tests (`tests/fixtures/plot/README.md` says how each was made).
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plot")
        .join(name)
}

/// The committed `paper-small` training results.
fn paper_small() -> Vec<std::path::PathBuf> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plots/data");
    let mut v: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("paper-small-")
        })
        .collect();
    v.sort();
    v
}

/// Draws `figure` from `data` into a fresh folder; returns the folder, the SVG and the CSV.
fn draw(figure: &str, data: &[std::path::PathBuf]) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    success_stdout(
        ccsep()
            .args(["plot", figure, "--out"])
            .arg(dir.path())
            .arg("--data")
            .args(data),
    );
    let read = |ext: &str| {
        String::from_utf8(std::fs::read(dir.path().join(format!("{figure}.{ext}"))).unwrap())
            .unwrap()
    };
    let (svg, csv) = (read("svg"), read("csv"));
    let png = std::fs::read(dir.path().join(format!("{figure}.png"))).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    (dir, svg, csv)
}

/// The JSON lines of a file.
fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn check_grid_draws_a_panel_per_grid_with_a_row_per_point() {
    let file = fixture("grid-index.jsonl");
    let (_dir, svg, csv) = draw("check-grid", std::slice::from_ref(&file));
    // Two grids in one file (a random RNN at N = 4, a trained LSTM at N = 6): two panels.
    assert!(svg.contains("INDEX_4: random rnn, seed 0"), "{svg}");
    assert!(svg.contains("INDEX_6: lstm from lstm-index-n6-w16.safetensors"));
    for label in [
        "width m (hidden size)",
        "bits per number p",
        "must err (a witness)",
        "enough messages",
        "right on every instance",
        "one-way CC of INDEX_4 = 4 bits",
        "one-way CC of INDEX_6 = 6 bits",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
    // One CSV row per point line, with the line's own values.
    let mut rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows.remove(0),
        "panel,width,precision,p,accuracy,verdict,bits_available,bound,distinct_messages,distinct_rows"
    );
    let points = lines(&file);
    assert_eq!(rows.len(), points.len());
    for (row, v) in rows.iter().zip(&points) {
        // A random model's width; a model from weights has its own (an empty field).
        let width = v["model"]["width"]
            .as_u64()
            .map_or(String::new(), |w| w.to_string());
        let expected = format!(
            ",{width},\"{}\",{},{},{},{},{},{},{}",
            v["precision"].as_str().unwrap(),
            v["bits_per_number"],
            v["accuracy"].as_f64().unwrap(),
            v["verdict"]["tag"].as_str().unwrap(),
            v["bits_available"],
            v["one_way_cc"],
            v["distinct_messages"],
            v["distinct_rows"]
        );
        assert!(row.ends_with(&expected), "{row} vs {expected}");
    }
}

#[test]
fn messages_reads_check_runs_at_several_n_appended_to_one_file() {
    // Runs at several N append to one --out file: each N is a grid of its own there.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.jsonl");
    for n in ["3", "5"] {
        success_stdout(
            ccsep()
                .args([
                    "check", "--task", "index", "--arch", "rnn", "--init", "random",
                ])
                .args([
                    "--width",
                    "2",
                    "--precision",
                    "fixed:1.0,fixed:1.2",
                    "--n",
                    n,
                ])
                .arg("--out")
                .arg(&out),
        );
    }
    let points = lines(&out);
    assert_eq!(points.len(), 4);
    let (_d, svg, csv) = draw("messages", &[out]);
    // A row per line, by series (model and precision) then N, with the line's own counts.
    let mut expected = vec!["series,n,distinct_messages,distinct_rows,bits_available".to_string()];
    for precision in ["fixed:1.0", "fixed:1.2"] {
        for v in points.iter().filter(|v| v["precision"] == precision) {
            expected.push(format!(
                "\"random rnn, seed 0, width 2, {precision}\",{},{},{},{}",
                v["n"], v["distinct_messages"], v["distinct_rows"], v["bits_available"]
            ));
        }
    }
    assert_eq!(csv.lines().collect::<Vec<_>>(), expected, "{csv}");
    for label in [
        "N (input length)",
        "distinct messages (log scale)",
        "distinct rows of the problem",
        "ceiling 2^(m·p) = 2⁴",
        "ceiling 2^(m·p) = 2⁸",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
}

#[test]
fn messages_draws_the_committed_runs() {
    let file = fixture("messages-index-rnn.jsonl");
    let (_d, _svg, csv) = draw("messages", std::slice::from_ref(&file));
    // Two precisions at eight N: sixteen rows, the rows column 2^N.
    assert_eq!(csv.lines().count(), 1 + 16);
    for n in 3..=10u32 {
        assert!(csv.contains(&format!(",{n},")), "N = {n} missing");
        assert!(csv.contains(&format!(",{},", 1u64 << n)));
    }
}

#[test]
fn trained_draws_a_panel_per_task_and_architecture() {
    let files = paper_small();
    let (_d, svg, csv) = draw("trained", &files);
    for title in [
        "index: lstm",
        "index: ssm",
        "index: transformer",
        "equality: transformer, 2 layers",
        "dyck: lstm",
    ] {
        assert!(svg.contains(title), "{title} missing");
    }
    assert!(svg.contains("target 0.99"));
    assert!(svg.contains("N (input length)"));
    // One row per (task, arch, layers, N, width); the search's min_width flagged.
    let mut cells = std::collections::BTreeSet::new();
    for f in &files {
        for v in lines(f) {
            if v.get("kind").is_none() {
                let c = &v["config"];
                cells.insert(format!(
                    "{}/{}/{}/{}/{}",
                    c["task"], c["arch"], c["layers"], c["n"], c["width"]
                ));
            }
        }
    }
    assert_eq!(csv.lines().count(), 1 + cells.len());
    assert!(
        csv.contains("\"index\",\"lstm\",1,8,64,1,2,true,true\n"),
        "{csv}"
    );
    assert!(csv.contains("\"index\",\"lstm\",1,8,32,0.994140625,2,true,false\n"));
}

#[test]
fn separation_draws_a_swept_models_smallest_correct_bits() {
    // The sweep of the committed trained LSTM (made as tests/fixtures/plot/README.md says).
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep.jsonl");
    let out = success_stdout(
        ccsep()
            .current_dir(fixture(""))
            .args(["check", "--task", "index", "--arch", "lstm", "--n", "6"])
            .args(["--weights", "lstm-index-n6-w16.safetensors"])
            .args(["--precision", "float:8.2..float:8.14", "--json"]),
    );
    std::fs::write(&sweep, &out).unwrap();
    let mut data = curves();
    data.push(sweep);
    let (_d, svg, csv) = draw("separation", &data);
    let label = "lstm from lstm-index-n6-w16.safetensors (index, N = 6): smallest correct m·p";
    assert!(svg.contains(label), "{svg}");
    // Right on every instance from p = 14: m = 32 numbers (h and c) × 14 bits.
    assert!(csv.contains(&format!("\"{label}\",6,448,true\n")), "{csv}");
    // The curves' rows are the committed figure's, the sweep's row after them.
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plots/separation.csv"),
    )
    .unwrap();
    assert!(csv.starts_with(&committed));
    assert_eq!(csv.lines().count(), committed.lines().count() + 1);
}

#[test]
fn the_same_files_draw_the_same_bytes() {
    let cases: Vec<(&str, Vec<std::path::PathBuf>)> = vec![
        ("check-grid", vec![fixture("grid-index.jsonl")]),
        ("messages", vec![fixture("messages-index-rnn.jsonl")]),
        ("trained", paper_small()),
        ("separation", curves()),
    ];
    for (figure, data) in cases {
        let (_a, svg_a, csv_a) = draw(figure, &data);
        let (_b, svg_b, csv_b) = draw(figure, &data);
        assert!(
            svg_a == svg_b,
            "{figure}: the SVG differs between two draws"
        );
        assert_eq!(csv_a, csv_b, "{figure}");
    }
}

#[test]
fn malformed_lines_of_each_figure_exit_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    let good = std::fs::read_to_string(fixture("grid-index.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    // A second line with an unknown verdict.
    let wrong_tag = first.replace("\"tag\":\"must_err\"", "\"tag\":\"maybe\"");
    std::fs::write(&bad, format!("{first}\n{wrong_tag}\n")).unwrap();
    for figure in ["check-grid", "messages"] {
        ccsep()
            .args(["plot", figure, "--data"])
            .arg(&bad)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("line 2: not a check point line"));
    }
    std::fs::write(&bad, "{\"config\": {\"task\": \"index\"}}\n").unwrap();
    ccsep()
        .args(["plot", "trained", "--data"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1: not a training run line"));
    std::fs::write(&bad, "{\"kind\": \"precision_sweep_summary\", \"n\": 4}\n").unwrap();
    ccsep()
        .args(["plot", "separation", "--data"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "line 1: not a precision sweep summary",
        ));
    // A point line given to check-grid twice: the same cell twice.
    let file = fixture("grid-index.jsonl");
    ccsep()
        .args(["plot", "check-grid", "--data"])
        .arg(&file)
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("appears twice"));
}
