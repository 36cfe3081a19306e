//! `hoptrace flows`: a viewer for flow dumps (files, agent bundles or node directories):
//! filter by table or port, or show only the flows whose counters moved between two dumps.

use super::exit::{is_broken_pipe, CliError, SUCCESS};
use super::Outcome;
use crate::antrea::{NodeView, TableMap};
use crate::bundle::NodeArtifacts;
use crate::export::write_output;
use crate::ovs::delta::{deltas, FlowDelta};
use crate::ovs::{Action, Field, Flow, FlowDump, PortRef, PortTable, TableRef, Value};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FlowFormat {
    /// `ovs-ofctl dump-flows` lines.
    Text,
    /// A JSON array of typed flows.
    Json,
}

/// Arguments of `hoptrace flows`.
#[derive(Debug, Args)]
#[command(after_help = "\
Inputs: an `ovs-ofctl dump-flows` output (with or without --names /
--no-stats), an Antrea `flows` file, an agent support bundle
`agent_<node>.tar.gz`, or a node directory holding `flows` (and `ovsports`,
used to resolve --port names).

Examples:
  hoptrace flows flows.txt --table L3Forwarding
  hoptrace flows agent_k8s-node-1.tar.gz --port web-7975-274540 \\
      --format json -o web.json
  # the flows a probe hit: counters moved between a dump before and one after
  hoptrace flows before.txt after.txt --hit
  # re-addable form for `ovs-ofctl add-flows`
  hoptrace flows flows.txt --no-stats")]
pub struct FlowsArgs {
    /// Flow dumps, agent bundles or node directories.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Only flows of this table (name or number; numbers resolve through Antrea's pipeline order
    /// when the dump uses names).
    #[arg(long, value_name = "T")]
    pub table: Option<String>,
    /// Only flows that match on, output to, or select (reg1) this port (name or number).
    #[arg(long, value_name = "P")]
    pub port: Option<String>,
    /// Only flows whose counters moved between the first and the last FILE.
    #[arg(long)]
    pub hit: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FlowFormat::Text)]
    pub format: FlowFormat,
    /// Print flows without statistics (the form `ovs-ofctl add-flows` accepts).
    #[arg(long)]
    pub no_stats: bool,
    /// Output file (`-` = stdout).
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
}

/// One input, loaded.
struct Input {
    origin: String,
    dump: FlowDump,
    ports: Option<PortTable>,
    tables: TableMap,
}

fn load(path: &Path) -> Result<Input, CliError> {
    let is_bundle = path.is_dir() || {
        let n = path.to_string_lossy();
        n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar")
    };
    if path.is_dir() && !path.join("flows").is_file() {
        let nodes: Vec<String> = std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.starts_with("agent_"))
                    .collect()
            })
            .unwrap_or_default();
        return Err(CliError::usage(if nodes.is_empty() {
            format!("{}: no flows file in this directory", path.display())
        } else {
            format!(
                "{}: a support bundle holds one dump per node; pass one of: {}",
                path.display(),
                nodes.iter().map(|n| path.join(n).display().to_string()).collect::<Vec<_>>().join(" ")
            )
        }));
    }
    if is_bundle {
        let node = NodeArtifacts::open(path).map_err(|e| CliError::usage(e.to_string()))?;
        for w in &node.warnings {
            eprintln!("hoptrace: warning: {w}");
        }
        let dump = node
            .flows
            .clone()
            .ok_or_else(|| CliError::usage(format!("{}: no flows file in this bundle", path.display())))?;
        let tables = TableMap::for_node(&dump, &node.declared_tables(), node.antrea_version());
        return Ok(Input { origin: path.display().to_string(), dump, ports: node.ports.clone(), tables });
    }
    let dump = FlowDump::load(path).map_err(|e| CliError::usage(e.to_string()))?;
    for w in dump.warnings() {
        eprintln!("hoptrace: warning: {w}");
    }
    let tables = TableMap::for_dump(&dump, &[]);
    Ok(Input { origin: path.display().to_string(), dump, ports: None, tables })
}

