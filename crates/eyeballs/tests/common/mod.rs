//! Helpers shared by the driver's tests: a scripted resolver, loopback endpoints that behave
//! one way each, and open-fd counting.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use eyeballs::proto::{DnsResult, RecordType};
use eyeballs::resolver::{Lookup, Resolver};

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Offsets measured on the real kernel are checked with this much slack: the machines are
/// shared.
pub const SLACK: Duration = Duration::from_millis(25);

/// Asserts that `got` is within [`SLACK`] of `want` (printing both, for the log).
#[track_caller]
pub fn assert_near(got: Duration, want: Duration, what: &str) {
    eprintln!("{what}: {got:?} (expected {want:?})");
    assert!(
        got + SLACK >= want && got <= want + SLACK,
        "{what}: {got:?} is not within {SLACK:?} of {want:?}"
    );
}

/// A resolver whose answers, and when they come, are scripted per record type. A record type
/// with no script never answers.
#[derive(Debug, Clone, Default)]
pub struct ScriptedResolver {
    answers: HashMap<RecordType, (Duration, DnsResult)>,
}

impl ScriptedResolver {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn answer(mut self, record: RecordType, after: Duration, result: DnsResult) -> Self {
        self.answers.insert(record, (after, result));
        self
    }

    pub fn addresses(self, record: RecordType, after: Duration, ips: &[IpAddr]) -> Self {
        self.answer(record, after, DnsResult::addresses(ips.iter().copied()))
    }
}

impl Resolver for ScriptedResolver {
    fn lookup(&self, _name: &str, record: RecordType) -> Lookup {
        let script = self.answers.get(&record).cloned();
        Box::pin(async move {
            match script {
                Some((after, result)) => {
                    tokio::time::sleep(after).await;
                    result
                }
                None => std::future::pending().await,
            }
        })
    }
}

/// A loopback listener whose accept queue is full, so that new SYNs are dropped: a black hole
/// without privileges. Keep it alive for as long as the black hole is needed.
pub struct BlackHole {
    pub addr: SocketAddr,
    listener: socket2::Socket,
    filler: Vec<TcpStream>,
}

impl BlackHole {
    pub fn new(ip: IpAddr) -> BlackHole {
        use socket2::{Domain, Socket, Type};
        let domain = if ip.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let listener = Socket::new(domain, Type::STREAM, None).unwrap();
        listener.bind(&SocketAddr::new(ip, 0).into()).unwrap();
        listener.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        // Fill the accept queue; once full the kernel drops further SYNs.
        let mut filler = Vec::new();
        for _ in 0..4 {
            match TcpStream::connect_timeout(&addr, ms(100)) {
                Ok(s) => filler.push(s),
                Err(_) => break,
            }
        }
        assert!(
            !filler.is_empty(),
            "could not fill the accept queue of {addr}"
        );
        BlackHole {
            addr,
            listener,
            filler,
        }
    }

    /// Opens the hole: accepts what is queued, so that the next SYN (a connect's next
    /// retransmission) is answered.
    pub fn open(&mut self) {
        self.listener.set_nonblocking(true).unwrap();
        while self.listener.accept().is_ok() {}
        self.filler.clear();
    }
}

/// A loopback port nobody listens on: connecting is refused at once.
pub fn refusing(ip: IpAddr) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    close(listener);
    addr
}

/// Closes `listener` for good: out of LISTEN at once, even while a child forked by another
/// thread still holds a copy of its descriptor (dropping alone leaves the port listening
/// until that child execs: a connect meant to be refused would be accepted).
pub fn close(listener: TcpListener) {
    let _ = socket2::SockRef::from(&listener).shutdown(std::net::Shutdown::Read);
}

/// A loopback listener that accepts (the kernel completes handshakes; nobody calls accept).
pub fn accepting(ip: IpAddr) -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// The number of file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

pub const V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
pub const V4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
