//! Per-answer work: one DNS answer of n distinct addresses, screened and handed to the
//! engine. Linear in n (a set de-duplicates, the endpoint cap applies before anything per
//! address): 60,000 addresses take milliseconds, not the 1.6 s a list search took.
//!
//! Run: `cargo bench -p eyeballs-proto --bench answers`.
#![allow(missing_docs)]

use std::net::{IpAddr, Ipv6Addr};
use std::time::Instant;

use divan::counter::ItemsCount;
use divan::Bencher;
use eyeballs_proto::{Action, Config, DnsResult, Engine, QueryId, RecordType, Target};

fn main() {
    divan::main();
}

fn answer(n: usize) -> Vec<IpAddr> {
    (1..=n as u128)
        .map(|i| IpAddr::V6(Ipv6Addr::from((0x2001_0db8_u128 << 96) | i)))
        .collect()
}

/// A fresh engine and its AAAA query.
fn engine(t0: Instant) -> (Engine, QueryId) {
    let target = Target::host("example.test", 443).expect("valid host");
    let mut engine = Engine::new(target, Config::default(), t0).expect("valid setup");
    let mut aaaa = None;
    while let Some(action) = engine.poll_action() {
        if let Action::Resolve {
            id,
            record: RecordType::Aaaa,
        } = action
        {
            aaaa = Some(id);
        }
    }
    (engine, aaaa.expect("AAAA sent"))
}

/// `screen_answer` (what a driver calls before source probes), then `handle_dns`.
#[divan::bench(args = [64, 1_000, 60_000])]
fn screen_then_handle(bencher: Bencher, n: usize) {
    let ips = answer(n);
    let t0 = Instant::now();
    bencher
        .counter(ItemsCount::new(n))
        .with_inputs(|| (engine(t0), ips.clone()))
        .bench_local_values(|((mut engine, id), ips)| {
            let kept = engine
                .screen_answer(id, ips.iter().copied())
                .expect("known query");
            assert_eq!(kept.len(), n.min(64));
            engine
                .handle_dns(t0, id, DnsResult::addresses(ips))
                .expect("known query");
            engine
        });
}
