//! Contenders that are other programs: curl, the `eyeballs` command and Python. Each runs in
//! the lab's client namespace and times itself.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use eyeballs_lab::Lab;

use super::{no_proxy, PyMode, Tools};
use crate::scenarios::{GAP, LONG_RUN, PORT};
use crate::stats::Sample;

/// The Python script (see its header).
pub const PYTHON_RACE: &str = include_str!("python_race.py");

/// curl, one process per run to `host`: `time_connect` (from the start of the transfer, name
/// resolution included) when it connected, else `time_total` to the error.
/// `--connect-timeout` is the cap; `happy_eyeballs_ms` sets `--happy-eyeballs-timeout-ms`
/// (curl's default: 200 ms).
pub fn curl(
    lab: &Lab,
    happy_eyeballs_ms: Option<u32>,
    host: &str,
    runs: usize,
    cap: Duration,
) -> Result<Vec<Sample>, String> {
    let make = || -> Result<Command, String> {
        let mut command = lab.client_command("curl").map_err(|e| e.to_string())?;
        command.args([
            "-s",
            "-o",
            "/dev/null",
            "--noproxy",
            "*",
            "-w",
            "%{time_connect} %{time_total}",
            "--connect-timeout",
        ]);
        command.arg(cap.as_secs_f64().to_string());
        if let Some(ms) = happy_eyeballs_ms {
            command.args(["--happy-eyeballs-timeout-ms", &ms.to_string()]);
        }
        command.arg(format!("http://{host}:{PORT}/"));
        no_proxy(&mut command);
        Ok(command)
    };
    per_process_once(runs, make, parse_curl)
}

/// curl's `-w '%{time_connect} %{time_total}'` output and exit status as a run.
pub fn parse_curl(output: &Output) -> Sample {
    let text = String::from_utf8_lossy(&output.stdout);
    let mut words = text.split_whitespace().map(str::parse::<f64>);
    let (connect, total) = match (words.next(), words.next()) {
        (Some(Ok(c)), Some(Ok(t))) => (c, t),
        _ => {
            return Sample::failed(
                Duration::ZERO,
                format!("unreadable curl output {text:?} ({})", output.status),
            )
        }
    };
    // curl reports time_connect 0 when it never connected.
    if connect > 0.0 {
        Sample::ok(Duration::from_secs_f64(connect))
    } else {
        let why = match output.status.code() {
            Some(28) => "timed out (curl exit 28)".to_owned(),
            Some(7) => "could not connect (curl exit 7)".to_owned(),
            Some(6) => "could not resolve (curl exit 6)".to_owned(),
            other => format!("curl exit {other:?}"),
        };
        Sample::failed(Duration::from_secs_f64(total.max(0.0)), why)
    }
}

/// `eyeballs connect HOST PORT --json --dns <lab DNS> --timeout <cap>`, one process per
/// run: its `elapsed_ms`.
pub fn eyeballs_cli(
    lab: &Lab,
    tools: &Tools,
    host: &str,
    runs: usize,
    cap: Duration,
) -> Result<Vec<Sample>, String> {
    let dns = lab.dns_server_v4().ip().to_string();
    let make = || -> Result<Command, String> {
        let mut command = lab
            .client_command(&tools.eyeballs_cli)
            .map_err(|e| e.to_string())?;
        command
            .args(["connect", host, &PORT.to_string(), "--json", "--dns", &dns])
            .args(["--timeout", &format!("{}ms", cap.as_millis())]);
        Ok(command)
    };
    per_process_once(runs, make, parse_eyeballs_json)
}

/// One `eyeballs connect --json` object as a run.
pub fn parse_eyeballs_json(output: &Output) -> Sample {
    parse_eyeballs_line(
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
    )
}

/// One `eyeballs connect --json` object (`text`, one line) as a run; `stderr` is quoted when
/// `text` is not such an object.
pub fn parse_eyeballs_line(text: &str, stderr: &str) -> Sample {
    let value: serde_json::Value = match serde_json::from_str(text.trim()) {
        Ok(v) => v,
        Err(e) => {
            return Sample::failed(
                Duration::ZERO,
                format!("unreadable output ({e}): {} {}", text.trim(), stderr.trim()),
            )
        }
    };
    let elapsed = value["elapsed_ms"]
        .as_f64()
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map_or(Duration::ZERO, |ms| Duration::from_secs_f64(ms / 1e3));
    if value["outcome"] == "connected" {
        Sample::ok(elapsed)
    } else {
        let error = value["error"].as_str().unwrap_or("failed");
        Sample::failed(elapsed, error)
    }
}

