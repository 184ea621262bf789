//! `ccsep verify`: reads certificate and witness files (told apart by their keys), admits them
//! within a memory limit, and checks each one: certificates with the independent checker,
//! witnesses by re-running the rebuilt model's plain forward pass.

use std::path::Path;

use crate::certificate::check::{self, Verified};
use crate::certificate::{CertificateFile, Claim};
use crate::error::{EXIT_CHECK_FAILED, EXIT_OK, InputError, Setting};
use crate::input;
use crate::model;
use crate::numeric::Precision;
use crate::problem::{ProblemSpec, human_bytes};

use super::source::ModelSource;
use super::witness::{self, WitnessFile};

/// What became of one file: refused before any check (bad input), or checked.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Not a certificate or a witness, or one the checker refuses before building anything (a
    /// field out of range, over the memory limit): why.
    Refused(String),
    /// Checked: what it proves, or why its claim is false.
    Checked(Result<Verified, String>),
}

/// One file's verdict.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The file as named.
    pub file: String,
    pub outcome: Outcome,
}

impl Verdict {
    /// The exit code of this file alone: ok, a false claim, or bad input.
    pub fn exit_code(&self) -> i32 {
        match &self.outcome {
            Outcome::Refused(_) => crate::error::EXIT_BAD_INPUT,
            Outcome::Checked(Ok(_)) => EXIT_OK,
            Outcome::Checked(Err(_)) => EXIT_CHECK_FAILED,
        }
    }
}

/// Reads, admits and checks one file; the messages of a refused or rejected file name settings
/// as `spell` writes them. A file that is not a certificate, or one the checker
/// refuses before building anything, is [`Outcome::Refused`]; the caller goes on with the
/// other files.
pub fn verify_file(path: &Path, max_memory: u64, spell: super::Spell) -> Verdict {
    let file = path.display().to_string();
    let outcome = match read_certificate(path, max_memory) {
        Err(e) => Outcome::Refused(e.render(spell)),
        Ok(Checkable::Certificate(c)) => {
            Outcome::Checked(check::check_with_limit(&c, max_memory).map_err(|r| r.0))
        }
        Ok(Checkable::Witness(w, a)) => {
            Outcome::Checked(witness::verify_model(&w, &a.0, &a.1, spell))
        }
    };
    Verdict { file, outcome }
}

/// The exit code of a whole run: bad input if any file was refused, else a failed check if any
/// claim was false.
pub fn exit_code(verdicts: &[Verdict]) -> i32 {
    let codes: Vec<i32> = verdicts.iter().map(Verdict::exit_code).collect();
    if codes.contains(&crate::error::EXIT_BAD_INPUT) {
        crate::error::EXIT_BAD_INPUT
    } else if codes.contains(&EXIT_CHECK_FAILED) {
        EXIT_CHECK_FAILED
    } else {
        EXIT_OK
    }
}

/// A file `verify` reads: a certificate or a witness, told apart by their keys; a witness with
/// what its admission found.
enum Checkable {
    Certificate(Box<CertificateFile>),
    Witness(Box<WitnessFile>, Box<(witness::Admitted, model::Model)>),
}

/// The first top-level field of `$v` that does not read as its type: `(name, error)`.
macro_rules! first_bad_field {
    ($v:expr, $file:ty, $($f:ident: $t:ty),* $(,)?) => {{
        let v: &serde_json::Value = $v;
        let mut bad = None;
        $(
            if bad.is_none()
                && let Some(x) = v.get(stringify!($f))
                && let Err(e) = <$t as serde::Deserialize>::deserialize(x)
            {
                bad = Some((stringify!($f), e.to_string()));
            }
        )*
        bad
    }};
}

/// Largest file whose parse error is narrowed down to the field at fault (that takes a second
/// parse into a JSON tree, several times the file's size in memory).
const DIAGNOSE_MAX_BYTES: u64 = 16 << 20;

