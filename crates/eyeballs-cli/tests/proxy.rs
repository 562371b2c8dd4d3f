//! `eyeballs proxy` on loopback, no root: the built binary, spoken to in raw SOCKS5 (and
//! HTTP CONNECT) over std `TcpStream`s. Host names are resolved by a fake DNS server on
//! 127.0.0.1 (`--dns`): no real name is ever looked up, and all traffic stays on loopback.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command as AssertCommand;
use nix::sys::signal::Signal;
use predicates::prelude::*;

use common::*;

#[test]
fn ipv4_literal_is_connected_and_relayed_with_half_close() {
    let proxy = Proxy::start(&[]);
    let counter = server(Ipv4Addr::LOCALHOST.into(), count).unwrap();
    let (mut s, code, bound) = socks_connect(&proxy, &Target::Addr(counter));
    assert_eq!(code, 0);
    assert_eq!(bound.ip(), IpAddr::from(Ipv4Addr::LOCALHOST));
    assert_ne!(bound.port(), 0);
    s.write_all(b"hello").unwrap();
    // Half-close: the server sees EOF, and its answer still comes back.
    s.shutdown(Shutdown::Write).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "got 5 bytes\n");

    let line = proxy.wait_log(&[&format!("target={counter} winner={counter}")]);
    assert!(line.contains("attempts=1"), "{line}");
    assert!(line.contains("elapsed_ms="), "{line}");

    let echo = echo_v4();
    let (mut s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"ping");
    assert_echoes(&mut s, &[0xAB; 100_000]);
}

#[test]
fn ipv6_literal_is_connected_and_relayed() {
    let Some(echo) = server(Ipv6Addr::LOCALHOST.into(), echo) else {
        eprintln!("SKIPPED ipv6_literal_is_connected_and_relayed: no IPv6 loopback");
        return;
    };
    let proxy = Proxy::start(&[]);
    let (mut s, code, bound) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    assert_eq!(bound.ip(), IpAddr::from(Ipv6Addr::LOCALHOST));
    assert_echoes(&mut s, b"over IPv6");
    proxy.wait_log(&[&format!("target={echo} winner={echo}")]);
}

#[test]
fn host_names_are_raced_over_both_families() {
    let echo = echo_v4();
    // AAAA ::1 (nothing listens there on that port: refused at once) and A 127.0.0.1.
    let dns = fake_dns(&[(
        "both.test",
        Answer::Addrs(vec![Ipv6Addr::LOCALHOST.into(), Ipv4Addr::LOCALHOST.into()]),
    )]);
    let proxy = Proxy::start(&["--dns", &dns.to_string()]);
    let (mut s, code, _) = socks_connect(&proxy, &name("both.test", echo.port()));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"raced");
    let line = proxy.wait_log(&[&format!("target=both.test:{} winner={echo}", echo.port())]);
    assert!(line.contains("attempts=2"), "{line}");

    // An IP address sent as a name is connected to as an address (no DNS).
    let (mut s, code, _) = socks_connect(&proxy, &name("127.0.0.1", echo.port()));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"literal");
}

