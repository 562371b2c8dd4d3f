//! What a race did: the engine's timeline plus each attempt's OS error, and how to print it.
//!
//! [`Report`]'s `Display` is the timeline the `eyeballs` command prints, one event a line:
//!
//! ```text
//!       time  event
//!     0.0 ms  AAAA query sent
//!     0.0 ms  A query sent
//!     1.2 ms  AAAA ok: ::1
//!     1.3 ms  #0 connect [::1]:443
//!     1.4 ms  #0 refused (Connection refused (os error 111))
//!     1.5 ms  A ok: 127.0.0.1
//!     1.5 ms  #1 connect 127.0.0.1:443
//!     1.7 ms  #1 connected
//! connected to 127.0.0.1:443 (ipv4) in 1.7 ms
//! ```
//!
//! Its pieces ([`Report::timeline`], [`TimelineEntry`], [`Report::verdict`]) are public, for
//! a program that prints them its own way (the CLI colors them on a terminal). With the
//! `serde` feature, the report is `Serialize` (the CLI's `--json` schema; see [`Report`]).

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use eyeballs_proto::{
    AttemptEnd, AttemptId, Denial, DnsOutcome, DropReason, Endpoint, Event, Failure, Family,
    Outcome, PathFacts, RecordType, ServiceRecord,
};

use crate::classify::Cause;

/// The report of one race: every query and every attempt, with offsets from the start and
/// the OS error of each failed attempt. Cheap to clone.
///
/// `Display` prints the timeline (module docs above): a header, one line per event with its
/// offset from the start of the race, then the [verdict](Report::verdict). Text that comes
/// from outside (OS and attempt errors) has its control characters escaped, so that every
/// event stays on its line.
///
/// With the `serde` feature, `Serialize` gives one object (times in milliseconds from the
/// start of the race, to the microsecond):
///
/// ```text
/// {"host": string | null, "outcome": "connected" | "failed", "cause": string | null,
///  "elapsed_ms", "winner": {"address", "port", "family": "ipv6" | "ipv4"} | null,
///  "dns": [{"query": "HTTPS" | "AAAA" | "A", "name": string | null (another name than the host's),
///           "started_ms", "answered_ms" | null,
///           "result": "ok" | "nodata" | "nxdomain" | "servfail" | "error" | "timeout" | "cancelled",
///           "addresses": [string],
///           "dropped": [{"address", "reason": "denied" | "multicast" | …, "why": string}]}],
///  "attempts": [{"address", "port", "family", "started_ms", "ended_ms" | null,
///                "outcome": "connected" | "refused" | "unreachable" | "timeout" | "aborted" | "error",
///                "error": string | null, "delay_ms",
///                "history": {"failed": "stalled" | "refused" | … | null,
///                            "srtt_ms" | null, "rttvar_ms" | null, "used": bool} | null,
///                "protocol": "tcp" | "quic",
///                "service": {"priority", "target", "alpn": [string], "port" | null} | null}],
///  "dropped_endpoints": number,
///  "denied": [{"address", "port", "why": string}],
///  "history_reordered": bool}
/// ```
///
/// A race that has not ended is `"failed"` with `"cause": null`; a query not answered when the report was taken is
/// `"timeout"`, an attempt not ended `"aborted"`; `elapsed_ms` is [`Report::span`] and
/// `cause` [`Report::cause`].
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
    /// The Connection Attempt Delay that ran from its start: the configured one, or one
    /// derived from its path's RTT (HE-5.8) when [`history`](Self::history) has it.
    pub delay: Duration,
    /// What the [history store](crate::history) knew about its endpoint when it started.
    pub history: Option<PathFacts>,
    /// The HTTPS record (RFC 9460) its endpoint came from, if any (HEv3 §5.2: its group): the
    /// protocols (`alpn`) and ECH configuration the service offers.
    pub service: Option<&'a ServiceRecord>,
}

