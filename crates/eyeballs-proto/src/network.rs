//! What the driver knows of the network a race runs on ([`Network`]): which families have a
//! route, and the NAT64 prefixes in use. The engine decides from it which queries to send
//! (V3-4.1.1), which family it prefers (V3-4.2.5), and whether IPv4 addresses are reached
//! through NAT64 (RFC 8305 §7, HEv3 §8): on a network with IPv6 and no IPv4 route, an IPv4
//! address (a literal, the caller's, an A record) becomes one IPv6 address per prefix
//! (RFC 6052), raced like any other.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::FamilyPreference;
use crate::endpoint::Family;
use crate::nat64::Pref64;

/// The network a race runs on, as its driver sees it.
///
/// Default: both families routed, no NAT64 prefix (a dual-stack host; what the engine
/// assumed before it was told anything, RFC 8305).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Network {
    /// Whether the host has IPv6 connectivity: an address of the family that is neither
    /// loopback nor link-local, and a route that is not link-local (V3-4.1.1).
    pub ipv6: bool,
    /// Whether the host has IPv4 connectivity, the same way.
    pub ipv4: bool,
    /// The NAT64 prefixes of the network (from the router's PREF64 option, RFC 8781, from
    /// RFC 7050 discovery, or configured), in the order to use them. Only used on a network
    /// with IPv6 and no IPv4 connectivity.
    pub pref64: Vec<Pref64>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            ipv6: true,
            ipv4: true,
            pref64: Vec::new(),
        }
    }
}

impl Network {
    /// A network with IPv6 only and these NAT64 prefixes (none: DNS64 is assumed, V3-8.3.1).
    pub fn ipv6_only(pref64: impl IntoIterator<Item = Pref64>) -> Self {
        Network {
            ipv6: true,
            ipv4: false,
            pref64: pref64.into_iter().collect(),
        }
    }

    /// A network with IPv4 only.
    pub fn ipv4_only() -> Self {
        Network {
            ipv6: false,
            ipv4: true,
            pref64: Vec::new(),
        }
    }

    /// Whether IPv4 addresses are reached through NAT64 here: IPv6 and no IPv4 connectivity,
    /// and a prefix known (HE-7.1, V3-8.2.1).
    pub fn synthesizes(&self) -> bool {
        self.ipv6 && !self.ipv4 && !self.pref64.is_empty()
    }

    /// The caller's family preference on this network: unchanged when both families (or
    /// neither) have connectivity; else led by the family that has it (V3-4.2.5). A family
    /// the caller excludes stays excluded.
    pub(crate) fn preference(&self, caller: FamilyPreference) -> FamilyPreference {
        match (self.ipv6, self.ipv4) {
            (true, true) | (false, false) => caller,
            (true, false) if caller.allows(Family::V6) && caller != FamilyPreference::Ipv6Only => {
                FamilyPreference::PreferIpv6
            }
            (false, true) if caller.allows(Family::V4) && caller != FamilyPreference::Ipv4Only => {
                FamilyPreference::PreferIpv4
            }
            _ => caller,
        }
    }

    /// Whether to send the address query of `family` (V3-4.1.1, V3ED-4.1.a): for a family
    /// with connectivity; for IPv4 also when its addresses are reached through NAT64
    /// (V3-8.2.2); for both when neither has any (nothing is known, nothing is lost).
    pub(crate) fn queries(&self, family: Family) -> bool {
        match family {
            Family::V6 => self.ipv6 || !self.ipv4,
            Family::V4 => self.ipv4 || !self.ipv6 || self.synthesizes(),
        }
    }

    /// The addresses that stand for `ip` on this network: `ip` itself, unless it is IPv4 and
    /// reached through NAT64, then one IPv6 address per prefix. IPv4 addresses the NAT64
    /// cannot stand for are never synthesized (V3-8.1.1: `0.0.0.0/8`, `127.0.0.0/8`,
    /// `169.254.0.0/16`, `255.255.255.255`) and stay as they are. An IPv6 address under a
    /// known prefix (a DNS64 answer) is itself, and stands for the IPv4 address it embeds
    /// (V3ED-8.2.b: checked against PREF64, sorted and interleaved as IPv4).
    pub(crate) fn reach(&self, ip: IpAddr) -> Reach<'_> {
        match ip {
            IpAddr::V4(v4) if self.synthesizes() && !never_synthesized(v4) => {
                Reach::Synthesized(v4, self.pref64.iter())
            }
            IpAddr::V6(v6) => {
                let embedded = self.pref64.iter().find_map(|p| p.extract(v6));
                Reach::Direct(Some((ip, embedded)))
            }
            IpAddr::V4(_) => Reach::Direct(Some((ip, None))),
        }
    }
}

