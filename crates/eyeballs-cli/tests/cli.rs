//! The `eyeballs` command: parsing, exit codes, the JSON schema, `demo` and `simulate`, and
//! `connect` on loopback. No root needed.

use std::net::TcpListener;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn eyeballs() -> Command {
    let mut cmd = Command::cargo_bin("eyeballs").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
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
        assert!(a["started_ms"].is_f64() && a["ended_ms"].is_f64());
        let outcomes = [
            "connected",
            "refused",
            "unreachable",
            "timeout",
            "aborted",
            "error",
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
    for sub in ["connect", "demo", "simulate", "proxy"] {
        assert!(text.contains(sub), "{sub} missing from --help:\n{text}");
    }
    for sub in ["connect", "demo", "simulate", "proxy"] {
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
