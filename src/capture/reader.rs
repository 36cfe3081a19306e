//! Reading pcap and pcapng records (over pcap-parser's streaming reader): per-record link type,
//! timestamp in nanoseconds, interface and direction, with damage reported by packet number and
//! byte offset. Memory is one fixed buffer per file, whatever the file size.

use super::error::{CaptureError, ErrorKind};
use super::linktype::LinkType;
use super::source::{CaptureSource, Compression};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use std::path::Path;

/// Size of the parse buffer: must hold the largest record we accept plus its header.
const BUFFER_SIZE: usize = 1 << 20;

/// The largest captured length we accept for one record, as libpcap and Wireshark do
/// (262144 bytes); a larger value means the file is damaged.
pub const MAX_CAPLEN: u32 = 262_144;

/// The most Interface Description Blocks we keep for one pcapng section (bounds memory on
/// hostile input; real captures have a handful).
pub const MAX_INTERFACES: usize = 65_536;

/// Which way a packet crossed the interface, when the capture says so (pcapng `epb_flags`,
/// Linux cooked `packet type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received by the interface.
    Inbound,
    /// Sent by the interface.
    Outbound,
}

/// Capture container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// One pcapng interface (Interface Description Block), or the single implicit interface of a
/// classic pcap file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// 0-based section number (pcapng; 0 for pcap).
    pub section: u32,
    /// Interface id within the section.
    pub id: u32,
    /// Link-layer header type of its packets.
    pub link_type: LinkType,
    /// `if_name`, when the file records it.
    pub name: Option<String>,
    /// Snapshot length.
    pub snaplen: u32,
    /// Timestamp units per second (`if_tsresol`; 10^6 by default).
    pub ts_units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    pub ts_offset_sec: i64,
}

/// One captured packet, borrowed from the reader's buffer for the duration of a visit.
#[derive(Clone, Debug)]
pub struct Packet<'a> {
    /// 1-based packet number in the file (what `tcpdump -#` and Wireshark's frame number show).
    pub index: u64,
    /// Byte offset of the record in the (decompressed) stream.
    pub offset: u64,
    /// Capture time in nanoseconds since the Unix epoch (`None` for pcapng Simple Packet Blocks,
    /// which carry no time).
    pub timestamp_ns: Option<i64>,
    /// Link-layer header type.
    pub link_type: LinkType,
    /// The captured bytes (possibly cut at the snapshot length).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// The pcapng interface, when the file has one.
    pub interface: Option<&'a Interface>,
    /// Direction from pcapng `epb_flags`, when recorded.
    pub direction: Option<Direction>,
}

/// What reading one capture gave: counts, and the damage that stopped it, if any.
#[derive(Clone, Debug)]
pub struct ReadSummary {
    /// Container format, once recognised.
    pub format: Option<Format>,
    /// How the file was stored.
    pub compression: Compression,
    /// Packets delivered to the visitor.
    pub packets: u64,
    /// Bytes of the (decompressed) stream consumed.
    pub bytes: u64,
    /// pcapng sections seen.
    pub sections: u32,
    /// The first damage met (the packets before it were delivered). In a classic pcap file it
    /// ends the reading; in pcapng it costs the rest of its section.
    pub error: Option<CaptureError>,
    /// How many times reading resumed at a later pcapng section after damage.
    pub resumed: u32,
}

/// Where the reader is: the per-format state needed to interpret records.
struct State {
    legacy: Option<LegacyInfo>,
    interfaces: Vec<Interface>,
    sections: u32,
    packets: u64,
}

#[derive(Clone, Copy)]
struct LegacyInfo {
    nanos: bool,
    big_endian: bool,
    max_caplen: u32,
    interface_link: LinkType,
}

