//! SCTP INIT packets (RFC 9260 §3.3.2), which etherparse does not build, and the CRC32c checksum
//! SCTP uses (RFC 9260 Appendix B).

/// Common header (12) + INIT chunk without optional parameters (20).
pub const INIT_PACKET_LEN: usize = 32;

/// Builds an SCTP packet holding one INIT chunk, checksum filled in.
pub fn init_packet(src_port: u16, dst_port: u16, initiate_tag: u32, initial_tsn: u32) -> [u8; INIT_PACKET_LEN] {
    let mut p = [0u8; INIT_PACKET_LEN];
    p[0..2].copy_from_slice(&src_port.to_be_bytes());
    p[2..4].copy_from_slice(&dst_port.to_be_bytes());
    // Verification tag 0: mandatory for a packet carrying INIT. Checksum at 8..12 computed last.
    p[12] = 1; // chunk type INIT
    p[13] = 0; // chunk flags
    p[14..16].copy_from_slice(&20u16.to_be_bytes()); // chunk length
    p[16..20].copy_from_slice(&initiate_tag.to_be_bytes());
    p[20..24].copy_from_slice(&65535u32.to_be_bytes()); // advertised receiver window credit
    p[24..26].copy_from_slice(&1u16.to_be_bytes()); // outbound streams
    p[26..28].copy_from_slice(&1u16.to_be_bytes()); // max inbound streams
    p[28..32].copy_from_slice(&initial_tsn.to_be_bytes());
    let crc = crc32c(&p);
    // RFC 9260 Appendix B: the CRC is placed in the packet in little-endian byte order of the
    // reflected algorithm's result, i.e. its low byte first.
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    p
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) over `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (!(crc & 1)).wrapping_add(1));
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn init_layout() {
        let p = init_packet(5000, 80, 0xdeadbeef, 7);
        assert_eq!(&p[0..4], &[0x13, 0x88, 0, 80]);
        assert_eq!(&p[4..8], &[0, 0, 0, 0]);
        assert_eq!(p[12], 1);
        let mut z = p;
        z[8..12].fill(0);
        assert_eq!(u32::from_le_bytes([p[8], p[9], p[10], p[11]]), crc32c(&z));
    }
}
