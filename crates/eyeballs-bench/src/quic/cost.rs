//! What a QUIC handshake costs against TCP+TLS on loopback (no root): sequential connections
//! to a TLS server (h2) and a QUIC server (h3) on one port of 127.0.0.1, four ways, each in
//! a child process of its own (`eyeballs-bench child quic-cost WAY N DELAY_MS`), the ways
//! taking turns in rounds:
//! - wall time from the call to the usable connection (the median over all rounds);
//! - CPU time per connection: the client's (its thread's clock: the client runs on the
//!   child's main thread, a current-thread runtime, quinn's endpoint drivers included) and
//!   the process's (`getrusage(RUSAGE_SELF)`: client and the servers' thread together);
//! - instructions per connection under callgrind: the same child run by valgrind, counting
//!   the client's main thread inside [`measured`] only (not the warm-up, not the servers).

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eyeballs::proto::Protocol;
use eyeballs::secure::{quinn, SecureConnector};
use eyeballs::Connector;
use nix::sys::resource::{getrusage, UsageWho};
use tokio_rustls::rustls::ClientConfig;

use super::connect::{self, Won};
use super::servers::{self, Identity, LoopbackServers, LOCALHOST, TCP_ALPN};
use crate::stats::{median, percentile};

/// Connections each child makes before the measured ones (first-use allocations, the
/// servers' first connections), not counted.
pub const WARMUP: usize = 20;

/// The valgrind options of the callgrind runs.
pub const VALGRIND_ARGS: [&str; 3] = [
    "--tool=callgrind",
    "--separate-threads=yes",
    "--toggle-collect=*quic::cost::measured*",
];

/// The Connection Attempt Delay the children race with under callgrind (ms): valgrind slows
/// a QUIC handshake past the default 250 ms, which would start the TCP attempt too and
/// count a race that does not happen natively. Natively the default (250 ms) is used.
pub const CALLGRIND_DELAY_MS: u64 = 10_000;

/// RFC 8305's default Connection Attempt Delay (ms), the natively measured races'.
pub const DEFAULT_DELAY_MS: u64 = 250;

/// One way to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// quinn: a client endpoint and `connect_with`, no race.
    QuinnDirect,
    /// tokio `TcpStream::connect` and tokio-rustls `TlsConnector::connect`, no race.
    TlsDirect,
    /// `SecureConnector` (h3 + h2,http/1.1, h3 known) to 127.0.0.1: QUIC goes first, wins.
    RaceQuic,
    /// `SecureConnector` without QUIC (h2,http/1.1) to 127.0.0.1: TLS over TCP.
    RaceTls,
}

/// Every way, in table order.
pub const WAYS: [Way; 4] = [
    Way::QuinnDirect,
    Way::TlsDirect,
    Way::RaceQuic,
    Way::RaceTls,
];

impl Way {
    /// The child's name for it.
    pub fn key(self) -> &'static str {
        match self {
            Way::QuinnDirect => "quinn",
            Way::TlsDirect => "tls",
            Way::RaceQuic => "race-quic",
            Way::RaceTls => "race-tls",
        }
    }

    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            Way::QuinnDirect => "QUIC straight: quinn `Endpoint::client` + `connect_with`",
            Way::TlsDirect => "TLS straight: tokio `TcpStream::connect` + tokio-rustls",
            Way::RaceQuic => "`SecureConnector` h3 + h2 (QUIC wins)",
            Way::RaceTls => "`SecureConnector` h2 only (TLS over TCP)",
        }
    }

    /// What it is compared with: the straight connect of the protocol that wins it.
    pub fn baseline(self) -> Option<Way> {
        match self {
            Way::RaceQuic => Some(Way::QuinnDirect),
            Way::RaceTls => Some(Way::TlsDirect),
            Way::QuinnDirect | Way::TlsDirect => None,
        }
    }

    /// The protocol that must win.
    fn protocol(self) -> Protocol {
        match self {
            Way::QuinnDirect | Way::RaceQuic => Protocol::Quic,
            Way::TlsDirect | Way::RaceTls => Protocol::Tcp,
        }
    }

    fn from_key(key: &str) -> Option<Way> {
        WAYS.into_iter().find(|w| w.key() == key)
    }
}

