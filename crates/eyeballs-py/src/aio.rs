//! Races for asyncio: run on the tokio driver ([`eyeballs::Connector`]) on one runtime
//! thread per process, each completing an asyncio future through a callback.
//!
//! # The runtime thread
//!
//! The first race of a process starts a thread running a current-thread tokio runtime (I/O
//! and timers enabled); every later race is spawned onto it. After `fork` the child has the
//! runtime's handle but not its thread: the first race in the child (a new process id) makes
//! a new runtime thread, and the parent's runtime is left alone (dropping it would wait for
//! a thread that does not exist in the child). The event loop's thread never blocks on a
//! race: [`start`] returns a [`Pending`] at once.
//!
//! # Completion
//!
//! The runtime thread never runs Python and never takes the GIL: a thread that holds or
//! waits for the GIL when the interpreter finalizes aborts the process ("Fatal Python
//! error: PyGILState_Release … finalizing", seen when a race delivered its outcome through
//! a Python callback as the program exited). Instead, when a race ends, its task stores
//! the outcome (plain Rust values: the winner's socket, already out of the reactor, or the
//! error) in the [`Pending`] and closes its end of a socket pair, which makes
//! [`Pending::fileno`] readable (end of file). The event loop watches that descriptor
//! (`loop.add_reader`) and takes the outcome with [`Pending::outcome`], on its own thread
//! with its own GIL:
//! - `("ok", fd, family, report)`: the winner's descriptor, connected and **non-blocking**,
//!   owned by the caller from then on; `family` is `AF_INET6` or `AF_INET`;
//! - `("error", exception)`: the exception [`errors::race_error`] maps the failure to,
//!   with the race's report as `.report`;
//! - `("cancelled",)`: [`Pending::cancel`] stopped the race first.
//!
//! An outcome nobody takes (the loop closed, the awaiting task gone) is dropped with its
//! `Pending`: a winner's socket is closed then, by Rust, never leaked. A race in flight
//! holds two descriptors besides its sockets (a Unix socket pair: the task's end, closed
//! when the race ends, and the event loop's, closed by [`Pending::close`] or the drop).
//!
//! # Cancellation
//!
//! [`Pending::cancel`] tells the race's task to stop and waits (GIL released, at most
//! [`CANCEL_WAIT`]) until the task has dropped the race future, which aborts every attempt
//! and closes every socket before it returns; an outcome stored but not taken (a winner
//! that beat the cancellation) is dropped too: when `cancel` returns, no socket of the race
//! is open. Dropping a `Pending` without cancelling lets the race run to completion, its
//! outcome then dropped.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use eyeballs::{Connection, Connector, FamilyPreference};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::errors;
use crate::report::Report;

/// The longest [`Pending::cancel`] waits for the race's task to drop the race: far longer
/// than a drop takes (microseconds), so reached only if the runtime thread is stuck.
pub(crate) const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// The runtime of this process (module docs).
struct Runtime {
    /// The process that made it.
    pid: u32,
    /// Where races are spawned.
    handle: Handle,
}

