//! The driver core: the engine-facing half of every driver, written once.
//!
//! The engine ([`eyeballs_proto::Engine`]) decides; a driver does. Everything a driver does
//! that is not waiting lives here, in [`Core`]: the one `match` on [`Action`], the
//! source-address facts added to DNS answers (RFC 6724 needs them), the values of attempts
//! that succeeded until the engine names the winner, the clock rule for the engine's single
//! deadline, the handling of a resolver that panics, and the final report and error.
//!
//! A way of waiting (tokio in [`tokio`], the blocking poller in `crate::blocking`) supplies
//! only an [`Io`]: how to start and stop a lookup and an attempt. Its loop is always the same
//! five steps, as quinn's `ConnectionDriver` drives quinn-proto:
//!
//! 1. [`Core::drive`] performs every queued action through the `Io`; an outcome ends the loop
//!    with [`Core::finish`].
//! 2. [`Core::timer`] says when to wake up; a driver with a timer object resets it only when
//!    [`Core::timer_moved`] says the deadline moved.
//! 3. Wait for a lookup's answer, an attempt's end, or the deadline.
//! 4. Hand what came to [`Core::answer`] or [`Core::attempt_ended`].
//! 5. [`Core::expire`] with the clock's `now`: expiry is decided by the clock, never by which
//!    timer fired, so early, late and spurious wake-ups are harmless.
//!
//! If a driver finds nothing in flight and no deadline, [`Core::stalled`] ends the race
//! rather than letting it hang.

mod core;
mod few;
mod outcomes;
pub(crate) mod tokio;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use eyeballs_proto::{AttemptId, DnsResult, Endpoint, QueryId, RecordType, ServiceRecord};

pub(crate) use self::core::Core;

/// What an attempt is to: its endpoint (address, port, TCP or QUIC) and, looked up only by
/// the attempts that use it, the service record it belongs to (HEv3 §5.2: the protocols to
/// offer in its TLS handshake).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan<'a> {
    pub(crate) endpoint: Endpoint,
    id: AttemptId,
    race: &'a eyeballs_proto::Report,
}

impl<'a> Plan<'a> {
    /// Attempt `id` of `race`, to `endpoint`.
    pub(crate) fn new(endpoint: Endpoint, id: AttemptId, race: &'a eyeballs_proto::Report) -> Self {
        Plan { endpoint, id, race }
    }

    /// The ServiceMode record the attempt's endpoint came from, if any.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))] // Only TLS and QUIC attempts ask.
    pub(crate) fn service(&self) -> Option<&'a ServiceRecord> {
        let record = self.race.attempts.get(self.id.index())?;
        self.race.services.get(record.service?)
    }
}

/// How an attempt whose success needs more than its transport handshake (TCP, then TLS)
/// says the transport is done (V3-6.1.5): the driver hands it to the engine, which then
/// holds the next attempt back by about one more round trip.
/// (A race of attempts that report nothing, plain TCP, gets handles that report nowhere:
/// it allocates nothing for them.)
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))] // Only TLS attempts report.
pub(crate) struct Progress {
    id: AttemptId,
    reported: Option<Arc<Mutex<Vec<AttemptId>>>>,
}

impl Progress {
    /// A handle for attempt `id`, reporting into `reported` (`None`: nowhere).
    pub(crate) fn new(id: AttemptId, reported: Option<Arc<Mutex<Vec<AttemptId>>>>) -> Self {
        Progress { id, reported }
    }

    /// The attempt's transport handshake is done; its security handshake goes on.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn transport_done(&self) {
        if let Some(reported) = &self.reported {
            reported
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self.id);
        }
    }
}

/// What a race's attempts are, as a driver needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptKind {
    /// Plain TCP, or anything the caller counts as connected, in one step.
    Tcp,
    /// TCP then TLS: each reports its TCP handshake done ([`Progress`]).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Tls,
    /// TCP then TLS, and QUIC.
    TlsAndQuic,
}

/// What a way of waiting does for the [`Core`]: starts and stops lookups and attempts.
///
/// A start either leaves the operation in flight (`None`: its result comes back later through
/// [`Core::answer`] or [`Core::attempt_ended`]) or ends it at once (`Some`: an attempt that
/// connected or failed in the call, a lookup that could not be started). A stop drops the
/// operation: its socket closes, and a result that still arrives for it is ignored by the
/// engine.
pub(crate) trait Io<T> {
    /// The driver's clock: every `now` the core gives the engine comes from here (tokio's
    /// clock for the tokio driver, so that paused-time tests and the engine agree).
    fn now(&self) -> Instant;

    /// Starts query `id`: `record` records of `host`.
    fn start_lookup(&mut self, id: QueryId, host: &str, record: RecordType) -> Option<DnsResult>;

    /// Stops query `id`; its answer is no longer needed (HE-5.5).
    fn stop_lookup(&mut self, id: QueryId);

    /// Whether this driver makes QUIC attempts; the core fails the QUIC endpoints of one that
    /// does not at once, so that they never go out over TCP.
    fn speaks_quic(&self) -> bool {
        false
    }

    /// Starts attempt `id` to `plan`'s endpoint. `alone()` tells whether nothing else can happen in
    /// the race until this attempt ends (no other lookup or attempt in flight, no deadline):
    /// a driver may then wait for it in the simplest way it has. (A function, so that a
    /// driver that does not care pays nothing.)
    fn start_attempt(
        &mut self,
        id: AttemptId,
        plan: Plan<'_>,
        alone: impl FnOnce() -> bool,
    ) -> Option<io::Result<T>>;

    /// Stops attempt `id` and closes its socket: it lost, timed out, or the race ended.
    fn stop_attempt(&mut self, id: AttemptId);
}

/// What a lookup whose resolver panicked counts as, in every driver: a failed query. The
/// panic is logged, not propagated: one bad resolver call must not take the caller's thread
/// or task down.
pub(crate) fn resolver_panicked(id: QueryId) -> DnsResult {
    tracing::warn!(target: "eyeballs", query = %id, "resolver panicked; query counts as failed");
    DnsResult::Error
}
