//! `ccsep paper`: every result and figure of the paper's comparisons from one command, and
//! `REPORT.md`, which shows each table and figure beside the exact command that made it.
//!
//! The plan is a list of [`Step`]s, each an ordinary `ccsep` command line. They run one after
//! another as child processes of this same binary, in the output folder (so every path in a
//! command is relative to it and `REPORT.md` reads the same wherever it was made), with their
//! standard output kept in a file when the report shows it. Nothing here computes a result:
//! a step is exactly what a user would type, and `REPORT.md` lists it so.
//!
//! Invariant: the same plan gives the same bytes in every file but the timings, which go to
//! standard error only (and the `wall_s` / `steps_per_s` fields of training lines).
//! `--quick` is small enough for a test to rerun it (`tests/paper.rs` compares the committed
//! `plots/quick/` with a fresh run); the full plan reuses the committed result files under
//! `plots/data/`, whose commands resume (a rerun computes only what is missing).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

use crate::error::InputError;

/// What `REPORT.md` shows of a step's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Show {
    /// Its standard output (saved to `tables/ID.txt`), in a code block.
    Table,
    /// The figure it drew: `DIR/STEM.png` (with the SVG and CSV beside it).
    Figure { dir: String, stem: String },
    /// Only the file it wrote (JSON lines or weights), linked.
    File(String),
}

/// One command of the plan.
#[derive(Clone, Debug)]
pub struct Step {
    /// A short name, unique in the plan: the file stem of its saved output.
    pub id: String,
    /// The section of `REPORT.md` it belongs to.
    pub section: &'static str,
    /// One sentence: what this step shows.
    pub what: String,
    /// The arguments after `ccsep`.
    pub args: Vec<String>,
    /// Where its standard output is kept (relative to the output folder), if anywhere.
    pub stdout: Option<String>,
    pub show: Show,
}

impl Step {
    /// The command as a user types it (`ccsep …`), with `*` patterns as given.
    pub fn command(&self) -> String {
        format!("ccsep {}", self.args.join(" "))
    }
}

/// The sections of `REPORT.md`, in order, with the sentence that opens each.
const SECTIONS: [(&str, &str); 5] = [
    (
        "Communication complexity",
        "Every measure of each problem on every input, with certificates that `ccsep verify` \
         (the independent checker) accepts.",
    ),
    (
        "Models as protocols",
        "Networks at a bit precision run as the protocols they induce, on every instance: \
         distinct messages against the problem's rows, and the verdict.",
    ),
    (
        "Constructions",
        "The paper's constructions built as ordinary models and verified at a precision; the \
         size curves give each one's smallest correct size per N.",
    ),
    (
        "Trained models",
        "Networks trained with `ccsep train` (CPU, one thread per run, seeded: the same weights \
         every time), then checked as protocols at each precision.",
    ),
    (
        "Figures",
        "Each figure is drawn from the result files above; its data is in the CSV beside it.",
    ),
];

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A step whose table the report shows.
fn table(id: &str, section: &'static str, what: &str, args: &[&str]) -> Step {
    Step {
        id: id.into(),
        section,
        what: what.into(),
        args: s(args),
        stdout: Some(format!("tables/{id}.txt")),
        show: Show::Table,
    }
}

/// A step that writes one result file (its standard output is not kept unless `stdout`).
fn file(id: &str, section: &'static str, what: &str, args: &[&str], path: &str) -> Step {
    Step {
        id: id.into(),
        section,
        what: what.into(),
        args: s(args),
        stdout: None,
        show: Show::File(path.into()),
    }
}

/// A `ccsep plot` step: `figure` from `data` into `dir`.
fn figure(id: &str, what: &str, name: &str, data: &[String], dir: &str) -> Step {
    let mut args = s(&["plot", name, "--out", dir, "--data"]);
    args.extend(data.iter().cloned());
    Step {
        id: id.into(),
        section: "Figures",
        what: what.into(),
        args,
        stdout: None,
        show: Show::Figure {
            dir: dir.into(),
            stem: name.into(),
        },
    }
}

/// `check` of the random Elman RNN (seed 1) on INDEX that the grid and the message counts
/// run, followed by `rest`.
fn random_rnn_check<'a>(rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "check", "--task", "index", "--arch", "rnn", "--init", "random", "--seed", "1",
    ];
    args.extend_from_slice(rest);
    args
}

