//! DNS wire helpers for tests that query the lab's DNS server directly
//! ([`build_query`], [`parse_response`]).
//!
//! The server itself (internal) is hand-rolled, UDP only, and authoritative for the
//! handful of test names a lab is configured with. It understands what a stub resolver
//! sends: a standard query (opcode 0) with one question of class IN. Anything else is
//! ignored: never answered, never a panic. Answers are capped at 512 bytes (TC set when
//! records had to be left out); there is no DNS over TCP and no EDNS, so keep a name's
//! records (HTTPS records with ECH configs in particular) under that size: a resolver
//! that retries a truncated answer over TCP finds no server there.
//!
//! It answers A (1), AAAA (28) and HTTPS (65) queries with the records of
//! [`LabBuilder::dns`](crate::LabBuilder::dns) and
//! [`LabBuilder::https`](crate::LabBuilder::https) (HTTPS RDATA as
//! [`HttpsRecord::to_rdata`](crate::HttpsRecord::to_rdata) writes it), each type as its
//! [`DnsBehavior`] says; a known name with no records of the asked type, or a query of any
//! other type for a known name, gets NODATA; an unknown name NXDOMAIN.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::time::TimeSpec;

use crate::netns::Ready;
use crate::{DnsBehavior, DnsRecords, DnsResponse, HttpsRecord, LabError, RecordType};

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const TYPE_HTTPS: u16 = 65;
const CLASS_IN: u16 = 1;
const RCODE_NOERROR: u16 = 0;
const RCODE_SERVFAIL: u16 = 2;
const RCODE_NXDOMAIN: u16 = 3;
/// Classic DNS-over-UDP limit; larger answers are truncated (TC set).
const MAX_UDP: usize = 512;
/// TTL of every answer, in seconds: 300, apart from the 60 s that clients assume when
/// they are told no TTL (eyeballs' network cache), so that a test sees which it got.
pub const TTL: u32 = 300;

impl RecordType {
    /// The record type's number on the wire.
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => TYPE_A,
            RecordType::Aaaa => TYPE_AAAA,
            RecordType::Https => TYPE_HTTPS,
        }
    }

    fn from_code(code: u16) -> Option<Self> {
        match code {
            TYPE_A => Some(RecordType::A),
            TYPE_AAAA => Some(RecordType::Aaaa),
            TYPE_HTTPS => Some(RecordType::Https),
            _ => None,
        }
    }
}

/// Lower-case, no trailing dot: how names are compared.
pub(crate) fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The zone: everything the server knows.
#[derive(Debug, Default, Clone)]
pub(crate) struct Zone {
    /// Every known name (normalized) with its addresses and per-type behaviours.
    pub(crate) names: HashMap<String, (DnsRecords, HashMap<RecordType, DnsBehavior>)>,
    /// The HTTPS records' RDATA of the names that have some, in the order given.
    pub(crate) https: HashMap<String, Vec<Vec<u8>>>,
}

impl Zone {
    /// Adds HTTPS `records` to `name` (normalized), which becomes a known name if it was not
    /// one (no addresses, default behaviours).
    ///
    /// # Errors
    /// A record that cannot be encoded ([`HttpsRecord::to_rdata`]).
    pub(crate) fn add_https(
        &mut self,
        name: String,
        records: &[HttpsRecord],
    ) -> Result<(), LabError> {
        let rdata = records
            .iter()
            .map(HttpsRecord::to_rdata)
            .collect::<Result<Vec<_>, _>>()?;
        self.names.entry(name.clone()).or_default();
        self.https.entry(name).or_default().extend(rdata);
        Ok(())
    }
}

/// One parsed query.
#[derive(Debug, PartialEq)]
pub(crate) struct Query<'a> {
    pub(crate) id: u16,
    pub(crate) recursion_desired: bool,
    /// Normalized name.
    pub(crate) name: String,
    pub(crate) qtype: u16,
    /// The raw question section (name, type, class), echoed in the response.
    pub(crate) question: &'a [u8],
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

