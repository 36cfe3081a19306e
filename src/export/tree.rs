//! `--format tree`: a picture of the path for a terminal — each node in path order with the
//! stages that observed the probe (interface, action, corrected time, latency since the previous
//! timed observation, what supports it), the NAT, policy and tunnel decisions under them, the
//! tunnel crossings between nodes with their latency, then the terminal point, clocks and
//! findings. Every line fits in [`WIDTH`] columns; colour only when asked (a terminal).

use crate::antrea::observation::{Action, NodeResult, Observation, Role};
use crate::export::heading::probe_heading;
use crate::export::result::human_duration;
use crate::probe::Probe;
use crate::trace::TraceResult;
use std::io::{self, Write};

/// The widest line the tree writes, in characters.
pub const WIDTH: usize = 100;

/// How to draw.
#[derive(Clone, Copy, Debug, Default)]
pub struct TreeOptions {
    /// ANSI colour (drops red, deliveries green, node names bold, evidence dim).
    pub color: bool,
}

/// Writes the tree view of `result` (headed by the probe when given).
pub fn write_tree(
    out: &mut dyn Write,
    result: &TraceResult,
    probe: Option<&Probe>,
    opts: TreeOptions,
) -> io::Result<()> {
    for line in tree_lines(result, probe) {
        let line = fit(&line.text, WIDTH);
        let line = if opts.color { paint(&line, line_style(&line)) } else { line };
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// One line of the picture (plain text).
struct Line {
    text: String,
}

fn offset(result: &TraceResult, node: &str) -> i64 {
    result.clocks.iter().find(|c| c.node == node).map_or(0, |c| c.offset_ns)
}

fn corrected(result: &TraceResult, r: &NodeResult, o: &Observation) -> Option<i64> {
    o.raw_time_ns.map(|t| t + offset(result, &r.node))
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Delivered => "Delivered",
        Action::Received => "Received",
        Action::Forwarded => "Forwarded",
        Action::Dropped => "Dropped",
        Action::Rejected => "Rejected",
        Action::ForwardedOutOfNetwork => "ForwardedOutOfNetwork",
        Action::ForwardedOutOfOverlay => "ForwardedOutOfOverlay",
        Action::MarkedForSNAT => "MarkedForSNAT",
        Action::ForwardedToEgressNode => "ForwardedToEgressNode",
    }
}

fn role_name(r: Option<Role>) -> Option<&'static str> {
    r.map(|r| match r {
        Role::Sender => "sender",
        Role::Receiver => "receiver",
        Role::Transit => "transit",
        Role::Egress => "egress",
    })
}

/// The stage that made the observation: its table (componentInfo), else the component.
fn stage(o: &Observation) -> String {
    o.component_info.clone().unwrap_or_else(|| {
        serde_json::to_value(o.component).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    })
}

/// What supports the observation, by kind: `capture+counter`.
fn support(o: &Observation) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for e in &o.evidence {
        let k = e.kind.name();
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    if kinds.is_empty() {
        "no evidence".into()
    } else {
        kinds.join("+")
    }
}

/// The decisions an observation records, one phrase each.
fn decisions(o: &Observation) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(ip) = &o.src_pod_ip {
        d.push(format!("source Pod IP {ip}"));
    }
    if let Some(ip) = &o.translated_dst_ip {
        d.push(match &o.pod {
            Some(p) => format!("DNAT to {ip} (endpoint {p})"),
            None => format!("DNAT to {ip}"),
        });
    } else if let Some(p) = &o.pod {
        d.push(format!("endpoint {p}"));
    }
    if let Some(ip) = &o.translated_src_ip {
        d.push(format!("SNAT to {ip}"));
    }
    if let Some(p) = &o.network_policy {
        let verb = match o.action {
            Action::Dropped => "dropped by",
            Action::Rejected => "rejected by",
            _ => "allowed by",
        };
        d.push(match &o.network_policy_rule {
            Some(rule) => format!("{verb} {p} rule {rule}"),
            None => format!("{verb} {p}"),
        });
    } else if matches!(o.action, Action::Dropped | Action::Rejected) {
        let verb = action_name(o.action).to_lowercase();
        d.push(match o.component_info.as_deref() {
            // Antrea names no policy for the default drop of a Pod isolated by K8s policies.
            Some(t) if t.ends_with("DefaultRule") => format!("{verb}: isolated, no NetworkPolicy rule allows it"),
            _ => format!("{verb}, no policy named"),
        });
    }
    if let Some(e) = &o.egress {
        d.push(format!("Egress {e}"));
    }
    if let Some(ip) = &o.egress_ip {
        d.push(format!("egress IP {ip}"));
    }
    if let Some(n) = &o.egress_node {
        d.push(format!("via Egress node {n}"));
    }
    if let Some(ip) = &o.tunnel_dst_ip {
        d.push(format!("into the tunnel to {ip}"));
    }
    if let Some(t) = o.ttl {
        d.push(format!("TTL {t}"));
    }
    d
}

