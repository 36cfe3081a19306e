//! The `hoptrace` binary: parse arguments, run one command, turn the outcome into an exit code.

use clap::Parser;
use hoptrace::cli;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: parsing a flow dump or a capture makes many small
/// allocations on rayon's threads that are freed on another; with glibc's per-thread arenas that
/// was a third of the time and varied ±40 % between runs (see docs/flows.md, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hoptrace: error: {e}");
            ExitCode::from(e.code)
        }
    }
}
