//! The history store through both drivers on loopback: a refused path no longer leads the
//! next race, partitions and bound sockets keep their history apart (V3-5.3.3, HE-4.5), and
//! a connector without history remembers nothing.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::*;
use eyeballs::history::HistoryStore;
use eyeballs::resolver::StaticResolver;
use eyeballs::{Connector, PathFailure};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn a_refused_path_no_longer_leads_the_next_race() {
    let refused = refusing(LOOPBACK);
    let (_listener, open) = accepting(LOOPBACK);
    let connector = Connector::new();
    let first = connector.connect_addrs([refused, open]).await.unwrap();
    let order: Vec<_> = first.report().attempts().map(|a| a.endpoint.addr).collect();
    assert_eq!(order, [refused, open]);

    let second = connector.connect_addrs([refused, open]).await.unwrap();
    let order: Vec<_> = second
        .report()
        .attempts()
        .map(|a| a.endpoint.addr)
        .collect();
    assert_eq!(
        order,
        [open],
        "the refused address goes last, and is not needed"
    );
    assert!(second.report().history_reordered());
    let store = connector.history_store().unwrap();
    assert_eq!(
        store.facts(refused).and_then(|f| f.failed),
        Some(PathFailure::Failed(eyeballs::FailureKind::Refused))
    );
}

/// Host names too, through the store's host entry (its endpoints and last winner).
#[tokio::test]
async fn a_host_name_race_knows_what_the_last_one_taught() {
    let refused = refusing(LOOPBACK);
    let (_listener, open) = accepting(Ipv4Addr::new(127, 0, 0, 2).into());
    // One port for both: the refusing address on the accepting one's port.
    let refused_ip = refused.ip();
    let connector =
        Connector::new().resolver(StaticResolver::new().host("h.test", [refused_ip, open.ip()]));
    // 127.0.0.1 has nobody on `open`'s port: refused.
    let first = connector.connect("h.test", open.port()).await.unwrap();
    assert_eq!(first.report().attempts().count(), 2);
    let second = connector.connect("h.test", open.port()).await.unwrap();
    let attempts: Vec<_> = second.report().attempts().collect();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].endpoint.addr, open);
    let facts = attempts[0].history.unwrap();
    assert!(facts.used && facts.rtt.is_some(), "{facts:?}");
}

#[test]
#[cfg(feature = "blocking")]
fn the_blocking_driver_learns_too() {
    let refused = refusing(LOOPBACK);
    let (_listener, open) = accepting(LOOPBACK);
    let connector = eyeballs::blocking::Connector::new();
    drop(connector.connect_addrs([refused, open]).unwrap());
    let second = connector.connect_addrs([refused, open]).unwrap();
    assert_eq!(second.report().attempts().count(), 1);
    assert_eq!(second.report().winner(), Some(open));
}

/// V3-5.3.3 and HE-4.5: partitions of one store, and a connector bound to a local address,
/// do not see each other's history; `without_history` remembers nothing.
#[tokio::test]
async fn v3_5_3_3_partitions_and_bound_sockets_keep_history_apart() {
    let refused = refusing(LOOPBACK);
    let (_listener, open) = accepting(LOOPBACK);
    let store = HistoryStore::new();
    let a = Connector::new().history(store.partition("a"));
    drop(a.connect_addrs([refused, open]).await.unwrap());
    assert!(store.partition("a").facts(refused).is_some());
    assert!(
        store.facts(refused).is_none(),
        "the default partition knows nothing"
    );

    let b = Connector::new().history(store.partition("b"));
    let race = b.connect_addrs([refused, open]).await.unwrap();
    assert_eq!(
        race.report().attempts().count(),
        2,
        "b pays the refusal itself"
    );

    // Bound to 127.0.0.1: not the default partition's history either.
    let unbound = Connector::new().history(store.clone());
    drop(unbound.connect_addrs([refused, open]).await.unwrap());
    let bound = Connector::new()
        .history(store.clone())
        .local_addrs([LOOPBACK]);
    let race = bound.connect_addrs([refused, open]).await.unwrap();
    assert_eq!(
        race.report().attempts().count(),
        2,
        "the bound connector pays again"
    );
    // The bound partition is the same whichever order the connector was built in, and
    // still apart from the unbound one.
    let fresh = HistoryStore::new();
    let bound_first = Connector::new()
        .history(fresh.clone())
        .local_addrs([LOOPBACK]);
    drop(bound_first.connect_addrs([refused, open]).await.unwrap());
    let bound_then = Connector::new()
        .local_addrs([LOOPBACK])
        .history(fresh.clone());
    let race = bound_then.connect_addrs([refused, open]).await.unwrap();
    assert_eq!(
        race.report().attempts().count(),
        1,
        "the bound partition remembers"
    );
    let unbound = Connector::new().history(fresh);
    let race = unbound.connect_addrs([refused, open]).await.unwrap();
    assert_eq!(
        race.report().attempts().count(),
        2,
        "the unbound one does not"
    );

    let forgetful = Connector::new().without_history();
    assert!(forgetful.history_store().is_none());
    drop(forgetful.connect_addrs([refused, open]).await.unwrap());
    let race = forgetful.connect_addrs([refused, open]).await.unwrap();
    assert_eq!(race.report().attempts().count(), 2);
    assert!(!race.report().history_reordered());
}
