//! Durations on the command line: `250ms`, `2s`, `1.5s`, `100us`, `1m`.
//!
//! The number is read exactly, in whole nanoseconds (no floating point), so every value that
//! fits a [`Duration`] is accepted as written, up to `18446744073709551615s` (`u64::MAX`
//! seconds), and everything else (too large, negative, an exponent, no unit) is refused with a
//! message that clap prints as a usage error (exit status 2). How the engine treats a huge
//! value is its own rule: a deadline too far away to be represented is never reached.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Nanoseconds per unit, for each unit the parser knows.
const UNITS: [(&str, u128); 6] = [
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
];

const NANOS_PER_SEC: u128 = 1_000_000_000;

const HOW: &str = "write it like 250ms, 2s or 1.5s";

/// Parses a duration: a non-negative decimal number and a unit (`us`, `ms`, `s`, `m`). A
/// bare number is refused: the unit is part of the value. Digits below one nanosecond are
/// dropped (`1.0000000009s` is 1 s).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("the duration is empty: {HOW}"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{text:?} has no unit: {HOW}"))?;
    let (number, unit) = text.split_at(split);
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, scale)| scale)
        .ok_or_else(|| {
            if unit.starts_with(['-', '+']) || number.is_empty() {
                format!("{text:?} is not a duration: {HOW}")
            } else {
                format!("{text:?} has an unknown unit {unit:?}: use us, ms, s or m")
            }
        })?;
    let not_a_number = || format!("{text:?} is not a duration: {HOW}");
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return Err(not_a_number());
    }
    let too_long = || format!("{text:?} is too long: the longest is 18446744073709551615s");
    // Whole units, in nanoseconds; u128 holds u64::MAX seconds with room to spare, and the
    // checked steps refuse the longer digit strings that do not.
    let mut nanos: u128 = 0;
    for digit in whole.bytes() {
        nanos = nanos
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(digit - b'0')))
            .ok_or_else(too_long)?;
    }
    nanos = nanos.checked_mul(scale).ok_or_else(too_long)?;
    // The fraction, digit by digit: each is worth a tenth of the one before.
    let mut place = scale;
    for digit in fraction.bytes() {
        place /= 10;
        if place == 0 {
            break;
        }
        nanos += u128::from(digit - b'0') * place;
    }
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| too_long())?;
    // The remainder is below 10^9, so it fits a u32.
    let subsec = (nanos % NANOS_PER_SEC) as u32;
    Ok(Duration::new(secs, subsec))
}

/// A duration as given on the command line: parsed by [`parse`], shown in the same form (so
/// a default taken from [`eyeballs::Config::default`] reads `250ms` in `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl fmt::Display for Dur {
    /// The largest unit that shows the value exactly: `2s`, `250ms`, `100us`, else
    /// nanoseconds as a fraction of a microsecond (`1.5us`). [`parse`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        let nanos = d.subsec_nanos();
        if nanos == 0 {
            write!(f, "{}s", d.as_secs())
        } else if nanos % 1_000_000 == 0 {
            write!(f, "{}ms", d.as_millis())
        } else if nanos % 1_000 == 0 {
            write!(f, "{}us", d.as_micros())
        } else {
            write!(f, "{}.{:03}us", d.as_micros(), nanos % 1_000)
        }
    }
}

impl Dur {
    /// [`parse`], as a clap value parser.
    pub fn parse(text: &str) -> Result<Dur, String> {
        parse(text).map(Dur)
    }
}

impl FromStr for Dur {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse(text).map(Dur)
    }
}

impl From<Dur> for Duration {
    fn from(d: Dur) -> Duration {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse(".5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2.s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("100us"), Ok(Duration::from_micros(100)));
        assert_eq!(parse("1.5us"), Ok(Duration::from_nanos(1500)));
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("0.25min"), Ok(Duration::from_secs(15)));
        assert_eq!(parse("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse("1.0000000009s"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn accepts_everything_that_fits_a_duration() {
        assert_eq!(
            parse("9223372036854775807s"),
            Ok(Duration::from_secs(i64::MAX as u64))
        );
        assert_eq!(
            parse("18446744073709551615s"),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse("18446744073709551615.999999999s"), Ok(Duration::MAX));
        assert_eq!(
            parse("18446744073709551615999ms"),
            Ok(Duration::from_secs(u64::MAX) + Duration::from_millis(999))
        );
        assert_eq!(
            parse("307445734561825860m"),
            Ok(Duration::from_secs(307_445_734_561_825_860 * 60))
        );
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            " ",
            "250",
            "ms",
            ".ms",
            "-1s",
            "+1s",
            "1.2.3s",
            "5h",
            "1e3ms",
            "1e30s",
            "abc",
            "18446744073709551616s",
            "307445734561825861m",
            "99999999999999999999s",
            "999999999999999999999999999999999999999999999999999s",
            "1 s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_reads_back() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(250),
            Duration::from_millis(50),
            Duration::from_secs(2),
            Duration::from_micros(1500),
            Duration::from_nanos(1),
            Duration::from_nanos(1_000_000_001),
            Duration::MAX,
        ] {
            let text = Dur(d).to_string();
            assert_eq!(parse(&text), Ok(d), "{text}");
        }
        assert_eq!(Dur(Duration::from_millis(250)).to_string(), "250ms");
        assert_eq!(Dur(Duration::from_secs(10)).to_string(), "10s");
    }
}
