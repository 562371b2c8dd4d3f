//! The eyeballs network lab: a client and a server network namespace joined by a veth
//! pair, where each server address behaves one way ([`Behavior`]), plus a DNS server
//! whose answers can be delayed, emptied, failed or withheld per record type
//! ([`DnsBehavior`]). Used by the integration tests of the eyeballs drivers.
//!
//! UDP can behave differently from TCP per address ([`UdpBehavior`], [`LabBuilder::udp`]),
//! and a [secure](LabBuilder::secure) lab serves TLS (HTTP/1.1, HTTP/2) over TCP and QUIC
//! (HTTP/3) on every address, with a test CA ([`Lab::ca_der`], [`Lab::ca_pem`]).
//!
//! Linux only, needs root: call [`require_root`] at the top of every test.
//!
//! ```no_run
//! use std::net::TcpStream;
//! use std::time::Duration;
//! use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, Lab, RecordType};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! if !eyeballs_lab::require_root("my_test") {
//!     return Ok(());
//! }
//! let lab = Lab::builder()
//!     .server("2001:db8::10".parse()?, Behavior::BlackHole)
//!     .server("198.18.0.10".parse()?, Behavior::Accept)
//!     .server("198.18.0.11".parse()?, Behavior::Delay(Duration::from_millis(300)))
//!     .port(8080)
//!     .dns(
//!         "dual.test",
//!         DnsRecords {
//!             a: vec!["198.18.0.10".parse()?],
//!             aaaa: vec!["2001:db8::10".parse()?],
//!         },
//!     )
//!     .dns_behavior(
//!         "dual.test",
//!         RecordType::Aaaa,
//!         DnsBehavior::answer_after(Duration::from_millis(200)),
//!     )
//!     .start()?;
//! let connected = lab.run_in_client(|| TcpStream::connect("198.18.0.10:8080").is_ok())?;
//! assert!(connected);
//! assert_eq!(lab.accepted_count("198.18.0.10".parse()?), 1);
//! drop(lab); // removes both namespaces
//! # Ok(())
//! # }
//! ```
//!
//! # Traffic rule
//! The lab only ever sends traffic inside the namespaces it creates, to addresses it
//! assigns there, all within `198.18.0.0/15` and `2001:db8::/32`. Every address, route
//! and firewall command runs inside the lab's namespaces; the root namespace is never
//! touched (besides creating and deleting the named namespaces and, for
//! [`Lab::client_command`], the client's `/etc/netns/<client>/` files).

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

mod ca;
pub mod dns;
mod error;
mod holder;
pub mod nat64;
mod netns;
mod ports;
mod rules;
mod secure;
mod svcb;
mod tcp;

pub use ca::LAB_NAME;
pub use error::LabError;
pub use nat64::Nat64;
pub use svcb::HttpsRecord;

/// The client namespace's IPv4 address.
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The client namespace's IPv6 address.
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);
/// The DNS server's IPv4 address (UDP port 53, server namespace).
pub const DNS_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 53);
/// The DNS server's IPv6 address (UDP port 53, server namespace).
pub const DNS_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53);
/// The TCP port listeners use when the builder is given none.
pub const DEFAULT_PORT: u16 = 80;
/// How long `Unreachable` holds a packet before rejecting it. An ICMP error generated in
/// the same instant as the SYN can arrive while `connect()` still holds the socket lock;
/// Linux then records it only as a soft error and the connect stalls until the SYN is
/// retransmitted (1 s). A real network never answers that fast.
pub const UNREACHABLE_HOLD: Duration = Duration::from_millis(1);

/// How a server address treats the connections sent to it. Set with
/// [`LabBuilder::server`]; changed while the lab runs with [`Lab::set_behavior`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// A TCP listener on every configured port accepts; it answers an HTTP/1.x `GET` or
    /// `HEAD` with a `200 OK` whose body names the server address (`198.18.0.10\n`), and
    /// echoes anything else. (In a [secure](LabBuilder::secure) lab: the TLS and QUIC
    /// servers instead.)
    Accept,
    /// Everything sent to the address is dropped: `connect` hangs.
    BlackHole,
    /// TCP segments are answered with a reset: `connect` fails with `ConnectionRefused`.
    /// Other packets get ICMP port unreachable (UDP after [`UNREACHABLE_HOLD`], see
    /// [`UdpBehavior::Refuse`]).
    Refuse,
    /// ICMP host-unreachable (IPv4) / ICMPv6 address-unreachable (IPv6), after
    /// [`UNREACHABLE_HOLD`]: `connect` fails with `EHOSTUNREACH`.
    Unreachable,
    /// Each SYN is held for this long, then a listener accepts as with `Accept`: the
    /// handshake completes after the delay (accurate to about a millisecond).
    Delay(Duration),
    /// The address is assigned in the server namespace and nothing else: no lab listener
    /// and no firewall rule. For servers of the test's own (a TLS server, a server that
    /// accepts but never speaks), run in the server namespace with
    /// [`Lab::spawn_in_server`]; without one, connecting is refused. The lab's counters
    /// ([`Lab::accepted_count`], [`Lab::open_count`]) stay at zero for it.
    External,
}

/// How a server address treats UDP, independently of its TCP [`Behavior`]: set with
/// [`LabBuilder::udp`], changed while the lab runs with [`Lab::set_udp_behavior`]. An
/// address without one follows its `Behavior` ([`UdpBehavior::following`]). It applies to
/// every UDP port of the address; the lab's DNS server (UDP 53 on [`DNS_V4`] / [`DNS_V6`])
/// is never affected. (HEv3 §6: QUIC attempts raced against TCP, V3-6.x; issue 11.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpBehavior {
    /// UDP reaches the address: in a [secure](LabBuilder::secure) lab, its QUIC server on
    /// every lab port (other ports: ICMP port unreachable from the kernel, at once).
    Accept,
    /// UDP is dropped: a QUIC handshake hangs (the client's Initials go unanswered). TCP
    /// is untouched.
    BlackHole,
    /// UDP is answered with ICMP port unreachable (`icmp-port-unreachable` /
    /// `icmp6-port-unreachable`) after [`UNREACHABLE_HOLD`]: a UDP socket with `IP_RECVERR`
    /// (or a connected one) gets `ECONNREFUSED`. Measured without the hold: only about
    /// half of the datagrams sent on a fresh socket got `ECONNREFUSED` (the ICMP error is
    /// processed in the same instant as the send); with it, all.
    Refuse,
    /// The handshake starts and never finishes: the first datagram of each flow (conntrack's
    /// 5-tuple: one client socket to one address and port) reaches the server, the first
    /// datagram the server sends back reaches the client, and every later datagram of the
    /// flow, either way, is dropped (iptables `connbytes` on conntrack's per-flow packet
    /// counts, `filter` INPUT and OUTPUT of the server namespace). The server sees the
    /// client's Initial ([`Lab::quic_incoming_count`]) but never completes the handshake
    /// ([`Lab::quic_accepted_count`] stays 0), and the client cannot either: the server's
    /// first flight (with the certificate chain) takes more than one datagram. A new client
    /// socket is a new flow; conntrack forgets a flow 30 s (unanswered) or 120 s (answered)
    /// after its last datagram.
    Stall,
    /// The datagrams of each flow the server has not answered yet (conntrack state NEW:
    /// the client's first datagram, and any more it sends before the first answer) are held
    /// this long by the lab's packet holder, then accepted: a QUIC handshake completes
    /// about this much later than with `Accept`. Later datagrams pass at once.
    /// `Delay(Duration::ZERO)` is `Accept`.
    Delay(Duration),
}

