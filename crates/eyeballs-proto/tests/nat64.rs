//! IPv6-only networks with NAT64 (RFC 8305 §7, HEv3 §8, RFC 6052) and the queries a network's
//! connectivity calls for (V3-4.1.1): `Config::network` as the driver reports it. Virtual
//! time, exact timestamps.

mod common;

use std::net::Ipv4Addr;

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{DnsResult, FamilyPreference, Network, Pref64, RecordType, Target};

fn v6_only_wkp() -> eyeballs_proto::Config {
    config(|c| c.network = Network::ipv6_only([Pref64::WELL_KNOWN]))
}

fn local_prefix() -> Pref64 {
    Pref64::new("2001:db8:64::".parse().unwrap(), 96).unwrap()
}

/// HE-7.1.1, HE-7.1.2, V3-8.1: an IPv4 literal on an IPv6-only network is attempted at its
/// synthesized address; the report says which IPv4 address it stands for.
#[test]
fn he_7_1_2_an_ipv4_literal_is_synthesized_with_the_prefix() {
    let sim = expect(
        Scenario::host("192.0.2.1", 80)
            .config(v6_only_wkp())
            .default_behavior(Behavior::Connects(ms(3))),
        &["0 connect #0 [64:ff9b::c000:201]:80", "3 done connected #0"],
    );
    assert_eq!(
        sim.report.attempts[0].via_nat64,
        Some(Ipv4Addr::new(192, 0, 2, 1))
    );
}

/// V3-8.1.1: `127.0.0.0/8` (and 0/8, 169.254/16, the broadcast address) are never
/// synthesized: loopback works without any route.
#[test]
fn v3_8_1_1_loopback_is_not_synthesized() {
    let sim = expect(
        Scenario::host("127.0.0.1", 80)
            .config(v6_only_wkp())
            .default_behavior(Behavior::Connects(ms(1))),
        &["0 connect #0 127.0.0.1:80", "1 done connected #0"],
    );
    assert_eq!(sim.report.attempts[0].via_nat64, None);
}

/// V3-8.2.2, V3-8.2.4: with a prefix known, a host name gets an A query besides AAAA, and A
/// records are synthesized locally (no DNS64 needed).
#[test]
fn v3_8_2_2_a_records_are_queried_and_synthesized() {
    expect(
        Scenario::host("v4only.test", 443)
            .config(v6_only_wkp())
            .answer(RecordType::A, ms(5), ["192.0.2.33"])
            .dns(RecordType::Aaaa, ms(5), DnsResult::NoData)
            .default_behavior(Behavior::Connects(ms(2))),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "5 connect #0 [64:ff9b::c000:221]:443",
            "7 done connected #0",
        ],
    );
}

/// A synthesized address counts as IPv4 for the race's rules and is sorted as the IPv4
/// address it stands for (V3ED-8.2.a): an A answer first waits the Resolution Delay for AAAA
/// (HE-3.6), native IPv6 leads (RFC 6724 precedence 40 over 35), the NAT64 path is next.
#[test]
fn synthesized_addresses_wait_for_aaaa_and_interleave_as_ipv4() {
    expect(
        Scenario::host("dual.test", 443)
            .config(v6_only_wkp())
            .answer(RecordType::A, ms(0), ["192.0.2.1"])
            .answer(RecordType::Aaaa, ms(20), ["2001:db8::1", "2001:db8::2"])
            .behavior("[2001:db8::1]:443", Behavior::refuses(ms(5)))
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "20 connect #0 [2001:db8::1]:443",
            // Refused at 25; the floor puts the next start 10 ms after the first (HE-5.10).
            "30 connect #1 [64:ff9b::c000:201]:443",
            "280 connect #2 [2001:db8::2]:443",
        ],
    );
}

