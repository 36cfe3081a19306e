//! Comparing two results ("before the fix" and "after"), for `hoptrace diff`: what changed per
//! node — observations added, removed or changed field by field (action, policy and rule, NAT,
//! tunnel, interface), the terminal point, the phase, the endpoints and, when a threshold is
//! given, the per-hop latency — written as a table or as JSON (`hoptrace.diff/v1`).
//!
//! Observations of a node are aligned by their stage (component and componentInfo) with a longest
//! common subsequence, so one inserted stage shows as one addition, not as every later stage
//! changed. Times, evidence and TTLs are not compared: they differ between any two runs.

use crate::antrea::observation::{NodeResult, Observation};
use crate::export::result::human_duration;
use crate::trace::TraceResult;
use serde::Serialize;
use std::io::{self, Write};

/// The value of `schema` in a diff document.
pub const DIFF_SCHEMA: &str = "hoptrace.diff/v1";

/// Above this many cells (observations of A × of B on one node) the alignment is by position
/// instead of by longest common subsequence, so a hostile result cannot make the diff quadratic
/// in memory.
pub const MAX_ALIGN_CELLS: usize = 1 << 20;

/// What to compare beyond the path itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiffOptions {
    /// Report a hop whose latency (time since the previous timed observation) differs by more
    /// than this, in nanoseconds; `None` leaves latency out.
    pub latency_threshold_ns: Option<i64>,
}

/// What kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// `phase` differs.
    Phase,
    /// antctl's `source` differs (another probe).
    Source,
    /// antctl's `destination` differs.
    Destination,
    /// Where the path ends differs.
    Terminal,
    /// A node is on B's path only.
    NodeAdded,
    /// A node is on A's path only.
    NodeRemoved,
    /// An observation is in B only.
    ObservationAdded,
    /// An observation is in A only.
    ObservationRemoved,
    /// An observation of the same stage has another value in one field.
    ObservationChanged,
    /// A hop's latency differs by more than the threshold.
    Latency,
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What kind.
    pub kind: ChangeKind,
    /// The node, for node and observation changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The stage (`Component/componentInfo`), for observation changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// 1-based position of the observation in A's node result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_a: Option<usize>,
    /// 1-based position in B's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_b: Option<usize>,
    /// The field that changed (Antrea's JSON name), for `observation-changed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A's value (or the whole observation, summarised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<String>,
    /// B's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<String>,
}

