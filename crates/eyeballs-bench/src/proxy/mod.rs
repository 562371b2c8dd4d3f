//! The proxy (issue 13, "Measured"): `eyeballs proxy` against microsocks and dante-server,
//! with a direct connection as the floor, side by side in one run, all on loopback:
//!
//! - added latency per request: a fresh connection, the SOCKS5 greeting (no authentication)
//!   and CONNECT to 127.0.0.1 (an IPv4 address, so no proxy resolves anything), then a
//!   128-byte request echoed back by a server of this process; timed from the `connect` call
//!   to the last byte of the echo. Sequential requests, the contenders interleaved in rounds;
//!   the median and p90 of each, minus the direct connection's (the same exchange without
//!   the proxy);
//! - relay throughput: after the CONNECT, one byte asks a source (a thread of this process)
//!   for a large transfer, read to its end through the proxy; MiB/s from that byte to the
//!   end, the median of a few runs.
//!
//! The goals of issue 13: added latency at most 0.2 ms over microsocks', throughput at least
//! 0.9× microsocks'. They are reported as met or not, never asserted.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::stats::{median, median_f64, percentile};

mod peers;
pub mod report;

pub use peers::{find as find_program, Kind};

/// The request (and the echo) of the latency measurement, in bytes.
pub const REQUEST_BYTES: usize = 128;

/// Requests per contender before the measured ones (connections, caches, the proxies' first
/// allocations), not counted.
const WARMUP: usize = 50;

/// The longest any read or write may block before the run counts as failed.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Measured requests per contender (split over the rounds).
    pub requests: usize,
    /// Rounds the requests are split in, the contenders taking turns.
    pub rounds: usize,
    /// Bytes of one transfer.
    pub transfer_bytes: u64,
    /// Transfers per contender (the median counts).
    pub transfers: usize,
}

impl Plan {
    /// The full run (`quick`: a fast check).
    pub fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                requests: 500,
                rounds: 5,
                transfer_bytes: 64 << 20,
                transfers: 3,
            }
        } else {
            Plan {
                requests: 2000,
                rounds: 5,
                transfer_bytes: 256 << 20,
                transfers: 5,
            }
        }
    }
}

/// One way to reach the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// Straight to the server: the floor.
    Direct,
    /// Through this proxy.
    Via(Kind),
}

impl Way {
    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            Way::Direct => "direct (no proxy)",
            Way::Via(kind) => kind.label(),
        }
    }
}

/// Per-request latency of one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Requests measured.
    pub requests: usize,
    /// Their median.
    pub median: Duration,
    /// Their 90th percentile.
    pub p90: Duration,
}

/// Relay throughput of one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Throughput {
    /// MiB/s of each transfer, in run order.
    pub runs: Vec<f64>,
    /// Their median.
    pub median: f64,
}

/// One way's measurements.
#[derive(Debug, Clone)]
pub struct Row {
    /// Which way.
    pub way: Way,
    /// Its version ("" for the direct connection or when unknown).
    pub version: String,
    /// Per request, or why it was not measured.
    pub latency: Result<Latency, String>,
    /// Relay throughput, or why it was not measured.
    pub throughput: Result<Throughput, String>,
}

/// The proxy part's results.
#[derive(Debug, Clone)]
pub struct ProxyResults {
    /// The sizes it ran with.
    pub plan: Plan,
    /// Direct first, then each proxy.
    pub rows: Vec<Row>,
}

impl ProxyResults {
    /// The row of `way`.
    pub fn row(&self, way: Way) -> Option<&Row> {
        self.rows.iter().find(|r| r.way == way)
    }

    /// `way`'s median and p90 minus the direct connection's.
    pub fn added(&self, way: Way) -> Option<(f64, f64)> {
        let direct = self.row(Way::Direct)?.latency.as_ref().ok()?;
        let row = self.row(way)?.latency.as_ref().ok()?;
        Some((
            ms(row.median) - ms(direct.median),
            ms(row.p90) - ms(direct.p90),
        ))
    }
}

