//! The network cache: its schedule on given instants (R7050-7), and its tokio and
//! blocking fronts with a scripted detection.

use std::sync::atomic::{AtomicUsize, Ordering};

use eyeballs_proto::Pref64;

use super::*;

const S: Duration = Duration::from_secs(1);

fn prefix() -> Pref64 {
    Pref64::new("64:ff9b::".parse().unwrap(), 96).unwrap()
}

fn ipv6_only(freshness: Freshness) -> Detected {
    Detected {
        network: Network::ipv6_only([prefix()]),
        freshness,
    }
}

/// A state that watches nothing: only the given instants move it.
fn unwatched() -> State {
    State {
        watch: Watch::Off,
        ..State::default()
    }
}

/// A cache that watches nothing (the host's network may change while the tests run).
fn unwatched_cache() -> NetworkCache {
    let cache = NetworkCache::new();
    cache.inner.lock().watch = Watch::Off;
    cache
}

fn network() -> Network {
    Network::ipv6_only([prefix()])
}

/// R7050-7, the checklist's example: TTL 60 s, discovery repeated at 50 s; the cached
/// network is used until the refresh lands, and the refreshed answer starts a new schedule.
#[test]
fn r7050_7_a_ttl_of_60_s_is_rediscovered_at_50_s() {
    let t0 = Instant::now();
    let mut state = unwatched();
    assert_eq!(state.step(t0), Step::Detect(0));
    state.store(ipv6_only(Freshness::Ttl(60 * S)), 0, t0);
    let entry = state.entry.clone().unwrap();
    assert_eq!(
        (entry.refresh_at - t0, entry.expires_at - t0),
        (50 * S, 60 * S)
    );
    assert_eq!(
        state.step(t0 + 50 * S - Duration::from_nanos(1)),
        Step::Use(network())
    );
    assert_eq!(state.step(t0 + 50 * S), Step::Refresh(network(), 0));
    // One refresh at a time: the races meanwhile use the cached network.
    assert_eq!(state.step(t0 + 51 * S), Step::Use(network()));
    state.store(ipv6_only(Freshness::Ttl(60 * S)), 0, t0 + 52 * S);
    let entry = state.entry.clone().unwrap();
    assert_eq!(entry.refresh_at - t0, 102 * S);
    assert_eq!(state.step(t0 + 101 * S), Step::Use(network()));
}

/// R7050-7: a cache nobody used in the last 10 s of the TTL has expired: the next race
/// detects before it starts.
#[test]
fn r7050_7_an_expired_detection_is_detected_again_before_the_race() {
    let t0 = Instant::now();
    let mut state = unwatched();
    state.store(ipv6_only(Freshness::Ttl(60 * S)), 0, t0);
    assert_eq!(state.step(t0 + 60 * S), Step::Detect(0));
}

/// No TTL (the system resolver, a network that needs no discovery): kept as if its TTL
/// were 60 s.
#[test]
fn r7050_7_without_a_ttl_the_default_lifetime() {
    let t0 = Instant::now();
    let mut state = unwatched();
    state.store(ipv6_only(Freshness::Unknown), 0, t0);
    let entry = state.entry.clone().unwrap();
    assert_eq!(
        (entry.refresh_at - t0, entry.expires_at - t0),
        (DEFAULT_LIFETIME - REFRESH_AHEAD, DEFAULT_LIFETIME)
    );
}

/// A failed discovery is retried in the background after 10 s, and kept for 60 s meanwhile.
#[test]
fn r7050_7_a_failed_discovery_is_retried_after_10_s() {
    let t0 = Instant::now();
    let mut state = unwatched();
    let failed = Detected {
        network: Network::ipv6_only([]),
        freshness: Freshness::Failed,
    };
    state.store(failed, 0, t0);
    assert_eq!(state.step(t0 + 9 * S), Step::Use(Network::ipv6_only([])));
    assert_eq!(
        state.step(t0 + 10 * S),
        Step::Refresh(Network::ipv6_only([]), 0)
    );
    assert_eq!(state.entry.clone().unwrap().expires_at - t0, 60 * S);
}

/// Short, zero and absurd TTLs: half the TTL ahead below 20 s, at least 1 s, at most a day,
/// and no overflow at `Duration::MAX`.
#[test]
fn r7050_7_short_zero_and_huge_ttls() {
    assert_eq!(schedule(20 * S), (10 * S, 20 * S));
    assert_eq!(schedule(12 * S), (6 * S, 12 * S));
    assert_eq!(schedule(Duration::ZERO), (Duration::ZERO, MIN_LIFETIME));
    assert_eq!(
        schedule(Duration::MAX),
        (MAX_LIFETIME - REFRESH_AHEAD, MAX_LIFETIME)
    );
    let t0 = Instant::now();
    let mut state = unwatched();
    state.store(ipv6_only(Freshness::Ttl(Duration::MAX)), 0, t0);
    assert_eq!(state.step(t0 + MAX_LIFETIME), Step::Detect(0));
}

