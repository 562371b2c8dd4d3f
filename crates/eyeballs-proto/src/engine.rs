//! The engine: one Happy Eyeballs race as a deterministic state machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use smallvec::SmallVec;

use crate::fifo::Fifo;
use crate::group::{ServiceTargets, Transports};
use crate::history::History;

use crate::action::{Action, Failure, Outcome};
use crate::attempt::{AttemptEnd, AttemptId, AttemptResult};
use crate::candidates::Candidates;
use crate::config::{Config, FamilyPreference, ATTEMPT_DELAY_FLOOR};
use crate::distinct::Distinct;
use crate::dns::{Destination, DnsOutcome, DnsResult, QueryId, RecordType};
use crate::endpoint::{Endpoint, Family};
use crate::error::{InputError, SetupError};
use crate::report::{AttemptRecord, QueryRecord, Report};
use crate::screen::{screen, Screen, Screened};
use crate::service::{https_name, ServiceRecord, MAX_ALIAS_CHAIN};
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
///   [`is_done`](Engine::is_done), [`config`](Engine::config),
///   [`endpoint`](Engine::endpoint), and [`screen_answer`](Engine::screen_answer), which tells
///   a driver what `handle_dns` will keep of an answer before it does per-address work.
///
/// Every deadline (overall, per query, per attempt, the Resolution Delay, the next start)
/// comes from one table computed from the state, which answers `poll_timeout` and decides
/// what `handle_timeout` acts on; one that cannot be represented as an `Instant` never comes.
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
    /// Boxed, so that an engine moves as a pointer (drivers move it into futures and out of
    /// results) while its state, most of a kilobyte with the inline candidate list and
    /// action queue, is allocated once per race and never copied.
    s: Box<State>,
}

/// An engine's state.
#[derive(Debug, Clone)]
struct State {
    config: Arc<Config>,
    /// The ports of the address queries of service targets (their record's `port`, or the
    /// target's), by query.
    target_ports: Vec<(QueryId, SmallVec<[u16; 2]>)>,
    /// Per ServiceMode record of the report, whose addresses it stands for and whether it
    /// is used (HEv3 §5.2, V3-6.2.2).
    service_targets: ServiceTargets,
    /// The caller's family preference on the race's network
    /// ([`Config::network`](crate::Config::network)): what every family rule of the race
    /// follows.
    family: FamilyPreference,
    /// The ports a host name is tried on.
    ports: Vec<u16>,
    phase: Phase,
    /// The latest `now` seen.
    now: Instant,
    /// When the overall timeout runs out; `None` without one, or when it is too far away to
    /// be represented (never).
    overall_deadline: Option<Instant>,
    candidates: Candidates,
    /// What history knows about the race's endpoints ([`Engine::with_history`]).
    history: History,
    /// An attempt ended in failure since the latest start: the next one may start as soon as
    /// the floor allows (checklist D1).
    failed_since_start: bool,
    actions: Fifo<Action>,
    report: Report,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for DNS before the first attempt (RFC 8305 §3).
    Resolving {
        /// When the Resolution Delay ends (HE-3.6): set when the other family answered
        /// positively first; `None` before that, and when the delay is too long to be
        /// represented (it never ends: the preferred query's end decides).
        deadline: Option<Instant>,
    },
    /// Attempts are being made (RFC 8305 §5).
    Racing,
    /// The outcome is known.
    Done,
}

/// Every deadline the engine keeps, as in quinn-proto's timer table: one function
/// ([`Engine::deadline`]) computes each from the state, and the same values answer
/// [`Engine::poll_timeout`] and decide what [`Engine::handle_timeout`] acts on. A deadline
/// that cannot be represented as an `Instant` is `None`: it never comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// The overall timeout ([`Config::overall_timeout`]): the race fails.
    Overall,
    /// The earliest pending query's [`Config::resolve_timeout`].
    Resolve,
    /// The earliest in-flight attempt's [`Config::attempt_timeout`].
    Attempt,
    /// The end of the Resolution Delay (HE-3.6), while resolving.
    ResolutionDelay,
    /// When the next attempt may start (HE-5.7, HE-5.10, checklist D1).
    NextAttempt,
}

impl Timer {
    /// Every timer, in the order [`Engine::handle_timeout`] acts on them when several are due.
    const ALL: [Timer; 5] = [
        Timer::Overall,
        Timer::Resolve,
        Timer::Attempt,
        Timer::ResolutionDelay,
        Timer::NextAttempt,
    ];
}

impl Engine {
    /// Starts a race at `now`: queues the DNS queries for a host name, or the first attempt
    /// for addresses.
    ///
    /// `config` is a [`Config`] or an `Arc<Config>`: races that share one configuration
    /// (a connector's) take a reference to it instead of a copy each.
    pub fn new(
        target: Target,
        config: impl Into<Arc<Config>>,
        now: Instant,
    ) -> Result<Self, SetupError> {
        Self::with_history(target, config, History::new(), now)
    }

