//! The report: the race's timeline, kept as it goes.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario, Simulation};
use eyeballs_proto::{AttemptEnd, DnsOutcome, Event, FailureKind, RecordType, Report, Target};

/// The timeline as lines `"<ms> <what>"`.
fn timeline(r: &Report) -> Vec<String> {
    r.timeline()
        .into_iter()
        .map(|(t, e)| {
            let what = match e {
                Event::QuerySent(id) => format!("sent {}", r.queries[id.index()].record),
                Event::QueryEnded(id) => format!(
                    "{} {}",
                    r.queries[id.index()].record,
                    r.queries[id.index()].outcome.unwrap()
                ),
                Event::AttemptStarted(id) => {
                    format!("start {id} {}", r.attempts[id.index()].endpoint)
                }
                Event::AttemptEnded(id) => {
                    format!("{id} {}", r.attempts[id.index()].end.unwrap())
                }
                Event::Finished => "finished".to_owned(),
                _ => unreachable!(),
            };
            format!("{} {what}", t.as_millis())
        })
        .collect()
}

fn run(s: Scenario) -> Simulation {
    s.run().expect("scenario sets up")
}

#[test]
fn timeline_lists_every_event_in_causal_order() {
    let sim = Scenario::host("example.test", 443)
        .answer(RecordType::A, ms(5), ["192.0.2.1", "192.0.2.2"])
        .answer(RecordType::Aaaa, ms(20), ["2001:db8::1"])
        .behavior("192.0.2.1", Behavior::refuses(ms(10)))
        .behavior("192.0.2.2", Behavior::Connects(ms(30)))
        .run()
        .unwrap();
    let r = &sim.report;
    let got = timeline(r);
    assert_eq!(
        got,
        [
            "0 sent AAAA",
            "0 sent A",
            "5 A ok",
            "20 AAAA ok",
            "20 start #0 [2001:db8::1]:443",
            "270 start #1 192.0.2.1:443",
            "280 #1 refused",
            "280 start #2 192.0.2.2:443",
            "310 #2 connected",
            "310 #0 aborted",
            "310 finished",
        ]
    );
    assert_eq!(
        r.attempts
            .iter()
            .map(|a| a.end.unwrap())
            .collect::<Vec<_>>(),
        [
            AttemptEnd::Aborted,
            AttemptEnd::Failed(FailureKind::Refused),
            AttemptEnd::Connected
        ]
    );
    assert_eq!(r.queries[0].outcome, Some(DnsOutcome::Addresses));
    assert_eq!(
        r.winner().unwrap().endpoint.addr.to_string(),
        "192.0.2.2:443"
    );
    assert_eq!(r.dropped_endpoints, 0);
}

#[test]
fn outcome_names_match_the_cli_vocabulary() {
    assert_eq!(
        AttemptEnd::Failed(FailureKind::Unreachable).as_str(),
        "unreachable"
    );
    assert_eq!(
        AttemptEnd::Failed(FailureKind::TimedOut).as_str(),
        "timeout"
    );
    assert_eq!(AttemptEnd::TimedOut.as_str(), "timeout");
    assert_eq!(AttemptEnd::Failed(FailureKind::Other).as_str(), "error");
    assert_eq!(DnsOutcome::NxDomain.as_str(), "nxdomain");
    assert_eq!(DnsOutcome::Addresses.as_str(), "ok");
}

#[test]
fn timeline_lists_an_attempt_start_before_its_own_end_at_the_same_instant() {
    // Refused and connected the instant they start (Behavior after 0 ms).
    let target =
        Target::addresses([sa("[2001:db8::a]:443"), sa("192.0.2.1:443")]).expect("valid addresses");
    let sim = run(Scenario::target(target)
        .behavior("2001:db8::a", Behavior::refuses(ms(0)))
        .behavior("192.0.2.1", Behavior::Connects(ms(0))));
    assert_eq!(
        timeline(&sim.report),
        [
            "0 start #0 [2001:db8::a]:443",
            "0 #0 refused",
            "10 start #1 192.0.2.1:443",
            "10 #1 connected",
            "10 finished",
        ]
    );
}

#[test]
fn timeline_keeps_causal_order_when_an_answer_starts_an_attempt_that_ends_at_once() {
    // Both answers at 5 ms (answers come first at one instant), #0 starts and is refused at
    // once; each next attempt starts at the floor and ends the instant it starts.
    let sim = run(Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(5), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::A, ms(5), ["192.0.2.1"])
        .behavior("2001:db8::a", Behavior::refuses(ms(0)))
        .behavior("192.0.2.1", Behavior::unreachable(ms(0)))
        .behavior("2001:db8::b", Behavior::Connects(ms(0))));
    assert_eq!(
        timeline(&sim.report),
        [
            "0 sent AAAA",
            "0 sent A",
            "5 AAAA ok",
            "5 A ok",
            "5 start #0 [2001:db8::a]:443",
            "5 #0 refused",
            "15 start #1 192.0.2.1:443",
            "15 #1 unreachable",
            "25 start #2 [2001:db8::b]:443",
            "25 #2 connected",
            "25 finished",
        ]
    );
}
