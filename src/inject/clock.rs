//! Send timestamps: the wall clock in nanoseconds, so that the analysis can place the send before
//! the first capture of the probe (formatted with [`crate::time::rfc3339_nanos`]).

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch now (0 if the clock is before 1970).
pub fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)).unwrap_or(0)
}

/// `ns` since the epoch as RFC 3339 UTC with nine fractional digits (saturating at i64's range,
/// year 2262).
pub fn rfc3339_ns(ns: u64) -> String {
    crate::time::rfc3339_nanos(i64::try_from(ns).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339_ns(1_764_186_000_123_456_789), "2025-11-26T19:40:00.123456789Z");
        assert_eq!(rfc3339_ns(951_782_400_000_000_001), "2000-02-29T00:00:00.000000001Z");
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ns() > 1_577_836_800_000_000_000);
    }
}
