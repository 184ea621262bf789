//! Re-runs every `ccsep` command listed in `proofs/*.md`, writing certificates into a temporary
//! directory instead of `proofs/certificates/`, and checks
//! - that each succeeds;
//! - that what it prints is what its page says it printed: a command fence (```` ``` ````) is
//!   followed by a ```` ```printed ```` fence holding the standard output of its commands, in
//!   order; a line `...` there stands for any number of lines (zero or more), so a page can
//!   quote only the lines that matter; lines are compared with trailing spaces removed, and the
//!   temporary directory is written back as `proofs/certificates/`;
//! - that what each writes is byte-for-byte the committed certificate (so the committed files
//!   are exactly what the commands produce).
//!
//! `PROOFS_UPDATE=1 cargo test --release --test proofs` rewrites every printed fence that has
//! no `...` with what its commands print now (read the diff before committing it); a fence
//! with `...` is left for a person to edit, and the test still fails on it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// One fence of commands on a page, and the printed fence after it.
struct Block {
    file: PathBuf,
    /// 1-based line of the fence's opening.
    line: usize,
    commands: Vec<String>,
    /// The printed fence's lines, and its line range in the file (opening and closing fence).
    printed: Option<(Vec<String>, usize, usize)>,
}

fn pages(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("proofs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
}

/// The command fences of a page: fences with `ccsep ` lines (a ```` ```printed ```` fence's lines
/// are output, never commands).
fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let open = lines[i].trim_start();
        if !open.starts_with("```") {
            i += 1;
            continue;
        }
        let info = open.trim_start_matches('`').trim();
        let start = i;
        i += 1;
        let mut body = Vec::new();
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            body.push(lines[i]);
            i += 1;
        }
        i += 1; // the closing fence
        if info == "printed" {
            continue;
        }
        let commands: Vec<String> = body
            .iter()
            .filter(|l| l.starts_with("ccsep "))
            .map(|l| l.to_string())
            .collect();
        if commands.is_empty() {
            continue;
        }
        let mut j = i;
        while j < lines.len() && lines[j].trim().is_empty() {
            j += 1;
        }
        let mut printed = None;
        if j < lines.len() && lines[j].trim() == "```printed" {
            let open_at = j;
            j += 1;
            let mut body = Vec::new();
            while j < lines.len() && !lines[j].trim_start().starts_with("```") {
                body.push(lines[j].trim_end().to_string());
                j += 1;
            }
            printed = Some((body, open_at, j));
            i = j + 1;
        }
        out.push(Block {
            file: file.to_path_buf(),
            line: start + 1,
            commands,
            printed,
        });
    }
    out
}

/// Whether `actual` matches `pattern`, where a pattern line `...` matches any run of lines.
fn matches(pattern: &[String], actual: &[String]) -> bool {
    // reach[j]: the first i pattern lines can match the first j actual lines.
    let mut reach = vec![false; actual.len() + 1];
    reach[0] = true;
    for p in pattern {
        let mut next = vec![false; actual.len() + 1];
        if p == "..." {
            let mut any = false;
            for j in 0..=actual.len() {
                any |= reach[j];
                next[j] = any;
            }
        } else {
            for j in 0..actual.len() {
                if reach[j] && actual[j] == *p {
                    next[j + 1] = true;
                }
            }
        }
        reach = next;
    }
    reach[actual.len()]
}

#[test]
fn the_matcher_reads_ellipses() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(matches(&s(&["a", "...", "d"]), &s(&["a", "b", "c", "d"])));
    assert!(matches(&s(&["a", "...", "b"]), &s(&["a", "b"])));
    assert!(matches(&s(&["..."]), &s(&[])));
    assert!(!matches(&s(&["a", "...", "d"]), &s(&["a", "b", "c"])));
    assert!(!matches(&s(&["a", "b"]), &s(&["a", "b", "c"])));
    assert!(!matches(&s(&["a", "x"]), &s(&["a", "b"])));
}

#[test]
fn every_command_in_proofs_runs_prints_what_its_page_says_and_reproduces_its_certificates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("PROOFS_UPDATE").is_some();
    let all: Vec<Block> = pages(root).iter().flat_map(|f| blocks(f)).collect();
    let count: usize = all.iter().map(|b| b.commands.len()).sum();
    assert!(count >= 8, "found only {count} commands");
    let tmp = tempfile::tempdir().unwrap();
    let tmp_certs = tmp.path().to_str().unwrap().to_string() + "/";
    let mut stale = Vec::new();
    // Per file: the printed fences to rewrite (line range, new lines).
    let mut rewrites: Vec<(PathBuf, usize, usize, Vec<String>)> = Vec::new();
    for block in &all {
        let file = block.file.display();
        let mut printed = String::new();
        for line in &block.commands {
            let rewritten = line.replace("proofs/certificates/", &tmp_certs);
            let args: Vec<&str> = rewritten.split_whitespace().skip(1).collect();
            let out = Command::cargo_bin("ccsep")
                .unwrap()
                .current_dir(root)
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{file}: `{line}` failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            printed.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        let printed = printed.replace(&tmp_certs, "proofs/certificates/");
        let actual: Vec<String> = printed.lines().map(|l| l.trim_end().to_string()).collect();
        match &block.printed {
            None => stale.push(format!(
                "{file}:{}: the command fence has no ```printed fence after it",
                block.line
            )),
            Some((want, open, close)) => {
                if !matches(want, &actual) {
                    if update && !want.iter().any(|l| l == "...") {
                        rewrites.push((block.file.clone(), *open, *close, actual.clone()));
                    } else {
                        stale.push(format!(
                            "{file}:{}: the commands printed\n{}\nwhich the printed fence does not match",
                            block.line,
                            actual.join("\n")
                        ));
                    }
                }
            }
        }
    }
    // Rewrite from the bottom of each file up, so earlier ranges stay valid.
    rewrites.sort_by(|a, b| (&a.0, b.1).cmp(&(&b.0, a.1)));
    for (path, open, close, lines) in &rewrites {
        let text = std::fs::read_to_string(path).unwrap();
        let mut all_lines: Vec<String> = text.lines().map(str::to_string).collect();
        all_lines.splice(open + 1..*close, lines.iter().cloned());
        std::fs::write(path, all_lines.join("\n") + "\n").unwrap();
    }
    assert!(
        stale.is_empty(),
        "{} stale page(s) (PROOFS_UPDATE=1 rewrites fences without `...`):\n\n{}",
        stale.len(),
        stale.join("\n\n")
    );
    let committed = root.join("proofs/certificates");
    let mut written = Vec::new();
    files_under(tmp.path(), &mut written);
    for f in &written {
        let rel = f.strip_prefix(tmp.path()).unwrap();
        let want = std::fs::read(committed.join(rel))
            .unwrap_or_else(|_| panic!("proofs/certificates/{} is not committed", rel.display()));
        assert!(
            want == std::fs::read(f).unwrap(),
            "proofs/certificates/{} differs from what its command writes now",
            rel.display()
        );
    }
    assert!(!written.is_empty());
}

/// Every file under `dir` (certificate folders, and witnesses written straight into it).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}
