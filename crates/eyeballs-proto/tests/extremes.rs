//! Extreme durations: no input makes the engine or the simulator panic. A deadline too far
//! away to be represented as an `Instant` is never reached, so `Some(Duration::MAX)` as a
//! timeout behaves like no timeout, and a scenario time near `Duration::MAX` never happens
//! within the run (which still ends).

mod common;

use std::time::{Duration, Instant};

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario, Simulation};
use eyeballs_proto::{
    Action, Config, ConfigError, DnsResult, Engine, RecordType, SetupError, Target,
};

const NS: Duration = Duration::from_nanos(1);

/// Every extreme value, named.
const EXTREMES: &[(&str, Duration)] = &[
    ("0", Duration::ZERO),
    ("1ns", NS),
    ("10ms", Duration::from_millis(10)),
    ("MAX", Duration::MAX),
    ("MAX-1ns", Duration::MAX.saturating_sub(NS)),
    ("u64::MAX s", Duration::from_secs(u64::MAX)),
    // The CLI's `--timeout 9223372036854775807s` of issue 9.
    ("i64::MAX s", Duration::from_secs(i64::MAX as u64)),
    ("2^62 s", Duration::from_secs(1 << 62)),
    ("u64::MAX ns", Duration::from_nanos(u64::MAX)),
];

/// Sets one duration field.
type Setter = fn(&mut Config, Duration);

/// Every duration field of `Config`, with a setter.
const FIELDS: &[(&str, Setter)] = &[
    ("resolution_delay", |c, d| c.resolution_delay = d),
    ("connection_attempt_delay", |c, d| {
        c.connection_attempt_delay = d
    }),
    ("min_connection_attempt_delay", |c, d| {
        c.min_connection_attempt_delay = d
    }),
    ("max_connection_attempt_delay", |c, d| {
        c.max_connection_attempt_delay = d
    }),
    ("attempt_timeout", |c, d| c.attempt_timeout = Some(d)),
    ("overall_timeout", |c, d| c.overall_timeout = Some(d)),
    ("resolve_timeout", |c, d| c.resolve_timeout = Some(d)),
];

/// A race every rule takes part in: A first, AAAA 20 ms later, a refusal, a black hole and a
/// winner.
fn base() -> Scenario {
    Scenario::host("example.test", 443)
        .answer(RecordType::A, ms(0), ["192.0.2.1"])
        .answer(RecordType::Aaaa, ms(20), ["2001:db8::a", "2001:db8::b"])
        .behavior("2001:db8::a", Behavior::refuses(ms(30)))
        .behavior("2001:db8::b", Behavior::Connects(ms(5)))
}

const BASE: &[&str] = &[
    "0 resolve q0 AAAA",
    "0 resolve q1 A",
    "20 connect #0 [2001:db8::a]:443",
    "50 connect #1 192.0.2.1:443",
    "300 connect #2 [2001:db8::b]:443",
    "305 abort #1",
    "305 done connected #2",
];

fn run(s: Scenario) -> Simulation {
    s.run().expect("scenario sets up")
}

/// Every field with every extreme value: `Engine::new` refuses exactly what `validate`
/// refuses, and a valid configuration runs to its end (or waits for an input that never
/// comes) without a panic, its poll_timeout never in the past.
#[test]
fn every_duration_field_with_every_extreme_value() {
    for &(field, set) in FIELDS {
        for &(name, value) in EXTREMES {
            let mut c = Config::default();
            set(&mut c, value);
            // The minimum may not exceed the maximum: raise the maximum with it.
            if field == "min_connection_attempt_delay" {
                c.max_connection_attempt_delay = value;
            }
            let case = format!("{field} = {name}");
            let t0 = Instant::now();
            let target = Target::host("example.test", 443).expect("valid host");
            match (c.validate(), Engine::new(target, c.clone(), t0)) {
                (Err(e), Err(got)) => {
                    assert_eq!(got, SetupError::Config(e), "{case}");
                    continue;
                }
                (Ok(()), Ok(mut engine)) => {
                    while engine.poll_action().is_some() {}
                    assert!(engine.poll_timeout().is_none_or(|t| t >= t0), "{case}");
                }
                (v, e) => panic!("{case}: validate {v:?} but Engine::new {e:?}"),
            }
            let sim = run(base().config(c));
            let lines = sim.lines();
            assert_eq!(lines[..2], BASE[..2], "{case}");
            if let Some(last) = sim.log.last() {
                assert!(
                    sim.report.outcome.is_none() || matches!(last.1, Action::Done(_)),
                    "{case}: {lines:?}"
                );
            }
        }
    }
}

