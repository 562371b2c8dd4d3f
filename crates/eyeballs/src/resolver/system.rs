//! [`SystemResolver`]: the operating system's resolver (`getaddrinfo`), one family per call.

use std::collections::HashSet;
use std::net::IpAddr;

use dns_lookup::{AddrFamily, AddrInfoHints, LookupError, LookupErrorKind, SockType};
use eyeballs_proto::Family;

use super::{DnsResult, Lookup, RecordType, Resolver};

/// The operating system's resolver: `getaddrinfo(3)`, called once per record type.
///
/// Each lookup is one `getaddrinfo` call for one family (`AF_INET6` for AAAA, `AF_INET` for
/// A; `SOCK_STREAM`; no service; no flags) on tokio's blocking thread pool
/// ([`tokio::task::spawn_blocking`]), so the AAAA and A lookups of a connection run in
/// parallel, off the async worker threads, and each answer is handed over as soon as it is
/// known (HE-3.4). The OS applies its whole configuration: `/etc/hosts`, `nsswitch.conf`,
/// search domains, `ndots`, its caches (nscd, systemd-resolved), its timeouts and retries.
///
/// - No `AI_ADDRCONFIG`: the connector, not the resolver, decides which families are worth
///   racing, and a host with only loopback addresses of a family still gets its answers.
/// - No `AI_V4MAPPED`: an AAAA lookup never returns IPv4 addresses in disguise.
/// - Addresses come back in the OS's order (glibc already sorts them with RFC 6724), without
///   duplicates (`getaddrinfo` may return one entry per socket type or protocol). IPv6 scope
///   ids are dropped: [`Destination`](eyeballs_proto::Destination) has no room for them.
/// - IP literals that [`IpAddr`]'s `FromStr` accepts (`192.0.2.1`, `2001:db8::1`) are
///   answered at once, without `getaddrinfo`: the address for its own family, NODATA for the
///   other (glibc answers the same, but musl would ask DNS servers for the other family).
///   Other literals (`fe80::1%eth0`, `127.1`) are left to `getaddrinfo`.
///
/// # Errors
///
/// `getaddrinfo` reports failures as `EAI_*` codes, which say less than a DNS response:
///
/// | `getaddrinfo`                                  | [`DnsResult`]              |
/// |------------------------------------------------|----------------------------|
/// | `EAI_NONAME` (NXDOMAIN, or not found anywhere) | [`DnsResult::NxDomain`]    |
/// | `EAI_NODATA`, `EAI_ADDRFAMILY` (where defined) | [`DnsResult::NoData`]      |
/// | success without a usable address               | [`DnsResult::NoData`]      |
/// | `EAI_FAIL` (non-recoverable failure)           | [`DnsResult::ServFail`]    |
/// | `EAI_AGAIN` (temporary failure)                | [`DnsResult::ServFail`]    |
/// | any other code                                 | [`DnsResult::Error`]       |
/// | the blocking task panicked or was cancelled    | [`DnsResult::Error`]       |
///
/// `EAI_AGAIN` is ambiguous: glibc returns it both for a SERVFAIL (or REFUSED) answer and
/// when every server timed out, and the two cannot be told apart. It is reported as
/// `ServFail`: a temporary failure of the resolution, which is what SERVFAIL means, and
/// behind a local caching stub (systemd-resolved, dnsmasq) an upstream timeout reaches glibc
/// as a SERVFAIL anyway. The query's duration in the race report tells which it was. Either
/// way it ends the query, like every other outcome. This resolver never returns
/// [`DnsResult::TimedOut`]: the OS has its own timeouts (glibc: `options timeout:5
/// attempts:2` by default, per server), and the connector's resolve timeout is the one to
/// use for anything shorter.
///
/// # Cancellation
///
/// Dropping a lookup's future cannot stop a `getaddrinfo` call that has started: it runs to
/// the end on the blocking pool, and its answer is dropped unobserved. Each abandoned call
/// holds one blocking-pool thread until the OS gives up (tokio's pool allows 512 by default).
///
/// # Runtime
///
/// [`lookup`](Resolver::lookup) must be called within a tokio runtime (it spawns the blocking
/// task at once, so the query starts even before the future is first polled). Called outside
/// one, it logs an error and the lookup answers [`DnsResult::Error`].
/// [`lookup_blocking`](Resolver::lookup_blocking) needs no runtime: it calls `getaddrinfo` on
/// the calling thread, with the same mapping.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct SystemResolver;

impl SystemResolver {
    /// The system resolver. Same as [`SystemResolver::default`].
    pub fn new() -> Self {
        SystemResolver
    }
}

impl Resolver for SystemResolver {
    fn lookup(&self, name: &str, record: RecordType) -> Lookup {
        // getaddrinfo has no HTTPS records: a negative answer, so that nothing waits for them.
        let Some(family) = record.family() else {
            return Box::pin(std::future::ready(DnsResult::NoData));
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Box::pin(std::future::ready(literal(ip, family)));
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                name,
                %record,
                "SystemResolver::lookup called outside a tokio runtime"
            );
            return Box::pin(std::future::ready(DnsResult::Error));
        };
        let owned = name.to_owned();
        let task = runtime.spawn_blocking(move || getaddrinfo(&owned, family));
        Box::pin(async move {
            match task.await {
                Ok(result) => result,
                Err(e) => {
                    tracing::warn!(error = %e, "getaddrinfo task failed");
                    DnsResult::Error
                }
            }
        })
    }

    fn lookup_blocking(&self, name: &str, record: RecordType) -> DnsResult {
        let Some(family) = record.family() else {
            return DnsResult::NoData;
        };
        match name.parse::<IpAddr>() {
            Ok(ip) => literal(ip, family),
            Err(_) => getaddrinfo(name, family),
        }
    }
}

