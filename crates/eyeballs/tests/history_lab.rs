//! History on the real kernel (root): the second connect to a host with black-holed IPv6
//! leads with IPv4; a repaired path is used again once its hold ends (V3-5.3.6); RTTs order
//! the endpoints and set the attempt delay (HE-4.3, HE-5.8); a network change in the
//! namespace flushes the store (HE-4.6).

mod common;

#[path = "common/lab.rs"]
mod lab;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use eyeballs::history::{HistoryConfig, HistoryStore};
use eyeballs::resolver::StaticResolver;
use eyeballs::{Connector, PathFailure, Report};
use eyeballs_lab::{Behavior, Lab};
use lab::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A connector that resolves `h.test` to `ips` (no DNS traffic), with `store`.
fn connector(ips: &[&str], store: HistoryStore) -> Connector {
    Connector::new()
        .resolver(StaticResolver::new().host("h.test", ips.iter().map(|s| ip(s))))
        .history(store)
}

/// Runs `f` on a current-thread runtime in the lab's client namespace.
fn in_client<R: Send>(lab: &Lab, f: impl AsyncFnOnce() -> R + Send) -> R {
    lab.run_in_client(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
    .unwrap()
}

/// Connects to `h.test`; the report of a success.
async fn connect(c: &Connector) -> Report {
    c.connect("h.test", PORT).await.unwrap().report().clone()
}

/// Each attempt: address, start offset.
fn starts(r: &Report) -> Vec<(SocketAddr, Duration)> {
    r.attempts().map(|a| (a.endpoint.addr, a.started)).collect()
}

/// The done-when: with IPv6 black-holed, the first connect waits out the Connection
/// Attempt Delay once; the second leads with IPv4 and costs its handshake.
#[test]
fn the_second_connect_with_black_holed_ipv6_costs_one_handshake() {
    let Some(lab) = lab(
        "the_second_connect_with_black_holed_ipv6_costs_one_handshake",
        &[(V6A, Behavior::BlackHole), (V4A, Behavior::Delay(ms(20)))],
    ) else {
        return;
    };
    let (first, second) = in_client(&lab, async || {
        let c = connector(&[V6A, V4A], HistoryStore::new());
        (connect(&c).await, connect(&c).await)
    });
    assert_eq!(first.winner(), Some(sock(V4A)));
    let s = starts(&first);
    assert_eq!(s[0].0, sock(V6A));
    assert_near(
        s[1].1,
        ms(250),
        "first race: IPv4 starts at the attempt delay",
    );

    assert_eq!(second.winner(), Some(sock(V4A)));
    let s = starts(&second);
    assert_eq!(s.len(), 1, "one attempt: {s:?}");
    assert_eq!(s[0].0, sock(V4A));
    assert!(second.history_reordered());
    let facts = second.attempts().next().unwrap().history.unwrap();
    assert!(facts.rtt.is_some() && facts.used);
    let total = second.elapsed().unwrap();
    let handshake = {
        let a = second.attempts().next().unwrap();
        a.ended.unwrap() - a.started
    };
    eprintln!(
        "second connect: {total:?} in all, IPv4 handshake {handshake:?}, started at {:?}",
        s[0].1
    );
    assert_near(
        total,
        handshake,
        "second race: the IPv4 handshake and no more",
    );
}

/// V3-5.3.6: a black hole repaired after the first connect is used again once its hold ends
/// (here 1 s), and its success clears what was held against it.
#[test]
fn v3_5_3_6_a_repaired_path_is_found_again_after_its_hold() {
    let Some(lab) = lab(
        "v3_5_3_6_a_repaired_path_is_found_again_after_its_hold",
        &[(V6A, Behavior::BlackHole), (V4A, Behavior::Delay(ms(5)))],
    ) else {
        return;
    };
    let lab_ref = &lab;
    let (first, repaired, after_hold, store) = in_client(&lab, async || {
        let mut config = HistoryConfig::default();
        config.failure_hold = Duration::from_secs(1);
        let store = HistoryStore::with_config(config);
        let c = connector(&[V6A, V4A], store.clone());
        let first = connect(&c).await;
        let held_since = Instant::now();
        lab_ref.set_behavior(ip(V6A), Behavior::Accept).unwrap();
        let repaired = connect(&c).await;
        tokio::time::sleep(Duration::from_secs(1).saturating_sub(held_since.elapsed())).await;
        let after_hold = connect(&c).await;
        (first, repaired, after_hold, store)
    });
    assert_eq!(first.winner(), Some(sock(V4A)));
    // Within the hold, IPv4 still leads.
    assert_eq!(repaired.winner(), Some(sock(V4A)));
    assert_eq!(starts(&repaired)[0].0, sock(V4A));
    // After it, IPv6 takes its RFC 6724 place again, and wins.
    assert_eq!(after_hold.winner(), Some(sock(V6A)));
    assert_eq!(starts(&after_hold)[0].0, sock(V6A));
    let facts = store.facts(sock(V6A)).unwrap();
    assert_eq!(facts.failed, None, "the success forgave the stall");
    assert!(facts.rtt.is_some());
}

/// HE-4.3 and HE-5.8: with an 80 ms and a 5 ms path known, the 5 ms one goes first; when it
/// stalls, the next attempt starts after its RTO clamped to the 100 ms minimum, not after
/// the 250 ms default.
#[test]
fn he_4_3_he_5_8_rtts_set_the_order_and_the_delay() {
    let Some(lab) = lab(
        "he_4_3_he_5_8_rtts_set_the_order_and_the_delay",
        &[
            (V4A, Behavior::Delay(ms(80))),
            (V4B, Behavior::Delay(ms(5))),
        ],
    ) else {
        return;
    };
    let lab_ref = &lab;
    let (first, fast, stalled) = in_client(&lab, async || {
        let c = connector(&[V4A, V4B], HistoryStore::new());
        // The host's first race: V4A (first in the answer) wins after 80 ms.
        let first = connect(&c).await;
        // Another race of the same store learns V4B's 5 ms.
        drop(c.connect_addrs([sock(V4B)]).await.unwrap());
        let fast = connect(&c).await;
        lab_ref.set_behavior(ip(V4B), Behavior::BlackHole).unwrap();
        let stalled = connect(&c).await;
        (first, fast, stalled)
    });
    assert_eq!(first.winner(), Some(sock(V4A)));
    assert_eq!(starts(&first).len(), 1);

    assert_eq!(fast.winner(), Some(sock(V4B)));
    assert_eq!(starts(&fast)[0].0, sock(V4B), "the lower RTT first");
    assert!(fast.history_reordered());

    let s = starts(&stalled);
    assert_eq!(
        s.iter().map(|a| a.0).collect::<Vec<_>>(),
        [sock(V4B), sock(V4A)]
    );
    let delay = stalled.attempts().next().unwrap().delay;
    assert_eq!(delay, ms(100), "V4B's RTO, raised to the minimum");
    assert_near(s[1].1, ms(100), "V4A starts at V4B's derived delay");
    assert_eq!(stalled.winner(), Some(sock(V4A)));
}

/// HE-4.6: an address added in the client's namespace flushes what the store knew: the next
/// race pays the fallback again.
#[test]
fn he_4_6_a_network_change_flushes_the_store() {
    let Some(lab) = lab(
        "he_4_6_a_network_change_flushes_the_store",
        &[(V6A, Behavior::BlackHole), (V4A, Behavior::Delay(ms(5)))],
    ) else {
        return;
    };
    let ns = lab.client_netns().to_owned();
    let (remembered, flushed, store) = in_client(&lab, async || {
        let store = HistoryStore::new();
        let c = connector(&[V6A, V4A], store.clone());
        let _ = connect(&c).await;
        let remembered = connect(&c).await;
        // An address the lab does not use, on the client's interface.
        let out = Command::new("ip")
            .args(["-n", &ns, "addr", "add", "198.18.201.1/32", "dev", "lab0"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The kernel's notification is queued by the time `ip` returns.
        let flushed = connect(&c).await;
        (remembered, flushed, store)
    });
    assert_eq!(
        starts(&remembered)[0].0,
        sock(V4A),
        "IPv4 leads while remembered"
    );
    let s = starts(&flushed);
    assert_eq!(
        s[0].0,
        sock(V6A),
        "after the change IPv6 leads again: {s:?}"
    );
    assert_near(s[1].1, ms(250), "and the fallback is paid again");
    assert_eq!(store.network_flushes(), 1);
    // What the flushed race taught is remembered anew.
    assert_eq!(
        store.facts(sock(V6A)).and_then(|f| f.failed),
        Some(PathFailure::Stalled)
    );
}
