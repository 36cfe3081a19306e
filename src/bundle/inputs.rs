//! What `hoptrace analyze` was given, sorted into nodes: directories per node (support-bundle
//! layout or loose files), `antctl supportbundle` directories, agent tarballs, `NODE=PATH` pairs,
//! scenario directories (one sub-directory per node plus `clusterinfo` / `cluster.json` /
//! `probe.json`), and `*.evidence.json` files from `extract`. Nothing is fatal here: what cannot
//! be read is reported as a problem naming the file, and the rest is used.

use super::agent::NodeArtifacts;
use super::cluster::ClusterInfo;
use crate::capture::sniff::is_capture_file;
use crate::capture::walk::Walker;
use crate::decode::evidence::Evidence;
use crate::ovs::FlowDump;
use std::path::{Path, PathBuf};

/// Everything known about one node.
#[derive(Debug, Default)]
pub struct NodeInput {
    /// Node name (agentinfo, bundle file name, directory name, or `NODE=`).
    pub name: String,
    /// Flows, groups, ports, agent info, policies (when given).
    pub artifacts: Option<NodeArtifacts>,
    /// An earlier flow dump of the same bridge (`before/flows`), for counter deltas.
    pub before: Option<FlowDump>,
    /// Capture files to scan.
    pub captures: Vec<PathBuf>,
    /// Captures whose interface the command line gave (`NODE:IFACE=FILE`): it names the
    /// interface of every packet of the file.
    pub capture_interfaces: Vec<(PathBuf, String)>,
    /// Sightings already extracted on the node (`extract`).
    pub evidence: Option<Evidence>,
}

/// The sorted inputs.
#[derive(Debug, Default)]
pub struct AnalysisInputs {
    /// Nodes, in name order.
    pub nodes: Vec<NodeInput>,
    /// The cluster inventory, if one was found.
    pub cluster: Option<ClusterInfo>,
    /// The file the cluster inventory was read from (names that are not in it are said to be
    /// missing from this file).
    pub cluster_file: Option<String>,
    /// A `probe.json` found in a scenario directory (used when `--probe` is not given).
    pub probe: Option<PathBuf>,
    /// What could not be used: (file, why).
    pub problems: Vec<(String, String)>,
    /// Inputs recognised and deliberately not used (the controller's bundle): (file, what it is).
    pub skipped: Vec<(String, String)>,
    /// The controller's bundle, when one was given: its cluster-wide policies stand in for those
    /// of agent bundles that have none (before v1.5).
    pub controller: Option<NodeArtifacts>,
}

impl AnalysisInputs {
    fn node_mut(&mut self, name: &str) -> &mut NodeInput {
        if let Some(i) = self.nodes.iter().position(|n| n.name == name) {
            return &mut self.nodes[i];
        }
        self.nodes.push(NodeInput { name: name.to_string(), ..NodeInput::default() });
        self.nodes.last_mut().expect("just pushed")
    }

    fn problem(&mut self, path: &Path, why: impl Into<String>) {
        self.problems.push((path.display().to_string(), why.into()));
    }
}

/// What a file is, from its first bytes and name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FileKind {
    Capture,
    AgentArchive,
    Evidence,
    ClusterInfo,
    Probe,
    Other,
    /// The file could not be read to tell (the reason).
    Unreadable(String),
}

fn classify(path: &Path) -> FileKind {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if name.ends_with(".evidence.json") {
        return FileKind::Evidence;
    }
    if name == "clusterinfo" || name == "cluster.json" {
        return FileKind::ClusterInfo;
    }
    if name == "probe.json" {
        return FileKind::Probe;
    }
    if name == "probe.pcap" {
        // craft's copy of the frame, not a capture from a node.
        return FileKind::Other;
    }
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar") {
        return FileKind::AgentArchive;
    }
    // The same content sniffer as extract's directory search.
    match is_capture_file(path) {
        Ok(true) => FileKind::Capture,
        Ok(false) => FileKind::Other,
        Err(e) => FileKind::Unreadable(format!("cannot read: {e}")),
    }
}

/// Whether a directory holds one node's files (flows, agentinfo or captures at its top level).
fn is_node_dir(walk: &mut Walker, dir: &Path) -> bool {
    let files = files_of(walk, dir);
    let named = |p: &PathBuf| p.file_name().is_some_and(|n| ["flows", "agentinfo", "ovsports"].iter().any(|f| n == *f));
    files.iter().any(named) || files.iter().any(|p| classify(p) == FileKind::Capture)
}

/// The regular files directly in `dir` (name order), through the walker: links are followed
/// only inside the input, each file once, and what is not read is a problem of the walk.
fn files_of(walk: &mut Walker, dir: &Path) -> Vec<PathBuf> {
    walk.list(dir).files
}

/// The directories directly in `dir` (name order), through the walker (no loops, no escapes).
fn dirs_of(walk: &mut Walker, dir: &Path) -> Vec<PathBuf> {
    walk.list(dir).dirs
}

