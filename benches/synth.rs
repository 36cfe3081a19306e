//! A synthetic Antrea pipeline of any size, built from the shapes of Antrea's documented v1.15
//! pipeline (`tests/data/corpus/flows/antrea-ovs-pipeline-v1.15-all-tables.flows`): every replica
//! of the 167 flows gets its own IPs, MACs, ofports and conjunction ids. Tables and ports are
//! numeric (as `ovs-ofctl dump-flows` without `--names` prints them).

#![allow(dead_code)]

use hoptrace::antrea::{NodeView, TableMap};
use hoptrace::ovs::field::Format;
use hoptrace::ovs::{Action, Field, Flow, FlowDump, PortRef, TableRef, Value};
use std::collections::HashMap;
use std::path::Path;

/// The corpus pipeline.
pub fn base() -> FlowDump {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus/flows/antrea-ovs-pipeline-v1.15-all-tables.flows");
    FlowDump::load(&p).expect("corpus pipeline")
}

fn numeric_table(t: &mut TableRef, tables: &TableMap) {
    if let Some(id) = tables.resolve(t) {
        *t = TableRef::Id(id);
    }
}

fn numeric_port(p: &mut PortRef, ports: &HashMap<String, u32>) {
    if let PortRef::Name(n) = p {
        *p = PortRef::Number(ports.get(n.as_str()).copied().unwrap_or(100));
    }
}

fn bump(field: Field, v: &mut Value, r: u128) {
    if let Value::Bits { value, mask } = v {
        let delta = match field.format() {
            Format::Ipv4 => r << 8,
            Format::Ipv6 => r << 16,
            Format::Mac => r,
            _ if matches!(field, Field::Reg(1) | Field::Reg(3) | Field::ConjId) => r,
            _ => 0,
        };
        *value = (value.get().wrapping_add(delta) & mask.get()).into();
    }
}

fn actions(list: &mut [Action], r: u128, tables: &TableMap, ports: &HashMap<String, u32>) {
    for a in list {
        match a {
            Action::GotoTable { table } => numeric_table(table, tables),
            Action::Resubmit { port, table, .. } => {
                if let Some(t) = table {
                    numeric_table(t, tables);
                }
                if let Some(p) = port {
                    numeric_port(p, ports);
                }
            }
            Action::Output { port, .. } => numeric_port(port, ports),
            Action::SetField { field, value } => bump(*field, value, r),
            Action::Conjunction { id, .. } => *id = id.wrapping_add(r as u32 * 1000),
            Action::Ct(ct) => {
                if let Some(t) = &mut ct.table {
                    numeric_table(t, tables);
                }
                actions(&mut ct.exec, r, tables, ports);
            }
            Action::Learn { args } => {
                for (id, name) in &tables.tables {
                    *args = args.replace(&format!("table={name},"), &format!("table={id},"));
                }
            }
            _ => {}
        }
    }
}

/// `n` flows: replicas of the corpus pipeline, numeric tables and ports; `stats` adds the
/// cookie/duration/counters a support bundle's `flows` file has.
pub fn pipeline(n: usize, stats: bool) -> Vec<Flow> {
    let base = base();
    let tables = TableMap::for_dump(&base, &[]);
    let view = NodeView::build(&base, &[], None, &tables);
    let mut ports: HashMap<String, u32> = HashMap::new();
    for p in &view.ports {
        if let (Some(name), Some(n)) = (&p.name, p.ofport) {
            ports.insert(name.clone(), n);
        }
    }
    let mut out = Vec::with_capacity(n);
    let mut r: u128 = 0;
    while out.len() < n {
        for f in &base.flows {
            if out.len() == n {
                break;
            }
            let mut f = f.clone();
            if let Some(t) = &mut f.table {
                numeric_table(t, &tables);
            }
            for m in &mut f.matches.fields {
                match &mut m.value {
                    Value::Port(p) => numeric_port(p, &ports),
                    v => bump(m.field, v, r),
                }
            }
            actions(&mut f.actions, r, &tables, &ports);
            if stats {
                let i = out.len() as u64;
                f.cookie = Some(0x1010000000000 | (i & 0xffff));
                f.duration_ms = Some(86_400_000 + i);
                f.n_packets = Some(i * 7);
                f.n_bytes = Some(i * 7 * 98);
                f.idle_age = Some((i % 300) as u32);
            }
            out.push(f);
        }
        r += 1;
    }
    out
}

/// The flows as dump text, one per line.
pub fn text(flows: &[Flow], stats: bool) -> String {
    let mut s = String::with_capacity(flows.len() * 200);
    for f in flows {
        if stats {
            s.push_str(&f.to_string());
        } else {
            s.push_str(&f.flow_mod().to_string());
        }
        s.push('\n');
    }
    s
}
