//! [`HistoryStore`]: what earlier races taught, per privacy partition, until the network
//! changes.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use eyeballs_proto::{
    Endpoint, History, Lesson, PathFacts, PathFailure, Protocol, Report, Rtt, Target,
};
use lru::LruCache;

use super::netwatch::NetworkWatch;
use super::HistoryConfig;

/// How many endpoints of one host name the store keeps track of (the most recent ones): what
/// a race to the host is told about before its DNS answers come.
pub(crate) const HOST_ENDPOINTS: usize = 16;

/// How many addresses of an address target are looked up: a race to thousands of addresses
/// gets history for its first ones, and the engine's lookups stay short.
pub(crate) const RECALLED_ADDRS: usize = 32;

/// How often at most the network watch is read (one `recv` system call): races that start
/// within this long of the last look share it. A change is then seen at most this late, as
/// it would be by a race that started this much earlier; a burst of connects (a pool
/// filling) pays one system call per interval instead of one per race.
const NETWORK_CHECK_INTERVAL: Duration = Duration::from_millis(1);

/// What earlier races taught, shared by every race that uses it: per endpoint, an RTT
/// estimate from handshake times (RFC 6298) and the latest failure; per host name, the
/// addresses it had and the endpoint that last won. The engine is told what still applies
/// when a race starts ([`eyeballs_proto::History`]) and the store learns from its report when
/// it ends.
///
/// - **Per protocol** (V3-6.5): an endpoint is an address, a port and a protocol
///   ([`Endpoint`]). A QUIC attempt that stalled (UDP blocked by a firewall) demotes that
///   QUIC endpoint only, so the next race to the host leads with TCP; TCP's facts about the
///   same address are its own, and a QUIC handshake time is an RTT sample of the QUIC
///   endpoint (its PTO then gives the next attempt's delay). A race is told the facts of both
///   protocols of every address it may meet; the host's last winner is named with its
///   protocol (HE-4.4).
///
/// - **Shared**: clones share one memory; every [`Connector`](crate::Connector) has one
///   (its clones, and the hyper connectors and clients built on it, share it).
/// - **Bounded**: [`HistoryConfig::max_endpoints`] and [`HistoryConfig::max_hosts`] entries,
///   the least recently used forgotten first.
/// - **Partitioned** (V3-5.3.3): [`HistoryStore::partition`] gives a handle on the same memory
///   that sees only its own partition's entries; nothing learnt in one partition is used in
///   another. A connector bound to an interface or local addresses keeps its history apart
///   from unbound ones (HE-4.5).
/// - **Flushed** when the network changes (HE-4.6, V3-5.3.5): with
///   [`HistoryConfig::watch_network`] (the default, Linux), an rtnetlink watch
///   ([`NetworkWatch`]) is read before each race (at most once a millisecond); an address
///   added or removed, a link going up or down, or a default route coming or going empties
///   the store. [`HistoryStore::flush`] does it by hand.
/// - **Converging** (V3-5.3.6): a failure demotes an endpoint for
///   [`HistoryConfig::failure_hold`], doubled with each further failure up to
///   [`HistoryConfig::max_failure_hold`]; after that the endpoint takes its RFC 6724 place
///   again for one race, whose outcome clears or renews the hold. So a repaired path is used
///   again at most one hold after its latest failure (1 min after the first by default). Every
///   [`HistoryConfig::explore_every`]th race to a host is given no RTT or used-address facts,
///   so that endpoints history would always rank lower are still tried.
#[derive(Clone)]
pub struct HistoryStore {
    shared: Arc<Mutex<Memory>>,
    /// The privacy partition this handle reads and writes.
    partition: Partition,
}

/// A privacy partition's name and its hash, computed once: every endpoint the store looks up
/// is keyed by its partition, and hashing the name's bytes on each lookup was a tenth of what
/// recalling and learning cost (issue 9). The endpoint map is keyed by the hash alone (a key
/// that is `Copy`: no reference count to touch per lookup); each entry keeps its partition,
/// compared on every read, so that two names with the same hash never share an entry.
#[derive(Clone)]
pub(crate) struct Partition {
    name: Arc<str>,
    hash: u64,
}

impl Partition {
    pub(crate) fn new(name: Arc<str>) -> Self {
        // Any fixed hash will do: it only spreads the keys; equality compares the names.
        let mut hasher = std::hash::DefaultHasher::new();
        name.hash(&mut hasher);
        let hash = hasher.finish();
        Partition { name, hash }
    }

