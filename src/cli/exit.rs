//! Exit codes and the error type every command returns. Scripts depend on these codes
//! (DESIGN.md, "Commands").

use std::fmt;

/// The probe was delivered (or forwarded out of the network); or the command succeeded.
pub const SUCCESS: u8 = 0;
/// The probe was dropped or rejected.
pub const DROPPED: u8 = 1;
/// `diff`: the two results differ.
pub const DIFFER: u8 = 1;
/// Usage or input error.
pub const USAGE: u8 = 2;
/// The path is incomplete: no terminal observation.
pub const INCOMPLETE: u8 = 3;

/// A failure that ends a command: the message for stderr and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// Exit code (normally [`USAGE`]).
    pub code: u8,
    /// What went wrong and, where possible, what to do about it.
    pub message: String,
}

impl CliError {
    /// A usage or input error (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError { code: USAGE, message: message.into() }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> CliError {
        CliError::usage(e.to_string())
    }
}

/// Whether an I/O error is a closed pipe (`hoptrace ... | head`), which is not a failure.
pub fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
