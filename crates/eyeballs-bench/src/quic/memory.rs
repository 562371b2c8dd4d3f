//! Memory and descriptors per race with a QUIC attempt pending, against TCP-only races, on
//! loopback (no root), in a child process (`eyeballs-bench child quic-memory KIND N`) so that
//! its memory is the races' alone:
//! - the holes: a TCP listener on 127.0.0.1 with a backlog of 0 whose one queue place is
//!   taken (the kernel drops further SYNs: `connect` hangs), and a UDP socket bound on the
//!   same port that never reads (QUIC Initials vanish);
//! - N concurrent races of a `SecureConnector` (h3 + h2, h3 known, so QUIC over the address
//!   goes first and TCP follows at the Connection Attempt Delay, [`ATTEMPT_DELAY`] here), or
//!   of one without QUIC (TLS over TCP only);
//! - sampled once every race has its first attempt's sockets open (one attempt pending per
//!   race: the QUIC one, or the TCP one), and again after the attempt delay once the QUIC
//!   races have their TCP attempt's socket too; then every race cancelled and the
//!   descriptors counted again once quinn has closed its sockets.
//!
//! Memory is the growth of the child's resident set (VmRSS: what the races touched) and of
//! its data segment (VmData: what they allocated, touched or not) over the baseline, divided
//! by N. Kernel memory (socket buffers) is in neither.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::servers::{self, Identity, LOCALHOST};
use crate::swarm::{open_fds, raise_nofile, status_kib};

/// The Connection Attempt Delay of the memory races: long enough that 1,000 races on one
/// thread all have their first attempt open before any second one starts (at 250 ms the
/// last races are still opening their QUIC endpoints when the first start TCP).
pub const ATTEMPT_DELAY: Duration = Duration::from_secs(2);

/// The longest a sample waits for the descriptors it expects, after its earliest time.
pub const SAMPLE_CAP: Duration = Duration::from_millis(1500);

/// The longest the child waits for its descriptors to come back after cancelling (quinn
/// drains a closed connection for three probe timeouts before its socket goes).
const SETTLE: Duration = Duration::from_secs(5);

/// Which races.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `SecureConnector` h3 + h2: QUIC attempt first.
    Quic,
    /// `SecureConnector` without QUIC: TLS over TCP.
    TcpOnly,
}

/// Both kinds, in table order.
pub const KINDS: [Kind; 2] = [Kind::Quic, Kind::TcpOnly];

impl Kind {
    /// The child's name for it.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Quic => "quic",
            Kind::TcpOnly => "tcp",
        }
    }

    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Quic => "`SecureConnector` h3 + h2: QUIC to a UDP black hole, then TCP",
            Kind::TcpOnly => "`SecureConnector` h2 only: TCP to a TCP black hole",
        }
    }

    /// What is pending per race at each sample.
    pub fn pending(self) -> [&'static str; 2] {
        match self {
            Kind::Quic => ["1 QUIC attempt", "1 QUIC + 1 TCP attempt"],
            Kind::TcpOnly => ["1 TCP attempt", "1 TCP attempt"],
        }
    }

    fn from_key(key: &str) -> Option<Kind> {
        KINDS.into_iter().find(|k| k.key() == key)
    }
}

/// One sample of the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// VmRSS, KiB.
    pub rss_kib: u64,
    /// VmData, KiB.
    pub data_kib: u64,
    /// Open descriptors.
    pub fds: usize,
    /// Races not yet ended (all of them, if the holes hold).
    pub pending: usize,
    /// When it was taken, after the first race was spawned (ms).
    pub at_ms: u64,
}

/// One kind's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRow {
    /// Which races.
    pub kind: Kind,
    /// How many at once.
    pub races: usize,
    /// Before the races.
    pub before: Snapshot,
    /// With one attempt per race open, and after the attempt delay.
    pub samples: [Snapshot; 2],
    /// Descriptors once every race was cancelled and had settled.
    pub fds_after: usize,
}

impl MemoryRow {
    /// Resident bytes per race at sample `i`.
    pub fn rss_per_race(&self, i: usize) -> f64 {
        per_race(self.samples[i].rss_kib, self.before.rss_kib, self.races)
    }

    /// Allocated (data segment) bytes per race at sample `i`.
    pub fn data_per_race(&self, i: usize) -> f64 {
        per_race(self.samples[i].data_kib, self.before.data_kib, self.races)
    }

    /// Descriptors per race at sample `i`.
    pub fn fds_per_race(&self, i: usize) -> f64 {
        self.samples[i].fds.saturating_sub(self.before.fds) as f64 / self.races.max(1) as f64
    }
}

