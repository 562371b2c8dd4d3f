//! [`HickoryResolver`]: separate HTTPS, AAAA and A queries with hickory-resolver (feature
//! `hickory`).

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use eyeballs_proto::{Family, ServiceRecord};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::rdata::svcb::{SvcParamKey, SvcParamValue, SVCB};
use hickory_resolver::proto::rr::{RData, RecordType as HickoryRecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, TokioResolver};

use super::system::literal;
use super::{DnsResult, Lookup, RecordType, Resolver, TtlLookup};

/// A DNS client ([hickory-resolver]) that asks HTTPS, AAAA and A as independent queries.
///
/// hickory's own `lookup_ip` waits for both families before it answers, which defeats the
/// Resolution Delay (HE-3.3, STYLE.md item 11). This adapter sends one query per
/// [`lookup`](Resolver::lookup) call, so each answer reaches the connector as soon as it
/// arrives: the HTTPS answer too (V3-4.2.1), when the connector asks for one
/// ([`Connector::https_query`](crate::Connector::https_query), V3-4.1.2).
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
/// - [`RecordType::Https`] asks for HTTPS records (type 65, RFC 9460 §9) of the name the
///   engine gives (`host`, or `_PORT._https.host` for a port other than 443). An IP literal
///   has none: NODATA without a query.
///
/// # HTTPS records
///
/// Each HTTPS (or SVCB) record of the answer becomes a [`ServiceRecord`], in the server's
/// order (the engine groups and sorts them):
///
/// | RFC 9460 field                    | [`ServiceRecord`] field                      |
/// |-----------------------------------|----------------------------------------------|
/// | `SvcPriority` (0: AliasMode)      | [`priority`](ServiceRecord::priority)        |
/// | `TargetName`                      | [`target`](ServiceRecord::target): `"."` for the root (the owner name in ServiceMode, "no service" in AliasMode), else the name without its trailing dot |
/// | `alpn` (key 1)                    | [`alpn`](ServiceRecord::alpn), in order      |
/// | `no-default-alpn` (key 2)         | [`no_default_alpn`](ServiceRecord::no_default_alpn) |
/// | `port` (key 3)                    | [`port`](ServiceRecord::port)                |
/// | `ipv4hint` (key 4)                | [`ipv4_hints`](ServiceRecord::ipv4_hints)    |
/// | `ech` (key 5)                     | [`ech`](ServiceRecord::ech): the ECHConfigList bytes as received |
/// | `ipv6hint` (key 6)                | [`ipv6_hints`](ServiceRecord::ipv6_hints)    |
/// | other keys                        | ignored (RFC 9460 §2.2)                      |
///
/// The parameters of an AliasMode record are ignored (RFC 9460 §2.4.2). A ServiceMode record
/// whose `mandatory` list (key 0) names a key outside the table above is skipped: the client
/// would not use it correctly (RFC 9460 §8, "incompatible"). A malformed record (keys out of
/// order or repeated, a value of the wrong length) makes hickory reject the whole answer:
/// [`DnsResult::Error`], a negative answer, which is what RFC 9460 §2.2 asks for ("fall back
/// to non-SVCB connection establishment"). An answer with no usable record is NODATA.
///
/// # Results
///
/// | hickory outcome                                      | [`DnsResult`]                     |
/// |------------------------------------------------------|-----------------------------------|
/// | records of the asked type (A, AAAA)                  | [`Addresses`](DnsResult::Addresses) |
/// | records of the asked type (HTTPS)                    | [`Services`](DnsResult::Services) |
/// | NOERROR without them (NODATA, or a dangling CNAME)   | [`NoData`](DnsResult::NoData)     |
/// | NXDOMAIN                                             | [`NxDomain`](DnsResult::NxDomain) |
/// | SERVFAIL, REFUSED, any other error RCODE             | [`ServFail`](DnsResult::ServFail) |
/// | no answer within timeout × attempts                  | [`TimedOut`](DnsResult::TimedOut) |
/// | anything else (invalid name, I/O error, no server, a malformed record) | [`Error`](DnsResult::Error) |
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

    /// The answer to a lookup and its TTL (see [`Resolver::lookup_with_ttl`]): what both
    /// `lookup` and `lookup_with_ttl` box, once.
    fn answer(
        &self,
        name: &str,
        record: RecordType,
    ) -> impl Future<Output = (DnsResult, Option<Duration>)> + Send + 'static {
        let ask = match (name.parse::<IpAddr>(), hickory_type(record)) {
            (Ok(ip), _) => Err(of_literal(ip, record)),
            // A record type this adapter does not ask: a negative answer, nothing waits.
            (Err(_), None) => Err(DnsResult::NoData),
            (Err(_), Some(rtype)) => Ok((self.resolver.clone(), absolute(name), rtype)),
        };
        async move {
            let (resolver, query, rtype) = match ask {
                Ok(ask) => ask,
                Err(known) => return (known, None),
            };
            match resolver.lookup(query.as_str(), rtype).await {
                Ok(lookup) => {
                    let ttl = lookup
                        .valid_until()
                        .saturating_duration_since(std::time::Instant::now());
                    let result = match record.family() {
                        Some(family) => addresses(lookup.iter(), family),
                        None => services(lookup.iter()),
                    };
                    (result, Some(ttl))
                }
                Err(e) => {
                    let result = map_error(&e);
                    tracing::debug!(name = %query, %rtype, error = %e, ?result, "lookup failed");
                    (result, negative_ttl(&e))
                }
            }
        }
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
        let answer = self.answer(name, record);
        Box::pin(async move { answer.await.0 })
    }

    fn lookup_blocking(&self, name: &str, record: RecordType) -> DnsResult {
        self.lookup_with_ttl_blocking(name, record).0
    }

    /// The TTL is what hickory's cache has left of the answer (`Lookup::valid_until`); for
    /// a negative answer, the SOA's negative TTL when the server sent one (RFC 2308); none
    /// for failures and for IP literals.
    fn lookup_with_ttl(&self, name: &str, record: RecordType) -> TtlLookup {
        Box::pin(self.answer(name, record))
    }

    fn lookup_with_ttl_blocking(
        &self,
        name: &str,
        record: RecordType,
    ) -> (DnsResult, Option<Duration>) {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return (of_literal(ip, record), None);
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
                return (DnsResult::Error, None);
            }
        };
        let own = Self::build(
            self.config.clone(),
            self.options.clone(),
            self.timeout,
            self.attempts,
        );
        runtime.block_on(own.lookup_with_ttl(name, record))
    }
}

