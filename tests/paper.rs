//! `ccsep paper --quick`: the committed `plots/quick/` is exactly what the command makes now
//! (every file but the PNGs byte for byte, training lines without their timings), and its
//! refusals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

#[allow(dead_code)]
mod common;
use common::{ccsep, success_stdout};

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<PathBuf, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), p);
            }
        }
    }
    out
}

/// The timing fields of a training line: the only bytes a rerun may change.
const TIMINGS: [&str; 2] = ["wall_s", "steps_per_s"];

/// A JSON-lines file with the timing fields of each line removed.
fn without_timings(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(m) = v.as_object_mut() {
                for k in TIMINGS {
                    m.remove(k);
                }
            }
            v
        })
        .collect()
}

#[test]
fn the_committed_quick_report_is_what_paper_quick_makes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = root.join("plots/quick");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quick");
    let printed = success_stdout(ccsep().args(["paper", "--quick", "--out"]).arg(&out));
    assert_eq!(
        String::from_utf8(printed).unwrap().trim(),
        out.join("REPORT.md").display().to_string()
    );
    let made = files(&out);
    let want = files(&committed);
    assert_eq!(
        made.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "the files `ccsep paper --quick` makes differ from plots/quick/"
    );
    let mut compared = 0;
    for (rel, path) in &made {
        let a = std::fs::read(path).unwrap();
        let b = std::fs::read(&want[rel]).unwrap();
        match rel.extension().and_then(|e| e.to_str()) {
            Some("png") => assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n", "{}", rel.display()),
            Some("jsonl") => assert_eq!(
                without_timings(std::str::from_utf8(&a).unwrap()),
                without_timings(std::str::from_utf8(&b).unwrap()),
                "plots/quick/{} differs from what `ccsep paper --quick` writes now",
                rel.display()
            ),
            _ => assert!(
                a == b,
                "plots/quick/{} differs from what `ccsep paper --quick` writes now",
                rel.display()
            ),
        }
        compared += 1;
    }
    assert!(compared > 50, "only {compared} files");
    // Every command the report lists is one the plan ran, and the plan lists them in order.
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let listed =
        String::from_utf8(success_stdout(ccsep().args(["paper", "--quick", "--list"]))).unwrap();
    let in_report: Vec<&str> = report
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .collect();
    assert_eq!(in_report, listed.lines().collect::<Vec<_>>());
}

#[test]
fn paper_refuses_an_out_that_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, "").unwrap();
    ccsep()
        .args(["paper", "--quick", "--out"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("it is a file"));
}

#[test]
fn the_full_plan_lists_larger_sizes_and_resumable_files() {
    let quick =
        String::from_utf8(success_stdout(ccsep().args(["paper", "--quick", "--list"]))).unwrap();
    let full = String::from_utf8(success_stdout(ccsep().args(["paper", "--list"]))).unwrap();
    assert!(quick.contains("ccsep cc eq --n 3 "), "{quick}");
    assert!(full.contains("ccsep cc eq --n 4 "), "{full}");
    assert!(
        full.contains("ccsep construct equality --curve 2..15 --out data/curve-equality.jsonl"),
        "{full}"
    );
}

#[test]
fn a_quick_run_refuses_a_folder_whose_results_it_did_not_make() {
    // The full results live under plots/data/ by the same names: a quick run must not replace
    // them (nor any result file it did not write), and refuses before any work.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let curve = data.join("curve-index-rnn.jsonl");
    std::fs::write(&curve, "{\"kept\": true}\n").unwrap();
    ccsep()
        .args(["paper", "--quick", "--out"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("which a quick run would replace"));
    assert_eq!(
        std::fs::read_to_string(&curve).unwrap(),
        "{\"kept\": true}\n"
    );
    assert!(
        !dir.path().join("tables").exists(),
        "work began before the refusal"
    );
}