fn per_race(kib: u64, before: u64, races: usize) -> f64 {
    kib.saturating_sub(before) as f64 * 1024.0 / races.max(1) as f64
}

/// Runs both kinds, `races` races each, in children of `self_exe`.
pub fn run(self_exe: &std::path::Path, races: usize) -> Result<Vec<MemoryRow>, String> {
    KINDS
        .into_iter()
        .map(|kind| {
            let out = Command::new(self_exe)
                .args(["child", "quic-memory", kind.key(), &races.to_string()])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("running the child: {e}"))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                return Err(format!("{}: child {}: {}", kind.key(), out.status, stderr.trim()));
            }
            let row = parse_line(kind, races, &stdout)
                .ok_or_else(|| format!("{}: child printed {:?}", kind.key(), stdout.trim()))?;
            println!(
                "  {:<66} {:>7.0} / {:>7.0} B RSS/race, {:>8.0} / {:>8.0} B data/race, {:.2} / {:.2} fds/race, fds {} -> {}",
                kind.label(),
                row.rss_per_race(0),
                row.rss_per_race(1),
                row.data_per_race(0),
                row.data_per_race(1),
                row.fds_per_race(0),
                row.fds_per_race(1),
                row.before.fds,
                row.fds_after
            );
            Ok(row)
        })
        .collect()
}

/// `rss=R data=D fds=F pending=P` for before, s1, s2, then `fds_after=N`, as
/// `before_rss=.. s1_rss=.. s2_rss=.. ... fds_after=..`.
fn parse_line(kind: Kind, races: usize, stdout: &str) -> Option<MemoryRow> {
    let line = stdout.lines().rfind(|l| l.contains("fds_after="))?;
    let field = |key: &str| -> Option<u64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))?
            .parse()
            .ok()
    };
    let snap = |p: &str| -> Option<Snapshot> {
        Some(Snapshot {
            rss_kib: field(&format!("{p}_rss"))?,
            data_kib: field(&format!("{p}_data"))?,
            fds: usize::try_from(field(&format!("{p}_fds"))?).ok()?,
            pending: usize::try_from(field(&format!("{p}_pending"))?).ok()?,
            at_ms: field(&format!("{p}_at")).unwrap_or(0),
        })
    };
    Some(MemoryRow {
        kind,
        races,
        before: snap("before")?,
        samples: [snap("s1")?, snap("s2")?],
        fds_after: usize::try_from(field("fds_after")?).ok()?,
    })
}

/// The TCP black hole: a listener with a backlog of 0, its one queue place taken. Returns
/// the listener and the connection that fills it (both must live as long as the hole).
fn tcp_hole() -> Result<(TcpListener, Vec<TcpStream>), String> {
    let socket =
        Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(&SocketAddr::new(LOCALHOST, 0).into())
        .and_then(|()| socket.listen(0))
        .map_err(|e| format!("listen: {e}"))?;
    let listener: TcpListener = socket.into();
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?;
    let mut fillers = Vec::new();
    // Connect until one hangs: the queue is full then (a backlog of 0 holds one).
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok((listener, fillers)),
            Err(e) => return Err(format!("filling the TCP hole: {e}")),
        }
    }
    Err("the TCP listener kept accepting: no black hole".to_owned())
}

/// The child's side.
pub fn child_main(kind: &str, races: usize) -> ExitCode {
    let Some(kind) = Kind::from_key(kind) else {
        eprintln!("eyeballs-bench child quic-memory: no kind {kind:?}");
        return ExitCode::from(2);
    };
    match child(kind, races) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eyeballs-bench child quic-memory: {e}");
            ExitCode::FAILURE
        }
    }
}

