//! The network scenarios of the time-to-connect benchmark, each staged in the lab, and the
//! ideal time of each: when RFC 8305's schedule starts the first working address, plus that
//! address's handshake.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, Lab, LabError, RecordType};

use crate::stats;

/// The test name every contender resolves (through the lab's DNS server only).
pub const NAME: &str = "dual.test";
/// The port the lab's servers listen on.
pub const PORT: u16 = 8080;
/// The overall timeout of the all-black-holed scenario: each contender's own overall
/// timeout where it has one, else a wrapper around the call.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// The cap of every run in the other scenarios, applied the same way: long enough for
/// glibc's answer when AAAA is never answered (three 1 s tries with the lab's resolv.conf),
/// short enough to keep the benchmark bounded when a contender waits on a black hole.
pub const CAP: Duration = Duration::from_secs(5);
/// When a contender's first run takes at least this long, its other runs of that scenario
/// are started together: such runs only wait on kernel or resolver timers (a black hole, an
/// unanswered query), so running them at once does not change their times and keeps the
/// whole benchmark within its budget.
pub const LONG_RUN: Duration = Duration::from_millis(500);
/// The pause between two runs run one after the other.
pub const GAP: Duration = Duration::from_millis(10);

/// RFC 8305's Connection Attempt Delay (HE-5.7), the ideal schedule's step.
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);
/// RFC 8305's Resolution Delay (HE-3.6): how long to wait for AAAA once A has answered.
pub const RESOLUTION_DELAY: Duration = Duration::from_millis(50);
/// No two attempt starts closer than this (HE-5.10), failure-triggered ones included.
const FLOOR: Duration = Duration::from_millis(10);

/// The first IPv6 server address.
pub const V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
/// The IPv4 server address.
pub const V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// When the ideal schedule starts the first address that works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// This long after the answer that gives the address.
    After(Duration),
    /// As soon as the attempt to this address fails, but not within [`FLOOR`] of its start.
    AfterFailureOf(IpAddr),
    /// Nothing works: the clear error is due at [`TIMEOUT`].
    Timeout,
}

/// One network situation, staged in the lab.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// What the table calls it.
    pub name: &'static str,
    /// Every server address and how it behaves; the AAAA and A records list them in order.
    pub servers: Vec<(IpAddr, Behavior)>,
    /// How the AAAA query is answered (A is always answered at once).
    pub aaaa: DnsBehavior,
    /// The first address the ideal schedule reaches that works.
    pub first_working: Option<IpAddr>,
    /// When the ideal schedule starts it.
    pub start: Start,
    /// Part of `--quick`.
    pub quick: bool,
}

impl Scenario {
    /// The longest one run may take: [`TIMEOUT`] when nothing works, else [`CAP`].
    pub fn cap(&self) -> Duration {
        match self.start {
            Start::Timeout => TIMEOUT,
            _ => CAP,
        }
    }

    /// Whether a run is meant to connect (false: a clear error is the right outcome).
    pub fn should_connect(&self) -> bool {
        self.first_working.is_some()
    }

    /// The lab for this scenario.
    pub fn start_lab(&self) -> Result<Lab, LabError> {
        let mut records = DnsRecords::default();
        let mut builder = Lab::builder().port(PORT);
        for &(addr, behavior) in &self.servers {
            builder = builder.server(addr, behavior);
            match addr {
                IpAddr::V6(a) => records.aaaa.push(a),
                IpAddr::V4(a) => records.a.push(a),
            }
        }
        builder
            .dns(NAME, records)
            .dns_behavior(NAME, RecordType::Aaaa, self.aaaa)
            .start()
    }
}

/// Every scenario of the issue, in the order of the tables.
pub fn all() -> Vec<Scenario> {
    use Behavior::*;
    let v4 = IpAddr::V4(V4);
    let v6a = IpAddr::V6(V6);
    let answer = DnsBehavior::answer();
    let scenario = |name, servers: Vec<(IpAddr, Behavior)>, first, start, quick| Scenario {
        name,
        servers,
        aaaa: answer,
        first_working: first,
        start,
        quick,
    };
    vec![
        scenario(
            "both families fine",
            vec![(v6a, Accept), (v4, Accept)],
            Some(v6a),
            Start::After(Duration::ZERO),
            true,
        ),
        scenario(
            "IPv6 black hole",
            vec![(v6a, BlackHole), (v4, Accept)],
            Some(v4),
            Start::After(ATTEMPT_DELAY),
            true,
        ),
        scenario(
            "IPv6 refused",
            vec![(v6a, Refuse), (v4, Accept)],
            Some(v4),
            Start::AfterFailureOf(v6a),
            false,
        ),
        scenario(
            "IPv6 unreachable",
            vec![(v6a, Unreachable), (v4, Accept)],
            Some(v4),
            Start::AfterFailureOf(v6a),
            false,
        ),
        scenario(
            "IPv6 delayed 300 ms",
            vec![(v6a, Delay(ms(300))), (v4, Accept)],
            Some(v4),
            Start::After(ATTEMPT_DELAY),
            false,
        ),
        scenario(
            "IPv6 delayed 100 ms, IPv4 delayed 300 ms",
            vec![(v6a, Delay(ms(100))), (v4, Delay(ms(300)))],
            Some(v6a),
            Start::After(Duration::ZERO),
            false,
        ),
        Scenario {
            aaaa: DnsBehavior::answer_after(ms(200)),
            ..scenario(
                "AAAA answered after 200 ms",
                vec![(v6a, Accept), (v4, Accept)],
                Some(v4),
                Start::After(RESOLUTION_DELAY),
                false,
            )
        },
        Scenario {
            aaaa: DnsBehavior::never(),
            ..scenario(
                "AAAA never answered",
                vec![(v6a, Accept), (v4, Accept)],
                Some(v4),
                Start::After(RESOLUTION_DELAY),
                true,
            )
        },
        scenario(
            "three IPv6 black-holed before one IPv4",
            vec![
                (v6a, BlackHole),
                (v6(0x11), BlackHole),
                (v6(0x12), BlackHole),
                (v4, Accept),
            ],
            Some(v4),
            Start::After(ATTEMPT_DELAY),
            false,
        ),
        scenario(
            "all black-holed (3 s timeout)",
            vec![(v6a, BlackHole), (v4, BlackHole)],
            None,
            Start::Timeout,
            true,
        ),
    ]
}

