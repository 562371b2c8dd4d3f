//! RFC 8305 §4 (sorting addresses) and RFC 6724 §6 (destination address selection).
//!
//! The first half drives the public `sort_destinations` with the checklist's vectors
//! (V1–V5) and one test per rule; the second half runs the engine on virtual time and compares
//! its complete action log, exactly. Test names carry the requirement IDs of
//! the RFC checklist (`shared/spec/rfc-checklist.md`).

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use common::*;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    sort_destinations, Config, Destination, DnsOutcome, DnsResult, FamilyPreference, PolicyEntry,
    PolicyTable, RecordType, SourceAddr, Target,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test IP address parses")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test socket address parses")
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("test IPv6 address parses")
}

/// A destination with a known source address.
fn via(dest: &str, source: &str) -> Destination {
    Destination::with_source(ip(dest), SourceAddr::Addr(ip(source)))
}

fn unknown(dest: &str) -> Destination {
    Destination::with_source(ip(dest), SourceAddr::Unknown)
}

fn unreachable(dest: &str) -> Destination {
    Destination::with_source(ip(dest), SourceAddr::Unreachable)
}

/// Sorts with `table` and returns the destination addresses as text.
fn sorted_with(dests: &[Destination], table: &PolicyTable) -> Vec<String> {
    let mut v = dests.to_vec();
    sort_destinations(&mut v, table);
    v.iter().map(|d| d.ip.to_string()).collect()
}

/// Sorts with the default RFC 6724 table.
fn sorted(dests: &[Destination]) -> Vec<String> {
    sorted_with(dests, &PolicyTable::rfc6724())
}

fn row(prefix: &str, len: u8, precedence: u8, label: u8) -> PolicyEntry {
    PolicyEntry {
        prefix: v6(prefix),
        len,
        precedence,
        label,
    }
}

/// A table that ranks IPv4 above every IPv6 address.
fn ipv4_first_table() -> PolicyTable {
    PolicyTable::new([
        row("::", 0, 10, 1),
        row("::ffff:0:0", 96, 50, 4),
        row("::1", 128, 60, 0),
    ])
}

/// A race on `addrs`, every attempt black-holed (the simulator's default).
fn addresses<const N: usize>(addrs: [&str; N]) -> Scenario {
    Scenario::target(Target::addresses(addrs.map(sa)).expect("valid addresses"))
}

// ---------------------------------------------------------------------------------------------
// Checklist vectors V1–V5 (HE-4.2 feeds these into the sort)
// ---------------------------------------------------------------------------------------------

#[test]
fn r6724_v1_global_sources_ipv6_first() {
    // Labels match on both sides; rule 6 decides: 40 > 35.
    let dests = [
        via("192.0.2.1", "192.0.2.100"),
        via("2001:db8::1", "2001:db8::100"),
    ];
    assert_eq!(sorted(&dests), ["2001:db8::1", "192.0.2.1"]);
}

#[test]
fn r6724_v2_no_ipv6_source_ipv4_first() {
    // Rule 1: Source(2001:db8::1) is undefined.
    let dests = [unreachable("2001:db8::1"), via("192.0.2.1", "192.0.2.100")];
    assert_eq!(sorted(&dests), ["192.0.2.1", "2001:db8::1"]);
}

#[test]
fn r6724_v3_ula_only_ipv6_source_ipv4_first_by_label() {
    // Rule 5: the ULA source's label 13 differs from the destination's label 1.
    let dests = [
        via("2001:db8::1", "fd00::100"),
        via("198.51.100.1", "198.51.100.100"),
    ];
    assert_eq!(sorted(&dests), ["198.51.100.1", "2001:db8::1"]);
}

#[test]
fn r6724_v4_teredo_destination_ipv4_first() {
    // Native source: rule 5 (Teredo label 5 vs source label 1) puts IPv4 first.
    let dests = [
        via("2001:0:5ef5:79fd::1", "2001:db8::100"),
        via("192.0.2.1", "192.0.2.100"),
    ];
    assert_eq!(sorted(&dests), ["192.0.2.1", "2001:0:5ef5:79fd::1"]);
    // Without sources, rule 6 decides the same way: 5 < 35.
    let dests = [unknown("2001:0:5ef5:79fd::1"), unknown("192.0.2.1")];
    assert_eq!(sorted(&dests), ["192.0.2.1", "2001:0:5ef5:79fd::1"]);
}

#[test]
fn r6724_v5_rule_10_equal_destinations_keep_input_order() {
    // Same /64 as the source: rule 9 is capped at 64 bits, so all three tie.
    let dests = [
        via("2001:db8::3", "2001:db8::100"),
        via("2001:db8::1", "2001:db8::100"),
        via("2001:db8::2", "2001:db8::100"),
    ];
    assert_eq!(
        sorted(&dests),
        ["2001:db8::3", "2001:db8::1", "2001:db8::2"]
    );
    let dests = [
        via("192.0.2.3", "192.0.2.100"),
        via("192.0.2.1", "192.0.2.100"),
        via("192.0.2.2", "192.0.2.100"),
    ];
    assert_eq!(sorted(&dests), ["192.0.2.3", "192.0.2.1", "192.0.2.2"]);
    let dests = [unknown("2001:db8::b"), unknown("2001:db8::a")];
    assert_eq!(sorted(&dests), ["2001:db8::b", "2001:db8::a"]);
}

// ---------------------------------------------------------------------------------------------
// Inputs: R6724-1 … R6724-3, R6724-9
// ---------------------------------------------------------------------------------------------

