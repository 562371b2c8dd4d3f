//! History as the engine's input (RFC 8305 §4-5, HEv3 §5.3 and §6): the RTT and used-address
//! sort rules, the demotion of recently failed endpoints, the RTT-derived Connection Attempt
//! Delay and its clamps, and what a finished race teaches a store. Virtual time, exact
//! timestamps.

mod common;

use std::time::Duration;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    DnsResult, Endpoint, FailureKind, History, Lesson, PathFacts, PathFailure, RecordType, Rtt,
    Target,
};

const V6A: &str = "2001:db8::a";
const V6B: &str = "2001:db8::b";
const V4: &str = "198.18.0.1";

fn rtt(srtt: u64, rttvar: u64) -> PathFacts {
    PathFacts::rtt(Rtt {
        srtt: ms(srtt),
        rttvar: ms(rttvar),
    })
}

fn tcp(addr: &str) -> Endpoint {
    Endpoint::tcp(sa(addr))
}

fn stalled() -> PathFacts {
    PathFacts::failed(PathFailure::Stalled)
}

/// Two IPv6 answers that tie through RFC 6724 rule 8, and no A record.
fn two_v6() -> Scenario {
    Scenario::host("h.test", 443)
        .answer(RecordType::Aaaa, ms(1), [V6A, V6B])
        .dns(RecordType::A, ms(1), DnsResult::NoData)
}

/// HE-4.3, V3-5.3.2: between rules 8 and 9, the lower smoothed RTT goes first (checklist:
/// A = 100 ms, B = 10 ms: B first).
#[test]
fn he_4_3_the_lower_rtt_goes_first() {
    let sim = expect(
        two_v6()
            .history(
                History::new()
                    .with(sa("[2001:db8::a]:443"), rtt(100, 10))
                    .with(sa("[2001:db8::b]:443"), rtt(10, 2)),
            )
            .behavior(V6A, Behavior::Connects(ms(100))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::b]:443",
            // B's RTO is 10 + 4·2 = 18 ms, raised to the 100 ms minimum (HE-5.11).
            "101 connect #1 [2001:db8::a]:443",
            "201 abort #0",
            "201 done connected #1",
        ],
    );
    assert!(sim.report.history_reordered);
    assert_eq!(sim.report.attempts[0].history, Some(rtt(10, 2)));
}

/// HE-4.3: an endpoint with an RTT estimate goes before one without.
#[test]
fn he_4_3_a_known_rtt_goes_before_an_unknown_one() {
    expect(
        two_v6()
            .history(History::new().with(sa("[2001:db8::b]:443"), rtt(80, 10)))
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::b]:443",
            "6 done connected #0",
        ],
    );
}

/// HE-4.4: with RTTs equal or unknown, the endpoint that won the host's latest race goes
/// first.
#[test]
fn he_4_4_the_used_address_goes_first() {
    let sim = expect(
        two_v6()
            .history(History::new().with(sa("[2001:db8::b]:443"), PathFacts::default().used(true)))
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::b]:443",
            "6 done connected #0",
        ],
    );
    assert!(sim.report.history_reordered);
    // RTT first, then use: a lower RTT beats the used mark.
    expect(
        two_v6()
            .history(
                History::new()
                    .with(sa("[2001:db8::a]:443"), rtt(10, 1))
                    .with(sa("[2001:db8::b]:443"), rtt(50, 1).used(true)),
            )
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::a]:443",
            "6 done connected #0",
        ],
    );
}

/// History that agrees with the RFC 6724 order changes nothing, and says so.
#[test]
fn history_that_agrees_is_not_reported_as_reordering() {
    let sim = expect(
        two_v6()
            .history(History::new().with(sa("[2001:db8::a]:443"), rtt(10, 1)))
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::a]:443",
            "6 done connected #0",
        ],
    );
    assert!(!sim.report.history_reordered);
}

/// RFC 6724 rule 1 ("known to be unreachable") with history: a family whose endpoint
/// recently stalled no longer leads; the working family goes first and the second connect to
/// a host with black-holed IPv6 costs one handshake.
#[test]
fn a_recently_failed_endpoint_no_longer_leads() {
    let sim = expect(
        Scenario::host("h.test", 443)
            .answer(RecordType::Aaaa, ms(1), [V6A])
            .answer(RecordType::A, ms(1), [V4])
            .history(History::new().with(sa("[2001:db8::a]:443"), stalled()))
            .behavior(V4, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 198.18.0.1:443",
            "6 done connected #0",
        ],
    );
    assert!(sim.report.history_reordered);
}

/// The demoted endpoint is still tried, last: when the working one fails too, the race goes on.
#[test]
fn a_demoted_endpoint_is_still_tried_last() {
    expect(
        Scenario::host("h.test", 443)
            .answer(RecordType::Aaaa, ms(1), [V6A])
            .answer(RecordType::A, ms(1), [V4])
            .history(History::new().with(
                sa("[2001:db8::a]:443"),
                PathFacts::failed(PathFailure::Failed(FailureKind::Refused)),
            ))
            .behavior(V4, Behavior::refuses(ms(3)))
            .behavior(V6A, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 198.18.0.1:443",
            // The failure lets the next start at the 10 ms floor (checklist D1, HE-5.10).
            "11 connect #1 [2001:db8::a]:443",
            "16 done connected #1",
        ],
    );
}

