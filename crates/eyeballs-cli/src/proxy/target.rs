//! Where a client wants to go: a host name or an address, checked for what no race could
//! use (port 0, an invalid name), and the race to it (whose failure
//! [`super::reply::failure_reply`] turns into a reply code; the destination policy is the
//! connector's, applied by the race to every address).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use eyeballs::proto::Target;
use eyeballs::{Connection, Connector, Error};

use super::reply::Reply;

/// The destination of a CONNECT request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A host name, resolved by the race.
    Name {
        /// A valid host name (never an IP literal).
        host: String,
        /// The port, never 0.
        port: u16,
    },
    /// An address, raced alone (no DNS).
    Addr(SocketAddr),
}

/// A destination the proxy will not race: the reply it gets and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reply code sent to the client.
    pub reply: Reply,
    /// Why, for the log.
    pub reason: String,
}

impl Destination {
    /// `host` as a client sent it (a host name, an IP address, or `[IPv6]`) and `port`.
    pub fn from_host(host: &str, port: u16) -> Result<Self, Refusal> {
        if let Ok(literal) = eyeballs_proto::parse_ip_literal(host) {
            let addr = match (literal.ip, literal.scope_id()) {
                (IpAddr::V6(ip), Some(scope)) => {
                    SocketAddr::V6(std::net::SocketAddrV6::new(ip, port, 0, scope))
                }
                (_, None) if literal.zone.is_some() => {
                    return Err(not_allowed("a zone id given as an interface name"))
                }
                (ip, _) => SocketAddr::new(ip, port),
            };
            return Self::from_addr(addr);
        }
        if port == 0 {
            return Err(not_allowed("port 0"));
        }
        // The engine's own check, with no I/O: what it would refuse, the proxy refuses
        // before racing.
        match Target::host_with_ports(host, &[port]) {
            Ok(_) => Ok(Destination::Name {
                host: host.to_owned(),
                port,
            }),
            Err(e) => Err(Refusal {
                reply: Reply::HostUnreachable,
                reason: e.to_string(),
            }),
        }
    }

    /// An address a client sent. Refuses port 0; which addresses may be connected to is the
    /// destination policy's call, in the race (the library's, for literals and DNS answers
    /// alike).
    pub fn from_addr(addr: SocketAddr) -> Result<Self, Refusal> {
        // IPv4-mapped IPv6 addresses are raced (and logged) as the IPv4 address they are.
        let ip = addr.ip().to_canonical();
        if addr.port() == 0 {
            return Err(not_allowed("port 0"));
        }
        Ok(Destination::Addr(SocketAddr::new(ip, addr.port())))
    }

    /// Races a connection: a host name through DNS, an address alone.
    pub async fn connect(&self, connector: &Connector) -> Result<Connection, Error> {
        match self {
            Destination::Name { host, port } => connector.connect(host, *port).await,
            Destination::Addr(addr) => connector.connect_addrs([*addr]).await,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Name { host, port } => write!(f, "{host}:{port}"),
            Destination::Addr(addr) => write!(f, "{addr}"),
        }
    }
}

fn not_allowed(what: &str) -> Refusal {
    Refusal {
        reply: Reply::NotAllowed,
        reason: format!("not allowed: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn literals_become_addresses() {
        assert_eq!(
            Destination::from_host("127.0.0.1", 80),
            Ok(Destination::Addr(sa("127.0.0.1:80")))
        );
        assert_eq!(
            Destination::from_host("::1", 80),
            Ok(Destination::Addr(sa("[::1]:80")))
        );
        assert_eq!(
            Destination::from_host("[2001:db8::1]", 443),
            Ok(Destination::Addr(sa("[2001:db8::1]:443")))
        );
        assert_eq!(
            Destination::from_addr(sa("[::ffff:198.18.0.10]:80")),
            Ok(Destination::Addr(sa("198.18.0.10:80")))
        );
        assert_eq!(
            Destination::from_host("dual.test", 8080),
            Ok(Destination::Name {
                host: "dual.test".into(),
                port: 8080
            })
        );
    }

    #[test]
    fn port_0_and_invalid_names() {
        // Addresses are the destination policy's call, in the race.
        assert_eq!(
            Destination::from_host("0.0.0.0", 80),
            Ok(Destination::Addr(sa("0.0.0.0:80")))
        );
        for (host, port) in [("127.0.0.1", 0), ("dual.test", 0), ("::", 0)] {
            let refused = Destination::from_host(host, port).unwrap_err();
            assert_eq!(refused.reply, Reply::NotAllowed, "{host}:{port}");
        }
        let long = "a".repeat(254);
        let label = format!("{}.test", "a".repeat(64));
        for host in [
            "",
            "bad name",
            "a\0b",
            "é.test",
            "a..b",
            "-a.test",
            "[127.0.0.1]",
            &long,
            &label,
        ] {
            let refused = Destination::from_host(host, 80).unwrap_err();
            assert_eq!(refused.reply, Reply::HostUnreachable, "{host:?}");
        }
    }
}
