//! The loopback tests' harness: `eyeballs proxy` started on a free port with its log
//! collected, destinations (echo servers, a fake DNS server on 127.0.0.1), SOCKS5 by hand.
//! No real name is ever looked up, and all traffic stays on loopback.
#![allow(dead_code, unused_imports)]

pub mod http;

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command as AssertCommand;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use predicates::prelude::*;

/// Every read in these tests gives up after this long (a hang is a failure, not a stall).
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// The proxy process.

/// A running `eyeballs proxy`, killed on drop (also when the test fails), with its stderr
/// collected line by line.
pub struct Proxy {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Starts `eyeballs proxy --listen 127.0.0.1:PORT --allow-loopback ARGS` (the tests'
    /// destinations are on loopback, denied by default) on a free port.
    pub fn start(args: &[&str]) -> Proxy {
        Proxy::start_strict(&[&["--allow-loopback"][..], args].concat())
    }

    /// Starts `eyeballs proxy --listen 127.0.0.1:PORT ARGS` on a free port: the port is
    /// found by binding port 0 and closing it, so another process may take it in between;
    /// then the proxy cannot listen and the next port is tried.
    pub fn start_strict(args: &[&str]) -> Proxy {
        let mut last_log = Vec::new();
        for _ in 0..10 {
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut proxy = Proxy::spawn(addr, args);
            match proxy.wait_ready() {
                Ok(()) => return proxy,
                Err(log) if log.iter().any(|l| l.contains("in use")) => last_log = log,
                Err(log) => panic!("the proxy did not start:\n{}", log.join("\n")),
            }
        }
        panic!("no free port after 10 tries:\n{}", last_log.join("\n"));
    }

    pub fn spawn(addr: SocketAddr, args: &[&str]) -> Proxy {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eyeballs"))
            .args(["proxy", "--listen", &addr.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stderr);
            let mut line = String::new();
            while matches!(std::io::BufRead::read_line(&mut reader, &mut line), Ok(n) if n > 0) {
                lines.lock().unwrap().push(line.trim_end().to_owned());
                line.clear();
            }
        });
        Proxy { child, addr, log }
    }

    /// Waits for the "listening on" line; the log if the proxy exited instead.
    pub fn wait_ready(&mut self) -> Result<(), Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.lines().iter().any(|l| l.contains("listening on")) {
                return Ok(());
            }
            if self.child.try_wait().unwrap().is_some() {
                thread::sleep(Duration::from_millis(50)); // Let the reader finish.
                return Err(self.lines());
            }
            thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "the proxy did not say it listens:\n{}",
            self.lines().join("\n")
        );
    }

    pub fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) for a log line containing every one of `parts`.
    pub fn wait_log(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            if let Some(line) = self
                .lines()
                .into_iter()
                .find(|l| parts.iter().all(|p| l.contains(p)))
            {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?}:\n{}",
                self.lines().join("\n")
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// A new connection to the proxy.
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        s
    }

    pub fn assert_running(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the proxy exited:\n{}",
            self.lines().join("\n")
        );
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < limit,
                "still running after {limit:?}:\n{}",
                self.lines().join("\n")
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    close(listener);
    port
}

/// Closes `listener` for good: out of LISTEN at once, even while a child forked by another
/// test still holds a copy of its descriptor (dropping alone leaves the port listening
/// until that child execs: a connect meant to be refused is accepted, a bind fails).
pub fn close(listener: TcpListener) {
    let _ = socket2::SockRef::from(&listener).shutdown(std::net::Shutdown::Read);
}

/// A loopback port with nothing listening (connections are refused).
pub fn closed_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()))
}

// ---------------------------------------------------------------------------------------
// Destinations.

/// A TCP server on `ip` (port chosen by the OS) serving each connection with `serve`.
pub fn server(ip: IpAddr, serve: fn(TcpStream)) -> Option<SocketAddr> {
    let listener = TcpListener::bind((ip, 0)).ok()?;
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
    Some(addr)
}

/// Echoes until EOF, then shuts its side down.
pub fn echo(mut s: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 || s.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = s.shutdown(Shutdown::Write);
}

/// Reads until EOF, then answers how many bytes came (a half-close must reach it, and its
/// answer must still come back).
pub fn count(mut s: TcpStream) {
    let mut all = Vec::new();
    if s.read_to_end(&mut all).is_ok() {
        let _ = s.write_all(format!("got {} bytes\n", all.len()).as_bytes());
    }
}

pub fn echo_v4() -> SocketAddr {
    server(Ipv4Addr::LOCALHOST.into(), echo).unwrap()
}

// ---------------------------------------------------------------------------------------
// A fake DNS server on loopback.

#[derive(Clone)]
pub enum Answer {
    Addrs(Vec<IpAddr>),
    NxDomain,
    Never,
}

