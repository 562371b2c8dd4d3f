//! The `eyeballs` command: parsing, exit codes, the JSON schema, `demo` and `simulate`, and
//! `connect` on loopback. No root needed.

use std::net::TcpListener;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn eyeballs() -> Command {
    let mut cmd = Command::cargo_bin("eyeballs").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

/// A listener on 127.0.0.1 and its port, as text.
fn loopback() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    (listener, port)
}

/// A listener on ::1 and its port, or `None` where the host has no IPv6 loopback.
fn loopback6() -> Option<(TcpListener, String)> {
    let listener = TcpListener::bind("[::1]:0").ok()?;
    let port = listener.local_addr().unwrap().port().to_string();
    Some((listener, port))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Runs the command and checks that it exits with `code` and did not panic; gives stdout and
/// stderr.
fn run(cmd: &mut Command, code: i32) -> (String, String) {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is one JSON object")
}

/// Asserts the `--json` schema of the issue, exactly: keys, types and vocabularies.
fn assert_schema(v: &Value) {
    let obj = v.as_object().unwrap();
    for key in [
        "host",
        "port",
        "outcome",
        "elapsed_ms",
        "winner",
        "dns",
        "attempts",
        "error",
    ] {
        assert!(obj.contains_key(key), "missing {key}: {v}");
    }
    assert!(v["host"].is_string());
    assert!(v["port"].is_u64());
    assert!(["connected", "failed"].contains(&v["outcome"].as_str().unwrap()));
    assert!(v["elapsed_ms"].is_f64());
    match &v["winner"] {
        Value::Null => assert_eq!(v["outcome"], "failed"),
        w => {
            assert_eq!(v["outcome"], "connected");
            assert!(w["address"].is_string() && w["port"].is_u64());
            assert!(["ipv6", "ipv4"].contains(&w["family"].as_str().unwrap()));
        }
    }
    for q in v["dns"].as_array().unwrap() {
        assert!(["AAAA", "A", "HTTPS"].contains(&q["query"].as_str().unwrap()));
        assert!(q["started_ms"].is_f64());
        assert!(q["answered_ms"].is_f64() || q["answered_ms"].is_null());
        let results = [
            "ok",
            "nodata",
            "nxdomain",
            "servfail",
            "error",
            "timeout",
            "cancelled",
            "pending",
        ];
        assert!(results.contains(&q["result"].as_str().unwrap()), "{q}");
        assert!(q["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string));
    }
    for a in v["attempts"].as_array().unwrap() {
        assert!(a["address"].is_string() && a["port"].is_u64());
        assert!(["ipv6", "ipv4"].contains(&a["family"].as_str().unwrap()));
        assert!(a["started_ms"].is_f64());
        // Only `simulate` shows a race that waits forever: its attempts in flight are
        // "pending", with no end.
        assert_eq!(a["ended_ms"].is_null(), a["outcome"] == "pending", "{a}");
        assert!(a["ended_ms"].is_f64() || a["ended_ms"].is_null());
        let outcomes = [
            "connected",
            "refused",
            "unreachable",
            "timeout",
            "aborted",
            "error",
            "pending",
        ];
        assert!(outcomes.contains(&a["outcome"].as_str().unwrap()), "{a}");
        assert!(a["error"].is_string() || a["error"].is_null());
    }
    assert!(v["error"].is_string() || v["error"].is_null());
    assert_eq!(v["error"].is_null(), v["outcome"] == "connected");
}

#[test]
fn help_lists_every_subcommand() {
    let out = eyeballs().arg("--help").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for sub in ["connect", "demo", "simulate", "proxy", "run"] {
        assert!(text.contains(sub), "{sub} missing from --help:\n{text}");
    }
    for sub in ["connect", "demo", "simulate", "proxy", "run"] {
        eyeballs().args([sub, "--help"]).assert().success();
    }
    eyeballs()
        .args(["connect", "--help"])
        .assert()
        .stdout(predicate::str::contains("--attempt-delay <DUR>"))
        .stdout(predicate::str::contains("--json"))
        .stdout(predicate::str::contains("--dns <IP[:PORT]>"));
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for args in [
        vec!["connect", "host.test", "443", "--attempt-delay", "fast"],
        vec!["connect", "host.test", "443", "--attempt-delay", "250"],
        vec!["connect", "host.test", "443", "--addr", "not-an-ip"],
        vec!["connect", "host.test", "443", "--unknown-flag"],
        vec!["connect", "host.test", "99999"],
        vec!["connect", "host.test"],
        vec!["connect", "host.test", "443", "--family-count", "0"],
        vec!["connect", "host.test", "443", "-4", "-6"],
        vec!["connect", "host.test", "443", "--dns", "nameserver"],
        vec!["connect", "bad host!", "443"],
        vec!["connect", "127.0.0.1", "0"],
        vec!["connect", "127.0.0.1", "80", "--attempt-delay", "1ms"],
        vec!["simulate", "host.test", "443"],
        vec!["simulate", "host.test", "443", "--aaaa", "somewhere"],
        vec![
            "simulate",
            "host.test",
            "443",
            "--addr",
            "192.0.2.1",
            "--server",
            "192.0.2.1=boom",
        ],
        vec!["nonsense"],
    ] {
        eyeballs()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::is_empty().not());
    }
}

#[test]
fn connect_on_loopback_json_and_exit_0() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = eyeballs()
        .args(["connect", "127.0.0.1", &port, "--json"])
        .assert()
        .success();
    let v = json_of(&out.get_output().stdout);
    assert_schema(&v);
    assert_eq!(v["outcome"], "connected");
    assert_eq!(v["winner"]["address"], "127.0.0.1");
    assert_eq!(v["winner"]["family"], "ipv4");
    assert_eq!(v["dns"].as_array().unwrap().len(), 0);
}

#[test]
fn connect_refused_exits_1_naming_every_attempt() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = a.local_addr().unwrap().port().to_string();
    drop(a);
    let out = eyeballs()
        .args(["connect", "localhost-literal.test", &port])
        .args(["--addr", "127.0.0.1", "--addr", "127.0.0.2", "--json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("127.0.0.1:{port}")))
        .stderr(predicate::str::contains(format!("127.0.0.2:{port}")));
    let v = json_of(&out.get_output().stdout);
    assert_schema(&v);
    assert_eq!(v["outcome"], "failed");
    let outcomes: Vec<&str> = v["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["refused", "refused"]);
}

#[test]
fn connect_family_flags_filter_addresses() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = eyeballs()
        .args(["connect", "x.test", &port, "-4", "--json"])
        .args(["--addr", "::1", "--addr", "127.0.0.1"])
        .assert()
        .success();
    let v = json_of(&out.get_output().stdout);
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    eyeballs()
        .args(["connect", "x.test", &port, "-6", "--addr", "127.0.0.1"])
        .assert()
        .code(2);
}

#[test]
fn connect_timeline_on_a_terminal_style_output() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    eyeballs()
        .args(["connect", "127.0.0.1", &port])
        .assert()
        .success()
        .stdout(predicate::str::contains("#0 connect 127.0.0.1:"))
        .stdout(predicate::str::contains("#0 connected"))
        .stdout(predicate::str::contains("connected to 127.0.0.1:"))
        // NO_COLOR and a pipe: no escape codes.
        .stdout(predicate::str::contains("\x1b[").not());
}

/// On a terminal (a pseudo-terminal from util-linux `script`), each event is printed as it
/// happens, marked `live`, before the final timeline; through a pipe (the test above) it is
/// not.
#[test]
fn connect_on_a_terminal_prints_events_as_they_happen() {
    let (_listener, port) = loopback();
    let bin = assert_cmd::cargo::cargo_bin("eyeballs");
    let command = format!("{} connect 127.0.0.1 {port}", bin.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("util-linux `script` runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let live_start = stdout.find("live").expect("live lines on a terminal");
    let live_connected = stdout.find("#0 connected").expect("the live end of #0");
    let table = stdout.rfind("#0 connected").expect("the final timeline");
    assert!(
        live_start < live_connected && live_connected < table,
        "{stdout}"
    );
}

#[test]
fn simulate_gives_the_exact_timeline() {
    let out = eyeballs()
        .args(["simulate", "example.test", "443"])
        .args([
            "--aaaa",
            "2001:db8::1,2001:db8::2@20ms",
            "--a",
            "192.0.2.1@5ms",
        ])
        .args([
            "--server",
            "2001:db8::1=blackhole",
            "--server",
            "2001:db8::2=refuse:5ms",
        ])
        .args(["--server", "192.0.2.1=accept:300ms"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "time  event",
            "0.0 ms  AAAA query sent",
            "0.0 ms  A query sent",
            "5.0 ms  A ok: 192.0.2.1",
            "20.0 ms  AAAA ok: 2001:db8::1, 2001:db8::2",
            "20.0 ms  #0 connect [2001:db8::1]:443",
            "270.0 ms  #1 connect 192.0.2.1:443",
            "520.0 ms  #2 connect [2001:db8::2]:443",
            "525.0 ms  #2 refused",
            "570.0 ms  #1 connected",
            "570.0 ms  #0 aborted",
            "connected to 192.0.2.1:443 (ipv4) in 570.0 ms",
        ]
    );
}

/// `--history`: what a store would know, as input (HE-4.3, HE-5.8): the stalled IPv6 address
/// no longer leads, the IPv4 one's RTT sets the delay after it (RTO 20 + 4·5 = 40 ms, raised
/// to the 100 ms minimum), and the timeline says what was known.
#[test]
fn simulate_history_orders_and_delays_exactly() {
    let out = eyeballs()
        .args(["simulate", "example.test", "443"])
        .args(["--aaaa", "2001:db8::1", "--a", "192.0.2.1@5ms"])
        .args(["--server", "192.0.2.1=blackhole"])
        .args(["--history", "2001:db8::1=stalled"])
        .args(["--history", "192.0.2.1=rtt:20ms/5ms,used"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "time  event",
            "0.0 ms  AAAA query sent",
            "0.0 ms  A query sent",
            "0.0 ms  AAAA ok: 2001:db8::1",
            "5.0 ms  A ok: 192.0.2.1",
            "5.0 ms  #0 connect 192.0.2.1:443 (history: srtt 20ms rttvar 5ms, used last)",
            "105.0 ms  #1 connect [2001:db8::1]:443 (history: recently stalled)",
            "115.0 ms  #1 connected",
            "115.0 ms  #0 aborted",
            "connected to [2001:db8::1]:443 (ipv6) in 115.0 ms",
        ]
    );
    eyeballs()
        .args(["simulate", "example.test", "443", "--aaaa", "2001:db8::1"])
        .args(["--history", "192.0.2.9=stalled"])
        .assert()
        .code(2);
}

/// `--https`: a ServiceMode record's port and hints (V3-4.2.1.3), groups by priority
/// (V3-5.2.2) with their target names' queries named in the timeline; `--alpn` skips a
/// record the caller cannot speak (V3-6.2.2).
#[test]
fn simulate_https_records_shape_the_race() {
    let lines = |args: &[&str]| -> Vec<String> {
        let out = eyeballs()
            .args(["simulate", "svc.test", "443"])
            .args(args)
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone())
            .unwrap()
            .lines()
            .map(|l| l.trim().to_owned())
            .collect()
    };
    let got = lines(&[
        "--https",
        "1 . alpn=h2 port=8443 ipv6hint=2001:db8::5@10ms",
        "--aaaa",
        "2001:db8::1@40ms",
        "--a",
        "nodata",
    ]);
    assert!(
        got.contains(&"10.0 ms  #0 connect [2001:db8::5]:8443".to_owned()),
        "{got:#?}"
    );
    let got = lines(&[
        "--https",
        "2 a.test ipv6hint=2001:db8::a",
        "--https",
        "1 b.test ipv4hint=192.0.2.2",
        "--aaaa",
        "2001:db8::1",
        "--a",
        "nodata",
        "--server",
        "192.0.2.2=blackhole",
        "--server",
        "2001:db8::a=blackhole",
    ]);
    let connects: Vec<&String> = got.iter().filter(|l| l.contains(" connect ")).collect();
    assert_eq!(
        connects,
        [
            "0.0 ms  #0 connect 192.0.2.2:443",
            "250.0 ms  #1 connect [2001:db8::a]:443",
            "500.0 ms  #2 connect [2001:db8::1]:443",
        ],
        "{got:#?}"
    );
    assert!(
        got.contains(&"0.0 ms  AAAA a.test query sent".to_owned()),
        "{got:#?}"
    );
    let got = lines(&[
        "--https",
        "1 . alpn=h3 no-default-alpn ipv6hint=2001:db8::3",
        "--alpn",
        "h2,http/1.1",
        "--aaaa",
        "2001:db8::1",
        "--a",
        "nodata",
    ]);
    assert!(
        got.contains(&"0.0 ms  #0 connect [2001:db8::1]:443".to_owned()),
        "{got:#?}"
    );
    eyeballs()
        .args(["simulate", "192.0.2.1", "443", "--https", "1 ."])
        .assert()
        .code(2);
}

/// `--no-ipv4-route --nat64 PREFIX`: an A record is reached through the prefix (RFC 6052);
/// a prefix of another length than RFC 6052's is a usage error.
#[test]
fn simulate_nat64_synthesizes_a_records() {
    let out = eyeballs()
        .args(["simulate", "v4.test", "443", "--json"])
        .args(["--a", "192.0.2.1@5ms", "--aaaa", "nodata"])
        .args(["--no-ipv4-route", "--nat64", "64:ff9b::/96"])
        .assert()
        .success();
    let v = json_of(&out.get_output().stdout);
    assert_eq!(v["winner"]["address"], "64:ff9b::c000:201");
    eyeballs()
        .args(["simulate", "v4.test", "443", "--a", "192.0.2.1"])
        .args(["--nat64", "64:ff9b::/95"])
        .assert()
        .code(2);
}

#[test]
fn simulate_json_and_failure_exit_1() {
    let out = eyeballs()
        .args(["simulate", "example.test", "443", "--json"])
        .args(["--aaaa", "servfail@3ms", "--a", "nxdomain"])
        .assert()
        .code(1);
    let v = json_of(&out.get_output().stdout);
    assert_schema(&v);
    assert_eq!(v["dns"][0]["result"], "servfail");
    assert_eq!(v["dns"][0]["answered_ms"], 3.0);
    assert_eq!(v["dns"][1]["result"], "nxdomain");
    assert_eq!(v["elapsed_ms"], 3.0);
}

#[test]
fn simulate_timing_options_apply() {
    let out = eyeballs()
        .args([
            "simulate",
            "example.test",
            "443",
            "--json",
            "--attempt-delay",
            "100ms",
        ])
        .args([
            "--addr",
            "2001:db8::1",
            "--addr",
            "192.0.2.1",
            "--addr",
            "2001:db8::2",
        ])
        .args([
            "--server",
            "2001:db8::1=blackhole",
            "--server",
            "192.0.2.1=blackhole",
        ])
        .args(["--timeout", "1.5s"])
        .assert()
        .success();
    let v = json_of(&out.get_output().stdout);
    let starts: Vec<f64> = v["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["started_ms"].as_f64().unwrap())
        .collect();
    assert_eq!(starts, [0.0, 100.0, 200.0]);
    assert_eq!(v["elapsed_ms"], 210.0);
}

#[test]
fn demo_runs_and_explains() {
    eyeballs()
        .arg("demo")
        .assert()
        .success()
        .stdout(predicate::str::contains("connected to 127.0.0.1:"))
        .stdout(predicate::str::contains("refused"))
        .stdout(predicate::str::contains("What happened"));
}

#[test]
fn demo_json_follows_the_schema_and_the_schedule() {
    let out = eyeballs().args(["demo", "--json"]).assert().success();
    let v = json_of(&out.get_output().stdout);
    assert_schema(&v);
    let attempts = v["attempts"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["aborted", "refused", "connected"]);
    // The second attempt starts one attempt delay after the first (within 25 ms).
    let gap =
        attempts[1]["started_ms"].as_f64().unwrap() - attempts[0]["started_ms"].as_f64().unwrap();
    assert!((225.0..=275.0).contains(&gap), "{gap}");
}

// ---------------------------------------------------------------------------------------
// Extreme durations: accepted when they fit a `Duration`, a usage error when not; never a
// panic.

/// `i64::MAX` and `u64::MAX` seconds, and `Duration::MAX` itself.
const HUGE: [&str; 3] = [
    "9223372036854775807s",
    "18446744073709551615s",
    "18446744073709551615.999999999s",
];

#[test]
fn d4_connect_accepts_durations_up_to_duration_max() {
    let (_listener, port) = loopback();
    for huge in HUGE {
        for flag in [
            "--timeout",
            "--attempt-timeout",
            "--attempt-delay",
            "--resolution-delay",
        ] {
            let (stdout, _) = run(
                eyeballs()
                    .args(["connect", "127.0.0.1", &port, "--json", flag, huge])
                    .args(["--addr", "127.0.0.1", "--addr", "127.0.0.2"]),
                0,
            );
            assert_eq!(
                json_of(stdout.as_bytes())["outcome"],
                "connected",
                "{flag} {huge}"
            );
        }
    }
}

#[test]
fn durations_that_do_not_fit_are_usage_errors_naming_the_value() {
    for bad in [
        "18446744073709551616s",
        "307445734561825861m",
        "99999999999999999999999999999999999999999s",
        "1e30s",
        "-1s",
        "250",
        "ms",
        "1.5.2s",
        "5h",
    ] {
        for flag in [
            "--timeout",
            "--attempt-timeout",
            "--attempt-delay",
            "--resolution-delay",
        ] {
            // FLAG=VALUE, so that clap does not take "-1s" for a flag.
            let arg = format!("{flag}={bad}");
            let (_, stderr) = run(eyeballs().args(["connect", "127.0.0.1", "9", &arg]), 2);
            assert!(
                stderr.contains(&format!("'{bad}'")),
                "{flag} {bad}: {stderr}"
            );
        }
        let (_, stderr) = run(
            eyeballs().args([
                "proxy",
                "--listen",
                "127.0.0.1:9",
                &format!("--timeout={bad}"),
            ]),
            2,
        );
        assert!(
            stderr.contains(&format!("'{bad}'")),
            "proxy {bad}: {stderr}"
        );
        let (_, stderr) = run(
            eyeballs().args([
                "simulate",
                "x.test",
                "443",
                "--aaaa",
                &format!("2001:db8::1@{bad}"),
            ]),
            2,
        );
        assert!(stderr.contains(bad), "simulate {bad}: {stderr}");
    }
}

#[test]
fn d4_simulate_takes_huge_answer_and_behaviour_times() {
    let max = HUGE[1];
    // An AAAA answer that never comes in practice: IPv4 goes after the Resolution Delay.
    let (stdout, _) = run(
        eyeballs()
            .args(["simulate", "x.test", "443", "--json"])
            .args(["--aaaa", &format!("2001:db8::1@{max}"), "--a", "192.0.2.1"]),
        0,
    );
    let v = json_of(stdout.as_bytes());
    assert_schema(&v);
    assert_eq!(v["winner"]["address"], "192.0.2.1");
    // A handshake, a refusal and a negative answer that take "forever", with a timeout.
    for args in [
        vec![
            "--addr",
            "192.0.2.1",
            "--server",
            "192.0.2.1=accept:18446744073709551615s",
        ],
        vec![
            "--addr",
            "192.0.2.1",
            "--server",
            "192.0.2.1=refuse:18446744073709551615s",
        ],
        vec!["--addr", "192.0.2.1", "--handshake", max],
        vec![
            "--aaaa",
            "nodata@18446744073709551615s",
            "--a",
            "nxdomain@18446744073709551615s",
        ],
    ] {
        let (stdout, _) = run(
            eyeballs()
                .args(["simulate", "x.test", "443", "--json", "--timeout", "2s"])
                .args(&args),
            1,
        );
        let v = json_of(stdout.as_bytes());
        assert_schema(&v);
        assert_eq!(v["elapsed_ms"], 2000.0, "{args:?}");
    }
    // Every timeout and delay at its longest: the race waits forever for the black hole.
    let (stdout, _) = run(
        eyeballs()
            .args(["simulate", "x.test", "443", "--json", "--addr", "192.0.2.1"])
            .args(["--server", "192.0.2.1=blackhole", "--timeout", max])
            .args(["--attempt-timeout", max, "--attempt-delay", max])
            .args(["--resolution-delay", max]),
        1,
    );
    assert_eq!(
        json_of(stdout.as_bytes())["attempts"][0]["outcome"],
        "pending"
    );
}

#[test]
fn d4_proxy_takes_huge_timeouts_and_still_connects() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let (target, target_port) = loopback();
    let target_port: u16 = target_port.parse().unwrap();
    for _ in 0..10 {
        let (free, port) = loopback();
        drop(free);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_eyeballs"))
            .args([
                "proxy",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--allow-loopback",
            ])
            .args(["--timeout", HUGE[2], "--handshake-timeout", HUGE[2]])
            .args(["--attempt-timeout", HUGE[0], "--attempt-delay", HUGE[1]])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for the proxy to listen (or to have exited: another process took the port).
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut client = loop {
            if let Ok(c) = std::net::TcpStream::connect(format!("127.0.0.1:{port}")) {
                break Some(c);
            }
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let Some(client) = client.as_mut() else {
            let _ = child.kill();
            let _ = child.wait();
            continue;
        };
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // SOCKS5: no authentication, then CONNECT 127.0.0.1:target_port.
        client.write_all(&[5, 1, 0]).unwrap();
        let mut greeting = [0u8; 2];
        client.read_exact(&mut greeting).unwrap();
        assert_eq!(greeting, [5, 0]);
        let mut request = vec![5, 1, 0, 1, 127, 0, 0, 1];
        request.extend_from_slice(&target_port.to_be_bytes());
        client.write_all(&request).unwrap();
        let mut reply = [0u8; 10];
        client.read_exact(&mut reply).unwrap();
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(reply[1], 0, "SOCKS5 reply {reply:?}; proxy log:\n{stderr}");
        drop(target);
        return;
    }
    panic!("the proxy could not listen on a free port in 10 tries");
}

// ---------------------------------------------------------------------------------------
// Defaults come from the library's `Config::default()`.

#[test]
fn help_shows_the_library_defaults() {
    let (stdout, _) = run(eyeballs().args(["connect", "--help"]), 0);
    let flat = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for shown in [
        "--attempt-delay <DUR> ",
        "[default: 250ms]",
        "--resolution-delay <DUR> ",
        "[default: 50ms]",
        "--family-count <N> ",
        "[default: 1]",
    ] {
        assert!(flat.contains(shown), "{shown} missing:\n{stdout}");
    }
}

#[test]
fn he_5_7_simulate_attempt_delay_is_used_as_given() {
    let (stdout, _) = run(
        eyeballs()
            .args([
                "simulate",
                "x.test",
                "443",
                "--json",
                "--attempt-delay",
                "50ms",
            ])
            .args(["--addr", "192.0.2.1", "--addr", "192.0.2.2"])
            .args(["--server", "192.0.2.1=blackhole"]),
        0,
    );
    let v = json_of(stdout.as_bytes());
    assert_eq!(v["attempts"][1]["started_ms"], 50.0, "{v}");
}

#[test]
fn he_5_10_attempt_delay_below_the_floor_is_a_usage_error() {
    run(
        eyeballs()
            .args(["simulate", "x.test", "443", "--addr", "192.0.2.1"])
            .args(["--attempt-delay", "9ms"]),
        2,
    );
}

// ---------------------------------------------------------------------------------------
// `simulate`: what is left in flight, messages, parsing, --bind.

/// A race whose only attempt goes into a black hole at 250 ms, with every query answered and
/// no timeout: it waits forever.
fn stuck_race() -> Command {
    let mut cmd = eyeballs();
    cmd.args(["simulate", "x.test", "443"])
        .args(["--aaaa", "2001:db8::1@250ms", "--a", "nodata"])
        .args(["--server", "2001:db8::1=blackhole"]);
    cmd
}

#[test]
fn simulate_calls_an_attempt_left_in_flight_pending_not_aborted() {
    let (stdout, _) = run(stuck_race().arg("--json"), 1);
    let v = json_of(stdout.as_bytes());
    assert_schema(&v);
    assert_eq!(v["attempts"][0]["outcome"], "pending");
    assert!(v["attempts"][0]["ended_ms"].is_null());
    let (stdout, stderr) = run(&mut stuck_race(), 1);
    assert!(!stdout.contains("aborted"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn simulate_names_what_a_stuck_race_waits_for() {
    let (stdout, _) = run(stuck_race().arg("--json"), 1);
    let error = json_of(stdout.as_bytes())["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("#0 to [2001:db8::1]:443 never completes"),
        "{error}"
    );
    assert!(
        !error.contains("never answered"),
        "every query ended: {error}"
    );
    // A query the engine gave up on (its 10 s resolve timeout) has ended: the message is
    // about the attempt alone.
    let (stdout, _) = run(
        eyeballs()
            .args(["simulate", "x.test", "443", "--json"])
            .args(["--aaaa", "2001:db8::1", "--a", "never"])
            .args(["--server", "2001:db8::1=blackhole"]),
        1,
    );
    let v = json_of(stdout.as_bytes());
    assert_schema(&v);
    assert_eq!(v["dns"][1]["result"], "timeout");
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains("attempt #0 to [2001:db8::1]:443 never completes"),
        "{error}"
    );
    assert!(!error.contains("never answered"), "{error}");
    assert_eq!(v["elapsed_ms"], 10000.0);
}

#[test]
fn simulate_summary_time_is_that_of_the_last_event() {
    let (stdout, _) = run(&mut stuck_race(), 1);
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("failed after 250.0 ms"), "{stdout}");
    let (stdout, _) = run(stuck_race().arg("--json"), 1);
    assert_eq!(json_of(stdout.as_bytes())["elapsed_ms"], 250.0);
}

#[test]
fn simulate_text_that_does_not_parse_or_cannot_apply_is_a_usage_error() {
    for args in [
        // Wrong family for the record type.
        vec!["--aaaa", "192.0.2.1"],
        vec!["--a", "2001:db8::1"],
        vec!["--aaaa", "::ffff:192.0.2.1"],
        // Not an answer.
        vec!["--aaaa", "2001:db8::1,"],
        vec!["--aaaa", "never@5ms"],
        vec!["--aaaa", "2001:db8::1@"],
        // A behaviour for an address the race never tries, given twice, or malformed.
        vec!["--aaaa", "2001:db8::1", "--server", "2001:db8::2=refuse"],
        vec![
            "--aaaa",
            "2001:db8::1",
            "--server",
            "2001:db8::1=refuse",
            "--server",
            "2001:db8::1=accept",
        ],
        vec![
            "--aaaa",
            "2001:db8::1",
            "--server",
            "2001:db8::1=blackhole:5ms",
        ],
        vec!["--aaaa", "2001:db8::1", "--server", "2001:db8::1=accept:"],
        // An answer for a query that is never sent.
        vec!["-4", "--aaaa", "2001:db8::1", "--a", "192.0.2.1"],
        vec!["-6", "--aaaa", "2001:db8::1", "--a", "192.0.2.1"],
        // No interfaces in the simulator.
        vec!["--aaaa", "2001:db8::1", "--interface", "lo"],
    ] {
        let (_, stderr) = run(
            eyeballs().args(["simulate", "x.test", "443"]).args(&args),
            2,
        );
        assert!(!stderr.is_empty(), "{args:?}");
    }
    // Answers for a host that is an IP address: no query is sent.
    let (_, stderr) = run(
        eyeballs().args(["simulate", "192.0.2.1:443", "--a", "192.0.2.1"]),
        2,
    );
    assert!(stderr.contains("is an IP address"), "{stderr}");
}

#[test]
fn simulate_bind_fails_a_family_with_no_local_address() {
    let (stdout, _) = run(
        eyeballs()
            .args(["simulate", "x.test", "443", "--json", "--bind", "192.0.2.9"])
            .args(["--aaaa", "2001:db8::1", "--a", "192.0.2.1"]),
        0,
    );
    let v = json_of(stdout.as_bytes());
    assert_schema(&v);
    let a = &v["attempts"];
    assert_eq!(a[0]["address"], "2001:db8::1");
    assert_eq!(a[0]["outcome"], "error");
    assert_eq!(a[0]["ended_ms"], 0.0);
    assert!(a[0]["error"].as_str().unwrap().contains("--bind"), "{v}");
    assert_eq!(a[1]["address"], "192.0.2.1");
    assert_eq!(a[1]["outcome"], "connected");
}

#[test]
fn r6724_4_simulate_bind_is_the_source_address_for_sorting() {
    let order = |bind: &[&str]| -> Vec<String> {
        let (stdout, _) = run(
            eyeballs()
                .args(["simulate", "x.test", "443", "--json"])
                .args(["--aaaa", "2001:db8::1,fd00::1"])
                .args([
                    "--server",
                    "2001:db8::1=blackhole",
                    "--server",
                    "fd00::1=blackhole",
                ])
                .args(["--timeout", "1s"])
                .args(bind),
            1,
        );
        json_of(stdout.as_bytes())["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["address"].as_str().unwrap().to_owned())
            .collect()
    };
    // Unknown sources: precedence (rule 6) puts the global address first.
    assert_eq!(order(&[]), ["2001:db8::1", "fd00::1"]);
    // Source fd00::5: the matching label (rule 5) puts the ULA first.
    assert_eq!(order(&["--bind", "fd00::5"]), ["fd00::1", "2001:db8::1"]);
}

// ---------------------------------------------------------------------------------------
// `connect`: target forms, --count, -v, --interface, one failure message.

#[test]
fn connect_takes_host_colon_port_and_bracketed_ipv6() {
    let (_listener, port) = loopback();
    let (stdout, _) = run(
        eyeballs().args(["connect", &format!("127.0.0.1:{port}"), "--json"]),
        0,
    );
    let v = json_of(stdout.as_bytes());
    assert_eq!(v["host"], "127.0.0.1");
    assert_eq!(v["port"].to_string(), port);
    assert_eq!(v["winner"]["address"], "127.0.0.1");
    if let Some((_listener6, port6)) = loopback6() {
        for args in [
            vec![format!("[::1]:{port6}")],
            vec!["[::1]".to_owned(), port6.clone()],
            vec!["::1".to_owned(), port6.clone()],
        ] {
            let (stdout, _) = run(eyeballs().arg("connect").args(&args).arg("--json"), 0);
            assert_eq!(
                json_of(stdout.as_bytes())["winner"]["address"],
                "::1",
                "{args:?}"
            );
        }
    }
    for args in [
        vec![format!("127.0.0.1:{port}"), port.clone()],
        vec!["127.0.0.1".to_owned()],
        vec!["::1".to_owned()],
        vec!["[::1]".to_owned()],
        vec!["[::1".to_owned(), port.clone()],
        vec!["127.0.0.1:99999".to_owned()],
    ] {
        run(eyeballs().arg("connect").args(&args), 2);
    }
}

#[test]
fn connect_count_runs_n_races_and_summarises() {
    let (_listener, port) = loopback();
    let (stdout, _) = run(
        eyeballs().args(["connect", "127.0.0.1", &port, "--count", "3"]),
        0,
    );
    assert_eq!(
        stdout.matches("connected to 127.0.0.1:").count(),
        3,
        "{stdout}"
    );
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("3 races: 3 connected, 0 failed; connect time min ")
            && last.contains(" ms, median ")
            && last.contains(" ms, max "),
        "{stdout}"
    );
    let (stdout, _) = run(
        eyeballs().args(["connect", "127.0.0.1", &port, "--count", "3", "--json"]),
        0,
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for line in lines {
        let v = json_of(line.as_bytes());
        assert_schema(&v);
        assert_eq!(v["outcome"], "connected");
    }
    run(
        eyeballs().args(["connect", "127.0.0.1", &port, "--count", "0"]),
        2,
    );
}

#[test]
fn connect_count_with_failures_exits_1() {
    let (listener, port) = loopback();
    drop(listener);
    let (stdout, _) = run(
        eyeballs().args(["connect", "127.0.0.1", &port, "--count", "2"]),
        1,
    );
    assert_eq!(stdout.matches("failed after").count(), 2, "{stdout}");
    assert!(
        stdout.lines().last().unwrap() == "2 races: 0 connected, 2 failed; no connect time",
        "{stdout}"
    );
}

#[test]
fn connect_verbose_shows_library_tracing_events() {
    let (_listener, port) = loopback();
    let (_, stderr) = run(eyeballs().args(["connect", "127.0.0.1", &port]), 0);
    assert!(stderr.is_empty(), "no -v, no events: {stderr}");
    let (_, stderr) = run(
        eyeballs()
            .env("RUST_LOG", "eyeballs=trace")
            .args(["connect", "127.0.0.1", &port]),
        0,
    );
    assert!(stderr.is_empty(), "RUST_LOG alone shows nothing: {stderr}");
    let (_, stderr) = run(eyeballs().args(["connect", "-v", "127.0.0.1", &port]), 0);
    assert!(stderr.contains("attempt started"), "{stderr}");
    assert!(stderr.contains("eyeballs"), "{stderr}");
    let (_, stderr) = run(
        eyeballs()
            .env("RUST_LOG", "off")
            .args(["connect", "-vv", "127.0.0.1", &port]),
        0,
    );
    assert!(stderr.is_empty(), "RUST_LOG chooses over -v: {stderr}");
    run(
        eyeballs()
            .env("RUST_LOG", "eyeballs=loud")
            .args(["connect", "-v", "127.0.0.1", &port]),
        2,
    );
}

#[test]
fn connect_interface_binds_the_socket_to_a_device() {
    let (_listener, port) = loopback();
    // SO_BINDTODEVICE needs CAP_NET_RAW on older kernels: a refusal must then be that.
    let out = eyeballs()
        .args(["connect", "127.0.0.1", &port, "--interface", "lo", "--json"])
        .output()
        .unwrap();
    let v = json_of(&out.stdout);
    assert_schema(&v);
    let permitted = v["outcome"] == "connected";
    if !permitted {
        assert!(
            v["error"].as_str().unwrap().contains("not permitted"),
            "{v}"
        );
    }
    // A device that does not exist fails the attempt: the option reached the socket.
    let (stdout, _) = run(
        eyeballs().args([
            "connect",
            "127.0.0.1",
            &port,
            "--interface",
            "nosuchdev0",
            "--json",
        ]),
        1,
    );
    let v = json_of(stdout.as_bytes());
    let error = v["attempts"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("No such device") || !permitted && error.contains("not permitted"),
        "{v}"
    );
    run(
        eyeballs().args(["connect", "127.0.0.1", &port, "--interface", "a/b"]),
        2,
    );
}

#[test]
fn connect_failure_is_printed_once() {
    let (listener, port) = loopback();
    drop(listener);
    let (stdout, stderr) = run(eyeballs().args(["connect", "127.0.0.1", &port]), 1);
    assert!(stderr.is_empty(), "the timeline tells it: {stderr}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("failed after") && last.contains(&format!("127.0.0.1:{port}")),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("Connection refused").count(),
        2,
        "attempt and race: {stdout}"
    );
    // With --json, stdout is the object and stderr the one line for people.
    let (stdout, stderr) = run(
        eyeballs().args(["connect", "127.0.0.1", &port, "--json"]),
        1,
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert_eq!(json_of(stdout.as_bytes())["outcome"], "failed");
}

/// HEv3 §6 on virtual time: h3 in --alpn makes the --https record's addresses QUIC endpoints
/// too; UDP blocked (`quic://` behaviours) while TCP works: QUIC over IPv6 first, TCP over
/// IPv4 at 250 ms wins; with a stalled QUIC path in history, TCP leads at once (V3-6.5).
#[test]
fn simulate_races_quic_against_tcp() {
    let run = |history: &[&str]| {
        let mut cmd = eyeballs();
        cmd.args([
            "simulate",
            "h3.test",
            "443",
            "--https-rr",
            "--alpn",
            "h3,h2",
        ])
        .args(["--https", "1 . alpn=h3,h2"])
        .args(["--aaaa", "2001:db8::1", "--a", "192.0.2.1", "--json"])
        .args(["--server", "quic://2001:db8::1=blackhole"])
        .args(["--server", "quic://192.0.2.1=blackhole"]);
        for h in history {
            cmd.args(["--history", h]);
        }
        let out = cmd.assert().success();
        let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        v["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{} {} {} {}",
                    a["started_ms"], a["protocol"], a["address"], a["outcome"]
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run(&[]),
        [
            r#"0.0 "quic" "2001:db8::1" "aborted""#,
            r#"250.0 "tcp" "192.0.2.1" "connected""#,
        ]
    );
    assert_eq!(
        run(&["quic://2001:db8::1=stalled"]),
        [r#"0.0 "tcp" "2001:db8::1" "connected""#]
    );
}
