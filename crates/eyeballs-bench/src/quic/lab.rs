//! Time to a usable connection per network scenario in the lab (root): the scenarios of the
//! eyeballs crate's `tests/quic_lab.rs`, the lab's secure servers (TLS with h2/http1.1 and
//! QUIC with h3 on the same addresses and port) on `2001:db8::10` and `198.18.0.10`, with UDP
//! behaviours apart from the TCP ones. Per scenario:
//! - the ideal: each of the four paths (QUIC or TLS, IPv6 or IPv4) connected straight (quinn,
//!   tokio-rustls; no race), a few times after one uncounted warm-up; the fastest working path's median is what an
//!   oracle that knew it would take;
//! - N races of a `SecureConnector` (h3 + h2,http/1.1, the lab's name known to speak h3;
//!   QUIC over IPv6 first, TCP over IPv4 at 250 ms, QUIC over IPv4 at 500 ms, TCP over IPv6
//!   at 750 ms), and, where a TCP path works, N of one without QUIC (TCP over IPv6, then
//!   IPv4 at 250 ms) for contrast.
//!
//! Every race is a first connection (no history) from a current-thread runtime in the
//! client namespace, to the lab's name through a static resolver (no DNS), timed from the
//! call to the usable connection (handshake done), then closed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eyeballs::proto::Protocol;
use eyeballs::resolver::StaticResolver;
use eyeballs::Connector;
use eyeballs_lab::{Behavior, Lab, Secure, UdpBehavior, LAB_NAME};

use super::connect;
use super::servers::{self, TCP_ALPN};
use crate::stats::{median, Sample, Summary};

/// The servers' IPv6 address.
pub const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10));
/// The servers' IPv4 address.
pub const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 10));
/// The port of both servers.
pub const PORT: u16 = 8443;

/// How long a straight connect of the ideal may take before its path counts as not working.
pub const IDEAL_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest the uncounted warm-up connect of a path may take.
pub const WARMUP_TIMEOUT: Duration = Duration::from_millis(300);

/// The longest one race may take (the connector's overall timeout).
pub const RACE_TIMEOUT: Duration = Duration::from_secs(5);

/// A network scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Both protocols work on both families.
    BothWork,
    /// UDP dropped everywhere.
    UdpBlackHole,
    /// UDP answered with ICMP port unreachable everywhere.
    UdpRefused,
    /// The QUIC handshake over IPv6 stalls after its first datagrams.
    QuicStalls,
    /// TCP dropped everywhere; QUIC works.
    TcpBlackHole,
    /// Everything to the IPv6 address dropped, both protocols.
    V6BlackHole,
    /// The first datagrams of each QUIC flow held 400 ms (both families).
    SlowQuic,
}

/// Every scenario, in table order.
pub const SCENARIOS: [Scenario; 7] = [
    Scenario::BothWork,
    Scenario::UdpBlackHole,
    Scenario::UdpRefused,
    Scenario::QuicStalls,
    Scenario::TcpBlackHole,
    Scenario::V6BlackHole,
    Scenario::SlowQuic,
];

