//! Errors a user can cause, and how they map to exit codes.
//!
//! `InputError` is bad input: a flag out of range, a malformed file, a size that will not fit.
//! The CLI prints its message and exits with code 2. Anything else that goes wrong is a bug or an
//! I/O failure and is reported through `anyhow` with context.

/// Bad input from the user: exit code 2, with a message that says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    pub message: String,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
        }
    }
}

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code when a check ran and failed (a certificate rejected, a bound violated).
pub const EXIT_CHECK_FAILED: i32 = 1;
/// Exit code for bad input.
pub const EXIT_BAD_INPUT: i32 = 2;
