//! Self-test of the network lab: every server behaviour and every DNS behaviour, measured
//! from the client namespace with plain std sockets. Needs root (skips otherwise, fails
//! under `CI=true`).

mod common;

use common::wait_until;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use eyeballs_lab::dns::{build_query, parse_response, DnsReply};
use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, Lab, LabError, RecordType};

/// Allowed timing error of every delay the lab emulates.
const TOLERANCE: Duration = Duration::from_millis(25);
const PORT: u16 = 8080;
const EHOSTUNREACH: i32 = 113;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sa(addr: &str) -> SocketAddr {
    SocketAddr::new(ip(addr), PORT)
}

fn netns_list() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Connects with a timeout; returns the result and how long it took.
fn timed_connect(to: SocketAddr, timeout: Duration) -> (std::io::Result<TcpStream>, Duration) {
    let start = Instant::now();
    let result = TcpStream::connect_timeout(&to, timeout);
    (result, start.elapsed())
}

fn assert_close(what: &str, got: Duration, want: Duration) {
    let err = got.abs_diff(want);
    assert!(
        err <= TOLERANCE,
        "{what}: took {got:?}, expected {want:?} ± {TOLERANCE:?}"
    );
}

#[test]
fn every_server_behavior() {
    if !eyeballs_lab::require_root("every_server_behavior") {
        return;
    }
    let lab = Lab::builder()
        .server(ip("198.18.0.10"), Behavior::Accept)
        .server(ip("2001:db8::10"), Behavior::Accept)
        .server(ip("198.18.0.12"), Behavior::Unreachable)
        .server(ip("2001:db8::12"), Behavior::Unreachable)
        .server(ip("198.18.0.13"), Behavior::Refuse)
        .server(ip("2001:db8::13"), Behavior::Refuse)
        .server(ip("198.18.0.14"), Behavior::BlackHole)
        .server(ip("2001:db8::14"), Behavior::BlackHole)
        .port(PORT)
        .port(8443)
        .start()
        .unwrap();

    lab.run_in_client(|| {
        // BlackHole: in the background, so that the test does not wait for it alone.
        let black_holes: Vec<_> = ["198.18.0.14", "2001:db8::14"]
            .into_iter()
            .map(|a| {
                std::thread::spawn(move || {
                    let (result, took) = timed_connect(sa(a), Duration::from_millis(300));
                    let err = result.unwrap_err();
                    assert_eq!(err.kind(), ErrorKind::TimedOut, "{a}: {err}");
                    assert!(took >= Duration::from_millis(290), "{a}: {took:?}");
                    eprintln!("BlackHole {a}: no connection within {took:?}");
                })
            })
            .collect();

        for a in ["198.18.0.10", "2001:db8::10"] {
            for port in [PORT, 8443] {
                let (result, took) =
                    timed_connect(SocketAddr::new(ip(a), port), Duration::from_secs(1));
                let mut stream = result.unwrap();
                assert!(took < Duration::from_millis(50), "Accept {a}: {took:?}");
                assert_eq!(stream.local_addr().unwrap().ip().is_ipv6(), ip(a).is_ipv6());
                // The server echoes.
                stream.write_all(b"hello lab").unwrap();
                let mut buf = [0u8; 9];
                stream.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, b"hello lab");
            }
            // A port nobody listens on: reset, like any host.
            let (result, _) = timed_connect(SocketAddr::new(ip(a), 9), Duration::from_secs(1));
            assert_eq!(result.unwrap_err().kind(), ErrorKind::ConnectionRefused);
        }

        for a in ["198.18.0.13", "2001:db8::13"] {
            let (result, took) = timed_connect(sa(a), Duration::from_secs(2));
            assert_eq!(result.unwrap_err().kind(), ErrorKind::ConnectionRefused);
            assert!(took < Duration::from_millis(50), "Refuse {a}: {took:?}");
            eprintln!("Refuse {a}: refused after {took:?}");
        }

        for a in ["198.18.0.12", "2001:db8::12"] {
            // Non-blocking connect + poll (what tokio does) and blocking connect.
            for attempt in 0..5 {
                let (result, took) = timed_connect(sa(a), Duration::from_secs(3));
                let err = result.unwrap_err();
                assert_eq!(err.raw_os_error(), Some(EHOSTUNREACH), "{a}: {err}");
                assert!(took < Duration::from_millis(50), "Unreachable {a}: {took:?}");
                let start = Instant::now();
                let err = TcpStream::connect(sa(a)).unwrap_err();
                let took_blocking = start.elapsed();
                assert_eq!(err.raw_os_error(), Some(EHOSTUNREACH), "{a}: {err}");
                assert!(took_blocking < Duration::from_millis(50), "{a}: {took_blocking:?}");
                if attempt == 0 {
                    eprintln!(
                        "Unreachable {a}: EHOSTUNREACH after {took:?} (blocking connect: {took_blocking:?})"
                    );
                }
            }
        }

        for handle in black_holes {
            handle.join().unwrap();
        }
    })
    .unwrap();

    // Every connection above was closed by the client: the server sees it promptly.
    for a in ["198.18.0.10", "2001:db8::10"] {
        assert_eq!(lab.accepted_count(ip(a)), 2, "{a}");
        wait_until(|| lab.open_count(ip(a)) == 0, "open connections to close");
    }
    for a in ["198.18.0.12", "198.18.0.13", "198.18.0.14", "2001:db8::14"] {
        assert_eq!(lab.accepted_count(ip(a)), 0, "{a}");
    }
}

