//! [`HickoryResolver`]: separate AAAA and A queries with hickory-resolver (feature `hickory`).

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use eyeballs_proto::Family;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType as HickoryRecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, TokioResolver};

use super::system::literal;
use super::{DnsResult, Lookup, RecordType, Resolver};

/// A DNS client ([hickory-resolver]) that asks AAAA and A as two independent queries.
///
/// hickory's own `lookup_ip` waits for both families before it answers, which defeats the
/// Resolution Delay (HE-3.3, STYLE.md item 11). This adapter sends one query per
/// [`lookup`](Resolver::lookup) call, so each family's answer reaches the connector as soon as
/// it arrives.
///
/// # Configuration
///
/// | setting             | default                          | set with                     |
/// |---------------------|----------------------------------|------------------------------|
/// | name servers        | none                             | [`new`](Self::new)           |
/// | per-attempt timeout | [`Self::DEFAULT_TIMEOUT`]: 5 s   | [`timeout`](Self::timeout)   |
/// | attempts per query  | [`Self::DEFAULT_ATTEMPTS`]: 2    | [`attempts`](Self::attempts) |
///
/// [`from_system_conf`](Self::from_system_conf) takes all three (and the search list) from
/// `/etc/resolv.conf` instead (on Windows, from the registry).
///
/// Each name server is asked over UDP first and over TCP when the UDP answer is truncated.
/// With several servers, up to two are asked in parallel and the fastest useful answer wins
/// (hickory's defaults, like its ordering by measured response time). Answers are cached
/// for their TTL (hickory's cache of 32 entries), shared by clones of the resolver.
///
/// # Names
///
/// - A name containing a dot (`host.example`, `host.example.`) is always absolute: exactly
///   one query for exactly that name, never a search-list expansion, whatever `ndots` says.
///   (Resolv.conf's `ndots:1` would query the name as given first, then, after NXDOMAIN or
///   NODATA, the search-list candidates, and report *their* outcome: a NODATA for AAAA could
///   come back as NXDOMAIN from `host.example.corp.example`.)
/// - A single-label name (`intranet`) goes through resolv.conf's search list and `domain`
///   with [`from_system_conf`](Self::from_system_conf) (tried before the name as given,
///   unless `ndots` is 0). [`new`](Self::new) has no search list: the label is queried as
///   given.
/// - IP literals (`192.0.2.1`, `2001:db8::1`, parsed by [`IpAddr`]'s `FromStr`) are answered
///   at once without a query: the address for its own family, NODATA for the other.
/// - `localhost` and `*.localhost` answer `::1` / `127.0.0.1`, and `*.invalid` NXDOMAIN,
///   without a query (RFC 6761, done by hickory).
/// - [`new`](Self::new) ignores `/etc/hosts`; [`from_system_conf`](Self::from_system_conf)
///   reads it once, when built.
/// - CNAME chains are followed by hickory; only the A or AAAA addresses of the answer are
///   returned, without duplicates, in the server's order.
///
/// # Results
///
/// | hickory outcome                                      | [`DnsResult`]                     |
/// |------------------------------------------------------|-----------------------------------|
/// | records of the asked type                            | [`Addresses`](DnsResult::Addresses) |
/// | NOERROR without them (NODATA, or a dangling CNAME)   | [`NoData`](DnsResult::NoData)     |
/// | NXDOMAIN                                             | [`NxDomain`](DnsResult::NxDomain) |
/// | SERVFAIL, REFUSED, any other error RCODE             | [`ServFail`](DnsResult::ServFail) |
/// | no answer within timeout × attempts                  | [`TimedOut`](DnsResult::TimedOut) |
/// | anything else (invalid name, I/O error, no server)   | [`Error`](DnsResult::Error)       |
///
/// # Runtime
///
/// Lookups must run on a tokio runtime. The resolver's connections (its TCP connections in
/// particular) are tasks spawned on the runtime of the first lookup that needs them: use one
/// resolver (and its clones) from one runtime. Dropping a lookup's future stops its query.
///
/// [`lookup_blocking`](Resolver::lookup_blocking) (the blocking connector's) needs no
/// runtime: each call builds a current-thread tokio runtime and a hickory resolver of its own
/// with this configuration, and drops both when the answer is in. Blocking lookups therefore
/// share no cache and no connection with each other or with [`lookup`](Resolver::lookup), and
/// must not be made from within an async runtime (tokio panics there).
///
/// [hickory-resolver]: https://docs.rs/hickory-resolver/0.25
#[derive(Clone)]
pub struct HickoryResolver {
    config: ResolverConfig,
    /// hickory's options, except `timeout` and `attempts`, which are applied when building.
    options: ResolverOpts,
    timeout: Duration,
    attempts: usize,
    resolver: TokioResolver,
}