#[test]
fn r6724_1_ipv4_sorted_together_with_ipv6() {
    // IPv4 lands between the IPv6 destinations, where its precedence 35 puts it.
    let dests = [
        unknown("2001:0:1::1"),
        unknown("192.0.2.1"),
        unknown("2002:c000:201::1"),
        unknown("2001:db8::1"),
    ];
    assert_eq!(
        sorted(&dests),
        [
            "2001:db8::1",
            "192.0.2.1",
            "2002:c000:201::1",
            "2001:0:1::1"
        ]
    );
}

#[test]
fn r6724_1_ipv4_looked_up_ipv4_mapped() {
    let table = PolicyTable::rfc6724();
    assert_eq!(table.lookup(ip("192.0.2.1")), (35, 4));
    assert_eq!(table.lookup(ip("::ffff:192.0.2.1")), (35, 4));
    assert_eq!(table.lookup(ip("10.1.2.3")), (35, 4));
    // A table with a longer row inside ::ffff:0:0/96 applies it to plain IPv4 addresses.
    let table = PolicyTable::new([
        row("::", 0, 40, 1),
        row("::ffff:0:0", 96, 35, 4),
        row("::ffff:c000:200", 120, 45, 9), // 192.0.2.0/24
    ]);
    assert_eq!(table.lookup(ip("192.0.2.77")), (45, 9));
    assert_eq!(table.lookup(ip("192.0.3.77")), (35, 4));
    let dests = [unknown("2001:db8::1"), unknown("192.0.2.77")];
    assert_eq!(sorted_with(&dests, &table), ["192.0.2.77", "2001:db8::1"]);
}

#[test]
fn r6724_2_default_table_longest_prefix_match() {
    let table = PolicyTable::rfc6724();
    let cases = [
        ("::1", (50, 0)),                 // ::1/128 beats ::/96 and ::/0
        ("::2", (1, 3)),                  // ::/96
        ("::c000:201", (1, 3)),           // IPv4-compatible
        ("2001:db8::1", (40, 1)),         // not inside 2001::/32
        ("2001:0:1::1", (5, 5)),          // Teredo
        ("2002:c000:201::1", (30, 2)),    // 6to4
        ("fc00::1", (3, 13)),             // ULA
        ("fdff:ffff::1", (3, 13)),        // ULA
        ("fec0::1", (1, 11)),             // site-local
        ("3ffe::1", (1, 12)),             // 6bone
        ("fe80::1", (40, 1)),             // link-local: ::/0
        ("::ffff:198.51.100.7", (35, 4)), // IPv4-mapped
        ("198.51.100.7", (35, 4)),
    ];
    for (addr, expected) in cases {
        assert_eq!(table.lookup(ip(addr)), expected, "{addr}");
    }
}

#[test]
fn r6724_2_custom_table_rows_in_any_order() {
    let rows = [
        row("::", 0, 40, 1),
        row("2001:db8::", 32, 60, 7),
        row("2001:db8:1::", 48, 10, 8),
    ];
    let forward = PolicyTable::new(rows);
    let mut reversed_rows = rows;
    reversed_rows.reverse();
    let reversed = PolicyTable::new(reversed_rows);
    assert_eq!(forward, reversed);
    let lens: Vec<u8> = forward.entries().iter().map(|e| e.len).collect();
    assert_eq!(lens, [48, 32, 0]);
    for t in [&forward, &reversed] {
        assert_eq!(t.lookup(ip("2001:db8:1::1")), (10, 8));
        assert_eq!(t.lookup(ip("2001:db8:2::1")), (60, 7));
        assert_eq!(t.lookup(ip("2001:db9::1")), (40, 1));
    }
    // No ::/0 row: unmatched addresses get precedence 0 and label 0.
    let partial = PolicyTable::new([row("2001:db8::", 32, 60, 7)]);
    assert_eq!(partial.lookup(ip("2001:db9::1")), (0, 0));
    assert_eq!(partial.lookup(ip("192.0.2.1")), (0, 0));
    // Lengths above 128 count as 128 (an exact match).
    let long = PolicyTable::new([row("2001:db8::1", 200, 60, 7)]);
    assert_eq!(long.entries()[0].len, 128);
    assert_eq!(long.lookup(ip("2001:db8::1")), (60, 7));
    assert_eq!(long.lookup(ip("2001:db8::2")), (0, 0));
}

#[test]
fn r6724_3_default_table_is_rfc6724() {
    assert_eq!(PolicyTable::default(), PolicyTable::rfc6724());
    assert_eq!(Config::default().policy_table, PolicyTable::rfc6724());
    assert_eq!(PolicyTable::rfc6724().entries().len(), 9);
}

#[test]
fn r6724_3_replaced_table_ranks_ipv4_above_ipv6() {
    let dests = [
        unknown("2001:db8::1"),
        unknown("192.0.2.1"),
        unknown("2001:db8::2"),
    ];
    assert_eq!(sorted(&dests), ["2001:db8::1", "2001:db8::2", "192.0.2.1"]);
    assert_eq!(
        sorted_with(&dests, &ipv4_first_table()),
        ["192.0.2.1", "2001:db8::1", "2001:db8::2"]
    );
}

#[test]
fn r6724_3_he_4_2_engine_uses_the_configured_table() {
    // IPv4 sorts first, so IPv4 leads the interleaved list (HE-4.7).
    let scenario = addresses([
        "[2001:db8::a]:443",
        "[2001:db8::b]:443",
        "192.0.2.1:443",
        "192.0.2.2:443",
    ])
    .config(config(|c| c.policy_table = ipv4_first_table()));
    expect(
        scenario,
        &[
            "0 connect #0 192.0.2.1:443",
            "250 connect #1 [2001:db8::a]:443",
            "500 connect #2 192.0.2.2:443",
            "750 connect #3 [2001:db8::b]:443",
        ],
    );
}

