//! The report: the race's timeline, kept as it goes.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{AttemptEnd, DnsOutcome, Event, FailureKind, RecordType};

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
    let got: Vec<String> = r
        .timeline()
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
        .collect();
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
