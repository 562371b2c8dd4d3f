//! What the history store costs (issue 12, "Measured"): heap bytes per remembered endpoint and
//! per remembered host, and the CPU time and instructions of one `recall` + `learn` pair.
//!
//! ```text
//! cargo build --release --example history_cost -p eyeballs
//! target/release/examples/history_cost memory 10000
//! target/release/examples/history_cost lookup addr 200000 5
//! valgrind --tool=callgrind --separate-threads=yes '--toggle-collect=*history_cost::measured*' \
//!     target/release/examples/history_cost lookup addr 10000 1
//! ```
//!
//! Nothing is connected: the races the store learns from are run by the engine on virtual
//! time (`eyeballs::proto::sim`), each to addresses of the documentation and benchmarking
//! ranges (2001:db8::/32, 198.18.0.0/15), and only the store's public API is called
//! (`HistoryStore::with_config`, `recall`, `learn`). `eyeballs-bench --only history` runs
//! every mode and tabulates them.
//!
//! `memory N` prints one JSON line per measurement, heap bytes as requested from the
//! allocator (a counting global allocator; malloc's own per-allocation overhead is not in
//! them) and allocations still live:
//! - `empty`: `HistoryStore::new()` (the default configuration: room for 1,024 endpoints and
//!   256 hosts, allocated when the store is made), before it learns anything;
//! - `first-lesson`: the same store after its first lesson, which opens the rtnetlink network
//!   watch (its buffer and what it read of the namespace's addresses, links and routes);
//! - `endpoints`: a store sized for `N` endpoints (`max_endpoints = N`, no network watch)
//!   after learning `N` races to one distinct address each, from before the store was made
//!   (its table included) and from after (the entries alone);
//! - `hosts`: a store sized for `N` host names, after learning `N` races to `hN.example`
//!   (IPv6 black-holed, IPv4 connecting after 5 ms), every host with the same two endpoints,
//!   so that what grows is the host entries.
//!
//! `lookup KIND N ROUNDS` fills a store with 1,000 endpoints, then makes `ROUNDS` rounds of `N`
//! pairs (one `recall` for a race's target, then one `learn` of that race's report), cycling
//! over the entries, and prints one JSON line: CPU time per pair (the median round; the
//! thread's own time from `/proc/thread-self/schedstat`, nanoseconds, read after a
//! `sched_yield` so that it is up to date) and allocations per pair. Each round's pairs run inside one call of `history_cost::measured`, for callgrind's
//! `--toggle-collect` (the clock is read outside it), after a warm-up round outside it.
//! `KIND`:
//! - `addr`: address targets of one endpoint each (as `Connector::connect_addrs([addr])`),
//!   1,000 of them, default configuration (network watch on: two non-blocking reads of its
//!   socket per pair);
//! - `addr-unwatched`: the same with `watch_network = false`;
//! - `host`: host names with two endpoints each (IPv6 stalled, IPv4 won), 500 of them
//!   (1,000 endpoints; `max_hosts` raised to 1,024), default configuration otherwise.
#![allow(unsafe_code)] // The counting global allocator below, and nothing else.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

use eyeballs::history::{HistoryConfig, HistoryStore};
use eyeballs::proto::sim::{Behavior, Scenario};
use eyeballs::proto::{DnsResult, RecordType, Report, Target};

/// Forwards to the system allocator and keeps count of the bytes and allocations live.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCATIONS: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn counted(size: usize) {
    LIVE_BYTES.fetch_add(size as isize, Ordering::Relaxed);
    LIVE_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds
// `GlobalAlloc`'s contract; the counters are plain atomics and never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are passed on as they are.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            counted(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            counted(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes
        // through this allocator).
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCATIONS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's, checked by it.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live heap: bytes and allocations.
fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_ALLOCATIONS.load(Ordering::Relaxed),
    )
}

