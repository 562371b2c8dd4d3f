//! The destination policy (`Config::destinations`) inside the engine: DNS answers and the
//! caller's addresses checked alike, refused addresses never attempted and never counted
//! under the endpoint cap, every refusal in the report with its reason. Virtual time, exact
//! timestamps.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    Denial, DestinationPolicy, DnsOutcome, DnsResult, DropReason, RecordType, Reserved, SetupError,
    Target, TargetError,
};

fn restricted() -> eyeballs_proto::Config {
    config(|c| c.destinations = DestinationPolicy::restricted())
}

/// DNS rebinding: a name whose answers point inside (loopback, cloud metadata, an IPv4
/// address behind the NAT64 Well-Known Prefix) gets none of them attempted; the public
/// address is.
#[test]
fn refused_answers_are_dropped_with_their_reason_and_the_rest_raced() {
    let scenario = Scenario::host("rebind.test", 80)
        .config(restricted())
        .answer(
            RecordType::Aaaa,
            ms(0),
            ["::1", "64:ff9b::169.254.169.254", "2001:db8::1"],
        )
        .answer(RecordType::A, ms(0), ["127.0.0.1", "169.254.169.254"])
        .default_behavior(Behavior::Connects(ms(5)));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::1]:80",
            "5 done connected #0",
        ],
    );
    let aaaa = &sim.report.queries[0];
    assert_eq!(aaaa.addresses, [ip("2001:db8::1")]);
    assert_eq!(
        aaaa.dropped,
        [
            (ip("::1"), denied(Reserved::Loopback)),
            (ip("64:ff9b::a9fe:a9fe"), denied(Reserved::LinkLocal)),
        ]
    );
    let a = &sim.report.queries[1];
    assert_eq!(
        a.outcome,
        Some(DnsOutcome::NoData),
        "nothing usable: NODATA"
    );
    assert_eq!(a.dropped.len(), 2);
    assert_eq!(
        a.dropped[1].1.to_string(),
        "denied: link-local (169.254.0.0/16, fe80::/10)"
    );
}

/// Every answer refused: resolution gave no usable address.
#[test]
fn a_name_whose_every_address_is_refused_resolves_to_nothing() {
    let scenario = Scenario::host("inside.test", 80)
        .config(restricted())
        .answer(RecordType::Aaaa, ms(0), ["::1"])
        .answer(RecordType::A, ms(3), ["127.0.0.1"]);
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "3 done failed: name resolution gave no usable address",
        ],
    );
    assert!(sim.report.attempts.is_empty());
}

/// Refused addresses take no place under the endpoint cap: with a cap of 2 and an answer
/// whose first two addresses are refused, the third and fourth are used.
#[test]
fn refused_addresses_do_not_count_under_the_cap() {
    let scenario = Scenario::host("capped.test", 80)
        .config(config(|c| {
            c.destinations = DestinationPolicy::restricted();
            c.max_endpoints = 2;
        }))
        .answer(
            RecordType::A,
            ms(0),
            ["127.0.0.1", "127.0.0.2", "192.0.2.1", "192.0.2.2"],
        )
        .dns(RecordType::Aaaa, ms(0), DnsResult::NoData)
        .default_behavior(Behavior::refuses(ms(1)));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 192.0.2.1:80",
            "10 connect #1 192.0.2.2:80",
            "11 done failed: every connection attempt failed",
        ],
    );
    assert_eq!(sim.report.queries[1].beyond_cap, 0);
}

/// The caller's addresses: refused ones are recorded and skipped; all refused is the
/// caller's error, naming the first address and why.
#[test]
fn the_callers_addresses_are_checked_too() {
    let target = Target::addresses([sa("169.254.169.254:80"), sa("192.0.2.1:80")]).unwrap();
    let sim = expect(
        Scenario::target(target)
            .config(restricted())
            .default_behavior(Behavior::Connects(ms(2))),
        &["0 connect #0 192.0.2.1:80", "2 done connected #0"],
    );
    assert_eq!(
        sim.report.denied,
        [(sa("169.254.169.254:80"), denied_by(Reserved::LinkLocal))]
    );

    let literal = Scenario::host("::ffff:127.0.0.1", 8080).config(restricted());
    match literal.run() {
        Err(SetupError::Target(TargetError::Denied { addr, denial })) => {
            assert_eq!(addr, sa("127.0.0.1:8080"));
            assert_eq!(denial, denied_by(Reserved::Loopback));
        }
        other => panic!("a refused literal must be the caller's error: {other:?}"),
    }
    let message = Scenario::host("127.0.0.1", 8080)
        .config(restricted())
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("127.0.0.1:8080 is refused by the destination policy: denied: loopback"),
        "{message}"
    );
}

/// A rule for one endpoint (the proxy's own address) refuses that port only: an address
/// answered for two ports is attempted on the other, and the refusal is in the report.
#[test]
fn an_endpoint_rule_refuses_one_port_of_an_answered_address() {
    let policy = DestinationPolicy::restricted().deny_endpoint(sa("192.0.2.1:1080"));
    let target = Target::host_with_ports("self.test", &[1080, 8080]).unwrap();
    let sim = expect(
        Scenario::target(target)
            .config(config(|c| c.destinations = policy))
            .answer(RecordType::A, ms(0), ["192.0.2.1"])
            .dns(RecordType::Aaaa, ms(0), DnsResult::NoData)
            .default_behavior(Behavior::Connects(ms(2))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 192.0.2.1:8080",
            "2 done connected #0",
        ],
    );
    assert_eq!(sim.report.queries[1].addresses, [ip("192.0.2.1")]);
    assert_eq!(sim.report.denied.len(), 1);
    assert_eq!(sim.report.denied[0].0, sa("192.0.2.1:1080"));
}

/// The default policy allows everything (a library connects where it is told).
#[test]
fn the_default_policy_refuses_nothing() {
    expect(
        Scenario::host("127.0.0.1", 80).default_behavior(Behavior::Connects(ms(1))),
        &["0 connect #0 127.0.0.1:80", "1 done connected #0"],
    );
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

fn denied_by(range: Reserved) -> Denial {
    Denial::Reserved(range)
}

fn denied(range: Reserved) -> DropReason {
    DropReason::Denied(denied_by(range))
}
