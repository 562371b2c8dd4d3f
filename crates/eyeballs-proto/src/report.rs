//! The report: the timeline of a race, kept as the race goes, for drivers, logs and the CLI.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::action::Outcome;
use crate::attempt::{AttemptEnd, AttemptId};
use crate::dns::{DnsOutcome, QueryId, RecordType};
use crate::endpoint::Endpoint;
use crate::history::PathFacts;
use crate::policy::Denial;
use crate::screen::DropReason;
use crate::service::ServiceRecord;

/// Everything that happened in one race: each query, each attempt, and the outcome.
///
/// Kept as the race goes (one record per query and per attempt, nothing per timer), so it is
/// cheap enough to keep always. Times are the `now` values the driver passed in; use
/// [`Report::offset`] for offsets from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Endpoints dropped because [`crate::Config::max_endpoints`] was reached when the
    /// candidate list was sorted: the lowest-ranked ones, each counted once. Addresses of an
    /// answer beyond the cap never become endpoints; they are counted in
    /// [`QueryRecord::beyond_cap`].
    pub dropped_endpoints: usize,
    /// Endpoints the destination policy ([`crate::Config::destinations`]) refused, with why,
    /// each once: the caller's addresses, and single ports of answered addresses. (Answered
    /// addresses refused on every port are in their query's [`QueryRecord::dropped`].)
    pub denied: Vec<(SocketAddr, Denial)>,
    /// The ServiceMode records of the target's HTTPS answers (HEv3 §4.2.1), in answer order;
    /// empty without an HTTPS query or a positive answer to it.
    pub services: Vec<ServiceRecord>,
    /// Whether history ([`Engine::with_history`](crate::Engine::with_history)) changed the
    /// order of the attempts from the order RFC 6724 and interleaving give without it, at
    /// any sort of the race (each attempt's [`AttemptRecord::history`] says what was known).
    pub history_reordered: bool,
}

/// One DNS query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryRecord {
    /// What was asked.
    pub record: RecordType,
    /// The name it was asked for, when it is not the target's host name (an HTTPS query for
    /// `_8443._https.host`, an alias target).
    pub name: Option<String>,
    /// When it was sent.
    pub sent: Instant,
    /// When it ended (its latest answer, if it was answered more than once), if it has.
    pub ended: Option<Instant>,
    /// How it ended, if it has.
    pub outcome: Option<DnsOutcome>,
    /// The usable addresses of its latest answer, canonical (IPv4-mapped made IPv4),
    /// distinct, in answer order, at most [`crate::Config::max_endpoints`] of them.
    pub addresses: Vec<IpAddr>,
    /// The addresses of its latest answer that were dropped, each distinct one once, as the
    /// answer gave them, with why (see [`DropReason`]). Duplicates of used addresses are not
    /// listed.
    pub dropped: Vec<(IpAddr, DropReason)>,
    /// How many distinct usable addresses of its latest answer came after the first
    /// [`crate::Config::max_endpoints`] and were not used.
    pub beyond_cap: usize,
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
#[non_exhaustive]
pub struct AttemptRecord {
    /// Where it connected to.
    pub endpoint: Endpoint,
    /// When it started.
    pub started: Instant,
    /// When it ended, if it has.
    pub ended: Option<Instant>,
    /// How it ended, if it has.
    pub end: Option<AttemptEnd>,
    /// The IPv4 address its endpoint stands for, if the endpoint was synthesized from one
    /// through NAT64 ([`crate::Network`]).
    pub via_nat64: Option<std::net::Ipv4Addr>,
    /// The Connection Attempt Delay that ran from its start: the configured one
    /// ([`Config::attempt_delay`](crate::Config::attempt_delay), HE-5.7), or the
    /// retransmission timeout of its path's RTT estimate, clamped (HE-5.8), when
    /// [`history`](Self::history) has one. The next attempt starts this long after it unless
    /// an attempt fails sooner.
    pub attempt_delay: std::time::Duration,
    /// What history knew about its endpoint when it started
    /// ([`Engine::with_history`](crate::Engine::with_history)); `None` if nothing.
    pub history: Option<PathFacts>,
    /// The ServiceMode record its endpoint came from, by its index in
    /// [`Report::services`] (HEv3 §5.2: its group), if any: the ALPN list and ECH config
    /// the attempt's TLS handshake offers.
    pub service: Option<usize>,
    /// When its transport handshake was done, for an attempt whose success needs more (TCP
    /// done, TLS still going: [`Engine::handle_progress`](crate::Engine::handle_progress),
    /// V3-6.1.5).
    pub transport_done: Option<Instant>,
}

impl QueryRecord {
    pub(crate) fn new(record: RecordType, sent: Instant) -> Self {
        QueryRecord {
            record,
            name: None,
            sent,
            ended: None,
            outcome: None,
            addresses: Vec::new(),
            dropped: Vec::new(),
            beyond_cap: 0,
        }
    }
}

impl AttemptRecord {
    pub(crate) fn new(endpoint: Endpoint, started: Instant) -> Self {
        AttemptRecord {
            endpoint,
            started,
            ended: None,
            end: None,
            via_nat64: None,
            attempt_delay: std::time::Duration::ZERO,
            history: None,
            service: None,
            transport_done: None,
        }
    }

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
            denied: Vec::new(),
            services: Vec::new(),
            history_reordered: false,
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
    /// sends, then answers and the results of attempts started earlier, then the attempts they
    /// started (each followed by its own end when it ended at the same instant: a refusal that
    /// comes back at once), then what the end of the race stopped, then the end.
    pub fn timeline(&self) -> Vec<(Duration, Event)> {
        /// Ranks of the events of one instant, in causal order.
        const SENT: u8 = 0;
        const ANSWERED: u8 = 1;
        const STARTED: u8 = 2;
        const STOPPED: u8 = 3;
        const FINISHED: u8 = 4;
        // Key: (time, rank, attempt, 0 for a start and 1 for an end). The attempt and the
        // start-before-end number matter only among attempts started at one instant.
        let mut events: Vec<(Instant, u8, u32, u8, Event)> =
            Vec::with_capacity(2 * (self.queries.len() + self.attempts.len()) + 1);
        for (i, q) in self.queries.iter().enumerate() {
            let id = QueryId(i as u32);
            events.push((q.sent, SENT, 0, 0, Event::QuerySent(id)));
            if let Some(t) = q.ended {
                let rank = if q.outcome == Some(DnsOutcome::Cancelled) {
                    STOPPED
                } else {
                    ANSWERED
                };
                events.push((t, rank, 0, 0, Event::QueryEnded(id)));
            }
        }
        for (i, a) in self.attempts.iter().enumerate() {
            let id = AttemptId(i as u32);
            events.push((a.started, STARTED, id.0, 0, Event::AttemptStarted(id)));
            if let Some(t) = a.ended {
                let rank = if a.end == Some(AttemptEnd::Aborted) {
                    STOPPED
                } else if t == a.started {
                    // It ended the instant it started: after its own start.
                    STARTED
                } else {
                    ANSWERED
                };
                events.push((t, rank, id.0, 1, Event::AttemptEnded(id)));
            }
        }
        if let Some(t) = self.finished {
            events.push((t, FINISHED, 0, 0, Event::Finished));
        }
        events.sort_by_key(|&(t, rank, n, end, _)| (t, rank, n, end));
        events
            .into_iter()
            .map(|(t, _, _, _, e)| (self.offset(t), e))
            .collect()
    }
}
