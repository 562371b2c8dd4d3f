//! `eyeballs connect`: race a real connection and show what happened.

use std::io::{self, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use eyeballs::secure::SecureConnector;
use eyeballs::{Connector, ErrorKind};

use crate::options::{parse_dns_server, RaceOptions};
use crate::output::{live_line, report_of, use_color, RaceView, TlsFacts};
use crate::target::HostPort;

mod tls;
use crate::{exit, show_race, usage_error};

/// Race a connection to HOST PORT (or HOST:PORT, [IPv6]:PORT) and print the timeline: each
/// DNS query with when it was answered and what came back, each attempt with its address,
/// start, end and outcome, the winner and the total time. A failure is told once, on the
/// timeline's last line.
///
/// With --count N, N races run one after another and each is printed, then one line with the
/// minimum, median and maximum connect time of those that connected. They share one history
/// store (unless --no-history): after a first race that waited out a black-holed address, the
/// next ones lead with the path that worked, and the timeline marks what history knew
/// ("(history: recently stalled)").
///
/// On a terminal, each event is printed as it happens (marked `live`), then the timeline.
///
/// With --tls, an attempt counts as connected once its TLS handshake is done (HEv3
/// V3-6.1.3), and QUIC attempts race beside TCP ones (HEv3 §6) when --alpn offers h3 (tried
/// first, with no DNS record needed) or, with --https-rr, when a record advertises it; the
/// line under the verdict tells which ALPN was settled over which protocol and what each
/// attempt offered. Certificates are checked against --cacert (else the system's store) and
/// --servername (else HOST); verification cannot be turned off.
///
/// Exit status: 0 connected (every race, with --count), 1 could not connect, 2 usage error.
///
/// With --json, one object per race on its own line of stdout (and a failure's message on
/// stderr): {"host", "port", "outcome": "connected"|"failed", "elapsed_ms",
/// "winner": {"address", "port", "family": "ipv6"|"ipv4"} | null,
/// "dns": [{"query": "HTTPS"|"AAAA"|"A", "name": string | null, "started_ms", "answered_ms" | null,
/// "result": "ok"|"nodata"|"nxdomain"|"servfail"|"error"|"timeout"|"cancelled",
/// "addresses": [..]}], "attempts": [{"address", "port", "family", "started_ms", "ended_ms",
/// "outcome": "connected"|"refused"|"unreachable"|"timeout"|"aborted"|"error",
/// "error": string | null, "delay_ms", "history": {"failed", "srtt_ms", "rttvar_ms", "used"}
/// | null, "protocol": "tcp"|"quic", "service": {"priority", "target", "alpn", "port"} | null}],
/// "error": string | null, "cause": string | null, "dropped_endpoints": number,
/// "history_reordered": bool, "alpn": string | null}, each attempt also with "alpn": [ids
/// it offered] | null (null without --tls), and the race's "alpn" the one settled; times in milliseconds since the race started; "cause" is the
/// one classification of a failure ("refused", "timed_out", "no_such_name", …). No summary
/// object follows --count races.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub target: HostPort,

    /// Pre-resolved address to race instead of resolving HOST (repeatable; no DNS).
    #[arg(long = "addr", value_name = "IP")]
    pub addrs: Vec<IpAddr>,

    /// Resolve with this DNS server (hickory resolver, separate AAAA and A queries) instead
    /// of the system resolver.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_dns_server, conflicts_with = "addrs")]
    pub dns: Option<SocketAddr>,

    /// Run N races one after another, print each, then the min/median/max connect time.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub count: u32,

    /// Print one JSON object per race instead of the timeline.
    #[arg(long)]
    pub json: bool,

    /// Connected means TLS done (V3-6.1.3); with h3 offered (--alpn h3,h2) or advertised
    /// (--https-rr), QUIC attempts race TCP+TLS ones (HEv3 §6). --alpn defaults to
    /// h2,http/1.1 over TCP.
    #[arg(long)]
    pub tls: bool,

    /// Trust the certificates of this PEM file instead of the system's store (repeatable).
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cacert: Vec<std::path::PathBuf>,

    /// Check the certificate against NAME and send it in SNI, instead of HOST.
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub servername: Option<String>,

    #[command(flatten)]
    pub race: RaceOptions,
}