impl Scenario {
    /// The row's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::BothWork => "both work",
            Scenario::UdpBlackHole => "UDP black-holed",
            Scenario::UdpRefused => "UDP refused (ICMP port unreachable)",
            Scenario::QuicStalls => "QUIC handshake stalls (IPv6)",
            Scenario::TcpBlackHole => "TCP black-holed, QUIC fine",
            Scenario::V6BlackHole => "IPv6 black-holed, both protocols",
            Scenario::SlowQuic => "slow QUIC handshake (UDP +400 ms)",
        }
    }

    /// TCP behaviours of the IPv6 and IPv4 addresses.
    fn tcp(self) -> [Behavior; 2] {
        match self {
            Scenario::TcpBlackHole => [Behavior::BlackHole, Behavior::BlackHole],
            Scenario::V6BlackHole => [Behavior::BlackHole, Behavior::Accept],
            _ => [Behavior::Accept, Behavior::Accept],
        }
    }

    /// UDP behaviours of the IPv6 and IPv4 addresses (`None`: as the TCP one).
    fn udp(self) -> [Option<UdpBehavior>; 2] {
        let both = |b| [Some(b), Some(b)];
        match self {
            Scenario::BothWork | Scenario::V6BlackHole => [None, None],
            Scenario::UdpBlackHole => both(UdpBehavior::BlackHole),
            Scenario::UdpRefused => both(UdpBehavior::Refuse),
            Scenario::QuicStalls => [Some(UdpBehavior::Stall), None],
            Scenario::TcpBlackHole => both(UdpBehavior::Accept),
            Scenario::SlowQuic => both(UdpBehavior::Delay(Duration::from_millis(400))),
        }
    }

    /// Whether a TCP path works (the TCP-only contrast connects at all).
    pub fn tcp_works(self) -> bool {
        self != Scenario::TcpBlackHole
    }

    fn start_lab(self) -> Result<Lab, String> {
        let mut b = Lab::builder().port(PORT);
        for (addr, tcp) in [V6, V4].into_iter().zip(self.tcp()) {
            b = b.server(addr, tcp);
        }
        for (addr, udp) in [V6, V4].into_iter().zip(self.udp()) {
            if let Some(udp) = udp {
                b = b.udp(addr, udp);
            }
        }
        b.secure(Secure::default())
            .start()
            .map_err(|e| e.to_string())
    }
}

/// One straight path: a protocol to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    /// QUIC or TCP (TLS over TCP).
    pub protocol: Protocol,
    /// The server address.
    pub addr: IpAddr,
}

/// The four paths, in the race's order.
pub const PATHS: [Path; 4] = [
    Path {
        protocol: Protocol::Quic,
        addr: V6,
    },
    Path {
        protocol: Protocol::Tcp,
        addr: V4,
    },
    Path {
        protocol: Protocol::Quic,
        addr: V4,
    },
    Path {
        protocol: Protocol::Tcp,
        addr: V6,
    },
];

impl Path {
    /// `QUIC v6`, `TLS v4`.
    pub fn label(self) -> String {
        let protocol = match self.protocol {
            Protocol::Quic => "QUIC",
            _ => "TLS",
        };
        let family = if self.addr.is_ipv6() { "v6" } else { "v4" };
        format!("{protocol} {family}")
    }
}

/// How the races of one connector went.
#[derive(Debug, Clone, PartialEq)]
pub struct Races {
    /// Time to the usable connection (or to the error).
    pub summary: Summary,
    /// Races QUIC won.
    pub quic_won: usize,
    /// Races TCP won.
    pub tcp_won: usize,
}

impl Races {
    /// `QUIC 20/20`, `TCP 20/20`, `QUIC 3, TCP 17`.
    pub fn winners(&self) -> String {
        let n = self.summary.runs;
        match (self.quic_won, self.tcp_won) {
            (0, 0) => "none".to_owned(),
            (q, 0) => format!("QUIC {q}/{n}"),
            (0, t) => format!("TCP {t}/{n}"),
            (q, t) => format!("QUIC {q}, TCP {t} /{n}"),
        }
    }
}

/// One scenario's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRow {
    /// Which.
    pub scenario: Scenario,
    /// Each path's straight median, or why it does not work.
    pub paths: Vec<(Path, Result<Duration, String>)>,
    /// The QUIC + TCP races.
    pub raced: Result<Races, String>,
    /// The TCP-only races (`Err` with the reason when not run).
    pub tcp_only: Result<Races, String>,
}

impl ScenarioRow {
    /// The fastest working path and its median: the ideal.
    pub fn ideal(&self) -> Option<(Path, Duration)> {
        self.paths
            .iter()
            .filter_map(|(p, t)| t.as_ref().ok().map(|t| (*p, *t)))
            .min_by_key(|(_, t)| *t)
    }

    /// `races`' median over the ideal.
    pub fn ratio(&self, races: &Races) -> Option<f64> {
        let (_, ideal) = self.ideal()?;
        let ideal = ideal.as_secs_f64();
        (ideal > 0.0).then(|| races.summary.median.as_secs_f64() / ideal)
    }

