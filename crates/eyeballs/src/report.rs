//! What a race did: the engine's timeline plus each attempt's OS error.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eyeballs_proto::{AttemptEnd, DnsOutcome, Endpoint, Outcome, RecordType};

/// The report of one race: every query and every attempt, with offsets from the start and
/// the OS error of each failed attempt. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Report {
    race: eyeballs_proto::Report,
    /// Per attempt (indexed like `race.attempts`), the error the OS gave, if it failed.
    errors: Vec<Option<Arc<io::Error>>>,
}

/// One attempt, as [`Report::attempts`] lists it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AttemptSummary<'a> {
    /// Where it connected to.
    pub endpoint: Endpoint,
    /// When it started, from the start of the race.
    pub started: Duration,
    /// When it ended, from the start of the race, if it has.
    pub ended: Option<Duration>,
    /// How it ended, if it has.
    pub end: Option<AttemptEnd>,
    /// The OS error, for an attempt that failed with one.
    pub error: Option<&'a io::Error>,
}

/// One DNS query, as [`Report::queries`] lists it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct QuerySummary<'a> {
    /// What was asked.
    pub record: RecordType,
    /// When it was sent, from the start of the race.
    pub sent: Duration,
    /// When the resolver answered, from the start of the race (`None` if it never did).
    pub answered: Option<Duration>,
    /// How it ended, if it has.
    pub outcome: Option<DnsOutcome>,
    /// The addresses of its answer.
    pub addresses: &'a [std::net::IpAddr],
}

impl Report {
    pub(crate) fn new(race: eyeballs_proto::Report, errors: Vec<Option<Arc<io::Error>>>) -> Self {
        Report { race, errors }
    }

    /// The engine's own report (instants rather than offsets).
    pub fn race(&self) -> &eyeballs_proto::Report {
        &self.race
    }

    /// The host name resolved, if any.
    pub fn host(&self) -> Option<&str> {
        self.race.host.as_deref()
    }

    /// The winning address, if an attempt won.
    pub fn winner(&self) -> Option<SocketAddr> {
        self.race.winner().map(|a| a.endpoint.addr)
    }

    /// How the race ended, if it has (a race dropped midway has no outcome).
    pub fn outcome(&self) -> Option<Outcome> {
        self.race.outcome
    }

    /// How long the race took, if it ended.
    pub fn elapsed(&self) -> Option<Duration> {
        self.race.finished.map(|t| self.race.offset(t))
    }

    /// Every attempt, in the order they started.
    pub fn attempts(&self) -> impl Iterator<Item = AttemptSummary<'_>> + '_ {
        self.race
            .attempts
            .iter()
            .enumerate()
            .map(move |(i, a)| AttemptSummary {
                endpoint: a.endpoint,
                started: self.race.offset(a.started),
                ended: a.ended.map(|t| self.race.offset(t)),
                end: a.end,
                error: self.errors.get(i).and_then(|e| e.as_deref()),
            })
    }

    /// Every DNS query, in the order they were sent.
    pub fn queries(&self) -> impl Iterator<Item = QuerySummary<'_>> + '_ {
        self.race.queries.iter().map(move |q| QuerySummary {
            record: q.record,
            sent: self.race.offset(q.sent),
            answered: q.answered().map(|t| self.race.offset(t)),
            outcome: q.outcome,
            addresses: &q.addresses,
        })
    }
}