/// Which values `validate` refuses among the extremes, named.
#[test]
fn extreme_values_validate_rejects() {
    let cases: &[(&str, Config, Option<ConfigError>)] = &[
        (
            "connection_attempt_delay = 0",
            config(|c| c.connection_attempt_delay = Duration::ZERO),
            Some(ConfigError::BelowFloor {
                field: "connection_attempt_delay",
                value: Duration::ZERO,
            }),
        ),
        (
            "connection_attempt_delay = 1ns",
            config(|c| c.connection_attempt_delay = NS),
            Some(ConfigError::BelowFloor {
                field: "connection_attempt_delay",
                value: NS,
            }),
        ),
        (
            "connection_attempt_delay = MAX",
            config(|c| c.connection_attempt_delay = Duration::MAX),
            None,
        ),
        (
            "min_connection_attempt_delay = MAX, max default",
            config(|c| c.min_connection_attempt_delay = Duration::MAX),
            Some(ConfigError::MinAboveMax {
                min: Duration::MAX,
                max: ms(2000),
            }),
        ),
        (
            "min and max_connection_attempt_delay = MAX",
            config(|c| {
                c.min_connection_attempt_delay = Duration::MAX;
                c.max_connection_attempt_delay = Duration::MAX;
            }),
            None,
        ),
        (
            "max_connection_attempt_delay = 0",
            config(|c| c.max_connection_attempt_delay = Duration::ZERO),
            Some(ConfigError::MinAboveMax {
                min: ms(100),
                max: Duration::ZERO,
            }),
        ),
        (
            "attempt_timeout = 0",
            config(|c| c.attempt_timeout = Some(Duration::ZERO)),
            Some(ConfigError::Zero {
                field: "attempt_timeout",
            }),
        ),
        (
            "every timeout = MAX",
            config(|c| {
                c.attempt_timeout = Some(Duration::MAX);
                c.overall_timeout = Some(Duration::MAX);
                c.resolve_timeout = Some(Duration::MAX);
                c.resolution_delay = Duration::MAX;
            }),
            None,
        ),
    ];
    for (name, c, expected) in cases {
        assert_eq!(c.validate().err(), *expected, "{name}");
    }
}

