//! `eyeballs proxy`: a SOCKS5 proxy (and, optionally, HTTP CONNECT) whose every upstream
//! connection is a Happy Eyeballs race.
//!
//! Modules, each depending only on those listed before it:
//!
//! - [`wire`]: length-prefixed reads shared by the handshakes.
//! - [`error`]: why a handshake ended ([`error::HandshakeError`]).
//! - [`log`]: the one-line log on stderr.
//! - [`reply`]: SOCKS5 reply codes and a failed race's reply (from [`eyeballs::Cause`]).
//! - [`auth`]: the `--auth USER:PASS` credentials and RFC 1929 username/password.
//! - [`target`]: where a client wants to go and the proxy's policy on it.
//! - [`socks5`]: RFC 1928 on the wire (greeting, request, reply).
//! - [`http`]: HTTP CONNECT on the same port (`--http-connect`).
//! - [`settings`]: what every client task shares.
//! - [`client`]: one client, from its first byte to the end of the relay.
//! - [`server`]: the listener, the client limit and the signals.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::duration;
use crate::options::{parse_dns_server, RaceOptions};

mod auth;
mod client;
mod error;
mod http;
mod log;
mod reply;
mod server;
mod settings;
mod socks5;
mod target;
mod wire;

use auth::Credentials;
use log::failure;
use settings::Settings;

/// Run a SOCKS5 proxy whose every upstream connection is a Happy Eyeballs race, so that any
/// program gets fast IPv6/IPv4 fallback with no code change.
///
/// Point a program at it: `curl --socks5-hostname 127.0.0.1:1080 URL`, or
/// `ALL_PROXY=socks5h://127.0.0.1:1080` for programs that read it (Python requests needs
/// `socks5h://` too: with plain `socks5://` the program resolves the name itself, one
/// address, and there is nothing left to race). Host names are resolved by the race (AAAA
/// and A at once, --dns or the system resolver); IP addresses are connected to as given.
///
/// RFC 1928 CONNECT only (BIND and UDP ASSOCIATE get "command not supported"). Replies:
/// 0x00 connected (with the local address of the upstream socket); 0x01 general failure;
/// 0x02 not allowed (port 0, or an unspecified, multicast or broadcast address); 0x03 /
/// 0x04 / 0x05 every attempt failed with network unreachable / host unreachable /
/// connection refused; 0x04 also when the name is not a valid host name or resolves to
/// nothing; 0x06 (TTL expired) when --timeout ran out, or every attempt timed out; 0x07
/// command not supported; 0x08 address type not supported (also an IPv6 address with -4,
/// or IPv4 with -6).
///
/// Each race logs one line on stderr: client=ADDR target=HOST:PORT, then winner=ADDR or
/// reply=CODE, cause=refused|network_unreachable|host_unreachable|timed_out|no_such_name|
/// no_addresses|invalid_input|other and error="...", elapsed_ms and attempts. A handshake that fails logs why.
///
/// At most --max-clients clients are served at once (handshake, race and relay); while all
/// are busy the proxy stops accepting and new clients wait in the kernel's listen backlog
/// until one leaves. SIGINT or SIGTERM stops the proxy at once (open relays are cut).
///
/// The proxy does not restrict destinations (loopback addresses included): listen on a
/// loopback address, or require --auth.
///
/// Exit status: 0 stopped by a signal, 1 cannot listen, 2 usage error.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Address and port to listen on, e.g. 127.0.0.1:1080 or [::1]:1080.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,

    /// Resolve host names with this DNS server (hickory resolver, separate AAAA and A
    /// queries) instead of the system resolver.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_dns_server)]
    pub dns: Option<SocketAddr>,

    /// Require RFC 1929 username/password authentication with these credentials (and HTTP
    /// Basic for --http-connect); without it, clients must offer "no authentication".
    /// Sent in clear text, like any SOCKS5 password; visible to local users in the process
    /// list.
    #[arg(long, value_name = "USER:PASS", value_parser = Credentials::parse)]
    pub auth: Option<Credentials>,

    /// Serve at most N clients at once; more wait in the listen backlog until one leaves.
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_clients: u32,

    /// Drop a client that has not sent its whole greeting, authentication and request
    /// within this long of connecting.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = duration::parse)]
    pub handshake_timeout: Duration,

    /// Also accept HTTP CONNECT requests on the same port (`curl -p -x http://ADDR:PORT`,
    /// HTTPS_PROXY=http://ADDR:PORT): 200 once connected, 502 / 504 / 403 on failure.
    #[arg(long)]
    pub http_connect: bool,

    #[command(flatten)]
    pub race: RaceOptions,
}

/// Runs the proxy until SIGINT or SIGTERM.
pub fn run(args: ProxyArgs) -> ExitCode {
    if args.listen.port() == 0 {
        return crate::usage_error(&format!(
            "--listen {}: give a port (clients must know where to connect)",
            args.listen
        ));
    }
    if args.handshake_timeout.is_zero() {
        return crate::usage_error("--handshake-timeout must be longer than 0");
    }
    if let Err(e) = args.race.config().validate() {
        return crate::usage_error(&format!("invalid race options: {e}"));
    }
    let settings = Settings {
        connector: args.race.connector(args.dns),
        auth: args.auth,
        handshake_timeout: args.handshake_timeout,
        http_connect: args.http_connect,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return failure(format_args!("cannot start the async runtime: {e}")),
    };
    // `max_clients` is at most 1,000,000 (clap's range): it fits any usize.
    let max_clients = usize::try_from(args.max_clients).unwrap_or(usize::MAX);
    let code = runtime.block_on(server::serve(args.listen, settings, max_clients));
    // In-flight relays (and any blocking DNS lookup) are dropped, not waited for.
    runtime.shutdown_background();
    code
}
