//! The connector: a configuration, a resolver and socket set-up, reusable for any number of
//! connections.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use eyeballs_proto::{Config, Engine, FamilyPreference, History, SetupError, Target, TargetError};
use socket2::Socket;
use tokio::net::TcpStream;

use crate::driver::tokio::{self as driver, Pending};
use crate::driver::{AttemptKind, Core, Plan, Progress};
use crate::error::Error;
use crate::history::{HistoryStore, Partition};
use crate::label::Label;
use crate::network::NetworkCache;
use crate::report::{EventHook, Report, TimelineEntry};
use crate::resolver::{Resolver, SystemResolver};
use crate::socket::SocketOptions;
use crate::source::{SourceCache, Sources};

/// Opens TCP connections with Happy Eyeballs (RFC 8305).
///
/// Built from a [`Config`] (every delay and limit, with RFC 8305's defaults) and the builder
/// methods below; cheap to clone and to share. Each `connect*` call runs one race: the AAAA
/// and A queries at once, RFC 6724 sorting, staggered attempts 250 ms apart, the first to
/// connect wins and every other attempt is closed.
///
/// Dropping a `connect*` future cancels the race: every attempt is aborted and every socket
/// closed before the drop returns.
///
/// ```no_run
/// # async fn example() -> Result<(), eyeballs::Error> {
/// use std::time::Duration;
/// let connector = eyeballs::Connector::new()
///     .attempt_delay(Duration::from_millis(150))
///     .timeout(Duration::from_secs(10));
/// let connection = connector.connect("example.com", 443).await?;
/// println!("connected to {:?}", connection.report().winner());
/// let stream: tokio::net::TcpStream = connection.into_stream();
/// # drop(stream);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Connector {
    /// Shared by clones and races (a race takes a reference, not a copy); changed by the
    /// builder methods copy-on-write.
    config: Arc<Config>,
    resolver: Arc<dyn Resolver>,
    socket: Arc<SocketOptions>,
    /// Probed source addresses, shared by every clone (RFC 6724 sorting).
    sources: Arc<SourceCache>,
    /// Told of each event of every race, as it happens.
    observer: Option<EventHook>,
    /// What earlier races taught, shared by every clone, and the partition its races use
    /// (the store's own, or one per interface and local addresses when the sockets are bound:
    /// [`SocketOptions::history_partition`], worked out when either changes rather than per
    /// race); `None` without history.
    history: Option<(HistoryStore, Partition)>,
    /// The network detected and kept fresh, shared by every clone
    /// ([`Connector::auto_network`]); `None`: `config.network` as given.
    network_cache: Option<NetworkCache>,
}

/// A race ready to run, whichever driver runs it: its core, and its resolver.
pub(crate) struct Race<'c, T> {
    pub(crate) core: Core<'c, T>,
    pub(crate) resolver: &'c Arc<dyn Resolver>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("config", &self.config)
            .field("resolver", &self.resolver)
            .field("socket", &self.socket)
            .field("on_event", &self.observer.as_ref().map(|_| "Fn"))
            .field("history", &self.history_store())
            .field("network_cache", &self.network_cache)
            .finish_non_exhaustive()
    }
}

impl Default for Connector {
    fn default() -> Self {
        Self::new()
    }
}

impl Connector {
    /// RFC 8305's defaults and the system resolver.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A connector with this configuration and the system resolver.
    pub fn with_config(config: Config) -> Self {
        Connector {
            config: Arc::new(config),
            resolver: Arc::new(SystemResolver::new()),
            socket: Arc::new(SocketOptions::default()),
            sources: Arc::default(),
            observer: None,
            history: None,
            network_cache: None,
        }
        .history(HistoryStore::new())
    }

    /// This connector on the network it runs on, detected now
    /// ([`network::detect_network`](crate::network::detect_network)): the families with
    /// connectivity (V3-4.1.1) and, on an IPv6-only network, the NAT64 prefixes its resolver
    /// reveals (RFC 7050); the engine then reaches IPv4 addresses through NAT64 (RFC 8305
    /// §7, HEv3 §8). Detected once: a connector that lives longer than the prefix's TTL or
    /// the network wants [`auto_network`](Self::auto_network).
    pub async fn detect_network(self) -> Self {
        let network = crate::network::detect_network(&*self.resolver_arc()).await;
        self.network(network)
    }

