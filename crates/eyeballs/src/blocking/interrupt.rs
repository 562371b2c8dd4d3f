//! Stopping a blocking race from its own thread: the caller's interruption check, asked when
//! a signal interrupts the race's wait and at least every interval while it waits.
//!
//! A blocking race holds its thread until it is decided. Runtimes whose signal handlers must
//! run on that thread cannot answer Ctrl-C meanwhile: Python runs its handlers (and raises
//! `KeyboardInterrupt`) only when the waiting thread gives it control back. The check is
//! that control: it runs on the race's thread, between two waits, and an error from it ends
//! the race at once, every attempt aborted and every socket closed.
//!
//! When it runs: when poll(2) returns `EINTR` (a signal arrived on this thread: handlers
//! installed without `SA_RESTART`, as Python's are, interrupt it) and whenever the interval
//! has passed since the last check (a signal may be delivered to another of the process's
//! threads, which interrupts nothing here). So a race with a check never connects in
//! blocking mode (a blocking `connect` cannot be woken at the interval): every attempt is
//! polled, at the cost of two system calls.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the check returns to stop the race.
pub(crate) type Interruption = Box<dyn std::error::Error + Send + Sync>;

/// The shortest interval between two checks: a shorter one would make the wait a busy loop.
pub const MIN_INTERRUPT_INTERVAL: Duration = Duration::from_millis(1);

/// The caller's check and how often to run it.
#[derive(Clone)]
pub(crate) struct Interrupt {
    interval: Duration,
    check: Arc<dyn Fn() -> Result<(), Interruption> + Send + Sync>,
}

impl fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interrupt")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Interrupt {
    /// `check`, run at least every `interval` (at least [`MIN_INTERRUPT_INTERVAL`]).
    pub(crate) fn new<F, E>(interval: Duration, check: F) -> Self
    where
        F: Fn() -> Result<(), E> + Send + Sync + 'static,
        E: Into<Interruption>,
    {
        Interrupt {
            interval: interval.max(MIN_INTERRUPT_INTERVAL),
            check: Arc::new(move || check().map_err(Into::into)),
        }
    }

    /// When the wait that starts after a check at `last` must end at the latest, given the
    /// race's own `deadline`.
    pub(crate) fn wake_by(&self, last: Instant, deadline: Option<Instant>) -> Option<Instant> {
        // An interval too long for an `Instant` never shortens the wait.
        match (last.checked_add(self.interval), deadline) {
            (Some(next), Some(deadline)) => Some(next.min(deadline)),
            (Some(next), None) => Some(next),
            (None, deadline) => deadline,
        }
    }

    /// Whether the check is due at `now`, after one at `last`: a signal interrupted the wait,
    /// or the interval has passed.
    pub(crate) fn is_due(&self, last: Instant, now: Instant, signalled: bool) -> bool {
        signalled || now.saturating_duration_since(last) >= self.interval
    }

    /// Runs the check.
    pub(crate) fn check(&self) -> Result<(), Interruption> {
        (self.check)()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_ends_by_the_next_check_or_the_deadline_whichever_first() {
        let i = Interrupt::new(Duration::from_millis(50), || Ok::<(), std::io::Error>(()));
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(i.wake_by(t0, None), Some(ms(50)));
        assert_eq!(i.wake_by(t0, Some(ms(20))), Some(ms(20)));
        assert_eq!(i.wake_by(t0, Some(ms(80))), Some(ms(50)));
        assert!(!i.is_due(t0, ms(49), false));
        assert!(i.is_due(t0, ms(49), true));
        assert!(i.is_due(t0, ms(50), false));
    }

    #[test]
    fn a_zero_interval_is_raised_to_the_minimum_and_a_huge_one_never_shortens_the_wait() {
        let zero = Interrupt::new(Duration::ZERO, || Ok::<(), std::io::Error>(()));
        assert_eq!(zero.interval, MIN_INTERRUPT_INTERVAL);
        let huge = Interrupt::new(Duration::MAX, || Ok::<(), std::io::Error>(()));
        let t0 = Instant::now();
        assert_eq!(huge.wake_by(t0, None), None);
        assert_eq!(huge.wake_by(t0, Some(t0)), Some(t0));
    }

    #[test]
    fn the_checks_error_is_handed_back() {
        let i = Interrupt::new(Duration::from_millis(1), || {
            Err(std::io::Error::other("stop"))
        });
        assert_eq!(i.check().map_err(|e| e.to_string()), Err("stop".to_owned()));
    }
}