    /// The QUIC race's median minus the TCP-only one's (ms): what QUIC costs (positive) or
    /// saves (negative).
    pub fn quic_minus_tcp_ms(&self) -> Option<f64> {
        let (q, t) = (self.raced.as_ref().ok()?, self.tcp_only.as_ref().ok()?);
        if !q.summary.all_connected() || !t.summary.all_connected() {
            return None;
        }
        Some((q.summary.median.as_secs_f64() - t.summary.median.as_secs_f64()) * 1e3)
    }
}

/// Measures every scenario: `races` races per connector, `ideal_connects` straight connects
/// per path.
pub fn run(races: usize, ideal_connects: usize) -> Vec<ScenarioRow> {
    SCENARIOS
        .iter()
        .enumerate()
        .map(|(i, &scenario)| {
            println!(
                "  [{}/{}] {} ({races} races each)",
                i + 1,
                SCENARIOS.len(),
                scenario.name()
            );
            let row = match scenario.start_lab() {
                Ok(lab) => measure(scenario, &lab, races, ideal_connects),
                Err(e) => {
                    let why = format!("the lab did not start: {e}");
                    ScenarioRow {
                        scenario,
                        paths: PATHS.iter().map(|p| (*p, Err(why.clone()))).collect(),
                        raced: Err(why.clone()),
                        tcp_only: Err(why),
                    }
                }
            };
            print_row(&row);
            row
        })
        .collect()
}

fn print_row(row: &ScenarioRow) {
    let paths: Vec<String> = row
        .paths
        .iter()
        .map(|(p, t)| match t {
            Ok(t) => format!("{} {:.2} ms", p.label(), t.as_secs_f64() * 1e3),
            Err(_) => format!("{} –", p.label()),
        })
        .collect();
    println!("    straight: {}", paths.join(", "));
    for (what, races) in [
        ("h3 + h2 race", &row.raced),
        ("TCP+TLS only", &row.tcp_only),
    ] {
        match races {
            Ok(r) => println!(
                "    {what:<13} median {:>8.2} ms  p90 {:>8.2} ms  {}/{} connected  {}  ×ideal {}{}",
                r.summary.median.as_secs_f64() * 1e3,
                r.summary.p90.as_secs_f64() * 1e3,
                r.summary.connected,
                r.summary.runs,
                r.winners(),
                row.ratio(r)
                    .map_or_else(|| "–".to_owned(), crate::report::fmt_ratio),
                r.summary
                    .error
                    .as_deref()
                    .map(|e| format!("  [{}]", crate::report::shorten(e, 80)))
                    .unwrap_or_default()
            ),
            Err(e) => println!("    {what:<13} not measured: {e}"),
        }
    }
}

fn measure(scenario: Scenario, lab: &Lab, races: usize, ideal_connects: usize) -> ScenarioRow {
    let fail = |why: String| ScenarioRow {
        scenario,
        paths: PATHS.iter().map(|p| (*p, Err(why.clone()))).collect(),
        raced: Err(why.clone()),
        tcp_only: Err(why),
    };
    let Some(ca) = lab.ca_der() else {
        return fail("the secure lab has no CA".to_owned());
    };
    let setup = (|| -> Result<_, String> {
        let roots = || servers::roots_of(ca.clone());
        let base = || {
            Connector::new()
                .resolver(StaticResolver::new().host(LAB_NAME, [V6, V4]))
                .timeout(RACE_TIMEOUT)
        };
        let delay = Duration::from_millis(super::cost::DEFAULT_DELAY_MS);
        Ok((
            servers::quinn_client(roots()?)?,
            Arc::new(servers::client_tls(roots()?, &TCP_ALPN)?),
            servers::secure_connector(base(), roots()?, true, delay)?,
            servers::secure_connector(base(), roots()?, false, delay)?,
        ))
    })();
    let (quinn, tls, raced, tcp_only) = match setup {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let tcp_works = scenario.tcp_works();
    let ran = lab.run_in_client(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        Ok::<_, String>(rt.block_on(async {
            // Warm-up: one connect per path (the servers' and the client's first-use
            // costs), not counted; a path that does not work costs WARMUP_TIMEOUT.
            for path in PATHS {
                let _ = tokio::time::timeout(WARMUP_TIMEOUT, straight(&quinn, &tls, path, 1)).await;
            }
            let mut paths = Vec::new();
            for path in PATHS {
                paths.push((path, straight(&quinn, &tls, path, ideal_connects).await));
            }
            let raced = race_n(&raced, races).await;
            let tcp_only = if tcp_works {
                race_n(&tcp_only, races).await
            } else {
                Err("no TCP path works: a TCP-only client never connects".to_owned())
            };
            (paths, raced, tcp_only)
        }))
    });
    match ran {
        Ok(Ok((paths, raced, tcp_only))) => ScenarioRow {
            scenario,
            paths,
            raced,
            tcp_only,
        },
        Ok(Err(e)) => fail(e),
        Err(e) => fail(e.to_string()),
    }
}