/// An AAAA answer whose only address history demotes does not start the race at once (as
/// a usable one would, HE-3.5): the A answer is awaited, up to the Resolution Delay.
#[test]
fn a_demoted_preferred_answer_waits_for_the_other_family() {
    expect(
        Scenario::host("h.test", 443)
            .answer(RecordType::Aaaa, ms(1), [V6A])
            .answer(RecordType::A, ms(20), [V4])
            .history(History::new().with(sa("[2001:db8::a]:443"), stalled()))
            .behavior(V4, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "20 connect #0 198.18.0.1:443",
            "25 done connected #0",
        ],
    );
    // A later than the Resolution Delay (50 ms after the AAAA answer): the demoted address is
    // tried then, and the A answer joins the race (HE-6.3).
    expect(
        Scenario::host("h.test", 443)
            .answer(RecordType::Aaaa, ms(1), [V6A])
            .answer(RecordType::A, ms(80), [V4])
            .history(History::new().with(sa("[2001:db8::a]:443"), stalled()))
            .behavior(V4, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "51 connect #0 [2001:db8::a]:443",
            "301 connect #1 198.18.0.1:443",
            "306 abort #0",
            "306 done connected #1",
        ],
    );
}

/// HE-5.8, V3-6.5: the delay after an attempt whose path has an RTT estimate is its RTO
/// (srtt 20 ms, rttvar 5 ms: 40 ms), raised to the Minimum Connection Attempt Delay (100 ms
/// by default, HE-5.11) ...
#[test]
fn he_5_8_the_delay_is_the_rto_clamped_to_the_minimum() {
    let sim = expect(
        two_v6()
            .history(History::new().with(sa("[2001:db8::a]:443"), rtt(20, 5)))
            .behavior(V6B, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::a]:443",
            "101 connect #1 [2001:db8::b]:443",
            "106 abort #0",
            "106 done connected #1",
        ],
    );
    assert_eq!(sim.report.attempts[0].attempt_delay, ms(100));
    // Without history the configured delay runs (HE-5.7).
    assert_eq!(sim.report.attempts[1].attempt_delay, ms(250));
}

/// ... exactly the RTO with a lower minimum (never below the 10 ms floor, HE-5.10) ...
#[test]
fn he_5_8_the_delay_is_the_rto_and_never_below_the_floor() {
    let low_min = config(|c| c.min_connection_attempt_delay = ms(10));
    expect(
        two_v6()
            .config(low_min.clone())
            .history(History::new().with(sa("[2001:db8::a]:443"), rtt(20, 5)))
            .behavior(V6B, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::a]:443",
            "41 connect #1 [2001:db8::b]:443",
            "46 abort #0",
            "46 done connected #1",
        ],
    );
    // A 1 ms path: RTO 1 + max(1 ms, 0) = 2 ms, raised to the floor.
    expect(
        two_v6()
            .config(low_min)
            .history(History::new().with(sa("[2001:db8::a]:443"), rtt(1, 0)))
            .behavior(V6B, Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::a]:443",
            "11 connect #1 [2001:db8::b]:443",
            "16 abort #0",
            "16 done connected #1",
        ],
    );
}

/// ... and lowered to the Maximum Connection Attempt Delay (2 s by default, HE-5.12), whatever
/// the estimate, `Duration::MAX` included.
#[test]
fn he_5_12_the_delay_is_lowered_to_the_maximum() {
    for srtt in [Duration::from_secs(5), Duration::MAX] {
        let facts = PathFacts::rtt(Rtt {
            srtt,
            rttvar: Duration::MAX,
        });
        expect(
            two_v6()
                .history(History::new().with(sa("[2001:db8::a]:443"), facts))
                .behavior(V6B, Behavior::Connects(ms(5))),
            &[
                "0 resolve q0 AAAA",
                "0 resolve q1 A",
                "1 connect #0 [2001:db8::a]:443",
                "2001 connect #1 [2001:db8::b]:443",
                "2006 abort #0",
                "2006 done connected #1",
            ],
        );
    }
}

/// History about other endpoints, or about the same address on another port, changes nothing.
#[test]
fn history_applies_to_its_own_endpoints_only() {
    let sim = expect(
        two_v6()
            .history(
                History::new()
                    .with(sa("[2001:db8::a]:80"), stalled())
                    .with(sa("[2001:db8::99]:443"), rtt(1, 1)),
            )
            .default_behavior(Behavior::Connects(ms(5))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::a]:443",
            "6 done connected #0",
        ],
    );
    assert!(!sim.report.history_reordered);
    assert_eq!(sim.report.attempts[0].history, None);
}

