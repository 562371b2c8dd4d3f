//! The QUIC section's TLS and QUIC pieces: loopback servers (TLS over TCP with ALPN h2, QUIC
//! with ALPN h3, on the same port of 127.0.0.1, on a thread of their own), and the client
//! configurations that trust them or the lab's CA.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

use eyeballs::proto::ServiceRecord;
use eyeballs::secure::{quinn, SecureConnector};
use eyeballs::Connector;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};

/// 127.0.0.1.
pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The ALPN ids TCP attempts offer: HTTP/2, then HTTP/1.1.
pub const TCP_ALPN: [&str; 2] = ["h2", "http/1.1"];

/// The ALPN id QUIC attempts offer: HTTP/3.
pub const QUIC_ALPN: &str = "h3";

/// The ring provider, the one eyeballs, quinn and the lab use here.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration trusting `roots`, offering `alpn`.
pub fn client_tls(roots: RootCertStore, alpn: &[&str]) -> Result<ClientConfig, String> {
    let mut tls = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
    Ok(tls)
}

/// A root store holding `cert` alone.
pub fn roots_of(cert: CertificateDer<'static>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert)
        .map_err(|e| format!("adding the CA certificate: {e}"))?;
    Ok(roots)
}

/// A quinn client configuration trusting `roots`, offering h3.
pub fn quinn_client(roots: RootCertStore) -> Result<quinn::ClientConfig, String> {
    let tls = client_tls(roots, &[QUIC_ALPN])?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| format!("QUIC client configuration: {e}"))?;
    Ok(quinn::ClientConfig::new(Arc::new(crypto)))
}

/// The connector the section races with: h2 and http/1.1 over TCP, h3 over QUIC (when
/// `quic`), the origin known to speak h3 and h2 on its port (as an `Alt-Svc` would say, so
/// that an address or a name without HTTPS records gets QUIC endpoints). No history: every
/// race is a first connection. `attempt_delay`: the Connection Attempt Delay (RFC 8305's
/// 250 ms unless the caller has a reason).
pub fn secure_connector(
    base: Connector,
    roots: RootCertStore,
    quic: bool,
    attempt_delay: std::time::Duration,
) -> Result<SecureConnector, String> {
    let tls = client_tls(roots, &TCP_ALPN)?;
    let base = base.without_history().attempt_delay(attempt_delay);
    if quic {
        let known = ServiceRecord::service(1).with_alpn([QUIC_ALPN, "h2"]);
        SecureConnector::new(base.known_service(known), tls)
            .quic([QUIC_ALPN])
            .map_err(|e| format!("QUIC: {e}"))
    } else {
        Ok(SecureConnector::new(base, tls))
    }
}

/// A self-signed certificate for 127.0.0.1 and its key.
pub struct Identity {
    /// The certificate (also the client's only root).
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

impl Identity {
    /// A new one.
    pub fn new() -> Result<Identity, String> {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
            .map_err(|e| format!("generating a certificate: {e}"))?;
        Ok(Identity {
            cert: certified.cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der())),
        })
    }

    fn server_config(&self, alpn: &[&str]) -> Result<ServerConfig, String> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| format!("server certificate: {e}"))?;
        config.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
        Ok(config)
    }
}

/// A TLS server (h2) and a QUIC server (h3) on one port of 127.0.0.1, on a thread of their
/// own with a current-thread tokio runtime; each connection is held until the client closes
/// it. Stopped and joined when dropped.
#[derive(Debug)]
pub struct LoopbackServers {
    /// Their address (TCP and UDP).
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackServers {
    /// Starts them.
    pub fn start(identity: &Identity) -> Result<LoopbackServers, String> {
        let tls = Arc::new(identity.server_config(&["h2"])?);
        let crypto =
            quinn::crypto::rustls::QuicServerConfig::try_from(identity.server_config(&["h3"])?)
                .map_err(|e| format!("QUIC server configuration: {e}"))?;
        let quic = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("quic-bench-servers".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("server runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(serve(tls, quic, ready_tx, stop_rx));
            })
            .map_err(|e| format!("spawning the server thread: {e}"))?;
        let addr = ready_rx
            .recv()
            .map_err(|_| "the server thread ended before listening".to_owned())??;
        Ok(LoopbackServers {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for LoopbackServers {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds a TCP listener on a free port of 127.0.0.1 and the QUIC endpoint on the same UDP
/// port (a few tries: the UDP port may be taken), says where, and serves until `stop`.
async fn serve(
    tls: Arc<ServerConfig>,
    quic: quinn::ServerConfig,
    ready: std::sync::mpsc::Sender<Result<SocketAddr, String>>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut bound = Err("no port".to_owned());
    for _ in 0..10 {
        let listener = match tokio::net::TcpListener::bind((LOCALHOST, 0)).await {
            Ok(l) => l,
            Err(e) => {
                bound = Err(format!("binding TCP: {e}"));
                continue;
            }
        };
        let Ok(addr) = listener.local_addr() else {
            continue;
        };
        match quinn::Endpoint::server(quic.clone(), addr) {
            Ok(endpoint) => {
                bound = Ok((listener, endpoint, addr));
                break;
            }
            Err(e) => bound = Err(format!("binding UDP {addr}: {e}")),
        }
    }
    let (listener, endpoint, addr) = match bound {
        Ok(b) => b,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(addr));
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let tcp = async {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tokio::io::copy(&mut tls, &mut tokio::io::sink()).await;
                }
            });
        }
    };
    let udp = async {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                if let Ok(conn) = incoming.await {
                    let _ = conn.closed().await;
                }
            });
        }
    };
    tokio::select! {
        _ = stop => {}
        () = tcp => {}
        () = udp => {}
    }
    endpoint.close(0u32.into(), b"");
}