/// Answers A and AAAA queries for `zone` (other names: NXDOMAIN) on 127.0.0.1, over UDP
/// and TCP on the same port: an answer longer than 512 bytes goes over UDP truncated (TC,
/// no records), and whole over TCP, as a real server without EDNS would.
pub fn fake_dns(zone: &[(&str, Answer)]) -> SocketAddr {
    let zone: HashMap<String, Answer> = zone
        .iter()
        .map(|(n, a)| (n.to_string(), a.clone()))
        .collect();
    let (socket, tcp) = loop {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        if let Ok(tcp) = TcpListener::bind(socket.local_addr().unwrap()) {
            break (socket, tcp);
        }
    };
    let addr = socket.local_addr().unwrap();
    let tcp_zone = zone.clone();
    thread::spawn(move || {
        for mut stream in tcp.incoming().flatten() {
            let zone = tcp_zone.clone();
            thread::spawn(move || loop {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).is_err() {
                    break;
                }
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut query).is_err() {
                    break;
                }
                if let Some(response) = dns_response(&query, &zone) {
                    let mut framed = (response.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&response);
                    if stream.write_all(&framed).is_err() {
                        break;
                    }
                }
            });
        }
    });
    thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(mut response) = dns_response(&buf[..n], &zone) {
                if response.len() > 512 {
                    // TC set, the answer count zeroed, the records cut: ask over TCP.
                    let mut end = 12;
                    while response[end] != 0 {
                        end += 1 + usize::from(response[end]);
                    }
                    response.truncate(end + 1 + 4);
                    response[2] |= 0x02;
                    response[6] = 0;
                    response[7] = 0;
                }
                let _ = socket.send_to(&response, from);
            }
        }
    });
    addr
}

pub fn dns_response(query: &[u8], zone: &HashMap<String, Answer>) -> Option<Vec<u8>> {
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(pos..pos + len)?).to_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let question = query.get(12..pos + 4)?;
    let (rcode, answers): (u8, Vec<IpAddr>) = match zone.get(&labels.join(".")) {
        None | Some(Answer::NxDomain) => (3, vec![]),
        Some(Answer::Never) => return None,
        Some(Answer::Addrs(addrs)) => (0, addrs.clone()),
    };
    let rdata: Vec<Vec<u8>> = answers
        .iter()
        .filter_map(|ip| match (ip, qtype) {
            (IpAddr::V4(v4), 1) => Some(v4.octets().to_vec()),
            (IpAddr::V6(v6), 28) => Some(v6.octets().to_vec()),
            _ => None,
        })
        .collect();
    let mut r = Vec::new();
    r.extend_from_slice(&query[..2]); // ID
    r.extend_from_slice(&[0x84 | (query[2] & 0x01), 0x80 | rcode]); // QR AA, RD copied, RA
    r.extend_from_slice(&[0, 1, 0, rdata.len() as u8, 0, 0, 0, 0]);
    r.extend_from_slice(question);
    for data in rdata {
        r.extend_from_slice(&[0xC0, 12]); // the name: a pointer to the question's
        r.extend_from_slice(&qtype.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 0, 60, 0, data.len() as u8]);
        r.extend_from_slice(&data);
    }
    Some(r)
}

// ---------------------------------------------------------------------------------------
// SOCKS5 by hand.

/// Greets with "no authentication" and checks the proxy picked it.
pub fn greet(s: &mut TcpStream) {
    s.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read_n(s, 2), [5, 0]);
}

pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// A CONNECT request: ATYP 1/4 for an address, 3 for a name.
pub fn request(to: &Target) -> Vec<u8> {
    request_with(1, to)
}

pub fn request_with(command: u8, to: &Target) -> Vec<u8> {
    let mut r = vec![5, command, 0];
    match to {
        Target::Addr(SocketAddr::V4(a)) => {
            r.push(1);
            r.extend_from_slice(&a.ip().octets());
            r.extend_from_slice(&a.port().to_be_bytes());
        }
        Target::Addr(SocketAddr::V6(a)) => {
            r.push(4);
            r.extend_from_slice(&a.ip().octets());
            r.extend_from_slice(&a.port().to_be_bytes());
        }
        Target::Name(name, port) => {
            r.push(3);
            r.push(name.len() as u8);
            r.extend_from_slice(name);
            r.extend_from_slice(&port.to_be_bytes());
        }
    }
    r
}

pub enum Target {
    Addr(SocketAddr),
    Name(Vec<u8>, u16),
}

pub fn name(host: &str, port: u16) -> Target {
    Target::Name(host.as_bytes().to_vec(), port)
}

/// Reads a reply: its code and bound address.
pub fn read_reply(s: &mut TcpStream) -> (u8, SocketAddr) {
    let head = read_n(s, 4);
    assert_eq!((head[0], head[2]), (5, 0), "reply {head:?}");
    let ip: IpAddr = match head[3] {
        1 => <[u8; 4]>::try_from(read_n(s, 4)).unwrap().into(),
        4 => <[u8; 16]>::try_from(read_n(s, 16)).unwrap().into(),
        other => panic!("bound address of type {other}"),
    };
    let port = read_n(s, 2);
    (
        head[1],
        SocketAddr::new(ip, u16::from_be_bytes([port[0], port[1]])),
    )
}

/// Greets, sends CONNECT, returns the stream and the reply.
pub fn socks_connect(proxy: &Proxy, to: &Target) -> (TcpStream, u8, SocketAddr) {
    let mut s = proxy.connect();
    greet(&mut s);
    s.write_all(&request(to)).unwrap();
    let (code, bound) = read_reply(&mut s);
    (s, code, bound)
}

/// Whether the proxy closed the connection without sending anything more.
pub fn assert_closed(s: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("{what}: got {:?} instead of a close", &buf[..n]),
        Err(e) => panic!("{what}: {e} instead of a close"),
    }
}

pub fn assert_echoes(s: &mut TcpStream, message: &[u8]) {
    s.write_all(message).unwrap();
    assert_eq!(read_n(s, message.len()), message);
}
