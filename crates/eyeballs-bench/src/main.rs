//! `eyeballs-bench`: eyeballs side by side with what users would use instead, on the same
//! machine in the same run, written to BENCHMARKS.md with a chart (docs/benchmarks.png).
//!
//! Run as root from the workspace: `cargo run --release -p eyeballs-bench` (`-- --quick`
//! for a fast check). It installs its peers, then measures:
//! - time to connect per network scenario in the lab, against the ideal ([`scenarios`],
//!   [`contenders`]);
//! - cost per connection on loopback ([`cost`]), and in instructions under callgrind
//!   ([`callgrind`]);
//! - the engine alone ([`engine`]);
//! - 10,000 concurrent races: memory and descriptors ([`swarm`]);
//! - history: the first and the second connection to a host per scenario, the store's
//!   memory per remembered destination and its cost per connect ([`history`]);
//! - HEv3: HTTPS records and NAT64 against the peers, and the engine's cost with service
//!   records ([`hev3`]);
//! - the proxy: `eyeballs proxy` against microsocks and dante-server on loopback, added
//!   latency per request and relay throughput ([`proxy`]);
//! - QUIC against TCP+TLS: time to a usable connection per lab scenario against the ideal,
//!   the handshake's cost on loopback, memory per race with QUIC attempts ([`quic`]).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};

mod callgrind;
mod chart;
mod contenders;
mod cost;
mod engine;
mod hev3;
mod history;
mod machine;
mod proxy;
mod py_cost;
mod quic;
mod report;
mod scenarios;
mod setup;
mod stats;
mod swarm;

use report::{fmt_ms, fmt_ratio, Results, ScenarioResult};
use stats::Summary;

/// Benchmarks eyeballs against curl, Python asyncio, aiohappyeyeballs, hyper-util, tokio and
/// the happy-eyeballs crate in the network lab, and writes BENCHMARKS.md and its chart.
/// Needs root.
#[derive(Debug, Parser)]
#[command(name = "eyeballs-bench")]
struct Cli {
    /// A fast check: 5 runs, 4 scenarios, smaller cost and concurrency figures.
    #[arg(long)]
    quick: bool,

    /// Runs per contender and scenario (default 20; 5 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    runs: Option<u32>,

    /// Only the scenarios whose name contains this text (repeatable).
    #[arg(long, value_name = "TEXT")]
    scenario: Vec<String>,

    /// Measure only these parts (repeatable); the others are reported as skipped.
    #[arg(long, value_enum, value_name = "PART")]
    only: Vec<Part>,

    /// Concurrent races of the swarm (default 10,000; 2,000 with --quick).
    #[arg(long, value_name = "N")]
    swarm_races: Option<usize>,

    /// How long the swarm's address holds each handshake, in ms (default 50).
    #[arg(long, value_name = "MS")]
    swarm_hold_ms: Option<u64>,

    /// Do not run the install scripts (the peers are installed already).
    #[arg(long)]
    skip_setup: bool,

    /// Where to write the report (default: BENCHMARKS.md at the workspace root).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,

    /// Where to draw the chart (default: docs/benchmarks.png at the workspace root).
    #[arg(long, value_name = "PATH")]
    chart: Option<PathBuf>,

    #[command(subcommand)]
    child: Option<Child>,
}

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// Time to connect per scenario.
    Scenarios,
    /// Cost per connection on loopback.
    Cost,
    /// Instructions per connection under callgrind (needs valgrind).
    Callgrind,
    /// The engine alone.
    Engine,
    /// 10,000 concurrent races.
    Swarm,
    /// History: first vs second connection, the store's memory and cost.
    History,
    /// HEv3: HTTPS records and NAT64 scenarios, the engine with service records.
    Hev3,
    /// The proxy against microsocks and dante-server: added latency, relay throughput.
    Proxy,
    /// QUIC against TCP+TLS: lab scenarios, handshake cost on loopback, memory per race.
    Quic,
}

