//! Running races inside the network lab (root): each race runs on a current-thread tokio
//! runtime on a thread inside the lab's client namespace, and comes back as a summary.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use eyeballs::{AttemptEnd, Connection, Connector, Error, ErrorKind};
use eyeballs_lab::{Behavior, Lab, LabBuilder};

/// Server addresses used by the scenarios.
pub const V6A: &str = "2001:db8::10";
pub const V6B: &str = "2001:db8::11";
pub const V4A: &str = "198.18.0.10";
pub const V4B: &str = "198.18.0.11";
pub const PORT: u16 = 8080;

#[allow(unused_imports)] // Not every test crate uses both.
pub use super::common::{assert_near, SLACK};

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn sock(s: &str) -> SocketAddr {
    SocketAddr::new(ip(s), PORT)
}

/// A lab with these servers on [`PORT`], or `None` (after a skip message) without root.
pub fn lab(test: &str, servers: &[(&str, Behavior)]) -> Option<Lab> {
    lab_with(test, servers, |b| b)
}

/// As [`lab`], with more set-up (DNS names, ports).
pub fn lab_with(
    test: &str,
    servers: &[(&str, Behavior)],
    more: impl FnOnce(LabBuilder) -> LabBuilder,
) -> Option<Lab> {
    if !eyeballs_lab::require_root(test) {
        return None;
    }
    let mut b = Lab::builder().port(PORT);
    for (addr, behavior) in servers {
        b = b.server(ip(addr), *behavior);
    }
    Some(more(b).start().expect("lab starts"))
}

/// What a race did, as plain data that can leave the client thread.
#[derive(Debug)]
pub struct Ran {
    /// Wall-clock time of the whole call.
    pub elapsed: Duration,
    pub winner: Option<SocketAddr>,
    /// Each attempt: address, start offset, how it ended.
    pub attempts: Vec<(SocketAddr, Duration, Option<AttemptEnd>)>,
    pub error: Option<(ErrorKind, String, std::io::ErrorKind)>,
}

impl Ran {
    pub fn starts(&self) -> Vec<(SocketAddr, Duration)> {
        self.attempts.iter().map(|a| (a.0, a.1)).collect()
    }

    /// Asserts the attempts' addresses in start order, and each start within [`SLACK`] of
    /// its scheduled offset.
    #[track_caller]
    pub fn assert_schedule(&self, expected: &[(SocketAddr, u64)]) {
        let got: Vec<SocketAddr> = self.attempts.iter().map(|a| a.0).collect();
        let want: Vec<SocketAddr> = expected.iter().map(|e| e.0).collect();
        assert_eq!(got, want, "attempt order ({self:?})");
        for ((addr, start, _), (_, at)) in self.attempts.iter().zip(expected) {
            assert_near(
                *start,
                Duration::from_millis(*at),
                &format!("start of {addr}"),
            );
        }
    }
}

fn summarize(result: Result<Connection, Error>, elapsed: Duration) -> Ran {
    let (report, error) = match result {
        Ok(c) => (Some(c.report().clone()), None),
        Err(e) => {
            let report = e.report().cloned();
            let io_kind = e.io_kind();
            (report, Some((e.kind(), e.to_string(), io_kind)))
        }
    };
    Ran {
        elapsed,
        winner: report.as_ref().and_then(|r| r.winner()),
        attempts: report
            .as_ref()
            .map(|r| {
                r.attempts()
                    .map(|a| (a.endpoint.addr, a.started, a.end))
                    .collect()
            })
            .unwrap_or_default(),
        error,
    }
}

/// Runs `race` (given a connector) in the lab's client namespace and summarizes it.
pub fn run<F, Fut>(lab: &Lab, connector: Connector, race: F) -> Ran
where
    F: FnOnce(Connector) -> Fut + Send,
    Fut: std::future::Future<Output = Result<Connection, Error>>,
{
    lab.run_in_client(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let t0 = tokio::time::Instant::now();
            let result = race(connector).await;
            summarize(result, t0.elapsed())
        })
    })
    .expect("runs in the client namespace")
}

/// Polls `f` until it holds or a second passes (the lab's server-side counters lag a little).
pub fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not happen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
