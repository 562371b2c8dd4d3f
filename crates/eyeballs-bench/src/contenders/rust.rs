//! The Rust contenders, run in a child process of this program in the lab's client namespace
//! (so that `getaddrinfo` asks the lab's DNS server), each call timed in the child.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use eyeballs::proto::Network;
use eyeballs::resolver::HickoryResolver;

use eyeballs_lab::Lab;
use tower_service::Service;

use super::{no_proxy, Tools};
use crate::scenarios::{GAP, LONG_RUN, PORT};
use crate::stats::Sample;

/// A Rust library that opens a connection from a host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustLib {
    /// `eyeballs::Connector::new().timeout(cap).connect(name, port)`: RFC 8305 defaults, the
    /// system resolver (one `getaddrinfo` per family, in parallel).
    EyeballsTokio,
    /// `tokio::net::TcpStream::connect((name, port))`: `getaddrinfo`, then each address in
    /// turn.
    Tokio,
    /// hyper-util's `HttpConnector` with its `GaiResolver`, called as a tower service with
    /// `http://name:port/`; `delay_ms`: `set_happy_eyeballs_timeout` (default 300 ms).
    HyperUtil {
        /// `None`: the default.
        delay_ms: Option<u64>,
    },
    /// `happy_eyeballs::tokio::connect((name, port))` (crate `happy-eyeballs`, feature
    /// `tokio`): `getaddrinfo`, then families interleaved 250 ms apart.
    HappyEyeballs,
    /// `eyeballs::blocking::Connector::from(Connector::new().timeout(cap)).connect(name,
    /// port)`: the same race with std sockets and a poller, on a thread of tokio's blocking
    /// pool (timed inside it).
    EyeballsBlocking,
    /// HEv3 (the hev3 part): `eyeballs::Connector::new().resolver(HickoryResolver::new([dns])
    /// .timeout(1 s).attempts(1)).https_query(true).timeout(cap)` with the network
    /// `eyeballs::network::detect_network` finds (NAT64 prefix discovery on an IPv6-only
    /// network): detected once before the runs, untimed, or in every run, timed with it.
    EyeballsHev3 {
        /// Detect in every run (timed), not once before them.
        detect_each_run: bool,
    },
    /// The same connector without HTTPS query and without network detection: RFC 8305
    /// resolution (AAAA and A apart) with the same resolver.
    EyeballsHickory,
}

impl RustLib {
    /// The name the child's command line uses.
    pub fn key(self) -> String {
        match self {
            RustLib::EyeballsTokio => "eyeballs".to_owned(),
            RustLib::Tokio => "tokio".to_owned(),
            RustLib::HyperUtil { delay_ms: None } => "hyper-util".to_owned(),
            RustLib::HyperUtil { delay_ms: Some(d) } => format!("hyper-util-{d}"),
            RustLib::HappyEyeballs => "happy-eyeballs".to_owned(),
            RustLib::EyeballsBlocking => "eyeballs-blocking".to_owned(),
            RustLib::EyeballsHev3 {
                detect_each_run: false,
            } => "eyeballs-hev3".to_owned(),
            RustLib::EyeballsHev3 {
                detect_each_run: true,
            } => "eyeballs-hev3-detect".to_owned(),
            RustLib::EyeballsHickory => "eyeballs-hickory".to_owned(),
        }
    }

    /// Whether it asks the lab's DNS server itself (the child is given `--dns`).
    pub fn needs_dns(self) -> bool {
        matches!(
            self,
            RustLib::EyeballsHev3 { .. } | RustLib::EyeballsHickory
        )
    }

    /// The library named `key` ([`RustLib::key`]'s format).
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "eyeballs" => Some(RustLib::EyeballsTokio),
            "tokio" => Some(RustLib::Tokio),
            "hyper-util" => Some(RustLib::HyperUtil { delay_ms: None }),
            "happy-eyeballs" => Some(RustLib::HappyEyeballs),
            "eyeballs-blocking" => Some(RustLib::EyeballsBlocking),
            "eyeballs-hev3" => Some(RustLib::EyeballsHev3 {
                detect_each_run: false,
            }),
            "eyeballs-hev3-detect" => Some(RustLib::EyeballsHev3 {
                detect_each_run: true,
            }),
            "eyeballs-hickory" => Some(RustLib::EyeballsHickory),
            _ => key
                .strip_prefix("hyper-util-")
                .and_then(|d| d.parse().ok())
                .map(|d| RustLib::HyperUtil { delay_ms: Some(d) }),
        }
    }
}

