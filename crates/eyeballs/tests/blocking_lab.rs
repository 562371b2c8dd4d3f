//! The blocking driver against the real kernel, in the network lab (root; skipped with a
//! message otherwise, required under CI=true): pre-resolved addresses, and names through
//! hickory's blocking lookups against the lab's DNS server. Offsets within 25 ms.
#![cfg(feature = "blocking")]

mod common;

#[path = "common/lab.rs"]
mod lab;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use eyeballs::blocking::Connector;
use eyeballs::{AttemptEnd, Connection, Error, ErrorKind, Report};
use eyeballs_lab::{Behavior, Lab};
use lab::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `race` on a thread in the lab's client namespace (no runtime) and summarizes it.
fn run_blocking<F>(lab: &Lab, race: F) -> Ran
where
    F: FnOnce() -> Result<Connection<std::net::TcpStream>, Error> + Send,
{
    run_with_report(lab, race).0
}

/// As [`run_blocking`], with the race's report.
fn run_with_report<F>(lab: &Lab, race: F) -> (Ran, Option<Report>)
where
    F: FnOnce() -> Result<Connection<std::net::TcpStream>, Error> + Send,
{
    lab.run_in_client(move || {
        let t0 = Instant::now();
        let result = race();
        let elapsed = t0.elapsed();
        let (report, error) = match result {
            Ok(mut c) => {
                // The winner carries data (the lab's servers echo).
                let stream = c.stream_mut();
                stream.write_all(b"ping").expect("write");
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).expect("echo");
                assert_eq!(&buf, b"ping");
                (Some(c.report().clone()), None)
            }
            Err(e) => (
                e.report().cloned(),
                Some((e.kind(), e.to_string(), e.io_kind())),
            ),
        };
        let ran = Ran {
            elapsed,
            winner: report.as_ref().and_then(|r| r.winner()),
            attempts: report
                .as_ref()
                .map(|r| {
                    r.attempts()
                        .map(|a| (a.endpoint.addr, a.started, a.end))
                        .collect()
                })
                .unwrap_or_default(),
            error,
        };
        (ran, report)
    })
    .expect("runs in the client namespace")
}

#[test]
fn ipv6_black_hole_ipv4_wins_at_250ms() {
    let Some(lab) = lab(
        "blocking ipv6_black_hole_ipv4_wins_at_250ms",
        &[(V6A, Behavior::BlackHole), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let ran = run_blocking(&lab, || {
        Connector::new().connect_addrs([sock(V6A), sock(V4A)])
    });
    eprintln!("{ran:?}");
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250)]);
    assert_eq!(ran.attempts[0].2, Some(AttemptEnd::Aborted));
    assert_near(ran.elapsed, ms(250), "connect time");
}

#[test]
fn ipv6_delayed_300ms_loser_is_closed() {
    let Some(lab) = lab(
        "blocking ipv6_delayed_300ms_loser_is_closed",
        &[(V6A, Behavior::Delay(ms(300))), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let ran = run_blocking(&lab, || {
        Connector::new().connect_addrs([sock(V6A), sock(V4A)])
    });
    eprintln!("{ran:?}");
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250)]);
    eventually("the late IPv6 connection is closed", || {
        lab.open_count(ip(V6A)) == 0
    });
}

