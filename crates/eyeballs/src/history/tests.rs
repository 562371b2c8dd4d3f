//! The store's rules on virtual time: what it remembers, for how long, for whom.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    DnsResult, Endpoint, PathFacts, PathFailure, Protocol, RecordType, Report, Rtt, Target,
};

use super::{HistoryConfig, HistoryStore, Partition};

const V6: &str = "2001:db8::a";
const V4: &str = "198.18.0.1";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn v6() -> SocketAddr {
    sa("[2001:db8::a]:443")
}

fn v4() -> SocketAddr {
    sa("198.18.0.1:443")
}

fn host() -> Target {
    Target::host("h.test", 443).unwrap()
}

/// A race to `h.test` with one address per family, each behaving as given.
fn race(v6: Behavior, v4: Behavior) -> Report {
    Scenario::host("h.test", 443)
        .answer(RecordType::Aaaa, ms(1), [V6])
        .answer(RecordType::A, ms(1), [V4])
        .behavior(V6, v6)
        .behavior(V4, v4)
        .run()
        .unwrap()
        .report
}

/// IPv6 black-holed, IPv4 fine: the first race of the issue.
fn black_holed_v6() -> Report {
    race(Behavior::BlackHole, Behavior::Connects(ms(5)))
}

fn store() -> HistoryStore {
    HistoryStore::with_config(HistoryConfig {
        watch_network: false,
        ..HistoryConfig::default()
    })
}

fn root() -> Partition {
    Partition::new(Arc::from(""))
}

#[test]
fn a_stalled_path_is_held_against_its_endpoint_then_forgiven() {
    let store = store();
    let t0 = Instant::now();
    store.learn_at(&root(), &black_holed_v6(), t0);
    let recalled = store.recall_at(&root(), &host(), true, t0 + ms(1));
    assert_eq!(
        recalled.get(v6()).and_then(|f| f.failed),
        Some(PathFailure::Stalled)
    );
    let v4_facts = recalled.get(v4()).copied().unwrap();
    assert_eq!(v4_facts.rtt, Some(Rtt::first(ms(5))));
    assert!(v4_facts.used, "the winner is the used address (HE-4.4)");

    // The first hold is a minute; then the endpoint takes its place again for a race.
    let later = store.recall_at(&root(), &host(), true, t0 + Duration::from_secs(61));
    assert_eq!(later.get(v6()), None);
}

#[test]
fn failures_in_a_row_double_the_hold_up_to_its_maximum_and_a_success_clears_it() {
    let config = HistoryConfig::default();
    let holds: Vec<u64> = (1..=7).map(|n| config.hold(n).as_secs()).collect();
    assert_eq!(holds, [60, 120, 240, 480, 960, 960, 960]);
    assert_eq!(config.hold(u32::MAX), config.max_failure_hold);

    let store = store();
    let t0 = Instant::now();
    store.learn_at(&root(), &black_holed_v6(), t0);
    let t1 = t0 + Duration::from_secs(61);
    store.learn_at(&root(), &black_holed_v6(), t1);
    // The second stall in a row: held for two minutes from t1.
    let held = |at: Instant| {
        store
            .recall_at(&root(), &host(), true, at)
            .get(v6())
            .is_some_and(|f| f.failed.is_some())
    };
    assert!(held(t1 + Duration::from_secs(119)));
    assert!(!held(t1 + Duration::from_secs(121)));

    // IPv6 repaired: a race it wins forgives it, and its next failure holds a minute again.
    let t2 = t1 + Duration::from_secs(121);
    store.learn_at(
        &root(),
        &race(Behavior::Connects(ms(3)), Behavior::Connects(ms(5))),
        t2,
    );
    assert!(!held(t2));
    store.learn_at(&root(), &black_holed_v6(), t2);
    assert!(held(t2 + Duration::from_secs(59)));
    assert!(!held(t2 + Duration::from_secs(61)));
}

#[test]
fn rtt_estimates_follow_rfc_6298_and_expire() {
    let store = store();
    let t0 = Instant::now();
    let fast_v4 = |d| race(Behavior::refuses(ms(1)), Behavior::Connects(d));
    store.learn_at(&root(), &fast_v4(ms(40)), t0);
    store.learn_at(&root(), &fast_v4(ms(8)), t0 + ms(100));
    let rtt = store
        .recall_at(&root(), &host(), true, t0 + ms(200))
        .get(v4())
        .and_then(|f| f.rtt);
    assert_eq!(rtt, Some(Rtt::first(ms(40)).update(ms(8))));
    // Ten minutes after its latest sample, an estimate is no longer used, and the next
    // sample starts afresh.
    let expired = t0 + ms(100) + Duration::from_secs(600);
    assert_eq!(
        store
            .recall_at(&root(), &host(), true, expired)
            .get(v4())
            .and_then(|f| f.rtt),
        None
    );
    store.learn_at(&root(), &fast_v4(ms(20)), expired);
    assert_eq!(
        store
            .recall_at(&root(), &host(), true, expired)
            .get(v4())
            .and_then(|f| f.rtt),
        Some(Rtt::first(ms(20)))
    );
}

