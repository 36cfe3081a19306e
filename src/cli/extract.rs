//! `hoptrace extract`: scan one node's captures for the probe and write the node's evidence
//! document (docs/evidence-schema.md). This is the unit that runs where the data is.

use super::exit::{CliError, SUCCESS};
use super::Outcome;
use crate::decode::evidence::{CaptureReport, Evidence, ProbeRef, UnreadInput, EVIDENCE_SCHEMA};
use crate::decode::scan::{expand_inputs, scan_files, ScanTarget};
use crate::decode::tuple::FlowTuple;
use crate::export::write_output;
use crate::probe::Probe;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

const EXAMPLES: &str = "\
Examples:
  hoptrace extract --node k8s-node-1 --probe probe.json captures/*.pcap* \\
      -o k8s-node-1.evidence.json
  hoptrace extract --node k8s-node-2 --probe probe.json /var/log/captures/ \\
      -o - | jq .sightings

Files may be pcap or pcapng, plain or compressed (gzip, zstd, xz; detected by
content); directories are searched for captures (content decides, not the name;
symbolic links are followed only inside the directory given, each file is read
once, at most 16 levels and 100,000 entries: see docs/limits.md). A file named
NODE_IFACE.pcap names its interface. A large uncompressed file is read in chunks
by all threads, with the same results (-v says how each file was read). The
output is replaced only when the run succeeds; an interrupted run leaves no
temporary file.";

/// Arguments of `hoptrace extract`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ExtractArgs {
    /// The node the captures were taken on (recorded in every sighting; without -o it names the
    /// output file, and must then be a plain name: letters, digits, '.', '-', '_').
    #[arg(long, value_name = "NAME")]
    pub node: String,
    /// The probe document written by `hoptrace craft`.
    #[arg(long, value_name = "probe.json")]
    pub probe: PathBuf,
    /// Capture files or directories of captures.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Where to write the evidence document (`-` for stdout) [default: NODE.evidence.json].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads (default: one per core; at most 4 per core, larger values are lowered to
    /// that).
    #[arg(short = 'j', long, value_name = "N", value_parser = super::jobs::parse_jobs)]
    pub threads: Option<usize>,
}

/// Runs `hoptrace extract`.
pub fn run(args: &ExtractArgs, quiet: bool, verbose: bool) -> Outcome {
    let output = match &args.output {
        Some(o) => o.clone(),
        None => default_output(&args.node)?,
    };
    let probe = Probe::load(&args.probe)?;
    let expanded = expand_inputs(&args.files);
    for p in &expanded.problems {
        eprintln!("hoptrace: warning: {}: {}", p.path.display(), p.why);
    }
    let files = expanded.files;
    if files.is_empty() {
        return Err(CliError::usage("no capture files found in the given inputs"));
    }
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let progress = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let started = Instant::now();
    // Without the node's flows, only the 5-tuple as sent is known.
    let tuples = [FlowTuple::sent(&probe.ends(), probe.fingerprint.protocol)];
    let target = ScanTarget::probe(&args.node, &probe.fingerprint, Some(probe.ends()), &tuples);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| CliError::usage(format!("cannot start worker threads: {e}")))?;
    let scans = pool.install(|| scan_files(&target, &files, progress.as_ref()));
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let elapsed = started.elapsed();
    let mut captures: Vec<CaptureReport> = Vec::with_capacity(scans.len());
    let mut sightings = Vec::new();
    for scan in scans {
        if verbose {
            eprintln!("hoptrace: {}: {}", scan.report.file, scan.mode.describe());
        }
        captures.push(scan.report);
        sightings.extend(scan.sightings);
    }
    for c in &captures {
        for e in c.error.iter().chain(&c.more_damage) {
            eprintln!("hoptrace: warning: {}", e.message);
        }
        if c.omitted_damage > 0 {
            eprintln!("hoptrace: warning: {}: {} more damaged places not listed", c.file, c.omitted_damage);
        }
    }
    let evidence = Evidence {
        schema: EVIDENCE_SCHEMA.to_string(),
        node: args.node.clone(),
        created_by: format!("hoptrace {}", env!("CARGO_PKG_VERSION")),
        probe: ProbeRef { dataplane_tag: probe.dataplane_tag, fingerprint: probe.fingerprint.clone() },
        captures,
        sightings,
        unread: expanded
            .problems
            .iter()
            .map(|p| UnreadInput { path: p.path.display().to_string(), why: p.why.clone() })
            .collect(),
    };
    // A capture whose header could not be read gave nothing.
    let readable = evidence
        .captures
        .iter()
        .filter(|c| c.format.is_some() && !(c.packets == 0 && c.error.as_ref().is_some_and(|e| e.offset == 0)))
        .count();
    if readable == 0 {
        // A failed run leaves the output as it was.
        return Err(CliError::usage("none of the inputs is a readable capture"));
    }
    let written = write_output(&output, |w| {
        serde_json::to_writer_pretty(&mut *w, &evidence)
            .map_err(|e| std::io::Error::new(e.io_error_kind().unwrap_or(std::io::ErrorKind::Other), e))?;
        w.write_all(b"\n")?;
        w.flush()
    });
    match written {
        Ok(()) => {}
        Err(e) if super::exit::is_broken_pipe(&e) => return Ok(SUCCESS),
        Err(e) => return Err(CliError::usage(format!("{}: cannot write evidence: {e}", output.display()))),
    }
    if !quiet {
        let packets: u64 = evidence.captures.iter().map(|c| c.packets).sum();
        let damaged = evidence.captures.iter().filter(|c| c.error.is_some()).count();
        eprintln!(
            "{}: {} sighting(s) in {} file(s), {} packets, {:.1} MB in {:.2} s{}",
            args.node,
            evidence.sightings.len(),
            evidence.captures.len(),
            packets,
            total as f64 / 1e6,
            elapsed.as_secs_f64(),
            if damaged > 0 { format!("; {damaged} file(s) damaged or unreadable") } else { String::new() },
        );
    }
    Ok(SUCCESS)
}

/// The longest node name used in a default output file name (a Kubernetes node name is a DNS
/// subdomain of at most 253 characters).
const MAX_NODE_NAME: usize = 253;

/// `NODE.evidence.json`, when `node` is a plain name that cannot leave the current directory,
/// hide the file or read as an option.
fn default_output(node: &str) -> Result<PathBuf, CliError> {
    let plain = !node.is_empty()
        && node.len() <= MAX_NODE_NAME
        && !node.starts_with(['.', '-'])
        && node.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        let shown: String = node.chars().take(40).flat_map(char::escape_debug).collect();
        return Err(CliError::usage(format!(
            "--node \"{shown}{}\" cannot name the output file: use letters, digits, '.', '-' and '_' (not first), at most {MAX_NODE_NAME} characters, or give -o FILE",
            if node.chars().count() > 40 { "..." } else { "" }
        )));
    }
    Ok(PathBuf::from(format!("{node}.evidence.json")))
}