/// Sorts the command-line inputs into nodes.
pub fn discover(inputs: &[String]) -> AnalysisInputs {
    let mut out = AnalysisInputs::default();
    let mut walk = Walker::new();
    for input in inputs {
        match input.split_once('=') {
            Some((spec, path)) if !spec.is_empty() && !spec.contains('/') => match spec.split_once(':') {
                Some((node, iface)) => add_capture_on(&mut out, Path::new(path), node, iface),
                None => add_path(&mut out, &mut walk, Path::new(path), Some(spec)),
            },
            _ => add_path(&mut out, &mut walk, Path::new(input), None),
        }
    }
    for p in std::mem::take(&mut walk.problems) {
        out.problem(&p.path, p.why);
    }
    out.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    controller_policies(&mut out);
    if let Some(cluster) = &out.cluster {
        for n in &mut out.nodes {
            if let (Some(a), Some(k)) = (n.artifacts.as_mut(), cluster.node(&n.name)) {
                a.inventory_ips = k.internal_ips.clone();
            }
        }
    }
    out
}

/// Agents before v1.5 wrote no policy files (antrea-io/antrea#3082): for a node bundle without
/// them, the controller's bundle's cluster-wide policies and groups are used instead, and `-v`
/// says so (a policy applied elsewhere is among them; attribution then matches the node's
/// conjunction clauses against the groups' members, as with the agent's own files).
fn controller_policies(out: &mut AnalysisInputs) {
    let Some(c) = out.controller.as_ref() else { return };
    let mut used = Vec::new();
    for n in &mut out.nodes {
        let Some(a) = n.artifacts.as_mut().filter(|a| a.policies_missing && a.flows.is_some()) else { continue };
        a.network_policies = c.network_policies.clone();
        a.address_groups = c.address_groups.clone();
        a.applied_to_groups = c.applied_to_groups.clone();
        a.policies_from = Some(c.origin.clone());
        used.push(n.name.clone());
    }
    if !used.is_empty() {
        out.skipped.push((
            c.origin.clone(),
            format!(
                "its cluster-wide policies stand in for those of {} (whose bundle has no policy files, as agents before v1.5 write none)",
                used.join(", ")
            ),
        ));
    }
}

/// `NODE:IFACE=FILE`: a capture taken on interface `IFACE` of `NODE`.
fn add_capture_on(out: &mut AnalysisInputs, path: &Path, node: &str, iface: &str) {
    if node.is_empty() || iface.is_empty() || iface.contains(char::is_whitespace) {
        out.problem(path, format!("`{node}:{iface}=`: give NODE:IFACE=FILE, both names non-empty"));
        return;
    }
    if !path.is_file() {
        out.problem(path, "NODE:IFACE=FILE names the interface of a capture file; this is not a file");
        return;
    }
    match classify(path) {
        FileKind::Capture => {
            let n = out.node_mut(node);
            n.captures.push(path.to_path_buf());
            n.capture_interfaces.push((path.to_path_buf(), iface.to_string()));
        }
        FileKind::Unreadable(why) => out.problem(path, why),
        _ => out.problem(path, "NODE:IFACE=FILE names the interface of a capture; this file is not one"),
    }
}

fn add_path(out: &mut AnalysisInputs, walk: &mut Walker, path: &Path, node: Option<&str>) {
    if !path.exists() {
        out.problem(path, "no such file or directory");
        return;
    }
    if path.is_dir() {
        if !walk.enter_root(path) {
            return;
        }
        if node.is_some() || is_node_dir(walk, path) {
            add_node_dir(out, walk, path, node);
        } else {
            // A support bundle or scenario directory: its files, then one node per sub-directory.
            for f in files_of(walk, path) {
                add_file(out, &f, None);
            }
            for d in dirs_of(walk, path) {
                if is_node_dir(walk, &d) {
                    add_node_dir(out, walk, &d, None);
                }
            }
        }
        return;
    }
    if walk.claim_file(path) {
        add_file(out, path, node);
    }
}

fn add_node_dir(out: &mut AnalysisInputs, walk: &mut Walker, dir: &Path, node: Option<&str>) {
    let artifacts = match NodeArtifacts::open(dir) {
        Ok(a) => Some(a),
        Err(e) => {
            out.problem(dir, e.to_string());
            None
        }
    };
    let dir_name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let name = node
        .map(str::to_string)
        .or_else(|| artifacts.as_ref().filter(|a| a.agent_info.is_some()).map(|a| a.node.clone()))
        .unwrap_or(dir_name);
    let before_flows = dir.join("before").join("flows");
    let before = if before_flows.is_file() {
        match FlowDump::load(&before_flows) {
            Ok(d) => Some(d),
            Err(e) => {
                out.problem(&before_flows, e.to_string());
                None
            }
        }
    } else {
        None
    };
    let mut captures = Vec::new();
    for p in files_of(walk, dir) {
        match classify(&p) {
            FileKind::Capture => captures.push(p),
            FileKind::Unreadable(why) => out.problem(&p, why),
            _ => {}
        }
    }
    let n = out.node_mut(&name);
    if let Some(mut a) = artifacts.filter(|a| a.flows.is_some() || a.agent_info.is_some() || a.ports.is_some()) {
        a.node = name.clone();
        n.artifacts = Some(a);
    }
    if before.is_some() {
        n.before = before;
    }
    n.captures.extend(captures);
    for f in files_of(walk, dir) {
        if classify(&f) == FileKind::Evidence {
            add_file(out, &f, Some(&name));
        }
    }
}

