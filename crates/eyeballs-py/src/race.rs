//! One race, run for Python: the connector built from the arguments, the race run with the
//! GIL released, Ctrl-C honoured, and the winner handed over as a raw descriptor.
//!
//! # Waiting, and Ctrl-C
//!
//! The race is the blocking driver's ([`eyeballs::blocking::Connector`]), run on the calling
//! thread with the GIL released: no runtime, no thread of its own for an IP literal (a DNS
//! query gets a thread, as in the blocking driver). Its interruption check
//! ([`interrupt_check`](eyeballs::blocking::Connector::interrupt_check)) takes the GIL back
//! and runs Python's pending signal handlers (`PyErr_CheckSignals`) whenever a signal
//! interrupts the race's wait (Python installs its handlers without `SA_RESTART`) and at
//! least every [`SIGNAL_CHECK_INTERVAL`] (a signal delivered to another thread interrupts
//! nothing here). When a handler raises (`KeyboardInterrupt` from Ctrl-C, or any exception
//! from a handler of the caller's), the race ends at once, every attempt aborted and every
//! socket closed, and that exception propagates: nothing is left open or running but DNS
//! lookups already inside `getaddrinfo`, which hold no descriptor of the race.
//!
//! # One connector for the process
//!
//! Every call starts from one connector made at the first call (a clone is a few reference
//! counts), so that calls share what a connector learns: the source addresses probed for
//! RFC 6724 sorting, cached for a few seconds, and its history store (a path that stalled no
//! longer leads the next connection to the host; `start_connection` shares the same store).
//! The call's arguments change the clone only.
//!
//! # The winner's descriptor
//!
//! The winning stream is in blocking mode (what `socket.socket` expects of a descriptor when
//! no timeout is set; `settimeout` sets its own mode) and is released from Rust ownership
//! (`into_raw_fd`): from then on only the Python socket made from it closes it.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::IntoRawFd;
use std::sync::OnceLock;
use std::time::Duration;

use eyeballs::blocking::Connector;
use eyeballs::resolver::StaticResolver;
use eyeballs::{Connection, ErrorKind, FamilyPreference};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors;
use crate::report::Report;

/// How long the GIL stays released at most before Python's pending signals are checked
/// again, when no signal interrupts the wait: the longest a Ctrl-C delivered to another
/// thread waits before it cancels a race.
pub(crate) const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// The connector every call starts from (module docs).
fn base() -> &'static Connector {
    static BASE: OnceLock<Connector> = OnceLock::new();
    BASE.get_or_init(|| {
        Connector::new().interrupt_check(SIGNAL_CHECK_INTERVAL, || {
            Python::attach(|py| py.check_signals())
        })
    })
}

/// The history store of the process: the base connector's, shared with every asyncio race.
pub(crate) fn history_store() -> Option<&'static eyeballs::history::HistoryStore> {
    base().history_store()
}

/// Forgets what the process's history store remembers (every call's: `create_connection`,
/// `start_connection`, `patch()`ed clients): the next connection to each host pays the
/// fallback again. The store also forgets by itself when the network changes.
#[pyfunction]
pub(crate) fn flush_history() {
    if let Some(store) = history_store() {
        store.flush();
    }
}

/// What to connect to.
enum Destination {
    /// A host name or IP literal, resolved by the connector.
    Host(String, u16),
    /// Addresses known already.
    Addrs(Vec<SocketAddr>),
}

