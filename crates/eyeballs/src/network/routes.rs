//! Which families the host can reach the outside with (V3-4.1.1, HE-7.2): its addresses
//! and routes, read from the kernel over rtnetlink.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

/// Which IP families have connectivity, as [`detect_connectivity`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Connectivity {
    /// An IPv6 address that is neither loopback nor link-local, and a route to a
    /// destination that is neither (a default route, or any other).
    pub ipv6: bool,
    /// The same for IPv4.
    pub ipv4: bool,
}

/// Reads the addresses and routes of the calling thread's network namespace and says which
/// families can reach beyond the host (V3-4.1.1; the HE-7.2 / V3-8.0.1 heuristic: IPv6
/// and no IPv4 is where NAT64 applies).
///
/// A family has connectivity when both hold:
/// - an address of the family that is not loopback, not link-local (`169.254.0.0/16`,
///   `fe80::/10`), not multicast and not unspecified;
/// - a unicast route of the family, in any table but `local`, whose destination is the
///   default (`/0`) or a prefix that is not loopback, link-local or multicast (a lab's
///   `198.18.0.0/15 dev veth0` counts: the host reaches something through it).
///
/// A CLAT (464XLAT) interface with `192.0.0.4` and an IPv4 default route counts as IPv4
/// connectivity: the OS translates, the connector needs not (HE-7.1).
///
/// Linux: two rtnetlink dumps (`RTM_GETADDR`, `RTM_GETROUTE`, both families) on a socket
/// opened and closed for the call; unprivileged; no packet leaves the host.
///
/// # Errors
/// The netlink socket cannot be opened (a seccomp filter), a dump fails or cannot be
/// parsed. Other operating systems: [`io::ErrorKind::Unsupported`].
pub fn detect_connectivity() -> io::Result<Connectivity> {
    #[cfg(target_os = "linux")]
    {
        linux::detect()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "connectivity detection is implemented on Linux only",
        ))
    }
}

/// Whether `ip` can be the source of traffic beyond the host.
fn usable_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_link_local() || v4.is_multicast() || v4.is_unspecified())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback() || is_link_local_v6(v6) || v6.is_multicast() || v6.is_unspecified())
        }
    }
}

/// Whether a route to `dest/len` leads beyond the host: the default route, or a prefix
/// outside loopback, link-local and multicast.
fn outside_route(dest: Option<IpAddr>, len: u8) -> bool {
    if len == 0 {
        return true;
    }
    match dest {
        None => false,
        Some(IpAddr::V4(v4)) => !(v4.is_loopback() || v4.is_link_local() || v4.is_multicast()),
        Some(IpAddr::V6(v6)) => {
            !(v6.is_loopback()
                || is_link_local_v6(v6)
                || v6.is_multicast()
                || v6 == Ipv6Addr::UNSPECIFIED)
        }
    }
}

/// `fe80::/10`.
fn is_link_local_v6(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// What the dumps taught, folded per family.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    v4_address: bool,
    v6_address: bool,
    v4_route: bool,
    v6_route: bool,
}

impl Seen {
    fn address(&mut self, ip: IpAddr) {
        if usable_address(ip) {
            match ip {
                IpAddr::V4(_) => self.v4_address = true,
                IpAddr::V6(_) => self.v6_address = true,
            }
        }
    }

    fn route(&mut self, v6: bool, dest: Option<IpAddr>, len: u8) {
        if outside_route(dest, len) {
            if v6 {
                self.v6_route = true;
            } else {
                self.v4_route = true;
            }
        }
    }

