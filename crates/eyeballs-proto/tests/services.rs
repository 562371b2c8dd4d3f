//! HTTPS queries (HEv3 §4.1, §4.2, §4.2.1): the query order, the start conditions with
//! service information (sets A and B), AliasMode followed, the owner's hints, and the worked
//! timelines of the checklist (§4.2.2) T1–T6 and T8 (T7, other target names, is planned).
//! Virtual time, exact timestamps; all queries are sent at t = 0.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    DnsOutcome, DnsResult, Network, RecordType, ServiceRecord, Target, MAX_ALIAS_CHAIN,
};

fn https(name: &str, port: u16) -> Scenario {
    Scenario::target(Target::host(name, port).unwrap().with_https())
}

/// A positive HTTPS answer: one ServiceMode record for the owner name, no hints.
fn service() -> DnsResult {
    DnsResult::Services(vec![ServiceRecord::service(1).with_alpn(["h2", "http/1.1"])])
}

/// V3-4.1.2, V3-4.1.3: HTTPS, AAAA, A, all at once and in that order.
#[test]
fn v3_4_1_3_https_then_aaaa_then_a() {
    let sim = expect(
        https("svc.test", 443)
            .dns(RecordType::Https, ms(1), service())
            .answer(RecordType::Aaaa, ms(1), ["2001:db8::1"])
            .default_behavior(Behavior::Connects(ms(2))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "1 connect #0 [2001:db8::1]:443",
            "3 cancel-resolve q2",
            "3 done connected #0",
        ],
    );
    assert_eq!(sim.report.queries[0].name.as_deref(), Some("svc.test"));
    assert_eq!(sim.report.services.len(), 1);
    assert_eq!(sim.report.services[0].alpn, ["h2", "http/1.1"]);
}

/// RFC 9460 §9.1: another port than 443 asks `_PORT._https.HOST`.
#[test]
fn the_https_query_of_another_port_names_it() {
    let sim = https("svc.test", 8443)
        .dns(RecordType::Https, ms(0), DnsResult::NoData)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::1"])
        .default_behavior(Behavior::Connects(ms(1)))
        .run()
        .unwrap();
    assert_eq!(
        sim.report.queries[0].name.as_deref(),
        Some("_8443._https.svc.test")
    );
    assert_eq!(
        sim.report.queries[1].name, None,
        "AAAA asks the host itself"
    );
}

/// T1: HTTPS (no hints) and AAAA at 30, A at 32: IPv6 starts at 30; at 32 IPv4 joins,
/// interleaved (second).
#[test]
fn t1_https_and_aaaa_at_30_a_at_32() {
    expect(
        https("t1.test", 443)
            .dns(RecordType::Https, ms(30), service())
            .answer(RecordType::Aaaa, ms(30), ["2001:db8::1", "2001:db8::2"])
            .answer(RecordType::A, ms(32), ["192.0.2.1"])
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "30 connect #0 [2001:db8::1]:443",
            "280 connect #1 192.0.2.1:443",
            "530 connect #2 [2001:db8::2]:443",
        ],
    );
}

/// T2: HTTPS and A at 30, AAAA at 40: the Resolution Delay starts at 30; AAAA at 40 completes
/// set A: start at 40, IPv6 first.
#[test]
fn t2_https_and_a_at_30_aaaa_at_40() {
    expect(
        https("t2.test", 443)
            .dns(RecordType::Https, ms(30), service())
            .answer(RecordType::A, ms(30), ["192.0.2.1"])
            .answer(RecordType::Aaaa, ms(40), ["2001:db8::1"])
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "40 connect #0 [2001:db8::1]:443",
            "290 connect #1 192.0.2.1:443",
        ],
    );
}

/// T3: HTTPS and A at 30, AAAA at 180: set B at 80 (the Resolution Delay) starts IPv4; IPv6
/// joins at 180 (V3-4.3.1) and goes next.
#[test]
fn t3_https_and_a_at_30_aaaa_at_180() {
    expect(
        https("t3.test", 443)
            .dns(RecordType::Https, ms(30), service())
            .answer(RecordType::A, ms(30), ["192.0.2.1", "192.0.2.2"])
            .answer(RecordType::Aaaa, ms(180), ["2001:db8::1"])
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "80 connect #0 192.0.2.1:443",
            "330 connect #1 [2001:db8::1]:443",
            "580 connect #2 192.0.2.2:443",
        ],
    );
}