#[test]
fn everything_black_holed_times_out_naming_every_attempt() {
    let Some(lab) = lab(
        "blocking everything_black_holed_times_out_naming_every_attempt",
        &[(V6A, Behavior::BlackHole), (V4A, Behavior::BlackHole)],
    ) else {
        return;
    };
    let ran = run_blocking(&lab, || {
        Connector::from(eyeballs::Connector::new().timeout(ms(400)))
            .connect_addrs([sock(V6A), sock(V4A)])
    });
    eprintln!("{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250)]);
    assert_near(ran.elapsed, ms(400), "time to give up");
    let (kind, message, _) = ran.error.clone().expect("an error");
    assert_eq!(kind, ErrorKind::TimedOut);
    for addr in [V6A, V4A] {
        assert!(message.contains(&sock(addr).to_string()), "{message}");
    }
}

#[cfg(feature = "hickory")]
mod by_name {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

    use eyeballs::resolver::HickoryResolver;
    use eyeballs_lab::{DnsBehavior, DnsRecords, RecordType};

    use super::*;

    const NAME: &str = "dual.test";

    /// A lab with `dual.test` = V6A (`v6`) + V4A (accepting), AAAA answered per `aaaa`.
    fn dns_lab(test: &str, v6: Behavior, aaaa: DnsBehavior) -> Option<Lab> {
        lab_with(test, &[(V6A, v6), (V4A, Behavior::Accept)], |b| {
            b.dns(
                NAME,
                DnsRecords {
                    aaaa: vec![V6A.parse::<Ipv6Addr>().unwrap()],
                    a: vec![V4A.parse::<Ipv4Addr>().unwrap()],
                },
            )
            .dns_behavior(NAME, RecordType::Aaaa, aaaa)
        })
    }

    fn connector(lab: &Lab) -> Connector {
        Connector::from(
            eyeballs::Connector::new().resolver(
                HickoryResolver::new([lab.dns_server_v4()])
                    .timeout(Duration::from_secs(2))
                    .attempts(1),
            ),
        )
    }

    /// When `record`'s query of `report` was answered.
    fn answered(report: &Report, record: eyeballs::proto::RecordType) -> Duration {
        let query = report.queries().find(|q| q.record == record).unwrap();
        query.answered.unwrap()
    }

    // Offsets by name are checked from the DNS answers they follow (each query is a thread,
    // a runtime and a round trip to the lab's server, which a loaded machine delays).

    #[test]
    fn ipv6_black_holed_by_name_ipv4_wins_at_250ms() {
        let Some(lab) = dns_lab(
            "blocking ipv6_black_holed_by_name_ipv4_wins_at_250ms",
            Behavior::BlackHole,
            DnsBehavior::answer(),
        ) else {
            return;
        };
        let c = connector(&lab);
        let (ran, report) = run_with_report(&lab, move || c.connect(NAME, PORT));
        eprintln!("{ran:?}");
        assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
        let starts = ran.starts();
        assert_eq!(starts.len(), 2, "{ran:?}");
        assert_eq!((starts[0].0, starts[1].0), (sock(V6A), sock(V4A)));
        let aaaa = answered(&report.unwrap(), eyeballs::proto::RecordType::Aaaa);
        assert_near(
            starts[0].1,
            aaaa,
            "start of the IPv6 attempt (at the AAAA answer)",
        );
        assert_near(starts[1].1 - starts[0].1, ms(250), "IPv4 after IPv6");
        assert_near(
            ran.elapsed - starts[0].1,
            ms(250),
            "connect time after IPv6",
        );
        assert_eq!(lab.dns_query_count(NAME, RecordType::Aaaa), 1);
        assert_eq!(lab.dns_query_count(NAME, RecordType::A), 1);
    }

    #[test]
    fn aaaa_late_by_name_ipv4_goes_after_the_resolution_delay() {
        // A answers at once, AAAA after 200 ms: the queries ran in parallel, and IPv4 starts
        // 50 ms (the Resolution Delay, HE-3.6) after the A answer.
        let Some(lab) = dns_lab(
            "blocking aaaa_late_by_name_ipv4_goes_after_the_resolution_delay",
            Behavior::Accept,
            DnsBehavior::answer_after(ms(200)),
        ) else {
            return;
        };
        let c = connector(&lab);
        let (ran, report) = run_with_report(&lab, move || c.connect(NAME, PORT));
        eprintln!("{ran:?}");
        assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
        let starts = ran.starts();
        assert_eq!(starts.len(), 1, "{ran:?}");
        let a = answered(&report.unwrap(), eyeballs::proto::RecordType::A);
        assert_near(starts[0].1 - a, ms(50), "start of IPv4 after the A answer");
        assert!(ran.elapsed < ms(200), "did not wait for AAAA: {ran:?}");
    }

    /// A resolver is reused across blocking calls: each has its own runtime and connections.
    #[test]
    fn one_hickory_resolver_for_many_blocking_races() {
        let Some(lab) = dns_lab(
            "blocking one_hickory_resolver_for_many_blocking_races",
            Behavior::Accept,
            DnsBehavior::answer(),
        ) else {
            return;
        };
        let c = connector(&lab);
        let winners: Vec<Option<SocketAddr>> = lab
            .run_in_client(move || {
                (0..5)
                    .map(|_| c.connect(NAME, PORT).ok().and_then(|w| w.report().winner()))
                    .collect()
            })
            .expect("runs in the client namespace");
        assert_eq!(winners, vec![Some(sock(V6A)); 5]);
        assert_eq!(lab.dns_query_count(NAME, RecordType::Aaaa), 5);
    }
}
