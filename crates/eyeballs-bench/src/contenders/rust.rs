//! The Rust contenders, run in a child process of this program in the lab's client namespace
//! (so that `getaddrinfo` asks the lab's DNS server), each call timed in the child.

use std::future::{poll_fn, Future};
use std::io;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use eyeballs_lab::Lab;
use tower_service::Service;

use super::{no_proxy, Tools};
use crate::scenarios::{GAP, LONG_RUN, NAME, PORT};
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
        }
    }

    /// The library named `key` ([`RustLib::key`]'s format).
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "eyeballs" => Some(RustLib::EyeballsTokio),
            "tokio" => Some(RustLib::Tokio),
            "hyper-util" => Some(RustLib::HyperUtil { delay_ms: None }),
            "happy-eyeballs" => Some(RustLib::HappyEyeballs),
            "eyeballs-blocking" => Some(RustLib::EyeballsBlocking),
            _ => key
                .strip_prefix("hyper-util-")
                .and_then(|d| d.parse().ok())
                .map(|d| RustLib::HyperUtil { delay_ms: Some(d) }),
        }
    }
}

/// Runs `lib` `runs` times in a child process in `lab`'s client namespace.
pub fn run_in_child(
    lib: RustLib,
    lab: &Lab,
    tools: &Tools,
    runs: usize,
    cap: Duration,
) -> Result<Vec<Sample>, String> {
    let mut command = lab
        .client_command(&tools.self_exe)
        .map_err(|e| e.to_string())?;
    command
        .args(["child", "race", &lib.key(), NAME, &PORT.to_string()])
        .arg(runs.to_string())
        .arg(cap.as_millis().to_string())
        .stdin(Stdio::null());
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

/// The child's side: `runs` timed calls of the library named `key` to `host`:`port`, each
/// capped at `cap_ms`, one line each on stdout. The first run alone; the others one after
/// another, or all at once if the first took [`LONG_RUN`] or more. Before the first, one
/// untimed lookup of `localhost` starts a thread of tokio's blocking pool.
pub fn child_main(key: &str, host: &str, port: u16, runs: usize, cap_ms: u64) -> ExitCode {
    let cap = Duration::from_millis(cap_ms);
    let Some(lib) = RustLib::from_key(key) else {
        eprintln!("eyeballs-bench child: unknown library {key:?}");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eyeballs-bench child: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let host = host.to_owned();
    runtime.block_on(async move {
        // Untimed warm-up: a thread of the blocking pool (where every one of these libraries
        // calls getaddrinfo), from /etc/hosts: no DNS query, no connection.
        let _ = tokio::net::lookup_host(("localhost", port)).await;
        let first = race(lib, host.clone(), port, cap).await;
        println!("{}", first.to_line());
        let rest = runs.saturating_sub(1);
        if first.elapsed >= LONG_RUN {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..rest {
                set.spawn(race(lib, host.clone(), port, cap));
            }
            while let Some(done) = set.join_next().await {
                let sample = done.unwrap_or_else(|e| Sample::failed(Duration::ZERO, e.to_string()));
                println!("{}", sample.to_line());
            }
        } else {
            for _ in 0..rest {
                tokio::time::sleep(GAP).await;
                println!("{}", race(lib, host.clone(), port, cap).await.to_line());
            }
        }
    });
    ExitCode::SUCCESS
}

/// One timed connection; the stream is closed at once.
async fn race(lib: RustLib, host: String, port: u16, cap: Duration) -> Sample {
    if lib == RustLib::EyeballsBlocking {
        return tokio::task::spawn_blocking(move || race_blocking(&host, port, cap))
            .await
            .unwrap_or_else(|e| Sample::failed(Duration::ZERO, e.to_string()));
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
    let elapsed = t0.elapsed();
    match result {
        Ok(connection) => {
            drop(connection);
            Sample::ok(elapsed)
        }
        Err(e) => Sample::failed(elapsed, e.to_string()),
    }
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
