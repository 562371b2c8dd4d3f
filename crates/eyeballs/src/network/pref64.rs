//! RFC 7050 discovery of the NAT64 prefixes: an AAAA query for `ipv4only.arpa`, and the
//! Well-Known IPv4 Addresses located in its answers (R7050-1 … R7050-6).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use eyeballs_proto::{DnsOutcome, DnsResult, Pref64, RecordType};

use crate::resolver::Resolver;

/// The Well-Known Name whose only A records are the Well-Known Addresses (RFC 7050 §2.2,
/// R7050-1). Special-use (RFC 8880): ask the network's own resolver for it (R7050-9).
pub const WELL_KNOWN_NAME: &str = "ipv4only.arpa";

/// The Well-Known IPv4 Addresses, the A records of [`WELL_KNOWN_NAME`] (RFC 7050 §2.2,
/// R7050-1): `192.0.0.170` first, `192.0.0.171` the one that decides when the first is
/// ambiguous (R7050-4).
pub const WELL_KNOWN_ADDRESSES: [Ipv4Addr; 2] =
    [Ipv4Addr::new(192, 0, 0, 170), Ipv4Addr::new(192, 0, 0, 171)];

/// The prefix lengths RFC 6052 §2.2 allows, the positions a Well-Known Address is looked
/// for at (R6052-2, R7050-3).
const LENGTHS: [u8; 6] = [32, 40, 48, 56, 64, 96];

/// How long [`discover_pref64`] waits for the resolver's answer: 3 s. Not from a spec
/// (RFC 7050 sets no timeout); a bound so that a resolver that never answers cannot hold a
/// caller forever. Resolvers normally time out sooner by themselves (glibc: 5 s per server,
/// the lab's: 1 s). Use [`discover_pref64_within`] for another bound.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the NAT64 prefix could not be learnt: the resolver could not tell. (A network
/// without NAT64 is no error: discovery then gives no prefix, R7050-6.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The server failed (SERVFAIL, REFUSED or another RCODE).
    ServFail,
    /// The resolver failed locally (no server reachable, malformed answer, I/O error).
    Resolver,
    /// No answer in time: the resolver's own timeout, or the discovery's
    /// ([`DEFAULT_DISCOVERY_TIMEOUT`]).
    TimedOut,
}

impl DiscoveryError {
    /// The query outcome this error stands for, as the report names outcomes.
    pub fn outcome(self) -> DnsOutcome {
        match self {
            DiscoveryError::ServFail => DnsOutcome::ServFail,
            DiscoveryError::Resolver => DnsOutcome::Error,
            DiscoveryError::TimedOut => DnsOutcome::TimedOut,
        }
    }
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiscoveryError::ServFail => {
                "NAT64 prefix discovery: the DNS server failed the AAAA query for ipv4only.arpa"
            }
            DiscoveryError::Resolver => {
                "NAT64 prefix discovery: the resolver failed the AAAA query for ipv4only.arpa"
            }
            DiscoveryError::TimedOut => {
                "NAT64 prefix discovery: no answer to the AAAA query for ipv4only.arpa in time"
            }
        })
    }
}

impl std::error::Error for DiscoveryError {}

/// Learns the network's NAT64 prefixes the way RFC 7050 §3 describes (R7050-2 … R7050-6):
/// one AAAA query for [`WELL_KNOWN_NAME`] through `resolver`, waited for at most
/// [`DEFAULT_DISCOVERY_TIMEOUT`], and the prefixes found in its answer
/// ([`pref64_from_answer`]).
///
/// - `Ok` with one prefix or more: the network's DNS64 synthesizes with them, in the order
///   of the answer, duplicates removed (R7050-5: all are used).
/// - `Ok` and empty: no NAT64 that DNS can tell of: NXDOMAIN, NODATA, or addresses none of
///   which embeds a Well-Known Address (R7050-6).
/// - `Err`: the resolver could not tell (SERVFAIL, a local error, no answer in time).
///
/// Ask the *network's* resolver (RFC 8880, R7050-9): the system resolver
/// ([`SystemResolver`](crate::resolver::SystemResolver)), or hickory configured with the
/// interface's servers; a DNS-over-HTTPS resolver of the user's own knows nothing of the
/// local DNS64. A learnt prefix is untrusted input (R7050-8): anyone who can spoof the
/// answer can choose where IPv4 connections go. Prefer a PREF64 from the router
/// advertisements (RFC 8781) when the OS provides one (R7050-10, V3-8.2.1): this is the
/// fallback. Each call asks again: a connector built with
/// [`Connector::auto_network`](crate::Connector::auto_network) keeps the answer for its TTL
/// and repeats the discovery before it runs out (R7050-7).
///
/// # Errors
/// [`DiscoveryError`]: the resolver could not tell.
pub async fn discover_pref64(resolver: &dyn Resolver) -> Result<Vec<Pref64>, DiscoveryError> {
    discover_pref64_within(resolver, DEFAULT_DISCOVERY_TIMEOUT).await
}

