//! The engine: one Happy Eyeballs race as a deterministic state machine.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::action::{Action, Failure, Outcome};
use crate::attempt::{AttemptEnd, AttemptId, AttemptResult};
use crate::candidates::Candidates;
use crate::config::{Config, ATTEMPT_DELAY_FLOOR};
use crate::dns::{DnsOutcome, DnsResult, QueryId, RecordType};
use crate::endpoint::{Endpoint, Family};
use crate::error::{InputError, SetupError};
use crate::report::{AttemptRecord, QueryRecord, Report};
use crate::target::{Target, TargetError, TargetKind};

/// One Happy Eyeballs race (RFC 8305), with no I/O, no clock and no async.
///
/// The engine decides; a driver does. Methods fall into four groups:
///
/// - **Construction**: [`Engine::new`] validates the target and the configuration and queues
///   the first actions.
/// - **Inputs** (`handle_*`, [`cancel`](Engine::cancel)): each takes `now`, the driver's
///   current time, and may queue actions. [`handle_dns`](Engine::handle_dns) gives a query's
///   result, [`handle_attempt`](Engine::handle_attempt) an attempt's,
///   [`handle_timeout`](Engine::handle_timeout) says time has passed.
/// - **Outputs** (`poll_*`): after any input, drain [`poll_action`](Engine::poll_action) until
///   it returns `None`, then sleep until [`poll_timeout`](Engine::poll_timeout) (an absolute
///   deadline) or the next input, whichever comes first.
/// - **Getters**: [`report`](Engine::report), [`host`](Engine::host),
///   [`is_done`](Engine::is_done), [`config`](Engine::config).
///
/// Calling [`handle_timeout`](Engine::handle_timeout) early, late or more often than needed is
/// harmless: the engine compares deadlines with `now` itself. Times that go backwards are
/// treated as the latest time seen. Nothing here panics on any input.
///
/// ```
/// use std::time::{Duration, Instant};
/// use eyeballs_proto::{Action, AttemptResult, Config, DnsResult, Engine, Outcome, Target};
///
/// let t0 = Instant::now();
/// let target = Target::host("example.test", 443).unwrap();
/// let mut engine = Engine::new(target, Config::default(), t0).unwrap();
/// let mut queries = Vec::new();
/// while let Some(action) = engine.poll_action() {
///     if let Action::Resolve { id, record } = action {
///         queries.push((id, record));
///     }
/// }
/// // AAAA answers first: the first IPv6 attempt starts at once (HE-3.5).
/// let ip = "2001:db8::1".parse().unwrap();
/// engine.handle_dns(t0, queries[0].0, DnsResult::addresses([ip])).unwrap();
/// let Some(Action::Connect { id, .. }) = engine.poll_action() else { panic!() };
/// engine.handle_attempt(t0 + Duration::from_millis(20), id, AttemptResult::Connected).unwrap();
/// let mut last = None;
/// while let Some(action) = engine.poll_action() {
///     last = Some(action);
/// }
/// assert!(matches!(last, Some(Action::Done(Outcome::Connected { .. }))));
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
    /// The Connection Attempt Delay in force (clamped, HE-5.11, HE-5.12).
    attempt_delay: Duration,
    /// The ports a host name is tried on.
    ports: Vec<u16>,
    phase: Phase,
    /// The latest `now` seen.
    now: Instant,
    overall_deadline: Option<Instant>,
    /// Set while resolving when the non-preferred family answered first (HE-3.6).
    resolution_deadline: Option<Instant>,
    candidates: Candidates,
    /// When the latest attempt started.
    last_start: Option<Instant>,
    /// An attempt ended in failure since the latest start: the next one may start as soon as
    /// the floor allows (checklist D1).
    failed_since_start: bool,
    actions: VecDeque<Action>,
    report: Report,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for DNS before the first attempt (RFC 8305 §3).
    Resolving,
    /// Attempts are being made (RFC 8305 §5).
    Racing,
    /// The outcome is known.
    Done,
}

