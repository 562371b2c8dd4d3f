//! Durations on the command line: `250ms`, `2s`, `1.5s`, `100us`, `1m`.

use std::time::Duration;

/// Parses a duration: a non-negative number (decimals allowed) and a unit (`us`, `ms`, `s`,
/// `m`). A bare number is refused: the unit is part of the value.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{text:?} has no unit: write it like 250ms, 2s or 1.5s"))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write it like 250ms, 2s or 1.5s"))?;
    let scale = match unit {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit {unit:?}: use us, ms, s or m"
            ))
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("0ms"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            "250",
            "ms",
            "-1s",
            "1.2.3s",
            "5h",
            "1e3ms",
            "abc",
            "99999999999999999999s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
