//! HTTP on the SOCKS port (on unless `--no-http`), through hyper's HTTP/1 server and client
//! (no parser of our own):
//!
//! - a forward proxy: `GET http://host/path HTTP/1.1` (any method, absolute-form) is sent
//!   to the server in origin-form (`GET /path`, `Host: host`) over a connection opened by a
//!   race, kept for the client's next request to the same host (keep-alive on both sides);
//!   hop-by-hop headers are dropped both ways (RFC 9110 §7.6.1: `Connection` and every
//!   header it names, `Proxy-Connection`, `Proxy-Authorization`, `Proxy-Authenticate`,
//!   `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`), `Via` is added (RFC 9110
//!   §7.6.3), and bodies are streamed both ways (hyper re-frames them: Content-Length,
//!   chunked, or close-delimited for an HTTP/1.0 client);
//! - `CONNECT host:port` tunnels (`HTTPS_PROXY=http://...`): 200 once the race connected,
//!   then bytes relayed both ways.
//!
//! With `--auth`, every request must carry `Proxy-Authorization: Basic` with the
//! credentials: 407 with `Proxy-Authenticate: Basic realm="eyeballs"` otherwise. A failed
//! race or a refused destination is answered with the status [`status_for`] maps from the
//! SOCKS reply, the one classification of failures ([`super::reply::failure_reply`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::{Authority, Scheme};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::auth::Login;
use super::client::{handshake_evicted, race, relay_both};
use super::gone::Gone;
use super::idle::{Activity, IdleStream};
use super::limits::HandshakeSlot;
use super::log::warn;
use super::reply::{failure_message, failure_reply, Reply};
use super::settings::Settings;
use super::target::Destination;

/// The longest request head (request line and headers) accepted: 431 beyond.
pub const MAX_HEAD: usize = 64 * 1024;

/// A response body: the server's, streamed, or a message of the proxy's own.
type Body = BoxBody<Bytes, hyper::Error>;

/// The client's socket as hyper sees it.
type ClientIo = TokioIo<IdleStream<TcpStream>>;

