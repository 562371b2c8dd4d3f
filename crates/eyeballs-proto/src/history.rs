//! What history knows about a race's endpoints (RFC 8305 §4-5, HEv3 §5.3 and §6): the input a
//! driver's history store gives the engine, and what a finished race teaches the store.
//!
//! See [`History`] for how the engine uses it.
//!
//! [`Report::lessons`] turns a finished race into what a store records.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use smallvec::SmallVec;

use crate::action::Outcome;
use crate::attempt::{AttemptEnd, FailureKind};
use crate::endpoint::Endpoint;
use crate::report::Report;

/// RFC 6298's clock granularity G in `RTO = SRTT + max(G, K·RTTVAR)`: the drivers' clocks
/// read nanoseconds, and a millisecond keeps an RTO above a sample's jitter.
pub const RTO_GRANULARITY: Duration = Duration::from_millis(1);

/// A smoothed round-trip time and its variation, as RFC 6298 §2 keeps them for a path, from
/// the handshake times of the attempts that connected over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rtt {
    /// SRTT: the smoothed round-trip time.
    pub srtt: Duration,
    /// RTTVAR: the round-trip time variation.
    pub rttvar: Duration,
}

impl Rtt {
    /// The estimate after a path's first sample `r` (RFC 6298 §2.2): SRTT = R, RTTVAR = R/2.
    pub fn first(r: Duration) -> Self {
        Rtt {
            srtt: r,
            rttvar: r / 2,
        }
    }

    /// The estimate after a further sample `r` (RFC 6298 §2.3, α = 1/8, β = 1/4):
    /// RTTVAR = ¾·RTTVAR + ¼·|SRTT − R|, then SRTT = ⅞·SRTT + ⅛·R.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eyeballs_proto::Rtt;
    ///
    /// let ms = Duration::from_millis;
    /// let rtt = Rtt::first(ms(40)).update(ms(8));
    /// assert_eq!(rtt.rttvar, ms(23)); // ¾·20 + ¼·32
    /// assert_eq!(rtt.srtt, ms(36)); // ⅞·40 + ⅛·8
    /// ```
    pub fn update(self, r: Duration) -> Self {
        // In whole nanoseconds when they fit in 64 bits (any RTT a network has): the same
        // truncating arithmetic as `Duration`'s, without its seconds-and-nanoseconds carries.
        if let (Ok(srtt), Ok(rttvar), Ok(r)) = (
            u64::try_from(self.srtt.as_nanos()),
            u64::try_from(self.rttvar.as_nanos()),
            u64::try_from(r.as_nanos()),
        ) {
            if let Some(update) = Self::update_nanos(srtt, rttvar, r) {
                return update;
            }
        }
        let diff = self.srtt.abs_diff(r);
        Rtt {
            rttvar: self.rttvar / 4 * 3 + diff / 4,
            srtt: self.srtt / 8 * 7 + r / 8,
        }
    }

    /// [`Rtt::update`] in nanoseconds; `None` if a step overflows.
    fn update_nanos(srtt: u64, rttvar: u64, r: u64) -> Option<Self> {
        let diff = srtt.abs_diff(r);
        let rttvar = (rttvar / 4).checked_mul(3)?.checked_add(diff / 4)?;
        let srtt = (srtt / 8).checked_mul(7)?.checked_add(r / 8)?;
        Some(Rtt {
            srtt: Duration::from_nanos(srtt),
            rttvar: Duration::from_nanos(rttvar),
        })
    }

    /// The retransmission timeout this estimate gives (RFC 6298 §2.3, K = 4):
    /// SRTT + max(G, 4·RTTVAR), G being [`RTO_GRANULARITY`]; saturating, never overflowing.
    /// RFC 6298's 1 s minimum is for TCP's own retransmissions; a Connection Attempt Delay
    /// is bounded by the race's own limits instead (HE-5.8 to HE-5.12).
    ///
    /// It is also a QUIC path's probe timeout during the handshake (V3-6.5: the next
    /// attempt starts when "the second QUIC Initial" would be sent): RFC 9002 §6.2.1 gives
    /// PTO = smoothed_rtt + max(4·rttvar, kGranularity) + max_ack_delay, with max_ack_delay
    /// 0 in the Initial and Handshake packet number spaces, and the same SRTT/RTTVAR
    /// smoothing (RFC 9002 §5.3 is RFC 6298's, α = 1/8, β = 1/4), so one rule serves both
    /// protocols (kGranularity, 1 ms, is [`RTO_GRANULARITY`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use eyeballs_proto::Rtt;
    ///
    /// let ms = Duration::from_millis;
    /// let rtt = Rtt { srtt: ms(20), rttvar: ms(5) };
    /// assert_eq!(rtt.rto(), ms(40));
    /// ```
    pub fn rto(self) -> Duration {
        self.srtt
            .saturating_add(self.rttvar.saturating_mul(4).max(RTO_GRANULARITY))
    }
}

