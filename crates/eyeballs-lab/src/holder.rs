//! The packet holder: a minimal NFQUEUE client over raw netlink.
//!
//! Packets sent to queue [`QUEUE_NUM`] by the server namespace's firewall are held for
//! the delay configured for their destination address (and, for UDP, its own delay if
//! the address has one: [`Flow::Udp`]), then given verdict ACCEPT. An
//! ACCEPT verdict continues with the next netfilter hook entry, so a later-priority
//! rule (e.g. the `Unreachable` REJECT) still applies after the hold.
//!
//! Protocol: `linux/netfilter/nfnetlink_queue.h`. Only what the lab needs is here:
//! bind, copy-range, packet messages and ACCEPT verdicts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::socket::{
    self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use nix::sys::time::{TimeSpec, TimeVal};

use crate::netns::Ready;
use crate::LabError;

/// The queue number the firewall rules use (queues are per network namespace).
pub(crate) const QUEUE_NUM: u16 = 0;

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_PAYLOAD: u16 = 10;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_COPY_PACKET: u8 = 2;
const NF_ACCEPT: u32 = 1;
const NLA_TYPE_MASK: u16 = 0x3fff;
/// Enough of each packet to read the IPv4 or IPv6 destination address and protocol.
const COPY_RANGE: u32 = 64;

/// Builds one nfnetlink message: nlmsghdr + nfgenmsg + attributes.
fn message(msg_type: u16, flags: u16, seq: u32, res_id: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, patched below
    buf.extend_from_slice(&((NFNL_SUBSYS_QUEUE << 8) | msg_type).to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel
    buf.push(0); // nfgen_family: AF_UNSPEC
    buf.push(0); // version: NFNETLINK_V0
    buf.extend_from_slice(&res_id.to_be_bytes());
    for (kind, payload) in attrs {
        // Attribute payloads here are a few bytes long: the u16 length cannot overflow.
        let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
        buf.extend_from_slice(&len.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(payload);
        while buf.len() % 4 != 0 {
            buf.push(0);
        }
    }
    let total = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    buf[..4].copy_from_slice(&total.to_ne_bytes());
    buf
}

/// Splits a datagram into netlink messages: (type, payload after the 16-byte header).
fn netlink_messages(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = u32::from_ne_bytes(data.get(..4)?.try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(data.get(4..6)?.try_into().ok()?);
        if len < 16 || len > data.len() {
            return None;
        }
        let body = data.get(16..len)?;
        data = data.get(align4(len).min(data.len())..)?;
        Some((kind, body))
    })
}

/// Iterates netlink attributes: (type without flag bits, payload).
fn attributes(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_ne_bytes(data.get(..2)?.try_into().ok()?));
        let kind = u16::from_ne_bytes(data.get(2..4)?.try_into().ok()?) & NLA_TYPE_MASK;
        if len < 4 || len > data.len() {
            return None;
        }
        let payload = data.get(4..len)?;
        data = data.get(align4(len).min(data.len())..)?;
        Some((kind, payload))
    })
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Destination address of a raw IPv4 or IPv6 packet.
pub(crate) fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let b: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(b)))
        }
        6 => {
            let b: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

/// IP protocol number of UDP.
const IPPROTO_UDP: u8 = 17;

/// Whether a raw IPv4 or IPv6 packet carries UDP (IPv4 protocol field; IPv6 next header of
/// the fixed header: the lab's clients send no extension headers).
pub(crate) fn is_udp(packet: &[u8]) -> bool {
    let protocol = match packet.first().map(|b| b >> 4) {
        Some(4) => packet.get(9),
        Some(6) => packet.get(6),
        _ => None,
    };
    protocol == Some(&IPPROTO_UDP)
}

/// What a queued packet is: its id, destination and whether it is UDP.
type Packet = (u32, Option<IpAddr>, bool);

/// A queued packet: its id and (if its payload is present) its destination and protocol.
fn parse_packet(body: &[u8]) -> Option<Packet> {
    let attrs = body.get(4..)?; // skip nfgenmsg
    let mut id = None;
    let mut dst = None;
    let mut udp = false;
    for (kind, payload) in attributes(attrs) {
        match kind {
            NFQA_PACKET_HDR => id = Some(u32::from_be_bytes(payload.get(..4)?.try_into().ok()?)),
            NFQA_PAYLOAD => {
                dst = destination(payload);
                udp = is_udp(payload);
            }
            _ => {}
        }
    }
    Some((id?, dst, udp))
}

struct NfQueue {
    fd: OwnedFd,
    seq: u32,
}

impl NfQueue {
    fn open() -> Result<Self, LabError> {
        let fd = socket::socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(|e| LabError::io("opening a netfilter netlink socket", e))?;
        socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))
            .map_err(|e| LabError::io("binding the netfilter netlink socket", e))?;
        // Configuration requests below wait for an ACK: never forever.
        socket::setsockopt(&fd, socket::sockopt::ReceiveTimeout, &TimeVal::new(2, 0))
            .map_err(|e| LabError::io("setting SO_RCVTIMEO on the netlink socket", e))?;
        let mut queue = NfQueue { fd, seq: 0 };
        // struct nfqnl_msg_config_cmd { u8 command; u8 _pad; __be16 pf; }
        queue.request(
            NFQA_CFG_CMD,
            &[NFQNL_CFG_CMD_BIND, 0, 0, 0],
            "binding nfqueue 0",
        )?;
        // struct nfqnl_msg_config_params { __be32 copy_range; u8 copy_mode; } (packed)
        let mut params = COPY_RANGE.to_be_bytes().to_vec();
        params.push(NFQNL_COPY_PACKET);
        queue.request(NFQA_CFG_PARAMS, &params, "setting the nfqueue copy mode")?;
        Ok(queue)
    }

    /// Sends a config request and waits for its ACK.
    fn request(&mut self, attr: u16, payload: &[u8], what: &str) -> Result<(), LabError> {
        self.seq += 1;
        let msg = message(
            NFQNL_MSG_CONFIG,
            NLM_F_REQUEST | NLM_F_ACK,
            self.seq,
            QUEUE_NUM,
            &[(attr, payload)],
        );
        self.send(&msg).map_err(|e| LabError::io(what, e))?;
        let mut buf = [0u8; 8192];
        loop {
            let n = socket::recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())
                .map_err(|e| LabError::io(format!("{what} (waiting for the ack)"), e))?;
            for (kind, body) in netlink_messages(buf.get(..n).unwrap_or_default()) {
                if kind == NLMSG_ERROR {
                    let code = body
                        .get(..4)
                        .and_then(|b| b.try_into().ok())
                        .map(i32::from_ne_bytes)
                        .unwrap_or(-(Errno::EPROTO as i32));
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(LabError::io(what, Errno::from_raw(-code)))
                    };
                }
            }
        }
    }

    fn send(&self, msg: &[u8]) -> nix::Result<()> {
        socket::sendto(
            self.fd.as_raw_fd(),
            msg,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map(drop)
    }

    fn accept(&mut self, packet_id: u32) {
        self.seq += 1;
        // struct nfqnl_msg_verdict_hdr { __be32 verdict; __be32 id; }
        let mut hdr = NF_ACCEPT.to_be_bytes().to_vec();
        hdr.extend_from_slice(&packet_id.to_be_bytes());
        let msg = message(
            NFQNL_MSG_VERDICT,
            NLM_F_REQUEST,
            self.seq,
            QUEUE_NUM,
            &[(NFQA_VERDICT_HDR, &hdr)],
        );
        if let Err(e) = self.send(&msg) {
            eprintln!("eyeballs-lab: holder: verdict for packet {packet_id} failed: {e}");
        }
    }
}

