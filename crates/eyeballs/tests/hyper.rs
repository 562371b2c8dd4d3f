//! The hyper connector on loopback (no root): GETs through hyper-util's client, a name that
//! resolves to a black-holed ::1 and a serving 127.0.0.1 on the same port, IP literals,
//! default ports, and errors.
#![cfg(feature = "hyper")]

mod common;
mod hyper_common;

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr, TcpListener};

use common::*;
use eyeballs::hyper::{ConnectError, HttpConnector, RaceInfo};
use eyeballs::resolver::StaticResolver;
use eyeballs::{AttemptEnd, Connector, ErrorKind};
use http::Uri;
use hyper_common::*;
use hyper_util::client::legacy::connect::HttpInfo;
use tower_service::Service;

const NAME: &str = "dual.test";

/// A black hole on `[::1]:P` and an HTTP server on `127.0.0.1:P`: one port, so that one
/// name (resolving to both) reaches both.
fn black_hole_and_server() -> (BlackHole, SocketAddr) {
    for _ in 0..20 {
        let hole = BlackHole::new(V6);
        if let Some(listener) = listener_at(V4, hole.addr.port()) {
            let addr = listener.local_addr().unwrap();
            serve_http(listener);
            return (hole, addr);
        }
    }
    panic!("no port free on both ::1 and 127.0.0.1");
}

/// A port nobody listens on, on ::1 and 127.0.0.1.
fn refusing_on_both() -> u16 {
    for _ in 0..20 {
        let v6 = TcpListener::bind((V6, 0)).unwrap();
        let port = v6.local_addr().unwrap().port();
        if let Some(v4) = listener_at(V4, port) {
            close(v4);
            close(v6);
            return port;
        }
    }
    panic!("no port free on both ::1 and 127.0.0.1");
}

/// A connector whose resolver knows `NAME` as ::1 and 127.0.0.1.
fn dual_stack() -> Connector {
    Connector::new().resolver(StaticResolver::new().host(NAME, [V6, V4]))
}

#[tokio::test]
async fn get_falls_back_to_ipv4_after_the_attempt_delay() {
    let (hole, server) = black_hole_and_server();
    let client = client(HttpConnector::new(dual_stack()));
    let t0 = std::time::Instant::now();
    let (parts, body) = get(&client, &format!("http://{NAME}:{}/", server.port()))
        .await
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(parts.status, 200);
    assert_eq!(body, "127.0.0.1\n");
    assert!(took >= ms(245) && took <= ms(300), "{took:?}");

    // The winner and the race, from the response's extensions.
    let race = parts.extensions.get::<RaceInfo>().expect("RaceInfo");
    assert_eq!(race.winner(), server);
    let attempts: Vec<_> = race.report().attempts().collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].endpoint.addr, hole.addr);
    assert_eq!(attempts[0].end, Some(AttemptEnd::Aborted));
    assert_eq!(attempts[1].endpoint.addr, server);
    assert!(
        attempts[1].started >= ms(240) && attempts[1].started <= ms(275),
        "{attempts:?}"
    );
    assert_eq!(race.report().host(), Some(NAME));
    // hyper-util's own HttpInfo is there too.
    let info = parts.extensions.get::<HttpInfo>().expect("HttpInfo");
    assert_eq!(info.remote_addr(), server);
}

#[tokio::test]
async fn the_connectors_configuration_is_used() {
    let (_hole, server) = black_hole_and_server();
    let connector = dual_stack().attempt_delay(ms(100));
    let client = client(HttpConnector::new(connector));
    let (parts, _) = get(&client, &format!("http://{NAME}:{}/", server.port()))
        .await
        .unwrap();
    let race = parts.extensions.get::<RaceInfo>().unwrap();
    let second = race.report().attempts().nth(1).unwrap().started;
    assert!(second >= ms(95) && second <= ms(125), "{second:?}");
}

