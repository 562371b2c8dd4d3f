//! Binding and releasing the lab's fixed ports when other threads of the process fork.
//!
//! Closing a socket closes this process's descriptor only. A child that another thread
//! (another test, an `nft` run) forks at that moment holds a copy of every descriptor until
//! it execs, and while it does the socket lives on: a TCP listener stays in LISTEN (a new
//! bind of its port gets `EADDRINUSE`, a connect is accepted into its backlog), a UDP
//! socket keeps its port. The window is short (the child execs within milliseconds) but
//! real: a test that freed an address's port for its own server saw `EADDRINUSE` in CI.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{shutdown, Shutdown};

/// How long a bind that found its port in use tries again: longer than a fork's copy of a
/// descriptor lives, short enough that a port really in use fails promptly.
const BIND_RETRY: Duration = Duration::from_millis(200);

/// Takes a TCP listener out of LISTEN at once, whoever else holds a descriptor of it
/// (shutting down its reading side does that on Linux); the caller then drops it.
pub(crate) fn stop_listening(listener: &impl AsRawFd) {
    // ENOTCONN/EINVAL only mean it was not listening any more: nothing left to do.
    let _ = shutdown(listener.as_raw_fd(), Shutdown::Read);
}

/// Runs `bind` until it succeeds, fails other than with `EADDRINUSE`, or [`BIND_RETRY`]
/// has passed (the port's last owner may live on for a moment in a forked child).
pub(crate) fn bind_retrying<T>(mut bind: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let deadline = Instant::now() + BIND_RETRY;
    loop {
        match bind() {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// While another thread forks and execs without pause, a listener that is stopped
    /// before it is dropped frees its port every time (without `stop_listening`, about one
    /// bind in twenty failed here).
    #[test]
    fn a_stopped_listener_frees_its_port_while_children_fork() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        stop_listening(&probe);
        drop(probe);
        let stop = Arc::new(AtomicBool::new(false));
        let forking = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = std::process::Command::new("true").status();
                }
            })
        };
        let mut failures = 0;
        for _ in 0..2000 {
            match TcpListener::bind(addr) {
                Ok(listener) => stop_listening(&listener),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => failures += 1,
                Err(e) => panic!("binding {addr}: {e}"),
            }
        }
        stop.store(true, Ordering::Relaxed);
        forking.join().unwrap();
        assert_eq!(failures, 0, "binds of {addr} that found it in use");
    }

    #[test]
    fn bind_retrying_gives_up_on_a_port_really_in_use() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let started = Instant::now();
        let err = bind_retrying(|| TcpListener::bind(addr)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(started.elapsed() >= BIND_RETRY);
    }
}
