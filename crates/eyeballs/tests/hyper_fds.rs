//! The hyper connectors leak nothing: a request dropped mid-race (and, with TLS, mid-
//! handshake) leaves the process's open file descriptors where they were. One test, so no
//! other test of this binary opens descriptors at the same time.
#![cfg(feature = "hyper")]

mod common;
mod hyper_common;

use std::net::{IpAddr, SocketAddr, TcpStream};

use common::*;
use eyeballs::hyper::HttpConnector;
use eyeballs::resolver::StaticResolver;
use eyeballs::Connector;
use hyper_common::*;
use socket2::{Domain, Socket, Type};

const NAME: &str = "dual.test";

/// A listener on `ip:port` whose accept queue is full, so that new SYNs are dropped (as
/// `common::BlackHole`, on a chosen port). `None` if the port is taken.
fn black_hole_at(ip: IpAddr, port: u16) -> Option<(Socket, Vec<TcpStream>)> {
    let domain = if ip.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let listener = Socket::new(domain, Type::STREAM, None).unwrap();
    listener.bind(&SocketAddr::new(ip, port).into()).ok()?;
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let filler: Vec<TcpStream> = (0..4)
        .map_while(|_| TcpStream::connect_timeout(&addr, ms(100)).ok())
        .collect();
    assert!(
        !filler.is_empty(),
        "could not fill the accept queue of {addr}"
    );
    Some((listener, filler))
}

/// Black holes on `[::1]:P` and `127.0.0.1:P`.
fn two_black_holes() -> (u16, Vec<(Socket, Vec<TcpStream>)>) {
    for _ in 0..20 {
        let v6 = black_hole_at(V6, 0).unwrap();
        let port = v6.0.local_addr().unwrap().as_socket().unwrap().port();
        if let Some(v4) = black_hole_at(V4, port) {
            return (port, vec![v6, v4]);
        }
    }
    panic!("no port free on both ::1 and 127.0.0.1");
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_requests_leave_no_descriptors() {
    let (port, _holes) = two_black_holes();
    let resolver = StaticResolver::new().host(NAME, [V6, V4]);
    let connector = Connector::new().resolver(resolver);
    let client = client(HttpConnector::new(connector.clone()));
    let uri = format!("http://{NAME}:{port}/");
    let baseline = open_fds();

    // Dropped at 400 ms: both attempts (0 ms and 250 ms) are in flight.
    let request = get(&client, &uri);
    assert!(tokio::time::timeout(ms(400), request).await.is_err());
    assert_eq!(open_fds(), baseline, "after a request dropped mid-race");

    // The same, calling the connector directly, a few times.
    for _ in 0..5 {
        let mut direct = HttpConnector::new(connector.clone());
        let call = tower_service::Service::call(&mut direct, uri.parse().unwrap());
        assert!(tokio::time::timeout(ms(300), call).await.is_err());
    }
    assert_eq!(open_fds(), baseline, "after direct calls dropped mid-race");

    // With TLS: the IPv6 attempt is mid-handshake (its TCP connected: the kernel completes
    // handshakes on a listener nobody accepts from), the IPv4 one is black-holed.
    #[cfg(feature = "rustls")]
    {
        use hyper_common::tls::{client_config, self_signed};
        let silent = std::net::TcpListener::bind((V6, 0)).unwrap();
        let tls_port = silent.local_addr().unwrap().port();
        let Some(hole) = black_hole_at(V4, tls_port) else {
            eprintln!("port {tls_port} taken on 127.0.0.1: TLS part skipped");
            return;
        };
        let identity = self_signed(&[NAME]);
        let https =
            eyeballs::hyper::HttpsConnector::new(connector.clone(), client_config(&identity.cert));
        let baseline = open_fds();
        let https_client = hyper_common::client(https);
        let https_uri = format!("https://{NAME}:{tls_port}/");
        let request = get(&https_client, &https_uri);
        assert!(tokio::time::timeout(ms(400), request).await.is_err());
        assert_eq!(
            open_fds(),
            baseline,
            "after an HTTPS request dropped mid-race"
        );
        drop((silent, hole));
    }
}