    /// Starts a race at `now` as [`Engine::new`] does, knowing what `history` knows about
    /// its endpoints (see [`History`]): a recent failure demotes an endpoint (RFC 6724
    /// rule 1), RTT estimates and the last winner order the rest (HE-4.3, HE-4.4, V3-5.3.2),
    /// and an attempt to an endpoint with an RTT estimate gives the next one its
    /// retransmission timeout as Connection Attempt Delay, clamped (HE-5.8, V3-6.5). An
    /// answer whose addresses history (or routing) says are unusable does not start the race
    /// at once: the other family's answer is awaited up to the Resolution Delay.
    pub fn with_history(
        target: Target,
        config: impl Into<Arc<Config>>,
        history: History,
        now: Instant,
    ) -> Result<Self, SetupError> {
        let config = config.into();
        config.validate()?;
        let family = config.network.preference(config.family);
        // The one refusal that depends on the target, made before anything is built: by the
        // addresses as the network reaches them (an IPv4 address through NAT64 is IPv6).
        if let TargetKind::Addresses(entries) = &target.kind {
            if !entries.iter().any(|e| {
                config
                    .network
                    .reach(e.dest.ip)
                    .any(|(ip, _)| family.allows(Family::of(ip)))
            }) {
                return Err(TargetError::NoAddressOfFamily.into());
            }
        }
        let mut engine = Engine {
            s: Box::new(State {
                family,
                target_ports: Vec::new(),
                service_targets: ServiceTargets::default(),
                ports: Vec::new(),
                phase: Phase::Resolving { deadline: None },
                now,
                overall_deadline: config.overall_timeout.and_then(|d| now.checked_add(d)),
                candidates: Candidates::default(),
                history,
                failed_since_start: false,
                actions: Fifo::default(),
                report: Report::new(now, None),
                config,
            }),
        };
        match target.kind {
            TargetKind::Host { name, ports, https } => {
                if https || engine.s.config.https_query {
                    // First, as HEv3 orders them (V3-4.1.3): HTTPS, AAAA, A.
                    let https_name = https_name(&name, ports.first().copied().unwrap_or(443));
                    engine.query(RecordType::Https, Some(https_name), now);
                }
                engine.s.report.host = Some(name);
                engine.s.ports = ports;
                // The families with connectivity (V3-4.1.1); all of them if none has.
                let network = &engine.s.config.network;
                let wanted: SmallVec<[Family; 2]> = family
                    .families()
                    .iter()
                    .copied()
                    .filter(|&f| network.queries(f))
                    .collect();
                let families = if wanted.is_empty() {
                    family.families()
                } else {
                    &wanted
                };
                for &family in families {
                    engine.query(RecordType::for_family(family), None, now);
                }
                engine.add_known_services(now);
            }
            TargetKind::Addresses(entries) => {
                engine.s.candidates.reserve(entries.len());
                let mut allowed = 0;
                for e in entries {
                    let addr = SocketAddr::new(e.dest.ip, e.port);
                    // The policy judges the address as given, before synthesis.
                    if let Err(denial) = engine.s.config.destinations.check(addr) {
                        // Distinct already: the target's addresses are.
                        engine.s.report.denied.push((addr, denial));
                        continue;
                    }
                    for (ip, via) in engine.s.config.network.reach(e.dest.ip) {
                        if !family.allows(Family::of(ip)) {
                            continue;
                        }
                        allowed += 1;
                        let dest = match via {
                            Some(_) => Destination::new(ip),
                            None => e.dest,
                        };
                        engine
                            .s
                            .candidates
                            .add(dest, e.port, e.scope_id, e.port_rank, None, via);
                    }
                }
                if allowed == 0 {
                    if let Some(&(addr, denial)) = engine.s.report.denied.first() {
                        return Err(TargetError::Denied { addr, denial }.into());
                    }
                }
                engine.add_known_services(now);
                engine.resort();
                engine.s.phase = Phase::Racing;
                engine.step(now);
            }
        }
        Ok(engine)
    }

    /// The target's host name, if it has one: what its address queries ask for.
    pub fn host(&self) -> Option<&str> {
        self.s.report.host.as_deref()
    }

    /// The name query `id` asks for: the target's host name, or the name of an HTTPS query
    /// (`_8443._https.host` for another port than 443, RFC 9460 §9.1; an alias target).
    /// What a driver resolves for [`Action::Resolve`].
    pub fn query_name(&self, id: QueryId) -> Option<&str> {
        let query = self.s.report.queries.get(id.index())?;
        query.name.as_deref().or(self.s.report.host.as_deref())
    }

    /// Sends a query for `record` (of `name`, if not the host's own).
    fn query(&mut self, record: RecordType, name: Option<String>, now: Instant) {
        let id = QueryId(self.s.report.queries.len() as u32);
        let mut q = QueryRecord::new(record, now);
        q.name = name;
        self.s.report.queries.push(q);
        self.s.actions.push_back(Action::Resolve { id, record });
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.s.config
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.s.report
    }