#[test]
fn r6724_9_update_draft_table_values() {
    let table = PolicyTable::rfc6724_update_draft();
    assert_eq!(table.lookup(ip("fd00::1")), (30, 13));
    assert_eq!(table.lookup(ip("192.0.2.1")), (20, 4));
    assert_eq!(table.lookup(ip("2002:c000:201::1")), (5, 2));
    assert_eq!(table.lookup(ip("2001:db8::1")), (40, 1));
    assert_eq!(table.lookup(ip("::1")), (50, 0));
}

#[test]
fn r6724_9_update_draft_puts_ula_with_ula_source_above_ipv4() {
    let dests = [
        via("192.0.2.1", "192.0.2.100"),
        via("fd00:1::1", "fd00:1::100"),
    ];
    // Default table: both labels match, rule 6 decides 35 > 3.
    assert_eq!(sorted(&dests), ["192.0.2.1", "fd00:1::1"]);
    // Update draft: 30 > 20.
    assert_eq!(
        sorted_with(&dests, &PolicyTable::rfc6724_update_draft()),
        ["fd00:1::1", "192.0.2.1"]
    );
    // V3 (global destination, ULA-only source) still puts IPv4 first: rule 5.
    let v3 = [
        via("2001:db8::1", "fd00::100"),
        via("198.51.100.1", "198.51.100.100"),
    ];
    assert_eq!(
        sorted_with(&v3, &PolicyTable::rfc6724_update_draft()),
        ["198.51.100.1", "2001:db8::1"]
    );
}

// ---------------------------------------------------------------------------------------------
// The rules, one by one
// ---------------------------------------------------------------------------------------------

#[test]
fn r6724_rule_1_unreachable_last() {
    // Even the loopback (precedence 50) goes after every usable destination.
    let dests = [
        unreachable("::1"),
        unreachable("2001:db8::1"),
        via("2001:db8::3", "2001:db8::100"),
        unknown("192.0.2.1"),
        unknown("2001:db8::2"),
    ];
    assert_eq!(
        sorted(&dests),
        [
            "2001:db8::3",
            "2001:db8::2",
            "192.0.2.1",
            "::1",
            "2001:db8::1"
        ]
    );
}

#[test]
fn r6724_rule_2_matching_scope_beats_precedence() {
    // 2001:db8::1 would win by rule 6, but its source is link-local.
    let dests = [
        via("2001:db8::1", "fe80::1"),
        via("192.0.2.1", "192.0.2.100"),
    ];
    assert_eq!(sorted(&dests), ["192.0.2.1", "2001:db8::1"]);
}

#[test]
fn r6724_rule_2_matching_scope_beats_smaller_scope() {
    // 169.254.1.1 would win by rule 8, but its source is global.
    let dests = [
        via("169.254.1.1", "192.0.2.100"),
        via("192.0.2.1", "192.0.2.100"),
    ];
    assert_eq!(sorted(&dests), ["192.0.2.1", "169.254.1.1"]);
    // With a link-local source it matches, and rule 8 puts it first.
    let dests = [
        via("192.0.2.1", "192.0.2.100"),
        via("169.254.1.1", "169.254.1.100"),
    ];
    assert_eq!(sorted(&dests), ["169.254.1.1", "192.0.2.1"]);
}

#[test]
fn r6724_rule_2_unknown_source_counts_as_matching() {
    // A known scope mismatch loses to an unknown source, in either input order.
    let dests = [via("2001:db8::1", "fe80::1"), unknown("2001:db8::2")];
    assert_eq!(sorted(&dests), ["2001:db8::2", "2001:db8::1"]);
    let dests = [unknown("2001:db8::2"), via("2001:db8::1", "fe80::1")];
    assert_eq!(sorted(&dests), ["2001:db8::2", "2001:db8::1"]);
}

#[test]
fn r6724_rule_5_matching_label_beats_precedence() {
    // The 6to4 source's label 2 matches 2002::/16 and not ::/0 (label 1).
    let dests = [
        via("2001:db8::1", "2002:c000:201::100"),
        via("2002:c000:201::1", "2002:c000:201::100"),
    ];
    assert_eq!(sorted(&dests), ["2002:c000:201::1", "2001:db8::1"]);
}

#[test]
fn r6724_rule_6_precedence_ladder() {
    let dests = [
        unknown("fd00::1"),
        unknown("2001:0:1::1"),
        unknown("2002:c000:201::1"),
        unknown("192.0.2.1"),
        unknown("2001:db8::1"),
        unknown("::1"),
    ];
    assert_eq!(
        sorted(&dests),
        [
            "::1",
            "2001:db8::1",
            "192.0.2.1",
            "2002:c000:201::1",
            "2001:0:1::1",
            "fd00::1"
        ]
    );
}

#[test]
fn r6724_5_rule_8_link_local_before_global() {
    let dests = [unknown("2001:db8::1"), unknown("fe80::1")];
    assert_eq!(sorted(&dests), ["fe80::1", "2001:db8::1"]);
}

#[test]
fn r6724_5_rule_8_multicast_scope_field_and_site_local() {
    let dests = [
        unknown("ff0e::1"),
        unknown("ff05::1"),
        unknown("ff08::1"),
        unknown("ff02::1"),
    ];
    assert_eq!(sorted(&dests), ["ff02::1", "ff05::1", "ff08::1", "ff0e::1"]);
    // Precedence 1 for all three: site-local fec0::/10 (scope 5) before the global ones,
    // which keep their order.
    let dests = [
        unknown("3ffe::1"),
        unknown("::c000:201"),
        unknown("fec0::1"),
    ];
    assert_eq!(sorted(&dests), ["fec0::1", "3ffe::1", "::c000:201"]);
}

