//! `eyeballs simulate`: the engine on virtual time, no sockets; the exact timeline at once.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{DnsResult, FailureKind, Outcome, RecordType, Target};

use crate::options::RaceOptions;
use crate::output::RaceView;
use crate::{duration, usage_error};

/// Simulate a race on virtual time: describe when each DNS answer comes and how each address
/// behaves, and get the exact timeline at once (no network, no sockets). Same timing options
/// and --json schema as `connect`. For teaching, bug reports and choosing delays.
///
/// DNS answers (--aaaa, --a): `IP[,IP...][@DUR]`, or `nodata`, `nxdomain`, `servfail`,
/// `timeout` (each optionally `@DUR`), or `never`. A record type not given answers NODATA at
/// once. Example: --aaaa 2001:db8::1@20ms --a 192.0.2.1,192.0.2.2@5ms
///
/// Address behaviour (--server IP=BEHAVIOR): `accept[:DUR]` (handshake completes after DUR,
/// default --handshake), `blackhole`, `refuse[:DUR]`, `unreachable[:DUR]`. Addresses not
/// named accept after --handshake. Example: --server 2001:db8::1=blackhole
///
/// Exit status: 0 connected, 1 could not connect, 2 usage error.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Host name (or IP literal) to connect to.
    pub host: String,

    /// TCP port.
    pub port: u16,

    /// The AAAA answer: `IP[,IP...][@DUR]`, `nodata|nxdomain|servfail|timeout[@DUR]` or `never`.
    #[arg(long, value_name = "ANSWER", value_parser = parse_answer)]
    pub aaaa: Option<Answer>,

    /// The A answer, in the same form as --aaaa.
    #[arg(long, value_name = "ANSWER", value_parser = parse_answer)]
    pub a: Option<Answer>,

    /// Pre-resolved address instead of DNS (repeatable).
    #[arg(long = "addr", value_name = "IP", conflicts_with_all = ["aaaa", "a"])]
    pub addrs: Vec<IpAddr>,

    /// How an address behaves: `IP=accept[:DUR]|blackhole|refuse[:DUR]|unreachable[:DUR]`
    /// (repeatable).
    #[arg(long = "server", value_name = "IP=BEHAVIOR", value_parser = parse_server)]
    pub servers: Vec<(IpAddr, Server)>,

    /// Handshake time of addresses that accept without a duration of their own.
    #[arg(long, value_name = "DUR", default_value = "10ms", value_parser = duration::parse)]
    pub handshake: Duration,

    /// Print one JSON object instead of the timeline.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub race: RaceOptions,
}

/// A scripted DNS answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This result, this long after the query.
    At(DnsResult, Duration),
    /// No answer ever.
    Never,
}

