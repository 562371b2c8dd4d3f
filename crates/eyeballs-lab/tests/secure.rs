//! The secure lab (`LabBuilder::secure`) and the UDP behaviours (`UdpBehavior`), measured
//! from the client namespace with plain quinn, h3, tokio-rustls and hyper clients that trust
//! the lab's test CA, and a std UDP socket with `IP_RECVERR`. The lab of every test has two
//! addresses, 198.18.0.10 and 2001:db8::10. Needs root (skips otherwise, fails under
//! `CI=true`).

mod common;

use common::wait_until;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Buf;
use eyeballs_lab::{Behavior, Lab, Secure, UdpBehavior};

const PORT: u16 = 4433;
/// How long a handshake that must not complete is given.
const HANG: Duration = Duration::from_millis(500);
const ECONNREFUSED: i32 = 111;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn addrs() -> [IpAddr; 2] {
    [ip("198.18.0.10"), ip("2001:db8::10")]
}

/// A secure lab with both addresses at `behavior`, their UDP at `udp` (if given).
fn secure_lab(behavior: Behavior, udp: Option<UdpBehavior>) -> Lab {
    let mut builder = Lab::builder().port(PORT).secure(Secure::default());
    for addr in addrs() {
        builder = builder.server(addr, behavior);
        if let Some(udp) = udp {
            builder = builder.udp(addr, udp);
        }
    }
    builder.start().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration that trusts the lab's CA only, offering `alpn`.
fn tls_client(
    lab: &Lab,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&str],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(lab.ca_der().unwrap()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config
}

/// A quinn client endpoint of `addr`'s family (call inside the client namespace, in a
/// runtime), trusting the lab's CA and offering ALPN h3.
fn quic_client(lab: &Lab, addr: IpAddr) -> quinn::Endpoint {
    let tls = tls_client(lab, &[&rustls::version::TLS13], &["h3"]);
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0".parse().unwrap()
    } else {
        "0.0.0.0:0".parse().unwrap()
    };
    let mut endpoint = quinn::Endpoint::client(bind).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    endpoint
}

/// Connects over QUIC to `addr`, giving up after `timeout`: the connection (or `None`)
/// and how long it took.
async fn quic_connect(
    endpoint: &quinn::Endpoint,
    addr: IpAddr,
    timeout: Duration,
) -> (Option<quinn::Connection>, Duration) {
    let start = Instant::now();
    let connecting = endpoint
        .connect(SocketAddr::new(addr, PORT), &addr.to_string())
        .unwrap();
    match tokio::time::timeout(timeout, connecting).await {
        Ok(result) => (Some(result.unwrap()), start.elapsed()),
        Err(_) => (None, start.elapsed()),
    }
}