    fn connectivity(self) -> Connectivity {
        Connectivity {
            ipv6: self.v6_address && self.v6_route,
            ipv4: self.v4_address && self.v4_route,
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::net::IpAddr;

    use netlink_packet_core::{
        NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
    };
    use netlink_packet_route::address::{AddressAttribute, AddressMessage};
    use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
    use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
    use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

    use super::{Connectivity, Seen};

    /// The kernel's `local` routing table (`RT_TABLE_LOCAL`, `<linux/rtnetlink.h>`): the
    /// host's own and broadcast addresses, never a way out.
    const RT_TABLE_LOCAL: u32 = 255;

    /// The receive buffer: the kernel sizes dump datagrams to at most 32 KiB (see
    /// `history::netwatch`).
    const RECV_BUFFER: usize = 32 * 1024;

    /// `MSG_TRUNC`: `recv` returns the datagram's real length, so that a truncated one is
    /// noticed (`<linux/socket.h>`, the same on every architecture).
    const MSG_TRUNC: i32 = 0x20;

    pub(super) fn detect() -> io::Result<Connectivity> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        let port = socket.bind_auto()?.port_number();
        let mut seen = Seen::default();
        let mut buf = vec![0; RECV_BUFFER];
        dump(
            &mut socket,
            port,
            1,
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            &mut buf,
            &mut seen,
        )?;
        dump(
            &mut socket,
            port,
            2,
            RouteNetlinkMessage::GetRoute(RouteMessage::default()),
            &mut buf,
            &mut seen,
        )?;
        Ok(seen.connectivity())
    }

    /// Sends one dump request (all families) and folds every reply into `seen`, until the
    /// dump's `NLMSG_DONE`.
    fn dump(
        socket: &mut Socket,
        port: u32,
        seq: u32,
        request: RouteNetlinkMessage,
        buf: &mut [u8],
        seen: &mut Seen,
    ) -> io::Result<()> {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = seq;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::from(request));
        message.finalize();
        // `finalize` set the length to what `serialize` writes: the buffer fits.
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        socket.send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
        loop {
            // Blocking: the kernel queues each part of a dump when the previous one is
            // read, so the next datagram is always on its way.
            let n = socket.recv(&mut &mut buf[..], MSG_TRUNC)?;
            if n > buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "an rtnetlink dump datagram was truncated",
                ));
            }
            if datagram(buf.get(..n).unwrap_or_default(), port, seq, seen)? {
                return Ok(());
            }
        }
    }

    /// Folds one datagram's messages into `seen`; `true` at the dump's end.
    fn datagram(mut data: &[u8], port: u32, seq: u32, seen: &mut Seen) -> io::Result<bool> {
        while !data.is_empty() {
            let len = NetlinkBuffer::new_checked(data)
                .map_err(|e| invalid(format!("malformed netlink datagram: {e}")))?
                .length() as usize;
            let (bytes, rest) = data.split_at(len.min(data.len()));
            // Messages are aligned to 4 bytes.
            data = rest.get(((len + 3) & !3) - len..).unwrap_or_default();
            let header = NetlinkBuffer::new(bytes);
            if header.port_number() != port || header.sequence_number() != seq {
                // Not a reply to this dump (nothing else is subscribed to): skip.
                continue;
            }
            let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                .map_err(|e| invalid(format!("unparsable rtnetlink message: {e}")))?;
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(true),
                NetlinkPayload::Error(e) => return Err(e.to_io()),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => {
                    if let Some(ip) = address_of(&m) {
                        seen.address(ip);
                    }
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(m)) => route(&m, seen),
                _ => {}
            }
        }
        Ok(false)
    }

    /// The local address of an address message: `IFA_LOCAL` where present (on a
    /// point-to-point link `IFA_ADDRESS` is the peer), else `IFA_ADDRESS`.
    fn address_of(m: &AddressMessage) -> Option<IpAddr> {
        let mut address = None;
        for attribute in &m.attributes {
            match attribute {
                AddressAttribute::Local(a) => return Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                _ => {}
            }
        }
        address
    }

    fn route(m: &RouteMessage, seen: &mut Seen) {
        let v6 = match m.header.address_family {
            AddressFamily::Inet => false,
            AddressFamily::Inet6 => true,
            _ => return,
        };
        if m.header.kind != RouteType::Unicast {
            return;
        }
        let mut table = u32::from(m.header.table);
        let mut dest = None;
        for attribute in &m.attributes {
            match attribute {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Destination(RouteAddress::Inet(a)) => dest = Some((*a).into()),
                RouteAttribute::Destination(RouteAddress::Inet6(a)) => dest = Some((*a).into()),
                _ => {}
            }
        }
        if table == RT_TABLE_LOCAL {
            return;
        }
        seen.route(v6, dest, m.header.destination_prefix_length);
    }

    fn invalid(what: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, what)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failure is the report.
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// V3-4.1.1: what counts as an address and a route of a family with connectivity.
    #[test]
    fn v3_4_1_1_addresses_and_routes_that_count() {
        for (a, usable) in [
            ("198.19.0.1", true),
            ("10.0.0.1", true),
            ("192.0.0.4", true),
            ("127.0.0.1", false),
            ("169.254.1.1", false),
            ("0.0.0.0", false),
            ("2001:db8::1", true),
            ("fd00::1", true),
            ("::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("ff02::1", false),
            ("::", false),
        ] {
            assert_eq!(usable_address(ip(a)), usable, "{a}");
        }
        assert!(outside_route(None, 0), "default route");
        assert!(outside_route(Some(ip("0.0.0.0")), 0));
        assert!(outside_route(Some(ip("198.18.0.0")), 15));
        assert!(outside_route(Some(ip("2001:db8::")), 32));
        assert!(!outside_route(Some(ip("fe80::")), 64));
        assert!(!outside_route(Some(ip("ff00::")), 8));
        assert!(!outside_route(Some(ip("127.0.0.0")), 8));
        assert!(!outside_route(Some(ip("169.254.0.0")), 16));
        assert!(!outside_route(None, 24), "a prefix without its address");
    }

    /// HE-7.2: IPv6 and no IPv4 is what a NAT64 network looks like; an address alone or a
    /// route alone is not connectivity.
    #[test]
    fn he_7_2_both_an_address_and_a_route() {
        let mut seen = Seen::default();
        seen.address(ip("2001:db8::1"));
        seen.route(true, Some(ip("2001:db8::")), 32);
        seen.address(ip("127.0.0.1"));
        seen.route(false, Some(ip("169.254.0.0")), 16);
        assert_eq!(
            seen.connectivity(),
            Connectivity {
                ipv6: true,
                ipv4: false
            }
        );
        let mut route_only = Seen::default();
        route_only.route(false, None, 0);
        assert!(!route_only.connectivity().ipv4);
        let mut address_only = Seen::default();
        address_only.address(ip("198.19.0.1"));
        assert!(!address_only.connectivity().ipv4);
    }

    /// The dumps work unprivileged in the current namespace (what they find depends on the
    /// machine; the lab test checks the answers in namespaces of known shape).
    #[cfg(target_os = "linux")]
    #[test]
    fn v3_4_1_1_detection_runs_here() {
        detect_connectivity().unwrap();
    }
}
