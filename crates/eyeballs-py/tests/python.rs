//! Runs the Python package's pytest suite (`tests/test_*.py`) from `cargo test`, so that the
//! workspace's one test command covers the Python binding too.
//!
//! The venv `target/py-venv` (see `common`) gets the pinned maturin, pytest and the
//! libraries the suite compares with or patches (aiohappyeyeballs, urllib3, requests,
//! aiohttp) from PyPI once; each run builds the wheel, installs it and runs pytest, failing
//! on any failed test.
//!
//! Without network access (the venv cannot be set up) the test is skipped with a message,
//! unless `CI` is set: then it fails.

mod common;

#[test]
fn pytest_suite_passes() {
    let env = match common::env("py-venv") {
        Ok(env) => env,
        Err(why) if common::ci() => {
            panic!("CI: cannot set up the Python test environment: {why}")
        }
        Err(why) => {
            eprintln!(
                "SKIPPED: the Python tests need a venv with {} and {:?} from PyPI: {why}",
                common::MATURIN,
                common::PINS
            );
            return;
        }
    };
    let tests = env
        .python()
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run pytest: {e}"));
    assert!(tests.success(), "the pytest suite failed: {tests}");
}