#[test]
fn race_failures_get_their_reply_codes() {
    let dns = fake_dns(&[
        ("missing.test", Answer::NxDomain),
        ("slow.test", Answer::Never),
    ]);
    let proxy = Proxy::start(&["--dns", &dns.to_string(), "--timeout", "300ms"]);

    let refused = closed_port();
    let (mut s, code, bound) = socks_connect(&proxy, &Target::Addr(refused));
    assert_eq!(code, 0x05, "connection refused");
    assert_eq!(bound, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    assert_closed(&mut s, "after a failure reply");
    let line = proxy.wait_log(&[&format!("target={refused} reply=0x05")]);
    assert!(line.contains("attempts=1"), "{line}");
    assert!(line.contains(" cause=refused "), "{line}");

    let (_, code, _) = socks_connect(&proxy, &name("missing.test", 80));
    assert_eq!(code, 0x04, "a name that does not resolve: host unreachable");
    proxy.wait_log(&["target=missing.test:80 reply=0x04", " cause=no_such_name "]);

    let start = Instant::now();
    let (_, code, _) = socks_connect(&proxy, &name("slow.test", 80));
    let took = start.elapsed();
    assert_eq!(code, 0x06, "--timeout ran out: TTL expired");
    assert!(
        took >= Duration::from_millis(280) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    proxy.wait_log(&["target=slow.test:80 reply=0x06", " cause=timed_out "]);

    // IPv4 only: an IPv6 address cannot be reached.
    let v4_only = Proxy::start(&["-4"]);
    let (_, code, _) = socks_connect(
        &v4_only,
        &Target::Addr(SocketAddr::from((Ipv6Addr::LOCALHOST, 80))),
    );
    assert_eq!(code, 0x08, "address type not supported");
}

/// Each malformed input on its own connection: the right reply (or none) and a close;
/// the proxy serves the next client as if nothing happened.
#[test]
fn malformed_input_is_answered_or_closed_and_the_proxy_keeps_serving() {
    let mut proxy = Proxy::start(&[]);
    let echo = echo_v4();
    let greeting = [5u8, 1, 0];
    let with_greeting = |rest: &[u8]| [&greeting[..], rest].concat();
    let lo = |port: u16| Target::Addr(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));

    // (what, bytes sent, bytes expected back before the close)
    let mut cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("empty greeting", vec![5], vec![]),
        ("greeting shorter than announced", vec![5, 3, 0], vec![]),
        ("SOCKS4", vec![4, 1, 0, 80, 127, 0, 0, 1, 0], vec![]),
        ("garbage", vec![0xAB; 64], vec![]),
        ("zero methods", vec![5, 0], vec![5, 0xFF]),
        ("no acceptable method", vec![5, 2, 2, 0x80], vec![5, 0xFF]),
        (
            "request of version 4",
            with_greeting(&[4, 1, 0, 1, 127, 0, 0, 1, 0, 80]),
            vec![5, 0],
        ),
        (
            "truncated request",
            with_greeting(&[5, 1, 0, 1, 127, 0]),
            vec![5, 0],
        ),
        (
            "truncated name",
            with_greeting(&[5, 1, 0, 3, 20, b'a', b'b']),
            vec![5, 0],
        ),
    ];
    let failure = |code: u8| [&[5u8, 0][..], &[5, code, 0, 1, 0, 0, 0, 0, 0, 0]].concat();
    let long_name = "a".repeat(255);
    let long_label = format!("{}.test", "b".repeat(64));
    let replies: Vec<(&str, Vec<u8>, u8)> = vec![
        ("BIND", request_with(2, &lo(echo.port())), 0x07),
        ("UDP ASSOCIATE", request_with(3, &lo(echo.port())), 0x07),
        ("command 0x7f", request_with(0x7F, &lo(echo.port())), 0x07),
        ("address type 2", vec![5, 1, 0, 2, 1, 2, 3, 4, 0, 80], 0x08),
        ("address type 9", vec![5, 1, 0, 9], 0x08),
        ("empty name", request(&name("", 80)), 0x04),
        ("name with a space", request(&name("bad name", 80)), 0x04),
        ("name with NUL", request(&name("a\0.test", 80)), 0x04),
        (
            "name not UTF-8",
            request(&Target::Name(vec![0xFF, 0xFE], 80)),
            0x04,
        ),
        ("255-byte name", request(&name(&long_name, 80)), 0x04),
        ("64-byte label", request(&name(&long_label, 80)), 0x04),
        ("port 0", request(&lo(0)), 0x02),
        (
            "0.0.0.0",
            request(&Target::Addr("0.0.0.0:80".parse().unwrap())),
            0x02,
        ),
        (
            "broadcast",
            request(&Target::Addr("255.255.255.255:80".parse().unwrap())),
            0x02,
        ),
        (
            "multicast",
            request(&Target::Addr("224.0.0.1:80".parse().unwrap())),
            0x02,
        ),
        (
            "::",
            request(&Target::Addr("[::]:80".parse().unwrap())),
            0x02,
        ),
    ];
    for (what, rest, code) in replies {
        cases.push((what, with_greeting(&rest), failure(code)));
    }

    for (what, sent, expected) in cases {
        let mut s = proxy.connect();
        s.write_all(&sent).unwrap();
        // Some cases are incomplete: end them.
        let _ = s.shutdown(Shutdown::Write);
        let mut got = Vec::new();
        match s.read_to_end(&mut got) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{what}: {e} (got {got:?})"),
        }
        assert_eq!(got, expected, "{what}");
        proxy.assert_running();
    }
    // The proxy logs each failure after it has answered the client: its lines may still be on
    // their way.
    let deadline = Instant::now() + IO_TIMEOUT;
    let failures = || {
        proxy
            .lines()
            .iter()
            .filter(|l| l.contains("handshake failed"))
            .count()
    };
    while failures() < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(failures() >= 20, "{}", proxy.lines().join("\n"));

    // Bytes right after the request (optimistic data) are relayed, not misread.
    let mut s = proxy.connect();
    s.write_all(&with_greeting(
        &[request(&Target::Addr(echo)), b"early".to_vec()].concat(),
    ))
    .unwrap();
    assert_eq!(read_n(&mut s, 2), [5, 0]);
    assert_eq!(read_reply(&mut s).0, 0);
    assert_eq!(read_n(&mut s, 5), b"early");

    // And the next well-formed client is served.
    let (mut s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"still serving");
    proxy.assert_running();
}

