//! What one connect costs: `N` sequential connects to a loopback listener, one way at a time,
//! for counting instructions under callgrind (issue 9, "The cost of a connect").
//!
//! ```text
//! cargo build --release --example connect_cost --features blocking -p eyeballs
//! valgrind --tool=callgrind --separate-threads=yes '--toggle-collect=*connect_cost::measured*' \
//!     target/release/examples/connect_cost eyeballs-addrs 1000
//! ```
//!
//! The count is the `totals:` line of the main thread's profile (`callgrind.out.PID-01`),
//! divided by `N`; `eyeballs-bench --only callgrind` runs every way so and tabulates them.
//!
//! Where the instructions go: build with line tables
//! (`CARGO_PROFILE_RELEASE_DEBUG=line-tables-only`) and read the profile per function,
//! inclusive (`callgrind_annotate --inclusive=yes callgrind.out.PID-01`, or
//! `--tree=calling` for each function's callees); divide by `N` again. The parts worth
//! looking at first: `Connector::begin` (target, sources, history recall, the engine's
//! construction), `Core<T>::drive` (actions, attempt starts), `Core<T>::finish` (the history
//! lesson and the report) and `__memcpy_avx_unaligned_erms` (moves of the race's values).
//! Run it in a network namespace of its own (`unshare -n`, `ip link set lo up`) so that the
//! loopback is nobody else's.
//!
//! `WAY` is one of (each eyeballs way after its baseline, the plain connect it wraps):
//! - `tokio`: `tokio::net::TcpStream::connect(127.0.0.1:port)`;
//! - `eyeballs-addrs`: `eyeballs::Connector::connect_addrs([127.0.0.1:port])`;
//! - `eyeballs-literal`: `eyeballs::Connector::connect("127.0.0.1", port)` (an IP literal:
//!   parsed, never resolved);
//! - `tokio-v6`: `tokio::net::TcpStream::connect([::1]:port6)`;
//! - `eyeballs-two`: `Connector::connect_addrs([[::1]:port6, 127.0.0.1:port])`, a race that
//!   its first address wins at once (both listen; checked on every connect);
//! - `std`: `std::net::TcpStream::connect(127.0.0.1:port)`;
//! - `blocking`: `eyeballs::blocking::Connector::connect_addrs([127.0.0.1:port])`;
//! - `std-v6`: `std::net::TcpStream::connect([::1]:port6)`;
//! - `blocking-two`: the two-address race with the blocking connector;
//! - `eyeballs-addrs-no-history`, `eyeballs-two-no-history`, `blocking-no-history`: the
//!   `eyeballs-addrs`, `eyeballs-two` and `blocking` ways with a connector made
//!   `.without_history()` (the others use the default: a history store that recalls what it
//!   knows of the addresses before each race and learns from each report after it);
//! - `blocking-bound`: the `blocking` way with a connector bound to 127.0.0.1
//!   (`.local_addrs(..)`: its sockets bind first, and its history has a partition of its own,
//!   HE-4.5).
//!
//! A warm-up batch (`N / 10`, at least 10) runs first, outside the measured function, so that
//! first-use costs (lazy statics, the runtime's I/O driver) are not counted. The `N` measured
//! connects all run inside `measured`, on the main thread: `--toggle-collect` on it counts
//! them and nothing else (not the warm-up, not start-up, not the listeners' threads, which
//! never enter it). Each connection is dropped as soon as it is made. Callgrind counts
//! user-space instructions only: the kernel's share of a connect is not in them (the CPU-time
//! figures of `eyeballs-bench --only cost` have it).
//!
//! Prints one line: the way, `N`, and the wall time per connect (meaningless under valgrind).
//! Only IP literals are used: no name is resolved, no traffic leaves the loopback.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef, Socket, Type};

/// The listeners' addresses, the runtime and the connectors every way uses.
struct Setup {
    v4: SocketAddr,
    v6: SocketAddr,
    rt: tokio::runtime::Runtime,
    connector: eyeballs::Connector,
    blocking: eyeballs::blocking::Connector,
    /// The same without history.
    forgetful: eyeballs::Connector,
    forgetful_blocking: eyeballs::blocking::Connector,
    /// The blocking one bound to 127.0.0.1.
    bound_blocking: eyeballs::blocking::Connector,
}