/// A detection begun before the cache was cleared (or the network changed) is not kept.
#[test]
fn r7050_7_a_detection_from_before_a_change_is_discarded() {
    let t0 = Instant::now();
    let cache = unwatched_cache();
    let Step::Detect(generation) = cache.inner.lock().step(t0) else {
        panic!("an empty cache detects");
    };
    cache.clear();
    let raced = cache
        .inner
        .lock()
        .store(ipv6_only(Freshness::Ttl(60 * S)), generation, t0);
    assert_eq!(raced, network(), "the race still gets what was detected");
    assert_eq!(cache.cached(), None);
}

/// A detection counting its calls, kept for `ttl`, taking `takes`.
fn counting(
    ttl: Duration,
    takes: Duration,
) -> (
    Arc<AtomicUsize>,
    impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Detected> + Send>> + Clone,
) {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    let detect = move || -> std::pin::Pin<Box<dyn Future<Output = Detected> + Send>> {
        counter.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(takes).await;
            ipv6_only(Freshness::Ttl(ttl))
        })
    };
    (count, detect)
}

/// Races that start together wait for one detection; later ones use it.
#[tokio::test]
async fn r7050_7_concurrent_races_share_one_detection() {
    let cache = unwatched_cache();
    let (count, detect) = counting(60 * S, Duration::from_millis(20));
    let races = (0..8).map(|_| cache.network_with(detect.clone()));
    let networks = futures_util::future::join_all(races).await;
    assert!(networks.iter().all(|n| *n == network()));
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(cache.network_with(detect.clone()).await, network());
    assert_eq!(count.load(Ordering::SeqCst), 1);
    cache.clear();
    assert_eq!(cache.network_with(detect).await, network());
    assert_eq!(count.load(Ordering::SeqCst), 2, "cleared: detected again");
}

/// Once the refresh is due, the race goes on with the cached network at once and the
/// detection runs in the background; one at a time.
#[tokio::test]
async fn r7050_7_the_refresh_runs_in_the_background() {
    let cache = unwatched_cache();
    // TTL 0: kept 1 s, the refresh due at once.
    let (count, detect) = counting(Duration::ZERO, Duration::from_millis(50));
    cache.network_with(detect.clone()).await;
    let first = cache.cached().unwrap().detected_at;
    let started = Instant::now();
    cache.network_with(detect.clone()).await;
    cache.network_with(detect.clone()).await;
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "no race waited"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2, "one refresh in flight");
    tokio::time::timeout(5 * S, async {
        while cache.cached().unwrap().detected_at == first {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the refresh lands");
    assert!(!cache.inner.lock().refreshing);
}

#[cfg(feature = "blocking")]
/// The blocking front: threads that start together share one detection; a due refresh
/// runs on a thread of its own.
#[test]
fn r7050_7_blocking_races_share_one_detection_and_refresh_in_the_background() {
    let cache = unwatched_cache();
    let count = Arc::new(AtomicUsize::new(0));
    let detect = {
        let count = Arc::clone(&count);
        move || {
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            ipv6_only(Freshness::Ttl(Duration::ZERO))
        }
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (cache, detect) = (cache.clone(), detect.clone());
            std::thread::spawn(move || cache.network_with_blocking(detect))
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), network());
    }
    // Every thread started before the first detection landed: one detection. (TTL 0: the
    // ones that looked after it landed may have started one refresh.)
    assert!(count.load(Ordering::SeqCst) <= 2);
    let first = cache.cached().unwrap().detected_at;
    let started = Instant::now();
    assert_eq!(cache.network_with_blocking(detect.clone()), network());
    assert!(
        started.elapsed() < Duration::from_millis(20),
        "no race waited"
    );
    let deadline = Instant::now() + 5 * S;
    while cache.cached().unwrap().detected_at == first && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        cache.cached().unwrap().detected_at > first,
        "the refresh landed"
    );
}

/// A background detection from before a change ends without touching the flag of the
/// refresh begun after it (one refresh at a time holds across a change).
#[test]
fn r7050_7_an_old_refresh_leaves_the_new_ones_flag() {
    let t0 = Instant::now();
    let cache = unwatched_cache();
    cache
        .inner
        .lock()
        .store(ipv6_only(Freshness::Ttl(Duration::ZERO)), 0, t0);
    let Step::Refresh(_, old) = cache.inner.lock().step(t0) else {
        panic!("TTL 0: the refresh is due");
    };
    let old_refresh = Refreshing(Arc::clone(&cache.inner), old);
    cache.clear();
    let generation = cache.inner.lock().generation;
    cache
        .inner
        .lock()
        .store(ipv6_only(Freshness::Ttl(Duration::ZERO)), generation, t0);
    assert!(matches!(cache.inner.lock().step(t0), Step::Refresh(..)));
    drop(old_refresh);
    assert!(
        cache.inner.lock().refreshing,
        "the new refresh is still running"
    );
    assert_eq!(cache.inner.lock().step(t0), Step::Use(network()));
}
