//! The proxies measured, as child processes on loopback, and the servers behind them (threads
//! of this process): an echo server for the per-request latency and a source that sends a
//! large transfer.
//!
//! Every listener is on 127.0.0.1 with an ephemeral port; nothing leaves the host.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Threads accepting on each server's listener: connections are handled without a thread
/// spawn on the request's path, and one connection that a proxy is slow to close does not
/// hold up the next request.
const SERVER_THREADS: usize = 4;

/// How long a proxy has to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The size of the source's writes (and the client's reads) in the transfer.
pub const TRANSFER_CHUNK: usize = 256 * 1024;

/// A server running on threads of this process until the process ends (the benchmark is
/// short-lived; its threads block in `accept`).
#[derive(Debug, Clone, Copy)]
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
}

/// An echo server: each connection gets back what it sends, until it closes.
pub fn echo_server() -> io::Result<Server> {
    serve(|mut conn| {
        let _ = conn.set_nodelay(true);
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if conn.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    })
}

/// A source: each connection, once it sent one byte ("go"), gets `bytes` bytes, then a FIN;
/// the rest it sends is read and dropped until it closes.
pub fn source_server(bytes: u64) -> io::Result<Server> {
    serve(move |mut conn| {
        let mut go = [0u8; 1];
        if !matches!(conn.read(&mut go), Ok(1)) {
            return;
        }
        let chunk = vec![0x5a_u8; TRANSFER_CHUNK];
        let mut left = bytes;
        while left > 0 {
            let n = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
            if conn.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n as u64;
        }
        let _ = conn.shutdown(Shutdown::Write);
        let mut sink = [0u8; 4096];
        while matches!(conn.read(&mut sink), Ok(1..)) {}
    })
}

/// Listens on 127.0.0.1 (ephemeral port) and runs `handle` for each connection on
/// [`SERVER_THREADS`] accepting threads.
fn serve(handle: impl Fn(TcpStream) + Send + Sync + Clone + 'static) -> io::Result<Server> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    for _ in 0..SERVER_THREADS {
        let listener = listener.try_clone()?;
        let handle = handle.clone();
        thread::Builder::new()
            .name("proxy-bench-server".to_owned())
            .spawn(move || {
                for conn in listener.incoming() {
                    match conn {
                        Ok(conn) => handle(conn),
                        // EMFILE and the like: wait instead of spinning.
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            })?;
    }
    Ok(Server { addr })
}

/// A proxy measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `eyeballs proxy`, this checkout's release build.
    Eyeballs,
    /// microsocks (Debian package `microsocks`).
    Microsocks,
    /// Dante's `danted` (Debian package `dante-server`).
    Dante,
}

impl Kind {
    /// Every proxy, in row order.
    pub const ALL: [Kind; 3] = [Kind::Eyeballs, Kind::Microsocks, Kind::Dante];

    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Eyeballs => "eyeballs proxy",
            Kind::Microsocks => "microsocks",
            Kind::Dante => "dante-server (danted)",
        }
    }
}

/// A proxy running as a child process; killed (and waited for) when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// Its SOCKS5 address.
    pub addr: SocketAddr,
    /// Its version, as it or its package tells it.
    pub version: String,
    child: Child,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kind` on a free port of 127.0.0.1, with its files under `dir`; waits until it
/// accepts connections.
pub fn start(kind: Kind, eyeballs_cli: &Path, dir: &Path) -> Result<Proxy, String> {
    let port = free_port().map_err(|e| format!("finding a free port: {e}"))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (mut command, version) = match kind {
        Kind::Eyeballs => {
            let mut c = Command::new(eyeballs_cli);
            // Loopback is denied by default (the servers are on 127.0.0.1): opened, as an
            // operator would to reach local services. Everything else is the defaults.
            c.args(["proxy", "--listen", &addr.to_string(), "--allow-loopback"]);
            // "eyeballs 0.1.0": the version only.
            let version = first_line(eyeballs_cli.as_os_str(), &["--version"]);
            let version = version.rsplit(' ').next().unwrap_or_default().to_owned();
            (c, version)
        }
        Kind::Microsocks => {
            let bin = find("microsocks").ok_or(
                "microsocks is not installed (Debian package microsocks; the setup step \
                 installs it as root)",
            )?;
            let mut c = Command::new(&bin);
            c.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
            (c, package_version("microsocks"))
        }
        Kind::Dante => {
            let bin = find("danted").ok_or(
                "danted is not installed (Debian package dante-server; the setup step \
                 installs it as root)",
            )?;
            let conf = dir.join("danted.conf");
            std::fs::write(&conf, dante_config(port))
                .map_err(|e| format!("writing {}: {e}", conf.display()))?;
            let mut c = Command::new(&bin);
            // In the foreground (no -D), its pid file in our directory.
            c.arg("-f").arg(&conf).arg("-p").arg(dir.join("danted.pid"));
            let version = first_line(bin.as_os_str(), &["-v"]);
            // "Dante v1.4.2.  Copyright ...": the first two words.
            let version: Vec<&str> = version.split_whitespace().take(2).collect();
            (c, version.join(" ").trim_end_matches('.').to_owned())
        }
    };
    let log = dir.join(format!("{kind:?}.log").to_lowercase());
    let stderr = std::fs::File::create(&log)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null());
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", kind.label()))?;
    let mut proxy = Proxy {
        addr,
        version,
        child,
    };
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = proxy.child.try_wait() {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "{} exited at start ({status}): {}",
                kind.label(),
                crate::shorten(said.trim(), 300)
            ));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(proxy);
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!(
                "{} did not listen on {addr} within {START_TIMEOUT:?}",
                kind.label()
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// danted's configuration: SOCKS5 on 127.0.0.1:`port`, no authentication, CONNECT to
/// loopback only, no log of each client (its errors on stderr).
pub fn dante_config(port: u16) -> String {
    format!(
        "# Written by eyeballs-bench for the proxy benchmark.\n\
         logoutput: /dev/null\n\
         errorlog: stderr\n\
         internal: 127.0.0.1 port = {port}\n\
         external: 127.0.0.1\n\
         clientmethod: none\n\
         socksmethod: none\n\
         user.privileged: root\n\
         user.unprivileged: nobody\n\
         client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}}\n\
         socks pass {{\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n  command: connect\n}}\n"
    )
}

/// A port free on 127.0.0.1 just now (bound and released).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// `name` on the PATH or in the sbin directories (danted is in /usr/sbin, which a user's
/// PATH may lack).
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A Debian package's version, or "" when dpkg does not know it.
fn package_version(package: &str) -> String {
    first_line("dpkg-query".as_ref(), &["-W", "-f", "${Version}", package])
}

/// The first line a command prints on stdout, or "" when it cannot run.
fn first_line(program: &std::ffi::OsStr, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dante_config_listens_on_loopback_without_auth() {
        let conf = dante_config(1234);
        assert!(conf.contains("internal: 127.0.0.1 port = 1234\n"), "{conf}");
        assert!(conf.contains("socksmethod: none\n"), "{conf}");
        assert!(conf.contains("to: 127.0.0.0/8"), "{conf}");
        assert!(!conf.contains("0.0.0.0 port"), "{conf}");
    }

    #[test]
    fn the_echo_server_echoes_and_the_source_sends_its_bytes() {
        let echo = echo_server().unwrap();
        let mut s = TcpStream::connect(echo.addr).unwrap();
        s.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        s.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"ping");

        let source = source_server(300_000).unwrap();
        let mut s = TcpStream::connect(source.addr).unwrap();
        s.write_all(b"g").unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), 300_000);
    }
}