/// The table filter resolved for one input.
fn table_matches(input: &Input, want: &str, f: &Flow) -> bool {
    let t = f.table_or_zero();
    let want_ref = TableRef::parse(want).ok();
    match (&t, &want_ref) {
        (TableRef::Name(n), Some(TableRef::Name(w))) => n == w,
        (TableRef::Id(i), Some(TableRef::Id(w))) => i == w,
        _ => match (input.tables.resolve(&t), want_ref.as_ref().and_then(|w| input.tables.resolve(w))) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
    }
}

/// A port given on the command line, resolved to a name and a number where the input says.
struct PortWant {
    name: Option<String>,
    number: Option<u32>,
}

fn resolve_port(input: &Input, p: &str) -> PortWant {
    let r = PortRef::parse(p).unwrap_or(PortRef::Name(p.to_string()));
    let view = NodeView::build(&input.dump, &[], input.ports.as_ref(), &input.tables);
    match r {
        PortRef::Number(n) => PortWant {
            name: view.ports.iter().find(|x| x.ofport == Some(n)).and_then(|x| x.name.clone()),
            number: Some(n),
        },
        PortRef::Name(n) => PortWant {
            number: view.ports.iter().find(|x| x.name.as_deref() == Some(n.as_str())).and_then(|x| x.ofport),
            name: Some(n),
        },
        other => PortWant { name: Some(other.to_string()), number: other.number() },
    }
}

fn port_is(want: &PortWant, p: &PortRef) -> bool {
    match p {
        PortRef::Name(n) => want.name.as_deref() == Some(n.as_str()),
        other => other.number().is_some() && other.number() == want.number,
    }
}

fn actions_touch(want: &PortWant, actions: &[Action]) -> bool {
    actions.iter().any(|a| match a {
        Action::Output { port, .. } => port_is(want, port),
        Action::SetField { field: Field::Reg(1), value: Value::Bits { value, .. } } => {
            want.number.is_some_and(|n| value.get() == u128::from(n))
        }
        // `load:0xN->NXM_NX_REG1[]`: how dumps before OpenFlow 1.5 write the same.
        Action::Load { value, dst } if dst.field == Field::Reg(1) && dst.start == 0 => {
            want.number.is_some_and(|n| value.get() == u128::from(n))
        }
        Action::Ct(ct) => actions_touch(want, &ct.exec),
        Action::Clone { actions } => actions_touch(want, actions),
        _ => false,
    })
}

fn port_matches(want: &PortWant, f: &Flow) -> bool {
    if let Some(Value::Port(p)) = f.matches.get(Field::InPort) {
        if port_is(want, p) {
            return true;
        }
    }
    if let (Some((v, m)), Some(n)) = (f.matches.bits(Field::Reg(1)), want.number) {
        if m == 0xffff_ffff && v == u128::from(n) {
            return true;
        }
    }
    actions_touch(want, &f.actions)
}

/// One printed flow.
#[derive(Serialize)]
struct Row<'a> {
    file: &'a str,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a FlowDelta>,
    /// `--hit`: the flow is not in the earlier dump, which had lines skipped (it may be one of
    /// them), so its counter since it was added may count packets from before that dump.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    delta_unknown: bool,
    text: String,
    flow: &'a Flow,
}

/// What `--hit` cannot tell when the dumps had lines skipped: the counters of the flows on those
/// lines are unknown.
fn hit_warnings(before: &FlowDump, after: &FlowDump, unknown_rows: usize) -> Vec<String> {
    let mut out = Vec::new();
    let (b, a) = (before.skipped_count(), after.skipped_count());
    if b > 0 {
        out.push(format!(
            "{}: {b} line(s) skipped, so the counters of the flows on them are unknown: {unknown_rows} flow(s) shown \
             with `?` are not in this dump (they may be on those lines), and their count since they were added \
             may include packets from before it",
            before.origin
        ));
    }
    if a > 0 {
        out.push(format!(
            "{}: {a} line(s) skipped: whether the flows on them were hit is unknown (they are not shown)",
            after.origin
        ));
    }
    out
}

