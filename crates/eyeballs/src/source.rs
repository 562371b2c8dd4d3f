//! Source addresses for RFC 6724 sorting: which local address the host would use for each
//! destination (R6724-4), probed with a UDP `connect()` and remembered for a few seconds.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use eyeballs_proto::{Destination, Engine, QueryId, SourceAddr, Target};

use crate::socket::SocketOptions;

/// How long a probed source is reused. A source changes only when addresses or routes do;
/// a stale one can only mis-order one race's attempts (sorting, never reachability), and a
/// connector that opens many connections to the same hosts, as a pool does, then pays one
/// probe per destination per period instead of one per connect.
const SOURCE_TTL: Duration = Duration::from_secs(5);

/// At most this many destinations are remembered; a full cache forgets everything at once
/// (simple, and bounded whatever a resolver returns).
const SOURCE_CAPACITY: usize = 1024;

/// The source-address facts of one connector, borrowed from it by a race: its socket set-up
/// (local addresses decide the source) and the cache its clones share.
#[derive(Clone, Copy)]
pub(crate) struct Sources<'c> {
    options: &'c SocketOptions,
    cache: &'c SourceCache,
}

impl fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// Probed sources by (bound local address, destination), with when they were probed.
///
/// Hashed with foldhash (randomly seeded per process), not SipHash: a lookup is on every
/// race of several addresses, and SipHash's per-write cost made it a tenth of the race's
/// own work. The table is capped at [`SOURCE_CAPACITY`] entries, so a flood of crafted
/// destinations can cost no more than that.
#[derive(Debug, Default)]
pub(crate) struct SourceCache {
    entries: Mutex<SourceMap>,
}

/// (bound local address, destination) → (source, until when it is reused: [`SOURCE_TTL`]
/// after the probe; `None`: an instant too far to represent, for ever). The expiry is kept
/// rather than the probe's time so that a lookup compares two instants.
type SourceMap = HashMap<SourceKey, (SourceAddr, Option<Instant>), foldhash::fast::RandomState>;

/// The cache's key: the local address a probe binds to (the unspecified IPv4 address standing
/// for "no local address of the family") and the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SourceKey {
    bind: IpAddr,
    dest: IpAddr,
}

impl Hash for SourceKey {
    /// Three words (both addresses' bits, then their families), where the derived hash wrote
    /// each address part by part: equal keys write the same words.
    fn hash<H: Hasher>(&self, state: &mut H) {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u128::from(v4.to_bits()), 0),
                IpAddr::V6(v6) => (v6.to_bits(), 1),
            }
        }
        let ((bind, bind_v6), (dest, dest_v6)) = (bits(self.bind), bits(self.dest));
        state.write_u128(bind);
        state.write_u128(dest);
        state.write_u8(bind_v6 | dest_v6 << 1);
    }
}

