//! The one mapping from a race's [`eyeballs::Error`] to the exceptions Python code already
//! catches from `socket.create_connection` (CPython 3.11's `Lib/socket.py`):
//!
//! | the race | exception |
//! |---|---|
//! | every attempt failed | the `OSError` of the attempt that ended last (errno and `os.strerror` text: `ConnectionRefusedError(111, 'Connection refused')` …), as CPython raises the last address's error |
//! | … with `all_errors=True` | `ExceptionGroup("create_connection failed", [each attempt's OSError, in start order])` |
//! | the timeout ran out | `TimeoutError('timed out')` (with `all_errors=True` and attempts made: the group, an attempt stopped by the timeout counting as `TimeoutError('timed out')`) |
//! | a name that does not exist (NXDOMAIN), or an invalid host name | `socket.gaierror(EAI_NONAME, 'Name or service not known')` |
//! | resolution failed (SERVFAIL, resolver error or timeout) | `socket.gaierror(EAI_AGAIN, 'Temporary failure in name resolution')` |
//! | the name has no address (NODATA) | `socket.gaierror(EAI_NODATA, 'No address associated with hostname')` |
//! | addresses, but none of a family allowed | `OSError('getaddrinfo returns an empty list')` |
//! | port 0 | `ConnectionRefusedError(ECONNREFUSED)`, what the kernel answers a connect to port 0 |
//! | an invalid configuration value | `ValueError` |
//!
//! Every exception of a race that ran carries its [`Report`] as `.report`.

use std::io;

use eyeballs::proto::{SetupError, TargetError};
use eyeballs::{AttemptEnd, AttemptSummary, DnsOutcome, ErrorKind};
use pyo3::exceptions::{PyOSError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::report::Report;

/// CPython's message for a connect that ran out of time (`socket.timeout`).
const TIMED_OUT: &str = "timed out";

/// The message of the group raised with `all_errors=True`, as CPython's.
const GROUP_MESSAGE: &str = "create_connection failed";

/// The exception for a race that failed with `error`, carrying its report as `.report`.
pub(crate) fn race_error(py: Python<'_>, error: &eyeballs::Error, all_errors: bool) -> PyErr {
    let exception = match exception(py, error, all_errors) {
        Ok(exception) => exception,
        Err(e) => return e,
    };
    if let Some(report) = error.report() {
        if let Err(e) = exception.setattr("report", Report::new(report.clone())) {
            return e;
        }
    }
    PyErr::from_value(exception)
}

/// The exception object (table in the module docs).
fn exception<'py>(
    py: Python<'py>,
    error: &eyeballs::Error,
    all_errors: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let report = error.report();
    let attempts: Vec<AttemptSummary<'_>> =
        report.map(|r| r.attempts().collect()).unwrap_or_default();
    match error.kind() {
        ErrorKind::InvalidInput => invalid_input(py, error),
        ErrorKind::NoAddresses => {
            let queries: Vec<_> = report.map(|r| r.queries().collect()).unwrap_or_default();
            if queries.iter().any(|q| !q.addresses.is_empty()) {
                return os_error_text(py, "getaddrinfo returns an empty list");
            }
            let outcomes: Vec<Option<DnsOutcome>> = queries.iter().map(|q| q.outcome).collect();
            gai_error(py, &outcomes)
        }
        ErrorKind::AllAttemptsFailed | ErrorKind::TimedOut
            if all_errors && !attempts.is_empty() =>
        {
            group(py, &attempts)
        }
        ErrorKind::AllAttemptsFailed => {
            // The attempt that ended last decided the race: CPython's "last error".
            let last = attempts
                .iter()
                .enumerate()
                .max_by_key(|(i, a)| (a.ended, *i))
                .map(|(_, a)| a);
            match last {
                Some(a) => attempt_error(py, a),
                None => os_error_text(py, &error.to_string()),
            }
        }
        ErrorKind::TimedOut => timeout_error(py),
        _ => os_error_text(py, &error.to_string()),
    }
}

/// The caller's mistake, as CPython reports the same input.
fn invalid_input<'py>(py: Python<'py>, error: &eyeballs::Error) -> PyResult<Bound<'py, PyAny>> {
    match error.setup_error() {
        Some(SetupError::Target(TargetError::PortZero)) => os_error(py, errno(py, "ECONNREFUSED")?),
        Some(SetupError::Target(
            TargetError::EmptyHost
            | TargetError::InvalidHost { .. }
            | TargetError::ZoneName { .. }
            | TargetError::NoAddressOfFamily,
        )) => gai_error(py, &[Some(DnsOutcome::NxDomain)]),
        _ => Ok(PyValueError::new_err(error.to_string())
            .into_value(py)
            .into_bound(py)
            .into_any()),
    }
}

