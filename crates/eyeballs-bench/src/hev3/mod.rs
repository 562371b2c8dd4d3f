//! The HEv3 part (issue 10): what HTTPS records and NAT64 synthesis change in time to
//! connect, and what service records cost the engine.
//!
//! - **Scenarios** in the lab ([`Kind`]): HTTPS answered at once with hints while AAAA and A
//!   take 200 ms; HTTPS never answered; an IPv4-only name from an IPv6-only client behind
//!   NAT64 (TAYGA), without and with DNS64; the same name on the plain dual-stack lab. eyeballs
//!   runs as HEv3 (hickory to the lab's DNS server, `https_query(true)`, the network
//!   `detect_network` finds), beside the same connector without HTTPS query and the peers of
//!   the time-to-connect part (none of which asks for HTTPS records or synthesizes IPv6
//!   addresses itself).
//! - **The engine with service records** ([`engine`]): CPU time and instructions per race on
//!   virtual time, with and without an HTTPS answer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use eyeballs_lab::RecordType;
use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, HttpsRecord, Lab, LabBuilder, Nat64};

use crate::contenders::{self, Contender, How, RustLib, Tools};
use crate::report::{fmt_ms, fmt_ratio};
use crate::scenarios::{self, NAME, PORT, RESOLUTION_DELAY, V4, V6};
use crate::stats::Summary;

pub mod engine;
pub mod report;

/// The IPv4-only name of the NAT64 scenarios (A records only).
pub const V4ONLY: &str = "v4only.test";

/// The cap of each run (each contender's own timeout where it has one, else a timeout around
/// the call): every scenario here connects within a few hundred ms or fails at once.
pub const CAP: Duration = Duration::from_secs(2);

/// How long AAAA and A take in the hints scenario.
pub const SLOW_ADDRESSES: Duration = Duration::from_millis(200);

/// The peers of the time-to-connect part run here, by key ([`contenders::all`]).
pub const PEERS: [&str; 7] = [
    "eyeballs",
    "tokio",
    "hyper-util",
    "happy-eyeballs",
    "curl",
    "asyncio-250",
    "aiohappyeyeballs-250",
];

/// The name an HTTPS query for `host` on [`PORT`] asks (RFC 9460 §9.1: not port 443).
pub fn https_name(host: &str) -> String {
    format!("_{PORT}._https.{host}")
}

/// One scenario of the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `dual.test`: HTTPS answered at once with one ServiceMode record (ipv6hint, ipv4hint),
    /// AAAA and A after [`SLOW_ADDRESSES`]; both addresses accept.
    Hints,
    /// `dual.test`: the same record, HTTPS never answered, AAAA and A at once.
    HttpsNever,
    /// [`V4ONLY`] from the IPv6-only client of a NAT64 lab, no DNS64: the lab's DNS answers
    /// it with A only (and `ipv4only.arpa` AAAA with the synthesized Well-Known Addresses).
    Nat64,
    /// The same with DNS64 on: the lab's DNS synthesizes its AAAA record.
    Nat64Dns64,
    /// [`V4ONLY`] on the plain dual-stack lab: the same connect over native IPv4.
    DualStack,
}

/// Every scenario, in column order.
pub const KINDS: [Kind; 5] = [
    Kind::Hints,
    Kind::HttpsNever,
    Kind::Nat64,
    Kind::Nat64Dns64,
    Kind::DualStack,
];

