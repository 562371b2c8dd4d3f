//! [`SecureStream`]: what a secure race won.

use std::net::SocketAddr;

use eyeballs_proto::Protocol;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The connection a [`SecureConnector`](super::SecureConnector) race won: TLS over TCP, or
/// (feature `quic`) a QUIC connection, its handshake done either way (V3-6.1.3, V3-6.1.4).
#[derive(Debug)]
#[non_exhaustive]
pub enum SecureStream {
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
    /// A QUIC connection (quinn): open streams on it, or hand it to an HTTP/3 client
    /// (`h3-quinn`).
    #[cfg(feature = "quic")]
    Quic(quinn::Connection),
}

impl SecureStream {
    /// The transport: [`Protocol::Tcp`] for TLS over TCP, [`Protocol::Quic`] for QUIC.
    pub fn protocol(&self) -> Protocol {
        match self {
            SecureStream::Tls(_) => Protocol::Tcp,
            #[cfg(feature = "quic")]
            SecureStream::Quic(_) => Protocol::Quic,
        }
    }

    /// The ALPN protocol id the handshake settled on, if the server chose one.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        match self {
            SecureStream::Tls(tls) => tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec),
            #[cfg(feature = "quic")]
            SecureStream::Quic(quic) => quic
                .handshake_data()
                .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
                .and_then(|data| data.protocol),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            SecureStream::Tls(tls) => tls.get_ref().0.peer_addr(),
            #[cfg(feature = "quic")]
            SecureStream::Quic(quic) => Ok(quic.remote_address()),
        }
    }

    /// The TLS stream, if TCP won.
    pub fn into_tls(self) -> Option<Box<TlsStream<TcpStream>>> {
        match self {
            SecureStream::Tls(tls) => Some(tls),
            #[cfg(feature = "quic")]
            SecureStream::Quic(_) => None,
        }
    }

    /// The QUIC connection, if QUIC won.
    #[cfg(feature = "quic")]
    pub fn into_quic(self) -> Option<quinn::Connection> {
        match self {
            SecureStream::Quic(quic) => Some(quic),
            SecureStream::Tls(_) => None,
        }
    }
}