impl HickoryResolver {
    /// The default per-attempt timeout of [`new`](Self::new): 5 s (resolv.conf's default).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The default number of attempts per query of [`new`](Self::new): 2 (resolv.conf's
    /// default), i.e. one retry.
    pub const DEFAULT_ATTEMPTS: usize = 2;

    /// A resolver that asks `servers` (UDP, and TCP when an answer is truncated), with no
    /// search list and without `/etc/hosts`; timeout
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT), [`DEFAULT_ATTEMPTS`](Self::DEFAULT_ATTEMPTS)
    /// attempts.
    ///
    /// A negative answer that carries an SOA record is final; without one, the other servers
    /// (if any) are asked too. With no servers at all, every lookup of a name fails with
    /// [`DnsResult::Error`].
    pub fn new(servers: impl IntoIterator<Item = SocketAddr>) -> Self {
        let mut config = ResolverConfig::new();
        for addr in servers {
            // Trusts negative answers (with an SOA) from the caller's servers.
            config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
            config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
        }
        let mut options = ResolverOpts::default();
        options.use_hosts_file = ResolveHosts::Never;
        Self::build(
            config,
            options,
            Self::DEFAULT_TIMEOUT,
            Self::DEFAULT_ATTEMPTS,
        )
    }

    /// A resolver configured like the system's: name servers, search list, `domain`,
    /// `ndots`, `timeout`, `attempts` and `edns0` from `/etc/resolv.conf` (the registry on
    /// Windows), and `/etc/hosts`.
    ///
    /// Unlike [`SystemResolver`](super::SystemResolver), it bypasses `nsswitch.conf`, nscd
    /// and systemd-resolved's D-Bus interface, and asks the listed servers directly.
    ///
    /// # Errors
    /// The configuration cannot be read or parsed, or lists no name server.
    pub fn from_system_conf() -> io::Result<Self> {
        let (config, options) =
            hickory_resolver::system_conf::read_system_conf().map_err(io::Error::from)?;
        // hickory reads resolv.conf's `attempts` into its own `attempts`, which counts
        // retries; resolv.conf's counts tries.
        let (timeout, attempts) = (options.timeout, options.attempts);
        Ok(Self::build(config, options, timeout, attempts))
    }

    /// Sets how long each attempt of a query waits for an answer. Default:
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT) (5 s);
    /// [`from_system_conf`](Self::from_system_conf): resolv.conf's `timeout`.
    ///
    /// A query gives up with [`DnsResult::TimedOut`] after about `timeout` × attempts.
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        Self::build(self.config, self.options, timeout, self.attempts)
    }

    /// Sets how many times a query is sent (to the whole server set) before it fails; `0`
    /// counts as 1. Default: [`DEFAULT_ATTEMPTS`](Self::DEFAULT_ATTEMPTS) (2, one retry);
    /// [`from_system_conf`](Self::from_system_conf): resolv.conf's `attempts`.
    ///
    /// A query is retried after a timeout or a local error, not after an answer (SERVFAIL
    /// included).
    #[must_use]
    pub fn attempts(self, attempts: usize) -> Self {
        Self::build(self.config, self.options, self.timeout, attempts)
    }

    fn build(
        config: ResolverConfig,
        mut options: ResolverOpts,
        timeout: Duration,
        attempts: usize,
    ) -> Self {
        let attempts = attempts.max(1);
        options.timeout = timeout;
        // hickory's `attempts` is the number of retries after the first try.
        options.attempts = attempts - 1;
        let resolver =
            TokioResolver::builder_with_config(config.clone(), TokioConnectionProvider::default())
                .with_options(options.clone())
                .build();
        HickoryResolver {
            config,
            options,
            timeout,
            attempts,
            resolver,
        }
    }
}

