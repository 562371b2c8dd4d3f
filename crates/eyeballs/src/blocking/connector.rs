//! The blocking [`Connector`]: an [`eyeballs::Connector`](crate::Connector) whose races run on
//! the caller's thread.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use eyeballs_proto::{Config, FamilyPreference, Target};
use socket2::Socket;

use super::attempt;
use super::driver::{self, Sockets};
use super::interrupt::{Interrupt, Interruption};
use super::threads::Threads;
use crate::connector::{host_target, into_io, Connection};
use crate::error::Error;
use crate::label::Label;
use crate::resolver::Resolver;

/// Opens [`std::net::TcpStream`]s with Happy Eyeballs (RFC 8305), blocking the calling
/// thread: no async runtime.
///
/// The race is the tokio driver's, decided by the same engine through the same driver core,
/// with the same [`Report`](crate::Report) and [`Error`]. Cheap to clone; share it between
/// threads freely, each `connect*` call is independent.
///
/// The builder methods are the tokio [`Connector`](crate::Connector)'s, and so is their
/// meaning; or build that one and convert it with [`From`].
///
/// The resolver is called through [`Resolver::lookup_blocking`](crate::resolver::Resolver),
/// each query on a thread of a small shared pool; see [the module docs](super) for what that
/// means for each resolver, and for what may still run after a call returns.
///
/// ```
/// use std::net::TcpListener;
/// use std::time::Duration;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let connector = eyeballs::blocking::Connector::from(
///     eyeballs::Connector::new().timeout(Duration::from_secs(5)),
/// );
/// let connection = connector.connect_addrs([listener.local_addr()?])?;
/// assert_eq!(connection.report().winner(), Some(listener.local_addr()?));
/// let stream: std::net::TcpStream = connection.into_stream();
/// # drop(stream);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Connector {
    inner: crate::Connector,
    /// The caller's interruption check, if any.
    interrupt: Option<Interrupt>,
}

impl From<crate::Connector> for Connector {
    fn from(inner: crate::Connector) -> Self {
        Connector {
            inner,
            interrupt: None,
        }
    }
}

impl Connector {
    /// This connector with its tokio half changed by `f` (every builder method but the
    /// interruption check's).
    fn map(self, f: impl FnOnce(crate::Connector) -> crate::Connector) -> Self {
        Connector {
            inner: f(self.inner),
            interrupt: self.interrupt,
        }
    }