#[test]
fn r6724_6_rule_8_ipv4_loopback_and_link_local_are_link_local() {
    // RFC 1918 and 100.64/10 are global: they keep their order after the link-local ones.
    let dests = [
        unknown("192.0.2.1"),
        unknown("10.0.0.1"),
        unknown("169.254.1.1"),
        unknown("100.64.0.1"),
        unknown("127.0.0.1"),
        unknown("172.16.0.1"),
        unknown("192.168.1.1"),
    ];
    assert_eq!(
        sorted(&dests),
        [
            "169.254.1.1",
            "127.0.0.1",
            "192.0.2.1",
            "10.0.0.1",
            "100.64.0.1",
            "172.16.0.1",
            "192.168.1.1"
        ]
    );
}

#[test]
fn r6724_7_rule_9_longest_matching_prefix_first() {
    // 2001:db8:2::1 shares 46 bits with the source, 2001:db8:1::1 shares the whole /64.
    let dests = [
        via("2001:db8:2::1", "2001:db8:1::100"),
        via("2001:db8:1::1", "2001:db8:1::100"),
    ];
    assert_eq!(sorted(&dests), ["2001:db8:1::1", "2001:db8:2::1"]);
}

#[test]
fn r6724_7_rule_9_capped_at_64_bits() {
    // Uncapped, 2001:db8:1::1 shares 119 bits with the source and the other only 64; capped
    // at /64 they tie and keep their order.
    let dests = [
        via("2001:db8:1:0:ffff::1", "2001:db8:1::100"),
        via("2001:db8:1::1", "2001:db8:1::100"),
    ];
    assert_eq!(sorted(&dests), ["2001:db8:1:0:ffff::1", "2001:db8:1::1"]);
}

#[test]
fn d7_rule_9_not_applied_to_ipv4() {
    // 198.51.100.1 shares 25 bits with the source, 192.0.2.1 only 5: no reordering.
    let dests = [
        via("192.0.2.1", "198.51.100.100"),
        via("198.51.100.1", "198.51.100.100"),
    ];
    assert_eq!(sorted(&dests), ["192.0.2.1", "198.51.100.1"]);
}

#[test]
fn r6724_rule_9_unknown_source_shares_no_prefix() {
    // A destination known to share 48 bits with its source goes before one whose source is
    // unknown, in either input order.
    let known = via("2001:db8:1::1", "2001:db8:1::100");
    let dests = [unknown("2001:db8:2::1"), known];
    assert_eq!(sorted(&dests), ["2001:db8:1::1", "2001:db8:2::1"]);
    let dests = [known, unknown("2001:db8:2::1")];
    assert_eq!(sorted(&dests), ["2001:db8:1::1", "2001:db8:2::1"]);
}

#[test]
fn r6724_rule_10_stable_among_unusable() {
    let dests = [
        unreachable("2001:db8::2"),
        unreachable("2001:db8::1"),
        unknown("192.0.2.1"),
    ];
    assert_eq!(sorted(&dests), ["192.0.2.1", "2001:db8::2", "2001:db8::1"]);
}

#[test]
fn r6724_order_does_not_depend_on_input_order_with_unknown_sources() {
    // a < b by rule 6 (35 > 30), b < c by rule 2 (c's source is link-local), c < a by rule 6
    // (40 > 35): a cycle.
    let a = unknown("192.0.2.1");
    let b = via("2002:c000:201::1", "2002:c000:201::100");
    let c = via("2001:db8::1", "fe80::1");
    let perms = [
        [a, b, c],
        [a, c, b],
        [b, a, c],
        [b, c, a],
        [c, a, b],
        [c, b, a],
    ];
    let outputs: BTreeSet<Vec<String>> = perms.iter().map(|p| sorted(p)).collect();
    assert_eq!(outputs.len(), 1, "orders: {outputs:?}");
}

/// 21 destinations: `kinds[i]` picks a v4 with unknown source (0), a 6to4 with matching source
/// (1) or a global v6 with a link-local source (2). Found by a random search; the std sort
/// detects the comparator's inconsistency on this input and panics.
fn cyclic_mix() -> Vec<Destination> {
    let kinds = [
        2, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| match k {
            0 => unknown(&format!("192.0.2.{}", i + 1)),
            1 => via(
                &format!("2002:c000:201::{:x}", i + 1),
                "2002:c000:201::ffff",
            ),
            _ => via(&format!("2001:db8::{:x}", i + 1), "fe80::1"),
        })
        .collect()
}

#[test]
fn r6724_sort_never_panics_on_mixed_unknown_and_known_sources() {
    let mut dests = cyclic_mix();
    sort_destinations(&mut dests, &PolicyTable::rfc6724());
    let got: BTreeSet<String> = dests.iter().map(|d| d.ip.to_string()).collect();
    let want: BTreeSet<String> = cyclic_mix().iter().map(|d| d.ip.to_string()).collect();
    assert_eq!(got, want);
}

#[test]
fn he_4_2_engine_never_panics_on_mixed_unknown_and_known_sources() {
    let mix = cyclic_mix();
    let (aaaa, a): (Vec<Destination>, Vec<Destination>) =
        mix.into_iter().partition(|d| d.ip.is_ipv6());
    assert_eq!((aaaa.len(), a.len()), (5, 16));
    let sim = Scenario::host("example.test", 443)
        .dns(RecordType::Aaaa, ms(0), DnsResult::Addresses(aaaa))
        .dns(RecordType::A, ms(0), DnsResult::Addresses(a))
        .run()
        .expect("scenario sets up");
    let starts: Vec<u128> = sim
        .report
        .attempts
        .iter()
        .map(|a| sim.report.offset(a.started).as_millis())
        .collect();
    assert_eq!(starts, (0..21).map(|i| i * 250).collect::<Vec<u128>>());
}

