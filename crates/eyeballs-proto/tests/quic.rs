//! QUIC endpoints from service records (HEv3 §5, §6; issue 11 connects them): a record that
//! offers a protocol the caller speaks over QUIC (`Config::quic_alpn`) makes each of its
//! addresses a QUIC endpoint too, and the QUIC and TCP lists alternate so that the second
//! attempt changes protocol and family. Virtual time, exact timestamps.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    Config, DnsResult, Endpoint, Lesson, Protocol, RecordType, ServiceRecord, Target,
};

fn h3_client() -> Config {
    config(|c| {
        c.alpn = vec!["h2".into(), "http/1.1".into()];
        c.quic_alpn = vec!["h3".into()];
    })
}

/// One record for the host speaking h3 and h2; both families answered.
fn dual(record: ServiceRecord) -> Scenario {
    Scenario::target(Target::host("h3.test", 443).unwrap().with_https())
        .config(h3_client())
        .dns(RecordType::Https, ms(1), DnsResult::Services(vec![record]))
        .answer(RecordType::Aaaa, ms(1), ["2001:db8::1"])
        .answer(RecordType::A, ms(1), ["192.0.2.1"])
        .default_behavior(Behavior::BlackHole)
}

/// QUIC first, then TCP over the other family, then QUIC over that family, then TCP over the
/// first: with IPv6 black-holed or UDP blocked, the second attempt gets through.
#[test]
fn quic_and_tcp_alternate_and_the_second_attempt_changes_both() {
    expect(
        dual(ServiceRecord::service(1).with_alpn(["h3", "h2"])),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "1 connect #0 quic://[2001:db8::1]:443",
            "251 connect #1 192.0.2.1:443",
            "501 connect #2 quic://192.0.2.1:443",
            "751 connect #3 [2001:db8::1]:443",
        ],
    );
}

/// An h3-only record (no-default-alpn) gives QUIC endpoints only; the host's addresses stay
/// TCP endpoints of no record, tried last (V3-5.2.4).
#[test]
fn an_h3_only_record_gives_quic_endpoints_and_plain_tcp_goes_last() {
    let mut h3 = ServiceRecord::service(1).with_alpn(["h3"]);
    h3.no_default_alpn = true;
    let sim = dual(h3).run().unwrap();
    let attempts: Vec<String> = sim
        .report
        .attempts
        .iter()
        .map(|a| a.endpoint.to_string())
        .collect();
    assert_eq!(
        attempts,
        [
            "quic://[2001:db8::1]:443",
            "quic://192.0.2.1:443",
            "[2001:db8::1]:443",
            "192.0.2.1:443",
        ]
    );
    assert_eq!(sim.report.attempts[0].service, Some(0));
    assert_eq!(sim.report.attempts[2].service, None, "plain TCP: no record");
}

/// Without `quic_alpn` (the default) nothing is QUIC, whatever the records offer.
#[test]
fn no_quic_endpoints_unless_asked() {
    let sim = dual(ServiceRecord::service(1).with_alpn(["h3", "h2"]))
        .config(config(|c| c.alpn = vec!["h2".into()]))
        .run()
        .unwrap();
    assert!(sim
        .report
        .attempts
        .iter()
        .all(|a| a.endpoint.protocol == Protocol::Tcp));
}

/// A QUIC endpoint connects and wins like any other; its record is named.
#[test]
fn a_quic_endpoint_can_win() {
    let sim = expect(
        dual(ServiceRecord::service(1).with_alpn(["h3", "h2"]))
            .behavior("2001:db8::1", Behavior::Connects(ms(4))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "1 connect #0 quic://[2001:db8::1]:443",
            "5 done connected #0",
        ],
    );
    assert_eq!(
        sim.report.winner().map(|a| a.endpoint.protocol),
        Some(Protocol::Quic)
    );
    // A QUIC win teaches its QUIC endpoint's handshake time (V3-6.5), not the TCP one's.
    let lessons: Vec<Lesson> = sim.report.lessons().collect();
    assert_eq!(
        lessons,
        [Lesson::Connected {
            endpoint: Endpoint {
                addr: sa("[2001:db8::1]:443"),
                protocol: Protocol::Quic
            },
            rtt: ms(4)
        }]
    );
}

