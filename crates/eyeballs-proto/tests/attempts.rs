//! RFC 8305 §5, connection attempts: HE-5.1 … HE-5.12, checklist D1 and D4, the caps, cancel.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    Action, AttemptEnd, AttemptResult, Config, Engine, FailureKind, Outcome, Target,
};

const A6: &str = "[2001:db8::a]:443";
const B6: &str = "[2001:db8::b]:443";
const A4: &str = "192.0.2.1:443";
const B4: &str = "192.0.2.2:443";

/// A race to the given socket addresses (already interleaved in the order written when they
/// alternate families, since RFC 6724 keeps equal addresses in order).
fn addrs(list: &[&str]) -> Scenario {
    let addrs = list.iter().map(|s| s.parse::<SocketAddr>().unwrap());
    Scenario::target(Target::addresses(addrs).unwrap())
}

#[test]
fn he_5_1_and_he_5_7_attempts_staggered_250ms_apart() {
    expect(
        addrs(&[A6, A4, B6, B4]).config(config(|c| c.overall_timeout = Some(ms(1000)))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
            "750 connect #3 192.0.2.2:443",
            "1000 abort #0",
            "1000 abort #1",
            "1000 abort #2",
            "1000 abort #3",
            "1000 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn he_5_2_new_attempt_does_not_cancel_earlier_one() {
    expect(
        addrs(&[A6, A4]).behavior(A6, Behavior::Connects(ms(400))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "400 abort #1",
            "400 done connected #0",
        ],
    );
}

#[test]
fn he_5_3_and_he_5_4_success_cancels_others_and_ignores_the_rest() {
    let sim = expect(
        addrs(&[A6, A4, B6, B4]).behavior(A4, Behavior::Connects(ms(10))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "260 abort #0",
            "260 done connected #1",
        ],
    );
    let ends: Vec<_> = sim.report.attempts.iter().map(|a| a.end).collect();
    assert_eq!(
        ends,
        [Some(AttemptEnd::Aborted), Some(AttemptEnd::Connected)]
    );
    assert_eq!(
        sim.report.winner().map(|a| a.endpoint.addr),
        Some(A4.parse().unwrap())
    );
}

#[test]
fn d1_failure_starts_next_attempt_at_once() {
    expect(
        addrs(&[A6, A4])
            .behavior(A6, Behavior::refuses(ms(30)))
            .behavior(A4, Behavior::Connects(ms(10))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "30 connect #1 192.0.2.1:443",
            "40 done connected #1",
        ],
    );
}

#[test]
fn d1_failure_of_an_earlier_attempt_also_starts_the_next_at_once() {
    expect(
        addrs(&[A6, A4, B6])
            .behavior(A6, Behavior::unreachable(ms(300)))
            .behavior(B6, Behavior::Connects(ms(5))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "300 connect #2 [2001:db8::b]:443",
            "305 abort #1",
            "305 done connected #2",
        ],
    );
}

#[test]
fn he_5_10_fast_failure_still_waits_for_the_10ms_floor() {
    expect(
        addrs(&[A6, A4, B6])
            .behavior(A6, Behavior::refuses(ms(3)))
            .behavior(A4, Behavior::refuses(ms(1)))
            .behavior(B6, Behavior::Connects(ms(1))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "10 connect #1 192.0.2.1:443",
            "20 connect #2 [2001:db8::b]:443",
            "21 done connected #2",
        ],
    );
}

#[test]
fn he_5_10_smallest_configurable_delay_is_the_floor() {
    expect(
        addrs(&[A6, A4, B6]).config(config(|c| {
            c.connection_attempt_delay = ms(10);
            c.min_connection_attempt_delay = ms(10);
            c.overall_timeout = Some(ms(25));
        })),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "10 connect #1 192.0.2.1:443",
            "20 connect #2 [2001:db8::b]:443",
            "25 abort #0",
            "25 abort #1",
            "25 abort #2",
            "25 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn he_5_11_configured_delay_below_minimum_is_used_as_given() {
    // The 100 ms minimum bounds derived delays only: a configured 50 ms gives 50 ms.
    expect(
        addrs(&[A6, A4]).config(config(|c| {
            c.connection_attempt_delay = ms(50);
            c.overall_timeout = Some(ms(150));
        })),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "50 connect #1 192.0.2.1:443",
            "150 abort #0",
            "150 abort #1",
            "150 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn he_5_12_configured_delay_above_maximum_is_used_as_given() {
    // The 2 s maximum bounds derived delays only: a configured 5 s gives 5 s.
    expect(
        addrs(&[A6, A4])
            .config(config(|c| c.connection_attempt_delay = ms(5000)))
            .behavior(A4, Behavior::Connects(ms(1))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "5000 connect #1 192.0.2.1:443",
            "5001 abort #0",
            "5001 done connected #1",
        ],
    );
}

#[test]
fn d4_attempt_timeout_fails_the_attempt_and_starts_the_next() {
    let sim = expect(
        addrs(&[A6, A4, B6]).config(config(|c| c.attempt_timeout = Some(ms(100)))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "100 abort #0",
            "100 connect #1 192.0.2.1:443",
            "200 abort #1",
            "200 connect #2 [2001:db8::b]:443",
            "300 abort #2",
            "300 done failed: every connection attempt failed",
        ],
    );
    assert!(sim
        .report
        .attempts
        .iter()
        .all(|a| a.end == Some(AttemptEnd::TimedOut)));
}

#[test]
fn d4_every_attempt_failing_names_each_failure() {
    let sim = expect(
        addrs(&[A6, A4])
            .behavior(A6, Behavior::unreachable(ms(15)))
            .behavior(A4, Behavior::refuses(ms(2))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "15 connect #1 192.0.2.1:443",
            "17 done failed: every connection attempt failed",
        ],
    );
    let ends: Vec<_> = sim.report.attempts.iter().map(|a| a.end).collect();
    assert_eq!(
        ends,
        [
            Some(AttemptEnd::Failed(FailureKind::Unreachable)),
            Some(AttemptEnd::Failed(FailureKind::Refused))
        ]
    );
}

#[test]
fn overall_timeout_counts_resolution_too() {
    expect(
        Scenario::host("example.test", 443).config(config(|c| c.overall_timeout = Some(ms(300)))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "300 cancel-resolve q0",
            "300 cancel-resolve q1",
            "300 done failed: the overall timeout ran out",
        ],
    );
}

#[test]
fn max_attempts_in_flight_one_makes_attempts_sequential() {
    expect(
        addrs(&[A6, A4, B6])
            .config(config(|c| {
                c.max_attempts_in_flight = Some(1);
                c.attempt_timeout = Some(ms(400));
            }))
            .behavior(B6, Behavior::Connects(ms(1))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "400 abort #0",
            "400 connect #1 192.0.2.1:443",
            "800 abort #1",
            "800 connect #2 [2001:db8::b]:443",
            "801 done connected #2",
        ],
    );
}

#[test]
fn max_attempts_in_flight_waits_for_a_free_slot() {
    expect(
        addrs(&[A6, A4, B6])
            .config(config(|c| c.max_attempts_in_flight = Some(2)))
            .behavior(A6, Behavior::refuses(ms(600)))
            .behavior(B6, Behavior::Connects(ms(1))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "600 connect #2 [2001:db8::b]:443",
            "601 abort #1",
            "601 done connected #2",
        ],
    );
}

#[test]
fn cancel_mid_race_aborts_every_attempt() {
    let sim = expect(
        addrs(&[A6, A4, B6]).cancel_at(ms(300)),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "300 abort #0",
            "300 abort #1",
            "300 done failed: cancelled",
        ],
    );
    assert!(sim
        .report
        .attempts
        .iter()
        .all(|a| a.end == Some(AttemptEnd::Aborted)));
}

#[test]
fn cancel_during_resolution_cancels_the_queries() {
    expect(
        Scenario::host("example.test", 443).cancel_at(ms(20)),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "20 cancel-resolve q0",
            "20 cancel-resolve q1",
            "20 done failed: cancelled",
        ],
    );
}

/// Drives the engine by hand: the simulator drops aborted attempts, but a real socket may
/// still connect in the instant the driver is told to abort it.
#[test]
fn late_winner_is_answered_with_close() {
    let t0 = Instant::now();
    let target = Target::addresses([A6.parse().unwrap(), A4.parse().unwrap()]).unwrap();
    let mut engine = Engine::new(target, Config::default(), t0).unwrap();
    let Some(Action::Connect { id: first, .. }) = engine.poll_action() else {
        panic!("first attempt expected at 0 ms");
    };
    engine.handle_timeout(t0 + ms(250));
    let Some(Action::Connect { id: second, .. }) = engine.poll_action() else {
        panic!("second attempt expected at 250 ms");
    };
    engine
        .handle_attempt(t0 + ms(260), second, AttemptResult::Connected)
        .unwrap();
    let actions: Vec<String> = std::iter::from_fn(|| engine.poll_action())
        .map(|a| a.to_string())
        .collect();
    assert_eq!(actions, ["abort #0", "done connected #1"]);

    engine
        .handle_attempt(t0 + ms(261), first, AttemptResult::Connected)
        .unwrap();
    assert_eq!(engine.poll_action(), Some(Action::Close { id: first }));
    assert_eq!(engine.poll_action(), None);
    // The winner stays the winner; a failure after the end changes nothing.
    engine
        .handle_attempt(
            t0 + ms(262),
            first,
            AttemptResult::Failed(FailureKind::Other),
        )
        .unwrap();
    assert_eq!(engine.poll_action(), None);
    assert!(matches!(
        engine.report().outcome,
        Some(Outcome::Connected { id, .. }) if id == second
    ));
    assert_eq!(engine.report().attempts[0].end, Some(AttemptEnd::Aborted));
}

#[test]
fn he_5_5_pending_queries_cancelled_after_success() {
    let sim = expect(
        Scenario::host("example.test", 443)
            .answer(eyeballs_proto::RecordType::Aaaa, ms(4), ["2001:db8::a"])
            .behavior("2001:db8::a", Behavior::Connects(ms(6))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "4 connect #0 [2001:db8::a]:443",
            "10 cancel-resolve q1",
            "10 done connected #0",
        ],
    );
    assert_eq!(
        sim.report.queries[1].outcome,
        Some(eyeballs_proto::DnsOutcome::Cancelled)
    );
}

#[test]
fn he_5_9_lower_bound_holds_for_every_start_trigger() {
    // Timer, failure and late answer all respect the floor: three failures 1 ms apart still
    // give starts 10 ms apart.
    expect(
        addrs(&[A6, A4, B6, B4])
            .behavior(A6, Behavior::refuses(ms(1)))
            .behavior(A4, Behavior::refuses(ms(1)))
            .behavior(B6, Behavior::refuses(ms(1)))
            .behavior(B4, Behavior::Connects(ms(1))),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "10 connect #1 192.0.2.1:443",
            "20 connect #2 [2001:db8::b]:443",
            "30 connect #3 192.0.2.2:443",
            "31 done connected #3",
        ],
    );
}
