//! Connection attempts: their ids, what the driver reports of them, and how they end.

use std::fmt;

/// Identifies one connection attempt for the whole life of an engine; it indexes
/// [`crate::Report::attempts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(pub(crate) u32);

impl AttemptId {
    /// The position of this attempt in [`crate::Report::attempts`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What the driver reports about an attempt: the engine's attempt input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptResult {
    /// The attempt succeeded: the transport handshake completed, or whatever the driver counts
    /// as success (V3-6.1.1, for example a finished TLS handshake, V3-6.1.3).
    Connected,
    /// The attempt failed.
    Failed(FailureKind),
}

/// Why an attempt failed, as far as the race cares. Drivers keep the full OS error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The peer refused (TCP reset).
    Refused,
    /// The network said the host or network is unreachable (ICMP), or there is no route.
    Unreachable,
    /// The operating system gave up waiting (its own connect timeout).
    TimedOut,
    /// Anything else (including a failed handshake above the transport).
    Other,
}

/// How an attempt ended, as kept in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptEnd {
    /// It won the race.
    Connected,
    /// The driver reported a failure.
    Failed(FailureKind),
    /// The engine's per-attempt timeout ([`crate::Config::attempt_timeout`]) ran out.
    TimedOut,
    /// The engine stopped it: another attempt won, the race timed out or was cancelled.
    Aborted,
}

impl AttemptEnd {
    /// A short lowercase name: `connected`, `refused`, `unreachable`, `timeout`, `aborted`,
    /// `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptEnd::Connected => "connected",
            AttemptEnd::Failed(FailureKind::Refused) => "refused",
            AttemptEnd::Failed(FailureKind::Unreachable) => "unreachable",
            AttemptEnd::Failed(FailureKind::TimedOut) | AttemptEnd::TimedOut => "timeout",
            AttemptEnd::Failed(FailureKind::Other) => "error",
            AttemptEnd::Aborted => "aborted",
        }
    }
}

impl fmt::Display for AttemptEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