/// How many endpoints the `lookup` store holds.
const LOOKUP_ENDPOINTS: usize = 1000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["memory", n] => match n.parse() {
            Ok(n) if n > 0 => memory(n),
            _ => return usage(),
        },
        ["lookup", kind, n, rounds] => match (Kind::parse(kind), n.parse(), rounds.parse()) {
            (Some(kind), Ok(n), Ok(rounds)) if n > 0 && rounds > 0 => lookup(kind, n, rounds),
            _ => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("history_cost: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: history_cost memory N\n       history_cost lookup addr|addr-unwatched|host N ROUNDS"
    );
    ExitCode::from(2)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The `i`th distinct IPv6 endpoint (2001:db8::/32, port 443).
fn v6(i: usize) -> SocketAddr {
    let hi = (i >> 16) as u16;
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, hi, i as u16)),
        443,
    )
}

/// The `i`th distinct IPv4 endpoint (198.18.0.0/15, port 443).
fn v4(i: usize) -> SocketAddr {
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::from(base + (i as u32 & 0x1_ffff))),
        443,
    )
}

/// A race to `addr` alone that connects after 5 ms, as the engine reports it.
fn address_race(addr: SocketAddr) -> Result<(Target, Report), String> {
    let target = Target::addresses([addr]).map_err(|e| e.to_string())?;
    let sim = Scenario::target(target.clone())
        .default_behavior(Behavior::Connects(ms(5)))
        .run()
        .map_err(|e| e.to_string())?;
    Ok((target, sim.report))
}

/// A race to `name` whose AAAA answer `six` is black-holed and whose A answer `four` connects
/// after 5 ms (at 255 ms: the IPv6 attempt stalled for the whole attempt delay).
fn host_race(name: &str, six: SocketAddr, four: SocketAddr) -> Result<(Target, Report), String> {
    let target = Target::host(name, 443).map_err(|e| e.to_string())?;
    let sim = Scenario::target(target.clone())
        .dns(
            RecordType::Aaaa,
            Duration::ZERO,
            DnsResult::addresses([six.ip()]),
        )
        .dns(
            RecordType::A,
            Duration::ZERO,
            DnsResult::addresses([four.ip()]),
        )
        .behavior(&six.ip().to_string(), Behavior::BlackHole)
        .default_behavior(Behavior::Connects(ms(5)))
        .run()
        .map_err(|e| e.to_string())?;
    Ok((target, sim.report))
}

