//! The Python environment the test binaries run the package in: a virtual environment under
//! the target directory with the pinned tools and libraries from PyPI, and the package's
//! wheel built by maturin and installed into it as a user would get it (nothing is written
//! beside the sources).
//!
//! Each test binary has a venv of its own (`target/py-venv` for the pytest suite,
//! `target/py-lab-venv` for the lab tests), so that two binaries running at once never
//! install into the same one; the venv is reused between runs. maturin builds in a target
//! directory of its own (`target/py-build`, shared by the binaries: cargo locks it), so
//! that its build (with `PYO3_BUILD_EXTENSION_MODULE` set) and cargo's own never invalidate
//! each other; each binary's wheel goes to a directory of its own.
//!
//! `EYEBALLS_PYTHON` names the interpreter to use (default `python3`, CPython >= 3.9; the
//! suite's `ExceptionGroup` tests want 3.11+).

#![allow(dead_code)]

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The build backend, pinned (the package's pyproject.toml accepts `>=1.9.4,<2`).
pub const MATURIN: &str = "maturin==1.16.0";
/// What the tests import besides the package, pinned: the test runner, and the libraries
/// `eyeballs.patch()` patches and is compared with (aiohappyeyeballs is the version
/// eyeballs-bench measures; aiohttp brings it as a dependency too).
pub const PINS: &[&str] = &[
    "pytest==9.2.0",
    "aiohappyeyeballs==2.7.1",
    "urllib3==2.5.0",
    "requests==2.32.5",
    "aiohttp==3.12.15",
];

/// A venv with the package installed.
#[derive(Debug, Clone)]
pub struct Env {
    /// The venv's interpreter.
    pub python: PathBuf,
    /// `PATH` with the venv's `bin` first.
    pub path: OsString,
    /// The venv.
    pub venv: PathBuf,
}

impl Env {
    /// A command running the venv's interpreter, with the venv active.
    pub fn python(&self) -> Command {
        let mut command = Command::new(&self.python);
        command
            .env("VIRTUAL_ENV", &self.venv)
            .env("PATH", &self.path);
        command
    }
}

/// Whether CI is set (then the Python environment must be there).
pub fn ci() -> bool {
    env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// The venv `name` under the target directory, set up (once) and with this build of the
/// package installed; `Err` with the reason when it cannot be set up (no network access).
///
/// # Panics
/// When the wheel does not build or install (a failure of the package, not of the machine).
pub fn env(name: &str) -> Result<Env, String> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir(&crate_dir);
    let venv = target.join(name);
    prepare_venv(&venv)?;
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
    let wheels = target.join(format!("{name}-wheels"));
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
        // Shared by the binaries: cargo's own lock serializes two builds in it.
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
    Ok(Env {
        python: bin.join("python"),
        path,
        venv,
    })
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

/// Makes the venv (once) and installs the pinned tools into it (once per set of pins).
fn prepare_venv(venv: &Path) -> Result<(), String> {
    let stamp = venv.join("eyeballs-tools.txt");
    let wanted = format!("{MATURIN} {}\n", PINS.join(" "));
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(());
    }
    if !venv.join("bin/python").exists() {
        let python = env::var_os("EYEBALLS_PYTHON").unwrap_or_else(|| "python3".into());
        run(Command::new(&python).arg("-m").arg("venv").arg(venv))?;
    }
    run(Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MATURIN,
        ])
        .args(PINS))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Runs `command`; its stderr in the error if it fails.
pub fn run(command: &mut Command) -> Result<(), String> {
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
