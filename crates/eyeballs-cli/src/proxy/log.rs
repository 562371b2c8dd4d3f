//! The proxy's log: one line per event on stderr.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

/// Writes one line on stderr, `eyeballs proxy: ` first; a failed write is ignored (a
/// closed stderr must not stop the proxy, and `eprintln!` would panic).
pub fn log(line: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "eyeballs proxy: {line}");
}

/// Logs `message` and returns status 1.
pub fn failure(message: fmt::Arguments<'_>) -> ExitCode {
    log(message);
    ExitCode::from(crate::exit::FAILED)
}
