//! `eyeballs proxy`: a SOCKS5 and HTTP proxy whose every upstream connection is a Happy
//! Eyeballs race (and, through [`crate::run`], `eyeballs run -- CMD`).
//!
//! Modules, each depending only on those listed before it:
//!
//! - [`wire`]: length-prefixed reads shared by the handshakes.
//! - [`error`]: why a handshake ended ([`error::HandshakeError`]).
//! - [`log`]: the log, through `tracing` (text or JSON lines on stderr).
//! - [`limits`]: the file-descriptor budget and the per-address login throttle.
//! - [`idle`]: the idle timeout on relays.
//! - [`reply`]: SOCKS5 reply codes and a failed race's reply (from [`eyeballs::Cause`]).
//! - [`auth`]: the `--auth USER:PASS` credentials and RFC 1929 username/password.
//! - [`policy`]: the destination policy given to the connector (`--allow`, `--deny`).
//! - [`target`]: where a client wants to go, checked for what no race could use.
//! - [`socks5`]: RFC 1928 on the wire (greeting, request, reply).
//! - [`settings`]: what every client task shares.
//! - [`http`]: HTTP on the same port (forward proxy and CONNECT), through hyper.
//! - [`client`]: one client, from its first byte to the end of the relay.
//! - [`server`]: the listener, the client and handshake limits, the signals.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use eyeballs::proto::{IpNet, Rule, Verdict};

use crate::duration;
use crate::options::{parse_dns_server, RaceOptions};

mod auth;
mod client;
mod error;
mod gone;
mod http;
mod idle;
mod limits;
pub mod log;
pub mod policy;
mod reply;
mod server;
mod settings;
mod socks5;
mod target;
mod wire;

use auth::Credentials;
use log::{failure, LogFormat};
pub use server::Limits;
use settings::Settings;

/// Run a SOCKS5 and HTTP proxy whose every upstream connection is a Happy Eyeballs race, so
/// that any program gets fast IPv6/IPv4 fallback with no code change.
///
/// Point a program at it: `HTTP_PROXY=http://127.0.0.1:1080` and
/// `HTTPS_PROXY=http://127.0.0.1:1080` (requests, curl -x, pip, git, Go, reqwest),
/// `ALL_PROXY=socks5h://127.0.0.1:1080`, or `curl --socks5-hostname 127.0.0.1:1080 URL`.
/// Or let `eyeballs run -- CMD` do it all. With plain `socks5://` the program resolves the
/// name itself, one address, and there is nothing left to race: use `socks5h://` or HTTP.
/// Host names are resolved by the race (AAAA and A at once, --dns or the system resolver);
/// IP addresses are connected to as given.
///
/// One port serves both: SOCKS5 (first byte 0x05) and HTTP/1 (absolute-form requests such
/// as `GET http://host/path`, forwarded in origin-form with keep-alive on both sides, and
/// `CONNECT host:port` tunnels; --no-http turns HTTP off).
///
/// SOCKS5: RFC 1928 CONNECT only (BIND and UDP ASSOCIATE get "command not supported").
/// Replies: 0x00 connected (with the local address of the upstream socket); 0x01 general
/// failure; 0x02 not allowed (port 0, or an unspecified, multicast or broadcast address);
/// 0x03 / 0x04 / 0x05 every attempt failed with network unreachable / host unreachable /
/// connection refused; 0x04 also when the name is not a valid host name or resolves to
/// nothing; 0x06 (TTL expired) when --timeout ran out, or every attempt timed out; 0x07
/// command not supported; 0x08 address type not supported (also an IPv6 address with -4,
/// or IPv4 with -6). HTTP: 403 where SOCKS says 0x02, 504 where it says 0x06, 502 for every
/// other failed race; 400 for a request that is not a proxy request; 407 without the
/// --auth credentials.
///
/// Each race logs one line on stderr: client=ADDR target=HOST:PORT, then winner=ADDR, or
/// reply=CODE status=HTTP-STATUS cause=refused|network_unreachable|host_unreachable|
/// timed_out|no_such_name|no_addresses|invalid_input|other and error="...", elapsed_ms and
/// attempts. A handshake that fails logs why. --log-format json writes JSON lines instead.
///
/// Limits: at most --max-clients clients at once (handshake, race and relay); while all
/// are busy the proxy stops accepting and new clients wait in the kernel's listen backlog.
/// Of those, at most --max-handshakes are in their handshake: when all of these are busy, a
/// new client takes the slot of the oldest handshake, which is dropped (so clients that
/// connect and say nothing neither lock others out nor take the slots of relays). A relay in which nothing
/// moved either way for --idle-timeout is closed. Each race has at most
/// --max-attempts-in-flight connection attempts open at once. The file-descriptor limit is
/// raised to its hard limit at start, and the proxy refuses to start if --max-clients
/// clients cannot fit in it. Failed logins are answered after a delay that doubles with each
/// failure from the same address (0.25 s to 4 s). SIGINT or SIGTERM stops the proxy at once
/// (open relays are cut).
///
/// Destinations: every address is checked before it is attempted, IP literals and each
/// DNS answer alike (so a name that resolves to an internal address is refused as surely as
/// the literal): first the proxy's own listening endpoints (no loops; for 0.0.0.0 or [::],
/// every local address on its port), then --deny and --allow in the order given (the first
/// that matches decides), then the ranges denied by default: loopback (127.0.0.0/8, ::1;
/// open with --allow-loopback), unspecified (0.0.0.0/8, ::), link-local (169.254.0.0/16
/// with cloud metadata, fe80::/10), multicast and broadcast, also in their IPv4-mapped,
/// IPv4-compatible and NAT64 (64:ff9b::/96, 64:ff9b:1::/48) forms. A refusal gets SOCKS
/// reply 0x02 or HTTP 403 with the rule named, and one log line (cause=denied). Listening
/// on a non-loopback address without --auth prints a warning: anyone who reaches the port
/// can use the proxy.
///
/// Exit status: 0 stopped by a signal, 1 cannot listen (or the file-descriptor limit is
/// too low), 2 usage error.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Address and port to listen on, e.g. 127.0.0.1:1080 or [::1]:1080.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub options: ProxyOptions,
}

