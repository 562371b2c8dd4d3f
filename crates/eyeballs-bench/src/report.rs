//! Everything one run measured, and BENCHMARKS.md written from it.

use std::fmt::Write as _;
use std::time::Duration;

use crate::callgrind::Callgrind;
use crate::contenders::Contender;
use crate::cost::Cost;
use crate::engine::EngineRow;
use crate::hev3::Hev3Results;
use crate::history::HistoryResults;
use crate::machine::Machine;
use crate::py_cost::PyCost;
use crate::scenarios::{Ideal, Scenario, Start};
use crate::stats::Summary;
use crate::swarm::SwarmRow;

/// The command that produces BENCHMARKS.md.
pub const COMMAND: &str = "cargo run --release -p eyeballs-bench";

/// One scenario's measurements.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario.
    pub scenario: Scenario,
    /// Its ideal, or why it could not be measured.
    pub ideal: Result<Ideal, String>,
    /// Per contender (in the order of [`Results::contenders`]): its runs' summary, or why
    /// it has none.
    pub cells: Vec<Result<Summary, String>>,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Results {
    /// Where and when.
    pub machine: Machine,
    /// `--quick`.
    pub quick: bool,
    /// Runs per contender and scenario.
    pub runs: usize,
    /// How long the whole run took (filled in last).
    pub total: Duration,
    /// The contenders, in row order.
    pub contenders: Vec<Contender>,
    /// Time to connect, per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Cost on loopback.
    pub cost: Result<Cost, String>,
    /// Cost on loopback of a Python connect.
    pub py_cost: Result<PyCost, String>,
    /// Instructions per connect under callgrind.
    pub callgrind: Result<Callgrind, String>,
    /// The engine alone.
    pub engine: Result<Vec<EngineRow>, String>,
    /// Concurrent races.
    pub swarm: Result<Vec<SwarmRow>, String>,
    /// First vs second connection, the history store's memory and cost.
    pub history: Result<HistoryResults, String>,
    /// HTTPS records and NAT64, and the engine with service records.
    pub hev3: Result<Hev3Results, String>,
    /// The chart's path relative to BENCHMARKS.md, if it was drawn.
    pub chart: Option<String>,
}

/// Milliseconds for a table: 2 decimals below 10 ms, 1 below 1 s, none above.
pub fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 1000.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// A ratio: `1.02×`.
pub fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "–".to_owned()
    } else if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

/// A Markdown table; `|` in cells is escaped. A column is right-aligned when at least half
/// of its cells that are not empty are figures (start with a digit, bold or not), else
/// left-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let numeric = |col: usize| {
        let cells: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.get(col))
            .map(|c| c.trim_start_matches('*'))
            .filter(|c| !c.is_empty())
            .collect();
        let figures = cells
            .iter()
            .filter(|c| c.starts_with(|ch: char| ch.is_ascii_digit()))
            .count();
        !cells.is_empty() && 2 * figures >= cells.len()
    };
    let escape = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {} |",
        headers
            .iter()
            .map(|h| escape(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}|",
        headers
            .iter()
            .enumerate()
            .map(|(i, _)| if numeric(i) { "---:" } else { "---" })
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter()
                .map(|c| escape(c))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    out
}

/// Writes a section's heading (`heading`, with its `#`s) and, when `part` was not measured,
/// says why; the measurements otherwise.
pub fn section<'a, T>(
    out: &mut String,
    heading: &str,
    part: &'a Result<T, String>,
) -> Option<&'a T> {
    let _ = writeln!(out, "{heading}\n");
    match part {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
            None
        }
        Ok(value) => Some(value),
    }
}

/// `label (delay)`: a contender's row name.
pub fn row_name(c: &Contender) -> String {
    format!("{} — {}", c.label, c.delay)
}

impl ScenarioResult {
    /// The ratio of `summary`'s median to the ideal.
    pub fn ratio(&self, summary: &Summary) -> Option<f64> {
        let ideal = self.ideal.as_ref().ok()?.total.as_secs_f64();
        (ideal > 0.0).then(|| summary.median.as_secs_f64() / ideal)
    }

    /// Whether the runs of `summary` did what the scenario calls for (connect, or fail
    /// clearly when nothing works).
    pub fn as_expected(&self, summary: &Summary) -> bool {
        if self.scenario.should_connect() {
            summary.all_connected()
        } else {
            summary.connected == 0
        }
    }
}

/// Where an eyeballs driver is not the fastest: one finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Slower {
    /// Scenario name.
    pub scenario: String,
    /// The fastest contender's row name and median.
    pub fastest: (String, Duration),
    /// eyeballs' best row name and median.
    pub ours: (String, Duration),
    /// Why, from the scenario and the contenders' settings.
    pub reason: String,
}

