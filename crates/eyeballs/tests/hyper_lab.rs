//! The hyper connectors in the network lab (root; skipped with a message otherwise, required
//! under CI=true), with IPv6 black-holed and IPv4 working: an HTTP GET through hyper-util's
//! client completes after one attempt delay, compared with hyper-util's own `HttpConnector`;
//! HTTPS wins over IPv4 when the IPv6 address accepts TCP but never answers TLS.
#![cfg(feature = "hyper")]

mod common;
mod hyper_common;

#[path = "common/lab.rs"]
mod lab;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eyeballs::hyper::{HttpConnector, RaceInfo};
use eyeballs::resolver::StaticResolver;
use eyeballs::Connector;
use eyeballs_lab::Behavior;
use hyper_common::*;
use hyper_util::client::legacy::connect::dns::Name;
use lab::*;

const NAME: &str = "dual.test";

/// A resolver for hyper-util's `HttpConnector` that answers every name with these addresses
/// at once, in this order (hyper-util tries the first one's family first).
#[derive(Debug, Clone)]
struct Fixed(Vec<IpAddr>);

impl tower_service::Service<Name> for Fixed {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _name: Name) -> Self::Future {
        let addrs: Vec<SocketAddr> = self.0.iter().map(|ip| SocketAddr::new(*ip, 0)).collect();
        std::future::ready(Ok(addrs.into_iter()))
    }
}

/// Runs `f` on a current-thread runtime in the lab's client namespace.
fn in_client<R: Send>(lab: &eyeballs_lab::Lab, f: impl Future<Output = R> + Send) -> R {
    lab.run_in_client(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
    .unwrap()
}

/// Times one GET of `uri` through hyper-util's client over `connector`; returns the time
/// and the body.
async fn timed_get<C>(connector: C, uri: &str) -> (Duration, String, http::response::Parts)
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let client = client(connector);
    let t0 = Instant::now();
    let (parts, body) = get(&client, uri).await.expect("the request succeeds");
    (t0.elapsed(), body, parts)
}

#[test]
fn http_get_with_ipv6_black_holed_eyeballs_vs_hyper_util() {
    let Some(lab) = lab(
        "http_get_with_ipv6_black_holed_eyeballs_vs_hyper_util",
        &[(V6A, Behavior::BlackHole), (V4A, Behavior::Accept)],
    ) else {
        return;
    };
    let uri = format!("http://{NAME}:{PORT}/");
    let addrs = vec![ip(V6A), ip(V4A)];
    let (ours, theirs, theirs_250) = in_client(&lab, async {
        let resolver = StaticResolver::new().host(NAME, addrs.clone());
        let connector = HttpConnector::new(Connector::new().resolver(resolver));
        let ours = timed_get(connector, &uri).await;

        let default = hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(Fixed(
            addrs.clone(),
        ));
        let theirs = timed_get(default, &uri).await;

        let mut tuned =
            hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(Fixed(addrs));
        tuned.set_happy_eyeballs_timeout(Some(Duration::from_millis(250)));
        let theirs_250 = timed_get(tuned, &uri).await;
        (ours, theirs, theirs_250)
    });
    eprintln!(
        "GET {uri}, IPv6 black-holed, IPv4 fine:\n  \
         eyeballs::hyper::HttpConnector (RFC 8305 defaults):             {:>7.1} ms\n  \
         hyper-util HttpConnector (default happy_eyeballs_timeout):      {:>7.1} ms\n  \
         hyper-util HttpConnector (set_happy_eyeballs_timeout(250 ms)):  {:>7.1} ms",
        ours.0.as_secs_f64() * 1e3,
        theirs.0.as_secs_f64() * 1e3,
        theirs_250.0.as_secs_f64() * 1e3,
    );

    // Ours: the IPv4 attempt starts at 250 ms and wins; the request is done right after.
    assert_eq!(ours.1, format!("{V4A}\n"));
    let race = ours.2.extensions.get::<RaceInfo>().expect("RaceInfo");
    assert_eq!(race.winner(), sock(V4A));
    race_schedule(race).assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250)]);
    assert_near(ours.0, Duration::from_millis(250), "eyeballs request time");
    // hyper-util's connector gets there too (its fallback timer), not after a TCP timeout.
    for (what, (took, body, _)) in [("default", &theirs), ("250 ms", &theirs_250)] {
        assert_eq!(body, &format!("{V4A}\n"), "hyper-util {what}");
        assert!(
            *took < Duration::from_secs(1),
            "hyper-util {what}: {took:?}"
        );
    }
}

