//! `Lab::set_behavior`: a server address's behaviour changed while the lab runs (e.g. IPv6
//! black-holed for a first connect, repaired for the next), measured from the client
//! namespace with plain std sockets (`connect_timeout`: a non-blocking connect polled with
//! a timeout). Needs root (skips otherwise, fails under `CI=true`).

mod common;

use common::wait_until;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use eyeballs_lab::{Behavior, Lab, LabError};

const PORT: u16 = 8080;
/// How long a connect to a black hole is given before it counts as hanging.
const HANG: Duration = Duration::from_millis(300);
/// Allowed timing error of the lab's delays (as in the lab's self-test).
const TOLERANCE: Duration = Duration::from_millis(25);
const EHOSTUNREACH: i32 = 113;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// What a connect did, and how long it took.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    Connected,
    TimedOut,
    Refused,
    Unreachable,
}

fn connect(addr: IpAddr) -> (Outcome, Duration) {
    let start = Instant::now();
    let result = TcpStream::connect_timeout(&SocketAddr::new(addr, PORT), HANG);
    let took = start.elapsed();
    let outcome = match result {
        Ok(_) => Outcome::Connected,
        Err(e) if e.kind() == ErrorKind::TimedOut => Outcome::TimedOut,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Outcome::Refused,
        Err(e) if e.raw_os_error() == Some(EHOSTUNREACH) => Outcome::Unreachable,
        Err(e) => panic!("connect to {addr}: unexpected {e}"),
    };
    (outcome, took)
}

/// Every behaviour set at run time, from a black hole and back, on both families; an
/// untouched address keeps its own behaviour throughout.
#[test]
fn set_behavior_changes_what_a_connect_sees() {
    if !eyeballs_lab::require_root("set_behavior_changes_what_a_connect_sees") {
        return;
    }
    let (v4, v6, bystander) = (ip("198.18.0.30"), ip("2001:db8::30"), ip("198.18.0.31"));
    // No Delay or Unreachable address at the start: the holder is started by set_behavior.
    let lab = Lab::builder()
        .server(v4, Behavior::BlackHole)
        .server(v6, Behavior::BlackHole)
        .server(bystander, Behavior::Refuse)
        .port(PORT)
        .start()
        .unwrap();

    let steps = [
        (Behavior::BlackHole, Outcome::TimedOut, None),
        (Behavior::Accept, Outcome::Connected, Some(Duration::ZERO)),
        (Behavior::Refuse, Outcome::Refused, Some(Duration::ZERO)),
        (Behavior::Accept, Outcome::Connected, Some(Duration::ZERO)),
        (
            Behavior::Delay(Duration::from_millis(100)),
            Outcome::Connected,
            Some(Duration::from_millis(100)),
        ),
        (
            Behavior::Unreachable,
            Outcome::Unreachable,
            Some(eyeballs_lab::UNREACHABLE_HOLD),
        ),
        (
            Behavior::Delay(Duration::from_millis(50)),
            Outcome::Connected,
            Some(Duration::from_millis(50)),
        ),
        (
            Behavior::Delay(Duration::from_millis(150)),
            Outcome::Connected,
            Some(Duration::from_millis(150)),
        ),
        (Behavior::BlackHole, Outcome::TimedOut, None),
        (
            Behavior::Unreachable,
            Outcome::Unreachable,
            Some(eyeballs_lab::UNREACHABLE_HOLD),
        ),
        (Behavior::Accept, Outcome::Connected, Some(Duration::ZERO)),
        (Behavior::BlackHole, Outcome::TimedOut, None),
    ];
    for addr in [v6, v4] {
        let mut accepted = 0;
        for (behavior, want, took_about) in steps {
            lab.set_behavior(addr, behavior).unwrap();
            let ((outcome, took), (bystander_outcome, _)) = lab
                .run_in_client(move || (connect(addr), connect(bystander)))
                .unwrap();
            eprintln!("{addr} {behavior:?}: {outcome:?} after {took:?}");
            assert_eq!(outcome, want, "{addr} set to {behavior:?}");
            match took_about {
                Some(t) => assert!(
                    took.abs_diff(t) <= TOLERANCE,
                    "{addr} {behavior:?}: took {took:?}, expected {t:?} ± {TOLERANCE:?}"
                ),
                None => assert!(took >= HANG - Duration::from_millis(10), "{took:?}"),
            }
            assert_eq!(
                bystander_outcome,
                Outcome::Refused,
                "the bystander is untouched"
            );
            if outcome == Outcome::Connected {
                accepted += 1;
                // The lab's own server accepted it (and keeps counting across changes).
                wait_until(|| lab.accepted_count(addr) == accepted, "the accept count");
            }
        }
    }
}

/// Accept → External frees the port for the test's own server; back to Accept once that
/// server is gone (while it still listens, the lab cannot bind: an error).
#[test]
fn set_behavior_to_and_from_external() {
    if !eyeballs_lab::require_root("set_behavior_to_and_from_external") {
        return;
    }
    let addr = ip("2001:db8::31");
    let lab = Lab::builder()
        .server(addr, Behavior::Accept)
        .port(PORT)
        .start()
        .unwrap();
    let sa = SocketAddr::new(addr, PORT);

    lab.set_behavior(addr, Behavior::External).unwrap();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let (done_tx, done) = std::sync::mpsc::channel::<()>();
    let server = lab
        .spawn_in_server(move || {
            let listener = TcpListener::bind(sa).expect("the lab freed the port");
            ready_tx.send(()).unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(b"the test's own server").unwrap();
            drop(conn);
            // Keep listening until the test has seen set_behavior fail.
            done.recv().unwrap();
        })
        .unwrap();
    ready.recv().unwrap();
    let greeting = lab
        .run_in_client(move || {
            let mut conn = TcpStream::connect_timeout(&sa, HANG).unwrap();
            let mut greeting = String::new();
            conn.read_to_string(&mut greeting).unwrap();
            greeting
        })
        .unwrap();
    assert_eq!(greeting, "the test's own server");

    let busy = lab.set_behavior(addr, Behavior::Accept).unwrap_err();
    assert!(
        matches!(&busy, LabError::Io { source, .. } if source.kind() == ErrorKind::AddrInUse),
        "{busy}"
    );
    done_tx.send(()).unwrap();
    server.join().unwrap();
    lab.set_behavior(addr, Behavior::Accept).unwrap();
    let (outcome, _) = lab.run_in_client(move || connect(addr)).unwrap();
    assert_eq!(outcome, Outcome::Connected);
    wait_until(
        || lab.accepted_count(addr) == 1,
        "the lab's server accepts again",
    );
}

/// Only the lab's server addresses can be changed; setting the current behaviour is a
/// no-op.
#[test]
fn set_behavior_rejects_other_addresses() {
    if !eyeballs_lab::require_root("set_behavior_rejects_other_addresses") {
        return;
    }
    let addr = ip("198.18.0.32");
    let lab = Lab::builder()
        .server(addr, Behavior::Accept)
        .port(PORT)
        .start()
        .unwrap();
    for other in [
        ip("198.18.0.33"),
        IpAddr::from(eyeballs_lab::DNS_V4),
        IpAddr::from(eyeballs_lab::CLIENT_V6),
    ] {
        let err = lab.set_behavior(other, Behavior::BlackHole).unwrap_err();
        assert!(matches!(err, LabError::Config(_)), "{other}: {err}");
    }
    lab.set_behavior(addr, Behavior::Accept).unwrap();
    let (outcome, _) = lab.run_in_client(move || connect(addr)).unwrap();
    assert_eq!(outcome, Outcome::Connected);
}