/// The runtime's handle, made at the first call of this process (module docs).
///
/// # Errors
/// `RuntimeError` if the thread or the runtime cannot be made.
fn runtime() -> PyResult<Handle> {
    static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
    let mut current = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if let Some(rt) = current.as_ref().filter(|rt| rt.pid == pid) {
        return Ok(rt.handle.clone());
    }
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("eyeballs-asyncio".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => {
                    // The receiver waits for this message: the send cannot fail.
                    let _ = tx.send(Ok(rt.handle().clone()));
                    // Drives every race spawned onto the handle, for the process's life.
                    rt.block_on(std::future::pending::<()>());
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the runtime thread: {e}")))?;
    let handle = rx
        .recv()
        .map_err(|_| PyRuntimeError::new_err("the runtime thread ended before it started"))?
        .map_err(|e| PyRuntimeError::new_err(format!("cannot build the runtime: {e}")))?;
    // After a fork, the parent's runtime (a handle only: its thread is not in this
    // process) is replaced, never shut down.
    *current = Some(Runtime {
        pid,
        handle: handle.clone(),
    });
    Ok(handle)
}

/// What a race ended with, as its task stores it: Rust values only, so that the runtime
/// thread never needs the GIL (module docs).
#[derive(Debug)]
enum Outcome {
    /// The winner, out of the reactor and non-blocking, and the report.
    Won(std::net::TcpStream, eyeballs::Report),
    /// Every attempt failed, or the race could not start.
    Failed(eyeballs::Error),
    /// [`Pending::cancel`] stopped the race first.
    Cancelled,
    /// The race was won, but its socket could not be taken out of the reactor (closed).
    Lost(std::io::Error),
}

impl Outcome {
    /// The outcome's Python tuple (module docs); the winner's descriptor is the caller's
    /// from then on.
    fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        match self {
            Outcome::Won(stream, report) => {
                use eyeballs::socket2::Domain;
                let domain = match report.winner() {
                    Some(addr) if addr.is_ipv6() => Domain::IPV6,
                    _ => Domain::IPV4,
                };
                let fd = stream.into_raw_fd();
                ("ok", fd, i32::from(domain), Report::new(report))
                    .into_pyobject(py)
                    .map(Bound::into_any)
            }
            Outcome::Failed(error) => {
                let exception = errors::race_error(py, &error, false);
                ("error", exception.into_value(py))
                    .into_pyobject(py)
                    .map(Bound::into_any)
            }
            Outcome::Cancelled => PyTuple::new(py, ["cancelled"]).map(Bound::into_any),
            Outcome::Lost(e) => ("error", PyErr::from(e).into_value(py))
                .into_pyobject(py)
                .map(Bound::into_any),
        }
    }
}

/// Where a race's task leaves its outcome for the event loop to take.
type Slot = Arc<Mutex<Option<Outcome>>>;

/// A race in flight, returned by [`start`].
#[pyclass(frozen, module = "eyeballs._eyeballs", name = "Pending")]
#[derive(Debug)]
pub(crate) struct Pending {
    /// Tells the task to stop (taken by the first `cancel`).
    stop: Mutex<Option<oneshot::Sender<()>>>,
    /// Disconnected when the task has ended, the race dropped.
    ended: Mutex<Option<mpsc::Receiver<()>>>,
    /// The outcome, once the race has ended and until it is taken.
    outcome: Slot,
    /// Readable (end of file) once the outcome is stored: the task holds the other end and
    /// drops it then. `None` once [`close`](Self::close)d.
    signal: Mutex<Option<UnixStream>>,
}

#[pymethods]
impl Pending {
    /// Cancels the race and returns once every socket of it is closed (module docs);
    /// `True` if it was still running, `False` if it had ended already. An outcome not
    /// taken yet is dropped (a winner's socket closed); [`outcome`](Self::outcome) then
    /// gives `("cancelled",)`. Calling it again returns `False`.
    ///
    /// # Errors
    /// `RuntimeError` if the race's task did not end within `CANCEL_WAIT`.
    fn cancel(&self, py: Python<'_>) -> PyResult<bool> {
        let stop = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let ended = self
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let running = match stop {
            // A send fails when the task has dropped its receiver: it ended already.
            Some(stop) => stop.send(()).is_ok(),
            None => false,
        };
        if let Some(ended) = ended {
            // The task never takes the GIL; released here so that other Python threads
            // run while the race's sockets close.
            let waited = py.detach(move || ended.recv_timeout(CANCEL_WAIT));
            if let Err(mpsc::RecvTimeoutError::Timeout) = waited {
                return Err(PyRuntimeError::new_err(
                    "the race did not stop within 5 s of its cancellation",
                ));
            }
        }
        let dropped = self
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Outcome::Cancelled);
        // Outside the lock: closes a winner nobody will take.
        drop(dropped);
        Ok(running)
    }

    /// Whether the race's task has ended (its outcome is stored, or it was cancelled).
    fn done(&self) -> bool {
        match &*self.ended.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(ended) => matches!(ended.try_recv(), Err(mpsc::TryRecvError::Disconnected)),
            None => true,
        }
    }

    /// The descriptor that becomes readable when the race has ended (module docs): watch it
    /// with `loop.add_reader`, and remove it before [`close`](Self::close) or dropping this
    /// `Pending`, which close it.
    ///
    /// # Errors
    /// `ValueError` once closed.
    fn fileno(&self) -> PyResult<i32> {
        match &*self.signal.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(signal) => Ok(signal.as_raw_fd()),
            None => Err(PyValueError::new_err("the race's descriptor is closed")),
        }
    }

    /// Closes the descriptor of [`fileno`](Self::fileno) (once the event loop no longer
    /// watches it), so that it does not wait for this object to be dropped (an exception's
    /// traceback can keep it for long). The race and its outcome are not affected. Calling
    /// it again does nothing.
    fn close(&self) {
        let signal = self
            .signal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(signal);
    }

    /// Takes the race's outcome (module docs): `None` while the race runs, and after the
    /// outcome has been taken.
    ///
    /// # Errors
    /// A Python error only if the outcome's objects cannot be made (out of memory).
    fn outcome<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let outcome = self
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        outcome.map(|outcome| outcome.into_py(py)).transpose()
    }
}