/// Parses a standard query; `None` for anything malformed or unsupported.
pub(crate) fn parse_query(packet: &[u8]) -> Option<Query<'_>> {
    let id = be16(packet, 0)?;
    let flags = be16(packet, 2)?;
    let qdcount = be16(packet, 4)?;
    let is_response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    if is_response || opcode != 0 || qdcount != 1 {
        return None;
    }
    let mut at = 12;
    let mut labels: Vec<String> = Vec::new();
    let mut wire_len = 0usize;
    loop {
        let len = usize::from(*packet.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // Compression pointers have no place in a question.
        }
        wire_len += len + 1;
        if wire_len > 255 {
            return None;
        }
        let label = packet.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        at += len;
    }
    let qtype = be16(packet, at)?;
    let qclass = be16(packet, at + 2)?;
    if qclass != CLASS_IN {
        return None;
    }
    let question = packet.get(12..at + 4)?;
    Some(Query {
        id,
        recursion_desired: flags & 0x0100 != 0,
        name: normalize(&labels.join(".")),
        qtype,
        question,
    })
}

/// Builds a response with `rcode` and the given answers' RDATA (all of type `qtype`).
pub(crate) fn build_response(q: &Query<'_>, rcode: u16, answers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_UDP);
    let mut flags = 0x8000 | 0x0080 | rcode; // QR, RA
    if rcode != RCODE_SERVFAIL {
        flags |= 0x0400; // AA
    }
    if q.recursion_desired {
        flags |= 0x0100;
    }
    out.extend_from_slice(&q.id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&0u16.to_be_bytes()); // ANCOUNT, patched below
    out.extend_from_slice(&0u16.to_be_bytes()); // NSCOUNT
    out.extend_from_slice(&0u16.to_be_bytes()); // ARCOUNT
    out.extend_from_slice(q.question);
    let mut count: u16 = 0;
    let mut truncated = false;
    for rdata in answers {
        let Ok(rdlen) = u16::try_from(rdata.len()) else {
            continue;
        };
        if out.len() + 12 + rdata.len() > MAX_UDP || count == u16::MAX {
            truncated = true;
            break;
        }
        out.extend_from_slice(&0xc00cu16.to_be_bytes()); // pointer to the question name
        out.extend_from_slice(&q.qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&rdlen.to_be_bytes());
        out.extend_from_slice(rdata);
        count += 1;
    }
    out[6..8].copy_from_slice(&count.to_be_bytes());
    if truncated {
        out[2] |= 0x02; // TC
    }
    out
}

/// What to do with a query: `None` = never answer; otherwise (delay, response).
pub(crate) fn decide(zone: &Zone, q: &Query<'_>) -> Option<(Duration, Vec<u8>)> {
    let Some((records, behaviors)) = zone.names.get(&q.name) else {
        return Some((Duration::ZERO, build_response(q, RCODE_NXDOMAIN, &[])));
    };
    let Some(rtype) = RecordType::from_code(q.qtype) else {
        return Some((Duration::ZERO, build_response(q, RCODE_NOERROR, &[])));
    };
    let behavior = behaviors.get(&rtype).copied().unwrap_or_default();
    let response = match behavior.response {
        DnsResponse::Never => return None,
        DnsResponse::Answer => {
            let answers: Vec<Vec<u8>> = match rtype {
                RecordType::A => records.a.iter().map(|a| a.octets().to_vec()).collect(),
                RecordType::Aaaa => records.aaaa.iter().map(|a| a.octets().to_vec()).collect(),
                RecordType::Https => zone.https.get(&q.name).cloned().unwrap_or_default(),
            };
            build_response(q, RCODE_NOERROR, &answers)
        }
        DnsResponse::NoData => build_response(q, RCODE_NOERROR, &[]),
        DnsResponse::NxDomain => build_response(q, RCODE_NXDOMAIN, &[]),
        DnsResponse::ServFail => build_response(q, RCODE_SERVFAIL, &[]),
    };
    Some((behavior.delay, response))
}

/// Queries received, per (normalized name, type code).
#[derive(Debug, Default)]
pub(crate) struct QueryLog(Mutex<HashMap<(String, u16), usize>>);

impl QueryLog {
    pub(crate) fn count(&self, name: &str, qtype: u16) -> usize {
        self.lock()
            .get(&(normalize(name), qtype))
            .copied()
            .unwrap_or(0)
    }

