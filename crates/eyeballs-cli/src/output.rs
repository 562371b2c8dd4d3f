//! How a race is shown: a timeline for people, one JSON object for programs.

use std::io::{self, IsTerminal, Write};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use eyeballs_proto::{AttemptEnd, Event, Family, Outcome, Report};
use serde_json::{json, Value};

/// A finished (or abandoned) race, ready to print.
#[derive(Debug)]
pub struct RaceView<'a> {
    /// The host as the user wrote it (a name, an IP, or the first of `--addr`).
    pub host: String,
    /// The port as the user wrote it.
    pub port: u16,
    /// The engine's report.
    pub race: &'a Report,
    /// Per attempt, the error it failed with (OS error text), if any.
    pub errors: Vec<Option<String>>,
    /// The race's error, if it failed.
    pub error: Option<String>,
    /// When the command started the race: the zero of every time shown.
    pub origin: Instant,
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn family(ip: IpAddr) -> &'static str {
    match Family::of(ip) {
        Family::V6 => "ipv6",
        Family::V4 => "ipv4",
    }
}

/// The report of a driver race and, if it failed, the error's text. A failure without a
/// report (invalid input: nothing was raced) comes back as the error itself.
pub fn report_of<S>(
    result: Result<eyeballs::Connection<S>, eyeballs::Error>,
) -> Result<(eyeballs::Report, Option<String>), eyeballs::Error> {
    match result {
        Ok(connection) => Ok((connection.report().clone(), None)),
        Err(e) => match e.report().cloned() {
            Some(report) => Ok((report, Some(e.to_string()))),
            None => Err(e),
        },
    }
}

impl<'a> RaceView<'a> {
    /// The view of a race run by the driver, with each attempt's OS error.
    pub fn of_driver(
        host: String,
        port: u16,
        report: &'a eyeballs::Report,
        error: Option<String>,
        origin: Instant,
    ) -> Self {
        RaceView {
            host,
            port,
            race: report.race(),
            errors: report
                .attempts()
                .map(|a| a.error.map(|e| e.to_string()))
                .collect(),
            error,
            origin,
        }
    }

    /// Prints the view, as JSON or with `text`, and gives the exit status: 0 connected, else
    /// 1 with the error on stderr.
    pub fn emit(
        &self,
        json: bool,
        text: impl FnOnce(&mut io::StdoutLock<'static>, &Self) -> io::Result<()>,
    ) -> ExitCode {
        let mut out = io::stdout().lock();
        let printed = if json {
            self.print_json(&mut out)
        } else {
            text(&mut out, self)
        };
        // A closed stdout (a pipe into `head`) is not the race's failure.
        let _ = printed.and_then(|()| out.flush());
        match &self.error {
            None => ExitCode::SUCCESS,
            Some(e) => crate::exit::failure(e),
        }
    }

    /// The timeline, colored on a terminal: the default `text` for [`RaceView::emit`].
    pub fn timeline(out: &mut io::StdoutLock<'static>, view: &Self) -> io::Result<()> {
        view.print_text(out, use_color())
    }
}

impl RaceView<'_> {
    fn at(&self, t: Instant) -> f64 {
        millis(t.saturating_duration_since(self.origin))
    }

    fn elapsed(&self) -> f64 {
        self.race.finished.map_or(0.0, |t| self.at(t))
    }

