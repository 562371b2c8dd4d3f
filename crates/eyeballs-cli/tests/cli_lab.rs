//! `eyeballs connect` against the real kernel in the network lab (root; skipped otherwise,
//! required under CI=true): IPv6 black-holed, IPv4 working, resolved through the lab's DNS.

use std::net::{Ipv4Addr, Ipv6Addr};

use eyeballs_lab::{Behavior, DnsRecords, Lab};
use serde_json::Value;

#[test]
fn connect_falls_back_to_ipv4_when_ipv6_is_black_holed() {
    if !eyeballs_lab::require_root("connect_falls_back_to_ipv4_when_ipv6_is_black_holed") {
        return;
    }
    let v6: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let v4: Ipv4Addr = "198.18.0.10".parse().unwrap();
    let lab = Lab::builder()
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
        .unwrap();
    let dns = lab.dns_server_v4().to_string();
    let out = lab
        .client_command(env!("CARGO_BIN_EXE_eyeballs"))
        .unwrap()
        .args(["connect", "dual.test", "8080", "--json", "--dns", &dns])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
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