/// What an extreme value means, case by case, with the exact log.
#[test]
fn extreme_values_named_cases() {
    struct Case {
        name: String,
        scenario: Scenario,
        expected: &'static [&'static str],
    }
    let a_only = || {
        Scenario::host("example.test", 443)
            .answer(RecordType::A, ms(0), ["192.0.2.1"])
            .behavior("192.0.2.1", Behavior::Connects(ms(5)))
    };
    let late_aaaa = || {
        Scenario::host("example.test", 443)
            .answer(RecordType::A, ms(0), ["192.0.2.1"])
            .answer(RecordType::Aaaa, ms(300), ["2001:db8::a"])
            .default_behavior(Behavior::Connects(ms(5)))
    };
    let two = || {
        Scenario::target(
            Target::addresses([sa("[2001:db8::a]:443"), sa("192.0.2.1:443")])
                .expect("valid addresses"),
        )
    };
    let mut cases = Vec::new();
    for (value_name, value) in [
        ("MAX", Duration::MAX),
        ("MAX-1ns", Duration::MAX.saturating_sub(NS)),
        ("u64::MAX s", Duration::from_secs(u64::MAX)),
        ("i64::MAX s", Duration::from_secs(i64::MAX as u64)),
    ] {
        cases.extend([
            Case {
                name: format!("overall_timeout = {value_name} is no timeout"),
                scenario: base().config(config(|c| c.overall_timeout = Some(value))),
                expected: BASE,
            },
            Case {
                name: format!("attempt_timeout = {value_name} is no timeout"),
                scenario: base().config(config(|c| c.attempt_timeout = Some(value))),
                expected: BASE,
            },
            Case {
                name: format!("resolve_timeout = {value_name} is no timeout: AAAA is waited for forever, the \
                       Resolution Delay still ends"),
                scenario: a_only().config(config(|c| c.resolve_timeout = Some(value))),
                expected: &[
                    "0 resolve q0 AAAA",
                    "0 resolve q1 A",
                    "50 connect #0 192.0.2.1:443",
                    "55 cancel-resolve q0",
                    "55 done connected #0",
                ],
            },
            Case {
                name: format!("resolution_delay = {value_name} waits for AAAA"),
                scenario: late_aaaa().config(config(|c| c.resolution_delay = value)),
                expected: &[
                    "0 resolve q0 AAAA",
                    "0 resolve q1 A",
                    "300 connect #0 [2001:db8::a]:443",
                    "305 done connected #0",
                ],
            },
            Case {
                name: format!("connection_attempt_delay = {value_name}: the next attempt waits for a failure"),
                scenario: two()
                    .config(config(|c| c.connection_attempt_delay = value))
                    .behavior("2001:db8::a", Behavior::refuses(ms(500)))
                    .behavior("192.0.2.1", Behavior::Connects(ms(5))),
                expected: &[
                    "0 connect #0 [2001:db8::a]:443",
                    "500 connect #1 192.0.2.1:443",
                    "505 done connected #1",
                ],
            },
            Case {
                name: format!("connection_attempt_delay = {value_name}, black hole: waits forever, the run ends"),
                scenario: two().config(config(|c| c.connection_attempt_delay = value)),
                expected: &["0 connect #0 [2001:db8::a]:443"],
            },
            Case {
                name: format!("min and max_connection_attempt_delay = {value_name} change no configured delay"),
                scenario: base().config(config(|c| {
                    c.min_connection_attempt_delay = value;
                    c.max_connection_attempt_delay = value;
                })),
                expected: BASE,
            },
            Case {
                name: format!("sim: an AAAA answer at {value_name} never comes"),
                scenario: a_only().dns(
                    RecordType::Aaaa,
                    value,
                    DnsResult::addresses(["2001:db8::a".parse().expect("valid")]),
                ),
                expected: &[
                    "0 resolve q0 AAAA",
                    "0 resolve q1 A",
                    "50 connect #0 192.0.2.1:443",
                    "55 cancel-resolve q0",
                    "55 done connected #0",
                ],
            },
            Case {
                name: format!("sim: a connect after {value_name} never comes"),
                scenario: two()
                    .behavior("2001:db8::a", Behavior::Connects(value))
                    .behavior("192.0.2.1", Behavior::refuses(value))
                    .config(config(|c| c.overall_timeout = Some(ms(600)))),
                expected: &[
                    "0 connect #0 [2001:db8::a]:443",
                    "250 connect #1 192.0.2.1:443",
                    "600 abort #0",
                    "600 abort #1",
                    "600 done failed: the overall timeout ran out",
                ],
            },
            Case {
                name: format!("sim: a cancel at {value_name} never comes"),
                scenario: base().cancel_at(value),
                expected: BASE,
            },
        ]);
    }
    cases.extend([
        Case {
            name: "overall_timeout = 1ns".to_owned(),
            scenario: base().config(config(|c| c.overall_timeout = Some(NS))),
            expected: &[
                "0 resolve q0 AAAA",
                "0 resolve q1 A",
                "0.000001 cancel-resolve q0",
                "0.000001 done failed: the overall timeout ran out",
            ],
        },
        Case {
            name: "attempt_timeout = 1ns: each attempt times out, the next starts at the floor"
                .to_owned(),
            scenario: base().config(config(|c| c.attempt_timeout = Some(NS))),
            expected: &[
                "0 resolve q0 AAAA",
                "0 resolve q1 A",
                "20 connect #0 [2001:db8::a]:443",
                "20.000001 abort #0",
                "30 connect #1 192.0.2.1:443",
                "30.000001 abort #1",
                "40 connect #2 [2001:db8::b]:443",
                "40.000001 abort #2",
                "40.000001 done failed: every connection attempt failed",
            ],
        },
        Case {
            name: "resolve_timeout = 1ns: AAAA times out, IPv4 goes at once".to_owned(),
            scenario: a_only().config(config(|c| c.resolve_timeout = Some(NS))),
            expected: &[
                "0 resolve q0 AAAA",
                "0 resolve q1 A",
                "0.000001 cancel-resolve q0",
                "0.000001 connect #0 192.0.2.1:443",
                "5.000001 done connected #0",
            ],
        },
        Case {
            name: "resolution_delay = 0: IPv4 goes at once, IPv6 after the attempt delay"
                .to_owned(),
            scenario: base().config(config(|c| c.resolution_delay = Duration::ZERO)),
            expected: &[
                "0 resolve q0 AAAA",
                "0 resolve q1 A",
                "0 connect #0 192.0.2.1:443",
                "250 connect #1 [2001:db8::a]:443",
                "280 connect #2 [2001:db8::b]:443",
                "285 abort #0",
                "285 done connected #2",
            ],
        },
        Case {
            name: "sim: answers and behaviours after 0 and 1ns".to_owned(),
            scenario: Scenario::host("example.test", 443)
                .answer(RecordType::Aaaa, Duration::ZERO, ["2001:db8::a"])
                .answer(RecordType::A, NS, ["192.0.2.1"])
                .behavior("2001:db8::a", Behavior::refuses(Duration::ZERO))
                .behavior("192.0.2.1", Behavior::Connects(NS)),
            expected: &[
                "0 resolve q0 AAAA",
                "0 resolve q1 A",
                "0 connect #0 [2001:db8::a]:443",
                "10 connect #1 192.0.2.1:443",
                "10.000001 done connected #1",
            ],
        },
    ]);
    for case in cases {
        let sim = run(case.scenario);
        let got = sim.lines();
        assert_eq!(got, case.expected, "{}", case.name);
    }
}

/// An engine started near the far end of `Instant`'s range: deadlines that fit are kept, the
/// ones that do not are never.
#[test]
fn engine_started_near_the_end_of_time() {
    let Some(t0) = Instant::now().checked_add(Duration::from_secs(1 << 62)) else {
        return; // This platform's Instant does not reach that far.
    };
    let c = config(|c| {
        c.overall_timeout = Some(Duration::from_secs(1 << 62));
        c.attempt_timeout = Some(ms(100));
        c.resolve_timeout = Some(Duration::MAX);
    });
    let target =
        Target::addresses([sa("[2001:db8::a]:443"), sa("192.0.2.1:443")]).expect("valid addresses");
    let mut engine = Engine::new(target, c, t0).expect("valid setup");
    while engine.poll_action().is_some() {}
    assert_eq!(engine.poll_timeout(), Some(t0 + ms(100)));
    engine.handle_timeout(t0 + ms(100));
    let actions: Vec<String> = std::iter::from_fn(|| engine.poll_action())
        .map(|a| a.to_string())
        .collect();
    assert_eq!(actions, ["abort #0", "connect #1 192.0.2.1:443"]);
}
