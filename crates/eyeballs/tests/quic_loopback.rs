//! QUIC raced against TCP+TLS on loopback (no root; feature `quic`): QUIC wins where UDP
//! works, TCP+TLS wins at the Connection Attempt Delay where UDP is swallowed and at the
//! 10 ms floor where UDP is refused (ICMP port unreachable, which loopback sends as any
//! host would); sockets are counted after each race.
#![cfg(all(feature = "quic", target_os = "linux"))]

mod quic_common;

use std::net::UdpSocket;
use std::time::Duration;

use eyeballs::proto::Protocol;
use eyeballs::secure::SecureStream;
use eyeballs::AttemptEnd;
use quic_common::*;

/// V3-6.1.4: with UDP working, the QUIC attempt goes first and wins once its handshake is
/// done; the TCP attempt never starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_6_1_4_quic_wins_where_udp_works() {
    let id = identity();
    let tcp = tls_server(&id).await;
    let _quic = quic_server(&id, tcp);
    let won = connector(&id.cert)
        .connect("127.0.0.1", tcp.port())
        .await
        .unwrap();
    let attempts: Vec<_> = won.report().attempts().collect();
    assert_eq!(attempts.len(), 1, "{}", won.report());
    assert_eq!(attempts[0].endpoint.protocol, Protocol::Quic);
    assert_eq!(won.stream().protocol(), Protocol::Quic);
    assert_eq!(won.stream().alpn().as_deref(), Some(&b"h3"[..]));
    assert!(matches!(won.stream(), SecureStream::Quic(_)));
}

/// UDP refused (ICMP port unreachable): the QUIC attempt fails at once with
/// `ConnectionRefused` and TCP+TLS starts at the 10 ms floor (HE-5.10), not after the
/// 250 ms Connection Attempt Delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_refused_gives_tcp_at_the_floor() {
    let id = identity();
    let tcp = tls_server(&id).await;
    let won = connector(&id.cert)
        .connect("127.0.0.1", tcp.port())
        .await
        .unwrap();
    let report = won.report();
    let attempts: Vec<_> = report.attempts().collect();
    assert_eq!(attempts.len(), 2, "{report}");
    assert_eq!(attempts[0].endpoint.protocol, Protocol::Quic);
    assert!(
        matches!(attempts[0].end, Some(AttemptEnd::Failed(_))),
        "{report}"
    );
    assert_eq!(
        attempts[0].error.map(|e| e.kind()),
        Some(std::io::ErrorKind::ConnectionRefused),
        "{report}"
    );
    assert_eq!(attempts[1].endpoint.protocol, Protocol::Tcp);
    let second = attempts[1].started;
    assert!(
        second >= Duration::from_millis(10) && second < Duration::from_millis(100),
        "TCP started at {second:?}\n{report}"
    );
    assert_eq!(won.stream().protocol(), Protocol::Tcp);
    assert_eq!(won.stream().alpn().as_deref(), Some(&b"h2"[..]));
    // V3-6.1.5: the TCP attempt said when TCP was done, before TLS was; QUIC has one
    // handshake and says nothing.
    let race = report.race();
    let tcp_done = race.attempts[1].transport_done.expect("TCP reported done");
    assert!(tcp_done >= race.attempts[1].started && Some(tcp_done) <= race.attempts[1].ended);
    assert_eq!(race.attempts[0].transport_done, None);
}

/// UDP black-holed (a socket that never reads: the Initial vanishes): TCP+TLS starts at the
/// Connection Attempt Delay and wins; the QUIC attempt is abandoned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_black_hole_gives_tcp_at_the_attempt_delay() {
    let id = identity();
    let tcp = tls_server(&id).await;
    let _hole = UdpSocket::bind(tcp).unwrap();
    let won = connector(&id.cert)
        .connect("127.0.0.1", tcp.port())
        .await
        .unwrap();
    let report = won.report();
    let attempts: Vec<_> = report.attempts().collect();
    assert_eq!(attempts.len(), 2, "{report}");
    assert_eq!(attempts[0].endpoint.protocol, Protocol::Quic);
    assert_eq!(attempts[0].end, Some(AttemptEnd::Aborted), "{report}");
    let second = attempts[1].started;
    assert!(
        second >= Duration::from_millis(250) && second < Duration::from_millis(300),
        "TCP started at {second:?}\n{report}"
    );
    assert_eq!(won.stream().protocol(), Protocol::Tcp);
}

/// A server name that is no name is the caller's error, before anything is sent.
#[tokio::test]
async fn an_invalid_server_name_is_invalid_input() {
    let id = identity();
    let err = connector(&id.cert)
        .connect_as("127.0.0.1", 443, "bad..name")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), eyeballs::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("TLS server name"), "{err}");
}
