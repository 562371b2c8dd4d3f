//! The engine alone, driven by a minimal scripted driver: a 2-address and a 100-address race.
//!
//! Every address but the last is a black hole, so the race walks the whole staggered
//! schedule; the last connects 5 ms after it starts. Counted per race: events (inputs given to
//! the engine plus actions it emits) and, with divan's allocation profiler, allocations.
//!
//! Run: `cargo bench -p eyeballs-proto --bench engine`.
#![allow(missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use divan::counter::ItemsCount;
use divan::Bencher;
use eyeballs_proto::{Action, AttemptResult, Config, DnsResult, Engine, RecordType, Target};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

fn ips(n: usize) -> Vec<IpAddr> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16 + 1))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1))
            }
        })
        .collect()
}

fn config(n: usize) -> Config {
    let mut c = Config::default();
    c.max_endpoints = n.max(1);
    c
}

/// Runs one race to the end; returns the number of events.
fn drive(
    mut engine: Engine,
    t0: Instant,
    answers: &[(RecordType, DnsResult)],
    last: IpAddr,
) -> u64 {
    let mut events = 1; // Engine::new
    let mut now = t0;
    let mut winner_due: Option<(Instant, eyeballs_proto::AttemptId)> = None;
    let mut pending_dns = Vec::new();
    loop {
        while let Some(action) = engine.poll_action() {
            events += 1;
            match action {
                Action::Resolve { id, record } => {
                    if let Some((_, r)) = answers.iter().find(|(rt, _)| *rt == record) {
                        pending_dns.push((id, r.clone()));
                    }
                }
                Action::Connect { id, endpoint } if endpoint.addr.ip() == last => {
                    winner_due = Some((now + Duration::from_millis(5), id));
                }
                Action::Done(_) => return events,
                _ => {}
            }
        }
        if let Some((id, result)) = pending_dns.pop() {
            engine.handle_dns(now, id, result).expect("known query");
            events += 1;
            continue;
        }
        let timer = engine.poll_timeout();
        if let Some((at, id)) = winner_due.filter(|(at, _)| timer.is_none_or(|t| *at <= t)) {
            now = at;
            winner_due = None;
            engine
                .handle_attempt(now, id, AttemptResult::Connected)
                .expect("known attempt");
        } else if let Some(t) = timer {
            now = t;
            engine.handle_timeout(now);
        } else {
            return events;
        }
        events += 1;
    }
}

fn addresses_race(n: usize) -> u64 {
    let ips = ips(n);
    let last = ips[n - 1];
    let t0 = Instant::now();
    let target = Target::addresses(ips.iter().map(|&ip| SocketAddr::new(ip, 443))).unwrap();
    let engine = Engine::new(target, config(n), t0).unwrap();
    drive(engine, t0, &[], last)
}

fn host_race(n: usize, answers: &[(RecordType, DnsResult)], last: IpAddr) -> u64 {
    let t0 = Instant::now();
    let target = Target::host("example.test", 443).unwrap();
    let engine = Engine::new(target, config(n), t0).unwrap();
    drive(engine, t0, answers, last)
}

fn host_answers(n: usize) -> (Vec<(RecordType, DnsResult)>, IpAddr) {
    let ips = ips(n);
    let (v6, v4): (Vec<IpAddr>, Vec<IpAddr>) = ips.iter().partition(|ip| ip.is_ipv6());
    // The last attempted address is the last IPv4 one after interleaving.
    let last = *v4.last().unwrap_or(&ips[0]);
    (
        vec![
            (RecordType::Aaaa, DnsResult::addresses(v6)),
            (RecordType::A, DnsResult::addresses(v4)),
        ],
        last,
    )
}

#[divan::bench(args = [2, 100])]
fn race_addresses(bencher: Bencher, n: usize) {
    let events = addresses_race(n);
    bencher
        .counter(ItemsCount::new(events))
        .bench(|| addresses_race(divan::black_box(n)));
}

#[divan::bench(args = [2, 100])]
fn race_host(bencher: Bencher, n: usize) {
    let (answers, last) = host_answers(n);
    let events = host_race(n, &answers, last);
    bencher
        .counter(ItemsCount::new(events))
        .bench(|| host_race(divan::black_box(n), &answers, last));
}