/// One DNS query, as [`Report::queries`] lists it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct QuerySummary<'a> {
    /// What was asked.
    pub record: RecordType,
    /// The name asked about when it is not the target's host name: an HTTPS query's
    /// (`_8443._https.host`, an alias target), or a service target name's address query.
    pub name: Option<&'a str>,
    /// When it was sent, from the start of the race.
    pub sent: Duration,
    /// When the resolver answered, from the start of the race (`None` if it never did).
    pub answered: Option<Duration>,
    /// How it ended, if it has.
    pub outcome: Option<DnsOutcome>,
    /// The addresses of its answer.
    pub addresses: &'a [IpAddr],
    /// The addresses of its answer that were not used, with why (unusable, or refused by the
    /// destination policy on every port: [`DropReason::Denied`]).
    pub dropped: &'a [(IpAddr, DropReason)],
}

/// One line of [`Report::timeline`]: when, and what. `Display` is the line
/// [`Report`]'s `Display` prints (`"  250.3 ms  #1 connect 192.0.2.1:443"`).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TimelineEntry<'a> {
    /// When, from the start of the race.
    pub at: Duration,
    /// What happened.
    pub event: TimelineEvent<'a>,
}

/// What happened at one [`TimelineEntry`]. `Display` is the text after the time
/// (`"AAAA query sent"`, `"#0 refused (Connection refused (os error 111))"`).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TimelineEvent<'a> {
    /// A query was sent.
    QuerySent(QuerySummary<'a>),
    /// A query ended (answered, timed out or cancelled).
    QueryEnded(QuerySummary<'a>),
    /// An attempt started.
    AttemptStarted {
        /// Which attempt.
        id: AttemptId,
        /// The attempt.
        attempt: AttemptSummary<'a>,
    },
    /// An attempt ended (connected, failed or aborted).
    AttemptEnded {
        /// Which attempt.
        id: AttemptId,
        /// The attempt.
        attempt: AttemptSummary<'a>,
    },
}

impl Report {
    /// A report from the engine's report and, per attempt (indexed like
    /// [`eyeballs_proto::Report::attempts`]), the error it failed with: what a driver of
    /// this crate builds at the end of a race, and what a driver of your own (or a
    /// simulation, with no errors) can build to print its race the same way.
    pub fn new(race: eyeballs_proto::Report, errors: Vec<Option<Arc<io::Error>>>) -> Self {
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

    /// Whether what the [history store](crate::history) knew changed the order of the
    /// attempts (each attempt's [`AttemptSummary::history`] says what it knew).
    pub fn history_reordered(&self) -> bool {
        self.race.history_reordered
    }

    /// How long the race took, if it ended.
    pub fn elapsed(&self) -> Option<Duration> {
        self.race.finished.map(|t| self.race.offset(t))
    }

    /// How the race failed ([`Cause`]): `None` while it has not ended and when it connected.
    /// The same classification as [`Error::cause`](crate::Error::cause) for the race's error.
    pub fn cause(&self) -> Option<Cause> {
        let Outcome::Failed(why) = self.race.outcome? else {
            return None;
        };
        Some(match why {
            Failure::NoAddresses => self.resolution_cause(),
            Failure::TimedOut => Cause::TimedOut,
            Failure::AllAttemptsFailed => self.attempts_cause(),
            _ => Cause::Other,
        })
    }

    /// Every attempt, in the order they started.
    pub fn attempts(&self) -> impl Iterator<Item = AttemptSummary<'_>> + '_ {
        (0..self.race.attempts.len()).filter_map(move |i| self.attempt(i))
    }

    /// Every DNS query, in the order they were sent.
    pub fn queries(&self) -> impl Iterator<Item = QuerySummary<'_>> + '_ {
        (0..self.race.queries.len()).filter_map(move |i| self.query(i))
    }

    /// Every event in time order (the engine's [`timeline`](eyeballs_proto::Report::timeline):
    /// causal order within one instant), without the end of the race, which
    /// [`Report::verdict`] tells.
    pub fn timeline(&self) -> impl Iterator<Item = TimelineEntry<'_>> + '_ {
        self.race
            .timeline()
            .into_iter()
            .filter_map(move |(at, event)| {
                let event = match event {
                    Event::QuerySent(id) => TimelineEvent::QuerySent(self.query(id.index())?),
                    Event::QueryEnded(id) => TimelineEvent::QueryEnded(self.query(id.index())?),
                    Event::AttemptStarted(id) => TimelineEvent::AttemptStarted {
                        id,
                        attempt: self.attempt(id.index())?,
                    },
                    Event::AttemptEnded(id) => TimelineEvent::AttemptEnded {
                        id,
                        attempt: self.attempt(id.index())?,
                    },
                    // `Finished` is the verdict's; events the engine adds later are not
                    // printed until this crate knows them.
                    _ => return None,
                };
                Some(TimelineEntry { at, event })
            })
    }

    /// The last line of the timeline: `connected to ADDR (FAMILY) in T ms`,
    /// `failed after T ms: WHY`, or `not finished after T ms` (T the last event's offset)
    /// for a race that has not ended.
    pub fn verdict(&self) -> impl fmt::Display + '_ {
        Verdict(self)
    }

    /// How long the report covers: the race's [`elapsed`](Report::elapsed) time once it has
    /// ended, else the offset of its last event (zero for none).
    pub fn span(&self) -> Duration {
        self.elapsed().unwrap_or_else(|| {
            let last = self.race.timeline().last().map(|&(at, _)| at);
            last.unwrap_or(Duration::ZERO)
        })
    }

    fn attempt(&self, i: usize) -> Option<AttemptSummary<'_>> {
        attempt_summary(&self.race, &self.errors, i)
    }

    fn query(&self, i: usize) -> Option<QuerySummary<'_>> {
        query_summary(&self.race, i)
    }

    /// The cause of a resolution that gave no address: NXDOMAIN from any query is
    /// [`Cause::NoSuchName`]; else an answer whose addresses the destination policy refused
    /// is [`Cause::Denied`]; anything else [`Cause::NoAddresses`].
    pub(crate) fn resolution_cause(&self) -> Cause {
        if self
            .queries()
            .any(|q| q.outcome == Some(DnsOutcome::NxDomain))
        {
            Cause::NoSuchName
        } else if self.refusals().next().is_some() {
            Cause::Denied
        } else {
            Cause::NoAddresses
        }
    }

    /// Every refusal of the destination policy in the race, in the order they happened per
    /// kind: the endpoints refused one by one (the caller's addresses, single ports of
    /// answered addresses; with their port), then the answered addresses refused on every
    /// port (port `None`).
    pub fn refusals(&self) -> impl Iterator<Item = (IpAddr, Option<u16>, Denial)> + '_ {
        let endpoints = self
            .race
            .denied
            .iter()
            .map(|&(addr, denial)| (addr.ip(), Some(addr.port()), denial));
        let answered = self.race.queries.iter().flat_map(|q| {
            q.dropped.iter().filter_map(|&(ip, reason)| match reason {
                DropReason::Denied(denial) => Some((ip, None, denial)),
                _ => None,
            })
        });
        endpoints.chain(answered)
    }

    /// The cause of a race whose every attempt failed ([`Cause::of_attempts`]).
    pub(crate) fn attempts_cause(&self) -> Cause {
        Cause::of_attempts(self.attempts().map(|a| a.cause()))
    }
}

