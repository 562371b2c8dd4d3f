//! `eyeballs simulate`: the engine on virtual time, no sockets; the exact timeline at once.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use eyeballs_proto::sim::{Behavior, Scenario};
use eyeballs_proto::{
    Destination, DnsResult, Endpoint, FailureKind, Family, History, Outcome, PathFacts, Protocol,
    RecordType, Report, SourceAddr, Target,
};
use serde_json::Value;

use crate::duration::{self, Dur};
use crate::facts::parse_history;
use crate::options::{is_quic_alpn, RaceOptions};
use crate::output::{use_color, RaceView};
use crate::svcb::{self, parse_https, HttpsArg};
use crate::target::HostPort;
use crate::{exit, usage_error};

/// Simulate a race on virtual time: describe when each DNS answer comes and how each address
/// behaves, and get the exact timeline at once (no network, no sockets). Same timing options
/// and --json schema as `connect`. For teaching, bug reports and choosing delays.
///
/// DNS answers (--aaaa, --a): `IP[,IP...][@DUR]`, or `nodata`, `nxdomain`, `servfail`,
/// `timeout` (each optionally `@DUR`), or `never`. A record type not given answers NODATA at
/// once. Example: --aaaa 2001:db8::1@20ms --a 192.0.2.1,192.0.2.2@5ms
///
/// Address behaviour (--server IP=BEHAVIOR): `accept[:DUR]` (handshake completes after DUR,
/// default --handshake), `blackhole`, `refuse[:DUR]`, `unreachable[:DUR]`; `quic://IP=` or
/// `tcp://IP=` for one protocol (UDP blocked: --server quic://2001:db8::1=blackhole).
/// Addresses not named accept after --handshake. Example: --server 2001:db8::1=blackhole
///
/// QUIC: ids h3 and h3-* of --alpn are spoken over QUIC, so the --https records that offer
/// them give QUIC endpoints too, raced against TCP as `connect --tls` races them.
///
/// Text that does not parse, an address of the wrong family for its record type, and a
/// --server address that no answer or --addr gives are usage errors.
///
/// --bind is honoured as `connect` honours it: each destination's source address (RFC 6724
/// sorting) is the first --bind address of its family, and an attempt to a family with no
/// --bind address fails at once. --interface has no meaning here and is refused.
///
/// A race that would wait forever (an attempt or a query that never ends, and no timeout)
/// stops where nothing more can happen: what is still in flight is called "pending" (in the
/// --json "outcome" of an attempt and "result" of a query) and the message says what it
/// waits for. Its elapsed time is that of the last event.
///
/// Exit status: 0 connected, 1 could not connect, 2 usage error.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub target: HostPort,

    /// The AAAA answer: `IP[,IP...][@DUR]`, `nodata|nxdomain|servfail|timeout[@DUR]` or `never`.
    #[arg(long, value_name = "ANSWER", value_parser = parse_aaaa)]
    pub aaaa: Option<Answer>,

    /// The A answer, in the same form as --aaaa.
    #[arg(long, value_name = "ANSWER", value_parser = parse_a)]
    pub a: Option<Answer>,

    /// Pre-resolved address instead of DNS (repeatable).
    #[arg(long = "addr", value_name = "IP", conflicts_with_all = ["aaaa", "a"])]
    pub addrs: Vec<IpAddr>,

    /// How an address behaves: `IP=accept[:DUR]|blackhole|refuse[:DUR]|unreachable[:DUR]`
    /// (repeatable, once per address).
    #[arg(long = "server", value_name = "[quic://|tcp://]IP=BEHAVIOR", value_parser = parse_server)]
    pub servers: Vec<(Option<Protocol>, IpAddr, Server)>,

    /// What history knows about an address when the race starts:
    /// `[quic://]IP=FACT[,FACT...]` (its TCP endpoint, or with `quic://` its QUIC one: kept
    /// apart, V3-6.5), FACT being `stalled|refused|unreachable|timeout` (a recent failure:
    /// tried after every usable endpoint), `rtt:SRTT[/RTTVAR]` (RTT estimate: sorts lower
    /// first, HE-4.3, and sets the attempt delay to its RTO, clamped, HE-5.8) or `used` (won
    /// the host's last race, HE-4.4). Repeatable, once per endpoint. Example:
    /// --history 2001:db8::1=stalled --history 192.0.2.1=rtt:20ms/5ms
    #[arg(long = "history", value_name = "[quic://]IP=FACTS", value_parser = parse_history)]
    pub history: Vec<(Protocol, IpAddr, PathFacts)>,

    /// An HTTPS record of the answer to the HTTPS query (RFC 9460; sends one, as
    /// --https-rr): `PRIORITY TARGET [alpn=ID,ID] [no-default-alpn] [port=N]
    /// [ipv4hint=IP,IP] [ipv6hint=IP,IP][@DUR]` (priority 0: AliasMode; TARGET `.`: the
    /// host), repeatable (the answer comes at the latest @DUR), or
    /// `nodata|nxdomain|servfail|timeout[@DUR]`. Address queries of other target names are
    /// never answered here: their hints stand. Example: --https "1 . alpn=h2 port=8443
    /// ipv6hint=2001:db8::5@10ms"
    #[arg(long = "https", value_name = "RECORD", value_parser = parse_https)]
    pub https: Vec<HttpsArg>,

    /// Handshake time of addresses that accept without a duration of their own.
    #[arg(long, value_name = "DUR", default_value = "10ms", value_parser = Dur::parse)]
    pub handshake: Dur,

    /// Print one JSON object instead of the timeline.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub race: RaceOptions,
}