/// The status for a failed race or a refused destination: 403 for "not allowed", 504 for
/// a timeout (`--timeout`, or every attempt timed out), 502 for every other failure.
pub fn status_for(reply: Reply) -> StatusCode {
    match reply {
        Reply::NotAllowed => StatusCode::FORBIDDEN,
        Reply::TtlExpired => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// A connection to a server, kept for the client's next request to the same destination.
struct Upstream {
    destination: Destination,
    sender: SendRequest<Incoming>,
}

/// A CONNECT that succeeded: the relay starts once hyper hands the client's socket over.
struct Tunnel {
    upstream: TcpStream,
    upgrade: hyper::upgrade::OnUpgrade,
}

/// One client connection's state, shared by its requests (hyper serves them one at a time).
struct Conn {
    peer: SocketAddr,
    settings: Arc<Settings>,
    activity: Arc<Activity>,
    /// The handshake slot, given back once the first request head is read.
    handshake: SyncMutex<Option<HandshakeSlot>>,
    upstream: tokio::sync::Mutex<Option<Upstream>>,
    tunnel: SyncMutex<Option<Tunnel>>,
    requests: AtomicU64,
    /// Whether the client has gone, for the races of its requests.
    gone: Gone,
}

/// Serves one HTTP client connection: its requests until it closes, is idle past
/// `--handshake-timeout` between requests or `--idle-timeout` within one, or turns into a
/// CONNECT tunnel (relayed until both sides are done).
pub async fn serve(
    client: TcpStream,
    peer: SocketAddr,
    settings: Arc<Settings>,
    handshake: HandshakeSlot,
) {
    let eviction = handshake.eviction();
    let activity = Activity::new(settings.idle_timeout);
    let gone = Gone::watch(&client);
    let conn = Arc::new(Conn {
        gone,
        peer,
        settings: Arc::clone(&settings),
        activity: Arc::clone(&activity),
        handshake: SyncMutex::new(Some(handshake)),
        upstream: tokio::sync::Mutex::new(None),
        tunnel: SyncMutex::new(None),
        requests: AtomicU64::new(0),
    });
    let io: ClientIo = TokioIo::new(IdleStream::new(client, Arc::clone(&activity)));
    let service = {
        let conn = Arc::clone(&conn);
        service_fn(move |request| {
            let conn = Arc::clone(&conn);
            async move { Ok::<_, Infallible>(conn.handle(request).await) }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.handshake_timeout)
        .max_header_size(MAX_HEAD)
        // A client that half-closes after its request still gets the response.
        .half_close(true)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service).with_upgrades();
    // Evicted only while in the handshake (before the first request head is read).
    let served = tokio::select! {
        served = connection => served,
        () = eviction.wait() => return handshake_evicted(peer),
    };
    let requests = conn.requests.load(Ordering::Relaxed);
    if let Err(e) = served {
        if requests == 0 {
            warn(format_args!("client={peer} handshake failed: HTTP: {e}"));
        } else if !e.is_timeout() && !e.is_incomplete_message() {
            warn(format_args!(
                "client={peer} HTTP connection ended after {requests} requests: {e}"
            ));
        }
    }
    let tunnel = lock(&conn.tunnel).take();
    if let Some(tunnel) = tunnel {
        relay_tunnel(tunnel, activity).await;
    }
}

/// Locks a std mutex; a poisoned one (a panic elsewhere) still holds valid state.
fn lock<T>(mutex: &SyncMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Relays a tunnel whose 200 went out: the bytes hyper read past the CONNECT head first
/// (a TLS ClientHello, say), then both ways until both are done.
async fn relay_tunnel(tunnel: Tunnel, activity: Arc<Activity>) {
    let Ok(upgraded) = tunnel.upgrade.await else {
        return;
    };
    let _ = tunnel.upstream.set_nodelay(true);
    let mut upstream = IdleStream::new(tunnel.upstream, activity);
    match upgraded.downcast::<ClientIo>() {
        Ok(parts) => {
            let mut client = parts.io.into_inner();
            if !parts.read_buf.is_empty() && upstream.write_all(&parts.read_buf).await.is_err() {
                return;
            }
            relay_both(&mut client, &mut upstream).await;
        }
        // Only the socket given to hyper comes back; were it not, relay through hyper's.
        Err(upgraded) => {
            let mut client = TokioIo::new(upgraded);
            relay_both(&mut client, &mut upstream).await;
        }
    }
}

impl Conn {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        // The head is read: the handshake slot is free for another client.
        drop(lock(&self.handshake).take());
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(credentials) = &self.settings.auth {
            let login = Login {
                credentials,
                throttle: &self.settings.throttle,
                client: self.peer.ip(),
            };
            match request.headers().get(header::PROXY_AUTHORIZATION) {
                None => return auth_required(),
                Some(value)
                    if value
                        .to_str()
                        .is_ok_and(|value| credentials.matches_basic(value)) =>
                {
                    login.succeeded();
                }
                Some(_) => {
                    login.failed().await;
                    warn(format_args!(
                        "client={} handshake failed: authentication failed (HTTP Basic)",
                        self.peer
                    ));
                    return auth_required();
                }
            }
        }
        if request.method() == Method::CONNECT {
            self.connect(request).await
        } else {
            self.forward(request).await
        }
    }

    /// `CONNECT host:port`: races, answers 200 and leaves the tunnel for [`serve`].
    async fn connect(&self, mut request: Request<Incoming>) -> Response<Body> {
        let Some((host, port)) = request
            .uri()
            .authority()
            .and_then(|a| a.port_u16().map(|port| (a.host().to_owned(), port)))
        else {
            return self.refuse(StatusCode::BAD_REQUEST, "CONNECT needs HOST:PORT");
        };
        let destination = match Destination::from_host(&host, port) {
            Ok(d) => d,
            Err(refusal) => return self.refuse(status_for(refusal.reply), &refusal.reason),
        };
        match self.race_while_here(&destination).await {
            Ok(upstream) => {
                *lock(&self.tunnel) = Some(Tunnel {
                    upstream,
                    upgrade: hyper::upgrade::on(&mut request),
                });
                let mut response = Response::new(empty());
                response
                    .extensions_mut()
                    .insert(hyper::ext::ReasonPhrase::from_static(
                        b"Connection established",
                    ));
                response
            }
            Err(response) => response,
        }
    }

    /// An absolute-form request: forwarded in origin-form over a kept or new connection.
    async fn forward(&self, request: Request<Incoming>) -> Response<Body> {
        let uri = request.uri().clone();
        let Some(authority) = uri.authority().cloned() else {
            return self.refuse(
                StatusCode::BAD_REQUEST,
                "this is a proxy: send the absolute URL (GET http://host/path HTTP/1.1)",
            );
        };
        if uri.scheme() != Some(&Scheme::HTTP) {
            return self.refuse(
                StatusCode::BAD_REQUEST,
                "only http:// URLs are forwarded (https goes through CONNECT)",
            );
        }
        let port = authority.port_u16().unwrap_or(80);
        let destination = match Destination::from_host(authority.host(), port) {
            Ok(d) => d,
            Err(refusal) => return self.refuse(status_for(refusal.reply), &refusal.reason),
        };
        let mut kept = self.upstream.lock().await;
        let reusable = match kept.take() {
            Some(mut upstream) if upstream.destination == destination => {
                upstream.sender.ready().await.is_ok().then_some(upstream)
            }
            _ => None,
        };
        let mut upstream = match reusable {
            Some(upstream) => upstream,
            None => match self.open(destination).await {
                Ok(upstream) => upstream,
                Err(response) => return response,
            },
        };
        let request = to_origin_form(request, &authority);
        match upstream.sender.send_request(request).await {
            Ok(response) => {
                *kept = Some(upstream);
                from_server(response)
            }
            Err(e) => message(
                StatusCode::BAD_GATEWAY,
                &format!("the server at {} failed: {e}", upstream.destination),
            ),
        }
    }

    /// Races a new connection to `destination` and starts HTTP/1 on it.
    async fn open(&self, destination: Destination) -> Result<Upstream, Response<Body>> {
        let stream = self.race_while_here(&destination).await?;
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(IdleStream::new(stream, Arc::clone(&self.activity)));
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| {
                message(
                    StatusCode::BAD_GATEWAY,
                    &format!("HTTP with {destination} failed: {e}"),
                )
            })?;
        // Drives the connection until the server or this client's sender is done with it.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Upstream {
            destination,
            sender,
        })
    }

    /// Races a connection to `destination` for as long as the client is there: when it goes
    /// first, the race is dropped (every attempt aborted, every socket closed) and the
    /// connection ends with it.
    ///
    /// # Errors
    /// The response for the client: the race's failure, or (the client gone) a 502 that
    /// nobody reads, whose write ends the connection.
    async fn race_while_here(
        &self,
        destination: &Destination,
    ) -> Result<TcpStream, Response<Body>> {
        tokio::select! {
            // The race first: a client that half-closes right after its request still gets
            // the race's answer when both are ready (a refusal is instant), not a 502.
            biased;
            result = race(self.peer, destination, &self.settings) => result.map_err(|error| {
                message(status_for(failure_reply(&error)), &failure_message(&error))
            }),
            () = self.gone.closed() => {
                warn(format_args!(
                    "client={} left during the race to {destination}: race cancelled",
                    self.peer
                ));
                Err(message(StatusCode::BAD_GATEWAY, "the client left during the race"))
            }
        }
    }

    /// A refusal before any race: logged, then answered with `status`.
    fn refuse(&self, status: StatusCode, why: &str) -> Response<Body> {
        warn(format_args!(
            "client={} refused: {why}: status {}",
            self.peer,
            status.as_u16()
        ));
        message(status, why)
    }
}

