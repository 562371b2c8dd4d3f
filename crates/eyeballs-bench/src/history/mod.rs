//! The history part (issue 12): what remembering costs and what it saves.
//!
//! - **First vs second connect** in the lab ([`peers`], [`child`]): per scenario, every run
//!   makes two connections in a row to `dual.test` from one client (one eyeballs `Connector`,
//!   one hyper-util `HttpConnector`, one Python interpreter, one curl process with the URL
//!   given twice...), and the two are timed apart. eyeballs remembers that IPv6 stalled or
//!   was refused and leads with IPv4 the second time; the others pay again.
//! - **Memory per remembered destination**: the eyeballs crate's `history_cost` example
//!   (`memory N`), with a counting global allocator.
//! - **Cost of the store**: CPU time per connect with history and `.without_history()` on
//!   loopback ([`crate::cost::run_ways`]), their instructions under callgrind
//!   ([`crate::callgrind::run_ways`]), and one `recall` + `learn` pair on a store of 1,000
//!   entries (`history_cost lookup`, natively and under callgrind).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use eyeballs_lab::Lab;

use crate::callgrind::{self, Callgrind};
use crate::contenders::external::{parse_eyeballs_line, per_process, PYTHON_RACE};
use crate::contenders::{no_proxy, PyMode, Tools};
use crate::cost::{self, Cost};
use crate::scenarios::{self, Ideal, Scenario, LONG_RUN, NAME, PORT};
use crate::stats::{Sample, Summary};

pub mod child;
pub mod report;

/// The scenarios of the first-vs-second table, by their names in [`scenarios::all`].
pub const SCENARIOS: [&str; 3] = ["IPv6 black hole", "IPv6 delayed 300 ms", "IPv6 refused"];

/// The cap of each connect in this part (each contender's own timeout where it has one, else
/// a timeout around the call): every scenario here has a working address by ~600 ms, and a
/// client that waits on the black hole waits twice per run.
pub const CAP: Duration = Duration::from_secs(2);

/// The example's build command, as BENCHMARKS.md shows it.
pub const EXAMPLE_BUILD: &str = "cargo build --release --example history_cost -p eyeballs";

/// The store sizes of the memory table.
pub const MEMORY_SIZES: [usize; 2] = [1000, 10_000];

/// The `history_cost lookup` kinds, in table order.
pub const LOOKUP_KINDS: [&str; 3] = ["addr", "addr-unwatched", "host"];

/// Valgrind's options for `history_cost lookup`.
pub const LOOKUP_VALGRIND_ARGS: [&str; 3] = [
    "--tool=callgrind",
    "--separate-threads=yes",
    "--toggle-collect=*history_cost::measured*",
];

/// The CPU-time ways: each eyeballs way with history (the default) and without.
pub const COST_WAYS: [cost::Way; 6] = [
    cost::Way::EyeballsAddrsNoHistory,
    cost::Way::EyeballsAddrs,
    cost::Way::EyeballsTwoNoHistory,
    cost::Way::EyeballsTwo,
    cost::Way::BlockingNoHistory,
    cost::Way::Blocking,
];

/// The callgrind ways: the same pairs.
pub const CALLGRIND_WAYS: [callgrind::Way; 6] = [
    callgrind::Way::EyeballsAddrsNoHistory,
    callgrind::Way::EyeballsAddrs,
    callgrind::Way::EyeballsTwoNoHistory,
    callgrind::Way::EyeballsTwo,
    callgrind::Way::BlockingNoHistory,
    callgrind::Way::Blocking,
];

/// How a peer is run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum How {
    /// A Rust library in a child process of this program ([`child::Lib`]).
    Rust(child::Lib),
    /// `eyeballs connect NAME PORT --count 2 --json --dns <lab DNS>`, one process per run.
    EyeballsCli,
    /// curl, one process per run, the URL given twice (two transfers, two connections: the
    /// lab's server closes each after its answer).
    Curl,
    /// The Python script with two calls per run.
    Python {
        /// Which call.
        mode: PyMode,
        /// `happy_eyeballs_delay` in seconds; `None`: the default.
        delay: Option<f64>,
        /// One interpreter per run (the eyeballs package keeps one history store per
        /// process: a run must start with an empty one); else one for all the runs.
        per_run: bool,
    },
}

