//! The HEv3 section of BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::Duration;

use super::engine::{EngineCost, Race, VALGRIND_ARGS};
use super::{Hev3Results, Hev3Scenario, Kind, CAP, SLOW_ADDRESSES, V4ONLY};
use crate::contenders::Contender;
use crate::report::{fmt_ms, fmt_ratio, row_name, section, shorten, table};
use crate::scenarios::RESOLUTION_DELAY;
use crate::stats::Summary;

/// The command of this part alone.
pub const COMMAND: &str = "cargo run --release -p eyeballs-bench -- --only hev3";

/// Writes the section.
pub fn write(out: &mut String, hev3: &Result<Hev3Results, String>) {
    let Some(h) = section(out, "## HEv3: HTTPS records and NAT64", hev3) else {
        return;
    };
    let _ = writeln!(
        out,
        "Happy Eyeballs v3 adds two things a client can use before RFC 8305's schedule: the \
         HTTPS record of the name (RFC 9460: its ipv6hint and ipv4hint are addresses to try \
         before AAAA and A come back) and, on an IPv6-only network, the NAT64 prefix \
         (discovered once from `ipv4only.arpa`, RFC 7050) with which the client synthesizes \
         an IPv6 address from an A answer itself (RFC 6052). eyeballs does both when asked: \
         `Connector::https_query(true)` with a resolver that answers HTTPS \
         (`eyeballs::resolver::HickoryResolver`, here to the lab's DNS server only, one try of \
         at most 1 s, as the lab's resolv.conf tells `getaddrinfo`), and \
         `Connector::detect_network()` (`eyeballs::network::detect_network`: the \
         connectivity from netlink, and the prefix discovery when there is IPv6 and no IPv4). \
         None of the other clients asks for HTTPS records or synthesizes addresses; they \
         resolve with `getaddrinfo` through the lab's DNS server, as in the time-to-connect \
         section. `{COMMAND}` makes this section alone.\n"
    );
    let _ = writeln!(
        out,
        "Scenarios, each in a lab of its own (`dual.test` served as in the time-to-connect \
         section, both addresses accepting; the HTTPS record asked for port 8080 is \
         `_8080._https.dual.test`, one ServiceMode record with one hint per family):\n\n\
         - **{}**: the HTTPS answer comes at once, AAAA and A {} ms later.\n\
         - **{}**: the HTTPS query gets no answer; AAAA and A come at once. HEv3 waits for \
         the HTTPS answer at most the Resolution Delay ({} ms) once the addresses are in \
         (V3-4.2.3).\n\
         - **{}**: a NAT64 lab (`eyeballs-lab`'s `Nat64::default()`: prefix \
         `2001:db8:64::/96`, TAYGA translating to the IPv4 server): the client namespace is \
         IPv6-only, `{V4ONLY}` has an A record only, and the lab's DNS server does not \
         synthesize AAAA records (no DNS64: only `ipv4only.arpa` is answered with the \
         synthesized Well-Known Addresses). A client that does not synthesize has no \
         address it can reach; this is the network HEv3 §8's local synthesis is for. (The \
         client namespace's resolv.conf names the DNS server's IPv6 address here, so that \
         `getaddrinfo` reaches it.)\n\
         - **{}**: the same with DNS64 on (the lab's DNS synthesizes the AAAA record): every \
         client has an address through the translator.\n\
         - **{}**: `{V4ONLY}` on the plain dual-stack lab, for comparison: the same connect \
         over native IPv4.\n",
        Kind::Hints.name(),
        SLOW_ADDRESSES.as_millis(),
        Kind::HttpsNever.name(),
        RESOLUTION_DELAY.as_millis(),
        Kind::Nat64.name(),
        Kind::Nat64Dns64.name(),
        Kind::DualStack.name(),
    );
    let _ = writeln!(
        out,
        "{} runs per contender and scenario, as in the time-to-connect section (one after \
         another, or together when the first took 500 ms or more; each capped at {} s). \
         The eyeballs HEv3 rows make a new connector and resolver per run (nothing cached); \
         \"network detected once\" detects before the runs (untimed), \"in the run\" times \
         `detect_network()` and the connect together. **Ideal (HEv3)**: one DNS round trip \
         (a query answered at once), HEv3's scheduled start (at once; the Resolution Delay \
         when HTTPS is never answered) and the handshake of the first working address (the \
         IPv6 hint; through the translator in the NAT64 labs), measured in the lab just \
         before the contenders. **Ideal without HTTPS records**: what RFC 8305 alone can do \
         (after AAAA and A; no address at all without DNS64 unless the client synthesizes \
         it, RFC 8305 §7). Cells: median in ms (ratio to the HEv3 ideal); ✗ N: N runs did \
         not connect.\n",
        h.runs,
        CAP.as_secs()
    );
    write_table(out, h);
    write_findings(out, h);
    for s in &h.scenarios {
        write_scenario(out, h, s);
    }
    write_engine(out, &h.engine);
}

