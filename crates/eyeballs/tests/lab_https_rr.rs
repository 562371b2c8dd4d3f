//! HTTPS records (RFC 9460, HEv3 §4.2) in the network lab (root): the hickory resolver asks the
//! lab's DNS server for them, the driver races on what they say. Both drivers; offsets within
//! 25 ms of the schedule.
#![cfg(feature = "hickory")]

mod common;

#[path = "common/lab.rs"]
mod lab;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use eyeballs::proto::{DnsOutcome, QueryRecord, RecordType, ServiceRecord};
use eyeballs::resolver::HickoryResolver;
use eyeballs::{Connector, Report};
use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, HttpsRecord, Lab, LabBuilder};
use lab::*;

/// The name the races connect to.
const WEB: &str = "web.test";
/// The port the HTTPS records name (the lab listens there too).
const SERVICE_PORT: u16 = 8443;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn v6a() -> Ipv6Addr {
    V6A.parse().unwrap()
}

fn v4a() -> Ipv4Addr {
    V4A.parse().unwrap()
}

fn at(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), port)
}

/// `V6A` and `V4A`, as the A and AAAA records of a name.
fn both() -> DnsRecords {
    DnsRecords {
        aaaa: vec![v6a()],
        a: vec![v4a()],
    }
}

/// A lab with `V6A` and `V4A` accepting on [`PORT`], 443 and [`SERVICE_PORT`], and more DNS.
fn https_lab(test: &str, dns: impl FnOnce(LabBuilder) -> LabBuilder) -> Option<Lab> {
    lab_with(
        test,
        &[(V6A, Behavior::Accept), (V4A, Behavior::Accept)],
        |b| dns(b.port(443).port(SERVICE_PORT)),
    )
}

/// hickory against the lab's DNS server over IPv4, HTTPS queries on.
fn connector(lab: &Lab) -> Connector {
    Connector::new()
        .resolver(
            HickoryResolver::new([lab.dns_server_v4()])
                .timeout(Duration::from_secs(2))
                .attempts(1),
        )
        .resolve_timeout(Duration::from_secs(3))
        .https_query(true)
}

/// What a race did: its report (a failed race's too) and how long the call took.
#[derive(Debug)]
struct Raced {
    elapsed: Duration,
    report: Report,
    error: Option<String>,
}

impl Raced {
    /// The attempts: address and start offset.
    fn starts(&self) -> Vec<(SocketAddr, Duration)> {
        self.report
            .attempts()
            .map(|a| (a.endpoint.addr, a.started))
            .collect()
    }

    /// Asserts the attempts' addresses in start order, each start within [`SLACK`] of its
    /// offset.
    #[track_caller]
    fn assert_schedule(&self, expected: &[(SocketAddr, u64)]) {
        let starts = self.starts();
        let got: Vec<SocketAddr> = starts.iter().map(|s| s.0).collect();
        let want: Vec<SocketAddr> = expected.iter().map(|e| e.0).collect();
        assert_eq!(got, want, "attempt order ({self:?})");
        for ((addr, start), (_, offset)) in starts.iter().zip(expected) {
            assert_near(*start, ms(*offset), &format!("start of {addr}"));
        }
    }

    /// When the first attempt started (the engine's clock).
    fn first_start(&self) -> Instant {
        self.report.race().attempts[0].started
    }

    /// The engine's record of the queries, in the order they were sent.
    fn queries(&self) -> &[QueryRecord] {
        &self.report.race().queries
    }
}

/// Races to `host`:`port` with `connector` on a runtime in the lab's client namespace.
fn race(lab: &Lab, connector: Connector, host: &'static str, port: u16) -> Raced {
    lab.run_in_client(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let t0 = tokio::time::Instant::now();
            let result = connector.connect(host, port).await;
            let elapsed = t0.elapsed();
            match result {
                Ok(c) => Raced {
                    elapsed,
                    report: c.report().clone(),
                    error: None,
                },
                Err(e) => Raced {
                    elapsed,
                    report: e.report().cloned().expect("a failed race has a report"),
                    error: Some(e.to_string()),
                },
            }
        })
    })
    .expect("runs in the client namespace")
}

/// Asserts V3-4.1.3's order: HTTPS first (for `https_name`), then AAAA and A for the host,
/// and the HTTPS query's outcome.
#[track_caller]
fn assert_https_first(raced: &Raced, https_name: &str, outcome: Option<DnsOutcome>) {
    let queries = raced.queries();
    let order: Vec<(RecordType, Option<&str>)> = queries
        .iter()
        .take(3)
        .map(|q| (q.record, q.name.as_deref()))
        .collect();
    assert_eq!(
        order,
        [
            (RecordType::Https, Some(https_name)),
            (RecordType::Aaaa, None),
            (RecordType::A, None)
        ],
        "{raced:?}"
    );
    assert_eq!(queries[0].outcome, outcome, "the HTTPS query's outcome");
}

