//! The engine alone: runs the divan benchmark `cargo bench -p eyeballs-proto --bench engine`
//! (a scripted driver racing 2 and 100 addresses, every address but the last a black hole)
//! and reads events per second and allocations per race from its output.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One benchmark of the engine, as divan printed it.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineRow {
    /// The benchmark function (`race_addresses`, `race_host`).
    pub bench: String,
    /// Its argument: the number of addresses.
    pub addresses: u32,
    /// Median time of one race.
    pub median: Duration,
    /// Median events (engine inputs and actions) per second.
    pub events_per_sec: f64,
    /// Allocations per race (median).
    pub allocs: u64,
    /// Bytes allocated per race (median).
    pub alloc_bytes: f64,
}

impl EngineRow {
    /// Events per race: throughput × time.
    pub fn events_per_race(&self) -> f64 {
        (self.events_per_sec * self.median.as_secs_f64()).round()
    }
}

/// Runs the divan benchmark from the workspace at `root` and parses it.
pub fn run(cargo: &Path, root: &Path) -> Result<Vec<EngineRow>, String> {
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["bench", "-p", "eyeballs-proto", "--bench", "engine"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running cargo bench: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "cargo bench -p eyeballs-proto --bench engine failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    let rows = parse_divan(&text);
    if rows.is_empty() {
        return Err(format!("no benchmark found in divan's output:\n{text}"));
    }
    Ok(rows)
}

/// Parses divan's tree output (columns separated by `│`: fastest, slowest, median, mean,
/// samples, iters). Each benchmark's argument row gives its times; the lines below it its
/// throughput (`item/s`) and, under `alloc:`, the allocation count and bytes.
pub fn parse_divan(text: &str) -> Vec<EngineRow> {
    let mut rows = Vec::new();
    let mut group = String::new();
    let mut current: Option<EngineRow> = None;
    // Which allocation line comes next under `alloc:` (1: count, 2: bytes).
    let mut alloc_line = 0;
    // The tree's own `│` share the columns' separator character: columns are cut where the
    // header line has its separators.
    let mut lines = text.lines().skip_while(|l| !l.contains("fastest"));
    let Some(header) = lines.next() else {
        return rows;
    };
    let seps: Vec<usize> = header
        .chars()
        .enumerate()
        .filter(|(_, c)| *c == '│')
        .map(|(i, _)| i)
        .collect();
    for line in lines {
        let cells = columns(line, &seps);
        let first = cells.first().map(String::as_str).unwrap_or_default();
        // The median column (third), as divan writes it.
        let median_cell = cells.get(2).map(|c| c.trim()).unwrap_or_default();
        let label = first
            .trim_start_matches(|c: char| c.is_whitespace() || "│├╰─".contains(c))
            .trim();
        let is_node = first.contains('├') || first.contains('╰');
        if is_node {
            let mut words = label.split_whitespace();
            let name = words.next().unwrap_or_default();
            if let Ok(addresses) = name.parse::<u32>() {
                if let Some(row) = current.take() {
                    rows.push(row);
                }
                current = parse_time(median_cell).map(|median| EngineRow {
                    bench: group.clone(),
                    addresses,
                    median,
                    events_per_sec: f64::NAN,
                    allocs: 0,
                    alloc_bytes: 0.0,
                });
            } else {
                if let Some(row) = current.take() {
                    rows.push(row);
                }
                group = name.to_owned();
            }
            alloc_line = 0;
            continue;
        }
        let Some(row) = current.as_mut() else {
            continue;
        };
        if label.ends_with("item/s") {
            if let Some(rate) = parse_rate(median_cell) {
                row.events_per_sec = rate;
            }
            alloc_line = 0;
        } else if label == "alloc:" {
            alloc_line = 1;
        } else if label.ends_with(':') {
            alloc_line = 0;
        } else if alloc_line == 1 {
            if let Ok(n) = median_cell.parse::<u64>() {
                row.allocs = n;
            }
            alloc_line = 2;
        } else if alloc_line == 2 {
            if let Some(bytes) = parse_bytes(median_cell) {
                row.alloc_bytes = bytes;
            }
            alloc_line = 0;
        }
    }
    if let Some(row) = current.take() {
        rows.push(row);
    }
    rows
}

/// `line` cut at the character positions `seps` (the separators themselves dropped).
fn columns(line: &str, seps: &[usize]) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells = Vec::with_capacity(seps.len() + 1);
    let mut start = 0;
    for &sep in seps {
        let end = sep.min(chars.len());
        cells.push(
            chars
                .get(start.min(end)..end)
                .unwrap_or_default()
                .iter()
                .collect(),
        );
        start = sep + 1;
    }
    cells.push(
        chars
            .get(start.min(chars.len())..)
            .unwrap_or_default()
            .iter()
            .collect(),
    );
    cells
}