impl Engine {
    /// Starts a race at `now`: queues the DNS queries for a host name, or the first attempt
    /// for addresses.
    pub fn new(target: Target, config: Config, now: Instant) -> Result<Self, SetupError> {
        config.validate()?;
        let host = target.host_name().map(str::to_owned);
        let mut engine = Engine {
            attempt_delay: config.effective_attempt_delay(),
            ports: Vec::new(),
            phase: Phase::Resolving,
            now,
            overall_deadline: config.overall_timeout.map(|d| now + d),
            resolution_deadline: None,
            candidates: Candidates::default(),
            last_start: None,
            failed_since_start: false,
            // A resolve per family, or a connect, and a done: rarely more at once.
            actions: VecDeque::with_capacity(4),
            report: Report::new(now, host),
            config,
        };
        match target.kind {
            TargetKind::Host { ports, .. } => {
                engine.ports = ports;
                for &family in engine.config.family.families() {
                    let id = QueryId(engine.report.queries.len() as u32);
                    let record = RecordType::for_family(family);
                    engine.report.queries.push(QueryRecord {
                        record,
                        sent: now,
                        ended: None,
                        outcome: None,
                        addresses: Vec::new(),
                    });
                    engine.actions.push_back(Action::Resolve { id, record });
                }
            }
            TargetKind::Addresses(entries) => {
                engine.candidates.reserve(entries.len());
                let mut any = false;
                for (dest, port, rank) in entries {
                    if engine.config.family.allows(Family::of(dest.ip)) {
                        engine.candidates.add(dest, port, rank, None);
                        any = true;
                    }
                }
                if !any {
                    return Err(TargetError::NoAddressOfFamily.into());
                }
                engine.resort();
                engine.phase = Phase::Racing;
                engine.step(now);
            }
        }
        Ok(engine)
    }