#[test]
fn username_password_authentication() {
    let proxy = Proxy::start(&["--auth", "user:sec:ret"]);
    let echo = echo_v4();

    // Only "no authentication" offered: no acceptable method.
    let mut s = proxy.connect();
    s.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read_n(&mut s, 2), [5, 0xFF]);
    assert_closed(&mut s, "no acceptable method");

    let login = |user: &str, pass: &str| {
        let mut s = proxy.connect();
        s.write_all(&[5, 2, 0, 2]).unwrap();
        assert_eq!(read_n(&mut s, 2), [5, 2], "username/password chosen");
        let mut auth = vec![1, user.len() as u8];
        auth.extend_from_slice(user.as_bytes());
        auth.push(pass.len() as u8);
        auth.extend_from_slice(pass.as_bytes());
        s.write_all(&auth).unwrap();
        let status = read_n(&mut s, 2);
        assert_eq!(status[0], 1);
        (s, status[1])
    };
    for (user, pass) in [
        ("user", "wrong"),
        ("someone", "sec:ret"),
        ("user", "sec:re"),
    ] {
        let (mut s, status) = login(user, pass);
        assert_eq!(status, 0x01, "{user}:{pass}: failure");
        assert_closed(&mut s, "after a failed authentication");
    }
    proxy.wait_log(&["authentication failed for user \"someone\""]);
    assert!(
        !proxy.lines().join("\n").contains("sec:ret"),
        "the log shows a password"
    );

    let (mut s, status) = login("user", "sec:ret");
    assert_eq!(status, 0x00);
    s.write_all(&request(&Target::Addr(echo))).unwrap();
    assert_eq!(read_reply(&mut s).0, 0);
    assert_echoes(&mut s, b"authenticated");
}