/// [`discover_pref64`] with another bound on the wait for the resolver.
///
/// # Errors
/// [`DiscoveryError`]: the resolver could not tell, or did not answer within `timeout`
/// ([`DiscoveryError::TimedOut`]).
pub async fn discover_pref64_within(
    resolver: &dyn Resolver,
    timeout: Duration,
) -> Result<Vec<Pref64>, DiscoveryError> {
    discover_with_ttl(resolver, timeout).await.0
}

/// [`discover_pref64_within`] and the TTL of the answer, if the resolver tells it
/// ([`Resolver::lookup_with_ttl`]); for the network cache (R7050-7).
pub(crate) async fn discover_with_ttl(
    resolver: &dyn Resolver,
    timeout: Duration,
) -> (Result<Vec<Pref64>, DiscoveryError>, Option<Duration>) {
    let lookup = resolver.lookup_with_ttl(WELL_KNOWN_NAME, RecordType::Aaaa);
    match tokio::time::timeout(timeout, lookup).await {
        Ok((answer, ttl)) => (prefixes_of(&answer), ttl),
        Err(_elapsed) => (Err(DiscoveryError::TimedOut), None),
    }
}

/// [`discover_pref64`] for callers without a runtime: the query is
/// [`Resolver::lookup_blocking`], on the calling thread, bounded by the resolver's own
/// timeout only.
///
/// # Errors
/// As [`discover_pref64`].
pub fn discover_pref64_blocking(resolver: &dyn Resolver) -> Result<Vec<Pref64>, DiscoveryError> {
    discover_with_ttl_blocking(resolver).0
}

/// [`discover_pref64_blocking`] and the TTL of the answer, as [`discover_with_ttl`].
pub(crate) fn discover_with_ttl_blocking(
    resolver: &dyn Resolver,
) -> (Result<Vec<Pref64>, DiscoveryError>, Option<Duration>) {
    let (answer, ttl) = resolver.lookup_with_ttl_blocking(WELL_KNOWN_NAME, RecordType::Aaaa);
    (prefixes_of(&answer), ttl)
}

/// The prefixes of one answer to the AAAA query for `ipv4only.arpa`.
fn prefixes_of(answer: &DnsResult) -> Result<Vec<Pref64>, DiscoveryError> {
    match answer {
        DnsResult::Addresses(destinations) => {
            let ips = destinations.iter().filter_map(|d| match d.ip {
                IpAddr::V6(v6) => Some(v6),
                IpAddr::V4(_) => None,
            });
            Ok(pref64_from_answer(ips))
        }
        // No AAAA records (an HTTPS answer to an AAAA query counts as NODATA): no DNS64,
        // R7050-6.
        DnsResult::Services(_) | DnsResult::NoData | DnsResult::NxDomain => Ok(Vec::new()),
        DnsResult::ServFail => Err(DiscoveryError::ServFail),
        DnsResult::TimedOut => Err(DiscoveryError::TimedOut),
        // `Error`, and whatever outcome a later version adds: the resolver did not tell.
        _ => Err(DiscoveryError::Resolver),
    }
}

