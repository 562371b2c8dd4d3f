//! What a connection costs on loopback, single address: connections per second and CPU time
//! per connection, eyeballs against the plain connect it wraps.
//!
//! Runs in a lab client namespace of its own (its own loopback and port range, nothing else
//! on it), on one thread: sequential connects to a listener whose accepting thread closes
//! each connection. CPU time is the connecting thread's own (`CLOCK_THREAD_CPUTIME_ID`,
//! user + system: the kernel's loopback work for the handshake is charged to it too), so the
//! accepting thread is not counted.
//!
//! Paired: in each round, every contender's batch runs right next to its baseline's (the
//! order within the pair rotating from round to round), and its CPU ratio is taken within
//! the round. On a shared machine the speed of the kernel's loopback path drifts by tens of
//! percent over seconds; a ratio of two batches a fraction of a second apart is steadier
//! than a ratio of two medians taken seconds apart. The median round's ratio counts, and the
//! spread of the rounds' ratios is reported with it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use eyeballs_lab::Lab;
use nix::time::{clock_gettime, ClockId};

use crate::stats::median_f64;

/// One way to open a loopback connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// `tokio::net::TcpStream::connect(addr)`.
    Tokio,
    /// `eyeballs::Connector::connect_addrs([addr])`.
    EyeballsAddrs,
    /// `eyeballs::Connector::connect("127.0.0.1", port)`: an IP literal through the host-name
    /// path (answered without `getaddrinfo`).
    EyeballsLiteral,
    /// `std::net::TcpStream::connect(addr)`.
    Std,
    /// `eyeballs::blocking::Connector::connect_addrs([addr])`.
    Blocking,
    /// `tokio::net::TcpStream::connect([::1]:port)`.
    TokioV6,
    /// `eyeballs::Connector::connect_addrs([[::1]:p, 127.0.0.1:q])`: a two-address race that
    /// IPv6 wins at once.
    EyeballsTwo,
    /// `std::net::TcpStream::connect([::1]:port)`.
    StdV6,
    /// `eyeballs::blocking::Connector::connect_addrs([[::1]:p, 127.0.0.1:q])`.
    BlockingTwo,
    /// [`Way::EyeballsAddrs`] with a connector made `.without_history()` (the history part).
    EyeballsAddrsNoHistory,
    /// [`Way::EyeballsTwo`] without history.
    EyeballsTwoNoHistory,
    /// [`Way::Blocking`] without history.
    BlockingNoHistory,
}

impl Way {
    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            Way::Tokio => "tokio `TcpStream::connect(addr)`",
            Way::EyeballsAddrs => "eyeballs `Connector::connect_addrs([addr])`",
            Way::EyeballsLiteral => "eyeballs `Connector::connect(\"127.0.0.1\", port)`",
            Way::Std => "std `TcpStream::connect(addr)`",
            Way::Blocking => "eyeballs `blocking::Connector::connect_addrs([addr])`",
            Way::TokioV6 => "tokio `TcpStream::connect([::1]:port)`",
            Way::EyeballsTwo => "eyeballs `Connector::connect_addrs([v6, v4])`, IPv6 wins",
            Way::StdV6 => "std `TcpStream::connect([::1]:port)`",
            Way::BlockingTwo => {
                "eyeballs `blocking::Connector::connect_addrs([v6, v4])`, IPv6 wins"
            }
            Way::EyeballsAddrsNoHistory => {
                "eyeballs `Connector::connect_addrs([addr])`, `.without_history()`"
            }
            Way::EyeballsTwoNoHistory => {
                "eyeballs `Connector::connect_addrs([v6, v4])`, IPv6 wins, `.without_history()`"
            }
            Way::BlockingNoHistory => {
                "eyeballs `blocking::Connector::connect_addrs([addr])`, `.without_history()`"
            }
        }
    }

    /// What it is compared with (`None`: it is a baseline).
    pub fn baseline(self) -> Option<Way> {
        match self {
            Way::EyeballsAddrs | Way::EyeballsLiteral | Way::EyeballsAddrsNoHistory => {
                Some(Way::Tokio)
            }
            Way::Blocking | Way::BlockingNoHistory => Some(Way::Std),
            Way::EyeballsTwo | Way::EyeballsTwoNoHistory => Some(Way::TokioV6),
            Way::BlockingTwo => Some(Way::StdV6),
            Way::Tokio | Way::Std | Way::TokioV6 | Way::StdV6 => None,
        }
    }
}

/// Every way the cost part measures, in table order.
pub const WAYS: [Way; 9] = [
    Way::Tokio,
    Way::EyeballsAddrs,
    Way::EyeballsLiteral,
    Way::Std,
    Way::Blocking,
    Way::TokioV6,
    Way::EyeballsTwo,
    Way::StdV6,
    Way::BlockingTwo,
];