/// The ways to connect, by name.
const WAYS: [&str; 13] = [
    "tokio",
    "eyeballs-addrs",
    "eyeballs-literal",
    "tokio-v6",
    "eyeballs-two",
    "std",
    "blocking",
    "std-v6",
    "blocking-two",
    "eyeballs-addrs-no-history",
    "eyeballs-two-no-history",
    "blocking-no-history",
    "blocking-bound",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (way, n) = match args.as_slice() {
        [way, n] if WAYS.contains(&way.as_str()) => match n.parse::<usize>() {
            Ok(n) => (way.as_str(), n),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    match run(way, n) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("connect_cost: {way}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: connect_cost WAY N   (WAY: {})", WAYS.join(", "));
    ExitCode::from(2)
}

fn run(way: &str, n: usize) -> io::Result<()> {
    let setup = Setup {
        v4: listen((Ipv4Addr::LOCALHOST, 0).into())?,
        v6: listen((Ipv6Addr::LOCALHOST, 0).into())?,
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        connector: eyeballs::Connector::new(),
        blocking: eyeballs::blocking::Connector::new(),
        forgetful: eyeballs::Connector::new().without_history(),
        forgetful_blocking: eyeballs::blocking::Connector::new().without_history(),
        bound_blocking: eyeballs::blocking::Connector::new()
            .local_addrs([Ipv4Addr::LOCALHOST.into()]),
    };
    batch(way, (n / 10).max(10), &setup)?;
    let t0 = Instant::now();
    measured(way, n, &setup)?;
    let wall = t0.elapsed();
    let per_connect = wall.as_secs_f64() * 1e6 / n.max(1) as f64;
    println!("way={way} n={n} wall_per_connect_us={per_connect:.2}");
    Ok(())
}

/// A loopback listener on `addr` whose thread accepts every connection, waits for the
/// client to close it and then resets it (`SO_LINGER` 0); its address. The thread ends with
/// the process.
///
/// Its backlog is long (4096, Linux's default `somaxconn`): a full accept queue drops a SYN,
/// and the connect waits a second to send it again. And it leaves no TIME_WAIT entry on
/// either side: with thousands of them a new connect now and then meets one with the same
/// ports, with the same second's wait. (Resetting before the client has seen its connect
/// succeed would fail the connect instead.) A two-address race would lose its first address
/// to either wait.
fn listen(addr: SocketAddr) -> io::Result<SocketAddr> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    let listener = TcpListener::from(socket);
    let local = listener.local_addr()?;
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            // Read to the client's close; errors end the connection all the same.
            let _ = io::copy(&mut stream, &mut io::sink());
            let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
    });
    Ok(local)
}

/// The measured connects: callgrind's `--toggle-collect` target, so never inlined.
#[inline(never)]
fn measured(way: &str, n: usize, setup: &Setup) -> io::Result<()> {
    batch(way, n, setup)
}

/// `n` sequential connects with `way`, each connection dropped once made.
#[inline(never)]
fn batch(way: &str, n: usize, s: &Setup) -> io::Result<()> {
    let two = [s.v6, s.v4];
    match way {
        "tokio" => s.rt.block_on(async {
            for _ in 0..n {
                drop(tokio::net::TcpStream::connect(s.v4).await?);
            }
            Ok(())
        }),
        "tokio-v6" => s.rt.block_on(async {
            for _ in 0..n {
                drop(tokio::net::TcpStream::connect(s.v6).await?);
            }
            Ok(())
        }),
        "eyeballs-addrs" | "eyeballs-addrs-no-history" => s.rt.block_on(async {
            let connector = if way == "eyeballs-addrs" {
                &s.connector
            } else {
                &s.forgetful
            };
            for _ in 0..n {
                drop(connector.connect_addrs([s.v4]).await?);
            }
            Ok(())
        }),
        "eyeballs-literal" => s.rt.block_on(async {
            let host = s.v4.ip().to_string();
            for _ in 0..n {
                drop(s.connector.connect(&host, s.v4.port()).await?);
            }
            Ok(())
        }),
        "eyeballs-two" | "eyeballs-two-no-history" => s.rt.block_on(async {
            let connector = if way == "eyeballs-two" {
                &s.connector
            } else {
                &s.forgetful
            };
            for _ in 0..n {
                check_first(&connector.connect_addrs(two).await?, s.v6)?;
            }
            Ok(())
        }),
        "std" => (0..n).try_for_each(|_| TcpStream::connect(s.v4).map(drop)),
        "std-v6" => (0..n).try_for_each(|_| TcpStream::connect(s.v6).map(drop)),
        "blocking" | "blocking-no-history" | "blocking-bound" => (0..n).try_for_each(|_| {
            let blocking = match way {
                "blocking" => &s.blocking,
                "blocking-bound" => &s.bound_blocking,
                _ => &s.forgetful_blocking,
            };
            blocking
                .connect_addrs([s.v4])
                .map(drop)
                .map_err(io::Error::from)
        }),
        "blocking-two" => {
            (0..n).try_for_each(|_| check_first(&s.blocking.connect_addrs(two)?, s.v6))
        }
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "unknown way")),
    }
}

/// A two-address race must be won by its first address, or it measures something else.
fn check_first<S>(won: &eyeballs::Connection<S>, first: SocketAddr) -> io::Result<()> {
    match won.report().winner() {
        Some(winner) if winner == first => Ok(()),
        winner => Err(io::Error::other(format!(
            "the race was won by {winner:?}, not by {first}: {:#?}",
            won.report()
        ))),
    }
}
