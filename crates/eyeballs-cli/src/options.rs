//! Options shared by every command that races: timing, families, DNS server, local addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Args;
use eyeballs::resolver::HickoryResolver;
use eyeballs::{Config, Connector, FamilyPreference};

use crate::duration;

/// How the race is run.
#[derive(Debug, Clone, Args)]
pub struct RaceOptions {
    /// IPv4 only: ask for A records and attempt IPv4 addresses only.
    #[arg(short = '4', conflicts_with = "ipv6_only")]
    pub ipv4_only: bool,

    /// IPv6 only: ask for AAAA records and attempt IPv6 addresses only.
    #[arg(short = '6')]
    pub ipv6_only: bool,

    /// Time between the starts of two attempts (Connection Attempt Delay, RFC 8305 §5).
    #[arg(long, value_name = "DUR", default_value = "250ms", value_parser = duration::parse)]
    pub attempt_delay: Duration,

    /// How long to wait for AAAA after A answered first (Resolution Delay, RFC 8305 §3).
    #[arg(long, value_name = "DUR", default_value = "50ms", value_parser = duration::parse)]
    pub resolution_delay: Duration,

    /// How many addresses of the first family go before the families alternate (RFC 8305 §4).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub family_count: u32,

    /// Give up on one attempt after this long and start the next (default: the OS's timeout).
    #[arg(long, value_name = "DUR", value_parser = duration::parse)]
    pub attempt_timeout: Option<Duration>,

    /// Give up on the whole race, resolution included, after this long (default: none).
    #[arg(long, value_name = "DUR", value_parser = duration::parse)]
    pub timeout: Option<Duration>,

    /// Bind each socket to this local address (repeatable; the first of the right family
    /// that binds is used).
    #[arg(long = "bind", value_name = "IP")]
    pub bind: Vec<IpAddr>,
}

/// A DNS server given as `IP` or `IP:PORT` (`[IPv6]:PORT`); port 53 by default.
pub fn parse_dns_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let ip = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    ip.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{text:?} is not an IP address or IP:PORT"))
}

impl RaceOptions {
    /// The engine configuration these options describe. The attempt delay is used as given
    /// (the minimum and maximum widen to include it), so `--attempt-delay 50ms` means 50 ms.
    pub fn config(&self) -> Config {
        let mut c = Config::default();
        c.resolution_delay = self.resolution_delay;
        c.connection_attempt_delay = self.attempt_delay;
        c.min_connection_attempt_delay = c.min_connection_attempt_delay.min(self.attempt_delay);
        c.max_connection_attempt_delay = c.max_connection_attempt_delay.max(self.attempt_delay);
        c.first_address_family_count = self.family_count as usize;
        c.attempt_timeout = self.attempt_timeout;
        c.overall_timeout = self.timeout;
        c.family = if self.ipv4_only {
            FamilyPreference::Ipv4Only
        } else if self.ipv6_only {
            FamilyPreference::Ipv6Only
        } else {
            FamilyPreference::PreferIpv6
        };
        c
    }

    /// A connector with these options, using the hickory resolver against `dns` if given,
    /// else the system resolver. Invalid values are refused when the race starts.
    pub fn connector(&self, dns: Option<SocketAddr>) -> Connector {
        let mut connector = Connector::with_config(self.config());
        if let Some(server) = dns {
            connector = connector.resolver(HickoryResolver::new([server]));
        }
        if !self.bind.is_empty() {
            connector = connector.local_addrs(self.bind.iter().copied());
        }
        connector
    }
}
