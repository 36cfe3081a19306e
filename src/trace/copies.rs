//! Which injection of the probe to analyse. The same probe can be in the captures more than
//! once — `inject --count`, a re-used `probe.json` or `--seed`, an older capture left in the
//! directory. The sightings are grouped into copies by time: on the first node (the sender,
//! or where the probe was first seen) a gap of more than [`COPY_GAP_NS`] starts a new copy; the
//! other nodes' groups of sightings join the copy nearest in time, within [`MAX_SKEW_NS`] (a
//! larger distance is another run, or a clock no NTP-synchronised cluster has). One copy is
//! analysed — by default the latest complete one — and the others are listed.

use super::model::NodeModel;
use super::result::{Finding, FindingKind};
use crate::decode::sighting::Sighting;
use crate::time::rfc3339_nanos;

/// Sightings more than this far apart on one node belong to different copies (1 s): one
/// copy crosses a node in milliseconds. Copies sent closer together are analysed as one.
pub const COPY_GAP_NS: i64 = 1_000_000_000;

/// The farthest another node's sightings may be from a copy on the first node and still
/// belong to it (5 minutes): their clocks may differ by that much at most.
pub const MAX_SKEW_NS: i64 = 300_000_000_000;

/// Which copy the user wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CopyChoice {
    /// The latest copy seen on every node that saw any (else the latest).
    #[default]
    LatestComplete,
    /// Copy N (1-based, in time order).
    Index(usize),
    /// The copy nearest to this time (ns since the epoch, the first node's clock).
    At(i64),
}

/// One copy: when it started on the first node, and which nodes saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Copy {
    start: i64,
    nodes: Vec<usize>,
}

/// Groups of sightings of one node separated by more than [`COPY_GAP_NS`]: `(first time, last
/// time)` of each.
fn groups(sightings: &[Sighting]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut times: Vec<i64> = sightings.iter().filter_map(|s| s.timestamp_ns).collect();
    times.sort_unstable();
    for t in times {
        match out.last_mut() {
            Some((_, last)) if t - *last <= COPY_GAP_NS => *last = t,
            _ => out.push((t, t)),
        }
    }
    out
}

/// The copy a group at `t` on another node belongs to.
fn nearest(copies: &[Copy], t: i64) -> Option<usize> {
    copies
        .iter()
        .enumerate()
        .map(|(i, c)| (i, (t - c.start).abs()))
        .filter(|(_, d)| *d <= MAX_SKEW_NS)
        .min_by_key(|(_, d)| *d)
        .map(|(i, _)| i)
}

/// Keeps on every node only the sightings of the chosen copy; findings list the copies and
/// the sightings that belong to none.
pub fn select(nodes: &mut [NodeModel<'_>], first: usize, choice: CopyChoice) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(anchor) = nodes.get(first) else { return findings };
    let mut copies: Vec<Copy> =
        groups(&anchor.sightings).into_iter().map(|(t, _)| Copy { start: t, nodes: vec![first] }).collect();
    if copies.len() <= 1 && nodes.iter().all(|n| groups(&n.sightings).len() <= 1) {
        return findings;
    }
    if copies.is_empty() {
        return findings;
    }
    // Each other node's groups join the nearest copy.
    let mut assignment: Vec<Vec<(i64, i64, Option<usize>)>> = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let g: Vec<(i64, i64, Option<usize>)> = if i == first {
            groups(&n.sightings).into_iter().enumerate().map(|(k, (a, b))| (a, b, Some(k))).collect()
        } else {
            groups(&n.sightings).into_iter().map(|(a, b)| (a, b, nearest(&copies, a))).collect()
        };
        for (_, _, c) in &g {
            if let Some(c) = c {
                if !copies[*c].nodes.contains(&i) {
                    copies[*c].nodes.push(i);
                }
            }
        }
        assignment.push(g);
    }
    let seen_anywhere = nodes.iter().filter(|n| !n.sightings.is_empty()).count();
    let chosen = match choice {
        CopyChoice::Index(k) if (1..=copies.len()).contains(&k) => k - 1,
        CopyChoice::Index(k) => {
            findings.push(Finding::new(
                FindingKind::BadInput,
                None,
                format!(
                    "--copy {k}: there are {} copies of the probe; the latest complete one is analysed",
                    copies.len()
                ),
            ));
            latest_complete(&copies, seen_anywhere)
        }
        CopyChoice::At(t) => copies.iter().enumerate().min_by_key(|(_, c)| (c.start - t).abs()).map_or(0, |(i, _)| i),
        CopyChoice::LatestComplete => latest_complete(&copies, seen_anywhere),
    };
    if copies.len() > 1 {
        let list: Vec<String> = copies
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} at {} on {} node(s)", i + 1, rfc3339_nanos(c.start), c.nodes.len()))
            .collect();
        findings.push(Finding::new(
            FindingKind::Assumption,
            None,
            format!(
                "the captures hold {} copies of the probe ({}); copy {} is analysed{} (choose another with --copy N or --at TIME)",
                copies.len(),
                list.join("; "),
                chosen + 1,
                if choice == CopyChoice::LatestComplete { ", the latest seen on every node that saw any" } else { "" }
            ),
        ));
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        let keep: Vec<(i64, i64)> =
            assignment[i].iter().filter(|(_, _, c)| *c == Some(chosen)).map(|(a, b, _)| (*a, *b)).collect();
        for (a, b, _) in assignment[i].iter().filter(|(_, _, c)| c.is_none()) {
            findings.push(Finding::new(
                FindingKind::Disagreement,
                Some(&n.name),
                format!(
                    "sightings from {} to {} belong to no copy seen on {} (more than 5 minutes from each): another run, or a clock far off; not used",
                    rfc3339_nanos(*a),
                    rfc3339_nanos(*b),
                    if i == first { "this node".to_string() } else { "the first node".to_string() }
                ),
            ));
        }
        n.sightings.retain(|s| match s.timestamp_ns {
            Some(t) => keep.iter().any(|(a, b)| (*a..=*b).contains(&t)),
            None => true,
        });
    }
    findings
}

/// The latest copy seen on every node that saw any copy; else the latest.
fn latest_complete(copies: &[Copy], seen_anywhere: usize) -> usize {
    copies.iter().rposition(|c| c.nodes.len() >= seen_anywhere).unwrap_or(copies.len().saturating_sub(1))
}
