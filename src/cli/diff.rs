//! `hoptrace diff A B`: compare two results (JSON written by `analyze --format json`), or two
//! collections analysed on the spot, and say what changed on the path.

use super::analyze::{discover_and_analyze, AnalyzeArgs};
use super::exit::{is_broken_pipe, CliError, DIFFER, SUCCESS};
use super::Outcome;
use crate::export::diff::{diff, write_diff_json, write_diff_table, DiffOptions};
use crate::export::write_output;
use crate::trace::result::RESULT_SCHEMA;
use crate::trace::TraceResult;
use clap::{Args, Parser, ValueEnum};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

const EXAMPLES: &str = "\
Examples:
  # before and after the fix, as saved by analyze
  hoptrace diff before.json after.json
  # two collections, analysed on the spot (each with its probe.json), as JSON
  hoptrace diff samples/k8s-np-ingress-drop samples/pod-to-pod-inter-node \\
      --format json
  # also report hops whose latency changed by more than half a millisecond
  hoptrace diff before.json after.json --latency-threshold 500us

Compared: phase, endpoints, terminal point, the nodes on the path, and per
node each observation (aligned by stage): action, networkPolicy,
networkPolicyRule, pod, NAT, tunnel, Egress, interface. Times and evidence are
not compared, except the per-hop latency with --latency-threshold.
Exit codes: 0 the same, 1 they differ, 2 usage or input error.";

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One line per change, grouped by node (default on a terminal).
    Table,
    /// `hoptrace.diff/v1` (default otherwise).
    Json,
}

/// Arguments of `hoptrace diff`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DiffArgs {
    /// The first result ("before"): a JSON result file, or a directory to analyse.
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// The second result ("after").
    #[arg(value_name = "B")]
    pub b: PathBuf,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<DiffFormat>,
    /// Where to write the comparison; `-` for stdout.
    #[arg(short, long, default_value = "-", value_name = "FILE")]
    pub output: PathBuf,
    /// Also report a hop whose latency (time since the previous timed observation) changed by
    /// more than this: a number with a unit, `ns`, `us`, `ms` or `s` (e.g. `500us`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub latency_threshold: Option<i64>,
}

/// The largest result file read (a result is kilobytes; this only stops a wrong file).
pub const MAX_RESULT_BYTES: u64 = 64 << 20;

/// `500us` → 500 000 (ns).
fn parse_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return Err(format!("{s:?}: give a number with a unit, ns, us, ms or s (e.g. 500us)")),
    };
    let v: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration (e.g. 500us)"))?;
    let ns = v * scale;
    if !(0.0..=1e15).contains(&ns) {
        return Err(format!("{s:?}: out of range"));
    }
    Ok(ns.round() as i64)
}

/// `analyze`'s arguments for one collection, with its defaults.
#[derive(Parser)]
struct Collection {
    #[command(flatten)]
    args: AnalyzeArgs,
}

/// A result from a file, or from analysing a directory.
fn load(path: &Path) -> Result<TraceResult, CliError> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| CliError::usage(format!("{shown}: {e}")))?;
    if meta.is_dir() {
        let parsed = Collection::try_parse_from([std::ffi::OsStr::new("analyze"), path.as_os_str()])
            .map_err(|e| CliError::usage(format!("{shown}: {e}")))?;
        let (_, _, _, analysis) = discover_and_analyze(&parsed.args, true)?;
        return Ok(analysis.result);
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_RESULT_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| CliError::usage(format!("{shown}: {e}")))?;
    if text.len() as u64 > MAX_RESULT_BYTES {
        return Err(CliError::usage(format!("{shown}: larger than {} MiB: not a result", MAX_RESULT_BYTES >> 20)));
    }
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("{shown}: not a JSON result (analyze --format json): {e}")))?;
    if value.get("schema").and_then(|s| s.as_str()) != Some(RESULT_SCHEMA) {
        return Err(CliError::usage(format!("{shown}: not a hoptrace result (schema is not {RESULT_SCHEMA})")));
    }
    serde_json::from_value(value).map_err(|e| CliError::usage(format!("{shown}: {e}")))
}

/// Runs `hoptrace diff`.
pub fn run(args: &DiffArgs, quiet: bool) -> Outcome {
    super::check_output_name(&args.output)?;
    let a = load(&args.a)?;
    let b = load(&args.b)?;
    let d = diff(
        &a,
        &args.a.display().to_string(),
        &b,
        &args.b.display().to_string(),
        DiffOptions { latency_threshold_ns: args.latency_threshold },
    );
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() && args.output.as_os_str() == "-" {
        DiffFormat::Table
    } else {
        DiffFormat::Json
    });
    let written = write_output(&args.output, |w| match format {
        DiffFormat::Table => write_diff_table(w, &d),
        DiffFormat::Json => write_diff_json(w, &d),
    });
    match written {
        Ok(()) => {}
        Err(e) if is_broken_pipe(&e) => {}
        Err(e) => return Err(CliError::usage(format!("{}: cannot write: {e}", args.output.display()))),
    }
    if !quiet {
        eprintln!(
            "hoptrace: {}",
            if d.same { "the same path".to_string() } else { format!("{} changes", d.changes.len()) }
        );
    }
    Ok(if d.same { SUCCESS } else { DIFFER })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("500us"), Ok(500_000));
        assert_eq!(parse_duration("1.5ms"), Ok(1_500_000));
        assert_eq!(parse_duration("2s"), Ok(2_000_000_000));
        assert!(parse_duration("500").is_err());
        assert!(parse_duration("-1ms").is_err());
        assert!(parse_duration("1e99s").is_err());
    }
}
