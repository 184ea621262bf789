//! Errors a user can cause, and how they map to exit codes.
//!
//! `InputError` is bad input: a flag out of range, a malformed file, a size that will not fit.
//! The CLI prints its message and exits with code 2. Anything else that goes wrong is a bug or an
//! I/O failure and is reported through `anyhow` with context.
//!
//! The library never spells a command-line flag in an error. A message that tells the user what
//! to change names the [`Setting`] (`format!("pass {} K", Setting::Sample)`); the front end
//! chooses how a setting is shown ([`InputError::render`]: the CLI shows `--sample`), and a
//! library user who prints the error with `Display` sees the setting's own name (`sample`).
//! Report texts that name a setting (`cc`'s notes on limits hit) are built the same way and shown
//! through [`spell_settings`]. Still spelled literally: the options list of a task's refusal
//! (`tasks sample`) and the sampled-family note in the nearest construction's report.

use std::fmt;

/// A setting a user chooses for a run, named by the library and spelled by the front end.
///
/// Invariant: `Display` writes the setting as a placeholder (a private-use character around its
/// name), which only [`InputError`]'s `Display` and [`InputError::render`] resolve; it is meant
/// for building `InputError` messages and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// The length: bits per party, symbols, string length or vectors.
    N,
    Width,
    Layers,
    Heads,
    Outputs,
    Arch,
    Precision,
    Gamma,
    Seed,
    /// Random instances a construction is checked on beyond its worst cases.
    Samples,
    /// Seeded Alice inputs a check takes instead of all of them.
    Sample,
    Count,
    Depth,
    Construct,
    Matrix,
    Out,
    OutDir,
    MaxWork,
    MaxMemory,
    SearchNodes,
    FoolingEntries,
    RectangleCells,
    ProtocolClasses,
    RationalEntries,
    Gf2Work,
    Threads,
    Task,
    Init,
    Weights,
    WitnessOut,
    Save,
    Curve,
    Certify,
    /// The prefix of a weights file's layer tensors.
    Prefix,
    /// Which tensors of a weights file play which role, and what a state dict does not record.
    Names,
    Nonlinearity,
    Rounding,
    /// The Markdown handout a demo writes.
    Markdown,
    /// Alice's input a demo follows.
    X,
    /// Bob's input a demo follows.
    Y,
    /// Keep last: the test of `Setting::ALL` counts the variants up to it.
    Accumulate,
}

impl Setting {
    const ALL: [Setting; 41] = [
        Setting::N,
        Setting::Width,
        Setting::Layers,
        Setting::Heads,
        Setting::Outputs,
        Setting::Arch,
        Setting::Precision,
        Setting::Gamma,
        Setting::Seed,
        Setting::Samples,
        Setting::Sample,
        Setting::Count,
        Setting::Depth,
        Setting::Construct,
        Setting::Matrix,
        Setting::Out,
        Setting::OutDir,
        Setting::MaxWork,
        Setting::MaxMemory,
        Setting::SearchNodes,
        Setting::FoolingEntries,
        Setting::RectangleCells,
        Setting::ProtocolClasses,
        Setting::RationalEntries,
        Setting::Gf2Work,
        Setting::Threads,
        Setting::Task,
        Setting::Init,
        Setting::Weights,
        Setting::WitnessOut,
        Setting::Save,
        Setting::Curve,
        Setting::Certify,
        Setting::Prefix,
        Setting::Names,
        Setting::Nonlinearity,
        Setting::Rounding,
        Setting::Markdown,
        Setting::X,
        Setting::Y,
        Setting::Accumulate,
    ];

