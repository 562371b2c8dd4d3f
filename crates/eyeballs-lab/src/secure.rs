//! The secure servers of the server namespace ([`LabBuilder::secure`](crate::LabBuilder::secure)):
//! on every served address and lab port, TLS over TCP (tokio-rustls) with HTTP/1.1 and
//! HTTP/2 (hyper-util's auto server), and QUIC (quinn) with HTTP/3 (h3 + h3-quinn).
//!
//! Every request is answered `200 OK`, `content-type: text/plain`, with the body
//! `<server address>\n` and the header `x-lab-protocol: h3` / `h2` / `http/1.1` (the HTTP
//! version the request came in on).
//!
//! One thread in the server namespace runs a current-thread tokio runtime with every
//! listener, endpoint and connection; the lab's stop socket ends it, and dropping the
//! runtime drops every task and socket.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::ca::TestCa;
use crate::netns::Ready;
use crate::{ports, tcp, LabError, Secure};

/// The counters of one address's secure servers.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SecureCounts {
    /// QUIC connection attempts the endpoint saw (a client Initial that started one).
    pub(crate) quic_incoming: usize,
    /// QUIC handshakes that completed on the server.
    pub(crate) quic_accepted: usize,
    /// QUIC connections open now.
    pub(crate) quic_open: usize,
    /// TLS handshakes over TCP that completed on the server.
    pub(crate) tls_accepted: usize,
}

/// Shared between the server thread and [`Lab`](crate::Lab).
#[derive(Debug, Default)]
pub(crate) struct Counters(Mutex<HashMap<IpAddr, SecureCounts>>);

impl Counters {
    pub(crate) fn get(&self, addr: IpAddr) -> SecureCounts {
        self.update(addr, |_| ())
    }

    /// Applies `f` to `addr`'s counts; returns them as they are after.
    fn update(&self, addr: IpAddr, f: impl FnOnce(&mut SecureCounts)) -> SecureCounts {
        // A poisoned lock only means another thread panicked while holding it; the
        // counters themselves are always consistent.
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let counts = map.entry(addr).or_default();
        f(counts);
        *counts
    }
}

/// Decrements `addr`'s open QUIC connections when dropped (also when the runtime drops
/// the connection's task).
struct QuicOpen(IpAddr, Arc<Counters>);

impl Drop for QuicOpen {
    fn drop(&mut self) {
        self.1
            .update(self.0, |c| c.quic_open = c.quic_open.saturating_sub(1));
    }
}

/// Marks a TCP connection closed in the TCP counters when dropped.
struct TcpOpen(IpAddr, Arc<tcp::Counters>);

impl Drop for TcpOpen {
    fn drop(&mut self) {
        self.1.closed(self.0);
    }
}

/// The TLS and QUIC server configurations, built once per lab from its [`TestCa`].
#[derive(Clone)]
pub(crate) struct Config {
    tls: TlsAcceptor,
    quic: quinn::ServerConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").finish_non_exhaustive()
    }
}