    /// This connector on the network it runs on, detected before the first race and kept
    /// fresh: what [`detect_network`](Self::detect_network) finds, cached for the DNS TTL
    /// of the NAT64 prefix's answer and discovered again 10 s before it runs out (RFC 7050
    /// §3, R7050-7), forgotten when the network changes. Shared by every clone. See
    /// [`NetworkCache`] for the rules; [`network_cache`](Self::network_cache) shows what
    /// it holds. Replaces a [`network`](Self::network) given before; a later one replaces
    /// this.
    pub fn auto_network(mut self) -> Self {
        self.network_cache = Some(NetworkCache::new());
        self
    }

    /// The cache of [`auto_network`](Self::auto_network), if on.
    pub fn network_cache(&self) -> Option<&NetworkCache> {
        self.network_cache.as_ref()
    }

    /// Uses `store` for history instead of this connector's own (to share one store between
    /// connectors, or to give this one a partition: [`HistoryStore::partition`]). Every
    /// connector has a store of its own by default, shared by its clones: see
    /// [`history`](crate::history).
    pub fn history(mut self, store: HistoryStore) -> Self {
        let partition = self.socket.history_partition(&store);
        self.history = Some((store, partition));
        self
    }

    /// The races' history partition again, after the socket set-up changed.
    fn repartition(mut self) -> Self {
        if let Some((store, partition)) = &mut self.history {
            *partition = self.socket.history_partition(store);
        }
        self
    }

    /// No history: every race sorts and waits as RFC 8305 says with nothing remembered, and
    /// teaches nothing.
    pub fn without_history(mut self) -> Self {
        self.history = None;
        self
    }

    /// The resolver, shared.
    pub(crate) fn resolver_arc(&self) -> Arc<dyn Resolver> {
        Arc::clone(&self.resolver)
    }

    /// The history store in use, if any.
    pub fn history_store(&self) -> Option<&HistoryStore> {
        self.history.as_ref().map(|(store, _)| store)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration, to change any field. Checked when a race starts.
    pub fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Uses `resolver` for host names (default: [`SystemResolver`]).
    pub fn resolver(mut self, resolver: impl Resolver + 'static) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    /// The Resolution Delay (default 50 ms, HE-3.6).
    pub fn resolution_delay(mut self, delay: Duration) -> Self {
        self.config_mut().resolution_delay = delay;
        self
    }

    /// The Connection Attempt Delay (default 250 ms, HE-5.7), used as given (the rule is
    /// [`Config::connection_attempt_delay`]'s): `attempt_delay(50 ms)` staggers attempts 50 ms
    /// apart. Below the 10 ms floor it is rejected when the race starts (HE-5.10).
    pub fn attempt_delay(mut self, delay: Duration) -> Self {
        self.config_mut().connection_attempt_delay = delay;
        self
    }

    /// How many addresses of the leading family go first (default 1, HE-4.8).
    pub fn first_address_family_count(mut self, count: usize) -> Self {
        self.config_mut().first_address_family_count = count;
        self
    }

    /// Which families to use and which one leads (default: prefer IPv6, HE-2.2).
    pub fn family(mut self, family: FamilyPreference) -> Self {
        self.config_mut().family = family;
        self
    }

    /// Which endpoints may be connected to (`Config::destinations`; default: all): checked
    /// for every endpoint, the caller's addresses and every DNS answer alike, before it is
    /// attempted. For code that connects where someone else says (a proxy, a server fetching
    /// URLs its users name: SSRF, DNS rebinding), start from
    /// [`DestinationPolicy::restricted`](eyeballs_proto::DestinationPolicy::restricted). A
    /// race whose every address is refused fails with [`Cause::Denied`](crate::Cause::Denied).
    ///
    /// ```
    /// use eyeballs::proto::DestinationPolicy;
    ///
    /// let connector = eyeballs::Connector::new()
    ///     .destination_policy(DestinationPolicy::restricted().deny("10.0.0.0/8".parse().unwrap()));
    /// # drop(connector);
    /// ```
    pub fn destination_policy(mut self, policy: eyeballs_proto::DestinationPolicy) -> Self {
        self.config_mut().destinations = policy;
        self
    }

    /// The network the races run on (`Config::network`; default: both families, no NAT64):
    /// which address queries are sent, which family leads, and, on an IPv6-only network with
    /// a NAT64 prefix, IPv4 addresses reached through their synthesized IPv6 addresses
    /// (RFC 6052). Turns [`auto_network`](Self::auto_network) off.
    pub fn network(mut self, network: eyeballs_proto::Network) -> Self {
        self.config_mut().network = network;
        self.network_cache = None;
        self
    }

    /// Whether a race to a host name also asks for its HTTPS records (`Config::https_query`,
    /// HEv3 §4.1, V3-4.1.2; default: no): first and together with AAAA and A, its answer
    /// waited for at most the Resolution Delay, and kept in the report. The resolver answers
    /// it ([`Resolver`](crate::resolver::Resolver) with [`RecordType::Https`](eyeballs_proto::RecordType::Https));
    /// the system and static resolvers have no HTTPS records and answer negatively at once.
    pub fn https_query(mut self, on: bool) -> Self {
        self.config_mut().https_query = on;
        self
    }

    /// A service record the caller knows without asking DNS (`Config::services`): an
    /// `Alt-Svc` header (RFC 7838; `h3=":443"` is `ServiceRecord::service(1).with_alpn(["h3"])`),
    /// or configuration. Every race of this connector counts it from the start as if the
    /// host's HTTPS answer held it (its protocols, its group, QUIC endpoints for the QUIC
    /// protocols it offers); an IP literal or a list of addresses gets QUIC endpoints this
    /// way. Repeat for several records.
    pub fn known_service(mut self, record: eyeballs_proto::ServiceRecord) -> Self {
        self.config_mut().services.push(record);
        self
    }

    /// The longest one attempt may take before the next starts at once (default: none).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.config_mut().attempt_timeout = Some(timeout);
        self
    }

    /// The longest a whole race may take, resolution included (default: none).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config_mut().overall_timeout = Some(timeout);
        self
    }

