//! Writing an `analyze --match` result ([`LiveResult`]): JSON (schema `hoptrace.live/v1`), CSV
//! (one row per packet) or a table (the summary, then per connection its first packet's
//! observations and one line per packet).

use super::result::write_table;
use crate::trace::live::report::{ConnectionResult, DropPoint, LiveResult, PacketResult};
use std::io::{self, Write};

/// JSON, pretty-printed, newline-terminated.
pub fn write_live_json(out: &mut dyn Write, result: &LiveResult) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, result)?;
    writeln!(out)
}

/// The CSV columns, in order. Scripts depend on this order: only append.
pub const LIVE_CSV_COLUMNS: [&str; 18] = [
    "connection",
    "tuple",
    "packet",
    "time",
    "ipId",
    "ctState",
    "retransmission",
    "fate",
    "lastNode",
    "lastInterface",
    "lastTuple",
    "lastTtl",
    "sightings",
    "dropNode",
    "dropComponent",
    "dropTable",
    "networkPolicy",
    "networkPolicyRule",
];

/// One row per packet of every reported connection.
pub fn write_live_csv(out: &mut dyn Write, result: &LiveResult) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(LIVE_CSV_COLUMNS)?;
    for (i, c) in result.connections.iter().enumerate() {
        for p in &c.packets {
            let last = p.last_seen.as_ref();
            let drop = p.drop.as_ref();
            let opt = |s: Option<&String>| s.cloned().unwrap_or_default();
            w.write_record([
                (i + 1).to_string(),
                c.tuple.clone(),
                p.number.to_string(),
                p.time.clone(),
                p.ip_id.map(|i| i.to_string()).unwrap_or_default(),
                p.ct_state.clone(),
                p.retransmission.to_string(),
                p.fate.name().to_string(),
                last.map(|l| l.node.clone()).unwrap_or_default(),
                opt(last.and_then(|l| l.interface.as_ref())),
                last.map(|l| l.tuple.clone()).unwrap_or_default(),
                last.map(|l| l.ttl.to_string()).unwrap_or_default(),
                p.sightings.len().to_string(),
                drop.map(|d| d.node.clone()).unwrap_or_default(),
                drop.map(|d| format!("{:?}", d.component)).unwrap_or_default(),
                opt(drop.and_then(|d| d.component_info.as_ref())),
                opt(drop.and_then(|d| d.network_policy.as_ref())),
                opt(drop.and_then(|d| d.network_policy_rule.as_ref())),
            ])?;
        }
    }
    w.flush()
}

fn drop_text(d: &DropPoint) -> String {
    let mut s = format!("{} {:?} {:?}", d.node, d.component, d.action);
    for part in [&d.component_info, &d.network_policy, &d.network_policy_rule].into_iter().flatten() {
        s.push(' ');
        s.push_str(part);
    }
    s
}

fn connection_line(n: usize, c: &ConnectionResult) -> String {
    let mut s = format!("connection {n}: {}  {}", c.tuple, c.fate.name());
    if let Some(e) = &c.endpoint {
        s.push_str(&format!(" -> {e}"));
    }
    if let Some(d) = &c.drop {
        s.push_str(&format!(" at {}", drop_text(d)));
    }
    if c.mid_connection {
        s.push_str(" (capture began mid-connection)");
    }
    s
}

fn packet_line(p: &PacketResult) -> String {
    let last = p.last_seen.as_ref().map_or("-".to_string(), |l| {
        format!("{}/{} {} ttl {}", l.node, l.interface.as_deref().unwrap_or("?"), l.tuple, l.ttl)
    });
    let mut s = format!(
        "  {:>4}  {}  id {:<5}  {:<9}  {:<13}  last seen {last}",
        p.number,
        p.time,
        p.ip_id.map_or("-".to_string(), |i| i.to_string()),
        p.ct_state,
        p.fate.name(),
    );
    if p.retransmission {
        s.push_str("  (retransmission)");
    }
    if p.duplicates > 0 {
        s.push_str(&format!("  ({} duplicate sightings)", p.duplicates));
    }
    if let Some(d) = &p.drop {
        s.push_str(&format!("  dropped at {}", drop_text(d)));
    }
    s
}

