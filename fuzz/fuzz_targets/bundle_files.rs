//! Fuzz the readers of a bundle's YAML and JSON files: the agent's YAML members, cluster
//! inventories (YAML and kubectl JSON), `probe.json` and whole agent tarballs (tar or gzip'd
//! tar). The first byte chooses the reader, the rest is the file.
//!
//! Limits are set inside the target, so that a run without `-rss_limit_mb` or `-timeout` still
//! catches a breach: the address space is capped at 1 GiB (`setrlimit`, so build with
//! `--sanitizer none`: sanitizers reserve terabytes), each input must finish within 5 s, and the
//! readers' own budgets are checked on what they return (no value deeper than the YAML depth
//! limit, no more nodes than the input can hold plus the alias budget, no more objects than the
//! inventory limit). A probe document that is accepted must carry exactly the frame its fields
//! give.
#![no_main]

use hoptrace::bundle::cluster::{ClusterInfo, MAX_OBJECTS};
use hoptrace::bundle::lenient::each_item;
use hoptrace::bundle::yaml::{MAX_ALIAS_NODES, MAX_DEPTH};
use hoptrace::bundle::NodeArtifacts;
use hoptrace::probe::{craft_frame, Probe};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Nodes and depth of a value (iteratively: a fuzz input must not overflow the target's stack).
fn measure(v: &Value) -> (usize, usize) {
    let mut nodes = 0;
    let mut deepest = 0;
    let mut todo = vec![(v, 1usize)];
    while let Some((v, d)) = todo.pop() {
        nodes += 1;
        deepest = deepest.max(d);
        match v {
            Value::Array(a) => todo.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(m) => todo.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    (nodes, deepest)
}

fn limit_address_space() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let lim = libc::rlimit { rlim_cur: 1 << 30, rlim_max: 1 << 30 };
        // SAFETY: setrlimit only reads the struct passed.
        unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
    });
}

fuzz_target!(|data: &[u8]| {
    limit_address_space();
    let Some((&which, file)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(file);
    let start = Instant::now();
    match which % 4 {
        0 => {
            let mut nodes = 0usize;
            let _errors = each_item(&text, |v| {
                let (n, depth) = measure(&v);
                assert!(depth <= MAX_DEPTH, "a value {depth} deep");
                nodes += n;
            });
            assert!(nodes <= 4 * file.len() + MAX_ALIAS_NODES + 64, "{nodes} nodes from {} bytes", file.len());
        }
        1 => {
            if let Ok(info) = ClusterInfo::parse(&text, "fuzz") {
                assert!(info.pods.len() + info.services.len() + info.nodes.len() <= MAX_OBJECTS + 1);
                for p in &info.problems {
                    assert!(p.len() < 1024, "a message of {} bytes", p.len());
                }
            }
        }
        2 => {
            if let Ok(probe) = Probe::from_json(&text, "fuzz") {
                let spec = probe.spec().expect("an accepted probe has a valid spec");
                let frame = craft_frame(&spec).expect("an accepted probe crafts");
                assert_eq!(probe.frame_bytes().expect("an accepted probe has its frame"), frame);
            }
        }
        _ => {
            if let Ok(a) = NodeArtifacts::read_archive(file, "fuzz.tar", "agent_fuzz.tar") {
                for w in &a.warnings {
                    assert!(w.len() < 2048, "a message of {} bytes", w.len());
                }
            }
        }
    }
    assert!(start.elapsed() < Duration::from_secs(5), "{:?} for one input", start.elapsed());
});