/// A scripted DNS answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// These addresses, this long after the query.
    Addresses(Vec<IpAddr>, Duration),
    /// This negative result, this long after the query.
    At(DnsResult, Duration),
    /// No answer ever.
    Never,
}

impl Answer {
    fn addresses(&self) -> &[IpAddr] {
        match self {
            Answer::Addresses(ips, _) => ips,
            _ => &[],
        }
    }
}

fn parse_aaaa(text: &str) -> Result<Answer, String> {
    parse_answer(text, Family::V6)
}

fn parse_a(text: &str) -> Result<Answer, String> {
    parse_answer(text, Family::V4)
}

/// An answer of a query for `family`'s record type.
fn parse_answer(text: &str, family: Family) -> Result<Answer, String> {
    if text == "never" {
        return Ok(Answer::Never);
    }
    let (what, at) = match text.split_once('@') {
        Some(("never", _)) => return Err("\"never\" takes no @DUR: it is never".into()),
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
                .map(|ip| parse_answer_ip(ip.trim(), family))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Answer::Addresses(ips, at));
        }
    };
    Ok(Answer::At(result, at))
}

/// One address of an answer: an IP literal of the query's family.
fn parse_answer_ip(text: &str, family: Family) -> Result<IpAddr, String> {
    let ip = text.parse::<IpAddr>().map_err(|_| {
        format!("{text:?} is not an IP address (nor nodata, nxdomain, servfail, timeout, never)")
    })?;
    if Family::of(ip.to_canonical()) == family {
        return Ok(ip);
    }
    Err(match family {
        Family::V6 => format!("{text:?} is an IPv4 address: give it in the A answer (--a)"),
        Family::V4 => format!("{text:?} is an IPv6 address: give it in the AAAA answer (--aaaa)"),
    })
}

/// How a simulated address behaves, as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Accepts after this long, or after --handshake.
    Accept(Option<Duration>),
    /// Any other behaviour.
    Fixed(Behavior),
}

fn parse_server(text: &str) -> Result<(Option<Protocol>, IpAddr, Server), String> {
    let (protocol, text) = match text.split_once("://") {
        Some(("quic", rest)) => (Some(Protocol::Quic), rest),
        Some(("tcp", rest)) => (Some(Protocol::Tcp), rest),
        Some((other, _)) => return Err(format!("{other:?}: the protocol is quic:// or tcp://")),
        None => (None, text),
    };
    let (ip, behavior) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: write IP=BEHAVIOR, like 2001:db8::1=blackhole"))?;
    let literal = eyeballs_proto::parse_ip_literal(ip).map_err(|e| format!("{ip:?}: {e}"))?;
    if literal.zone.is_some() {
        return Err(format!("{ip:?}: zone ids are not simulated"));
    }
    // The engine treats an IPv4-mapped IPv6 address as the IPv4 address it maps.
    let ip = literal.ip.to_canonical();
    let (kind, after) = match behavior.split_once(':') {
        Some((kind, after)) => (kind, Some(duration::parse(after)?)),
        None => (behavior, None),
    };
    let server = match (kind, after) {
        ("accept", after) => Server::Accept(after),
        ("blackhole", None) => Server::Fixed(Behavior::BlackHole),
        ("blackhole", Some(_)) => {
            return Err("blackhole takes no :DUR: nothing ever comes back".into())
        }
        ("refuse", after) => Server::Fixed(Behavior::refuses(after.unwrap_or_default())),
        ("unreachable", after) => Server::Fixed(Behavior::unreachable(after.unwrap_or_default())),
        (other, _) => {
            return Err(format!(
                "unknown behaviour {other:?}: use accept[:DUR], blackhole, refuse[:DUR] or unreachable[:DUR]"
            ))
        }
    };
    Ok((protocol, ip, server))
}