/// An HTTP/3 GET of `/` over `connection`: the `x-lab-protocol` header and the body.
async fn h3_get(connection: quinn::Connection, addr: IpAddr) -> (String, String) {
    let (mut driver, mut send_request) = h3::client::new(h3_quinn::Connection::new(connection))
        .await
        .unwrap();
    let drive = tokio::spawn(async move {
        let _ = std::future::poll_fn(|cx| driver.poll_close(cx)).await;
    });
    let authority = SocketAddr::new(addr, PORT);
    let request = http::Request::get(format!("https://{authority}/"))
        .body(())
        .unwrap();
    let mut stream = send_request.send_request(request).await.unwrap();
    stream.finish().await.unwrap();
    let response = stream.recv_response().await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let protocol = response.headers()["x-lab-protocol"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut body = Vec::new();
    while let Some(mut chunk) = stream.recv_data().await.unwrap() {
        while chunk.has_remaining() {
            let bytes = chunk.chunk().to_vec();
            chunk.advance(bytes.len());
            body.extend(bytes);
        }
    }
    drop(send_request);
    drive.abort();
    (protocol, String::from_utf8(body).unwrap())
}

/// A GET over TLS over TCP to `addr`, offering `alpn`: the negotiated ALPN, the
/// `x-lab-protocol` header and the body.
async fn tls_get(lab: &Lab, addr: IpAddr, alpn: &str) -> (String, String, String) {
    let tls = tls_client(
        lab,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        &[alpn],
    );
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = tokio::net::TcpStream::connect(SocketAddr::new(addr, PORT))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::from(addr);
    let stream = connector.connect(name, tcp).await.unwrap();
    let negotiated =
        String::from_utf8(stream.get_ref().1.alpn_protocol().unwrap().to_vec()).unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let request = http::Request::get("/")
        .header(http::header::HOST, SocketAddr::new(addr, PORT).to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = if negotiated == "h2" {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .unwrap();
        tokio::spawn(conn);
        let request = {
            // HTTP/2 wants the full URI (scheme and authority), not a Host header.
            let (mut parts, body) = request.into_parts();
            parts.uri = format!("https://{}/", SocketAddr::new(addr, PORT))
                .parse()
                .unwrap();
            parts.headers.remove(http::header::HOST);
            http::Request::from_parts(parts, body)
        };
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        sender.send_request(request).await.unwrap()
    };
    assert_eq!(response.status(), http::StatusCode::OK);
    let protocol = response.headers()["x-lab-protocol"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        negotiated,
        protocol,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

/// The packet counter of the first rule of `chain` (filter table, the server namespace)
/// whose line contains every one of `words`.
fn rule_packets(lab: &Lab, v6: bool, chain: &str, words: &[&str]) -> u64 {
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            lab.server_netns(),
            tool,
            "-w",
            "-L",
            chain,
            "-v",
            "-x",
            "-n",
        ])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = listing
        .lines()
        .find(|l| words.iter().all(|w| l.contains(w)))
        .unwrap_or_else(|| panic!("no {words:?} rule in {chain}:\n{listing}"));
    line.split_whitespace().next().unwrap().parse().unwrap()
}

/// UDP Accept (the default of an Accept address): the QUIC handshake completes, an HTTP/3
/// GET answers with the address (`x-lab-protocol: h3`), and the server's counters follow
/// the connection: accepted once, open until the client's CONNECTION_CLOSE. No TCP.
#[test]
fn udp_accept_quic_h3_get_answers_the_address() {
    if !eyeballs_lab::require_root("udp_accept_quic_h3_get_answers_the_address") {
        return;
    }
    let lab = secure_lab(Behavior::Accept, None);
    for addr in addrs() {
        assert_eq!(lab.udp_behavior(addr), Some(UdpBehavior::Accept));
        let connection = lab
            .run_in_client(|| {
                runtime().block_on(async {
                    let endpoint = quic_client(&lab, addr);
                    let (connection, took) =
                        quic_connect(&endpoint, addr, Duration::from_secs(2)).await;
                    let connection = connection.unwrap();
                    eprintln!("QUIC Accept {addr}: handshake in {took:?}");
                    assert_eq!(
                        connection
                            .handshake_data()
                            .unwrap()
                            .downcast::<quinn::crypto::rustls::HandshakeData>()
                            .unwrap()
                            .protocol
                            .unwrap(),
                        b"h3"
                    );
                    let (protocol, body) = h3_get(connection.clone(), addr).await;
                    assert_eq!(protocol, "h3");
                    assert_eq!(body, format!("{addr}\n"));
                    assert_eq!(lab.quic_accepted_count(addr), 1);
                    assert_eq!(lab.quic_open_count(addr), 1);
                    connection.close(0u32.into(), b"done");
                    endpoint.wait_idle().await;
                    connection.close_reason()
                })
            })
            .unwrap();
        assert!(connection.is_some());
        wait_until(
            || lab.quic_open_count(addr) == 0,
            "the QUIC connection to close",
        );
        assert_eq!(lab.quic_accepted_count(addr), 1);
        assert_eq!(lab.quic_incoming_count(addr), 1);
        assert_eq!(lab.tls_accepted_count(addr), 0);
        assert_eq!(lab.accepted_count(addr), 0, "no TCP connection");
    }
}

/// TLS over TCP: ALPN h2 gets HTTP/2 (`x-lab-protocol: h2`), ALPN http/1.1 gets HTTP/1.1;
/// both answer with the address. TCP counters count the connections, `tls_accepted_count`
/// the handshakes; neither touches the QUIC counters.
#[test]
fn tls_over_tcp_alpn_h2_answers_h2() {
    if !eyeballs_lab::require_root("tls_over_tcp_alpn_h2_answers_h2") {
        return;
    }
    let lab = secure_lab(Behavior::Accept, None);
    for addr in addrs() {
        lab.run_in_client(|| {
            runtime().block_on(async {
                let (alpn, protocol, body) = tls_get(&lab, addr, "h2").await;
                assert_eq!((alpn.as_str(), protocol.as_str()), ("h2", "h2"));
                assert_eq!(body, format!("{addr}\n"));
                let (alpn, protocol, body) = tls_get(&lab, addr, "http/1.1").await;
                assert_eq!((alpn.as_str(), protocol.as_str()), ("http/1.1", "http/1.1"));
                assert_eq!(body, format!("{addr}\n"));
            })
        })
        .unwrap();
        wait_until(|| lab.tls_accepted_count(addr) == 2, "two TLS handshakes");
        assert_eq!(lab.accepted_count(addr), 2);
        wait_until(|| lab.open_count(addr) == 0, "the TCP connections to close");
        assert_eq!(lab.quic_incoming_count(addr), 0);
    }
    // The CA, as a file for a `--cacert` option.
    let path = std::env::temp_dir().join(format!("eyeballs-lab-ca-{}.pem", std::process::id()));
    lab.write_ca_pem(&path).unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(pem, lab.ca_pem().unwrap());
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
}

/// UDP BlackHole: no QUIC handshake within 500 ms (the server never sees an Initial);
/// TCP is untouched (TLS with ALPN h2 still answers).
#[test]
fn udp_black_hole_hangs_quic_and_leaves_tcp() {
    if !eyeballs_lab::require_root("udp_black_hole_hangs_quic_and_leaves_tcp") {
        return;
    }
    let lab = secure_lab(Behavior::Accept, Some(UdpBehavior::BlackHole));
    for addr in addrs() {
        lab.run_in_client(|| {
            runtime().block_on(async {
                let endpoint = quic_client(&lab, addr);
                let (connection, took) = quic_connect(&endpoint, addr, HANG).await;
                assert!(
                    connection.is_none(),
                    "{addr}: QUIC completed through a black hole"
                );
                assert!(took >= HANG - Duration::from_millis(10), "{took:?}");
                let (_, protocol, body) = tls_get(&lab, addr, "h2").await;
                assert_eq!(protocol, "h2");
                assert_eq!(body, format!("{addr}\n"));
            })
        })
        .unwrap();
        assert_eq!(lab.quic_incoming_count(addr), 0);
        assert_eq!(lab.quic_accepted_count(addr), 0);
        wait_until(|| lab.tls_accepted_count(addr) == 1, "the TLS handshake");
    }
}

/// UDP Refuse: every datagram from a fresh socket with IP_RECVERR gets ECONNREFUSED, fast.
/// quinn's own socket sets no IP_RECVERR: its handshake just does not complete (what it
/// sees is printed). TCP is untouched.
#[test]
fn udp_refuse_gives_econnrefused() {
    if !eyeballs_lab::require_root("udp_refuse_gives_econnrefused") {
        return;
    }
    let lab = secure_lab(Behavior::Accept, Some(UdpBehavior::Refuse));
    for addr in addrs() {
        lab.run_in_client(|| {
            let mut slowest = Duration::ZERO;
            for _ in 0..20 {
                let bind: SocketAddr = if addr.is_ipv6() {
                    "[::]:0".parse().unwrap()
                } else {
                    "0.0.0.0:0".parse().unwrap()
                };
                let socket = UdpSocket::bind(bind).unwrap();
                if addr.is_ipv6() {
                    nix::sys::socket::setsockopt(
                        &socket,
                        nix::sys::socket::sockopt::Ipv6RecvErr,
                        &true,
                    )
                    .unwrap();
                } else {
                    nix::sys::socket::setsockopt(
                        &socket,
                        nix::sys::socket::sockopt::Ipv4RecvErr,
                        &true,
                    )
                    .unwrap();
                }
                socket
                    .set_read_timeout(Some(Duration::from_secs(1)))
                    .unwrap();
                let start = Instant::now();
                socket
                    .send_to(&[0u8; 1200], SocketAddr::new(addr, PORT))
                    .unwrap();
                let err = socket.recv(&mut [0u8; 1500]).unwrap_err();
                slowest = slowest.max(start.elapsed());
                assert_eq!(err.raw_os_error(), Some(ECONNREFUSED), "{addr}: {err}");
            }
            eprintln!("UDP Refuse {addr}: 20/20 ECONNREFUSED, slowest after {slowest:?}");
            assert!(slowest < Duration::from_millis(100), "{slowest:?}");
            // A connected socket without IP_RECVERR gets it too.
            let socket = UdpSocket::bind(if addr.is_ipv6() {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            })
            .unwrap();
            socket.connect(SocketAddr::new(addr, PORT)).unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            socket.send(b"x").unwrap();
            let err = socket.recv(&mut [0u8; 16]).unwrap_err();
            assert_eq!(
                err.raw_os_error(),
                Some(ECONNREFUSED),
                "{addr} connected: {err}"
            );

            runtime().block_on(async {
                let endpoint = quic_client(&lab, addr);
                let start = Instant::now();
                let connecting = endpoint
                    .connect(SocketAddr::new(addr, PORT), &addr.to_string())
                    .unwrap();
                let outcome = tokio::time::timeout(HANG, connecting).await;
                eprintln!(
                    "UDP Refuse {addr}: quinn saw {outcome:?} after {:?}",
                    start.elapsed()
                );
                assert!(!matches!(outcome, Ok(Ok(_))), "{addr}: QUIC completed");
                let (_, protocol, _) = tls_get(&lab, addr, "http/1.1").await;
                assert_eq!(protocol, "http/1.1");
            });
        })
        .unwrap();
        assert_eq!(lab.quic_incoming_count(addr), 0);
    }
}

/// UDP Stall: quinn's Connecting does not resolve within 500 ms while the server's
/// handshake count stays 0. The server did receive the client's Initial: its endpoint
/// yielded the connection attempt (`quic_incoming_count` 1), and the INPUT rule that
/// accepts a flow's first datagram counted exactly one packet. The server's first datagram
/// went back (the OUTPUT ACCEPT rule counted one) and its later ones were dropped.
#[test]
fn udp_stall_handshake_never_completes() {
    if !eyeballs_lab::require_root("udp_stall_handshake_never_completes") {
        return;
    }
    let lab = secure_lab(Behavior::Accept, Some(UdpBehavior::Stall));
    for addr in addrs() {
        lab.run_in_client(|| {
            runtime().block_on(async {
                let endpoint = quic_client(&lab, addr);
                let (connection, took) = quic_connect(&endpoint, addr, HANG).await;
                assert!(
                    connection.is_none(),
                    "{addr}: the stalled handshake completed"
                );
                assert!(took >= HANG - Duration::from_millis(10), "{took:?}");
            })
        })
        .unwrap();
        assert_eq!(
            lab.quic_incoming_count(addr),
            1,
            "{addr}: the server saw the Initial"
        );
        assert_eq!(lab.quic_accepted_count(addr), 0);
        assert_eq!(lab.quic_open_count(addr), 0);
        let a = addr.to_string();
        let v6 = addr.is_ipv6();
        let first_in = rule_packets(&lab, v6, "INPUT", &["ACCEPT", &a]);
        let later_in = rule_packets(&lab, v6, "INPUT", &["DROP", "connbytes", &a]);
        let first_out = rule_packets(&lab, v6, "OUTPUT", &["ACCEPT", &a]);
        let later_out = rule_packets(&lab, v6, "OUTPUT", &["DROP", "connbytes", &a]);
        eprintln!(
            "UDP Stall {addr}: client->server {first_in} passed, {later_in} dropped; \
             server->client {first_out} passed, {later_out} dropped"
        );
        assert_eq!(
            first_in, 1,
            "{addr}: one client datagram reached the server"
        );
        assert_eq!(first_out, 1, "{addr}: one server datagram went back");
        assert!(
            later_out >= 1,
            "{addr}: the server's later datagrams were dropped"
        );
    }
}

/// UDP Delay(200 ms): the QUIC handshake completes, at least ~190 ms after it started
/// (and not much more: one RTT on a veth is well under a millisecond).
#[test]
fn udp_delay_holds_the_handshake() {
    if !eyeballs_lab::require_root("udp_delay_holds_the_handshake") {
        return;
    }
    let delay = Duration::from_millis(200);
    let lab = secure_lab(Behavior::Accept, Some(UdpBehavior::Delay(delay)));
    for addr in addrs() {
        lab.run_in_client(|| {
            runtime().block_on(async {
                let endpoint = quic_client(&lab, addr);
                let (connection, took) =
                    quic_connect(&endpoint, addr, Duration::from_secs(2)).await;
                let connection = connection.unwrap();
                eprintln!("UDP Delay(200ms) {addr}: handshake in {took:?}");
                assert!(
                    took >= delay - Duration::from_millis(10),
                    "{addr}: {took:?}"
                );
                assert!(
                    took < delay + Duration::from_millis(150),
                    "{addr}: {took:?}"
                );
                // Once the flow is answered, nothing more is held.
                let start = Instant::now();
                let (protocol, _) = h3_get(connection.clone(), addr).await;
                assert_eq!(protocol, "h3");
                assert!(
                    start.elapsed() < Duration::from_millis(100),
                    "{:?}",
                    start.elapsed()
                );
                connection.close(0u32.into(), b"done");
            })
        })
        .unwrap();
        wait_until(
            || lab.quic_accepted_count(addr) == 1,
            "the server's handshake",
        );
    }
}

/// A TCP BlackHole address with UDP Accept: TCP connects hang, QUIC completes.
#[test]
fn tcp_black_hole_udp_accept_quic_completes() {
    if !eyeballs_lab::require_root("tcp_black_hole_udp_accept_quic_completes") {
        return;
    }
    let lab = secure_lab(Behavior::BlackHole, Some(UdpBehavior::Accept));
    for addr in addrs() {
        lab.run_in_client(|| {
            let tcp = TcpStream::connect_timeout(
                &SocketAddr::new(addr, PORT),
                Duration::from_millis(300),
            );
            assert_eq!(tcp.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
            runtime().block_on(async {
                let endpoint = quic_client(&lab, addr);
                let (connection, _) = quic_connect(&endpoint, addr, Duration::from_secs(2)).await;
                let (protocol, body) = h3_get(connection.unwrap(), addr).await;
                assert_eq!((protocol.as_str(), body), ("h3", format!("{addr}\n")));
            })
        })
        .unwrap();
        assert_eq!(lab.tls_accepted_count(addr), 0);
        wait_until(
            || lab.quic_accepted_count(addr) == 1,
            "the server's handshake",
        );
    }
}

/// `set_udp_behavior` at run time: Accept -> BlackHole -> Stall -> Accept, and
/// `clear_udp_behavior` back to following the address's behaviour; TCP unaffected
/// throughout. `set_behavior(External)` stops the address's secure servers, freeing its
/// UDP and TCP ports for the test's own.
#[test]
fn set_udp_behavior_at_run_time() {
    if !eyeballs_lab::require_root("set_udp_behavior_at_run_time") {
        return;
    }
    let lab = secure_lab(Behavior::Accept, None);
    let [v4, v6] = addrs();
    let quic_works = |addr: IpAddr| {
        lab.run_in_client(|| {
            runtime().block_on(async {
                let endpoint = quic_client(&lab, addr);
                let (connection, _) = quic_connect(&endpoint, addr, HANG).await;
                let works = connection.is_some();
                if let Some(c) = connection {
                    c.close(0u32.into(), b"done");
                }
                works
            })
        })
        .unwrap()
    };
    assert!(quic_works(v4));
    lab.set_udp_behavior(v4, UdpBehavior::BlackHole).unwrap();
    assert_eq!(lab.udp_behavior(v4), Some(UdpBehavior::BlackHole));
    assert!(!quic_works(v4));
    assert!(quic_works(v6), "the other family keeps its behaviour");
    lab.set_udp_behavior(v4, UdpBehavior::Stall).unwrap();
    let incoming = lab.quic_incoming_count(v4);
    assert!(!quic_works(v4));
    assert_eq!(lab.quic_incoming_count(v4), incoming + 1);
    lab.set_udp_behavior(v4, UdpBehavior::Accept).unwrap();
    assert!(quic_works(v4));
    // TCP BlackHole with the UDP behaviour cleared: UDP follows it.
    lab.set_behavior(v4, Behavior::BlackHole).unwrap();
    assert!(quic_works(v4), "UDP Accept of its own");
    lab.clear_udp_behavior(v4).unwrap();
    assert_eq!(lab.udp_behavior(v4), Some(UdpBehavior::BlackHole));
    assert!(!quic_works(v4));
    lab.set_behavior(v4, Behavior::Accept).unwrap();
    assert!(quic_works(v4));
    lab.run_in_client(|| {
        runtime().block_on(async {
            let (_, protocol, _) = tls_get(&lab, v4, "h2").await;
            assert_eq!(protocol, "h2");
        })
    })
    .unwrap();

    // External: the lab's servers go; the test's own can bind the ports.
    lab.set_behavior(v6, Behavior::External).unwrap();
    let bound = lab
        .spawn_in_server(move || {
            let udp = UdpSocket::bind(SocketAddr::new(v6, PORT)).map(drop);
            let tcp = std::net::TcpListener::bind(SocketAddr::new(v6, PORT)).map(drop);
            (udp.is_ok(), tcp.is_ok())
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(bound, (true, true), "the lab's servers freed the ports");
    lab.set_behavior(v6, Behavior::Accept).unwrap();
    assert!(quic_works(v6), "the servers are back");
}

/// A lab that is not secure has no CA; `udp()` needs a server address, given once.
#[test]
fn secure_and_udp_configurations_are_checked() {
    if !eyeballs_lab::require_root("secure_and_udp_configurations_are_checked") {
        return;
    }
    let plain = Lab::builder()
        .server(ip("198.18.0.10"), Behavior::Accept)
        .start()
        .unwrap();
    assert!(plain.ca_pem().is_none() && plain.ca_der().is_none());
    assert!(matches!(
        plain.write_ca_pem(std::env::temp_dir().join("never-written.pem")),
        Err(eyeballs_lab::LabError::Config(_))
    ));
    assert!(matches!(
        plain.set_udp_behavior(ip("198.18.0.11"), UdpBehavior::Accept),
        Err(eyeballs_lab::LabError::Config(_))
    ));
    drop(plain);
    let not_a_server = Lab::builder()
        .server(ip("198.18.0.10"), Behavior::Accept)
        .udp(ip("198.18.0.11"), UdpBehavior::Accept)
        .start();
    assert!(matches!(
        not_a_server,
        Err(eyeballs_lab::LabError::Config(_))
    ));
    let twice = Lab::builder()
        .server(ip("198.18.0.10"), Behavior::Accept)
        .udp(ip("198.18.0.10"), UdpBehavior::Accept)
        .udp(ip("198.18.0.10"), UdpBehavior::Stall)
        .start();
    assert!(matches!(twice, Err(eyeballs_lab::LabError::Config(_))));
    let empty_alpn = Lab::builder()
        .server(ip("198.18.0.10"), Behavior::Accept)
        .secure(Secure {
            tls_alpn: vec![String::new()],
            ..Secure::default()
        })
        .start();
    assert!(matches!(empty_alpn, Err(eyeballs_lab::LabError::Config(_))));
}