/// V3-5.3.3: two privacy partitions see nothing of each other's history.
#[test]
fn v3_5_3_3_partitions_share_nothing() {
    let store = store();
    let t0 = Instant::now();
    let a = Partition::new(Arc::from("site-a"));
    let b = Partition::new(Arc::from("site-b"));
    store.learn_at(&a, &black_holed_v6(), t0);
    assert!(!store.recall_at(&a, &host(), true, t0).is_empty());
    assert!(store.recall_at(&b, &host(), true, t0).is_empty());
    assert!(store.recall_at(&root(), &host(), true, t0).is_empty());
    // The public handles do the same.
    let site_a = store.partition("site-a");
    assert_eq!(site_a.partition_key(), "site-a");
    assert!(site_a.facts(v6()).is_some());
    assert!(store.partition("site-b").facts(v6()).is_none());
}

/// V3-5.3.3 when two partitions' names hash alike (the endpoint map is keyed by the hash):
/// still nothing shared, and what one learns replaces the other's entry instead of mixing
/// with it.
#[test]
fn v3_5_3_3_partitions_whose_names_hash_alike_share_nothing() {
    let store = store();
    let t0 = Instant::now();
    let a = Partition::with_hash(Arc::from("site-a"), 7);
    let b = Partition::with_hash(Arc::from("site-b"), 7);
    let target = Target::addresses([v6(), v4()]).unwrap();
    store.learn_at(&a, &black_holed_v6(), t0);
    let known = store.recall_at(&a, &target, true, t0);
    assert!(known.get(v6()).is_some_and(|f| f.failed.is_some()));
    assert!(store.recall_at(&b, &target, true, t0).is_empty());
    // `b` learns that IPv6 works: its entry replaces `a`'s, and `a` no longer sees a failure
    // that `b` never had, nor `b`'s RTT.
    store.learn_at(
        &b,
        &race(Behavior::Connects(ms(5)), Behavior::Connects(ms(5))),
        t0,
    );
    let b_knows = store.recall_at(&b, &target, true, t0);
    assert!(b_knows
        .get(v6())
        .is_some_and(|f| f.failed.is_none() && f.rtt.is_some()));
    assert!(store.recall_at(&a, &target, true, t0).get(v6()).is_none());
}

/// V3-5.3.6: every 16th race to a host is told no RTT or used-address facts (failures still
/// hold), so that clients with different histories converge.
#[test]
fn v3_5_3_6_every_sixteenth_race_explores() {
    let store = store();
    let t0 = Instant::now();
    store.learn_at(&root(), &black_holed_v6(), t0);
    let explored: Vec<usize> = (1..=32)
        .filter(|_| {
            let h = store.recall_at(&root(), &host(), true, t0);
            assert!(h.get(v6()).is_some_and(|f| f.failed.is_some()));
            h.get(v4()).is_none()
        })
        .collect();
    assert_eq!(explored, [16, 32]);
}

#[test]
fn address_targets_get_their_addresses_history() {
    let store = store();
    let t0 = Instant::now();
    store.learn_at(&root(), &black_holed_v6(), t0);
    let target = Target::addresses([v6(), v4(), sa("198.18.0.2:443")]).unwrap();
    let h = store.recall_at(&root(), &target, true, t0);
    assert!(h.get(v6()).is_some_and(|f| f.failed.is_some()));
    assert!(h.get(v4()).is_some_and(|f| f.rtt.is_some() && !f.used));
    assert_eq!(h.get(sa("198.18.0.2:443")), None);
}

#[test]
fn the_store_is_bounded_and_forgets_the_least_recently_used() {
    let store = HistoryStore::with_config(HistoryConfig {
        max_endpoints: 3,
        max_hosts: 1,
        watch_network: false,
        ..HistoryConfig::default()
    });
    let t0 = Instant::now();
    for i in 1..=5u8 {
        let addr = SocketAddr::from(([198, 18, 0, i], 443));
        let report = Scenario::target(Target::addresses([addr]).unwrap())
            .default_behavior(Behavior::Connects(ms(2)))
            .run()
            .unwrap()
            .report;
        store.learn_at(&root(), &report, t0);
    }
    assert_eq!(store.len(), 3);
    assert!(store.facts(sa("198.18.0.1:443")).is_none());
    assert!(store.facts(sa("198.18.0.5:443")).is_some());
}

