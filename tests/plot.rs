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
