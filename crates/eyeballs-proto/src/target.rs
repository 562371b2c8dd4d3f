//! What to connect to: a host name with ports, or addresses the caller already has.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use std::collections::HashMap;

use smallvec::SmallVec;

use crate::candidates::socket_addr;
use crate::distinct::{Distinct, Items, Keyed, LINEAR_MAX};
use crate::dns::{Destination, SourceAddr};
use crate::endpoint::canonical;
use crate::literal::parse_ip_literal;
use crate::policy::Denial;

/// The longest host name DNS can carry, without the trailing dot (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 253;
/// The longest label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// What a race connects to.
///
/// - [`Target::host`] / [`Target::host_with_ports`]: a name to resolve (AAAA and A), tried on
///   each port; a name that is an IP literal (`192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`,
///   `fe80::1%3`, as [`parse_ip_literal`](crate::parse_ip_literal) reads them) is used as it
///   is, with no DNS.
/// - [`Target::addresses`]: socket addresses the caller resolved already, the way
///   aiohappyeyeballs takes `getaddrinfo` results.
///
/// The ports of a host name are alternatives in order of preference: every address is tried
/// on the first port before any address is tried on the second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub(crate) kind: TargetKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Host {
        name: String,
        ports: Vec<u16>,
        /// Whether to ask for the name's HTTPS records (HEv3 §4.1).
        https: bool,
    },
    Addresses(Items<TargetAddr>),
}

/// One address of an address target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TargetAddr {
    pub(crate) dest: Destination,
    pub(crate) port: u16,
    /// The IPv6 scope id (zone) to connect with, 0 for none.
    pub(crate) scope_id: u32,
    /// The rank of its port among the target's ports (0 = first).
    pub(crate) port_rank: usize,
}

/// Two addresses of a target are the same when address, port and scope id are.
impl Keyed for TargetAddr {
    type Key = (IpAddr, u16, u32);

    fn key(&self) -> Self::Key {
        (self.dest.ip, self.port, self.scope_id)
    }
}

impl Target {
    /// A host name (or IP literal) on one port.
    pub fn host(name: &str, port: u16) -> Result<Self, TargetError> {
        Self::host_with_ports(name, &[port])
    }

    /// A host name (or IP literal) on several ports, in order of preference. Repeated ports
    /// count once.
    ///
    /// A link-local IPv6 literal may carry a numeric zone (`fe80::1%3`, `[fe80::1%3]`): the
    /// endpoints carry it as their scope id. A zone that is an interface name (`fe80::1%eth0`)
    /// is refused with [`TargetError::ZoneName`]: mapping it to an index is I/O, the driver's
    /// job; give the resulting socket address to [`Target::addresses`].
    pub fn host_with_ports(name: &str, ports: &[u16]) -> Result<Self, TargetError> {
        let ports = check_ports(ports)?;
        match parse_ip_literal(name) {
            Ok(lit) => {
                let scope_id = match lit.zone {
                    None => 0,
                    Some(zone) => lit.scope_id().ok_or_else(|| TargetError::ZoneName {
                        zone: zone.to_owned(),
                    })?,
                };
                let dest = Destination::new(canonical(lit.ip));
                let entries = ports
                    .iter()
                    .enumerate()
                    .map(|(port_rank, &port)| TargetAddr {
                        dest,
                        port,
                        scope_id,
                        port_rank,
                    })
                    .collect();
                return Ok(Target {
                    kind: TargetKind::Addresses(entries),
                });
            }
            // Brackets, a zone or two colons: meant as an IP literal, so say what is wrong
            // with it as one.
            Err(e) if looks_like_ip_literal(name) => {
                return Err(TargetError::InvalidHost {
                    name: name.chars().take(80).collect(),
                    reason: e.as_str(),
                })
            }
            Err(_) => {}
        }
        check_host_name(name)?;
        Ok(Target {
            kind: TargetKind::Host {
                name: name.to_owned(),
                ports: ports.into_vec(),
                https: false,
            },
        })
    }