/// Reads every record of a capture stream and calls `visit` for each packet, in file order.
/// Stops at the first damaged record and reports it in [`ReadSummary::error`]; never panics and
/// never loops on bad input.
pub fn read_capture(path: &Path, source: CaptureSource, mut visit: impl FnMut(&Packet)) -> ReadSummary {
    let compression = source.compression;
    let last_error = source.last_error.clone();
    let err =
        |packet: u64, offset: u64, kind: ErrorKind| CaptureError { file: path.to_path_buf(), packet, offset, kind };
    let io_text =
        || last_error.lock().ok().and_then(|e| e.clone()).unwrap_or_else(|| "I/O error while reading".to_string());
    let mut summary =
        ReadSummary { format: None, compression, packets: 0, bytes: 0, sections: 0, error: None, resumed: 0 };
    let mut reader = match create_reader(BUFFER_SIZE, source.stream) {
        Ok(r) => r,
        Err(e) => {
            let kind = match e {
                PcapError::Eof | PcapError::Incomplete(_) | PcapError::UnexpectedEof => ErrorKind::Truncated,
                PcapError::ReadError => ErrorKind::Io(io_text()),
                PcapError::HeaderNotRecognized => ErrorKind::NotACapture,
                other => ErrorKind::BadBlock(format!("{other:?}")),
            };
            summary.error = Some(err(1, 0, kind));
            return summary;
        }
    };
    let mut st = State { legacy: None, interfaces: Vec::new(), sections: 0, packets: 0 };
    let mut stalled = false;
    loop {
        let offset = reader.consumed() as u64;
        let next = st.packets + 1;
        let failure = if let Some(kind) = precheck(&st, reader.data()) {
            Some(kind)
        } else {
            match reader.next() {
                // A record that takes no bytes would be returned forever.
                Ok((0, _)) => Some(ErrorKind::BadBlock("zero-length record".into())),
                Ok((len, block)) => {
                    stalled = false;
                    match handle_block(&mut st, block, offset, &mut visit) {
                        Ok(()) => {
                            reader.consume(len);
                            None
                        }
                        Err(kind) => Some(kind),
                    }
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => {
                    let before = reader.data().len();
                    if reader.refill().is_err() {
                        Some(ErrorKind::Io(io_text()))
                    } else if reader.data().len() == before && !reader.reader_exhausted() {
                        // The buffer is full and still holds no whole record.
                        let stuck = stalled;
                        stalled = true;
                        stuck.then_some(ErrorKind::AbsurdLength(before as u64))
                    } else {
                        None
                    }
                }
                Err(PcapError::UnexpectedEof) => Some(ErrorKind::Truncated),
                Err(PcapError::BufferTooSmall) => Some(ErrorKind::AbsurdLength(claimed_length(&st, reader.data()))),
                Err(PcapError::ReadError) => Some(ErrorKind::Io(io_text())),
                Err(PcapError::HeaderNotRecognized) => Some(ErrorKind::NotACapture),
                Err(PcapError::NomError(_, kind)) | Err(PcapError::OwnedNomError(_, kind)) => {
                    Some(ErrorKind::BadBlock(format!("{kind:?}")))
                }
            }
        };
        let Some(kind) = failure else { continue };
        let resumable = st.legacy.is_none()
            && st.sections > 0
            && matches!(
                kind,
                ErrorKind::BadBlock(_)
                    | ErrorKind::AbsurdLength(_)
                    | ErrorKind::UnknownInterface(_)
                    | ErrorKind::UnsupportedVersion(_)
            );
        summary.error.get_or_insert_with(|| err(next, offset, kind));
        // pcapng: the damage costs the rest of its section; go on at the next section, if any.
        if resumable && skip_to_next_section(reader.as_mut()) {
            summary.resumed += 1;
            stalled = false;
            continue;
        }
        break;
    }
    summary.format = Some(if st.legacy.is_some() { Format::Pcap } else { Format::PcapNg });
    summary.packets = st.packets;
    summary.sections = st.sections;
    summary.bytes = reader.consumed() as u64;
    summary
}

/// After damage in a pcapng file, skips forward to the next Section Header Block (its magic
/// followed by a byte-order magic); `false` when the stream ends first.
fn skip_to_next_section(reader: &mut (dyn pcap_parser::traits::PcapReaderIterator + Send)) -> bool {
    const SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
    let is_shb =
        |w: &[u8]| w[..4] == SHB && (w[8..12] == [0x1a, 0x2b, 0x3c, 0x4d] || w[8..12] == [0x4d, 0x3c, 0x2b, 0x1a]);
    // Never resynchronise on the damaged block itself.
    if reader.data().is_empty() {
        return false;
    }
    reader.consume(1);
    loop {
        let data = reader.data();
        if let Some(pos) = data.windows(12).position(is_shb) {
            reader.consume(pos);
            return true;
        }
        // Keep the last 11 bytes: a header may straddle the refill.
        let drop = data.len().saturating_sub(11);
        let exhausted = reader.reader_exhausted();
        reader.consume(drop);
        if exhausted || reader.refill().is_err() {
            return false;
        }
        if reader.data().len() <= 11 && reader.reader_exhausted() {
            return false;
        }
    }
}

/// Rejects a classic pcap record whose length field is absurd before the parser tries to buffer
/// it (libpcap's and Wireshark's limit).
fn precheck(st: &State, data: &[u8]) -> Option<ErrorKind> {
    let legacy = st.legacy?;
    let caplen = read_u32(data, 8, legacy.big_endian)?;
    (caplen > legacy.max_caplen).then_some(ErrorKind::AbsurdLength(caplen as u64))
}

/// The length a record claims, for the error message when it does not fit the buffer.
fn claimed_length(st: &State, data: &[u8]) -> u64 {
    match st.legacy {
        Some(l) => read_u32(data, 8, l.big_endian).unwrap_or(0) as u64,
        None => {
            let le = read_u32(data, 4, false).unwrap_or(0);
            let be = read_u32(data, 4, true).unwrap_or(0);
            le.min(be) as u64
        }
    }
}

fn read_u32(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
}

/// Nanoseconds for `ticks` units of `1/units_per_sec` seconds plus `offset_sec`, saturating.
fn to_ns(ticks: u64, units_per_sec: u64, offset_sec: i64) -> i64 {
    let ns = (ticks as i128 * 1_000_000_000) / units_per_sec.max(1) as i128;
    let total = ns + offset_sec as i128 * 1_000_000_000;
    total.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn handle_block(
    st: &mut State,
    block: PcapBlockOwned<'_>,
    offset: u64,
    visit: &mut impl FnMut(&Packet),
) -> Result<(), ErrorKind> {
    match block {
        PcapBlockOwned::LegacyHeader(h) => {
            if h.version_major != 2 {
                return Err(ErrorKind::UnsupportedVersion(format!("{}.{}", h.version_major, h.version_minor)));
            }
            let field = h.network.0 as u32;
            if field & 0x03ff_0000 != 0 {
                return Err(ErrorKind::BadLinkTypeField(field));
            }
            let link = LinkType(field & 0xffff);
            st.legacy = Some(LegacyInfo {
                nanos: h.is_nanosecond_precision(),
                big_endian: h.is_bigendian(),
                max_caplen: MAX_CAPLEN.max(h.snaplen),
                interface_link: link,
            });
            st.interfaces = vec![Interface {
                section: 0,
                id: 0,
                link_type: link,
                name: None,
                snaplen: h.snaplen,
                ts_units_per_sec: if h.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 },
                ts_offset_sec: 0,
            }];
        }
        PcapBlockOwned::Legacy(b) => {
            let Some(info) = st.legacy else { return Err(ErrorKind::BadBlock("record before file header".into())) };
            let frac = if info.nanos { b.ts_usec as i64 } else { b.ts_usec as i64 * 1000 };
            st.packets += 1;
            let pkt = Packet {
                index: st.packets,
                offset,
                timestamp_ns: Some(b.ts_sec as i64 * 1_000_000_000 + frac),
                link_type: info.interface_link,
                data: b.data,
                orig_len: b.origlen,
                interface: None,
                direction: None,
            };
            visit(&pkt);
        }
        PcapBlockOwned::NG(block) => handle_ng(st, block, offset, visit)?,
    }
    Ok(())
}

fn handle_ng(st: &mut State, block: Block<'_>, offset: u64, visit: &mut impl FnMut(&Packet)) -> Result<(), ErrorKind> {
    match block {
        Block::SectionHeader(shb) => {
            if (shb.major_version, shb.minor_version) != (1, 0) {
                return Err(ErrorKind::UnsupportedVersion(format!("{}.{}", shb.major_version, shb.minor_version)));
            }
            st.sections += 1;
            st.interfaces.clear();
        }
        Block::InterfaceDescription(idb) => {
            if st.interfaces.len() >= MAX_INTERFACES {
                return Err(ErrorKind::BadBlock(format!("more than {MAX_INTERFACES} interfaces in one section")));
            }
            let id = st.interfaces.len() as u32;
            st.interfaces.push(Interface {
                section: st.sections.saturating_sub(1),
                id,
                link_type: LinkType(idb.linktype.0 as u32 & 0xffff),
                name: idb.if_name().and_then(|n| n.ok()).map(str::to_string),
                snaplen: idb.snaplen,
                ts_units_per_sec: idb.ts_resolution().unwrap_or(1_000_000),
                ts_offset_sec: idb.ts_offset(),
            });
        }
        Block::EnhancedPacket(epb) => {
            let iface = st.interfaces.get(epb.if_id as usize).ok_or(ErrorKind::UnknownInterface(epb.if_id))?;
            if epb.caplen > MAX_CAPLEN.max(iface.snaplen) {
                return Err(ErrorKind::AbsurdLength(epb.caplen as u64));
            }
            let ticks = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
            let big_endian = epb.big_endian();
            let direction =
                epb.options.iter().find(|o| o.code.0 == 2).and_then(|o| read_u32(o.value(), 0, big_endian)).and_then(
                    |flags| match flags & 3 {
                        1 => Some(Direction::Inbound),
                        2 => Some(Direction::Outbound),
                        _ => None,
                    },
                );
            st.packets += 1;
            let pkt = Packet {
                index: st.packets,
                offset,
                timestamp_ns: Some(to_ns(ticks, iface.ts_units_per_sec, iface.ts_offset_sec)),
                link_type: iface.link_type,
                data: epb.packet_data(),
                orig_len: epb.origlen,
                interface: Some(iface),
                direction,
            };
            visit(&pkt);
        }
        Block::SimplePacket(spb) => {
            let iface = st.interfaces.first();
            st.packets += 1;
            let pkt = Packet {
                index: st.packets,
                offset,
                timestamp_ns: None,
                link_type: iface.map_or(LinkType(u32::MAX), |i| i.link_type),
                data: spb.packet_data(),
                orig_len: spb.origlen,
                interface: iface,
                direction: None,
            };
            visit(&pkt);
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::source::from_reader;
    use std::io::Cursor;

    /// (index, timestamp, captured length, original length) per packet.
    type Seen = Vec<(u64, Option<i64>, usize, u32)>;

    fn read_bytes(bytes: Vec<u8>) -> (Seen, ReadSummary) {
        let mut seen = Vec::new();
        let src = from_reader(Box::new(Cursor::new(bytes))).unwrap();
        let s =
            read_capture(Path::new("t.pcap"), src, |p| seen.push((p.index, p.timestamp_ns, p.data.len(), p.orig_len)));
        (seen, s)
    }

    fn pcap_header(magic: u32, big_endian: bool, link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        let w32 = |v: &mut Vec<u8>, x: u32| v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        w32(&mut v, magic);
        let w16 = |v: &mut Vec<u8>, x: u16| v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, link);
        v
    }

    fn record(v: &mut Vec<u8>, big_endian: bool, sec: u32, frac: u32, data: &[u8], orig: u32) {
        for x in [sec, frac, data.len() as u32, orig] {
            v.extend(if big_endian { x.to_be_bytes() } else { x.to_le_bytes() });
        }
        v.extend(data);
    }

    #[test]
    fn pcap_all_four_magics() {
        for (magic, nanos) in [(0xa1b2c3d4u32, false), (0xa1b23c4d, true)] {
            for be in [false, true] {
                let mut f = pcap_header(magic, be, 1);
                record(&mut f, be, 1_700_000_000, 123_456, &[0u8; 60], 60);
                record(&mut f, be, 1_700_000_001, 7, &[1u8; 20], 1500);
                let (seen, s) = read_bytes(f);
                assert!(s.error.is_none(), "{:?}", s.error);
                assert_eq!(s.format, Some(Format::Pcap));
                let ns0 = 1_700_000_000_000_000_000 + if nanos { 123_456 } else { 123_456_000 };
                assert_eq!(seen[0], (1, Some(ns0), 60, 60));
                assert_eq!(seen[1].2, 20);
                assert_eq!(seen[1].3, 1500);
            }
        }
    }

    #[test]
    fn truncated_and_absurd_records_are_located() {
        let mut f = pcap_header(0xa1b2c3d4, false, 1);
        record(&mut f, false, 1, 0, &[0u8; 40], 40);
        let good_len = f.len();
        record(&mut f, false, 2, 0, &[0u8; 40], 40);
        f.truncate(f.len() - 5);
        let (seen, s) = read_bytes(f.clone());
        assert_eq!(seen.len(), 1);
        let e = s.error.unwrap();
        assert_eq!((e.packet, e.offset, e.kind), (2, good_len as u64, ErrorKind::Truncated));

        f.truncate(good_len);
        f.extend(1u32.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(0x7fff_fff0u32.to_le_bytes());
        f.extend(0x7fff_fff0u32.to_le_bytes());
        f.extend([0u8; 100]);
        let (seen, s) = read_bytes(f);
        assert_eq!(seen.len(), 1);
        assert_eq!(s.error.unwrap().kind, ErrorKind::AbsurdLength(0x7fff_fff0));
    }

    fn pcapng_section(v: &mut Vec<u8>, version: (u16, u16)) {
        let body: Vec<u8> = [
            0x1a2b3c4du32.to_le_bytes().to_vec(),
            version.0.to_le_bytes().to_vec(),
            version.1.to_le_bytes().to_vec(),
            (-1i64).to_le_bytes().to_vec(),
        ]
        .concat();
        ng_block(v, 0x0a0d0d0a, &body);
        let idb: Vec<u8> = [1u16.to_le_bytes().to_vec(), vec![0, 0], 65535u32.to_le_bytes().to_vec()].concat();
        ng_block(v, 1, &idb);
    }

    fn ng_block(v: &mut Vec<u8>, t: u32, body: &[u8]) {
        let len = 12 + body.len() as u32;
        v.extend(t.to_le_bytes());
        v.extend(len.to_le_bytes());
        v.extend(body);
        v.extend(len.to_le_bytes());
    }

    fn epb(v: &mut Vec<u8>, if_id: u32, data: &[u8; 20]) {
        let body: Vec<u8> =
            [if_id.to_le_bytes(), 0u32.to_le_bytes(), 1u32.to_le_bytes(), 20u32.to_le_bytes(), 20u32.to_le_bytes()]
                .concat();
        ng_block(v, 6, &[body, data.to_vec()].concat());
    }

    #[test]
    fn pcapng_damage_costs_the_rest_of_its_section() {
        let mut f = Vec::new();
        pcapng_section(&mut f, (1, 0));
        epb(&mut f, 0, &[1; 20]);
        let damaged_at = f.len() as u64;
        epb(&mut f, 5, &[2; 20]); // no interface 5: damage
        epb(&mut f, 0, &[3; 20]); // lost with the rest of the section
        pcapng_section(&mut f, (2, 0)); // a section we cannot read: skipped whole
        epb(&mut f, 0, &[4; 20]);
        pcapng_section(&mut f, (1, 0));
        epb(&mut f, 0, &[5; 20]);
        let mut firsts = Vec::new();
        let src = from_reader(Box::new(Cursor::new(f))).unwrap();
        let s = read_capture(Path::new("t.pcapng"), src, |p| firsts.push(p.data[0]));
        assert_eq!(firsts, vec![1, 5]);
        let e = s.error.unwrap();
        assert_eq!((e.packet, e.offset, e.kind), (2, damaged_at, ErrorKind::UnknownInterface(5)));
        assert_eq!((s.resumed, s.sections), (2, 2));
    }

    #[test]
    fn interface_flood_is_bounded() {
        let mut f = Vec::new();
        pcapng_section(&mut f, (1, 0));
        let idb: Vec<u8> = [1u16.to_le_bytes().to_vec(), vec![0, 0], 65535u32.to_le_bytes().to_vec()].concat();
        for _ in 0..MAX_INTERFACES {
            ng_block(&mut f, 1, &idb);
        }
        let src = from_reader(Box::new(Cursor::new(f))).unwrap();
        let s = read_capture(Path::new("t.pcapng"), src, |_| {});
        assert!(matches!(s.error.unwrap().kind, ErrorKind::BadBlock(m) if m.contains("interfaces")));
    }

    #[test]
    fn garbage_is_not_a_capture() {
        let (seen, s) = read_bytes(b"hello, this is not a capture file at all".to_vec());
        assert!(seen.is_empty());
        assert_eq!(s.error.unwrap().kind, ErrorKind::NotACapture);
        let (_, s) = read_bytes(Vec::new());
        assert!(s.error.is_some());
    }

    #[test]
    fn timestamps_with_resolution_and_offset() {
        assert_eq!(to_ns(1_700_000_000_123_456, 1_000_000, 0), 1_700_000_000_123_456_000);
        assert_eq!(to_ns(1_700_000_000_123, 1_000, 10), 1_700_000_010_123_000_000);
        assert_eq!(to_ns(u64::MAX, 1, i64::MAX), i64::MAX);
    }
}