/// Modes this program is re-run in, inside the lab's client namespace.
#[derive(Debug, Subcommand)]
enum Child {
    /// (internal)
    #[command(hide = true, subcommand)]
    Child(ChildMode),
}

#[derive(Debug, Subcommand)]
enum ChildMode {
    /// Times RUNS connections of a Rust library.
    Race {
        library: String,
        host: String,
        port: u16,
        runs: usize,
        cap_ms: u64,
        /// The lab's DNS server, for the libraries that ask it themselves.
        #[arg(long)]
        dns: Option<std::net::SocketAddr>,
    },
    /// Times RUNS pairs of connections (one client, two connects) of a Rust library.
    History {
        library: String,
        host: String,
        port: u16,
        runs: usize,
        cap_ms: u64,
    },
    /// Runs N engine races of RACE on virtual time (under callgrind).
    Engine { race: String, n: usize },
    /// Opens RACES connections at once.
    Swarm {
        library: String,
        addr: String,
        races: usize,
    },
    /// Times N loopback connections of one QUIC-section way.
    QuicCost {
        way: String,
        n: usize,
        delay_ms: u64,
    },
    /// Holds RACES races with their attempts pending, and measures them.
    QuicMemory { kind: String, races: usize },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.child {
        Some(Child::Child(ChildMode::Race {
            library,
            host,
            port,
            runs,
            cap_ms,
            dns,
        })) => contenders::rust::child_main(&library, &host, port, runs, cap_ms, dns),
        Some(Child::Child(ChildMode::History {
            library,
            host,
            port,
            runs,
            cap_ms,
        })) => history::child::child_main(&library, &host, port, runs, cap_ms),
        Some(Child::Child(ChildMode::Engine { race, n })) => hev3::engine::child_main(&race, n),
        Some(Child::Child(ChildMode::Swarm {
            library,
            addr,
            races,
        })) => swarm::child_main(&library, &addr, races),
        Some(Child::Child(ChildMode::QuicCost { way, n, delay_ms })) => {
            quic::cost::child_main(&way, n, delay_ms)
        }
        Some(Child::Child(ChildMode::QuicMemory { kind, races })) => {
            quic::memory::child_main(&kind, races)
        }
        None => match run(&cli) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("eyeballs-bench: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The sizes of one run.
struct Plan {
    runs: usize,
    cost_connections: usize,
    cost_rounds: usize,
    /// Connections per way and round of the Python cost (one listener's backlog at most).
    py_cost_connections: usize,
    py_cost_rounds: usize,
    callgrind_connections: usize,
    swarm_races: usize,
    swarm_hold: Duration,
    history: history::Plan,
    hev3: hev3::Plan,
}

fn run(cli: &Cli) -> Result<(), String> {
    let started = Instant::now();
    if !nix::unistd::geteuid().is_root() {
        return Err(
            "needs root: the network lab creates namespaces and firewall rules \
                    (run `sudo cargo run --release -p eyeballs-bench`)"
                .to_owned(),
        );
    }
    let plan = Plan {
        runs: cli
            .runs
            .map_or(if cli.quick { 5 } else { 20 }, |r| r as usize),
        // Many short paired rounds rather than a few long ones (see `cost`): the same
        // 100,000 connections per contender in a full run.
        cost_connections: if cli.quick { 1000 } else { 4000 },
        cost_rounds: if cli.quick { 5 } else { 25 },
        py_cost_connections: if cli.quick { 500 } else { 2000 },
        py_cost_rounds: if cli.quick { 3 } else { 5 },
        callgrind_connections: if cli.quick { 200 } else { 1000 },
        swarm_races: cli
            .swarm_races
            .unwrap_or(if cli.quick { 2000 } else { 10_000 }),
        swarm_hold: Duration::from_millis(cli.swarm_hold_ms.unwrap_or(50)),
        history: history::Plan {
            runs: cli
                .runs
                .map_or(if cli.quick { 5 } else { 10 }, |r| r as usize),
            cost_connections: if cli.quick { 1000 } else { 10_000 },
            cost_rounds: if cli.quick { 3 } else { 5 },
            callgrind_connections: if cli.quick { 200 } else { 1000 },
            lookup: history::LookupPlan {
                pairs: if cli.quick { 20_000 } else { 200_000 },
                rounds: if cli.quick { 3 } else { 5 },
                callgrind_pairs: if cli.quick { 2000 } else { 10_000 },
            },
        },
        hev3: hev3::Plan {
            runs: cli
                .runs
                .map_or(if cli.quick { 5 } else { 20 }, |r| r as usize),
            engine_races: if cli.quick { 2000 } else { 20_000 },
            engine_rounds: if cli.quick { 3 } else { 5 },
            callgrind_races: if cli.quick { 200 } else { 1000 },
        },
    };
    let wants = |part: Part| cli.only.is_empty() || cli.only.contains(&part);
    let root = setup::workspace_root();

    // The proxy part needs neither the lab nor Python: `--only proxy` skips their setup.
    let needs_python = [
        Part::Scenarios,
        Part::Cost,
        Part::Callgrind,
        Part::Engine,
        Part::Swarm,
        Part::History,
        Part::Hev3,
    ]
    .into_iter()
    .any(wants);
    if !cli.skip_setup {
        if needs_python {
            step("setup: installing the peers");
            setup::install_peers(&root)?;
        }
        if wants(Part::Proxy) {
            step("setup: installing the proxies (microsocks, dante-server)");
            setup::install_proxies();
        }
    }
    step("setup: building the eyeballs command (release)");
    let tools = setup::tools(&root, setup::build_cli(&root)?, needs_python)?;

    let machine = machine::Machine::gather(&root, &tools.python);
    println!("\nmachine:  {}", machine.summary());
    println!("date:     {}", machine.date);
    for (name, version) in &machine.versions {
        println!("{name:<17} {version}");
    }
    println!();

    let contenders = contenders::all();
    let scenarios: Vec<scenarios::Scenario> = scenarios::all()
        .into_iter()
        .filter(|s| !cli.quick || s.quick)
        .filter(|s| cli.scenario.is_empty() || cli.scenario.iter().any(|t| s.name.contains(t)))
        .collect();
    let scenario_results = if wants(Part::Scenarios) {
        time_to_connect(&scenarios, &contenders, &tools, plan.runs)
    } else {
        Vec::new()
    };

    let cost = if wants(Part::Cost) {
        step("cost on loopback");
        let cost = cost::run(plan.cost_connections, plan.cost_rounds);
        print_outcome(&cost, |c| {
            c.rows
                .iter()
                .map(|r| {
                    format!(
                        "  {:<52} {:>8.0} conn/s {:>7.1} µs CPU/conn",
                        r.way.label(),
                        r.per_second,
                        r.cpu_per_conn.as_secs_f64() * 1e6
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        cost
    } else {
        skipped_part()
    };
    let py_cost = if wants(Part::Cost) {
        step("cost on loopback, Python");
        let py_cost = py_cost::run(&tools, plan.py_cost_connections, plan.py_cost_rounds);
        print_outcome(&py_cost, |c| {
            c.rows
                .iter()
                .map(|r| {
                    format!(
                        "  {:<52} {:>8.0} conn/s {:>7.1} µs CPU/conn",
                        r.way, r.per_second, r.cpu_us
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        py_cost
    } else {
        skipped_part()
    };

    let callgrind = if wants(Part::Callgrind) {
        step(&format!(
            "instructions per connect under callgrind: {}",
            callgrind::BUILD
        ));
        let counted = callgrind::run(&root, plan.callgrind_connections);
        print_outcome(&counted, |c| {
            c.rows
                .iter()
                .map(|r| {
                    format!(
                        "  {:<66} {:>8.0} instructions/conn",
                        r.way.label(),
                        r.per_connect
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        counted
    } else {
        skipped_part()
    };

    let engine = if wants(Part::Engine) {
        step("the engine alone: cargo bench -p eyeballs-proto --bench engine");
        let engine = engine::run(&setup::cargo(), &root);
        print_outcome(&engine, |rows| {
            rows.iter()
                .map(|e| {
                    format!(
                        "  {:<15} {:>3} addresses: {:>4.0} events/race, {:>5.1} M events/s, {} allocations/race",
                        e.bench,
                        e.addresses,
                        e.events_per_race(),
                        e.events_per_sec / 1e6,
                        e.allocs
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        engine
    } else {
        skipped_part()
    };

    let swarm = if wants(Part::Swarm) {
        step(&format!(
            "{} concurrent races to an address that holds each handshake {} ms",
            plan.swarm_races,
            plan.swarm_hold.as_millis()
        ));
        let swarm = swarm::run(&tools, plan.swarm_races, plan.swarm_hold);
        print_outcome(&swarm, |rows| {
            rows.iter()
                .map(|s| {
                    format!(
                        "  {:<28} {}/{} connected in {:.2} s, peak RSS {:.1} MiB, {:.0} bytes/race, fds {} -> {}, server conns left {}",
                        s.lib.label(),
                        s.connected,
                        s.races,
                        s.wall.as_secs_f64(),
                        s.peak_rss_kib as f64 / 1024.0,
                        s.bytes_per_race(),
                        s.fds.0,
                        s.fds.1,
                        s.server_open_after
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        swarm
    } else {
        skipped_part()
    };

    let history = if wants(Part::History) {
        Ok(history::run(&root, &tools, plan.history))
    } else {
        skipped_part()
    };

    let hev3 = if wants(Part::Hev3) {
        Ok(hev3::run(&root, &tools, plan.hev3))
    } else {
        skipped_part()
    };

    let proxy = if wants(Part::Proxy) {
        step("the proxy against microsocks and dante-server, on loopback");
        let proxy = proxy::run(&tools.eyeballs_cli, proxy::Plan::new(cli.quick));
        print_outcome(&proxy, |r| {
            format!(
                "{}\n{}",
                proxy::report::rows_table(r),
                proxy::report::goals(r)
            )
        });
        proxy
    } else {
        skipped_part()
    };

    let quic = if wants(Part::Quic) {
        let plan = quic::Plan::new(cli.quick, cli.runs.map(|r| r as usize));
        Ok(quic::run(&tools.self_exe, plan))
    } else {
        skipped_part()
    };

    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| root.join("BENCHMARKS.md"));
    let chart_path = cli
        .chart
        .clone()
        .unwrap_or_else(|| root.join("docs/benchmarks.png"));
    let mut results = Results {
        machine,
        quick: cli.quick,
        runs: plan.runs,
        total: Duration::ZERO,
        contenders,
        scenarios: scenario_results,
        cost,
        py_cost,
        callgrind,
        engine,
        swarm,
        history,
        hev3,
        chart: None,
    };
    if !results.scenarios.is_empty() {
        step("drawing the chart");
        match chart::draw(&results, &chart_path) {
            Ok(()) => results.chart = Some(relative_to(&chart_path, out.parent())),
            Err(e) => eprintln!("eyeballs-bench: no chart: {e}"),
        }
    }
    results.total = started.elapsed();
    let mut markdown = report::markdown(&results);
    proxy::report::insert(&mut markdown, &proxy);
    quic::report::insert(&mut markdown, &quic);
    std::fs::write(&out, markdown).map_err(|e| format!("writing {}: {e}", out.display()))?;
    println!("\nwrote {}", out.display());
    if results.chart.is_some() {
        println!("wrote {}", chart_path.display());
    }
    println!(
        "total {:.0} s ({})",
        results.total.as_secs_f64(),
        if cli.quick { "quick" } else { "full" }
    );
    Ok(())
}

/// The time-to-connect part: every scenario's lab, its ideal, every contender's runs.
fn time_to_connect(
    scenarios: &[scenarios::Scenario],
    contenders: &[contenders::Contender],
    tools: &contenders::Tools,
    runs: usize,
) -> Vec<ScenarioResult> {
    let mut results = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        step(&format!(
            "[{}/{}] {} ({} runs each)",
            i + 1,
            scenarios.len(),
            scenario.name,
            runs
        ));
        let lab = match scenario.start_lab() {
            Ok(lab) => lab,
            Err(e) => {
                let why = format!("the lab did not start: {e}");
                eprintln!("  {why}");
                results.push(ScenarioResult {
                    scenario: scenario.clone(),
                    ideal: Err(why.clone()),
                    cells: contenders.iter().map(|_| Err(why.clone())).collect(),
                });
                continue;
            }
        };
        let ideal = scenarios::measure_ideal(scenario, &lab);
        match &ideal {
            Ok(i) => println!(
                "  {:<44} {:>8} ms  (DNS {} + start {} + handshake {})",
                "ideal",
                fmt_ms(i.total),
                fmt_ms(i.dns),
                fmt_ms(i.start),
                fmt_ms(i.handshake)
            ),
            Err(e) => println!("  ideal: {e}"),
        }
        let mut cells = Vec::new();
        for c in contenders {
            let t0 = Instant::now();
            let cell = contenders::run(c, &lab, tools, runs, scenario.cap())
                .and_then(|samples| Summary::of(&samples).ok_or_else(|| "no runs".to_owned()));
            let name = report::row_name(c);
            match &cell {
                Ok(s) => {
                    let ratio = ideal
                        .as_ref()
                        .ok()
                        .map(|i| s.median.as_secs_f64() / i.total.as_secs_f64());
                    println!(
                        "  {:<44} {:>8} ms  p90 {:>7}  max {:>7}  {:>2}/{} connected  {:>7}  ({:.1} s){}",
                        shorten(&name, 44),
                        fmt_ms(s.median),
                        fmt_ms(s.p90),
                        fmt_ms(s.max),
                        s.connected,
                        s.runs,
                        ratio.map_or_else(|| "–".to_owned(), fmt_ratio),
                        t0.elapsed().as_secs_f64(),
                        s.error
                            .as_deref()
                            .map(|e| format!("  [{}]", shorten(e, 60)))
                            .unwrap_or_default()
                    );
                }
                Err(e) => println!("  {:<44} not measured: {e}", shorten(&name, 44)),
            }
            cells.push(cell);
        }
        results.push(ScenarioResult {
            scenario: scenario.clone(),
            ideal,
            cells,
        });
    }
    results
}

fn skipped_part<T>() -> Result<T, String> {
    Err("skipped (--only)".to_owned())
}

fn step(what: &str) {
    println!("== {what}");
}

fn print_outcome<T>(result: &Result<T, String>, show: impl FnOnce(&T) -> String) {
    match result {
        Ok(value) => println!("{}", show(value)),
        Err(e) => println!("  not measured: {e}"),
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars()
            .take(max - 1)
            .chain(std::iter::once('…'))
            .collect()
    }
}

/// Each line of `stdout` that is not blank, read as JSON and given to `row` (with the line,
/// for its error messages): the rows, or the first error.
fn json_lines<T>(
    stdout: &str,
    row: impl Fn(&str, &serde_json::Value) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{e} in {line:?}"))?;
            row(line, &v)
        })
        .collect()
}

/// `path` relative to `base` when it is inside it (for the Markdown image link).
fn relative_to(path: &std::path::Path, base: Option<&std::path::Path>) -> String {
    base.and_then(|b| path.strip_prefix(b).ok())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