/// The longest timeout the proxy's own timers are set to (about 100 years): a longer one
/// (up to `Duration::MAX`, which the options accept) means "never" and would overflow a
/// deadline.
const MAX_TIMER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The proxy's options, shared by `eyeballs proxy` and `eyeballs run`.
#[derive(Debug, Args)]
pub struct ProxyOptions {
    /// Resolve host names with this DNS server (hickory resolver, separate AAAA and A
    /// queries) instead of the system resolver.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_dns_server)]
    pub dns: Option<SocketAddr>,

    /// Require these credentials: RFC 1929 username/password for SOCKS5, and
    /// `Proxy-Authorization: Basic` for HTTP; without it, no authentication. Sent in clear
    /// text, like any SOCKS5 or Basic password; visible to local users in the process list.
    #[arg(long, value_name = "USER:PASS", value_parser = Credentials::parse)]
    pub auth: Option<Credentials>,

    /// Serve at most N clients at once; more wait in the listen backlog until one leaves.
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_clients: u32,

    /// Of the clients served, at most N in their handshake (default: a quarter of
    /// --max-clients, at least 1 and at most 64); past that, a new client takes the slot of
    /// the oldest handshake, which is dropped.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_handshakes: Option<u32>,

    /// Drop a client that has not sent its whole greeting, authentication and request
    /// within this long of connecting (HTTP: each request head, and the wait for the next
    /// request on a kept-alive connection).
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = duration::parse)]
    pub handshake_timeout: Duration,

    /// Close a relay (or an HTTP connection) in which no byte moved either way for this
    /// long.
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = duration::parse)]
    pub idle_timeout: Duration,

    /// Open at most N connection attempts of one race at once (the library's
    /// max_attempts_in_flight): a name with 64 black-holed addresses holds N sockets, not
    /// 64. Attempts still start one at a time, an attempt delay apart (HE-5.1); past N, the
    /// next waits for one to end (a cap on HE-5.2's attempts in parallel).
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub max_attempts_in_flight: u16,

    /// Allow this network (CIDR, or one address; repeatable): opens part of a range denied
    /// by default or by a later --deny. Rules are checked in the order given, the first that
    /// matches decides; the proxy's own endpoints stay denied.
    #[arg(long, value_name = "CIDR", value_parser = policy::parse_net, action = clap::ArgAction::Append)]
    pub allow: Vec<IpNet>,

    /// Deny this network (CIDR, or one address; repeatable), e.g. --deny 10.0.0.0/8 for
    /// internal networks.
    #[arg(long, value_name = "CIDR", value_parser = policy::parse_net, action = clap::ArgAction::Append)]
    pub deny: Vec<IpNet>,

    /// Allow loopback destinations (127.0.0.0/8, ::1), denied by default: services on this
    /// host would be reachable to every client.
    #[arg(long)]
    pub allow_loopback: bool,

    /// The --allow and --deny rules in command-line order (filled from the matches by
    /// [`Self::take_rule_order`]; empty: every --allow, then every --deny).
    #[arg(skip)]
    pub rules: Vec<Rule>,

    /// Serve SOCKS5 only: no HTTP on the port.
    #[arg(long)]
    pub no_http: bool,

    /// HTTP CONNECT is on by default now (see --no-http); accepted for old command lines.
    #[arg(long, hide = true)]
    pub http_connect: bool,

    /// How log lines look: text (for people) or json (one object per line).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub race: RaceOptions,
}