#[tokio::test]
async fn ip_literals_need_no_resolver() {
    let v4 = TcpListener::bind((V4, 0)).unwrap();
    let v6 = TcpListener::bind((V6, 0)).unwrap();
    let (a4, a6) = (v4.local_addr().unwrap(), v6.local_addr().unwrap());
    serve_http(v4);
    serve_http(v6);
    // A resolver that knows no name: literals must not reach it.
    let connector = Connector::new().resolver(StaticResolver::new());
    let client = client(HttpConnector::new(connector));
    for (uri, addr, body) in [
        (
            format!("http://127.0.0.1:{}/", a4.port()),
            a4,
            "127.0.0.1\n",
        ),
        (format!("http://[::1]:{}/x?y", a6.port()), a6, "::1\n"),
    ] {
        let (parts, got) = get(&client, &uri).await.unwrap();
        assert_eq!(got, body, "{uri}");
        let race = parts.extensions.get::<RaceInfo>().unwrap();
        assert_eq!(race.winner(), addr, "{uri}");
        assert_eq!(race.report().host(), None, "{uri}: no name was resolved");
    }
}

#[tokio::test]
async fn default_ports_follow_the_scheme() {
    // Whatever listens there (most likely nothing): the attempt's address is what counts.
    let mut connector = HttpConnector::new(Connector::new().timeout(ms(2000)));
    async fn first_attempt(c: &mut HttpConnector, uri: &'static str) -> SocketAddr {
        match c.call(Uri::from_static(uri)).await {
            Ok(stream) => stream.info().winner(),
            Err(e) => e.report().unwrap().attempts().next().unwrap().endpoint.addr,
        }
    }
    let v4 = |port| SocketAddr::new(V4, port);
    assert_eq!(
        first_attempt(&mut connector, "http://127.0.0.1/").await,
        v4(80)
    );
    let mut any_scheme = connector.clone().enforce_http(false);
    assert_eq!(
        first_attempt(&mut any_scheme, "https://127.0.0.1/").await,
        v4(443)
    );
    assert_eq!(
        first_attempt(&mut any_scheme, "https://127.0.0.1:8443/").await,
        v4(8443)
    );
}

#[tokio::test]
async fn uris_it_cannot_connect_to_are_clear_errors() {
    let mut connector = HttpConnector::default();
    // No host (hyper-util's client refuses such URIs itself; a direct call can pass one).
    let err = connector.call(Uri::from_static("/path")).await.unwrap_err();
    assert!(matches!(err, ConnectError::MissingHost { .. }), "{err:?}");
    assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "cannot connect to /path: the URI has no host"
    );
    assert!(err.report().is_none());
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);

    // Not http, as hyper-util's HttpConnector (unless enforce_http(false)).
    let err = connector
        .call(Uri::from_static("https://127.0.0.1/"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::UnsupportedScheme { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("\"https\" is not supported"),
        "{err}"
    );
    let mut any_scheme = connector.clone().enforce_http(false);
    let err = any_scheme
        .call(Uri::from_static("127.0.0.1:80"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no scheme"), "{err}");

    // Invalid host names are the race's InvalidInput.
    let err = any_scheme
        .call(Uri::from_static("http://bad_-.-name/"))
        .await
        .unwrap_err();
    match &err {
        ConnectError::Connect(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn failed_races_reach_the_client_caller_with_their_report() {
    let port = refusing_on_both();
    let client = client(HttpConnector::new(dual_stack()));
    let t0 = std::time::Instant::now();
    let err = get(&client, &format!("http://{NAME}:{port}/"))
        .await
        .unwrap_err();
    assert!(
        t0.elapsed() < ms(200),
        "refusals are fast: {:?}",
        t0.elapsed()
    );
    assert!(err.is_connect(), "{err:?}");
    let ours = err
        .source()
        .and_then(|s| s.downcast_ref::<ConnectError>())
        .expect("the connector's error is the source");
    let report = ours.report().expect("a report");
    let tried: Vec<IpAddr> = report.attempts().map(|a| a.endpoint.addr.ip()).collect();
    assert_eq!(tried, [V6, V4]);
    assert!(ours.to_string().contains("refused"), "{ours}");
    assert_eq!(ours.io_kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn the_connector_is_a_cheap_clone_and_debug() {
    let connector = HttpConnector::new(dual_stack());
    let copy = connector.clone();
    assert!(format!("{copy:?}").contains("HttpConnector"));
    assert_eq!(copy.connector().config(), connector.connector().config());
}