/// One way's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// Which way.
    pub way: Way,
    /// Connections measured (all rounds).
    pub connections: usize,
    /// Median wall time per connection.
    pub median: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// Client CPU time per connection (its thread).
    pub client_cpu: Duration,
    /// Process CPU time per connection (client and servers).
    pub process_cpu: Duration,
    /// Instructions per connection under callgrind (client thread), or why not counted.
    pub instructions: Result<f64, String>,
    /// The ALPN id the connections settled on.
    pub alpn: String,
}

/// The loopback cost part's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// One row per way, in [`WAYS`] order; a way that failed has its reason.
    pub rows: Vec<Result<CostRow, (Way, String)>>,
    /// Rounds the connections were split in.
    pub rounds: usize,
    /// Connections per callgrind run.
    pub callgrind_connections: usize,
    /// `valgrind --version`, or why callgrind did not run.
    pub valgrind: Result<String, String>,
}

impl Cost {
    /// The row of `way`, if it was measured.
    pub fn row(&self, way: Way) -> Option<&CostRow> {
        self.rows
            .iter()
            .find_map(|r| r.as_ref().ok().filter(|r| r.way == way))
    }
}

/// What one child printed.
#[derive(Debug, Clone, PartialEq)]
struct ChildLine {
    samples: Vec<Duration>,
    client_cpu: Duration,
    process_cpu: Duration,
    alpn: String,
}

/// Measures every way: `connections` per way over `rounds` child runs, then
/// `callgrind_connections` per way under callgrind (if valgrind is installed).
pub fn run(
    self_exe: &Path,
    connections: usize,
    rounds: usize,
    callgrind_connections: usize,
) -> Cost {
    let rounds = rounds.max(1);
    let per_round = connections.div_ceil(rounds).max(1);
    let mut got: Vec<Result<Vec<ChildLine>, String>> =
        WAYS.iter().map(|_| Ok(Vec::new())).collect();
    for round in 0..rounds {
        for (way, lines) in WAYS.iter().zip(got.iter_mut()) {
            let Ok(done) = lines else { continue };
            match child_run(Command::new(self_exe), *way, per_round, DEFAULT_DELAY_MS) {
                Ok(line) => done.push(line),
                Err(e) => {
                    println!("  {:<58} round {}: {e}", way.label(), round + 1);
                    *lines = Err(e);
                }
            }
        }
    }
    let valgrind = crate::callgrind::valgrind_version();
    let dir = std::env::temp_dir().join(format!("eyeballs-quic-callgrind-{}", std::process::id()));
    let dir_made =
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()));
    let rows = WAYS
        .iter()
        .zip(got)
        .map(|(&way, lines)| {
            let lines = lines.map_err(|e| (way, e))?;
            let instructions = match (&valgrind, &dir_made) {
                (Err(e), _) | (_, Err(e)) => Err(e.clone()),
                (Ok(_), Ok(())) => count(self_exe, &dir, way, callgrind_connections),
            };
            let row =
                combine(way, &lines, instructions).ok_or((way, "no connections".to_owned()))?;
            println!(
                "  {:<58} {:>7.3} ms median, {:>6.0} µs client CPU, {:>6.0} µs process CPU, {}",
                way.label(),
                row.median.as_secs_f64() * 1e3,
                row.client_cpu.as_secs_f64() * 1e6,
                row.process_cpu.as_secs_f64() * 1e6,
                match &row.instructions {
                    Ok(n) => format!("{n:.0} instructions"),
                    Err(e) => format!("no instruction count: {e}"),
                }
            );
            Ok(row)
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    Cost {
        rows,
        rounds,
        callgrind_connections,
        valgrind,
    }
}

/// The rounds of one way as one row.
fn combine(way: Way, lines: &[ChildLine], instructions: Result<f64, String>) -> Option<CostRow> {
    let mut samples: Vec<Duration> = lines
        .iter()
        .flat_map(|l| l.samples.iter().copied())
        .collect();
    samples.sort_unstable();
    let n = samples.len();
    if n == 0 {
        return None;
    }
    let per = |d: Duration| d / u32::try_from(n).unwrap_or(u32::MAX);
    Some(CostRow {
        way,
        connections: n,
        median: median(&samples)?,
        p90: percentile(&samples, 90)?,
        client_cpu: per(lines.iter().map(|l| l.client_cpu).sum()),
        process_cpu: per(lines.iter().map(|l| l.process_cpu).sum()),
        instructions,
        alpn: lines.first().map(|l| l.alpn.clone()).unwrap_or_default(),
    })
}

/// Runs the child (`command` is the bench itself, or valgrind with its arguments before it).
fn child_run(mut command: Command, way: Way, n: usize, delay_ms: u64) -> Result<ChildLine, String> {
    let out = command
        .args([
            "child",
            "quic-cost",
            way.key(),
            &n.to_string(),
            &delay_ms.to_string(),
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running the child: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rfind(|l| !l.starts_with("==")).unwrap_or("");
        return Err(format!("child {}: {last}", out.status));
    }
    parse_line(&stdout).ok_or_else(|| format!("child printed {:?}", stdout.trim()))
}

/// Instructions per connection of `way` under callgrind.
fn count(self_exe: &Path, dir: &Path, way: Way, n: usize) -> Result<f64, String> {
    let n_arg = n.to_string();
    let delay = CALLGRIND_DELAY_MS.to_string();
    let (total, stdout) = crate::callgrind::count_function(
        Command::new("valgrind"),
        &VALGRIND_ARGS,
        self_exe,
        &["child", "quic-cost", way.key(), &n_arg, &delay],
        &dir.join(way.key()),
    )?;
    parse_line(&stdout).ok_or_else(|| format!("child printed {:?}", stdout.trim()))?;
    Ok(total as f64 / n.max(1) as f64)
}

/// The child's line: `samples_us=1.5,2.0 client_cpu_us=300 process_cpu_us=500 alpn=h3`.
fn parse_line(stdout: &str) -> Option<ChildLine> {
    let line = stdout.lines().rfind(|l| l.starts_with("samples_us="))?;
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    };
    let us = |s: &str| -> Option<Duration> {
        let v: f64 = s.parse().ok()?;
        (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v / 1e6))
    };
    let samples = field("samples_us")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(us)
        .collect::<Option<Vec<_>>>()?;
    Some(ChildLine {
        samples,
        client_cpu: us(field("client_cpu_us")?)?,
        process_cpu: us(field("process_cpu_us")?)?,
        alpn: field("alpn").unwrap_or("").to_owned(),
    })
}