impl Kind {
    /// What the tables call it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hints => "HTTPS with hints at once, AAAA and A after 200 ms",
            Kind::HttpsNever => "HTTPS never answered",
            Kind::Nat64 => "NAT64, IPv4-only name, no DNS64",
            Kind::Nat64Dns64 => "NAT64, IPv4-only name, DNS64",
            Kind::DualStack => "dual-stack, IPv4-only name",
        }
    }

    /// The name every contender connects to.
    pub fn host(self) -> &'static str {
        match self {
            Kind::Hints | Kind::HttpsNever => NAME,
            Kind::Nat64 | Kind::Nat64Dns64 | Kind::DualStack => V4ONLY,
        }
    }

    /// Whether the client is the IPv6-only one of a NAT64 lab.
    pub fn nat64(self) -> bool {
        matches!(self, Kind::Nat64 | Kind::Nat64Dns64)
    }

    /// The lab of this scenario.
    fn builder(self) -> LabBuilder {
        let builder = Lab::builder().port(PORT);
        let v4only = DnsRecords {
            a: vec![V4],
            aaaa: vec![],
        };
        match self {
            Kind::Hints | Kind::HttpsNever => {
                let record = HttpsRecord::service(1).ipv6hint([V6]).ipv4hint([V4]);
                let builder = builder
                    .server(IpAddr::V6(V6), Behavior::Accept)
                    .server(IpAddr::V4(V4), Behavior::Accept)
                    .dns(
                        NAME,
                        DnsRecords {
                            aaaa: vec![V6],
                            a: vec![V4],
                        },
                    )
                    .https(&https_name(NAME), [record]);
                if self == Kind::Hints {
                    let slow = DnsBehavior::answer_after(SLOW_ADDRESSES);
                    builder
                        .dns_behavior(NAME, RecordType::Aaaa, slow)
                        .dns_behavior(NAME, RecordType::A, slow)
                } else {
                    builder.dns_behavior(&https_name(NAME), RecordType::Https, DnsBehavior::never())
                }
            }
            Kind::Nat64 | Kind::Nat64Dns64 => builder
                .server(IpAddr::V4(V4), Behavior::Accept)
                .dns(V4ONLY, v4only)
                .nat64(Nat64::default().dns64(self == Kind::Nat64Dns64)),
            Kind::DualStack => builder
                .server(IpAddr::V4(V4), Behavior::Accept)
                .dns(V4ONLY, v4only),
        }
    }

    /// The lab (in a NAT64 lab the client's resolv.conf names the DNS server's IPv6
    /// address: `Lab::client_command`).
    pub fn start_lab(self) -> Result<Lab, String> {
        self.builder().start().map_err(|e| e.to_string())
    }

    /// The address the ideal connects to: the IPv6 hint, the synthesized address of the
    /// IPv4 server, or the IPv4 server.
    fn first_working(self, lab: &Lab) -> Option<IpAddr> {
        match self {
            Kind::Hints | Kind::HttpsNever => Some(IpAddr::V6(V6)),
            Kind::Nat64 | Kind::Nat64Dns64 => lab.synthesized(V4).map(IpAddr::V6),
            Kind::DualStack => Some(IpAddr::V4(V4)),
        }
    }

    /// The query the ideal's DNS round trip is timed with: one answered at once.
    fn probe(self) -> (String, RecordType) {
        match self {
            Kind::Hints => (https_name(NAME), RecordType::Https),
            _ => (self.host().to_owned(), RecordType::A),
        }
    }

    /// HEv3's scheduled start after the first answer: at once, or (HTTPS never answered)
    /// the Resolution Delay it waits for HTTPS once the addresses are in (V3-4.2.3).
    fn start_v3(self) -> Duration {
        match self {
            Kind::HttpsNever => RESOLUTION_DELAY,
            _ => Duration::ZERO,
        }
    }

    /// The start without HTTPS records (RFC 8305 alone): after the address answers; `None`
    /// when such a client has nothing to connect to (an A answer on an IPv6-only network,
    /// unless it synthesizes the address itself, RFC 8305 §7).
    fn start_v2(self) -> Option<Duration> {
        match self {
            Kind::Hints => Some(SLOW_ADDRESSES),
            Kind::Nat64 => None,
            _ => Some(Duration::ZERO),
        }
    }
}

/// The ideal times of one scenario, measured in its lab.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ideal {
    /// One query answered at once, to the lab's DNS server.
    pub dns: Duration,
    /// A plain connect to the working address.
    pub handshake: Duration,
    /// HEv3: DNS + its scheduled start + handshake.
    pub v3: Duration,
    /// Without HTTPS records: DNS + the address answers' delay + handshake; `None`: such a
    /// client does not connect.
    pub v2: Option<Duration>,
}