impl UdpBehavior {
    /// What UDP to an address gets when no `UdpBehavior` is set for it: `Accept` and
    /// `Delay` give `Accept` (the TCP delay holds SYNs only), `BlackHole` gives
    /// `BlackHole`, `Refuse` gives `Refuse` (ICMP port unreachable, after the hold);
    /// `Unreachable` (ICMP host / address unreachable, as for TCP) and `External` (no
    /// rule at all) give `None`.
    pub fn following(behavior: Behavior) -> Option<UdpBehavior> {
        match behavior {
            Behavior::Accept | Behavior::Delay(_) => Some(UdpBehavior::Accept),
            Behavior::BlackHole => Some(UdpBehavior::BlackHole),
            Behavior::Refuse => Some(UdpBehavior::Refuse),
            Behavior::Unreachable | Behavior::External => None,
        }
    }
}

/// The secure servers of a lab ([`LabBuilder::secure`]): the ALPN protocols its TLS and
/// QUIC servers offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secure {
    /// ALPN protocols of the TLS servers over TCP, in the server's order of preference.
    /// Default `["h2", "http/1.1"]`. Whatever is negotiated (or nothing), the server
    /// speaks HTTP/2 to a client that sends the HTTP/2 preface and HTTP/1.1 otherwise.
    pub tls_alpn: Vec<String>,
    /// ALPN protocols of the QUIC servers. Default `["h3"]`. The server speaks HTTP/3 over
    /// whichever is negotiated.
    pub quic_alpn: Vec<String>,
}

impl Default for Secure {
    fn default() -> Self {
        Secure {
            tls_alpn: vec!["h2".into(), "http/1.1".into()],
            quic_alpn: vec!["h3".into()],
        }
    }
}

/// The records of one test name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsRecords {
    /// A records.
    pub a: Vec<Ipv4Addr>,
    /// AAAA records.
    pub aaaa: Vec<Ipv6Addr>,
}

/// A record type whose answers can be configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// IPv4 address (1).
    A,
    /// IPv6 address (28).
    Aaaa,
    /// HTTPS service binding (65): the records of [`LabBuilder::https`] (none: NODATA).
    Https,
}

/// What the DNS server sends for a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsResponse {
    /// The configured records (NOERROR; no records of the type means NODATA).
    #[default]
    Answer,
    /// NOERROR with an empty answer section.
    NoData,
    /// NXDOMAIN.
    NxDomain,
    /// SERVFAIL.
    ServFail,
    /// Nothing, ever.
    Never,
}

/// How the DNS server answers one record type of one name: a response, sent after a
/// delay. The default is [`DnsBehavior::answer`]: the configured records, at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DnsBehavior {
    /// What is sent.
    pub response: DnsResponse,
    /// How long after the query arrives it is sent (ignored for `Never`).
    pub delay: Duration,
}

impl DnsBehavior {
    /// The configured records, at once.
    pub fn answer() -> Self {
        Self::default()
    }
    /// The configured records, after `delay`.
    pub fn answer_after(delay: Duration) -> Self {
        Self::answer().after(delay)
    }
    /// NOERROR with no records, at once.
    pub fn nodata() -> Self {
        Self::with(DnsResponse::NoData)
    }
    /// NXDOMAIN, at once.
    pub fn nxdomain() -> Self {
        Self::with(DnsResponse::NxDomain)
    }
    /// SERVFAIL, at once.
    pub fn servfail() -> Self {
        Self::with(DnsResponse::ServFail)
    }
    /// No answer at all.
    pub fn never() -> Self {
        Self::with(DnsResponse::Never)
    }
    /// The same response, sent `delay` after the query arrives.
    pub fn after(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
    fn with(response: DnsResponse) -> Self {
        Self {
            response,
            delay: Duration::ZERO,
        }
    }
}

/// Whether a test that needs the lab may run.
///
/// Root: `true`. Not root: with `CI=true`, panics (CI must run the lab tests, as root);
/// otherwise prints a skip message naming `test_name` to stderr and returns `false`.
pub fn require_root(test_name: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        // Deliberate: under CI a skipped lab test would be a silent hole.
        #[allow(clippy::panic)]
        {
            panic!(
                "{test_name}: the eyeballs network lab needs root and CI=true: \
             run the tests as root (after crates/eyeballs-lab/install-deps.sh)"
            );
        }
    }
    eprintln!(
        "SKIPPED {test_name}: the eyeballs network lab needs root \
         (run as root, after crates/eyeballs-lab/install-deps.sh)"
    );
    false
}

/// Configures a [`Lab`]; see [`Lab::builder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct LabBuilder {
    servers: Vec<(IpAddr, Behavior)>,
    ports: Vec<u16>,
    names: Vec<(String, DnsRecords)>,
    behaviors: Vec<(String, RecordType, DnsBehavior)>,
    https: Vec<(String, Vec<HttpsRecord>)>,
    /// [`LabBuilder::nat64`].
    nat64: Option<Nat64>,
    /// [`LabBuilder::udp`].
    udp: Vec<(IpAddr, UdpBehavior)>,
    /// [`LabBuilder::secure`].
    secure: Option<Secure>,
}

impl LabBuilder {
    /// Adds a server address (in `198.18.0.0/15` or `2001:db8::/32`) with its behaviour.
    pub fn server(mut self, addr: IpAddr, behavior: Behavior) -> Self {
        self.servers.push((addr, behavior));
        self
    }

    /// Adds a TCP port the `Accept` and `Delay` addresses listen on ([`DEFAULT_PORT`] if
    /// none is given). `BlackHole`, `Refuse` and `Unreachable` apply to every port. In a
    /// [secure](Self::secure) lab, the TLS and QUIC servers use the same ports.
    pub fn port(mut self, port: u16) -> Self {
        self.ports.push(port);
        self
    }