fn write_table(out: &mut String, h: &Hev3Results) {
    let mut headers = vec!["contender — attempt delay".to_owned()];
    headers.extend(h.scenarios.iter().map(|s| s.kind.name().to_owned()));
    let ideal_row = |label: &str, pick: fn(&super::Ideal) -> Option<Duration>| {
        let mut row = vec![format!("**{label}**")];
        row.extend(h.scenarios.iter().map(|s| match &s.ideal {
            Ok(i) => {
                pick(i).map_or_else(|| "no address".to_owned(), |d| format!("**{}**", fmt_ms(d)))
            }
            Err(_) => "–".to_owned(),
        }));
        row
    };
    let mut rows = vec![
        ideal_row("ideal (HEv3)", |i| Some(i.v3)),
        ideal_row("ideal without HTTPS records", |i| i.v2),
    ];
    for (i, c) in h.contenders.iter().enumerate() {
        let mut row = vec![name(c)];
        row.extend(h.scenarios.iter().map(|s| match s.cells.get(i) {
            Some(Ok(summary)) => cell(s, summary),
            _ => "not measured".to_owned(),
        }));
        rows.push(row);
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    out.push_str(&table(&header_refs, &rows));
    out.push('\n');
}

fn name(c: &Contender) -> String {
    if c.ours {
        format!("**{}**", row_name(c))
    } else {
        row_name(c)
    }
}

fn cell(s: &Hev3Scenario, summary: &Summary) -> String {
    let mut text = fmt_ms(summary.median);
    if let Some(ratio) = s.ratio(summary) {
        let _ = write!(text, " ({})", fmt_ratio(ratio));
    }
    if !summary.all_connected() {
        let _ = write!(text, " ✗ {}", summary.runs - summary.connected);
    }
    text
}

/// The summary of the row `key` in `s`, if it was measured.
fn of<'a>(h: &'a Hev3Results, s: &'a Hev3Scenario, key: &str) -> Option<&'a Summary> {
    h.contenders
        .iter()
        .zip(&s.cells)
        .find(|(c, _)| c.key == key)
        .and_then(|(_, cell)| cell.as_ref().ok())
}

/// The rows that are not eyeballs as HEv3, with their summaries.
fn hev2_rows<'a>(
    h: &'a Hev3Results,
    s: &'a Hev3Scenario,
) -> impl Iterator<Item = (&'a Contender, &'a Summary)> {
    h.contenders
        .iter()
        .zip(&s.cells)
        .filter(|(c, _)| !c.key.starts_with("eyeballs-hev3"))
        .filter_map(|(c, cell)| cell.as_ref().ok().map(|summary| (c, summary)))
}

fn scenario(h: &Hev3Results, kind: Kind) -> Option<&Hev3Scenario> {
    h.scenarios.iter().find(|s| s.kind == kind)
}

