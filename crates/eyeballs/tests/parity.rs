//! Driver parity: one scenario table, run against the tokio driver and the blocking driver
//! (as rustls runs its API tests once per provider). Both sit on the same driver core, so
//! both must give the same race: the same attempts in the same order at the same offsets
//! (±25 ms), the same winner, the same kind of failure, the same events told as they happen
//! (`on_event`) as the final timeline lists, and no descriptor left open.
//!
//! Loopback only, no root: a full accept queue stands for a black hole, a closed port refuses.
#![cfg(feature = "blocking")]

mod common;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{accepting, ms, open_fds, refusing, BlackHole, V4, V6};
use eyeballs::proto::{AttemptEnd, DnsResult, RecordType};
use eyeballs::resolver::{Lookup, Resolver};
use eyeballs::{Connector, ErrorKind};

/// What one record type's query does.
#[derive(Debug, Clone)]
enum Answer {
    /// Answers with these addresses after this long.
    After(Duration, Vec<IpAddr>),
    /// Fails (`DnsResult::Error`) after this long.
    Fails(Duration),
    /// Never answers (the blocking driver's thread sleeps for a minute, unobserved).
    Never,
    /// The resolver panics.
    Panics,
}

/// A resolver scripted per record type that works in both drivers: tokio's sleep for the
/// async lookup, the thread's sleep for the blocking one.
#[derive(Debug, Clone)]
struct Scripted {
    aaaa: Answer,
    a: Answer,
}

impl Scripted {
    fn answer(&self, record: RecordType) -> Answer {
        match record {
            RecordType::Aaaa => self.aaaa.clone(),
            _ => self.a.clone(),
        }
    }
}

impl Resolver for Scripted {
    fn lookup(&self, _name: &str, record: RecordType) -> Lookup {
        let answer = self.answer(record);
        Box::pin(async move {
            match answer {
                Answer::After(after, ips) => {
                    tokio::time::sleep(after).await;
                    DnsResult::addresses(ips)
                }
                Answer::Fails(after) => {
                    tokio::time::sleep(after).await;
                    DnsResult::Error
                }
                Answer::Never => std::future::pending().await,
                Answer::Panics => panic!("scripted resolver panic"),
            }
        })
    }

    fn lookup_blocking(&self, _name: &str, record: RecordType) -> DnsResult {
        match self.answer(record) {
            Answer::After(after, ips) => {
                std::thread::sleep(after);
                DnsResult::addresses(ips)
            }
            Answer::Fails(after) => {
                std::thread::sleep(after);
                DnsResult::Error
            }
            Answer::Never => {
                std::thread::sleep(Duration::from_secs(60));
                DnsResult::Error
            }
            Answer::Panics => panic!("scripted resolver panic"),
        }
    }
}

/// How a loopback endpoint behaves.
#[derive(Debug, Clone, Copy)]
enum Peer {
    Accept,
    Refuse,
    BlackHole,
}

/// Endpoints that behave as asked, kept alive for the race.
struct Peers {
    addrs: Vec<SocketAddr>,
    _listeners: Vec<TcpListener>,
    _holes: Vec<BlackHole>,
}

fn peers(wanted: &[(IpAddr, Peer)]) -> Peers {
    let mut peers = Peers {
        addrs: Vec::new(),
        _listeners: Vec::new(),
        _holes: Vec::new(),
    };
    for &(ip, peer) in wanted {
        let addr = match peer {
            Peer::Accept => {
                let (listener, addr) = accepting(ip);
                peers._listeners.push(listener);
                addr
            }
            Peer::Refuse => refusing(ip),
            Peer::BlackHole => {
                let hole = BlackHole::new(ip);
                let addr = hole.addr;
                peers._holes.push(hole);
                addr
            }
        };
        peers.addrs.push(addr);
    }
    peers
}

/// A scenario: the peers, how the race reaches them (their addresses, or a name whose answers
/// are scripted), the connector, and what must happen.
struct Case {
    name: &'static str,
    peers: &'static [(IpAddr, Peer)],
    /// `None`: race the peers' addresses; `Some`: resolve a name with this script.
    dns: Option<fn(&[SocketAddr]) -> Scripted>,
    connector: fn() -> Connector,
    /// The index of the peer that wins, or the kind of error.
    expect: Result<usize, ErrorKind>,
    /// Each attempt: which peer, and when it starts (ms from the race's start).
    starts: &'static [(usize, u64)],
}

fn quick() -> Connector {
    Connector::new()
        .attempt_delay(ms(100))
        .timeout(Duration::from_secs(5))
}

fn both_at_once(addrs: &[SocketAddr]) -> Scripted {
    Scripted {
        aaaa: Answer::After(ms(0), vec![addrs[0].ip()]),
        a: Answer::After(ms(0), vec![addrs[1].ip()]),
    }
}

fn aaaa_late(addrs: &[SocketAddr]) -> Scripted {
    Scripted {
        aaaa: Answer::After(ms(200), vec![addrs[0].ip()]),
        a: Answer::After(ms(0), vec![addrs[1].ip()]),
    }
}

