//! A NAT64 lab ([`LabBuilder::nat64`]): the client namespace is IPv6-only and reaches the
//! lab's IPv4 servers through a real stateless translator (TAYGA, RFC 7915 with RFC 6052
//! addresses) in the server namespace; the lab's DNS answers `ipv4only.arpa` AAAA with the
//! synthesized Well-Known Addresses (RFC 7050), and optionally synthesizes AAAA records for
//! every IPv4-only name (DNS64, RFC 6147).
//!
//! ```text
//!  client ns (IPv6 only)                 server ns
//!  2001:db8:ffff::1 ── lab0 ═══ lab0 ── 2001:db8::53 (DNS; the client's NAT64 gateway)
//!  route PREFIX via 2001:db8::53          │ forwarding on (IPv6)
//!  route 2001:db8::/32 dev lab0           ├─ route PREFIX dev nat64 ─┐
//!                                         │                          tayga: PREFIX+v4 ⇄ v4,
//!                                         ├─ route POOL dev nat64 ───┘ client ⇄ 198.19.64.x
//!                                         └─ 198.18.x.y servers (their behaviours apply:
//!                                            the translated packets reach INPUT as IPv4)
//! ```
//!
//! TAYGA maps the client's IPv6 address to one address of its dynamic pool
//! ([`NAT64_POOL`]), so the IPv4 servers see connections from `198.19.64.x`. It runs as a
//! child process (`ip netns exec <server> setpriv --pdeathsig KILL tayga --nodetach`) of a
//! thread the lab owns: dropping the lab kills it before the namespaces go, and if the test
//! process dies the kernel kills it too (`PR_SET_PDEATHSIG`), so that no translator keeps a
//! deleted namespace alive. Its TUN device is not persistent: it disappears with it.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{in_lab_range, netns, DnsRecords, Lab, LabBuilder, LabError, CLIENT_V6, DNS_V6};

/// The translator's IPv4 dynamic pool: the addresses the client's IPv6 address is mapped
/// to (IPv4 servers see connections from here). Reserved in a NAT64 lab: no server
/// address may be in it.
pub const NAT64_POOL: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 19, 64, 0), 24);

/// The translator's own IPv4 address (inside [`NAT64_POOL`], which TAYGA then leaves out of
/// the pool), the source of the ICMP errors it generates.
pub const NAT64_V4: Ipv4Addr = Ipv4Addr::new(198, 19, 64, 1);

/// The default NAT64 prefix of [`Nat64::default`]: `2001:db8:64::/96`, inside the lab's
/// IPv6 range (the Well-Known Prefix `64:ff9b::/96` is outside it, so the lab does not use
/// it: its traffic stays within `2001:db8::/32`).
pub const DEFAULT_NAT64_PREFIX: (Ipv6Addr, u8) =
    (Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0, 0), 96);

/// The Well-Known Name and its A records, the Well-Known Addresses (RFC 7050 §2.2).
pub const IPV4ONLY_ARPA: &str = "ipv4only.arpa";
/// `192.0.0.170` and `192.0.0.171`.
pub const WELL_KNOWN_ADDRESSES: [Ipv4Addr; 2] =
    [Ipv4Addr::new(192, 0, 0, 170), Ipv4Addr::new(192, 0, 0, 171)];

/// The name of the translator's TUN device in the server namespace.
const TUN: &str = "nat64";

/// How long the translator may take to create its TUN device.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of TAYGA's stderr kept for error messages.
const STDERR_CAP: usize = 16 * 1024;

/// How a NAT64 lab translates; see [`LabBuilder::nat64`] and the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nat64 {
    prefix: Ipv6Addr,
    len: u8,
    dns64: bool,
}

impl Default for Nat64 {
    /// [`DEFAULT_NAT64_PREFIX`] (`2001:db8:64::/96`), no DNS64 for the lab's names.
    fn default() -> Self {
        Nat64 {
            prefix: DEFAULT_NAT64_PREFIX.0,
            len: DEFAULT_NAT64_PREFIX.1,
            dns64: false,
        }
    }
}