    fn record(&self, name: &str, qtype: u16) {
        *self.lock().entry((name.to_owned(), qtype)).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u16), usize>> {
        // Poisoning cannot leave a counter map inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Pending {
    due: Instant,
    order: u64,
    socket: usize,
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    /// Reversed, so that `BinaryHeap` pops the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// Binds UDP port 53 on `addrs`, then serves `zone` until `stop` is readable.
pub(crate) fn run(
    ready: Ready,
    addrs: Vec<SocketAddr>,
    zone: Zone,
    log: Arc<QueryLog>,
    stop: Arc<UnixStream>,
) {
    let mut sockets = Vec::new();
    for addr in addrs {
        match UdpSocket::bind(addr).and_then(|s| {
            s.set_nonblocking(true)?;
            Ok(s)
        }) {
            Ok(s) => sockets.push(s),
            Err(e) => {
                return ready.fail(LabError::io(format!("binding the DNS server to {addr}"), e))
            }
        }
    }
    crate::netns::set_realtime("DNS server");
    ready.ok();

    let mut pending: BinaryHeap<Pending> = BinaryHeap::new();
    let mut order = 0u64;
    let mut buf = vec![0u8; 4096];
    loop {
        let now = Instant::now();
        while pending.peek().is_some_and(|p| p.due <= now) {
            if let Some(p) = pending.pop() {
                send(&sockets, p.socket, &p.bytes, p.to);
            }
        }
        let timeout = pending
            .peek()
            .map(|p| TimeSpec::from(p.due.saturating_duration_since(now)));
        let revents: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = std::iter::once(stop.as_fd())
                .chain(sockets.iter().map(|s| s.as_fd()))
                .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
                .collect();
            match ppoll(&mut fds, timeout, None) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    eprintln!("eyeballs-lab: dns server: poll failed, stopping: {e}");
                    return;
                }
            }
            fds.iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect()
        };
        if revents.first().copied().unwrap_or(false) {
            return;
        }
        for (index, socket) in sockets.iter().enumerate() {
            if !revents.get(index + 1).copied().unwrap_or(false) {
                continue;
            }
            loop {
                let (n, from) = match socket.recv_from(&mut buf) {
                    Ok(r) => r,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // E.g. ECONNREFUSED from an ICMP error for an earlier answer.
                    Err(_) => continue,
                };
                let arrival = Instant::now();
                let Some(query) = parse_query(buf.get(..n).unwrap_or_default()) else {
                    continue; // Malformed or unsupported: ignore.
                };
                log.record(&query.name, query.qtype);
                let Some((delay, bytes)) = decide(&zone, &query) else {
                    continue; // DnsResponse::Never
                };
                if delay.is_zero() {
                    send(&sockets, index, &bytes, from);
                } else {
                    order += 1;
                    pending.push(Pending {
                        due: arrival + delay,
                        order,
                        socket: index,
                        to: from,
                        bytes,
                    });
                }
            }
        }
    }
}

fn send(sockets: &[UdpSocket], index: usize, bytes: &[u8], to: SocketAddr) {
    if let Some(socket) = sockets.get(index) {
        if let Err(e) = socket.send_to(bytes, to) {
            eprintln!("eyeballs-lab: dns server: sending to {to}: {e}");
        }
    }
}

/// Builds a query packet (used by tests and handy for callers that want raw timings).
pub fn build_query(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&[0; 6]);
    for label in name.trim_end_matches('.').split('.') {
        let bytes = label.as_bytes();
        let len = bytes.len().min(63);
        // `len` <= 63, so the cast is lossless.
        out.push(len as u8);
        out.extend_from_slice(bytes.get(..len).unwrap_or_default());
    }
    out.push(0);
    out.extend_from_slice(&rtype.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// A parsed response, as returned by [`parse_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsReply {
    /// The query id it answers.
    pub id: u16,
    /// The response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...).
    pub rcode: u16,
    /// Whether the TC (truncated) flag is set.
    pub truncated: bool,
    /// A and AAAA records in the answer section.
    pub addrs: Vec<IpAddr>,
    /// The RDATA of the HTTPS records in the answer section, in order.
    pub https: Vec<Vec<u8>>,
}