/// Every scenario where a contender that did what the scenario calls for had a lower median
/// than every eyeballs driver.
pub fn slower_findings(results: &Results) -> Vec<Slower> {
    let mut findings = Vec::new();
    for sr in &results.scenarios {
        let mut best_ours: Option<(&Contender, &Summary)> = None;
        let mut best_other: Option<(&Contender, &Summary)> = None;
        for (c, cell) in results.contenders.iter().zip(&sr.cells) {
            let Ok(summary) = cell else { continue };
            if !sr.as_expected(summary) {
                continue;
            }
            let slot = if c.ours {
                &mut best_ours
            } else {
                &mut best_other
            };
            if slot.is_none_or(|(_, s)| summary.median < s.median) {
                *slot = Some((c, summary));
            }
        }
        let (Some((oc, os)), Some((fc, fs))) = (best_ours, best_other) else {
            continue;
        };
        if fs.median >= os.median {
            continue;
        }
        let diff = os.median - fs.median;
        // The spread between median and p90 of either row: a smaller difference is noise.
        let spread = (os.p90 - os.median).max(fs.p90 - fs.median);
        let reason = if diff <= spread {
            format!(
                "within run-to-run spread: {} ms apart, less than the p90 − median of {} ms",
                fmt_ms(diff),
                fmt_ms(spread)
            )
        } else if matches!(sr.scenario.start, Start::AfterFailureOf(_)) {
            format!(
                "the first address fails within a few milliseconds; {} starts the next one at \
                 once, eyeballs waits until 10 ms after the first start (RFC 8305's minimum \
                 between two attempt starts, HE-5.10, kept for failure-triggered starts too)",
                fc.label
            )
        } else if fc.delay_ms.is_some_and(|d| d < 250)
            && matches!(sr.scenario.start, Start::After(d) if d >= Duration::from_millis(250))
        {
            format!(
                "{} waits {} ms before its next attempt, eyeballs RFC 8305's 250 ms",
                fc.label,
                fc.delay_ms.unwrap_or_default()
            )
        } else if sr.scenario.start == Start::After(Duration::ZERO) {
            format!(
                "{} ms of per-call overhead, not schedule: the first address works at once; \
                 eyeballs runs two resolver calls (AAAA and A apart) and its race engine",
                fmt_ms(diff)
            )
        } else {
            format!("{} ms faster; see the per-scenario table", fmt_ms(diff))
        };
        findings.push(Slower {
            scenario: sr.scenario.name.to_owned(),
            fastest: (row_name(fc), fs.median),
            ours: (row_name(oc), os.median),
            reason,
        });
    }
    findings
}

/// BENCHMARKS.md.
pub fn markdown(r: &Results) -> String {
    let mut out = String::new();
    let m = &r.machine;
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Generated by `{COMMAND}{}` on {}; total run time {}. Every figure below comes from \
         that one run (medians and ratios), nothing is edited by hand: to update this file, \
         run the command again.\n",
        if r.quick { " -- --quick" } else { "" },
        m.date,
        fmt_minutes(r.total)
    );
    if r.quick {
        let _ = writeln!(
            out,
            "> **Quick run** (`--quick`): {} runs per cell and only some scenarios; the full \
             run has 20 runs and every scenario.\n",
            r.runs
        );
    }
    let _ = writeln!(out, "**Machine:** {}.\n", m.summary());
    let versions: Vec<Vec<String>> = m
        .versions
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone()])
        .collect();
    out.push_str(&table(&["component", "version"], &versions));
    out.push('\n');

    write_how_to_run(&mut out);
    write_time_to_connect(&mut out, r);
    crate::history::report::write(&mut out, &r.history);
    crate::hev3::report::write(&mut out, &r.hev3);
    write_cost(&mut out, r);
    write_py_cost(&mut out, r);
    write_callgrind(&mut out, r);
    write_engine(&mut out, r);
    write_swarm(&mut out, r);
    write_not_measured(&mut out, r);
    out
}

fn fmt_minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{} min {:02} s", s / 60, s % 60)
}