/// `HH:MM:SS.ffffff` of an RFC 3339 time (the date is in the heading), or the whole time when
/// its date is not `date`.
fn clock_time(rfc: &str, date: Option<&str>) -> String {
    match (rfc.get(..10), rfc.get(11..26)) {
        (Some(d), Some(t)) if Some(d) == date => t.to_string(),
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => rfc.to_string(),
    }
}

fn tree_lines(result: &TraceResult, probe: Option<&Probe>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut push = |s: String| lines.push(Line { text: s });
    if let Some(p) = probe {
        push(format!("probe {}", probe_heading(p)));
    } else if let (Some(s), Some(d)) = (&result.source, &result.destination) {
        push(format!("probe {s} → {d}, tag {}", result.dataplane_tag));
    }
    let first_time = result.results.iter().flat_map(|r| r.observations.iter()).find_map(|o| o.time.clone());
    let date = first_time.as_deref().and_then(|t| t.get(..10)).map(str::to_string);
    match &date {
        Some(d) => push(format!("times: {d}, UTC, corrected for clock offsets")),
        None => push("times: none (no capture shows the probe)".into()),
    }
    let mut last_time: Option<(i64, String)> = None;
    let mut first_ns: Option<i64> = None;
    let mut crossings = 0;
    for (n, r) in result.results.iter().enumerate() {
        push("│".into());
        if n > 0 {
            let prev = &result.results[n - 1];
            let tunnel = prev.observations.iter().rev().find_map(|o| o.tunnel_dst_ip.clone());
            let from_if = prev.observations.iter().rev().find_map(|o| o.interface.clone());
            let to_if = r.observations.iter().find_map(|o| o.interface.clone());
            let latency = match (
                prev.observations.iter().rev().find_map(|o| corrected(result, prev, o)),
                r.observations.iter().find_map(|o| corrected(result, r, o)),
            ) {
                (Some(a), Some(b)) => format!(", {}", signed(b - a)),
                _ => String::new(),
            };
            let what = match tunnel {
                Some(ip) => format!("tunnel to {ip}"),
                None => "to the next node".to_string(),
            };
            let ends = format!(
                "{}{} → {}{}",
                prev.node,
                from_if.map(|i| format!(" {i}")).unwrap_or_default(),
                r.node,
                to_if.map(|i| format!(" {i}")).unwrap_or_default()
            );
            push(format!("╞══ {what}: {ends}{latency}"));
            push("│".into());
            crossings += 1;
        }
        let mut head = format!("● {}", r.node);
        let mut about: Vec<String> = role_name(r.role).map(|s| vec![s.to_string()]).unwrap_or_default();
        if let Some(c) = result.clocks.iter().find(|c| c.node == r.node && c.offset_ns != 0) {
            about.push(format!("clock corrected by {}", signed(c.offset_ns)));
        }
        if !about.is_empty() {
            head.push_str(&format!(" ({})", about.join(", ")));
        }
        push(head);
        if !r.hops.is_empty() {
            let names: Vec<String> = r.hops.iter().map(|h| h.table.clone().unwrap_or_else(|| stage(h))).collect();
            let end = r.hops.last().map(|h| action_name(h.action)).unwrap_or_default();
            let text = format!("{} ({end})", names.join(" → "));
            let mut first = true;
            for chunk in wrap(&text, WIDTH - 14) {
                push(format!("│     {}{chunk}", if first { "stages: " } else { "        " }));
                first = false;
            }
        }
        let count = r.observations.len();
        for (i, o) in r.observations.iter().enumerate() {
            let last = i + 1 == count;
            let (branch, under) = if last { ("└─", "   ") } else { ("├─", "│  ") };
            let mark = match o.action {
                Action::Dropped | Action::Rejected => " ✗",
                Action::Delivered | Action::ForwardedOutOfNetwork | Action::ForwardedOutOfOverlay => " ✓",
                _ => "",
            };
            let left = format!(
                "{}: {}{mark}{}",
                stage(o),
                action_name(o.action),
                o.interface.as_ref().map(|i| format!(" at {i}")).unwrap_or_default()
            );
            let (time, delta) = match (corrected(result, r, o), &o.time) {
                (Some(ns), Some(t)) => {
                    let d = last_time.as_ref().map(|(p, _)| format!("+{}", human_duration(ns - p))).unwrap_or_default();
                    first_ns.get_or_insert(ns);
                    last_time = Some((ns, t.clone()));
                    (clock_time(t, date.as_deref()), d)
                }
                _ => (String::new(), String::new()),
            };
            push(format!("│ {branch} {left:<44} {time:>15} {delta:>11}  [{}]", support(o)));
            let d = decisions(o);
            if !d.is_empty() {
                for chunk in wrap(&d.join(", "), WIDTH - 10) {
                    push(format!("│ {under}   {chunk}"));
                }
            }
        }
    }
    push("│".into());
    let terminal = result
        .results
        .iter()
        .flat_map(|r| r.observations.iter().map(move |o| (r, o)))
        .rev()
        .find(|(_, o)| o.action.is_terminal());
    match terminal {
        Some((r, o)) => push(format!(
            "■ {} on {}{}",
            action_name(o.action),
            r.node,
            o.interface.as_ref().map(|i| format!(" at {i}")).unwrap_or_default()
        )),
        None => {
            push(format!("■ path incomplete{}", result.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()))
        }
    }
    let observations: usize = result.results.iter().map(|r| r.observations.len()).sum();
    let total = match (first_ns, &last_time) {
        (Some(a), Some((b, _))) if *b > a => format!(", {} first to last sighting", human_duration(b - a)),
        _ => String::new(),
    };
    push(format!(
        "  {:?}: {observations} observations, {} node{}, {crossings} crossing{}{total}",
        result.phase,
        result.results.len(),
        if result.results.len() == 1 { "" } else { "s" },
        if crossings == 1 { "" } else { "s" },
    ));
    for c in &result.clocks {
        if let Some(b) = c.bound_ns {
            if c.offset_ns != 0 || b != 0 {
                push(format!("  clock {}: offset {} ± {}", c.node, signed(c.offset_ns), human_duration(b)));
            }
        } else {
            push(format!("  clock {}: offset not measurable (no tunnel crossing)", c.node));
        }
    }
    if !result.findings.is_empty() {
        push("  findings:".into());
        for f in &result.findings {
            let text =
                format!("{}: {}{}", f.kind, f.node.as_ref().map(|n| format!("{n}: ")).unwrap_or_default(), f.message);
            let mut first = true;
            for chunk in wrap(&text, WIDTH - 6) {
                push(format!("  {} {chunk}", if first { " -" } else { "  " }));
                first = false;
            }
        }
    }
    lines
}

