//! The one parser for quantities (availability, duration, rate, factor,
//! frequency), shared by the spec parser and the command line's flags.
//!
//! Availabilities are kept as their *unavailability* (`down`), computed from
//! the decimal digits so that `99.999%` is exactly `1e-5` down rather than
//! `1 - 0.99999` in floating point.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{char, digit1, space0, space1};
use nom::combinator::{all_consuming, map, opt, recognize, value};
use nom::multi::many1;
use nom::sequence::{pair, preceded, tuple};
use nom::IResult;

/// A probability of being up, stored as its complement for precision.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Availability {
    /// The probability of being down, in [0, 1].
    pub down: f64,
}

impl Availability {
    /// Perfect availability (100%).
    pub const PERFECT: Availability = Availability { down: 0.0 };

    /// From a probability of being down.
    pub fn from_down(down: f64) -> Self {
        Availability { down }
    }

    /// The probability of being up.
    pub fn up(self) -> f64 {
        1.0 - self.down
    }

    /// The number of nines, `-log10(down)` (infinite when perfect).
    pub fn nines(self) -> f64 {
        -self.down.log10()
    }
}

impl fmt::Display for Availability {
    /// Percent with enough digits to show the nines: `99.95%`, `99.999%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_percent(self.down))
    }
}

/// Formats an unavailability as an availability percentage with enough digits
/// to be distinguishable (`99.9987%`), never rounding up to 100% unless exact.
pub fn format_percent(down: f64) -> String {
    if down <= 0.0 {
        return "100%".to_string();
    }
    if down >= 1.0 {
        return "0%".to_string();
    }
    let pct_down = down * 100.0;
    // Digits after the point: enough to show two significant digits of `down`.
    let digits = ((-pct_down.log10()).ceil() as i32 + 1).clamp(0, 15) as usize;
    let mut text = format!("{:.*}", digits, 100.0 - pct_down);
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    if text == "100" {
        // Rounding must never claim perfection.
        text = format!("{:.*}", 15, 100.0 - pct_down);
    }
    format!("{text}%")
}

/// A span of time, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Duration {
    /// Seconds.
    pub seconds: f64,
}

impl Duration {
    /// From seconds.
    pub fn from_seconds(seconds: f64) -> Self {
        Duration { seconds }
    }
}

impl fmt::Display for Duration {
    /// The largest units that keep it exact-ish: `30d`, `1h30m`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.seconds))
    }
}

const UNITS: [(&str, f64); 7] = [
    ("y", 365.0 * 86400.0),
    ("w", 7.0 * 86400.0),
    ("d", 86400.0),
    ("h", 3600.0),
    ("m", 60.0),
    ("s", 1.0),
    ("ms", 0.001),
];

/// Formats seconds in spec syntax: whole units, largest first, at most two
/// parts (`1h30m`), falling back to a decimal of one unit.
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "forever".to_string();
    }
    if seconds < 0.0 {
        return format!("-{}", format_duration(-seconds));
    }
    if seconds == 0.0 {
        return "0s".to_string();
    }
    // Exact decomposition into whole units (weeks and years only when exact).
    let millis = (seconds * 1000.0).round();
    if (millis / 1000.0 - seconds).abs() <= 1e-9 * seconds.max(1.0) && millis < 1e15 {
        let mut rest = millis as u64;
        let mut parts = Vec::new();
        for (unit, size) in UNITS {
            let size_ms = (size * 1000.0) as u64;
            // Weeks only when they are exact (`2w`, not `4w2d` for 30 days).
            if unit == "w" && rest % size_ms != 0 {
                continue;
            }
            if rest >= size_ms {
                parts.push(format!("{}{unit}", rest / size_ms));
                rest %= size_ms;
            }
        }
        if parts.len() <= 2 {
            return parts.concat();
        }
    }
    // Otherwise the largest unit with a short decimal.
    for (unit, size) in UNITS {
        if seconds >= size {
            return format!("{}{unit}", trim_decimal(seconds / size, 2));
        }
    }
    format!("{}ms", trim_decimal(seconds * 1000.0, 3))
}

