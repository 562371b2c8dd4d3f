//! The engine with service records: one race on virtual time (`eyeballs::proto::sim`) with
//! and without an HTTPS answer, its CPU time per race in this process and its instructions
//! under callgrind (this program re-run as `child engine RACE N`).
//!
//! Every race connects to `example.test` port 443 whose IPv6 addresses are black holes and
//! whose last IPv4 address connects after 5 ms, so the race walks the staggered schedule as
//! `race_host` of the engine part does; all answers come at once.

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use eyeballs::proto::sim::{Behavior, Scenario, Simulation};
use eyeballs::proto::{DnsResult, RecordType, ServiceRecord, Target};

use super::Plan;
use crate::callgrind;
use crate::contenders::Tools;

/// Valgrind's options for `child engine`.
pub const VALGRIND_ARGS: [&str; 3] = [
    "--tool=callgrind",
    "--separate-threads=yes",
    "--toggle-collect=*hev3::engine::measured*",
];

/// One race of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Race {
    /// AAAA and A, one address each (`race_host` with 2 addresses): RFC 8305 alone.
    Plain,
    /// The same with an HTTPS query, answered NODATA.
    HttpsNoData,
    /// The same with an HTTPS query answered with 2 ServiceMode records (priorities 1 and 2,
    /// each with an ipv6hint and an ipv4hint), and AAAA and A with those 4 addresses.
    HttpsHints,
}

/// Every race, in table order.
pub const RACES: [Race; 3] = [Race::Plain, Race::HttpsNoData, Race::HttpsHints];

impl Race {
    /// The child's command-line name.
    pub fn arg(self) -> &'static str {
        match self {
            Race::Plain => "plain",
            Race::HttpsNoData => "https-nodata",
            Race::HttpsHints => "https-hints",
        }
    }

    /// The race named `arg`.
    pub fn from_arg(arg: &str) -> Option<Self> {
        RACES.into_iter().find(|r| r.arg() == arg)
    }

    /// The table's name for it.
    pub fn label(self) -> &'static str {
        match self {
            Race::Plain => "AAAA + A, 2 addresses (no HTTPS query)",
            Race::HttpsNoData => "HTTPS (NODATA) + AAAA + A, 2 addresses",
            Race::HttpsHints => "HTTPS (2 records with hints) + AAAA + A, 4 addresses",
        }
    }

    /// The scripted race.
    pub fn scenario(self) -> Scenario {
        let at_once = Duration::ZERO;
        let connects = Behavior::Connects(Duration::from_millis(5));
        // A host name with an HTTPS query (the name is valid: `run` would report it if not).
        let https = || match Target::host("example.test", 443) {
            Ok(t) => Scenario::target(t.with_https()),
            Err(_) => Scenario::host("example.test", 443),
        };
        match self {
            Race::Plain => Scenario::host("example.test", 443)
                .answer(RecordType::Aaaa, at_once, ["2001:db8::1"])
                .answer(RecordType::A, at_once, ["192.0.2.1"])
                .behavior("192.0.2.1", connects),
            Race::HttpsNoData => https()
                .dns(RecordType::Https, at_once, DnsResult::NoData)
                .answer(RecordType::Aaaa, at_once, ["2001:db8::1"])
                .answer(RecordType::A, at_once, ["192.0.2.1"])
                .behavior("192.0.2.1", connects),
            Race::HttpsHints => {
                let record = |priority, last: u8| {
                    ServiceRecord::service(priority).with_hints(
                        [std::net::Ipv6Addr::new(
                            0x2001,
                            0xdb8,
                            0,
                            0,
                            0,
                            0,
                            0,
                            u16::from(last),
                        )],
                        [std::net::Ipv4Addr::new(192, 0, 2, last)],
                    )
                };
                https()
                    .dns(
                        RecordType::Https,
                        at_once,
                        DnsResult::Services(vec![record(1, 1), record(2, 2)]),
                    )
                    .answer(RecordType::Aaaa, at_once, ["2001:db8::1", "2001:db8::2"])
                    .answer(RecordType::A, at_once, ["192.0.2.1", "192.0.2.2"])
                    .behavior("192.0.2.2", connects)
            }
        }
    }
}

/// One row: a race's cost.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineRaceRow {
    /// The race.
    pub race: Race,
    /// Attempts the race started.
    pub attempts: usize,
    /// Thread CPU time per race, ns (median round).
    pub cpu_ns: f64,
    /// Instructions per race under callgrind, if counted.
    pub instructions: Result<f64, String>,
}

