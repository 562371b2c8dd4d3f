//! Time to connect per network scenario in the lab (root), against the ideal: the scheduled
//! start of the first working address plus its handshake time. Prints medians, p90 and max
//! over 20 runs of each scenario.
//!
//! Run as root: `cargo bench -p eyeballs --features hickory --bench lab_scenarios`.
#![allow(missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use eyeballs::resolver::HickoryResolver;
use eyeballs::Connector;
use eyeballs_lab::{Behavior, DnsBehavior, DnsRecords, Lab, RecordType};

const RUNS: usize = 20;
const PORT: u16 = 8080;
const NAME: &str = "dual.test";

struct Scenario {
    name: &'static str,
    v6: Behavior,
    v4: Behavior,
    aaaa: DnsBehavior,
    ideal: Duration,
    timeout: Option<Duration>,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn v6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10))
}

fn v4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, 10))
}

fn scenarios() -> Vec<Scenario> {
    use Behavior::*;
    let answer = DnsBehavior::answer();
    vec![
        Scenario {
            name: "both families fine",
            v6: Accept,
            v4: Accept,
            aaaa: answer,
            ideal: ms(0),
            timeout: None,
        },
        Scenario {
            name: "IPv6 black hole",
            v6: BlackHole,
            v4: Accept,
            aaaa: answer,
            ideal: ms(250),
            timeout: None,
        },
        Scenario {
            name: "IPv6 refused",
            v6: Refuse,
            v4: Accept,
            aaaa: answer,
            ideal: ms(10),
            timeout: None,
        },
        Scenario {
            name: "IPv6 unreachable",
            v6: Unreachable,
            v4: Accept,
            aaaa: answer,
            ideal: ms(10),
            timeout: None,
        },
        Scenario {
            name: "IPv6 delayed 300 ms",
            v6: Delay(ms(300)),
            v4: Accept,
            aaaa: answer,
            ideal: ms(250),
            timeout: None,
        },
        Scenario {
            name: "IPv6 100 ms, IPv4 300 ms",
            v6: Delay(ms(100)),
            v4: Delay(ms(300)),
            aaaa: answer,
            ideal: ms(100),
            timeout: None,
        },
        Scenario {
            name: "AAAA after 200 ms",
            v6: Accept,
            v4: Accept,
            aaaa: DnsBehavior::answer_after(ms(200)),
            ideal: ms(50),
            timeout: None,
        },
        Scenario {
            name: "AAAA never answered",
            v6: Accept,
            v4: Accept,
            aaaa: DnsBehavior::never(),
            ideal: ms(50),
            timeout: None,
        },
        Scenario {
            name: "all black-holed (3 s timeout)",
            v6: BlackHole,
            v4: BlackHole,
            aaaa: answer,
            ideal: ms(3000),
            timeout: Some(ms(3000)),
        },
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if !eyeballs_lab::require_root("lab_scenarios bench") {
        return;
    }
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "scenario", "ideal", "median", "p90", "max", "ratio"
    );
    for s in scenarios() {
        let lab = Lab::builder()
            .port(PORT)
            .server(v6(), s.v6)
            .server(v4(), s.v4)
            .dns(
                NAME,
                DnsRecords {
                    aaaa: vec![Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)],
                    a: vec![Ipv4Addr::new(198, 18, 0, 10)],
                },
            )
            .dns_behavior(NAME, RecordType::Aaaa, s.aaaa)
            .start()
            .expect("lab starts");
        let dns: SocketAddr = lab.dns_server_v4();
        let timeout = s.timeout;
        let mut times = lab
            .run_in_client(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let mut connector =
                        Connector::new().resolver(HickoryResolver::new([dns]).attempts(1));
                    if let Some(t) = timeout {
                        connector = connector.timeout(t);
                    }
                    let mut times = Vec::with_capacity(RUNS);
                    for _ in 0..RUNS {
                        let t0 = Instant::now();
                        let result = connector.connect(NAME, PORT).await;
                        times.push(t0.elapsed());
                        drop(result);
                    }
                    times
                })
            })
            .expect("runs in the client namespace");
        times.sort();
        let median = percentile(&times, 0.5);
        println!(
            "{:<32} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.3}",
            s.name,
            s.ideal.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            percentile(&times, 0.9).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            if s.ideal.is_zero() {
                f64::NAN
            } else {
                median.as_secs_f64() / s.ideal.as_secs_f64()
            },
        );
    }
}
