//! The history section of BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::Duration;

use super::{
    HistoryResults, HistoryScenario, Pair, Peer, CALLGRIND_WAYS, CAP, COST_WAYS, EXAMPLE_BUILD,
    LOOKUP_VALGRIND_ARGS, MEMORY_SIZES,
};
use crate::report::{fmt_ms, fmt_ratio, section, shorten, table};
use crate::stats::Summary;

/// The command of this part alone.
pub const COMMAND: &str = "cargo run --release -p eyeballs-bench -- --only history";

/// Writes the section.
pub fn write(out: &mut String, history: &Result<HistoryResults, String>) {
    let Some(h) = section(out, "## History: the second connection to a host", history) else {
        return;
    };
    let _ = writeln!(
        out,
        "Every eyeballs `Connector` keeps a history store (`eyeballs::history::HistoryStore`, \
         shared by its clones; `.without_history()` turns it off): per endpoint an RFC 6298 \
         RTT estimate and the latest failure, per host name its endpoints and the one that \
         last won. A race is told what still applies before it starts and the store learns \
         from its report when it ends, so an endpoint that stalled or refused no longer leads \
         the next race to the host (for 1 minute after its first failure, doubling up to \
         16 minutes; then it races again). This section measures what that saves and what it \
         costs; `{COMMAND}` makes it alone.\n"
    );
    write_pairs(out, h);
    write_memory(out, h);
    write_cost(out, h);
}

fn cell(p: &Pair) -> String {
    let mut text = format!("{} → {}", fmt_ms(p.first.median), fmt_ms(p.second.median));
    let failed = |s: &Summary| s.runs - s.connected;
    if failed(&p.first) + failed(&p.second) > 0 {
        let _ = write!(text, " ✗ {} / {}", failed(&p.first), failed(&p.second));
    }
    text
}

fn name(peer: &Peer) -> String {
    if peer.ours {
        format!("**{}**", peer.row_name())
    } else {
        peer.row_name()
    }
}