impl Nat64 {
    /// Translation through `prefix/len`: a length RFC 6052 allows (40, 48, 56, 64, 96; 32
    /// would be all of `2001:db8::/32`), inside `2001:db8::/32`, holding none of the lab's
    /// IPv6 addresses. Checked when the lab starts.
    pub fn prefix(prefix: Ipv6Addr, len: u8) -> Self {
        Nat64 {
            prefix,
            len,
            dns64: false,
        }
    }

    /// Whether the lab's DNS server also synthesizes AAAA records (DNS64, RFC 6147): a
    /// name with A records and no AAAA records answers AAAA with the A addresses embedded
    /// in the prefix. Default: off (only `ipv4only.arpa` is synthesized), so that a
    /// client must synthesize locally from the A answer (V3-8.2.2).
    pub fn dns64(self, on: bool) -> Self {
        Nat64 { dns64: on, ..self }
    }

    /// The prefix's bits.
    pub fn prefix_addr(&self) -> Ipv6Addr {
        self.prefix
    }

    /// The prefix's length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The IPv6 address that stands for `v4` behind this prefix (RFC 6052 §2.2: the IPv4
    /// octets after the prefix, skipping bits 64–71, the "u" octet, which stay zero, as
    /// does the suffix). The lab's own encoder, independent of the code under test.
    pub fn synthesize(&self, v4: Ipv4Addr) -> Ipv6Addr {
        let mut bytes = self.prefix.octets();
        let positions: [usize; 4] = match self.len {
            32 => [4, 5, 6, 7],
            40 => [5, 6, 7, 9],
            48 => [6, 7, 9, 10],
            56 => [7, 9, 10, 11],
            64 => [9, 10, 11, 12],
            _ => [12, 13, 14, 15],
        };
        for (at, octet) in positions.into_iter().zip(v4.octets()) {
            bytes[at] = octet;
        }
        Ipv6Addr::from(bytes)
    }

