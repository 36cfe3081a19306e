//! `hoptrace analyze`: reconstruct the probe's hop-by-hop path from what was gathered on every
//! node, as Antrea-compatible observations (table, tree, JSON, CSV or a Traceflow YAML document).

use super::exit::{is_broken_pipe, CliError, DROPPED, INCOMPLETE, SUCCESS};
use super::sim_args::SimArgs;
use super::Outcome;
use crate::bundle::inputs::{discover, AnalysisInputs};
use crate::export::live::{live_summary_line, write_live_csv, write_live_json, write_live_table};
use crate::export::pcapng::{write_followed, write_stitched, StitchReport};
use crate::export::result::{summary_line, write_csv_with, write_json, write_table_with, ViewOptions};
use crate::export::traceflow::write_yaml;
use crate::export::tree::{write_tree, TreeOptions};
use crate::export::write_output;
use crate::probe::resolve::{Names, ResolveError};
use crate::probe::Probe;
use crate::trace::copies::CopyChoice;
use crate::trace::live::follow::{follow, FollowOptions, Which};
use crate::trace::live::spec::{LiveMatch, SpecError};
use crate::trace::phase::{outcome, PathOutcome};
use crate::trace::reconstruct::Options;
use crate::trace::{self, Analysis, AnalyzeOptions};
use clap::{ArgGroup, Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  # a scenario directory: one sub-directory per node, clusterinfo, probe.json
  hoptrace analyze samples/pod-to-service-remote
  # an antctl support bundle plus per-node captures, as JSON
  hoptrace analyze support-bundles_20261126T101500/ k8s-node-1=n1.pcapng \\
      k8s-node-2=n2.pcapng --probe probe.json --format json -o result.json
  # evidence files produced by `hoptrace extract` on each node
  hoptrace analyze bundle/ k8s-node-1.evidence.json k8s-node-2.evidence.json \\
      --probe probe.json
  # no probe: follow a client's real connections to a Service, and the replies
  hoptrace analyze bundle/ --connections all --replies \\
      --match tcp,nw_src=10.10.1.5,nw_dst=10.96.0.30,tp_dst=80
  # the same, named as craft names them (through the inputs' cluster inventory)
  hoptrace analyze bundle/ -S default/client -D default/web -f tcp,tcp_dst=80
  # triage: every TCP connection in the captures that lost a packet
  hoptrace analyze bundle/ --match tcp --connections all --dropped-only

Inputs: a directory per node (flows, groups, ovsports, agentinfo,
networkpolicies, captures, and `before/flows` for counter deltas), an `antctl
supportbundle` directory, `agent_<node>.tar.gz`, `NODE=FILE` (a capture, flow
dump or bundle of that node), `NODE:IFACE=FILE` (a capture taken on interface
IFACE of that node, e.g. an Antrea PacketCapture file), or `*.evidence.json`.
A `tcpdump -i any` capture's interfaces are named from the node's `link` (or
`address`) file.
Exit codes: 0 delivered (or forwarded out of the network), 1 dropped or
rejected, 2 usage or input error, 3 incomplete (with --match: some connection's
fate unknown, or nothing matched).";

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Columns like NSX's Traceflow view (default on a terminal).
    Table,
    /// Antrea's Traceflow status shape with hoptrace's additions (default otherwise).
    Json,
    /// One row per observation, RFC 4180.
    Csv,
    /// A Traceflow resource (`apiVersion: crd.antrea.io/v1beta1`) as `antctl get traceflow -o
    /// yaml` prints one, with hoptrace's additions in a separate `hoptrace` section.
    Yaml,
    /// A picture of the path: nodes, stages, tunnels, NAT and policy decisions, the terminal
    /// point and per-hop latency, in 100 columns (colour only on a terminal).
    Tree,
}

/// How much of the path to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Detail {
    /// Antrea's terminal-point observations.
    Antrea,
    /// Plus every pipeline stage crossed.
    Hops,
}

