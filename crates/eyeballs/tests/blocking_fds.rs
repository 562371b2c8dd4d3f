//! The blocking driver leaks nothing: failed, timed-out and won races, and 1,000 sequential
//! connects, leave the process's open file descriptors where they were. One test, so no other
//! test of this binary opens descriptors at the same time.
#![cfg(feature = "blocking")]

mod common;

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use eyeballs::resolver::StaticResolver;
use eyeballs::{blocking, ErrorKind};

/// Accepts and drops connections until the process ends.
fn serve(listener: TcpListener) {
    thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
}

/// Asserts the descriptor count is back to `baseline`, allowing the accept thread a moment to
/// drop the server side of the latest connection (a leak never comes back down).
#[track_caller]
fn assert_fds(baseline: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while open_fds() != baseline && Instant::now() < deadline {
        thread::sleep(ms(5));
    }
    assert_eq!(open_fds(), baseline, "{what}");
}

#[test]
fn no_descriptor_leaks() {
    let h6 = BlackHole::new(V6);
    let h4 = BlackHole::new(V4);
    let refused = refusing(V6);
    let (listener, open) = accepting(V4);
    serve(listener);
    let before_stores = open_fds();
    let connector = blocking::Connector::new();
    let by_name = blocking::Connector::from(
        eyeballs::Connector::new().resolver(StaticResolver::new().host("dual.test", [V6, V4])),
    );
    // Each connector's history store opens its network watch (one descriptor, kept while the
    // store lives) when it first learns something: before the baseline.
    drop(connector.connect_addrs([open]).unwrap());
    drop(by_name.connect("dual.test", open.port()).unwrap());
    let baseline = open_fds();
    assert!(
        baseline <= before_stores + 2,
        "one descriptor per network watch at most"
    );

    // Timed out with two attempts in flight.
    let err = blocking::Connector::from(eyeballs::Connector::new().timeout(ms(300)))
        .connect_addrs([h6.addr, h4.addr])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    drop(err);
    assert_fds(baseline, "after a timed-out race");

    // Failed, won with a loser in flight, and by name (DNS threads).
    assert!(connector.connect_addrs([refused]).is_err());
    drop(connector.connect_addrs([h6.addr, open]).unwrap());
    drop(by_name.connect("dual.test", open.port()).unwrap());
    assert_fds(baseline, "after failed, won and named races");

    // 1,000 sequential connects, and 50 that first meet a refusal: no growth.
    for _ in 0..1000 {
        drop(connector.connect_addrs([open]).unwrap());
    }
    for _ in 0..50 {
        drop(connector.connect_addrs([refused, open]).unwrap());
    }
    assert_fds(baseline, "after 1,050 connects");

    // The watches close with their stores.
    drop((connector, by_name));
    assert_fds(before_stores, "after the connectors are dropped");
}
