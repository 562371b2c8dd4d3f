//! The proxy section of BENCHMARKS.md, and the goals of issue 13 checked against it.

use std::fmt::Write as _;

use super::{ms, Kind, ProxyResults, Way, REQUEST_BYTES};
use crate::report::{section, shorten, table};

/// The section's heading.
pub const HEADING: &str = "## Proxy: added latency and relay throughput";

/// Issue 13's goal: eyeballs' added latency at most this much over microsocks', in ms.
pub const GOAL_ADDED_MS: f64 = 0.2;

/// Issue 13's goal: eyeballs' throughput at least this fraction of microsocks'.
pub const GOAL_THROUGHPUT: f64 = 0.9;

/// The heading of the section this one goes before, when BENCHMARKS.md has it.
const BEFORE: &str = "## Notes, and what is not measured";

/// A goal's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Goal {
    /// Met: the figure.
    Met(f64),
    /// Not met: the figure.
    NotMet(f64),
    /// Not measured: why.
    Unknown(String),
}

impl Goal {
    /// `**met** (FIGURE)`: `figure` formats the figure.
    fn text(&self, figure: impl Fn(f64) -> String) -> String {
        match self {
            Goal::Met(v) => format!("**met** ({})", figure(*v)),
            Goal::NotMet(v) => format!("**not met** ({})", figure(*v)),
            Goal::Unknown(why) => format!("not measured ({why})"),
        }
    }
}

/// eyeballs' median added latency minus microsocks', against [`GOAL_ADDED_MS`].
pub fn latency_goal(r: &ProxyResults) -> Goal {
    match (
        r.added(Way::Via(Kind::Eyeballs)),
        r.added(Way::Via(Kind::Microsocks)),
    ) {
        (Some((ours, _)), Some((theirs, _))) => {
            let over = ours - theirs;
            if over <= GOAL_ADDED_MS {
                Goal::Met(over)
            } else {
                Goal::NotMet(over)
            }
        }
        _ => Goal::Unknown("eyeballs, microsocks or the direct connection has no latency".into()),
    }
}

/// eyeballs' median throughput over microsocks', against [`GOAL_THROUGHPUT`].
pub fn throughput_goal(r: &ProxyResults) -> Goal {
    match throughput_ratio(r, Kind::Eyeballs) {
        Some(ratio) if ratio >= GOAL_THROUGHPUT => Goal::Met(ratio),
        Some(ratio) => Goal::NotMet(ratio),
        None => Goal::Unknown("eyeballs or microsocks has no throughput".into()),
    }
}

/// `kind`'s median throughput over microsocks'.
fn throughput_ratio(r: &ProxyResults, kind: Kind) -> Option<f64> {
    let of = |k| Some(r.row(Way::Via(k))?.throughput.as_ref().ok()?.median);
    let (ours, theirs) = (of(kind)?, of(Kind::Microsocks)?);
    (theirs > 0.0).then(|| ours / theirs)
}

/// The table (Markdown), one row per way.
pub fn rows_table(r: &ProxyResults) -> String {
    let micro_added = r.added(Way::Via(Kind::Microsocks)).map(|(m, _)| m);
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let (median, p90) = match &row.latency {
                Ok(l) => (format!("{:.3}", ms(l.median)), format!("{:.3}", ms(l.p90))),
                Err(_) => ("–".to_owned(), "–".to_owned()),
            };
            let (added, added_p90, vs_micro) = match (row.way, r.added(row.way)) {
                (Way::Direct, _) => ("0".to_owned(), "0".to_owned(), String::new()),
                (_, Some((m, p))) => (
                    format!("{m:.3}"),
                    format!("{p:.3}"),
                    match (row.way, micro_added) {
                        (Way::Via(Kind::Microsocks), _) => String::new(),
                        (_, Some(micro)) => format!("{:+.3}", m - micro),
                        (_, None) => "–".to_owned(),
                    },
                ),
                _ => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
            };
            let (rate, rate_vs) = match &row.throughput {
                Ok(t) => (
                    format!("{:.0}", t.median),
                    match row.way {
                        Way::Via(Kind::Microsocks) => String::new(),
                        Way::Via(kind) => throughput_ratio(r, kind)
                            .map_or_else(|| "–".to_owned(), |x| format!("{x:.2}×")),
                        Way::Direct => {
                            let micro = r
                                .row(Way::Via(Kind::Microsocks))
                                .and_then(|m| m.throughput.as_ref().ok())
                                .map(|m| m.median);
                            micro
                                .filter(|m| *m > 0.0)
                                .map_or_else(|| "–".to_owned(), |m| format!("{:.2}×", t.median / m))
                        }
                    },
                ),
                Err(_) => ("–".to_owned(), "–".to_owned()),
            };
            let mut name = row.way.label().to_owned();
            if !row.version.is_empty() {
                let _ = write!(name, " {}", row.version);
            }
            vec![name, median, p90, added, added_p90, vs_micro, rate, rate_vs]
        })
        .collect();
    table(
        &[
            "way",
            "per request, median (ms)",
            "p90 (ms)",
            "added, median (ms)",
            "added, p90 (ms)",
            "added over microsocks' (ms)",
            "relay (MiB/s)",
            "vs microsocks",
        ],
        &rows,
    )
}

/// The goals, one line each (Markdown list items).
pub fn goals(r: &ProxyResults) -> String {
    format!(
        "- Added latency at most {GOAL_ADDED_MS} ms over microsocks' (median): {}.\n\
         - Relay throughput at least {GOAL_THROUGHPUT}× microsocks' (median): {}.\n",
        latency_goal(r).text(|v| format!("{v:+.3} ms")),
        throughput_goal(r).text(|v| format!("{v:.2}×")),
    )
}

