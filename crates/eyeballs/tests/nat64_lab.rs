//! NAT64 in the network lab (root): an IPv6-only client namespace, the lab's IPv4 servers
//! behind a real translator (TAYGA) in the server namespace, and the lab's DNS answering
//! `ipv4only.arpa` with the synthesized Well-Known Addresses. The driver discovers the
//! prefix (RFC 7050) and the connectivity (netlink) itself, and the engine connects to IPv4
//! names and literals through their synthesized addresses (RFC 8305 §7, HEv3 §8).
#![cfg(feature = "hickory")]

mod common;

#[path = "common/lab.rs"]
mod lab;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use eyeballs::network::{
    detect_connectivity, detect_network, discover_pref64, Connectivity, DiscoveryError, Pref64,
};
use eyeballs::proto::Network;
use eyeballs::resolver::HickoryResolver;
use eyeballs::Connector;
use eyeballs_lab::nat64::WELL_KNOWN_ADDRESSES;
use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, Lab, LabBuilder, Nat64, RecordType};
use lab::*;

const V4ONLY: &str = "v4only.test";
const DUAL: &str = "dual.test";

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// A NAT64 lab (`nat64`) with `V4A` accepting, `V6A` black-holed, `v4only.test` = A `V4A`
/// and `dual.test` = AAAA `V6A` + A `V4A`; `None` without root.
fn nat64_lab(test: &str, nat64: Nat64, more: impl FnOnce(LabBuilder) -> LabBuilder) -> Option<Lab> {
    lab_with(
        test,
        &[(V4A, Behavior::Accept), (V6A, Behavior::BlackHole)],
        |b| {
            more(
                b.nat64(nat64)
                    .dns(
                        V4ONLY,
                        DnsRecords {
                            a: vec![v4(V4A)],
                            aaaa: vec![],
                        },
                    )
                    .dns(
                        DUAL,
                        DnsRecords {
                            a: vec![v4(V4A)],
                            aaaa: vec![v6(V6A)],
                        },
                    ),
            )
        },
    )
}

/// The lab's DNS server over IPv6 (the client has no IPv4), one attempt of at most 1 s.
fn lab_resolver(lab: &Lab) -> HickoryResolver {
    HickoryResolver::new([lab.dns_server_v6()])
        .timeout(Duration::from_secs(1))
        .attempts(1)
}

/// A current-thread runtime for the client namespace's thread.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What a race in the client namespace gave: the winner, and each attempt's address,
/// start and NAT64 origin.
#[derive(Debug)]
struct Raced {
    winner: Option<SocketAddr>,
    winner_via: Option<Ipv4Addr>,
    attempts: Vec<(SocketAddr, Duration, Option<Ipv4Addr>)>,
    error: Option<String>,
}

/// Detects the network in the client namespace, then connects to `host` with it.
fn race(lab: &Lab, host: &'static str) -> (Network, Raced) {
    let resolver = lab_resolver(lab);
    lab.run_in_client(move || {
        let rt = runtime();
        rt.block_on(async move {
            let network = detect_network(&resolver).await;
            let connector = Connector::new()
                .resolver(resolver)
                .network(network.clone())
                .resolve_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(5));
            let result = connector.connect(host, PORT).await;
            let (report, error) = match &result {
                Ok(c) => (Some(c.report().race().clone()), None),
                Err(e) => (e.report().map(|r| r.race().clone()), Some(e.to_string())),
            };
            let report = report.unwrap();
            let t0 = report.started;
            let raced = Raced {
                winner: report.winner().map(|w| w.endpoint.addr),
                winner_via: report.winner().and_then(|w| w.via_nat64),
                attempts: report
                    .attempts
                    .iter()
                    .map(|a| (a.endpoint.addr, a.started - t0, a.via_nat64))
                    .collect(),
                error,
            };
            (network, raced)
        })
    })
    .unwrap()
}

/// Drops the lab and checks that its namespaces and its translator are gone.
fn teardown(lab: Lab) {
    let names = [lab.client_netns().to_owned(), lab.server_netns().to_owned()];
    let tayga = lab.nat64_pid();
    drop(lab);
    for name in names {
        assert!(
            !std::path::Path::new("/run/netns").join(&name).exists(),
            "namespace {name} left behind"
        );
    }
    if let Some(pid) = tayga {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "tayga ({pid}) left running"
        );
    }
}

