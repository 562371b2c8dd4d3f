//! What a connection costs on loopback, single address: connections per second and CPU time
//! per connection, eyeballs against the plain connect it wraps.
//!
//! Runs in a lab client namespace of its own (its own loopback and port range, nothing else
//! on it), on one thread: sequential connects to a listener whose accepting thread closes
//! each connection. CPU time is the connecting thread's own (`getrusage(RUSAGE_THREAD)`,
//! user + system: the kernel's loopback work for the handshake is charged to it too), so the
//! accepting thread is not counted. Rounds alternate the contenders; the median round counts.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use eyeballs_lab::Lab;
use nix::sys::resource::{getrusage, UsageWho};

use crate::stats::median_f64;

/// One way to open a loopback connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// `tokio::net::TcpStream::connect(addr)`.
    Tokio,
    /// `eyeballs::Connector::connect_addrs([addr])`.
    EyeballsAddrs,
    /// `eyeballs::Connector::connect("127.0.0.1", port)`: an IP literal through the host-name
    /// path (answered without `getaddrinfo`).
    EyeballsLiteral,
    /// `std::net::TcpStream::connect(addr)`.
    Std,
    /// `eyeballs::blocking::Connector::connect_addrs([addr])`.
    Blocking,
}

impl Way {
    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            Way::Tokio => "tokio `TcpStream::connect(addr)`",
            Way::EyeballsAddrs => "eyeballs `Connector::connect_addrs([addr])`",
            Way::EyeballsLiteral => "eyeballs `Connector::connect(\"127.0.0.1\", port)`",
            Way::Std => "std `TcpStream::connect(addr)`",
            Way::Blocking => "eyeballs `blocking::Connector::connect_addrs([addr])`",
        }
    }

    /// What it is compared with (`None`: it is a baseline).
    pub fn baseline(self) -> Option<Way> {
        match self {
            Way::EyeballsAddrs | Way::EyeballsLiteral => Some(Way::Tokio),
            Way::Blocking => Some(Way::Std),
            Way::Tokio | Way::Std => None,
        }
    }
}

/// Every way measured, in table order.
pub const WAYS: [Way; 5] = [
    Way::Tokio,
    Way::EyeballsAddrs,
    Way::EyeballsLiteral,
    Way::Std,
    Way::Blocking,
];

/// One row of the cost table.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// What was measured.
    pub way: Way,
    /// Connections per second (median round).
    pub per_second: f64,
    /// CPU time of the connecting thread per connection (median round).
    pub cpu_per_conn: Duration,
}

/// The cost measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Connections per round and contender.
    pub connections: usize,
    /// Rounds.
    pub rounds: usize,
    /// One row per [`WAYS`] entry.
    pub rows: Vec<CostRow>,
}

impl Cost {
    /// The row of `way`.
    pub fn row(&self, way: Way) -> Option<&CostRow> {
        self.rows.iter().find(|r| r.way == way)
    }
}

/// Measures every way, `connections` per round, `rounds` rounds.
pub fn run(connections: usize, rounds: usize) -> Result<Cost, String> {
    let lab = Lab::builder()
        .start()
        .map_err(|e| format!("starting a lab for the loopback: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let (port_tx, port_rx) = mpsc::channel();
    let acceptor = {
        let stop = Arc::clone(&stop);
        lab.spawn_in_client(move || accept_until(stop, port_tx))
            .map_err(|e| e.to_string())?
    };
    let addr = match port_rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(port)) => SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err("the loopback listener did not start".to_owned()),
    };
    let measured = lab
        .run_in_client(move || measure(addr, connections, rounds))
        .map_err(|e| e.to_string());
    stop.store(true, Ordering::SeqCst);
    // Wakes the acceptor so that it sees `stop`; it may have stopped already.
    let _ = lab.run_in_client(move || TcpStream::connect(addr).map(drop));
    let _ = acceptor.join();
    let rows = measured??;
    Ok(Cost {
        connections,
        rounds,
        rows,
    })
}

/// Accepts and closes connections on a loopback listener until `stop`.
fn accept_until(stop: Arc<AtomicBool>, port: mpsc::Sender<Result<u16, String>>) {
    let listener = match listen_long().and_then(|l| {
        let port = l.local_addr()?.port();
        Ok((l, port))
    }) {
        Ok((l, p)) => {
            let _ = port.send(Ok(p));
            l
        }
        Err(e) => {
            let _ = port.send(Err(format!("loopback listener: {e}")));
            return;
        }
    };
    for stream in listener.incoming() {
        drop(stream);
        if stop.load(Ordering::SeqCst) {
            return;
        }
    }
}

