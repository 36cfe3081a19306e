//! Capture files and frames built in memory: classic pcap (little-endian, µs), pcapng with named
//! interfaces, resolutions and EPB direction flags, Ethernet/IPv4/UDP frames, Geneve
//! encapsulation and DNAT-like rewrites. Self-contained, so that `benches/scan.rs` and
//! `examples/gen_capture.rs` include this file alone.

#![allow(dead_code)]

use std::path::Path;

/// Writes frames as an Ethernet pcap.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut f = std::fs::File::create(path).unwrap();
    let refs: Vec<(std::time::Duration, &[u8])> =
        frames.iter().enumerate().map(|(i, fr)| (std::time::Duration::from_secs(i as u64), fr.as_slice())).collect();
    hoptrace::export::pcap::write_pcap(&mut f, &refs).unwrap();
}

/// A classic pcap file header (LE, µs).
pub fn pcap_header(link_type: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    v.extend(0xa1b2c3d4u32.to_le_bytes());
    v.extend(2u16.to_le_bytes());
    v.extend(4u16.to_le_bytes());
    v.extend(0i32.to_le_bytes());
    v.extend(0u32.to_le_bytes());
    v.extend(262144u32.to_le_bytes());
    v.extend(link_type.to_le_bytes());
    v
}

/// Appends one classic pcap record.
pub fn pcap_record(out: &mut Vec<u8>, ts_us: u64, frame: &[u8]) {
    out.extend(((ts_us / 1_000_000) as u32).to_le_bytes());
    out.extend(((ts_us % 1_000_000) as u32).to_le_bytes());
    out.extend((frame.len() as u32).to_le_bytes());
    out.extend((frame.len() as u32).to_le_bytes());
    out.extend(frame);
}

fn block(out: &mut Vec<u8>, block_type: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    out.extend(block_type.to_le_bytes());
    out.extend(total.to_le_bytes());
    out.extend(body);
    out.extend(std::iter::repeat_n(0u8, padded - body.len()));
    out.extend(total.to_le_bytes());
}

fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend(code.to_le_bytes());
    out.extend((value.len() as u16).to_le_bytes());
    out.extend(value);
    out.extend(std::iter::repeat_n(0u8, value.len().div_ceil(4) * 4 - value.len()));
}

/// A pcapng Section Header Block (LE, version 1.0).
pub fn pcapng_section() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(0x1a2b3c4du32.to_le_bytes());
    body.extend(1u16.to_le_bytes());
    body.extend(0u16.to_le_bytes());
    body.extend((-1i64).to_le_bytes());
    let mut out = Vec::new();
    block(&mut out, 0x0a0d0d0a, &body);
    out
}

/// Appends an Interface Description Block with `if_name` and `if_tsresol` (10^-tsresol s).
pub fn pcapng_interface(out: &mut Vec<u8>, link_type: u16, name: &str, tsresol: u8) {
    let mut body = Vec::new();
    body.extend(link_type.to_le_bytes());
    body.extend(0u16.to_le_bytes());
    body.extend(262144u32.to_le_bytes());
    option(&mut body, 2, name.as_bytes());
    option(&mut body, 9, &[tsresol]);
    option(&mut body, 0, &[]);
    block(out, 1, &body);
}

/// Appends an Enhanced Packet Block; `flags` is `epb_flags` (1 inbound, 2 outbound) when set.
pub fn pcapng_packet(out: &mut Vec<u8>, if_id: u32, ticks: u64, frame: &[u8], flags: Option<u32>) {
    let mut body = Vec::new();
    body.extend(if_id.to_le_bytes());
    body.extend(((ticks >> 32) as u32).to_le_bytes());
    body.extend((ticks as u32).to_le_bytes());
    body.extend((frame.len() as u32).to_le_bytes());
    body.extend((frame.len() as u32).to_le_bytes());
    body.extend(frame);
    body.extend(std::iter::repeat_n(0u8, frame.len().div_ceil(4) * 4 - frame.len()));
    if let Some(f) = flags {
        option(&mut body, 2, &f.to_le_bytes());
        option(&mut body, 0, &[]);
    }
    block(out, 6, &body);
}

/// An Ethernet/IPv4/UDP frame from `src` to `dst` carrying `payload`.
pub fn udp_frame(src: [u8; 4], dst: [u8; 4], src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([0x02, 0, 0, 0, 0, 0xaa], [0x02, 0, 0, 0, 0, 0xbb])
        .ipv4(src, dst, 64)
        .udp(src_port, dst_port);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).expect("frame");
    out
}

/// `frame` (an Ethernet frame) inside Geneve with `vni`, between two node IPs.
pub fn geneve(frame: &[u8], vni: u32, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut payload = vec![0u8, 0, 0x65, 0x58, (vni >> 16) as u8, (vni >> 8) as u8, vni as u8, 0];
    payload.extend(frame);
    udp_frame(src, dst, 50000, 6081, &payload)
}

/// Sets the IPv4 destination and TTL of an Ethernet/IPv4 frame (as DNAT and a router would).
pub fn translate(frame: &[u8], new_dst: [u8; 4], ttl: u8) -> Vec<u8> {
    let mut f = frame.to_vec();
    f[14 + 8] = ttl;
    f[14 + 16..14 + 20].copy_from_slice(&new_dst);
    f
}

/// Decodes lowercase hex.
pub fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex")).collect()
}
