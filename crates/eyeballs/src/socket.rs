//! Socket set-up for each attempt (socket2), and the source-address probe for RFC 6724.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;

use eyeballs_proto::SourceAddr;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

/// A hook run on every socket after it is created and bound, before it connects: set options
/// (`TCP_NODELAY`, keepalive, marks, buffer sizes) the way a socket factory would.
///
/// It gets the socket and the destination. An error fails that attempt only.
pub type SocketHook = Arc<dyn Fn(&Socket, SocketAddr) -> io::Result<()> + Send + Sync>;

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
    /// Creates, sets up and connects one socket to `addr`.
    pub(crate) async fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = self.open(addr)?;
        let socket = TcpSocket::from_std_stream(socket.into());
        socket.connect(addr).await
    }

    /// A non-blocking socket for `addr`, bound and set up, not yet connecting.
    pub(crate) fn open(&self, addr: SocketAddr) -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
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

    /// The source address the host would use for `dest` (RFC 6724 §6, R6724-4): a UDP
    /// `connect()` sends no packet but makes the kernel pick a route and a source. A bound
    /// local address is the source; no route means [`SourceAddr::Unreachable`].
    pub(crate) fn probe_source(&self, dest: IpAddr) -> SourceAddr {
        let bind_ip = self
            .local_addrs
            .iter()
            .copied()
            .find(|ip| ip.is_ipv6() == dest.is_ipv6())
            .unwrap_or(match dest {
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            });
        if !self.local_addrs.is_empty() && bind_ip.is_unspecified() {
            // Local addresses were given, none of this family: attempts will fail to bind.
            return SourceAddr::Unreachable;
        }
        // Any port will do for a route lookup; 443 avoids port 0, which some stacks refuse.
        let probe = UdpSocket::bind(SocketAddr::new(bind_ip, 0))
            .and_then(|s| s.connect(SocketAddr::new(dest, 443)).map(|()| s))
            .and_then(|s| s.local_addr());
        match probe {
            Ok(local) => SourceAddr::Addr(local.ip()),
            Err(_) => SourceAddr::Unreachable,
        }
    }
}
