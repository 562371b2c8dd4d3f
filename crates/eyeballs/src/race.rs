//! The tokio driver: one loop that feeds the engine and performs its actions.
//!
//! Every lookup and every attempt is a future owned by this loop (no spawned tasks), so
//! dropping the connect future drops them all and closes every socket (structured
//! concurrency). One timer, reset only when the engine's deadline moves; the engine checks
//! deadlines against the clock itself, so an early or late wake-up is harmless.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use eyeballs_proto::{Action, AttemptId, Destination, DnsResult, Engine, Outcome, QueryId};
use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use crate::error::Error;
use crate::outcomes::Outcomes;
use crate::report::Report;
use crate::resolver::Resolver;
use crate::socket::SocketOptions;

/// A boxed future, as the driver holds lookups and attempts.
pub(crate) type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// A lookup's result, tagged with its query; `None` once aborted.
type LookupDone = Option<(QueryId, DnsResult)>;
/// An attempt's result, tagged with its attempt; `None` once aborted.
type AttemptDone<T> = Option<(AttemptId, io::Result<T>)>;

/// Runs the race `engine` describes to its end; `attempt` makes the future of each attempt
/// (a TCP connect, or anything the caller counts as connected).
pub(crate) async fn run<T, A>(
    engine: Engine,
    resolver: Arc<dyn Resolver>,
    socket: Arc<SocketOptions>,
    attempt: A,
    target: String,
) -> Result<(T, Report), Error>
where
    T: Send + 'static,
    A: FnMut(SocketAddr) -> Pending<io::Result<T>>,
{
    Driver {
        engine,
        resolver,
        socket,
        attempt,
        target,
        lookups: FuturesUnordered::new(),
        attempts: FuturesUnordered::new(),
        handles: HashMap::new(),
        outcomes: Outcomes::default(),
    }
    .run()
    .await
}

/// A lookup's or an attempt's handle, to stop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Task {
    Query(QueryId),
    Attempt(AttemptId),
}

struct Driver<T, A> {
    engine: Engine,
    resolver: Arc<dyn Resolver>,
    /// For source-address probes.
    socket: Arc<SocketOptions>,
    attempt: A,
    target: String,
    lookups: FuturesUnordered<Pending<LookupDone>>,
    attempts: FuturesUnordered<Pending<AttemptDone<T>>>,
    handles: HashMap<Task, AbortHandle>,
    outcomes: Outcomes<T>,
}

impl<T, A> Driver<T, A>
where
    T: Send + 'static,
    A: FnMut(SocketAddr) -> Pending<io::Result<T>>,
{
    async fn run(mut self) -> Result<(T, Report), Error> {
        let sleep = tokio::time::sleep_until(Instant::now());
        tokio::pin!(sleep);
        let mut deadline = None;
        loop {
            if let Some(outcome) = self.perform_actions() {
                return self.finish(outcome);
            }
            let next = self.engine.poll_timeout();
            if next != deadline {
                deadline = next;
                if let Some(at) = next {
                    sleep.as_mut().reset(Instant::from_std(at));
                }
            }
            tokio::select! {
                Some(done) = self.lookups.next(), if !self.lookups.is_empty() => {
                    if let Some((id, result)) = done {
                        self.on_answer(id, result);
                    }
                }
                Some(done) = self.attempts.next(), if !self.attempts.is_empty() => {
                    if let Some((id, result)) = done {
                        self.on_attempt(id, result);
                    }
                }
                () = &mut sleep, if deadline.is_some() => {
                    self.engine.handle_timeout(now());
                }
                else => {
                    // Nothing in flight and no deadline: only possible if the engine waits
                    // for an input that cannot come. End the race rather than hang.
                    self.engine.cancel(now());
                }
            }
        }
    }

    /// Performs every queued action; returns the outcome once the engine is done.
    fn perform_actions(&mut self) -> Option<Outcome> {
        let mut outcome = None;
        while let Some(action) = self.engine.poll_action() {
            match action {
                Action::Resolve { id, record } => {
                    let host = self.engine.host().unwrap_or_default().to_owned();
                    tracing::debug!(target: "eyeballs", query = %id, %record, %host, "dns query");
                    let lookup = self.resolver.lookup(&host, record);
                    let fut = self.abortable(Task::Query(id), lookup);
                    self.lookups
                        .push(Box::pin(async move { fut.await.ok().map(|r| (id, r)) }));
                }
                Action::CancelResolve { id } => self.stop(Task::Query(id)),
                Action::Connect { id, endpoint } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, addr = %endpoint.addr, "attempt started");
                    let connect = (self.attempt)(endpoint.addr);
                    let fut = self.abortable(Task::Attempt(id), connect);
                    self.attempts
                        .push(Box::pin(async move { fut.await.ok().map(|r| (id, r)) }));
                }
                Action::Abort { id } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, "attempt aborted");
                    self.stop(Task::Attempt(id));
                    self.outcomes.discard(id);
                }
                Action::Close { id } => {
                    tracing::debug!(target: "eyeballs", attempt = %id, "late connection closed");
                    self.outcomes.discard(id);
                }
                Action::Done(o) => outcome = Some(o),
                _ => {}
            }
        }
        outcome
    }

    fn abortable<F: Future>(&mut self, task: Task, fut: F) -> Abortable<F> {
        let (handle, registration) = AbortHandle::new_pair();
        self.handles.insert(task, handle);
        Abortable::new(fut, registration)
    }

    /// Stops a lookup or an attempt: it completes as aborted at its next poll and is dropped,
    /// which closes its socket.
    fn stop(&mut self, task: Task) {
        if let Some(handle) = self.handles.remove(&task) {
            handle.abort();
        }
    }

    fn on_answer(&mut self, id: QueryId, result: DnsResult) {
        self.handles.remove(&Task::Query(id));
        let result = match result {
            DnsResult::Addresses(dests) => DnsResult::Addresses(
                dests
                    .into_iter()
                    .map(|d| Destination::with_source(d.ip, self.source_of(d.ip)))
                    .collect(),
            ),
            other => other,
        };
        tracing::debug!(target: "eyeballs", query = %id, outcome = %result.kind(), "dns answer");
        // The id came from the engine's own action.
        let _ = self.engine.handle_dns(now(), id, result);
    }

    fn source_of(&self, ip: IpAddr) -> eyeballs_proto::SourceAddr {
        self.socket.probe_source(ip)
    }

    fn on_attempt(&mut self, id: AttemptId, result: io::Result<T>) {
        self.handles.remove(&Task::Attempt(id));
        let input = self.outcomes.record(id, result);
        // The id came from the engine's own action.
        let _ = self.engine.handle_attempt(now(), id, input);
    }

    fn finish(self, outcome: Outcome) -> Result<(T, Report), Error> {
        // Everything still in flight is dropped with `self`: sockets close.
        let Driver {
            engine,
            outcomes,
            target,
            ..
        } = self;
        outcomes.finish(outcome, engine.report(), target)
    }
}

/// The engine's clock: tokio's, so paused-time tests and the engine agree.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}
