//! Antrea release versions, as agentinfo's `version` writes them (`v2.6.0`, `v1.15.1`,
//! `v2.8.0-dev`, `v1.4.0-3d2c1b0`), and the differences between releases that change how a
//! bundle is read: fixed table ids before v1.6, OpenFlow 1.3 dumps (no `idle_age`) before v1.8,
//! no `groups` file before v2.0, `ForwardedOutOfOverlay` up to v2.4, no `networkInfo` in
//! agentinfo before v2.6.

use serde::Serialize;
use std::fmt;

/// An Antrea release (`major.minor.patch`; pre-release and build suffixes are dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AntreaVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl AntreaVersion {
    /// `major.minor.0`.
    pub const fn new(major: u32, minor: u32) -> AntreaVersion {
        AntreaVersion { major, minor, patch: 0 }
    }

    /// Parses `v2.6.0`, `2.6.0`, `v2.6`, `v2.8.0-dev`, `v1.4.0-3d2c1b0`; `None` for anything else.
    pub fn parse(s: &str) -> Option<AntreaVersion> {
        let s = s.trim();
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let core = s.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let num = |p: Option<&str>| -> Option<u32> {
            let p = p?;
            (!p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok())?
        };
        let major = num(parts.next())?;
        let minor = num(parts.next())?;
        let patch = match parts.next() {
            None => 0,
            p => num(p)?,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(AntreaVersion { major, minor, patch })
    }

    /// Whether this release is `major.minor` or later.
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        self >= AntreaVersion::new(major, minor)
    }

    /// Whether the agent numbered its OVS tables with the fixed ids of releases before v1.6
    /// (see [`super::tables::LEGACY`]); later releases allocate ids in pipeline order.
    pub fn fixed_table_ids(self) -> bool {
        !self.at_least(1, 6)
    }

    /// Whether the agent's bundle has a `groups` file (v2.0 and later).
    pub fn dumps_groups(self) -> bool {
        self.at_least(2, 0)
    }

    /// Whether the agent reports a probe leaving through the gateway in an encap-capable mode
    /// (encap, hybrid) as `ForwardedOutOfOverlay`, for every destination: v2.4 and earlier.
    /// v2.5.0 (antrea-io/antrea#7481, in its 2.5.0 changelog) removed that action for
    /// `ForwardedOutOfNetwork`, and made an inter-Node Pod destination in hybrid mode
    /// `Forwarded`.
    pub fn says_forwarded_out_of_overlay(self) -> bool {
        !self.at_least(2, 5)
    }
}

impl fmt::Display for AntreaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_agents_write_them() {
        let v = |s| AntreaVersion::parse(s);
        assert_eq!(v("v2.6.0"), Some(AntreaVersion { major: 2, minor: 6, patch: 0 }));
        assert_eq!(v("1.15.1"), Some(AntreaVersion { major: 1, minor: 15, patch: 1 }));
        assert_eq!(v("v2.8.0-dev"), Some(AntreaVersion::new(2, 8)));
        assert!(v("v2.4.3").unwrap().says_forwarded_out_of_overlay());
        assert!(!v("v2.5.0").unwrap().says_forwarded_out_of_overlay());
        assert_eq!(v("v1.4.0-3d2c1b0"), Some(AntreaVersion::new(1, 4)));
        assert_eq!(v("v2.6"), Some(AntreaVersion::new(2, 6)));
        assert_eq!(v(""), None);
        assert_eq!(v("latest"), None);
        assert_eq!(v("v1.2.3.4"), None);
        assert_eq!(v("v99999999.1"), None);
        assert!(v("v1.5.9").unwrap().fixed_table_ids());
        assert!(!v("v1.6.0").unwrap().fixed_table_ids());
        assert!(!v("v1.15.0").unwrap().dumps_groups());
        assert!(v("v2.0.0").unwrap().dumps_groups());
        assert_eq!(v("v1.10.2").unwrap().to_string(), "v1.10.2");
    }
}
