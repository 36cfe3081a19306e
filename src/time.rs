//! RFC 3339 timestamps with nanoseconds, shared by every stage that reports a time (send records,
//! sightings, observations). Civil-date conversion after Howard Hinnant's `civil_from_days`.

/// Formats nanoseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (UTC).
pub fn rfc3339_nanos(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// The local time zone's offset from UTC at `ns` (seconds east), from the C library's
/// `localtime_r` (so `TZ` is honoured); `None` when it cannot say.
pub fn local_offset_secs(ns: i64) -> Option<i64> {
    let secs = libc::time_t::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    // SAFETY: localtime_r writes only into the zeroed `tm` it is given.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return None;
        }
        Some(tm.tm_gmtoff)
    }
}

/// Formats `ns` like [`rfc3339_nanos`] but in the zone `offset_secs` east of UTC:
/// `2026-11-26T21:47:57.665073000+01:00`.
pub fn rfc3339_nanos_at(ns: i64, offset_secs: i64) -> String {
    let shifted = rfc3339_nanos(ns.saturating_add(offset_secs.saturating_mul(1_000_000_000)));
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let a = offset_secs.unsigned_abs();
    format!("{}{sign}{:02}:{:02}", shifted.trim_end_matches('Z'), a / 3600, (a % 3600) / 60)
}

/// Year, month (1..=12), day (1..=31) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a time as a user writes it on the command line: RFC 3339
/// (`2026-11-26T20:33:22.790Z`, `2026-11-26T21:33:22+01:00`, fraction optional) or Unix seconds
/// (`1764189202.79`). Nanoseconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some((secs, frac)) = s.split_once('.').filter(|(a, _)| a.bytes().all(|b| b.is_ascii_digit())) {
        if frac.bytes().all(|b| b.is_ascii_digit()) && !frac.is_empty() && frac.len() <= 9 {
            let ns: i64 = format!("{frac:0<9}").parse().ok()?;
            return secs.parse::<i64>().ok()?.checked_mul(1_000_000_000)?.checked_add(ns);
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1_000_000_000);
    }
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = format!("{:0<9}", &r[..digits]).parse().ok()?;
        rest = &r[digits..];
    }
    let offset_s: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = rest[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(sec) - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints_and_what_users_type() {
        for ns in [0, 1_700_000_000_123_456_789, 951_782_400_000_000_000, 1_764_189_202_790_345_000] {
            assert_eq!(parse_time(&rfc3339_nanos(ns)), Some(ns));
        }
        assert_eq!(parse_time("2023-11-14T23:13:20+01:00"), Some(1_700_000_000_000_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20.5Z"), Some(1_700_000_000_500_000_000));
        assert_eq!(parse_time("1700000000.25"), Some(1_700_000_000_250_000_000));
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000_000_000_000));
        for bad in ["", "yesterday", "2023-13-01T00:00:00Z", "2023-11-14T22:13:20", "2023-11-14T22:13:20.Z"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339_nanos(1_700_000_000_123_456_789), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(rfc3339_nanos(951_782_400_000_000_000), "2000-02-29T00:00:00.000000000Z");
        assert_eq!(rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
    }
}