impl Config {
    /// TLS 1.3 and 1.2 with `secure.tls_alpn` over TCP; QUIC (TLS 1.3) with
    /// `secure.quic_alpn`; both with `ca`'s server certificate (sent with the CA
    /// certificate after it).
    pub(crate) fn new(ca: &TestCa, secure: &Secure) -> Result<Config, LabError> {
        let server_config = |versions: &[&'static rustls::SupportedProtocolVersion],
                             alpn: &[String]| {
            let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(versions)
            .map_err(|e| LabError::Config(format!("secure lab: TLS versions: {e}")))?
            .with_no_client_auth()
            .with_single_cert(ca.chain.clone(), ca.key())
            .map_err(|e| LabError::Config(format!("secure lab: server certificate: {e}")))?;
            config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
            Ok::<_, LabError>(config)
        };
        let tls = server_config(
            &[&rustls::version::TLS13, &rustls::version::TLS12],
            &secure.tls_alpn,
        )?;
        let quic = server_config(&[&rustls::version::TLS13], &secure.quic_alpn)?;
        let quic = quinn::crypto::rustls::QuicServerConfig::try_from(quic)
            .map_err(|e| LabError::Config(format!("secure lab: QUIC TLS configuration: {e}")))?;
        let mut quic = quinn::ServerConfig::with_crypto(Arc::new(quic));
        // One datagram per sendmsg: with GSO a whole flight leaves as one packet through
        // netfilter (segmented only at the receiving socket, after the veth), and
        // `UdpBehavior::Stall` would let the whole first flight through as "one datagram".
        let mut transport = quinn::TransportConfig::default();
        transport.enable_segmentation_offload(false);
        quic.transport_config(Arc::new(transport));
        Ok(Config {
            tls: TlsAcceptor::from(Arc::new(tls)),
            quic,
        })
    }
}

/// A change to the served addresses, made at run time by
/// [`Lab::set_behavior`](crate::Lab::set_behavior).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Command {
    /// Serve TLS and QUIC on the address (every port); nothing to do if it already does.
    Serve(IpAddr),
    /// Close the address's TCP listeners and QUIC endpoints (its QUIC connections close
    /// with it; its TLS connections stay).
    Stop(IpAddr),
}

type Request_ = (Command, mpsc::SyncSender<Result<(), LabError>>);

/// How long [`Control::send`] waits for the server thread's answer (it answers within a
/// few milliseconds; this only bounds a server thread that died).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long stopping an address waits for its QUIC connections to close, so that its
/// UDP ports are free when [`Command::Stop`] is answered.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The lab's handle on the running secure server thread.
#[derive(Debug)]
pub(crate) struct Control(tokio::sync::mpsc::UnboundedSender<Request_>);

/// The server thread's end of [`Control`].
#[derive(Debug)]
pub(crate) struct ControlRx(tokio::sync::mpsc::UnboundedReceiver<Request_>);

impl Control {
    pub(crate) fn channel() -> (Control, ControlRx) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Control(tx), ControlRx(rx))
    }

    /// Sends `command` and waits until the server thread has carried it out.
    pub(crate) fn send(&self, command: Command) -> Result<(), LabError> {
        let gone = || LabError::Thread("the secure server thread has stopped".into());
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.0.send((command, reply_tx)).map_err(|_| gone())?;
        match reply_rx.recv_timeout(ANSWER_TIMEOUT) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(LabError::Thread(format!(
                "the secure server thread did not answer {command:?} within {ANSWER_TIMEOUT:?}"
            ))),
        }
    }
}

/// What the server tasks share.
#[derive(Clone)]
struct Shared {
    config: Config,
    ports: Vec<u16>,
    tcp_counters: Arc<tcp::Counters>,
    counters: Arc<Counters>,
}

/// The listeners and endpoints of one address.
struct Served {
    tasks: Vec<JoinHandle<()>>,
    endpoints: Vec<quinn::Endpoint>,
    /// A second descriptor of each TCP listener (the accept loops own the first), so that
    /// stopping can take the listeners out of LISTEN ([`ports::stop_listening`]).
    listeners: Vec<TcpListener>,
}

