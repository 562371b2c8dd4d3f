//! The blocking driver on loopback, no privileges needed: the schedule on the real kernel
//! (offsets within 25 ms), errors, resolvers through `lookup_blocking`, and many threads at
//! once. Descriptor counting is in `blocking_fds.rs`, the network lab in `blocking_lab.rs`.
#![cfg(feature = "blocking")]

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use eyeballs::blocking;
use eyeballs::proto::{DnsResult, RecordType};
use eyeballs::resolver::{Lookup, Resolver, StaticResolver};
use eyeballs::{AttemptEnd, DnsOutcome, Error, ErrorKind, FailureKind, FamilyPreference};

/// Each attempt of a report: address, start offset, how it ended.
fn attempts(report: &eyeballs::Report) -> Vec<(SocketAddr, Duration, Option<AttemptEnd>)> {
    report
        .attempts()
        .map(|a| (a.endpoint.addr, a.started, a.end))
        .collect()
}

/// When the second attempt should start after a first one that failed: at once, but never
/// within 10 ms of the first (HE-5.10). Checked from the failure as the driver saw it, which a
/// loaded machine delays.
fn after_failure(report: &eyeballs::Report) -> Duration {
    let first = report.attempts().next().unwrap();
    first.ended.unwrap().max(first.started + ms(10))
}

/// A blocking connector from an async one's builder.
fn connector(c: eyeballs::Connector) -> blocking::Connector {
    blocking::Connector::from(c)
}

/// A resolver whose answers come from a thread after a delay, through a future that needs no
/// runtime (a tokio oneshot), so the trait's default `lookup_blocking` (its `block_on`) runs
/// it. A record type with no script never answers.
#[derive(Debug, Clone, Default)]
struct ThreadedResolver {
    answers: Vec<(RecordType, Duration, DnsResult)>,
}

impl ThreadedResolver {
    fn addresses(mut self, record: RecordType, after: Duration, ips: &[IpAddr]) -> Self {
        let result = DnsResult::addresses(ips.iter().copied());
        self.answers.push((record, after, result));
        self
    }
}

impl Resolver for ThreadedResolver {
    fn lookup(&self, _name: &str, record: RecordType) -> Lookup {
        let Some((_, after, result)) = self.answers.iter().find(|a| a.0 == record).cloned() else {
            return Box::pin(std::future::pending());
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        thread::spawn(move || {
            thread::sleep(after);
            let _ = tx.send(result);
        });
        Box::pin(async move { rx.await.unwrap_or(DnsResult::Error) })
    }
}

/// A resolver that panics: its query ends as an error, the race does not hang.
#[derive(Debug)]
struct PanickingResolver;

impl Resolver for PanickingResolver {
    fn lookup(&self, _name: &str, _record: RecordType) -> Lookup {
        // An unwind without the panic hook: no message and no backtrace to print (which, under
        // RUST_BACKTRACE=1, costs the timing tests next to it a lot of CPU).
        std::panic::resume_unwind(Box::new("this resolver always panics"))
    }
}

/// A listener on `ip` that echoes what each connection sends, on a thread.
fn echoing(ip: IpAddr) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = conn.read(&mut buf) {
                    if conn.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn ipv6_black_hole_ipv4_wins_at_250ms() {
    let hole = BlackHole::new(V6);
    let (_listener, open) = accepting(V4);
    let t0 = Instant::now();
    let connection = blocking::Connector::new()
        .connect_addrs([hole.addr, open])
        .unwrap();
    let elapsed = t0.elapsed();
    let report = connection.report();
    assert_eq!(report.winner(), Some(open));
    let got = attempts(report);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].0, got[0].1, got[0].2),
        (hole.addr, ms(0), Some(AttemptEnd::Aborted))
    );
    assert_eq!(got[1].0, open);
    assert_near(got[1].1, ms(250), "start of the IPv4 attempt");
    assert_eq!(got[1].2, Some(AttemptEnd::Connected));
    assert_near(elapsed, ms(250), "connect time");
    assert_eq!(connection.stream().peer_addr().unwrap(), open);
}

#[test]
fn ipv6_refused_ipv4_wins_at_the_10ms_floor() {
    let refused = refusing(V6);
    let (_listener, open) = accepting(V4);
    let connection = blocking::Connector::new()
        .connect_addrs([refused, open])
        .unwrap();
    let got = attempts(connection.report());
    assert_eq!(connection.report().winner(), Some(open));
    assert_eq!(got[0].2, Some(AttemptEnd::Failed(FailureKind::Refused)));
    let want = after_failure(connection.report());
    assert_near(got[1].1, want, "start of the IPv4 attempt");
    assert!(got[1].1 >= ms(10), "the floor holds: {got:?}");
}