#[test]
fn a_host_keeps_its_latest_endpoints() {
    let store = store();
    let t0 = Instant::now();
    let many: Vec<String> = (1..=20).map(|i| format!("2001:db8::{i:x}")).collect();
    let report = Scenario::host("h.test", 443)
        .config({
            let mut c = eyeballs_proto::Config::default();
            c.min_connection_attempt_delay = ms(10);
            c.connection_attempt_delay = ms(10);
            c
        })
        .dns(
            RecordType::Aaaa,
            ms(1),
            DnsResult::addresses(many.iter().map(|s| s.parse().unwrap())),
        )
        .dns(RecordType::A, ms(1), DnsResult::NoData)
        .default_behavior(Behavior::refuses(ms(1)))
        .run()
        .unwrap()
        .report;
    assert_eq!(report.attempts.len(), 20);
    store.learn_at(&root(), &report, t0);
    assert_eq!(store.len(), 20);
    let h = store.recall_at(&root(), &host(), true, t0);
    assert_eq!(h.iter().count(), super::store::HOST_ENDPOINTS);
    assert!(h.get(sa("[2001:db8::1]:443")).is_some());
    assert!(h.get(sa("[2001:db8::14]:443")).is_none());
}

/// A host's answered addresses are its endpoints too: what another race of the partition
/// learnt about one of them applies to the host's next race.
#[test]
fn facts_learnt_elsewhere_apply_to_a_hosts_answered_addresses() {
    let store = store();
    let t0 = Instant::now();
    // The host's race: IPv6 wins at once; IPv4 is answered but never tried.
    store.learn_at(
        &root(),
        &race(Behavior::Connects(ms(3)), Behavior::Connects(ms(5))),
        t0,
    );
    assert!(store
        .recall_at(&root(), &host(), true, t0)
        .get(v4())
        .is_none());
    // A race to the IPv4 address alone refuses.
    let refused = Scenario::target(Target::addresses([v4()]).unwrap())
        .default_behavior(Behavior::refuses(ms(1)))
        .run()
        .unwrap()
        .report;
    store.learn_at(&root(), &refused, t0);
    let h = store.recall_at(&root(), &host(), true, t0);
    assert!(h.get(v4()).is_some_and(|f| f.failed.is_some()));
}

#[test]
fn flush_forgets_everything() {
    let store = store();
    store.learn_at(&root(), &black_holed_v6(), Instant::now());
    assert!(!store.is_empty());
    store.flush();
    assert!(store.is_empty());
    assert!(store.recall(&host()).is_empty());
}

/// A race that taught nothing (cancelled) records nothing, and a recall of an unknown host is
/// empty.
#[test]
fn nothing_learnt_nothing_recalled() {
    let store = store();
    let cancelled = Scenario::host("h.test", 443)
        .answer(RecordType::Aaaa, ms(1), [V6])
        .cancel_at(ms(300))
        .run()
        .unwrap()
        .report;
    store.learn_at(&root(), &cancelled, Instant::now());
    assert!(store.is_empty());
    assert!(store.recall(&host()).is_empty());
    assert_eq!(store.facts(v6()), None::<PathFacts>);
}

/// A caller that speaks h3 over QUIC and h2 over TCP, and knows the destination speaks both
/// (an Alt-Svc, configuration): every address gets a QUIC endpoint, tried first.
fn h3_config() -> eyeballs_proto::Config {
    let mut c = eyeballs_proto::Config::default();
    c.alpn = vec!["h2".into()];
    c.quic_alpn = vec!["h3".into()];
    c.services = vec![eyeballs_proto::ServiceRecord::service(1).with_alpn(["h3", "h2"])];
    c
}

fn quic(addr: SocketAddr) -> Endpoint {
    Endpoint {
        addr,
        protocol: Protocol::Quic,
    }
}

/// A race to `h.test` over QUIC and TCP, one address per family, each behaving as given.
fn h3_race(v6: Behavior, v4: Behavior) -> Report {
    Scenario::host("h.test", 443)
        .config(h3_config())
        .answer(RecordType::Aaaa, ms(1), [V6])
        .answer(RecordType::A, ms(1), [V4])
        .behavior(V6, v6)
        .behavior(V4, v4)
        .run()
        .unwrap()
        .report
}

