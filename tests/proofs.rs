//! Re-runs every `ccsep` command listed in `proofs/*.md`, writing certificates into a temporary
//! directory instead of `proofs/certificates/`, and checks that each succeeds and that what it
//! writes is byte-for-byte the committed certificate (so the committed files are exactly what
//! the command produces).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn commands(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("proofs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut in_fence = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
            } else if in_fence && line.starts_with("ccsep ") {
                out.push((f.display().to_string(), line.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_command_in_proofs_runs_and_reproduces_its_certificates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cmds = commands(root);
    assert!(cmds.len() >= 8, "found only {} commands", cmds.len());
    let tmp = tempfile::tempdir().unwrap();
    let tmp_certs = tmp.path().to_str().unwrap().to_string() + "/";
    for (file, line) in &cmds {
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
    }
    let committed = root.join("proofs/certificates");
    let mut compared = 0;
    for dir in std::fs::read_dir(tmp.path()).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let rel = f.strip_prefix(tmp.path()).unwrap();
            let want = std::fs::read(committed.join(rel)).unwrap_or_else(|_| {
                panic!("proofs/certificates/{} is not committed", rel.display())
            });
            assert!(
                want == std::fs::read(&f).unwrap(),
                "proofs/certificates/{} differs from what its command writes now",
                rel.display()
            );
            compared += 1;
        }
    }
    assert!(compared > 0);
}
