//! Every flow line of the flow corpus (`tests/data/corpus/flows/`) parses, prints, and parses
//! back to the same value; OVS's own negative parse cases are rejected with a message.

use hoptrace::ovs::{Flow, FlowDump, Group};
use std::path::PathBuf;

mod support;
use support::corpus::{expected_reject, flow_lines, flows, flows_dir};

#[test]
fn every_corpus_flow_line_parses_and_round_trips() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(flows_dir())
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
                assert!(!e.message.is_empty());
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
    let text = std::fs::read_to_string(flows("ovs-tests-ovs-ofctl.at-parse-flows.txt")).unwrap();
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
        assert!(err.message.contains("invalid mask for field"), "{line}: {err}");
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
            assert!(err.message.contains("cannot be matched"), "{line}: {err}");
        } else {
            let flow = result.unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(Flow::parse(&flow.to_string()).unwrap(), flow, "{line}");
        }
    }
    assert_eq!(none, 3);
}

#[test]
fn antrea_groups_and_pipeline_files_load() {
    let dump = FlowDump::load(&flows("antrea-ovs-pipeline-v1.15-all-tables.flows")).unwrap();
    assert_eq!(dump.flows.len(), 167);
    let text = std::fs::read_to_string(flows("antrea-ovs-pipeline-v1.15-groups.txt")).unwrap();
    let groups = hoptrace::ovs::group::parse_groups(&text, "groups").unwrap();
    assert_eq!(groups.len(), 3);
    for g in &groups {
        assert_eq!(&Group::parse(&g.to_string()).unwrap(), g);
    }
}

#[test]
fn trace_oracle_flow_tables_parse() {
    // ovs-trace-oracle.jsonl: the `flows_txt` of each record is an add-flows file.
    let text = std::fs::read_to_string(flows("ovs-trace-oracle.jsonl")).unwrap();
    let (mut parsed, mut templated) = (0, 0);
    for (i, line) in text.lines().enumerate() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        for flow in rec["flows_txt"].as_array().unwrap() {
            let flow = flow.as_str().unwrap().trim();
            if flow.is_empty() || flow.starts_with('#') {
                continue;
            }
            if flow.contains('$') || flow.contains('@') || flow.contains("[[") || flow.contains("dnl") {
                templated += 1;
                continue;
            }
            // An entry may hold several lines.
            let dump = FlowDump::parse(flow, "flows_txt").unwrap_or_else(|e| panic!("record {}: {e}\n  {flow}", i + 1));
            for f in &dump.flows {
                assert_eq!(&Flow::parse(&f.to_string()).unwrap(), f, "{flow}");
                parsed += 1;
            }
        }
    }
    assert!(parsed > 180, "{parsed} parsed, {templated} templated");
}