#[test]
fn handshake_timeout_drops_idle_clients() {
    let proxy = Proxy::start(&["--handshake-timeout", "300ms"]);
    let start = Instant::now();
    // One says nothing, one stops after the greeting, one after half a request.
    let mut silent = proxy.connect();
    let mut greeted = proxy.connect();
    greet(&mut greeted);
    let mut halfway = proxy.connect();
    greet(&mut halfway);
    halfway.write_all(&[5, 1, 0, 1, 127]).unwrap();
    for (s, what) in [
        (&mut silent, "silent"),
        (&mut greeted, "greeted"),
        (&mut halfway, "halfway"),
    ] {
        assert_closed(s, what);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(280) && took < Duration::from_secs(2),
            "{what} closed after {took:?}"
        );
    }
    proxy.wait_log(&["--handshake-timeout"]);
    // A client that keeps up is served.
    let echo = echo_v4();
    let (mut s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"in time");
}

#[test]
fn clients_beyond_max_clients_wait_for_a_slot() {
    let proxy = Proxy::start(&["--max-clients", "1"]);
    let echo = echo_v4();
    let (mut first, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);

    // The second is accepted by the kernel (backlog) but not served while the first relays.
    let mut second = proxy.connect();
    second.write_all(&[5, 1, 0]).unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 2];
    let err = second.read_exact(&mut buf).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    proxy.wait_log(&["client slots are busy"]);
    assert_echoes(&mut first, b"first");

    // Once the first leaves, the second is served.
    drop(first);
    second.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    second.read_exact(&mut buf).unwrap();
    assert_eq!(buf, [5, 0]);
    second.write_all(&request(&Target::Addr(echo))).unwrap();
    assert_eq!(read_reply(&mut second).0, 0);
    assert_echoes(&mut second, b"second");
}

#[test]
fn a_client_that_leaves_cancels_its_race() {
    let dns = fake_dns(&[("slow.test", Answer::Never)]);
    let proxy = Proxy::start(&["--dns", &dns.to_string(), "--max-clients", "1"]);
    let mut s = proxy.connect();
    greet(&mut s);
    s.write_all(&request(&name("slow.test", 80))).unwrap();
    thread::sleep(Duration::from_millis(100));
    let left = Instant::now();
    drop(s);
    let line = proxy.wait_log(&["target=slow.test:80", "the client left during the race"]);
    assert!(left.elapsed() < Duration::from_secs(1), "{line}");
    // Its slot is free again (--max-clients 1).
    let echo = echo_v4();
    let (mut s, code, _) = socks_connect(&proxy, &Target::Addr(echo));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"next");
}

#[test]
fn sigterm_and_sigint_stop_the_proxy_promptly() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let mut proxy = Proxy::start(&[]);
        let echo = echo_v4();
        // A relay in progress and a client mid-handshake do not hold the exit up.
        let (mut relay, code, _) = socks_connect(&proxy, &Target::Addr(echo));
        assert_eq!(code, 0);
        let mut idle = proxy.connect();
        idle.write_all(&[5]).unwrap();
        proxy.signal(signal);
        let (status, took) = proxy.wait_exit(Duration::from_secs(3));
        assert_eq!(status.code(), Some(0), "{signal}: {status}");
        assert!(
            took < Duration::from_secs(1),
            "{signal}: exit took {took:?}"
        );
        proxy.wait_log(&[&format!("{signal}: stopped")]);
        assert_closed(&mut relay, "relay after the exit");
        assert_closed(&mut idle, "handshake after the exit");
        assert!(TcpStream::connect(proxy.addr).is_err(), "still listening");
    }
}

