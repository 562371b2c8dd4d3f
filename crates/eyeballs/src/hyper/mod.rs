//! Happy Eyeballs for hyper: tower `Service<Uri>` connectors for hyper-util's client, tonic,
//! and anything else that takes a hyper connector (feature `hyper`; HTTPS with feature
//! `rustls`).
//!
//! - [`HttpConnector`]: a TCP connection raced by an [`eyeballs::Connector`](crate::Connector)
//!   (its resolver, delays, timeouts and socket set-up), in place of hyper-util's own
//!   `HttpConnector`.
//! - [`HttpsConnector`] (feature `rustls`): TLS on top of the race, where an attempt wins
//!   only once its TLS handshake is done (V3-6.1.3), so that a middlebox that completes TCP
//!   on one address but never TLS does not win. `http` URIs go plain TCP.
//!
//! The connector honors the URI's host (a name, an IPv4 literal, or a bracketed IPv6 literal)
//! and port; without a port, `https` means 443 and any other scheme 80.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use std::time::Duration;
//!
//! use http_body_util::Empty;
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//!
//! let eyeballs = eyeballs::Connector::new().timeout(Duration::from_secs(10));
//! let client = Client::builder(TokioExecutor::new())
//!     .build::<_, Empty<Bytes>>(eyeballs::hyper::HttpConnector::new(eyeballs));
//! let response = client.get("http://example.com/".parse()?).await?;
//!
//! // Which address won, and the whole race.
//! let race = response.extensions().get::<eyeballs::hyper::RaceInfo>();
//! if let Some(race) = race {
//!     println!("connected to {} after {:?}", race.winner(), race.report().elapsed());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What a response tells
//!
//! Each connection's [`Connection::connected`] carries two extras, which hyper-util's client
//! copies into the extensions of every response received on that connection:
//! - [`RaceInfo`]: the winning address and the race's [`Report`] (every query and attempt,
//!   with offsets and errors): `response.extensions().get::<eyeballs::hyper::RaceInfo>()`.
//! - hyper-util's own [`HttpInfo`](hyper_util::client::legacy::connect::HttpInfo) (remote
//!   and local address), as its `HttpConnector` gives, so code that reads it keeps working.
//!
//! A response on a pooled connection carries the report of the race that opened that
//! connection, however long ago.
//!
//! # Errors
//!
//! The connectors fail with [`ConnectError`]: a URI they cannot connect to (no host, a scheme
//! they do not serve, a host that is not a valid TLS server name), or the race's
//! [`eyeballs::Error`](crate::Error) with its report. hyper-util's client wraps it: its
//! `Error::is_connect()` is true and the `ConnectError` is its
//! [`source`](std::error::Error::source):
//!
//! ```no_run
//! # async fn example(
//! #     client: hyper_util::client::legacy::Client<
//! #         eyeballs::hyper::HttpConnector,
//! #         http_body_util::Empty<hyper::body::Bytes>,
//! #     >,
//! # ) {
//! use std::error::Error as _;
//! use eyeballs::hyper::ConnectError;
//!
//! if let Err(e) = client.get("http://example.com/".parse().unwrap()).await {
//!     if let Some(e) = e.source().and_then(|s| s.downcast_ref::<ConnectError>()) {
//!         eprintln!("{e}"); // every attempt, with its address and error
//!     }
//! }
//! # }
//! ```
//!
//! The connector has no timeout of its own: the [`Connector`]'s (`timeout`,
//! `attempt_timeout`, `resolve_timeout`) bound each race.
//!
//! For tonic, and why reqwest has no adapter, see [the guide](crate::guide::hyper_clients).
//!
//! [`Connector`]: crate::Connector
//! [`Report`]: crate::Report
// `HttpsConnector` exists with feature `rustls` only; without it, links to it lead here.
#![cfg_attr(feature = "rustls", doc = "[`HttpsConnector`]: HttpsConnector")]
#![cfg_attr(not(feature = "rustls"), doc = "[`HttpsConnector`]: self")]

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::uri::Scheme;
use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::connector::Connector;
use crate::error::Error;
use crate::report::Report;