    /// Sets how the server address `addr` (given to [`server`](Self::server), before or
    /// after this call) treats UDP, on every port; its TCP keeps its [`Behavior`]. Without
    /// this call its UDP follows the `Behavior` ([`UdpBehavior::following`]). Rules for UDP
    /// come before the address's other rules, so the UDP behaviour wins for UDP (e.g. UDP
    /// `Accept` on a TCP `BlackHole` address reaches the QUIC server). [`start`](Self::start)
    /// fails with [`LabError::Config`] if `addr` is not a server address or is given twice.
    pub fn udp(mut self, addr: IpAddr, behavior: UdpBehavior) -> Self {
        self.udp.push((addr, behavior));
        self
    }

    /// Makes this a secure lab: [`start`](Self::start) generates a test CA and a server
    /// certificate ([`Lab::ca_pem`], [`Lab::ca_der`]), and every server address other than
    /// `External` ones serves, on every lab port:
    /// - TCP: TLS 1.3 / 1.2 with `secure.tls_alpn`, then HTTP/1.1 or HTTP/2 (hyper's
    ///   server; HTTP/2 for a client that sends its preface, as after ALPN `h2`);
    /// - UDP: QUIC (quinn) with `secure.quic_alpn`, then HTTP/3 (h3).
    ///
    /// Every request is answered `200 OK` with the body `<server address>\n` (e.g.
    /// `198.18.0.10\n`) and the header `x-lab-protocol: h3`, `h2` or `http/1.1`. The plain
    /// TCP listener (echo and HTTP/1.x without TLS, see [`Behavior::Accept`]) does not run
    /// in a secure lab. The address's [`Behavior`] and [`UdpBehavior`] still decide what
    /// reaches the servers (a `BlackHole` address's TLS server is never reached; its QUIC
    /// server is if its UDP is `Accept`). Counters: [`Lab::tls_accepted_count`],
    /// [`Lab::quic_accepted_count`], [`Lab::quic_open_count`],
    /// [`Lab::quic_incoming_count`]; [`Lab::accepted_count`] and [`Lab::open_count`] count
    /// the TCP connections, as without TLS.
    pub fn secure(mut self, secure: Secure) -> Self {
        self.secure = Some(secure);
        self
    }

    /// Adds a DNS name (case-insensitive, trailing dot optional) with its records.
    /// Names the lab does not know get NXDOMAIN.
    pub fn dns(mut self, name: &str, records: DnsRecords) -> Self {
        self.names.push((dns::normalize(name), records));
        self
    }

    /// Adds HTTPS records (RFC 9460, type 65) to `name` (case-insensitive, trailing dot
    /// optional), after those of earlier calls for it. The name need not be given to
    /// [`dns`](Self::dns) too: without it, it has no A or AAAA records (NODATA). Its HTTPS
    /// queries follow [`dns_behavior`](Self::dns_behavior) with [`RecordType::Https`] like
    /// any other type. [`start`](Self::start) fails with [`LabError::Config`] if a record
    /// cannot be encoded ([`HttpsRecord::to_rdata`]).
    pub fn https(mut self, name: &str, records: impl IntoIterator<Item = HttpsRecord>) -> Self {
        self.https
            .push((dns::normalize(name), records.into_iter().collect()));
        self
    }

    /// Sets how queries of type `rtype` for `name` (added with [`dns`](Self::dns) or
    /// [`https`](Self::https)) are answered. Default: [`DnsBehavior::answer`].
    pub fn dns_behavior(mut self, name: &str, rtype: RecordType, behavior: DnsBehavior) -> Self {
        self.behaviors.push((dns::normalize(name), rtype, behavior));
        self
    }

    /// Creates the namespaces, addresses, rules and server threads.
    pub fn start(self) -> Result<Lab, LabError> {
        Lab::start(self)
    }

