//! QUIC raced against TCP+TLS on the real kernel (root; issue 11, HEv3 §6): the lab's
//! secure servers (TLS with h2/http1.1 and QUIC with h3 on the same addresses and port) with
//! UDP behaviours apart from the TCP ones. The connector knows the origin speaks h3 (as an
//! Alt-Svc would say), so with both families the order is QUIC over IPv6, TCP over IPv4 at
//! 250 ms, QUIC over IPv4 at 500 ms, TCP over IPv6 at 750 ms. Offsets within 25 ms.
#![cfg(all(feature = "quic", target_os = "linux"))]

mod common;

#[path = "common/lab.rs"]
mod lab;

#[allow(dead_code)] // the example's `main`
#[path = "../examples/h3_get.rs"]
mod example;

use std::net::SocketAddr;
use std::time::Duration;

use eyeballs::proto::{Protocol, ServiceRecord};
use eyeballs::resolver::StaticResolver;
use eyeballs::secure::rustls::{self, ClientConfig, RootCertStore};
use eyeballs::secure::SecureConnector;
use eyeballs::{AttemptEnd, Connector};
use eyeballs_lab::{Behavior, Lab, Secure, UdpBehavior, LAB_NAME};
use lab::*;

/// A secure lab: `V6A` and `V4A` with these TCP behaviours, and UDP ones where given.
fn secure_lab(test: &str, tcp: [Behavior; 2], udp: [Option<UdpBehavior>; 2]) -> Option<Lab> {
    lab_with(test, &[(V6A, tcp[0]), (V4A, tcp[1])], |mut b| {
        for (addr, behavior) in [V6A, V4A].into_iter().zip(udp) {
            if let Some(behavior) = behavior {
                b = b.udp(ip(addr), behavior);
            }
        }
        b.secure(Secure::default())
    })
}

fn roots(lab: &Lab) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(lab.ca_der().expect("a secure lab has a CA"))
        .unwrap();
    roots
}

/// The lab's name resolving to `V6A` and `V4A`, with no DNS.
fn base() -> Connector {
    Connector::new().resolver(StaticResolver::new().host(LAB_NAME, [ip(V6A), ip(V4A)]))
}

/// h2 and http/1.1 over TCP, h3 over QUIC, trusting the lab's CA; the origin known to speak
/// h3 and h2 on its port.
fn connector(lab: &Lab) -> SecureConnector {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(lab))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let known = ServiceRecord::service(1).with_alpn(["h3", "h2"]);
    SecureConnector::new(base().known_service(known), tls)
        .quic(["h3"])
        .unwrap()
}

/// What a secure race did, as plain data.
#[derive(Debug)]
struct Secured {
    /// Each attempt: protocol, address, start offset, how it ended.
    attempts: Vec<(Protocol, SocketAddr, Duration, Option<AttemptEnd>)>,
    /// The winner's protocol and settled ALPN.
    won: Option<(Protocol, Option<String>)>,
    report: String,
}

impl Secured {
    #[track_caller]
    fn assert_schedule(&self, expected: &[(Protocol, &str, u64)]) {
        let got: Vec<(Protocol, SocketAddr)> = self.attempts.iter().map(|a| (a.0, a.1)).collect();
        let want: Vec<(Protocol, SocketAddr)> = expected.iter().map(|e| (e.0, sock(e.1))).collect();
        assert_eq!(got, want, "attempts\n{}", self.report);
        for (attempt, (_, _, at)) in self.attempts.iter().zip(expected) {
            assert_near(
                attempt.2,
                Duration::from_millis(*at),
                &format!("start of {:?} {}", attempt.0, attempt.1),
            );
        }
    }
}

/// One race to the lab's name from the client namespace.
fn race(lab: &Lab) -> Secured {
    let connector = connector(lab);
    lab.run_in_client(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let result = connector.connect_as(LAB_NAME, PORT, LAB_NAME).await;
            let won = result.as_ref().ok().map(|c| {
                let alpn = c.stream().alpn().map(|a| String::from_utf8(a).unwrap());
                (c.stream().protocol(), alpn)
            });
            let report = match &result {
                Ok(c) => c.report().clone(),
                Err(e) => e.report().expect("a network failure has a report").clone(),
            };
            Secured {
                attempts: report
                    .attempts()
                    .map(|a| (a.endpoint.protocol, a.endpoint.addr, a.started, a.end))
                    .collect(),
                won,
                report: report.to_string(),
            }
        })
    })
    .unwrap()
}