impl fmt::Display for Rtt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "srtt {:?} rttvar {:?}", self.srtt, self.rttvar)
    }
}

/// How a path failed, as history remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathFailure {
    /// An attempt failed as the driver reported ([`FailureKind`]).
    Failed(FailureKind),
    /// An attempt ran out of its per-attempt timeout.
    TimedOut,
    /// An attempt had no answer for the whole Connection Attempt Delay it was given, and an
    /// attempt started after it won: a black hole, or a path much slower than the winner's.
    Stalled,
}

impl PathFailure {
    /// A short lowercase name: `refused`, `unreachable`, `timeout`, `error`, `stalled`.
    pub fn as_str(self) -> &'static str {
        match self {
            PathFailure::Failed(kind) => AttemptEnd::Failed(kind).as_str(),
            PathFailure::TimedOut => AttemptEnd::TimedOut.as_str(),
            PathFailure::Stalled => "stalled",
        }
    }
}

impl fmt::Display for PathFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What history knows about one endpoint (an address, a port and a protocol: a QUIC path
/// and a TCP path to the same address are remembered apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PathFacts {
    /// Its RTT estimate, if attempts connected to it: the RTT sort rule (HE-4.3) and the
    /// derived Connection Attempt Delay (HE-5.8).
    pub rtt: Option<Rtt>,
    /// A recent failure the store still holds against it: the endpoint counts as unusable
    /// (RFC 6724 rule 1) and is tried after every usable endpoint.
    pub failed: Option<PathFailure>,
    /// It won the host's latest race (HE-4.4): this endpoint, protocol included.
    pub used: bool,
}

impl PathFacts {
    /// An RTT estimate.
    pub fn rtt(rtt: Rtt) -> Self {
        PathFacts {
            rtt: Some(rtt),
            ..PathFacts::default()
        }
    }

    /// A failure still held against it.
    pub fn failed(failure: PathFailure) -> Self {
        PathFacts {
            failed: Some(failure),
            ..PathFacts::default()
        }
    }

    /// With `used`: it won the host's latest race.
    pub fn used(mut self, used: bool) -> Self {
        self.used = used;
        self
    }

    /// Whether it says nothing.
    pub fn is_empty(&self) -> bool {
        *self == PathFacts::default()
    }
}

impl fmt::Display for PathFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(failure) = self.failed {
            write!(f, "{sep}recently {failure}")?;
            sep = ", ";
        }
        if let Some(rtt) = self.rtt {
            write!(f, "{sep}{rtt}")?;
            sep = ", ";
        }
        if self.used {
            write!(f, "{sep}used last")?;
        }
        Ok(())
    }
}

/// How many endpoints' facts a [`History`] holds without allocating.
const INLINE_PATHS: usize = 2;

