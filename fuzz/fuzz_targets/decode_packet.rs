//! Fuzz the frame decoder (link layers, IP, tunnels, transports) and the fingerprint match: the
//! first byte picks the link type, the rest is the frame. Also checks that the tag prefilter
//! agrees with the full decoder.
#![no_main]

use hoptrace::capture::LinkType;
use hoptrace::decode::{decode, match_fingerprint, may_carry_tag};
use hoptrace::probe::Fingerprint;
use libfuzzer_sys::fuzz_target;

const LINK_TYPES: [u32; 9] = [1, 113, 276, 101, 228, 229, 0, 108, 12];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link = LinkType(LINK_TYPES[selector as usize % LINK_TYPES.len()]);
    let d = decode(link, frame);
    assert!(d.depth <= hoptrace::decode::MAX_TUNNEL_DEPTH);
    if let Some(ip) = d.ip {
        // The prefilter must never skip a frame whose innermost header carries the tag.
        assert!(may_carry_tag(ip.dscp, link, frame), "prefilter rejected DSCP {}", ip.dscp);
        let fp = Fingerprint {
            dscp: ip.dscp,
            ip_version: ip.version,
            protocol: ip.protocol,
            ipv4_id: ip.identification,
            flow_label: ip.flow_label,
            icmp_type: Some(8),
            icmp_id: Some(0),
            icmp_seq: Some(0),
            tcp_seq: Some(0),
            udp_length: Some(8),
            sctp_initiate_tag: Some(0),
        };
        let _ = match_fingerprint(&fp, &ip, d.transport.as_ref());
    }
});
