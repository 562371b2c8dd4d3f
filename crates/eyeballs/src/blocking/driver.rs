//! The blocking driver: how a race waits on the caller's thread.
//!
//! The loop of [`crate::driver`]: the core performs the engine's actions, then the thread
//! sleeps in one poll(2) over the attempts in flight and the bells of threads working for the
//! race (DNS, generic attempts) until the engine's deadline, then hands over what came. Expiry is decided by the clock in the core.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use eyeballs_proto::{AttemptId, DnsResult, Endpoint, QueryId, RecordType};
use rustix::event::{PollFd, PollFlags, Timespec};
use smallvec::SmallVec;
use socket2::Socket;

use super::attempt::{self, Started};
use super::interrupt::{Interrupt, Interruption};
use super::lookup::Lookups;
use super::threads::Threads;
use crate::connector::{Connection, Race};
use crate::driver::{Io, Plan};
use crate::error::Error;
use crate::socket::SocketOptions;

/// Runs `race`, begun at `started`, to its end, on this thread, with `attempts` making its
/// attempts, asking `interrupt` (if any) whether to stop.
pub(super) fn run<T, K: Attempts<T>>(
    race: Race<'_, T>,
    socket: &SocketOptions,
    attempts: K,
    interrupt: Option<Interrupt>,
    started: Instant,
) -> Result<Connection<T>, Error> {
    let Race { mut core, resolver } = race;
    let mut io = BlockingIo {
        socket,
        lookups: Lookups::new(resolver),
        attempts,
        ended: Ended::new(),
        answers: Vec::new(),
        interrupt,
        // The check is first due an interval after the race began.
        last_check: started,
    };
    // Every way out of the loop is a `break` with the outcome, so that the core and the I/O
    // are finished where they are (no move of either into a function of its own).
    let outcome = 'race: loop {
        if let Some(outcome) = core.drive(&mut io) {
            break 'race outcome;
        }
        match io.wait(core.timer()) {
            Ok(()) => {}
            Err(Wait::Idle) => core.stalled(Instant::now()),
            Err(Wait::Interrupted(why)) => core.interrupted(Instant::now(), why),
            Err(Wait::Broken(e)) => {
                // The poller itself is broken; waiting again would spin.
                tracing::error!(target: "eyeballs", error = %e, "poll failed; race cancelled");
                core.stalled(Instant::now());
            }
        }
        // One input at a time, each followed by what it makes the engine do, as the tokio
        // driver does: an answer that starts an attempt starts it before the next answer.
        let (answers, ended) = (
            std::mem::take(&mut io.answers),
            std::mem::take(&mut io.ended),
        );
        for (id, result) in answers {
            core.answer(Instant::now(), id, result);
            if let Some(outcome) = core.drive(&mut io) {
                break 'race outcome;
            }
        }
        for (id, result) in ended {
            core.attempt_ended(Instant::now(), id, result);
            if let Some(outcome) = core.drive(&mut io) {
                break 'race outcome;
            }
        }
        core.expire(Instant::now());
    };
    // Attempts still in flight (the engine aborted them all already) and the bells close with
    // `io`; threads still running find nobody to tell.
    drop(io);
    core.finish(outcome)
}

/// How a blocking race makes its attempts: TCP sockets watched by poll(2) ([`Sockets`]), or
/// the caller's function on threads ([`Threads`]).
pub(super) trait Attempts<T> {
    /// Starts attempt `id` (see [`Io::start_attempt`]).
    fn start(
        &mut self,
        options: &SocketOptions,
        id: AttemptId,
        endpoint: Endpoint,
        alone: impl FnOnce() -> bool,
    ) -> Option<io::Result<T>>;
    /// Stops attempt `id`, closing what it holds.
    fn stop(&mut self, id: AttemptId);
    /// Whether no attempt is in flight.
    fn is_idle(&self) -> bool;
    /// Adds what poll(2) must watch for the attempts in flight.
    fn watch<'a>(&'a self, fds: &mut Fds<'a>);
    /// After poll(2), with the `revents` of what [`Attempts::watch`] added, in order: the
    /// attempts that ended.
    fn collect(&mut self, revents: &[PollFlags], ended: &mut Ended<T>);
}

/// What one poll(2) watches: the attempts in flight and the bell, inline for a few (a race
/// rarely has more than two attempts in flight at once), so that a wait allocates nothing.
pub(super) type Fds<'a> = SmallVec<[PollFd<'a>; 4]>;

/// The attempts one wait saw end, with their results: inline for two.
pub(super) type Ended<T> = SmallVec<[(AttemptId, io::Result<T>); 2]>;

/// TCP attempts: non-blocking sockets whose handshake is under way, in start order; inline for
/// two (a two-address race's attempts allocate nothing).
#[derive(Debug, Default)]
pub(super) struct Sockets(SmallVec<[(AttemptId, Socket); 2]>);

impl Attempts<TcpStream> for Sockets {
    fn start(
        &mut self,
        options: &SocketOptions,
        id: AttemptId,
        endpoint: Endpoint,
        alone: impl FnOnce() -> bool,
    ) -> Option<io::Result<TcpStream>> {
        match attempt::start(options, endpoint.addr, alone()) {
            Started::InFlight(socket) => {
                self.0.push((id, socket));
                None
            }
            Started::Ended(result) => Some(result),
        }
    }

    fn stop(&mut self, id: AttemptId) {
        // Dropping the socket closes it.
        self.0.retain(|(attempt, _)| *attempt != id);
    }