    fn validate(&self) -> Result<(), LabError> {
        let reserved: [IpAddr; 4] = [
            CLIENT_V4.into(),
            CLIENT_V6.into(),
            DNS_V4.into(),
            DNS_V6.into(),
        ];
        let mut seen = HashSet::new();
        for (addr, _) in &self.servers {
            if !in_lab_range(*addr) {
                return Err(LabError::Config(format!(
                    "server address {addr} is outside 198.18.0.0/15 and 2001:db8::/32"
                )));
            }
            if reserved.contains(addr) {
                return Err(LabError::Config(format!(
                    "server address {addr} is reserved for the lab's client or DNS server"
                )));
            }
            if !seen.insert(*addr) {
                return Err(LabError::Config(format!(
                    "server address {addr} given twice"
                )));
            }
        }
        let mut names = HashSet::new();
        for (name, _) in &self.names {
            if !names.insert(name) {
                return Err(LabError::Config(format!("DNS name {name:?} given twice")));
            }
        }
        for (name, records) in &self.https {
            for record in records {
                record.to_rdata()?;
            }
            names.insert(name);
        }
        for (name, _, _) in &self.behaviors {
            if !names.contains(name) {
                return Err(LabError::Config(format!(
                    "dns_behavior for {name:?}, which was not added with dns() or https()"
                )));
            }
        }
        let mut udp = HashSet::new();
        for (addr, _) in &self.udp {
            if !seen.contains(addr) {
                return Err(LabError::Config(format!(
                    "udp({addr}): not a server address (add it with server())"
                )));
            }
            if !udp.insert(*addr) {
                return Err(LabError::Config(format!("udp({addr}) given twice")));
            }
        }
        if let Some(secure) = &self.secure {
            for alpn in secure.tls_alpn.iter().chain(&secure.quic_alpn) {
                if alpn.is_empty() || alpn.len() > 255 {
                    return Err(LabError::Config(format!(
                        "secure: ALPN protocol {alpn:?} must be 1 to 255 bytes long"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Whether `addr` is in the lab's ranges: `198.18.0.0/15` or `2001:db8::/32`.
pub fn in_lab_range(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            o[0] == 198 && (o[1] & 0xfe) == 18
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            s[0] == 0x2001 && s[1] == 0x0db8
        }
    }
}

/// A running lab. Dropping it stops its threads and deletes its namespaces (also when a
/// test panics). See the [crate docs](crate).
#[derive(Debug)]
pub struct Lab {
    // Field order is teardown order: threads stop first, then the namespace handle
    // closes, then the namespaces are deleted.
    /// The NAT64 translator: stopped before anything else.
    nat64: Option<nat64::Translator>,
    services: Mutex<Services>,
    /// Each server address's behaviour now, and what serves it; see [`Lab::set_behavior`].
    runtime: Mutex<Runtime>,
    client_ns: File,
    server_ns: File,
    /// `/etc/netns/<client>/`, once [`Lab::client_command`] wrote it.
    client_etc: Mutex<Option<EtcFiles>>,
    namespaces: Namespaces,
    counters: Arc<tcp::Counters>,
    /// The secure servers' counters (all zero in a lab that is not secure).
    secure_counters: Arc<secure::Counters>,
    /// The test CA of a secure lab.
    ca: Option<ca::TestCa>,
    queries: Arc<dns::QueryLog>,
}

impl Lab {
    /// Starts configuring a lab.
    pub fn builder() -> LabBuilder {
        LabBuilder::default()
    }

    fn start(config: LabBuilder) -> Result<Lab, LabError> {
        let config = nat64::prepare(config)?;
        config.validate()?;
        if !nix::unistd::geteuid().is_root() {
            return Err(LabError::NotRoot);
        }
        netns::sweep_stale();

        let id = netns::next_lab_id();
        let client = format!("{}{id}-client", netns::NS_PREFIX);
        let server = format!("{}{id}-server", netns::NS_PREFIX);
        let mut namespaces = Namespaces(Vec::new());
        netns::add(&client)?;
        namespaces.0.push(client.clone());
        netns::add(&server)?;
        namespaces.0.push(server.clone());
        let open = |name: &str| {
            File::open(netns::netns_path(name))
                .map_err(|e| LabError::io(format!("opening namespace {name}"), e))
        };
        let client_ns = open(&client)?;
        let server_ns = open(&server)?;

        // Before the veth exists, so that its addresses are never tentative.
        let no_dad = [
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
        ];
        netns::write_sysctls(&client_ns, "client", &no_dad)?;
        let mut server_sysctls = no_dad.to_vec();
        // No ICMP rate limiting: tests may hit an Unreachable address many times.
        server_sysctls.extend([
            ("net.ipv4.icmp_ratemask", "0"),
            ("net.ipv4.icmp_ratelimit", "0"),
            ("net.ipv6.icmp.ratelimit", "0"),
            ("?net.ipv6.icmp.ratemask", "0,3-127"),
        ]);
        netns::write_sysctls(&server_ns, "server", &server_sysctls)?;

        let client_batch = format!(
            "link set lo up\n\
             link add lab0 type veth peer name lab0 netns {server}\n\
             link set lab0 up\n\
             addr add {CLIENT_V4}/32 dev lab0\n\
             addr add {CLIENT_V6}/128 dev lab0 nodad\n\
             route add 198.18.0.0/15 dev lab0\n\
             route add 2001:db8::/32 dev lab0\n"
        );
        netns::run("ip", &["-n", &client, "-batch", "-"], Some(&client_batch))?;
        let mut server_batch = String::from("link set lo up\nlink set lab0 up\n");
        let server_addrs = config
            .servers
            .iter()
            .map(|(a, _)| *a)
            .chain([IpAddr::V4(DNS_V4), IpAddr::V6(DNS_V6)]);
        for addr in server_addrs {
            server_batch.push_str(&match addr {
                IpAddr::V4(a) => format!("addr add {a}/32 dev lab0\n"),
                IpAddr::V6(a) => format!("addr add {a}/128 dev lab0 nodad\n"),
            });
        }
        server_batch
            .push_str("route add 198.18.0.0/15 dev lab0\nroute add 2001:db8::/32 dev lab0\n");
        netns::run("ip", &["-n", &server, "-batch", "-"], Some(&server_batch))?;
        let nat64 = nat64::start(config.nat64, &client, &server, &server_ns)?;

        let udp: HashMap<IpAddr, UdpBehavior> = config.udp.iter().copied().collect();
        let mut rulesets = [None, None];
        for (v6, ruleset) in [false, true].into_iter().zip(&mut rulesets) {
            *ruleset = rules::ruleset(&config.servers, &udp, v6);
            if let Some(rules) = ruleset {
                restore_rules(&server, v6, rules)?;
            }
        }

        let (stop_tx, stop_rx) = UnixStream::pair()
            .map_err(|e| LabError::io("creating the lab's stop socket pair", e))?;
        let stop = Arc::new(stop_rx);
        let mut services = Services {
            stop: Some(stop_tx),
            stop_rx: stop.clone(),
            threads: Vec::new(),
        };

        let holds: HashMap<(IpAddr, holder::Flow), Duration> = config
            .servers
            .iter()
            .flat_map(|(addr, b)| {
                address_holds(*b, udp.get(addr).copied())
                    .into_iter()
                    .filter_map(|(flow, d)| Some(((*addr, flow), d?)))
            })
            .collect();
        let any_hold = !holds.is_empty();
        let holds = Arc::new(holder::Holds::new(holds));
        let mut runtime = Runtime {
            servers: config.servers.clone(),
            udp,
            ports: config.ports.clone(),
            holds,
            holder: false,
            tcp: None,
            secure: None,
            rulesets,
        };
        if runtime.ports.is_empty() {
            runtime.ports.push(DEFAULT_PORT);
        }
        runtime.ports.sort_unstable();
        runtime.ports.dedup();
        if any_hold {
            spawn_holder(&server_ns, &mut services, &mut runtime)?;
        }

        let counters = Arc::new(tcp::Counters::default());
        let secure_counters = Arc::new(secure::Counters::default());
        let mut test_ca = None;
        if let Some(secure) = &config.secure {
            let ca = test_ca.insert(ca::TestCa::generate(
                &certificate_addrs(&config),
                &certificate_names(&config),
            )?);
            let server_config = secure::Config::new(ca, secure)?;
            let serve: Vec<IpAddr> = config
                .servers
                .iter()
                .filter(|(_, b)| serves_secure(*b))
                .map(|(a, _)| *a)
                .collect();
            let (control, control_rx) = secure::Control::channel();
            let (stop, tcp_counters, secure_counters, ports) = (
                services.stop_rx.clone(),
                counters.clone(),
                secure_counters.clone(),
                runtime.ports.clone(),
            );
            services
                .threads
                .push(netns::spawn_service(&server_ns, "secure", move |ready| {
                    secure::run(
                        ready,
                        server_config,
                        serve,
                        ports,
                        tcp_counters,
                        secure_counters,
                        stop,
                        control_rx,
                    )
                })?);
            runtime.secure = Some(control);
        } else {
            let listen: Vec<IpAddr> = config
                .servers
                .iter()
                .filter(|(_, b)| listens(*b))
                .map(|(a, _)| *a)
                .collect();
            if !listen.is_empty() {
                spawn_tcp(&server_ns, &mut services, &mut runtime, &counters, listen)?;
            }
        }

        let mut zone = dns::Zone::default();
        for (name, records) in config.names {
            zone.names.insert(name, (records, HashMap::new()));
        }
        for (name, records) in config.https {
            zone.add_https(name, &records)?;
        }
        for (name, rtype, behavior) in config.behaviors {
            if let Some((_, behaviors)) = zone.names.get_mut(&name) {
                behaviors.insert(rtype, behavior);
            }
        }
        let queries = Arc::new(dns::QueryLog::default());
        {
            let (stop, queries) = (stop.clone(), queries.clone());
            let addrs = vec![
                SocketAddr::new(DNS_V4.into(), 53),
                SocketAddr::new(DNS_V6.into(), 53),
            ];
            services
                .threads
                .push(netns::spawn_service(&server_ns, "dns", move |ready| {
                    dns::run(ready, addrs, zone, queries, stop)
                })?);
        }

        Ok(Lab {
            nat64,
            services: Mutex::new(services),
            runtime: Mutex::new(runtime),
            client_ns,
            server_ns,
            client_etc: Mutex::new(None),
            namespaces,
            counters,
            secure_counters,
            ca: test_ca,
            queries,
        })
    }

    /// Name of the client namespace (for `ip netns exec NAME ...` while debugging).
    pub fn client_netns(&self) -> &str {
        &self.namespaces.0[0]
    }

    /// Name of the server namespace.
    pub fn server_netns(&self) -> &str {
        &self.namespaces.0[1]
    }

    /// The client's IPv4 address ([`CLIENT_V4`]).
    pub fn client_v4(&self) -> IpAddr {
        CLIENT_V4.into()
    }

    /// The client's IPv6 address ([`CLIENT_V6`]).
    pub fn client_v6(&self) -> IpAddr {
        CLIENT_V6.into()
    }

    /// The DNS server over IPv4: `198.18.0.53:53`.
    pub fn dns_server_v4(&self) -> SocketAddr {
        SocketAddr::new(DNS_V4.into(), 53)
    }

    /// The DNS server over IPv6: `[2001:db8::53]:53`.
    pub fn dns_server_v6(&self) -> SocketAddr {
        SocketAddr::new(DNS_V6.into(), 53)
    }

    /// Connections the server has accepted so far on `addr` (all ports).
    ///
    /// The server thread calls `accept()` a moment (well under a millisecond, usually)
    /// after the client's `connect()` returned: to assert on a count, poll it with a
    /// deadline rather than reading it once right after connecting.
    pub fn accepted_count(&self, addr: IpAddr) -> usize {
        self.counters.get(addr).accepted
    }

    /// Connections accepted on `addr` that the client has not closed yet (the server
    /// notices a close within a millisecond or so: poll this with a timeout). A connection
    /// leaves the count once the server has closed its end: its descriptor is gone too.
    pub fn open_count(&self, addr: IpAddr) -> usize {
        self.counters.get(addr).open
    }

    /// TLS handshakes over TCP the secure servers completed on `addr` (all ports) so far; 0
    /// in a lab that is not [secure](LabBuilder::secure). Updated by the server a moment
    /// after the client's handshake returned: poll it with a deadline.
    pub fn tls_accepted_count(&self, addr: IpAddr) -> usize {
        self.secure_counters.get(addr).tls_accepted
    }

    /// QUIC handshakes the secure servers completed on `addr` (all ports) so far (the
    /// server has the client's Finished); 0 in a lab that is not secure. A moment after
    /// the client's: poll it with a deadline.
    pub fn quic_accepted_count(&self, addr: IpAddr) -> usize {
        self.secure_counters.get(addr).quic_accepted
    }

    /// QUIC connections open on `addr`'s servers now: handshakes completed and not closed
    /// yet. Drops back when the client closes (CONNECTION_CLOSE) or the connection times
    /// out (idle timeout: quinn's default, 30 s). Poll it with a deadline.
    pub fn quic_open_count(&self, addr: IpAddr) -> usize {
        self.secure_counters.get(addr).quic_open
    }

    /// QUIC connection attempts `addr`'s servers have seen so far: client Initials that
    /// started a connection on the server (quinn's `Endpoint::accept` yielded them),
    /// whether or not the handshake then completed. With [`UdpBehavior::Stall`] this is 1
    /// per attempt while [`quic_accepted_count`](Self::quic_accepted_count) stays 0.
    pub fn quic_incoming_count(&self, addr: IpAddr) -> usize {
        self.secure_counters.get(addr).quic_incoming
    }

    /// The test CA's certificate (PEM) of a [secure](LabBuilder::secure) lab, e.g. for a
    /// client's `--cacert` file ([`write_ca_pem`](Self::write_ca_pem)); `None` otherwise.
    /// A new CA is generated every time a secure lab starts. It signed one server
    /// certificate, which the servers send followed by the CA certificate, with an IP SAN
    /// for every server address (and, in a NAT64 lab, every synthesized address of an
    /// IPv4 server) and a DNS SAN for [`LAB_NAME`] and every name given to
    /// [`LabBuilder::dns`] or [`LabBuilder::https`].
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|ca| ca.ca_pem.as_str())
    }

    /// The test CA's certificate (DER) of a secure lab, as rustls takes it
    /// (`RootCertStore::add`); `None` otherwise. See [`ca_pem`](Self::ca_pem).
    pub fn ca_der(&self) -> Option<rustls::pki_types::CertificateDer<'static>> {
        self.ca.as_ref().map(|ca| ca.ca_der.clone())
    }

    /// Writes [`ca_pem`](Self::ca_pem) to `path` (created or truncated).
    ///
    /// # Errors
    /// [`LabError::Config`] if the lab is not secure; [`LabError::Io`] if the file cannot
    /// be written.
    pub fn write_ca_pem(&self, path: impl AsRef<std::path::Path>) -> Result<(), LabError> {
        let path = path.as_ref();
        let pem = self.ca_pem().ok_or_else(|| {
            LabError::Config("write_ca_pem: the lab is not secure (LabBuilder::secure)".into())
        })?;
        std::fs::write(path, pem)
            .map_err(|e| LabError::io(format!("writing {}", path.display()), e))
    }

    /// Well-formed queries received so far for `name` and `rtype` (answered or not).
    pub fn dns_query_count(&self, name: &str, rtype: RecordType) -> usize {
        self.queries.count(name, rtype.code())
    }

    /// Runs `f` on a new thread inside the client namespace and returns its result; a
    /// panic in `f` is resumed on the caller. Every socket `f` creates, and every thread
    /// it spawns (e.g. a tokio runtime's workers), lives in the client namespace.
    pub fn run_in_client<F, R>(&self, f: F) -> Result<R, LabError>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let ns = &self.client_ns;
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("eyeballs-lab-client".into())
                .spawn_scoped(scope, move || -> Result<R, LabError> {
                    netns::enter(ns, "client")?;
                    Ok(f())
                })
                .map_err(|e| LabError::io("spawning a client thread", e))?;
            match worker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// A [`Command`] that runs `program` in the client namespace (`ip netns exec <client>
    /// program`), where the *system* resolver (`getaddrinfo`, `getent`) asks the lab's DNS
    /// server: for testing code that calls the OS resolver, which a
    /// [`run_in_client`](Self::run_in_client) thread cannot do (it still sees the host's
    /// `/etc/resolv.conf`). Add arguments, environment and stdio, then run it; a test can
    /// re-run its own binary (`std::env::current_exe()`, `--exact <test>`) in a child mode.
    ///
    /// `ip netns exec` bind-mounts the files of `/etc/netns/<client>/` over those of `/etc`
    /// for the command. The first call writes there:
    /// - `resolv.conf`: `nameserver 198.18.0.53` ([`DNS_V4`]; [`DNS_V6`] in a NAT64 lab,
    ///   whose client is IPv6-only) and `options timeout:1
    ///   attempts:1` (a [`DnsResponse::Never`] query fails after one second rather than
    ///   glibc's default ten). No search line: glibc then searches the domain of the host
    ///   name, if it has one; those queries go to the lab too, which answers NXDOMAIN.
    /// - `nsswitch.conf`: `hosts: files dns`, so that no NSS module that talks to a daemon
    ///   outside the namespace (systemd-resolved, mDNS, sss) answers. `/etc/hosts` stays the
    ///   host's.
    ///
    /// The directory is removed when the lab is dropped (if the process dies first, by the
    /// next lab's sweep). The command's traffic obeys the traffic rule like any client
    /// thread's: the client namespace has routes to the lab's ranges only.
    ///
    /// # Errors
    /// nscd is running (`/run/nscd/socket` exists): glibc would ask it, and it resolves in
    /// the root namespace with the host's DNS servers. Or `/etc/netns` cannot be written.
    pub fn client_command(&self, program: impl AsRef<OsStr>) -> Result<Command, LabError> {
        for socket in ["/run/nscd/socket", "/var/run/nscd/socket"] {
            if std::path::Path::new(socket).exists() {
                return Err(LabError::Config(format!(
                    "nscd is running ({socket} exists): the system resolver would ask it, \
                     outside the lab's namespace; stop nscd to use client_command"
                )));
            }
        }
        let client = self.client_netns();
        {
            let mut etc = self.client_etc.lock().unwrap_or_else(|e| e.into_inner());
            if etc.is_none() {
                // An IPv6-only client (a NAT64 lab) reaches the server over IPv6 only.
                let server = if self.nat64().is_some() {
                    IpAddr::from(DNS_V6)
                } else {
                    IpAddr::from(DNS_V4)
                };
                let resolv_conf = format!("nameserver {server}\noptions timeout:1 attempts:1\n");
                let written = netns::write_etc(
                    client,
                    &[
                        ("resolv.conf", resolv_conf.as_str()),
                        ("nsswitch.conf", "hosts: files dns\n"),
                    ],
                );
                let files = EtcFiles(client.to_owned());
                // After a failure, dropping `files` removes whatever was written.
                written?;
                *etc = Some(files);
            }
        }
        let mut command = Command::new("ip");
        command.args(["netns", "exec", client]).arg(program);
        Ok(command)
    }

    /// Spawns a thread inside the client namespace running `f` (see
    /// [`run_in_client`](Self::run_in_client)); returns once it is inside.
    pub fn spawn_in_client<F, R>(&self, f: F) -> Result<JoinHandle<R>, LabError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_in(&self.client_ns, "client", f)
    }

    /// Spawns a thread inside the server namespace running `f`; returns once it is inside.
    /// For servers of the test's own on [`Behavior::External`] addresses (the lab's
    /// listeners, rules and counters leave those alone). Every socket `f` creates, and
    /// every thread it spawns, lives in the server namespace.
    ///
    /// It returns before `f` has bound anything: have `f` say when it listens (a channel)
    /// before the client connects. The thread is the caller's: make it end (a stop
    /// channel, a bounded number of connections) and join it before the lab is dropped. A
    /// thread still running keeps the namespace alive (without its name) until it exits.
    pub fn spawn_in_server<F, R>(&self, f: F) -> Result<JoinHandle<R>, LabError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        spawn_in(&self.server_ns, "server", f)
    }

    /// Changes how the server address `addr` (one given to [`LabBuilder::server`]) treats
    /// connections from now on: e.g. a [`Behavior::BlackHole`] address repaired to
    /// [`Behavior::Accept`] in the middle of a test. Every behaviour can be set, from every
    /// other one (`External` included):
    /// - the firewall rules of the address's family are rewritten in the server namespace
    ///   (`iptables-restore` / `ip6tables-restore` of the whole family's ruleset, which
    ///   swaps the tables at once; other addresses keep their rules);
    /// - `Accept` and `Delay` get the lab's listener on every port, bound before the rules
    ///   change (a SYN the new rules let through finds it); the other behaviours lose it
    ///   after the rules change, so that `External` frees the ports for a server of the
    ///   test's own. In a [secure](LabBuilder::secure) lab every behaviour but `External`
    ///   has the TLS and QUIC servers (the rules decide what reaches them): only a change
    ///   to or from `External` starts or stops them (stopping closes the address's QUIC
    ///   connections, waiting up to a second for them, so that the UDP ports are free);
    /// - `Delay(d)` and `Unreachable` get their hold in the packet holder (started now if
    ///   the lab had none) before the rules queue packets to it; a hold no longer needed is
    ///   removed after the rules change.
    ///
    /// An address without a [`UdpBehavior`] of its own has its UDP follow the new behaviour
    /// ([`UdpBehavior::following`]); one with a `UdpBehavior` keeps it.
    ///
    /// When it returns, new connections follow the new behaviour. Connections already
    /// open are left alone by the lab's server, but the new rules see their packets too:
    /// after `BlackHole` they are dropped, after `Refuse` reset, after `Unreachable`
    /// rejected. SYNs held when a `Delay` changes are released at their old time. The
    /// counters ([`accepted_count`](Self::accepted_count), [`open_count`](Self::open_count))
    /// carry on across changes. Setting the behaviour an address already has does nothing.
    /// Calls are serialised (one at a time per lab).
    ///
    /// # Errors
    /// [`LabError::Config`] if `addr` is not one of this lab's server addresses. Otherwise
    /// the error of the step that failed: a listener that cannot bind (switching away from
    /// `External` while the test's own server still listens on a lab port gives
    /// `EADDRINUSE`), starting a thread, or `iptables-restore`. After an error the address
    /// may be left between its old and its new behaviour; the lab still tears down cleanly.
    pub fn set_behavior(&self, addr: IpAddr, behavior: Behavior) -> Result<(), LabError> {
        self.change(addr, "set_behavior", |b, _| *b = behavior)
    }

    /// Changes how the server address `addr` treats UDP from now on (see [`UdpBehavior`],
    /// [`LabBuilder::udp`]); its TCP keeps its [`Behavior`]. As with
    /// [`set_behavior`](Self::set_behavior): the family's rules are swapped at once, a
    /// hold the new behaviour needs (`Delay`, `Refuse`) is in the holder before the rules
    /// queue to it, and when this returns new datagrams follow the new behaviour. QUIC
    /// connections already open see the new rules too (after `BlackHole` their packets are
    /// dropped). A `Stall` counts datagrams per conntrack flow from the flow's start: a
    /// flow that began before the change is past its first datagram and is dropped from
    /// its next one. Setting the UDP behaviour an address already has does nothing.
    ///
    /// # Errors
    /// As [`set_behavior`](Self::set_behavior).
    pub fn set_udp_behavior(&self, addr: IpAddr, behavior: UdpBehavior) -> Result<(), LabError> {
        self.change(addr, "set_udp_behavior", |_, u| *u = Some(behavior))
    }

    /// Removes the [`UdpBehavior`] of `addr`: its UDP follows its [`Behavior`] again
    /// ([`UdpBehavior::following`]), as if [`LabBuilder::udp`] had not been given for it.
    ///
    /// # Errors
    /// As [`set_behavior`](Self::set_behavior).
    pub fn clear_udp_behavior(&self, addr: IpAddr) -> Result<(), LabError> {
        self.change(addr, "clear_udp_behavior", |_, u| *u = None)
    }

    /// The UDP behaviour of `addr` now: its own, or the one its [`Behavior`] gives
    /// ([`UdpBehavior::following`]; `None` for `Unreachable` and `External`, and for an
    /// address that is not a server of this lab).
    pub fn udp_behavior(&self, addr: IpAddr) -> Option<UdpBehavior> {
        let runtime = self.runtime.lock().unwrap_or_else(|e| e.into_inner());
        let (_, behavior) = runtime.servers.iter().find(|(a, _)| *a == addr)?;
        runtime
            .udp
            .get(&addr)
            .copied()
            .or_else(|| UdpBehavior::following(*behavior))
    }

    /// Applies `f` to the behaviour and UDP behaviour of `addr` and carries the change out
    /// (see [`set_behavior`](Self::set_behavior)); `what` names the caller in errors.
    fn change(
        &self,
        addr: IpAddr,
        what: &str,
        f: impl FnOnce(&mut Behavior, &mut Option<UdpBehavior>),
    ) -> Result<(), LabError> {
        let mut guard = self.runtime.lock().unwrap_or_else(|e| e.into_inner());
        let runtime = &mut *guard;
        let Some(index) = runtime.servers.iter().position(|(a, _)| *a == addr) else {
            return Err(LabError::Config(format!(
                "{what}({addr}): not a server address of this lab"
            )));
        };
        let (old, old_udp) = (runtime.servers[index].1, runtime.udp.get(&addr).copied());
        let (mut behavior, mut udp) = (old, old_udp);
        f(&mut behavior, &mut udp);
        if (old, old_udp) == (behavior, udp) {
            return Ok(());
        }

        // 1. The listener, before any rule lets a SYN through to it.
        if let Some(secure) = &runtime.secure {
            if serves_secure(behavior) && !serves_secure(old) {
                secure.send(secure::Command::Serve(addr))?;
            }
        } else if listens(behavior) && !listens(old) {
            match &runtime.tcp {
                Some(tcp) => tcp.send(tcp::Command::Listen(addr))?,
                None => {
                    let mut services = self.services.lock().unwrap_or_else(|e| e.into_inner());
                    spawn_tcp(
                        &self.server_ns,
                        &mut services,
                        runtime,
                        &self.counters,
                        vec![addr],
                    )?;
                }
            }
        }
        // 2. The holds, before a rule queues packets to the holder.
        let holds = address_holds(behavior, udp);
        for (flow, d) in holds {
            if let Some(d) = d {
                runtime
                    .holds
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((addr, flow), d);
            }
        }
        if holds.iter().any(|(_, d)| d.is_some()) && !runtime.holder {
            let mut services = self.services.lock().unwrap_or_else(|e| e.into_inner());
            spawn_holder(&self.server_ns, &mut services, runtime)?;
        }
        // 3. The rules of the address's family.
        let set = |runtime: &mut Runtime, behavior, udp: Option<UdpBehavior>| {
            runtime.servers[index].1 = behavior;
            match udp {
                Some(u) => runtime.udp.insert(addr, u),
                None => runtime.udp.remove(&addr),
            };
        };
        set(runtime, behavior, udp);
        let v6 = addr.is_ipv6();
        let rules = rules::ruleset(&runtime.servers, &runtime.udp, v6);
        if rules != runtime.rulesets[usize::from(v6)] {
            if let Err(e) = restore_rules(
                self.server_netns(),
                v6,
                &rules::replacement(&runtime.servers, &runtime.udp, v6),
            ) {
                set(runtime, old, old_udp);
                return Err(e);
            }
            runtime.rulesets[usize::from(v6)] = rules;
        }
        // 4. What only the old behaviour needed.
        for (flow, d) in holds {
            if d.is_none() {
                runtime
                    .holds
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&(addr, flow));
            }
        }
        if let Some(secure) = &runtime.secure {
            if serves_secure(old) && !serves_secure(behavior) {
                secure.send(secure::Command::Stop(addr))?;
            }
        } else if listens(old) && !listens(behavior) {
            if let Some(tcp) = &runtime.tcp {
                tcp.send(tcp::Command::Unlisten(addr))?;
            }
        }
        Ok(())
    }
}