#[test]
fn r6724_1_ipv4_mapped_destinations_get_ipv4_scope() {
    let plain = [unknown("192.0.2.1"), unknown("169.254.0.1")];
    assert_eq!(sorted(&plain), ["169.254.0.1", "192.0.2.1"]);
    let mapped = [unknown("::ffff:192.0.2.1"), unknown("::ffff:169.254.0.1")];
    assert_eq!(sorted(&mapped), ["::ffff:169.254.0.1", "::ffff:192.0.2.1"]);
}

// ---------------------------------------------------------------------------------------------
// The engine's order (HE-4.x), on virtual time
// ---------------------------------------------------------------------------------------------

#[test]
fn he_4_1_all_addresses_of_both_families_attempted() {
    let scenario = Scenario::host("example.test", 443)
        .answer(
            RecordType::Aaaa,
            ms(0),
            ["2001:db8::a", "2001:db8::b", "2001:db8::c"],
        )
        .answer(
            RecordType::A,
            ms(0),
            ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
        )
        .config(config(|c| c.overall_timeout = Some(ms(2000))));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
            "750 connect #3 192.0.2.2:443",
            "1000 connect #4 [2001:db8::c]:443",
            "1250 connect #5 192.0.2.3:443",
            "2000 abort #0",
            "2000 abort #1",
            "2000 abort #2",
            "2000 abort #3",
            "2000 abort #4",
            "2000 abort #5",
            "2000 done failed: the overall timeout ran out",
        ],
    );
    assert_eq!(sim.report.attempts.len(), 6);
    assert_eq!(sim.report.dropped_endpoints, 0);
}

#[test]
fn he_4_2_engine_skips_unreachable_aaaa_first() {
    // The A answer comes first; the AAAA answer 10 ms later carries an unreachable address
    // first. RFC 6724 rule 1 moves it to the end.
    let scenario = Scenario::host("example.test", 443)
        .dns(
            RecordType::A,
            ms(0),
            DnsResult::Addresses(vec![via("192.0.2.1", "192.0.2.100")]),
        )
        .dns(
            RecordType::Aaaa,
            ms(10),
            DnsResult::Addresses(vec![
                unreachable("2001:db8::1"),
                via("2001:db8::2", "2001:db8::100"),
            ]),
        );
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "10 connect #0 [2001:db8::2]:443",
            "260 connect #1 192.0.2.1:443",
            "510 connect #2 [2001:db8::1]:443",
        ],
    );
}

#[test]
fn he_4_2_r6724_v2_engine_leads_with_ipv4_when_ipv6_is_unreachable() {
    // Every IPv6 address is unreachable: IPv4 sorts first and leads. Interleaving still puts
    // the first (unreachable) IPv6 address second (HE-4.7 applies after the sort).
    let scenario = Scenario::host("example.test", 443)
        .dns(
            RecordType::A,
            ms(0),
            DnsResult::Addresses(vec![
                via("192.0.2.1", "192.0.2.100"),
                via("192.0.2.2", "192.0.2.100"),
            ]),
        )
        .dns(
            RecordType::Aaaa,
            ms(10),
            DnsResult::Addresses(vec![unreachable("2001:db8::1"), unreachable("2001:db8::2")]),
        );
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "10 connect #0 192.0.2.1:443",
            "260 connect #1 [2001:db8::1]:443",
            "510 connect #2 192.0.2.2:443",
            "760 connect #3 [2001:db8::2]:443",
        ],
    );
}

#[test]
fn he_4_2_addresses_target_sorted_with_sources() {
    // V3 through the engine: the ULA-only IPv6 source loses to IPv4 by rule 5.
    let target = Target::addresses([sa("[2001:db8::1]:443"), sa("198.51.100.1:443")])
        .expect("valid addresses")
        .with_source(ip("2001:db8::1"), SourceAddr::Addr(ip("fd00::100")))
        .with_source(ip("198.51.100.1"), SourceAddr::Addr(ip("198.51.100.100")));
    expect(
        Scenario::target(target),
        &[
            "0 connect #0 198.51.100.1:443",
            "250 connect #1 [2001:db8::1]:443",
        ],
    );
}

#[test]
fn he_4_2_dns_sources_ipv4_mapped_are_canonicalized() {
    // Sources in a DNS answer given IPv4-mapped count as IPv4: both scopes match, so rule 8
    // puts the link-local destination first.
    let scenario = Scenario::host("example.test", 443)
        .dns(
            RecordType::A,
            ms(0),
            DnsResult::Addresses(vec![
                via("192.0.2.1", "::ffff:192.0.2.100"),
                via("169.254.0.1", "::ffff:169.254.0.5"),
            ]),
        )
        .dns(RecordType::Aaaa, ms(0), DnsResult::NoData);
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 169.254.0.1:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
}