/// A report with no OS errors: the engine's report as is (a simulation's, say).
impl From<eyeballs_proto::Report> for Report {
    fn from(race: eyeballs_proto::Report) -> Self {
        Report::new(race, Vec::new())
    }
}

impl AttemptSummary<'_> {
    /// How this attempt failed ([`Cause::of_attempt`]): `Other` for one that did not fail.
    pub fn cause(&self) -> Cause {
        Cause::of_attempt(self.end, self.error)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:>10}  event", "time")?;
        for entry in self.timeline() {
            writeln!(f, "{entry}")?;
        }
        write!(f, "{}", self.verdict())
    }
}

impl fmt::Display for TimelineEntry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>7.1} ms  {}", Millis(self.at), self.event)
    }
}

impl fmt::Display for TimelineEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimelineEvent::QuerySent(q) => write!(f, "{} query sent", Asked(q)),
            TimelineEvent::QueryEnded(q) => {
                let outcome = q.outcome.map_or("pending", DnsOutcome::as_str);
                write!(f, "{} {outcome}", Asked(q))?;
                let mut sep = ": ";
                for a in q.addresses {
                    write!(f, "{sep}{a}")?;
                    sep = ", ";
                }
                Ok(())
            }
            TimelineEvent::AttemptStarted { id, attempt } => {
                write!(f, "{id} connect {}", attempt.endpoint)?;
                match attempt.history {
                    Some(facts) => write!(f, " (history: {facts})"),
                    None => Ok(()),
                }
            }
            TimelineEvent::AttemptEnded { id, attempt } => {
                let end = attempt.end.map_or("pending", AttemptEnd::as_str);
                write!(f, "{id} {end}")?;
                match attempt.error {
                    Some(e) => write!(f, " ({})", Escaped(&e.to_string())),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A query as the timeline names it: its record type, and its name when that is not the
/// host's (`AAAA alt.test`).
struct Asked<'a, 'b>(&'a QuerySummary<'b>);

impl fmt::Display for Asked<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.name {
            Some(name) => write!(f, "{} {}", self.0.record, Escaped(name)),
            None => write!(f, "{}", self.0.record),
        }
    }
}