/// The ideal time to connect in a scenario, measured in its lab.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ideal {
    /// A query to the lab's DNS server and its answer.
    pub dns: Duration,
    /// When the schedule starts the first working address, from the first answer.
    pub start: Duration,
    /// That address's handshake (a plain connect to it).
    pub handshake: Duration,
    /// dns + start + handshake; the timeout when nothing works.
    pub total: Duration,
}

/// How many times each part of the ideal is measured (the median is kept).
const IDEAL_PROBES: usize = 5;

/// Measures the ideal of `scenario` in `lab` from the client namespace.
pub fn measure_ideal(scenario: &Scenario, lab: &Lab) -> Result<Ideal, String> {
    let s = scenario.clone();
    let dns_server = lab.dns_server_v4();
    lab.run_in_client(move || -> Result<Ideal, String> {
        let dns = median_of(|| dns_query_time(dns_server, NAME, RecordType::A))?;
        let start = match s.start {
            Start::After(d) => d,
            Start::AfterFailureOf(ip) => {
                median_of(|| failure_time(SocketAddr::new(ip, PORT)))?.max(FLOOR)
            }
            Start::Timeout => TIMEOUT,
        };
        let handshake = match s.first_working {
            Some(ip) => median_of(|| handshake_time(SocketAddr::new(ip, PORT)))?,
            None => Duration::ZERO,
        };
        let total = match s.start {
            Start::Timeout => TIMEOUT,
            _ => dns + start + handshake,
        };
        Ok(Ideal {
            dns,
            start,
            handshake,
            total,
        })
    })
    .map_err(|e| format!("measuring the ideal: {e}"))?
}

pub fn median_of(mut probe: impl FnMut() -> Result<Duration, String>) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(IDEAL_PROBES);
    for _ in 0..IDEAL_PROBES {
        times.push(probe()?);
        std::thread::sleep(GAP);
    }
    times.sort_unstable();
    stats::median(&times).ok_or_else(|| "no probe ran".to_owned())
}

/// One query for `name` and `record` to the lab's DNS server (over its family), until its
/// answer.
pub fn dns_query_time(
    server: SocketAddr,
    name: &str,
    record: RecordType,
) -> Result<Duration, String> {
    let any: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let query = eyeballs_lab::dns::build_query(0x6262, name, record);
    let t0 = Instant::now();
    socket.send_to(&query, server).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 512];
    loop {
        let n = socket
            .recv(&mut buf)
            .map_err(|e| format!("DNS probe: {e}"))?;
        let reply = buf.get(..n).and_then(eyeballs_lab::dns::parse_response);
        if reply.is_some_and(|r| r.id == 0x6262) {
            return Ok(t0.elapsed());
        }
    }
}

/// A plain connect to `addr`, until it is established.
pub fn handshake_time(addr: SocketAddr) -> Result<Duration, String> {
    let t0 = Instant::now();
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("handshake probe to {addr}: {e}"))?;
    let elapsed = t0.elapsed();
    drop(stream);
    Ok(elapsed)
}

/// A plain connect to `addr`, until it fails.
fn failure_time(addr: SocketAddr) -> Result<Duration, String> {
    let t0 = Instant::now();
    match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(_) => Err(format!("{addr} was meant to fail but connected")),
        Err(_) => Ok(t0.elapsed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_the_issues_ten_with_quick_subset() {
        let all = all();
        assert_eq!(all.len(), 10);
        assert_eq!(all.iter().filter(|s| s.quick).count(), 4);
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 10, "names are unique");
        for s in &all {
            if let Some(first) = s.first_working {
                assert!(s.servers.iter().any(|(a, _)| *a == first), "{}", s.name);
            }
            for (addr, _) in &s.servers {
                let in_lab = match addr {
                    IpAddr::V4(a) => a.octets()[0] == 198 && (a.octets()[1] & 0xfe) == 18,
                    IpAddr::V6(a) => a.segments()[..2] == [0x2001, 0xdb8],
                };
                assert!(in_lab, "{addr} is outside the lab's ranges");
            }
        }
        let last = all.last().unwrap();
        assert!(!last.should_connect());
        assert_eq!(last.start, Start::Timeout);
    }
}