/// The sizes one plan runs at.
struct Sizes {
    /// `cc` problems and their `--n`.
    cc: [(&'static str, u32); 5],
    /// The check grid's `--n`, widths and precisions.
    grid: (u32, &'static str, &'static str),
    /// The `--n` of the distinct-messages checks.
    messages: &'static [u32],
    /// Each construction's curve range.
    curves: [(&'static str, &'static str); 6],
    /// Nearly orthogonal codes at these N.
    vectors: &'static [u32],
    /// The trained-model searches' N, widths and step budget.
    train: (&'static [u32], &'static str, &'static str),
}

const QUICK: Sizes = Sizes {
    cc: [("eq", 3), ("disj", 2), ("index", 4), ("ip", 3), ("gt", 3)],
    grid: (8, "1..8", "fixed:1.1..fixed:1.4"),
    messages: &[4, 6, 8, 10, 12],
    curves: [
        ("index-lookup", "5..10"),
        ("dyck-rnn", "4..10"),
        ("index-rnn", "4..8"),
        ("equality", "2..8"),
        ("disjointness", "2..8"),
        ("nearest", "2..6"),
    ],
    vectors: &[16, 64, 256, 1024, 4096],
    train: (&[4, 8], "2,4,8,16,32", "1500"),
};

const FULL: Sizes = Sizes {
    cc: [("eq", 4), ("disj", 4), ("index", 6), ("ip", 4), ("gt", 4)],
    grid: (12, "1..16", "fixed:1.1..fixed:1.6"),
    messages: &[4, 6, 8, 10, 12, 14, 16],
    curves: [
        ("index-lookup", "4..16"),
        ("dyck-rnn", "4..16"),
        ("index-rnn", "4..16"),
        ("equality", "2..15"),
        ("disjointness", "2..15"),
        ("nearest", "2..15"),
    ],
    vectors: &[16, 64, 256, 1024, 4096, 16384],
    train: (&[4, 8, 16], "2,4,8,16,32,64", "3000"),
};

/// The plan: every step `ccsep paper` (or `--quick`) runs, in order.
pub fn plan(quick: bool) -> Vec<Step> {
    let z = if quick { &QUICK } else { &FULL };
    let mut steps = Vec::new();
    let cc = "Communication complexity";
    for (p, n) in z.cc {
        let id = format!("cc-{p}{n}");
        let n = n.to_string();
        let dir = format!("certs/{p}{n}");
        steps.push(table(
            &id,
            cc,
            &format!(
                "Every measure of {} on {n}-bit inputs; certificates in `{dir}/`.",
                p.to_uppercase()
            ),
            &["cc", p, "--n", &n, "--certify", &dir],
        ));
    }
    steps.push(table(
        "verify",
        cc,
        "The independent checker re-derives every certificate above from its own contents.",
        &["verify", "certs/*/*.json"],
    ));

    let pr = "Models as protocols";
    let (gn, gw, gp) = z.grid;
    let gn = gn.to_string();
    steps.push(table(
        "grid-index-rnn",
        pr,
        "A random Elman RNN on INDEX over widths and precisions (Thm 2's one-way protocol), \
         each point's verdict with a witness where it errs: below m·p = N an error is forced by \
         the count of messages alone; above it this random model errs anyway (its messages \
         collapse), so the grid shows where a correct model becomes possible, not one that is.",
        &random_rnn_check(&[
            "--n",
            &gn,
            "--width",
            gw,
            "--precision",
            gp,
            "--out",
            "data/grid-index-rnn.jsonl",
        ]),
    ));
    for &n in z.messages {
        let n = n.to_string();
        steps.push(table(
            &format!("messages-index-rnn-n{n}"),
            pr,
            &format!("Distinct messages of a width-2 random RNN on INDEX_{n} at three precisions."),
            &random_rnn_check(&[
                "--width",
                "2",
                "--precision",
                "fixed:1.1..fixed:1.3",
                "--n",
                &n,
                "--out",
                "data/messages-index-rnn.jsonl",
            ]),
        ));
    }
    steps.push(table(
        "dyck-transformer",
        pr,
        "A random 1-layer Transformer on Dyck-(2,2) as Thm 4's protocol (odd / even positions): \
         its transcripts against Lemma 1's fooling set.",
        &[
            "check",
            "--task",
            "dyck",
            "--arch",
            "transformer",
            "--init",
            "random",
            "--seed",
            "1",
            "--width",
            "2",
            "--precision",
            "fixed:1.2",
            "--n",
            "8",
        ],
    ));
    steps.push(table(
        "dyck-rnn-protocol",
        pr,
        "The Dyck RNN construction as a one-way protocol on its own task.",
        &["check", "--construct", "dyck-rnn", "--n", "8"],
    ));
    steps.push(table(
        "index-lookup-protocol",
        pr,
        "The Thm 1 Transformer as Thm 4's protocol.",
        &["check", "--construct", "index-lookup", "--n", "8"],
    ));

    let co = "Constructions";
    let mut curve_files = Vec::new();
    for (name, range) in z.curves {
        let f = format!("data/curve-{name}.jsonl");
        steps.push(file(
            &format!("curve-{name}"),
            co,
            &format!("The size curve of `{name}` (one JSON line per N)."),
            &["construct", name, "--curve", range, "--out", &f],
            &f,
        ));
        curve_files.push(f);
    }
    let mut vector_files = Vec::new();
    for &n in z.vectors {
        let n = n.to_string();
        let f = format!("data/vectors-{n}.json");
        steps.push(Step {
            stdout: Some(f.clone()),
            ..file(
                &format!("vectors-{n}"),
                co,
                &format!(
                    "Nearly orthogonal codes for N = {n}: each family's length k beside \
                     Hoeffding's, every pair's inner product checked exactly."
                ),
                &["construct", "vectors", "--n", &n, "--json"],
                &f,
            )
        });
        vector_files.push(f);
    }

    let tr = "Trained models";
    let (ns, widths, steps_budget) = z.train;
    let mut train_files = Vec::new();
    for arch in ["lstm", "transformer"] {
        for &n in ns {
            let n = n.to_string();
            let f = format!("data/train-index-n{n}-{arch}.jsonl");
            steps.push(Step {
                stdout: Some(f.clone()),
                ..file(
                    &format!("train-index-n{n}-{arch}"),
                    tr,
                    &format!(
                        "The smallest of the widths {widths} at which {arch} reaches accuracy 1 \
                         on two fresh draws of index lookup at N = {n} (one learning rate, one \
                         seed, {steps_budget} steps), or none if no width does."
                    ),
                    &[
                        "train",
                        "--task",
                        "index",
                        "--n",
                        &n,
                        "--arch",
                        arch,
                        "--widths",
                        widths,
                        "--lrs",
                        "0.01",
                        "--seeds",
                        "0",
                        "--steps",
                        steps_budget,
                    ],
                    &f,
                )
            });
            train_files.push(f);
        }
    }
    if !quick {
        steps.push(file(
            "paper-small",
            tr,
            "The paper's comparisons at CPU scale: 19 width searches (index lookup, Dyck, \
             equality; LSTM, SSM, 1- and 2-layer Transformers), one file each; a rerun skips \
             the finished ones.",
            &["train", "--preset", "paper-small", "--out-dir", "data"],
            "data/paper-small-*.jsonl",
        ));
    }
    let models: [(&str, &str, &str, &str, &str); 2] = [
        ("lstm", "6", "32", "3000", "float:5.1..float:5.8"),
        ("transformer", "8", "8", "1000", "float:4.1..float:4.10"),
    ];
    let mut sweep_files = Vec::new();
    for (arch, n, width, budget, range) in models {
        let w = format!("models/{arch}-index-n{n}.safetensors");
        let line = format!("data/model-{arch}-index-n{n}.jsonl");
        steps.push(Step {
            stdout: Some(line.clone()),
            ..file(
                &format!("model-{arch}-index-n{n}"),
                tr,
                &format!(
                    "One {arch} of width {width} trained on index lookup at N = {n}, weights kept."
                ),
                &[
                    "train", "--task", "index", "--n", n, "--arch", arch, "--width", width, "--lr",
                    "0.01", "--steps", budget, "--out", &w,
                ],
                &line,
            )
        });
        let sweep = format!("data/sweep-{arch}-index-n{n}.jsonl");
        let sweep_args = [
            "check",
            "--task",
            "index",
            "--arch",
            arch,
            "--weights",
            &w,
            "--n",
            n,
            "--precision",
            range,
            "--out",
            &sweep,
        ];
        steps.push(table(
            &format!("sweep-{arch}-index-n{n}"),
            tr,
            &format!(
                "That {arch} as a protocol at each precision of the range: the smallest p from \
                 which it stays correct on every instance, its m·p beside the bound (when that \
                 is the range's lowest p, lower ones were not tried; for a Transformer a `*` \
                 marks an m·p that is not an upper bound on the bits its Thm 4 transcript sends)."
            ),
            &sweep_args,
        ));
        let summary = format!("data/sweep-{arch}-index-n{n}-summary.jsonl");
        let mut summary_step = file(
            &format!("sweep-{arch}-index-n{n}-summary"),
            tr,
            "The same sweep's verdict as a JSON line (its points resume from the file above): \
             what the separation figure draws.",
            &sweep_args,
            &summary,
        );
        summary_step.args.push("--json".into());
        summary_step.stdout = Some(summary.clone());
        steps.push(summary_step);
        sweep_files.push(summary);
    }

    let mut separation_data = curve_files.clone();
    separation_data.extend(sweep_files);
    steps.push(figure(
        "figure-separation",
        "The separation: each construction's smallest verified size against N, dashed the \
         lower bound it is compared with (the legend says whose: the RNN's in m·p bits, the \
         1-layer Transformer's Thm 5 in units of m·H·(p + log₂N)), and the trained models' \
         smallest correct m·p (log-log).",
        "separation",
        &separation_data,
        "figures",
    ));
    steps.push(figure(
        "figure-check-grid",
        "The check grid: accuracy over width × bits per number, each point's verdict, and \
         where m·p reaches the bound.",
        "check-grid",
        &["data/grid-index-rnn.jsonl".to_string()],
        "figures",
    ));
    steps.push(figure(
        "figure-messages",
        "Distinct messages against N beside the 2^N rows of INDEX_N and each precision's \
         2^(m·p) ceiling: the pigeonhole seen.",
        "messages",
        &["data/messages-index-rnn.jsonl".to_string()],
        "figures",
    ));
    let mut trained_data = train_files;
    if !quick {
        trained_data.push("data/paper-small-*.jsonl".to_string());
    }
    steps.push(figure(
        "figure-trained",
        "Trained accuracy over N × width per architecture (the best run at each point; \
         outlined: the smallest width that reached the target).",
        "trained",
        &trained_data,
        "figures",
    ));
    let (eq, disj) = (z.cc[0].1, z.cc[1].1);
    steps.push(figure(
        "figure-matrix-eq",
        &format!(
            "EQ_{eq}'s matrix with its largest 1-fooling set (the diagonal) and its largest \
             0-fooling set: together they force D ≥ ⌈log2(|S1| + |S0|)⌉ = {eq} + 1 bits (the \
             sizes are in the cc table above)."
        ),
        "matrix",
        &[
            format!("certs/eq{eq}/fooling_set_1.json"),
            format!("certs/eq{eq}/fooling_set_0.json"),
        ],
        &format!("figures/eq{eq}-fooling-set"),
    ));
    steps.push(figure(
        "figure-matrix-disj",
        &format!("DISJ_{disj}'s matrix with a smallest partition into monochromatic rectangles."),
        "matrix",
        &[format!("certs/disj{disj}/partition.json")],
        &format!("figures/disj{disj}-partition"),
    ));
    steps.push(figure(
        "figure-protocol-tree",
        &format!("An optimal protocol tree for DISJ_{disj}, from its certificate."),
        "protocol-tree",
        &[format!("certs/disj{disj}/protocol.json")],
        "figures",
    ));
    steps.push(figure(
        "figure-codes",
        "Nearly orthogonal codes: length k against N per family beside Hoeffding's formula.",
        "codes",
        &vector_files,
        "figures",
    ));
    steps
}

/// Expands a `*` pattern the way a shell would (sorted), relative to `dir`; other words pass.
fn expand(word: &str, dir: &Path) -> anyhow::Result<Vec<String>> {
    if !word.contains('*') {
        return Ok(vec![word.to_string()]);
    }
    // Patterns here are `A/*/*.EXT` or `A/*.EXT`: walk the parts.
    let mut found = vec![String::new()];
    for part in word.split('/') {
        let mut next = Vec::new();
        for prefix in &found {
            if !part.contains('*') {
                next.push(if prefix.is_empty() {
                    part.to_string()
                } else {
                    format!("{prefix}/{part}")
                });
                continue;
            }
            let (head, tail) = part.split_once('*').unwrap_or((part, ""));
            let base = dir.join(prefix);
            let Ok(entries) = std::fs::read_dir(&base) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    n.starts_with(head) && n.ends_with(tail) && n.len() >= head.len() + tail.len()
                })
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| {
                if prefix.is_empty() {
                    n
                } else {
                    format!("{prefix}/{n}")
                }
            }));
        }
        found = next;
    }
    if found.is_empty() {
        anyhow::bail!("no file matches '{word}' in '{}'", dir.display());
    }
    Ok(found)
}

