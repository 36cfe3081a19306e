//! Compares a simulated trace with a real `ofproto/trace` reply: final decision (outputs with
//! tunnel destinations, packet-ins), the table sequence with the priority of each flow hit, and
//! the final header/metadata fields.

use super::trace_text::{OracleDecision, OracleTrace};
use hoptrace::ovs::field::Field;
use hoptrace::ovs::sim::trace::Event;
use hoptrace::ovs::sim::{Pipeline, Trace};
use std::collections::BTreeMap;

/// Fields compared at the end of the trace (the ones OVS prints in "Final flow" that the
/// simulator models exactly; `ct_nw_*`/`ct_tp_*` are left out because ofproto/trace does not
/// fill them, see docs/simulator.md).
pub const COMPARED: &[&str] = &[
    "reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "reg8", "reg9", "pkt_mark", "ct_mark", "ct_label",
    "tun_dst", "dl_src", "dl_dst", "nw_src", "nw_dst", "nw_tos", "nw_ttl", "tp_src", "tp_dst", "metadata",
];

/// How one packet compared.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// Same outputs and packet-ins.
    pub decision: bool,
    /// Same table/priority sequence.
    pub tables: bool,
    /// Same compared fields.
    pub fields: bool,
    /// Human-readable differences.
    pub diffs: Vec<String>,
}

impl Verdict {
    /// Everything agreed.
    pub fn ok(&self) -> bool {
        self.decision && self.tables && self.fields
    }
}

/// The simulator's decision in the oracle's terms (port names, `name@tun_dst`).
pub fn sim_decision(t: &Trace, pl: &Pipeline) -> OracleDecision {
    let mut d = OracleDecision::default();
    for e in &t.events {
        match e {
            Event::Output { port, tun_dst, tunnel, .. } => {
                let name = pl.ports.by_number(*port).map_or_else(|| port.to_string(), |p| p.name.clone());
                d.outputs.push(match (tunnel, tun_dst) {
                    (true, Some(t)) => format!("tunnel@{t}"),
                    _ => name,
                });
            }
            Event::Controller { .. } => d.controller += 1,
            Event::NotSimulated { .. } => {}
        }
    }
    d
}

/// Numeric value of a field as OVS prints it (hex, decimal, IPv4, MAC); `None` if unreadable.
pub fn numeric(v: &str) -> Option<u128> {
    let v = v.split('/').next()?.trim_matches('"');
    if let Some(h) = v.strip_prefix("0x") {
        return u128::from_str_radix(h, 16).ok();
    }
    if let Ok(ip) = v.parse::<std::net::Ipv4Addr>() {
        return Some(u128::from(u32::from(ip)));
    }
    if v.len() == 17 && v.bytes().filter(|b| *b == b':').count() == 5 {
        return u128::from_str_radix(&v.replace(':', ""), 16).ok();
    }
    v.parse().ok()
}

/// Compares one packet.
pub fn compare(sim: &Trace, pl: &Pipeline, oracle: &OracleTrace) -> Verdict {
    let mut v = Verdict::default();
    let od = oracle.decision();
    let sd = sim_decision(sim, pl);
    v.decision = od == sd;
    if !v.decision {
        v.diffs.push(format!("decision: ovs {od:?} sim {sd:?}"));
    }
    let ov: Vec<(u8, Option<u32>)> = oracle.visits().iter().map(|x| (x.table, x.priority)).collect();
    let sv: Vec<(u8, Option<u32>)> = sim.steps.iter().map(|s| (s.table, s.priority.map(u32::from))).collect();
    v.tables = ov == sv;
    if !v.tables {
        v.diffs.push(format!("tables: ovs {ov:?}\n        sim {sv:?}"));
    }
    let of = oracle.final_fields();
    let sf: BTreeMap<String, String> = sim.final_packet.fields().into_iter().collect();
    v.fields = true;
    for k in COMPARED {
        let key = if *k == "tp_src" || *k == "tp_dst" { *k } else { k };
        let o = of.get(key).and_then(|x| numeric(x)).unwrap_or(0);
        let s = sf.get(key).and_then(|x| numeric(x)).unwrap_or(0);
        let o = if *k == "nw_tos" { o & 0xfc } else { o };
        if o != s {
            v.fields = false;
            v.diffs.push(format!("field {k}: ovs {:?} sim {:?}", of.get(key), sf.get(key)));
        }
    }
    let _ = Field::Reg(0);
    v
}
