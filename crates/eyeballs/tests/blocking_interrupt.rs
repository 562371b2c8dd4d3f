//! The blocking driver's interruption check (`blocking::Connector::interrupt_check`) and
//! signals, on loopback, no privileges needed: a check stops a race at its interval or as
//! soon as a signal interrupts the wait, every socket closed; without a check a signal does
//! not fail a blocking connect (`EINTR` is not the network's verdict). Offsets within 25 ms.
#![cfg(all(feature = "blocking", target_os = "linux"))]
// One `sigaction` call installs a handler without SA_RESTART (what Python does): see
// `install_handler`.
#![allow(unsafe_code)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use eyeballs::blocking;
use eyeballs::{AttemptEnd, Cause, ErrorKind};
use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Set by the SIGUSR1 handler.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// The tests share one handler and one flag: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

extern "C" fn on_sigusr1(_: nix::libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// Installs the SIGUSR1 handler, without SA_RESTART, once.
fn install_handler() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let action = SigAction::new(
            SigHandler::Handler(on_sigusr1),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe, and no
        // other handler for SIGUSR1 exists in this test binary.
        unsafe { sigaction(Signal::SIGUSR1, &action) }.expect("sigaction");
    });
}

/// Sends SIGUSR1 to the calling thread after `after`, from another thread.
fn signal_me_after(after: Duration) -> thread::JoinHandle<()> {
    let me = pthread_self();
    thread::spawn(move || {
        thread::sleep(after);
        pthread_kill(me, Signal::SIGUSR1).expect("pthread_kill");
    })
}

/// Why the tests' checks stop a race.
#[derive(Debug, PartialEq)]
struct Stop(&'static str);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Stop {}

/// A check run every 20 ms that stops the race once 150 ms have passed: the race ends at the
/// first check after that, its attempts aborted, every socket closed, the check's own error
/// handed back.
#[test]
fn the_check_stops_a_race_at_its_interval_and_closes_every_socket() {
    let _serial = serial();
    let (h6, h4) = (BlackHole::new(V6), BlackHole::new(V4));
    let before = open_fds();
    let checks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&checks);
    let t0 = Instant::now();
    let connector =
        blocking::Connector::new().interrupt_check(Duration::from_millis(20), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            match t0.elapsed() >= Duration::from_millis(150) {
                true => Err(Stop("enough")),
                false => Ok(()),
            }
        });
    let err = connector.connect_addrs([h6.addr, h4.addr]).unwrap_err();
    let took = t0.elapsed();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err}");
    assert_eq!(err.cause(), Cause::Interrupted);
    assert_eq!(
        err.interruption().and_then(|e| e.downcast_ref::<Stop>()),
        Some(&Stop("enough"))
    );
    assert!(std::error::Error::source(&err).is_some());
    assert!(err.to_string().contains("was interrupted: enough"), "{err}");
    assert!(format!("{err:?}").contains("interruption"), "{err:?}");
    assert_eq!(err.io_kind(), std::io::ErrorKind::Interrupted);
    // The first check at or after 150 ms: within one interval of it.
    assert_near(took, Duration::from_millis(160), "stopped");
    // Every 20 ms for 150 ms is 7 or 8 checks; a loaded machine wakes late and checks less
    // often, but more than once, and never in a busy loop.
    assert!(
        (2..=10).contains(&checks.load(Ordering::SeqCst)),
        "{checks:?}"
    );
    let report = err.report().expect("a race that ran has a report");
    let ends: Vec<Option<AttemptEnd>> = report.attempts().map(|a| a.end).collect();
    assert_eq!(ends, [Some(AttemptEnd::Aborted)], "one attempt in 150 ms");
    assert_eq!(open_fds(), before, "every socket closed");
}

/// A signal on the racing thread wakes its wait: the check runs at once, not at its
/// (10 s) interval. The single address would connect in blocking mode without a check.
#[test]
fn a_signal_runs_the_check_at_once() {
    let _serial = serial();
    install_handler();
    SIGNALLED.store(false, Ordering::SeqCst);
    let hole = BlackHole::new(V4);
    let before = open_fds();
    let connector = blocking::Connector::new().interrupt_check(Duration::from_secs(10), || {
        match SIGNALLED.swap(false, Ordering::SeqCst) {
            true => Err(Stop("signalled")),
            false => Ok(()),
        }
    });
    let t0 = Instant::now();
    let sender = signal_me_after(Duration::from_millis(100));
    let err = connector.connect_addrs([hole.addr]).unwrap_err();
    let took = t0.elapsed();
    sender.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err}");
    assert_near(took, Duration::from_millis(100), "stopped by the signal");
    assert_eq!(open_fds(), before, "every socket closed");
}

/// Without a check, a signal that interrupts a blocking connect (a handler without
/// SA_RESTART) is not the attempt's failure: the handshake goes on and is polled. Here the
/// black hole opens after the signal, and the SYN sent again a second later connects.
#[test]
fn without_a_check_a_signal_does_not_fail_a_blocking_connect() {
    let _serial = serial();
    install_handler();
    SIGNALLED.store(false, Ordering::SeqCst);
    let mut hole = BlackHole::new(V4);
    let addr = hole.addr;
    let sender = signal_me_after(Duration::from_millis(50));
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(150));
        hole.open();
        hole
    });
    // No timeout and one address: the attempt connects in blocking mode.
    let connection = blocking::Connector::new()
        .connect_addrs([addr])
        .expect("the signal must not fail the attempt");
    sender.join().unwrap();
    let _hole = opener.join().unwrap();
    assert!(SIGNALLED.load(Ordering::SeqCst), "the signal was delivered");
    assert_eq!(connection.report().winner(), Some(addr));
    assert_eq!(connection.stream().peer_addr().unwrap(), addr);
}