fn write_how_to_run(out: &mut String) {
    let _ = writeln!(out, "## How to run\n");
    let _ = writeln!(
        out,
        "```sh\n\
         # As root (the network lab needs namespaces and iptables). Installs what it compares\n\
         # against first (crates/eyeballs-lab/install-deps.sh, crates/eyeballs-bench/install-deps.sh:\n\
         # curl, python3-venv, a font for the chart, aiohappyeyeballs and the\n\
         # eyeballs Python package, built with maturin, in target/bench-venv),\n\
         # then writes BENCHMARKS.md and docs/benchmarks.png. Under 15 minutes on 2 cores.\n\
         {COMMAND}\n\
         \n\
         # A fast check: 5 runs, 4 scenarios, smaller cost and concurrency figures.\n\
         {COMMAND} -- --quick\n\
         ```\n"
    );
}

fn write_time_to_connect(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## Time to connect, per network scenario\n");
    let _ = writeln!(
        out,
        "Each scenario is staged in the project's network lab (`crates/eyeballs-lab`): real \
         kernel sockets between two network namespaces, the name `dual.test` served by the \
         lab's DNS server (AAAA and A records; AAAA delayed or withheld where the scenario \
         says so), each server address accepting, black-holing (SYNs dropped), refusing (RST), \
         unreachable (ICMP) or holding the handshake for a set time. Every contender resolves \
         the name itself through the lab's DNS server (programs and the Rust libraries that \
         call `getaddrinfo` run in the lab's client namespace, where `/etc/resolv.conf` names \
         that server) and times itself, so no process start-up is counted: curl's \
         `time_connect`, `eyeballs connect --json`'s `elapsed_ms`, and in-process clocks \
         around each call for the libraries (whose harness first makes one untimed lookup of \
         `localhost`, answered from /etc/hosts, so that the thread that runs `getaddrinfo` \
         exists before the first timed run; the Python script gives its event loop's \
         executor one thread per run, so that runs started together do not queue for \
         `getaddrinfo`). A run is the time from the call to the \
         connected socket (name resolution included), or to the error.\n\n\
         {} runs per contender and scenario, one after another; when a contender's first run \
         takes 500 ms or more (it waits on a black hole or an unanswered query), its other \
         runs are started together, since they only wait on timers. Every run is capped at \
         5 s, and at 3 s in the all-black-holed scenario (its overall timeout): the \
         contender's own overall timeout where it has one (eyeballs `timeout`, curl \
         `--connect-timeout`), else a timeout around the call (`tokio::time::timeout`, \
         `asyncio.wait_for`). A run that hits the cap did not connect.\n\n\
         **Ideal**: the scheduled start of the first working address under RFC 8305's \
         defaults (Connection Attempt Delay 250 ms, Resolution Delay 50 ms, at least 10 ms \
         between two attempt starts) plus that address's handshake, plus one DNS round trip; \
         the DNS round trip, the handshake and (for a refusing or unreachable first address) \
         its failure time are measured in the same lab just before the contenders run. For \
         \"all black-holed\" the ideal is the 3 s timeout itself: a clear error then. Cells: \
         median in ms (ratio to the ideal); ✗ N: N runs did not connect.\n",
        r.runs
    );
    let mut headers: Vec<String> = vec!["contender — attempt delay".to_owned()];
    headers.extend(r.scenarios.iter().map(|s| s.scenario.name.to_owned()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut ideal_row = vec!["**ideal**".to_owned()];
    for sr in &r.scenarios {
        ideal_row.push(match &sr.ideal {
            Ok(i) => format!("**{}**", fmt_ms(i.total)),
            Err(_) => "–".to_owned(),
        });
    }
    rows.push(ideal_row);
    for (i, c) in r.contenders.iter().enumerate() {
        let mut row = vec![if c.ours {
            format!("**{}**", row_name(c))
        } else {
            row_name(c)
        }];
        for sr in &r.scenarios {
            row.push(match sr.cells.get(i) {
                Some(Ok(s)) => main_cell(sr, s),
                Some(Err(_)) | None => "not measured".to_owned(),
            });
        }
        rows.push(row);
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    out.push_str(&table(&header_refs, &rows));
    out.push('\n');
    if let Some(chart) = &r.chart {
        let _ = writeln!(
            out,
            "![Median time to connect per scenario and contender, with p90 whiskers and the \
             ideal as a dashed line]({chart})\n"
        );
    }

    let findings = slower_findings(r);
    let _ = writeln!(out, "### Where eyeballs is not the fastest\n");
    if findings.is_empty() {
        let _ = writeln!(
            out,
            "Nowhere in this run: in every scenario an eyeballs driver has the lowest median \
             among the contenders that did what the scenario calls for.\n"
        );
    } else {
        let rows: Vec<Vec<String>> = findings
            .iter()
            .map(|f| {
                vec![
                    f.scenario.clone(),
                    format!("{}: {} ms", f.fastest.0, fmt_ms(f.fastest.1)),
                    format!("{}: {} ms", f.ours.0, fmt_ms(f.ours.1)),
                    f.reason.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["scenario", "fastest", "best eyeballs", "why"],
            &rows,
        ));
        out.push('\n');
    }

    let _ = writeln!(out, "### Per scenario\n");
    for sr in &r.scenarios {
        let _ = writeln!(out, "#### {}\n", sr.scenario.name);
        match &sr.ideal {
            Ok(i) => {
                let _ = writeln!(
                    out,
                    "Ideal {} ms = DNS {} + scheduled start {} + handshake {}.\n",
                    fmt_ms(i.total),
                    fmt_ms(i.dns),
                    fmt_ms(i.start),
                    fmt_ms(i.handshake)
                );
            }
            Err(e) => {
                let _ = writeln!(out, "Ideal not measured: {e}.\n");
            }
        }
        let rows: Vec<Vec<String>> = r
            .contenders
            .iter()
            .zip(&sr.cells)
            .map(|(c, cell)| match cell {
                Ok(s) => vec![
                    row_name(c),
                    fmt_ms(s.median),
                    fmt_ms(s.p90),
                    fmt_ms(s.max),
                    format!("{}/{}", s.connected, s.runs),
                    sr.ratio(s).map_or_else(|| "–".to_owned(), fmt_ratio),
                    s.error.clone().map(|e| shorten(&e, 90)).unwrap_or_default(),
                ],
                Err(e) => vec![
                    row_name(c),
                    "not measured".to_owned(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    shorten(e, 90),
                ],
            })
            .collect();
        out.push_str(&table(
            &[
                "contender — attempt delay",
                "median ms",
                "p90 ms",
                "max ms",
                "connected",
                "median / ideal",
                "error (most common)",
            ],
            &rows,
        ));
        out.push('\n');
    }
}

fn main_cell(sr: &ScenarioResult, s: &Summary) -> String {
    let mut cell = fmt_ms(s.median);
    if let Some(ratio) = sr.ratio(s) {
        let _ = write!(cell, " ({})", fmt_ratio(ratio));
    }
    if sr.scenario.should_connect() && !s.all_connected() {
        let _ = write!(cell, " ✗ {}", s.runs - s.connected);
    }
    cell
}

/// `s` cut to its first `max` characters and `…` when it is longer.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn write_cost(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## Cost on loopback, single address\n");
    match &r.cost {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
        }
        Ok(cost) => {
            let _ = writeln!(
                out,
                "Sequential connections to listeners on 127.0.0.1 and [::1] in a network \
                 namespace of its own (an accepting thread closes each one; a backlog of 4096 \
                 keeps a full accept queue from dropping SYNs); {} connections per contender \
                 and round, {} rounds. Paired: in each round every contender's batch runs \
                 right next to its baseline's (the order within the pair rotating from round \
                 to round), and **CPU vs baseline** is the median over the rounds of the ratio \
                 within a round, with the lowest and highest round's ratio beside it (the speed \
                 of the kernel's loopback path drifts by tens of percent over seconds on a \
                 shared machine: a ratio of two batches a fraction of a second apart is \
                 steadier than one of two medians). The other columns show the median round. \
                 Each connection is closed with `SO_LINGER` 0 as soon as it is made, the same \
                 way for every contender, so that no TIME_WAIT entries pile up and slow later \
                 rounds. CPU time is the connecting thread's (`CLOCK_THREAD_CPUTIME_ID`: the \
                 scheduler's nanosecond count, user + system, the kernel's loopback handshake \
                 work included; `getrusage` is tick-sampled here), so the accepting threads are \
                 not counted. Async contenders run on a current-thread tokio runtime. What \
                 each eyeballs row does besides the connect: a race engine and its report for \
                 every call, and its connector's history store asked before the race and told \
                 after it (see the history section for what that costs); no system call of its \
                 own for one address (no source-address probe: one address has nothing to be \
                 sorted against; the blocking driver connects in blocking mode when nothing \
                 else can happen). The two-address rows race [::1] and 127.0.0.1, both \
                 listening, so IPv6 wins at once: they add a UDP source-address probe per \
                 address the first time (then cached for 5 s) and, for the blocking driver, \
                 two system calls for the attempt in flight (a non-blocking connect waited for \
                 with one poll(2), then the socket made blocking again for the caller: one \
                 ioctl(2)).\n",
                cost.connections, cost.rounds
            );
            let mut rows: Vec<Vec<String>> = Vec::new();
            for row in &cost.rows {
                let base = row.way.baseline().and_then(|b| cost.row(b));
                rows.push(vec![
                    row.way.label().to_owned(),
                    format!("{:.0}", row.per_second),
                    format!("{:.1}", row.cpu_per_conn.as_secs_f64() * 1e6),
                    base.map_or_else(
                        || "baseline".to_owned(),
                        |b| fmt_ratio(row.per_second / b.per_second),
                    ),
                    match (base, row.cpu_ratio) {
                        (None, _) => "baseline".to_owned(),
                        (Some(_), Some(r)) => fmt_ratio(r.median),
                        (Some(b), None) => {
                            fmt_ratio(row.cpu_per_conn.as_secs_f64() / b.cpu_per_conn.as_secs_f64())
                        }
                    },
                    match (base, row.cpu_ratio) {
                        (Some(_), Some(r)) => {
                            format!("{} – {}", fmt_ratio(r.low), fmt_ratio(r.high))
                        }
                        _ => String::new(),
                    },
                ]);
            }
            out.push_str(&table(
                &[
                    "contender",
                    "connections/s",
                    "CPU µs/connection",
                    "connections/s vs baseline",
                    "CPU vs baseline",
                    "rounds' CPU ratios, lowest – highest",
                ],
                &rows,
            ));
            out.push('\n');
        }
    }
}

fn write_py_cost(out: &mut String, r: &Results) {
    let _ = writeln!(out, "### Python: cost on loopback\n");
    match &r.py_cost {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
        }
        Ok(cost) => {
            let _ = writeln!(
                out,
                "One interpreter (the bench's venv, the eyeballs package built with `maturin \
                 build --release`) in a network namespace of its own makes {} sequential \
                 connections per way and round to a listener on 127.0.0.1 that nobody accepts \
                 from (an accepting thread would compete for the GIL; a new listener each \
                 round, its backlog long enough), each closed at once; {} rounds in rotating \
                 order, median round shown. CPU time is the process's (`time.process_time`), \
                 interpreter and kernel included. `socket.create_connection` resolves the \
                 literal with `getaddrinfo` and connects in blocking mode (with a timeout: \
                 non-blocking and poll(2)); `eyeballs.create_connection` parses the literal, \
                 runs a race on the blocking driver with the GIL released and Python's signal \
                 handlers as its interruption check (so the attempt is polled), and hands the \
                 winning descriptor to a `socket.socket`.\n",
                cost.connections, cost.rounds
            );
            let rows: Vec<Vec<String>> = cost
                .rows
                .iter()
                .map(|row| {
                    let base = row.baseline_way().and_then(|b| cost.row(&b));
                    vec![
                        format!("`{}`", row.way),
                        format!("{:.0}", row.per_second),
                        format!("{:.1}", row.cpu_us),
                        base.map_or_else(
                            || "baseline".to_owned(),
                            |b| fmt_ratio(row.cpu_us / b.cpu_us),
                        ),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "call",
                    "connections/s",
                    "CPU µs/connection",
                    "CPU vs baseline",
                ],
                &rows,
            ));
            out.push('\n');
        }
    }
}

fn write_callgrind(out: &mut String, r: &Results) {
    let _ = writeln!(out, "### Instructions per connect (callgrind)\n");
    match &r.callgrind {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
        }
        Ok(cg) => {
            let _ = writeln!(
                out,
                "User-space instructions of the connecting thread per connect, counted by \
                 {} (`Ir`): stable from run to run on a shared machine, but without the \
                 kernel's share, which is most of a plain connect's CPU time (a `std` \
                 connect is three system calls), so a ratio here is not a ratio of CPU time. \
                 The eyeballs crate's `connect_cost` example makes {} sequential connects to \
                 listeners on 127.0.0.1 and [::1] (accepting threads that reset each \
                 connection once the client closes it) inside one function, \
                 `connect_cost::measured`, after a warm-up outside it; callgrind counts that \
                 function only, on the main thread. The two-address rows race [::1] and \
                 127.0.0.1, both listening: the first wins, so their baseline is a plain \
                 connect to [::1].\n\n\
                 ```sh\n{}\n{}\n```\n",
                cg.valgrind,
                cg.connections,
                crate::callgrind::BUILD,
                cg.command()
            );
            let rows: Vec<Vec<String>> = cg
                .rows
                .iter()
                .map(|row| {
                    let base = row.way.baseline().and_then(|b| cg.row(b));
                    vec![
                        row.way.label().to_owned(),
                        format!("{:.0}", row.per_connect),
                        base.map_or_else(
                            || "baseline".to_owned(),
                            |b| fmt_ratio(row.per_connect / b.per_connect),
                        ),
                        base.map_or_else(String::new, |b| {
                            format!("{:.0}", row.per_connect - b.per_connect)
                        }),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "way",
                    "instructions/connect",
                    "vs baseline",
                    "instructions over baseline",
                ],
                &rows,
            ));
            out.push('\n');
        }
    }
}

fn write_engine(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## The engine alone\n");
    match &r.engine {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
        }
        Ok(rows) => {
            let _ = writeln!(
                out,
                "`cargo bench -p eyeballs-proto --bench engine` (divan, run by the benchmark and \
                 read from its output): `eyeballs-proto`'s engine driven by a scripted driver on \
                 virtual time, every address but the last a black hole so the race walks the \
                 whole staggered schedule. `race_addresses`: pre-resolved addresses; \
                 `race_host`: a host name whose AAAA and A answers split the addresses. An event \
                 is an input given to the engine or an action it emits. Medians of divan's \
                 samples; allocations counted by divan's allocation profiler.\n"
            );
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|e| {
                    vec![
                        format!("`{}`", e.bench),
                        e.addresses.to_string(),
                        format!("{:.0}", e.events_per_race()),
                        format!("{:.2}", e.median.as_secs_f64() * 1e6),
                        format!("{:.1} M", e.events_per_sec / 1e6),
                        e.allocs.to_string(),
                        format!("{:.0}", e.alloc_bytes),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "benchmark",
                    "addresses",
                    "events/race",
                    "µs/race",
                    "events/s",
                    "allocations/race",
                    "bytes allocated/race",
                ],
                &rows,
            ));
            out.push('\n');
        }
    }
}

