//! RFC 8305 §3, hostname resolution: HE-3.1 … HE-3.9, and the DNS outcomes of checklist D3.

mod common;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{DnsOutcome, DnsResult, Failure, FamilyPreference, Outcome, RecordType};

use RecordType::{Aaaa, A};

const V6: &str = "2001:db8::1";
const V4: &str = "192.0.2.1";

fn host() -> Scenario {
    Scenario::host("example.test", 443)
}

#[test]
fn he_3_1_and_he_3_2_aaaa_then_a_both_at_once() {
    let sim = expect(
        host()
            .answer(Aaaa, ms(0), [V6])
            .answer(A, ms(0), [V4])
            .behavior(V6, Behavior::Connects(ms(20))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::1]:443",
            "20 done connected #0",
        ],
    );
    let records: Vec<_> = sim.report.queries.iter().map(|q| q.record).collect();
    assert_eq!(records, [Aaaa, A]);
}

#[test]
fn he_3_3_does_not_wait_for_both_families() {
    expect(
        host()
            .answer(Aaaa, ms(10), [V6])
            .behavior(V6, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "10 connect #0 [2001:db8::1]:443",
            "15 cancel-resolve q1",
            "15 done connected #0",
        ],
    );
}

#[test]
fn he_3_5_positive_aaaa_first_starts_ipv6_at_once() {
    expect(
        host()
            .answer(Aaaa, ms(5), [V6])
            .answer(A, ms(8), [V4])
            .behavior(V6, Behavior::Connects(ms(30))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "5 connect #0 [2001:db8::1]:443",
            "35 done connected #0",
        ],
    );
}

#[test]
fn he_3_6_positive_a_first_waits_resolution_delay_for_aaaa() {
    expect(
        host()
            .answer(A, ms(0), [V4])
            .answer(Aaaa, ms(30), [V6])
            .behavior(V4, Behavior::Connects(ms(10))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "30 connect #0 [2001:db8::1]:443",
            "280 connect #1 192.0.2.1:443",
            "290 abort #0",
            "290 done connected #1",
        ],
    );
}

#[test]
fn he_3_7_aaaa_inside_resolution_delay_starts_without_waiting_for_timer() {
    // The AAAA lands at 49 ms, one millisecond before the delay would run out: IPv6 first.
    expect(
        host()
            .answer(A, ms(0), [V4])
            .answer(Aaaa, ms(49), [V6])
            .behavior(V6, Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "49 connect #0 [2001:db8::1]:443",
            "50 done connected #0",
        ],
    );
}

#[test]
fn he_3_8_nodata_aaaa_inside_delay_lets_ipv4_go_at_once() {
    expect(
        host()
            .answer(A, ms(0), [V4])
            .dns(Aaaa, ms(10), DnsResult::NoData)
            .behavior(V4, Behavior::Connects(ms(10))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "10 connect #0 192.0.2.1:443",
            "20 done connected #0",
        ],
    );
}

#[test]
fn he_3_8_no_aaaa_by_end_of_delay_lets_ipv4_go_at_50ms() {
    let sim = expect(
        host()
            .answer(A, ms(0), [V4])
            .behavior(V4, Behavior::Connects(ms(10))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "50 connect #0 192.0.2.1:443",
            "60 cancel-resolve q0",
            "60 done connected #0",
        ],
    );
    assert_eq!(sim.report.queries[0].outcome, Some(DnsOutcome::Cancelled));
    assert_eq!(sim.report.queries[0].answered(), None);
}

#[test]
fn he_3_8_positive_a_after_negative_aaaa_starts_at_once() {
    expect(
        host()
            .dns(Aaaa, ms(5), DnsResult::NoData)
            .answer(A, ms(20), [V4])
            .behavior(V4, Behavior::Connects(ms(10))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "20 connect #0 192.0.2.1:443",
            "30 done connected #0",
        ],
    );
}

#[test]
fn he_3_9_late_aaaa_joins_the_race_as_next_attempt() {
    expect(
        host()
            .config(config(|c| c.overall_timeout = Some(ms(600))))
            .answer(A, ms(0), [V4, "192.0.2.2"])
            .answer(Aaaa, ms(120), [V6]),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "50 connect #0 192.0.2.1:443",
            "300 connect #1 [2001:db8::1]:443",
            "550 connect #2 192.0.2.2:443",
            "600 abort #0",
            "600 abort #1",
            "600 abort #2",
            "600 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn he_3_9_late_answer_after_every_attempt_failed_starts_at_once() {
    // IPv4 fails fast; the race waits for the pending AAAA, which starts at once on arrival.
    expect(
        host()
            .answer(A, ms(0), [V4])
            .answer(Aaaa, ms(400), [V6])
            .behavior(V4, Behavior::refuses(ms(5)))
            .behavior(V6, Behavior::Connects(ms(10))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "50 connect #0 192.0.2.1:443",
            "400 connect #1 [2001:db8::1]:443",
            "410 done connected #1",
        ],
    );
}

/// Checklist D3: every way a query can end without addresses ends the wait at once.
#[test]
fn d3_every_failed_aaaa_outcome_lets_ipv4_go_at_once() {
    for result in [
        DnsResult::NoData,
        DnsResult::NxDomain,
        DnsResult::ServFail,
        DnsResult::Error,
        DnsResult::TimedOut,
        DnsResult::Addresses(vec![]),
    ] {
        let kind = result.kind();
        let sim = expect(
            host()
                .answer(A, ms(0), [V4])
                .dns(Aaaa, ms(10), result)
                .behavior(V4, Behavior::Connects(ms(10))),
            &[
                "0 resolve q0 AAAA",
                "0 resolve q1 A",
                "10 connect #0 192.0.2.1:443",
                "20 done connected #0",
            ],
        );
        assert_eq!(sim.report.queries[0].outcome, Some(kind));
    }
}

#[test]
fn d3_both_negative_fails_with_no_addresses_and_each_outcome_kept() {
    let sim = expect(
        host()
            .dns(Aaaa, ms(5), DnsResult::NxDomain)
            .dns(A, ms(7), DnsResult::ServFail),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "7 done failed: name resolution gave no usable address",
        ],
    );
    assert_eq!(sim.report.queries[0].outcome, Some(DnsOutcome::NxDomain));
    assert_eq!(sim.report.queries[1].outcome, Some(DnsOutcome::ServFail));
    assert!(sim.report.attempts.is_empty());
    assert_eq!(
        sim.report.outcome,
        Some(Outcome::Failed(Failure::NoAddresses))
    );
}

