//! Fuzz the capture reader (pcap, pcapng, gzip detection) and the decoder behind it: any byte
//! string must be read without panicking, looping or unbounded allocation.
#![no_main]

use hoptrace::capture::read_capture;
use hoptrace::capture::source::from_reader;
use hoptrace::decode::decode;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = from_reader(Box::new(std::io::Cursor::new(data.to_vec()))) else { return };
    let mut seen = 0u64;
    let summary = read_capture(Path::new("fuzz"), source, |pkt| {
        seen += 1;
        assert_eq!(pkt.index, seen);
        let _ = decode(pkt.link_type, pkt.data);
    });
    assert_eq!(summary.packets, seen);
});