/// The ServiceMode record of the scenarios: the owner name, h2, port 8443, one hint per family.
fn hinted_service() -> HttpsRecord {
    HttpsRecord::service(1)
        .alpn(["h2"])
        .port(SERVICE_PORT)
        .ipv6hint([v6a()])
        .ipv4hint([v4a()])
}

/// What hickory should make of [`hinted_service`].
fn hinted_service_record() -> ServiceRecord {
    let mut record = ServiceRecord::service(1)
        .with_alpn(["h2"])
        .with_hints([v6a()], [v4a()]);
    record.port = Some(SERVICE_PORT);
    record
}

/// The lab of V3-4.2.1.3: `web.test` has the hinted record at once, its AAAA and A take
/// 200 ms.
fn hints_lab(test: &str) -> Option<Lab> {
    https_lab(test, |b| {
        b.dns(WEB, both())
            .https(WEB, [hinted_service()])
            .dns_behavior(
                WEB,
                eyeballs_lab::RecordType::Aaaa,
                DnsBehavior::answer_after(ms(200)),
            )
            .dns_behavior(
                WEB,
                eyeballs_lab::RecordType::A,
                DnsBehavior::answer_after(ms(200)),
            )
    })
}

/// V3-4.2.1.3 (T6 on the real kernel), V3-4.1.3: the HTTPS answer comes at once with
/// `port=8443` and hints; AAAA and A take 200 ms. The race starts on the IPv6 hint, on the
/// record's port, at once, and is won long before the address answers.
#[test]
fn v3_4_2_1_3_hints_start_the_race_on_the_record_port() {
    let Some(lab) = hints_lab("v3_4_2_1_3_hints_start_the_race_on_the_record_port") else {
        return;
    };
    let raced = race(&lab, connector(&lab), WEB, 443);
    assert_eq!(raced.error, None, "{raced:?}");
    assert_eq!(raced.report.winner(), Some(at(V6A, SERVICE_PORT)));
    raced.assert_schedule(&[(at(V6A, SERVICE_PORT), 0)]);
    assert!(raced.elapsed < ms(150), "did not wait for AAAA: {raced:?}");
    assert_https_first(&raced, WEB, Some(DnsOutcome::Addresses));
    // The hints started it, the moment the HTTPS answer came in.
    assert_eq!(Some(raced.first_start()), raced.queries()[0].ended);
    // The address queries were not needed any more.
    for q in &raced.queries()[1..3] {
        assert_eq!(q.outcome, Some(DnsOutcome::Cancelled), "{q:?}");
    }
    assert_eq!(raced.report.race().services, [hinted_service_record()]);
    assert_eq!(lab.dns_query_count(WEB, eyeballs_lab::RecordType::Https), 1);
}

/// The same through the blocking driver (each query on a thread of its own, hickory's
/// blocking lookups).
#[cfg(feature = "blocking")]
#[test]
fn v3_4_2_1_3_hints_start_the_blocking_race_on_the_record_port() {
    let Some(lab) = hints_lab("v3_4_2_1_3_hints_start_the_blocking_race_on_the_record_port") else {
        return;
    };
    let connector = eyeballs::blocking::Connector::from(connector(&lab));
    let (elapsed, report) = lab
        .run_in_client(move || {
            let t0 = std::time::Instant::now();
            let result = connector.connect(WEB, 443);
            let elapsed = t0.elapsed();
            let report = match result {
                Ok(c) => c.report().clone(),
                Err(e) => panic!("the blocking race failed: {e}"),
            };
            (elapsed, report)
        })
        .expect("runs in the client namespace");
    let raced = Raced {
        elapsed,
        report,
        error: None,
    };
    assert_eq!(
        raced.report.winner(),
        Some(at(V6A, SERVICE_PORT)),
        "{raced:?}"
    );
    raced.assert_schedule(&[(at(V6A, SERVICE_PORT), 0)]);
    assert!(raced.elapsed < ms(150), "did not wait for AAAA: {raced:?}");
    assert_https_first(&raced, WEB, Some(DnsOutcome::Addresses));
    assert_eq!(raced.report.race().services, [hinted_service_record()]);
}