/// `562.5 ns`, `15.69 µs`, `1.004 ms`, `2 s`.
fn parse_time(cell: &str) -> Option<Duration> {
    let (value, unit) = split_unit(cell)?;
    let scale = match unit {
        "ps" => 1e-12,
        "ns" => 1e-9,
        "µs" | "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(value * scale))
}

/// `11.59 Mitem/s`, `647.2 Kitem/s`.
fn parse_rate(cell: &str) -> Option<f64> {
    let (value, unit) = split_unit(cell)?;
    let scale = match unit {
        "item/s" => 1.0,
        "Kitem/s" => 1e3,
        "Mitem/s" => 1e6,
        "Gitem/s" => 1e9,
        _ => return None,
    };
    Some(value * scale)
}

/// `1.557 KB`, `26 B` (divan's units are powers of 1000).
fn parse_bytes(cell: &str) -> Option<f64> {
    let (value, unit) = split_unit(cell)?;
    let scale = match unit {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    Some(value * scale)
}

fn split_unit(cell: &str) -> Option<(f64, &str)> {
    let mut words = cell.split_whitespace();
    let value: f64 = words.next()?.parse().ok()?;
    Some((value, words.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
engine             fastest       │ slowest       │ median        │ mean          │ samples │ iters
├─ race_addresses                │               │               │               │         │
│  ├─ 2            562.5 ns      │ 1.004 ms      │ 603.5 ns      │ 10.81 µs      │ 100     │ 100
│  │               12.44 Mitem/s │ 6.966 Kitem/s │ 11.59 Mitem/s │ 647.2 Kitem/s │         │
│  │               max alloc:    │               │               │               │         │
│  │                 9           │ 9             │ 9             │ 9             │         │
│  │                 1.105 KB    │ 1.105 KB      │ 1.105 KB      │ 1.105 KB      │         │
│  │               alloc:        │               │               │               │         │
│  │                 14          │ 14            │ 14            │ 14            │         │
│  │                 1.557 KB    │ 1.557 KB      │ 1.557 KB      │ 1.557 KB      │         │
│  │               dealloc:      │               │               │               │         │
│  │                 14          │ 14            │ 14            │ 14            │         │
│  │                 1.557 KB    │ 1.557 KB      │ 1.557 KB      │ 1.557 KB      │         │
│  ╰─ 100          15.14 µs      │ 81.58 µs      │ 15.69 µs      │ 16.75 µs      │ 100     │ 100
│                  19.87 Mitem/s │ 3.689 Mitem/s │ 19.18 Mitem/s │ 17.96 Mitem/s │         │
│                  alloc:        │               │               │               │         │
│                    14          │ 14            │ 14            │ 14            │         │
│                    34.17 KB    │ 34.17 KB      │ 34.17 KB      │ 34.17 KB      │         │
│                  grow:         │               │               │               │         │
│                    15          │ 15            │ 15            │ 15            │         │
│                    10.41 KB    │ 10.41 KB      │ 10.41 KB      │ 10.41 KB      │         │
╰─ race_host                     │               │               │               │         │
   ├─ 2            1.198 µs      │ 5.565 µs      │ 1.278 µs      │ 1.38 µs       │ 100     │ 100
   │               9.175 Mitem/s │ 1.976 Mitem/s │ 8.601 Mitem/s │ 7.97 Mitem/s  │         │
   │               alloc:        │               │               │               │         │
   │                 25          │ 25            │ 25            │ 25            │         │
   │                 2.133 KB    │ 2.133 KB      │ 2.133 KB      │ 2.133 KB      │         │
   ╰─ 100          17.34 µs      │ 31.08 µs      │ 18.13 µs      │ 20.96 µs      │ 100     │ 100
                   17.58 Mitem/s │ 9.812 Mitem/s │ 16.81 Mitem/s │ 14.54 Mitem/s │         │
                   alloc:        │               │               │               │         │
                     26          │ 26            │ 26            │ 26            │         │
                     28.48 KB    │ 28.48 KB      │ 28.48 KB      │ 28.48 KB      │         │
";

    #[test]
    fn parses_divans_tree() {
        let rows = parse_divan(OUTPUT);
        assert_eq!(rows.len(), 4, "{rows:#?}");
        let first = &rows[0];
        assert_eq!(first.bench, "race_addresses");
        assert_eq!(first.addresses, 2);
        assert!((first.median.as_secs_f64() - 603.5e-9).abs() < 1e-9);
        assert!((first.events_per_sec - 11.59e6).abs() < 1.0);
        assert_eq!(first.allocs, 14, "the alloc: count, not max alloc:");
        assert!((first.alloc_bytes - 1557.0).abs() < 1e-6);
        assert_eq!(first.events_per_race(), 7.0);
        let last = &rows[3];
        assert_eq!((last.bench.as_str(), last.addresses), ("race_host", 100));
        assert_eq!(last.allocs, 26);
        assert!((last.alloc_bytes - 28_480.0).abs() < 1e-6);
        assert_eq!(rows[1].allocs, 14);
        assert_eq!(rows[2].allocs, 25);
    }

    #[test]
    fn units() {
        assert_eq!(parse_time("1.5 ms"), Some(Duration::from_micros(1500)));
        assert_eq!(parse_time("2 s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_time("7 parsecs"), None);
        assert_eq!(parse_rate("647.2 Kitem/s"), Some(647_200.0));
        assert_eq!(parse_bytes("26 B"), Some(26.0));
        assert_eq!(parse_time(""), None);
    }
}
