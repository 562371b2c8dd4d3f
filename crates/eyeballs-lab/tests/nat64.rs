//! The NAT64 lab on its own (root): the client namespace is IPv6-only, reaches the IPv4
//! servers through TAYGA at their synthesized addresses (their behaviours apply), the DNS
//! answers `ipv4only.arpa` (and, with DNS64, IPv4-only names) with synthesized AAAA
//! records, and nothing is left once the lab is dropped.

mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::wait_until;
use eyeballs_lab::dns::{build_query, parse_response};
use eyeballs_lab::nat64::{NAT64_POOL, WELL_KNOWN_ADDRESSES};
use eyeballs_lab::{Behavior, DnsRecords, Lab, Nat64, RecordType};

const PORT: u16 = 8080;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// One UDP query to the lab's DNS over IPv6, from the client namespace.
fn query(lab: &Lab, name: &'static str, rtype: RecordType) -> Vec<IpAddr> {
    let server = lab.dns_server_v6();
    lab.run_in_client(move || {
        let socket = UdpSocket::bind("[::]:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        socket
            .send_to(&build_query(7, name, rtype), server)
            .unwrap();
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).unwrap();
        parse_response(&buf[..n]).unwrap().addrs
    })
    .unwrap()
}

fn connect(lab: &Lab, to: SocketAddr) -> std::io::Result<()> {
    lab.run_in_client(move || TcpStream::connect_timeout(&to, Duration::from_secs(1)).map(drop))
        .unwrap()
}

#[test]
fn nat64_lab_translates_and_leaves_nothing() {
    if !eyeballs_lab::require_root("nat64_lab_translates_and_leaves_nothing") {
        return;
    }
    let lab = Lab::builder()
        .server("198.18.0.10".parse().unwrap(), Behavior::Accept)
        .server("198.18.0.11".parse().unwrap(), Behavior::Refuse)
        .server("2001:db8::10".parse().unwrap(), Behavior::Accept)
        .port(PORT)
        .dns(
            "v4only.test",
            DnsRecords {
                a: vec![v4("198.18.0.10")],
                aaaa: vec![],
            },
        )
        .nat64(Nat64::default().dns64(true))
        .start()
        .unwrap();
    let synthesized = lab.synthesized(v4("198.18.0.10")).unwrap();
    assert_eq!(synthesized, v6("2001:db8:64::c612:a"));

    // IPv6-only: no IPv4 route in the client namespace.
    let direct = connect(&lab, SocketAddr::new(v4("198.18.0.10").into(), PORT));
    assert_eq!(direct.unwrap_err().raw_os_error(), Some(101), "ENETUNREACH");
    // Through the translator; the server sees a pool address.
    connect(&lab, SocketAddr::new(synthesized.into(), PORT)).unwrap();
    wait_until(
        || lab.accepted_count("198.18.0.10".parse().unwrap()) == 1,
        "the IPv4 server accepting through NAT64",
    );
    // An IPv4 server's behaviour applies through the translator.
    let refused = connect(
        &lab,
        SocketAddr::new(lab.synthesized(v4("198.18.0.11")).unwrap().into(), PORT),
    );
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    // Native IPv6 still works.
    connect(&lab, SocketAddr::new(v6("2001:db8::10").into(), PORT)).unwrap();

    // DNS64: the Well-Known Name and the IPv4-only name.
    let wka: Vec<IpAddr> = WELL_KNOWN_ADDRESSES
        .iter()
        .map(|a| IpAddr::V6(lab.synthesized(*a).unwrap()))
        .collect();
    assert_eq!(query(&lab, "ipv4only.arpa", RecordType::Aaaa), wka);
    assert_eq!(
        query(&lab, "ipv4only.arpa", RecordType::A),
        WELL_KNOWN_ADDRESSES.map(IpAddr::V4)
    );
    assert_eq!(
        query(&lab, "v4only.test", RecordType::Aaaa),
        [IpAddr::V6(synthesized)]
    );
    assert_eq!(NAT64_POOL.1, 24);

    let names = [lab.client_netns().to_owned(), lab.server_netns().to_owned()];
    let pid = lab.nat64_pid().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(lab);
    for name in names {
        assert!(
            !std::path::Path::new("/run/netns").join(&name).exists(),
            "{name} left behind"
        );
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "tayga {pid} still running"
    );
}

#[test]
fn nat64_configurations_are_checked() {
    for (nat64, server) in [
        (Nat64::prefix(v6("64:ff9b::"), 96), "198.18.0.10"),
        (Nat64::prefix(v6("2001:db8:64::"), 33), "198.18.0.10"),
        (Nat64::default(), "2001:db8:64::10"),
        (Nat64::default(), "198.19.64.9"),
    ] {
        let started = Lab::builder()
            .server(server.parse().unwrap(), Behavior::Accept)
            .nat64(nat64)
            .start();
        assert!(
            matches!(started, Err(eyeballs_lab::LabError::Config(_))),
            "{nat64:?} with {server}: {started:?}"
        );
    }
}