    /// The report, consuming the engine.
    pub fn into_report(self) -> Report {
        self.s.report
    }

    /// Whether the race is over ([`Action::Done`] has been queued).
    pub fn is_done(&self) -> bool {
        self.s.phase == Phase::Done
    }

    /// What [`handle_dns`](Engine::handle_dns) would keep of `answer`, an answer to query
    /// `id`: a cheap look (no state changes) for a driver to call *before* it does per-address
    /// work such as source-address probes, so that it never probes addresses the engine
    /// drops.
    ///
    /// The result is screened exactly as `handle_dns` screens an answer (one function does
    /// both): canonical (an IPv4-mapped address becomes IPv4, its source too), of the query's
    /// family and of a family [`Config::family`] allows, usable by a connect (see
    /// [`DropReason`](crate::DropReason)), without duplicates, and at most
    /// [`Config::max_endpoints`] distinct addresses, the first ones in answer order. Screening
    /// is idempotent: handing the result (decorated with source addresses) to `handle_dns`
    /// keeps all of it. Empty when `handle_dns` would ignore the answer (the race is over, or
    /// the engine timed the query out or cancelled it). Linear in the answer's length.
    ///
    /// Passing the kept addresses to `handle_dns` loses nothing for the race, but the report
    /// then lists no dropped addresses ([`QueryRecord::dropped`]); pass the whole answer, with
    /// the sources of the kept addresses filled in, to keep them.
    pub fn screen_answer<I>(&self, id: QueryId, answer: I) -> Result<Vec<Destination>, InputError>
    where
        I: IntoIterator,
        I::Item: Into<Destination>,
    {
        let query = self
            .s
            .report
            .queries
            .get(id.index())
            .ok_or(InputError::UnknownQuery(id))?;
        if self.ignores_answer(query, DnsOutcome::Addresses) {
            return Ok(Vec::new());
        }
        Ok(self.screen(query, answer.into_iter().map(Into::into)).kept)
    }