    /// Addresses the caller already has, in the caller's order (which RFC 6724 sorting keeps
    /// among equals). Repeated addresses count once; IPv4-mapped IPv6 addresses become IPv4.
    /// The caller's addresses are used as given, even unspecified or multicast ones that a DNS
    /// answer would not be trusted with, and an IPv6 address keeps its scope id (zone): the
    /// endpoint connects with it. Their ports share one rank, so an address's port does not
    /// move it in the order.
    pub fn addresses<I: IntoIterator<Item = SocketAddr>>(addrs: I) -> Result<Self, TargetError> {
        let addrs = addrs.into_iter();
        let mut entries: Distinct<TargetAddr> = Distinct::with_capacity(addrs.size_hint().0);
        for addr in addrs {
            if addr.port() == 0 {
                return Err(TargetError::PortZero);
            }
            let dest = Destination::new(canonical(addr.ip()));
            let scope_id = match (addr, dest.ip) {
                (SocketAddr::V6(v6), IpAddr::V6(_)) => v6.scope_id(),
                _ => 0,
            };
            entries.insert(TargetAddr {
                dest,
                port: addr.port(),
                scope_id,
                port_rank: 0,
            });
        }
        if entries.is_empty() {
            return Err(TargetError::NoAddresses);
        }
        Ok(Target {
            kind: TargetKind::Addresses(entries.into_items()),
        })
    }

    /// Records the source address the host would use for `ip` (RFC 6724 sorting). Only
    /// affects targets with addresses; a host name's sources come with its DNS answers.
    pub fn with_source(mut self, ip: IpAddr, source: SourceAddr) -> Self {
        let ip = canonical(ip);
        if let TargetKind::Addresses(entries) = &mut self.kind {
            for e in entries.iter_mut().filter(|e| e.dest.ip == ip) {
                e.dest.source = source;
            }
        }
        self
    }

    /// Records the source address of every address of the target (RFC 6724 sorting):
    /// `source_of` is asked once per distinct IP address, in the target's order. Linear in
    /// the number of addresses. Does nothing for a host name (its sources come with its DNS
    /// answers).
    pub fn fill_sources(&mut self, mut source_of: impl FnMut(IpAddr) -> SourceAddr) {
        let TargetKind::Addresses(entries) = &mut self.kind else {
            return;
        };
        if entries.len() <= LINEAR_MAX {
            for i in 0..entries.len() {
                let (earlier, rest) = entries.split_at_mut(i);
                let Some(e) = rest.first_mut() else { break };
                e.dest.source = match earlier.iter().find(|x| x.dest.ip == e.dest.ip) {
                    Some(seen) => seen.dest.source,
                    None => source_of(e.dest.ip),
                };
            }
        } else {
            let mut known = HashMap::with_capacity(entries.len());
            for e in entries.iter_mut() {
                e.dest.source = *known
                    .entry(e.dest.ip)
                    .or_insert_with(|| source_of(e.dest.ip));
            }
        }
    }

    /// The socket address of a target of exactly one address (an IP literal on one port, or
    /// a list of one), if it is one.
    pub fn single_addr(&self) -> Option<SocketAddr> {
        match &self.kind {
            TargetKind::Addresses(entries) => match entries.as_slice() {
                [only] => Some(socket_addr(only.dest.ip, only.port, only.scope_id)),
                _ => None,
            },
            TargetKind::Host { .. } => None,
        }
    }

    /// The socket addresses of an address target, in the caller's order (none for a host
    /// name): what a history store looks up before the race starts.
    pub fn addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        let entries = match &self.kind {
            TargetKind::Addresses(entries) => entries.as_slice(),
            TargetKind::Host { .. } => &[],
        };
        entries
            .iter()
            .map(|e| socket_addr(e.dest.ip, e.port, e.scope_id))
    }

    /// This target with an HTTPS query for its host name (V3-4.1.2: what HTTP clients,
    /// WebSocket ones included, send), asked first and together with the address queries.
    /// No effect on an IP literal or a list of addresses: they have no name to ask about.
    pub fn with_https(mut self) -> Self {
        if let TargetKind::Host { https, .. } = &mut self.kind {
            *https = true;
        }
        self
    }

    /// The host name to resolve, if this target has one.
    pub fn host_name(&self) -> Option<&str> {
        match &self.kind {
            TargetKind::Host { name, .. } => Some(name),
            TargetKind::Addresses(_) => None,
        }
    }

    /// Whether the target holds addresses of more than one IP (what makes sorting, and so
    /// source addresses, matter). No allocation: a driver asks before it probes.
    pub fn has_several_ips(&self) -> bool {
        match &self.kind {
            TargetKind::Addresses(entries) => match entries.split_first() {
                Some((first, rest)) => rest.iter().any(|e| e.dest.ip != first.dest.ip),
                None => false,
            },
            TargetKind::Host { .. } => false,
        }
    }

    /// The distinct IP addresses of an address target (empty for a host name): what a driver
    /// probes for source addresses before starting the engine.
    pub fn ips(&self) -> Vec<IpAddr> {
        match &self.kind {
            TargetKind::Addresses(entries) => {
                let mut ips = Distinct::with_capacity(entries.len());
                for e in entries {
                    ips.insert(e.dest.ip);
                }
                ips.into_vec()
            }
            TargetKind::Host { .. } => Vec::new(),
        }
    }
}