/// Races connections to `host` on `port` (the Python package's `connect` calls this with
/// arguments it has checked) and returns the winner's descriptor, its address family and
/// the report.
///
/// - `host`: a name or an IP literal; `None` is the local host (`::1` and `127.0.0.1`, as
///   `getaddrinfo(None, port)` gives).
/// - `timeout`: seconds for the whole call (resolution included); `None`: no limit
///   (`Config::overall_timeout`, checklist D4).
/// - `attempt_delay`: the Connection Attempt Delay in seconds (HE-5.7; the caller's default
///   is `DEFAULT_ATTEMPT_DELAY`, 0.25); `None`: one attempt after another, the next when the
///   previous fails.
/// - `resolution_delay`: seconds (HE-3.6); `None`: the default, 0.05.
/// - `interleave`: the First Address Family Count (HE-4.8); `None`: the default, 1.
/// - `family`: `socket.AF_UNSPEC` (both, IPv6 first, HE-2.2), `AF_INET` or `AF_INET6` only.
/// - `source_ips`, `source_port`: the local address to bind each socket to (the first of the
///   destination's family); no IPs and port 0: the OS chooses.
/// - `hosts`: a static table of names and their addresses instead of the system resolver.
/// - `all_errors`: on failure, raise an `ExceptionGroup` of every attempt's error.
///
/// # Errors
/// `ValueError` for an invalid value (a delay below 10 ms, HE-5.10, for one); otherwise the
/// exception [`errors::race_error`] maps the race's failure to; or the exception a signal
/// handler raised.
#[pyfunction]
#[pyo3(signature = (
    host, port, timeout=None, attempt_delay=None, resolution_delay=None, interleave=None,
    family=0, source_ips=Vec::new(), source_port=0, hosts=None, all_errors=false
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn race(
    py: Python<'_>,
    host: Option<String>,
    port: u16,
    timeout: Option<f64>,
    attempt_delay: Option<f64>,
    resolution_delay: Option<f64>,
    interleave: Option<usize>,
    family: i32,
    source_ips: Vec<String>,
    source_port: u16,
    hosts: Option<Vec<(String, Vec<String>)>>,
    all_errors: bool,
) -> PyResult<(i32, i32, Report)> {
    let mut connector = base().clone();
    if let Some(timeout) = timeout {
        connector = connector.timeout(seconds("timeout", timeout)?);
    }
    connector = connector.attempt_delay(match attempt_delay {
        Some(delay) => seconds("happy_eyeballs_delay", delay)?,
        // Config::connection_attempt_delay: "Duration::MAX means the next attempt starts only
        // when an earlier one fails".
        None => Duration::MAX,
    });
    if let Some(delay) = resolution_delay {
        connector = connector.resolution_delay(seconds("resolution_delay", delay)?);
    }
    if let Some(count) = interleave {
        connector = connector.first_address_family_count(count);
    }
    connector = connector.family(family_preference(family)?);
    connector = bind_source(connector, &source_ips, source_port)?;
    if let Some(hosts) = hosts {
        connector = connector.resolver(static_resolver(hosts)?);
    }
    let destination = match host {
        Some(host) => Destination::Host(host, port),
        None => Destination::Addrs(vec![
            SocketAddr::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), port),
            SocketAddr::new(IpAddr::from([127u8, 0, 0, 1]), port),
        ]),
    };
    match run(py, connector, destination)? {
        Ok(connection) => hand_over(connection),
        Err(error) => Err(errors::race_error(py, &error, all_errors)),
    }
}

/// Runs the race on this thread with the GIL released (module docs).
///
/// # Errors
/// A signal handler raised: the race was cancelled, every socket closed.
fn run(
    py: Python<'_>,
    connector: Connector,
    destination: Destination,
) -> PyResult<Result<Connection<TcpStream>, eyeballs::Error>> {
    let result = py.detach(|| match destination {
        Destination::Host(host, port) => connector.connect(&host, port),
        Destination::Addrs(addrs) => connector.connect_addrs(addrs),
    });
    match result {
        Err(e) if e.kind() == ErrorKind::Interrupted => {
            // The interruption check returns only what `check_signals` raised.
            match e.interruption().and_then(|why| why.downcast_ref::<PyErr>()) {
                Some(raised) => Err(raised.clone_ref(py)),
                None => Ok(Err(e)),
            }
        }
        other => Ok(other),
    }
}

