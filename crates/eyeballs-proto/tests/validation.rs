//! Caller misuse gets typed errors, never panics: configuration rules (checklist §7, HE-5.10
//! to HE-5.12), target validation, IP literals, unknown ids, input after the end, and
//! `handle_timeout` at odd times. Virtual time, exact timestamps.

mod common;

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    Action, AttemptId, AttemptResult, Config, ConfigError, DnsOutcome, DnsResult, Engine,
    FailureKind, FamilyPreference, InputError, QueryId, RecordType, SetupError, Target,
    TargetError, ATTEMPT_DELAY_FLOOR,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test IP address parses")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test socket address parses")
}

/// A start time far enough from the clock's origin that going back in time is possible.
fn t0() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// Every queued action.
fn take_actions(engine: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| engine.poll_action()).collect()
}

fn lines(actions: &[Action]) -> Vec<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

/// Every queued action, as `Display` lines.
fn drain(engine: &mut Engine) -> Vec<String> {
    lines(&take_actions(engine))
}

/// The ids of the `Connect` actions, in order.
fn connect_ids(actions: &[Action]) -> Vec<AttemptId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connect { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

/// The ids of the `Resolve` actions, in order.
fn query_ids(actions: &[Action]) -> Vec<QueryId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Resolve { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

fn new_engine(target: Target, config: Config, now: Instant) -> Engine {
    Engine::new(target, config, now).expect("engine sets up")
}

fn setup_err(target: Target, config: Config) -> SetupError {
    Engine::new(target, config, t0()).expect_err("engine refuses")
}

fn host(name: &str) -> Result<Target, TargetError> {
    Target::host(name, 443)
}

fn invalid(name: &str, reason: &'static str) -> TargetError {
    TargetError::InvalidHost {
        name: name.to_owned(),
        reason,
    }
}

const BAD_CHAR: &str = "has a character other than letters, digits, '-' and '_'";
const EMPTY_LABEL: &str = "has an empty label";
const LONG_LABEL: &str = "has a label longer than 63 characters";
const LONG_NAME: &str = "longer than 253 characters";
const HYPHEN: &str = "has a label that starts or ends with '-'";

// ---------------------------------------------------------------------------------------------
// Config::validate (checklist §7, HE-5.10)
// ---------------------------------------------------------------------------------------------

#[test]
fn config_default_is_valid() {
    assert_eq!(Config::default().validate(), Ok(()));
    let c = Config::default();
    assert_eq!(c.connection_attempt_delay, ms(250));
    assert_eq!(c.min_connection_attempt_delay, ms(100));
    assert_eq!(c.max_connection_attempt_delay, ms(2000));
    assert_eq!(c.resolution_delay, ms(50));
    assert_eq!(c.first_address_family_count, 1);
    assert_eq!(c.max_endpoints, 64);
    assert_eq!(ATTEMPT_DELAY_FLOOR, ms(10));
}

#[test]
fn he_5_10_connection_attempt_delay_below_floor() {
    for value in [Duration::ZERO, ms(1), Duration::from_micros(9_999)] {
        let c = config(|c| c.connection_attempt_delay = value);
        assert_eq!(
            c.validate(),
            Err(ConfigError::BelowFloor {
                field: "connection_attempt_delay",
                value
            })
        );
    }
    // Exactly the floor is allowed, and used as given (HE-5.7).
    assert_eq!(
        config(|c| c.connection_attempt_delay = ms(10)).validate(),
        Ok(())
    );
}

#[test]
fn he_5_10_min_connection_attempt_delay_below_floor() {
    let c = config(|c| c.min_connection_attempt_delay = ms(9));
    assert_eq!(
        c.validate(),
        Err(ConfigError::BelowFloor {
            field: "min_connection_attempt_delay",
            value: ms(9)
        })
    );
    assert_eq!(
        config(|c| c.min_connection_attempt_delay = ms(10)).validate(),
        Ok(())
    );
    // The attempt delay is checked first.
    let c = config(|c| {
        c.connection_attempt_delay = ms(5);
        c.min_connection_attempt_delay = ms(5);
    });
    assert_eq!(
        c.validate(),
        Err(ConfigError::BelowFloor {
            field: "connection_attempt_delay",
            value: ms(5)
        })
    );
}

#[test]
fn he_5_12_min_above_max() {
    let c = config(|c| c.min_connection_attempt_delay = ms(3000));
    assert_eq!(
        c.validate(),
        Err(ConfigError::MinAboveMax {
            min: ms(3000),
            max: ms(2000)
        })
    );
    let c = config(|c| c.max_connection_attempt_delay = ms(99));
    assert_eq!(
        c.validate(),
        Err(ConfigError::MinAboveMax {
            min: ms(100),
            max: ms(99)
        })
    );
    // Equal is fine.
    assert_eq!(
        config(|c| c.max_connection_attempt_delay = ms(100)).validate(),
        Ok(())
    );
}

#[test]
fn config_zero_counts_and_timeouts() {
    let cases: [(Config, &str); 6] = [
        (
            config(|c| c.first_address_family_count = 0),
            "first_address_family_count",
        ),
        (config(|c| c.max_endpoints = 0), "max_endpoints"),
        (
            config(|c| c.max_attempts_in_flight = Some(0)),
            "max_attempts_in_flight",
        ),
        (
            config(|c| c.attempt_timeout = Some(Duration::ZERO)),
            "attempt_timeout",
        ),
        (
            config(|c| c.overall_timeout = Some(Duration::ZERO)),
            "overall_timeout",
        ),
        (
            config(|c| c.resolve_timeout = Some(Duration::ZERO)),
            "resolve_timeout",
        ),
    ];
    for (c, field) in cases {
        assert_eq!(c.validate(), Err(ConfigError::Zero { field }), "{field}");
    }
}

#[test]
fn config_allowed_edge_values() {
    let c = config(|c| {
        c.resolution_delay = Duration::ZERO;
        c.max_attempts_in_flight = Some(1);
        c.max_endpoints = 1;
        c.attempt_timeout = Some(Duration::from_nanos(1));
        c.overall_timeout = Some(Duration::from_nanos(1));
        c.resolve_timeout = None;
    });
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn config_error_messages() {
    let e = ConfigError::BelowFloor {
        field: "connection_attempt_delay",
        value: ms(1),
    };
    assert_eq!(
        e.to_string(),
        "connection_attempt_delay is 1ms, below the 10 ms floor between connection attempts \
         (RFC 8305 §5)"
    );
    let e = ConfigError::MinAboveMax {
        min: ms(300),
        max: ms(200),
    };
    assert_eq!(
        e.to_string(),
        "min_connection_attempt_delay (300ms) is above max_connection_attempt_delay (200ms)"
    );
    let e = ConfigError::Zero {
        field: "max_endpoints",
    };
    assert_eq!(e.to_string(), "max_endpoints must not be zero");
}

#[test]
fn he_5_7_configured_attempt_delay_is_used_as_given() {
    let delay = |f: fn(&mut Config)| config(f).attempt_delay();
    assert_eq!(delay(|_| {}), ms(250));
    // The minimum and maximum bound derived delays only (HE-5.11, HE-5.12).
    assert_eq!(delay(|c| c.connection_attempt_delay = ms(50)), ms(50));
    assert_eq!(delay(|c| c.connection_attempt_delay = ms(10)), ms(10));
    assert_eq!(delay(|c| c.connection_attempt_delay = ms(5000)), ms(5000));
    assert_eq!(delay(|c| c.max_connection_attempt_delay = ms(200)), ms(250));
    assert_eq!(
        delay(|c| c.connection_attempt_delay = Duration::MAX),
        Duration::MAX
    );
    // An unvalidated configuration below the floor still never goes under it (HE-5.10).
    assert_eq!(delay(|c| c.connection_attempt_delay = ms(1)), ms(10));
}

#[test]
fn he_5_11_he_5_12_derived_attempt_delay_is_clamped() {
    let clamp = |f: fn(&mut Config), derived| config(f).clamp_derived_attempt_delay(derived);
    // The checklist's hints: an RTT-derived 20 ms becomes 100 ms, 5 s becomes 2 s.
    assert_eq!(clamp(|_| {}, ms(20)), ms(100));
    assert_eq!(clamp(|_| {}, ms(5000)), ms(2000));
    assert_eq!(clamp(|_| {}, ms(300)), ms(300));
    assert_eq!(clamp(|_| {}, Duration::ZERO), ms(100));
    assert_eq!(clamp(|_| {}, Duration::MAX), ms(2000));
    // The minimum can be lowered to the floor, never below it (HE-5.9, HE-5.10).
    assert_eq!(
        clamp(|c| c.min_connection_attempt_delay = ms(10), ms(20)),
        ms(20)
    );
    assert_eq!(
        clamp(|c| c.min_connection_attempt_delay = ms(10), ms(1)),
        ms(10)
    );
    assert_eq!(
        clamp(|c| c.min_connection_attempt_delay = ms(1), ms(1)),
        ms(10)
    );
    // A configuration with the minimum above the maximum (rejected by validate) does not
    // panic: the maximum wins.
    assert_eq!(
        clamp(
            |c| {
                c.min_connection_attempt_delay = ms(3000);
                c.max_connection_attempt_delay = ms(200);
            },
            ms(20)
        ),
        ms(200)
    );
    // The configured delay plays no part in the clamp.
    assert_eq!(
        clamp(|c| c.connection_attempt_delay = ms(50), ms(20)),
        ms(100)
    );
}

#[test]
fn he_5_7_engine_uses_the_configured_delay_exactly() {
    let three = || {
        Target::addresses([
            sa("192.0.2.1:443"),
            sa("192.0.2.2:443"),
            sa("192.0.2.3:443"),
        ])
        .expect("valid addresses")
    };
    // 50 ms with the default minimum of 100 ms: 50 ms apart.
    expect(
        Scenario::target(three()).config(config(|c| c.connection_attempt_delay = ms(50))),
        &[
            "0 connect #0 192.0.2.1:443",
            "50 connect #1 192.0.2.2:443",
            "100 connect #2 192.0.2.3:443",
        ],
    );
    expect(
        Scenario::target(three()).config(config(|c| {
            c.connection_attempt_delay = ms(50);
            c.min_connection_attempt_delay = ms(10);
        })),
        &[
            "0 connect #0 192.0.2.1:443",
            "50 connect #1 192.0.2.2:443",
            "100 connect #2 192.0.2.3:443",
        ],
    );
    // 5 s with the default maximum of 2 s: 5 s apart.
    expect(
        Scenario::target(three()).config(config(|c| c.connection_attempt_delay = ms(5000))),
        &[
            "0 connect #0 192.0.2.1:443",
            "5000 connect #1 192.0.2.2:443",
            "10000 connect #2 192.0.2.3:443",
        ],
    );
}

#[test]
fn engine_new_returns_config_error() {
    let target = host("example.test").expect("valid host");
    let e = setup_err(target, config(|c| c.connection_attempt_delay = ms(1)));
    assert_eq!(
        e,
        SetupError::Config(ConfigError::BelowFloor {
            field: "connection_attempt_delay",
            value: ms(1)
        })
    );
    assert_eq!(
        e.to_string(),
        "invalid configuration: connection_attempt_delay is 1ms, below the 10 ms floor \
         between connection attempts (RFC 8305 §5)"
    );
    assert_eq!(
        e.source().map(|s| s.to_string()),
        Some(
            "connection_attempt_delay is 1ms, below the 10 ms floor between connection \
              attempts (RFC 8305 §5)"
                .to_owned()
        )
    );
    // The configuration is checked before the target.
    let v6 = Target::addresses([sa("[2001:db8::1]:443")]).expect("valid addresses");
    let e = setup_err(
        v6,
        config(|c| {
            c.family = FamilyPreference::Ipv4Only;
            c.max_endpoints = 0;
        }),
    );
    assert_eq!(
        e,
        SetupError::Config(ConfigError::Zero {
            field: "max_endpoints"
        })
    );
}

#[test]
fn scenario_run_returns_config_error() {
    let e = Scenario::host("example.test", 443)
        .config(config(|c| c.min_connection_attempt_delay = ms(3000)))
        .run()
        .expect_err("scenario refuses");
    assert_eq!(
        e,
        SetupError::Config(ConfigError::MinAboveMax {
            min: ms(3000),
            max: ms(2000)
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Target validation
// ---------------------------------------------------------------------------------------------

#[test]
fn target_empty_host() {
    assert_eq!(host(""), Err(TargetError::EmptyHost));
    let e = Scenario::host("", 443).run().expect_err("scenario refuses");
    assert_eq!(e, SetupError::Target(TargetError::EmptyHost));
    assert_eq!(e.to_string(), "invalid target: the host name is empty");
}

#[test]
fn target_empty_labels() {
    for name in ["a..b", ".example.test", "example.test..", ".", ".."] {
        assert_eq!(host(name), Err(invalid(name, EMPTY_LABEL)), "{name:?}");
    }
}

#[test]
fn target_label_length() {
    let ok = format!("{}.test", "a".repeat(63));
    assert!(host(&ok).is_ok());
    let long = format!("{}.test", "a".repeat(64));
    assert_eq!(host(&long), Err(invalid(&long, LONG_LABEL)));
}

#[test]
fn target_name_length() {
    let label = "a".repeat(63);
    // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253.
    let ok = format!("{label}.{label}.{label}.{}", "b".repeat(61));
    assert_eq!(ok.len(), 253);
    assert!(host(&ok).is_ok());
    let ok_dot = format!("{ok}.");
    assert!(host(&ok_dot).is_ok());
    let long = format!("{label}.{label}.{label}.{}", "b".repeat(62));
    assert_eq!(long.len(), 254);
    // The name in the error is cut to its first 80 characters.
    assert_eq!(host(&long), Err(invalid(&long[..80], LONG_NAME)));
}

#[test]
fn target_bad_characters() {
    for name in [
        "exa mple.test",
        "a*b.test",
        "host:443",
        "user@example.test",
        "a/b",
        "192.0.2.1:443",
        "example.test\0",
    ] {
        assert_eq!(host(name), Err(invalid(name, BAD_CHAR)), "{name:?}");
    }
    // Underscores and digits are accepted.
    assert!(host("_sip._tcp.example.test").is_ok());
    assert!(host("123.example.test").is_ok());
}

#[test]
fn target_hyphen_at_label_edges() {
    for name in ["-a.test", "a-.test", "a.-test", "a.test-", "-"] {
        assert_eq!(host(name), Err(invalid(name, HYPHEN)), "{name:?}");
    }
    assert!(host("a-b.test").is_ok());
    assert!(host("xn--bcher-kva.example").is_ok());
}

#[test]
fn target_non_ascii_mentions_punycode() {
    let e = host("bücher.example").expect_err("refused");
    let TargetError::InvalidHost { name, reason } = &e else {
        panic!("expected InvalidHost, got {e:?}");
    };
    assert_eq!(name, "bücher.example");
    assert!(reason.contains("punycode"), "{reason}");
    assert!(e.to_string().contains("punycode"), "{e}");
    assert!(e
        .to_string()
        .starts_with("invalid host name \"bücher.example\": "));
}

#[test]
fn target_ports() {
    assert_eq!(Target::host("example.test", 0), Err(TargetError::PortZero));
    assert_eq!(
        Target::host_with_ports("example.test", &[443, 0]),
        Err(TargetError::PortZero)
    );
    assert_eq!(
        Target::host_with_ports("example.test", &[]),
        Err(TargetError::NoPorts)
    );
    // Ports are checked before the name, and for literals too.
    assert_eq!(Target::host_with_ports("", &[]), Err(TargetError::NoPorts));
    assert_eq!(Target::host("192.0.2.1", 0), Err(TargetError::PortZero));
    assert_eq!(
        Target::addresses([sa("192.0.2.1:443"), sa("192.0.2.2:0")]),
        Err(TargetError::PortZero)
    );
    assert_eq!(
        Target::addresses(Vec::<SocketAddr>::new()),
        Err(TargetError::NoAddresses)
    );
    assert_eq!(
        TargetError::PortZero.to_string(),
        "port 0 cannot be connected to"
    );
    assert_eq!(TargetError::NoPorts.to_string(), "no port given");
    assert_eq!(
        TargetError::NoAddresses.to_string(),
        "the list of addresses is empty"
    );
}

#[test]
fn target_no_address_of_family() {
    let v6 = Target::addresses([sa("[2001:db8::1]:443"), sa("[2001:db8::2]:443")])
        .expect("valid addresses");
    assert_eq!(
        setup_err(v6, config(|c| c.family = FamilyPreference::Ipv4Only)),
        SetupError::Target(TargetError::NoAddressOfFamily)
    );
    let v4 = host("192.0.2.1").expect("valid literal");
    assert_eq!(
        setup_err(v4, config(|c| c.family = FamilyPreference::Ipv6Only)),
        SetupError::Target(TargetError::NoAddressOfFamily)
    );
    // A host name is resolved for the allowed family only: no error up front.
    let name = host("example.test").expect("valid host");
    let mut engine = new_engine(
        name,
        config(|c| c.family = FamilyPreference::Ipv4Only),
        t0(),
    );
    assert_eq!(drain(&mut engine), ["resolve q0 A"]);
}

#[test]
fn target_trailing_dot_is_fine() {
    let target = host("example.test.").expect("valid host");
    assert_eq!(target.host_name(), Some("example.test."));
    let engine = new_engine(target, Config::default(), t0());
    assert_eq!(engine.host(), Some("example.test."));
    let scenario = Scenario::host("example.test.", 443)
        .answer(RecordType::Aaaa, ms(3), ["2001:db8::1"])
        .behavior("2001:db8::1", Behavior::Connects(ms(7)));
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "3 connect #0 [2001:db8::1]:443",
            "10 cancel-resolve q1",
            "10 done connected #0",
        ],
    );
}

#[test]
fn target_repeated_ports_count_once() {
    let t = Target::host_with_ports("example.test", &[443, 443, 80, 443, 80])
        .expect("valid host and ports");
    assert_eq!(
        t,
        Target::host_with_ports("example.test", &[443, 80]).expect("valid host and ports")
    );
    assert_eq!(
        Target::host_with_ports("192.0.2.1", &[443, 443]).expect("valid literal"),
        Target::host("192.0.2.1", 443).expect("valid literal")
    );
    let scenario = Scenario::target(t)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::1"])
        .dns(RecordType::A, ms(0), DnsResult::NoData)
        .default_behavior(Behavior::refuses(ms(1)));
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::1]:443",
            "10 connect #1 [2001:db8::1]:80",
            "11 done failed: every connection attempt failed",
        ],
    );
}

/// Every port there is, twice over and shuffled by a stride: de-duplicated in linear time
/// (a bitset past a handful), first occurrences kept in order.
#[test]
fn target_every_port_repeated_counts_once_in_order() {
    let once: Vec<u16> = (0..65_535u32)
        .map(|i| (i * 7_919 % 65_535 + 1) as u16)
        .collect();
    let twice: Vec<u16> = once.iter().chain(once.iter().rev()).copied().collect();
    assert_eq!(
        Target::host_with_ports("example.test", &twice).expect("valid ports"),
        Target::host_with_ports("example.test", &once).expect("valid ports")
    );
    let mut sorted = once.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 65_535, "the stride visits every port once");
    let mut with_zero = twice;
    with_zero.push(0);
    assert_eq!(
        Target::host_with_ports("example.test", &with_zero),
        Err(TargetError::PortZero)
    );
}

// ---------------------------------------------------------------------------------------------
// IP literals: no DNS, connect at t = 0
// ---------------------------------------------------------------------------------------------

#[test]
fn literal_ipv4_connects_at_once() {
    let target = host("192.0.2.1").expect("valid literal");
    assert_eq!(target.host_name(), None);
    assert_eq!(target.ips(), [ip("192.0.2.1")]);
    let sim = expect(
        Scenario::host("192.0.2.1", 443).behavior("192.0.2.1", Behavior::Connects(ms(5))),
        &["0 connect #0 192.0.2.1:443", "5 done connected #0"],
    );
    assert!(sim.report.queries.is_empty());
    assert_eq!(sim.report.host, None);
}

#[test]
fn literal_ipv6_bare_and_bracketed_connect_at_once() {
    for name in ["2001:db8::1", "[2001:db8::1]", "2001:0db8:0:0::1"] {
        let target = host(name).expect("valid literal");
        assert_eq!(target.host_name(), None, "{name}");
        let sim = expect(
            Scenario::target(target).behavior("2001:db8::1", Behavior::Connects(ms(5))),
            &["0 connect #0 [2001:db8::1]:443", "5 done connected #0"],
        );
        assert!(sim.report.queries.is_empty(), "{name}");
    }
}

#[test]
fn literal_ipv4_mapped_is_ipv4() {
    let target = host("::ffff:192.0.2.1").expect("valid literal");
    assert_eq!(target.ips(), [ip("192.0.2.1")]);
    expect(Scenario::target(target), &["0 connect #0 192.0.2.1:443"]);
}

#[test]
fn literal_ipv4_in_brackets_is_invalid() {
    // Text meant as an IP literal (brackets, a zone, two colons) is refused as one.
    let cases = [
        ("[192.0.2.1]", "puts brackets around an IPv4 address"),
        ("[2001:db8::1", "has unbalanced or misplaced brackets"),
        ("[1.2.3.4", "has unbalanced or misplaced brackets"),
        ("2001:db8::1]", "has unbalanced or misplaced brackets"),
        ("[example.test]", "is not an IP address"),
        (
            "2001:db8::1%eth0",
            "has a zone id on an address that is not link-local IPv6",
        ),
        ("fe80::1%", "has an invalid zone id"),
        ("2001:db8:::1", "is not an IP address"),
    ];
    for (name, reason) in cases {
        assert_eq!(host(name), Err(invalid(name, reason)), "{name:?}");
    }
}

#[test]
fn literal_link_local_with_numeric_zone_carries_the_scope_id() {
    for name in ["fe80::1%3", "[fe80::1%3]"] {
        let target = host(name).expect("valid literal");
        let sim = expect(
            Scenario::target(target).behavior("[fe80::1%3]:443", Behavior::Connects(ms(5))),
            &["0 connect #0 [fe80::1%3]:443", "5 done connected #0"],
        );
        let addr = sim.report.attempts[0].endpoint.addr;
        let SocketAddr::V6(v6) = addr else {
            panic!("{addr} is not IPv6")
        };
        assert_eq!(v6.scope_id(), 3, "{name}");
    }
}

#[test]
fn literal_link_local_with_zone_name_needs_an_index() {
    let e = host("fe80::1%eth0").expect_err("a zone name needs I/O");
    assert_eq!(
        e,
        TargetError::ZoneName {
            zone: "eth0".to_owned()
        }
    );
    assert_eq!(
        e.to_string(),
        "the zone \"eth0\" is an interface name: map it to its index and give a socket address \
         with that scope id"
    );
}

#[test]
fn addresses_target_keeps_the_scope_id() {
    // Two interfaces, one address: two endpoints.
    let target = Target::addresses([
        sa("[fe80::1%2]:443"),
        sa("[fe80::1%3]:443"),
        sa("[fe80::1%2]:443"),
    ])
    .expect("valid addresses");
    expect(
        Scenario::target(target),
        &[
            "0 connect #0 [fe80::1%2]:443",
            "250 connect #1 [fe80::1%3]:443",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Many addresses
// ---------------------------------------------------------------------------------------------

#[test]
fn ten_thousand_addresses_capped_by_max_endpoints() {
    // 5,000 IPv4 then 5,000 IPv6; the default cap of 64 keeps the first 32 of each family
    // in interleaved order.
    let v4 = (0..5000u32).map(|i| {
        SocketAddr::new(
            IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i + 1)),
            443,
        )
    });
    let v6 = (0..5000u128).map(|i| {
        SocketAddr::new(
            IpAddr::V6(std::net::Ipv6Addr::from((0x2001_0db8_u128 << 96) | (i + 1))),
            443,
        )
    });
    let target = Target::addresses(v4.chain(v6)).expect("valid addresses");
    assert_eq!(target.ips().len(), 10_000);
    let sim = Scenario::target(target)
        .default_behavior(Behavior::refuses(ms(1)))
        .run()
        .expect("scenario sets up");
    assert_eq!(sim.report.dropped_endpoints, 10_000 - 64);
    assert_eq!(sim.report.attempts.len(), 64);
    let lines = sim.lines();
    assert_eq!(lines.len(), 65);
    assert_eq!(lines[0], "0 connect #0 [2001:db8::1]:443");
    assert_eq!(lines[1], "10 connect #1 10.0.0.1:443");
    assert_eq!(lines[2], "20 connect #2 [2001:db8::2]:443");
    assert_eq!(lines[62], "620 connect #62 [2001:db8::20]:443");
    assert_eq!(lines[63], "630 connect #63 10.0.0.32:443");
    assert_eq!(
        lines[64],
        "631 done failed: every connection attempt failed"
    );
}

// ---------------------------------------------------------------------------------------------
// Unknown ids
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_query_id_from_another_engine() {
    let t = t0();
    let mut two = new_engine(
        host("example.test").expect("valid host"),
        Config::default(),
        t,
    );
    let issued = take_actions(&mut two);
    assert_eq!(lines(&issued), ["resolve q0 AAAA", "resolve q1 A"]);
    let ids = query_ids(&issued);
    let q1 = ids[1];

    let mut one = new_engine(
        host("example.test").expect("valid host"),
        config(|c| c.family = FamilyPreference::Ipv6Only),
        t,
    );
    assert_eq!(drain(&mut one), ["resolve q0 AAAA"]);
    let before = one.report().clone();
    let deadline = one.poll_timeout();
    let result = one.handle_dns(t + ms(1), q1, DnsResult::addresses([ip("192.0.2.1")]));
    assert_eq!(result, Err(InputError::UnknownQuery(q1)));
    assert_eq!(
        InputError::UnknownQuery(q1).to_string(),
        "unknown query id q1"
    );
    assert_eq!(one.report(), &before);
    assert_eq!(one.poll_timeout(), deadline);
    assert!(drain(&mut one).is_empty());

    // An addresses target makes no query at all.
    let q0 = ids[0];
    let mut addrs = new_engine(
        Target::addresses([sa("192.0.2.1:443")]).expect("valid addresses"),
        Config::default(),
        t,
    );
    assert_eq!(drain(&mut addrs), ["connect #0 192.0.2.1:443"]);
    assert_eq!(
        addrs.handle_dns(t, q0, DnsResult::NoData),
        Err(InputError::UnknownQuery(q0))
    );
    assert!(drain(&mut addrs).is_empty());
}

#[test]
fn unknown_attempt_id_from_another_engine() {
    let t = t0();
    let pair = || {
        Target::addresses([sa("[2001:db8::1]:443"), sa("192.0.2.1:443")]).expect("valid addresses")
    };
    let mut two = new_engine(pair(), Config::default(), t);
    two.handle_timeout(t + ms(250));
    let issued = take_actions(&mut two);
    assert_eq!(
        lines(&issued),
        ["connect #0 [2001:db8::1]:443", "connect #1 192.0.2.1:443"]
    );
    let ids = connect_ids(&issued);
    let (a0, a1) = (ids[0], ids[1]);

    // One attempt issued: #1 is unknown.
    let mut one = new_engine(pair(), Config::default(), t);
    assert_eq!(drain(&mut one), ["connect #0 [2001:db8::1]:443"]);
    let before = one.report().clone();
    assert_eq!(
        one.handle_attempt(t + ms(5), a1, AttemptResult::Connected),
        Err(InputError::UnknownAttempt(a1))
    );
    assert_eq!(
        InputError::UnknownAttempt(a1).to_string(),
        "unknown attempt id #1"
    );
    assert_eq!(one.report(), &before);
    assert_eq!(one.poll_timeout(), Some(t + ms(250)));
    assert!(drain(&mut one).is_empty());

    // No attempt issued yet (still resolving): #0 is unknown too.
    let mut resolving = new_engine(
        host("example.test").expect("valid host"),
        Config::default(),
        t,
    );
    drain(&mut resolving);
    assert_eq!(
        resolving.handle_attempt(t, a0, AttemptResult::Failed(FailureKind::Refused)),
        Err(InputError::UnknownAttempt(a0))
    );
    assert!(drain(&mut resolving).is_empty());
    assert!(resolving.report().attempts.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Input after the end
// ---------------------------------------------------------------------------------------------

#[test]
fn input_after_done_is_ignored_but_late_success_is_closed() {
    let t = t0();
    let mut engine = new_engine(
        host("example.test").expect("valid host"),
        Config::default(),
        t,
    );
    let queries = query_ids(&take_actions(&mut engine));
    let (q_aaaa, q_a) = (queries[0], queries[1]);
    engine
        .handle_dns(
            t,
            q_aaaa,
            DnsResult::addresses([ip("2001:db8::1"), ip("2001:db8::2")]),
        )
        .expect("known query");
    let first = take_actions(&mut engine);
    assert_eq!(lines(&first), ["connect #0 [2001:db8::1]:443"]);
    engine.handle_timeout(t + ms(250));
    let second = take_actions(&mut engine);
    assert_eq!(lines(&second), ["connect #1 [2001:db8::2]:443"]);
    let (a0, a1) = (connect_ids(&first)[0], connect_ids(&second)[0]);
    engine
        .handle_attempt(t + ms(300), a1, AttemptResult::Connected)
        .expect("known attempt");
    assert_eq!(
        drain(&mut engine),
        ["abort #0", "cancel-resolve q1", "done connected #1"]
    );
    assert!(engine.is_done());
    assert_eq!(engine.poll_timeout(), None);
    let done = engine.report().clone();
    assert_eq!(done.queries[1].outcome, Some(DnsOutcome::Cancelled));

    // A late DNS answer, a late failure, a timeout and a cancel change nothing.
    engine
        .handle_dns(t + ms(310), q_a, DnsResult::addresses([ip("192.0.2.1")]))
        .expect("known query");
    engine
        .handle_attempt(t + ms(320), a0, AttemptResult::Failed(FailureKind::Refused))
        .expect("known attempt");
    engine.handle_timeout(t + ms(10_000));
    engine.cancel(t + ms(10_001));
    assert!(drain(&mut engine).is_empty());
    assert_eq!(engine.report(), &done);

    // The aborted attempt connects after all: close that connection.
    engine
        .handle_attempt(t + ms(330), a0, AttemptResult::Connected)
        .expect("known attempt");
    assert_eq!(drain(&mut engine), ["close #0"]);
    assert_eq!(engine.report(), &done);
    assert_eq!(engine.poll_timeout(), None);
}

#[test]
fn success_of_a_timed_out_attempt_mid_race_is_closed() {
    let t = t0();
    let target =
        Target::addresses([sa("[2001:db8::1]:443"), sa("192.0.2.1:443")]).expect("valid addresses");
    let mut engine = new_engine(target, config(|c| c.attempt_timeout = Some(ms(100))), t);
    let first = take_actions(&mut engine);
    assert_eq!(lines(&first), ["connect #0 [2001:db8::1]:443"]);
    let a0 = connect_ids(&first)[0];
    engine.handle_timeout(t + ms(100));
    assert_eq!(drain(&mut engine), ["abort #0", "connect #1 192.0.2.1:443"]);
    // The timed-out attempt connects after all: close it; the race goes on.
    engine
        .handle_attempt(t + ms(150), a0, AttemptResult::Connected)
        .expect("known attempt");
    assert_eq!(drain(&mut engine), ["close #0"]);
    assert!(!engine.is_done());
    assert_eq!(engine.poll_timeout(), Some(t + ms(200)));
    assert_eq!(engine.report().outcome, None);
}

#[test]
fn unknown_ids_still_rejected_after_done() {
    let t = t0();
    let mut engine = new_engine(
        Target::addresses([sa("192.0.2.1:443")]).expect("valid addresses"),
        Config::default(),
        t,
    );
    engine.cancel(t + ms(1));
    assert_eq!(
        drain(&mut engine),
        [
            "connect #0 192.0.2.1:443",
            "abort #0",
            "done failed: cancelled"
        ]
    );
    // Borrow a query id from an engine that issued some.
    let mut big = new_engine(
        host("example.test").expect("valid host"),
        Config::default(),
        t,
    );
    let q0 = query_ids(&take_actions(&mut big))[0];
    assert_eq!(
        engine.handle_dns(t + ms(2), q0, DnsResult::NoData),
        Err(InputError::UnknownQuery(q0))
    );
    assert!(drain(&mut engine).is_empty());
}

// ---------------------------------------------------------------------------------------------
// handle_timeout at odd times
// ---------------------------------------------------------------------------------------------

#[test]
fn handle_timeout_early_repeated_or_backwards_changes_nothing() {
    let t = t0();
    let target =
        Target::addresses([sa("[2001:db8::1]:443"), sa("192.0.2.1:443")]).expect("valid addresses");
    let mut engine = new_engine(target, Config::default(), t);
    let first = take_actions(&mut engine);
    assert_eq!(lines(&first), ["connect #0 [2001:db8::1]:443"]);
    let a0 = connect_ids(&first)[0];
    let before = engine.report().clone();
    assert_eq!(engine.poll_timeout(), Some(t + ms(250)));

    // Early, repeatedly, and before the start.
    for now in [
        t,
        t + ms(100),
        t + ms(100),
        t + ms(249),
        t - Duration::from_secs(1),
        t + ms(249),
    ] {
        engine.handle_timeout(now);
        assert!(drain(&mut engine).is_empty());
        assert_eq!(engine.report(), &before);
        assert_eq!(engine.poll_timeout(), Some(t + ms(250)));
    }

    // On time.
    engine.handle_timeout(t + ms(250));
    assert_eq!(drain(&mut engine), ["connect #1 192.0.2.1:443"]);
    let after = engine.report().clone();
    assert_eq!(after.attempts[1].started, t + ms(250));
    assert_eq!(engine.poll_timeout(), None);

    // Again, and backwards: nothing.
    for now in [t + ms(250), t + ms(10), t, t + ms(5000)] {
        engine.handle_timeout(now);
        assert!(drain(&mut engine).is_empty());
        assert_eq!(engine.report(), &after);
    }

    // An input stamped in the past counts at the latest time seen (5 s).
    engine
        .handle_attempt(t + ms(1), a0, AttemptResult::Failed(FailureKind::Refused))
        .expect("known attempt");
    assert!(drain(&mut engine).is_empty());
    assert_eq!(engine.report().attempts[0].ended, Some(t + ms(5000)));
}

#[test]
fn handle_timeout_during_resolution_delay_early_and_backwards() {
    let t = t0();
    let mut engine = new_engine(
        host("example.test").expect("valid host"),
        Config::default(),
        t,
    );
    let queries = query_ids(&take_actions(&mut engine));
    // A answers first at 10 ms: the Resolution Delay runs to 60 ms.
    engine
        .handle_dns(
            t + ms(10),
            queries[1],
            DnsResult::addresses([ip("192.0.2.1")]),
        )
        .expect("known query");
    assert!(drain(&mut engine).is_empty());
    assert_eq!(engine.poll_timeout(), Some(t + ms(60)));
    for now in [t + ms(59), t + ms(20), t, t + ms(59)] {
        engine.handle_timeout(now);
        assert!(drain(&mut engine).is_empty());
        assert_eq!(engine.poll_timeout(), Some(t + ms(60)));
    }
    engine.handle_timeout(t + ms(60));
    assert_eq!(drain(&mut engine), ["connect #0 192.0.2.1:443"]);
    assert_eq!(engine.report().attempts[0].started, t + ms(60));
    // A late AAAA stamped in the past is taken at 60 ms.
    engine
        .handle_dns(
            t + ms(15),
            queries[0],
            DnsResult::addresses([ip("2001:db8::1")]),
        )
        .expect("known query");
    assert!(drain(&mut engine).is_empty());
    assert_eq!(engine.report().queries[0].ended, Some(t + ms(60)));
    assert_eq!(engine.poll_timeout(), Some(t + ms(310)));
}
