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
        csv.contains("\"lower bound (Thm 3: RNN, m·p) beside index-lookup\",16,16,true"),
        "{csv}"
    );
}

#[test]
fn bad_figures_and_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"a\": 1}\n").unwrap();
    refused("separation", &[&bad], "needs name, length and size_bits");
    std::fs::write(&bad, "not json\n").unwrap();
    refused("separation", &[&bad], "not JSON");
    refused("heatmap", &[&bad], "unknown figure");
    ccsep()
        .args(["plot", "separation", "--out"])
        .arg(&bad)
        .arg("--data")
        .args(curves())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("it is a file"));
}

/// Writes the certificates of `ccsep cc PROBLEM --n N --certify` into a fresh folder.
fn certify(problem: &str, n: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ccsep()
        .args(["cc", problem, "--n", &n.to_string(), "--certify"])
        .arg(dir.path())
        .assert()
        .success();
    dir
}

/// Runs `ccsep plot FIGURE --data FILES --out DIR` and returns the SVG and CSV it wrote (and
/// checks the PNG is one).
fn plot(figure: &str, files: &[std::path::PathBuf], out: &std::path::Path) -> (String, String) {
    let printed = success_stdout(
        ccsep()
            .args(["plot", figure, "--out"])
            .arg(out)
            .arg("--data")
            .args(files),
    );
    assert_eq!(String::from_utf8(printed).unwrap().lines().count(), 3);
    let read = |ext: &str| std::fs::read(out.join(format!("{figure}.{ext}"))).unwrap();
    assert_eq!(&read("png")[..8], b"\x89PNG\r\n\x1a\n");
    (
        String::from_utf8(read("svg")).unwrap(),
        String::from_utf8(read("csv")).unwrap(),
    )
}

/// Draws twice into two folders: the same SVG, PNG and CSV bytes.
fn same_bytes_twice(figure: &str, files: &[std::path::PathBuf]) -> (String, String) {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = plot(figure, files, a.path());
    let second = plot(figure, files, b.path());
    assert_eq!(first, second, "{figure}: two drawings differ");
    let png = format!("{figure}.png");
    assert!(
        std::fs::read(a.path().join(&png)).unwrap() == std::fs::read(b.path().join(&png)).unwrap(),
        "{png} differs between two drawings"
    );
    first
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `count` times `needle` in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The colours of a 1, a 0 and the first fooling set's marks in the matrix figure.
const ONE_FILL: &str = "fill=\"#464646\"";
const ZERO_FILL: &str = "fill=\"#E8E8E8\"";
const MARK_FILL: &str = "fill=\"#D55E00\"";

#[test]
fn matrix_draws_eq3_with_its_fooling_set() {
    let certs = certify("eq", 3);
    let file = certs.path().join("fooling_set_1.json");
    let pairs: Vec<(u64, u64)> =
        serde_json::from_value(json(&file)["claim"]["pairs"].clone()).unwrap();
    assert_eq!(pairs.len(), 8);
    let (svg, csv) = same_bytes_twice("matrix", std::slice::from_ref(&file));
    // 64 cells: 8 ones and 56 zeros, each colour once more in the legend; a mark (white ring,
    // coloured disc) per pair, and one in the legend.
    assert_eq!(count(&svg, ONE_FILL), 8 + 1);
    assert_eq!(count(&svg, ZERO_FILL), 56 + 1);
    assert_eq!(count(&svg, "<circle") - count(&svg, MARK_FILL), pairs.len());
    assert_eq!(count(&svg, MARK_FILL), pairs.len() + 1);
    for text in [
        "EQ_3 with a fooling set of 8 pairs (f = 1)",
        "Alice&apos;s x",
        "Bob&apos;s y",
        "\n000\n",
        "\n111\n",
        "fooling set, f = 1: 8 pairs",
    ] {
        assert!(svg.contains(text), "no {text:?} in the SVG");
    }
    let mut want = String::from("row,col,row_input,col_input,value,fooling_set_1\n");
    for x in 0..8u64 {
        for y in 0..8u64 {
            want.push_str(&format!(
                "{x},{y},{x:03b},{y:03b},{},{}\n",
                u8::from(x == y),
                pairs.contains(&(x, y))
            ));
        }
    }
    assert_eq!(csv, want);
}

#[test]
fn matrix_draws_disj2_with_its_partition() {
    let certs = certify("disj", 2);
    let file = certs.path().join("partition.json");
    let rects = json(&file)["claim"]["rectangles"]
        .as_array()
        .unwrap()
        .clone();
    let (svg, csv) = same_bytes_twice("matrix", std::slice::from_ref(&file));
    assert!(svg.contains(&format!(
        "DISJ_2 with a partition into {} rectangles",
        rects.len()
    )));
    assert!(svg.contains(&format!(
        "{} monochromatic rectangles (partition)",
        rects.len()
    )));
    let mut want = String::from("row,col,row_input,col_input,value,partition\n");
    for x in 0..4u64 {
        for y in 0..4u64 {
            let holding: Vec<String> = rects
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r["rows"].as_array().unwrap().contains(&x.into())
                        && r["cols"].as_array().unwrap().contains(&y.into())
                })
                .map(|(k, _)| (k + 1).to_string())
                .collect();
            // A partition: every cell in exactly one rectangle.
            assert_eq!(holding.len(), 1, "cell ({x}, {y})");
            want.push_str(&format!(
                "{x},{y},{x:02b},{y:02b},{},{}\n",
                u8::from(x & y == 0),
                holding[0]
            ));
        }
    }
    assert_eq!(csv, want);
}

