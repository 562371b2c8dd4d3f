//! Service groups (HEv3 §5.2) and ALPN filtering (V3-6.2.2): the endpoints of each
//! ServiceMode record tried together, groups in priority order, equal priorities in the
//! seed's order, addresses no record speaks for last, and records the caller cannot speak
//! to not used. Virtual time, exact timestamps.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario, Simulation};
use eyeballs_proto::{DnsResult, RecordType, ServiceRecord, Target};

fn https(name: &str) -> Scenario {
    Scenario::target(Target::host(name, 443).unwrap().with_https())
}

/// A ServiceMode record for `target` with one IPv6 hint.
fn hinted(priority: u16, target: &str, hint: &str) -> ServiceRecord {
    ServiceRecord::service(priority)
        .with_target(target)
        .with_hints([hint.parse().unwrap()], [])
}

/// The origin has no addresses and the records' targets never answer (an answer would
/// replace their hints, V3-7.1): only hints race.
fn only_hints(records: Vec<ServiceRecord>) -> Scenario {
    https("svc.test")
        .dns(RecordType::Https, ms(1), DnsResult::Services(records))
        .dns(RecordType::Aaaa, ms(1), DnsResult::NoData)
        .dns(RecordType::A, ms(1), DnsResult::NoData)
        .default_behavior(Behavior::BlackHole)
}

fn connects(sim: &Simulation) -> Vec<String> {
    sim.report
        .attempts
        .iter()
        .map(|a| a.endpoint.addr.ip().to_string())
        .collect()
}

/// V3-5.2.1, V3-5.2.2: all of the priority-1 record's endpoints before the priority-2 one's,
/// whatever the answer order and RFC 6724 would say (IPv4 of priority 1 before IPv6 of 2).
#[test]
fn v3_5_2_2_the_lower_priority_group_goes_first() {
    let a = ServiceRecord::service(2)
        .with_target("a.test")
        .with_hints(["2001:db8::a".parse().unwrap()], []);
    let b = ServiceRecord::service(1)
        .with_target("b.test")
        .with_hints([], ["192.0.2.2".parse().unwrap()]);
    let sim = only_hints(vec![a, b]).run().unwrap();
    assert_eq!(connects(&sim), ["192.0.2.2", "2001:db8::a"]);
    // Each attempt names its record (the report's services, in answer order).
    let services: Vec<_> = sim.report.attempts.iter().map(|a| a.service).collect();
    assert_eq!(services, [Some(1), Some(0)]);
}

/// V3-5.2.3: records of equal priority come in an order drawn from the seed: the same seed,
/// the same order; over seeds, both orders.
#[test]
fn v3_5_2_3_equal_priorities_follow_the_seed() {
    let records = vec![
        hinted(1, "a.test", "2001:db8::a"),
        hinted(1, "b.test", "2001:db8::b"),
    ];
    let first_of = |seed: u64| {
        let sim = only_hints(records.clone())
            .config(config(|c| c.service_seed = seed))
            .run()
            .unwrap();
        connects(&sim)[0].clone()
    };
    assert_eq!(first_of(42), first_of(42));
    let leaders: std::collections::BTreeSet<String> = (0..16).map(first_of).collect();
    assert_eq!(leaders.len(), 2, "both orders over 16 seeds: {leaders:?}");
}

/// V3-5.2.4: with HTTPS records for another target only, the origin's own A/AAAA answers
/// (associated with no record) come after that target's endpoints.
#[test]
fn v3_5_2_4_unassociated_addresses_go_last() {
    let alt = hinted(1, "alt.test", "2001:db8::a");
    let sim = expect(
        https("origin.test")
            .dns(RecordType::Https, ms(1), DnsResult::Services(vec![alt]))
            .answer(RecordType::Aaaa, ms(1), ["2001:db8::1"])
            .dns(RecordType::A, ms(1), DnsResult::NoData)
            .dns_for("alt.test", RecordType::Aaaa, ms(1), DnsResult::NoData)
            .dns_for("alt.test", RecordType::A, ms(1), DnsResult::NoData)
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "1 resolve q3 AAAA",
            "1 resolve q4 A",
            "1 connect #0 [2001:db8::a]:443",
            "251 connect #1 [2001:db8::1]:443",
        ],
    );
    assert_eq!(sim.report.attempts[1].service, None);
}

/// V3-5.3.1, V3-5.3.7: inside a group, RFC 6724 and family interleaving as in RFC 8305.
#[test]
fn v3_5_3_7_families_interleave_inside_a_group() {
    let svc = ServiceRecord::service(1).with_hints(
        [
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        ],
        ["192.0.2.1".parse().unwrap()],
    );
    let low = hinted(2, "low.test", "2001:db8::9");
    let sim = https("svc.test")
        .dns(
            RecordType::Https,
            ms(1),
            DnsResult::Services(vec![svc, low]),
        )
        .default_behavior(Behavior::BlackHole)
        .run()
        .unwrap();
    assert_eq!(
        connects(&sim),
        ["2001:db8::1", "192.0.2.1", "2001:db8::2", "2001:db8::9"]
    );
}

/// V3-6.2.2: a record none of whose protocols the caller speaks is not used: no queries for
/// its target, no attempts to its hints. `http/1.1` is every HTTPS record's default protocol
/// unless `no-default-alpn` (RFC 9460 §7.1.2).
#[test]
fn v3_6_2_2_a_record_the_caller_cannot_speak_is_skipped() {
    let mut h3_only = hinted(1, "quic.test", "2001:db8::3");
    h3_only.alpn = vec!["h3".into()];
    h3_only.no_default_alpn = true;
    let h2 = hinted(2, "tcp.test", "2001:db8::2").with_alpn(["h2"]);
    let sim = only_hints(vec![h3_only.clone(), h2.clone()])
        .config(config(|c| c.alpn = vec!["h2".into(), "http/1.1".into()]))
        .run()
        .unwrap();
    assert_eq!(connects(&sim), ["2001:db8::2"]);
    assert!(
        !sim.report
            .queries
            .iter()
            .any(|q| q.name.as_deref() == Some("quic.test")),
        "the skipped record's target is not asked about"
    );
    assert_eq!(sim.report.services.len(), 2, "both records are reported");

    // Without a stated ALPN list, every record is used.
    let sim = only_hints(vec![h3_only.clone(), h2]).run().unwrap();
    assert_eq!(connects(&sim), ["2001:db8::3", "2001:db8::2"]);

    // The default protocol counts: without no-default-alpn, an h3 record speaks http/1.1.
    h3_only.no_default_alpn = false;
    let sim = only_hints(vec![h3_only])
        .config(config(|c| c.alpn = vec!["http/1.1".into()]))
        .run()
        .unwrap();
    assert_eq!(connects(&sim), ["2001:db8::3"]);
}

/// V3-5.1.1: with no service records there is one group: the RFC 8305 order.
#[test]
fn v3_5_1_1_no_records_one_group() {
    expect(
        https("plain.test")
            .dns(RecordType::Https, ms(1), DnsResult::NoData)
            .answer(RecordType::Aaaa, ms(1), ["2001:db8::1"])
            .answer(RecordType::A, ms(1), ["192.0.2.1"])
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "1 connect #0 [2001:db8::1]:443",
            "251 connect #1 192.0.2.1:443",
        ],
    );
}
