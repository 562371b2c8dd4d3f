//! What to connect to: a host name with ports, or addresses the caller already has.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::dns::{Destination, SourceAddr};
use crate::endpoint::canonical;

/// The longest host name DNS can carry, without the trailing dot (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 253;
/// The longest label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// What a race connects to.
///
/// - [`Target::host`] / [`Target::host_with_ports`]: a name to resolve (AAAA and A), tried on
///   each port; a name that is an IP literal (`192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`) is
///   used as it is, with no DNS.
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
    },
    /// Each entry with the rank of its port among the target's ports (0 = first).
    Addresses(Vec<(Destination, u16, usize)>),
}

impl Target {
    /// A host name (or IP literal) on one port.
    pub fn host(name: &str, port: u16) -> Result<Self, TargetError> {
        Self::host_with_ports(name, &[port])
    }

    /// A host name (or IP literal) on several ports, in order of preference. Repeated ports
    /// count once.
    pub fn host_with_ports(name: &str, ports: &[u16]) -> Result<Self, TargetError> {
        let ports = check_ports(ports)?;
        if let Some(ip) = parse_literal(name) {
            let dest = Destination::new(canonical(ip));
            let entries = ports
                .iter()
                .enumerate()
                .map(|(rank, &port)| (dest, port, rank))
                .collect();
            return Ok(Target {
                kind: TargetKind::Addresses(entries),
            });
        }
        check_host_name(name)?;
        Ok(Target {
            kind: TargetKind::Host {
                name: name.to_owned(),
                ports,
            },
        })
    }

    /// Addresses the caller already has, in the caller's order (which RFC 6724 sorting keeps
    /// among equals). Repeated addresses count once; IPv4-mapped IPv6 addresses become IPv4.
    /// The caller's addresses are used as given, even unspecified or multicast ones that a DNS
    /// answer would not be trusted with. Their ports share one rank, so an address's port does
    /// not move it in the order.
    pub fn addresses<I: IntoIterator<Item = SocketAddr>>(addrs: I) -> Result<Self, TargetError> {
        let addrs = addrs.into_iter();
        let mut entries: Vec<(Destination, u16, usize)> = Vec::with_capacity(addrs.size_hint().0);
        let mut seen = HashSet::with_capacity(addrs.size_hint().0);
        for addr in addrs {
            if addr.port() == 0 {
                return Err(TargetError::PortZero);
            }
            let dest = Destination::new(canonical(addr.ip()));
            if seen.insert((dest.ip, addr.port())) {
                entries.push((dest, addr.port(), 0));
            }
        }
        if entries.is_empty() {
            return Err(TargetError::NoAddresses);
        }
        Ok(Target {
            kind: TargetKind::Addresses(entries),
        })
    }

    /// Records the source address the host would use for `ip` (RFC 6724 sorting). Only
    /// affects targets with addresses; a host name's sources come with its DNS answers.
    pub fn with_source(mut self, ip: IpAddr, source: SourceAddr) -> Self {
        let ip = canonical(ip);
        if let TargetKind::Addresses(entries) = &mut self.kind {
            for (d, _, _) in entries.iter_mut().filter(|(d, _, _)| d.ip == ip) {
                d.source = source;
            }
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

    /// The distinct IP addresses of an address target (empty for a host name): what a driver
    /// probes for source addresses before starting the engine.
    pub fn ips(&self) -> Vec<IpAddr> {
        let mut ips = Vec::new();
        if let TargetKind::Addresses(entries) = &self.kind {
            for (d, _, _) in entries {
                if !ips.contains(&d.ip) {
                    ips.push(d.ip);
                }
            }
        }
        ips
    }
}

fn check_ports(ports: &[u16]) -> Result<Vec<u16>, TargetError> {
    if ports.is_empty() {
        return Err(TargetError::NoPorts);
    }
    let mut out = Vec::with_capacity(ports.len());
    for &p in ports {
        if p == 0 {
            return Err(TargetError::PortZero);
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

fn parse_literal(name: &str) -> Option<IpAddr> {
    let inner = name
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(name);
    let ip: IpAddr = inner.parse().ok()?;
    // Brackets belong to IPv6 only.
    (inner.len() == name.len() || ip.is_ipv6()).then_some(ip)
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
        }
    }
}

impl std::error::Error for TargetError {}
