//! Capability checks: read the effective set from `/proc/self/status` so that a missing
//! CAP_NET_RAW is reported before any namespace is entered or socket opened.

/// Bit number of CAP_NET_RAW (linux/capability.h).
pub const CAP_NET_RAW: u32 = 13;
/// Bit number of CAP_SYS_ADMIN, which `setns` needs.
pub const CAP_SYS_ADMIN: u32 = 21;

/// Whether the effective capability set in a `/proc/PID/status` text has `bit` set. `None` when
/// the text has no parsable `CapEff:` line (then the caller lets the kernel decide).
pub fn status_has_cap(status: &str, bit: u32) -> Option<bool> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    let mask = u64::from_str_radix(hex, 16).ok()?;
    Some(bit < 64 && mask & (1u64 << bit) != 0)
}

/// Whether this process has capability `bit` in its effective set; `None` when that cannot be
/// read (no procfs), in which case the operation itself will tell.
pub fn has_capability(bit: u32) -> Option<bool> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status_has_cap(&status, bit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str =
        "Name:\thoptrace\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
    const NO_RAW: &str = "Name:\thoptrace\nCapEff:\t000001ffffffdfff\n";

    #[test]
    fn reads_the_effective_set() {
        assert_eq!(status_has_cap(ROOT, CAP_NET_RAW), Some(true));
        assert_eq!(status_has_cap(NO_RAW, CAP_NET_RAW), Some(false));
        assert_eq!(status_has_cap(NO_RAW, CAP_SYS_ADMIN), Some(true));
        assert_eq!(status_has_cap("CapEff:\t0000000000002000\n", CAP_NET_RAW), Some(true));
        assert_eq!(status_has_cap("CapEff:\t0000000000000000\n", CAP_NET_RAW), Some(false));
    }

    #[test]
    fn unreadable_status_is_unknown() {
        assert_eq!(status_has_cap("Name:\tx\n", CAP_NET_RAW), None);
        assert_eq!(status_has_cap("CapEff:\tzz\n", CAP_NET_RAW), None);
        assert_eq!(status_has_cap("", CAP_NET_RAW), None);
    }

    #[test]
    fn this_process_has_a_readable_set() {
        assert!(has_capability(CAP_NET_RAW).is_some());
    }
}
