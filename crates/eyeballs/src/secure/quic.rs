//! QUIC attempts (feature `quic`, quinn): one UDP socket per family per race, shared by the
//! race's QUIC attempts (HEv3 §6).
//!
//! A race opens a family's socket (and its quinn endpoint) at its first QUIC attempt of that
//! family, and lets go of it when the race ends: the winner's connection keeps its endpoint
//! alive; every other connection was closed with a CONNECTION_CLOSE when its attempt was
//! dropped (quinn closes a connection whose last handle goes), and its socket closes once
//! quinn has drained it (RFC 9000 §10.2: three probe timeouts).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use eyeballs_proto::{Family, ServiceRecord};
use futures_util::future::{select, Either};
use quinn::crypto::rustls::QuicClientConfig;
use tokio_rustls::rustls::ClientConfig;

use super::alpn;
#[cfg(target_os = "linux")]
use super::icmp::ErrorWatch;
use super::SecureStream;
use crate::socket::SocketOptions;

pub use quinn::crypto::rustls::NoInitialCipherSuite;

/// How a connector makes QUIC attempts: the caller's rustls configuration with its QUIC
/// ALPN ids, and quinn's transport configuration.
#[derive(Clone)]
pub(crate) struct QuicSetup {
    /// The caller's TLS configuration with `alpn_protocols` = the QUIC ids.
    tls: Arc<ClientConfig>,
    /// The quinn configuration of an attempt that offers every QUIC id.
    client: quinn::ClientConfig,
    transport: Option<Arc<quinn::TransportConfig>>,
}

impl std::fmt::Debug for QuicSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicSetup")
            .field("alpn", &alpn::as_text(&self.tls.alpn_protocols))
            .finish_non_exhaustive()
    }
}

impl QuicSetup {
    /// QUIC attempts under `tls` (TLS 1.3 with `TLS13_AES_128_GCM_SHA256`, which QUIC's
    /// Initial packets need: RFC 9001 §5.2) offering `alpn`.
    pub(crate) fn new(
        tls: &ClientConfig,
        alpn: Vec<Vec<u8>>,
    ) -> Result<Self, NoInitialCipherSuite> {
        let mut tls = tls.clone();
        tls.alpn_protocols = alpn;
        let tls = Arc::new(tls);
        let client = Self::client_config(&tls, None)?;
        Ok(QuicSetup {
            tls,
            client,
            transport: None,
        })
    }

    fn client_config(
        tls: &Arc<ClientConfig>,
        transport: Option<&Arc<quinn::TransportConfig>>,
    ) -> Result<quinn::ClientConfig, NoInitialCipherSuite> {
        let crypto = QuicClientConfig::try_from(Arc::clone(tls))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        if let Some(transport) = transport {
            client.transport_config(Arc::clone(transport));
        }
        Ok(client)
    }

    /// The same with quinn transport settings of the caller's.
    pub(crate) fn with_transport(mut self, transport: Arc<quinn::TransportConfig>) -> Self {
        self.client.transport_config(Arc::clone(&transport));
        self.transport = Some(transport);
        self
    }

    /// The ALPN ids QUIC attempts offer, most preferred first.
    pub(crate) fn alpn(&self) -> &[Vec<u8>] {
        &self.tls.alpn_protocols
    }

    /// The quinn configuration of an attempt of `service`: the ids it speaks only.
    fn client_for(&self, service: Option<&ServiceRecord>) -> io::Result<quinn::ClientConfig> {
        match alpn::offered(self.alpn(), service) {
            None => Ok(self.client.clone()),
            Some(ids) => {
                let mut tls = (*self.tls).clone();
                tls.alpn_protocols = ids;
                Self::client_config(&Arc::new(tls), self.transport.as_ref())
                    .map_err(io::Error::other)
            }
        }
    }
}

/// One race's QUIC sockets, per family, opened at the first attempt that needs one.
#[derive(Default)]
pub(crate) struct RaceSockets {
    v6: Option<Socket>,
    v4: Option<Socket>,
}

/// A race's UDP socket of one family: the quinn endpoint on it and its ICMP errors.
#[derive(Clone)]
struct Socket {
    endpoint: quinn::Endpoint,
    #[cfg(target_os = "linux")]
    errors: Arc<ErrorWatch>,
}

impl RaceSockets {
    /// The socket of `peer`'s family, opened with `options` if it is the first.
    fn socket(&mut self, options: &SocketOptions, peer: SocketAddr) -> io::Result<Socket> {
        let slot = match Family::of(peer.ip()) {
            Family::V6 => &mut self.v6,
            Family::V4 => &mut self.v4,
        };
        if let Some(socket) = slot {
            return Ok(socket.clone());
        }
        let udp: std::net::UdpSocket = options.open_udp(peer)?.into();
        #[cfg(target_os = "linux")]
        let errors = Arc::new(ErrorWatch::new(&udp)?);
        let endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            None,
            udp,
            Arc::new(quinn::TokioRuntime),
        )?;
        let socket = Socket {
            endpoint,
            #[cfg(target_os = "linux")]
            errors,
        };
        Ok(slot.insert(socket).clone())
    }

    /// Starts a QUIC attempt to `peer` for `service`, checking the certificate against
    /// `server_name`: the future resolves when the handshake is done (V3-6.1.4), or fails
    /// with its error, or at once with `ConnectionRefused` / `HostUnreachable` when ICMP says
    /// the peer cannot be reached.
    pub(crate) fn attempt(
        &mut self,
        options: &SocketOptions,
        setup: &QuicSetup,
        peer: SocketAddr,
        service: Option<&ServiceRecord>,
        server_name: &str,
    ) -> io::Result<impl std::future::Future<Output = io::Result<SecureStream>> + Send + 'static>
    {
        let socket = self.socket(options, peer)?;
        let client = setup.client_for(service)?;
        let connecting = socket
            .endpoint
            .connect_with(client, peer, server_name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        #[cfg(target_os = "linux")]
        let refused = Box::pin(socket.errors.refusal(peer));
        #[cfg(not(target_os = "linux"))]
        let refused = Box::pin(std::future::pending::<io::Error>());
        Ok(async move {
            // Dropping `connecting` (the race lost it) closes the connection.
            match select(connecting, refused).await {
                Either::Left((done, _)) => Ok(SecureStream::Quic(done?)),
                Either::Right((error, _)) => Err(error),
            }
        })
    }
}
