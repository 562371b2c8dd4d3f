//! Many races at once: 10,000 concurrent connections to one lab address that accepts slowly
//! (every SYN held by the lab's `Delay` behaviour), each a tokio task. Reported: completion,
//! peak RSS and memory per race in flight, and whether every descriptor was given back.
//!
//! The races run in a child process (client namespace) so that its peak RSS is theirs
//! alone; the lab's server threads, which accept the other ends, run in this process. Both
//! processes raise `RLIMIT_NOFILE` for their ends.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eyeballs_lab::{Behavior, Lab};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::contenders::{no_proxy, Tools};
use crate::scenarios::{PORT, V4};
use crate::stats;

/// The longest one race of the swarm may take.
const RACE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the child samples how many races are in flight and its RSS.
const SAMPLE_EVERY: Duration = Duration::from_millis(2);

/// What opens the swarm's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwarmLib {
    /// `tokio::net::TcpStream::connect(addr)`: the baseline.
    Tokio,
    /// `eyeballs::Connector::connect_addrs([addr])` (a one-address race; 60 s timeout).
    Eyeballs,
}

impl SwarmLib {
    /// The child's command-line name.
    pub fn key(self) -> &'static str {
        match self {
            SwarmLib::Tokio => "tokio",
            SwarmLib::Eyeballs => "eyeballs",
        }
    }

    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            SwarmLib::Tokio => "tokio `TcpStream::connect`",
            SwarmLib::Eyeballs => "eyeballs `connect_addrs`",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        [SwarmLib::Tokio, SwarmLib::Eyeballs]
            .into_iter()
            .find(|l| l.key() == key)
    }
}

/// One swarm's results.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmRow {
    /// Who opened the connections.
    pub lib: SwarmLib,
    /// Races started.
    pub races: usize,
    /// How long the address held each handshake.
    pub hold: Duration,
    /// Races that connected.
    pub connected: usize,
    /// From the first race's start to the last one's end.
    pub wall: Duration,
    /// Median time to connect.
    pub median: Duration,
    /// Longest time to connect (or to fail).
    pub max: Duration,
    /// The child's resident memory before the races (KiB).
    pub rss_before_kib: u64,
    /// The child's peak resident memory (VmHWM, KiB).
    pub peak_rss_kib: u64,
    /// The most races seen in flight at once (sampled every 2 ms).
    pub peak_in_flight: usize,
    /// The child's RSS when that many were in flight (KiB).
    pub rss_at_peak_kib: u64,
    /// Open descriptors in the child before the races and after they ended.
    pub fds: (usize, usize),
    /// Server-side connections still open once the client was done (0 expected).
    pub server_open_after: usize,
    /// Whether this process's descriptors were back to their count before the lab.
    pub parent_fds_restored: bool,
    /// The most common error, if any race failed.
    pub error: Option<String>,
}

impl SwarmRow {
    /// Memory per race in flight: the RSS growth over the baseline when the most races
    /// were in flight, divided by their number.
    pub fn bytes_per_race(&self) -> f64 {
        let grown = self.rss_at_peak_kib.saturating_sub(self.rss_before_kib) as f64 * 1024.0;
        grown / self.peak_in_flight.max(1) as f64
    }
}

/// Runs one swarm of `races` races per library against an address whose handshakes are
/// held `hold`.
pub fn run(tools: &Tools, races: usize, hold: Duration) -> Result<Vec<SwarmRow>, String> {
    // This process holds the server ends (the lab's threads); the child the client ends.
    raise_nofile(races as u64 + 1024)?;
    let mut rows = Vec::new();
    for lib in [SwarmLib::Tokio, SwarmLib::Eyeballs] {
        rows.push(one(tools, lib, races, hold)?);
    }
    Ok(rows)
}

