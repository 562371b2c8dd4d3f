//! The machine, the versions of everything compared, and the date: printed at the start and
//! written into BENCHMARKS.md.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the numbers were measured on and with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Machine {
    /// UTC date and time of the run (`2025-01-31 12:34 UTC`).
    pub date: String,
    /// CPU model.
    pub cpu: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Memory.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
    /// Operating system.
    pub os: String,
    /// `(name, version)` of each tool and library compared.
    pub versions: Vec<(String, String)>,
}

impl Machine {
    /// Gathers everything; `root` is the workspace (for Cargo.lock), `python` the venv's.
    pub fn gather(root: &Path, python: &Path) -> Machine {
        let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
        let mut versions = vec![
            ("rustc".to_owned(), first_line("rustc", &["--version"])),
            (
                "eyeballs".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned() + &git_describe(root),
            ),
        ];
        for krate in ["tokio", "hyper-util", "happy-eyeballs", "hickory-resolver"] {
            versions.push((
                krate.to_owned(),
                lock_version(&lock, krate).unwrap_or_default(),
            ));
        }
        let curl = first_line("curl", &["--version"]);
        // `curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/...`: the first two words.
        let curl: Vec<&str> = curl.split_whitespace().take(2).collect();
        versions.push(("curl".to_owned(), curl.join(" ")));
        versions.push((
            "Python".to_owned(),
            first_line(&python.to_string_lossy(), &["--version"]),
        ));
        versions.push((
            "aiohappyeyeballs".to_owned(),
            first_line(
                &python.to_string_lossy(),
                &[
                    "-c",
                    "import importlib.metadata as m; print(m.version('aiohappyeyeballs'))",
                ],
            ),
        ));
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        Machine {
            date: utc_now(),
            cpu: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".to_owned()),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory: field(&meminfo, "MemTotal")
                .and_then(|kb| kb.split_whitespace().next()?.parse::<f64>().ok())
                .map_or_else(
                    || "unknown".to_owned(),
                    |kb| format!("{:.1} GiB", kb / 1048576.0),
                ),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            os: os_release
                .lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|s| s.trim_matches('"').to_owned())
                .unwrap_or_default(),
            versions,
        }
    }

    /// One line about the machine.
    pub fn summary(&self) -> String {
        format!(
            "{} ({} logical CPUs), {} RAM, Linux {}, {}",
            self.cpu, self.cpus, self.memory, self.kernel, self.os
        )
    }
}

/// ` (git abc1234)` for the workspace's commit, with `-dirty` if it has changes.
fn git_describe(root: &Path) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["describe", "--always", "--dirty"])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            format!(" (git {})", String::from_utf8_lossy(&o.stdout).trim())
        }
        _ => String::new(),
    }
}

/// The first line a command prints, or `unavailable`.
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| "unavailable".to_owned())
}

/// `key : value` from /proc files.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

/// A package's version in Cargo.lock (the first entry if several).
pub fn lock_version(lock: &str, name: &str) -> Option<String> {
    let needle = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == needle {
            let version = lines.next()?.trim();
            return Some(
                version
                    .strip_prefix("version = \"")?
                    .trim_end_matches('"')
                    .to_owned(),
            );
        }
    }
    None
}

/// Now, as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM UTC` (proleptic Gregorian calendar).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hour, minute) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_735_689_599), "2024-12-31 23:59 UTC");
        assert_eq!(format_utc(1_709_210_096), "2024-02-29 12:34 UTC");
    }

    #[test]
    fn versions_from_the_lock_file() {
        let lock = "[[package]]\nname = \"tokio\"\nversion = \"1.54.1\"\n\n[[package]]\nname = \"tokio-macros\"\nversion = \"2.0.0\"\n";
        assert_eq!(lock_version(lock, "tokio").as_deref(), Some("1.54.1"));
        assert_eq!(lock_version(lock, "tokio-macros").as_deref(), Some("2.0.0"));
        assert_eq!(lock_version(lock, "hyper"), None);
    }
}
