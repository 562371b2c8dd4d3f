//! Shared helpers for the scenario tests: scenarios are tables of inputs (the `Scenario`
//! builder) and tables of expected actions (`"<ms> <action>"` lines), compared exactly.
#![allow(dead_code)]

use std::time::Duration;

use eyeballs_proto::sim::{Scenario, Simulation};
use eyeballs_proto::Config;

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `scenario` and asserts its complete action log, exactly.
#[track_caller]
pub fn expect(scenario: Scenario, expected: &[&str]) -> Simulation {
    let sim = scenario.run().expect("scenario sets up");
    let got = sim.lines();
    if got != expected {
        panic!(
            "action log differs\n--- expected\n{}\n--- got\n{}\n",
            expected.join("\n"),
            got.join("\n")
        );
    }
    sim
}

/// The default configuration with some fields changed.
pub fn config(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::default();
    f(&mut c);
    c
}

/// A socket address from text.
pub fn sa(s: &str) -> std::net::SocketAddr {
    s.parse().expect("valid socket address")
}