/// Arguments of `hoptrace analyze`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
#[command(group(ArgGroup::new("follow").multiple(true).args(["live", "source", "destination", "flow"])))]
pub struct AnalyzeArgs {
    /// Node directories, support bundles, agent tarballs, NODE=FILE and NODE:IFACE=FILE pairs,
    /// evidence files.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// The probe document from `hoptrace craft` (default: a probe.json among the inputs).
    #[arg(long, value_name = "probe.json")]
    pub probe: Option<PathBuf>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Where to write the result; `-` for stdout.
    #[arg(short, long, default_value = "-", value_name = "FILE")]
    pub output: PathBuf,
    /// Assumed one-way latency between nodes for clock-offset estimation, in microseconds
    /// (default: the smallest same-node hop the captures show).
    #[arg(long, value_name = "US")]
    pub wire_latency_us: Option<u64>,
    /// An earlier collection of the same nodes (a support bundle or node directories taken before
    /// the probe was sent): its flow dumps give the counter deltas that show which flows the probe
    /// hit. A node directory's own `before/flows` does the same.
    #[arg(long, value_name = "INPUT")]
    pub before: Vec<String>,
    /// `antrea` (Antrea's observation list) or `hops` (also one observation per pipeline stage
    /// crossed, naming its table and flow line).
    #[arg(long, value_enum, default_value = "antrea")]
    pub detail: Detail,
    /// Do not simulate the probe through the dumped pipelines (then a node without an earlier
    /// flow dump or captures says nothing about where the probe went).
    #[arg(long)]
    pub no_simulate: bool,
    /// When the captures hold several copies of the probe (`inject --count`, a re-used
    /// probe.json): analyse copy N (1-based, in time order) instead of the latest complete one.
    #[arg(long, value_name = "N", conflicts_with = "at")]
    pub copy: Option<usize>,
    /// Analyse the copy of the probe sent nearest to TIME (RFC 3339, e.g.
    /// `2026-11-26T20:33:22Z`, or Unix seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_at)]
    pub at: Option<i64>,
    /// Follow real traffic instead of a probe: SPEC is the packet as the source Pod sent it,
    /// before any NAT, in ovs-ofctl syntax (`tcp,nw_src=10.10.1.5,nw_dst=10.96.0.20,tp_dst=80`).
    #[arg(long = "match", value_name = "SPEC", conflicts_with_all = ["probe", "copy", "at", "flow"])]
    pub live: Option<String>,
    /// Follow real traffic from this Pod (`ns/pod`, resolved through the inputs' cluster
    /// inventory as `craft -S` resolves it) or address: the SPEC's source.
    #[arg(short = 'S', long = "source", value_name = "NS/POD|IP", conflicts_with_all = ["probe", "copy", "at"])]
    pub source: Option<String>,
    /// Follow real traffic to this Pod, Service (its ClusterIP, before DNAT) or address: the
    /// SPEC's destination.
    #[arg(short = 'D', long = "destination", value_name = "NS/NAME|IP", conflicts_with_all = ["probe", "copy", "at"])]
    pub destination: Option<String>,
    /// With -S/-D: the rest of the SPEC in antctl's flow syntax (`tcp,tcp_dst=80`).
    #[arg(short = 'f', long = "flow", value_name = "FLOW", conflicts_with_all = ["probe", "copy", "at"])]
    pub flow: Option<String>,
    /// With --match: which connections to report: `first` (as Antrea's liveTraffic
    /// Traceflow), `all`, or a number N (the first N).
    #[arg(long, value_name = "first|all|N", default_value = "first", requires = "follow", value_parser = parse_which)]
    pub connections: Which,
    /// With --match: only connections with a dropped packet, and every drop flow that dropped
    /// packets.
    #[arg(long, requires = "follow")]
    pub dropped_only: bool,
    /// With --match: also follow each delivered connection's replies back to the client
    /// ("the SYN arrived; where did the SYN-ACK go?").
    #[arg(long, requires = "follow")]
    pub replies: bool,
    /// With --match: only packets sent at or after TIME (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_at, requires = "follow")]
    pub from: Option<i64>,
    /// With --match: only packets sent at or before TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_at, requires = "follow")]
    pub to: Option<i64>,
    /// Table: show times in the local time zone (with their offset) instead of UTC.
    #[arg(long)]
    pub local: bool,
    /// CSV: after the observations, one row per finding (`record` column `finding`, the text in
    /// `finding`).
    #[arg(long)]
    pub csv_findings: bool,
    /// Also write every sighting of the probe (with --match: of every packet followed) as one
    /// pcapng: one interface per node and interface, packets in time order, each commented with
    /// its hop, node, interface, the observation (or connection and packet) and the time since
    /// the previous hop.
    #[arg(long, value_name = "FILE")]
    pub pcap_out: Option<PathBuf>,
    /// Conntrack, bucket and endpoint choices for the simulation.
    #[command(flatten)]
    pub sim: SimArgs,
    /// Worker threads for the capture scan (default: one per core; at most 4 per core, larger
    /// values are lowered to that).
    #[arg(short = 'j', long, value_name = "N", value_parser = super::jobs::parse_jobs)]
    pub threads: Option<usize>,
}

