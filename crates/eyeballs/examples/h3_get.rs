//! An HTTP GET over whatever won the race: HTTP/3 (h3 + h3-quinn) when QUIC won, HTTP/2 or
//! HTTP/1.1 over hyper when TCP+TLS won (HEv3 §6).
//!
//! ```text
//! cargo run -p eyeballs --features quic --example h3_get -- https://example.com/ [CA.pem]
//! ```
//!
//! The connector offers h3 over QUIC and h2, http/1.1 over TCP. QUIC endpoints come from the
//! host's HTTPS records that advertise h3, and from what the caller knows: this example says
//! the origin speaks h3 and h2 on its own port (what an `Alt-Svc: h3=":443"` header would say), so
//! QUIC is tried first even without a record, and TCP+TLS takes over within the Connection
//! Attempt Delay where UDP is blocked. Certificates are checked against CA.pem if given, else
//! the system's store.
//!
//! Where h3 is young: h3 0.0.x (with h3-quinn) changes its API between minor versions, has
//! no connection pool and no hyper integration; the request below is its whole client
//! surface, and its connection needs a task of its own to drive it (`poll_close`).

use std::error::Error;
use std::future::poll_fn;
use std::sync::Arc;

use bytes::Buf;
use eyeballs::proto::{Protocol, ServiceRecord};
use eyeballs::secure::rustls::pki_types::pem::PemObject;
use eyeballs::secure::rustls::pki_types::CertificateDer;
use eyeballs::secure::rustls::{self, ClientConfig, RootCertStore};
use eyeballs::secure::{SecureConnector, SecureStream};
use eyeballs::{Connection, Connector};
use http::Uri;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};

type BoxError = Box<dyn Error + Send + Sync>;

/// A fetched page and how it came.
#[derive(Debug)]
pub struct Page {
    /// QUIC or TCP.
    pub protocol: Protocol,
    /// The ALPN id settled (`h3`, `h2`, `http/1.1`).
    pub alpn: Option<String>,
    /// The response status.
    pub status: http::StatusCode,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// The race's report.
    pub report: eyeballs::Report,
}

/// A connector that offers h3 over QUIC and h2, http/1.1 over TCP, trusting `roots`, and
/// knows the origin speaks h3 on its own port.
pub fn connector(base: Connector, roots: RootCertStore) -> Result<SecureConnector, BoxError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // What an `Alt-Svc: h3=":<port>"` header and the origin's own TLS say together: h3, h2
    // (and, by default, http/1.1) on the origin's port. Its TCP endpoints belong to the
    // record too, so they stay in its group (TCP+TLS second, not after every QUIC one) and
    // offer what the record speaks over TCP: h2, http/1.1.
    let alt_svc = ServiceRecord::service(1).with_alpn(["h3", "h2"]);
    Ok(SecureConnector::new(base.known_service(alt_svc), tls).quic(["h3"])?)
}

/// GET `uri` (an `https` URI) through `connector`'s race.
pub async fn get(connector: &SecureConnector, uri: &Uri) -> Result<Page, BoxError> {
    let host = uri.host().ok_or("the URI has no host")?;
    let port = uri.port_u16().unwrap_or(443);
    let won: Connection<SecureStream> = connector.connect(host, port).await?;
    let (stream, report) = won.into_parts();
    let protocol = stream.protocol();
    let alpn = stream
        .alpn()
        .map(|id| String::from_utf8_lossy(&id).into_owned());
    let (status, headers, body) = match stream {
        SecureStream::Quic(quic) => get_h3(quic, uri).await?,
        SecureStream::Tls(tls) => get_h1_or_h2(*tls, uri, alpn.as_deref()).await?,
        other => return Err(format!("unexpected stream {other:?}").into()),
    };
    Ok(Page {
        protocol,
        alpn,
        status,
        headers,
        body,
        report,
    })
}

type Response = (http::StatusCode, http::HeaderMap, Vec<u8>);

/// HTTP/3 over the QUIC connection that won.
async fn get_h3(
    quic: eyeballs::secure::quinn::Connection,
    uri: &Uri,
) -> Result<Response, BoxError> {
    let (mut driver, mut send) = h3::client::new(h3_quinn::Connection::new(quic)).await?;
    // The connection's own task: control streams, GOAWAY, the close.
    let driving = tokio::spawn(async move { poll_fn(|cx| driver.poll_close(cx)).await });
    let request = http::Request::get(uri.clone()).body(())?;
    let mut stream = send.send_request(request).await?;
    stream.finish().await?;
    let response = stream.recv_response().await?;
    let mut body = Vec::new();
    while let Some(mut chunk) = stream.recv_data().await? {
        body.extend_from_slice(&chunk.copy_to_bytes(chunk.remaining()));
    }
    drop(send);
    driving.abort();
    let (parts, ()) = response.into_parts();
    Ok((parts.status, parts.headers, body))
}

/// HTTP/2 (ALPN `h2`) or HTTP/1.1 with hyper over the TLS stream that won.
async fn get_h1_or_h2(
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    uri: &Uri,
    alpn: Option<&str>,
) -> Result<Response, BoxError> {
    let io = TokioIo::new(tls);
    let response = if alpn == Some("h2") {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
        tokio::spawn(conn);
        let request = http::Request::get(uri.clone()).body(Empty::<bytes::Bytes>::new())?;
        send.send_request(request).await?
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(conn);
        let authority = uri.authority().ok_or("the URI has no host")?.as_str();
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = http::Request::get(path)
            .header(http::header::HOST, authority)
            .body(Empty::<bytes::Bytes>::new())?;
        send.send_request(request).await?
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes().to_vec();
    Ok((parts.status, parts.headers, body))
}

/// The certificates to trust: those of the PEM file, else the system's.
fn roots(ca: Option<&str>) -> Result<RootCertStore, BoxError> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)? {
                roots.add(cert?)?;
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    Ok(roots)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let uri: Uri = args.next().ok_or("usage: h3_get URL [CA.pem]")?.parse()?;
    let connector = connector(Connector::new(), roots(args.next().as_deref())?)?;
    let page = get(&connector, &uri).await?;
    eprintln!("{}", page.report);
    eprintln!(
        "{} over {:?} (ALPN {}): {}",
        uri,
        page.protocol,
        page.alpn.as_deref().unwrap_or("none"),
        page.status
    );
    print!("{}", String::from_utf8_lossy(&page.body));
    Ok(())
}
