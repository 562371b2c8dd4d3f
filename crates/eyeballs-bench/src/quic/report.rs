//! The QUIC section of BENCHMARKS.md: the tables, and what the figures say, written from
//! them.

use std::fmt::Write as _;
use std::time::Duration;

use super::cost::{self, Cost, Way};
use super::lab::{self, Races, Scenario, ScenarioRow, PATHS};
use super::memory::{self, MemoryRow};
use super::QuicResults;
use crate::report::{fmt_ms, fmt_ratio, section, shorten, table};

/// The section's heading.
pub const HEADING: &str = "## QUIC against TCP+TLS (HEv3 §6)";

/// The heading of the section this one goes before, when BENCHMARKS.md has it.
const BEFORE: &str = "## Notes, and what is not measured";

/// The time-to-connection table, one row per scenario.
pub fn scenarios_table(rows: &[ScenarioRow]) -> String {
    let cells = |row: &ScenarioRow, races: &Result<Races, String>| -> [String; 3] {
        match races {
            Ok(r) if r.summary.connected > 0 => [
                connected_ms(r),
                fmt_ms(r.summary.p90),
                row.ratio(r).map_or_else(|| "–".to_owned(), fmt_ratio),
            ],
            Ok(r) => [
                format!("failed ({}/{})", r.summary.connected, r.summary.runs),
                "–".to_owned(),
                "–".to_owned(),
            ],
            Err(_) => ["–".to_owned(), "–".to_owned(), "–".to_owned()],
        }
    };
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let (path, ideal) = match row.ideal() {
                Some((p, t)) => (p.label(), fmt_ms(t)),
                None => ("none works".to_owned(), "–".to_owned()),
            };
            let [q_med, q_p90, q_ratio] = cells(row, &row.raced);
            let won = row
                .raced
                .as_ref()
                .map_or_else(|_| "–".to_owned(), Races::winners);
            let [t_med, t_p90, t_ratio] = cells(row, &row.tcp_only);
            let delta = row
                .quic_minus_tcp_ms()
                .map_or_else(|| "–".to_owned(), |d| format!("{d:+.1}"));
            vec![
                row.scenario.name().to_owned(),
                path,
                ideal,
                q_med,
                q_p90,
                won,
                q_ratio,
                t_med,
                t_p90,
                t_ratio,
                delta,
            ]
        })
        .collect();
    table(
        &[
            "scenario",
            "ideal path",
            "ideal (ms)",
            "h3 + h2 race, median (ms)",
            "p90 (ms)",
            "won",
            "vs ideal",
            "TCP+TLS only, median (ms)",
            "p90 (ms)",
            "vs ideal",
            "QUIC race − TCP only (ms)",
        ],
        &body,
    )
}

/// A median, with `n/N` when not every race connected.
fn connected_ms(r: &Races) -> String {
    if r.summary.all_connected() {
        fmt_ms(r.summary.median)
    } else {
        format!(
            "{} ({}/{} connected)",
            fmt_ms(r.summary.median),
            r.summary.connected,
            r.summary.runs
        )
    }
}

/// The straight handshakes of each path, per scenario.
pub fn paths_table(rows: &[ScenarioRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.scenario.name().to_owned()];
            for path in PATHS {
                cells.push(
                    match row.paths.iter().find(|(p, _)| *p == path).map(|(_, t)| t) {
                        Some(Ok(t)) => fmt_ms(*t),
                        _ => "–".to_owned(),
                    },
                );
            }
            cells
        })
        .collect();
    let headers: Vec<String> = PATHS
        .iter()
        .map(|p| format!("{} (ms)", p.label()))
        .collect();
    let mut all = vec!["scenario"];
    all.extend(headers.iter().map(String::as_str));
    table(&all, &body)
}

