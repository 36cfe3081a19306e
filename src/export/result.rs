//! Writing a [`TraceResult`] as JSON (Antrea's status shape), CSV (one row per observation,
//! RFC 4180, stable columns) or a table that reads like NSX's Traceflow view.

use crate::antrea::observation::{NodeResult, Observation, Role};
use crate::trace::TraceResult;
use std::io::{self, Write};

/// JSON, pretty-printed, newline-terminated.
pub fn write_json(out: &mut dyn Write, result: &TraceResult) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, result)?;
    writeln!(out)
}

/// The CSV columns, in order. Scripts depend on this order: only append.
pub const CSV_COLUMNS: [&str; 27] = [
    "node",
    "role",
    "seq",
    "time",
    "rawTimeNs",
    "deltaNs",
    "action",
    "component",
    "componentInfo",
    "pod",
    "networkPolicy",
    "networkPolicyRule",
    "translatedSrcIP",
    "translatedDstIP",
    "tunnelDstIP",
    "srcPodIP",
    "egress",
    "egressIP",
    "egressNode",
    "interface",
    "table",
    "evidence",
    "ttl",
    "hop",
    "phase",
    "record",
    "finding",
];

/// What the human and CSV views show beyond the result itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct ViewOptions<'a> {
    /// The probe, named in the table's heading.
    pub probe: Option<&'a crate::probe::Probe>,
    /// Times in the local time zone (table) instead of UTC.
    pub local: bool,
    /// CSV: one more row per finding (`record` = `finding`).
    pub csv_findings: bool,
}

/// Every observation with its node, sequence number and the time since the previous timed one.
/// The hop count of each row is the node's position on the path (0 for the first node), as NSX
/// counts hops across transport nodes.
fn rows(result: &TraceResult) -> Vec<(&NodeResult, usize, &Observation, Option<i64>)> {
    let mut last: Option<i64> = None;
    let mut out = Vec::new();
    for r in &result.results {
        for (i, o) in r.observations.iter().enumerate() {
            let corrected = o.raw_time_ns.map(|raw| raw + offset(result, &r.node));
            let delta = match (corrected, last) {
                (Some(t), Some(prev)) => Some(t - prev),
                _ => None,
            };
            if corrected.is_some() {
                last = corrected;
            }
            out.push((r, i + 1, o, delta));
        }
    }
    out
}

fn offset(result: &TraceResult, node: &str) -> i64 {
    result.clocks.iter().find(|c| c.node == node).map_or(0, |c| c.offset_ns)
}

fn role_name(r: Option<Role>) -> &'static str {
    match r {
        Some(Role::Sender) => "sender",
        Some(Role::Receiver) => "receiver",
        Some(Role::Transit) => "transit",
        Some(Role::Egress) => "egress",
        None => "",
    }
}

