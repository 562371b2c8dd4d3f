//! One attempt's socket: a connect that either waits (nothing else in the race can happen
//! meanwhile) or returns at once and is watched with poll(2) until the handshake is over.

use std::io;
use std::net::{SocketAddr, TcpStream};

use rustix::event::PollFlags;
use rustix::io::Errno;
use socket2::Socket;

use crate::socket::{Mode, SocketOptions};

/// How a connect began.
#[derive(Debug)]
pub(super) enum Started {
    /// The handshake is under way (on a non-blocking socket, or on a blocking one whose
    /// connect a signal interrupted): poll it for writability.
    InFlight(Socket),
    /// It is over: connected (a blocking stream) or failed.
    Ended(io::Result<TcpStream>),
}

/// Opens a socket for `addr` with the connector's set-up (bind, interface, hook) and starts
/// connecting it. `wait`: connect in blocking mode, for an attempt nothing else in the race
/// can interrupt (the cheapest connect there is: what `std` does). An error here (the hook's,
/// a bind's, an immediate refusal) ends the attempt at once.
pub(super) fn start(options: &SocketOptions, addr: SocketAddr, wait: bool) -> Started {
    let mode = if wait {
        Mode::Blocking
    } else {
        Mode::NonBlocking
    };
    let socket = match options.open(addr, mode) {
        Ok(socket) => socket,
        Err(e) => return Started::Ended(Err(e)),
    };
    match socket.connect(&addr.into()) {
        Ok(()) if wait => Started::Ended(Ok(socket.into())),
        Ok(()) => Started::Ended(into_blocking(socket)),
        Err(e) if !wait && in_progress(&e) => Started::InFlight(socket),
        // A signal interrupted a blocking connect (a handler installed without
        // `SA_RESTART`): the handshake goes on, so it is polled like any other.
        Err(e) if wait && e.kind() == io::ErrorKind::Interrupted => Started::InFlight(socket),
        Err(e) => Started::Ended(Err(e)),
    }
}

/// A blocking connect to `addr` with the connector's set-up, within `timeout` if given.
pub(super) fn connect(
    options: &SocketOptions,
    addr: SocketAddr,
    timeout: Option<std::time::Duration>,
) -> io::Result<TcpStream> {
    let socket = options.open(addr, Mode::Blocking)?;
    match timeout {
        Some(timeout) => socket.connect_timeout(&addr.into(), timeout)?,
        None => socket.connect(&addr.into())?,
    }
    Ok(socket.into())
}

/// Whether a non-blocking `connect` error only says the handshake is under way.
fn in_progress(e: &io::Error) -> bool {
    e.raw_os_error() == Some(Errno::INPROGRESS.raw_os_error())
}

/// What poll(2) should watch an attempt in flight for.
pub(super) const WATCH: PollFlags = PollFlags::OUT;

/// After poll(2) reported `revents` for an attempt in flight: `None` while the handshake is
/// still under way, else how it ended (mio's recipe: the pending error first, then whether a
/// peer is there).
///
/// On Linux, writability without `POLLERR` or `POLLHUP` is a completed handshake: every way
/// a connect fails (a reset, a hard ICMP error, the SYN retries running out) records the
/// socket's error and closes it, and `tcp_poll` reports a recorded error as `POLLERR` and a
/// closed socket as `POLLHUP`. So the winner costs no `getsockopt(SO_ERROR)` there; other
/// systems are asked.
pub(super) fn outcome(socket: &Socket, revents: PollFlags) -> Option<io::Result<()>> {
    if !revents.intersects(PollFlags::OUT | PollFlags::ERR | PollFlags::HUP) {
        return None;
    }
    if cfg!(any(target_os = "linux", target_os = "android"))
        && !revents.intersects(PollFlags::ERR | PollFlags::HUP)
    {
        return Some(Ok(()));
    }
    match socket.take_error() {
        Ok(None) => {}
        Ok(Some(e)) | Err(e) => return Some(Err(e)),
    }
    if !revents.intersects(PollFlags::ERR | PollFlags::HUP) {
        return Some(Ok(()));
    }
    match socket.peer_addr() {
        Ok(_) => Some(Ok(())),
        Err(e) if e.kind() == io::ErrorKind::NotConnected || in_progress(&e) => None,
        Err(e) => Some(Err(e)),
    }
}

/// A connected socket as the caller gets it: a blocking [`TcpStream`] (std's
/// `set_nonblocking` is one `ioctl`).
pub(super) fn into_blocking(socket: Socket) -> io::Result<TcpStream> {
    let stream = TcpStream::from(socket);
    stream.set_nonblocking(false)?;
    Ok(stream)
}