/// V3-4.2.1.1, V3-4.2.1.2: `alias.test` has an AliasMode record to `svc.test` and no
/// addresses; `svc.test` has a ServiceMode record (".", port 8443, no hints) and AAAA/A. The
/// alias is followed, the service's owner name is resolved, and the race connects to its
/// address on the record's port.
#[test]
fn v3_4_2_1_1_an_alias_leads_to_the_service_and_its_addresses() {
    let Some(lab) = https_lab(
        "v3_4_2_1_1_an_alias_leads_to_the_service_and_its_addresses",
        |b| {
            b.https("alias.test", [HttpsRecord::alias("svc.test.")])
                .dns("svc.test", both())
                .https(
                    "svc.test",
                    [HttpsRecord::service(1).alpn(["h2"]).port(SERVICE_PORT)],
                )
        },
    ) else {
        return;
    };
    let raced = race(&lab, connector(&lab), "alias.test", 443);
    assert_eq!(raced.error, None, "{raced:?}");
    assert_eq!(raced.report.winner(), Some(at(V6A, SERVICE_PORT)));
    assert_eq!(raced.starts().len(), 1, "{raced:?}");
    // An AliasMode answer is a positive answer; it is not service information by itself.
    assert_https_first(&raced, "alias.test", Some(DnsOutcome::Addresses));
    let queries = raced.queries();
    let rest: Vec<(RecordType, Option<&str>)> = queries[3..]
        .iter()
        .map(|q| (q.record, q.name.as_deref()))
        .collect();
    assert_eq!(
        rest,
        [
            (RecordType::Https, Some("svc.test")),
            (RecordType::Aaaa, Some("svc.test")),
            (RecordType::A, Some("svc.test")),
        ],
        "{raced:?}"
    );
    assert_eq!(queries[3].outcome, Some(DnsOutcome::Addresses));
    // The race starts once the service's AAAA answer is in (its HTTPS answer, set A's
    // service information, came first).
    assert_eq!(Some(raced.first_start()), queries[4].ended, "{raced:?}");
    assert!(queries[3].ended <= queries[4].ended);
    assert!(raced.elapsed < ms(200), "{raced:?}");
    // The alias's own names have no addresses.
    assert_eq!(
        queries[1].outcome,
        Some(DnsOutcome::NoData),
        "{:?}",
        queries[1]
    );
    let mut want = ServiceRecord::service(1).with_alpn(["h2"]);
    want.port = Some(SERVICE_PORT);
    assert_eq!(raced.report.race().services, [want]);
    for (name, rtype) in [
        ("alias.test", eyeballs_lab::RecordType::Https),
        ("svc.test", eyeballs_lab::RecordType::Https),
        ("svc.test", eyeballs_lab::RecordType::Aaaa),
    ] {
        assert_eq!(lab.dns_query_count(name, rtype), 1, "{name} {rtype:?}");
    }
}

/// V3-4.2.3, V3-4.2.1 (T5 on the real kernel): the HTTPS query (`_8080._https.web.test`)
/// never answers, AAAA and A do at once: the race starts when the Resolution Delay (50 ms)
/// after the first address answer has passed, not later.
#[test]
fn v3_4_2_3_https_never_answered_costs_the_resolution_delay() {
    let https_name = format!("_{PORT}._https.{WEB}");
    let Some(lab) = https_lab(
        "v3_4_2_3_https_never_answered_costs_the_resolution_delay",
        |b| {
            b.dns(WEB, both())
                .https(&https_name, [hinted_service()])
                .dns_behavior(
                    &https_name,
                    eyeballs_lab::RecordType::Https,
                    DnsBehavior::never(),
                )
        },
    ) else {
        return;
    };
    let raced = race(&lab, connector(&lab), WEB, PORT);
    assert_eq!(raced.error, None, "{raced:?}");
    assert_eq!(raced.report.winner(), Some(sock(V6A)));
    raced.assert_schedule(&[(sock(V6A), 50)]);
    assert_https_first(&raced, &https_name, Some(DnsOutcome::Cancelled));
    let first_answer = raced.report.queries().filter_map(|q| q.answered).min();
    let first_answer = first_answer.expect("AAAA and A were answered");
    let start = raced.starts()[0].1;
    assert_near(
        start.saturating_sub(first_answer),
        ms(50),
        "from the first address answer to the start",
    );
    assert!(raced.report.race().services.is_empty());
    assert_eq!(
        lab.dns_query_count(&https_name, eyeballs_lab::RecordType::Https),
        1
    );
}