/// Two bundles of one node (two SupportBundleCollections, two antctl runs): the one collected
/// later by agentinfo's heartbeat is used and the message names both with their times; the same
/// heartbeat twice is one collection given twice; without a heartbeat in both nothing says which
/// is current, so neither is used. Never merged.
fn second_bundle(name: &str, first: NodeArtifacts, second: NodeArtifacts) -> (Option<NodeArtifacts>, String) {
    let beat = |a: &NodeArtifacts| a.agent_info.as_ref().and_then(|i| i.heartbeat_ns);
    let at = |t: i64| crate::time::rfc3339_nanos(t);
    match (beat(&first), beat(&second)) {
        (Some(x), Some(y)) if x == y => {
            let why = format!(
                "a second bundle of node {name} with the same agentinfo heartbeat ({}) as {}: the same collection given twice; {} is used",
                at(x),
                first.origin,
                first.origin
            );
            (Some(first), why)
        }
        (Some(x), Some(y)) => {
            let ((old, t_old), (new, t_new)) =
                if x < y { ((first, x), (second, y)) } else { ((second, y), (first, x)) };
            let why = format!(
                "two bundles of node {name}: {} (agentinfo heartbeat {}) and {} (heartbeat {}); the later, {}, is used (give the earlier with --before for counter deltas, if the two bracket the probe)",
                old.origin,
                at(t_old),
                new.origin,
                at(t_new),
                new.origin
            );
            (Some(new), why)
        }
        _ => {
            let why = format!(
                "two bundles of node {name}: {} and {}, and agentinfo gives no heartbeat in {} to tell which was collected later: neither is used (give the one to analyse, and the other with --before)",
                first.origin,
                second.origin,
                if beat(&first).is_none() && beat(&second).is_none() { "either" } else { "one of them" }
            );
            (None, why)
        }
    }
}

fn add_file(out: &mut AnalysisInputs, path: &Path, node: Option<&str>) {
    match classify(path) {
        FileKind::Unreadable(why) => out.problem(path, why),
        FileKind::Capture => match node {
            Some(n) => out.node_mut(n).captures.push(path.to_path_buf()),
            None => out.problem(path, "a capture needs its node: give it as NODE=FILE or inside a node directory"),
        },
        FileKind::AgentArchive => match NodeArtifacts::open(path) {
            Ok(a) if a.controller => {
                out.skipped.push((
                    path.display().to_string(),
                    "the Antrea controller's bundle (controllerinfo, controller logs, cluster-wide policies; no OVS flows): it describes no node".to_string(),
                ));
                if !a.network_policies.is_empty() {
                    out.controller = Some(a);
                }
            }
            Ok(mut a) => {
                let name = node.map(str::to_string).unwrap_or_else(|| a.node.clone());
                a.node = name.clone();
                let slot = &mut out.node_mut(&name).artifacts;
                match slot.take() {
                    None => *slot = Some(a),
                    Some(first) => {
                        let (kept, why) = second_bundle(&name, first, a);
                        out.node_mut(&name).artifacts = kept;
                        out.problem(path, why);
                    }
                }
            }
            Err(e) => out.problem(path, e.to_string()),
        },
        FileKind::Evidence => match Evidence::load(path) {
            Ok(ev) => {
                let name = node.map(str::to_string).unwrap_or_else(|| ev.node.clone());
                out.node_mut(&name).evidence = Some(ev);
            }
            Err(e) => out.problem(path, e.to_string()),
        },
        FileKind::ClusterInfo => match ClusterInfo::load(path) {
            // A kubectl dump (with Services) is preferred over clusterinfo (without).
            Ok(c) => {
                let file = path.display().to_string();
                for problem in &c.problems {
                    let why = problem.strip_prefix(&format!("{file}: ")).unwrap_or(problem);
                    out.problems.push((file.clone(), why.to_string()));
                }
                let better = out.cluster.as_ref().is_none_or(|old| old.services.len() < c.services.len());
                if better {
                    out.cluster = Some(c);
                    out.cluster_file = Some(file);
                }
            }
            Err(e) => out.problem(path, e.to_string()),
        },
        FileKind::Probe => {
            if out.probe.is_none() {
                out.probe = Some(path.to_path_buf());
            }
        }
        FileKind::Other => {
            if let Some(n) = node {
                // NODE=flows-file: a bare flow dump.
                match FlowDump::load(path) {
                    Ok(d) => {
                        let a = out.node_mut(n).artifacts.get_or_insert_with(NodeArtifacts::default);
                        a.node = n.to_string();
                        a.origin = path.display().to_string();
                        a.warnings.extend(d.warnings());
                        a.flows = Some(d);
                    }
                    Err(e) => out.problem(path, format!("not a capture, bundle, evidence or flow dump: {e}")),
                }
            }
        }
    }
}
