//! Screening DNS answers: addresses no connect can use are dropped with a reason, and
//! `Engine::screen_answer` tells a driver what `handle_dns` will keep before it probes.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use common::*;
use eyeballs_proto::sim::Scenario;
use eyeballs_proto::{
    Action, Config, Destination, DnsResult, DropReason, Engine, FamilyPreference, InputError,
    QueryId, RecordType, SourceAddr, Target,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("valid address")
}

/// An engine for `example.test` and the ids of its AAAA and A queries.
fn engine(config: Config) -> (Engine, Instant, Option<QueryId>, Option<QueryId>) {
    let t0 = Instant::now();
    let target = Target::host("example.test", 443).expect("valid host");
    let mut engine = Engine::new(target, config, t0).expect("valid setup");
    let (mut aaaa, mut a) = (None, None);
    while let Some(action) = engine.poll_action() {
        if let Action::Resolve { id, record } = action {
            match record {
                RecordType::Aaaa => aaaa = Some(id),
                _ => a = Some(id),
            }
        }
    }
    (engine, t0, aaaa, a)
}

struct Case {
    name: &'static str,
    record: RecordType,
    family: FamilyPreference,
    answer: &'static [&'static str],
    kept: &'static [&'static str],
    dropped: &'static [(&'static str, DropReason)],
}

const CASES: &[Case] = &[
    Case {
        name: "unusable ipv4",
        record: RecordType::A,
        family: FamilyPreference::PreferIpv6,
        answer: &[
            "0.0.0.0",
            "192.0.2.1",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.255",
            "255.255.255.255",
            "127.0.0.1",
            "169.254.0.1",
            "240.0.0.1",
        ],
        kept: &["192.0.2.1", "127.0.0.1", "169.254.0.1", "240.0.0.1"],
        dropped: &[
            ("0.0.0.0", DropReason::Unspecified),
            ("0.1.2.3", DropReason::ThisNetwork),
            ("224.0.0.1", DropReason::Multicast),
            ("239.255.255.255", DropReason::Multicast),
            ("255.255.255.255", DropReason::Broadcast),
        ],
    },
    Case {
        name: "unusable ipv6",
        record: RecordType::Aaaa,
        family: FamilyPreference::PreferIpv6,
        answer: &["::", "ff02::1", "2001:db8::1", "::1", "fe80::1", "ff0e::1"],
        kept: &["2001:db8::1", "::1", "fe80::1"],
        dropped: &[
            ("::", DropReason::Unspecified),
            ("ff02::1", DropReason::Multicast),
            ("ff0e::1", DropReason::Multicast),
        ],
    },
    Case {
        name: "ipv4-mapped in aaaa is ipv4, screened as ipv4",
        record: RecordType::Aaaa,
        family: FamilyPreference::PreferIpv6,
        answer: &[
            "::ffff:192.0.2.1",
            "::ffff:0.0.0.0",
            "::ffff:255.255.255.255",
            "::ffff:224.0.0.1",
        ],
        kept: &["192.0.2.1"],
        dropped: &[
            ("::ffff:0.0.0.0", DropReason::Unspecified),
            ("::ffff:255.255.255.255", DropReason::Broadcast),
            ("::ffff:224.0.0.1", DropReason::Multicast),
        ],
    },
    Case {
        name: "wrong family for the query",
        record: RecordType::A,
        family: FamilyPreference::PreferIpv6,
        answer: &["2001:db8::1", "192.0.2.1", "::ffff:192.0.2.2"],
        kept: &["192.0.2.1", "192.0.2.2"],
        dropped: &[("2001:db8::1", DropReason::WrongFamily)],
    },
    Case {
        name: "family the configuration excludes",
        record: RecordType::Aaaa,
        family: FamilyPreference::Ipv6Only,
        answer: &["::ffff:192.0.2.1", "2001:db8::1"],
        kept: &["2001:db8::1"],
        dropped: &[("::ffff:192.0.2.1", DropReason::FamilyNotAllowed)],
    },
    Case {
        name: "duplicates kept once, dropped listed once",
        record: RecordType::A,
        family: FamilyPreference::PreferIpv6,
        answer: &[
            "192.0.2.1",
            "224.0.0.1",
            "::ffff:192.0.2.1",
            "192.0.2.1",
            "224.0.0.1",
        ],
        kept: &["192.0.2.1"],
        dropped: &[("224.0.0.1", DropReason::Multicast)],
    },
    Case {
        name: "plain ipv4 in aaaa counts as ipv4-mapped",
        record: RecordType::Aaaa,
        family: FamilyPreference::PreferIpv6,
        answer: &["192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1"],
        kept: &["192.0.2.1", "2001:db8::1"],
        dropped: &[],
    },
    Case {
        name: "plain ipv4 in aaaa under ipv6-only",
        record: RecordType::Aaaa,
        family: FamilyPreference::Ipv6Only,
        answer: &["192.0.2.1", "2001:db8::1"],
        kept: &["2001:db8::1"],
        dropped: &[("192.0.2.1", DropReason::FamilyNotAllowed)],
    },
];