#[test]
fn resolver_that_never_answers_times_out_by_resolve_timeout() {
    let sim = expect(
        host().config(config(|c| c.resolve_timeout = Some(ms(1000)))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1000 cancel-resolve q0",
            "1000 cancel-resolve q1",
            "1000 done failed: name resolution gave no usable address",
        ],
    );
    assert!(sim
        .report
        .queries
        .iter()
        .all(|q| q.outcome == Some(DnsOutcome::TimedOut)));
}

#[test]
fn default_resolve_timeout_is_ten_seconds() {
    expect(
        host(),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "10000 cancel-resolve q0",
            "10000 cancel-resolve q1",
            "10000 done failed: name resolution gave no usable address",
        ],
    );
}

#[test]
fn query_timing_out_mid_race_does_not_end_it() {
    expect(
        host()
            .config(config(|c| {
                c.resolve_timeout = Some(ms(1000));
                c.attempt_timeout = Some(ms(2000));
            }))
            .answer(Aaaa, ms(0), [V6]),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::1]:443",
            "1000 cancel-resolve q1",
            "2000 abort #0",
            "2000 done failed: every connection attempt failed",
        ],
    );
}

#[test]
fn answer_after_engine_timed_out_the_query_is_ignored() {
    expect(
        host()
            .config(config(|c| {
                c.resolve_timeout = Some(ms(100));
                c.overall_timeout = Some(ms(400));
            }))
            .answer(Aaaa, ms(0), [V6])
            .answer(A, ms(150), [V4]),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::1]:443",
            "100 cancel-resolve q1",
            "400 abort #0",
            "400 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn resolution_delay_zero_starts_on_first_positive_answer() {
    expect(
        host()
            .config(config(|c| c.resolution_delay = ms(0)))
            .answer(A, ms(0), [V4])
            .answer(Aaaa, ms(30), [V6])
            .behavior(V4, Behavior::Connects(ms(100))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 192.0.2.1:443",
            "100 done connected #0",
        ],
    );
}

#[test]
fn resolution_delay_is_configurable() {
    expect(
        host()
            .config(config(|c| c.resolution_delay = ms(120)))
            .answer(A, ms(10), [V4])
            .behavior(V4, Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "130 connect #0 192.0.2.1:443",
            "131 cancel-resolve q0",
            "131 done connected #0",
        ],
    );
}

#[test]
fn he_2_2_prefer_ipv4_swaps_the_roles_in_resolution() {
    expect(
        host()
            .config(config(|c| c.family = FamilyPreference::PreferIpv4))
            .answer(Aaaa, ms(0), [V6])
            .answer(A, ms(30), [V4])
            .behavior(V4, Behavior::Connects(ms(10))),
        &[
            "0 resolve q0 A",
            "0 resolve q1 AAAA",
            "30 connect #0 192.0.2.1:443",
            "40 done connected #0",
        ],
    );
}

#[test]
fn single_family_modes_query_one_record_type() {
    expect(
        host()
            .config(config(|c| c.family = FamilyPreference::Ipv4Only))
            .answer(A, ms(3), [V4])
            .behavior(V4, Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 A",
            "3 connect #0 192.0.2.1:443",
            "4 done connected #0",
        ],
    );
    expect(
        host()
            .config(config(|c| c.family = FamilyPreference::Ipv6Only))
            .answer(Aaaa, ms(3), [V6])
            .behavior(V6, Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 AAAA",
            "3 connect #0 [2001:db8::1]:443",
            "4 done connected #0",
        ],
    );
}

#[test]
fn report_keeps_each_query_answer_time_and_addresses() {
    let sim = host()
        .answer(Aaaa, ms(12), [V6])
        .answer(A, ms(7), [V4])
        .behavior(V6, Behavior::Connects(ms(1)))
        .run()
        .unwrap();
    let r = &sim.report;
    let aaaa = &r.queries[0];
    assert_eq!(aaaa.answered().map(|t| r.offset(t)), Some(ms(12)));
    assert_eq!(aaaa.addresses, [V6.parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(r.queries[1].answered().map(|t| r.offset(t)), Some(ms(7)));
    assert_eq!(r.finished.map(|t| r.offset(t)), Some(ms(13)));
}

/// HE-3.4 at the engine's level: each query's answer is handled on its own, whenever it
/// comes; the drivers run one resolver call per family in parallel.
#[test]
fn he_3_4_answers_handled_independently_in_any_order() {
    for (aaaa_at, a_at, first) in [
        (10, 300, "10 connect #0 [2001:db8::1]:443"),
        (300, 10, "60 connect #0 192.0.2.1:443"),
    ] {
        let sim = host()
            .answer(Aaaa, ms(aaaa_at), [V6])
            .answer(A, ms(a_at), [V4])
            .run()
            .unwrap();
        assert_eq!(sim.lines()[2], first);
    }
}
