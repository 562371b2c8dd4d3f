//! `Report`'s `Display` (the timeline the CLI prints) and its pieces, on simulated races with
//! loopback addresses (no socket is opened).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eyeballs::proto::sim::{Behavior, Scenario};
use eyeballs::proto::{RecordType, Target};
use eyeballs::{Cause, FailureKind, Report, TimelineEvent};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn simulate(scenario: Scenario) -> eyeballs::proto::Report {
    scenario.run().expect("a valid scenario").report
}

#[test]
fn one_address_timeline_exactly() {
    let race = simulate(
        Scenario::target(Target::addresses([sa("127.0.0.1:80")]).unwrap())
            .default_behavior(Behavior::Connects(Duration::from_micros(1500))),
    );
    let report = Report::from(race);
    assert_eq!(
        report.to_string(),
        "      time  event\n\
         \x20   0.0 ms  #0 connect 127.0.0.1:80\n\
         \x20   1.5 ms  #0 connected\n\
         connected to 127.0.0.1:80 (ipv4) in 1.5 ms"
    );
    assert_eq!(report.cause(), None);
}

#[test]
fn dual_stack_timeline_names_queries_attempts_and_errors() {
    let race = simulate(
        Scenario::host("dual.test", 443)
            .answer(RecordType::Aaaa, ms(10), ["::1"])
            .answer(RecordType::A, ms(5), ["127.0.0.1"])
            .behavior("::1", Behavior::refuses(ms(2)))
            .default_behavior(Behavior::Connects(ms(3))),
    );
    // The OS error of the refused attempt, as a driver keeps it.
    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    let errors = vec![Some(Arc::new(refused)), None];
    let report = Report::new(race, errors);
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "      time  event", "{text}");
    assert_eq!(
        lines.last().copied(),
        Some("connected to 127.0.0.1:443 (ipv4) in 23.0 ms"),
        "{text}"
    );
    for expected in [
        "    0.0 ms  AAAA query sent",
        "    0.0 ms  A query sent",
        "    5.0 ms  A ok: 127.0.0.1",
        "   10.0 ms  AAAA ok: ::1",
        "   10.0 ms  #0 connect [::1]:443",
        "   12.0 ms  #0 refused (connection refused)",
        "   20.0 ms  #1 connect 127.0.0.1:443",
        "   23.0 ms  #1 connected",
    ] {
        assert!(lines.contains(&expected), "{expected:?} missing:\n{text}");
    }
    // The body is the timeline's entries, one a line, in order.
    let entries: Vec<String> = report.timeline().map(|e| e.to_string()).collect();
    assert_eq!(&lines[1..lines.len() - 1], entries.as_slice());
    let attempt_events = report
        .timeline()
        .filter(|e| matches!(e.event, TimelineEvent::AttemptEnded { .. }))
        .count();
    assert_eq!(attempt_events, 2);
}

#[test]
fn error_text_with_line_breaks_stays_on_its_line() {
    let race = simulate(
        Scenario::target(Target::addresses([sa("[::1]:443")]).unwrap())
            .default_behavior(Behavior::Fails(FailureKind::Other, ms(1))),
    );
    let error = io::Error::other("certificate for evil\ninjected line\u{1b}[31m");
    let report = Report::new(race, vec![Some(Arc::new(error))]);
    let text = report.to_string();
    assert!(
        text.contains("#0 error (certificate for evil\\ninjected line\\u{1b}[31m)"),
        "{text}"
    );
    // Header, two events, verdict: nothing else broke a line.
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.ends_with("failed after 1.0 ms: every connection attempt failed"));
    assert_eq!(report.cause(), Some(Cause::Other));
}

#[test]
fn failed_races_have_their_cause() {
    let refused = simulate(
        Scenario::target(Target::addresses([sa("127.0.0.1:1"), sa("127.0.0.2:1")]).unwrap())
            .default_behavior(Behavior::refuses(ms(1))),
    );
    assert_eq!(Report::from(refused).cause(), Some(Cause::Refused));

    let mixed = simulate(
        Scenario::target(Target::addresses([sa("127.0.0.1:1"), sa("127.0.0.2:1")]).unwrap())
            .behavior("127.0.0.1", Behavior::refuses(ms(1)))
            .behavior("127.0.0.2", Behavior::unreachable(ms(1))),
    );
    assert_eq!(Report::from(mixed).cause(), Some(Cause::Other));

    let nxdomain = simulate(
        Scenario::host("missing.test", 80)
            .dns(
                RecordType::Aaaa,
                ms(1),
                eyeballs::proto::DnsResult::NxDomain,
            )
            .dns(RecordType::A, ms(1), eyeballs::proto::DnsResult::NxDomain),
    );
    let report = Report::from(nxdomain);
    assert_eq!(report.cause(), Some(Cause::NoSuchName));
    assert!(
        report.to_string().contains("    1.0 ms  AAAA nxdomain"),
        "{report}"
    );
}

#[test]
fn a_race_that_never_ends_says_so_with_its_last_event() {
    // A black hole and no timeout: the simulation stops with the race still waiting.
    let mut config = eyeballs::Config::default();
    config.attempt_timeout = None;
    config.overall_timeout = None;
    let race = simulate(
        Scenario::target(Target::addresses([sa("127.0.0.1:80")]).unwrap())
            .config(config)
            .default_behavior(Behavior::BlackHole),
    );
    let report = Report::from(race);
    assert_eq!(report.outcome(), None);
    assert_eq!(report.elapsed(), None);
    assert_eq!(report.span(), Duration::ZERO);
    assert_eq!(report.verdict().to_string(), "not finished after 0.0 ms");
    assert!(report.to_string().contains("#0 connect 127.0.0.1:80"));
}