    /// A partition named `name` with the hash `hash`, whatever the name hashes to: what two
    /// names that hash alike look like.
    #[cfg(test)]
    pub(crate) fn with_hash(name: Arc<str>, hash: u64) -> Self {
        Partition { name, hash }
    }

    /// The partition's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl PartialEq for Partition {
    fn eq(&self, other: &Self) -> bool {
        // Handles made from one another share the name: no string comparison.
        Arc::ptr_eq(&self.name, &other.name) || self.name == other.name
    }
}

impl Eq for Partition {}

impl Hash for Partition {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The store's memory: every partition's entries, in two bounded maps.
struct Memory {
    config: HistoryConfig,
    /// Per (partition, endpoint): TCP and QUIC endpoints of one address apart.
    paths: LruCache<PathKey, Path>,
    /// Per partition and host name (one string: the partition, a NUL, the name).
    hosts: LruCache<String, HostState>,
    /// Races to address targets, for [`HistoryConfig::explore_every`].
    address_races: u64,
    watch: Watch,
    /// How many times the store was flushed because the network changed.
    network_flushes: u64,
    /// When the watch was last read.
    checked: Option<Instant>,
}

/// The network watch, made when the store first learns something (a connector used once never
/// opens one).
enum Watch {
    Off,
    NotYet,
    On(NetworkWatch),
    Unavailable,
}

/// An endpoint's key: its partition's hash and the endpoint.
type PathKey = (u64, Endpoint);

/// An endpoint's entry: what is known, and the partition it was learnt in (the key has only
/// the partition's hash).
struct Path {
    partition: Partition,
    state: PathState,
}

impl Path {
    /// What it knows, if it was learnt in `partition` (another one's entry under the same
    /// hash knows nothing for it).
    fn state_in(&self, partition: &Partition) -> Option<&PathState> {
        (self.partition == *partition).then_some(&self.state)
    }
}

/// What is known of an endpoint. Each fact keeps when it stops applying, computed when it
/// was learnt, so that a lookup compares two instants (no duration arithmetic per read).
#[derive(Debug, Clone, Copy, Default)]
struct PathState {
    /// The RTT estimate, and until when it applies: [`HistoryConfig::rtt_lifetime`] after its
    /// latest sample (`None`: a lifetime too long to represent, for ever).
    rtt: Option<(Rtt, Option<Instant>)>,
    /// The latest failure, and how many came in a row (no success between).
    strike: Option<Strike>,
}

#[derive(Debug, Clone, Copy)]
struct Strike {
    failure: PathFailure,
    /// Until when it demotes the endpoint: the hold of the `count`th failure in a row after
    /// it came (`None`: for ever).
    until: Option<Instant>,
    count: u32,
}

/// Whether a fact that applies until `until` (`None`: for ever) still does at `now`.
fn applies(until: Option<Instant>, now: Instant) -> bool {
    until.is_none_or(|until| now < until)
}

#[derive(Debug, Clone, Default)]
struct HostState {
    /// Its endpoints' socket addresses, each standing for its TCP and its QUIC endpoint:
    /// those of its latest race first (attempted, then answered), then older ones; at most
    /// [`HOST_ENDPOINTS`].
    endpoints: Vec<SocketAddr>,
    /// The endpoint that won its latest successful race, protocol included.
    winner: Option<Endpoint>,
    /// Races to it, for [`HistoryConfig::explore_every`].
    races: u64,
}

impl HistoryStore {
    /// An empty store with [`HistoryConfig::default`].
    pub fn new() -> Self {
        Self::with_config(HistoryConfig::default())
    }

    /// An empty store that remembers and forgets as `config` says.
    pub fn with_config(config: HistoryConfig) -> Self {
        // Unbounded maps, bounded by hand (`Memory::make_room`): they allocate as they fill,
        // so a connector that never learns anything costs no table.
        let memory = Memory {
            paths: LruCache::unbounded(),
            hosts: LruCache::unbounded(),
            address_races: 0,
            watch: if config.watch_network {
                Watch::NotYet
            } else {
                Watch::Off
            },
            network_flushes: 0,
            checked: None,
            config,
        };
        HistoryStore {
            shared: Arc::new(Mutex::new(memory)),
            partition: Partition::new(Arc::from("")),
        }
    }

