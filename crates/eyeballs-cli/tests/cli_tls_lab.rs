//! `eyeballs connect --tls --alpn h3,h2 --json` against the lab's secure servers (root;
//! skipped otherwise, required under CI=true; issue 11): which protocol won and why, per
//! attempt its protocol and the ALPN it offered, and the ALPN settled.

use std::net::IpAddr;

use eyeballs_lab::{Behavior, DnsRecords, Lab, Secure, UdpBehavior};
use serde_json::Value;

const V6: &str = "2001:db8::10";
const V4: &str = "198.18.0.10";

/// `web.test` on both addresses (TLS h2/http1.1 and QUIC h3 on port 8443), with `udp` for
/// UDP to both.
fn secure_lab(udp: Option<UdpBehavior>) -> Lab {
    let v6: IpAddr = V6.parse().unwrap();
    let v4: IpAddr = V4.parse().unwrap();
    let mut b = Lab::builder()
        .port(8443)
        .server(v6, Behavior::Accept)
        .server(v4, Behavior::Accept)
        .dns(
            "web.test",
            DnsRecords {
                aaaa: vec![V6.parse().unwrap()],
                a: vec![V4.parse().unwrap()],
            },
        )
        .secure(Secure::default());
    if let Some(udp) = udp {
        b = b.udp(v6, udp).udp(v4, udp);
    }
    b.start().unwrap()
}

/// `eyeballs connect web.test 8443 --tls --alpn h3,h2 --cacert <lab CA> --json --dns <lab>`
/// in the client namespace.
fn connect_tls(lab: &Lab, test: &str) -> Value {
    let ca = std::env::temp_dir().join(format!("eyeballs-{test}-{}.pem", std::process::id()));
    lab.write_ca_pem(&ca).unwrap();
    let dns = lab.dns_server_v4().to_string();
    let out = lab
        .client_command(env!("CARGO_BIN_EXE_eyeballs"))
        .unwrap()
        .args([
            "connect", "web.test", "8443", "--tls", "--alpn", "h3,h2", "--json",
        ])
        .args(["--dns", &dns, "--cacert"])
        .arg(&ca)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&ca);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tls_connect_shows_quic_winning_where_udp_works() {
    let test = "tls_connect_shows_quic_winning_where_udp_works";
    if !eyeballs_lab::require_root(test) {
        return;
    }
    let lab = secure_lab(None);
    let v = connect_tls(&lab, test);
    assert_eq!(v["alpn"], "h3", "{v}");
    let attempts = v["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{v}");
    assert_eq!(attempts[0]["protocol"], "quic");
    assert_eq!(attempts[0]["address"], V6);
    assert_eq!(attempts[0]["outcome"], "connected");
    assert_eq!(attempts[0]["alpn"], serde_json::json!(["h3"]));
}

#[test]
fn tls_connect_shows_why_tcp_won_where_udp_is_refused() {
    let test = "tls_connect_shows_why_tcp_won_where_udp_is_refused";
    if !eyeballs_lab::require_root(test) {
        return;
    }
    let lab = secure_lab(Some(UdpBehavior::Refuse));
    let v = connect_tls(&lab, test);
    assert_eq!(v["alpn"], "h2", "{v}");
    let attempts = v["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["protocol"], "quic", "{v}");
    assert_eq!(attempts[0]["outcome"], "refused", "{v}");
    assert_eq!(attempts[1]["protocol"], "tcp", "{v}");
    assert_eq!(attempts[1]["address"], V4, "{v}");
    assert_eq!(attempts[1]["outcome"], "connected", "{v}");
    assert_eq!(attempts[1]["alpn"], serde_json::json!(["h2"]));
    let gap =
        attempts[1]["started_ms"].as_f64().unwrap() - attempts[0]["started_ms"].as_f64().unwrap();
    assert!(
        (10.0..=40.0).contains(&gap),
        "TCP {gap} ms after QUIC: the 10 ms floor"
    );
}