    /// Whether `ip` is under the prefix.
    fn contains(&self, ip: Ipv6Addr) -> bool {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.len))
            .unwrap_or(0);
        ip.to_bits() & mask == self.prefix.to_bits()
    }

    fn validate(&self, servers: &[IpAddr]) -> Result<(), LabError> {
        let this = format!("NAT64 prefix {}/{}", self.prefix, self.len);
        if ![40, 48, 56, 64, 96].contains(&self.len) {
            return Err(LabError::Config(format!(
                "{this}: the lab's prefix is /40, /48, /56, /64 or /96"
            )));
        }
        let host_bits = u128::MAX >> self.len;
        if self.prefix.to_bits() & host_bits != 0 {
            return Err(LabError::Config(format!(
                "{this}: bits set beyond the length"
            )));
        }
        if self.prefix.octets()[8] != 0 {
            return Err(LabError::Config(format!(
                "{this}: bits 64-71 (the \"u\" octet) must be zero (RFC 6052 §2.2)"
            )));
        }
        if !in_lab_range(self.prefix.into()) {
            return Err(LabError::Config(format!(
                "{this}: outside the lab's 2001:db8::/32"
            )));
        }
        let lab_v6 = [IpAddr::V6(CLIENT_V6), IpAddr::V6(DNS_V6)];
        for addr in servers.iter().chain(&lab_v6) {
            match addr {
                IpAddr::V6(v6) if self.contains(*v6) => {
                    return Err(LabError::Config(format!("{this} holds the address {addr}")))
                }
                IpAddr::V4(v4) if in_pool(*v4) => {
                    return Err(LabError::Config(format!(
                        "server address {addr} is in the NAT64 pool {}/{}",
                        NAT64_POOL.0, NAT64_POOL.1
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn in_pool(v4: Ipv4Addr) -> bool {
    let mask = u32::MAX << (32 - NAT64_POOL.1);
    v4.to_bits() & mask == NAT64_POOL.0.to_bits()
}

impl LabBuilder {
    /// Makes the lab a NAT64 network ([module docs](self)): the client namespace gets no
    /// IPv4 address and no IPv4 route (its [`Lab::client_v4`] does not exist there), and
    /// reaches every IPv4 server through `nat64`'s prefix, translated by TAYGA in the
    /// server namespace (installed by `install-deps.sh`). The DNS server answers
    /// `ipv4only.arpa` (A: `192.0.0.170`, `192.0.0.171`; AAAA: both synthesized), unless
    /// the test adds that name itself (e.g. to answer it with SERVFAIL); with
    /// [`Nat64::dns64`] it synthesizes AAAA records for every IPv4-only name too. IPv6
    /// servers stay reachable natively.
    ///
    /// Reserved in a NAT64 lab: [`NAT64_POOL`] (no server address there).
    pub fn nat64(mut self, nat64: Nat64) -> Self {
        self.nat64 = Some(nat64);
        self
    }
}

impl Lab {
    /// The NAT64 configuration, in a lab built with [`LabBuilder::nat64`].
    pub fn nat64(&self) -> Option<Nat64> {
        self.nat64.as_ref().map(|t| t.config)
    }

    /// The process id of the lab's TAYGA, in a NAT64 lab (for tests that check it is gone
    /// once the lab is dropped).
    pub fn nat64_pid(&self) -> Option<u32> {
        self.nat64.as_ref().map(|t| t.pid)
    }

    /// The IPv6 address the client reaches the IPv4 address `v4` at, in a NAT64 lab.
    pub fn synthesized(&self, v4: Ipv4Addr) -> Option<Ipv6Addr> {
        self.nat64().map(|n| n.synthesize(v4))
    }
}

/// Checks a NAT64 configuration and adds its DNS names (before the builder is validated,
/// so that `dns_behavior` may name `ipv4only.arpa`).
pub(crate) fn prepare(mut config: LabBuilder) -> Result<LabBuilder, LabError> {
    let Some(nat64) = config.nat64 else {
        return Ok(config);
    };
    let servers: Vec<IpAddr> = config.servers.iter().map(|(a, _)| *a).collect();
    nat64.validate(&servers)?;
    if nat64.dns64 {
        for (_, records) in &mut config.names {
            if records.aaaa.is_empty() {
                records.aaaa = records.a.iter().map(|a| nat64.synthesize(*a)).collect();
            }
        }
    }
    if !config.names.iter().any(|(name, _)| name == IPV4ONLY_ARPA) {
        config.names.push((
            IPV4ONLY_ARPA.to_owned(),
            DnsRecords {
                a: WELL_KNOWN_ADDRESSES.to_vec(),
                aaaa: WELL_KNOWN_ADDRESSES
                    .iter()
                    .map(|a| nat64.synthesize(*a))
                    .collect(),
            },
        ));
    }
    Ok(config)
}

/// The running translator: its process, owned by a thread of its own.
#[derive(Debug)]
pub(crate) struct Translator {
    config: Nat64,
    /// The TAYGA process (`ip netns exec` and `setpriv` exec it in place).
    pid: u32,
    /// Dropping it tells the thread to kill the translator.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Translator {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The thread only kills and reaps; a panic there leaves nothing to do.
            let _ = thread.join();
        }
    }
}

/// Makes the namespaces a NAT64 network and starts the translator (after the lab's own
/// addresses and routes are in place). `None` for a lab without NAT64.
pub(crate) fn start(
    config: Option<Nat64>,
    client: &str,
    server: &str,
    server_ns: &std::fs::File,
) -> Result<Option<Translator>, LabError> {
    let Some(nat64) = config else {
        return Ok(None);
    };
    let prefix = format!("{}/{}", nat64.prefix, nat64.len);
    let pool = format!("{}/{}", NAT64_POOL.0, NAT64_POOL.1);
    // The client: IPv6 only, the prefix through the server namespace (the server owns
    // none of the prefix's addresses, so it would not answer neighbour solicitations).
    // (The route first: removing the last IPv4 address flushes the device's IPv4 routes.)
    let client_batch = format!(
        "route del 198.18.0.0/15 dev lab0\n\
         addr del {}/32 dev lab0\n\
         route add {prefix} via {DNS_V6} dev lab0\n",
        crate::CLIENT_V4
    );
    netns::run("ip", &["-n", client, "-batch", "-"], Some(&client_batch))?;
    // The server forwards between the veth and the translator.
    netns::write_sysctls(
        server_ns,
        "server",
        &[("net.ipv6.conf.all.forwarding", "1")],
    )?;

    let translator = spawn(nat64, server)?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if netns::run("ip", &["-n", server, "link", "show", "dev", TUN], None).is_ok() {
            break;
        }
        if let Some(failure) = translator.failure() {
            return Err(failure);
        }
        if Instant::now() > deadline {
            return Err(LabError::Thread(format!(
                "tayga did not create its {TUN} device within {START_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let server_batch = format!(
        "link set {TUN} up\n\
         route add {prefix} dev {TUN}\n\
         route add {pool} dev {TUN}\n"
    );
    netns::run("ip", &["-n", server, "-batch", "-"], Some(&server_batch))?;
    Ok(Some(translator.translator))
}

/// A translator being started: the handle, and what its process said.
struct Starting {
    translator: Translator,
    exited: Arc<Mutex<Option<String>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Starting {
    /// The error to report if the process has exited.
    fn failure(&self) -> Option<LabError> {
        let status = self
            .exited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        // Let the reader thread catch the last words.
        std::thread::sleep(Duration::from_millis(20));
        let stderr = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        Some(LabError::Command {
            command: "tayga --nodetach --config /dev/stdin (in the server namespace)".into(),
            status,
            stderr: String::from_utf8_lossy(&stderr).trim().to_owned(),
        })
    }
}

/// Spawns TAYGA from a thread that lives as long as the [`Translator`] (the parent-death
/// signal follows the thread that spawned the process).
fn spawn(nat64: Nat64, server: &str) -> Result<Starting, LabError> {
    let conf = format!(
        "tun-device {TUN}\n\
         ipv4-addr {NAT64_V4}\n\
         prefix {}/{}\n\
         dynamic-pool {}/{}\n",
        nat64.prefix, nat64.len, NAT64_POOL.0, NAT64_POOL.1
    );
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", server])
        .args(["setpriv", "--pdeathsig", "KILL"])
        .args(["tayga", "--nodetach", "--config", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let exited = Arc::new(Mutex::new(None));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<u32, LabError>>(1);
    let thread = {
        let (exited, stderr) = (exited.clone(), stderr.clone());
        std::thread::Builder::new()
            .name("eyeballs-lab-nat64".into())
            .spawn(move || {
                let child = match command.spawn() {
                    Ok(c) => c,
                    Err(source) => {
                        let _ = ready_tx.send(Err(LabError::Spawn {
                            command: "ip netns exec <server> setpriv --pdeathsig KILL tayga \
                                      (install it with crates/eyeballs-lab/install-deps.sh)"
                                .into(),
                            source,
                        }));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(child.id()));
                supervise(child, &conf, &stop_rx, &exited, &stderr);
            })
            .map_err(|e| LabError::io("spawning the nat64 thread", e))?
    };
    match ready_rx.recv() {
        Ok(Ok(pid)) => Ok(Starting {
            translator: Translator {
                config: nat64,
                pid,
                stop: Some(stop_tx),
                thread: Some(thread),
            },
            exited,
            stderr,
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(LabError::Thread("the nat64 thread exited early".into()))
        }
    }
}

/// The translator thread's life: feed the configuration, collect stderr, note an early
/// exit, and on the stop signal kill and reap the process.
fn supervise(
    mut child: Child,
    conf: &str,
    stop: &mpsc::Receiver<()>,
    exited: &Mutex<Option<String>>,
    stderr: &Arc<Mutex<Vec<u8>>>,
) {
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        // A write error (the process died at once) shows in its exit status.
        let _ = stdin.write_all(conf.as_bytes());
        // Dropped: TAYGA reads its configuration to the end.
    }
    let reader = child.stderr.take().map(|mut pipe| {
        let stderr = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut kept = stderr.lock().unwrap_or_else(|e| e.into_inner());
                let room = STDERR_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
            }
        })
    });
    loop {
        match stop.recv_timeout(Duration::from_millis(50)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    *exited.lock().unwrap_or_else(|e| e.into_inner()) = Some(status.to_string());
                    eprintln!("eyeballs-lab: tayga exited early: {status}");
                    break;
                }
            }
            // Stop (the sender is dropped, never used to send).
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Err(e) = child.kill() {
                    eprintln!("eyeballs-lab: could not kill tayga: {e}");
                }
                break;
            }
        }
    }
    let _ = child.wait();
    if let Some(reader) = reader {
        let _ = reader.join();
    }
    // After an early exit, wait for the stop all the same: the lab owns the thread.
    let _ = stop.recv();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// RFC 6052 §2.4-style vectors for 192.0.2.33 (the checklist's, recomputed there).
    #[test]
    fn synthesize_matches_rfc6052_layout() {
        let v4 = Ipv4Addr::new(192, 0, 2, 33);
        for (prefix, len, want) in [
            ("2001:db8::", 32, "2001:db8:c000:221::"),
            ("2001:db8:100::", 40, "2001:db8:1c0:2:21::"),
            ("2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"),
            ("2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"),
            ("2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"),
            ("2001:db8:122:344::", 96, "2001:db8:122:344::c000:221"),
        ] {
            assert_eq!(
                Nat64::prefix(v6(prefix), len).synthesize(v4),
                v6(want),
                "{prefix}/{len}"
            );
        }
        assert_eq!(
            Nat64::default().synthesize(Ipv4Addr::new(198, 18, 0, 10)),
            v6("2001:db8:64::c612:a")
        );
    }

    #[test]
    fn prefixes_are_checked() {
        let ok = Nat64::default();
        assert!(ok.validate(&[]).is_ok());
        assert!(Nat64::prefix(v6("2001:db8:6400::"), 40)
            .validate(&[])
            .is_ok());
        for (bad, servers) in [
            (Nat64::prefix(v6("64:ff9b::"), 96), vec![]),
            (Nat64::prefix(v6("2001:db8::"), 32), vec![]),
            (Nat64::prefix(v6("2001:db8:64::"), 80), vec![]),
            (Nat64::prefix(v6("2001:db8:64::1"), 96), vec![]),
            (Nat64::prefix(v6("2001:db8:64:0:ff00::"), 96), vec![]),
            // Holds a server, or the lab's DNS address.
            (Nat64::default(), vec!["2001:db8:64::10".parse().unwrap()]),
            (Nat64::prefix(v6("2001:db8::"), 48), vec![]),
            // A server in the pool.
            (Nat64::default(), vec!["198.19.64.7".parse().unwrap()]),
        ] {
            assert!(
                matches!(bad.validate(&servers), Err(LabError::Config(_))),
                "{bad:?} {servers:?}"
            );
        }
    }

    #[test]
    fn prepare_adds_the_well_known_name_and_dns64() {
        let b = Lab::builder()
            .dns(
                "v4only.test",
                DnsRecords {
                    a: vec![Ipv4Addr::new(198, 18, 0, 10)],
                    aaaa: vec![],
                },
            )
            .nat64(Nat64::default().dns64(true));
        let b = prepare(b).unwrap();
        let find = |name: &str| b.names.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(find("v4only.test").aaaa, [v6("2001:db8:64::c612:a")]);
        let wkn = find(IPV4ONLY_ARPA);
        assert_eq!(wkn.a, WELL_KNOWN_ADDRESSES);
        assert_eq!(
            wkn.aaaa,
            [v6("2001:db8:64::c000:aa"), v6("2001:db8:64::c000:ab")]
        );
        // Without NAT64 nothing changes.
        let plain = prepare(Lab::builder()).unwrap();
        assert!(plain.names.is_empty());
    }
}