    /// The setting's own name, as a library user reads it (`max-work`).
    pub fn name(self) -> &'static str {
        match self {
            Setting::N => "n",
            Setting::Width => "width",
            Setting::Layers => "layers",
            Setting::Heads => "heads",
            Setting::Outputs => "outputs",
            Setting::Arch => "arch",
            Setting::Precision => "precision",
            Setting::Gamma => "gamma",
            Setting::Seed => "seed",
            Setting::Samples => "samples",
            Setting::Sample => "sample",
            Setting::Count => "count",
            Setting::Depth => "depth",
            Setting::Construct => "construct",
            Setting::Matrix => "matrix",
            Setting::Out => "out",
            Setting::OutDir => "out-dir",
            Setting::MaxWork => "max-work",
            Setting::MaxMemory => "max-memory",
            Setting::SearchNodes => "search-nodes",
            Setting::FoolingEntries => "fooling-entries",
            Setting::RectangleCells => "rectangle-cells",
            Setting::ProtocolClasses => "protocol-classes",
            Setting::RationalEntries => "rational-entries",
            Setting::Gf2Work => "gf2-work",
            Setting::Threads => "threads",
            Setting::Task => "task",
            Setting::Init => "init",
            Setting::Weights => "weights",
            Setting::WitnessOut => "witness-out",
            Setting::Save => "save",
            Setting::Curve => "curve",
            Setting::Certify => "certify",
            Setting::Prefix => "prefix",
            Setting::Names => "names",
            Setting::Nonlinearity => "nonlinearity",
            Setting::Rounding => "rounding",
            Setting::Markdown => "markdown",
            Setting::X => "x",
            Setting::Y => "y",
            Setting::Accumulate => "accumulate",
        }
    }

    fn from_name(name: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Opens and closes a setting's placeholder in a message: Unicode private-use characters, which
/// no message of ccsep's own contains (a user's file name holding one would lose it when the
/// message is shown; nothing else changes).
const OPEN: char = '\u{F8F0}';
const CLOSE: char = '\u{F8F1}';

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{OPEN}{}{CLOSE}", self.name())
    }
}

/// Bad input from the user: exit code 2, with a message that says what is wrong and how to fix it.
///
/// The message may name settings (see [`Setting`]); `Display` shows them by their own names and
/// [`InputError::render`] the way a front end spells them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render(|s| s.name().to_string()))]
pub struct InputError {
    /// The message, settings as placeholders: read it through `Display` or `render`.
    pub message: String,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
        }
    }

    /// The message with each setting shown as `spell` writes it (the CLI: its flag).
    pub fn render(&self, spell: impl Fn(Setting) -> String) -> String {
        spell_settings(&self.message, spell)
    }
}

/// `text` with each setting placeholder shown as `spell` writes it: for report texts built
/// with [`Setting`]s (a measure's note on a limit it hit), as [`InputError::render`] for errors.
pub fn spell_settings(text: &str, spell: impl Fn(Setting) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len_utf8()..];
        match after.find(CLOSE) {
            Some(end) => {
                let name = &after[..end];
                match Setting::from_name(name) {
                    Some(setting) => out.push_str(&spell(setting)),
                    None => out.push_str(name),
                }
                rest = &after[end + CLOSE.len_utf8()..];
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl InputError {
    /// The settings the message names, in order (a front end may offer help on each).
    pub fn settings(&self) -> Vec<Setting> {
        self.message
            .split(OPEN)
            .skip(1)
            .filter_map(|part| part.split(CLOSE).next().and_then(Setting::from_name))
            .collect()
    }
}

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code when a check ran and failed (a certificate rejected, a bound violated).
pub const EXIT_CHECK_FAILED: i32 = 1;
/// Exit code for bad input.
pub const EXIT_BAD_INPUT: i32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_spelled_by_the_front_end() {
        let e = InputError::new(format!(
            "over the limit: raise {} or pass {} K",
            Setting::MaxWork,
            Setting::Sample
        ));
        assert_eq!(
            e.to_string(),
            "over the limit: raise max-work or pass sample K"
        );
        assert_eq!(
            e.render(|s| format!("--{}", s.name())),
            "over the limit: raise --max-work or pass --sample K"
        );
        assert_eq!(e.settings(), vec![Setting::MaxWork, Setting::Sample]);
    }

    #[test]
    fn every_setting_reads_back_from_its_name() {
        for s in Setting::ALL {
            assert_eq!(Setting::from_name(s.name()), Some(s));
        }
        // ALL lists every variant once, in declaration order (the last declared is
        // `Accumulate`): a variant left out of ALL would be shown without its flag.
        for (i, s) in Setting::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i, "{s:?}");
        }
        assert_eq!(Setting::ALL.len(), Setting::Accumulate as usize + 1);
    }

    #[test]
    fn plain_messages_are_unchanged() {
        let e = InputError::new("a file is not JSON: starts with '{'");
        assert_eq!(e.to_string(), "a file is not JSON: starts with '{'");
        assert!(e.settings().is_empty());
    }
}