/// What the client side needs.
struct Ctx {
    addr: std::net::SocketAddr,
    quinn: quinn::ClientConfig,
    tls: Arc<ClientConfig>,
    race_quic: SecureConnector,
    race_tls: SecureConnector,
}

/// One connection of `way`.
async fn one(ctx: &Ctx, way: Way) -> Result<Won, String> {
    let name = "127.0.0.1";
    let won = match way {
        Way::QuinnDirect => connect::quic_direct(&ctx.quinn, ctx.addr, name).await,
        Way::TlsDirect => connect::tls_direct(&ctx.tls, ctx.addr, name).await,
        Way::RaceQuic => connect::raced(&ctx.race_quic, name, ctx.addr.port(), name).await,
        Way::RaceTls => connect::raced(&ctx.race_tls, name, ctx.addr.port(), name).await,
    }?;
    if won.protocol != way.protocol() {
        return Err(format!(
            "{:?} won, not {:?} as this way expects",
            won.protocol,
            way.protocol()
        ));
    }
    Ok(won)
}

/// `n` sequential connections of `way`: each one's time to the usable connection, and the
/// last one's ALPN. The function callgrind counts (its name is in [`VALGRIND_ARGS`]).
#[inline(never)]
fn measured(
    rt: &tokio::runtime::Runtime,
    ctx: &Ctx,
    way: Way,
    n: usize,
) -> Result<(Vec<Duration>, String), String> {
    rt.block_on(async {
        let mut samples = Vec::with_capacity(n);
        let mut alpn = String::new();
        for _ in 0..n {
            let t0 = Instant::now();
            let won = one(ctx, way).await?;
            samples.push(t0.elapsed());
            alpn = won.alpn.clone().unwrap_or_default();
            won.close();
        }
        Ok((samples, alpn))
    })
}

/// The process's CPU time so far, user + system, all threads.
fn process_cpu() -> Result<Duration, String> {
    let usage = getrusage(UsageWho::RUSAGE_SELF).map_err(|e| format!("getrusage: {e}"))?;
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    Ok(tv(usage.user_time()) + tv(usage.system_time()))
}

