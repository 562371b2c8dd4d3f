//! The listener: accepts clients while a client slot (`--max-clients`) and a handshake slot
//! (`--max-handshakes`) are free, each in its own task, until told to stop (SIGINT or
//! SIGTERM for `eyeballs proxy`, the command's exit for `eyeballs run`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::client;
use super::limits::HandshakeSlots;
use super::log::{failure, log, warn};
use super::settings::Settings;

/// After an accept error that is not the client's (out of file descriptors, say), wait this
/// long before accepting again rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// While every slot stays busy, say so at most this often.
const BUSY_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// SIGINT and SIGTERM.
#[derive(Debug)]
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Catches both from now on.
    pub fn new() -> io::Result<Self> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The name of the next signal received.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// How many clients are served at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Clients at once, whatever they are doing (`--max-clients`).
    pub max_clients: usize,
    /// Of those, clients still in their handshake (`--max-handshakes`): a flood of clients
    /// that connect and say nothing holds these, never the slots of clients relaying, and
    /// each new client takes the slot of the oldest handshake when all are busy.
    pub max_handshakes: usize,
}

/// Listens on `listen`; logs why not (for status 1).
pub async fn bind(listen: SocketAddr) -> Result<TcpListener, ExitCode> {
    TcpListener::bind(listen)
        .await
        .map_err(|e| failure(format_args!("cannot listen on {listen}: {e}")))
}

/// Serves clients on `listener` until `stop` resolves, then returns its status. A client is
/// accepted only while a client slot is free, and takes a handshake slot (the oldest
/// handshake's, when all are busy), given back once its request is read.
pub async fn serve<F>(
    listener: TcpListener,
    settings: Arc<Settings>,
    limits: Limits,
    stop: F,
) -> ExitCode
where
    F: Future<Output = ExitCode>,
{
    tokio::pin!(stop);
    let clients = Arc::new(Semaphore::new(limits.max_clients));
    let handshakes = HandshakeSlots::new(limits.max_handshakes);
    let mut busy = BusyLog::default();
    loop {
        let client = tokio::select! {
            permit = slot(&clients, &mut busy.clients, || format!(
                "all {} client slots are busy: new clients wait until one leaves \
                 (--max-clients)", limits.max_clients)) => permit,
            code = &mut stop => return code,
        };
        let Some(client) = client else {
            // Only a closed semaphore fails, and this one is never closed.
            return ExitCode::from(crate::exit::FAILED);
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            code = &mut stop => return code,
        };
        match accepted {
            Ok((stream, peer)) => {
                let (handshake, evicted) = handshakes.enter();
                if evicted
                    && busy
                        .handshakes
                        .is_none_or(|t| t.elapsed() >= BUSY_LOG_INTERVAL)
                {
                    busy.handshakes = Some(Instant::now());
                    warn(format_args!(
                        "all {} handshake slots are busy: the oldest handshake is dropped for \
                         each new client (--max-handshakes, --handshake-timeout)",
                        limits.max_handshakes
                    ));
                }
                let settings = Arc::clone(&settings);
                tokio::spawn(async move {
                    client::serve(stream, peer, settings, handshake).await;
                    drop(client);
                });
            }
            // The client gave up between SYN and accept, or a signal interrupted: next.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                warn(format_args!(
                    "accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}"
                ));
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    code = &mut stop => return code,
                }
            }
        }
    }
}

/// When each kind of slot was last said to be busy.
#[derive(Debug, Default)]
struct BusyLog {
    clients: Option<Instant>,
    handshakes: Option<Instant>,
}

/// A slot of `slots`: at once if one is free, else logged (at most every
/// [`BUSY_LOG_INTERVAL`]) and waited for. `None` only if the semaphore was closed.
async fn slot(
    slots: &Arc<Semaphore>,
    last_log: &mut Option<Instant>,
    busy: impl FnOnce() -> String,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = Arc::clone(slots).try_acquire_owned() {
        return Some(permit);
    }
    if last_log.is_none_or(|t| t.elapsed() >= BUSY_LOG_INTERVAL) {
        *last_log = Some(Instant::now());
        warn(format_args!("{}", busy()));
    }
    Arc::clone(slots).acquire_owned().await.ok()
}

/// Waits for SIGINT or SIGTERM: status 0.
pub async fn stopped_by(mut signals: Signals) -> ExitCode {
    let name = signals.recv().await;
    log(format_args!("{name}: stopped"));
    ExitCode::SUCCESS
}