impl ProxyOptions {
    /// Records the order of --allow and --deny from the subcommand's `matches`.
    pub fn take_rule_order(&mut self, matches: &clap::ArgMatches) {
        self.rules = policy::rules_in_order(matches);
    }

    /// The caller's rules, in the order they are checked.
    fn ordered_rules(&self) -> Vec<Rule> {
        if !self.rules.is_empty() || (self.allow.is_empty() && self.deny.is_empty()) {
            return self.rules.clone();
        }
        let rule = |verdict, net: &IpNet| Rule {
            verdict,
            net: *net,
            port: None,
        };
        self.allow
            .iter()
            .map(|net| rule(Verdict::Allow, net))
            .chain(self.deny.iter().map(|net| rule(Verdict::Deny, net)))
            .collect()
    }

    /// The shared settings and limits, checked; a usage error (status 2) if they are
    /// invalid, status 1 if the file-descriptor limit is too low.
    pub fn prepare(&self) -> Result<(Settings, Limits), ExitCode> {
        if self.handshake_timeout.is_zero() {
            return Err(crate::usage_error(
                "--handshake-timeout must be longer than 0",
            ));
        }
        if self.idle_timeout.is_zero() {
            return Err(crate::usage_error("--idle-timeout must be longer than 0"));
        }
        let mut config = self.race.config();
        config.max_attempts_in_flight = Some(usize::from(self.max_attempts_in_flight));
        if let Err(e) = config.validate() {
            return Err(crate::usage_error(&format!("invalid race options: {e}")));
        }
        if let Err(e) =
            limits::check_fd_budget(self.max_clients, usize::from(self.max_attempts_in_flight))
        {
            return Err(failure(format_args!("{e}")));
        }
        let settings = Settings {
            connector: self.race.connector_with(config, self.dns),
            auth: self.auth.clone(),
            throttle: limits::AuthThrottle::default(),
            handshake_timeout: self.handshake_timeout.min(MAX_TIMER),
            idle_timeout: self.idle_timeout.min(MAX_TIMER),
            http: !self.no_http,
        };
        // Both are at most 1,000,000 (clap's range): they fit any usize.
        let max_clients = usize::try_from(self.max_clients).unwrap_or(usize::MAX);
        let max_handshakes = match self.max_handshakes {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => (max_clients / 4).clamp(1, 64),
        }
        .min(max_clients);
        Ok((
            settings,
            Limits {
                max_clients,
                max_handshakes,
            },
        ))
    }