#[test]
fn http_connect_on_the_same_port() {
    let proxy = Proxy::start(&["--auth", "user:secret"]);
    let echo = echo_v4();
    let http = |request: String| {
        let mut s = proxy.connect();
        s.write_all(request.as_bytes()).unwrap();
        s
    };
    let head = |s: &mut TcpStream| {
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.extend(read_n(s, 1));
        }
        String::from_utf8(head).unwrap()
    };
    // dXNlcjpzZWNyZXQ= is base64("user:secret").
    let auth = "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n";

    let mut s = http(format!(
        "CONNECT {echo} HTTP/1.1\r\nHost: {echo}\r\n{auth}\r\nearly"
    ));
    let answer = head(&mut s);
    assert!(
        answer.starts_with("HTTP/1.1 200 Connection established\r\n"),
        "{answer}"
    );
    assert!(
        !answer.to_ascii_lowercase().contains("content-length"),
        "{answer}"
    );
    assert_eq!(read_n(&mut s, 5), b"early");
    assert_echoes(&mut s, b"tunnelled");

    let refused = closed_port();
    let mut s = http(format!("CONNECT {refused} HTTP/1.1\r\n{auth}\r\n"));
    assert!(head(&mut s).starts_with("HTTP/1.1 502 Bad Gateway\r\n"));
    proxy.wait_log(&[&format!("target={refused}"), "status=502", "cause=refused"]);

    let mut s = http(format!("CONNECT {echo} HTTP/1.1\r\n\r\n"));
    let answer = head(&mut s);
    assert!(answer.starts_with("HTTP/1.1 407 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("proxy-authenticate: basic"),
        "{answer}"
    );

    for (request, status) in [
        (
            format!("CONNECT {echo} HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            200,
        ),
        (format!("CONNECT 0.0.0.0:80 HTTP/1.1\r\n{auth}\r\n"), 403),
        (format!("CONNECT bad!name:80 HTTP/1.1\r\n{auth}\r\n"), 502),
        (format!("CONNECT a.test HTTP/1.1\r\n{auth}\r\n"), 400),
    ] {
        let mut s = http(request.clone());
        let answer = head(&mut s);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{request}: {answer}"
        );
    }

    // SOCKS5 still works on the same port.
    let mut s = proxy.connect();
    s.write_all(&[5, 1, 2, 1, 4]).unwrap();
    s.write_all(b"user\x06secret").unwrap();
    assert_eq!(read_n(&mut s, 4), [5, 2, 1, 0]);
    s.write_all(&request(&Target::Addr(echo))).unwrap();
    assert_eq!(read_reply(&mut s).0, 0);
    assert_echoes(&mut s, b"socks too");

    // With --no-http, HTTP is refused (closed) and SOCKS served.
    let socks_only = Proxy::start(&["--no-http"]);
    let mut s = socks_only.connect();
    s.write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_closed(&mut s, "HTTP with --no-http");
    socks_only.wait_log(&["HTTP is off (--no-http)"]);
}

#[test]
fn usage_errors_and_a_busy_port() {
    let eyeballs = || AssertCommand::new(env!("CARGO_BIN_EXE_eyeballs"));
    for args in [
        &["proxy"][..],
        &["proxy", "--listen", "127.0.0.1"],
        &["proxy", "--listen", "127.0.0.1:0"],
        &["proxy", "--listen", "127.0.0.1:1080", "--auth", "nocolon"],
        &["proxy", "--listen", "127.0.0.1:1080", "--auth", ":pass"],
        &[
            "proxy",
            "--listen",
            "127.0.0.1:1080",
            "--handshake-timeout",
            "0s",
        ],
        &["proxy", "--listen", "127.0.0.1:1080", "--max-clients", "0"],
        &[
            "proxy",
            "--listen",
            "127.0.0.1:1080",
            "--attempt-delay",
            "1ms",
        ],
        &[
            "proxy",
            "--listen",
            "127.0.0.1:1080",
            "--dns",
            "resolver.test",
        ],
    ] {
        eyeballs().args(args).timeout(IO_TIMEOUT).assert().code(2);
    }
    eyeballs()
        .args(["proxy", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--max-clients")
                .and(predicate::str::contains("[default: 512]"))
                .and(predicate::str::contains("--handshake-timeout"))
                .and(predicate::str::contains("[default: 10s]"))
                .and(predicate::str::contains("--attempt-delay"))
                .and(predicate::str::contains("TTL expired")),
        );

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    eyeballs()
        .args(["proxy", "--listen", &addr])
        .timeout(IO_TIMEOUT)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot listen on"));
}
