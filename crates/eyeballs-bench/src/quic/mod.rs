//! QUIC raced against TCP+TLS (issue 11, "Measured"; HEv3 §6), side by side in one run,
//! never asserted:
//!
//! - time to a usable connection per lab scenario, against the ideal, with and without QUIC
//!   ([`lab`], root);
//! - what a QUIC handshake costs against TCP+TLS on loopback: wall time, CPU time and
//!   instructions per connection, straight and through `SecureConnector` ([`cost`]);
//! - memory and descriptors per race with a QUIC attempt pending, against TCP-only races
//!   ([`memory`]).
//!
//! Run alone with `eyeballs-bench --only quic`; the section goes into BENCHMARKS.md before
//! its notes ([`report::insert`]).

use std::path::Path;

pub mod connect;
pub mod cost;
pub mod lab;
pub mod memory;
pub mod report;
pub mod servers;

/// The sizes of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Races per connector and lab scenario (default 20; 5 with `--quick`).
    pub races: usize,
    /// Straight connects per path and lab scenario, for the ideal (default 10; 3 quick).
    pub ideal_connects: usize,
    /// Loopback connections per way (default 200; 60 quick).
    pub cost_connections: usize,
    /// Child runs the loopback connections of a way are split in, the ways taking turns
    /// (default 4; 2 quick).
    pub cost_rounds: usize,
    /// Connections per way under callgrind (default 50; 10 quick).
    pub callgrind_connections: usize,
    /// Concurrent races of the memory part (default 1,000; 200 quick).
    pub memory_races: usize,
}

impl Plan {
    /// The full run, or (`quick`) a fast check; `runs` (`--runs`) sets the races per
    /// scenario.
    pub fn new(quick: bool, runs: Option<usize>) -> Plan {
        Plan {
            races: runs.unwrap_or(if quick { 5 } else { 20 }),
            ideal_connects: if quick { 3 } else { 10 },
            cost_connections: if quick { 60 } else { 200 },
            cost_rounds: if quick { 2 } else { 4 },
            callgrind_connections: if quick { 10 } else { 50 },
            memory_races: if quick { 200 } else { 1000 },
        }
    }
}

/// Everything the section measured.
#[derive(Debug, Clone, PartialEq)]
pub struct QuicResults {
    /// The sizes it ran with.
    pub plan: Plan,
    /// Per lab scenario, or why none ran (not root, no lab).
    pub scenarios: Result<Vec<lab::ScenarioRow>, String>,
    /// The loopback handshake cost.
    pub cost: cost::Cost,
    /// Memory per race, or why not measured.
    pub memory: Result<Vec<memory::MemoryRow>, String>,
}

/// Measures the section; `self_exe` is this program (re-run for the children).
pub fn run(self_exe: &Path, plan: Plan) -> QuicResults {
    println!("== QUIC: time to a usable connection per lab scenario");
    let scenarios = if nix::unistd::geteuid().is_root() {
        Ok(lab::run(plan.races, plan.ideal_connects))
    } else {
        Err("needs root (the lab)".to_owned())
    };
    println!("== QUIC: handshake cost against TCP+TLS on loopback");
    let cost = cost::run(
        self_exe,
        plan.cost_connections,
        plan.cost_rounds,
        plan.callgrind_connections,
    );
    println!(
        "== QUIC: memory per race, {} concurrent races on loopback",
        plan.memory_races
    );
    let memory = memory::run(self_exe, plan.memory_races);
    if let Err(e) = &memory {
        println!("  not measured: {e}");
    }
    QuicResults {
        plan,
        scenarios,
        cost,
        memory,
    }
}
