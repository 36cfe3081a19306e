//! Clock offsets between nodes, estimated from tunnel crossings: the probe leaves node A (seen on
//! A's uplink or tunnel) and arrives at node B (seen on B's uplink or tunnel). Node clocks differ;
//! the corrected times must never show a negative latency.
//!
//! A probe crosses each tunnel in one direction only, so the offset cannot be measured the NTP way.
//! Over all crossings A→B hoptrace takes the smallest apparent delay `d = tB − tA` (NTP's minimum
//! filter). When `0 ≤ d ≤ plausible` (10 ms by default: NTP-synchronised nodes on one network),
//! the clocks are taken as agreeing: offset(B) = offset(A), and the true offset lies within
//! `± d` (the wire latency is somewhere between 0 and d). Otherwise (a negative latency, or one no
//! underlay has) the clocks disagree: hoptrace assumes a one-way wire latency `L` and sets
//! `offset(B) = offset(A) − d + L`, true within `± L` when the real latency is between 0 and 2L.
//! Offsets propagate from the sender (offset 0) along crossings; a node no crossing reaches keeps
//! offset 0 with an unknown bound.

use std::collections::{BTreeMap, VecDeque};

/// One tunnel crossing of the probe: sent by `from` at its clock's `sent_ns`, received by `to` at
/// its clock's `received_ns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossing {
    /// Sending node.
    pub from: String,
    /// Receiving node.
    pub to: String,
    /// Send time on the sender's clock.
    pub sent_ns: i64,
    /// Receive time on the receiver's clock.
    pub received_ns: i64,
}

/// The estimated offset of one node's clock: add `offset_ns` to its raw times.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockEstimate {
    /// The node.
    pub node: String,
    /// Correction to add to this node's capture times.
    pub offset_ns: i64,
    /// The true correction lies within `offset_ns ± bound_ns`; absent when not measurable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_ns: Option<i64>,
    /// How many crossings the estimate used.
    pub crossings: usize,
}

/// The largest apparent one-way delay still taken as "the clocks agree" (see the module docs).
pub const PLAUSIBLE_DELAY_NS: i64 = 10_000_000;

/// The largest clock offset hoptrace corrects (60 s): nodes of one cluster are
/// NTP-synchronised, so a larger estimate means the crossing pairs sightings of different runs,
/// or a clock that needs fixing — a finding, not a silent shift.
pub const MAX_CORRECTED_OFFSET_NS: i64 = 60_000_000_000;

/// Estimates every node's offset relative to `reference` (the sender, offset 0), assuming a
/// one-way wire latency of `wire_latency_ns` where the clocks visibly disagree.
pub fn estimate(reference: &str, nodes: &[String], crossings: &[Crossing], wire_latency_ns: i64) -> Vec<ClockEstimate> {
    let latency = wire_latency_ns.max(0);
    // Smallest apparent delay and count per directed pair.
    let mut pairs: BTreeMap<(&str, &str), (i64, usize)> = BTreeMap::new();
    for c in crossings {
        let delay = c.received_ns.saturating_sub(c.sent_ns);
        let e = pairs.entry((c.from.as_str(), c.to.as_str())).or_insert((delay, 0));
        e.0 = e.0.min(delay);
        e.1 += 1;
    }
    let mut known: BTreeMap<&str, (i64, i64, usize)> = BTreeMap::new();
    known.insert(reference, (0, 0, 0));
    let mut queue = VecDeque::from([reference]);
    while let Some(n) = queue.pop_front() {
        let (base, base_bound, _) = known[n];
        for (&(from, to), &(delay, count)) in &pairs {
            // Forward crossings set the receiver's clock; a crossing into a known node from an
            // unknown one sets the sender's clock the same way, reversed.
            let agree = (0..=PLAUSIBLE_DELAY_NS).contains(&delay);
            let (step, bound) = if agree { (0, delay) } else { (latency.saturating_sub(delay), latency) };
            let (other, offset) = if from == n {
                (to, base.saturating_add(step))
            } else if to == n {
                (from, base.saturating_sub(step))
            } else {
                continue;
            };
            if !known.contains_key(other) {
                known.insert(other, (offset, base_bound.saturating_add(bound), count));
                queue.push_back(other);
            }
        }
    }
    let mut names: Vec<&str> = nodes.iter().map(String::as_str).collect();
    if !names.contains(&reference) {
        names.insert(0, reference);
    }
    names
        .into_iter()
        .map(|n| match known.get(n) {
            Some(&(offset_ns, bound, crossings)) => {
                ClockEstimate { node: n.to_string(), offset_ns, bound_ns: Some(bound), crossings }
            }
            None => ClockEstimate { node: n.to_string(), offset_ns: 0, bound_ns: None, crossings: 0 },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crossing(from: &str, to: &str, sent: i64, recv: i64) -> Crossing {
        Crossing { from: from.into(), to: to.into(), sent_ns: sent, received_ns: recv }
    }

    #[test]
    fn skew_in_either_direction_is_absorbed() {
        let nodes = vec!["a".to_string(), "b".to_string()];
        let true_latency = 300_000; // 0.3 ms on the wire
        for skew in [5_000_000_000i64, -5_000_000_000, 0] {
            let c = [crossing("a", "b", 1_000_000_000, 1_000_000_000 + true_latency + skew)];
            let est = estimate("a", &nodes, &c, 200_000);
            let b = &est[1];
            // Corrected receive time is after the send.
            assert!(1_000_000_000 + true_latency + skew + b.offset_ns > 1_000_000_000);
            // The true offset (-skew) is within the bound.
            assert!((b.offset_ns - (-skew)).abs() <= b.bound_ns.unwrap(), "{b:?} skew {skew}");
        }
    }

    #[test]
    fn minimum_filter_and_chains() {
        let nodes: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        // a→b: plausible delays, the smallest (600 ns) bounds the offset; b→c: negative delay.
        let c = [crossing("a", "b", 0, 900), crossing("a", "b", 100, 700), crossing("b", "c", 1000, 500)];
        let est = estimate("a", &nodes, &c, 10);
        assert_eq!((est[1].offset_ns, est[1].bound_ns, est[1].crossings), (0, Some(600), 2));
        assert_eq!(est[2].offset_ns, 500 + 10);
        assert_eq!(est[2].bound_ns, Some(610));
        assert_eq!(est[3].bound_ns, None);
    }
}
