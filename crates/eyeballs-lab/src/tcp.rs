//! The TCP server of the server namespace: accepts on every `Accept`/`Delay` address and
//! port, counts connections per address, and echoes what it receives.
//!
//! One exception, for tests that drive real HTTP clients (curl through a proxy): when the
//! first bytes a connection receives are an HTTP/1.x request line (`GET ` or `HEAD `, a
//! target, `HTTP/1.0` or `HTTP/1.1`), the server reads the request head and answers
//! `HTTP/1.1 200 OK` with `Content-Type: text/plain`, `Content-Length` and
//! `Connection: close`, whose body names the server address that answered (`198.18.0.10\n`,
//! `2001:db8::10\n`; no body for `HEAD`); it then shuts down its sending side and closes
//! once the client has. Anything else is echoed as before. Bytes that are still a prefix of
//! `GET ` / `HEAD ` (or a request line not yet ended) wait for more data before being echoed.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

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

    pub(crate) fn opened(&self, addr: IpAddr) {
        let mut map = self.lock();
        let c = map.entry(addr).or_default();
        c.accepted += 1;
        c.open += 1;
    }

    pub(crate) fn closed(&self, addr: IpAddr) {
        let mut map = self.lock();
        let c = map.entry(addr).or_default();
        c.open = c.open.saturating_sub(1);
    }
}

/// Stop reading from a connection while this much echo data is waiting to be sent.
const MAX_PENDING: usize = 64 * 1024;

/// The longest HTTP request head (request line and headers) the server reads; a longer one
/// closes the connection.
const MAX_HTTP_HEAD: usize = 8 * 1024;

/// What a connection does with the bytes it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing decided yet: the bytes so far (in `Conn::received`) may begin an HTTP request.
    Sniffing,
    /// Echo everything.
    Echo,
    /// An HTTP/1.x request: read its head (in `Conn::received`), then answer.
    HttpHead {
        /// `HEAD` rather than `GET`: the answer has no body.
        head_only: bool,
    },
    /// The HTTP answer is queued in `pending`; once it is sent the server shuts down its
    /// side, discards what still arrives and closes when the client does.
    HttpDone {
        /// The sending side is shut down already.
        shut: bool,
    },
}

struct Conn {
    stream: TcpStream,
    local: IpAddr,
    pending: Vec<u8>,
    mode: Mode,
    /// Sniffed bytes, or the HTTP request head read so far.
    received: Vec<u8>,
}

/// What the first bytes of a connection are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniff {
    /// Not known yet: wait for more bytes.
    NeedMore,
    /// Not an HTTP request: echo.
    Echo,
    /// An HTTP/1.x `GET` (`head_only: false`) or `HEAD` request line.
    Http { head_only: bool },
}

/// Classifies the first bytes a connection received (never empty).
fn sniff(bytes: &[u8]) -> Sniff {
    const METHODS: [(&[u8], bool); 2] = [(b"GET ", false), (b"HEAD ", true)];
    let mut method = None;
    for (name, head_only) in METHODS {
        if bytes.len() < name.len() && name.starts_with(bytes) {
            return Sniff::NeedMore;
        }
        if bytes.starts_with(name) {
            method = Some(head_only);
        }
    }
    let Some(head_only) = method else {
        return Sniff::Echo;
    };
    let Some(end) = bytes.iter().position(|&b| b == b'\n') else {
        return if bytes.len() < MAX_HTTP_HEAD {
            Sniff::NeedMore
        } else {
            Sniff::Echo
        };
    };
    let line = bytes.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // `GET <target> HTTP/1.x`: exactly three words.
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    match words.as_slice() {
        [_, target, version]
            if !target.is_empty() && matches!(*version, b"HTTP/1.0" | b"HTTP/1.1") =>
        {
            Sniff::Http { head_only }
        }
        _ => Sniff::Echo,
    }
}

/// Whether `head` holds a whole HTTP request head (ends with an empty line).
fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// The answer to an HTTP request received on `local`: its body names `local`.
fn http_response(local: IpAddr, head_only: bool) -> Vec<u8> {
    let body = format!("{local}\n");
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        response.push_str(&body);
    }
    response.into_bytes()
}