#[test]
fn the_winner_is_a_working_blocking_stream() {
    let echo = echoing(V4);
    let connection =
        connector(eyeballs::Connector::new().on_socket(|s, _| s.set_tcp_nodelay(true)))
            .connect_addrs([echo])
            .unwrap();
    let mut stream = connection.into_stream();
    assert!(stream.nodelay().unwrap(), "the socket hook ran");
    stream.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    // Blocking mode: a read with nothing to read waits for its timeout instead of failing
    // at once with WouldBlock.
    stream.set_read_timeout(Some(ms(50))).unwrap();
    let t0 = Instant::now();
    let err = stream.read(&mut buf).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(t0.elapsed() >= ms(40), "returned after {:?}", t0.elapsed());
}

#[test]
fn every_attempt_refused_names_each() {
    let (r6, r4) = (refusing(V6), refusing(V4));
    let err = blocking::Connector::new()
        .connect_addrs([r6, r4])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllAttemptsFailed);
    assert_eq!(err.io_kind(), std::io::ErrorKind::ConnectionRefused);
    let message = err.to_string();
    for addr in [r6, r4] {
        assert!(message.contains(&addr.to_string()), "{message}");
    }
    let report = err.report().unwrap();
    assert_eq!(report.attempts().count(), 2);
    for a in report.attempts() {
        assert_eq!(a.end, Some(AttemptEnd::Failed(FailureKind::Refused)));
        assert_eq!(
            a.error.unwrap().kind(),
            std::io::ErrorKind::ConnectionRefused
        );
    }
}

#[test]
fn the_overall_timeout_ends_the_race() {
    let (h6, h4) = (BlackHole::new(V6), BlackHole::new(V4));
    let t0 = Instant::now();
    let err = connector(eyeballs::Connector::new().timeout(ms(300)))
        .connect_addrs([h6.addr, h4.addr])
        .unwrap_err();
    assert_near(t0.elapsed(), ms(300), "time to give up");
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(err.io_kind(), std::io::ErrorKind::TimedOut);
    let got = attempts(err.report().unwrap());
    assert_eq!(got.len(), 2, "{got:?}");
    assert_near(got[1].1, ms(250), "start of the second attempt");
    assert!(
        got.iter().all(|a| a.2 == Some(AttemptEnd::Aborted)),
        "{got:?}"
    );
}

#[test]
fn the_attempt_timeout_moves_on() {
    let hole = BlackHole::new(V6);
    let (_listener, open) = accepting(V4);
    let connection = connector(eyeballs::Connector::new().attempt_timeout(ms(100)))
        .connect_addrs([hole.addr, open])
        .unwrap();
    let got = attempts(connection.report());
    assert_eq!(got[0].2, Some(AttemptEnd::TimedOut));
    assert_near(got[1].1, ms(100), "start of the IPv4 attempt");
}

#[test]
fn invalid_input_is_the_callers_mistake() {
    let c = blocking::Connector::new();
    let cases: Vec<(&str, Result<_, Error>)> = vec![
        ("empty address list", c.connect_addrs([])),
        ("empty host", c.connect("", 80)),
        ("port 0", c.connect("127.0.0.1", 0)),
        ("no ports", c.connect_ports("127.0.0.1", &[])),
        ("bad name", c.connect("bad name!", 80)),
        (
            "attempt delay below 10 ms",
            connector(eyeballs::Connector::new().attempt_delay(ms(1)))
                .connect_addrs([SocketAddr::new(V4, 9)]),
        ),
    ];
    for (what, result) in cases {
        let err = result.err().unwrap_or_else(|| panic!("{what}: no error"));
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
        assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidInput, "{what}");
        assert!(err.report().is_none(), "{what}: nothing was sent");
    }
}

