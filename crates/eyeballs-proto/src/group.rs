//! Service groups (HEv3 §5.2): which ServiceMode record an endpoint belongs to, and where
//! its group goes in the attempt order.

use crate::dns::QueryId;
use crate::endpoint::Protocol;
use crate::report::QueryRecord;
use crate::service::ServiceRecord;

/// Where an endpoint's group goes: groups of usable ServiceMode records first, lower
/// priority first (V3-5.2.1, V3-5.2.2), equal priorities in the seed's order (V3-5.2.3);
/// then endpoints no record speaks for (V3-5.2.4). Without service records, every endpoint is
/// in one group (V3-5.1.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Group {
    unassociated: bool,
    priority: u16,
    tiebreak: u64,
    /// The record, by its index in the report's services (it does not order: the tiebreak
    /// already tells records of one priority apart).
    service: Option<usize>,
}

impl Group {
    /// The record the endpoint belongs to, by its index in the report's services.
    pub(crate) fn service(self) -> Option<usize> {
        self.service
    }
}

/// What the engine knows of each ServiceMode record of the report, in the same order: the
/// name whose addresses it stands for (`None`: the host's own) and over which transports the
/// caller speaks one of its protocols (V3-6.2.2).
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceTargets {
    targets: Vec<(Option<String>, Transports)>,
}

impl ServiceTargets {
    pub(crate) fn push(&mut self, target: Option<String>, transports: Transports) {
        self.targets.push((target, transports));
    }

    /// The name the endpoints of `query` are addresses of: `None` for the host's own (its
    /// address queries, and the caller's own addresses, `query` `None`), else the other
    /// name a query asked about.
    fn name_of(query: Option<QueryId>, queries: &[QueryRecord]) -> Option<&Option<String>> {
        const OWN: &Option<String> = &None;
        match query {
            None => Some(OWN),
            Some(q) => queries.get(q.index()).map(|q| &q.name),
        }
    }

    /// Whether a record for the name `query` asked about speaks one of the caller's QUIC
    /// protocols: its endpoints get QUIC twins (HEv3 §6).
    pub(crate) fn speaks_quic(&self, query: Option<QueryId>, queries: &[QueryRecord]) -> bool {
        let Some(name) = Self::name_of(query, queries) else {
            return false;
        };
        self.targets.iter().any(|(t, ways)| ways.quic && t == name)
    }

    /// The group of an endpoint of `protocol` brought by `query` (`None`: the caller's own
    /// address): records count for the transports they can be spoken over.
    pub(crate) fn group(
        &self,
        query: Option<QueryId>,
        protocol: Protocol,
        queries: &[QueryRecord],
        services: &[ServiceRecord],
        seed: u64,
    ) -> Group {
        if self.targets.is_empty() {
            return Group::default();
        }
        let Some(name) = Self::name_of(query, queries) else {
            return Group::default();
        };
        let best = self
            .targets
            .iter()
            .zip(services)
            .enumerate()
            .filter(|(_, ((target, ways), _))| ways.carries(protocol) && target == name)
            .map(|(i, (_, service))| Group {
                unassociated: false,
                priority: service.priority,
                tiebreak: shuffle(seed, i as u64),
                service: Some(i),
            })
            .min();
        best.unwrap_or(Group {
            unassociated: true,
            ..Group::default()
        })
    }
}

/// Over which transports the caller can speak to a service (V3-6.2.2): TCP (with TLS) when
/// one of its protocols is one the caller speaks over TCP, QUIC when one is one it speaks
/// over QUIC ([`Config::alpn`](crate::Config::alpn), [`Config::quic_alpn`](crate::Config::quic_alpn)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Transports {
    pub(crate) tcp: bool,
    pub(crate) quic: bool,
}

impl Transports {
    /// How the caller speaks to `service`: over QUIC if it offers one of `quic_alpn`; over
    /// TCP if it offers another protocol that `tcp_alpn` has (empty: any).
    pub(crate) fn of(service: &ServiceRecord, tcp_alpn: &[String], quic_alpn: &[String]) -> Self {
        let over_quic = |p: &str| quic_alpn.iter().any(|q| q == p);
        Transports {
            quic: service.protocols().any(over_quic),
            tcp: service
                .protocols()
                .any(|p| !over_quic(p) && (tcp_alpn.is_empty() || tcp_alpn.iter().any(|t| t == p))),
        }
    }

    /// Whether the service can be used at all.
    pub(crate) fn any(self) -> bool {
        self.tcp || self.quic
    }

    fn carries(self, protocol: Protocol) -> bool {
        match protocol {
            Protocol::Quic => self.quic,
            _ => self.tcp,
        }
    }
}

/// A stable pseudo-random rank of record `i` under `seed` (SplitMix64's finalizer): records
/// of equal priority are ordered by it, a fair shuffle for any seed.
fn shuffle(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// V3-5.2.3: over seeds, two records of one priority come in both orders, about as
    /// often each.
    #[test]
    fn v3_5_2_3_equal_priorities_are_shuffled_by_the_seed() {
        let first = (0..1000u64)
            .filter(|&seed| shuffle(seed, 0) < shuffle(seed, 1))
            .count();
        assert!((400..=600).contains(&first), "{first} of 1000");
        assert_eq!(shuffle(7, 1), shuffle(7, 1));
    }
}
