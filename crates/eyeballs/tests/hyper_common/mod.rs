//! Helpers shared by the hyper connector's tests: tiny HTTP/1.1 servers (plain and TLS),
//! self-signed certificates, and hyper-util clients.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::thread;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The response to every request: `200 OK`, the body names the address that answered.
pub fn response(local: IpAddr) -> Vec<u8> {
    let body = format!("{local}\n");
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Whether `head` holds a whole request head.
fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Serves HTTP/1.1 on `listener` from a thread, until the process ends: every request is
/// answered with [`response`], then the connection is closed.
pub fn serve_http(listener: TcpListener) {
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head_complete(&head) {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let local = conn.local_addr().unwrap().ip();
                let _ = conn.write_all(&response(local));
            });
        }
    });
}

/// Reads one request head from `stream` and answers it with [`response`] for `local`.
pub async fn respond<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, local: IpAddr) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head_complete(&head) {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.write_all(&response(local)).await;
    let _ = stream.shutdown().await;
}

/// hyper-util's legacy client (HTTP/1) over `connector`.
pub fn client<C>(connector: C) -> Client<C, Empty<Bytes>>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    Client::builder(TokioExecutor::new()).build(connector)
}

/// GETs `uri` and returns the response's parts and its body as text.
pub async fn get<C>(
    client: &Client<C, Empty<Bytes>>,
    uri: &str,
) -> Result<(http::response::Parts, String), hyper_util::client::legacy::Error>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let response = client.get(uri.parse().unwrap()).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Ok((parts, String::from_utf8(body.to_vec()).unwrap()))
}

/// A TCP listener on `ip` and `port`, if that port is free there.
pub fn listener_at(ip: IpAddr, port: u16) -> Option<TcpListener> {
    TcpListener::bind(SocketAddr::new(ip, port)).ok()
}

#[cfg(feature = "rustls")]
pub mod tls {
    //! Self-signed certificates and a TLS server.

    use std::net::IpAddr;
    use std::sync::Arc;

    use eyeballs::hyper::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use eyeballs::hyper::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
    use tokio_rustls::TlsAcceptor;

    /// A certificate and its key.
    pub struct Identity {
        pub cert: CertificateDer<'static>,
        pub key: PrivateKeyDer<'static>,
    }

    /// A self-signed certificate for these names (IP literals become IP addresses).
    pub fn self_signed(names: &[&str]) -> Identity {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let certified = rcgen::generate_simple_self_signed(names).unwrap();
        Identity {
            cert: certified.cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der())),
        }
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// A client configuration that trusts `cert` only.
    pub fn client_config(cert: &CertificateDer<'static>) -> ClientConfig {
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }

    /// A TLS acceptor presenting `identity`.
    pub fn acceptor(identity: &Identity) -> TlsAcceptor {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![identity.cert.clone()], identity.key.clone_key())
            .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }

    /// Serves HTTPS on `listener` until the task is dropped: each connection's TLS handshake,
    /// then one request answered with [`super::response`].
    pub async fn serve_https(listener: tokio::net::TcpListener, acceptor: TlsAcceptor) {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let local: IpAddr = tcp.local_addr().unwrap().ip();
                if let Ok(tls) = acceptor.accept(tcp).await {
                    super::respond(tls, local).await;
                }
            });
        }
    }
}