fn parse_which(s: &str) -> Result<Which, String> {
    match s {
        "first" => Ok(Which::First),
        "all" => Ok(Which::All),
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Which::Count(n)),
            _ => Err(format!("{s:?}: use first, all or a number of connections (1 or more)")),
        },
    }
}

fn parse_at(s: &str) -> Result<i64, String> {
    crate::time::parse_time(s)
        .ok_or_else(|| format!("{s:?} is not a time: use RFC 3339 (2026-11-26T20:33:22Z) or Unix seconds"))
}

/// Runs `hoptrace analyze`.
pub fn run(args: &AnalyzeArgs, quiet: bool, verbose: bool) -> Outcome {
    super::check_output_name(&args.output)?;
    if args.follows() {
        return run_live(args, &discover_inputs(args)?, quiet, verbose);
    }
    let (probe, probe_path, inputs, analysis) = discover_and_analyze(args, quiet)?;
    if verbose {
        eprintln!("hoptrace: probe {}", probe_path.display());
        for u in &analysis.inputs {
            eprintln!("hoptrace: {} -> {}: {}", u.file, u.node, u.role);
        }
        for (file, what) in &inputs.skipped {
            eprintln!("hoptrace: skipped {file}: {what}");
        }
        for (file, why) in &inputs.problems {
            eprintln!("hoptrace: ignored {file}: {why}");
        }
    }
    pcap_out(args, verbose, |w| write_stitched(w, &analysis.result, &analysis.sightings))?;
    let result = analysis.result;
    let format = format_of(args);
    // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
    let color = args.output.as_os_str() == "-"
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let view = ViewOptions { probe: Some(&probe), local: args.local, csv_findings: args.csv_findings };
    write_result(args, |w| match format {
        Format::Table => write_table_with(w, &result, view),
        Format::Json => write_json(w, &result),
        Format::Csv => write_csv_with(w, &result, view),
        Format::Yaml => write_yaml(w, &result, &probe),
        Format::Tree => write_tree(w, &result, Some(&probe), TreeOptions { color }),
    })?;
    if !quiet {
        eprintln!("hoptrace: {}", summary_line(&result));
    }
    Ok(match outcome(&result.results, result.phase) {
        PathOutcome::Delivered => SUCCESS,
        PathOutcome::Dropped => DROPPED,
        PathOutcome::Incomplete => INCOMPLETE,
    })
}