/// The answer for an IP literal: itself for its family's query, nothing else (an address
/// has no HTTPS records).
fn of_literal(ip: IpAddr, record: RecordType) -> DnsResult {
    match record.family() {
        Some(family) => literal(ip, family),
        None => DnsResult::NoData,
    }
}

/// The negative TTL of a negative answer (from its SOA), if the server sent one.
fn negative_ttl(e: &ResolveError) -> Option<Duration> {
    match e.proto()?.kind() {
        ProtoErrorKind::NoRecordsFound { negative_ttl, .. } => {
            negative_ttl.map(|secs| Duration::from_secs(u64::from(secs)))
        }
        _ => None,
    }
}

/// The hickory record type a lookup of `record` asks; `None` for types this adapter does not
/// know.
fn hickory_type(record: RecordType) -> Option<HickoryRecordType> {
    match record {
        RecordType::Aaaa => Some(HickoryRecordType::AAAA),
        RecordType::A => Some(HickoryRecordType::A),
        RecordType::Https => Some(HickoryRecordType::HTTPS),
        _ => None,
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

/// The HTTPS and SVCB records among `records` as [`ServiceRecord`]s, in order; see the
/// table on [`HickoryResolver`]. None usable: NODATA.
fn services<'a>(records: impl Iterator<Item = &'a RData>) -> DnsResult {
    let services: Vec<ServiceRecord> = records
        .filter_map(|rdata| match rdata {
            RData::HTTPS(https) => Some(&https.0),
            RData::SVCB(svcb) => Some(svcb),
            _ => None, // CNAMEs of the chain.
        })
        .filter_map(service)
        .collect();
    if services.is_empty() {
        DnsResult::NoData
    } else {
        DnsResult::Services(services)
    }
}

/// One SVCB/HTTPS record as the engine takes it; `None` for a ServiceMode record with a
/// mandatory key this mapping does not carry (RFC 9460 §8).
fn service(svcb: &SVCB) -> Option<ServiceRecord> {
    let name = svcb.target_name();
    let target = if name.is_root() {
        ".".to_owned()
    } else {
        let ascii = name.to_ascii();
        ascii.strip_suffix('.').unwrap_or(&ascii).to_owned()
    };
    if svcb.svc_priority() == 0 {
        // AliasMode: its SvcParams are ignored (RFC 9460 §2.4.2).
        return Some(ServiceRecord::alias(&target));
    }
    let mut record = ServiceRecord::service(svcb.svc_priority()).with_target(&target);
    for (_, value) in svcb.svc_params() {
        match value {
            SvcParamValue::Mandatory(mandatory) => {
                if !mandatory.0.iter().all(|key| understood(*key)) {
                    return None;
                }
            }
            SvcParamValue::Alpn(alpn) => record.alpn.clone_from(&alpn.0),
            SvcParamValue::NoDefaultAlpn => record.no_default_alpn = true,
            SvcParamValue::Port(port) => record.port = Some(*port),
            SvcParamValue::Ipv4Hint(hint) => {
                record.ipv4_hints = hint.0.iter().map(|a| a.0).collect();
            }
            SvcParamValue::EchConfigList(ech) => record.ech = Some(ech.0.clone()),
            SvcParamValue::Ipv6Hint(hint) => {
                record.ipv6_hints = hint.0.iter().map(|a| a.0).collect();
            }
            SvcParamValue::Unknown(_) => {} // RFC 9460 §2.2: ignore unknown keys.
        }
    }
    Some(record)
}

/// Whether [`service`] carries SvcParamKey `key` into the [`ServiceRecord`].
fn understood(key: SvcParamKey) -> bool {
    matches!(
        key,
        SvcParamKey::Alpn
            | SvcParamKey::NoDefaultAlpn
            | SvcParamKey::Port
            | SvcParamKey::Ipv4Hint
            | SvcParamKey::EchConfigList
            | SvcParamKey::Ipv6Hint
    )
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
    use eyeballs_lab::HttpsRecord;
    use hickory_resolver::proto::serialize::binary::{BinDecoder, Restrict};
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// `rdata` read by hickory as an HTTPS record.
    fn read(rdata: &[u8]) -> Result<RData, String> {
        let len = u16::try_from(rdata.len()).map_err(|e| e.to_string())?;
        let mut decoder = BinDecoder::new(rdata);
        RData::read(&mut decoder, HickoryRecordType::HTTPS, Restrict::new(len))
            .map_err(|e| e.to_string())
    }

    /// The answer of records `rdatas`, mapped.
    fn mapped(rdatas: &[&[u8]]) -> DnsResult {
        let records: Vec<RData> = rdatas.iter().map(|r| read(r).unwrap()).collect();
        services(records.iter())
    }

    fn one(rdata: &[u8]) -> ServiceRecord {
        match mapped(&[rdata]) {
            DnsResult::Services(mut s) if s.len() == 1 => s.remove(0),
            other => panic!("not one service: {other:?}"),
        }
    }

    const FOO_EXAMPLE_COM: &[u8] = b"\x03foo\x07example\x03com\x00";

    /// RFC 9460 Appendix D, Figures 2 to 9, as wire bytes: what each maps to.
    #[test]
    fn rfc9460_appendix_d_vectors_map_to_service_records() {
        // Figure 2: AliasMode.
        let alias = one(&[b"\x00\x00", FOO_EXAMPLE_COM].concat());
        assert_eq!(alias, ServiceRecord::alias("foo.example.com"));
        // Figure 3: ServiceMode, TargetName ".".
        assert_eq!(one(&[0, 1, 0]), ServiceRecord::service(1));
        // Figure 4: port=53.
        let mut want = ServiceRecord::service(16).with_target("foo.example.com");
        want.port = Some(53);
        let rdata = [b"\x00\x10", FOO_EXAMPLE_COM, b"\x00\x03\x00\x02\x00\x35"].concat();
        assert_eq!(one(&rdata), want);
        // Figures 5 and 6: an unregistered key is ignored.
        for value in [&b"\x00\x05hello"[..], b"\x00\x09hello\xd2qoo"] {
            let rdata = [b"\x00\x01", FOO_EXAMPLE_COM, b"\x02\x9b", value].concat();
            assert_eq!(
                one(&rdata),
                ServiceRecord::service(1).with_target("foo.example.com")
            );
        }
        // Figure 7: two IPv6 hints.
        let rdata = [
            b"\x00\x01",
            FOO_EXAMPLE_COM,
            b"\x00\x06\x00\x20",
            &Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets(),
            &Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0x53, 1).octets(),
        ]
        .concat();
        assert_eq!(
            one(&rdata).ipv6_hints,
            [
                "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
                "2001:db8::53:1".parse().unwrap()
            ]
        );
        // Figure 9: mandatory=alpn,ipv4hint (both understood), alpn=h2,h3-19,
        // ipv4hint=192.0.2.1.
        let rdata = [
            &b"\x00\x10\x03foo\x07example\x03org\x00"[..],
            b"\x00\x00\x00\x04\x00\x01\x00\x04",
            b"\x00\x01\x00\x09\x02h2\x05h3-19",
            b"\x00\x04\x00\x04\xc0\x00\x02\x01",
        ]
        .concat();
        let want = ServiceRecord::service(16)
            .with_target("foo.example.org")
            .with_alpn(["h2", "h3-19"])
            .with_hints([], [Ipv4Addr::new(192, 0, 2, 1)]);
        assert_eq!(one(&rdata), want);
    }

    /// Every parameter the engine uses, encoded by the lab's DNS server.
    #[test]
    fn every_parameter_from_the_lab_encoding() {
        let ech = vec![0x00, 0x04, 0xfe, 0x0d, 0x00, 0x00];
        let rdata = HttpsRecord::service(2)
            .target("Svc.Test.")
            .alpn(["h3", "h2"])
            .no_default_alpn()
            .port(8443)
            .ipv4hint([
                "198.18.0.10".parse().unwrap(),
                "198.18.0.11".parse().unwrap(),
            ])
            .ipv6hint(["2001:db8::10".parse().unwrap()])
            .ech(ech.clone())
            .param(65280, *b"private")
            .to_rdata()
            .unwrap();
        let mut want = ServiceRecord::service(2)
            .with_target("Svc.Test")
            .with_alpn(["h3", "h2"])
            .with_hints(
                ["2001:db8::10".parse().unwrap()],
                [
                    "198.18.0.10".parse().unwrap(),
                    "198.18.0.11".parse().unwrap(),
                ],
            );
        want.no_default_alpn = true;
        want.port = Some(8443);
        want.ech = Some(ech);
        assert_eq!(one(&rdata), want);
    }

    #[test]
    fn alias_parameters_are_ignored_and_the_root_target_stays_a_dot() {
        let alias = HttpsRecord::alias(".").port(8443).to_rdata().unwrap();
        assert_eq!(one(&alias), ServiceRecord::alias("."));
    }

    /// RFC 9460 §8: a ServiceMode record with a mandatory key the client does not know is
    /// incompatible and skipped; the rest of the answer stays.
    #[test]
    fn a_record_with_an_unknown_mandatory_key_is_skipped() {
        let incompatible = HttpsRecord::service(1)
            .mandatory([667])
            .param(667, *b"x")
            .to_rdata()
            .unwrap();
        let fine = HttpsRecord::service(2)
            .mandatory([1])
            .alpn(["h2"])
            .to_rdata()
            .unwrap();
        assert_eq!(
            mapped(&[&incompatible, &fine]),
            DnsResult::Services(vec![ServiceRecord::service(2).with_alpn(["h2"])])
        );
        assert_eq!(mapped(&[&incompatible]), DnsResult::NoData);
        assert_eq!(services(std::iter::empty()), DnsResult::NoData);
    }

    /// RFC 9460 §2.2: keys out of order or repeated make the record malformed; hickory
    /// rejects it (the whole message, which the lookup reports as an error).
    #[test]
    fn malformed_records_are_rejected_by_hickory() {
        let repeated = HttpsRecord::service(1)
            .port(443)
            .param(3, [0x01, 0xbb])
            .to_rdata()
            .unwrap();
        assert!(read(&repeated).is_err());
        let out_of_order = [
            &[0, 1, 0][..],
            b"\x00\x03\x00\x02\x01\xbb",
            b"\x00\x01\x00\x03\x02h2",
        ]
        .concat();
        assert!(read(&out_of_order).is_err());
    }

    #[tokio::test]
    async fn ip_literals_have_no_https_records() {
        let r = HickoryResolver::new([]);
        assert_eq!(
            r.lookup("2001:db8::1", RecordType::Https).await,
            DnsResult::NoData
        );
        assert_eq!(
            r.lookup_blocking("192.0.2.1", RecordType::Https),
            DnsResult::NoData
        );
    }

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