    /// The result of query `id`.
    ///
    /// A positive answer is screened as [`screen_answer`](Engine::screen_answer) describes;
    /// the report keeps what was used ([`QueryRecord::addresses`]), what was dropped and why
    /// ([`QueryRecord::dropped`]), and how many usable addresses came beyond the cap
    /// ([`QueryRecord::beyond_cap`]). An answer with nothing usable counts as NODATA.
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
            .s
            .report
            .queries
            .get(id.index())
            .ok_or(InputError::UnknownQuery(id))?;
        let outcome = result.kind();
        if self.ignores_answer(query, outcome) {
            return Ok(());
        }
        if query.record == RecordType::Https {
            self.handle_services(now, id, result);
            return Ok(());
        }
        let screened = match result {
            DnsResult::Addresses(dests) => self.screen(query, dests),
            _ => Screened::default(),
        };
        self.s
            .candidates
            .reserve(screened.kept.len() * self.s.ports.len());
        // The addresses the answer's endpoints are made of: each kept address as the network
        // reaches it (an IPv4 address through NAT64 is one IPv6 address per prefix).
        let mut reached: Distinct<IpAddr> = Distinct::with_capacity(screened.kept.len());
        let ports = self.ports_of(id);
        for &dest in &screened.kept {
            let forms: SmallVec<[(IpAddr, Option<Ipv4Addr>); 2]> =
                self.s.config.network.reach(dest.ip).collect();
            for &(ip, _) in &forms {
                reached.insert(ip);
            }
            for (rank, &port) in ports.iter().enumerate() {
                // Screening kept the address for some port; the policy may still refuse this
                // one (a rule for one endpoint). It judges the answered address, once.
                let answered = SocketAddr::new(dest.ip, port);
                if let Err(denial) = self.s.config.destinations.check(answered) {
                    record_denial(&mut self.s.report, answered, denial);
                    continue;
                }
                for &(ip, via) in &forms {
                    let dest = match via {
                        Some(_) => Destination::new(ip),
                        None => dest,
                    };
                    self.s.candidates.add(dest, port, 0, rank, Some(id), via);
                }
            }
        }
        // A definite answer replaces the query's earlier one, and the hints it stands for
        // (V3-7.1); a failure says nothing about which addresses exist.
        if is_definite(outcome) {
            self.s.candidates.retain_answer(id, &reached);
        }
        let ips: Vec<IpAddr> = screened.kept.iter().map(|d| d.ip).collect();
        self.resort();
        let record = &mut self.s.report.queries[id.index()];
        record.ended = Some(now);
        record.outcome = Some(if ips.is_empty() && outcome == DnsOutcome::Addresses {
            DnsOutcome::NoData
        } else {
            outcome
        });
        record.addresses = ips;
        record.dropped = screened.dropped;
        record.beyond_cap = screened.beyond_cap;
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
            .s
            .report
            .attempts
            .get(id.index())
            .ok_or(InputError::UnknownAttempt(id))?;
        if !attempt.in_flight() || self.s.phase == Phase::Done {
            // A repeated success of the winner is not a late success: keep it open.
            if result == AttemptResult::Connected && attempt.end != Some(AttemptEnd::Connected) {
                self.s.actions.push_back(Action::Close { id });
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
                self.s.failed_since_start = true;
                self.step(now);
            }
        }
        Ok(())
    }

    /// Attempt `id`'s transport handshake is done at `now`, and its success needs more (TCP
    /// connected, TLS still going; V3-6.1.1, V3-6.1.3): the attempt counts as progressing
    /// (V3-6.1.5). While it is the latest attempt, the next one waits until its security
    /// handshake has had about one more round trip (its transport handshake time again: TLS
    /// 1.3's server flight) if that ends after its Connection Attempt Delay, up to
    /// [`Config::max_connection_attempt_delay`](crate::Config::max_connection_attempt_delay)
    /// from its start (HE-5.12): an attempt about to succeed is not joined by a new one.
    /// Reported once per attempt (the first report counts); ignored for an attempt that
    /// ended and after the race.
    pub fn handle_progress(&mut self, now: Instant, id: AttemptId) -> Result<(), InputError> {
        let now = self.advance(now);
        let done = self.s.phase == Phase::Done;
        let attempt = self
            .s
            .report
            .attempts
            .get_mut(id.index())
            .ok_or(InputError::UnknownAttempt(id))?;
        if !done && attempt.in_flight() && attempt.transport_done.is_none() {
            attempt.transport_done = Some(now);
        }
        Ok(())
    }

    /// Time has passed: acts on every deadline at or before `now`. Harmless at any time.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.s.phase == Phase::Done {
            return;
        }
        for timer in Timer::ALL {
            if !self.is_due(timer, now) {
                continue;
            }
            match timer {
                Timer::Overall => {
                    self.finish(now, Outcome::Failed(Failure::TimedOut));
                    return;
                }
                Timer::Resolve => self.time_out_queries(now),
                Timer::Attempt => self.time_out_attempts(now),
                // Acted on by `step`, after this and every other input.
                Timer::ResolutionDelay | Timer::NextAttempt => {}
            }
        }
        self.step(now);
    }

    /// Ends the race now: aborts every attempt, cancels every query, and finishes with
    /// [`Failure::Cancelled`]. Does nothing once the race is over.
    pub fn cancel(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.s.phase != Phase::Done {
            self.finish(now, Outcome::Failed(Failure::Cancelled));
        }
    }

    /// The next thing the driver must do, if any. Drain it until `None` after every input.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.s.actions.pop_front()
    }

    /// When [`handle_timeout`](Engine::handle_timeout) must be called next, if no other input
    /// comes first; `None` when only a new input can change anything (a deadline too far
    /// away to be represented never comes, so it gives `None` too).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        Timer::ALL
            .into_iter()
            .filter_map(|timer| self.deadline(timer))
            .min()
    }

    /// The endpoint attempt `id` connects to.
    pub fn endpoint(&self, id: AttemptId) -> Option<Endpoint> {
        self.s.report.attempts.get(id.index()).map(|a| a.endpoint)
    }

    /// Re-sorts the candidates after a change, and makes room in the report for the attempts
    /// they may need, so a race allocates per answer rather than per attempt.
    fn resort(&mut self) {
        let s = &mut *self.s;
        let (queries, services) = (&s.report.queries, &s.report.services);
        let (targets, seed) = (&s.service_targets, s.config.service_seed);
        if !s.config.quic_alpn.is_empty() {
            s.candidates
                .add_quic_twins(|query| targets.speaks_quic(query, queries));
        }
        let group = |query, protocol| targets.group(query, protocol, queries, services, seed);
        let resorted = s.candidates.resort(&s.config, s.family, &s.history, group);
        self.s.report.dropped_endpoints += resorted.dropped;
        self.s.report.history_reordered |= resorted.reordered;
        let pending = self.s.candidates.pending_len();
        self.s.report.attempts.reserve(pending);
    }

    fn advance(&mut self, now: Instant) -> Instant {
        if now > self.s.now {
            self.s.now = now;
        }
        self.s.now
    }

    /// Whether `handle_dns` ignores a result of kind `outcome` for `query`: the race is
    /// over, the engine ended the query itself, or it is a failed update.
    fn ignores_answer(&self, query: &QueryRecord, outcome: DnsOutcome) -> bool {
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
        self.s.phase == Phase::Done || ended_by_engine || failed_update
    }

    /// The answer to HTTPS query `id` (module [`crate::service`]): ServiceMode records are
    /// kept; an answer of AliasMode records only is followed with an HTTPS query for the
    /// first alias target (V3-4.2.1.1), unless the chain is [`MAX_ALIAS_CHAIN`] long or
    /// comes back to a name it asked already (then it ends with no service information).
    fn handle_services(&mut self, now: Instant, id: QueryId, result: DnsResult) {
        let mut outcome = result.kind();
        let records = match result {
            DnsResult::Services(records) => records,
            _ => Vec::new(),
        };
        let (aliases, services): (Vec<_>, Vec<_>) =
            records.into_iter().partition(ServiceRecord::is_alias);
        if services.is_empty() && outcome == DnsOutcome::Addresses {
            match aliases
                .first()
                .map(|a| a.target.trim_end_matches('.').to_owned())
            {
                Some(next) if self.may_follow(&next) => {
                    self.query(RecordType::Https, Some(next), now);
                }
                // A loop or a chain too long: no service information (RFC 9460 §3.1).
                _ => outcome = DnsOutcome::NoData,
            }
        }
        for service in &services {
            let target = self.effective_target(id, service);
            // V3-6.2.2: a record whose protocols the caller does not speak is not used.
            let config = &self.s.config;
            let ways = Transports::of(service, &config.alpn, &config.quic_alpn);
            if ways.any() {
                self.add_target(target.as_deref(), service, now);
            }
            self.s.service_targets.push(target, ways);
        }
        self.s.report.services.extend(services);
        let record = &mut self.s.report.queries[id.index()];
        record.ended = Some(now);
        record.outcome = Some(outcome);
        self.resort();
        self.step(now);
    }

    /// The caller's own service records ([`Config::services`]), taken in at the start as if
    /// the host's HTTPS answer held them: same filtering, same groups, same targets.
    fn add_known_services(&mut self, now: Instant) {
        if self.s.config.services.is_empty() {
            return;
        }
        // The configuration outlives the loop, which changes the rest of the state.
        let config = Arc::clone(&self.s.config);
        let has_host = self.s.report.host.is_some();
        for service in config.services.iter().filter(|s| !s.is_alias()) {
            let target = match service.target.trim_end_matches('.') {
                "" => None,
                name => match self.host() {
                    Some(host) if host.trim_end_matches('.').eq_ignore_ascii_case(name) => None,
                    Some(_) => Some(name.to_owned()),
                    // No host to stand in for: nothing to ask about.
                    None => continue,
                },
            };
            let ways = Transports::of(service, &config.alpn, &config.quic_alpn);
            if ways.any() && has_host {
                self.add_target(target.as_deref(), service, now);
            }
            self.s.service_targets.push(target, ways);
            self.s.report.services.push(service.clone());
        }
    }

    /// The name whose addresses ServiceMode `service` of HTTPS query `id` stands for: `None`
    /// for the target's own host name (TargetName "." in the answer to the host's own query,
    /// port-prefixed or not, RFC 9460 §9.1, or a TargetName that is the host name); else the
    /// other name: the record's TargetName, or for "." in a followed alias's answer the alias
    /// target, the record's owner (V3-4.2.1.2).
    fn effective_target(&self, id: QueryId, service: &ServiceRecord) -> Option<String> {
        let own_query = self
            .s
            .report
            .queries
            .iter()
            .position(|q| q.record == RecordType::Https)
            == Some(id.index());
        let name = match service.target.trim_end_matches('.') {
            "" if own_query => return None,
            "" => self.s.report.queries.get(id.index())?.name.clone()?,
            other => other.to_owned(),
        };
        match self.host() {
            Some(host) if host.trim_end_matches('.').eq_ignore_ascii_case(&name) => None,
            _ => Some(name),
        }
    }

    /// The endpoints ServiceMode `service` brings for `target` (`None`: the host's own
    /// name): another name gets its own AAAA and A queries (V3-4.2.1.2, V3-4.2.1.4), on the
    /// record's port; then the record's hints (V3-4.2.1.3).
    fn add_target(&mut self, target: Option<&str>, service: &ServiceRecord, now: Instant) {
        if let Some(name) = target {
            let asked = self.s.report.queries.iter().any(|q| {
                q.record != RecordType::Https
                    && q.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            });
            if !asked {
                let ports = self.service_ports(service);
                let network = &self.s.config.network;
                let families: SmallVec<[Family; 2]> = self
                    .s
                    .family
                    .families()
                    .iter()
                    .copied()
                    .filter(|&f| network.queries(f))
                    .collect();
                for family in families {
                    let id = QueryId(self.s.report.queries.len() as u32);
                    self.s.target_ports.push((id, ports.clone()));
                    self.query(RecordType::for_family(family), Some(name.to_owned()), now);
                }
            }
        }
        self.add_hints(target, service);
    }

    /// The address query of `family` for `target` (`None`: the host's own name), if sent.
    fn address_query(&self, target: Option<&str>, family: Family) -> Option<QueryId> {
        self.s
            .report
            .queries
            .iter()
            .position(|q| {
                q.record.family() == Some(family)
                    && match (target, q.name.as_deref()) {
                        (None, None) => true,
                        (Some(t), Some(n)) => t.eq_ignore_ascii_case(n),
                        _ => false,
                    }
            })
            .map(|i| QueryId(i as u32))
    }

    /// The ports `service`'s endpoints are tried on: its `port`, else the target's.
    fn service_ports(&self, service: &ServiceRecord) -> SmallVec<[u16; 2]> {
        match service.port {
            Some(port) => SmallVec::from_slice(&[port]),
            None => SmallVec::from_slice(&self.s.ports),
        }
    }

    /// The ports the answers of query `id` are tried on: a service target's own, else the
    /// target's.
    fn ports_of(&self, id: QueryId) -> SmallVec<[u16; 2]> {
        match self.s.target_ports.iter().find(|(q, _)| *q == id) {
            Some((_, ports)) => ports.clone(),
            None => SmallVec::from_slice(&self.s.ports),
        }
    }

    /// The hints of `service` for `target` as endpoints (V3-4.2.1.3): each family's hints
    /// until the address answer of that family for that name is in (then the answer stands,
    /// V3-4.2.1.5). Each hint endpoint is kept as a provisional member of that answer, so
    /// that the answer replaces it (V3-4.2.1.4, V3-7.1). On the record's port if it has one;
    /// IPv4 hints through NAT64 where IPv4 is reached so (V3-8.2.4); each checked by the
    /// destination policy.
    fn add_hints(&mut self, target: Option<&str>, service: &ServiceRecord) {
        let mut hints: Vec<(IpAddr, QueryId)> = Vec::new();
        for (family, ips) in [
            (
                Family::V6,
                service
                    .ipv6_hints
                    .iter()
                    .map(|&v6| IpAddr::V6(v6))
                    .collect::<Vec<_>>(),
            ),
            (
                Family::V4,
                service
                    .ipv4_hints
                    .iter()
                    .map(|&v4| IpAddr::V4(v4))
                    .collect::<Vec<_>>(),
            ),
        ] {
            // Hints of a family nobody asks about (no connectivity) are not used.
            let Some(query) = self.address_query(target, family) else {
                continue;
            };
            let answered = self.s.report.queries[query.index()]
                .outcome
                .is_some_and(is_definite);
            if !answered {
                hints.extend(ips.into_iter().map(|ip| (ip, query)));
            }
        }
        let ports = self.service_ports(service);
        for (hint, query) in hints {
            let forms: SmallVec<[(IpAddr, Option<Ipv4Addr>); 2]> = self
                .s
                .config
                .network
                .reach(hint)
                .filter(|&(ip, _)| self.s.family.allows(Family::of(ip)))
                .collect();
            if forms.is_empty() {
                continue;
            }
            for (rank, &port) in ports.iter().enumerate() {
                let answered = SocketAddr::new(hint, port);
                if let Err(denial) = self.s.config.destinations.check(answered) {
                    record_denial(&mut self.s.report, answered, denial);
                    continue;
                }
                for &(ip, via) in &forms {
                    self.s
                        .candidates
                        .add(Destination::new(ip), port, 0, rank, Some(query), via);
                }
            }
        }
    }

    /// Whether an alias to `name` may be followed: the chain is shorter than the limit and
    /// has not asked for `name` yet.
    fn may_follow(&self, name: &str) -> bool {
        let https: Vec<&QueryRecord> = self
            .s
            .report
            .queries
            .iter()
            .filter(|q| q.record == RecordType::Https)
            .collect();
        https.len() <= MAX_ALIAS_CHAIN
            && !name.is_empty()
            && !https.iter().any(|q| {
                q.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
    }

    /// Whether the service information the race waits for is known (V3-4.2.2): no HTTPS
    /// query, or every one ended (a followed alias adds one that must end too).
    fn services_known(&self) -> bool {
        self.s
            .report
            .queries
            .iter()
            .filter(|q| q.record == RecordType::Https)
            .all(|q| q.outcome.is_some())
    }

    /// The one screening of an answer to `query`, for `handle_dns` and `screen_answer`.
    fn screen(
        &self,
        query: &QueryRecord,
        answer: impl IntoIterator<Item = Destination>,
    ) -> Screened {
        screen(
            answer,
            &Screen {
                family: query.record.family().unwrap_or(Family::V4),
                allowed: self.s.family,
                cap: self.s.config.max_endpoints,
                policy: &self.s.config.destinations,
                ports: &self.s.ports,
            },
        )
    }

    /// The deadline of `timer`, computed from the state: the one source of every deadline.
    ///
    /// Inlined: `poll_timeout` asks it for each timer in turn, and each call then reduces to
    /// its own arm (a third of an address race's `poll_timeout` cost went to the calls).
    #[inline]
    fn deadline(&self, timer: Timer) -> Option<Instant> {
        match (timer, self.s.phase) {
            (_, Phase::Done) => None,
            (Timer::Overall, _) => self.s.overall_deadline,
            (Timer::Resolve, _) => self
                .s
                .report
                .queries
                .iter()
                .filter_map(|q| self.query_deadline(q))
                .min(),
            // Attempts start in time order with one timeout, so the first one in flight times
            // out first.
            (Timer::Attempt, _) => self
                .s
                .report
                .attempts
                .iter()
                .find(|a| a.in_flight())
                .and_then(|a| self.attempt_deadline(a)),
            (Timer::ResolutionDelay, Phase::Resolving { deadline }) => deadline,
            (Timer::ResolutionDelay, _) => None,
            (Timer::NextAttempt, _) => self.next_start(),
        }
    }

    /// Whether `timer`'s deadline is at or before `now`.
    fn is_due(&self, timer: Timer, now: Instant) -> bool {
        self.deadline(timer).is_some_and(|d| d <= now)
    }

    /// When a pending query times out ([`Config::resolve_timeout`]).
    fn query_deadline(&self, q: &QueryRecord) -> Option<Instant> {
        match q.outcome {
            None => q.sent.checked_add(self.s.config.resolve_timeout?),
            Some(_) => None,
        }
    }

    /// When an attempt in flight times out ([`Config::attempt_timeout`]).
    fn attempt_deadline(&self, a: &AttemptRecord) -> Option<Instant> {
        if a.in_flight() {
            a.started.checked_add(self.s.config.attempt_timeout?)
        } else {
            None
        }
    }

    /// Ends every pending query whose [`Timer::Resolve`] deadline has come.
    fn time_out_queries(&mut self, now: Instant) {
        for i in 0..self.s.report.queries.len() {
            if self
                .query_deadline(&self.s.report.queries[i])
                .is_some_and(|d| d <= now)
            {
                let q = &mut self.s.report.queries[i];
                q.outcome = Some(DnsOutcome::TimedOut);
                q.ended = Some(now);
                self.s.actions.push_back(Action::CancelResolve {
                    id: QueryId(i as u32),
                });
            }
        }
    }

    /// Ends every attempt whose [`Timer::Attempt`] deadline has come (checklist D4).
    fn time_out_attempts(&mut self, now: Instant) {
        for i in 0..self.s.report.attempts.len() {
            if self
                .attempt_deadline(&self.s.report.attempts[i])
                .is_some_and(|d| d <= now)
            {
                let id = AttemptId(i as u32);
                self.end_attempt(now, id, AttemptEnd::TimedOut);
                self.s.actions.push_back(Action::Abort { id });
                self.s.failed_since_start = true;
            }
        }
    }

    /// After any input: leave the resolution phase when RFC 8305 §3 says so, start an attempt
    /// if the schedule allows, and finish if nothing is left to wait for.
    fn step(&mut self, now: Instant) {
        self.check_resolution(now);
        if self.is_due(Timer::NextAttempt, now) {
            self.start_attempt(now);
        }
        self.check_exhausted(now);
    }

    /// RFC 8305 §3: start at once on addresses of the preferred family (HE-3.5, HE-3.7); on
    /// addresses of the other family only, wait the Resolution Delay (HE-3.6) unless the
    /// preferred query has ended without addresses (HE-3.8).
    fn check_resolution(&mut self, now: Instant) {
        let Phase::Resolving { deadline } = self.s.phase else {
            return;
        };
        if !self.s.candidates.has_pending() {
            // Every address seen so far was withdrawn by a later answer (HE-6.2): the delay
            // starts again with the next positive answer.
            self.s.phase = Phase::Resolving { deadline: None };
            return;
        }
        let preferred = self.s.family.preferred();
        let preferred_ended = self
            .s
            .report
            .queries
            .iter()
            .filter(|q| q.name.is_none() && q.record.family() == Some(preferred))
            .all(|q| q.outcome.is_some());
        // The delay starts with the first positive answer; one too long to represent never
        // ends.
        let deadline = deadline.or_else(|| now.checked_add(self.s.config.resolution_delay));
        self.s.phase = Phase::Resolving { deadline };
        // Set A (V3-4.2.2): an address of the preferred family, or its query ended, and the
        // service information known; set B (V3-4.2.3): the Resolution Delay ran out.
        // An answer of addresses known to be unusable (no route, or history holds a recent
        // failure against them) does not start the race while another address query may
        // still bring a usable one.
        let history = &self.s.history;
        let awaiting_usable = !self.s.candidates.has_usable_pending(None, history)
            && self
                .s
                .report
                .queries
                .iter()
                .any(|q| q.outcome.is_none() && q.record.family().is_some());
        if ((self
            .s
            .candidates
            .has_usable_pending(Some(preferred), history)
            || (preferred_ended && !awaiting_usable))
            && self.services_known())
            || deadline.is_some_and(|d| d <= now)
        {
            self.s.phase = Phase::Racing;
        }
    }

    /// When the next attempt may start, if there is one to start (RFC 8305 §5): at once for
    /// the first, the Connection Attempt Delay after the latest start ([`Config::attempt_delay`],
    /// HE-5.7), or the 10 ms floor after it when an attempt failed since (checklist D1,
    /// HE-5.10). `None` when that time cannot be represented: it never comes.
    fn next_start(&self) -> Option<Instant> {
        if self.s.phase != Phase::Racing || !self.s.candidates.has_pending() {
            return None;
        }
        if let Some(cap) = self.s.config.max_attempts_in_flight {
            let in_flight = self
                .s
                .report
                .attempts
                .iter()
                .filter(|a| a.in_flight())
                .count();
            if in_flight >= cap {
                return None;
            }
        }
        // The latest attempt: when it started, and the delay that runs from it.
        match self.s.report.attempts.last() {
            None => Some(self.s.now),
            Some(last) if self.s.failed_since_start => {
                last.started.checked_add(ATTEMPT_DELAY_FLOOR)
            }
            Some(last) => {
                let planned = last.started.checked_add(last.attempt_delay)?;
                Some(match last.transport_done {
                    // V3-6.1.5: the transport is done, the security handshake still going:
                    // one more round trip for it, within the maximum delay.
                    Some(done) if last.in_flight() => {
                        let rtt = done.saturating_duration_since(last.started);
                        let ceiling = last
                            .started
                            .checked_add(self.s.config.max_connection_attempt_delay)
                            .unwrap_or(planned)
                            .max(planned);
                        done.checked_add(rtt)
                            .unwrap_or(ceiling)
                            .clamp(planned, ceiling)
                    }
                    _ => planned,
                })
            }
        }
    }

    fn start_attempt(&mut self, now: Instant) {
        let Some((endpoint, via, query)) = self.s.candidates.next() else {
            return;
        };
        let id = AttemptId(self.s.report.attempts.len() as u32);
        let config = &self.s.config;
        // What history knows about this endpoint, protocol included.
        let known = self.s.history.get_endpoint(endpoint).copied();
        let mut record = AttemptRecord::new(endpoint, now);
        record.via_nat64 = via;
        // HE-5.8, V3-6.5: the retransmission timeout of the path where history has its RTT
        // (TCP's RTO, or QUIC's handshake PTO: the same formula, `Rtt::rto`).
        record.attempt_delay = match known.and_then(|facts| facts.rtt) {
            Some(rtt) => config.clamp_derived_attempt_delay(rtt.rto()),
            None => config.attempt_delay(),
        };
        record.history = known;
        record.service = self
            .s
            .service_targets
            .group(
                query,
                endpoint.protocol,
                &self.s.report.queries,
                &self.s.report.services,
                self.s.config.service_seed,
            )
            .service();
        self.s.report.attempts.push(record);
        self.s.failed_since_start = false;
        self.s.actions.push_back(Action::Connect { id, endpoint });
    }

    fn end_attempt(&mut self, now: Instant, id: AttemptId, end: AttemptEnd) {
        if let Some(a) = self.s.report.attempts.get_mut(id.index()) {
            a.ended = Some(now);
            a.end = Some(end);
        }
    }

    /// Fails the race when nothing is left: no query pending, no endpoint untried, no attempt
    /// in flight.
    fn check_exhausted(&mut self, now: Instant) {
        if self.s.phase == Phase::Done
            || self.s.candidates.has_pending()
            || self.s.report.queries.iter().any(|q| q.outcome.is_none())
            || self.s.report.attempts.iter().any(AttemptRecord::in_flight)
        {
            return;
        }
        let failure = if self.s.report.attempts.is_empty() {
            Failure::NoAddresses
        } else {
            Failure::AllAttemptsFailed
        };
        self.finish(now, Outcome::Failed(failure));
    }

    /// Ends the race: aborts attempts still in flight, cancels queries still pending (HE-5.3,
    /// HE-5.5), and queues [`Action::Done`].
    fn finish(&mut self, now: Instant, outcome: Outcome) {
        for i in 0..self.s.report.attempts.len() {
            if self.s.report.attempts[i].in_flight() {
                let id = AttemptId(i as u32);
                self.end_attempt(now, id, AttemptEnd::Aborted);
                self.s.actions.push_back(Action::Abort { id });
            }
        }
        for (i, q) in self.s.report.queries.iter_mut().enumerate() {
            if q.outcome.is_none() {
                q.outcome = Some(DnsOutcome::Cancelled);
                q.ended = Some(now);
                self.s.actions.push_back(Action::CancelResolve {
                    id: QueryId(i as u32),
                });
            }
        }
        self.s.phase = Phase::Done;
        self.s.report.outcome = Some(outcome);
        self.s.report.finished = Some(now);
        self.s.actions.push_back(Action::Done(outcome));
    }
}

/// Records that the policy refused `addr`, an endpoint of an answer, unless a previous answer
/// had it refused already.
fn record_denial(report: &mut Report, addr: SocketAddr, denial: crate::Denial) {
    if !report.denied.iter().any(|&(a, _)| a == addr) {
        report.denied.push((addr, denial));
    }
}

/// Whether an answer says which addresses exist (positive or negative), unlike a failure.
fn is_definite(outcome: DnsOutcome) -> bool {
    matches!(
        outcome,
        DnsOutcome::Addresses | DnsOutcome::NoData | DnsOutcome::NxDomain
    )
}