/// `socket.gaierror` for a resolution whose queries ended so (module docs): NXDOMAIN first,
/// then a failure, else no data.
fn gai_error<'py>(py: Python<'py>, outcomes: &[Option<DnsOutcome>]) -> PyResult<Bound<'py, PyAny>> {
    let (name, text) = if outcomes.contains(&Some(DnsOutcome::NxDomain)) {
        ("EAI_NONAME", "Name or service not known")
    } else if outcomes
        .iter()
        .any(|o| !matches!(o, Some(DnsOutcome::NoData) | Some(DnsOutcome::Cancelled)))
    {
        ("EAI_AGAIN", "Temporary failure in name resolution")
    } else {
        ("EAI_NODATA", "No address associated with hostname")
    };
    let socket = py.import("socket")?;
    // EAI_NODATA is not defined everywhere; EAI_NONAME is.
    let code = match socket.getattr(name) {
        Ok(code) => code,
        Err(_) => socket.getattr("EAI_NONAME")?,
    };
    socket.getattr("gaierror")?.call1((code, text))
}

/// The exception one failed attempt stands for.
fn attempt_error<'py>(py: Python<'py>, a: &AttemptSummary<'_>) -> PyResult<Bound<'py, PyAny>> {
    match (a.error, a.end) {
        (Some(e), _) => io_error(py, e),
        (None, Some(AttemptEnd::Failed(_))) => {
            os_error_text(py, &format!("connect to {} failed", a.endpoint))
        }
        // The attempt timeout, or stopped when the overall timeout ran out.
        (None, _) => timeout_error(py),
    }
}

/// An OS error as CPython raises it: `OSError(errno, os.strerror(errno))`, which Python makes
/// the fitting subclass (`ConnectionRefusedError` …); `TimeoutError('timed out')` for a
/// timeout without an errno; else `OSError(message)`.
fn io_error<'py>(py: Python<'py>, e: &io::Error) -> PyResult<Bound<'py, PyAny>> {
    match e.raw_os_error() {
        Some(code) => os_error(py, code),
        None if e.kind() == io::ErrorKind::TimedOut => timeout_error(py),
        None => os_error_text(py, &e.to_string()),
    }
}

/// `OSError(code, os.strerror(code))`.
fn os_error(py: Python<'_>, code: i32) -> PyResult<Bound<'_, PyAny>> {
    let text = py.import("os")?.getattr("strerror")?.call1((code,))?;
    py.get_type::<PyOSError>().call1((code, text))
}

/// `OSError(text)`, with no errno.
fn os_error_text<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.get_type::<PyOSError>().call1((text,))
}

/// `TimeoutError('timed out')`.
fn timeout_error(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.get_type::<PyTimeoutError>().call1((TIMED_OUT,))
}

/// The value of `errno.NAME`.
fn errno(py: Python<'_>, name: &str) -> PyResult<i32> {
    py.import("errno")?.getattr(name)?.extract()
}

/// `ExceptionGroup("create_connection failed", [each attempt's error])`: the builtin (3.11+),
/// else the `exceptiongroup` backport if installed, else (3.9, 3.10 without it) the error of
/// the attempt that ended last, as without `all_errors`.
fn group<'py>(py: Python<'py>, attempts: &[AttemptSummary<'_>]) -> PyResult<Bound<'py, PyAny>> {
    let errors = attempts
        .iter()
        .map(|a| attempt_error(py, a))
        .collect::<PyResult<Vec<_>>>()?;
    let class = match py.import("builtins")?.getattr("ExceptionGroup") {
        Ok(class) => Some(class),
        Err(_) => py
            .import("exceptiongroup")
            .and_then(|m| m.getattr("ExceptionGroup"))
            .ok(),
    };
    match class {
        Some(class) => class.call1((GROUP_MESSAGE, PyList::new(py, errors)?)),
        None => {
            let last = attempts
                .iter()
                .enumerate()
                .max_by_key(|(i, a)| (a.ended, *i))
                .map(|(i, _)| i)
                .unwrap_or_default();
            match errors.into_iter().nth(last) {
                Some(e) => Ok(e),
                None => timeout_error(py),
            }
        }
    }
}
