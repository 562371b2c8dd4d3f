//! The proxy's limits on loopback, no root: idle relays time out, a handshake flood does
//! not lock clients out or take relays' slots, a race holds at most
//! --max-attempts-in-flight sockets, --max-clients is checked against the descriptor limit.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command as AssertCommand;
use predicates::prelude::*;

use common::*;

#[test]
fn an_idle_relay_times_out_and_a_new_client_is_served() {
    let proxy = Proxy::start(&["--idle-timeout", "400ms", "--max-clients", "1"]);
    let echo = echo_v4();
    let (mut s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    // Traffic keeps it open past the timeout...
    for _ in 0..4 {
        thread::sleep(Duration::from_millis(200));
        assert_echoes(&mut s, b"alive");
    }
    // ...and silence ends it.
    let quiet = Instant::now();
    assert_closed(&mut s, "idle relay");
    let took = quiet.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "closed after {took:?}"
    );
    // Its slot (the only one) is free again.
    let (mut s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"next client");

    // An HTTP CONNECT tunnel too.
    drop(s);
    let mut s = proxy.connect();
    s.write_all(format!("CONNECT {echo} HTTP/1.1\r\n\r\n").as_bytes())
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.extend(read_n(&mut s, 1));
    }
    assert!(head.starts_with(b"HTTP/1.1 200 "));
    assert_echoes(&mut s, b"tunnel");
    let quiet = Instant::now();
    assert_closed(&mut s, "idle tunnel");
    assert!(quiet.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_handshake_flood_neither_locks_clients_out_nor_takes_relay_slots() {
    let proxy = Proxy::start(&[
        "--max-clients",
        "8",
        "--max-handshakes",
        "2",
        "--handshake-timeout",
        "30s",
    ]);
    let echo = echo_v4();
    let mut relays: Vec<TcpStream> = (0..2)
        .map(|_| {
            let (s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
            assert_eq!(code, 0);
            s
        })
        .collect();
    // 30 clients connect and say nothing (a handshake timeout of 30 s would hold them).
    let flood: Vec<TcpStream> = (0..30).map(|_| proxy.connect()).collect();
    proxy.wait_log(&["handshake slots are busy"]);
    // A real client gets through at once, and the relays keep relaying.
    let started = Instant::now();
    let (mut s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_echoes(&mut s, b"got through");
    for relay in &mut relays {
        assert_echoes(relay, b"still relaying");
    }
    // The flood holds at most 2 slots: the rest were dropped.
    let mut open = 0;
    for mut f in flood {
        f.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        match f.read(&mut [0u8; 1]) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => open += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(open <= 2, "{open} flood clients still held");
    proxy.wait_log(&["dropped for a newer client"]);
}

/// Loopback black holes on one port: listeners whose accept queue is full, so that the
/// kernel drops further SYNs and a connect hangs (in SYN_SENT).
struct BlackHoles {
    port: u16,
    _listeners: Vec<socket2::Socket>,
    _fillers: Vec<TcpStream>,
}

fn black_holes(count: u8) -> BlackHoles {
    use socket2::{Domain, Socket, Type};
    'port: loop {
        let port = free_port();
        let mut listeners = Vec::new();
        for i in 0..count {
            let addr = SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2 + i), port));
            let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            if socket.bind(&addr.into()).is_err() {
                continue 'port;
            }
            socket.listen(0).unwrap();
            listeners.push((addr, socket));
        }
        // Fill every accept queue, in parallel (a connect that times out marks it full).
        let fillers = thread::scope(|scope| {
            let handles: Vec<_> = listeners
                .iter()
                .map(|(addr, _)| {
                    let addr = *addr;
                    scope.spawn(move || {
                        let mut fillers = Vec::new();
                        for _ in 0..4 {
                            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                                Ok(s) => fillers.push(s),
                                Err(_) => break,
                            }
                        }
                        fillers
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        return BlackHoles {
            port,
            _listeners: listeners.into_iter().map(|(_, s)| s).collect(),
            _fillers: fillers,
        };
    }
}

/// TCP sockets in SYN_SENT towards `port` on this machine (IPv4), from /proc/net/tcp.
fn syn_sent_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[2].ends_with(&port) && fields[3] == "02"
        })
        .count()
}

#[test]
fn a_name_with_64_black_holed_addresses_holds_at_most_the_cap_of_sockets() {
    let holes = black_holes(64);
    let addrs: Vec<IpAddr> = (0..64u8)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)))
        .collect();
    let dns = fake_dns(&[("many.test", Answer::Addrs(addrs))]);
    for (cap, args) in [(4, &[][..]), (2, &["--max-attempts-in-flight", "2"][..])] {
        let proxy = Proxy::start(
            &[
                &[
                    "--dns",
                    &dns.to_string(),
                    "--attempt-delay",
                    "10ms",
                    "--timeout",
                    "1500ms",
                ][..],
                args,
            ]
            .concat(),
        );
        let mut s = proxy.connect();
        greet(&mut s);
        s.write_all(&request(&name("many.test", holes.port)))
            .unwrap();
        // Without the cap, one attempt every 10 ms: 64 sockets within a second.
        let mut most = 0;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(1000) {
            most = most.max(syn_sent_to(holes.port));
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            most,
            cap,
            "sockets in SYN_SENT at most (cap {cap}):\n{}",
            proxy.lines().join("\n")
        );
        // --timeout ends the race: TTL expired.
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(read_reply(&mut s).0, 0x06);
    }
}

#[test]
fn max_clients_is_checked_against_the_descriptor_limit() {
    AssertCommand::new(env!("CARGO_BIN_EXE_eyeballs"))
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:1",
            "--max-clients",
            "1000000",
        ])
        .timeout(Duration::from_secs(5))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("--max-clients 1000000 needs up to")
                .and(predicate::str::contains("ulimit -n")),
        );
}

/// A client that leaves mid-race takes its race with it: the HTTP proxy's attempt to a black
/// hole (no timeout: it would sit in SYN_SENT for the kernel's two minutes) is aborted and
/// its socket closed once the client has closed its connection. The same for SOCKS.
#[test]
fn a_client_leaving_mid_race_cancels_the_race() {
    let holes = black_holes(1);
    let proxy = Proxy::start(&[]);
    let target = format!("127.0.0.2:{}", holes.port);
    for protocol in ["http", "socks"] {
        let mut s = proxy.connect();
        match protocol {
            "http" => s
                .write_all(
                    format!("GET http://{target}/ HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes(),
                )
                .unwrap(),
            _ => {
                greet(&mut s);
                s.write_all(&request(&Target::Addr(target.parse().unwrap())))
                    .unwrap();
            }
        }
        let started = Instant::now();
        while syn_sent_to(holes.port) == 0 && started.elapsed() < Duration::from_secs(2) {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            syn_sent_to(holes.port),
            1,
            "{protocol}: the race is under way"
        );
        drop(s);
        let left = Instant::now();
        while syn_sent_to(holes.port) > 0 && left.elapsed() < Duration::from_secs(2) {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            syn_sent_to(holes.port),
            0,
            "{protocol}: the attempt outlived its client:\n{}",
            proxy.lines().join("\n")
        );
        eprintln!(
            "{protocol}: attempt closed {:?} after the client left",
            left.elapsed()
        );
    }
}