/// Runs one step in `dir`; returns its wall time in seconds.
fn run_step(exe: &Path, dir: &Path, step: &Step, threads: Option<u16>) -> anyhow::Result<f64> {
    let mut args = Vec::new();
    if let Some(t) = threads {
        args.push("--threads".to_string());
        args.push(t.to_string());
    }
    for a in &step.args {
        args.extend(expand(a, dir)?);
    }
    let start = Instant::now();
    let out = std::process::Command::new(exe)
        .args(&args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("could not start `{}`", step.command()))?;
    let secs = start.elapsed().as_secs_f64();
    let code = out.status.code().unwrap_or(-1);
    if code != 0 {
        anyhow::bail!(
            "`{}` (in '{}') failed with exit code {code}:\n{}{}",
            step.command(),
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if let Some(f) = &step.stdout {
        let path = dir.join(f);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("could not create '{}'", parent.display()))?;
        }
        std::fs::write(&path, &out.stdout)
            .with_context(|| format!("could not write '{}'", path.display()))?;
    }
    Ok(secs)
}

/// The folders the steps write into (created first: commands refuse an `--out` in a missing
/// folder).
const DIRS: [&str; 5] = ["data", "tables", "certs", "models", "figures"];

/// The result file a step appends to and resumes from (`check` / `construct` with `--out`):
/// a quick run removes it first, so that it computes everything afresh; a full run keeps it
/// and computes only what is missing. Nothing else is ever removed.
fn resumable_file(step: &Step) -> Option<&str> {
    if !matches!(
        step.args.first().map(String::as_str),
        Some("check" | "construct")
    ) {
        return None;
    }
    let i = step.args.iter().position(|a| a == "--out")?;
    step.args.get(i + 1).map(String::as_str)
}