/// Formats seconds for people: `4h 19m`, `52.6s`, `1.2ms` (three significant
/// figures, at most two units).
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "∞".to_string();
    }
    if seconds < 0.0 {
        return format!("-{}", human_duration(-seconds));
    }
    if seconds == 0.0 {
        return "0s".to_string();
    }
    if seconds < 1e-3 {
        return format!("{}µs", trim_decimal(seconds * 1e6, 1));
    }
    if seconds < 1.0 {
        return format!("{}ms", trim_decimal(seconds * 1e3, 1));
    }
    if seconds < 60.0 {
        return format!("{}s", trim_decimal(seconds, 1));
    }
    let total = seconds.round() as u64;
    let (d, h, m, s) = (
        total / 86400,
        (total % 86400) / 3600,
        (total % 3600) / 60,
        total % 60,
    );
    if d > 0 {
        if h > 0 {
            format!("{d}d {h}h")
        } else {
            format!("{d}d")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h}h {m}m")
        } else {
            format!("{h}h")
        }
    } else if s > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{m}m")
    }
}

fn trim_decimal(value: f64, digits: usize) -> String {
    let mut text = format!("{value:.digits$}");
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    text
}

/// Requests per second.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate {
    /// Requests per second.
    pub per_second: f64,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.per_second;
        if r >= 1e9 && (r / 1e9).fract() == 0.0 {
            write!(f, "{}G rps", r / 1e9)
        } else if r >= 1e6 && ((r / 1e6) * 10.0).fract() == 0.0 {
            write!(f, "{}M rps", r / 1e6)
        } else if r >= 1e3 && ((r / 1e3) * 10.0).fract() == 0.0 {
            write!(f, "{}k rps", r / 1e3)
        } else {
            write!(f, "{} rps", r)
        }
    }
}

/// A multiplier such as a traffic peak (`3x`).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Factor(pub f64);

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x", self.0)
    }
}

/// Events per unit of time (`4/y`).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Frequency {
    /// Events per second.
    pub per_second: f64,
    /// The text's count and period, kept for display.
    pub count: f64,
    /// The period in seconds.
    pub period: f64,
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let period = format_duration(self.period);
        let period = period
            .strip_prefix('1')
            .filter(|p| p.chars().next().is_some_and(|c| c.is_ascii_alphabetic()));
        match period {
            Some(unit) => write!(f, "{}/{unit}", self.count),
            None => write!(f, "{}/{}", self.count, format_duration(self.period)),
        }
    }
}

/// Why a quantity's text was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantityError {
    /// What is wrong, for a diagnostic.
    pub message: String,
    /// What would be right.
    pub help: String,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QuantityError {}

fn error(message: impl Into<String>, help: impl Into<String>) -> QuantityError {
    QuantityError {
        message: message.into(),
        help: help.into(),
    }
}

// ------------------------------------------------------------ nom parsers --

fn decimal(input: &str) -> IResult<&str, &str> {
    recognize(tuple((
        opt(char('-')),
        digit1,
        opt(pair(char('.'), digit1)),
        opt(tuple((
            alt((char('e'), char('E'))),
            opt(alt((char('+'), char('-')))),
            digit1,
        ))),
    )))(input)
}

fn duration_unit(input: &str) -> IResult<&str, f64> {
    alt((
        value(0.001, tag("ms")),
        value(1.0, tag("s")),
        value(60.0, tag("m")),
        value(3600.0, tag("h")),
        value(86400.0, tag("d")),
        value(7.0 * 86400.0, tag("w")),
        value(365.0 * 86400.0, tag("y")),
    ))(input)
}

fn duration_parts(input: &str) -> IResult<&str, Vec<(&str, f64)>> {
    many1(pair(decimal, duration_unit))(input)
}

/// The unavailability given by a percentage's digits, exactly where the digits
/// allow (`99.999` → 1e-5 without rounding through 0.99999).
fn percent_down(digits: &str) -> Option<f64> {
    if digits.contains(['e', 'E', '-']) {
        return None;
    }
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.len() + frac.len() > 30 {
        return None;
    }
    let scale = 10u128.checked_pow(frac.len() as u32)?;
    let n: u128 = format!("{whole}{frac}").parse().ok()?;
    let hundred = 100u128.checked_mul(scale)?;
    let down = hundred.checked_sub(n)?;
    Some(down as f64 / hundred as f64)
}