/// `Config::services` (an Alt-Svc `h3=":443"`, or configuration): an IP literal gets a QUIC
/// endpoint with no DNS at all, QUIC first, TCP at the Connection Attempt Delay.
#[test]
fn known_services_give_a_literal_quic_endpoints() {
    let scenario = Scenario::target(Target::host("192.0.2.1", 443).unwrap())
        .config(config(|c| {
            c.alpn = vec!["h2".into()];
            c.quic_alpn = vec!["h3".into()];
            c.services = vec![ServiceRecord::service(1).with_alpn(["h3", "h2"])];
        }))
        .default_behavior(Behavior::BlackHole);
    let sim = expect(
        scenario,
        &[
            "0 connect #0 quic://192.0.2.1:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
    assert_eq!(sim.report.services.len(), 1, "the known record is reported");
    assert_eq!(sim.report.attempts[0].service, Some(0));
    assert_eq!(sim.report.attempts[1].service, Some(0));
}

/// A known record for a host name counts from the start beside the HTTPS answer's: with no
/// HTTPS query, the race starts on the first address answer with QUIC first. The record
/// speaks h3 and (by default) http/1.1, and the caller only h2 over TCP: its TCP endpoints
/// belong to no record and go after both QUIC ones (V3-6.2.2, V3-5.2.4).
#[test]
fn known_services_for_a_host_need_no_https_query() {
    let scenario = Scenario::target(Target::host("h3.test", 443).unwrap())
        .config(config(|c| {
            c.alpn = vec!["h2".into()];
            c.quic_alpn = vec!["h3".into()];
            c.services = vec![ServiceRecord::service(1).with_alpn(["h3"])];
        }))
        .answer(RecordType::Aaaa, ms(1), ["2001:db8::1"])
        .answer(RecordType::A, ms(1), ["192.0.2.1"])
        .default_behavior(Behavior::BlackHole);
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 quic://[2001:db8::1]:443",
            "251 connect #1 quic://192.0.2.1:443",
            "501 connect #2 [2001:db8::1]:443",
            "751 connect #3 192.0.2.1:443",
        ],
    );
}

/// AliasMode records and other target names mean nothing for a list of addresses, and a
/// record the caller cannot speak (V3-6.2.2) makes no QUIC endpoint.
#[test]
fn known_services_that_do_not_apply_are_ignored() {
    let scenario = Scenario::target(Target::host("192.0.2.1", 443).unwrap())
        .config(config(|c| {
            c.quic_alpn = vec!["h3".into()];
            c.services = vec![
                ServiceRecord::alias("elsewhere.test"),
                ServiceRecord::service(1)
                    .with_alpn(["h3"])
                    .with_target("other.test"),
            ];
        }))
        .default_behavior(Behavior::BlackHole);
    let sim = expect(scenario, &["0 connect #0 192.0.2.1:443"]);
    assert!(sim.report.services.is_empty());
}

/// UDP blocked, TCP fine, on the same addresses (`quic://` behaviours): QUIC over IPv6
/// first, TCP over IPv4 at the Connection Attempt Delay wins; the race teaches that the QUIC
/// endpoint stalled and nothing against TCP to the same address (V3-6.5: history keyed by
/// protocol).
#[test]
fn udp_blocked_on_addresses_whose_tcp_works() {
    let sim = expect(
        dual(ServiceRecord::service(1).with_alpn(["h3", "h2"]))
            .behavior("quic://2001:db8::1", Behavior::BlackHole)
            .behavior("quic://192.0.2.1", Behavior::BlackHole)
            .default_behavior(Behavior::Connects(ms(10))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "1 connect #0 quic://[2001:db8::1]:443",
            "251 connect #1 192.0.2.1:443",
            "261 abort #0",
            "261 done connected #1",
        ],
    );
    let lessons: Vec<String> = sim.report.lessons().map(|l| format!("{:?}", l)).collect();
    assert_eq!(lessons.len(), 2, "{lessons:?}");
    assert!(
        lessons[0].contains("Quic") && lessons[0].contains("Stalled"),
        "{lessons:?}"
    );
    assert!(
        lessons[1].contains("Connected") && lessons[1].contains("Tcp"),
        "{lessons:?}"
    );
}

/// The most specific behaviour wins: a protocol's before both protocols', an exact socket
/// address before an IP.
#[test]
fn behaviours_by_protocol_and_address() {
    let scenario = Scenario::target(Target::host("192.0.2.1", 443).unwrap())
        .config(config(|c| {
            c.alpn = vec!["h2".into()];
            c.quic_alpn = vec!["h3".into()];
            c.services = vec![ServiceRecord::service(1).with_alpn(["h3", "h2"])];
        }))
        .behavior("192.0.2.1", Behavior::Connects(ms(50)))
        .behavior("quic://192.0.2.1:443", Behavior::refuses(ms(2)))
        .behavior("tcp://192.0.2.1", Behavior::Connects(ms(20)))
        .behavior("udp://192.0.2.1", Behavior::BlackHole);
    expect(
        scenario,
        &[
            "0 connect #0 quic://192.0.2.1:443",
            "10 connect #1 192.0.2.1:443",
            "30 done connected #1",
        ],
    );
}