    /// The host name the [`Action::Resolve`] queries are for, if the target has one.
    pub fn host(&self) -> Option<&str> {
        self.report.host.as_deref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The report, consuming the engine.
    pub fn into_report(self) -> Report {
        self.report
    }

    /// Whether the race is over ([`Action::Done`] has been queued).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The result of query `id`.
    ///
    /// A second result for a query that was answered is an update (a re-query or a DNS push,
    /// RFC 8305 §6): endpoints from the earlier answer that are not attempted yet and are
    /// missing from the new one are dropped (HE-6.2), attempted ones carry on (HE-6.1), new
    /// ones are sorted into the untried part of the list (HE-6.3). A result for a query the
    /// engine already timed out or cancelled, and any result after the race is over, is
    /// ignored, and so is a failed update (SERVFAIL, error or timeout after an answer), which
    /// says nothing about which records exist.
    pub fn handle_dns(
        &mut self,
        now: Instant,
        id: QueryId,
        result: DnsResult,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        let query = self
            .report
            .queries
            .get(id.index())
            .ok_or(InputError::UnknownQuery(id))?;
        let outcome = result.kind();
        let ended_by_engine = matches!(
            query.outcome,
            Some(DnsOutcome::TimedOut | DnsOutcome::Cancelled)
        );
        // A failed re-query says nothing about which records exist: keep the earlier answer.
        let failed_update = query.outcome.is_some()
            && matches!(
                outcome,
                DnsOutcome::ServFail | DnsOutcome::Error | DnsOutcome::TimedOut
            );
        if self.phase == Phase::Done || ended_by_engine || failed_update {
            return Ok(());
        }
        let family = query.record.family();
        let mut ips: Vec<IpAddr> = Vec::new();
        if let DnsResult::Addresses(dests) = result {
            self.candidates.reserve(dests.len() * self.ports.len());
            for raw in dests {
                // An IPv4-mapped address in an AAAA answer is an IPv4 address.
                let dest = raw.canonical();
                let usable = (Family::of(raw.ip) == family || Family::of(dest.ip) == family)
                    && self.config.family.allows(Family::of(dest.ip))
                    && !dest.ip.is_unspecified()
                    && !dest.ip.is_multicast()
                    && !ips.contains(&dest.ip);
                if usable {
                    ips.push(dest.ip);
                    for (rank, &port) in self.ports.iter().enumerate() {
                        self.candidates.add(dest, port, rank, Some(id));
                    }
                }
            }
        }
        self.candidates.retain_answer(id, &ips);
        self.resort();
        let record = &mut self.report.queries[id.index()];
        record.ended = Some(now);
        record.outcome = Some(if ips.is_empty() && outcome == DnsOutcome::Addresses {
            DnsOutcome::NoData
        } else {
            outcome
        });
        record.addresses = ips;
        self.step(now);
        Ok(())
    }

    /// The result of attempt `id`.
    ///
    /// The first success wins: every other attempt is aborted and no new one starts (HE-5.3,
    /// HE-5.4). A success from an attempt that already ended (aborted, timed out, failed) is
    /// answered with [`Action::Close`]; a repeated success of the winner is ignored. A failure starts the next attempt at once, never
    /// within 10 ms of the previous start (checklist D1, HE-5.10). Other inputs about ended
    /// attempts are ignored.
    pub fn handle_attempt(
        &mut self,
        now: Instant,
        id: AttemptId,
        result: AttemptResult,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        let attempt = self
            .report
            .attempts
            .get(id.index())
            .ok_or(InputError::UnknownAttempt(id))?;
        if !attempt.in_flight() || self.phase == Phase::Done {
            // A repeated success of the winner is not a late success: keep it open.
            if result == AttemptResult::Connected && attempt.end != Some(AttemptEnd::Connected) {
                self.actions.push_back(Action::Close { id });
            }
            return Ok(());
        }
        match result {
            AttemptResult::Connected => {
                let endpoint = attempt.endpoint;
                self.end_attempt(now, id, AttemptEnd::Connected);
                self.finish(now, Outcome::Connected { id, endpoint });
            }
            AttemptResult::Failed(kind) => {
                self.end_attempt(now, id, AttemptEnd::Failed(kind));
                self.failed_since_start = true;
                self.step(now);
            }
        }
        Ok(())
    }

    /// Time has passed: acts on every deadline at or before `now`. Harmless at any time.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.phase == Phase::Done {
            return;
        }
        if self.overall_deadline.is_some_and(|d| d <= now) {
            self.finish(now, Outcome::Failed(Failure::TimedOut));
            return;
        }
        if let Some(timeout) = self.config.resolve_timeout {
            for i in 0..self.report.queries.len() {
                let q = &mut self.report.queries[i];
                if q.outcome.is_none() && q.sent + timeout <= now {
                    q.outcome = Some(DnsOutcome::TimedOut);
                    q.ended = Some(now);
                    self.actions.push_back(Action::CancelResolve {
                        id: QueryId(i as u32),
                    });
                }
            }
        }
        if let Some(timeout) = self.config.attempt_timeout {
            for i in 0..self.report.attempts.len() {
                let a = &self.report.attempts[i];
                if a.in_flight() && a.started + timeout <= now {
                    let id = AttemptId(i as u32);
                    self.end_attempt(now, id, AttemptEnd::TimedOut);
                    self.actions.push_back(Action::Abort { id });
                    self.failed_since_start = true;
                }
            }
        }
        self.step(now);
    }

    /// Ends the race now: aborts every attempt, cancels every query, and finishes with
    /// [`Failure::Cancelled`]. Does nothing once the race is over.
    pub fn cancel(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.phase != Phase::Done {
            self.finish(now, Outcome::Failed(Failure::Cancelled));
        }
    }

    /// The next thing the driver must do, if any. Drain it until `None` after every input.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Engine::handle_timeout) must be called next, if no other input
    /// comes first; `None` when only a new input can change anything.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Done {
            return None;
        }
        let queries = self.config.resolve_timeout.and_then(|timeout| {
            self.report
                .queries
                .iter()
                .filter(|q| q.outcome.is_none())
                .map(|q| q.sent + timeout)
                .min()
        });
        // Attempts start in time order, so the first one in flight times out first.
        let attempts = self.config.attempt_timeout.and_then(|timeout| {
            self.report
                .attempts
                .iter()
                .find(|a| a.in_flight())
                .map(|a| a.started + timeout)
        });
        let resolution = match self.phase {
            Phase::Resolving => self.resolution_deadline,
            _ => None,
        };
        [
            self.overall_deadline,
            queries,
            attempts,
            resolution,
            self.next_start(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The endpoint attempt `id` connects to.
    pub fn endpoint(&self, id: AttemptId) -> Option<Endpoint> {
        self.report.attempts.get(id.index()).map(|a| a.endpoint)
    }

    /// Re-sorts the candidates after a change, and makes room in the report for the attempts
    /// they may need, so a race allocates per answer rather than per attempt.
    fn resort(&mut self) {
        self.report.dropped_endpoints += self.candidates.resort(&self.config);
        let pending = self.candidates.pending_len();
        self.report.attempts.reserve(pending);
    }

    fn advance(&mut self, now: Instant) -> Instant {
        if now > self.now {
            self.now = now;
        }
        self.now
    }

    /// After any input: leave the resolution phase when RFC 8305 §3 says so, start an attempt
    /// if the schedule allows, and finish if nothing is left to wait for.
    fn step(&mut self, now: Instant) {
        if self.phase == Phase::Resolving {
            self.check_resolution(now);
        }
        if self.phase == Phase::Racing {
            if let Some(at) = self.next_start() {
                if at <= now {
                    self.start_attempt(now);
                }
            }
        }
        self.check_exhausted(now);
    }

    /// RFC 8305 §3: start at once on addresses of the preferred family (HE-3.5, HE-3.7); on
    /// addresses of the other family only, wait the Resolution Delay (HE-3.6) unless the
    /// preferred query has ended without addresses (HE-3.8).
    fn check_resolution(&mut self, now: Instant) {
        if !self.candidates.has_pending() {
            // Every address seen so far was withdrawn by a later answer (HE-6.2): the delay
            // starts again with the next positive answer.
            self.resolution_deadline = None;
            return;
        }
        let preferred = self.config.family.preferred();
        let preferred_ended = self
            .report
            .queries
            .iter()
            .filter(|q| q.record.family() == preferred)
            .all(|q| q.outcome.is_some());
        let deadline = *self
            .resolution_deadline
            .get_or_insert(now + self.config.resolution_delay);
        if self.candidates.has_pending_of(preferred) || preferred_ended || deadline <= now {
            self.phase = Phase::Racing;
            self.resolution_deadline = None;
        }
    }

    /// When the next attempt may start, if there is one to start (RFC 8305 §5).
    fn next_start(&self) -> Option<Instant> {
        if self.phase != Phase::Racing || !self.candidates.has_pending() {
            return None;
        }
        if let Some(cap) = self.config.max_attempts_in_flight {
            let in_flight = self
                .report
                .attempts
                .iter()
                .filter(|a| a.in_flight())
                .count();
            if in_flight >= cap {
                return None;
            }
        }
        Some(match self.last_start {
            None => self.now,
            Some(last) if self.failed_since_start => last + ATTEMPT_DELAY_FLOOR,
            Some(last) => last + self.attempt_delay,
        })
    }

    fn start_attempt(&mut self, now: Instant) {
        let Some(endpoint) = self.candidates.next() else {
            return;
        };
        let id = AttemptId(self.report.attempts.len() as u32);
        self.report.attempts.push(AttemptRecord {
            endpoint,
            started: now,
            ended: None,
            end: None,
        });
        self.last_start = Some(now);
        self.failed_since_start = false;
        self.actions.push_back(Action::Connect { id, endpoint });
    }

    fn end_attempt(&mut self, now: Instant, id: AttemptId, end: AttemptEnd) {
        if let Some(a) = self.report.attempts.get_mut(id.index()) {
            a.ended = Some(now);
            a.end = Some(end);
        }
    }

    /// Fails the race when nothing is left: no query pending, no endpoint untried, no attempt
    /// in flight.
    fn check_exhausted(&mut self, now: Instant) {
        if self.phase == Phase::Done
            || self.candidates.has_pending()
            || self.report.queries.iter().any(|q| q.outcome.is_none())
            || self.report.attempts.iter().any(AttemptRecord::in_flight)
        {
            return;
        }
        let failure = if self.report.attempts.is_empty() {
            Failure::NoAddresses
        } else {
            Failure::AllAttemptsFailed
        };
        self.finish(now, Outcome::Failed(failure));
    }

    /// Ends the race: aborts attempts still in flight, cancels queries still pending (HE-5.3,
    /// HE-5.5), and queues [`Action::Done`].
    fn finish(&mut self, now: Instant, outcome: Outcome) {
        for i in 0..self.report.attempts.len() {
            if self.report.attempts[i].in_flight() {
                let id = AttemptId(i as u32);
                self.end_attempt(now, id, AttemptEnd::Aborted);
                self.actions.push_back(Action::Abort { id });
            }
        }
        for (i, q) in self.report.queries.iter_mut().enumerate() {
            if q.outcome.is_none() {
                q.outcome = Some(DnsOutcome::Cancelled);
                q.ended = Some(now);
                self.actions.push_back(Action::CancelResolve {
                    id: QueryId(i as u32),
                });
            }
        }
        self.phase = Phase::Done;
        self.resolution_deadline = None;
        self.report.outcome = Some(outcome);
        self.report.finished = Some(now);
        self.actions.push_back(Action::Done(outcome));
    }
}
