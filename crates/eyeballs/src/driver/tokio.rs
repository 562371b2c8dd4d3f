//! The tokio driver: how a race waits on a tokio runtime.
//!
//! Every lookup and every attempt is a future owned by the race's own future (no spawned
//! tasks), so dropping the connect future drops them all and closes every socket (structured
//! concurrency). One sleep, made only once the engine has a deadline and reset only when the
//! deadline moves; expiry is decided by the clock in [`Core::expire`](super::Core::expire).

use std::future::{poll_fn, Future};
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use eyeballs_proto::{AttemptId, DnsResult, QueryId, RecordType, Target};
use futures_util::FutureExt;
use tokio::time::{Instant, Sleep};

use super::few::Few;
use super::{resolver_panicked, AttemptKind, Io, Plan, Progress};
use crate::connector::{Connection, Connector, Race};
use crate::error::Error;
use crate::label::Label;
use crate::resolver::Resolver;

/// A boxed future, as the driver holds lookups and attempts.
pub(crate) type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs a race of `connector` to `target` to its end; `attempt` makes the future of each
/// attempt (a TCP connect, or anything the caller counts as connected), of `kind`: QUIC ones
/// included, and progress reported, if it says so.
///
/// The race is begun here rather than by the caller, so that its core is made in this
/// future's own state instead of being moved into it (the race's future is the one future
/// between the caller and the attempts).
pub(crate) async fn run<T, A>(
    connector: &Connector,
    target: (Target, Label),
    kind: AttemptKind,
    attempt: A,
) -> Result<Connection<T>, Error>
where
    A: FnMut(Plan<'_>, Progress) -> Pending<io::Result<T>>,
{
    // The cache's future only where there is a cache: a race without one builds none.
    let network = match connector.network_source() {
        Some((cache, resolver)) => Some(cache.network(resolver).await),
        None => None,
    };
    let Race { mut core, resolver } =
        connector.begin(target, network, Instant::now().into_std())?;
    let mut io = TokioIo {
        resolver: &**resolver,
        quic: kind == AttemptKind::TlsAndQuic,
        progress: (kind != AttemptKind::Tcp).then(Arc::default),
        ended: None,
        attempt,
        lookups: Few::default(),
        attempts: Few::default(),
    };
    let mut timer = Timer {
        sleep: std::pin::pin!(None),
        armed: false,
    };
    loop {
        if let Some(outcome) = core.drive(&mut io) {
            // In-flight futures go with `io`: their sockets close.
            return core.finish(outcome);
        }
        if let Some(deadline) = core.timer_moved() {
            timer.set(deadline);
        }
        match poll_fn(|cx| io.poll_event(cx, &mut timer)).await {
            Event::Answer(id, result) => core.answer(io.now(), id, result),
            Event::Attempt(id, result) => core.attempt_ended(io.now(), id, result),
            Event::Progress(id) => core.attempt_progressed(io.now(), id),
            Event::Timer => {}
            Event::Idle => core.stalled(io.now()),
        }
        core.expire(io.now());
    }
}

/// What woke the race.
enum Event<T> {
    Answer(QueryId, DnsResult),
    Attempt(AttemptId, io::Result<T>),
    /// An attempt's transport handshake is done, its security handshake goes on.
    Progress(AttemptId),
    /// The sleep ran out (the core checks the clock).
    Timer,
    /// Nothing in flight and no deadline.
    Idle,
}

/// The race's single sleep: made the first time a deadline exists, then reset in place. It
/// is pinned in the race's own future (no allocation of its own).
struct Timer<'a> {
    sleep: Pin<&'a mut Option<Sleep>>,
    armed: bool,
}

impl Timer<'_> {
    fn set(&mut self, deadline: Option<std::time::Instant>) {
        let Some(at) = deadline else {
            self.armed = false;
            return;
        };
        let at = Instant::from_std(at);
        match self.sleep.as_mut().as_pin_mut() {
            Some(sleep) => sleep.reset(at),
            None => self.sleep.set(Some(tokio::time::sleep_until(at))),
        }
        self.armed = true;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.sleep.as_mut().as_pin_mut() {
            Some(sleep) if self.armed => {
                let fired = sleep.poll(cx);
                if fired.is_ready() {
                    self.armed = false;
                }
                fired
            }
            _ => Poll::Pending,
        }
    }
}

