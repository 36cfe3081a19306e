//! The simulator's choices a user can make, shared by `trace` and `analyze`: the conntrack
//! state after a recirculation, the select-group bucket, the Service endpoint.

use super::exit::CliError;
use crate::ovs::sim::SimOptions;
use clap::Args;
use std::net::IpAddr;

/// Simulator options (`--ct-state`, `--bucket`, `--endpoint`).
#[derive(Debug, Default, Args)]
pub struct SimArgs {
    /// Conntrack state after a recirculation: `STATE` or `ZONE:STATE` (default `+new+trk`;
    /// e.g. `65520:+est+trk` for an established connection). Repeatable.
    #[arg(long = "ct-state", value_name = "[ZONE:]STATE")]
    pub ct_state: Vec<String>,
    /// Select-group bucket to take: `GROUP=INDEX` (repeatable).
    #[arg(long = "bucket", value_name = "GROUP=N")]
    pub bucket: Vec<String>,
    /// Service endpoint the load balancer chose (e.g. the one the captures show): every select
    /// group with a bucket for this endpoint IP takes that bucket (repeatable).
    #[arg(long = "endpoint", value_name = "IP")]
    pub endpoint: Vec<IpAddr>,
}

impl SimArgs {
    /// The conntrack and bucket choices as simulator options (endpoints are resolved against
    /// the pipelines by the caller).
    pub fn options(&self) -> Result<SimOptions, CliError> {
        let mut opts = SimOptions::default();
        for s in &self.ct_state {
            opts.ct.add_override(s).map_err(|e| CliError::usage(e.to_string()))?;
        }
        for b in &self.bucket {
            let (g, i) = b.split_once('=').ok_or_else(|| CliError::usage(format!("--bucket {b}: use GROUP=N")))?;
            let g: u32 = g.parse().map_err(|_| CliError::usage(format!("--bucket {b}: bad group id")))?;
            let i: usize = i.parse().map_err(|_| CliError::usage(format!("--bucket {b}: bad bucket index")))?;
            opts.bucket_hints.insert(g, i);
        }
        Ok(opts)
    }
}