/// One scenario's measurements.
#[derive(Debug, Clone)]
pub struct Hev3Scenario {
    /// The scenario.
    pub kind: Kind,
    /// Its ideal, or why it could not be measured.
    pub ideal: Result<Ideal, String>,
    /// Per contender, in [`Hev3Results::contenders`] order.
    pub cells: Vec<Result<Summary, String>>,
}

impl Hev3Scenario {
    /// `summary`'s median over the HEv3 ideal.
    pub fn ratio(&self, summary: &Summary) -> Option<f64> {
        let ideal = self.ideal.as_ref().ok()?.v3.as_secs_f64();
        (ideal > 0.0).then(|| summary.median.as_secs_f64() / ideal)
    }
}

/// Everything the part measured.
#[derive(Debug, Clone)]
pub struct Hev3Results {
    /// Runs per contender and scenario.
    pub runs: usize,
    /// The rows.
    pub contenders: Vec<Contender>,
    /// Per scenario.
    pub scenarios: Vec<Hev3Scenario>,
    /// The engine with and without service records.
    pub engine: Result<engine::EngineCost, String>,
}

/// The sizes of the part.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Runs per contender and scenario.
    pub runs: usize,
    /// Races per round of the engine's CPU time.
    pub engine_races: usize,
    /// Rounds of them.
    pub engine_rounds: usize,
    /// Races counted under callgrind.
    pub callgrind_races: usize,
}

/// The rows: eyeballs as HEv3 (twice: network known, network detected in the run), the same
/// connector without HTTPS query, then [`PEERS`].
pub fn contenders() -> Vec<Contender> {
    let ours = |key, label, resolver, lib| Contender {
        key,
        label,
        delay: "250 ms (default)",
        delay_ms: Some(250),
        resolver,
        ours: true,
        how: How::Rust(lib),
    };
    let mut rows = vec![
        ours(
            "eyeballs-hev3",
            "eyeballs (tokio), HEv3: `https_query(true)`, network detected once",
            "hickory to the lab's DNS: HTTPS, AAAA, A",
            RustLib::EyeballsHev3 {
                detect_each_run: false,
            },
        ),
        ours(
            "eyeballs-hev3-detect",
            "eyeballs (tokio), HEv3, `detect_network()` in the run (timed)",
            "hickory to the lab's DNS: HTTPS, AAAA, A",
            RustLib::EyeballsHev3 {
                detect_each_run: true,
            },
        ),
        ours(
            "eyeballs-hickory",
            "eyeballs (tokio), no HTTPS query, no detection",
            "hickory to the lab's DNS: AAAA, A",
            RustLib::EyeballsHickory,
        ),
    ];
    let all = contenders::all();
    rows.extend(
        PEERS
            .iter()
            .filter_map(|key| all.iter().find(|c| c.key == *key).cloned()),
    );
    rows
}

