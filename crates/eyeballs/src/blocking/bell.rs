//! Messages from other threads to a race's thread: a channel, and a bell (a socket the race
//! polls) rung after each send, so that the poll(2) that waits for sockets also wakes up for
//! answers and results computed elsewhere.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

/// The race's end: messages, and the socket to poll for readability.
#[derive(Debug)]
pub(super) struct Inbox<M> {
    messages: Receiver<M>,
    bell: UnixDatagram,
    /// The senders' side, to hand out; silenced when the inbox is dropped.
    outbox: Outbox<M>,
}

/// A sender's end. Cheap to clone; sending after the race is over does nothing.
#[derive(Debug)]
pub(super) struct Outbox<M> {
    sender: Sender<M>,
    ringer: Arc<Ringer>,
}

impl<M> Clone for Outbox<M> {
    fn clone(&self) -> Self {
        Outbox {
            sender: self.sender.clone(),
            ringer: Arc::clone(&self.ringer),
        }
    }
}

/// The senders' end of the bell; emptied when the race is over, so that a thread still
/// running holds no descriptor of the race.
#[derive(Debug)]
struct Ringer(Mutex<Option<UnixDatagram>>);

impl<M> Inbox<M> {
    /// A new inbox.
    ///
    /// # Errors
    /// The socket pair could not be made (descriptors exhausted).
    pub(super) fn new() -> io::Result<Self> {
        let (bell, ringer) = UnixDatagram::pair()?;
        bell.set_nonblocking(true)?;
        // Non-blocking: a full buffer already says "look", a send must never wait.
        ringer.set_nonblocking(true)?;
        let (sender, messages) = mpsc::channel();
        Ok(Inbox {
            messages,
            bell,
            outbox: Outbox {
                sender,
                ringer: Arc::new(Ringer(Mutex::new(Some(ringer)))),
            },
        })
    }

    /// A sender for another thread.
    pub(super) fn outbox(&self) -> Outbox<M> {
        self.outbox.clone()
    }

    /// The socket to poll for readability.
    pub(super) fn bell(&self) -> &UnixDatagram {
        &self.bell
    }

    /// Every message that has arrived, after silencing the bell.
    pub(super) fn drain(&self, mut each: impl FnMut(M)) {
        let mut buf = [0u8; 64];
        while self.bell.recv(&mut buf).is_ok() {}
        while let Ok(message) = self.messages.try_recv() {
            each(message);
        }
    }
}

impl<M> Drop for Inbox<M> {
    fn drop(&mut self) {
        let ringer = self
            .outbox
            .ringer
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(ringer);
    }
}

impl<M> Outbox<M> {
    /// Sends `message` and rings the bell; does nothing once the race is over.
    pub(super) fn send(&self, message: M) {
        if self.sender.send(message).is_err() {
            return; // The race is over: nobody listens, and that is fine.
        }
        let slot = self.ringer.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ringer) = slot.as_ref() {
            if let Err(e) = ringer.send(&[1]) {
                if e.kind() != io::ErrorKind::WouldBlock {
                    tracing::debug!(target: "eyeballs", error = %e, "cannot ring the race's bell");
                }
            }
        }
    }
}

/// Work that threads do for one race, by id: the inbox their results come to (made at the
/// first start: a race that starts none needs no descriptor) and the ids still wanted, so that
/// a result for one stopped in the meantime is dropped unobserved.
#[derive(Debug)]
pub(super) struct Awaited<K, V> {
    inbox: Option<Inbox<(K, V)>>,
    wanted: Vec<K>,
}

impl<K, V> Default for Awaited<K, V> {
    fn default() -> Self {
        Awaited {
            inbox: None,
            wanted: Vec::new(),
        }
    }
}

impl<K: PartialEq + Copy, V> Awaited<K, V> {
    /// Where a thread that works on `key` sends its result; `key` is wanted once `start`
    /// returns `Ok` (`start` is given the outbox and spawns the thread).
    ///
    /// # Errors
    /// The inbox could not be made (descriptors exhausted), or `start`'s error.
    pub(super) fn start(
        &mut self,
        key: K,
        start: impl FnOnce(Outbox<(K, V)>) -> io::Result<()>,
    ) -> io::Result<()> {
        let inbox = match &mut self.inbox {
            Some(inbox) => inbox,
            None => self.inbox.insert(Inbox::new()?),
        };
        start(inbox.outbox())?;
        self.wanted.push(key);
        Ok(())
    }

    /// Stops waiting for `key`: its result is dropped when it arrives.
    pub(super) fn forget(&mut self, key: K) {
        self.wanted.retain(|k| *k != key);
    }

    /// The socket to poll for readability while a result is wanted.
    pub(super) fn bell(&self) -> Option<&UnixDatagram> {
        match &self.inbox {
            Some(inbox) if !self.wanted.is_empty() => Some(inbox.bell()),
            _ => None,
        }
    }

    /// Every result that has arrived and is still wanted.
    pub(super) fn drain(&mut self, mut each: impl FnMut(K, V)) {
        let Some(inbox) = &self.inbox else {
            return;
        };
        let wanted = &mut self.wanted;
        inbox.drain(|(key, value)| {
            if let Some(i) = wanted.iter().position(|k| *k == key) {
                wanted.swap_remove(i);
                each(key, value);
            }
        });
    }
}
