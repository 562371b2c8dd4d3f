//! The engine's configuration: every delay, timeout and limit, with its default and source.

use std::fmt;
use std::time::Duration;

use crate::endpoint::Family;
use crate::network::Network;
use crate::policy::DestinationPolicy;
use crate::rfc6724::PolicyTable;

/// The hard floor between two attempt starts: no attempt ever starts within 10 ms of the
/// previous one, whatever the configuration and whatever triggered it (HE-5.10, V3-6.7).
pub const ATTEMPT_DELAY_FLOOR: Duration = Duration::from_millis(10);

/// Which address families to use, and which one leads.
///
/// The default assumes a host that prefers IPv6 (HE-2.2); `PreferIpv4` swaps the roles of
/// the families everywhere: which query is waited for during the Resolution Delay and which
/// family leads the interleaved list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FamilyPreference {
    /// Query AAAA and A; wait the Resolution Delay for AAAA after a positive A (HE-3.6); the
    /// interleaved list starts with the family of the first address after RFC 6724 sorting,
    /// which is IPv6 unless the sort ranks IPv4 higher (for example when IPv6 has no route).
    #[default]
    PreferIpv6,
    /// Query A and AAAA; wait the Resolution Delay for A after a positive AAAA; the
    /// interleaved list starts with IPv4 whenever an IPv4 address is usable.
    PreferIpv4,
    /// Query only AAAA and attempt only IPv6 addresses.
    Ipv6Only,
    /// Query only A and attempt only IPv4 addresses.
    Ipv4Only,
}

impl FamilyPreference {
    /// The family whose answer is waited for (HE-3.6), or the only family.
    pub fn preferred(self) -> Family {
        match self {
            FamilyPreference::PreferIpv6 | FamilyPreference::Ipv6Only => Family::V6,
            FamilyPreference::PreferIpv4 | FamilyPreference::Ipv4Only => Family::V4,
        }
    }

    /// Whether addresses of `family` are used at all.
    pub fn allows(self, family: Family) -> bool {
        match self {
            FamilyPreference::PreferIpv6 | FamilyPreference::PreferIpv4 => true,
            FamilyPreference::Ipv6Only => family == Family::V6,
            FamilyPreference::Ipv4Only => family == Family::V4,
        }
    }

    /// The families to query, in the order the queries are sent (HE-3.2: preferred first).
    pub fn families(self) -> &'static [Family] {
        match self {
            FamilyPreference::PreferIpv6 => &[Family::V6, Family::V4],
            FamilyPreference::PreferIpv4 => &[Family::V4, Family::V6],
            FamilyPreference::Ipv6Only => &[Family::V6],
            FamilyPreference::Ipv4Only => &[Family::V4],
        }
    }
}