/// `--pcap-out FILE`: writes the sightings with `stitch`, atomically, and warns about what it
/// left out.
fn pcap_out(
    args: &AnalyzeArgs,
    verbose: bool,
    stitch: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<StitchReport>,
) -> Result<(), CliError> {
    let Some(path) = &args.pcap_out else { return Ok(()) };
    super::check_output_name(path)?;
    if path.as_os_str() == "-" && args.output.as_os_str() == "-" {
        return Err(CliError::usage("--pcap-out - and -o - would both write to stdout: give one of them a file"));
    }
    let mut report = StitchReport::default();
    write_output(path, |w| {
        report = stitch(w)?;
        Ok(())
    })
    .map_err(|e| CliError::usage(format!("{}: cannot write: {e}", path.display())))?;
    for why in &report.left_out {
        eprintln!("hoptrace: warning: --pcap-out {}: {why}", path.display());
    }
    if verbose {
        eprintln!("hoptrace: {}: {} sightings", path.display(), report.written);
    }
    Ok(())
}

/// Finds the inputs and the probe named by `args`, and reconstructs the path: what `analyze`
/// does before it writes anything (also used by `diff` on collections).
pub fn discover_and_analyze(
    args: &AnalyzeArgs,
    quiet: bool,
) -> Result<(Probe, PathBuf, AnalysisInputs, Analysis), CliError> {
    let inputs = discover_inputs(args)?;
    let probe_path =
        args.probe.clone().or_else(|| inputs.probe.clone()).ok_or_else(|| {
            CliError::usage("no probe: give --probe probe.json (the document `hoptrace craft` wrote)")
        })?;
    let probe = Probe::load(&probe_path)?;
    let analysis = analyze(&probe, &inputs, args, quiet)?;
    Ok((probe, probe_path, inputs, analysis))
}

/// The inputs `args` name, with `--before`'s dumps as each node's baseline.
fn discover_inputs(args: &AnalyzeArgs) -> Result<AnalysisInputs, CliError> {
    let mut inputs = discover(&args.inputs);
    if !args.before.is_empty() {
        let earlier = discover(&args.before);
        for (file, why) in earlier.problems {
            inputs.problems.push((file, why));
        }
        for e in earlier.nodes {
            match (inputs.nodes.iter_mut().find(|n| n.name == e.name), e.artifacts.and_then(|a| a.flows)) {
                (Some(n), Some(flows)) => n.before = Some(flows),
                (None, Some(flows)) => inputs
                    .problems
                    .push((flows.origin.clone(), format!("--before: no node {} among the inputs", e.name))),
                _ => {}
            }
        }
    }
    if inputs.nodes.is_empty() {
        let why: Vec<String> = inputs.problems.iter().map(|(f, w)| format!("{f}: {w}")).collect();
        return Err(CliError::usage(format!(
            "no node inputs found{}",
            if why.is_empty() { String::new() } else { format!(": {}", why.join("; ")) }
        )));
    }
    Ok(inputs)
}

/// The output format asked for, or the default for where the output goes.
fn format_of(args: &AnalyzeArgs) -> Format {
    args.format.unwrap_or(if std::io::stdout().is_terminal() && args.output.as_os_str() == "-" {
        Format::Table
    } else {
        Format::Json
    })
}

/// Writes the result document, atomically; a closed pipe is not an error.
fn write_result(
    args: &AnalyzeArgs,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), CliError> {
    match write_output(&args.output, fill) {
        Ok(()) => Ok(()),
        Err(e) if is_broken_pipe(&e) => Ok(()),
        Err(e) => Err(CliError::usage(format!("{}: cannot write: {e}", args.output.display()))),
    }
}

impl AnalyzeArgs {
    /// Whether real traffic is followed (`--match`, or `-S`/`-D`/`-f`) instead of a probe.
    fn follows(&self) -> bool {
        self.live.is_some() || self.source.is_some() || self.destination.is_some() || self.flow.is_some()
    }
}