impl Change {
    fn new(kind: ChangeKind) -> Change {
        Change { kind, node: None, stage: None, seq_a: None, seq_b: None, field: None, a: None, b: None }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultDiff {
    /// Always [`DIFF_SCHEMA`].
    pub schema: String,
    /// Where A came from.
    pub a: String,
    /// Where B came from.
    pub b: String,
    /// Whether nothing compared differs.
    pub same: bool,
    /// The latency threshold used, ns (absent: latency not compared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_threshold_ns: Option<i64>,
    /// Every difference, in path order.
    pub changes: Vec<Change>,
}

/// The stage of an observation: `Component/componentInfo` or `Component`.
fn stage(o: &Observation) -> String {
    let c = serde_json::to_value(o.component).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    match &o.component_info {
        Some(i) => format!("{c}/{i}"),
        None => c,
    }
}

/// The compared fields of an observation, with Antrea's names.
fn fields(o: &Observation) -> Vec<(&'static str, Option<String>)> {
    let action = serde_json::to_value(o.action).ok().and_then(|v| v.as_str().map(str::to_string));
    vec![
        ("action", action),
        ("networkPolicy", o.network_policy.clone()),
        ("networkPolicyRule", o.network_policy_rule.clone()),
        ("pod", o.pod.clone()),
        ("srcPodIP", o.src_pod_ip.clone()),
        ("translatedSrcIP", o.translated_src_ip.clone()),
        ("translatedDstIP", o.translated_dst_ip.clone()),
        ("tunnelDstIP", o.tunnel_dst_ip.clone()),
        ("egress", o.egress.clone()),
        ("egressIP", o.egress_ip.clone()),
        ("egressNode", o.egress_node.clone()),
        ("dstMAC", o.dst_mac.clone()),
        ("interface", o.interface.clone()),
    ]
}

/// `Forwarded networkPolicy=… interface=…`: an observation in one line.
fn summary(o: &Observation) -> String {
    let mut f = fields(o).into_iter();
    let mut s = f.next().and_then(|(_, v)| v).unwrap_or_default();
    for (k, v) in f {
        if let Some(v) = v {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s
}

/// Where a result ends: `Dropped on k8s-node2` / `Delivered on k8s-node2 at web-b-5dacae`.
pub fn terminal_point(r: &TraceResult) -> Option<String> {
    r.results
        .iter()
        .flat_map(|n| n.observations.iter().map(move |o| (n, o)))
        .rev()
        .find(|(_, o)| o.action.is_terminal())
        .map(|(n, o)| {
            let a =
                serde_json::to_value(o.action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            format!("{a} on {}{}", n.node, o.interface.as_ref().map(|i| format!(" at {i}")).unwrap_or_default())
        })
}

/// The latency of every observation of `node` (ns since the previous timed observation on the
/// path, clock offsets applied), by position.
fn latencies(r: &TraceResult, node: &str) -> Vec<Option<i64>> {
    let mut last: Option<i64> = None;
    let mut out = Vec::new();
    for n in &r.results {
        let off = r.clocks.iter().find(|c| c.node == n.node).map_or(0, |c| c.offset_ns);
        for o in &n.observations {
            let t = o.raw_time_ns.map(|t| t.saturating_add(off));
            let d = match (t, last) {
                (Some(t), Some(p)) => Some(t.saturating_sub(p)),
                _ => None,
            };
            if t.is_some() {
                last = t;
            }
            if n.node == node {
                out.push(d);
            }
        }
        if n.node == node {
            break;
        }
    }
    out
}

/// Pairs of positions with the same stage, in order (longest common subsequence), or by position
/// when the table would exceed [`MAX_ALIGN_CELLS`].
fn align(a: &[Observation], b: &[Observation]) -> Vec<(usize, usize)> {
    let ka: Vec<String> = a.iter().map(stage).collect();
    let kb: Vec<String> = b.iter().map(stage).collect();
    let (n, m) = (ka.len(), kb.len());
    if n.saturating_mul(m) > MAX_ALIGN_CELLS {
        return (0..n.min(m)).filter(|&i| ka[i] == kb[i]).map(|i| (i, i)).collect();
    }
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[at(i, j)] = if ka[i] == kb[j] { t[at(i + 1, j + 1)] + 1 } else { t[at(i + 1, j)].max(t[at(i, j + 1)]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if ka[i] == kb[j] {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if t[at(i + 1, j)] >= t[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn node_changes(
    out: &mut Vec<Change>,
    ra: &TraceResult,
    rb: &TraceResult,
    a: &NodeResult,
    b: &NodeResult,
    opts: DiffOptions,
) {
    let pairs = align(&a.observations, &b.observations);
    let (la, lb) = (latencies(ra, &a.node), latencies(rb, &b.node));
    let base = |kind, seq_a: Option<usize>, seq_b: Option<usize>, o: &Observation| Change {
        node: Some(a.node.clone()),
        stage: Some(stage(o)),
        seq_a: seq_a.map(|i| i + 1),
        seq_b: seq_b.map(|j| j + 1),
        ..Change::new(kind)
    };
    let (mut i, mut j) = (0, 0);
    let emit_unmatched = |out: &mut Vec<Change>, upto_i: usize, upto_j: usize, i: &mut usize, j: &mut usize| {
        while *i < upto_i {
            let o = &a.observations[*i];
            out.push(Change { a: Some(summary(o)), ..base(ChangeKind::ObservationRemoved, Some(*i), None, o) });
            *i += 1;
        }
        while *j < upto_j {
            let o = &b.observations[*j];
            out.push(Change { b: Some(summary(o)), ..base(ChangeKind::ObservationAdded, None, Some(*j), o) });
            *j += 1;
        }
    };
    for &(pi, pj) in &pairs {
        emit_unmatched(out, pi, pj, &mut i, &mut j);
        let (oa, ob) = (&a.observations[pi], &b.observations[pj]);
        for ((name, va), (_, vb)) in fields(oa).into_iter().zip(fields(ob)) {
            if va != vb {
                out.push(Change {
                    field: Some(name.to_string()),
                    a: va,
                    b: vb,
                    ..base(ChangeKind::ObservationChanged, Some(pi), Some(pj), oa)
                });
            }
        }
        if let (Some(t), Some(Some(da)), Some(Some(db))) =
            (opts.latency_threshold_ns, la.get(pi).copied(), lb.get(pj).copied())
        {
            if da.saturating_sub(db).unsigned_abs() > t.unsigned_abs() {
                out.push(Change {
                    a: Some(human_duration(da)),
                    b: Some(human_duration(db)),
                    ..base(ChangeKind::Latency, Some(pi), Some(pj), oa)
                });
            }
        }
        i = pi + 1;
        j = pj + 1;
    }
    emit_unmatched(out, a.observations.len(), b.observations.len(), &mut i, &mut j);
}

/// Compares `a` (named `name_a`) with `b`.
pub fn diff(a: &TraceResult, name_a: &str, b: &TraceResult, name_b: &str, opts: DiffOptions) -> ResultDiff {
    let mut changes = Vec::new();
    let name = |p: crate::antrea::observation::Phase| format!("{p:?}");
    if a.phase != b.phase {
        changes.push(Change { a: Some(name(a.phase)), b: Some(name(b.phase)), ..Change::new(ChangeKind::Phase) });
    }
    if a.source != b.source {
        changes.push(Change { a: a.source.clone(), b: b.source.clone(), ..Change::new(ChangeKind::Source) });
    }
    if a.destination != b.destination {
        changes.push(Change {
            a: a.destination.clone(),
            b: b.destination.clone(),
            ..Change::new(ChangeKind::Destination)
        });
    }
    let (ta, tb) = (terminal_point(a), terminal_point(b));
    if ta != tb {
        changes.push(Change { a: ta, b: tb, ..Change::new(ChangeKind::Terminal) });
    }
    for na in &a.results {
        match b.results.iter().find(|nb| nb.node == na.node) {
            Some(nb) => node_changes(&mut changes, a, b, na, nb, opts),
            None => {
                changes.push(Change {
                    node: Some(na.node.clone()),
                    a: Some(format!("{} observations", na.observations.len())),
                    ..Change::new(ChangeKind::NodeRemoved)
                });
                for (i, o) in na.observations.iter().enumerate() {
                    changes.push(Change {
                        node: Some(na.node.clone()),
                        stage: Some(stage(o)),
                        seq_a: Some(i + 1),
                        a: Some(summary(o)),
                        ..Change::new(ChangeKind::ObservationRemoved)
                    });
                }
            }
        }
    }
    for nb in b.results.iter().filter(|nb| !a.results.iter().any(|na| na.node == nb.node)) {
        changes.push(Change {
            node: Some(nb.node.clone()),
            b: Some(format!("{} observations", nb.observations.len())),
            ..Change::new(ChangeKind::NodeAdded)
        });
        for (j, o) in nb.observations.iter().enumerate() {
            changes.push(Change {
                node: Some(nb.node.clone()),
                stage: Some(stage(o)),
                seq_b: Some(j + 1),
                b: Some(summary(o)),
                ..Change::new(ChangeKind::ObservationAdded)
            });
        }
    }
    ResultDiff {
        schema: DIFF_SCHEMA.into(),
        a: name_a.into(),
        b: name_b.into(),
        same: changes.is_empty(),
        latency_threshold_ns: opts.latency_threshold_ns,
        changes,
    }
}

/// JSON, pretty-printed.
pub fn write_diff_json(out: &mut dyn Write, d: &ResultDiff) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, d)?;
    writeln!(out)
}

/// The table: a verdict line, then the result-wide changes, then each node's.
pub fn write_diff_table(out: &mut dyn Write, d: &ResultDiff) -> io::Result<()> {
    let v = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".into());
    if d.same {
        writeln!(out, "same path: {} and {} have the same observations", d.a, d.b)?;
        return Ok(());
    }
    writeln!(out, "paths differ: A = {}, B = {} ({} changes)", d.a, d.b, d.changes.len())?;
    let mut node: Option<&str> = None;
    for c in &d.changes {
        let line = match c.kind {
            ChangeKind::Phase => format!("phase: {} → {}", v(&c.a), v(&c.b)),
            ChangeKind::Source => format!("source: {} → {}", v(&c.a), v(&c.b)),
            ChangeKind::Destination => format!("destination: {} → {}", v(&c.a), v(&c.b)),
            ChangeKind::Terminal => format!("terminal point: {} → {}", v(&c.a), v(&c.b)),
            ChangeKind::NodeAdded => format!("+ node only in B ({})", v(&c.b)),
            ChangeKind::NodeRemoved => format!("- node only in A ({})", v(&c.a)),
            ChangeKind::ObservationAdded => {
                format!("  + #{} {}: {}", c.seq_b.unwrap_or(0), c.stage.as_deref().unwrap_or(""), v(&c.b))
            }
            ChangeKind::ObservationRemoved => {
                format!("  - #{} {}: {}", c.seq_a.unwrap_or(0), c.stage.as_deref().unwrap_or(""), v(&c.a))
            }
            ChangeKind::ObservationChanged => format!(
                "  ~ #{}→#{} {}: {} {} → {}",
                c.seq_a.unwrap_or(0),
                c.seq_b.unwrap_or(0),
                c.stage.as_deref().unwrap_or(""),
                c.field.as_deref().unwrap_or(""),
                v(&c.a),
                v(&c.b)
            ),
            ChangeKind::Latency => format!(
                "  ~ #{}→#{} {}: latency {} → {}",
                c.seq_a.unwrap_or(0),
                c.seq_b.unwrap_or(0),
                c.stage.as_deref().unwrap_or(""),
                v(&c.a),
                v(&c.b)
            ),
        };
        if let Some(n) = c.node.as_deref() {
            if node != Some(n) {
                writeln!(out, "{n}:")?;
                node = Some(n);
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antrea::observation::{Action, Component};

    fn obs(c: Component, info: Option<&str>, a: Action) -> Observation {
        let mut o = Observation::new(c, a);
        o.component_info = info.map(str::to_string);
        o
    }

    #[test]
    fn an_inserted_stage_is_one_addition() {
        let a = vec![
            obs(Component::SpoofGuard, None, Action::Forwarded),
            obs(Component::Forwarding, Some("Output"), Action::Delivered),
        ];
        let mut b = a.clone();
        b.insert(1, obs(Component::LB, None, Action::Forwarded));
        assert_eq!(align(&a, &b), vec![(0, 0), (1, 2)]);
        assert_eq!(align(&a, &[]), vec![]);
    }
}