/// The lookups and attempts in flight, by id (removed once done or stopped: dropping the
/// future stops it).
struct TokioIo<'c, T, A> {
    resolver: &'c dyn Resolver,
    /// Whether `attempt` makes QUIC attempts.
    quic: bool,
    /// The attempts whose transport handshakes are done, as they reported while polled
    /// (`None`: attempts of a kind that reports nothing).
    progress: Option<Arc<Mutex<Vec<AttemptId>>>>,
    /// An attempt that ended in the same poll as it reported progress: told after it.
    ended: Option<(AttemptId, io::Result<T>)>,
    attempt: A,
    lookups: Few<QueryId, Pending<DnsResult>>,
    attempts: Few<AttemptId, Pending<io::Result<T>>>,
}

impl<T, A> TokioIo<'_, T, A> {
    /// The next lookup answer, attempt end, or timer expiry; `Idle` if none can come.
    fn poll_event(&mut self, cx: &mut Context<'_>, timer: &mut Timer<'_>) -> Poll<Event<T>> {
        let mut answer = None;
        for (id, lookup) in self.lookups.iter_mut() {
            if let Poll::Ready(result) = lookup.as_mut().poll(cx) {
                answer = Some((id, result));
                break;
            }
        }
        if let Some((id, result)) = answer {
            self.lookups.remove(id);
            return Poll::Ready(Event::Answer(id, result));
        }
        if let Some((id, result)) = self.ended.take() {
            return Poll::Ready(Event::Attempt(id, result));
        }
        let mut ended = None;
        for (id, attempt) in self.attempts.iter_mut() {
            if let Poll::Ready(result) = attempt.as_mut().poll(cx) {
                ended = Some((id, result));
                break;
            }
        }
        if let Some((id, _)) = ended {
            self.attempts.remove(id);
        }
        // Reported by the attempts just polled (no waker is needed), and told before an end
        // of the same poll: a TLS handshake can finish in the poll its TCP one did.
        let progressed = self.progress.as_ref().and_then(|progress| {
            let mut reported = progress.lock().unwrap_or_else(PoisonError::into_inner);
            (!reported.is_empty()).then(|| reported.remove(0))
        });
        if let Some(id) = progressed {
            self.ended = ended;
            return Poll::Ready(Event::Progress(id));
        }
        if let Some((id, result)) = ended {
            return Poll::Ready(Event::Attempt(id, result));
        }
        if timer.poll(cx).is_ready() {
            return Poll::Ready(Event::Timer);
        }
        if !timer.armed && self.lookups.is_empty() && self.attempts.is_empty() {
            return Poll::Ready(Event::Idle);
        }
        Poll::Pending
    }
}

impl<T, A> Io<T> for TokioIo<'_, T, A>
where
    A: FnMut(Plan<'_>, Progress) -> Pending<io::Result<T>>,
{
    fn speaks_quic(&self) -> bool {
        self.quic
    }

    fn now(&self) -> std::time::Instant {
        // tokio's clock, so that paused-time tests and the engine agree.
        Instant::now().into_std()
    }

    fn start_lookup(&mut self, id: QueryId, host: &str, record: RecordType) -> Option<DnsResult> {
        let resolver = self.resolver;
        let lookup = match panic::catch_unwind(AssertUnwindSafe(|| resolver.lookup(host, record))) {
            Ok(lookup) => lookup,
            Err(_) => return Some(resolver_panicked(id)),
        };
        let guarded = AssertUnwindSafe(lookup)
            .catch_unwind()
            .map(move |r| r.unwrap_or_else(|_| resolver_panicked(id)));
        self.lookups.insert(id, Box::pin(guarded));
        None
    }

    fn stop_lookup(&mut self, id: QueryId) {
        self.lookups.remove(id);
    }

    fn start_attempt(
        &mut self,
        id: AttemptId,
        plan: Plan<'_>,
        _alone: impl FnOnce() -> bool,
    ) -> Option<io::Result<T>> {
        let progress = Progress::new(id, self.progress.clone());
        let attempt = (self.attempt)(plan, progress);
        self.attempts.insert(id, attempt);
        None
    }

    fn stop_attempt(&mut self, id: AttemptId) {
        self.attempts.remove(id);
    }
}
