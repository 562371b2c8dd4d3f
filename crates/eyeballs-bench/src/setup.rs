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

/// Installs what the proxy part compares against, when missing: microsocks and
/// dante-server (Debian packages), with apt-get as root. Never fails: a proxy that is still
/// missing afterwards gets a "not measured" row saying why.
pub fn install_proxies() {
    let missing: Vec<&str> = [("microsocks", "microsocks"), ("danted", "dante-server")]
        .into_iter()
        .filter(|(bin, _)| crate::proxy::find_program(bin).is_none())
        .map(|(_, package)| package)
        .collect();
    if missing.is_empty() {
        println!("eyeballs-bench: microsocks and danted present");
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        println!(
            "eyeballs-bench: not root, not installing {}",
            missing.join(" ")
        );
        return;
    }
    println!("eyeballs-bench: installing {}", missing.join(" "));
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map_or_else(
                |e| Err(e.to_string()),
                |s| {
                    if s.success() {
                        Ok(())
                    } else {
                        Err(s.to_string())
                    }
                },
            )
    };
    let installed = apt(&["update"]).and_then(|()| {
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(&missing);
        apt(&args)
    });
    if let Err(e) = installed {
        println!(
            "eyeballs-bench: apt-get install {} failed: {e}",
            missing.join(" ")
        );
    }
}

/// The paths the contenders need, once installed and built; `needs_python`: whether the
/// benchmark's virtualenv must be there (every part but the proxy uses it).
pub fn tools(root: &Path, eyeballs_cli: PathBuf, needs_python: bool) -> Result<Tools, String> {
    let python = target_dir(root).join("bench-venv/bin/python");
    if needs_python && !python.is_file() {
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
