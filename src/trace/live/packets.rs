//! From keyed sightings to real packets: the sightings of one packet are the ones with its
//! identity key ([`crate::decode::identity`]) close together in time, and a packet is followed
//! only when one of its sightings is a seed — it matched `--match` as the source Pod sent it.

use crate::decode::identity::Key;
use crate::decode::sighting::Sighting;
use crate::decode::IpInfo;

/// How far apart in time two sightings with one key may be and still be one packet: the path
/// across a cluster takes milliseconds; node clocks differ by what NTP leaves (well under a
/// second); a 16-bit IPv4 ID comes round again only after 65536 packets of one socket.
pub const SAME_PACKET_WINDOW_NS: i64 = 1_000_000_000;

/// One keyed sighting on its way into a packet: whether it is a seed.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The identity.
    pub key: Key,
    /// Where and how it was seen.
    pub sighting: Sighting,
    /// It matches the SPEC as sent (before any NAT).
    pub seed: bool,
}

/// One real packet: every sighting of it, in time order.
#[derive(Clone, Debug)]
pub struct RealPacket {
    /// Its identity.
    pub key: Key,
    /// Its sightings, in time order.
    pub sightings: Vec<Sighting>,
    /// Index (in `sightings`) of its earliest seed: the packet as the source Pod sent it.
    pub seed: usize,
    /// Sightings on one capture point (file and interface) with the same IP header beyond the
    /// first: a duplicate, or two packets the key cannot tell apart.
    pub duplicates: u32,
}

impl RealPacket {
    /// The packet as sent.
    pub fn sent(&self) -> &Sighting {
        &self.sightings[self.seed]
    }

    /// When it was sent (its seed's capture time).
    pub fn time(&self) -> i64 {
        self.sent().timestamp_ns.unwrap_or(i64::MAX)
    }
}

/// Groups candidates into packets: equal keys whose times follow each other within
/// [`SAME_PACKET_WINDOW_NS`]; groups without a seed are other traffic and dropped, as are
/// sightings without a time (pcapng Simple Packet Blocks), which are counted in the second value.
pub fn assemble(mut candidates: Vec<Candidate>) -> (Vec<RealPacket>, u64) {
    let untimed = candidates.iter().filter(|c| c.sighting.timestamp_ns.is_none()).count() as u64;
    candidates.retain(|c| c.sighting.timestamp_ns.is_some());
    let time = |c: &Candidate| c.sighting.timestamp_ns.unwrap_or_default();
    candidates.sort_by(|a, b| {
        (a.key, time(a), &a.sighting.file, a.sighting.packet).cmp(&(
            b.key,
            time(b),
            &b.sighting.file,
            b.sighting.packet,
        ))
    });
    let mut out = Vec::new();
    let mut group: Vec<Candidate> = Vec::new();
    let flush = |group: &mut Vec<Candidate>, out: &mut Vec<RealPacket>| {
        if let Some(p) = packet(std::mem::take(group)) {
            out.push(p);
        }
    };
    for c in candidates {
        let joins = group.last().is_some_and(|l| l.key == c.key && time(&c) - time(l) <= SAME_PACKET_WINDOW_NS);
        if !joins {
            flush(&mut group, &mut out);
        }
        group.push(c);
    }
    flush(&mut group, &mut out);
    out.sort_by_key(|p| (p.time(), p.sent().file.clone(), p.sent().packet));
    (out, untimed)
}

fn packet(mut group: Vec<Candidate>) -> Option<RealPacket> {
    let key = group.first()?.key;
    group.sort_by_key(|c| c.sighting.timestamp_ns);
    let seed = group.iter().position(|c| c.seed)?;
    // One capture point, and the headers as seen there: a hairpinned packet crosses its Pod's
    // interface twice, translated the second time, and is no duplicate.
    let mut points: Vec<(&str, Option<&str>, &IpInfo)> = Vec::new();
    let mut duplicates = 0;
    for c in &group {
        let s = &c.sighting;
        let point = (s.file.as_str(), s.interface.as_deref(), &s.ip);
        if points.contains(&point) {
            duplicates += 1;
        } else {
            points.push(point);
        }
    }
    Some(RealPacket { key, seed, duplicates, sightings: group.into_iter().map(|c| c.sighting).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: u16, file: &str, t: i64, seed: bool) -> Candidate {
        let ip = IpInfo {
            version: 4,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            dscp: 0,
            ecn: 0,
            ttl: 64,
            protocol: 6,
            identification: Some(id),
            flow_label: None,
            length: 60,
            fragment_offset: 0,
            more_fragments: false,
            dont_fragment: false,
        };
        Candidate {
            key: Key { protocol: 6, ip_id: Some(id), a: 1, b: 2, payload_len: 0, tsval: None, payload_hash: 0 },
            sighting: Sighting {
                node: "n".into(),
                file: file.into(),
                packet: 1,
                interface: None,
                ifindex: None,
                direction: None,
                timestamp_ns: Some(t),
                captured_length: 60,
                original_length: 60,
                tunnels: vec![],
                outer_l2: None,
                inner_l2: None,
                cooked_src_mac: None,
                ip,
                transport: None,
                later_fragment: false,
                truncated: false,
            },
            seed,
        }
    }

    #[test]
    fn one_key_in_a_window_is_one_packet_and_needs_a_seed() {
        let s = 1_000_000_000_000;
        let (p, untimed) = assemble(vec![
            candidate(7, "b.pcap", s + 300, false),
            candidate(7, "a.pcap", s, true),
            // The same ID again much later: another packet, without a seed: not followed.
            candidate(7, "b.pcap", s + 5 * SAME_PACKET_WINDOW_NS, false),
            // A key nobody sent.
            candidate(9, "b.pcap", s, false),
            candidate(7, "a.pcap", s + 10, true),
        ]);
        assert_eq!(untimed, 0);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].sightings.len(), 3);
        assert_eq!((p[0].seed, p[0].duplicates), (0, 1));
        assert_eq!(p[0].time(), s);
    }
}