/// One row of the cost table.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// What was measured.
    pub way: Way,
    /// Connections per second (median round).
    pub per_second: f64,
    /// CPU time of the connecting thread per connection (median round).
    pub cpu_per_conn: Duration,
    /// Against its baseline, when that was measured alongside: the median over rounds of
    /// the CPU ratio within a round, and the lowest and highest of those ratios.
    pub cpu_ratio: Option<Ratio>,
}

/// A ratio measured once per round: its median and its range over the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// The median round's.
    pub median: f64,
    /// The lowest round's.
    pub low: f64,
    /// The highest round's.
    pub high: f64,
}

impl Ratio {
    /// The median and range of `ratios` (non-finite ones ignored); `None` if none is finite.
    pub fn of(ratios: &[f64]) -> Option<Ratio> {
        let finite = ratios.iter().copied().filter(|r| r.is_finite());
        let low = finite.clone().reduce(f64::min)?;
        let high = finite.reduce(f64::max)?;
        Some(Ratio {
            median: median_f64(ratios)?,
            low,
            high,
        })
    }
}

/// The order of `ways` in round `round`: grouped by baseline (a contender next to its
/// baseline, in the order the groups first appear), the order within each group rotated by
/// the round.
pub fn round_order(ways: &[Way], round: usize) -> Vec<usize> {
    let group_of = |w: Way| w.baseline().filter(|b| ways.contains(b)).unwrap_or(w);
    let mut groups: Vec<(Way, Vec<usize>)> = Vec::new();
    for (i, &w) in ways.iter().enumerate() {
        let g = group_of(w);
        match groups.iter_mut().find(|(key, _)| *key == g) {
            Some((_, members)) => members.push(i),
            None => groups.push((g, vec![i])),
        }
    }
    groups
        .into_iter()
        .flat_map(|(_, mut members)| {
            let len = members.len();
            members.rotate_left(round % len.max(1));
            members
        })
        .collect()
}

/// The cost measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Connections per round and contender.
    pub connections: usize,
    /// Rounds.
    pub rounds: usize,
    /// One row per [`WAYS`] entry.
    pub rows: Vec<CostRow>,
}

impl Cost {
    /// The row of `way`.
    pub fn row(&self, way: Way) -> Option<&CostRow> {
        self.rows.iter().find(|r| r.way == way)
    }
}

/// Measures every way of [`WAYS`], `connections` per round, `rounds` rounds.
pub fn run(connections: usize, rounds: usize) -> Result<Cost, String> {
    run_ways(&WAYS, connections, rounds)
}

/// Measures `ways`, `connections` per round, `rounds` rounds, in rotating order.
pub fn run_ways(ways: &[Way], connections: usize, rounds: usize) -> Result<Cost, String> {
    let ways = ways.to_vec();
    let lab = Lab::builder()
        .start()
        .map_err(|e| format!("starting a lab for the loopback: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut acceptors = Vec::new();
    let mut addrs = Vec::new();
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        let (port_tx, port_rx) = mpsc::channel();
        let stop = Arc::clone(&stop);
        let acceptor = lab
            .spawn_in_client(move || accept_until(ip, stop, port_tx))
            .map_err(|e| e.to_string())?;
        acceptors.push(acceptor);
        match port_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(port)) => addrs.push(SocketAddr::new(ip, port)),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(format!("the listener on {ip} did not start")),
        }
    }
    let (v4, v6) = (addrs[0], addrs[1]);
    let measured = lab
        .run_in_client(move || measure(&ways, (v4, v6), connections, rounds))
        .map_err(|e| e.to_string());
    stop.store(true, Ordering::SeqCst);
    // Wakes each acceptor so that it sees `stop`; it may have stopped already.
    for addr in [v4, v6] {
        let _ = lab.run_in_client(move || TcpStream::connect(addr).map(drop));
    }
    for acceptor in acceptors {
        let _ = acceptor.join();
    }
    let rows = measured??;
    Ok(Cost {
        connections,
        rounds,
        rows,
    })
}

/// Accepts and closes connections on a loopback listener on `ip` until `stop`.
fn accept_until(ip: IpAddr, stop: Arc<AtomicBool>, port: mpsc::Sender<Result<u16, String>>) {
    let listener = match listen_long(ip).and_then(|l| {
        let port = l.local_addr()?.port();
        Ok((l, port))
    }) {
        Ok((l, p)) => {
            let _ = port.send(Ok(p));
            l
        }
        Err(e) => {
            let _ = port.send(Err(format!("loopback listener: {e}")));
            return;
        }
    };
    for stream in listener.incoming() {
        drop(stream);
        if stop.load(Ordering::SeqCst) {
            return;
        }
    }
}