/// A scenario ready to run, with what the view needs to know about it.
#[derive(Debug)]
struct Plan {
    scenario: Scenario,
    /// Addresses whose attempts fail at once because no --bind address has their family.
    unbound: Vec<IpAddr>,
}

/// Each address `flag` names is one the race can try (in `ips`), and is named once.
fn check_named(
    flag: &str,
    named: impl Iterator<Item = IpAddr>,
    ips: &[IpAddr],
) -> Result<(), String> {
    let mut seen = Vec::new();
    for ip in named {
        if !ips.contains(&ip) {
            return Err(format!(
                "{flag} {ip}: no answer or --addr gives {ip}, so it is never tried"
            ));
        }
        if seen.contains(&ip) {
            return Err(format!("{flag} {ip} is given twice"));
        }
        seen.push(ip);
    }
    Ok(())
}

impl SimulateArgs {
    fn plan(&self, host: &str, port: u16) -> Result<Plan, String> {
        if self.race.detect_network {
            return Err(
                "--detect-network: the simulator has no network; describe it with --nat64, \
                 --no-ipv4-route and --no-ipv6-route"
                    .into(),
            );
        }
        if let Some(interface) = &self.race.interface {
            return Err(format!(
                "--interface {interface}: the simulator has no network interfaces"
            ));
        }
        let mut target = if self.addrs.is_empty() {
            Target::host(host, port)
        } else {
            Target::addresses(self.addrs.iter().map(|&ip| SocketAddr::new(ip, port)))
        }
        .map_err(|e| e.to_string())?;
        let is_name = target.host_name().is_some();
        let https = svcb::answer(&self.https)?;
        if https.is_some() && !is_name {
            return Err(format!(
                "{host} is an IP address (or --addr is given): no HTTPS query is sent, so --https cannot apply"
            ));
        }
        if https.is_some() || self.race.https_rr {
            target = target.with_https();
        }
        if is_name && self.aaaa.is_none() && self.a.is_none() {
            return Err(format!(
                "the simulator has no DNS: give --aaaa and/or --a answers for {host}, or --addr"
            ));
        }
        if !is_name && self.addrs.is_empty() && (self.aaaa.is_some() || self.a.is_some()) {
            return Err(format!(
                "{host} is an IP address: no DNS query is sent, so --aaaa and --a cannot apply"
            ));
        }
        if self.race.ipv4_only && self.aaaa.is_some() {
            return Err("--aaaa with -4: no AAAA query is sent".into());
        }
        if self.race.ipv6_only && self.a.is_some() {
            return Err("--a with -6: no A query is sent".into());
        }
        // Every address the race can try: the answers', or the target's own.
        let mut ips: Vec<IpAddr> = target.ips();
        for answer in [&self.aaaa, &self.a].into_iter().flatten() {
            ips.extend(answer.addresses());
        }
        for arg in &self.https {
            if let HttpsArg::Record(record, _) = arg {
                ips.extend(record.ipv6_hints.iter().map(|&ip| IpAddr::V6(ip)));
                ips.extend(record.ipv4_hints.iter().map(|&ip| IpAddr::V4(ip)));
            }
        }
        let ips: Vec<IpAddr> = ips.into_iter().map(|ip| ip.to_canonical()).collect();
        check_named("--history", self.history.iter().map(|h| h.1), &ips)?;
        check_named("--server", self.servers.iter().map(|s| s.1), &ips)?;
        // --bind, as the driver applies it: the source of each destination, and no attempt
        // to a family with no local address.
        let bound = |ip: IpAddr| -> Option<Option<IpAddr>> {
            if self.race.bind.is_empty() {
                return None; // Not binding: the OS chooses (unknown here).
            }
            let family = Family::of(ip);
            Some(
                self.race
                    .bind
                    .iter()
                    .map(|b| b.to_canonical())
                    .find(|b| Family::of(*b) == family),
            )
        };
        let source = |ip: IpAddr| match bound(ip) {
            Some(Some(local)) => SourceAddr::Addr(local),
            _ => SourceAddr::Unknown,
        };
        for ip in target.ips() {
            target = target.with_source(ip, source(ip.to_canonical()));
        }
        let unbound: Vec<IpAddr> = ips
            .iter()
            .copied()
            .filter(|&ip| bound(ip) == Some(None))
            .collect();

        let handshake = self.handshake.0;
        let history = self
            .history
            .iter()
            .map(|&(protocol, ip, facts)| {
                let addr = SocketAddr::new(ip, port);
                (Endpoint { addr, protocol }, facts)
            })
            .collect::<History>();
        // QUIC ids of --alpn make QUIC endpoints of the --https records that offer them.
        let mut config = self.race.config();
        let (quic, tcp): (Vec<String>, Vec<String>) =
            config.alpn.drain(..).partition(|id| is_quic_alpn(id));
        (config.alpn, config.quic_alpn) = (tcp, quic);
        let mut scenario = Scenario::target(target)
            .config(config)
            .history(history)
            .default_behavior(Behavior::Connects(handshake));
        if let Some((result, at)) = https {
            scenario = scenario.dns(RecordType::Https, at, result);
        }
        for (record, answer) in [(RecordType::Aaaa, &self.aaaa), (RecordType::A, &self.a)] {
            match answer {
                Some(Answer::Addresses(ips, at)) => {
                    let destinations = ips
                        .iter()
                        .map(|&ip| Destination::with_source(ip, source(ip.to_canonical())))
                        .collect();
                    scenario = scenario.dns(record, *at, DnsResult::Addresses(destinations));
                }
                Some(Answer::At(result, at)) => {
                    scenario = scenario.dns(record, *at, result.clone())
                }
                Some(Answer::Never) => {}
                None => scenario = scenario.dns(record, Duration::ZERO, DnsResult::NoData),
            }
        }
        // The first behaviour given for an address wins: a failed bind comes before the
        // handshake.
        for ip in &unbound {
            let fails = Behavior::Fails(FailureKind::Other, Duration::ZERO);
            scenario = scenario.behavior(&ip.to_string(), fails);
        }
        for (protocol, ip, server) in &self.servers {
            let behavior = match *server {
                Server::Accept(after) => Behavior::Connects(after.unwrap_or(handshake)),
                Server::Fixed(behavior) => behavior,
            };
            let scheme = match protocol {
                Some(Protocol::Quic) => "quic://",
                Some(_) => "tcp://",
                None => "",
            };
            scenario = scenario.behavior(&format!("{scheme}{ip}"), behavior);
        }
        Ok(Plan { scenario, unbound })
    }
}