/// Runs `lib` `runs` times to `host` in a child process in `lab`'s client namespace; a
/// library that asks the lab's DNS server itself is given its IPv4 address, or its IPv6 one
/// in a NAT64 lab (whose client has no IPv4).
pub fn run_in_child(
    lib: RustLib,
    lab: &Lab,
    tools: &Tools,
    host: &str,
    runs: usize,
    cap: Duration,
) -> Result<Vec<Sample>, String> {
    let mut command = lab
        .client_command(&tools.self_exe)
        .map_err(|e| e.to_string())?;
    command
        .args(["child", "race", &lib.key(), host, &PORT.to_string()])
        .arg(runs.to_string())
        .arg(cap.as_millis().to_string())
        .stdin(Stdio::null());
    if lib.needs_dns() {
        let dns = match lab.nat64() {
            Some(_) => lab.dns_server_v6(),
            None => lab.dns_server_v4(),
        };
        command.args(["--dns", &dns.to_string()]);
    }
    let output = no_proxy(&mut command)
        .output()
        .map_err(|e| format!("starting the child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let samples: Vec<Sample> = stdout.lines().filter_map(Sample::parse_line).collect();
    if !output.status.success() || samples.len() != runs {
        return Err(format!(
            "child {} exited with {} after {} of {runs} runs: {}",
            lib.key(),
            output.status,
            samples.len(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(samples)
}

/// The runtime of a child process: current-thread, I/O and timers on; `None` (said on stderr)
/// if it cannot be made.
pub fn child_runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("eyeballs-bench child: runtime: {e}");
            None
        }
    }
}

/// A child's runs, on its runtime: one untimed lookup of `localhost` first (answered from
/// /etc/hosts: no DNS query, no connection; it starts the thread of tokio's blocking pool
/// where these libraries call `getaddrinfo`), then the first run alone, then the others one
/// after another, or all at once when `long` says the first took [`LONG_RUN`] or more. Each
/// run is given to `print` when it ends; a run whose task failed is `lost(why)`.
pub async fn run_all<T, Fut>(
    runs: usize,
    one: impl Fn() -> Fut,
    long: impl Fn(&T) -> bool,
    print: impl Fn(&T),
    lost: impl Fn(String) -> T,
) where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let _ = tokio::net::lookup_host(("localhost", PORT)).await;
    if runs == 0 {
        return;
    }
    let first = one().await;
    print(&first);
    let rest = runs - 1;
    if long(&first) {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..rest {
            set.spawn(one());
        }
        while let Some(done) = set.join_next().await {
            print(&done.unwrap_or_else(|e| lost(e.to_string())));
        }
    } else {
        for _ in 0..rest {
            tokio::time::sleep(GAP).await;
            print(&one().await);
        }
    }
}

/// The child's side: `runs` timed calls of the library named `key` to `host`:`port`, each
/// capped at `cap_ms`, one line each on stdout ([`run_all`]); `dns`: the lab's DNS server,
/// for the libraries that ask it themselves.
pub fn child_main(
    key: &str,
    host: &str,
    port: u16,
    runs: usize,
    cap_ms: u64,
    dns: Option<SocketAddr>,
) -> ExitCode {
    let cap = Duration::from_millis(cap_ms);
    let Some(lib) = RustLib::from_key(key) else {
        eprintln!("eyeballs-bench child: unknown library {key:?}");
        return ExitCode::from(2);
    };
    if lib.needs_dns() && dns.is_none() {
        eprintln!("eyeballs-bench child: {key} needs --dns");
        return ExitCode::from(2);
    }
    let Some(runtime) = child_runtime() else {
        return ExitCode::FAILURE;
    };
    let host = host.to_owned();
    runtime.block_on(async move {
        // Detected once, untimed, for the HEv3 row that knows its network.
        let network = match (lib, dns) {
            (
                RustLib::EyeballsHev3 {
                    detect_each_run: false,
                },
                Some(dns),
            ) => Some(eyeballs::network::detect_network(&hickory(dns)).await),
            _ => None,
        };
        run_all(
            runs,
            || race(lib, host.clone(), port, cap, dns, network.clone()),
            |s| s.elapsed >= LONG_RUN,
            |s| println!("{}", s.to_line()),
            |e| Sample::failed(Duration::ZERO, e),
        )
        .await;
    });
    ExitCode::SUCCESS
}

/// The HEv3 rows' resolver: the lab's DNS server only, one try of at most 1 s (as the lab's
/// resolv.conf tells `getaddrinfo`).
fn hickory(dns: SocketAddr) -> HickoryResolver {
    HickoryResolver::new([dns])
        .timeout(Duration::from_secs(1))
        .attempts(1)
}

/// One timed HEv3 (or hickory HEv2) connection: the connector is made before the clock starts;
/// `network` is what was detected before the runs, if it was.
async fn race_hickory(
    lib: RustLib,
    host: &str,
    port: u16,
    cap: Duration,
    dns: SocketAddr,
    network: Option<Network>,
) -> Sample {
    let https = matches!(lib, RustLib::EyeballsHev3 { .. });
    let mut connector = eyeballs::Connector::new()
        .resolver(hickory(dns))
        .https_query(https)
        .timeout(cap);
    if let Some(network) = network {
        connector = connector.network(network);
    }
    let t0 = Instant::now();
    if lib
        == (RustLib::EyeballsHev3 {
            detect_each_run: true,
        })
    {
        connector = connector.detect_network().await;
    }
    let result = connector.connect(host, port).await;
    outcome(t0, result)
}

/// A connect's result as a run timed from `t0` (the connection is closed at once).
fn outcome<T, E: std::fmt::Display>(t0: Instant, result: Result<T, E>) -> Sample {
    let elapsed = t0.elapsed();
    match result {
        Ok(connection) => {
            drop(connection);
            Sample::ok(elapsed)
        }
        Err(e) => Sample::failed(elapsed, e.to_string()),
    }
}

/// One timed connection; the stream is closed at once.
async fn race(
    lib: RustLib,
    host: String,
    port: u16,
    cap: Duration,
    dns: Option<SocketAddr>,
    network: Option<Network>,
) -> Sample {
    if lib == RustLib::EyeballsBlocking {
        return tokio::task::spawn_blocking(move || race_blocking(&host, port, cap))
            .await
            .unwrap_or_else(|e| Sample::failed(Duration::ZERO, e.to_string()));
    }
    if lib.needs_dns() {
        return match dns {
            Some(dns) => race_hickory(lib, &host, port, cap, dns, network).await,
            None => Sample::failed(Duration::ZERO, "no DNS server given"),
        };
    }
    let t0 = Instant::now();
    let result: Result<(), String> = match lib {
        RustLib::EyeballsTokio => eyeballs::Connector::new()
            .timeout(cap)
            .connect(&host, port)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        RustLib::Tokio => capped(cap, tokio::net::TcpStream::connect((host.as_str(), port))).await,
        RustLib::HyperUtil { delay_ms } => {
            let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
            if let Some(d) = delay_ms {
                connector.set_happy_eyeballs_timeout(Some(Duration::from_millis(d)));
            }
            match format!("http://{host}:{port}/").parse::<http::Uri>() {
                Ok(uri) => {
                    capped(cap, async move {
                        poll_fn(|cx| connector.poll_ready(cx))
                            .await
                            .map_err(io::Error::other)?;
                        connector.call(uri).await.map_err(io::Error::other)
                    })
                    .await
                }
                Err(e) => Err(e.to_string()),
            }
        }
        RustLib::HappyEyeballs => {
            capped(cap, happy_eyeballs::tokio::connect((host.as_str(), port))).await
        }
        RustLib::EyeballsBlocking => return race_blocking(&host, port, cap),
        RustLib::EyeballsHev3 { .. } | RustLib::EyeballsHickory => {
            Err("no DNS server given".to_owned())
        }
    };
    let elapsed = t0.elapsed();
    match result {
        Ok(()) => Sample::ok(elapsed),
        Err(e) => Sample::failed(elapsed, e),
    }
}

/// One timed connection with the blocking driver, on the calling thread.
fn race_blocking(host: &str, port: u16, cap: Duration) -> Sample {
    let connector = eyeballs::blocking::Connector::from(eyeballs::Connector::new().timeout(cap));
    let t0 = Instant::now();
    let result = connector.connect(host, port);
    outcome(t0, result)
}

/// A connect call under the overall cap, for libraries that have no overall timeout of
/// their own; the stream is dropped.
pub async fn capped<T>(
    cap: Duration,
    connect: impl Future<Output = io::Result<T>>,
) -> Result<(), String> {
    match tokio::time::timeout(cap, connect).await {
        Ok(Ok(stream)) => {
            drop(stream);
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("timed out after {cap:?}")),
    }
}