const ACCEPT: [Behavior; 2] = [Behavior::Accept, Behavior::Accept];

/// V3-6.1.4: both protocols work: QUIC goes first and wins with h3; no TCP attempt starts.
#[test]
fn v3_6_1_4_both_work_quic_first_wins() {
    let Some(lab) = secure_lab("v3_6_1_4_both_work_quic_first_wins", ACCEPT, [None, None]) else {
        return;
    };
    let ran = race(&lab);
    ran.assert_schedule(&[(Protocol::Quic, V6A, 0)]);
    assert_eq!(
        ran.won,
        Some((Protocol::Quic, Some("h3".into()))),
        "{}",
        ran.report
    );
    // The client is done once it has the server's flight; the server, once the client's
    // Finished arrives: a moment later.
    let accepted = (0..100)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(10));
            lab.quic_accepted_count(ip(V6A))
        })
        .find(|&n| n > 0);
    assert_eq!(accepted, Some(1));
    assert_eq!(lab.tls_accepted_count(ip(V4A)), 0);
}

/// UDP black-holed everywhere: TCP+TLS over the other family starts at the Connection
/// Attempt Delay and wins with h2.
#[test]
fn udp_black_holed_tcp_wins_at_the_attempt_delay() {
    let hole = Some(UdpBehavior::BlackHole);
    let Some(lab) = secure_lab(
        "udp_black_holed_tcp_wins_at_the_attempt_delay",
        ACCEPT,
        [hole, hole],
    ) else {
        return;
    };
    let ran = race(&lab);
    ran.assert_schedule(&[(Protocol::Quic, V6A, 0), (Protocol::Tcp, V4A, 250)]);
    assert_eq!(
        ran.won,
        Some((Protocol::Tcp, Some("h2".into()))),
        "{}",
        ran.report
    );
    assert_eq!(
        ran.attempts[0].3,
        Some(AttemptEnd::Aborted),
        "{}",
        ran.report
    );
}

/// UDP refused (ICMP port unreachable): the QUIC attempt fails at once, TCP+TLS starts at
/// the 10 ms floor (HE-5.10), not after 250 ms.
#[test]
fn udp_refused_tcp_starts_at_the_floor() {
    let refuse = Some(UdpBehavior::Refuse);
    let Some(lab) = secure_lab(
        "udp_refused_tcp_starts_at_the_floor",
        ACCEPT,
        [refuse, refuse],
    ) else {
        return;
    };
    let ran = race(&lab);
    ran.assert_schedule(&[(Protocol::Quic, V6A, 0), (Protocol::Tcp, V4A, 10)]);
    assert!(
        matches!(ran.attempts[0].3, Some(AttemptEnd::Failed(_))),
        "{}",
        ran.report
    );
    assert_eq!(
        ran.won,
        Some((Protocol::Tcp, Some("h2".into()))),
        "{}",
        ran.report
    );
}

/// The QUIC handshake starts and stalls after the first datagrams: the server saw the
/// Initial but no handshake completes; TCP+TLS wins at the attempt delay.
#[test]
fn a_stalled_quic_handshake_loses_to_tcp_at_the_attempt_delay() {
    let stall = Some(UdpBehavior::Stall);
    let Some(lab) = secure_lab(
        "a_stalled_quic_handshake_loses_to_tcp_at_the_attempt_delay",
        ACCEPT,
        [stall, None],
    ) else {
        return;
    };
    let ran = race(&lab);
    ran.assert_schedule(&[(Protocol::Quic, V6A, 0), (Protocol::Tcp, V4A, 250)]);
    assert_eq!(
        ran.won,
        Some((Protocol::Tcp, Some("h2".into()))),
        "{}",
        ran.report
    );
    assert_eq!(
        lab.quic_incoming_count(ip(V6A)),
        1,
        "the server saw the Initial"
    );
    assert_eq!(
        lab.quic_accepted_count(ip(V6A)),
        0,
        "no handshake completed"
    );
}

