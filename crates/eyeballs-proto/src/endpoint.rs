//! Endpoints: what an attempt connects to.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv6 (AAAA records).
    V6,
    /// IPv4 (A records).
    V4,
}

impl Family {
    /// The family of `ip`. IPv4-mapped IPv6 addresses count as IPv6 here; the engine
    /// canonicalizes them to IPv4 before they get this far.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(_) => Family::V6,
            IpAddr::V4(_) => Family::V4,
        }
    }

    /// The other family.
    pub fn other(self) -> Self {
        match self {
            Family::V6 => Family::V4,
            Family::V4 => Family::V6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V6 => "ipv6",
            Family::V4 => "ipv4",
        })
    }
}

/// The transport an attempt uses.
///
/// Only TCP is produced today; QUIC endpoints arrive with HTTPS/SVCB support (HEv3, V3-5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (RFC 8305 §5).
    #[default]
    Tcp,
    /// QUIC (HEv3 §6, V3-6.5).
    Quic,
}

/// One thing to connect to: an address, a port and a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The destination address and port.
    pub addr: SocketAddr,
    /// The transport to use.
    pub protocol: Protocol,
}

impl Endpoint {
    /// A TCP endpoint.
    pub fn tcp(addr: SocketAddr) -> Self {
        Endpoint {
            addr,
            protocol: Protocol::Tcp,
        }
    }

    /// The family of the endpoint's address.
    pub fn family(&self) -> Family {
        Family::of(self.addr.ip())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            Protocol::Tcp => write!(f, "{}", self.addr),
            Protocol::Quic => write!(f, "quic://{}", self.addr),
        }
    }
}

/// `ip` with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) turned into plain IPv4.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}
