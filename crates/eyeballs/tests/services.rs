//! HTTPS queries through the drivers (HEv3 §4.1): the resolver is asked for the name the
//! engine gives each query (`_PORT._https.HOST` for another port than 443), first, and its
//! service answer is in the report; a resolver that cannot answer HTTPS (the default ones)
//! answers negatively and nothing waits. Both drivers, loopback only.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use eyeballs::proto::{DnsOutcome, DnsResult, RecordType, ServiceRecord};
use eyeballs::resolver::{Lookup, Resolver, StaticResolver};
use eyeballs::Connector;

/// Answers HTTPS with one ServiceMode record and AAAA with ::1, recording every question.
#[derive(Debug, Clone, Default)]
struct Recording {
    asked: Arc<Mutex<Vec<(String, RecordType)>>>,
}

impl Resolver for Recording {
    fn lookup(&self, name: &str, record: RecordType) -> Lookup {
        self.asked.lock().unwrap().push((name.to_owned(), record));
        let answer = match record {
            RecordType::Https => {
                DnsResult::Services(vec![ServiceRecord::service(1).with_alpn(["h2"])])
            }
            RecordType::Aaaa => DnsResult::addresses([V6]),
            _ => DnsResult::NoData,
        };
        Box::pin(std::future::ready(answer))
    }
}

#[tokio::test]
async fn the_https_query_asks_the_port_name_first_and_its_answer_is_reported() {
    let (_listener, addr) = accepting(V6);
    let resolver = Recording::default();
    let asked = Arc::clone(&resolver.asked);
    let won = Connector::new()
        .resolver(resolver.clone())
        .https_query(true)
        .connect("svc.test", addr.port())
        .await
        .expect("connects over ::1");
    let https_name = format!("_{}._https.svc.test", addr.port());
    let asked_now = asked.lock().unwrap().clone();
    assert_eq!(asked_now[0], (https_name.clone(), RecordType::Https));
    assert!(asked_now.contains(&("svc.test".to_owned(), RecordType::Aaaa)));
    let https = won
        .report()
        .queries()
        .find(|q| q.record == RecordType::Https)
        .expect("the HTTPS query is in the report");
    assert_eq!(https.outcome, Some(DnsOutcome::Addresses));
    assert_eq!(won.report().race().services.len(), 1);

    #[cfg(feature = "blocking")]
    {
        asked.lock().unwrap().clear();
        let won = eyeballs::blocking::Connector::new()
            .resolver(resolver)
            .https_query(true)
            .connect("svc.test", addr.port())
            .expect("the blocking driver too");
        assert_eq!(won.report().race().services.len(), 1);
        // Each query runs on a thread of its own there: asked, in whichever order the
        // threads reach the resolver.
        assert!(asked
            .lock()
            .unwrap()
            .contains(&(https_name, RecordType::Https)));
    }
}

/// The system and static resolvers have no HTTPS records: a negative answer at once, nothing
/// waits.
#[tokio::test]
async fn a_resolver_without_https_answers_nodata() {
    let (_listener, addr) = accepting(V6);
    let won = Connector::new()
        .resolver(StaticResolver::new().host("svc.test", [V6]))
        .https_query(true)
        .connect("svc.test", addr.port())
        .await
        .expect("connects");
    let https = won
        .report()
        .queries()
        .find(|q| q.record == RecordType::Https)
        .expect("asked");
    // `_PORT._https.svc.test` is not in the table: a negative answer either way.
    assert!(
        matches!(
            https.outcome,
            Some(DnsOutcome::NoData | DnsOutcome::NxDomain)
        ),
        "{:?}",
        https.outcome
    );
}

/// Answers HTTPS with a record speaking h3 and h2, AAAA with ::1.
#[derive(Debug, Clone, Default)]
struct H3;

impl Resolver for H3 {
    fn lookup(&self, _name: &str, record: RecordType) -> Lookup {
        let answer = match record {
            RecordType::Https => {
                DnsResult::Services(vec![ServiceRecord::service(1).with_alpn(["h3", "h2"])])
            }
            RecordType::Aaaa => DnsResult::addresses([V6]),
            _ => DnsResult::NoData,
        };
        Box::pin(std::future::ready(answer))
    }
}

/// A QUIC endpoint (`Config::quic_alpn`) in a driver without QUIC attempts fails at once as
/// unsupported (never a TCP connect in its place); the TCP twin then wins at the 10 ms floor.
#[tokio::test]
async fn a_quic_endpoint_fails_at_once_in_the_tcp_drivers() {
    let (_listener, addr) = accepting(V6);
    let mut connector = Connector::new().resolver(H3).https_query(true);
    connector.config_mut().quic_alpn = vec!["h3".into()];
    let won = connector
        .connect("h3.test", addr.port())
        .await
        .expect("the TCP endpoint connects");
    let attempts: Vec<_> = won.report().attempts().collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(
        attempts[0].endpoint.protocol,
        eyeballs::proto::Protocol::Quic
    );
    assert_eq!(
        attempts[0].error.map(std::io::Error::kind),
        Some(std::io::ErrorKind::Unsupported)
    );
    assert!(attempts[1].started >= ms(10) && attempts[1].started < ms(10) + SLACK);
    assert_eq!(won.report().winner(), Some(addr));
}