/// V3-4.1.1, HE-7.2, R7050-2, R7050-3: in the IPv6-only client namespace the connectivity
/// is IPv6 without IPv4 (and IPv4 is really unreachable), and the AAAA query for
/// `ipv4only.arpa`, answered by the lab's DNS64, gives the translator's prefix.
#[test]
fn r7050_2_discovery_in_an_ipv6_only_namespace() {
    let Some(lab) = nat64_lab(
        "r7050_2_discovery_in_an_ipv6_only_namespace",
        Nat64::default(),
        |b| b,
    ) else {
        return;
    };
    let resolver = lab_resolver(&lab);
    let (connectivity, found, network, v4_connect) = lab
        .run_in_client(move || {
            let rt = runtime();
            let v4_connect = std::net::TcpStream::connect_timeout(
                &SocketAddr::new(v4(V4A).into(), PORT),
                Duration::from_secs(1),
            )
            .map(drop)
            .map_err(|e| e.raw_os_error());
            rt.block_on(async {
                (
                    detect_connectivity().unwrap(),
                    discover_pref64(&resolver).await,
                    detect_network(&resolver).await,
                    v4_connect,
                )
            })
        })
        .unwrap();
    assert_eq!(
        connectivity,
        Connectivity {
            ipv6: true,
            ipv4: false
        }
    );
    assert_eq!(v4_connect, Err(Some(libc_enetunreach())), "no IPv4 route");
    let prefix = Pref64::new(v6("2001:db8:64::"), 96).unwrap();
    assert_eq!(found, Ok(vec![prefix]));
    assert_eq!(network, Network::ipv6_only([prefix]));
    // At least once (the resolver may answer the second discovery from its cache).
    assert!(lab.dns_query_count("ipv4only.arpa", RecordType::Aaaa) >= 1);
    teardown(lab);
}

/// `ENETUNREACH` on Linux.
fn libc_enetunreach() -> i32 {
    101
}

/// HE-7.2: on a dual-stack network (the plain lab) nothing of NAT64 happens: no
/// `ipv4only.arpa` query, no prefix.
#[test]
fn he_7_2_dual_stack_sends_no_ipv4only_arpa_query() {
    let Some(lab) = lab_with("he_7_2_dual_stack_sends_no_ipv4only_arpa_query", &[], |b| b) else {
        return;
    };
    let resolver = lab_resolver(&lab);
    let (connectivity, network) = lab
        .run_in_client(move || {
            let rt = runtime();
            rt.block_on(async {
                (
                    detect_connectivity().unwrap(),
                    detect_network(&resolver).await,
                )
            })
        })
        .unwrap();
    assert_eq!(
        connectivity,
        Connectivity {
            ipv6: true,
            ipv4: true
        }
    );
    assert_eq!(network, Network::default());
    assert_eq!(lab.dns_query_count("ipv4only.arpa", RecordType::Aaaa), 0);
    teardown(lab);
}

/// R7050-6 in the lab: the DNS answers `ipv4only.arpa` with SERVFAIL (an error) or
/// NODATA (no NAT64): either way the IPv6-only network has no prefix (V3-8.3.1).
#[test]
fn r7050_6_a_failed_or_empty_discovery_gives_no_prefix() {
    let Some(lab) = nat64_lab(
        "r7050_6_a_failed_or_empty_discovery_gives_no_prefix",
        Nat64::default(),
        |b| {
            b.dns(
                "ipv4only.arpa",
                DnsRecords {
                    a: WELL_KNOWN_ADDRESSES.to_vec(),
                    aaaa: vec![],
                },
            )
            .dns_behavior("ipv4only.arpa", RecordType::Aaaa, DnsBehavior::servfail())
        },
    ) else {
        return;
    };
    let resolver = lab_resolver(&lab);
    let (found, network) = lab
        .run_in_client(move || {
            let rt = runtime();
            rt.block_on(async {
                (
                    discover_pref64(&resolver).await,
                    detect_network(&resolver).await,
                )
            })
        })
        .unwrap();
    assert_eq!(found, Err(DiscoveryError::ServFail));
    assert_eq!(network, Network::ipv6_only([]));
    teardown(lab);

    // NODATA (the name's AAAA list is empty and answered as is).
    let Some(lab) = nat64_lab(
        "r7050_6_a_failed_or_empty_discovery_gives_no_prefix",
        Nat64::default(),
        |b| {
            b.dns(
                "ipv4only.arpa",
                DnsRecords {
                    a: WELL_KNOWN_ADDRESSES.to_vec(),
                    aaaa: vec![],
                },
            )
        },
    ) else {
        return;
    };
    let resolver = lab_resolver(&lab);
    let found = lab
        .run_in_client(move || {
            let rt = runtime();
            rt.block_on(async { discover_pref64(&resolver).await })
        })
        .unwrap();
    assert_eq!(found, Ok(vec![]));
    teardown(lab);
}