fn parse_answer(text: &str) -> Result<Answer, String> {
    if text == "never" {
        return Ok(Answer::Never);
    }
    let (what, at) = match text.split_once('@') {
        Some((what, at)) => (what, duration::parse(at)?),
        None => (text, Duration::ZERO),
    };
    let result = match what {
        "nodata" => DnsResult::NoData,
        "nxdomain" => DnsResult::NxDomain,
        "servfail" => DnsResult::ServFail,
        "timeout" => DnsResult::TimedOut,
        list => {
            let ips = list
                .split(',')
                .map(|ip| {
                    ip.trim().parse::<IpAddr>().map_err(|_| {
                        format!("{ip:?} is not an IP address (nor nodata, nxdomain, servfail, timeout, never)")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            DnsResult::addresses(ips)
        }
    };
    Ok(Answer::At(result, at))
}

/// How a simulated address behaves, as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Accepts after this long, or after --handshake.
    Accept(Option<Duration>),
    /// Any other behaviour.
    Fixed(Behavior),
}

fn parse_server(text: &str) -> Result<(IpAddr, Server), String> {
    let (ip, behavior) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: write IP=BEHAVIOR, like 2001:db8::1=blackhole"))?;
    let ip: IpAddr = ip
        .trim_matches(|c| c == '[' || c == ']')
        .parse()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    let (kind, after) = match behavior.split_once(':') {
        Some((kind, after)) => (kind, Some(duration::parse(after)?)),
        None => (behavior, None),
    };
    let server = match kind {
        "accept" => Server::Accept(after),
        "blackhole" => Server::Fixed(Behavior::BlackHole),
        "refuse" => Server::Fixed(Behavior::Fails(FailureKind::Refused, after.unwrap_or_default())),
        "unreachable" => Server::Fixed(Behavior::Fails(
            FailureKind::Unreachable,
            after.unwrap_or_default(),
        )),
        other => {
            return Err(format!(
                "unknown behaviour {other:?}: use accept[:DUR], blackhole, refuse[:DUR] or unreachable[:DUR]"
            ))
        }
    };
    Ok((ip, server))
}

impl SimulateArgs {
    fn scenario(&self) -> Result<Scenario, String> {
        let target = if self.addrs.is_empty() {
            Target::host(&self.host, self.port)
        } else {
            Target::addresses(self.addrs.iter().map(|&ip| SocketAddr::new(ip, self.port)))
        }
        .map_err(|e| e.to_string())?;
        let is_name = target.host_name().is_some();
        if is_name && self.aaaa.is_none() && self.a.is_none() {
            return Err(format!(
                "the simulator has no DNS: give --aaaa and/or --a answers for {}, or --addr",
                self.host
            ));
        }
        let mut scenario = Scenario::target(target)
            .config(self.race.config())
            .default_behavior(Behavior::Connects(self.handshake));
        for (record, answer) in [(RecordType::Aaaa, &self.aaaa), (RecordType::A, &self.a)] {
            match answer {
                Some(Answer::At(result, at)) => {
                    scenario = scenario.dns(record, *at, result.clone())
                }
                Some(Answer::Never) => {}
                None => scenario = scenario.dns(record, Duration::ZERO, DnsResult::NoData),
            }
        }
        for (ip, server) in &self.servers {
            let behavior = match *server {
                Server::Accept(after) => Behavior::Connects(after.unwrap_or(self.handshake)),
                Server::Fixed(behavior) => behavior,
            };
            scenario = scenario.behavior(&ip.to_string(), behavior);
        }
        Ok(scenario)
    }
}

pub fn run(args: SimulateArgs) -> ExitCode {
    let scenario = match args.scenario() {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let sim = match scenario.run() {
        Ok(sim) => sim,
        Err(e) => return usage_error(&e.to_string()),
    };
    let report = &sim.report;
    let error = match report.outcome {
        Some(Outcome::Connected { .. }) => None,
        Some(Outcome::Failed(why)) => Some(why.to_string()),
        None => {
            Some("the race waits forever: a query is never answered and no timeout is set".into())
        }
    };
    let view = RaceView {
        host: args.host.clone(),
        port: args.port,
        race: report,
        errors: vec![None; report.attempts.len()],
        error,
        origin: report.started,
    };
    view.emit(args.json, RaceView::timeline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert!(matches!(parse_answer("never"), Ok(Answer::Never)));
        assert!(matches!(
            parse_answer("nxdomain@10ms"),
            Ok(Answer::At(DnsResult::NxDomain, d)) if d == Duration::from_millis(10)
        ));
        match parse_answer("2001:db8::1, 2001:db8::2@1.5s") {
            Ok(Answer::At(DnsResult::Addresses(a), d)) => {
                assert_eq!(a.len(), 2);
                assert_eq!(d, Duration::from_millis(1500));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_answer("example.com").is_err());
        assert!(parse_answer("192.0.2.1@soon").is_err());
    }

    #[test]
    fn servers_parse() {
        assert_eq!(
            parse_server("2001:db8::1=blackhole"),
            Ok((
                "2001:db8::1".parse().unwrap(),
                Server::Fixed(Behavior::BlackHole)
            ))
        );
        assert_eq!(
            parse_server("192.0.2.1=refuse:3ms"),
            Ok((
                "192.0.2.1".parse().unwrap(),
                Server::Fixed(Behavior::refuses(Duration::from_millis(3)))
            ))
        );
        assert_eq!(
            parse_server("192.0.2.1=accept"),
            Ok(("192.0.2.1".parse().unwrap(), Server::Accept(None)))
        );
        assert!(parse_server("192.0.2.1").is_err());
        assert!(parse_server("192.0.2.1=explode").is_err());
        assert!(parse_server("nonsense=accept").is_err());
    }
}
