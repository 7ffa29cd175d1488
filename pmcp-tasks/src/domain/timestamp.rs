//! A record's timestamps in JSON, exactly as chrono's serde writes them
//! (RFC 3339, UTC as `Z`, a fraction of 0, 3, 6 or 9 digits), without going
//! through `fmt`: every record is measured as JSON on every write (the
//! owner's byte quota), and chrono's formatting, a character at a time
//! through serde_json's escaping adapter, was a large part of that in a
//! profile. Reading is chrono's own.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The longest text the fast path writes: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

/// Writes `n` as `width` decimal digits, zero-padded, from `at` on.
fn digits(buf: &mut [u8; MAX_LEN], at: usize, width: usize, mut n: u32) -> usize {
    for i in (at..at + width).rev() {
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    at + width
}

/// `at` as chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes it,
/// for years 0 to 9999 (`None` for the others, which chrono writes with a
/// sign).
fn rfc3339(at: &DateTime<Utc>, buf: &mut [u8; MAX_LEN]) -> Option<usize> {
    // Each accessor of a `DateTime` converts it to local time again: once.
    let naive = at.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    let mut second = time.second();
    let mut nano = time.nanosecond();
    // chrono keeps a leap second as nanoseconds past 10⁹ and writes it as
    // second 60.
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut i = digits(buf, 0, 4, year);
    for (sep, value) in [
        (b'-', date.month()),
        (b'-', date.day()),
        (b'T', time.hour()),
    ] {
        buf[i] = sep;
        i = digits(buf, i + 1, 2, value);
    }
    for value in [time.minute(), second] {
        buf[i] = b':';
        i = digits(buf, i + 1, 2, value);
    }
    let (width, fraction) = match nano {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (3, n / 1_000_000),
        n if n % 1_000 == 0 => (6, n / 1_000),
        n => (9, n),
    };
    if width > 0 {
        buf[i] = b'.';
        i = digits(buf, i + 1, width, fraction);
    }
    buf[i] = b'Z';
    Some(i + 1)
}

/// Serializes as chrono does (see the module).
pub(crate) fn serialize<S: Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut buf = [0; MAX_LEN];
    match rfc3339(at, &mut buf) {
        // Only ASCII digits and separators were written.
        Some(len) => serializer.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default()),
        None => serde::Serialize::serialize(at, serializer),
    }
}

/// Deserializes as chrono does.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(deserializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, SecondsFormat, TimeZone};
    use proptest::prelude::*;

    #[derive(serde::Serialize)]
    struct Fast(#[serde(with = "super")] DateTime<Utc>);

    fn chrono_text(at: &DateTime<Utc>) -> String {
        serde_json::to_string(at).unwrap()
    }

    fn nanos() -> impl Strategy<Value = u32> {
        prop_oneof![
            Just(0u32),
            (0u32..1000).prop_map(|m| m * 1_000_000),
            (0u32..1_000_000).prop_map(|u| u * 1_000),
            0u32..1_000_000_000,
        ]
    }

    proptest! {
        #[test]
        fn writes_what_chrono_writes(secs in -62_167_219_200i64..253_402_300_800, nano in nanos()) {
            let at = Utc.timestamp_opt(secs, nano).unwrap();
            prop_assert_eq!(serde_json::to_string(&Fast(at)).unwrap(), chrono_text(&at));
            prop_assert_eq!(
                serde_json::to_string(&Fast(at)).unwrap(),
                format!("\"{}\"", at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            );
        }
    }

    #[test]
    fn years_outside_four_digits_and_leap_seconds_read_back() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let far = Utc.with_ymd_and_hms(12_345, 1, 2, 3, 4, 5).unwrap();
        let before = Utc.with_ymd_and_hms(-44, 3, 15, 12, 0, 0).unwrap();
        for at in [leap, far, before] {
            let text = serde_json::to_string(&Fast(at)).unwrap();
            assert_eq!(text, chrono_text(&at));
            let back: DateTime<Utc> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, at);
        }
        assert_eq!(chrono_text(&leap), "\"2016-12-31T23:59:60.500Z\"");
    }
}
