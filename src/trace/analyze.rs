//! The analysis as one library call: scan every node's captures for the probe (in parallel),
//! merge the evidence files, assemble each node's pipeline and counter deltas, reconstruct the
//! path, and gather every finding (bad inputs first). `hoptrace analyze` only parses its
//! arguments, calls [`analyze`] and prints.

use super::model::NodeModel;
use super::reconstruct::{reconstruct, Options};
use super::result::{Finding, FindingKind, TraceResult};
use crate::bundle::inputs::{AnalysisInputs, NodeInput};
use crate::decode::evidence::CaptureReport;
use crate::decode::scan::{scan_files, ScanTarget};
use crate::decode::sighting::Sighting;
use crate::ovs::delta::deltas;
use crate::probe::Probe;
use indicatif::ProgressBar;

/// How to analyse.
#[derive(Clone, Debug, Default)]
pub struct AnalyzeOptions {
    /// The reconstruction's options.
    pub reconstruct: Options,
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
    pool: &rayon::ThreadPool,
    progress: Option<&ProgressBar>,
    findings: &mut Vec<Finding>,
) -> (Vec<Sighting>, Vec<CaptureReport>) {
    let target = ScanTarget { node: &n.name, fingerprint: &probe.fingerprint };
    let scans = pool.install(|| scan_files(&target, &n.captures, progress));
    let mut out = Vec::new();
    let mut reports = Vec::new();
    for s in scans {
        if let Some(e) = &s.report.error {
            findings.push(Finding::new(
                FindingKind::BadInput,
                Some(&n.name),
                format!("{}: packet {} (byte {}): {}", s.report.file, e.packet, e.offset, e.message),
            ));
        }
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
    out.sort_by_key(|s| (s.timestamp_ns.unwrap_or(i64::MAX), s.file.clone(), s.packet));
    (out, reports)
}

/// One node's model: its pipeline assembled once, the flows whose counters moved since the
/// earlier dump, its sightings.
fn model<'a>(
    n: &'a NodeInput,
    (sightings, reports): (Vec<Sighting>, Vec<CaptureReport>),
    findings: &mut Vec<Finding>,
) -> NodeModel<'a> {
    let artifacts = n.artifacts.as_ref();
    let mut m = NodeModel::new(&n.name, artifacts);
    if let (Some(before), Some(flows)) = (&n.before, artifacts.and_then(|a| a.flows.as_ref())) {
        m.hit = Some(deltas(before, flows).into_iter().filter(|d| d.packets > 0).map(|d| d.index).collect());
    }
    if let Some(p) = &mut m.pipeline {
        if let Some(a) = artifacts {
            p.tables.check_groups(&a.groups);
        }
    }
    for w in artifacts.iter().flat_map(|a| &a.warnings) {
        findings.push(Finding::new(FindingKind::BadInput, Some(&n.name), w.clone()));
    }
    m.sightings = sightings;
    m.reports = reports;
    m.has_captures = !n.captures.is_empty() || n.evidence.is_some();
    m
}

/// Analyses `inputs` for `probe`: the reconstructed path with every finding.
pub fn analyze(
    probe: &Probe,
    inputs: &AnalysisInputs,
    opts: &AnalyzeOptions,
    progress: Option<&ProgressBar>,
) -> Result<TraceResult, AnalyzeError> {
    let mut findings: Vec<Finding> = inputs
        .problems
        .iter()
        .map(|(file, why)| Finding::new(FindingKind::BadInput, None, format!("{file}: {why}")))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| AnalyzeError::Threads(e.to_string()))?;
    let mut models = Vec::new();
    for n in &inputs.nodes {
        let seen = sightings(probe, n, &pool, progress, &mut findings);
        models.push(model(n, seen, &mut findings));
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let mut result = reconstruct(probe, &models, inputs.cluster.as_ref(), &opts.reconstruct);
    findings.append(&mut result.findings);
    result.findings = findings;
    Ok(result)
}
