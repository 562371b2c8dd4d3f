//! Noticing that an HTTP client has gone while its request waits on a race: hyper does not
//! read from a connection while its service is busy with a request, so a client that closes
//! then would leave its race running (up to the kernel's two minutes of SYN retries towards a
//! black hole). [`Gone`] watches a duplicate of the client's socket for its read side closing
//! (`EPOLLRDHUP`: a FIN or a reset), without reading from it.
//!
//! As for SOCKS clients (`client::closed_by`), a client that half-closes while its race runs
//! counts as gone: before anything is written to it, TCP cannot tell a half-close from a close.

use std::io;
use std::os::fd::AsFd;

use tokio::io::Interest;
use tokio::net::TcpStream;

/// A watch on one client's socket (a duplicate descriptor, closed with it).
#[derive(Debug)]
pub struct Gone {
    /// The duplicate, registered with the runtime (never read from); `None` when it could not
    /// be made: then the client is never seen to go (the race runs to its own end).
    fd: Option<TcpStream>,
}

impl Gone {
    /// Watches `client`.
    pub fn watch(client: &TcpStream) -> Gone {
        let fd = client.as_fd().try_clone_to_owned().ok().and_then(|fd| {
            let std = std::net::TcpStream::from(fd);
            // The duplicate shares the original's file description: already non-blocking.
            TcpStream::from_std(std).ok()
        });
        Gone { fd }
    }

    /// Resolves once the client's read side is closed; never while it is open, whatever it
    /// sends (data is left for hyper to read).
    pub async fn closed(&self) {
        let Some(fd) = &self.fd else {
            return std::future::pending().await;
        };
        loop {
            match fd.ready(Interest::READABLE).await {
                Ok(ready) if ready.is_read_closed() => return,
                Ok(_) => {
                    // Only data (hyper's to read): forget this readiness and wait for the
                    // next change.
                    let _ = fd.try_io(Interest::READABLE, || {
                        Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
                    });
                }
                Err(_) => return,
            }
        }
    }
}