/// How the report of a quick run starts (and how a quick run recognises a folder it made).
const QUICK_REPORT_START: &str = "# ccsep report\n\nMade by `ccsep paper --quick`.";

/// `REPORT.md` for `steps`; `saved` gives the text a step kept (its table).
pub fn report(
    steps: &[Step],
    quick: bool,
    saved: &dyn Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let mut r = String::new();
    let how = if quick {
        "ccsep paper --quick"
    } else {
        "ccsep paper"
    };
    let _ = writeln!(r, "# ccsep report\n");
    let _ = writeln!(
        r,
        "Made by `{how}`. Every result below is the output of the `ccsep` command printed \
         above it, run in this folder (paths are relative to it); rerun any one of them to \
         check it. The whole report is deterministic: the same ccsep gives the same files, \
         whatever the thread count, except for the training lines' timings (`wall_s`, \
         `steps_per_s`); each command's time is printed on standard error only.\n"
    );
    if quick {
        let _ = writeln!(
            r,
            "`--quick` runs everything at small sizes (a few minutes on two cores); `ccsep \
             paper` runs the full sizes, reusing the committed result files under `plots/data/`.\n"
        );
    }
    for (section, intro) in SECTIONS {
        let in_section: Vec<&Step> = steps.iter().filter(|s| s.section == section).collect();
        if in_section.is_empty() {
            continue;
        }
        let _ = writeln!(r, "## {section}\n\n{intro}\n");
        for step in in_section {
            let _ = writeln!(r, "{}\n\n```text\n$ {}\n```\n", step.what, step.command());
            match &step.show {
                Show::Table => {
                    let text = saved(step.stdout.as_deref().unwrap_or_default())?;
                    let nl = if text.ends_with('\n') { "" } else { "\n" };
                    let _ = writeln!(r, "```text\n{text}{nl}```\n");
                }
                Show::File(f) if f.contains('*') => {
                    let _ = writeln!(r, "Results: `{f}`\n");
                }
                Show::File(f) => {
                    let _ = writeln!(r, "Result: [`{f}`]({f})\n");
                }
                Show::Figure { dir, stem } => {
                    let _ = writeln!(
                        r,
                        "![{stem}]({dir}/{stem}.png)\n\n[SVG]({dir}/{stem}.svg) · [data (CSV)]({dir}/{stem}.csv)\n"
                    );
                }
            }
        }
    }
    Ok(r)
}