/// The packets to follow: `--match SPEC`, narrowed by `-S`/`-D` (names resolved through the
/// inputs' cluster inventory), or `-f FLOW` with them.
fn live_match(args: &AnalyzeArgs, inputs: &AnalysisInputs) -> Result<LiveMatch, CliError> {
    let names = inputs
        .cluster
        .as_ref()
        .map(|c| (c as &dyn Names, inputs.cluster_file.as_deref().unwrap_or("the cluster inventory")));
    LiveMatch::from_endpoints(
        args.live.as_deref().or(args.flow.as_deref()),
        args.source.as_deref(),
        args.destination.as_deref(),
        names,
    )
    .map_err(|e| match e {
        SpecError::Name(ResolveError::NeedCluster(name)) => CliError::usage(format!(
            "{name:?} is a name: resolving it needs a cluster inventory among the inputs (a support bundle's clusterinfo, or `kubectl get pods,services,nodes -A -o json > cluster.json` given as an input)"
        )),
        e => CliError::usage(e.to_string()),
    })
}

/// `analyze --match SPEC` (or `-S`/`-D`/`-f`): follows real traffic.
fn run_live(args: &AnalyzeArgs, inputs: &AnalysisInputs, quiet: bool, verbose: bool) -> Outcome {
    let spec = live_match(args, inputs)?;
    let format = format_of(args);
    if matches!(format, Format::Yaml | Format::Tree) {
        return Err(CliError::usage(
            "--match writes table, json or csv (--format yaml and --format tree are for a probe's path)",
        ));
    }
    let opts = FollowOptions {
        spec,
        from_ns: args.from,
        to_ns: args.to,
        which: args.connections,
        dropped_only: args.dropped_only,
        replies: args.replies,
        analyze: analyze_options(args)?,
    };
    let progress = progress_bar(inputs, quiet);
    let result = follow(&opts, inputs, progress.as_ref()).map_err(|e| CliError::usage(e.to_string()))?;
    if verbose {
        for (file, what) in &inputs.skipped {
            eprintln!("hoptrace: skipped {file}: {what}");
        }
        for (file, why) in &inputs.problems {
            eprintln!("hoptrace: ignored {file}: {why}");
        }
    }
    pcap_out(args, verbose, |w| write_followed(w, &result))?;
    write_result(args, |w| match format {
        Format::Json => write_live_json(w, &result),
        Format::Csv => write_live_csv(w, &result),
        _ => write_live_table(w, &result),
    })?;
    if !quiet {
        eprintln!("hoptrace: {}", live_summary_line(&result));
    }
    let s = &result.summary;
    Ok(if s.dropped > 0 || s.replies_dropped > 0 {
        DROPPED
    } else if s.unknown > 0 || s.reported == 0 {
        INCOMPLETE
    } else {
        SUCCESS
    })
}

/// Scans the captures, builds the node models and reconstructs (with a progress bar on a
/// terminal).
pub fn analyze(probe: &Probe, inputs: &AnalysisInputs, args: &AnalyzeArgs, quiet: bool) -> Result<Analysis, CliError> {
    let opts = analyze_options(args)?;
    let progress = progress_bar(inputs, quiet);
    trace::analyze(probe, inputs, &opts, progress.as_ref()).map_err(|e| CliError::usage(e.to_string()))
}

/// A progress bar over the captures' total size, on a terminal.
fn progress_bar(inputs: &AnalysisInputs, quiet: bool) -> Option<ProgressBar> {
    let total: u64 = inputs
        .nodes
        .iter()
        .flat_map(|n| n.captures.iter())
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    (!quiet && std::io::stderr().is_terminal() && total > 0).then(|| {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} scanning {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    })
}

/// The analysis options the arguments give.
fn analyze_options(args: &AnalyzeArgs) -> Result<AnalyzeOptions, CliError> {
    Ok(AnalyzeOptions {
        reconstruct: Options {
            hops: args.detail == Detail::Hops,
            simulate: !args.no_simulate,
            wire_latency_ns: args.wire_latency_us.map_or(0, |us| (us as i64).saturating_mul(1000)),
            sim: args.sim.options()?,
            endpoints: args.sim.endpoint.clone(),
        },
        threads: args.threads.unwrap_or(0),
        copy: match (args.copy, args.at) {
            (Some(n), _) => CopyChoice::Index(n),
            (None, Some(t)) => CopyChoice::At(t),
            (None, None) => CopyChoice::LatestComplete,
        },
    })
}