#[test]
fn he_4_2_target_sources_ipv4_mapped_are_canonicalized() {
    let target = Target::addresses([sa("192.0.2.1:443"), sa("169.254.0.1:443")])
        .expect("valid addresses")
        .with_source(ip("192.0.2.1"), SourceAddr::Addr(ip("::ffff:192.0.2.100")))
        .with_source(
            ip("169.254.0.1"),
            SourceAddr::Addr(ip("::ffff:169.254.0.5")),
        );
    expect(
        Scenario::target(target),
        &[
            "0 connect #0 169.254.0.1:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
}

#[test]
fn he_4_7_interleave_families() {
    let expected = [
        "0 connect #0 [2001:db8::a]:443",
        "250 connect #1 192.0.2.1:443",
        "500 connect #2 [2001:db8::b]:443",
        "750 connect #3 192.0.2.2:443",
        "1000 connect #4 [2001:db8::c]:443",
    ];
    // [6a, 6b, 6c, 4a, 4b] becomes [6a, 4a, 6b, 4b, 6c].
    expect(
        addresses([
            "[2001:db8::a]:443",
            "[2001:db8::b]:443",
            "[2001:db8::c]:443",
            "192.0.2.1:443",
            "192.0.2.2:443",
        ]),
        &expected,
    );
    // IPv4 given first: RFC 6724 puts IPv6 first, then the families interleave.
    expect(
        addresses([
            "192.0.2.1:443",
            "192.0.2.2:443",
            "[2001:db8::a]:443",
            "[2001:db8::b]:443",
            "[2001:db8::c]:443",
        ]),
        &expected,
    );
}

#[test]
fn he_4_7_interleave_families_from_dns() {
    let scenario = Scenario::host("example.test", 443)
        .answer(
            RecordType::Aaaa,
            ms(0),
            ["2001:db8::a", "2001:db8::b", "2001:db8::c"],
        )
        .answer(RecordType::A, ms(0), ["192.0.2.1", "192.0.2.2"]);
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
            "750 connect #3 192.0.2.2:443",
            "1000 connect #4 [2001:db8::c]:443",
        ],
    );
}

#[test]
fn he_4_8_first_address_family_count_two() {
    let scenario = addresses([
        "[2001:db8::a]:443",
        "[2001:db8::b]:443",
        "[2001:db8::c]:443",
        "192.0.2.1:443",
        "192.0.2.2:443",
    ])
    .config(config(|c| c.first_address_family_count = 2));
    expect(
        scenario,
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 [2001:db8::b]:443",
            "500 connect #2 192.0.2.1:443",
            "750 connect #3 [2001:db8::c]:443",
            "1000 connect #4 192.0.2.2:443",
        ],
    );
}

#[test]
fn he_4_8_d2_after_the_leading_run_families_alternate_one_by_one() {
    let scenario = Scenario::host("example.test", 443)
        .answer(
            RecordType::Aaaa,
            ms(0),
            [
                "2001:db8::a",
                "2001:db8::b",
                "2001:db8::c",
                "2001:db8::d",
                "2001:db8::e",
            ],
        )
        .answer(RecordType::A, ms(0), ["192.0.2.1", "192.0.2.2"])
        .config(config(|c| c.first_address_family_count = 2));
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 [2001:db8::b]:443",
            "500 connect #2 192.0.2.1:443",
            "750 connect #3 [2001:db8::c]:443",
            "1000 connect #4 192.0.2.2:443",
            "1250 connect #5 [2001:db8::d]:443",
            "1500 connect #6 [2001:db8::e]:443",
        ],
    );
}

#[test]
fn he_4_8_count_larger_than_the_leading_family() {
    let scenario = addresses(["192.0.2.1:443", "[2001:db8::a]:443", "192.0.2.2:443"])
        .config(config(|c| c.first_address_family_count = 5));
    expect(
        scenario,
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 192.0.2.2:443",
        ],
    );
}

#[test]
fn he_2_2_prefer_ipv4_queries_a_first_and_ipv4_leads() {
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::A, ms(0), ["192.0.2.1", "192.0.2.2"])
        .config(config(|c| c.family = FamilyPreference::PreferIpv4));
    expect(
        scenario,
        &[
            "0 resolve q0 A",
            "0 resolve q1 AAAA",
            "0 connect #0 192.0.2.1:443",
            "250 connect #1 [2001:db8::a]:443",
            "500 connect #2 192.0.2.2:443",
            "750 connect #3 [2001:db8::b]:443",
        ],
    );
}

#[test]
fn he_2_2_prefer_ipv4_waits_the_resolution_delay_for_a() {
    // AAAA answers first: with PreferIpv4 the engine waits for A (HE-3.6 with roles swapped),
    // which arrives at 20 ms, inside the 50 ms Resolution Delay.
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a"])
        .answer(RecordType::A, ms(20), ["192.0.2.1"])
        .config(config(|c| c.family = FamilyPreference::PreferIpv4));
    expect(
        scenario,
        &[
            "0 resolve q0 A",
            "0 resolve q1 AAAA",
            "20 connect #0 192.0.2.1:443",
            "270 connect #1 [2001:db8::a]:443",
        ],
    );
}

#[test]
fn he_2_2_prefer_ipv4_addresses_and_unusable_ipv4() {
    let scenario = addresses(["[2001:db8::a]:443", "[2001:db8::b]:443", "192.0.2.1:443"])
        .config(config(|c| c.family = FamilyPreference::PreferIpv4));
    expect(
        scenario,
        &[
            "0 connect #0 192.0.2.1:443",
            "250 connect #1 [2001:db8::a]:443",
            "500 connect #2 [2001:db8::b]:443",
        ],
    );
    // No usable IPv4 address: the first address after sorting leads.
    let target = Target::addresses([sa("192.0.2.1:443"), sa("[2001:db8::a]:443")])
        .expect("valid addresses")
        .with_source(ip("192.0.2.1"), SourceAddr::Unreachable);
    let scenario =
        Scenario::target(target).config(config(|c| c.family = FamilyPreference::PreferIpv4));
    expect(
        scenario,
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
}

#[test]
fn he_2_2_ipv6_only_queries_and_attempts_ipv6_only() {
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a"])
        .answer(RecordType::A, ms(0), ["192.0.2.1"])
        .default_behavior(Behavior::refuses(ms(1)))
        .config(config(|c| c.family = FamilyPreference::Ipv6Only));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 connect #0 [2001:db8::a]:443",
            "1 done failed: every connection attempt failed",
        ],
    );
    assert_eq!(sim.report.queries.len(), 1);
}

