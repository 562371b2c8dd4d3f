//! RFC 6724 §6 destination address selection (HE-4.2, R6724-1 … R6724-7).
//!
//! Rules 1, 2, 5, 6, 8, 9 and 10 are applied. Rule 3 (deprecated sources) and rule 4 (home
//! addresses) need facts about the source address that no portable API gives, and treat every
//! source as preferred, as R6724-6 says for IPv4; rule 7 (native transport) cannot be told
//! from an address and is left to the policy table, whose 6to4 and Teredo rows already rank
//! those transports low. Rule 9 applies to IPv6 pairs only, as in Go (checklist D7).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::net::{IpAddr, Ipv6Addr};

use crate::dns::{Destination, SourceAddr};
use crate::history::PathFacts;

/// One row of a policy table (RFC 6724 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyEntry {
    /// The prefix, IPv4 addresses written IPv4-mapped (`::ffff:0:0/96`).
    pub prefix: Ipv6Addr,
    /// The prefix length in bits, 0 to 128.
    pub len: u8,
    /// The precedence: higher sorts first (rule 6).
    pub precedence: u8,
    /// The label: destinations whose label equals their source's sort first (rule 5).
    pub label: u8,
}

/// A policy table: longest-prefix match gives each address a precedence and a label
/// (R6724-2, R6724-3).
///
/// The engine sorts destinations by RFC 6724 §6 (HE-4.2, R6724-1 … R6724-7; see also
/// [`sort_destinations`](crate::sort_destinations)). Rules 1, 2, 5, 6, 8, 9 and 10 are
/// applied. Rule 3 (deprecated sources) and rule 4 (home addresses) need facts about the
/// source address that no portable API gives, and treat every source as preferred, as R6724-6
/// says for IPv4; rule 7 (native transport) cannot be told from an address and is left to the
/// policy table, whose 6to4 and Teredo rows already rank those transports low. Rule 9 applies
/// to IPv6 pairs only, as in Go (checklist D7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyTable {
    /// Sorted longest prefix first, so the first match is the longest. The built-in tables
    /// are borrowed from statics, so that cloning a [`Config`](crate::Config) (once per race
    /// in the drivers) copies a pointer rather than allocating.
    entries: Cow<'static, [PolicyEntry]>,
}

impl PolicyTable {
    /// A table from rows, in any order. Prefix lengths above 128 are treated as 128. An
    /// address that matches no row (possible only without a `::/0` row) gets precedence 0
    /// and label 0.
    pub fn new(entries: impl IntoIterator<Item = PolicyEntry>) -> Self {
        let mut entries: Vec<PolicyEntry> = entries
            .into_iter()
            .map(|mut e| {
                e.len = e.len.min(128);
                e
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.len));
        PolicyTable {
            entries: Cow::Owned(entries),
        }
    }

    /// The default policy table of RFC 6724 §2.1.
    pub fn rfc6724() -> Self {
        PolicyTable {
            entries: Cow::Borrowed(&RFC6724),
        }
    }

    /// The table proposed by draft-ietf-6man-rfc6724-update (R6724-9): ULAs (fc00::/7) above
    /// IPv4, IPv4 at 20, 6to4 at 5. Known-local ULA prefixes are not added automatically.
    pub fn rfc6724_update_draft() -> Self {
        PolicyTable {
            entries: Cow::Borrowed(&RFC6724_UPDATE_DRAFT),
        }
    }

    /// The rows, longest prefix first.
    pub fn entries(&self) -> &[PolicyEntry] {
        &self.entries
    }

    /// Precedence and label of `ip` (IPv4 looked up IPv4-mapped, R6724-1).
    pub fn lookup(&self, ip: IpAddr) -> (u8, u8) {
        let ip = as_u128(ip);
        self.entries
            .iter()
            .find(|e| prefix_matches(e.prefix, e.len, ip))
            .map_or((0, 0), |e| (e.precedence, e.label))
    }
}

impl Default for PolicyTable {
    fn default() -> Self {
        Self::rfc6724()
    }
}

/// One row of a built-in table.
const fn row(prefix: Ipv6Addr, len: u8, precedence: u8, label: u8) -> PolicyEntry {
    PolicyEntry {
        prefix,
        len,
        precedence,
        label,
    }
}

/// The prefix `s::` (only the first 16 bits set).
const fn seg0(s: u16) -> Ipv6Addr {
    Ipv6Addr::new(s, 0, 0, 0, 0, 0, 0, 0)
}

