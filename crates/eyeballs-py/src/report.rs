//! The race's report as Python objects: `eyeballs.Report`, with its `Attempt`s and `Query`s.
//!
//! Times are milliseconds from the start of the race (floats, to the microsecond), as in the
//! CLI's `--json` schema; names (`outcome`, `cause`, `family`) are the same short strings.

use std::time::Duration;

use eyeballs::{AttemptSummary, QuerySummary};
use pyo3::prelude::*;

/// What a race did: which address won, and every DNS query and connection attempt with when
/// it started and ended and why. `str(report)` is the timeline the `eyeballs` command prints.
#[pyclass(frozen, module = "eyeballs", name = "Report")]
#[derive(Debug)]
pub(crate) struct Report {
    inner: eyeballs::Report,
}

impl Report {
    /// The Python view of `report`.
    pub(crate) fn new(report: eyeballs::Report) -> Self {
        Report { inner: report }
    }
}

/// Milliseconds, as a float.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[pymethods]
impl Report {
    /// The host name resolved (`None` for an IP literal or addresses given).
    #[getter]
    fn host(&self) -> Option<&str> {
        self.inner.host()
    }

    /// `"connected"`, `"failed"`, or `None` for a race that did not end.
    #[getter]
    fn outcome(&self) -> Option<&'static str> {
        self.inner.outcome().map(|o| match o {
            eyeballs::Outcome::Connected { .. } => "connected",
            _ => "failed",
        })
    }

    /// How the race failed, in one word (`"refused"`, `"timed_out"`, `"no_such_name"` …), or
    /// `None` if it connected.
    #[getter]
    fn cause(&self) -> Option<&'static str> {
        self.inner.cause().map(eyeballs::Cause::as_str)
    }

    /// The winner's address as `(host, port)`, or `None`.
    #[getter]
    fn winner(&self) -> Option<(String, u16)> {
        self.inner.winner().map(|a| (a.ip().to_string(), a.port()))
    }

    /// How long the race took, in milliseconds.
    #[getter]
    fn elapsed_ms(&self) -> f64 {
        millis(self.inner.span())
    }

    /// Whether what the history store knew changed the order of the attempts.
    #[getter]
    fn history_reordered(&self) -> bool {
        self.inner.history_reordered()
    }

    /// Every connection attempt, in the order they started.
    #[getter]
    fn attempts(&self) -> Vec<Attempt> {
        self.inner.attempts().map(|a| Attempt::new(&a)).collect()
    }

    /// Every DNS query, in the order they were sent (none for an IP literal).
    #[getter]
    fn queries(&self) -> Vec<Query> {
        self.inner.queries().map(|q| Query::new(&q)).collect()
    }

    /// One line: `connected to ADDR (FAMILY) in T ms` or `failed after T ms: WHY`.
    #[getter]
    fn verdict(&self) -> String {
        self.inner.verdict().to_string()
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        format!("<eyeballs.Report {}>", self.inner.verdict())
    }
}

/// One connection attempt of a race.
#[pyclass(frozen, get_all, module = "eyeballs", name = "Attempt")]
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// The destination as `(host, port)`.
    address: (String, u16),
    /// `"ipv6"` or `"ipv4"`.
    family: &'static str,
    /// When it started, in milliseconds from the start of the race.
    started_ms: f64,
    /// When it ended, in milliseconds from the start of the race (`None` if it had not).
    ended_ms: Option<f64>,
    /// `"connected"`, `"refused"`, `"unreachable"`, `"timeout"`, `"error"` or `"aborted"`
    /// (stopped: it lost, or the race ended first).
    outcome: &'static str,
    /// The OS error number it failed with, if any (`errno.ECONNREFUSED` …).
    errno: Option<i32>,
    /// The error it failed with, as text, if any.
    error: Option<String>,
    /// The Connection Attempt Delay that ran from its start, in milliseconds (derived from
    /// its path's RTT when history knew one, HE-5.8).
    delay_ms: f64,
    /// What the history store knew about its address when it started, as text
    /// (`"recently stalled"`, `"srtt 20ms rttvar 5ms, used last"`), or `None`.
    history: Option<String>,
}

impl Attempt {
    fn new(a: &AttemptSummary<'_>) -> Self {
        let addr = a.endpoint.addr;
        Attempt {
            address: (addr.ip().to_string(), addr.port()),
            family: if addr.is_ipv6() { "ipv6" } else { "ipv4" },
            started_ms: millis(a.started),
            ended_ms: a.ended.map(millis),
            outcome: a.end.map_or("aborted", eyeballs::AttemptEnd::as_str),
            errno: a.error.and_then(std::io::Error::raw_os_error),
            error: a.error.map(ToString::to_string),
            delay_ms: millis(a.delay),
            history: a.history.map(|facts| facts.to_string()),
        }
    }
}

#[pymethods]
impl Attempt {
    fn __repr__(&self) -> String {
        let (ip, port) = &self.address;
        let ended = self
            .ended_ms
            .map_or_else(|| "-".to_owned(), |t| format!("{t:.1}"));
        format!(
            "<eyeballs.Attempt {ip} port {port} {} at {:.1}..{ended} ms>",
            self.outcome, self.started_ms
        )
    }
}

/// One DNS query of a race.
#[pyclass(frozen, get_all, module = "eyeballs", name = "Query")]
#[derive(Debug, Clone)]
pub(crate) struct Query {
    /// `"AAAA"` or `"A"`.
    record: String,
    /// When it was sent, in milliseconds from the start of the race.
    sent_ms: f64,
    /// When the resolver answered, in milliseconds (`None` if it never did).
    answered_ms: Option<f64>,
    /// `"ok"`, `"nodata"`, `"nxdomain"`, `"servfail"`, `"error"`, `"timeout"` or
    /// `"cancelled"` (`None` if it had not ended).
    outcome: Option<&'static str>,
    /// The addresses of its answer.
    addresses: Vec<String>,
}

impl Query {
    fn new(q: &QuerySummary<'_>) -> Self {
        Query {
            record: q.record.to_string(),
            sent_ms: millis(q.sent),
            answered_ms: q.answered.map(millis),
            outcome: q.outcome.map(eyeballs::DnsOutcome::as_str),
            addresses: q.addresses.iter().map(ToString::to_string).collect(),
        }
    }
}

#[pymethods]
impl Query {
    fn __repr__(&self) -> String {
        format!(
            "<eyeballs.Query {} {} {:?}>",
            self.record,
            self.outcome.unwrap_or("pending"),
            self.addresses
        )
    }
}
