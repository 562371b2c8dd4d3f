//! `eyeballs connect`: race a real connection and show what happened.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use eyeballs::ErrorKind;

use crate::options::{parse_dns_server, RaceOptions};
use crate::output::{report_of, RaceView};
use crate::{exit, usage_error};

/// Race a connection to HOST PORT and print the timeline: each DNS query with when it was
/// answered and what came back, each attempt with its address, start, end and outcome, the
/// winner and the total time.
///
/// Exit status: 0 connected, 1 could not connect, 2 usage error.
///
/// With --json, one object on stdout: {"host", "port", "outcome": "connected"|"failed",
/// "elapsed_ms", "winner": {"address", "port", "family": "ipv6"|"ipv4"} | null,
/// "dns": [{"query": "AAAA"|"A", "started_ms", "answered_ms" | null,
/// "result": "ok"|"nodata"|"nxdomain"|"servfail"|"error"|"timeout"|"cancelled",
/// "addresses": [..]}], "attempts": [{"address", "port", "family", "started_ms", "ended_ms",
/// "outcome": "connected"|"refused"|"unreachable"|"timeout"|"aborted"|"error",
/// "error": string | null}], "error": string | null}; times in milliseconds since the race
/// started.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Host name or IP address to connect to.
    pub host: String,

    /// TCP port.
    pub port: u16,

    /// Pre-resolved address to race instead of resolving HOST (repeatable; no DNS).
    #[arg(long = "addr", value_name = "IP")]
    pub addrs: Vec<IpAddr>,

    /// Resolve with this DNS server (hickory resolver, separate AAAA and A queries) instead
    /// of the system resolver.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_dns_server, conflicts_with = "addrs")]
    pub dns: Option<SocketAddr>,

    /// Print one JSON object instead of the timeline.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub race: RaceOptions,
}

pub fn run(args: ConnectArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return exit::failure(&format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(race(args))
}

async fn race(args: ConnectArgs) -> ExitCode {
    let connector = args.race.connector(args.dns);
    let origin = Instant::now();
    let result = if args.addrs.is_empty() {
        connector.connect(&args.host, args.port).await
    } else {
        let addrs = args.addrs.iter().map(|&ip| SocketAddr::new(ip, args.port));
        connector.connect_addrs(addrs).await
    };
    let (report, error) = match report_of(result) {
        Ok(outcome) => outcome,
        Err(e) if e.kind() == ErrorKind::InvalidInput => return usage_error(&e.to_string()),
        Err(e) => return exit::failure(&e.to_string()),
    };
    RaceView::of_driver(args.host.clone(), args.port, &report, error, origin)
        .emit(args.json, RaceView::timeline)
}
