//! Decoding captured frames and finding the probe in them: link layers, tunnels (our own small
//! byte views), the innermost IP + transport (etherparse), and the sightings of the probe's
//! fingerprint. [`scan`] runs it over many capture files in parallel.

pub mod bytes;
pub mod evidence;
pub mod geneve;
pub mod gre;
pub mod identity;
pub mod layers;
pub mod numbers;
pub mod prefilter;
pub mod scan;
pub mod sighting;
pub mod sll;
pub mod stt;
pub mod transport;
pub mod tuple;
pub mod vxlan;

pub use layers::{decode, Decoded, EthInfo, IpInfo, Stop, TunnelInfo, TunnelKind, MAX_TUNNEL_DEPTH};
pub use prefilter::{may_carry_tag, Prefilter};
pub use sighting::{is_reply, match_fingerprint, Match, Sighting};
pub use transport::TransportInfo;
pub use tuple::FlowTuple;