impl fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = self
            .config
            .name_servers()
            .iter()
            .map(ToString::to_string)
            .collect();
        f.debug_struct("HickoryResolver")
            .field("name_servers", &servers)
            .field("search", &self.config.search())
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl Resolver for HickoryResolver {
    fn lookup(&self, name: &str, record: RecordType) -> Lookup {
        // HTTPS records are not asked yet (issue 10): a negative answer, so that nothing
        // waits for them.
        let Some(family) = record.family() else {
            return Box::pin(std::future::ready(DnsResult::NoData));
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Box::pin(std::future::ready(literal(ip, family)));
        }
        let query = absolute(name);
        let rtype = match family {
            Family::V6 => HickoryRecordType::AAAA,
            Family::V4 => HickoryRecordType::A,
        };
        let resolver = self.resolver.clone();
        Box::pin(async move {
            match resolver.lookup(query.as_str(), rtype).await {
                Ok(lookup) => addresses(lookup.iter(), family),
                Err(e) => {
                    let result = map_error(&e);
                    tracing::debug!(name = %query, %rtype, error = %e, ?result, "lookup failed");
                    result
                }
            }
        })
    }

    fn lookup_blocking(&self, name: &str, record: RecordType) -> DnsResult {
        let Some(family) = record.family() else {
            return DnsResult::NoData;
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return literal(ip, family);
        }
        // hickory's connections are tasks on the runtime that opened them, and this runtime
        // ends with the call: a resolver of its own, so that no later lookup finds a
        // connection whose task is gone.
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::warn!(error = %e, "no runtime for a blocking hickory lookup");
                return DnsResult::Error;
            }
        };
        let own = Self::build(
            self.config.clone(),
            self.options.clone(),
            self.timeout,
            self.attempts,
        );
        runtime.block_on(own.lookup(name, record))
    }
}

/// `name` as it is queried: a name with a dot is made absolute (trailing dot), so that no
/// search list applies; a single label is left as it is.
fn absolute(name: &str) -> String {
    if !name.ends_with('.') && name.contains('.') {
        format!("{name}.")
    } else {
        name.to_owned()
    }
}

/// The `family` addresses among `records`, without duplicates, in order; none: NODATA.
fn addresses<'a>(records: impl Iterator<Item = &'a RData>, family: Family) -> DnsResult {
    let mut seen = HashSet::new();
    let ips: Vec<IpAddr> = records
        .filter_map(|rdata| match rdata {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
            _ => None, // CNAMEs of the chain.
        })
        .filter(|ip| Family::of(*ip) == family && seen.insert(*ip))
        .collect();
    if ips.is_empty() {
        DnsResult::NoData
    } else {
        DnsResult::addresses(ips)
    }
}

/// Maps a failed hickory lookup; see the table on [`HickoryResolver`].
fn map_error(e: &ResolveError) -> DnsResult {
    let Some(proto) = e.proto() else {
        return DnsResult::Error;
    };
    match proto.kind() {
        ProtoErrorKind::NoRecordsFound { response_code, .. } => match response_code {
            ResponseCode::NXDomain => DnsResult::NxDomain,
            ResponseCode::NoError => DnsResult::NoData,
            _ => DnsResult::ServFail,
        },
        ProtoErrorKind::RequestRefused => DnsResult::ServFail,
        ProtoErrorKind::Timeout => DnsResult::TimedOut,
        ProtoErrorKind::Io(io) if io.kind() == io::ErrorKind::TimedOut => DnsResult::TimedOut,
        _ => DnsResult::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_dot_are_absolute() {
        assert_eq!(absolute("host.example"), "host.example.");
        assert_eq!(absolute("host.example."), "host.example.");
        assert_eq!(absolute("intranet"), "intranet");
        assert_eq!(absolute("intranet."), "intranet.");
    }

    #[test]
    fn attempts_count_tries() {
        let r = HickoryResolver::new([]).attempts(0);
        assert_eq!((r.attempts, r.options.attempts), (1, 0));
        let r = r.attempts(3).timeout(Duration::from_millis(300));
        assert_eq!((r.attempts, r.options.attempts), (3, 2));
        assert_eq!(r.options.timeout, Duration::from_millis(300));
        let r = HickoryResolver::new([]);
        assert_eq!(
            (r.timeout, r.attempts),
            (
                HickoryResolver::DEFAULT_TIMEOUT,
                HickoryResolver::DEFAULT_ATTEMPTS
            )
        );
    }
}
