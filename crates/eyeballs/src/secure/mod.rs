//! Secure connections raced to their end: TLS over TCP (feature `tls`) and QUIC (feature
//! `quic`) on one Happy Eyeballs schedule (HEv3 §6).
//!
//! A [`SecureConnector`] counts an attempt as connected only once its security handshake is
//! done: TLS over TCP (V3-6.1.3), the QUIC handshake (V3-6.1.4). A path whose TCP handshake
//! completes but whose TLS never does (a middlebox, a wrong service on the port) loses to the
//! next attempt instead of winning and failing the request; and with QUIC, a client that can
//! speak HTTP/3 gets it where UDP works and falls back to TCP+TLS within the Connection
//! Attempt Delay where UDP is blocked or black-holed.
//!
//! Where QUIC endpoints come from (the engine makes them, [`Config::quic_alpn`]):
//! - the host's HTTPS records (V3-4.1.2) that offer one of the connector's QUIC protocols,
//!   when the connector asks for them ([`Connector::https_query`]; [`SecureConnector::quic`]
//!   turns it on);
//! - records the caller knows without DNS, [`Config::services`]: an `Alt-Svc` header
//!   (`h3=":443"` is `ServiceRecord::service(1).with_alpn(["h3"])`), or configuration ("this
//!   host speaks HTTP/3"), [`Connector::known_service`]. This is how an IP literal gets
//!   QUIC endpoints.
//!
//! ```no_run
//! # #[cfg(feature = "quic")]
//! # async fn example(roots: eyeballs::secure::rustls::RootCertStore)
//! # -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use std::sync::Arc;
//! use eyeballs::secure::{rustls, SecureConnector, SecureStream};
//!
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let mut tls = rustls::ClientConfig::builder_with_provider(provider)
//!     .with_safe_default_protocol_versions()?
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//! tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
//! let connector = SecureConnector::new(eyeballs::Connector::new(), tls).quic(["h3"])?;
//! let won = connector.connect("example.com", 443).await?;
//! match won.stream() {
//!     SecureStream::Quic(_) => println!("HTTP/3"),
//!     other => println!("{:?} over TLS", other.alpn()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`Config::quic_alpn`]: eyeballs_proto::Config::quic_alpn
//! [`Config::services`]: eyeballs_proto::Config::services
//! [`Connector::https_query`]: crate::Connector::https_query
//! [`Connector::known_service`]: crate::Connector::known_service

mod alpn;
#[cfg(all(feature = "quic", target_os = "linux"))]
mod icmp;
#[cfg(feature = "quic")]
mod quic;
mod stream;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use eyeballs_proto::{Protocol, SetupError, TargetError};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

pub use self::stream::SecureStream;
use crate::connector::{host_target, Connection, Connector};
use crate::driver::tokio::Pending;
use crate::driver::{AttemptKind, Plan, Progress};
use crate::error::Error;
use crate::label::Label;
use crate::report::AttemptSummary;
#[cfg(feature = "quic")]
pub use quic::NoInitialCipherSuite;

/// The rustls version whose [`ClientConfig`] the connector takes (re-exported from
/// tokio-rustls), to build one without depending on rustls yourself.
pub use tokio_rustls::rustls;

/// The quinn version whose [`Connection`](quinn::Connection) a QUIC race gives, re-exported
/// for the same reason.
#[cfg(feature = "quic")]
pub use quinn;

/// Races TLS over TCP (and QUIC, once [`SecureConnector::quic`] says which protocols) on the
/// Happy Eyeballs schedule of its [`Connector`]; an attempt wins when its handshake is done.
///
/// The TLS configuration brings its own root certificates (webpki-roots,
/// rustls-native-certs, a private CA): verification is never turned off here. Its
/// `alpn_protocols` are what TCP attempts offer (and, as [`Config::alpn`], which HTTPS
/// records are usable at all: V3-6.2.2); an attempt whose endpoint came from an HTTPS record
/// offers only the ids that record speaks. Cheap to clone.
///
/// [`Config::alpn`]: eyeballs_proto::Config::alpn
#[derive(Clone)]
pub struct SecureConnector {
    connector: Connector,
    tls: Arc<ClientConfig>,
    #[cfg(feature = "quic")]
    quic: Option<Arc<quic::QuicSetup>>,
}

impl fmt::Debug for SecureConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SecureConnector");
        d.field("connector", &self.connector)
            .field("alpn", &alpn::as_text(&self.tls.alpn_protocols));
        #[cfg(feature = "quic")]
        d.field(
            "quic_alpn",
            &self.quic.as_ref().map(|q| alpn::as_text(q.alpn())),
        );
        d.finish_non_exhaustive()
    }
}