fn write_pairs(out: &mut String, h: &HistoryResults) {
    let _ = writeln!(out, "### First and second connection, per scenario\n");
    let _ = writeln!(
        out,
        "The lab and scenarios of the time-to-connect section (`dual.test` from the lab's \
         DNS server, resolved by each client itself). Each run is one client making two \
         connections to `dual.test` one after the other, each timed on its own (from the \
         call to the connected socket, name resolution included): a new client per run (a \
         new `Connector` and so a new, empty store; a new `HttpConnector`; a new curl \
         process; for the eyeballs Python package, whose store is the process's, a new \
         interpreter per run), the second connection made as the second column says. \
         curl keeps nothing across processes, so two invocations would show nothing: one \
         curl process is given the URL twice (two transfers; the lab's server closes each \
         connection after its answer, so the second transfer connects anew, its name from \
         curl's DNS cache; its first transfer is not quite the lone invocation of the \
         time-to-connect section, whose figures may differ by a few ms). What a second \
         connection costs beyond its ideal is mostly name resolution: every client resolves \
         again (curl from its cache), and eyeballs' history is not a DNS cache; `eyeballs \
         (tokio)` and the Python package ask `getaddrinfo` twice (once per family) on \
         threads, `eyeballs connect` sends its own two queries. {} runs per contender and scenario; the first alone, then one \
         after another, or all at once when the first run took 500 ms or more (it waited on \
         timers); each connection capped at {} s (the contender's own timeout where it has \
         one, else a timeout around the call). Cells: median first → median second \
         connection, in ms; ✗ A / B: runs whose first / second connection did not connect.\n\n\
         **Ideal**: for the first connection, the time-to-connect section's (nothing known: \
         RFC 8305's schedule); for the second, one DNS round trip plus the handshake of the \
         working address (what a client that learnt from the first connection can do: start \
         with the address that worked), both measured in the same lab just before the \
         contenders ran.\n",
        h.runs,
        CAP.as_secs()
    );
    let mut headers = vec![
        "contender — attempt delay".to_owned(),
        "second connection made with".to_owned(),
    ];
    headers.extend(h.scenarios.iter().map(|s| s.scenario.name.to_owned()));
    let mut rows = Vec::new();
    let mut ideal = vec!["**ideal**".to_owned(), String::new()];
    for s in &h.scenarios {
        ideal.push(match (&s.ideal, s.ideal_second()) {
            (Ok(i), Some(second)) => format!("**{} → {}**", fmt_ms(i.total), fmt_ms(second)),
            _ => "–".to_owned(),
        });
    }
    rows.push(ideal);
    for (i, peer) in h.peers.iter().enumerate() {
        let mut row = vec![name(peer), peer.second.to_owned()];
        for s in &h.scenarios {
            row.push(match s.cells.get(i) {
                Some(Ok(p)) => cell(p),
                _ => "not measured".to_owned(),
            });
        }
        rows.push(row);
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    out.push_str(&table(&header_refs, &rows));
    out.push('\n');

    for s in &h.scenarios {
        write_scenario(out, h, s);
    }
}

/// The eyeballs row with history (the first peer), and the others' second / first ratios.
fn finding(h: &HistoryResults, s: &HistoryScenario) -> Option<String> {
    let ours = h
        .peers
        .iter()
        .zip(&s.cells)
        .find(|(p, _)| p.key == "eyeballs")
        .and_then(|(_, c)| c.as_ref().ok())?;
    let ratio = |p: &Pair| p.second.median.as_secs_f64() / p.first.median.as_secs_f64();
    let others: Vec<f64> = h
        .peers
        .iter()
        .zip(&s.cells)
        .filter(|(p, _)| !p.ours)
        .filter_map(|(_, c)| c.as_ref().ok())
        .filter(|p| p.first.all_connected() && p.second.all_connected())
        .map(ratio)
        .filter(|r| r.is_finite())
        .collect();
    let mut text = format!(
        "eyeballs (tokio): first {} ms, second {} ms ({} of the first",
        fmt_ms(ours.first.median),
        fmt_ms(ours.second.median),
        fmt_ratio(ratio(ours))
    );
    if let Some(ideal) = s.ideal_second().filter(|d| !d.is_zero()) {
        let _ = write!(
            text,
            "; {} of the second's ideal, {} ms over it",
            fmt_ratio(ours.second.median.as_secs_f64() / ideal.as_secs_f64()),
            fmt_ms(ours.second.median.saturating_sub(ideal))
        );
    }
    text.push_str(").");
    let lo = others.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = others.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !others.is_empty() {
        let _ = write!(
            text,
            " The other clients that connected every time: second / first from {} to {}.",
            fmt_ratio(lo),
            fmt_ratio(hi)
        );
    }
    Some(text)
}

fn write_scenario(out: &mut String, h: &HistoryResults, s: &HistoryScenario) {
    let _ = writeln!(out, "#### History: {}\n", s.scenario.name);
    match (&s.ideal, s.ideal_second()) {
        (Ok(i), Some(second)) => {
            let _ = writeln!(
                out,
                "Ideal first {} ms = DNS {} + scheduled start {} + handshake {}; ideal second \
                 {} ms = DNS {} + handshake {}.\n",
                fmt_ms(i.total),
                fmt_ms(i.dns),
                fmt_ms(i.start),
                fmt_ms(i.handshake),
                fmt_ms(second),
                fmt_ms(i.dns),
                fmt_ms(i.handshake)
            );
        }
        (Err(e), _) => {
            let _ = writeln!(out, "Ideal not measured: {e}.\n");
        }
        _ => {}
    }
    if let Some(text) = finding(h, s) {
        let _ = writeln!(out, "{text}\n");
    }
    let second_ideal = s.ideal_second();
    let rows: Vec<Vec<String>> = h
        .peers
        .iter()
        .zip(&s.cells)
        .map(|(peer, cell)| match cell {
            Ok(p) => vec![
                peer.row_name(),
                fmt_ms(p.first.median),
                fmt_ms(p.first.p90),
                fmt_ms(p.second.median),
                fmt_ms(p.second.p90),
                format!(
                    "{}/{}, {}/{}",
                    p.first.connected, p.first.runs, p.second.connected, p.second.runs
                ),
                fmt_ratio(p.second.median.as_secs_f64() / p.first.median.as_secs_f64()),
                second_ideal.filter(|d| !d.is_zero()).map_or_else(
                    || "–".to_owned(),
                    |d| fmt_ratio(p.second.median.as_secs_f64() / d.as_secs_f64()),
                ),
                p.first
                    .error
                    .as_deref()
                    .or(p.second.error.as_deref())
                    .map(|e| shorten(e, 80))
                    .unwrap_or_default(),
            ],
            Err(e) => {
                let mut row = vec![peer.row_name(), "not measured".to_owned()];
                row.extend(std::iter::repeat_n(String::new(), 6));
                row.push(shorten(e, 80));
                row
            }
        })
        .collect();
    out.push_str(&table(
        &[
            "contender — attempt delay",
            "first median ms",
            "first p90 ms",
            "second median ms",
            "second p90 ms",
            "connected (first, second)",
            "second / first",
            "second / its ideal",
            "error (most common)",
        ],
        &rows,
    ));
    out.push('\n');
}

fn write_memory(out: &mut String, h: &HistoryResults) {
    let _ = writeln!(out, "### Memory per remembered destination\n");
    let rows = match &h.memory {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
            return;
        }
        Ok(rows) => rows,
    };
    let sizes: Vec<String> = MEMORY_SIZES.iter().map(|n| n.to_string()).collect();
    let _ = writeln!(
        out,
        "The eyeballs crate's `history_cost` example (`memory N`, N = {}), in a network \
         namespace of its own, with a counting global allocator: heap bytes as requested \
         (malloc's own overhead per allocation, 8 to 16 bytes with glibc, is not in them) and \
         allocations still live. The store learns from races the engine runs on virtual time \
         (nothing is connected): for endpoints, one race per distinct address (connected \
         after 5 ms: an RTT estimate); for hosts, one race per name `hN.example` (IPv6 \
         black-holed, IPv4 connecting after 5 ms), every name with the same two endpoints so \
         that what grows is the host entries. The store's maps are bounded LRU maps whose \
         tables are allocated at their full size when the store is made, so a store sized for \
         N entries is shown with its table (from before it was made) and without (its \
         entries alone). The default store is sized for 1,024 endpoints and 256 hosts; the \
         first lesson also opens the rtnetlink network watch (its receive buffer and what it \
         read of the namespace's addresses, links and default routes).\n\n\
         ```sh\n{EXAMPLE_BUILD}\ntarget/release/examples/history_cost memory N\n```\n",
        sizes.join(" and ")
    );
    let per = |bytes: i64, n: usize| {
        if n == 0 {
            "–".to_owned()
        } else {
            format!("{:.0}", bytes as f64 / n as f64)
        }
    };
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|m| {
            let what = match m.what.as_str() {
                "empty" => "`HistoryStore::new()`, empty (default size)".to_owned(),
                "first-lesson" => {
                    "`HistoryStore::new()` after its first lesson (network watch open)".to_owned()
                }
                "endpoints" => format!("endpoints: a store sized for {0}, {0} learnt", m.n),
                "hosts" => format!("host names: a store sized for {0}, {0} learnt", m.n),
                other => other.to_owned(),
            };
            let entries_only = matches!(m.what.as_str(), "endpoints" | "hosts");
            vec![
                what,
                m.n.to_string(),
                m.bytes.to_string(),
                m.allocations.to_string(),
                if entries_only {
                    per(m.bytes, m.n)
                } else {
                    "–".to_owned()
                },
                if entries_only {
                    per(m.entry_bytes, m.n)
                } else if m.what == "first-lesson" {
                    format!("{} (the lesson and the watch)", m.entry_bytes)
                } else {
                    "–".to_owned()
                },
                if entries_only && m.n > 0 {
                    format!("{:.2}", m.entry_allocations as f64 / m.n as f64)
                } else {
                    "–".to_owned()
                },
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "store",
            "entries",
            "heap bytes",
            "allocations",
            "bytes per entry, table included",
            "bytes per entry, entries alone",
            "allocations per entry",
        ],
        &table_rows,
    ));
    out.push('\n');
}

