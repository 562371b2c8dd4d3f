//! Invariants over random races: at most one winner, every attempt ends, no endpoint twice,
//! never two starts within 10 ms (HE-5.10), nothing after the end, no panic on any input,
//! extreme durations included (0, 1 ns, `Duration::MAX`, `MAX - 1ns`, `u64::MAX` seconds … in
//! every duration field of `Config` and every scenario time, and in the RTTs history gives).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use eyeballs_proto::sim::{Behavior, Scenario, Simulation};
use eyeballs_proto::{
    Action, AttemptEnd, AttemptResult, Config, Destination, DnsResult, Endpoint, Engine,
    FailureKind, FamilyPreference, History, Outcome, PathFacts, PathFailure, Protocol, RecordType,
    Rtt, ServiceRecord, SetupError, SourceAddr, Target, TargetError, ATTEMPT_DELAY_FLOOR,
};
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Durations at the edges of the type, none below 10 ms: 10 ms itself (the floor), and ones
/// too long to add to an `Instant`.
fn huge() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::MAX),
        Just(Duration::MAX - Duration::from_nanos(1)),
        Just(Duration::from_secs(u64::MAX)),
        Just(Duration::from_secs(i64::MAX as u64)),
        Just(Duration::from_secs(1 << 62)),
        Just(Duration::from_nanos(u64::MAX)),
    ]
}

/// Every extreme duration: zero, one nanosecond, the floor, and the huge ones.
fn extreme() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        Just(ms(10)),
        huge(),
    ]
}

/// A duration in milliseconds from `range`, now and then an extreme one (`floor`: only values
/// of at least `floor`).
fn duration(range: std::ops::Range<u64>, floor: Duration) -> BoxedStrategy<Duration> {
    prop_oneof![
        6 => range.prop_map(ms),
        1 => extreme().prop_filter("at least the floor", move |d| *d >= floor),
    ]
    .boxed()
}

/// A timeout: a normal one, none, or an extreme one (never zero, which is rejected).
fn timeout(range: std::ops::Range<u64>) -> impl Strategy<Value = Option<Duration>> {
    prop::option::of(duration(range, Duration::from_nanos(1)))
}

/// Addresses from a small pool, so that answers overlap and repeat.
fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (1u16..6).prop_map(|n| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n))),
        (1u8..6).prop_map(|n| IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))),
    ]
}

/// Source addresses of every kind, so that RFC 6724 sees known, unknown and unusable sources
/// mixed in one list.
fn source() -> impl Strategy<Value = SourceAddr> {
    prop_oneof![
        3 => Just(SourceAddr::Unknown),
        1 => Just(SourceAddr::Unreachable),
        2 => prop_oneof![
            Just("2001:db8::100"),
            Just("fe80::1"),
            Just("2002:c000:201::100"),
            Just("fd00::1"),
            Just("192.0.2.100"),
            Just("169.254.0.5"),
            Just("::ffff:192.0.2.100"),
        ]
        .prop_map(|s| SourceAddr::Addr(s.parse().expect("valid literal"))),
    ]
}

fn dns_result() -> impl Strategy<Value = DnsResult> {
    let dest = (ip(), source()).prop_map(|(ip, src)| Destination::with_source(ip, src));
    prop_oneof![
        4 => prop::collection::vec(dest, 0..6).prop_map(DnsResult::Addresses),
        1 => Just(DnsResult::NoData),
        1 => Just(DnsResult::NxDomain),
        1 => Just(DnsResult::ServFail),
        1 => Just(DnsResult::Error),
        1 => Just(DnsResult::TimedOut),
    ]
}

fn behavior() -> impl Strategy<Value = Behavior> {
    prop_oneof![
        at(0..800).prop_map(Behavior::Connects),
        at(0..800).prop_map(Behavior::refuses),
        at(0..800).prop_map(Behavior::unreachable),
        Just(Behavior::BlackHole),
        // V3-6.1.5: transport done, then the security handshake (or never).
        (at(0..800), prop_oneof![at(0..1600), Just(Duration::MAX)])
            .prop_map(|(transport, total)| Behavior::Secures(transport, total.max(transport))),
    ]
}

fn family() -> impl Strategy<Value = FamilyPreference> {
    prop_oneof![
        Just(FamilyPreference::PreferIpv6),
        Just(FamilyPreference::PreferIpv4),
        Just(FamilyPreference::Ipv6Only),
        Just(FamilyPreference::Ipv4Only),
    ]
}