#[test]
fn answers_are_screened_with_a_reason_for_each_drop() {
    for case in CASES {
        let config = config(|c| c.family = case.family);
        let (mut engine, t0, aaaa, a) = engine(config);
        let id = match case.record {
            RecordType::Aaaa => aaaa,
            _ => a,
        }
        .expect("the query was sent");
        let answer: Vec<Destination> = case.answer.iter().map(|s| ip(s).into()).collect();
        let kept: Vec<IpAddr> = case.kept.iter().map(|s| ip(s)).collect();
        let dropped: Vec<(IpAddr, DropReason)> =
            case.dropped.iter().map(|&(s, r)| (ip(s), r)).collect();

        let screened = engine
            .screen_answer(id, answer.iter().copied())
            .expect("known query");
        let screened_ips: Vec<IpAddr> = screened.iter().map(|d| d.ip).collect();
        assert_eq!(screened_ips, kept, "{}: screen_answer", case.name);

        engine
            .handle_dns(t0, id, DnsResult::Addresses(answer))
            .expect("known query");
        let q = &engine.report().queries[id.index()];
        assert_eq!(q.addresses, kept, "{}: handle_dns", case.name);
        assert_eq!(q.dropped, dropped, "{}: dropped", case.name);
        assert_eq!(q.beyond_cap, 0, "{}", case.name);
    }
}

#[test]
fn screening_is_idempotent_and_keeps_sources() {
    let (mut engine, t0, aaaa, _) = engine(Config::default());
    let id = aaaa.expect("AAAA sent");
    let answer = [
        Destination::with_source(
            ip("::ffff:192.0.2.1"),
            SourceAddr::Addr(ip("::ffff:10.0.0.1")),
        ),
        Destination::new(ip("ff02::1")),
        Destination::with_source(ip("2001:db8::1"), SourceAddr::Unreachable),
        Destination::new(ip("2001:db8::1")),
    ];
    let once = engine.screen_answer(id, answer).expect("known query");
    assert_eq!(
        once,
        [
            Destination::with_source(ip("192.0.2.1"), SourceAddr::Addr(ip("10.0.0.1"))),
            Destination::with_source(ip("2001:db8::1"), SourceAddr::Unreachable),
        ]
    );
    let twice = engine
        .screen_answer(id, once.iter().copied())
        .expect("known query");
    assert_eq!(twice, once);
    // Handing the screened list to handle_dns keeps all of it.
    engine
        .handle_dns(t0, id, DnsResult::Addresses(once))
        .expect("known query");
    assert_eq!(
        engine.report().queries[id.index()].addresses,
        [ip("192.0.2.1"), ip("2001:db8::1")]
    );
    assert!(engine.report().queries[id.index()].dropped.is_empty());
}