/// The engine measurements of the part.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineCost {
    /// Races per round natively.
    pub races: usize,
    /// Rounds natively.
    pub rounds: usize,
    /// Races counted under callgrind.
    pub callgrind_races: usize,
    /// One row per [`RACES`] entry.
    pub rows: Vec<EngineRaceRow>,
}

/// Runs `n` races of `scenario`: callgrind's `--toggle-collect` target, so never inlined.
#[inline(never)]
fn measured(scenario: &Scenario, n: usize) -> usize {
    let mut attempts = 0;
    for _ in 0..n {
        if let Ok(sim) = black_box(scenario).run() {
            attempts += black_box(&sim).report.attempts.len();
        }
    }
    attempts
}

/// One race run once: it must connect.
fn check(race: Race) -> Result<Simulation, String> {
    let sim = race
        .scenario()
        .run()
        .map_err(|e| format!("{}: {e}", race.arg()))?;
    if sim.report.winner().is_none() {
        return Err(format!("{}: the race did not connect", race.arg()));
    }
    Ok(sim)
}

/// CPU time per race of `race`, ns: the median of `rounds` rounds of `n` races (after a
/// warm-up round).
fn cpu_per_race(race: Race, n: usize, rounds: usize) -> Result<f64, String> {
    let scenario = race.scenario();
    measured(&scenario, n);
    let mut per_race = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        let t0 = crate::cost::thread_cpu()?;
        measured(&scenario, n);
        let spent = crate::cost::thread_cpu()?.saturating_sub(t0);
        per_race.push(spent / n.max(1) as u32);
    }
    per_race.sort_unstable();
    crate::stats::median(&per_race)
        .map(|d| d.as_secs_f64() * 1e9)
        .ok_or_else(|| "no rounds".to_owned())
}

/// Every race: natively, then under callgrind.
pub fn run(_root: &Path, tools: &Tools, plan: Plan) -> Result<EngineCost, String> {
    let valgrind = callgrind::valgrind_version();
    let dir = std::env::temp_dir().join(format!("eyeballs-hev3-cg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let rows = RACES
        .iter()
        .map(|&race| {
            let attempts = check(race)?.report.attempts.len();
            let cpu_ns = cpu_per_race(race, plan.engine_races, plan.engine_rounds)?;
            let instructions = valgrind.clone().and_then(|_| {
                callgrind::count_function(
                    Command::new("valgrind"),
                    &VALGRIND_ARGS,
                    &tools.self_exe,
                    &[
                        "child",
                        "engine",
                        race.arg(),
                        &plan.callgrind_races.to_string(),
                    ],
                    &dir.join(race.arg()),
                )
                .map(|(total, _)| total as f64 / plan.callgrind_races.max(1) as f64)
            });
            Ok(EngineRaceRow {
                race,
                attempts,
                cpu_ns,
                instructions,
            })
        })
        .collect::<Result<Vec<_>, String>>();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(EngineCost {
        races: plan.engine_races,
        rounds: plan.engine_rounds,
        callgrind_races: plan.callgrind_races,
        rows: rows?,
    })
}

/// The child's side (`child engine RACE N`, under callgrind): `n` races in one call of
/// [`measured`], after one race outside it.
pub fn child_main(race: &str, n: usize) -> ExitCode {
    let Some(race) = Race::from_arg(race) else {
        eprintln!("eyeballs-bench child: unknown race {race:?}");
        return ExitCode::from(2);
    };
    if let Err(e) = check(race) {
        eprintln!("eyeballs-bench child: {e}");
        return ExitCode::FAILURE;
    }
    let scenario = race.scenario();
    black_box(measured(&scenario, n));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_4_2_1_3_every_race_connects_and_the_hinted_one_uses_its_records() {
        for race in RACES {
            let sim = check(race).unwrap();
            assert_eq!(Race::from_arg(race.arg()), Some(race));
            let https = sim
                .report
                .queries
                .iter()
                .any(|q| q.record == RecordType::Https);
            assert_eq!(https, race != Race::Plain, "{race:?}");
        }
        let hinted = check(Race::HttpsHints).unwrap();
        assert_eq!(hinted.report.services.len(), 2);
        assert_eq!(
            hinted.report.winner().map(|w| w.endpoint.addr.to_string()),
            Some("192.0.2.2:443".to_owned())
        );
        assert_eq!(measured(&Race::Plain.scenario(), 3), 6);
    }
}
