//! Getting ready: the workspace's paths, the peers' installation (the install scripts of the
//! lab and of this crate), and the `eyeballs` command built in release mode.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::contenders::Tools;

/// The workspace root (where BENCHMARKS.md goes).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The cargo that runs this program (`cargo run` sets `CARGO`), else `cargo` on the PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Cargo's target directory.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Runs the install scripts of the lab and of this crate (idempotent; fast when everything
/// is there).
pub fn install_peers(root: &Path) -> Result<(), String> {
    for script in [
        "crates/eyeballs-lab/install-deps.sh",
        "crates/eyeballs-bench/install-deps.sh",
    ] {
        let status = Command::new("bash")
            .arg(root.join(script))
            .current_dir(root)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("running {script}: {e}"))?;
        if !status.success() {
            return Err(format!("{script} failed ({status})"));
        }
    }
    Ok(())
}

/// Builds the `eyeballs` command in release mode; its path.
pub fn build_cli(root: &Path) -> Result<PathBuf, String> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "eyeballs-cli",
            "--bin",
            "eyeballs",
        ])
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("running cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p eyeballs-cli failed ({status})"));
    }
    let bin = target_dir(root).join("release/eyeballs");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} was not built", bin.display()))
    }
}

/// The paths the contenders need, once installed and built.
pub fn tools(root: &Path, eyeballs_cli: PathBuf) -> Result<Tools, String> {
    let python = target_dir(root).join("bench-venv/bin/python");
    if !python.is_file() {
        return Err(format!(
            "{} is missing: run crates/eyeballs-bench/install-deps.sh",
            python.display()
        ));
    }
    let self_exe =
        std::env::current_exe().map_err(|e| format!("finding this program's path: {e}"))?;
    Ok(Tools {
        self_exe,
        eyeballs_cli,
        python,
    })
}