/// Which packets to an address a hold is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Flow {
    /// Every packet the rules queue (the address's [`Behavior`](crate::Behavior)).
    Any,
    /// UDP only (the address's [`UdpBehavior`](crate::UdpBehavior)): wins over `Any` for
    /// UDP packets.
    Udp,
}

/// How long packets to each destination address are held. Shared between the holder
/// thread (which reads it as packets arrive) and [`Lab::set_behavior`](crate::Lab::set_behavior)
/// / [`Lab::set_udp_behavior`](crate::Lab::set_udp_behavior) (which change it at run time).
pub(crate) type Holds = Mutex<HashMap<(IpAddr, Flow), Duration>>;

/// The hold of a packet to `dst` (UDP or not): the UDP hold of a UDP packet's address if it
/// has one, else the address's hold, else none.
fn hold_for(holds: &HashMap<(IpAddr, Flow), Duration>, dst: IpAddr, udp: bool) -> Duration {
    udp.then(|| holds.get(&(dst, Flow::Udp)))
        .flatten()
        .or_else(|| holds.get(&(dst, Flow::Any)))
        .copied()
        .unwrap_or(Duration::ZERO)
}

/// Runs the holder until `stop` becomes readable. `delays` maps destination addresses to
/// how long their queued packets are held, as it is when each packet arrives; unknown
/// destinations are accepted at once.
pub(crate) fn run(ready: Ready, delays: Arc<Holds>, stop: Arc<UnixStream>) {
    let mut queue = match NfQueue::open() {
        Ok(q) => q,
        Err(e) => return ready.fail(e),
    };
    crate::netns::set_realtime("packet holder");
    ready.ok();

    // (release time, arrival order, packet id)
    let mut held: BinaryHeap<Reverse<(Instant, u64, u32)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut buf = vec![0u8; 16384];
    loop {
        let now = Instant::now();
        while let Some(Reverse((due, _, id))) = held.peek().copied() {
            if due > now {
                break;
            }
            held.pop();
            queue.accept(id);
        }
        let timeout = held
            .peek()
            .map(|Reverse((due, _, _))| TimeSpec::from(due.saturating_duration_since(now)));
        let (stop_ready, queue_ready) = {
            let mut fds = [
                PollFd::new(stop.as_fd(), PollFlags::POLLIN),
                PollFd::new(queue.fd.as_fd(), PollFlags::POLLIN),
            ];
            match ppoll(&mut fds, timeout, None) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    eprintln!("eyeballs-lab: holder: poll failed, stopping: {e}");
                    return;
                }
            }
            (
                fds[0].revents().is_some_and(|r| !r.is_empty()),
                fds[1].revents().is_some_and(|r| !r.is_empty()),
            )
        };
        if stop_ready {
            return; // Pending packets are dropped when the socket closes.
        }
        if !queue_ready {
            continue;
        }
        loop {
            let n = match socket::recv(queue.fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(Errno::EAGAIN | Errno::EINTR) => break,
                // ENOBUFS: the kernel dropped messages for us; nothing to do but go on.
                Err(Errno::ENOBUFS) => continue,
                Err(e) => {
                    eprintln!("eyeballs-lab: holder: recv failed: {e}");
                    break;
                }
            };
            let arrival = Instant::now();
            // A poisoned lock: a panic elsewhere while the map was being changed; the map
            // itself is always whole.
            let delays = delays.lock().unwrap_or_else(|e| e.into_inner());
            for (kind, body) in netlink_messages(buf.get(..n).unwrap_or_default()) {
                if kind != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) {
                    continue;
                }
                let Some((id, dst, udp)) = parse_packet(body) else {
                    continue;
                };
                let delay = dst.map_or(Duration::ZERO, |d| hold_for(&delays, d, udp));
                if delay.is_zero() {
                    queue.accept(id);
                } else {
                    order += 1;
                    held.push(Reverse((arrival + delay, order, id)));
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        let m = message(NFQNL_MSG_CONFIG, 5, 7, 0x0102, &[(1, &[9, 8, 7])]);
        assert_eq!(m.len(), 16 + 4 + 8);
        assert_eq!(u32::from_ne_bytes(m[..4].try_into().unwrap()), 28);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 0x0302);
        assert_eq!(&m[18..20], &[1, 2]); // res_id big-endian
        assert_eq!(u16::from_ne_bytes(m[20..22].try_into().unwrap()), 7); // attr len unpadded
        assert_eq!(&m[24..28], &[9, 8, 7, 0]);
    }

    #[test]
    fn parses_packet_messages() {
        let mut ip = vec![0u8; 40];
        ip[0] = 0x45;
        ip[16..20].copy_from_slice(&[198, 18, 0, 11]);
        let hdr = [0, 0, 0, 42, 0x08, 0x00, 1];
        let m = message(
            NFQNL_MSG_PACKET,
            0,
            0,
            0,
            &[(NFQA_PACKET_HDR, &hdr), (NFQA_PAYLOAD, &ip)],
        );
        let msgs: Vec<_> = netlink_messages(&m).collect();
        assert_eq!(msgs.len(), 1);
        assert_eq!(
            parse_packet(msgs[0].1),
            Some((42, Some("198.18.0.11".parse().unwrap()), false))
        );
        ip[9] = IPPROTO_UDP;
        let m = message(
            NFQNL_MSG_PACKET,
            0,
            0,
            0,
            &[(NFQA_PACKET_HDR, &hdr), (NFQA_PAYLOAD, &ip)],
        );
        let msgs: Vec<_> = netlink_messages(&m).collect();
        assert_eq!(
            parse_packet(msgs[0].1),
            Some((42, Some("198.18.0.11".parse().unwrap()), true))
        );
    }

    #[test]
    fn udp_holds_win_for_udp_only() {
        let a: IpAddr = "198.18.0.11".parse().unwrap();
        let b: IpAddr = "198.18.0.12".parse().unwrap();
        let holds = HashMap::from([
            ((a, Flow::Any), Duration::from_millis(1)),
            ((a, Flow::Udp), Duration::from_millis(200)),
            ((b, Flow::Any), Duration::from_millis(7)),
        ]);
        assert_eq!(hold_for(&holds, a, true), Duration::from_millis(200));
        assert_eq!(hold_for(&holds, a, false), Duration::from_millis(1));
        assert_eq!(hold_for(&holds, b, true), Duration::from_millis(7));
        assert_eq!(
            hold_for(&holds, "198.18.0.13".parse().unwrap(), true),
            Duration::ZERO
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for len in 0..64 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = netlink_messages(&data).count();
            let _ = attributes(&data).count();
            let _ = parse_packet(&data);
            let _ = destination(&data);
            let _ = is_udp(&data);
        }
    }

    #[test]
    fn ipv6_destination() {
        let mut ip = vec![0u8; 40];
        ip[0] = 0x60;
        ip[24..40].copy_from_slice(&"2001:db8::10".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(destination(&ip), Some("2001:db8::10".parse().unwrap()));
        assert!(!is_udp(&ip));
        ip[6] = IPPROTO_UDP;
        assert!(is_udp(&ip));
    }
}
