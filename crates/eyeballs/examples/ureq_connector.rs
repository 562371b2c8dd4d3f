//! ureq over Happy Eyeballs: a ureq 3 connector whose every new connection is raced by an
//! [`eyeballs::blocking::Connector`], and the agent built with it.
//!
//! ```text
//! cargo run -p eyeballs --features blocking --example ureq_connector
//! ```
//!
//! Written and tested against **ureq 3.5.2** (the version `crates/eyeballs/Cargo.toml` pins).
//! ureq's transport API lives in `ureq::unversioned`, outside semver: ureq may change it in
//! any minor release (never in a patch release), so pin the minor version you copy this for
//! (`ureq = "~3.5"`) and recheck on upgrade.
//!
//! The pieces, each usable on its own:
//! - [`EyeballsConnector`]: a `ureq::unversioned::transport::Connector` that races the
//!   request's host **by name** (so that AAAA and A are asked apart and the Resolution Delay
//!   applies, HE-3.3 to HE-3.6) and port, within ureq's connect timeout, and hands the winner
//!   to ureq as a [`StreamTransport`].
//! - [`StreamTransport`]: a ureq `Transport` over a connected `std::net::TcpStream`
//!   (ureq 3.5 does not export its own `TcpTransport`).
//! - [`NoLookup`]: a ureq `Resolver` that looks nothing up, since the connector resolves;
//!   with ureq's default resolver every request would first wait for a full `getaddrinfo`.
//! - [`agent`]: `Agent::with_parts` with the three.
//!
//! For HTTPS, chain ureq's TLS connector after this one (ureq feature `rustls`):
//! `EyeballsConnector::new(connector).chain(RustlsConnector::default())`; the race then
//! ends at TCP, not TLS (for TLS inside the race, use [`eyeballs::blocking::Connector::race`]
//! in a connector of your own). Proxies are not handled: the agent is built without one.
//!
//! `main` (and the test `tests/ureq_example.rs`, which compiles this file as a module) serves
//! HTTP on `127.0.0.1` from a thread of its own and GETs from it: no other traffic.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::uri::Scheme;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, ShutdownHandle, Transport,
};
use ureq::Agent;

/// A ureq connector that opens each connection with a Happy Eyeballs race.
///
/// The race runs on the request's host name and port (`https` defaults to 443, any other
/// scheme to 80), with the [`eyeballs::blocking::Connector`]'s resolver, delays and socket
/// set-up; ureq's connect timeout (`timeout_connect`, `timeout_global`), when set, bounds
/// the race as well as the connector's own `timeout`. ureq's resolved addresses are ignored:
/// pair it with [`NoLookup`].
#[derive(Debug, Clone)]
pub struct EyeballsConnector {
    connector: eyeballs::blocking::Connector,
}

impl EyeballsConnector {
    /// A ureq connector whose races `connector` runs.
    pub fn new(connector: eyeballs::blocking::Connector) -> Self {
        EyeballsConnector { connector }
    }
}

impl Connector<()> for EyeballsConnector {
    type Out = StreamTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let (host, port) = host_and_port(details.uri)?;
        // ureq's remaining connect budget, if it has one, caps the race's overall timeout.
        let bounded;
        let connector = match details.timeout.not_zero() {
            Some(budget) => {
                let own = self.connector.config().overall_timeout;
                let limit = own.map_or(*budget, |own| own.min(*budget));
                bounded = self.connector.clone().timeout(limit);
                &bounded
            }
            None => &self.connector,
        };
        let stream = connector
            .connect(host, port)
            .map_err(|e| ureq_error(e, details.timeout))?
            .into_stream();
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let transport = StreamTransport::new(stream, details.config);
        // Lets `Agent::shutdown` interrupt I/O blocked on this socket in other threads.
        (details.register_shutdown)(transport.shutdown_handle())?;
        Ok(Some(transport))
    }
}

/// The host (a name, an IPv4 literal or a bracketed IPv6 literal, all of which eyeballs
/// takes as they are) and port a request goes to.
pub fn host_and_port(uri: &Uri) -> Result<(&str, u16), ureq::Error> {
    let host = uri
        .host()
        .ok_or_else(|| ureq::Error::BadUri(format!("{uri}: no host")))?;
    let port = match uri.port_u16() {
        Some(port) => port,
        None if uri.scheme() == Some(&Scheme::HTTPS) => 443,
        None => 80,
    };
    Ok((host, port))
}

/// An eyeballs error as ureq's: a timeout as ureq's timeout of that step, no address as
/// `HostNotFound`, anything else as an [`io::Error`] of the fitting kind whose inner error
/// is the [`eyeballs::Error`] itself, report included (`get_ref()?.downcast_ref()`).
pub fn ureq_error(e: eyeballs::Error, timeout: NextTimeout) -> ureq::Error {
    match e.kind() {
        eyeballs::ErrorKind::TimedOut => ureq::Error::Timeout(timeout.reason),
        eyeballs::ErrorKind::NoAddresses => ureq::Error::HostNotFound,
        _ => ureq::Error::Io(io::Error::new(e.io_kind(), e)),
    }
}