/// Runs the whole part, printing progress as it goes.
pub fn run(root: &std::path::Path, tools: &Tools, plan: Plan) -> Hev3Results {
    let contenders = contenders();
    let mut results = Vec::new();
    for (i, kind) in KINDS.iter().enumerate() {
        crate::step(&format!(
            "hev3 [{}/{}] {} ({} runs each)",
            i + 1,
            KINDS.len(),
            kind.name(),
            plan.runs
        ));
        results.push(scenario(*kind, &contenders, tools, plan.runs));
    }
    crate::step("hev3: the engine with service records");
    let engine = engine::run(root, tools, plan);
    crate::print_outcome(&engine, |e| {
        e.rows
            .iter()
            .map(|r| {
                format!(
                    "  {:<52} {:>8.0} ns CPU/race {}",
                    r.race.label(),
                    r.cpu_ns,
                    r.instructions
                        .as_ref()
                        .map_or_else(|e| e.clone(), |i| format!("{i:.0} instructions/race"))
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Hev3Results {
        runs: plan.runs,
        contenders,
        scenarios: results,
        engine,
    }
}

/// One scenario: its lab, its ideal, every row's runs.
fn scenario(kind: Kind, contenders: &[Contender], tools: &Tools, runs: usize) -> Hev3Scenario {
    let lab = match kind.start_lab() {
        Ok(lab) => lab,
        Err(e) => {
            let why = format!("the lab did not start: {e}");
            eprintln!("  {why}");
            return Hev3Scenario {
                kind,
                ideal: Err(why.clone()),
                cells: contenders.iter().map(|_| Err(why.clone())).collect(),
            };
        }
    };
    let ideal = measure_ideal(kind, &lab);
    match &ideal {
        Ok(i) => println!(
            "  {:<52} {:>8} ms  (DNS {} + start {} + handshake {}); without HTTPS records {}",
            "ideal (HEv3)",
            fmt_ms(i.v3),
            fmt_ms(i.dns),
            fmt_ms(kind.start_v3()),
            fmt_ms(i.handshake),
            i.v2.map_or_else(|| "none".to_owned(), |d| format!("{} ms", fmt_ms(d)))
        ),
        Err(e) => println!("  ideal: {e}"),
    }
    let mut result = Hev3Scenario {
        kind,
        ideal,
        cells: Vec::new(),
    };
    for c in contenders {
        let t0 = Instant::now();
        let cell = contenders::run_to(c, &lab, tools, kind.host(), runs, CAP)
            .and_then(|samples| Summary::of(&samples).ok_or_else(|| "no runs".to_owned()));
        match &cell {
            Ok(s) => println!(
                "  {:<52} {:>8} ms  p90 {:>7}  {:>2}/{} connected  {:>7}  ({:.1} s){}",
                crate::shorten(&crate::report::row_name(c), 52),
                fmt_ms(s.median),
                fmt_ms(s.p90),
                s.connected,
                s.runs,
                result.ratio(s).map_or_else(|| "–".to_owned(), fmt_ratio),
                t0.elapsed().as_secs_f64(),
                s.error
                    .as_deref()
                    .map(|e| format!("  [{}]", crate::shorten(e, 60)))
                    .unwrap_or_default()
            ),
            Err(e) => println!(
                "  {:<52} not measured: {e}",
                crate::shorten(&crate::report::row_name(c), 52)
            ),
        }
        result.cells.push(cell);
    }
    result
}

/// Measures the ideal of `kind` in `lab` from the client namespace.
fn measure_ideal(kind: Kind, lab: &Lab) -> Result<Ideal, String> {
    let server = if kind.nat64() {
        lab.dns_server_v6()
    } else {
        lab.dns_server_v4()
    };
    let first = kind
        .first_working(lab)
        .ok_or("no synthesized address in a NAT64 lab")?;
    let (name, record) = kind.probe();
    lab.run_in_client(move || -> Result<Ideal, String> {
        let dns = scenarios::median_of(|| scenarios::dns_query_time(server, &name, record))?;
        let handshake = scenarios::median_of(|| {
            scenarios::handshake_time(std::net::SocketAddr::new(first, PORT))
        })?;
        Ok(Ideal {
            dns,
            handshake,
            v3: dns + kind.start_v3() + handshake,
            v2: kind.start_v2().map(|start| dns + start + handshake),
        })
    })
    .map_err(|e| format!("measuring the ideal: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_unique_keys_and_every_peer_exists() {
        let rows = contenders();
        assert_eq!(rows.len(), 3 + PEERS.len());
        let mut keys: Vec<&str> = rows.iter().map(|c| c.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), rows.len());
        for c in &rows {
            if let How::Rust(lib) = c.how {
                assert_eq!(RustLib::from_key(&lib.key()), Some(lib), "{}", c.key);
            }
        }
    }

    #[test]
    fn v3_4_2_3_ideals_follow_the_schedules() {
        assert_eq!(Kind::Hints.start_v3(), Duration::ZERO);
        assert_eq!(Kind::Hints.start_v2(), Some(SLOW_ADDRESSES));
        assert_eq!(Kind::HttpsNever.start_v3(), RESOLUTION_DELAY);
        assert_eq!(Kind::HttpsNever.start_v2(), Some(Duration::ZERO));
        assert_eq!(Kind::Nat64.start_v2(), None);
        assert_eq!(https_name(NAME), "_8080._https.dual.test");
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        assert_eq!(
            KINDS.iter().filter(|k| k.nat64()).count(),
            2,
            "with and without DNS64"
        );
    }
}
