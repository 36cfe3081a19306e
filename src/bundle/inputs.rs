//! What `hoptrace analyze` was given, sorted into nodes: directories per node (support-bundle
//! layout or loose files), `antctl supportbundle` directories, agent tarballs, `NODE=PATH` pairs,
//! scenario directories (one sub-directory per node plus `clusterinfo` / `cluster.json` /
//! `probe.json`), and `*.evidence.json` files from `extract`. Nothing is fatal here: what cannot
//! be read is reported as a problem naming the file, and the rest is used.

use super::agent::NodeArtifacts;
use super::cluster::ClusterInfo;
use crate::decode::evidence::Evidence;
use crate::ovs::FlowDump;
use std::io::Read;
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
    /// A `probe.json` found in a scenario directory (used when `--probe` is not given).
    pub probe: Option<PathBuf>,
    /// What could not be used: (file, why).
    pub problems: Vec<(String, String)>,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Capture,
    AgentArchive,
    Evidence,
    ClusterInfo,
    Probe,
    Other,
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
    let mut magic = [0u8; 4];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut magic)).unwrap_or(0);
    if n < 4 {
        return FileKind::Other;
    }
    let m = u32::from_le_bytes(magic);
    match m {
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0x0a0d_0d0a => FileKind::Capture,
        _ if magic[0] == 0x1f && magic[1] == 0x8b => FileKind::Capture,
        _ => FileKind::Other,
    }
}

/// Whether a directory holds one node's files (flows, agentinfo or captures at its top level).
fn is_node_dir(dir: &Path) -> bool {
    ["flows", "agentinfo", "ovsports"].iter().any(|f| dir.join(f).is_file())
        || files_of(dir).iter().any(|p| classify(p) == FileKind::Capture)
}

fn files_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn dirs_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Sorts the command-line inputs into nodes.
pub fn discover(inputs: &[String]) -> AnalysisInputs {
    let mut out = AnalysisInputs::default();
    for input in inputs {
        match input.split_once('=') {
            Some((node, path)) if !node.is_empty() && !node.contains('/') => {
                add_path(&mut out, Path::new(path), Some(node));
            }
            _ => add_path(&mut out, Path::new(input), None),
        }
    }
    out.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn add_path(out: &mut AnalysisInputs, path: &Path, node: Option<&str>) {
    if !path.exists() {
        out.problem(path, "no such file or directory");
        return;
    }
    if path.is_dir() {
        if node.is_some() || is_node_dir(path) {
            add_node_dir(out, path, node);
        } else {
            // A support bundle or scenario directory: its files, then one node per sub-directory.
            for f in files_of(path) {
                add_file(out, &f, None);
            }
            for d in dirs_of(path) {
                if is_node_dir(&d) {
                    add_node_dir(out, &d, None);
                }
            }
        }
        return;
    }
    add_file(out, path, node);
}

fn add_node_dir(out: &mut AnalysisInputs, dir: &Path, node: Option<&str>) {
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
    let captures: Vec<PathBuf> = files_of(dir).into_iter().filter(|p| classify(p) == FileKind::Capture).collect();
    let n = out.node_mut(&name);
    if let Some(mut a) = artifacts.filter(|a| a.flows.is_some() || a.agent_info.is_some() || a.ports.is_some()) {
        a.node = name.clone();
        n.artifacts = Some(a);
    }
    if before.is_some() {
        n.before = before;
    }
    n.captures.extend(captures);
    for f in files_of(dir) {
        if classify(&f) == FileKind::Evidence {
            add_file(out, &f, Some(&name));
        }
    }
}

fn add_file(out: &mut AnalysisInputs, path: &Path, node: Option<&str>) {
    match classify(path) {
        FileKind::Capture => match node {
            Some(n) => out.node_mut(n).captures.push(path.to_path_buf()),
            None => out.problem(path, "a capture needs its node: give it as NODE=FILE or inside a node directory"),
        },
        FileKind::AgentArchive => match NodeArtifacts::open(path) {
            Ok(mut a) => {
                let name = node.map(str::to_string).unwrap_or_else(|| a.node.clone());
                a.node = name.clone();
                out.node_mut(&name).artifacts = Some(a);
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
                        a.flows = Some(d);
                    }
                    Err(e) => out.problem(path, format!("not a capture, bundle, evidence or flow dump: {e}")),
                }
            }
        }
    }
}