#[test]
fn screen_answer_keeps_nothing_when_handle_dns_would_ignore_the_answer() {
    // A query the engine timed out: its answer would be ignored, so nothing is kept.
    let (mut engine, t0, aaaa, a) = engine(config(|c| c.resolve_timeout = Some(ms(100))));
    let (aaaa, a) = (aaaa.expect("AAAA sent"), a.expect("A sent"));
    assert_eq!(
        engine
            .screen_answer(aaaa, [ip("2001:db8::1")])
            .map(|v| v.len()),
        Ok(1)
    );
    engine.handle_timeout(t0 + ms(100));
    while engine.poll_action().is_some() {}
    assert_eq!(
        engine.screen_answer(aaaa, [ip("2001:db8::1")]),
        Ok(Vec::new())
    );
    // After the race is over, nothing is kept either: the driver probes nothing.
    let (mut engine, t0, _, _) = engine_pair();
    engine.cancel(t0);
    while engine.poll_action().is_some() {}
    assert_eq!(engine.screen_answer(a, [ip("192.0.2.1")]), Ok(Vec::new()));
}

fn engine_pair() -> (Engine, Instant, Option<QueryId>, Option<QueryId>) {
    engine(Config::default())
}

#[test]
fn screen_answer_rejects_an_unknown_query() {
    // An Ipv6Only engine sends one query; the second id of a dual-stack engine is unknown to it.
    let t0 = Instant::now();
    let (_, _, _, a) = engine(Config::default());
    let a = a.expect("A sent");
    let target = Target::host("example.test", 443).expect("valid host");
    let v6_only = config(|c| c.family = FamilyPreference::Ipv6Only);
    let mut engine = Engine::new(target, v6_only, t0).expect("valid setup");
    while engine.poll_action().is_some() {}
    assert_eq!(
        engine.screen_answer(a, [ip("192.0.2.1")]),
        Err(InputError::UnknownQuery(a))
    );
}

#[test]
fn sixty_thousand_addresses_are_screened_in_one_pass() {
    // 60,000 distinct usable IPv6 addresses, then 1,000 multicast ones: the first 64 are
    // kept, the rest counted, the multicast ones listed. Work is linear (a set, not a list
    // search): this finishes in milliseconds in a release build.
    let usable = (1..=60_000u128).map(|i| IpAddr::V6(Ipv6Addr::from((0x2001_0db8_u128 << 96) | i)));
    let multicast = (1..=1_000u128).map(|i| IpAddr::V6(Ipv6Addr::from((0xff0e_u128 << 112) | i)));
    let answer: Vec<IpAddr> = usable.chain(multicast).collect();

    let (mut engine, t0, aaaa, _) = engine(Config::default());
    let id = aaaa.expect("AAAA sent");
    let kept = engine
        .screen_answer(id, answer.iter().copied())
        .expect("known query");
    assert_eq!(kept.len(), 64);
    assert_eq!(kept[0].ip, answer[0]);
    assert_eq!(kept[63].ip, answer[63]);

    engine
        .handle_dns(t0, id, DnsResult::addresses(answer))
        .expect("known query");
    let q = &engine.report().queries[id.index()];
    assert_eq!(q.addresses.len(), 64);
    assert_eq!(q.beyond_cap, 60_000 - 64);
    assert_eq!(q.dropped.len(), 1_000);
    assert!(q.dropped.iter().all(|&(_, r)| r == DropReason::Multicast));
    let connects = std::iter::from_fn(|| engine.poll_action())
        .filter(|a| matches!(a, Action::Connect { .. }))
        .count();
    assert_eq!(connects, 1);
}

#[test]
fn sixty_thousand_ipv4_addresses_through_the_simulator() {
    let answer: Vec<IpAddr> = (0..60_000u32)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i + 1)))
        .collect();
    let sim = Scenario::host("example.test", 443)
        .dns(RecordType::A, ms(0), DnsResult::addresses(answer))
        .dns(RecordType::Aaaa, ms(0), DnsResult::NoData)
        .default_behavior(eyeballs_proto::sim::Behavior::refuses(ms(1)))
        .run()
        .expect("scenario sets up");
    assert_eq!(sim.report.attempts.len(), 64);
    assert_eq!(sim.report.queries[1].beyond_cap, 60_000 - 64);
    assert_eq!(sim.report.dropped_endpoints, 0);
}
