//! Errors of the engine's own API: the caller's misuse, never the network's verdict (which is
//! an [`Outcome`](crate::Outcome) with its [`Report`](crate::Report)).

use std::fmt;

use crate::attempt::AttemptId;
use crate::config::ConfigError;
use crate::dns::QueryId;
use crate::target::TargetError;

/// Why an engine could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// The target is invalid for this configuration.
    Target(TargetError),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Config(e) => write!(f, "invalid configuration: {e}"),
            SetupError::Target(e) => write!(f, "invalid target: {e}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::Config(e) => Some(e),
            SetupError::Target(e) => Some(e),
        }
    }
}

impl From<ConfigError> for SetupError {
    fn from(e: ConfigError) -> Self {
        SetupError::Config(e)
    }
}

impl From<TargetError> for SetupError {
    fn from(e: TargetError) -> Self {
        SetupError::Target(e)
    }
}

/// An input the engine cannot relate to anything it asked for. The engine's state is
/// unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// No query with this id was ever started by this engine.
    UnknownQuery(QueryId),
    /// No attempt with this id was ever started by this engine.
    UnknownAttempt(AttemptId),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::UnknownQuery(id) => write!(f, "unknown query id {id}"),
            InputError::UnknownAttempt(id) => write!(f, "unknown attempt id {id}"),
        }
    }
}

impl std::error::Error for InputError {}
