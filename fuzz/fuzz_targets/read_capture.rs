//! Fuzz the capture reader (compression detection, gzip members, pcap/pcapng framing and
//! records) and the decoder behind it: any byte string must be read without panicking, looping
//! or unbounded allocation. The limits are set here, not only by libFuzzer's flags: every
//! allocation is counted and one above 64 MiB in flight aborts the run, and the work done is
//! checked against the input (every packet took at least 12 bytes of decompressed stream, every
//! damage report names a position inside what was read).
#![no_main]

use hoptrace::capture::read_capture;
use hoptrace::capture::reader::MAX_DAMAGE_REPORTS;
use hoptrace::capture::source::from_reader;
use hoptrace::decode::decode;
use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes allocated and not yet freed, across the process.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// The memory limit of one run: the 1 MiB window, the 256 KiB file buffer, the decompressor
/// and the bounded damage list fit many times over.
const MEMORY_LIMIT: usize = 64 << 20;

struct Bounded;

unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if IN_FLIGHT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size() > MEMORY_LIMIT {
            IN_FLIGHT.fetch_sub(layout.size(), Ordering::Relaxed);
            return std::ptr::null_mut(); // the allocation error handler aborts: a finding
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_FLIGHT.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Bounded = Bounded;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = from_reader(Box::new(std::io::Cursor::new(data.to_vec()))) else { return };
    let mut seen = 0u64;
    let mut last_offset = None;
    let summary = read_capture(Path::new("fuzz"), source, |pkt| {
        seen += 1;
        assert_eq!(pkt.index, seen);
        // Records come in stream order, each after the one before.
        assert!(last_offset.is_none_or(|o| pkt.offset > o));
        last_offset = Some(pkt.offset);
        let _ = decode(pkt.link_type, pkt.data);
    });
    assert_eq!(summary.packets, seen);
    assert!(summary.packets * 12 <= summary.bytes.max(1) || summary.packets == 0);
    let kept = summary.damage().count();
    assert!(kept <= MAX_DAMAGE_REPORTS);
    for d in summary.damage() {
        assert!(d.packet >= 1 && d.packet <= summary.packets + 1, "{d}");
        assert!(d.to_string().len() < 600, "message too long: {d}");
    }
});
