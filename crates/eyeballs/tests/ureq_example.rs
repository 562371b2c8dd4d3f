//! The ureq recipe (`examples/ureq_connector.rs`, compiled here as a module) against its own
//! HTTP server on 127.0.0.1: requests go through the race, by name, and failures reach the
//! caller as ureq's errors with eyeballs' report inside.
#![cfg(all(feature = "blocking", unix))]

#[allow(dead_code)] // the example's `main`
#[path = "../examples/ureq_connector.rs"]
mod example;

use std::io;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use example::{agent, Server};
use eyeballs::proto::{DnsResult, RecordType};
use eyeballs::resolver::{Lookup, Resolver};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A resolver that answers each record type after its own delay, on a thread, and records
/// every query it is asked.
#[derive(Debug, Clone, Default)]
struct Answers {
    answers: Vec<(RecordType, Duration, DnsResult)>,
    asked: Arc<Mutex<Vec<(String, RecordType)>>>,
}

impl Answers {
    fn answer(mut self, record: RecordType, after: Duration, result: DnsResult) -> Self {
        self.answers.push((record, after, result));
        self
    }

    fn asked(&self) -> Vec<(String, RecordType)> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Resolver for Answers {
    fn lookup(&self, name: &str, record: RecordType) -> Lookup {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push((name.to_owned(), record));
        }
        let (after, result) = self
            .answers
            .iter()
            .find(|a| a.0 == record)
            .map_or((Duration::ZERO, DnsResult::NxDomain), |a| {
                (a.1, a.2.clone())
            });
        let (tx, rx) = tokio::sync::oneshot::channel();
        thread::spawn(move || {
            thread::sleep(after);
            let _ = tx.send(result);
        });
        Box::pin(async move { rx.await.unwrap_or(DnsResult::Error) })
    }
}

#[test]
fn ureq_get_through_the_race_on_loopback() {
    let server = Server::start("hello").unwrap();
    let agent = agent(eyeballs::blocking::Connector::new().timeout(Duration::from_secs(5)));
    for _ in 0..2 {
        let url = format!("http://{}/path?q=1", server.addr());
        let mut response = agent.get(&url).call().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body_mut().read_to_string().unwrap(), "hello");
        let request = server.next_request().unwrap();
        assert!(
            request.starts_with("GET /path?q=1 HTTP/1.1\r\n"),
            "{request:?}"
        );
    }
}

/// HE-3.1 and HE-3.6: the connector races the URI's host name, so eyeballs (not ureq) asks
/// AAAA and A; A answers at once and the attempt waits the Resolution Delay (50 ms) for
/// AAAA, but not for AAAA itself (HE-3.3), which answers NODATA after 1 s.
#[test]
fn ureq_host_name_is_raced_by_eyeballs_with_the_resolution_delay() {
    let server = Server::start("by name").unwrap();
    let resolver = Answers::default()
        .answer(
            RecordType::A,
            Duration::ZERO,
            DnsResult::addresses([LOOPBACK]),
        )
        .answer(RecordType::Aaaa, Duration::from_secs(1), DnsResult::NoData);
    let agent = agent(eyeballs::blocking::Connector::new().resolver(resolver.clone()));

    let url = format!("http://ureq.eyeballs.test:{}/", server.addr().port());
    let started = Instant::now();
    let mut response = agent.get(&url).call().unwrap();
    let took = started.elapsed();

    assert_eq!(response.body_mut().read_to_string().unwrap(), "by name");
    let request = server.next_request().unwrap();
    let host = format!("\r\nhost: ureq.eyeballs.test:{}\r\n", server.addr().port());
    assert!(request.to_ascii_lowercase().contains(&host), "{request:?}");
    let mut asked = resolver.asked();
    asked.sort_by_key(|(_, record)| *record == RecordType::A);
    let name = String::from("ureq.eyeballs.test");
    assert_eq!(
        asked,
        [(name.clone(), RecordType::Aaaa), (name, RecordType::A)]
    );
    assert!(took >= Duration::from_millis(45), "{took:?}");
    assert!(took < Duration::from_millis(900), "{took:?}");
}

/// A refused connection is ureq's `Error::Io` with the OS's kind, and the `eyeballs::Error`
/// with its report inside.
#[test]
fn ureq_refused_keeps_the_eyeballs_report() {
    let closed = TcpListener::bind((LOOPBACK, 0)).unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let agent = agent(eyeballs::blocking::Connector::new());

    let err = agent.get(format!("http://{addr}/")).call().unwrap_err();

    let ureq::Error::Io(err) = err else {
        panic!("expected an I/O error: {err:?}");
    };
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let race = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<eyeballs::Error>())
        .unwrap();
    assert_eq!(race.kind(), eyeballs::ErrorKind::AllAttemptsFailed);
    let report = race.report().unwrap();
    let tried: Vec<_> = report.attempts().map(|a| a.endpoint.addr).collect();
    assert_eq!(tried, [addr]);
}

/// ureq's connect timeout bounds the race: a lookup that takes 2 s ends as ureq's connect
/// timeout after 200 ms.
#[test]
fn ureq_connect_timeout_bounds_the_race() {
    let resolver = Answers::default()
        .answer(RecordType::A, Duration::from_secs(2), DnsResult::NoData)
        .answer(RecordType::Aaaa, Duration::from_secs(2), DnsResult::NoData);
    let agent = agent(eyeballs::blocking::Connector::new().resolver(resolver));

    let started = Instant::now();
    let err = agent
        .get("http://slow.eyeballs.test:9/")
        .config()
        .timeout_connect(Some(Duration::from_millis(200)))
        .build()
        .call()
        .unwrap_err();
    let took = started.elapsed();

    assert!(
        matches!(err, ureq::Error::Timeout(ureq::Timeout::Connect)),
        "{err:?}"
    );
    assert!(took >= Duration::from_millis(190), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

/// An unknown name is ureq's `HostNotFound`, as with ureq's own resolver.
#[test]
fn ureq_unknown_name_is_host_not_found() {
    let agent = agent(eyeballs::blocking::Connector::new().resolver(Answers::default()));
    let err = agent
        .get("http://nowhere.eyeballs.test/")
        .call()
        .unwrap_err();
    assert!(matches!(err, ureq::Error::HostNotFound), "{err:?}");
}
