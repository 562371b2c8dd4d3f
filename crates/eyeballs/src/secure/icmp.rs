//! ICMP errors on a race's UDP sockets (Linux): how a QUIC attempt to a port that refuses
//! UDP fails at once, as a TCP attempt to a closed port does, instead of waiting for its
//! handshake to time out.
//!
//! An unconnected UDP socket hears nothing of ICMP unless `IP_RECVERR` / `IPV6_RECVERR` is on
//! (ip(7)); with it, the kernel queues each error with the destination of the datagram that
//! caused it, and reports the socket in error (`EPOLLERR`). The [`ErrorWatch`] holds a
//! second descriptor of the socket, registered with tokio for error readiness only, and reads
//! the queue (`MSG_ERRQUEUE`) when it is woken; attempts ask it whether their peer refused.
//! quinn's own receive path meanwhile skips the pending error the kernel returns once
//! (`ECONNREFUSED`) and goes on.
//!
//! Only "unreachable" errors that come from ICMP count (port, host, network unreachable,
//! administratively prohibited); local errors and "packet too big" (path MTU) do not. An
//! off-path attacker who forges them can at most make a race fall back to TCP a little
//! sooner, which is what a black-holed UDP path leads to anyway.

use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, PoisonError};

use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrLike, SockaddrStorage,
};
use tokio::io::Interest;

/// `SO_EE_ORIGIN_ICMP` and `SO_EE_ORIGIN_ICMP6` (linux/errqueue.h): the error came from an
/// ICMP message rather than from the local stack.
const ORIGIN_ICMP: u8 = 2;
const ORIGIN_ICMP6: u8 = 3;

/// How many queued errors one wake-up reads at most (the kernel bounds the queue by the
/// socket's receive buffer; the rest are read on the next wake-up).
const DRAIN_BATCH: usize = 64;

/// The ICMP errors of one UDP socket, by the destination they answered.
#[derive(Debug)]
pub(crate) struct ErrorWatch {
    /// A duplicate descriptor of the race's socket: only its error readiness is waited for,
    /// and only its error queue read.
    fd: tokio::net::UdpSocket,
    v6: bool,
    /// The latest error per destination, kept only for destinations an attempt asked about.
    errors: Mutex<HashMap<SocketAddr, Option<Errno>>>,
}

impl ErrorWatch {
    /// Turns `IP_RECVERR` (or `IPV6_RECVERR`) on for `socket` and watches a duplicate of its
    /// descriptor. Call within a tokio runtime.
    pub(crate) fn new(socket: &UdpSocket) -> io::Result<Self> {
        let v6 = socket.local_addr()?.is_ipv6();
        if v6 {
            setsockopt(socket, sockopt::Ipv6RecvErr, &true)?;
        } else {
            setsockopt(socket, sockopt::Ipv4RecvErr, &true)?;
        }
        let fd = tokio::net::UdpSocket::from_std(socket.try_clone()?)?;
        Ok(ErrorWatch {
            fd,
            v6,
            errors: Mutex::new(HashMap::new()),
        })
    }

    /// A future that resolves when an ICMP error says `peer` is unreachable, with that
    /// error as an `io::Error` (`ConnectionRefused` for a port that refuses UDP); pending
    /// forever if none comes. `peer` is watched from this call on; drop the future to stop.
    pub(crate) fn refusal(
        self: &Arc<Self>,
        peer: SocketAddr,
    ) -> impl std::future::Future<Output = io::Error> + Send + 'static {
        self.lock().insert(peer, None);
        let asked = Asked(Arc::clone(self), peer);
        async move {
            let watch = &asked.0;
            loop {
                if let Some(errno) = watch.lock().get(&peer).copied().flatten() {
                    return io::Error::from(errno);
                }
                match watch.fd.ready(Interest::ERROR).await {
                    Ok(_) => {
                        // Read the queue, then clear the readiness (`WouldBlock` does).
                        let _ = watch.fd.try_io(Interest::ERROR, || {
                            watch.drain();
                            Err::<(), _>(io::ErrorKind::WouldBlock.into())
                        });
                    }
                    // The registration is gone: no error can be heard any more.
                    Err(_) => std::future::pending::<()>().await,
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Option<Errno>>> {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the queued errors, keeping those of destinations an attempt asked about.
    fn drain(&self) {
        // Room for the error and the offender's address, and for the other control messages
        // quinn's socket options add to every message (packet info, TOS / traffic class, …):
        // too small a buffer truncates them (`ENOBUFS` from `cmsgs`).
        let mut space = nix::cmsg_space!(
            nix::libc::sock_extended_err,
            nix::libc::sockaddr_in6,
            nix::libc::in6_pktinfo,
            nix::libc::in6_pktinfo,
            [u32; 16]
        );
        for _ in 0..DRAIN_BATCH {
            let mut head = [0u8; 64];
            let mut iov = [IoSliceMut::new(&mut head)];
            let received = recvmsg::<SockaddrStorage>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space[..]),
                MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
            );
            let message = match received {
                Ok(message) => message,
                Err(Errno::EINTR) => continue,
                // EAGAIN: the queue is empty.
                Err(_) => return,
            };
            let Some(dest) = message.address.as_ref().and_then(socket_addr) else {
                continue;
            };
            let Ok(cmsgs) = message.cmsgs() else {
                continue;
            };
            let errno = cmsgs.into_iter().find_map(|c| match c {
                ControlMessageOwned::Ipv4RecvErr(e, _) if !self.v6 => Some(e),
                ControlMessageOwned::Ipv6RecvErr(e, _) if self.v6 => Some(e),
                _ => None,
            });
            let Some(err) = errno else { continue };
            if !matches!(err.ee_origin, ORIGIN_ICMP | ORIGIN_ICMP6) {
                continue;
            }
            let errno = Errno::from_raw(err.ee_errno as i32);
            if !is_unreachable(errno) {
                continue;
            }
            if let Some(slot) = self.lock().get_mut(&dest) {
                *slot = Some(errno);
            }
        }
    }
}

/// A destination an attempt watches; forgotten when it stops (it connected, lost, or ended).
struct Asked(Arc<ErrorWatch>, SocketAddr);

impl Drop for Asked {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

/// The errors that say the destination cannot be reached (an ICMP "destination
/// unreachable" of some code), not that a datagram was too big.
fn is_unreachable(errno: Errno) -> bool {
    matches!(
        errno,
        Errno::ECONNREFUSED
            | Errno::EHOSTUNREACH
            | Errno::ENETUNREACH
            | Errno::EACCES
            | Errno::EPERM
            | Errno::EPROTO
    )
}

fn socket_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
        .filter(|_| addr.family().is_some())
}