/// Writes the section: `part` is the results or why there are none.
pub fn write(out: &mut String, part: &Result<ProxyResults, String>) {
    let Some(r) = section(out, HEADING, part) else {
        return;
    };
    let _ = writeln!(
        out,
        "`eyeballs proxy` (this checkout's release build, default options and \
         `--allow-loopback`: the servers are on 127.0.0.1), microsocks and dante-server \
         (Debian packages, started by the bench on 127.0.0.1, no authentication; danted with \
         a generated configuration, in the foreground), and a direct connection as the \
         floor, in one run on loopback. **Per request**: a new connection, the SOCKS5 \
         greeting and a CONNECT to 127.0.0.1 (an address: nothing is resolved), then \
         {REQUEST_BYTES} bytes sent and echoed back by a server of the bench; timed from \
         `connect` to the last byte of the echo; {} sequential requests per way after {} of \
         warm-up, the ways taking turns in {} rounds. **Added** is the median (and p90) \
         minus the direct connection's. **Relay**: one connection through the proxy, one \
         byte asks the bench's source for {} MiB, read to the end in 256 KiB reads; MiB/s \
         from that byte to the end, median of {} transfers per way (taking turns). Client, \
         proxy and server share the machine's CPUs.\n",
        r.plan.requests,
        super::WARMUP,
        r.plan.rounds,
        r.plan.transfer_bytes >> 20,
        r.plan.transfers,
    );
    out.push_str(&rows_table(r));
    out.push('\n');
    let _ = writeln!(out, "Goals of issue 13:\n");
    out.push_str(&goals(r));
    out.push('\n');
    for row in &r.rows {
        for (what, e) in [
            ("per request", row.latency.as_ref().err()),
            ("relay", row.throughput.as_ref().err()),
        ] {
            if let Some(e) = e {
                let _ = writeln!(
                    out,
                    "- **Not measured**: {} ({what}): {}.",
                    row.way.label(),
                    shorten(e, 300)
                );
            }
        }
    }
    if r.rows
        .iter()
        .any(|row| row.latency.is_err() || row.throughput.is_err())
    {
        out.push('\n');
    }
}

/// Puts the section into `markdown` (BENCHMARKS.md as written by [`crate::report::markdown`]):
/// before the notes at its end, or at the end.
pub fn insert(markdown: &mut String, part: &Result<ProxyResults, String>) {
    let mut proxy = String::new();
    write(&mut proxy, part);
    match markdown.find(&format!("\n{BEFORE}")) {
        Some(at) => markdown.insert_str(at + 1, &proxy),
        None => {
            if !markdown.ends_with("\n\n") {
                markdown.push('\n');
            }
            markdown.push_str(&proxy);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Latency, Plan, Row, Throughput};
    use super::*;

    fn results(eyeballs_us: u64, eyeballs_rate: f64) -> ProxyResults {
        let row = |way, us: u64, rate: f64| Row {
            way,
            version: String::new(),
            latency: Ok(Latency {
                requests: 10,
                median: Duration::from_micros(us),
                p90: Duration::from_micros(us + 50),
            }),
            throughput: Ok(Throughput {
                runs: vec![rate],
                median: rate,
            }),
        };
        ProxyResults {
            plan: Plan::new(true),
            rows: vec![
                row(Way::Direct, 100, 5000.0),
                row(Way::Via(Kind::Eyeballs), eyeballs_us, eyeballs_rate),
                row(Way::Via(Kind::Microsocks), 250, 2000.0),
                Row {
                    way: Way::Via(Kind::Dante),
                    version: String::new(),
                    latency: Err("danted is not installed".to_owned()),
                    throughput: Err("danted is not installed".to_owned()),
                },
            ],
        }
    }

    #[test]
    fn goals_are_met_or_not_by_the_figures() {
        let good = results(400, 1900.0);
        assert!(matches!(latency_goal(&good), Goal::Met(v) if (v - 0.15).abs() < 1e-9));
        assert!(matches!(throughput_goal(&good), Goal::Met(v) if (v - 0.95).abs() < 1e-9));
        let bad = results(500, 1700.0);
        assert!(matches!(latency_goal(&bad), Goal::NotMet(_)));
        assert!(matches!(throughput_goal(&bad), Goal::NotMet(_)));
    }

    #[test]
    fn the_section_goes_before_the_notes_and_names_what_is_missing() {
        let mut md = "# Benchmarks\n\n## Cost\n\nx\n\n## Notes, and what is not measured\n\n- n\n"
            .to_owned();
        insert(&mut md, &Ok(results(400, 1900.0)));
        let proxy = md.find(HEADING).unwrap();
        assert!(md.find("## Cost").unwrap() < proxy);
        assert!(proxy < md.find(BEFORE).unwrap());
        assert!(md.contains("| eyeballs proxy |"), "{md}");
        assert!(md.contains("0.95×"), "{md}");
        assert!(md.contains("**met**"), "{md}");
        assert!(
            md.contains(
                "- **Not measured**: dante-server (danted) (per request): danted is not installed."
            ),
            "{md}"
        );

        let mut md = "# Benchmarks\n".to_owned();
        insert(&mut md, &Err("skipped (--only)".to_owned()));
        assert!(
            md.ends_with(&format!("{HEADING}\n\nNot measured: skipped (--only).\n\n")),
            "{md}"
        );
    }
}
