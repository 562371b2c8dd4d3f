//! How a race is shown: a timeline for people, one JSON object for programs. Both come from
//! the library's [`eyeballs::Report`]: its timeline lines (`Display`) and its `Serialize`
//! (feature `serde`); this module only adds color and the command's own fields.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use eyeballs::{AttemptEnd, Outcome, TimelineEntry, TimelineEvent};
use eyeballs_proto::Report;
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
    /// For a TLS race (`connect --tls`): what each attempt offered and what was settled.
    pub tls: Option<TlsFacts>,
}

/// The ALPN side of a TLS race (`connect --tls`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// Per attempt (in the report's order), the ALPN ids its handshake offered.
    pub offered: Vec<Vec<String>>,
    /// The ALPN id the winner's handshake settled on, if the server chose one.
    pub negotiated: Option<String>,
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
            tls: None,
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
    /// The library's report of this race, its times counted from [`RaceView::origin`], with
    /// each attempt's error text.
    fn report(&self) -> eyeballs::Report {
        let mut race = self.race.clone();
        race.started = self.origin;
        let errors = self
            .errors
            .iter()
            .map(|e| {
                e.as_ref()
                    .map(|text| Arc::new(io::Error::other(text.clone())))
            })
            .collect();
        eyeballs::Report::new(race, errors)
    }

    /// The JSON object of the `--json` schema (README, `eyeballs connect --help`): the
    /// library's `Serialize` of the report, with the host and port as the user wrote them
    /// and the race's error.
    pub fn json(&self) -> Value {
        let mut v = match serde_json::to_value(self.report()) {
            Ok(v) => v,
            // The report serializes to an object of strings, numbers and lists: this is
            // not reached, but a broken object must not pass for a report.
            Err(e) => json!({ "outcome": "failed", "serialize_error": e.to_string() }),
        };
        if let Value::Object(map) = &mut v {
            map.insert("host".into(), self.host.clone().into());
            map.insert("port".into(), self.port.into());
            map.insert("error".into(), self.error.clone().into());
            let tls = self.tls.as_ref();
            map.insert("alpn".into(), tls.and_then(|t| t.negotiated.clone()).into());
            if let Some(Value::Array(attempts)) = map.get_mut("attempts") {
                for (i, attempt) in attempts.iter_mut().enumerate() {
                    if let Value::Object(attempt) = attempt {
                        let offered = tls.and_then(|t| t.offered.get(i)).cloned();
                        attempt.insert("alpn".into(), offered.into());
                    }
                }
            }
        }
        v
    }

    /// Prints the JSON object on one line.
    pub fn print_json(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{}", self.json())
    }

    /// Prints the timeline table (the library's [`eyeballs::Report`] `Display`, line by
    /// line), in color if `color`; a failure's last line gives the race's error.
    pub fn print_text(&self, out: &mut impl Write, color: bool) -> io::Result<()> {
        let paint = Paint(color);
        let report = self.report();
        writeln!(out, "{}", paint.bold(&format!("{:>10}  event", "time")))?;
        for entry in report.timeline() {
            writeln!(out, "{}", paint_entry(&entry, color))?;
        }
        let verdict = match (&self.error, report.outcome()) {
            (Some(error), Some(Outcome::Failed(_)) | None) => {
                // The library's verdict says why in general terms; the command has the
                // error's own message, naming each attempt.
                let took = report.span().as_secs_f64() * 1e3;
                paint.red(&format!("failed after {took:.1} ms: {error}"))
            }
            (_, Some(Outcome::Connected { .. })) => paint.green(&report.verdict().to_string()),
            _ => paint.red(&report.verdict().to_string()),
        };
        writeln!(out, "{}", paint.bold(&verdict))?;
        if let Some(tls) = &self.tls {
            writeln!(out, "{}", tls_line(&report, tls))?;
        }
        Ok(())
    }
}

/// The ALPN line under a TLS race's verdict: what was settled over which protocol, then what
/// each attempt offered (`ALPN h3 over QUIC; offered: #0 h3, #1 h2,http/1.1`).
fn tls_line(report: &eyeballs::Report, tls: &TlsFacts) -> String {
    let settled = match (&tls.negotiated, report.race().winner()) {
        (Some(id), Some(w)) => format!("ALPN {id} over {}", protocol_name(w.endpoint.protocol)),
        (None, Some(w)) => format!("no ALPN over {}", protocol_name(w.endpoint.protocol)),
        (_, None) => "no connection".to_owned(),
    };
    let offered: Vec<String> = tls
        .offered
        .iter()
        .enumerate()
        .map(|(i, ids)| match ids.as_slice() {
            [] => format!("#{i} none"),
            ids => format!("#{i} {}", ids.join(",")),
        })
        .collect();
    format!("{settled}; offered: {}", offered.join(", "))
}

fn protocol_name(protocol: eyeballs_proto::Protocol) -> &'static str {
    match protocol {
        eyeballs_proto::Protocol::Quic => "QUIC",
        _ => "TCP+TLS",
    }
}

/// One timeline line (the library's text), colored by what happened if `color`: queries
/// cyan, a connected attempt green, an aborted one dim, a failed one red.
pub fn paint_entry(entry: &TimelineEntry<'_>, color: bool) -> String {
    let paint = Paint(color);
    let line = entry.to_string();
    match entry.event {
        TimelineEvent::QuerySent(_) | TimelineEvent::QueryEnded(_) => paint.cyan(&line),
        TimelineEvent::AttemptEnded { attempt, .. } => match attempt.end {
            Some(AttemptEnd::Connected) => paint.green(&line),
            Some(AttemptEnd::Aborted) => paint.dim(&line),
            _ => paint.red(&line),
        },
        _ => line,
    }
}

