//! A simulated Happy Eyeballs race on virtual time: no network, no root, instant.
//!
//! The host has a black-holed IPv6 address (the classic 30-second stall for a naive client)
//! and a working IPv4 address. Run: `cargo run -p eyeballs-proto --example race`.

use std::time::Duration;

use eyeballs_proto::sim::{fmt_ms, Behavior, Scenario};
use eyeballs_proto::{Event, RecordType, Report};

fn main() {
    let ms = Duration::from_millis;
    let scenario = Scenario::host("example.test", 443)
        .answer(RecordType::A, ms(5), ["192.0.2.1", "192.0.2.2"])
        .answer(RecordType::Aaaa, ms(20), ["2001:db8::1"])
        .behavior("2001:db8::1", Behavior::BlackHole)
        .behavior("192.0.2.1", Behavior::refuses(ms(10)))
        .behavior("192.0.2.2", Behavior::Connects(ms(30)));
    let sim = match scenario.run() {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!("A simulated race to example.test:443 on virtual time (no network):");
    println!("  AAAA answers at 20 ms: 2001:db8::1 (a black hole: SYNs vanish)");
    println!(
        "  A answers at 5 ms: 192.0.2.1 (refuses after 10 ms), 192.0.2.2 (accepts after 30 ms)\n"
    );
    print_timeline(&sim.report);
    println!(
        "\nA came first, so the engine waited up to the 50 ms Resolution Delay for AAAA (RFC 8305 \
         §3);\nAAAA came at 20 ms, so IPv6 went first. The black hole did not stall the race: \
         after the\n250 ms Connection Attempt Delay IPv4 started alongside it (§5); when that \
         was refused the\nnext address started at once, and the first to connect won. A \
         client trying addresses one\nby one would have waited out the whole TCP timeout \
         (over two minutes on Linux)."
    );
}

fn print_timeline(report: &Report) {
    println!("{:>8}  event", "time");
    for (at, event) in report.timeline() {
        let line = match event {
            Event::QuerySent(id) => format!("query {} sent", report.queries[id.index()].record),
            Event::QueryEnded(id) => {
                let q = &report.queries[id.index()];
                let outcome = q.outcome.map_or("pending", |o| o.as_str());
                let addrs: Vec<String> = q.addresses.iter().map(|a| a.to_string()).collect();
                format!("query {} {outcome} {}", q.record, addrs.join(", "))
            }
            Event::AttemptStarted(id) => format!(
                "attempt {id} to {} started",
                report.attempts[id.index()].endpoint
            ),
            Event::AttemptEnded(id) => {
                let a = &report.attempts[id.index()];
                format!(
                    "attempt {id} to {} {}",
                    a.endpoint,
                    a.end.map_or("pending", |e| e.as_str())
                )
            }
            Event::Finished => match report.winner() {
                Some(w) => format!("connected to {}", w.endpoint),
                None => "failed".to_owned(),
            },
            _ => continue,
        };
        println!("{:>5} ms  {line}", fmt_ms(at));
    }
}