/// The loopback cost table.
pub fn cost_table(c: &Cost) -> String {
    let body: Vec<Vec<String>> = c
        .rows
        .iter()
        .map(|row| match row {
            Ok(r) => {
                let base = r.way.baseline().and_then(|b| c.row(b));
                let vs = |ours: f64, theirs: Option<f64>| {
                    theirs
                        .filter(|t| *t > 0.0)
                        .map_or_else(String::new, |t| fmt_ratio(ours / t))
                };
                let instructions = r.instructions.as_ref().ok().copied();
                vec![
                    r.way.label().to_owned(),
                    r.alpn.clone(),
                    format!("{:.3}", r.median.as_secs_f64() * 1e3),
                    format!("{:.3}", r.p90.as_secs_f64() * 1e3),
                    format!("{:.0}", us(r.client_cpu)),
                    format!("{:.0}", us(r.process_cpu)),
                    instructions.map_or_else(|| "–".to_owned(), |n| format!("{n:.0}")),
                    vs(r.median.as_secs_f64(), base.map(|b| b.median.as_secs_f64())),
                    vs(us(r.client_cpu), base.map(|b| us(b.client_cpu))),
                    match (
                        instructions,
                        base.and_then(|b| b.instructions.as_ref().ok()),
                    ) {
                        (Some(n), Some(b)) => vs(n, Some(*b)),
                        _ => String::new(),
                    },
                ]
            }
            Err((way, e)) => {
                let mut cells = vec![
                    way.label().to_owned(),
                    format!("failed: {}", shorten(e, 80)),
                ];
                cells.extend(std::iter::repeat_n(String::new(), 8));
                cells
            }
        })
        .collect();
    table(
        &[
            "way",
            "ALPN",
            "wall, median (ms)",
            "p90 (ms)",
            "client CPU (µs/conn)",
            "process CPU (µs/conn)",
            "instructions/conn (client)",
            "wall vs straight",
            "client CPU vs straight",
            "instructions vs straight",
        ],
        &body,
    )
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The memory table: one row per kind and sample.
pub fn memory_table(rows: &[MemoryRow]) -> String {
    let mut body = Vec::new();
    for row in rows {
        for i in 0..2 {
            body.push(vec![
                row.kind.label().to_owned(),
                row.races.to_string(),
                format!("{} ms", row.samples[i].at_ms),
                row.kind.pending()[i].to_owned(),
                format!("{}/{}", row.samples[i].pending, row.races),
                format!("{:.0}", row.rss_per_race(i)),
                format!("{:.0}", row.data_per_race(i)),
                format!("{:.2}", row.fds_per_race(i)),
                if i == 0 {
                    format!("{} → {}", row.before.fds, row.fds_after)
                } else {
                    String::new()
                },
            ]);
        }
    }
    table(
        &[
            "races",
            "concurrent",
            "sampled at",
            "pending per race",
            "still pending",
            "resident (B/race)",
            "allocated (B/race)",
            "descriptors/race",
            "descriptors before → after cancelling",
        ],
        &body,
    )
}

/// What the figures say: sentences computed from them (none for what was not measured).
pub fn findings(r: &QuicResults) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rows) = &r.scenarios {
        let row = |s: Scenario| rows.iter().find(|x| x.scenario == s);
        let ok = |races: &Result<Races, String>| races.as_ref().ok().cloned();
        if let Some(both) = row(Scenario::BothWork) {
            if let (Some(q), Some((path, ideal))) = (ok(&both.raced), both.ideal()) {
                out.push(format!(
                    "Where both protocols work, the race won with {} at a median of {} ms, \
                     {} the ideal ({}, {} ms straight).",
                    q.winners(),
                    fmt_ms(q.summary.median),
                    both.ratio(&q).map_or_else(|| "–".to_owned(), fmt_ratio),
                    path.label(),
                    fmt_ms(ideal)
                ));
            }
        }
        let costs: Vec<String> = [
            Scenario::UdpBlackHole,
            Scenario::UdpRefused,
            Scenario::QuicStalls,
            Scenario::SlowQuic,
        ]
        .into_iter()
        .filter_map(|s| {
            let row = row(s)?;
            let d = row.quic_minus_tcp_ms()?;
            let q = ok(&row.raced)?;
            Some(format!(
                "{} {:+.1} ms ({}, {})",
                row.scenario.name(),
                d,
                q.winners(),
                fmt_ms(q.summary.median) + " ms"
            ))
        })
        .collect();
        if !costs.is_empty() {
            out.push(format!(
                "Where UDP fails, offering QUIC costs time against a TCP+TLS-only client \
                 (race median minus TCP-only median): {}. A black hole, a stall and a slow \
                 handshake cost about the Connection Attempt Delay; a refusal (ICMP) costs \
                 about the 10 ms floor.",
                costs.join("; ")
            ));
        }
        if let Some(tcp_hole) = row(Scenario::TcpBlackHole) {
            if let Some(q) = ok(&tcp_hole.raced) {
                out.push(format!(
                    "Where TCP is black-holed, QUIC is what connects: {} at a median of {} ms \
                     ({} the ideal); a TCP+TLS-only client does not connect at all.",
                    q.winners(),
                    fmt_ms(q.summary.median),
                    tcp_hole.ratio(&q).map_or_else(|| "–".to_owned(), fmt_ratio)
                ));
            }
        }
        if let Some(v6) = row(Scenario::V6BlackHole) {
            if let (Some(q), Some(t)) = (ok(&v6.raced), ok(&v6.tcp_only)) {
                out.push(format!(
                    "With IPv6 black-holed for both protocols, both clients fall back to IPv4 \
                     after one attempt delay: {} ms with QUIC offered, {} ms without.",
                    fmt_ms(q.summary.median),
                    fmt_ms(t.summary.median)
                ));
            }
        }
    }
    let c = &r.cost;
    if let (Some(q), Some(t)) = (c.row(Way::QuinnDirect), c.row(Way::TlsDirect)) {
        out.push(format!(
            "On loopback a straight QUIC handshake (quinn, a new endpoint each) takes {:.3} ms \
             and {:.0} µs of client CPU against {:.3} ms and {:.0} µs for TCP+TLS \
             (tokio-rustls): {} the wall time, {} the CPU{}.",
            q.median.as_secs_f64() * 1e3,
            us(q.client_cpu),
            t.median.as_secs_f64() * 1e3,
            us(t.client_cpu),
            fmt_ratio(q.median.as_secs_f64() / t.median.as_secs_f64().max(1e-12)),
            fmt_ratio(us(q.client_cpu) / us(t.client_cpu).max(1e-12)),
            match (&q.instructions, &t.instructions) {
                (Ok(a), Ok(b)) if *b > 0.0 => format!(", {} the instructions", fmt_ratio(a / b)),
                _ => String::new(),
            }
        ));
    }
    let overhead: Vec<String> = [Way::RaceQuic, Way::RaceTls]
        .into_iter()
        .filter_map(|w| {
            let (ours, base) = (c.row(w)?, c.row(w.baseline()?)?);
            Some(format!(
                "{} {:+.0} µs CPU ({:+.3} ms wall)",
                if w == Way::RaceQuic { "QUIC" } else { "TLS" },
                us(ours.client_cpu) - us(base.client_cpu),
                (ours.median.as_secs_f64() - base.median.as_secs_f64()) * 1e3
            ))
        })
        .collect();
    if !overhead.is_empty() {
        out.push(format!(
            "The race around one address, per connection against the straight connect of \
             its winner: {}.",
            overhead.join("; ")
        ));
    }
    if let Ok(rows) = &r.memory {
        let of = |k: memory::Kind| rows.iter().find(|m| m.kind == k);
        if let (Some(q), Some(t)) = (of(memory::Kind::Quic), of(memory::Kind::TcpOnly)) {
            out.push(format!(
                "A race with its QUIC attempt pending holds {:.1} KiB resident ({:.1} KiB \
                 allocated) and {:.2} descriptors, against {:.1} KiB ({:.1} KiB) and {:.2} for a \
                 TCP-only race with its TCP attempt pending; with the TCP attempt started as \
                 well, {:.1} KiB and {:.2} descriptors. Descriptors after cancelling: {} → {} \
                 (QUIC), {} → {} (TCP only).",
                q.rss_per_race(0) / 1024.0,
                q.data_per_race(0) / 1024.0,
                q.fds_per_race(0),
                t.rss_per_race(0) / 1024.0,
                t.data_per_race(0) / 1024.0,
                t.fds_per_race(0),
                q.rss_per_race(1) / 1024.0,
                q.fds_per_race(1),
                q.before.fds,
                q.fds_after,
                t.before.fds,
                t.fds_after
            ));
        }
    }
    out
}

