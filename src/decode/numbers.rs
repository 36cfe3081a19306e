//! The protocol numbers the capture and decode code compares against, in one place: EtherTypes
//! (IEEE registry), IP protocol numbers (IANA), loopback address families, and the link types
//! ([`LinkType`]'s constants). Code in `capture` and `decode` uses these names, not literals.

pub use crate::capture::LinkType;

pub use crate::ether::{ether_type, ip_proto};

/// Address families in the 4-byte header of BSD loopback captures (NULL and LOOP link types):
/// AF_INET everywhere, AF_INET6 as each BSD numbers it.
pub mod loopback_family {
    /// AF_INET.
    pub const INET: u32 = 2;
    /// AF_INET6 on NetBSD, OpenBSD and BSD/OS.
    pub const INET6_BSD: u32 = 24;
    /// AF_INET6 on FreeBSD.
    pub const INET6_FREEBSD: u32 = 28;
    /// AF_INET6 on Darwin.
    pub const INET6_DARWIN: u32 = 30;
}
