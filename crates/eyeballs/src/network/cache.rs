//! The network a connector races on, detected when first needed and kept fresh
//! ([`NetworkCache`]): the NAT64 prefix learnt from `ipv4only.arpa` is cached for the TTL
//! of its answer and discovered again 10 s before that runs out (RFC 7050 §3, R7050-7).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use eyeballs_proto::Network;

use crate::history::NetworkWatch;
use crate::resolver::Resolver;

/// How long before its TTL runs out a discovered prefix is discovered again: 10 s
/// (RFC 7050 §3, R7050-7).
pub const REFRESH_AHEAD: Duration = Duration::from_secs(10);

/// How long a detection is kept when nothing tells its TTL: 60 s (refreshed after 50 s).
/// Not from a spec: the lifetime of a network whose resolver tells no TTL
/// ([`SystemResolver`](crate::resolver::SystemResolver): `getaddrinfo` has none), of a
/// negative discovery without an SOA, and of a network that needs no discovery (only its
/// connectivity is read, a netlink dump: cheap to repeat). A failed discovery is kept as
/// long, and retried after [`RETRY_AFTER_FAILURE`].
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// How soon a failed discovery (SERVFAIL, no answer in time, a resolver error) is tried
/// again, in the background: 10 s. Not from a spec; meanwhile the races go on as on an
/// IPv6-only network without a prefix (DNS64 assumed, V3-8.3.1).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// The shortest time a detection is kept: 1 s, whatever its TTL (a TTL of 0 would
/// otherwise make every race wait for a discovery of its own).
pub const MIN_LIFETIME: Duration = Duration::from_secs(1);

/// The longest time a detection is kept: one day, whatever its TTL (RFC 2181 allows
/// 68 years). The network watch notices a change sooner.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// What one detection found, and how long it may be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detected {
    pub(crate) network: Network,
    pub(crate) freshness: Freshness,
}

/// How long a detection may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// The TTL of the discovery's answer (R7050-7).
    Ttl(Duration),
    /// Nothing tells: see [`DEFAULT_LIFETIME`].
    Unknown,
    /// The discovery failed: see [`RETRY_AFTER_FAILURE`].
    Failed,
}

/// A network as the cache holds it: what was detected, when, and until when it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachedNetwork {
    /// The network the races run on.
    pub network: Network,
    /// When it was detected.
    pub detected_at: Instant,
    /// From when the first race to start detects it again, in the background, while the
    /// races go on with this one: 10 s before the TTL runs out ([`REFRESH_AHEAD`]; half
    /// the TTL when it is below 20 s).
    pub refresh_at: Instant,
    /// When it expires: its TTL (within [`MIN_LIFETIME`] … [`MAX_LIFETIME`]). The first
    /// race to start after it detects the network before it races.
    pub expires_at: Instant,
}

impl CachedNetwork {
    fn new(detected: Detected, now: Instant) -> Self {
        let (refresh_in, expires_in) = match detected.freshness {
            Freshness::Ttl(ttl) => schedule(ttl),
            Freshness::Unknown => schedule(DEFAULT_LIFETIME),
            Freshness::Failed => (RETRY_AFTER_FAILURE, DEFAULT_LIFETIME),
        };
        // Past the end of `Instant`'s range (never in practice): due at once.
        let at = |d| now.checked_add(d).unwrap_or(now);
        CachedNetwork {
            network: detected.network,
            detected_at: now,
            refresh_at: at(refresh_in),
            expires_at: at(expires_in),
        }
    }
}

/// When to refresh and when to expire an answer with this TTL, from now.
fn schedule(ttl: Duration) -> (Duration, Duration) {
    let ttl = ttl.min(MAX_LIFETIME);
    let refresh = if ttl >= 2 * REFRESH_AHEAD {
        ttl - REFRESH_AHEAD
    } else {
        ttl / 2
    };
    (refresh, ttl.max(MIN_LIFETIME))
}