    /// Logs the "listening on" line, and the warning for an open proxy.
    fn announce(&self, local: SocketAddr, limits: Limits) {
        let auth = if self.auth.is_some() {
            "username/password"
        } else {
            "no authentication"
        };
        let http = if self.no_http { "" } else { " and HTTP" };
        let loopback = if self.allow_loopback {
            "loopback allowed"
        } else {
            "loopback denied"
        };
        log::log(format_args!(
            "listening on {local} (SOCKS5{http}, {auth}, at most {} clients, {} in their \
             handshake, {loopback}, {} rules of --allow/--deny)",
            limits.max_clients,
            limits.max_handshakes,
            self.ordered_rules().len()
        ));
        if let Some(warning) = open_proxy_warning(local, self.auth.is_some()) {
            log::warn(format_args!("{warning}"));
        }
    }
}

/// The warning for a proxy anyone may use: listening on a non-loopback address without
/// credentials.
fn open_proxy_warning(local: SocketAddr, auth: bool) -> Option<String> {
    if auth || local.ip().to_canonical().is_loopback() {
        return None;
    }
    Some(format!(
        "WARNING: listening on {local}, not a loopback address, without --auth: anyone who \
         can reach this port can use the proxy (to every destination the policy allows). \
         Listen on 127.0.0.1 or [::1], or set --auth USER:PASS."
    ))
}

/// Starts the async runtime the proxy runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| failure(format_args!("cannot start the async runtime: {e}")))
}

/// Binds a listener on `listen`, gives `settings`' connector the destination policy (its
/// own endpoint denied first), and announces it.
pub async fn listen(
    listen: SocketAddr,
    options: &ProxyOptions,
    settings: &mut Settings,
    limits: Limits,
) -> Result<tokio::net::TcpListener, ExitCode> {
    let listener = server::bind(listen).await?;
    let local = listener.local_addr().unwrap_or(listen);
    let own = policy::own_endpoints(local);
    let destinations = policy::build(&own, &options.ordered_rules(), options.allow_loopback);
    settings.connector = settings.connector.clone().destination_policy(destinations);
    if options.race.detect_network {
        // Detected before the first request, kept for the prefix's TTL and re-detected
        // before it runs out, forgotten when the network changes (R7050-7).
        settings.connector = settings.connector.clone().auto_network();
    }
    options.announce(local, limits);
    Ok(listener)
}

/// Serves on `listener` until `stop` gives the exit status.
pub async fn serve(
    listener: tokio::net::TcpListener,
    settings: Settings,
    limits: Limits,
    stop: impl std::future::Future<Output = ExitCode>,
) -> ExitCode {
    server::serve(listener, std::sync::Arc::new(settings), limits, stop).await
}

/// Runs the proxy until SIGINT or SIGTERM.
pub fn run(args: ProxyArgs) -> ExitCode {
    if args.listen.port() == 0 {
        return crate::usage_error(&format!(
            "--listen {}: give a port (clients must know where to connect)",
            args.listen
        ));
    }
    let (mut settings, limits) = match args.options.prepare() {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let code = runtime.block_on(async {
        // Before listening: a signal sent as soon as the proxy says it listens is caught.
        let signals = match server::Signals::new() {
            Ok(s) => s,
            Err(e) => return failure(format_args!("cannot handle SIGINT/SIGTERM: {e}")),
        };
        let listener = match listen(args.listen, &args.options, &mut settings, limits).await {
            Ok(l) => l,
            Err(code) => return code,
        };
        serve(listener, settings, limits, server::stopped_by(signals)).await
    });
    // In-flight relays (and any blocking DNS lookup) are dropped, not waited for.
    runtime.shutdown_background();
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_beyond_loopback_without_auth_is_warned_about() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        for open in [
            "0.0.0.0:1080",
            "[::]:1080",
            "192.0.2.1:1080",
            "[2001:db8::1]:1080",
        ] {
            let warning = open_proxy_warning(addr(open), false).unwrap();
            assert!(warning.starts_with("WARNING: listening on"), "{warning}");
            assert!(warning.contains("--auth"), "{warning}");
            assert_eq!(
                open_proxy_warning(addr(open), true),
                None,
                "{open} with --auth"
            );
        }
        for closed in [
            "127.0.0.1:1080",
            "127.1.2.3:1080",
            "[::1]:1080",
            "[::ffff:127.0.0.1]:1080",
        ] {
            assert_eq!(open_proxy_warning(addr(closed), false), None, "{closed}");
        }
    }
}