/// The Python script in one interpreter in the client namespace, to `host`.
pub fn python(
    lab: &Lab,
    tools: &Tools,
    mode: PyMode,
    delay: Option<f64>,
    host: &str,
    runs: usize,
    cap: Duration,
) -> Result<Vec<Sample>, String> {
    let mut command = lab
        .client_command(&tools.python)
        .map_err(|e| e.to_string())?;
    command
        .args(["-c", PYTHON_RACE, mode.arg()])
        .arg(delay.map_or_else(|| "none".to_owned(), |d| d.to_string()))
        .args([host, &PORT.to_string(), &runs.to_string()])
        .arg(cap.as_secs_f64().to_string())
        .arg(LONG_RUN.as_secs_f64().to_string())
        .stdin(Stdio::null());
    let output = no_proxy(&mut command)
        .output()
        .map_err(|e| format!("starting {}: {e}", tools.python.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let samples: Vec<Sample> = stdout.lines().filter_map(Sample::parse_line).collect();
    if !output.status.success() || samples.len() != runs {
        return Err(format!(
            "python {} exited with {} after {} of {runs} runs: {}",
            mode.arg(),
            output.status,
            samples.len(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(samples)
}

/// Runs a program once per run: the first alone, then the others one after another (with a
/// short gap), or all at once if the first took [`LONG_RUN`] or more (`elapsed` says how long
/// a run took: a history run is two connections).
pub fn per_process<T>(
    runs: usize,
    make: impl Fn() -> Result<Command, String>,
    parse: impl Fn(&Output) -> Result<T, String>,
    elapsed: impl Fn(&T) -> Duration,
) -> Result<Vec<T>, String> {
    let spawn = || -> Result<Child, String> {
        make()?
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting a contender: {e}"))
    };
    let wait = |child: Child| -> Result<T, String> {
        let output = child
            .wait_with_output()
            .map_err(|e| format!("waiting for a contender: {e}"))?;
        parse(&output)
    };
    let mut done = Vec::with_capacity(runs);
    if runs == 0 {
        return Ok(done);
    }
    let first = wait(spawn()?)?;
    let long = elapsed(&first) >= LONG_RUN;
    done.push(first);
    if long {
        let children: Vec<Child> = (1..runs).map(|_| spawn()).collect::<Result<_, _>>()?;
        for child in children {
            done.push(wait(child)?);
        }
    } else {
        for _ in 1..runs {
            std::thread::sleep(GAP);
            done.push(wait(spawn()?)?);
        }
    }
    Ok(done)
}

/// [`per_process`] for programs that make one connection per run.
fn per_process_once(
    runs: usize,
    make: impl Fn() -> Result<Command, String>,
    parse: impl Fn(&Output) -> Sample,
) -> Result<Vec<Sample>, String> {
    per_process(runs, make, |output| Ok(parse(output)), |s| s.elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn output(stdout: &str, code: i32) -> Output {
        Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn curl_output() {
        let ok = parse_curl(&output("0.251337 0.252001", 0));
        assert_eq!(ok, Sample::ok(Duration::from_micros(251_337)));
        let timeout = parse_curl(&output("0.000000 3.001200", 28));
        assert_eq!(timeout.elapsed, Duration::from_micros(3_001_200));
        assert_eq!(timeout.error.as_deref(), Some("timed out (curl exit 28)"));
        // Connected, then the HTTP exchange failed: still a connection.
        assert!(parse_curl(&output("0.001 0.002", 52)).error.is_none());
        assert!(parse_curl(&output("", 2)).error.is_some());
    }

    #[test]
    fn eyeballs_json_output() {
        let ok = parse_eyeballs_json(&output(
            r#"{"outcome":"connected","elapsed_ms":250.5,"error":null}"#,
            0,
        ));
        assert_eq!(ok, Sample::ok(Duration::from_micros(250_500)));
        let failed = parse_eyeballs_json(&output(
            r#"{"outcome":"failed","elapsed_ms":3000.2,"error":"timed out"}"#,
            1,
        ));
        assert_eq!(failed.error.as_deref(), Some("timed out"));
        assert_eq!(failed.elapsed, Duration::from_micros(3_000_200));
        assert!(parse_eyeballs_json(&output("not json", 2)).error.is_some());
    }
}