fn one(tools: &Tools, lib: SwarmLib, races: usize, hold: Duration) -> Result<SwarmRow, String> {
    let fds_before_lab = open_fds()?;
    let addr = SocketAddr::new(IpAddr::V4(V4), PORT);
    let lab = Lab::builder()
        .port(PORT)
        .server(addr.ip(), Behavior::Delay(hold))
        .start()
        .map_err(|e| e.to_string())?;
    let mut command = lab
        .client_command(&tools.self_exe)
        .map_err(|e| e.to_string())?;
    command
        .args([
            "child",
            "swarm",
            lib.key(),
            &addr.to_string(),
            &races.to_string(),
        ])
        .stdin(Stdio::null());
    let output = no_proxy(&mut command)
        .output()
        .map_err(|e| format!("starting the swarm child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fields = parse_fields(&stdout);
    if !output.status.success() || fields.is_empty() {
        return Err(format!(
            "swarm child ({}) exited with {}: {} {}",
            lib.key(),
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    // The server notices each close a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab.open_count(addr.ip()) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let server_open_after = lab.open_count(addr.ip());
    drop(lab);
    let parent_fds_restored = open_fds()? == fds_before_lab;
    let num = |key: &str| -> Result<f64, String> {
        fields
            .get(key)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("swarm child output lacks {key}: {stdout}"))
    };
    let ms = |key: &str| -> Result<Duration, String> {
        Ok(Duration::from_secs_f64(num(key)?.max(0.0) / 1e3))
    };
    Ok(SwarmRow {
        lib,
        races,
        hold,
        connected: num("connected")? as usize,
        wall: ms("wall_ms")?,
        median: ms("median_ms")?,
        max: ms("max_ms")?,
        rss_before_kib: num("rss_before_kib")? as u64,
        peak_rss_kib: num("peak_rss_kib")? as u64,
        peak_in_flight: num("peak_in_flight")? as usize,
        rss_at_peak_kib: num("rss_at_peak_kib")? as u64,
        fds: (num("fds_before")? as usize, num("fds_after")? as usize),
        server_open_after,
        parent_fds_restored,
        error: fields.get("error").filter(|e| !e.is_empty()).cloned(),
    })
}

/// `key=value` words; `error=` takes the rest of the line.
fn parse_fields(text: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for line in text.lines() {
        let (head, error) = match line.split_once(" error=") {
            Some((h, e)) => (h, Some(e)),
            None => (line, None),
        };
        for word in head.split_whitespace() {
            if let Some((k, v)) = word.split_once('=') {
                fields.insert(k.to_owned(), v.to_owned());
            }
        }
        if let Some(e) = error {
            fields.insert("error".to_owned(), e.trim().to_owned());
        }
    }
    fields
}

/// The child's side: `races` concurrent connections to `addr`, then one line of results.
pub fn child_main(key: &str, addr: &str, races: usize) -> ExitCode {
    let (Some(lib), Ok(addr)) = (SwarmLib::from_key(key), addr.parse::<SocketAddr>()) else {
        eprintln!("eyeballs-bench child swarm: bad arguments {key:?} {addr:?}");
        return ExitCode::from(2);
    };
    match child(lib, addr, races) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eyeballs-bench child swarm: {e}");
            ExitCode::FAILURE
        }
    }
}

fn child(lib: SwarmLib, addr: SocketAddr, races: usize) -> Result<String, String> {
    raise_nofile(races as u64 + 1024)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let connector = eyeballs::Connector::new().timeout(RACE_TIMEOUT);
    rt.block_on(async move {
        // One connection first, so that first-use allocations are in the baseline.
        connect(lib, &connector, addr)
            .await
            .map_err(|e| format!("warm-up: {e}"))?;
        let mut results: Vec<(bool, Duration, Option<String>)> = Vec::with_capacity(races);
        let fds_before = open_fds()?;
        let rss_before_kib = status_kib("VmRSS")?;
        // How many races are between their start and their end, and a sampler that keeps
        // the RSS seen when that count was highest.
        let in_flight = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (in_flight, finished) = (Arc::clone(&in_flight), Arc::clone(&finished));
            tokio::spawn(async move {
                let mut peak = (0usize, 0u64);
                while !finished.load(Ordering::Relaxed) {
                    let n = in_flight.load(Ordering::Relaxed);
                    if n > peak.0 {
                        peak = (n, status_kib("VmRSS").unwrap_or(0));
                    }
                    tokio::time::sleep(SAMPLE_EVERY).await;
                }
                peak
            })
        };
        let t0 = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..races {
            let connector = connector.clone();
            let in_flight = Arc::clone(&in_flight);
            set.spawn(async move {
                let start = Instant::now();
                in_flight.fetch_add(1, Ordering::Relaxed);
                let result = connect(lib, &connector, addr).await;
                in_flight.fetch_sub(1, Ordering::Relaxed);
                (start.elapsed(), result)
            });
        }
        while let Some(done) = set.join_next().await {
            results.push(match done {
                Ok((elapsed, Ok(()))) => (true, elapsed, None),
                Ok((elapsed, Err(e))) => (false, elapsed, Some(e)),
                Err(e) => (false, Duration::ZERO, Some(e.to_string())),
            });
        }
        let wall = t0.elapsed();
        finished.store(true, Ordering::Relaxed);
        let (peak_in_flight, rss_at_peak_kib) = sampler.await.unwrap_or_default();
        let peak_rss_kib = status_kib("VmHWM")?;
        drop(set);
        let fds_after = open_fds()?;
        let mut times: Vec<Duration> = results.iter().map(|r| r.1).collect();
        times.sort_unstable();
        let connected = results.iter().filter(|r| r.0).count();
        let error = results.iter().find_map(|r| r.2.clone()).unwrap_or_default();
        let ms = |d: Option<Duration>| d.unwrap_or_default().as_secs_f64() * 1e3;
        Ok(format!(
            "connected={connected} wall_ms={:.1} median_ms={:.1} max_ms={:.1} \
             rss_before_kib={rss_before_kib} peak_rss_kib={peak_rss_kib} \
             peak_in_flight={peak_in_flight} rss_at_peak_kib={rss_at_peak_kib} \
             fds_before={fds_before} fds_after={fds_after} error={}",
            wall.as_secs_f64() * 1e3,
            ms(stats::median(&times)),
            ms(times.last().copied()),
            error.replace('\n', " "),
        ))
    })
}

/// One connection, closed at once.
async fn connect(
    lib: SwarmLib,
    connector: &eyeballs::Connector,
    addr: SocketAddr,
) -> Result<(), String> {
    match lib {
        SwarmLib::Tokio => {
            match tokio::time::timeout(RACE_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    drop(stream);
                    Ok(())
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("timed out".to_owned()),
            }
        }
        SwarmLib::Eyeballs => connector
            .connect_addrs([addr])
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` to at least `want`: within the hard limit,
/// or above it where the process may raise that too (root with `CAP_SYS_RESOURCE`).
pub fn raise_nofile(want: u64) -> Result<(), String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| format!("getrlimit: {e}"))?;
    if soft >= want {
        return Ok(());
    }
    if want <= hard {
        return setrlimit(Resource::RLIMIT_NOFILE, want, hard)
            .map_err(|e| format!("raising RLIMIT_NOFILE to {want}: {e}"));
    }
    setrlimit(Resource::RLIMIT_NOFILE, want, want)
        .map_err(|e| format!("raising RLIMIT_NOFILE to {want} (hard limit {hard}): {e}"))
}

/// Open file descriptors of this process.
pub fn open_fds() -> Result<usize, String> {
    std::fs::read_dir("/proc/self/fd")
        .map(Iterator::count)
        .map_err(|e| format!("/proc/self/fd: {e}"))
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e}"))?;
    parse_status_kib(&status, field).ok_or_else(|| format!("no {field} in /proc/self/status"))
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let status = "Name:\tx\nVmHWM:\t   12345 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(12345));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(2048));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        assert!(status_kib("VmRSS").unwrap() > 0);
        assert!(open_fds().unwrap() >= 3);
    }

    #[test]
    fn child_line_fields() {
        let f = parse_fields("connected=10000 wall_ms=1.5 error=timed out after 60s\n");
        assert_eq!(f["connected"], "10000");
        assert_eq!(f["wall_ms"], "1.5");
        assert_eq!(f["error"], "timed out after 60s");
        assert_eq!(parse_fields("connected=1 error=")["error"], "");
    }

    #[test]
    fn bytes_per_race_is_growth_over_races() {
        let row = SwarmRow {
            lib: SwarmLib::Eyeballs,
            races: 1000,
            hold: Duration::from_millis(50),
            connected: 1000,
            wall: Duration::ZERO,
            median: Duration::ZERO,
            max: Duration::ZERO,
            rss_before_kib: 1000,
            peak_rss_kib: 2100,
            peak_in_flight: 1000,
            rss_at_peak_kib: 2000,
            fds: (5, 5),
            server_open_after: 0,
            parent_fds_restored: true,
            error: None,
        };
        assert_eq!(row.bytes_per_race(), 1024.0);
    }
}
