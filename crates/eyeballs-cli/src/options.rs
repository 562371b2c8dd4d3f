//! Options shared by every command that races: timing, families, DNS server, local addresses.
//!
//! Every default shown in `--help` is read from [`Config::default`] when the command runs,
//! so the CLI and the library cannot disagree about them.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use clap::Args;
use eyeballs::proto::{Network, Pref64};
use eyeballs::resolver::HickoryResolver;
use eyeballs::{Config, Connector, FamilyPreference};

use crate::duration::{self, Dur};

/// How the race is run.
#[derive(Debug, Clone, Args)]
pub struct RaceOptions {
    /// IPv4 only: ask for A records and attempt IPv4 addresses only (HE-2.2).
    #[arg(short = '4', conflicts_with = "ipv6_only")]
    pub ipv4_only: bool,

    /// IPv6 only: ask for AAAA records and attempt IPv6 addresses only (HE-2.2).
    #[arg(short = '6')]
    pub ipv6_only: bool,

    /// Time between the starts of two attempts (Connection Attempt Delay, RFC 8305 §5,
    /// HE-5.7). Used as given; the engine refuses less than 10 ms (HE-5.10).
    #[arg(long, value_name = "DUR", value_parser = Dur::parse,
          default_value_t = Dur(Config::default().connection_attempt_delay))]
    pub attempt_delay: Dur,

    /// How long to wait for AAAA after A answered first (Resolution Delay, RFC 8305 §3,
    /// HE-3.6).
    #[arg(long, value_name = "DUR", value_parser = Dur::parse,
          default_value_t = Dur(Config::default().resolution_delay))]
    pub resolution_delay: Dur,

    /// How many addresses of the first family go before the families alternate (First
    /// Address Family Count, RFC 8305 §4, HE-4.8).
    #[arg(long, value_name = "N", value_parser = parse_count,
          default_value_t = Config::default().first_address_family_count)]
    pub family_count: usize,

    /// Give up on one attempt after this long and start the next (default: none, the OS's
    /// connect timeout).
    #[arg(long, value_name = "DUR", value_parser = duration::parse)]
    pub attempt_timeout: Option<Duration>,

    /// Give up on the whole race, resolution included, after this long (default: none).
    #[arg(long, value_name = "DUR", value_parser = duration::parse)]
    pub timeout: Option<Duration>,

    /// Bind each socket to this local address (repeatable; the first of the destination's
    /// family that binds is used; a family with none fails at once).
    #[arg(long = "bind", value_name = "IP")]
    pub bind: Vec<IpAddr>,

    /// Bind each socket to this network interface (Linux SO_BINDTODEVICE; ignored
    /// elsewhere).
    #[arg(long, value_name = "NAME", value_parser = parse_interface)]
    pub interface: Option<String>,

    /// Remember nothing between races: no history store (by default the races of one
    /// command share one: a path that stalled no longer leads, RTTs order the rest and
    /// set the attempt delay; HE-4.3, HE-4.4, HE-5.8).
    #[arg(long)]
    pub no_history: bool,

    /// Also ask for the host's HTTPS records (RFC 9460; HEv3 §4.1, V3-4.1.2), waited for at
    /// most the Resolution Delay: their port, hints and target names make endpoints, grouped
    /// by priority (V3-5.2). Needs a resolver that answers them (--dns); the system resolver
    /// answers none.
    #[arg(long)]
    pub https_rr: bool,

    /// The ALPN protocol ids spoken (comma-separated, e.g. h2,http/1.1): an HTTPS record
    /// offering none of them is not used (V3-6.2.2). Default: every record is used.
    #[arg(long, value_name = "ID[,ID...]", value_delimiter = ',')]
    pub alpn: Vec<String>,

    /// A NAT64 prefix of the network (repeatable; e.g. 64:ff9b::/96, RFC 6052 lengths): with
    /// --no-ipv4-route, IPv4 literals and A records are reached through it (RFC 8305 §7,
    /// HEv3 §8).
    #[arg(long, value_name = "PREFIX/LEN", value_parser = parse_pref64)]
    pub nat64: Vec<Pref64>,

    /// The network has no IPv4 connectivity: no A query unless a NAT64 prefix is known, and
    /// IPv4 addresses are synthesized with it (V3-4.1.1, V3-8.x).
    #[arg(long, conflicts_with = "no_ipv6_route")]
    pub no_ipv4_route: bool,

    /// The network has no IPv6 connectivity: no AAAA query (V3-4.1.1).
    #[arg(long)]
    pub no_ipv6_route: bool,

    /// Detect the network before racing: the families with a route (V3-4.1.1) and, on an
    /// IPv6-only network, the NAT64 prefix from the resolver's answer for ipv4only.arpa
    /// (RFC 7050), kept for its DNS TTL and detected again 10 s before it runs out or when
    /// the network changes (R7050-7). Replaces --nat64, --no-ipv4-route and --no-ipv6-route.
    #[arg(long, visible_alias = "discover-nat64",
          conflicts_with_all = ["nat64", "no_ipv4_route", "no_ipv6_route"])]
    pub detect_network: bool,
}