/// `n` straight connects over `path` (stopping at the first failure): their median.
async fn straight(
    quinn: &eyeballs::secure::quinn::ClientConfig,
    tls: &Arc<tokio_rustls::rustls::ClientConfig>,
    path: Path,
    n: usize,
) -> Result<Duration, String> {
    let peer = SocketAddr::new(path.addr, PORT);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let t0 = Instant::now();
        let attempt = async {
            match path.protocol {
                Protocol::Quic => connect::quic_direct(quinn, peer, LAB_NAME).await,
                _ => connect::tls_direct(tls, peer, LAB_NAME).await,
            }
        };
        let won = match tokio::time::timeout(IDEAL_TIMEOUT, attempt).await {
            Ok(Ok(won)) => won,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(format!("no handshake within {IDEAL_TIMEOUT:?}")),
        };
        times.push(t0.elapsed());
        won.close();
    }
    times.sort_unstable();
    median(&times).ok_or_else(|| "no connects".to_owned())
}

/// `n` races, one after the other.
async fn race_n(connector: &eyeballs::secure::SecureConnector, n: usize) -> Result<Races, String> {
    let mut samples = Vec::with_capacity(n);
    let (mut quic_won, mut tcp_won) = (0, 0);
    for _ in 0..n {
        let t0 = Instant::now();
        match connect::raced(connector, LAB_NAME, PORT, LAB_NAME).await {
            Ok(won) => {
                samples.push(Sample::ok(t0.elapsed()));
                match won.protocol {
                    Protocol::Quic => quic_won += 1,
                    _ => tcp_won += 1,
                }
                won.close();
            }
            Err(e) => samples.push(Sample::failed(t0.elapsed(), e)),
        }
    }
    let summary = Summary::of(&samples).ok_or_else(|| "no races".to_owned())?;
    Ok(Races {
        summary,
        quic_won,
        tcp_won,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ideal_is_the_fastest_working_path() {
        let ms = Duration::from_millis;
        let races = |median: u64, quic: usize| Races {
            summary: Summary::fixture(20, 20, [ms(median), ms(median), ms(median)], ""),
            quic_won: quic,
            tcp_won: 20 - quic,
        };
        let row = ScenarioRow {
            scenario: Scenario::SlowQuic,
            paths: vec![
                (PATHS[0], Ok(ms(400))),
                (PATHS[1], Ok(ms(2))),
                (PATHS[2], Err("timed out".into())),
                (PATHS[3], Ok(ms(3))),
            ],
            raced: Ok(races(252, 0)),
            tcp_only: Ok(races(2, 0)),
        };
        assert_eq!(row.ideal(), Some((PATHS[1], ms(2))));
        assert_eq!(row.ratio(row.raced.as_ref().unwrap()), Some(126.0));
        assert_eq!(row.quic_minus_tcp_ms(), Some(250.0));
        assert_eq!(races(1, 20).winners(), "QUIC 20/20");
        assert_eq!(races(1, 3).winners(), "QUIC 3, TCP 17 /20");
        assert_eq!(PATHS[2].label(), "QUIC v4");
    }

    #[test]
    fn every_scenario_but_tcp_black_holed_has_a_tcp_path() {
        assert_eq!(SCENARIOS.iter().filter(|s| !s.tcp_works()).count(), 1);
        assert_eq!(Scenario::V6BlackHole.udp(), [None, None]);
    }
}
