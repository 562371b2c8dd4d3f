//! `eyeballs._eyeballs`, the native half of the Python package `eyeballs` (PyO3, abi3 for
//! CPython >= 3.9): one function that runs a Happy Eyeballs race (RFC 8305) with the GIL
//! released (`create_connection`), one that starts a race on a runtime thread for asyncio
//! (`start_connection`), and the race's report as Python objects.
//!
//! The Python half (`python/eyeballs/__init__.py`) parses arguments exactly as
//! `socket.create_connection` does and turns the winning descriptor into a `socket.socket`;
//! everything about the race itself (which queries, which order, which delays, every default)
//! is the `eyeballs` crate's, with the defaults of [`eyeballs::Config::default`].
//!
//! - `aio`: races for asyncio (`start_connection`, `open_connection`) on the tokio driver,
//!   on one runtime thread per process, each completing an asyncio future; cancellable.
//! - `race`: the race, with the GIL released, cancelled by Ctrl-C (the module's docs say
//!   how), the winner's descriptor handed over to Python once.
//! - `errors`: the one mapping from [`eyeballs::Error`] to the exceptions Python code already
//!   catches (`OSError` with errno, `socket.gaierror`, `TimeoutError`, `ExceptionGroup`).
//! - `report`: `eyeballs.Report`, `eyeballs.Attempt`, `eyeballs.Query`.

mod aio;
mod errors;
mod race;
mod report;

use pyo3::prelude::*;

/// The native module `eyeballs._eyeballs`.
#[pymodule]
fn _eyeballs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let defaults = eyeballs::Config::default();
    // The defaults every race starts from (RFC 8305 §8), in seconds, for the Python
    // signatures and docs: the Python package never states a number of its own.
    m.add(
        "DEFAULT_ATTEMPT_DELAY",
        defaults.connection_attempt_delay.as_secs_f64(),
    )?;
    m.add(
        "DEFAULT_RESOLUTION_DELAY",
        defaults.resolution_delay.as_secs_f64(),
    )?;
    m.add(
        "DEFAULT_FIRST_ADDRESS_FAMILY_COUNT",
        defaults.first_address_family_count,
    )?;
    m.add(
        "ATTEMPT_DELAY_FLOOR",
        eyeballs::proto::ATTEMPT_DELAY_FLOOR.as_secs_f64(),
    )?;
    m.add(
        "SIGNAL_CHECK_INTERVAL",
        race::SIGNAL_CHECK_INTERVAL.as_secs_f64(),
    )?;
    m.add("CANCEL_WAIT", aio::CANCEL_WAIT.as_secs_f64())?;
    m.add_function(wrap_pyfunction!(race::race, m)?)?;
    m.add_function(wrap_pyfunction!(aio::start, m)?)?;
    m.add_function(wrap_pyfunction!(race::flush_history, m)?)?;
    m.add_class::<aio::Pending>()?;
    m.add_class::<report::Report>()?;
    m.add_class::<report::Attempt>()?;
    m.add_class::<report::Query>()?;
    Ok(())
}
