//! Noticing that the network changed, so that history learnt on the old one is flushed
//! (RFC 8305 §4, HE-4.6: "flush history when the device changes the network it is attached
//! to"; HEv3 §5.3, V3-5.3.5: flush on a PvD change).
//!
//! On Linux this is an rtnetlink socket subscribed to link, address and route
//! notifications. The history store holds one [`NetworkWatch`] and asks it before a race
//! (at most once a millisecond) whether anything changed; the question costs one `recv`
//! system call when nothing did.

use std::io;

/// Watches the network for the changes that invalidate history (HE-4.6, V3-5.3.5).
///
/// - **What**: on Linux, an rtnetlink (`NETLINK_ROUTE`) socket subscribed to the link
///   (`RTNLGRP_LINK`), IPv4/IPv6 address (`RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV6_IFADDR`) and
///   IPv4/IPv6 route (`RTNLGRP_IPV4_ROUTE`, `RTNLGRP_IPV6_ROUTE`) multicast groups.
/// - **Where**: the network namespace of the thread that called [`new`](Self::new) (a
///   socket belongs to the namespace it was created in, whichever thread reads it later).
/// - **What counts as a change**: a unicast address added that was not there before, an
///   address removed, a link going up or down (its `IFF_UP` or `IFF_RUNNING` flag flips), a
///   default route (prefix length 0, either family, any table) added or removed, lost
///   notifications (`ENOBUFS`: the socket's buffer overflowed), and any other receive or
///   parse error. Not a change: an `RTM_NEWADDR` for an address already known (lifetime
///   refreshes, DAD finishing, flags changing), an `RTM_NEWLINK` that flips neither flag,
///   non-default routes (the prefix routes that come and go with addresses are covered by
///   the address notifications themselves).
/// - **Cost**: [`changed`](Self::changed) with nothing queued is one non-blocking `recv`
///   returning `EAGAIN`, without allocating (the 32 KiB receive buffer lives in the
///   watch). Each notification queued costs its parse. After lost notifications the watch
///   re-reads the kernel's link and address tables (two dumps) so that later answers are
///   exact again.
///
/// Other operating systems: [`new`](Self::new) fails with
/// [`io::ErrorKind::Unsupported`]; the store then keeps history until it expires or is
/// flushed by hand.
#[derive(Debug)]
pub struct NetworkWatch {
    #[cfg(target_os = "linux")]
    inner: linux::Watch,
    #[cfg(not(target_os = "linux"))]
    _private: (),
}

