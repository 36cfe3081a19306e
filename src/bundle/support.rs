//! A whole `antctl supportbundle` directory: `clusterinfo` plus one `agent_<node>.tar.gz` (or
//! one directory of loose files) per node.

use super::agent::{BundleError, NodeArtifacts};
use super::cluster::ClusterInfo;
use std::path::{Path, PathBuf};

/// A support bundle directory, read in place.
#[derive(Debug, Default)]
pub struct SupportBundle {
    /// The directory.
    pub root: PathBuf,
    /// `clusterinfo`, if present.
    pub cluster: Option<ClusterInfo>,
    /// One entry per node, sorted by node name.
    pub nodes: Vec<NodeArtifacts>,
}

impl SupportBundle {
    /// Opens `dir`: `agent_*.tar.gz` / `agent_*.tgz` archives and sub-directories that contain a
    /// `flows` file are nodes; `clusterinfo` is the inventory. The controller's bundle
    /// (`controller.tar.gz`, or content without flows or agentinfo but with `controllerinfo`) is
    /// skipped.
    pub fn open(dir: &Path) -> Result<SupportBundle, BundleError> {
        let rd = std::fs::read_dir(dir)
            .map_err(|e| BundleError::Read { path: dir.display().to_string(), message: e.to_string() })?;
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        let mut bundle = SupportBundle { root: dir.to_path_buf(), ..SupportBundle::default() };
        for p in paths {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            if name == "clusterinfo" {
                bundle.cluster = Some(
                    ClusterInfo::load(&p)
                        .map_err(|e| BundleError::Read { path: p.display().to_string(), message: e.to_string() })?,
                );
            } else if (name.starts_with("agent_") && (name.ends_with(".tar.gz") || name.ends_with(".tgz")))
                || (p.is_dir() && p.join("flows").is_file())
            {
                let a = NodeArtifacts::open(&p)?;
                if !a.controller {
                    bundle.nodes.push(a);
                }
            }
        }
        bundle.nodes.sort_by(|a, b| a.node.cmp(&b.node));
        if let Some(cluster) = &bundle.cluster {
            for n in &mut bundle.nodes {
                if let Some(k) = cluster.node(&n.node) {
                    n.inventory_ips = k.internal_ips.clone();
                }
            }
        }
        Ok(bundle)
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeArtifacts> {
        self.nodes.iter().find(|n| n.node == name)
    }
}