impl SecureConnector {
    /// TLS over TCP under `tls`, raced by `connector`, whose [`Config::alpn`] becomes the
    /// protocols `tls` offers (unchanged when it offers none).
    ///
    /// [`Config::alpn`]: eyeballs_proto::Config::alpn
    pub fn new(mut connector: Connector, tls: impl Into<Arc<ClientConfig>>) -> Self {
        let tls = tls.into();
        if !tls.alpn_protocols.is_empty() {
            connector.config_mut().alpn = alpn::as_text(&tls.alpn_protocols);
        }
        SecureConnector {
            connector,
            tls,
            #[cfg(feature = "quic")]
            quic: None,
        }
    }

    /// Also races QUIC attempts offering `alpn` (most preferred first; `h3` for HTTP/3),
    /// under the same TLS configuration with these ids (HEv3 §6): the QUIC endpoints of the
    /// host's HTTPS records that offer one of them (this turns the HTTPS query on,
    /// V3-4.1.2) and of the records the connector knows ([`Connector::known_service`]).
    /// QUIC and TCP attempts alternate, QUIC first.
    ///
    /// Fails if the TLS configuration cannot do QUIC: QUIC needs TLS 1.3 with the
    /// `TLS13_AES_128_GCM_SHA256` suite (RFC 9001 §5.2).
    ///
    /// [`Connector::known_service`]: crate::Connector::known_service
    #[cfg(feature = "quic")]
    pub fn quic<I, S>(mut self, alpn: I) -> Result<Self, NoInitialCipherSuite>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids: Vec<String> = alpn.into_iter().map(Into::into).collect();
        let setup = quic::QuicSetup::new(
            &self.tls,
            ids.iter().map(|s| s.as_bytes().to_vec()).collect(),
        )?;
        let config = self.connector.config_mut();
        config.quic_alpn = ids;
        config.https_query = true;
        self.quic = Some(Arc::new(setup));
        Ok(self)
    }

    /// QUIC attempts use these quinn transport settings (idle timeout, flow control
    /// windows, congestion control) instead of quinn's defaults. Without [`quic`] first,
    /// nothing changes.
    ///
    /// [`quic`]: SecureConnector::quic
    #[cfg(feature = "quic")]
    pub fn quic_transport(mut self, transport: Arc<quinn::TransportConfig>) -> Self {
        if let Some(setup) = self.quic.take() {
            self.quic = Some(Arc::new((*setup).clone().with_transport(transport)));
        }
        self
    }

    /// The connector that runs the races.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The TLS configuration of TCP attempts.
    pub fn tls_config(&self) -> &Arc<ClientConfig> {
        &self.tls
    }

    /// The ALPN ids `attempt` of a race of this connector offered in its handshake (what
    /// both sides speak when its endpoint came from a service record, V3-6.2.2), as text.
    pub fn offered_alpn(&self, attempt: &AttemptSummary<'_>) -> Vec<String> {
        let caller: &[Vec<u8>] = match attempt.endpoint.protocol {
            #[cfg(feature = "quic")]
            Protocol::Quic => self.quic.as_ref().map_or(&[], |q| q.alpn()),
            Protocol::Tcp => &self.tls.alpn_protocols,
            _ => &[],
        };
        alpn::as_text(&alpn::offered(caller, attempt.service).unwrap_or_else(|| caller.to_vec()))
    }

    /// Connects to `host` on `port`, checking the certificate against `host` (an IP
    /// literal as an IP address).
    pub async fn connect(&self, host: &str, port: u16) -> Result<Connection<SecureStream>, Error> {
        self.connect_as(host, port, host).await
    }

    /// Connects to `host` on `port`, sending `server_name` in SNI and checking the
    /// certificate against it instead of `host` (a test CA's name, a host reached by
    /// address).
    pub async fn connect_as(
        &self,
        host: &str,
        port: u16,
        server_name: &str,
    ) -> Result<Connection<SecureStream>, Error> {
        let target = host_target(host, &[port])?;
        self.run(target, server_name).await
    }

    /// Connects to addresses the caller resolved already, checking certificates against
    /// `server_name`.
    pub async fn connect_addrs(
        &self,
        addrs: impl IntoIterator<Item = SocketAddr>,
        server_name: &str,
    ) -> Result<Connection<SecureStream>, Error> {
        let target = Connector::addrs_target(addrs)?;
        self.run(target, server_name).await
    }

    /// A TLS race over TCP only (the hyper `HttpsConnector`'s, which has checked `name`
    /// already): the address and TLS stream that won.
    #[cfg(feature = "rustls")]
    pub(crate) async fn connect_tls(
        &self,
        host: &str,
        port: u16,
        name: ServerName<'static>,
    ) -> Result<Connection<(SocketAddr, Box<TlsStream<TcpStream>>)>, Error> {
        let (target, label) = host_target(host, &[port])?;
        let tls_attempt = self.tls_attempts(name);
        let attempt = move |plan: Plan<'_>, progress: Progress| -> Pending<io::Result<_>> {
            let addr = plan.endpoint.addr;
            let attempt = tls_attempt(plan, progress);
            Box::pin(async move { Ok((addr, attempt.await?)) })
        };
        self.connector
            .drive((target, label), AttemptKind::Tls, attempt)
            .await
    }

    /// `server_name` checked, or the caller's error for the race to `label`.
    fn server_name(&self, server_name: &str, label: &Label) -> Result<ServerName<'static>, Error> {
        server_name_of(server_name).ok_or_else(|| {
            let e = TargetError::InvalidHost {
                name: server_name.chars().take(80).collect(),
                reason: "not a valid TLS server name",
            };
            Error::invalid(label.to_string(), SetupError::Target(e))
        })
    }

    /// What makes each TCP+TLS attempt: TCP with the connector's socket set-up, then TLS
    /// offering the ids the attempt's record speaks; the attempt reports its TCP handshake
    /// done (V3-6.1.5) and succeeds when TLS is (V3-6.1.3).
    fn tls_attempts(
        &self,
        name: ServerName<'static>,
    ) -> impl Fn(Plan<'_>, Progress) -> Pending<io::Result<Box<TlsStream<TcpStream>>>> {
        let tcp = self.connector.clone();
        let tls = Arc::clone(&self.tls);
        move |plan: Plan<'_>, progress: Progress| {
            let config = match alpn::offered(&tls.alpn_protocols, plan.service()) {
                None => Arc::clone(&tls),
                Some(ids) => {
                    let mut config = (*tls).clone();
                    config.alpn_protocols = ids;
                    Arc::new(config)
                }
            };
            let connect = tcp.tcp_connect(plan.endpoint.addr);
            let name = name.clone();
            Box::pin(async move {
                let tcp = connect.await?;
                // V3-6.1.5: TCP is done; the engine gives TLS about one more round trip.
                progress.transport_done();
                let stream = TlsConnector::from(config).connect(name, tcp).await?;
                Ok(Box::new(stream))
            })
        }
    }

    async fn run(
        &self,
        (target, label): (eyeballs_proto::Target, Label),
        server_name: &str,
    ) -> Result<Connection<SecureStream>, Error> {
        let name = self.server_name(server_name, &label)?;
        let tls_attempt = self.tls_attempts(name);
        let tcp_attempt =
            move |plan: Plan<'_>, progress: Progress| -> Pending<io::Result<SecureStream>> {
                let attempt = tls_attempt(plan, progress);
                Box::pin(async move { Ok(SecureStream::Tls(attempt.await?)) })
            };
        #[cfg(feature = "quic")]
        if let Some(setup) = self.quic.clone() {
            let options = Arc::clone(self.connector.socket());
            let quic_name = server_name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let mut sockets = quic::RaceSockets::default();
            let attempt =
                move |plan: Plan<'_>, progress: Progress| -> Pending<io::Result<SecureStream>> {
                    if plan.endpoint.protocol != Protocol::Quic {
                        return tcp_attempt(plan, progress);
                    }
                    let peer = plan.endpoint.addr;
                    match sockets.attempt(&options, &setup, peer, plan.service(), &quic_name) {
                        Ok(attempt) => Box::pin(attempt),
                        Err(e) => Box::pin(std::future::ready(Err(e))),
                    }
                };
            return self
                .connector
                .drive((target, label), AttemptKind::TlsAndQuic, attempt)
                .await;
        }
        self.connector
            .drive((target, label), AttemptKind::Tls, tcp_attempt)
            .await
    }
}

/// The TLS server name of a host: an IP literal (brackets removed) or a DNS name.
pub(crate) fn server_name_of(host: &str) -> Option<ServerName<'static>> {
    match eyeballs_proto::parse_ip_literal(host) {
        Ok(literal) => Some(ServerName::from(literal.ip)),
        Err(_) => ServerName::try_from(host.to_owned()).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn server_names_of_hosts() {
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(server_name_of("[2001:db8::1]"), Some(ServerName::from(ip)));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(server_name_of("192.0.2.1"), Some(ServerName::from(ip)));
        assert_eq!(
            server_name_of("example.com"),
            Some(ServerName::try_from("example.com").unwrap())
        );
        assert_eq!(server_name_of("bad..name"), None);
    }
}
