//! Fuzz the frame decoder (link layers, IP, tunnels, transports) and the fingerprint match: the
//! first byte picks the link type, the rest is the frame. Also checks that the tag prefilter
//! agrees with the full decoder. The limits are set here: the decoder must not allocate at all
//! (every allocation during a decode aborts the run), and the tunnel depth stays bounded.
#![no_main]

use hoptrace::capture::LinkType;
use hoptrace::decode::{decode, match_fingerprint, may_carry_tag, FlowTuple, Prefilter};
use hoptrace::probe::Fingerprint;
use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Set while the decoder runs: an allocation then is a finding.
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

struct NoAllocWhileDecoding;

unsafe impl GlobalAlloc for NoAllocWhileDecoding {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if DECODING.with(|d| d.get()) {
            return std::ptr::null_mut(); // the allocation error handler aborts: a finding
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: NoAllocWhileDecoding = NoAllocWhileDecoding;

const LINK_TYPES: [LinkType; 10] = [
    LinkType::ETHERNET,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::RAW,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::RAW_BSD,
    LinkType::RAW_OPENBSD,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link = LINK_TYPES[selector as usize % LINK_TYPES.len()];
    DECODING.with(|d| d.set(true));
    let d = decode(link, frame);
    let fp_dscp = d.ip.map(|ip| ip.dscp);
    let prefilter_ok = fp_dscp.is_none_or(|dscp| may_carry_tag(dscp, link, frame));
    DECODING.with(|d| d.set(false));
    assert!(d.depth <= hoptrace::decode::MAX_TUNNEL_DEPTH);
    // The prefilter must never skip a frame whose innermost header carries the tag.
    assert!(prefilter_ok, "prefilter rejected DSCP {fp_dscp:?}");
    if let Some(ip) = d.ip {
        // Nor a frame whose innermost header has a 5-tuple's addresses and protocol, under
        // another tag.
        let tuple = FlowTuple { src: ip.src, dst: ip.dst, protocol: ip.protocol, src_port: None, dst_port: None };
        let other_tag = ip.dscp ^ 1;
        assert!(Prefilter::new(other_tag, &[tuple]).may_match(link, frame), "prefilter rejected a 5-tuple");
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
