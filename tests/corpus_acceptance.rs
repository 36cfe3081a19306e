//! Acceptance: every capture of the corpus (`tests/data/corpus`) is read, packet for packet, as the reference
//! tools read it (tests/corpus/expectations.tsv, made by tests/corpus/make-expectations.py
//! with tcpdump 4.99.3 / libpcap 1.10.3 and tshark 4.0.17).
//!
//! Each tool's status is `ok`, `damaged` (it stopped at damage in the file) or `limitation` (it
//! stopped because of its own limits: libpcap reads one link type per file, a Wireshark dissector
//! rejects a pseudo-header). Rules, per file:
//! - some tool read it cleanly: we read it cleanly with the largest clean count, or we report an
//!   error (naming the file and position) after the count a tool that found damage read;
//! - no clean tool, some found damage: we report an error after one of their counts (or, when we
//!   resumed reading at a later pcapng section, at least their counts);
//! - only limitations: we read it cleanly, at least as many packets as any tool.

mod support;

use hoptrace::capture::{open_capture, read_capture};
use support::corpus::corpus;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Damaged,
    Limitation,
}

struct Expect {
    path: String,
    tools: [(u64, Status); 2],
}

fn status(s: &str) -> Status {
    match s.split(':').next() {
        Some("ok") => Status::Ok,
        Some("damaged") => Status::Damaged,
        Some("limitation") => Status::Limitation,
        _ => panic!("bad status {s:?} in expectations"),
    }
}

fn expectations() -> Vec<Expect> {
    let text = include_str!("corpus/expectations.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "bad expectations line: {l}");
            Expect {
                path: f[0].to_string(),
                tools: [(f[2].parse().unwrap(), status(f[3])), (f[4].parse().unwrap(), status(f[5]))],
            }
        })
        .collect()
}

#[test]
fn every_corpus_capture_reads_like_the_reference_tools() {
    let expect = expectations();
    assert!(expect.len() > 200, "expectations cover only {} files", expect.len());
    let mut failures = Vec::new();
    for e in &expect {
        let path = corpus(&e.path);
        let src = open_capture(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let s = read_capture(&path, src, |_| {});
        let ours = s.packets;
        if let Some(err) = &s.error {
            let text = err.to_string();
            assert!(text.contains(&e.path) && text.contains("packet") && text.contains("offset"), "{text}");
        }
        let clean = s.error.is_none();
        let counts = |want: Status| e.tools.iter().filter(move |t| t.1 == want).map(|t| t.0);
        let best_clean = counts(Status::Ok).max();
        let damaged: Vec<u64> = counts(Status::Damaged).collect();
        // After damage in a pcapng file we go on with the next block or section, where both tools
        // stop: then we read at least what they read before the damage.
        let at_damage = |n: u64| damaged.contains(&n) || (s.read_past_damage() && damaged.iter().all(|&d| n >= d));
        let ok = if let Some(best) = best_clean {
            (clean && ours == best) || (!clean && at_damage(ours))
        } else if !damaged.is_empty() {
            !clean && at_damage(ours)
        } else {
            clean && e.tools.iter().all(|t| ours >= t.0)
        };
        if !ok {
            failures.push(format!(
                "{}: we read {} ({}), tcpdump {}, tshark {}",
                e.path,
                ours,
                s.error.as_ref().map_or("clean".to_string(), |x| x.kind.to_string()),
                e.tools[0].0,
                e.tools[1].0,
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} files disagree:\n{}", failures.len(), expect.len(), failures.join("\n"));
}