/// A change to the server's listeners, made at run time by
/// [`Lab::set_behavior`](crate::Lab::set_behavior).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Command {
    /// Listen on the address (every port); nothing to do if it already listens.
    Listen(IpAddr),
    /// Close the address's listeners; its open connections stay.
    Unlisten(IpAddr),
}

type Request = (Command, mpsc::SyncSender<Result<(), LabError>>);

/// How long [`Control::send`] waits for the server thread's answer. It answers within one
/// pass of its loop (microseconds); this only bounds a server thread that died.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// The lab's handle on a running server thread: sends it [`Command`]s.
#[derive(Debug)]
pub(crate) struct Control {
    requests: mpsc::Sender<Request>,
    /// A byte written here wakes the server thread's poll.
    wake: UnixStream,
}

/// The server thread's end of [`Control`].
#[derive(Debug)]
pub(crate) struct ControlRx {
    requests: mpsc::Receiver<Request>,
    wake: UnixStream,
}

impl Control {
    /// A control channel: the lab keeps the first half, the server thread gets the second.
    pub(crate) fn channel() -> Result<(Control, ControlRx), LabError> {
        let (tx, rx) = mpsc::channel();
        let (wake_tx, wake_rx) = UnixStream::pair()
            .map_err(|e| LabError::io("creating the tcp server's wake-up socket pair", e))?;
        wake_rx
            .set_nonblocking(true)
            .map_err(|e| LabError::io("making the tcp server's wake-up socket non-blocking", e))?;
        Ok((
            Control {
                requests: tx,
                wake: wake_tx,
            },
            ControlRx {
                requests: rx,
                wake: wake_rx,
            },
        ))
    }

    /// Sends `command` and waits until the server thread has carried it out.
    pub(crate) fn send(&self, command: Command) -> Result<(), LabError> {
        let gone = || LabError::Thread("the tcp server thread has stopped".into());
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.requests
            .send((command, reply_tx))
            .map_err(|_| gone())?;
        (&self.wake)
            .write_all(&[1])
            .map_err(|e| LabError::io("waking the tcp server thread", e))?;
        match reply_rx.recv_timeout(ANSWER_TIMEOUT) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(LabError::Thread(format!(
                "the tcp server thread did not answer {command:?} within {ANSWER_TIMEOUT:?}"
            ))),
        }
    }
}

/// Non-blocking listeners on `addr`, one per port.
fn bind_all(addr: IpAddr, ports: &[u16]) -> Result<Vec<(TcpListener, IpAddr)>, LabError> {
    ports
        .iter()
        .map(|port| {
            let sa = SocketAddr::new(addr, *port);
            crate::ports::bind_retrying(|| TcpListener::bind(sa))
                .and_then(|l| {
                    l.set_nonblocking(true)?;
                    Ok((l, addr))
                })
                .map_err(|e| LabError::io(format!("listening on {sa}"), e))
        })
        .collect()
}

/// Carries out the commands queued on `control`; false once the lab's end is gone (the
/// server then stops: nothing can reach it any more).
fn apply_commands(
    control: &ControlRx,
    listeners: &mut Vec<(TcpListener, IpAddr)>,
    ports: &[u16],
) -> bool {
    let mut drain = [0u8; 64];
    // Non-blocking: ends with WouldBlock once the wake-up bytes are read.
    let open = loop {
        match (&control.wake).read(&mut drain) {
            Ok(0) => break false,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => break e.kind() == ErrorKind::WouldBlock,
        }
    };
    while let Ok((command, reply)) = control.requests.try_recv() {
        let result = match command {
            Command::Listen(addr) if listeners.iter().any(|(_, a)| *a == addr) => Ok(()),
            Command::Listen(addr) => bind_all(addr, ports).map(|new| listeners.extend(new)),
            Command::Unlisten(addr) => {
                listeners.retain(|(listener, a)| {
                    let stays = *a != addr;
                    if !stays {
                        crate::ports::stop_listening(listener);
                    }
                    stays
                });
                Ok(())
            }
        };
        // The lab waits for this answer; if it gave up (timeout), nobody needs it.
        let _ = reply.send(result);
    }
    open
}

