//! Runs and their summaries: median, p90, max, how many connected.

use std::time::Duration;

/// One timed run of a contender.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// From the call to the connected socket or to the error, as the contender timed it.
    pub elapsed: Duration,
    /// `None` if it connected, else what went wrong.
    pub error: Option<String>,
}

impl Sample {
    /// A run that connected after `elapsed`.
    pub fn ok(elapsed: Duration) -> Self {
        Sample {
            elapsed,
            error: None,
        }
    }

    /// A run that failed after `elapsed`.
    pub fn failed(elapsed: Duration, error: impl Into<String>) -> Self {
        Sample {
            elapsed,
            error: Some(error.into()),
        }
    }

    /// The line a child process prints for this run: `ok MS` or `fail MS REASON`.
    pub fn to_line(&self) -> String {
        let ms = self.elapsed.as_secs_f64() * 1e3;
        match &self.error {
            None => format!("ok {ms:.3}"),
            Some(e) => format!("fail {ms:.3} {}", e.replace('\n', " ")),
        }
    }

    /// Parses a line of [`Sample::to_line`]'s format; `None` if it is not one.
    pub fn parse_line(line: &str) -> Option<Self> {
        let mut words = line.trim().splitn(3, ' ');
        let status = words.next()?;
        let ms: f64 = words.next()?.parse().ok()?;
        if !ms.is_finite() || ms < 0.0 {
            return None;
        }
        let elapsed = Duration::from_secs_f64(ms / 1e3);
        match status {
            "ok" => Some(Sample::ok(elapsed)),
            "fail" => Some(Sample::failed(
                elapsed,
                words.next().unwrap_or("failed").to_owned(),
            )),
            _ => None,
        }
    }
}

/// Median, p90 and max of a set of runs, and how many of them connected.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// How many runs.
    pub runs: usize,
    /// How many connected.
    pub connected: usize,
    /// The median time (the mean of the two middle values for an even count).
    pub median: Duration,
    /// The 90th percentile, nearest rank: the smallest time at least 90 % of runs took no
    /// longer than.
    pub p90: Duration,
    /// The longest run.
    pub max: Duration,
    /// The most common error among the failed runs, if any failed.
    pub error: Option<String>,
}

impl Summary {
    /// Summarises `samples`; `None` if there are none.
    pub fn of(samples: &[Sample]) -> Option<Self> {
        let mut times: Vec<Duration> = samples.iter().map(|s| s.elapsed).collect();
        times.sort_unstable();
        Some(Summary {
            runs: samples.len(),
            connected: samples.iter().filter(|s| s.error.is_none()).count(),
            median: median(&times)?,
            p90: percentile(&times, 90)?,
            max: *times.last()?,
            error: most_common(samples.iter().filter_map(|s| s.error.as_deref())),
        })
    }

    /// A summary as tests need one: `runs` runs, `connected` of them connected, these times,
    /// `error` as the failed runs' error (none if every run connected).
    #[cfg(test)]
    pub fn fixture(
        runs: usize,
        connected: usize,
        [median, p90, max]: [Duration; 3],
        error: &str,
    ) -> Self {
        Summary {
            runs,
            connected,
            median,
            p90,
            max,
            error: (connected < runs).then(|| error.to_owned()),
        }
    }

    /// Whether every run connected.
    pub fn all_connected(&self) -> bool {
        self.connected == self.runs
    }
}

/// The median of sorted `times`; `None` if empty.
pub fn median(sorted: &[Duration]) -> Option<Duration> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        sorted.get(n / 2).copied()
    } else {
        let (a, b) = (sorted.get(n / 2 - 1)?, sorted.get(n / 2)?);
        Some((*a + *b) / 2)
    }
}

/// The `p`th percentile of sorted `times` by nearest rank (`p` in 1..=100): the value at
/// rank ceil(p/100 × n); `None` if empty.
pub fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p.clamp(1, 100) * n).div_ceil(100);
    sorted.get(rank.max(1) - 1).copied()
}

/// The median of unsorted values (for figures other than times); `None` if empty.
pub fn median_f64(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        v.get(n / 2).copied()
    } else {
        Some((v.get(n / 2 - 1)? + v.get(n / 2)?) / 2.0)
    }
}

/// The most frequent string (the first one seen among equals).
fn most_common<'a>(items: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(s, _)| *s == item) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(s, _)| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[ms(5)]), Some(ms(5)));
        assert_eq!(median(&[ms(1), ms(2), ms(9)]), Some(ms(2)));
        assert_eq!(median(&[ms(1), ms(2), ms(4), ms(9)]), Some(ms(3)));
    }

    #[test]
    fn p90_is_nearest_rank() {
        let twenty: Vec<Duration> = (1..=20).map(ms).collect();
        // rank ceil(0.9 × 20) = 18
        assert_eq!(percentile(&twenty, 90), Some(ms(18)));
        let ten: Vec<Duration> = (1..=10).map(ms).collect();
        assert_eq!(percentile(&ten, 90), Some(ms(9)));
        let five: Vec<Duration> = (1..=5).map(ms).collect();
        // rank ceil(4.5) = 5: with five runs p90 is the max.
        assert_eq!(percentile(&five, 90), Some(ms(5)));
        assert_eq!(percentile(&[ms(7)], 90), Some(ms(7)));
        assert_eq!(percentile(&[], 90), None);
        assert_eq!(percentile(&twenty, 100), Some(ms(20)));
    }

    #[test]
    fn summary_counts_failures_and_sorts() {
        let samples = vec![
            Sample::ok(ms(30)),
            Sample::failed(ms(3000), "timed out"),
            Sample::ok(ms(10)),
            Sample::ok(ms(20)),
            Sample::failed(ms(3001), "timed out"),
            Sample::failed(ms(5), "refused"),
        ];
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.runs, 6);
        assert_eq!(s.connected, 3);
        assert!(!s.all_connected());
        assert_eq!(s.median, ms(25));
        assert_eq!(s.p90, ms(3001));
        assert_eq!(s.max, ms(3001));
        assert_eq!(s.error.as_deref(), Some("timed out"));
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn sample_lines_round_trip() {
        let ok = Sample::ok(Duration::from_micros(251_250));
        assert_eq!(ok.to_line(), "ok 251.250");
        assert_eq!(Sample::parse_line("ok 251.250"), Some(ok));
        let failed = Sample::parse_line("fail 3000.5 timed out after 3s\n").unwrap();
        assert_eq!(failed.error.as_deref(), Some("timed out after 3s"));
        assert_eq!(failed.elapsed, Duration::from_micros(3_000_500));
        assert_eq!(
            Sample::failed(ms(2), "a\nb").to_line(),
            "fail 2.000 a b".to_owned()
        );
        for junk in ["", "ok", "ok x", "maybe 1.0", "ok -1", "ok NaN"] {
            assert_eq!(Sample::parse_line(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn median_f64_ignores_non_finite() {
        assert_eq!(median_f64(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_f64(&[4.0, 1.0, f64::NAN, 2.0, 3.0]), Some(2.5));
        assert_eq!(median_f64(&[]), None);
    }
}
