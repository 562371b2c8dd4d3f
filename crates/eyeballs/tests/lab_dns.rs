//! DNS scenarios in the network lab (root): the hickory resolver against the lab's DNS server,
//! with per-record-type delays and failures. Offsets within 25 ms of the schedule.
#![cfg(feature = "hickory")]

mod common;

#[path = "common/lab.rs"]
mod lab;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use eyeballs::resolver::HickoryResolver;
use eyeballs::{Connector, ErrorKind};
use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, Lab, RecordType};
use lab::*;

const NAME: &str = "dual.test";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A lab with `dual.test` = V6A + V4A (both accepting unless `v6` says otherwise) and the
/// given DNS behaviour per record type.
fn dns_lab(test: &str, v6: Behavior, aaaa: DnsBehavior, a: DnsBehavior) -> Option<Lab> {
    lab_with(test, &[(V6A, v6), (V4A, Behavior::Accept)], |b| {
        b.dns(
            NAME,
            DnsRecords {
                aaaa: vec![V6A.parse::<Ipv6Addr>().unwrap()],
                a: vec![V4A.parse::<Ipv4Addr>().unwrap()],
            },
        )
        .dns_behavior(NAME, RecordType::Aaaa, aaaa)
        .dns_behavior(NAME, RecordType::A, a)
    })
}

fn connector(lab: &Lab) -> Connector {
    Connector::new()
        .resolver(
            HickoryResolver::new([lab.dns_server_v4()])
                .timeout(Duration::from_secs(2))
                .attempts(1),
        )
        .resolve_timeout(Duration::from_secs(3))
}

fn race(lab: &Lab) -> Ran {
    run(lab, connector(lab), |c| async move {
        c.connect(NAME, PORT).await
    })
}

#[test]
fn both_answer_at_once_ipv6_wins() {
    let Some(lab) = dns_lab(
        "both_answer_at_once_ipv6_wins",
        Behavior::Accept,
        DnsBehavior::answer(),
        DnsBehavior::answer(),
    ) else {
        return;
    };
    let ran = race(&lab);
    assert_eq!(ran.winner, Some(sock(V6A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0)]);
    assert_eq!(lab.dns_query_count(NAME, RecordType::Aaaa), 1);
    assert_eq!(lab.dns_query_count(NAME, RecordType::A), 1);
}

#[test]
fn aaaa_answered_late_ipv4_goes_after_resolution_delay() {
    let Some(lab) = dns_lab(
        "aaaa_answered_late_ipv4_goes_after_resolution_delay",
        Behavior::Accept,
        DnsBehavior::answer_after(ms(200)),
        DnsBehavior::answer(),
    ) else {
        return;
    };
    let ran = race(&lab);
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V4A), 50)]);
    assert_near(ran.elapsed, ms(50), "connect time");
}

#[test]
fn aaaa_never_answered_ipv4_goes_after_resolution_delay() {
    let Some(lab) = dns_lab(
        "aaaa_never_answered_ipv4_goes_after_resolution_delay",
        Behavior::Accept,
        DnsBehavior::never(),
        DnsBehavior::answer(),
    ) else {
        return;
    };
    let ran = race(&lab);
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V4A), 50)]);
}

#[test]
fn a_never_answered_ipv6_goes_at_once() {
    let Some(lab) = dns_lab(
        "a_never_answered_ipv6_goes_at_once",
        Behavior::Accept,
        DnsBehavior::answer(),
        DnsBehavior::never(),
    ) else {
        return;
    };
    let ran = race(&lab);
    assert_eq!(ran.winner, Some(sock(V6A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0)]);
    assert_near(ran.elapsed, ms(0), "connect time");
}

#[test]
fn aaaa_nxdomain_or_servfail_lets_ipv4_go_at_once() {
    for (name, aaaa) in [
        ("aaaa_nxdomain", DnsBehavior::nxdomain()),
        ("aaaa_servfail", DnsBehavior::servfail()),
        ("aaaa_nodata", DnsBehavior::nodata()),
    ] {
        let Some(lab) = dns_lab(name, Behavior::Accept, aaaa, DnsBehavior::answer()) else {
            return;
        };
        let ran = race(&lab);
        assert_eq!(ran.winner, Some(sock(V4A)), "{name}: {ran:?}");
        ran.assert_schedule(&[(sock(V4A), 0)]);
    }
}

#[test]
fn nxdomain_is_not_found() {
    let Some(lab) = dns_lab(
        "nxdomain_is_not_found",
        Behavior::Accept,
        DnsBehavior::nxdomain(),
        DnsBehavior::nxdomain(),
    ) else {
        return;
    };
    let ran = race(&lab);
    let (kind, message, io_kind) = ran.error.clone().expect("an error");
    assert_eq!(kind, ErrorKind::NoAddresses);
    assert_eq!(io_kind, std::io::ErrorKind::NotFound);
    assert_eq!(
        message,
        "could not resolve dual.test:8080: AAAA nxdomain, A nxdomain"
    );
    assert!(ran.attempts.is_empty());
}

#[test]
fn servfail_is_a_resolution_failure() {
    let Some(lab) = dns_lab(
        "servfail_is_a_resolution_failure",
        Behavior::Accept,
        DnsBehavior::servfail(),
        DnsBehavior::servfail(),
    ) else {
        return;
    };
    let ran = race(&lab);
    let (kind, message, _) = ran.error.clone().expect("an error");
    assert_eq!(kind, ErrorKind::NoAddresses);
    assert_eq!(
        message,
        "could not resolve dual.test:8080: AAAA servfail, A servfail"
    );
}

#[test]
fn ipv6_black_holed_by_name_ipv4_wins_after_attempt_delay() {
    let Some(lab) = dns_lab(
        "ipv6_black_holed_by_name_ipv4_wins_after_attempt_delay",
        Behavior::BlackHole,
        DnsBehavior::answer(),
        DnsBehavior::answer(),
    ) else {
        return;
    };
    let ran = race(&lab);
    assert_eq!(ran.winner, Some(sock(V4A)), "{ran:?}");
    ran.assert_schedule(&[(sock(V6A), 0), (sock(V4A), 250)]);
    assert_near(ran.elapsed, ms(250), "connect time");
}

#[test]
fn dns_server_over_ipv6_transport() {
    let Some(lab) = dns_lab(
        "dns_server_over_ipv6_transport",
        Behavior::Accept,
        DnsBehavior::answer(),
        DnsBehavior::answer(),
    ) else {
        return;
    };
    let resolver = HickoryResolver::new([lab.dns_server_v6()]).attempts(1);
    let ran = run(&lab, Connector::new().resolver(resolver), |c| async move {
        c.connect(NAME, PORT).await
    });
    assert_eq!(ran.winner, Some(sock(V6A)), "{ran:?}");
}