    /// The longest the race waits for each DNS query (default 10 s).
    pub fn resolve_timeout(mut self, timeout: Duration) -> Self {
        self.config_mut().resolve_timeout = Some(timeout);
        self
    }

    /// Local addresses to bind each socket to: for each attempt, the first one of the
    /// destination's family that binds (the next is tried on a bind error). A destination
    /// family with no local address here fails at once. Default: none (the OS chooses).
    pub fn local_addrs(mut self, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        Arc::make_mut(&mut self.socket).local_addrs = addrs.into_iter().collect();
        self.repartition()
    }

    /// Binds each socket to a network interface (Linux `SO_BINDTODEVICE`; needs
    /// `CAP_NET_RAW`). Ignored on other systems. Default: none.
    pub fn bind_device(mut self, interface: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.socket).device = Some(interface.into());
        self.repartition()
    }

    /// Runs `hook` on every socket before it connects, with the destination: set
    /// `TCP_NODELAY`, keepalive, a firewall mark... An error fails that attempt only.
    pub fn on_socket<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Socket, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.socket).hook = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each event of every race as it happens (a query sent or answered,
    /// an attempt started or ended, with its OS error): the entry [`Report::timeline`] will
    /// list for it, whose `Display` is the timeline's line. For live output, logs and
    /// metrics; the hook runs on the race's task or thread, so keep it short. Default: none.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let lines = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&lines);
    /// let connector = eyeballs::Connector::new()
    ///     .on_event(move |entry| seen.lock().unwrap().push(entry.event.to_string()));
    /// connector.connect_addrs([listener.local_addr()?]).await?;
    /// assert_eq!(*lines.lock().unwrap(), [
    ///     format!("#0 connect {}", listener.local_addr()?),
    ///     "#0 connected".to_owned(),
    /// ]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_event<F>(mut self, hook: F) -> Self
    where
        F: Fn(&TimelineEntry<'_>) + Send + Sync + 'static,
    {
        self.observer = Some(Arc::new(hook));
        self
    }

    /// Connects to `host` (a name or an IP literal) on `port`.
    pub async fn connect(&self, host: &str, port: u16) -> Result<Connection, Error> {
        self.connect_ports(host, &[port]).await
    }

    /// Connects to `host` on the first port that works: every address is tried on the first
    /// port before any address on the second.
    pub async fn connect_ports(&self, host: &str, ports: &[u16]) -> Result<Connection, Error> {
        let target = host_target(host, ports)?;
        self.drive(target, AttemptKind::Tcp, self.tcp_attempts())
            .await
    }

    /// Connects to addresses the caller resolved already (in the caller's order among
    /// equals), racing them the same way.
    pub async fn connect_addrs(
        &self,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Connection, Error> {
        let target = Self::addrs_target(addrs)?;
        self.drive(target, AttemptKind::Tcp, self.tcp_attempts())
            .await
    }

    /// Races attempts of any kind on the Happy Eyeballs schedule: `attempt` is called with
    /// each address in turn (resolved from `host`, sorted, interleaved, staggered) and its
    /// future counts as connected when it returns `Ok`. The first success wins; the other
    /// attempts are dropped (cancelled), and so is a success that comes after the race is
    /// decided; if every attempt fails, the [`Error`]'s report lists each error.
    ///
    /// Use it when "connected" means more than a TCP handshake: TCP and then TLS (so that a
    /// middlebox that completes TCP but never TLS does not win, V3-6.1.3), QUIC, a protocol
    /// greeting. [`Connector::tcp_connect`] makes the TCP part with this connector's socket
    /// set-up. Errors that are not [`io::Error`]s are wrapped in one
    /// ([`io::Error::other`]); the original is its [`get_ref`](io::Error::get_ref).
    ///
    /// ```no_run
    /// # async fn example(tls: tokio_rustls_like::Connector) -> Result<(), eyeballs::Error> {
    /// let connector = eyeballs::Connector::new();
    /// let tcp = connector.clone();
    /// let won = connector
    ///     .race("example.com", 443, move |addr| {
    ///         let tcp = tcp.tcp_connect(addr);
    ///         let tls = tls.clone();
    ///         async move { tls.handshake(tcp.await?).await }
    ///     })
    ///     .await?;
    /// let tls_stream = won.into_stream();
    /// # drop(tls_stream);
    /// # Ok(())
    /// # }
    /// # mod tokio_rustls_like {
    /// #     #[derive(Clone)] pub struct Connector;
    /// #     impl Connector {
    /// #         pub async fn handshake(&self, s: tokio::net::TcpStream) -> std::io::Result<tokio::net::TcpStream> { Ok(s) }
    /// #     }
    /// # }
    /// ```
    pub async fn race<T, E, F, Fut>(
        &self,
        host: &str,
        port: u16,
        attempt: F,
    ) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.race_ports(host, &[port], attempt).await
    }

    /// [`Connector::race`] over several ports, as [`Connector::connect_ports`].
    pub async fn race_ports<T, E, F, Fut>(
        &self,
        host: &str,
        ports: &[u16],
        attempt: F,
    ) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (target, label) = host_target(host, ports)?;
        self.run(target, label, attempt).await
    }

    /// [`Connector::race`] over addresses the caller resolved already, as
    /// [`Connector::connect_addrs`].
    pub async fn race_addrs<T, E, F, Fut>(
        &self,
        addrs: impl IntoIterator<Item = SocketAddr>,
        attempt: F,
    ) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (target, label) = Self::addrs_target(addrs)?;
        self.run(target, label, attempt).await
    }

    /// The target of pre-resolved addresses, and its label for messages.
    pub(crate) fn addrs_target(
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<(Target, Label), Error> {
        // Counted on the way through: no list of our own.
        let mut first = None;
        let mut count = 0;
        let target = Target::addresses(addrs.into_iter().inspect(|&addr| {
            first.get_or_insert(addr);
            count += 1;
        }));
        let label = match first {
            Some(first) => Label::Addrs(first, count - 1),
            None => Label::NoAddrs,
        };
        let target =
            target.map_err(|e| Error::invalid(label.to_string(), SetupError::Target(e)))?;
        Ok((target, label))
    }

    /// One TCP connection attempt to `addr` with this connector's socket set-up (local
    /// addresses, interface, hook) and no racing: the building block for
    /// [`Connector::race`].
    pub fn tcp_connect(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        let socket = Arc::clone(self.socket());
        async move { socket.connect(addr).await }
    }

    /// How each attempt's socket is set up, for every driver.
    pub(crate) fn socket(&self) -> &Arc<SocketOptions> {
        &self.socket
    }

    /// Starts a race for `target` at `now` on the driver's clock: the engine, with the
    /// source of each pre-resolved address, and what the driver's I/O needs.
    ///
    /// `network`: what [`auto_network`](Self::auto_network)'s cache gave
    /// (asked in [`drive`](Self::drive)); `None` races on `config.network`.
    pub(crate) fn begin<T>(
        &self,
        (target, label): (Target, Label),
        network: Option<eyeballs_proto::Network>,
        now: std::time::Instant,
    ) -> Result<Race<'_, T>, Error> {
        // Borrowed from the connector for the race: no reference count touched per race.
        let sources = Sources::new(&self.socket, &self.sources);
        let target = sources.annotate_target(target);
        let (learner, history) = match &self.history {
            Some((store, partition)) => {
                let quic = !self.config.quic_alpn.is_empty();
                let recalled = store.recall_at(partition, &target, quic, now);
                (Some((store, partition)), recalled)
            }
            None => (None, History::new()),
        };
        // A race of addresses on the connector's network shares its configuration; one that
        // changes it gets its own.
        let mut config = Arc::clone(&self.config);
        if let Some(network) = network {
            if network != config.network {
                Arc::make_mut(&mut config).network = network;
            }
        }
        // V3-5.2.3: service records of equal priority in a new random order every race (only
        // a host name can have service records).
        if target.host_name().is_some() {
            Arc::make_mut(&mut config).service_seed = race_seed();
        }
        let engine = Engine::with_history(target, config, history, now)
            .map_err(|e| Error::invalid(label.to_string(), e))?;
        Ok(Race {
            core: Core::new(engine, sources, label, self.observer.as_ref(), learner),
            resolver: &self.resolver,
        })
    }

    async fn run<T, E, F, Fut>(
        &self,
        target: Target,
        label: Label,
        mut attempt: F,
    ) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let attempt = move |plan: Plan<'_>, _: Progress| -> Pending<io::Result<T>> {
            let fut = attempt(plan.endpoint.addr);
            Box::pin(async move { fut.await.map_err(into_io) })
        };
        self.drive((target, label), AttemptKind::Tcp, attempt).await
    }

    /// The attempts of a TCP race: [`Connector::run`]'s without the error conversion an
    /// `io::Error` needs not.
    fn tcp_attempts(
        &self,
    ) -> impl FnMut(Plan<'_>, Progress) -> Pending<io::Result<TcpStream>> + '_ {
        |plan: Plan<'_>, _: Progress| -> Pending<io::Result<TcpStream>> {
            Box::pin(self.tcp_connect(plan.endpoint.addr))
        }
    }

    /// Runs the race for `target` on the tokio driver with `attempt` making each attempt,
    /// of `kind`: the driver's future itself (no future of its own around it).
    pub(crate) fn drive<'c, T, A>(
        &'c self,
        target: (Target, Label),
        kind: AttemptKind,
        attempt: A,
    ) -> impl Future<Output = Result<Connection<T>, Error>> + 'c
    where
        T: 'c,
        A: FnMut(Plan<'_>, Progress) -> Pending<io::Result<T>> + 'c,
    {
        driver::run(self, target, kind, attempt)
    }

    /// The network cache of [`auto_network`](Self::auto_network) and the resolver it
    /// detects with, if there is a cache: where a tokio race asks for its network.
    pub(crate) fn network_source(&self) -> Option<(&NetworkCache, &Arc<dyn Resolver>)> {
        self.network_cache
            .as_ref()
            .map(|cache| (cache, &self.resolver))
    }
}