fn aaaa_panics(addrs: &[SocketAddr]) -> Scripted {
    Scripted {
        aaaa: Answer::Panics,
        a: Answer::After(ms(0), vec![addrs[1].ip()]),
    }
}

fn both_fail(_: &[SocketAddr]) -> Scripted {
    Scripted {
        aaaa: Answer::Fails(ms(10)),
        a: Answer::Fails(ms(20)),
    }
}

fn never(_: &[SocketAddr]) -> Scripted {
    Scripted {
        aaaa: Answer::Never,
        a: Answer::Never,
    }
}

const CASES: &[Case] = &[
    Case {
        name: "HE-5.3 one address connects at once",
        peers: &[(V4, Peer::Accept)],
        dns: None,
        connector: quick,
        expect: Ok(0),
        starts: &[(0, 0)],
    },
    Case {
        name: "HE-5.7 IPv6 black hole: IPv4 after the attempt delay",
        peers: &[(V6, Peer::BlackHole), (V4, Peer::Accept)],
        dns: None,
        connector: quick,
        expect: Ok(1),
        starts: &[(0, 0), (1, 100)],
    },
    Case {
        name: "D1 IPv6 refused: IPv4 at once",
        peers: &[(V6, Peer::Refuse), (V4, Peer::Accept)],
        dns: None,
        connector: quick,
        expect: Ok(1),
        starts: &[(0, 0), (1, 0)],
    },
    Case {
        name: "HE-5.3 every attempt refused",
        peers: &[(V6, Peer::Refuse), (V4, Peer::Refuse)],
        dns: None,
        connector: quick,
        expect: Err(ErrorKind::AllAttemptsFailed),
        starts: &[(0, 0), (1, 0)],
    },
    Case {
        name: "D4 overall timeout with every address black-holed",
        peers: &[(V6, Peer::BlackHole), (V4, Peer::BlackHole)],
        dns: None,
        connector: || quick().timeout(ms(300)),
        expect: Err(ErrorKind::TimedOut),
        starts: &[(0, 0), (1, 100)],
    },
    Case {
        name: "D4 attempt timeout starts the next attempt",
        peers: &[(V6, Peer::BlackHole), (V4, Peer::Accept)],
        dns: None,
        connector: || {
            quick()
                .attempt_delay(Duration::from_secs(2))
                .attempt_timeout(ms(150))
        },
        expect: Ok(1),
        starts: &[(0, 0), (1, 150)],
    },
    Case {
        name: "Duration::MAX for every delay and timeout means never, and panics nowhere",
        peers: &[(V6, Peer::Refuse), (V4, Peer::Accept)],
        dns: None,
        connector: || {
            Connector::new()
                .attempt_delay(Duration::MAX)
                .resolution_delay(Duration::MAX)
                .timeout(Duration::MAX)
                .attempt_timeout(Duration::MAX)
                .resolve_timeout(Duration::MAX)
        },
        expect: Ok(1),
        // The refusal starts the next attempt at the 10 ms floor (D1, HE-5.10).
        starts: &[(0, 0), (1, 10)],
    },
    Case {
        name: "Duration::MAX by name: the Resolution Delay never ends, the AAAA answer does",
        peers: &[(V6, Peer::Accept), (V4, Peer::Accept)],
        dns: Some(aaaa_late),
        connector: || {
            Connector::new()
                .resolution_delay(Duration::MAX)
                .timeout(Duration::MAX)
                .resolve_timeout(Duration::MAX)
        },
        expect: Ok(0),
        starts: &[(0, 200)],
    },
    Case {
        name: "HE-3.5 both answers at once: IPv6 first",
        peers: &[(V6, Peer::Accept), (V4, Peer::Accept)],
        dns: Some(both_at_once),
        connector: quick,
        expect: Ok(0),
        starts: &[(0, 0)],
    },
    Case {
        name: "HE-3.6 AAAA late: IPv4 after the Resolution Delay",
        peers: &[(V6, Peer::Accept), (V4, Peer::Accept)],
        dns: Some(aaaa_late),
        connector: quick,
        expect: Ok(1),
        starts: &[(1, 50)],
    },
    Case {
        name: "a resolver that panics fails that query only",
        peers: &[(V6, Peer::Accept), (V4, Peer::Accept)],
        dns: Some(aaaa_panics),
        connector: quick,
        expect: Ok(1),
        starts: &[(1, 0)],
    },
    Case {
        name: "HE-3.8 every query fails: no addresses",
        peers: &[(V6, Peer::Accept), (V4, Peer::Accept)],
        dns: Some(both_fail),
        connector: quick,
        expect: Err(ErrorKind::NoAddresses),
        starts: &[],
    },
    Case {
        name: "a resolver that never answers ends at the resolve timeout",
        peers: &[(V6, Peer::Accept), (V4, Peer::Accept)],
        dns: Some(never),
        connector: || quick().resolve_timeout(ms(150)),
        expect: Err(ErrorKind::NoAddresses),
        starts: &[],
    },
];