/// Binds listeners on every `addrs` x `ports`, then serves until `stop` is readable;
/// listeners are added and removed at run time through `control`.
pub(crate) fn run(
    ready: Ready,
    addrs: Vec<IpAddr>,
    ports: Vec<u16>,
    counters: Arc<Counters>,
    stop: Arc<UnixStream>,
    control: ControlRx,
) {
    let mut listeners = Vec::new();
    for addr in &addrs {
        match bind_all(*addr, &ports) {
            Ok(bound) => listeners.extend(bound),
            Err(e) => return ready.fail(e),
        }
    }
    ready.ok();

    let mut conns: Vec<Conn> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let revents: Vec<PollFlags> = {
            let mut fds = Vec::with_capacity(2 + listeners.len() + conns.len());
            fds.push(PollFd::new(stop.as_fd(), PollFlags::POLLIN));
            fds.push(PollFd::new(control.wake.as_fd(), PollFlags::POLLIN));
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
        // Commands change `listeners`: carried out after this pass's events, which follow
        // the listeners as they were polled.
        let commands = revents.next().is_some_and(|r| !r.is_empty());

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
                            mode: Mode::Sniffing,
                            received: Vec::new(),
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
        let mut closed = Vec::new();
        conns.retain_mut(|conn| {
            let events = conn_events
                .get(index)
                .copied()
                .unwrap_or(PollFlags::empty());
            index += 1;
            let keep = service(conn, events, &mut buf);
            if !keep {
                closed.push(conn.local);
            }
            keep
        });
        // Counted as closed once dropped (their descriptors closed): a test that waits for
        // the count and then counts the process's descriptors sees them gone.
        for addr in closed {
            counters.closed(addr);
        }
        if commands && !apply_commands(&control, &mut listeners, &ports) {
            return;
        }
    }
}

/// Reads and echoes (or answers HTTP); returns false once the connection is finished.
fn service(conn: &mut Conn, events: PollFlags, buf: &mut [u8]) -> bool {
    if events.is_empty() {
        return true;
    }
    if events.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
        match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                if !receive(conn, buf.get(..n).unwrap_or_default()) {
                    return false;
                }
            }
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
    if conn.mode == (Mode::HttpDone { shut: false }) && conn.pending.is_empty() {
        // The answer is out: FIN now; the client closes and the read above sees it.
        if conn.stream.shutdown(Shutdown::Write).is_err() {
            return false;
        }
        conn.mode = Mode::HttpDone { shut: true };
    }
    true
}

/// Handles bytes read from the client; returns false to close the connection.
fn receive(conn: &mut Conn, data: &[u8]) -> bool {
    match conn.mode {
        Mode::Echo => conn.pending.extend_from_slice(data),
        Mode::HttpDone { .. } => {} // Whatever follows the request is discarded.
        Mode::Sniffing => {
            conn.received.extend_from_slice(data);
            match sniff(&conn.received) {
                Sniff::NeedMore => {}
                Sniff::Echo => {
                    conn.pending.append(&mut conn.received);
                    conn.mode = Mode::Echo;
                }
                Sniff::Http { head_only } => {
                    conn.mode = Mode::HttpHead { head_only };
                    return answer_if_complete(conn, head_only);
                }
            }
        }
        Mode::HttpHead { head_only } => {
            conn.received.extend_from_slice(data);
            return answer_if_complete(conn, head_only);
        }
    }
    true
}