/// The summary line (also printed on stderr).
pub fn live_summary_line(r: &LiveResult) -> String {
    let s = &r.summary;
    format!(
        "--match {}: {} connections found, {} reported: {} delivered, {} forwarded out, {} dropped, {} unknown",
        r.spec, s.found, s.reported, s.delivered, s.forwarded_out, s.dropped, s.unknown
    )
}

/// The summary, then each connection: its first packet's observations and its packets.
pub fn write_live_table(out: &mut dyn Write, r: &LiveResult) -> io::Result<()> {
    writeln!(out, "{}", live_summary_line(r))?;
    if r.summary.replies_dropped > 0 {
        writeln!(out, "  replies dropped: {} connections", r.summary.replies_dropped)?;
    }
    for (e, n) in &r.summary.endpoints {
        writeln!(out, "  delivered to {e}: {n} connections")?;
    }
    for d in &r.summary.drops {
        let mut at = format!("{:?}", d.component);
        for part in [&d.component_info, &d.network_policy, &d.network_policy_rule].into_iter().flatten() {
            at.push(' ');
            at.push_str(part);
        }
        writeln!(out, "  dropped on {} in {at}: {} connections", d.node, d.connections)?;
    }
    for (i, c) in r.connections.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "{}", connection_line(i + 1, c))?;
        let k = &c.counts;
        writeln!(
            out,
            "  {} packets: {} delivered, {} forwarded out, {} dropped, {} unknown; {} retransmissions",
            k.packets, k.delivered, k.forwarded_out, k.dropped, k.unknown, k.retransmissions
        )?;
        writeln!(out, "  first packet, as a liveTraffic Traceflow:")?;
        write_table(out, &c.first_packet)?;
        for p in &c.packets {
            writeln!(out, "{}", packet_line(p))?;
        }
        if let Some(r) = &c.replies {
            let k = &r.counts;
            writeln!(
                out,
                "  replies: {}  {} ({} packets: {} delivered, {} dropped, {} unknown)",
                r.tuple,
                r.fate.name(),
                k.packets,
                k.delivered,
                k.dropped,
                k.unknown
            )?;
            if let Some(d) = &r.drop {
                writeln!(out, "    dropped at {}", drop_text(d))?;
            }
            for p in &r.packets {
                writeln!(out, "  {}", packet_line(p))?;
            }
        }
    }
    if !r.drop_flows.is_empty() {
        writeln!(out)?;
        writeln!(out, "drop flows that dropped packets (flow dumps alone, whatever the captures hold):")?;
        writeln!(out, "  {:<10} {:<20} {:>9}  {:<10}  {:<8}  what", "node", "table", "packets", "counted", "idle")?;
        for d in &r.drop_flows {
            let what = match (&d.network_policy, &d.network_policy_rule, &d.isolates) {
                (Some(p), Some(rule), _) => format!("{p} rule {rule}"),
                (Some(p), None, _) => p.clone(),
                (None, _, Some(pod)) => format!("isolation of {pod}"),
                _ => format!("{:?}", d.component),
            };
            let counted = if d.between_dumps {
                "in deltas".to_string()
            } else {
                d.installed_for_ms.map_or("in total".to_string(), |ms| format!("in {} s", ms / 1000))
            };
            let idle = d.idle_age_s.map_or("-".to_string(), |a| format!("{a} s"));
            writeln!(out, "  {:<10} {:<20} {:>9}  {:<10}  {:<8}  {what}", d.node, d.table, d.packets, counted, idle)?;
        }
    }
    if !r.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "findings:")?;
        for f in &r.findings {
            let node = f.node.as_deref().map(|n| format!("{n}: ")).unwrap_or_default();
            writeln!(out, "  [{}] {node}{}", f.kind, f.message)?;
        }
    }
    Ok(())
}
