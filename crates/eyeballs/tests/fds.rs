//! Nothing leaks: cancelled races, failed races and many sequential connects leave the
//! process's open file descriptors where they were. One test, so no other test of this
//! binary opens descriptors at the same time.

mod common;

use std::net::TcpListener;
use std::thread;

use common::*;
use eyeballs::Connector;

/// Accepts and drops connections until the process ends.
fn serve(listener: TcpListener) {
    thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
}

#[tokio::test(flavor = "current_thread")]
async fn no_descriptor_leaks() {
    let h6 = BlackHole::new(V6);
    let h4 = BlackHole::new(V4);
    let refused = refusing(V6);
    let (listener, open) = accepting(V4);
    serve(listener);
    let before_store = open_fds();
    let connector = Connector::new();
    // The connector's history store opens its network watch (one descriptor, kept while the
    // store lives) when it first learns something: before the baseline.
    drop(connector.connect_addrs([open]).await.unwrap());
    let baseline = open_fds();
    assert!(
        baseline <= before_store + 1,
        "one descriptor for the network watch at most"
    );

    // Cancelled mid-race: the future is dropped with two attempts in flight.
    let race = connector.connect_addrs([h6.addr, h4.addr]);
    assert!(tokio::time::timeout(ms(300), race).await.is_err());
    assert_eq!(open_fds(), baseline, "after a cancelled race");

    // Timed out, failed, and won races.
    let err = Connector::new()
        .timeout(ms(100))
        .connect_addrs([h6.addr])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), eyeballs::ErrorKind::TimedOut);
    drop(err);
    assert!(connector.connect_addrs([refused]).await.is_err());
    let won = connector.connect_addrs([h6.addr, open]).await.unwrap();
    drop(won);
    assert_eq!(
        open_fds(),
        baseline,
        "after timed-out, failed and won races"
    );

    // 1,000 sequential connects, and 50 that first meet a refusal: no growth.
    for _ in 0..1000 {
        let c = connector.connect_addrs([open]).await.unwrap();
        drop(c);
    }
    for _ in 0..50 {
        let c = connector.connect_addrs([refused, open]).await.unwrap();
        drop(c);
    }
    assert_eq!(open_fds(), baseline, "after 1,000 connects");

    // The watch closes with the store.
    drop(connector);
    assert_eq!(open_fds(), before_store, "after the connector is dropped");
}