impl NetworkWatch {
    /// Linux: an rtnetlink (`NETLINK_ROUTE`) socket, non-blocking, `CLOEXEC`, subscribed to
    /// the link, IPv4/IPv6 address and IPv4/IPv6 route multicast groups, in the network
    /// namespace of the calling thread. It first takes a dump of the current links
    /// (`RTM_GETLINK`) and addresses (`RTM_GETADDR`), so that lifetime refreshes of
    /// addresses present at creation, and link notifications that flip nothing, are not
    /// taken for changes. Subscribing comes before the dumps: nothing that happens while
    /// the watch is created is missed.
    ///
    /// # Errors
    /// The socket cannot be created, bound or subscribed (e.g. a seccomp filter forbids
    /// netlink), or the dump requests cannot be sent. Other operating systems:
    /// [`io::ErrorKind::Unsupported`].
    pub fn new() -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            linux::Watch::new().map(|inner| NetworkWatch { inner })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "watching the network for changes is implemented on Linux only",
            ))
        }
    }

    /// Drains every queued notification without blocking and says whether any was a
    /// change (see the [type docs](Self)) since the last call, or since creation for the
    /// first call.
    ///
    /// Never blocks and never panics. Lost notifications (`ENOBUFS`) and any other receive
    /// error count as a change (and are logged with `tracing::debug`); the watch then
    /// re-reads the kernel's tables and goes on.
    pub fn changed(&mut self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.inner.changed()
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::{HashMap, HashSet};
    use std::fmt;
    use std::io;
    use std::net::IpAddr;

    use netlink_packet_core::{
        NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
    };
    use netlink_packet_route::address::{AddressAttribute, AddressMessage};
    use netlink_packet_route::link::{LinkFlags, LinkMessage};
    use netlink_packet_route::route::RouteMessage;
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

    /// rtnetlink multicast groups (`enum rtnetlink_groups`, `<linux/rtnetlink.h>`: a stable
    /// kernel ABI, the same on every architecture), joined with `NETLINK_ADD_MEMBERSHIP`.
    const RTNLGRP_LINK: u32 = 1;
    const RTNLGRP_IPV4_IFADDR: u32 = 5;
    const RTNLGRP_IPV4_ROUTE: u32 = 7;
    const RTNLGRP_IPV6_IFADDR: u32 = 9;
    const RTNLGRP_IPV6_ROUTE: u32 = 11;
    const GROUPS: [u32; 5] = [
        RTNLGRP_LINK,
        RTNLGRP_IPV4_IFADDR,
        RTNLGRP_IPV4_ROUTE,
        RTNLGRP_IPV6_IFADDR,
        RTNLGRP_IPV6_ROUTE,
    ];

    /// `MSG_TRUNC` (`<linux/socket.h>`, the same on every architecture): `recv` returns the
    /// datagram's real length, so that a truncated one is noticed.
    const MSG_TRUNC: i32 = 0x20;

    /// The receive buffer. The kernel sizes dump datagrams after the largest buffer a
    /// reader has used, capped at 32 KiB, and a notification is one message (a link
    /// message with all its statistics is a few KiB): 32 KiB holds any datagram.
    const RECV_BUFFER: usize = 32 * 1024;

    /// A receive error (other than `EAGAIN`/`EINTR`) or a truncated datagram more than once
    /// in one call ends the call: an error that repeats must not spin.
    const MAX_ERRORS_PER_CALL: u32 = 2;

    /// The flags whose flip is a link going up or down.
    fn up_running(flags: LinkFlags) -> LinkFlags {
        flags & (LinkFlags::Up | LinkFlags::Running)
    }

    /// A table the watch reads in full.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Table {
        Links,
        Addresses,
    }

    pub(super) struct Watch {
        socket: Socket,
        /// The socket's port id: dump replies carry it; notifications carry 0 or the
        /// port of whoever made the change (never ours: this socket changes nothing).
        pub(super) port: u32,
        /// Reused by every `recv`: the empty path does not allocate.
        buf: Vec<u8>,
        seq: u32,
        /// The dump in progress: its table and sequence number.
        pub(super) dump: Option<(Table, u32)>,
        /// Tables still to be dumped, in order (a socket runs one dump at a time).
        pub(super) to_dump: Vec<Table>,
        /// Known unicast addresses: (interface index, address).
        pub(super) addresses: HashSet<(u32, IpAddr)>,
        /// Per interface index, its `IFF_UP | IFF_RUNNING` bits.
        pub(super) links: HashMap<u32, LinkFlags>,
        /// A change seen since the last `changed()`.
        pub(super) changed: bool,
    }

    impl fmt::Debug for Watch {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("NetworkWatch")
                .field("port", &self.port)
                .field("addresses", &self.addresses.len())
                .field("links", &self.links.len())
                .field("dump", &self.dump)
                .field("pending", &self.changed)
                .finish_non_exhaustive()
        }
    }

    impl Watch {
        pub(super) fn new() -> io::Result<Self> {
            // SOCK_CLOEXEC is set by `Socket::new`.
            let mut socket = Socket::new(NETLINK_ROUTE)?;
            let port = socket.bind_auto()?.port_number();
            for group in GROUPS {
                socket.add_membership(group)?;
            }
            socket.set_non_blocking(true)?;
            let mut watch = Watch {
                socket,
                port,
                buf: vec![0; RECV_BUFFER],
                seq: 0,
                dump: None,
                to_dump: vec![Table::Links, Table::Addresses],
                addresses: HashSet::new(),
                links: HashMap::new(),
                changed: false,
            };
            watch.next_dump()?;
            // The kernel answers a dump as it is read: the first part is queued by the
            // request, each next part by the `recv` that takes the previous one. So the
            // dumps end within this drain; should one not (an allocation failure in the
            // kernel), the next `changed()` finishes it.
            watch.drain();
            // What happened while the watch was being made is the starting point.
            watch.changed = false;
            Ok(watch)
        }

        pub(super) fn changed(&mut self) -> bool {
            self.drain();
            if self.dump.is_none() && !self.to_dump.is_empty() {
                if let Err(e) = self.next_dump() {
                    tracing::debug!(error = %e, "network watch: could not request a table dump");
                    self.changed = true;
                }
            }
            std::mem::take(&mut self.changed)
        }

        /// Reads until the socket is empty.
        fn drain(&mut self) {
            let mut errors = 0;
            loop {
                let received = self.socket.recv(&mut &mut self.buf[..], MSG_TRUNC);
                match received {
                    Ok(n) if n > self.buf.len() => {
                        tracing::debug!(
                            len = n,
                            "network watch: a netlink datagram was truncated; counting a change"
                        );
                        self.lost();
                        errors += 1;
                    }
                    Ok(n) => {
                        // Moved out for the parse (which borrows `self` mutably), then back:
                        // no allocation.
                        let buf = std::mem::take(&mut self.buf);
                        self.datagram(buf.get(..n).unwrap_or_default());
                        self.buf = buf;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // ENOBUFS: the kernel dropped notifications it could not queue.
                        tracing::debug!(
                            error = %e,
                            "network watch: netlink receive failed (ENOBUFS: notifications \
                             lost); counting a change and re-reading the tables"
                        );
                        self.lost();
                        errors += 1;
                    }
                }
                if errors >= MAX_ERRORS_PER_CALL {
                    return;
                }
            }
        }

        /// Notifications were lost: a change, and the tables are read again.
        fn lost(&mut self) {
            self.changed = true;
            for table in [Table::Links, Table::Addresses] {
                if !self.to_dump.contains(&table) {
                    self.to_dump.push(table);
                }
            }
            if self.dump.is_none() {
                if let Err(e) = self.next_dump() {
                    tracing::debug!(error = %e, "network watch: could not request a table dump");
                }
            }
        }

        /// Starts the next pending dump, forgetting what the watch knew of that table.
        fn next_dump(&mut self) -> io::Result<()> {
            if self.to_dump.is_empty() {
                return Ok(());
            }
            let table = self.to_dump.remove(0);
            self.seq = self.seq.wrapping_add(1);
            let payload = match table {
                Table::Links => {
                    self.links.clear();
                    RouteNetlinkMessage::GetLink(LinkMessage::default())
                }
                Table::Addresses => {
                    self.addresses.clear();
                    RouteNetlinkMessage::GetAddress(AddressMessage::default())
                }
            };
            let mut header = NetlinkHeader::default();
            header.flags = NLM_F_REQUEST | NLM_F_DUMP;
            header.sequence_number = self.seq;
            let mut request = NetlinkMessage::new(header, NetlinkPayload::from(payload));
            request.finalize();
            // `finalize` set the length to what `serialize` writes: the buffer fits.
            let mut bytes = vec![0; request.buffer_len()];
            request.serialize(&mut bytes);
            match self.socket.send_to(&bytes, &SocketAddr::new(0, 0), 0) {
                Ok(_) => {
                    self.dump = Some((table, self.seq));
                    Ok(())
                }
                Err(e) => {
                    // Try again at the next call.
                    self.to_dump.insert(0, table);
                    Err(e)
                }
            }
        }

        /// Handles each netlink message of one datagram.
        pub(super) fn datagram(&mut self, mut data: &[u8]) {
            while !data.is_empty() {
                let len = match NetlinkBuffer::new_checked(data) {
                    Ok(b) => b.length() as usize,
                    Err(e) => {
                        tracing::debug!(error = %e, "network watch: malformed netlink datagram");
                        self.changed = true;
                        return;
                    }
                };
                let (message, rest) = data.split_at(len.min(data.len()));
                self.message(message);
                // Messages are aligned to 4 bytes.
                data = rest.get(((len + 3) & !3) - len..).unwrap_or_default();
            }
        }

        fn message(&mut self, bytes: &[u8]) {
            let header = NetlinkBuffer::new(bytes);
            let from_dump = header.port_number() == self.port
                && self
                    .dump
                    .is_some_and(|(_, seq)| seq == header.sequence_number());
            let message = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(error = %e, "network watch: unparsable rtnetlink message");
                    if !from_dump {
                        self.changed = true;
                    }
                    return;
                }
            };
            match message.payload {
                NetlinkPayload::InnerMessage(m) => self.route_message(m, from_dump),
                NetlinkPayload::Done(_) if from_dump => self.dump_ended(),
                NetlinkPayload::Error(e) if from_dump => {
                    tracing::debug!(
                        error = %e.to_io(),
                        table = ?self.dump.map(|(t, _)| t),
                        "network watch: table dump failed; counting a change"
                    );
                    self.changed = true;
                    if let Some((table, _)) = self.dump {
                        // Asked again at the next call, not in this one: no loop.
                        self.to_dump.push(table);
                    }
                    self.dump = None;
                }
                NetlinkPayload::Overrun(_) => self.lost(),
                _ => {}
            }
        }

        fn dump_ended(&mut self) {
            self.dump = None;
            if let Err(e) = self.next_dump() {
                tracing::debug!(error = %e, "network watch: could not request a table dump");
            }
        }

        /// Updates what the watch knows; a notification that changes it is a change.
        fn route_message(&mut self, message: RouteNetlinkMessage, from_dump: bool) {
            let change = match message {
                RouteNetlinkMessage::NewAddress(m) => match address_key(&m) {
                    Some(key) => self.addresses.insert(key),
                    None => false,
                },
                RouteNetlinkMessage::DelAddress(m) => {
                    if let Some(key) = address_key(&m) {
                        self.addresses.remove(&key);
                    }
                    true
                }
                RouteNetlinkMessage::NewLink(m) => {
                    let flags = up_running(m.header.flags);
                    let before = self.links.insert(m.header.index, flags);
                    before.unwrap_or_else(LinkFlags::empty) != flags
                }
                RouteNetlinkMessage::DelLink(m) => {
                    let index = m.header.index;
                    self.addresses.retain(|(i, _)| *i != index);
                    self.links.remove(&index).is_some_and(|f| !f.is_empty())
                }
                RouteNetlinkMessage::NewRoute(m) | RouteNetlinkMessage::DelRoute(m) => {
                    is_default(&m)
                }
                _ => false,
            };
            if change && !from_dump {
                self.changed = true;
            }
        }
    }

    /// (interface, address) of an address message: `IFA_LOCAL` where present (IPv4; on a
    /// point-to-point link `IFA_ADDRESS` is the peer), else `IFA_ADDRESS`.
    fn address_key(m: &AddressMessage) -> Option<(u32, IpAddr)> {
        let mut address = None;
        for attribute in &m.attributes {
            match attribute {
                AddressAttribute::Local(a) => return Some((m.header.index, *a)),
                AddressAttribute::Address(a) => address = Some(*a),
                _ => {}
            }
        }
        address.map(|a| (m.header.index, a))
    }

    fn is_default(m: &RouteMessage) -> bool {
        m.header.destination_prefix_length == 0
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// HE-4.6: a watch can be made unprivileged in the current namespace, and asking costs
    /// nothing that can fail. (Whether the answer is `false` depends on this machine's own
    /// network churn: asserted in the lab test, in a quiet namespace.)
    #[test]
    fn he_4_6_watch_opens_in_the_current_namespace() {
        let mut watch = NetworkWatch::new().expect("an rtnetlink socket");
        for _ in 0..100 {
            let _ = watch.changed();
        }
        let debug = format!("{watch:?}");
        assert!(debug.contains("NetworkWatch"), "{debug}");
    }

    /// The initial dumps learnt the namespace's links and addresses: the loopback
    /// interface at least (index 1 in every namespace, `127.0.0.1` when it is up).
    #[test]
    fn he_4_6_initial_dump_learns_the_tables() {
        let watch = NetworkWatch::new().expect("an rtnetlink socket");
        assert!(watch.inner.dump.is_none(), "dumps finished: {watch:?}");
        assert!(watch.inner.to_dump.is_empty(), "{watch:?}");
        assert!(
            watch.inner.links.contains_key(&1),
            "loopback known: {watch:?}"
        );
        let lo_up = watch
            .inner
            .links
            .get(&1)
            .is_some_and(|f| f.contains(netlink_packet_route::link::LinkFlags::Up));
        if lo_up {
            assert!(
                watch.inner.addresses.iter().any(|(_, a)| a.is_loopback()),
                "a loopback address known: {watch:?}"
            );
        }
    }

    mod messages {
        use std::net::IpAddr;

        use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
        use netlink_packet_route::address::{AddressAttribute, AddressMessage};
        use netlink_packet_route::link::{LinkFlags, LinkMessage};
        use netlink_packet_route::route::RouteMessage;
        use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as M};

        use super::super::NetworkWatch;

        /// A notification as the kernel sends it for a change someone else made.
        fn bytes(message: M, port: u32, seq: u32) -> Vec<u8> {
            let mut header = NetlinkHeader::default();
            header.port_number = port;
            header.sequence_number = seq;
            let mut m = NetlinkMessage::new(header, NetlinkPayload::from(message));
            m.finalize();
            let mut b = vec![0; m.buffer_len()];
            m.serialize(&mut b);
            b
        }

        fn address(index: u32, addr: &str) -> AddressMessage {
            let addr: IpAddr = addr.parse().unwrap();
            let mut m = AddressMessage::default();
            m.header.family = if addr.is_ipv6() {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            };
            m.header.index = index;
            m.header.prefix_len = if addr.is_ipv6() { 128 } else { 32 };
            m.attributes.push(AddressAttribute::Address(addr));
            if addr.is_ipv4() {
                m.attributes.push(AddressAttribute::Local(addr));
            }
            m
        }

        fn link(index: u32, flags: LinkFlags) -> LinkMessage {
            let mut m = LinkMessage::default();
            m.header.index = index;
            m.header.flags = flags;
            m
        }

        fn route(v6: bool, prefix: u8) -> RouteMessage {
            let mut m = RouteMessage::default();
            m.header.address_family = if v6 {
                AddressFamily::Inet6
            } else {
                AddressFamily::Inet
            };
            m.header.destination_prefix_length = prefix;
            m
        }

        /// Feeds a datagram to the watch's parser; whether it counted a change.
        fn feed(watch: &mut NetworkWatch, datagram: &[u8]) -> bool {
            watch.inner.changed = false;
            watch.inner.datagram(datagram);
            std::mem::take(&mut watch.inner.changed)
        }

        /// HE-4.6: what each notification means, fed straight to the parser (no socket
        /// traffic: deterministic, unprivileged). Interface indices 1000+ exist nowhere.
        #[test]
        fn he_4_6_what_counts_as_a_change() {
            let mut watch = NetworkWatch::new().expect("an rtnetlink socket");
            let up = LinkFlags::Up | LinkFlags::Running;
            let cases: Vec<(&str, M, bool)> = vec![
                (
                    "new address",
                    M::NewAddress(address(1000, "2001:db8::1")),
                    true,
                ),
                (
                    "the same address again (lifetime refresh)",
                    M::NewAddress(address(1000, "2001:db8::1")),
                    false,
                ),
                (
                    "the same address on another link",
                    M::NewAddress(address(1001, "2001:db8::1")),
                    true,
                ),
                (
                    "new IPv4 address",
                    M::NewAddress(address(1000, "198.18.9.1")),
                    true,
                ),
                (
                    "IPv4 refresh",
                    M::NewAddress(address(1000, "198.18.9.1")),
                    false,
                ),
                (
                    "address removed",
                    M::DelAddress(address(1000, "2001:db8::1")),
                    true,
                ),
                (
                    "an unknown address removed",
                    M::DelAddress(address(1000, "2001:db8::99")),
                    true,
                ),
                (
                    "the removed address back",
                    M::NewAddress(address(1000, "2001:db8::1")),
                    true,
                ),
                (
                    "new link, down",
                    M::NewLink(link(1002, LinkFlags::empty())),
                    false,
                ),
                ("the link, up", M::NewLink(link(1002, LinkFlags::Up)), true),
                (
                    "other flags only",
                    M::NewLink(link(1002, LinkFlags::Up | LinkFlags::Multicast)),
                    false,
                ),
                (
                    "carrier: running",
                    M::NewLink(link(1002, up | LinkFlags::LowerUp)),
                    true,
                ),
                ("the same again", M::NewLink(link(1002, up)), false),
                ("down", M::NewLink(link(1002, LinkFlags::empty())), true),
                (
                    "a down link deleted",
                    M::DelLink(link(1002, LinkFlags::empty())),
                    false,
                ),
                ("new link, up", M::NewLink(link(1003, up)), true),
                ("an up link deleted", M::DelLink(link(1003, up)), true),
                ("a prefix route", M::NewRoute(route(false, 24)), false),
                ("a host route", M::DelRoute(route(true, 128)), false),
                (
                    "IPv4 default route added",
                    M::NewRoute(route(false, 0)),
                    true,
                ),
                (
                    "IPv6 default route removed",
                    M::DelRoute(route(true, 0)),
                    true,
                ),
            ];
            for (what, message, change) in cases {
                assert_eq!(feed(&mut watch, &bytes(message, 0, 0)), change, "{what}");
            }
        }

        /// Dump replies (our port, the dump's sequence number) teach without counting;
        /// several messages in one datagram are all read; garbage counts as a change.
        #[test]
        fn he_4_6_dump_replies_batches_and_garbage() {
            let mut watch = NetworkWatch::new().expect("an rtnetlink socket");
            let port = watch.inner.port;
            watch.inner.dump = Some((super::super::linux::Table::Addresses, 77));
            let reply = bytes(M::NewAddress(address(1000, "2001:db8::7")), port, 77);
            assert!(!feed(&mut watch, &reply), "a dump reply");
            watch.inner.dump = None;
            let refresh = bytes(M::NewAddress(address(1000, "2001:db8::7")), 0, 0);
            assert!(!feed(&mut watch, &refresh), "known from the dump");
            // Another process's request (its port and sequence number) is a notification.
            let theirs = bytes(M::NewAddress(address(1000, "2001:db8::8")), 4242, 77);
            assert!(feed(&mut watch, &theirs), "someone else's change");

            let mut batch = bytes(M::NewRoute(route(false, 24)), 0, 0);
            batch.extend(bytes(M::NewRoute(route(true, 0)), 0, 0));
            assert!(feed(&mut watch, &batch), "the second message of a datagram");

            for garbage in [&[0xffu8; 3][..], &[0; 16], &[0xff; 40]] {
                assert!(feed(&mut watch, garbage), "{garbage:?}");
            }
            let mut truncated = bytes(M::NewAddress(address(1000, "2001:db8::9")), 0, 0);
            truncated.truncate(truncated.len() - 4);
            assert!(feed(&mut watch, &truncated), "truncated");
        }
    }

    /// Many watches at once (one per store) are independent sockets.
    #[test]
    fn he_4_6_watches_are_independent() {
        let mut watches: Vec<_> = (0..8)
            .map(|_| NetworkWatch::new().expect("an rtnetlink socket"))
            .collect();
        let ports: std::collections::HashSet<u32> = watches.iter().map(|w| w.inner.port).collect();
        assert_eq!(ports.len(), 8);
        for w in &mut watches {
            let _ = w.changed();
        }
    }
}
