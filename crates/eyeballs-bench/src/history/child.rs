//! The Rust peers of the history part, in a child process of this program in the lab's client
//! namespace (so that `getaddrinfo` asks the lab's DNS server): each run makes one client
//! (an eyeballs `Connector`, a hyper-util `HttpConnector`; tokio and the happy-eyeballs crate
//! have none) and connects twice with it, each call timed in the child.

use std::future::poll_fn;
use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tower_service::Service;

use crate::contenders::rust::{capped, child_runtime, run_all};
use crate::scenarios::LONG_RUN;
use crate::stats::Sample;

/// A Rust library the history part runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lib {
    /// `eyeballs::Connector::new().timeout(cap)`, `.without_history()` unless `history`: the
    /// system resolver (one `getaddrinfo` per family), RFC 8305 defaults.
    Eyeballs {
        /// The default history store, or none.
        history: bool,
    },
    /// `tokio::net::TcpStream::connect((name, port))`.
    Tokio,
    /// hyper-util's `HttpConnector::new()` (300 ms happy eyeballs timeout), one per run,
    /// called twice as a tower service.
    HyperUtil,
    /// `happy_eyeballs::tokio::connect((name, port))`.
    HappyEyeballs,
}

impl Lib {
    /// The child's command-line name.
    pub fn key(self) -> &'static str {
        match self {
            Lib::Eyeballs { history: true } => "eyeballs",
            Lib::Eyeballs { history: false } => "eyeballs-no-history",
            Lib::Tokio => "tokio",
            Lib::HyperUtil => "hyper-util",
            Lib::HappyEyeballs => "happy-eyeballs",
        }
    }

    /// The library named `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        [
            Lib::Eyeballs { history: true },
            Lib::Eyeballs { history: false },
            Lib::Tokio,
            Lib::HyperUtil,
            Lib::HappyEyeballs,
        ]
        .into_iter()
        .find(|l| l.key() == key)
    }
}

/// The child's side: `runs` runs of `key` to `host`:`port`, each two connections in a row
/// capped at `cap_ms` each, printed `1 ok MS` and `2 ok MS` ([`run_all`]: the first run
/// alone; the others one after another, or all at once if the first took [`LONG_RUN`] or more
/// in all).
pub fn child_main(key: &str, host: &str, port: u16, runs: usize, cap_ms: u64) -> ExitCode {
    let cap = Duration::from_millis(cap_ms);
    let Some(lib) = Lib::from_key(key) else {
        eprintln!("eyeballs-bench child: unknown library {key:?}");
        return ExitCode::from(2);
    };
    let Some(runtime) = child_runtime() else {
        return ExitCode::FAILURE;
    };
    let host = host.to_owned();
    runtime.block_on(run_all(
        runs,
        || pair(lib, host.clone(), port, cap),
        |(first, second)| first.elapsed + second.elapsed >= LONG_RUN,
        print_pair,
        |e| {
            let failed = Sample::failed(Duration::ZERO, e);
            (failed.clone(), failed)
        },
    ));
    ExitCode::SUCCESS
}

fn print_pair((first, second): &(Sample, Sample)) {
    println!("1 {}\n2 {}", first.to_line(), second.to_line());
}

/// One run: a client, two timed connections with it.
async fn pair(lib: Lib, host: String, port: u16, cap: Duration) -> (Sample, Sample) {
    match lib {
        Lib::Eyeballs { history } => {
            let mut connector = eyeballs::Connector::new().timeout(cap);
            if !history {
                connector = connector.without_history();
            }
            let once = || async {
                timed(async {
                    connector
                        .connect(&host, port)
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
                .await
            };
            let first = once().await;
            (first, once().await)
        }
        Lib::Tokio => {
            let once = || {
                timed(capped(
                    cap,
                    tokio::net::TcpStream::connect((host.as_str(), port)),
                ))
            };
            let first = once().await;
            (first, once().await)
        }
        Lib::HappyEyeballs => {
            let once = || {
                timed(capped(
                    cap,
                    happy_eyeballs::tokio::connect((host.as_str(), port)),
                ))
            };
            let first = once().await;
            (first, once().await)
        }
        Lib::HyperUtil => {
            let uri = match format!("http://{host}:{port}/").parse::<http::Uri>() {
                Ok(uri) => uri,
                Err(e) => {
                    let failed = Sample::failed(Duration::ZERO, e.to_string());
                    return (failed.clone(), failed);
                }
            };
            let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let first = hyper_once(&mut connector, uri.clone(), cap).await;
            (first, hyper_once(&mut connector, uri, cap).await)
        }
    }
}

/// One call of hyper-util's connector, timed.
async fn hyper_once(
    connector: &mut hyper_util::client::legacy::connect::HttpConnector,
    uri: http::Uri,
    cap: Duration,
) -> Sample {
    timed(capped(cap, async {
        poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(io::Error::other)?;
        connector.call(uri).await.map_err(io::Error::other)
    }))
    .await
}

/// Times `connect`.
async fn timed(connect: impl std::future::Future<Output = Result<(), String>>) -> Sample {
    let t0 = Instant::now();
    let result = connect.await;
    let elapsed = t0.elapsed();
    match result {
        Ok(()) => Sample::ok(elapsed),
        Err(e) => Sample::failed(elapsed, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for lib in [
            Lib::Eyeballs { history: true },
            Lib::Eyeballs { history: false },
            Lib::Tokio,
            Lib::HyperUtil,
            Lib::HappyEyeballs,
        ] {
            assert_eq!(Lib::from_key(lib.key()), Some(lib));
        }
        assert_eq!(Lib::from_key("curl"), None);
    }
}
