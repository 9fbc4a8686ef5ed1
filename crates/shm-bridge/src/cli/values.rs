//! Parsers for the numbers users type, range-checked so that no value can
//! overflow the arithmetic done with it later.

use std::time::Duration;

/// The longest time a command may be asked to run or wait: a year. Longer
/// is no one's intent and would overflow clock arithmetic.
pub const MAX_SECONDS: u64 = 365 * 24 * 3600;

/// A number of seconds, fractions allowed, from 0 to [`MAX_SECONDS`].
pub fn seconds(text: &str) -> Result<Duration, String> {
    let refuse = || {
        format!(
            "{text:?} is not a number of seconds from 0 to {MAX_SECONDS} (a year), such as 10 or 2.5"
        )
    };
    let value: f64 = text.trim().parse().map_err(|_| refuse())?;
    if !(value.is_finite() && (0.0..=MAX_SECONDS as f64).contains(&value)) {
        return Err(refuse());
    }
    Duration::try_from_secs_f64(value).map_err(|_| refuse())
}

/// An octal file mode such as 600 or 0644, with no bits beyond 0777.
pub fn mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{text:?} is not an octal file mode such as 600 or 644"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_finite_non_negative_and_at_most_a_year() {
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        assert_eq!(seconds("31536000"), Ok(Duration::from_secs(MAX_SECONDS)));
        for bad in ["-1", "1e30", "1e19", "NaN", "inf", "", "x", "31536001"] {
            let err = seconds(bad).unwrap_err();
            assert!(err.contains("a year"), "{bad}: {err}");
        }
    }

    #[test]
    fn modes_are_octal_permission_bits() {
        assert_eq!(mode("600"), Ok(0o600));
        assert_eq!(mode("0644"), Ok(0o644));
        for bad in ["8", "1777", "-1", "", "rw"] {
            assert!(mode(bad).is_err(), "{bad}");
        }
    }
}
