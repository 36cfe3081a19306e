//! The third-party test data under `tests/data/` (origins and licences in
//! `tests/data/MANIFEST.md`): paths into it, and which lines of the flow files are flows.

#![allow(dead_code)]

use std::path::PathBuf;

/// `tests/data/`.
pub fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The capture and flow corpus, `tests/data/corpus/`; `path` is relative to it (as in
/// `tests/corpus/expectations.tsv`).
pub fn corpus(path: &str) -> PathBuf {
    data().join("corpus").join(path)
}

/// The flow-dump corpus, `tests/data/corpus/flows/`.
pub fn flows_dir() -> PathBuf {
    corpus("flows")
}

/// One file of the flow-dump corpus.
pub fn flows(name: &str) -> PathBuf {
    flows_dir().join(name)
}

/// Text of one file of the flow-dump corpus.
pub fn flows_text(name: &str) -> String {
    let path = flows(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Keys a dump or flow-mod line starts with.
const STARTS: &[&str] =
    &["cookie=", "table=", "duration=", "n_packets=", "priority=", "idle_timeout=", "hard_timeout="];

/// Strips what surrounds a flow line in the corpus files: the design doc's `N. ` index, a
/// `diff-flows` `+`/`-`, leading blanks.
pub fn clean(line: &str) -> &str {
    let t = line.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let t = if digits > 0 && t[digits..].starts_with(". ") { t[digits + 2..].trim_start() } else { t };
    let t = t.strip_prefix('+').or_else(|| t.strip_prefix('-')).unwrap_or(t);
    t.trim()
}

/// The flow lines of a corpus file, with line numbers: dump-style lines (start with a flow key,
/// contain `actions=`) and the lines of `AT_DATA([flows.txt], ...)` blocks. Lines with shell or
/// m4 placeholders (`$`, `@`, `[[`) are templates, not flows, and are returned separately.
pub fn flow_lines(text: &str) -> (Vec<(usize, String)>, usize) {
    let mut out = Vec::new();
    let mut templated = 0;
    let mut in_data = false;
    let mut joined: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        match (&mut pending, t.strip_suffix('\\')) {
            (Some((_, acc)), Some(c)) => acc.push_str(c.trim_start()),
            (Some((_, acc)), None) => {
                acc.push_str(t.trim_start());
                joined.push(pending.take().unwrap());
            }
            (None, Some(c)) => pending = Some((i, c.to_string())),
            (None, None) => joined.push((i, t.to_string())),
        }
    }
    for (i, line) in joined.iter().map(|(i, l)| (*i, l.as_str())) {
        if line.starts_with("AT_DATA([flows.txt]") || line.starts_with("AT_DATA([flows") {
            in_data = true;
            continue;
        }
        if in_data && (line.starts_with("])") || line.starts_with("]])")) {
            in_data = false;
            continue;
        }
        let t = clean(line);
        let dump_like = STARTS.iter().any(|s| t.starts_with(s)) && t.contains("actions=");
        let data_line = in_data && !t.is_empty() && !t.starts_with('#') && t.contains("actions=");
        if !(dump_like || data_line) {
            continue;
        }
        if t.contains('$') || t.contains('@') || t.contains("[[") || t.contains("dnl") {
            templated += 1;
            continue;
        }
        out.push((i + 1, t.to_string()));
    }
    (out, templated)
}

/// Corpus lines that are not valid flows, with why; the test checks they are rejected.
pub fn expected_reject(file: &str, line: &str) -> Option<&'static str> {
    if line.contains("skb_priority=") {
        return Some("OVS's own test expects parse-flows to fail on skb_priority (datapath-only field)");
    }
    if file.starts_with("antrea-unit-test") && (line.contains("=notahex") || line.contains("ct_label=0x/")) {
        return Some("Antrea's stats-parser test feeds deliberately malformed values");
    }
    if file.contains("v1.14") && line.contains("conjunction(5,2)") {
        return Some("typo in the v1.14 design doc: conjunction needs k/n");
    }
    None
}