/// Queues the HTTP answer once the request head is complete; false if the head is too long.
fn answer_if_complete(conn: &mut Conn, head_only: bool) -> bool {
    if head_complete(&conn.received) {
        conn.received = Vec::new();
        conn.pending = http_response(conn.local, head_only);
        conn.mode = Mode::HttpDone { shut: false };
        true
    } else {
        conn.received.len() <= MAX_HTTP_HEAD
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.
mod tests {
    use super::*;
    use crate::{Behavior, Lab};
    use std::time::Duration;

    #[test]
    fn sniff_tells_http_from_echo() {
        assert_eq!(sniff(b"G"), Sniff::NeedMore);
        assert_eq!(sniff(b"HEA"), Sniff::NeedMore);
        assert_eq!(sniff(b"GET / HTTP/1."), Sniff::NeedMore);
        assert_eq!(
            sniff(b"GET / HTTP/1.1\r\n"),
            Sniff::Http { head_only: false }
        );
        assert_eq!(
            sniff(b"GET /x HTTP/1.0\n"),
            Sniff::Http { head_only: false }
        );
        assert_eq!(
            sniff(b"HEAD / HTTP/1.1\r\nHost: a\r\n"),
            Sniff::Http { head_only: true }
        );
        for echo in [
            &b"hello lab"[..],
            b"x",
            b"GETX",
            b"get / HTTP/1.1\r\n",
            b"GET / HTTP/2\r\n",
            b"GET  HTTP/1.1\r\n",
            b"GET / HTTP/1.1 extra\r\n",
            b"POST / HTTP/1.1\r\n",
        ] {
            assert_eq!(
                sniff(echo),
                Sniff::Echo,
                "{:?}",
                String::from_utf8_lossy(echo)
            );
        }
        // A line that never ends is echoed once it is too long to be a request line.
        let mut long = b"GET /".to_vec();
        long.resize(MAX_HTTP_HEAD, b'a');
        assert_eq!(sniff(&long), Sniff::Echo);
    }

    #[test]
    fn http_response_names_the_address() {
        let get = http_response("198.18.0.10".parse().unwrap(), false);
        assert_eq!(
            String::from_utf8(get).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\
             Connection: close\r\n\r\n198.18.0.10\n"
        );
        let head = http_response("2001:db8::10".parse().unwrap(), true);
        let head = String::from_utf8(head).unwrap();
        assert!(head.contains("Content-Length: 13\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        assert!(head_complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(head_complete(b"GET / HTTP/1.0\n\n"));
        assert!(!head_complete(b"GET / HTTP/1.1\r\nHost: x\r\n"));
    }

    /// In the lab (root): GET and HEAD are answered with the address, split writes too;
    /// other bytes, even ones that begin like a request, are still echoed.
    #[test]
    fn answers_http_requests_and_echoes_the_rest() {
        if !crate::require_root("answers_http_requests_and_echoes_the_rest") {
            return;
        }
        let lab = Lab::builder()
            .server("198.18.0.10".parse().unwrap(), Behavior::Accept)
            .server(
                "2001:db8::10".parse().unwrap(),
                Behavior::Delay(Duration::from_millis(20)),
            )
            .port(8080)
            .start()
            .unwrap();
        lab.run_in_client(|| {
            let timeout = Some(Duration::from_secs(5));
            let open = |addr: &str| {
                let stream = TcpStream::connect(addr).unwrap();
                stream.set_read_timeout(timeout).unwrap();
                stream
            };
            for (addr, name) in [
                ("198.18.0.10:8080", "198.18.0.10"),
                ("[2001:db8::10]:8080", "2001:db8::10"),
            ] {
                // GET, the request line split over two writes.
                let mut s = open(addr);
                s.write_all(b"GE").unwrap();
                std::thread::sleep(Duration::from_millis(20));
                s.write_all(b"T / HTTP/1.1\r\nHost: dual.test\r\n\r\n")
                    .unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).unwrap(); // The server closes first.
                assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
                assert!(answer.contains("Connection: close\r\n"), "{answer}");
                assert!(answer.ends_with(&format!("\r\n\r\n{name}\n")), "{answer}");

                // HEAD: the same head, no body.
                let mut s = open(addr);
                s.write_all(b"HEAD / HTTP/1.0\r\n\r\n").unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).unwrap();
                assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
                assert!(answer.ends_with("\r\n\r\n"), "{answer}");

                // Not HTTP/1.x: echoed, whole.
                let mut s = open(addr);
                for message in [&b"GET something\n"[..], b"hello lab"] {
                    s.write_all(message).unwrap();
                    let mut echoed = vec![0u8; message.len()];
                    s.read_exact(&mut echoed).unwrap();
                    assert_eq!(echoed, message);
                }
            }
        })
        .unwrap();
        for addr in ["198.18.0.10", "2001:db8::10"] {
            let addr: IpAddr = addr.parse().unwrap();
            assert_eq!(lab.accepted_count(addr), 3, "{addr}");
        }
    }
}