/// What history knows for one race, by endpoint: the input of
/// [`Engine::with_history`](crate::Engine::with_history). Empty by default (a race with no
/// history sorts and waits exactly as RFC 8305 without it).
///
/// The engine never stores anything across races. A store (the `eyeballs` crate's
/// `HistoryStore`) keeps what earlier races taught, decides what still applies (expiry,
/// convergence, partitions, network changes), and hands the engine a [`History`] when a race
/// starts. The engine uses it in two places:
/// - **the sort**: an endpoint that recently failed counts as unusable (RFC 6724 rule 1: "if
///   DB is known to be unreachable"), so it goes after every usable one and no longer leads
///   its family; between rules 8 and 9, a lower smoothed RTT goes first (HE-4.3, V3-5.3.2);
///   after it, the endpoint that won the host's previous race (HE-4.4). Rule 1 holds across
///   the protocols too: where QUIC and TCP endpoints are merged (QUIC first, HEv3 §6), the
///   usable ones of both go before the unusable ones, so a QUIC endpoint whose UDP path
///   recently stalled no longer leads and TCP does (V3-6.5);
/// - **the delays**: the Connection Attempt Delay after an attempt whose endpoint has an RTT
///   estimate is that attempt's retransmission timeout (RFC 6298's RTO: when it would send its
///   second SYN; for QUIC the handshake's PTO, when it would send its second Initial, the
///   same formula: see [`Rtt::rto`]), bounded by
///   [`Config::clamp_derived_attempt_delay`](crate::Config::clamp_derived_attempt_delay)
///   (HE-5.8, V3-6.5).
///
/// Facts are looked up by [`Endpoint`]: address, port and protocol. A QUIC endpoint and the
/// TCP endpoint of the same address and port are separate paths (UDP blocked by a firewall
/// says nothing about TCP, and a TCP RTT is no QUIC handshake time), so facts about one never
/// apply to the other. [`History::insert`], [`History::with`] and [`History::get`] take a
/// socket address for its TCP endpoint; [`History::insert_endpoint`],
/// [`History::with_endpoint`] and [`History::get_endpoint`] take any endpoint.
///
/// A store gives the facts of the endpoints the race may meet (the host's endpoints it has
/// seen, or the caller's addresses, over both protocols), a few dozen at most.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    paths: SmallVec<[(Endpoint, PathFacts); INLINE_PATHS]>,
}

impl History {
    /// No history.
    pub fn new() -> Self {
        History::default()
    }

    /// Adds (or replaces) what is known about the TCP endpoint `addr` (as
    /// [`History::insert_endpoint`] with [`Endpoint::tcp`]).
    pub fn insert(&mut self, addr: SocketAddr, facts: PathFacts) {
        self.insert_endpoint(Endpoint::tcp(addr), facts);
    }

    /// Adds (or replaces) what is known about `endpoint`; facts that say nothing are not
    /// kept.
    pub fn insert_endpoint(&mut self, endpoint: Endpoint, facts: PathFacts) {
        match self.paths.iter().position(|(e, _)| *e == endpoint) {
            Some(i) if facts.is_empty() => {
                self.paths.remove(i);
            }
            Some(i) => {
                if let Some(slot) = self.paths.get_mut(i) {
                    slot.1 = facts;
                }
            }
            None if !facts.is_empty() => self.paths.push((endpoint, facts)),
            None => {}
        }
    }

    /// With `facts` about the TCP endpoint `addr` (as [`History::insert`]).
    pub fn with(mut self, addr: SocketAddr, facts: PathFacts) -> Self {
        self.insert(addr, facts);
        self
    }

    /// With `facts` about `endpoint` (as [`History::insert_endpoint`]).
    ///
    /// ```
    /// use eyeballs_proto::{Endpoint, History, PathFacts, PathFailure, Protocol};
    ///
    /// let addr = "192.0.2.1:443".parse().unwrap();
    /// let quic = Endpoint { addr, protocol: Protocol::Quic };
    /// let history = History::new().with_endpoint(quic, PathFacts::failed(PathFailure::Stalled));
    /// assert!(history.get_endpoint(quic).is_some());
    /// assert!(history.get(addr).is_none(), "the TCP endpoint is another path");
    /// ```
    pub fn with_endpoint(mut self, endpoint: Endpoint, facts: PathFacts) -> Self {
        self.insert_endpoint(endpoint, facts);
        self
    }

    /// What is known about the TCP endpoint `addr`.
    pub fn get(&self, addr: SocketAddr) -> Option<&PathFacts> {
        self.get_endpoint(Endpoint::tcp(addr))
    }

    /// What is known about `endpoint`.
    pub fn get_endpoint(&self, endpoint: Endpoint) -> Option<&PathFacts> {
        self.paths
            .iter()
            .find(|(e, _)| *e == endpoint)
            .map(|(_, f)| f)
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Every endpoint with what is known about it.
    pub fn iter(&self) -> impl Iterator<Item = (Endpoint, &PathFacts)> + '_ {
        self.paths.iter().map(|(e, f)| (*e, f))
    }
}

/// TCP endpoints by socket address (as [`History::insert`]).
impl FromIterator<(SocketAddr, PathFacts)> for History {
    fn from_iter<I: IntoIterator<Item = (SocketAddr, PathFacts)>>(iter: I) -> Self {
        let mut history = History::new();
        for (addr, facts) in iter {
            history.insert(addr, facts);
        }
        history
    }
}