/// TCP black-holed, UDP fine: QUIC wins, as if TCP did not exist.
#[test]
fn tcp_black_holed_quic_wins() {
    let accept = Some(UdpBehavior::Accept);
    let Some(lab) = secure_lab(
        "tcp_black_holed_quic_wins",
        [Behavior::BlackHole, Behavior::BlackHole],
        [accept, accept],
    ) else {
        return;
    };
    let ran = race(&lab);
    ran.assert_schedule(&[(Protocol::Quic, V6A, 0)]);
    assert_eq!(
        ran.won,
        Some((Protocol::Quic, Some("h3".into()))),
        "{}",
        ran.report
    );
}

/// IPv6 black-holed for both protocols: the second attempt changes protocol and family, and
/// TCP+TLS over IPv4 wins at 250 ms.
#[test]
fn ipv6_black_holed_for_both_protocols_tcp_over_ipv4_wins() {
    let Some(lab) = secure_lab(
        "ipv6_black_holed_for_both_protocols_tcp_over_ipv4_wins",
        [Behavior::BlackHole, Behavior::Accept],
        [None, None],
    ) else {
        return;
    };
    let ran = race(&lab);
    ran.assert_schedule(&[(Protocol::Quic, V6A, 0), (Protocol::Tcp, V4A, 250)]);
    assert_eq!(
        ran.won,
        Some((Protocol::Tcp, Some("h2".into()))),
        "{}",
        ran.report
    );
}

/// A QUIC handshake slower than the attempt delay loses to TCP, which connects at once: the
/// QUIC attempt is aborted, whatever its handshake does later.
#[test]
fn a_slow_quic_handshake_loses_to_tcp() {
    let slow = Some(UdpBehavior::Delay(Duration::from_millis(400)));
    let Some(lab) = secure_lab("a_slow_quic_handshake_loses_to_tcp", ACCEPT, [slow, slow]) else {
        return;
    };
    let ran = race(&lab);
    ran.assert_schedule(&[(Protocol::Quic, V6A, 0), (Protocol::Tcp, V4A, 250)]);
    assert_eq!(
        ran.won,
        Some((Protocol::Tcp, Some("h2".into()))),
        "{}",
        ran.report
    );
    assert_eq!(
        ran.attempts[0].3,
        Some(AttemptEnd::Aborted),
        "{}",
        ran.report
    );
}

/// The example (examples/h3_get.rs) fetches a page from the lab: over HTTP/3 where UDP
/// works, over HTTP/2 where it is black-holed.
#[test]
fn the_h3_example_fetches_over_h3_or_h2() {
    let Some(lab) = secure_lab("the_h3_example_fetches_over_h3_or_h2", ACCEPT, [None, None]) else {
        return;
    };
    let uri: http::Uri = format!("https://{LAB_NAME}:{PORT}/").parse().unwrap();
    let fetch = |lab: &Lab| {
        let connector = example::connector(base(), roots(lab)).unwrap();
        let uri = uri.clone();
        lab.run_in_client(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let page = runtime.block_on(example::get(&connector, &uri)).unwrap();
            let protocol = page.headers.get("x-lab-protocol").cloned();
            (page.protocol, page.status, protocol, page.body)
        })
        .unwrap()
    };
    let (protocol, status, served, body) = fetch(&lab);
    assert_eq!(protocol, Protocol::Quic);
    assert_eq!(status, 200);
    assert_eq!(served.as_ref().map(|v| v.to_str().unwrap()), Some("h3"));
    assert_eq!(body, format!("{V6A}\n").into_bytes());

    for addr in [V6A, V4A] {
        lab.set_udp_behavior(ip(addr), UdpBehavior::BlackHole)
            .unwrap();
    }
    let (protocol, status, served, body) = fetch(&lab);
    assert_eq!(protocol, Protocol::Tcp);
    assert_eq!(status, 200);
    assert_eq!(served.as_ref().map(|v| v.to_str().unwrap()), Some("h2"));
    assert_eq!(body, format!("{V4A}\n").into_bytes());
}
