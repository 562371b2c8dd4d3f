//! The engine on virtual time: a scripted world (DNS answers and per-address behaviour) and a
//! driver loop that runs a whole race instantly and exactly.
//!
//! Used by the scenario tests, the benchmarks and `eyeballs simulate`.
//!
//! At one instant, world events are delivered first (in the order they were scheduled), then a
//! scripted cancel, then the engine's timeout. After every input the engine's actions are
//! drained and acted on, as a real driver would.
//!
//! Any duration is accepted, up to `Duration::MAX`: an answer, a behaviour or a cancel too far
//! away to be represented as an `Instant` never happens, and the run still ends.
//!
//! ```
//! use std::time::Duration;
//! use eyeballs_proto::sim::{Behavior, Scenario};
//! use eyeballs_proto::RecordType;
//!
//! let ms = Duration::from_millis;
//! let sim = Scenario::host("example.test", 443)
//!     .answer(RecordType::Aaaa, ms(0), ["2001:db8::1"])
//!     .answer(RecordType::A, ms(0), ["192.0.2.1"])
//!     .behavior("2001:db8::1", Behavior::BlackHole)
//!     .behavior("192.0.2.1", Behavior::Connects(ms(10)))
//!     .run()
//!     .unwrap();
//! assert_eq!(sim.lines(), [
//!     "0 resolve q0 AAAA",
//!     "0 resolve q1 A",
//!     "0 connect #0 [2001:db8::1]:443",
//!     "250 connect #1 192.0.2.1:443",
//!     "260 abort #0",
//!     "260 done connected #1",
//! ]);
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::action::Action;
use crate::attempt::{AttemptId, AttemptResult, FailureKind};
use crate::config::Config;
use crate::dns::{DnsResult, QueryId, RecordType};
use crate::endpoint::{Endpoint, Protocol};
use crate::engine::Engine;
use crate::error::SetupError;
use crate::history::History;
use crate::report::Report;
use crate::target::{Target, TargetError};

/// How a simulated address answers a connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Behavior {
    /// The handshake completes after this long.
    Connects(Duration),
    /// The attempt fails after this long.
    Fails(FailureKind, Duration),
    /// Nothing ever comes back.
    BlackHole,
    /// The transport handshake completes after the first duration and the attempt's
    /// security handshake after the second, both from the attempt's start: the driver
    /// reports progress ([`Engine::handle_progress`](crate::Engine::handle_progress)), then
    /// success (V3-6.1.5). Use `Duration::MAX` as the second for a handshake that never ends.
    Secures(Duration, Duration),
}

impl Behavior {
    /// Refused (TCP reset) after `after`.
    pub fn refuses(after: Duration) -> Self {
        Behavior::Fails(FailureKind::Refused, after)
    }

    /// Unreachable (ICMP) after `after`.
    pub fn unreachable(after: Duration) -> Self {
        Behavior::Fails(FailureKind::Unreachable, after)
    }
}

/// A scripted race: the target, the configuration and the world's behaviour.
#[derive(Debug, Clone)]
pub struct Scenario {
    target: Result<Target, TargetError>,
    config: Config,
    /// Per record type (and name, for queries of other names than the target's own),
    /// answers after the query is sent; later ones are updates (§6).
    dns: Vec<(Option<String>, RecordType, Duration, DnsResult)>,
    behaviors: Vec<(Selector, Behavior)>,
    default_behavior: Behavior,
    cancel_at: Option<Duration>,
    history: History,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Selector {
    /// `None`: both protocols.
    protocol: Option<Protocol>,
    place: Place,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Ip(IpAddr),
    Addr(SocketAddr),
}

impl Scenario {
    /// A race to a host name on one port. An invalid name surfaces from [`Scenario::run`].
    pub fn host(name: &str, port: u16) -> Self {
        Self::new(Target::host(name, port))
    }

    /// A race to any target.
    pub fn target(target: Target) -> Self {
        Self::new(Ok(target))
    }

    fn new(target: Result<Target, TargetError>) -> Self {
        Scenario {
            target,
            config: Config::default(),
            dns: Vec::new(),
            behaviors: Vec::new(),
            default_behavior: Behavior::BlackHole,
            cancel_at: None,
            history: History::new(),
        }
    }

    /// The configuration (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The query for `record` gets `result` `after` it is sent. Several results for one record
    /// type arrive in turn; the later ones are updates (RFC 8305 §6). A record type with no
    /// result is never answered.
    pub fn dns(mut self, record: RecordType, after: Duration, result: DnsResult) -> Self {
        self.dns.push((None, record, after, result));
        self
    }