fn write_swarm(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## Concurrent races: memory and descriptors\n");
    match &r.swarm {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
        }
        Ok(rows) => {
            let first = rows.first();
            let _ = writeln!(
                out,
                "{} races started at once (one tokio task each, spawned before any runs, on a \
                 current-thread runtime in a child process in the lab's client namespace) to \
                 one lab address that accepts slowly: the lab's `Delay({} ms)`, each SYN held \
                 by an NFQUEUE holder before the handshake goes on. Each stream is closed as \
                 soon as it connects. The lab's kernel queue holds at most 1024 SYNs and its \
                 listener's backlog is 128, so SYNs beyond them are dropped and the client's \
                 kernel sends them again (after 1 s, then 3 s...): that, not the client, is \
                 why the slowest race takes seconds. A sampler (every 2 ms) records how many \
                 races are between their start and their end, and the RSS when that count was \
                 highest: memory per race in flight = (that RSS − RSS before the races) / that \
                 count. Peak RSS is VmHWM. Descriptors: the child's open fds before the races \
                 and after they all ended; server-side connections still open once the client \
                 was done; whether the benchmark's own fds (the lab's server ends) were back to \
                 their count before the lab. `RLIMIT_NOFILE` is raised in both processes.\n",
                first.map_or(0, |r| r.races),
                first.map_or(0, |r| r.hold.as_millis())
            );
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|s| {
                    vec![
                        s.lib.label().to_owned(),
                        format!("{}/{}", s.connected, s.races),
                        format!("{:.2}", s.wall.as_secs_f64()),
                        fmt_ms(s.median),
                        fmt_ms(s.max),
                        format!("{:.1}", s.rss_before_kib as f64 / 1024.0),
                        format!("{:.1}", s.peak_rss_kib as f64 / 1024.0),
                        s.peak_in_flight.to_string(),
                        format!("{:.0}", s.bytes_per_race()),
                        format!("{} → {}", s.fds.0, s.fds.1),
                        s.server_open_after.to_string(),
                        if s.parent_fds_restored { "yes" } else { "NO" }.to_owned(),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "contender",
                    "connected",
                    "all done after s",
                    "median ms",
                    "max ms",
                    "RSS before MiB",
                    "peak RSS MiB",
                    "most in flight",
                    "bytes/race in flight",
                    "client fds before → after",
                    "server conns left",
                    "lab fds restored",
                ],
                &rows,
            ));
            out.push('\n');
            if let Some(e) = r
                .swarm
                .as_ref()
                .ok()
                .and_then(|rows| rows.iter().find_map(|s| s.error.clone()))
            {
                let _ = writeln!(out, "First error seen: {}.\n", shorten(&e, 200));
            }
        }
    }
}