impl Served {
    /// Binds a TCP listener and a QUIC endpoint on `addr` for every port, and starts their
    /// accept loops. Must run inside the runtime.
    fn start(addr: IpAddr, shared: &Shared) -> Result<Served, LabError> {
        let mut served = Served {
            tasks: Vec::new(),
            endpoints: Vec::new(),
            listeners: Vec::new(),
        };
        for port in &shared.ports {
            let sa = SocketAddr::new(addr, *port);
            let listener = ports::bind_retrying(|| TcpListener::bind(sa))
                .and_then(|l| {
                    l.set_nonblocking(true)?;
                    served.listeners.push(l.try_clone()?);
                    tokio::net::TcpListener::from_std(l)
                })
                .map_err(|e| LabError::io(format!("listening on TCP {sa}"), e))?;
            let socket = ports::bind_retrying(|| UdpSocket::bind(sa))
                .map_err(|e| LabError::io(format!("binding UDP {sa}"), e))?;
            let endpoint = quinn::Endpoint::new(
                quinn::EndpointConfig::default(),
                Some(shared.config.quic.clone()),
                socket,
                Arc::new(quinn::TokioRuntime),
            )
            .map_err(|e| LabError::io(format!("starting the QUIC endpoint on {sa}"), e))?;
            served
                .tasks
                .push(tokio::spawn(accept_tls(addr, listener, shared.clone())));
            served.tasks.push(tokio::spawn(accept_quic(
                addr,
                endpoint.clone(),
                shared.clone(),
            )));
            served.endpoints.push(endpoint);
        }
        Ok(served)
    }

    /// Stops the accept loops (their listeners close) and closes the endpoints, waiting up
    /// to [`STOP_GRACE`] for their connections to go and their UDP ports to be free.
    async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            // Cancelled: the task and its descriptor of the listener are gone once this
            // returns.
            let _ = task.await;
        }
        for listener in &self.listeners {
            ports::stop_listening(listener);
        }
        for endpoint in &self.endpoints {
            endpoint.close(0u32.into(), b"lab server stopped");
        }
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        for endpoint in &self.endpoints {
            let _ = tokio::time::timeout_at(deadline, endpoint.wait_idle()).await;
        }
        let bound: Vec<SocketAddr> = self
            .endpoints
            .iter()
            .filter_map(|e| e.local_addr().ok())
            .collect();
        // The endpoint drivers close the sockets once they run after the last handle is
        // gone: wait until each port can be bound again (or the grace period is over).
        drop(self.endpoints);
        for sa in bound {
            while UdpSocket::bind(sa).is_err() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// Serves TLS and QUIC on every `addrs` x `ports` until `stop` is readable; addresses are
/// added and removed at run time through `control`.
#[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
pub(crate) fn run(
    ready: Ready,
    config: Config,
    addrs: Vec<IpAddr>,
    ports: Vec<u16>,
    tcp_counters: Arc<tcp::Counters>,
    counters: Arc<Counters>,
    stop: Arc<UnixStream>,
    mut control: ControlRx,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return ready.fail(LabError::io("starting the secure servers' runtime", e)),
    };
    let shared = Shared {
        config,
        ports,
        tcp_counters,
        counters,
    };
    runtime.block_on(async move {
        // The lab's stop socket, watched by the runtime: a duplicate, made non-blocking
        // (which the original shares: the other threads only ever poll(2) it, never read).
        let stop = match stop.try_clone().and_then(|s| {
            s.set_nonblocking(true)?;
            tokio::net::UnixStream::from_std(s)
        }) {
            Ok(fd) => fd,
            Err(e) => return ready.fail(LabError::io("watching the lab's stop socket", e)),
        };
        let mut served = HashMap::new();
        for addr in addrs {
            match Served::start(addr, &shared) {
                Ok(s) => {
                    served.insert(addr, s);
                }
                Err(e) => return ready.fail(e),
            }
        }
        ready.ok();
        loop {
            tokio::select! {
                _ = stop.readable() => break,
                request = control.0.recv() => {
                    let Some((command, reply)) = request else { break };
                    let result = match command {
                        Command::Serve(addr) if served.contains_key(&addr) => Ok(()),
                        Command::Serve(addr) => Served::start(addr, &shared).map(|s| {
                            served.insert(addr, s);
                        }),
                        Command::Stop(addr) => {
                            if let Some(s) = served.remove(&addr) {
                                s.stop().await;
                            }
                            Ok(())
                        }
                    };
                    // The lab waits for this answer; if it gave up (timeout), nobody needs it.
                    let _ = reply.send(result);
                }
            }
        }
        // Tell the QUIC clients (CONNECTION_CLOSE) rather than leave them to time out;
        // dropping the runtime below drops every task and socket.
        for s in served.values() {
            for endpoint in &s.endpoints {
                endpoint.close(0u32.into(), b"lab stopped");
            }
        }
        tokio::task::yield_now().await;
    });
}