/// V3-8.3.1: IPv6 only and no prefix known: DNS64 is assumed, so AAAA only.
#[test]
fn v3_8_3_1_no_prefix_means_aaaa_only() {
    expect(
        Scenario::host("dns64.test", 80)
            .config(config(|c| c.network = Network::ipv6_only([])))
            .answer(RecordType::Aaaa, ms(4), ["64:ff9b::c000:201"])
            .default_behavior(Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 AAAA",
            "4 connect #0 [64:ff9b::c000:201]:80",
            "5 done connected #0",
        ],
    );
}

/// V3-4.1.1, V3-4.2.5: an IPv4-only network sends A only, and IPv4 leads.
#[test]
fn v3_4_1_1_an_ipv4_only_network_queries_a_only() {
    expect(
        Scenario::host("v4.test", 80)
            .config(config(|c| c.network = Network::ipv4_only()))
            .answer(RecordType::A, ms(3), ["192.0.2.1"])
            .default_behavior(Behavior::Connects(ms(1))),
        &[
            "0 resolve q0 A",
            "3 connect #0 192.0.2.1:80",
            "4 done connected #0",
        ],
    );
}

/// HE-7.1.2 "one or more": every prefix gives an endpoint, in the prefixes' order.
#[test]
fn every_prefix_gives_an_endpoint() {
    expect(
        Scenario::host("192.0.2.1", 80)
            .config(config(|c| {
                c.network = Network::ipv6_only([local_prefix(), Pref64::WELL_KNOWN])
            }))
            .default_behavior(Behavior::refuses(ms(1))),
        &[
            "0 connect #0 [2001:db8:64::c000:201]:80",
            "10 connect #1 [64:ff9b::c000:201]:80",
            "11 done failed: every connection attempt failed",
        ],
    );
}

/// An IPv4 address reached through NAT64 is an IPv6 endpoint: `Ipv6Only` allows it.
#[test]
fn ipv6_only_config_accepts_a_synthesized_literal() {
    let mut c = v6_only_wkp();
    c.family = FamilyPreference::Ipv6Only;
    expect(
        Scenario::target(Target::addresses([sa("192.0.2.1:80")]).unwrap())
            .config(c)
            .default_behavior(Behavior::Connects(ms(1))),
        &["0 connect #0 [64:ff9b::c000:201]:80", "1 done connected #0"],
    );
}

/// HE-7.2: a dual-stack network uses no NAT64 even with a prefix configured.
#[test]
fn he_7_2_dual_stack_never_synthesizes() {
    expect(
        Scenario::host("192.0.2.1", 80)
            .config(config(|c| {
                c.network = Network {
                    pref64: vec![Pref64::WELL_KNOWN],
                    ..Network::default()
                }
            }))
            .default_behavior(Behavior::Connects(ms(1))),
        &["0 connect #0 192.0.2.1:80", "1 done connected #0"],
    );
}

/// V3ED-8.2.b: with PREF64 known, an AAAA answer under the prefix (a DNS64 synthesis) is
/// recognized: it counts as the IPv4 address it embeds, so it sorts after native IPv6 and
/// interleaves as IPv4, and the report names that address.
#[test]
fn v3ed_8_2_b_dns64_answers_are_recognized_by_the_prefix() {
    let sim = expect(
        Scenario::host("dns64.test", 443)
            .config(v6_only_wkp())
            .answer(
                RecordType::Aaaa,
                ms(1),
                ["64:ff9b::c000:201", "64:ff9b::c000:202", "2001:db8::1"],
            )
            .dns(RecordType::A, ms(1), DnsResult::NoData)
            .default_behavior(Behavior::BlackHole),
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "1 connect #0 [2001:db8::1]:443",
            "251 connect #1 [64:ff9b::c000:201]:443",
            "501 connect #2 [64:ff9b::c000:202]:443",
        ],
    );
    assert_eq!(sim.report.attempts[0].via_nat64, None);
    assert_eq!(
        sim.report.attempts[1].via_nat64,
        Some(Ipv4Addr::new(192, 0, 2, 1))
    );
}
