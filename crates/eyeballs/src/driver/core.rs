//! [`Core`]: one race's engine and everything around it that is not waiting.

use std::io;
use std::time::Instant;

use eyeballs_proto::{Action, AttemptId, DnsResult, Engine, Event, Outcome, Protocol, QueryId};

use super::outcomes::Outcomes;
use super::{Io, Plan};
use crate::connector::Connection;
use crate::error::Error;
use crate::history::{HistoryStore, Partition};
use crate::label::Label;
use crate::report::{live_entry, EventHook};
use crate::source::Sources;

/// One race in progress: the engine, the source-address facts for its answers, the values of
/// attempts that succeeded, and the deadline the driver's timer is set to.
///
/// `T` is what an attempt makes (a `TcpStream`, or anything a generic race counts as
/// connected). See [the module docs](super) for the loop a driver runs around it.
pub(crate) struct Core<'c, T> {
    /// Moves as a pointer (its state is boxed inside).
    engine: Engine,
    sources: Sources<'c>,
    outcomes: Outcomes<T>,
    /// The target as the caller named it, for messages.
    target: Label,
    /// The deadline the driver's timer was last set to.
    armed: Option<Instant>,
    /// Told of every event as it happens, if the caller asked.
    observer: Option<&'c EventHook>,
    /// The history store that learns from the race when it ends, and the partition it
    /// learns in.
    learner: Option<(&'c HistoryStore, &'c Partition)>,
}

impl<'c, T> Core<'c, T> {
    /// A race around `engine` (just created: its first actions are queued).
    pub(crate) fn new(
        engine: Engine,
        sources: Sources<'c>,
        target: Label,
        observer: Option<&'c EventHook>,
        learner: Option<(&'c HistoryStore, &'c Partition)>,
    ) -> Self {
        Core {
            engine,
            sources,
            outcomes: Outcomes::default(),
            target,
            armed: None,
            observer,
            learner,
        }
    }

    /// Tells the observer of `event`, if there is one.
    fn emit(&self, event: Event) {
        if let Some(observer) = &self.observer {
            if let Some(entry) = live_entry(self.engine.report(), self.outcomes.errors(), event) {
                observer(&entry);
            }
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
                    let host = self.engine.query_name(id).unwrap_or_default();
                    tracing::debug!(target: "eyeballs", query = %id, %record, name = host, "dns query");
                    self.emit(Event::QuerySent(id));
                    if let Some(result) = io.start_lookup(id, host, record) {
                        self.answer(io.now(), id, result);
                    }
                }
                Action::CancelResolve { id } => {
                    io.stop_lookup(id);
                    self.emit(Event::QueryEnded(id));
                }
                Action::Connect { id, endpoint } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, addr = %endpoint.addr, "attempt started");
                    self.emit(Event::AttemptStarted(id));
                    if endpoint.protocol != Protocol::Tcp && !io.speaks_quic() {
                        // Only `Config::quic_alpn` asks for QUIC endpoints, and this driver
                        // makes TCP attempts: say so at once rather than connect over TCP.
                        let unsupported = io::Error::new(
                            io::ErrorKind::Unsupported,
                            "QUIC attempts are not supported by this driver",
                        );
                        self.attempt_ended(io.now(), id, Err(unsupported));
                        continue;
                    }
                    let engine = &self.engine;
                    let plan = Plan::new(endpoint, id, engine.report());
                    let alone = || is_alone(engine);
                    if let Some(result) = io.start_attempt(id, plan, alone) {
                        self.attempt_ended(io.now(), id, result);
                    }
                }
                Action::Abort { id } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, "attempt aborted");
                    io.stop_attempt(id);
                    self.outcomes.discard(id);
                    self.emit(Event::AttemptEnded(id));
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
        let ended = |engine: &Engine| {
            engine
                .report()
                .queries
                .get(id.index())
                .and_then(|q| q.ended)
        };
        let before = ended(&self.engine);
        // The id came from the engine's own action: the only error is an unknown id.
        let _ = self.engine.handle_dns(now, id, result);
        if ended(&self.engine) != before {
            self.emit(Event::QueryEnded(id));
        }
    }

    /// The end of attempt `id`, at `now`: its value is kept until the engine decides, or its
    /// error for the report.
    pub(crate) fn attempt_ended(&mut self, now: Instant, id: AttemptId, result: io::Result<T>) {
        let input = self.outcomes.record(id, result);
        let ended = |engine: &Engine| engine.report().attempts.get(id.index()).and_then(|a| a.end);
        let before = ended(&self.engine);
        // The id came from the engine's own action: the only error is an unknown id.
        let _ = self.engine.handle_attempt(now, id, input);
        if ended(&self.engine) != before {
            self.emit(Event::AttemptEnded(id));
        }
    }

    /// Attempt `id`'s transport handshake is done at `now` and its security handshake goes
    /// on (V3-6.1.5): the engine may hold the next attempt back.
    pub(crate) fn attempt_progressed(&mut self, now: Instant, id: AttemptId) {
        tracing::debug!(target: "eyeballs", attempt = %id, "transport connected; handshake goes on");
        // The id came from the engine's own action: the only error is an unknown id.
        let _ = self.engine.handle_progress(now, id);
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

    /// The caller's interruption check returned `why` (a blocking race's `interrupt_check`):
    /// ends the race now, cancelled; [`Core::finish`] then gives [`ErrorKind::Interrupted`]
    /// with `why` as its source.
    ///
    /// [`ErrorKind::Interrupted`]: crate::ErrorKind::Interrupted
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn interrupted(
        &mut self,
        now: Instant,
        why: Box<dyn std::error::Error + Send + Sync>,
    ) {
        tracing::debug!(target: "eyeballs", reason = %why, "race interrupted; cancelled");
        self.outcomes.interrupted(why);
        self.engine.cancel(now);
    }

    /// Ends the race `outcome` describes: the winner's value and the report, or the error
    /// naming every attempt. Every other value is dropped (its socket closed). The history
    /// store learns what the race taught, at the time it ended.
    pub(crate) fn finish(self, outcome: Outcome) -> Result<Connection<T>, Error> {
        let Core {
            engine,
            outcomes,
            target,
            learner,
            ..
        } = self;
        let report = engine.into_report();
        if let Some((store, partition)) = learner {
            let ended = report.finished.unwrap_or(report.started);
            store.learn_at(partition, &report, ended);
        }
        outcomes.finish(outcome, report, target)
    }
}

/// Whether nothing but the attempt just started can happen in `engine`'s race until it ends:
/// no deadline, no query pending, no other attempt in flight.
fn is_alone(engine: &Engine) -> bool {
    let race = engine.report();
    engine.poll_timeout().is_none()
        && race.queries.iter().all(|q| q.outcome.is_some())
        && race.attempts.iter().filter(|a| a.end.is_none()).count() == 1
}