    /// Asks `check` whether to stop, on the race's own thread, whenever a signal interrupts
    /// the race's wait and at least every `interval` while it waits (at least
    /// [`MIN_INTERRUPT_INTERVAL`](super::MIN_INTERRUPT_INTERVAL)); an error from it ends the
    /// race at once: every attempt aborted, every socket closed, and the call fails with
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted), whose
    /// [`interruption`](Error::interruption) is that error. Default: none, a race waits
    /// for its own deadlines.
    ///
    /// For runtimes whose signal handlers run on the waiting thread: Python's
    /// `PyErr_CheckSignals` (Ctrl-C as `KeyboardInterrupt`), a flag a `SIGINT` handler sets.
    /// With a check, every attempt is polled (none connects in blocking mode, which could
    /// not be woken for it): two more system calls for a race of one address.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let stop = Arc::new(AtomicBool::new(false));
    /// let flag = Arc::clone(&stop);
    /// let connector = eyeballs::blocking::Connector::new().interrupt_check(
    ///     Duration::from_millis(50),
    ///     move || match flag.load(Ordering::Relaxed) {
    ///         true => Err(std::io::Error::other("stopped by the user")),
    ///         false => Ok(()),
    ///     },
    /// );
    /// # drop((connector, stop));
    /// ```
    pub fn interrupt_check<F, E>(mut self, interval: Duration, check: F) -> Self
    where
        F: Fn() -> Result<(), E> + Send + Sync + 'static,
        E: Into<Interruption>,
    {
        self.interrupt = Some(Interrupt::new(interval, check));
        self
    }

    /// RFC 8305's defaults and the system resolver. Same as [`Connector::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A connector with this configuration and the system resolver.
    pub fn with_config(config: Config) -> Self {
        crate::Connector::with_config(config).into()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        self.inner.config()
    }

    /// The configuration, to change any field. Checked when a race starts.
    pub fn config_mut(&mut self) -> &mut Config {
        self.inner.config_mut()
    }

    /// As [`Connector::resolver`](crate::Connector::resolver); called through
    /// [`Resolver::lookup_blocking`].
    pub fn resolver(self, resolver: impl Resolver + 'static) -> Self {
        self.map(|c| c.resolver(resolver))
    }

    /// As [`Connector::resolution_delay`](crate::Connector::resolution_delay).
    pub fn resolution_delay(self, delay: Duration) -> Self {
        self.map(|c| c.resolution_delay(delay))
    }

    /// As [`Connector::attempt_delay`](crate::Connector::attempt_delay).
    pub fn attempt_delay(self, delay: Duration) -> Self {
        self.map(|c| c.attempt_delay(delay))
    }

    /// As [`Connector::first_address_family_count`](crate::Connector::first_address_family_count).
    pub fn first_address_family_count(self, count: usize) -> Self {
        self.map(|c| c.first_address_family_count(count))
    }

    /// As [`Connector::family`](crate::Connector::family).
    pub fn family(self, family: FamilyPreference) -> Self {
        self.map(|c| c.family(family))
    }

    /// As [`Connector::destination_policy`](crate::Connector::destination_policy).
    pub fn destination_policy(self, policy: eyeballs_proto::DestinationPolicy) -> Self {
        self.map(|c| c.destination_policy(policy))
    }

    /// As [`Connector::network`](crate::Connector::network).
    pub fn network(self, network: eyeballs_proto::Network) -> Self {
        self.map(|c| c.network(network))
    }

    /// As [`Connector::https_query`](crate::Connector::https_query).
    pub fn https_query(self, on: bool) -> Self {
        self.map(|c| c.https_query(on))
    }

    /// As [`Connector::detect_network`](crate::Connector::detect_network), blocking
    /// ([`network::detect_network_blocking`](crate::network::detect_network_blocking)).
    pub fn detect_network(self) -> Self {
        let network = crate::network::detect_network_blocking(&*self.inner.resolver_arc());
        self.map(|c| c.network(network))
    }

    /// As [`Connector::auto_network`](crate::Connector::auto_network): the first race
    /// detects on its own thread before it starts; a refresh runs on a thread of its own.
    pub fn auto_network(self) -> Self {
        self.map(|c| c.auto_network())
    }

    /// As [`Connector::network_cache`](crate::Connector::network_cache).
    pub fn network_cache(&self) -> Option<&crate::network::NetworkCache> {
        self.inner.network_cache()
    }

    /// As [`Connector::history`](crate::Connector::history).
    pub fn history(self, store: crate::history::HistoryStore) -> Self {
        self.map(|c| c.history(store))
    }

    /// As [`Connector::without_history`](crate::Connector::without_history).
    pub fn without_history(self) -> Self {
        self.map(crate::Connector::without_history)
    }

    /// As [`Connector::history_store`](crate::Connector::history_store).
    pub fn history_store(&self) -> Option<&crate::history::HistoryStore> {
        self.inner.history_store()
    }

    /// As [`Connector::attempt_timeout`](crate::Connector::attempt_timeout).
    pub fn attempt_timeout(self, timeout: Duration) -> Self {
        self.map(|c| c.attempt_timeout(timeout))
    }

    /// As [`Connector::timeout`](crate::Connector::timeout).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|c| c.timeout(timeout))
    }

    /// As [`Connector::resolve_timeout`](crate::Connector::resolve_timeout).
    pub fn resolve_timeout(self, timeout: Duration) -> Self {
        self.map(|c| c.resolve_timeout(timeout))
    }

    /// As [`Connector::local_addrs`](crate::Connector::local_addrs).
    pub fn local_addrs(self, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.map(|c| c.local_addrs(addrs))
    }

    /// As [`Connector::bind_device`](crate::Connector::bind_device).
    pub fn bind_device(self, interface: impl Into<String>) -> Self {
        self.map(|c| c.bind_device(interface))
    }

    /// As [`Connector::on_event`](crate::Connector::on_event): the hook runs on the calling
    /// thread, between waits.
    pub fn on_event<F>(self, hook: F) -> Self
    where
        F: Fn(&crate::TimelineEntry<'_>) + Send + Sync + 'static,
    {
        self.map(|c| c.on_event(hook))
    }

    /// As [`Connector::on_socket`](crate::Connector::on_socket). The hook must not depend on
    /// the socket's blocking mode: an attempt that nothing else in the race can interrupt
    /// connects in blocking mode, the others in non-blocking mode.
    pub fn on_socket<F>(self, hook: F) -> Self
    where
        F: Fn(&Socket, SocketAddr) -> io::Result<()> + Send + Sync + 'static,
    {
        self.map(|c| c.on_socket(hook))
    }

    /// Connects to `host` (a name or an IP literal) on `port`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a bad host name, port
    /// or configuration; otherwise the network's verdict, with the race's report.
    pub fn connect(&self, host: &str, port: u16) -> Result<Connection<TcpStream>, Error> {
        self.connect_ports(host, &[port])
    }

    /// Connects to `host` on the first port that works: every address is tried on the first
    /// port before any address on the second.
    ///
    /// # Errors
    /// As [`Connector::connect`].
    pub fn connect_ports(&self, host: &str, ports: &[u16]) -> Result<Connection<TcpStream>, Error> {
        let (target, label) = host_target(host, ports)?;
        self.run(target, label)
    }

    /// Connects to addresses the caller resolved already (in the caller's order among
    /// equals), racing them the same way.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty list or a bad
    /// configuration; otherwise the network's verdict, with the race's report.
    pub fn connect_addrs(
        &self,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Connection<TcpStream>, Error> {
        let (target, label) = crate::Connector::addrs_target(addrs)?;
        self.run(target, label)
    }

    /// Races attempts of any kind on the Happy Eyeballs schedule, without a runtime: as
    /// [`Connector::race`](crate::Connector::race), with a blocking function. Each attempt
    /// calls `attempt` with its address on a thread of its own; the first `Ok` wins.
    ///
    /// A thread cannot be stopped: an attempt that lost (or was aborted, or timed out) runs to
    /// its end in the background and what it made is then dropped. Bound that time inside
    /// `attempt`, for example with [`Connector::tcp_connect`]'s timeout and socket read
    /// timeouts for a handshake.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpListener;
    /// use std::time::Duration;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let port = listener.local_addr()?.port();
    /// std::thread::spawn(move || {
    ///     let (mut peer, _) = listener.accept().unwrap();
    ///     peer.write_all(b"hello\n").unwrap();
    /// });
    /// let connector = eyeballs::blocking::Connector::new();
    /// let tcp = connector.clone();
    /// // Connected means: TCP up and the server's greeting read.
    /// let won = connector.race("127.0.0.1", port, move |addr| {
    ///     let mut stream = tcp.tcp_connect(addr, Some(Duration::from_secs(5)))?;
    ///     stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    ///     let mut greeting = [0u8; 6];
    ///     stream.read_exact(&mut greeting)?;
    ///     Ok::<_, std::io::Error>((stream, greeting))
    /// })?;
    /// assert_eq!(&won.stream().1, b"hello\n");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Connector::connect`].
    pub fn race<T, E, F>(&self, host: &str, port: u16, attempt: F) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
        F: Fn(SocketAddr) -> Result<T, E> + Send + Sync + 'static,
    {
        self.race_ports(host, &[port], attempt)
    }

    /// [`Connector::race`] over several ports, as [`Connector::connect_ports`].
    ///
    /// # Errors
    /// As [`Connector::connect`].
    pub fn race_ports<T, E, F>(
        &self,
        host: &str,
        ports: &[u16],
        attempt: F,
    ) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
        F: Fn(SocketAddr) -> Result<T, E> + Send + Sync + 'static,
    {
        let (target, label) = host_target(host, ports)?;
        self.run_threads(target, label, attempt)
    }

    /// [`Connector::race`] over addresses the caller resolved already, as
    /// [`Connector::connect_addrs`].
    ///
    /// # Errors
    /// As [`Connector::connect_addrs`].
    pub fn race_addrs<T, E, F>(
        &self,
        addrs: impl IntoIterator<Item = SocketAddr>,
        attempt: F,
    ) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
        F: Fn(SocketAddr) -> Result<T, E> + Send + Sync + 'static,
    {
        let (target, label) = crate::Connector::addrs_target(addrs)?;
        self.run_threads(target, label, attempt)
    }

    /// One blocking TCP connection to `addr` with this connector's socket set-up (local
    /// addresses, interface, hook) and no racing, giving up after `timeout` if one is given:
    /// the building block for [`Connector::race`].
    ///
    /// # Errors
    /// The socket's set-up or the connect failed, or `timeout` ran out
    /// ([`io::ErrorKind::TimedOut`]).
    pub fn tcp_connect(
        &self,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        attempt::connect(self.inner.socket(), addr, timeout)
    }

    fn run(&self, target: Target, label: Label) -> Result<Connection<TcpStream>, Error> {
        let network = self.inner.current_network_blocking();
        let now = Instant::now();
        let race = self.inner.begin((target, label), network, now)?;
        driver::run(
            race,
            self.inner.socket(),
            Sockets::default(),
            self.interrupt.clone(),
            now,
        )
    }

    fn run_threads<T, E, F>(
        &self,
        target: Target,
        label: Label,
        attempt: F,
    ) -> Result<Connection<T>, Error>
    where
        T: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
        F: Fn(SocketAddr) -> Result<T, E> + Send + Sync + 'static,
    {
        let network = self.inner.current_network_blocking();
        let now = Instant::now();
        let race = self.inner.begin((target, label), network, now)?;
        let attempts = Threads::new(move |addr| attempt(addr).map_err(into_io));
        driver::run(
            race,
            self.inner.socket(),
            attempts,
            self.interrupt.clone(),
            now,
        )
    }
}