impl Connector {
    /// The network of [`auto_network`](Self::auto_network)'s cache, detected if needed;
    /// `None` without it: what a blocking race runs on (a tokio race asks the cache in
    /// [`drive`](Self::drive)).
    #[cfg(feature = "blocking")]
    pub(crate) fn current_network_blocking(&self) -> Option<eyeballs_proto::Network> {
        self.network_cache
            .as_ref()
            .map(|cache| cache.network_blocking(&self.resolver))
    }
}

/// The target of a host name (or IP literal) on ports, and its label for messages.
///
/// A link-local IPv6 literal's zone may be an interface name (`fe80::1%eth0`): it is mapped
/// to the interface's index here (the engine does no I/O).
pub(crate) fn host_target(host: &str, ports: &[u16]) -> Result<(Target, Label), Error> {
    let invalid = |e| Error::invalid(Label::host(host, ports).to_string(), SetupError::Target(e));
    let target = match Target::host_with_ports(host, ports) {
        Err(TargetError::ZoneName { zone }) => {
            let index = interface_index(&zone)
                .ok_or_else(|| invalid(TargetError::ZoneName { zone: zone.clone() }))?;
            // The literal parsed with its named zone: the same address with the index parses.
            let ip = eyeballs_proto::parse_ip_literal(host)
                .map(|literal| literal.ip)
                .map_err(|_| invalid(TargetError::ZoneName { zone }))?;
            Target::host_with_ports(&format!("{ip}%{index}"), ports).map_err(invalid)?
        }
        other => other.map_err(invalid)?,
    };
    // An IP literal on one port is labelled as its socket address (`[::1]:80`, which reads
    // better than `::1:80` and costs no copy of the text); a zone keeps the caller's spelling
    // (an interface name reads better than its index).
    let label = match target.single_addr() {
        Some(addr) if !host.contains('%') => Label::Addrs(addr, 0),
        _ => Label::host(host, ports),
    };
    Ok((target, label))
}