/// The child's side: `n` connections of `way` (named by its key) after [`WARMUP`], one
/// line of figures.
pub fn child_main(way: &str, n: usize, delay_ms: u64) -> ExitCode {
    let Some(way) = Way::from_key(way) else {
        eprintln!("eyeballs-bench child quic-cost: no way {way:?}");
        return ExitCode::from(2);
    };
    match child(way, n, delay_ms) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eyeballs-bench child quic-cost: {e}");
            ExitCode::FAILURE
        }
    }
}

fn child(way: Way, n: usize, delay_ms: u64) -> Result<String, String> {
    let identity = Identity::new()?;
    let servers = LoopbackServers::start(&identity)?;
    let roots = || servers::roots_of(identity.cert.clone());
    let delay = Duration::from_millis(delay_ms.max(10));
    let base = || Connector::new().timeout(Duration::from_secs(30));
    let ctx = Ctx {
        addr: servers.addr,
        quinn: servers::quinn_client(roots()?)?,
        tls: Arc::new(servers::client_tls(roots()?, &TCP_ALPN)?),
        race_quic: servers::secure_connector(base(), roots()?, true, delay)?,
        race_tls: servers::secure_connector(base(), roots()?, false, delay)?,
    };
    debug_assert_eq!(ctx.addr.ip(), LOCALHOST);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(async {
        for _ in 0..WARMUP {
            one(&ctx, way).await?.close();
        }
        Ok::<(), String>(())
    })
    .map_err(|e| format!("warm-up: {e}"))?;
    let (cpu0, proc0) = (crate::cost::thread_cpu()?, process_cpu()?);
    let (samples, alpn) = measured(&rt, &ctx, way, n)?;
    let (cpu1, proc1) = (crate::cost::thread_cpu()?, process_cpu()?);
    drop(rt);
    drop(servers);
    Ok(format!(
        "samples_us={} client_cpu_us={:.1} process_cpu_us={:.1} alpn={alpn}",
        samples
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64() * 1e6))
            .collect::<Vec<_>>()
            .join(","),
        (cpu1.saturating_sub(cpu0)).as_secs_f64() * 1e6,
        (proc1.saturating_sub(proc0)).as_secs_f64() * 1e6,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_line_parses() {
        let line = parse_line(
            "noise\nsamples_us=1000.0,3000.5 client_cpu_us=400.0 process_cpu_us=900.0 alpn=h3\n",
        )
        .unwrap();
        assert_eq!(line.samples.len(), 2);
        assert_eq!(
            line.samples[1],
            Duration::from_micros(3000) + Duration::from_nanos(500)
        );
        assert_eq!(line.client_cpu, Duration::from_micros(400));
        assert_eq!(line.alpn, "h3");
        assert_eq!(
            parse_line("samples_us=x client_cpu_us=1 process_cpu_us=1"),
            None
        );
        assert_eq!(parse_line("nothing"), None);
    }

    #[test]
    fn rounds_combine_into_one_row_per_connection() {
        let line = |us: &[u64], cpu: u64| ChildLine {
            samples: us.iter().map(|u| Duration::from_micros(*u)).collect(),
            client_cpu: Duration::from_micros(cpu),
            process_cpu: Duration::from_micros(2 * cpu),
            alpn: "h2".to_owned(),
        };
        let row = combine(
            Way::TlsDirect,
            &[line(&[100, 300], 400), line(&[200, 400], 400)],
            Err("no valgrind".into()),
        )
        .unwrap();
        assert_eq!(row.connections, 4);
        assert_eq!(row.median, Duration::from_micros(250));
        assert_eq!(row.client_cpu, Duration::from_micros(200));
        assert_eq!(row.process_cpu, Duration::from_micros(400));
        assert_eq!(combine(Way::TlsDirect, &[], Ok(1.0)), None);
    }

    #[test]
    fn races_compare_with_the_straight_connect_of_their_winner() {
        for way in WAYS {
            if let Some(base) = way.baseline() {
                assert_eq!(base.protocol(), way.protocol());
                assert_eq!(base.baseline(), None);
            }
        }
    }

    /// All four ways connect on loopback with the protocol they expect.
    #[test]
    fn every_way_connects_on_loopback() {
        for way in WAYS {
            let line = child(way, 3, DEFAULT_DELAY_MS).unwrap();
            let parsed = parse_line(&line).unwrap();
            assert_eq!(parsed.samples.len(), 3, "{line}");
            let want = if way.protocol() == Protocol::Quic {
                "h3"
            } else {
                "h2"
            };
            assert_eq!(parsed.alpn, want, "{way:?}: {line}");
        }
    }
}