/// Writes the section: `part` is the results or why there are none.
pub fn write(out: &mut String, part: &Result<QuicResults, String>) {
    let Some(r) = section(out, HEADING, part) else {
        return;
    };
    let p = &r.plan;
    let _ = writeln!(
        out,
        "`eyeballs::secure::SecureConnector` (feature `quic`: quinn 0.11, rustls 0.23 with \
         ring) racing QUIC (ALPN h3) against TLS over TCP (h2, http/1.1) on one schedule, \
         the origin known to speak h3 (`Connector::known_service`, as an `Alt-Svc` would \
         say), no history (every race a first connection), RFC 8305's defaults; against \
         the same connector without QUIC, and against straight connects with quinn and \
         tokio-rustls. Nothing here is asserted.\n"
    );
    let _ = writeln!(out, "### Time to a usable connection, per lab scenario\n");
    let _ = writeln!(
        out,
        "The lab's secure servers (TLS h2/http1.1 and QUIC h3 on the same port) on \
         2001:db8::10 and 198.18.0.10, UDP behaviours apart from the TCP ones (the \
         scenarios of `crates/eyeballs/tests/quic_lab.rs`); the client in the lab's client \
         namespace, the name through a static resolver (no DNS). Race order: QUIC over \
         IPv6, TCP over IPv4 at 250 ms, QUIC over IPv4 at 500 ms, TCP over IPv6 at 750 ms \
         (TCP only: IPv6, then IPv4 at 250 ms). {} races per connector and scenario, one \
         after the other, timed from the call to the finished handshake. **Ideal**: each \
         of the four paths connected straight (quinn or tokio-rustls, no race) {} times, \
         after one uncounted warm-up connect \
         (a path that gives no handshake within {} s does not work); the fastest working \
         path's median, what an oracle that knew it would take. The last column is what \
         offering QUIC costs (+) or saves (−) against TCP+TLS only.\n",
        p.races,
        p.ideal_connects,
        lab::IDEAL_TIMEOUT.as_secs()
    );
    match &r.scenarios {
        Ok(rows) => {
            out.push_str(&scenarios_table(rows));
            let _ = writeln!(
                out,
                "\nStraight handshakes per path (median; – : no handshake):\n"
            );
            out.push_str(&paths_table(rows));
            out.push('\n');
            for row in rows {
                for (what, races) in [
                    ("h3 + h2 race", &row.raced),
                    ("TCP+TLS only", &row.tcp_only),
                ] {
                    let why = match races {
                        Err(e) => Some(e.clone()),
                        Ok(r) => r.summary.error.clone(),
                    };
                    if let Some(e) = why {
                        let _ = writeln!(
                            out,
                            "- {}, {what}: {}.",
                            row.scenario.name(),
                            shorten(&e, 200)
                        );
                    }
                }
            }
            out.push('\n');
        }
        Err(e) => {
            let _ = writeln!(out, "Not measured: {e}.\n");
        }
    }

    let _ = writeln!(
        out,
        "### Handshake cost, QUIC against TCP+TLS, on loopback\n"
    );
    let _ = writeln!(
        out,
        "A TLS server (h2, TLS 1.3) and a QUIC server (h3) on one port of 127.0.0.1, on a \
         thread of the measuring process; the client on its main thread (a current-thread \
         tokio runtime). Sequential connections, each closed once usable; each way in a \
         child process of its own after {} warm-up connections, {} connections per way in \
         {} rounds (the ways taking turns). **Wall**: call to usable connection. **Client \
         CPU**: the client thread's CPU clock (quinn's endpoint driver runs on it). \
         **Process CPU**: `getrusage(RUSAGE_SELF)`, client and servers together (tick \
         accounting: coarse per round, summed over the rounds). **Instructions**: the same \
         child under `valgrind {}` ({} connections per way, client thread only, user space \
         only; the race's attempt delay raised to {} s there so that valgrind's slowness \
         starts no TCP attempt). Straight QUIC makes a new quinn endpoint (UDP socket) per \
         connection, as a race does.\n",
        cost::WARMUP,
        p.cost_connections,
        r.cost.rounds,
        cost::VALGRIND_ARGS.join(" "),
        r.cost.callgrind_connections,
        cost::CALLGRIND_DELAY_MS / 1000,
    );
    out.push_str(&cost_table(&r.cost));
    out.push('\n');
    let no_count: Vec<String> = r
        .cost
        .rows
        .iter()
        .filter_map(|row| row.as_ref().ok())
        .filter_map(|row| {
            row.instructions.as_ref().err().map(|e| {
                format!(
                    "- {}: no instruction count: {}.",
                    row.way.label(),
                    shorten(e, 200)
                )
            })
        })
        .collect();
    if !no_count.is_empty() {
        let _ = writeln!(out, "{}\n", no_count.join("\n"));
    }

    let _ = writeln!(out, "### Memory per race with QUIC attempts\n");
    let _ = writeln!(
        out,
        "{} concurrent races in a child process on loopback: to a UDP black hole (a bound \
         socket that never reads) whose TCP port is a black hole too (a listener with a \
         backlog of 0, its one place taken: further SYNs are dropped), or, without QUIC, to \
         that TCP black hole, all spawned at once on one current-thread runtime, with a \
         Connection Attempt Delay of {} s (so that every race has its first attempt open \
         before any starts its second). Sampled once every race's first attempt has its \
         sockets open (one attempt pending per race), and after the attempt delay once the \
         QUIC races' TCP attempts have theirs (both pending); \"sampled at\" is the time \
         after the first race was spawned. **Resident**: VmRSS \
         growth over the baseline (after a warm-up) per race; **allocated**: VmData growth \
         (heap and anonymous mappings, touched or not); kernel socket buffers are in \
         neither. Then every race is cancelled and the descriptors counted again once \
         quinn has closed its sockets (up to 5 s). A race's QUIC socket is two descriptors: \
         the UDP socket quinn uses and the duplicate eyeballs waits on for ICMP errors \
         (`IP_RECVERR`, so that a refused port fails the attempt at once).\n",
        p.memory_races,
        memory::ATTEMPT_DELAY.as_secs()
    );
    match &r.memory {
        Ok(rows) => {
            out.push_str(&memory_table(rows));
            out.push('\n');
        }
        Err(e) => {
            let _ = writeln!(out, "Not measured: {}.\n", shorten(e, 300));
        }
    }

    let said = findings(r);
    if !said.is_empty() {
        let _ = writeln!(out, "**What the figures say.** {}\n", said.join(" "));
    }
}