/// The request for the server: origin-form, `Host` from the URL, hop-by-hop headers gone,
/// `Via` added; the body streamed as it comes.
fn to_origin_form(request: Request<Incoming>, authority: &Authority) -> Request<Incoming> {
    let (mut parts, body) = request.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    // RFC 9112 §3.2.2: a proxy replaces Host with the target URI's authority (without any
    // userinfo).
    let host = match authority.port() {
        Some(port) => format!("{}:{port}", authority.host()),
        None => authority.host().to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&host) {
        parts.headers.insert(header::HOST, value);
    }
    parts.headers.append(header::VIA, via(parts.version));
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    // A path and query taken from a valid URI is a valid origin-form URI.
    parts.uri = path.parse().unwrap_or_else(|_| Uri::from_static("/"));
    parts.version = Version::HTTP_11;
    Request::from_parts(parts, body)
}

/// The server's response for the client: hop-by-hop headers gone, `Via` added, the body
/// streamed.
fn from_server(response: Response<Incoming>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    parts.headers.append(header::VIA, via(parts.version));
    Response::from_parts(parts, body.boxed())
}

/// RFC 9110 §7.6.3: `Via: 1.1 eyeballs` (the protocol version the message came with, and
/// a pseudonym rather than a host name).
fn via(version: Version) -> HeaderValue {
    match version {
        Version::HTTP_10 => HeaderValue::from_static("1.0 eyeballs"),
        _ => HeaderValue::from_static("1.1 eyeballs"),
    }
}

/// Removes the headers meant for one connection only (RFC 9110 §7.6.1, RFC 9112): those
/// `Connection` names, then `Connection` itself and the fixed list.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
        HeaderName::from_static("keep-alive"),
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A plain-text answer of the proxy's own.
fn message(status: StatusCode, text: &str) -> Response<Body> {
    let body = Full::new(Bytes::from(format!("eyeballs proxy: {text}\n")))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// 407 with the challenge.
fn auth_required() -> Response<Body> {
    let mut response = message(
        StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        "proxy authentication required",
    );
    response.headers_mut().insert(
        header::PROXY_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"eyeballs\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_reply() {
        for (reply, status) in [
            (Reply::NotAllowed, 403),
            (Reply::TtlExpired, 504),
            (Reply::ConnectionRefused, 502),
            (Reply::HostUnreachable, 502),
            (Reply::NetworkUnreachable, 502),
            (Reply::GeneralFailure, 502),
        ] {
            assert_eq!(status_for(reply).as_u16(), status, "{reply}");
        }
    }

    #[test]
    fn hop_by_hop_headers_go_and_end_to_end_ones_stay() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, X-Secret"),
            ("connection", "x-other"),
            ("x-secret", "1"),
            ("x-other", "1"),
            ("proxy-connection", "keep-alive"),
            ("proxy-authorization", "Basic eA=="),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("content-length", "5"),
            ("content-type", "text/plain"),
            ("x-kept", "yes"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        remove_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-length", "content-type", "x-kept"]);
    }

    #[test]
    fn via_names_the_version_received() {
        assert_eq!(via(Version::HTTP_10), "1.0 eyeballs");
        assert_eq!(via(Version::HTTP_11), "1.1 eyeballs");
    }
}