/// One row of the first-vs-second tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    /// Short name for progress lines.
    pub key: &'static str,
    /// The row's name.
    pub label: &'static str,
    /// Its attempt delay as run.
    pub delay: &'static str,
    /// How the second connection is made.
    pub second: &'static str,
    /// One of eyeballs' own.
    pub ours: bool,
    /// How it is run.
    pub how: How,
}

impl Peer {
    /// `label — delay`.
    pub fn row_name(&self) -> String {
        format!("{} — {}", self.label, self.delay)
    }
}

/// Every peer, in table order.
pub fn peers() -> Vec<Peer> {
    let p = |key, label, delay, second, ours, how| Peer {
        key,
        label,
        delay,
        second,
        ours,
        how,
    };
    let py = |mode, delay, per_run| How::Python {
        mode,
        delay,
        per_run,
    };
    vec![
        p(
            "eyeballs",
            "eyeballs (tokio)",
            "250 ms (default)",
            "same `Connector` (its history store, the default)",
            true,
            How::Rust(child::Lib::Eyeballs { history: true }),
        ),
        p(
            "eyeballs-no-history",
            "eyeballs (tokio) `.without_history()`",
            "250 ms (default)",
            "same `Connector`, no history",
            true,
            How::Rust(child::Lib::Eyeballs { history: false }),
        ),
        p(
            "eyeballs-cli",
            "`eyeballs connect --count 2`",
            "250 ms (default)",
            "the second race of one command (one store)",
            true,
            How::EyeballsCli,
        ),
        p(
            "py-eyeballs",
            "Python `eyeballs.create_connection`",
            "250 ms (default)",
            "same interpreter (the package's store)",
            true,
            py(PyMode::Eyeballs, None, true),
        ),
        p(
            "py-eyeballs-start",
            "Python eyeballs `start_connection`",
            "250 ms",
            "same interpreter (the package's store)",
            true,
            py(PyMode::EyeballsStart, Some(0.25), true),
        ),
        p(
            "tokio",
            "tokio `TcpStream::connect`",
            "none (one address after another)",
            "same process (nothing kept)",
            false,
            How::Rust(child::Lib::Tokio),
        ),
        p(
            "hyper-util",
            "hyper-util `HttpConnector`",
            "300 ms (default)",
            "same `HttpConnector`",
            false,
            How::Rust(child::Lib::HyperUtil),
        ),
        p(
            "happy-eyeballs",
            "`happy-eyeballs` crate (tokio)",
            "250 ms (fixed)",
            "same process (nothing kept)",
            false,
            How::Rust(child::Lib::HappyEyeballs),
        ),
        p(
            "curl",
            "curl",
            "200 ms (default)",
            "same curl process, the URL given twice",
            false,
            How::Curl,
        ),
        p(
            "asyncio-250",
            "Python asyncio `create_connection`",
            "250 ms",
            "same interpreter and event loop",
            false,
            py(PyMode::Asyncio, Some(0.25), false),
        ),
        p(
            "aiohappyeyeballs-250",
            "aiohappyeyeballs `start_connection`",
            "250 ms",
            "same interpreter and event loop",
            false,
            py(PyMode::Aiohappyeyeballs, Some(0.25), false),
        ),
        p(
            "py-socket",
            "Python `socket.create_connection`",
            "none (one address after another)",
            "same interpreter",
            false,
            py(PyMode::Socket, None, false),
        ),
    ]
}

/// A peer's runs in one scenario: its first connections and its second ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The first connection of each run.
    pub first: Summary,
    /// The second connection of each run.
    pub second: Summary,
}

/// One scenario of the first-vs-second tables.
#[derive(Debug, Clone)]
pub struct HistoryScenario {
    /// The scenario.
    pub scenario: Scenario,
    /// The ideal of a connection with nothing known (the time-to-connect part's).
    pub ideal: Result<Ideal, String>,
    /// Per peer, in [`HistoryResults::peers`] order.
    pub cells: Vec<Result<Pair, String>>,
}