/// The NAT64 prefixes an answer to the AAAA query for `ipv4only.arpa` reveals (RFC 7050
/// §3), in the order of the answer, each once:
///
/// - Each address is searched for the Well-Known Addresses at every RFC 6052 position
///   (/32, /40, /48, /56, /64, /96; R7050-3): a match at length `n` is the address's first
///   `n` bits as a [`Pref64`] whose [`extract`](Pref64::extract) gives the Well-Known
///   Address (so the "u" octet is zero, R6052-3; the suffix is not checked, R6052-4).
/// - One match in the address: its prefix.
/// - Several (ambiguous, R7050-4: a prefix that itself holds the bytes `c0 00 00 aa`):
///   the match of `192.0.0.171` decides if there is exactly one; otherwise the address
///   says nothing (the answer's `…171` record, where the prefix's own bytes cannot pass
///   for `192.0.0.171`, gives the prefix).
/// - No match: the address is ignored (R7050-6: not a synthesized Well-Known Address).
///
/// Every prefix found is returned (R7050-5). Empty: none of the addresses embeds a
/// Well-Known Address (R7050-6).
pub fn pref64_from_answer(answer: impl IntoIterator<Item = Ipv6Addr>) -> Vec<Pref64> {
    let mut found: Vec<Pref64> = Vec::new();
    for ip in answer {
        if let Some(prefix) = pref64_of_address(ip) {
            if !found.contains(&prefix) {
                found.push(prefix);
            }
        }
    }
    found
}

