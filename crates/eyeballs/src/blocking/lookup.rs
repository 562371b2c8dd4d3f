//! DNS queries without a runtime: each on a thread of its own
//! ([`Resolver::lookup_blocking`]), its answer sent back over a channel with a nudge to the
//! driver's poller, so that AAAA and A run in parallel and each answer is seen as it arrives
//! (HE-3.4).
//!
//! A thread cannot be stopped: a query the race no longer needs (cancelled, timed out, or the
//! race is over) runs to its end, and its answer is dropped unobserved. The nudge is emptied
//! when the race ends, so such a thread holds no descriptor of the race.

use std::collections::HashSet;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Instant;

use eyeballs_proto::{DnsResult, QueryId, RecordType};

use crate::resolver::Resolver;

/// An answer, tagged with its query.
type Answer = (QueryId, DnsResult);

/// The queries of one race.
#[derive(Debug)]
pub(super) struct Lookups {
    resolver: Arc<dyn Resolver>,
    sender: Sender<Answer>,
    answers: Receiver<Answer>,
    nudge: Arc<Nudge>,
    /// Queries started and neither answered nor cancelled.
    pending: HashSet<QueryId>,
}

/// Wakes the driver's poller after an answer is sent; empty once the race is over (or when
/// there is no poller, and the driver waits on the channel itself).
#[derive(Debug)]
struct Nudge(Mutex<Option<mio::Waker>>);

impl Nudge {
    fn wake(&self) {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(waker) = slot.as_ref() {
            if let Err(e) = waker.wake() {
                tracing::debug!(target: "eyeballs", error = %e, "cannot wake the poller");
            }
        }
    }

    fn clear(&self) {
        let waker = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(waker);
    }
}

impl Lookups {
    /// Queries through `resolver`; each answer wakes `waker`, if there is one.
    pub(super) fn new(resolver: Arc<dyn Resolver>, waker: Option<mio::Waker>) -> Self {
        let (sender, answers) = mpsc::channel();
        Lookups {
            resolver,
            sender,
            answers,
            nudge: Arc::new(Nudge(Mutex::new(waker))),
            pending: HashSet::new(),
        }
    }

    /// Starts query `id` on a thread of its own.
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub(super) fn start(&mut self, id: QueryId, host: &str, record: RecordType) -> io::Result<()> {
        let resolver = Arc::clone(&self.resolver);
        let sender = self.sender.clone();
        let nudge = Arc::clone(&self.nudge);
        let host = host.to_owned();
        thread::Builder::new()
            .name("eyeballs-dns".to_owned())
            .spawn(move || {
                let lookup = AssertUnwindSafe(|| resolver.lookup_blocking(&host, record));
                let result = panic::catch_unwind(lookup).unwrap_or_else(|_| {
                    tracing::warn!(target: "eyeballs", query = %id, "resolver panicked");
                    DnsResult::Error
                });
                // The race may be over: then nobody listens, and that is fine.
                if sender.send((id, result)).is_ok() {
                    nudge.wake();
                }
            })?;
        self.pending.insert(id);
        Ok(())
    }

    /// Stops waiting for query `id`; its thread finishes unobserved.
    pub(super) fn cancel(&mut self, id: QueryId) {
        self.pending.remove(&id);
    }

    /// Whether no query is pending.
    pub(super) fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// An answer that has arrived for a pending query, if any.
    pub(super) fn try_next(&mut self) -> Option<Answer> {
        while let Ok(answer) = self.answers.try_recv() {
            if self.pending.remove(&answer.0) {
                return Some(answer);
            }
        }
        None
    }

    /// Waits until `deadline` (`None`: without limit) for an answer to a pending query: how the
    /// driver waits when it has no poller.
    pub(super) fn wait_next(&mut self, deadline: Option<Instant>) -> Option<Answer> {
        loop {
            let answer = match deadline {
                Some(deadline) => {
                    let timeout = deadline.saturating_duration_since(Instant::now());
                    self.answers.recv_timeout(timeout).ok()?
                }
                // `self.sender` is alive, so this cannot end disconnected.
                None => self.answers.recv().ok()?,
            };
            if self.pending.remove(&answer.0) {
                return Some(answer);
            }
        }
    }
}

impl Drop for Lookups {
    fn drop(&mut self) {
        // Threads still running must not keep the poller's waker (a descriptor) alive.
        self.nudge.clear();
    }
}
