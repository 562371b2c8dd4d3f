//! Runs the Python package's pytest suite (`tests/test_*.py`) from `cargo test`, so that the
//! workspace's one test command covers the Python binding too.
//!
//! A virtual environment under the target directory (`target/py-venv`) gets the pinned
//! [`MATURIN`] and [`PYTEST`] from PyPI once; each run then builds the wheel (`maturin build`,
//! dev profile, into `target/py-wheels`), installs it into the venv as a user would get it
//! (nothing is written beside the sources) and runs pytest, failing on any failed test. The
//! venv is reused between runs; maturin builds in a target directory of its own
//! (`target/py-build`), so that its build (with `PYO3_BUILD_EXTENSION_MODULE` set) and
//! cargo's own never invalidate each other.
//!
//! Without network access (the venv cannot be set up) the test is skipped with a message,
//! unless `CI` is set: then it fails. `EYEBALLS_PYTHON` names the interpreter to use
//! (default `python3`, CPython >= 3.9; the suite's `ExceptionGroup` tests want 3.11+).

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The build backend, pinned (the package's pyproject.toml accepts `>=1.9.4,<2`).
const MATURIN: &str = "maturin==1.16.0";
/// The test runner, pinned.
const PYTEST: &str = "pytest==9.2.0";

#[test]
fn pytest_suite_passes() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir(&crate_dir);
    let venv = target.join("py-venv");
    if let Err(why) = prepare_venv(&venv) {
        if env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("CI: cannot set up the Python test environment: {why}");
        }
        eprintln!(
            "SKIPPED: the Python tests need a venv with {MATURIN} and {PYTEST} from PyPI: {why}"
        );
        return;
    }
    let bin = venv.join("bin");
    let path = match env::var_os("PATH") {
        Some(path) => {
            let mut joined = OsString::from(bin.as_os_str());
            joined.push(":");
            joined.push(path);
            joined
        }
        None => bin.clone().into_os_string(),
    };
    let wheels = target.join("py-wheels");
    // Only this build's wheel in it, to install.
    if wheels.exists() {
        std::fs::remove_dir_all(&wheels)
            .unwrap_or_else(|e| panic!("cannot empty {}: {e}", wheels.display()));
    }
    let build = Command::new(bin.join("maturin"))
        .args(["build", "--quiet", "--profile", "dev", "--out"])
        .arg(&wheels)
        .current_dir(&crate_dir)
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", target.join("py-build"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run maturin: {e}"));
    assert!(build.success(), "maturin build failed: {build}");
    let wheel = std::fs::read_dir(&wheels)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", wheels.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .unwrap_or_else(|| panic!("maturin built no wheel in {}", wheels.display()));
    let install = Command::new(bin.join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--force-reinstall", "--no-deps"])
        .arg(&wheel)
        .status()
        .unwrap_or_else(|e| panic!("cannot run pip: {e}"));
    assert!(
        install.success(),
        "installing {} failed: {install}",
        wheel.display()
    );
    let tests = Command::new(bin.join("python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&crate_dir)
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .status()
        .unwrap_or_else(|e| panic!("cannot run pytest: {e}"));
    assert!(tests.success(), "the pytest suite failed: {tests}");
}

/// The cargo target directory this test was built in: the nearest ancestor of the test
/// binary holding cargo's `CACHEDIR.TAG` (so `CARGO_TARGET_DIR` and `--target` are
/// honoured), else the workspace's `target/`.
fn target_dir(crate_dir: &Path) -> PathBuf {
    if let Ok(exe) = env::current_exe() {
        if let Some(dir) = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()) {
            return dir.to_path_buf();
        }
    }
    crate_dir.join("../../target")
}

/// Makes the venv (once) and installs the pinned tools into it (once per pin).
fn prepare_venv(venv: &Path) -> Result<(), String> {
    let stamp = venv.join("eyeballs-tools.txt");
    let wanted = format!("{MATURIN} {PYTEST}\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(());
    }
    if !venv.join("bin/python").exists() {
        let python = env::var_os("EYEBALLS_PYTHON").unwrap_or_else(|| "python3".into());
        run(Command::new(&python).arg("-m").arg("venv").arg(venv))?;
    }
    run(Command::new(venv.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        MATURIN,
        PYTEST,
    ]))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Runs `command`; its stderr in the error if it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let out: Output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