/// Milliseconds of `d`.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Measures every way; `eyeballs_cli` is the release `eyeballs` command. A proxy that cannot
/// start gets its row with the reason; an error only when the servers cannot start.
pub fn run(eyeballs_cli: &Path, plan: Plan) -> Result<ProxyResults, String> {
    let echo = peers::echo_server().map_err(|e| format!("starting the echo server: {e}"))?;
    let source = peers::source_server(plan.transfer_bytes)
        .map_err(|e| format!("starting the transfer source: {e}"))?;
    let dir = std::env::temp_dir().join(format!("eyeballs-proxy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;

    // Every proxy runs for the whole part (an idle one takes no CPU), so that the rounds can
    // interleave them.
    let mut ways: Vec<(Way, Option<SocketAddr>, String)> = vec![(Way::Direct, None, String::new())];
    let mut proxies = Vec::new();
    let mut rows_failed = Vec::new();
    for kind in Kind::ALL {
        match peers::start(kind, eyeballs_cli, &dir) {
            Ok(proxy) => {
                ways.push((Way::Via(kind), Some(proxy.addr), proxy.version.clone()));
                proxies.push(proxy);
            }
            Err(e) => {
                println!("  {:<24} not measured: {e}", kind.label());
                rows_failed.push(Row {
                    way: Way::Via(kind),
                    version: String::new(),
                    latency: Err(e.clone()),
                    throughput: Err(e),
                });
            }
        }
    }

    // Latency: warm-up, then rounds, each way in turn.
    let mut samples: Vec<Result<Vec<Duration>, String>> = ways
        .iter()
        .map(|(_, via, _)| {
            (0..WARMUP)
                .try_for_each(|_| request(*via, echo.addr).map(drop))
                .map(|()| Vec::with_capacity(plan.requests))
        })
        .collect();
    let per_round = plan.requests.div_ceil(plan.rounds.max(1));
    for _ in 0..plan.rounds.max(1) {
        for ((_, via, _), got) in ways.iter().zip(samples.iter_mut()) {
            let Ok(times) = got else { continue };
            let want = plan.requests.saturating_sub(times.len()).min(per_round);
            for _ in 0..want {
                match request(*via, echo.addr) {
                    Ok(t) => times.push(t),
                    Err(e) => {
                        *got = Err(e);
                        break;
                    }
                }
            }
        }
    }

    // Throughput: one transfer per way in turn, `transfers` times.
    let mut rates: Vec<Result<Vec<f64>, String>> = ways.iter().map(|_| Ok(Vec::new())).collect();
    for _ in 0..plan.transfers {
        for ((_, via, _), got) in ways.iter().zip(rates.iter_mut()) {
            let Ok(runs) = got else { continue };
            match transfer(*via, source.addr, plan.transfer_bytes) {
                Ok(rate) => runs.push(rate),
                Err(e) => *got = Err(e),
            }
        }
    }
    drop(proxies);
    let _ = std::fs::remove_dir_all(&dir);

    let mut rows: Vec<Row> = ways
        .into_iter()
        .zip(samples)
        .zip(rates)
        .map(|(((way, _, version), times), rates)| Row {
            way,
            version,
            latency: times.and_then(|t| summarize(t).ok_or_else(|| "no requests".to_owned())),
            throughput: rates.and_then(|r| {
                let median = median_f64(&r).ok_or_else(|| "no transfers".to_owned())?;
                Ok(Throughput { runs: r, median })
            }),
        })
        .collect();
    rows.extend(rows_failed);
    rows.sort_by_key(|r| match r.way {
        Way::Direct => 0,
        Way::Via(kind) => 1 + Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0),
    });
    Ok(ProxyResults { plan, rows })
}

/// Median and p90 of `times`; `None` if empty.
fn summarize(mut times: Vec<Duration>) -> Option<Latency> {
    times.sort_unstable();
    Some(Latency {
        requests: times.len(),
        median: median(&times)?,
        p90: percentile(&times, 90)?,
    })
}

/// A connection to `target`, through the SOCKS5 proxy at `via` if given (the stream is at
/// the start of the relay then).
fn open(via: Option<SocketAddr>, target: SocketAddr) -> Result<TcpStream, String> {
    let mut stream =
        TcpStream::connect(via.unwrap_or(target)).map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket timeouts: {e}"))?;
    if via.is_some() {
        socks5_connect(&mut stream, target)?;
    }
    Ok(stream)
}

/// The client side of a SOCKS5 CONNECT (RFC 1928) to `target` without authentication, as
/// clients do it: the greeting, its answer, the request, its reply.
fn socks5_connect(stream: &mut TcpStream, target: SocketAddr) -> Result<(), String> {
    let io = |e: std::io::Error| format!("SOCKS5 handshake: {e}");
    stream.write_all(&[5, 1, 0]).map_err(io)?;
    let mut method = [0u8; 2];
    stream.read_exact(&mut method).map_err(io)?;
    if method != [5, 0] {
        return Err(format!("SOCKS5 method answer {method:02x?}, not 05 00"));
    }
    let mut req = vec![5, 1, 0];
    match target.ip() {
        IpAddr::V4(ip) => {
            req.push(1);
            req.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            req.push(4);
            req.extend_from_slice(&ip.octets());
        }
    }
    req.extend_from_slice(&target.port().to_be_bytes());
    stream.write_all(&req).map_err(io)?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).map_err(io)?;
    if head[0] != 5 || head[1] != 0 {
        return Err(format!("SOCKS5 reply {head:02x?}: not connected"));
    }
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            stream.read_exact(&mut len).map_err(io)?;
            usize::from(len[0]) + 2
        }
        other => return Err(format!("SOCKS5 reply with address type {other}")),
    };
    let mut bound = vec![0u8; rest];
    stream.read_exact(&mut bound).map_err(io)
}