/// T4: AAAA and A at 30, HTTPS at 40: service information completes set A at 40.
#[test]
fn t4_addresses_at_30_https_at_40() {
    expect(
        https("t4.test", 443)
            .dns(RecordType::Https, ms(40), service())
            .answer(RecordType::Aaaa, ms(30), ["2001:db8::1"])
            .answer(RecordType::A, ms(30), ["192.0.2.1"])
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "40 connect #0 [2001:db8::1]:443",
            "290 connect #1 192.0.2.1:443",
        ],
    );
}

/// T5 (V3-4.2.1): AAAA and A at 30, HTTPS never: set B at 80.
#[test]
fn t5_addresses_at_30_https_never() {
    expect(
        https("t5.test", 443)
            .answer(RecordType::Aaaa, ms(30), ["2001:db8::1"])
            .answer(RecordType::A, ms(30), ["192.0.2.1"])
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "80 connect #0 [2001:db8::1]:443",
            "85 cancel-resolve q0",
            "85 done connected #0",
        ],
    );
}

/// T8 (V3-4.1.1, V3-4.2.5): an IPv4-only network sends HTTPS and A; A at 30, HTTPS at 40:
/// IPv4 starts at 40.
#[test]
fn t8_ipv4_only_a_at_30_https_at_40() {
    expect(
        https("t8.test", 443)
            .config(config(|c| c.network = Network::ipv4_only()))
            .dns(RecordType::Https, ms(40), service())
            .answer(RecordType::A, ms(30), ["192.0.2.1"])
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 A",
            "40 connect #0 192.0.2.1:443",
            "45 done connected #0",
        ],
    );
}

/// V3-4.2.4: a negative HTTPS answer (NXDOMAIN here) is service information too.
#[test]
fn v3_4_2_4_a_negative_https_answer_completes_set_a() {
    let sim = expect(
        https("neg.test", 443)
            .dns(RecordType::Https, ms(10), DnsResult::NxDomain)
            .answer(RecordType::Aaaa, ms(5), ["2001:db8::1"])
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "10 connect #0 [2001:db8::1]:443",
            "15 cancel-resolve q2",
            "15 done connected #0",
        ],
    );
    assert!(sim.report.services.is_empty());
}

/// V3-4.2.1.1: an answer of AliasMode records only is not service information; the alias
/// target is asked (here at 10, answered at 20), and its ServiceMode answer completes set A.
#[test]
fn v3_4_2_1_1_an_alias_is_followed_before_the_race_starts() {
    let sim = expect(
        https("alias.test", 443)
            .dns(
                RecordType::Https,
                ms(10),
                DnsResult::Services(vec![ServiceRecord::alias("pool.test.")]),
            )
            .dns_for("pool.test", RecordType::Https, ms(10), service())
            .answer(RecordType::Aaaa, ms(5), ["2001:db8::1"])
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "10 resolve q3 HTTPS",
            // The alias target's ServiceMode "." names the alias target itself (its owner):
            // its addresses are asked (V3-4.2.1.2).
            "20 resolve q4 AAAA",
            "20 resolve q5 A",
            "20 connect #0 [2001:db8::1]:443",
            "25 cancel-resolve q2",
            "25 cancel-resolve q4",
            "25 cancel-resolve q5",
            "25 done connected #0",
        ],
    );
    assert_eq!(sim.report.queries[3].name.as_deref(), Some("pool.test"));
    assert_eq!(sim.report.queries[4].name.as_deref(), Some("pool.test"));
    assert_eq!(sim.report.services.len(), 1);
}

