//! History keyed by protocol on loopback (no root; feature `quic`, V3-6.5): two races with
//! one `SecureConnector` to an address whose UDP is black-holed. The first pays the
//! Connection Attempt Delay (QUIC first, TCP+TLS at 250 ms); the store remembers that the
//! QUIC endpoint stalled, and the second race leads with TCP at 0 ms, QUIC demoted after it.
#![cfg(all(feature = "quic", target_os = "linux"))]

mod quic_common;

use std::net::UdpSocket;
use std::time::Duration;

use eyeballs::history::{HistoryConfig, HistoryStore};
use eyeballs::proto::{Endpoint, PathFailure, Protocol};
use eyeballs::secure::rustls::pki_types::CertificateDer;
use eyeballs::secure::SecureConnector;
use eyeballs::{AttemptEnd, Connector};
use quic_common::*;

/// As `quic_common::connector`, with `store` as its history.
fn connector_with(cert: &CertificateDer<'static>, store: HistoryStore) -> SecureConnector {
    connector_over(Connector::new().history(store), cert)
}

/// A store that does not watch the network, so that links other tests on this machine add
/// or remove cannot flush it between the two races.
fn quiet_store() -> HistoryStore {
    let mut config = HistoryConfig::default();
    config.watch_network = false;
    HistoryStore::with_config(config)
}

/// V3-6.5 with RFC 6724 rule 1: UDP black-holed. First race: QUIC at 0, TCP+TLS at the
/// 250 ms delay wins. Second race, same connector: TCP first at 0 ms and wins with one
/// handshake; the QUIC endpoint (demoted) is not reached. TCP's own facts are its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_6_5_udp_black_holed_the_second_race_leads_with_tcp() {
    let id = identity();
    let tcp = tls_server(&id).await;
    let _hole = UdpSocket::bind(tcp).unwrap();
    let store = quiet_store();
    let connector = connector_with(&id.cert, store.clone());

    let first = connector.connect("127.0.0.1", tcp.port()).await.unwrap();
    let report = first.report();
    let attempts: Vec<_> = report.attempts().collect();
    assert_eq!(attempts.len(), 2, "{report}");
    assert_eq!(attempts[0].endpoint.protocol, Protocol::Quic);
    assert_eq!(attempts[0].end, Some(AttemptEnd::Aborted), "{report}");
    assert_eq!(attempts[0].history, None, "{report}");
    let fallback = attempts[1].started;
    assert!(
        fallback >= Duration::from_millis(250) && fallback < Duration::from_millis(300),
        "TCP started at {fallback:?}\n{report}"
    );
    assert_eq!(first.stream().protocol(), Protocol::Tcp);
    drop(first);

    let quic_endpoint = Endpoint {
        addr: tcp,
        protocol: Protocol::Quic,
    };
    assert_eq!(
        store.endpoint_facts(quic_endpoint).and_then(|f| f.failed),
        Some(PathFailure::Stalled),
        "the QUIC endpoint stalled"
    );
    let tcp_facts = store.facts(tcp).expect("the TCP winner's RTT");
    assert!(tcp_facts.failed.is_none() && tcp_facts.rtt.is_some());

    let second = connector.connect("127.0.0.1", tcp.port()).await.unwrap();
    let report = second.report();
    let attempts: Vec<_> = report.attempts().collect();
    assert_eq!(attempts[0].endpoint, Endpoint::tcp(tcp), "{report}");
    assert!(
        attempts[0].started < Duration::from_millis(10),
        "TCP started at {:?}\n{report}",
        attempts[0].started
    );
    // What the store knew of the TCP endpoint: its RTT (an IP literal has no host, so no
    // used mark, HE-4.4); nothing of the QUIC one's stall.
    assert!(
        attempts[0]
            .history
            .is_some_and(|f| f.rtt.is_some() && f.failed.is_none()),
        "{report}"
    );
    assert_eq!(second.stream().protocol(), Protocol::Tcp);
    assert!(report.history_reordered(), "{report}");
    // TCP won within its RTT-derived delay (at least 100 ms, HE-5.11): QUIC, tried after
    // it, was not needed.
    assert_eq!(attempts.len(), 1, "{report}");
}
