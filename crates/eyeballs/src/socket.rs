//! Socket set-up for each attempt (socket2).

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::history::{HistoryStore, Partition};
use tokio::net::{TcpSocket, TcpStream};

/// A hook run on every socket after it is created and bound, before it connects: set options
/// (`TCP_NODELAY`, keepalive, marks, buffer sizes) the way a socket factory would.
///
/// It gets the socket and the destination. An error fails that attempt only.
pub type SocketHook = Arc<dyn Fn(&Socket, SocketAddr) -> io::Result<()> + Send + Sync>;

/// Whether a socket's calls wait (a `connect` that returns once the handshake is over) or
/// return at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Calls return at once (`O_NONBLOCK`): what a poller or a runtime waits on.
    NonBlocking,
    /// Calls wait: for an attempt that nothing else in the race can interrupt.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    Blocking,
}

/// A TCP socket for `addr`'s family in `mode`, set at creation on Linux (`SOCK_NONBLOCK`: one
/// system call instead of three), with `fcntl` elsewhere.
fn new_socket(addr: SocketAddr, mode: Mode) -> io::Result<Socket> {
    let domain = Domain::for_address(addr);
    #[cfg(any(target_os = "android", target_os = "linux"))]
    if mode == Mode::NonBlocking {
        return Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP));
    }
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if mode == Mode::NonBlocking {
        socket.set_nonblocking(true)?;
    }
    Ok(socket)
}

/// How each attempt's socket is set up.
#[derive(Clone, Default)]
pub(crate) struct SocketOptions {
    /// Local addresses to bind to, tried in order among those of the destination's family.
    pub(crate) local_addrs: Vec<IpAddr>,
    /// An interface to bind to (Linux `SO_BINDTODEVICE`).
    pub(crate) device: Option<String>,
    pub(crate) hook: Option<SocketHook>,
}

impl fmt::Debug for SocketOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketOptions")
            .field("local_addrs", &self.local_addrs)
            .field("device", &self.device)
            .field("hook", &self.hook.as_ref().map(|_| "Fn"))
            .finish()
    }
}

impl SocketOptions {
    /// The history partition of races made with these options from `store`: the store
    /// handle's own, kept apart per interface and local addresses when the sockets are bound
    /// to them (HE-4.5: no history across interfaces).
    pub(crate) fn history_partition(&self, store: &HistoryStore) -> Partition {
        if self.local_addrs.is_empty() && self.device.is_none() {
            return store.partition_handle().clone();
        }
        let mut key = String::from(store.partition_key());
        if let Some(device) = &self.device {
            key.push_str("\0dev ");
            key.push_str(device);
        }
        for addr in &self.local_addrs {
            key.push_str(&format!("\0src {addr}"));
        }
        Partition::new(Arc::from(key))
    }

    /// Creates, sets up and connects one socket to `addr`.
    pub(crate) async fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = self.open(addr, Mode::NonBlocking)?;
        let socket = TcpSocket::from_std_stream(socket.into());
        socket.connect(addr).await
    }

    /// A socket for `addr` in `mode`, bound and set up, not yet connecting.
    pub(crate) fn open(&self, addr: SocketAddr, mode: Mode) -> io::Result<Socket> {
        let socket = new_socket(addr, mode)?;
        self.bind(&socket, addr)?;
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        if let Some(device) = &self.device {
            socket.bind_device(Some(device.as_bytes()))?;
        }
        if let Some(hook) = &self.hook {
            hook(&socket, addr)?;
        }
        Ok(socket)
    }

    /// The UDP socket of a race's QUIC attempts to `first`'s family (one per family, shared by
    /// them): non-blocking, IPv6-only for IPv6, bound to a local address as TCP sockets are
    /// (else to the unspecified address, port 0), to the interface, and given to the hook
    /// with `first`, the destination of the attempt that opened it.
    #[cfg(feature = "quic")]
    pub(crate) fn open_udp(&self, first: SocketAddr) -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(first), Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_nonblocking(true)?;
        if first.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        if self.local_addrs.is_empty() {
            let any: IpAddr = match first {
                SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
            };
            socket.bind(&SockAddr::from(SocketAddr::new(any, 0)))?;
        } else {
            self.bind(&socket, first)?;
        }
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        if let Some(device) = &self.device {
            socket.bind_device(Some(device.as_bytes()))?;
        }
        if let Some(hook) = &self.hook {
            hook(&socket, first)?;
        }
        Ok(socket)
    }

    /// Binds to the first local address of the destination's family that accepts it, trying
    /// the next one on a bind error (as aiohappyeyeballs does with `local_addr_infos`).
    fn bind(&self, socket: &Socket, dest: SocketAddr) -> io::Result<()> {
        if self.local_addrs.is_empty() {
            return Ok(());
        }
        let mut last = None;
        for &ip in self
            .local_addrs
            .iter()
            .filter(|ip| ip.is_ipv6() == dest.is_ipv6())
        {
            match socket.bind(&SockAddr::from(SocketAddr::new(ip, 0))) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no local address of the family of {dest} to bind to"),
            )
        }))
    }
}
