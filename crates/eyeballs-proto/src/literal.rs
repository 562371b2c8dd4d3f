//! IP address literals as people write them: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, and
//! link-local IPv6 addresses with a zone (`fe80::1%eth0`, `[fe80::1%3]`).
//!
//! The one parser of the workspace: the engine's [`Target`](crate::Target), the connector, the
//! CLI and the proxy all call [`parse_ip_literal`].

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The longest zone accepted, in bytes. Interface names are at most 15 bytes on Linux
/// (`IFNAMSIZ` 16) and 256 on Windows; 64 covers every name seen in practice and keeps a
/// hostile string out of error messages.
const MAX_ZONE_LEN: usize = 64;

/// An IP address literal, parsed by [`parse_ip_literal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct IpLiteral<'a> {
    /// The address, as written: an IPv4-mapped IPv6 address stays IPv6 here (the engine
    /// treats it as IPv4 when it uses it).
    pub ip: IpAddr,
    /// The zone after `%` (RFC 4007 §11), on a link-local IPv6 address only: a number
    /// (`"3"`, an interface index) or an interface name (`"eth0"`). Mapping a name to its
    /// index (`if_nametoindex`) is the driver's job: the engine does no I/O.
    pub zone: Option<&'a str>,
}

impl IpLiteral<'_> {
    /// The zone as an interface index, when it is numeric (`fe80::1%3` gives `Some(3)`);
    /// `None` without a zone or with an interface name.
    pub fn scope_id(&self) -> Option<u32> {
        self.zone.and_then(|z| z.parse().ok())
    }
}

/// Why text is not an IP address literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpLiteralError {
    /// The text (inside any brackets, before any zone) is not an IPv4 or IPv6 address.
    NotAnAddress,
    /// An opening bracket without its closing one, the other way round, or a bracket anywhere
    /// but around the whole literal (`[2001:db8::1`, `2001:db8::1]`, `[[::1]]`).
    UnbalancedBrackets,
    /// Brackets around an IPv4 address: they belong to IPv6 only (RFC 3986 §3.2.2).
    BracketedIpv4,
    /// A zone on an address that is not a link-local IPv6 address (`192.0.2.1%eth0`,
    /// `2001:db8::1%eth0`): only link-local addresses need one to say which link.
    ZoneNotAllowed,
    /// An empty zone (`fe80::1%`), a numeric zone above `u32::MAX`, a zone longer than 64
    /// bytes, or one with a character other than a visible ASCII one or with `%`, `[`, `]`
    /// or `/`.
    InvalidZone,
}

impl IpLiteralError {
    /// What is wrong, as a short phrase (used in [`TargetError::InvalidHost`](crate::TargetError::InvalidHost)).
    pub fn as_str(self) -> &'static str {
        match self {
            IpLiteralError::NotAnAddress => "is not an IP address",
            IpLiteralError::UnbalancedBrackets => "has unbalanced or misplaced brackets",
            IpLiteralError::BracketedIpv4 => "puts brackets around an IPv4 address",
            IpLiteralError::ZoneNotAllowed => {
                "has a zone id on an address that is not link-local IPv6"
            }
            IpLiteralError::InvalidZone => "has an invalid zone id",
        }
    }
}

impl fmt::Display for IpLiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the IP literal {}", self.as_str())
    }
}

impl std::error::Error for IpLiteralError {}

/// Parses an IP address literal, with or without brackets, with a zone on link-local IPv6.
///
/// Accepted: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, `fe80::1%eth0`, `fe80::1%3`,
/// `[fe80::1%eth0]`. Refused: unbalanced or misplaced brackets (`[1.2.3.4`, `2001:db8::1]`),
/// brackets around IPv4 (`[192.0.2.1]`), a zone anywhere but on a link-local IPv6 address
/// (`fe80::/10`), and anything that is not an address. No port: split `HOST:PORT` first. No
/// percent-encoding: a URI's `%25` (RFC 6874) is the URI parser's to decode.
///
/// ```
/// use eyeballs_proto::{parse_ip_literal, IpLiteralError};
///
/// let lit = parse_ip_literal("[fe80::1%eth0]").unwrap();
/// assert_eq!(lit.ip, "fe80::1".parse::<std::net::IpAddr>().unwrap());
/// assert_eq!(lit.zone, Some("eth0"));
/// assert_eq!(parse_ip_literal("fe80::1%3").unwrap().scope_id(), Some(3));
/// assert_eq!(parse_ip_literal("[1.2.3.4"), Err(IpLiteralError::UnbalancedBrackets));
/// ```
pub fn parse_ip_literal(text: &str) -> Result<IpLiteral<'_>, IpLiteralError> {
    let (inner, bracketed) = match text.strip_prefix('[') {
        Some(rest) => (
            rest.strip_suffix(']')
                .ok_or(IpLiteralError::UnbalancedBrackets)?,
            true,
        ),
        None if text.ends_with(']') => return Err(IpLiteralError::UnbalancedBrackets),
        None => (text, false),
    };
    if inner.bytes().any(|b| b == b'[' || b == b']') {
        return Err(IpLiteralError::UnbalancedBrackets);
    }
    let (addr, zone) = match inner.split_once('%') {
        Some((addr, zone)) => (addr, Some(zone)),
        None => (inner, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| IpLiteralError::NotAnAddress)?;
    if bracketed && ip.is_ipv4() {
        return Err(IpLiteralError::BracketedIpv4);
    }
    if let Some(zone) = zone {
        match ip {
            IpAddr::V6(v6) if is_link_local(v6) => check_zone(zone)?,
            _ => return Err(IpLiteralError::ZoneNotAllowed),
        }
    }
    Ok(IpLiteral { ip, zone })
}

/// `fe80::/10`, the link-local unicast prefix (RFC 4291 §2.5.6).
fn is_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

fn check_zone(zone: &str) -> Result<(), IpLiteralError> {
    let visible = |b: u8| b.is_ascii_graphic() && !matches!(b, b'%' | b'[' | b']' | b'/');
    let ok = !zone.is_empty() && zone.len() <= MAX_ZONE_LEN && zone.bytes().all(visible);
    let numeric_overflow = zone.bytes().all(|b| b.is_ascii_digit()) && zone.parse::<u32>().is_err();
    if ok && !numeric_overflow {
        Ok(())
    } else {
        Err(IpLiteralError::InvalidZone)
    }
}