#[test]
fn a_name_through_the_static_resolver() {
    // Only IPv4 listens on the port: ::1 is refused, 127.0.0.1 wins at the floor.
    let (_listener, open) = accepting(V4);
    let resolver = StaticResolver::new().host("dual.test", [V6, V4]);
    let connection = connector(eyeballs::Connector::new().resolver(resolver))
        .connect("dual.test", open.port())
        .unwrap();
    let report = connection.report();
    assert_eq!(report.host(), Some("dual.test"));
    assert_eq!(report.winner(), Some(open));
    let queries: Vec<_> = report.queries().map(|q| (q.record, q.outcome)).collect();
    assert_eq!(
        queries,
        [
            (RecordType::Aaaa, Some(DnsOutcome::Addresses)),
            (RecordType::A, Some(DnsOutcome::Addresses)),
        ]
    );
    let got = attempts(report);
    assert_eq!(got[0].0, SocketAddr::new(V6, open.port()));
    assert_near(got[1].1, after_failure(report), "start of the IPv4 attempt");
    assert!(got[1].1 >= ms(10), "the floor holds: {got:?}");
}

#[test]
fn an_unknown_name_has_no_addresses() {
    let err = connector(eyeballs::Connector::new().resolver(StaticResolver::new()))
        .connect("missing.test", 80)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoAddresses);
    assert_eq!(err.io_kind(), std::io::ErrorKind::NotFound);
}

/// When `record`'s query of `report` was answered.
fn answered(report: &eyeballs::Report, record: RecordType) -> Duration {
    let query = report.queries().find(|q| q.record == record).unwrap();
    query.answered.unwrap()
}

#[test]
fn answers_from_threads_a_first_waits_the_resolution_delay() {
    // A answers at once, AAAA after 200 ms: IPv4 starts 50 ms (the Resolution Delay, HE-3.6)
    // after the A answer, without waiting for AAAA, which the race then no longer needs.
    let (_listener, open) = accepting(V4);
    let resolver = ThreadedResolver::default()
        .addresses(RecordType::Aaaa, ms(200), &[V6])
        .addresses(RecordType::A, ms(0), &[V4]);
    let t0 = Instant::now();
    let connection = connector(eyeballs::Connector::new().resolver(resolver))
        .connect("dual.test", open.port())
        .unwrap();
    let elapsed = t0.elapsed();
    let report = connection.report();
    let got = attempts(report);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, open);
    let a = answered(report, RecordType::A);
    assert_near(
        got[0].1 - a,
        ms(50),
        "start of the IPv4 attempt after the A answer",
    );
    assert_near(elapsed, got[0].1, "connect time");
    let aaaa = report.queries().next().unwrap();
    assert_eq!(aaaa.outcome, Some(DnsOutcome::Cancelled));
}

#[test]
fn answers_from_threads_aaaa_late_joins_the_race() {
    // AAAA answers after 100 ms, A never: the attempt starts as soon as AAAA is in.
    let (_listener, open) = accepting(V6);
    let resolver = ThreadedResolver::default().addresses(RecordType::Aaaa, ms(100), &[V6]);
    let connection = connector(eyeballs::Connector::new().resolver(resolver))
        .connect("v6.test", open.port())
        .unwrap();
    let report = connection.report();
    let got = attempts(report);
    assert_eq!(got[0].0, open);
    let aaaa = answered(report, RecordType::Aaaa);
    assert!(aaaa >= ms(100), "answered at {aaaa:?}");
    assert_near(
        got[0].1,
        aaaa,
        "start of the IPv6 attempt (at the AAAA answer)",
    );
}

#[test]
fn a_resolve_timeout_ends_a_query_that_never_answers() {
    let resolver = ThreadedResolver::default();
    let t0 = Instant::now();
    let err = connector(
        eyeballs::Connector::new()
            .resolver(resolver)
            .resolve_timeout(ms(100)),
    )
    .connect("silent.test", 80)
    .unwrap_err();
    assert_near(t0.elapsed(), ms(100), "time to give up");
    assert_eq!(err.kind(), ErrorKind::NoAddresses);
    let outcomes: Vec<_> = err.report().unwrap().queries().map(|q| q.outcome).collect();
    assert_eq!(outcomes, [Some(DnsOutcome::TimedOut); 2]);
}

#[test]
fn a_panicking_resolver_is_a_failed_query() {
    let err = connector(eyeballs::Connector::new().resolver(PanickingResolver))
        .connect("panic.test", 80)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoAddresses);
    let outcomes: Vec<_> = err.report().unwrap().queries().map(|q| q.outcome).collect();
    assert_eq!(outcomes, [Some(DnsOutcome::Error); 2]);
}

#[test]
fn the_system_resolver_with_ip_literals() {
    let (_l4, open4) = accepting(V4);
    let (_l6, open6) = accepting(V6);
    let stream = blocking::connect("127.0.0.1", open4.port()).unwrap();
    assert_eq!(stream.peer_addr().unwrap(), open4);
    let connection = blocking::Connector::new()
        .connect("::1", open6.port())
        .unwrap();
    assert_eq!(connection.report().winner(), Some(open6));
    // A literal is its own answer: no query at all.
    assert_eq!(connection.report().queries().count(), 0);
}