/// The prefix one synthesized address reveals, if exactly one (see [`pref64_from_answer`]).
fn pref64_of_address(ip: Ipv6Addr) -> Option<Pref64> {
    let mut matches: Vec<(Pref64, Ipv4Addr)> = Vec::new();
    for len in LENGTHS {
        // The first `len` bits: a valid prefix at an allowed length, so `new` succeeds
        // (`.ok()` rather than a panic all the same).
        let bits = ip.to_bits() & !(u128::MAX >> len);
        let Some(prefix) = Pref64::new(Ipv6Addr::from_bits(bits), len).ok() else {
            continue;
        };
        if let Some(v4) = prefix.extract(ip) {
            if WELL_KNOWN_ADDRESSES.contains(&v4) {
                matches.push((prefix, v4));
            }
        }
    }
    match matches.as_slice() {
        [] => None,
        [(prefix, _)] => Some(*prefix),
        several => {
            let mut by_171 = several
                .iter()
                .filter(|(_, v4)| *v4 == WELL_KNOWN_ADDRESSES[1]);
            match (by_171.next(), by_171.next()) {
                (Some((prefix, _)), None) => Some(*prefix),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)] // Tests: a failure is the report.
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::resolver::{Lookup, StaticResolver};

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn p(prefix: &str, len: u8) -> Pref64 {
        Pref64::new(v6(prefix), len).unwrap()
    }

    /// Answers every query with one result, after a delay (`None`: never), and counts the
    /// queries by (name, type).
    #[derive(Debug, Clone)]
    struct Scripted {
        answer: Option<DnsResult>,
        delay: Duration,
        asked: Arc<AtomicUsize>,
    }

    impl Scripted {
        fn new(answer: Option<DnsResult>) -> Self {
            Scripted {
                answer,
                delay: Duration::ZERO,
                asked: Arc::default(),
            }
        }
    }

    impl Resolver for Scripted {
        fn lookup(&self, name: &str, record: RecordType) -> Lookup {
            assert_eq!((name, record), (WELL_KNOWN_NAME, RecordType::Aaaa));
            self.asked.fetch_add(1, Ordering::Relaxed);
            let (answer, delay) = (self.answer.clone(), self.delay);
            Box::pin(async move {
                // No timer for no delay: the blocking twin polls this without a runtime.
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                match answer {
                    Some(a) => a,
                    None => std::future::pending().await,
                }
            })
        }
    }

    /// A resolver that tells a TTL: 42 s.
    #[derive(Debug)]
    struct WithTtl(StaticResolver);

    impl Resolver for WithTtl {
        fn lookup(&self, name: &str, record: RecordType) -> Lookup {
            self.0.lookup(name, record)
        }
        fn lookup_with_ttl(&self, name: &str, record: RecordType) -> crate::resolver::TtlLookup {
            let lookup = self.0.lookup(name, record);
            Box::pin(async move { (lookup.await, Some(Duration::from_secs(42))) })
        }
        fn lookup_with_ttl_blocking(
            &self,
            name: &str,
            record: RecordType,
        ) -> (DnsResult, Option<Duration>) {
            (
                self.0.lookup_blocking(name, record),
                Some(Duration::from_secs(42)),
            )
        }
    }

    /// R7050-7: the discovery passes on the TTL the resolver tells (both drivers); a
    /// resolver that tells none gives none, and a timeout gives none.
    #[tokio::test]
    async fn r7050_7_the_discovery_carries_the_answer_ttl() {
        let told = WithTtl(answering(&["64:ff9b::c000:aa"]));
        let want = (Ok(vec![Pref64::WELL_KNOWN]), Some(Duration::from_secs(42)));
        assert_eq!(
            discover_with_ttl(&told, DEFAULT_DISCOVERY_TIMEOUT).await,
            want
        );
        assert_eq!(discover_with_ttl_blocking(&told), want);
        let untold = answering(&["64:ff9b::c000:aa"]);
        assert_eq!(
            discover_with_ttl(&untold, DEFAULT_DISCOVERY_TIMEOUT).await,
            (Ok(vec![Pref64::WELL_KNOWN]), None)
        );
        let silent = Scripted::new(None);
        assert_eq!(
            discover_with_ttl(&silent, Duration::from_millis(10)).await,
            (Err(DiscoveryError::TimedOut), None)
        );
    }

    fn answering(ips: &[&str]) -> StaticResolver {
        StaticResolver::new().host(
            "ipv4only.arpa",
            ips.iter().map(|s| IpAddr::V6(v6(s))).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn r7050_1_well_known_name_and_addresses() {
        assert_eq!(WELL_KNOWN_NAME, "ipv4only.arpa");
        assert_eq!(WELL_KNOWN_ADDRESSES[0], Ipv4Addr::new(192, 0, 0, 170));
        assert_eq!(WELL_KNOWN_ADDRESSES[1], Ipv4Addr::new(192, 0, 0, 171));
    }

    /// R7050-2: the mock DNS64 answers `64:ff9b::c000:aa` (and `…ab`): the Well-Known
    /// Prefix, once.
    #[tokio::test]
    async fn r7050_2_an_aaaa_answer_reveals_the_well_known_prefix() {
        let resolver = answering(&["64:ff9b::c000:aa", "64:ff9b::c000:ab"]);
        assert_eq!(
            discover_pref64(&resolver).await,
            Ok(vec![Pref64::WELL_KNOWN])
        );
        assert_eq!(
            discover_pref64_blocking(&resolver),
            Ok(vec![Pref64::WELL_KNOWN])
        );
    }

    /// R7050-3: each RFC 6052 position gives its prefix length; the checklist's example
    /// `2001:db8:1c0:0:aa::` (the /40 layout) gives `2001:db8:100::/40`.
    #[test]
    fn r7050_3_the_position_gives_the_length() {
        assert_eq!(
            pref64_from_answer([v6("2001:db8:1c0:0:aa::")]),
            [p("2001:db8:100::", 40)]
        );
        for (prefix, len) in [
            ("2001:db8::", 32),
            ("2001:db8:100::", 40),
            ("2001:db8:122::", 48),
            ("2001:db8:122:300::", 56),
            ("2001:db8:122:344::", 64),
            ("2001:db8:122:344::", 96),
            ("64:ff9b::", 96),
            ("64:ff9b:1::", 48),
        ] {
            let want = p(prefix, len);
            for wka in WELL_KNOWN_ADDRESSES {
                let synthesized = want.embed(wka);
                assert_eq!(
                    pref64_from_answer([synthesized]),
                    [want],
                    "{wka} in {synthesized}"
                );
            }
        }
    }

    /// R7050-3 with R6052-3: a Well-Known Address at a position whose "u" octet is not
    /// zero is no match.
    #[test]
    fn r7050_3_a_set_u_octet_is_no_match() {
        // 2001:db8:c000:aa:: is the /32 layout; byte 8 set to 0xff.
        assert_eq!(pref64_from_answer([v6("2001:db8:c000:aa:ff00::")]), []);
        assert_eq!(
            pref64_from_answer([v6("2001:db8:c000:aa::")]),
            [p("2001:db8::", 32)]
        );
    }

    /// R7050-4: a crafted /96 prefix holding `c0 00 00 aa` at the /56 position: the `…aa`
    /// record matches twice and says nothing; the `…ab` record decides.
    #[test]
    fn r7050_4_an_ambiguous_match_falls_back_to_192_0_0_171() {
        // Bytes 7, 9, 10, 11 of the prefix are c0 00 00 aa (the /56 layout), byte 8 is
        // zero.
        let crafted = p("2001:db8:0:c0:0:aa::", 96);
        let aa = crafted.embed(WELL_KNOWN_ADDRESSES[0]);
        let ab = crafted.embed(WELL_KNOWN_ADDRESSES[1]);
        assert_eq!(pref64_from_answer([aa]), [], "ambiguous alone");
        assert_eq!(pref64_from_answer([aa, ab]), [crafted]);
        assert_eq!(pref64_from_answer([ab, aa]), [crafted]);
    }

    /// R7050-5: every AAAA record is examined; two prefixes give two candidates, in the
    /// answer's order, each once.
    #[tokio::test]
    async fn r7050_5_several_prefixes_are_all_used() {
        let resolver = answering(&[
            "2001:db8:64::c000:aa",
            "64:ff9b::c000:aa",
            "2001:db8:64::c000:ab",
            "64:ff9b::c000:ab",
        ]);
        assert_eq!(
            discover_pref64(&resolver).await,
            Ok(vec![p("2001:db8:64::", 96), Pref64::WELL_KNOWN])
        );
    }

    /// R7050-6: answers without a Well-Known Address are ignored; with none at all there is
    /// no prefix.
    #[tokio::test]
    async fn r7050_6_no_well_known_address_no_prefix() {
        let resolver = answering(&["2001:db8::1", "64:ff9b::c000:221"]);
        assert_eq!(discover_pref64(&resolver).await, Ok(vec![]));
        // One good record among others: it alone counts.
        let resolver = answering(&["2001:db8::1", "64:ff9b::c000:aa", "64:ff9b::c000:221"]);
        assert_eq!(
            discover_pref64(&resolver).await,
            Ok(vec![Pref64::WELL_KNOWN])
        );
    }

    /// R7050-6: NODATA and NXDOMAIN mean no NAT64 via DNS, not an error.
    #[tokio::test]
    async fn r7050_6_nodata_and_nxdomain_mean_no_nat64() {
        for answer in [
            DnsResult::NoData,
            DnsResult::NxDomain,
            DnsResult::Services(vec![]),
        ] {
            let resolver = Scripted::new(Some(answer.clone()));
            assert_eq!(discover_pref64(&resolver).await, Ok(vec![]), "{answer:?}");
        }
        // A name with no AAAA (the static resolver's NODATA), and an unknown name.
        let nodata = StaticResolver::new().host("ipv4only.arpa", ["192.0.0.170".parse().unwrap()]);
        assert_eq!(discover_pref64(&nodata).await, Ok(vec![]));
        assert_eq!(discover_pref64(&StaticResolver::new()).await, Ok(vec![]));
    }

    /// A resolver that cannot tell is an error, kept apart from "no NAT64".
    #[tokio::test]
    async fn r7050_6_resolver_failures_are_errors() {
        for (answer, error) in [
            (DnsResult::ServFail, DiscoveryError::ServFail),
            (DnsResult::Error, DiscoveryError::Resolver),
            (DnsResult::TimedOut, DiscoveryError::TimedOut),
        ] {
            let outcome = answer.kind();
            let resolver = Scripted::new(Some(answer));
            assert_eq!(discover_pref64(&resolver).await, Err(error));
            assert_eq!(discover_pref64_blocking(&resolver), Err(error));
            assert_eq!(error.outcome(), outcome);
            assert!(error.to_string().contains("ipv4only.arpa"), "{error}");
        }
    }

    /// A resolver that never answers: the discovery gives up after its timeout.
    #[tokio::test(start_paused = true)]
    async fn discovery_times_out() {
        let resolver = Scripted::new(None);
        let t0 = tokio::time::Instant::now();
        assert_eq!(
            discover_pref64(&resolver).await,
            Err(DiscoveryError::TimedOut)
        );
        assert_eq!(t0.elapsed(), DEFAULT_DISCOVERY_TIMEOUT);
        let mut slow = Scripted::new(Some(DnsResult::addresses([IpAddr::V6(v6(
            "64:ff9b::c000:aa",
        ))])));
        slow.delay = Duration::from_millis(900);
        assert_eq!(
            discover_pref64_within(&slow, Duration::from_secs(1)).await,
            Ok(vec![Pref64::WELL_KNOWN])
        );
        assert_eq!(
            discover_pref64_within(&slow, Duration::from_millis(500)).await,
            Err(DiscoveryError::TimedOut)
        );
        assert_eq!(slow.asked.load(Ordering::Relaxed), 2);
    }
}
