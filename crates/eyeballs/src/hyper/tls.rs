//! [`HttpsConnector`]: TLS inside the race (feature `rustls`).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::uri::Scheme;
use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{ClientConfig, ClientConnection};
use tower_service::Service;

use super::{destination, ConnectError, Connecting, HttpStream, RaceInfo};
use crate::connector::Connector;
use crate::secure::SecureConnector;

/// The rustls version this connector takes its [`ClientConfig`] from (re-exported from
/// tokio-rustls), to build one without depending on rustls yourself.
pub use tokio_rustls::rustls;

/// A hyper connector for `http` and `https` URIs whose race counts an `https` attempt as
/// connected only once its TLS handshake is done (V3-6.1.3): an address whose TCP handshake
/// completes but whose TLS never does (a TCP-terminating middlebox, a wrong service on the
/// port) loses to the next address instead of winning and failing the request.
///
/// `https` URIs get TLS with the URI's host as the server name (SNI and certificate check;
/// an IP literal is checked as an IP address), under the given rustls [`ClientConfig`];
/// `http` URIs get plain TCP, as from [`HttpConnector`](super::HttpConnector); other
/// schemes are refused. No root certificates are built in: the configuration brings its
/// own (webpki-roots, rustls-native-certs, a private CA). To negotiate HTTP/2, offer `h2`
/// in the configuration's `alpn_protocols` (and enable hyper-util's `http2`): the
/// connection then says so to the client.
///
/// Cheap to clone.
///
/// ```no_run
/// # async fn example(roots: eyeballs::hyper::rustls::RootCertStore)
/// # -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use std::sync::Arc;
/// use eyeballs::hyper::rustls::{self, ClientConfig};
/// use http_body_util::Empty;
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
///
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let tls = ClientConfig::builder_with_provider(provider)
///     .with_safe_default_protocol_versions()?
///     .with_root_certificates(roots)
///     .with_no_client_auth();
/// let connector = eyeballs::hyper::HttpsConnector::new(eyeballs::Connector::new(), tls);
/// let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
/// let response = client.get("https://example.com/".parse()?).await?;
/// let race = response.extensions().get::<eyeballs::hyper::RaceInfo>();
/// println!("TLS done with {:?}", race.map(|r| r.winner()));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HttpsConnector {
    connector: Connector,
    /// `connector` as `https` races use it: with the HTTPS query (V3-4.1.2) and the ALPN ids
    /// the TLS configuration offers (V3-6.2.2), TLS inside each attempt.
    https: SecureConnector,
}

impl fmt::Debug for HttpsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsConnector")
            .field("connector", &self.connector)
            .field("alpn_protocols", &self.https.tls_config().alpn_protocols)
            .finish_non_exhaustive()
    }
}

impl HttpsConnector {
    /// A connector whose races `connector` runs, with TLS under `tls`.
    ///
    /// `https` races also ask for the host's HTTPS records (HEv3 §4.1, V3-4.1.2: what an
    /// HTTP client should do; waited for at most the Resolution Delay), and use only the
    /// records whose protocols the TLS configuration offers in `alpn_protocols`
    /// (`http/1.1` when it offers none; V3-6.2.2). Each attempt is a
    /// [`SecureConnector`](crate::secure::SecureConnector) one: it offers the ids its record
    /// speaks, and its TCP handshake done holds the next attempt back while TLS goes on
    /// (V3-6.1.5).
    pub fn new(connector: Connector, tls: impl Into<Arc<ClientConfig>>) -> Self {
        let tls = tls.into();
        let mut https = connector.clone().https_query(true);
        if tls.alpn_protocols.is_empty() {
            https.config_mut().alpn = vec!["http/1.1".to_owned()];
        }
        HttpsConnector {
            connector,
            https: SecureConnector::new(https, tls),
        }
    }

    /// The connector that runs the races.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The TLS configuration.
    pub fn tls_config(&self) -> &Arc<ClientConfig> {
        self.https.tls_config()
    }

    /// Connects to `uri`'s host and port: the same as the `Service` call.
    pub fn connect(&self, uri: Uri) -> Connecting<HttpsStream> {
        let is_https = uri.scheme() == Some(&Scheme::HTTPS);
        let plain = self.connector.clone();
        let secure = self.https.clone();
        let destination = destination(
            &uri,
            |s| s == &Scheme::HTTP || s == &Scheme::HTTPS,
            "http or https",
        );
        Connecting::new(async move {
            let (host, port) = destination?;
            if !is_https {
                let plain = super::HttpConnector::new(plain).connect(uri);
                return Ok(HttpsStream::plain(plain.await?));
            }
            let Some(name) = crate::secure::server_name_of(&host) else {
                return Err(ConnectError::InvalidServerName { uri });
            };
            let won = secure
                .connect_tls(&host, port, name)
                .await
                .map_err(ConnectError::Connect)?;
            let ((winner, tls), report) = won.into_parts();
            Ok(HttpsStream {
                inner: Inner::Tls(TokioIo::new(tls)),
                info: RaceInfo::new(winner, report),
            })
        })
    }
}

impl Service<Uri> for HttpsConnector {
    type Response = HttpsStream;
    type Error = ConnectError;
    type Future = Connecting<HttpsStream>;

    /// Always ready.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        self.connect(uri)
    }
}

/// A connection [`HttpsConnector`] opened: TLS over TCP for `https`, plain TCP for `http`.
/// Implements [`hyper::rt::Read`], [`Write`](hyper::rt::Write) and [`Connection`], whose
/// [`connected`](Connection::connected) reports a [`RaceInfo`], hyper-util's `HttpInfo`, and
/// HTTP/2 when ALPN chose `h2`.
#[derive(Debug)]
pub struct HttpsStream {
    inner: Inner,
    info: RaceInfo,
}

#[derive(Debug)]
enum Inner {
    Tcp(TokioIo<TcpStream>),
    Tls(TokioIo<Box<TlsStream<TcpStream>>>),
}

impl HttpsStream {
    fn plain(stream: HttpStream) -> Self {
        let (tcp, info) = stream.into_parts();
        HttpsStream {
            inner: Inner::Tcp(TokioIo::new(tcp)),
            info,
        }
    }

    /// The winning address and the race's report.
    pub fn info(&self) -> &RaceInfo {
        &self.info
    }

    /// The TCP stream (under TLS, for `https`).
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Tcp(io) => io.inner(),
            Inner::Tls(io) => io.inner().get_ref().0,
        }
    }

    /// The TLS session (protocol version, ALPN, peer certificates), for `https`.
    pub fn tls(&self) -> Option<&ClientConnection> {
        match &self.inner {
            Inner::Tcp(_) => None,
            Inner::Tls(io) => Some(io.inner().get_ref().1),
        }
    }
}

impl Connection for HttpsStream {
    fn connected(&self) -> Connected {
        let connected = self.tcp().connected().extra(self.info.clone());
        match self.tls().and_then(|tls| tls.alpn_protocol()) {
            Some(b"h2") => connected.negotiated_h2(),
            _ => connected,
        }
    }
}

impl Read for HttpsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(io) => Pin::new(io).poll_read(cx, buf),
            Inner::Tls(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl Write for HttpsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(io) => Pin::new(io).poll_write(cx, buf),
            Inner::Tls(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(io) => Pin::new(io).poll_flush(cx),
            Inner::Tls(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(io) => Pin::new(io).poll_shutdown(cx),
            Inner::Tls(io) => Pin::new(io).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Tcp(io) => io.is_write_vectored(),
            Inner::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Inner::Tls(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }
}