fn memory(n: usize) -> Result<(), String> {
    // The default store, empty, then after its first lesson.
    let (first_target, first_report) = address_race(v6(0))?;
    drop(first_target);
    let before = live();
    let store = HistoryStore::new();
    let empty = live();
    store.learn(&first_report);
    let first = live();
    drop(store);
    // Printed only now: stdout's buffer is allocated at the first print.
    print_memory("empty", 0, before, before, empty);
    print_memory("first-lesson", 1, before, empty, first);

    // N endpoints.
    let races = (0..n)
        .map(|i| address_race(v6(i)).map(|(_, r)| r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = HistoryConfig::default();
    config.max_endpoints = n;
    config.watch_network = false;
    let before = live();
    let store = HistoryStore::with_config(config);
    let made = live();
    for report in &races {
        store.learn(report);
    }
    let after = live();
    if store.len() != n {
        return Err(format!("the store kept {} of {n} endpoints", store.len()));
    }
    print_memory("endpoints", n, before, made, after);
    drop(store);
    drop(races);

    // N hosts, the same two endpoints each.
    let names: Vec<String> = (0..n).map(|i| format!("h{i}.example")).collect();
    let races = names
        .iter()
        .map(|name| host_race(name, v6(0), v4(0)).map(|(_, r)| r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = HistoryConfig::default();
    config.max_hosts = n;
    config.watch_network = false;
    let before = live();
    let store = HistoryStore::with_config(config);
    let made = live();
    for report in &races {
        store.learn(report);
    }
    let after = live();
    if store.len() != 2 {
        return Err(format!(
            "the host races left {} endpoints, not 2",
            store.len()
        ));
    }
    print_memory("hosts", n, before, made, after);
    Ok(())
}

/// One JSON line: `what`, `n` entries, the bytes and allocations live from `before` (before
/// the store was made) and from `made` (once it was made) to `after`.
fn print_memory(
    what: &str,
    n: usize,
    before: (isize, isize),
    made: (isize, isize),
    after: (isize, isize),
) {
    println!(
        "{{\"what\":\"{what}\",\"n\":{n},\"bytes\":{},\"allocations\":{},\
         \"entry_bytes\":{},\"entry_allocations\":{}}}",
        after.0 - before.0,
        after.1 - before.1,
        after.0 - made.0,
        after.1 - made.1
    );
}

/// What the `lookup` pairs work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Addr,
    AddrUnwatched,
    Host,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "addr" => Some(Kind::Addr),
            "addr-unwatched" => Some(Kind::AddrUnwatched),
            "host" => Some(Kind::Host),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Addr => "addr",
            Kind::AddrUnwatched => "addr-unwatched",
            Kind::Host => "host",
        }
    }
}

fn lookup(kind: Kind, n: usize, rounds: usize) -> Result<(), String> {
    let mut config = HistoryConfig::default();
    let races: Vec<(Target, Report)> = match kind {
        Kind::Addr | Kind::AddrUnwatched => {
            config.watch_network = kind == Kind::Addr;
            (0..LOOKUP_ENDPOINTS)
                .map(|i| address_race(v6(i)))
                .collect::<Result<_, _>>()?
        }
        Kind::Host => {
            config.max_hosts = 1024;
            (0..LOOKUP_ENDPOINTS / 2)
                .map(|i| host_race(&format!("h{i}.example"), v6(i), v4(i)))
                .collect::<Result<_, _>>()?
        }
    };
    let store = HistoryStore::with_config(config);
    for (_, report) in &races {
        store.learn(report);
    }
    if store.len() != LOOKUP_ENDPOINTS {
        return Err(format!(
            "the store holds {} endpoints, not {LOOKUP_ENDPOINTS}",
            store.len()
        ));
    }
    // Warm-up, outside the measured function.
    pairs(&store, &races, n.min(10_000));
    let mut cpu = Vec::with_capacity(rounds);
    let mut allocations = 0;
    for _ in 0..rounds {
        let t0 = thread_cpu_ns()?;
        let allocations0 = ALLOCATIONS.load(Ordering::Relaxed);
        measured(&store, &races, n);
        allocations += ALLOCATIONS.load(Ordering::Relaxed) - allocations0;
        cpu.push(thread_cpu_ns()?.saturating_sub(t0));
    }
    cpu.sort_unstable();
    let median = cpu.get(cpu.len() / 2).copied().unwrap_or(0) as f64 / n as f64;
    println!(
        "{{\"kind\":\"{}\",\"n\":{n},\"rounds\":{rounds},\"entries\":{},\"cpu_ns_per_pair\":{median:.1},\
         \"allocations_per_pair\":{:.2}}}",
        kind.name(),
        store.len(),
        allocations as f64 / (n * rounds) as f64
    );
    Ok(())
}

/// One round of measured pairs: callgrind's `--toggle-collect` target, so never inlined.
#[inline(never)]
fn measured(store: &HistoryStore, races: &[(Target, Report)], n: usize) {
    pairs(store, races, n);
}

/// `n` pairs of `recall` and `learn`, cycling over `races`.
#[inline(never)]
fn pairs(store: &HistoryStore, races: &[(Target, Report)], n: usize) {
    for (target, report) in races.iter().cycle().take(n) {
        black_box(store.recall(black_box(target)));
        store.learn(black_box(report));
    }
}

/// This thread's CPU time so far, in nanoseconds: the first field of
/// `/proc/thread-self/schedstat` (the scheduler's own count). The kernel brings that count up
/// to date at each scheduler tick and each switch, so the thread yields first (a switch, even
/// when nothing else is waiting): without it the count lags by up to a tick (4 ms here).
fn thread_cpu_ns() -> Result<u64, String> {
    std::thread::yield_now();
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .map_err(|e| format!("reading /proc/thread-self/schedstat: {e}"))?;
    text.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .ok_or_else(|| format!("unexpected /proc/thread-self/schedstat: {text:?}"))
}