#[test]
fn he_2_2_ipv4_only_queries_and_attempts_ipv4_only() {
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a"])
        .answer(RecordType::A, ms(0), ["192.0.2.1"])
        .default_behavior(Behavior::refuses(ms(1)))
        .config(config(|c| c.family = FamilyPreference::Ipv4Only));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 A",
            "0 connect #0 192.0.2.1:443",
            "1 done failed: every connection attempt failed",
        ],
    );
    assert_eq!(sim.report.queries.len(), 1);
}

#[test]
fn he_2_2_ipv4_only_filters_an_addresses_target() {
    let scenario = addresses([
        "[2001:db8::a]:443",
        "192.0.2.1:443",
        "[2001:db8::b]:443",
        "192.0.2.2:443",
    ])
    .config(config(|c| c.family = FamilyPreference::Ipv4Only));
    let sim = expect(
        scenario,
        &["0 connect #0 192.0.2.1:443", "250 connect #1 192.0.2.2:443"],
    );
    assert_eq!(sim.report.dropped_endpoints, 0);
}

#[test]
fn ports_every_address_on_the_first_port_before_the_second() {
    let target =
        Target::host_with_ports("example.test", &[443, 8443]).expect("valid host and ports");
    let scenario = Scenario::target(target)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::A, ms(0), ["192.0.2.1"]);
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
            "750 connect #3 [2001:db8::a]:8443",
            "1000 connect #4 192.0.2.1:8443",
            "1250 connect #5 [2001:db8::b]:8443",
        ],
    );
}

#[test]
fn ports_ip_literal_with_several_ports() {
    let target = Target::host_with_ports("2001:db8::1", &[443, 80]).expect("valid literal");
    expect(
        Scenario::target(target),
        &[
            "0 connect #0 [2001:db8::1]:443",
            "250 connect #1 [2001:db8::1]:80",
        ],
    );
}

#[test]
fn ports_addresses_target_keeps_the_callers_port_order() {
    // All ports of an addresses target share one rank: the endpoints are sorted and
    // interleaved as given, with no port grouping.
    expect(
        addresses([
            "[2001:db8::a]:443",
            "[2001:db8::a]:8443",
            "192.0.2.1:443",
            "192.0.2.1:8443",
        ]),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::a]:8443",
            "750 connect #3 192.0.2.1:8443",
        ],
    );
    expect(
        addresses(["[2001:db8::a]:8443", "192.0.2.1:443", "[2001:db8::a]:443"]),
        &[
            "0 connect #0 [2001:db8::a]:8443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::a]:443",
        ],
    );
}

#[test]
fn max_endpoints_drops_the_lowest_ranked_addresses() {
    // Interleaved: [6a, 4a, 6b, 4b, 6c]; the cap keeps the first three.
    let scenario = addresses([
        "[2001:db8::a]:443",
        "[2001:db8::b]:443",
        "[2001:db8::c]:443",
        "192.0.2.1:443",
        "192.0.2.2:443",
    ])
    .config(config(|c| c.max_endpoints = 3));
    let sim = expect(
        scenario,
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
        ],
    );
    assert_eq!(sim.report.dropped_endpoints, 2);
}

#[test]
fn max_endpoints_counts_attempted_endpoints_from_dns() {
    // AAAA fills the cap and 6a is attempted; the A answer makes five: 4b and 6c go.
    let scenario = Scenario::host("example.test", 443)
        .answer(
            RecordType::Aaaa,
            ms(0),
            ["2001:db8::a", "2001:db8::b", "2001:db8::c"],
        )
        .answer(RecordType::A, ms(0), ["192.0.2.1", "192.0.2.2"])
        .config(config(|c| c.max_endpoints = 3));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
        ],
    );
    assert_eq!(sim.report.dropped_endpoints, 2);
}

#[test]
fn max_endpoints_drops_from_the_last_port_first() {
    let target = Target::host_with_ports("example.test", &[443, 80]).expect("valid host and ports");
    let scenario = Scenario::target(target)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::A, ms(0), ["192.0.2.1"])
        .config(config(|c| c.max_endpoints = 4));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
            "750 connect #3 [2001:db8::a]:80",
        ],
    );
    assert_eq!(sim.report.dropped_endpoints, 2);
}

#[test]
fn max_endpoints_counts_each_dropped_endpoint_once() {
    // AAAA fills the cap of 2; the A answer makes three, interleaved [6a, 4a, 6b]: 6b goes.
    // Two unchanged updates of the AAAA answer bring 6b again; it stays dropped, counted once.
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::A, ms(0), ["192.0.2.1"])
        .answer(RecordType::Aaaa, ms(100), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::Aaaa, ms(200), ["2001:db8::a", "2001:db8::b"])
        .config(config(|c| c.max_endpoints = 2));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
    assert_eq!(sim.report.dropped_endpoints, 1);
    assert_eq!(sim.report.queries[0].beyond_cap, 0);
}

