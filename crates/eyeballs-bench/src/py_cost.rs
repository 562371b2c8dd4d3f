//! What a Python connect costs on loopback: `socket.create_connection` against
//! `eyeballs.create_connection` (the eyeballs package, installed into the bench's venv), with
//! no timeout and with one, measured by `contenders/python_cost.py` in one interpreter in a
//! network namespace of its own.

use std::process::Stdio;

use eyeballs_lab::Lab;

use crate::contenders::{no_proxy, Tools};

/// The measuring script.
const SCRIPT: &str = include_str!("contenders/python_cost.py");

/// One row: a way to connect and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct PyCostRow {
    /// The call, as the script names it (`socket.create_connection, timeout=5` …).
    pub way: String,
    /// Process CPU time per connection, microseconds (median round).
    pub cpu_us: f64,
    /// Connections per second (median round).
    pub per_second: f64,
}

impl PyCostRow {
    /// The row this one is compared with: the `socket` call with the same arguments.
    pub fn baseline_way(&self) -> Option<String> {
        self.way
            .strip_prefix("eyeballs.")
            .map(|rest| format!("socket.{rest}"))
    }
}

/// The Python cost measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct PyCost {
    /// Connections per way and round.
    pub connections: usize,
    /// Rounds.
    pub rounds: usize,
    /// One row per way, in the script's order.
    pub rows: Vec<PyCostRow>,
}

impl PyCost {
    /// The row of `way`.
    pub fn row(&self, way: &str) -> Option<&PyCostRow> {
        self.rows.iter().find(|r| r.way == way)
    }
}

/// Runs the script: `connections` per way and round (at most 4000: one listener's backlog),
/// `rounds` rounds.
pub fn run(tools: &Tools, connections: usize, rounds: usize) -> Result<PyCost, String> {
    let connections = connections.clamp(1, 4000);
    let lab = Lab::builder()
        .start()
        .map_err(|e| format!("starting a lab for the loopback: {e}"))?;
    let mut command = lab
        .client_command(&tools.python)
        .map_err(|e| e.to_string())?;
    command
        .args(["-c", SCRIPT])
        .args([connections.to_string(), rounds.to_string()])
        .stdin(Stdio::null());
    let output = no_proxy(&mut command)
        .output()
        .map_err(|e| format!("starting {}: {e}", tools.python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "python_cost.py exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let rows = parse(&String::from_utf8_lossy(&output.stdout))?;
    Ok(PyCost {
        connections,
        rounds,
        rows,
    })
}

/// The script's JSON lines.
fn parse(stdout: &str) -> Result<Vec<PyCostRow>, String> {
    crate::json_lines(stdout, |line, v| {
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        let number = |k: &str| v[k].as_f64();
        match (text("way"), number("cpu_us"), number("per_second")) {
            (Some(way), Some(cpu_us), Some(per_second)) => Ok(PyCostRow {
                way,
                cpu_us,
                per_second,
            }),
            _ => Err(format!("unexpected line from python_cost.py: {line:?}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_each_eyeballs_row_has_its_socket_baseline() {
        let rows = parse(
            "{\"way\": \"socket.create_connection\", \"cpu_us\": 16.8, \"per_second\": 40000}\n\
             {\"way\": \"eyeballs.create_connection, timeout=5\", \"cpu_us\": 20.0, \"per_second\": 35000.5}\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].baseline_way(), None);
        assert_eq!(
            rows[1].baseline_way().as_deref(),
            Some("socket.create_connection, timeout=5")
        );
        assert!(parse("{\"way\": 1}").is_err());
        assert!(parse("not json").is_err());
    }
}
