//! Fuzz the flow-text readers: `dump-flows` / `add-flows` text, `dump-groups` lines, port tables
//! and the agent YAML reader. None may panic; whatever parses must print to text that parses
//! back to the same value.
//! (Register in fuzz/Cargo.toml as `[[bin]] name = "parse_flows"`.)

#![no_main]

use hoptrace::ovs::{Flow, FlowDump, Group, GroupDump, PortTable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(dump) = FlowDump::parse(&text, "fuzz") {
        for f in &dump.flows {
            let again = Flow::parse(&f.to_string()).expect("printed flow parses");
            assert_eq!(&again, f);
        }
        // A dump remembers repeated action texts and match items; each flow must still be what
        // its line gives on its own (lines that parse alone: not continued, not numbered).
        // Lines as the dump reads them: pasted colour codes and markup removed.
        let cleaned: Vec<String> = text.split('\n').map(|l| hoptrace::ovs::noise::clean(l).0.into_owned()).collect();
        let lines: Vec<&str> = cleaned.iter().map(String::as_str).collect();
        for (f, n) in dump.flows.iter().zip(&dump.lines) {
            let Some(line) = n.checked_sub(1).and_then(|i| lines.get(i)).map(|l| l.trim_ascii()) else { continue };
            if line.ends_with('\\') || line.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            if let Ok(alone) = Flow::parse(line) {
                assert_eq!(&alone, f, "line {n}");
            }
        }
        // A skipped line is one that does not parse on its own; the list is bounded.
        assert!(dump.skipped.len() <= hoptrace::ovs::flow::MAX_SKIPPED_LINES);
        assert_eq!(dump.flows.len(), dump.lines.len());
        for s in &dump.skipped {
            let Some(line) = s.error.line.checked_sub(1).and_then(|i| lines.get(i)).map(|l| l.trim_ascii()) else {
                continue;
            };
            if !line.ends_with('\\') && !line.starts_with(|c: char| c.is_ascii_digit()) {
                assert!(Flow::parse(line).is_err(), "line {} was skipped but parses", s.error.line);
            }
        }
        let _ = dump.warnings();
    }
    for line in text.lines() {
        if let Ok(g) = Group::parse(line) {
            assert_eq!(Group::parse(&g.to_string()).as_ref(), Ok(&g));
        }
    }
    // A group dump keeps what parses; its skipped list is bounded.
    if let Ok(groups) = GroupDump::parse(&text, "fuzz") {
        assert!(groups.skipped.len() <= hoptrace::ovs::flow::MAX_SKIPPED_LINES);
        for g in &groups.groups {
            assert_eq!(Group::parse(&g.to_string()).as_ref(), Ok(g));
        }
        let _ = (groups.warnings(), groups.missing_group_note());
    }
    let _ = PortTable::parse(&text);
    let _ = hoptrace::bundle::lenient::documents(&text);
});