    /// As [`Scenario::dns`], for the query of `record` for `name` (an alias target, another
    /// service target): [`Scenario::dns`] answers the target's own query of each record type.
    pub fn dns_for(
        mut self,
        name: &str,
        record: RecordType,
        after: Duration,
        result: DnsResult,
    ) -> Self {
        self.dns
            .push((Some(name.to_owned()), record, after, result));
        self
    }

    /// A positive answer: shorthand for [`Scenario::dns`] with addresses given as text.
    /// Text that does not parse as an IP address is skipped.
    pub fn answer<const N: usize>(
        self,
        record: RecordType,
        after: Duration,
        ips: [&str; N],
    ) -> Self {
        let ips = ips.iter().filter_map(|s| s.parse::<IpAddr>().ok());
        self.dns(record, after, DnsResult::addresses(ips))
    }

    /// How attempts to `addr` behave: an IP address (any port) or a socket address (exact),
    /// for both protocols, or for one with a `quic://` or `tcp://` prefix (UDP blocked:
    /// `quic://192.0.2.1` black-holed, TCP to it fine). The most specific selector wins: a
    /// protocol's before both's, a socket address before an IP. Text that parses as none of
    /// these is skipped.
    pub fn behavior(mut self, addr: &str, behavior: Behavior) -> Self {
        let (protocol, rest) = match addr.split_once("://") {
            Some(("quic", rest)) => (Some(Protocol::Quic), rest),
            Some(("tcp", rest)) => (Some(Protocol::Tcp), rest),
            Some(_) => return self,
            None => (None, addr),
        };
        let place = rest.parse::<SocketAddr>().map(Place::Addr).or_else(|_| {
            rest.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map(Place::Ip)
        });
        if let Ok(place) = place {
            self.behaviors
                .push((Selector { protocol, place }, behavior));
        }
        self
    }

    /// How attempts to addresses with no [`Scenario::behavior`] behave (default: black hole).
    pub fn default_behavior(mut self, behavior: Behavior) -> Self {
        self.default_behavior = behavior;
        self
    }

    /// What history knows when the race starts ([`Engine::with_history`]; default: nothing).
    pub fn history(mut self, history: History) -> Self {
        self.history = history;
        self
    }

    /// The caller cancels the race at `at`.
    pub fn cancel_at(mut self, at: Duration) -> Self {
        self.cancel_at = Some(at);
        self
    }

    fn behavior_of(&self, endpoint: Endpoint) -> Behavior {
        let addr = endpoint.addr;
        let find = |protocol: Option<Protocol>, place: Place| {
            self.behaviors
                .iter()
                .find(|(s, _)| s.protocol == protocol && s.place == place)
        };
        let own = Some(endpoint.protocol);
        find(own, Place::Addr(addr))
            .or_else(|| find(own, Place::Ip(addr.ip())))
            .or_else(|| find(None, Place::Addr(addr)))
            .or_else(|| find(None, Place::Ip(addr.ip())))
            .map_or(self.default_behavior, |(_, b)| *b)
    }

    /// Runs the race to its end on virtual time.
    pub fn run(&self) -> Result<Simulation, SetupError> {
        let t0 = Instant::now();
        let target = self.target.clone()?;
        let engine = Engine::with_history(target, self.config.clone(), self.history.clone(), t0)?;
        let mut world = World {
            scenario: self,
            t0,
            now: t0,
            engine,
            events: Vec::new(),
            seq: 0,
            log: Vec::new(),
            done: false,
        };
        world.run();
        Ok(Simulation {
            log: world.log,
            report: world.engine.into_report(),
        })
    }
}

/// What a simulated race did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Simulation {
    /// Every action the engine emitted, with its offset from the start.
    pub log: Vec<(Duration, Action)>,
    /// The engine's report. Its `outcome` is `None` if the engine was left waiting for an
    /// input the scenario never gives (a query never answered with no timeout configured).
    pub report: Report,
}

impl Simulation {
    /// The log as lines `"<ms> <action>"`, for example `"250 connect #1 192.0.2.1:443"`.
    /// Offsets that are not whole milliseconds are printed with their fraction.
    pub fn lines(&self) -> Vec<String> {
        self.log
            .iter()
            .map(|(t, a)| format!("{} {a}", fmt_ms(*t)))
            .collect()
    }
}

/// Milliseconds, with a fraction only when there is one, exact to the nanosecond (`"250"`,
/// `"0.5"`, `"20.000001"`), for any duration up to `Duration::MAX`.
pub fn fmt_ms(t: Duration) -> String {
    let ms = t.as_millis();
    let ns = t.subsec_nanos() % 1_000_000;
    if ns == 0 {
        format!("{ms}")
    } else {
        let frac = format!("{ns:06}");
        format!("{ms}.{}", frac.trim_end_matches('0'))
    }
}