/// The findings, one bullet per scenario, from the figures of this run.
fn write_findings(out: &mut String, h: &Hev3Results) {
    let _ = writeln!(out, "### What the figures say\n");
    let ms = |d: Duration| format!("{} ms", fmt_ms(d));
    if let Some(s) = scenario(h, Kind::Hints) {
        if let Some(v3) = of(h, s, "eyeballs-hev3") {
            let others: Vec<(&Contender, &Summary)> = hev2_rows(h, s)
                .filter(|(_, sum)| sum.all_connected())
                .collect();
            let fastest = others.iter().min_by_key(|(_, sum)| sum.median);
            let all_wait = others.iter().all(|(_, sum)| sum.median >= SLOW_ADDRESSES);
            let mut text = format!(
                "- **{}**: eyeballs as HEv3 connects on the hints in {} ({} of its ideal, one DNS \
                 round trip and a handshake)",
                Kind::Hints.name(),
                ms(v3.median),
                s.ratio(v3).map_or_else(|| "–".to_owned(), fmt_ratio)
            );
            if let Some((c, sum)) = fastest {
                let _ = write!(
                    text,
                    "; the fastest client without HTTPS records, {}, takes {}, and {} of them \
                     {} {} ms (they wait for AAAA and A).",
                    row_name(c),
                    ms(sum.median),
                    if all_wait {
                        "every one"
                    } else {
                        "not every one"
                    },
                    if all_wait { "waits at least" } else { "waits" },
                    SLOW_ADDRESSES.as_millis()
                );
            } else {
                text.push('.');
            }
            let _ = writeln!(out, "{text}");
        }
    }
    if let Some(s) = scenario(h, Kind::HttpsNever) {
        if let (Some(v3), Some(off)) = (of(h, s, "eyeballs-hev3"), of(h, s, "eyeballs-hickory")) {
            let cost = v3.median.saturating_sub(off.median);
            let spread = (v3.p90 - v3.median).max(off.p90 - off.median);
            let beyond = cost.saturating_sub(RESOLUTION_DELAY);
            let _ = writeln!(
                out,
                "- **{}**: the HTTPS query costs eyeballs {} over the same connector without it ({} against {}): {} (V3-4.2.3){}.",
                Kind::HttpsNever.name(),
                ms(cost),
                ms(v3.median),
                ms(off.median),
                if cost <= RESOLUTION_DELAY {
                    format!(
                        "at most the Resolution Delay of {} ms that HEv3 waits for the answer",
                        RESOLUTION_DELAY.as_millis()
                    )
                } else {
                    format!(
                        "the Resolution Delay of {} ms that HEv3 waits for the answer, and {} more",
                        RESOLUTION_DELAY.as_millis(),
                        ms(beyond)
                    )
                },
                if beyond > spread {
                    format!(
                        ", beyond the rows' p90 − median spread of {}",
                        ms(spread)
                    )
                } else if beyond > Duration::ZERO {
                    format!(
                        ", within the rows' p90 − median spread of {}",
                        ms(spread)
                    )
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(s) = scenario(h, Kind::Nat64) {
        let connected: Vec<String> = hev2_rows(h, s)
            .filter(|(_, sum)| sum.connected > 0)
            .map(|(c, _)| row_name(c))
            .collect();
        let error = hev2_rows(h, s)
            .filter(|(c, _)| !c.ours)
            .find_map(|(_, sum)| sum.error.clone());
        let mut text = format!("- **{}**:", Kind::Nat64.name());
        if let Some(v3) = of(h, s, "eyeballs-hev3") {
            let _ = write!(
                text,
                " eyeballs connects through the synthesized address in {} with the network \
                 known ({} of the ideal)",
                ms(v3.median),
                s.ratio(v3).map_or_else(|| "–".to_owned(), fmt_ratio)
            );
            if let Some(detect) = of(h, s, "eyeballs-hev3-detect") {
                let _ = write!(
                    text,
                    ", in {} with `detect_network()` in the run (the discovery's \
                     `ipv4only.arpa` query adds {})",
                    ms(detect.median),
                    ms(detect.median.saturating_sub(v3.median))
                );
            }
            text.push(';');
        }
        let _ = write!(
            text,
            " {}",
            if connected.is_empty() {
                "no other client connects: the A answer gives them an IPv4 address the \
                 IPv6-only client has no route to"
                    .to_owned()
            } else {
                format!("other clients that connected: {}", connected.join(", "))
            }
        );
        if let Some(e) = error {
            let _ = write!(text, " (\"{}\")", shorten(&e, 80));
        }
        text.push('.');
        let _ = writeln!(out, "{text}");
    }
    for kind in [Kind::Nat64Dns64, Kind::DualStack] {
        let Some(s) = scenario(h, kind) else { continue };
        let Some(v3) = of(h, s, "eyeballs-hev3") else {
            continue;
        };
        let fastest = hev2_rows(h, s)
            .filter(|(c, sum)| !c.ours && sum.all_connected())
            .min_by_key(|(_, sum)| sum.median);
        let _ = writeln!(
            out,
            "- **{}**: eyeballs as HEv3 {} ({} of the ideal){}.",
            kind.name(),
            ms(v3.median),
            s.ratio(v3).map_or_else(|| "–".to_owned(), fmt_ratio),
            fastest.map_or_else(String::new, |(c, sum)| format!(
                "; the fastest other client, {}, {}",
                row_name(c),
                ms(sum.median)
            ))
        );
    }
    out.push('\n');
}

fn write_scenario(out: &mut String, h: &Hev3Results, s: &Hev3Scenario) {
    let _ = writeln!(out, "#### HEv3: {}\n", s.kind.name());
    match &s.ideal {
        Ok(i) => {
            let _ = writeln!(
                out,
                "Ideal (HEv3) {} ms = DNS {} + scheduled start {} + handshake {}; without \
                 HTTPS records {}.\n",
                fmt_ms(i.v3),
                fmt_ms(i.dns),
                fmt_ms(s.kind.start_v3()),
                fmt_ms(i.handshake),
                i.v2.map_or_else(
                    || "no address to connect to".to_owned(),
                    |d| format!("{} ms", fmt_ms(d))
                )
            );
        }
        Err(e) => {
            let _ = writeln!(out, "Ideal not measured: {e}.\n");
        }
    }
    let rows: Vec<Vec<String>> = h
        .contenders
        .iter()
        .zip(&s.cells)
        .map(|(c, cell)| match cell {
            Ok(sum) => vec![
                row_name(c),
                fmt_ms(sum.median),
                fmt_ms(sum.p90),
                format!("{}/{}", sum.connected, sum.runs),
                s.ratio(sum).map_or_else(|| "–".to_owned(), fmt_ratio),
                sum.error
                    .as_deref()
                    .map(|e| shorten(e, 90))
                    .unwrap_or_default(),
            ],
            Err(e) => {
                let mut row = vec![row_name(c), "not measured".to_owned()];
                row.extend(std::iter::repeat_n(String::new(), 3));
                row.push(shorten(e, 90));
                row
            }
        })
        .collect();
    out.push_str(&table(
        &[
            "contender — attempt delay",
            "median ms",
            "p90 ms",
            "connected",
            "median / HEv3 ideal",
            "error (most common)",
        ],
        &rows,
    ));
    out.push('\n');
}

fn write_engine(out: &mut String, engine: &Result<EngineCost, String>) {
    let Some(e) = section(out, "### The engine with service records", engine) else {
        return;
    };
    let _ = writeln!(
        out,
        "One race on virtual time (`eyeballs::proto::sim`: the engine with the simulator's \
         event queue and action log around it, so these rows compare with each other rather \
         than with the engine section's divan ones) to `example.test`:443, \
         every answer at once, every IPv6 address a black hole and the last IPv4 address \
         connecting after 5 ms, so that the race walks the staggered schedule. CPU time: \
         this program's thread (`CLOCK_THREAD_CPUTIME_ID`), {} rounds of {} races after a \
         warm-up round, median round. Instructions: {} races under callgrind, the function \
         that runs them counted alone (`valgrind {} eyeballs-bench child engine RACE {}`).\n",
        e.rounds,
        e.races,
        e.callgrind_races,
        crate::callgrind::shell_words(&VALGRIND_ARGS),
        e.callgrind_races
    );
    let base = e.rows.iter().find(|r| r.race == Race::Plain);
    let rows: Vec<Vec<String>> = e
        .rows
        .iter()
        .map(|r| {
            vec![
                r.race.label().to_owned(),
                r.attempts.to_string(),
                format!("{:.0}", r.cpu_ns),
                base.map_or_else(|| "–".to_owned(), |b| fmt_ratio(r.cpu_ns / b.cpu_ns)),
                r.instructions
                    .as_ref()
                    .map_or_else(|e| format!("not counted: {e}"), |i| format!("{i:.0}")),
                match (base.map(|b| &b.instructions), &r.instructions) {
                    (Some(Ok(b)), Ok(i)) => fmt_ratio(i / b),
                    _ => "–".to_owned(),
                },
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "race",
            "attempts",
            "CPU ns/race",
            "CPU vs no HTTPS",
            "instructions/race",
            "instructions vs no HTTPS",
        ],
        &rows,
    ));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hev3::engine::EngineRaceRow;
    use crate::hev3::{contenders, Ideal, KINDS};

    fn results() -> Hev3Results {
        let ms = Duration::from_millis;
        let rows = contenders();
        let scenarios = KINDS
            .iter()
            .map(|&kind| Hev3Scenario {
                kind,
                ideal: Ok(Ideal {
                    dns: ms(1),
                    handshake: ms(1),
                    v3: ms(2) + kind.start_v3(),
                    v2: kind.start_v2().map(|d| d + ms(2)),
                }),
                cells: rows
                    .iter()
                    .map(|c| {
                        let (median, connected) = match (kind, c.key) {
                            (Kind::Hints, "eyeballs-hev3" | "eyeballs-hev3-detect") => (3, 10),
                            (Kind::Hints, _) => (203, 10),
                            (Kind::HttpsNever, "eyeballs-hev3") => (52, 10),
                            (Kind::Nat64, "eyeballs-hev3") => (3, 10),
                            (Kind::Nat64, "eyeballs-hev3-detect") => (4, 10),
                            (Kind::Nat64, _) => (1, 0),
                            _ => (2, 10),
                        };
                        let times = [ms(median), ms(median + 1), ms(median + 2)];
                        Ok(Summary::fixture(
                            10,
                            connected,
                            times,
                            "Network is unreachable",
                        ))
                    })
                    .collect(),
            })
            .collect();
        Hev3Results {
            runs: 10,
            contenders: rows,
            scenarios,
            engine: Ok(EngineCost {
                races: 1000,
                rounds: 5,
                callgrind_races: 100,
                rows: vec![
                    EngineRaceRow {
                        race: Race::Plain,
                        attempts: 2,
                        cpu_ns: 2000.0,
                        instructions: Ok(10_000.0),
                    },
                    EngineRaceRow {
                        race: Race::HttpsHints,
                        attempts: 4,
                        cpu_ns: 5000.0,
                        instructions: Err("valgrind is not installed".to_owned()),
                    },
                ],
            }),
        }
    }

    #[test]
    fn the_section_has_its_table_findings_and_engine_rows() {
        let mut md = String::new();
        write(&mut md, &Ok(results()));
        for needle in [
            "## HEv3: HTTPS records and NAT64",
            "| **ideal (HEv3)** | **2.00** | **52.0** | **2.00** | **2.00** | **2.00** |",
            "| **ideal without HTTPS records** | **202.0** | **2.00** | no address | **2.00** | **2.00** |",
            "3.00 (1.50×)",
            "1.00 (0.50×) ✗ 10",
            "eyeballs as HEv3 connects on the hints in 3.00 ms",
            "every one of them waits at least 200 ms",
            "the HTTPS query costs eyeballs 50.0 ms over the same connector without it",
            "at most the Resolution Delay of 50 ms that HEv3 waits for the answer (V3-4.2.3).",
            "the discovery's `ipv4only.arpa` query adds 1.00 ms",
            "no other client connects",
            "#### HEv3: NAT64, IPv4-only name, no DNS64",
            "| HTTPS (2 records with hints) + AAAA + A, 4 addresses | 4 | 5000 | 2.50× | not counted: valgrind is not installed | – |",
            "'--toggle-collect=*hev3::engine::measured*'",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
        }
    }
}
