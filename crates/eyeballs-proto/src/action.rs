//! The engine's outputs.

use std::fmt;

use crate::attempt::AttemptId;
use crate::dns::{QueryId, RecordType};
use crate::endpoint::Endpoint;

/// Something the driver must do, pulled with [`Engine::poll_action`](crate::Engine::poll_action).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Resolve the target's host name ([`Engine::host`](crate::Engine::host)) for `record`,
    /// and report the result with [`handle_dns`](crate::Engine::handle_dns) under `id`.
    Resolve {
        /// The query's id.
        id: QueryId,
        /// What to ask for.
        record: RecordType,
    },
    /// The query's answer is no longer needed; the driver may stop it (HE-5.5). A resolver
    /// with a cache may let it finish to fill the cache (HE-5.6).
    CancelResolve {
        /// The query's id.
        id: QueryId,
    },
    /// Start a connection attempt and report how it ends with
    /// [`handle_attempt`](crate::Engine::handle_attempt) under `id`.
    Connect {
        /// The attempt's id.
        id: AttemptId,
        /// Where to connect.
        endpoint: Endpoint,
    },
    /// Stop the attempt and close its socket: it lost, timed out, or the race ended.
    Abort {
        /// The attempt's id.
        id: AttemptId,
    },
    /// The attempt reported success after it was aborted or after the race was decided: close
    /// the connection it made.
    Close {
        /// The attempt's id.
        id: AttemptId,
    },
    /// The race is over. Always the last action but for [`Action::Close`] answers to late
    /// successes.
    Done(Outcome),
}

/// How a race ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// An attempt won.
    Connected {
        /// The winning attempt.
        id: AttemptId,
        /// Its endpoint.
        endpoint: Endpoint,
    },
    /// No attempt won; the report tells each query's and each attempt's fate.
    Failed(Failure),
}

/// Why a race failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// Resolution ended without a single usable address (every query negative or failed).
    NoAddresses,
    /// Every endpoint was attempted and every attempt failed.
    AllAttemptsFailed,
    /// The overall timeout ([`crate::Config::overall_timeout`]) ran out.
    TimedOut,
    /// The caller cancelled the race ([`crate::Engine::cancel`]).
    Cancelled,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Failure::NoAddresses => "name resolution gave no usable address",
            Failure::AllAttemptsFailed => "every connection attempt failed",
            Failure::TimedOut => "the overall timeout ran out",
            Failure::Cancelled => "cancelled",
        })
    }
}

impl fmt::Display for Action {
    /// A compact one-line form used by logs and scenario tests, for example
    /// `connect #1 [2001:db8::1]:443` or `done connected #1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Resolve { id, record } => write!(f, "resolve {id} {record}"),
            Action::CancelResolve { id } => write!(f, "cancel-resolve {id}"),
            Action::Connect { id, endpoint } => write!(f, "connect {id} {endpoint}"),
            Action::Abort { id } => write!(f, "abort {id}"),
            Action::Close { id } => write!(f, "close {id}"),
            Action::Done(Outcome::Connected { id, .. }) => write!(f, "done connected {id}"),
            Action::Done(Outcome::Failed(why)) => write!(f, "done failed: {why}"),
        }
    }
}