/// An alias chain that loops (or grows past `MAX_ALIAS_CHAIN`) ends with no service
/// information: the race does not wait for it any more.
#[test]
fn an_alias_loop_ends_the_service_lookup() {
    let looping = DnsResult::Services(vec![ServiceRecord::alias("a.test")]);
    let sim = https("a.test", 443)
        .dns(RecordType::Https, ms(1), looping)
        .answer(RecordType::Aaaa, ms(1), ["2001:db8::1"])
        .default_behavior(Behavior::Connects(ms(1)))
        .run()
        .unwrap();
    let https_queries: Vec<_> = sim
        .report
        .queries
        .iter()
        .filter(|q| q.record == RecordType::Https)
        .collect();
    assert_eq!(https_queries.len(), 1, "a.test -> a.test is a loop");
    assert_eq!(https_queries[0].outcome, Some(DnsOutcome::NoData));
    assert!(sim.report.attempts[0].end.is_some());

    // A chain of distinct names stops at the limit.
    let mut chain = https("c0.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::1"])
        .default_behavior(Behavior::Connects(ms(1)));
    chain = chain.dns(
        RecordType::Https,
        ms(1),
        DnsResult::Services(vec![ServiceRecord::alias("c1.test")]),
    );
    for i in 1..=MAX_ALIAS_CHAIN + 2 {
        chain = chain.dns_for(
            &format!("c{i}.test"),
            RecordType::Https,
            ms(1),
            DnsResult::Services(vec![ServiceRecord::alias(&format!("c{}.test", i + 1))]),
        );
    }
    let sim = chain.run().unwrap();
    let asked = sim
        .report
        .queries
        .iter()
        .filter(|q| q.record == RecordType::Https)
        .count();
    assert_eq!(
        asked,
        MAX_ALIAS_CHAIN + 1,
        "the first query and the chain's limit"
    );
    assert!(sim.report.attempts.first().is_some_and(|a| a.end.is_some()));
}

/// An IP literal has no name to ask about: no HTTPS query.
#[test]
fn a_literal_target_sends_no_https_query() {
    expect(
        Scenario::target(Target::host("192.0.2.1", 443).unwrap().with_https())
            .default_behavior(Behavior::Connects(ms(1))),
        &["0 connect #0 192.0.2.1:443", "1 done connected #0"],
    );
}

/// A ServiceMode record for the owner with hints.
fn hinted(v6: &[&str], v4: &[&str]) -> ServiceRecord {
    ServiceRecord::service(1).with_hints(
        v6.iter().map(|s| s.parse().unwrap()),
        v4.iter().map(|s| s.parse().unwrap()),
    )
}

/// T6 (V3-4.2.1.3): HTTPS with ipv6hint and ipv4hint at 30, AAAA and A pending: the race
/// starts at 30 on the hints, IPv6 first.
#[test]
fn t6_hints_at_30_start_the_race() {
    expect(
        https("t6.test", 443)
            .dns(
                RecordType::Https,
                ms(30),
                DnsResult::Services(vec![hinted(&["2001:db8::6"], &["192.0.2.6"])]),
            )
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "30 connect #0 [2001:db8::6]:443",
            "280 connect #1 192.0.2.6:443",
            // AAAA and A never answer: the resolve timeout (10 s) ends them.
            "10000 cancel-resolve q1",
            "10000 cancel-resolve q2",
        ],
    );
}

/// V3-4.2.1.4, V3-7.1, V3-7.2: the owner's AAAA answer replaces the IPv6 hints: a hint it
/// does not list goes if not yet attempted; an attempted one carries on.
#[test]
fn v3_7_1_the_address_answer_replaces_the_hints_of_its_family() {
    let sim = expect(
        https("replace.test", 443)
            .dns(
                RecordType::Https,
                ms(10),
                DnsResult::Services(vec![hinted(&["2001:db8::1", "2001:db8::2"], &[])]),
            )
            .answer(RecordType::Aaaa, ms(20), ["2001:db8::1", "2001:db8::3"])
            .dns(RecordType::A, ms(20), DnsResult::NoData)
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "10 connect #0 [2001:db8::1]:443",
            "260 connect #1 [2001:db8::3]:443",
        ],
    );
    assert!(
        sim.report
            .attempts
            .iter()
            .all(|a| a.endpoint.addr.ip() != "2001:db8::2".parse::<std::net::IpAddr>().unwrap()),
        "the hint AAAA did not confirm is never attempted"
    );
}

/// V3-4.2.1.5: hints for a family whose address answer is in already are not used.
#[test]
fn v3_4_2_1_5_hints_yield_to_an_answer_already_in() {
    expect(
        https("late.test", 443)
            .answer(RecordType::Aaaa, ms(5), ["2001:db8::1"])
            .dns(RecordType::A, ms(5), DnsResult::NoData)
            .dns(
                RecordType::Https,
                ms(10),
                DnsResult::Services(vec![hinted(&["2001:db8::99"], &[])]),
            )
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "10 connect #0 [2001:db8::1]:443",
        ],
    );
}

