//! Writing frames as a classic pcap (Ethernet, microsecond timestamps) that tcpdump, tshark and
//! Wireshark read.

use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::io::{self, Write};
use std::time::Duration;

/// Writes `frames` (each with its timestamp since the Unix epoch) as an Ethernet pcap.
pub fn write_pcap(out: &mut dyn Write, frames: &[(Duration, &[u8])]) -> io::Result<()> {
    let mut w = PcapWriter::new(out).map_err(io::Error::other)?;
    for (ts, data) in frames {
        let len = u32::try_from(data.len()).map_err(io::Error::other)?;
        w.write_packet(&PcapPacket::new(*ts, len, data)).map_err(io::Error::other)?;
    }
    Ok(())
}
