//! Why an injection was refused or failed. Every message says where (interface, namespace) and,
//! where the user can do something about it, what.

use std::io;

/// How the user can get the privilege to open a raw socket; shared by the two places that detect
/// its absence (the capability check and an `EPERM` from the socket itself).
pub const HOW_TO_GET_CAP_NET_RAW: &str = "run it as root, give the binary the capability \
(`sudo setcap cap_net_raw+ep $(which hoptrace)`), or run it as root inside the Pod's namespace \
(`sudo nsenter -t PID -n hoptrace inject ...`)";

/// A refusal or failure of `hoptrace inject`. Refusals happen before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// The process lacks CAP_NET_RAW (checked before the socket is opened, or the socket said EPERM).
    #[error("sending a raw frame needs CAP_NET_RAW, which this process does not have: {HOW_TO_GET_CAP_NET_RAW}; nothing was sent")]
    NoCapNetRaw,
    /// The namespace file could not be opened.
    #[error("network namespace {label}: cannot open {path}: {source}")]
    NetnsOpen {
        /// The namespace as the user named it.
        label: String,
        /// The file tried.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// `setns` failed.
    #[error("network namespace {label}: cannot enter {path}: {reason}")]
    NetnsEnter {
        /// The namespace as the user named it.
        label: String,
        /// The file tried.
        path: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// No interface of that name in the namespace.
    #[error("interface {iface:?} does not exist in {place} (interfaces there: {available}); nothing was sent")]
    NoSuchInterface {
        /// The interface asked for.
        iface: String,
        /// "network namespace X" or "the current network namespace".
        place: String,
        /// Comma-separated names of the interfaces that do exist.
        available: String,
    },
    /// The interface does not carry Ethernet frames (a tun device, WireGuard, ...).
    #[error("interface {iface} in {place} is not an Ethernet interface (link type {link_type}) and the probe is an Ethernet frame; nothing was sent")]
    NotEthernet {
        /// The interface.
        iface: String,
        /// Where it is.
        place: String,
        /// Its `ARPHRD_*` type.
        link_type: u16,
    },
    /// The interface is administratively down.
    #[error("interface {iface} in {place} is down (`ip link set {iface} up` brings it up); nothing was sent")]
    InterfaceDown {
        /// The interface.
        iface: String,
        /// Where it is.
        place: String,
    },
    /// The interface is up but its link is not (a veth whose peer is down, no cable).
    #[error("interface {iface} in {place} is up but has no carrier (its peer or link is down), so the frame would go nowhere; nothing was sent")]
    NoCarrier {
        /// The interface.
        iface: String,
        /// Where it is.
        place: String,
    },
    /// The frame does not fit the interface's MTU.
    #[error("the {frame_len}-byte frame carries a {l3_len}-byte IP packet, larger than the MTU {mtu} of {iface} in {place}; nothing was sent")]
    FrameTooLarge {
        /// The interface.
        iface: String,
        /// Where it is.
        place: String,
        /// The whole frame.
        frame_len: usize,
        /// The frame without its 14-byte Ethernet header.
        l3_len: usize,
        /// The interface MTU.
        mtu: u32,
    },
    /// The frame is not even an Ethernet header.
    #[error("the probe's frame is {0} bytes, shorter than an Ethernet header; nothing was sent")]
    FrameTooShort(usize),
    /// Querying the interface failed for another reason.
    #[error("interface {iface} in {place}: cannot read its {what}: {source}")]
    Query {
        /// The interface.
        iface: String,
        /// Where it is.
        place: String,
        /// Which property.
        what: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The raw socket could not be opened.
    #[error("interface {iface} in {place}: cannot open a raw socket: {source}; nothing was sent")]
    Socket {
        /// The interface.
        iface: String,
        /// Where it is.
        place: String,
        /// The OS error.
        source: io::Error,
    },
    /// Sending failed after `sent` copies went out.
    #[error("interface {iface} in {place}: sending copy {copy} failed: {source} ({sent} copies were sent)")]
    Send {
        /// The interface.
        iface: String,
        /// Where it is.
        place: String,
        /// The copy that failed (1-based).
        copy: u32,
        /// How many went out before.
        sent: u32,
        /// The OS error.
        source: io::Error,
    },
    /// Stopped by a signal between two copies.
    #[error("interrupted; copies sent before the signal: {sent}")]
    Interrupted {
        /// How many went out.
        sent: u32,
    },
    /// The copies cannot be built (e.g. `--vary-id` on a probe whose frame does not match its fields).
    #[error("{0}; nothing was sent")]
    Copies(String),
    /// The namespace thread panicked (a bug).
    #[error("internal error: the injection thread panicked")]
    ThreadPanicked,
}
