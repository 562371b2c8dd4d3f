//! Loopback QUIC and TLS servers for the QUIC tests, and a connector that trusts them.
#![allow(dead_code)] // Each test binary uses its own part.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use eyeballs::proto::ServiceRecord;
use eyeballs::secure::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use eyeballs::secure::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use eyeballs::secure::{quinn, SecureConnector};
use eyeballs::Connector;

pub const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub struct Identity {
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

pub fn identity() -> Identity {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    Identity {
        cert: certified.cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der())),
    }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn server_config(identity: &Identity, alpn: &[&str]) -> ServerConfig {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![identity.cert.clone()], identity.key.clone_key())
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
    config
}

/// A TLS server (ALPN h2) on a free TCP port of 127.0.0.1, accepting until the test ends;
/// each connection is held (one more descriptor in this process) until the client closes it.
pub async fn tls_server(identity: &Identity) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((V4, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(identity, &["h2"])));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    // Hold the connection open until the client goes.
                    let _ = tokio::io::copy(&mut tls, &mut tokio::io::sink()).await;
                }
            });
        }
    });
    addr
}

/// A QUIC server (ALPN h3) on `addr`'s UDP port, accepting and holding connections.
pub fn quic_server(identity: &Identity, addr: SocketAddr) -> quinn::Endpoint {
    let crypto =
        quinn::crypto::rustls::QuicServerConfig::try_from(server_config(identity, &["h3"]))
            .unwrap();
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let endpoint = quinn::Endpoint::server(config, addr).unwrap();
    let server = endpoint.clone();
    tokio::spawn(async move {
        while let Some(incoming) = server.accept().await {
            tokio::spawn(async move {
                if let Ok(conn) = incoming.await {
                    let _ = conn.closed().await;
                }
            });
        }
    });
    endpoint
}

/// A connector that knows 127.0.0.1 speaks h3 (as an Alt-Svc would say) and trusts `cert`.
pub fn connector(cert: &CertificateDer<'static>) -> SecureConnector {
    connector_over(Connector::new(), cert)
}

/// [`connector`] over `base`.
pub fn connector_over(base: Connector, cert: &CertificateDer<'static>) -> SecureConnector {
    let mut roots = RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let mut tls = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let h3 = ServiceRecord::service(1).with_alpn(["h3", "h2"]);
    SecureConnector::new(base.known_service(h3), tls)
        .quic(["h3"])
        .unwrap()
}

pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits (up to 5 s: quinn drains a closed connection for three probe timeouts) until the
/// process has `want` descriptors open; returns how many it has.
pub async fn settle_fds(want: usize) -> usize {
    for _ in 0..100 {
        if open_fds() <= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    open_fds()
}