#[derive(Debug)]
enum Input {
    Dns(QueryId, DnsResult),
    Attempt(AttemptId, AttemptResult),
    Progress(AttemptId),
}

struct World<'a> {
    scenario: &'a Scenario,
    t0: Instant,
    now: Instant,
    engine: Engine,
    /// Scheduled inputs: (when, order scheduled, input).
    events: Vec<(Instant, u64, Input)>,
    seq: u64,
    log: Vec<(Duration, Action)>,
    done: bool,
}

impl World<'_> {
    /// An upper bound on loop turns, far above any real race; it keeps a broken engine from
    /// hanging a test.
    const MAX_TURNS: usize = 1_000_000;

    fn run(&mut self) {
        self.drain();
        for _ in 0..Self::MAX_TURNS {
            if self.done {
                return;
            }
            let next_event = self.events.iter().map(|e| (e.0, e.1)).min();
            // A cancel too far away to represent never comes.
            let cancel = self.scenario.cancel_at.and_then(|d| self.t0.checked_add(d));
            let next = [
                next_event.map(|e| e.0),
                cancel.filter(|&c| c >= self.now),
                self.engine.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else {
                return; // Waiting for an input that never comes.
            };
            self.now = self.now.max(next);
            if let Some((at, seq)) = next_event.filter(|e| e.0 <= self.now) {
                let pos = self.events.iter().position(|e| e.0 == at && e.1 == seq);
                if let Some(pos) = pos {
                    let (_, _, input) = self.events.remove(pos);
                    self.deliver(input);
                    continue;
                }
            }
            if cancel == Some(self.now) {
                self.engine.cancel(self.now);
                self.drain();
                continue;
            }
            let logged = self.log.len();
            self.engine.handle_timeout(self.now);
            self.drain();
            if self.log.len() == logged && self.engine.poll_timeout().is_some_and(|t| t <= self.now)
            {
                // The engine asks to be woken at a time that has passed without doing
                // anything: a bug, which a real driver would spin on. Stop here.
                return;
            }
        }
    }

    fn deliver(&mut self, input: Input) {
        // Ids come from the engine's own actions, so they are always known.
        let _ = match input {
            Input::Dns(id, result) => self.engine.handle_dns(self.now, id, result),
            Input::Attempt(id, result) => self.engine.handle_attempt(self.now, id, result),
            Input::Progress(id) => self.engine.handle_progress(self.now, id),
        };
        self.drain();
    }

    /// Schedules `input` `after` from now; an input too far away to represent never comes.
    fn schedule(&mut self, after: Duration, input: Input) {
        if let Some(at) = self.now.checked_add(after) {
            self.seq += 1;
            self.events.push((at, self.seq, input));
        }
    }

    fn drain(&mut self) {
        while let Some(action) = self.engine.poll_action() {
            match &action {
                Action::Resolve { id, record } => {
                    // The target's own query of a record type is the first one of it.
                    let own = self
                        .engine
                        .report()
                        .queries
                        .iter()
                        .position(|q| q.record == *record)
                        == Some(id.index());
                    let name = self.engine.query_name(*id).map(str::to_owned);
                    let answers: Vec<(Duration, DnsResult)> = self
                        .scenario
                        .dns
                        .iter()
                        .filter(|(n, r, _, _)| {
                            r == record
                                && match n {
                                    None => own,
                                    Some(n) => name.as_deref() == Some(n.as_str()),
                                }
                        })
                        .map(|(_, _, after, result)| (*after, result.clone()))
                        .collect();
                    for (after, result) in answers {
                        self.schedule(after, Input::Dns(*id, result));
                    }
                }
                Action::CancelResolve { id } => self
                    .events
                    .retain(|e| !matches!(e.2, Input::Dns(q, _) if q == *id)),
                Action::Connect { id, endpoint } => match self.scenario.behavior_of(*endpoint) {
                    Behavior::Connects(after) => {
                        self.schedule(after, Input::Attempt(*id, AttemptResult::Connected))
                    }
                    Behavior::Fails(kind, after) => {
                        self.schedule(after, Input::Attempt(*id, AttemptResult::Failed(kind)))
                    }
                    Behavior::BlackHole => {}
                    Behavior::Secures(transport, total) => {
                        self.schedule(transport, Input::Progress(*id));
                        if total != Duration::MAX {
                            self.schedule(total, Input::Attempt(*id, AttemptResult::Connected));
                        }
                    }
                },
                Action::Abort { id } => self.events.retain(
                    |e| !matches!(e.2, Input::Attempt(a, _) | Input::Progress(a) if a == *id),
                ),
                Action::Close { .. } => {}
                Action::Done(_) => self.done = true,
            }
            self.log
                .push((self.now.saturating_duration_since(self.t0), action));
        }
    }
}
