//! The frames to send: the probe's frame, with the Ethernet addresses optionally replaced, once per
//! copy; with `--vary-id` each copy is re-crafted with its own IPv4 ID / IPv6 flow label so that
//! every copy can be told apart on the path.

use crate::addr::MacAddr;
use crate::probe::{craft_frame, Probe};

/// Replacement Ethernet addresses. MACs are in no checksum, so nothing else changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MacOverrides {
    /// New source MAC (`--src-mac-from-iface`).
    pub src: Option<MacAddr>,
    /// New destination MAC (`--dst-mac`).
    pub dst: Option<MacAddr>,
}

/// One copy to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFrame {
    /// 1-based copy number.
    pub copy: u32,
    /// The bytes.
    pub frame: Vec<u8>,
    /// The IPv4 ID this copy carries (IPv4 probes).
    pub ipv4_id: Option<u16>,
    /// The flow label this copy carries (IPv6 probes).
    pub flow_label: Option<u32>,
}

/// Writes the overriding addresses into an Ethernet frame (at least 12 bytes long).
pub fn apply_macs(frame: &mut [u8], macs: MacOverrides) {
    if let (Some(dst), Some(slot)) = (macs.dst, frame.get_mut(0..6)) {
        slot.copy_from_slice(&dst.octets());
    }
    if let (Some(src), Some(slot)) = (macs.src, frame.get_mut(6..12)) {
        slot.copy_from_slice(&src.octets());
    }
}

/// The largest flow label (20 bits).
const FLOW_LABEL_MAX: u32 = 0xf_ffff;

/// The IPv4 ID of copy `k` (1-based): the probe's for copy 1, then counting up (wrapping).
pub fn varied_ipv4_id(base: u16, k: u32) -> u16 {
    base.wrapping_add((k.wrapping_sub(1) & 0xffff) as u16)
}

/// The flow label of copy `k`: the probe's for copy 1, then counting up through 1..=0xfffff
/// (0 means "no label" and is skipped).
pub fn varied_flow_label(base: u32, k: u32) -> u32 {
    let start = base.clamp(1, FLOW_LABEL_MAX) - 1;
    (start + k.saturating_sub(1) % FLOW_LABEL_MAX) % FLOW_LABEL_MAX + 1
}