impl HistoryScenario {
    /// The ideal of a second connection that knows what the first learnt: the working
    /// address at once, so one DNS round trip and its handshake.
    pub fn ideal_second(&self) -> Option<Duration> {
        self.ideal.as_ref().ok().map(|i| i.dns + i.handshake)
    }
}

/// One line of `history_cost memory`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRow {
    /// `empty`, `first-lesson`, `endpoints` or `hosts`.
    pub what: String,
    /// Entries learnt.
    pub n: usize,
    /// Heap bytes live, from before the store was made.
    pub bytes: i64,
    /// Allocations live, from before the store was made.
    pub allocations: i64,
    /// Heap bytes live, from after the store was made (its entries alone).
    pub entry_bytes: i64,
    /// Allocations live, from after the store was made.
    pub entry_allocations: i64,
}

/// One `recall` + `learn` row.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupRow {
    /// The `history_cost lookup` kind.
    pub kind: String,
    /// Endpoints in the store.
    pub entries: usize,
    /// Thread CPU time per pair, ns (median round).
    pub cpu_ns: f64,
    /// Allocations per pair.
    pub allocations: f64,
    /// Instructions per pair under callgrind, if counted.
    pub instructions: Result<f64, String>,
}

/// The sizes of the `recall` + `learn` measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupPlan {
    /// Pairs per round, natively.
    pub pairs: usize,
    /// Rounds, natively.
    pub rounds: usize,
    /// Pairs counted under callgrind (one round).
    pub callgrind_pairs: usize,
}

/// Everything the history part measured.
#[derive(Debug, Clone)]
pub struct HistoryResults {
    /// Runs per peer and scenario.
    pub runs: usize,
    /// The peers, in row order.
    pub peers: Vec<Peer>,
    /// First vs second connect, per scenario.
    pub scenarios: Vec<HistoryScenario>,
    /// `history_cost memory`, per size.
    pub memory: Result<Vec<MemoryRow>, String>,
    /// `recall` + `learn`.
    pub lookup: Result<Vec<LookupRow>, String>,
    /// Its plan.
    pub lookup_plan: LookupPlan,
    /// CPU time per connect with and without history.
    pub cost: Result<Cost, String>,
    /// Instructions per connect with and without history.
    pub callgrind: Result<Callgrind, String>,
}

/// The sizes of one history part.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Runs per peer and scenario.
    pub runs: usize,
    /// Loopback connections per way and round (CPU time).
    pub cost_connections: usize,
    /// Rounds of them.
    pub cost_rounds: usize,
    /// Connections counted per way under callgrind.
    pub callgrind_connections: usize,
    /// The `recall` + `learn` sizes.
    pub lookup: LookupPlan,
}

