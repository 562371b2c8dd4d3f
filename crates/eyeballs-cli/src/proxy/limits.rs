//! Limits that hold under load: the file-descriptor budget behind `--max-clients`, the
//! handshake slots (`--max-handshakes`), and failed logins slowed down per client address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Locks a mutex; a poisoned one (a panic in another client's task) still holds valid
/// state, as every update here is a single step.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The clients in their handshake, oldest first: at most `capacity`. A client that arrives
/// when all are taken takes the slot of the oldest, whose handshake ends at once ("evicted"):
/// a flood of clients that connect and say nothing can delay a real client by no more than
/// the few milliseconds its own handshake takes, and never takes a relaying client's slot.
#[derive(Debug)]
pub struct HandshakeSlots {
    capacity: usize,
    state: Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    next_id: u64,
    queue: VecDeque<(u64, Arc<Notify>)>,
}

impl HandshakeSlots {
    /// Room for `capacity` handshakes at once (at least 1).
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(HandshakeSlots {
            capacity: capacity.max(1),
            state: Mutex::new(SlotState::default()),
        })
    }

    /// A slot for a new client; whether the oldest handshake was evicted to make room.
    pub fn enter(self: &Arc<Self>) -> (HandshakeSlot, bool) {
        let mut state = lock(&self.state);
        let mut evicted = false;
        while state.queue.len() >= self.capacity {
            if let Some((_, notify)) = state.queue.pop_front() {
                // Stored if the client is not waiting yet: it sees it when it does.
                notify.notify_one();
                evicted = true;
            }
        }
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        let notify = Arc::new(Notify::new());
        state.queue.push_back((id, Arc::clone(&notify)));
        (
            HandshakeSlot {
                id,
                slots: Arc::clone(self),
                notify,
            },
            evicted,
        )
    }

    /// Handshakes in progress.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.state).queue.len()
    }
}

/// One client's handshake slot, given back when dropped.
#[derive(Debug)]
pub struct HandshakeSlot {
    id: u64,
    slots: Arc<HandshakeSlots>,
    notify: Arc<Notify>,
}

impl HandshakeSlot {
    /// What resolves once a newer client took this slot (the handshake must end); pending
    /// forever if that never happens. Usable after the slot itself is given back.
    pub fn eviction(&self) -> Eviction {
        Eviction(Arc::clone(&self.notify))
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut state = lock(&self.slots.state);
        state.queue.retain(|(id, _)| *id != self.id);
    }
}

/// See [`HandshakeSlot::eviction`].
#[derive(Debug, Clone)]
pub struct Eviction(Arc<Notify>);

impl Eviction {
    /// Resolves once the slot was taken by a newer client.
    pub async fn wait(&self) {
        self.0.notified().await;
    }
}

/// Descriptors kept for the process itself (stdio, the listener, the runtime, the
/// resolver's sockets) beyond what its clients use.
pub const RESERVED_FDS: u64 = 64;

/// Descriptors one client can hold at once: its own socket, at most `attempts` sockets of
/// its race in flight (the winner among them, kept for the relay), and two DNS queries
/// (AAAA and A).
pub fn fds_per_client(attempts: usize) -> u64 {
    u64::try_from(attempts)
        .unwrap_or(u64::MAX)
        .saturating_add(3)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and checks that `max_clients` clients,
/// each holding [`fds_per_client`] descriptors, fit in it with [`RESERVED_FDS`] to spare.
/// Returns the soft limit now in force, or why the clients do not fit.
pub fn check_fd_budget(max_clients: u32, attempts: usize) -> Result<u64, String> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| format!("cannot read the file-descriptor limit: {e}"))?;
    let soft = if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    let needed = u64::from(max_clients)
        .saturating_mul(fds_per_client(attempts))
        .saturating_add(RESERVED_FDS);
    if needed > soft {
        return Err(format!(
            "--max-clients {max_clients} needs up to {needed} file descriptors ({} per \
             client with --max-attempts-in-flight {attempts}, and {RESERVED_FDS} for the \
             proxy), but the limit is {soft} (ulimit -n; hard limit {hard}): lower \
             --max-clients or raise the limit (systemd: LimitNOFILE=)",
            fds_per_client(attempts)
        ));
    }
    Ok(soft)
}

