//! STIX and TAXII timestamps, compared as instants.
//!
//! STIX allows any number of fractional digits (`...59.444Z` and `...59.444000Z` are the same
//! instant) and TAXII prints exactly six. Values are held as nanoseconds-of-second plus seconds
//! since the epoch, so comparison never depends on how a client spelled the instant.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant with nanosecond resolution, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {value:?}: {reason}")]
pub struct TimestampError {
    pub value: String,
    pub reason: &'static str,
}

impl Timestamp {
    pub const fn from_parts(secs: i64, nanos: u32) -> Self {
        Timestamp { secs, nanos }
    }

    pub fn from_micros(micros: i64) -> Self {
        Timestamp { secs: micros.div_euclid(1_000_000), nanos: (micros.rem_euclid(1_000_000) * 1000) as u32 }
    }

    /// Microseconds since the epoch, truncating any finer digits.
    pub fn as_micros(&self) -> i64 {
        self.secs * 1_000_000 + i64::from(self.nanos / 1000)
    }

    pub fn secs(&self) -> i64 {
        self.secs
    }

    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    pub fn now() -> Self {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp { secs: d.as_secs() as i64, nanos: d.subsec_nanos() }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f+]Z` (RFC 3339 in UTC, as STIX requires). Lower-case `t`/`z`
    /// are refused, as is any offset other than `Z`.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let err = |reason| TimestampError { value: s.to_string(), reason };
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let part = &b[range];
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(err("expected digits"));
            }
            Ok(part.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
        };
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(err("date out of range"));
        }
        // A leap second (:60) is legal RFC 3339 but has no distinct instant here.
        if hour > 23 || minute > 59 || second > 60 {
            return Err(err("time out of range"));
        }
        let mut nanos: u32 = 0;
        let rest = &b[19..];
        let tail = match rest.first() {
            Some(b'.') => {
                let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    return Err(err("empty fraction"));
                }
                for (i, d) in rest[1..=digits].iter().enumerate() {
                    if i < 9 {
                        nanos = nanos * 10 + u32::from(d - b'0');
                    }
                }
                for _ in digits..9 {
                    nanos *= 10;
                }
                &rest[1 + digits..]
            }
            _ => rest,
        };
        if tail != b"Z" {
            return Err(err("must end in Z (UTC)"));
        }
        let days = days_from_civil(year, month as u32, day as u32);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59);
        Ok(Timestamp { secs, nanos })
    }

    /// `(year, month, day, hour, minute, second)` in UTC.
    pub fn civil(&self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, (rem / 3600) as u32, ((rem % 3600) / 60) as u32, (rem % 60) as u32)
    }

    /// TAXII form: exactly six fractional digits.
    pub fn to_taxii(&self) -> String {
        self.fixed(self.nanos / 1000, 6)
    }

    /// STIX form with millisecond precision, the minimum STIX asks of `created`/`modified`.
    pub fn to_stix_millis(&self) -> String {
        self.fixed(self.nanos / 1_000_000, 3)
    }

    /// A fixed-width string whose byte order is the instant order (nine fractional digits), used
    /// as a storage key for versions.
    pub fn sort_key(&self) -> String {
        self.fixed(self.nanos, 9)
    }

    /// `YYYY-MM-DDTHH:MM:SS.` then `frac` in `digits` digits, then `Z`. Written digit by digit:
    /// every version stored and served prints one or more of these, and `format!` with widths
    /// was 3% of a backfill's CPU. Years outside 0..=9999 (no STIX timestamp has one) keep
    /// `format!`'s spelling.
    fn fixed(&self, frac: u32, digits: usize) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        if !(0..=9999).contains(&y) {
            return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:0digits$}Z");
        }
        let mut out = String::with_capacity(21 + digits);
        push_digits(&mut out, y as u32, 4);
        out.push('-');
        push_digits(&mut out, mo, 2);
        out.push('-');
        push_digits(&mut out, d, 2);
        out.push('T');
        push_digits(&mut out, h, 2);
        out.push(':');
        push_digits(&mut out, mi, 2);
        out.push(':');
        push_digits(&mut out, s, 2);
        out.push('.');
        push_digits(&mut out, frac, digits);
        out.push('Z');
        out
    }

    pub fn plus_secs(&self, secs: i64) -> Self {
        Timestamp { secs: self.secs + secs, nanos: self.nanos }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_taxii())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_taxii())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// `value`'s last `width` decimal digits, zero-padded (width at most 10).
fn push_digits(out: &mut String, mut value: u32, width: usize) {
    let mut buf = [b'0'; 10];
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend(buf[..width].iter().map(|&b| char::from(b)));
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_forms_are_format_s_spelling() {
        let format = |t: &Timestamp, frac: u32, digits: usize| {
            let (y, mo, d, h, mi, s) = t.civil();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:0digits$}Z")
        };
        // Both ends of the four-digit years, around them, and a spread of instants between.
        let mut secs: Vec<i64> = vec![-62_167_219_200, -62_167_219_201, 253_402_300_799, 253_402_300_800, 0, -1, 1];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            secs.push((x % 253_402_300_800) as i64 - (x >> 60) as i64 * 1_000_000);
        }
        for (n, secs) in secs.into_iter().enumerate() {
            let nanos = ((n as u64).wrapping_mul(2_654_435_761) % 1_000_000_000) as u32;
            let t = Timestamp::from_parts(secs, nanos);
            assert_eq!(t.sort_key(), format(&t, nanos, 9));
            assert_eq!(t.to_taxii(), format(&t, nanos / 1000, 6));
            assert_eq!(t.to_stix_millis(), format(&t, nanos / 1_000_000, 3));
        }
    }

    #[test]
    fn fractional_digits_compare_as_instants() {
        let a = Timestamp::parse("2016-05-12T08:17:27.444Z").unwrap();
        let b = Timestamp::parse("2016-05-12T08:17:27.444000Z").unwrap();
        let c = Timestamp::parse("2016-05-12T08:17:27.4440001Z").unwrap();
        assert_eq!(a, b);
        assert!(c > a);
        assert_eq!(a.to_taxii(), "2016-05-12T08:17:27.444000Z");
        assert_eq!(Timestamp::parse("2016-05-12T08:17:27Z").unwrap().to_taxii(), "2016-05-12T08:17:27.000000Z");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "2016-05-12 08:17:27Z",
            "2016-05-12T08:17:27",
            "2016-05-12T08:17:27+01:00",
            "2016-13-12T08:17:27Z",
            "2015-02-29T08:17:27Z",
            "2016-05-12T08:17:27.Z",
            "2016-05-12t08:17:27Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn micros_round_trip_and_civil() {
        let t = Timestamp::parse("2025-11-13T00:00:00.123456Z").unwrap();
        assert_eq!(Timestamp::from_micros(t.as_micros()), t);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(Timestamp::parse("1969-12-31T23:59:59.5Z").unwrap().as_micros(), -500_000);
    }

    proptest::proptest! {
        #[test]
        fn order_matches_sort_key(a in -10_000_000_000i64..100_000_000_000, b in 0u32..1_000_000_000, c in -10_000_000_000i64..100_000_000_000, d in 0u32..1_000_000_000) {
            let x = Timestamp::from_parts(a, b);
            let y = Timestamp::from_parts(c, d);
            proptest::prop_assert_eq!(x.cmp(&y), x.sort_key().cmp(&y.sort_key()));
            proptest::prop_assert_eq!(Timestamp::parse(&x.sort_key()).unwrap(), x);
        }
    }
}