/// One event as it happens, before the final timeline: the timeline's line, marked `live`.
pub fn live_line(entry: &TimelineEntry<'_>, color: bool) -> String {
    format!("{} {}", Paint(color).dim("live"), paint_entry(entry, color))
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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use eyeballs_proto::sim::{Behavior, Scenario};
    use eyeballs_proto::Target;

    use super::*;

    /// A refused IPv6 attempt, then a connected IPv4 one, on loopback addresses.
    fn race() -> Report {
        let addrs: [SocketAddr; 2] = [
            "[::1]:443".parse().unwrap(),
            "127.0.0.1:443".parse().unwrap(),
        ];
        Scenario::target(Target::addresses(addrs).unwrap())
            .behavior("::1", Behavior::refuses(Duration::from_millis(2)))
            .default_behavior(Behavior::Connects(Duration::from_millis(3)))
            .run()
            .unwrap()
            .report
    }

    fn view(race: &Report) -> RaceView<'_> {
        RaceView {
            host: "dual.test".into(),
            port: 443,
            race,
            errors: vec![Some("Connection refused (os error 111)".into()), None],
            error: None,
            origin: race.started,
            tls: None,
        }
    }

    #[test]
    fn json_is_the_librarys_with_the_commands_fields() {
        let race = race();
        let v = view(&race).json();
        assert_eq!(v["host"], "dual.test");
        assert_eq!(v["port"], 443);
        assert_eq!(v["outcome"], "connected");
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["elapsed_ms"], 13.0);
        assert_eq!(
            v["winner"],
            json!({"address": "127.0.0.1", "port": 443, "family": "ipv4"})
        );
        assert_eq!(v["dns"], json!([]));
        assert_eq!(
            v["attempts"][0],
            json!({
                "address": "::1", "port": 443, "family": "ipv6",
                "started_ms": 0.0, "ended_ms": 2.0, "outcome": "refused",
                "error": "Connection refused (os error 111)",
                "delay_ms": 250.0, "history": null, "protocol": "tcp", "service": null,
                "alpn": null,
            })
        );
        assert_eq!(v["alpn"], Value::Null, "not a TLS race");
        assert_eq!(v["attempts"][1]["outcome"], "connected");
        assert_eq!(v["attempts"][1]["started_ms"], 10.0);
        assert!(v["elapsed_ms"].is_f64() && v["attempts"][1]["ended_ms"].is_f64());
    }

    /// `connect --tls`: each attempt says what it offered, the race what was settled, and
    /// the text says it under the verdict.
    #[test]
    fn a_tls_race_tells_its_alpn() {
        let race = race();
        let mut view = view(&race);
        view.tls = Some(TlsFacts {
            offered: vec![vec!["h2".into(), "http/1.1".into()], vec!["h2".into()]],
            negotiated: Some("h2".into()),
        });
        let v = view.json();
        assert_eq!(v["alpn"], "h2");
        assert_eq!(v["attempts"][0]["alpn"], json!(["h2", "http/1.1"]));
        assert_eq!(v["attempts"][1]["alpn"], json!(["h2"]));
        let mut text = Vec::new();
        view.print_text(&mut text, false).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.ends_with("ALPN h2 over TCP+TLS; offered: #0 h2,http/1.1, #1 h2\n"),
            "{text}"
        );
    }

    #[test]
    fn times_count_from_the_origin() {
        let race = race();
        let mut view = view(&race);
        view.origin = race.started - Duration::from_millis(5);
        let v = view.json();
        assert_eq!(v["attempts"][0]["started_ms"], 5.0);
        assert_eq!(v["elapsed_ms"], 18.0);
    }

    #[test]
    fn text_is_the_librarys_timeline_and_colors_only_on_request() {
        let race = race();
        let view = view(&race);
        let mut plain = Vec::new();
        view.print_text(&mut plain, false).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert_eq!(
            plain,
            "      time  event\n\
             \x20   0.0 ms  #0 connect [::1]:443\n\
             \x20   2.0 ms  #0 refused (Connection refused (os error 111))\n\
             \x20  10.0 ms  #1 connect 127.0.0.1:443\n\
             \x20  13.0 ms  #1 connected\n\
             connected to 127.0.0.1:443 (ipv4) in 13.0 ms\n"
        );
        let mut colored = Vec::new();
        view.print_text(&mut colored, true).unwrap();
        let colored = String::from_utf8(colored).unwrap();
        assert!(
            colored.contains("\x1b[31m    2.0 ms  #0 refused"),
            "{colored}"
        );
        assert!(
            colored.contains("\x1b[32m   13.0 ms  #1 connected"),
            "{colored}"
        );
    }

    #[test]
    fn a_failure_ends_with_the_races_error() {
        let addrs: [SocketAddr; 1] = ["127.0.0.1:1".parse().unwrap()];
        let race = Scenario::target(Target::addresses(addrs).unwrap())
            .default_behavior(Behavior::refuses(Duration::from_millis(1)))
            .run()
            .unwrap()
            .report;
        let view = RaceView {
            host: "127.0.0.1".into(),
            port: 1,
            race: &race,
            errors: vec![None],
            error: Some("could not connect to 127.0.0.1:1: every attempt failed".into()),
            origin: race.started,
            tls: None,
        };
        let mut out = Vec::new();
        view.print_text(&mut out, false).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.ends_with(
                "failed after 1.0 ms: could not connect to 127.0.0.1:1: every attempt failed\n"
            ),
            "{out}"
        );
        let v = view.json();
        assert_eq!(v["outcome"], "failed");
        assert_eq!(v["cause"], "refused");
        assert_eq!(v["winner"], Value::Null);
        assert_eq!(
            v["error"],
            "could not connect to 127.0.0.1:1: every attempt failed"
        );
    }
}
