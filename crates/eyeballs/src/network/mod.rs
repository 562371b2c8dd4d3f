//! What the connector needs to know of the network it runs on ([`Network`]): which
//! families have connectivity ([`detect_connectivity`], V3-4.1.1) and, on an IPv6-only
//! network, the NAT64 prefixes ([`discover_pref64`], RFC 7050), combined by
//! [`detect_network`] and kept fresh by a [`NetworkCache`] (R7050-7).
//!
//! The engine does the rest (RFC 8305 §7, HEv3 §8): given a network with IPv6, no IPv4 and
//! a prefix, it sends the A query too (V3-8.2.2) and reaches every IPv4 address (a literal,
//! an A record, an `ipv4hint`) through its synthesized IPv6 address (RFC 6052, HE-7.1.2).
//!
//! ```no_run
//! # async fn example() -> Result<(), eyeballs::Error> {
//! // Detected before the first race, kept for the prefix's DNS TTL and re-detected
//! // 10 s before it runs out, forgotten when the network changes.
//! let connector = eyeballs::Connector::new().auto_network();
//! let connection = connector
//!     .connect("198.51.100.7", 443) // through NAT64 on an IPv6-only network
//!     .await?;
//! # drop(connection);
//! # Ok(())
//! # }
//! ```
//!
//! Or once, by hand: `Connector::new().network(detect_network(&resolver).await)`.

mod cache;
mod pref64;
mod routes;

pub use cache::{
    CachedNetwork, NetworkCache, DEFAULT_LIFETIME, MAX_LIFETIME, MIN_LIFETIME, REFRESH_AHEAD,
    RETRY_AFTER_FAILURE,
};
pub use eyeballs_proto::{Network, Pref64};
pub use pref64::{
    discover_pref64, discover_pref64_blocking, discover_pref64_within, pref64_from_answer,
    DiscoveryError, DEFAULT_DISCOVERY_TIMEOUT, WELL_KNOWN_ADDRESSES, WELL_KNOWN_NAME,
};
pub use routes::{detect_connectivity, Connectivity};

use crate::resolver::Resolver;
use cache::{Detected, Freshness};

/// The network the calling thread is on: its connectivity ([`detect_connectivity`]) and,
/// when it has IPv6 and no IPv4 (the HE-7.2 / V3-8.0.1 heuristic), the NAT64 prefixes
/// learnt through `resolver` ([`discover_pref64`], RFC 7050). For
/// [`Connector::network`](crate::Connector::network).
///
/// - Dual-stack, IPv4-only, or neither: no `ipv4only.arpa` query, no prefix (HE-7.2:
///   NAT64 features only where NAT64 is detected).
/// - IPv6-only: the prefixes found. None found (no DNS64, or the resolver failed): an
///   IPv6-only network without a prefix, where the engine assumes DNS64 and asks AAAA only
///   (V3-8.3.1).
/// - The connectivity cannot be read (not Linux, netlink forbidden): [`Network::default`],
///   both families, no prefix: what the connector assumes when told nothing.
///
/// Failures are logged (`tracing::debug`), not returned: each has a safe fallback. Call
/// [`detect_connectivity`] and [`discover_pref64`] directly to see them. A PREF64 from the
/// router advertisements (RFC 8781), where the OS provides one, is better than discovery
/// (R7050-10, V3-8.2.1): set it in the [`Network`] instead.
///
/// The answer holds for as long as the network does not change and the prefix's DNS TTL
/// (R7050-7: repeat the discovery before it expires): a connector built with
/// [`Connector::auto_network`](crate::Connector::auto_network) keeps it that long
/// ([`NetworkCache`]).
pub async fn detect_network(resolver: &dyn Resolver) -> Network {
    detect(resolver).await.network
}

/// [`detect_network`] for callers without a runtime: the discovery is
/// [`discover_pref64_blocking`], bounded by the resolver's own timeout only.
pub fn detect_network_blocking(resolver: &dyn Resolver) -> Network {
    detect_blocking(resolver).network
}