/// What a race did, comparable across drivers.
#[derive(Debug)]
struct Seen {
    result: Result<SocketAddr, ErrorKind>,
    /// Each attempt's address, start offset and how it ended.
    attempts: Vec<(SocketAddr, Duration, Option<AttemptEnd>)>,
    /// The events told to `on_event` as they happened, and the final timeline's, as text.
    live: Vec<String>,
    timeline: Vec<String>,
}

fn seen<S>(
    result: Result<eyeballs::Connection<S>, eyeballs::Error>,
    live: &Mutex<Vec<String>>,
) -> Seen {
    let (result, report) = match result {
        Ok(c) => {
            let report = c.report().clone();
            (Ok(report.winner().expect("a winner")), report)
        }
        Err(e) => {
            let kind = e.kind();
            (Err(kind), e.report().expect("a report").clone())
        }
    };
    let attempts = report
        .attempts()
        .map(|a| (a.endpoint.addr, a.started, a.end))
        .collect();
    let timeline = report.timeline().map(|e| e.event.to_string()).collect();
    let live = std::mem::take(&mut *live.lock().unwrap());
    Seen {
        result,
        attempts,
        live,
        timeline,
    }
}

/// Runs `case` on one driver; returns what it saw and the addresses of the peers as the race
/// knew them.
fn run_case(case: &Case, blocking: bool) -> (Seen, Vec<SocketAddr>) {
    let peers = peers(case.peers);
    let live = Arc::new(Mutex::new(Vec::new()));
    let told = Arc::clone(&live);
    let mut connector =
        (case.connector)().on_event(move |e| told.lock().unwrap().push(e.event.to_string()));
    let addrs = peers.addrs.clone();
    let result = match case.dns {
        None => {
            if blocking {
                let blocking = eyeballs::blocking::Connector::from(connector);
                seen(blocking.connect_addrs(addrs.clone()), &live)
            } else {
                let rt = runtime();
                seen(rt.block_on(connector.connect_addrs(addrs.clone())), &live)
            }
        }
        Some(script) => {
            // A name has one port, and each peer listens on a port of its own: the race uses
            // the port of the peer that matters (the winner), which is the only one any
            // attempt of these cases reaches.
            let port = match case.expect {
                Ok(winner) => addrs[winner].port(),
                Err(_) => addrs[0].port(),
            };
            let addrs: Vec<SocketAddr> = addrs
                .iter()
                .map(|a| SocketAddr::new(a.ip(), port))
                .collect();
            connector = connector.resolver(script(&addrs));
            let result = if blocking {
                let blocking = eyeballs::blocking::Connector::from(connector);
                seen(blocking.connect("parity.test", port), &live)
            } else {
                let rt = runtime();
                seen(rt.block_on(connector.connect("parity.test", port)), &live)
            };
            drop(peers);
            return (result, addrs);
        }
    };
    drop(peers);
    (result, addrs)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn check(case: &Case, driver: &str, seen: &Seen, addrs: &[SocketAddr]) {
    let what = format!("{} ({driver}): {seen:?}", case.name);
    match case.expect {
        Ok(winner) => assert_eq!(seen.result, Ok(addrs[winner]), "{what}"),
        Err(kind) => assert_eq!(seen.result, Err(kind), "{what}"),
    }
    assert_eq!(seen.attempts.len(), case.starts.len(), "{what}");
    for (got, &(peer, at)) in seen.attempts.iter().zip(case.starts) {
        assert_eq!(got.0, addrs[peer], "{what}");
        let want = ms(at);
        let slack = ms(25);
        assert!(
            got.1 + slack >= want && got.1 <= want + slack,
            "{what}: attempt to {} started at {:?}, want {want:?} ±25 ms",
            got.0,
            got.1
        );
        assert!(got.2.is_some(), "{what}: every attempt ends");
    }
    // The events told as they happened are the timeline's, in its order.
    assert_eq!(seen.live, seen.timeline, "{what}: live events");
}

/// Runs every case on both drivers, one after another (so that open descriptors can be
/// counted), and compares each driver with the table and with the other.
#[test]
fn one_table_both_drivers() {
    // The scripted panics are expected: keep the default hook (and its backtrace, which takes
    // long enough to skew the schedule) for every other panic.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"scripted resolver panic") {
            default_hook(info);
        }
    }));
    // tokio's signal driver opens a socket pair once per process and keeps it: let it.
    drop(runtime());
    let before = open_fds();
    for case in CASES {
        let (tokio_seen, tokio_addrs) = run_case(case, false);
        let (blocking_seen, blocking_addrs) = run_case(case, true);
        check(case, "tokio", &tokio_seen, &tokio_addrs);
        check(case, "blocking", &blocking_seen, &blocking_addrs);
        let ends = |s: &Seen| s.attempts.iter().map(|a| a.2).collect::<Vec<_>>();
        assert_eq!(
            ends(&tokio_seen),
            ends(&blocking_seen),
            "{}: the drivers disagree on how attempts ended",
            case.name
        );
    }
    // Lookup threads of "never" cases hold no descriptor; everything else is closed.
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds() > before && Instant::now() < deadline {
        std::thread::sleep(ms(20));
    }
    let left: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(open_fds(), before, "descriptors left open: {left:?}");
}
