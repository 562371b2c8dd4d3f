//! What a connection costs in instructions: the eyeballs crate's `connect_cost` example run
//! under `valgrind --tool=callgrind`, each way against the plain connect it wraps.
//!
//! Instruction counts are stable on a shared machine where CPU time is not (they do not
//! depend on what else runs), but they are user space only: the kernel's share of a connect
//! (most of it, for a plain `std` connect) is not in them, so they complement the CPU-time
//! figures of [`crate::cost`] rather than replace them.
//!
//! The example counts only the connects of one function (`connect_cost::measured`, passed to
//! `--toggle-collect`), on its main thread (`--separate-threads=yes`): not its start-up, not a
//! warm-up batch, not the listeners' threads.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::setup;

/// The example's build command, as BENCHMARKS.md shows it.
pub const BUILD: &str =
    "cargo build --release --example connect_cost --features blocking -p eyeballs";

/// The valgrind options every way runs with.
pub const VALGRIND_ARGS: [&str; 3] = [
    "--tool=callgrind",
    "--separate-threads=yes",
    "--toggle-collect=*connect_cost::measured*",
];

/// One way to connect, as the example names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// `tokio::net::TcpStream::connect(127.0.0.1:port)`.
    Tokio,
    /// `Connector::connect_addrs([127.0.0.1:port])`.
    EyeballsAddrs,
    /// `Connector::connect("127.0.0.1", port)`: an IP literal, parsed and never resolved.
    EyeballsLiteral,
    /// `tokio::net::TcpStream::connect([::1]:port)`.
    TokioV6,
    /// `Connector::connect_addrs([[::1]:port, 127.0.0.1:port])`, won by the first.
    EyeballsTwo,
    /// `std::net::TcpStream::connect(127.0.0.1:port)`.
    Std,
    /// `blocking::Connector::connect_addrs([127.0.0.1:port])`.
    Blocking,
    /// `std::net::TcpStream::connect([::1]:port)`.
    StdV6,
    /// `blocking::Connector::connect_addrs([[::1]:port, 127.0.0.1:port])`, won by the first.
    BlockingTwo,
    /// [`Way::EyeballsAddrs`] with a connector made `.without_history()` (the history part).
    EyeballsAddrsNoHistory,
    /// [`Way::EyeballsTwo`] without history.
    EyeballsTwoNoHistory,
    /// [`Way::Blocking`] without history.
    BlockingNoHistory,
}

/// Every way of the callgrind part, in table order (each baseline before what it is compared
/// with).
pub const WAYS: [Way; 9] = [
    Way::Tokio,
    Way::EyeballsAddrs,
    Way::EyeballsLiteral,
    Way::TokioV6,
    Way::EyeballsTwo,
    Way::Std,
    Way::Blocking,
    Way::StdV6,
    Way::BlockingTwo,
];

impl Way {
    /// The example's name for it (its `WAY` argument).
    pub fn arg(self) -> &'static str {
        match self {
            Way::Tokio => "tokio",
            Way::EyeballsAddrs => "eyeballs-addrs",
            Way::EyeballsLiteral => "eyeballs-literal",
            Way::TokioV6 => "tokio-v6",
            Way::EyeballsTwo => "eyeballs-two",
            Way::Std => "std",
            Way::Blocking => "blocking",
            Way::StdV6 => "std-v6",
            Way::BlockingTwo => "blocking-two",
            Way::EyeballsAddrsNoHistory => "eyeballs-addrs-no-history",
            Way::EyeballsTwoNoHistory => "eyeballs-two-no-history",
            Way::BlockingNoHistory => "blocking-no-history",
        }
    }

    /// The row's name.
    pub fn label(self) -> &'static str {
        match self {
            Way::Tokio => "tokio `TcpStream::connect(v4)`",
            Way::EyeballsAddrs => "eyeballs `Connector::connect_addrs([v4])`",
            Way::EyeballsLiteral => "eyeballs `Connector::connect(\"127.0.0.1\", port)`",
            Way::TokioV6 => "tokio `TcpStream::connect(v6)`",
            Way::EyeballsTwo => "eyeballs `Connector::connect_addrs([v6, v4])`, v6 wins",
            Way::Std => "std `TcpStream::connect(v4)`",
            Way::Blocking => "eyeballs `blocking::Connector::connect_addrs([v4])`",
            Way::StdV6 => "std `TcpStream::connect(v6)`",
            Way::BlockingTwo => "eyeballs `blocking::Connector::connect_addrs([v6, v4])`, v6 wins",
            Way::EyeballsAddrsNoHistory => {
                "eyeballs `Connector::connect_addrs([v4])`, `.without_history()`"
            }
            Way::EyeballsTwoNoHistory => {
                "eyeballs `Connector::connect_addrs([v6, v4])`, v6 wins, `.without_history()`"
            }
            Way::BlockingNoHistory => {
                "eyeballs `blocking::Connector::connect_addrs([v4])`, `.without_history()`"
            }
        }
    }

    /// What it is compared with (`None`: it is a baseline).
    pub fn baseline(self) -> Option<Way> {
        match self {
            Way::EyeballsAddrs | Way::EyeballsLiteral | Way::EyeballsAddrsNoHistory => {
                Some(Way::Tokio)
            }
            Way::EyeballsTwo | Way::EyeballsTwoNoHistory => Some(Way::TokioV6),
            Way::Blocking | Way::BlockingNoHistory => Some(Way::Std),
            Way::BlockingTwo => Some(Way::StdV6),
            Way::Tokio | Way::TokioV6 | Way::Std | Way::StdV6 => None,
        }
    }
}