/// One request: connect (through `via`), send [`REQUEST_BYTES`], read them back; the time
/// from the connect call to the last byte.
fn request(via: Option<SocketAddr>, echo: SocketAddr) -> Result<Duration, String> {
    let payload = [0x61_u8; REQUEST_BYTES];
    let mut back = [0u8; REQUEST_BYTES];
    let started = Instant::now();
    let mut stream = open(via, echo)?;
    stream
        .write_all(&payload)
        .and_then(|()| stream.read_exact(&mut back))
        .map_err(|e| format!("request: {e}"))?;
    let elapsed = started.elapsed();
    if back != payload {
        return Err("the echo differs from the request".to_owned());
    }
    Ok(elapsed)
}

/// One transfer of `bytes` from the source through `via`: MiB/s from the "go" byte to the
/// end of the stream.
fn transfer(via: Option<SocketAddr>, source: SocketAddr, bytes: u64) -> Result<f64, String> {
    let mut stream = open(via, source)?;
    let mut buf = vec![0u8; peers::TRANSFER_CHUNK];
    let started = Instant::now();
    stream
        .write_all(b"g")
        .map_err(|e| format!("transfer: {e}"))?;
    let mut got: u64 = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("transfer after {got} bytes: {e}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if got != bytes {
        return Err(format!("transfer: {got} bytes of {bytes}"));
    }
    Ok(bytes as f64 / (1024.0 * 1024.0) / elapsed.max(1e-9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_requests_and_transfers_work_on_loopback() {
        let echo = peers::echo_server().unwrap();
        let t = request(None, echo.addr).unwrap();
        assert!(t < IO_TIMEOUT);
        let source = peers::source_server(1 << 20).unwrap();
        let rate = transfer(None, source.addr, 1 << 20).unwrap();
        assert!(rate > 0.0);
    }

    #[test]
    fn added_latency_is_the_difference_to_direct() {
        let lat = |m: u64, p: u64| {
            Ok(Latency {
                requests: 10,
                median: Duration::from_micros(m),
                p90: Duration::from_micros(p),
            })
        };
        let row = |way, latency| Row {
            way,
            version: String::new(),
            latency,
            throughput: Err("x".to_owned()),
        };
        let results = ProxyResults {
            plan: Plan::new(true),
            rows: vec![
                row(Way::Direct, lat(100, 150)),
                row(Way::Via(Kind::Microsocks), lat(250, 400)),
                row(Way::Via(Kind::Dante), Err("not installed".to_owned())),
            ],
        };
        let (m, p) = results.added(Way::Via(Kind::Microsocks)).unwrap();
        assert!(
            (m - 0.15).abs() < 1e-9 && (p - 0.25).abs() < 1e-9,
            "{m} {p}"
        );
        assert_eq!(results.added(Way::Via(Kind::Dante)), None);
        assert_eq!(results.added(Way::Via(Kind::Eyeballs)), None);
    }
}