/// What `ccsep paper` was asked for.
pub struct PaperRequest {
    pub quick: bool,
    pub out: PathBuf,
    pub threads: Option<u16>,
}

/// The default output folder: `plots/quick` for `--quick`, `plots` for the full run.
pub fn default_out(quick: bool) -> PathBuf {
    PathBuf::from(if quick { "plots/quick" } else { "plots" })
}

/// Runs the plan; progress on standard error; returns the report's path.
pub fn run(req: &PaperRequest) -> anyhow::Result<PathBuf> {
    let steps = plan(req.quick);
    if req.out.exists() && !req.out.is_dir() {
        return Err(InputError::new(format!(
            "--out {}: it is a file; name a folder for the report",
            req.out.display()
        ))
        .into());
    }
    let exe = std::env::current_exe().context("could not find the ccsep executable")?;
    std::fs::create_dir_all(&req.out).map_err(|e| {
        InputError::new(format!(
            "--out {}: could not create the folder ({e}); name a folder you can write",
            req.out.display()
        ))
    })?;
    if req.quick {
        // Only a folder an earlier quick run made may have its result files replaced: the same
        // names under `plots/` hold the full results.
        let made_by_quick = std::fs::read_to_string(req.out.join("REPORT.md"))
            .is_ok_and(|r| r.starts_with(QUICK_REPORT_START));
        if !made_by_quick
            && let Some(f) = steps
                .iter()
                .filter_map(resumable_file)
                .find(|f| req.out.join(f).exists())
        {
            return Err(InputError::new(format!(
                "--out {}: it already holds {f}, which a quick run would replace, and no \
                 REPORT.md of an earlier `ccsep paper --quick`; name an empty folder (the default \
                 is plots/quick), or run `ccsep paper` without --quick to resume the results there",
                req.out.display()
            ))
            .into());
        }
        for f in steps.iter().filter_map(resumable_file) {
            let p = req.out.join(f);
            if p.is_file() {
                std::fs::remove_file(&p)
                    .with_context(|| format!("could not remove '{}'", p.display()))?;
            }
        }
    }
    for d in DIRS {
        let p = req.out.join(d);
        std::fs::create_dir_all(&p).map_err(|e| {
            InputError::new(format!(
                "--out {}: could not create '{}' ({e}); name a folder you can write",
                req.out.display(),
                p.display()
            ))
        })?;
    }
    let total = steps.len();
    let start = Instant::now();
    for (k, step) in steps.iter().enumerate() {
        eprint!("[{:>2}/{total}] {} … ", k + 1, step.command());
        let secs = run_step(&exe, &req.out, step, req.threads)?;
        eprintln!("{secs:.1} s");
    }
    let read = |f: &str| -> anyhow::Result<String> {
        let path = req.out.join(f);
        std::fs::read_to_string(&path)
            .with_context(|| format!("could not read '{}'", path.display()))
    };
    let text = report(&steps, req.quick, &read)?;
    let path = req.out.join("REPORT.md");
    std::fs::write(&path, text).with_context(|| format!("could not write '{}'", path.display()))?;
    eprintln!(
        "paper: {total} commands in {:.0} s; the report is {}",
        start.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_and_kept_files_are_unique_in_both_plans() {
        for quick in [true, false] {
            let p = plan(quick);
            let mut ids: Vec<&str> = p.iter().map(|s| s.id.as_str()).collect();
            ids.sort();
            let n = ids.len();
            ids.dedup();
            assert_eq!(ids.len(), n, "duplicate step ids");
            for s in &p {
                assert!(
                    SECTIONS.iter().any(|(name, _)| *name == s.section),
                    "{}",
                    s.id
                );
            }
        }
    }

    #[test]
    fn patterns_expand_sorted_and_an_unmatched_one_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "certs/b/y.json",
            "certs/a/x.json",
            "certs/a/w.json",
            "certs/a/z.dot",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        assert_eq!(
            expand("certs/*/*.json", d.path()).unwrap(),
            ["certs/a/w.json", "certs/a/x.json", "certs/b/y.json"]
        );
        assert_eq!(expand("plain", d.path()).unwrap(), ["plain"]);
        assert!(expand("none/*.json", d.path()).is_err());
    }
}
