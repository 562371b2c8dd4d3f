//! DNS inputs: what the driver's resolver tells the engine.

use std::fmt;
use std::net::IpAddr;

use crate::endpoint::{canonical, Family};
use crate::service::ServiceRecord;

/// The record type of a query the engine asks the driver to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordType {
    /// IPv6 addresses.
    Aaaa,
    /// IPv4 addresses.
    A,
    /// HTTPS service information (RFC 9460, HEv3 §4.1): answered with
    /// [`DnsResult::Services`].
    Https,
}

impl RecordType {
    /// The family of the addresses this record type carries; `None` for HTTPS.
    pub fn family(self) -> Option<Family> {
        match self {
            RecordType::Aaaa => Some(Family::V6),
            RecordType::A => Some(Family::V4),
            RecordType::Https => None,
        }
    }

    /// The record type that carries addresses of `family`.
    pub fn for_family(family: Family) -> Self {
        match family {
            Family::V6 => RecordType::Aaaa,
            Family::V4 => RecordType::A,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::Aaaa => "AAAA",
            RecordType::A => "A",
            RecordType::Https => "HTTPS",
        })
    }
}

/// Identifies one query for the whole life of an engine; it indexes [`crate::Report::queries`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(pub(crate) u32);

impl QueryId {
    /// The position of this query in [`crate::Report::queries`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for QueryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "q{}", self.0)
    }
}

/// The source address the host would use to reach a destination (RFC 6724 §6, R6724-4).
///
/// Drivers learn it with a UDP `connect()` probe that sends no packet (checklist D6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SourceAddr {
    /// Not probed. The destination counts as usable (rule 1) and as matching its source's
    /// scope and label (rules 2 and 5); rule 9 gives it no common prefix. With every source
    /// unknown, the order is the policy table's (rule 6), then scope (rule 8), then the input
    /// order.
    #[default]
    Unknown,
    /// The host has no route or no source address for this destination: RFC 6724 rule 1 puts
    /// it after every usable destination.
    Unreachable,
    /// The source address the host would use.
    Addr(IpAddr),
}

/// A destination address with the source address the host would use to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// The destination address.
    pub ip: IpAddr,
    /// The source address for it, for RFC 6724 sorting.
    pub source: SourceAddr,
}

impl Destination {
    /// A destination whose source address is not known.
    pub fn new(ip: IpAddr) -> Self {
        Destination {
            ip,
            source: SourceAddr::Unknown,
        }
    }

    /// A destination with a known source address.
    pub fn with_source(ip: IpAddr, source: SourceAddr) -> Self {
        Destination { ip, source }
    }

    pub(crate) fn canonical(self) -> Self {
        Destination {
            ip: canonical(self.ip),
            source: match self.source {
                SourceAddr::Addr(ip) => SourceAddr::Addr(canonical(ip)),
                other => other,
            },
        }
    }
}

impl From<IpAddr> for Destination {
    fn from(ip: IpAddr) -> Self {
        Destination::new(ip)
    }
}

/// What a query came back with: the engine's DNS input.
///
/// Each outcome is distinct because each means something different to the race (checklist
/// D3): `NoData` and `NxDomain` are negative answers (the name has no such records);
/// `ServFail`, `Error` and `TimedOut` mean the resolver could not tell. Every one of them ends
/// the query: a failed query cannot produce more addresses, so none of them makes the engine
/// wait out the rest of the Resolution Delay.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DnsResult {
    /// A positive answer. It is screened as
    /// [`Engine::screen_answer`](crate::Engine::screen_answer) describes: IPv6 addresses in an
    /// A answer, addresses of a family the configuration excludes, addresses no connect can
    /// use ([`DropReason`](crate::DropReason)) and duplicates are dropped (IPv4-mapped
    /// addresses count as IPv4), and at most [`Config::max_endpoints`](crate::Config::max_endpoints)
    /// addresses are used; an answer with nothing usable is treated as [`DnsResult::NoData`].
    Addresses(Vec<Destination>),
    /// A positive answer to an HTTPS query: its records, ServiceMode and AliasMode
    /// ([`ServiceRecord`]). To an address query it counts as NODATA.
    Services(Vec<ServiceRecord>),
    /// NOERROR with no records of this type (NODATA).
    NoData,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The server failed (SERVFAIL, REFUSED and other RCODEs).
    ServFail,
    /// The resolver failed locally (no server reachable, malformed answer, I/O error).
    Error,
    /// The resolver gave up waiting for an answer.
    TimedOut,
}

impl DnsResult {
    /// A positive answer from plain addresses, with unknown source addresses.
    pub fn addresses<I: IntoIterator<Item = IpAddr>>(ips: I) -> Self {
        DnsResult::Addresses(ips.into_iter().map(Destination::new).collect())
    }

    /// The kind of this result, as kept in the report.
    pub fn kind(&self) -> DnsOutcome {
        match self {
            DnsResult::Addresses(a) if a.is_empty() => DnsOutcome::NoData,
            DnsResult::Addresses(_) => DnsOutcome::Addresses,
            DnsResult::Services(s) if s.is_empty() => DnsOutcome::NoData,
            DnsResult::Services(_) => DnsOutcome::Addresses,
            DnsResult::NoData => DnsOutcome::NoData,
            DnsResult::NxDomain => DnsOutcome::NxDomain,
            DnsResult::ServFail => DnsOutcome::ServFail,
            DnsResult::Error => DnsOutcome::Error,
            DnsResult::TimedOut => DnsOutcome::TimedOut,
        }
    }
}

/// How a query ended, as kept in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsOutcome {
    /// A positive answer.
    Addresses,
    /// NODATA.
    NoData,
    /// NXDOMAIN.
    NxDomain,
    /// SERVFAIL or another server error.
    ServFail,
    /// A local resolver error.
    Error,
    /// No answer in time: the resolver's own timeout or the engine's
    /// [`Config::resolve_timeout`](crate::Config::resolve_timeout).
    TimedOut,
    /// The engine no longer needed the answer (the race was decided or cancelled).
    Cancelled,
}

impl DnsOutcome {
    /// A short lowercase name: `ok`, `nodata`, `nxdomain`, `servfail`, `error`, `timeout`,
    /// `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsOutcome::Addresses => "ok",
            DnsOutcome::NoData => "nodata",
            DnsOutcome::NxDomain => "nxdomain",
            DnsOutcome::ServFail => "servfail",
            DnsOutcome::Error => "error",
            DnsOutcome::TimedOut => "timeout",
            DnsOutcome::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for DnsOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
