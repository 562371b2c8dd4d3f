//! One attempt's socket: a non-blocking connect, and mio's recipe for telling when it is over
//! (register for writability; on an event, `take_error`, then `peer_addr`).

use std::io;
use std::net::{SocketAddr, TcpStream};

use mio::net::TcpStream as MioStream;

use crate::socket::SocketOptions;

/// How a non-blocking connect began.
#[derive(Debug)]
pub(super) enum Started {
    /// The handshake is under way: wait for the socket to become writable.
    InFlight(MioStream),
    /// Connected at once.
    Connected(MioStream),
}

/// Opens a socket for `addr` with the connector's set-up (bind, interface, hook) and starts
/// connecting it. An error here (the hook's, a bind's, an immediate refusal) fails the attempt.
pub(super) fn start(options: &SocketOptions, addr: SocketAddr) -> io::Result<Started> {
    let socket = options.open(addr)?;
    match socket.connect(&addr.into()) {
        Ok(()) => Ok(Started::Connected(MioStream::from_std(socket.into()))),
        Err(e) if in_progress(&e) => Ok(Started::InFlight(MioStream::from_std(socket.into()))),
        Err(e) => Err(e),
    }
}

/// Whether a non-blocking `connect` error only says the handshake is under way: `EINPROGRESS`
/// on Unix, `WSAEWOULDBLOCK` on Windows (as tokio's `TcpSocket::connect` reads them).
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    return e.raw_os_error() == Some(libc::EINPROGRESS);
    #[cfg(not(unix))]
    return e.kind() == io::ErrorKind::WouldBlock;
}

/// After a readiness event: `None` while the handshake is still under way (a spurious event),
/// else how the connect ended.
pub(super) fn outcome(stream: &MioStream) -> Option<io::Result<()>> {
    match stream.take_error() {
        Ok(None) => {}
        Ok(Some(e)) | Err(e) => return Some(Err(e)),
    }
    match stream.peer_addr() {
        Ok(_) => Some(Ok(())),
        Err(e) if e.kind() == io::ErrorKind::NotConnected || in_progress(&e) => None,
        Err(e) => Some(Err(e)),
    }
}

/// A connected socket (deregistered from the poller) as the caller gets it: a blocking
/// [`TcpStream`].
pub(super) fn into_blocking(stream: MioStream) -> io::Result<TcpStream> {
    let stream = TcpStream::from(stream);
    stream.set_nonblocking(false)?;
    Ok(stream)
}
