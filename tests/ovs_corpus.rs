//! Every flow line of the shared corpus (`../shared/corpus/flows/`) parses, prints, and parses
//! back to the same value; OVS's own negative parse cases are rejected with a message.

use hoptrace::ovs::{Flow, FlowDump, Group};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/flows")
}

/// Keys a dump or flow-mod line starts with.
const STARTS: &[&str] =
    &["cookie=", "table=", "duration=", "n_packets=", "priority=", "idle_timeout=", "hard_timeout="];

/// Strips what surrounds a flow line in the corpus files: the design doc's `N. ` index, a
/// `diff-flows` `+`/`-`, leading blanks.
fn clean(line: &str) -> &str {
    let t = line.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let t = if digits > 0 && t[digits..].starts_with(". ") { t[digits + 2..].trim_start() } else { t };
    let t = t.strip_prefix('+').or_else(|| t.strip_prefix('-')).unwrap_or(t);
    t.trim()
}

/// The flow lines of a corpus file, with line numbers: dump-style lines (start with a flow key,
/// contain `actions=`) and the lines of `AT_DATA([flows.txt], ...)` blocks. Lines with shell or
/// m4 placeholders (`$`, `@`, `[[`) are templates, not flows, and are returned separately.
fn flow_lines(text: &str) -> (Vec<(usize, String)>, usize) {
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
fn expected_reject(file: &str, line: &str) -> Option<&'static str> {
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

#[test]
fn every_corpus_flow_line_parses_and_round_trips() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("corpus present")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt" || e == "flows"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut rejected = 0;
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (lines, templated) = flow_lines(&text);
        for (n, line) in &lines {
            if line.starts_with("group_id=") {
                continue;
            }
            if let Some(why) = expected_reject(&name, line) {
                let e = Flow::parse(line).expect_err(why);
                assert!(!e.is_empty());
                rejected += 1;
                continue;
            }
            total += 1;
            match Flow::parse(line) {
                Ok(flow) => {
                    let printed = flow.to_string();
                    match Flow::parse(&printed) {
                        Ok(again) if again == flow => {}
                        Ok(_) => failures.push(format!("{name}:{n}: round trip differs: {line}\n  printed: {printed}")),
                        Err(e) => failures.push(format!("{name}:{n}: printed form does not parse: {e}\n  {printed}")),
                    }
                }
                Err(e) => failures.push(format!("{name}:{n}: {e}\n  {line}")),
            }
        }
        eprintln!("{name}: {} flow lines, {templated} templated", lines.len());
    }
    assert!(failures.is_empty(), "{} of {total} failed:\n{}", failures.len(), failures.join("\n"));
    assert!(total > 2000, "only {total} flow lines found");
    assert_eq!(rejected, 5, "expected rejects");
}

/// The `'...'` test-case strings of the autotest block that starts at `title`.
fn cases(text: &str, title: &str) -> Vec<String> {
    let start = text.find(title).expect("block present");
    let block = &text[start..];
    let end = block.find("AT_CLEANUP").unwrap_or(block.len());
    block[..end]
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix('\'')?;
            let close = inner.find('\'')?;
            Some(inner[..close].replace("[[", "[").replace("]]", "]"))
        })
        .collect()
}

#[test]
fn ovs_negative_cases_are_rejected_with_a_message() {
    let text = std::fs::read_to_string(corpus().join("ovs-tests-ovs-ofctl.at-parse-flows.txt")).unwrap();
    // "parse-flow with invalid mask": each case must fail with "<value>: invalid mask for field <field>".
    let masks = cases(&text, "AT_SETUP([ovs-ofctl parse-flow with invalid mask])");
    assert_eq!(masks.len(), 24);
    for case in &masks {
        let parts: Vec<&str> = case.split_whitespace().collect();
        let (prereq, field, value) = match parts.as_slice() {
            [p, f, v] => (format!("{p},"), *f, *v),
            [f, v] => (String::new(), *f, *v),
            _ => panic!("{case}"),
        };
        let line = format!("{prereq}{field}={value},actions=drop");
        let err = Flow::parse(&line).expect_err(&line);
        assert!(err.contains("invalid mask for field"), "{line}: {err}");
    }
    // "choice of protocol": cases usable with no OpenFlow protocol ("none") must fail, all
    // others must parse.
    let choice = cases(&text, "AT_SETUP([ovs-ofctl parse-flows choice of protocol])");
    assert!(choice.len() > 150, "{}", choice.len());
    let mut none = 0;
    for case in &choice {
        let (flow, protocols) = case.split_once(char::is_whitespace).expect("two columns");
        let line = format!("{flow},actions=drop");
        let result = Flow::parse(&line);
        if protocols.trim() == "none" {
            none += 1;
            let err = result.expect_err(&line);
            assert!(err.contains("cannot be matched"), "{line}: {err}");
        } else {
            let flow = result.unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(Flow::parse(&flow.to_string()).unwrap(), flow, "{line}");
        }
    }
    assert_eq!(none, 3);
}

#[test]
fn antrea_groups_and_pipeline_files_load() {
    let dump = FlowDump::load(&corpus().join("antrea-ovs-pipeline-v1.15-all-tables.flows")).unwrap();
    assert_eq!(dump.flows.len(), 167);
    let text = std::fs::read_to_string(corpus().join("antrea-ovs-pipeline-v1.15-groups.txt")).unwrap();
    let groups = hoptrace::ovs::group::parse_groups(&text, "groups").unwrap();
    assert_eq!(groups.len(), 3);
    for g in &groups {
        assert_eq!(&Group::parse(&g.to_string()).unwrap(), g);
    }
}
