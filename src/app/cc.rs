//! `ccsep cc`: a named problem or a matrix file, every measure within the limits, and the
//! certificates (JSON, and the protocol tree as DOT) written where asked.

use std::path::PathBuf;

use anyhow::Context;

use crate::certificate::dot::protocol_dot;
use crate::certificate::{Claim, ProtocolCert};
use crate::error::{InputError, Setting, spell_settings};
use crate::input;
use crate::matrix::CommMatrix;
use crate::measures::Limits;
use crate::measures::summary::{Summary, summarize};
use crate::problem::ProblemSpec;

use super::files::{check_output_dir, write_json};

/// What `ccsep cc` is asked for.
#[derive(Clone, Debug)]
pub struct CcRequest {
    /// A problem's name (`index`, `eq`, `disj`, `gt`, `ip`), with `n`; or `matrix`.
    pub problem: Option<String>,
    pub n: Option<u32>,
    pub matrix: Option<PathBuf>,
    /// The directory certificates are written into.
    pub certify: Option<PathBuf>,
    pub max_memory: u64,
    pub limits: Limits,
    /// How the notes on limits hit spell the settings that raise them.
    pub spell: super::Spell,
}

/// The problem and its matrix: read from the file (bounded by `max_memory`), or built.
fn problem_of(req: &CcRequest) -> Result<(ProblemSpec, CommMatrix), InputError> {
    if let Some(path) = &req.matrix {
        // Read as a stream and bounded: a matrix file holds at least a byte per entry, so one
        // over --max-memory bytes would not fit anyway; /dev/zero or a binary file stops at its
        // first byte.
        let file = input::open_bounded(
            path,
            "matrix file",
            req.max_memory,
            format!(
                "raise {} BYTES if the machine has the memory",
                Setting::MaxMemory
            ),
        )?;
        let m = CommMatrix::read_within(file, req.max_memory)
            .map_err(|e| InputError::new(format!("{}: {}", path.display(), e.message)))?;
        return Ok((ProblemSpec::from_matrix(&m), m));
    }
    let Some(name) = &req.problem else {
        return Err(InputError::new(format!(
            "name a problem (index, eq, disj, gt, ip) with {} N, or pass {} FILE",
            Setting::N,
            Setting::Matrix
        )));
    };
    let Some(n) = req.n else {
        return Err(InputError::new(format!(
            "{name} needs a size: add {n_} N (e.g. ccsep cc {name} {n_} 4)",
            n_ = Setting::N
        )));
    };
    let spec = ProblemSpec::named(name, n)?;
    spec.check_size(req.max_memory)?;
    let m = spec.matrix()?;
    Ok((spec, m))
}

/// Runs every measure; `status` receives the stage being computed.
pub fn run(req: &CcRequest, status: super::Status) -> anyhow::Result<Summary> {
    status("building the matrix".to_string());
    let (spec, m) = problem_of(req)?;
    if let Some(dir) = &req.certify {
        if dir.exists() && !dir.is_dir() {
            return Err(InputError::new(format!(
                "{} {}: it is a file, not a directory; name a directory (it is created if missing)",
                Setting::Certify,
                dir.display()
            ))
            .into());
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            InputError::new(format!(
                "could not create the certificate directory {}: {e}",
                dir.display()
            ))
        })?;
        check_output_dir(dir, Setting::Certify)?;
    }
    let mut summary = summarize(&spec, &m, &req.limits, req.certify.is_some(), &|stage| {
        status(stage.to_string())
    });
    for note in &mut summary.limits_hit {
        *note = spell_settings(note, req.spell);
    }
    if let Some(dir) = &req.certify {
        for (name, cert) in &summary.certificates {
            let path = dir.join(name);
            write_json(&path, cert)?;
            summary.certificate_files.push(path.display().to_string());
            if let Claim::Protocol(ProtocolCert { tree, .. }) = &cert.claim {
                let dot = dir.join("protocol.dot");
                std::fs::write(&dot, protocol_dot(tree))
                    .with_context(|| format!("could not write {}", dot.display()))?;
                summary.certificate_files.push(dot.display().to_string());
            }
        }
    }
    Ok(summary)
}