/// A loopback listener on `ip` with a long backlog (4096, Linux's default `somaxconn`; std's is
/// 128): when the accepting thread falls behind (2 cores, other work), a full accept queue
/// drops a SYN and that connect waits a second for it to be sent again, which turns the
/// connections-per-second figure into a count of such waits.
fn listen_long(ip: IpAddr) -> std::io::Result<TcpListener> {
    let addr = SocketAddr::new(ip, 0);
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// The connectors the eyeballs ways use: with history (the default) and without.
struct Connectors {
    tokio: eyeballs::Connector,
    blocking: eyeballs::blocking::Connector,
    tokio_off: eyeballs::Connector,
    blocking_off: eyeballs::blocking::Connector,
}

/// The measuring thread's side.
fn measure(
    ways: &[Way],
    addrs: (SocketAddr, SocketAddr),
    n: usize,
    rounds: usize,
) -> Result<Vec<CostRow>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let connector = eyeballs::Connector::new();
    let forgetful = eyeballs::Connector::new().without_history();
    let connectors = Connectors {
        blocking: eyeballs::blocking::Connector::from(connector.clone()),
        tokio: connector,
        blocking_off: eyeballs::blocking::Connector::from(forgetful.clone()),
        tokio_off: forgetful,
    };
    // Warm-up: first-use costs (lazy statics, the runtime's driver) are not what is measured.
    for &way in ways {
        batch(way, &rt, &connectors, addrs, (n / 5).clamp(10, 200))?;
    }
    // Per way, per round (indexed by round): connections per second and CPU per connection.
    let mut per_second: Vec<Vec<f64>> = vec![vec![f64::NAN; rounds]; ways.len()];
    let mut cpu: Vec<Vec<f64>> = vec![vec![f64::NAN; rounds]; ways.len()];
    for round in 0..rounds {
        for i in round_order(ways, round) {
            let Some(&way) = ways.get(i) else { continue };
            let (wall, used) = batch(way, &rt, &connectors, addrs, n)?;
            if let (Some(rate), Some(c)) = (per_second.get_mut(i), cpu.get_mut(i)) {
                rate[round] = n as f64 / wall.as_secs_f64();
                c[round] = used.as_secs_f64() / n as f64;
            }
        }
    }
    let cpu_of = |way: Way| ways.iter().position(|&w| w == way).and_then(|i| cpu.get(i));
    Ok(ways
        .iter()
        .zip(per_second.iter().zip(&cpu))
        .map(|(&way, (rates, cpus))| {
            let cpu_ratio = way.baseline().and_then(cpu_of).and_then(|base| {
                let ratios: Vec<f64> = cpus.iter().zip(base).map(|(c, b)| c / b).collect();
                Ratio::of(&ratios)
            });
            CostRow {
                way,
                per_second: median_f64(rates).unwrap_or(f64::NAN),
                cpu_per_conn: Duration::from_secs_f64(median_f64(cpus).unwrap_or(0.0).max(0.0)),
                cpu_ratio,
            }
        })
        .collect())
}