/// The table of RFC 6724 §2.1, in the order [`PolicyTable::new`] puts it: longest prefix
/// first, rows of one length in the RFC's order (a test checks it against the RFC's rows).
static RFC6724: [PolicyEntry; 9] = [
    row(Ipv6Addr::LOCALHOST, 128, 50, 0),
    row(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, 35, 4),
    row(Ipv6Addr::UNSPECIFIED, 96, 1, 3),
    row(seg0(0x2001), 32, 5, 5),
    row(seg0(0x2002), 16, 30, 2),
    row(seg0(0x3ffe), 16, 1, 12),
    row(seg0(0xfec0), 10, 1, 11),
    row(seg0(0xfc00), 7, 3, 13),
    row(Ipv6Addr::UNSPECIFIED, 0, 40, 1),
];

/// The table of draft-ietf-6man-rfc6724-update, ordered as [`RFC6724`] is.
static RFC6724_UPDATE_DRAFT: [PolicyEntry; 9] = [
    row(Ipv6Addr::LOCALHOST, 128, 50, 0),
    row(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, 20, 4),
    row(Ipv6Addr::UNSPECIFIED, 96, 1, 3),
    row(seg0(0x2001), 32, 5, 5),
    row(seg0(0x2002), 16, 5, 2),
    row(seg0(0x3ffe), 16, 1, 12),
    row(seg0(0xfec0), 10, 1, 11),
    row(seg0(0xfc00), 7, 30, 13),
    row(Ipv6Addr::UNSPECIFIED, 0, 40, 1),
];

/// `ip` as the 128 bits of its IPv6 form, IPv4 IPv4-mapped (R6724-1). Converted once per
/// lookup, in each arm, so that the compiler loads each form whole rather than byte by byte.
fn as_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V6(v6) => u128::from(v6),
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
    }
}

fn prefix_matches(prefix: Ipv6Addr, len: u8, ip: u128) -> bool {
    (u128::from(prefix) ^ ip).leading_zeros() >= u32::from(len)
}

fn common_prefix_len(a: Ipv6Addr, b: Ipv6Addr) -> u32 {
    (u128::from(a) ^ u128::from(b)).leading_zeros()
}

/// Scope values of RFC 6724 §3.1 / RFC 4291 (R6724-5, R6724-6).
fn scope(ip: IpAddr) -> u8 {
    const LINK_LOCAL: u8 = 0x2;
    const SITE_LOCAL: u8 = 0x5;
    const GLOBAL: u8 = 0xe;
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() || v4.is_link_local() {
                LINK_LOCAL
            } else {
                GLOBAL
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_multicast() {
                (s[0] & 0x000f) as u8
            } else if v6.is_loopback() || (s[0] & 0xffc0) == 0xfe80 {
                LINK_LOCAL
            } else if (s[0] & 0xffc0) == 0xfec0 {
                SITE_LOCAL
            } else {
                GLOBAL
            }
        }
    }
}

/// The rules of RFC 6724 §6 for one destination, as a key: sorting by it applies rules 1 to 9
/// in order, and with a stable sort rule 10.
///
/// A key per destination, rather than a comparison of two destinations, makes the order total
/// whatever mix of known and unknown sources comes in, so the result never depends on the
/// input order (and Rust's sort never meets an inconsistent order). Two choices make that so:
/// - an unknown source ([`SourceAddr::Unknown`]) counts as matching the destination's scope
///   and label (rules 2 and 5): nothing says it will not;
/// - rule 9's common prefix length is 0 unless both destination and source are IPv6 (checklist
///   D7). An IPv4 and an IPv6 destination reach rule 9 only when a custom policy table gives
///   them the same precedence; there the IPv6 one with a shared prefix goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SortKey {
    /// Rule 1: false (first) when a source exists or is not known.
    unusable: bool,
    /// Rule 2.
    scope_mismatch: bool,
    /// Rule 5.
    label_mismatch: bool,
    /// Rule 6: higher precedence first.
    precedence: Reverse<u8>,
    /// Rule 8: smaller scope first.
    scope: u8,
    /// The RTT rule between rules 8 and 9 (HE-4.3, V3-5.3.2): an endpoint with an RTT
    /// estimate before one without, a lower smoothed RTT first. `None` without history.
    rtt: RttRank,
    /// The used-address rule after it (HE-4.4): the endpoint that won the host's latest race
    /// first.
    not_used: bool,
    /// Rule 9: longer common prefix first.
    prefix_len: Reverse<u32>,
}