/// Parses an availability: `99.95%` or `4 nines` / `4.5 nines`.
pub fn parse_availability(text: &str) -> Result<Availability, QuantityError> {
    let text = text.trim();
    let percent = all_consuming(pair(decimal, preceded(space0, char('%'))))(text);
    if let Ok((_, (digits, _))) = percent {
        let pct: f64 = digits
            .parse()
            .map_err(|_| error(format!("`{digits}` is not a number"), "write e.g. 99.95%"))?;
        if !pct.is_finite() || !(0.0..=100.0).contains(&pct) || pct == 0.0 {
            return Err(error(
                format!("availability `{text}` is out of range"),
                "an availability is above 0% and at most 100%",
            ));
        }
        let down = percent_down(digits).unwrap_or((100.0 - pct) / 100.0);
        return Ok(Availability { down });
    }
    let nines = all_consuming(pair(decimal, preceded(space1, tag("nines"))))(text);
    if let Ok((_, (digits, _))) = nines {
        let n: f64 = digits
            .parse()
            .map_err(|_| error(format!("`{digits}` is not a number"), "write e.g. 4 nines"))?;
        if !n.is_finite() || n <= 0.0 {
            return Err(error(
                format!("availability `{text}` is out of range"),
                "a count of nines is above 0 (`N nines` means 1 - 10^-N)",
            ));
        }
        return Ok(Availability {
            down: 10f64.powf(-n),
        });
    }
    Err(error(
        format!("`{text}` is not an availability"),
        "write a percentage such as `99.95%` or a count of nines such as `4 nines`",
    ))
}

/// Parses a duration: `250ms`, `30s`, `10m`, `4h`, `30d`, `2w`, `1y`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, QuantityError> {
    let text = text.trim();
    let parts = all_consuming(duration_parts)(text).map_err(|_| {
        error(
            format!("`{text}` is not a duration"),
            "write a number with a unit: ms, s, m, h, d, w or y (365 d), e.g. `30s` or `1h30m`",
        )
    })?;
    let mut seconds = 0.0;
    for (digits, unit) in parts.1 {
        let n: f64 = digits
            .parse()
            .map_err(|_| error(format!("`{digits}` is not a number"), "e.g. 30s"))?;
        seconds += n * unit;
    }
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(error(
            format!("duration `{text}` is out of range"),
            "a duration is a finite, non-negative time",
        ));
    }
    Ok(Duration { seconds })
}

/// Parses a rate: `200 rps`, `40k rps`, `1.5M rps`, `2G rps`.
pub fn parse_rate(text: &str) -> Result<Rate, QuantityError> {
    let text = text.trim();
    let suffix = alt((
        value(1e3, char('k')),
        value(1e6, char('M')),
        value(1e9, char('G')),
    ));
    let parsed = all_consuming(tuple((
        decimal,
        map(opt(suffix), |s| s.unwrap_or(1.0)),
        preceded(space1, tag("rps")),
    )))(text);
    let (_, (digits, scale, _)) = parsed.map_err(|_| {
        error(
            format!("`{text}` is not a rate"),
            "write requests per second, e.g. `200 rps`, `40k rps` or `1.5M rps`",
        )
    })?;
    let n: f64 = digits
        .parse()
        .map_err(|_| error(format!("`{digits}` is not a number"), "e.g. 40k rps"))?;
    let per_second = n * scale;
    if !per_second.is_finite() || per_second < 0.0 {
        return Err(error(
            format!("rate `{text}` is out of range"),
            "a rate is finite and not negative",
        ));
    }
    Ok(Rate { per_second })
}

