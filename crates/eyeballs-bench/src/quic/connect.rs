//! One connection each way: straight with quinn, straight with tokio-rustls, or raced by a
//! `SecureConnector`; timed by the caller up to the usable connection, closed after.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use eyeballs::proto::Protocol;
use eyeballs::secure::{quinn, SecureConnector, SecureStream};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;

/// A usable connection, to be closed once the time is taken.
#[derive(Debug)]
pub struct Won {
    /// TCP (TLS over TCP) or QUIC.
    pub protocol: Protocol,
    /// The ALPN id the handshake settled on.
    pub alpn: Option<String>,
    held: Held,
}

#[derive(Debug)]
enum Held {
    /// A straight QUIC connection and the endpoint (UDP socket) made for it.
    Quic(quinn::Connection, quinn::Endpoint),
    /// A straight TLS stream.
    Tls(Box<TlsStream<TcpStream>>),
    /// What a race won.
    Raced(SecureStream),
}

impl Won {
    /// Closes it: a QUIC CONNECTION_CLOSE (code 0), or the TCP connection.
    pub fn close(self) {
        match self.held {
            Held::Quic(conn, endpoint) => {
                conn.close(0u32.into(), b"");
                // The endpoint's driver drains the connection, then closes the socket.
                drop(endpoint);
            }
            Held::Tls(tls) => drop(tls),
            Held::Raced(SecureStream::Quic(conn)) => conn.close(0u32.into(), b""),
            Held::Raced(other) => drop(other),
        }
    }
}

/// The TLS server name of `name`: an IP literal as an address.
fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    match name.parse::<IpAddr>() {
        Ok(ip) => Ok(ServerName::from(ip)),
        Err(_) => ServerName::try_from(name.to_owned()).map_err(|e| format!("{name:?}: {e}")),
    }
}

/// A QUIC connection straight to `peer` with quinn (no race): a new client endpoint (one UDP
/// socket, as a race makes one) and the handshake, certificate checked against `name`.
pub async fn quic_direct(
    config: &quinn::ClientConfig,
    peer: SocketAddr,
    name: &str,
) -> Result<Won, String> {
    let local = match peer {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let endpoint = quinn::Endpoint::client(local).map_err(|e| format!("UDP socket: {e}"))?;
    let conn = endpoint
        .connect_with(config.clone(), peer, name)
        .map_err(|e| format!("QUIC connect: {e}"))?
        .await
        .map_err(|e| format!("QUIC handshake: {e}"))?;
    let alpn = conn
        .handshake_data()
        .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|d| d.protocol)
        .map(|p| String::from_utf8_lossy(&p).into_owned());
    Ok(Won {
        protocol: Protocol::Quic,
        alpn,
        held: Held::Quic(conn, endpoint),
    })
}

/// TLS over TCP straight to `peer` with tokio-rustls (no race).
pub async fn tls_direct(
    config: &Arc<ClientConfig>,
    peer: SocketAddr,
    name: &str,
) -> Result<Won, String> {
    let name = server_name(name)?;
    let tcp = TcpStream::connect(peer)
        .await
        .map_err(|e| format!("TCP connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let alpn = tls
        .get_ref()
        .1
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    Ok(Won {
        protocol: Protocol::Tcp,
        alpn,
        held: Held::Tls(Box::new(tls)),
    })
}

/// A race of `connector` to `host` and `port`, certificates checked against `name`.
pub async fn raced(
    connector: &SecureConnector,
    host: &str,
    port: u16,
    name: &str,
) -> Result<Won, String> {
    let won = connector
        .connect_as(host, port, name)
        .await
        .map_err(|e| e.to_string())?;
    let stream = won.into_stream();
    Ok(Won {
        protocol: stream.protocol(),
        alpn: stream
            .alpn()
            .map(|p| String::from_utf8_lossy(&p).into_owned()),
        held: Held::Raced(stream),
    })
}