/// V3-4.2.4, V3-4.2.2: a negative HTTPS answer is service information: the race starts as
/// soon as AAAA is in, with no Resolution Delay. NXDOMAIN both ways (a name the lab does not
/// know, and a known name set to NXDOMAIN), NODATA and SERVFAIL.
#[test]
fn v3_4_2_4_a_negative_https_answer_does_not_wait() {
    struct Case {
        what: &'static str,
        port: u16,
        behavior: Option<DnsBehavior>,
        outcome: DnsOutcome,
    }
    let cases = [
        Case {
            what: "unknown name: NXDOMAIN",
            port: PORT,
            behavior: None,
            outcome: DnsOutcome::NxDomain,
        },
        Case {
            what: "NXDOMAIN",
            port: 443,
            behavior: Some(DnsBehavior::nxdomain()),
            outcome: DnsOutcome::NxDomain,
        },
        Case {
            what: "NODATA",
            port: 443,
            behavior: Some(DnsBehavior::nodata()),
            outcome: DnsOutcome::NoData,
        },
        Case {
            what: "SERVFAIL",
            port: 443,
            behavior: Some(DnsBehavior::servfail()),
            outcome: DnsOutcome::ServFail,
        },
    ];
    for case in cases {
        let Some(lab) = https_lab("v3_4_2_4_a_negative_https_answer_does_not_wait", |b| {
            let b = b.dns(WEB, both());
            match case.behavior {
                Some(behavior) => b.https(WEB, [hinted_service()]).dns_behavior(
                    WEB,
                    eyeballs_lab::RecordType::Https,
                    behavior,
                ),
                None => b,
            }
        }) else {
            return;
        };
        eprintln!("case: {}", case.what);
        let raced = race(&lab, connector(&lab), WEB, case.port);
        assert_eq!(raced.error, None, "{}: {raced:?}", case.what);
        let winner = at(V6A, case.port);
        assert_eq!(raced.report.winner(), Some(winner), "{}", case.what);
        raced.assert_schedule(&[(winner, 0)]);
        let https_name = match case.port {
            443 => WEB.to_owned(),
            port => format!("_{port}._https.{WEB}"),
        };
        assert_https_first(&raced, &https_name, Some(case.outcome));
        // It starts when both the HTTPS and the AAAA answers are in, not later.
        assert_eq!(
            Some(raced.first_start()),
            raced.queries()[..2].iter().filter_map(|q| q.ended).max(),
            "{}: {raced:?}",
            case.what
        );
        assert!(raced.report.race().services.is_empty(), "{}", case.what);
        assert_eq!(
            lab.dns_query_count(&https_name, eyeballs_lab::RecordType::Https),
            1,
            "{}",
            case.what
        );
    }
}

/// Hints are endpoints only until the address answer of their family: here the HTTPS answer
/// (at once) hints at a black-holed `V6B`, and `web.test`'s AAAA (at 20 ms) names `V6A` only
/// (no A records): the race starts on the hint, the answer's address joins it and is tried
/// next, a Connection Attempt Delay (250 ms) later, and wins (V3-4.2.1.4, V3-7.1, V3-4.3.1).
#[test]
fn v3_4_2_1_4_the_aaaa_answer_joins_the_race_started_on_a_hint() {
    let Some(lab) = lab_with(
        "v3_4_2_1_4_the_aaaa_answer_joins_the_race_started_on_a_hint",
        &[(V6A, Behavior::Accept), (V6B, Behavior::BlackHole)],
        |b| {
            let hint: Ipv6Addr = V6B.parse().unwrap();
            b.port(443)
                .dns(
                    WEB,
                    DnsRecords {
                        aaaa: vec![v6a()],
                        a: vec![],
                    },
                )
                .https(WEB, [HttpsRecord::service(1).alpn(["h2"]).ipv6hint([hint])])
                .dns_behavior(
                    WEB,
                    eyeballs_lab::RecordType::Aaaa,
                    DnsBehavior::answer_after(ms(20)),
                )
        },
    ) else {
        return;
    };
    let raced = race(&lab, connector(&lab), WEB, 443);
    assert_eq!(raced.error, None, "{raced:?}");
    raced.assert_schedule(&[(at(V6B, 443), 0), (at(V6A, 443), 250)]);
    assert_eq!(raced.report.winner(), Some(at(V6A, 443)), "{raced:?}");
    let aaaa = &raced.queries()[1];
    assert_eq!(aaaa.record, RecordType::Aaaa);
    assert_eq!(aaaa.addresses, [IpAddr::V6(v6a())]);
}
