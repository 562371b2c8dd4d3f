//! The proxy's destination policy on loopback, no root: each range denied by default is
//! refused by literal and by a DNS answer (SOCKS 0x02, HTTP 403 naming the rule, one log
//! line each), `--allow` opens one, `--deny` closes one, rules apply in command-line order,
//! and the proxy never connects to itself. Refused addresses are never attempted: no
//! traffic leaves loopback.

mod common;

use std::io::{BufReader, Write};
use std::net::{IpAddr, SocketAddr};

use common::http::read_response;
use common::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn socks_reply(proxy: &Proxy, to: &Target) -> u8 {
    socks_connect(proxy, to).1
}

/// An HTTP GET through the proxy: status line and body.
fn http_get(proxy: &Proxy, url: &str) -> (String, String) {
    let mut s = BufReader::new(proxy.connect());
    s.get_mut()
        .write_all(format!("GET {url} HTTP/1.1\r\n\r\n").as_bytes())
        .unwrap();
    let (line, _, body) = read_response(&mut s);
    (line, String::from_utf8(body).unwrap())
}

fn denied_lines(proxy: &Proxy) -> usize {
    proxy
        .lines()
        .iter()
        .filter(|l| l.contains("reply=0x02"))
        .count()
}

#[test]
fn every_range_denied_by_default_is_refused_by_literal_and_by_dns_answer() {
    let v4 = |s: &str| Answer::Addrs(vec![s.parse::<IpAddr>().unwrap()]);
    let dns = fake_dns(&[
        ("loopback.test", v4("127.0.0.1")),
        ("loopback6.test", v4("::1")),
        ("mapped.test", v4("::ffff:127.0.0.1")),
        ("metadata.test", v4("169.254.169.254")),
        ("linklocal6.test", v4("fe80::1")),
        ("nat64.test", v4("64:ff9b::a9fe:a9fe")),
        ("zero.test", v4("0.0.0.0")),
        ("multicast.test", v4("224.0.0.1")),
        ("broadcast.test", v4("255.255.255.255")),
    ]);
    let proxy = Proxy::start_strict(&["--dns", &dns.to_string()]);
    let echo = echo_v4();
    let cases = [
        ("127.0.0.1", "loopback.test", "loopback"),
        ("[::1]", "loopback6.test", "loopback"),
        ("[::ffff:127.0.0.1]", "mapped.test", "loopback"),
        ("169.254.169.254", "metadata.test", "link-local"),
        ("[fe80::1]", "linklocal6.test", "link-local"),
        ("[64:ff9b::a9fe:a9fe]", "nat64.test", "link-local"),
        ("0.0.0.0", "zero.test", "unspecified"),
        ("224.0.0.1", "multicast.test", "multicast"),
        ("255.255.255.255", "broadcast.test", "broadcast"),
    ];
    let mut refusals = 0;
    for (literal, name, range) in cases {
        let port = echo.port();
        let addr: SocketAddr = format!("{literal}:{port}").parse().unwrap();
        assert_eq!(socks_reply(&proxy, &Target::Addr(addr)), 0x02, "{literal}");
        assert_eq!(
            socks_reply(&proxy, &common::name(name, port)),
            0x02,
            "{name}"
        );
        let (status, body) = http_get(&proxy, &format!("http://{name}:{port}/"));
        assert_eq!(status, "HTTP/1.1 403 Forbidden", "{name}: {body}");
        // The policy names the range; an answer of no destination at all is dropped by
        // the engine's screening first, which names the address's kind.
        let named =
            body.contains(&format!("denied: {range}")) || body.contains(&format!("({range})"));
        assert!(named, "{name}: {body}");
        refusals += 3;
        // cause=denied, or (an answer of no destination at all) cause=no_addresses.
        proxy.wait_log(&["reply=0x02", &format!("target={name}:{port}")]);
    }
    // One log line per refusal.
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    while denied_lines(&proxy) < refusals && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        denied_lines(&proxy),
        refusals,
        "{}",
        proxy.lines().join("\n")
    );
    let line = proxy.wait_log(&["target=127.0.0.1:", "cause=denied"]);
    assert!(line.contains("reply=0x02"), "{line}");
    assert!(line.contains("status=403"), "{line}");
    assert!(line.contains("attempts=0"), "{line}");
}