/// A protocol-tree node as the test reads it: (parent, depth, speaker, bit, output).
type TreeNode = (Option<usize>, u32, String, Option<u8>, Option<u64>);

/// The nodes of a protocol tree in preorder.
fn walk(
    t: &serde_json::Value,
    parent: Option<usize>,
    depth: u32,
    bit: Option<u8>,
    out: &mut Vec<TreeNode>,
) {
    let me = out.len();
    let kind = t["node"].as_str().unwrap().to_string();
    out.push((parent, depth, kind.clone(), bit, t["output"].as_u64()));
    if kind != "leaf" {
        walk(&t["zero"], Some(me), depth + 1, Some(0), out);
        walk(&t["one"], Some(me), depth + 1, Some(1), out);
    }
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
fn protocol_tree_draws_every_node_of_the_certificate() {
    for (problem, label) in [("eq", "EQ_2"), ("gt", "GT_2")] {
        let certs = certify(problem, 2);
        let file = certs.path().join("protocol.json");
        let cert = json(&file);
        let mut nodes = Vec::new();
        walk(&cert["claim"]["tree"], None, 0, None, &mut nodes);
        let depth = cert["claim"]["depth"].as_u64().unwrap();
        let leaves = nodes.iter().filter(|n| n.2 == "leaf").count();
        let (svg, csv) = same_bytes_twice("protocol-tree", std::slice::from_ref(&file));
        // A framed box per node, a line per edge.
        assert_eq!(count(&svg, "fill=\"none\" stroke=\"#000000\""), nodes.len());
        assert_eq!(count(&svg, "<polyline"), nodes.len() - 1);
        assert!(svg.contains(&format!(
            "An optimal protocol tree for {label}: depth D = {depth} bits, {leaves} leaves"
        )));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,parent,depth,speaker,bit,label");
        assert_eq!(lines.len(), nodes.len() + 1);
        for (i, (n, line)) in nodes.iter().zip(&lines[1..]).enumerate() {
            let fmt = |o: Option<String>| o.unwrap_or_default();
            let head = format!(
                "{i},{},{},{},{},",
                fmt(n.0.map(|p| p.to_string())),
                n.1,
                n.2,
                fmt(n.3.map(|b| b.to_string()))
            );
            assert!(line.starts_with(&head), "{line} (want {head})");
            match n.4 {
                Some(o) => assert!(line.contains(&format!("\"output {o};"))),
                None => assert!(line.contains(" 1 iff ")),
            }
        }
    }
}

/// `construct vectors --n N --json` for each `N`, one report after another in one file.
fn vectors_reports(dir: &std::path::Path, ns: &[u32]) -> std::path::PathBuf {
    let mut all = Vec::new();
    for n in ns {
        all.extend(success_stdout(ccsep().args([
            "construct",
            "vectors",
            "--n",
            &n.to_string(),
            "--json",
        ])));
    }
    let file = dir.join("codes.json");
    std::fs::write(&file, all).unwrap();
    file
}

#[test]
fn codes_draws_each_family_beside_hoeffding() {
    let dir = tempfile::tempdir().unwrap();
    let file = vectors_reports(dir.path(), &[8, 16, 32]);
    let (svg, csv) = same_bytes_twice("codes", std::slice::from_ref(&file));
    // The CSV from the reports themselves: each family's k at each N, then Hoeffding's.
    let text = std::fs::read(&file).unwrap();
    let reports: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&text)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(reports.len(), 3);
    let mut want = String::from("series,n,k,worst_inner,met_gamma,gamma\n");
    for family in ["random-signs", "reed-solomon-hadamard"] {
        for r in &reports {
            let f = r["details"]["families"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["family"] == family)
                .unwrap();
            want.push_str(&format!(
                "\"{family}\",{},{},{},{},0.25\n",
                r["n"],
                f["k"],
                f["worst_inner"].as_f64().unwrap(),
                f["met_gamma"]
            ));
        }
    }
    for r in &reports {
        want.push_str(&format!(
            "\"Hoeffding\",{},{},,true,0.25\n",
            r["n"],
            r["details"]["hoeffding_k"].as_f64().unwrap()
        ));
    }
    assert_eq!(csv, want);
    // A marker per family and N; the legend names both families and the formula.
    assert_eq!(count(&svg, "<circle"), 2 * 3);
    for text in [
        "random signs",
        "Reed–Solomon",
        "k = (8/γ²)·ln(2N)",
        "γ = 0.25",
    ] {
        assert!(svg.contains(text), "no {text:?} in the SVG");
    }
}