    /// A handle on the same memory for the privacy partition `key` (V3-5.3.3): it sees and
    /// records only that partition's entries. The default partition is `""`.
    pub fn partition(&self, key: &str) -> Self {
        HistoryStore {
            shared: Arc::clone(&self.shared),
            partition: Partition::new(Arc::from(key)),
        }
    }

    /// The privacy partition this handle uses.
    pub fn partition_key(&self) -> &str {
        self.partition.name()
    }

    pub(crate) fn partition_handle(&self) -> &Partition {
        &self.partition
    }

    /// How the store remembers and forgets.
    pub fn config(&self) -> HistoryConfig {
        self.lock().config.clone()
    }

    /// Forgets everything, in every partition (HE-4.6: what to do when the device moves to
    /// another network that the watch cannot see, such as a VPN in user space).
    pub fn flush(&self) {
        self.lock().flush();
    }

    /// How many endpoints are remembered, in every partition.
    pub fn len(&self) -> usize {
        self.lock().paths.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times the network watch saw a change and flushed the store.
    pub fn network_flushes(&self) -> u64 {
        self.lock().network_flushes
    }

    /// What the store would tell a race about the TCP endpoint `addr` now, in this
    /// partition (exploration and the used mark aside): [`HistoryStore::endpoint_facts`] with
    /// [`Endpoint::tcp`].
    pub fn facts(&self, addr: SocketAddr) -> Option<PathFacts> {
        self.endpoint_facts(Endpoint::tcp(addr))
    }

    /// What the store would tell a race about `endpoint` (TCP or QUIC) now, in this
    /// partition (exploration and the used mark aside).
    pub fn endpoint_facts(&self, endpoint: Endpoint) -> Option<PathFacts> {
        let memory = self.lock();
        let now = Instant::now();
        let state = *memory.peek(&self.partition, endpoint)?;
        let facts = memory.config.facts(&state, now, true);
        (!facts.is_empty()).then_some(facts)
    }

    /// What applies to a race to `target` starting now: the input of
    /// [`Engine::with_history`](eyeballs_proto::Engine::with_history).
    pub fn recall(&self, target: &Target) -> History {
        // A race of any kind: QUIC endpoints included.
        self.recall_at(&self.partition, target, true, Instant::now())
    }

    /// What the race of `report` teaches (its [`Report::lessons`]), recorded now.
    pub fn learn(&self, report: &Report) {
        self.learn_at(&self.partition, report, Instant::now());
    }

    /// [`HistoryStore::recall`] in `partition` at `now`, for a race that makes QUIC
    /// endpoints too if `quic`.
    pub(crate) fn recall_at(
        &self,
        partition: &Partition,
        target: &Target,
        quic: bool,
        now: Instant,
    ) -> History {
        if !quic && target.single_addr().is_some() {
            // One TCP endpoint: nothing to order, no next attempt to delay; no lock taken.
            return History::new();
        }
        let mut memory = self.lock();
        if let Some(addr) = target.single_addr() {
            // One address: its TCP endpoint alone has nothing to be ordered against and no
            // next attempt to delay, so history could change nothing, unless the race also
            // makes its QUIC endpoint (known services) and history knows that one: then the
            // order of the two and the delay after the first follow what is known.
            let quic = Endpoint {
                addr,
                protocol: Protocol::Quic,
            };
            if memory.peek(partition, quic).is_none() {
                return History::new();
            }
        }
        memory.check_network();
        if memory.paths.is_empty() {
            return History::new();
        }
        let every = u64::from(memory.config.explore_every);
        let explores = |races: u64| every != 0 && races % every == 0;
        let Memory {
            config,
            paths,
            hosts,
            address_races,
            ..
        } = &mut *memory;
        let protocols: &[Protocol] = if quic {
            &[Protocol::Tcp, Protocol::Quic]
        } else {
            &[Protocol::Tcp]
        };
        let mut recall = Recall {
            config,
            paths,
            partition,
            protocols,
            now,
            history: History::new(),
        };
        match target.host_name() {
            Some(name) => {
                let Some(host) = hosts.get_mut(&host_key(partition.name(), name)) else {
                    return History::new();
                };
                host.races += 1;
                let ordering = !explores(host.races);
                let winner = host.winner.filter(|_| ordering);
                for &addr in &host.endpoints {
                    recall.addr(addr, winner, ordering);
                }
            }
            None => {
                *address_races += 1;
                let ordering = !explores(*address_races);
                for addr in target.addrs().take(RECALLED_ADDRS) {
                    recall.addr(addr, None, ordering);
                }
            }
        }
        recall.history
    }

    pub(crate) fn learn_at(&self, partition: &Partition, report: &Report, now: Instant) {
        // The network was looked at when the race started (`recall_at`): once per race at most.
        let mut memory = self.lock();
        let mut winner = None;
        for lesson in report.lessons() {
            match lesson {
                Lesson::Connected { endpoint, rtt } => {
                    winner = Some(endpoint);
                    memory.sample(partition, endpoint, rtt, now);
                }
                Lesson::Failed { endpoint, failure } => {
                    memory.strike(partition, endpoint, failure, now);
                }
                // A lesson a later engine adds is not one this store knows how to keep.
                _ => {}
            }
        }
        if let Some(name) = &report.host {
            let key = host_key(partition.name(), name);
            let cap = memory.config.max_hosts;
            make_room(&mut memory.hosts, &key, cap);
            let host = memory.hosts.get_or_insert_mut(key, HostState::default);
            let mut seen = host_endpoints(report);
            let older: Vec<SocketAddr> = host
                .endpoints
                .iter()
                .copied()
                .filter(|a| !seen.contains(a))
                .collect();
            seen.extend(older);
            seen.truncate(HOST_ENDPOINTS);
            host.endpoints = seen;
            if winner.is_some() {
                host.winner = winner;
            }
        }
        if !memory.paths.is_empty() {
            memory.start_watch();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        // A panic while the lock was held leaves at worst a half-recorded lesson: the memory
        // is a cache, still consistent enough to use.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for HistoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HistoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let memory = self.lock();
        f.debug_struct("HistoryStore")
            .field("partition", &self.partition.name())
            .field("endpoints", &memory.paths.len())
            .field("hosts", &memory.hosts.len())
            .field("config", &memory.config)
            .finish_non_exhaustive()
    }
}

/// The endpoints of a race to a host name, as its next race should be told about them, by
/// socket address (each for both protocols): the attempted ones in order, then every answered
/// address on the attempts' ports (facts about an address learnt in any race of the partition
/// apply to the host's next race).
fn host_endpoints(report: &Report) -> Vec<SocketAddr> {
    let mut seen: Vec<SocketAddr> = Vec::new();
    let mut ports: Vec<u16> = Vec::new();
    for addr in report.attempts.iter().map(|a| a.endpoint.addr) {
        if !seen.contains(&addr) {
            seen.push(addr);
        }
        if !ports.contains(&addr.port()) {
            ports.push(addr.port());
        }
    }
    let answered = report.queries.iter().flat_map(|q| q.addresses.iter());
    for &ip in answered {
        for &port in &ports {
            let addr = SocketAddr::new(ip, port);
            if !seen.contains(&addr) && seen.len() < HOST_ENDPOINTS {
                seen.push(addr);
            }
        }
    }
    seen
}

/// Forgets the least recently used entries of `map` until a new `key` fits in `cap` (0
/// counts as 1).
fn make_room<K: std::hash::Hash + Eq, V>(map: &mut LruCache<K, V>, key: &K, cap: usize) {
    // Below the cap there is room whatever the key: no lookup (the caller's insert or get is
    // the one hash of the key).
    if map.len() < cap.max(1) || map.contains(key) {
        return;
    }
    while map.len() >= cap.max(1) {
        if map.pop_lru().is_none() {
            break;
        }
    }
}

/// The key of `name`'s entry in `partition`.
fn host_key(partition: &str, name: &str) -> String {
    let mut key = String::with_capacity(partition.len() + 1 + name.len());
    key.push_str(partition);
    key.push('\0');
    key.push_str(name);
    key
}

impl Memory {
    /// What is known of `endpoint` in `partition`, if anything (without marking it used).
    fn peek(&self, partition: &Partition, endpoint: Endpoint) -> Option<&PathState> {
        self.paths
            .peek(&(partition.hash, endpoint))?
            .state_in(partition)
    }

    fn flush(&mut self) {
        self.paths.clear();
        self.hosts.clear();
    }

    /// Flushes the store if the network changed since the last look (HE-4.6).
    fn check_network(&mut self) {
        if let Watch::On(watch) = &mut self.watch {
            // By the real clock, whatever the races' clock does (a paused tokio clock stands
            // still).
            let now = Instant::now();
            if self
                .checked
                .is_some_and(|at| now.saturating_duration_since(at) < NETWORK_CHECK_INTERVAL)
            {
                return;
            }
            self.checked = Some(now);
            if watch.changed() && !self.paths.is_empty() {
                tracing::debug!(target: "eyeballs", "network changed: history flushed");
                self.network_flushes += 1;
                self.flush();
            }
        }
    }

    /// Opens the network watch once there is something to protect.
    fn start_watch(&mut self) {
        if let Watch::NotYet = self.watch {
            self.watch = match NetworkWatch::new() {
                Ok(watch) => Watch::On(watch),
                Err(e) => {
                    tracing::debug!(target: "eyeballs", error = %e, "no network watch: history is flushed by hand only");
                    Watch::Unavailable
                }
            };
        }
    }

    fn path(&mut self, partition: &Partition, endpoint: Endpoint) -> &mut PathState {
        let key = (partition.hash, endpoint);
        make_room(&mut self.paths, &key, self.config.max_endpoints);
        let new = || Path {
            partition: partition.clone(),
            state: PathState::default(),
        };
        let path = self.paths.get_or_insert_mut(key, new);
        if path.state_in(partition).is_none() {
            // Another partition's entry under the same hash: replaced, never shared.
            *path = new();
        }
        &mut path.state
    }

    /// A handshake to `endpoint` took `rtt`: the estimate follows (RFC 6298, RFC 9002 §5.3
    /// for QUIC: the same smoothing) and any failure is forgiven.
    fn sample(&mut self, partition: &Partition, endpoint: Endpoint, rtt: Duration, now: Instant) {
        let until = now.checked_add(self.config.rtt_lifetime);
        let path = self.path(partition, endpoint);
        let estimate = match path.rtt {
            Some((old, old_until)) if applies(old_until, now) => old.update(rtt),
            _ => Rtt::first(rtt),
        };
        path.rtt = Some((estimate, until));
        path.strike = None;
    }

    fn strike(
        &mut self,
        partition: &Partition,
        endpoint: Endpoint,
        failure: PathFailure,
        now: Instant,
    ) {
        let config = self.config.clone();
        let path = self.path(partition, endpoint);
        let count = path.strike.map_or(1, |s| s.count.saturating_add(1));
        path.strike = Some(Strike {
            failure,
            until: now.checked_add(config.hold(count)),
            count,
        });
    }
}

/// What a race is told, gathered endpoint by endpoint from the store's paths.
struct Recall<'a> {
    config: &'a HistoryConfig,
    paths: &'a mut LruCache<PathKey, Path>,
    partition: &'a Partition,
    /// The protocols the race makes endpoints of.
    protocols: &'a [Protocol],
    now: Instant,
    history: History,
}

impl Recall<'_> {
    /// The facts of `addr`'s endpoints; `ordering`: with RTT and used-address facts (off for
    /// an exploring race); `winner`: the host's last winner.
    fn addr(&mut self, addr: SocketAddr, winner: Option<Endpoint>, ordering: bool) {
        for &protocol in self.protocols {
            let endpoint = Endpoint { addr, protocol };
            let Some(state) = self
                .paths
                .get(&(self.partition.hash, endpoint))
                .and_then(|path| path.state_in(self.partition))
            else {
                continue;
            };
            let facts = self
                .config
                .facts(state, self.now, ordering)
                .used(winner == Some(endpoint));
            self.history.insert_endpoint(endpoint, facts);
        }
    }
}

impl HistoryConfig {
    /// How long the `count`th failure in a row demotes an endpoint.
    pub(crate) fn hold(&self, count: u32) -> Duration {
        let doublings = count.saturating_sub(1).min(31);
        self.failure_hold
            .saturating_mul(1 << doublings)
            .min(self.max_failure_hold)
    }

    /// What applies of `state` at `now`.
    fn facts(&self, state: &PathState, now: Instant, ordering: bool) -> PathFacts {
        let mut facts = PathFacts::default();
        if let Some(strike) = state.strike {
            if applies(strike.until, now) {
                facts = PathFacts::failed(strike.failure);
            }
        }
        if ordering {
            if let Some((rtt, until)) = state.rtt {
                if applies(until, now) {
                    facts.rtt = Some(rtt);
                }
            }
        }
        facts
    }
}