/// Valid configurations over the whole range of every field, the 10 ms edges and extreme
/// durations included.
fn config() -> BoxedStrategy<Config> {
    (
        (
            duration(0..200, Duration::ZERO),
            duration(10..600, ms(10)),
            duration(10..150, ms(10)),
            duration(0..3000, Duration::ZERO),
        ),
        (1usize..4, family()),
        (timeout(1..1500), timeout(1..3000), timeout(1..2000)),
        (prop::option::of(1usize..4), 1usize..12, any::<bool>()),
    )
        .prop_map(
            |((rd, cad, min, max_extra), (count, family), (at, ot, rt), (cap, max_ep, quic))| {
                let mut c = Config::default();
                c.resolution_delay = rd;
                c.connection_attempt_delay = cad;
                c.min_connection_attempt_delay = min;
                c.max_connection_attempt_delay = min.saturating_add(max_extra);
                c.first_address_family_count = count;
                c.family = family;
                c.attempt_timeout = at;
                c.overall_timeout = ot;
                c.resolve_timeout = rt;
                c.max_attempts_in_flight = cap;
                c.max_endpoints = max_ep;
                if quic {
                    // A known h3 service (V3-6.5): every address gets a QUIC endpoint too,
                    // which history knows apart from the TCP one.
                    c.alpn = vec!["h2".into()];
                    c.quic_alpn = vec!["h3".into()];
                    c.services = vec![ServiceRecord::service(1).with_alpn(["h3", "h2"])];
                }
                c
            },
        )
        .boxed()
}

/// Any configuration, valid or not: every duration field from the extremes or a small range.
fn any_config() -> BoxedStrategy<Config> {
    let d = || prop_oneof![extreme(), (0u64..300).prop_map(ms)];
    (
        (d(), d(), d(), d()),
        (
            prop::option::of(d()),
            prop::option::of(d()),
            prop::option::of(d()),
        ),
    )
        .prop_map(|((rd, cad, min, max), (at, ot, rt))| {
            let mut c = Config::default();
            c.resolution_delay = rd;
            c.connection_attempt_delay = cad;
            c.min_connection_attempt_delay = min;
            c.max_connection_attempt_delay = max;
            c.attempt_timeout = at;
            c.overall_timeout = ot;
            c.resolve_timeout = rt;
            c
        })
        .boxed()
}

/// A scenario time: mostly within the race, now and then an extreme one.
fn at(range: std::ops::Range<u64>) -> impl Strategy<Value = Duration> {
    duration(range, Duration::ZERO)
}

fn scenario() -> BoxedStrategy<Scenario> {
    let host = (
        prop::collection::vec(
            (
                prop_oneof![Just(RecordType::Aaaa), Just(RecordType::A)],
                at(0..600),
                dns_result(),
            ),
            0..5,
        ),
        prop::collection::vec(prop_oneof![Just(443u16), Just(8443u16)], 1..3),
    )
        .prop_map(|(answers, ports)| {
            let target = Target::host_with_ports("example.test", &ports);
            let mut s = Scenario::target(target.expect("valid name and ports"));
            for (record, after, result) in answers {
                s = s.dns(record, after, result);
            }
            s
        });
    let addrs = prop::collection::vec((ip(), prop_oneof![Just(443u16), Just(80u16)]), 1..8)
        .prop_map(|list| {
            let addrs = list.into_iter().map(|(ip, port)| SocketAddr::new(ip, port));
            Scenario::target(Target::addresses(addrs).expect("non-empty, no port 0"))
        });
    (
        prop_oneof![host, addrs],
        config(),
        prop::collection::vec((ip(), behavior()), 0..10),
        behavior(),
        prop::option::of(at(0..2000)),
        history(),
    )
        .prop_map(|(s, config, behaviors, default, cancel, history)| {
            let mut s = s.config(config).default_behavior(default).history(history);
            for (ip, b) in behaviors {
                s = s.behavior(&ip.to_string(), b);
            }
            if let Some(at) = cancel {
                s = s.cancel_at(at);
            }
            s
        })
        .boxed()
}

/// What history knows: facts about generated endpoints of both protocols, RTTs of any size
/// (`Duration::MAX` included), failures, the used mark.
fn history() -> impl Strategy<Value = History> {
    let rtt = prop_oneof![
        Just(None),
        (extreme(), extreme()).prop_map(|(srtt, rttvar)| Some(Rtt { srtt, rttvar })),
        (0u64..500, 0u64..200).prop_map(|(s, v)| Some(Rtt {
            srtt: ms(s),
            rttvar: ms(v)
        })),
    ];
    let failed = prop_oneof![
        Just(None),
        Just(Some(PathFailure::Stalled)),
        Just(Some(PathFailure::TimedOut)),
        Just(Some(PathFailure::Failed(FailureKind::Refused))),
    ];
    prop::collection::vec(
        (
            ip(),
            prop_oneof![Just(443u16), Just(80u16), Just(8443u16)],
            prop_oneof![Just(Protocol::Tcp), Just(Protocol::Quic)],
            rtt,
            failed,
            any::<bool>(),
        ),
        0..6,
    )
    .prop_map(|paths| {
        paths
            .into_iter()
            .map(|(ip, port, protocol, rtt, failed, used)| {
                let mut facts = PathFacts::default().used(used);
                facts.rtt = rtt;
                facts.failed = failed;
                let addr = SocketAddr::new(ip, port);
                (Endpoint { addr, protocol }, facts)
            })
            .collect()
    })
}