fn write_not_measured(out: &mut String, r: &Results) {
    let _ = writeln!(out, "## Notes, and what is not measured\n");
    for sr in &r.scenarios {
        for (c, cell) in r.contenders.iter().zip(&sr.cells) {
            if let Err(e) = cell {
                let _ = writeln!(
                    out,
                    "- **Not measured**: {} in \"{}\": {}.",
                    row_name(c),
                    sr.scenario.name,
                    shorten(e, 300)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "- The `happy-eyeballs` crate (crates.io) is a connector, not a state machine: \
         `happy_eyeballs::tokio::connect(addr)` resolves everything first (`getaddrinfo` via \
         `tokio::net::lookup_host`), interleaves the families and starts attempts a fixed \
         250 ms apart; it has no setting, so it has one row.\n\
         - hyper-util's `HttpConnector` is driven as a tower `Service<Uri>` with \
         `http://dual.test:8080/`, which is how hyper's legacy client calls it; its default \
         \"happy eyeballs timeout\" is 300 ms, and it races the second family only (addresses \
         of one family are tried one after another).\n\
         - Python's `create_connection` and aiohappyeyeballs' `start_connection` default to \
         no Happy Eyeballs at all (`happy_eyeballs_delay=None`: one address after another); \
         aiohttp passes 0.25. aiohappyeyeballs takes resolved addresses: the script calls \
         `loop.getaddrinfo` first, and the time includes it.\n\
         - Resolution differs by design and is part of what is measured: every contender but \
         eyeballs resolves with one `getaddrinfo` call, where glibc sends AAAA and A together \
         and waits for both; when AAAA never comes it waits out the lab resolv.conf's 1 s \
         timeout three times (it retries in single-request mode, then on a new socket) \
         before returning the A answer, hence about 3 s. eyeballs resolves each family on \
         its own, in parallel (`getaddrinfo` per family, or hickory for `eyeballs connect \
         --dns`), and starts as soon as one answers (Resolution Delay 50 ms).\n\
         - Ratios to small ideals (a few tenths of a millisecond when both families work) \
         mostly show per-call overhead (resolver thread hand-off, a UDP round trip), not the \
         schedule."
    );
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callgrind::{CallgrindRow, Way as CgWay};
    use crate::contenders;
    use crate::cost::{CostRow, Way};
    use crate::scenarios;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn summary(m: u64, connected: usize) -> Summary {
        let times = [ms(m), ms(m + 2), ms(m + 5)];
        Summary::fixture(20, connected, times, "timed out | after 3s")
    }

    fn results() -> Results {
        let contenders = contenders::all();
        let all = scenarios::all();
        let blackhole = all[1].clone();
        let refused = all[2].clone();
        let cells = |ours: u64, curl: u64| -> Vec<Result<Summary, String>> {
            contenders
                .iter()
                .map(|c| match (c.key, &c.how) {
                    ("eyeballs-blocking", _) => Err("child exited with 101".to_owned()),
                    ("eyeballs" | "eyeballs-cli", _) => Ok(summary(ours, 20)),
                    ("curl", _) => Ok(summary(curl, 20)),
                    ("tokio", _) => Ok(summary(3000, 0)),
                    _ => Ok(summary(ours + 40, 20)),
                })
                .collect()
        };
        let ideal = |total: u64| Ideal {
            dns: ms(0),
            start: ms(total),
            handshake: ms(0),
            total: ms(total),
        };
        Results {
            machine: Machine {
                date: "2025-01-01 00:00 UTC".to_owned(),
                cpu: "Test CPU".to_owned(),
                cpus: 2,
                memory: "1.0 GiB".to_owned(),
                kernel: "6.1".to_owned(),
                os: "Test OS".to_owned(),
                versions: vec![("curl".to_owned(), "curl 8".to_owned())],
            },
            quick: false,
            runs: 20,
            total: Duration::from_secs(421),
            scenarios: vec![
                ScenarioResult {
                    scenario: blackhole,
                    ideal: Ok(ideal(250)),
                    cells: cells(251, 201),
                },
                ScenarioResult {
                    scenario: refused,
                    ideal: Ok(ideal(10)),
                    cells: cells(10, 10),
                },
            ],
            contenders,
            cost: Ok(Cost {
                connections: 1000,
                rounds: 3,
                rows: vec![
                    CostRow {
                        way: Way::Tokio,
                        per_second: 20_000.0,
                        cpu_per_conn: Duration::from_micros(40),
                        cpu_ratio: None,
                    },
                    CostRow {
                        way: Way::EyeballsAddrs,
                        per_second: 10_000.0,
                        cpu_per_conn: Duration::from_micros(80),
                        cpu_ratio: Some(crate::cost::Ratio {
                            median: 2.0,
                            low: 1.9,
                            high: 2.2,
                        }),
                    },
                    CostRow {
                        way: Way::Std,
                        per_second: 25_000.0,
                        cpu_per_conn: Duration::from_micros(30),
                        cpu_ratio: None,
                    },
                ],
            }),
            py_cost: Err("no venv".to_owned()),
            callgrind: Ok(Callgrind {
                valgrind: "valgrind-3.19.0".to_owned(),
                connections: 1000,
                rows: vec![
                    CallgrindRow {
                        way: CgWay::Tokio,
                        per_connect: 4000.0,
                    },
                    CallgrindRow {
                        way: CgWay::EyeballsAddrs,
                        per_connect: 18_500.0,
                    },
                ],
            }),
            engine: Err("cargo not found".to_owned()),
            swarm: Err("not root".to_owned()),
            history: Err("skipped (--only)".to_owned()),
            hev3: Err("skipped (--only)".to_owned()),
            chart: Some("docs/benchmarks.png".to_owned()),
        }
    }

    #[test]
    fn table_escapes_and_aligns() {
        let t = table(&["a", "b|c"], &[vec!["x|y".to_owned(), "1".to_owned()]]);
        assert_eq!(t, "| a | b\\|c |\n|---|---:|\n| x\\|y | 1 |\n");
        let t = table(
            &["n", "why", "vs"],
            &[
                vec![
                    "**2.5**".to_owned(),
                    "noise".to_owned(),
                    "baseline".to_owned(),
                ],
                vec!["3 (1.00×)".to_owned(), String::new(), "0.80×".to_owned()],
            ],
        );
        assert!(t.contains("|---:|---|---:|"), "{t}");
    }

    #[test]
    fn a_part_not_measured_says_so() {
        let mut md = String::new();
        let part: Result<(), String> = Err("skipped (--only)".to_owned());
        assert_eq!(section(&mut md, "## Part", &part), None);
        assert_eq!(md, "## Part\n\nNot measured: skipped (--only).\n\n");
        assert_eq!(section(&mut md, "## Part", &Ok(3)), Some(&3));
    }

    #[test]
    fn number_formats() {
        assert_eq!(fmt_ms(Duration::from_micros(420)), "0.42");
        assert_eq!(fmt_ms(Duration::from_micros(251_349)), "251.3");
        assert_eq!(fmt_ms(Duration::from_millis(3001)), "3001");
        assert_eq!(fmt_ratio(1.0049), "1.00×");
        assert_eq!(fmt_ratio(12.34), "12.3×");
        assert_eq!(fmt_ratio(f64::NAN), "–");
        assert_eq!(fmt_minutes(Duration::from_secs(421)), "7 min 01 s");
    }

    #[test]
    fn markdown_has_every_section_and_the_figures() {
        let md = markdown(&results());
        for needle in [
            "# Benchmarks",
            "cargo run --release -p eyeballs-bench",
            "2025-01-01 00:00 UTC",
            "total run time 7 min 01 s",
            "Test CPU (2 logical CPUs)",
            "## Time to connect",
            "| **ideal** | **250.0** | **10.0** |",
            "| **eyeballs (tokio) — 250 ms (default)** | 251.0 (1.00×) | 10.0 (1.00×) |",
            "3000 (12.0×) ✗ 20",
            "![Median time to connect",
            "(docs/benchmarks.png)",
            "#### IPv6 black hole",
            "timed out \\| after 3s",
            "## Cost on loopback",
            "| eyeballs `Connector::connect_addrs([addr])` | 10000 | 80.0 | 0.50× | 2.00× |",
            "### Instructions per connect (callgrind)",
            "'--toggle-collect=*connect_cost::measured*'",
            "| eyeballs `Connector::connect_addrs([v4])` | 18500 | 4.62× | 14500 |",
            "## The engine alone",
            "Not measured: cargo not found.",
            "Not measured: not root.",
            "- **Not measured**: eyeballs (blocking) — 250 ms (default) in \"IPv6 black hole\": child exited with 101.",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
        }
        // A contender without results shows so, never numbers.
        let row = md
            .lines()
            .find(|l| l.starts_with("| **eyeballs (blocking)"))
            .unwrap();
        assert!(row.contains("not measured"), "{row}");
    }

    #[test]
    fn finds_where_eyeballs_is_slower_and_why() {
        let findings = slower_findings(&results());
        // Black hole: curl's 200 ms default beats 250 ms. Refused: a tie, not a finding.
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.scenario, "IPv6 black hole");
        assert_eq!(f.fastest.1, ms(201));
        assert_eq!(f.ours.1, ms(251));
        assert!(f.reason.contains("200 ms"), "{}", f.reason);
        // tokio never connected in a scenario that should: it is not counted as fastest.
        assert!(!f.fastest.0.contains("tokio"));
    }
}