/// Everything about a race that can be tuned.
///
/// Public fields with [`Default`] values from RFC 8305 §8; build one with
/// `Config { field: value, ..Config::default() }` or by assignment. The engine checks it with
/// [`Config::validate`] when it starts. Every delay between attempt starts is bounded below by
/// [`ATTEMPT_DELAY_FLOOR`] whatever this says.
///
/// Every duration may be as long as `Duration::MAX`: a deadline too far away to add to an
/// `Instant` is never reached, so `Some(Duration::MAX)` as a timeout behaves like `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// How long to wait for the preferred family's answer after the other family answered
    /// positively first (HE-3.6, V3-4.2.3).
    ///
    /// Default: 50 ms. `Duration::ZERO` means "do not wait": attempts start on the first
    /// positive answer of either family.
    pub resolution_delay: Duration,

    /// The Connection Attempt Delay: the time between the start of one attempt and the start
    /// of the next while the earlier ones are still pending (HE-5.7).
    ///
    /// Default: 250 ms. Used exactly as given (see [`Config::attempt_delay`] for the rule):
    /// the minimum and maximum below bound *derived* delays only. Must be at least 10 ms
    /// ([`ATTEMPT_DELAY_FLOOR`], HE-5.10): a lower value is rejected. `Duration::MAX` (or any
    /// delay too long to add to an `Instant`) means the next attempt starts only when an
    /// earlier one fails.
    pub connection_attempt_delay: Duration,

    /// The Minimum Connection Attempt Delay (HE-5.11): the lower bound of a Connection
    /// Attempt Delay the engine derives itself (from RTT history, HE-5.8), applied by
    /// [`Config::clamp_derived_attempt_delay`]. It does not raise a configured
    /// [`connection_attempt_delay`](Self::connection_attempt_delay).
    ///
    /// Default: 100 ms. Must be at least 10 ms ([`ATTEMPT_DELAY_FLOOR`], HE-5.10) and at most
    /// the maximum.
    pub min_connection_attempt_delay: Duration,

    /// The Maximum Connection Attempt Delay (HE-5.12): the upper bound of a derived
    /// Connection Attempt Delay, applied by [`Config::clamp_derived_attempt_delay`]. It does
    /// not lower a configured [`connection_attempt_delay`](Self::connection_attempt_delay).
    ///
    /// Default: 2 s. Must be at least the minimum.
    pub max_connection_attempt_delay: Duration,

    /// The First Address Family Count: how many addresses of the leading family go first
    /// before the families alternate (HE-4.8, V3-5.3.7).
    ///
    /// Default: 1. Must be at least 1. After the leading run the families alternate one by
    /// one, and the rest of whichever family is left over follows (checklist D2).
    pub first_address_family_count: usize,

    /// Which families to use and which one leads (HE-2.2).
    ///
    /// Default: [`FamilyPreference::PreferIpv6`].
    pub family: FamilyPreference,

    /// How long one attempt may take before it counts as failed and the next one starts at
    /// once (checklist D4).
    ///
    /// Default: `None`, no limit of the engine's own (the operating system's connect timeout
    /// still applies). `Some(Duration::ZERO)` is rejected.
    pub attempt_timeout: Option<Duration>,

    /// How long the whole race may take, resolution included, before it fails with
    /// [`Failure::TimedOut`](crate::Failure::TimedOut) (checklist D4).
    ///
    /// Default: `None`, no limit. `Some(Duration::ZERO)` is rejected.
    pub overall_timeout: Option<Duration>,

    /// How long the engine waits for each DNS query before it counts as timed out.
    ///
    /// Default: 10 s (longer than a typical stub resolver's own timeout of 5 s, so the
    /// resolver normally gives its verdict first). `None` waits for the resolver forever.
    /// `Some(Duration::ZERO)` is rejected.
    pub resolve_timeout: Option<Duration>,

    /// At most this many attempts in flight at once; the next attempt waits for one to end.
    ///
    /// Default: `None`, no limit (the schedule alone bounds it). `Some(1)` makes attempts
    /// strictly sequential. `Some(0)` is rejected.
    pub max_attempts_in_flight: Option<usize>,

    /// At most this many endpoints (address and port pairs) are considered per race; the
    /// lowest-ranked ones beyond it are dropped and counted in
    /// [`Report::dropped_endpoints`](crate::Report::dropped_endpoints).
    ///
    /// Default: 64. Must be at least 1.
    pub max_endpoints: usize,

    /// The RFC 6724 policy table used to sort destinations (R6724-3).
    ///
    /// Default: [`PolicyTable::rfc6724`], the table of RFC 6724 §2.1.
    pub policy_table: PolicyTable,

    /// Which endpoints may be connected to, checked for every endpoint (the caller's
    /// addresses and DNS answers alike) before it becomes a candidate: a DNS answer's
    /// addresses it refuses on every port are dropped with [`DropReason::Denied`], a target
    /// whose every address it refuses fails with [`TargetError::Denied`].
    ///
    /// Default: [`DestinationPolicy::allow_all`] (a library connects where it is told); a
    /// proxy or a server fetching what its users name wants [`DestinationPolicy::restricted`].
    ///
    /// [`DropReason::Denied`]: crate::DropReason::Denied
    /// [`TargetError::Denied`]: crate::TargetError::Denied
    pub destinations: DestinationPolicy,

    /// The network the race runs on, as the driver knows it: which families have
    /// connectivity and the NAT64 prefixes (V3-4.1.1, V3-4.2.5, RFC 8305 §7, HEv3 §8). Decides
    /// which address queries are sent, which family leads, and whether IPv4 addresses are
    /// synthesized into IPv6 ones (IPv6 and no IPv4 connectivity, a prefix known).
    ///
    /// Default: [`Network::default`], both families, no NAT64 (RFC 8305's assumption).
    pub network: Network,

    /// Whether a race to a host name also asks for its HTTPS records (HEv3 §4.1: V3-4.1.2
    /// says HTTP clients, WebSocket ones included, SHOULD), first and together with the
    /// address queries, and waits for the answer, at most the Resolution Delay (V3-4.2.2).
    /// [`Target::with_https`](crate::Target::with_https) asks for one target alone.
    ///
    /// Default: `false` (a connection library does not know the protocol on top); the
    /// HTTPS connectors of the `eyeballs` crate turn it on.
    pub https_query: bool,

    /// The ALPN protocol ids the caller speaks over TCP (TLS), most preferred first: a
    /// ServiceMode record none of whose protocols (its `alpn`, plus `http/1.1` unless
    /// `no-default-alpn`, RFC 9460 §7.1.2) is among them is not used, neither its hints nor
    /// its target name (V3-6.2.2).
    ///
    /// Default: empty, every record is used (a caller that does not say what it speaks, such
    /// as a proxy relaying bytes, takes every record's addresses).
    pub alpn: Vec<String>,

    /// The ALPN protocol ids the caller speaks over QUIC (HEv3 §6; `h3` for HTTP/3): an
    /// address of a ServiceMode record that offers one of them is also a QUIC endpoint
    /// ([`Protocol::Quic`](crate::Protocol::Quic)) beside its TCP one. In each group the
    /// QUIC and TCP endpoints alternate, QUIC first, the TCP list led by the other family, so
    /// that the second attempt changes both protocol and family (blocked UDP and a broken
    /// family are each one fallback away). A driver that cannot make QUIC attempts fails
    /// them at once.
    ///
    /// Default: empty, TCP endpoints only.
    pub quic_alpn: Vec<String>,

    /// Service records the caller knows without asking DNS: an `Alt-Svc` header (RFC 7838;
    /// `h3=":443"` is `ServiceRecord::service(1).with_alpn(["h3"])`), a record remembered from
    /// an earlier connection, or configuration ("this host speaks HTTP/3"). Each ServiceMode
    /// record counts from the start of the race as if the host's HTTPS answer held it: its
    /// group, its ALPN filtering (V3-6.2.2), QUIC endpoints for the [`quic_alpn`] it offers
    /// (HEv3 §6), its hints and its target name; an HTTPS answer, if one is asked for, adds its
    /// own records beside them. This is how an IP literal or a list of addresses gets QUIC
    /// endpoints. The record's endpoints are the target's addresses on the target's ports
    /// (QUIC on the same port as TCP); a `port` applies to its hints and its target name, as
    /// for an HTTPS answer. AliasMode records are ignored, and so is a target name other than
    /// `"."` for a target of addresses (there is no host to stand in for).
    ///
    /// Default: empty.
    ///
    /// [`quic_alpn`]: Config::quic_alpn
    pub services: Vec<crate::ServiceRecord>,

    /// The seed that orders ServiceMode records of equal priority (V3-5.2.3: "shuffled
    /// randomly"); the same seed gives the same order, so tests stay exact.
    ///
    /// Default: 0. The `eyeballs` drivers draw a new one for every race.
    pub service_seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            resolution_delay: Duration::from_millis(50),
            connection_attempt_delay: Duration::from_millis(250),
            min_connection_attempt_delay: Duration::from_millis(100),
            max_connection_attempt_delay: Duration::from_secs(2),
            first_address_family_count: 1,
            family: FamilyPreference::PreferIpv6,
            attempt_timeout: None,
            overall_timeout: None,
            resolve_timeout: Some(Duration::from_secs(10)),
            max_attempts_in_flight: None,
            max_endpoints: 64,
            policy_table: PolicyTable::rfc6724(),
            destinations: DestinationPolicy::allow_all(),
            network: Network::default(),
            https_query: false,
            alpn: Vec::new(),
            quic_alpn: Vec::new(),
            services: Vec::new(),
            service_seed: 0,
        }
    }
}