/// Addresses given by the caller are sorted with history too.
#[test]
fn history_orders_the_callers_addresses() {
    let target = Target::addresses([sa("[2001:db8::a]:443"), sa("198.18.0.1:443")]).unwrap();
    expect(
        Scenario::target(target)
            .history(History::new().with(sa("[2001:db8::a]:443"), stalled()))
            .default_behavior(Behavior::Connects(ms(5))),
        &["0 connect #0 198.18.0.1:443", "5 done connected #0"],
    );
}

/// What a race teaches: the winner's handshake time, and the attempt that stalled through its
/// whole delay while a later one won.
#[test]
fn lessons_of_a_black_holed_family() {
    let sim = Scenario::host("h.test", 443)
        .answer(RecordType::Aaaa, ms(1), [V6A])
        .answer(RecordType::A, ms(1), [V4])
        .behavior(V4, Behavior::Connects(ms(7)))
        .run()
        .unwrap();
    let lessons: Vec<Lesson> = sim.report.lessons().collect();
    assert_eq!(
        lessons,
        [
            Lesson::Failed {
                endpoint: tcp("[2001:db8::a]:443"),
                failure: PathFailure::Stalled
            },
            Lesson::Connected {
                endpoint: tcp("198.18.0.1:443"),
                rtt: ms(7)
            },
        ]
    );
}

/// Refusals and per-attempt timeouts are failures.
#[test]
fn lessons_of_failures() {
    let sim = Scenario::host("h.test", 443)
        .config(config(|c| c.attempt_timeout = Some(ms(30))))
        .answer(RecordType::Aaaa, ms(1), [V6A, V6B])
        .answer(RecordType::A, ms(1), [V4])
        .behavior(V6A, Behavior::refuses(ms(2)))
        .behavior(V6B, Behavior::Connects(ms(2)))
        .run()
        .unwrap();
    let lessons: Vec<Lesson> = sim.report.lessons().collect();
    assert_eq!(
        lessons,
        [
            Lesson::Failed {
                endpoint: tcp("[2001:db8::a]:443"),
                failure: PathFailure::Failed(FailureKind::Refused)
            },
            Lesson::Failed {
                endpoint: tcp("198.18.0.1:443"),
                failure: PathFailure::TimedOut
            },
            Lesson::Connected {
                endpoint: tcp("[2001:db8::b]:443"),
                rtt: ms(2)
            },
        ],
        "{:?}",
        sim.lines()
    );
}

/// An attempt overtaken before its delay ran out (a failure let the next one start sooner)
/// teaches nothing about its path; nor does a race that was cancelled.
#[test]
fn lessons_of_early_aborts_and_cancelled_races() {
    let sim = Scenario::host("h.test", 443)
        .answer(RecordType::Aaaa, ms(1), [V6A, V6B])
        .answer(RecordType::A, ms(1), [V4])
        // 2001:db8::a fails at 301 ms, 50 ms after 198.18.0.1 started (at 251 ms);
        // 2001:db8::b starts at once and wins at 303 ms: 198.18.0.1 had 52 of its 250 ms.
        .behavior(V6A, Behavior::unreachable(ms(300)))
        .behavior(V6B, Behavior::Connects(ms(2)))
        .run()
        .unwrap();
    let lessons: Vec<Lesson> = sim.report.lessons().collect();
    assert_eq!(
        lessons,
        [
            Lesson::Failed {
                endpoint: tcp("[2001:db8::a]:443"),
                failure: PathFailure::Failed(FailureKind::Unreachable)
            },
            Lesson::Connected {
                endpoint: tcp("[2001:db8::b]:443"),
                rtt: ms(2)
            },
        ],
        "{:?}",
        sim.lines()
    );
    let cancelled = Scenario::host("h.test", 443)
        .answer(RecordType::Aaaa, ms(1), [V6A])
        .answer(RecordType::A, ms(1), [V4])
        .cancel_at(ms(400))
        .run()
        .unwrap();
    assert_eq!(
        cancelled.report.lessons().count(),
        0,
        "a cancelled race teaches nothing"
    );
}

/// RFC 6298 §2: the first sample and the smoothing, checked against hand computation.
#[test]
fn rfc_6298_rtt_estimate() {
    let first = Rtt::first(ms(100));
    assert_eq!((first.srtt, first.rttvar), (ms(100), ms(50)));
    assert_eq!(first.rto(), ms(300));
    let next = first.update(ms(20));
    // RTTVAR = ¾·50 + ¼·80 = 57.5; SRTT = ⅞·100 + ⅛·20 = 90.
    assert_eq!(next.rttvar, Duration::from_micros(57_500));
    assert_eq!(next.srtt, ms(90));
    // Saturating: no overflow on any input.
    let huge = Rtt {
        srtt: Duration::MAX,
        rttvar: Duration::MAX,
    };
    assert_eq!(huge.rto(), Duration::MAX);
    let _ = huge.update(Duration::MAX).update(Duration::ZERO);
}