fn write_cost(out: &mut String, h: &HistoryResults) {
    let _ = writeln!(out, "### What the store costs\n");
    let plan = h.lookup_plan;
    let _ = writeln!(
        out,
        "**One `recall` + `learn` pair** (what a race adds: the store is asked what it knows \
         of the target before the race and told what its report teaches after it): \
         `history_cost lookup KIND {} {}` fills a store with 1,000 endpoints, then makes {} \
         rounds of {} pairs cycling over them (a warm-up round first); CPU time is the \
         thread's own (`/proc/thread-self/schedstat`, read after a `sched_yield` so that it \
         is up to date), median round; allocations are counted \
         by the example's allocator. Instructions: the same under callgrind, {} pairs in one \
         round, the function `history_cost::measured` counted alone. `addr`: address targets \
         of one endpoint each (as `connect_addrs([addr])`), default configuration, so the \
         network watch is on: a `recall` that reads the store reads its netlink socket \
         first, at most once a millisecond (a non-blocking `recv`, usually with nothing to \
         read: kernel time that callgrind does not count); `addr-unwatched`: the same with `watch_network = false`; \
         `host`: 500 host names of two endpoints each (IPv6 stalled, IPv4 won), watch on.\n\n\
         ```sh\n{EXAMPLE_BUILD}\n\
         target/release/examples/history_cost lookup KIND {} {}\n\
         valgrind {} target/release/examples/history_cost lookup KIND {} 1\n```\n",
        plan.pairs,
        plan.rounds,
        plan.rounds,
        plan.pairs,
        plan.callgrind_pairs,
        plan.pairs,
        plan.rounds,
        crate::callgrind::shell_words(&LOOKUP_VALGRIND_ARGS),
        plan.callgrind_pairs
    );
    match &h.lookup {
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
        }
        Ok(rows) => {
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|l| {
                    vec![
                        format!("`{}`", l.kind),
                        l.entries.to_string(),
                        format!("{:.0}", l.cpu_ns),
                        l.instructions
                            .as_ref()
                            .map_or_else(|e| format!("not counted: {e}"), |i| format!("{i:.0}")),
                        format!("{:.2}", l.allocations),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "kind",
                    "endpoints in the store",
                    "CPU ns per pair",
                    "instructions per pair",
                    "allocations per pair",
                ],
                &rows,
            ));
            out.push('\n');
        }
    }

    let _ = writeln!(
        out,
        "**A loopback connect with history and without**: the cost section's harness and its \
         callgrind example (`connect_cost`), the eyeballs ways run with a connector made \
         `.without_history()` and with the default one (whose store holds the one or two \
         loopback endpoints, learnt anew by every race). CPU time: {}; instructions: {}.\n",
        match &h.cost {
            Ok(c) => format!(
                "{} connections per way and round, {} rounds in rotating order, median round, \
                 the connecting thread's `CLOCK_THREAD_CPUTIME_ID`",
                c.connections, c.rounds
            ),
            Err(e) => format!("not measured ({e})"),
        },
        match &h.callgrind {
            Ok(c) => format!("{} connects per way, `{}`", c.connections, c.command()),
            Err(e) => format!("not measured ({e})"),
        }
    );
    let mut rows = Vec::new();
    for (i, pair) in COST_WAYS.chunks(2).enumerate() {
        let [off, on] = pair else { continue };
        let cpu = |w| {
            h.cost
                .as_ref()
                .ok()
                .and_then(|c| c.row(w))
                .map(|r| r.cpu_per_conn)
        };
        let cg_pair = CALLGRIND_WAYS.chunks(2).nth(i);
        let ir = |w| {
            h.callgrind
                .as_ref()
                .ok()
                .and_then(|c| c.row(w))
                .map(|r| r.per_connect)
        };
        let (ir_off, ir_on) = match cg_pair {
            Some([a, b]) => (ir(*a), ir(*b)),
            _ => (None, None),
        };
        let us = |d: Option<Duration>| {
            d.map_or_else(
                || "–".to_owned(),
                |d| format!("{:.1}", d.as_secs_f64() * 1e6),
            )
        };
        let (c_off, c_on) = (cpu(*off), cpu(*on));
        rows.push(vec![
            on.label().to_owned(),
            us(c_off),
            us(c_on),
            match (c_off, c_on) {
                (Some(a), Some(b)) => fmt_ratio(b.as_secs_f64() / a.as_secs_f64()),
                _ => "–".to_owned(),
            },
            ir_off.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}")),
            ir_on.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}")),
            match (ir_off, ir_on) {
                (Some(a), Some(b)) => format!("{:.0}", b - a),
                _ => "–".to_owned(),
            },
        ]);
    }
    out.push_str(&table(
        &[
            "way (with history)",
            "CPU µs, without history",
            "CPU µs, with history",
            "CPU with / without",
            "instructions, without history",
            "instructions, with history",
            "instructions added by history",
        ],
        &rows,
    ));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callgrind::{Callgrind, CallgrindRow};
    use crate::cost::{Cost, CostRow};
    use crate::history::{peers, LookupPlan, LookupRow, MemoryRow};
    use crate::scenarios::{self, Ideal};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn summary(median: Duration, connected: usize) -> Summary {
        let times = [median, median + ms(1), median + ms(2)];
        Summary::fixture(10, connected, times, "timed out")
    }

    fn results() -> HistoryResults {
        let peers = peers();
        let cells = peers
            .iter()
            .map(|p| {
                Ok(match p.key {
                    "eyeballs" | "eyeballs-cli" | "py-eyeballs" | "py-eyeballs-start" => Pair {
                        first: summary(ms(251), 10),
                        second: summary(Duration::from_micros(500), 10),
                    },
                    "tokio" => Pair {
                        first: summary(ms(2000), 0),
                        second: summary(ms(2000), 0),
                    },
                    "curl" => Pair {
                        first: summary(ms(201), 10),
                        second: summary(ms(201), 10),
                    },
                    _ => Pair {
                        first: summary(ms(252), 10),
                        second: summary(ms(253), 10),
                    },
                })
            })
            .collect();
        HistoryResults {
            runs: 10,
            scenarios: vec![HistoryScenario {
                scenario: scenarios::all().remove(1),
                ideal: Ok(Ideal {
                    dns: Duration::from_micros(200),
                    start: ms(250),
                    handshake: Duration::from_micros(200),
                    total: Duration::from_micros(250_400),
                }),
                cells,
            }],
            peers,
            memory: Ok(vec![
                MemoryRow {
                    what: "empty".to_owned(),
                    n: 0,
                    bytes: 44_456,
                    allocations: 8,
                    entry_bytes: 44_456,
                    entry_allocations: 8,
                },
                MemoryRow {
                    what: "endpoints".to_owned(),
                    n: 1000,
                    bytes: 180_456,
                    allocations: 1008,
                    entry_bytes: 136_000,
                    entry_allocations: 1000,
                },
            ]),
            lookup: Ok(vec![LookupRow {
                kind: "addr".to_owned(),
                entries: 1000,
                cpu_ns: 582.3,
                allocations: 1.0,
                instructions: Ok(1234.0),
            }]),
            lookup_plan: LookupPlan {
                pairs: 200_000,
                rounds: 5,
                callgrind_pairs: 10_000,
            },
            cost: Ok(Cost {
                connections: 10_000,
                rounds: 5,
                rows: vec![
                    CostRow {
                        way: crate::cost::Way::EyeballsAddrsNoHistory,
                        per_second: 20_000.0,
                        cpu_per_conn: Duration::from_micros(40),
                        cpu_ratio: None,
                    },
                    CostRow {
                        way: crate::cost::Way::EyeballsAddrs,
                        per_second: 19_000.0,
                        cpu_per_conn: Duration::from_micros(42),
                        cpu_ratio: None,
                    },
                ],
            }),
            callgrind: Ok(Callgrind {
                valgrind: "valgrind-3.19.0".to_owned(),
                connections: 1000,
                rows: vec![
                    CallgrindRow {
                        way: crate::callgrind::Way::EyeballsAddrsNoHistory,
                        per_connect: 18_000.0,
                    },
                    CallgrindRow {
                        way: crate::callgrind::Way::EyeballsAddrs,
                        per_connect: 19_500.0,
                    },
                ],
            }),
        }
    }

    #[test]
    fn the_section_has_its_tables_and_figures() {
        let mut md = String::new();
        write(&mut md, &Ok(results()));
        for needle in [
            "## History: the second connection to a host",
            "| **ideal** |  | **250.4 → 0.40** |",
            "| **eyeballs (tokio) — 250 ms (default)** | same `Connector` (its history store, the default) | 251.0 → 0.50 |",
            "2000 → 2000 ✗ 10 / 10",
            "eyeballs (tokio): first 251.0 ms, second 0.50 ms (0.00× of the first; 1.25× of the second's ideal, 0.10 ms over it).",
            "second / first from 1.00× to 1.00×.",
            "#### History: IPv6 black hole",
            "| endpoints: a store sized for 1000, 1000 learnt | 1000 | 180456 | 1008 | 180 | 136 | 1.00 |",
            "| `addr` | 1000 | 582 | 1234 | 1.00 |",
            "| eyeballs `Connector::connect_addrs([addr])` | 40.0 | 42.0 | 1.05× | 18000 | 19500 | 1500 |",
            "'--toggle-collect=*history_cost::measured*'",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
        }
    }
}