/// Runs a generated scenario; `None` only for a single-family configuration with addresses of
/// the other family only, the one setup error the generators can produce.
fn run(s: &Scenario) -> Option<Simulation> {
    match s.run() {
        Ok(sim) => Some(sim),
        Err(SetupError::Target(TargetError::NoAddressOfFamily)) => None,
        Err(e) => panic!("generated scenario refused: {e}"),
    }
}

fn check_invariants(sim: &Simulation, must_finish: bool) -> Result<(), TestCaseError> {
    let report = &sim.report;
    // At most one winner, and it is the outcome's.
    let winners: Vec<_> = report
        .attempts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.end == Some(AttemptEnd::Connected))
        .map(|(i, _)| i)
        .collect();
    prop_assert!(winners.len() <= 1, "two winners: {:?}", winners);
    match report.outcome {
        Some(Outcome::Connected { id, .. }) => prop_assert_eq!(winners, vec![id.index()]),
        _ => prop_assert!(winners.is_empty()),
    }
    // Exactly one Done, and after it nothing but Close.
    let done_at: Vec<usize> = sim
        .log
        .iter()
        .enumerate()
        .filter(|(_, (_, a))| matches!(a, Action::Done(_)))
        .map(|(i, _)| i)
        .collect();
    prop_assert!(done_at.len() <= 1);
    if let Some(&i) = done_at.first() {
        for (_, a) in &sim.log[i + 1..] {
            prop_assert!(matches!(a, Action::Close { .. }), "{a} after done");
        }
        // Every attempt and every query has ended.
        prop_assert!(report.attempts.iter().all(|a| a.end.is_some()));
        prop_assert!(report.queries.iter().all(|q| q.outcome.is_some()));
        prop_assert!(report.finished.is_some());
    } else {
        prop_assert!(!must_finish, "a race with an overall timeout did not end");
    }
    // No endpoint attempted twice.
    let mut seen = HashSet::new();
    for a in &report.attempts {
        prop_assert!(seen.insert(a.endpoint), "{} attempted twice", a.endpoint);
    }
    // Starts in order, never two within the 10 ms floor (HE-5.10).
    for pair in report.attempts.windows(2) {
        let gap = pair[1].started.saturating_duration_since(pair[0].started);
        prop_assert!(
            pair[1].started >= pair[0].started && gap >= ATTEMPT_DELAY_FLOOR,
            "starts {:?} apart",
            gap
        );
    }
    // Every attempt ends at or after its start.
    for a in &report.attempts {
        if let Some(end) = a.ended {
            prop_assert!(end >= a.started);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_races_keep_every_invariant(s in scenario()) {
        let Some(sim) = run(&s) else { return Ok(()) };
        check_invariants(&sim, false)?;
    }

    #[test]
    fn races_with_an_overall_timeout_always_end(s in scenario(), limit in 1u64..5000) {
        let s = s.config({
            let mut c = Config::default();
            c.overall_timeout = Some(ms(limit));
            c
        });
        let Some(sim) = run(&s) else { return Ok(()) };
        check_invariants(&sim, true)?;
    }

    /// Any configuration, extreme durations in every field: `Engine::new` refuses exactly
    /// what `validate` refuses, and a valid one runs a random scenario to its end (or to a
    /// wait for an input that never comes) without a panic.
    #[test]
    fn any_config_is_refused_or_runs(c in any_config(), s in scenario()) {
        let valid = c.validate();
        let s = s.config(c);
        match (valid, s.run()) {
            (Ok(()), Ok(sim)) => check_invariants(&sim, false)?,
            (Ok(()), Err(SetupError::Target(TargetError::NoAddressOfFamily))) => {}
            (Err(e), Err(got)) => prop_assert_eq!(got, SetupError::Config(e)),
            (v, got) => prop_assert!(false, "validate {:?} but run {:?}", v, got.err()),
        }
    }

    #[test]
    fn same_scenario_same_log(s in scenario()) {
        let (Some(a), Some(b)) = (run(&s), run(&s)) else { return Ok(()) };
        prop_assert_eq!(a.lines(), b.lines());
    }
}

/// One raw input to the engine, ids picked from the ids it issued or made up.
#[derive(Debug, Clone)]
enum RawInput {
    Dns {
        query: usize,
        result: DnsResult,
    },
    Attempt {
        attempt: usize,
        result: AttemptResult,
    },
    Timeout,
    Cancel,
}

enum Kind {
    Timeout,
    Other,
}

/// How the time moves between two inputs.
#[derive(Debug, Clone, Copy)]
enum Step {
    Forward(Duration),
    Back(Duration),
}

/// Mostly small steps either way, now and then an extreme jump forward (to the far end of
/// `Instant`'s range, where most deadlines can no longer be represented).
fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => (0u64..400).prop_map(|n| Step::Forward(ms(n))),
        5 => (1u64..50).prop_map(|n| Step::Back(ms(n))),
        1 => extreme().prop_map(Step::Forward),
    ]
}