/// The index of the network interface named `name` (what `if_nametoindex` gives), read from
/// sysfs on Linux; `None` if there is no such interface (or elsewhere).
fn interface_index(name: &str) -> Option<u32> {
    if name.contains('/') || name == "." || name == ".." {
        return None;
    }
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")).ok()?;
    text.trim().parse().ok()
}

/// An attempt's error as an [`io::Error`]: itself if it is one, else wrapped.
pub(crate) fn into_io<E: Into<Box<dyn StdError + Send + Sync>>>(e: E) -> io::Error {
    match e.into().downcast::<io::Error>() {
        Ok(io) => *io,
        Err(other) => io::Error::other(other),
    }
}

/// What a race won (a TCP stream by default; whatever the attempts made with
/// [`Connector::race`]), with the race's report.
#[derive(Debug)]
pub struct Connection<S = TcpStream> {
    stream: S,
    report: Report,
}

impl<S> Connection<S> {
    /// What a race won and its report.
    pub(crate) fn new(stream: S, report: Report) -> Self {
        Connection { stream, report }
    }

    /// The connected stream.
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The connected stream, mutably.
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// What the race did.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The stream, without the report.
    pub fn into_stream(self) -> S {
        self.stream
    }

    /// The stream and the report.
    pub fn into_parts(self) -> (S, Report) {
        (self.stream, self.report)
    }
}

/// Connects to `host` (a name or an IP literal) on `port` with RFC 8305's defaults and the
/// system resolver: the common case. Every call (and `blocking::connect`, feature
/// `blocking`) shares one connector for the process, so they share its
/// [history](crate::history): a path that stalled one call does not lead the next.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// let stream = eyeballs::connect("example.com", 443).await?;
/// # drop(stream);
/// # Ok(())
/// # }
/// ```
pub async fn connect(host: &str, port: u16) -> Result<TcpStream, Error> {
    shared()
        .connect(host, port)
        .await
        .map(Connection::into_stream)
}

/// The connector of [`connect`] and `blocking::connect`: one for the process, made at the
/// first call.
pub(crate) fn shared() -> &'static Connector {
    static SHARED: std::sync::OnceLock<Connector> = std::sync::OnceLock::new();
    SHARED.get_or_init(Connector::new)
}

/// A random seed per race (V3-5.2.3): the standard library's per-process random hash keys
/// over a counter, no dependency and no system call.
fn race_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEYS: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    static RACES: AtomicU64 = AtomicU64::new(0);
    let n = RACES.fetch_add(1, Ordering::Relaxed);
    KEYS.get_or_init(RandomState::new).hash_one(n)
}