/// The network a connector races on, detected when a race first needs it and kept fresh;
/// see [`Connector::auto_network`](crate::Connector::auto_network). Cheap to clone: clones
/// share the cache.
///
/// - The first race detects the network
///   ([`detect_network`](crate::network::detect_network): connectivity, and on an IPv6-only
///   network the NAT64 prefixes from `ipv4only.arpa`) before it starts; races that start
///   meanwhile wait for the same detection rather than start their own.
/// - The detection is kept for the TTL of the discovery's answer
///   ([`Resolver::lookup_with_ttl`]; [`DEFAULT_LIFETIME`] when the resolver tells none),
///   and 10 s before that runs out the next race to start detects again in the background
///   while it races with the cached network (R7050-7: with a TTL of 60 s, the discovery is
///   repeated at 50 s). Only a cache left unused past the TTL makes a race wait for a
///   detection again.
/// - When the network changes (an address, a link or a default route: the
///   [`NetworkWatch`] of the thread that first used the cache), the detection is
///   forgotten and the next race detects before it starts; a background detection begun
///   before the change is discarded.
///
/// With [`HickoryResolver`](crate::resolver::HickoryResolver), whose own cache answers
/// until the record's TTL runs out, the refresh gets the cached record and its remaining
/// TTL: the cache then refreshes again at half that, and the query reaches the network when
/// hickory's record expires. No race waits meanwhile.
#[derive(Clone, Default)]
pub struct NetworkCache {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    /// Held by the one caller that detects inline (tokio driver); the others wait on it.
    detecting: tokio::sync::Mutex<()>,
    /// The same, for the blocking driver.
    #[cfg(feature = "blocking")]
    detecting_blocking: Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    entry: Option<CachedNetwork>,
    /// A background detection is running.
    refreshing: bool,
    /// Counts the network changes seen: a detection begun before one is discarded.
    generation: u64,
    watch: Watch,
}

#[derive(Debug, Default)]
enum Watch {
    /// Opened on first use, in the namespace of the thread that uses the cache first.
    #[default]
    Untried,
    On(NetworkWatch),
    /// Cannot watch here (not Linux, netlink forbidden): entries live out their TTL.
    Off,
}

/// What a race does with the cache.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Race on this network.
    Use(Network),
    /// Race on this network, and detect again in the background (generation given).
    Refresh(Network, u64),
    /// Detect now, then race (generation given).
    Detect(u64),
}

impl State {
    fn step(&mut self, now: Instant) -> Step {
        if self.network_changed() {
            self.forget();
        }
        match &self.entry {
            Some(entry) if now < entry.expires_at => {
                if now >= entry.refresh_at && !self.refreshing {
                    self.refreshing = true;
                    Step::Refresh(entry.network.clone(), self.generation)
                } else {
                    Step::Use(entry.network.clone())
                }
            }
            _ => Step::Detect(self.generation),
        }
    }

    /// Drops the detection; one running now is discarded when it ends.
    fn forget(&mut self) {
        self.generation += 1;
        self.entry = None;
        self.refreshing = false;
    }

    /// Whether the network changed since the last look (opening the watch on first use).
    fn network_changed(&mut self) -> bool {
        if let Watch::Untried = self.watch {
            self.watch = match NetworkWatch::new() {
                Ok(watch) => Watch::On(watch),
                Err(e) => {
                    tracing::debug!(error = %e, "network cache: no network watch, detections live out their TTL");
                    Watch::Off
                }
            };
        }
        match &mut self.watch {
            Watch::On(watch) => watch.changed(),
            Watch::Untried | Watch::Off => false,
        }
    }

    /// Keeps `detected` (begun at `generation`) unless the network changed since; the
    /// network to race on either way.
    fn store(&mut self, detected: Detected, generation: u64, now: Instant) -> Network {
        if generation != self.generation {
            return detected.network;
        }
        self.refreshing = false;
        let entry = CachedNetwork::new(detected, now);
        tracing::debug!(?entry, "network cache: network detected");
        let network = entry.network.clone();
        self.entry = Some(entry);
        network
    }
}