/// Runs the whole part, printing progress as it goes.
pub fn run(root: &Path, tools: &Tools, plan: Plan) -> HistoryResults {
    let peers = peers();
    let all = scenarios::all();
    let mut results = Vec::new();
    for (i, name) in SCENARIOS.iter().enumerate() {
        let Some(scenario) = all.iter().find(|s| s.name == *name).cloned() else {
            continue;
        };
        crate::step(&format!(
            "history [{}/{}] {}: first and second connect ({} runs each)",
            i + 1,
            SCENARIOS.len(),
            scenario.name,
            plan.runs
        ));
        results.push(first_and_second(scenario, &peers, tools, plan.runs));
    }

    crate::step("history: memory per remembered destination");
    let example = callgrind::build_example(root, EXAMPLE_BUILD, "history_cost");
    let memory = example.clone().and_then(|ex| memory(&ex));
    crate::print_outcome(&memory, |rows| {
        rows.iter()
            .map(|m| {
                format!(
                    "  {:<13} n={:<6} {:>9} bytes ({} allocations), {:>9} in entries",
                    m.what, m.n, m.bytes, m.allocations, m.entry_bytes
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });

    crate::step("history: one recall + learn pair on a store of 1,000 entries");
    let lookup = example.and_then(|ex| lookup(&ex, plan.lookup));
    crate::print_outcome(&lookup, |rows| {
        rows.iter()
            .map(|l| {
                format!(
                    "  {:<15} {:>7.0} ns CPU/pair {:>5.2} allocations/pair {}",
                    l.kind,
                    l.cpu_ns,
                    l.allocations,
                    l.instructions
                        .as_ref()
                        .map_or_else(|e| e.clone(), |i| format!("{i:.0} instructions/pair"))
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });

    crate::step("history: CPU time per loopback connect, with history and without");
    let cost = cost::run_ways(&COST_WAYS, plan.cost_connections, plan.cost_rounds);
    crate::print_outcome(&cost, |c| {
        c.rows
            .iter()
            .map(|r| {
                format!(
                    "  {:<80} {:>7.2} µs CPU/conn",
                    r.way.label(),
                    r.cpu_per_conn.as_secs_f64() * 1e6
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });

    crate::step("history: instructions per loopback connect, with history and without");
    let counted = callgrind::run_ways(root, &CALLGRIND_WAYS, plan.callgrind_connections);
    crate::print_outcome(&counted, |c| {
        c.rows
            .iter()
            .map(|r| {
                format!(
                    "  {:<80} {:>8.0} instructions/conn",
                    r.way.label(),
                    r.per_connect
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });

    HistoryResults {
        runs: plan.runs,
        peers,
        scenarios: results,
        memory,
        lookup,
        lookup_plan: plan.lookup,
        cost,
        callgrind: counted,
    }
}

/// One scenario: its lab, its ideal, every peer's runs.
fn first_and_second(
    scenario: Scenario,
    peers: &[Peer],
    tools: &Tools,
    runs: usize,
) -> HistoryScenario {
    let lab = match scenario.start_lab() {
        Ok(lab) => lab,
        Err(e) => {
            let why = format!("the lab did not start: {e}");
            eprintln!("  {why}");
            return HistoryScenario {
                scenario,
                ideal: Err(why.clone()),
                cells: peers.iter().map(|_| Err(why.clone())).collect(),
            };
        }
    };
    let ideal = scenarios::measure_ideal(&scenario, &lab);
    let mut result = HistoryScenario {
        scenario,
        ideal,
        cells: Vec::new(),
    };
    match (&result.ideal, result.ideal_second()) {
        (Ok(i), Some(second)) => println!(
            "  {:<52} {:>8} ms → {:>7} ms (DNS {} + handshake {})",
            "ideal (nothing known → the working address at once)",
            crate::report::fmt_ms(i.total),
            crate::report::fmt_ms(second),
            crate::report::fmt_ms(i.dns),
            crate::report::fmt_ms(i.handshake)
        ),
        (Err(e), _) => println!("  ideal: {e}"),
        _ => {}
    }
    for peer in peers {
        let t0 = Instant::now();
        let cell = run_peer(peer, &lab, tools, runs).and_then(|pairs| {
            let (first, second): (Vec<Sample>, Vec<Sample>) = pairs.into_iter().unzip();
            match (Summary::of(&first), Summary::of(&second)) {
                (Some(first), Some(second)) => Ok(Pair { first, second }),
                _ => Err("no runs".to_owned()),
            }
        });
        match &cell {
            Ok(p) => println!(
                "  {:<52} {:>8} ms → {:>7} ms  connected {}/{} then {}/{}  ({:.1} s){}",
                crate::shorten(&peer.row_name(), 52),
                crate::report::fmt_ms(p.first.median),
                crate::report::fmt_ms(p.second.median),
                p.first.connected,
                p.first.runs,
                p.second.connected,
                p.second.runs,
                t0.elapsed().as_secs_f64(),
                p.first
                    .error
                    .as_deref()
                    .or(p.second.error.as_deref())
                    .map(|e| format!("  [{}]", crate::shorten(e, 60)))
                    .unwrap_or_default()
            ),
            Err(e) => println!(
                "  {:<52} not measured: {e}",
                crate::shorten(&peer.row_name(), 52)
            ),
        }
        result.cells.push(cell);
    }
    result
}

/// `runs` runs of `peer` in `lab`: each run's first and second connection.
fn run_peer(
    peer: &Peer,
    lab: &Lab,
    tools: &Tools,
    runs: usize,
) -> Result<Vec<(Sample, Sample)>, String> {
    match peer.how {
        How::Rust(lib) => rust_child(lib, lab, tools, runs),
        How::EyeballsCli => {
            let dns = lab.dns_server_v4().ip().to_string();
            per_process(
                runs,
                || {
                    let mut command = lab
                        .client_command(&tools.eyeballs_cli)
                        .map_err(|e| e.to_string())?;
                    command
                        .args(["connect", NAME, &PORT.to_string(), "--json", "--dns", &dns])
                        .args(["--count", "2"])
                        .args(["--timeout", &format!("{}ms", CAP.as_millis())]);
                    Ok(command)
                },
                parse_cli,
                pair_elapsed,
            )
        }
        How::Curl => per_process(
            runs,
            || {
                let mut command = lab.client_command("curl").map_err(|e| e.to_string())?;
                let url = format!("http://{NAME}:{PORT}/");
                command
                    .args(["-s", "--noproxy", "*", "-o", "/dev/null", "-o", "/dev/null"])
                    .args(["-w", "%{time_connect} %{time_total}\\n"])
                    .args(["--connect-timeout", &CAP.as_secs_f64().to_string()])
                    .args([&url, &url]);
                no_proxy(&mut command);
                Ok(command)
            },
            parse_curl_pair,
            pair_elapsed,
        ),
        How::Python {
            mode,
            delay,
            per_run,
        } => {
            let command = |runs: usize| -> Result<Command, String> {
                let mut command = lab
                    .client_command(&tools.python)
                    .map_err(|e| e.to_string())?;
                command
                    .args(["-c", PYTHON_RACE, mode.arg()])
                    .arg(delay.map_or_else(|| "none".to_owned(), |d| d.to_string()))
                    .args([NAME, &PORT.to_string(), &runs.to_string()])
                    .arg(CAP.as_secs_f64().to_string())
                    .arg(LONG_RUN.as_secs_f64().to_string())
                    .arg("2");
                no_proxy(&mut command);
                Ok(command)
            };
            if per_run {
                per_process(
                    runs,
                    || command(1),
                    |out| one_pair(parse_numbered(out)?),
                    pair_elapsed,
                )
            } else {
                let output = command(runs)?
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("starting {}: {e}", tools.python.display()))?;
                let pairs = parse_numbered(&output)?;
                if pairs.len() != runs {
                    return Err(format!(
                        "python {} exited with {} after {} of {runs} runs: {}",
                        mode.arg(),
                        output.status,
                        pairs.len(),
                        String::from_utf8_lossy(&output.stderr).trim()
                    ));
                }
                Ok(pairs)
            }
        }
    }
}

/// The Rust child in the client namespace: `child history LIB NAME PORT RUNS CAP_MS`.
fn rust_child(
    lib: child::Lib,
    lab: &Lab,
    tools: &Tools,
    runs: usize,
) -> Result<Vec<(Sample, Sample)>, String> {
    let mut command = lab
        .client_command(&tools.self_exe)
        .map_err(|e| e.to_string())?;
    command
        .args(["child", "history", lib.key(), NAME, &PORT.to_string()])
        .arg(runs.to_string())
        .arg(CAP.as_millis().to_string())
        .stdin(Stdio::null());
    let output = no_proxy(&mut command)
        .output()
        .map_err(|e| format!("starting the child: {e}"))?;
    let pairs = parse_numbered(&output)?;
    if !output.status.success() || pairs.len() != runs {
        return Err(format!(
            "child {} exited with {} after {} of {runs} runs: {}",
            lib.key(),
            output.status,
            pairs.len(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(pairs)
}

/// Lines `1 ok MS` / `2 ok MS` (a run's first and second connection, [`Sample::to_line`]
/// after the number) as pairs, in the order the first ones came; a second line pairs with the
/// oldest first line still alone (runs started together end in any order, but each prints
/// its first line before its second).
pub fn parse_numbered(output: &Output) -> Result<Vec<(Sample, Sample)>, String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut firsts: std::collections::VecDeque<Sample> = std::collections::VecDeque::new();
    let mut pairs = Vec::new();
    for line in stdout.lines() {
        let Some((number, rest)) = line.trim().split_once(' ') else {
            continue;
        };
        let Some(sample) = Sample::parse_line(rest) else {
            continue;
        };
        match number {
            "1" => firsts.push_back(sample),
            "2" => match firsts.pop_front() {
                Some(first) => pairs.push((first, sample)),
                None => return Err(format!("a second connection before any first: {line:?}")),
            },
            _ => {}
        }
    }
    if pairs.is_empty() {
        return Err(format!(
            "no runs ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(pairs)
}

/// How long a run of two connections took in all (for [`LONG_RUN`]).
fn pair_elapsed((first, second): &(Sample, Sample)) -> Duration {
    first.elapsed + second.elapsed
}

/// The one pair of a process that made one run.
fn one_pair(pairs: Vec<(Sample, Sample)>) -> Result<(Sample, Sample), String> {
    let mut pairs = pairs.into_iter();
    match (pairs.next(), pairs.next()) {
        (Some(pair), None) => Ok(pair),
        _ => Err("expected one run from the process".to_owned()),
    }
}

/// `eyeballs connect --count 2 --json`: two objects, one per line.
fn parse_cli(output: &Output) -> Result<(Sample, Sample), String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    match (lines.next(), lines.next()) {
        (Some(a), Some(b)) => Ok((
            parse_eyeballs_line(a, &stderr),
            parse_eyeballs_line(b, &stderr),
        )),
        _ => Err(format!(
            "eyeballs connect --count 2 printed {} lines ({}): {}",
            stdout.lines().count(),
            output.status,
            stderr.trim()
        )),
    }
}

/// curl's two `-w '%{time_connect} %{time_total}\n'` lines: `time_connect` (from the start of
/// that transfer, name resolution included) when it connected, else `time_total` to the error.
/// curl's exit status is the last transfer's, so a failure says only that it did not connect.
pub fn parse_curl_pair(output: &Output) -> Result<(Sample, Sample), String> {
    let text = String::from_utf8_lossy(&output.stdout);
    let parse = |line: &str| -> Option<Sample> {
        let mut words = line.split_whitespace().map(str::parse::<f64>);
        match (words.next(), words.next()) {
            (Some(Ok(c)), Some(Ok(_))) if c > 0.0 => Some(Sample::ok(Duration::from_secs_f64(c))),
            (Some(Ok(_)), Some(Ok(t))) => Some(Sample::failed(
                Duration::from_secs_f64(t.max(0.0)),
                format!("did not connect (curl exit {:?})", output.status.code()),
            )),
            _ => None,
        }
    };
    let mut samples = text.lines().filter_map(parse);
    match (samples.next(), samples.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(format!(
            "unreadable curl output {text:?} ({})",
            output.status
        )),
    }
}

/// `history_cost memory N` for each of [`MEMORY_SIZES`], in a lab namespace of its own (the
/// network watch that the first lesson opens reads that namespace's few addresses and routes).
fn memory(example: &Path) -> Result<Vec<MemoryRow>, String> {
    let lab = Lab::builder()
        .start()
        .map_err(|e| format!("starting a lab namespace: {e}"))?;
    let mut rows: Vec<MemoryRow> = Vec::new();
    for n in MEMORY_SIZES {
        let mut command = lab.client_command(example).map_err(|e| e.to_string())?;
        command.args(["memory", &n.to_string()]);
        let stdout = run_ok(command, "history_cost memory")?;
        for row in parse_memory(&stdout)? {
            // `empty` and `first-lesson` do not depend on N: kept once.
            if row.n == n || !rows.iter().any(|r| r.what == row.what) {
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// `history_cost lookup` for each of [`LOOKUP_KINDS`]: natively (CPU time, allocations), then
/// under callgrind (instructions), both in a lab namespace of their own.
fn lookup(example: &Path, plan: LookupPlan) -> Result<Vec<LookupRow>, String> {
    let lab = Lab::builder()
        .start()
        .map_err(|e| format!("starting a lab namespace: {e}"))?;
    let valgrind = callgrind::valgrind_version();
    let dir = std::env::temp_dir().join(format!("eyeballs-history-cg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let rows = LOOKUP_KINDS
        .iter()
        .map(|&kind| {
            let mut command = lab.client_command(example).map_err(|e| e.to_string())?;
            command.args([
                "lookup",
                kind,
                &plan.pairs.to_string(),
                &plan.rounds.to_string(),
            ]);
            let stdout = run_ok(command, "history_cost lookup")?;
            let mut row = parse_lookup(&stdout)?;
            row.instructions = match &valgrind {
                Err(e) => Err(e.clone()),
                Ok(_) => lab
                    .client_command("valgrind")
                    .map_err(|e| e.to_string())
                    .and_then(|valgrind| {
                        callgrind::count_function(
                            valgrind,
                            &LOOKUP_VALGRIND_ARGS,
                            example,
                            &["lookup", kind, &plan.callgrind_pairs.to_string(), "1"],
                            &dir.join(kind),
                        )
                    })
                    .map(|(total, _)| total as f64 / plan.callgrind_pairs.max(1) as f64),
            };
            Ok(row)
        })
        .collect::<Result<Vec<_>, String>>();
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

/// Runs `command` to its end; its stdout, or why it failed.
fn run_ok(mut command: Command, what: &str) -> Result<String, String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `history_cost memory`'s JSON lines.
pub fn parse_memory(stdout: &str) -> Result<Vec<MemoryRow>, String> {
    crate::json_lines(stdout, |line, v| {
        let int = |k: &str| v[k].as_i64();
        match (
            v["what"].as_str(),
            v["n"].as_u64(),
            int("bytes"),
            int("allocations"),
            int("entry_bytes"),
            int("entry_allocations"),
        ) {
            (Some(what), Some(n), Some(bytes), Some(allocations), Some(eb), Some(ea)) => {
                Ok(MemoryRow {
                    what: what.to_owned(),
                    n: n as usize,
                    bytes,
                    allocations,
                    entry_bytes: eb,
                    entry_allocations: ea,
                })
            }
            _ => Err(format!("unexpected line from history_cost: {line:?}")),
        }
    })
}

/// `history_cost lookup`'s JSON line (instructions not yet counted).
pub fn parse_lookup(stdout: &str) -> Result<LookupRow, String> {
    let line = stdout
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or("history_cost lookup printed nothing")?;
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("{e} in {line:?}"))?;
    match (
        v["kind"].as_str(),
        v["entries"].as_u64(),
        v["cpu_ns_per_pair"].as_f64(),
        v["allocations_per_pair"].as_f64(),
    ) {
        (Some(kind), Some(entries), Some(cpu_ns), Some(allocations)) => Ok(LookupRow {
            kind: kind.to_owned(),
            entries: entries as usize,
            cpu_ns,
            allocations,
            instructions: Err("not counted".to_owned()),
        }),
        _ => Err(format!("unexpected line from history_cost: {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn output(stdout: &str, code: i32) -> Output {
        Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_scenarios_exist_and_are_reached_well_within_the_cap() {
        let all = scenarios::all();
        for name in SCENARIOS {
            let s = all.iter().find(|s| s.name == name).expect(name);
            assert!(s.should_connect(), "{name}");
            match s.start {
                scenarios::Start::After(d) => assert!(d < CAP / 4, "{name}"),
                scenarios::Start::AfterFailureOf(_) => {}
                scenarios::Start::Timeout => panic!("{name} never connects"),
            }
        }
    }

    #[test]
    fn peers_have_unique_keys_and_ours_come_first() {
        let peers = peers();
        let mut keys: Vec<&str> = peers.iter().map(|p| p.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), peers.len());
        let first_other = peers.iter().position(|p| !p.ours).unwrap();
        assert!(peers[first_other..].iter().all(|p| !p.ours));
        for p in &peers {
            if let How::Rust(lib) = p.how {
                assert_eq!(child::Lib::from_key(lib.key()), Some(lib), "{}", p.key);
            }
            // The eyeballs package keeps one store per process: a fresh interpreter per run.
            if let How::Python { mode, per_run, .. } = p.how {
                let eyeballs = matches!(mode, PyMode::Eyeballs | PyMode::EyeballsStart);
                assert_eq!(per_run, eyeballs, "{}", p.key);
            }
        }
    }

    #[test]
    fn numbered_lines_pair_up_in_order() {
        let pairs = parse_numbered(&output(
            "1 ok 250.5\n2 ok 0.4\n1 ok 251.0\n1 fail 2000.1 timed out after 2s\n\
             2 ok 0.5\n2 fail 2000.0 timed out\nnoise\n",
            0,
        ))
        .unwrap();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].0, Sample::ok(Duration::from_micros(250_500)));
        assert_eq!(pairs[0].1, Sample::ok(Duration::from_micros(400)));
        assert_eq!(pairs[1].1, Sample::ok(Duration::from_micros(500)));
        assert!(pairs[2].0.error.is_some() && pairs[2].1.error.is_some());
        assert!(parse_numbered(&output("2 ok 1.0\n", 0)).is_err());
        assert!(parse_numbered(&output("", 1)).is_err());
    }

    #[test]
    fn curl_pairs() {
        let (a, b) = parse_curl_pair(&output("0.201337 0.202\n0.000420 0.0009\n", 0)).unwrap();
        assert_eq!(a, Sample::ok(Duration::from_micros(201_337)));
        assert_eq!(b, Sample::ok(Duration::from_micros(420)));
        let (a, b) = parse_curl_pair(&output("0.000000 2.001\n0.25 0.26\n", 0)).unwrap();
        assert_eq!(a.elapsed, Duration::from_millis(2001));
        assert!(a.error.is_some() && b.error.is_none());
        assert!(parse_curl_pair(&output("0.2 0.2\n", 0)).is_err());
    }

    #[test]
    fn cli_pairs() {
        let text = "{\"outcome\":\"connected\",\"elapsed_ms\":251.0,\"error\":null}\n\
                    {\"outcome\":\"connected\",\"elapsed_ms\":0.6,\"error\":null}\n";
        let (a, b) = parse_cli(&output(text, 0)).unwrap();
        assert_eq!(a, Sample::ok(ms(251)));
        assert_eq!(b, Sample::ok(Duration::from_micros(600)));
        assert!(parse_cli(&output("{}\n", 1)).is_err());
    }

    #[test]
    fn example_lines_parse() {
        let rows = parse_memory(
            "{\"what\":\"empty\",\"n\":0,\"bytes\":44456,\"allocations\":8,\"entry_bytes\":44456,\"entry_allocations\":8}\n\
             {\"what\":\"endpoints\",\"n\":1000,\"bytes\":180456,\"allocations\":1008,\"entry_bytes\":136000,\"entry_allocations\":1000}\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].entry_bytes, 136_000);
        assert!(parse_memory("{\"what\":1}").is_err());
        let row = parse_lookup(
            "{\"kind\":\"addr\",\"n\":200000,\"rounds\":5,\"entries\":1000,\"cpu_ns_per_pair\":582.3,\"allocations_per_pair\":1.00}\n",
        )
        .unwrap();
        assert_eq!(row.kind, "addr");
        assert_eq!(row.entries, 1000);
        assert!((row.cpu_ns - 582.3).abs() < 1e-9);
        assert!(parse_lookup("").is_err());
    }

    #[test]
    fn cost_and_callgrind_ways_come_in_without_then_with_history_pairs() {
        for (pair, cg) in COST_WAYS.chunks(2).zip(CALLGRIND_WAYS.chunks(2)) {
            let (off, on) = (pair[0], pair[1]);
            assert_eq!(off.label(), format!("{}, `.without_history()`", on.label()));
            assert_eq!(off.baseline(), on.baseline());
            let (cg_off, cg_on) = (cg[0], cg[1]);
            assert_eq!(cg_off.arg(), format!("{}-no-history", cg_on.arg()));
        }
        assert_eq!(COST_WAYS.len(), CALLGRIND_WAYS.len());
    }

    #[test]
    fn the_second_ideal_is_dns_and_handshake() {
        let s = HistoryScenario {
            scenario: scenarios::all().remove(1),
            ideal: Ok(Ideal {
                dns: ms(1),
                start: ms(250),
                handshake: ms(2),
                total: ms(253),
            }),
            cells: Vec::new(),
        };
        assert_eq!(s.ideal_second(), Some(ms(3)));
    }
}
