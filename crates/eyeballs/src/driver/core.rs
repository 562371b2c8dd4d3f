//! [`Core`]: one race's engine and everything around it that is not waiting.

use std::io;
use std::time::Instant;

use eyeballs_proto::{Action, AttemptId, DnsResult, Engine, Outcome, QueryId};

use super::outcomes::Outcomes;
use super::Io;
use crate::error::Error;
use crate::label::Label;
use crate::report::Report;
use crate::source::Sources;

/// One race in progress: the engine, the source-address facts for its answers, the values of
/// attempts that succeeded, and the deadline the driver's timer is set to.
///
/// `T` is what an attempt makes (a `TcpStream`, or anything a generic race counts as
/// connected). See [the module docs](super) for the loop a driver runs around it.
#[derive(Debug)]
pub(crate) struct Core<T> {
    engine: Engine,
    sources: Sources,
    outcomes: Outcomes<T>,
    /// The target as the caller named it, for messages.
    target: Label,
    /// The deadline the driver's timer was last set to.
    armed: Option<Instant>,
}

impl<T> Core<T> {
    /// A race around `engine` (just created: its first actions are queued).
    pub(crate) fn new(engine: Engine, sources: Sources, target: Label) -> Self {
        Core {
            engine,
            sources,
            outcomes: Outcomes::default(),
            target,
            armed: None,
        }
    }

    /// Performs every queued action through `io`, feeding back what ends at once, until the
    /// engine has nothing more to say. Returns the outcome once the race is decided.
    ///
    /// This is the only `match` on [`Action`] in the crate.
    #[must_use]
    pub(crate) fn drive(&mut self, io: &mut impl Io<T>) -> Option<Outcome> {
        let mut outcome = None;
        while let Some(action) = self.engine.poll_action() {
            match action {
                Action::Resolve { id, record } => {
                    let host = self.engine.host().unwrap_or_default();
                    tracing::debug!(target: "eyeballs", query = %id, %record, %host, "dns query");
                    if let Some(result) = io.start_lookup(id, host, record) {
                        self.answer(io.now(), id, result);
                    }
                }
                Action::CancelResolve { id } => io.stop_lookup(id),
                Action::Connect { id, endpoint } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, addr = %endpoint.addr, "attempt started");
                    let alone = self.is_alone();
                    if let Some(result) = io.start_attempt(id, endpoint, alone) {
                        self.attempt_ended(io.now(), id, result);
                    }
                }
                Action::Abort { id } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, "attempt aborted");
                    io.stop_attempt(id);
                    self.outcomes.discard(id);
                }
                Action::Close { id } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, "late connection closed");
                    self.outcomes.discard(id);
                }
                Action::Done(o) => outcome = Some(o),
                // Actions a later engine adds reach here only if this match lags behind; the
                // engine's docs let a driver ignore what it does not know.
                _ => {}
            }
        }
        outcome
    }

    /// Whether nothing but the attempt just started can happen in the race until it ends: no
    /// deadline, no query pending, no other attempt in flight.
    fn is_alone(&self) -> bool {
        let race = self.engine.report();
        self.engine.poll_timeout().is_none()
            && race.queries.iter().all(|q| q.outcome.is_some())
            && race.attempts.iter().filter(|a| a.end.is_none()).count() == 1
    }

    /// The result of query `id`, at `now`: addresses get the source the host would use for
    /// each (RFC 6724 §6, R6724-4) before the engine sorts them.
    pub(crate) fn answer(&mut self, now: Instant, id: QueryId, result: DnsResult) {
        let result = match result {
            DnsResult::Addresses(dests) => {
                DnsResult::Addresses(self.sources.annotate(&self.engine, id, dests))
            }
            other => other,
        };
        tracing::debug!(target: "eyeballs", query = %id, outcome = %result.kind(), "dns answer");
        // The id came from the engine's own action: the only error is an unknown id.
        let _ = self.engine.handle_dns(now, id, result);
    }

    /// The end of attempt `id`, at `now`: its value is kept until the engine decides, or its
    /// error for the report.
    pub(crate) fn attempt_ended(&mut self, now: Instant, id: AttemptId, result: io::Result<T>) {
        let input = self.outcomes.record(id, result);
        // The id came from the engine's own action: the only error is an unknown id.
        let _ = self.engine.handle_attempt(now, id, input);
    }

    /// Acts on the engine's deadline if the clock says it has passed. Call after every
    /// wake-up, whatever woke the driver.
    pub(crate) fn expire(&mut self, now: Instant) {
        if self.engine.poll_timeout().is_some_and(|at| at <= now) {
            self.engine.handle_timeout(now);
        }
    }

    /// When the driver must wake up next if nothing else happens (`None`: only a result can
    /// change anything).
    #[must_use]
    pub(crate) fn timer(&self) -> Option<Instant> {
        self.engine.poll_timeout()
    }

    /// The new deadline if it moved since the last call, for drivers whose timer is an object
    /// to reset (quinn's `drive_timer`): `Some(deadline)` to reset, `None` to leave it.
    #[must_use]
    pub(crate) fn timer_moved(&mut self) -> Option<Option<Instant>> {
        let next = self.timer();
        if next == self.armed {
            return None;
        }
        self.armed = next;
        Some(next)
    }

    /// The driver has nothing in flight and no deadline: no input can come. Ends the race
    /// (cancelled) rather than hang; [`Core::drive`] then returns its outcome.
    pub(crate) fn stalled(&mut self, now: Instant) {
        tracing::warn!(target: "eyeballs", "race stalled with nothing in flight; cancelled");
        self.engine.cancel(now);
    }

    /// Ends the race `outcome` describes: the winner's value and the report, or the error
    /// naming every attempt. Every other value is dropped (its socket closed).
    pub(crate) fn finish(self, outcome: Outcome) -> Result<(T, Report), Error> {
        let Core {
            engine,
            outcomes,
            target,
            ..
        } = self;
        outcomes.finish(outcome, engine.into_report(), target)
    }
}