/// Spawns a thread that enters `ns` (the `what` namespace) and runs `f`; returns once the
/// thread is inside, or the error entering gave.
fn spawn_in<F, R>(ns: &File, what: &'static str, f: F) -> Result<JoinHandle<R>, LabError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ns = ns
        .try_clone()
        .map_err(|e| LabError::io(format!("duplicating the {what} namespace handle"), e))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name(format!("eyeballs-lab-{what}"))
        .spawn(move || match netns::enter(&ns, what) {
            Ok(()) => {
                drop(ns);
                // The spawner waits for this message before returning the handle.
                let _ = tx.send(Ok(()));
                f()
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                // The spawner returns the error and drops this thread's handle;
                // end the thread without running `f` (and without a panic message).
                std::panic::resume_unwind(Box::new("not in the lab namespace"))
            }
        })
        .map_err(|e| LabError::io(format!("spawning a {what} thread"), e))?;
    match rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(LabError::Thread(format!("{what} thread exited early"))),
    }
}

/// The lab's server threads and their stop signal.
#[derive(Debug)]
struct Services {
    /// Dropping this closes the pair: every thread's poll sees the stop socket readable.
    stop: Option<UnixStream>,
    /// The other end, for threads started later ([`Lab::set_behavior`]).
    stop_rx: Arc<UnixStream>,
    threads: Vec<JoinHandle<()>>,
}