/// `ccsep plot FIGURE --data FILES` exits 2 with `message` on standard error.
fn refused(figure: &str, files: &[&std::path::Path], message: &str) {
    let out = tempfile::tempdir().unwrap();
    ccsep()
        .args(["plot", figure, "--out"])
        .arg(out.path())
        .arg("--data")
        .args(files)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message));
}

#[test]
fn forged_or_mismatched_certificates_exit_2() {
    let certs = certify("eq", 3);
    let dir = tempfile::tempdir().unwrap();
    let fooling = certs.path().join("fooling_set_1.json");
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p
    };
    // The same pairs claimed for another matrix: (1, 1) is a 0 of GT_3.
    let mut other = json(&fooling);
    other["problem"] = serde_json::json!({"kind": "gt", "n": 3});
    let other = write("gt.json", &other);
    refused("matrix", &[&other], "does not fit GT_3");
    // A pair outside the matrix.
    let mut outside = json(&fooling);
    outside["claim"]["pairs"][0] = serde_json::json!([9, 9]);
    let outside = write("outside.json", &outside);
    refused("matrix", &[&outside], "outside its 8 x 8 matrix");
    // Certificates of two matrices.
    let disj = certify("disj", 2);
    refused(
        "matrix",
        &[&fooling, &disj.path().join("partition.json")],
        "one matrix per figure",
    );
    // Not a certificate the figure draws, not a certificate at all.
    refused(
        "matrix",
        &[&certs.path().join("protocol.json")],
        "plot protocol-tree",
    );
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"ccsep_certificate\": 1}").unwrap();
    refused("matrix", &[&junk], "not a ccsep certificate");
    refused("protocol-tree", &[&junk], "not a ccsep certificate");
    refused("protocol-tree", &[&fooling], "not a protocol certificate");
    // Too large to draw: the refusal names the limit.
    let mut big = json(&fooling);
    big["problem"] = serde_json::json!({"kind": "eq", "n": 8});
    let big = write("big.json", &big);
    refused("matrix", &[&big], "at most 128 x 128");
    // A protocol whose claimed depth is not its tree's, and one speaking of inputs outside.
    let protocol = certs.path().join("protocol.json");
    let mut shallow = json(&protocol);
    shallow["claim"]["depth"] = serde_json::json!(2);
    let shallow = write("shallow.json", &shallow);
    refused("protocol-tree", &[&shallow], "claims depth 2");
    let mut wide = json(&protocol);
    wide["claim"]["tree"]["ones"] = serde_json::json!([8]);
    let wide = write("wide.json", &wide);
    refused("protocol-tree", &[&wide], "outside the 8 rows");
}