#[test]
fn the_system_resolver_with_a_name_from_etc_hosts() {
    // `localhost` is in /etc/hosts for IPv4 only here: an AAAA lookup would go on to the DNS
    // servers, so this race asks for A alone.
    let (_listener, open) = accepting(V4);
    let connection = connector(eyeballs::Connector::new().family(FamilyPreference::Ipv4Only))
        .connect("localhost", open.port())
        .unwrap();
    assert_eq!(connection.report().winner(), Some(open));
    let queries: Vec<_> = connection.report().queries().map(|q| q.record).collect();
    assert_eq!(queries, [RecordType::A]);
}

#[test]
fn eight_threads_at_once() {
    let hole = BlackHole::new(V6);
    let refused = refusing(V6);
    let (_listener, open) = accepting(V4);
    let by_name = connector(
        eyeballs::Connector::new().resolver(StaticResolver::new().host("dual.test", [V6, V4])),
    );
    let by_addr = blocking::Connector::new();
    let t0 = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (by_name, by_addr) = (by_name.clone(), by_addr.clone());
            thread::spawn(move || {
                let connection = match i % 3 {
                    0 => by_addr.connect_addrs([hole.addr, open]),
                    1 => by_addr.connect_addrs([refused, open]),
                    _ => by_name.connect("dual.test", open.port()),
                }
                .unwrap();
                let report = connection.report();
                let want = match i % 3 {
                    0 => report.attempts().next().unwrap().started + ms(250),
                    _ => after_failure(report),
                };
                let second = report.attempts().nth(1).unwrap();
                (i, report.winner(), second.started, want)
            })
        })
        .collect();
    for handle in threads {
        let (i, winner, started, want) = handle.join().unwrap();
        assert_eq!(winner, Some(open), "thread {i}");
        assert_near(
            started,
            want,
            &format!("thread {i}: start of the IPv4 attempt"),
        );
    }
    // One after the other, they would take 3 × 250 ms at least.
    assert!(
        t0.elapsed() < ms(500),
        "they ran in parallel: {:?}",
        t0.elapsed()
    );
}

/// HE-9.2 with no runtime: the first attempt whose function succeeds wins, on the schedule; a
/// slower one still running is not waited for, and what it makes later is dropped.
#[test]
fn he_9_2_generic_race_first_success_wins_without_waiting_for_the_slow_one() {
    let (_l6, slow) = accepting(V6);
    let (_l4, fast) = accepting(V4);
    let c = connector(eyeballs::Connector::new().attempt_delay(ms(100)));
    let start = Instant::now();
    let won = c
        .race_addrs([slow, fast], move |addr| {
            if addr == slow {
                // A handshake that takes far longer than the attempt delay.
                thread::sleep(ms(1_000));
            }
            Ok::<_, std::io::Error>(addr)
        })
        .expect("the fast attempt wins");
    let elapsed = start.elapsed();
    assert_eq!(*won.stream(), fast);
    let report = won.report();
    assert_eq!(report.winner(), Some(fast));
    let seen = attempts(report);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_near(seen[1].1, ms(100), "second attempt at the attempt delay");
    assert_eq!(seen[0].2, Some(AttemptEnd::Aborted), "{seen:?}");
    assert!(
        elapsed < ms(600),
        "did not wait for the slow attempt: {elapsed:?}"
    );
}

/// Every attempt's function failing: the error names each one, with its error, as for TCP.
#[test]
fn generic_race_failures_come_back_in_the_error() {
    let c = connector(eyeballs::Connector::new());
    let a: SocketAddr = "[::1]:1".parse().unwrap();
    let b: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let err = c
        .race_addrs([a, b], |addr| {
            Err::<(), _>(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                format!("no greeting from {addr}"),
            ))
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AllAttemptsFailed);
    let text = err.to_string();
    assert!(text.contains("no greeting from [::1]:1"), "{text}");
    assert!(text.contains("no greeting from 127.0.0.1:1"), "{text}");
    let ends: Vec<_> = err.report().unwrap().attempts().map(|a| a.end).collect();
    assert_eq!(
        ends,
        [Some(AttemptEnd::Failed(FailureKind::Refused)); 2],
        "{err:?}"
    );
}
