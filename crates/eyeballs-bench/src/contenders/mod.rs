//! The contenders: eyeballs and what users would use instead, each at its defaults and,
//! where it has one, with the same 250 ms attempt delay.
//!
//! Every contender resolves [`NAME`](crate::scenarios::NAME) through the lab's DNS server and
//! times itself, so that no process start-up is counted:
//! - Rust libraries that call `getaddrinfo` run in a child process in the lab's client
//!   namespace (`Lab::client_command`), where `/etc/resolv.conf` names the lab's DNS server;
//!   the child times each call ([`rust`]).
//! - curl reports its own `time_connect`; `eyeballs connect --json` its own `elapsed_ms`;
//!   the Python script times each call inside one interpreter ([`external`]).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use eyeballs_lab::Lab;

use crate::stats::Sample;

pub mod external;
pub mod rust;

pub use rust::RustLib;

/// Paths the contenders need.
#[derive(Debug, Clone)]
pub struct Tools {
    /// This program (re-run in child mode).
    pub self_exe: PathBuf,
    /// The `eyeballs` command, built in release mode.
    pub eyeballs_cli: PathBuf,
    /// The Python of the benchmark's virtualenv (with aiohappyeyeballs and the eyeballs
    /// package).
    pub python: PathBuf,
}

/// Which Python call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyMode {
    /// `loop.create_connection(host, port, happy_eyeballs_delay=...)`.
    Asyncio,
    /// `loop.getaddrinfo` then `aiohappyeyeballs.start_connection(infos, ...)`.
    Aiohappyeyeballs,
    /// `loop.getaddrinfo` then `eyeballs.start_connection(infos, ...)` (the Python package).
    EyeballsStart,
    /// `socket.create_connection((host, port), timeout=...)`.
    Socket,
    /// `eyeballs.create_connection((host, port), timeout=..., happy_eyeballs_delay=...)`.
    Eyeballs,
}

impl PyMode {
    /// The script's name for it.
    pub fn arg(self) -> &'static str {
        match self {
            PyMode::Asyncio => "asyncio",
            PyMode::Aiohappyeyeballs => "aiohappyeyeballs",
            PyMode::EyeballsStart => "eyeballs-start",
            PyMode::Socket => "socket",
            PyMode::Eyeballs => "eyeballs",
        }
    }
}

/// How a contender is run.
#[derive(Debug, Clone, PartialEq)]
pub enum How {
    /// A Rust library, in a child process of this program.
    Rust(RustLib),
    /// `eyeballs connect NAME PORT --json --dns <lab DNS>`, one process per run.
    EyeballsCli,
    /// curl, one process per run; `happy_eyeballs_ms`: `--happy-eyeballs-timeout-ms`.
    Curl {
        /// `None`: curl's default (200 ms).
        happy_eyeballs_ms: Option<u32>,
    },
    /// Python, one interpreter per scenario.
    Python {
        /// Which call.
        mode: PyMode,
        /// `happy_eyeballs_delay` in seconds; `None`: the default (no Happy Eyeballs).
        delay: Option<f64>,
    },
}

/// One row of the tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Contender {
    /// Short name for the chart and progress lines.
    pub key: &'static str,
    /// The row's name.
    pub label: &'static str,
    /// Its attempt delay as run, for people.
    pub delay: &'static str,
    /// Its attempt delay in milliseconds; `None`: it never races (one address after
    /// another).
    pub delay_ms: Option<u32>,
    /// How it resolves the name.
    pub resolver: &'static str,
    /// Whether it is one of eyeballs' own drivers.
    pub ours: bool,
    /// How it is run.
    pub how: How,
}