fn signed(ns: i64) -> String {
    if ns >= 0 {
        format!("+{}", human_duration(ns))
    } else {
        human_duration(ns)
    }
}

/// Splits `text` at spaces into pieces of at most `width` characters (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            let head: String = word.chars().take(width).collect();
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(head);
            word = word.chars().skip(width).collect();
        }
        let extra = if cur.is_empty() { 0 } else { 1 };
        if cur.chars().count() + extra + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// Cuts a line to `width` characters, ending it with `…` when something was cut.
fn fit(line: &str, width: usize) -> String {
    let trimmed = line.trim_end();
    if trimmed.chars().count() <= width {
        return trimmed.to_string();
    }
    let mut s: String = trimmed.chars().take(width - 1).collect();
    s.push('…');
    s
}

/// The colour of a line: by what it shows.
fn line_style(line: &str) -> &'static str {
    if line.contains(" ✗") || line.starts_with("■ Dropped") || line.starts_with("■ Rejected") {
        "31" // red
    } else if line.contains(" ✓") || line.starts_with("■ ") && !line.starts_with("■ path incomplete") {
        "32" // green
    } else if line.starts_with("● ") {
        "1" // bold
    } else if line.starts_with("╞") {
        "36" // cyan
    } else if line.starts_with("■ path incomplete") || line.trim_start().starts_with("- ") {
        "33" // yellow
    } else {
        ""
    }
}

fn paint(line: &str, code: &str) -> String {
    if code.is_empty() {
        line.to_string()
    } else {
        format!("\x1b[{code}m{line}\x1b[0m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_fit_keep_to_the_width() {
        let text = "a ".repeat(80) + &"x".repeat(150);
        for piece in wrap(&text, 40) {
            assert!(piece.chars().count() <= 40, "{piece}");
        }
        assert_eq!(wrap("one two", 40), vec!["one two".to_string()]);
        let long = "é".repeat(120);
        assert_eq!(fit(&long, 100).chars().count(), 100);
        assert!(fit(&long, 100).ends_with('…'));
        assert_eq!(fit("short   ", 100), "short");
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(paint("● n", line_style("● n")), "\x1b[1m● n\x1b[0m");
        assert_eq!(line_style("│ └─ IngressDefaultRule: Dropped ✗"), "31");
        assert_eq!(line_style("│ plain"), "");
    }
}