/// [`Report::verdict`].
struct Verdict<'a>(&'a Report);

impl fmt::Display for Verdict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.0;
        let took = Millis(report.span());
        match report.race.outcome {
            None => write!(f, "not finished after {took:.1} ms"),
            Some(Outcome::Failed(why)) => write!(f, "failed after {took:.1} ms: {why}"),
            Some(_) => match report.race.winner() {
                Some(w) => write!(
                    f,
                    "connected to {} ({}) in {took:.1} ms",
                    w.endpoint,
                    Family::of(w.endpoint.addr.ip())
                ),
                None => write!(f, "connected in {took:.1} ms"),
            },
        }
    }
}

/// A duration in milliseconds, for `{:.1}`.
#[derive(Clone, Copy)]
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&(self.0.as_secs_f64() * 1e3), f)
    }
}

/// Text from outside (a host name, an OS or attempt error) with every character that could
/// break a log line escaped as `escape_debug` does: control characters (`\n`, `\r`, `\t`,
/// `\u{1b}` …), Unicode line and paragraph separators and bidirectional controls. Printable
/// text, quotes included, is left alone.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            let breaks_lines = c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                        | '\u{2066}'..='\u{2069}'
                );
            if breaks_lines {
                write!(f, "{}", c.escape_debug())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
mod serialize {
    //! `Serialize` for the report types (feature `serde`): the schema in [`Report`]'s docs.

    use std::net::{IpAddr, SocketAddr};
    use std::time::Duration;

    use eyeballs_proto::{
        AttemptEnd, Denial, DnsOutcome, DropReason, Family, Outcome, PathFacts, PathFailure,
        Protocol, ServiceRecord,
    };
    use serde::ser::{Serialize, SerializeStruct, Serializer};

    use super::{AttemptSummary, QuerySummary, Report};

    /// Milliseconds, to the microsecond.
    fn ms(d: Duration) -> f64 {
        (d.as_secs_f64() * 1e6).round() / 1e3
    }

    fn family(addr: SocketAddr) -> &'static str {
        match Family::of(addr.ip()) {
            Family::V6 => "ipv6",
            Family::V4 => "ipv4",
        }
    }

    /// `{"address", "port", "family"}`.
    struct Address(SocketAddr);

    impl Serialize for Address {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut s = serializer.serialize_struct("Address", 3)?;
            s.serialize_field("address", &self.0.ip().to_string())?;
            s.serialize_field("port", &self.0.port())?;
            s.serialize_field("family", family(self.0))?;
            s.end()
        }
    }

    /// `{"address", "reason", "why"}`: an address of an answer that was not used.
    struct Dropped(IpAddr, DropReason);

    impl Serialize for Dropped {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut s = serializer.serialize_struct("Dropped", 3)?;
            s.serialize_field("address", &self.0.to_string())?;
            s.serialize_field("reason", self.1.as_str())?;
            s.serialize_field("why", &self.1.to_string())?;
            s.end()
        }
    }

    /// `{"address", "port", "why"}`: an endpoint the destination policy refused.
    struct Refused(SocketAddr, Denial);

    impl Serialize for Refused {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut s = serializer.serialize_struct("Refused", 3)?;
            s.serialize_field("address", &self.0.ip().to_string())?;
            s.serialize_field("port", &self.0.port())?;
            s.serialize_field("why", &self.1.to_string())?;
            s.end()
        }
    }

    /// `{"failed", "srtt_ms", "rttvar_ms", "used"}`: what history knew about an endpoint.
    struct Facts(PathFacts);

    impl Serialize for Facts {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut s = serializer.serialize_struct("Facts", 4)?;
            s.serialize_field("failed", &self.0.failed.map(PathFailure::as_str))?;
            s.serialize_field("srtt_ms", &self.0.rtt.map(|r| ms(r.srtt)))?;
            s.serialize_field("rttvar_ms", &self.0.rtt.map(|r| ms(r.rttvar)))?;
            s.serialize_field("used", &self.0.used)?;
            s.end()
        }
    }

    /// `{"priority", "target", "alpn": [string], "port"}`: the HTTPS record an endpoint came
    /// from.
    struct Service<'a>(&'a ServiceRecord);

    impl Serialize for Service<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let r = self.0;
            let mut s = serializer.serialize_struct("Service", 4)?;
            s.serialize_field("priority", &r.priority)?;
            s.serialize_field("target", &r.target)?;
            s.serialize_field("alpn", &Seq(|| r.protocols()))?;
            s.serialize_field("port", &r.port)?;
            s.end()
        }
    }

    /// A sequence of the items an iterator gives, serialized as they come.
    struct Seq<F>(F);

    impl<F, I> Serialize for Seq<F>
    where
        F: Fn() -> I,
        I: Iterator,
        I::Item: Serialize,
    {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq((self.0)())
        }
    }

    impl Serialize for Report {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let connected = matches!(self.race.outcome, Some(Outcome::Connected { .. }));
            let mut s = serializer.serialize_struct("Report", 10)?;
            s.serialize_field("host", &self.host())?;
            s.serialize_field("outcome", if connected { "connected" } else { "failed" })?;
            s.serialize_field("cause", &self.cause())?;
            s.serialize_field("elapsed_ms", &ms(self.span()))?;
            s.serialize_field("winner", &self.winner().map(Address))?;
            s.serialize_field("dns", &Seq(|| self.queries()))?;
            s.serialize_field("attempts", &Seq(|| self.attempts()))?;
            s.serialize_field("dropped_endpoints", &self.race.dropped_endpoints)?;
            let denied = Seq(|| self.race.denied.iter().map(|&(a, d)| Refused(a, d)));
            s.serialize_field("denied", &denied)?;
            s.serialize_field("history_reordered", &self.race.history_reordered)?;
            s.end()
        }
    }

    impl Serialize for QuerySummary<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut s = serializer.serialize_struct("QuerySummary", 7)?;
            s.serialize_field("query", &self.record.to_string())?;
            s.serialize_field("name", &self.name)?;
            s.serialize_field("started_ms", &ms(self.sent))?;
            s.serialize_field("answered_ms", &self.answered.map(ms))?;
            s.serialize_field("result", self.outcome.map_or("timeout", DnsOutcome::as_str))?;
            let addresses = Seq(|| self.addresses.iter().map(|a| a.to_string()));
            s.serialize_field("addresses", &addresses)?;
            let dropped = Seq(|| self.dropped.iter().map(|&(ip, reason)| Dropped(ip, reason)));
            s.serialize_field("dropped", &dropped)?;
            s.end()
        }
    }

    impl Serialize for AttemptSummary<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let addr = self.endpoint.addr;
            let mut s = serializer.serialize_struct("AttemptSummary", 11)?;
            s.serialize_field("address", &addr.ip().to_string())?;
            s.serialize_field("port", &addr.port())?;
            s.serialize_field("family", family(addr))?;
            s.serialize_field("started_ms", &ms(self.started))?;
            s.serialize_field("ended_ms", &self.ended.map(ms))?;
            s.serialize_field("outcome", self.end.map_or("aborted", AttemptEnd::as_str))?;
            s.serialize_field("error", &self.error.map(|e| e.to_string()))?;
            s.serialize_field("delay_ms", &ms(self.delay))?;
            s.serialize_field("history", &self.history.map(Facts))?;
            let protocol = match self.endpoint.protocol {
                Protocol::Quic => "quic",
                _ => "tcp",
            };
            s.serialize_field("protocol", protocol)?;
            s.serialize_field("service", &self.service.map(Service))?;
            s.end()
        }
    }
}