#[test]
fn max_endpoints_caps_each_answer_before_sorting() {
    // An answer with more usable addresses than the cap keeps the first ones in answer order
    // (so that a driver probes no more than that); the rest are counted per query, once per
    // answer, and never become endpoints.
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::Aaaa, ms(100), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::Aaaa, ms(200), ["2001:db8::a", "2001:db8::b"])
        .answer(RecordType::A, ms(0), [])
        .config(config(|c| c.max_endpoints = 1));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
        ],
    );
    assert_eq!(sim.report.dropped_endpoints, 0);
    assert_eq!(sim.report.queries[0].addresses, [ip("2001:db8::a")]);
    assert_eq!(sim.report.queries[0].beyond_cap, 1);
}

#[test]
fn duplicates_in_dns_answers_attempted_once() {
    let scenario = Scenario::host("example.test", 443)
        .answer(
            RecordType::Aaaa,
            ms(0),
            ["2001:db8::a", "2001:db8::a", "2001:db8::b", "2001:db8:0::a"],
        )
        .answer(
            RecordType::A,
            ms(0),
            ["192.0.2.1", "::ffff:192.0.2.1", "192.0.2.2", "192.0.2.1"],
        );
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 [2001:db8::b]:443",
            "750 connect #3 192.0.2.2:443",
        ],
    );
    assert_eq!(
        sim.report.queries[0].addresses,
        [ip("2001:db8::a"), ip("2001:db8::b")]
    );
    assert_eq!(
        sim.report.queries[1].addresses,
        [ip("192.0.2.1"), ip("192.0.2.2")]
    );
}

#[test]
fn duplicates_in_addresses_target_attempted_once() {
    let target = Target::addresses([
        sa("192.0.2.1:443"),
        sa("[2001:db8::a]:443"),
        sa("192.0.2.1:443"),
        sa("[::ffff:192.0.2.1]:443"),
        sa("[2001:db8::a]:443"),
    ])
    .expect("valid addresses");
    assert_eq!(target.ips(), [ip("192.0.2.1"), ip("2001:db8::a")]);
    let sim = expect(
        Scenario::target(target),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
        ],
    );
    assert_eq!(sim.report.dropped_endpoints, 0);
}

#[test]
fn ipv4_mapped_addresses_in_target_are_ipv4() {
    let target = Target::addresses([
        sa("[::ffff:192.0.2.1]:443"),
        sa("[::ffff:192.0.2.2]:443"),
        sa("[2001:db8::a]:443"),
    ])
    .expect("valid addresses");
    assert_eq!(
        target.ips(),
        [ip("192.0.2.1"), ip("192.0.2.2"), ip("2001:db8::a")]
    );
    expect(
        Scenario::target(target.clone()),
        &[
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 192.0.2.2:443",
        ],
    );
    // They are IPv4 for the family filter too.
    expect(
        Scenario::target(target).config(config(|c| c.family = FamilyPreference::Ipv4Only)),
        &["0 connect #0 192.0.2.1:443", "250 connect #1 192.0.2.2:443"],
    );
}

#[test]
fn ipv4_mapped_addresses_in_dns_answers_are_ipv4() {
    // A mapped address is IPv4 wherever it comes from: in an A answer, and in an AAAA answer
    // (as getaddrinfo with AI_V4MAPPED gives), where it joins the IPv4 addresses.
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["::ffff:192.0.2.9", "2001:db8::a"])
        .answer(RecordType::A, ms(0), ["::ffff:192.0.2.1"]);
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "250 connect #1 192.0.2.9:443",
            "500 connect #2 192.0.2.1:443",
        ],
    );
    assert_eq!(
        sim.report.queries[0].addresses,
        [ip("192.0.2.9"), ip("2001:db8::a")]
    );
    assert_eq!(sim.report.queries[1].addresses, [ip("192.0.2.1")]);
}

#[test]
fn unspecified_and_multicast_answers_ignored() {
    let scenario = Scenario::host("example.test", 443)
        .answer(
            RecordType::Aaaa,
            ms(0),
            ["::", "ff02::1", "ff0e::1", "2001:db8::a"],
        )
        .answer(
            RecordType::A,
            ms(0),
            ["0.0.0.0", "224.0.0.1", "239.255.255.250", "::ffff:0.0.0.0"],
        )
        .default_behavior(Behavior::refuses(ms(1)));
    let sim = expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::a]:443",
            "1 done failed: every connection attempt failed",
        ],
    );
    assert_eq!(sim.report.queries[0].addresses, [ip("2001:db8::a")]);
    assert_eq!(sim.report.queries[0].outcome, Some(DnsOutcome::Addresses));
    assert!(sim.report.queries[1].addresses.is_empty());
    assert_eq!(sim.report.queries[1].outcome, Some(DnsOutcome::NoData));
}

#[test]
fn only_unusable_answers_means_no_addresses() {
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::Aaaa, ms(0), ["::", "ff02::1"])
        .answer(RecordType::A, ms(5), ["0.0.0.0"]);
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "5 done failed: name resolution gave no usable address",
        ],
    );
}

#[test]
fn r6724_rule_10_engine_keeps_the_order_addresses_became_known() {
    expect(
        addresses(["192.0.2.3:443", "192.0.2.1:443", "192.0.2.2:443"]),
        &[
            "0 connect #0 192.0.2.3:443",
            "250 connect #1 192.0.2.1:443",
            "500 connect #2 192.0.2.2:443",
        ],
    );
    let scenario = Scenario::host("example.test", 443)
        .answer(
            RecordType::Aaaa,
            ms(0),
            ["2001:db8::c", "2001:db8::a", "2001:db8::b"],
        )
        .answer(RecordType::A, ms(0), []);
    expect(
        scenario,
        &[
            "0 resolve q0 AAAA",
            "0 resolve q1 A",
            "0 connect #0 [2001:db8::c]:443",
            "250 connect #1 [2001:db8::a]:443",
            "500 connect #2 [2001:db8::b]:443",
        ],
    );
}