/// The delay before answering the first failed login from an address; it doubles with each
/// further failure from that address, up to [`MAX_AUTH_DELAY`].
pub const FIRST_AUTH_DELAY: Duration = Duration::from_millis(250);
/// The longest delay before a failed login is answered.
pub const MAX_AUTH_DELAY: Duration = Duration::from_secs(4);
/// An address's failures are forgotten this long after its last one.
pub const AUTH_MEMORY: Duration = Duration::from_secs(600);
/// The most addresses remembered; past this, those forgotten longest ago go first (then all).
const MAX_REMEMBERED: usize = 65_536;

/// Failed logins per client address: each failure is answered only after a delay that
/// doubles with the address's recent failures, so guessing passwords is slow; a success
/// clears the address's count.
#[derive(Debug, Default)]
pub struct AuthThrottle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AuthThrottle {
    /// Counts a failure from `ip` and returns how long to wait before answering it:
    /// [`FIRST_AUTH_DELAY`] × 2^(recent failures − 1), at most [`MAX_AUTH_DELAY`].
    pub fn failed(&self, ip: IpAddr) -> Duration {
        let now = Instant::now();
        let mut failures = lock(&self.failures);
        if failures.len() >= MAX_REMEMBERED {
            failures.retain(|_, (_, last)| now.duration_since(*last) < AUTH_MEMORY);
            if failures.len() >= MAX_REMEMBERED {
                failures.clear();
            }
        }
        let entry = failures.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= AUTH_MEMORY {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let doublings = entry.0.saturating_sub(1).min(16);
        FIRST_AUTH_DELAY
            .saturating_mul(1u32 << doublings)
            .min(MAX_AUTH_DELAY)
    }

    /// A success from `ip`: its failures are forgotten.
    pub fn succeeded(&self, ip: IpAddr) {
        lock(&self.failures).remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_wait_longer_per_address_and_a_success_resets() {
        let throttle = AuthThrottle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let delays: Vec<_> = (0..7).map(|_| throttle.failed(a)).collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 4000, 4000].map(Duration::from_millis)
        );
        assert_eq!(throttle.failed(b), FIRST_AUTH_DELAY, "another address");
        throttle.succeeded(a);
        assert_eq!(throttle.failed(a), FIRST_AUTH_DELAY, "after a success");
    }

    #[tokio::test]
    async fn a_new_handshake_evicts_the_oldest_when_all_slots_are_taken() {
        let slots = HandshakeSlots::new(2);
        let (first, evicted) = slots.enter();
        assert!(!evicted);
        let (second, evicted) = slots.enter();
        assert!(!evicted);
        let first_eviction = first.eviction();
        let (third, evicted) = slots.enter();
        assert!(evicted, "the third takes the first's slot");
        assert_eq!(slots.len(), 2);
        tokio::time::timeout(Duration::from_secs(1), first_eviction.wait())
            .await
            .expect("the first is told");
        let second_eviction = second.eviction();
        drop(second);
        assert_eq!(slots.len(), 1, "a slot given back is free");
        let (_fourth, evicted) = slots.enter();
        assert!(!evicted, "room was left");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), second_eviction.wait())
                .await
                .is_err(),
            "a client that left its handshake is never evicted"
        );
        drop((first, third));
    }

    #[test]
    fn the_fd_budget_counts_every_client_socket() {
        assert_eq!(fds_per_client(4), 7);
        let soft = check_fd_budget(1, 4).unwrap();
        assert!(soft >= 7 + RESERVED_FDS);
        let e = check_fd_budget(u32::MAX, 4).unwrap_err();
        assert!(e.contains("--max-clients"), "{e}");
    }
}