/// What [`Lab::set_behavior`] changes: the server addresses' behaviours, and the state of
/// the services and rules that follow from them.
#[derive(Debug)]
struct Runtime {
    /// Every server address with its behaviour now, in the builder's order.
    servers: Vec<(IpAddr, Behavior)>,
    /// The addresses with a UDP behaviour of their own, and that behaviour.
    udp: HashMap<IpAddr, UdpBehavior>,
    /// The ports listeners use (sorted, never empty).
    ports: Vec<u16>,
    /// The holder's per-address holds (shared with its thread).
    holds: Arc<holder::Holds>,
    /// The holder thread runs (started at most once, when first needed).
    holder: bool,
    /// The TCP server thread, once one runs (never in a secure lab).
    tcp: Option<tcp::Control>,
    /// The secure server thread of a secure lab.
    secure: Option<secure::Control>,
    /// The IPv4 and IPv6 rulesets in force (`None`: that family's tables were never
    /// written, or were flushed).
    rulesets: [Option<String>; 2],
}

/// Whether a behaviour needs the lab's listener on every port.
fn listens(behavior: Behavior) -> bool {
    matches!(behavior, Behavior::Accept | Behavior::Delay(_))
}

/// Whether a behaviour gets the TLS and QUIC servers in a secure lab.
fn serves_secure(behavior: Behavior) -> bool {
    behavior != Behavior::External
}