/// Puts the section into `markdown`: before the notes at its end, or at the end.
pub fn insert(markdown: &mut String, part: &Result<QuicResults, String>) {
    let mut quic = String::new();
    write(&mut quic, part);
    match markdown.find(&format!("\n{BEFORE}")) {
        Some(at) => markdown.insert_str(at + 1, &quic),
        None => {
            if !markdown.ends_with("\n\n") {
                markdown.push('\n');
            }
            markdown.push_str(&quic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::cost::CostRow;
    use super::super::lab::ScenarioRow;
    use super::super::memory::{Kind, Snapshot};
    use super::super::Plan;
    use super::*;
    use crate::stats::Summary;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn races(median: u64, connected: usize, quic: usize) -> Races {
        Races {
            summary: Summary::fixture(
                20,
                connected,
                [ms(median), ms(median + 5), ms(median + 9)],
                "timed out after 5s",
            ),
            quic_won: quic,
            tcp_won: connected - quic,
        }
    }

    fn scenario(s: Scenario, quic: Races, tcp: Result<Races, String>) -> ScenarioRow {
        ScenarioRow {
            scenario: s,
            paths: vec![
                (PATHS[0], Ok(ms(2))),
                (PATHS[1], Ok(ms(4))),
                (PATHS[2], Err("no handshake within 1s".into())),
                (PATHS[3], Ok(ms(3))),
            ],
            raced: Ok(quic),
            tcp_only: tcp,
        }
    }

    fn cost_row(
        way: Way,
        median_us: u64,
        cpu_us: u64,
        instr: f64,
    ) -> Result<CostRow, (Way, String)> {
        Ok(CostRow {
            way,
            connections: 200,
            median: Duration::from_micros(median_us),
            p90: Duration::from_micros(median_us + 100),
            client_cpu: Duration::from_micros(cpu_us),
            process_cpu: Duration::from_micros(2 * cpu_us),
            instructions: Ok(instr),
            alpn: if matches!(way, Way::QuinnDirect | Way::RaceQuic) {
                "h3"
            } else {
                "h2"
            }
            .into(),
        })
    }

    fn results() -> QuicResults {
        let snap = |rss, data, fds| Snapshot {
            rss_kib: rss,
            data_kib: data,
            fds,
            pending: 100,
            at_ms: if fds > 150 { 2150 } else { 150 },
        };
        QuicResults {
            plan: Plan::new(true, None),
            scenarios: Ok(vec![
                scenario(Scenario::BothWork, races(2, 20, 20), Ok(races(4, 20, 0))),
                scenario(
                    Scenario::UdpBlackHole,
                    races(254, 20, 0),
                    Ok(races(4, 20, 0)),
                ),
                scenario(
                    Scenario::TcpBlackHole,
                    races(2, 20, 20),
                    Err("no TCP path works: a TCP-only client never connects".into()),
                ),
                scenario(
                    Scenario::V6BlackHole,
                    races(254, 15, 0),
                    Ok(races(253, 20, 0)),
                ),
            ]),
            cost: Cost {
                rows: vec![
                    cost_row(Way::QuinnDirect, 1000, 600, 3.0e6),
                    cost_row(Way::TlsDirect, 500, 300, 1.5e6),
                    cost_row(Way::RaceQuic, 1100, 660, 3.3e6),
                    Err((Way::RaceTls, "child exit status: 1".into())),
                ],
                rounds: 2,
                callgrind_connections: 10,
                valgrind: Ok("valgrind-3.19.0".into()),
            },
            memory: Ok(vec![
                MemoryRow {
                    kind: Kind::Quic,
                    races: 100,
                    before: snap(1000, 2000, 10),
                    samples: [snap(1100, 2400, 110), snap(1200, 2800, 210)],
                    fds_after: 10,
                },
                MemoryRow {
                    kind: Kind::TcpOnly,
                    races: 100,
                    before: snap(1000, 2000, 10),
                    samples: [snap(1010, 2010, 110), snap(1010, 2010, 110)],
                    fds_after: 11,
                },
            ]),
        }
    }

    #[test]
    fn the_scenario_table_has_ideal_ratios_and_the_cost_of_quic() {
        let r = results();
        let t = scenarios_table(r.scenarios.as_ref().unwrap());
        // both work: ideal QUIC v6 2 ms, race 2 ms = 1.00×, TCP only 4 ms = 2.00×, −2.0 ms.
        assert!(
            t.contains("| both work | QUIC v6 | 2.00 | 2.00 | 7.00 | QUIC 20/20 | 1.00× | 4.00 | 9.00 | 2.00× | -2.0 |"),
            "{t}"
        );
        assert!(
            t.contains("| UDP black-holed | QUIC v6 | 2.00 | 254.0 |"),
            "{t}"
        );
        assert!(t.contains("+250.0 |"), "{t}");
        // TCP-only not run: dashes; partial connection shown with its count, no delta.
        assert!(t.contains("| 1.00× | – | – | – | – |"), "{t}");
        assert!(t.contains("254.0 (15/20 connected)"), "{t}");
        let p = paths_table(r.scenarios.as_ref().unwrap());
        assert!(
            p.starts_with("| scenario | QUIC v6 (ms) | TLS v4 (ms) | QUIC v4 (ms) | TLS v6 (ms) |"),
            "{p}"
        );
        assert!(p.contains("| both work | 2.00 | 4.00 | – | 3.00 |"), "{p}");
    }

    #[test]
    fn the_cost_table_compares_races_with_the_straight_connect() {
        let t = cost_table(&results().cost);
        assert!(t.contains("| `SecureConnector` h3 + h2 (QUIC wins) | h3 | 1.100 | 1.200 | 660 | 1320 | 3300000 | 1.10× | 1.10× | 1.10× |"), "{t}");
        assert!(t.contains("| QUIC straight: quinn `Endpoint::client` + `connect_with` | h3 | 1.000 | 1.100 | 600 | 1200 | 3000000 |  |  |  |"), "{t}");
        assert!(t.contains("failed: child exit status: 1"), "{t}");
    }

    #[test]
    fn the_memory_table_divides_by_races() {
        let r = results();
        let t = memory_table(r.memory.as_ref().unwrap());
        assert!(
            t.contains("| 150 ms | 1 QUIC attempt | 100/100 | 1024 | 4096 | 1.00 | 10 → 10 |"),
            "{t}"
        );
        assert!(
            t.contains("| 2150 ms | 1 QUIC + 1 TCP attempt | 100/100 | 2048 | 8192 | 2.00 |  |"),
            "{t}"
        );
        assert!(
            t.contains("| 150 ms | 1 TCP attempt | 100/100 | 102 | 102 | 1.00 | 10 → 11 |"),
            "{t}"
        );
    }

    #[test]
    fn the_findings_are_written_from_the_figures() {
        let said = findings(&results()).join(" ");
        assert!(said.contains("won with QUIC 20/20 at a median of 2.00 ms, 1.00× the ideal (QUIC v6, 2.00 ms straight)"), "{said}");
        assert!(
            said.contains("UDP black-holed +250.0 ms (TCP 20/20, 254.0 ms)"),
            "{said}"
        );
        assert!(
            said.contains("a TCP+TLS-only client does not connect at all"),
            "{said}"
        );
        assert!(
            said.contains("2.00× the wall time, 2.00× the CPU, 2.00× the instructions"),
            "{said}"
        );
        assert!(said.contains("QUIC +60 µs CPU (+0.100 ms wall)"), "{said}");
        assert!(!said.contains("TLS +"), "{said}");
        assert!(
            said.contains("holds 1.0 KiB resident (4.0 KiB allocated) and 1.00 descriptors"),
            "{said}"
        );
        // IPv6 black-holed: not every race connected, but the sentence gives both medians.
        assert!(
            said.contains("254.0 ms with QUIC offered, 253.0 ms without"),
            "{said}"
        );
    }

    #[test]
    fn the_section_goes_before_the_notes_and_says_what_is_missing() {
        let mut md = "# Benchmarks\n\n## Cost\n\nx\n\n## Notes, and what is not measured\n\n- n\n"
            .to_owned();
        insert(&mut md, &Ok(results()));
        let at = md.find(HEADING).unwrap();
        assert!(md.find("## Cost").unwrap() < at);
        assert!(at < md.find(BEFORE).unwrap());
        assert!(
            md.contains("### Time to a usable connection, per lab scenario"),
            "{md}"
        );
        assert!(
            md.contains("### Memory per race with QUIC attempts"),
            "{md}"
        );
        assert!(md.contains("**What the figures say.**"), "{md}");
        assert!(
            md.contains("- TCP black-holed, QUIC fine, TCP+TLS only: no TCP path works: a TCP-only client never connects."),
            "{md}"
        );
        assert!(
            md.contains("- IPv6 black-holed, both protocols, h3 + h2 race: timed out after 5s."),
            "{md}"
        );

        let mut r = results();
        r.scenarios = Err("needs root (the lab)".into());
        r.memory = Err("child failed".into());
        let mut md = String::new();
        write(&mut md, &Ok(r));
        assert!(md.contains("Not measured: needs root (the lab)."), "{md}");
        assert!(md.contains("Not measured: child failed."), "{md}");

        let mut md = "# Benchmarks\n".to_owned();
        insert(&mut md, &Err("skipped (--only)".to_owned()));
        assert!(
            md.ends_with(&format!("{HEADING}\n\nNot measured: skipped (--only).\n\n")),
            "{md}"
        );
    }
}
