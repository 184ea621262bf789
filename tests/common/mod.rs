//! Helpers shared by the integration tests that run the real `ccsep` binary.

use assert_cmd::Command;

/// The `ccsep` binary of this build.
pub fn ccsep() -> Command {
    Command::cargo_bin("ccsep").expect("the ccsep binary builds")
}

/// Runs `cmd`, asserts exit code 0, and returns its standard output.
pub fn success_stdout(cmd: &mut Command) -> Vec<u8> {
    cmd.assert().success().get_output().stdout.clone()
}

/// Runs `cmd`, asserts exit code 0, and parses its standard output as JSON.
pub fn success_json(cmd: &mut Command) -> serde_json::Value {
    serde_json::from_slice(&success_stdout(cmd)).expect("stdout is JSON")
}
