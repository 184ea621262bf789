//! `ccsep demo`: every walk-through run non-interactively and pinned (`tests/snapshots/demo__*`,
//! without colour, 100 columns wide), its witness re-checked by `ccsep verify`, and the
//! colour, width, handout and refusal rules.

use std::path::PathBuf;

/// The `ccsep` binary of this build.
fn ccsep() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("ccsep").expect("the ccsep binary builds")
}

const DEMOS: [&str; 6] = [
    "pigeonhole",
    "fooling",
    "rank",
    "protocol",
    "dyck",
    "index-lookup",
];

/// `ccsep demo ARGS` with a fixed width and no colour from the environment.
fn demo(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = ccsep();
    cmd.arg("demo")
        .args(args)
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    cmd
}

fn stdout_of(mut cmd: impl std::borrow::BorrowMut<assert_cmd::Command>) -> String {
    let out = cmd
        .borrow_mut()
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("UTF-8")
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
    settings.bind(|| insta::assert_snapshot!(format!("demo__{name}"), text));
}

#[test]
fn every_demo_runs_through_and_is_pinned() {
    for name in DEMOS {
        let text = stdout_of(demo(&[name, "--no-pause", "--no-color", "--answers"]));
        assert!(
            !text.contains('\u{1b}'),
            "{name}: colour codes in --no-color output"
        );
        assert!(text.contains("question for the students"), "{name}");
        snapshot(&name.replace('-', "_"), &text);
    }
}

#[test]
fn the_list_names_every_demo() {
    for args in [&[][..], &["--list"][..]] {
        let text = stdout_of(demo(args));
        for name in DEMOS {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        snapshot("list", &text);
    }
}

/// The pigeonhole demo's witness is the file `ccsep check --witness-out` writes, and
/// `ccsep verify` accepts it by re-running the model; the dyck demo's too.
#[test]
fn the_demo_witnesses_are_accepted_by_verify() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["pigeonhole", "dyck"] {
        let w = tmp.path().join(format!("{name}.json"));
        let text = stdout_of(demo(&[
            name,
            "--no-pause",
            "--witness-out",
            w.to_str().unwrap(),
        ]));
        assert!(text.contains("ccsep verify"), "{text}");
        let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&w).unwrap()).unwrap();
        assert_eq!(file["ccsep_witness"], 1);
        let out = ccsep().arg("verify").arg(&w).assert().success();
        let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(said.contains("wrong on"), "{said}");
    }
}

/// Colour only where it may be: `CLICOLOR_FORCE` turns it on for a pipe (the control that
/// shows the other cases could fail), and `NO_COLOR` or `--no-color` turn it off again.
#[test]
fn colour_follows_no_color_and_the_flag() {
    let coloured = stdout_of(demo(&["fooling", "--no-pause"]).env("CLICOLOR_FORCE", "1"));
    assert!(coloured.contains('\u{1b}'), "CLICOLOR_FORCE gave no colour");
    let plain = stdout_of(demo(&["fooling", "--no-pause"]));
    assert!(!plain.contains('\u{1b}'), "a pipe got colour");
    let no_color = stdout_of(
        demo(&["fooling", "--no-pause"])
            .env("CLICOLOR_FORCE", "1")
            .env("NO_COLOR", "1"),
    );
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR ignored");
    let flag = stdout_of(demo(&["fooling", "--no-pause", "--no-color"]).env("CLICOLOR_FORCE", "1"));
    assert!(!flag.contains('\u{1b}'), "--no-color ignored");
    assert_eq!(no_color, plain);
    assert_eq!(flag, plain);
}

/// Prose wraps to `COLUMNS`, and a drawing that does not fit is replaced by a note that says
/// so (a narrower variant first, where there is one).
#[test]
fn the_width_is_respected() {
    let text = stdout_of(demo(&["fooling", "--no-pause", "--n", "5"]).env("COLUMNS", "50"));
    assert!(text.lines().all(|l| l.chars().count() <= 50), "{text}");
    assert!(text.contains("is not drawn"), "{text}");
    let wide = stdout_of(demo(&["fooling", "--no-pause", "--n", "5"]).env("COLUMNS", "120"));
    assert!(!wide.contains("is not drawn"), "{wide}");
    // A width beyond any screen is capped (it once wrote 100,000-column rules).
    let huge = stdout_of(demo(&["fooling", "--no-pause"]).env("COLUMNS", "100000"));
    assert!(huge.lines().all(|l| l.chars().count() <= 400));
}

#[test]
fn the_markdown_handout_is_written_without_colour() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("handout.md");
    let said = stdout_of(
        demo(&["rank", "--answers", "--markdown", md.to_str().unwrap()]).env("CLICOLOR_FORCE", "1"),
    );
    assert!(said.contains("wrote the rank walk-through"), "{said}");
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(!text.contains('\u{1b}'));
    assert!(text.starts_with("# ccsep demo rank"), "{text}");
    assert!(text.contains("```text\n"), "{text}");
    assert!(text.contains("## Answer"), "{text}");
    assert_eq!(text.matches("## Step ").count(), 4);
}

#[test]
fn sizes_out_of_range_are_refused_with_the_limit() {
    let out = demo(&["fooling", "--n", "9", "--no-pause"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("--n 9") && err.contains("the largest is 5"),
        "{err}"
    );
    assert!(out.get_output().stdout.is_empty());
    let out = demo(&["dyck", "--n", "7"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("odd"), "{err}");
    let out = demo(&["protocol", "--x", "9"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--x 9"), "{err}");
    let out = demo(&["rank", "--x", "1"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("--x and --y"), "{err}");
}

#[test]
fn an_unknown_demo_is_refused_with_the_names() {
    let out = demo(&["nope"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for name in DEMOS {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
}