/// What [`Network::reach`] gives: the address itself, or its synthesized forms.
pub(crate) enum Reach<'a> {
    /// The address itself, with the IPv4 address it embeds if it is a DNS64 synthesis.
    Direct(Option<(IpAddr, Option<Ipv4Addr>)>),
    Synthesized(Ipv4Addr, std::slice::Iter<'a, Pref64>),
}

impl Iterator for Reach<'_> {
    /// An address to connect to, and the IPv4 address it was synthesized from.
    type Item = (IpAddr, Option<Ipv4Addr>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Reach::Direct(direct) => direct.take(),
            Reach::Synthesized(v4, prefixes) => {
                let v6: Ipv6Addr = prefixes.next()?.embed(*v4);
                Some((IpAddr::V6(v6), Some(*v4)))
            }
        }
    }
}

/// The IPv4 ranges never synthesized (V3-8.1.1).
fn never_synthesized(ip: Ipv4Addr) -> bool {
    ip.octets()[0] == 0 || ip.is_loopback() || ip.is_link_local() || ip.is_broadcast()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failure is the report.
mod tests {
    use super::*;

    fn v6_only() -> Network {
        Network::ipv6_only([
            Pref64::WELL_KNOWN,
            Pref64::new("2001:db8:64::".parse().unwrap(), 96).unwrap(),
        ])
    }

    #[test]
    fn v3_4_1_1_queries_follow_connectivity() {
        let dual = Network::default();
        assert!(dual.queries(Family::V6) && dual.queries(Family::V4));
        let v4 = Network::ipv4_only();
        assert!(!v4.queries(Family::V6) && v4.queries(Family::V4));
        // V3-8.3.1: IPv6 only, no prefix: DNS64 is assumed, AAAA only.
        let dns64 = Network::ipv6_only([]);
        assert!(dns64.queries(Family::V6) && !dns64.queries(Family::V4));
        // V3-8.2.2: a prefix known: A as well, to synthesize locally.
        assert!(v6_only().queries(Family::V4));
        let unknown = Network {
            ipv6: false,
            ipv4: false,
            pref64: Vec::new(),
        };
        assert!(unknown.queries(Family::V6) && unknown.queries(Family::V4));
    }

    #[test]
    fn v3_4_2_5_the_family_with_connectivity_leads() {
        use FamilyPreference::*;
        assert_eq!(Network::ipv4_only().preference(PreferIpv6), PreferIpv4);
        assert_eq!(v6_only().preference(PreferIpv4), PreferIpv6);
        assert_eq!(Network::default().preference(PreferIpv4), PreferIpv4);
        // The caller's exclusions stand.
        assert_eq!(Network::ipv4_only().preference(Ipv6Only), Ipv6Only);
        assert_eq!(v6_only().preference(Ipv4Only), Ipv4Only);
    }

    #[test]
    fn he_7_1_2_an_ipv4_address_is_reached_through_every_prefix() {
        let got: Vec<_> = v6_only().reach("192.0.2.1".parse().unwrap()).collect();
        let v4 = Some(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(
            got,
            [
                ("64:ff9b::c000:201".parse().unwrap(), v4),
                ("2001:db8:64::c000:201".parse().unwrap(), v4),
            ]
        );
        // Dual-stack: no synthesis.
        let direct: Vec<_> = Network::default()
            .reach("192.0.2.1".parse().unwrap())
            .collect();
        assert_eq!(direct, [("192.0.2.1".parse().unwrap(), None)]);
    }

    #[test]
    fn v3_8_1_1_some_ranges_are_never_synthesized() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "169.254.169.254",
            "255.255.255.255",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                v6_only().reach(ip).collect::<Vec<_>>(),
                [(ip, None)],
                "{ip}"
            );
        }
    }
}