/// The winner as Python gets it: its descriptor, in blocking mode and no longer owned by
/// Rust, its address family (`AF_INET6` or `AF_INET`, so that `socket.socket` need not ask
/// the kernel), and the report.
fn hand_over(connection: Connection<TcpStream>) -> PyResult<(i32, i32, Report)> {
    use eyeballs::socket2::Domain;
    let (stream, report) = connection.into_parts();
    let domain = match report.winner() {
        Some(addr) if addr.is_ipv6() => Domain::IPV6,
        _ => Domain::IPV4,
    };
    Ok((stream.into_raw_fd(), i32::from(domain), Report::new(report)))
}

/// `value` seconds as a duration, for argument `name`.
///
/// # Errors
/// `ValueError` for a negative, NaN or infinite value, or one too large for a duration.
pub(crate) fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must be a finite number of seconds >= 0, not {value}"
        ))
    })
}

/// The family preference for a `socket` address family constant.
///
/// # Errors
/// `ValueError` for any other family.
pub(crate) fn family_preference(family: i32) -> PyResult<FamilyPreference> {
    use eyeballs::socket2::Domain;
    if family == 0 {
        // AF_UNSPEC: both families, the default preference (HE-2.2).
        Ok(FamilyPreference::default())
    } else if family == i32::from(Domain::IPV4) {
        Ok(FamilyPreference::Ipv4Only)
    } else if family == i32::from(Domain::IPV6) {
        Ok(FamilyPreference::Ipv6Only)
    } else {
        Err(PyValueError::new_err(format!(
            "family must be AF_UNSPEC, AF_INET or AF_INET6, not {family}"
        )))
    }
}

/// Binds each socket to the caller's source address, as `socket.create_connection`'s
/// `source_address` does: to the first IP of the destination's family (an attempt to a
/// family with none fails), on `port` (0: any port). No IPs and port 0: no binding.
///
/// # Errors
/// `ValueError` for an IP that does not parse.
fn bind_source(connector: Connector, ips: &[String], port: u16) -> PyResult<Connector> {
    let ips = ips
        .iter()
        .map(|ip| {
            ip.parse::<IpAddr>()
                .map_err(|_| PyValueError::new_err(format!("invalid source address {ip:?}")))
        })
        .collect::<PyResult<Vec<IpAddr>>>()?;
    if port == 0 {
        return Ok(if ips.is_empty() {
            connector
        } else {
            connector.local_addrs(ips)
        });
    }
    // A fixed source port: the connector's local addresses bind to port 0, so this binding
    // is done by the socket hook instead. No IPs: the unspecified address of each family.
    Ok(connector.on_socket(move |socket, dest| {
        let ip = if ips.is_empty() {
            Some(if dest.is_ipv6() {
                IpAddr::from([0u16; 8])
            } else {
                IpAddr::from([0u8; 4])
            })
        } else {
            ips.iter()
                .copied()
                .find(|ip| ip.is_ipv6() == dest.is_ipv6())
        };
        match ip {
            Some(ip) => socket.bind(&SocketAddr::new(ip, port).into()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!("no source address of the family of {dest}"),
            )),
        }
    }))
}

/// A resolver answering from the caller's table of names and addresses.
///
/// # Errors
/// `ValueError` for an address that does not parse.
pub(crate) fn static_resolver(hosts: Vec<(String, Vec<String>)>) -> PyResult<StaticResolver> {
    let mut resolver = StaticResolver::new();
    for (name, ips) in hosts {
        let ips = ips
            .iter()
            .map(|ip| {
                ip.parse::<IpAddr>().map_err(|_| {
                    PyValueError::new_err(format!("invalid address {ip:?} for host {name:?}"))
                })
            })
            .collect::<PyResult<Vec<IpAddr>>>()?;
        resolver = resolver.host(&name, ips);
    }
    Ok(resolver)
}
