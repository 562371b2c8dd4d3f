//! The HTTPS connector on loopback (no root): TLS is part of each attempt, so an address
//! that accepts TCP but never answers TLS loses (V3-6.1.3); server names, IP literals, plain
//! `http` through the same connector, and certificate errors.
#![cfg(feature = "rustls")]

mod common;
mod hyper_common;

use std::net::{SocketAddr, TcpListener};

use common::*;
use eyeballs::hyper::{ConnectError, HttpsConnector, RaceInfo};
use eyeballs::resolver::StaticResolver;
use eyeballs::{AttemptEnd, Connector, ErrorKind};
use http::Uri;
use hyper_common::tls::*;
use hyper_common::*;
use tower_service::Service;

const NAME: &str = "dual.test";

/// An HTTPS server presenting `identity` on `listener`, as a task of the test's runtime.
fn spawn_https(listener: TcpListener, identity: &Identity) -> SocketAddr {
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    tokio::spawn(serve_https(listener, acceptor(identity)));
    addr
}

/// On one port: `[::1]:P` completes TCP handshakes (the kernel does; nobody ever reads or
/// writes, so TLS never starts), `127.0.0.1:P` serves HTTPS.
fn silent_and_https(identity: &Identity) -> (TcpListener, SocketAddr) {
    for _ in 0..20 {
        let silent = TcpListener::bind((V6, 0)).unwrap();
        if let Some(listener) = listener_at(V4, silent.local_addr().unwrap().port()) {
            return (silent, spawn_https(listener, identity));
        }
    }
    panic!("no port free on both ::1 and 127.0.0.1");
}

fn https_connector(identity: &Identity) -> HttpsConnector {
    let resolver = StaticResolver::new().host(NAME, [V6, V4]);
    HttpsConnector::new(
        Connector::new().resolver(resolver),
        client_config(&identity.cert),
    )
}

#[tokio::test]
async fn v3_6_1_3_an_address_without_tls_does_not_win() {
    let identity = self_signed(&[NAME]);
    let (silent, server) = silent_and_https(&identity);
    let client = client(https_connector(&identity));
    let t0 = std::time::Instant::now();
    let (parts, body) = get(&client, &format!("https://{NAME}:{}/", server.port()))
        .await
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(body, "127.0.0.1\n");
    let race = parts.extensions.get::<RaceInfo>().unwrap();
    assert_eq!(race.winner(), server);
    let attempts: Vec<_> = race.report().attempts().collect();
    // The IPv6 attempt's TCP handshake completed at once, but it did not win: TLS never did.
    assert_eq!(attempts[0].endpoint.addr, silent.local_addr().unwrap());
    assert_eq!(attempts[0].end, Some(AttemptEnd::Aborted));
    assert!(
        attempts[1].started >= ms(240) && attempts[1].started <= ms(275),
        "{attempts:?}"
    );
    assert!(took >= ms(245) && took <= ms(400), "{took:?}");
}

#[tokio::test]
async fn ip_literal_hosts_are_ip_server_names() {
    let identity = self_signed(&["127.0.0.1", "::1"]);
    let v4 = spawn_https(TcpListener::bind((V4, 0)).unwrap(), &identity);
    let v6 = spawn_https(TcpListener::bind((V6, 0)).unwrap(), &identity);
    let client = client(https_connector(&identity));
    for (uri, addr) in [
        (format!("https://127.0.0.1:{}/", v4.port()), v4),
        (format!("https://[::1]:{}/", v6.port()), v6),
    ] {
        let (parts, _) = get(&client, &uri).await.unwrap();
        assert_eq!(parts.extensions.get::<RaceInfo>().unwrap().winner(), addr);
    }
}

#[tokio::test]
async fn http_uris_go_plain_and_bad_uris_are_refused() {
    let identity = self_signed(&[NAME]);
    let listener = TcpListener::bind((V4, 0)).unwrap();
    let plain = listener.local_addr().unwrap();
    serve_http(listener);
    let mut connector = https_connector(&identity);
    let stream = connector
        .call(
            format!("http://127.0.0.1:{}/", plain.port())
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(stream.tls().is_none());
    assert_eq!(stream.info().winner(), plain);
    // And through the client.
    let (_, body) = get(
        &client(connector.clone()),
        &format!("http://127.0.0.1:{}/", plain.port()),
    )
    .await
    .unwrap();
    assert_eq!(body, "127.0.0.1\n");

    let err = connector
        .call(Uri::from_static("ftp://127.0.0.1/"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::UnsupportedScheme { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("expected http or https"), "{err}");
    let err = connector.call(Uri::from_static("/")).await.unwrap_err();
    assert!(matches!(err, ConnectError::MissingHost { .. }), "{err:?}");
    let err = connector
        .call(Uri::from_static("https://bad..name/"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::InvalidServerName { .. }),
        "{err:?}"
    );
    assert_eq!(err.io_kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("not a valid TLS server name"),
        "{err}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_fails_every_attempt() {
    let identity = self_signed(&["other.test"]);
    let (_silent, server) = silent_and_https(&identity);
    // The name resolves to the HTTPS server only; its certificate does not name it.
    let resolver = StaticResolver::new().host(NAME, [V4]);
    let mut connector = HttpsConnector::new(
        Connector::new().resolver(resolver),
        client_config(&identity.cert),
    );
    let uri: Uri = format!("https://{NAME}:{}/", server.port())
        .parse()
        .unwrap();
    let err = connector.call(uri).await.unwrap_err();
    let ConnectError::Connect(race) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(race.kind(), ErrorKind::AllAttemptsFailed);
    let attempt = race.report().unwrap().attempts().next().unwrap();
    let message = attempt.error.unwrap().to_string();
    assert!(message.contains("certificate"), "{message}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn the_tls_stream_exposes_the_session() {
    let identity = self_signed(&["127.0.0.1"]);
    let server = spawn_https(TcpListener::bind((V4, 0)).unwrap(), &identity);
    let mut connector = https_connector(&identity);
    let stream = connector
        .call(
            format!("https://127.0.0.1:{}/", server.port())
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    let tls = stream.tls().expect("a TLS session");
    assert!(tls.protocol_version().is_some());
    assert_eq!(stream.tcp().peer_addr().unwrap(), server);
    assert_eq!(stream.info().winner(), server);
    assert!(format!("{connector:?}").contains("HttpsConnector"));
}
