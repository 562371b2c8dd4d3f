//! DNS queries without a runtime: each runs [`Resolver::lookup_blocking`] on a thread of its
//! own, and its answer comes back over a channel with a nudge on a socket the driver polls,
//! so that AAAA and A run in parallel and each answer is seen as it arrives (HE-3.4).
//!
//! Each thread is spawned by the caller's thread, so it inherits what that thread runs in
//! (a network namespace entered with `setns`, for one: a shared pool of long-lived threads
//! would resolve in whichever namespace it was started from).
//!
//! A thread cannot be stopped: a query the race no longer needs runs to its end and its answer
//! is dropped unobserved. What hung resolvers can hold is bounded process-wide: at most
//! [`MAX_DNS_THREADS`] lookup threads run at once, and a query beyond them fails at once
//! ([`DnsResult::Error`], with a warning) rather than adding a thread.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use eyeballs_proto::{DnsResult, QueryId, RecordType};

use super::bell::{Awaited, Outbox};
use crate::driver::resolver_panicked;
use crate::resolver::Resolver;

/// At most this many threads run blocking lookups at once, process-wide: a resolver that
/// never answers holds at most this many threads, not one per race forever. A query beyond
/// them fails at once. (tokio bounds its `spawn_blocking` pool the same way, at 512.)
pub const MAX_DNS_THREADS: usize = 256;

/// Lookup threads running now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// An answer, tagged with its query.
type Answer = (QueryId, DnsResult);

/// The queries of one race.
#[derive(Debug)]
pub(super) struct Lookups<'c> {
    /// The connector's, cloned for each query's thread only.
    resolver: &'c Arc<dyn Resolver>,
    /// Queries started and neither answered nor cancelled.
    awaited: Awaited<QueryId, DnsResult>,
}

impl<'c> Lookups<'c> {
    /// Queries through `resolver`.
    pub(super) fn new(resolver: &'c Arc<dyn Resolver>) -> Self {
        Lookups {
            resolver,
            awaited: Awaited::default(),
        }
    }

    /// Starts query `id` on a thread of its own.
    ///
    /// # Errors
    /// No bell could be made (descriptors exhausted), [`MAX_DNS_THREADS`] lookups are running,
    /// or the thread could not be spawned.
    pub(super) fn start(&mut self, id: QueryId, host: &str, record: RecordType) -> io::Result<()> {
        let resolver = self.resolver;
        self.awaited.start(id, |outbox| {
            Job {
                resolver: Arc::clone(resolver),
                host: host.to_owned(),
                record,
                id,
                outbox,
            }
            .spawn()
        })
    }

    /// Stops waiting for query `id`; its thread finishes unobserved.
    pub(super) fn cancel(&mut self, id: QueryId) {
        self.awaited.forget(id);
    }

    /// The socket to poll for readability while a query is pending.
    pub(super) fn bell(&self) -> Option<&std::os::unix::net::UnixDatagram> {
        self.awaited.bell()
    }

    /// Every answer that has arrived for a pending query.
    pub(super) fn drain(&mut self, each: impl FnMut(QueryId, DnsResult)) {
        self.awaited.drain(each);
    }
}

/// One query, run on a thread of its own.
struct Job {
    resolver: Arc<dyn Resolver>,
    host: String,
    record: RecordType,
    id: QueryId,
    outbox: Outbox<Answer>,
}

impl Job {
    /// Runs the query on a thread of its own, if [`MAX_DNS_THREADS`] allows.
    fn spawn(self) -> io::Result<()> {
        if RUNNING.fetch_add(1, Ordering::AcqRel) >= MAX_DNS_THREADS {
            RUNNING.fetch_sub(1, Ordering::AcqRel);
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{MAX_DNS_THREADS} dns lookups already running"),
            ));
        }
        // Gives the slot back when the thread ends, or when the closure is dropped unrun.
        let slot = Slot;
        thread::Builder::new()
            .name("eyeballs-dns".to_owned())
            .spawn(move || {
                let _slot = slot;
                self.run();
            })
            .map(drop)
    }

    fn run(self) {
        let lookup = AssertUnwindSafe(|| self.resolver.lookup_blocking(&self.host, self.record));
        let result = panic::catch_unwind(lookup).unwrap_or_else(|_| resolver_panicked(self.id));
        self.outbox.send((self.id, result));
    }
}

/// One of the [`MAX_DNS_THREADS`], held by a running lookup.
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}