/// Reads, parses and admits one file: every error here (unreadable, not a certificate or a
/// witness, a field the checker refuses, over `max_memory`) is bad input, found before anything
/// is built. Errors name the file, and the field where one is at fault.
/// The text of a JSON file for `verify`, at most `limit` bytes: refused at its first
/// non-blank byte when that cannot open a JSON object, and when it is not UTF-8.
fn read_json_text(path: &Path, limit: u64) -> Result<String, InputError> {
    use std::io::Read;
    let name = path.display();
    let mut reader = input::open_bounded(
        path,
        "file",
        limit,
        format!(
            "`ccsep verify {} BYTES` raises the limit (a file may take 8 times its size once read)",
            Setting::MaxMemory
        ),
    )?;
    let could_not = |e: std::io::Error| InputError::new(format!("could not read {name}: {e}"));
    let mut bytes = Vec::new();
    (&mut reader)
        .take(4096)
        .read_to_end(&mut bytes)
        .map_err(could_not)?;
    if let Some(&b) = bytes.iter().find(|b| !b.is_ascii_whitespace())
        && b != b'{'
    {
        return Err(InputError::new(format!(
            "{name} is not JSON: a certificate or witness is one JSON object, starting with '{{', and this file starts with byte 0x{b:02x}"
        )));
    }
    reader.read_to_end(&mut bytes).map_err(could_not)?;
    String::from_utf8(bytes).map_err(|e| {
        InputError::new(format!(
            "{name} is not UTF-8 text (byte {} is not)",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn read_certificate(path: &Path, max_memory: u64) -> Result<Checkable, InputError> {
    let name = path.display();
    let len = std::fs::metadata(path)
        .map_err(|e| InputError::new(format!("could not open {name}: {e}")))?
        .len();
    // Parsed, a file takes up to about 8 times its text (a list of short numbers, each a u64).
    let parsed = u128::from(len) * 8;
    if parsed > u128::from(max_memory) {
        return Err(InputError::new(format!(
            "{name} is {} and may take {} once read, over the memory limit of {}; `ccsep verify {} BYTES` raises it if the machine has the memory",
            human_bytes(u128::from(len)),
            human_bytes(parsed),
            human_bytes(u128::from(max_memory)),
            Setting::MaxMemory
        )));
    }
    // The size above is 0 for a device or a pipe (/dev/zero, /dev/urandom): the read itself is
    // bounded to the same limit, and stops at once when the text cannot be a JSON object.
    let text = read_json_text(path, max_memory / 8)?;
    let len = text.len() as u64;
    /// Only whether the marker key is there (whatever its value); everything else is skipped
    /// without being kept.
    #[derive(serde::Deserialize)]
    struct Marker {
        #[serde(default, deserialize_with = "present")]
        ccsep_witness: bool,
        #[serde(default, deserialize_with = "present")]
        ccsep_certificate: bool,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        <serde::de::IgnoredAny as serde::Deserialize>::deserialize(d).map(|_| true)
    }
    let marker: Marker = serde_json::from_str(&text)
        .map_err(|e| InputError::new(format!("{name} is not JSON: {e}")))?;
    let in_file = |e: InputError| InputError::new(in_file(&name.to_string(), &e.message));
    if marker.ccsep_witness && marker.ccsep_certificate {
        return Err(InputError::new(format!(
            "{name} has both `ccsep_witness` and `ccsep_certificate`: a file is a witness or a \
             certificate, not both; remove the key that does not belong"
        )));
    }
    if marker.ccsep_witness {
        let w: WitnessFile = serde_json::from_str(&text).map_err(|e| {
            field_error(&text, len, &name.to_string(), "witness", e, |v| {
                first_bad_field!(v, WitnessFile, ccsep_witness: u32, model: ModelSource,
                    precision: Precision, task: String, n: u32, x: u64, x_prime: u64, y: u64,
                    y_prime: Option<u64>, expected: [bool; 2], answers: [bool; 2])
            })
        })?;
        let admitted = witness::admit(&w, max_memory).map_err(in_file)?;
        let model = witness::rebuild(&w, &admitted).map_err(in_file)?;
        Ok(Checkable::Witness(Box::new(w), Box::new((admitted, model))))
    } else {
        let c: CertificateFile = serde_json::from_str(&text).map_err(|e| {
            field_error(&text, len, &name.to_string(), "certificate", e, |v| {
                first_bad_field!(v, CertificateFile, ccsep_certificate: u32,
                    problem: ProblemSpec, claim: Claim)
            })
        })?;
        check::admit(&c, max_memory).map_err(in_file)?;
        Ok(Checkable::Certificate(Box::new(c)))
    }
}

/// A parse error of `path`, naming the top-level field at fault when one is (small files only).
fn field_error(
    text: &str,
    len: u64,
    path: &str,
    what: &str,
    e: serde_json::Error,
    find: impl Fn(&serde_json::Value) -> Option<(&'static str, String)>,
) -> InputError {
    let found = (len <= DIAGNOSE_MAX_BYTES)
        .then(|| serde_json::from_str::<serde_json::Value>(text).ok())
        .flatten()
        .and_then(|v| find(&v));
    match found {
        Some((field, msg)) => InputError::new(format!("field `{field}` of {path}: {msg}")),
        None => InputError::new(format!("{path} is not a ccsep {what}: {e}")),
    }
}

/// `field `f`: msg` (how the checkers name a field) as `field `f` of path: msg`.
fn in_file(path: &str, msg: &str) -> String {
    match msg
        .strip_prefix("field `")
        .and_then(|rest| rest.split_once("`: "))
    {
        Some((field, rest)) => format!("field `{field}` of {path}: {rest}"),
        None => format!("{path}: {msg}"),
    }
}