#[test]
fn trees_too_large_to_draw_are_refused() {
    // Alice sends the 6 bits of her row one by one on a 64 x 1 matrix: 64 leaves.
    fn tree(depth: u32, prefix: u64) -> serde_json::Value {
        if depth == 6 {
            return serde_json::json!({"node": "leaf", "output": prefix & 1});
        }
        let ones: Vec<u64> = (0..64).filter(|x| (x >> (5 - depth)) & 1 == 1).collect();
        serde_json::json!({
            "node": "alice",
            "ones": ones,
            "zero": tree(depth + 1, prefix << 1),
            "one": tree(depth + 1, (prefix << 1) | 1),
        })
    }
    let rows: Vec<String> = (0..64).map(|x| (x & 1).to_string()).collect();
    let cert = serde_json::json!({
        "ccsep_certificate": 1,
        "problem": {"kind": "matrix", "rows": rows},
        "claim": {"type": "protocol", "depth": 6, "tree": tree(0, 0),
                  "lower_bound": {"method": "trivial"}},
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("protocol.json");
    std::fs::write(&file, cert.to_string()).unwrap();
    refused("protocol-tree", &[&file], "at most 32");
}

#[test]
fn codes_refuses_other_reports_and_mixed_margins() {
    let dir = tempfile::tempdir().unwrap();
    let curve =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plots/data/curve-equality.jsonl");
    refused("codes", &[&curve], "`construct vectors` report");
    let a = vectors_reports(dir.path(), &[8]);
    let b = dir.path().join("other.json");
    std::fs::write(
        &b,
        success_stdout(ccsep().args([
            "construct",
            "vectors",
            "--n",
            "16",
            "--gamma",
            "0.5",
            "--json",
        ])),
    )
    .unwrap();
    refused("codes", &[&a, &b], "one γ per figure");
    refused("codes", &[&a, &a], "appears twice");
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
        refused(figure, &[&bad], "line 2: not a check point line");
    }
    std::fs::write(&bad, "{\"config\": {\"task\": \"index\"}}\n").unwrap();
    refused("trained", &[&bad], "line 1: not a training run line");
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

#[test]
fn separation_refuses_sizes_beyond_any_verified_one_and_a_file_given_twice() {
    // 1e308 bits once overflowed the axis' headroom to infinity and the drawing never ended.
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.jsonl");
    std::fs::write(
        &huge,
        "{\"name\":\"x\",\"length\":16,\"size_bits\":1e308,\"other_bound_bits\":16}\n",
    )
    .unwrap();
    ccsep()
        .args(["plot", "separation", "--out"])
        .arg(dir.path().join("o"))
        .arg("--data")
        .arg(&huge)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is beyond 1e30 bits"));
    let curve = curves().remove(0);
    ccsep()
        .args(["plot", "separation", "--out"])
        .arg(dir.path().join("o"))
        .arg("--data")
        .arg(&curve)
        .arg(&curve)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("given twice"));
}

#[test]
fn matrix_refuses_rectangles_that_are_not_the_partition_or_cover_its_title_names() {
    let certs = certify("disj", 2);
    let mut part: serde_json::Value =
        serde_json::from_slice(&std::fs::read(certs.path().join("partition.json")).unwrap())
            .unwrap();
    let rects = part["claim"]["rectangles"].as_array_mut().unwrap();
    // A partition missing rectangles, then one with a rectangle twice.
    let first = rects[0].clone();
    rects.truncate(1);
    let missing = certs.path().join("missing.json");
    std::fs::write(&missing, part.to_string()).unwrap();
    refused("matrix", &[&missing], "so they are not a partition");
    let mut part: serde_json::Value =
        serde_json::from_slice(&std::fs::read(certs.path().join("partition.json")).unwrap())
            .unwrap();
    part["claim"]["rectangles"]
        .as_array_mut()
        .unwrap()
        .push(first);
    let twice = certs.path().join("twice.json");
    std::fs::write(&twice, part.to_string()).unwrap();
    refused("matrix", &[&twice], "so they are not a partition");
}

#[test]
fn protocol_tree_refuses_a_tree_that_does_not_compute_f() {
    let certs = certify("eq", 2);
    let mut cert: serde_json::Value =
        serde_json::from_slice(&std::fs::read(certs.path().join("protocol.json")).unwrap())
            .unwrap();
    // Flip the first leaf's answer.
    let mut t = &mut cert["claim"]["tree"];
    while t["node"] != "leaf" {
        t = &mut t["zero"];
    }
    let out = t["output"].as_u64().unwrap();
    t["output"] = serde_json::json!(1 - out);
    let forged = certs.path().join("forged.json");
    std::fs::write(&forged, cert.to_string()).unwrap();
    refused("protocol-tree", &[&forged], "where f = ");
}