    /// The JSON object of the `--json` schema (README, `eyeballs connect --help`).
    pub fn json(&self) -> Value {
        let winner = self.race.winner().map(|w| {
            json!({
                "address": w.endpoint.addr.ip().to_string(),
                "port": w.endpoint.addr.port(),
                "family": family(w.endpoint.addr.ip()),
            })
        });
        let dns: Vec<Value> = self
            .race
            .queries
            .iter()
            .map(|q| {
                json!({
                    "query": q.record.to_string(),
                    "started_ms": self.at(q.sent),
                    "answered_ms": q.answered().map(|t| self.at(t)),
                    "result": q.outcome.map_or("timeout", |o| o.as_str()),
                    "addresses": q.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let attempts: Vec<Value> = self
            .race
            .attempts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                json!({
                    "address": a.endpoint.addr.ip().to_string(),
                    "port": a.endpoint.addr.port(),
                    "family": family(a.endpoint.addr.ip()),
                    "started_ms": self.at(a.started),
                    "ended_ms": a.ended.map(|t| self.at(t)),
                    "outcome": a.end.map_or("aborted", AttemptEnd::as_str),
                    "error": self.errors.get(i).cloned().flatten(),
                })
            })
            .collect();
        let connected = matches!(self.race.outcome, Some(Outcome::Connected { .. }));
        json!({
            "host": self.host,
            "port": self.port,
            "outcome": if connected { "connected" } else { "failed" },
            "elapsed_ms": self.elapsed(),
            "winner": winner,
            "dns": dns,
            "attempts": attempts,
            "error": self.error,
        })
    }

    /// Prints the JSON object on one line.
    pub fn print_json(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{}", self.json())
    }

    /// Prints the timeline table, in color if `color`.
    pub fn print_text(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        let paint = Paint(color);
        let race = self.race;
        writeln!(out, "{}", paint.bold(&format!("{:>10}  event", "time")))?;
        for (_, event) in race.timeline() {
            let (t, line) = match event {
                Event::QuerySent(id) => {
                    let q = &race.queries[id.index()];
                    (q.sent, paint.cyan(&format!("{} query sent", q.record)))
                }
                Event::QueryEnded(id) => {
                    let q = &race.queries[id.index()];
                    let outcome = q.outcome.map_or("pending", |o| o.as_str());
                    let addrs: Vec<String> = q.addresses.iter().map(|a| a.to_string()).collect();
                    let text = if addrs.is_empty() {
                        format!("{} {outcome}", q.record)
                    } else {
                        format!("{} {outcome}: {}", q.record, addrs.join(", "))
                    };
                    (q.ended.unwrap_or(q.sent), paint.cyan(&text))
                }
                Event::AttemptStarted(id) => {
                    let a = &race.attempts[id.index()];
                    (a.started, format!("{id} connect {}", a.endpoint))
                }
                Event::AttemptEnded(id) => {
                    let a = &race.attempts[id.index()];
                    let end = a.end.map_or("pending", AttemptEnd::as_str);
                    let text = match self.errors.get(id.index()).cloned().flatten() {
                        Some(e) => format!("{id} {end} ({e})"),
                        None => format!("{id} {end}"),
                    };
                    let text = match a.end {
                        Some(AttemptEnd::Connected) => paint.green(&text),
                        Some(AttemptEnd::Aborted) => paint.dim(&text),
                        _ => paint.red(&text),
                    };
                    (a.ended.unwrap_or(a.started), text)
                }
                Event::Finished => continue,
                _ => continue,
            };
            writeln!(out, "{:>7.1} ms  {line}", self.at(t))?;
        }
        match race.winner() {
            Some(w) => writeln!(
                out,
                "{}",
                paint.green(&paint.bold(&format!(
                    "connected to {} ({}) in {:.1} ms",
                    w.endpoint.addr,
                    family(w.endpoint.addr.ip()),
                    self.elapsed()
                )))
            ),
            None => writeln!(
                out,
                "{}",
                paint.red(&paint.bold(&format!(
                    "failed after {:.1} ms: {}",
                    self.elapsed(),
                    self.error.as_deref().unwrap_or("no attempt connected")
                )))
            ),
        }
    }
}

/// Whether to color stdout: a terminal, and NO_COLOR unset or empty (no-color.org).
pub fn use_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn dim(self, t: &str) -> String {
        self.wrap("2", t)
    }
    fn red(self, t: &str) -> String {
        self.wrap("31", t)
    }
    fn green(self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn cyan(self, t: &str) -> String {
        self.wrap("36", t)
    }
}