/// Every contender, in table order.
pub fn all() -> Vec<Contender> {
    let c = |key, label, delay: &'static str, resolver, ours, how| Contender {
        key,
        label,
        delay,
        delay_ms: delay
            .split_whitespace()
            .next()
            .and_then(|ms| ms.parse().ok()),
        resolver,
        ours,
        how,
    };
    const GAI_SPLIT: &str = "getaddrinfo, AAAA and A apart";
    const GAI: &str = "getaddrinfo (AAAA and A together)";
    vec![
        c(
            "eyeballs",
            "eyeballs (tokio)",
            "250 ms (default)",
            GAI_SPLIT,
            true,
            How::Rust(RustLib::EyeballsTokio),
        ),
        c(
            "eyeballs-blocking",
            "eyeballs (blocking)",
            "250 ms (default)",
            GAI_SPLIT,
            true,
            How::Rust(RustLib::EyeballsBlocking),
        ),
        c(
            "eyeballs-cli",
            "`eyeballs connect`",
            "250 ms (default)",
            "hickory, AAAA and A apart",
            true,
            How::EyeballsCli,
        ),
        c(
            "tokio",
            "tokio `TcpStream::connect`",
            "none (one address after another)",
            GAI,
            false,
            How::Rust(RustLib::Tokio),
        ),
        c(
            "hyper-util",
            "hyper-util `HttpConnector`",
            "300 ms (default)",
            GAI,
            false,
            How::Rust(RustLib::HyperUtil { delay_ms: None }),
        ),
        c(
            "hyper-util-250",
            "hyper-util `HttpConnector`",
            "250 ms",
            GAI,
            false,
            How::Rust(RustLib::HyperUtil {
                delay_ms: Some(250),
            }),
        ),
        c(
            "happy-eyeballs",
            "`happy-eyeballs` crate (tokio)",
            "250 ms (fixed)",
            GAI,
            false,
            How::Rust(RustLib::HappyEyeballs),
        ),
        c(
            "curl",
            "curl",
            "200 ms (default)",
            GAI,
            false,
            How::Curl {
                happy_eyeballs_ms: None,
            },
        ),
        c(
            "curl-250",
            "curl",
            "250 ms",
            GAI,
            false,
            How::Curl {
                happy_eyeballs_ms: Some(250),
            },
        ),
        c(
            "asyncio",
            "Python asyncio `create_connection`",
            "none (default: one after another)",
            GAI,
            false,
            How::Python {
                mode: PyMode::Asyncio,
                delay: None,
            },
        ),
        c(
            "asyncio-250",
            "Python asyncio `create_connection`",
            "250 ms",
            GAI,
            false,
            How::Python {
                mode: PyMode::Asyncio,
                delay: Some(0.25),
            },
        ),
        c(
            "aiohappyeyeballs",
            "aiohappyeyeballs `start_connection`",
            "none (default: one after another)",
            GAI,
            false,
            How::Python {
                mode: PyMode::Aiohappyeyeballs,
                delay: None,
            },
        ),
        c(
            "aiohappyeyeballs-250",
            "aiohappyeyeballs `start_connection`",
            "250 ms",
            GAI,
            false,
            How::Python {
                mode: PyMode::Aiohappyeyeballs,
                delay: Some(0.25),
            },
        ),
        c(
            "py-eyeballs-start",
            "Python eyeballs `start_connection`",
            "250 ms",
            GAI,
            true,
            How::Python {
                mode: PyMode::EyeballsStart,
                delay: Some(0.25),
            },
        ),
        c(
            "py-socket",
            "Python `socket.create_connection`",
            "none (one address after another)",
            GAI,
            false,
            How::Python {
                mode: PyMode::Socket,
                delay: None,
            },
        ),
        c(
            "py-eyeballs",
            "Python `eyeballs.create_connection`",
            "250 ms (default)",
            GAI_SPLIT,
            true,
            How::Python {
                mode: PyMode::Eyeballs,
                delay: None,
            },
        ),
    ]
}

/// Runs `contender` `runs` times in `lab` to [`NAME`](crate::scenarios::NAME), each run
/// capped at `cap`.
pub fn run(
    contender: &Contender,
    lab: &Lab,
    tools: &Tools,
    runs: usize,
    cap: Duration,
) -> Result<Vec<Sample>, String> {
    run_to(contender, lab, tools, crate::scenarios::NAME, runs, cap)
}

/// [`run`] to `host`.
pub fn run_to(
    contender: &Contender,
    lab: &Lab,
    tools: &Tools,
    host: &str,
    runs: usize,
    cap: Duration,
) -> Result<Vec<Sample>, String> {
    match &contender.how {
        How::Rust(lib) => rust::run_in_child(*lib, lab, tools, host, runs, cap),
        How::EyeballsCli => external::eyeballs_cli(lab, tools, host, runs, cap),
        How::Curl { happy_eyeballs_ms } => external::curl(lab, *happy_eyeballs_ms, host, runs, cap),
        How::Python { mode, delay } => external::python(lab, tools, *mode, *delay, host, runs, cap),
    }
}

/// Removes proxy settings from a contender's environment: every connection goes straight to
/// the lab's addresses.
pub fn no_proxy(command: &mut Command) -> &mut Command {
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_rust_keys_round_trip() {
        let all = all();
        let mut keys: Vec<&str> = all.iter().map(|c| c.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
        for c in &all {
            assert_eq!(
                c.delay_ms.is_none(),
                c.delay.starts_with("none"),
                "{}",
                c.key
            );
            if let How::Rust(lib) = c.how {
                assert_eq!(RustLib::from_key(&lib.key()), Some(lib), "{}", c.key);
            }
        }
    }
}
