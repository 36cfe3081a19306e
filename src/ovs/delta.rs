//! Counter deltas between two dumps of one bridge: which flows a probe hit. Flows are keyed by
//! table + priority + match (the cookie's round number may change after an agent restart).

use super::flow::{Flow, FlowDump};
use serde::Serialize;
use std::collections::HashMap;

/// The identity of a flow across dumps.
pub fn flow_key(f: &Flow) -> String {
    format!("{}|{}|{}", f.table_or_zero(), f.priority(), f.matches)
}

/// One flow's counter change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowDelta {
    /// Index of the flow in the second dump.
    pub index: usize,
    /// Packets counted between the dumps (0 if the flow is new and unhit).
    pub packets: u64,
    /// Bytes counted between the dumps.
    pub bytes: u64,
    /// The flow did not exist in the first dump.
    pub new: bool,
}

/// Deltas for every flow of `after`; counters that went down (flow re-added) count from zero.
pub fn deltas(before: &FlowDump, after: &FlowDump) -> Vec<FlowDelta> {
    let mut old: HashMap<String, (u64, u64)> = HashMap::with_capacity(before.flows.len());
    for f in &before.flows {
        old.insert(flow_key(f), (f.n_packets.unwrap_or(0), f.n_bytes.unwrap_or(0)));
    }
    after
        .flows
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let (p, b) = (f.n_packets.unwrap_or(0), f.n_bytes.unwrap_or(0));
            match old.get(&flow_key(f)) {
                Some(&(op, ob)) => {
                    let (packets, bytes) = if p >= op { (p - op, b.saturating_sub(ob)) } else { (p, b) };
                    FlowDelta { index, packets, bytes, new: false }
                }
                None => FlowDelta { index, packets: p, bytes: b, new: true },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_flows() {
        let a = FlowDump::parse(
            "cookie=0x1010000000000, table=0, n_packets=5, n_bytes=500, priority=200,ip actions=drop\ncookie=0x1010000000000, table=0, n_packets=1, n_bytes=60, priority=0 actions=drop\n",
            "a",
        )
        .unwrap();
        let b = FlowDump::parse(
            "cookie=0x2010000000000, table=0, n_packets=6, n_bytes=560, priority=200,ip actions=drop\ncookie=0x2010000000000, table=0, n_packets=1, n_bytes=60, priority=0 actions=drop\ntable=1, n_packets=0, n_bytes=0, priority=0 actions=drop\n",
            "b",
        )
        .unwrap();
        let d = deltas(&a, &b);
        assert_eq!(d[0].packets, 1);
        assert_eq!(d[0].bytes, 60);
        assert_eq!(d[1].packets, 0);
        assert!(d[2].new);
    }
}