/// What to connect to.
enum Destination {
    /// A host name or IP literal, resolved by the connector's resolver.
    Host(String, u16),
    /// Addresses known already, in the caller's order.
    Addrs(Vec<SocketAddr>),
}

/// Starts a race on the runtime thread and returns at once: the [`Pending`] tells when it
/// has ended and gives its outcome (module docs).
///
/// - `host`, `port`: a name or IP literal to resolve with the connector's resolver
///   (`hosts`, else the system's `getaddrinfo`, AAAA and A apart, HE-3); or
/// - `addrs`: socket addresses as `(ip, port, scope_id)` instead (`host` then `None`).
/// - `timeout`: seconds for the whole race (`Config::overall_timeout`, checklist D4);
///   `None` (the default): no limit.
/// - `attempt_delay`: the Connection Attempt Delay in seconds (HE-5.7, at least 10 ms,
///   HE-5.10); `None` (the default): one attempt after another.
/// - `resolution_delay`: seconds (HE-3.6); `None`: the default, 0.05.
/// - `interleave`: the First Address Family Count (HE-4.8); `None`: the default, 1.
/// - `family`: `AF_UNSPEC` (the default: both), `AF_INET` or `AF_INET6` only.
/// - `prefer_ipv4`: IPv4 leads (`FamilyPreference::PreferIpv4`, HE-2.2); default `False`.
/// - `local_addrs`: `(ip, port, scope_id)` to bind each socket to: the first of the
///   destination's family that binds (the next on a bind error); a family with none fails
///   that attempt. Default: none, the OS chooses.
/// - `hosts`: a static table of names and their addresses instead of the system resolver.
///
/// # Errors
/// `ValueError` for an invalid value; `RuntimeError` if the runtime cannot be started.
#[pyfunction]
#[pyo3(signature = (
    host, port, *, addrs=None, timeout=None, attempt_delay=None, resolution_delay=None,
    interleave=None, family=0, prefer_ipv4=false, local_addrs=None, hosts=None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    host: Option<String>,
    port: u16,
    addrs: Option<Vec<(String, u16, u32)>>,
    timeout: Option<f64>,
    attempt_delay: Option<f64>,
    resolution_delay: Option<f64>,
    interleave: Option<usize>,
    family: i32,
    prefer_ipv4: bool,
    local_addrs: Option<Vec<(String, u16, u32)>>,
    hosts: Option<Vec<(String, Vec<String>)>>,
) -> PyResult<Pending> {
    // Every call shares the process's history store with `create_connection`: what one
    // connection taught (a black-holed IPv6 path) the next one knows, whichever API made it.
    let mut connector = Connector::new();
    if let Some(store) = crate::race::history_store() {
        connector = connector.history(store.clone());
    }
    if let Some(timeout) = timeout {
        connector = connector.timeout(crate::race::seconds("timeout", timeout)?);
    }
    connector = connector.attempt_delay(match attempt_delay {
        Some(delay) => crate::race::seconds("happy_eyeballs_delay", delay)?,
        // Config::connection_attempt_delay: Duration::MAX, the next attempt only when an
        // earlier one fails.
        None => Duration::MAX,
    });
    if let Some(delay) = resolution_delay {
        connector = connector.resolution_delay(crate::race::seconds("resolution_delay", delay)?);
    }
    if let Some(count) = interleave {
        connector = connector.first_address_family_count(count);
    }
    let mut preference = crate::race::family_preference(family)?;
    if prefer_ipv4 && preference == FamilyPreference::PreferIpv6 {
        preference = FamilyPreference::PreferIpv4;
    }
    connector = connector.family(preference);
    if let Some(local) = local_addrs {
        connector = bind_local(connector, socket_addrs(local)?);
    }
    if let Some(hosts) = hosts {
        connector = connector.resolver(crate::race::static_resolver(hosts)?);
    }
    // Checked here, so that a bad configuration is the caller's ValueError at once.
    connector
        .config()
        .validate()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let destination = match (host, addrs) {
        (_, Some(addrs)) => Destination::Addrs(socket_addrs(addrs)?),
        (Some(host), None) => Destination::Host(host, port),
        (None, None) => return Err(PyValueError::new_err("a host or addresses are needed")),
    };
    let handle = runtime()?;
    let (signal, signal_tx) = UnixStream::pair()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot make the race's socket pair: {e}")))?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let (ended_tx, ended_rx) = mpsc::channel::<()>();
    let slot = Slot::default();
    let task_slot = Arc::clone(&slot);
    handle.spawn(async move {
        let race = Box::pin(async move {
            match destination {
                Destination::Host(host, port) => connector.connect(&host, port).await,
                Destination::Addrs(addrs) => connector.connect_addrs(addrs).await,
            }
        });
        // `None`: cancelled, the race future dropped (every socket of it closed).
        let outcome = match until_stopped(race, stop_rx).await {
            None => Outcome::Cancelled,
            Some(Ok(connection)) => won(connection),
            Some(Err(error)) => Outcome::Failed(error),
        };
        *task_slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        // The event loop's descriptor becomes readable (end of file).
        drop(signal_tx);
        drop(ended_tx);
    });
    Ok(Pending {
        stop: Mutex::new(Some(stop_tx)),
        ended: Mutex::new(Some(ended_rx)),
        outcome: slot,
        signal: Mutex::new(Some(signal)),
    })
}