/// Marks the background detection of a generation as over when it ends, stored or not (a
/// runtime that shuts down drops it unfinished). One of an older generation leaves the flag
/// alone: it belongs to a refresh begun since.
struct Refreshing(Arc<Inner>, u64);

impl Refreshing {
    fn store(self, detected: Detected) {
        self.0.store(detected, self.1);
    }
}

impl Drop for Refreshing {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        if state.generation == self.1 {
            state.refreshing = false;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent state: every change is one
        // assignment.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`State::store`] now.
    fn store(&self, detected: Detected, generation: u64) -> Network {
        self.lock().store(detected, generation, Instant::now())
    }
}

impl NetworkCache {
    /// An empty cache: the first race detects.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the cache holds now, if anything (expired or not).
    pub fn cached(&self) -> Option<CachedNetwork> {
        self.inner.lock().entry.clone()
    }

    /// Forgets the detection: the next race detects the network before it starts.
    pub fn clear(&self) {
        self.inner.lock().forget();
    }

    /// The network to race on now, detected through `resolver` if needed (tokio driver).
    pub(crate) async fn network(&self, resolver: &Arc<dyn Resolver>) -> Network {
        let resolver = Arc::clone(resolver);
        self.network_with(move || {
            let resolver = Arc::clone(&resolver);
            async move { super::detect(&*resolver).await }
        })
        .await
    }

    /// [`network`](Self::network) for the blocking driver: a refresh runs on a thread of
    /// its own.
    #[cfg(feature = "blocking")]
    pub(crate) fn network_blocking(&self, resolver: &Arc<dyn Resolver>) -> Network {
        let resolver = Arc::clone(resolver);
        self.network_with_blocking(move || super::detect_blocking(&*resolver))
    }

    /// [`network`](Self::network) with the detection `detect` makes.
    async fn network_with<D, F>(&self, detect: D) -> Network
    where
        D: Fn() -> F,
        F: Future<Output = Detected> + Send + 'static,
    {
        let mut inline = None;
        loop {
            let step = self.inner.lock().step(Instant::now());
            match step {
                Step::Use(network) => return network,
                Step::Refresh(network, generation) => {
                    let guard = Refreshing(Arc::clone(&self.inner), generation);
                    let detection = detect();
                    match tokio::runtime::Handle::try_current() {
                        Ok(runtime) => {
                            runtime.spawn(async move {
                                guard.store(detection.await);
                            });
                        }
                        // Polled outside a runtime: no background; the next race tries.
                        Err(_) => drop(guard),
                    }
                    return network;
                }
                Step::Detect(generation) if inline.is_some() => {
                    return self.inner.store(detect().await, generation);
                }
                // Wait for whoever detects now, then look again.
                Step::Detect(_) => inline = Some(self.inner.detecting.lock().await),
            }
        }
    }

    /// [`network_blocking`](Self::network_blocking) with the detection `detect` makes.
    #[cfg(feature = "blocking")]
    fn network_with_blocking<D>(&self, detect: D) -> Network
    where
        D: Fn() -> Detected + Clone + Send + 'static,
    {
        let mut inline = None;
        loop {
            let step = self.inner.lock().step(Instant::now());
            match step {
                Step::Use(network) => return network,
                Step::Refresh(network, generation) => {
                    let guard = Refreshing(Arc::clone(&self.inner), generation);
                    let detect = detect.clone();
                    let spawned = std::thread::Builder::new()
                        .name("eyeballs-network-refresh".into())
                        .spawn(move || guard.store(detect()));
                    if let Err(e) = spawned {
                        // The guard went with the closure: the next race tries again.
                        tracing::debug!(error = %e, "network cache: no thread for a refresh");
                    }
                    return network;
                }
                Step::Detect(generation) if inline.is_some() => {
                    return self.inner.store(detect(), generation);
                }
                Step::Detect(_) => {
                    inline = Some(
                        self.inner
                            .detecting_blocking
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()),
                    );
                }
            }
        }
    }
}

impl fmt::Debug for NetworkCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkCache")
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