    fn is_idle(&self) -> bool {
        self.0.is_empty()
    }

    fn watch<'a>(&'a self, fds: &mut Fds<'a>) {
        fds.extend(
            self.0
                .iter()
                .map(|(_, socket)| PollFd::new(socket, attempt::WATCH)),
        );
    }

    fn collect(&mut self, revents: &[PollFlags], ended: &mut Ended<TcpStream>) {
        let first = ended.len();
        // Back to front, so that removing one keeps the indices of those before it.
        for i in (0..self.0.len()).rev() {
            let Some(result) = revents
                .get(i)
                .and_then(|&r| attempt::outcome(&self.0[i].1, r))
            else {
                continue;
            };
            let (id, socket) = self.0.remove(i);
            ended.push((id, result.and_then(|()| attempt::into_blocking(socket))));
        }
        // Handed over in start order.
        ended[first..].reverse();
    }
}

impl<T, F> Attempts<T> for Threads<T, F>
where
    T: Send + 'static,
    F: Fn(SocketAddr) -> io::Result<T> + Send + Sync + 'static,
{
    fn start(
        &mut self,
        _options: &SocketOptions,
        id: AttemptId,
        endpoint: Endpoint,
        _alone: impl FnOnce() -> bool,
    ) -> Option<io::Result<T>> {
        Threads::start(self, id, endpoint.addr).err().map(Err)
    }

    fn stop(&mut self, id: AttemptId) {
        Threads::stop(self, id);
    }

    fn is_idle(&self) -> bool {
        self.bell().is_none()
    }

    fn watch<'a>(&'a self, fds: &mut Fds<'a>) {
        if let Some(bell) = self.bell() {
            fds.push(PollFd::new(bell, PollFlags::IN));
        }
    }

    fn collect(&mut self, _revents: &[PollFlags], ended: &mut Ended<T>) {
        self.drain(ended);
    }
}

/// Why a wait returned without anything to hand over.
enum Wait {
    /// Nothing in flight and no deadline: nothing can come.
    Idle,
    /// poll(2) failed.
    Broken(io::Error),
    /// The caller's interruption check said to stop.
    Interrupted(Interruption),
}

/// The race's lookups and attempts; what a wait found is kept until the loop hands it to the
/// core.
struct BlockingIo<'c, T, K> {
    socket: &'c SocketOptions,
    lookups: Lookups<'c>,
    attempts: K,
    ended: Ended<T>,
    answers: Vec<(QueryId, DnsResult)>,
    /// The caller's interruption check, if any, and when it last ran.
    interrupt: Option<Interrupt>,
    last_check: Instant,
}

/// The longest single poll(2): a longer deadline is waited for in several polls (and one
/// near `Duration::MAX` never overflows a `timespec`).
const MAX_POLL: Duration = Duration::from_secs(24 * 60 * 60);

impl<T, K: Attempts<T>> BlockingIo<'_, T, K> {
    /// Waits for an attempt to end, a DNS answer, or `deadline`; with an interruption check,
    /// no longer than until the check is next due, and then runs it.
    fn wait(&mut self, deadline: Option<Instant>) -> Result<(), Wait> {
        let bell = self.lookups.bell();
        if deadline.is_none() && bell.is_none() && self.attempts.is_idle() {
            return Err(Wait::Idle);
        }
        let deadline = match &self.interrupt {
            Some(interrupt) => interrupt.wake_by(self.last_check, deadline),
            None => deadline,
        };
        let mut fds = Fds::new();
        self.attempts.watch(&mut fds);
        let watched = fds.len();
        if let Some(bell) = bell {
            fds.push(PollFd::new(bell, PollFlags::IN));
        }
        let timeout = deadline.map(|at| {
            let left = at.saturating_duration_since(Instant::now()).min(MAX_POLL);
            Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            }
        });
        let signalled = match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {
                let revents: SmallVec<[PollFlags; 4]> =
                    fds[..watched].iter().map(PollFd::revents).collect();
                drop(fds);
                self.attempts.collect(&revents, &mut self.ended);
                let answers = &mut self.answers;
                self.lookups.drain(|id, result| answers.push((id, result)));
                false
            }
            Err(rustix::io::Errno::INTR) => true,
            Err(e) => return Err(Wait::Broken(e.into())),
        };
        if let Some(interrupt) = &self.interrupt {
            let now = Instant::now();
            if interrupt.is_due(self.last_check, now, signalled) {
                self.last_check = now;
                interrupt.check().map_err(Wait::Interrupted)?;
            }
        }
        Ok(())
    }
}

impl<T, K: Attempts<T>> Io<T> for BlockingIo<'_, T, K> {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn start_lookup(&mut self, id: QueryId, host: &str, record: RecordType) -> Option<DnsResult> {
        match self.lookups.start(id, host, record) {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(target: "eyeballs", query = %id, error = %e, "cannot start a dns query");
                Some(DnsResult::Error)
            }
        }
    }

    fn stop_lookup(&mut self, id: QueryId) {
        self.lookups.cancel(id);
    }

    fn start_attempt(
        &mut self,
        id: AttemptId,
        plan: Plan<'_>,
        alone: impl FnOnce() -> bool,
    ) -> Option<io::Result<T>> {
        // A blocking connect cannot be woken for the interruption check.
        let checked = self.interrupt.is_some();
        self.attempts
            .start(self.socket, id, plan.endpoint, || !checked && alone())
    }

    fn stop_attempt(&mut self, id: AttemptId) {
        self.attempts.stop(id);
    }
}
