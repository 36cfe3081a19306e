//! Generates a large synthetic node capture for the scan benchmark (benches/compare.sh): mostly
//! Geneve traffic between two nodes (inner TCP/UDP of 64..1500 bytes, untagged), some bare
//! traffic, and every `--probe-every`th packet the probe of a probe.json (tagged), inside Geneve.
//!
//! An output name ending in `.pcapng` gives a pcapng file instead of a classic pcap: one section,
//! two interfaces (`genev_sys_6081` and `eth0`, microsecond and nanosecond resolution), the
//! packets in Enhanced Packet Blocks with direction flags, alternating between them.
//!
//! RANDOM_PERCENT (default 0) makes that share of every payload random bytes, so that the capture
//! compresses like real traffic (about 4x with gzip at 30) instead of 15x and more.
//!
//! `cargo run --release --example gen_capture -- probe.json OUT.pcap|OUT.pcapng SIZE_MB [SEED [RANDOM_PERCENT]]`

#[path = "../tests/support/frames.rs"]
mod frames;

use frames::*;
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: gen_capture probe.json OUT.pcap|OUT.pcapng SIZE_MB [SEED [RANDOM_PERCENT]]");
        std::process::exit(2);
    }
    let probe: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args[1])?)?;
    let probe_frame = from_hex(probe["frame"]["hex"].as_str().expect("frame.hex"));
    let target = args[3].parse::<u64>().expect("SIZE_MB") * 1_000_000;
    let mut seed: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let random_percent: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(0).min(100);
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&args[2])?);
    let ng = args[2].ends_with(".pcapng");
    let header = if ng {
        let mut h = pcapng_section();
        pcapng_interface(&mut h, 1, "genev_sys_6081", 6);
        pcapng_interface(&mut h, 1, "eth0", 9);
        h
    } else {
        pcap_header(1)
    };
    out.write_all(&header)?;
    let mut written = header.len() as u64;
    let mut payload = vec![0x5au8; 1500];
    let mut rec = Vec::with_capacity(2048);
    let (mut n, mut probes) = (0u64, 0u64);
    while written < target {
        n += 1;
        let r = rand();
        let frame = if n % 100_000 == 0 {
            probes += 1;
            geneve(&translate(&probe_frame, [10, 10, 2, 7], 63), 0, [192, 168, 77, 1], [192, 168, 77, 2])
        } else {
            let len = 20 + (r % 1400) as usize;
            let mut x = r | 1;
            for b in payload.iter_mut().take(len * random_percent / 100) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let inner = udp_frame(
                [10, 10, 1, (r >> 16) as u8],
                [10, 10, 2, (r >> 24) as u8],
                (r >> 32) as u16,
                8080,
                &payload[..len],
            );
            if r % 10 == 0 {
                inner
            } else {
                geneve(&inner, 0, [192, 168, 77, 1], [192, 168, 77, 2])
            }
        };
        rec.clear();
        let ts_us = 1_700_000_000_000_000 + n * 10;
        if ng {
            let (iface, ticks) = if n % 2 == 0 { (0, ts_us) } else { (1, ts_us * 1000) };
            pcapng_packet(&mut rec, iface, ticks, &frame, Some(1 + (n % 2) as u32));
        } else {
            pcap_record(&mut rec, ts_us, &frame);
        }
        out.write_all(&rec)?;
        written += rec.len() as u64;
    }
    out.flush()?;
    eprintln!("{}: {} packets, {} probes, {} bytes", args[2], n, probes, written);
    Ok(())
}
