//! The command line: argument definitions and one entry point per subcommand.

pub mod analyze;
pub mod craft;
pub mod diff;
pub mod exit;
pub mod extract;
pub mod flows;
pub mod inject;
pub mod jobs;
pub mod sim_args;
pub mod trace;

use clap::{Parser, Subcommand};
use exit::CliError;

/// Offline Traceflow for Antrea / Open vSwitch clusters.
#[derive(Debug, Parser)]
#[command(name = "hoptrace", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// Print only errors and warnings (no summaries, no progress bars).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more on stderr: every input with the node and role it was given, and what was
    /// ignored and why.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  hoptrace craft -S default/client -D default/web --cluster cluster.json \\
      -f tcp,tcp_dst=80
  hoptrace inject probe.json --iface eth0 --netns-pid 4242 \\
      --src-mac-from-iface
  hoptrace extract --node k8s-node-1 --probe probe.json captures/ \\
      -o k8s-node-1.evidence.json
  hoptrace flows k8s-node-1/flows --table EgressRule
  hoptrace trace --node-dir k8s-node-1 --node-dir k8s-node-2 \\
      --in-port client-05da76 --probe probe.json
  hoptrace analyze support-bundle/ k8s-node-1.evidence.json \\
      k8s-node-2.evidence.json --probe probe.json
  hoptrace diff before.json after.json

Exit codes: 0 success (the probe was delivered), 1 the probe was dropped or
rejected, 2 usage or input error, 3 the path is incomplete; diff: 0 the same,
1 the results differ.";

/// The subcommands, in the order of the work: make the probe, send it, gather, look, reconstruct.
// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a DSCP-tagged probe packet the way Antrea's Traceflow does.
    Craft(craft::CraftArgs),
    /// Send the probe from a node through a raw socket, usually inside the source Pod's netns.
    Inject(inject::InjectArgs),
    /// Scan one node's captures for the probe and write its evidence (sightings) as JSON.
    Extract(extract::ExtractArgs),
    /// View flow dumps: filter by table or port, or show the flows a probe hit.
    Flows(flows::FlowsArgs),
    /// Simulate a packet through a node's OVS pipeline (and on across the tunnel), like ofproto/trace.
    Trace(trace::TraceArgs),
    /// Reconstruct the probe's hop-by-hop path from every node's captures, flows and bundles.
    Analyze(analyze::AnalyzeArgs),
    /// Compare two results (or two collections): what changed on the path, node by node.
    Diff(diff::DiffArgs),
}

/// Refuses `-o json` and the like: a kubectl user means the format, and would get a file of
/// that name. `-o ./json` writes such a file on purpose.
pub fn check_output_name(output: &std::path::Path) -> Result<(), CliError> {
    let name = output.as_os_str().to_string_lossy();
    const FORMATS: &[&str] = &["json", "yaml", "yml", "table", "csv", "tree", "html", "text", "wide"];
    if FORMATS.contains(&name.as_ref()) {
        return Err(CliError::usage(format!(
            "-o {name} would write a file called {name:?}; the format is chosen with --format (write ./{name} to really use that file name)"
        )));
    }
    Ok(())
}

/// What a command reports on success: the exit code to use.
pub type Outcome = Result<u8, CliError>;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Analyze(args) => analyze::run(&args, cli.quiet, cli.verbose),
        Command::Craft(args) => craft::run(&args, cli.quiet),
        Command::Inject(args) => inject::run(&args, cli.quiet),
        Command::Extract(args) => extract::run(&args, cli.quiet, cli.verbose),
        Command::Flows(args) => flows::run(&args, cli.quiet),
        Command::Trace(args) => trace::run(&args, cli.quiet),
        Command::Diff(args) => diff::run(&args, cli.quiet),
    }
}