impl Config {
    /// Checks every rule stated on the fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.connection_attempt_delay < ATTEMPT_DELAY_FLOOR {
            return Err(ConfigError::BelowFloor {
                field: "connection_attempt_delay",
                value: self.connection_attempt_delay,
            });
        }
        if self.min_connection_attempt_delay < ATTEMPT_DELAY_FLOOR {
            return Err(ConfigError::BelowFloor {
                field: "min_connection_attempt_delay",
                value: self.min_connection_attempt_delay,
            });
        }
        if self.max_connection_attempt_delay < self.min_connection_attempt_delay {
            return Err(ConfigError::MinAboveMax {
                min: self.min_connection_attempt_delay,
                max: self.max_connection_attempt_delay,
            });
        }
        if self.first_address_family_count == 0 {
            return Err(ConfigError::Zero {
                field: "first_address_family_count",
            });
        }
        if self.max_endpoints == 0 {
            return Err(ConfigError::Zero {
                field: "max_endpoints",
            });
        }
        if self.max_attempts_in_flight == Some(0) {
            return Err(ConfigError::Zero {
                field: "max_attempts_in_flight",
            });
        }
        for (field, value) in [
            ("attempt_timeout", self.attempt_timeout),
            ("overall_timeout", self.overall_timeout),
            ("resolve_timeout", self.resolve_timeout),
        ] {
            if value == Some(Duration::ZERO) {
                return Err(ConfigError::Zero { field });
            }
        }
        Ok(())
    }

    /// The Connection Attempt Delay in force for a race with no derived delay: the
    /// configured [`connection_attempt_delay`](Self::connection_attempt_delay), exactly as
    /// given (HE-5.7), never below the 10 ms floor (HE-5.10; [`Config::validate`] rejects a
    /// lower value, so the floor here only guards a configuration that was never validated).
    ///
    /// This is the rule, stated once: a caller who configures 50 ms gets attempts 50 ms apart.
    /// The Minimum and Maximum Connection Attempt Delay (HE-5.11, HE-5.12) bound the delays
    /// the engine *computes* (HE-5.8, from RTT history), through
    /// [`Config::clamp_derived_attempt_delay`], because that is where RFC 8305 §5 puts the
    /// weight of its lower bound:
    ///
    /// > The Connection Attempt Delay MUST have a lower bound, especially if it is computed
    /// > using historical data. More specifically, a subsequent connection MUST NOT be started
    /// > within 10 milliseconds of the previous attempt. The recommended minimum value is 100
    /// > milliseconds, which is referred to as the "Minimum Connection Attempt Delay".
    ///
    /// The checklist reads it the same way: HE-5.9 "CAD has a lower bound, especially when
    /// derived from history", and the test hints of HE-5.11 and HE-5.12 clamp "an
    /// RTT-derived CAD" (20 ms to 100 ms, 5 s to 2 s). The MUST NOT of HE-5.10 binds every
    /// delay; the recommended 100 ms minimum is a default for derived values, and a caller
    /// who asks for 50 ms has made that choice.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eyeballs_proto::Config;
    ///
    /// let mut c = Config::default();
    /// assert_eq!(c.attempt_delay(), Duration::from_millis(250));
    /// c.connection_attempt_delay = Duration::from_millis(50);
    /// assert_eq!(c.attempt_delay(), Duration::from_millis(50));
    /// ```
    pub fn attempt_delay(&self) -> Duration {
        self.connection_attempt_delay.max(ATTEMPT_DELAY_FLOOR)
    }

    /// A Connection Attempt Delay the engine derived (HE-5.8, the retransmission timeout
    /// computed from RTT history), bounded as RFC 8305 §5 asks: raised to the
    /// [`min_connection_attempt_delay`](Self::min_connection_attempt_delay) (HE-5.9,
    /// HE-5.11), lowered to the
    /// [`max_connection_attempt_delay`](Self::max_connection_attempt_delay) (HE-5.12), and
    /// never below the 10 ms floor (HE-5.10), whatever the configuration (even one whose
    /// minimum is above its maximum, which [`Config::validate`] rejects: the maximum wins).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eyeballs_proto::Config;
    ///
    /// let ms = Duration::from_millis;
    /// let c = Config::default();
    /// assert_eq!(c.clamp_derived_attempt_delay(ms(20)), ms(100));
    /// assert_eq!(c.clamp_derived_attempt_delay(ms(5000)), ms(2000));
    /// assert_eq!(c.clamp_derived_attempt_delay(ms(300)), ms(300));
    /// ```
    pub fn clamp_derived_attempt_delay(&self, derived: Duration) -> Duration {
        derived
            .max(self.min_connection_attempt_delay)
            .min(self.max_connection_attempt_delay)
            .max(ATTEMPT_DELAY_FLOOR)
    }
}

/// A configuration the engine refuses: the caller's mistake, never the network's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A delay between attempts below the 10 ms floor (HE-5.10).
    BelowFloor {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: Duration,
    },
    /// The minimum Connection Attempt Delay is above the maximum.
    MinAboveMax {
        /// The minimum given.
        min: Duration,
        /// The maximum given.
        max: Duration,
    },
    /// A count, limit or timeout that must not be zero is zero.
    Zero {
        /// The field's name.
        field: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BelowFloor { field, value } => write!(
                f,
                "{field} is {value:?}, below the 10 ms floor between connection attempts (RFC 8305 §5)"
            ),
            ConfigError::MinAboveMax { min, max } => write!(
                f,
                "min_connection_attempt_delay ({min:?}) is above max_connection_attempt_delay ({max:?})"
            ),
            ConfigError::Zero { field } => write!(f, "{field} must not be zero"),
        }
    }
}

impl std::error::Error for ConfigError {}
