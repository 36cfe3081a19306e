//! The dataplane tag: the DSCP value that marks the probe (antrea-traceflow.md §2).

use std::fmt;

/// Antrea's tag pool: the RFC 2474 "local use" codepoints `xxxx11` from 7 to 59.
pub const ANTREA_TAG_POOL: [u8; 14] = [7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59];

/// A DSCP value (1..=63) used to tag the probe; the IPv4 ToS / IPv6 Traffic Class byte is `tag << 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u8);

/// Why a requested tag cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TagError {
    /// DSCP is six bits and 0 means "untagged".
    #[error("tag {0} is out of range: a DSCP tag is 1..=63")]
    OutOfRange(u32),
    /// Every tag of Antrea's pool is already in use by flows in the given dumps.
    #[error("every tag of Antrea's pool (7, 11, ..., 59) is in use by a running Traceflow")]
    PoolExhausted,
}

impl Tag {
    /// Validates a DSCP value as a tag.
    pub fn new(value: u32) -> Result<Tag, TagError> {
        if (1..=63).contains(&value) {
            Ok(Tag(value as u8))
        } else {
            Err(TagError::OutOfRange(value))
        }
    }

    /// Picks Antrea's way: the lowest pool value not listed in `in_use`.
    pub fn auto(in_use: &[u8]) -> Result<Tag, TagError> {
        ANTREA_TAG_POOL.iter().find(|t| !in_use.contains(t)).map(|&t| Tag(t)).ok_or(TagError::PoolExhausted)
    }

    /// The DSCP value.
    pub fn dscp(self) -> u8 {
        self.0
    }

    /// The ToS / Traffic Class byte with ECN 0 (what `nw_tos=` shows in flow dumps).
    pub fn tos(self) -> u8 {
        self.0 << 2
    }

    /// Whether Antrea itself could allocate this tag.
    pub fn in_antrea_pool(self) -> bool {
        ANTREA_TAG_POOL.contains(&self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_range() {
        assert_eq!(Tag::auto(&[]).unwrap().dscp(), 7);
        assert_eq!(Tag::auto(&[7, 11]).unwrap().dscp(), 15);
        assert_eq!(Tag::auto(&ANTREA_TAG_POOL), Err(TagError::PoolExhausted));
        assert_eq!(Tag::new(7).unwrap().tos(), 28);
        assert_eq!(Tag::new(59).unwrap().tos(), 236);
        assert!(Tag::new(0).is_err());
        assert!(Tag::new(64).is_err());
        assert!(!Tag::new(8).unwrap().in_antrea_pool());
    }
}