#[cfg(feature = "rustls")]
mod tls;

#[cfg(feature = "rustls")]
pub use tls::{rustls, HttpsConnector, HttpsStream};

/// A hyper connector (`tower_service::Service<Uri>`) that opens each connection with a Happy
/// Eyeballs race: hyper-util's `HttpConnector`, with RFC 8305 in place of its fallback
/// timer.
///
/// Built from a [`Connector`], whose configuration, resolver and socket set-up every race
/// uses. Cheap to clone (the [`Connector`] is). Like hyper-util's, it accepts `http` URIs
/// only, unless [`enforce_http(false)`](Self::enforce_http) lets other schemes through for a
/// TLS layer that wraps it (then `https` defaults to port 443). For HTTPS whose handshake
/// is part of the race, see [`HttpsConnector`] (feature `rustls`).
///
/// Each connection is an [`HttpStream`]; see [the module docs](self) for reading the winner
/// and the report from a response.
///
/// ```
/// use std::time::Duration;
/// use http_body_util::Empty;
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
///
/// let eyeballs = eyeballs::Connector::new().attempt_delay(Duration::from_millis(150));
/// let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
///     .build(eyeballs::hyper::HttpConnector::new(eyeballs));
/// # drop(client);
/// ```
#[cfg_attr(feature = "rustls", doc = "[`HttpsConnector`]: HttpsConnector")]
#[cfg_attr(not(feature = "rustls"), doc = "[`HttpsConnector`]: self")]
#[derive(Debug, Clone)]
pub struct HttpConnector {
    connector: Connector,
    enforce_http: bool,
}

impl Default for HttpConnector {
    /// RFC 8305's defaults and the system resolver ([`Connector::new`]).
    fn default() -> Self {
        Self::new(Connector::new())
    }
}

impl From<Connector> for HttpConnector {
    fn from(connector: Connector) -> Self {
        Self::new(connector)
    }
}

impl HttpConnector {
    /// A connector whose races `connector` runs.
    pub fn new(connector: Connector) -> Self {
        HttpConnector {
            connector,
            enforce_http: true,
        }
    }

    /// Whether only `http` URIs are accepted (default `true`, as hyper-util's). Set `false`
    /// when a TLS layer (hyper-rustls, hyper-tls, tonic's TLS) wraps this connector and
    /// passes `https` URIs down; the URI must still have a scheme.
    pub fn enforce_http(mut self, enforce: bool) -> Self {
        self.enforce_http = enforce;
        self
    }

    /// The connector that runs the races.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Connects to `uri`'s host and port: the same as the `Service` call.
    pub fn connect(&self, uri: Uri) -> Connecting<HttpStream> {
        let connector = self.connector.clone();
        let destination = if self.enforce_http {
            destination(&uri, |s| s == &Scheme::HTTP, "http")
        } else {
            destination(&uri, |_| true, "any scheme")
        };
        Connecting::new(async move {
            let (host, port) = destination?;
            let tcp = connector.clone();
            let won = connector
                .race(&host, port, move |addr| {
                    let attempt = tcp.tcp_connect(addr);
                    async move { attempt.await.map(|stream| (addr, stream)) }
                })
                .await
                .map_err(ConnectError::Connect)?;
            let ((winner, stream), report) = won.into_parts();
            Ok(HttpStream {
                io: TokioIo::new(stream),
                info: RaceInfo::new(winner, report),
            })
        })
    }
}

impl Service<Uri> for HttpConnector {
    type Response = HttpStream;
    type Error = ConnectError;
    type Future = Connecting<HttpStream>;

    /// Always ready.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        self.connect(uri)
    }
}

/// The future of one connection: the race (for `https`, each attempt's TLS handshake
/// included). Dropping it cancels the race and closes every socket.
#[must_use = "futures do nothing unless polled"]
pub struct Connecting<S> {
    fut: Pin<Box<dyn Future<Output = Result<S, ConnectError>> + Send>>,
}

