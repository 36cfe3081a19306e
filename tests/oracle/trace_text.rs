//! Reads the text `ovs-appctl ofproto/trace` prints (OVS 3.x): per pass (the first one and one
//! per conntrack recirculation), the tables visited with the priority of the flow hit (or
//! "No match"), the final flow fields and the datapath actions. From the passes it derives the
//! final decision the differential test compares: output ports, controller, drop.

use std::collections::BTreeMap;

/// One table visit printed as ` N. match, priority P` or ` N. No match.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// Table id.
    pub table: u8,
    /// Priority of the flow hit; `None` for "No match.".
    pub priority: Option<u32>,
}

/// One pass of the trace (before the first `===` or between recirculations).
#[derive(Clone, Debug, Default)]
pub struct Pass {
    /// The `Flow:` line.
    pub flow: String,
    /// Table visits in order (resubmits included).
    pub visits: Vec<Visit>,
    /// `Final flow:` (None when it says `unchanged`).
    pub final_flow: Option<String>,
    /// `Datapath actions:`.
    pub datapath_actions: String,
    /// Lines starting with `->` or `>>` (OVS's own remarks, e.g. "no live bucket").
    pub remarks: Vec<String>,
}

/// A parsed trace.
#[derive(Clone, Debug, Default)]
pub struct OracleTrace {
    /// Passes in order.
    pub passes: Vec<Pass>,
}

/// What happened to the packet, as the datapath actions say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OracleDecision {
    /// Output ports (names with `--names`, else datapath numbers), in order; tunnel outputs are
    /// `tunnel@tun_dst`.
    pub outputs: Vec<String>,
    /// Number of `userspace(...controller(...))` actions (packet-ins).
    pub controller: usize,
}

impl OracleTrace {
    /// Parses the full text of one `ofproto/trace` reply.
    pub fn parse(text: &str) -> OracleTrace {
        let mut t = OracleTrace::default();
        let mut cur: Option<Pass> = None;
        // Visits count only on the traced bridge: a tunnel output continues on br-phy, printed
        // as a nested `bridge("br-phy")` section (more indented than its header).
        let mut first_bridge = None::<String>;
        let mut nested: Option<usize> = None;
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            let lt = line.trim_start();
            if let Some(b) = lt.strip_prefix("bridge(\"").and_then(|r| r.strip_suffix("\")")) {
                let first = first_bridge.get_or_insert_with(|| b.to_string());
                nested = (first != b).then_some(indent);
                continue;
            }
            if let Some(ni) = nested {
                if !lt.is_empty() && indent <= ni && !lt.starts_with("---") {
                    nested = None;
                }
            }
            let in_first = nested.is_none();
            if let Some(f) = line.strip_prefix("Flow: ") {
                nested = None;
                if let Some(p) = cur.take() {
                    t.passes.push(p);
                }
                cur = Some(Pass { flow: f.to_string(), ..Pass::default() });
                continue;
            }
            let Some(p) = cur.as_mut() else { continue };
            if let Some(f) = line.strip_prefix("Final flow: ") {
                p.final_flow = (f != "unchanged").then(|| f.to_string());
            } else if let Some(a) = line.strip_prefix("Datapath actions: ") {
                p.datapath_actions = a.to_string();
            } else if let Some(v) = parse_visit(line) {
                if in_first {
                    p.visits.push(v);
                }
            } else {
                let l = line.trim_start();
                if l.starts_with("->") || l.starts_with(">>") {
                    p.remarks.push(l.to_string());
                }
            }
        }
        if let Some(p) = cur {
            t.passes.push(p);
        }
        t
    }

    /// All table visits across passes, in order.
    pub fn visits(&self) -> Vec<Visit> {
        self.passes.iter().flat_map(|p| p.visits.iter().cloned()).collect()
    }

    /// The fields of the last pass's final flow (its `Flow:` when the final flow is unchanged).
    pub fn final_fields(&self) -> BTreeMap<String, String> {
        let Some(p) = self.passes.last() else { return BTreeMap::new() };
        flow_fields(p.final_flow.as_deref().unwrap_or(&p.flow))
    }

    /// Outputs and packet-ins over all passes.
    pub fn decision(&self) -> OracleDecision {
        let mut d = OracleDecision::default();
        for p in &self.passes {
            datapath_actions(&p.datapath_actions, &mut d);
        }
        d
    }
}

