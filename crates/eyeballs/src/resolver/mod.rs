//! Resolvers: where the connector's AAAA and A answers come from.
//!
//! The connector asks for each record type on its own and hands each answer to the engine as
//! soon as it arrives (RFC 8305 §3, HE-3.3, HE-3.4); a resolver that joined both families
//! before answering would defeat the Resolution Delay.

use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

pub use eyeballs_proto::{DnsResult, RecordType};

mod fixed;
#[cfg(feature = "hickory")]
mod hickory;
mod system;

pub use fixed::StaticResolver;
#[cfg(feature = "hickory")]
pub use hickory::HickoryResolver;
pub use system::SystemResolver;

/// The future of one lookup.
pub type Lookup = Pin<Box<dyn Future<Output = DnsResult> + Send + 'static>>;

/// The future of one lookup that also tells how long its answer may be cached: see
/// [`Resolver::lookup_with_ttl`].
pub type TtlLookup = Pin<Box<dyn Future<Output = (DnsResult, Option<Duration>)> + Send + 'static>>;

/// Looks up one record type for a name.
///
/// Implement it to plug in any DNS client. Each call is independent: the connector makes one
/// call per record type, at once, and drops a call's future when it no longer needs the
/// answer (which should stop the lookup, or at least let it finish unobserved). Addresses are
/// returned as [`DnsResult::Addresses`] with unknown source addresses; the connector probes the
/// sources itself.
pub trait Resolver: Send + Sync + fmt::Debug {
    /// Looks up `record` records of `name`.
    fn lookup(&self, name: &str, record: RecordType) -> Lookup;

    /// Looks up `record` records of `name`, blocking the calling thread until the answer: what
    /// the blocking connector (feature `blocking`) calls, each query on a thread of its own.
    ///
    /// The default polls [`lookup`](Resolver::lookup)'s future to completion on the calling
    /// thread, parking the thread between polls. That suits resolvers whose futures need no
    /// runtime: answers from memory, or I/O done on threads of their own that wake the
    /// future. A future that needs a runtime (tokio's timers or sockets) panics or never
    /// completes there: such resolvers override this method, as [`SystemResolver`] (a direct
    /// `getaddrinfo`) and `HickoryResolver` (a runtime per call) do.
    ///
    /// ```
    /// use eyeballs::resolver::{DnsResult, RecordType, Resolver, StaticResolver};
    /// let resolver = StaticResolver::new().host("v4.test", ["192.0.2.1".parse().unwrap()]);
    /// assert_eq!(resolver.lookup_blocking("v4.test", RecordType::Aaaa), DnsResult::NoData);
    /// ```
    fn lookup_blocking(&self, name: &str, record: RecordType) -> DnsResult {
        block_on(self.lookup(name, record))
    }

    /// [`lookup`](Resolver::lookup), and how long the answer may be cached: the records'
    /// TTL (the smallest, counting down in a resolver that caches), or `None` when the
    /// resolver cannot tell.
    ///
    /// What the connector calls where it keeps an answer itself: the NAT64 prefix learnt
    /// from `ipv4only.arpa`, re-discovered before its TTL runs out (RFC 7050 §3, R7050-7;
    /// see [`Connector::auto_network`](crate::Connector::auto_network)). The default
    /// answers `None` (the [`SystemResolver`]: `getaddrinfo` tells no TTL; the
    /// [`StaticResolver`]); `HickoryResolver` tells the TTL of its answer.
    fn lookup_with_ttl(&self, name: &str, record: RecordType) -> TtlLookup {
        let lookup = self.lookup(name, record);
        Box::pin(async move { (lookup.await, None) })
    }

    /// [`lookup_with_ttl`](Resolver::lookup_with_ttl), blocking the calling thread as
    /// [`lookup_blocking`](Resolver::lookup_blocking) does. The default answers
    /// [`lookup_blocking`](Resolver::lookup_blocking)'s result and `None`.
    fn lookup_with_ttl_blocking(
        &self,
        name: &str,
        record: RecordType,
    ) -> (DnsResult, Option<Duration>) {
        (self.lookup_blocking(name, record), None)
    }
}

/// Polls `future` to completion on this thread, parked until its waker is called.
fn block_on<F: Future>(future: F) -> F::Output {
    /// Wakes the thread that polls.
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake before this park makes it return at once; a spurious return polls again.
        thread::park();
    }
}