/// Where the RTT rule puts an endpoint: known estimates first, lower ones first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RttRank {
    Known(std::time::Duration),
    Unknown,
}

impl SortKey {
    pub(crate) fn new(dest: &Destination, table: &PolicyTable) -> Self {
        let dest = dest.canonical();
        let (precedence, label) = table.lookup(dest.ip);
        let scope_d = scope(dest.ip);
        let (unusable, source) = match dest.source {
            SourceAddr::Unknown => (false, None),
            SourceAddr::Unreachable => (true, None),
            SourceAddr::Addr(s) => (false, Some(s)),
        };
        let prefix_len = match (dest.ip, source) {
            // R6724-7: CommonPrefixLen is capped at the source's prefix length, taken as /64.
            (IpAddr::V6(d), Some(IpAddr::V6(s))) => common_prefix_len(s, d).min(64),
            _ => 0,
        };
        SortKey {
            unusable,
            scope_mismatch: source.is_some_and(|s| scope(s) != scope_d),
            label_mismatch: source.is_some_and(|s| table.lookup(s).1 != label),
            precedence: Reverse(precedence),
            scope: scope_d,
            rtt: RttRank::Unknown,
            not_used: true,
            prefix_len: Reverse(prefix_len),
        }
    }

    /// The key with what history knows about the endpoint (see [`History`]): a recent
    /// failure makes it unusable (rule 1: "known to be unreachable"), an RTT estimate and
    /// the used mark rank it between rules 8 and 9 (HE-4.3, HE-4.4).
    pub(crate) fn with_history(mut self, facts: &PathFacts) -> Self {
        self.unusable |= facts.failed.is_some();
        if let Some(rtt) = facts.rtt {
            self.rtt = RttRank::Known(rtt.srtt);
        }
        self.not_used = !facts.used;
        self
    }

    /// Whether the host can reach the destination at all (rule 1).
    pub(crate) fn is_usable(&self) -> bool {
        !self.unusable
    }
}

/// Sorts destinations by RFC 6724 §6, stably (rule 10).
pub fn sort_destinations(dests: &mut [Destination], table: &PolicyTable) {
    let mut keyed: Vec<(SortKey, Destination)> =
        dests.iter().map(|d| (SortKey::new(d, table), *d)).collect();
    keyed.sort_by_key(|k| k.0);
    for (slot, (_, d)) in dests.iter_mut().zip(keyed) {
        *slot = d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(rows: &[([u16; 8], u8, u8, u8)]) -> PolicyTable {
        PolicyTable::new(rows.iter().map(|&(s, len, precedence, label)| PolicyEntry {
            prefix: Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
            len,
            precedence,
            label,
        }))
    }

    /// R6724-3: the built-in table is the RFC's, row for row, in the order `new` gives it.
    #[test]
    fn r6724_3_default_table_is_rfc_6724_section_2_1() {
        let rfc = rows(&[
            ([0, 0, 0, 0, 0, 0, 0, 1], 128, 50, 0),
            ([0, 0, 0, 0, 0, 0, 0, 0], 0, 40, 1),
            ([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, 35, 4),
            ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, 30, 2),
            ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, 5, 5),
            ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, 3, 13),
            ([0, 0, 0, 0, 0, 0, 0, 0], 96, 1, 3),
            ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, 1, 11),
            ([0x3ffe, 0, 0, 0, 0, 0, 0, 0], 16, 1, 12),
        ]);
        assert_eq!(PolicyTable::rfc6724().entries(), rfc.entries());
        assert_eq!(PolicyTable::rfc6724(), rfc);
    }

    /// R6724-9: the draft's table, row for row.
    #[test]
    fn r6724_9_update_draft_table() {
        let draft = rows(&[
            ([0, 0, 0, 0, 0, 0, 0, 1], 128, 50, 0),
            ([0, 0, 0, 0, 0, 0, 0, 0], 0, 40, 1),
            ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, 30, 13),
            ([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, 20, 4),
            ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, 5, 2),
            ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, 5, 5),
            ([0, 0, 0, 0, 0, 0, 0, 0], 96, 1, 3),
            ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, 1, 11),
            ([0x3ffe, 0, 0, 0, 0, 0, 0, 0], 16, 1, 12),
        ]);
        assert_eq!(
            PolicyTable::rfc6724_update_draft().entries(),
            draft.entries()
        );
        assert_eq!(
            format!("{:?}", PolicyTable::rfc6724_update_draft()),
            format!("{draft:?}")
        );
    }
}
