//! `eyeballs connect` against the real kernel in the network lab (root; skipped otherwise,
//! required under CI=true): IPv6 black-holed, IPv4 working, resolved through the lab's DNS;
//! with `--count`, the later races remember what the first one taught.

use std::net::{Ipv4Addr, Ipv6Addr};

use eyeballs_lab::{Behavior, DnsRecords, Lab};
use serde_json::Value;

/// The lab: `dual.test` on 2001:db8::10 (black hole) and 198.18.0.10 (accepts), port 8080.
fn black_holed_ipv6() -> Lab {
    let v6: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let v4: Ipv4Addr = "198.18.0.10".parse().unwrap();
    Lab::builder()
        .port(8080)
        .server(v6.into(), Behavior::BlackHole)
        .server(v4.into(), Behavior::Accept)
        .dns(
            "dual.test",
            DnsRecords {
                aaaa: vec![v6],
                a: vec![v4],
            },
        )
        .start()
        .unwrap()
}

/// `eyeballs connect dual.test 8080 --json --dns <lab> ARGS` in the client namespace: one
/// JSON object per race.
fn connect(lab: &Lab, args: &[&str]) -> Vec<Value> {
    connect_to(lab, "dual.test", &lab.dns_server_v4().to_string(), args)
}

/// `eyeballs connect NAME 8080 --json --dns DNS ARGS` in the client namespace.
fn connect_to(lab: &Lab, name: &str, dns: &str, args: &[&str]) -> Vec<Value> {
    let out = lab
        .client_command(env!("CARGO_BIN_EXE_eyeballs"))
        .unwrap()
        .args(["connect", name, "8080", "--json", "--dns", dns])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn connect_falls_back_to_ipv4_when_ipv6_is_black_holed() {
    if !eyeballs_lab::require_root("connect_falls_back_to_ipv4_when_ipv6_is_black_holed") {
        return;
    }
    let lab = black_holed_ipv6();
    let races = connect(&lab, &[]);
    let v = &races[0];
    assert_eq!(v["winner"]["address"], "198.18.0.10", "{v}");
    let attempts = v["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["address"], "2001:db8::10");
    assert_eq!(attempts[0]["outcome"], "aborted");
    assert_eq!(attempts[1]["outcome"], "connected");
    let gap =
        attempts[1]["started_ms"].as_f64().unwrap() - attempts[0]["started_ms"].as_f64().unwrap();
    assert!(
        (225.0..=275.0).contains(&gap),
        "second attempt {gap} ms after the first"
    );
    let elapsed = v["elapsed_ms"].as_f64().unwrap();
    assert!(
        (225.0..=300.0).contains(&elapsed),
        "connected after {elapsed} ms"
    );
    let dns_results: Vec<&str> = v["dns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["result"].as_str().unwrap())
        .collect();
    assert_eq!(dns_results, ["ok", "ok"]);
}

/// `--count 3`: the first race waits out the black hole; the later ones lead with IPv4 (the
/// history store), one attempt each; `--no-history` pays the delay every time.
#[test]
fn connect_count_races_share_one_history() {
    if !eyeballs_lab::require_root("connect_count_races_share_one_history") {
        return;
    }
    let lab = black_holed_ipv6();
    let races = connect(&lab, &["--count", "3"]);
    assert_eq!(races.len(), 3);
    let elapsed = |v: &Value| v["elapsed_ms"].as_f64().unwrap();
    assert!(elapsed(&races[0]) >= 225.0, "{}", races[0]);
    for v in &races[1..] {
        let attempts = v["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{v}");
        assert_eq!(attempts[0]["address"], "198.18.0.10");
        assert_eq!(attempts[0]["history"]["used"], true, "{v}");
        assert!(attempts[0]["history"]["srtt_ms"].is_f64(), "{v}");
        assert_eq!(v["history_reordered"], true);
        assert!(elapsed(v) < 100.0, "a later race took {} ms", elapsed(v));
    }

    let forgetful = connect(&lab, &["--count", "2", "--no-history"]);
    for v in &forgetful {
        assert!(elapsed(v) >= 225.0, "{v}");
        assert_eq!(v["attempts"][0]["history"], Value::Null);
    }
}

/// `--detect-network` on an IPv6-only client behind the lab's NAT64 (tayga): the prefix is
/// discovered through the lab's DNS (RFC 7050) and an IPv4-only name is reached through it.
#[test]
fn connect_detect_network_reaches_ipv4_through_nat64() {
    if !eyeballs_lab::require_root("connect_detect_network_reaches_ipv4_through_nat64") {
        return;
    }
    let v4: Ipv4Addr = "198.18.0.10".parse().unwrap();
    let lab = Lab::builder()
        .port(8080)
        .server(v4.into(), Behavior::Accept)
        .dns(
            "v4only.test",
            DnsRecords {
                aaaa: vec![],
                a: vec![v4],
            },
        )
        .nat64(eyeballs_lab::Nat64::default())
        .start()
        .unwrap();
    let dns = lab.dns_server_v6().to_string();
    let races = connect_to(&lab, "v4only.test", &dns, &["--detect-network"]);
    let v = &races[0];
    let synthesized = lab.synthesized(v4).unwrap().to_string();
    assert_eq!(v["winner"]["address"], synthesized.as_str(), "{v}");
}
