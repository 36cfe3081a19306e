//! The analysis as one library call: scan every node's captures for the probe (in parallel),
//! merge the evidence files, assemble each node's pipeline and counter deltas, reconstruct the
//! path, and gather every finding (bad inputs first). `hoptrace analyze` only parses its
//! arguments, calls [`analyze`] and prints.

use super::copies::{self, CopyChoice};
use super::model::NodeModel;
use super::reconstruct::{reconstruct, Options};
use super::result::{Finding, FindingKind, TraceResult};
use super::sender::{self, Start};
use crate::bundle::inputs::{AnalysisInputs, NodeInput};
use crate::decode::evidence::CaptureReport;
use crate::decode::scan::{scan_files, ScanTarget};
use crate::decode::sighting::Sighting;
use crate::decode::tuple::{FlowTuple, MAX_TUPLES};
use crate::ovs::delta::deltas;
use crate::ovs::FlowDump;
use crate::probe::Probe;
use indicatif::ProgressBar;

/// How to analyse.
#[derive(Clone, Debug, Default)]
pub struct AnalyzeOptions {
    /// The reconstruction's options.
    pub reconstruct: Options,
    /// Which copy of the probe to analyse when the captures hold several.
    pub copy: CopyChoice,
    /// Worker threads for the capture scan (0: one per core).
    pub threads: usize,
}

/// Why an analysis could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// The sightings of the probe on one node: its captures scanned, its evidence file merged
/// (when it was extracted for this probe), in time order; and the reports of every capture.
/// Damaged captures and foreign evidence are findings.
fn sightings(
    probe: &Probe,
    n: &NodeInput,
    tuples: &[FlowTuple],
    pool: &rayon::ThreadPool,
    progress: Option<&ProgressBar>,
    findings: &mut Vec<Finding>,
) -> (Vec<Sighting>, Vec<CaptureReport>) {
    let target = ScanTarget::probe(&n.name, &probe.fingerprint, Some(probe.ends()), tuples);
    let scans = pool.install(|| scan_files(&target, &n.captures, progress));
    let mut out = Vec::new();
    let mut reports = Vec::new();
    for s in scans {
        findings.extend(damage_finding(&n.name, &s.report));
        out.extend(s.sightings);
        reports.push(s.report);
    }
    if let Some(ev) = &n.evidence {
        if ev.probe.fingerprint != probe.fingerprint {
            findings.push(Finding::new(
                FindingKind::BadInput,
                Some(&n.name),
                "its evidence file was extracted for another probe (fingerprint differs); ignored",
            ));
        } else {
            out.extend(ev.sightings.iter().cloned());
            reports.extend(ev.captures.iter().cloned());
        }
    }
    name_interfaces(n, out.iter_mut());
    out.sort_by_key(|s| (s.timestamp_ns.unwrap_or(i64::MAX), s.file.clone(), s.packet));
    (out, reports)
}

/// Names the interface of every sighting that lacks one: the command line's `NODE:IFACE=FILE`
/// names every packet's interface in that file; a `tcpdump -i any` (SLL2) capture records the
/// interface index only, which the node's `link` names.
pub(crate) fn name_interfaces<'s>(n: &NodeInput, sightings: impl IntoIterator<Item = &'s mut Sighting>) {
    for s in sightings {
        let named = n.capture_interfaces.iter().find(|(file, _)| file.display().to_string() == s.file);
        if let Some((_, iface)) = named {
            s.interface = Some(iface.clone());
        } else if s.interface.is_none() {
            s.interface =
                n.artifacts.as_ref().and_then(|a| s.ifindex.and_then(|i| a.interface_name(i))).map(str::to_string);
        }
    }
}

/// The finding for a capture that could not be read to its end.
pub(crate) fn damage_finding(node: &str, report: &CaptureReport) -> Option<Finding> {
    report.error.as_ref().map(|e| {
        Finding::new(
            FindingKind::BadInput,
            Some(node),
            format!("{}: packet {} (byte {}): {}", report.file, e.packet, e.offset, e.message),
        )
    })
}