/// Runs `race` until it ends (`Some`) or `stop` fires or is dropped (`None`, the race
/// dropped first).
async fn until_stopped<F: std::future::Future + Unpin>(
    race: F,
    stop: oneshot::Receiver<()>,
) -> Option<F::Output> {
    use futures_util::future::{select, Either};
    match select(race, stop).await {
        Either::Left((outcome, _)) => Some(outcome),
        Either::Right((_, race)) => {
            drop(race);
            None
        }
    }
}

/// The outcome of a won race: the winner out of the reactor (still non-blocking, as
/// tokio's sockets are), so that it no longer needs the runtime.
fn won(connection: Connection<TcpStream>) -> Outcome {
    let (stream, report) = connection.into_parts();
    match stream.into_std() {
        Ok(stream) => Outcome::Won(stream, report),
        // Taking it out of the reactor failed (epoll_ctl): the winner is closed, say why.
        Err(e) => Outcome::Lost(e),
    }
}

/// Socket addresses from `(ip, port, scope_id)`; a zone after `%` in the IP is dropped
/// (the scope id says it).
///
/// # Errors
/// `ValueError` for an IP that does not parse.
fn socket_addrs(addrs: Vec<(String, u16, u32)>) -> PyResult<Vec<SocketAddr>> {
    addrs
        .into_iter()
        .map(|(ip, port, scope_id)| {
            let bare = ip.split('%').next().unwrap_or_default();
            let parsed: IpAddr = bare
                .parse()
                .map_err(|_| PyValueError::new_err(format!("invalid address {ip:?}")))?;
            Ok(match parsed {
                IpAddr::V6(v6) => {
                    SocketAddr::V6(std::net::SocketAddrV6::new(v6, port, 0, scope_id))
                }
                IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), port),
            })
        })
        .collect()
}

/// Binds each socket, before it connects, to the first of `local` of the destination's
/// family that binds, as aiohappyeyeballs does (the next on a bind error; the last bind
/// error, or "no matching local address", fails the attempt).
fn bind_local(connector: Connector, local: Vec<SocketAddr>) -> Connector {
    connector.on_socket(move |socket, dest| {
        let mut last = None;
        for laddr in local.iter().filter(|l| l.is_ipv6() == dest.is_ipv6()) {
            match socket.bind(&(*laddr).into()) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            // aiohappyeyeballs' message, `f"... {family=} ..."` of a socket.AddressFamily.
            let (name, domain) = if dest.is_ipv6() {
                ("AF_INET6", eyeballs::socket2::Domain::IPV6)
            } else {
                ("AF_INET", eyeballs::socket2::Domain::IPV4)
            };
            std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!(
                    "no matching local address with family=<AddressFamily.{name}: {}> found",
                    i32::from(domain)
                ),
            )
        }))
    })
}