/// One row: instructions per connect.
#[derive(Debug, Clone, PartialEq)]
pub struct CallgrindRow {
    /// What was measured.
    pub way: Way,
    /// User-space instructions of the connecting thread per connect.
    pub per_connect: f64,
}

/// The callgrind measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Callgrind {
    /// `valgrind --version`.
    pub valgrind: String,
    /// Connects counted per way.
    pub connections: usize,
    /// One row per [`WAYS`] entry.
    pub rows: Vec<CallgrindRow>,
}

impl Callgrind {
    /// The row of `way`.
    pub fn row(&self, way: Way) -> Option<&CallgrindRow> {
        self.rows.iter().find(|r| r.way == way)
    }

    /// The command line of one way, as BENCHMARKS.md shows it.
    pub fn command(&self) -> String {
        format!(
            "valgrind {} target/release/examples/connect_cost WAY {}",
            shell_words(&VALGRIND_ARGS),
            self.connections
        )
    }
}

/// `args` as a shell command line shows them: those with a `*` in single quotes.
pub fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.contains('*') {
                format!("'{a}'")
            } else {
                (*a).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the example and counts `connections` connects of every way of [`WAYS`].
pub fn run(root: &Path, connections: usize) -> Result<Callgrind, String> {
    run_ways(root, &WAYS, connections)
}

/// Builds the example and counts `connections` connects of each of `ways`.
pub fn run_ways(root: &Path, ways: &[Way], connections: usize) -> Result<Callgrind, String> {
    let valgrind = valgrind_version()?;
    let example = build_example(root, BUILD, "connect_cost")?;
    let dir = std::env::temp_dir().join(format!("eyeballs-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let rows = ways
        .iter()
        .map(|&way| {
            count(&example, &dir, way, connections).map(|total| CallgrindRow {
                way,
                per_connect: total as f64 / connections.max(1) as f64,
            })
        })
        .collect::<Result<Vec<_>, String>>();
    // Only the counts matter; the profiles can be made again with the command shown.
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Callgrind {
        valgrind,
        connections,
        rows: rows?,
    })
}

/// `valgrind --version`; an error if valgrind is not installed.
pub fn valgrind_version() -> Result<String, String> {
    let out = Command::new("valgrind")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("valgrind is not installed ({e})"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs `build` (a `cargo build --release --example NAME ...` command line) and returns the
/// path of example `name`.
pub fn build_example(root: &Path, build: &str, name: &str) -> Result<PathBuf, String> {
    let status = Command::new(setup::cargo())
        .current_dir(root)
        .args(build.split_whitespace().skip(1))
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("running {build}: {e}"))?;
    if !status.success() {
        return Err(format!("{build} failed ({status})"));
    }
    let bin = setup::target_dir(root).join("release/examples").join(name);
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} was not built", bin.display()))
    }
}

/// Runs one way under callgrind; the instructions counted on the example's main thread.
fn count(example: &Path, dir: &Path, way: Way, connections: usize) -> Result<u64, String> {
    count_function(
        Command::new("valgrind"),
        &VALGRIND_ARGS,
        example,
        &[way.arg(), &connections.to_string()],
        &dir.join(way.arg()),
    )
    .map(|(total, _)| total)
}

/// Runs `example` with `args` under `valgrind` (a command that runs valgrind, perhaps in a
/// namespace) with `valgrind_args` (callgrind, one profile per thread, collecting one
/// function), its profile in `out_file`: the instructions counted on the main thread, and the
/// example's standard output.
pub fn count_function(
    mut valgrind: Command,
    valgrind_args: &[&str],
    example: &Path,
    args: &[&str],
    out_file: &Path,
) -> Result<(u64, String), String> {
    let out = valgrind
        .args(valgrind_args)
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(example)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running valgrind: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rfind(|l| !l.starts_with("==")).unwrap_or("");
        return Err(format!("{}: {} {last}", args.join(" "), out.status));
    }
    // With --separate-threads=yes the main thread's profile is FILE-01.
    let main_thread = PathBuf::from(format!("{}-01", out_file.display()));
    let profile = std::fs::read_to_string(&main_thread)
        .map_err(|e| format!("reading {}: {e}", main_thread.display()))?;
    let total =
        totals(&profile).ok_or_else(|| format!("no totals in {}", main_thread.display()))?;
    Ok((total, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// The first event's total of a callgrind profile (its `totals:` line, else `summary:`).
fn totals(profile: &str) -> Option<u64> {
    let find = |key: &str| {
        profile
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    find("totals:").or_else(|| find("summary:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_line() {
        let profile = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\n\
                       summary: 18506670\n\nfn=(1) main\n3 5\ntotals: 18506670\n";
        assert_eq!(totals(profile), Some(18_506_670));
        assert_eq!(totals("events: Ir\nsummary: 42 7\n"), Some(42));
        assert_eq!(totals("events: Ir\n"), None);
    }

    #[test]
    fn every_eyeballs_way_has_a_baseline_listed_before_it() {
        for (i, way) in WAYS.iter().enumerate() {
            if let Some(base) = way.baseline() {
                let at = WAYS.iter().position(|w| *w == base).unwrap();
                assert!(at < i, "{way:?}");
                assert_eq!(base.baseline(), None);
            }
        }
    }

    #[test]
    fn the_command_quotes_the_pattern() {
        let cg = Callgrind {
            valgrind: "valgrind-3.19.0".to_owned(),
            connections: 1000,
            rows: Vec::new(),
        };
        assert_eq!(
            cg.command(),
            "valgrind --tool=callgrind --separate-threads=yes \
             '--toggle-collect=*connect_cost::measured*' \
             target/release/examples/connect_cost WAY 1000"
        );
    }
}