impl<S> Connecting<S> {
    fn new(fut: impl Future<Output = Result<S, ConnectError>> + Send + 'static) -> Self {
        Connecting { fut: Box::pin(fut) }
    }
}

impl<S> Future for Connecting<S> {
    type Output = Result<S, ConnectError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.fut.as_mut().poll(cx)
    }
}

impl<S> fmt::Debug for Connecting<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connecting")
    }
}

/// What a response says about the race that opened its connection: the winning address and
/// the [`Report`]. Cheap to clone (the report is shared).
///
/// hyper-util's client puts it in the extensions of every response:
///
/// ```
/// # fn example(response: http::Response<()>) {
/// use eyeballs::hyper::RaceInfo;
///
/// if let Some(race) = response.extensions().get::<RaceInfo>() {
///     println!("won by {}", race.winner());
///     for attempt in race.report().attempts() {
///         println!("  {} at {:?}: {:?}", attempt.endpoint, attempt.started, attempt.end);
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RaceInfo {
    winner: SocketAddr,
    report: Arc<Report>,
}

impl RaceInfo {
    fn new(winner: SocketAddr, report: Report) -> Self {
        RaceInfo {
            winner,
            report: Arc::new(report),
        }
    }

    /// The address the connection is to: the attempt that won.
    pub fn winner(&self) -> SocketAddr {
        self.winner
    }

    /// The HTTPS record (RFC 9460) whose endpoint won, if the race had one (HEv3): the
    /// service chosen, with its protocols and ECH configuration list. ECH itself is not
    /// offered: the `rustls` feature builds on ring, which has no HPKE for ECH; a caller
    /// with an ECH-capable configuration finds the config list here.
    pub fn service(&self) -> Option<&eyeballs_proto::ServiceRecord> {
        let race = self.report.race();
        let winner = race.winner()?;
        race.services.get(winner.service?)
    }

    /// What the race did: every query and attempt, when and how each ended.
    pub fn report(&self) -> &Report {
        &self.report
    }
}

/// A connection [`HttpConnector`] opened: a TCP stream for hyper ([`hyper::rt::Read`] and
/// [`Write`]), whose [`Connection::connected`] reports a [`RaceInfo`] and
/// hyper-util's `HttpInfo`.
#[derive(Debug)]
pub struct HttpStream {
    io: TokioIo<TcpStream>,
    info: RaceInfo,
}

impl HttpStream {
    /// The winning address and the race's report.
    pub fn info(&self) -> &RaceInfo {
        &self.info
    }

    /// The TCP stream.
    pub fn tcp(&self) -> &TcpStream {
        self.io.inner()
    }

    /// The TCP stream and the race's outcome.
    pub fn into_parts(self) -> (TcpStream, RaceInfo) {
        (self.io.into_inner(), self.info)
    }
}

impl Connection for HttpStream {
    fn connected(&self) -> Connected {
        // hyper-util's TcpStream impl adds its HttpInfo (remote and local address).
        self.io.inner().connected().extra(self.info.clone())
    }
}

impl Read for HttpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for HttpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

/// Why a hyper connector could not connect.
///
/// The first variants are the caller's mistake (nothing was sent); [`ConnectError::Connect`]
/// is the race's verdict. Converts into [`io::Error`] (`InvalidInput` for the caller's
/// mistakes, else [`Error::io_kind`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URI has no host (hyper-util's client refuses such URIs before asking the
    /// connector; a direct call can still pass one).
    MissingHost {
        /// The URI.
        uri: Uri,
    },
    /// The URI's scheme is missing or not one this connector serves: [`HttpConnector`]
    /// takes `http` only (unless [`HttpConnector::enforce_http`] is off), `HttpsConnector`
    /// `http` and `https`.
    UnsupportedScheme {
        /// The URI.
        uri: Uri,
        /// The schemes the connector takes.
        expected: &'static str,
    },
    /// The URI's host is not a valid TLS server name (DNS name or IP address).
    InvalidServerName {
        /// The URI.
        uri: Uri,
    },
    /// The race failed (every attempt, TLS included, with its error is in the report), or
    /// rejected the host, port or configuration ([`ErrorKind::InvalidInput`](crate::ErrorKind)).
    Connect(Error),
}

