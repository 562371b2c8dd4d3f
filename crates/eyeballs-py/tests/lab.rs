//! The Python package against the real kernel in the network lab (root; skipped with a
//! message otherwise, required under `CI=true`): `requests` and aiohttp after
//! `eyeballs.patch()`, and `eyeballs.open_connection`, resolving through the lab's DNS; a
//! second request in the same process knows what the first taught (the history store).
//!
//! Each scenario runs `tests/lab_client.py` with the venv's interpreter (`target/py-lab-venv`,
//! see `common`) in the lab's client namespace (`Lab::client_command`), where glibc's
//! resolver, and so eyeballs' system resolver, asks the lab's DNS server and nothing else.
//! The server's `Accept` addresses answer an HTTP GET with their own address as the body.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, Lab, RecordType, DEFAULT_PORT};

/// How far a measured time may be from the one expected.
const SLACK: Duration = Duration::from_millis(25);

/// IPv6 black-holed, IPv4 answering.
const HOLE_V6: &str = "2001:db8::10";
const HOLE_V4: &str = "198.18.0.10";
/// Both answering; its AAAA answer is late.
const SLOW_V6: &str = "2001:db8::11";
const SLOW_V4: &str = "198.18.0.11";
/// How late the AAAA answer of `slowaaaa.test` is.
const AAAA_LATE: Duration = Duration::from_millis(200);

/// What one run of lab_client.py printed.
#[derive(Debug)]
struct Run {
    /// The whole call, name resolution and the HTTP exchange included.
    ms: f64,
    body: Option<String>,
    error: Option<String>,
    /// Each eyeballs race: its winner's address and when the winning attempt started,
    /// milliseconds from the start of the race (empty: eyeballs did not run).
    races: Vec<(String, Option<f64>)>,
}

impl Run {
    /// The winners, in order.
    fn winners(&self) -> Vec<&str> {
        self.races.iter().map(|(w, _)| w.as_str()).collect()
    }
}

fn lab() -> Lab {
    let ip6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
    let ip4 = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    Lab::builder()
        .server(ip6(HOLE_V6).into(), Behavior::BlackHole)
        .server(ip4(HOLE_V4).into(), Behavior::Accept)
        .server(ip6(SLOW_V6).into(), Behavior::Accept)
        .server(ip4(SLOW_V4).into(), Behavior::Accept)
        .dns(
            "blackhole.test",
            DnsRecords {
                aaaa: vec![ip6(HOLE_V6)],
                a: vec![ip4(HOLE_V4)],
            },
        )
        .dns(
            "slowaaaa.test",
            DnsRecords {
                aaaa: vec![ip6(SLOW_V6)],
                a: vec![ip4(SLOW_V4)],
            },
        )
        .dns_behavior(
            "slowaaaa.test",
            RecordType::Aaaa,
            DnsBehavior::answer_after(AAAA_LATE),
        )
        .start()
        .unwrap()
}