/// Accepts TCP connections on `listener` (an address's port) and serves TLS on each.
async fn accept_tls(addr: IpAddr, listener: tokio::net::TcpListener, shared: Shared) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // ECONNABORTED and friends: that connection is gone; EMFILE: wait a bit.
                eprintln!("eyeballs-lab: secure server: accept on {addr}: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.tcp_counters.opened(addr);
        let open = TcpOpen(addr, shared.tcp_counters.clone());
        let (acceptor, counters) = (shared.config.tls.clone(), shared.counters.clone());
        tokio::spawn(async move {
            let _open = open;
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            counters.update(addr, |c| c.tls_accepted += 1);
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let protocol = match request.version() {
                    Version::HTTP_2 => "h2",
                    _ => "http/1.1",
                };
                async move { Ok::<_, Infallible>(response(addr, protocol, Full::new(body(addr)))) }
            });
            // Ends when the client closes, or on a protocol error: either way the
            // connection is done.
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// Accepts QUIC connections on `endpoint` and serves HTTP/3 on each.
async fn accept_quic(addr: IpAddr, endpoint: quinn::Endpoint, shared: Shared) {
    while let Some(incoming) = endpoint.accept().await {
        shared.counters.update(addr, |c| c.quic_incoming += 1);
        let counters = shared.counters.clone();
        tokio::spawn(async move {
            let Ok(connection) = incoming.await else {
                return;
            };
            counters.update(addr, |c| {
                c.quic_accepted += 1;
                c.quic_open += 1;
            });
            let _open = QuicOpen(addr, counters);
            tokio::select! {
                _ = connection.closed() => {}
                () = serve_h3(addr, connection.clone()) => {
                    // h3 closed the connection (or the peer did): wait for quinn to say so.
                    connection.closed().await;
                }
            }
        });
    }
}

/// Serves HTTP/3 requests on `connection` until it closes.
async fn serve_h3(addr: IpAddr, connection: quinn::Connection) {
    let Ok(mut h3) = h3::server::builder()
        .build::<_, Bytes>(h3_quinn::Connection::new(connection))
        .await
    else {
        return;
    };
    // `Ok(None)`: the client closed the connection; `Err`: it is gone.
    while let Ok(Some(resolver)) = h3.accept().await {
        tokio::spawn(async move {
            let Ok((_request, mut stream)) = resolver.resolve_request().await else {
                return;
            };
            // A failed send: the client reset the stream or closed; nothing to do.
            if stream.send_response(response(addr, "h3", ())).await.is_ok()
                && stream.send_data(body(addr)).await.is_ok()
            {
                let _ = stream.finish().await;
            }
        });
    }
}

/// The body every secure server answers with: the address that served the request.
fn body(addr: IpAddr) -> Bytes {
    Bytes::from(format!("{addr}\n"))
}

/// `200 OK` with `x-lab-protocol: protocol` and the given body.
fn response<B>(addr: IpAddr, protocol: &'static str, body: B) -> Response<B> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert("x-lab-protocol", http::HeaderValue::from_static(protocol));
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(format!("{addr}\n").len()),
    );
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn response_names_the_address_and_protocol() {
        let addr: IpAddr = "2001:db8::10".parse().unwrap();
        let r = response(addr, "h2", body(addr));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-lab-protocol"], "h2");
        assert_eq!(r.headers()["content-length"], "13");
        assert_eq!(r.body(), &Bytes::from_static(b"2001:db8::10\n"));
    }
}