/// [`detect_network`], and how long its answer may be kept.
pub(crate) async fn detect(resolver: &dyn Resolver) -> Detected {
    match connectivity_network() {
        Some(network) if needs_discovery(&network) => {
            let (found, ttl) = pref64::discover_with_ttl(resolver, DEFAULT_DISCOVERY_TIMEOUT).await;
            discovered(network, found, ttl)
        }
        other => undiscovered(other),
    }
}

/// [`detect_network_blocking`], and how long its answer may be kept.
pub(crate) fn detect_blocking(resolver: &dyn Resolver) -> Detected {
    match connectivity_network() {
        Some(network) if needs_discovery(&network) => {
            let (found, ttl) = pref64::discover_with_ttl_blocking(resolver);
            discovered(network, found, ttl)
        }
        other => undiscovered(other),
    }
}

/// IPv6 without IPv4: where NAT64 is looked for (HE-7.2, V3-8.0.1).
fn needs_discovery(network: &Network) -> bool {
    network.ipv6 && !network.ipv4
}

/// A network that needs no discovery (or whose connectivity cannot be read: the default).
fn undiscovered(network: Option<Network>) -> Detected {
    Detected {
        network: network.unwrap_or_default(),
        freshness: Freshness::Unknown,
    }
}

/// An IPv6-only network with what its discovery found.
fn discovered(
    mut network: Network,
    found: Result<Vec<Pref64>, DiscoveryError>,
    ttl: Option<std::time::Duration>,
) -> Detected {
    let freshness = match (&found, ttl) {
        (Err(_), _) => Freshness::Failed,
        (Ok(_), Some(ttl)) => Freshness::Ttl(ttl),
        (Ok(_), None) => Freshness::Unknown,
    };
    network.pref64 = or_none(found);
    Detected { network, freshness }
}

/// The detected connectivity as a network without prefixes; `None` (logged) if it cannot
/// be read.
fn connectivity_network() -> Option<Network> {
    match detect_connectivity() {
        Ok(c) => Some(Network {
            ipv6: c.ipv6,
            ipv4: c.ipv4,
            pref64: Vec::new(),
        }),
        Err(e) => {
            tracing::debug!(error = %e, "network detection: connectivity unknown, assuming both families");
            None
        }
    }
}

/// The prefixes found, or none (logged) when discovery failed.
fn or_none(found: Result<Vec<Pref64>, DiscoveryError>) -> Vec<Pref64> {
    match found {
        Ok(prefixes) => {
            tracing::debug!(
                ?prefixes,
                "network detection: IPv6-only, NAT64 prefixes discovered"
            );
            prefixes
        }
        Err(e) => {
            tracing::debug!(error = %e, "network detection: IPv6-only, no NAT64 prefix (DNS64 assumed)");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// R7050-7: how long a discovery is kept follows what it found: its TTL, none told,
    /// or a failure (retried sooner).
    #[test]
    fn r7050_7_what_a_discovery_found_sets_its_freshness() {
        let v6_only = Network::ipv6_only([]);
        let ttl = Some(Duration::from_secs(42));
        let found = discovered(v6_only.clone(), Ok(vec![Pref64::WELL_KNOWN]), ttl);
        assert_eq!(found.network, Network::ipv6_only([Pref64::WELL_KNOWN]));
        assert_eq!(found.freshness, Freshness::Ttl(Duration::from_secs(42)));
        let untold = discovered(v6_only.clone(), Ok(vec![]), None);
        assert_eq!(untold.freshness, Freshness::Unknown);
        let failed = discovered(v6_only.clone(), Err(DiscoveryError::ServFail), ttl);
        assert_eq!(
            (failed.network, failed.freshness),
            (v6_only, Freshness::Failed)
        );
        assert_eq!(undiscovered(None).network, Network::default());
    }
}