pub fn run(args: ConnectArgs) -> ExitCode {
    let (host, port) = match args.target.split() {
        Ok(hp) => hp,
        Err(e) => return usage_error(&e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return exit::failure(&format!("cannot start the async runtime: {e}")),
    };
    let mut connector = args.race.connector(args.dns);
    if args.race.detect_network {
        // Detected before the first race; with --count, kept for its TTL (R7050-7).
        connector = connector.auto_network();
    }
    if !args.json && io::stdout().is_terminal() {
        // On a terminal, each event as it happens (a race to black holes with no timeout
        // would otherwise sit silent until the OS gives up), then the final timeline.
        let color = use_color();
        connector = connector.on_event(move |entry| {
            let _ = writeln!(io::stdout(), "{}", live_line(entry, color));
        });
    }
    let racer = if args.tls {
        let tls = tls::TlsOptions {
            cacert: args.cacert.clone(),
            alpn: args.race.alpn.clone(),
            https_rr: args.race.https_rr,
        };
        match tls.connector(connector) {
            Ok(secure) => Racer::Secure(secure),
            Err(e) => return usage_error(&e),
        }
    } else {
        Racer::Plain(connector)
    };
    let mut times = Vec::new();
    let mut failed = 0;
    for i in 0..args.count {
        if i > 0 && !args.json {
            // A blank line between two races' timelines.
            let _ = writeln!(io::stdout());
        }
        match runtime.block_on(race(&racer, &args, &host, port)) {
            Ok(Some(elapsed)) => times.push(elapsed),
            Ok(None) => failed += 1,
            Err(code) => return code,
        }
    }
    if args.count > 1 && !args.json {
        let _ = writeln!(io::stdout(), "\n{}", summary(&mut times, failed));
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    }
}

/// What races: plain TCP, or TLS (and QUIC) with `--tls`.
enum Racer {
    Plain(Connector),
    Secure(SecureConnector),
}

/// Runs and prints one race: how long it took to connect, `None` if it failed, or the exit
/// status to stop with (invalid input: nothing was raced).
async fn race(
    racer: &Racer,
    args: &ConnectArgs,
    host: &str,
    port: u16,
) -> Result<Option<Duration>, ExitCode> {
    let origin = Instant::now();
    let addrs = args.addrs.iter().map(|&ip| SocketAddr::new(ip, port));
    let (result, tls) = match racer {
        Racer::Plain(connector) if args.addrs.is_empty() => {
            (report_of(connector.connect(host, port).await), None)
        }
        Racer::Plain(connector) => (report_of(connector.connect_addrs(addrs).await), None),
        Racer::Secure(secure) => {
            let name = args.servername.as_deref().unwrap_or(host);
            let result = if args.addrs.is_empty() {
                secure.connect_as(host, port, name).await
            } else {
                secure.connect_addrs(addrs, name).await
            };
            let negotiated = result.as_ref().ok().and_then(|c| c.stream().alpn());
            let negotiated = negotiated.map(|id| String::from_utf8_lossy(&id).into_owned());
            let result = report_of(result);
            let offered = match &result {
                Ok((report, _)) => report.attempts().map(|a| secure.offered_alpn(&a)).collect(),
                Err(_) => Vec::new(),
            };
            (
                result,
                Some(TlsFacts {
                    offered,
                    negotiated,
                }),
            )
        }
    };
    let (report, error) = match result {
        Ok(outcome) => outcome,
        Err(e) if e.kind() == ErrorKind::InvalidInput => return Err(usage_error(&e.to_string())),
        Err(e) => return Err(exit::failure(&e.to_string())),
    };
    let mut view = RaceView::of_driver(host.to_owned(), port, &report, error, origin);
    view.tls = tls;
    // The status is decided from `view.error`, over every race.
    let _ = show_race(&view, args.json, RaceView::timeline);
    let connected = view.error.is_none();
    let elapsed = view
        .race
        .finished
        .map_or(Duration::ZERO, |t| t.saturating_duration_since(origin));
    Ok(connected.then_some(elapsed))
}

/// The last line of `--count`: how many connected, and the min/median/max connect time.
fn summary(times: &mut [Duration], failed: usize) -> String {
    let races = times.len() + failed;
    let head = format!("{races} races: {} connected, {failed} failed", times.len());
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = match times.len() {
        0 => return format!("{head}; no connect time"),
        n if n % 2 == 1 => ms(times[n / 2]),
        n => (ms(times[n / 2 - 1]) + ms(times[n / 2])) / 2.0,
    };
    format!(
        "{head}; connect time min {:.1} ms, median {median:.1} ms, max {:.1} ms",
        ms(times[0]),
        ms(times[times.len() - 1]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_gives_min_median_max() {
        let ms = Duration::from_millis;
        assert_eq!(
            summary(&mut [ms(3), ms(1), ms(2)], 0),
            "3 races: 3 connected, 0 failed; connect time min 1.0 ms, median 2.0 ms, max 3.0 ms"
        );
        assert_eq!(
            summary(&mut [ms(4), ms(1)], 1),
            "3 races: 2 connected, 1 failed; connect time min 1.0 ms, median 2.5 ms, max 4.0 ms"
        );
        assert_eq!(
            summary(&mut [], 2),
            "2 races: 0 connected, 2 failed; no connect time"
        );
    }
}