impl ConnectError {
    /// The race's report, if a race ran.
    pub fn report(&self) -> Option<&Report> {
        match self {
            ConnectError::Connect(e) => e.report(),
            _ => None,
        }
    }

    /// The [`io::ErrorKind`] this error converts to.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            ConnectError::Connect(e) => e.io_kind(),
            _ => io::ErrorKind::InvalidInput,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::MissingHost { uri } => {
                write!(f, "cannot connect to {uri}: the URI has no host")
            }
            ConnectError::UnsupportedScheme { uri, expected } => match uri.scheme_str() {
                Some(scheme) => write!(
                    f,
                    "cannot connect to {uri}: scheme {scheme:?} is not supported, expected {expected}"
                ),
                None => write!(
                    f,
                    "cannot connect to {uri}: the URI has no scheme, expected {expected}"
                ),
            },
            ConnectError::InvalidServerName { uri } => write!(
                f,
                "cannot connect to {uri}: {:?} is not a valid TLS server name",
                uri.host().unwrap_or_default()
            ),
            // Transparent: the race's error says everything.
            ConnectError::Connect(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectError::Connect(e) => e.source(),
            _ => None,
        }
    }
}

impl From<ConnectError> for io::Error {
    fn from(e: ConnectError) -> Self {
        io::Error::new(e.io_kind(), e)
    }
}

/// Where `uri` points: its host (as the URI writes it: IPv6 literals keep their brackets,
/// which the race accepts) and port (default: 443 for `https`, else 80), if it has a host
/// and a scheme the connector serves (`accepted`, described as `expected`).
fn destination(
    uri: &Uri,
    accepted: impl Fn(&Scheme) -> bool,
    expected: &'static str,
) -> Result<(String, u16), ConnectError> {
    let host = match uri.host() {
        Some(host) if !host.is_empty() => host,
        _ => return Err(ConnectError::MissingHost { uri: uri.clone() }),
    };
    match uri.scheme() {
        Some(scheme) if accepted(scheme) => {}
        _ => {
            return Err(ConnectError::UnsupportedScheme {
                uri: uri.clone(),
                expected,
            })
        }
    }
    let port = uri.port_u16().unwrap_or_else(|| {
        if uri.scheme() == Some(&Scheme::HTTPS) {
            443
        } else {
            80
        }
    });
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_of_uris() {
        let cases = [
            ("http://example.com/", "example.com", 80),
            ("https://example.com/", "example.com", 443),
            ("http://example.com:8080/x", "example.com", 8080),
            ("https://192.0.2.1/", "192.0.2.1", 443),
            ("http://[2001:db8::1]:81/", "[2001:db8::1]", 81),
            ("grpc://example.com", "example.com", 80),
        ];
        for (uri, host, port) in cases {
            let uri: Uri = uri.parse().unwrap();
            let got = destination(&uri, |_| true, "any").unwrap();
            assert_eq!(got, (host.to_owned(), port), "{uri}");
        }
        let only_http = |s: &Scheme| s == &Scheme::HTTP;
        for (uri, missing_host) in [
            ("/path", true),
            ("https://example.com/", false),
            ("example.com:80", false),
        ] {
            let uri: Uri = uri.parse().unwrap();
            match destination(&uri, only_http, "http") {
                Err(ConnectError::MissingHost { .. }) => assert!(missing_host, "{uri}"),
                Err(ConnectError::UnsupportedScheme { .. }) => assert!(!missing_host, "{uri}"),
                other => panic!("{uri}: {other:?}"),
            }
        }
    }
}
