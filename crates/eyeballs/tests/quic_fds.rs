//! No socket is left behind by QUIC attempts (issue 11): after a race whose QUIC attempt
//! lost to TCP (UDP black-holed), one whose QUIC attempt was refused, and one QUIC won, the
//! process has the winner's descriptor only, and none once the winner is dropped. One test,
//! so no other test of this binary opens descriptors at the same time.
#![cfg(all(feature = "quic", target_os = "linux"))]

mod quic_common;

use std::net::UdpSocket;

use eyeballs::proto::Protocol;
use quic_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_attempts_leave_no_socket_behind() {
    let id = identity();
    // No history: each race here starts as the first would (a QUIC path that failed in one
    // would otherwise go after TCP in the next).
    let connector = connector_over(eyeballs::Connector::new().without_history(), &id.cert);

    let tcp = tls_server(&id).await;

    // UDP black-holed: TCP wins at the attempt delay, the QUIC attempt is dropped.
    let hole = UdpSocket::bind(tcp).unwrap();
    let before = open_fds();
    let won = connector.connect("127.0.0.1", tcp.port()).await.unwrap();
    assert_eq!(won.stream().protocol(), Protocol::Tcp);
    // The winner's TCP socket and the test server's end of it are the descriptors the race
    // leaves (the QUIC socket goes once quinn has drained the closed connection).
    assert_eq!(
        settle_fds(before + 2).await,
        before + 2,
        "after a QUIC loss"
    );
    drop(won);
    assert_eq!(settle_fds(before).await, before, "after the winner went");
    drop(hole);

    // UDP refused: the QUIC attempt fails at once.
    let before = open_fds();
    let won = connector.connect("127.0.0.1", tcp.port()).await.unwrap();
    assert_eq!(won.stream().protocol(), Protocol::Tcp);
    assert_eq!(
        settle_fds(before + 2).await,
        before + 2,
        "after a QUIC refusal"
    );
    drop(won);
    assert_eq!(settle_fds(before).await, before);

    // QUIC wins: its UDP socket is the one descriptor left (the server's end shares the
    // server's socket), until the connection goes.
    let _quic = quic_server(&id, tcp);
    let before = open_fds();
    let won = connector.connect("127.0.0.1", tcp.port()).await.unwrap();
    assert_eq!(won.stream().protocol(), Protocol::Quic);
    assert_eq!(
        settle_fds(before + 1).await,
        before + 1,
        "the QUIC winner's socket"
    );
    let quic = won.into_stream().into_quic().unwrap();
    quic.close(0u32.into(), b"done");
    drop(quic);
    assert_eq!(
        settle_fds(before).await,
        before,
        "after the QUIC winner closed"
    );
}
