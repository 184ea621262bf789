//! The `ccsep` binary: parses the command line and maps errors to exit codes
//! (0 ok, 1 a check failed, 2 bad input).

use ccsep::cli::{flag, parse, run};
use ccsep::error::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, InputError};

fn main() {
    let cli = match parse() {
        Ok(cli) => cli,
        // A value the library refuses (an unknown architecture, a malformed precision) is told
        // in the library's words, exactly as when it is refused after parsing.
        Err(e) => {
            match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<InputError>()) {
                Some(bad) => {
                    eprintln!("error: {}", bad.render(flag));
                    std::process::exit(EXIT_BAD_INPUT);
                }
                None => e.exit(),
            }
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            if e.downcast_ref::<InputError>().is_some() {
                EXIT_BAD_INPUT
            } else {
                EXIT_CHECK_FAILED
            }
        }
    };
    std::process::exit(code);
}

/// The error and its causes, outermost first, joined as anyhow's `{:#}` joins them, with every
/// setting a bad-input message names spelled as its flag.
fn describe(e: &anyhow::Error) -> String {
    e.chain()
        .map(|cause| match cause.downcast_ref::<InputError>() {
            Some(input) => input.render(flag),
            None => cause.to_string(),
        })
        .collect::<Vec<_>>()
        .join(": ")
}
