//! The blocking driver's DNS threads are bounded process-wide: with `MAX_DNS_THREADS` lookups
//! hung in a resolver that never returns on its own, one more query fails at once (the race
//! ends with no addresses) instead of adding a thread; released, every hung race ends.
//! Alone in its test binary, so that no other test's lookups share the count.
#![cfg(all(feature = "blocking", unix))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use eyeballs::blocking::{self, MAX_DNS_THREADS};
use eyeballs::proto::{DnsResult, RecordType};
use eyeballs::resolver::{Lookup, Resolver};
use eyeballs::ErrorKind;

/// A resolver whose blocking lookups wait until the test releases them.
#[derive(Debug, Default)]
struct Hung {
    entered: AtomicUsize,
    released: Mutex<bool>,
    wake: Condvar,
}

/// The resolver handed to the connector, sharing the test's [`Hung`].
#[derive(Debug, Clone)]
struct HungResolver(Arc<Hung>);

impl Resolver for HungResolver {
    fn lookup(&self, _: &str, _: RecordType) -> Lookup {
        Box::pin(std::future::pending())
    }

    fn lookup_blocking(&self, _: &str, _: RecordType) -> DnsResult {
        let hung = &self.0;
        hung.entered.fetch_add(1, Ordering::SeqCst);
        let mut released = hung.released.lock().unwrap();
        while !*released {
            released = hung.wake.wait(released).unwrap();
        }
        DnsResult::NoData
    }
}

#[test]
fn dns_threads_are_capped_and_the_query_beyond_fails_at_once() {
    let hung = Arc::new(Hung::default());
    let connector = blocking::Connector::from(
        eyeballs::Connector::new()
            .resolver(HungResolver(Arc::clone(&hung)))
            .resolve_timeout(Duration::from_secs(60)),
    );
    // Each race asks AAAA and A: MAX_DNS_THREADS / 2 races fill every lookup thread.
    let races: Vec<_> = (0..MAX_DNS_THREADS / 2)
        .map(|_| {
            let c = connector.clone();
            thread::spawn(move || c.connect("hung.test", 443).map(drop))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while hung.entered.load(Ordering::SeqCst) < MAX_DNS_THREADS {
        assert!(Instant::now() < deadline, "lookups did not start");
        thread::sleep(Duration::from_millis(10));
    }
    // One more race: no lookup thread left, so its queries fail at once.
    let start = Instant::now();
    let err = connector.connect("hung.test", 443).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoAddresses, "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(hung.entered.load(Ordering::SeqCst), MAX_DNS_THREADS);
    // Released, every hung race ends (NODATA for both families).
    *hung.released.lock().unwrap() = true;
    hung.wake.notify_all();
    for race in races {
        let err = race.join().unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoAddresses, "{err}");
    }
    // The threads gave their slots back: a new race's lookups run again.
    let start = Instant::now();
    let err = connector.connect("hung.test", 443).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoAddresses, "{err}");
    assert_eq!(hung.entered.load(Ordering::SeqCst), MAX_DNS_THREADS + 2);
    assert!(start.elapsed() < Duration::from_secs(5));
}