/// Runs `hoptrace flows`.
pub fn run(args: &FlowsArgs, quiet: bool) -> Outcome {
    super::check_output_name(&args.output)?;
    if args.hit && args.files.len() < 2 {
        return Err(CliError::usage("--hit needs two dumps of the same bridge: FILE_BEFORE FILE_AFTER"));
    }
    let inputs: Vec<Input> = args.files.iter().map(|p| load(p)).collect::<Result<_, _>>()?;
    let selected: Vec<&Input> = if args.hit { vec![&inputs[inputs.len() - 1]] } else { inputs.iter().collect() };
    let hit_deltas = if args.hit { Some(deltas(&inputs[0].dump, &inputs[inputs.len() - 1].dump)) } else { None };
    // A flow missing from an earlier dump that had lines skipped may be one of those lines.
    let before_skipped = args.hit && inputs[0].dump.skipped_count() > 0;
    let mut rows: Vec<Row<'_>> = Vec::new();
    for input in &selected {
        let want = args.port.as_deref().map(|p| resolve_port(input, p));
        for (i, f) in input.dump.flows.iter().enumerate() {
            let delta = hit_deltas.as_ref().map(|d| &d[i]);
            if delta.is_some_and(|d| d.packets == 0) {
                continue;
            }
            if args.table.as_deref().is_some_and(|t| !table_matches(input, t, f)) {
                continue;
            }
            if want.as_ref().is_some_and(|w| !port_matches(w, f)) {
                continue;
            }
            let text = if args.no_stats { f.flow_mod().to_string() } else { f.to_string() };
            rows.push(Row {
                file: &input.origin,
                line: input.dump.lines[i],
                table_id: input.tables.resolve(&f.table_or_zero()),
                delta,
                delta_unknown: before_skipped && delta.is_some_and(|d| d.new),
                text,
                flow: f,
            });
        }
    }
    let result = write_output(&args.output, |w: &mut dyn Write| match args.format {
        FlowFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, &rows).map_err(|e| match e.io_error_kind() {
                Some(kind) => std::io::Error::from(kind),
                None => std::io::Error::other(e),
            })?;
            writeln!(w)
        }
        FlowFormat::Text => {
            let mut last_file = "";
            for r in &rows {
                if selected.len() > 1 && r.file != last_file {
                    writeln!(w, "# {}", r.file)?;
                    last_file = r.file;
                }
                match r.delta {
                    Some(d) if r.delta_unknown => {
                        writeln!(w, "+{}? packets +{}? bytes  {}", d.packets, d.bytes, r.text)?
                    }
                    Some(d) => writeln!(w, "+{} packets +{} bytes  {}", d.packets, d.bytes, r.text)?,
                    None => writeln!(w, "{}", r.text)?,
                }
            }
            Ok(())
        }
    });
    match result {
        Ok(()) => {}
        Err(e) if is_broken_pipe(&e) => return Ok(SUCCESS),
        Err(e) => return Err(CliError::usage(format!("{}: cannot write: {e}", args.output.display()))),
    }
    if args.hit {
        for w in hit_warnings(
            &inputs[0].dump,
            &inputs[inputs.len() - 1].dump,
            rows.iter().filter(|r| r.delta_unknown).count(),
        ) {
            eprintln!("hoptrace: warning: {w}");
        }
    }
    if !quiet {
        let total: usize = selected.iter().map(|i| i.dump.flows.len()).sum();
        eprintln!("{} of {total} flows shown", rows.len());
        for i in &selected {
            if args.table.as_deref().is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
                && i.tables.source == crate::antrea::TableMapSource::Inferred
            {
                eprintln!("note: {}: {}", i.origin, i.tables.notes.join("; "));
            }
        }
    }
    Ok(SUCCESS)
}