/// Parses a response from the lab's DNS server (which never compresses anything but the
/// answer owner names). `None` if it is malformed.
pub fn parse_response(packet: &[u8]) -> Option<DnsReply> {
    let id = be16(packet, 0)?;
    let flags = be16(packet, 2)?;
    if flags & 0x8000 == 0 {
        return None;
    }
    let qdcount = be16(packet, 4)?;
    let ancount = be16(packet, 6)?;
    let mut at = 12;
    for _ in 0..qdcount {
        at = skip_name(packet, at)? + 4;
    }
    let mut addrs = Vec::new();
    let mut https = Vec::new();
    for _ in 0..ancount {
        at = skip_name(packet, at)?;
        let rtype = be16(packet, at)?;
        let rdlen = usize::from(be16(packet, at + 8)?);
        let rdata = packet.get(at + 10..at + 10 + rdlen)?;
        match (rtype, rdata.len()) {
            (TYPE_A, 4) => {
                let b: [u8; 4] = rdata.try_into().ok()?;
                addrs.push(IpAddr::from(b));
            }
            (TYPE_AAAA, 16) => {
                let b: [u8; 16] = rdata.try_into().ok()?;
                addrs.push(IpAddr::from(b));
            }
            (TYPE_HTTPS, _) => https.push(rdata.to_vec()),
            _ => {}
        }
        at += 10 + rdlen;
    }
    Some(DnsReply {
        id,
        rcode: flags & 0xf,
        truncated: flags & 0x0200 != 0,
        addrs,
        https,
    })
}

