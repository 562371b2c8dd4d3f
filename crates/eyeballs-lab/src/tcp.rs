//! The TCP server of the server namespace: accepts on every `Accept`/`Delay` address and
//! port, counts connections per address, and echoes what it receives.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::netns::Ready;
use crate::LabError;

/// Connection counters of one server address.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AddrCounters {
    pub(crate) accepted: usize,
    pub(crate) open: usize,
}

/// Shared between the server thread and [`Lab`](crate::Lab).
#[derive(Debug, Default)]
pub(crate) struct Counters(Mutex<HashMap<IpAddr, AddrCounters>>);

impl Counters {
    pub(crate) fn get(&self, addr: IpAddr) -> AddrCounters {
        self.lock().get(&addr).copied().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, AddrCounters>> {
        // A poisoned lock only means another thread panicked while holding it; the
        // counters themselves are always consistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn opened(&self, addr: IpAddr) {
        let mut map = self.lock();
        let c = map.entry(addr).or_default();
        c.accepted += 1;
        c.open += 1;
    }

    fn closed(&self, addr: IpAddr) {
        let mut map = self.lock();
        let c = map.entry(addr).or_default();
        c.open = c.open.saturating_sub(1);
    }
}

/// Stop reading from a connection while this much echo data is waiting to be sent.
const MAX_PENDING: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    local: IpAddr,
    pending: Vec<u8>,
}

/// Binds listeners on every `addrs` x `ports`, then serves until `stop` is readable.
pub(crate) fn run(
    ready: Ready,
    addrs: Vec<IpAddr>,
    ports: Vec<u16>,
    counters: Arc<Counters>,
    stop: Arc<UnixStream>,
) {
    let mut listeners = Vec::new();
    for addr in &addrs {
        for port in &ports {
            let sa = SocketAddr::new(*addr, *port);
            let bound = TcpListener::bind(sa).and_then(|l| {
                l.set_nonblocking(true)?;
                Ok(l)
            });
            match bound {
                Ok(l) => listeners.push((l, *addr)),
                Err(e) => return ready.fail(LabError::io(format!("listening on {sa}"), e)),
            }
        }
    }
    ready.ok();

    let mut conns: Vec<Conn> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let revents: Vec<PollFlags> = {
            let mut fds = Vec::with_capacity(1 + listeners.len() + conns.len());
            fds.push(PollFd::new(stop.as_fd(), PollFlags::POLLIN));
            for (l, _) in &listeners {
                fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
            }
            for c in &conns {
                let mut events = PollFlags::empty();
                if c.pending.len() < MAX_PENDING {
                    events |= PollFlags::POLLIN;
                }
                if !c.pending.is_empty() {
                    events |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(c.stream.as_fd(), events));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    eprintln!("eyeballs-lab: tcp server: poll failed, stopping: {e}");
                    return;
                }
            }
            fds.iter()
                .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                .collect()
        };
        let mut revents = revents.into_iter();
        if revents.next().is_some_and(|r| !r.is_empty()) {
            return; // Dropping the streams closes every connection.
        }

        for (listener, addr) in &listeners {
            let readable = revents.next().is_some_and(|r| !r.is_empty());
            if !readable {
                continue;
            }
            loop {
                match listener.accept() {
                    Ok((stream, _peer)) => {
                        if let Err(e) = stream.set_nonblocking(true) {
                            eprintln!("eyeballs-lab: tcp server: set_nonblocking: {e}");
                            continue;
                        }
                        counters.opened(*addr);
                        conns.push(Conn {
                            stream,
                            local: *addr,
                            pending: Vec::new(),
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // ECONNABORTED and friends: that connection is gone, try the next.
                    Err(e) if e.kind() == ErrorKind::ConnectionAborted => {}
                    Err(e) => {
                        eprintln!("eyeballs-lab: tcp server: accept on {addr}: {e}");
                        break;
                    }
                }
            }
        }

        // `revents` now yields the connections' events, in `conns` order.
        let conn_events: Vec<PollFlags> = revents.collect();
        let mut index = 0;
        conns.retain_mut(|conn| {
            let events = conn_events
                .get(index)
                .copied()
                .unwrap_or(PollFlags::empty());
            index += 1;
            let keep = service(conn, events, &mut buf);
            if !keep {
                counters.closed(conn.local);
            }
            keep
        });
    }
}

/// Reads and echoes; returns false once the connection is finished.
fn service(conn: &mut Conn, events: PollFlags, buf: &mut [u8]) -> bool {
    if events.is_empty() {
        return true;
    }
    if events.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
        match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => conn
                .pending
                .extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => return false,
        }
    }
    if !conn.pending.is_empty() {
        match conn.stream.write(&conn.pending) {
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => return false,
        }
    }
    true
}