#[test]
fn allow_and_deny_rules_apply_in_the_order_given() {
    let echo = echo_v4();
    let dns = fake_dns(&[(
        "internal.test",
        Answer::Addrs(vec!["127.0.0.1".parse().unwrap()]),
    )]);
    let port = echo.port();
    let to = |ip: &str| Target::Addr(sa(&format!("{ip}:{port}")));

    // --allow opens one range: 127.0.0.0/8 by literal and by name; ::1 stays denied.
    let proxy = Proxy::start_strict(&["--dns", &dns.to_string(), "--allow", "127.0.0.0/8"]);
    let (mut s, code, _) = socks_connect(&proxy, &to("127.0.0.1"));
    assert_eq!(code, 0);
    assert_echoes(&mut s, b"allowed");
    assert_eq!(socks_reply(&proxy, &name("internal.test", port)), 0x00);
    assert_eq!(
        socks_reply(&proxy, &Target::Addr(sa(&format!("[::1]:{port}")))),
        0x02
    );

    // --deny closes one: the first matching rule decides.
    let proxy = Proxy::start_strict(&[
        "--allow-loopback",
        "--deny",
        "127.0.0.2",
        "--allow",
        "127.0.0.0/8",
        "--deny",
        "127.0.0.0/8",
    ]);
    assert_eq!(
        socks_reply(&proxy, &to("127.0.0.1")),
        0x00,
        "allowed by the 2nd rule"
    );
    assert_eq!(socks_reply(&proxy, &to("127.0.0.2")), 0x02);
    let (status, body) = http_get(&proxy, &format!("http://127.0.0.2:{port}/"));
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    assert!(
        body.contains("denied by the rule `deny 127.0.0.2/32`"),
        "{body}"
    );
    let proxy = Proxy::start_strict(&["--deny", "127.0.0.0/8", "--allow", "127.0.0.1"]);
    assert_eq!(
        socks_reply(&proxy, &to("127.0.0.1")),
        0x02,
        "the deny came first"
    );
}

#[test]
fn the_proxy_never_connects_to_itself() {
    let dns = fake_dns(&[(
        "myself.test",
        Answer::Addrs(vec!["127.0.0.1".parse().unwrap()]),
    )]);
    // Loopback allowed, even all of IPv4 allowed: its own endpoint stays denied.
    let proxy = Proxy::start(&["--dns", &dns.to_string(), "--allow", "0.0.0.0/0"]);
    let own = proxy.addr;
    assert_eq!(socks_reply(&proxy, &Target::Addr(own)), 0x02);
    let mapped = sa(&format!("[::ffff:127.0.0.1]:{}", own.port()));
    assert_eq!(socks_reply(&proxy, &Target::Addr(mapped)), 0x02);
    assert_eq!(socks_reply(&proxy, &name("myself.test", own.port())), 0x02);
    let (status, body) = http_get(&proxy, &format!("http://{own}/"));
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    assert!(
        body.contains(&format!("deny 127.0.0.1/32 port {}", own.port())),
        "{body}"
    );
    // A CONNECT to itself too; nothing was nested: one client per request.
    let mut s = proxy.connect();
    s.write_all(format!("CONNECT {own} HTTP/1.1\r\n\r\n").as_bytes())
        .unwrap();
    let (line, _, _) = read_response(&mut BufReader::new(s));
    assert_eq!(line, "HTTP/1.1 403 Forbidden");
    let accepted = proxy
        .lines()
        .iter()
        .filter(|l| l.contains(&format!("target={own}")) && l.contains("connected"))
        .count();
    assert_eq!(accepted, 0, "{}", proxy.lines().join("\n"));
}
