//! Writes one fuzz seed per packet of every capture under a directory, for the `decode_packet`
//! fuzz target: a link-type selector byte, then the frame (see fuzz/seed.sh).
//!
//! `cargo run --example fuzz_seeds -- CORPUS_DIR OUT_DIR`

use hoptrace::capture::{open_capture, read_capture};
use hoptrace::decode::scan::expand_inputs;
use std::path::PathBuf;

const LINK_TYPES: [u32; 9] = [1, 113, 276, 101, 228, 229, 0, 108, 12];

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: fuzz_seeds CORPUS_DIR OUT_DIR");
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[2]);
    std::fs::create_dir_all(&out)?;
    let mut n = 0;
    for file in expand_inputs(&[PathBuf::from(&args[1])]).files {
        let Ok(src) = open_capture(&file) else { continue };
        let mut seeds = Vec::new();
        read_capture(&file, src, |p| {
            if let Some(sel) = LINK_TYPES.iter().position(|&l| l == p.link_type.0) {
                let mut seed = vec![sel as u8];
                seed.extend_from_slice(p.data);
                seeds.push(seed);
            }
        });
        for s in seeds {
            n += 1;
            std::fs::write(out.join(format!("seed-{n:06}")), s)?;
        }
    }
    eprintln!("{n} seeds in {}", out.display());
    Ok(())
}
