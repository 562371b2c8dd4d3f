//! Endpoints: what an attempt connects to.

use std::fmt;
use std::hash::{Hash, Hasher};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Hash for Endpoint {
    /// Two words, where the derived hash writes each field of the address on its own (a round
    /// of the hasher each; a history lookup hashed an endpoint in some 70 instructions): the
    /// address's bits, then its port, scope id, family and the protocol. Endpoints that are
    /// equal write the same words (the IPv6 flow label, which equality also compares, is left
    /// out: a hash may ignore what equality looks at, never the other way round).
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (bits, scope, v6) = match self.addr {
            SocketAddr::V4(a) => (u128::from(a.ip().to_bits()), 0, 0),
            SocketAddr::V6(a) => (a.ip().to_bits(), a.scope_id(), 1),
        };
        let protocol: u64 = match self.protocol {
            Protocol::Tcp => 0,
            Protocol::Quic => 1,
        };
        state.write_u128(bits);
        state.write_u64(
            u64::from(self.addr.port()) | u64::from(scope) << 16 | v6 << 48 | protocol << 49,
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::DefaultHasher;
    use std::net::{SocketAddrV4, SocketAddrV6};

    fn hash(e: Endpoint) -> u64 {
        let mut h = DefaultHasher::new();
        e.hash(&mut h);
        h.finish()
    }

    fn v6(ip: std::net::Ipv6Addr, port: u16, flow: u32, scope: u32) -> SocketAddr {
        SocketAddr::V6(SocketAddrV6::new(ip, port, flow, scope))
    }

    const DOC: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    /// `::102:304`: the bits of 1.2.3.4.
    const BITS: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0x102, 0x304);

    #[test]
    fn equal_endpoints_hash_alike_whatever_their_flow_label() {
        let a = Endpoint::tcp(v6(DOC, 443, 0, 0));
        let b = Endpoint::tcp(v6(DOC, 443, 7, 0));
        // Equality compares the flow label; the hash may ignore it, never the other way.
        assert_ne!(a, b);
        assert_eq!(hash(a), hash(b));
        assert_eq!(hash(a), hash(Endpoint::tcp(v6(DOC, 443, 0, 0))));
    }

    #[test]
    fn each_part_of_an_endpoint_changes_its_hash() {
        let base = Endpoint::tcp(v6(BITS, 443, 0, 0));
        let quic = Endpoint {
            protocol: Protocol::Quic,
            ..base
        };
        let others = [
            Endpoint::tcp(v6(
                std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0x102, 0x305),
                443,
                0,
                0,
            )),
            Endpoint::tcp(v6(BITS, 444, 0, 0)),
            Endpoint::tcp(v6(BITS, 443, 0, 2)),
            // The IPv4 address with the same bits as the IPv6 one.
            Endpoint::tcp(SocketAddr::V4(SocketAddrV4::new([1, 2, 3, 4].into(), 443))),
            quic,
        ];
        for other in others {
            assert_ne!(hash(base), hash(other), "{other:?}");
        }
    }
}