/// A NAT64 prefix, `PREFIX/LEN` (RFC 6052: /32, /40, /48, /56, /64 or /96).
pub fn parse_pref64(text: &str) -> Result<Pref64, String> {
    let (prefix, len) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: write PREFIX/LEN, like 64:ff9b::/96"))?;
    let prefix = prefix
        .parse()
        .map_err(|_| format!("{prefix:?} is not an IPv6 address"))?;
    let len = len
        .parse()
        .map_err(|_| format!("{len:?} is not a prefix length"))?;
    Pref64::new(prefix, len).map_err(|e| format!("{text}: {e}"))
}

/// A count of at least 1.
fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

/// An interface name as the kernel takes it: not empty, shorter than IFNAMSIZ (16), no `/`,
/// whitespace or NUL.
fn parse_interface(text: &str) -> Result<String, String> {
    let bad = text.is_empty()
        || text.len() >= 16
        || text
            .chars()
            .any(|c| c == '/' || c == '\0' || c.is_whitespace());
    if bad {
        Err(format!(
            "{text:?} is not an interface name (1 to 15 characters, no '/' or spaces)"
        ))
    } else {
        Ok(text.to_owned())
    }
}

/// A DNS server given as `IP` or `IP:PORT` (`[IPv6]:PORT`); port 53 by default.
pub fn parse_dns_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let literal = eyeballs::proto::parse_ip_literal(text)
        .map_err(|e| format!("{text:?} is not an IP address or IP:PORT: {e}"))?;
    match (literal.ip, literal.scope_id()) {
        (IpAddr::V6(ip), Some(scope)) => Ok(SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope))),
        (_, None) if literal.zone.is_some() => Err(format!(
            "{text:?}: give the DNS server's zone as an interface index (fe80::1%2)"
        )),
        (ip, _) => Ok(SocketAddr::new(ip, 53)),
    }
}

/// Whether an ALPN id of `--alpn` is spoken over QUIC rather than TCP: HTTP/3 (`h3`) and its
/// drafts (`h3-29`). `connect --tls` and `simulate` race QUIC for these.
pub fn is_quic_alpn(id: &str) -> bool {
    id == "h3" || id.starts_with("h3-")
}

impl RaceOptions {
    /// The engine configuration these options describe: [`Config::default`] with each
    /// option given on the command line set. The attempt delay goes into
    /// `connection_attempt_delay` alone: the engine's rule decides how it relates to the
    /// minimum and maximum (HE-5.10, HE-5.11).
    pub fn config(&self) -> Config {
        let mut c = Config::default();
        c.resolution_delay = self.resolution_delay.0;
        c.connection_attempt_delay = self.attempt_delay.0;
        c.first_address_family_count = self.family_count;
        c.attempt_timeout = self.attempt_timeout;
        c.overall_timeout = self.timeout;
        if self.ipv4_only {
            c.family = FamilyPreference::Ipv4Only;
        } else if self.ipv6_only {
            c.family = FamilyPreference::Ipv6Only;
        }
        c.https_query = self.https_rr;
        c.alpn = self.alpn.clone();
        c.network = Network {
            ipv6: !self.no_ipv6_route,
            ipv4: !self.no_ipv4_route,
            pref64: self.nat64.clone(),
        };
        c
    }

    /// A connector with these options, using the hickory resolver against `dns` if given,
    /// else the system resolver. Invalid values are refused when the race starts.
    pub fn connector(&self, dns: Option<SocketAddr>) -> Connector {
        self.connector_with(self.config(), dns)
    }

    /// [`Self::connector`] with `config` (these options' [`Self::config`], changed further
    /// by the caller) in place of [`Self::config`].
    pub fn connector_with(&self, config: Config, dns: Option<SocketAddr>) -> Connector {
        let mut connector = Connector::with_config(config);
        if let Some(server) = dns {
            connector = connector.resolver(HickoryResolver::new([server]));
        }
        if !self.bind.is_empty() {
            connector = connector.local_addrs(self.bind.iter().copied());
        }
        if let Some(interface) = &self.interface {
            connector = connector.bind_device(interface.clone());
        }
        if self.no_history {
            connector = connector.without_history();
        }
        connector
    }
}