/// `n` sequential connections with `way`: wall time and this thread's CPU time.
fn batch(
    way: Way,
    rt: &tokio::runtime::Runtime,
    connectors: &Connectors,
    (addr, v6): (SocketAddr, SocketAddr),
    n: usize,
) -> Result<(Duration, Duration), String> {
    let history = !matches!(
        way,
        Way::EyeballsAddrsNoHistory | Way::EyeballsTwoNoHistory | Way::BlockingNoHistory
    );
    let (connector, blocking) = if history {
        (&connectors.tokio, &connectors.blocking)
    } else {
        (&connectors.tokio_off, &connectors.blocking_off)
    };
    let host = addr.ip().to_string();
    let two = [v6, addr];
    let cpu0 = thread_cpu()?;
    let t0 = Instant::now();
    let result: Result<(), String> = match way {
        Way::Std => (0..n).try_for_each(|_| {
            TcpStream::connect(addr)
                .map(close)
                .map_err(|e| e.to_string())
        }),
        Way::Blocking | Way::BlockingNoHistory => (0..n).try_for_each(|_| {
            blocking
                .connect_addrs([addr])
                .map(|c| close(c.into_stream()))
                .map_err(|e| e.to_string())
        }),
        Way::Tokio => rt.block_on(async {
            for _ in 0..n {
                let stream = tokio::net::TcpStream::connect(addr).await;
                close(stream.map_err(|e| e.to_string())?);
            }
            Ok(())
        }),
        Way::EyeballsAddrs | Way::EyeballsAddrsNoHistory => rt.block_on(async {
            for _ in 0..n {
                let connection = connector.connect_addrs([addr]).await;
                close(connection.map_err(|e| e.to_string())?.into_stream());
            }
            Ok(())
        }),
        Way::StdV6 => {
            (0..n).try_for_each(|_| TcpStream::connect(v6).map(close).map_err(|e| e.to_string()))
        }
        Way::BlockingTwo => (0..n).try_for_each(|_| {
            let c = blocking.connect_addrs(two).map_err(|e| e.to_string())?;
            won_by(c.report(), v6)?;
            close(c.into_stream());
            Ok(())
        }),
        Way::TokioV6 => rt.block_on(async {
            for _ in 0..n {
                let stream = tokio::net::TcpStream::connect(v6).await;
                close(stream.map_err(|e| e.to_string())?);
            }
            Ok(())
        }),
        Way::EyeballsTwo | Way::EyeballsTwoNoHistory => rt.block_on(async {
            for _ in 0..n {
                let c = connector
                    .connect_addrs(two)
                    .await
                    .map_err(|e| e.to_string())?;
                won_by(c.report(), v6)?;
                close(c.into_stream());
            }
            Ok(())
        }),
        Way::EyeballsLiteral => rt.block_on(async {
            for _ in 0..n {
                let connection = connector.connect(&host, addr.port()).await;
                close(connection.map_err(|e| e.to_string())?.into_stream());
            }
            Ok(())
        }),
    };
    let wall = t0.elapsed();
    let cpu = thread_cpu()?.saturating_sub(cpu0);
    result.map_err(|e| format!("{}: {e}", way.label()))?;
    Ok((wall, cpu))
}

/// Checks that the two-address race was won by `v6`, as the row says.
fn won_by(report: &eyeballs::Report, v6: SocketAddr) -> Result<(), String> {
    match report.winner() {
        Some(w) if w == v6 => Ok(()),
        other => Err(format!(
            "the two-address race was won by {other:?}, not {v6}"
        )),
    }
}

/// Closes a connection with a reset (`SO_LINGER` 0), the same way for every contender: no
/// TIME_WAIT entry is left, so tens of thousands of connections in a row do not slow the
/// kernel's choice of a local port as the run goes on.
fn close<S: AsFd>(stream: S) {
    // Without the option the stream still closes, just with a TIME_WAIT entry.
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// The calling thread's CPU time so far, user + system.
pub fn thread_cpu() -> Result<Duration, String> {
    // CLOCK_THREAD_CPUTIME_ID is the scheduler's own count, in nanoseconds; getrusage's
    // RUSAGE_THREAD is sampled per timer tick on kernels with tick accounting (4 ms here:
    // 2 µs steps over 2,000 connects, too coarse for a 10 % question).
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_err(|e| format!("clock_gettime: {e}"))?;
    Ok(Duration::from_secs(t.tv_sec().max(0) as u64)
        + Duration::from_nanos(t.tv_nsec().max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_advances_with_work() {
        let before = thread_cpu().unwrap();
        let mut x = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(thread_cpu().unwrap() > before);
    }

    #[test]
    fn eyeballs_rows_compare_with_tokio() {
        assert_eq!(Way::EyeballsAddrs.baseline(), Some(Way::Tokio));
        assert_eq!(Way::EyeballsLiteral.baseline(), Some(Way::Tokio));
        assert_eq!(Way::Blocking.baseline(), Some(Way::Std));
        assert_eq!(Way::Tokio.baseline(), None);
    }

    /// Each contender runs next to its baseline, the order within the pair rotating; a way
    /// whose baseline is not measured stands alone.
    #[test]
    fn rounds_pair_each_contender_with_its_baseline() {
        let ways = [
            Way::Tokio,
            Way::EyeballsAddrs,
            Way::EyeballsLiteral,
            Way::Std,
            Way::Blocking,
            Way::BlockingNoHistory,
        ];
        assert_eq!(round_order(&ways, 0), [0, 1, 2, 3, 4, 5]);
        assert_eq!(round_order(&ways, 1), [1, 2, 0, 4, 5, 3]);
        assert_eq!(round_order(&ways, 2), [2, 0, 1, 5, 3, 4]);
        let alone = [Way::EyeballsAddrsNoHistory, Way::EyeballsAddrs];
        assert_eq!(round_order(&alone, 1), [0, 1]);
    }

    #[test]
    fn a_ratio_is_the_median_round_with_its_range() {
        let r = Ratio::of(&[1.2, 1.0, f64::NAN, 1.1]).unwrap();
        assert_eq!((r.median, r.low, r.high), (1.1, 1.0, 1.2));
        assert_eq!(Ratio::of(&[f64::NAN]), None);
    }
}