fn raw_input() -> impl Strategy<Value = RawInput> {
    let attempt_result = prop_oneof![
        Just(AttemptResult::Connected),
        Just(AttemptResult::Failed(FailureKind::Refused)),
        Just(AttemptResult::Failed(FailureKind::Other)),
    ];
    prop_oneof![
        4 => (0usize..4, dns_result()).prop_map(|(query, result)| RawInput::Dns { query, result }),
        4 => (0usize..12, attempt_result)
            .prop_map(|(attempt, result)| RawInput::Attempt { attempt, result }),
        3 => Just(RawInput::Timeout),
        1 => Just(RawInput::Cancel),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Arbitrary inputs in arbitrary order, with time jumping forwards and backwards: the
    /// engine never panics, never emits anything but Close after Done, never starts two
    /// attempts within the floor, and unknown ids are errors.
    #[test]
    fn arbitrary_inputs_never_break_the_engine(
        config in config(),
        host in any::<bool>(),
        inputs in prop::collection::vec((raw_input(), step()), 0..60),
    ) {
        let t0 = Instant::now() + Duration::from_secs(1);
        let target = if host {
            Target::host("example.test", 443)
        } else {
            Target::addresses([
                "[2001:db8::1]:443".parse().unwrap(),
                "192.0.2.1:443".parse().unwrap(),
                "[2001:db8::2]:443".parse().unwrap(),
            ])
        }
        .unwrap();
        let Ok(mut engine) = Engine::new(target, config, t0) else {
            // Only Ipv*Only with no address of that family can fail here.
            return Ok(());
        };
        let mut queries = Vec::new();
        let mut attempts = Vec::new();
        let mut now = t0;
        let mut done = false;
        let mut starts: Vec<Instant> = Vec::new();
        let mut latest = t0;
        let mut drain = |engine: &mut Engine, queries: &mut Vec<_>, attempts: &mut Vec<_>,
                         done: &mut bool, latest: Instant| -> Result<(), TestCaseError> {
            while let Some(action) = engine.poll_action() {
                match action {
                    Action::Resolve { id, .. } => {
                        prop_assert!(!*done);
                        queries.push(id);
                    }
                    Action::Connect { id, .. } => {
                        prop_assert!(!*done);
                        if let Some(&prev) = starts.last() {
                            prop_assert!(latest >= prev + ATTEMPT_DELAY_FLOOR);
                        }
                        starts.push(latest);
                        attempts.push(id);
                    }
                    Action::Done(_) => {
                        prop_assert!(!*done, "two Done actions");
                        *done = true;
                    }
                    Action::Abort { .. } | Action::CancelResolve { .. } => prop_assert!(!*done),
                    Action::Close { .. } => {}
                    _ => {}
                }
            }
            Ok(())
        };
        drain(&mut engine, &mut queries, &mut attempts, &mut done, latest)?;
        for (input, step) in inputs {
            // A jump too far for an Instant leaves the time as it is.
            now = match step {
                Step::Forward(d) => now.checked_add(d).unwrap_or(now),
                Step::Back(d) => now.checked_sub(d).unwrap_or(now),
            };
            let input_kind = match input {
                RawInput::Timeout => Kind::Timeout,
                _ => Kind::Other,
            };
            let delivered = match input {
                RawInput::Dns { query, result } => queries
                    .get(query)
                    .map(|&id| engine.handle_dns(now, id, result).expect("known id"))
                    .is_some(),
                RawInput::Attempt { attempt, result } => attempts
                    .get(attempt)
                    .map(|&id| engine.handle_attempt(now, id, result).expect("known id"))
                    .is_some(),
                RawInput::Timeout => {
                    engine.handle_timeout(now);
                    true
                }
                RawInput::Cancel => {
                    engine.cancel(now);
                    true
                }
            };
            if delivered {
                // The engine's clock: the latest time it was given.
                latest = latest.max(now);
            }
            drain(&mut engine, &mut queries, &mut attempts, &mut done, latest)?;
            if matches!(input_kind, Kind::Timeout) {
                // Every deadline up to now was acted on: the next one is in the future.
                prop_assert!(engine.poll_timeout().is_none_or(|t| t > latest));
            }
            if done {
                prop_assert!(engine.poll_timeout().is_none());
            }
        }
        prop_assert_eq!(done, engine.is_done());
    }
}