/// Plans `count` copies of `probe`'s frame with `macs` applied; with `vary_id` each copy gets its
/// own IPv4 ID / flow label (copy 1 keeps the probe's). `--vary-id` re-crafts from the probe's
/// header fields, so it refuses a document whose frame does not match them (a hand-edited frame).
pub fn plan_copies(probe: &Probe, macs: MacOverrides, count: u32, vary_id: bool) -> Result<Vec<CopyFrame>, String> {
    let mut frame = probe.frame_bytes()?;
    if frame.len() < 14 {
        return Err(format!("the probe's frame is {} bytes, shorter than an Ethernet header", frame.len()));
    }
    apply_macs(&mut frame, macs);
    let (ipv4_id, flow_label) = (probe.ip.identification, probe.ip.flow_label);
    if !vary_id {
        return Ok((1..=count).map(|copy| CopyFrame { copy, frame: frame.clone(), ipv4_id, flow_label }).collect());
    }
    let mut spec = probe.spec()?;
    if let Some(src) = macs.src {
        spec.src_mac = src;
    }
    if let Some(dst) = macs.dst {
        spec.dst_mac = dst;
    }
    let recrafted = craft_frame(&spec).map_err(|e| e.to_string())?;
    if recrafted != frame {
        return Err("--vary-id re-crafts every copy from the probe's header fields, but its frame.hex differs from \
                    what those fields give (was the frame edited?); inject it without --vary-id"
            .to_string());
    }
    let v6 = spec.is_ipv6();
    let (base_id, base_label) = (spec.ipv4_id, spec.flow_label);
    (1..=count)
        .map(|copy| {
            if v6 {
                spec.flow_label = varied_flow_label(base_label, copy);
            } else {
                spec.ipv4_id = varied_ipv4_id(base_id, copy);
            }
            let frame = craft_frame(&spec).map_err(|e| e.to_string())?;
            Ok(CopyFrame {
                copy,
                frame,
                ipv4_id: (!v6).then_some(spec.ipv4_id),
                flow_label: v6.then_some(spec.flow_label),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::filter::capture_filter;
    use crate::probe::{ProbeSpec, Tag, Transport};
    use etherparse::{LaxNetSlice, LaxSlicedPacket};

    fn probe(v6: bool) -> Probe {
        let spec = ProbeSpec {
            src_mac: "02:00:00:00:01:05".parse().unwrap(),
            dst_mac: "02:00:00:00:01:01".parse().unwrap(),
            src_ip: if v6 { "fd00::5".parse().unwrap() } else { "10.10.1.5".parse().unwrap() },
            dst_ip: if v6 { "fd00::6".parse().unwrap() } else { "10.10.2.5".parse().unwrap() },
            tag: Tag::new(7).unwrap(),
            ttl: 64,
            ipv4_flags: 0,
            ipv4_id: 0xfffe,
            flow_label: 0xffffe,
            transport: Transport::Udp { src_port: 40000, dst_port: 53 },
        };
        let frame = craft_frame(&spec).unwrap();
        Probe::new(&spec, &frame, capture_filter(spec.tag, v6))
    }

    #[test]
    fn plain_copies_are_the_probe_frame() {
        let p = probe(false);
        let copies = plan_copies(&p, MacOverrides::default(), 3, false).unwrap();
        assert_eq!(copies.len(), 3);
        assert!(copies.iter().all(|c| c.frame == p.frame_bytes().unwrap() && c.ipv4_id == Some(0xfffe)));
        assert_eq!(copies.iter().map(|c| c.copy).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn mac_overrides_change_only_the_addresses() {
        let p = probe(false);
        let src: MacAddr = "0a:0b:0c:0d:0e:0f".parse().unwrap();
        let dst: MacAddr = "aa:bb:cc:dd:ee:ff".parse().unwrap();
        let c = &plan_copies(&p, MacOverrides { src: Some(src), dst: Some(dst) }, 1, false).unwrap()[0];
        let orig = p.frame_bytes().unwrap();
        assert_eq!(&c.frame[0..6], &dst.octets());
        assert_eq!(&c.frame[6..12], &src.octets());
        assert_eq!(&c.frame[12..], &orig[12..]);
        // The same overrides with --vary-id give the same copy 1.
        let v = &plan_copies(&p, MacOverrides { src: Some(src), dst: Some(dst) }, 1, true).unwrap()[0];
        assert_eq!(v.frame, c.frame);
    }

    #[test]
    fn vary_id_gives_each_ipv4_copy_its_own_id() {
        let p = probe(false);
        let copies = plan_copies(&p, MacOverrides::default(), 3, true).unwrap();
        assert_eq!(copies.iter().map(|c| c.ipv4_id.unwrap()).collect::<Vec<_>>(), [0xfffe, 0xffff, 0]);
        for c in &copies {
            let pkt = LaxSlicedPacket::from_ethernet(&c.frame).unwrap();
            let Some(LaxNetSlice::Ipv4(ip)) = pkt.net else { panic!("not IPv4") };
            assert_eq!(ip.header().identification(), c.ipv4_id.unwrap());
            assert_eq!(ip.header().dcp().value(), 7);
            let h = ip.header().to_header();
            assert_eq!(h.header_checksum, h.calc_header_checksum());
        }
    }

    #[test]
    fn vary_id_gives_each_ipv6_copy_its_own_label() {
        let p = probe(true);
        let copies = plan_copies(&p, MacOverrides::default(), 3, true).unwrap();
        assert_eq!(copies.iter().map(|c| c.flow_label.unwrap()).collect::<Vec<_>>(), [0xffffe, 0xfffff, 1]);
        assert!(copies.iter().all(|c| c.ipv4_id.is_none()));
    }

    #[test]
    fn vary_id_refuses_an_edited_frame() {
        let mut p = probe(false);
        p.frame.hex.replace_range(p.frame.hex.len() - 2.., "00");
        let e = plan_copies(&p, MacOverrides::default(), 2, true).unwrap_err();
        assert!(e.contains("differs"), "{e}");
        assert_eq!(plan_copies(&p, MacOverrides::default(), 2, false).unwrap().len(), 2);
    }

    #[test]
    fn label_sequence_stays_in_range() {
        assert_eq!(varied_flow_label(1, 1), 1);
        assert_eq!(varied_flow_label(0xfffff, 2), 1);
        assert_eq!(varied_flow_label(0, 1), 1);
        for k in 1..50 {
            let l = varied_flow_label(0xfffd0, k * 1000);
            assert!((1..=0xfffff).contains(&l));
        }
        assert_eq!(varied_ipv4_id(10, 1), 10);
        assert_eq!(varied_ipv4_id(10, 3), 12);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::probe::filter::capture_filter;
    use crate::probe::{ProbeSpec, Tag, Transport};
    use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
    use proptest::prelude::*;

    proptest! {
        /// Every --vary-id copy parses back with its own ID, the probe's tag and valid checksums,
        /// and differs from the probe's frame only in the ID and the checksums that cover it.
        #[test]
        fn varied_ipv4_copies_parse_back(id in any::<u16>(), tag in 1u32..64, sport in any::<u16>(), count in 1u32..40) {
            let spec = ProbeSpec {
                src_mac: "02:00:00:00:01:05".parse().unwrap(),
                dst_mac: "02:00:00:00:01:01".parse().unwrap(),
                src_ip: "10.10.1.5".parse().unwrap(),
                dst_ip: "10.96.0.10".parse().unwrap(),
                tag: Tag::new(tag).unwrap(),
                ttl: 64,
                ipv4_flags: 0,
                ipv4_id: id,
                flow_label: 1,
                transport: Transport::Udp { src_port: sport, dst_port: 53 },
            };
            let frame = craft_frame(&spec).unwrap();
            let probe = Probe::new(&spec, &frame, capture_filter(spec.tag, false));
            let copies = plan_copies(&probe, MacOverrides::default(), count, true).unwrap();
            prop_assert_eq!(copies.len() as u32, count);
            for c in &copies {
                let want = varied_ipv4_id(id, c.copy);
                prop_assert_eq!(c.ipv4_id, Some(want));
                let pkt = LaxSlicedPacket::from_ethernet(&c.frame).unwrap();
                let Some(LaxNetSlice::Ipv4(ip)) = &pkt.net else { panic!("not IPv4") };
                let h = ip.header().to_header();
                prop_assert_eq!(h.identification, want);
                prop_assert_eq!(u32::from(h.dscp.value()), tag);
                prop_assert_eq!(h.header_checksum, h.calc_header_checksum());
                let Some(TransportSlice::Udp(udp)) = &pkt.transport else { panic!("not UDP") };
                prop_assert_eq!(udp.checksum(), udp.to_header().calc_checksum_ipv4(&h, &[]).unwrap());
                // Bytes 18..20 (ID) and 24..26 (header checksum) change; nothing else.
                for (i, (a, b)) in c.frame.iter().zip(&frame).enumerate() {
                    if !(18..20).contains(&i) && !(24..26).contains(&i) {
                        prop_assert_eq!(a, b, "byte {}", i);
                    }
                }
            }
        }
    }
}