/// Attempt `i` of `race`, with its error from `errors` (indexed like the attempts).
fn attempt_summary<'a>(
    race: &'a eyeballs_proto::Report,
    errors: &'a [Option<Arc<io::Error>>],
    i: usize,
) -> Option<AttemptSummary<'a>> {
    let a = race.attempts.get(i)?;
    Some(AttemptSummary {
        endpoint: a.endpoint,
        started: race.offset(a.started),
        ended: a.ended.map(|t| race.offset(t)),
        end: a.end,
        error: errors.get(i).and_then(|e| e.as_deref()),
        delay: a.attempt_delay,
        history: a.history,
        service: a.service.and_then(|i| race.services.get(i)),
    })
}

/// Query `i` of `race`.
fn query_summary(race: &eyeballs_proto::Report, i: usize) -> Option<QuerySummary<'_>> {
    let q = race.queries.get(i)?;
    Some(QuerySummary {
        record: q.record,
        name: q
            .name
            .as_deref()
            .filter(|n| Some(*n) != race.host.as_deref()),
        sent: race.offset(q.sent),
        answered: q.answered().map(|t| race.offset(t)),
        outcome: q.outcome,
        addresses: &q.addresses,
        dropped: &q.dropped,
    })
}

/// A function told of each event of a race as it happens, with the entry the race's
/// [`Report::timeline`] will list for it (see [`Connector::on_event`](crate::Connector::on_event)).
pub type EventHook = Arc<dyn Fn(&TimelineEntry<'_>) + Send + Sync>;

/// `event` of a race in progress as a timeline entry, at the time the report gives it: what
/// the driver core hands an observer as each event happens.
pub(crate) fn live_entry<'a>(
    race: &'a eyeballs_proto::Report,
    errors: &'a [Option<Arc<io::Error>>],
    event: Event,
) -> Option<TimelineEntry<'a>> {
    let (at, event) = match event {
        Event::QuerySent(id) => {
            let q = query_summary(race, id.index())?;
            (q.sent, TimelineEvent::QuerySent(q))
        }
        Event::QueryEnded(id) => {
            let ended = race.queries.get(id.index())?.ended?;
            (
                race.offset(ended),
                TimelineEvent::QueryEnded(query_summary(race, id.index())?),
            )
        }
        Event::AttemptStarted(id) => {
            let attempt = attempt_summary(race, errors, id.index())?;
            (
                attempt.started,
                TimelineEvent::AttemptStarted { id, attempt },
            )
        }
        Event::AttemptEnded(id) => {
            let attempt = attempt_summary(race, errors, id.index())?;
            (attempt.ended?, TimelineEvent::AttemptEnded { id, attempt })
        }
        _ => return None,
    };
    Some(TimelineEntry { at, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_keeps_printable_text_and_escapes_line_breakers() {
        let cases = [
            ("example.com", "example.com"),
            ("can't \"quote\" \\", "can't \"quote\" \\"),
            ("a\nb\r\tc", "a\\nb\\r\\tc"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            ("x\u{2028}y\u{202e}z", "x\\u{2028}y\\u{202e}z"),
            ("é.test", "é.test"),
        ];
        for (raw, want) in cases {
            assert_eq!(Escaped(raw).to_string(), want, "{raw:?}");
        }
    }

    #[test]
    fn millis_format_to_a_tenth() {
        assert_eq!(
            format!("{:>7.1}", Millis(Duration::from_micros(250_340))),
            "  250.3"
        );
        assert_eq!(format!("{:.1}", Millis(Duration::ZERO)), "0.0");
    }
}
