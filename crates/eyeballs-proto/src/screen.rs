//! Screening a DNS answer: which of its addresses the engine uses, and why it drops the
//! others. One function, used by [`Engine::handle_dns`](crate::Engine::handle_dns) and by
//! [`Engine::screen_answer`](crate::Engine::screen_answer), so that a driver can learn what
//! will be kept before it does per-address work (source-address probes).

use std::fmt;
use std::net::IpAddr;

use crate::config::FamilyPreference;
use crate::distinct::Seen;
use crate::dns::Destination;
use crate::endpoint::Family;
use crate::policy::{Denial, DestinationPolicy};

/// Why an address of a DNS answer was not used, as kept in
/// [`QueryRecord::dropped`](crate::QueryRecord::dropped).
///
/// The addresses no connect can use are dropped: the unspecified addresses, IPv4 "this
/// network" (`0.0.0.0/8`), multicast, and the IPv4 limited broadcast address. Everything else
/// is kept, loopback, link-local and reserved (`240.0.0.0/4`) included: some networks use them
/// and which destinations are allowed is the caller's policy, not the engine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Not of the query's family: an IPv6 address (other than IPv4-mapped) in an A answer.
    /// An AAAA answer may carry IPv4 addresses, IPv4-mapped (`::ffff:192.0.2.1`, as
    /// `getaddrinfo` with `AI_V4MAPPED` gives them) or already made plain IPv4 by the driver
    /// or by [`Engine::screen_answer`](crate::Engine::screen_answer): they count as IPv4.
    WrongFamily,
    /// Of a family the configuration excludes ([`FamilyPreference::Ipv6Only`] or
    /// [`FamilyPreference::Ipv4Only`]), for example an IPv4-mapped address in an AAAA answer
    /// under `Ipv6Only`.
    FamilyNotAllowed,
    /// The unspecified address (`0.0.0.0`, `::`): not a destination (RFC 4291 §2.5.2, RFC 1122
    /// §3.2.1.3); on Linux a connect to it reaches the local host, which a DNS answer must not
    /// be able to ask for.
    Unspecified,
    /// IPv4 `0.0.0.0/8` other than `0.0.0.0`: "this host on this network", which RFC 1122
    /// §3.2.1.3 allows as a source address only and RFC 6890 marks as not a valid destination.
    ThisNetwork,
    /// A multicast address (`224.0.0.0/4`, `ff00::/8`): a stream connect cannot use one.
    Multicast,
    /// The IPv4 limited broadcast address `255.255.255.255` (RFC 919, RFC 6890).
    Broadcast,
    /// Refused on every port of the race by the destination policy
    /// ([`Config::destinations`](crate::Config::destinations)), for the reason given (the
    /// first port's).
    Denied(Denial),
}

impl DropReason {
    /// A short lowercase name: `wrong-family`, `family-not-allowed`, `unspecified`,
    /// `this-network`, `multicast`, `broadcast`, `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::WrongFamily => "wrong-family",
            DropReason::FamilyNotAllowed => "family-not-allowed",
            DropReason::Unspecified => "unspecified",
            DropReason::ThisNetwork => "this-network",
            DropReason::Multicast => "multicast",
            DropReason::Broadcast => "broadcast",
            DropReason::Denied(_) => "denied",
        }
    }
}

/// The short name; for [`DropReason::Denied`], the denial (which rule or range).
impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Denied(denial) => denial.fmt(f),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The result of screening one answer.
#[derive(Debug, Default)]
pub(crate) struct Screened {
    /// The addresses used, canonical (IPv4-mapped made IPv4), distinct, in answer order, at
    /// most the cap.
    pub(crate) kept: Vec<Destination>,
    /// Each distinct dropped address (as the answer gave it) with why.
    pub(crate) dropped: Vec<(IpAddr, DropReason)>,
    /// How many distinct usable addresses came after the first `cap`.
    pub(crate) beyond_cap: usize,
}

/// How an answer is screened: the query's family and what the configuration says.
pub(crate) struct Screen<'a> {
    pub(crate) family: Family,
    pub(crate) allowed: FamilyPreference,
    pub(crate) cap: usize,
    pub(crate) policy: &'a DestinationPolicy,
    /// The race's ports: an address the policy refuses on every one of them is dropped.
    pub(crate) ports: &'a [u16],
}

/// Screens `answer` as `how` says: canonicalizes each address, drops the ones of the wrong
/// family, of a family the configuration excludes, the ones no connect can use and the ones
/// the destination policy refuses on every port, removes duplicates, and keeps the first
/// `cap` distinct usable ones (refused addresses take no place under the cap). Linear in the
/// answer's length; screening the kept addresses again keeps them all (idempotent).
pub(crate) fn screen<I>(answer: I, how: &Screen<'_>) -> Screened
where
    I: IntoIterator<Item = Destination>,
{
    let answer = answer.into_iter();
    let hint = answer.size_hint().0;
    let cap = how.cap;
    let mut out = Screened {
        kept: Vec::with_capacity(hint.min(cap)),
        dropped: Vec::new(),
        beyond_cap: 0,
    };
    // The verdict depends on the canonical address alone, so one entry per address.
    let mut seen: Seen<IpAddr> = Seen::with_capacity(hint);
    for raw in answer {
        let dest = raw.canonical();
        if !seen.insert(dest.ip) {
            continue;
        }
        let verdict = verdict(dest.ip, how);
        match verdict {
            Some(reason) => out.dropped.push((raw.ip, reason)),
            None if out.kept.len() < cap => out.kept.push(dest),
            None => out.beyond_cap += 1,
        }
    }
    out
}

/// `None` to keep the canonical address `ip`, or why it goes.
fn verdict(ip: IpAddr, how: &Screen<'_>) -> Option<DropReason> {
    // IPv4 in an AAAA answer is accepted (IPv4-mapped, or made plain IPv4 already), so that
    // screening a screened answer keeps it all; IPv6 in an A answer is not.
    if how.family == Family::V4 && Family::of(ip) == Family::V6 {
        return Some(DropReason::WrongFamily);
    }
    if !how.allowed.allows(Family::of(ip)) {
        return Some(DropReason::FamilyNotAllowed);
    }
    if let Some(reason) = unusable(ip) {
        return Some(reason);
    }
    if how.policy.allows_all() {
        return None;
    }
    refused_on_every_port(how.policy, ip, how.ports).map(DropReason::Denied)
}

/// The policy's denial of `ip` on the first of `ports` if it refuses `ip` on all of them.
pub(crate) fn refused_on_every_port(
    policy: &DestinationPolicy,
    ip: IpAddr,
    ports: &[u16],
) -> Option<Denial> {
    let mut first = None;
    for &port in ports {
        match policy.check(std::net::SocketAddr::new(ip, port)) {
            Ok(()) => return None,
            Err(denial) => {
                first.get_or_insert(denial);
            }
        }
    }
    first
}

/// Why no connect can use `ip` (already canonical), if so.
fn unusable(ip: IpAddr) -> Option<DropReason> {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Some(DropReason::Unspecified),
        IpAddr::V4(v4) if v4.octets()[0] == 0 => Some(DropReason::ThisNetwork),
        IpAddr::V4(v4) if v4.is_broadcast() => Some(DropReason::Broadcast),
        IpAddr::V4(v4) if v4.is_multicast() => Some(DropReason::Multicast),
        IpAddr::V6(v6) if v6.is_unspecified() => Some(DropReason::Unspecified),
        IpAddr::V6(v6) if v6.is_multicast() => Some(DropReason::Multicast),
        _ => None,
    }
}