/// A listener on 127.0.0.1 with a long backlog (4096, Linux's default `somaxconn`; std's is
/// 128): when the accepting thread falls behind (2 cores, other work), a full accept queue
/// drops a SYN and that connect waits a second for it to be sent again, which turns the
/// connections-per-second figure into a count of such waits.
fn listen_long() -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// The measuring thread's side.
fn measure(addr: SocketAddr, n: usize, rounds: usize) -> Result<Vec<CostRow>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let connector = eyeballs::Connector::new();
    let blocking = eyeballs::blocking::Connector::from(connector.clone());
    // Warm-up: first-use costs (lazy statics, the runtime's driver) are not what is measured.
    for way in WAYS {
        batch(
            way,
            &rt,
            (&connector, &blocking),
            addr,
            (n / 5).clamp(10, 200),
        )?;
    }
    let mut per_second: Vec<Vec<f64>> = vec![Vec::new(); WAYS.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); WAYS.len()];
    for round in 0..rounds {
        // Rotate the order so that no contender always goes first.
        for k in 0..WAYS.len() {
            let i = (k + round) % WAYS.len();
            let Some(&way) = WAYS.get(i) else { continue };
            let (wall, used) = batch(way, &rt, (&connector, &blocking), addr, n)?;
            if let (Some(rate), Some(c)) = (per_second.get_mut(i), cpu.get_mut(i)) {
                rate.push(n as f64 / wall.as_secs_f64());
                c.push(used.as_secs_f64() / n as f64);
            }
        }
    }
    Ok(WAYS
        .iter()
        .zip(per_second.iter().zip(&cpu))
        .map(|(&way, (rates, cpus))| CostRow {
            way,
            per_second: median_f64(rates).unwrap_or(f64::NAN),
            cpu_per_conn: Duration::from_secs_f64(median_f64(cpus).unwrap_or(0.0).max(0.0)),
        })
        .collect())
}

/// `n` sequential connections with `way`: wall time and this thread's CPU time.
fn batch(
    way: Way,
    rt: &tokio::runtime::Runtime,
    (connector, blocking): (&eyeballs::Connector, &eyeballs::blocking::Connector),
    addr: SocketAddr,
    n: usize,
) -> Result<(Duration, Duration), String> {
    let host = addr.ip().to_string();
    let cpu0 = thread_cpu()?;
    let t0 = Instant::now();
    let result: Result<(), String> = match way {
        Way::Std => (0..n).try_for_each(|_| {
            TcpStream::connect(addr)
                .map(close)
                .map_err(|e| e.to_string())
        }),
        Way::Blocking => (0..n).try_for_each(|_| {
            blocking
                .connect_addrs([addr])
                .map(|c| close(c.into_stream()))
                .map_err(|e| e.to_string())
        }),
        Way::Tokio => rt.block_on(async {
            for _ in 0..n {
                let stream = tokio::net::TcpStream::connect(addr).await;
                close(stream.map_err(|e| e.to_string())?);
            }
            Ok(())
        }),
        Way::EyeballsAddrs => rt.block_on(async {
            for _ in 0..n {
                let connection = connector.connect_addrs([addr]).await;
                close(connection.map_err(|e| e.to_string())?.into_stream());
            }
            Ok(())
        }),
        Way::EyeballsLiteral => rt.block_on(async {
            for _ in 0..n {
                let connection = connector.connect(&host, addr.port()).await;
                close(connection.map_err(|e| e.to_string())?.into_stream());
            }
            Ok(())
        }),
    };
    let wall = t0.elapsed();
    let cpu = thread_cpu()?.saturating_sub(cpu0);
    result.map_err(|e| format!("{}: {e}", way.label()))?;
    Ok((wall, cpu))
}

/// Closes a connection with a reset (`SO_LINGER` 0), the same way for every contender: no
/// TIME_WAIT entry is left, so tens of thousands of connections in a row do not slow the
/// kernel's choice of a local port as the run goes on.
fn close<S: AsFd>(stream: S) {
    // Without the option the stream still closes, just with a TIME_WAIT entry.
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// The calling thread's CPU time so far, user + system.
fn thread_cpu() -> Result<Duration, String> {
    let usage = getrusage(UsageWho::RUSAGE_THREAD).map_err(|e| format!("getrusage: {e}"))?;
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    Ok(tv(usage.user_time()) + tv(usage.system_time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_advances_with_work() {
        let before = thread_cpu().unwrap();
        let mut x = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(thread_cpu().unwrap() > before);
    }

    #[test]
    fn eyeballs_rows_compare_with_tokio() {
        assert_eq!(Way::EyeballsAddrs.baseline(), Some(Way::Tokio));
        assert_eq!(Way::EyeballsLiteral.baseline(), Some(Way::Tokio));
        assert_eq!(Way::Blocking.baseline(), Some(Way::Std));
        assert_eq!(Way::Tokio.baseline(), None);
    }
}