/// Runs lab_client.py `mode` against `host` in the client namespace.
fn run(lab: &Lab, env: &common::Env, mode: &str, host: &str, timeout_s: u32) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab_client.py");
    let url = format!("http://{host}:{DEFAULT_PORT}/");
    let out = lab
        .client_command(&env.python)
        .unwrap()
        .arg(&script)
        .args([mode, &url, &timeout_s.to_string()])
        .env("VIRTUAL_ENV", &env.venv)
        .env("PATH", &env.path)
        // A fatal signal (a crash at exit) prints every thread's Python traceback.
        .env("PYTHONFAULTHANDLER", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{mode} {url}: {}\n{}\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let text = |name: &str| v[name].as_str().map(str::to_owned);
    let run = Run {
        ms: v["ms"]
            .as_f64()
            .unwrap_or_else(|| panic!("no ms in {line}")),
        body: text("body"),
        error: text("error"),
        races: v["races"]
            .as_array()
            .map(|races| {
                races
                    .iter()
                    .map(|r| {
                        (
                            r["winner"].as_str().unwrap_or_default().to_owned(),
                            r["won_started_ms"].as_f64(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    eprintln!("{mode} {url}: {run:?}");
    run
}

/// The longest the rest of a call (the client's own name lookup, the HTTP exchange, the
/// interpreter) may add to the race: a generous bound that still tells a fallback in the
/// attempt delay from a stall on the black hole (10 s).
const OUTSIDE_THE_RACE: Duration = Duration::from_millis(1000);

/// Asserts that the run's one eyeballs race won with an attempt that started `want` into the
/// race (within the slack), and that the whole call took at least that and at most
/// [`OUTSIDE_THE_RACE`] more.
#[track_caller]
fn assert_won_at(run: &Run, want: Duration, what: &str) {
    let [(_, Some(started))] = run.races.as_slice() else {
        panic!("{what}: one race with a winner expected ({run:?})");
    };
    let started = Duration::from_secs_f64(started / 1e3);
    assert!(
        started + SLACK >= want && started <= want + SLACK,
        "{what}: the winner started at {started:?}, not within {SLACK:?} of {want:?} ({run:?})"
    );
    let took = Duration::from_secs_f64(run.ms / 1e3);
    assert!(
        took + SLACK >= want && took <= want + OUTSIDE_THE_RACE,
        "{what}: the call took {took:?} ({run:?})"
    );
}

/// The lab and the venv, or `None` when the test is skipped.
fn setup(test: &str) -> Option<(Lab, common::Env)> {
    if !eyeballs_lab::require_root(test) {
        return None;
    }
    // Once per process: the tests of this binary run at once, and one venv install at a
    // time is all a venv takes.
    static ENV: OnceLock<Result<common::Env, String>> = OnceLock::new();
    let env = match ENV.get_or_init(|| common::env("py-lab-venv")) {
        Ok(env) => env.clone(),
        Err(why) if common::ci() => panic!("CI: cannot set up the Python environment: {why}"),
        Err(why) => {
            eprintln!("SKIPPED {test}: no Python environment from PyPI: {why}");
            return None;
        }
    };
    Some((lab(), env))
}

#[test]
fn he_5_7_requests_after_patch_falls_back_to_ipv4_in_the_attempt_delay() {
    let Some((lab, env)) =
        setup("he_5_7_requests_after_patch_falls_back_to_ipv4_in_the_attempt_delay")
    else {
        return;
    };
    let run = run(&lab, &env, "requests", "blackhole.test", 10);
    assert_eq!(run.body.as_deref(), Some("198.18.0.10\n"), "{run:?}");
    assert_eq!(run.winners(), [HOLE_V4], "{run:?}");
    assert_won_at(&run, Duration::from_millis(250), "requests.get after patch");
}

#[test]
fn he_5_7_requests_without_patch_waits_for_the_black_hole() {
    let Some((lab, env)) = setup("he_5_7_requests_without_patch_waits_for_the_black_hole") else {
        return;
    };
    let run = run(&lab, &env, "requests-unpatched", "blackhole.test", 10);
    assert!(run.races.is_empty(), "{run:?}");
    // urllib3 tries the AAAA address first and waits its whole timeout there; then it
    // either tries A (a body, after >= 10 s) or gives up (an error).
    assert!(
        run.error.is_some() || run.ms >= 10_000.0,
        "without patch: {run:?}"
    );
    assert!(run.ms >= 10_000.0 - SLACK.as_secs_f64() * 1e3, "{run:?}");
}

#[test]
fn he_5_7_aiohttp_after_patch_falls_back_to_ipv4_in_the_attempt_delay() {
    let Some((lab, env)) =
        setup("he_5_7_aiohttp_after_patch_falls_back_to_ipv4_in_the_attempt_delay")
    else {
        return;
    };
    let run = run(&lab, &env, "aiohttp", "blackhole.test", 10);
    assert_eq!(run.body.as_deref(), Some("198.18.0.10\n"), "{run:?}");
    assert_eq!(run.winners(), [HOLE_V4], "{run:?}");
    assert_won_at(&run, Duration::from_millis(250), "aiohttp GET after patch");
}

#[test]
fn he_3_6_a_late_aaaa_answer_is_not_waited_for_past_the_resolution_delay() {
    let Some((lab, env)) =
        setup("he_3_6_a_late_aaaa_answer_is_not_waited_for_past_the_resolution_delay")
    else {
        return;
    };
    for mode in ["requests", "open_connection"] {
        let run = run(&lab, &env, mode, "slowaaaa.test", 10);
        assert_eq!(
            run.body.as_deref(),
            Some("198.18.0.11\n"),
            "{mode}: {run:?}"
        );
        assert_eq!(run.winners(), [SLOW_V4], "{mode}: {run:?}");
        assert_won_at(&run, Duration::from_millis(50), mode);
    }
}

/// Issue 12: two `requests.get` in one process after `patch()`: the first waits out the
/// black-holed IPv6 path (the IPv4 attempt starts at 250 ms), the second leads with IPv4 at
/// once (the process's history store, shared by every call).
#[test]
fn history_the_second_request_leads_with_ipv4() {
    let Some((lab, env)) = setup("history_the_second_request_leads_with_ipv4") else {
        return;
    };
    let run = run(&lab, &env, "requests-twice", "blackhole.test", 10);
    assert_eq!(run.body.as_deref(), Some("198.18.0.10\n"), "{run:?}");
    assert_eq!(run.winners(), [HOLE_V4, HOLE_V4], "{run:?}");
    let started: Vec<Duration> = run
        .races
        .iter()
        .map(|(_, s)| Duration::from_secs_f64(s.unwrap_or(f64::NAN) / 1e3))
        .collect();
    let near = |got: Duration, want: Duration| got + SLACK >= want && got <= want + SLACK;
    assert!(near(started[0], Duration::from_millis(250)), "{run:?}");
    assert!(near(started[1], Duration::ZERO), "{run:?}");
}