/// The probe's 5-tuples a capture may show it with: as sent, and after the DNAT to each
/// endpoint of the Service it was sent to (from any node's Service flows and groups, or the
/// `--endpoint` addresses given), at most [`MAX_TUPLES`].
fn probe_tuples(probe: &Probe, models: &[NodeModel<'_>], endpoints: &[std::net::IpAddr]) -> Vec<FlowTuple> {
    let sent = FlowTuple::sent(&probe.ends(), probe.fingerprint.protocol);
    let mut out = vec![sent];
    if let Some((_, port)) = probe.transport.ports() {
        let services = models.iter().filter_map(|m| m.view()?.service(probe.ip.dst, port, sent.protocol));
        for ep in services.flat_map(|s| &s.endpoints) {
            let t = FlowTuple { dst: ep.ip, dst_port: Some(ep.port), ..sent };
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    for ep in endpoints {
        if !out.iter().any(|t| t.dst == *ep) {
            out.push(FlowTuple { dst: *ep, dst_port: None, ..sent });
        }
    }
    out.truncate(MAX_TUPLES);
    out
}

/// One node's model: its pipeline assembled once, the flows whose counters moved since the
/// earlier dump (its sightings and capture reports are added once its captures are scanned).
pub(crate) fn model<'a>(n: &'a NodeInput, findings: &mut Vec<Finding>) -> NodeModel<'a> {
    let artifacts = n.artifacts.as_ref();
    let mut m = NodeModel::new(&n.name, artifacts);
    if let (Some(before), Some(flows)) = (&n.before, artifacts.and_then(|a| a.flows.as_ref())) {
        // A flow missing from an earlier dump that had lines skipped may be one of those lines:
        // its whole counter is no evidence of a hit.
        let unsure = !before.skipped.is_empty();
        let (sure, unsure_hits): (Vec<_>, Vec<_>) =
            deltas(before, flows).into_iter().filter(|d| d.packets > 0).partition(|d| !(unsure && d.new));
        if !unsure_hits.is_empty() {
            findings.push(Finding::new(
                FindingKind::Assumption,
                Some(&n.name),
                format!(
                    "{}: {} flows whose counters moved are not in this earlier dump, which had lines skipped: \
                     they are not counted as hit",
                    before.origin,
                    unsure_hits.len()
                ),
            ));
        }
        m.hit = Some(sure.into_iter().map(|d| d.index).collect());
    }
    if let Some(p) = &mut m.pipeline {
        if let Some(a) = artifacts {
            p.tables.check_groups(&a.groups);
        }
    }
    for w in artifacts.iter().flat_map(|a| &a.warnings) {
        findings.push(Finding::new(FindingKind::BadInput, Some(&n.name), w.clone()));
    }
    for w in n.before.iter().flat_map(FlowDump::warnings) {
        findings.push(Finding::new(FindingKind::BadInput, Some(&n.name), w));
    }
    m.has_captures = !n.captures.is_empty() || n.evidence.is_some();
    m
}

/// One input as the analysis used it (for `-v`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputUse {
    /// The node it was assigned to.
    pub node: String,
    /// The file (or directory, tarball).
    pub file: String,
    /// What it was read as and what it gave.
    pub role: String,
}

/// What an analysis gives: the result, and how every input was used.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The result document.
    pub result: TraceResult,
    /// Every input, with its node and role.
    pub inputs: Vec<InputUse>,
    /// Every node's sightings of the analysed copy of the probe (what `--pcap-out` stitches).
    pub sightings: Vec<Sighting>,
}