/// The record's `port` replaces the target's for its hints.
#[test]
fn a_service_port_is_used_for_its_hints() {
    let mut record = hinted(&["2001:db8::1"], &[]);
    record.port = Some(8443);
    expect(
        https("port.test", 443)
            .dns(RecordType::Https, ms(1), DnsResult::Services(vec![record]))
            .default_behavior(Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "1 connect #0 [2001:db8::1]:8443",
            "2 cancel-resolve q1",
            "2 cancel-resolve q2",
            "2 done connected #0",
        ],
    );
}

/// V3-8.2.4: an ipv4hint on an IPv6-only network with a NAT64 prefix is synthesized.
#[test]
fn v3_8_2_4_an_ipv4_hint_is_synthesized_behind_nat64() {
    let sim = expect(
        https("v4hint.test", 443)
            .config(config(|c| {
                c.network = Network::ipv6_only([eyeballs_proto::Pref64::WELL_KNOWN])
            }))
            .dns(
                RecordType::Https,
                ms(2),
                DnsResult::Services(vec![hinted(&[], &["192.0.2.1"])]),
            )
            .dns(RecordType::Aaaa, ms(2), DnsResult::NoData)
            .default_behavior(Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "2 connect #0 [64:ff9b::c000:201]:443",
            "3 cancel-resolve q2",
            "3 done connected #0",
        ],
    );
    assert_eq!(
        sim.report.attempts[0].via_nat64,
        Some("192.0.2.1".parse().unwrap())
    );
}

/// T7 (V3-4.2.1.2, V3-4.3.1): HTTPS with "." and "alt" records, AAAA and A at 30: the race
/// starts at 30 on the owner's addresses, AAAA and A for alt go out at 30 (on alt's port),
/// and their answers at 60 join the list.
#[test]
fn t7_another_target_name_gets_its_own_queries() {
    let mut alt = ServiceRecord::service(2).with_target("alt.test.");
    alt.port = Some(8443);
    let sim = expect(
        https("t7.test", 443)
            .dns(
                RecordType::Https,
                ms(30),
                DnsResult::Services(vec![ServiceRecord::service(1), alt]),
            )
            .answer(RecordType::Aaaa, ms(30), ["2001:db8::1"])
            .answer(RecordType::A, ms(30), ["192.0.2.1"])
            .dns_for(
                "alt.test",
                RecordType::Aaaa,
                ms(30),
                DnsResult::addresses(["2001:db8::a".parse().unwrap()]),
            )
            .dns_for("alt.test", RecordType::A, ms(30), DnsResult::NoData)
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "30 resolve q3 AAAA",
            "30 resolve q4 A",
            "30 connect #0 [2001:db8::1]:443",
            "280 connect #1 192.0.2.1:443",
            "530 connect #2 [2001:db8::a]:8443",
        ],
    );
    assert_eq!(sim.report.queries[3].name.as_deref(), Some("alt.test"));
    assert_eq!(
        sim.report.queries[3].ended,
        Some(sim.report.started + ms(60)),
        "alt's AAAA answered at 60"
    );
}

/// V3-4.2.1.3, V3-7.1 for another target: its hints stand in until its own AAAA answer
/// replaces them.
#[test]
fn a_targets_hints_are_replaced_by_its_own_answer() {
    let alt = ServiceRecord::service(1)
        .with_target("alt.test")
        .with_hints(
            [
                "2001:db8::b".parse().unwrap(),
                "2001:db8::c".parse().unwrap(),
            ],
            [],
        );
    expect(
        https("hinted.test", 443)
            .dns(RecordType::Https, ms(5), DnsResult::Services(vec![alt]))
            .dns(RecordType::Aaaa, ms(5), DnsResult::NoData)
            .dns(RecordType::A, ms(5), DnsResult::NoData)
            .dns_for(
                "alt.test",
                RecordType::Aaaa,
                ms(10),
                DnsResult::addresses(["2001:db8::c".parse().unwrap()]),
            )
            .dns_for("alt.test", RecordType::A, ms(10), DnsResult::NoData)
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 HTTPS",
            "0 resolve q1 AAAA",
            "0 resolve q2 A",
            "5 resolve q3 AAAA",
            "5 resolve q4 A",
            "5 connect #0 [2001:db8::b]:443",
            // At 15 alt's AAAA confirms ::c only; ::b was attempted already and carries on.
            "255 connect #1 [2001:db8::c]:443",
        ],
    );
}
