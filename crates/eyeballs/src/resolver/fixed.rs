//! [`StaticResolver`]: answers from a table the caller gives, at once.

use std::collections::HashMap;
use std::net::IpAddr;

use eyeballs_proto::Family;

use super::{DnsResult, Lookup, RecordType, Resolver};

/// A resolver that answers from a fixed table of names and addresses, without any I/O.
///
/// For tests, examples, and hosts whose addresses are known in advance. Every answer is ready
/// at once (the returned future completes on its first poll).
///
/// - Names match ASCII case-insensitively, and one trailing dot is ignored: `Example.COM.`
///   finds `example.com`.
/// - A name that is not in the table: [`DnsResult::NxDomain`].
/// - A name in the table with no address of the asked family: [`DnsResult::NoData`]. A name
///   added with no addresses at all is NODATA for both record types.
/// - Otherwise: [`DnsResult::Addresses`] with that family's addresses, in the order they were
///   added, with unknown source addresses. IPv6 addresses (including IPv4-mapped ones) answer
///   AAAA, IPv4 addresses answer A.
///
/// IP literals are names like any other: `"127.0.0.1"` is NXDOMAIN unless it was added.
///
/// ```
/// use eyeballs::resolver::{DnsResult, RecordType, Resolver, StaticResolver};
/// # futures_util::FutureExt::now_or_never(async {
/// let resolver = StaticResolver::new()
///     .host("dual.test", ["2001:db8::1".parse().unwrap(), "192.0.2.1".parse().unwrap()]);
/// assert_eq!(
///     resolver.lookup("DUAL.test.", RecordType::A).await,
///     DnsResult::addresses(["192.0.2.1".parse().unwrap()]),
/// );
/// assert_eq!(resolver.lookup("other.test", RecordType::Aaaa).await, DnsResult::NxDomain);
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct StaticResolver {
    /// Normalised name (see [`normalize`]) → its addresses, in the order they were added.
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// An empty table: every name is NXDOMAIN. Same as [`StaticResolver::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `ips` to the addresses of `name` (after any given before for the same name), and
    /// makes `name` known even if `ips` is empty.
    pub fn host<I>(mut self, name: &str, ips: I) -> Self
    where
        I: IntoIterator<Item = IpAddr>,
    {
        self.hosts.entry(normalize(name)).or_default().extend(ips);
        self
    }

    /// The answer to a `record` query for `name`.
    fn answer(&self, name: &str, record: RecordType) -> DnsResult {
        let Some(ips) = self.hosts.get(&normalize(name)) else {
            return DnsResult::NxDomain;
        };
        let matching: Vec<IpAddr> = ips
            .iter()
            .copied()
            .filter(|ip| Some(Family::of(*ip)) == record.family())
            .collect();
        if matching.is_empty() {
            DnsResult::NoData
        } else {
            DnsResult::addresses(matching)
        }
    }
}

impl Resolver for StaticResolver {
    fn lookup(&self, name: &str, record: RecordType) -> Lookup {
        Box::pin(std::future::ready(self.answer(name, record)))
    }
}

/// The table key of `name`: without one trailing dot, ASCII lowercase.
fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}