fn snapshot(pending: usize, at: Duration) -> Result<Snapshot, String> {
    Ok(Snapshot {
        rss_kib: status_kib("VmRSS")?,
        data_kib: status_kib("VmData")?,
        fds: open_fds()?,
        pending,
        at_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Descriptors per race with the first attempt open, and with both.
fn expected_fds(kind: Kind) -> [usize; 2] {
    match kind {
        // The UDP socket and eyeballs' duplicate of it for ICMP errors; then the TCP socket.
        Kind::Quic => [2, 3],
        Kind::TcpOnly => [1, 1],
    }
}

fn child(kind: Kind, races: usize) -> Result<String, String> {
    raise_nofile(4 * races as u64 + 1024)?;
    let (listener, fillers) = tcp_hole()?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?;
    let udp_hole =
        UdpSocket::bind(addr).map_err(|e| format!("binding the UDP hole {addr}: {e}"))?;
    // The certificate is never seen (no handshake completes); the connector needs roots.
    let identity = Identity::new()?;
    let connector = servers::secure_connector(
        eyeballs::Connector::new().timeout(Duration::from_secs(60)),
        servers::roots_of(identity.cert.clone())?,
        kind == Kind::Quic,
        ATTEMPT_DELAY,
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let line = rt.block_on(async {
        let name = "127.0.0.1";
        let port = addr.port();
        // Warm-up: a few races through both phases, cancelled, so that first-use
        // allocations are in the baseline; then their sockets are waited out.
        let fds_start = open_fds()?;
        let mut warm = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let c = connector.clone();
            warm.spawn(async move { c.connect(name, port).await.map(drop) });
        }
        tokio::time::sleep(ATTEMPT_DELAY + Duration::from_millis(200)).await;
        warm.abort_all();
        while warm.join_next().await.is_some() {}
        settle(fds_start).await;

        let ended = Arc::new(AtomicUsize::new(0));
        let before = snapshot(races, Duration::ZERO)?;
        let t0 = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..races {
            let c = connector.clone();
            let ended = Arc::clone(&ended);
            set.spawn(async move {
                let r = c.connect(name, port).await.map(drop);
                ended.fetch_add(1, Ordering::Relaxed);
                r
            });
        }
        let mut samples = [Snapshot::default(); 2];
        let earliest = [Duration::ZERO, ATTEMPT_DELAY + Duration::from_millis(100)];
        for ((sample, per_race), from) in samples.iter_mut().zip(expected_fds(kind)).zip(earliest) {
            tokio::time::sleep_until(tokio::time::Instant::from_std(t0 + from)).await;
            let want = before.fds + per_race * races;
            while open_fds()? < want && t0.elapsed() < from + SAMPLE_CAP {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            *sample = snapshot(races - ended.load(Ordering::Relaxed), t0.elapsed())?;
        }
        set.abort_all();
        while set.join_next().await.is_some() {}
        drop(set);
        let fds_after = settle(before.fds).await;
        let snap = |p: &str, s: &Snapshot| {
            format!(
                "{p}_rss={} {p}_data={} {p}_fds={} {p}_pending={} {p}_at={}",
                s.rss_kib, s.data_kib, s.fds, s.pending, s.at_ms
            )
        };
        Ok::<String, String>(format!(
            "{} {} {} fds_after={fds_after}",
            snap("before", &before),
            snap("s1", &samples[0]),
            snap("s2", &samples[1]),
        ))
    })?;
    drop(rt);
    drop((udp_hole, fillers, listener));
    Ok(line)
}

/// Waits (up to [`SETTLE`]) until at most `want` descriptors are open; how many are.
async fn settle(want: usize) -> usize {
    let t0 = Instant::now();
    loop {
        let n = open_fds().unwrap_or(usize::MAX);
        if n <= want || t0.elapsed() > SETTLE {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_line_parses_and_divides_by_races() {
        let line = "before_rss=1000 before_data=2000 before_fds=10 before_pending=100 \
                    s1_rss=1100 s1_data=2400 s1_fds=110 s1_pending=100 s1_at=35 \
                    s2_rss=1200 s2_data=2800 s2_fds=210 s2_pending=100 fds_after=10\n";
        let row = parse_line(Kind::Quic, 100, line).unwrap();
        assert_eq!(row.rss_per_race(0), 1024.0);
        assert_eq!(row.data_per_race(1), 8192.0);
        assert_eq!(row.fds_per_race(0), 1.0);
        assert_eq!(row.fds_per_race(1), 2.0);
        assert_eq!(row.fds_after, 10);
        assert_eq!(row.samples[0].at_ms, 35);
        assert_eq!(
            parse_line(Kind::Quic, 100, "before_rss=1 fds_after=1"),
            None
        );
    }

    /// The TCP hole holds: a connect to it does not complete.
    #[test]
    fn the_tcp_hole_swallows_connects() {
        let (listener, _fillers) = tcp_hole().unwrap();
        let addr = listener.local_addr().unwrap();
        let e = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    }

    /// A few races of each kind stay pending through both samples and give their
    /// descriptors back.
    #[test]
    fn races_stay_pending_and_give_descriptors_back() {
        for kind in KINDS {
            let line = child(kind, 5).unwrap();
            let row = parse_line(kind, 5, &line).unwrap();
            assert_eq!(row.samples[1].pending, 5, "{line}");
            assert!(row.fds_per_race(0) >= 1.0, "{line}");
            assert!(row.fds_after <= row.before.fds, "{line}");
        }
    }
}