#[test]
fn open_count_follows_the_client() {
    if !eyeballs_lab::require_root("open_count_follows_the_client") {
        return;
    }
    let lab = Lab::builder()
        .server(ip("198.18.0.10"), Behavior::Accept)
        .port(PORT)
        .start()
        .unwrap();
    let a = ip("198.18.0.10");
    let streams = lab
        .run_in_client(|| {
            (0..3)
                .map(|_| TcpStream::connect(sa("198.18.0.10")).unwrap())
                .collect::<Vec<_>>()
        })
        .unwrap();
    wait_until(|| lab.open_count(a) == 3, "3 open connections");
    drop(streams);
    wait_until(|| lab.open_count(a) == 0, "0 open connections");
    assert_eq!(lab.accepted_count(a), 3);
}

/// Median and maximum of absolute errors, in milliseconds.
fn stats(errors: &mut [f64]) -> (f64, f64) {
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    let max = errors[errors.len() - 1];
    (median, max)
}

#[test]
fn delay_accuracy() {
    if !eyeballs_lab::require_root("delay_accuracy") {
        return;
    }
    const SAMPLES: usize = 20;
    let lab = Lab::builder()
        .server(
            ip("198.18.0.20"),
            Behavior::Delay(Duration::from_millis(100)),
        )
        .server(
            ip("2001:db8::20"),
            Behavior::Delay(Duration::from_millis(100)),
        )
        .server(
            ip("198.18.0.21"),
            Behavior::Delay(Duration::from_millis(300)),
        )
        .server(
            ip("2001:db8::21"),
            Behavior::Delay(Duration::from_millis(300)),
        )
        .port(PORT)
        .start()
        .unwrap();
    // SAMPLES connects per delay, alternating families; started 10 ms apart so that they
    // overlap (the whole test takes ~0.5 s) without sharing deadlines.
    let results: Vec<(u64, Duration)> = lab
        .run_in_client(|| {
            let start = Instant::now();
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..SAMPLES * 2)
                    .map(|i| {
                        s.spawn(move || {
                            let (delay_ms, addr) = match (i % 2 == 0, i / 2 % 2 == 0) {
                                (true, true) => (100, "198.18.0.20"),
                                (true, false) => (100, "2001:db8::20"),
                                (false, true) => (300, "198.18.0.21"),
                                (false, false) => (300, "2001:db8::21"),
                            };
                            let at = Duration::from_millis(10 * i as u64);
                            std::thread::sleep(at.saturating_sub(start.elapsed()));
                            let (result, took) = timed_connect(sa(addr), Duration::from_secs(2));
                            result.unwrap();
                            (delay_ms, took)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        })
        .unwrap();

    for delay_ms in [100, 300] {
        let want = Duration::from_millis(delay_ms);
        let mut errors: Vec<f64> = results
            .iter()
            .filter(|(d, _)| *d == delay_ms)
            .map(|(_, took)| took.abs_diff(want).as_secs_f64() * 1000.0)
            .collect();
        let (median, max) = stats(&mut errors);
        eprintln!(
            "Delay({delay_ms}ms): {} connects, |error| median {median:.3} ms, max {max:.3} ms",
            errors.len()
        );
        for (d, took) in results.iter().filter(|(d, _)| *d == delay_ms) {
            assert_close(&format!("Delay({d}ms)"), *took, want);
        }
    }
    for a in ["198.18.0.20", "2001:db8::20", "198.18.0.21", "2001:db8::21"] {
        wait_until(|| lab.accepted_count(ip(a)) == SAMPLES / 2, "accepts");
    }
}

fn dns_query(
    socket: &UdpSocket,
    server: SocketAddr,
    id: u16,
    name: &str,
    rtype: RecordType,
    wait: Duration,
) -> (Option<DnsReply>, Duration) {
    let start = Instant::now();
    socket
        .send_to(&build_query(id, name, rtype), server)
        .unwrap();
    let mut buf = [0u8; 1500];
    loop {
        let left = wait.saturating_sub(start.elapsed());
        if left.is_zero() {
            return (None, start.elapsed());
        }
        socket.set_read_timeout(Some(left)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                assert_eq!(from, server);
                let reply = parse_response(&buf[..n]).unwrap();
                if reply.id == id {
                    return (Some(reply), start.elapsed());
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (None, start.elapsed())
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
}

#[test]
fn dns_behaviors() {
    if !eyeballs_lab::require_root("dns_behaviors") {
        return;
    }
    let ms = Duration::from_millis;
    let records = DnsRecords {
        a: vec![
            "198.18.0.10".parse().unwrap(),
            "198.18.0.11".parse().unwrap(),
        ],
        aaaa: vec!["2001:db8::10".parse().unwrap()],
    };
    let lab = Lab::builder()
        .dns("delayed.test", records.clone())
        .dns_behavior(
            "delayed.test",
            RecordType::A,
            DnsBehavior::answer_after(ms(100)),
        )
        .dns_behavior(
            "delayed.test",
            RecordType::Aaaa,
            DnsBehavior::answer_after(ms(200)),
        )
        .dns_behavior(
            "delayed.test",
            RecordType::Https,
            DnsBehavior::nodata().after(ms(50)),
        )
        .dns("Modes.Test.", records.clone())
        .dns_behavior(
            "modes.test",
            RecordType::A,
            DnsBehavior::nxdomain().after(ms(30)),
        )
        .dns_behavior(
            "modes.test",
            RecordType::Aaaa,
            DnsBehavior::servfail().after(ms(60)),
        )
        .dns_behavior("modes.test", RecordType::Https, DnsBehavior::never())
        .dns("instant.test", records)
        .dns_behavior("instant.test", RecordType::A, DnsBehavior::nodata())
        .dns_behavior("instant.test", RecordType::Aaaa, DnsBehavior::nxdomain())
        .dns_behavior("instant.test", RecordType::Https, DnsBehavior::servfail())
        .dns("empty.test", DnsRecords::default())
        .start()
        .unwrap();

    // (name, type, expected rcode or None for no answer, expected addresses, delay)
    let a10: IpAddr = ip("198.18.0.10");
    let a11: IpAddr = ip("198.18.0.11");
    let v6: IpAddr = ip("2001:db8::10");
    type Case = (&'static str, RecordType, Option<u16>, Vec<IpAddr>, Duration);
    let cases: Vec<Case> = vec![
        (
            "delayed.test",
            RecordType::A,
            Some(0),
            vec![a10, a11],
            ms(100),
        ),
        (
            "DELAYED.test.",
            RecordType::Aaaa,
            Some(0),
            vec![v6],
            ms(200),
        ),
        ("delayed.test", RecordType::Https, Some(0), vec![], ms(50)),
        ("modes.test", RecordType::A, Some(3), vec![], ms(30)),
        ("modes.test", RecordType::Aaaa, Some(2), vec![], ms(60)),
        ("modes.test", RecordType::Https, None, vec![], ms(300)),
        ("instant.test", RecordType::A, Some(0), vec![], ms(0)),
        ("instant.test", RecordType::Aaaa, Some(3), vec![], ms(0)),
        ("instant.test", RecordType::Https, Some(2), vec![], ms(0)),
        ("empty.test", RecordType::A, Some(0), vec![], ms(0)),
        ("empty.test", RecordType::Aaaa, Some(0), vec![], ms(0)),
        ("unknown.test", RecordType::A, Some(3), vec![], ms(0)),
    ];

    // Both servers at once, each on its own client thread; the cases run one after
    // another on each (~0.75 s).
    let servers = [lab.dns_server_v4(), lab.dns_server_v6()];
    let measured: Vec<Vec<Duration>> = lab
        .run_in_client(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> = servers
                    .iter()
                    .map(|server| {
                        let cases = &cases;
                        s.spawn(move || {
                            let bind: SocketAddr = if server.is_ipv6() {
                                "[::]:0".parse().unwrap()
                            } else {
                                "0.0.0.0:0".parse().unwrap()
                            };
                            let socket = UdpSocket::bind(bind).unwrap();
                            let mut timings = Vec::new();
                            for (i, (name, rtype, rcode, addrs, delay)) in cases.iter().enumerate()
                            {
                                let wait = if rcode.is_some() {
                                    *delay + ms(500)
                                } else {
                                    *delay
                                };
                                let (reply, took) =
                                    dns_query(&socket, *server, 100 + i as u16, name, *rtype, wait);
                                let what = format!("{server} {name} {rtype:?}");
                                match rcode {
                                    Some(rcode) => {
                                        let reply =
                                            reply.unwrap_or_else(|| panic!("{what}: no reply"));
                                        assert_eq!(reply.rcode, *rcode, "{what}");
                                        assert_eq!(&reply.addrs, addrs, "{what}");
                                        assert!(!reply.truncated, "{what}");
                                        assert_close(&what, took, *delay);
                                    }
                                    None => assert!(reply.is_none(), "{what}: {reply:?}"),
                                }
                                timings.push(took);
                            }
                            timings
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        })
        .unwrap();

    let mut errors: Vec<f64> = Vec::new();
    for timings in &measured {
        for ((_, _, rcode, _, delay), took) in cases.iter().zip(timings) {
            if rcode.is_some() && !delay.is_zero() {
                errors.push(took.abs_diff(*delay).as_secs_f64() * 1000.0);
            }
        }
    }
    let (median, max) = stats(&mut errors);
    eprintln!(
        "DNS delays: {} delayed answers, |error| median {median:.3} ms, max {max:.3} ms",
        errors.len()
    );

    // Each query was counted once per server.
    assert_eq!(lab.dns_query_count("delayed.test", RecordType::A), 2);
    assert_eq!(lab.dns_query_count("Delayed.Test.", RecordType::Aaaa), 2);
    assert_eq!(lab.dns_query_count("modes.test", RecordType::Https), 2);
    assert_eq!(lab.dns_query_count("unknown.test", RecordType::A), 2);
    assert_eq!(lab.dns_query_count("unknown.test", RecordType::Aaaa), 0);
}

#[test]
fn dns_ignores_malformed_packets() {
    if !eyeballs_lab::require_root("dns_ignores_malformed_packets") {
        return;
    }
    let lab = Lab::builder()
        .dns(
            "x.test",
            DnsRecords {
                a: vec!["198.18.0.10".parse().unwrap()],
                aaaa: vec![],
            },
        )
        .start()
        .unwrap();
    let server = lab.dns_server_v4();
    lab.run_in_client(|| {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
        let good = build_query(7, "x.test", RecordType::A);
        let mut garbage: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0xff; 11],
            vec![0xff; 1400],
            good[..good.len() - 1].to_vec(),
        ];
        let mut response = good.clone();
        response[2] |= 0x80; // QR: a response, not a query
        garbage.push(response);
        let mut loop_ptr = good.clone();
        loop_ptr[12] = 0xc0; // compression pointer in the question
        loop_ptr[13] = 12;
        garbage.push(loop_ptr);
        let mut long_label = good.clone();
        long_label[12] = 63; // label longer than the packet
        garbage.push(long_label);
        let mut x: u32 = 1;
        for len in [12usize, 13, 17, 40, 200, 511] {
            garbage.push(
                (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        (x >> 16) as u8
                    })
                    .collect(),
            );
        }
        for packet in &garbage {
            socket.send_to(packet, server).unwrap();
        }
        // Nothing comes back for any of them...
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = [0u8; 1500];
        assert!(
            socket.recv_from(&mut buf).is_err(),
            "a malformed packet was answered"
        );
        // ...and the server still answers a proper query.
        let (reply, _) = dns_query(
            &socket,
            server,
            8,
            "x.test",
            RecordType::A,
            Duration::from_secs(1),
        );
        let reply = reply.expect("no answer after malformed packets");
        assert_eq!(reply.addrs, vec![ip("198.18.0.10")]);
    })
    .unwrap();
}

#[test]
fn namespaces_are_removed_and_stale_ones_swept() {
    if !eyeballs_lab::require_root("namespaces_are_removed_and_stale_ones_swept") {
        return;
    }
    // A namespace left behind by a process that is gone.
    let dead_pid = (100_000u32..)
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        .unwrap();
    let stale = format!("eyeballs-lab-{dead_pid}-0-client");
    let status = Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    assert!(status.success());

    let start = Instant::now();
    let lab = Lab::builder()
        .server(ip("198.18.0.10"), Behavior::Accept)
        .server(ip("198.18.0.11"), Behavior::Delay(Duration::from_millis(5)))
        .server(ip("198.18.0.12"), Behavior::Unreachable)
        .start()
        .unwrap();
    let took = start.elapsed();
    eprintln!("lab started in {took:?}");
    assert!(took < Duration::from_secs(2), "lab start took {took:?}");
    let (client, server) = (lab.client_netns().to_owned(), lab.server_netns().to_owned());
    let list = netns_list();
    assert!(!list.contains(&stale), "stale namespace not swept: {list}");
    assert!(list.contains(&client) && list.contains(&server), "{list}");
    // A client thread still running when the lab is dropped does not stop the teardown.
    let straggler = lab
        .spawn_in_client(|| {
            std::thread::sleep(Duration::from_millis(100));
            TcpStream::connect(sa("198.18.0.10")).is_err()
        })
        .unwrap();

    let start = Instant::now();
    drop(lab);
    eprintln!("lab dropped in {:?}", start.elapsed());
    let list = netns_list();
    assert!(!list.contains(&client) && !list.contains(&server), "{list}");
    // The veth pair went away with the server namespace.
    assert!(straggler.join().unwrap());
}

#[test]
fn two_labs_at_once() {
    if !eyeballs_lab::require_root("two_labs_at_once") {
        return;
    }
    let start = || {
        Lab::builder()
            .server(ip("198.18.0.10"), Behavior::Accept)
            .server(
                ip("2001:db8::10"),
                Behavior::Delay(Duration::from_millis(20)),
            )
            .dns(
                "both.test",
                DnsRecords {
                    a: vec!["198.18.0.10".parse().unwrap()],
                    aaaa: vec!["2001:db8::10".parse().unwrap()],
                },
            )
            .port(PORT)
            .start()
            .unwrap()
    };
    let (one, two) = std::thread::scope(|s| {
        let one = s.spawn(start);
        let two = s.spawn(start);
        (one.join().unwrap(), two.join().unwrap())
    });
    assert_ne!(one.client_netns(), two.client_netns());
    for (lab, connects) in [(&one, 1), (&two, 2)] {
        lab.run_in_client(|| {
            for _ in 0..connects {
                TcpStream::connect(sa("198.18.0.10")).unwrap();
                let (result, took) = timed_connect(sa("2001:db8::10"), Duration::from_secs(1));
                result.unwrap();
                assert_close("Delay(20ms)", took, Duration::from_millis(20));
            }
        })
        .unwrap();
    }
    // The server thread accepts a moment after the client's connect returned.
    for (lab, n) in [(&one, 1), (&two, 2)] {
        for a in ["198.18.0.10", "2001:db8::10"] {
            wait_until(|| lab.accepted_count(ip(a)) == n, "accepts");
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(one.accepted_count(ip("198.18.0.10")), 1);
    assert_eq!(one.accepted_count(ip("2001:db8::10")), 1);
}

#[test]
fn run_in_client_is_in_the_client_namespace() {
    if !eyeballs_lab::require_root("run_in_client_is_in_the_client_namespace") {
        return;
    }
    let lab = Lab::builder().start().unwrap();
    let client_v6 = lab.client_v6();
    // The client's address is bindable in the client namespace only.
    let bound_inside = lab
        .run_in_client(|| {
            // Threads spawned from a client thread are in the client namespace too.
            std::thread::spawn(move || UdpSocket::bind(SocketAddr::new(client_v6, 0)).is_ok())
                .join()
                .unwrap()
        })
        .unwrap();
    assert!(bound_inside);
    assert!(UdpSocket::bind(SocketAddr::new(lab.client_v4(), 0)).is_err());
    // A panic in the closure reaches the caller.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lab.run_in_client(|| panic!("intentional panic, to check run_in_client resumes it"))
            .unwrap();
    }));
    assert!(panicked.is_err());
}

#[test]
fn external_addresses_are_served_by_the_test() {
    if !eyeballs_lab::require_root("external_addresses_are_served_by_the_test") {
        return;
    }
    let (v4, v6) = (ip("198.18.0.20"), ip("2001:db8::20"));
    let lab = Lab::builder()
        .server(v4, Behavior::External)
        .server(v6, Behavior::External)
        .server(ip("198.18.0.10"), Behavior::Accept)
        .port(PORT)
        .start()
        .unwrap();
    // The addresses are the server namespace's only: not bindable out here.
    assert!(std::net::TcpListener::bind(SocketAddr::new(v4, 0)).is_err());
    // A server of the test's own. The lab listens on neither address (the binds succeed),
    // and no rule stands between it and the client.
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let server = lab
        .spawn_in_server(move || {
            let listeners: Vec<_> = [v4, v6]
                .into_iter()
                .map(|a| std::net::TcpListener::bind(SocketAddr::new(a, PORT)).unwrap())
                .collect();
            ready_tx.send(()).unwrap();
            for listener in &listeners {
                let (mut conn, _) = listener.accept().unwrap();
                let local = conn.local_addr().unwrap().ip();
                conn.write_all(format!("external {local}").as_bytes())
                    .unwrap();
            }
        })
        .unwrap();
    ready.recv().unwrap();
    let greetings = lab
        .run_in_client(move || {
            let greetings: Vec<String> = [v4, v6]
                .into_iter()
                .map(|a| {
                    let mut conn = TcpStream::connect(SocketAddr::new(a, PORT)).unwrap();
                    let mut greeting = String::new();
                    conn.read_to_string(&mut greeting).unwrap();
                    greeting
                })
                .collect();
            // No listener on another port: refused at once (no DROP rule).
            let (refused, took) =
                timed_connect(SocketAddr::new(v4, PORT + 1), Duration::from_secs(2));
            assert_eq!(refused.unwrap_err().kind(), ErrorKind::ConnectionRefused);
            assert!(took < TOLERANCE, "{took:?}");
            // The lab's own Accept address is unaffected.
            assert!(TcpStream::connect(sa("198.18.0.10")).is_ok());
            greetings
        })
        .unwrap();
    server.join().unwrap();
    assert_eq!(greetings, ["external 198.18.0.20", "external 2001:db8::20"]);
    // The lab's counters leave External addresses alone.
    wait_until(
        || lab.accepted_count(ip("198.18.0.10")) == 1,
        "the Accept address counted",
    );
    assert_eq!(lab.accepted_count(v4) + lab.accepted_count(v6), 0);
}

#[test]
fn invalid_configurations_are_rejected() {
    // Checked before anything needs root.
    let out_of_range = Lab::builder()
        .server(ip("192.0.2.1"), Behavior::Accept)
        .start();
    assert!(
        matches!(out_of_range, Err(LabError::Config(_))),
        "{out_of_range:?}"
    );
    let reserved = Lab::builder()
        .server(ip("198.18.0.53"), Behavior::Accept)
        .start();
    assert!(matches!(reserved, Err(LabError::Config(_))), "{reserved:?}");
    let twice = Lab::builder()
        .server(ip("2001:db8::1"), Behavior::Accept)
        .server(ip("2001:db8::1"), Behavior::Refuse)
        .start();
    assert!(matches!(twice, Err(LabError::Config(_))), "{twice:?}");
    let unknown_name = Lab::builder()
        .dns_behavior("nope.test", RecordType::A, DnsBehavior::never())
        .start();
    assert!(
        matches!(unknown_name, Err(LabError::Config(_))),
        "{unknown_name:?}"
    );
}

#[test]
fn client_command_sees_the_lab_dns_server() {
    if !eyeballs_lab::require_root("client_command_sees_the_lab_dns_server") {
        return;
    }
    // An /etc/netns directory left by a process that is gone is swept.
    let dead_pid = (100_000u32..)
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        .unwrap();
    let stale = std::path::PathBuf::from(format!("/etc/netns/eyeballs-lab-{dead_pid}-7-client"));
    // A lab starting in a parallel test may sweep the directory between the two calls.
    let written = (0..100).any(|_| {
        std::fs::create_dir_all(&stale)
            .and_then(|()| std::fs::write(stale.join("resolv.conf"), "nameserver 198.18.0.53\n"))
            .is_ok()
    });
    assert!(written, "could not write {}", stale.display());

    let lab = Lab::builder()
        .dns("dual.test", DnsRecords::default())
        .start()
        .unwrap();
    assert!(!stale.exists(), "stale {} not swept", stale.display());
    let etc = std::path::PathBuf::from(format!("/etc/netns/{}", lab.client_netns()));
    assert!(!etc.exists(), "written before it is needed");

    let output = lab
        .client_command("cat")
        .unwrap()
        .args([
            "/etc/resolv.conf",
            "/etc/nsswitch.conf",
            "/proc/self/net/dev",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("nameserver 198.18.0.53\n"), "{stdout}");
    assert!(stdout.contains("hosts: files dns\n"), "{stdout}");
    // In the client namespace: its veth is there.
    assert!(stdout.contains("lab0:"), "{stdout}");
    // A second command reuses the files.
    assert!(lab
        .client_command("true")
        .unwrap()
        .status()
        .unwrap()
        .success());
    assert!(etc.join("resolv.conf").exists());

    drop(lab);
    assert!(!etc.exists(), "{} left behind", etc.display());
}