/// The answer for an IP literal: itself for its own family, NODATA for the other.
pub(super) fn literal(ip: IpAddr, family: Family) -> DnsResult {
    if Family::of(ip) == family {
        DnsResult::addresses([ip])
    } else {
        DnsResult::NoData
    }
}

/// One blocking `getaddrinfo` call for `family`, mapped to a [`DnsResult`].
fn getaddrinfo(name: &str, family: Family) -> DnsResult {
    let hints = AddrInfoHints {
        flags: 0,
        address: match family {
            Family::V6 => AddrFamily::Inet6,
            Family::V4 => AddrFamily::Inet,
        }
        .into(),
        socktype: SockType::Stream.into(),
        protocol: 0,
    };
    let entries = match dns_lookup::getaddrinfo(Some(name), None, Some(hints)) {
        Ok(entries) => entries,
        Err(e) => {
            let result = map_error(&e);
            let error = std::io::Error::from(e);
            tracing::debug!(name, %family, %error, ?result, "getaddrinfo failed");
            return result;
        }
    };
    let mut seen = HashSet::new();
    let mut ips = Vec::new();
    let mut unreadable = 0usize;
    for entry in entries {
        match entry {
            Ok(entry) => {
                let ip = entry.sockaddr.ip();
                if Family::of(ip) == family && seen.insert(ip) {
                    ips.push(ip);
                }
            }
            // An address of a family the wrapper does not know: skip it.
            Err(_) => unreadable += 1,
        }
    }
    addresses_or(ips, unreadable)
}

/// The answer from the usable addresses of a successful call; `unreadable` entries could
/// not be decoded. Nothing usable: NODATA, or `Error` if that is because nothing could be
/// decoded.
fn addresses_or(ips: Vec<IpAddr>, unreadable: usize) -> DnsResult {
    match (ips.is_empty(), unreadable) {
        (false, _) => DnsResult::addresses(ips),
        (true, 0) => DnsResult::NoData,
        (true, _) => DnsResult::Error,
    }
}

/// `EAI_ADDRFAMILY` ("the name has no address of the requested family"), which neither POSIX
/// nor the `libc` crate defines everywhere: glibc and musl use -9, Bionic and Apple's libc 1.
#[cfg(target_os = "linux")]
const EAI_ADDRFAMILY: Option<i32> = Some(-9);
#[cfg(any(target_os = "android", target_vendor = "apple"))]
const EAI_ADDRFAMILY: Option<i32> = Some(1);
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
const EAI_ADDRFAMILY: Option<i32> = None;

/// Maps a failed `getaddrinfo` call; see the table on [`SystemResolver`].
fn map_error(e: &LookupError) -> DnsResult {
    if EAI_ADDRFAMILY.is_some_and(|code| code == e.error_num()) {
        return DnsResult::NoData;
    }
    match e.kind() {
        LookupErrorKind::NoName => DnsResult::NxDomain,
        LookupErrorKind::NoData => DnsResult::NoData,
        LookupErrorKind::Fail | LookupErrorKind::Again => DnsResult::ServFail,
        _ => DnsResult::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mapping on raw codes, including those the lab cannot provoke (glibc's values;
    /// `EAI_NODATA` and `EAI_ADDRFAMILY` are GNU extensions).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn maps_glibc_error_codes() {
        let cases = [
            (-2, DnsResult::NxDomain), // EAI_NONAME
            (-5, DnsResult::NoData),   // EAI_NODATA
            (-9, DnsResult::NoData),   // EAI_ADDRFAMILY
            (-4, DnsResult::ServFail), // EAI_FAIL
            (-3, DnsResult::ServFail), // EAI_AGAIN
            (-1, DnsResult::Error),    // EAI_BADFLAGS
            (-6, DnsResult::Error),    // EAI_FAMILY
            (-8, DnsResult::Error),    // EAI_SERVICE
            (-10, DnsResult::Error),   // EAI_MEMORY
            (-11, DnsResult::Error),   // EAI_SYSTEM
            (-105, DnsResult::Error),  // EAI_IDN_ENCODE
        ];
        for (code, want) in cases {
            assert_eq!(map_error(&LookupError::new(code)), want, "code {code}");
        }
    }

    #[test]
    fn a_name_with_a_nul_byte_is_a_local_error() {
        // The wrapper refuses it before calling getaddrinfo: no query is made.
        assert_eq!(getaddrinfo("a\0b", Family::V4), DnsResult::Error);
    }

    #[test]
    fn nothing_usable() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(addresses_or(vec![ip], 1), DnsResult::addresses([ip]));
        assert_eq!(addresses_or(vec![], 0), DnsResult::NoData);
        assert_eq!(addresses_or(vec![], 2), DnsResult::Error);
    }
}
