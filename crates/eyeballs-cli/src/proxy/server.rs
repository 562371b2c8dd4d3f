//! The listener: accepts clients while a slot is free (`--max-clients`), each in its own
//! task, until SIGINT or SIGTERM.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::Semaphore;

use super::client;
use super::log::{failure, log};
use super::settings::Settings;

/// After an accept error that is not the client's (out of file descriptors, say), wait this
/// long before accepting again rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// While every slot stays busy, say so at most this often.
const BUSY_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// SIGINT and SIGTERM.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
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

/// Listens on `listen` and serves clients until a signal: status 0, or 1 if it cannot
/// listen.
pub async fn serve(listen: SocketAddr, settings: Settings, max_clients: usize) -> ExitCode {
    // Before listening: a signal sent as soon as the proxy says it listens is caught.
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => return failure(format_args!("cannot handle SIGINT/SIGTERM: {e}")),
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => return failure(format_args!("cannot listen on {listen}: {e}")),
    };
    let local = listener.local_addr().unwrap_or(listen);
    let auth = if settings.auth.is_some() {
        "username/password"
    } else {
        "no authentication"
    };
    let http = if settings.http_connect {
        " and HTTP CONNECT"
    } else {
        ""
    };
    log(format_args!(
        "listening on {local} (SOCKS5{http}, {auth}, at most {max_clients} clients)"
    ));

    let settings = Arc::new(settings);
    let slots = Arc::new(Semaphore::new(max_clients));
    let mut last_busy_log: Option<Instant> = None;
    loop {
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_busy_log.is_none_or(|t| t.elapsed() >= BUSY_LOG_INTERVAL) {
                    last_busy_log = Some(Instant::now());
                    log(format_args!(
                        "all {max_clients} client slots are busy: new clients wait until one \
                         leaves (--max-clients)"
                    ));
                }
                tokio::select! {
                    permit = Arc::clone(&slots).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        // Only a closed semaphore fails, and this one is never closed.
                        Err(_) => return ExitCode::from(crate::exit::FAILED),
                    },
                    name = signals.recv() => return stopped(name),
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            name = signals.recv() => return stopped(name),
        };
        match accepted {
            Ok((stream, peer)) => {
                let settings = Arc::clone(&settings);
                tokio::spawn(async move {
                    client::serve(stream, peer, &settings).await;
                    drop(permit);
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
                log(format_args!(
                    "accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}"
                ));
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    name = signals.recv() => return stopped(name),
                }
            }
        }
    }
}

fn stopped(signal: &str) -> ExitCode {
    log(format_args!("{signal}: stopped"));
    ExitCode::SUCCESS
}