/// HE-7.1.2, V3-8.2.2, V3-8.2.4: a name with only an A record, reached through TAYGA at its
/// synthesized address; the report says which IPv4 address the winner stands for.
#[test]
fn he_7_1_2_an_ipv4_only_name_through_the_translator() {
    let Some(lab) = nat64_lab(
        "he_7_1_2_an_ipv4_only_name_through_the_translator",
        Nat64::default(),
        |b| b,
    ) else {
        return;
    };
    let (network, raced) = race(&lab, V4ONLY);
    eprintln!("{raced:?}");
    assert!(network.synthesizes(), "{network:?}");
    let synthesized = lab.synthesized(v4(V4A)).unwrap();
    assert_eq!(synthesized, v6("2001:db8:64::c612:a"));
    assert_eq!(
        raced.winner,
        Some(SocketAddr::new(synthesized.into(), PORT)),
        "{raced:?}"
    );
    assert_eq!(raced.winner_via, Some(v4(V4A)));
    assert_eq!(raced.attempts.len(), 1, "{raced:?}");
    // V3-8.2.2: with a prefix known, the A query was sent.
    assert_eq!(lab.dns_query_count(V4ONLY, RecordType::A), 1);
    eventually("the IPv4 server accepted", || {
        lab.accepted_count(v4(V4A).into()) == 1
    });
    teardown(lab);
}

/// HE-7.1.1, HE-7.1.2: an IPv4 literal on the IPv6-only network, through TAYGA.
#[test]
fn he_7_1_1_an_ipv4_literal_through_the_translator() {
    let Some(lab) = nat64_lab(
        "he_7_1_1_an_ipv4_literal_through_the_translator",
        Nat64::default(),
        |b| b,
    ) else {
        return;
    };
    let (_, raced) = race(&lab, V4A);
    eprintln!("{raced:?}");
    let synthesized = lab.synthesized(v4(V4A)).unwrap();
    assert_eq!(
        raced.winner,
        Some(SocketAddr::new(synthesized.into(), PORT)),
        "{raced:?}"
    );
    assert_eq!(raced.winner_via, Some(v4(V4A)));
    assert!(raced.error.is_none(), "{raced:?}");
    eventually("the IPv4 server accepted", || {
        lab.accepted_count(v4(V4A).into()) == 1
    });
    teardown(lab);
}

/// R7050-3 and R6052-2 end to end at another length: a /56 prefix (the IPv4 octets split
/// around the "u" octet) is discovered, and TAYGA translates with it.
#[test]
fn r7050_3_a_56_prefix_is_discovered_and_used() {
    let nat64 = Nat64::prefix(v6("2001:db8:64:6400::"), 56);
    let Some(lab) = nat64_lab("r7050_3_a_56_prefix_is_discovered_and_used", nat64, |b| b) else {
        return;
    };
    let (network, raced) = race(&lab, V4ONLY);
    eprintln!("{raced:?}");
    let prefix = Pref64::new(v6("2001:db8:64:6400::"), 56).unwrap();
    assert_eq!(network, Network::ipv6_only([prefix]));
    let synthesized = prefix.embed(v4(V4A));
    assert_eq!(Some(synthesized), lab.synthesized(v4(V4A)));
    assert_eq!(
        raced.winner,
        Some(SocketAddr::new(synthesized.into(), PORT)),
        "{raced:?}"
    );
    teardown(lab);
}