impl SourceCache {
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<'c> Sources<'c> {
    /// The sources of a connector with `options`, sharing `cache` with its clones.
    pub(crate) fn new(options: &'c SocketOptions, cache: &'c SourceCache) -> Self {
        Sources { options, cache }
    }

    /// Query `id`'s answer with the source of each destination the engine will keep
    /// ([`Engine::screen_answer`]: usable, de-duplicated, at most `max_endpoints`), so that
    /// per-address work (a probe each) stays bounded whatever the answer holds. The rest of
    /// the answer goes to the engine unprobed, which records why it dropped each one.
    pub(crate) fn annotate(
        &self,
        engine: &Engine,
        id: QueryId,
        mut dests: Vec<Destination>,
    ) -> Vec<Destination> {
        // An unknown id is the engine's to report; an empty list means it ignores the answer.
        let kept = engine
            .screen_answer(id, dests.iter().copied())
            .unwrap_or_default();
        if kept.is_empty() {
            return dests;
        }
        let mut sources: HashMap<IpAddr, SourceAddr> = HashMap::new();
        self.with_sources(|source_of| {
            sources = kept.iter().map(|d| (d.ip, source_of(d.ip))).collect();
        });
        for dest in &mut dests {
            if let Some(&source) = sources.get(&dest.ip.to_canonical()) {
                *dest = Destination::with_source(dest.ip, source);
            }
        }
        dests
    }

    /// `target` with the source of each of its addresses. A single address needs none: with
    /// nothing to sort it against, its source cannot change the race.
    pub(crate) fn annotate_target(&self, mut target: Target) -> Target {
        if !target.has_several_ips() {
            return target;
        }
        self.with_sources(|source_of| target.fill_sources(source_of));
        target
    }

    /// Runs `fill` with a lookup of the source of each address it asks about: under one lock
    /// while every one asked is cached (the usual case: a pool connecting to the same
    /// addresses again); after a miss, once more with lookups that probe what is not cached,
    /// outside the lock, address by address.
    fn with_sources(&self, mut fill: impl FnMut(&mut dyn FnMut(IpAddr) -> SourceAddr)) {
        let now = Instant::now();
        let mut missed = false;
        {
            let entries = self.lock();
            fill(&mut |ip| {
                self.cached(&entries, ip, now).unwrap_or_else(|| {
                    missed = true;
                    SourceAddr::Unknown
                })
            });
        }
        if missed {
            fill(&mut |ip| self.source_of(ip, now));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SourceMap> {
        // A panic while the lock was held leaves at worst one entry missing: it is a cache.
        self.cache
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached source of `dest`, if it was probed less than [`SOURCE_TTL`] ago.
    fn cached(&self, entries: &SourceMap, dest: IpAddr, now: Instant) -> Option<SourceAddr> {
        let &(source, until) = entries.get(&key(self.bind_ip(dest), dest))?;
        until.is_none_or(|until| now < until).then_some(source)
    }

    /// The source the host would use for `dest`, from the cache or a probe.
    fn source_of(&self, dest: IpAddr, now: Instant) -> SourceAddr {
        if let Some(source) = self.cached(&self.lock(), dest, now) {
            return source;
        }
        let bind = self.bind_ip(dest);
        let key = key(bind, dest);
        let source = match bind {
            Some(ip) => probe(ip, dest),
            None => SourceAddr::Unreachable,
        };
        let mut entries = self.lock();
        if entries.len() >= SOURCE_CAPACITY {
            entries.clear();
        }
        entries.insert(key, (source, now.checked_add(SOURCE_TTL)));
        source
    }

    /// The local address a probe for `dest` binds to: the first configured one of its family,
    /// the unspecified address when none is configured, `None` when local addresses are
    /// configured but none of this family (attempts will fail to bind).
    fn bind_ip(&self, dest: IpAddr) -> Option<IpAddr> {
        let local = &self.options.local_addrs;
        match local
            .iter()
            .copied()
            .find(|ip| ip.is_ipv6() == dest.is_ipv6())
        {
            Some(ip) => Some(ip),
            None if !local.is_empty() => None,
            None => Some(match dest {
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            }),
        }
    }
}

/// The cache's key for `dest` probed from `bind`.
fn key(bind: Option<IpAddr>, dest: IpAddr) -> SourceKey {
    SourceKey {
        bind: bind.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        dest,
    }
}

/// The source the kernel picks for `dest` from `bind`: a UDP `connect()` sends no packet but
/// makes the kernel choose a route and a source. No route means [`SourceAddr::Unreachable`].
fn probe(bind: IpAddr, dest: IpAddr) -> SourceAddr {
    // Any port will do for a route lookup; 443 avoids port 0, which some stacks refuse.
    let probe = UdpSocket::bind(SocketAddr::new(bind, 0))
        .and_then(|s| s.connect(SocketAddr::new(dest, 443)).map(|()| s))
        .and_then(|s| s.local_addr());
    match probe {
        Ok(local) => SourceAddr::Addr(local.ip()),
        Err(_) => SourceAddr::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    /// A connector's sources; what they borrow lives as long as the test.
    fn sources(local: &[IpAddr]) -> Sources<'static> {
        let options = SocketOptions {
            local_addrs: local.to_vec(),
            ..SocketOptions::default()
        };
        Sources::new(Box::leak(Box::new(options)), Box::leak(Box::default()))
    }

    const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
    const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// R6724-4: the probe finds the source the kernel would use (loopback for loopback).
    #[test]
    fn r6724_4_probe_gives_the_kernels_source() {
        let s = sources(&[]);
        assert_eq!(s.source_of(V4, Instant::now()), SourceAddr::Addr(V4));
        if UdpSocket::bind("[::1]:0").is_ok() {
            assert_eq!(s.source_of(V6, Instant::now()), SourceAddr::Addr(V6));
        }
    }

    /// Local addresses of the other family only: the destination's family cannot be bound.
    #[test]
    fn no_local_address_of_the_family_is_unreachable() {
        let s = sources(&[V4]);
        assert_eq!(s.source_of(V6, Instant::now()), SourceAddr::Unreachable);
        assert_eq!(s.source_of(V4, Instant::now()), SourceAddr::Addr(V4));
    }

    /// A probed source is reused within the TTL, by another race of the connector too, and
    /// probed again after it.
    #[test]
    fn sources_are_cached_for_the_ttl() {
        let s = sources(&[]);
        let t0 = Instant::now();
        s.source_of(V4, t0);
        let other_race = Sources::new(s.options, s.cache);
        // Planted: a cached entry answers without a probe.
        other_race.cache.entries.lock().unwrap().insert(
            key(Some(Ipv4Addr::UNSPECIFIED.into()), V4),
            (SourceAddr::Unreachable, t0.checked_add(SOURCE_TTL)),
        );
        assert_eq!(
            s.source_of(V4, t0 + SOURCE_TTL / 2),
            SourceAddr::Unreachable
        );
        assert_eq!(s.source_of(V4, t0 + SOURCE_TTL), SourceAddr::Addr(V4));
    }

    /// One address: nothing to sort it against, no probe.
    #[test]
    fn a_single_address_is_not_probed() {
        let s = sources(&[]);
        let one = Target::addresses([SocketAddr::new(V4, 1)]).unwrap();
        let _ = s.annotate_target(one);
        assert_eq!(s.cache.len(), 0);
        let two = Target::addresses([SocketAddr::new(V4, 1), SocketAddr::new(V6, 1)]).unwrap();
        let _ = s.annotate_target(two);
        assert_eq!(s.cache.len(), 2);
    }
}
