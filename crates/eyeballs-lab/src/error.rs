//! The lab's error type.

use std::fmt;
use std::io;

/// Everything that can go wrong while building, starting or using a [`Lab`](crate::Lab).
#[derive(Debug)]
#[non_exhaustive]
pub enum LabError {
    /// The lab needs root (`CAP_NET_ADMIN`, `CAP_SYS_ADMIN`) and the process is not root.
    NotRoot,
    /// The builder was given an impossible configuration.
    Config(String),
    /// An external command could not be started at all (typically: not installed;
    /// run `crates/eyeballs-lab/install-deps.sh`).
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not be started.
        source: io::Error,
    },
    /// An external command ran and failed.
    Command {
        /// The command line.
        command: String,
        /// Its exit status, as printed by the standard library.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// A system call or file operation failed.
    Io {
        /// What the lab was doing.
        context: String,
        /// The error.
        source: io::Error,
    },
    /// A lab thread died before reporting whether it started.
    Thread(String),
}

impl LabError {
    pub(crate) fn io(context: impl Into<String>, source: impl Into<io::Error>) -> Self {
        LabError::Io {
            context: context.into(),
            source: source.into(),
        }
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::NotRoot => write!(
                f,
                "the eyeballs network lab needs root (it creates network namespaces)"
            ),
            LabError::Config(msg) => write!(f, "invalid lab configuration: {msg}"),
            LabError::Spawn { command, source } => write!(
                f,
                "could not run `{command}`: {source} \
                 (is it installed? run crates/eyeballs-lab/install-deps.sh)"
            ),
            LabError::Command {
                command,
                status,
                stderr,
            } => write!(f, "`{command}` failed ({status}): {stderr}"),
            LabError::Io { context, source } => write!(f, "{context}: {source}"),
            LabError::Thread(msg) => write!(f, "lab thread failed: {msg}"),
        }
    }
}

impl std::error::Error for LabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LabError::Spawn { source, .. } | LabError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