/// V3-6.5: the QUIC attempt over IPv6 stalls, TCP over IPv4 wins. The stall is held against
/// the QUIC endpoint only (TCP over IPv6 is untouched), the RTT and the used mark belong to
/// the TCP endpoint over IPv4 (HE-4.4: the winner, protocol included), not to QUIC over it.
#[test]
fn v3_6_5_a_stalled_quic_path_is_held_against_quic_only() {
    let store = store();
    let t0 = Instant::now();
    let report = h3_race(Behavior::BlackHole, Behavior::Connects(ms(5)));
    assert_eq!(report.attempts[0].endpoint, quic(v6()));
    store.learn_at(&root(), &report, t0);
    assert_eq!(store.len(), 2);
    let h = store.recall_at(&root(), &host(), true, t0 + ms(1));
    assert_eq!(
        h.get_endpoint(quic(v6())).and_then(|f| f.failed),
        Some(PathFailure::Stalled)
    );
    assert_eq!(
        h.get(v6()),
        None,
        "a blocked UDP path says nothing about TCP"
    );
    let tcp_v4 = h.get(v4()).copied().unwrap();
    assert_eq!(tcp_v4.rtt, Some(Rtt::first(ms(5))));
    assert!(tcp_v4.used);
    assert_eq!(h.get_endpoint(quic(v4())), None);
    // The public handles say the same.
    assert!(store.endpoint_facts(quic(v6())).is_some());
    assert!(store.facts(v6()).is_none());
}

/// V3-6.5: a QUIC winner's handshake time is an RTT sample of its QUIC endpoint, which is
/// the host's used endpoint; the TCP endpoint of the same address learns nothing.
#[test]
fn v3_6_5_a_quic_handshake_is_an_rtt_sample_of_the_quic_endpoint() {
    let store = store();
    let t0 = Instant::now();
    let fast = h3_race(Behavior::Connects(ms(4)), Behavior::Connects(ms(4)));
    store.learn_at(&root(), &fast, t0);
    store.learn_at(&root(), &fast, t0 + ms(10));
    let h = store.recall_at(&root(), &host(), true, t0 + ms(20));
    let facts = h.get_endpoint(quic(v6())).copied().unwrap();
    assert_eq!(facts.rtt, Some(Rtt::first(ms(4)).update(ms(4))));
    assert!(facts.used);
    assert_eq!(h.get(v6()), None);
    assert_eq!(h.iter().count(), 1);
}

/// A single address has nothing to order for TCP alone, so it is told nothing, unless its
/// QUIC endpoint is known: then a race that makes it (known services) is told both
/// protocols' facts, and leads with TCP when QUIC recently stalled.
#[test]
fn v3_6_5_a_single_address_is_told_its_quic_and_tcp_facts() {
    let store = store();
    let t0 = Instant::now();
    store.learn_at(
        &root(),
        &h3_race(Behavior::BlackHole, Behavior::Connects(ms(5))),
        t0,
    );
    // TCP over IPv4 has facts, QUIC over it none: nothing to tell.
    let only_v4 = Target::addresses([v4()]).unwrap();
    assert!(store.recall_at(&root(), &only_v4, true, t0).is_empty());
    // QUIC over IPv6 stalled: the next race to that address leads with TCP.
    let only_v6 = Target::addresses([v6()]).unwrap();
    // A race that makes no QUIC endpoint is told nothing (no lock taken).
    assert!(store.recall_at(&root(), &only_v6, false, t0).is_empty());
    let h = store.recall_at(&root(), &only_v6, true, t0);
    assert!(h
        .get_endpoint(quic(v6()))
        .is_some_and(|f| f.failed.is_some()));
    let next = Scenario::target(only_v6)
        .config(h3_config())
        .history(h)
        .default_behavior(Behavior::Connects(ms(3)))
        .run()
        .unwrap();
    assert_eq!(
        next.lines(),
        ["0 connect #0 [2001:db8::a]:443", "3 done connected #0"]
    );
}

/// QUIC and TCP lessons about one address land in separate entries: a later TCP success to
/// the address neither clears the QUIC endpoint's failure nor gives it the used mark.
#[test]
fn tcp_and_quic_entries_of_one_address_are_independent() {
    let store = store();
    let t0 = Instant::now();
    store.learn_at(
        &root(),
        &h3_race(Behavior::BlackHole, Behavior::Connects(ms(5))),
        t0,
    );
    // TCP over IPv6 works in a later race (TCP only): QUIC over IPv6 stays held.
    store.learn_at(
        &root(),
        &race(Behavior::Connects(ms(3)), Behavior::Connects(ms(5))),
        t0 + ms(10),
    );
    let h = store.recall_at(&root(), &host(), true, t0 + ms(20));
    assert!(h
        .get(v6())
        .is_some_and(|f| f.rtt.is_some() && f.failed.is_none() && f.used));
    assert!(h
        .get_endpoint(quic(v6()))
        .is_some_and(|f| f.failed.is_some() && !f.used));
    assert!(
        h.get(v4()).is_some_and(|f| !f.used),
        "the newer winner is TCP over IPv6"
    );
}