#[test]
fn two_ipv6_addresses_first_black_holed_and_ipv4_black_holed() {
    let Some(lab) = lab(
        "two_ipv6_addresses_first_black_holed_and_ipv4_black_holed",
        &[
            (V6A, Behavior::BlackHole),
            (V6B, Behavior::Accept),
            (V4A, Behavior::BlackHole),
        ],
    ) else {
        return;
    };
    let uri = format!("http://{NAME}:{PORT}/");
    let addrs = vec![ip(V6A), ip(V6B), ip(V4A)];
    // hyper-util tries the first family's addresses one after another, each until it fails:
    // without a connect timeout the first black hole holds it for a whole TCP timeout.
    let give_up = Duration::from_secs(2);
    let (ours, theirs) = in_client(&lab, async {
        let resolver = StaticResolver::new().host(NAME, addrs.clone());
        let connector = HttpConnector::new(Connector::new().resolver(resolver));
        let ours = timed_get(connector, &uri).await;
        let mut tuned =
            hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(Fixed(addrs));
        tuned.set_happy_eyeballs_timeout(Some(Duration::from_millis(250)));
        let t0 = Instant::now();
        let theirs = tokio::time::timeout(give_up, timed_get(tuned, &uri))
            .await
            .map(|(took, _, _)| took)
            .map_err(|_| t0.elapsed());
        (ours, theirs)
    });
    eprintln!(
        "GET {uri}, {V6A} and {V4A} black-holed, {V6B} fine:\n  \
         eyeballs::hyper::HttpConnector:                                 {:>7.1} ms\n  \
         hyper-util HttpConnector (set_happy_eyeballs_timeout(250 ms)):  {}",
        ours.0.as_secs_f64() * 1e3,
        match theirs {
            Ok(took) => format!("{:>7.1} ms", took.as_secs_f64() * 1e3),
            Err(waited) => format!("none after {:.1} s (gave up)", waited.as_secs_f64()),
        },
    );
    // RFC 8305 interleaves the families: V6A at 0, V4A at 250 ms, V6B at 500 ms wins.
    assert_eq!(ours.1, format!("{V6B}\n"));
    let race = ours.2.extensions.get::<RaceInfo>().expect("RaceInfo");
    race_schedule(race).assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250), (sock(V6B), 500)]);
    assert_near(ours.0, Duration::from_millis(500), "eyeballs request time");
}

/// The report's attempts as the lab helpers' [`Ran`], to check the schedule.
fn race_schedule(race: &RaceInfo) -> Ran {
    Ran {
        elapsed: race.report().elapsed().unwrap_or_default(),
        winner: Some(race.winner()),
        attempts: race
            .report()
            .attempts()
            .map(|a| (a.endpoint.addr, a.started, a.end))
            .collect(),
        error: None,
    }
}

#[cfg(feature = "rustls")]
#[test]
fn https_with_ipv6_accepting_tcp_but_never_tls_wins_over_ipv4() {
    use eyeballs::hyper::HttpsConnector;
    use eyeballs::AttemptEnd;
    use hyper_common::tls::{acceptor, client_config, self_signed, serve_https};

    const TLS_PORT: u16 = 8443;
    let Some(lab) = lab(
        "https_with_ipv6_accepting_tcp_but_never_tls_wins_over_ipv4",
        &[(V6A, Behavior::External), (V4A, Behavior::External)],
    ) else {
        return;
    };
    let identity = self_signed(&[NAME]);
    let tls = acceptor(&identity);
    // Our own servers in the server namespace: IPv6 accepts TCP and never says a word,
    // IPv4 serves HTTPS. They stop when `stop` is dropped.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (v6, v4) = (
        SocketAddr::new(ip(V6A), TLS_PORT),
        SocketAddr::new(ip(V4A), TLS_PORT),
    );
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let servers = lab
        .spawn_in_server(move || {
            let bind = |addr| {
                let listener = std::net::TcpListener::bind(addr).unwrap();
                listener.set_nonblocking(true).unwrap();
                listener
            };
            let (silent, https) = (bind(v6), bind(v4));
            ready_tx.send(()).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let silent = tokio::net::TcpListener::from_std(silent).unwrap();
                let https = tokio::net::TcpListener::from_std(https).unwrap();
                let hold = async {
                    let mut held = Vec::new();
                    while let Ok((conn, _)) = silent.accept().await {
                        held.push(conn);
                    }
                };
                tokio::select! {
                    _ = stopped => {}
                    () = hold => {}
                    () = serve_https(https, tls) => {}
                }
            })
        })
        .unwrap();
    ready.recv().expect("the servers are listening");

    let uri = format!("https://{NAME}:{TLS_PORT}/");
    let (took, body, parts) = in_client(&lab, async {
        let resolver = StaticResolver::new().host(NAME, [ip(V6A), ip(V4A)]);
        let connector = HttpsConnector::new(
            Connector::new().resolver(resolver),
            client_config(&identity.cert),
        );
        timed_get(connector, &uri).await
    });
    drop(stop);
    servers.join().unwrap();
    eprintln!(
        "GET {uri}, IPv6 accepts TCP but never TLS: {:.1} ms",
        took.as_secs_f64() * 1e3
    );

    assert_eq!(body, format!("{V4A}\n"));
    let race = parts.extensions.get::<RaceInfo>().expect("RaceInfo");
    assert_eq!(race.winner(), v4);
    let attempts: Vec<_> = race.report().attempts().collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].endpoint.addr, v6);
    assert_eq!(
        attempts[0].end,
        Some(AttemptEnd::Aborted),
        "TLS never finished"
    );
    assert_near(
        attempts[1].started,
        Duration::from_millis(250),
        "IPv4 attempt start",
    );
    // One attempt delay, then TCP and TLS handshakes and the request over the veth.
    assert!(took < Duration::from_millis(500), "{took:?}");
}