/// The inputs of one node and what each gave.
pub(crate) fn input_uses(n: &NodeInput, m: &NodeModel<'_>) -> Vec<InputUse> {
    let mut out = Vec::new();
    let mut add = |file: &str, role: String| out.push(InputUse { node: n.name.clone(), file: file.to_string(), role });
    if let Some(a) = &n.artifacts {
        let flows = a.flows.as_ref().map_or("no flows".to_string(), FlowDump::counts);
        let version = a.agent_info.as_ref().and_then(|i| i.version.as_deref()).map(|v| format!(", agent {v}"));
        add(
            &a.origin,
            format!(
                "node inputs: {flows}, {} groups{}, {}{}, {} policies{}",
                a.groups.len(),
                match a.groups_skipped {
                    0 => String::new(),
                    1 => " (1 line skipped)".to_string(),
                    n => format!(" ({n} lines skipped)"),
                },
                if a.ports.is_some() { "ports" } else { "no ports" },
                version.unwrap_or_default(),
                a.network_policies.len(),
                a.policies_from.as_deref().map(|c| format!(" (from {c})")).unwrap_or_default()
            ),
        );
    }
    if let Some(b) = &n.before {
        add(&b.origin, format!("earlier flow dump: {} (counter deltas)", b.counts()));
    }
    for r in &m.reports {
        let ifaces = if r.interfaces.is_empty() { "interface unknown".to_string() } else { r.interfaces.join(" ") };
        add(&r.file, format!("capture: {ifaces}; {} packets, {} sightings", r.packets, r.sightings));
    }
    out
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Node names that look like typos of each other (a `NODE=` name beside the bundle's own
/// name), and capture files whose `NODE_` prefix names another node than the one given.
fn name_findings(inputs: &AnalysisInputs) -> Vec<Finding> {
    let mut out = Vec::new();
    let known: Vec<&str> = inputs.nodes.iter().filter(|n| n.artifacts.is_some()).map(|n| n.name.as_str()).collect();
    for n in inputs.nodes.iter().filter(|n| n.artifacts.is_none()) {
        let distance = |k: &str| edit_distance(k, &n.name);
        let best = known.iter().map(|k| distance(k)).filter(|d| (1..=2).contains(d)).min();
        let near: Vec<&str> = known.iter().copied().filter(|k| Some(distance(k)) == best).collect();
        if !near.is_empty() {
            out.push(Finding::new(
                FindingKind::BadInput,
                Some(&n.name),
                format!(
                    "node {} has captures but no flows or agent info; did you mean {}? (its files are analysed as a node of their own)",
                    n.name,
                    near.join(" or ")
                ),
            ));
        }
    }
    for n in &inputs.nodes {
        for c in &n.captures {
            let file = c.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
            let other = inputs
                .nodes
                .iter()
                .filter(|o| o.name != n.name && file.starts_with(&format!("{}_", o.name)))
                .max_by_key(|o| o.name.len());
            if let Some(o) = other.filter(|_| !file.starts_with(&format!("{}_", n.name))) {
                out.push(Finding::new(
                    FindingKind::BadInput,
                    Some(&n.name),
                    format!("{} was given as a capture of {}, but its name says node {}", c.display(), n.name, o.name),
                ));
            }
        }
    }
    out
}

/// The node whose sightings define the copies: the sender (or the first node to see the
/// probe), when it has sightings; else the node that saw the probe first.
fn copy_anchor(probe: &Probe, models: &[NodeModel<'_>], inputs: &AnalysisInputs) -> Option<usize> {
    let first = match sender::choose(probe, models, inputs.cluster.as_ref()) {
        Start::Sender(i, _) => Some(i),
        Start::Missing { first, .. } => first.map(|(i, _)| i),
        Start::Unknown => None,
    };
    first.filter(|&i| !models[i].sightings.is_empty()).or_else(|| {
        models
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.sightings.iter().filter_map(|s| s.timestamp_ns).min().map(|t| (t, i)))
            .min()
            .map(|(_, i)| i)
    })
}

/// The findings the inputs give before anything is scanned: files that could not be used, and
/// node names that look like typos.
pub(crate) fn input_findings(inputs: &AnalysisInputs) -> Vec<Finding> {
    let mut findings: Vec<Finding> = inputs
        .problems
        .iter()
        .map(|(file, why)| Finding::new(FindingKind::BadInput, None, format!("{file}: {why}")))
        .collect();
    findings.extend(name_findings(inputs));
    findings
}

/// The scan's worker threads (0: one per core).
pub(crate) fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, AnalyzeError> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| AnalyzeError::Threads(e.to_string()))
}

/// Analyses `inputs` for `probe`: the reconstructed path with every finding.
pub fn analyze(
    probe: &Probe,
    inputs: &AnalysisInputs,
    opts: &AnalyzeOptions,
    progress: Option<&ProgressBar>,
) -> Result<Analysis, AnalyzeError> {
    let mut findings = input_findings(inputs);
    let pool = worker_pool(opts.threads)?;
    // The models first (their Service flows predict the probe's 5-tuple after DNAT), then the
    // scans; each node's scan findings come before its model's.
    let mut model_findings = Vec::new();
    let mut models: Vec<NodeModel<'_>> = inputs
        .nodes
        .iter()
        .map(|n| {
            let mut f = Vec::new();
            let m = model(n, &mut f);
            model_findings.push(f);
            m
        })
        .collect();
    let tuples = probe_tuples(probe, &models, &opts.reconstruct.endpoints);
    for ((n, m), mut mf) in inputs.nodes.iter().zip(&mut models).zip(model_findings) {
        (m.sightings, m.reports) = sightings(probe, n, &tuples, &pool, progress, &mut findings);
        findings.append(&mut mf);
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(anchor) = copy_anchor(probe, &models, inputs) {
        findings.extend(copies::select(&mut models, anchor, opts.copy));
    }
    let mut result = reconstruct(probe, &models, inputs.cluster.as_ref(), &opts.reconstruct);
    findings.append(&mut result.findings);
    result.findings = findings;
    let uses = inputs.nodes.iter().zip(&models).flat_map(|(n, m)| input_uses(n, m)).collect();
    let sightings = models.iter_mut().flat_map(|m| std::mem::take(&mut m.sightings)).collect();
    Ok(Analysis { result, inputs: uses, sightings })
}