/// Endpoints of any protocol (as [`History::insert_endpoint`]).
impl FromIterator<(Endpoint, PathFacts)> for History {
    fn from_iter<I: IntoIterator<Item = (Endpoint, PathFacts)>>(iter: I) -> Self {
        let mut history = History::new();
        for (endpoint, facts) in iter {
            history.insert_endpoint(endpoint, facts);
        }
        history
    }
}

/// One thing a finished race teaches about an endpoint ([`Report::lessons`]): TCP and QUIC
/// endpoints alike, each about its own path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lesson {
    /// The attempt to `endpoint` won after `rtt`: its handshake time as the race saw it, from
    /// its start to the success the driver reported (an RTT sample, RFC 6298; for QUIC, the
    /// QUIC handshake's, RFC 9002 §5).
    Connected {
        /// The endpoint, protocol included.
        endpoint: Endpoint,
        /// The handshake time.
        rtt: Duration,
    },
    /// An attempt to `endpoint` failed, timed out, or stalled.
    Failed {
        /// The endpoint, protocol included.
        endpoint: Endpoint,
        /// How.
        failure: PathFailure,
    },
}

impl Lesson {
    /// The endpoint it is about.
    pub fn endpoint(&self) -> Endpoint {
        match *self {
            Lesson::Connected { endpoint, .. } | Lesson::Failed { endpoint, .. } => endpoint,
        }
    }
}

impl Report {
    /// What this race teaches a history store, attempt by attempt: the winner's handshake time
    /// (an RTT sample); each failure and timeout; each attempt still unanswered when a later
    /// attempt won, after at least the Connection Attempt Delay it was given
    /// ([`AttemptRecord::attempt_delay`](crate::AttemptRecord::attempt_delay)):
    /// [`PathFailure::Stalled`]. An attempt aborted sooner, or by a race that failed or was
    /// cancelled, teaches nothing (nothing says its path would not have answered).
    pub fn lessons(&self) -> impl Iterator<Item = Lesson> + '_ {
        let winner = match self.outcome {
            Some(Outcome::Connected { id, .. }) => self.attempts.get(id.index()),
            _ => None,
        };
        self.attempts.iter().filter_map(move |a| {
            // Each lesson names its endpoint with its protocol: a QUIC attempt over blocked
            // UDP teaches nothing about TCP to the same address, and the other way round.
            let endpoint = a.endpoint;
            let ended = a.ended?;
            match a.end? {
                AttemptEnd::Connected => Some(Lesson::Connected {
                    endpoint,
                    rtt: ended.saturating_duration_since(a.started),
                }),
                AttemptEnd::Failed(kind) => Some(Lesson::Failed {
                    endpoint,
                    failure: PathFailure::Failed(kind),
                }),
                AttemptEnd::TimedOut => Some(Lesson::Failed {
                    endpoint,
                    failure: PathFailure::TimedOut,
                }),
                AttemptEnd::Aborted => {
                    let winner = winner?;
                    let stalled = winner.started > a.started
                        && ended.saturating_duration_since(a.started) >= a.attempt_delay;
                    stalled.then_some(Lesson::Failed {
                        endpoint,
                        failure: PathFailure::Stalled,
                    })
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// RFC 6298 §2.3 as `Duration` arithmetic computes it: the reference for the fast path.
    fn by_durations(old: Rtt, r: Duration) -> Rtt {
        let diff = old.srtt.abs_diff(r);
        Rtt {
            rttvar: old.rttvar / 4 * 3 + diff / 4,
            srtt: old.srtt / 8 * 7 + r / 8,
        }
    }

    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            (0u64..10_000_000_000).prop_map(Duration::from_nanos),
            any::<u64>().prop_map(Duration::from_nanos),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s / 4, n)),
        ]
    }

    proptest! {
        /// The update in nanoseconds gives exactly what `Duration` arithmetic gives, for any
        /// durations (the ones too long for 64 bits of nanoseconds take the slow path).
        #[test]
        fn update_matches_duration_arithmetic(
            srtt in duration(),
            rttvar in duration(),
            r in duration(),
        ) {
            let old = Rtt { srtt, rttvar };
            prop_assert_eq!(old.update(r), by_durations(old, r));
        }
    }
}
