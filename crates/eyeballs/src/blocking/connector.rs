//! The blocking [`Connector`]: an [`eyeballs::Connector`](crate::Connector) whose races run on
//! the caller's thread.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use eyeballs_proto::{Config, Engine, Target};

use super::driver;
use crate::connector::{host_target, Connection};
use crate::error::Error;

/// Opens [`std::net::TcpStream`]s with Happy Eyeballs (RFC 8305), blocking the calling
/// thread: no async runtime.
///
/// It wraps an [`eyeballs::Connector`](crate::Connector): build that one (configuration,
/// resolver, local addresses, socket hook) and convert it with [`From`]. The race is the same
/// one, decided by the same engine, with the same [`Report`](crate::Report) and
/// [`Error`]. Cheap to clone; share it between threads freely, each `connect*` call is
/// independent.
///
/// The resolver is called through [`Resolver::lookup_blocking`](crate::resolver::Resolver),
/// one thread per query; see [the module docs](super) for what that means for each resolver,
/// and for what may still run after a call returns.
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
}

impl From<crate::Connector> for Connector {
    fn from(inner: crate::Connector) -> Self {
        Connector { inner }
    }
}

impl Connector {
    /// RFC 8305's defaults and the system resolver. Same as [`Connector::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        self.inner.config()
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
        let (target, label) = self.inner.addrs_target(addrs)?;
        self.run(target, label)
    }

    fn run(&self, target: Target, label: String) -> Result<Connection<TcpStream>, Error> {
        let engine = Engine::new(target, self.inner.config().clone(), Instant::now())
            .map_err(|e| Error::invalid(label.clone(), e))?;
        let (stream, report) = driver::run(
            engine,
            Arc::clone(self.inner.resolver_handle()),
            Arc::clone(self.inner.socket_options()),
            label,
        )?;
        Ok(Connection::new(stream, report))
    }
}