/// Adds the outputs and packet-ins of one datapath action list (recursing into `clone(...)`).
fn datapath_actions(list: &str, d: &mut OracleDecision) {
    let mut tun_dst: Option<String> = None;
    let mut after_push = false;
    for a in split_top(list) {
        if a == "drop" || a == "ct" || a.starts_with("ct(") || a.starts_with("recirc(") || a.starts_with("hash(") {
            continue;
        }
        if let Some(inner) = a.strip_prefix("clone(").and_then(|r| r.strip_suffix(')')) {
            datapath_actions(inner, d);
            continue;
        }
        if let Some(inner) = a.strip_prefix("set(tunnel(") {
            tun_dst =
                inner.split(',').find_map(|kv| kv.strip_prefix("dst=")).map(|s| s.trim_end_matches(')').to_string());
            continue;
        }
        if a.starts_with("set(") || a.starts_with("push_") || a.starts_with("pop_") {
            continue;
        }
        if a.starts_with("userspace(") {
            if a.contains("controller(") {
                d.controller += 1;
            }
            continue;
        }
        if let Some(inner) = a.strip_prefix("tnl_push(") {
            let dst = inner.split("ipv4(src=").nth(1).and_then(|r| r.split(",dst=").nth(1));
            let dst = dst.map(|r| r.split([',', ')']).next().unwrap_or_default().to_string());
            d.outputs.push(format!("tunnel@{}", dst.unwrap_or_default()));
            after_push = true;
            continue;
        }
        if after_push {
            // The underlay output of the encapsulated packet that tnl_push built.
            after_push = false;
            continue;
        }
        let port = a.trim_matches('"').to_string();
        match tun_dst.take() {
            Some(t) => d.outputs.push(format!("tunnel@{t}")),
            None => d.outputs.push(port),
        }
    }
}

/// ` 12. ip,nw_dst=10.0.0.0/8, priority 200` or `11. No match.` (any indentation).
fn parse_visit(line: &str) -> Option<Visit> {
    let l = line.trim_start();
    let dot = l.find(". ")?;
    let table: u8 = l[..dot].parse().ok()?;
    let rest = &l[dot + 2..];
    if rest.starts_with("No match") {
        return Some(Visit { table, priority: None });
    }
    let pri = rest.rsplit_once("priority ")?.1;
    let pri: u32 = pri.split([',', ' ']).next()?.parse().ok()?;
    Some(Visit { table, priority: Some(pri) })
}

/// Splits at top-level commas (not inside parentheses or quotes).
pub fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(s[start..].trim().to_string());
    }
    out.retain(|x| !x.is_empty());
    out
}

/// `k=v,k=v,proto` into a map (keys without `=` map to "").
pub fn flow_fields(s: &str) -> BTreeMap<String, String> {
    split_top(s.trim_end_matches(" …"))
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv, String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)] // the bench includes this module without running its tests
    use super::*;

    const SAMPLE: &str = r#"Flow: udp,in_port=3,vlan_tci=0x0000,nw_src=10.10.1.5,nw_dst=10.10.2.5,nw_tos=28
bridge("br-int")
----------------
 0. ip, priority 200
    goto_table:3
 5. ip, priority 200
    ct(table=6,zone=65520,nat)
     -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table 6.
Final flow: udp,reg0=0x3,in_port=3
Megaflow: recirc_id=0,eth,ip
Datapath actions: ct(zone=65520,nat),recirc(0x1)
===============================================================================
recirc(0x1) - resume conntrack with default ct_state=trk|new (use --ct-next to customize)
===============================================================================
Flow: recirc_id=0x1,ct_state=new|trk,udp,reg0=0x3,in_port=3
bridge("br-int")
----------------
    thaw
        Resuming from table 6
 7. ip, priority 200
    resubmit(,8)
     8. priority 0
            set_field:0x10000/0x70000->reg4
    resubmit(,9)
 9. No match.
    drop
20. reg0=0x200000/0x600000, priority 200
    output:NXM_NX_REG1[]
     -> output port is 3
Final flow: unchanged
Datapath actions: set(tunnel(dst=192.168.77.102,ttl=64,flags(df|key))),"antrea-tun0",userspace(pid=0,controller(reason=1,controller_id=62373)),4
"#;

    #[test]
    fn parses_passes_visits_and_decision() {
        let t = OracleTrace::parse(SAMPLE);
        assert_eq!(t.passes.len(), 2);
        let tables: Vec<_> = t.visits().iter().map(|v| (v.table, v.priority)).collect();
        assert_eq!(
            tables,
            vec![(0, Some(200)), (5, Some(200)), (7, Some(200)), (8, Some(0)), (9, None), (20, Some(200))]
        );
        let d = t.decision();
        assert_eq!(d.outputs, vec!["tunnel@192.168.77.102".to_string(), "4".to_string()]);
        assert_eq!(d.controller, 1);
        assert_eq!(t.final_fields().get("reg0").map(String::as_str), Some("0x3"));
        assert_eq!(t.final_fields().get("ct_state").map(String::as_str), Some("new|trk"));
        assert!(t.passes[1].remarks.iter().any(|r| r.contains("output port is 3")));
    }
}
