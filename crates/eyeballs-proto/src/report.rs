//! The report: the timeline of a race, kept as the race goes, for drivers, logs and the CLI.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::action::Outcome;
use crate::attempt::{AttemptEnd, AttemptId};
use crate::dns::{DnsOutcome, QueryId, RecordType};
use crate::endpoint::Endpoint;

/// Everything that happened in one race: each query, each attempt, and the outcome.
///
/// Kept as the race goes (one record per query and per attempt, nothing per timer), so it is
/// cheap enough to keep always. Times are the `now` values the driver passed in; use
/// [`Report::offset`] for offsets from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// When the race started.
    pub started: Instant,
    /// The host name resolved, if any.
    pub host: Option<String>,
    /// Every query, indexed by [`QueryId::index`].
    pub queries: Vec<QueryRecord>,
    /// Every attempt, indexed by [`AttemptId::index`], in the order they started.
    pub attempts: Vec<AttemptRecord>,
    /// How the race ended, once it has.
    pub outcome: Option<Outcome>,
    /// When the race ended, once it has.
    pub finished: Option<Instant>,
    /// Endpoints dropped because [`crate::Config::max_endpoints`] was reached.
    pub dropped_endpoints: usize,
}

/// One DNS query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRecord {
    /// What was asked.
    pub record: RecordType,
    /// When it was sent.
    pub sent: Instant,
    /// When it ended (its latest answer, if it was answered more than once), if it has.
    pub ended: Option<Instant>,
    /// How it ended, if it has.
    pub outcome: Option<DnsOutcome>,
    /// The usable addresses of its latest answer.
    pub addresses: Vec<IpAddr>,
}

impl QueryRecord {
    /// When an answer came from the resolver: `None` while pending, and when the query timed
    /// out or was cancelled.
    pub fn answered(&self) -> Option<Instant> {
        match self.outcome? {
            DnsOutcome::TimedOut | DnsOutcome::Cancelled => None,
            _ => self.ended,
        }
    }
}

/// One connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Where it connected to.
    pub endpoint: Endpoint,
    /// When it started.
    pub started: Instant,
    /// When it ended, if it has.
    pub ended: Option<Instant>,
    /// How it ended, if it has.
    pub end: Option<AttemptEnd>,
}

impl AttemptRecord {
    pub(crate) fn in_flight(&self) -> bool {
        self.end.is_none()
    }
}

/// One line of [`Report::timeline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A query was sent.
    QuerySent(QueryId),
    /// A query ended.
    QueryEnded(QueryId),
    /// An attempt started.
    AttemptStarted(AttemptId),
    /// An attempt ended.
    AttemptEnded(AttemptId),
    /// The race ended.
    Finished,
}

impl Report {
    pub(crate) fn new(started: Instant, host: Option<String>) -> Self {
        Report {
            started,
            host,
            queries: Vec::new(),
            attempts: Vec::new(),
            outcome: None,
            finished: None,
            dropped_endpoints: 0,
        }
    }

    /// `t` as an offset from the start of the race (zero for times before it).
    pub fn offset(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.started)
    }

    /// The winning attempt, if any.
    pub fn winner(&self) -> Option<&AttemptRecord> {
        match self.outcome? {
            Outcome::Connected { id, .. } => self.attempts.get(id.index()),
            Outcome::Failed(_) => None,
        }
    }

    /// Every event in time order, with its offset. Events of one instant come in causal order:
    /// sends, then answers and attempt results, then the attempts they started, then what the
    /// end of the race stopped, then the end.
    pub fn timeline(&self) -> Vec<(Duration, Event)> {
        let mut events = Vec::with_capacity(2 * (self.queries.len() + self.attempts.len()) + 1);
        for (i, q) in self.queries.iter().enumerate() {
            let id = QueryId(i as u32);
            events.push((q.sent, 0, Event::QuerySent(id)));
            if let Some(t) = q.ended {
                let rank = if q.outcome == Some(DnsOutcome::Cancelled) {
                    3
                } else {
                    1
                };
                events.push((t, rank, Event::QueryEnded(id)));
            }
        }
        for (i, a) in self.attempts.iter().enumerate() {
            let id = AttemptId(i as u32);
            events.push((a.started, 2, Event::AttemptStarted(id)));
            if let Some(t) = a.ended {
                let rank = if a.end == Some(AttemptEnd::Aborted) {
                    3
                } else {
                    1
                };
                events.push((t, rank, Event::AttemptEnded(id)));
            }
        }
        if let Some(t) = self.finished {
            events.push((t, 4, Event::Finished));
        }
        events.sort_by_key(|&(t, rank, _)| (t, rank));
        events
            .into_iter()
            .map(|(t, _, e)| (self.offset(t), e))
            .collect()
    }
}