/// V3-8.2.2 with HE-5.7: a dual-stack name whose native IPv6 address is black-holed: the
/// native attempt first, the synthesized one a Connection Attempt Delay (250 ms) later,
/// and it wins through TAYGA.
#[test]
fn v3_8_2_2_black_holed_native_ipv6_falls_back_to_nat64() {
    let Some(lab) = nat64_lab(
        "v3_8_2_2_black_holed_native_ipv6_falls_back_to_nat64",
        Nat64::default(),
        |b| b,
    ) else {
        return;
    };
    let (_, raced) = race(&lab, DUAL);
    eprintln!("{raced:?}");
    let synthesized = SocketAddr::new(lab.synthesized(v4(V4A)).unwrap().into(), PORT);
    let native = SocketAddr::new(IpAddr::V6(v6(V6A)), PORT);
    let addrs: Vec<_> = raced.attempts.iter().map(|a| (a.0, a.2)).collect();
    assert_eq!(
        addrs,
        [(native, None), (synthesized, Some(v4(V4A)))],
        "{raced:?}"
    );
    let (first, second) = (raced.attempts[0].1, raced.attempts[1].1);
    assert_near(
        second - first,
        Duration::from_millis(250),
        "the NAT64 attempt after the native one",
    );
    assert_eq!(raced.winner, Some(synthesized), "{raced:?}");
    assert_eq!(raced.winner_via, Some(v4(V4A)));
    teardown(lab);
}

/// What an `auto_network` connector held after its races: the network, and its refresh
/// and expiry measured from its detection.
type Kept = (Network, Duration, Duration);

fn kept(cache: Option<&eyeballs::network::NetworkCache>) -> Kept {
    let cached = cache
        .and_then(|c| c.cached())
        .expect("a detection is cached");
    (
        cached.network,
        cached.refresh_at - cached.detected_at,
        cached.expires_at - cached.detected_at,
    )
}

/// R7050-7: a connector with `auto_network` detects the IPv6-only network before its first
/// race and keeps the prefix for the TTL of the lab's answer (300 s: rediscovered at
/// 290 s, not the 60 s kept without a TTL), for the tokio and the blocking connector.
#[test]
fn r7050_7_auto_network_keeps_the_prefix_for_its_ttl() {
    let Some(lab) = nat64_lab(
        "r7050_7_auto_network_keeps_the_prefix_for_its_ttl",
        Nat64::default(),
        |b| b,
    ) else {
        return;
    };
    let resolver = lab_resolver(&lab);
    let blocking_resolver = lab_resolver(&lab);
    let (winners, tokio_kept, blocking_kept) = lab
        .run_in_client(move || {
            let rt = runtime();
            let connector = Connector::new()
                .resolver(resolver)
                .auto_network()
                .timeout(Duration::from_secs(5));
            let mut winners = Vec::new();
            for _ in 0..2 {
                let connection = rt.block_on(connector.connect(V4ONLY, PORT)).unwrap();
                winners.push(
                    connection
                        .report()
                        .race()
                        .winner()
                        .and_then(|w| w.via_nat64),
                );
            }
            let tokio_kept = kept(connector.network_cache());
            let blocking = eyeballs::blocking::Connector::new()
                .resolver(blocking_resolver)
                .auto_network()
                .timeout(Duration::from_secs(5));
            let connection = blocking.connect(V4ONLY, PORT).unwrap();
            winners.push(
                connection
                    .report()
                    .race()
                    .winner()
                    .and_then(|w| w.via_nat64),
            );
            (winners, tokio_kept, kept(blocking.network_cache()))
        })
        .unwrap();
    let prefix = Pref64::new(v6("2001:db8:64::"), 96).unwrap();
    let ttl = u64::from(eyeballs_lab::dns::TTL);
    assert_eq!(
        winners,
        vec![Some(v4(V4A)); 3],
        "every race went through NAT64"
    );
    for (driver, (network, refresh, expires)) in
        [("tokio", tokio_kept), ("blocking", blocking_kept)]
    {
        assert_eq!(network, Network::ipv6_only([prefix]), "{driver}");
        // The resolver's clock may have run a little since the answer came.
        let near = |d: Duration, want: u64| {
            d <= Duration::from_secs(want)
                && d + Duration::from_secs(2) >= Duration::from_secs(want)
        };
        assert!(
            near(refresh, ttl - 10) && near(expires, ttl),
            "{driver}: refresh {refresh:?}, expiry {expires:?}"
        );
    }
    // One discovery per connector (hickory's own cache would hide a second one of the
    // tokio connector; the schedule above is the cache's own evidence).
    assert_eq!(lab.dns_query_count("ipv4only.arpa", RecordType::Aaaa), 2);
    teardown(lab);
}
