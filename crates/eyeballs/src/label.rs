//! How messages name what a race was for, formatted only when a message needs it (a
//! successful connect never formats its target).

use std::fmt;
use std::net::SocketAddr;

/// The target of a race as the caller named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Label {
    /// A host name or IP literal on one port.
    Host(String, u16),
    /// A host name or IP literal on several ports, tried in this order.
    HostPorts(String, Vec<u16>),
    /// Addresses the caller resolved: the first, and how many more.
    Addrs(SocketAddr, usize),
    /// An empty address list.
    NoAddrs,
}

impl Label {
    /// The label of `host` on `ports`.
    pub(crate) fn host(host: &str, ports: &[u16]) -> Self {
        match ports {
            [port] => Label::Host(host.to_owned(), *port),
            _ => Label::HostPorts(host.to_owned(), ports.to_vec()),
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Host(host, port) => write!(f, "{host}:{port}"),
            Label::HostPorts(host, ports) => write!(f, "{host} (ports {ports:?})"),
            Label::Addrs(first, 0) => write!(f, "{first}"),
            Label::Addrs(first, more) => write!(f, "{first} and {more} more"),
            Label::NoAddrs => f.write_str("an empty address list"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_before() {
        let a: SocketAddr = "192.0.2.1:443".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(
            Label::host("example.test", &[443]).to_string(),
            "example.test:443"
        );
        assert_eq!(
            Label::host("example.test", &[443, 8443]).to_string(),
            "example.test (ports [443, 8443])"
        );
        assert_eq!(Label::Addrs(a, 0).to_string(), "192.0.2.1:443");
        assert_eq!(
            Label::Addrs(b, 1).to_string(),
            "[2001:db8::1]:443 and 1 more"
        );
        assert_eq!(Label::NoAddrs.to_string(), "an empty address list");
    }
}