fn check_ports(ports: &[u16]) -> Result<SmallVec<[u16; 4]>, TargetError> {
    if ports.is_empty() {
        return Err(TargetError::NoPorts);
    }
    if ports.contains(&0) {
        return Err(TargetError::PortZero);
    }
    let mut out = SmallVec::with_capacity(ports.len());
    if ports.len() <= LINEAR_MAX {
        for &p in ports {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    } else {
        // A long list (up to every port there is) is de-duplicated in linear time: one bit
        // per port number.
        let mut seen = vec![0u64; 1 << 10];
        for &p in ports {
            let (word, bit) = (usize::from(p >> 6), 1u64 << (p & 63));
            if let Some(w) = seen.get_mut(word) {
                if *w & bit == 0 {
                    *w |= bit;
                    out.push(p);
                }
            }
        }
    }
    Ok(out)
}

/// Whether `name` was meant as an IP literal: brackets, a zone, or at least two colons (a
/// host name has none, and `host:port` has one).
fn looks_like_ip_literal(name: &str) -> bool {
    name.contains(['[', ']', '%']) || name.matches(':').nth(1).is_some()
}

fn check_host_name(name: &str) -> Result<(), TargetError> {
    let invalid = |reason| TargetError::InvalidHost {
        name: name.chars().take(80).collect(),
        reason,
    };
    if name.is_empty() {
        return Err(TargetError::EmptyHost);
    }
    if !name.is_ascii() {
        return Err(invalid(
            "not ASCII: convert an internationalized name to its A-label (punycode) form first",
        ));
    }
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.len() > MAX_NAME_LEN {
        return Err(invalid("longer than 253 characters"));
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(invalid("has an empty label"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(invalid("has a label longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "has a character other than letters, digits, '-' and '_'",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("has a label that starts or ends with '-'"));
        }
    }
    Ok(())
}

/// A target the engine refuses: the caller's mistake, never the network's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetError {
    /// The host name is empty.
    EmptyHost,
    /// The host name is not a valid DNS name or IP literal.
    InvalidHost {
        /// The name given (at most its first 80 characters).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No port was given.
    NoPorts,
    /// Port 0 cannot be connected to.
    PortZero,
    /// The list of addresses is empty.
    NoAddresses,
    /// The configuration allows one family only and the target has no address of it.
    NoAddressOfFamily,
    /// The destination policy ([`Config::destinations`](crate::Config::destinations)) refuses
    /// every address of the target; `addr` is the first, refused for `denial`.
    Denied {
        /// The first address refused.
        addr: SocketAddr,
        /// Why.
        denial: Denial,
    },
    /// An IPv6 literal's zone is an interface name (`fe80::1%eth0`): the engine does no I/O
    /// to map it to an interface index. Map it (`if_nametoindex`) and give the address with
    /// that scope id to [`Target::addresses`].
    ZoneName {
        /// The zone given (at most 64 visible ASCII characters, as the parser accepts).
        zone: String,
    },
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::EmptyHost => f.write_str("the host name is empty"),
            TargetError::InvalidHost { name, reason } => {
                write!(f, "invalid host name {name:?}: {reason}")
            }
            TargetError::NoPorts => f.write_str("no port given"),
            TargetError::PortZero => f.write_str("port 0 cannot be connected to"),
            TargetError::NoAddresses => f.write_str("the list of addresses is empty"),
            TargetError::NoAddressOfFamily => {
                f.write_str("no address of the only family the configuration allows")
            }
            TargetError::Denied { addr, denial } => {
                write!(f, "{addr} is refused by the destination policy: {denial}")
            }
            TargetError::ZoneName { zone } => write!(
                f,
                "the zone {zone:?} is an interface name: map it to its index and give a socket \
                 address with that scope id"
            ),
        }
    }
}

impl std::error::Error for TargetError {}
