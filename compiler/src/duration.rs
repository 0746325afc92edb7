//! The one duration grammar (spec section 2): an integer (seconds), or an integer followed by
//! one unit, `s`, `m`, `h` or `d`. Nothing else: no blanks, no fractions, no other units, no
//! sums (`1h 30m`). The schema's pattern ([`PATTERN`]) says the same, so editors agree.

/// The accepted forms, for messages and the schema's descriptions.
pub const FORMS: &str =
    "whole seconds (`90`) or one integer with one unit s, m, h or d (`90s`, `10m`, `12h`, `1d`)";

/// The JSON Schema pattern of a duration string (digits alone mean seconds).
pub const PATTERN: &str = "^[0-9]+[smhd]?$";

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not of the form `<digits>[s|m|h|d]`.
    Form,
    /// The form is right but the number does not fit 64 bits.
    TooLarge,
}

/// Parses a duration string into whole seconds.
pub fn parse(text: &str) -> Result<u64, Error> {
    let (digits, unit) = match text.as_bytes().last() {
        Some(b's') => (&text[..text.len() - 1], 1),
        Some(b'm') => (&text[..text.len() - 1], 60),
        Some(b'h') => (&text[..text.len() - 1], 3600),
        Some(b'd') => (&text[..text.len() - 1], 86_400),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Form);
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or(Error::TooLarge)
}

/// Seconds for people: the largest unit that divides them exactly (`90 s`, `10 min`, `1 h`,
/// `365 d`).
pub fn human(secs: u64) -> String {
    match secs {
        0 => "0 s".to_owned(),
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// A range of seconds for people: `1 s to 1 h`.
pub fn human_range(range: &std::ops::RangeInclusive<u64>) -> String {
    format!("{} to {}", human(*range.start()), human(*range.end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_forms_and_nothing_else() {
        assert_eq!(parse("90"), Ok(90));
        assert_eq!(parse("90s"), Ok(90));
        assert_eq!(parse("10m"), Ok(600));
        assert_eq!(parse("12h"), Ok(43_200));
        assert_eq!(parse("1d"), Ok(86_400));
        assert_eq!(parse("0"), Ok(0));
        for bad in [
            "",
            "s",
            "500ms",
            "1h 30m",
            "10 sec",
            "1month",
            "1 hour",
            "1w",
            "1.5s",
            "-1",
            "+1",
            " 1s",
            "1s ",
            "10x",
            "ten seconds",
            "1S",
            "1dd",
            "١s",
        ] {
            assert_eq!(parse(bad), Err(Error::Form), "{bad:?}");
        }
        assert_eq!(parse("99999999999999999999"), Err(Error::TooLarge));
        assert_eq!(parse("999999999999999999d"), Err(Error::TooLarge));
    }

    #[test]
    fn limits_read_as_durations() {
        assert_eq!(human_range(&(1..=86_400)), "1 s to 1 d");
        assert_eq!(human_range(&(0..=31_536_000)), "0 s to 365 d");
        assert_eq!(human_range(&(1..=3600)), "1 s to 1 h");
        assert_eq!(human(90), "90 s");
        assert_eq!(human(600), "10 min");
    }
}