/// How long the holder keeps packets sent to an address with this behaviour, if at all.
fn hold(behavior: Behavior) -> Option<Duration> {
    match behavior {
        Behavior::Delay(d) if !d.is_zero() => Some(d),
        Behavior::Unreachable => Some(UNREACHABLE_HOLD),
        _ => None,
    }
}

/// How long the holder keeps an address's UDP datagrams under this UDP behaviour (those
/// the rules queue), if at all.
fn udp_hold(behavior: UdpBehavior) -> Option<Duration> {
    match behavior {
        UdpBehavior::Delay(d) if !d.is_zero() => Some(d),
        UdpBehavior::Refuse => Some(UNREACHABLE_HOLD),
        _ => None,
    }
}

/// The holds of an address with `behavior` and the UDP behaviour `udp` of its own (if
/// any): for all its packets, and for its UDP.
fn address_holds(
    behavior: Behavior,
    udp: Option<UdpBehavior>,
) -> [(holder::Flow, Option<Duration>); 2] {
    let udp = udp.or_else(|| UdpBehavior::following(behavior));
    [
        (holder::Flow::Any, hold(behavior)),
        (holder::Flow::Udp, udp.and_then(udp_hold)),
    ]
}

/// The IP SANs of a secure lab's certificate: every server address, and (NAT64 lab) the
/// synthesized address of every IPv4 one.
fn certificate_addrs(config: &LabBuilder) -> Vec<IpAddr> {
    let mut addrs: Vec<IpAddr> = config.servers.iter().map(|(a, _)| *a).collect();
    if let Some(nat64) = &config.nat64 {
        for (addr, _) in &config.servers {
            if let IpAddr::V4(v4) = addr {
                addrs.push(IpAddr::V6(nat64.synthesize(*v4)));
            }
        }
    }
    addrs
}

