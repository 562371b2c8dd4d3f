//! Bounded fuzzing of the proxy's request parsing through the built binary, no root: valid
//! HTTP (absolute-form, CONNECT, chunked bodies) and SOCKS5 requests mutated at random, each
//! on its own connection. Every one is answered (a status line or a SOCKS reply) or closed,
//! and the proxy keeps serving. cargo-fuzz needs a nightly toolchain, which this project
//! does not use; this runs in every `cargo test`.
//!
//! No traffic can leave: every address is denied (`--deny 0.0.0.0/0 --deny ::/0`, before any
//! attempt) and names are resolved by a fake DNS server on loopback answering NXDOMAIN.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use common::*;

use eyeballs_cli::fuzzing::{mutate, Rng};

const SEEDS: &[&[u8]] = &[
    b"GET http://dual.test:8080/path?q=1 HTTP/1.1\r\nHost: dual.test\r\nProxy-Connection: keep-alive\r\nConnection: X-A\r\nX-A: 1\r\n\r\n",
    b"POST http://192.0.2.1/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"PUT http://[2001:db8::1]:81/x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
    b"CONNECT dual.test:443 HTTP/1.1\r\nHost: dual.test:443\r\nProxy-Authorization: Basic eDp5\r\n\r\n\x16\x03\x01",
    b"GET http://a.test/ HTTP/1.1\r\nGET http://b.test/ HTTP/1.1\r\n\r\n",
    b"\x05\x01\x00\x05\x01\x00\x03\x09dual.test\x1f\x90",
    b"\x05\x02\x00\x02\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\xbb",
];

#[test]
fn bounded_fuzz_of_http_and_socks5_requests_through_the_proxy() {
    let dns = fake_dns(&[]);
    let mut proxy = Proxy::start_strict(&[
        "--dns",
        &dns.to_string(),
        "--deny",
        "0.0.0.0/0",
        "--deny",
        "::/0",
        "--handshake-timeout",
        "2s",
    ]);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for case in 0..600 {
        let mut input = SEEDS[case % SEEDS.len()].to_vec();
        mutate(&mut rng, &mut input);
        let mut s = proxy.connect();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // A write may fail once the proxy has answered and closed: that is an answer too.
        let _ = s.write_all(&input);
        let _ = s.shutdown(Shutdown::Write);
        let mut got = Vec::new();
        match s.read_to_end(&mut got) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("case {case}: {e} after {input:?} (got {got:?})"),
        }
        if !got.is_empty() {
            let http = got.starts_with(b"HTTP/1.");
            let socks = got[0] == 5;
            assert!(http || socks, "case {case}: {input:?} got {got:?}");
            if http {
                // Never a success: every destination is denied.
                assert!(!got.starts_with(b"HTTP/1.1 200"), "case {case}: {input:?}");
            }
        }
        proxy.assert_running();
    }
    // Still serving: a valid request gets its refusal.
    let mut s = proxy.connect();
    s.write_all(b"GET http://192.0.2.1/ HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 403");
}