fn skip_name(packet: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *packet.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l if l > 63 => return None,
            l => at += 1 + usize::from(l),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn zone() -> Zone {
        let mut z = Zone::default();
        let records = DnsRecords {
            a: vec![Ipv4Addr::new(198, 18, 0, 10), Ipv4Addr::new(198, 18, 0, 11)],
            aaaa: vec!["2001:db8::10".parse::<Ipv6Addr>().unwrap()],
        };
        let mut behaviors = HashMap::new();
        behaviors.insert(RecordType::Aaaa, DnsBehavior::nxdomain());
        z.names
            .insert("dual.test".into(), (records.clone(), HashMap::new()));
        z.names.insert("odd.test".into(), (records, behaviors));
        z
    }

    #[test]
    fn query_round_trip() {
        let q = build_query(0x1234, "Dual.Test.", RecordType::Aaaa);
        let parsed = parse_query(&q).unwrap();
        assert_eq!(parsed.id, 0x1234);
        assert_eq!(parsed.name, "dual.test");
        assert_eq!(parsed.qtype, 28);
        assert!(parsed.recursion_desired);
    }

    #[test]
    fn answers_a_and_aaaa() {
        let z = zone();
        let q = build_query(7, "dual.test", RecordType::A);
        let (delay, bytes) = decide(&z, &parse_query(&q).unwrap()).unwrap();
        assert_eq!(delay, Duration::ZERO);
        let r = parse_response(&bytes).unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(r.rcode, 0);
        assert_eq!(
            r.addrs,
            vec![
                "198.18.0.10".parse::<IpAddr>().unwrap(),
                "198.18.0.11".parse().unwrap()
            ]
        );
        let q = build_query(8, "dual.test", RecordType::Aaaa);
        let (_, bytes) = decide(&z, &parse_query(&q).unwrap()).unwrap();
        let r = parse_response(&bytes).unwrap();
        assert_eq!(r.addrs, vec!["2001:db8::10".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn https_is_nodata_and_unknown_is_nxdomain() {
        let z = zone();
        let q = build_query(1, "dual.test", RecordType::Https);
        let r = parse_response(&decide(&z, &parse_query(&q).unwrap()).unwrap().1).unwrap();
        assert_eq!((r.rcode, r.addrs.len()), (0, 0));
        let q = build_query(1, "nope.test", RecordType::A);
        let r = parse_response(&decide(&z, &parse_query(&q).unwrap()).unwrap().1).unwrap();
        assert_eq!(r.rcode, 3);
        let q = build_query(1, "odd.test", RecordType::Aaaa);
        let r = parse_response(&decide(&z, &parse_query(&q).unwrap()).unwrap().1).unwrap();
        assert_eq!(r.rcode, 3);
    }

    /// HTTPS (type 65) queries get the name's records in RFC 9460 wire format, and every
    /// per-type behaviour the address types have.
    #[test]
    fn https_records_and_behaviours() {
        let service = HttpsRecord::service(1)
            .alpn(["h2"])
            .port(8443)
            .ipv6hint(["2001:db8::10".parse().unwrap()])
            .ipv4hint(["198.18.0.10".parse().unwrap()]);
        let alias = HttpsRecord::alias("svc.test");
        let mut z = zone();
        z.add_https("dual.test".into(), std::slice::from_ref(&service))
            .unwrap();
        z.add_https("dual.test".into(), &[service.clone().port(443)])
            .unwrap();
        z.add_https("alias.test".into(), std::slice::from_ref(&alias))
            .unwrap();
        let ask = |z: &Zone, name: &str, rtype| {
            let q = build_query(9, name, rtype);
            decide(z, &parse_query(&q).unwrap())
                .map(|(delay, bytes)| (delay, parse_response(&bytes).unwrap()))
        };

        let (delay, r) = ask(&z, "dual.test", RecordType::Https).unwrap();
        assert_eq!((delay, r.rcode, r.addrs.len()), (Duration::ZERO, 0, 0));
        assert_eq!(
            r.https,
            vec![
                service.to_rdata().unwrap(),
                service.clone().port(443).to_rdata().unwrap()
            ]
        );
        // A name with HTTPS records only: known, NODATA for addresses.
        let (_, r) = ask(&z, "Alias.Test.", RecordType::Https).unwrap();
        assert_eq!(r.https, vec![alias.to_rdata().unwrap()]);
        let (_, r) = ask(&z, "alias.test", RecordType::A).unwrap();
        assert_eq!((r.rcode, r.addrs.len(), r.https.len()), (0, 0, 0));
        // The address queries of a name with HTTPS records are unchanged.
        let (_, r) = ask(&z, "dual.test", RecordType::Aaaa).unwrap();
        assert_eq!((r.addrs.len(), r.https.len()), (1, 0));

        let behaviours = [
            (
                DnsBehavior::answer_after(Duration::from_millis(70)),
                Some((70, 0, 2)),
            ),
            (DnsBehavior::nodata(), Some((0, 0, 0))),
            (
                DnsBehavior::nxdomain().after(Duration::from_millis(5)),
                Some((5, 3, 0)),
            ),
            (DnsBehavior::servfail(), Some((0, 2, 0))),
            (DnsBehavior::never(), None),
        ];
        for (behavior, want) in behaviours {
            let mut z = z.clone();
            if let Some((_, behaviors)) = z.names.get_mut("dual.test") {
                behaviors.insert(RecordType::Https, behavior);
            }
            let got = ask(&z, "dual.test", RecordType::Https).map(|(delay, r)| {
                let ms = u64::try_from(delay.as_millis()).unwrap();
                (ms, r.rcode, r.https.len())
            });
            assert_eq!(got, want, "{behavior:?}");
            // The other types keep their own behaviour.
            let (_, r) = ask(&z, "dual.test", RecordType::A).unwrap();
            assert_eq!(r.addrs.len(), 2, "{behavior:?}");
        }
    }

    #[test]
    fn truncates_big_answers() {
        let mut z = Zone::default();
        let records = DnsRecords {
            a: Vec::new(),
            aaaa: (0..100u16)
                .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))
                .collect(),
        };
        z.names.insert("big.test".into(), (records, HashMap::new()));
        let q = build_query(1, "big.test", RecordType::Aaaa);
        let bytes = decide(&z, &parse_query(&q).unwrap()).unwrap().1;
        assert!(bytes.len() <= MAX_UDP);
        let r = parse_response(&bytes).unwrap();
        assert!(r.truncated);
        assert!(!r.addrs.is_empty());
    }

    #[test]
    fn rejects_malformed() {
        let good = build_query(1, "dual.test", RecordType::A);
        for cut in 0..good.len() {
            assert!(parse_query(&good[..cut]).is_none(), "cut at {cut}");
        }
        let mut response = good.clone();
        response[2] |= 0x80;
        assert!(parse_query(&response).is_none());
        let mut pointer = good.clone();
        pointer[12] = 0xc0;
        assert!(parse_query(&pointer).is_none());
        let mut two = good;
        two[5] = 2;
        assert!(parse_query(&two).is_none());
        // Pseudo-random garbage never panics.
        let mut x: u32 = 12345;
        for len in 0..300 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            if let Some(q) = parse_query(&data) {
                let _ = decide(&zone(), &q);
            }
            let _ = parse_response(&data);
        }
    }
}