/// The DNS SANs of a secure lab's certificate: [`LAB_NAME`] and every name of
/// [`LabBuilder::dns`] and [`LabBuilder::https`].
fn certificate_names(config: &LabBuilder) -> Vec<String> {
    let mut names = vec![LAB_NAME.to_owned()];
    for name in config
        .names
        .iter()
        .map(|(n, _)| n)
        .chain(config.https.iter().map(|(n, _)| n))
    {
        let name = name.trim_end_matches('.');
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Replaces one family's firewall tables in the server namespace.
fn restore_rules(server: &str, v6: bool, rules: &str) -> Result<(), LabError> {
    let tool = if v6 {
        "ip6tables-restore"
    } else {
        "iptables-restore"
    };
    netns::run("ip", &["netns", "exec", server, tool, "-w"], Some(rules)).map(drop)
}

/// Starts the packet holder thread in the server namespace.
fn spawn_holder(
    server_ns: &File,
    services: &mut Services,
    runtime: &mut Runtime,
) -> Result<(), LabError> {
    let (holds, stop) = (runtime.holds.clone(), services.stop_rx.clone());
    services
        .threads
        .push(netns::spawn_service(server_ns, "holder", move |ready| {
            holder::run(ready, holds, stop)
        })?);
    runtime.holder = true;
    Ok(())
}

/// Starts the TCP server thread in the server namespace, listening on `listen`.
fn spawn_tcp(
    server_ns: &File,
    services: &mut Services,
    runtime: &mut Runtime,
    counters: &Arc<tcp::Counters>,
    listen: Vec<IpAddr>,
) -> Result<(), LabError> {
    let (control, control_rx) = tcp::Control::channel()?;
    let (stop, counters, ports) = (
        services.stop_rx.clone(),
        counters.clone(),
        runtime.ports.clone(),
    );
    services
        .threads
        .push(netns::spawn_service(server_ns, "tcp", move |ready| {
            tcp::run(ready, listen, ports, counters, stop, control_rx)
        })?);
    runtime.tcp = Some(control);
    Ok(())
}

impl Drop for Services {
    fn drop(&mut self) {
        drop(self.stop.take());
        for thread in self.threads.drain(..) {
            // A panicked service thread has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// The `/etc/netns/<name>` directory of a namespace, removed on drop.
#[derive(Debug)]
struct EtcFiles(String);

impl Drop for EtcFiles {
    fn drop(&mut self) {
        if let Err(e) = netns::remove_etc(&self.0) {
            eprintln!(
                "eyeballs-lab: could not remove {}: {e}",
                netns::etc_path(&self.0).display()
            );
        }
    }
}

/// Namespaces the lab created, deleted on drop.
#[derive(Debug)]
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in self.0.drain(..).rev() {
            if let Err(e) = netns::del(&name) {
                eprintln!("eyeballs-lab: could not delete namespace {name}: {e}");
            }
        }
    }
}