/// A ureq `Transport` over a connected [`TcpStream`] in blocking mode, honouring ureq's
/// per-step timeouts.
#[derive(Debug)]
pub struct StreamTransport {
    /// Shared (weakly) with ureq's shutdown handle; all I/O goes through `&TcpStream`.
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// The socket's current read and write timeouts, so that each is set only on a change.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl StreamTransport {
    /// A transport over `stream` with the buffer sizes of ureq's `config`.
    pub fn new(stream: TcpStream, config: &Config) -> Self {
        StreamTransport {
            stream: Arc::new(stream),
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            read_timeout: None,
            write_timeout: None,
        }
    }

    /// The address the race connected to.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// A handle with which ureq shuts the socket down (`Agent::shutdown`).
    pub fn shutdown_handle(&self) -> Weak<dyn ShutdownHandle> {
        // ureq implements `ShutdownHandle` for `TcpStream`.
        let stream: Arc<dyn ShutdownHandle> = self.stream.clone();
        Arc::downgrade(&stream)
    }
}

impl Transport for StreamTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        let limit = socket_timeout(timeout)?;
        if limit != self.write_timeout {
            self.stream.set_write_timeout(limit)?;
            self.write_timeout = limit;
        }
        let output = &self.buffers.output()[..amount];
        (&*self.stream)
            .write_all(output)
            .map_err(|e| io_error(e, timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        let limit = socket_timeout(timeout)?;
        if limit != self.read_timeout {
            self.stream.set_read_timeout(limit)?;
            self.read_timeout = limit;
        }
        let started = Instant::now();
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match (&*self.stream).read(input) {
                // A signal: with a timeout, go on for the rest of it (Linux does not restart
                // a read that has one); without, the caller may have meant to interrupt.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    let Some(limit) = limit else {
                        return Err(e.into());
                    };
                    let left = limit.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        return Err(ureq::Error::Timeout(timeout.reason));
                    }
                    self.stream.set_read_timeout(Some(left))?;
                    self.read_timeout = Some(left);
                }
                result => break result.map_err(|e| io_error(e, timeout))?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // Idle and open: nothing to read, and reading would block. Data (which nobody asked
        // for), end of stream or an error mean the connection cannot be reused.
        if self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let idle = matches!(
            self.stream.peek(&mut [0]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        self.stream.set_nonblocking(false).is_ok() && idle
    }
}

/// The socket timeout for a step with `timeout` left: `None` for no limit, ureq's timeout
/// error if none is left.
fn socket_timeout(timeout: NextTimeout) -> Result<Option<Duration>, ureq::Error> {
    if timeout.after.is_zero() {
        return Err(ureq::Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|limit| *limit))
}

/// An I/O error of a step as ureq's: a socket timeout (`WouldBlock` on Unix, `TimedOut` on
/// Windows) as ureq's timeout of that step.
fn io_error(e: io::Error, timeout: NextTimeout) -> ureq::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ureq::Error::Timeout(timeout.reason),
        _ => ureq::Error::Io(e),
    }
}

/// A ureq resolver that looks nothing up: [`EyeballsConnector`] resolves the host itself,
/// each family's answer as it arrives.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookup;

impl Resolver for NoLookup {
    fn resolve(
        &self,
        _uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // No addresses, as ureq itself passes for a request through a proxy.
        Ok(self.empty())
    }
}

/// A ureq agent whose connections `connector` races, without a proxy.
pub fn agent(connector: eyeballs::blocking::Connector) -> Agent {
    let config = Agent::config_builder().proxy(None).build();
    Agent::with_parts(config, EyeballsConnector::new(connector), NoLookup)
}

/// A one-thread HTTP/1.1 server on `127.0.0.1` for the demonstration and the test.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    requests: std::sync::mpsc::Receiver<String>,
}

impl Server {
    /// Starts serving `body` to every request, one connection at a time, each connection
    /// closed after its response.
    pub fn start(body: &'static str) -> io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (heads, requests) = std::sync::mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                match respond(stream, body) {
                    Ok(head) => {
                        if heads.send(head).is_err() {
                            return; // nobody listens any more
                        }
                    }
                    Err(e) => eprintln!("server: {e}"),
                }
            }
        });
        Ok(Server { addr, requests })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The head (request line and headers) of the next request served.
    pub fn next_request(&self) -> io::Result<String> {
        self.requests
            .recv_timeout(Duration::from_secs(10))
            .map_err(|e| io::Error::new(io::ErrorKind::TimedOut, e))
    }
}

/// Reads one request head from `stream` and answers `200 OK` with `body`.
fn respond(mut stream: TcpStream, body: &str) -> io::Result<String> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::start("hello from 127.0.0.1\n")?;
    let connector = eyeballs::blocking::Connector::new().timeout(Duration::from_secs(5));
    let agent = agent(connector);

    let url = format!("http://{}/", server.addr());
    let mut response = agent.get(&url).call()?;
    let body = response.body_mut().read_to_string()?;
    let request = server.next_request()?;

    assert_eq!(response.status(), 200);
    assert_eq!(body, "hello from 127.0.0.1\n");
    assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request:?}");
    println!("GET {url}: {} {body:?}", response.status());
    Ok(())
}