pub fn run(args: SimulateArgs) -> ExitCode {
    let (host, port) = match args.target.split() {
        Ok(hp) => hp,
        Err(e) => return usage_error(&e),
    };
    let plan = match args.plan(&host, port) {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    let sim = match plan.scenario.run() {
        Ok(sim) => sim,
        Err(e) => return usage_error(&e.to_string()),
    };
    let mut report = sim.report;
    let error = match report.outcome {
        Some(Outcome::Connected { .. }) => None,
        Some(Outcome::Failed(why)) => Some(why.to_string()),
        None => {
            // The race waits for what never comes: it is shown up to its last event.
            report.finished = Some(last_event(&report));
            Some(stuck(&report))
        }
    };
    let errors = report
        .attempts
        .iter()
        .map(|a| {
            let ip = a.endpoint.addr.ip();
            plan.unbound.contains(&ip).then(|| {
                format!(
                    "no local address of the family of {} to bind to (--bind)",
                    a.endpoint.addr
                )
            })
        })
        .collect();
    let view = RaceView {
        host,
        port,
        race: &report,
        errors,
        error,
        origin: report.started,
        tls: None,
    };
    let mut out = io::stdout().lock();
    let printed = if args.json {
        writeln!(out, "{}", json(&view))
    } else {
        view.print_text(&mut out, use_color())
    };
    // A closed stdout (a pipe into `head`) is not the race's failure.
    let _ = printed.and_then(|()| out.flush());
    match &view.error {
        None => ExitCode::SUCCESS,
        // The JSON is for programs: the message goes to stderr too. The timeline's last line
        // already tells it.
        Some(e) if args.json => exit::failure(e),
        Some(_) => ExitCode::from(exit::FAILED),
    }
}

/// The `connect --json` object, with "pending" for what is still in flight in a race that
/// waits forever (which only a simulation can show: a real race is still running).
fn json(view: &RaceView<'_>) -> Value {
    let mut v = view.json();
    for (i, a) in view.race.attempts.iter().enumerate() {
        if a.end.is_none() {
            v["attempts"][i]["outcome"] = "pending".into();
        }
    }
    for (i, q) in view.race.queries.iter().enumerate() {
        if q.outcome.is_none() {
            v["dns"][i]["result"] = "pending".into();
        }
    }
    v
}

/// When the last thing happened in a race.
fn last_event(report: &Report) -> Instant {
    report
        .timeline()
        .last()
        .map_or(report.started, |&(at, _)| report.started + at)
}

/// Why a race has no outcome: what it still waits for.
fn stuck(report: &Report) -> String {
    let mut waits = Vec::new();
    let queries: Vec<String> = report
        .queries
        .iter()
        .filter(|q| q.outcome.is_none())
        .map(|q| q.record.to_string())
        .collect();
    match queries.as_slice() {
        [] => {}
        [one] => waits.push(format!("the {one} query is never answered")),
        many => waits.push(format!(
            "the {} queries are never answered",
            many.join(" and ")
        )),
    }
    let attempts: Vec<String> = report
        .attempts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.end.is_none())
        .map(|(i, a)| format!("#{i} to {}", a.endpoint))
        .collect();
    match attempts.as_slice() {
        [] => {}
        [one] => waits.push(format!("attempt {one} never completes")),
        many => waits.push(format!("attempts {} never complete", many.join(", "))),
    }
    if waits.is_empty() {
        return "the race stopped with no outcome and nothing in flight".into();
    }
    let timeouts = if attempts.is_empty() {
        "--timeout"
    } else {
        "--timeout or --attempt-timeout"
    };
    format!(
        "from here the race waits forever: {}, and no timeout ends the wait ({timeouts})",
        waits.join(", and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert!(matches!(parse_aaaa("never"), Ok(Answer::Never)));
        assert!(matches!(
            parse_aaaa("nxdomain@10ms"),
            Ok(Answer::At(DnsResult::NxDomain, d)) if d == Duration::from_millis(10)
        ));
        match parse_aaaa("2001:db8::1, 2001:db8::2@1.5s") {
            Ok(Answer::Addresses(a, d)) => {
                assert_eq!(a.len(), 2);
                assert_eq!(d, Duration::from_millis(1500));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_a("192.0.2.1"), Ok(Answer::Addresses(..))));
        for bad in [
            "example.com",
            "192.0.2.1@soon",
            "192.0.2.1",
            "::ffff:192.0.2.1",
            "never@5ms",
            "",
            "2001:db8::1,",
            "2001:db8::1@",
            "nodata@1e30s",
        ] {
            assert!(parse_aaaa(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_a("2001:db8::1").is_err());
    }

    #[test]
    fn servers_parse() {
        assert_eq!(
            parse_server("2001:db8::1=blackhole"),
            Ok((
                None,
                "2001:db8::1".parse().unwrap(),
                Server::Fixed(Behavior::BlackHole)
            ))
        );
        assert_eq!(
            parse_server("quic://[2001:db8::1]=blackhole"),
            Ok((
                Some(Protocol::Quic),
                "2001:db8::1".parse().unwrap(),
                Server::Fixed(Behavior::BlackHole)
            ))
        );
        assert_eq!(
            parse_server("tcp://192.0.2.1=refuse:3ms"),
            Ok((
                Some(Protocol::Tcp),
                "192.0.2.1".parse().unwrap(),
                Server::Fixed(Behavior::refuses(Duration::from_millis(3)))
            ))
        );
        assert_eq!(
            parse_server("::ffff:192.0.2.1=accept"),
            Ok((None, "192.0.2.1".parse().unwrap(), Server::Accept(None)))
        );
        for bad in [
            "192.0.2.1",
            "udp://192.0.2.1=blackhole",
            "192.0.2.1=explode",
            "nonsense=accept",
            "192.0.2.1=blackhole:5ms",
            "192.0.2.1=accept:",
            "192.0.2.1=refuse:5ms:6ms",
            "192.0.2.1:443=refuse",
        ] {
            assert!(parse_server(bad).is_err(), "{bad:?} accepted");
        }
    }
}