/// Parses a factor: `3x`, `1.5x`.
pub fn parse_factor(text: &str) -> Result<Factor, QuantityError> {
    let text = text.trim();
    let (_, (digits, _)) = all_consuming(pair(decimal, char('x')))(text)
        .map_err(|_| error(format!("`{text}` is not a factor"), "write e.g. `3x`"))?;
    let n: f64 = digits
        .parse()
        .map_err(|_| error(format!("`{digits}` is not a number"), "e.g. 3x"))?;
    if !n.is_finite() || n <= 0.0 {
        return Err(error(
            format!("factor `{text}` is out of range"),
            "a factor is above 0",
        ));
    }
    Ok(Factor(n))
}

/// Parses a frequency: `4/y`, `2/w`, `1/90d`.
pub fn parse_frequency(text: &str) -> Result<Frequency, QuantityError> {
    let text = text.trim();
    let parsed = all_consuming(tuple((decimal, char('/'), opt(decimal), duration_unit)))(text);
    let (_, (digits, _, period_digits, unit)) = parsed.map_err(|_| {
        error(
            format!("`{text}` is not a frequency"),
            "write a count per period, e.g. `4/y`, `2/w` or `1/90d`",
        )
    })?;
    let count: f64 = digits
        .parse()
        .map_err(|_| error(format!("`{digits}` is not a number"), "e.g. 4/y"))?;
    let periods: f64 = match period_digits {
        Some(p) => p
            .parse()
            .map_err(|_| error(format!("`{p}` is not a number"), "e.g. 1/90d"))?,
        None => 1.0,
    };
    let period = periods * unit;
    if !count.is_finite() || count < 0.0 || !period.is_finite() || period <= 0.0 {
        return Err(error(
            format!("frequency `{text}` is out of range"),
            "a frequency is a non-negative count over a positive period",
        ));
    }
    Ok(Frequency {
        per_second: count / period,
        count,
        period,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_percent_keeps_digits() {
        assert_eq!(parse_availability("99.999%").unwrap().down, 1e-5);
        assert_eq!(parse_availability("99.95%").unwrap().down, 5e-4);
        assert_eq!(parse_availability("100%").unwrap().down, 0.0);
        assert_eq!(parse_availability("99%").unwrap().down, 0.01);
    }

    #[test]
    fn availability_nines() {
        assert_eq!(parse_availability("4 nines").unwrap().down, 1e-4);
        let a = parse_availability("4.5 nines").unwrap();
        assert!((a.down - 10f64.powf(-4.5)).abs() < 1e-18);
    }

    #[test]
    fn availability_out_of_range() {
        for bad in ["100.5%", "-1%", "0 nines", "0%", "99.9", "nines"] {
            assert!(parse_availability(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap().seconds, 0.25);
        assert_eq!(parse_duration("1h30m").unwrap().seconds, 5400.0);
        assert_eq!(parse_duration("1y").unwrap().seconds, 365.0 * 86400.0);
        assert_eq!(parse_duration("2w").unwrap().seconds, 14.0 * 86400.0);
        assert!(parse_duration("10min").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_duration("1e400s").is_err());
    }

    #[test]
    fn rates_factors_frequencies() {
        assert_eq!(parse_rate("40k rps").unwrap().per_second, 40_000.0);
        assert_eq!(parse_rate("1.5M rps").unwrap().per_second, 1_500_000.0);
        assert_eq!(parse_factor("3x").unwrap().0, 3.0);
        let f = parse_frequency("4/y").unwrap();
        assert!((f.per_second * 365.0 * 86400.0 - 4.0).abs() < 1e-12);
        assert_eq!(parse_frequency("1/90d").unwrap().period, 90.0 * 86400.0);
    }

    #[test]
    fn formatting_round_trips() {
        for text in ["30d", "1h30m", "250ms", "45s", "1y", "2w"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d.seconds), text);
        }
        assert_eq!(format_percent(5e-4), "99.95%");
        assert_eq!(format_percent(1e-5), "99.999%");
        assert_eq!(format_percent(1.3e-5), "99.9987%");
        assert_eq!(human_duration(21.6 * 60.0), "21m 36s");
        assert_eq!(human_duration(4.0 * 3600.0 + 19.0 * 60.0), "4h 19m");
    }
}
