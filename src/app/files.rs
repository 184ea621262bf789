//! Output files and directories a command writes: refused before any work when they cannot be
//! written, and certificates written as JSON.

use std::path::Path;

use anyhow::Context;

use crate::certificate::CertificateFile;
use crate::error::{InputError, Setting};

/// Writes a certificate as compact JSON.
pub fn write_json(path: &Path, cert: &CertificateFile) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("could not create certificate file {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, cert)
        .with_context(|| format!("could not write certificate file {}", path.display()))?;
    std::io::Write::flush(&mut w)
        .with_context(|| format!("could not write certificate file {}", path.display()))?;
    Ok(())
}

/// Refuses, before any work, an output file that cannot be written: a directory, a path in a
/// missing directory, a read-only place. A regular file is opened for writing without
/// truncating it (one that did not exist is removed again, so a run that ends up writing
/// nothing leaves nothing behind); a device such as /dev/stdout is left to the write.
pub fn check_output_file(path: &Path, flag: Setting) -> Result<(), InputError> {
    let cannot = |why: String| {
        InputError::new(format!(
            "{flag} {}: cannot write there: {why}",
            path.display()
        ))
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(cannot(format!(
                "it is a directory; name a file in it (e.g. {})",
                path.join("out").display()
            )));
        }
        Ok(m) if !m.is_file() => return Ok(()),
        _ => {}
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            cannot(format!(
                "{e}; check that the directory exists and is writable"
            ))
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Refuses, before any work, a directory that files cannot be created in (e.g. one under /proc),
/// by creating and removing a probe file in it.
pub fn check_output_dir(dir: &Path, flag: Setting) -> Result<(), InputError> {
    let probe = dir.join(format!(".ccsep-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| {
            InputError::new(format!(
                "{flag} {}: cannot create files there ({e}); name a writable directory",
                dir.display()
            ))
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