fn enum_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn evidence_text(o: &Observation) -> String {
    o.evidence
        .iter()
        .map(|e| {
            let mut s = e.file.clone().unwrap_or_else(|| e.kind.to_string());
            if let Some(p) = e.packet {
                s.push_str(&format!("#{p}"));
            }
            if let Some(l) = e.line {
                s.push_str(&format!(":{l}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The position of `node` on the path (0-based).
fn hop_of(result: &TraceResult, node: &NodeResult) -> usize {
    result.results.iter().position(|r| std::ptr::eq(r, node)).unwrap_or(0)
}

/// CSV with a header row.
pub fn write_csv(out: &mut dyn Write, result: &TraceResult) -> io::Result<()> {
    write_csv_with(out, result, ViewOptions::default())
}

/// CSV with a header row; with `csv_findings`, a row per finding after the observations.
pub fn write_csv_with(out: &mut dyn Write, result: &TraceResult, opts: ViewOptions<'_>) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    let phase = enum_name(&result.phase);
    for (r, seq, o, delta) in rows(result) {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        w.write_record([
            r.node.clone(),
            role_name(r.role).to_string(),
            seq.to_string(),
            s(&o.time),
            o.raw_time_ns.map(|t| t.to_string()).unwrap_or_default(),
            delta.map(|d| d.to_string()).unwrap_or_default(),
            enum_name(&o.action),
            enum_name(&o.component),
            s(&o.component_info),
            s(&o.pod),
            s(&o.network_policy),
            s(&o.network_policy_rule),
            s(&o.translated_src_ip),
            s(&o.translated_dst_ip),
            s(&o.tunnel_dst_ip),
            s(&o.src_pod_ip),
            s(&o.egress),
            s(&o.egress_ip),
            s(&o.egress_node),
            s(&o.interface),
            s(&o.table),
            evidence_text(o),
            o.ttl.map(|t| t.to_string()).unwrap_or_default(),
            hop_of(result, r).to_string(),
            phase.clone(),
            "observation".into(),
            String::new(),
        ])?;
    }
    if opts.csv_findings {
        for f in &result.findings {
            let mut record = vec![String::new(); CSV_COLUMNS.len()];
            record[0] = f.node.clone().unwrap_or_default();
            record[CSV_COLUMNS.len() - 3] = phase.clone();
            record[CSV_COLUMNS.len() - 2] = "finding".into();
            record[CSV_COLUMNS.len() - 1] = format!("{}: {}", f.kind, f.message);
            w.write_record(&record)?;
        }
    }
    w.flush()
}

/// A human duration: `1.234 ms`, `56.7 µs`, `2.000 s`.
pub fn human_duration(ns: i64) -> String {
    let a = ns.unsigned_abs() as f64;
    let sign = if ns < 0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}{:.3} s", a / 1e9)
    } else if a >= 1e6 {
        format!("{sign}{:.3} ms", a / 1e6)
    } else if a >= 1e3 {
        format!("{sign}{:.1} µs", a / 1e3)
    } else {
        format!("{sign}{a} ns")
    }
}

fn details(o: &Observation) -> String {
    let mut d = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            d.push(format!("{k}={v}"));
        }
    };
    add("srcPodIP", &o.src_pod_ip);
    add("translatedSrcIP", &o.translated_src_ip);
    add("translatedDstIP", &o.translated_dst_ip);
    add("pod", &o.pod);
    add("networkPolicy", &o.network_policy);
    add("rule", &o.network_policy_rule);
    add("tunnelDstIP", &o.tunnel_dst_ip);
    add("egress", &o.egress);
    add("egressIP", &o.egress_ip);
    add("egressNode", &o.egress_node);
    add("interface", &o.interface);
    add("table", &o.table);
    if let Some(ttl) = o.ttl {
        d.push(format!("ttl={ttl}"));
    }
    d.join(" ")
}

/// The table view: one line per observation, then the outcome, clock offsets and findings.
pub fn write_table(out: &mut dyn Write, result: &TraceResult) -> io::Result<()> {
    write_table_with(out, result, ViewOptions::default())
}

/// A corrected time for the table: date and time with `Z`, or in the local zone with its offset.
fn table_time(result: &TraceResult, r: &NodeResult, o: &Observation, local: bool) -> Option<String> {
    let ns = o.raw_time_ns.map(|t| t + offset(result, &r.node));
    let text = match (ns, local) {
        (Some(ns), true) => crate::time::local_offset_secs(ns).map(|off| crate::time::rfc3339_nanos_at(ns, off)),
        _ => None,
    };
    text.or_else(|| o.time.clone()).map(|t| t.replacen('T', " ", 1))
}

/// The table view with the probe named in a heading and times in UTC or, with `local`, the local
/// zone.
pub fn write_table_with(out: &mut dyn Write, result: &TraceResult, opts: ViewOptions<'_>) -> io::Result<()> {
    if let Some(p) = opts.probe {
        writeln!(out, "probe: {}", crate::export::heading::probe_heading(p))?;
    }
    let nodes = result.results.len();
    writeln!(
        out,
        "{} observations on {nodes} node{}, {} hop{} across nodes; times {}\n",
        result.results.iter().map(|r| r.observations.len()).sum::<usize>(),
        if nodes == 1 { "" } else { "s" },
        nodes.saturating_sub(1),
        if nodes == 2 { "" } else { "s" },
        if opts.local { "local (offset from UTC shown)" } else { "UTC" }
    )?;
    let header = ["#", "Hop", "Observation", "Component", "Info", "Node", "Role", "Time", "Δt", "Details"];
    let mut lines: Vec<[String; 10]> = Vec::new();
    for (r, seq, o, delta) in rows(result) {
        let time = table_time(result, r, o, opts.local);
        lines.push([
            seq.to_string(),
            hop_of(result, r).to_string(),
            enum_name(&o.action),
            enum_name(&o.component),
            o.component_info.clone().unwrap_or_else(|| "-".into()),
            r.node.clone(),
            role_name(r.role).to_string(),
            time.unwrap_or_else(|| "-".into()),
            delta.map(human_duration).unwrap_or_else(|| "-".into()),
            details(o),
        ]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let row = |cells: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", row(&header.map(String::from)))?;
    for l in &lines {
        writeln!(out, "{}", row(l))?;
    }
    for r in result.results.iter().filter(|r| !r.hops.is_empty()) {
        writeln!(out, "\npipeline stages on {}:", r.node)?;
        for (i, h) in r.hops.iter().enumerate() {
            let at = h
                .evidence
                .first()
                .map(|e| format!("{}:{}", e.file.as_deref().unwrap_or("-"), e.line.unwrap_or(0)))
                .unwrap_or_default();
            writeln!(
                out,
                "  {:>2}  {:<26} {:<15} {:<10} {at}",
                i + 1,
                h.table.as_deref().unwrap_or("-"),
                enum_name(&h.component),
                enum_name(&h.action)
            )?;
        }
    }
    let terminal = result.results.iter().flat_map(|r| &r.observations).rev().find(|o| o.action.is_terminal());
    writeln!(
        out,
        "\nphase: {}{}, dataplaneTag {}",
        enum_name(&result.phase),
        terminal.map(|o| format!(" ({})", enum_name(&o.action))).unwrap_or_default(),
        result.dataplane_tag
    )?;
    if let Some(reason) = &result.reason {
        writeln!(out, "reason: {reason}")?;
    }
    for c in &result.clocks {
        match c.bound_ns {
            Some(b) => {
                writeln!(out, "clock {}: offset {} ± {}", c.node, human_duration(c.offset_ns), human_duration(b))?
            }
            None => writeln!(out, "clock {}: not measurable (no tunnel crossing)", c.node)?,
        }
    }
    for f in &result.findings {
        writeln!(out, "{}: {}{}", f.kind, f.node.as_ref().map(|n| format!("{n}: ")).unwrap_or_default(), f.message)?;
    }
    Ok(())
}

/// One line for stderr: the phase, where the path ended, and the findings by kind
/// (`Succeeded: Delivered on k8s-node2 at web-b-5dacae; findings: 1 assumption`).
pub fn summary_line(result: &TraceResult) -> String {
    let terminal = result
        .results
        .iter()
        .flat_map(|r| r.observations.iter().map(move |o| (r, o)))
        .rev()
        .find(|(_, o)| o.action.is_terminal());
    let end = match terminal {
        Some((r, o)) => format!(
            ": {} on {}{}",
            enum_name(&o.action),
            r.node,
            o.interface.as_ref().map(|i| format!(" at {i}")).unwrap_or_default()
        ),
        None => match &result.reason {
            Some(reason) => format!(": {reason}"),
            None => String::new(),
        },
    };
    let mut kinds: Vec<(crate::trace::FindingKind, usize)> = Vec::new();
    for f in &result.findings {
        match kinds.iter_mut().find(|(k, _)| *k == f.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((f.kind, 1)),
        }
    }
    kinds.sort();
    let findings = if kinds.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!("; findings: {}", parts.join(", "))
    };
    format!("{}{end}{findings}", enum_name(&result.phase))
}
